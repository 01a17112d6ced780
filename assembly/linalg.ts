/**
 * Small dense linear algebra for the solvers: batched dot / norm, Gram matrix + ridge,
 * and batched partially pivoted solve (the low-rank products are in ./lowrank).
 *
 * - All arrays are contiguous row-major, byte addresses, any alignment; sizes in elements.
 * - Dot products run over chunks of DOT_CHUNK bytes with 4 SIMD accumulators each, and the
 *   chunk sums are added in f64 (so f32 inputs get f64-quality totals at f32 SIMD speed).
 *   The order differs from a serial loop; results agree with it to rounding.
 * - Scratch (solve's f64 working copy, gram's f64 accumulators) comes
 *   from heap.alloc and may grow linear memory.
 */
import { hsum, lanes, madd } from './simd';
import { dot, DOT_CHUNK } from './dot';

/** Bytes of L1 that gram's m row chunks may occupy together. */
const GRAM_L1_BYTES: i32 = 16384;

/** out[b] = x[b] . y[b] for x, y (B, D). */
@inline function batchedDot<T>(out: usize, x: usize, y: usize, B: i32, D: i32): void {
  const row = <usize>D * sizeof<T>();
  for (let b = 0; b < B; b++) {
    store<T>(out + <usize>b * sizeof<T>(), <T>dot<T>(x + <usize>b * row, y + <usize>b * row, D));
  }
}

/** out[b] = ||x[b]||_2 for x (B, D) (no rescaling: overflows like the naive formula). */
@inline function batchedNorm<T>(out: usize, x: usize, B: i32, D: i32): void {
  const row = <usize>D * sizeof<T>();
  for (let b = 0; b < B; b++) {
    const p = x + <usize>b * row;
    store<T>(out + <usize>b * sizeof<T>(), <T>Math.sqrt(dot<T>(p, p, D)));
  }
}

/**
 * acc[0..4) += dots of row r with rows q0..q3 over n elements (one load of r feeds four
 * accumulators).
 */
@inline function dot4<T>(r: usize, q0: usize, q1: usize, q2: usize, q3: usize, n: i32, acc: usize): void {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  let a0 = v128.splat<T>(<T>0), a1 = a0, a2 = a0, a3 = a0;
  let i = 0;
  for (; i + L <= n; i += L) {
    const o = <usize>(i * sz);
    const v = v128.load(r + o);
    a0 = madd<T>(v, v128.load(q0 + o), a0);
    a1 = madd<T>(v, v128.load(q1 + o), a1);
    a2 = madd<T>(v, v128.load(q2 + o), a2);
    a3 = madd<T>(v, v128.load(q3 + o), a3);
  }
  let s0 = hsum<T>(a0), s1 = hsum<T>(a1), s2 = hsum<T>(a2), s3 = hsum<T>(a3);
  for (; i < n; i++) {
    const o = <usize>(i * sz);
    const v = <f64>load<T>(r + o);
    s0 += v * <f64>load<T>(q0 + o);
    s1 += v * <f64>load<T>(q1 + o);
    s2 += v * <f64>load<T>(q2 + o);
    s3 += v * <f64>load<T>(q3 + o);
  }
  store<f64>(acc, load<f64>(acc) + s0);
  store<f64>(acc, load<f64>(acc, 8) + s1, 8);
  store<f64>(acc, load<f64>(acc, 16) + s2, 16);
  store<f64>(acc, load<f64>(acc, 24) + s3, 24);
}

/**
 * out[b] = G[b] G[b]^T + lam I for G (B, m, D), out (B, m, m). Only the upper triangle is
 * computed (then mirrored); D is walked in chunks so that the m rows of a chunk stay in L1,
 * each row against four others at a time; sums accumulate in f64.
 */
@inline function gram<T>(out: usize, g: usize, B: i32, m: i32, D: i32, lam: f64): void {
  const sz = <i32>sizeof<T>();
  // m rows of one chunk should fit in ~16 KB of L1 (at least 16 elements per row).
  const chunk = max(16, (min(DOT_CHUNK, GRAM_L1_BYTES / max(m, 1)) / sz) & ~15);
  const mm = m * m;
  const acc = heap.alloc(<usize>max(mm, 1) << 3);
  for (let b = 0; b < B; b++) {
    const G = g + <usize>b * <usize>m * <usize>D * sz;
    memory.fill(acc, 0, <usize>mm << 3);
    for (let d0 = 0; d0 < D; d0 += chunk) {
      const len = min(chunk, D - d0);
      for (let i = 0; i < m; i++) {
        const ri = G + (<usize>i * <usize>D + <usize>d0) * sz;
        const ai = acc + <usize>(i * m) * 8;
        let j = i;
        for (; j + 4 <= m; j += 4) {
          const rj = G + (<usize>j * <usize>D + <usize>d0) * sz;
          const step = <usize>D * sz;
          dot4<T>(ri, rj, rj + step, rj + 2 * step, rj + 3 * step, len, ai + <usize>j * 8);
        }
        for (; j < m; j++) {
          const rj = G + (<usize>j * <usize>D + <usize>d0) * sz;
          const p = ai + <usize>j * 8;
          store<f64>(p, load<f64>(p) + dot<T>(ri, rj, len));
        }
      }
    }
    const O = out + <usize>b * <usize>mm * sz;
    for (let i = 0; i < m; i++) {
      store<T>(O + <usize>(i * m + i) * sz, <T>(load<f64>(acc + <usize>(i * m + i) * 8) + lam));
      for (let j = i + 1; j < m; j++) {
        const v = <T>load<f64>(acc + <usize>(i * m + j) * 8);
        store<T>(O + <usize>(i * m + j) * sz, v);
        store<T>(O + <usize>(j * m + i) * sz, v);
      }
    }
  }
  heap.free(acc);
}

