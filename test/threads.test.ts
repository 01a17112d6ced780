/**
 * Threads: the shared-memory builds of the module, the worker pool and `setThreads`.
 *
 * The thread count must never change results. The pooled GEMM (assembly/gemm_part.ts) splits
 * C into blocks aligned to the register tile and runs the same k slices in the same order as
 * the one-thread GEMM, so every element goes through exactly the same floating-point
 * operations: results are asserted BIT-IDENTICAL (not just close) between 1 and 2 threads, for
 * both builds (baseline and relaxed SIMD), float32 and float64, awkward sizes, transposes and
 * batches. The fused kernels split by rows or samples the same way (test/threads_fused.test.ts),
 * so a whole DEQ training step (anderson forward, IFT backward) gives bit-identical losses and
 * gradients too.
 */
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
// @ts-expect-error: a plain ES module of the build scripts, without type declarations
import { wasmUrlPlugin, BUILD_WASM_URL } from '../scripts/wasm_url_plugin.mjs';
import v8 from 'node:v8';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend, MatmulSpec, Storage } from '../src/backend/backend.js';
import { findBackend } from '../src/backend/registry.js';
import type { WasmBackend, WasmVariant } from '../src/backend/wasm.js';
import { embeddedBytes } from '../src/backend/wasm_loader.js';
import { createSharedWasmBackend } from '../src/backend/wasm_shared.js';
import { memoryImportLimits, withPassiveData } from '../src/backend/wasm_binary.js';
import type { DType } from '../src/dtype.js';
import { Backoff } from '../src/threads/backoff.js';
import * as T from '../src/index.js';
import { values, stored } from './helpers/kernel_inputs.js';
import { usePooledBackend } from './helpers/pooled_backend.js';

// Node 20 has relaxed SIMD behind a V8 flag (process-wide; vitest runs each file in its own process).
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const js = findBackend('js') as Backend;
const DTYPES: DType[] = ['float32', 'float64'];
const SIZES = [1, 3, 17, 33, 100, 257, 513];
const wasmFile = (name: string): Uint8Array => readFileSync(new URL(`../build/wasm/tsdeq-${name}.wasm`, import.meta.url));

interface Case { spec: MatmulSpec; A: Float64Array; B: Float64Array; }

function makeCase(batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
  strideA: number, strideB: number, seed: number): Case {
  const sizeA = strideA === 0 ? m * k : (batch - 1) * strideA + m * k;
  const sizeB = strideB === 0 ? k * n : (batch - 1) * strideB + k * n;
  return { spec: { batch, m, n, k, transA, transB, strideA, strideB }, A: values(sizeA, seed), B: values(sizeB, seed + 1) };
}

/**
 * Whether the pooled GEMM splits this product in two (see assembly/gemm_part.ts): not
 * matrix-vector shapes; a batch of >= 2 items by item; else the longer side of C must hold
 * two register tiles (NR = 8 f32 / 4 f64 columns, MR = 4 baseline / 5 relaxed rows).
 */
function splits(s: MatmulSpec, dtype: DType, variant: WasmVariant): boolean {
  const folded = s.batch > 1 && s.strideB === 0 && !s.transA && s.strideA === s.m * s.k;
  const m = folded ? s.m * s.batch : s.m, batch = folded ? 1 : s.batch;
  if (batch <= 0 || s.k <= 0 || m <= 1 || s.n <= 1) return false;
  if (batch >= 2) return true;
  const NR = dtype === 'float32' ? 8 : 4, MR = variant === 'relaxed' ? 5 : 4;
  return s.n >= m ? Math.ceil(s.n / NR) >= 2 : Math.ceil(m / MR) >= 2;
}

