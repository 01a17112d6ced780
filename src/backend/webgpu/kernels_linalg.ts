/**
 * Small dense linear algebra in WGSL: the batched solve with partial pivoting (one thread per
 * system, in place on a scratch copy of the matrices; the systems are Anderson-sized, m + 1
 * with m ~ 5-30), the low-rank products of Broyden (dots per (sample, rank) row, then the
 * combination per element), and convolution's im2col / col2im.
 */
import type { KernelDef } from './pipelines.js';
import { def } from './kernels_elementwise.js';
import { header, linearMain } from './wgsl.js';
import { ROW_WG } from './kernels_reduce.js';

/**
 * Gaussian elimination with partial pivoting on M (B, n, n) and x (B, n) in place; ok[b] = 1
 * when solved, else 0 and x[b] = NaN (a pivot that is 0 or not finite, or a non-finite result).
 * Words: [B, n].
 */
export const solveKernel: KernelDef = def('solve', () => `${header(2, [{ name: 'M', write: true }, { name: 'x', write: true }, { name: 'ok', write: true }])}
${linearMain(`  let n = P(1u); let mb = gid * n * n; let xb = gid * n;
  var good = true;
  for (var c = 0u; c < n; c++) {
    var p = c; var pv = abs(M[mb + c * n + c]);
    for (var r = c + 1u; r < n; r++) {
      let v = abs(M[mb + r * n + c]);
      if (v > pv || (is_nan(v) && !is_nan(pv))) { pv = v; p = r; }
    }
    if (is_nan(pv) || !is_finite(pv) || !(pv > 0.0)) { good = false; break; }
    if (p != c) {
      for (var t = 0u; t < n; t++) { let s = M[mb + c * n + t]; M[mb + c * n + t] = M[mb + p * n + t]; M[mb + p * n + t] = s; }
      let s = x[xb + c]; x[xb + c] = x[xb + p]; x[xb + p] = s;
    }
    let piv = M[mb + c * n + c];
    for (var r = c + 1u; r < n; r++) {
      let f = M[mb + r * n + c] / piv;
      if (f == 0.0) { continue; }
      for (var t = c; t < n; t++) { M[mb + r * n + t] = M[mb + r * n + t] - f * M[mb + c * n + t]; }
      x[xb + r] = x[xb + r] - f * x[xb + c];
    }
  }
  if (good) {
    for (var rr = 0u; rr < n; rr++) {
      let r = n - 1u - rr;
      var acc = x[xb + r];
      for (var t = r + 1u; t < n; t++) { acc = acc - M[mb + r * n + t] * x[xb + t]; }
      let v = acc / M[mb + r * n + r];
      x[xb + r] = v;
      if (!is_finite(v)) { good = false; }
    }
  }
  if (!good) { for (var i = 0u; i < n; i++) { x[xb + i] = nan(); } }
  ok[gid] = select(0.0, 1.0, good);`)}`);

/** c[b r + j] = V[b, j] . x[b] for j < r (rows of V at (b rmax + j) D). Words: [B r, r, rmax, D]. */
export const lowRankDotsKernel: KernelDef = def('lowRankDots', () => `${header(4, [{ name: 'V' }, { name: 'xs' }, { name: 'c', write: true }])}
var<workgroup> sv: array<f32, ${ROW_WG}>;
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * nwg.x + wg.x;
  if (row >= P(0u)) { return; }
  let r = P(1u); let rmax = P(2u); let D = P(3u);
  let b = row / r; let j = row - b * r;
  let vb = (b * rmax + j) * D; let xb = b * D;
  var acc = 0.0;
  for (var i = li; i < D; i += ${ROW_WG}u) { acc += V[vb + i] * xs[xb + i]; }
  sv[li] = acc;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { sv[li] = sv[li] + sv[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { c[row] = sv[0]; }
}`);

/** out[b, i] = s x[b, i] + sum_{j<r} U[b, j, i] c[b r + j]. Words: [B D, D, r, rmax, s]. */
export const lowRankCombineKernel: KernelDef = def('lowRankCombine', () => `${header(5, [{ name: 'U' }, { name: 'c' }, { name: 'xs' }, { name: 'o', write: true }])}
${linearMain(`  let D = P(1u); let r = P(2u); let rmax = P(3u);
  let b = gid / D; let i = gid - b * D;
  var acc = PF(4u) * xs[gid];
  for (var j = 0u; j < r; j++) { acc += U[(b * rmax + j) * D + i] * c[b * r + j]; }
  o[gid] = acc;`)}`);

/** Conv geometry words shared by im2col and col2im: [total, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow]. */
export const CONV_WORDS = 15;

/** cols (n, c kh kw, oh ow) from x (n, c, h, w); one thread per cols element. */
export const im2colKernel: KernelDef = def('im2col', () => `${header(CONV_WORDS, [{ name: 'xs' }, { name: 'o', write: true }])}
${linearMain(`  let C = P(2u); let H = P(3u); let W = P(4u); let KH = P(5u); let KW = P(6u);
  let OH = P(13u); let OW = P(14u);
  var rem = gid;
  let oj = rem % OW; rem = rem / OW;
  let oi = rem % OH; rem = rem / OH;
  let kj = rem % KW; rem = rem / KW;
  let ki = rem % KH; rem = rem / KH;
  let c = rem % C; let nn = rem / C;
  let hi = i32(oi * P(7u) + ki * P(11u)) - i32(P(9u));
  let wj = i32(oj * P(8u) + kj * P(12u)) - i32(P(10u));
  var v = 0.0;
  if (hi >= 0 && hi < i32(H) && wj >= 0 && wj < i32(W)) { v = xs[((nn * C + c) * H + u32(hi)) * W + u32(wj)]; }
  o[gid] = v;`)}`);

/** out (n, c, h, w) += the cols entries that im2col read from each pixel; one thread per pixel. */
export const col2imKernel: KernelDef = def('col2im', () => `${header(CONV_WORDS, [{ name: 'cols' }, { name: 'o', write: true }])}
${linearMain(`  let C = P(2u); let H = P(3u); let W = P(4u); let KH = P(5u); let KW = P(6u);
  let SH = i32(P(7u)); let SW = i32(P(8u)); let PH = i32(P(9u)); let PW = i32(P(10u));
  let DH = i32(P(11u)); let DW = i32(P(12u)); let OH = i32(P(13u)); let OW = i32(P(14u));
  var rem = gid;
  let wj = i32(rem % W); rem = rem / W;
  let hi = i32(rem % H); rem = rem / H;
  let c = rem % C; let nn = rem / C;
  let L = u32(OH * OW);
  var acc = 0.0;
  for (var ki = 0u; ki < KH; ki++) {
    let hh = hi + PH - i32(ki) * DH;
    if (hh < 0 || hh % SH != 0 || hh / SH >= OH) { continue; }
    let oi = hh / SH;
    for (var kj = 0u; kj < KW; kj++) {
      let ww = wj + PW - i32(kj) * DW;
      if (ww < 0 || ww % SW != 0 || ww / SW >= OW) { continue; }
      let oj = ww / SW;
      let row = (c * KH + ki) * KW + kj;
      acc += cols[(nn * C * KH * KW + row) * L + u32(oi * OW + oj)];
    }
  }
  o[gid] = o[gid] + acc;`)}`);
