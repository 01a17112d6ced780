/**
 * One grow-only temporary area for kernels that need scratch memory per call (the solver steps
 * run once per iteration and should not allocate each time). Kernels using it must not call
 * each other while they hold it; it belongs to the instance (each thread's instance has its
 * own; pooled parts use the scratch the pool hands them instead). Growing it may grow linear
 * memory, so callers re-derive typed-array views after such a kernel.
 */

let area: usize = 0;
let areaBytes: usize = 0;

/** A 16-byte aligned area of at least `bytes` bytes, valid until the next call. */
export function tempArea(bytes: usize): usize {
  if (bytes > areaBytes) {
    if (area != 0) heap.free(area);
    area = heap.alloc(bytes + 16);
    areaBytes = bytes;
  }
  return (area + 15) & ~(<usize>15);
}
