/**
 * Block geometry and operand packing for the GEMM in ./gemm.ts.
 *
 * Packing copies a strided block of an operand into the contiguous micro-panel layout the
 * micro-kernel reads: a panel of W lines (A: W = MR rows, B: W = NR columns) over kc steps of
 * k is stored step-major, `[kc][W]`, so one k step of a panel is W consecutive elements.
 * Lines past the matrix edge are zero-filled. Transposes are absorbed here: the source
 * element (line l, step p) is at `src + l * lineStride + p * stepStride` (bytes), whatever
 * the operand's storage order. Two vector paths cover the common layouts:
 * - lines contiguous (lineStride = element size): each step is a short vector copy;
 * - steps contiguous (stepStride = element size): LxL blocks (L = 4 f32 / 2 f64 lanes) are
 *   loaded along the steps and transposed in registers.
 * Anything else (and the leftovers) is copied element by element.
 */

/**
 * Rows of the register tile. With FMA the kernel has room for 5 rows (10 accumulators, the A
 * rows fetched as one vector plus lane shuffles); mul+add needs a temporary per product, so the
 * baseline kernel uses 4 rows of splat loads (8 accumulators) to stay within the 15 xmm
 * registers V8 allocates on x86-64 (it hoists a step's loads above its arithmetic).
 */
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 5 : 4;
/** Depth of a packed slice of k: a B micro-panel (KC x NR, 8 KiB) stays in L1. */
export const KC: i32 = 256;
/** Rows of a packed A block (a multiple of MR; MC x KC stays in L2). */
export const MC: i32 = MR * 24;
/** Columns of a packed B block. */
export const NC: i32 = 2048;

/** Columns of the register tile: two vectors (8 f32 or 4 f64), 32 bytes. */
@inline export function nr<T>(): i32 {
  return 32 / <i32>sizeof<T>();
}

/**
 * Loads an L x L block (L = lanes of T) whose rows start at `src + r * srcStride` and stores
 * its transpose: row q of the result (16 bytes) at `dst + q * dstStride`.
 */
@inline function transposeBlock<T>(src: usize, srcStride: usize, dst: usize, dstStride: usize): void {
  if (sizeof<T>() == 4) {
    const v0 = v128.load(src), v1 = v128.load(src + srcStride);
    const v2 = v128.load(src + 2 * srcStride), v3 = v128.load(src + 3 * srcStride);
    const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
    const t2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
    v128.store(dst, i64x2.shuffle(t0, t2, 0, 2));
    v128.store(dst + dstStride, i64x2.shuffle(t0, t2, 1, 3));
    v128.store(dst + 2 * dstStride, i64x2.shuffle(t1, t3, 0, 2));
    v128.store(dst + 3 * dstStride, i64x2.shuffle(t1, t3, 1, 3));
  } else {
    const v0 = v128.load(src), v1 = v128.load(src + srcStride);
    v128.store(dst, i64x2.shuffle(v0, v1, 0, 2));
    v128.store(dst + dstStride, i64x2.shuffle(v0, v1, 1, 3));
  }
}

/** Element-by-element copy of lines [l0, l1) over steps [s0, s1) into the [kc][W] panel. */
function copyScalar<T>(src: usize, lineStride: usize, stepStride: usize, l0: i32, l1: i32, s0: i32, s1: i32,
                       width: i32, dst: usize): void {
  const sz = <usize>sizeof<T>();
  for (let l = l0; l < l1; l++) {
    const s = src + <usize>l * lineStride;
    const d = dst + <usize>l * sz;
    for (let p = s0; p < s1; p++) store<T>(d + <usize>(p * width) * sz, load<T>(s + <usize>p * stepStride));
  }
}

/**
 * Packs `lines` (<= width) lines of `kc` steps into one micro-panel at `dst` laid out
 * [kc][width], zero-filling lines [lines, width). Element (l, p) is read at
 * `src + l * lineStride + p * stepStride` (bytes).
 */
export function packPanel<T>(src: usize, lineStride: usize, stepStride: usize, lines: i32, width: i32, kc: i32,
                             dst: usize): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / <i32>sizeof<T>();
  const stepBytes = <usize>width * sz;
  if (lines == width && lineStride == sz) {
    // A step is `width` contiguous elements: whole vectors, then the odd element(s).
    const vecs = width / L;
    for (let p = 0; p < kc; p++) {
      const s = src + <usize>p * stepStride;
      const d = dst + <usize>p * stepBytes;
      for (let v = 0; v < vecs; v++) v128.store(d + (<usize>v << 4), v128.load(s + (<usize>v << 4)));
      for (let l = vecs * L; l < width; l++) store<T>(d + <usize>l * sz, load<T>(s + <usize>l * sz));
    }
    return;
  }
  let done = 0;
  if (stepStride == sz) {
    // Steps are contiguous: transpose LxL blocks of full line groups, scalar leftovers.
    done = lines / L * L;
    const steps = kc / L * L;
    for (let p = 0; p < steps; p += L) {
      for (let l = 0; l < done; l += L) {
        transposeBlock<T>(src + <usize>l * lineStride + <usize>p * sz, lineStride,
          dst + <usize>(p * width + l) * sz, stepBytes);
      }
    }
    copyScalar<T>(src, lineStride, stepStride, 0, done, steps, kc, width, dst);
  }
  copyScalar<T>(src, lineStride, stepStride, done, lines, 0, kc, width, dst);
  for (let l = lines; l < width; l++) {
    const d = dst + <usize>l * sz;
    for (let p = 0; p < kc; p++) store<T>(d + <usize>(p * width) * sz, <T>0);
  }
}

/**
 * Packs rows [i0, i0+mc) and k-slice [p0, p0+kc) of op(A) (m x k) into MR-tall micro-panels,
 * panel after panel. A is stored (m, k) row-major, or (k, m) when `transA`.
 */
export function packA<T>(a: usize, transA: bool, m: i32, k: i32, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  const sz = <usize>sizeof<T>();
  const rowStride = transA ? sz : <usize>k * sz;
  const stepStride = transA ? <usize>m * sz : sz;
  for (let ir = 0; ir < mc; ir += MR) {
    const src = a + <usize>(i0 + ir) * rowStride + <usize>p0 * stepStride;
    packPanel<T>(src, rowStride, stepStride, min(MR, mc - ir), MR, kc, dst + <usize>(ir * kc) * sz);
  }
}

/**
 * Packs k-slice [p0, p0+kc) and columns [j0, j0+nc) of op(B) (k x n) into NR-wide
 * micro-panels, panel after panel. B is stored (k, n) row-major, or (n, k) when `transB`.
 */
export function packB<T>(b: usize, transB: bool, n: i32, k: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const sz = <usize>sizeof<T>();
  const NR = nr<T>();
  const colStride = transB ? <usize>k * sz : sz;
  const stepStride = transB ? sz : <usize>n * sz;
  for (let jr = 0; jr < nc; jr += NR) {
    const src = b + <usize>(j0 + jr) * colStride + <usize>p0 * stepStride;
    packPanel<T>(src, colStride, stepStride, min(NR, nc - jr), NR, kc, dst + <usize>(jr * kc) * sz);
  }
}
