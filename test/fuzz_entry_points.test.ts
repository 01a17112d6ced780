/**
 * A seeded, bounded fuzz test of the main entry points (tensor creation, ops, solvers,
 * backwardFactory, getDeq, safetensors). Each case draws arguments from pools of valid and
 * invalid values and asserts: the call gives a clear Error (a plain `Error` whose message
 * starts with the public function's name) or a correct result (ops: the wasm result equals the
 * js reference's; creation: the shape and the values asked for; solvers: a state shaped like
 * x0); nothing leaked (`memory()`); no input changed; and the library still works afterwards.
 * Fixed seed, a few thousand cases, a few seconds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

const SEED = 20261207;

/** mulberry32: small, seeded, the same everywhere. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = [0, 1, -1, 2, 3, 0.5, -2.5, 1e-3, 1e9, 2 ** 40, -0, NaN, Infinity, -Infinity];
const JUNK: unknown[] = [null, undefined, 'a', '3', {}, [], true, () => 1, [1, 'x'], { length: 3 }, Symbol('s'), 10n];
const SHAPES: number[][] = [[], [1], [3], [0], [2, 3], [3, 2], [1, 3], [0, 4], [4, 0], [2, 1, 3], [17], [3, 3]];
const BAD_SHAPES: unknown[] = [[-1], [1.5], [NaN], [Infinity], [1e6, 1e6], [2 ** 53, 2], ['2'], null, 3, [[2]]];

interface Ctx { r: () => number; pick: <X>(xs: readonly X[]) => X }

/** A case: makes its inputs, runs the call, checks a successful result; returns what to dispose. */
interface Case { name: string; inputs: T.Tensor[]; run: () => unknown; check?: (out: unknown) => void }

const tensorsIn = (v: unknown): T.Tensor[] => {
  if (v instanceof T.Tensor) return [v];
  if (Array.isArray(v)) return v.flatMap(tensorsIn);
  if (v && typeof v === 'object' && !(v instanceof Promise) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) return Object.values(v).flatMap(tensorsIn);
  return [];
};

function values(g: Ctx, shape: number[]): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => (g.r() < 0.05 ? g.pick([NaN, Infinity, -Infinity, 0]) : g.r() * 4 - 2));
}

function mk(g: Ctx, shape: number[], dtype: T.DType = g.pick(['float32', 'float64'] as const)): T.Tensor {
  return T.tensor(values(g, shape), shape, { dtype });
}

const arg = <X>(g: Ctx, good: () => X, p = 0.85): X | unknown => (g.r() < p ? good() : g.pick([...JUNK, ...NUMBERS]));

/** Same op on the js reference: results must agree (NaN with NaN), or both must throw. */
function onJs(fn: () => unknown): { out?: unknown; err?: Error } {
  const prev = T.getBackend().name;
  T.setBackend('js');
  try {
    return { out: T.tidy(() => fn()) };
  } catch (e) {
    return { err: e as Error };
  } finally {
    T.setBackend(prev);
  }
}

function expectSameValues(got: T.Tensor, want: T.Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  expect(got.dtype, what).toBe(want.dtype);
  const a = got.dataSync(), b = want.dataSync();
  const tol = got.dtype === 'float32' ? 2e-5 : 1e-12;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i])) { expect(Number.isNaN(a[i]), `${what}[${i}] NaN`).toBe(true); continue; }
    if (!Number.isFinite(b[i])) { expect(a[i], `${what}[${i}]`).toBe(b[i]); continue; }
    expect(Math.abs(a[i] - b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])) * 8);
  }
}

