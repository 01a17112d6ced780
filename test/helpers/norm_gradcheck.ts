/**
 * Gradient check of a normalised module's parameters (weight_norm's weight_g/weight_v,
 * spectral_norm's weight_orig/weight_g) against central differences, shared by the norm tests.
 */
import { expect } from 'vitest';
import * as T from '../../src/index.js';
import type { AnyModule, StateDict } from '../../src/nn/index.js';

const f64 = { dtype: 'float64' as const };

/**
 * Backpropagates `loss` once through the normalised float64 module `m`, then checks the gradient
 * of every element of each parameter in `names` against a central difference (step 1e-6, to
 * `digits` decimal places): each perturbed value is loaded into `m` and the normalised weights are
 * recomputed (`resetNorm`) before evaluating `loss` without a graph. Returns the unperturbed
 * state dict and the gradients, for further checks.
 */
export async function expectNormGradsMatchFD<N extends string>(
  m: AnyModule, loss: () => T.Tensor, names: readonly N[], digits = 7,
): Promise<{ base: StateDict; grads: Record<N, ArrayLike<number>> }> {
  const base = m.stateDict();
  T.resetNorm(m);
  await loss().backward();
  const grads = {} as Record<N, ArrayLike<number>>;
  for (const n of names) grads[n] = m.tensor(n).grad!.dataSync();
  for (const name of names) {
    const vals = Array.from(base[name].dataSync());
    for (let i = 0; i < vals.length; i++) {
      const at = (d: number): number => {
        const p = vals.slice(); p[i] += d;
        m.loadStateDict({ ...base, [name]: T.tensor(p, [...base[name].shape], f64) });
        T.resetNorm(m);
        return T.noGrad(() => loss().item());
      };
      const h = 1e-6;
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(grads[name][i]).toBeCloseTo(fd, digits);
    }
  }
  return { base, grads };
}
