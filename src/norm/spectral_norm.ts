/**
 * Spectral normalisation (Miyato et al., 2018, arXiv:1802.05957) as TorchDEQ applies it: a
 * weight `w` becomes the parameter `<name>_orig`, the power-iteration vectors `<name>_u` and
 * `<name>_v` (buffers) and, with learnScale, a per-output scale `<name>_g` (initialised to
 * targetNorm). The module's `<name>` is the computed `w_orig * g / sigma` (or
 * `* targetNorm / sigma`), sigma = u^T W v the estimate of W's largest singular value (W is
 * w_orig with the output axis first, flattened to a matrix); the factor may be capped at
 * clipValue. `resetNorm` runs `nPowerIterations` more iterations in training mode.
 */
import type { AnyModule } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { noGrad } from '../autograd/engine.js';
import { full } from '../creation.js';
import { div, maximum, mul } from '../ops/arith.js';
import { sum } from '../ops/reduce.js';
import { sqrt } from '../ops/unary.js';
import { permute, reshape } from '../ops/shape.js';
import { matmul } from '../ops/linalg.js';
import { Rng, rngFor } from '../random.js';
import { Linear } from '../nn/linear.js';
import { Conv2d } from '../nn/conv.js';
import { normalFrom } from '../utils/sampling.js';
import {
  optNumber, scaledWeight, scaleOptions, scaleShape, targetAxis,
  type AppliedNorm, type ModuleClass, type NormClass, type NormTarget, type ScaleOptions,
} from './common.js';
import { show } from '../utils/format.js';

const WHERE = "applyNorm (normType 'spectral_norm')";

export interface SpectralNormConfig extends ScaleOptions {
  /** Power iterations per applyNorm / resetNorm call in training mode (default 1). */
  nPowerIterations: number;
  /** Floor of the norm when normalising u and v (default 1e-12). */
  eps: number;
  /** Generator for the random start vectors u, v (from the `seed` option, else the global one). */
  rng: Rng;
}

/** w with axis `dim` moved to the front, flattened to (size of dim, rest). Differentiable. */
function toMatrix(w: Tensor, dim: number): Tensor {
  const front = dim === 0 ? w : permute(w, [dim, ...w.shape.map((_, i) => i).filter((i) => i !== dim)]);
  return reshape(front, [w.shape[dim], -1]);
}

/** x / max(||x||, eps) for a vector. */
function normalize(x: Tensor, eps: number): Tensor {
  return div(x, maximum(sqrt(sum(mul(x, x))), eps));
}

/**
 * One module's spectral norm. Usually made by `applyNorm`, which keeps it for `resetNorm` /
 * `removeNorm`.
 * @example const sn = SpectralNorm.apply(fc, { names: ['weight'], dims: [0] }, SpectralNorm.configure({ seed: 0 })); sn.reset(fc);
 */
export class SpectralNorm implements AppliedNorm {
  /** Option keys spectral norm understands (beyond applyNorm's own). */
  static readonly optionKeys: readonly string[] = ['learnScale', 'targetNorm', 'clip', 'clipValue', 'nPowerIterations', 'eps', 'seed'];
  /** Module classes normalised by default, with the tensor names and output axes. */
  static readonly targetModules = new Map<ModuleClass, NormTarget>([
    [Linear, { names: ['weight'], dims: [0] }],
    [Conv2d, { names: ['weight'], dims: [0] }],
  ]);

