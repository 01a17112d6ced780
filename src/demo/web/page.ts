/**
 * The playground page: starts the training worker (./worker.ts), wires the controls to it and
 * redraws the plots (./plots.ts) as its reports arrive. Query parameters (for tests and small
 * machines): `train`, `test` (digits used), `width`, `solver`, `evalEvery` (steps between test
 * evaluations), `autostart=1`.
 */
import { barPlot, digitGrid, linePlot, shareBar, type Series } from './plots.js';
import { type FromWorker, type RuntimeInfo, type StepReport, type ToWorker, type TrainSettings } from './protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const num = (k: string, d: number): number => (params.has(k) && Number.isFinite(Number(params.get(k))) ? Number(params.get(k)) : d);

const controls = {
  run: $<HTMLButtonElement>('run'),
  solver: $<HTMLSelectElement>('solver'),
  grad: $<HTMLSelectElement>('grad'),
  k: $<HTMLInputElement>('k'),
  width: $<HTMLSelectElement>('width'),
  threads: $<HTMLSelectElement>('threads'),
  backend: $<HTMLSelectElement>('backend'),
};
if (params.has('width')) controls.width.value = String(num('width', 128));
if (params.has('solver')) controls.solver.value = params.get('solver')!;

/** What the page shows; also published as `window.__playground` for tests. */
const state = {
  running: false,
  ready: false,
  steps: 0,
  testAcc: NaN,
  errors: [] as string[],
  info: null as RuntimeInfo | null,
  settings: null as TrainSettings | null,
  /** The solver of the last step the worker reported. */
  lastSolver: null as string | null,
};
(globalThis as unknown as { __playground: typeof state }).__playground = state;

let loss: [number, number][] = [];
let lossAvg: [number, number][] = [];
let trainAcc: [number, number][] = [];
let testAcc: [number, number][] = [];
let last: StepReport | null = null;
let grid: { images: Float32Array; labels: number[]; preds: number[] | null } | null = null;

function settings(): TrainSettings {
  return {
    solver: controls.solver.value as TrainSettings['solver'],
    grad: controls.grad.value as TrainSettings['grad'],
    phantomSteps: Math.max(1, Math.min(20, Math.round(Number(controls.k.value) || 5))),
    width: Number(controls.width.value),
    threads: state.ready ? Number(controls.threads.value) || 1 : 0,
    backend: controls.backend.value as TrainSettings['backend'],
  };
}

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'tsdeq-playground' });
const send = (m: ToWorker): void => worker.postMessage(m);
worker.onerror = (e) => showError(e.message || 'the training worker failed to start');

function showError(message: string): void {
  state.errors.push(message);
  state.running = false;
  controls.run.textContent = 'Start';
  $('status').innerHTML = `<span class="err">Error: ${escapeHtml(message.split('\n')[0])}</span>`;
  console.error(message);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));
}

function resetCurves(): void {
  loss = []; lossAvg = []; trainAcc = []; testAcc = []; last = null;
  state.steps = 0;
  state.testAcc = NaN;
  if (grid) grid.preds = null;
  $('test-acc').textContent = 'test accuracy –';
}

function setupControls(info: RuntimeInfo): void {
  controls.threads.innerHTML = '';
  for (let t = 1; t <= info.maxThreads; t++) controls.threads.add(new Option(String(t), String(t), false, t === info.threads));
  const threadsOff = info.threadsReason !== '';
  controls.threads.disabled = threadsOff;
  controls.threads.parentElement!.classList.toggle('off', threadsOff);
  controls.threads.parentElement!.title = threadsOff ? `one thread: ${info.threadsReason}` : 'worker threads for the large kernels (results do not depend on it)';
  const gpu = controls.backend.options[1];
  if (!info.gpuAdapter) {
    gpu.textContent = 'webgpu (no adapter)';
    gpu.disabled = true;
  } else if (!info.gpuBackend) {
    gpu.textContent = 'webgpu (could not start)';
    gpu.disabled = true;
  } else {
    gpu.textContent = info.gpuAdapter.fallback ? 'webgpu (fallback adapter: CPU, slow)' : `webgpu (${info.gpuAdapter.description})`;
    gpu.disabled = false;
  }
  controls.backend.parentElement!.title = gpu.disabled ? `webgpu unavailable: ${info.gpuReason || 'no adapter'}` : 'webgpu trains a new model on the GPU (float32)';
  syncK();
}

function syncK(): void {
  const phantom = controls.grad.value === 'phantom';
  controls.k.disabled = !phantom;
  $('k-label').classList.toggle('off', !phantom);
  $('k-label').title = phantom ? 'unrolled steps of the phantom gradient' : 'phantom gradient steps (used with the phantom gradient)';
}

function statusLine(): void {
  const i = state.info;
  if (!i) return;
  const parts = [
    `backend <b>${i.backend}</b>`,
    ...(i.backend === 'webgpu' ? [`adapter <b>${escapeHtml(i.gpuAdapter?.description ?? '')}${i.gpuAdapter?.fallback ? ' (fallback)' : ''}</b>`] : [
      `SIMD <b>${i.variant}</b>`,
      `threads <b>${i.threads}</b>${i.threadsReason ? ' (page not cross-origin isolated)' : ''}`,
    ]),
    `steps/s <b>${last ? last.stepsPerSecond.toFixed(1) : '–'}</b>`,
    `step <b>${last?.step ?? 0}</b>`,
    `epoch <b>${last?.epoch ?? 1}</b>`,
    `${i.nTrain} train / ${i.nTest} test digits`,
    state.running ? 'training' : state.steps > 0 ? 'paused' : 'press Start',
  ];
  $('status').innerHTML = parts.join(' · ');
}

