/**
 * The per-sample status of a solve whose bookkeeping stayed on the device: `res.status` is
 * filled when first read (synchronously on CPU backends); on a backend that only reads
 * asynchronously (webgpu) read it with `await solverStatus(res)` first, which works for every
 * result.
 */
import type { StatusSource } from './device_tracker.js';
import type { SolveStatus, SolverResult, SolverState } from './types.js';

const SOURCE = Symbol('tsdeq.statusSource');

/** Gives `res` a `status` read from `source` when first asked for. */
export function attachStatus<S extends SolverState>(res: Omit<SolverResult<S>, 'status'>, source: StatusSource,
  solver: string, backend: string): SolverResult<S> {
  Object.defineProperty(res, SOURCE, { value: source, enumerable: false });
  Object.defineProperty(res, 'status', {
    enumerable: true,
    configurable: true,
    get(): SolveStatus[] {
      const v = source.sync();
      if (v === null) {
        throw new Error(`${solver}: the status of a solve on the '${backend}' backend is read from the device; use \`await solverStatus(res)\` (after that, res.status works too)`);
      }
      return v;
    },
  });
  return res as SolverResult<S>;
}

/**
 * The per-sample status of a solver result, on any backend (reads it from the device when the
 * solve kept its bookkeeping there).
 * @example const status = await solverStatus(await anderson(f, z0, { tol: 1e-4 }));
 */
export async function solverStatus<S extends SolverState>(res: SolverResult<S>): Promise<SolveStatus[]> {
  const source = (res as unknown as Record<symbol, StatusSource | undefined>)[SOURCE];
  return source ? source.async() : res.status;
}
