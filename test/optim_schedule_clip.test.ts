import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { SGD, cosineAnnealing, CosineAnnealingLR, clipGradNorm, clipGradValue } from '../src/optim/index.js';

const f64 = { dtype: 'float64' as const };

/** torch's chainable (recursive) CosineAnnealingLR.get_lr, written independently of the closed form. */
function torchRecursive(base: number, etaMin: number, tMax: number, steps: number): number[] {
  const lrs = [base];
  let lr = base;
  for (let t = 1; t <= steps; t++) {
    if ((t - 1 - tMax) % (2 * tMax) === 0) {
      lr = lr + ((base - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2;
    } else {
      lr = ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (lr - etaMin) + etaMin;
    }
    lrs.push(lr);
  }
  return lrs;
}

describe('cosineAnnealing', () => {
  it('hits the closed-form landmarks', () => {
    const f = cosineAnnealing({ baseLr: 0.1, tMax: 10, etaMin: 0.01 });
    expect(f(0)).toBeCloseTo(0.1, 15);
    expect(f(5)).toBeCloseTo(0.055, 15); // halfway: (base + etaMin) / 2
    expect(f(10)).toBeCloseTo(0.01, 15);
    expect(f(3)).toBeCloseTo(0.01 + 0.09 * (1 + Math.cos(0.3 * Math.PI)) / 2, 15);
    expect(f(20)).toBeCloseTo(0.1, 15); // past tMax the cosine goes back up, as in torch
  });

  it("matches torch's recursive rule step by step over three periods", () => {
    const f = cosineAnnealing({ baseLr: 0.5, tMax: 7, etaMin: 0.02 });
    const ref = torchRecursive(0.5, 0.02, 7, 21);
    ref.forEach((lr, t) => expect(Math.abs(f(t) - lr)).toBeLessThan(1e-12));
  });

  it('linear warmup (torch LinearLR rule) then cosine, continuous at the switch', () => {
    const f = cosineAnnealing({ baseLr: 1, tMax: 100, warmupSteps: 4, warmupStartFactor: 0.2 });
    expect([0, 1, 2, 3].map(f)).toEqual([0.2, 0.4, 0.6000000000000001, 0.8].map((x) => expect.closeTo(x, 14)));
    expect(f(4)).toBe(1);
    expect(f(54)).toBeCloseTo(0.5, 14);
    const d = cosineAnnealing({ baseLr: 3, tMax: 5, warmupSteps: 3 });
    expect(d(0)).toBeCloseTo(1, 14); // default start factor 1/3
  });

  it('CosineAnnealingLR drives every group from its own base lr', () => {
    const a = T.tensor([1], undefined, { requiresGrad: true }), b = T.tensor([1], undefined, { requiresGrad: true });
    const opt = new SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 1 }]);
    const sched = new CosineAnnealingLR(opt, { tMax: 4 });
    expect(sched.getLastLr()).toEqual([0.1, 1]);
    sched.step();
    sched.step();
    expect(sched.lastStep).toBe(2);
    expect(sched.getLastLr()[0]).toBeCloseTo(0.05, 15);
    expect(sched.getLastLr()[1]).toBeCloseTo(0.5, 15);
    expect(() => new CosineAnnealingLR(opt, { tMax: 4, baseLr: 1 } as never)).toThrow(/unknown option 'baseLr'/);
  });

  it('rejects bad options', () => {
    expect(() => cosineAnnealing({ baseLr: 0.1, tMax: 0 })).toThrow(/cosineAnnealing: expected 'tMax' to be an integer > 0, received 0/);
    expect(() => cosineAnnealing({ baseLr: 0.1, tMax: 5, warmup: 3 } as never)).toThrow(/unknown option 'warmup'; valid options are 'baseLr', 'tMax'/);
    expect(() => cosineAnnealing({ baseLr: 0.1, tMax: 5 })(-1)).toThrow(/expected 'step' to be an integer >= 0, received -1/);
  });
});

