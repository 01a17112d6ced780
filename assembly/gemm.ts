/**
 * Packed, register-tiled SIMD GEMM for f32 (f32x4) and f64 (f64x2).
 *
 *   C[bt] = op(A[bt]) @ op(B[bt])   for bt < batch, op(A) is (m, k), op(B) is (k, n).
 *
 * Memory layout and contract:
 * - `a`, `b`, `c` are byte addresses into linear memory. No alignment is required (all
 *   accesses to user matrices are unaligned-safe); the packing scratch is 16-byte aligned.
 * - A[bt] starts at `a + bt * strideA` elements and is stored (m, k) row-major, or (k, m) when
 *   `transA` is non-zero; likewise B[bt] at `b + bt * strideB` elements, stored (k, n), or
 *   (n, k) when `transB` is non-zero. Strides are in ELEMENTS; a stride of 0 broadcasts one
 *   matrix over the batch.
 * - C is contiguous (batch, m, n) row-major and is overwritten, never accumulated into.
 *   C must not alias A or B (A and B may alias each other; they are only read).
 * - Any m, n, k >= 0. k == 0 writes zeros. Tails: packed panels are zero-padded up to the
 *   register tile, and partial tiles go through a small scratch tile whose valid part is
 *   copied to C, so edge rows and columns never read or write outside the matrices.
 *
 * Algorithm (the classic blocked scheme): for each NC-wide column block of B and each KC-deep
 * slice of k, B is packed into NR-wide micro-panels ([kc][NR] each); for each MC-tall row block
 * of A, A is packed into MR-tall micro-panels ([kc][MR] each); see ./gemm_pack.ts for the
 * geometry. Transposes are absorbed by the packing, so the micro-kernel always sees the same
 * layout. A batch of row-major A's against one shared B runs as one tall product, and a shared
 * operand that fits one block is packed once per call. Products with m == 1 or n == 1 skip
 * packing and run as matrix-vector loops (./gemm_gemv.ts). The micro-kernel keeps an MR x NR
 * tile of C in 2*MR v128 accumulators (NR = two vectors: 8 f32 or 4 f64) and runs over kc with
 * two vector loads of B and MR broadcasts of A per step. Block sizes keep a B micro-panel
 * (KC x NR) in L1 and the packed A block (MC x KC) in L2.
 *
 * Packing scratch comes from `heap.alloc` and is kept in a grow-only static buffer; it may grow
 * linear memory, so callers must re-derive typed-array views after every call.
 *
 * With relaxed SIMD enabled at compile time (`--enable relaxed-simd`), the micro-kernel uses
 * fused multiply-add (`relaxed_madd`); otherwise separate multiply and add.
 */

import { madd } from './simd';
import { KC, MC, MR, NC, nr, packA, packB } from './gemm_pack';
import { gemv } from './gemm_gemv';

let scratch: usize = 0;
let scratchBytes: usize = 0;

/** Returns a 16-byte aligned scratch area of at least `bytes` bytes (grow-only). */
function scratchOf(bytes: usize): usize {
  if (bytes > scratchBytes) {
    if (scratch != 0) heap.free(scratch);
    scratch = heap.alloc(bytes + 16);
    scratchBytes = bytes;
  }
  return (scratch + 15) & ~(<usize>15);
}

/** `acc` plus the vector at `c` when accumulating into C, else `acc`. */
@inline function tileIn<T>(acc: v128, c: usize, accumulate: bool): v128 {
  return accumulate ? v128.add<T>(acc, v128.load(c)) : acc;
}

/**
 * 4 x NR micro-kernel (baseline): tile at `c` (row stride `ldc` bytes) = [tile +] pa^T pb over
 * kc steps, with one splat load of A per row and two vector loads of B per step.
 */
function kernel4<T>(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, accumulate: bool): void {
  const sz = <usize>sizeof<T>();
  let c00 = v128.splat<T>(<T>0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00;
  const pbEnd = pb + <usize>kc * 32;
  while (pb < pbEnd) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av = v128.load_splat<T>(pa);
    c00 = madd<T>(av, b0, c00); c01 = madd<T>(av, b1, c01);
    av = v128.load_splat<T>(pa, sizeof<T>());
    c10 = madd<T>(av, b0, c10); c11 = madd<T>(av, b1, c11);
    av = v128.load_splat<T>(pa, 2 * sizeof<T>());
    c20 = madd<T>(av, b0, c20); c21 = madd<T>(av, b1, c21);
    av = v128.load_splat<T>(pa, 3 * sizeof<T>());
    c30 = madd<T>(av, b0, c30); c31 = madd<T>(av, b1, c31);
    pa += 4 * sz;
    pb += 32;
  }
  v128.store(c, tileIn<T>(c00, c, accumulate)); v128.store(c, tileIn<T>(c01, c + 16, accumulate), 16);
  c += ldc;
  v128.store(c, tileIn<T>(c10, c, accumulate)); v128.store(c, tileIn<T>(c11, c + 16, accumulate), 16);
  c += ldc;
  v128.store(c, tileIn<T>(c20, c, accumulate)); v128.store(c, tileIn<T>(c21, c + 16, accumulate), 16);
  c += ldc;
  v128.store(c, tileIn<T>(c30, c, accumulate)); v128.store(c, tileIn<T>(c31, c + 16, accumulate), 16);
}

