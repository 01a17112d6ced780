/**
 * Matrix-vector products for the GEMM in ./gemm.ts, used when op(A) has one row (m == 1) or
 * op(B) one column (n == 1). There every matrix element is used once, so packing (which reads
 * and writes the matrix once more) and the 4-5 row register tile (which would compute mostly
 * padding) only cost time; these loops stream the matrix once instead.
 *
 *   y (len n) = x (len k) @ M, with M (k x n) stored (k, n) row-major (`transposed` = false)
 *   or (n, k) row-major (`transposed` = true).
 *
 * `x`, `m` and `y` are byte addresses (no alignment needed); y is overwritten and must not
 * alias x or M. Any n, k >= 1.
 */
import { hsum, madd } from './simd';

/** y[j] = dot(M[j, :], x) for M stored (n, k): four rows at a time, two vectors per step. */
function gemvRows<T>(x: usize, mat: usize, y: usize, n: i32, k: i32): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / <i32>sizeof<T>();
  const row = <usize>k * sz;
  const k2 = k / (2 * L) * (2 * L);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const m0 = mat + <usize>j * row;
    let a0 = v128.splat<T>(<T>0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (let p = 0; p < k2; p += 2 * L) {
      const o = <usize>p * sz;
      const x0 = v128.load(x + o), x1 = v128.load(x + o, 16);
      a0 = madd<T>(v128.load(m0 + o), x0, a0); b0 = madd<T>(v128.load(m0 + o, 16), x1, b0);
      a1 = madd<T>(v128.load(m0 + row + o), x0, a1); b1 = madd<T>(v128.load(m0 + row + o, 16), x1, b1);
      a2 = madd<T>(v128.load(m0 + 2 * row + o), x0, a2); b2 = madd<T>(v128.load(m0 + 2 * row + o, 16), x1, b2);
      a3 = madd<T>(v128.load(m0 + 3 * row + o), x0, a3); b3 = madd<T>(v128.load(m0 + 3 * row + o, 16), x1, b3);
    }
    let s0 = hsum<T>(v128.add<T>(a0, b0)), s1 = hsum<T>(v128.add<T>(a1, b1));
    let s2 = hsum<T>(v128.add<T>(a2, b2)), s3 = hsum<T>(v128.add<T>(a3, b3));
    for (let p = k2; p < k; p++) {
      const xp = <f64>load<T>(x + <usize>p * sz);
      const o = m0 + <usize>p * sz;
      s0 += xp * <f64>load<T>(o); s1 += xp * <f64>load<T>(o + row);
      s2 += xp * <f64>load<T>(o + 2 * row); s3 += xp * <f64>load<T>(o + 3 * row);
    }
    store<T>(y + <usize>j * sz, <T>s0); store<T>(y + <usize>(j + 1) * sz, <T>s1);
    store<T>(y + <usize>(j + 2) * sz, <T>s2); store<T>(y + <usize>(j + 3) * sz, <T>s3);
  }
  for (; j < n; j++) {
    const mj = mat + <usize>j * row;
    let a = v128.splat<T>(<T>0), b = a;
    for (let p = 0; p < k2; p += 2 * L) {
      const o = <usize>p * sz;
      a = madd<T>(v128.load(mj + o), v128.load(x + o), a);
      b = madd<T>(v128.load(mj + o, 16), v128.load(x + o, 16), b);
    }
    let s = hsum<T>(v128.add<T>(a, b));
    for (let p = k2; p < k; p++) s += <f64>load<T>(x + <usize>p * sz) * <f64>load<T>(mj + <usize>p * sz);
    store<T>(y + <usize>j * sz, <T>s);
  }
}

/**
 * y = sum_p x[p] M[p, :] for M stored (k, n): y lives in place (it fits in cache for the
 * sizes where this runs), and four rows of M are folded in per pass over y.
 */
function gemvCols<T>(x: usize, mat: usize, y: usize, n: i32, k: i32): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / <i32>sizeof<T>();
  const row = <usize>n * sz;
  const nv = n / L * L;
  memory.fill(y, 0, <usize>n * sz);
  for (let p = 0; p < k; p += 4) {
    const rows = min(4, k - p);
    const m0 = mat + <usize>p * row;
    const xp = x + <usize>p * sz;
    if (rows == 4) {
      const x0 = v128.load_splat<T>(xp), x1 = v128.load_splat<T>(xp, sizeof<T>());
      const x2 = v128.load_splat<T>(xp, 2 * sizeof<T>()), x3 = v128.load_splat<T>(xp, 3 * sizeof<T>());
      for (let j = 0; j < nv; j += L) {
        const o = <usize>j * sz;
        let acc = v128.load(y + o);
        acc = madd<T>(v128.load(m0 + o), x0, acc);
        acc = madd<T>(v128.load(m0 + row + o), x1, acc);
        acc = madd<T>(v128.load(m0 + 2 * row + o), x2, acc);
        acc = madd<T>(v128.load(m0 + 3 * row + o), x3, acc);
        v128.store(y + o, acc);
      }
      for (let j = nv; j < n; j++) {
        const o = <usize>j * sz;
        let s = load<T>(y + o);
        s += load<T>(xp) * load<T>(m0 + o) + load<T>(xp + sz) * load<T>(m0 + row + o);
        s += load<T>(xp + 2 * sz) * load<T>(m0 + 2 * row + o) + load<T>(xp + 3 * sz) * load<T>(m0 + 3 * row + o);
        store<T>(y + o, s);
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const xr = v128.load_splat<T>(xp + <usize>r * sz);
        const mr = m0 + <usize>r * row;
        for (let j = 0; j < nv; j += L) {
          const o = <usize>j * sz;
          v128.store(y + o, madd<T>(v128.load(mr + o), xr, v128.load(y + o)));
        }
        const xs = load<T>(xp + <usize>r * sz);
        for (let j = nv; j < n; j++) {
          const o = <usize>j * sz;
          store<T>(y + o, load<T>(y + o) + xs * load<T>(mr + o));
        }
      }
    }
  }
}

/**
 * y (n) = x (k) @ M (k x n), M stored (k, n), or (n, k) when `transposed`.
 * @example gemv<f32>(xPtr, mPtr, yPtr, 64, 32, true)
 */
export function gemv<T>(x: usize, mat: usize, y: usize, n: i32, k: i32, transposed: bool): void {
  if (transposed) gemvRows<T>(x, mat, y, n, k);
  else gemvCols<T>(x, mat, y, n, k);
}
