/**
 * The one contract every backend implements. The naive `js` backend defines correctness;
 * `wasm` (and later `webgpu`) implement the same primitives fast. Backends know nothing about
 * autograd: gradients are composed above them from these primitives.
 *
 * Conventions for every kernel:
 * - `out` is always a freshly allocated, contiguous, row-major storage of the right size and
 *   dtype; it never aliases an input unless the kernel says so.
 * - All inputs and `out` of one call share a dtype (the op layer checks this).
 * - Strides and offsets are in elements, not bytes. A stride of 0 broadcasts.
 * - Storages are opaque to callers; only the backend that made a storage may touch it.
 */
import type { DType, TypedArray } from '../dtype.js';

/** An opaque handle to a block of backend memory holding `size` elements of `dtype`. */
export interface Storage {
  readonly dtype: DType;
  readonly size: number;
  /** Reference count managed by the tensor layer; the backend frees at zero. */
  refs: number;
}

export type UnaryOp =
  | 'neg' | 'sqrt' | 'exp' | 'log' | 'abs' | 'tanh' | 'sigmoid' | 'relu' | 'gelu'
  | 'softplus' | 'sign' | 'square' | 'reciprocal' | 'step' | 'geluGrad' | 'sin' | 'cos';

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

/** Batched GEMM geometry: out[b] = op(A[b]) @ op(B[b]), out is (batch, m, n) contiguous. */
export interface MatmulSpec {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** If true, A[b] is stored (k, m) row-major and used transposed. */
  transA: boolean;
  /** If true, B[b] is stored (n, k) row-major and used transposed. */
  transB: boolean;
  /** Element stride between consecutive A[b] (0 broadcasts one matrix over the batch). */
  strideA: number;
  strideB: number;
}

/** conv2d geometry for im2col / col2im (NCHW). */
export interface ConvSpec {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number;
  sh: number; sw: number;
  ph: number; pw: number;
  dh: number; dw: number;
  oh: number; ow: number;
}

/**
 * Geometry and rules of one `trackStep` (device-side solver bookkeeping, TorchDEQ's semantics).
 * The tracker state is a (TRACK_FIELDS B + TRACK_GLOBALS) storage: per sample b, field f at
 * `f B + b` (TRACK_* field numbers below), then the globals `[stopped, stopStep, cols]`.
 */
export interface TrackSpec {
  B: number;
  D: number;
  /** Trace width (columns incl. the sentinel column 0). */
  width: number;
  /** The trace column this step writes (columns after it take the lowest values: padding). */
  col: number;
  /** The step number recorded as `nstep` when a sample improves. */
  step: number;
  /** rel = abs / (fNorm + eps). */
  eps: number;
  tol: number;
  /** 0: 'abs', 1: 'rel'. */
  stopMode: 0 | 1;
  returnFinal: boolean;
  divergence: number;
  /**
   * Broyden's no-progress stop (0 disables): after `stallSteps` steps, stop when the batch max
   * of the last residual is below `stallTol` and, in each of the last `stallSteps` columns,
   * (max over batch) / (min over batch) < `stallRatio`.
   */
  stallSteps: number;
  stallRatio: number;
  stallTol: number;
}

/** Tracker state fields (see `TrackSpec`). */
export const TRACK_LOWEST_ABS = 0, TRACK_LOWEST_REL = 1, TRACK_STEP_ABS = 2, TRACK_STEP_REL = 3,
  TRACK_REF = 4, TRACK_DEAD = 5, TRACK_IMPROVED = 6, TRACK_FIELDS = 7, TRACK_GLOBALS = 3;

export interface Backend {
  readonly name: string;
  /**
   * Optional: true for a backend whose `readSync` cannot work (GPU backends read with
   * `readAsync` only). Tensors move off it with `await t.toAsync(...)`; `t.to(...)` and other
   * synchronous reads throw and point there. Moving onto it stays synchronous (`write`).
   */
  readonly asyncOnly?: boolean;
  /**
   * Optional: the most bytes one storage can hold and all storages together (e.g. the wasm
   * module's 1 GiB per block and 4 GiB heap); creation functions check a shape against it
   * before allocating anything. Absent: limited only by the host's memory.
   */
  readonly limits?: { readonly storageBytes: number; readonly totalBytes: number };
  /**
   * Optional: the dtypes this backend stores (e.g. `['float32']` for the wasm backend on the
   * float32-only build, see `init({ dtypes })`); `alloc` throws for the others. Absent: every
   * dtype.
   */
  readonly dtypes?: readonly DType[];

