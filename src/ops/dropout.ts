/**
 * Inverted dropout: in training, zero each element with probability p and scale the rest by
 * 1 / (1 - p), so evaluation is the identity. The mask comes from the deterministic `Rng`
 * (a `seed` gives the same mask on every runtime).
 */
import { checkKeys } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../creation.js';
import { rngFor } from '../random.js';
import { need } from './util.js';
import { mul } from './arith.js';
import { reshape } from './shape.js';

/** Options of `dropout`. @example dropout(x, 0.2, { training: false }) */
export interface DropoutOptions {
  /** Apply dropout (default true); false returns x unchanged. */
  training?: boolean;
  /** Seed for the mask; without it the global generator (see `manualSeed`) is used. */
  seed?: number;
}

/**
 * Inverted dropout of x with drop probability p (torch.nn.functional.dropout semantics):
 * differentiable, the gradient is the same mask. `training: false` or p = 0 returns x's values.
 * @example const h = dropout(x, 0.1, { training: true, seed: 7 });
 */
export function dropout(x: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  const op = 'dropout';
  const X = need(op, 'x', x);
  checkKeys(op, opts, ['training', 'seed']);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new Error(`${op}: expected a drop probability p in [0, 1], received ${typeof p === 'number' ? p : JSON.stringify(p)}`);
  }
  const training = opts.training ?? true;
  if (typeof training !== 'boolean') throw new Error(`${op}: expected option 'training' to be a boolean, received ${typeof training}`);
  if (opts.seed !== undefined && !Number.isFinite(opts.seed)) {
    throw new Error(`${op}: expected option 'seed' to be a finite number, received ${typeof opts.seed === 'number' ? opts.seed : JSON.stringify(opts.seed)}`);
  }
  if (!training || p === 0) return reshape(X, X.shape);
  const rng = rngFor(opts.seed);
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const m = new Float64Array(X.size);
  for (let i = 0; i < m.length; i++) m[i] = rng.uniform() < p ? 0 : scale;
  const mask = tensor(m, [...X.shape], { dtype: X.dtype, backend: X.backend });
  const y = mul(X, mask);
  mask.dispose();
  return y;
}
