/**
 * Region ops: slice, sliceAxis, concat, stack, pad (both padding forms).
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { defineOpSuite, type OpCase } from './helpers/opcase.js';
import { Nd } from './helpers/ref.js';

/** x[begin : begin + size] per axis (begin/size already resolved). */
const sliceRef = (x: Nd, begin: number[], size: number[]): Nd =>
  Nd.fromFn(size, (i) => x.at(i.map((v, a) => v + begin[a])));

/** Joins along `axis` by locating each output index in one of the parts. */
function concatRef(parts: Nd[], axis: number): Nd {
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
  return Nd.fromFn(shape, (i) => {
    let k = i[axis];
    for (const p of parts) {
      if (k < p.shape[axis]) return p.at(i.map((v, a) => (a === axis ? k : v)));
      k -= p.shape[axis];
    }
    throw new Error('concatRef: index out of range');
  });
}

/** Constant padding with [before, after] per axis from the first axis. */
const padRef = (x: Nd, pairs: [number, number][], value: number): Nd =>
  Nd.fromFn(x.shape.map((d, a) => d + pairs[a][0] + pairs[a][1]), (i) => {
    const j = i.map((v, a) => v - pairs[a][0]);
    return j.every((v, a) => v >= 0 && v < x.shape[a]) ? x.at(j) : value;
  });

const SLICE: OpCase[] = [
  { name: 'slice [3,17] begin [1,2] size [2,-1]', inputs: [{ shape: [3, 17] }], fn: (x) => x.slice([1, 2], [2, -1]), ref: (x) => sliceRef(x, [1, 2], [2, 15]), doubleBackward: true },
  { name: 'slice [100] negative begin -33', inputs: [{ shape: [100] }], fn: (x) => T.slice(x, -33), ref: (x) => sliceRef(x, [67], [33]) },
  { name: 'slice [2,17,3] leading axis only', inputs: [{ shape: [2, 17, 3] }], fn: (x) => T.slice(x, [1], [1]), ref: (x) => sliceRef(x, [1, 0, 0], [1, 17, 3]) },
  { name: 'slice [3,33] empty block', inputs: [{ shape: [3, 33] }], fn: (x) => T.slice(x, [0, 5], [3, 0]), ref: (x) => sliceRef(x, [0, 5], [3, 0]) },
  { name: 'sliceAxis [3,17] axis -1 [2:-3]', inputs: [{ shape: [3, 17] }], fn: (x) => T.sliceAxis(x, -1, 2, -3), ref: (x) => sliceRef(x, [0, 2], [3, 12]) },
  { name: 'sliceAxis [33,3] axis 0 clamped [-100:5]', inputs: [{ shape: [33, 3] }], fn: (x) => T.sliceAxis(x, 0, -100, 5), ref: (x) => sliceRef(x, [0, 0], [5, 3]) },
  { name: 'sliceAxis [17,1] axis 0 [10:]', inputs: [{ shape: [17, 1] }], fn: (x) => T.sliceAxis(x, 0, 10), ref: (x) => sliceRef(x, [10, 0], [7, 1]) },
];

const JOIN: OpCase[] = [
  { name: 'concat axis 0 [2,17]+[1,17]+[3,17]', inputs: [{ shape: [2, 17] }, { shape: [1, 17] }, { shape: [3, 17] }], fn: (a, b, c) => T.concat([a, b, c], 0), ref: (a, b, c) => concatRef([a, b, c], 0), doubleBackward: true },
  { name: 'concat axis -1 [3,1]+[3,33]', inputs: [{ shape: [3, 1] }, { shape: [3, 33] }], fn: (a, b) => T.concat([a, b], -1), ref: (a, b) => concatRef([a, b], 1) },
  { name: 'concat axis 1 of rank 3 [2,3,5]+[2,17,5]', inputs: [{ shape: [2, 3, 5] }, { shape: [2, 17, 5] }], fn: (a, b) => T.concat([a, b], 1), ref: (a, b) => concatRef([a, b], 1) },
  { name: 'concat with a constant part [100]+[3]', inputs: [{ shape: [100] }, { shape: [3], grad: false }], fn: (a, b) => T.concat([a, b]), ref: (a, b) => concatRef([a, b], 0) },
  { name: 'stack axis 0 of three [17]', inputs: [{ shape: [17] }, { shape: [17] }, { shape: [17] }], fn: (a, b, c) => T.stack([a, b, c]), ref: (a, b, c) => concatRef([a, b, c].map((p) => new Nd([1, ...p.shape], p.data)), 0) },
  { name: 'stack axis -1 of two [3,5]', inputs: [{ shape: [3, 5] }, { shape: [3, 5] }], fn: (a, b) => T.stack([a, b], -1), ref: (a, b) => concatRef([a, b].map((p) => new Nd([...p.shape, 1], p.data)), 2) },
  { name: 'stack of rank-0', inputs: [{ shape: [] }, { shape: [] }], fn: (a, b) => T.stack([a, b]), ref: (a, b) => new Nd([2], [a.data[0], b.data[0]]) },
];

