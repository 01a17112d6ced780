/**
 * The five oracle cells (see test/fixtures/oracle/README in the shared oracle) built from tsdeq
 * ops, so they run in float32 or float64 and are differentiable in z, x and every parameter
 * (pass parameter tensors with requiresGrad for gradient tests).
 * @example
 * const c = loadCase('tanh8_fpi_abs');
 * const { f } = cellFor(c, { dtype: 'float64' });
 * const fz = f(zInit(c)); // tanh(z W^T + x U^T + b)
 */
import { linear, add, sub, mul, div, sqrt, mean, square, type Tensor } from '../../src/index.js';
import type { CellType, OracleCase, AsTensorOptions } from './oracle.js';
import { params as caseParams, x as caseX } from './oracle.js';

export type CellFn = (z: Tensor) => Tensor;

/** Parameter names each cell needs, in the oracle's `param_order`. */
export const CELL_PARAMS: Record<CellType, readonly string[]> = {
  tanh_linear: ['W', 'U', 'b'],
  mlp2: ['W1', 'U', 'b1', 'W2', 'b2'],
  residual_relu: ['W', 'U', 'b'],
  gated: ['W', 'U', 'b', 'Wg', 'Ug', 'bg'],
  layernorm_tanh: ['W', 'U', 'b', 'gamma', 'beta'],
};

/** Default constants (the oracle stores the same values in `cell.constants`). */
export const CELL_CONSTANTS: Record<string, number> = { alpha: 0.5, ln_eps: 1e-5 };

/**
 * Builds `f(z) = cell(z, x; params)` for one cell type. `params` and `x` may require grad;
 * the returned function records a graph through them when grad mode is on.
 */
export function makeCell(type: CellType, params: Record<string, Tensor>, x: Tensor,
  constants: Record<string, number> = {}): CellFn {
  const need = CELL_PARAMS[type];
  if (!need) throw new Error(`makeCell: unknown cell type '${type}'; expected one of ${Object.keys(CELL_PARAMS).join(', ')}`);
  for (const k of need) {
    if (!params[k]) throw new Error(`makeCell: cell '${type}' needs parameter '${k}', received ${Object.keys(params).join(', ')}`);
  }
  const P = params;
  const c = { ...CELL_CONSTANTS, ...constants };
  // pre(z) = z W^T + x U^T + b, with the given weight names.
  const pre = (z: Tensor, W: string, U: string, b: string): Tensor => add(linear(z, P[W]), linear(x, P[U], P[b]));
  switch (type) {
    case 'tanh_linear':
      return (z) => pre(z, 'W', 'U', 'b').tanh();
    case 'mlp2':
      return (z) => linear(pre(z, 'W1', 'U', 'b1').relu(), P.W2, P.b2).tanh();
    case 'residual_relu':
      return (z) => add(mul(z, c.alpha), pre(z, 'W', 'U', 'b').relu());
    case 'gated':
      return (z) => mul(pre(z, 'Wg', 'Ug', 'bg').sigmoid(), pre(z, 'W', 'U', 'b').tanh());
    case 'layernorm_tanh':
      return (z) => {
        const u = pre(z, 'W', 'U', 'b');
        const centered = sub(u, mean(u, -1, { keepDims: true }));
        const variance = mean(square(centered), -1, { keepDims: true });
        const n = div(centered, sqrt(add(variance, c.ln_eps)));
        return add(mul(n, P.gamma), P.beta).tanh();
      };
  }
}

export interface CaseCell {
  f: CellFn;
  params: Record<string, Tensor>;
  x: Tensor;
}

/** The cell of an oracle case with its parameters and input as fresh tensors. */
export function cellFor(c: OracleCase, opts: AsTensorOptions = {}): CaseCell {
  const params = caseParams(c, opts);
  const x = caseX(c, opts);
  return { f: makeCell(c.cell.type, params, x, c.cell.constants), params, x };
}
