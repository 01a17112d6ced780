/**
 * Shared plumbing of the gradient-functor tests (test/grad_*.test.ts): a case's cell with
 * float64 leaves that require grad, the oracle's loss L = sum_i w_i sum(z_i * c), reading
 * `.grad`, and the max-norm relative error the oracle README uses.
 * @example
 * const s = gradSetup(loadCase('tanh8_fpi_abs'));
 * const outs = await backwardFactory({ gradType: 2 })(undefined, s.f, zStar);
 * await oracleLoss(outs, s.c, weightsFor(outs.length)).backward();
 * relErr(s.grads().W, flat(run.grads.W));
 */
import { tensor, mul, sum, add, type Tensor } from '../../src/index.js';
import { cellFor, type CellFn } from './cells.js';
import { asTensor, flat, type OracleCase, type Run } from './oracle.js';

export interface GradSetup {
  f: CellFn;
  params: Record<string, Tensor>;
  x: Tensor;
  c: Tensor;
  /** Flat .grad of every parameter and of x (keys as in the oracle's `grads`). */
  grads(): Record<string, number[]>;
  /** Clears every .grad. */
  zeroGrads(): void;
}

/** The case's cell with params and x as float64 leaves requiring grad, and the loss vector c. */
export function gradSetup(c: OracleCase): GradSetup {
  const cell = cellFor(c, { dtype: 'float64', requiresGrad: true });
  const leaves = { ...cell.params, x: cell.x };
  return {
    f: cell.f, params: cell.params, x: cell.x, c: asTensor(c.loss.c),
    grads: () => Object.fromEntries(Object.entries(leaves).map(([k, t]) => {
      if (!t.grad) throw new Error(`gradSetup: no gradient reached '${k}'`);
      return [k, Array.from(t.grad.dataSync())];
    })),
    zeroGrads: () => { for (const t of Object.values(leaves)) { t.grad?.dispose(); t.grad = null; } },
  };
}

/** fp_correction's default weights: w_i = 0.8^(n-1-i). */
export function weightsFor(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 0.8 ** (n - 1 - i));
}

/** L = sum_i w_i * sum(z_i * c). */
export function oracleLoss(outs: Tensor[], c: Tensor, weights: number[]): Tensor {
  if (weights.length !== outs.length) throw new Error(`oracleLoss: ${outs.length} outputs but ${weights.length} weights`);
  let L: Tensor | null = null;
  outs.forEach((z, i) => {
    const term = mul(sum(mul(z, c)), weights[i]);
    L = L ? add(L, term) : term;
  });
  return L!;
}

/** max|a - b| / max|b| (the oracle README's "max rel diff"). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths differ (${a.length} vs ${b.length})`);
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-300);
}

/** Worst relErr over every key of `want` (oracle nested arrays). */
export function worstRel(got: Record<string, ArrayLike<number>>, want: Record<string, unknown>): { err: number; key: string } {
  let err = 0, key = '';
  for (const k of Object.keys(want)) {
    if (!(k in got)) throw new Error(`worstRel: no value for '${k}'`);
    const e = relErr(got[k], flat(want[k] as number[]));
    if (e > err || Number.isNaN(e)) { err = e; key = k; }
  }
  return { err, key };
}

/** A float64 tensor of a case's (B, d) matrix. */
export function mat(v: number[][]): Tensor {
  return tensor(v, undefined, { dtype: 'float64' });
}

/** Phantom settings of a run, from its get_deq kwargs (TorchDEQ defaults: grad 1, tau 1). */
export function phantomOf(run: Run): { k: number; tau: number; supGap: number; supLoc: number[] } {
  const kw = run.get_deq_kwargs as Record<string, unknown>;
  return {
    k: Number(kw.grad ?? 1), tau: Number(kw.tau ?? 1), supGap: Number(kw.sup_gap ?? -1),
    supLoc: (kw.sup_loc as number[] | undefined) ?? [],
  };
}

/**
 * Whether TorchDEQ's training solve for this run is the eval solve stored in forward_eval
 * (one state, no indexing, no eval_factor; the indexing core samples differently with broyden).
 */
export function trainSolveIsEvalSolve(c: OracleCase, run: Run): boolean {
  const kw = run.get_deq_kwargs as Record<string, unknown>;
  if ('error' in run) return false;
  if ('eval_factor' in c.deq_config.get_deq_kwargs) return false;
  if (Number(kw.n_states ?? 1) > 1 || (Array.isArray(kw.indexing) && kw.indexing.length > 0)) return false;
  if (kw.core === 'indexing' && c.deq_config.resolved.f_solver === 'broyden_solver') return false;
  return true;
}
