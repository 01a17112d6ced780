import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Linear, Sequential, Tanh } from '../src/nn/index.js';
import { Adam, SGD, cosineAnnealing, clipGradNorm } from '../src/optim/index.js';
import { Rng } from '../src/random.js';

/** Synthetic regression data: y = sin(2 x0) * cos(x1) + 0.5 x0 x1, x ~ U(-1.5, 1.5)^2. */
function regressionData(n: number, seed: number): { x: T.Tensor; y: T.Tensor } {
  const rng = new Rng(seed);
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = 3 * rng.uniform() - 1.5, b = 3 * rng.uniform() - 1.5;
    xs.push(a, b);
    ys.push(Math.sin(2 * a) * Math.cos(b) + 0.5 * a * b);
  }
  return { x: T.tensor(xs, [n, 2]), y: T.tensor(ys, [n, 1]) };
}

const mse = (pred: T.Tensor, y: T.Tensor): T.Tensor => T.mean(T.square(T.sub(pred, y)));

describe('training a small MLP end to end', () => {
  it('Adam + cosine schedule + clipping: 200 steps cut the regression loss by more than 50x, without leaking', async () => {
    const { x, y } = regressionData(128, 1);
    const model = new Sequential(new Linear(2, 32, { seed: 10 }), new Tanh(), new Linear(32, 32, { seed: 11 }), new Tanh(), new Linear(32, 1, { seed: 12 }));
    const params = model.parameters();
    const opt = new Adam(params, { lr: 1e-2 });
    const lrAt = cosineAnnealing({ baseLr: 1e-2, tMax: 200, etaMin: 1e-4, warmupSteps: 10 });
    const initial = T.tidy(() => mse(model.forward(x), y).item());
    let live = 0;
    let last = initial;
    for (let step = 0; step < 200; step++) {
      last = await T.tidy(async () => {
        opt.setLr(lrAt(step));
        const loss = mse(model.forward(x), y);
        await loss.backward();
        clipGradNorm(params, 5);
        opt.step();
        opt.zeroGrad();
        return loss.item();
      });
      if (step === 0) live = T.memory().numTensors;
    }
    const final = T.tidy(() => mse(model.forward(x), y).item());
    // Measured: 0.619 -> 0.00215 (factor ~290); the assertion leaves a wide margin.
    expect(initial).toBeGreaterThan(0.2);
    expect(final).toBeLessThan(initial / 50);
    expect(Math.abs(final - last)).toBeLessThan(initial / 10);
    expect(T.memory().numTensors).toBe(live);
    // The parameters are still the model's own objects.
    model.parameters().forEach((p, i) => expect(p).toBe(params[i]));
  });

  it('SGD with Nesterov momentum: 200 steps cut a 2-class cross-entropy by more than 20x', async () => {
    const rng = new Rng(5);
    const xs: number[] = [], labels: number[] = [];
    for (let i = 0; i < 96; i++) {
      const cls = i % 2, r = cls ? 2 : 0.7, t = 2 * Math.PI * rng.uniform();
      xs.push(r * Math.cos(t) + 0.1 * rng.normal(), r * Math.sin(t) + 0.1 * rng.normal());
      labels.push(cls);
    }
    const x = T.tensor(xs, [96, 2]);
    const model = new Sequential(new Linear(2, 16, { seed: 3 }), new Tanh(), new Linear(16, 2, { seed: 4 }));
    const opt = new SGD(model.parameters(), { lr: 0.2, momentum: 0.9, nesterov: true });
    const lossOf = (): T.Tensor => T.crossEntropy(model.forward(x), labels);
    const initial = T.tidy(() => lossOf().item());
    for (let step = 0; step < 200; step++) {
      await T.tidy(async () => {
        await lossOf().backward();
        opt.step();
        opt.zeroGrad();
      });
    }
    const final = T.tidy(() => lossOf().item());
    const acc = T.tidy(() => {
      const pred = T.argmax(model.forward(x), -1).dataSync();
      return labels.filter((l, i) => pred[i] === l).length / labels.length;
    });
    // Measured: 0.777 -> 0.0058 (factor ~135), accuracy 1.
    expect(final).toBeLessThan(initial / 20);
    expect(acc).toBeGreaterThan(0.95);
  });
});
