/**
 * Record once, replay (Backend.captureLoop, src/backend/webgpu/capture.ts) on the CPU adapter:
 * solves with `capture: 'auto'` give exactly the results of `capture: 'off'` (same kernels in the
 * same order), call `func` only while tracing, and submit a few times per solve; a func that
 * cannot be replayed (reads, awaits, keeps tensors, changes its work) runs every iteration.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor, SolverFunc, SolverResult, SolverOptions } from '../src/index.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { prng } from './helpers/ref.js';
import { findBackend } from '../src/backend/registry.js';
import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);

describe('webgpu adapter for the capture tests', () => {
  it('is found (the suite may not skip under CI)', () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
  });
});

/** z -> tanh(z A + b) with A scaled to a contraction, counting its calls. */
function problem(d: number, B: number, seed: number, backend = 'webgpu'): { f: SolverFunc<Tensor>; calls: () => number } {
  const u = prng(seed);
  const r = (): number => u() - 0.5;
  const A = T.keep(T.tensor(Array.from({ length: d * d }, () => r() * 1.2 / Math.sqrt(d)), [d, d], { backend }));
  const b = T.keep(T.tensor(Array.from({ length: B * d }, () => r() * 2), [B, d], { backend }));
  let n = 0;
  return { f: (z) => { n++; return T.tanh(T.add(T.matmul(z, A), b)); }, calls: () => n };
}

const gpu = (): WebGpuBackend => findBackend('webgpu') as WebGpuBackend;

async function values(r: SolverResult<Tensor>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = { z: Array.from(await r.z.data()) };
  for (const k of ['absLowest', 'relLowest', 'absTrace', 'relTrace', 'nstep'] as const) out[k] = Array.from(await r.stats[k].data());
  out.status = (await T.solverStatus(r)).map((s) => ['converged', 'maxIter', 'nan', 'diverged'].indexOf(s));
  return out;
}

async function solveBoth(name: string, d: number, B: number, opts: SolverOptions): Promise<{ on: Record<string, number[]>; off: Record<string, number[]>; callsOn: number; callsOff: number; submitsOn: number }> {
  const solver = T.getSolver(name);
  const p1 = problem(d, B, 7), p2 = problem(d, B, 7);
  const x0 = T.zeros([B, d], { backend: 'webgpu' });
  await gpu().sync();
  const s0 = gpu().ctx.submits;
  const on = await solver(p1.f, x0, { ...opts, capture: 'auto' });
  await on.z.data();
  const submitsOn = gpu().ctx.submits - s0;
  const von = await values(on);
  const off = await solver(p2.f, x0, { ...opts, capture: 'off' });
  return { on: von, off: await values(off), callsOn: p1.calls(), callsOff: p2.calls(), submitsOn };
}

