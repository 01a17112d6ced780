/**
 * The N-d odometer shared by the strided kernels (binary, where, copy). Geometry arrives in
 * the dims block (layout in ./constants): dimension 0 is the innermost ("row") dimension that
 * kernels run as one 1-d loop; dimensions 1..nd-1 are walked here, one row at a time, keeping
 * a running element offset per operand. Strides are in elements and may be 0 (broadcast) or
 * negative.
 */
import { DIMS_COUNTER, DIMS_OFFS, DIMS_SHAPE, DIMS_STRIDE_BLOCK, DIMS_STRIDES, DIMS_SLOTS } from './constants';

/** Length of the innermost dimension. */
@inline export function rowLength(dims: usize): i32 {
  return load<i32>(dims + DIMS_SHAPE);
}

/** Innermost stride of operand t. */
@inline export function rowStride(dims: usize, t: i32): i32 {
  return load<i32>(dims + DIMS_STRIDES + <usize>(t * DIMS_STRIDE_BLOCK));
}

/** Element offset of operand t at the current row. */
@inline export function rowOffset(dims: usize, t: i32): i32 {
  return load<i32>(dims + DIMS_OFFS + <usize>(t << 2));
}

/** 16-byte scratch slot t, used to hold a splatted broadcast scalar. */
@inline export function slot(dims: usize, t: i32): usize {
  return dims + DIMS_SLOTS + <usize>(t << 4);
}

/** Resets the odometer for `nops` operands and returns the number of rows. */
export function startRows(dims: usize, nd: i32, nops: i32): i32 {
  let rows = 1;
  for (let d = 1; d < nd; d++) {
    rows *= load<i32>(dims + DIMS_SHAPE + <usize>(d << 2));
    store<i32>(dims + DIMS_COUNTER + <usize>(d << 2), 0);
  }
  for (let t = 0; t < nops; t++) store<i32>(dims + DIMS_OFFS + <usize>(t << 2), 0);
  return rows;
}

/** Moves to the next row: bumps the odometer and every operand's running offset. */
export function nextRow(dims: usize, nd: i32, nops: i32): void {
  for (let d = 1; d < nd; d++) {
    const cp = dims + DIMS_COUNTER + <usize>(d << 2);
    const size = load<i32>(dims + DIMS_SHAPE + <usize>(d << 2));
    const c = load<i32>(cp) + 1;
    const back = c < size ? 0 : size; // wrap: step back over the whole dimension
    store<i32>(cp, c - back);
    for (let t = 0; t < nops; t++) {
      const op = dims + DIMS_OFFS + <usize>(t << 2);
      const s = load<i32>(dims + DIMS_STRIDES + <usize>(t * DIMS_STRIDE_BLOCK + (d << 2)));
      store<i32>(op, load<i32>(op) + s * (1 - back));
    }
    if (back == 0) return;
  }
}
