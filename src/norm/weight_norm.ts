/**
 * Weight normalisation (Salimans & Kingma, 2016, arXiv:1602.07868) as TorchDEQ applies it: a
 * weight `w` becomes two parameters, `<name>_v` (the direction, initialised to w) and, with
 * learnScale, `<name>_g` (one scale per output, initialised to ||w|| per output), and the
 * module's `<name>` is the computed tensor `v * g / ||v||` (or `v * targetNorm / ||v||`), the
 * factor optionally capped at clipValue. The names match torch's so state dicts line up.
 */
import type { AnyModule } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { noGrad } from '../autograd/engine.js';
import { Linear } from '../nn/linear.js';
import { Conv2d } from '../nn/conv.js';
import {
  normExceptDim, scaledWeight, scaleOptions, targetAxis,
  type AppliedNorm, type ModuleClass, type NormClass, type NormTarget, type ScaleOptions,
} from './common.js';

const WHERE = "applyNorm (normType 'weight_norm')";

/**
 * One module's weight norm: the reparametrised names, their axes and the options. Usually made
 * by `applyNorm`, which keeps it for `resetNorm` / `removeNorm`.
 * @example const wn = WeightNorm.apply(fc, { names: ['weight'], dims: [0] }, WeightNorm.configure({})); wn.reset(fc);
 */
export class WeightNorm implements AppliedNorm {
  /** Option keys weight norm understands (beyond applyNorm's own). */
  static readonly optionKeys: readonly string[] = ['learnScale', 'targetNorm', 'clip', 'clipValue'];
  /** Module classes normalised by default, with the tensor names and output axes. */
  static readonly targetModules = new Map<ModuleClass, NormTarget>([
    [Linear, { names: ['weight'], dims: [0] }],
    [Conv2d, { names: ['weight'], dims: [0] }],
  ]);

  /** Validates the options once per applyNorm call. */
  static configure(opts: Readonly<Record<string, unknown>>): ScaleOptions {
    return scaleOptions(WHERE, opts);
  }

  /**
   * Reparametrises `target.names` of `module` and sets the normalised weights.
   * @example WeightNorm.apply(fc, { names: ['weight'], dims: [0] }, WeightNorm.configure({}))
   */
  static apply(module: AnyModule, target: NormTarget, config: ScaleOptions): WeightNorm {
    const dims = target.names.map((name, i) => {
      const w = module.tensor(name);
      return targetAxis(WHERE, module, name, w, target.dims[i]);
    });
    const fn = new WeightNorm(target.names, dims, config);
    target.names.forEach((name, i) => {
      const w = module.removeParameter(name)!;
      tidy(() => {
        if (config.learnScale) {
          module.registerParameter(`${name}_g`, noGrad(() => normExceptDim(w, dims[i])), { requiresGrad: w.requiresGrad });
        }
        module.registerParameter(`${name}_v`, w, { requiresGrad: w.requiresGrad });
      });
      w.dispose();
    });
    fn.reset(module);
    return fn;
  }

  readonly names: readonly string[];
  readonly dims: readonly number[];
  readonly options: ScaleOptions;

  constructor(names: readonly string[], dims: readonly number[], options: ScaleOptions) {
    this.names = names;
    this.dims = dims;
    this.options = options;
  }

  /** `v * factor` with factor = g / ||v|| (or targetNorm / ||v||), capped when clipping. */
  computeWeight(module: AnyModule, name: string, dim: number): Tensor {
    const v = module.tensor(`${name}_v`);
    return scaledWeight(module, name, v, normExceptDim(v, dim), this.options);
  }

  /**
   * Recomputes every normalised weight from the current g and v (with a graph to them). The
   * weight is a computed tensor of the module: it is also recomputed on its first read after g
   * or v change (an optimizer step, `loadStateDict`, `to`), so it is never stale.
   */
  reset(module: AnyModule): void {
    this.names.forEach((name, i) => {
      const deps = this.options.learnScale ? [`${name}_v`, `${name}_g`] : [`${name}_v`];
      module.setComputedTensor(name, () => this.computeWeight(module, name, this.dims[i]), deps);
    });
  }

  /** Turns the normalised weights back into plain parameters and drops g and v. */
  remove(module: AnyModule): void {
    this.names.forEach((name, i) => {
      const v = module.tensor(`${name}_v`);
      const requiresGrad = v.requiresGrad;
      tidy(() => {
        const w = noGrad(() => this.computeWeight(module, name, this.dims[i]));
        module.setTensorAttribute(name, null);
        if (this.options.learnScale) module.removeParameter(`${name}_g`)?.dispose();
        module.removeParameter(`${name}_v`)?.dispose();
        module.registerParameter(name, w, { requiresGrad });
      });
    });
  }
}

/** Weight norm as a value for the norm registry. */
export const weightNormClass: NormClass<ScaleOptions> = WeightNorm;
