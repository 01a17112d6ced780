/**
 * Neural-network functions: softmax, logSoftmax, crossEntropy, mseLoss, layerNorm,
 * groupNorm, dropout.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Rng } from '../src/random.js';
import { defineOpSuite, type OpCase } from './helpers/opcase.js';
import { Nd, forEachIdx } from './helpers/ref.js';

/** Applies f to every 1-D fiber of x along `axis` and writes the results back in place. */
function alongAxis(x: Nd, axis: number, f: (fiber: number[]) => number[]): Nd {
  const out = x.data.slice();
  const rest = x.shape.map((d, a) => (a === axis ? 1 : d));
  const flat = (idx: number[]): number => idx.reduce((acc, v, a) => acc * x.shape[a] + v, 0);
  forEachIdx(rest, (base) => {
    const at = (k: number): number[] => base.map((v, a) => (a === axis ? k : v));
    const fiber = Array.from({ length: x.shape[axis] }, (_, k) => x.at(at(k)));
    f(fiber).forEach((v, k) => { out[flat(at(k))] = v; });
  });
  return new Nd([...x.shape], out);
}

const softmaxRef = (v: number[]): number[] => {
  const m = Math.max(...v), e = v.map((t) => Math.exp(t - m)), s = e.reduce((a, b) => a + b, 0);
  return e.map((t) => t / s);
};
const logSoftmaxRef = (v: number[]): number[] => {
  const m = Math.max(...v), lse = m + Math.log(v.reduce((a, t) => a + Math.exp(t - m), 0));
  return v.map((t) => t - lse);
};

const SOFTMAX: OpCase[] = [
  { name: 'softmax last axis [3,17]', inputs: [{ shape: [3, 17] }], fn: (x) => x.softmax(), ref: (x) => alongAxis(x, 1, softmaxRef), doubleBackward: true },
  { name: 'softmax axis 0 [33,3] wide logits', inputs: [{ shape: [33, 3], gen: 'wide' }], fn: (x) => T.softmax(x, 0), ref: (x) => alongAxis(x, 0, softmaxRef) },
  { name: 'softmax axis 1 [2,5,3]', inputs: [{ shape: [2, 5, 3] }], fn: (x) => T.softmax(x, 1), ref: (x) => alongAxis(x, 1, softmaxRef) },
  { name: 'softmax of one element [1]', inputs: [{ shape: [1] }], fn: (x) => T.softmax(x), ref: (x) => x.map(() => 1) },
  { name: 'logSoftmax last axis [17,3]', inputs: [{ shape: [17, 3] }], fn: (x) => x.logSoftmax(), ref: (x) => alongAxis(x, 1, logSoftmaxRef), doubleBackward: true },
  { name: 'logSoftmax [100] wide logits', inputs: [{ shape: [100], gen: 'wide' }], fn: (x) => T.logSoftmax(x), ref: (x) => alongAxis(x, 0, logSoftmaxRef) },
  { name: 'logSoftmax axis -2 [3,33,2]', inputs: [{ shape: [3, 33, 2] }], fn: (x) => T.logSoftmax(x, -2), ref: (x) => alongAxis(x, 1, logSoftmaxRef) },
];

// ---- losses ----

const TARGETS_17 = Array.from({ length: 17 }, (_, i) => (i * 7) % 5);

/** Per-row cross entropy -sum_c q_c log softmax(x)_c for logits rows and target rows q. */
function ceRows(x: Nd, q: (row: number, c: number) => number, eps: number): number[] {
  const [n, C] = x.shape;
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    const lp = logSoftmaxRef(x.data.slice(r * C, (r + 1) * C));
    out.push(-lp.reduce((s, v, c) => s + ((1 - eps) * q(r, c) + eps / C) * v, 0));
  }
  return out;
}
const meanOf = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const sumOf = (v: number[]): number => v.reduce((a, b) => a + b, 0);
const oneHot = (t: number[]) => (r: number, c: number): number => (t[r] === c ? 1 : 0);

