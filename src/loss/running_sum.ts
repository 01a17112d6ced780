/**
 * The running sum the loss loops keep (jacReg's probe terms, fpCorrection's weighted state
 * losses): adding a term frees the previous total and the term, so a long loop holds one sum
 * instead of one tensor per step.
 */
import type { Tensor } from '../tensor.js';
import { add } from '../ops/arith.js';

/**
 * `total + term`, disposing `total` and `term` (the graph keeps what backward needs); `term`
 * itself when there is no total yet.
 * @example let total: Tensor | null = null; for (const t of terms) total = addInto(total, t);
 */
export function addInto(total: Tensor | null, term: Tensor): Tensor {
  if (!total) return term;
  const next = add(total, term);
  total.dispose();
  term.dispose();
  return next;
}