run('record once, replay', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });

  for (const name of ['fixed_point_iter', 'anderson', 'simple_fixed_point_iter']) {
    for (const [d, B] of [[17, 3], [1, 1], [33, 5]]) {
      it(`${name} (${B} x ${d}): replayed results equal the step-by-step ones exactly (tol 0 and tol > 0)`, async () => {
        const simple = name === 'simple_fixed_point_iter';
        for (const opts of [{ maxIter: 30, tol: 0 }, { maxIter: 40, tol: 1e-5, ...(simple ? {} : { checkEvery: 3 }) }, { maxIter: 25, tol: 1e-4, stopMode: 'rel' as const }]) {
          const r = await solveBoth(name, d, B, opts);
          expect(r.on, `${name} ${JSON.stringify(opts)}`).toEqual(r.off);
          expect(r.callsOn, 'func runs only while tracing').toBeLessThan(r.callsOff);
        }
      });
    }
  }

  it('other options replay exactly too: indexing snapshots, returnFinal, damping, rel mode, a small history', async () => {
    const cases: [string, SolverOptions][] = [
      ['fixed_point_iter', { maxIter: 30, tol: 0, indexing: [3, 9, 20, 30], tau: 0.7 }],
      ['fixed_point_iter', { maxIter: 30, tol: 1e-4, returnFinal: true, stopMode: 'rel' }],
      ['anderson', { maxIter: 30, tol: 0, indexing: [2, 12, 25], m: 3, tau: 0.8 }],
      ['anderson', { maxIter: 35, tol: 1e-6, m: 4, lam: 1e-6, returnFinal: true, checkEvery: 5 }],
      ['simple_fixed_point_iter', { maxIter: 30, tol: 1e-3, indexing: [1, 7, 29], tau: 0.9 }],
      // More replays than one batch holds (64): uniform regions are reused by the next batch.
      ['fixed_point_iter', { maxIter: 150, tol: 0, tau: 0.95 }],
      ['anderson', { maxIter: 100, tol: 0, m: 5 }],
    ];
    for (const [name, opts] of cases) {
      const p = problem(17, 3, 31), q = problem(17, 3, 31);
      const x0 = T.zeros([3, 17], { backend: 'webgpu' });
      const a = await T.getSolver(name)(p.f, x0, { ...opts, capture: 'auto' });
      const b = await T.getSolver(name)(q.f, x0, { ...opts, capture: 'off' });
      const what = `${name} ${JSON.stringify(opts)}`;
      expect(await values(a), what).toEqual(await values(b));
      expect(a.trajectory.length, what).toBe(b.trajectory.length);
      for (let i = 0; i < a.trajectory.length; i++) expect(Array.from(await a.trajectory[i].data()), `${what} trajectory ${i}`).toEqual(Array.from(await b.trajectory[i].data()));
      expect(p.calls(), what).toBeLessThan(q.calls());
    }
  });

  it('a 30-iteration tol-0 solve submits a few times and calls func fewer than 30 times; capture off calls it every time', async () => {
    for (const name of ['fixed_point_iter', 'anderson', 'simple_fixed_point_iter']) {
      const r = await solveBoth(name, 17, 3, { maxIter: 30, tol: 0 });
      expect(r.callsOff).toBe(30);
      expect(r.callsOn).toBeLessThan(30);
      expect(r.submitsOn, `${name} submits`).toBeLessThanOrEqual(4);
    }
  });
});

/** Solves `make()`'s func from zeros with capture 'auto' and 'off'; func calls and results of each. */
async function autoVsOff(name: string, make: () => { f: SolverFunc<Tensor>; calls: () => number }, opts: SolverOptions,
  B = 3, d = 17): Promise<{ on: Record<string, number[]>; off: Record<string, number[]>; callsOn: number; callsOff: number }> {
  const solver = T.getSolver(name);
  const a = make(), b = make();
  const x0 = T.zeros([B, d], { backend: 'webgpu' });
  const on = await values(await solver(a.f, x0, { ...opts, capture: 'auto' }));
  const off = await values(await solver(b.f, x0, { ...opts, capture: 'off' }));
  return { on, off, callsOn: a.calls(), callsOff: b.calls() };
}

