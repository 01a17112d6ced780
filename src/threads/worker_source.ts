/**
 * The source text of a pool worker, as a string: the pool starts workers from it directly
 * (Node and Deno: `node:worker_threads` with `{ eval: true }`; browsers: a module worker from a
 * Blob URL), so it works the same from the sources, from the esbuild bundle and from a CDN
 * copy, without a separate worker file to locate.
 *
 * A worker receives one message { bytes, memory, ctrl, index, kernels, spinMs }, compiles and
 * instantiates the tsdeq module on the shared memory (the copy with passive data segments, see
 * src/backend/wasm_binary.ts; compiling in the worker keeps that work off the calling thread),
 * counts itself in READY and answers { type: 'ready' } (or { type: 'error', message }), and
 * then loops forever on the control block (./control.ts) without returning to its event loop:
 * wait for SEQ to change (spinning up to `spinMs`, then sleeping in Atomics.wait), claim parts
 * of the job and run them until none is left, count each in DONE (the last one notifies).
 * It never allocates in the module (the allocator belongs to the calling thread).
 */
import { ARGS, CLAIM, DONE, ERROR, KERNEL, MAX_ARGS, PARTS, QUIT, READY, SCRATCH, SEQ } from './control.js';

/** How the worker talks to its creator: Node's `worker_threads` or the web Worker API. */
export type WorkerHost = 'node' | 'web';

const HOSTS: Record<WorkerHost, string> = {
  node: `const port = require('node:worker_threads').parentPort;
const post = (m) => port.postMessage(m);
const listen = (f) => port.once('message', f);`,
  web: `const post = (m) => self.postMessage(m);
const listen = (f) => { self.onmessage = (e) => { self.onmessage = null; f(e.data); }; };`,
};

function body(): string {
  const args = Array.from({ length: MAX_ARGS }, (_, i) => `f64[a + ${i}]`).join(', ');
  return `
function loop(memory, ctrl, index, fns, spinMs) {
  const i32 = new Int32Array(memory.buffer);
  const f64 = new Float64Array(memory.buffer);
  const seqI = (ctrl + ${SEQ}) >>> 2, claimI = (ctrl + ${CLAIM}) >>> 2, doneI = (ctrl + ${DONE}) >>> 2;
  const kernelI = (ctrl + ${KERNEL}) >>> 2, partsI = (ctrl + ${PARTS}) >>> 2, errorI = (ctrl + ${ERROR}) >>> 2;
  const scratchI = (ctrl + ${SCRATCH}) >>> 2;
  const a = (ctrl + ${ARGS}) >>> 3;
  let seen = 0;
  for (;;) {
    let seq = Atomics.load(i32, seqI);
    if (seq === seen) {
      const until = performance.now() + spinMs;
      for (let n = 1; seq === seen; n++) {
        if ((n & 255) === 0 && performance.now() > until) Atomics.wait(i32, seqI, seen);
        seq = Atomics.load(i32, seqI);
      }
    }
    seen = seq;
    if (Atomics.load(i32, kernelI) === ${QUIT}) return;
    const tag = (seq & 0xffffff) << 8;
    for (;;) {
      const w = Atomics.load(i32, claimI);
      if ((w & ~255) !== tag) break; // an older or newer job: nothing of ours to do
      const kernel = Atomics.load(i32, kernelI), parts = Atomics.load(i32, partsI), part = w & 255;
      if (part >= parts) break;
      if (Atomics.compareExchange(i32, claimI, w, w + 1) !== w) continue;
      try {
        fns[kernel](part, parts, i32[scratchI + index], ${args});
      } catch (e) {
        Atomics.store(i32, errorI, 1);
      }
      if (Atomics.add(i32, doneI, 1) + 1 === parts) Atomics.notify(i32, doneI);
    }
  }
}
listen(async (msg) => {
  let fns;
  try {
    const instance = (await WebAssembly.instantiate(msg.bytes, { env: { memory: msg.memory } })).instance;
    fns = msg.kernels.map((name) => {
      const f = instance.exports[name];
      if (typeof f !== 'function') throw new Error('the module has no kernel ' + name);
      return f;
    });
  } catch (e) {
    post({ type: 'error', message: String((e && e.message) || e) });
    return;
  }
  Atomics.add(new Int32Array(msg.memory.buffer), (msg.ctrl + ${READY}) >>> 2, 1);
  post({ type: 'ready' });
  loop(msg.memory, msg.ctrl, msg.index, fns, msg.spinMs);
  post({ type: 'exit' });
});
`;
}

/**
 * The worker's source text for `host`.
 * @example new Worker(workerSource('node'), { eval: true }) // node:worker_threads
 */
export function workerSource(host: WorkerHost): string {
  return `'use strict';\n// tsdeq thread-pool worker (src/threads/worker_source.ts)\n${HOSTS[host]}\n${body()}`;
}