  /** Validates the options once per applyNorm call and creates the start-vector generator. */
  static configure(opts: Readonly<Record<string, unknown>>): SpectralNormConfig {
    const n = opts.nPowerIterations ?? 1;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new Error(`${WHERE}: expected option 'nPowerIterations' to be a positive integer, received ${show(n)}`);
    }
    const seed = opts.seed === undefined ? undefined : optNumber(WHERE, 'seed', opts.seed, 0);
    return {
      ...scaleOptions(WHERE, opts),
      nPowerIterations: n,
      eps: optNumber(WHERE, 'eps', opts.eps, 1e-12, true),
      rng: rngFor(seed),
    };
  }

  /**
   * Reparametrises `target.names` of `module`, runs the power iterations and sets the
   * normalised weights (TorchDEQ leaves the raw weight until the first reset_norm).
   * @example SpectralNorm.apply(fc, { names: ['weight'], dims: [0] }, SpectralNorm.configure({ seed: 0 }))
   */
  static apply(module: AnyModule, target: NormTarget, config: SpectralNormConfig): SpectralNorm {
    const dims = target.names.map((name, i) => targetAxis(WHERE, module, name, module.tensor(name), target.dims[i]));
    const fn = new SpectralNorm(target.names, dims, config);
    target.names.forEach((name, i) => {
      const w = module.removeParameter(name)!;
      tidy(() => {
        const h = w.shape[dims[i]], cols = w.size / Math.max(h, 1);
        const u = normalize(normalFrom(config.rng, [h], w), config.eps);
        const v = normalize(normalFrom(config.rng, [cols], w), config.eps);
        module.registerParameter(`${name}_orig`, w, { requiresGrad: w.requiresGrad });
        if (config.learnScale) {
          const g = full(scaleShape(w.shape, dims[i]), config.targetNorm, { dtype: w.dtype, backend: w.backend });
          module.registerParameter(`${name}_g`, g, { requiresGrad: w.requiresGrad });
        }
        module.registerBuffer(`${name}_u`, u);
        module.registerBuffer(`${name}_v`, v);
      });
      w.dispose();
    });
    fn.update(module, true);
    return fn;
  }

  readonly names: readonly string[];
  readonly dims: readonly number[];
  readonly options: SpectralNormConfig;

  constructor(names: readonly string[], dims: readonly number[], options: SpectralNormConfig) {
    this.names = names;
    this.dims = dims;
    this.options = options;
  }

  /** Runs `nPowerIterations` iterations on u, v (no graph) and stores them in the buffers. */
  powerIterate(module: AnyModule, name: string, dim: number): void {
    tidy(() => noGrad(() => {
      const mat = toMatrix(module.tensor(`${name}_orig`), dim);
      let u = module.tensor(`${name}_u`), v = module.tensor(`${name}_v`);
      for (let k = 0; k < this.options.nPowerIterations; k++) {
        v = normalize(matmul(u, mat), this.options.eps);
        u = normalize(matmul(mat, v), this.options.eps);
      }
      module.registerBuffer(`${name}_u`, u);
      module.registerBuffer(`${name}_v`, v);
    }));
  }

  /** `w_orig * factor` with factor = g / sigma (or targetNorm / sigma), sigma = u^T W v. */
  computeWeight(module: AnyModule, name: string, dim: number): Tensor {
    const w = module.tensor(`${name}_orig`);
    const u = module.tensor(`${name}_u`), v = module.tensor(`${name}_v`);
    const sigma = sum(mul(u, matmul(toMatrix(w, dim), v)));
    return scaledWeight(module, name, w, sigma, this.options);
  }

  /**
   * Optionally power-iterates, then recomputes every normalised weight (with a graph to w_orig
   * and g). The weight is a computed tensor of the module: its first read after w_orig, g, u or
   * v change (an optimizer step, `loadStateDict`, `to`) recomputes it from the current u, v
   * (no power iteration; that is `resetNorm`'s), as a reloaded copy of the model computes it.
   */
  update(module: AnyModule, doPowerIteration: boolean): void {
    this.names.forEach((name, i) => {
      if (doPowerIteration) this.powerIterate(module, name, this.dims[i]);
      const deps = [`${name}_orig`, `${name}_u`, `${name}_v`, ...(this.options.learnScale ? [`${name}_g`] : [])];
      module.setComputedTensor(name, () => this.computeWeight(module, name, this.dims[i]), deps);
    });
  }

  /** Power-iterates in training mode (as TorchDEQ's reset_norm) and recomputes the weights. */
  reset(module: AnyModule): void {
    this.update(module, module.training);
  }

  /** Turns the normalised weights back into plain parameters and drops orig, g, u and v. */
  remove(module: AnyModule): void {
    this.names.forEach((name, i) => {
      const requiresGrad = module.tensor(`${name}_orig`).requiresGrad;
      tidy(() => {
        const w = noGrad(() => this.computeWeight(module, name, this.dims[i]));
        module.setTensorAttribute(name, null);
        module.removeBuffer(`${name}_u`)?.dispose();
        module.removeBuffer(`${name}_v`)?.dispose();
        if (this.options.learnScale) module.removeParameter(`${name}_g`)?.dispose();
        module.removeParameter(`${name}_orig`)?.dispose();
        module.registerParameter(name, w, { requiresGrad });
      });
    });
  }
}

/** Spectral norm as a value for the norm registry. */
export const spectralNormClass: NormClass<SpectralNormConfig> = SpectralNorm;
