/**
 * The playground's training worker: loads tsdeq's WASM backend and the packed digits, trains
 * the `npm run demo` model (../model.ts) step by step, and posts each step's numbers (loss,
 * solver residual traces, iterations and statuses per sample) and periodic test evaluations
 * to the page. Training runs here so that the page never freezes; the thread pool, when the
 * page is cross-origin isolated, runs under this worker (it may block in Atomics.wait).
 */
import '../../tensor_methods.js';
import { init } from '../../init.js';
import { keep, tidy } from '../../scope.js';
import { getBackend, setBackend } from '../../backend/registry.js';
import { clone } from '../../ops/cast.js';
import type { Tensor } from '../../tensor.js';
import { noGrad } from '../../autograd/engine.js';
import { crossEntropy } from '../../ops/loss.js';
import { argmax } from '../../ops/reduce.js';
import { Adam } from '../../optim/adam.js';
import { Rng } from '../../random.js';
import { getThreads, setThreads } from '../../threads/settings.js';
import { threadSupport } from '../../threads/platform.js';
import type { SolverStats } from '../../solvers/types.js';
import { MnistDEQ } from '../model.js';
import { batchOf, countCorrect, permutation, type DigitSet } from '../batches.js';
import { unpackDigits } from './digits_format.js';
import { GRID, type FromWorker, type RuntimeInfo, type StepReport, type ToWorker, type TrainSettings } from './protocol.js';

const TOL = 1e-3; // the model's forward tolerance (relative residual)
const BATCH = 64;
const LR = 2e-3;

