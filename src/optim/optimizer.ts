/**
 * The `Optimizer` base: parameter groups with per-group hyperparameters, per-parameter state
 * kept outside every `tidy` scope, and `step()` that updates each parameter in place.
 *
 * Tensors are immutable values everywhere else in the library; an optimizer is the one place
 * that writes into existing storage, and only into the parameters' own: the update is computed
 * with ops (no graph recorded) and then applied with the backend's `axpby`, whose output may
 * alias its input. So the parameter stays the same Tensor object (modules and user code keep
 * working) and no other tensor the user holds changes, gradients included: when another handle
 * shares the parameter's storage (`p.detach()`, `p.reshape()`, a tensor a recorded graph saved),
 * the parameter first moves to a private copy (copy-on-write), so views and retained graphs
 * keep the values they had (unlike torch, where views change with the parameter).
 */
import { checkKeys, noGrad } from '../autograd/engine.js';
import { assertNoPendingBackward } from '../autograd/pending.js';
import { keep, tidy } from '../scope.js';
import { Tensor, fmtShape } from '../tensor.js';
import { to } from '../ops/transfer.js';
import { show } from '../utils/format.js';
import { watchStep } from './leak_watch.js';

/** A parameter group: its parameters and its hyperparameters. */
export type ParamGroup<H> = H & { params: Tensor[] };

/** What optimizers accept: a list of parameters, or groups with per-group overrides. */
export type ParamsInput<H> = Iterable<Tensor> | readonly ({ params: Iterable<Tensor> } & Partial<H>)[];

/** Per-parameter state: the number of steps taken and named state tensors. */
export interface ParamState {
  step: number;
  tensors: Map<string, Tensor>;
}

/**
 * Base class. Subclasses give their defaults and option checks and implement `update`.
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1 });
 * await loss.backward(); opt.step(); opt.zeroGrad();
 */
export abstract class Optimizer<H extends object> {
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly defaults: Readonly<H>;
  readonly #name: string;
  readonly #state = new Map<Tensor, ParamState>();

  protected constructor(name: string, params: ParamsInput<H>, defaults: H, overrides: Partial<H>) {
    this.#name = name;
    checkKeys(name, overrides, Object.keys(defaults));
    this.defaults = Object.freeze({ ...defaults, ...definedOnly(overrides) }) as H;
    this.validate(this.defaults, name);
    const list = toList(name, params);
    if (list.length === 0) throw new Error(`${name}: expected at least one parameter, received an empty list`);
    const grouped: ({ params: Iterable<Tensor> } & Partial<H>)[] = list.every((x) => x instanceof Tensor)
      ? [{ params: list as Tensor[] } as unknown as { params: Iterable<Tensor> } & Partial<H>]
      : (list as ({ params: Iterable<Tensor> } & Partial<H>)[]);
    for (const g of grouped) this.addParamGroup(g);
  }

  /** Throws for invalid hyperparameters (subclasses). */
  protected abstract validate(h: H, where: string): void;

