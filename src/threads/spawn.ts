/**
 * Starting one pool worker on the running platform (see ./platform.ts for which one it is):
 * Node's `worker_threads` (Deno's too, through its Node compatibility layer) with the worker's
 * source evaluated, or a module Worker from a Blob URL in browsers. Apart from ./platform.ts so
 * that pages which cannot run threads (and so never load the pool) do not download the
 * worker's source either.
 */
import { host, nodeModule } from './platform.js';
import { workerSource } from './worker_source.js';

/** The minimal worker interface the pool uses. */
export interface WorkerHandle {
  post(message: unknown): void;
  /** Calls `f` with each message from the worker, `fail` on an error event or unexpected exit. */
  listen(f: (message: { type: string; message?: string }) => void, fail: (message: string) => void): void;
  terminate(): Promise<void>;
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

const g = globalThis as unknown as { Worker?: new (url: string | URL, options?: { type?: string; name?: string }) => Worker };

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
