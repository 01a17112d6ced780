/**
 * Benchmark section "solvers": milliseconds per solve of every built-in fixed-point solver on
 * f(z) = tanh(z W^T + inj) (W with spectral norm ~0.9, float32, TorchDEQ's benchmark cell), with
 * maxIter 30 and tol 0 (every solve runs all its iterations), and the solver's own overhead:
 * solve time minus the time spent inside f during that solve, as a share of the solve and per
 * iteration relative to one f call. Runs on the wasm backend (`init()`).
 */
import { registerSection, type BenchContext, type BenchTable } from './registry.js';
import { median } from './timing.js';
import { getBackend, setBackend } from '../backend/registry.js';
import { init } from '../init.js';
import { randn, zeros } from '../creation.js';
import { add } from '../ops/arith.js';
import { tanh } from '../ops/unary.js';
import { linear } from '../ops/linalg.js';
import { getSolver } from '../solvers/registry.js';
import type { Tensor } from '../tensor.js';

const SIZES: [number, number][] = [[64, 32], [256, 64], [1024, 64]];
const SOLVERS = ['fixed_point_iter', 'simple_fixed_point_iter', 'anderson', 'broyden'];
const MAX_ITER = 30;

/** The benchmark cell on the current backend: f(z) = tanh(z W^T + inj). */
function cell(d: number, B: number, seed: number): { f: (z: Tensor) => Tensor; z0: Tensor; dispose(): void } {
  // Gaussian d x d entries with std s have spectral norm ~ 2 s sqrt(d).
  const W = randn([d, d], { seed, std: 0.9 / (2 * Math.sqrt(d)) });
  const inj = randn([B, d], { seed: seed + 1 });
  const z0 = zeros([B, d]);
  return {
    f: (z) => tanh(add(linear(z, W), inj)),
    z0,
    dispose: () => { W.dispose(); inj.dispose(); z0.dispose(); },
  };
}

/**
 * Runs the section's measurements (also usable on its own).
 * @example const tables = await runSolverBench({ quick: true, log: console.error });
 */
export async function runSolverBench(ctx: BenchContext): Promise<BenchTable[]> {
  const previous = getBackend().name;
  const info = await init();
  ctx.log(`solvers: ${info.message}`);
  try {
    return await measure(ctx, info.variant);
  } finally {
    setBackend(previous);
  }
}

async function measure(ctx: BenchContext, variant: string): Promise<BenchTable[]> {
  const sizes = ctx.quick ? SIZES.slice(0, 2) : SIZES;
  const runs = ctx.quick ? 3 : 9;
  const rows: BenchTable['rows'] = [];
  for (const [d, B] of sizes) {
    const c = cell(d, B, 7 + d);
    try {
      for (const name of SOLVERS) {
        ctx.log(`solvers: ${name} d=${d} B=${B}`);
        const solver = getSolver(name);
        // Time inside f is measured within the same solve, so machine load shifts both alike.
        let calls = 0, inF = 0;
        const timed = (z: Tensor): Tensor => {
          const t0 = performance.now();
          const y = c.f(z);
          inF += performance.now() - t0;
          calls++;
          return y;
        };
        const total: number[] = [], share: number[] = [], perCall: number[] = [];
        for (let r = -1; r < runs; r++) {
          calls = 0;
          inF = 0;
          const t0 = performance.now();
          const res = await solver(timed, c.z0, { maxIter: MAX_ITER, tol: 0 });
          const ms = performance.now() - t0;
          for (const t of [res.z, ...Object.values(res.stats)]) t.dispose();
          if (r < 0) continue; // warm-up
          total.push(ms);
          share.push((ms - inF) / ms);
          perCall.push(inF / calls);
        }
        const ms = median(total), fMs = median(perCall), over = median(share);
        rows.push({
          solver: name, d: String(d), B: String(B), 'f calls': String(calls),
          'ms/solve': ms, 'µs/f call': 1000 * fMs,
          'overhead %': 100 * over,
          'overhead/iter (% of f)': (100 * over * ms) / MAX_ITER / fMs,
        });
      }
    } finally {
      c.dispose();
    }
  }
  return [{
    title: `Fixed-point solvers (backend '${getBackend().name}' ${variant}, float32, maxIter ${MAX_ITER}, tol 0)`,
    columns: ['solver', 'd', 'B', 'f calls', 'ms/solve', 'µs/f call', 'overhead %', 'overhead/iter (% of f)'],
    rows,
    notes: [
      'f(z) = tanh(z W^T + inj), W d x d with spectral norm ~0.9. Medians over runs.',
      'overhead = share of the solve spent outside f (f timed inside the same solve): norms, bookkeeping, buffer copies,',
      'Anderson Gram rows/solves/mixing, Broyden low-rank products, and calling f (noGrad, tidy, input handles, result checks).',
    ],
  }];
}

registerSection({
  name: 'solvers',
  description: 'ms per solve and solver overhead share for fixed_point_iter, simple_fixed_point_iter, anderson, broyden',
  run: runSolverBench,
});