describe('shared-memory builds of the module', () => {
  it('import a shared memory whose limits the loader reads from the binary; the plain builds import none', () => {
    for (const v of ['simd-threads', 'relaxed-threads']) {
      const lim = memoryImportLimits(wasmFile(v));
      expect(lim).toEqual({ initial: expect.any(Number), maximum: 65536, shared: true });
      expect(lim!.initial).toBeGreaterThanOrEqual(1);
    }
    expect(memoryImportLimits(wasmFile('simd'))).toBeNull();
    expect(memoryImportLimits(wasmFile('relaxed'))).toBeNull();
  });

  it('the workers\' copy has passive data: instantiating it leaves static data alone, the original writes it', async () => {
    const bytes = wasmFile('simd-threads');
    const passive = withPassiveData(bytes);
    expect(WebAssembly.validate(passive as BufferSource)).toBe(true);
    expect(passive.length).toBeLessThan(bytes.length); // offset expressions dropped
    const lim = memoryImportLimits(bytes)!;
    const memory = new WebAssembly.Memory({ initial: lim.initial, maximum: lim.maximum!, shared: true });
    const staticData = (): number => new Uint8Array(memory.buffer, 0, 65536).reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
    await WebAssembly.instantiate(passive as BufferSource, { env: { memory } });
    expect(staticData()).toBe(0);
    await WebAssembly.instantiate(bytes as BufferSource, { env: { memory } });
    const written = staticData();
    expect(written).toBeGreaterThan(500); // erf's coefficient tables and other static data (~1 KB)
    // A mutable static area (e.g. a kernel's spill slots) keeps its contents when a worker starts.
    const u8 = new Uint8Array(memory.buffer);
    const marks = [1024, 1500, 2000].map((i) => { u8[i] ^= 0xff; return u8[i]; });
    await WebAssembly.instantiate(passive as BufferSource, { env: { memory } });
    expect([1024, 1500, 2000].map((i) => u8[i])).toEqual(marks);
  });

  it('createSharedWasmBackend rejects a plain build with a clear error', async () => {
    await expect(createSharedWasmBackend(wasmFile('simd'), () => 2)).rejects.toThrow(
      /createSharedWasmBackend: expected a shared-memory build of the tsdeq module .* received a module that imports no memory/);
  });
});

const VARIANTS: WasmVariant[] = ['simd', 'relaxed'];

describe.each(VARIANTS)('pooled GEMM, %s-threads build: 2 threads give bit-identical results to 1', (variant) => {
  const pool = usePooledBackend(variant);
  let wasm: WasmBackend;
  beforeAll(() => {
    wasm = pool.wasm;
    wasm.parallel!.minFlops = 0; // split even the tiniest products
  });

  /** Runs `c` with `threads` threads; checks that the pool ran it iff it splits. */
  function run(c: Case, dtype: DType, threads: number): Float64Array {
    pool.want = threads;
    const a = stored(wasm, c.A, dtype), b = stored(wasm, c.B, dtype);
    const out = stored(wasm, new Float64Array(c.spec.batch * c.spec.m * c.spec.n).fill(12345.5), dtype);
    const jobs = wasm.parallel!.pool.jobs;
    wasm.matmul(a, b, out, c.spec);
    expect(wasm.parallel!.pool.jobs - jobs, `pool jobs for ${JSON.stringify(c.spec)} on ${threads} thread(s)`)
      .toBe(threads > 1 && splits(c.spec, dtype, variant) ? 1 : 0);
    const r = Float64Array.from(wasm.readSync(out));
    for (const s of [a, b, out]) wasm.free(s);
    return r;
  }

  function same(c: Case, dtype: DType): void {
    const one = run(c, dtype, 1), two = run(c, dtype, 2);
    for (let i = 0; i < one.length; i++) {
      if (!Object.is(one[i], two[i])) {
        throw new Error(`${variant} ${dtype} ${JSON.stringify(c.spec)}: element ${i} is ${two[i]} on 2 threads, ${one[i]} on 1`);
      }
    }
  }

  for (const dtype of DTYPES) {
    it(`${dtype}: squares and skinny products over {1, 3, 17, 33, 100, 257, 513}, transposes`, () => {
      let seed = 1;
      const trans: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
      for (const s of SIZES) {
        const shapes = [[s, s, Math.min(s, 100)], [s, 257, 33], [257, s, 17], [100, 33, s]];
        for (const [m, n, k] of shapes) {
          for (const [tA, tB] of s === 513 ? trans.slice(1, 3) : trans) same(makeCase(1, m, n, k, tA, tB, 0, 0, seed++), dtype);
        }
      }
      same(makeCase(1, 513, 513, 513, false, true, 0, 0, seed++), dtype); // k > KC: two k slices
    });

    it(`${dtype}: batches (split by item, or folded into one tall product), broadcast operands, matrix-vector`, () => {
      const [m, n, k] = [33, 17, 100];
      for (const [tA, tB] of [[false, false], [true, true], [false, true]] as [boolean, boolean][]) {
        same(makeCase(3, m, n, k, tA, tB, m * k, 0, 11), dtype); // shared B: one tall product when !transA
        same(makeCase(3, m, n, k, tA, tB, 0, k * n, 12), dtype); // shared A
        same(makeCase(5, m, n, k, tA, tB, m * k, k * n, 13), dtype); // batch >= parts: whole items
        same(makeCase(4, 3, 100, 33, tA, tB, 3 * 33 + 5, 0, 14), dtype); // padded A stride
        same(makeCase(2, 1, 257, 33, tA, tB, 33, 0, 15), dtype); // m = 1: matrix-vector, not split
        same(makeCase(1, 257, 1, 33, tA, tB, 0, 0, 16), dtype); // n = 1
      }
    });
  }


  it('agrees with the js backend (the split is also correct, not only self-consistent)', () => {
    const c = makeCase(1, 100, 257, 33, false, true, 0, 0, 99);
    const got = run(c, 'float64', 2);
    const a = stored(js, c.A, 'float64'), b = stored(js, c.B, 'float64'), out = js.alloc(100 * 257, 'float64');
    js.matmul(a, b, out, c.spec);
    const want = js.readSync(out);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-13);
  });
});

