/**
 * Reductions of x viewed as (outer, n, inner) over n into out (outer, inner):
 * `{sum|max|min|argmax|argmin}_{f32|f64}(out, x, outer, n, inner)`.
 *
 * - x, out: byte addresses of contiguous arrays (any alignment); out must not overlap x.
 * - Semantics of src/backend/js.ts: max/min return NaN if the reduced line holds a NaN;
 *   argmax/argmin return the index of the first NaN, else the first index of the extreme
 *   (written as a float). n == 0 gives 0 for sum and arg ops, NaN for max/min.
 * - inner == 1: each line is contiguous; SIMD lanes keep their own (value, first index) and
 *   are merged in index order at the end, so max/min/arg* are exact. Sums use several SIMD
 *   accumulators (f32 accumulates in f64), so the summation order differs from a serial loop.
 * - inner > 1: lines are strided; the kernel walks j = 0..n-1 over whole contiguous rows of
 *   `inner` elements with SIMD across inner, so each output keeps the serial order (f32 sums
 *   accumulate in f64: bit-identical to the js backend's double accumulation).
 * - Scratch (inner > 1: a best-value row, or an f64 accumulator row) comes from heap.alloc
 *   and may grow linear memory.
 */
import { hsum, lanes, select } from './simd';

const SUM = 0;
const MAX = 1;
const MIN = 2;
const ARGMAX = 3;
const ARGMIN = 4;

/** Static spill area for merging lanes (kernels are not reentrant). */
const TMP = memory.data(64, 16);

@inline function isMaxOp(op: i32): bool {
  return op == MAX || op == ARGMAX;
}

/** Lanes where v should replace best under the js rule (stop at NaN; NaN wins; strict compare). */
@inline function betterV<T>(op: i32, v: v128, best: v128): v128 {
  const cmp = isMaxOp(op) ? v128.gt<T>(v, best) : v128.lt<T>(v, best);
  return v128.and(v128.or(cmp, v128.ne<T>(v, v)), v128.eq<T>(best, best));
}

/** Whether candidate (v, i) beats (b, bi) when candidates arrive out of index order. */
@inline function beats<T>(op: i32, v: T, i: i32, b: T, bi: i32): bool {
  if (b != b) return v != v && i < bi;
  if (v != v) return true;
  if (isMaxOp(op) ? v > b : v < b) return true;
  return v == b && i < bi;
}

/** Index vector [0, 1, .., lanes-1] with lane width matching T. */
@inline function iota<T>(): v128 {
  if (sizeof<T>() == 4) return i32x4(0, 1, 2, 3);
  return i64x2(0, 1);
}

@inline function addIdx<T>(a: v128, k: i32): v128 {
  if (sizeof<T>() == 4) return i32x4.add(a, i32x4.splat(k));
  return i64x2.add(a, i64x2.splat(<i64>k));
}

@inline function loadIdx<T>(p: usize, l: i32): i32 {
  if (sizeof<T>() == 4) return load<i32>(p + <usize>(l << 2));
  return <i32>load<i64>(p + <usize>(l << 3));
}

/** Extreme (value or index) of n contiguous elements at p. */
@inline function extremeLine<T>(op: i32, p: usize, n: i32): T {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  let bv: T, bi = 0, j = 0;
  if (n >= L) {
    let best = v128.load(p), idx = iota<T>(), cur = idx;
    for (j = L; j + L <= n; j += L) {
      cur = addIdx<T>(cur, L);
      const v = v128.load(p + <usize>(j * sz));
      const m = betterV<T>(op, v, best);
      best = select(m, v, best);
      idx = select(m, cur, idx);
    }
    v128.store(TMP, best);
    v128.store(TMP + 16, idx);
    bv = load<T>(TMP);
    bi = loadIdx<T>(TMP + 16, 0);
    for (let l = 1; l < L; l++) {
      const v = load<T>(TMP + <usize>(l * sz)), i = loadIdx<T>(TMP + 16, l);
      if (beats<T>(op, v, i, bv, bi)) { bv = v; bi = i; }
    }
  } else {
    if (n == 0) return op == MAX || op == MIN ? <T>NaN : <T>0;
    bv = load<T>(p);
    j = 1;
  }
  for (; j < n; j++) {
    const v = load<T>(p + <usize>(j * sz));
    if (beats<T>(op, v, j, bv, bi)) { bv = v; bi = j; }
  }
  return op == MAX || op == MIN ? bv : <T>bi;
}

/** Sum of n contiguous elements at p, accumulated in f64 lanes for f32. */
@inline function sumLine<T>(p: usize, n: i32): f64 {
  const sz = <i32>sizeof<T>();
  let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let j = 0;
  if (sizeof<T>() == 4) {
    for (; j + 8 <= n; j += 8) {
      const u = v128.load(p), w = v128.load(p, 16);
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(u));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.shuffle<f32>(u, u, 2, 3, 0, 1)));
      a2 = f64x2.add(a2, f64x2.promote_low_f32x4(w));
      a3 = f64x2.add(a3, f64x2.promote_low_f32x4(v128.shuffle<f32>(w, w, 2, 3, 0, 1)));
      p += 32;
    }
  } else {
    for (; j + 8 <= n; j += 8) {
      a0 = f64x2.add(a0, v128.load(p));
      a1 = f64x2.add(a1, v128.load(p, 16));
      a2 = f64x2.add(a2, v128.load(p, 32));
      a3 = f64x2.add(a3, v128.load(p, 48));
      p += 64;
    }
  }
  let s = hsum<f64>(f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3)));
  for (; j < n; j++) {
    s += <f64>load<T>(p);
    p += <usize>sz;
  }
  return s;
}

