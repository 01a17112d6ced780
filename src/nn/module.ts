/**
 * `Module`: the base of every layer, like `torch.nn.Module`. A module owns named parameters
 * (leaf tensors with requiresGrad, `keep()`-ed so no `tidy` disposes them), buffers (state that
 * is saved but not trained) and child modules; names are torch's dotted state-dict names
 * (`layers.0.weight`), so checkpoints move between tsdeq and PyTorch unchanged.
 *
 * Tensors are immutable values, so a module reads its tensors by name at forward time
 * (`this.tensor('weight')`): that is what lets `to(dtype)`, `loadStateDict` and
 * reparametrisations (weight norm computing `weight` from `weight_g` / `weight_v`) work
 * without the layer knowing about them.
 */
import { Tensor, fmtShape } from '../tensor.js';
import { keep, tidy } from '../scope.js';
import { checkKeys, isGradEnabled, noGrad } from '../autograd/engine.js';
import { cast } from '../ops/cast.js';
import { readForMove, resolvePlacement, storageFrom, to as moveTo, toAsync as moveToAsync, type Placement, type ToTarget } from '../ops/transfer.js';
import type { Backend, Storage } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import type { DType, TypedArray } from '../dtype.js';
import { show } from '../utils/format.js';

/** Any module, whatever its forward signature. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any[], any>;

/** A state dict: torch-style dotted names to tensors. */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Require the keys to match the module's exactly (default true). Shapes and dtypes are always checked. */
  strict?: boolean;
}

/** Keys that did not line up in `loadStateDict` (always empty when strict). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface ParameterOptions {
  /** Whether the parameter is trained (default true). */
  requiresGrad?: boolean;
}

export interface BufferOptions {
  /** Whether the buffer is part of the state dict (default true). */
  persistent?: boolean;
}

/** A fresh leaf copy of `value` with its own storage, kept out of every tidy scope. */
function ownedCopy(value: Tensor, requiresGrad: boolean): Tensor {
  const t = noGrad(() => cast(value, value.dtype));
  t.requiresGrad = requiresGrad;
  return keep(t);
}

/** Frees a module-owned tensor and its gradient. */
function release(t: Tensor | null | undefined): void {
  if (!t) return;
  t.grad?.dispose();
  t.grad = null;
  t.dispose();
}

/** Internal: writes `src`'s values into `dst`'s storage (same shape and dtype). @example copyInto(param, loaded) */
export function copyInto(dst: Tensor, src: Tensor): void {
  dst.makeExclusive(); // views of the parameter keep their values
  if (dst.backend === src.backend) {
    // Both are contiguous and the same size: one flat copy.
    dst.backend.copy(src.storage, 0, [1], dst.storage, 0, [1], [dst.size]);
  } else {
    // Across backends the source is read on the host (CPU backends; move GPU tensors first).
    dst.backend.write(dst.storage, src.dataSync());
  }
  dst.version++;
}

/** A computed tensor attribute: how to compute it, what it reads, and the reads' state last time. */
interface Derived {
  compute: () => Tensor;
  deps: readonly string[];
  stamp: unknown[] | null;
}

/** Internal: `t`'s values in a new storage placed at `p` (cast on the same backend, else via the host). */
function moveStorageSync(where: string, t: Tensor, p: Placement): Storage {
  if (p.backend === t.backend) {
    const s = t.backend.alloc(t.size, p.dtype);
    t.backend.cast(t.storage, s);
    return s;
  }
  return storageFrom(p.backend, p.dtype, readForMove(where, t));
}

/**
 * Base class of layers. Subclasses register their tensors and children in the constructor and
 * implement `forward`.
 * @example
 * class Affine extends Module {
 *   constructor() { super(); this.registerParameter('scale', ones([3])); }
 *   forward(x: Tensor) { return x.mul(this.tensor('scale')); }
 * }
 */