/** Spatial logits (N, C, H, W) with index targets (N, H, W), per position (reference loops). */
function ceSpatial(x: Nd, t: number[]): Nd {
  const [n, C, h, w] = x.shape;
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const lp = logSoftmaxRef(Array.from({ length: C }, (_, c) => x.at([b, c, i, j])));
        out.push(-lp[t[(b * h + i) * w + j]]);
      }
    }
  }
  return new Nd([n, h, w], out);
}
const SPATIAL_T = Array.from({ length: 2 * 5 * 4 }, (_, i) => (i * 5 + 1) % 3);

const LOSS: OpCase[] = [
  { name: 'crossEntropy number[] targets, mean [17,5]', inputs: [{ shape: [17, 5] }], fn: (x) => T.crossEntropy(x, TARGETS_17), ref: (x) => new Nd([], [meanOf(ceRows(x, oneHot(TARGETS_17), 0))]), doubleBackward: true },
  { name: 'crossEntropy Tensor targets, sum [17,5]', inputs: [{ shape: [17, 5], gen: 'wide' }], fn: (x) => T.crossEntropy(x, T.tensor(TARGETS_17, undefined, { dtype: x.dtype, backend: x.backend }), { reduction: 'sum' }), ref: (x) => new Nd([], [sumOf(ceRows(x, oneHot(TARGETS_17), 0))]) },
  { name: 'crossEntropy label smoothing 0.1, none [17,5]', inputs: [{ shape: [17, 5] }], fn: (x) => T.crossEntropy(x, TARGETS_17, { reduction: 'none', labelSmoothing: 0.1 }), ref: (x) => new Nd([17], ceRows(x, oneHot(TARGETS_17), 0.1)) },
  { name: 'crossEntropy probability targets (differentiable) [3,33]', inputs: [{ shape: [3, 33] }, { shape: [3, 33], gen: 'positive' }], fn: (x, q) => T.crossEntropy(x, q), ref: (x, q) => new Nd([], [meanOf(ceRows(x, (r, c) => q.at([r, c]), 0))]) },
  { name: 'crossEntropy probability targets + smoothing 0.2, sum [3,17]', inputs: [{ shape: [3, 17] }, { shape: [3, 17], gen: 'positive' }], fn: (x, q) => T.crossEntropy(x, q, { labelSmoothing: 0.2, reduction: 'sum' }), ref: (x, q) => new Nd([], [sumOf(ceRows(x, (r, c) => q.at([r, c]), 0.2))]) },
  { name: 'crossEntropy unbatched (C) with a rank-0 target', inputs: [{ shape: [17] }], fn: (x) => T.crossEntropy(x, T.tensor(3, [], { dtype: x.dtype, backend: x.backend })), ref: (x) => new Nd([], ceRows(new Nd([1, 17], x.data), oneHot([3]), 0)) },
  { name: 'crossEntropy spatial (N,C,H,W)=(2,3,5,4), none', inputs: [{ shape: [2, 3, 5, 4] }], fn: (x) => T.crossEntropy(x, T.tensor(SPATIAL_T, [2, 5, 4], { dtype: x.dtype, backend: x.backend }), { reduction: 'none' }), ref: (x) => ceSpatial(x, SPATIAL_T) },
  { name: 'mseLoss mean [3,17]', inputs: [{ shape: [3, 17] }, { shape: [3, 17] }], fn: (a, b) => T.mseLoss(a, b), ref: (a, b) => new Nd([], [meanOf(a.data.map((v, i) => (v - b.data[i]) ** 2))]), doubleBackward: true },
  { name: 'mseLoss sum [100]', inputs: [{ shape: [100] }, { shape: [100], grad: false }], fn: (a, b) => T.mseLoss(a, b, { reduction: 'sum' }), ref: (a, b) => new Nd([], [sumOf(a.data.map((v, i) => (v - b.data[i]) ** 2))]) },
  { name: 'mseLoss none [1,33]', inputs: [{ shape: [1, 33] }, { shape: [1, 33] }], fn: (a, b) => T.mseLoss(a, b, { reduction: 'none' }), ref: (a, b) => new Nd([1, 33], a.data.map((v, i) => (v - b.data[i]) ** 2)) },
];

// ---- normalisation ----

