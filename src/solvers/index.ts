/**
 * Fixed-point solvers with TorchDEQ's semantics (see README "Differences from TorchDEQ").
 */
export { getSolver, registerSolver, listSolvers } from './registry.js';
export { fixedPointIter } from './fixed_point_iter.js';
export { simpleFixedPointIter } from './simple_fixed_point_iter.js';
export { anderson } from './anderson.js';
export { broyden } from './broyden.js';
export { armijo } from './line_search.js';
export { SOLVER_DEFAULTS, SOLVER_KEYS } from './options.js';
export type { Solver, SolverFunc, SolverOptions, SolverResult, SolverState, SolverStats, SolveStatus, StopMode } from './types.js';