describe('the pool', () => {
  let wasm: WasmBackend;
  let want = 2;
  beforeAll(async () => {
    wasm = await createSharedWasmBackend(await embeddedBytes('simd', true), () => want);
    wasm.parallel!.pool.backoff.enabled = false;
  });
  afterAll(async () => {
    await wasm.parallel!.pool.resize(1);
  });

  it('starts lazily: the first large product runs on one thread and starts the workers, later ones use them', async () => {
    const pool = wasm.parallel!.pool;
    expect(pool.threads).toBe(1);
    const c = makeCase(1, 64, 256, 256, false, true, 0, 0, 5);
    const a = stored(wasm, c.A, 'float32'), b = stored(wasm, c.B, 'float32'), out = wasm.alloc(64 * 256, 'float32');
    wasm.matmul(a, b, out, c.spec);
    const first = Float32Array.from(wasm.readSync(out) as Float32Array);
    expect(pool.jobs).toBe(0);
    expect(pool.requested).toBe(2);
    expect(await pool.resize(2)).toBe(2); // queued after the background start: resolves once it is ready
    wasm.fill(out, 0);
    wasm.matmul(a, b, out, c.spec);
    expect(pool.jobs).toBe(1);
    expect(Array.from(wasm.readSync(out))).toEqual(Array.from(first));
    for (const s of [a, b, out]) wasm.free(s);
  });

  it('a computation that never lets the event loop turn (only microtasks) still picks the starting pool up', async () => {
    let want = 2;
    const fresh = await createSharedWasmBackend(await embeddedBytes('simd', true), () => want);
    const pool = fresh.parallel!.pool;
    pool.backoff.enabled = false;
    const c = makeCase(1, 64, 256, 256, false, true, 0, 0, 6);
    const a = stored(fresh, c.A, 'float32'), b = stored(fresh, c.B, 'float32'), out = fresh.alloc(64 * 256, 'float32');
    const t0 = performance.now();
    let calls = 0;
    while (pool.jobs === 0 && performance.now() - t0 < 20_000) {
      fresh.matmul(a, b, out, c.spec); // the first call starts the workers in the background
      calls++;
      await Promise.resolve();
    }
    expect(pool.jobs).toBe(1);
    expect(calls).toBeGreaterThan(1);
    want = 1;
    await pool.resize(1);
  });

  it('a part that traps makes the call throw (on whichever thread ran it), and the pool keeps working', async () => {
    const pool = wasm.parallel!.pool;
    await pool.resize(2);
    const [m, n, k] = [8, 16, 8];
    const a = stored(wasm, values(m * k, 1), 'float32'), b = stored(wasm, values(2 * k * n, 2), 'float32');
    const out = wasm.alloc(2 * m * n, 'float32');
    const ptr = (s: Storage): number => (s as unknown as { ptr: number }).ptr;
    // Batches split by item: every part but the first reads A past the end of memory. Threads
    // claim parts as they come, so the trap surfaces as the caller's own RuntimeError or as the
    // worker's report.
    const strideA = Math.ceil(wasm.memoryBytes() / 4) + 64;
    for (const batch of [2, 64]) {
      expect(() => pool.run(0, batch, 1 << 16, [ptr(a), ptr(b), ptr(out), batch, m, n, k, 0, 0, strideA, 0]))
        .toThrow(/memory access out of bounds|wasm backend: kernel 'gemm_part_f32' failed in a worker thread/);
    }
    pool.run(0, 2, 1 << 16, [ptr(a), ptr(b), ptr(out), 2, m, n, k, 0, 0, 0, k * n]);
    const ref = js.alloc(2 * m * n, 'float32');
    const ja = stored(js, values(m * k, 1), 'float32'), jb = stored(js, values(2 * k * n, 2), 'float32');
    js.matmul(ja, jb, ref, { batch: 2, m, n, k, transA: false, transB: false, strideA: 0, strideB: k * n });
    const got = wasm.readSync(out), exp = js.readSync(ref);
    for (let i = 0; i < exp.length; i++) expect(Math.abs(got[i] - exp[i])).toBeLessThan(1e-5);
    await expect(pool.resize(65)).rejects.toThrow('ThreadPool.resize: expected an integer from 1 to 64, received 65');
    expect(() => pool.run(0, 256, 0, [])).toThrow(/ThreadPool.run: expected a running pool, 1 to 255 parts and at most 16 arguments, received 256 parts and 0 arguments/);
    await pool.resize(1);
    expect(() => pool.run(0, 2, 0, [])).toThrow(/ThreadPool.run: expected a running pool, .* received a stopped pool, 2 parts/);
    for (const s of [a, b, out]) wasm.free(s);
  });
});