run('record once, replay: funcs that cannot be replayed run every iteration', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });
  const opts = { maxIter: 30, tol: 0 };

  const cases: [string, (base: SolverFunc<Tensor>) => SolverFunc<Tensor>][] = [
    ['an async func (awaits a read)', (f) => (async (z: Tensor) => { await z.data(); return f(z); }) as unknown as SolverFunc<Tensor>],
    ['an async func that awaits nothing but a resolved promise', (f) => (async (z: Tensor) => { await Promise.resolve(); return f(z); }) as unknown as SolverFunc<Tensor>],
    ['a func that starts a read without awaiting it', (f) => (z) => { void z.data(); return f(z); }],
    ['a func whose scalar changes every call', (f) => { let n = 0; return (z) => T.mul(f(z), 1 + (n++) * 1e-3); }],
    ['a func that uploads other values every call', (f) => { let n = 0; return (z) => T.add(f(z), T.tensor([n++ * 1e-3], [1], { backend: 'webgpu' })); }],
    ['a func that changes its work after a few calls', (f) => { let n = 0; return (z) => (n++ < 3 ? f(z) : T.tanh(f(z))); }],
  ];
  for (const [what, wrap] of cases) {
    for (const name of ['fixed_point_iter', 'anderson']) {
      it(`${name}: ${what}`, async () => {
        const make = (): { f: SolverFunc<Tensor>; calls: () => number } => {
          const p = problem(17, 3, 11);
          return { f: wrap(p.f), calls: p.calls };
        };
        const r = await autoVsOff(name, make, opts);
        expect(r.on).toEqual(r.off);
        if (!what.includes('after a few calls')) expect(r.callsOn, 'func ran every iteration').toBe(r.callsOff);
      });
    }
  }

  it('a func that makes the same constant every call (an upload) is replayed, the constant kept by the recording', async () => {
    for (const name of ['fixed_point_iter', 'anderson']) {
      const make = (): { f: SolverFunc<Tensor>; calls: () => number } => {
        const p = problem(17, 3, 12);
        return { f: (z) => T.mul(p.f(z), T.tensor([0.5, 0.9, 1.1], [3, 1], { backend: 'webgpu' })), calls: p.calls };
      };
      const r = await autoVsOff(name, make, opts);
      expect(r.on, name).toEqual(r.off);
      expect(r.callsOn, name).toBeLessThan(r.callsOff);
    }
  });

  it('a func that throws while its iterations are traced or replayed: the error reaches the caller and the next solve replays normally', async () => {
    for (const at of [1, 3]) { // the 2nd and the 4th (last traced) call
      const p = problem(9, 2, 8);
      const f: SolverFunc<Tensor> = (z) => { if (p.calls() === at) throw new Error(`boom at ${at}`); return p.f(z); };
      await expect(T.getSolver('fixed_point_iter')(f, T.zeros([2, 9], { backend: 'webgpu' }), opts)).rejects.toThrow(`boom at ${at}`);
    }
    const r = await autoVsOff('fixed_point_iter', () => problem(9, 2, 8), opts, 2, 9);
    expect(r.on).toEqual(r.off);
    expect(r.callsOn).toBeLessThan(30);
  });

  it('a func that keeps a tensor it made is not replayed (its temporaries must end with the iteration)', async () => {
    const kept: Tensor[] = [];
    const make = (): { f: SolverFunc<Tensor>; calls: () => number } => {
      const p = problem(9, 2, 3);
      return { f: (z) => { const y = p.f(z); kept.push(T.keep(T.mul(y, 1))); return y; }, calls: p.calls };
    };
    const r = await autoVsOff('fixed_point_iter', make, opts, 2, 9);
    expect(r.on).toEqual(r.off);
    expect(r.callsOn).toBe(30);
    for (const t of kept) t.dispose();
  });

  it('a func that alternates between two bodies is replayed phase by phase (period 2 divides both loops\' periods)', async () => {
    for (const name of ['fixed_point_iter', 'anderson', 'simple_fixed_point_iter']) {
      const make = (): { f: SolverFunc<Tensor>; calls: () => number } => {
        const p = problem(17, 3, 5);
        let n = 0;
        return { f: (z) => (n++ % 2 === 0 ? p.f(z) : T.tanh(T.mul(p.f(z), 0.9))), calls: p.calls };
      };
      const r = await autoVsOff(name, make, { maxIter: 30, tol: 0 });
      expect(r.on, name).toEqual(r.off);
      expect(r.callsOn, name).toBeLessThan(30);
    }
  });

  it('list states (several tensors) are replayed and give the same results as capture off', async () => {
    const p = problem(8, 2, 13), q = problem(8, 2, 13);
    const x0 = [T.zeros([2, 8], { backend: 'webgpu' }), T.zeros([2, 8], { backend: 'webgpu' })];
    const mk = (pp: typeof p) => (s: Tensor[]): Tensor[] => [pp.f(s[1]), T.mul(pp.f(s[0]), 0.5)];
    for (const name of ['fixed_point_iter', 'anderson', 'simple_fixed_point_iter']) {
      const c0 = p.calls(), r0 = gpu().ctx.replayed;
      const a = await T.getSolver(name)(mk(p), x0, { maxIter: 30, tol: 0, capture: 'auto' });
      expect(gpu().ctx.replayed - r0, `${name} replays`).toBeGreaterThanOrEqual(12);
      expect((p.calls() - c0) / 2, `${name} func calls`).toBeLessThanOrEqual(18);
      const b = await T.getSolver(name)(mk(q), x0, { maxIter: 30, tol: 0, capture: 'off' });
      for (let i = 0; i < 2; i++) expect(Array.from(await a.z[i].data())).toEqual(Array.from(await b.z[i].data()));
      for (const k of ['absTrace', 'nstep'] as const) expect(Array.from(await a.stats[k].data())).toEqual(Array.from(await b.stats[k].data()));
    }
  });

  it('concurrent solves (different funcs and shapes) each replay their own recording', async () => {
    const sizes: [number, number, string][] = [[17, 3, 'anderson'], [33, 5, 'fixed_point_iter'], [5, 2, 'anderson'], [17, 3, 'simple_fixed_point_iter']];
    const solveAll = (capture: 'auto' | 'off') => Promise.all(sizes.map(async ([d, B, name], i) => {
      const p = problem(d, B, 40 + i);
      const r = await T.getSolver(name)(p.f, T.zeros([B, d], { backend: 'webgpu' }), { maxIter: 30, tol: i % 2 ? 0 : 1e-6, ...(name === 'simple_fixed_point_iter' ? {} : { checkEvery: 4 }), capture });
      return { v: await values(r), calls: p.calls() };
    }));
    const on = await solveAll('auto'), off = await solveAll('off');
    on.forEach((r, i) => expect(r.v, `solve ${i}`).toEqual(off[i].v));
    expect(on.some((r) => r.calls < 30)).toBe(true);
  });

  it('nothing leaks: GPU memory in use returns to where it was (also after an abandoned recording)', async () => {
    const names = ['fixed_point_iter', 'anderson', 'simple_fixed_point_iter'];
    const problems = names.map((_, i) => problem(17, 3, 2 + i));
    const x0 = T.zeros([3, 17], { backend: 'webgpu' });
    let n = 0;
    const changing = (z: Tensor): Tensor => T.mul(problems[0].f(z), 1 + (n++) * 1e-3);
    await gpu().sync();
    const before = gpu().ctx.stats().inUseBytes;
    for (const [i, name] of names.entries()) {
      for (const f of [problems[i].f, changing]) {
        const r = await T.getSolver(name)(f, x0, { maxIter: 30, tol: 0 });
        await r.z.data();
        await T.solverStatus(r); // frees the status copy
        r.z.dispose();
        for (const t of Object.values(r.stats)) t.dispose();
      }
    }
    await gpu().sync();
    expect(gpu().ctx.stats().inUseBytes - before).toBeLessThanOrEqual(0);
    x0.dispose();
  });
});