/** Standardises x over its last `k` axes, then applies per-element weight/bias of those axes. */
function layerNormRef(x: Nd, k: number, w?: Nd, b?: Nd, eps = 1e-5): Nd {
  const inner = x.shape.slice(x.shape.length - k).reduce((a, c) => a * c, 1);
  const out: number[] = [];
  for (let s = 0; s < x.size; s += inner) {
    const v = x.data.slice(s, s + inner);
    const mu = meanOf(v), varb = meanOf(v.map((t) => (t - mu) ** 2));
    v.forEach((t, i) => out.push(((t - mu) / Math.sqrt(varb + eps)) * (w ? w.data[i] : 1) + (b ? b.data[i] : 0)));
  }
  return new Nd([...x.shape], out);
}

function groupNormRef(x: Nd, G: number, w?: Nd, b?: Nd, eps = 1e-5): Nd {
  const [n, C] = x.shape;
  const hw = x.size / (n * C), per = (C / G) * hw;
  const out: number[] = [];
  for (let s = 0; s < x.size; s += per) {
    const v = x.data.slice(s, s + per);
    const mu = meanOf(v), varb = meanOf(v.map((t) => (t - mu) ** 2));
    const g = (s / per) % G;
    v.forEach((t, i) => {
      const c = g * (C / G) + Math.floor(i / hw);
      out.push(((t - mu) / Math.sqrt(varb + eps)) * (w ? w.data[c] : 1) + (b ? b.data[c] : 0));
    });
  }
  return new Nd([...x.shape], out);
}

const NORM: OpCase[] = [
  { name: 'layerNorm [3,17] over [17] with weight and bias', inputs: [{ shape: [3, 17] }, { shape: [17] }, { shape: [17] }], fn: (x, w, b) => T.layerNorm(x, [17], w, b), ref: (x, w, b) => layerNormRef(x, 1, w, b), doubleBackward: true },
  { name: 'layerNorm [2,3,5] over [3,5] without affine', inputs: [{ shape: [2, 3, 5] }], fn: (x) => T.layerNorm(x, [3, 5]), ref: (x) => layerNormRef(x, 2) },
  { name: 'layerNorm [100] over 100, eps 0.1, weight only', inputs: [{ shape: [100] }, { shape: [100] }], fn: (x, w) => T.layerNorm(x, 100, w, null, 0.1), ref: (x, w) => layerNormRef(x, 1, w, undefined, 0.1) },
  { name: 'groupNorm [2,6,5] 3 groups with weight and bias', inputs: [{ shape: [2, 6, 5] }, { shape: [6] }, { shape: [6] }], fn: (x, w, b) => T.groupNorm(x, 3, w, b), ref: (x, w, b) => groupNormRef(x, 3, w, b), doubleBackward: true },
  { name: 'groupNorm [2,4,3,3] 2 groups', inputs: [{ shape: [2, 4, 3, 3] }], fn: (x) => T.groupNorm(x, 2), ref: (x) => groupNormRef(x, 2) },
  { name: 'groupNorm [3,17] one group, bias only', inputs: [{ shape: [3, 17] }, { shape: [17] }], fn: (x, b) => T.groupNorm(x, 1, null, b), ref: (x, b) => groupNormRef(x, 1, undefined, b) },
  { name: 'groupNorm [1,3,33] per-channel groups', inputs: [{ shape: [1, 3, 33] }], fn: (x) => T.groupNorm(x, 3), ref: (x) => groupNormRef(x, 3) },
];

// ---- dropout (the mask is specified by the Rng stream: element i is dropped iff the i-th uniform < p) ----

const dropoutRef = (x: Nd, p: number, seed: number): Nd => {
  const rng = new Rng(seed);
  return x.map((v) => (rng.uniform() < p ? 0 : v / (1 - p)));
};

const DROPOUT: OpCase[] = [
  { name: 'dropout p=0.25 seed 5 [3,33]', inputs: [{ shape: [3, 33] }], fn: (x) => T.dropout(x, 0.25, { seed: 5 }), ref: (x) => dropoutRef(x, 0.25, 5), doubleBackward: true },
  { name: 'dropout p=0.9 seed 1 [100]', inputs: [{ shape: [100] }], fn: (x) => x.dropout(0.9, { seed: 1 }), ref: (x) => dropoutRef(x, 0.9, 1) },
  { name: 'dropout in eval mode is the identity [17]', inputs: [{ shape: [17] }], fn: (x) => T.dropout(x, 0.5, { training: false }), ref: (x) => x },
];

