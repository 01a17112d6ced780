/**
 * Mini-batches of the demo's digits, shared by `npm run demo` (./train.ts, Node) and the
 * browser playground (./web/worker.ts): a digit set, a seeded permutation, a batch as a tensor
 * (with random shifts for augmentation), and the count of correct predictions.
 */
import '../tensor_methods.js';
import { tensor } from '../creation.js';
import type { Rng } from '../random.js';

export interface DigitSet {
  /** (n, 784) pixels in [0, 1], row-major. */
  x: Float32Array;
  /** (n) class labels 0..9. */
  y: Uint8Array;
  n: number;
}

/** A seeded Fisher-Yates permutation of 0..n-1 (identical on every runtime). */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

const PIX = 784;

/**
 * Rows idx[from..to) as a (n, 784) tensor. With `shift`, each image is translated by a random
 * whole number of pixels in [-shift, shift] along each axis (zero fill): cheap augmentation that
 * keeps an MLP-style cell from memorising 8,000 digits.
 */
export function batchOf(set: DigitSet, idx: Uint32Array, from: number, to: number, shift = 0, rng?: Rng) {
  const n = to - from;
  const x = new Float32Array(n * PIX);
  const y: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = idx[from + i];
    const src = set.x.subarray(r * PIX, (r + 1) * PIX);
    if (shift > 0 && rng) {
      const dx = Math.floor(rng.uniform() * (2 * shift + 1)) - shift;
      const dy = Math.floor(rng.uniform() * (2 * shift + 1)) - shift;
      for (let row = 0; row < 28; row++) {
        const sr = row - dy;
        if (sr < 0 || sr >= 28) continue;
        for (let col = 0; col < 28; col++) {
          const sc = col - dx;
          if (sc >= 0 && sc < 28) x[i * PIX + row * 28 + col] = src[sr * 28 + sc];
        }
      }
    } else {
      x.set(src, i * PIX);
    }
    y[i] = set.y[r];
  }
  return { x: tensor(x, [n, PIX]), y };
}

export function countCorrect(pred: Float32Array | Float64Array, y: number[]): number {
  let c = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) c++;
  return c;
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

