/**
 * Bad input to the core (tensor creation, backend selection, backward/grad) throws an Error whose
 * message names the function, what was expected and what was received.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { throwsWith, rejectsWith } from './helpers/throws.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('tensor creation', () => {
  it('bad shapes name the function, the expectation and what was received', () => {
    throwsWith(() => T.zeros([2, -1]), /^zeros: expected a shape \(array of non-negative integers\), received \[2,-1\]/);
    throwsWith(() => T.zeros([2.5]), /^zeros: expected a shape/, /received \[2\.5\]/);
    throwsWith(() => T.zeros(5 as Any), /^zeros: expected a shape/, /received number 5/);
    throwsWith(() => T.ones('ab' as Any), /^ones: expected a shape/, /received string "ab"/);
    throwsWith(() => T.full(null as Any, 1), /^full: expected a shape/, /received null/);
    throwsWith(() => T.randn([NaN]), /^randn: expected a shape/, /received \[NaN\]/);
    throwsWith(() => T.rand(undefined as Any), /^rand: expected a shape/, /received undefined/);
    throwsWith(() => T.eye(-2), /^eye: expected a shape/, /received \[-2,-2\]/);
    throwsWith(() => T.tensor([1, 2], 'x' as Any), /^tensor: expected a shape/, /received string "x"/);
  });

  it('data that does not fit the shape', () => {
    throwsWith(() => T.tensor([1, 2, 3], [2, 2]), /^tensor: shape \[2, 2\] needs 4 values, received 3/);
    throwsWith(() => T.tensor(new Float32Array(5), [2, 2]), /^tensor: shape \[2, 2\] needs 4 values, received 5/);
    throwsWith(() => T.tensor([[1, 2], [3, 4]], [3]), /^tensor: shape \[3\] needs 3 values, received 4/);
    throwsWith(() => T.tensor(7, [2]), /^tensor: a number makes one element, but shape \[2\] has 2/);
  });

  it('ragged nested arrays and non-numbers', () => {
    throwsWith(() => T.tensor([[1, 2], [3]]), /^tensor: ragged nested array: expected an array of length 2 at depth 1, received length 1/);
    throwsWith(() => T.tensor([[1, 2], 3] as Any), /^tensor: ragged nested array: expected an array of length 2 at depth 1, received number 3/);
    throwsWith(() => T.tensor([[[1], [2]], [[3], [4, 5]]]), /ragged nested array: expected an array of length 1 at depth 2, received length 2/);
    throwsWith(() => T.tensor([1, 'a'] as Any), /^tensor: expected a number at depth 1, received string "a"/);
    throwsWith(() => T.tensor([1, null] as Any), /^tensor: expected a number at depth 1, received null/);
    throwsWith(() => T.tensor([1, 'b'] as Any, [2]), /^tensor: expected a number at index 1, received string "b"/);
    throwsWith(() => T.tensor('abc' as Any), /^tensor: expected a number, an array or a typed array, received string "abc"/);
    throwsWith(() => T.tensor(undefined as Any), /^tensor: expected a number, an array or a typed array, received undefined/);
    throwsWith(() => T.tensor({ a: 1 } as Any), /^tensor: expected a number, an array or a typed array, received object/);
  });

  it('unknown or mistyped options list the valid ones', () => {
    throwsWith(() => T.tensor([1], undefined, { dtyp: 'float64' } as Any),
      /^tensor: unknown option 'dtyp'; valid options are 'dtype', 'requiresGrad', 'backend'/);
    throwsWith(() => T.zeros([2], { grad: true } as Any), /^zeros: unknown option 'grad'/);
    throwsWith(() => T.randn([2], { sd: 1 } as Any), /^randn: unknown option 'sd'; valid options are .*'seed', 'mean', 'std'/);
    throwsWith(() => T.rand([2], { min: 0 } as Any), /^rand: unknown option 'min'; valid options are .*'low', 'high'/);
    throwsWith(() => T.tensor([1], undefined, 'float64' as Any), /^tensor: expected an options object, received string "float64"/);
    throwsWith(() => T.ones([1], null as Any), /^ones: expected an options object, received null/);
    throwsWith(() => T.zeros([1], { requiresGrad: 'yes' } as Any), /^zeros: expected option 'requiresGrad' to be a boolean, received string "yes"/);
    throwsWith(() => T.zeros([1], { backend: 42 } as Any), /^zeros: expected option 'backend' to be a Backend object.*or a backend name, received number 42/);
    throwsWith(() => T.zeros([1], { backend: 'jss' }), /^zeros: unknown backend 'jss'; expected one of .*"js"/);
    throwsWith(() => T.randn([1], { seed: 'a' } as Any), /^randn: expected option 'seed' to be a finite number, received string "a"/);
    throwsWith(() => T.rand([1], { high: Infinity }), /^rand: expected option 'high' to be a finite number, received number Infinity/);
    throwsWith(() => T.arange(0, 5, 0), /^arange: expected a finite non-zero step, received number 0/);
    throwsWith(() => T.arange('5' as Any), /^arange: expected finite numbers for start and stop, received number 0 and string "5"/);
    throwsWith(() => T.full([2], 'x' as Any), /^full: expected a number value, received string/);
  });

  it('bad dtypes', () => {
    throwsWith(() => T.tensor([1], undefined, { dtype: 'int32' as Any }), /^tensor: expected dtype 'float32' or 'float64', received "int32"/);
    throwsWith(() => T.zeros([1], { dtype: 'float16' as Any }), /^zeros: expected dtype 'float32' or 'float64', received "float16"/);
    throwsWith(() => T.ones([1]).cast('bool' as Any), /^cast: expected dtype 'float32' or 'float64', received "bool"/);
  });

  it('good input still works after the checks (shape copied, not aliased)', () => {
    const shape = [2, 2];
    const z = T.zeros(shape);
    shape[0] = 9;
    expect(z.shape).toEqual([2, 2]);
    expect(T.tensor([1, 2, 3, 4], [2, 2]).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(T.arange(1, 4).toArray()).toEqual([1, 2, 3]);
  });
});

describe('backend selection', () => {
  it("setBackend('nope') lists the known backends", () => {
    throwsWith(() => T.setBackend('nope'), /^setBackend: unknown backend 'nope'; expected one of /, /"js"/, /"wasm"/);
    expect(T.getBackend().name).toBe('js');
  });

  it("setBackend('wasm') before init() says to call init first", () => {
    expect(T.listBackends()).not.toContain('wasm');
    throwsWith(() => T.setBackend('wasm'), /^setBackend: backend 'wasm' is not ready: call `await init\(\)` first/);
    expect(T.getBackend().name).toBe('js');
  });
});

describe('backward and grad', () => {
  const leaf = (v: number[]): Tensor => T.tensor(v, undefined, { requiresGrad: true });

  it('backward on a non-scalar without a gradient', async () => {
    await rejectsWith(leaf([1, 2, 3]).mul(2).backward(),
      /^backward: expected a scalar output or an explicit gradient, received an output of shape \[3\] and no gradient/);
  });

  it('backward on something that is not part of a graph', async () => {
    await rejectsWith(T.tensor([1]).sum().backward(), /^backward: expected output 0 to require grad, received a tensor that is not part of a graph \(shape \[\]\)/);
    await rejectsWith(T.noGrad(() => leaf([1]).sum()).backward(), /did you compute it inside noGrad/);
  });

  it('grad with respect to a tensor that does not require grad', async () => {
    const x = leaf([1, 2]);
    const c = T.tensor([3, 4]);
    await rejectsWith(T.grad(x.mul(c).sum(), [x, c]), /^grad: expected input 1 to require grad, received a tensor with requiresGrad false/);
  });

  it('gradients of the wrong shape or dtype', async () => {
    const x = leaf([1, 2]);
    const y = x.mul(2);
    await rejectsWith(y.backward(T.ones([3])), /^backward: expected gradient 0 of shape \[2\], received \[3\]/);
    await rejectsWith(y.backward(T.ones([2], { dtype: 'float64' })), /^backward: expected gradient 0 of dtype float32, received float64/);
    await rejectsWith(T.grad(y, x, { gradOutputs: [T.ones([2, 1])] }), /^grad: expected gradient 0 of shape \[2\], received \[2, 1\]/);
    await rejectsWith(T.grad(y, x, { gradOutputs: [T.ones([2]), T.ones([2])] }), /^grad: expected 1 gradOutputs \(one per output\), received 2/);
  });

  it('unknown options of backward, grad and vjp list the valid ones', async () => {
    const x = leaf([1]);
    await rejectsWith(x.sum().backward(undefined, { retain: true } as Any), /^backward: unknown option 'retain'; valid options are 'retainGraph', 'createGraph'/);
    await rejectsWith(T.grad(x.sum(), x, { allowunused: true } as Any), /^grad: unknown option 'allowunused'; valid options are 'gradOutputs', 'retainGraph', 'createGraph', 'allowUnused'/);
    throwsWith(() => T.vjp((z) => z, x, { create: true } as Any), /^vjp: unknown option 'create'; valid options are 'createGraph'/);
    throwsWith(() => T.customFunction({ forward: (_c: unknown, z: Tensor) => z, backward: () => [], extra: 1 } as Any),
      /^customFunction: unknown option 'extra'; valid options are 'name', 'forward', 'backward'/);
    throwsWith(() => T.customFunction({ forward: 1, backward: () => [] } as Any),
      /^customFunction: expected a spec with forward and backward functions, received forward: number, backward: function/);
  });

  it('ops name themselves and the argument for non-tensor arguments', () => {
    throwsWith(() => T.exp(3 as Any), /^exp: expected argument 'x' to be a Tensor, received number/);
    throwsWith(() => T.add(1, 2), /^add: expected at least one Tensor argument, received two numbers/);
    throwsWith(() => T.matmul(T.ones([2, 3]), T.ones([2, 3])), /^matmul: inner dimensions differ: \[2, 3\] @ \[2, 3\] \(3 vs 2\)/);
    throwsWith(() => T.ones([2]).add(T.ones([2], { dtype: 'float64' })), /^add: dtype mismatch: expected both tensors to have the same dtype, received float32 and float64/);
    throwsWith(() => T.ones([2, 3]).add(T.ones([4])), /^add: shapes \[2, 3\] and \[4\] cannot be broadcast together/);
    throwsWith(() => T.ones([2]).item(), /^item: expected a tensor with exactly 1 element, received shape \[2\]/);
  });
});
