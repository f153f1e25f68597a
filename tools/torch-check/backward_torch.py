#!/usr/bin/env python3
"""Times one linear map's backward in PyTorch (CPU): dense, and meProp unified (top-k columns of dy by Σ|dy| over
the batch, the two products on the k kept columns only), for comparison with `meprop-bench kernels`.

Optional, not in CI. Same convention as the bench: x [M, K], W [K, N] (y = x @ W), dy [M, N]; the backward gives
dx [M, K] and dW [K, N] (dense) or dW's k kept columns [K, k] with their indices ("slices").

  python backward_torch.py --shapes 32x500x500:20,128x1024x1024:32 --threads 1 --reps 200
Prints one JSON object per line: {shape, k, threads, dense_ms, unified_ms, unified_slices_ms}.
"""
import argparse, json, time

import torch


def parse_shapes(text):
    out = []
    for item in text.split(','):
        dims, k = item.split(':')
        m, kk, n = (int(v) for v in dims.split('x'))
        out.append((m, kk, n, int(k)))
    return out


def median_ms(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--shapes', default='32x500x500:20,128x1024x1024:32')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--reps', type=int, default=200)
    ap.add_argument('--warmup', type=int, default=20)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(a.seed)
    for m, kk, n, k in parse_shapes(a.shapes):
        x = torch.randn(m, kk, generator=g)
        w = torch.randn(kk, n, generator=g)
        dy = torch.randn(m, n, generator=g)

        def dense():
            return dy @ w.t(), x.t() @ dy

        def unified_slices():
            idx = dy.abs().sum(0).topk(k).indices
            dyk = dy.index_select(1, idx)  # [M, k]
            return dyk @ w.index_select(1, idx).t(), x.t() @ dyk, idx

        def unified():
            dx, dwk, idx = unified_slices()
            dw = torch.zeros(kk, n)
            dw.index_copy_(1, idx, dwk)
            return dx, dw

        # The meProp gradients equal the dense ones with dy masked to the kept columns: check before timing.
        dx, dw = unified()
        idx = dy.abs().sum(0).topk(k).indices
        mask = torch.zeros(n)
        mask[idx] = 1
        rdx, rdw = (dy * mask) @ w.t(), x.t() @ (dy * mask)
        assert torch.allclose(dx, rdx, atol=1e-4) and torch.allclose(dw, rdw, atol=1e-4), 'unified differs from masked dense'

        with torch.no_grad():
            row = {
                'shape': f'{m}x{kk}x{n}',
                'k': k,
                'threads': a.threads,
                'torch': torch.__version__,
                'dense_ms': round(median_ms(dense, a.reps, a.warmup), 4),
                'unified_ms': round(median_ms(unified, a.reps, a.warmup), 4),
                'unified_slices_ms': round(median_ms(unified_slices, a.reps, a.warmup), 4),
            }
        print(json.dumps(row), flush=True)


if __name__ == '__main__':
    main()
