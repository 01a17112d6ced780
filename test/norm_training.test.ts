import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Linear, Sequential, Tanh } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';

describe('norms and variational dropout in a training loop', () => {
  for (const normType of ['weight_norm', 'spectral_norm'] as const) {
    it(`${normType}: loss decreases, parameters move, memory stays flat (float32)`, async () => {
      const model = new Sequential(new Linear(4, 8, { seed: 0 }), new Tanh(), new T.VariationalDropout(0.1, { seed: 1 }), new Linear(8, 1, { seed: 2 }));
      T.applyNorm(model, { normType, ...(normType === 'spectral_norm' ? { seed: 3 } : {}) });
      const opt = new SGD(model.parameters(), { lr: 0.05 });
      const x = T.randn([16, 4], { seed: 4 });
      const y = T.tidy(() => x.sum(1, { keepDims: true }).mul(0.3).tanh());
      const step = (): Promise<number> => T.tidy(async () => {
        T.resetNorm(model);
        T.resetDropout(model);
        const loss = model.forward(x).sub(y).square().mean();
        await loss.backward();
        opt.step();
        opt.zeroGrad();
        return loss.item();
      });
      const first = await step();
      for (let i = 0; i < 5; i++) await step();
      const before = T.memory().numTensors;
      let last = first;
      for (let i = 0; i < 40; i++) last = await step();
      expect(T.memory().numTensors).toBe(before);
      expect(last).toBeLessThan(first * 0.8);
      expect(model.parameters().every((p) => p.dtype === 'float32')).toBe(true);
    });
  }
});