/** An op case: run on the default (wasm) backend and on js from the same host values. */
function opCase(g: Ctx, name: string, shapes: number[][], op: (...xs: T.Tensor[]) => unknown): Case {
  const dtype = g.pick(['float32', 'float64'] as const);
  const data = shapes.map((s) => values(g, s));
  const inputs = shapes.map((s, i) => T.tensor(data[i], s, { dtype }));
  return {
    name, inputs,
    run: () => op(...inputs),
    check: (out) => {
      const ref = onJs(() => op(...shapes.map((s, i) => T.tensor(data[i], s, { dtype }))));
      expect(ref.err, `${name}: js threw ${ref.err?.message}`).toBeUndefined();
      const got = tensorsIn(out), want = tensorsIn(ref.out);
      expect(got.length).toBe(want.length);
      got.forEach((t, i) => expectSameValues(t, want[i], `${name}(${data.map((d, j) => `[${shapes[j]}] ${dtype} ${d.slice(0, 12).join(',')}`).join('; ')}) -> ${Array.from(t.dataSync().slice(0, 12))} vs ${Array.from(want[i].dataSync().slice(0, 12))}`));
      for (const t of want) t.dispose();
    },
  };
}

const UNARY = ['exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'neg', 'square', 'sin', 'gelu', 'softplus'] as const;
const BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow'] as const;

function makeCase(g: Ctx, k: number): Case {
  const kind = k % 12;
  const shape = () => g.pick(SHAPES);
  switch (kind) {
    case 0: { // creation
      const which = g.pick(['zeros', 'ones', 'full', 'randn', 'rand', 'eye', 'arange', 'tensor'] as const);
      const sh = g.r() < 0.75 ? shape() : g.pick(BAD_SHAPES);
      const opts = g.r() < 0.8 ? {} : g.pick([{ dtype: 'float64' }, { dtype: 'int8' }, { seed: g.pick(NUMBERS) }, { std: g.pick(NUMBERS) }, { low: 2, high: g.pick(NUMBERS) }, { nope: 1 }, null]);
      const run = () => {
        switch (which) {
          case 'zeros': return T.zeros(sh as number[], opts as T.CreateOptions);
          case 'ones': return T.ones(sh as number[], opts as T.CreateOptions);
          case 'full': return T.full(sh as number[], g.pick(NUMBERS) as number, opts as T.CreateOptions);
          case 'randn': return T.randn(sh as number[], opts as T.RandomOptions);
          case 'rand': return T.rand(sh as number[], opts as T.RandomOptions);
          case 'eye': return T.eye(g.pick([...NUMBERS, 4, 1e6]) as number, g.pick([undefined, 2, -1, NaN]) as number);
          case 'arange': return T.arange(g.pick(NUMBERS), g.pick([undefined, ...NUMBERS, 1e12]) as number, g.pick([undefined, 1, 0.5, -1, 0, NaN]) as number);
          default: return T.tensor(g.r() < 0.5 ? values(g, sh as number[]) : g.pick(JUNK) as number[], sh as number[], opts as T.CreateOptions);
        }
      };
      return {
        name: which, inputs: [], run,
        check: (out) => {
          const t = out as T.Tensor;
          expect(t).toBeInstanceOf(T.Tensor);
          if (Array.isArray(sh) && ['zeros', 'ones', 'full', 'randn', 'rand', 'tensor'].includes(which)) expect(t.shape).toEqual(sh);
          const v = t.dataSync();
          if (which === 'zeros') expect(v.every((x) => x === 0)).toBe(true);
          if (which === 'ones') expect(v.every((x) => x === 1)).toBe(true);
          if (which === 'rand') {
            const lo = (opts as { low?: number })?.low ?? 0, hi = (opts as { high?: number })?.high ?? 1;
            expect(v.every((x) => (lo === hi ? x === lo : x >= lo && x <= hi))).toBe(true);
          }
        },
      };
    }
    case 1: { const op = g.pick(UNARY); return opCase(g, op, [shape()], (x) => (T as unknown as Record<string, (t: T.Tensor) => T.Tensor>)[op](x)); }
    case 2: { const op = g.pick(BINARY); return opCase(g, op, [shape(), shape()], (a, b) => (T as unknown as Record<string, (a: T.Tensor, b: T.Tensor) => T.Tensor>)[op](a, b)); }
    case 3: {
      const op = g.pick(['sum', 'mean', 'max', 'min', 'argmax', 'argmin'] as const);
      const axes = g.pick([undefined, 0, 1, -1, 2, [0, 1], [], [1, 1], 0.5, 'x']);
      const keepDims = g.r() < 0.3;
      return opCase(g, op, [shape()], (x) => (op === 'argmax' || op === 'argmin'
        ? T[op](x, axes as number)
        : T[op](x, axes as number, { keepDims })));
    }
    case 4: {
      const op = g.pick(['softmax', 'logSoftmax'] as const), axis = g.pick([-1, 0, 1, 3]);
      return opCase(g, op, [shape()], (x) => T[op](x, axis));
    }
    case 5: {
      const [m, kk, n] = [g.pick([0, 1, 3, 17]), g.pick([0, 1, 3, 5]), g.pick([0, 1, 2, 33])];
      const sa = g.r() < 0.2 ? [m] : [m, kk], sb = g.r() < 0.15 ? [kk + 1, n] : [kk, n];
      return opCase(g, 'matmul', [sa, sb], (a, b) => T.matmul(a, b));
    }
    case 6: {
      const op = g.pick(['reshape', 'transpose', 'permute', 'flatten', 'squeeze', 'unsqueeze', 'broadcastTo'] as const);
      const target = g.pick([[6], [-1], [3, -1], [2, 3], [0], [0, -1], [-1, -1], [1, 2, 3], [2, 2, 3]]);
      const ax = g.pick([0, 1, -1, 2, -3, 5]), ax2 = g.pick([0, 1, -1]), perm = g.pick([[1, 0], [0], [0, 1, 2], [2, 0, 1], [0, 0]]);
      const start = g.pick([0, 1]), end = g.pick([-1, 0, 1]), sq = g.pick([undefined, 0, 1, -1]);
      return opCase(g, op, [shape()], (x) => {
        switch (op) {
          case 'reshape': return T.reshape(x, target);
          case 'transpose': return T.transpose(x, ax, ax2);
          case 'permute': return T.permute(x, perm);
          case 'flatten': return T.flatten(x, start, end);
          case 'squeeze': return T.squeeze(x, sq);
          case 'unsqueeze': return T.unsqueeze(x, ax);
          default: return T.tidy(() => T.clone(T.broadcastTo(x, target)));
        }
      });
    }
    case 7: {
      const op = g.pick(['concat', 'stack', 'slice'] as const);
      const s1 = shape(), s2 = g.r() < 0.6 ? s1 : shape();
      const begin = g.pick([0, 1, [0, 1], [1, 0], -1, [5]]), size = g.pick([undefined, 1, [1, 1], -1, [0, 2]]), axis = g.pick([0, 1, -1, 2]);
      return opCase(g, op, [s1, s2], (a, b) => (op === 'slice' ? T.slice(a, begin, size) : T[op]([a, b], axis)));
    }
    case 8: { // solvers
      const name = g.pick(['fixed_point_iter', 'anderson', 'broyden', 'simple_fixed_point_iter', 'gmres'] as const);
      const B = g.pick([1, 2, 3]), D = g.pick([1, 3, 5]);
      const x0 = mk(g, [B, D], 'float64');
      const W = T.tensor(values(g, [D, D]).map((v) => v * 0.2), [D, D], { dtype: 'float64' });
      const opts = Object.fromEntries([
        ['maxIter', arg(g, () => g.pick([1, 5, 20, 60]))], ['tol', arg(g, () => g.pick([1e-3, 1e-8, 0]))],
        ['m', arg(g, () => g.pick([2, 3, 1e9]))], ['stopMode', arg(g, () => g.pick(['abs', 'rel']))],
        ['indexing', arg(g, () => g.pick([[1], [2, 3], []]))], ['nope', 1],
      ].filter(() => g.r() < 0.35));
      const keys = T.SOLVER_KEYS[name] ?? T.GMRES_KEYS;
      if (name === 'simple_fixed_point_iter' && (opts.maxIter as number) > 100) delete opts.maxIter;
      for (const k of Object.keys(opts)) if (!keys.includes(k) && g.r() < 0.7) delete opts[k];
      const f = g.r() < 0.9 ? (z: T.Tensor) => T.tanh(T.add(T.matmul(z, W), 0.5)) : g.pick(JUNK);
      return {
        name, inputs: [x0, W],
        run: () => (name === 'gmres' ? T.gmres(f as never, x0, opts) : T.getSolver(name)(f as never, x0, opts)),
        check: (out) => {
          const res = out as T.SolverResult;
          expect(res.z.shape).toEqual([B, D]);
          expect(res.status.length).toBe(B);
          expect(res.stats.absTrace.shape[0]).toBe(B);
          expect(res.stats.absTrace.shape[1]).toBeLessThan(200);
        },
      };
    }
    case 9: { // backwardFactory + its functor
      const o = Object.fromEntries([
        ['gradType', arg(g, () => g.pick(['ift', 1, 2, 5]))], ['tau', arg(g, () => g.pick([0.5, 1]))],
        ['supGap', arg(g, () => g.pick([-1, 1, 2]))], ['bSolver', arg(g, () => g.pick(['anderson', 'fixed_point_iter', 'nope']))],
        ['bSolverKwargs', arg(g, () => ({ maxIter: 10 }))], ['nope', 1],
      ].filter(() => g.r() < 0.3));
      const z = mk(g, [2, 3], 'float64');
      return {
        name: 'backwardFactory', inputs: [z],
        run: async () => {
          const functor = T.backwardFactory(o as T.BackwardFactoryOptions);
          return functor(undefined, (x: T.Tensor) => T.tanh(T.mul(x, 0.5)), z);
        },
        check: (out) => {
          const outs = out as T.Tensor[];
          expect(outs.length).toBeGreaterThan(0);
          for (const t of outs) expect(t.shape).toEqual([2, 3]);
        },
      };
    }
    case 10: { // getDeq + forward
      const o = Object.fromEntries([
        ['fSolver', arg(g, () => g.pick(['anderson', 'broyden', 'fixed_point_iter']))], ['fMaxIter', arg(g, () => g.pick([0, 3, 10]))],
        ['ift', arg(g, () => g.r() < 0.5)], ['grad', arg(g, () => g.pick([1, 2]))], ['core', arg(g, () => g.pick(['sliced', 'indexing', 'nope']))],
        ['fTol', arg(g, () => g.pick([1e-3, 1e-6]))], ['nope', 1],
      ].filter(() => g.r() < 0.3));
      const W = T.tensor(values(g, [3, 3]).map((v) => v * 0.2), [3, 3], { dtype: 'float64', requiresGrad: g.r() < 0.5 });
      const z0 = mk(g, [2, 3], 'float64');
      const evalMode = g.r() < 0.4;
      return {
        name: 'getDeq', inputs: [W, z0],
        run: async () => {
          const deq = T.getDeq(g.r() < 0.95 ? o as T.DEQOptions : g.pick(JUNK) as T.DEQOptions);
          if (evalMode) deq.eval();
          const r = await deq.forward((z: T.Tensor) => T.tanh(T.matmul(z, W)), z0);
          if (r.zOut.some((z) => z.requiresGrad)) {
            // Consume the graph (a graph's saved tensors live until its backward, or the GC).
            const loss = T.tidy(() => T.sum(T.stack(r.zOut.map((z) => T.sum(z)))));
            try { await loss.backward(); } finally { loss.dispose(); W.grad?.dispose(); W.grad = null; }
          }
          return [...r.zOut, ...Object.values(r.info)];
        },
        check: (out) => { for (const t of (out as T.Tensor[]).slice(0, 1)) expect(t.shape).toEqual([2, 3]); },
      };
    }
    default: { // safetensors: mutated files and views at odd offsets
      const a = mk(g, shape()), b = mk(g, shape(), 'float64');
      const bytes = T.saveSync({ a, b });
      const mutated = new Uint8Array(bytes.length + 7);
      const off = g.pick([0, 1, 3, 7]);
      mutated.set(bytes, off);
      let view = mutated.subarray(off, off + bytes.length);
      const corrupt = g.r() < 0.5;
      if (corrupt) {
        const i = Math.floor(g.r() * Math.min(view.length, 120));
        view[i] = Math.floor(g.r() * 256);
        if (g.r() < 0.3) view = view.subarray(0, Math.floor(g.r() * view.length));
      }
      return {
        name: 'loadSafetensors', inputs: [a, b],
        run: () => T.loadSafetensors(view),
        check: (out) => {
          const got = out as Record<string, T.Tensor>;
          if (!corrupt) {
            expect(Object.keys(got)).toEqual(['a', 'b']);
            expectSameValues(got.a, a, 'a');
            expectSameValues(got.b, b, 'b');
          }
        },
      };
    }
  }
}

/** Public names a case's errors may start with. */
const PREFIXES: Record<string, string[]> = {
  getDeq: ['getDeq', 'deq.forward', 'backwardFactory', 'getSolver', 'anderson', 'broyden', 'fixed_point_iter', 'DEQ'],
  backwardFactory: ['backwardFactory', 'getSolver', 'iftGrad', 'phantomGrad', 'anderson', 'fixed_point_iter'],
  softmax: ['softmax', 'max', 'sub'], logSoftmax: ['logSoftmax', 'max', 'sub'],
  broadcastTo: ['broadcastTo'], mean: ['mean', 'sum'],
};

describe('fuzz: a clear Error or a correct result; nothing leaked, nothing mutated, still working', () => {
  beforeAll(async () => { await T.init(); });

  it(`3000 seeded cases (seed ${SEED})`, async () => {
    const r = rng(SEED);
    const g: Ctx = { r, pick: (xs) => xs[Math.floor(r() * xs.length)] };
    let errors = 0, results = 0;
    for (let k = 0; k < 3000; k++) {
      const before = T.memory().numTensors;
      const c = makeCase(g, k);
      const snaps = c.inputs.map((t) => Array.from(t.dataSync()));
      let out: unknown, err: unknown = null;
      try {
        out = c.run();
        if (out instanceof Promise) out = await out;
      } catch (e) {
        err = e;
      }
      const tag = `case ${k} (${c.name})`;
      if (err !== null) {
        errors++;
        expect(err, `${tag}: ${String(err)}`).toBeInstanceOf(Error);
        expect((err as Error).constructor, `${tag}: ${(err as Error).stack}`).toBe(Error);
        const names = PREFIXES[c.name] ?? [c.name];
        expect(names.some((n) => (err as Error).message.startsWith(n)), `${tag}: '${(err as Error).message}' should name ${names.join(' or ')}`).toBe(true);
      } else {
        results++;
        c.check?.(out);
      }
      c.inputs.forEach((t, i) => expect(Array.from(t.dataSync()), `${tag}: input ${i} changed`).toEqual(snaps[i]));
      const made = tensorsIn(out).filter((t) => !c.inputs.includes(t));
      for (const t of made) if (!t.isDisposed) t.dispose();
      for (const t of c.inputs) t.dispose();
      expect(T.memory().numTensors, `${tag}: leaked tensors (${err === null ? "result" : (err as Error).message}; inputs ${c.inputs.map((t) => `[${t.shape}]`).join(" ")})`).toBe(before);
    }
    // Both outcomes were exercised, and the library still computes.
    expect(errors).toBeGreaterThan(300);
    expect(results).toBeGreaterThan(1000);
    const y = T.tidy(() => Array.from(T.matmul(T.ones([2, 3]), T.full([3, 2], 2)).dataSync()));
    expect(y).toEqual([6, 6, 6, 6]);
  });
});