defineOpSuite('softmax', SOFTMAX);
defineOpSuite('losses', LOSS);
defineOpSuite('normalisation', NORM);
defineOpSuite('dropout', DROPOUT);

describe('nn functions: hand-checked semantics', () => {
  it('softmax and logSoftmax stay finite for huge logits', () => {
    const x = T.tensor([1000, 0, -1000], undefined, { dtype: 'float64' });
    expect(x.softmax().toArray()).toEqual([1, 0, 0]);
    const ls = x.logSoftmax().toArray() as number[];
    expect(ls[0]).toBe(0);
    expect(ls[1]).toBe(-1000);
    expect(ls[2]).toBe(-2000);
  });

  it('crossEntropy of uniform logits is log C; label smoothing of perfect logits matches torch by hand', () => {
    expect(T.crossEntropy(T.zeros([4, 10], { dtype: 'float64' }), [0, 1, 2, 9]).item()).toBeCloseTo(Math.log(10), 14);
    // logits [0, 0, log 2] -> p = [1/4, 1/4, 1/2]; target 2 with smoothing 0.3: q = [0.1, 0.1, 0.8].
    const x = T.tensor([[0, 0, Math.log(2)]], undefined, { dtype: 'float64' });
    const want = -(0.1 * Math.log(0.25) * 2 + 0.8 * Math.log(0.5));
    expect(T.crossEntropy(x, [2], { labelSmoothing: 0.3 }).item()).toBeCloseTo(want, 14);
  });

  it('crossEntropy gradient is softmax - onehot over N (mean)', async () => {
    const x = T.tensor([[1, 2, 3], [0, 0, 0]], undefined, { dtype: 'float64', requiresGrad: true });
    const [g] = await T.grad(T.crossEntropy(x, [2, 0]), x);
    const p = softmaxRef([1, 2, 3]);
    const gv = g!.toArray() as number[][];
    expect(gv[0][0]).toBeCloseTo(p[0] / 2, 15);
    expect(gv[0][2]).toBeCloseTo((p[2] - 1) / 2, 15);
    expect(gv[1][0]).toBeCloseTo((1 / 3 - 1) / 2, 15);
  });

  it('layerNorm output has zero mean and unit (biased) variance per row', () => {
    const y = T.layerNorm(T.randn([4, 33], { dtype: 'float64', seed: 9 }), [33], null, null, 0);
    const rows = y.toArray() as number[][];
    for (const r of rows) {
      expect(meanOf(r)).toBeCloseTo(0, 13);
      expect(meanOf(r.map((v) => v * v))).toBeCloseTo(1, 12);
    }
  });

  it('dropout is deterministic with a seed, drops about p of the elements and rescales the rest', async () => {
    const x = T.ones([20000], { dtype: 'float64', requiresGrad: true });
    const a = T.dropout(x, 0.3, { seed: 42 }), b = T.dropout(x, 0.3, { seed: 42 }), c = T.dropout(x, 0.3, { seed: 43 });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    const v = Array.from(a.dataSync());
    const dropped = v.filter((t) => t === 0).length;
    // Binomial(20000, 0.3): mean 6000, sd ~65; allow 5 sd.
    expect(Math.abs(dropped - 6000)).toBeLessThan(325);
    expect(v.every((t) => t === 0 || Math.abs(t - 1 / 0.7) < 1e-15)).toBe(true);
    const [g] = await T.grad(a.sum(), x);
    expect(Array.from(g!.dataSync())).toEqual(v);
    expect(T.dropout(x, 1, { seed: 1 }).sum().item()).toBe(0);
    expect(Array.from(T.dropout(x, 0).dataSync())).toEqual(Array.from(x.dataSync()));
  });

  it('dropout without a seed follows manualSeed', () => {
    const x = T.ones([50]);
    T.manualSeed(7);
    const a = Array.from(T.dropout(x, 0.5).dataSync());
    T.manualSeed(7);
    expect(Array.from(T.dropout(x, 0.5).dataSync())).toEqual(a);
  });
});
