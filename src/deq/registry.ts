/**
 * DEQ core registry: `getDeq(options)`, `registerDeq(name, cls)`, `listDeqs()`, and
 * `resetDeq(model)` (re-normalise weights and redraw dropout masks before a training step).
 */
import { DEQIndexing, DEQSliced, type DEQBase } from './core.js';
import type { DEQOptions } from './options.js';
import { resetNorm } from '../norm/index.js';
import { resetDropout } from '../dropout/index.js';
import { show } from '../utils/format.js';

export type DEQClass = new (opts: DEQOptions) => DEQBase;

const cores = new Map<string, DEQClass>([
  ['sliced', DEQSliced],
  ['indexing', DEQIndexing],
]);

/**
 * Registers a DEQ core class under `name` for `getDeq({ core: name })`.
 * @example registerDeq('myCore', class extends DEQSliced {})
 */
export function registerDeq(name: string, cls: DEQClass): void {
  if (typeof name !== 'string' || !name) throw new Error(`registerDeq: expected a non-empty name, received ${show(name)}`);
  if (typeof cls !== 'function') throw new Error(`registerDeq: expected a class for '${name}', received ${typeof cls}`);
  cores.set(name, cls);
}

/** Names of the registered DEQ cores. @example listDeqs() // ['sliced', 'indexing'] */
export function listDeqs(): string[] {
  return [...cores.keys()];
}

/**
 * Builds a DEQ layer from options (TorchDEQ's `get_deq`, camelCase; default core 'sliced').
 * @example const deq = getDeq({ fSolver: 'anderson', fMaxIter: 30, ift: true });
 */
export function getDeq(options: DEQOptions = {}): DEQBase {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`getDeq: expected an options object (or nothing), received ${show(options)}`);
  }
  const name = options.core ?? 'sliced';
  const cls = cores.get(name);
  if (!cls) throw new Error(`getDeq: unknown core ${typeof name === 'string' ? `'${name}'` : show(name)}; registered cores are ${listDeqs().map((c) => `'${c}'`).join(', ')}`);
  return new cls(options);
}

/**
 * Resets the weight normalisations and variational-dropout masks of a model (TorchDEQ's
 * `reset_deq`); call it once before each training step.
 * @example resetDeq(model)
 */
export function resetDeq(model: Parameters<typeof resetNorm>[0]): void {
  resetNorm(model);
  resetDropout(model as Parameters<typeof resetDropout>[0]);
}
