/**
 * Inputs for kernel tests that call a backend directly: deterministic values and storages
 * filled with them.
 */
import type { Backend, Storage } from '../../src/index.js';
import type { DType } from '../../src/dtype.js';

/** Deterministic values in [-1, 1) (LCG), distinct per seed. */
export function values(size: number, seed: number): Float64Array {
  const out = new Float64Array(size);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** A storage on `b` holding `data` as `dtype`. */
export function stored(b: Backend, data: ArrayLike<number>, dtype: DType): Storage {
  const s = b.alloc(data.length, dtype);
  b.write(s, data);
  return s;
}
