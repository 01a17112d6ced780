/**
 * The solver registry: built-in solvers by TorchDEQ's names, plus any the user registers.
 */
import type { Solver } from './types.js';
import { fixedPointIter } from './fixed_point_iter.js';
import { simpleFixedPointIter } from './simple_fixed_point_iter.js';
import { anderson } from './anderson.js';
import { broyden } from './broyden.js';
import { gmres } from './gmres.js';
import { show } from '../utils/format.js';

const solvers = new Map<string, Solver>([
  ['fixed_point_iter', fixedPointIter],
  ['simple_fixed_point_iter', simpleFixedPointIter],
  ['anderson', anderson],
  ['broyden', broyden],
  ['gmres', gmres],
]);

/**
 * The solver registered under `name` ('anderson', 'broyden', 'fixed_point_iter',
 * 'simple_fixed_point_iter' or a registered one). Unknown names throw listing the known ones.
 * @example const res = await getSolver('fixed_point_iter')((z) => z.mul(0.5), ones([2, 3]));
 */
export function getSolver(name: string): Solver {
  const s = typeof name === 'string' ? solvers.get(name) : undefined;
  if (!s) {
    throw new Error(`getSolver: unknown solver ${show(name)}; registered solvers are ${listSolvers().map((n) => `'${n}'`).join(', ')}`);
  }
  return s;
}

/**
 * Registers (or replaces) a solver under `name`; DEQ layers can then use it as `fSolver`/`bSolver`.
 * @example registerSolver('fpi_damped', (func, x0, opts) => getSolver('fixed_point_iter')(func, x0, { tau: 0.5, ...opts }));
 */
export function registerSolver(name: string, fn: Solver): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new Error(`registerSolver: expected a non-empty string name, received ${show(name)}`);
  }
  if (typeof fn !== 'function') {
    throw new Error(`registerSolver: expected a solver function (func, x0, options) => Promise<result> for '${name}', received ${fn === null ? 'null' : typeof fn}`);
  }
  solvers.set(name, fn);
}

/**
 * Names of every registered solver, built-ins first.
 * @example listSolvers() // ['fixed_point_iter', 'simple_fixed_point_iter', 'anderson', 'broyden']
 */
export function listSolvers(): string[] {
  return [...solvers.keys()];
}