/** z = tanh(z W^T + x U^T) on webgpu; loss = sum(z * c); gradients for W and x; f's calls. */
async function deqPass(opts: T.DEQOptions, B = 3, d = 17): Promise<{ z: number[]; gW: number[]; gx: number[]; calls: number }> {
  const u = prng(21);
  const r = (s: number): number => (u() - 0.5) * s;
  const backend = 'webgpu';
  const W = T.tensor(Array.from({ length: d * d }, () => r(1.2 / Math.sqrt(d))), [d, d], { backend, requiresGrad: true });
  const x = T.tensor(Array.from({ length: B * d }, () => r(2)), [B, d], { backend, requiresGrad: true });
  const c = T.tensor(Array.from({ length: B * d }, () => r(1)), [B, d], { backend });
  let calls = 0;
  const f = (z: Tensor): Tensor => { calls++; return T.tanh(T.add(T.linear(z, W), x)); };
  const out = await T.getDeq(opts).forward(f, T.zeros([B, d], { backend }));
  const zs = out.zOut as Tensor[];
  let loss = T.sum(T.mul(zs[0], c));
  for (const z of zs.slice(1)) loss = T.add(loss, T.sum(T.mul(z, c)));
  await loss.backward();
  return { z: Array.from(await zs[zs.length - 1].data()), gW: Array.from(await W.grad!.data()), gx: Array.from(await x.grad!.data()), calls };
}