  // ---- memory ----
  /** Allocates `size` zero-filled elements. */
  alloc(size: number, dtype: DType): Storage;
  /**
   * Optional: like `alloc` but the contents are unspecified (no zero-fill), for outputs a
   * kernel overwrites entirely. Callers fall back to `alloc` when absent.
   */
  allocUninit?(size: number, dtype: DType): Storage;
  free(s: Storage): void;
  /** Copies `src` into the storage starting at element `offset` (default 0). */
  write(s: Storage, src: ArrayLike<number>, offset?: number): void;
  /** Synchronous copy out (CPU backends). GPU backends throw and point to `readAsync`. */
  readSync(s: Storage): TypedArray;
  readAsync(s: Storage): Promise<TypedArray>;
  /**
   * Optional (CPU backends): copies the storage's `size` elements into `dst` without
   * allocating. Solvers use it for their per-iteration residual norms; others use `readAsync`.
   */
  readInto?(s: Storage, dst: TypedArray): void;
  /** Bytes currently held by live storages of this backend. */
  liveBytes(): number;

  // ---- elementwise ----
  fill(out: Storage, value: number): void;
  unary(op: UnaryOp, x: Storage, out: Storage): void;
  /**
   * out[i] = a[ia] op b[ib] over the N-d index i of `shape` (out is contiguous in `shape`),
   * with ia = sum(i_d * aStrides[d]) and likewise for b.
   */
  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, shape: readonly number[],
    aStrides: readonly number[], bStrides: readonly number[]): void;
  /** out = cond != 0 ? a : b, broadcast by strides as in `binary`. */
  where(cond: Storage, a: Storage, b: Storage, out: Storage, shape: readonly number[],
    cStrides: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void;
  /** out = alpha * x + beta * y (same size, no broadcasting). `out` may alias `x` or `y`. */
  axpby(alpha: number, x: Storage, beta: number, y: Storage, out: Storage): void;
  /** Converts between dtypes (same size). */
  cast(x: Storage, out: Storage): void;

  // ---- layout ----
  /**
   * Strided copy: for every N-d index i of `shape`,
   * out[outOffset + i·outStrides] = x[xOffset + i·xStrides]. Serves permute, slice, pad,
   * concat and broadcast materialisation.
   */
  copy(x: Storage, xOffset: number, xStrides: readonly number[], out: Storage, outOffset: number,
    outStrides: readonly number[], shape: readonly number[]): void;

  // ---- reductions ----
  /** x viewed as (outer, n, inner) reduced over n into out (outer, inner). argmax/argmin write indices. */
  reduce(op: ReduceOp, x: Storage, out: Storage, outer: number, n: number, inner: number): void;

  // ---- linear algebra ----
  matmul(a: Storage, b: Storage, out: Storage, spec: MatmulSpec): void;
  /** out[b] = sum_d x[b,d] * y[b,d] for x, y of shape (B, D); out has B elements. */
  batchedDot(x: Storage, y: Storage, out: Storage, B: number, D: number): void;
  /** out[b] = ||x[b, :]||_2 for x of shape (B, D). */
  batchedNorm(x: Storage, out: Storage, B: number, D: number): void;
  /** out[b] = G[b] G[b]^T + lam I for G of shape (B, m, D); out is (B, m, m). */
  gram(g: Storage, out: Storage, B: number, m: number, D: number, lam: number): void;
  /**
   * Solves A[b] x[b] = rhs[b] for A (B, n, n) and rhs (B, n) with partial pivoting.
   * Returns false for each batch entry whose matrix is singular (pivot below 1e-300 or
   * non-finite); those entries of out are NaN. Inputs are not modified. GPU backends resolve
   * the flags asynchronously (the solve itself is recorded like any other kernel).
   */
  solve(a: Storage, rhs: Storage, out: Storage, B: number, n: number): boolean[] | Promise<boolean[]>;
  /**
   * Low-rank update product: out[b] = s * x[b] + sum_j U[b,j] (V[b,j] · x[b]), for U, V of
   * shape (B, r, D) (only the first `r` of `rmax` rows used; rows are D contiguous
   * elements), x and out of shape (B, D).
   */
  lowRankMatvec(u: Storage, v: Storage, x: Storage, out: Storage, B: number, r: number,
    rmax: number, D: number, s: number): void;
  /**
   * Optional: Broyden's two low-rank products in one pass over U and V, equal (to rounding) to
   * `lowRankMatvec(v, u, x, outX, ...)` followed by `lowRankMatvec(u, v, y, outY, ...)`:
   * outX[b] = s x[b] + sum_j V[b,j] (U[b,j] · x[b]), outY[b] = s y[b] + sum_j U[b,j] (V[b,j] · y[b]).
   * outX may alias x and outY may alias y; outX must not alias y.
   */
  lowRankMatvecPair?(u: Storage, v: Storage, x: Storage, y: Storage, outX: Storage, outY: Storage, B: number,
    r: number, rmax: number, D: number, s: number): void;

  // ---- solver bookkeeping on the device ----
  /**
   * Records one solver step without reading anything back. `norms` (2B) holds ||f(x) - x||
   * then ||f(x)|| per sample; the trace storage is (2, B, width) (abs rows then rel rows).
   * Unless the state's `stopped` global is set (then nothing changes, `improved` is cleared):
   * per sample exactly `Tracker.record` (src/solvers/tracker.ts): trace column `col` takes
   * abs and rel = abs / (fNorm + eps) and the columns after it the lowest values; each mode's
   * lowest and its step update on strict improvement (always with returnFinal); `improved`
   * follows the stop mode; NaN / divergence marks the sample dead; the divergence reference is
   * set once. The improved samples' rows of `candidate` (B, D) are copied into `best`. Then
   * TorchDEQ's batch-global stop test (every live sample's stop-mode residual < tol, strict;
   * never with returnFinal; an all-dead batch always stops) and the optional no-progress
   * test; when one passes, `stopped` = 1, `stopStep` = step. `cols` = col + 1.
   * The state may be float64 (CPU backends) or the solve's dtype.
   */
  trackStep(norms: Storage, state: Storage, trace: Storage, candidate: Storage, best: Storage, spec: TrackSpec): void;

  /**
   * Optional (a backend without it runs the host reference, src/backend/gmres_host.ts, which
   * reads synchronously): starts a GMRES cycle (src/solvers/gmres.ts) for every sample, with
   * nothing read back.
   * `beta`, `fNorm`, `xNorm` (B each) are ||f(x) - x||, ||f(x)||, ||x|| at the cycle's start
   * point. The least-squares state `lsq` (B, gmresLsqStride(m)) of sample b restarts with the
   * rotated right-hand side g = (beta', 0, ..) for beta' = beta when finite, else 0, no
   * columns, and frozen (no more columns accepted) unless beta' > 0. scale[b] = 1 / beta, or 0
   * for a frozen sample (the first Krylov vector is r0 scale); h[b] = max(1, ||f(x)||, ||x||)
   * over the finite ones (the step of the difference quotient A v = v - (f(x + h v) - f(x)) / h).
   */
  gmresStart?(beta: Storage, fNorm: Storage, xNorm: Storage, lsq: Storage, scale: Storage, h: Storage, B: number, m: number): void;
  /**
   * Optional, with `gmresStart`: adds Arnoldi column `j` (0-based) to every sample's least-squares problem
   * min ||beta e1 - Hbar y||: the column is h[b, :] ((B, j + 1): the projections of A v_j on
   * v_0..v_j) with subdiagonal wNorm[b] (the norm of what is left);
   * unless the sample is frozen, the earlier Givens rotations are applied to it, a new rotation
   * zeroes its subdiagonal (a zero or non-finite pivot freezes the sample instead) and
   * `!(wNorm > breakdown avNorm)` (the Krylov space is exhausted) freezes it after this column.
   * Then scale[b] = 1 / wNorm[b] (0 when frozen); y (B, j + 1) takes the solution of the
   * triangular system with the columns accepted so far (zeros beyond them); s (B, j + 2) takes
   * y + t, with t the coefficients of the affine residual f(x) - x0 in the basis v_0..v_k
   * (Q^T (0, .., 0, g_k)); abs[b] = |g_k| (the residual norm of that solution). Arithmetic in
   * the state's dtype; the `js` reference is src/backend/gmres_host.ts.
   */
  gmresColumn?(h: Storage, avNorm: Storage, wNorm: Storage, lsq: Storage, scale: Storage, y: Storage,
    s: Storage, abs: Storage, j: number, B: number, m: number, breakdown: number): void;
  /**
   * Optional: one stage of Broyden's Armijo line search kept on the device, so a solve with
   * `lineSearch` reads nothing back: `armijo` (src/solvers/line_search.ts) with phi(a) =
   * ||g(x + a d)||^2 (infinite when not finite), c1 = 1e-4, a0 = 1, amin = 1e-2, unrolled into
   * a fixed number of stages (ARMIJO_STAGES) with a `done` mark instead of early returns.
   * `norm` (1 element) is ||g|| at a = 0 for stage -1 (which initialises `state`,
   * ARMIJO_FIELDS elements) and ||g(x + a d)|| at the step length of the previous `trial` for
   * stages 0 .. ARMIJO_STAGES - 1. `trial` (1) takes the step length to evaluate next; once
   * the search is done (a step accepted, the backtracking exhausted, or the last stage), the
   * chosen step length (the accepted one, else 1). `take` (1) is 1 when g at the trial just
   * evaluated is the one to keep: always at stage 0 (a = 1, the fallback), and at the stage
   * whose step is accepted.
   */
  armijoStage?(norm: Storage, state: Storage, trial: Storage, take: Storage, stage: number): void;

  // ---- convolution ----
  /** x (n, c, h, w) -> cols (n, c*kh*kw, oh*ow). */
  im2col(x: Storage, cols: Storage, spec: ConvSpec): void;
  /** Adjoint of im2col: cols (n, c*kh*kw, oh*ow) summed into out (n, c, h, w), which starts zeroed. */
  col2im(cols: Storage, out: Storage, spec: ConvSpec): void;

  // ---- optional fused kernels (when absent, the op layer composes them from the above) ----
  /**
   * out[r, j] = tanh(x[r, j] + u[r * uRowStride + j]) for r < rows, j < cols, with x and out
   * contiguous (rows, cols); uRowStride is cols for a full u and 0 for one row shared by every
   * row (a bias). `out` may alias `x`.
   */
  addTanh?(x: Storage, u: Storage, out: Storage, rows: number, cols: number, uRowStride: number): void;
  /** out[i] = g[i] (1 - y[i]^2): the VJP of y = tanh(.) from its output. `out` may alias `g`. */
  tanhGrad?(g: Storage, y: Storage, out: Storage): void;

  // ---- optional fused solver steps (each equals a composition of the primitives above) ----
  /**
   * Damped fixed-point step on (B, D) states: out = tau f + (1 - tau) x (as `axpby`), and
   * norms[b] = ||out[b] - x[b]|| (the difference rounded to the dtype), norms[B + b] =
   * ||out[b]|| (norms has 2B elements). `out` may alias `f`.
   */
  fixedPointStep?(f: Storage, x: Storage, tau: number, out: Storage, norms: Storage, B: number, D: number): void;
  /**
   * Anderson history update for f = f(x) on (B, D) states: slot `slot` of X, F, G (B, m, D)
   * takes x[b], f[b] and f[b] - x[b]; row and column `slot` of gram (B, m, m) take the dot
   * products of that G row with every G row; norms (2B) takes ||f[b] - x[b]|| then ||f[b]||.
   */
  andersonRecord?(x: Storage, f: Storage, X: Storage, F: Storage, G: Storage, gram: Storage, norms: Storage,
    slot: number, B: number, m: number, D: number): void;
  /**
   * Anderson mixing over the first n history slots: per sample, solves the bordered system
   * [[0, 1^T], [1, gram[b][:n, :n] + lam I]] [nu; alpha] = [1; 0] as `solve` does and writes
   * out[b] = tau sum_j alpha_j F[b, j] + (1 - tau) sum_j alpha_j X[b, j]. Returns the number
   * of singular samples; their out rows are left untouched (the caller redoes the step
   * composed, with its fallback for singular systems). A backend that cannot count without a
   * read (a GPU) applies that fallback itself and returns 0: ridges of 1e-10, 1e-7, 1e-4 times
   * max_i |gram_ii + lam| added to the diagonal, then the plain step on slot `newest` (the slot
   * of the latest record).
   */
  andersonMix?(gram: Storage, F: Storage, X: Storage, out: Storage, n: number, lam: number, tau: number,
    B: number, m: number, D: number, newest: number): number;
  /**
   * Broyden's bookkeeping after evaluating f = f(xNew) on (B, D) states: gNew = f - xNew,
   * dx = xNew - x, dg = gNew - g (each as `axpby`), norms[b] = ||gNew[b]||, norms[B + b] =
   * ||gNew[b] + xNew[b]|| (the sum rounded to the dtype; norms has 2B elements). `f` may alias
   * `xNew`; gNew, dx, dg must not alias any input.
   */
  broydenAdvance?(f: Storage, xNew: Storage, x: Storage, g: Storage, gNew: Storage, dx: Storage, dg: Storage,
    norms: Storage, B: number, D: number): void;
  /**
   * Broyden's two low-rank products and rank-one inverse update, with d the last direction:
   * per sample, vT = dx^T B_old and p = B_old g for B_old = -I + sum_{j<r} u_j v_j^T (the first
   * r rows of U, V (B, mem, D)), as `lowRankMatvecPair(U, V, dx, g, vT, p, B, r, mem, D, -1)`;
   * den = vT[b] . dg[b]; row (b, slot) of U takes u = (dx - (p + d)) / den and row (b, slot) of
   * V takes vT, both with NaN and infinite entries replaced by 0; with `direction`, d becomes
   * -p - u (v . g) (that is -B_new g while the new term filled an empty slot), else d is left
   * as it was. Each intermediate is rounded to the dtype as the composition (axpby,
   * batchedDot, binary div/mul, where, copy) stores it.
   */
  broydenStep?(dx: Storage, dg: Storage, g: Storage, d: Storage, U: Storage, V: Storage, r: number, slot: number,
    direction: boolean, B: number, mem: number, D: number): void;
  /**
   * Record once, replay (optional; absent: not supported, the solver runs every iteration):
   * a recorder of one solver loop whose iterations repeat with period `period` (the same work
   * every `period` iterations, e.g. a ring of history slots). See `LoopCapture`.
   */
  captureLoop?(period: number): LoopCapture;
}