/** out[0..inner) = sum over j of rows x + j*inner, in serial j order, f64 accumulation. */
@inline function sumRows<T>(out: usize, x: usize, n: i32, inner: i32, acc: usize): void {
  const sz = <i32>sizeof<T>();
  const row = <usize>(inner * sz);
  if (sizeof<T>() == 8) acc = out; // f64: accumulate in place
  memory.fill(acc, 0, <usize>inner << 3);
  for (let j = 0; j < n; j++) {
    const xr = x + <usize>j * row;
    let c = 0;
    if (sizeof<T>() == 4) {
      for (; c + 4 <= inner; c += 4) {
        const u = v128.load(xr + <usize>(c << 2));
        const pa = acc + <usize>(c << 3);
        v128.store(pa, f64x2.add(v128.load(pa), f64x2.promote_low_f32x4(u)));
        v128.store(pa, f64x2.add(v128.load(pa, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(u, u, 2, 3, 0, 1))), 16);
      }
    } else {
      for (; c + 2 <= inner; c += 2) {
        const pa = acc + <usize>(c << 3);
        v128.store(pa, f64x2.add(v128.load(pa), v128.load(xr + <usize>(c << 3))));
      }
    }
    for (; c < inner; c++) {
      const pa = acc + <usize>(c << 3);
      store<f64>(pa, load<f64>(pa) + <f64>load<T>(xr + <usize>(c * sz)));
    }
  }
  if (sizeof<T>() == 4) {
    for (let c = 0; c < inner; c++) store<f32>(out + <usize>(c << 2), <f32>load<f64>(acc + <usize>(c << 3)));
  }
}

/** Extremes over j of rows x + j*inner: best values in `best`, indices (as T) in out for arg ops. */
@inline function extremeRows<T>(op: i32, out: usize, x: usize, n: i32, inner: i32, best: usize): void {
  const sz = <i32>sizeof<T>();
  const row = <usize>(inner * sz);
  const arg = op == ARGMAX || op == ARGMIN;
  if (!arg) best = out;
  if (n == 0) {
    for (let c = 0; c < inner; c++) store<T>(out + <usize>(c * sz), arg ? <T>0 : <T>NaN);
    return;
  }
  memory.copy(best, x, row);
  if (arg) memory.fill(out, 0, row); // index 0 everywhere (0.0 is all-zero bits)
  const L = lanes<T>();
  for (let j = 1; j < n; j++) {
    const xr = x + <usize>j * row;
    const jv = v128.splat<T>(<T>j);
    let c = 0;
    for (; c + L <= inner; c += L) {
      const o = <usize>(c * sz);
      const v = v128.load(xr + o), b = v128.load(best + o);
      const m = betterV<T>(op, v, b);
      v128.store(best + o, select(m, v, b));
      if (arg) v128.store(out + o, select(m, jv, v128.load(out + o)));
    }
    for (; c < inner; c++) {
      const o = <usize>(c * sz);
      const v = load<T>(xr + o), b = load<T>(best + o);
      if (b == b && (v != v || (isMaxOp(op) ? v > b : v < b))) {
        store<T>(best + o, v);
        if (arg) store<T>(out + o, <T>j);
      }
    }
  }
}

@inline function reduce<T>(op: i32, out: usize, x: usize, outer: i32, n: i32, inner: i32): void {
  const sz = <i32>sizeof<T>();
  if (inner == 1) {
    for (let a = 0; a < outer; a++) {
      const p = x + <usize>a * <usize>(n * sz);
      store<T>(out + <usize>(a * sz), op == SUM ? <T>sumLine<T>(p, n) : extremeLine<T>(op, p, n));
    }
    return;
  }
  // Scratch: f64 accumulators for f32 sums, a best-value row for arg ops.
  let scratch: usize = 0;
  if (op == SUM && sz == 4) scratch = heap.alloc(<usize>inner << 3);
  if (op == ARGMAX || op == ARGMIN) scratch = heap.alloc(<usize>(inner * sz));
  const rowBytes = <usize>(inner * sz);
  for (let a = 0; a < outer; a++) {
    const xa = x + <usize>a * <usize>n * rowBytes;
    const oa = out + <usize>a * rowBytes;
    if (op == SUM) sumRows<T>(oa, xa, n, inner, scratch);
    else extremeRows<T>(op, oa, xa, n, inner, scratch);
  }
  if (scratch != 0) heap.free(scratch);
}

export function sum_f32(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f32>(SUM, out, x, outer, n, inner); }
export function sum_f64(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f64>(SUM, out, x, outer, n, inner); }
export function max_f32(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f32>(MAX, out, x, outer, n, inner); }
export function max_f64(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f64>(MAX, out, x, outer, n, inner); }
export function min_f32(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f32>(MIN, out, x, outer, n, inner); }
export function min_f64(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f64>(MIN, out, x, outer, n, inner); }
export function argmax_f32(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f32>(ARGMAX, out, x, outer, n, inner); }
export function argmax_f64(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f64>(ARGMAX, out, x, outer, n, inner); }
export function argmin_f32(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f32>(ARGMIN, out, x, outer, n, inner); }
export function argmin_f64(out: usize, x: usize, outer: i32, n: i32, inner: i32): void { reduce<f64>(ARGMIN, out, x, outer, n, inner); }
