/**
 * Layout constants shared with the JavaScript side. They MUST match
 * `src/backend/wasm_constants.ts`; both sides export them and `test/backend_wasm.test.ts`
 * checks that they agree, and the loader refuses a module whose constants differ.
 *
 * The "dims block" is a small scratch area in linear memory, owned by the JS side (allocated
 * once per instance), through which N-d kernels receive their geometry:
 *
 *   byte offset        contents (all i32 unless noted)
 *   DIMS_SHAPE         shape[MAX_DIMS], innermost dimension first
 *   DIMS_STRIDES + t*DIMS_STRIDE_BLOCK
 *                      strides of operand t (t < DIMS_OPERANDS), in elements, innermost first
 *   DIMS_COUNTER       odometer counters[MAX_DIMS] (kernel-private)
 *   DIMS_OFFS          running element offsets[DIMS_OPERANDS] (kernel-private)
 *   DIMS_SLOTS         DIMS_OPERANDS x 16-byte splat slots for broadcast operands (kernel-private)
 */

/** Bumped whenever the layout below or a kernel signature changes. */
export const ABI_VERSION: i32 = 1;
/** Every storage returned by `alloc` is aligned to this many bytes. */
export const ALIGN: i32 = 16;
/** Largest block `alloc` can return: the TLSF allocator's limit (1 GiB minus its header), rounded down to ALIGN. */
export const MAX_ALLOC_BYTES: i32 = (1 << 30) - 16;
/** Largest rank an N-d kernel accepts (after size-1 dimensions are dropped). */
export const MAX_DIMS: i32 = 32;
/** Operands an N-d kernel can address (where: cond, a, b; copy: x, out). */
export const DIMS_OPERANDS: i32 = 4;
export const DIMS_SHAPE: i32 = 0;
export const DIMS_STRIDE_BLOCK: i32 = MAX_DIMS * 4;
export const DIMS_STRIDES: i32 = DIMS_SHAPE + MAX_DIMS * 4;
export const DIMS_COUNTER: i32 = DIMS_STRIDES + DIMS_OPERANDS * DIMS_STRIDE_BLOCK;
export const DIMS_OFFS: i32 = DIMS_COUNTER + MAX_DIMS * 4;
export const DIMS_SLOTS: i32 = DIMS_OFFS + DIMS_OPERANDS * 4;
/** Total size of the dims block in bytes. */
export const DIMS_BYTES: i32 = DIMS_SLOTS + DIMS_OPERANDS * 16;
