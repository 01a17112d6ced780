/**
 * `split` / `chunk` (torch semantics): pieces, sizes, dims, float64 finite-difference gradients
 * through every piece, the wasm backend, and errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { tensor, split, chunk, type Tensor } from '../src/index.js';
import { gradcheck } from './helpers/gradcheck.js';
import { throwsWith } from './helpers/throws.js';

beforeAll(async () => { await T.init(); T.setBackend('js'); });

const arr = (ts: Tensor[]): unknown[] => ts.map((t) => t.toArray());
const f64 = { dtype: 'float64' } as const;

describe('split and chunk', () => {
  it('split by size: equal pieces, the last smaller', () => {
    expect(arr(split(tensor([1, 2, 3, 4, 5]), 2))).toEqual([[1, 2], [3, 4], [5]]);
    expect(arr(split(tensor([1, 2, 3, 4]), 2))).toEqual([[1, 2], [3, 4]]);
    expect(arr(split(tensor([1, 2, 3]), 5))).toEqual([[1, 2, 3]]);
    expect(arr(tensor([1, 2, 3]).split(1))).toEqual([[1], [2], [3]]);
  });

  it('split by sections along a dim (negative dims count from the end)', () => {
    const x = tensor([[1, 2, 3, 4], [5, 6, 7, 8]]);
    expect(arr(split(x, [1, 3], 1))).toEqual([[[1], [5]], [[2, 3, 4], [6, 7, 8]]]);
    expect(arr(x.split([3, 0, 1], -1))).toEqual([[[1, 2, 3], [5, 6, 7]], [[], []], [[4], [8]]]);
    expect(split(x, [2], 0)[0].shape).toEqual([2, 4]);
  });

  it('chunk: ceil(n / chunks) per piece, fewer pieces when needed (torch)', () => {
    expect(arr(chunk(tensor([1, 2, 3, 4, 5]), 2))).toEqual([[1, 2, 3], [4, 5]]);
    expect(arr(chunk(tensor([1, 2, 3, 4, 5, 6]), 4))).toEqual([[1, 2], [3, 4], [5, 6]]); // torch gives 3
    expect(arr(chunk(tensor([1, 2]), 5))).toEqual([[1], [2]]);
    const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(arr(x.chunk(3, 1))).toEqual([[[1], [4], [7]], [[2], [5], [8]], [[3], [6], [9]]]);
    expect(chunk(T.zeros([0, 2]), 3).map((t) => t.shape)).toEqual([[0, 2]]);
  });

  it('pieces are differentiable (float64 finite differences, all pieces, several dims and sizes)', async () => {
    for (const [n, size, dim] of [[1, 1, 0], [3, 2, 0], [17, 5, 1], [33, 8, -1]] as const) {
      const shape = dim === 0 ? [n, 2] : [2, n];
      const x = tensor(Array.from({ length: 2 * n }, (_, i) => Math.sin(i)), shape, { ...f64, requiresGrad: true });
      await gradcheck((a) => T.concat(split(a, size, dim).map((p, i) => p.mul(i + 1).tanh()), dim), [x],
        { tol: { rtol: 1e-6, atol: 1e-8 }, label: `split n=${n}` });
      await gradcheck((a) => chunk(a, 3, dim)[0].square().sum(), [x], { tol: { rtol: 1e-6, atol: 1e-8 }, label: `chunk n=${n}` });
    }
  });

  it('matches on the wasm backend (awkward sizes)', () => {
    for (const n of [1, 3, 17, 33, 100]) {
      const v = Array.from({ length: n }, (_, i) => i * 0.5 - 3);
      const js = split(tensor(v, [n], f64), 7).map((t) => Array.from(t.dataSync()));
      const wasm = split(tensor(v, [n], f64).to('wasm'), 7);
      expect(wasm.every((t) => t.backend.name === 'wasm')).toBe(true);
      expect(wasm.map((t) => Array.from(t.dataSync()))).toEqual(js);
    }
  });

  it('errors name the function and argument', () => {
    const x = tensor([1, 2, 3]);
    throwsWith(() => split(x, 0), /^split: /, /splitSize/, /positive integer/, /0/);
    throwsWith(() => split(x, 1.5), /^split: /, /1\.5/);
    throwsWith(() => split(x, [1, 1]), /^split: /, /summing to 3/, /\[1,1\]/);
    throwsWith(() => split(x, [2, -1, 2]), /^split: /, /non-negative/);
    throwsWith(() => split(x, 1, 1), /^split: /, /axis/);
    throwsWith(() => split(x, 'a' as never), /^split: /, /string/);
    throwsWith(() => split(tensor(1), 1), /^split: /, /scalar/);
    throwsWith(() => chunk(x, 0), /^chunk: /, /chunks/, /positive integer/);
    throwsWith(() => chunk(3 as never, 1), /^chunk: /, /Tensor/);
  });
});
