/**
 * The table-free float64 math of the wasm module (assembly/vmath_f64.ts, assembly/pow.ts) against
 * V8's Math.exp / Math.log / Math.log1p / Math.pow at extreme inputs, with a stated bound in ulp
 * of the reference (special values must match exactly, signed zeros included), on both builds.
 * Also checks that the module no longer carries the standard library's lookup tables.
 */
import v8 from 'node:v8';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../src/backend/backend.js';
import { createWasmBackend, embeddedBytes } from '../src/backend/wasm_loader.js';
import type { WasmBackend } from '../src/backend/wasm.js';
import { erf } from '../src/backend/math.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const builds: Record<'simd' | 'relaxed', WasmBackend | null> = { simd: null, relaxed: null };
beforeAll(async () => {
  for (const b of ['simd', 'relaxed'] as const) builds[b] = await createWasmBackend(await embeddedBytes(b, false, 'test', false));
});

const f64 = new Float64Array(1);
const u64 = new BigInt64Array(f64.buffer);
/** Monotone integer key of a double, so that ulp distance is a difference of keys. */
function key(x: number): bigint {
  f64[0] = x;
  const b = u64[0];
  return b < 0n ? -(b & 0x7fffffffffffffffn) : b;
}
/** Distance in ulp between got and want (0 for identical specials, Infinity on a special mismatch). */
function ulps(got: number, want: number): number {
  if (Number.isNaN(want) || !Number.isFinite(want) || want === 0) return Object.is(got, want) ? 0 : Infinity;
  if (!Number.isFinite(got)) return Infinity;
  return Number(key(got) - key(want) < 0n ? key(want) - key(got) : key(got) - key(want));
}

function runUnary(be: WasmBackend, op: UnaryOp, xs: number[]): Float64Array {
  const x = be.alloc(xs.length, 'float64'), out = be.alloc(xs.length, 'float64');
  be.write(x, xs);
  be.unary(op, x, out);
  const r = be.readSync(out) as Float64Array;
  be.free(x); be.free(out);
  return r;
}
function runBinary(be: WasmBackend, op: BinaryOp, as: number[], bs: number[]): Float64Array {
  const n = as.length, a = be.alloc(n, 'float64'), b = be.alloc(n, 'float64'), out = be.alloc(n, 'float64');
  be.write(a, as); be.write(b, bs);
  be.binary(op, a, b, out, [n], [1], [1]);
  const r = be.readSync(out) as Float64Array;
  be.free(a); be.free(b); be.free(out);
  return r;
}
/** Worst ulp error over the points, with the offending input in the message on failure. */
function expectUlps(got: Float64Array, want: number[], inputs: unknown[], bound: number, what: string): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = ulps(got[i], want[i]);
    if (!(e <= bound)) throw new Error(`${what}: input ${JSON.stringify(inputs[i])} gave ${got[i]}, Math gives ${want[i]} (${e} ulp > ${bound})`);
    worst = Math.max(worst, e);
  }
  return worst;
}

let seed = 12345;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const DENORMALS = [5e-324, 1e-320, 2.2250738585072e-308, 1e-310, 4.9e-322];
const SPECIALS = [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE];

