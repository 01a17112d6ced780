/**
 * Random tensors drawn from one explicit generator, so a caller can draw several tensors in a
 * row from a single seed (jacReg's probe vectors, dropout masks, mixedInit) and a test can
 * replay the exact same numbers with `new Rng(seed)`.
 */
import type { Tensor } from '../tensor.js';
import type { Backend } from '../backend/backend.js';
import type { DType } from '../dtype.js';
import { sizeOf } from '../backend/backend.js';
import { tensor } from '../creation.js';
import type { Rng } from '../random.js';

/** Where a sampled tensor lives (a Tensor fits: its dtype and backend are used). */
export interface TensorKind {
  readonly dtype: DType;
  readonly backend: Backend;
}

/** Standard normal samples of `shape` with `like`'s dtype and backend. */
export function normalFrom(rng: Rng, shape: readonly number[], like: TensorKind): Tensor {
  const v = new Float64Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  return tensor(v, [...shape], { dtype: like.dtype, backend: like.backend });
}

/**
 * Bernoulli(keepProb) samples of `shape` scaled by `scale` (so a kept entry is `scale`, a
 * dropped one 0). One uniform draw per element: kept when `u < keepProb`.
 */
export function bernoulliFrom(rng: Rng, shape: readonly number[], keepProb: number, scale: number,
  like: TensorKind): Tensor {
  const v = new Float64Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform() < keepProb ? scale : 0;
  return tensor(v, [...shape], { dtype: like.dtype, backend: like.backend });
}
