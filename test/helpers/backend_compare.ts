/**
 * Runs one Backend primitive on the js reference backend and on another backend with the
 * same inputs, and compares the outputs under a per-dtype tolerance. Used by the wasm kernel
 * tests (test/backend_wasm.test.ts, test/wasm_memory.test.ts).
 * @example
 * const [want, got] = compareOn(wasm, 'float32', [[1, 2, 3]], 3, (b, [x], out) => b.unary('exp', x, out));
 */
import { expect } from 'vitest';
import type { Backend, Storage } from '../../src/backend/backend.js';
import { JsBackend } from '../../src/backend/js.js';
import type { DType, TypedArray } from '../../src/dtype.js';

export const jsRef = new JsBackend();

/** A deterministic uniform generator in [lo, hi) (mulberry32). */
export function rng(seed: number): (lo?: number, hi?: number) => number {
  let a = seed >>> 0;
  return (lo = -1, hi = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + (hi - lo) * u;
  };
}

/** n values from `gen`, rounded to the dtype (so both backends see identical inputs). */
export function values(n: number, dtype: DType, gen: () => number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = dtype === 'float32' ? Math.fround(gen()) : gen();
  return out;
}

export function storageOf(b: Backend, data: ArrayLike<number>, dtype: DType): Storage {
  const s = b.alloc(data.length, dtype);
  b.write(s, data);
  return s;
}

/**
 * Allocates `inputs` and an output of `outSize` on both backends, runs `call` on each, and
 * returns [js result, other result]; every storage is freed again.
 */
export function compareOn(other: Backend, dtype: DType, inputs: readonly (readonly number[])[], outSize: number,
  call: (b: Backend, ins: Storage[], out: Storage) => void): [TypedArray, TypedArray] {
  const run = (b: Backend): TypedArray => {
    const ins = inputs.map((d) => storageOf(b, d, dtype));
    const out = b.alloc(outSize, dtype);
    call(b, ins, out);
    const r = b.readSync(out);
    for (const s of [...ins, out]) b.free(s);
    return r;
  };
  return [run(jsRef), run(other)];
}

export interface Tol { rtol: number; atol: number }

/**
 * Expects |got - want| <= atol * scale[i] + rtol * |want| elementwise (scale defaults to 1);
 * NaN must meet NaN and infinities must match exactly.
 */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, what: string,
  scale?: ArrayLike<number>): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) {
        expect.fail(`${what}[${i}]: expected ${w}, received ${g}`);
      }
      continue;
    }
    const lim = tol.atol * (scale ? scale[i] : 1) + tol.rtol * Math.abs(w);
    if (!(Math.abs(g - w) <= lim)) {
      expect.fail(`${what}[${i}]: expected ${w}, received ${g} (|diff| ${Math.abs(g - w)} > ${lim})`);
    }
  }
}