  /** Updates one parameter from its gradient; runs inside `noGrad` + `tidy`. */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<H>, state: ParamState): void;

  /**
   * Adds a group of parameters with its own hyperparameters (missing ones take the defaults).
   * @example opt.addParamGroup({ params: head.parameters(), lr: 1e-2 });
   */
  addParamGroup(group: { params: Iterable<Tensor> } & Partial<H>): void {
    const where = `${this.#name}.addParamGroup`;
    if (group === null || typeof group !== 'object' || group instanceof Tensor) {
      throw new Error(`${where}: expected a group { params, ...options }, received ${group instanceof Tensor ? 'a Tensor' : typeof group}`);
    }
    const { params, ...rest } = group;
    checkKeys(where, rest, Object.keys(this.defaults));
    const ps = toList(where, params);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    ps.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new Error(`${where}: expected parameter ${i} to be a Tensor, received ${p === null ? 'null' : typeof p}`);
      p.assertLive(`${where} (parameter ${i})`);
      if (!p.isLeaf) throw new Error(`${where}: expected parameter ${i} to be a leaf tensor, received a tensor produced by an op (shape ${fmtShape(p.shape)}); optimize the leaf it came from`);
      if (seen.has(p)) throw new Error(`${where}: parameter ${i} (shape ${fmtShape(p.shape)}) appears in more than one place; each parameter may be optimized once`);
      seen.add(p);
    });
    const g = { ...this.defaults, ...definedOnly(rest as Partial<H>), params: ps } as ParamGroup<H>;
    this.validate(g, where);
    this.paramGroups.push(g);
  }

  /**
   * Applies one update to every parameter that has a gradient (`.grad`); parameters without
   * one are skipped. The parameters are updated in place (same Tensor objects). Throws while a
   * `backward()` that writes one of these gradients is still running (a missing `await`); that
   * pass is cancelled so its gradients never reach a later step.
   * @example await loss.backward(); opt.step();
   */
  step(): void {
    const where = `${this.#name}.step`;
    assertNoPendingBackward(where, 'step', this.paramGroups.flatMap((g) => g.params));
    noGrad(() => tidy(() => {
      this.paramGroups.forEach((group, gi) => {
        this.validate(group, `${where} (group ${gi})`);
        group.params.forEach((p, pi) => {
          const g = p.grad;
          if (!g) return;
          const at = `${where}: parameter ${pi} of group ${gi}`;
          if (p.isDisposed) throw new Error(`${at} was disposed (was it replaced, e.g. by module.to()? create the optimizer afterwards)`);
          if (g.isDisposed) throw new Error(`${at} has a disposed gradient`);
          if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
            throw new Error(`${at} has shape ${fmtShape(p.shape)} but its gradient has shape ${fmtShape(g.shape)}`);
          }
          if (g.dtype !== p.dtype) throw new Error(`${at} has dtype ${p.dtype} but its gradient has dtype ${g.dtype}`);
          if (g.backend !== p.backend) throw new Error(`${at} is on '${p.backend.name}' but its gradient is on '${g.backend.name}'`);
          this.update(p, g, group, this.#stateOf(p));
        });
      });
    }));
    watchStep(where);
  }

  #stateOf(p: Tensor): ParamState {
    let s = this.#state.get(p);
    if (!s) {
      s = { step: 0, tensors: new Map() };
      this.#state.set(p, s);
    }
    // The parameter was moved (module.to): its state follows it, as torch's load_state_dict casts it.
    for (const [k, t] of s.tensors) {
      if (t.backend !== p.backend || t.dtype !== p.dtype) this.setState(s, k, to(t, { backend: p.backend, dtype: p.dtype }));
    }
    return s;
  }

  /** The state of a parameter (undefined before its first update). @example opt.state(w)?.step */
  state(p: Tensor): Readonly<ParamState> | undefined {
    return this.#state.get(p);
  }

  /** Stores a state tensor (kept out of tidy scopes), releasing the one it replaces. */
  protected setState(state: ParamState, key: string, t: Tensor): Tensor {
    const old = state.tensors.get(key);
    state.tensors.set(key, keep(t));
    if (old && old !== t) old.dispose();
    return t;
  }

  /**
   * Clears the gradients of every parameter (sets `.grad` to null and frees it).
   * @example opt.zeroGrad();
   */
  zeroGrad(): void {
    assertNoPendingBackward(`${this.#name}.zeroGrad`, 'zeroGrad', this.paramGroups.flatMap((g) => g.params));
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const old = p.grad;
        p.grad = null;
        old?.dispose();
      }
    }
  }

  /**
   * Sets the learning rate of every group (for schedules).
   * @example opt.setLr(schedule(step));
   */
  setLr(lr: number): void {
    if (typeof lr !== 'number' || !(lr >= 0) || !Number.isFinite(lr)) {
      throw new Error(`${this.#name}.setLr: expected a finite learning rate >= 0, received ${show(lr)}`);
    }
    for (const g of this.paramGroups) (g as { lr?: number }).lr = lr;
  }

  /** Frees the optimizer state (momentum buffers, moments). @example opt.dispose() */
  dispose(): void {
    for (const s of this.#state.values()) for (const t of s.tensors.values()) t.dispose();
    this.#state.clear();
  }
}

/**
 * Internal: in-place p <- a * p + b * d on the parameter's own storage, copied first if another
 * handle shares it (views never change with the parameter). @example applyInPlace(p, 1, -lr, grad)
 */
export function applyInPlace(p: Tensor, a: number, b: number, d: Tensor): void {
  p.makeExclusive();
  p.backend.axpby(a, p.storage, b, d.storage, p.storage);
  p.version++;
}

/** Internal: throws unless v is a finite number >= min (and < max when given). @example checkRange('SGD', 'lr', 0.1, 0) */
export function checkRange(where: string, name: string, v: unknown, min: number, max?: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (max !== undefined && v >= max)) {
    throw new Error(`${where}: expected '${name}' to be a finite number in [${min}, ${max ?? 'inf'}), received ${show(v)}`);
  }
}

function toList<T>(where: string, v: unknown): T[] {
  if (v === null || typeof v !== 'object' || typeof (v as Iterable<T>)[Symbol.iterator] !== 'function') {
    throw new Error(`${where}: expected parameters as an array (or iterable) of Tensors or of groups, received ${v === null ? 'null' : typeof v}`);
  }
  return [...(v as Iterable<T>)];
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
