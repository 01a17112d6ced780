import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';

const f64 = { dtype: 'float64' as const };
const mse = (x: T.Tensor, y: T.Tensor): T.Tensor => x.sub(y).square().mean();

describe('fpCorrection weights', () => {
  it('exp: gamma^(n-1-k) with gamma 0.8', () => {
    const w = T.correctionWeights(4, 'exp');
    [0.512, 0.64, 0.8, 1].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 15));
    expect(T.correctionWeights(3, 'exp', { gamma: 0.5 })).toEqual([0.25, 0.5, 1]);
  });

  it('linear: 1 - (n-k-1)/n * 0.9 + bias', () => {
    const w = T.correctionWeights(4, 'linear');
    [1 - 0.675, 1 - 0.45, 1 - 0.225, 1].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 15));
    const wb = T.correctionWeights(2, 'linear', { gamma: 1, bias: 0.5 });
    expect(wb[0]).toBeCloseTo(1, 15);
    expect(wb[1]).toBeCloseTo(1.5, 15);
  });

  it('const: c for every state (a number, unlike TorchDEQ)', () => {
    expect(T.correctionWeights(3, 'const')).toEqual([1, 1, 1]);
    expect(T.correctionWeights(2, 'const', { c: 0.25 })).toEqual([0.25, 0.25]);
  });

  it('rejects unknown names and weight arguments', () => {
    expect(() => T.correctionWeights(2, 'cosine')).toThrow(/unknown weightFunc 'cosine'; registered weight functions are 'exp', 'linear', 'const'/);
    expect(() => T.correctionWeights(2, 'exp', { c: 1 })).toThrow(/unknown option 'c'; valid options are 'gamma'/);
  });
});

describe('fpCorrection', () => {
  const target = T.tensor([1, 2], undefined, f64);
  const traj = [T.tensor([0, 0], undefined, f64), T.tensor([1, 1], undefined, f64), T.tensor([1, 2.5], undefined, f64)];
  // Per-state MSE: (1 + 4)/2 = 2.5, (0 + 1)/2 = 0.5, (0 + 0.25)/2 = 0.125.
  const per = [2.5, 0.5, 0.125];

  it('sums weighted per-state losses for all three modes', () => {
    const exp = T.fpCorrection(mse, [traj, target]).item();
    expect(exp).toBeCloseTo(0.64 * 2.5 + 0.8 * 0.5 + 0.125, 14);
    const lin = T.fpCorrection(mse, [traj, target], { weightFunc: 'linear' }).item();
    expect(lin).toBeCloseTo((1 - 0.6) * 2.5 + (1 - 0.3) * 0.5 + 0.125, 14);
    const cst = T.fpCorrection(mse, [traj, target], { weightFunc: 'const' }).item();
    expect(cst).toBeCloseTo(per[0] + per[1] + per[2], 14);
  });

  it('returns the per-state loss values and cycles shorter lists', async () => {
    const { loss, lossValues } = await T.fpCorrection(mse, [traj, [target]], { returnLossValues: true, weightFunc: 'const', weightArgs: { c: 2 } });
    expect(lossValues).toEqual(per);
    expect(loss.item()).toBeCloseTo(2 * (2.5 + 0.5 + 0.125), 14);
    // Two targets cycled over three states: state 2 uses target 0 again.
    const t2 = T.tensor([0, 0], undefined, f64);
    const r = await T.fpCorrection(mse, [traj, [target, t2]], { returnLossValues: true });
    expect(r.lossValues).toEqual([2.5, 1, 0.125]);
  });

  it('is differentiable: gradient of each state is its weight times the loss gradient', async () => {
    const xs = traj.map((t) => t.clone().requireGrad());
    const loss = T.fpCorrection(mse, [xs, target]);
    await loss.backward();
    const w = [0.64, 0.8, 1];
    xs.forEach((x, i) => {
      const g = x.grad!.dataSync();
      const d = x.dataSync(), y = target.dataSync();
      for (let j = 0; j < 2; j++) expect(g[j]).toBeCloseTo(w[i] * (d[j] - y[j]), 14);
    });
  });

  it('uses a registered weight function', () => {
    T.registerWeightFunc('lastOnly', (n, k) => (k === n - 1 ? 1 : 0));
    expect(T.fpCorrection(mse, [traj, target], { weightFunc: 'lastOnly' }).item()).toBeCloseTo(0.125, 15);
    expect(T.listWeightFuncs()).toContain('lastOnly');
  });

  it('rejects bad input with named errors', () => {
    expect(() => T.fpCorrection(mse, [traj, target], { weight: 'exp' } as never)).toThrow(/fpCorrection: unknown option 'weight'; valid options are 'weightFunc', 'returnLossValues', 'weightArgs'/);
    expect(() => T.fpCorrection(mse, [[], target])).toThrow(/fpCorrection: expected args\[0\] to be a non-empty list/);
    expect(() => T.fpCorrection(() => 3 as never, [traj])).toThrow(/fpCorrection: expected crit to return a Tensor for state 0, received number/);
  });
});
