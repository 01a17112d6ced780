/**
 * A backward (adjoint) solve that does not converge is never silent: W = 2I, f(z) = W z + x has
 * the fixed point z* = -x, but the adjoint iteration g <- W^T g + v diverges. By default one
 * console.warn per backward solve names the status and the residual; `bFailure: 'error'`
 * rejects; 'ignore' is silent; the outcome is always in `bStats` / `info.bStats`.
 */
import { describe, it, expect, vi, afterEach } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';

const f64 = { dtype: 'float64' as const };

afterEach(() => { vi.restoreAllMocks(); });

function setup() {
  const W = T.eye(3, undefined, f64).mul(2).detach().requireGrad();
  const x = T.tensor([[1, -2, 0.5], [0.1, 0.2, 0.3]], undefined, f64).requireGrad();
  const f = (z: Tensor): Tensor => T.matmul(z, W).add(x);
  const zStar = x.neg().detach(); // the exact fixed point
  return { W, x, f, zStar };
}

describe('IFT backward solves that do not converge', () => {
  for (const hookIft of [false, true]) {
    it(`${hookIft ? 'hookIftGrad' : 'iftGrad'}: warns once per backward by default, naming the status and the residual; bStats has the outcome`, async () => {
      const { W, x, f, zStar } = setup();
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const produce = T.backwardFactory({ gradType: 'ift', hookIft, bSolverKwargs: { maxIter: 30, tol: 1e-8 } });
      const bStats: T.BackwardSolveInfo[] = [];
      const [y] = await produce(undefined, f, zStar, { bStats });
      await y.sum().backward();
      expect(warn).toHaveBeenCalledTimes(1);
      const msg = String(warn.mock.calls[0][0]);
      expect(msg).toMatch(new RegExp(`^${hookIft ? 'hookIftGrad' : 'iftGrad'}: the backward \\(adjoint\\) solve did not converge: status diverged for 2 of 2 samples; lowest abs residual \\d\\.\\d\\de[+-]\\d+ \\(tol 1\\.00e-8\\)`));
      expect(msg).toMatch(/bFailure: 'error'/);
      expect(bStats.length).toBe(1);
      expect(bStats[0]).toMatchObject({ converged: false, status: ['diverged', 'diverged'] });
      expect(bStats[0].absLowest.every((r) => r > 1e-8)).toBe(true);
      expect(W.grad).not.toBeNull();
      expect(x.grad).not.toBeNull();
      // A second backward warns again (once per backward).
      const [y2] = await produce(undefined, f, zStar);
      await y2.sum().backward();
      expect(warn).toHaveBeenCalledTimes(2);
    });
  }

  it("bFailure: 'error' rejects the backward with the message, frees what it made, and leaves no gradient", async () => {
    const { W, x, f, zStar } = setup();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const produce = T.backwardFactory({ bFailure: 'error', bSolverKwargs: { maxIter: 20, tol: 1e-8 } });
    const [y] = await produce(undefined, f, zStar);
    const loss = y.sum();
    const before = T.memory().numTensors;
    await expect(loss.backward()).rejects.toThrow(/^iftGrad: the backward \(adjoint\) solve did not converge: status diverged/);
    expect(T.memory().numTensors).toBeLessThanOrEqual(before);
    expect(W.grad).toBeNull();
    expect(x.grad).toBeNull();
    expect(warn).not.toHaveBeenCalled();
    expect(T.isGradEnabled()).toBe(true);
  });

  it("bFailure: 'ignore' is silent; a per-call bFailure overrides the factory's; a converging solve says nothing", async () => {
    const { f, zStar } = setup();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const produce = T.backwardFactory({ bFailure: 'ignore', bSolverKwargs: { maxIter: 20 } });
    const bStats: T.BackwardSolveInfo[] = [];
    await (await produce(undefined, f, zStar, { bStats }))[0].sum().backward();
    expect(warn).not.toHaveBeenCalled();
    expect(bStats[0].converged).toBe(false);
    await expect((await produce(undefined, f, zStar, { bFailure: 'error' }))[0].sum().backward()).rejects.toThrow(/did not converge/);
    // Contractive: W = 0.5 I converges, no warning.
    const W2 = T.eye(3, undefined, f64).mul(0.5).detach().requireGrad();
    const g = (z: Tensor): Tensor => T.matmul(z, W2).add(1);
    const warnProduce = T.backwardFactory({ bSolverKwargs: { maxIter: 100, tol: 1e-10 } });
    const stats2: T.BackwardSolveInfo[] = [];
    await (await warnProduce(undefined, g, T.full([2, 3], 2, f64), { bStats: stats2 }))[0].sum().backward();
    expect(warn).not.toHaveBeenCalled();
    expect(stats2[0]).toMatchObject({ converged: true, status: ['converged', 'converged'] });
  });

  it('a maxIter status (too few iterations) is reported too', async () => {
    const W = T.eye(3, undefined, f64).mul(0.9).detach().requireGrad();
    const f = (z: Tensor): Tensor => T.matmul(z, W).add(1);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const [y] = await T.backwardFactory({ bSolverKwargs: { maxIter: 3, tol: 1e-12 } })(undefined, f, T.full([1, 3], 10, f64));
    await y.sum().backward();
    expect(String(warn.mock.calls[0][0])).toMatch(/status maxIter for 1 of 1 sample; lowest abs residual/);
  });

  it('DEQ layer: info.bStats is filled by the backward; bFailure on getDeq and per forward call', async () => {
    const { f, x } = setup();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 10, ift: true, bMaxIter: 20 });
    const out = await deq.forward(f, T.zeros([2, 3], f64));
    expect(out.info.bStats).toEqual([]);
    await out.zOut[0].sum().backward();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(out.info.bStats.length).toBe(1);
    expect(out.info.bStats[0].status).toEqual(['diverged', 'diverged']);
    const strict = T.getDeq({ fSolver: 'anderson', fMaxIter: 10, ift: true, bMaxIter: 20, bFailure: 'error' });
    const o2 = await strict.forward(f, T.zeros([2, 3], f64));
    await expect(o2.zOut[0].sum().backward()).rejects.toThrow(/did not converge/);
    const o3 = await strict.forward(f, T.zeros([2, 3], f64), { bFailure: 'ignore' });
    await o3.zOut[0].sum().backward();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(o3.info.bStats[0].converged).toBe(false);
    void x;
  });

  it('bad bFailure values and functor options are clear errors', async () => {
    const { f, zStar } = setup();
    expect(() => T.backwardFactory({ bFailure: 'loud' as never })).toThrow("backwardFactory: option 'bFailure' expected one of 'warn', 'error', 'ignore', received \"loud\"");
    expect(() => T.getDeq({ bFailure: 1 as never })).toThrow(/^getDeq: option 'bFailure' expected 'warn', 'error' or 'ignore', received 1/);
    const deq = T.getDeq({ ift: true });
    await expect(deq.forward(f, T.zeros([2, 3], f64), { bFailure: 'no' as never })).rejects.toThrow("deq.forward: option 'bFailure' expected one of 'warn', 'error', 'ignore', received \"no\"");
    const produce = T.backwardFactory();
    await expect(produce(undefined, f, zStar, { bStats: {} as never })).rejects.toThrow("gradient functor: option 'bStats' expected an array to append to, received object");
    await expect(produce(undefined, f, zStar, { bstats: [] } as never)).rejects.toThrow(/gradient functor: unknown option 'bstats'/);
  });

  it('tol 0 (a fixed number of backward iterations, as in TorchDEQ benchmarks) is not a failure; divergence still is', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const W2 = T.eye(3, undefined, f64).mul(0.5).detach().requireGrad();
    const g = (z: Tensor): Tensor => T.matmul(z, W2).add(1);
    const produce = T.backwardFactory({ bSolverKwargs: { maxIter: 12, tol: 0 } });
    const bStats: T.BackwardSolveInfo[] = [];
    await (await produce(undefined, g, T.full([2, 3], 2, f64), { bStats }))[0].sum().backward();
    expect(warn).not.toHaveBeenCalled();
    expect(bStats[0]).toMatchObject({ converged: true, status: ['maxIter', 'maxIter'], nstep: [12, 12] });
    expect(W2.grad).not.toBeNull();
    // The diverging adjoint of W = 2I still warns with tol 0 (and 'error' still rejects).
    const { f, zStar } = setup();
    const diverging = T.backwardFactory({ bSolverKwargs: { maxIter: 20, tol: 0 } }); // 2^20 > divergence 1e4
    const stats2: T.BackwardSolveInfo[] = [];
    await (await diverging(undefined, f, zStar, { bStats: stats2 }))[0].sum().backward();
    expect(stats2[0].status).toEqual(['diverged', 'diverged']);
    expect(stats2[0].converged).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/status diverged for 2 of 2 samples; lowest abs residual .* \(tol 0\.00e\+0\)/);
  });
});
