/**
 * `offload` on direct solver calls (`anderson(f, x0, { offload: 'webgpu' })`, ...): the solve
 * runs on the GPU for a state on a CPU backend, with the rule of `getDeq`'s option
 * (src/offload/offload.ts): x0 is uploaded, every CPU tensor `func` touches moves to the GPU
 * through the solve's upload cache (a parameter once per solve), and the result (z,
 * trajectory, stats) comes back to x0's backend; its status is read once, so `res.status` works
 * synchronously, and `writer` receives the stats on x0's backend. The default is 'none' (a DEQ
 * layer decides for the solves it runs, with its own `offload` option).
 */
import type { Backend } from '../backend/backend.js';
import { Tensor } from '../tensor.js';
import { findBackend } from '../backend/registry.js';
import { to, toAsync } from '../ops/transfer.js';
import { solverStatus } from '../solvers/status.js';
import { OffloadCache, checkOffload, offloadFunc, offloadTarget } from './offload.js';
import type { Solver, SolverFunc, SolverOptions, SolverResult, SolverState, SolverStats } from '../solvers/types.js';

/** `solver` taking the `offload` option (validated; 'none' and absent run it as it is). */
export function offloadable(name: string, solver: Solver): Solver {
  return async <S extends SolverState>(func: SolverFunc<S>, x0: S, options?: SolverOptions): Promise<SolverResult<S>> => {
    if (options === undefined || options === null || typeof options !== 'object' || !('offload' in options)) {
      return solver(func, x0, options);
    }
    const { offload, writer, ...rest } = options;
    const mode = offload === undefined ? 'none' : checkOffload(name, offload);
    const parts = (Array.isArray(x0) ? x0 : [x0]) as unknown[];
    const first = parts[0];
    // A state the solver would reject (or nothing to move) runs as it is, for its own error.
    const tensors = parts.every((p) => p instanceof Tensor && !p.isDisposed) && parts.length > 0 ? parts as Tensor[] : null;
    const gpu = tensors && mode !== 'none' ? offloadTarget(name, mode, {
      backend: (first as Tensor).backend, dtype: (first as Tensor).dtype, size: tensors.reduce((a, t) => a + t.size, 0),
    }, findBackend) : null;
    if (!gpu || tensors!.some((t) => t.backend !== (first as Tensor).backend)) {
      return solver(func, x0, writer === undefined ? rest : { ...rest, writer });
    }
    const home = { backend: (first as Tensor).backend, dtype: (first as Tensor).dtype };
    const cache = cacheFor(gpu);
    const x0g = tensors!.map((t) => to(t, { backend: gpu }));
    const made: Tensor[] = [];
    let res: SolverResult<S> | null = null;
    try {
      res = await solver(offloadFunc(name, cache, func), (Array.isArray(x0) ? x0g : x0g[0]) as S, rest);
      const status = await solverStatus(res);
      const back = async (t: Tensor): Promise<Tensor> => { const h = await toAsync(t, home); made.push(h); return h; };
      const state = async (s: SolverState): Promise<SolverState> => (Array.isArray(s) ? Promise.all(s.map(back)) : back(s));
      const z = await state(res.z) as S;
      const trajectory = await Promise.all(res.trajectory.map(state)) as S[];
      const stats = {} as SolverStats;
      for (const [k, t] of Object.entries(res.stats) as [keyof SolverStats, Tensor][]) stats[k] = await back(t);
      if (writer !== undefined && writer !== null) {
        if (typeof writer !== 'function') throw new Error(`${name}: option 'writer' expected a function (stats) => void, received ${typeof writer}`);
        writer(stats);
      }
      made.length = 0; // handed out
      return { z, trajectory, stats, status };
    } finally {
      for (const t of x0g) if (!t.isDisposed) t.dispose();
      if (res) disposeResult(res);
      for (const t of made) if (!t.isDisposed) t.dispose();
    }
  };
}

/** One upload cache per GPU backend, shared by direct solver calls (a parameter is uploaded once per version). */
const caches = new Map<Backend, OffloadCache>();
function cacheFor(gpu: Backend): OffloadCache {
  let c = caches.get(gpu);
  if (!c) caches.set(gpu, (c = new OffloadCache(gpu)));
  return c;
}

/** The cache direct solver calls use for `gpu` (tests and benchmarks count its uploads). */
export function solverOffloadCache(gpu: Backend): OffloadCache {
  return cacheFor(gpu);
}

function disposeResult(res: SolverResult<SolverState>): void {
  const all: unknown[] = [res.z, ...res.trajectory, ...Object.values(res.stats)];
  for (const s of all) for (const t of (Array.isArray(s) ? s : [s]) as Tensor[]) if (t instanceof Tensor && !t.isDisposed) t.dispose();
}