describe('back-off to one thread when the caller keeps waiting for workers (busy cores)', () => {
  it('pauses after 4 slow jobs in a row for 200 ms; a fast job resets the count', () => {
    const b = new Backoff();
    b.observe(1, 0.6, 0); b.observe(1, 0.6, 1); b.observe(1, 0.6, 2); // 3 slow jobs (waited > half their work)
    expect(b.paused(3)).toBe(false);
    b.observe(1, 0.4, 3); // fast: the run starts over
    b.observe(1, 2, 4); b.observe(1, 2, 5); b.observe(1, 2, 6);
    expect(b.paused(7)).toBe(false);
    b.observe(1, 2, 10);
    expect(b.paused(10)).toBe(true);
    expect(b.paused(209.9)).toBe(true);
    expect(b.paused(210)).toBe(false);
    b.enabled = false;
    for (let t = 300; t < 310; t++) b.observe(1, 5, t);
    expect(b.paused(310)).toBe(false);
  });

  it('a paused pool splits nothing: products run on one thread until the pause ends', async () => {
    let want = 2;
    const wasm = await createSharedWasmBackend(await embeddedBytes('simd', true), () => want);
    const pool = wasm.parallel!.pool;
    await pool.resize(2);
    const c = makeCase(1, 64, 256, 256, false, true, 0, 0, 8);
    const a = stored(wasm, c.A, 'float32'), b = stored(wasm, c.B, 'float32'), out = wasm.alloc(64 * 256, 'float32');
    const now = performance.now();
    for (let i = 0; i < 4; i++) pool.backoff.observe(1, 10, now);
    expect(pool.usable()).toBe(1);
    wasm.matmul(a, b, out, c.spec);
    expect(pool.jobs).toBe(0);
    pool.backoff.enabled = false;
    expect(pool.usable()).toBe(2);
    wasm.matmul(a, b, out, c.spec);
    expect(pool.jobs).toBe(1);
    want = 1;
    await pool.resize(1);
  });
});

