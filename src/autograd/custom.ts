/**
 * User-defined differentiable functions (`customFunction`) and reusable pullbacks (`vjp`).
 * IFT is built from both: a custom node whose backward runs a solver that calls a pullback
 * many times.
 */
import { Tensor, fmtShape, peekNextTensorId } from '../tensor.js';
import { need } from '../ops/util.js';
import { show } from '../utils/format.js';
import { keep } from '../scope.js';
import { record, withMode, plannedGrad, checkKeys, releaseFrom } from './engine.js';
import type { Node } from './node.js';

export interface CustomContext {
  /** Saves tensors for backward (the node keeps its own handles on them). */
  save(...tensors: Tensor[]): void;
  /** Any extra non-tensor state for backward. */
  [key: string]: unknown;
}

export interface CustomFunctionSpec<A extends Tensor[]> {
  /** Name used in error messages (default 'customFunction'). */
  name?: string;
  /** Computes the output without a graph (runs under noGrad). */
  forward(ctx: CustomContext, ...inputs: A): Tensor;
  /**
   * Returns one gradient (or null) per input given the output's gradient. May be async.
   * Runs with grad mode on only when the caller asked for `createGraph`.
   */
  backward(ctx: CustomContext & { saved: readonly Tensor[] }, grad: Tensor):
    (Tensor | null | undefined)[] | Promise<(Tensor | null | undefined)[]>;
}

/**
 * A differentiable function with a hand-written backward, like `torch.autograd.Function`.
 * @example
 * const square = customFunction({
 *   forward: (ctx, x) => { ctx.save(x); return x.mul(x); },
 *   backward: (ctx, g) => [g.mul(ctx.saved[0]).mul(2)],
 * });
 */
export function customFunction<A extends Tensor[]>(spec: CustomFunctionSpec<A>): (...inputs: A) => Tensor {
  checkKeys('customFunction', spec, ['name', 'forward', 'backward']);
  if (typeof spec.forward !== 'function' || typeof spec.backward !== 'function') {
    throw new Error(`customFunction: expected a spec with forward and backward functions, received forward: ${typeof spec.forward}, backward: ${typeof spec.backward}`);
  }
  const name = spec.name ?? 'customFunction';
  return (...inputs: A): Tensor => {
    inputs.forEach((t, i) => t.assertLive(`${name} (input ${i})`));
    const toSave: Tensor[] = [];
    const ctx: CustomContext = { save: (...ts: Tensor[]) => { toSave.push(...ts); } };
    const y = withMode(false, () => spec.forward(ctx, ...inputs));
    if (!y || typeof y !== 'object' || !('storage' in y)) {
      throw new Error(`${name}: expected forward to return a Tensor, received ${y === null ? 'null' : typeof y}`);
    }
    // Never hand the graph a tensor the caller also holds: the output is our own handle.
    const o = inputs.includes(y) ? y.alias() : y;
    return record(name, o, inputs, toSave, (g, saved) => spec.backward({ ...ctx, saved }, g));
  };
}

export interface VjpOptions {
  /** Build a graph of the pullback's result (for double backward). */
  createGraph?: boolean;
}

/** A pullback: maps a cotangent of y to cotangents of the inputs. Call it as often as you like. */
export interface Pullback {
  (v: Tensor): Promise<Tensor[]>;
  /** Frees the recorded graph. */
  dispose(): void;
}

/**
 * The pullback without the promise when its pass needs none (one synchronous node, as the
 * fused ops' VJPs): the IFT adjoint solve calls it once per iteration. Internal.
 */
export type PullbackNow = (v: Tensor) => Tensor[] | Promise<Tensor[]>;

const nowOf = new WeakMap<Pullback, PullbackNow>();

/**
 * `pullback(v)`, synchronously when the pass allows it (see PullbackNow).
 * @example const r = pullbackNow(pb, v); const gs = r instanceof Promise ? await r : r;
 */
export function pullbackNow(pullback: Pullback, v: Tensor): Tensor[] | Promise<Tensor[]> {
  const now = nowOf.get(pullback);
  return now === undefined ? pullback(v) : now(v);
}

