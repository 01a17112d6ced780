/**
 * Packs an N-d iteration (a shape plus per-operand element strides) into the WASM dims block,
 * innermost dimension first, after two simplifications that keep kernel loops long:
 * size-1 dimensions are dropped, and a dimension is merged into the next-inner one whenever
 * every operand steps over it exactly as if the two were one dimension
 * (stride[outer] == stride[inner] * size[inner]). A contiguous output always satisfies that,
 * so it needs no strides. Writes straight into the Int32Array view: no JS allocation.
 */
import { DIMS_SHAPE, DIMS_STRIDE_BLOCK, DIMS_STRIDES, MAX_DIMS } from './wasm_constants.js';

/**
 * Writes shape and strides of up to three operands at byte address `dims` of `v`'s buffer;
 * returns the packed rank (at least 1; a scalar packs as one dimension of size 1).
 * The caller handles empty shapes (some size 0) before calling.
 * @example const nd = packDims(i32, dimsPtr, [2, 3], [3, 1], [0, 1], null);
 */
export function packDims(v: Int32Array, dims: number, shape: readonly number[], s0: readonly number[],
  s1: readonly number[], s2: readonly number[] | null): number {
  const S = (dims + DIMS_SHAPE) >>> 2;
  const T0 = (dims + DIMS_STRIDES) >>> 2;
  const T1 = T0 + (DIMS_STRIDE_BLOCK >> 2);
  const T2 = T1 + (DIMS_STRIDE_BLOCK >> 2);
  let nd = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d];
    if (n === 1) continue;
    const a = s0[d], b = s1[d], c = s2 === null ? 0 : s2[d];
    if (nd > 0) {
      const k = nd - 1, len = v[S + k];
      if (a === v[T0 + k] * len && b === v[T1 + k] * len && (s2 === null || c === v[T2 + k] * len)) {
        v[S + k] = len * n;
        continue;
      }
    }
    if (nd === MAX_DIMS) {
      throw new Error(`wasm backend: expected at most ${MAX_DIMS} non-unit dimensions, received shape [${shape.join(', ')}]`);
    }
    v[S + nd] = n;
    v[T0 + nd] = a;
    v[T1 + nd] = b;
    v[T2 + nd] = c;
    nd++;
  }
  if (nd === 0) {
    v[S] = 1;
    v[T0] = 0;
    v[T1] = 0;
    v[T2] = 0;
    nd = 1;
  }
  return nd;
}
