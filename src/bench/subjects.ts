/**
 * What the kernel benchmarks measure: "subjects" that can set up an operation on given inputs
 * and run it repeatedly. tsdeq subjects run a backend's kernels on its own storages; the tfjs
 * subject runs the same operation through tfjs tensors.
 */
import type { DType } from '../dtype.js';

/** A prepared operation: `run` performs it once (inputs already in place), `dispose` frees. */
export interface Prepared {
  run(): void;
  dispose(): void;
}

/** Geometry of one matrix product: op(A) is m x k, op(B) is k x n (as in MatmulSpec). */
export interface GemmShape {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

/**
 * The square product n x n @ n x n.
 * @example square(256) // { m: 256, n: 256, k: 256, transA: false, transB: false }
 */
export function square(n: number): GemmShape {
  return { m: n, n, k: n, transA: false, transB: false };
}

/** One implementation under test. */
export interface Subject {
  /** Column label in the tables. */
  label: string;
  /** The product op(A) @ op(B) of `shape`; null when the subject lacks the dtype. */
  /**
   * A product of `shape` to time. `keepPacked`: a tsdeq wasm subject keeps B packed between
   * calls, as for a weight used again and again (src/backend/wasm_pack_cache.ts); by default
   * every call packs its operands, like the other libraries.
   */
  gemm(shape: GemmShape, dtype: DType, opts?: { keepPacked?: boolean }): Prepared | null;
  /** Elementwise op over `size` float32 elements ('add': out = a + b, 'tanh': out = tanh(x)). */
  elementwise(op: 'add' | 'tanh', size: number): Prepared;
}

/**
 * Uniform values in [-1, 1) from a fixed-seed LCG (benchmarks need no statistical quality,
 * only reproducible, non-degenerate data).
 * @example const xs = benchData(16, 1)
 */
export function benchData(size: number, seed: number): Float64Array {
  const out = new Float64Array(size);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
