/**
 * WGSL building blocks shared by the kernels, and the host side of their conventions.
 *
 * Every kernel has binding 0 = a uniform block of 32-bit parameter words, read with `P(i)`
 * (u32), `PI(i)` (i32) and `PF(i)` (f32, bit-cast), then its storage buffers at bindings 1..n,
 * inputs first, outputs last. Linear kernels take the element count in word 0 and fold
 * workgroup counts above 65535 into a 2-D grid (`gid` below).
 *
 * WGSL may assume there are no NaNs or infinities, so every NaN test is done on the bits
 * (`is_nan`, `is_finite`), and NaN and infinity are produced from bit patterns held in a
 * variable (`nan()`, `inf()`: WGSL rejects them as constant expressions).
 */

/** Invocations per workgroup of the linear kernels (the WebGPU default limit is 256). */
export const WG = 64;

/** A storage binding: its WGSL name and whether the kernel writes it. */
export interface Bind {
  name: string;
  write?: boolean;
  /** Element type (default f32). */
  type?: 'f32' | 'u32';
}

/** The uniform block and storage declarations of a kernel with `nParams` parameter words. */
export function header(nParams: number, binds: readonly Bind[]): string {
  const vecs = Math.max(1, Math.ceil(nParams / 4));
  const decl = binds.map((b, i) =>
    `@group(0) @binding(${i + 1}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.name}: array<${b.type ?? 'f32'}>;`).join('\n');
  return `struct Params { p: array<vec4<u32>, ${vecs}> }
@group(0) @binding(0) var<uniform> u: Params;
${decl}
fn P(i: u32) -> u32 { return u.p[i >> 2u][i & 3u]; }
fn PI(i: u32) -> i32 { return bitcast<i32>(P(i)); }
fn PF(i: u32) -> f32 { return bitcast<f32>(P(i)); }
fn nan() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }
fn inf() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
fn is_nan(x: f32) -> bool { let b = bitcast<u32>(x); return (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
`;
}

/** The entry point of a linear kernel: `gid` is the element index, bounded by word 0. */
export function linearMain(body: string): string {
  return `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let gid = (wg.y * nwg.x + wg.x) * ${WG}u + li;
  if (gid >= P(0u)) { return; }
${body}
}`;
}

/** Workgroup grid for `groups` workgroups, folded into 2-D above the per-dimension limit. */
export function grid(groups: number, maxPerDim = 65535): [number, number, number] {
  if (groups <= maxPerDim) return [groups, 1, 1];
  const y = Math.ceil(groups / maxPerDim);
  if (y > maxPerDim) throw new Error(`webgpu backend: ${groups} workgroups exceed the device's ${maxPerDim}^2 grid`);
  return [Math.ceil(groups / y), y, 1];
}

/** The grid of a linear kernel over `n` elements. */
export function linearGrid(n: number): [number, number, number] {
  return grid(Math.ceil(n / WG));
}

/**
 * WGSL that decomposes `gid` over a shape whose sizes are parameter words `shapeAt..` and sums
 * the strided offsets of each operand (`vars[t]`, i32, strides at words `strideAt[t]..`).
 */
export function stridedOffsets(rank: number, shapeAt: number, strideAt: readonly number[], vars: readonly string[]): string {
  const lines = ['  var rem = gid;'];
  for (const v of vars) lines.push(`  var ${v} = 0i;`);
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`  { let n = P(${shapeAt + d}u); let i = i32(rem % n); rem = rem / n;`);
    vars.forEach((v, t) => lines.push(`    ${v} += i * PI(${strideAt[t] + d}u);`));
    lines.push('  }');
  }
  return lines.join('\n');
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bits of `x` rounded to float32, as a parameter word. */
export function fbits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** An integer (possibly negative) as a parameter word. */
export function ibits(x: number): number {
  return x >>> 0;
}

/**
 * Merges adjacent dimensions that every operand walks contiguously (and drops size-1 ones), so
 * most elementwise calls run at rank 1 or 2 and share a few pipelines.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const sh: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const k = sh.length - 1;
    if (k >= 0 && strides.every((s, t) => st[t][k] === s[d] * shape[d])) {
      sh[k] *= shape[d];
      strides.forEach((s, t) => { st[t][k] = s[d]; });
    } else {
      sh.push(shape[d]);
      strides.forEach((s, t) => st[t].push(s[d]));
    }
  }
  return { shape: sh, strides: st };
}

/** erf with |error| < 1.5e-7 (Abramowitz and Stegun 7.1.26), exact in sign and at 0. */
export const ERF = `
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(y, -y, x < 0.0);
}`;

/** tanh that saturates instead of overflowing, and keeps NaN. */
export const TANH = `
fn tanh_(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (abs(x) > 15.0) { return sign(x); }
  return tanh(x);
}`;
