/**
 * One GEMM split into parts for the thread pool (src/threads/): part `p` of `parts` computes a
 * disjoint slice of C = op(A) @ op(B) (same contract as ./gemm.ts), packing into a scratch
 * block the caller owns, so several instances of this module can work on one shared memory at
 * once without touching the allocator (which is not thread-safe and belongs to the main thread).
 *
 * Split (the same decision in every function below, so callers and parts agree):
 * - a batch of row-major A's against one shared B is first folded into one tall product, as
 *   ./gemm.ts does;
 * - batch >= parts: whole batch items, in contiguous runs;
 * - otherwise every item is split along its longer side: columns of C in NR-wide units when
 *   n >= m (each part packs its own columns of B and all of A), else rows in MR-tall units.
 * Unit boundaries are multiples of the register tile and every part runs the same KC slices
 * of k in the same order, so each element of C is computed by exactly the same operations as
 * in the one-thread GEMM: results are bit-identical whatever the number of parts.
 * Matrix-vector shapes (m == 1 or n == 1 after folding), k == 0 and empty products are not
 * split (`gemm_parts_*` returns 1): they run through the one-thread GEMM.
 */
import { KC, MC, MR, NC, nr } from './gemm_pack';
import { gemmBlock } from './gemm';

@inline function roundUp(x: i32, unit: i32): i32 {
  return (x + unit - 1) / unit * unit;
}

/** Whether the batch folds into one tall product (m * batch rows). */
@inline function folds(batch: i32, m: i32, k: i32, transA: i32, strideA: i32, strideB: i32): bool {
  return batch > 1 && strideB == 0 && transA == 0 && strideA == m * k;
}

/** Rows of C a part handles when the batch is split inside items: the longer side's units. */
@inline function units<T>(m: i32, n: i32): i32 {
  return n >= m ? (n + nr<T>() - 1) / nr<T>() : (m + MR - 1) / MR;
}

function parts<T>(batch: i32, m: i32, n: i32, k: i32, transA: i32, strideA: i32, strideB: i32, wanted: i32): i32 {
  if (wanted <= 1 || batch <= 0 || m <= 0 || n <= 0 || k <= 0) return 1;
  if (folds(batch, m, k, transA, strideA, strideB)) {
    m *= batch;
    batch = 1;
  }
  if (m == 1 || n == 1) return 1;
  if (batch >= wanted) return wanted;
  return min(wanted, units<T>(m, n));
}

/** Scratch bytes one part needs (an upper bound for every part of this product). */
function scratchBytes<T>(batch: i32, m: i32, n: i32, k: i32, transA: i32, strideA: i32, strideB: i32): i32 {
  if (folds(batch, m, k, transA, strideA, strideB)) m *= batch;
  const kcMax = min(KC, max(k, 1));
  const rows = roundUp(min(MC, max(m, 1)), MR);
  const cols = roundUp(min(NC, max(n, 1)), nr<T>());
  return (rows + cols) * kcMax * sizeof<T>() + MR * 32 + 16;
}

function part<T>(p: i32, np: i32, scratch: usize, a: usize, b: usize, c: usize, batch: i32, m: i32, n: i32,
                 k: i32, transA: i32, transB: i32, strideA: i32, strideB: i32, packedB: usize): void {
  if (batch <= 0 || m <= 0 || n <= 0 || k <= 0 || p < 0 || p >= np) return;
  const sz = <usize>sizeof<T>();
  if (folds(batch, m, k, transA, strideA, strideB)) {
    m *= batch;
    batch = 1;
  }
  let bt0 = 0, bt1 = batch, i0 = 0, i1 = m, j0 = 0, j1 = n;
  if (batch >= np) {
    bt0 = <i32>(<i64>p * batch / np);
    bt1 = <i32>(<i64>(p + 1) * batch / np);
  } else {
    const u = units<T>(m, n);
    const u0 = <i32>(<i64>p * u / np), u1 = <i32>(<i64>(p + 1) * u / np);
    if (n >= m) {
      j0 = u0 * nr<T>();
      j1 = min(n, u1 * nr<T>());
    } else {
      i0 = u0 * MR;
      i1 = min(m, u1 * MR);
    }
    if (i0 >= i1 || j0 >= j1) return;
  }
  const kcMax = min(KC, k);
  const bufA = (scratch + 15) & ~(<usize>15);
  const bufB = bufA + <usize>(roundUp(min(MC, i1 - i0), MR) * kcMax) * sz;
  const tile = bufB + <usize>(roundUp(min(NC, j1 - j0), nr<T>()) * kcMax) * sz;
  const oneBlockA = i1 - i0 <= MC && k <= KC;
  const oneBlockB = j1 - j0 <= NC && k <= KC;
  const cStride = <usize>m * <usize>n * sz;
  for (let bt = bt0; bt < bt1; bt++) {
    const reuseA = bt > bt0 && strideA == 0 && oneBlockA;
    const reuseB = bt > bt0 && strideB == 0 && oneBlockB;
    gemmBlock<T>(a + <usize>bt * <usize>strideA * sz, b + <usize>bt * <usize>strideB * sz, c + <usize>bt * cStride,
      m, n, k, transA != 0, transB != 0, i0, i1, j0, j1, bufA, bufB, tile, reuseA, reuseB, packedB);
  }
}

