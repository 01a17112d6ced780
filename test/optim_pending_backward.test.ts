/**
 * `optimizer.step()` / `zeroGrad()` while a `backward()` that writes their parameters'
 * gradients is still running (a missing `await`): a clear error naming the optimizer method,
 * the pass is cancelled (no late gradients in the next step), nothing goes unhandled.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectAsyncHealth } from './helpers/async_health.js';

const f64 = { dtype: 'float64' as const };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const arr = (t: Tensor): number[] => Array.from(t.dataSync());

expectAsyncHealth({ settleMs: 20, globalState: false });

/** x^2 whose backward awaits a timer, like an IFT backward running its solver. */
const slowSquare = T.customFunction<[Tensor]>({
  forward: (ctx, x) => { ctx.save(x); return x.mul(x); },
  backward: async (ctx, g) => { await sleep(5); return [g.mul(2).mul(ctx.saved[0])]; },
});

const makers = [
  ['SGD', (ps: Tensor[]) => new T.optim.SGD(ps, { lr: 0.1 })],
  ['Adam', (ps: Tensor[]) => new T.optim.Adam(ps, { lr: 0.1 })],
] as const;

describe('optimizer calls while a backward pass is still running', () => {
  for (const [name, make] of makers) {
    it(`${name}.step() throws, the forgotten pass never writes .grad, and the next step is exact`, async () => {
      const w = T.tensor([1, 2, 3], undefined, f64).requireGrad();
      const opt = make([w]);
      const forgotten = slowSquare(w).sum().backward(); // no await
      expect(() => opt.step()).toThrow(new RegExp(`^${name}\\.step: a backward pass is still running: await it before step\\(\\)`));
      await expect(forgotten).rejects.toThrow(/^backward: discarded: .*step\(\) ran while this backward pass was still running/);
      expect(w.grad).toBeNull(); // no late gradients
      expect(arr(w)).toEqual([1, 2, 3]); // nothing updated
      // A correct step afterwards sees exactly one gradient.
      await slowSquare(w).sum().backward();
      expect(arr(w.grad!)).toEqual([2, 4, 6]);
      opt.step();
      opt.zeroGrad();
      if (name === 'SGD') expect(arr(w)).toEqual([1 - 0.2, 2 - 0.4, 3 - 0.6].map((v) => v));
      else expect(arr(w).map((v, i) => v - [1, 2, 3][i]).every((d) => Math.abs(d + 0.1) < 1e-6)).toBe(true);
    });

    it(`${name}.zeroGrad() throws the same way, naming zeroGrad`, async () => {
      const w = T.tensor([1, 2], undefined, f64).requireGrad();
      const opt = make([w]);
      const p = slowSquare(w).sum().backward();
      expect(() => opt.zeroGrad()).toThrow(new RegExp(`^${name}\\.zeroGrad: a backward pass is still running: await it before zeroGrad\\(\\)`));
      await expect(p).rejects.toThrow(/discarded/);
      expect(w.grad).toBeNull();
    });
  }

  it('a forgotten backward that nobody ever awaits does not end the process (no unhandled rejection)', async () => {
    const w = T.tensor([1, 2], undefined, f64).requireGrad();
    const opt = new T.optim.SGD([w], { lr: 0.1 });
    void slowSquare(w).sum().backward();
    expect(() => opt.step()).toThrow(/still running/);
    await sleep(30); // afterEach checks the probe
    expect(w.grad).toBeNull();
  });

  it('the standalone zeroGrad() throws too; a pass over other parameters does not block', async () => {
    const a = T.tensor([1], undefined, f64).requireGrad();
    const b = T.tensor([3], undefined, f64).requireGrad();
    const pa = slowSquare(a).sum().backward();
    expect(() => T.zeroGrad([a])).toThrow(/^zeroGrad: a backward pass is still running: await it before zeroGrad\(\)/);
    await expect(pa).rejects.toThrow(/discarded/);
    const pb = slowSquare(b).sum().backward();
    const optA = new T.optim.SGD([a], { lr: 0.5 });
    optA.zeroGrad(); // b's pass is not a's
    optA.step();
    await pb;
    expect(arr(b.grad!)).toEqual([6]);
  });

  it('awaited backwards (also several at once) step normally', async () => {
    const w = T.tensor([1, 2], undefined, f64).requireGrad();
    const opt = new T.optim.SGD([w], { lr: 1 });
    await Promise.all([slowSquare(w).sum().backward(), slowSquare(w).sum().backward()]);
    opt.step();
    expect(arr(w)).toEqual([1 - 4, 2 - 8]);
    opt.zeroGrad();
  });
});
