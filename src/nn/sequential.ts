/**
 * Containers: `Sequential` chains modules; `ModuleList` holds modules for a custom forward.
 * Children are named '0', '1', ... as in torch, so state-dict keys match (`0.weight`).
 */
import type { Tensor } from '../tensor.js';
import { Module, type AnyModule } from './module.js';

type Layer = Module<[Tensor], Tensor>;

function checkModules(where: string, modules: readonly unknown[]): void {
  modules.forEach((m, i) => {
    if (!(m instanceof Module)) {
      throw new Error(`${where}: expected module ${i} to be a Module, received ${m === null ? 'null' : typeof m}`);
    }
  });
}

/** items[i], negative i counting from the end; an out-of-range or non-integer i throws. */
function itemAt<T>(where: string, items: readonly T[], i: number): T {
  const j = i < 0 ? items.length + i : i;
  if (!Number.isInteger(i) || j < 0 || j >= items.length) {
    throw new Error(`${where}: expected an index in [${-items.length}, ${items.length - 1}], received ${i}`);
  }
  return items[j];
}

/**
 * Applies its modules in order.
 * @example
 * const mlp = new Sequential(new Linear(2, 16, { seed: 0 }), new Tanh(), new Linear(16, 1, { seed: 1 }));
 * const y = mlp.forward(x);
 */
export class Sequential extends Module {
  readonly #layers: Layer[];

  constructor(...modules: Layer[]) {
    super();
    checkModules('Sequential', modules);
    this.#layers = modules;
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }

  get length(): number {
    return this.#layers.length;
  }

  /** The i-th module (negative counts from the end). @example seq.at(-1) */
  at(i: number): Layer {
    return itemAt('Sequential.at', this.#layers, i);
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.#layers) y = m.forward(y);
    return y;
  }
}

/**
 * A list of modules registered as children '0', '1', ...; it has no forward of its own.
 * @example
 * const blocks = new ModuleList([new Linear(4, 4), new Linear(4, 4)]);
 * for (const b of blocks) h = b.forward(h);
 */
export class ModuleList<M extends AnyModule = AnyModule> extends Module<[], never> {
  readonly #items: M[] = [];

  constructor(modules: readonly M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a module at the end. Returns this. @example list.append(new Linear(4, 4)) */
  append(m: M): this {
    checkModules('ModuleList.append', [m]);
    this.registerModule(String(this.#items.length), m);
    this.#items.push(m);
    return this;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The i-th module (negative counts from the end). @example list.at(0) */
  at(i: number): M {
    return itemAt('ModuleList.at', this.#items, i);
  }

  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }

  forward(): never {
    throw new Error('ModuleList.forward: a ModuleList has no forward; iterate over it and call each module');
  }
}
