/**
 * Messages between the playground page (./page.ts) and its training worker (./worker.ts).
 */

/** The settings a person can change; a change of `width` or `backend` starts a fresh model. */
export interface TrainSettings {
  solver: 'anderson' | 'broyden' | 'fixed_point_iter';
  grad: 'ift' | 'phantom';
  /** Unrolled steps of the phantom gradient. */
  phantomSteps: number;
  width: number;
  /** Threads of the kernels (0 in the setup message: the library's default). */
  threads: number;
  backend: 'wasm' | 'webgpu';
}

/** page -> worker */
export type ToWorker =
  | { type: 'setup'; settings: TrainSettings; dataUrl: string; nTrain: number; nTest: number; evalEvery: number }
  | { type: 'run'; running: boolean }
  | { type: 'settings'; settings: TrainSettings };

/** What the worker runs on. */
export interface RuntimeInfo {
  backend: string;
  variant: string;
  threads: number;
  maxThreads: number;
  /** Why more than one thread is impossible ('' when it is possible). */
  threadsReason: string;
  crossOriginIsolated: boolean;
  /** WebGPU: null when the browser has no adapter, else whether it is a fallback (software) adapter. */
  gpuAdapter: { fallback: boolean; description: string } | null;
  /** Whether tsdeq's webgpu backend started (init() reported it available). */
  gpuBackend: boolean;
  /** Why it did not ('' when it did). */
  gpuReason: string;
  nTrain: number;
  nTest: number;
}

/** One training step's numbers. */
export interface StepReport {
  step: number;
  epoch: number;
  /** The solver and gradient this step used. */
  solver: TrainSettings['solver'];
  grad: TrainSettings['grad'];
  loss: number;
  /** Accuracy on this batch. */
  batchAcc: number;
  stepsPerSecond: number;
  /** Forward solve: mean relative residual over the batch at each iteration (1-based). */
  forwardTrace: number[];
  /** Backward (IFT) solve: the same; empty with the phantom gradient. */
  backwardTrace: number[];
  /** Per-sample forward iterations. */
  nstep: number[];
  /** Samples per status. */
  status: Record<'converged' | 'maxIter' | 'diverged' | 'nan', number>;
  tol: number;
}

/** worker -> page */
export type FromWorker =
  | { type: 'ready'; info: RuntimeInfo; gridImages: Float32Array; gridLabels: number[] }
  | { type: 'step'; report: StepReport }
  | { type: 'eval'; step: number; testAcc: number; trainAcc: number; gridPreds: number[] }
  | { type: 'state'; running: boolean; settings: TrainSettings; info: RuntimeInfo }
  | { type: 'error'; message: string };

/** Digits shown in the grid. */
export const GRID = 32;
