/**
 * The control block through which the thread pool's calling thread hands a job to its workers:
 * a few i32 words plus the job's arguments as f64, in the module's SHARED linear memory (so the
 * hand-over costs no message, only atomics). One block per pool generation; offsets in bytes:
 *
 *   SEQ      job counter; the caller bumps it (Atomics.add) to publish a job, workers wait on it
 *   CLAIM    (SEQ mod 2^24) << 8 | next unclaimed part: every thread, the caller included, takes
 *            parts with compareExchange until none is left, so a worker that wakes late finds
 *            the parts already done instead of delaying the job; the SEQ tag keeps a worker that
 *            is still looking at an old job from claiming a part of a newer one
 *   DONE     parts finished; the thread finishing the last part notifies
 *   KERNEL   index of the kernel in the pool's kernel list, or QUIT (workers leave their loop)
 *   PARTS    number of parts of the job (at most 255)
 *   ERROR    set to 1 by a worker whose kernel threw (the caller rethrows after the job)
 *   READY    workers that have instantiated the module and entered their loop: the caller sees
 *            a starting pool become usable without waiting for messages (its event loop may
 *            not turn while a computation runs)
 *   SCRATCH  one i32 per thread: byte address of that thread's scratch block
 *   ARGS     the kernel's arguments (after part, parts, scratch), as f64
 *
 * Kernels called through the pool take `(part, parts, scratch, ...args)`; a part's result must
 * not depend on which thread runs it.
 */

/** Most threads (calling thread included) one pool runs. */
export const MAX_THREADS = 64;
/** Most arguments a pooled kernel takes after (part, parts, scratch). */
export const MAX_ARGS = 16;
/** Kernel index telling workers to leave their loop. */
export const QUIT = -1;

/** Most parts one job has (the part counter is the low byte of CLAIM). */
export const MAX_PARTS = 255;

export const SEQ = 0;
export const CLAIM = 4;
export const DONE = 8;
export const KERNEL = 12;
export const PARTS = 16;
export const ERROR = 20;
export const READY = 24;
export const SCRATCH = 32;
export const ARGS = SCRATCH + MAX_THREADS * 4;
export const CONTROL_BYTES = ARGS + MAX_ARGS * 8;
