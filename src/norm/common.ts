/**
 * Shared pieces of the weight reparametrisations: the contract a norm class implements (so
 * `registerNorm` can add new ones), the options every norm understands, their validation, and
 * small differentiable helpers (norm over all axes but one, the scaled and clipped weight).
 */
import type { AnyModule } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { div, minimum, mul } from '../ops/arith.js';
import { sum } from '../ops/reduce.js';
import { sqrt } from '../ops/unary.js';
import { normAxis } from '../ops/util.js';
import { show } from '../utils/format.js';

/** A module class (constructor) such as `Linear`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ModuleClass = abstract new (...args: any[]) => AnyModule;

/** Which tensors of a module a norm reparametrises, and the output axis of each. */
export interface NormTarget {
  names: string[];
  dims: number[];
}

/** A norm applied to one module: recompute its weights, or undo the reparametrisation. */
export interface AppliedNorm {
  /** Recomputes the normalised weights (once per training step, like TorchDEQ's reset_norm). */
  reset(module: AnyModule): void;
  /** Replaces the reparametrisation by a plain parameter holding the current normalised weight. */
  remove(module: AnyModule): void;
}

/**
 * A normalisation type for `applyNorm`: its option keys, the module classes it applies to by
 * default, a one-time `configure` (validation and defaults, shared by every module of one
 * `applyNorm` call) and `apply` for one module.
 */
export interface NormClass<Config = unknown> {
  readonly optionKeys: readonly string[];
  readonly targetModules: Map<ModuleClass, NormTarget>;
  configure(opts: Readonly<Record<string, unknown>>): Config;
  apply(module: AnyModule, target: NormTarget, config: Config): AppliedNorm;
}

/** Options shared by weight and spectral norm, with TorchDEQ's defaults. */
export interface ScaleOptions {
  /** Learn a per-output scale `<name>_g` (default true). */
  learnScale: boolean;
  /** Without learnScale, the norm the weights are scaled to (default 1). */
  targetNorm: number;
  /** Cap the scale factor at clipValue (default false). */
  clip: boolean;
  clipValue: number;
}

export const SCALE_DEFAULTS: ScaleOptions = { learnScale: true, targetNorm: 1, clip: false, clipValue: 1 };

export function optBool(where: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new Error(`${where}: expected option '${name}' to be a boolean, received ${show(v)}`);
  return v;
}

export function optNumber(where: string, name: string, v: unknown, dflt: number, positive = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) {
    throw new Error(`${where}: expected option '${name}' to be a finite${positive ? ' positive' : ''} number, received ${show(v)}`);
  }
  return v;
}

export function scaleOptions(where: string, o: Readonly<Record<string, unknown>>): ScaleOptions {
  return {
    learnScale: optBool(where, 'learnScale', o.learnScale, SCALE_DEFAULTS.learnScale),
    targetNorm: optNumber(where, 'targetNorm', o.targetNorm, SCALE_DEFAULTS.targetNorm),
    clip: optBool(where, 'clip', o.clip, SCALE_DEFAULTS.clip),
    clipValue: optNumber(where, 'clipValue', o.clipValue, SCALE_DEFAULTS.clipValue),
  };
}

/** The axis `dim` of a tensor `name` of `module`, checked against its rank. */
export function targetAxis(where: string, module: AnyModule, name: string, w: Tensor, dim: number): number {
  try {
    return normAxis(where, dim, w.rank);
  } catch {
    throw new Error(`${where}: expected dim ${dim} to be an axis of ${module.typeName}.${name} (shape ${fmtShape(w.shape)})`);
  }
}

/** The 2-norm over every axis except `dim`, keeping dims: shape 1 everywhere but `dim`. */
export function normExceptDim(w: Tensor, dim: number): Tensor {
  const axes = w.shape.map((_, i) => i).filter((i) => i !== dim);
  return sqrt(sum(mul(w, w), axes, { keepDims: true }));
}

/**
 * The scaled weight both norms compute: `w * g / denom` with the module's per-output scale
 * `<name>_g`, or `w * targetNorm / denom` without learnScale; the factor is capped at clipValue
 * when clipping. `denom` is ||v|| per output for weight norm, sigma for spectral norm.
 */
export function scaledWeight(module: AnyModule, name: string, w: Tensor, denom: Tensor, o: ScaleOptions): Tensor {
  const factor = o.learnScale ? div(module.tensor(`${name}_g`), denom) : div(o.targetNorm, denom);
  return mul(w, o.clip ? minimum(factor, o.clipValue) : factor);
}

/** The shape with `size` at `dim` and 1 elsewhere (the shape of a per-output scale). */
export function scaleShape(shape: readonly number[], dim: number): number[] {
  return shape.map((d, i) => (i === dim ? d : 1));
}