/**
 * Evaluates `fn` at `x` and returns `[y, pullback]` with `pullback(v) = v^T (dy/dx)`, like
 * `jax.vjp`. Gradients flow to the given inputs only (parameters used inside `fn` are
 * treated as constants here).
 * @example const [y, pb] = vjp((z) => tanh(z), x); const [gx] = await pb(onesLike(y));
 */
export function vjp(fn: (...xs: Tensor[]) => Tensor, x: Tensor | Tensor[], opts: VjpOptions = {}): [Tensor, Pullback] {
  const r = vjpOf(fn, x, opts);
  if (r instanceof Promise) {
    // The pullback is still built (and freed) so nothing leaks; the caller gets a clear error.
    r.then(([y, pb]) => { y.dispose(); pb.dispose(); }, () => {});
    throw new Error('vjp: expected fn to return a Tensor, received a Promise (an async fn); vjp is synchronous');
  }
  return r;
}

/**
 * Internal: `vjp` that also takes an async `fn` (then the result is a promise). `fn`'s
 * synchronous part records with grad mode on; what it does after an await runs in the mode
 * current then (normally on).
 */
export function vjpOf(fn: (...xs: Tensor[]) => Tensor | Promise<Tensor>, x: Tensor | Tensor[], opts: VjpOptions = {}): [Tensor, Pullback] | Promise<[Tensor, Pullback]> {
  checkKeys('vjp', opts, ['createGraph']);
  if (typeof fn !== 'function') throw new Error(`vjp: expected argument 'fn' to be a function, received ${show(fn)}`);
  const xs = Array.isArray(x) ? x : [x];
  xs.forEach((t, i) => need('vjp', Array.isArray(x) ? `x[${i}]` : 'x', t));
  const leaves = xs.map((t) => {
    const l = keep(t.detach());
    l.requiresGrad = true;
    return l;
  });
  const firstEpoch = peekNextTensorId();
  let y0: unknown;
  try {
    y0 = withMode(true, () => fn(...leaves));
  } catch (e) {
    for (const l of leaves) l.dispose(); // error paths free what they allocated
    throw e;
  }
  if (y0 instanceof Promise) {
    return y0.then((v: unknown) => makePullback(v, leaves, firstEpoch, opts), (e: unknown) => {
      for (const l of leaves) l.dispose();
      throw e;
    });
  }
  return makePullback(y0, leaves, firstEpoch, opts);
}

function makePullback(y0: unknown, leaves: Tensor[], firstEpoch: number, opts: VjpOptions): [Tensor, Pullback] {
  if (!y0 || typeof y0 !== 'object' || !('storage' in y0)) {
    for (const l of leaves) l.dispose();
    throw new Error(`vjp: expected fn to return a Tensor, received ${show(y0)}`);
  }
  const y = keep(y0 as Tensor);
  const planned = y.requiresGrad ? plannedGrad([y], leaves) : null;
  let disposed = false;
  const fill = (gs: (Tensor | null)[]): Tensor[] => gs.map((g, i) => g ?? leaves[i].mul(0));
  const now: PullbackNow = (v) => {
    if (disposed) throw new Error('vjp pullback: expected a live pullback, received one that was disposed');
    if (!y.requiresGrad) return leaves.map((l) => l.mul(0));
    if (v.shape.length !== y.shape.length || v.shape.some((s, i) => s !== y.shape[i])) {
      throw new Error(`vjp pullback: expected a cotangent of shape ${fmtShape(y.shape)}, received ${fmtShape(v.shape)}`);
    }
    const r = planned!([v], opts.createGraph ?? false);
    return r instanceof Promise ? r.then(fill) : fill(r);
  };
  const pullback = (async (v: Tensor): Promise<Tensor[]> => now(v)) as Pullback;
  nowOf.set(pullback, now);
  pullback.dispose = () => {
    if (disposed) return;
    disposed = true;
    releaseGraph(y.node, firstEpoch);
    for (const l of leaves) l.dispose();
    y.dispose();
  };
  const out = y.detach();
  return [out, pullback];
}

/** Releases every node reachable from `root` that was created at or after `minEpoch`. */
export function releaseGraph(root: Node | null, minEpoch = 0): void {
  releaseFrom(root, minEpoch);
}
