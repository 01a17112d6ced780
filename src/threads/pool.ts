/**
 * A pool of worker threads that run parts of one kernel call on the shared memory of a tsdeq
 * module instance. The calling thread publishes a job in the control block (./control.ts),
 * then every thread, the caller included, claims parts until none is left, and the caller
 * returns when all are done: a pooled kernel is as synchronous as a plain one, and never waits
 * for a worker that is slow to wake (the caller simply runs more parts). Each worker runs its
 * own instance of the module (the copy with passive data segments) on the same memory; only
 * the calling thread allocates (the control block, a scratch block per thread).
 *
 * Waiting: a worker polls the job counter briefly, then sleeps in `Atomics.wait`; the caller
 * polls for parts still running elsewhere, then sleeps too where blocking is allowed (not on a
 * browser's main thread, where it keeps polling: that wait is at most one part). When the
 * caller keeps waiting longer than it works (other processes hold the cores), the pool backs
 * off to one thread for a while, so threads never cost much on a busy machine.
 */
import { ARGS, CLAIM, CONTROL_BYTES, DONE, ERROR, KERNEL, MAX_ARGS, MAX_PARTS, MAX_THREADS, PARTS, QUIT, READY, SCRATCH, SEQ } from './control.js';
import { canBlock } from './platform.js';
import { spawnWorker, type WorkerHandle } from './spawn.js';
import { Backoff } from './backoff.js';

/** The module instance a pool works for. */
export interface PoolTarget {
  /** The instance's shared memory. */
  memory: WebAssembly.Memory;
  /** The calling thread's instance exports: `alloc`, `free` and the pooled kernels. */
  exports: WebAssembly.Exports;
  /** Bytes of the module with passive data segments, for the workers. */
  workerBytes: Uint8Array;
}

/**
 * How long a worker keeps polling for the next job before it sleeps (ms). Short: a polling
 * worker takes a core from other work (the caller's own one-thread code between jobs, other
 * processes), and a late worker costs little because the caller claims its parts meanwhile.
 */
const WORKER_SPIN_MS = 0.1;
/**
 * The caller polls for parts still running elsewhere for a quarter of the time its own parts
 * took (at least this many ms), then sleeps where it may: a worker that is that far behind is
 * probably not running, and polling would only keep it from the core.
 */
const CALLER_MIN_SPIN_MS = 0.02;

interface Generation {
  ctrl: number;
  workers: WorkerHandle[];
}

type Kernel = (part: number, parts: number, scratch: number, ...args: number[]) => void;

/**
 * The worker pool of one module instance (see the file header).
 * @example
 * const pool = new ThreadPool({ memory, exports, workerBytes }, ['gemm_part_f32']);
 * await pool.resize(2);
 * pool.run(0, 2, scratchBytes, [a, b, c, 1, m, n, k, 0, 1, 0, 0]);
 */
export class ThreadPool {
  private readonly fns: Kernel[];
  private readonly alloc: (bytes: number) => number;
  private readonly free: (ptr: number) => void;
  private readonly mayBlock = canBlock();
  /** Jobs run on more than one thread so far (for tests and benchmarks). */
  jobs = 0;
  /** Backs the pool off to one thread after slow jobs (./backoff.ts; tests that count jobs disable it). */
  readonly backoff = new Backoff();
  private gen: Generation | null = null;
  /** Workers being started: they become `gen` once all have counted themselves in READY. */
  private starting: Generation | null = null;
  private target = 1;
  private chain: Promise<number> = Promise.resolve(1);
  private readonly scratch: number[] = [];
  private readonly scratchSize: number[] = [];
  private buffer: ArrayBufferLike | null = null;
  private i32 = new Int32Array(0);
  private f64 = new Float64Array(0);