/**
 * One DEQ training step (anderson forward, IFT backward) at d = 256, B = 64, f(z) = tanh(z W^T +
 * inj) as the fused linearTanh (a product, then addTanh; its VJP tanhGrad, then products).
 */
async function deqStep(): Promise<{ loss: number; grads: number[][]; z: number[] }> {
  const d = 256, B = 64, o = { dtype: 'float32' as const };
  const W = T.tensor(values(d * d, 1).map((v) => v * 0.9 / Math.sqrt(d)), [d, d], o).requireGrad();
  const U = T.tensor(values(d * d, 2).map((v) => v / Math.sqrt(d)), [d, d], o).requireGrad();
  const b = T.tensor(values(d, 3), [d], o).requireGrad();
  const x = T.tensor(values(B * d, 4), [B, d], o);
  const c = T.tensor(values(B * d, 5), [B, d], o);
  const deq = T.getDeq({ core: 'sliced', fSolver: 'anderson', fMaxIter: 12, fTol: 0, ift: true, bSolver: 'fixed_point_iter', bMaxIter: 12, bTol: 0 });
  const inj = T.linear(x, U, b);
  const { zOut } = await deq.forward((z: T.Tensor) => T.linearTanh(z, W, inj), T.zeros([B, d], o));
  const z = zOut[zOut.length - 1];
  const loss = T.sum(T.mul(z, c));
  await T.backward(loss);
  const r = { loss: loss.item(), grads: [W, U, b].map((t) => Array.from(t.grad!.dataSync())), z: Array.from(z.dataSync()) };
  for (const t of [W, U, b, x, c, inj, loss, ...zOut]) t.dispose();
  return r;
}

