/**
 * Error messages print what the caller passed faithfully: NaN, Infinity, -Infinity, undefined,
 * functions and tensors are shown as such (JSON.stringify would print NaN and Infinity as null).
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { fmtBytes, fmtCount, show } from '../src/utils/format.js';
import { rejectsWith, throwsWith } from './helpers/throws.js';

describe('show / fmtBytes / fmtCount', () => {
  it('keep the numbers JSON cannot hold and name everything else', () => {
    expect(show(NaN)).toBe('NaN');
    expect(show(-Infinity)).toBe('-Infinity');
    expect(show(-0)).toBe('-0');
    expect(show({ lr: Infinity, betas: [0.9, NaN] })).toBe('{"lr":Infinity,"betas":[0.9,NaN]}');
    expect(show(undefined)).toBe('undefined');
    expect(show(10n)).toBe('10n');
    expect(show(function foo() { return 1; })).toBe('a function foo');
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(show(cyc)).toBe('{"self":[circular]}');
    expect(show(new Map())).toBe('a Map');
    expect(show(T.tidy(() => T.zeros([2, 3])))).toMatch(/float32 Tensor of shape \[2, 3\]|disposed/);
  });
  it('print sizes past 2^53 in scientific notation and bytes with binary units', () => {
    expect(fmtCount(1e12)).toBe('1000000000000');
    expect(fmtCount(2 ** 53 + 2)).toBe('9.01e+15');
    expect(fmtBytes(512)).toBe('512 B');
    expect(fmtBytes(2 ** 31)).toBe('2.0 GiB');
    expect(fmtBytes(2 ** 30 - 16)).toBe('1.0 GiB');
    expect(fmtBytes(8e12)).toBe('7.3 TiB');
  });
});

describe('NaN and Infinity options are reported as NaN and Infinity', () => {
  const p = () => T.tensor([1, 2], [2], { requiresGrad: true });
  it('optimizers, clipping, layers', () => {
    throwsWith(() => new T.optim.Adam([p()], { lr: NaN }), /Adam/, /lr/, /received NaN/);
    throwsWith(() => new T.optim.SGD([p()], { lr: Infinity }), /SGD/, /lr/, /received Infinity/);
    throwsWith(() => new T.optim.Adam([p()], { betas: [0.9, NaN] }), /Adam/, /betas/, /received NaN/);
    throwsWith(() => T.optim.clipGradNorm([p()], NaN), /clipGradNorm/, /maxNorm/, /received NaN/);
    throwsWith(() => new T.nn.Linear(3, NaN), /Linear/, /received NaN/);
    throwsWith(() => new T.nn.Linear(Infinity, 3), /Linear/, /received Infinity/);
  });
  it('getDeq options', () => {
    throwsWith(() => T.getDeq({ fMaxIter: NaN }), /getDeq/, /fMaxIter/, /received NaN/);
    throwsWith(() => T.getDeq({ bTol: Infinity }), /getDeq/, /bTol/, /received Infinity/);
    throwsWith(() => T.getDeq({ fTol: -Infinity }), /getDeq/, /fTol/, /received -Infinity/);
  });
  it('solver and backward-factory options', async () => {
    const x0 = T.zeros([1, 2], { dtype: 'float64' });
    await rejectsWith(T.anderson((z: T.Tensor) => z, x0, { tol: NaN }), /anderson/, /tol/, /received NaN/);
    await rejectsWith(T.anderson((z: T.Tensor) => z, x0, { maxIter: Infinity }), /anderson/, /maxIter/, /received Infinity/);
    throwsWith(() => T.backwardFactory({ tau: NaN }), /backwardFactory/, /tau/, /received NaN/);
    x0.dispose();
  });
});

describe('huge shapes are a clear error naming the function, before anything is allocated', () => {
  it('creation functions on js and wasm', async () => {
    await T.init();
    for (const be of ['wasm', 'js'] as const) {
      const prev = T.getBackend().name;
      T.setBackend(be);
      try {
        const before = T.memory().numTensors;
        throwsWith(() => T.zeros([1e6, 1e6]), /^zeros: shape \[1000000, 1000000\] needs 3\.6 TiB \(1000000000000 float32 values\); the (wasm|js) backend holds at most/);
        throwsWith(() => T.randn([1e5, 1e5]), /^randn: shape \[100000, 100000\] needs 37\.3 GiB/);
        throwsWith(() => T.eye(1e6), /^eye: shape \[1000000, 1000000\]/);
        throwsWith(() => T.arange(0, 1e12), /^arange: shape \[1000000000000\]/);
        throwsWith(() => T.ones([2 ** 40, 2 ** 40], { dtype: 'float64' }), /^ones: shape .* needs .* \(1\.21e\+24 float64 values\)/);
        throwsWith(() => T.full([1e6, 1e6], 2), /^full: shape/);
        throwsWith(() => T.rand([1e9, 10]), /^rand: shape/);
        expect(T.memory().numTensors).toBe(before);
        expect(T.tidy(() => Array.from(T.ones([2]).dataSync()))).toEqual([1, 1]);
      } finally {
        T.setBackend(prev);
      }
    }
  });
  it('anderson m: 1e9 names anderson and m', async () => {
    const x0 = T.zeros([2, 3]);
    await rejectsWith(T.anderson((z: T.Tensor) => z, x0, { m: 1e9 }), /^anderson: option 'm' \(1000000000\)/, /needs/);
    x0.dispose();
  });
});

describe('randn and rand reject what torch rejects', () => {
  it('std < 0, low > high, NaN bounds', () => {
    throwsWith(() => T.randn([2], { std: -1 }), /^randn: expected option 'std' to be >= 0/, /received -1/);
    throwsWith(() => T.rand([2], { low: 2, high: 1 }), /^rand: expected option 'low' <= 'high'/, /low 2 and high 1/);
    throwsWith(() => T.rand([2], { low: NaN }), /^rand/, /NaN/);
    expect(T.tidy(() => Array.from(T.rand([3], { low: 2, high: 2 }).dataSync()))).toEqual([2, 2, 2]);
    expect(T.tidy(() => Array.from(T.randn([2], { std: 0, mean: 5 }).dataSync()))).toEqual([5, 5]);
  });
});

describe('no raw TypeErrors from public entry points', () => {
  const x = T.tensor([1, 2], [2], { requiresGrad: true });
  it('tidy, keep, vjp, grad, backward, getDeq', async () => {
    throwsWith(() => T.tidy(5 as never), /^tidy: expected fn to be a function/, /received number/);
    throwsWith(() => T.keep(5 as never), /^keep: expected a Tensor/, /received 5/);
    const before = T.memory().numTensors;
    throwsWith(() => T.vjp(5 as never, x), /^vjp: expected argument 'fn' to be a function/, /received 5/);
    throwsWith(() => T.vjp((t: T.Tensor) => t, 3 as never), /^vjp: expected argument 'x' to be a Tensor/);
    throwsWith(() => T.vjp(() => { throw new Error('inner'); }, x), /inner/);
    throwsWith(() => T.vjp(() => 7 as never, x), /^vjp: expected fn to return a Tensor, received 7/);
    expect(T.memory().numTensors).toBe(before); // the failed vjps leaked nothing
    const loss = T.tidy(() => T.sum(T.mul(x, x)));
    await rejectsWith(T.grad(loss, [3 as never]), /^grad: expected argument 'inputs\[0\]' to be a Tensor, received number 3/);
    await rejectsWith(T.grad(null as never, [x]), /^grad: expected argument 'outputs\[0\]' to be a Tensor, received null/);
    await rejectsWith(T.backward('x' as never), /^backward: expected argument 'output' to be a Tensor/);
    throwsWith(() => T.getDeq(null as never), /^getDeq: expected an options object/, /received null/);
    throwsWith(() => T.getDeq(5 as never), /^getDeq: expected an options object/, /received 5/);
    throwsWith(() => T.broadcastTo(x, [-2]), /^broadcastTo: expected a shape/);
    throwsWith(() => T.backwardFactory({ gradType: 2 ** 40 }), /^backwardFactory: option 'gradType'/);
    loss.dispose();
  });
});