  constructor(private readonly t: PoolTarget, private readonly kernels: readonly string[]) {
    const ex = t.exports as Record<string, unknown>;
    this.fns = kernels.map((name) => {
      if (typeof ex[name] !== 'function') throw new Error(`ThreadPool: the module has no kernel '${name}'; rebuild it with \`npm run build:wasm\``);
      return ex[name] as Kernel;
    });
    const alloc = ex.alloc as (bytes: number) => number;
    this.alloc = (bytes) => alloc(bytes) >>> 0; // unsigned: addresses past 2 GiB
    this.free = ex.free as (ptr: number) => void;
  }

  /** Threads that run a job now (the calling thread plus ready workers). */
  get threads(): number {
    const gen = this.current();
    return gen === null ? 1 : gen.workers.length + 1;
  }

  /** The running generation; a starting one whose workers are all in their loops is promoted. */
  private current(): Generation | null {
    const s = this.starting;
    if (this.gen === null && s !== null && Atomics.load(this.views().i32, (s.ctrl + READY) >>> 2) === s.workers.length) {
      this.gen = s;
      this.starting = null;
    }
    return this.gen;
  }

  /**
   * Threads a job should be split for now: `threads`, or 1 while the pool backs off after
   * jobs in which the caller mostly waited for workers (busy cores).
   */
  usable(): number {
    const threads = this.threads;
    return threads > 1 && this.backoff.paused(performance.now()) ? 1 : threads;
  }

  /** The size the pool was last asked for (it may still be starting). */
  get requested(): number {
    return this.target;
  }

