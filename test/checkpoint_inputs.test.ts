/**
 * Valid checkpoint input is accepted: a `Uint8Array` view at any byte offset into a larger
 * buffer (a Node `Buffer` from `fs.readFileSync` lives in a shared pool), unaligned for the
 * float32/float64 data, and tensor names that are also `Object.prototype` keys.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as T from '../src/index.js';
import { Linear, Module } from '../src/nn/index.js';

const f64 = { dtype: 'float64' as const };

/** `bytes` copied into a larger buffer at `offset`, returned as a view. */
function viewAt(bytes: Uint8Array, offset: number, tail = 13): Uint8Array {
  const big = new Uint8Array(offset + bytes.length + tail).fill(0xab);
  big.set(bytes, offset);
  return big.subarray(offset, offset + bytes.length);
}

describe('loadSafetensors / load accept any Uint8Array view', () => {
  const sd = { a: T.tensor([1, 2, 3, 4, 5, 6], [2, 3]), b: T.tensor([0.1, -2.5], [2], f64), c: T.zeros([0, 3]) };
  const bytes = T.saveSync(sd);

  it('at every byte offset (unaligned float32 and float64 data)', () => {
    for (const off of [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 4093]) {
      const got = T.loadSafetensors(viewAt(bytes, off));
      expect(Object.keys(got)).toEqual(['a', 'b', 'c']);
      expect(got.a.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
      expect(got.b.dtype).toBe('float64');
      expect(Array.from(got.b.dataSync())).toEqual([0.1, -2.5]);
      expect(got.c.shape).toEqual([0, 3]);
      for (const t of Object.values(got)) t.dispose();
    }
  });

  it('a Node Buffer from fs.readFileSync (a view into the shared pool), with loadSafetensors and load', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsdeq-'));
    try {
      const model = new Linear(3, 2, { seed: 1 });
      const file = path.join(dir, 'm.safetensors');
      fs.writeFileSync(file, T.saveSync(model));
      const buf = fs.readFileSync(file);
      const pooled = Buffer.concat([Buffer.from([1, 2, 3]), buf]).subarray(3); // certainly a view at an odd offset
      expect(pooled.byteOffset % 8).not.toBe(0);
      for (const b of [buf, pooled]) {
        const got = T.loadSafetensors(b);
        expect(Array.from(got.weight.dataSync())).toEqual(Array.from(model.weight.dataSync()));
        for (const t of Object.values(got)) t.dispose();
        const other = new Linear(3, 2, { seed: 2 });
        T.load(other, b);
        expect(Array.from(other.weight.dataSync())).toEqual(Array.from(model.weight.dataSync()));
        expect(Array.from(other.bias.dataSync())).toEqual(Array.from(model.bias.dataSync()));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('names that are Object.prototype keys are names like any other', () => {
  const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

  it('round-trip through saveSync / loadSafetensors, and metadata keys too', () => {
    const dict = new Map(names.map((n, i) => [n, T.tensor([i, i + 0.5], [2])]));
    const obj = Object.create(null) as Record<string, T.Tensor>;
    for (const [n, t] of dict) obj[n] = t;
    const meta = Object.create(null) as Record<string, string>;
    meta.__proto__ = 'p';
    meta.constructor = 'c';
    const bytes = T.saveSync(obj, { metadata: meta });
    const got = T.loadSafetensors(bytes);
    expect(Object.keys(got).sort()).toEqual([...names].sort());
    names.forEach((n, i) => {
      expect(Object.prototype.hasOwnProperty.call(got, n)).toBe(true);
      expect(got[n]).toBeInstanceOf(T.Tensor);
      expect(Array.from(got[n].dataSync())).toEqual([i, i + 0.5]);
    });
    expect(Object.getPrototypeOf({})).toBe(Object.prototype); // nothing polluted
    expect(({} as Record<string, unknown>).toString).toBe(Object.prototype.toString);
    const md = T.readMetadata(bytes);
    expect(md.__proto__).toBe('p');
    expect(md.constructor).toBe('c');
    for (const t of [...Object.values(got), ...dict.values()]) t.dispose();
  });

  it('a module parameter named __proto__ survives stateDict, save and load', () => {
    class Odd extends Module {
      constructor(seed: number) {
        super();
        this.registerParameter('__proto__', T.randn([2, 2], { seed }));
        this.registerParameter('constructor', T.randn([2], { seed: seed + 1 }));
      }
      forward(x: T.Tensor): T.Tensor { return x; }
    }
    const a = new Odd(1), b = new Odd(5);
    const sd = a.stateDict();
    expect(Object.keys(sd).sort()).toEqual(['__proto__', 'constructor']);
    expect(sd.__proto__).toBeInstanceOf(T.Tensor);
    b.loadStateDict(sd);
    expect(Array.from(b.stateDict().__proto__.dataSync())).toEqual(Array.from(sd.__proto__.dataSync()));
    const c = new Odd(9);
    T.load(c, T.saveSync(a));
    expect(Array.from(c.stateEntries()[0][1].dataSync())).toEqual(Array.from(sd.__proto__.dataSync()));
    for (const t of Object.values(sd)) t.dispose();
  });
});
