/**
 * Phantom gradients: a few damped fixed-point steps from the (detached) solver estimate,
 * recorded on the autograd graph, stand in for the exact implicit gradient.
 *
 * References: Geng, Zhang, Bai, Wang, Lin, "On Training Implicit Models" (NeurIPS 2021) for
 * phantom gradients; Fung, Heaton, Li, McKenzie, Osher, Yin, "JFB: Jacobian-Free
 * Backpropagation for Implicit Networks" (AAAI 2022) for the one-step case k = 1, tau = 1.
 */
import type { Tensor } from '../tensor.js';
import { fmtShape, peekNextTensorId } from '../tensor.js';
import { scaledAdd } from '../ops/fused.js';
import { tidy } from '../scope.js';

/**
 * Settings of one phantom-gradient functor (validated by `backwardFactory`).
 * @example const s: PhantomSettings = { k: 5, tau: 0.5, supGap: -1, supLoc: [1, 3] };
 */
export interface PhantomSettings {
  /** Number of unrolled steps (>= 1). */
  k: number;
  /** Damping: z <- tau f(z) + (1 - tau) z. With tau = 1 the step is f itself. */
  tau: number;
  /** When > 0, return the state after every supGap-th step. */
  supGap: number;
  /** Steps (1-based) whose states are returned, followed by the final state. */
  supLoc: readonly number[];
}

/**
 * Which steps (1-based) of a k-step unroll are returned: every `supGap`-th step when
 * `supGap > 0` (the last only if `k % supGap == 0`), else the listed `supLoc` steps in order
 * plus the final step again, else just the final step.
 * @example phantomSteps({ k: 5, tau: 1, supGap: 2, supLoc: [] }) // [2, 4]
 */
export function phantomSteps(s: PhantomSettings): number[] {
  const steps = Array.from({ length: s.k }, (_, i) => i + 1);
  if (s.supGap > 0) return steps.filter((i) => i % s.supGap === 0);
  if (s.supLoc.length > 0) return [...steps.filter((i) => s.supLoc.includes(i)), s.k];
  return [s.k];
}

/** Applies func and checks that it kept the state's shape. */
export function applyChecked(where: string, func: (z: Tensor) => Tensor, z: Tensor): Tensor {
  const y = func(z);
  if (!y || typeof y !== 'object' || !('storage' in y)) {
    throw new Error(`${where}: expected func to return a Tensor, received ${y === null ? 'null' : typeof y}`);
  }
  if (y.shape.length !== z.shape.length || y.shape.some((d, i) => d !== z.shape[i])) {
    throw new Error(`${where}: expected func to return the state's shape ${fmtShape(z.shape)}, received ${fmtShape(y.shape)}`);
  }
  return y;
}

/**
 * Unrolls `k` damped steps `z <- tau f(z) + (1 - tau) z` from `zPred` (treated as detached)
 * with the graph recorded, and returns the states chosen by `phantomSteps`. The states are
 * ordinary tensors: gradients reach every parameter and input `func` uses.
 * @example
 * const [z1] = phantomGrad((z) => tanh(linear(z, W).add(u)), zStar, { k: 1, tau: 1, supGap: -1, supLoc: [] });
 */
export function phantomGrad(func: (z: Tensor) => Tensor, zPred: Tensor, s: PhantomSettings): Tensor[] {
  const where = 'phantomGrad';
  zPred.assertLive(`${where} (zPred)`);
  const wanted = phantomSteps(s);
  const firstId = peekNextTensorId();
  // Everything but the returned states is freed at the end of the tidy; the graph keeps its
  // own handles on what backward needs.
  return tidy(() => {
    const out: Tensor[] = [];
    let z = zPred.detach();
    for (let i = 1; i <= s.k; i++) {
      const fz = applyChecked(where, func, z);
      const next = s.tau === 1 ? fz : scaledAdd(fz, s.tau, z, 1 - s.tau);
      for (const w of wanted) {
        // A state returned twice, or one func handed back from outside, goes out as an alias.
        if (w === i) out.push(next.id >= firstId && !out.includes(next) ? next : next.alias());
      }
      z = next;
    }
    return out;
  });
}