run('record once, replay in DEQ layers', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });
  const variants: [string, T.DEQOptions][] = [];
  for (const core of ['sliced', 'indexing']) {
    for (const fSolver of ['anderson', 'fixed_point_iter', 'simple_fixed_point_iter']) {
      const bSolver = fSolver === 'simple_fixed_point_iter' ? 'fixed_point_iter' : fSolver;
      variants.push([`${core} ${fSolver} + IFT (${bSolver})`, { core, fSolver, fMaxIter: 30, fTol: 0, ift: true, bSolver, bMaxIter: 30, bTol: 0, bFailure: 'ignore' }]);
      variants.push([`${core} ${fSolver} + phantom (k 3, tau 0.8)`, { core, fSolver, fMaxIter: 30, fTol: 0, grad: 3, tau: 0.8 }]);
    }
  }
  variants.push(['sliced anderson + IFT with tolerances', { fSolver: 'anderson', fMaxIter: 40, fTol: 1e-6, ift: true, bSolver: 'anderson', bMaxIter: 40, bTol: 1e-7, bFailure: 'ignore' }]);
  it.each(variants)('%s: forward and gradients equal capture off exactly', async (_n, opts) => {
    const r0 = gpu().ctx.replayed;
    const on = await deqPass(opts);
    const replays = gpu().ctx.replayed - r0;
    const off = await deqPass({ ...opts, capture: 'off' });
    expect(gpu().ctx.replayed - r0, "capture 'off' replays nothing").toBe(replays);
    // tol 0: of 30 steps, anderson replays the last 12 (traced: 6..17), the fixed-point loops the
    // last 26; the IFT adjoint solve as many again.
    if (opts.fTol === 0) expect(replays).toBeGreaterThanOrEqual((opts.ift ? 2 : 1) * (opts.fSolver === 'anderson' ? 12 : 26));
    else expect(replays).toBeGreaterThan(0);
    expect(on.z).toEqual(off.z);
    expect(on.gW).toEqual(off.gW);
    expect(on.gx).toEqual(off.gx);
    expect(on.gW.some((v) => v !== 0)).toBe(true);
    expect(on.calls).toBeLessThan(off.calls);
  });

  it('getDeq validates capture', () => {
    expect(() => T.getDeq({ capture: 'always' as 'auto' })).toThrow(/^getDeq: option 'capture' expected 'auto' or 'off', received "always"/);
  });
});

describe('record once, replay on CPU backends', () => {
  it("'auto' is a no-op on wasm and js: results equal 'off' bit for bit, func runs every iteration", async () => {
    await T.init();
    for (const backend of ['wasm', 'js']) {
      for (const name of ['fixed_point_iter', 'anderson', 'simple_fixed_point_iter']) {
        const a = problem(9, 2, 4, backend), b = problem(9, 2, 4, backend);
        const x0 = T.zeros([2, 9], { backend });
        const ra = await T.getSolver(name)(a.f, x0, { maxIter: 20, tol: 0, capture: 'auto' });
        const rb = await T.getSolver(name)(b.f, x0, { maxIter: 20, tol: 0, capture: 'off' });
        expect(Array.from(ra.z.dataSync())).toEqual(Array.from(rb.z.dataSync()));
        expect(a.calls()).toBe(b.calls());
        expect(a.calls()).toBeGreaterThanOrEqual(20);
      }
    }
  });
});
