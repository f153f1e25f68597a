// The demo page: wires the controls to the MNIST view and the flows view, reads URL parameters so a link (or
// a test) can start a run directly: ?backend=wasm&k=20&mode=unified&hidden=500&train=8004&epochs=1&autostart=1
// (view=flows&flow=iaf&iterations=300 for the flows view).
import type { MePropMode } from '@meprop/core';
import { BACKENDS, isDemoBackend, useBackend } from './backend';
import { DensityView, FlowKind } from './density_view';
import type { DemoStatus } from './demo_status';
import { loadDigits, Digits } from './mnist_data';
import { MnistView } from './mnist_view';

declare global {
  interface Window {
    mepropDemo: DemoStatus;
  }
}

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`demo: element #${id} is missing from index.html`);
  return el as T;
}

const params = new URLSearchParams(location.search);
const status: DemoStatus = {
  mnist: {
    state: 'idle',
    backend: '',
    k: 0,
    mode: '',
    epochsDone: 0,
    steps: 0,
    plainAccuracy: NaN,
    mePropAccuracy: NaN,
    plainMsPerStep: NaN,
    mePropMsPerStep: NaN,
    chartPoints: 0,
  },
  density: { state: 'idle', flow: '', iterations: 0, firstLoss: NaN, lastLoss: NaN },
};
window.mepropDemo = status;

// Controls, initialised from the URL.
const backendSel = $<HTMLSelectElement>('backend');
for (const b of BACKENDS) backendSel.add(new Option(b, b));
backendSel.value = isDemoBackend(params.get('backend') ?? '') ? (params.get('backend') as string) : 'webgl';
const hiddenSel = $<HTMLSelectElement>('hidden');
const kRange = $<HTMLInputElement>('k');
const kOut = $<HTMLOutputElement>('k-value');
const modeSel = $<HTMLSelectElement>('mode');
const trainSel = $<HTMLSelectElement>('train');
const epochsIn = $<HTMLInputElement>('epochs');
for (const [el, key] of [
  [hiddenSel, 'hidden'],
  [kRange, 'k'],
  [modeSel, 'mode'],
  [trainSel, 'train'],
  [epochsIn, 'epochs'],
] as const) {
  const v = params.get(key);
  if (v !== null) el.value = v;
}
const syncK = (): void => {
  kRange.max = hiddenSel.value;
  kOut.textContent = `${kRange.value} of ${hiddenSel.value} (${((100 * Number(kRange.value)) / Number(hiddenSel.value)).toFixed(1)}%)`;
};
kRange.addEventListener('input', syncK);
hiddenSel.addEventListener('change', syncK);
syncK();

const mnistView = new MnistView(
  {
    loss: $<HTMLCanvasElement>('loss-chart'),
    acc: $<HTMLCanvasElement>('acc-chart'),
    stats: $('stats'),
    backendInfo: $('backend-info'),
  },
  status.mnist,
);
const densityView = new DensityView(
  {
    target: $<HTMLCanvasElement>('target-canvas'),
    flow: $<HTMLCanvasElement>('flow-canvas'),
    loss: $<HTMLCanvasElement>('flow-loss'),
  },
  status.density,
);

let digits: Promise<Digits> | undefined;
const mnistButton = $<HTMLButtonElement>('mnist-start');
const fail = (where: 'mnist' | 'density', e: unknown): void => {
  status[where].state = 'error';
  status[where].error = e instanceof Error ? e.message : String(e);
  $(`${where}-error`).textContent = status[where].error ?? '';
};

async function startMnist(): Promise<void> {
  if (status.mnist.state === 'training' || status.mnist.state === 'loading') {
    mnistView.stop();
    return;
  }
  $('mnist-error').textContent = '';
  mnistButton.textContent = 'Stop';
  for (const el of [backendSel, hiddenSel, kRange, modeSel, trainSel, epochsIn]) el.disabled = true;
  try {
    status.mnist.state = 'loading';
    digits ??= loadDigits();
    const data = await digits;
    await mnistView.run(data, {
      backend: backendSel.value as (typeof BACKENDS)[number],
      k: Number(kRange.value),
      mode: modeSel.value as MePropMode,
      hidden: Number(hiddenSel.value),
      trainDigits: Math.min(Number(trainSel.value), data.train.n),
      epochs: Math.max(1, Math.floor(Number(epochsIn.value))),
      batchSize: 32,
      evalEvery: 50,
      evalDigits: 500,
    });
  } catch (e) {
    fail('mnist', e);
  } finally {
    mnistButton.textContent = 'Train';
    for (const el of [backendSel, hiddenSel, kRange, modeSel, trainSel, epochsIn]) el.disabled = false;
  }
}
mnistButton.addEventListener('click', () => void startMnist());

const flowSel = $<HTMLSelectElement>('flow');
const flowSteps = $<HTMLInputElement>('flow-steps');
const flowIters = $<HTMLInputElement>('flow-iterations');
if (params.get('flow') === 'maf' || params.get('flow') === 'iaf') flowSel.value = params.get('flow') as string;
if (params.get('iterations') !== null) flowIters.value = params.get('iterations') as string;
const flowButton = $<HTMLButtonElement>('flow-start');
async function startFlow(): Promise<void> {
  if (status.density.state === 'training') {
    densityView.stop();
    return;
  }
  $('density-error').textContent = '';
  flowButton.textContent = 'Stop';
  try {
    await useBackend(backendSel.value as (typeof BACKENDS)[number]);
    await densityView.run({
      flow: flowSel.value as FlowKind,
      steps: Number(flowSteps.value),
      hiddenUnits: 32,
      iterations: Number(flowIters.value),
      batchSize: 256,
    });
  } catch (e) {
    fail('density', e);
  } finally {
    flowButton.textContent = 'Fit';
  }
}
flowButton.addEventListener('click', () => void startFlow());

// Tabs.
const showView = (name: 'mnist' | 'flows'): void => {
  $('view-mnist').hidden = name !== 'mnist';
  $('view-flows').hidden = name !== 'flows';
  $('tab-mnist').classList.toggle('active', name === 'mnist');
  $('tab-flows').classList.toggle('active', name === 'flows');
};
$('tab-mnist').addEventListener('click', () => showView('mnist'));
$('tab-flows').addEventListener('click', () => showView('flows'));
showView(params.get('view') === 'flows' ? 'flows' : 'mnist');

// Activate the picked backend right away (tfjs would otherwise pick the highest-priority one, webgpu, even
// where it cannot start); if it cannot start here, say so and fall back to cpu.
async function init(): Promise<void> {
  try {
    await useBackend(backendSel.value as (typeof BACKENDS)[number]);
  } catch (e) {
    $('mnist-error').textContent = `${e instanceof Error ? e.message : String(e)}; using cpu`;
    backendSel.value = 'cpu';
    await useBackend('cpu');
  }
  await densityView.drawTarget();
  if (params.get('autostart') === '1') await (params.get('view') === 'flows' ? startFlow() : startMnist());
}
void init();
