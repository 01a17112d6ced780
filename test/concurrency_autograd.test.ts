/**
 * Concurrency of the autograd core: backward passes, `grad`, pullbacks, custom functions with
 * async backwards, async tidies and noGrad regions interleaved with each other and with
 * forwards. Each case checks the values against a sequential run, that grad mode is the same
 * for everyone afterwards, and that nothing is left unhandled.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectAsyncHealth } from './helpers/async_health.js';

const f64 = { dtype: 'float64' as const };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const arr = (t: Tensor): number[] => Array.from(t.dataSync());

expectAsyncHealth({ settleMs: 1 });

/** y = x^2 with a backward that awaits a timer (2 x g). */
const slowSquare = (ms: number) => T.customFunction<[Tensor]>({
  name: 'slowSquare',
  forward: (ctx, x) => { ctx.save(x); return x.mul(x); },
  backward: async (ctx, g) => {
    const two = g.mul(2);
    await sleep(ms);
    return [two.mul(ctx.saved[0])];
  },
});

describe('a forward while an async backward is pending', () => {
  it('records its graph, keeps its tensors, and both give the sequential results', async () => {
    const x = T.tensor([1, 2, 3], undefined, f64).requireGrad();
    const w = T.tensor([0.5, -1, 2], undefined, f64).requireGrad();
    const pending = slowSquare(20)(x).sum().backward();
    // Forward work while the backward awaits its timer.
    const y = x.mul(w).tanh();
    const loss = y.sum();
    expect(loss.requiresGrad).toBe(true);
    await sleep(40); // the backward's scope (if it were held) would end here
    expect(y.isDisposed).toBe(false);
    expect(loss.isDisposed).toBe(false);
    await pending;
    expect(arr(x.grad!)).toEqual([2, 4, 6]);
    T.zeroGrad([x]);
    await loss.backward();
    const t = [1 * 0.5, -2, 6].map(Math.tanh);
    arr(w.grad!).forEach((g, i) => expect(g).toBeCloseTo((1 - t[i] ** 2) * (i + 1), 12));
  });

  it('a training DEQ forward during a pending async backward records a graph', async () => {
    const W = T.randn([3, 3], { ...f64, seed: 2, std: 0.3 }).requireGrad();
    const x = T.tensor([1, 2, 3], undefined, f64).requireGrad();
    const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 10, ift: true });
    const pending = slowSquare(5)(x).sum().backward();
    const out = await deq.forward((z: Tensor) => T.tanh(T.matmul(z, W).add(1)), T.zeros([2, 3], f64));
    expect(out.zOut[0].requiresGrad).toBe(true);
    await pending;
    await out.zOut[0].sum().backward();
    expect(W.grad).not.toBeNull();
    expect(arr(x.grad!)).toEqual([2, 4, 6]);
  });
});

