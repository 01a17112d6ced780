import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { SGD, Adam, AdamW } from '../src/optim/index.js';

const f64 = { dtype: 'float64' as const };

/** A float64 leaf parameter. */
function param(values: number[]): T.Tensor {
  return T.tensor(values, [values.length], { ...f64, requiresGrad: true });
}

/** Sets p.grad to c * p (the gradient of sum(c p^2 / 2)) through a real backward. */
async function quadraticGrad(p: T.Tensor, c: number[]): Promise<void> {
  p.grad?.dispose();
  p.grad = null;
  await T.tidy(async () => {
    const loss = p.square().mul(T.tensor(c, undefined, f64)).sum().mul(0.5);
    await loss.backward();
  });
}

describe('SGD: hand-computed updates (loss p^2, so g = 2p)', () => {
  const run = async (opts: ConstructorParameters<typeof SGD>[1], steps: number): Promise<number> => {
    const p = param([1]);
    const opt = new SGD([p], opts);
    for (let i = 0; i < steps; i++) {
      await quadraticGrad(p, [2]);
      opt.step();
    }
    return p.item();
  };

  it('plain: p = 1 - 0.1 * 2 = 0.8', async () => {
    expect(await run({ lr: 0.1 }, 1)).toBeCloseTo(0.8, 14);
  });
  it('momentum 0.9: buf 2 then 3.4; p 0.8 then 0.46', async () => {
    expect(await run({ lr: 0.1, momentum: 0.9 }, 2)).toBeCloseTo(0.46, 14);
  });
  it('nesterov: d = 3.8 then 3.976; p 0.62 then 0.2224', async () => {
    expect(await run({ lr: 0.1, momentum: 0.9, nesterov: true }, 1)).toBeCloseTo(0.62, 14);
    expect(await run({ lr: 0.1, momentum: 0.9, nesterov: true }, 2)).toBeCloseTo(0.2224, 14);
  });
  it('weight decay 0.1: d = 2 + 0.1 = 2.1, p = 0.79', async () => {
    expect(await run({ lr: 0.1, weightDecay: 0.1 }, 1)).toBeCloseTo(0.79, 14);
  });
  it('dampening 0.5 (not applied on the first step): buf 2 then 0.9*2 + 0.5*1.6 = 2.6; p = 0.54', async () => {
    expect(await run({ lr: 0.1, momentum: 0.9, dampening: 0.5 }, 2)).toBeCloseTo(0.54, 14);
  });
});

/** torch's Adam/AdamW written as an independent scalar loop over plain arrays. */
function referenceAdam(p0: number[], c: number[], steps: number, o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean; amsgrad: boolean },
  grads?: number[][]): number[] {
  const p = [...p0], m = p.map(() => 0), v = p.map(() => 0), vmax = p.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    for (let i = 0; i < p.length; i++) {
      let g = grads ? grads[t - 1][i] : c[i] * p[i];
      if (o.decoupled) p[i] *= 1 - o.lr * o.wd;
      else g += o.wd * p[i];
      m[i] = o.b1 * m[i] + (1 - o.b1) * g;
      v[i] = o.b2 * v[i] + (1 - o.b2) * g * g;
      vmax[i] = Math.max(vmax[i], v[i]);
      const vh = o.amsgrad ? vmax[i] : v[i];
      const denom = Math.sqrt(vh) / Math.sqrt(1 - o.b2 ** t) + o.eps;
      p[i] -= (o.lr / (1 - o.b1 ** t)) * (m[i] / denom);
    }
  }
  return p;
}

