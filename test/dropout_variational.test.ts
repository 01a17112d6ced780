import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Module, Linear } from '../src/nn/index.js';
import { Rng } from '../src/random.js';

const f64 = { dtype: 'float64' as const };

/** The mask values (0 or 1/(1-p)) a layer with `seed` draws first, replayed by hand. */
function handMask(seed: number, n: number, p: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => (r.uniform() < p ? 0 : 1 / (1 - p)));
}

describe('VariationalDropout', () => {
  it('draws the mask once, keeps it across calls until resetDropout, scales by 1/(1-p)', () => {
    const p = 0.3;
    const drop = new VariationalDropout(p, { seed: 5 });
    const x = T.ones([4, 6], f64);
    const y1 = Array.from(drop.forward(x).dataSync());
    expect(y1).toEqual(handMask(5, 24, p));
    expect(new Set(y1)).toEqual(new Set([0, 1 / 0.7]));
    // Same mask on another input (a later solver iteration).
    const x2 = T.full([4, 6], 2, f64);
    expect(Array.from(drop.forward(x2).dataSync())).toEqual(y1.map((v) => 2 * v));
    T.resetDropout(drop);
    expect(drop.mask).toBeNull();
    const y3 = Array.from(drop.forward(x).dataSync());
    expect(y3).not.toEqual(y1);
    // The next mask is the generator's next draw.
    const r = new Rng(5);
    for (let i = 0; i < 24; i++) r.uniform();
    expect(y3).toEqual(Array.from({ length: 24 }, () => (r.uniform() < p ? 0 : 1 / 0.7)));
  });

  it('matches the dropout op with the same seed and keeps the expected scale', () => {
    const x = T.randn([50, 40], { ...f64, seed: 1 });
    const a = new VariationalDropout(0.25, { seed: 9 }).forward(x).dataSync();
    const b = T.dropout(x, 0.25, { seed: 9 }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const m = new VariationalDropout(0.25, { seed: 3 }).forward(T.ones([100, 100], f64)).dataSync();
    const mean = m.reduce((s, v) => s + v, 0) / m.length;
    expect(Math.abs(mean - 1)).toBeLessThan(0.03);
  });

  it('is the identity in eval mode and for p = 0; p = 1 drops everything', () => {
    const x = T.randn([3, 4], { ...f64, seed: 2 });
    const d = new VariationalDropout(0.5, { seed: 1 });
    d.eval();
    expect(Array.from(d.forward(x).dataSync())).toEqual(Array.from(x.dataSync()));
    expect(d.mask).toBeNull();
    expect(Array.from(new VariationalDropout(0).forward(x).dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(new VariationalDropout(1).forward(x).dataSync()).every((v) => v === 0)).toBe(true);
  });

  it('is deterministic with a seed and follows manualSeed without one', () => {
    const x = T.ones([5, 5], f64);
    const a = new VariationalDropout(0.5, { seed: 11 }).forward(x).dataSync();
    const b = new VariationalDropout(0.5, { seed: 11 }).forward(x).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    T.manualSeed(4);
    const c = new VariationalDropout(0.5).forward(x).dataSync();
    T.manualSeed(4);
    const d = new VariationalDropout(0.5).forward(x).dataSync();
    expect(Array.from(c)).toEqual(Array.from(d));
  });

  it('passes gradients through the fixed mask', async () => {
    const x = T.randn([2, 3], { ...f64, seed: 3 }).requireGrad();
    const d = new VariationalDropout(0.5, { seed: 2 });
    await d.forward(x).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(d.mask!.dataSync()));
  });
});

describe('channel and token variants', () => {
  const cases: [string, () => T.VariationalDropoutBase, number[], number[]][] = [
    ['VariationalDropout1d', () => new T.VariationalDropout1d(0.5, { seed: 1 }), [2, 5, 3], [2, 1, 3]],
    ['VariationalDropout1d channels-first', () => new T.VariationalDropout1d(0.5, { seed: 1, tokenFirst: false }), [2, 3, 5], [2, 3, 1]],
    ['VariationalDropout2d', () => new T.VariationalDropout2d(0.5, { seed: 1 }), [2, 3, 4, 3], [2, 1, 1, 3]],
    ['VariationalDropout2d channels-first', () => new T.VariationalDropout2d(0.5, { seed: 1, tokenFirst: false }), [2, 3, 4, 5], [2, 3, 1, 1]],
    ['VariationalDropout3d', () => new T.VariationalDropout3d(0.5, { seed: 1 }), [1, 2, 3, 2, 4], [1, 1, 1, 1, 4]],
    ['VariationalDropout3d channels-first', () => new T.VariationalDropout3d(0.5, { seed: 1, tokenFirst: false }), [1, 4, 2, 3, 2], [1, 4, 1, 1, 1]],
    ['VariationalDropToken1d', () => new T.VariationalDropToken1d(0.5, { seed: 1 }), [2, 5, 3], [2, 5, 1]],
    ['VariationalDropToken1d channels-first', () => new T.VariationalDropToken1d(0.5, { seed: 1, tokenFirst: false }), [2, 3, 5], [2, 1, 5]],
    ['VariationalDropToken2d', () => new T.VariationalDropToken2d(0.5, { seed: 1 }), [2, 3, 4, 3], [2, 3, 4, 1]],
    ['VariationalDropToken2d channels-first', () => new T.VariationalDropToken2d(0.5, { seed: 1, tokenFirst: false }), [2, 3, 4, 5], [2, 1, 4, 5]],
    ['VariationalDropToken3d', () => new T.VariationalDropToken3d(0.5, { seed: 1 }), [1, 2, 3, 2, 4], [1, 2, 3, 2, 1]],
    ['VariationalDropToken3d channels-first', () => new T.VariationalDropToken3d(0.5, { seed: 1, tokenFirst: false }), [1, 4, 2, 3, 2], [1, 1, 2, 3, 2]],
  ];
  for (const [name, make, xShape, maskShape] of cases) {
    it(`${name}: mask ${JSON.stringify(maskShape)} broadcast over ${JSON.stringify(xShape)}`, () => {
      const d = make();
      const x = T.ones(xShape, f64);
      const y = d.forward(x).dataSync();
      expect(d.mask!.shape).toEqual(maskShape);
      const m = d.mask!.dataSync();
      expect(Array.from(m)).toEqual(handMask(1, m.length, 0.5));
      // Every output element equals its (broadcast) mask entry.
      const strides = maskShape.map((_, i) => maskShape.slice(i + 1).reduce((a, b) => a * b, 1));
      const xStrides = xShape.map((_, i) => xShape.slice(i + 1).reduce((a, b) => a * b, 1));
      for (let flat = 0; flat < y.length; flat++) {
        let mi = 0;
        xShape.forEach((_, ax) => {
          const idx = Math.floor(flat / xStrides[ax]) % xShape[ax];
          mi += (maskShape[ax] === 1 ? 0 : idx) * strides[ax];
        });
        expect(y[flat]).toBe(m[mi]);
      }
    });
  }

  it('rejects wrong ranks, a changed input shape, and bad options', () => {
    expect(() => new T.VariationalDropout2d(0.5).forward(T.ones([2, 3]))).toThrow(/VariationalDropout2d: expected an input of rank 4 \(B, H, W, D\), received shape \[2, 3\]/);
    const d = new T.VariationalDropToken1d(0.5, { seed: 0 });
    d.forward(T.ones([2, 4, 3]));
    expect(() => d.forward(T.ones([3, 4, 3]))).toThrow(/VariationalDropToken1d: the fixed mask \(shape \[2, 4, 1\].*does not fit the input \(shape \[3, 4, 3\].*call resetDropout\(model\)/);
    expect(() => new T.VariationalDropout(1.5)).toThrow(/VariationalDropout: expected a drop probability p in \[0, 1\], received 1.5/);
    expect(() => new T.VariationalDropout1d(0.1, { token_first: false } as never)).toThrow(/VariationalDropout1d: unknown option 'token_first'; valid options are 'seed', 'generator', 'tokenFirst'/);
    expect(() => new T.VariationalDropout(0.1, { tokenFirst: true } as never)).toThrow(/VariationalDropout: unknown option 'tokenFirst'; valid options are 'seed', 'generator'/);
  });
});

describe('resetDropout over a model', () => {
  class Cell extends Module {
    readonly fc = this.registerModule('fc', new Linear(3, 3, { ...f64, seed: 0 }));
    readonly drop = this.registerModule('drop', new T.VariationalDropout1d(0.5, { seed: 7 }));
    readonly inner = this.registerModule('inner', new T.VariationalDropToken1d(0.5, { seed: 8 }));
    forward(z: T.Tensor): T.Tensor {
      return this.inner.forward(this.drop.forward(this.fc.forward(z).tanh()));
    }
  }

  it('a fixed-point iteration sees one function until reset; reset clears every layer', () => {
    const cell = new Cell();
    const z0 = T.randn([2, 4, 3], { ...f64, seed: 1 });
    const a1 = cell.forward(z0).dataSync();
    for (let k = 0; k < 3; k++) cell.forward(cell.forward(z0));
    expect(Array.from(cell.forward(z0).dataSync())).toEqual(Array.from(a1));
    T.resetDropout(cell);
    expect(cell.drop.mask).toBeNull();
    expect(cell.inner.mask).toBeNull();
    expect(Array.from(cell.forward(z0).dataSync())).not.toEqual(Array.from(a1));
    expect(() => T.resetDropout({} as never)).toThrow(/resetDropout: expected a Module/);
  });
});

const VariationalDropout = T.VariationalDropout;