  /**
   * Restarts the pool with `threads` threads in all (1 stops every worker); resolves with the
   * thread count once the workers are ready. Calls are applied in order.
   */
  resize(threads: number): Promise<number> {
    if (!(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
      return Promise.reject(new Error(`ThreadPool.resize: expected an integer from 1 to ${MAX_THREADS}, received ${threads}`));
    }
    this.target = threads;
    const next = this.chain.catch(() => 1).then(() => this.apply(threads));
    this.chain = next;
    return next;
  }

  private async apply(threads: number): Promise<number> {
    const running = this.current();
    if (running !== null ? running.workers.length + 1 === threads : threads === 1 && this.starting === null) return threads;
    const old = running ?? this.starting;
    this.gen = null;
    this.starting = null;
    if (old !== null) await this.retire(old);
    if (threads <= 1) return 1;
    const gen: Generation = { ctrl: this.alloc(CONTROL_BYTES), workers: [] };
    try {
      for (let i = 1; i < threads; i++) gen.workers.push(await spawnWorker());
      const ready = gen.workers.map((w, i) => this.startWorker(w, gen.ctrl, i + 1));
      this.starting = gen;
      await Promise.all(ready);
    } catch (e) {
      if (this.starting === gen) this.starting = null;
      if (this.gen === gen) this.gen = null;
      await this.retire(gen);
      throw new Error(`setThreads: could not start ${threads - 1} worker thread(s): ${(e as Error).message}`);
    }
    for (const w of gen.workers) {
      w.listen(() => undefined, () => { if (this.gen === gen) this.gen = null; }); // a dead worker: back to one thread
    }
    if (this.starting === gen) {
      this.starting = null;
      this.gen = gen;
    }
    return threads;
  }

  private startWorker(w: WorkerHandle, ctrl: number, index: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      w.listen((m) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'error') reject(new Error(m.message ?? 'worker error'));
      }, (message) => reject(new Error(message)));
      w.post({ bytes: this.t.workerBytes, memory: this.t.memory, ctrl, index, kernels: this.kernels, spinMs: WORKER_SPIN_MS });
    });
  }

  private async retire(gen: Generation): Promise<void> {
    const v = this.views();
    const c = gen.ctrl;
    Atomics.store(v.i32, (c + KERNEL) >>> 2, QUIT);
    Atomics.add(v.i32, (c + SEQ) >>> 2, 1);
    Atomics.notify(v.i32, (c + SEQ) >>> 2);
    await Promise.all(gen.workers.map((w) => w.terminate()));
    this.free(c);
  }

  private views(): { i32: Int32Array; f64: Float64Array } {
    const buf = this.t.memory.buffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.i32 = new Int32Array(buf);
      this.f64 = new Float64Array(buf);
    }
    return { i32: this.i32, f64: this.f64 };
  }

  /** Gives every thread a scratch block of at least `bytes` bytes (grow-only). */
  private ensureScratch(ctrl: number, threads: number, bytes: number): void {
    for (let t = 0; t < threads; t++) {
      if ((this.scratchSize[t] ?? 0) >= bytes) continue;
      if (this.scratch[t]) this.free(this.scratch[t]);
      this.scratch[t] = 0;
      this.scratchSize[t] = 0;
      try {
        this.scratch[t] = this.alloc(bytes);
      } catch (e) {
        throw new Error(`wasm backend: out of memory allocating ${bytes} bytes of scratch for thread ${t}: ${(e as Error).message}`);
      }
      this.scratchSize[t] = bytes;
    }
    const i32 = this.views().i32;
    for (let t = 0; t < threads; t++) i32[((ctrl + SCRATCH) >>> 2) + t] = this.scratch[t];
  }

  /**
   * Runs kernel `kernel` (an index into the pool's kernel list) as `parts` parts, each thread
   * with at least `scratchBytes` of scratch, and returns when all are done. The calling thread
   * claims parts like the workers do, so the job never waits for a worker that is slow to wake.
   */
  run(kernel: number, parts: number, scratchBytes: number, args: readonly number[]): void {
    const gen = this.current();
    if (gen === null || parts < 1 || parts > MAX_PARTS || args.length > MAX_ARGS) {
      throw new Error(`ThreadPool.run: expected a running pool, 1 to ${MAX_PARTS} parts and at most ${MAX_ARGS} arguments, received ${gen === null ? 'a stopped pool, ' : ''}${parts} parts and ${args.length} arguments`);
    }
    const c = gen.ctrl;
    this.ensureScratch(c, gen.workers.length + 1, scratchBytes);
    const { i32, f64 } = this.views();
    const a = (c + ARGS) >>> 3;
    for (let i = 0; i < MAX_ARGS; i++) f64[a + i] = i < args.length ? args[i] : 0;
    const seqI = (c + SEQ) >>> 2, claimI = (c + CLAIM) >>> 2, doneI = (c + DONE) >>> 2;
    i32[(c + KERNEL) >>> 2] = kernel;
    i32[(c + PARTS) >>> 2] = parts;
    i32[(c + ERROR) >>> 2] = 0;
    Atomics.store(i32, doneI, 0);
    const seq = (i32[seqI] + 1) | 0;
    const tag = (seq & 0xffffff) << 8;
    Atomics.store(i32, claimI, tag);
    Atomics.store(i32, seqI, seq);
    Atomics.notify(i32, seqI);
    let failure: unknown = null;
    const fn = this.fns[kernel], scratch = this.scratch[0];
    const t0 = performance.now();
    for (;;) {
      const w = Atomics.load(i32, claimI);
      if ((w & 255) >= parts) break;
      if (Atomics.compareExchange(i32, claimI, w, w + 1) !== w) continue;
      try {
        fn(w & 255, parts, scratch, ...args);
      } catch (e) {
        failure ??= e;
      }
      Atomics.add(i32, doneI, 1);
    }
    const t1 = performance.now();
    const until = t1 + Math.max(CALLER_MIN_SPIN_MS, 0.25 * (t1 - t0));
    for (let n = 1; ; n++) {
      const done = Atomics.load(i32, doneI);
      if (done === parts) break;
      if (this.mayBlock && (n & 255) === 0 && performance.now() > until) Atomics.wait(i32, doneI, done);
    }
    this.jobs++;
    const t2 = performance.now();
    this.backoff.observe(t1 - t0, t2 - t1, t2);
    if (failure !== null) throw failure;
    if (Atomics.load(i32, (c + ERROR) >>> 2) !== 0) {
      throw new Error(`wasm backend: kernel '${this.kernels[kernel]}' failed in a worker thread`);
    }
  }
}
