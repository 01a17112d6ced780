/**
 * Broyden's step (Backend.broydenStep) on the GPU in four dispatches, batched over samples,
 * instead of the composition's nineteen (src/backend/broyden_composed.ts):
 * - `broydenDotsKernel`: one workgroup per (sample, term): c1 = U_j . dx and c2 = V_j . g;
 * - `broydenCombineKernel`: one thread per element: vT = -dx + sum_j V_j c1_j and
 *   p = -g + sum_j U_j c2_j (lowRankMatvecPair's two products);
 * - `broydenDenKernel`: one workgroup per sample: den = vT . dg and vg = finite(vT) . g;
 * - `broydenUpdateKernel`: one thread per element: u = (dx - (p + d)) / den and vT, non-finite
 *   entries zeroed, into slot `slot` of U and V; with `direction`, d = -p - u vg.
 * Each intermediate is rounded to float32 where the composition stores it, so the results equal
 * the composed step's up to the order of the sums.
 */
import type { KernelDef } from './pipelines.js';
import { def } from './kernels_elementwise.js';
import { header, linearMain } from './wgsl.js';
import { ROW_WG } from './kernels_reduce.js';

const ROW_MAIN = `@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= P(0u)) { return; }`;

const TREE2 = `  s1[li] = a1; s2[li] = a2;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { s1[li] = s1[li] + s1[li + s]; s2[li] = s2[li] + s2[li + s]; }
    workgroupBarrier();
  }`;

/** Words: [B r, r, mem, D]. */
export const broydenDotsKernel: KernelDef = def('broydenDots', () => `${header(4, [{ name: 'U' }, { name: 'V' }, { name: 'dx' }, { name: 'g' },
  { name: 'c1', write: true }, { name: 'c2', write: true }])}
var<workgroup> s1: array<f32, ${ROW_WG}>;
var<workgroup> s2: array<f32, ${ROW_WG}>;
${ROW_MAIN}
  let r = P(1u); let mem = P(2u); let D = P(3u);
  let b = row / r; let j = row - b * r;
  let hb = (b * mem + j) * D; let xb = b * D;
  var a1 = 0.0; var a2 = 0.0;
  for (var i = li; i < D; i += ${ROW_WG}u) { a1 += U[hb + i] * dx[xb + i]; a2 += V[hb + i] * g[xb + i]; }
${TREE2}
  if (li == 0u) { c1[row] = s1[0]; c2[row] = s2[0]; }
}`);

/** Words: [B D, D, r, mem]. */
export const broydenCombineKernel: KernelDef = def('broydenCombine', () => `${header(4, [{ name: 'U' }, { name: 'V' }, { name: 'c1' }, { name: 'c2' },
  { name: 'dx' }, { name: 'g' }, { name: 'vT', write: true }, { name: 'p', write: true }])}
${linearMain(`  let D = P(1u); let r = P(2u); let mem = P(3u);
  let b = gid / D; let i = gid - b * D;
  var a1 = -dx[gid]; var a2 = -g[gid];
  for (var j = 0u; j < r; j++) {
    let h = (b * mem + j) * D + i;
    a1 += V[h] * c1[b * r + j];
    a2 += U[h] * c2[b * r + j];
  }
  vT[gid] = a1; p[gid] = a2;`)}`);

/** Words: [B, D]. den (2B) takes vT . dg, then finite(vT) . g. */
export const broydenDenKernel: KernelDef = def('broydenDen', () => `${header(2, [{ name: 'vT' }, { name: 'dg' }, { name: 'g' }, { name: 'den', write: true }])}
var<workgroup> s1: array<f32, ${ROW_WG}>;
var<workgroup> s2: array<f32, ${ROW_WG}>;
${ROW_MAIN}
  let D = P(1u); let xb = row * D;
  var a1 = 0.0; var a2 = 0.0;
  for (var i = li; i < D; i += ${ROW_WG}u) {
    let v = vT[xb + i];
    a1 += v * dg[xb + i];
    a2 += select(0.0, v, is_finite(v)) * g[xb + i];
  }
${TREE2}
  if (li == 0u) { den[row] = s1[0]; den[P(0u) + row] = s2[0]; }
}`);

/** Words: [B D, D, mem, slot, direction, B]. */
export const broydenUpdateKernel: KernelDef = def('broydenUpdate', () => `${header(6, [{ name: 'dx' }, { name: 'p' }, { name: 'vT' }, { name: 'den' },
  { name: 'd', write: true }, { name: 'U', write: true }, { name: 'V', write: true }])}
fn fin(v: f32) -> f32 { return select(0.0, v, is_finite(v)); }
${linearMain(`  let D = P(1u); let mem = P(2u); let slot = P(3u);
  let b = gid / D; let i = gid - b * D;
  let t = p[gid] + d[gid];
  let u = fin((dx[gid] - t) / den[b]);
  let h = (b * mem + slot) * D + i;
  U[h] = u;
  V[h] = fin(vT[gid]);
  if (P(4u) != 0u) { d[gid] = -p[gid] - u * den[P(5u) + b]; }`)}`);
