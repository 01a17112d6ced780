/**
 * Batched GEMM in WGSL, tiled for real GPUs: each workgroup of 8 x 8 threads computes a
 * 32 x 32 tile of the output, staging 32 x 16 panels of A and 16 x 32 panels of B through
 * workgroup memory, and each thread keeps a 4 x 4 register block of accumulators.
 * Operands are addressed by general strides (uniforms), so transposes, batch strides (0
 * broadcasts), offsets into a larger buffer and one pipeline for every size come for free:
 *   A(i, p) = a[aOff + bt aBS + i aRS + p aCS], B(p, j) = b[bOff + bt bBS + p bRS + j bCS],
 *   out[oOff + bt m n + i n + j] = sum_p A(i, p) B(p, j) + (i == j ? diag : 0).
 * `diag` gives Gram + ridge in the same pass. Grid: (ceil(n/32), ceil(m/32), batch chunk).
 * (CPU adapters emulate the barriers slowly; that is for the tests to size, not this kernel.)
 */
import type { KernelDef } from './pipelines.js';
import { def } from './kernels_elementwise.js';
import { header } from './wgsl.js';

export const TILE = 32;
const BK = 16;

/** Words: [m, n, k, aOff, aRS, aCS, aBS, bOff, bRS, bCS, bBS, oOff, diag(f32), batchBase]. */
export const matmulKernel: KernelDef = def('matmul_tiled', () => `${header(14, [{ name: 'A' }, { name: 'Bm' }, { name: 'o', write: true }])}
var<workgroup> As: array<array<f32, ${BK}>, ${TILE}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${BK}>;
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m = P(0u); let n = P(1u); let k = P(2u);
  let bt = wg.z + P(13u);
  let aBase = P(3u) + bt * P(6u); let aRS = P(4u); let aCS = P(5u);
  let bBase = P(7u) + bt * P(10u); let bRS = P(8u); let bCS = P(9u);
  let row0 = wg.y * ${TILE}u; let col0 = wg.x * ${TILE}u;
  let tx = lid.x; let ty = lid.y;
  var acc: array<array<f32, 4>, 4>;
  for (var r = 0u; r < 4u; r++) { for (var c = 0u; c < 4u; c++) { acc[r][c] = 0.0; } }
  for (var k0 = 0u; k0 < k; k0 += ${BK}u) {
    for (var l = 0u; l < ${(TILE * BK) / 64}u; l++) {
      let idx = li + l * 64u;
      let ar = idx / ${BK}u; let ap = idx % ${BK}u;
      let gi = row0 + ar; let gp = k0 + ap;
      var av = 0.0;
      if (gi < m && gp < k) { av = A[aBase + gi * aRS + gp * aCS]; }
      As[ar][ap] = av;
      let bp = idx / ${TILE}u; let bc = idx % ${TILE}u;
      let gq = k0 + bp; let gj = col0 + bc;
      var bv = 0.0;
      if (gq < k && gj < n) { bv = Bm[bBase + gq * bRS + gj * bCS]; }
      Bs[bp][bc] = bv;
    }
    workgroupBarrier();
    for (var p = 0u; p < ${BK}u; p++) {
      var a: array<f32, 4>; var b: array<f32, 4>;
      for (var r = 0u; r < 4u; r++) { a[r] = As[ty * 4u + r][p]; }
      for (var c = 0u; c < 4u; c++) { b[c] = Bs[p][tx * 4u + c]; }
      for (var r = 0u; r < 4u; r++) { for (var c = 0u; c < 4u; c++) { acc[r][c] = acc[r][c] + a[r] * b[c]; } }
    }
    workgroupBarrier();
  }
  let oBase = P(11u) + bt * m * n;
  let diag = PF(12u);
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + ty * 4u + r;
    if (i >= m) { continue; }
    for (var c = 0u; c < 4u; c++) {
      let j = col0 + tx * 4u + c;
      if (j >= n) { continue; }
      o[oBase + i * n + j] = acc[r][c] + select(0.0, diag, i == j);
    }
  }
}`);