describe('Adam / AdamW: bias correction and decay', () => {
  it('Adam two steps by hand: p = 0.9 then 0.8004122...', async () => {
    const p = param([1]);
    const opt = new Adam([p], { lr: 0.1 });
    await quadraticGrad(p, [2]);
    opt.step();
    // m = 0.2, v = 0.004; mHat = 2, vHat = 4: update 2 / (2 + 1e-8)
    expect(p.item()).toBeCloseTo(1 - 0.1 * (2 / (2 + 1e-8)), 14);
    await quadraticGrad(p, [2]);
    opt.step();
    // g = 1.8: m = 0.36, v = 0.007236; mHat = 0.36/0.19, vHat = 0.007236/0.001999
    const mHat = 0.36 / 0.19, vHat = 0.007236 / 0.001999;
    expect(p.item()).toBeCloseTo(0.9 - 0.1 * mHat / (Math.sqrt(vHat) + 1e-8), 8);
    expect(p.item()).toBeCloseTo(0.80041226, 7);
    expect(opt.state(p)!.step).toBe(2);
  });

  // ref: the same hyperparameters for the reference loop (defaults spelled out: AdamW's decay is 0.01).
  const custom = { lr: 0.05, betas: [0.8, 0.95] as const, eps: 1e-6, weightDecay: 0.1 };
  const customRef = { lr: 0.05, b1: 0.8, b2: 0.95, eps: 1e-6, wd: 0.1 };
  const cases = [
    { name: 'Adam', Ctor: Adam, opts: custom, ref: customRef, decoupled: false, amsgrad: false },
    { name: 'AdamW', Ctor: AdamW, opts: custom, ref: customRef, decoupled: true, amsgrad: false },
    { name: 'Adam amsgrad', Ctor: Adam, opts: { lr: 0.05, amsgrad: true }, ref: { lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0 }, decoupled: false, amsgrad: true },
    { name: 'AdamW amsgrad', Ctor: AdamW, opts: { lr: 0.05, amsgrad: true }, ref: { lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01 }, decoupled: true, amsgrad: true },
  ];
  for (const k of cases) {
    it(`${k.name} matches an independent plain-JS loop over 5 steps`, async () => {
      const p0 = [1, -2, 0.5, 3], c = [2, 0.5, -1, 1.5];
      const p = param(p0);
      const opt = new k.Ctor([p], k.opts);
      for (let i = 0; i < 5; i++) {
        await quadraticGrad(p, c);
        opt.step();
      }
      const want = referenceAdam(p0, c, 5, { ...k.ref, decoupled: k.decoupled, amsgrad: k.amsgrad });
      const got = Array.from(p.dataSync());
      got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(1e-13));
    });
  }

  it('amsgrad uses the running max of v: differs from Adam once v shrinks (beta2 0.5)', () => {
    const grads = [[3], [0.01], [0.01]];
    const runOne = (amsgrad: boolean): number => {
      const p = param([1]);
      const opt = new Adam([p], { lr: 0.1, betas: [0.9, 0.5], amsgrad });
      for (const g of grads) {
        p.grad = T.tensor(g, undefined, f64);
        opt.step();
      }
      return p.item();
    };
    const ref = (amsgrad: boolean): number => referenceAdam([1], [0], 3, { lr: 0.1, b1: 0.9, b2: 0.5, eps: 1e-8, wd: 0, decoupled: false, amsgrad }, grads)[0];
    expect(runOne(true)).toBeCloseTo(ref(true), 13);
    expect(runOne(false)).toBeCloseTo(ref(false), 13);
    expect(Math.abs(ref(true) - ref(false))).toBeGreaterThan(1e-3);
  });

  it('AdamW decay is decoupled: with a zero gradient only p *= 1 - lr * wd applies', () => {
    const p = param([2, -4]);
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.5 });
    p.grad = T.zeros([2], f64);
    opt.step();
    expect(Array.from(p.dataSync())).toEqual([2 * 0.95, -4 * 0.95]);
    // Adam's coupled decay goes through the moments instead: the step is about lr in size.
    const q = param([2]);
    const adam = new Adam([q], { lr: 0.1, weightDecay: 0.5 });
    q.grad = T.zeros([1], f64);
    adam.step();
    expect(q.item()).toBeCloseTo(2 - 0.1, 6);
  });

  it('float32 parameters follow the float64 reference to float32 accuracy', async () => {
    const p = T.tensor([1, -2, 0.5], undefined, { requiresGrad: true });
    const opt = new Adam([p], { lr: 0.01 });
    for (let i = 0; i < 3; i++) {
      p.grad?.dispose();
      p.grad = T.tensor([2 * p.dataSync()[0], -p.dataSync()[1], 3 * p.dataSync()[2]]);
      opt.step();
    }
    expect(p.dtype).toBe('float32');
    const want = referenceAdam([1, -2, 0.5], [2, -1, 3], 3, { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false, amsgrad: false });
    Array.from(p.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(want[i], 5));
  });
});

