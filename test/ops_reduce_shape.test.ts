/**
 * Reductions (sum, mean, max, min, argmax, argmin over axes, keepDims) and shape ops
 * (reshape, flatten, squeeze, unsqueeze, permute, transpose, broadcastTo).
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { defineOpSuite, type OpCase } from './helpers/opcase.js';
import { Nd, bAt, reduceRef } from './helpers/ref.js';

const total = (v: number[]): number => v.reduce((a, b) => a + b, 0);
const argOf = (better: (a: number, b: number) => boolean) => (v: number[]): number => {
  let bi = 0;
  for (let i = 1; i < v.length; i++) if (better(v[i], v[bi])) bi = i;
  return bi;
};

const red = (name: string, shape: number[], fn: (x: T.Tensor) => T.Tensor, axes: number[] | undefined, keep: boolean,
  f: (v: number[]) => number, extra: Partial<OpCase> = {}): OpCase =>
  ({ name, inputs: [{ shape }], fn, ref: (x) => reduceRef(x, axes, keep, f), ...extra });

const REDUCE: OpCase[] = [
  red('sum all [3,17,5]', [3, 17, 5], (x) => x.sum(), undefined, false, total, { doubleBackward: true }),
  red('sum axis 1 [3,17,5]', [3, 17, 5], (x) => x.sum(1), [1], false, total),
  red('sum axes [0,2] keepDims [3,17,5]', [3, 17, 5], (x) => x.sum([0, 2], { keepDims: true }), [0, 2], true, total),
  red('sum axis -1 [100]', [100], (x) => x.sum(-1), [0], false, total),
  red('sum rank-0', [], (x) => x.sum(), undefined, false, total),
  red('mean axis 0 [33,3]', [33, 3], (x) => x.mean(0), [0], false, (v) => total(v) / v.length, { doubleBackward: true }),
  red('mean all keepDims [1,17]', [1, 17], (x) => x.mean(undefined, { keepDims: true }), undefined, true, (v) => total(v) / v.length),
  red('max axis -1 [3,33]', [3, 33], (x) => x.max(-1), [1], false, (v) => Math.max(...v)),
  red('max all [100]', [100], (x) => x.max(), undefined, false, (v) => Math.max(...v)),
  red('max axes [0,1] keepDims [3,17,1]', [3, 17, 1], (x) => x.max([0, 1], { keepDims: true }), [0, 1], true, (v) => Math.max(...v)),
  red('min axis 1 keepDims [17,3]', [17, 3], (x) => x.min(1, { keepDims: true }), [1], true, (v) => Math.min(...v)),
  red('min all [1]', [1], (x) => x.min(), undefined, false, (v) => Math.min(...v)),
  red('argmax axis -1 [17,33] (ties)', [17, 33], (x) => x.argmax(-1), [1], false, argOf((a, b) => a > b), { grad: false, inputs: [{ shape: [17, 33], gen: 'int' }] }),
  red('argmax axis 0 [100,3]', [100, 3], (x) => T.argmax(x, 0), [0], false, argOf((a, b) => a > b), { grad: false }),
  red('argmin axis 1 [3,17,5] (ties)', [3, 17, 5], (x) => T.argmin(x, 1), [1], false, argOf((a, b) => a < b), { grad: false, inputs: [{ shape: [3, 17, 5], gen: 'int' }] }),
];

/** Reference permute: out[i] = x[j] with j[perm[k]] = i[k]. */
function permuteRef(x: Nd, perm: number[]): Nd {
  return Nd.fromFn(perm.map((p) => x.shape[p]), (i) => {
    const j = new Array<number>(perm.length);
    perm.forEach((p, k) => { j[p] = i[k]; });
    return x.at(j);
  });
}

const relayout = (name: string, shape: number[], fn: (x: T.Tensor) => T.Tensor, outShape: number[]): OpCase =>
  ({ name, inputs: [{ shape }], fn, ref: (x) => new Nd(outShape, x.data) });