/**
 * 5 x NR micro-kernel (FMA): like `kernel4`, but rows 0-3 of A come from vector loads split by
 * lane shuffles (which V8 schedules next to their use) and row 4 from a splat load, so 10
 * accumulators fit in the register file.
 */
function kernel5<T>(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, accumulate: bool): void {
  const sz = <usize>sizeof<T>();
  let c00 = v128.splat<T>(<T>0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00, c40 = c00, c41 = c00;
  const pbEnd = pb + <usize>kc * 32;
  while (pb < pbEnd) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av: v128;
    if (sizeof<T>() == 4) {
      const aq = v128.load(pa);
      av = i32x4.shuffle(aq, aq, 0, 0, 0, 0);
      c00 = madd<T>(av, b0, c00); c01 = madd<T>(av, b1, c01);
      av = i32x4.shuffle(aq, aq, 1, 1, 1, 1);
      c10 = madd<T>(av, b0, c10); c11 = madd<T>(av, b1, c11);
      av = i32x4.shuffle(aq, aq, 2, 2, 2, 2);
      c20 = madd<T>(av, b0, c20); c21 = madd<T>(av, b1, c21);
      av = i32x4.shuffle(aq, aq, 3, 3, 3, 3);
      c30 = madd<T>(av, b0, c30); c31 = madd<T>(av, b1, c31);
    } else {
      const a01 = v128.load(pa);
      av = i64x2.shuffle(a01, a01, 0, 0);
      c00 = madd<T>(av, b0, c00); c01 = madd<T>(av, b1, c01);
      av = i64x2.shuffle(a01, a01, 1, 1);
      c10 = madd<T>(av, b0, c10); c11 = madd<T>(av, b1, c11);
      const a23 = v128.load(pa, 16);
      av = i64x2.shuffle(a23, a23, 0, 0);
      c20 = madd<T>(av, b0, c20); c21 = madd<T>(av, b1, c21);
      av = i64x2.shuffle(a23, a23, 1, 1);
      c30 = madd<T>(av, b0, c30); c31 = madd<T>(av, b1, c31);
    }
    av = v128.load_splat<T>(pa, 4 * sizeof<T>());
    c40 = madd<T>(av, b0, c40); c41 = madd<T>(av, b1, c41);
    pa += 5 * sz;
    pb += 32;
  }
  v128.store(c, tileIn<T>(c00, c, accumulate)); v128.store(c, tileIn<T>(c01, c + 16, accumulate), 16);
  c += ldc;
  v128.store(c, tileIn<T>(c10, c, accumulate)); v128.store(c, tileIn<T>(c11, c + 16, accumulate), 16);
  c += ldc;
  v128.store(c, tileIn<T>(c20, c, accumulate)); v128.store(c, tileIn<T>(c21, c + 16, accumulate), 16);
  c += ldc;
  v128.store(c, tileIn<T>(c30, c, accumulate)); v128.store(c, tileIn<T>(c31, c + 16, accumulate), 16);
  c += ldc;
  v128.store(c, tileIn<T>(c40, c, accumulate)); v128.store(c, tileIn<T>(c41, c + 16, accumulate), 16);
}

/** The MR x NR micro-kernel for this build. */
@inline function kernel<T>(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, accumulate: bool): void {
  if (MR == 5) kernel5<T>(kc, pa, pb, c, ldc, accumulate);
  else kernel4<T>(kc, pa, pb, c, ldc, accumulate);
}

