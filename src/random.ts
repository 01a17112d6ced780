/**
 * Deterministic random numbers: the same seed gives bit-identical values on every runtime.
 * The generator (xoshiro128**) uses 32-bit integer arithmetic only, and normals use the polar
 * method with a logarithm built from + - * / so no engine's Math.log rounding leaks in.
 */

export class Rng {
  private s0: number; private s1: number; private s2: number; private s3: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: expected a finite numeric seed, received ${seed}`);
    // splitmix32 to spread the seed over the state.
    let x = (Math.floor(seed) ^ Math.floor(seed / 4294967296)) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1, v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const m = Math.sqrt((-2 * detLog(s)) / s);
      this.spare = v * m;
      return u * m;
    }
  }
  private spare: number | null = null;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const LN2 = 0.6931471805599453;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Natural log of a positive normal double using only IEEE-exact arithmetic (deterministic everywhere). */
export function detLog(x: number): number {
  f64[0] = x;
  const e = ((u32[HI] >>> 20) & 0x7ff) - 1023;
  u32[HI] = (u32[HI] & 0x800fffff) | 0x3ff00000; // mantissa in [1, 2)
  let m = f64[0], k = e;
  if (m > Math.SQRT2) { m /= 2; k += 1; }
  const s = (m - 1) / (m + 1), s2 = s * s;
  let term = s, sum = 0;
  for (let n = 1; n < 60; n += 2) {
    const add = term / n;
    sum += add;
    if (Math.abs(add) < 1e-18) break;
    term *= s2;
  }
  return 2 * sum + k * LN2;
}

let globalRng = new Rng(0);

/**
 * Seeds the generator used by `randn`/`rand` calls that pass no seed (like `torch.manual_seed`).
 * @example manualSeed(0); const a = randn([3]); manualSeed(0); const b = randn([3]); // a equals b
 */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

export function rngFor(seed: number | undefined): Rng {
  return seed === undefined ? globalRng : new Rng(seed);
}