const post = (m: FromWorker, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

let settings: TrainSettings;
let data: { train: DigitSet; test: DigitSet };
let info: RuntimeInfo;
let evalEvery = 25;
let model: MnistDEQ;
let opt: Adam;
let rng: Rng;
let order: Uint32Array;
let cursor = 0, epoch = 1, step = 0;
let running = false, looping = false;
/** End times of the last steps (for steps per second, evaluations and messages included). */
let stepTimes: number[] = [];
let sinceEval = { correct: 0, n: 0 };

/** Mean over samples of a (B, N) trace, per column, skipping column 0 (the 1e8 sentinel). */
function meanTrace(trace: Float32Array | Float64Array, b: number): number[] {
  const n = trace.length / b, out: number[] = [];
  for (let j = 1; j < n; j++) {
    let s = 0, k = 0;
    for (let i = 0; i < b; i++) {
      const v = trace[i * n + j];
      if (Number.isFinite(v) && v < 1e8) { s += v; k++; }
    }
    if (k > 0) out.push(s / k);
  }
  return out;
}

/** The solver's per-sample status, from its stats (the rules of src/solvers/types.ts). */
async function statuses(stats: SolverStats): Promise<StepReport['status']> {
  const low = await stats.relLowest.data(), trace = await stats.absTrace.data();
  const b = low.length, n = trace.length / b;
  const out = { converged: 0, maxIter: 0, diverged: 0, nan: 0 };
  for (let i = 0; i < b; i++) {
    const row = trace.subarray(i * n + 1, (i + 1) * n);
    if (Number.isNaN(low[i]) || row.some((v) => Number.isNaN(v))) out.nan++;
    else if (low[i] < TOL) out.converged++;
    else if (row.some((v) => v === Infinity || (row[0] > 0 && v > 1e4 * row[0]))) out.diverged++;
    else out.maxIter++;
  }
  return out;
}

/** A new model and optimizer on the chosen backend (tensors are created on the current one). */
function freshModel(): void {
  setBackend(settings.backend === 'webgpu' && info.gpuBackend ? 'webgpu' : 'wasm');
  info.backend = getBackend().name;
  model = new MnistDEQ({ hidden: settings.width, solver: settings.solver, grad: settings.grad, phantomSteps: settings.phantomSteps, seed: 0 });
  opt = new Adam(model.parameters(), { lr: LR });
  rng = new Rng(1);
  order = permutation(data.train.n, rng);
  cursor = 0; epoch = 1; step = 0; stepTimes = [];
  sinceEval = { correct: 0, n: 0 };
}

async function trainStep(): Promise<StepReport> {
  if (cursor >= data.train.n) {
    order = permutation(data.train.n, rng);
    cursor = 0;
    epoch++;
  }
  const from = cursor, to = Math.min(data.train.n, cursor + BATCH);
  cursor = to;
  let backwardTrace: Tensor | null = null;
  const r = await tidy(async () => {
    const { x, y } = batchOf(data.train, order, from, to, 2, rng);
    const { logits, info: stats } = await model.forward(x, {
      // A kept copy (the backward pass frees its own tensors), read and freed after it.
      backwardWriter: (s) => { backwardTrace?.dispose(); backwardTrace = keep(clone((s as SolverStats).relTrace)); },
    });
    const b = y.length;
    // Reads are async (the webgpu backend has no synchronous read-back); the forward solve's
    // stats are read before the backward pass, which may release them.
    const forward = { forwardTrace: meanTrace(await stats.relTrace.data(), b), nstep: Array.from(await stats.nstep.data()), status: await statuses(stats) };
    const loss = crossEntropy(logits, y, { labelSmoothing: 0.1 });
    const correct = countCorrect(await argmax(logits, 1).data(), y);
    await loss.backward();
    opt.step();
    opt.zeroGrad();
    const kept = backwardTrace as Tensor | null;
    backwardTrace = null;
    try {
      return { ...forward, loss: (await loss.data())[0], correct, n: b, backwardTrace: kept === null ? [] : meanTrace(await kept.data(), b) };
    } finally {
      kept?.dispose();
    }
  });
  const now = performance.now();
  stepTimes.push(now);
  if (stepTimes.length > 30) stepTimes.shift();
  const rate = stepTimes.length > 1 ? (1000 * (stepTimes.length - 1)) / (now - stepTimes[0]) : 0;
  step++;
  sinceEval.correct += r.correct;
  sinceEval.n += r.n;
  return {
    step, epoch, solver: settings.solver, grad: settings.grad, loss: r.loss, batchAcc: r.correct / r.n, stepsPerSecond: rate,
    forwardTrace: r.forwardTrace, backwardTrace: settings.grad === 'ift' ? r.backwardTrace : [],
    nstep: r.nstep, status: r.status, tol: TOL,
  };
}

/** Test accuracy (eval mode) and the predictions for the grid's digits (the first GRID test digits). */
async function evaluate(): Promise<{ testAcc: number; gridPreds: number[] }> {
  model.eval();
  const all = Uint32Array.from({ length: data.test.n }, (_, i) => i);
  let correct = 0;
  let gridPreds: number[] = [];
  for (let s = 0; s < data.test.n; s += 250) {
    await tidy(async () => {
      const { x, y } = batchOf(data.test, all, s, Math.min(data.test.n, s + 250));
      const { logits } = await noGrad(() => model.forward(x));
      const pred = await argmax(logits, 1).data();
      correct += countCorrect(pred, y);
      if (s === 0) gridPreds = Array.from(pred.subarray(0, GRID), Number);
    });
  }
  model.train();
  return { testAcc: correct / data.test.n, gridPreds };
}

async function runEval(): Promise<void> {
  const { testAcc, gridPreds } = await evaluate();
  const trainAcc = sinceEval.n > 0 ? sinceEval.correct / sinceEval.n : NaN;
  sinceEval = { correct: 0, n: 0 };
  post({ type: 'eval', step, testAcc, trainAcc, gridPreds });
}

/** Steps and messages run one at a time, in order (a setting never changes mid-step). */
let queue: Promise<void> = Promise.resolve();
function enqueue(f: () => Promise<void>): Promise<void> {
  const p = queue.then(f);
  queue = p.catch(() => {});
  return p;
}

async function loop(): Promise<void> {
  if (looping) return;
  looping = true;
  try {
    while (running) {
      await enqueue(async () => {
        if (!running) return;
        post({ type: 'step', report: await trainStep() });
        if (step % evalEvery === 0) await runEval();
      });
      await new Promise((r) => setTimeout(r, 0)); // let pause and setting changes in
    }
  } catch (e) {
    running = false;
    post({ type: 'error', message: String((e as Error)?.stack ?? e) });
  } finally {
    looping = false;
  }
}

async function applyThreads(n: number): Promise<void> {
  if (!info.threadsReason && n !== getThreads()) await setThreads(Math.max(1, Math.min(n, info.maxThreads)));
  info.threads = getThreads();
}

async function setup(m: Extract<ToWorker, { type: 'setup' }>): Promise<void> {
  settings = m.settings;
  evalEvery = m.evalEvery;
  const [initInfo, bytes] = await Promise.all([
    init(),
    fetch(m.dataUrl).then((r) => {
      if (!r.ok) throw new Error(`could not load the digits (${m.dataUrl}): HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
  ]);
  const gpu = initInfo.webgpu;
  data = unpackDigits(new Uint8Array(bytes), m.nTrain, m.nTest);
  const support = threadSupport();
  info = {
    backend: initInfo.backend, variant: initInfo.variant, threads: getThreads(), maxThreads: Math.max(1, Math.min(8, support.cores)),
    threadsReason: support.ok ? '' : support.reason, crossOriginIsolated: (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    gpuAdapter: gpu.adapter ? { fallback: gpu.adapter.isFallbackAdapter, description: [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' ') || 'unnamed adapter' } : null,
    gpuBackend: gpu.available, gpuReason: gpu.reason ?? '',
    nTrain: data.train.n, nTest: data.test.n,
  };
  if (settings.threads > 0) await applyThreads(settings.threads); // 0: the library's default
  settings = { ...settings, threads: getThreads() };
  info.threads = getThreads();
  freshModel();
  const gridImages = data.test.x.slice(0, GRID * 784);
  post({ type: 'ready', info, gridImages, gridLabels: Array.from(data.test.y.subarray(0, GRID)) }, [gridImages.buffer]);
}

async function change(next: TrainSettings): Promise<void> {
  const restart = next.width !== settings.width || next.backend !== settings.backend;
  const solverChanged = next.solver !== settings.solver || next.grad !== settings.grad || next.phantomSteps !== settings.phantomSteps;
  settings = next;
  await applyThreads(next.threads);
  if (restart) freshModel();
  else if (solverChanged) model.setSolver({ solver: next.solver, grad: next.grad, phantomSteps: next.phantomSteps });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  enqueue(async () => {
    if (m.type === 'setup') await setup(m);
    else if (m.type === 'settings') await change(m.settings);
    else if (m.type === 'run') {
      running = m.running;
      stepTimes = []; // a pause is not slow training
    }
    post({ type: 'state', running, settings, info });
    if (running) void loop();
  }).catch((err) => post({ type: 'error', message: String((err as Error)?.stack ?? err) }));
};
