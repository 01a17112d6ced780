/**
 * Elementwise ops: broadcasting binary arithmetic, unary functions, comparisons, where, cast.
 * Forward against plain-JS references (float32 and float64) on every backend, float64
 * gradchecks, double backward through the basic ops.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { defineOpSuite, type OpCase } from './helpers/opcase.js';
import { Nd, zip, bshape, bAt } from './helpers/ref.js';
import { gradcheck } from './helpers/gradcheck.js';
import { tolFor } from './helpers/tolerance.js';

/** erf by composite Simpson integration of 2/sqrt(pi) exp(-t^2) (reference only, ~1e-15). */
function erfRef(x: number): number {
  const a = Math.abs(x), n = 20000, h = a / n;
  let s = 1 + Math.exp(-a * a);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-(i * h) * (i * h));
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * (h / 3) * s;
}

const unary = (name: string, shape: number[], g: OpCase['inputs'][0]['gen'], fn: (x: T.Tensor) => T.Tensor,
  f: (v: number) => number, doubleBackward = false): OpCase =>
  ({ name, inputs: [{ shape, gen: g }], fn, ref: (x) => x.map(f), doubleBackward });

const binary = (name: string, sa: number[], sb: number[], ga: OpCase['inputs'][0]['gen'], gb: OpCase['inputs'][0]['gen'],
  fn: (a: T.Tensor, b: T.Tensor) => T.Tensor, f: (x: number, y: number) => number, doubleBackward = false): OpCase =>
  ({ name, inputs: [{ shape: sa, gen: ga }, { shape: sb, gen: gb }], fn, ref: (a, b) => zip(a, b, f), doubleBackward });

const BINARY: OpCase[] = [
  binary('add same shape [17]', [17], [17], 'normal', 'normal', T.add, (x, y) => x + y, true),
  binary('add broadcast [3,1]+[1,33]', [3, 1], [1, 33], 'normal', 'normal', T.add, (x, y) => x + y),
  binary('add rank-0 + [100]', [], [100], 'normal', 'normal', T.add, (x, y) => x + y),
  binary('sub broadcast [2,3,17]-[17]', [2, 3, 17], [17], 'normal', 'normal', T.sub, (x, y) => x - y, true),
  binary('sub [1]-[3]', [1], [3], 'normal', 'normal', T.sub, (x, y) => x - y),
  binary('mul broadcast [3,17]*[3,1]', [3, 17], [3, 1], 'normal', 'normal', T.mul, (x, y) => x * y, true),
  binary('mul [100]*[100]', [100], [100], 'normal', 'normal', T.mul, (x, y) => x * y),
  binary('div broadcast [17,3]/[3]', [17, 3], [3], 'normal', 'nonzero', T.div, (x, y) => x / y, true),
  binary('div [33]/[33]', [33], [33], 'normal', 'positive', T.div, (x, y) => x / y),
  binary('pow positive base [3,17]**[17]', [3, 17], [17], 'positive', 'normal', T.pow, Math.pow, true),
  binary('maximum broadcast [3,1]v[1,17]', [3, 1], [1, 17], 'normal', 'normal', T.maximum, Math.max, true),
  binary('minimum [100]v[100]', [100], [100], 'normal', 'normal', T.minimum, Math.min),
];

const SCALAR: OpCase[] = [
  unary('add(x, 2)', [17], 'normal', (x) => T.add(x, 2), (v) => v + 2),
  unary('sub(2, x)', [3, 3], 'normal', (x) => T.sub(2, x), (v) => 2 - v),
  unary('mul(x, -3)', [33], 'normal', (x) => x.mul(-3), (v) => -3 * v),
  unary('div(1, x)', [17], 'nonzero', (x) => T.div(1, x), (v) => 1 / v, true),
  unary('pow(x, 3)', [33], 'normal', (x) => x.pow(3), (v) => v ** 3, true),
  unary('pow(2, x)', [17], 'normal', (x) => T.pow(2, x), (v) => 2 ** v),
  unary('maximum(x, 0)', [100], 'nonzero', (x) => x.maximum(0), (v) => Math.max(v, 0)),
  unary('minimum(0.5, x)', [17], 'nonzero', (x) => T.minimum(0.5, x), (v) => Math.min(0.5, v)),
];

const UNARY: OpCase[] = [
  unary('neg', [3, 17], 'normal', T.neg, (v) => -v),
  unary('sqrt', [100], 'positive', T.sqrt, Math.sqrt, true),
  unary('exp', [3, 33], 'normal', T.exp, Math.exp, true),
  unary('log', [17], 'positive', T.log, Math.log, true),
  unary('abs', [100], 'nonzero', T.abs, Math.abs),
  unary('tanh', [100], 'wide', T.tanh, Math.tanh),
  unary('tanh (double backward)', [3, 17], 'normal', T.tanh, Math.tanh, true),
  unary('sigmoid', [100], 'wide', T.sigmoid, (v) => 1 / (1 + Math.exp(-v))),
  unary('sigmoid (double backward)', [17], 'normal', T.sigmoid, (v) => 1 / (1 + Math.exp(-v)), true),
  unary('relu', [100], 'nonzero', T.relu, (v) => (v > 0 ? v : 0), true),
  unary('gelu', [100], 'wide', T.gelu, (v) => 0.5 * v * (1 + erfRef(v / Math.SQRT2))),
  unary('gelu (small)', [33], 'normal', T.gelu, (v) => 0.5 * v * (1 + erfRef(v / Math.SQRT2)), true),
  unary('softplus', [100], 'wide', T.softplus, (v) => (v > 20 ? v : Math.log1p(Math.exp(v)))),
  unary('square', [1], 'normal', T.square, (v) => v * v, true),
  unary('sin', [17], 'normal', T.sin, Math.sin, true),
  unary('cos', [17], 'normal', T.cos, Math.cos),
];

