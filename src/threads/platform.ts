/**
 * What the running JavaScript platform offers for threads (how a worker is started on it is
 * ./spawn.ts, loaded with the pool only where threads run):
 * - Node, and Deno through its Node compatibility layer: `node:worker_threads` (idle workers
 *   are unref'd, so the pool never keeps the process alive; Deno's web workers cannot be);
 * - browsers: the web `Worker` API, as module workers from a Blob URL (browsers
 *   give pages SharedArrayBuffer only when cross-origin isolated: COOP `same-origin` plus
 *   COEP `require-corp`);
 * - edge runtimes (workerd) and non-isolated pages: no workers or no shared memory, so one
 *   thread.
 */
import type { WorkerHost } from './worker_source.js';

/** Whether threads can run here, and if not, why. */
export interface ThreadSupport {
  ok: boolean;
  /** Why threads are unavailable ('' when they are). */
  reason: string;
  /** Logical cores reported by the platform (1 when unknown). */
  cores: number;
}

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (name: string) => unknown;
}

const g = globalThis as unknown as {
  process?: NodeProcess;
  Deno?: unknown;
  Worker?: new (url: string | URL, options?: { type?: string; name?: string }) => Worker;
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
  SharedArrayBuffer?: unknown;
};

/**
 * Node's `worker_threads` where the platform has it (Node; Deno's Node compatibility layer too,
 * whose workers can be unref'd, unlike its web workers), else the web Worker API.
 */
export function host(): WorkerHost | null {
  if (typeof g.process?.versions?.node === 'string' && (g.Deno === undefined || nodeModule('node:worker_threads') !== null)) return 'node';
  if (typeof g.Worker === 'function') return 'web';
  return null;
}

/** A Node built-in module through `process.getBuiltinModule` (null elsewhere, or when absent). */
export function nodeModule<T>(name: string): T | null {
  try {
    return (g.process?.getBuiltinModule?.(name) as T | undefined) ?? null;
  } catch {
    return null;
  }
}

function cores(): number {
  const n = g.navigator?.hardwareConcurrency;
  if (typeof n === 'number' && n >= 1) return Math.floor(n);
  const os = nodeModule<{ availableParallelism?: () => number; cpus?: () => unknown[] }>('node:os');
  const m = os?.availableParallelism?.() ?? os?.cpus?.().length;
  return typeof m === 'number' && m >= 1 ? m : 1;
}

function sharedMemoryWorks(): boolean {
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return typeof g.SharedArrayBuffer === 'function' && m.buffer instanceof (g.SharedArrayBuffer as typeof SharedArrayBuffer);
  } catch {
    return false;
  }
}

/**
 * Whether this platform can run the thread pool (workers, shared WebAssembly memory).
 * @example threadSupport(); // { ok: true, reason: '', cores: 2 } in Node
 */
export function threadSupport(): ThreadSupport {
  const c = cores();
  if (typeof WebAssembly !== 'object') return { ok: false, reason: 'WebAssembly is unavailable', cores: c };
  if (host() === null) return { ok: false, reason: 'this platform has no workers (no Worker API, not Node)', cores: c };
  if (g.crossOriginIsolated === false) {
    return { ok: false, reason: 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so SharedArrayBuffer is disabled', cores: c };
  }
  if (!sharedMemoryWorks()) return { ok: false, reason: 'shared WebAssembly memory (SharedArrayBuffer) is unavailable', cores: c };
  return { ok: true, reason: '', cores: c };
}

/**
 * Whether the calling thread may block in `Atomics.wait` (not on a browser's main thread).
 * @example canBlock(); // true in Node
 */
export function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
