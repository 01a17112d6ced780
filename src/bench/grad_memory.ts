/**
 * Benchmark section "grad_memory": peak bytes of one DEQ training step (no-grad forward solve,
 * gradient functor, loss, backward) with f(z) = tanh(z W^T + x U^T + b) at d = 256, B = 64
 * (float32), for forward solves of 10 and 100 iterations. IFT and phantom gradients must not
 * grow with the forward iterations (phantom grows with k); backprop through the unrolled
 * solver, shown for contrast, grows linearly.
 *
 * Peak = the largest `memory().numBytes` sampled inside the step (every f call, every step of
 * the backward solver, after the functor and after backward), minus the bytes held before the
 * step (parameters, inputs, start state).
 */
import { registerSection, type BenchContext, type BenchTable } from './registry.js';
import { getBackend } from '../backend/registry.js';
import { noGrad, backward } from '../autograd/engine.js';
import { tidy } from '../scope.js';
import { memory, type Tensor } from '../tensor.js';
import { randn, zeros } from '../creation.js';
import { add, mul } from '../ops/arith.js';
import { tanh } from '../ops/unary.js';
import { sum } from '../ops/reduce.js';
import { linear } from '../ops/linalg.js';
import { getSolver, registerSolver, listSolvers } from '../solvers/registry.js';
import { backwardFactory, type BackwardFactoryOptions } from '../grad/index.js';

const D = 256, B = 64;
const F_MAX_ITERS = [10, 100];
/** A backward solver that samples memory at each of its steps (fixed_point_iter underneath). */
const SAMPLING_SOLVER = 'grad_memory_sampling_fpi';

interface Config { name: string; opts: BackwardFactoryOptions | 'unrolled'; }

const CONFIGS: Config[] = [
  { name: 'IFT (J at f(z*))', opts: { gradType: 'ift', bSolver: SAMPLING_SOLVER, bSolverKwargs: { maxIter: 30, tol: 1e-6 } } },
  { name: 'IFT hook (J at z*)', opts: { gradType: 'ift', hookIft: true, bSolver: SAMPLING_SOLVER, bSolverKwargs: { maxIter: 30, tol: 1e-6 } } },
  { name: 'phantom k=1 (JFB)', opts: { gradType: 1 } },
  { name: 'phantom k=5, tau=0.5', opts: { gradType: 5, tau: 0.5 } },
  { name: 'phantom k=10, tau=0.5', opts: { gradType: 10, tau: 0.5 } },
  { name: 'backprop through the solver', opts: 'unrolled' },
];

let peak = 0;
const sample = (): void => { peak = Math.max(peak, memory().numBytes); };

function ensureSamplingSolver(): void {
  if (listSolvers().includes(SAMPLING_SOLVER)) return;
  registerSolver(SAMPLING_SOLVER, (func, x0, opts) => getSolver('fixed_point_iter')(
    async (g) => { const r = await func(g); sample(); return r; }, x0, opts));
}

/** The cell with float32 parameters requiring grad (W scaled to spectral norm ~0.9). */
function makeCell(seed: number) {
  const W = randn([D, D], { seed, std: 0.9 / (2 * Math.sqrt(D)) }).requireGrad();
  const U = randn([D, D], { seed: seed + 1, std: 1 / Math.sqrt(D) }).requireGrad();
  const b = zeros([D]).requireGrad();
  const x = randn([B, D], { seed: seed + 2 });
  const c = randn([B, D], { seed: seed + 3 });
  const z0 = zeros([B, D]);
  const f = (z: Tensor): Tensor => { const y = tidy(() => tanh(add(linear(z, W), linear(x, U, b)))); sample(); return y; };
  return { f, params: [W, U, b], x, c, z0, dispose: () => { for (const t of [W, U, b, x, c, z0]) t.dispose(); } };
}

type Cell = ReturnType<typeof makeCell>;

/** One training step; returns its peak bytes above what was held before it. */
async function step(cell: Cell, cfg: Config, fMaxIter: number): Promise<number> {
  const base = memory().numBytes;
  peak = base;
  let outs: Tensor[];
  if (cfg.opts === 'unrolled') {
    let z = cell.z0;
    outs = [tidy(() => { for (let i = 0; i < fMaxIter; i++) z = cell.f(z); return z; })];
  } else {
    const res = await noGrad(() => getSolver('fixed_point_iter')((z: Tensor) => noGrad(() => cell.f(z)), cell.z0, { maxIter: fMaxIter, tol: 0 }));
    for (const t of Object.values(res.stats)) t.dispose();
    sample();
    outs = await backwardFactory(cfg.opts)(undefined, cell.f, res.z);
    res.z.dispose();
  }
  sample();
  const loss = tidy(() => outs.map((o) => sum(mul(o, cell.c))).reduce((a, t) => add(a, t)));
  await backward(loss);
  sample();
  loss.dispose();
  for (const o of outs) o.dispose();
  for (const p of cell.params) { p.grad?.dispose(); p.grad = null; }
  return peak - base;
}

/**
 * Runs the section's measurements (also usable on its own).
 * @example const tables = await runGradMemoryBench({ quick: true, log: console.error });
 */
export async function runGradMemoryBench(ctx: BenchContext): Promise<BenchTable[]> {
  ensureSamplingSolver();
  const cell = makeCell(11);
  const rows: BenchTable['rows'] = [];
  try {
    // --quick leaves out the slowest rows (k = 10 and backprop through 100 solver steps).
    for (const cfg of ctx.quick ? CONFIGS.filter((c) => !/k=10|backprop/.test(c.name)) : CONFIGS) {
      const peaks: number[] = [];
      for (const n of F_MAX_ITERS) {
        ctx.log(`grad_memory: ${cfg.name}, fMaxIter ${n}`);
        if (!ctx.quick) await step(cell, cfg, n); // warm-up: caches and lazily created buffers
        peaks.push(await step(cell, cfg, n));
      }
      rows.push({
        gradient: cfg.name,
        [`peak KiB, fMaxIter ${F_MAX_ITERS[0]}`]: peaks[0] / 1024,
        [`peak KiB, fMaxIter ${F_MAX_ITERS[1]}`]: peaks[1] / 1024,
        'ratio 100/10': (peaks[1] / peaks[0]).toFixed(4),
      });
    }
  } finally {
    cell.dispose();
  }
  return [{
    title: `Training-step peak memory (d=${D}, B=${B}, float32, backend ${getBackend().name})`,
    columns: ['gradient', `peak KiB, fMaxIter ${F_MAX_ITERS[0]}`, `peak KiB, fMaxIter ${F_MAX_ITERS[1]}`, 'ratio 100/10'],
    rows,
    notes: [
      'peak = max memory().numBytes sampled in every f call, every backward-solver step, after the gradient functor and after backward, minus the bytes held before the step',
      'forward: fixed_point_iter with tol 0 (all fMaxIter iterations); IFT backward: fixed_point_iter, maxIter 30, tol 1e-6',
      'target: IFT and phantom ratio within 1.05 (independent of the forward iterations); phantom grows with k',
    ],
  }];
}

registerSection({
  name: 'grad_memory',
  description: 'training-step peak memory of IFT / phantom gradients vs forward iterations',
  run: runGradMemoryBench,
});
