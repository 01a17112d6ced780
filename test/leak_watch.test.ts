/**
 * The missing-tidy warning: a training loop whose steps leave tensors alive gets one
 * console.warn naming tidy() (the GC backstop does not run under WASM memory pressure); tidied
 * loops, loops that keep a few tensors per step for a while, and optimizer state never warn.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as T from '../src/index.js';
import { LEAK_WATCH_STEPS, resetLeakWatch } from '../src/optim/leak_watch.js';

function setup(): { W: T.Tensor; x: T.Tensor; opt: T.optim.Adam } {
  const W = T.randn([4, 4], { seed: 1, requiresGrad: true });
  const x = T.randn([8, 4], { seed: 2 });
  return { W, x, opt: new T.optim.Adam([W], { lr: 1e-3 }) };
}

async function trainStep(W: T.Tensor, x: T.Tensor, opt: T.optim.Optimizer<object>): Promise<void> {
  const loss = T.sum(T.square(T.tanh(T.matmul(x, W))));
  await loss.backward();
  opt.step();
  opt.zeroGrad();
}

describe('leak watch', () => {
  afterEach(() => { vi.restoreAllMocks(); resetLeakWatch(); });

  it('warns once, naming tidy(), when every step leaves tensors behind', async () => {
    resetLeakWatch();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { W, x, opt } = setup();
    const before = T.memory().numTensors;
    for (let i = 0; i < 3 * LEAK_WATCH_STEPS; i++) await trainStep(W, x, opt); // no tidy: ~5 tensors per step stay
    expect(T.memory().numTensors - before).toBeGreaterThan(100);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/Adam\.step: the number of live tensors grew at each of the last \d+ optimizer steps/);
    expect(String(warn.mock.calls[0][0])).toMatch(/tidy\(/);
    opt.dispose();
  });

  it('stays quiet for tidied steps, and for a loop that keeps one loss per step', async () => {
    resetLeakWatch();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { W, x, opt } = setup();
    for (let i = 0; i < 3 * LEAK_WATCH_STEPS; i++) await T.tidy(() => trainStep(W, x, opt));
    const losses: T.Tensor[] = [];
    for (let i = 0; i < 8 * LEAK_WATCH_STEPS; i++) {
      await T.tidy(async () => {
        const loss = T.sum(T.square(T.tanh(T.matmul(x, W))));
        losses.push(T.keep(loss.detach()));
        await loss.backward();
        opt.step();
        opt.zeroGrad();
      });
    }
    expect(warn).not.toHaveBeenCalled();
    for (const l of losses) l.dispose();
    opt.dispose();
  });
});
