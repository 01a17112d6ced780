/**
 * Random tensors drawn from one explicit generator, so a caller can draw several tensors in a
 * row from a single seed (jacReg's probe vectors, spectral-norm start vectors, dropout masks) and a test can
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
 * An inverted-dropout mask of `shape`: one uniform draw `u` per element, 0 where `u < p` and
 * `1 / (1 - p)` elsewhere (all zeros for p = 1), the convention of the `dropout` op.
 */
export function dropMaskFrom(rng: Rng, shape: readonly number[], p: number, like: TensorKind): Tensor {
  const scale = p >= 1 ? 0 : 1 / (1 - p);
  const v = new Float64Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform() < p ? 0 : scale;
  return tensor(v, [...shape], { dtype: like.dtype, backend: like.backend });
}
