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
import { tidyCall } from '../scope.js';
import { isGradEnabled, withMode, releaseFrom } from '../autograd/engine.js';

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

/** A state map: synchronous, or async (its result is awaited). */
export type StateMap = (z: Tensor) => Tensor | Promise<Tensor>;

/** Throws unless `y` is a tensor of the state's shape. */
export function checkState(where: string, y: unknown, z: Tensor): Tensor {
  if (!y || typeof y !== 'object' || !('storage' in y)) {
    throw new Error(`${where}: expected func to return a Tensor, received ${y === null ? 'null' : typeof y}`);
  }
  const t = y as Tensor;
  if (t.shape.length !== z.shape.length || t.shape.some((d, i) => d !== z.shape[i])) {
    throw new Error(`${where}: expected func to return the state's shape ${fmtShape(z.shape)}, received ${fmtShape(t.shape)}`);
  }
  return t;
}

/** Applies func and checks that it kept the state's shape (awaiting an async func). */
export function applyChecked(where: string, func: (z: Tensor) => Tensor, z: Tensor): Tensor;
export function applyChecked(where: string, func: StateMap, z: Tensor): Tensor | Promise<Tensor>;
export function applyChecked(where: string, func: StateMap, z: Tensor): Tensor | Promise<Tensor> {
  const y = func(z);
  if (y instanceof Promise) return y.then((v: unknown) => checkState(where, v, z));
  return checkState(where, y, z);
}

/**
 * Unrolls `k` damped steps `z <- tau f(z) + (1 - tau) z` from `zPred` (treated as detached)
 * with the graph recorded, and returns the states chosen by `phantomSteps`. The states are
 * ordinary tensors: gradients reach every parameter and input `func` uses. With an async
 * `func` the result is a promise (each step awaits func; see `SolverFunc` for what runs in
 * which grad mode).
 * @example
 * const [z1] = phantomGrad((z) => tanh(linear(z, W).add(u)), zStar, { k: 1, tau: 1, supGap: -1, supLoc: [] });
 */
export function phantomGrad(func: (z: Tensor) => Tensor, zPred: Tensor, s: PhantomSettings): Tensor[];
export function phantomGrad(func: StateMap, zPred: Tensor, s: PhantomSettings): Tensor[] | Promise<Tensor[]>;
export function phantomGrad(func: StateMap, zPred: Tensor, s: PhantomSettings): Tensor[] | Promise<Tensor[]> {
  const where = 'phantomGrad';
  zPred.assertLive(`${where} (zPred)`);
  const wanted = phantomSteps(s);
  const firstId = peekNextTensorId();
  const record = isGradEnabled();
  const out: Tensor[] = [];
  const z0 = zPred.detach();
  let z = z0;
  // The step combination and the choice of returned states (the graph keeps its own handles
  // on what backward needs, so the previous state can go unless it is returned).
  const advance = (fz: Tensor, i: number): void => {
    const next = s.tau === 1 ? fz : withMode(record, () => scaledAdd(fz, s.tau, z, 1 - s.tau));
    if (next !== fz && fz.id >= firstId && fz !== z) fz.dispose();
    for (const w of wanted) {
      // A state returned twice, or one func handed back from outside, goes out as an alias.
      if (w === i) out.push(next.id >= firstId && !out.includes(next) ? next : next.alias());
    }
    if (z.id >= firstId && !out.includes(z) && z !== next) z.dispose();
    z = next;
  };
  // The last state goes unless returned, with the graph only it reaches.
  const done = (): Tensor[] => {
    if (!out.includes(z) && z.id >= firstId && !z.isDisposed) {
      releaseFrom(z.node, firstId, out);
      z.dispose();
    }
    return out;
  };
  const fail = (e: unknown): never => {
    for (const t of [...out, z]) {
      if (t.id < firstId || t.isDisposed) continue;
      releaseFrom(t.node, firstId);
      t.dispose();
    }
    throw e;
  };
  for (let i = 1; i <= s.k; i++) {
    let fz: Tensor | Promise<Tensor>;
    try {
      fz = tidyCall(() => withMode(record, () => applyChecked(where, func, z)));
    } catch (e) {
      return fail(e);
    }
    if (fz instanceof Promise) return finishAsync(fz, i);
    advance(fz, i);
  }
  return done();

  // An async func: the remaining steps await it (nothing is held across the awaits).
  async function finishAsync(first: Promise<Tensor>, from: number): Promise<Tensor[]> {
    try {
      advance(await first, from);
      for (let i = from + 1; i <= s.k; i++) {
        advance(await tidyCall(() => withMode(record, () => applyChecked(where, func, z))), i);
      }
    } catch (e) {
      return fail(e);
    }
    return done();
  }
}