/** Multiplies a packed (mc x kc) A block by a packed (kc x nc) B block into C (row stride n). */
export function macro<T>(mc: i32, nc: i32, kc: i32, pa: usize, pb: usize, c: usize, n: i32, accumulate: bool, tile: usize): void {
  const sz = <usize>sizeof<T>();
  const NR = nr<T>();
  const ldc = <usize>n * sz;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const pbj = pb + <usize>(jr * kc) * sz;
    for (let ir = 0; ir < mc; ir += MR) {
      const rows = min(MR, mc - ir);
      const pai = pa + <usize>(ir * kc) * sz;
      const cij = c + <usize>ir * ldc + <usize>jr * sz;
      if (rows == MR && cols == NR) {
        kernel<T>(kc, pai, pbj, cij, ldc, accumulate);
      } else {
        kernel<T>(kc, pai, pbj, tile, 32, false);
        for (let r = 0; r < rows; r++) {
          const dst = cij + <usize>r * ldc;
          const src = tile + <usize>r * 32;
          for (let q = 0; q < cols; q++) {
            let v = load<T>(src + <usize>q * sz);
            if (accumulate) v += load<T>(dst + <usize>q * sz);
            store<T>(dst + <usize>q * sz, v);
          }
        }
      }
    }
  }
}

/**
 * Byte address of the packed B panels of k-slice `pc` from column `jc` inside a B packed whole
 * by `prepackB` (see there for the layout).
 */
@inline export function packedAt<T>(packedB: usize, n: i32, pc: i32, kc: i32, jc: i32): usize {
  const nPad = (n + nr<T>() - 1) / nr<T>() * nr<T>();
  return packedB + (<usize>pc * <usize>nPad + <usize>jc * <usize>kc) * <usize>sizeof<T>();
}

/**
 * Packs all of op(B) (k x n) once, for products that reuse one B many times (a DEQ layer's
 * weight during a solve). Layout: k-slice after k-slice (KC deep, the last one shorter), each
 * slice all NR-wide micro-panels of the n columns ([kc][NR] each, zero-padded to a multiple of
 * NR), exactly what `packB` writes for that slice and block of columns, so the product reads
 * the same values in the same order and its result is bit-identical to the unpacked one.
 * `dst` needs `prepackedBytes<T>(n, k)` bytes and 16-byte alignment.
 */
export function prepackB<T>(b: usize, transB: bool, n: i32, k: i32, dst: usize): void {
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    packB<T>(b, transB, n, k, pc, kc, 0, n, packedAt<T>(dst, n, pc, kc, 0));
  }
}

/** Bytes of a B (k x n) packed whole by `prepackB`. */
export function prepackedBytes<T>(n: i32, k: i32): i32 {
  return (n + nr<T>() - 1) / nr<T>() * nr<T>() * max(k, 1) * sizeof<T>();
}

/**
 * c[i0:i1, j0:j1] of one product c (m, n) = op(a) @ op(b) (k >= 1), packing into bufA / bufB:
 * the whole product on one thread, or one part's block of it (./gemm_part.ts). `reuseA` /
 * `reuseB` say the scratch already holds that operand packed by the previous call (same matrix,
 * and it fits in one block); `packedB`, when not 0, is all of B packed by `prepackB` (then `b`
 * and `bufB` are not read).
 */
export function gemmBlock<T>(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool,
                             i0: i32, i1: i32, j0: i32, j1: i32, bufA: usize, bufB: usize, tile: usize,
                             reuseA: bool, reuseB: bool, packedB: usize): void {
  const sz = <usize>sizeof<T>();
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      let pb = bufB;
      if (packedB != 0) pb = packedAt<T>(packedB, n, pc, kc, jc);
      else if (!reuseB) packB<T>(b, transB, n, k, pc, kc, jc, nc, bufB);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        if (!reuseA) packA<T>(a, transA, m, k, ic, mc, pc, kc, bufA);
        macro<T>(mc, nc, kc, bufA, pb, c + (<usize>ic * <usize>n + <usize>jc) * sz, n, pc > 0, tile);
      }
    }
  }
}

