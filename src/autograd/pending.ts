/**
 * Backward passes still running, so that `optimizer.step()` and `zeroGrad()` can tell when the
 * user forgot to await `loss.backward()`: the step would update nothing (or use last step's
 * gradients) and the late gradients would pile into the next step. Such a pass is cancelled
 * (it writes no `.grad`; its promise rejects, marked handled so an un-awaited one cannot end
 * the process) and the optimizer call throws.
 */
import type { Tensor } from '../tensor.js';

export interface PendingPass {
  /** The leaves whose `.grad` the pass writes when it finishes. */
  readonly leaves: ReadonlySet<Tensor>;
  /** Set when an optimizer call cancelled the pass: what it was (e.g. 'Adam.step()'). */
  cancelledBy: string | null;
  /** The promise `backward()` returned (marked handled on cancellation). */
  promise: Promise<void> | null;
}

const passes = new Set<PendingPass>();

/** Registers a running pass that will write `.grad` of `leaves`. */
export function beginPass(leaves: ReadonlySet<Tensor>): PendingPass {
  const pass: PendingPass = { leaves, cancelledBy: null, promise: null };
  passes.add(pass);
  return pass;
}

/** The pass finished (or failed). */
export function endPass(pass: PendingPass): void {
  passes.delete(pass);
}

/**
 * Throws `"<call>: a backward pass is still running: await it before <method>()"` when a
 * running `backward()` will write the gradient of one of `params`, after cancelling every
 * such pass so its gradients never arrive.
 */
export function assertNoPendingBackward(call: string, method: string, params: Iterable<Tensor>): void {
  if (passes.size === 0) return;
  const hit: PendingPass[] = [];
  for (const p of params) {
    for (const pass of passes) if (!hit.includes(pass) && pass.leaves.has(p.target)) hit.push(pass);
  }
  if (hit.length === 0) return;
  for (const pass of hit) {
    pass.cancelledBy = `${call}()`;
    passes.delete(pass);
    pass.promise?.catch(() => {});
  }
  throw new Error(`${call}: a backward pass is still running: await it before ${method}() (await loss.backward(), then ${method}()); the running pass was cancelled, so its gradients will not reach the next step`);
}