const SHAPE: OpCase[] = [
  relayout('reshape [3,17,2] -> [6,-1]', [3, 17, 2], (x) => x.reshape([6, -1]), [6, 17]),
  relayout('reshape [100] -> [1,100,1]', [100], (x) => T.reshape(x, [1, 100, 1]), [1, 100, 1]),
  relayout('flatten(1) [2,3,17]', [2, 3, 17], (x) => x.flatten(1), [2, 51]),
  relayout('flatten all [3,1,33]', [3, 1, 33], (x) => T.flatten(x), [99]),
  relayout('squeeze all [1,17,1]', [1, 17, 1], (x) => x.squeeze(), [17]),
  relayout('squeeze(-1) [3,1]', [3, 1], (x) => x.squeeze(-1), [3]),
  relayout('unsqueeze(1) [3,17]', [3, 17], (x) => x.unsqueeze(1), [3, 1, 17]),
  relayout('unsqueeze(-1) rank-0', [], (x) => T.unsqueeze(x, -1), [1]),
  { name: 'permute [2,0,1] of [3,17,5]', inputs: [{ shape: [3, 17, 5] }], fn: (x) => x.permute([2, 0, 1]), ref: (x) => permuteRef(x, [2, 0, 1]), doubleBackward: true },
  { name: 'permute [-1,1,0] of [1,33,3]', inputs: [{ shape: [1, 33, 3] }], fn: (x) => T.permute(x, [-1, 1, 0]), ref: (x) => permuteRef(x, [2, 1, 0]) },
  { name: 'transpose default [17,33]', inputs: [{ shape: [17, 33] }], fn: (x) => x.transpose(), ref: (x) => permuteRef(x, [1, 0]) },
  { name: 'transpose(0,2) [2,3,17]', inputs: [{ shape: [2, 3, 17] }], fn: (x) => T.transpose(x, 0, 2), ref: (x) => permuteRef(x, [2, 1, 0]) },
  { name: 'transpose of a vector [17]', inputs: [{ shape: [17] }], fn: (x) => x.transpose(), ref: (x) => x },
  { name: 'broadcastTo [3,1] -> [2,3,33]', inputs: [{ shape: [3, 1] }], fn: (x) => x.broadcastTo([2, 3, 33]), ref: (x) => Nd.fromFn([2, 3, 33], (i) => bAt(x, i)), doubleBackward: true },
  { name: 'broadcastTo [] -> [100]', inputs: [{ shape: [] }], fn: (x) => T.broadcastTo(x, [100]), ref: (x) => Nd.fromFn([100], (i) => bAt(x, i)) },
];

defineOpSuite('reductions', REDUCE);
defineOpSuite('shape ops', SHAPE);

describe('reductions and shape ops: hand-checked semantics', () => {
  it('max/min share the gradient evenly among tied extremes', async () => {
    const x = T.tensor([[3, 1, 3], [0, 2, 1]], undefined, { dtype: 'float64', requiresGrad: true });
    const [g] = await T.grad(x.max(1).sum(), x);
    expect(g!.toArray()).toEqual([[0.5, 0, 0.5], [0, 1, 0]]);
    const [h] = await T.grad(x.min(), x);
    expect(h!.toArray()).toEqual([[0, 0, 0], [1, 0, 0]]);
  });

  it('argmax returns the first maximal index, argmin the first minimal one', () => {
    const x = T.tensor([[1, 5, 5, 0], [2, 2, -1, -1]]);
    expect(x.argmax(1).toArray()).toEqual([1, 0]);
    expect(T.argmin(x, 1).toArray()).toEqual([3, 2]);
    expect(T.argmax(x, 0).toArray()).toEqual([1, 0, 0, 0]);
  });

  it('max propagates NaN like torch', () => {
    const x = T.tensor([1, NaN, 3]);
    expect(Number.isNaN(x.max().item())).toBe(true);
  });

  it('reshape shares storage; permute and broadcastTo make copies; none mutates its input', () => {
    const x = T.tensor([[1, 2, 3], [4, 5, 6]]);
    const r = x.reshape([3, 2]);
    expect(r.storage).toBe(x.storage);
    const p = x.permute([1, 0]);
    expect(p.storage).not.toBe(x.storage);
    expect(p.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(x.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
});