function gemm<T>(a: usize, b: usize, c: usize, batch: i32, m: i32, n: i32, k: i32,
                 transA: i32, transB: i32, strideA: i32, strideB: i32, packedB: usize): void {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const sz = <usize>sizeof<T>();
  const NR = nr<T>();
  // A batch of row-major A's against one shared B is a single tall GEMM.
  if (batch > 1 && strideB == 0 && transA == 0 && strideA == m * k) {
    m *= batch;
    batch = 1;
  }
  const cStride = <usize>m * <usize>n * sz;
  if (k > 0 && (m == 1 || n == 1) && packedB == 0) {
    // Matrix-vector products: C[bt] (as a vector) = vector @ matrix, nothing to pack.
    for (let bt = 0; bt < batch; bt++) {
      const ab = a + <usize>bt * <usize>strideA * sz, bb = b + <usize>bt * <usize>strideB * sz;
      const cb = c + <usize>bt * cStride;
      if (m == 1) gemv<T>(ab, bb, cb, n, k, transB != 0);
      else gemv<T>(bb, ab, cb, m, k, transA == 0);
    }
    return;
  }
  const kcMax = min(KC, max(k, 1));
  const mcMax = (min(MC, m) + MR - 1) / MR * MR;
  const ncMax = (min(NC, n) + NR - 1) / NR * NR;
  const bytesA = <usize>(mcMax * kcMax) * sz;
  const bytesB: usize = packedB != 0 ? 0 : <usize>(ncMax * kcMax) * sz;
  const base = scratchOf(bytesA + bytesB + <usize>(MR * 32));
  const bufA = base;
  const bufB = base + bytesA;
  const tile = bufB + bytesB;
  const oneBlockA = m <= MC && k <= KC;
  const oneBlockB = n <= NC && k <= KC;
  for (let bt = 0; bt < batch; bt++) {
    const reuseA = bt > 0 && strideA == 0 && oneBlockA;
    const reuseB = bt > 0 && strideB == 0 && oneBlockB;
    const cb = c + <usize>bt * cStride;
    if (k <= 0) {
      memory.fill(cb, 0, cStride);
      continue;
    }
    gemmBlock<T>(a + <usize>bt * <usize>strideA * sz, b + <usize>bt * <usize>strideB * sz, cb,
      m, n, k, transA != 0, transB != 0, 0, m, 0, n, bufA, bufB, tile, reuseA, reuseB, packedB);
  }
}

/**
 * Batched f32 GEMM, C[bt] = op(A[bt]) @ op(B[bt]); see the file header for the contract.
 * @example gemm_f32(aPtr, bPtr, cPtr, 1, 64, 64, 64, 0, 0, 0, 0)
 */
export function gemm_f32(a: usize, b: usize, c: usize, batch: i32, m: i32, n: i32, k: i32,
                         transA: i32, transB: i32, strideA: i32, strideB: i32): void {
  gemm<f32>(a, b, c, batch, m, n, k, transA, transB, strideA, strideB, 0);
}

/**
 * Batched f64 GEMM, C[bt] = op(A[bt]) @ op(B[bt]); see the file header for the contract.
 * @example gemm_f64(aPtr, bPtr, cPtr, 1, 64, 64, 64, 0, 0, 0, 0)
 */
export function gemm_f64(a: usize, b: usize, c: usize, batch: i32, m: i32, n: i32, k: i32,
                         transA: i32, transB: i32, strideA: i32, strideB: i32): void {
  gemm<f64>(a, b, c, batch, m, n, k, transA, transB, strideA, strideB, 0);
}

/**
 * Packs all of op(B) (k x n; stored (n, k) when `transB`) for `gemm_packed_f32` into `dst`
 * (`gemm_packed_bytes_f32(n, k)` bytes, 16-byte aligned).
 * @example gemm_prepack_f32(wPtr, 1, 1024, 1024, dst)
 */
export function gemm_prepack_f32(b: usize, transB: i32, n: i32, k: i32, dst: usize): void {
  prepackB<f32>(b, transB != 0, n, k, dst);
}

/** As `gemm_prepack_f32`, for f64. */
export function gemm_prepack_f64(b: usize, transB: i32, n: i32, k: i32, dst: usize): void {
  prepackB<f64>(b, transB != 0, n, k, dst);
}

/**
 * Bytes `gemm_prepack_f32` writes for a (k x n) B.
 * @example gemm_packed_bytes_f32(1024, 1024) // 4194304
 */
export function gemm_packed_bytes_f32(n: i32, k: i32): i32 {
  return prepackedBytes<f32>(n, k);
}

/** As `gemm_packed_bytes_f32`, for f64. */
export function gemm_packed_bytes_f64(n: i32, k: i32): i32 {
  return prepackedBytes<f64>(n, k);
}

/**
 * `gemm_f32` with B packed beforehand by `gemm_prepack_f32` (one B shared by the whole batch):
 * C[bt] = op(A[bt]) @ B, bit-identical to `gemm_f32` on the unpacked B.
 * @example gemm_packed_f32(aPtr, packed, cPtr, 1, 64, 1024, 1024, 0, 0)
 */
export function gemm_packed_f32(a: usize, packedB: usize, c: usize, batch: i32, m: i32, n: i32, k: i32,
                                transA: i32, strideA: i32): void {
  gemm<f32>(a, 0, c, batch, m, n, k, transA, 0, strideA, 0, packedB);
}

/** As `gemm_packed_f32`, for f64. */
export function gemm_packed_f64(a: usize, packedB: usize, c: usize, batch: i32, m: i32, n: i32, k: i32,
                                transA: i32, strideA: i32): void {
  gemm<f64>(a, 0, c, batch, m, n, k, transA, 0, strideA, 0, packedB);
}
