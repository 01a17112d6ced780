/**
 * GMRES's small least-squares problems and Broyden's Armijo line search on the GPU, so these
 * solves read nothing back (the rules of src/backend/gmres_host.ts and
 * src/backend/armijo_host.ts, in float32, NaN tests on the bits).
 * - `gmresStartKernel`: one thread per sample: a cycle's right-hand side, frozen mark, 1 / beta
 *   and the difference step h.
 * - `gmresColumnKernel`: one thread per sample: Givens rotations of Arnoldi column j, back
 *   substitution, the residual's coefficients and its norm. The column is rotated in place in
 *   the Hessenberg storage (column j has rows 0..j + 1 < m + 1).
 * - `armijoStageKernel`: one thread: a stage of the line search on its scalar state.
 */
import { ARMIJO_A1, ARMIJO_APREV, ARMIJO_DERPHI0, ARMIJO_DONE, ARMIJO_FIELDS, ARMIJO_PHI0, ARMIJO_PHIA1, ARMIJO_PHIPREV,
  ARMIJO_RESULT, ARMIJO_STAGES, ARMIJO_TRIAL } from '../backend.js';
import type { KernelDef } from './pipelines.js';
import { def } from './kernels_elementwise.js';
import { header, linearMain } from './wgsl.js';

/** Offsets in one sample's state (see gmresLsqStride): m = P(1). */
const LAYOUT = `fn o_cs(m: u32) -> u32 { return (m + 1u) * m; }
fn o_sn(m: u32) -> u32 { return (m + 1u) * m + m; }
fn o_g(m: u32) -> u32 { return (m + 1u) * m + 2u * m; }
fn o_k(m: u32) -> u32 { return (m + 1u) * m + 3u * m + 1u; }
fn stride(m: u32) -> u32 { return (m + 1u) * m + 3u * m + 3u; }`;

/** Words: [B, m]. */
export const gmresStartKernel: KernelDef = def('gmresStart', () => `${header(2, [{ name: 'beta' }, { name: 'fn_' }, { name: 'xn' },
  { name: 'st', write: true }, { name: 'scale', write: true }, { name: 'h', write: true }])}
${LAYOUT}
fn fin(v: f32) -> f32 { return select(0.0, v, is_finite(v) && v > 0.0); }
${linearMain(`  let m = P(1u); let b = gid; let o = b * stride(m);
  let bv = beta[b];
  let g0 = select(0.0, bv, is_finite(bv));
  for (var i = 0u; i <= m; i++) { st[o + o_g(m) + i] = 0.0; }
  st[o + o_g(m)] = g0;
  st[o + o_k(m)] = 0.0;
  let frozen = !(g0 > 0.0);
  st[o + o_k(m) + 1u] = select(0.0, 1.0, frozen);
  scale[b] = select(1.0 / bv, 0.0, frozen);
  h[b] = max(1.0, max(fin(fn_[b]), fin(xn[b])));`)}`);

/** Words: [B, m, j, breakdown (f32)]. */
export const gmresColumnKernel: KernelDef = def('gmresColumn', () => `${header(4, [{ name: 'hc' }, { name: 'av' }, { name: 'wv' },
  { name: 'st', write: true }, { name: 'scale', write: true }, { name: 'y', write: true }, { name: 's', write: true }, { name: 'ab', write: true }])}
${LAYOUT}
${linearMain(`  let m = P(1u); let j = P(2u); let b = gid; let o = b * stride(m);
  let CS = o + o_cs(m); let SN = o + o_sn(m); let G = o + o_g(m); let K = o + o_k(m);
  let w = wv[b];
  if (st[K + 1u] == 0.0) {
    for (var i = 0u; i <= j; i++) { st[o + i * m + j] = hc[b * (j + 1u) + i]; }
    st[o + (j + 1u) * m + j] = w;
    for (var i = 0u; i < j; i++) {
      let c = st[CS + i]; let sn = st[SN + i];
      let x0 = st[o + i * m + j]; let x1 = st[o + (i + 1u) * m + j];
      st[o + i * m + j] = c * x0 + sn * x1;
      st[o + (i + 1u) * m + j] = -sn * x0 + c * x1;
    }
    let p = st[o + j * m + j]; let q = st[o + (j + 1u) * m + j];
    let rho = length(vec2<f32>(p, q));
    if (is_nan(rho) || !is_finite(rho) || !(rho > 0.0)) { st[K + 1u] = 1.0; }
    else {
      let c = p / rho; let sn = q / rho;
      st[CS + j] = c; st[SN + j] = sn;
      st[o + j * m + j] = rho;
      let gj = st[G + j];
      st[G + j + 1u] = -sn * gj;
      st[G + j] = c * gj;
      st[K] = f32(j + 1u);
      let a = av[b];
      if (is_nan(w) || is_nan(a) || !(w > PF(3u) * a)) { st[K + 1u] = 1.0; }
    }
  }
  scale[b] = select(1.0 / w, 0.0, st[K + 1u] != 0.0);
  let k = u32(st[K]);
  let yo = b * (j + 1u);
  for (var i = k; i <= j; i++) { y[yo + i] = 0.0; }
  for (var ii = 0u; ii < k; ii++) {
    let i = k - 1u - ii;
    var acc = st[G + i];
    for (var c = i + 1u; c < k; c++) { acc -= st[o + i * m + c] * y[yo + c]; }
    y[yo + i] = acc / st[o + i * m + i];
  }
  let so = b * (j + 2u);
  for (var i = 0u; i < j + 2u; i++) { s[so + i] = 0.0; }
  s[so + k] = st[G + k];
  for (var ii = 0u; ii < k; ii++) {
    let i = k - 1u - ii;
    let c = st[CS + i]; let sn = st[SN + i];
    let t0 = s[so + i]; let t1 = s[so + i + 1u];
    s[so + i] = c * t0 - sn * t1;
    s[so + i + 1u] = sn * t0 + c * t1;
  }
  for (var i = 0u; i <= j; i++) { s[so + i] += y[yo + i]; }
  ab[b] = abs(st[G + k]);`)}`);

