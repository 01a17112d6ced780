/**
 * The reference GMRES least-squares kernels (Backend.gmresStart / gmresColumn) for backends
 * that read synchronously (`js`, `wasm`): plain loops per sample over the state read back with
 * `readSync` and written back with `write`, in float64 JS numbers rounded to the state's dtype
 * when stored. The GPU kernels (src/backend/webgpu/kernels_gmres.ts) are tested against these.
 */
import { gmresLsqStride, type Backend, type Storage } from './backend.js';

/** Offsets of one sample's least-squares state (see gmresLsqStride). */
export function lsqLayout(m: number): { R: number; cs: number; sn: number; g: number; k: number; frozen: number; S: number } {
  const R = 0, cs = (m + 1) * m, sn = cs + m, g = sn + m, k = g + m + 1;
  return { R, cs, sn, g, k, frozen: k + 1, S: gmresLsqStride(m) };
}

/** Backend.gmresStart on a synchronously readable backend. */
export function gmresStartHost(be: Backend, beta: Storage, fNorm: Storage, xNorm: Storage, lsq: Storage, scale: Storage,
  h: Storage, B: number, m: number): void {
  const L = lsqLayout(m);
  const st = be.readSync(lsq), bv = be.readSync(beta), fv = be.readSync(fNorm), xv = be.readSync(xNorm);
  const sc = new Float64Array(B), hv = new Float64Array(B);
  const fin = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);
  for (let b = 0; b < B; b++) {
    const o = b * L.S;
    const g0 = Number.isFinite(bv[b]) ? bv[b] : 0;
    st.fill(0, o + L.g, o + L.g + m + 1);
    st[o + L.g] = g0;
    st[o + L.k] = 0;
    const frozen = !(g0 > 0);
    st[o + L.frozen] = frozen ? 1 : 0;
    sc[b] = frozen ? 0 : 1 / bv[b];
    hv[b] = Math.max(1, fin(fv[b]), fin(xv[b]));
  }
  be.write(lsq, st);
  be.write(scale, sc);
  be.write(h, hv);
}

/** Backend.gmresColumn on a synchronously readable backend. */
export function gmresColumnHost(be: Backend, h: Storage, avNorm: Storage, wNorm: Storage, lsq: Storage,
  scale: Storage, y: Storage, s: Storage, abs: Storage, j: number, B: number, m: number, breakdown: number): void {
  const L = lsqLayout(m);
  const st = be.readSync(lsq), hv = be.readSync(h), av = be.readSync(avNorm), wv = be.readSync(wNorm);
  const sc = new Float64Array(B), ys = new Float64Array(B * (j + 1)), ss = new Float64Array(B * (j + 2)), ab = new Float64Array(B);
  const col = new Float64Array(j + 2);
  for (let b = 0; b < B; b++) {
    const o = b * L.S;
    const R = (i: number, c: number): number => o + L.R + i * m + c;
    if (st[o + L.frozen] === 0) {
      for (let i = 0; i <= j; i++) col[i] = hv[b * (j + 1) + i];
      col[j + 1] = wv[b];
      for (let i = 0; i < j; i++) {
        const c = st[o + L.cs + i], sn = st[o + L.sn + i];
        const a = c * col[i] + sn * col[i + 1];
        col[i + 1] = -sn * col[i] + c * col[i + 1];
        col[i] = a;
      }
      const rho = Math.hypot(col[j], col[j + 1]);
      if (!(rho > 0) || !Number.isFinite(rho)) st[o + L.frozen] = 1; // A v_j adds nothing: keep the solution
      else {
        const c = col[j] / rho, sn = col[j + 1] / rho;
        st[o + L.cs + j] = c;
        st[o + L.sn + j] = sn;
        col[j] = rho;
        for (let i = 0; i <= j; i++) st[R(i, j)] = col[i];
        const gj = st[o + L.g + j];
        st[o + L.g + j + 1] = -sn * gj;
        st[o + L.g + j] = c * gj;
        st[o + L.k] = j + 1;
        if (!(wv[b] > breakdown * av[b])) st[o + L.frozen] = 1; // the Krylov space is exhausted
      }
    }
    sc[b] = st[o + L.frozen] !== 0 ? 0 : 1 / wv[b];
    const k = st[o + L.k];
    // y: back substitution R y = g[0..k), zeros beyond k.
    const yo = b * (j + 1);
    for (let i = k - 1; i >= 0; i--) {
      let acc = st[o + L.g + i];
      for (let c = i + 1; c < k; c++) acc -= st[R(i, c)] * ys[yo + c];
      ys[yo + i] = acc / st[R(i, i)];
    }
    // s = y + t, t = Q^T (0, .., 0, g_k).
    const so = b * (j + 2);
    ss[so + k] = st[o + L.g + k];
    for (let i = k - 1; i >= 0; i--) {
      const c = st[o + L.cs + i], sn = st[o + L.sn + i];
      const a = c * ss[so + i] - sn * ss[so + i + 1];
      ss[so + i + 1] = sn * ss[so + i] + c * ss[so + i + 1];
      ss[so + i] = a;
    }
    for (let i = 0; i <= j; i++) ss[so + i] += ys[yo + i];
    ab[b] = Math.abs(st[o + L.g + k]);
  }
  be.write(lsq, st);
  be.write(scale, sc);
  be.write(y, ys);
  be.write(s, ss);
  be.write(abs, ab);
}