describe('gradient clipping', () => {
  const withGrads = (grads: number[][]): T.Tensor[] => grads.map((g) => {
    const p = T.zeros([g.length], { ...f64, requiresGrad: true });
    p.grad = T.tensor(g, undefined, f64);
    return p;
  });

  it('clipGradNorm: total 2-norm over all grads, scaled by maxNorm / (total + 1e-6)', () => {
    const ps = withGrads([[3, 4], [12]]); // total sqrt(9 + 16 + 144) = 13
    const old = ps[0].grad!;
    const total = clipGradNorm(ps, 6.5);
    expect(total.item()).toBeCloseTo(13, 14);
    expect(total.dtype).toBe('float64');
    const c = 6.5 / (13 + 1e-6);
    expect(Array.from(ps[0].grad!.dataSync())).toEqual([3 * c, 4 * c].map((x) => expect.closeTo(x, 14)));
    expect(ps[1].grad!.item()).toBeCloseTo(12 * c, 14);
    // The old gradient was replaced (and its handle released: the leaf owns its .grad).
    expect(ps[0].grad).not.toBe(old);
    expect(old.isDisposed).toBe(true);
  });

  it('clipGradNorm leaves small gradients unchanged and supports inf and p norms', () => {
    const ps = withGrads([[3, 4], [12]]);
    expect(clipGradNorm(ps, 20).item()).toBeCloseTo(13, 14);
    expect(Array.from(ps[0].grad!.dataSync())).toEqual([3, 4]);
    const qs = withGrads([[3, -4], [-12]]);
    expect(clipGradNorm(qs, 1e9, { normType: Infinity }).item()).toBe(12);
    expect(clipGradNorm(qs, 1e9, { normType: 1 }).item()).toBeCloseTo(19, 13);
    expect(clipGradNorm(qs, 1e9, { normType: 3 }).item()).toBeCloseTo(Math.cbrt(27 + 64 + 1728), 12);
    const inf = withGrads([[3, -4], [-12]]);
    clipGradNorm(inf, 6, { normType: Infinity });
    expect(inf[1].grad!.item()).toBeCloseTo(-12 * (6 / (12 + 1e-6)), 13);
  });

  it('clipGradNorm skips parameters without grad, and with none returns 0', () => {
    const ps = withGrads([[6, 8]]);
    const bare = T.zeros([3], { requiresGrad: true });
    expect(clipGradNorm([bare, ...ps], 5).item()).toBeCloseTo(10, 14);
    expect(bare.grad).toBeNull();
    expect(clipGradNorm([bare], 5).item()).toBe(0);
  });

  it('clipGradNorm works on float32 grads end to end after backward', async () => {
    const w = T.tensor([1, 2, 2], undefined, { requiresGrad: true });
    await w.square().sum().backward(); // grad [2, 4, 4], norm 6
    const n = clipGradNorm([w], 3);
    expect(n.dtype).toBe('float32');
    expect(n.item()).toBeCloseTo(6, 5);
    expect(Array.from(w.grad!.dataSync())).toEqual([1, 2, 2].map((x) => expect.closeTo(x, 5)));
  });

  it('clipGradValue clamps each element and never writes into storage the user shares', () => {
    const held = T.tensor([3, -4, 0.5], undefined, f64);
    const p = T.zeros([3], { ...f64, requiresGrad: true });
    p.grad = held.reshape([3]); // a view on the user's storage, as backward can produce
    clipGradValue([p], 1);
    expect(Array.from(p.grad!.dataSync())).toEqual([1, -1, 0.5]);
    expect(Array.from(held.dataSync())).toEqual([3, -4, 0.5]);
    const q = T.zeros([3], { ...f64, requiresGrad: true });
    q.grad = held.reshape([3]);
    clipGradNorm([q], 1);
    expect(Array.from(held.dataSync())).toEqual([3, -4, 0.5]);
  });

  it('rejects bad input', () => {
    const ps = withGrads([[1]]);
    expect(() => clipGradNorm(ps, -1)).toThrow(/clipGradNorm: expected maxNorm to be a number >= 0, received -1/);
    expect(() => clipGradNorm(ps, 1, { normType: 0 })).toThrow(/expected option 'normType' to be a number > 0 or Infinity, received 0/);
    expect(() => clipGradNorm(ps, 1, { norm: 2 } as never)).toThrow(/clipGradNorm: unknown option 'norm'; valid options are 'normType'/);
    expect(() => clipGradNorm(42 as never, 1)).toThrow(/clipGradNorm: expected a Tensor or an iterable of Tensors, received number/);
    expect(() => clipGradValue([3 as never], 1)).toThrow(/clipGradValue: expected parameter 0 to be a Tensor, received number/);
  });
});