/**
 * How many parts (<= `wanted`) the f32 product splits into; 1 means: run `gemm_f32`.
 * @example gemm_parts_f32(1, 64, 1024, 1024, 0, 0, 0, 2) // 2
 */
export function gemm_parts_f32(batch: i32, m: i32, n: i32, k: i32, transA: i32, strideA: i32, strideB: i32, wanted: i32): i32 {
  return parts<f32>(batch, m, n, k, transA, strideA, strideB, wanted);
}

/** As `gemm_parts_f32`, for f64 (NR = 4 columns). */
export function gemm_parts_f64(batch: i32, m: i32, n: i32, k: i32, transA: i32, strideA: i32, strideB: i32, wanted: i32): i32 {
  return parts<f64>(batch, m, n, k, transA, strideA, strideB, wanted);
}

/**
 * Bytes of scratch each part of an f32 product needs (16-byte alignment slack included).
 * @example gemm_part_scratch_f32(1, 64, 1024, 1024, 0, 0, 0)
 */
export function gemm_part_scratch_f32(batch: i32, m: i32, n: i32, k: i32, transA: i32, strideA: i32, strideB: i32): i32 {
  return scratchBytes<f32>(batch, m, n, k, transA, strideA, strideB);
}

/** As `gemm_part_scratch_f32`, for f64. */
export function gemm_part_scratch_f64(batch: i32, m: i32, n: i32, k: i32, transA: i32, strideA: i32, strideB: i32): i32 {
  return scratchBytes<f64>(batch, m, n, k, transA, strideA, strideB);
}

/**
 * Part `p` of `np` of the batched f32 GEMM (arguments after `scratch` as `gemm_f32`), packing
 * into `scratch` (at least `gemm_part_scratch_f32` bytes, owned by the calling thread).
 * @example gemm_part_f32(0, 2, scratch, aPtr, bPtr, cPtr, 1, 64, 1024, 1024, 0, 1, 0, 0)
 */
export function gemm_part_f32(p: i32, np: i32, scratch: usize, a: usize, b: usize, c: usize, batch: i32, m: i32,
                              n: i32, k: i32, transA: i32, transB: i32, strideA: i32, strideB: i32): void {
  part<f32>(p, np, scratch, a, b, c, batch, m, n, k, transA, transB, strideA, strideB, 0);
}

/** As `gemm_part_f32`, for f64. */
export function gemm_part_f64(p: i32, np: i32, scratch: usize, a: usize, b: usize, c: usize, batch: i32, m: i32,
                              n: i32, k: i32, transA: i32, transB: i32, strideA: i32, strideB: i32): void {
  part<f64>(p, np, scratch, a, b, c, batch, m, n, k, transA, transB, strideA, strideB, 0);
}

/**
 * Part `p` of `np` of `gemm_packed_f32` (B packed whole by `gemm_prepack_f32`, shared by the
 * batch), split as `gemm_parts_f32(batch, m, n, k, transA, strideA, 0, wanted)` says.
 * @example gemm_part_packed_f32(0, 2, scratch, aPtr, packed, cPtr, 1, 64, 1024, 1024, 0, 0)
 */
export function gemm_part_packed_f32(p: i32, np: i32, scratch: usize, a: usize, packedB: usize, c: usize, batch: i32,
                                     m: i32, n: i32, k: i32, transA: i32, strideA: i32): void {
  part<f32>(p, np, scratch, a, 0, c, batch, m, n, k, transA, 0, strideA, 0, packedB);
}

/** As `gemm_part_packed_f32`, for f64. */
export function gemm_part_packed_f64(p: i32, np: i32, scratch: usize, a: usize, packedB: usize, c: usize, batch: i32,
                                     m: i32, n: i32, k: i32, transA: i32, strideA: i32): void {
  part<f64>(p, np, scratch, a, 0, c, batch, m, n, k, transA, 0, strideA, 0, packedB);
}