/**
 * A solver loop's record-and-replay (ORT-web's graph capture, CUDA graphs): the backend work
 * issued between `begin()` and `end()` is one iteration. After two periods of traced iterations
 * that agree (same kernels, sizes, buffers and uniforms, except the per-iteration words a
 * backend's own bookkeeping kernels declare, which must step by a constant), `begin()` issues
 * each next iteration from the recording, without running its JS. Anything
 * that makes a recording unsafe (a read or an await inside an iteration, a temporary that
 * outlives its iteration, a freed input, a mismatch) sets `failure`, after which the caller runs
 * its iterations as usual. A trace must begin and end in one synchronous stretch of JS.
 */
export interface LoopCapture {
  /**
   * Starts the next iteration. Returns true when the iteration was issued from the recording
   * (its JS must not run, and `end()` is not called); false when the caller runs it (traced
   * while a recording is being made; then `end()` follows).
   */
  begin(): boolean;
  /** Ends the iteration run since `begin()`. */
  end(): void;
  /** Why the recording was abandoned, or null. */
  readonly failure: string | null;
  /** Frees the recording (after the work already issued with it). */
  dispose(): void;
}

/**
 * Elements of one sample's GMRES least-squares state for `m` columns: the (m + 1) x m
 * triangularised Hessenberg matrix (row-major), the m Givens cosines, the m sines, the m + 1
 * entries of the rotated right-hand side, the number of columns accepted and the frozen mark.
 */
export function gmresLsqStride(m: number): number {
  return (m + 1) * m + 2 * m + (m + 1) + 2;
}

/** Fields of the Armijo line-search state (Backend.armijoStage) and its number of stages. */
export const ARMIJO_PHI0 = 0, ARMIJO_DERPHI0 = 1, ARMIJO_APREV = 2, ARMIJO_A1 = 3, ARMIJO_PHIPREV = 4, ARMIJO_PHIA1 = 5,
  ARMIJO_DONE = 6, ARMIJO_RESULT = 7, ARMIJO_TRIAL = 8, ARMIJO_FIELDS = 9;
/**
 * Stages of the device line search: a = 1, the quadratic step, then the cubic steps. Rejecting
 * a = 1 leaves a1 < 0.5 (phi(1) > (1 - 1e-4) phi(0)), and each rejected cubic step halves a1
 * (the safeguard of `armijo` always applies), so at most 6 cubic steps have a1 > amin = 1e-2.
 */
export const ARMIJO_STAGES = 8;

/** Contiguous row-major strides of a shape, in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}