/** Words: [1, stage (i32)]. */
export const armijoStageKernel: KernelDef = def('armijoStage', () => `${header(2, [{ name: 'nv' },
  { name: 'st', write: true }, { name: 'trial', write: true }, { name: 'take', write: true }])}
const PHI0 = ${ARMIJO_PHI0}u; const DER = ${ARMIJO_DERPHI0}u; const APREV = ${ARMIJO_APREV}u; const A1 = ${ARMIJO_A1}u;
const PHIPREV = ${ARMIJO_PHIPREV}u; const PHIA1 = ${ARMIJO_PHIA1}u; const DONE = ${ARMIJO_DONE}u; const RES = ${ARMIJO_RESULT}u;
const TRIAL = ${ARMIJO_TRIAL}u; const LAST = ${ARMIJO_STAGES - 1}i;
fn finish(found: bool, a: f32, t: f32) {
  st[DONE] = select(2.0, 1.0, found);
  st[RES] = select(1.0, a, found);
  st[TRIAL] = st[RES];
  trial[0] = st[RES];
  take[0] = t;
}
fn next(stage: i32, a: f32, t: f32) {
  if (stage >= LAST) { finish(false, 1.0, t); return; }
  st[TRIAL] = a; trial[0] = a; take[0] = t;
}
fn le(a: f32, b: f32) -> bool { return !is_nan(a) && !is_nan(b) && a <= b; }
${linearMain(`  let stage = PI(1u); let n = nv[0];
  if (stage == -1) {
    let phi0 = n * n;
    for (var i = 0u; i < ${ARMIJO_FIELDS}u; i++) { st[i] = 0.0; }
    st[PHI0] = phi0; st[DER] = -phi0; st[RES] = 1.0; st[TRIAL] = 1.0;
    trial[0] = 1.0; take[0] = 0.0;
    return;
  }
  if (st[DONE] != 0.0) { trial[0] = st[RES]; take[0] = 0.0; return; }
  let phi = select(inf(), n * n, is_finite(n) && is_finite(n * n));
  let phi0 = st[PHI0]; let der = st[DER];
  if (stage == 0) {
    if (le(phi, phi0 + 1e-4 * der)) { finish(true, 1.0, 1.0); return; }
    let a1 = -der / 2.0 / (phi - phi0 - der);
    st[APREV] = 1.0; st[PHIPREV] = phi; st[A1] = a1;
    next(stage, a1, 1.0);
    return;
  }
  var a1 = st[A1];
  if (stage == 1) { st[PHIA1] = phi; }
  else {
    var a2 = st[TRIAL];
    if (le(phi, phi0 + 1e-4 * a2 * der)) { finish(true, a2, 1.0); return; }
    if ((!is_nan(a2) && !is_nan(a1)) && (a1 - a2 > a1 / 2.0 || 1.0 - a2 / a1 < 0.96)) { a2 = a1 / 2.0; }
    st[APREV] = a1; st[PHIPREV] = st[PHIA1]; a1 = a2; st[A1] = a2; st[PHIA1] = phi;
  }
  if (is_nan(a1) || !(a1 > 1e-2)) { finish(false, 1.0, 0.0); return; }
  let ap = st[APREV]; let pp = st[PHIPREV]; let pa = st[PHIA1];
  let factor = ap * ap * a1 * a1 * (a1 - ap);
  let r1 = pa - phi0 - der * a1;
  let r0 = pp - phi0 - der * ap;
  let ca = (ap * ap * r1 - a1 * a1 * r0) / factor;
  let cb = (-ap * ap * ap * r1 + a1 * a1 * a1 * r0) / factor;
  next(stage, (-cb + sqrt(abs(cb * cb - 3.0 * ca * der))) / (3.0 * ca), 0.0);`)}`);
