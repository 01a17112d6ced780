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
