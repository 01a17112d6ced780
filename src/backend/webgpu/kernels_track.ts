/**
 * Solver bookkeeping on the GPU (Backend.trackStep), so a solve reads nothing back: three
 * dispatches per step.
 * - `trackRecordKernel`: one thread per sample: trace column, padding, lowest values and their
 *   steps, improved flag, NaN / divergence, divergence reference (the rules of
 *   src/backend/track_host.ts, NaN tests on the bits).
 * - `trackCopyKernel`: one thread per element: best[b, :] = candidate[b, :] where improved.
 * - `trackStopKernel`: one workgroup: the batch-global stop test (and Broyden's no-progress
 *   test) on the column just written; sets the state's `stopped` and `stopStep` globals.
 * Every kernel is a no-op once `stopped` is set, so iterations queued past the stop leave the
 * result as it was when the stop test passed.
 */
import { TRACK_DEAD, TRACK_FIELDS, TRACK_IMPROVED, TRACK_LOWEST_ABS, TRACK_LOWEST_REL, TRACK_REF, TRACK_STEP_ABS, TRACK_STEP_REL } from '../backend.js';
import type { KernelDef } from './pipelines.js';
import { def } from './kernels_elementwise.js';
import { header, linearMain } from './wgsl.js';

const FIELDS = `const F_LA = ${TRACK_LOWEST_ABS}u; const F_LR = ${TRACK_LOWEST_REL}u; const F_SA = ${TRACK_STEP_ABS}u;
const F_SR = ${TRACK_STEP_REL}u; const F_REF = ${TRACK_REF}u; const F_DEAD = ${TRACK_DEAD}u; const F_IMP = ${TRACK_IMPROVED}u;
const NF = ${TRACK_FIELDS}u;`;

/** Words: [B, width, col, step (f32), eps (f32), stopMode, returnFinal, divergence (f32)]. */
export const trackRecordKernel: KernelDef = iterationWords(def('trackRecord', () => `${header(8, [{ name: 'nv' }, { name: 'st', write: true }, { name: 'tr', write: true }])}
${FIELDS}
${linearMain(`  let B = P(0u); let width = P(1u); let col = P(2u); let step = PF(3u);
  let b = gid; let G = NF * B;
  if (st[G] != 0.0) { st[F_IMP * B + b] = 0.0; return; }
  let rf = P(6u) != 0u;
  let a = nv[b]; let fn_ = nv[B + b];
  var r = a / (fn_ + PF(4u));
  if (is_nan(a) || is_nan(fn_)) { r = nan(); }
  let la = st[F_LA * B + b]; let lr = st[F_LR * B + b];
  let betterAbs = rf || (!is_nan(a) && !is_nan(la) && a < la);
  let betterRel = rf || (!is_nan(r) && !is_nan(lr) && r < lr);
  if (betterAbs) { st[F_LA * B + b] = a; st[F_SA * B + b] = step; }
  if (betterRel) { st[F_LR * B + b] = r; st[F_SR * B + b] = step; }
  st[F_IMP * B + b] = select(0.0, 1.0, select(betterRel, betterAbs, P(5u) == 0u));
  let rel0 = B * width;
  tr[b * width + col] = a;
  tr[rel0 + b * width + col] = r;
  let pa = st[F_LA * B + b]; let pr = st[F_LR * B + b];
  for (var c = col + 1u; c < width; c++) { tr[b * width + c] = pa; tr[rel0 + b * width + c] = pr; }
  let refv = st[F_REF * B + b];
  if (st[F_DEAD * B + b] == 0.0) {
    if (is_nan(a) || is_nan(r)) { st[F_DEAD * B + b] = 1.0; }
    else if (!is_finite(a) || (!is_nan(refv) && a > PF(7u) * refv)) { st[F_DEAD * B + b] = 2.0; }
  }
  if (is_nan(refv)) { st[F_REF * B + b] = select(max(a, 1e-8 * (fn_ + 1.0)), nan(), is_nan(a) || is_nan(fn_)); }
  if (b == 0u) { st[G + 2u] = f32(col + 1u); }`)}`));

/** Words: [B D, D, B]. */
export const trackCopyKernel: KernelDef = def('trackCopy', () => `${header(3, [{ name: 'st' }, { name: 'cand' }, { name: 'best', write: true }])}
${FIELDS}
${linearMain(`  let b = gid / P(1u);
  if (st[F_IMP * P(2u) + b] == 1.0) { best[gid] = cand[gid]; }`)}`);

const SWG = 64;

/**
 * Words: [B, width, col, step (f32), tol (f32), stopMode, returnFinal, stallSteps,
 * stallRatio (f32), stallTol (f32)]. One workgroup.
 */
export const trackStopKernel: KernelDef = iterationWords(def('trackStop', () => `${header(10, [{ name: 'st', write: true }, { name: 'tr' }])}
${FIELDS}
var<workgroup> live: array<u32, ${SWG}>;
var<workgroup> fail: array<u32, ${SWG}>;
var<workgroup> nanw: array<u32, ${SWG}>;
var<workgroup> mx: array<f32, ${SWG}>;
@compute @workgroup_size(${SWG})
fn main(@builtin(local_invocation_index) li: u32) {
  let B = P(0u); let width = P(1u); let col = P(2u); let G = NF * B;
  let base = select(B * width, 0u, P(5u) == 0u);
  let tol = PF(4u);
  var l = 0u; var f = 0u; var n = 0u; var m = -inf();
  for (var b = li; b < B; b += ${SWG}u) {
    let v = tr[base + b * width + col];
    if (is_nan(v)) { n = 1u; } else if (v > m) { m = v; }
    if (st[F_DEAD * B + b] != 0.0) { continue; }
    l = 1u;
    if (!(!is_nan(v) && v < tol)) { f = 1u; }
  }
  live[li] = l; fail[li] = f; nanw[li] = n; mx[li] = m;
  workgroupBarrier();
  for (var s = ${SWG / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) {
      live[li] = max(live[li], live[li + s]); fail[li] = max(fail[li], fail[li + s]);
      nanw[li] = max(nanw[li], nanw[li + s]); mx[li] = max(mx[li], mx[li + s]);
    }
    workgroupBarrier();
  }
  if (li != 0u || st[G] != 0.0) { return; }
  var stop = live[0] == 0u || (P(6u) == 0u && fail[0] == 0u);
  let ns = P(7u);
  if (!stop && ns > 0u && PF(3u) > f32(ns) && nanw[0] == 0u && mx[0] < PF(9u) && col + 1u >= ns) {
    var worst = -inf(); var ok = true;
    for (var c = col + 1u - ns; c <= col; c++) {
      var cmx = -inf(); var cmn = inf();
      for (var b = 0u; b < B; b++) {
        let v = tr[base + b * width + c];
        if (is_nan(v)) { ok = false; }
        cmx = max(cmx, v); cmn = min(cmn, v);
      }
      let q = cmx / cmn;
      if (is_nan(q)) { ok = false; }
      if (!ok) { break; }
      worst = max(worst, q);
    }
    stop = ok && worst < PF(8u);
  }
  if (stop) { st[G] = 1.0; st[G + 1u] = PF(3u); }
}`));

/** Both step kernels take the trace column (word 2) and the step number (word 3, f32) per iteration. */
function iterationWords(k: KernelDef): KernelDef {
  return { ...k, iterationWords: { 2: 'u32', 3: 'f32' } };
}
