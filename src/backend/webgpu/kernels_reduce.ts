/**
 * Reduction WGSL kernels.
 * - `reduceColsKernel`: x viewed as (outer, n, inner), one thread per output, a loop over n
 *   (for inner > 1, where neighbouring threads read neighbouring columns).
 * - `reduceRowsKernel`: inner = 1, one workgroup per row: a strided loop over the row, then a
 *   tree in workgroup memory (for long rows a single thread would serialise).
 * - `rowSumKernel`: one workgroup per row of (rows, D), summing an expression of the row's
 *   elements (batched dot products and norms, the fused solver steps' residual norms).
 * max/min propagate NaN and arg* return the first extreme index, as the js reference does.
 */
import type { ReduceOp } from '../backend.js';
import type { KernelDef } from './pipelines.js';
import { def } from './kernels_elementwise.js';
import { WG, header, linearMain } from './wgsl.js';

/** Threads per workgroup of the row kernels. */
export const ROW_WG = 64;

const isMaxLike = (op: ReduceOp): boolean => op === 'max' || op === 'argmax';

/** WGSL: whether candidate (v, i) beats (bv, bi) (NaN first, then the extreme, then the lower index). */
function better(op: ReduceOp): string {
  const cmp = isMaxLike(op) ? '>' : '<';
  return `fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  if (bi == 0xffffffffu) { return i != 0xffffffffu; }
  if (i == 0xffffffffu) { return false; }
  let vn = is_nan(v); let bn = is_nan(bv);
  if (vn && bn) { return i < bi; }
  if (vn) { return true; }
  if (bn) { return false; }
  if (v ${cmp} bv) { return true; }
  return v == bv && i < bi;
}`;
}

/** Words: [outer * inner, n, inner]. */
export function reduceColsKernel(op: ReduceOp): KernelDef {
  return def(`reduceCols_${op}`, () => {
    const body = op === 'sum'
      ? `  var acc = 0.0;
  for (var j = 0u; j < n; j++) { acc += xs[base + j * inner]; }
  o[gid] = acc;`
      : `  var best = xs[base]; var bi = 0u;
  for (var j = 1u; j < n; j++) {
    let v = xs[base + j * inner];
    if (better(v, j, best, bi)) { best = v; bi = j; }
  }
  o[gid] = ${op === 'max' || op === 'min' ? 'best' : 'f32(bi)'};`;
    return `${header(3, [{ name: 'xs' }, { name: 'o', write: true }])}
${op === 'sum' ? '' : better(op)}
${linearMain(`  let n = P(1u); let inner = P(2u);
  let a = gid / inner; let c = gid - a * inner;
  let base = a * n * inner + c;
${body}`)}`;
  });
}

/** The workgroup-per-row entry point: `row` is the row, `li` the thread; rows in word 0. */
function rowMain(body: string): string {
  return `@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= P(0u)) { return; }
${body}
}`;
}

/** Tree sum of `sv` in workgroup memory; thread 0 ends with the total in sv[0]. */
const TREE_SUM = `  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { sv[li] = sv[li] + sv[li + s]; }
    workgroupBarrier();
  }`;

/** Words: [outer, n]. */
export function reduceRowsKernel(op: ReduceOp): KernelDef {
  return def(`reduceRows_${op}`, () => {
    if (op === 'sum') {
      return `${header(2, [{ name: 'xs' }, { name: 'o', write: true }])}
var<workgroup> sv: array<f32, ${ROW_WG}>;
${rowMain(`  let n = P(1u); let base = row * n;
  var acc = 0.0;
  for (var j = li; j < n; j += ${ROW_WG}u) { acc += xs[base + j]; }
  sv[li] = acc;
${TREE_SUM}
  if (li == 0u) { o[row] = sv[0]; }`)}`;
    }
    return `${header(2, [{ name: 'xs' }, { name: 'o', write: true }])}
var<workgroup> sv: array<f32, ${ROW_WG}>;
var<workgroup> si: array<u32, ${ROW_WG}>;
${better(op)}
${rowMain(`  let n = P(1u); let base = row * n;
  var best = 0.0; var bi = 0xffffffffu;
  for (var j = li; j < n; j += ${ROW_WG}u) {
    let v = xs[base + j];
    if (better(v, j, best, bi)) { best = v; bi = j; }
  }
  sv[li] = best; si[li] = bi;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (li < s && better(sv[li + s], si[li + s], sv[li], si[li])) { sv[li] = sv[li + s]; si[li] = si[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { o[row] = ${op === 'max' || op === 'min' ? 'sv[0]' : 'f32(si[0])'}; }`)}`;
  });
}

/**
 * out[outAt + row] = fin(sum_j term(i)) over the D elements i = row * D + j of each row.
 * `inputs` name the storages `term` reads. Words: [rows, D, outAt].
 */
export function rowSumKernel(name: string, inputs: readonly string[], term: string, fin: string): KernelDef {
  return def(`rowSum_${name}`, () => `${header(3, [...inputs.map((n) => ({ name: n })), { name: 'o', write: true }])}
var<workgroup> sv: array<f32, ${ROW_WG}>;
${rowMain(`  let D = P(1u); let base = row * D;
  var acc = 0.0;
  for (var j = li; j < D; j += ${ROW_WG}u) { let i = base + j; acc += ${term}; }
  sv[li] = acc;
${TREE_SUM}
  if (li == 0u) { let s = sv[0]; o[P(2u) + row] = ${fin}; }`)}`);
}

export const dotRows = rowSumKernel('dot', ['xs', 'ys'], 'xs[i] * ys[i]', 's');
export const normRows = rowSumKernel('norm', ['xs'], 'xs[i] * xs[i]', 'sqrt(s)');
/** ||a - b|| per row, the difference rounded to f32 first (as the composed step stores it). */
export const diffNormRows = rowSumKernel('diffNorm', ['as_', 'bs'], '(as_[i] - bs[i]) * (as_[i] - bs[i])', 'sqrt(s)');
/** ||a + b|| per row. */
export const sumNormRows = rowSumKernel('sumNorm', ['as_', 'bs'], '(as_[i] + bs[i]) * (as_[i] + bs[i])', 'sqrt(s)');

export { WG };
