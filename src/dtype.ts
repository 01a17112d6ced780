import { show } from './utils/format.js';
/**
 * Data types. Every tensor is float32 (default) or float64; the js and wasm backends
 * support both everywhere.
 */
export type DType = 'float32' | 'float64';
export type TypedArray = Float32Array | Float64Array;

export const DTYPES: readonly DType[] = ['float32', 'float64'];

/** Bytes per element. */
export function bytesPer(dtype: DType): number {
  return dtype === 'float32' ? 4 : 8;
}

export function arrayCtor(dtype: DType): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === 'float32' ? Float32Array : Float64Array;
}

export function checkDType(dtype: unknown, where: string): DType {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new Error(`${where}: expected dtype 'float32' or 'float64', received ${show(dtype)}`);
  }
  return dtype;
}