describe('backward passes awaited together', () => {
  it('two concurrent backward()s through async custom functions accumulate the sequential sum', async () => {
    const x = T.tensor([1, -2, 0.5], undefined, f64).requireGrad();
    const a = slowSquare(10)(x).sum();
    const b = slowSquare(1)(x).mul(3).sum();
    await Promise.all([a.backward(), b.backward()]);
    expect(arr(x.grad!)).toEqual([8, -16, 4]); // (2 + 6) x
    expect(T.isGradEnabled()).toBe(true);
  });

  it('eight concurrent backward()s of a small network equal the sequential gradients', async () => {
    const W = T.randn([4, 4], { ...f64, seed: 3 }).requireGrad();
    const xs = Array.from({ length: 8 }, (_, k) => T.randn([2, 4], { ...f64, seed: 10 + k }));
    const loss = (x: Tensor): Tensor => slowSquare(k0++ % 3)(T.matmul(x, W).tanh()).sum();
    let k0 = 0;
    for (const x of xs) await loss(x).backward();
    const seq = arr(W.grad!);
    T.zeroGrad([W]);
    k0 = 0;
    await Promise.all(xs.map((x) => loss(x).backward()));
    arr(W.grad!).forEach((g, i) => expect(g).toBeCloseTo(seq[i], 12));
  });

  it('a failing backward beside a good one: the good one completes, the bad one rejects to its caller only', async () => {
    const x = T.tensor([1, 2], undefined, f64).requireGrad();
    const failing = T.customFunction<[Tensor]>({
      forward: (_ctx, t) => t.mul(1),
      backward: async () => { await sleep(2); throw new Error('backward failed'); },
    });
    const good = slowSquare(5)(x).sum().backward();
    const bad = failing(x).sum().backward();
    await expect(bad).rejects.toThrow('backward failed');
    await good;
    expect(arr(x.grad!)).toEqual([2, 4]);
  });

  it('concurrent grad() calls and pullbacks give their own results', async () => {
    const x = T.tensor([0.3, -0.7, 1.1], undefined, f64).requireGrad();
    const outs = [1, 2, 3, 4].map((k) => slowSquare(k)(x).mul(k).sum());
    const gs = await Promise.all(outs.map((o) => T.grad(o, [x])));
    gs.forEach(([g], k) => arr(g!).forEach((v, i) => expect(v).toBeCloseTo(2 * (k + 1) * arr(x)[i], 14)));
    const [, pb] = T.vjp((u: Tensor) => slowSquare(1)(u), x);
    const vs = [1, 2, 3].map((k) => T.full([3], k, f64));
    const res = await Promise.all(vs.map((v) => pb(v)));
    res.forEach(([g], k) => arr(g).forEach((v, i) => expect(v).toBeCloseTo(2 * (k + 1) * arr(x)[i], 14)));
    pb.dispose();
  });

  it('a custom backward that calls grad(), twice at once', async () => {
    const x = T.tensor([1, 2], undefined, f64).requireGrad();
    const viaGrad = T.customFunction<[Tensor]>({
      forward: (ctx, t) => { ctx.save(t); return t.mul(t).mul(t); },
      backward: async (ctx, g) => {
        const u = ctx.saved[0].detach().requireGrad();
        // Grad mode is off in a backward without createGraph (as in torch): turn it on to record.
        const [d] = await T.grad(T.enableGrad(() => slowSquare(2)(u).sum()), [u]); // 2u
        const r = d!.mul(u).mul(1.5).mul(g); // 3u^2 g
        d!.dispose();
        return [r];
      },
    });
    await Promise.all([viaGrad(x).sum().backward(), viaGrad(x).mul(2).sum().backward()]);
    expect(arr(x.grad!)).toEqual([9, 36]); // 3 x^2 (1 + 2)
  });
});

describe('grad mode is never changed for anyone else', () => {
  it('async noGrad / enableGrad regions that settle out of order leave grad mode on', async () => {
    const x = T.tensor([1], undefined, f64).requireGrad();
    const a = T.noGrad(async () => { await sleep(10); return x.mul(2); });
    const b = T.enableGrad(async () => { await sleep(1); return x.mul(3); });
    const c = T.noGrad(async () => { await sleep(5); throw new Error('c failed'); });
    await expect(c).rejects.toThrow('c failed');
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.isDisposed || rb.isDisposed).toBe(false);
    expect(T.isGradEnabled()).toBe(true);
    expect(x.mul(2).requiresGrad).toBe(true);
    // One at a time, an async region holds its mode across its awaits.
    const r = await T.noGrad(async () => { await sleep(1); return x.mul(2); });
    expect(r.requiresGrad).toBe(false);
    expect(T.isGradEnabled()).toBe(true);
  });

  it('after rejected concurrent async tidies grad mode is on, nothing leaked, and training works', async () => {
    const w = T.tensor([1, 2], undefined, f64).requireGrad();
    const before = T.memory().numTensors;
    const step = () => T.tidy(async () => {
      const loss = slowSquare(3)(w).sum();
      await loss.backward();
      return loss.item();
    });
    const r = await Promise.allSettled([step(), step(), step()]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(T.isGradEnabled()).toBe(true);
    expect(arr(w.grad!)).toEqual([2, 4]);
    T.zeroGrad([w]);
    expect(T.memory().numTensors).toBe(before);
    expect(await step()).toBe(5);
    expect(arr(w.grad!)).toEqual([2, 4]);
    T.zeroGrad([w]);
    expect(T.memory().numTensors).toBe(before);
  });

  it('an async tidy whose body awaits a DEQ forward and backward still tidies everything', async () => {
    const W = T.randn([3, 3], { ...f64, seed: 9, std: 0.3 }).requireGrad();
    const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 8, ift: true });
    const step = () => T.tidy(async () => {
      const { zOut } = await deq.forward(async (z: Tensor) => { await sleep(0); return T.tidy(() => T.tanh(T.matmul(z, W).add(1))); }, T.zeros([2, 3], f64));
      const loss = zOut[0].square().sum();
      await loss.backward();
      return loss.item();
    });
    await step();
    T.zeroGrad([W]);
    const before = T.memory().numTensors;
    const v = await step();
    expect(Number.isFinite(v)).toBe(true);
    T.zeroGrad([W]);
    expect(T.memory().numTensors).toBe(before);
  });
});