const PAD: OpCase[] = [
  { name: 'pad torch form [1,2] on [3,17]', inputs: [{ shape: [3, 17] }], fn: (x) => x.pad([1, 2]), ref: (x) => padRef(x, [[0, 0], [1, 2]], 0), doubleBackward: true },
  { name: 'pad torch form [1,1,2,0] on [2,3,5] value -1.5', inputs: [{ shape: [2, 3, 5] }], fn: (x) => T.pad(x, [1, 1, 2, 0], { value: -1.5 }), ref: (x) => padRef(x, [[0, 0], [2, 0], [1, 1]], -1.5) },
  { name: 'pad pair form [[3,0],[0,1]] on [17,3]', inputs: [{ shape: [17, 3] }], fn: (x) => T.pad(x, [[3, 0], [0, 1]]), ref: (x) => padRef(x, [[3, 0], [0, 1]], 0) },
  { name: 'pad pair form first axis only on [1,33] value 2', inputs: [{ shape: [1, 33] }], fn: (x) => T.pad(x, [[2, 2]], { value: 2 }), ref: (x) => padRef(x, [[2, 2], [0, 0]], 2) },
  { name: 'pad nothing on [100]', inputs: [{ shape: [100] }], fn: (x) => T.pad(x, []), ref: (x) => x },
];

defineOpSuite('slice', SLICE);
defineOpSuite('concat and stack', JOIN);
defineOpSuite('pad', PAD);

describe('region ops: hand-checked values', () => {
  it('slice, pad and concat on a small matrix', () => {
    const x = T.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(x.slice([0, 1], [-1, 2]).toArray()).toEqual([[2, 3], [5, 6]]);
    expect(x.pad([1, 0]).toArray()).toEqual([[0, 1, 2, 3], [0, 4, 5, 6]]);
    expect(T.pad(x, [[1, 0]], { value: 9 }).toArray()).toEqual([[9, 9, 9], [1, 2, 3], [4, 5, 6]]);
    expect(T.concat([x, x], 1).toArray()).toEqual([[1, 2, 3, 1, 2, 3], [4, 5, 6, 4, 5, 6]]);
    expect(T.stack([x, x], 1).shape).toEqual([2, 2, 3]);
  });

  it('the gradient of a slice is the gradient padded with zeros, and the reverse', async () => {
    const x = T.tensor([1, 2, 3, 4], undefined, { dtype: 'float64', requiresGrad: true });
    const [g] = await T.grad(T.sliceAxis(x, 0, 1, 3).mul(T.tensor([10, 20], undefined, { dtype: 'float64' })).sum(), x);
    expect(g!.toArray()).toEqual([0, 10, 20, 0]);
    const [h] = await T.grad(x.pad([1, 1], { value: 5 }).mul(T.arange(6, undefined, 1, { dtype: 'float64' })).sum(), x);
    expect(h!.toArray()).toEqual([1, 2, 3, 4]);
  });

  it('concat routes gradients only to inputs that require them', async () => {
    const a = T.tensor([1, 2], undefined, { dtype: 'float64', requiresGrad: true });
    const b = T.tensor([3], undefined, { dtype: 'float64' });
    const [g] = await T.grad(T.concat([a, b]).mul(T.tensor([4, 5, 6], undefined, { dtype: 'float64' })).sum(), a);
    expect(g!.toArray()).toEqual([4, 5]);
  });
});
