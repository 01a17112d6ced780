/**
 * Applying weight reparametrisations to a whole model by name (TorchDEQ's `apply_norm` family):
 * a registry of norm types (`weight_norm`, `spectral_norm`, plus `registerNorm`), each with a
 * table of module classes it applies to (`registerNormModule`), and `applyNorm` / `resetNorm`
 * / `removeNorm` over every module of a model. Unlike TorchDEQ, unknown options throw.
 */
import type { AnyModule } from '../nn/module.js';
import { Module } from '../nn/module.js';
import { checkKeys } from '../autograd/engine.js';
import { weightNormClass } from './weight_norm.js';
import { spectralNormClass } from './spectral_norm.js';
import type { AppliedNorm, ModuleClass, NormClass, NormTarget } from './common.js';
import { show } from '../utils/format.js';

const norms = new Map<string, NormClass>([
  ['weight_norm', weightNormClass as NormClass],
  ['spectral_norm', spectralNormClass as NormClass],
]);

/** The norm applied to each module (one per module, as in TorchDEQ). */
const applied = new WeakMap<AnyModule, AppliedNorm>();

/** The applyNorm options every norm type accepts; each type adds its own (see `optionKeys`). */
const COMMON_KEYS = ['normType', 'filterOut', 'prefixFilterOut', 'names', 'dims'];

export interface NormOptions {
  /** A registered norm type, or 'none' to do nothing (default 'weight_norm'). */
  normType?: string;
  /** Skip modules whose dotted name contains any of these strings. */
  filterOut?: string | string[];
  /** Skip modules whose dotted name starts with any of these strings. */
  prefixFilterOut?: string | string[];
  /** Tensor names to normalise in each matched module (default: the module class's entry). */
  names?: string | string[];
  /** Output axis of each name (default: the module class's entry). */
  dims?: number | number[];
  /** Learn a per-output scale `<name>_g` (default true). */
  learnScale?: boolean;
  /** Without learnScale, the norm the weights are scaled to (default 1). */
  targetNorm?: number;
  /** Cap the scale factor at clipValue (default false). */
  clip?: boolean;
  clipValue?: number;
  /** spectral_norm: power iterations per apply / training-mode reset (default 1). */
  nPowerIterations?: number;
  /** spectral_norm: floor of the norm when normalising u and v (default 1e-12). */
  eps?: number;
  /** spectral_norm: seed of the random start vectors (default: the global generator). */
  seed?: number;
}

function knownNorms(): string {
  return [...norms.keys()].map((k) => `'${k}'`).join(', ');
}

/**
 * The norm class registered as `normType`.
 * @example getNorm('spectral_norm').optionKeys
 */
export function getNorm(normType: string): NormClass {
  const cls = norms.get(normType);
  if (!cls) throw new Error(`applyNorm: unknown normType '${normType}'; registered norm types are ${knownNorms()} (or 'none')`);
  return cls;
}

/** Names of the registered norm types. @example listNorms() // ['weight_norm', 'spectral_norm'] */
export function listNorms(): string[] {
  return [...norms.keys()];
}

/**
 * Registers a norm type for `applyNorm` (replacing any of that name).
 * @example registerNorm('my_norm', { optionKeys: [], targetModules: new Map([[Linear, { names: ['weight'], dims: [0] }]]), configure: () => ({}), apply: (m) => myNorm(m) });
 */
export function registerNorm(normType: string, cls: NormClass<any>): void {
  if (typeof normType !== 'string' || normType === '' || normType === 'none') {
    throw new Error(`registerNorm: expected a non-empty name other than 'none', received ${show(normType)}`);
  }
  const missing = ['optionKeys', 'targetModules', 'configure', 'apply'].filter((k) => !cls || !(k in cls));
  if (missing.length || !(cls.targetModules instanceof Map)) {
    throw new Error(`registerNorm: expected a norm class with optionKeys, targetModules (a Map), configure and apply for '${normType}', received one missing ${missing.length ? missing.join(', ') : 'a Map targetModules'}`);
  }
  norms.set(normType, cls as NormClass);
}

function asList<T>(where: string, name: string, v: T | T[], check: (x: unknown) => boolean, what: string): T[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || list.some((x) => !check(x))) {
    throw new Error(`${where}: expected ${name} to be ${what} or a non-empty list of them, received ${show(v)}`);
  }
  return list;
}

function toTarget(where: string, names: string | string[], dims: number | number[]): NormTarget {
  const n = asList(where, 'names', names, (x) => typeof x === 'string' && x !== '', 'a tensor name');
  const d = asList(where, 'dims', dims, (x) => Number.isInteger(x), 'an integer axis');
  if (n.length !== d.length) {
    throw new Error(`${where}: expected one dim per name, received ${n.length} names and ${d.length} dims`);
  }
  return { names: n, dims: d };
}