describe('setThreads / getThreads / shutdownThreads with init()', () => {
  let wasm: WasmBackend;
  beforeAll(async () => {
    expect(T.getThreads()).toBe(Math.min(os.availableParallelism(), 64)); // default: the core count
    await T.init();
    wasm = findBackend('wasm') as WasmBackend;
    wasm.parallel!.pool.backoff.enabled = false; // jobs are counted below
    wasm.parallel!.minElements = { addTanh: 0, tanhGrad: 0, solverStep: 0 }; // the step's elementwise and solver steps split too
    T.setBackend('wasm');
  });
  afterAll(async () => {
    await T.shutdownThreads();
    expect(wasm.parallel!.pool.threads).toBe(1);
    T.setBackend('js');
  });

  it('init() loads the shared-memory build here (Node: workers and SharedArrayBuffer)', () => {
    expect(wasm.parallel).not.toBeNull();
    expect(wasm.memoryBytes()).toBeGreaterThan(0);
  });

  it('a DEQ training step (anderson + IFT) gives the same loss and gradients on 1 and 2 threads', async () => {
    expect(await T.setThreads(2)).toBe(2);
    expect(T.getThreads()).toBe(2);
    const jobs = wasm.parallel!.pool.jobs;
    const two = await deqStep();
    expect(wasm.parallel!.pool.jobs - jobs).toBeGreaterThan(40); // every f(z) (product, addTanh) and its VJP split
    expect(await T.setThreads(1)).toBe(1);
    expect(wasm.parallel!.pool.threads).toBe(1);
    const jobs1 = wasm.parallel!.pool.jobs;
    const one = await deqStep();
    expect(wasm.parallel!.pool.jobs).toBe(jobs1);
    expect(Number.isFinite(one.loss) && one.loss !== 0).toBe(true);
    expect(two.loss).toBe(one.loss);
    expect(two.z).toEqual(one.z);
    one.grads.forEach((g, i) => expect(two.grads[i]).toEqual(g));
    expect(one.grads[0].some((v) => v !== 0)).toBe(true);
  });

  it.each([
    [0, 'received 0'], [-1, 'received -1'], [1.5, 'received 1.5'], [Number.NaN, 'received NaN'], [65, 'received 65'],
    ['2', 'received string "2"'], [undefined, 'received undefined'], [null, 'received null'],
  ])('setThreads(%s) rejects with a clear Error', async (n, what) => {
    await expect(T.setThreads(n as number)).rejects.toThrow(`setThreads: expected an integer number of threads from 1 to 64, ${what}`);
  });

  it('shutdownThreads stops the workers (setting 1), setThreads starts them again', async () => {
    await T.setThreads(2);
    expect(wasm.parallel!.pool.threads).toBe(2);
    await T.shutdownThreads();
    expect(T.getThreads()).toBe(1);
    expect(wasm.parallel!.pool.threads).toBe(1);
    expect(await T.setThreads(2)).toBe(2);
    expect(wasm.parallel!.pool.threads).toBe(2);
  });

  it('in a Node process: awaiting pool starts and stops keeps Node running, and an idle pool lets it exit', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'tsdeq-threads-'));
    try {
      const entry = join(dir, 'entry.ts');
      const src = new URL('../src/index.js', import.meta.url).pathname;
      writeFileSync(entry, `import * as T from ${JSON.stringify(src)};
await T.init();
const n = 128;
const a = T.tensor(Array.from({ length: n * n }, (_, i) => (i % 7) - 3), [n, n]);
const pool = T.getBackend().parallel.pool;
pool.backoff.enabled = false;
const sums = [];
for (const threads of [2, 1, 2, 1, 2]) {
  await T.setThreads(threads);
  sums.push(T.sum(a.matmul(a)).item());
}
console.log(JSON.stringify({ sums, jobs: pool.jobs, threads: pool.threads }));
`);
      const out = join(dir, 'run.mjs');
      await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', target: 'es2022', outfile: out, logLevel: 'error', plugins: [wasmUrlPlugin(BUILD_WASM_URL)] });
      const r = spawnSync(process.execPath, [out], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, `exit ${r.status} signal ${r.signal}: ${r.stderr}`).toBe(0);
      const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sums: number[]; jobs: number; threads: number };
      expect(report.threads).toBe(2); // the pool is still running when the script ends
      expect(report.jobs).toBe(3);
      expect(new Set(report.sums).size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('workers that fail to start: setThreads rejects with the reason, and kernels run on one thread', async () => {
    vi.resetModules();
    const T2 = await import('../src/index.js');
    await T2.init();
    const pool = (T2.getBackend() as WasmBackend).parallel!.pool;
    (pool as unknown as { t: { workerBytes: Uint8Array } }).t.workerBytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]); // not a module
    await expect(T2.setThreads(2)).rejects.toThrow(/setThreads: could not start 1 worker thread\(s\): .*(Compile|WebAssembly)/);
    expect(T2.getThreads()).toBe(1);
    expect(pool.threads).toBe(1);
    const a = T2.tensor(values(128 * 128, 3), [128, 128]);
    const jobs = pool.jobs;
    expect(a.matmul(a).shape).toEqual([128, 128]);
    expect(pool.jobs).toBe(jobs);
  });

  it('a module passed to init() runs on one thread, and setThreads(n > 1) says why', async () => {
    vi.resetModules();
    const T2 = await import('../src/index.js');
    await T2.init(wasmFile('simd'));
    expect(T2.getThreads()).toBe(1);
    expect(await T2.setThreads(1)).toBe(1);
    await expect(T2.setThreads(2)).rejects.toThrow(/setThreads: cannot run 2 threads: init\(\) was given a module of its own, which runs on one thread/);
  });
});
