/**
 * Mixed initialisation of a DEQ state (Anil et al., "Path Independent Equilibrium Models Can
 * Better Exploit Test-Time Computation", 2022): standard normal noise with each entry
 * independently zeroed with probability 1/2, so the solver starts from varied points.
 */
import type { Backend } from '../backend/backend.js';
import { checkDType, type DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { getBackend } from '../backend/registry.js';
import { checkShape, tensor } from '../creation.js';
import { checkKeys } from '../autograd/engine.js';
import { rngFor } from '../random.js';
import { show } from './format.js';

export interface MixedInitOptions {
  /** Seed; without it the global generator (`manualSeed`) is used. */
  seed?: number;
  dtype?: DType;
  /** Backend to create on (default: the current one). */
  backend?: Backend;
}

/**
 * A tensor of `zShape` whose entries are N(0, 1) samples kept with probability 1/2 and zero
 * otherwise. All normals are drawn first, then one uniform per entry decides the mask.
 * @example const z0 = mixedInit([batch, 64], { seed: 0 });
 */
export function mixedInit(zShape: readonly number[], opts: MixedInitOptions = {}): Tensor {
  checkKeys('mixedInit', opts, ['seed', 'dtype', 'backend']);
  const shape = checkShape('mixedInit', Array.isArray(zShape) ? [...zShape] : zShape);
  const dtype = checkDType(opts.dtype ?? 'float32', 'mixedInit');
  if (opts.seed !== undefined && (typeof opts.seed !== 'number' || !Number.isFinite(opts.seed))) {
    throw new Error(`mixedInit: expected option 'seed' to be a finite number, received ${show(opts.seed)}`);
  }
  const rng = rngFor(opts.seed);
  const n = shape.reduce((a, d) => a * d, 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  for (let i = 0; i < n; i++) if (rng.uniform() >= 0.5) v[i] = 0;
  return tensor(v, shape, { dtype, backend: opts.backend ?? getBackend() });
}