/**
 * Makes `normType` apply to modules of `moduleClass` (exact class, as TorchDEQ), normalising
 * the tensors `names` along the output axes `dims`.
 * @example registerNormModule(MyLayer, 'weight_norm', 'kernel', 0)
 */
export function registerNormModule(moduleClass: ModuleClass, normType: string, names: string | string[] = 'weight',
  dims: number | number[] = 0): void {
  if (typeof moduleClass !== 'function' || !(moduleClass.prototype instanceof Module)) {
    throw new Error(`registerNormModule: expected a Module subclass, received ${typeof moduleClass === 'function' ? moduleClass.name || 'a function' : typeof moduleClass}`);
  }
  getNorm(normType).targetModules.set(moduleClass, toTarget('registerNormModule', names, dims));
}

function skipped(name: string, filterOut: string[], prefixFilterOut: string[]): boolean {
  return filterOut.some((s) => name.includes(s)) || prefixFilterOut.some((s) => name.startsWith(s));
}

function stringList(where: string, name: string, v: unknown): string[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) {
    throw new Error(`${where}: expected option '${name}' to be a string or a list of strings, received ${show(v)}`);
  }
  return list;
}

/**
 * Reparametrises the weights of every matching module of `model` (TorchDEQ's apply_norm):
 * modules whose class is in the norm type's table, minus those whose dotted name contains a
 * `filterOut` string or starts with a `prefixFilterOut` string. Returns the names of the
 * modules it normalised. Call `resetNorm(model)` at the start of every training step.
 * @example applyNorm(model, { normType: 'spectral_norm', nPowerIterations: 2, filterOut: ['head'] })
 */
export function applyNorm(model: AnyModule, opts: NormOptions = {}): string[] {
  if (!(model instanceof Module)) throw new Error(`applyNorm: expected a Module, received ${model === null ? 'null' : typeof model}`);
  const normType = opts.normType ?? 'weight_norm';
  if (typeof normType !== 'string') throw new Error(`applyNorm: expected option 'normType' to be a string, received ${typeof normType}`);
  if (normType === 'none') {
    checkKeys("applyNorm (normType 'none')", opts, COMMON_KEYS);
    return [];
  }
  const cls = getNorm(normType);
  const where = `applyNorm (normType '${normType}')`;
  checkKeys(where, opts, [...COMMON_KEYS, ...cls.optionKeys]);
  const filterOut = stringList(where, 'filterOut', opts.filterOut);
  const prefixFilterOut = stringList(where, 'prefixFilterOut', opts.prefixFilterOut);
  if ((opts.names === undefined) !== (opts.dims === undefined)) {
    throw new Error(`${where}: expected both 'names' and 'dims' or neither, received only '${opts.names === undefined ? 'dims' : 'names'}'`);
  }
  const override = opts.names !== undefined ? toTarget(where, opts.names, opts.dims!) : null;
  const normOpts: Record<string, unknown> = {};
  for (const k of cls.optionKeys) if ((opts as Record<string, unknown>)[k] !== undefined) normOpts[k] = (opts as Record<string, unknown>)[k];
  const config = cls.configure(normOpts);
  const done: string[] = [];
  for (const [name, m] of model.namedModules()) {
    if (skipped(name, filterOut, prefixFilterOut)) continue;
    const target = cls.targetModules.get(m.constructor as ModuleClass);
    if (!target) continue;
    if (applied.has(m)) {
      throw new Error(`${where}: module '${name}' (${m.typeName}) already has a norm; call removeNorm first`);
    }
    applied.set(m, cls.apply(m, override ?? target, config));
    done.push(name);
  }
  return done;
}

/**
 * Recomputes the normalised weights of every normed module (spectral norm also runs its power
 * iterations in training mode). Call once per training step, before the forward pass.
 * @example resetNorm(model)
 */
export function resetNorm(model: AnyModule): void {
  if (!(model instanceof Module)) throw new Error(`resetNorm: expected a Module, received ${model === null ? 'null' : typeof model}`);
  for (const m of model.modules()) applied.get(m)?.reset(m);
}

/**
 * Undoes the norms of every normed module: each weight becomes a plain parameter holding the
 * current normalised value.
 * @example removeNorm(model)
 */
export function removeNorm(model: AnyModule): void {
  if (!(model instanceof Module)) throw new Error(`removeNorm: expected a Module, received ${model === null ? 'null' : typeof model}`);
  for (const m of model.modules()) {
    const n = applied.get(m);
    if (!n) continue;
    n.remove(m);
    applied.delete(m);
  }
}

/** Whether `module` itself (not its children) currently has a norm applied. @example hasNorm(fc) */
export function hasNorm(module: AnyModule): boolean {
  return applied.has(module);
}
