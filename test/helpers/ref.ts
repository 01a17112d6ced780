/**
 * Independent plain-JS reference arrays for the op tests: an N-d array addressed by
 * multi-indices (no strides, no backend code), seeded input generators, and conversion to
 * and from tensors. References are computed in double precision.
 */
import * as T from '../../src/index.js';
import type { DType, Tensor } from '../../src/index.js';
import { backendOf } from './backends.js';

export class Nd {
  constructor(readonly shape: number[], readonly data: number[]) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`Nd: shape [${shape}] needs ${n} values, got ${data.length}`);
  }
  get size(): number { return this.data.length; }
  /** The element at a multi-index (row-major). */
  at(idx: readonly number[]): number {
    let flat = 0;
    for (let i = 0; i < this.shape.length; i++) flat = flat * this.shape[i] + idx[i];
    return this.data[flat];
  }
  static fromFn(shape: number[], f: (idx: number[]) => number): Nd {
    const data: number[] = [];
    forEachIdx(shape, (idx) => data.push(f(idx)));
    return new Nd(shape, data);
  }
  map(f: (v: number) => number): Nd {
    return new Nd([...this.shape], this.data.map(f));
  }
}

/** Visits every multi-index of `shape` in row-major order. */
export function forEachIdx(shape: readonly number[], f: (idx: number[]) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const idx = shape.map(() => 0);
  for (let c = 0; c < n; c++) {
    f([...idx]);
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      if (++idx[ax] < shape[ax]) break;
      idx[ax] = 0;
    }
  }
}

/** NumPy broadcasting of two shapes (reference version). */
export function bshape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`bshape: [${a}] vs [${b}]`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** The element of `a` that position `idx` of a broadcast result reads. */
export function bAt(a: Nd, idx: readonly number[]): number {
  const off = idx.length - a.shape.length;
  return a.at(a.shape.map((d, i) => (d === 1 ? 0 : idx[off + i])));
}

export function zip(a: Nd, b: Nd, f: (x: number, y: number) => number): Nd {
  return Nd.fromFn(bshape(a.shape, b.shape), (idx) => f(bAt(a, idx), bAt(b, idx)));
}

/** Reduces `axes` (all when undefined) with f over the gathered values. */
export function reduceRef(a: Nd, axes: number[] | undefined, keepDims: boolean, f: (vals: number[]) => number): Nd {
  const ax = (axes ?? a.shape.map((_, i) => i)).map((x) => (x < 0 ? x + a.shape.length : x));
  const outShape = a.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const groups = new Map<string, number[]>();
  forEachIdx(a.shape, (idx) => {
    const key = idx.map((v, i) => (ax.includes(i) ? 0 : v)).join(',');
    const g = groups.get(key);
    if (g) g.push(a.at(idx)); else groups.set(key, [a.at(idx)]);
  });
  const res = Nd.fromFn(outShape, (idx) => f(groups.get(idx.join(','))!));
  return keepDims ? res : new Nd(a.shape.filter((_, i) => !ax.includes(i)), res.data);
}

// ---- seeded inputs (mulberry32 + Box-Muller; independent of src/random.ts) ----

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Gen = 'normal' | 'positive' | 'nonzero' | 'unit' | 'int' | 'wide';

/** Seeded values: normal N(0,1); positive in [0.5, 2]; nonzero |x| in [0.1, 2]; unit in [-1, 1]; int in {-2..2}; wide N(0, 10^2). */
export function gen(shape: number[], kind: Gen, seed: number): Nd {
  const u = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data: number[] = [];
  for (let i = 0; i < n; i++) {
    const normal = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    switch (kind) {
      case 'normal': data.push(normal); break;
      case 'wide': data.push(10 * normal); break;
      case 'positive': data.push(0.5 + 1.5 * u()); break;
      case 'nonzero': data.push((u() < 0.5 ? -1 : 1) * (0.1 + 1.9 * u())); break;
      case 'unit': data.push(2 * u() - 1); break;
      case 'int': data.push(Math.floor(5 * u()) - 2); break;
    }
  }
  return new Nd(shape, data);
}

/** Rounds to what a tensor of `dtype` stores, so references see the exact inputs. */
export function roundTo(a: Nd, dtype: DType): Nd {
  return dtype === 'float32' ? a.map(Math.fround) : a;
}

export function toTensor(a: Nd, dtype: DType, backend: string, requiresGrad = false): Tensor {
  return T.tensor(a.data, a.shape, { dtype, backend: backendOf(backend), requiresGrad });
}

export function fromTensor(t: Tensor): Nd {
  return new Nd([...t.shape], Array.from(t.dataSync()));
}