describe('optimizer mechanics', () => {
  it('keeps parameter identity, leaves user-held tensors alone, skips params without grad', () => {
    const p = param([1, 2]), q = param([5]);
    const before = p;
    const g = T.tensor([0.5, -0.5], undefined, f64);
    const view = p.detach().cast('float64'); // a copy the user holds
    p.grad = g;
    const opt = new SGD([p, q], { lr: 1, momentum: 0.5 });
    opt.step();
    expect(p).toBe(before);
    expect(Array.from(p.dataSync())).toEqual([0.5, 2.5]);
    expect(Array.from(g.dataSync())).toEqual([0.5, -0.5]);
    expect(Array.from(view.dataSync())).toEqual([1, 2]);
    expect(q.item()).toBe(5);
    expect(opt.state(q)).toBeUndefined();
    expect(p.requiresGrad && p.isLeaf).toBe(true);
  });

  it('state survives tidy scopes and steps do not leak tensors', async () => {
    const p = param([1, -1, 2]);
    const opt = new Adam([p], { lr: 0.1, amsgrad: true });
    const stepOnce = (): Promise<void> => T.tidy(async () => {
      await p.square().sum().backward();
      opt.step();
      opt.zeroGrad();
    });
    await stepOnce();
    const live = T.memory().numTensors;
    for (let i = 0; i < 5; i++) await stepOnce();
    expect(T.memory().numTensors).toBe(live);
    expect(opt.state(p)!.tensors.get('expAvg')!.isDisposed).toBe(false);
    expect(opt.state(p)!.step).toBe(6);
    opt.dispose();
    p.dispose();
  });

  it('param groups take their own hyperparameters and setLr changes all groups', () => {
    const a = param([1]), b = param([1]);
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    a.grad = T.tensor([1], undefined, f64);
    b.grad = T.tensor([1], undefined, f64);
    opt.step();
    expect(a.item()).toBeCloseTo(0.9, 15);
    expect(b.item()).toBeCloseTo(0.5, 15);
    opt.setLr(0.25);
    opt.step();
    expect(a.item()).toBeCloseTo(0.65, 15);
    expect(b.item()).toBeCloseTo(0.25, 15);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
  });

  it('rejects bad options and inputs with clear messages', () => {
    const p = param([1]);
    expect(() => new SGD([p], { lr: -1 })).toThrow(/SGD: expected 'lr' to be a finite number in \[0, inf\), received -1/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum needs momentum > 0 and dampening 0/);
    expect(() => new SGD([p], { learningRate: 0.1 } as never)).toThrow(/SGD: unknown option 'learningRate'; valid options are 'lr', 'momentum'/);
    expect(() => new Adam([p], { betas: [0.9, 1] })).toThrow(/Adam: expected 'betas\[1\]' to be a finite number in \[0, 1\), received 1/);
    expect(() => new Adam([p], { betas: [0.9] as never })).toThrow(/expected 'betas' to be a pair/);
    expect(() => new Adam([])).toThrow(/Adam: expected at least one parameter/);
    expect(() => new Adam([p, p])).toThrow(/appears in more than one place/);
    expect(() => new Adam([p.mul(2)])).toThrow(/expected parameter 0 to be a leaf tensor/);
    expect(() => new Adam(p as never)).toThrow(/expected parameters as an array/);
    expect(() => new AdamW([{ params: [p], momentum: 0.9 } as never])).toThrow(/AdamW.addParamGroup: unknown option 'momentum'/);
    const opt = new SGD([p], { lr: 0.1 });
    p.grad = T.tensor([1, 2], undefined, f64);
    expect(() => opt.step()).toThrow(/SGD.step: parameter 0 of group 0 has shape \[1\] but its gradient has shape \[2\]/);
    p.grad = T.tensor([1]);
    expect(() => opt.step()).toThrow(/has dtype float64 but its gradient has dtype float32/);
    expect(() => opt.setLr(NaN)).toThrow(/SGD.setLr: expected a finite learning rate >= 0, received NaN/);
  });
});