describe.each(['simd', 'relaxed'] as const)('table-free float64 math, %s build', (variant) => {
  const be = () => builds[variant]!;

  it('exp: within 1 ulp of Math.exp over the whole range (equal to it for > 90% of points, e^1 = Math.E), exact at specials, overflow and underflow', () => {
    const xs = [...SPECIALS, ...DENORMALS, 1e-300, -1e-300, 1e-17, 709.782712893384, 709.7827128933841, 710, -708.39,
      -708.4, -709.5, -744.44, -745.13321910194, -745.1332191019412, -746, -1000, 1000, 0.5 * Math.LN2, -0.5 * Math.LN2];
    for (let i = 0; i < 4000; i++) xs.push((rand() * 2 - 1) * (i < 2000 ? 750 : 3));
    const got = runUnary(be(), 'exp', xs), want = xs.map(Math.exp);
    expectUlps(got, want, xs, 1, 'exp');
    // 1 + r is summed exactly, so the result is rounded about once: mostly V8's value.
    const same = want.filter((w, i) => Object.is(got[i], w)).length;
    expect(same / xs.length).toBeGreaterThan(0.9); // 92% measured; V8's fdlibm exp is not correctly rounded either
    expect(Array.from(runUnary(be(), 'exp', [1, 2, -1, 0.5, 10]))).toEqual([Math.E, Math.exp(2), Math.exp(-1), Math.exp(0.5), Math.exp(10)]);
  });

  it('log: within 1 ulp of Math.log on denormals, huge, near 1 and random magnitudes; specials exact', () => {
    const xs = [...SPECIALS, ...DENORMALS, -1, -1e-300, 1, 1 + 2 ** -52, 1 - 2 ** -53, Math.SQRT1_2, Math.SQRT2, 2, 0.5, Math.E, 1e300, 1e-300];
    for (let i = 0; i < 4000; i++) xs.push(i < 2000 ? Math.exp((rand() * 2 - 1) * 740) : 1 + (rand() * 2 - 1) * 1e-3);
    expectUlps(runUnary(be(), 'log', xs), xs.map(Math.log), xs, 1, 'log');
  });

  it('softplus: within 2 ulp of log1p(exp(x)) (x > 20: x) from the denormal range to overflow', () => {
    const xs = [...SPECIALS, -745, -740, -700, -36.8, -20, -1e-10, 1e-10, 19.99, 20, 20.01, 700, 710];
    for (let i = 0; i < 3000; i++) xs.push((rand() * 2 - 1) * 40);
    const want = xs.map((x) => (x > 20 ? x : Math.log1p(Math.exp(x))));
    expectUlps(runUnary(be(), 'softplus', xs), want, xs, 2, 'softplus');
  });

  it('pow: JS Math.pow special cases exactly (NaN exponent, 0^0, signed zeros and infinities, negative bases)', () => {
    const vals = [0, -0, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 2.5, -2.5, Infinity, -Infinity, NaN, 1e-310, -1e-310, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, -(2 ** 53)];
    const as: number[] = [], bs: number[] = [];
    for (const a of vals) for (const b of vals) { as.push(a); bs.push(b); }
    const want = as.map((a, i) => Math.pow(a, bs[i]));
    const pairs = as.map((a, i) => [a, bs[i]]);
    expectUlps(runBinary(be(), 'pow', as, bs), want, pairs, 1, 'pow');
  });

  it('pow: within 1 ulp of Math.pow for large |y log x| (near overflow and underflow), denormal results and integer exponents of negative bases', () => {
    const as: number[] = [], bs: number[] = [];
    const add = (a: number, b: number) => { as.push(a); bs.push(b); };
    add(2, 1023); add(2, 1024); add(2, -1074); add(2, -1075); add(10, 308); add(10, -323); add(10, 309); add(0.5, 1074);
    add(1 + 2 ** -52, 2 ** 60); add(1 - 2 ** -53, -(2 ** 62)); add(1.0000001, 7e9); add(-3, 645); add(-3, -677); add(-1.5, 1749);
    add(1e-310, 0.5); add(5e-324, 0.25); add(1e-300, -1.02); add(123.456, 0.5); add(-7, 3); add(-7, -3); add(3, 1 / 3);
    for (let i = 0; i < 3000; i++) {
      const a = Math.exp((rand() * 2 - 1) * 700);
      add(a, (rand() * 2 - 1) * 700 / Math.max(1, Math.abs(Math.log(a)))); // |y log x| up to 700
    }
    for (let i = 0; i < 1000; i++) add(-(rand() * 10 + 0.01), Math.round((rand() * 2 - 1) * 100)); // negative bases, integer y
    const want = as.map((a, i) => Math.pow(a, bs[i]));
    const pairs = as.map((a, i) => [a, bs[i]]);
    expectUlps(runBinary(be(), 'pow', as, bs), want, pairs, 1, 'pow');
  });

  it('gelu and geluGrad keep their special values (NaN, +-Inf, -0) with the vector exp', () => {
    const xs = [NaN, Infinity, -Infinity, -0, 0, 40, -40, 1e-310, -1e-310];
    const gelu = xs.map((x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)));
    const grad = xs.map((x) => 0.5 * (1 + erf(x * Math.SQRT1_2)) + x * 0.3989422804014327 * Math.exp(-0.5 * x * x));
    expect(gelu.slice(0, 7)).toEqual([NaN, Infinity, NaN, -0, 0, 40, -0]);
    expect(Array.from(runUnary(be(), 'gelu', xs))).toEqual(gelu);
    expect(Array.from(runUnary(be(), 'geluGrad', xs))).toEqual(grad);
  });
});

it('the one-thread builds carry no float64 math lookup tables (data section under 2 KB)', () => {
  for (const f of ['tsdeq-simd.wasm', 'tsdeq-relaxed.wasm', 'tsdeq-simd-threads.wasm', 'tsdeq-relaxed-threads.wasm']) {
    const b = readFileSync(new URL(`../build/wasm/${f}`, import.meta.url));
    let p = 8, data = 0;
    const leb = () => { let r = 0, s = 0, c; do { c = b[p++]; r |= (c & 127) << s; s += 7; } while (c & 128); return r >>> 0; };
    while (p < b.length) { const id = b[p++]; const n = leb(); if (id === 11) data += n; p += n; }
    expect(data, f).toBeLessThan(2048);
  }
});