/**
 * Solves A[b] x = rhs[b] for A (B, n, n), rhs (B, n) by Gaussian elimination with partial
 * pivoting on an f64 working copy (inputs untouched), exactly as the js backend: a pivot
 * with |p| <= 1e-300 or non-finite, or a non-finite solution, marks the entry singular;
 * its out row is NaN and flags[b] (i32) is 0, else 1. Returns the number of singular entries.
 */
@inline function solve<T>(out: usize, a: usize, rhs: usize, B: i32, n: i32, flags: usize): i32 {
  const sz = <usize>sizeof<T>();
  const M = heap.alloc(<usize>max(n * n + n, 1) << 3);
  const x = M + (<usize>(n * n) << 3);
  let bad = 0;
  for (let b = 0; b < B; b++) {
    const Ab = a + <usize>b * <usize>(n * n) * sz;
    const Rb = rhs + <usize>b * <usize>n * sz;
    for (let i = 0; i < n * n; i++) store<f64>(M + (<usize>i << 3), <f64>load<T>(Ab + <usize>i * sz));
    for (let i = 0; i < n; i++) store<f64>(x + (<usize>i << 3), <f64>load<T>(Rb + <usize>i * sz));
    let good = true;
    for (let c = 0; c < n && good; c++) {
      let p = c;
      let pv = Math.abs(load<f64>(M + (<usize>(c * n + c) << 3)));
      for (let r = c + 1; r < n; r++) {
        const v = Math.abs(load<f64>(M + (<usize>(r * n + c) << 3)));
        if (v > pv) { pv = v; p = r; }
      }
      if (!(pv > 1e-300) || !isFinite(pv)) { good = false; break; }
      if (p != c) {
        for (let t = 0; t < n; t++) {
          const pc = M + (<usize>(c * n + t) << 3), pp = M + (<usize>(p * n + t) << 3);
          const tmp = load<f64>(pc);
          store<f64>(pc, load<f64>(pp));
          store<f64>(pp, tmp);
        }
        const tmp = load<f64>(x + (<usize>c << 3));
        store<f64>(x + (<usize>c << 3), load<f64>(x + (<usize>p << 3)));
        store<f64>(x + (<usize>p << 3), tmp);
      }
      const piv = load<f64>(M + (<usize>(c * n + c) << 3));
      const xc = load<f64>(x + (<usize>c << 3));
      for (let r = c + 1; r < n; r++) {
        const f = load<f64>(M + (<usize>(r * n + c) << 3)) / piv;
        if (f == 0) continue;
        for (let t = c; t < n; t++) {
          const pr = M + (<usize>(r * n + t) << 3);
          store<f64>(pr, load<f64>(pr) - f * load<f64>(M + (<usize>(c * n + t) << 3)));
        }
        const px = x + (<usize>r << 3);
        store<f64>(px, load<f64>(px) - f * xc);
      }
    }
    if (good) {
      for (let r = n - 1; r >= 0; r--) {
        let acc = load<f64>(x + (<usize>r << 3));
        for (let t = r + 1; t < n; t++) acc -= load<f64>(M + (<usize>(r * n + t) << 3)) * load<f64>(x + (<usize>t << 3));
        store<f64>(x + (<usize>r << 3), acc / load<f64>(M + (<usize>(r * n + r) << 3)));
      }
      for (let i = 0; i < n; i++) if (!isFinite(load<f64>(x + (<usize>i << 3)))) good = false;
    }
    const Ob = out + <usize>b * <usize>n * sz;
    for (let i = 0; i < n; i++) store<T>(Ob + <usize>i * sz, good ? <T>load<f64>(x + (<usize>i << 3)) : <T>NaN);
    store<i32>(flags + (<usize>b << 2), good ? 1 : 0);
    if (!good) bad++;
  }
  heap.free(M);
  return bad;
}

export function dot_f32(out: usize, x: usize, y: usize, B: i32, D: i32): void { batchedDot<f32>(out, x, y, B, D); }
export function dot_f64(out: usize, x: usize, y: usize, B: i32, D: i32): void { batchedDot<f64>(out, x, y, B, D); }
export function norm_f32(out: usize, x: usize, B: i32, D: i32): void { batchedNorm<f32>(out, x, B, D); }
export function norm_f64(out: usize, x: usize, B: i32, D: i32): void { batchedNorm<f64>(out, x, B, D); }
export function gram_f32(out: usize, g: usize, B: i32, m: i32, D: i32, lam: f64): void { gram<f32>(out, g, B, m, D, lam); }
export function gram_f64(out: usize, g: usize, B: i32, m: i32, D: i32, lam: f64): void { gram<f64>(out, g, B, m, D, lam); }
export function solve_f32(out: usize, a: usize, rhs: usize, B: i32, n: i32, flags: usize): i32 {
  return solve<f32>(out, a, rhs, B, n, flags);
}
export function solve_f64(out: usize, a: usize, rhs: usize, B: i32, n: i32, flags: usize): i32 {
  return solve<f64>(out, a, rhs, B, n, flags);
}