export abstract class Module<Args extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode (see `train()` / `eval()`); layers such as dropout read it. */
  training = true;
  readonly #params = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #nonPersistent = new Set<string>();
  readonly #children = new Map<string, AnyModule | null>();
  readonly #attributes = new Map<string, Tensor>();
  readonly #derived = new Map<string, Derived>();

  /** The computation. Call it directly: `layer.forward(x)`. */
  abstract forward(...args: Args): Out;

  /** The class name, used in error messages. */
  get typeName(): string {
    return this.constructor.name || 'Module';
  }

  #checkName(where: string, name: unknown, kind: 'parameter' | 'buffer' | 'module' | 'attribute'): string {
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new Error(`${where}: expected a non-empty name without '.', received ${show(name)}`);
    }
    const taken: [Map<string, unknown>, string][] = [
      [this.#params, 'parameter'], [this.#buffers, 'buffer'], [this.#children, 'module'], [this.#attributes, 'attribute'],
    ];
    for (const [map, k] of taken) {
      if (k !== kind && map.has(name)) {
        throw new Error(`${where}: '${name}' is already ${k === 'attribute' ? 'an' : 'a'} ${k} of ${this.typeName}; remove it first`);
      }
    }
    return name;
  }

  /** Stores an owned copy of `value` (or null) as the parameter or buffer `name`, releasing the previous one. */
  #store(where: string, kind: 'parameter' | 'buffer', map: Map<string, Tensor | null>, name: string,
    value: Tensor | null, requiresGrad: boolean): Tensor | null {
    this.#checkName(where, name, kind);
    if (value !== null && !(value instanceof Tensor)) {
      throw new Error(`${where}: expected a Tensor or null for '${name}', received ${typeof value}`);
    }
    value?.assertLive(`${where} ('${name}')`);
    const t = value === null ? null : ownedCopy(value, requiresGrad);
    release(map.get(name));
    map.set(name, t);
    return t;
  }

  /** Removes the parameter or buffer `name` from `map` and returns it (the caller owns it). */
  #take(where: string, kind: 'parameter' | 'buffer', map: Map<string, Tensor | null>, name: string): Tensor | null {
    if (!map.has(name)) throw new Error(`${where}: no ${kind} '${name}'; ${kind}s are ${listNames(map)}`);
    const t = map.get(name)!;
    map.delete(name);
    return t;
  }

  /**
   * Registers (or replaces) a parameter. The module stores its own copy of `value` as a leaf
   * with requiresGrad and returns it; `null` registers a declared-but-absent parameter (like a
   * disabled bias), which the state dict skips.
   * @example const w = this.registerParameter('weight', randn([4, 3], { seed: 0 }));
   */
  registerParameter(name: string, value: Tensor | null, opts: ParameterOptions = {}): Tensor | null {
    const where = `${this.typeName}.registerParameter`;
    checkKeys(where, opts, ['requiresGrad']);
    return this.#store(where, 'parameter', this.#params, name, value, opts.requiresGrad ?? true);
  }

  /**
   * Removes a parameter and hands it to the caller (who now owns it and must dispose it).
   * Reparametrisations use this before registering their own tensors.
   * @example const w = m.removeParameter('weight');
   */
  removeParameter(name: string): Tensor | null {
    return this.#take(`${this.typeName}.removeParameter`, 'parameter', this.#params, name);
  }

  /**
   * Removes a buffer and hands it to the caller (who now owns it and must dispose it).
   * @example m.removeBuffer('weight_u')?.dispose();
   */
  removeBuffer(name: string): Tensor | null {
    const b = this.#take(`${this.typeName}.removeBuffer`, 'buffer', this.#buffers, name);
    this.#nonPersistent.delete(name);
    return b;
  }

  /**
   * Registers (or replaces) a buffer: saved state that is not trained (a copy of `value`).
   * @example this.registerBuffer('runningMean', zeros([8]));
   */
  registerBuffer(name: string, value: Tensor | null, opts: BufferOptions = {}): Tensor | null {
    const where = `${this.typeName}.registerBuffer`;
    checkKeys(where, opts, ['persistent']);
    const b = this.#store(where, 'buffer', this.#buffers, name, value, false);
    if (opts.persistent === false) this.#nonPersistent.add(name);
    else this.#nonPersistent.delete(name);
    return b;
  }

  /**
   * Registers (or replaces) a child module; its tensors appear under `name.` in the state dict.
   * Returns the child, so it can initialise a field.
   * @example readonly fc = this.registerModule('fc', new Linear(4, 2));
   */
  registerModule<M extends AnyModule | null>(name: string, module: M): M {
    const where = `${this.typeName}.registerModule`;
    this.#checkName(where, name, 'module');
    if (module !== null && !(module instanceof Module)) {
      throw new Error(`${where}: expected a Module or null for '${name}', received ${typeof module}`);
    }
    this.#children.set(name, module);
    return module;
  }

  /**
   * Sets a plain tensor attribute: a computed tensor (graph included) read by `tensor(name)`
   * but not part of the state dict nor of `parameters()`, like assigning `module.weight = ...`
   * in torch after a reparametrisation. The module holds its own handle; the previous one is
   * released. `null` removes it.
   * @example m.setTensorAttribute('weight', g.mul(v.div(vNorm)));
   */
  setTensorAttribute(name: string, value: Tensor | null): void {
    const where = `${this.typeName}.setTensorAttribute`;
    this.#checkName(where, name, 'attribute');
    if (value !== null && !(value instanceof Tensor)) {
      throw new Error(`${where}: expected a Tensor or null for '${name}', received ${typeof value}`);
    }
    this.#derived.delete(name);
    this.#setAttribute(name, value === null ? null : value.assertLive(`${where} ('${name}')`));
  }

  #setAttribute(name: string, value: Tensor | null): void {
    const old = this.#attributes.get(name);
    if (value === null) this.#attributes.delete(name);
    else this.#attributes.set(name, keep(value.alias()));
    old?.dispose();
  }

  /**
   * Sets a computed tensor attribute that stays current: `compute()` runs now and again on the
   * first read (`tensor(name)`) after any tensor named in `dependsOn` changed (an optimizer step,
   * `loadStateDict`, `to`, re-registration), or when grad mode is on but the stored value was
   * computed without a graph. Weight and spectral norm use it, so the normalised weight is
   * never stale. Within one step (no change) every read returns the same tensor, graph included.
   * @example m.setComputedTensor('weight', () => v.mul(g.div(norm(v))), ['weight_v', 'weight_g']);
   */
  setComputedTensor(name: string, compute: () => Tensor, dependsOn: readonly string[]): void {
    const where = `${this.typeName}.setComputedTensor`;
    this.#checkName(where, name, 'attribute');
    if (typeof compute !== 'function') throw new Error(`${where}: expected compute to be a function, received ${typeof compute}`);
    if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== 'string' || !(this.#params.has(d) || this.#buffers.has(d)))) {
      throw new Error(`${where}: expected dependsOn to list parameter or buffer names of ${this.typeName}, received ${JSON.stringify(dependsOn)}`);
    }
    const d: Derived = { compute, deps: [...dependsOn], stamp: null };
    this.#refresh(name, d);
    this.#derived.set(name, d);
  }

  /** The dependencies' identities and versions, and whether a graph would be recorded now. */
  #stampOf(d: Derived): unknown[] {
    const stamp: unknown[] = [];
    let grads = false;
    for (const n of d.deps) {
      const t = this.#params.get(n) ?? this.#buffers.get(n) ?? null;
      stamp.push(t, t?.version, t?.storage);
      if (t?.requiresGrad) grads = true;
    }
    stamp.push(grads && isGradEnabled());
    return stamp;
  }

  #refresh(name: string, d: Derived): void {
    const stamp = this.#stampOf(d);
    tidy(() => this.#setAttribute(name, d.compute()));
    d.stamp = stamp;
  }

  #isStale(d: Derived): boolean {
    if (d.stamp === null) return true;
    const now = this.#stampOf(d);
    // A value computed with a graph serves reads without one too (as torch's cached weight does).
    const last = now.length - 1;
    for (let i = 0; i < last; i++) if (now[i] !== d.stamp[i]) return true;
    return now[last] === true && d.stamp[last] !== true;
  }

  /** Whether `name` is a parameter, buffer or tensor attribute of this module (even if null). */
  hasTensor(name: string): boolean {
    return this.#params.has(name) || this.#buffers.has(name) || this.#attributes.has(name);
  }

  /**
   * The tensor called `name`: a tensor attribute, else a parameter, else a buffer; null when
   * registered as null. Throws for unknown names.
   * @example const b = this.optionalTensor('bias');
   */
  optionalTensor(name: string): Tensor | null {
    const d = this.#derived.get(name);
    if (d !== undefined && this.#isStale(d)) this.#refresh(name, d);
    if (this.#attributes.has(name)) return this.#attributes.get(name)!;
    if (this.#params.has(name)) return this.#params.get(name)!;
    if (this.#buffers.has(name)) return this.#buffers.get(name)!;
    const known = [...this.#attributes.keys(), ...this.#params.keys(), ...this.#buffers.keys()];
    throw new Error(`${this.typeName}: no tensor named '${name}'; known tensors are ${known.length ? known.map((k) => `'${k}'`).join(', ') : '(none)'}`);
  }

  /**
   * Like `optionalTensor` but throws when the tensor is null.
   * @example forward(x: Tensor) { return linear(x, this.tensor('weight')); }
   */
  tensor(name: string): Tensor {
    const t = this.optionalTensor(name);
    if (t === null) throw new Error(`${this.typeName}: tensor '${name}' is registered as null`);
    return t;
  }

  /** A direct child module by name (throws for unknown names). @example seq.getModule('0') */
  getModule(name: string): AnyModule | null {
    if (!this.#children.has(name)) {
      throw new Error(`${this.typeName}.getModule: no child '${name}'; children are ${listNames(this.#children)}`);
    }
    return this.#children.get(name)!;
  }

  /** Direct children as [name, module] (null children skipped). @example for (const [n, c] of m.namedChildren()) ... */
  namedChildren(): [string, AnyModule][] {
    return [...this.#children].filter((e): e is [string, AnyModule] => e[1] !== null);
  }

  /** Direct children. @example m.children().length */
  children(): AnyModule[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /**
   * This module and every descendant, pre-order, each once, with dotted names ('' for this one).
   * @example model.namedModules().map(([n]) => n) // ['', 'layers', 'layers.0', ...]
   */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    const visit = (m: AnyModule, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m.namedChildren()) visit(c, p ? `${p}.${n}` : n);
    };
    visit(this, prefix);
    return out;
  }

  /** This module and every descendant. @example model.modules().length */
  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * Every parameter with its dotted name (pre-order; a shared parameter is listed once).
   * @example model.namedParameters() // [['layers.0.weight', W0], ['layers.0.bias', b0], ...]
   */
  namedParameters(): [string, Tensor][] {
    return this.#namedMembers((m) => m.#params);
  }

  /** Every parameter (for optimizers). @example new Adam(model.parameters(), { lr: 1e-3 }) */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer with its dotted name (persistent or not). @example model.namedBuffers() */
  namedBuffers(): [string, Tensor][] {
    return this.#namedMembers((m) => m.#buffers);
  }

  /** Every buffer. @example model.buffers() */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  #namedMembers(pick: (m: AnyModule) => Map<string, Tensor | null>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, t] of pick(m)) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        out.push([prefix ? `${prefix}.${n}` : n, t]);
      }
    }
    return out;
  }

  /**
   * Internal: the state-dict entries as live module tensors (not copies), in torch's order:
   * each module's parameters, then its persistent buffers, then its children.
   */
  stateEntries(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const visit = (m: AnyModule, prefix: string): void => {
      for (const [n, p] of m.#params) if (p) out.push([prefix + n, p]);
      for (const [n, b] of m.#buffers) if (b && !m.#nonPersistent.has(n)) out.push([prefix + n, b]);
      for (const [n, c] of m.#children) if (c) visit(c, `${prefix}${n}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * A snapshot of the parameters and persistent buffers as copies, under torch's names.
   * Later optimizer steps do not change it; dispose it (or create it in a `tidy`) when done.
   * @example const snapshot = model.stateDict(); // { 'fc.weight': ..., 'fc.bias': ... }
   */
  stateDict(): StateDict {
    const out: StateDict = Object.create(null) as StateDict; // any name, '__proto__' included, is a plain key
    for (const [n, t] of this.stateEntries()) out[n] = noGrad(() => cast(t, t.dtype));
    return out;
  }

  /**
   * Copies values from `dict` into the module's parameters and buffers (the module keeps its
   * own tensors, so optimizers holding them keep working). Shapes and dtypes must match; with
   * `strict` (default) the key sets must match too. Nothing is written unless every check
   * passes. Returns the keys that did not match (non-strict).
   * @example model.loadStateDict(other.stateDict());
   */
  loadStateDict(dict: StateDict | Map<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const where = `${this.typeName}.loadStateDict`;
    checkKeys(where, opts, ['strict']);
    const strict = opts.strict ?? true;
    if (typeof strict !== 'boolean') throw new Error(`${where}: expected option 'strict' to be a boolean, received ${show(strict)}`);
    if (dict === null || typeof dict !== 'object') {
      throw new Error(`${where}: expected a state dict (object or Map of name -> Tensor), received ${dict === null ? 'null' : typeof dict}`);
    }
    const given = dict instanceof Map ? new Map(dict) : new Map(Object.entries(dict));
    const own = new Map(this.stateEntries());
    const problems: string[] = [];
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const pairs: [Tensor, Tensor][] = [];
    for (const [k, dst] of own) {
      if (!given.has(k)) continue;
      const src = given.get(k);
      if (!(src instanceof Tensor)) {
        problems.push(`'${k}': expected a Tensor, received ${src === null ? 'null' : typeof src}`);
        continue;
      }
      if (src.isDisposed) {
        problems.push(`'${k}': expected a live tensor, received a disposed tensor`);
        continue;
      }
      if (src.shape.length !== dst.shape.length || src.shape.some((d, i) => d !== dst.shape[i])) {
        problems.push(`shape mismatch for '${k}': the model has ${fmtShape(dst.shape)}, the state dict has ${fmtShape(src.shape)}`);
        continue;
      }
      if (src.dtype !== dst.dtype) {
        problems.push(`dtype mismatch for '${k}': the model has ${dst.dtype}, the state dict has ${src.dtype} (cast the model with .to('${src.dtype}') or the tensor with .cast('${dst.dtype}'))`);
        continue;
      }
      pairs.push([dst, src]);
    }
    if (strict && missingKeys.length) problems.unshift(`missing keys: ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
    if (strict && unexpectedKeys.length) problems.unshift(`unexpected keys: ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    if (problems.length) {
      throw new Error(`${where}: error(s) loading the state dict (nothing was loaded):\n  ${problems.join('\n  ')}`);
    }
    for (const [dst, src] of pairs) copyInto(dst, src);
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Sets training mode on this module and every descendant. Returns this.
   * @example model.train(); model.eval();
   */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new Error(`${this.typeName}.train: expected a boolean mode, received ${typeof mode}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (`train(false)`). @example model.eval() */
  eval(): this {
    return this.train(false);
  }

  /**
   * Clears every parameter's `.grad` (sets it to null and frees it, like torch's
   * `zero_grad(set_to_none=True)`).
   * @example model.zeroGrad();
   */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      p.grad = null;
      g?.dispose();
    }
  }

  /**
   * Moves every parameter and buffer (and their gradients) to another backend and/or dtype, in
   * place, like torch's `module.to`: `model.to('wasm')`, `model.to('float64')`,
   * `model.to('js', 'float64')`. Parameters keep their identity (same Tensor objects, new
   * storage), so optimizers created before keep working (their state follows at the next
   * step). Computed tensors (weight-normalised weights) are recomputed on the next read; other
   * tensor attributes are moved without their graph. Nothing changes if any move fails.
   * Synchronous; from a backend read only asynchronously (webgpu) use `toAsync`. Returns this.
   * @example const model = new Linear(3, 2).to('float64');
   */
  to(target: ToTarget, dtype?: DType): this {
    const where = `${this.typeName}.to`;
    const plan = this.#movePlan(where, target, dtype);
    const attrs = this.#moveAttributes(plan, (a) => moveTo(a, target, dtype));
    this.#applyMoves(plan, plan.map(([t, p]) => () => moveStorageSync(where, t, p)), attrs);
    return this;
  }

  /**
   * Like `to`, for every backend, reading asynchronously where the source needs it (webgpu).
   * @example await model.toAsync('js'); await save(model, path);
   */
  async toAsync(target: ToTarget, dtype?: DType): Promise<this> {
    const where = `${this.typeName}.toAsync`;
    const plan = this.#movePlan(where, target, dtype);
    const values: (TypedArray | null)[] = [];
    for (const [t, p] of plan) {
      values.push(p.backend === t.backend || !t.backend.asyncOnly ? null : await t.backend.readAsync(t.storage));
    }
    const attrs = new Map<Tensor, Tensor>();
    try {
      for (const [a, moved] of this.#moveAttributes(plan, (a) => a)) attrs.set(a, keep(await noGrad(() => moveToAsync(moved, target, dtype))));
    } catch (e) {
      for (const [a, c] of attrs) if (c !== a) c.dispose();
      throw e;
    }
    this.#applyMoves(plan, plan.map(([t, p], i) => () => {
      t.assertLive(where);
      const v = values[i];
      return v === null ? moveStorageSync(where, t, p) : storageFrom(p.backend, p.dtype, v);
    }), attrs);
    return this;
  }

  /** Every distinct tensor to move (parameters, buffers, their gradients) with its placement. */
  #movePlan(where: string, target: unknown, dtype: unknown): [Tensor, Placement][] {
    const seen = new Set<Tensor>();
    const plan: [Tensor, Placement][] = [];
    const add = (t: Tensor | null | undefined): void => {
      if (!t || seen.has(t)) return;
      seen.add(t);
      t.assertLive(where);
      const p = resolvePlacement(where, t, target, dtype);
      if (p.backend !== t.backend || p.dtype !== t.dtype) plan.push([t, p]);
    };
    for (const m of this.modules()) {
      for (const map of [m.#params, m.#buffers]) for (const t of map.values()) { add(t); add(t?.grad); }
    }
    // Validate the target even when there is nothing to move.
    if (plan.length === 0) resolvePlacement(where, { backend: getBackend(), dtype: 'float32' }, target, dtype);
    return plan;
  }

  /**
   * The plain (not computed) tensor attributes mapped to their moved copies (detached; kept).
   * Computed ones are recomputed from the moved parameters on their next read instead.
   */
  #moveAttributes(plan: [Tensor, Placement][], move: (a: Tensor) => Tensor): Map<Tensor, Tensor> {
    const out = new Map<Tensor, Tensor>();
    if (plan.length === 0) return out;
    try {
      for (const m of this.modules()) {
        for (const [n, a] of m.#attributes) {
          if (m.#derived.has(n) || out.has(a)) continue;
          const c = noGrad(() => move(a));
          out.set(a, c === a ? a : keep(c));
        }
      }
    } catch (e) {
      for (const [a, c] of out) if (c !== a) c.dispose();
      throw e;
    }
    return out;
  }

  /** Makes every new storage first (freeing them and `attrs` on error), then relocates all at once. */
  #applyMoves(plan: [Tensor, Placement][], make: (() => Storage)[], attrs: Map<Tensor, Tensor>): void {
    const made: [Backend, Storage][] = [];
    try {
      plan.forEach(([, p], i) => made.push([p.backend, make[i]()]));
    } catch (e) {
      for (const [b, s] of made) b.free(s);
      for (const [a, c] of attrs) if (c !== a) c.dispose();
      throw e;
    }
    plan.forEach(([t], i) => t.relocate(made[i][1], made[i][0]));
    for (const m of this.modules()) {
      for (const [n, a] of m.#attributes) {
        const c = attrs.get(a);
        if (c === undefined || c === a) continue;
        m.#attributes.set(n, c);
        a.dispose();
      }
    }
  }

  /**
   * Frees every parameter, buffer, gradient and tensor attribute of this module and its
   * descendants. The module cannot be used afterwards.
   * @example model.dispose();
   */
  dispose(): void {
    for (const m of this.modules()) {
      for (const map of [m.#params, m.#buffers]) {
        for (const t of map.values()) release(t);
      }
      for (const t of m.#attributes.values()) t.dispose();
      m.#attributes.clear();
      m.#derived.clear();
    }
  }

  /** Total number of parameter elements. @example new Linear(3, 2).numParameters() // 8 */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}

function listNames(map: Map<string, unknown>): string {
  return map.size ? [...map.keys()].map((k) => `'${k}'`).join(', ') : '(none)';
}
