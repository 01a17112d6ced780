/**
 * Layout constants shared with the WASM module. They MUST match `assembly/constants.ts`;
 * the module exports its copies as globals, the loader refuses a module whose values differ,
 * and test/backend_wasm.test.ts checks that both sides agree.
 */

/** Bumped whenever the layout or a kernel signature changes. */
export const ABI_VERSION = 1;
/** Every storage the module allocates is aligned to this many bytes. */
export const ALIGN = 16;
/** Largest block the module's allocator can return (its TLSF limit, 1 GiB minus a header, rounded to ALIGN). */
export const MAX_ALLOC_BYTES = 2 ** 30 - 16;
/** Largest rank an N-d kernel accepts (after size-1 dimensions are dropped). */
export const MAX_DIMS = 32;
/** Operands an N-d kernel can address. */
export const DIMS_OPERANDS = 4;
/** Byte offsets inside the dims block (see assembly/constants.ts for the picture). */
export const DIMS_SHAPE = 0;
export const DIMS_STRIDE_BLOCK = MAX_DIMS * 4;
export const DIMS_STRIDES = DIMS_SHAPE + MAX_DIMS * 4;
export const DIMS_COUNTER = DIMS_STRIDES + DIMS_OPERANDS * DIMS_STRIDE_BLOCK;
export const DIMS_OFFS = DIMS_COUNTER + MAX_DIMS * 4;
export const DIMS_SLOTS = DIMS_OFFS + DIMS_OPERANDS * 4;
export const DIMS_BYTES = DIMS_SLOTS + DIMS_OPERANDS * 16;

/** The constants above by export name, as the loader and the agreement test compare them. */
export const SHARED_CONSTANTS: Readonly<Record<string, number>> = {
  ABI_VERSION, ALIGN, MAX_ALLOC_BYTES, MAX_DIMS, DIMS_OPERANDS, DIMS_SHAPE, DIMS_STRIDE_BLOCK, DIMS_STRIDES,
  DIMS_COUNTER, DIMS_OFFS, DIMS_SLOTS, DIMS_BYTES,
};