function draw(): void {
  linePlot($('loss'), [
    { label: 'batch loss', color: '#c7cdd8', points: loss },
    { label: 'average (20 steps)', color: '#d9534f', points: lossAvg },
  ], { xLabel: 'step', empty: 'press Start to train' });
  linePlot($('acc'), [
    { label: 'train (batches since last test)', color: '#e39b2d', points: trainAcc },
    { label: 'test', color: '#2f6fdb', points: testAcc },
  ], { xLabel: 'step', yMax: 1, empty: 'the first test evaluation comes after a few steps' });
  const fwd = last?.forwardTrace ?? [], bwd = last?.backwardTrace ?? [];
  const tol = last?.tol ?? 1e-3;
  const tolLine = (n: number): Series => ({ label: `tolerance ${tol}`, color: '#9aa4b5', dashed: true, points: [[1, tol], [Math.max(2, n), tol]] });
  linePlot($('fwd'), [{ label: 'forward', color: '#2f6fdb', points: fwd.map((v, i) => [i + 1, v]) }, tolLine(fwd.length)],
    { logY: true, xLabel: 'iteration', empty: 'waiting for a training step' });
  const ift = settings().grad === 'ift';
  $('bwd-note').textContent = ift ? '(IFT linear solve, current batch)' : '(none: the phantom gradient unrolls k steps instead)';
  linePlot($('bwd'), [{ label: 'backward', color: '#7b4fd6', points: bwd.map((v, i) => [i + 1, v]) }, ...(bwd.length ? [tolLine(bwd.length)] : [])],
    { logY: true, xLabel: 'iteration', empty: ift ? 'waiting for a training step' : 'phantom gradient: no backward solve' });
  const maxN = Math.max(1, ...(last?.nstep ?? [1]));
  const counts = new Array<number>(maxN).fill(0);
  for (const n of last?.nstep ?? []) if (n >= 1) counts[n - 1]++;
  barPlot($('nstep'), counts, counts.map((_, i) => String(i + 1)), '#3a9d6a', 'iterations (nstep)');
  const s = last?.status ?? { converged: 0, maxIter: 0, diverged: 0, nan: 0 };
  shareBar($('statusbar'), [
    { label: 'converged', value: s.converged, color: '#3a9d6a' },
    { label: 'max iter', value: s.maxIter, color: '#e39b2d' },
    { label: 'diverged', value: s.diverged, color: '#d64545' },
    { label: 'NaN', value: s.nan, color: '#6b6b6b' },
  ]);
  if (grid) digitGrid($('digits'), grid.images, grid.labels, grid.preds, 8);
  statusLine();
}

let pending = false;
function redraw(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; draw(); });
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  if (m.type === 'ready') {
    state.ready = true;
    state.info = m.info;
    grid = { images: m.gridImages, labels: m.gridLabels, preds: null };
    setupControls(m.info);
    $('env').textContent = `crossOriginIsolated: ${m.info.crossOriginIsolated} · ${navigator.hardwareConcurrency ?? '?'} cores · WebGPU: ${m.info.gpuAdapter ? `${m.info.gpuAdapter.description}${m.info.gpuAdapter.fallback ? ' (fallback adapter)' : ''}` : 'no adapter'}`;
    controls.run.disabled = false;
    controls.run.textContent = 'Start';
    if (params.get('autostart') === '1') toggle();
  } else if (m.type === 'step') {
    const r = m.report;
    last = r;
    state.steps = r.step;
    state.lastSolver = r.solver;
    loss.push([r.step, r.loss]);
    const win = loss.slice(-20);
    lossAvg.push([r.step, win.reduce((a, p) => a + p[1], 0) / win.length]);
  } else if (m.type === 'eval') {
    testAcc.push([m.step, m.testAcc]);
    if (Number.isFinite(m.trainAcc)) trainAcc.push([m.step, m.trainAcc]);
    state.testAcc = m.testAcc;
    $('test-acc').textContent = `test accuracy ${m.testAcc.toFixed(2)}`;
    if (grid) grid.preds = m.gridPreds;
  } else if (m.type === 'state') {
    state.running = m.running;
    state.settings = m.settings;
    if (m.info) state.info = m.info;
    controls.run.textContent = m.running ? 'Pause' : state.steps > 0 ? 'Resume' : 'Start';
    controls.run.classList.toggle('paused', !m.running && state.steps > 0);
  } else if (m.type === 'error') {
    showError(m.message);
  }
  redraw();
};

function toggle(): void {
  state.running = !state.running;
  controls.run.textContent = state.running ? 'Pause' : 'Resume';
  send({ type: 'run', running: state.running });
}

controls.run.onclick = toggle;
for (const c of [controls.solver, controls.grad, controls.k, controls.width, controls.threads, controls.backend]) {
  c.addEventListener('change', () => {
    syncK();
    const next = settings();
    if (state.settings && (next.width !== state.settings.width || next.backend !== state.settings.backend)) resetCurves();
    state.settings = next;
    send({ type: 'settings', settings: next });
    redraw();
  });
}
addEventListener('resize', redraw);

send({
  type: 'setup', settings: settings(), dataUrl: new URL('./digits.bin', location.href).href,
  nTrain: num('train', Infinity), nTest: num('test', 1000), evalEvery: num('evalEvery', 25),
});
draw();