const cmp = (name: string, fn: (a: T.Tensor, b: T.Tensor) => T.Tensor, f: (x: number, y: number) => boolean): OpCase =>
  ({ ...binary(name, [3, 17], [17], 'int', 'int', fn, (x, y) => (f(x, y) ? 1 : 0)), grad: false });

const COMPARE: OpCase[] = [
  cmp('equal', T.equal, (x, y) => x === y),
  cmp('notEqual', T.notEqual, (x, y) => x !== y),
  cmp('less', T.less, (x, y) => x < y),
  cmp('lessEqual', T.lessEqual, (x, y) => x <= y),
  cmp('greater', T.greater, (x, y) => x > y),
  cmp('greaterEqual', T.greaterEqual, (x, y) => x >= y),
  {
    name: 'where broadcast cond [3,1], a [1,17], b [17]',
    inputs: [{ shape: [3, 1], gen: 'int', grad: false }, { shape: [1, 17] }, { shape: [17] }],
    fn: (c, a, b) => T.where(c, a, b),
    ref: (c, a, b) => Nd.fromFn(bshape(bshape(c.shape, a.shape), b.shape), (i) => (bAt(c, i) !== 0 ? bAt(a, i) : bAt(b, i))),
    doubleBackward: true,
  },
];

defineOpSuite('binary arithmetic', BINARY);
defineOpSuite('arithmetic with numbers', SCALAR);
defineOpSuite('unary functions', UNARY);
defineOpSuite('comparisons and where', COMPARE);

describe('elementwise: hand-checked semantics', () => {
  it('maximum and minimum split the gradient evenly on ties, like torch', async () => {
    const a = T.tensor([1, 2, 5], undefined, { dtype: 'float64', requiresGrad: true });
    const b = T.tensor([1, 3, 4], undefined, { dtype: 'float64', requiresGrad: true });
    const [ga, gb] = await T.grad(T.maximum(a, b).sum(), [a, b]);
    expect(ga!.toArray()).toEqual([0.5, 0, 1]);
    expect(gb!.toArray()).toEqual([0.5, 1, 0]);
    const [ha, hb] = await T.grad(T.minimum(a, b).sum(), [a, b]);
    expect(ha!.toArray()).toEqual([0.5, 1, 0]);
    expect(hb!.toArray()).toEqual([0.5, 0, 1]);
  });

  it('relu and abs have derivative 0 at 0; sigmoid and softplus stay finite at extremes', async () => {
    const x = T.tensor([0, -800, 800], undefined, { dtype: 'float64', requiresGrad: true });
    const [gr] = await T.grad(x.relu().sum(), x);
    expect(gr!.toArray()).toEqual([0, 0, 1]);
    const [ga] = await T.grad(x.abs().sum(), x);
    expect(ga!.toArray()).toEqual([0, -1, 1]);
    expect(x.sigmoid().toArray()).toEqual([0.5, 0, 1]);
    expect(x.softplus().toArray()).toEqual([Math.LN2, 0, 800]);
  });

  it('where takes no gradient for the condition and routes the rest', async () => {
    const c = T.tensor([1, 0, 2], undefined, { dtype: 'float64' });
    const a = T.tensor([1, 2, 3], undefined, { dtype: 'float64', requiresGrad: true });
    const b = T.tensor([10, 20, 30], undefined, { dtype: 'float64', requiresGrad: true });
    const y = T.where(c, a, b);
    expect(y.toArray()).toEqual([1, 20, 3]);
    const [ga, gb] = await T.grad(y.mul(T.tensor([1, 2, 3], undefined, { dtype: 'float64' })).sum(), [a, b]);
    expect(ga!.toArray()).toEqual([1, 0, 3]);
    expect(gb!.toArray()).toEqual([0, 2, 0]);
  });

  it('cast converts values (float64 -> float32 rounds) and sends gradients back in the input dtype', async () => {
    const vals = [0.1, -1 / 3, 1e-8, 123456.789];
    const x64 = T.tensor(vals, undefined, { dtype: 'float64', requiresGrad: true });
    const x32 = x64.cast('float32');
    expect(x32.dtype).toBe('float32');
    expect(Array.from(x32.dataSync())).toEqual(vals.map(Math.fround));
    const back = x32.cast('float64');
    expect(Array.from(back.dataSync())).toEqual(vals.map(Math.fround));
    const [g] = await T.grad(back.mul(T.tensor([1, 2, 3, 4], undefined, { dtype: 'float64' })).sum(), x64);
    expect(g!.dtype).toBe('float64');
    expect(g!.toArray()).toEqual([1, 2, 3, 4]);
    const c = T.tensor([1, 2], undefined, { dtype: 'float64', requiresGrad: true });
    await gradcheck((t) => T.clone(t).mul(t), [c], { tol: tolFor('js', 'float64', 'grad') });
  });
});
