/**
 * Weight and spectral norm: after the last optimizer step, the model in memory and the same
 * model saved and reloaded give the same outputs (the normalised weight is a computed tensor
 * recomputed when its parameters change, so it is never one step stale).
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { nn, optim, tensor, tidy } from '../src/index.js';

const f64 = { dtype: 'float64' } as const;

function model(normType: string): nn.Sequential {
  const m = new nn.Sequential(new nn.Linear(3, 8, { seed: 1, ...f64 }), new nn.Tanh(), new nn.Linear(8, 2, { seed: 2, ...f64 }));
  T.applyNorm(m, normType === 'spectral_norm' ? { normType, seed: 3 } : { normType });
  return m;
}

describe('norms and checkpoints', () => {
  for (const normType of ['weight_norm', 'spectral_norm']) {
    it(`${normType}: in memory after the last step == saved and reloaded`, async () => {
      const m = model(normType);
      const x = tensor([[1, -2, 0.5], [0.3, 0.1, -1]], undefined, f64);
      const y = tensor([[1, 0], [0, 1]], undefined, f64);
      const opt = new optim.Adam(m.parameters(), { lr: 0.2 });
      for (let step = 0; step < 5; step++) {
        await tidy(async () => {
          T.resetNorm(m); // the README's pattern: once at the start of every training step
          await m.forward(x).sub(y).square().mean().backward();
          opt.step();
          opt.zeroGrad();
        });
      }
      m.eval();
      const inMemory = Array.from(m.forward(x).dataSync());
      const copy = model(normType);
      T.load(copy, await T.save(m));
      copy.eval();
      expect(Array.from(copy.forward(x).dataSync())).toEqual(inMemory);
      // Without resetNorm too: the first read after a step recomputes the weight.
      T.resetNorm(copy);
      expect(Array.from(copy.forward(x).dataSync())).toEqual(inMemory);
      // Reading twice without a change returns the very same weight tensor (graph shared in a step).
      const fc = m.getModule('0')!;
      expect(fc.tensor('weight')).toBe(fc.tensor('weight'));
    });
  }

  it('the recomputed weight carries a graph to the parameters when grad mode is on', async () => {
    const fc = new nn.Linear(2, 2, { seed: 4, ...f64 });
    T.applyNorm(fc);
    const x = tensor([[1, 2]], undefined, f64);
    T.noGrad(() => fc.forward(x)); // computed without a graph after a change...
    const v = fc.tensor('weight_v');
    v.version++; // (as an optimizer step does)
    T.noGrad(() => fc.forward(x));
    await fc.forward(x).sum().backward(); // ...and recomputed with one when needed
    expect(fc.tensor('weight_v').grad).not.toBeNull();
    expect(fc.tensor('weight_g').grad).not.toBeNull();
  });
});
