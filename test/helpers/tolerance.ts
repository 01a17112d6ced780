/**
 * THE tolerance table of the op tests, keyed by backend and dtype, with forward and gradient
 * tolerances kept apart, plus the one closeness check every op test uses.
 *
 * - forward: an op's output against an independent plain-JS reference computed in double
 *   precision on the same (rounded) inputs, and a backend's output against the js backend's.
 * - grad: float64 autograd gradients against central finite differences (gradcheck), float32
 *   autograd gradients against float64 ones on the same inputs, and a backend's gradients
 *   against the js backend's.
 * A value passes when |got - want| <= atol + rtol * |want|.
 */
import type { DType } from '../../src/index.js';

export interface Tol {
  rtol: number;
  atol: number;
}

export interface TolEntry {
  forward: Tol;
  grad: Tol;
}

/**
 * Measured (Node 20, wasm 'simd' variant): js float32 results are within ~1e-7 of the double
 * reference (js accumulates in doubles and rounds once); wasm float32 accumulates in float32,
 * ~3e-6 relative at k = 100 in GEMM; float64 agrees to ~1e-15. Every entry below passes the
 * suites with about 10x to spare (tightening each by 10x fails only the wasm float32 GEMM
 * sweep). float64 grad: central differences with step 1e-6 are accurate to ~1e-9 relative;
 * 1e-6 leaves margin for ill-conditioned compositions (normalisations, softmax).
 */
export const TOLERANCES: Readonly<Record<string, Readonly<Record<DType, TolEntry>>>> = {
  js: {
    float32: { forward: { rtol: 2e-6, atol: 2e-6 }, grad: { rtol: 1e-5, atol: 1e-5 } },
    float64: { forward: { rtol: 1e-12, atol: 1e-12 }, grad: { rtol: 1e-6, atol: 1e-7 } },
  },
  // SIMD kernels reassociate sums (lanes, tiles) and accumulate float32 in float32.
  wasm: {
    // The 'relaxed' variant (fused multiply-add, other lane orders) also has to fit here.
    float32: { forward: { rtol: 2e-5, atol: 2e-5 }, grad: { rtol: 2e-5, atol: 2e-5 } },
    float64: { forward: { rtol: 1e-11, atol: 1e-11 }, grad: { rtol: 1e-6, atol: 1e-7 } },
  },
  // WGSL kernels accumulate float32 in float32 (tiles, workgroup trees) and use their own
  // float32 transcendental functions; float64 does not exist there.
  webgpu: {
    float32: { forward: { rtol: 2e-5, atol: 2e-5 }, grad: { rtol: 5e-5, atol: 5e-5 } },
    float64: { forward: { rtol: 0, atol: 0 }, grad: { rtol: 0, atol: 0 } },
  },
};

/** The tolerance for one backend, dtype and kind; unknown backends are an error. */
export function tolFor(backend: string, dtype: DType, kind: keyof TolEntry): Tol {
  const row = TOLERANCES[backend];
  if (!row) throw new Error(`tolFor: no tolerances for backend '${backend}'; known: ${Object.keys(TOLERANCES).join(', ')}`);
  return row[dtype][kind];
}

/** Index and details of the worst violation, or null when every element passes. */
export function worstMismatch(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol):
  { index: number; got: number; want: number; ratio: number } | null {
  if (got.length !== want.length) {
    return { index: -1, got: got.length, want: want.length, ratio: Infinity };
  }
  let worst: { index: number; got: number; want: number; ratio: number } | null = null;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (w === g) continue; // also equal infinities
    const ratio = Math.abs(g - w) / (tol.atol + tol.rtol * Math.abs(w));
    if (!(ratio <= 1) && (!worst || !(ratio <= worst.ratio))) worst = { index: i, got: g, want: w, ratio };
  }
  return worst;
}

/** Throws a descriptive error unless got ≈ want elementwise under `tol`. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, label: string): void {
  const w = worstMismatch(got, want, tol);
  if (!w) return;
  if (w.index < 0) throw new Error(`${label}: length ${w.got} differs from expected ${w.want}`);
  throw new Error(`${label}: element ${w.index} is ${w.got}, expected ${w.want} (error ${Math.abs(w.got - w.want).toExponential(3)}, ${w.ratio.toFixed(1)}x the tolerance rtol=${tol.rtol} atol=${tol.atol})`);
}
