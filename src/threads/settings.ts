/**
 * The public thread settings: `setThreads(n)`, `getThreads()`, `shutdownThreads()`.
 *
 * One setting for the process (or page): how many threads the wasm backend's large kernels
 * use, the calling thread included. Default: the platform's core count where threads are
 * possible (workers plus shared WebAssembly memory: Node, Deno, cross-origin isolated pages),
 * else 1. `init()` loads the shared-memory build of the module whenever threads are possible
 * and registers its kernels here; the worker pool starts when a kernel first needs it, or at
 * once when `setThreads` is called. The thread count never changes results: split kernels
 * compute every output element with the same operations as on one thread.
 */
import { MAX_THREADS } from './control.js';
import { threadSupport } from './platform.js';
import type { ParallelKernels } from '../backend/wasm_parallel.js';
import { show } from '../utils/format.js';

let requested: number | null = null;
/** The kernels of the backend `init()` loaded on shared memory (null: none yet / none possible). */
let active: ParallelKernels | null = null;
/** Why the backend `init()` loaded cannot run threads (null: not initialised, or it can). */
let singleReason: string | null = null;

function defaultThreads(): number {
  const s = threadSupport();
  return s.ok ? Math.min(Math.max(1, s.cores), MAX_THREADS) : 1;
}

/**
 * The thread count kernels should use now (read by the parallel kernels at each call): 1 when
 * the backend cannot run threads or its workers failed to start (`setThreads` tries again).
 */
export function wantedThreads(): number {
  if (singleReason !== null || active?.startError != null) return 1;
  return requested ?? defaultThreads();
}

/**
 * Called by `init()`: the backend it loaded runs on shared memory (`kernels`), or cannot run
 * threads (`reason`).
 */
export function attachThreads(kernels: ParallelKernels | null, reason: string | null): void {
  active = kernels;
  singleReason = kernels === null ? reason ?? 'the wasm backend was loaded without shared memory' : null;
  if (kernels !== null && requested !== null && requested > 1) {
    kernels.pool.resize(requested).catch((e: unknown) => { kernels.startError = (e as Error).message; });
  }
}

function describe(n: unknown): string {
  if (typeof n === 'number') return String(n);
  if (n === null) return 'null';
  return typeof n === 'object' ? (n as object).constructor?.name ?? 'object' : `${typeof n} ${show(n)}`;
}

/**
 * Sets how many threads the wasm backend's large kernels use (1 turns the worker pool off).
 * Resolves with the count once the workers are running (before `init()`: at once, and `init()`
 * starts them). Rejects when `n` is not an integer from 1 to 64, or when `n > 1` and this
 * platform or backend cannot run threads (no workers, no shared memory, a page that is not
 * cross-origin isolated, or a custom module passed to `init()`).
 * @example
 * await init();
 * await setThreads(2); // GEMMs from about 4 MFLOP now run on two threads
 */
export function setThreads(n: number): Promise<number> {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    return Promise.reject(new Error(`setThreads: expected an integer number of threads from 1 to ${MAX_THREADS}, received ${describe(n)}`));
  }
  if (n > 1) {
    const s = threadSupport();
    const reason = singleReason ?? (s.ok ? null : s.reason);
    if (reason !== null) return Promise.reject(new Error(`setThreads: cannot run ${n} threads: ${reason}`));
  }
  requested = n;
  if (active === null) return Promise.resolve(n);
  const kernels = active;
  kernels.startError = null;
  return kernels.pool.resize(n).catch((e: unknown) => {
    kernels.startError = (e as Error).message;
    throw e;
  });
}

/**
 * The number of threads the wasm backend's large kernels use (the calling thread included):
 * the `setThreads` setting, by default the core count where threads are possible, else 1
 * (also after the workers failed to start, e.g. a Content-Security-Policy forbidding workers).
 * @example getThreads(); // 2 on a two-core machine in Node
 */
export function getThreads(): number {
  return wantedThreads();
}

/**
 * Stops the worker threads (the setting becomes 1; `setThreads` starts them again). Workers
 * never keep a Node process alive, so calling this is optional there.
 * @example await shutdownThreads();
 */
export async function shutdownThreads(): Promise<void> {
  requested = 1;
  if (active !== null) await active.pool.resize(1);
}
