/**
 * What the running JavaScript platform offers for threads, and how to start a worker on it:
 * - Node, and Deno through its Node compatibility layer: `node:worker_threads` (idle workers
 *   are unref'd, so the pool never keeps the process alive; Deno's web workers cannot be);
 * - browsers: the web `Worker` API, as module workers from a Blob URL (browsers
 *   give pages SharedArrayBuffer only when cross-origin isolated: COOP `same-origin` plus
 *   COEP `require-corp`);
 * - edge runtimes (workerd) and non-isolated pages: no workers or no shared memory, so one
 *   thread.
 */
import { workerSource, type WorkerHost } from './worker_source.js';

/** Whether threads can run here, and if not, why. */
export interface ThreadSupport {
  ok: boolean;
  /** Why threads are unavailable ('' when they are). */
  reason: string;
  /** Logical cores reported by the platform (1 when unknown). */
  cores: number;
}

/** The minimal worker interface the pool uses. */
export interface WorkerHandle {
  post(message: unknown): void;
  /** Calls `f` with each message from the worker, `fail` on an error event or unexpected exit. */
  listen(f: (message: { type: string; message?: string }) => void, fail: (message: string) => void): void;
  terminate(): Promise<void>;
}

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (name: string) => unknown;
}

interface NodeWorker {
  postMessage(m: unknown): void;
  on(event: string, f: (x: unknown) => void): void;
  once(event: string, f: (x: unknown) => void): void;
  unref(): void;
  ref(): void;
  terminate(): Promise<number>;
}
type NodeWorkerCtor = new (code: string, options: { eval: boolean }) => NodeWorker;

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
function host(): WorkerHost | null {
  if (typeof g.process?.versions?.node === 'string' && (g.Deno === undefined || nodeModule('node:worker_threads') !== null)) return 'node';
  if (typeof g.Worker === 'function') return 'web';
  return null;
}

function nodeModule<T>(name: string): T | null {
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

async function nodeWorkerCtor(): Promise<NodeWorkerCtor> {
  const mod = nodeModule<{ Worker: NodeWorkerCtor }>('node:worker_threads')
    // Older Node 20 releases lack process.getBuiltinModule; the specifier is computed so
    // bundlers for other platforms leave it alone.
    ?? await import(/* @vite-ignore */ ['node', 'worker_threads'].join(':')) as { Worker: NodeWorkerCtor };
  return mod.Worker;
}

/**
 * Starts one pool worker on this platform (see ./worker_source.ts for what it runs).
 * @example const w = await spawnWorker(); w.post(initMessage);
 */
export async function spawnWorker(): Promise<WorkerHandle> {
  const h = host();
  if (h === 'node') {
    const Ctor = await nodeWorkerCtor();
    const w = new Ctor(workerSource('node'), { eval: true });
    // Referenced until its first answer (so that awaiting the pool keeps Node running), then
    // unref'd: an idle pool never keeps the process alive.
    let answered = false;
    let done = false;
    w.once('message', () => {
      answered = true;
      if (!done) w.unref();
    });
    return {
      post: (m) => w.postMessage(m),
      listen(f, fail) {
        w.on('message', (m) => f(m as { type: string }));
        w.on('error', (e) => fail(String((e as Error)?.message ?? e)));
        w.on('exit', (code) => { if (!done) fail(`the worker exited with code ${String(code)}`); });
        if (answered && !done) w.unref(); // a new 'message' listener refs the worker's port again
      },
      async terminate() {
        done = true;
        w.ref(); // keep Node running until the worker has exited (awaiting an unref'd worker would not)
        await w.terminate();
      },
    };
  }
  if (h === 'web') {
    // The Blob URL lives until the worker has answered (some engines load it asynchronously).
    const url = URL.createObjectURL(new Blob([workerSource('web')], { type: 'text/javascript' }));
    let w: Worker;
    try {
      w = new g.Worker!(url, { type: 'module', name: 'tsdeq-thread' });
    } catch (e) {
      URL.revokeObjectURL(url);
      throw e;
    }
    const revoke = (): void => URL.revokeObjectURL(url);
    return {
      post: (m) => w.postMessage(m),
      listen(f, fail) {
        w.onmessage = (e: MessageEvent) => { revoke(); f(e.data as { type: string }); };
        w.onerror = (e: ErrorEvent) => { revoke(); e.preventDefault?.(); fail(e.message || 'worker error'); };
      },
      terminate() {
        revoke();
        w.terminate();
        return Promise.resolve();
      },
    };
  }
  throw new Error('spawnWorker: this platform has no workers (no Worker API, not Node)');
}
