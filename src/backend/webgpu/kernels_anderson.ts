/**
 * Anderson's mixing weights on the GPU, batched over samples with nothing read back: one thread
 * per sample builds the bordered system [[0, 1^T], [1, gram[:n, :n] + lam I]] in a scratch
 * (B, n+1, n+1), solves it with partial pivoting (the rules of `solveKernel`), and on a
 * singular system applies the solver's fallback itself (src/solvers/anderson.ts,
 * recoverSingular): ridges of 1e-10, 1e-7, 1e-4 times max_i |gram_ii + lam| added to the
 * diagonal, then the plain step (weight 1 on the newest slot). alpha (B, m) takes the weights,
 * zero beyond n.
 */
import type { KernelDef } from './pipelines.js';
import { def } from './kernels_elementwise.js';
import { header, linearMain } from './wgsl.js';

/** Words: [B, n, m, lam (f32), newest]. */
export const andersonAlphaKernel: KernelDef = def('andersonAlpha', () => `${header(5, [{ name: 'gram' }, { name: 'M', write: true }, { name: 'x', write: true }, { name: 'alpha', write: true }])}
fn attempt(b: u32, n: u32, m: u32, lam: f32, ridge: f32) -> bool {
  let w = n + 1u; let mb = b * w * w; let xb = b * w;
  for (var i = 0u; i < w; i++) {
    x[xb + i] = select(0.0, 1.0, i == 0u);
    for (var j = 0u; j < w; j++) {
      var v = 0.0;
      if (i == 0u || j == 0u) { v = select(1.0, 0.0, i == j); }
      else { v = gram[(b * m + i - 1u) * m + j - 1u] + select(0.0, lam + ridge, i == j); }
      M[mb + i * w + j] = v;
    }
  }
  for (var c = 0u; c < w; c++) {
    var p = c; var pv = abs(M[mb + c * w + c]);
    for (var r = c + 1u; r < w; r++) {
      let v = abs(M[mb + r * w + c]);
      if (v > pv || (is_nan(v) && !is_nan(pv))) { pv = v; p = r; }
    }
    if (is_nan(pv) || !is_finite(pv) || !(pv > 0.0)) { return false; }
    if (p != c) {
      for (var t = 0u; t < w; t++) { let s = M[mb + c * w + t]; M[mb + c * w + t] = M[mb + p * w + t]; M[mb + p * w + t] = s; }
      let s = x[xb + c]; x[xb + c] = x[xb + p]; x[xb + p] = s;
    }
    let piv = M[mb + c * w + c];
    for (var r = c + 1u; r < w; r++) {
      let f = M[mb + r * w + c] / piv;
      if (f == 0.0) { continue; }
      for (var t = c; t < w; t++) { M[mb + r * w + t] = M[mb + r * w + t] - f * M[mb + c * w + t]; }
      x[xb + r] = x[xb + r] - f * x[xb + c];
    }
  }
  for (var rr = 0u; rr < w; rr++) {
    let r = w - 1u - rr;
    var acc = x[xb + r];
    for (var t = r + 1u; t < w; t++) { acc = acc - M[mb + r * w + t] * x[xb + t]; }
    let v = acc / M[mb + r * w + r];
    if (!is_finite(v)) { return false; }
    x[xb + r] = v;
  }
  return true;
}
${linearMain(`  let b = gid; let n = P(1u); let m = P(2u); let lam = PF(3u);
  var ok = attempt(b, n, m, lam, 0.0);
  if (!ok) {
    var scale = 0.0; var bad = false;
    for (var i = 0u; i < n; i++) {
      let v = abs(gram[(b * m + i) * m + i] + lam);
      if (!is_finite(v)) { bad = true; } else { scale = max(scale, v); }
    }
    if (!bad && scale > 0.0) {
      ok = attempt(b, n, m, lam, 1e-10 * scale);
      if (!ok) { ok = attempt(b, n, m, lam, 1e-7 * scale); }
      if (!ok) { ok = attempt(b, n, m, lam, 1e-4 * scale); }
    }
  }
  let w = n + 1u;
  for (var j = 0u; j < m; j++) {
    var v = 0.0;
    if (ok) { if (j < n) { v = x[b * w + 1u + j]; } }
    else { v = select(0.0, 1.0, j == P(4u)); }
    alpha[b * m + j] = v;
  }`)}`);
