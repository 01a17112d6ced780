/**
 * DEQ cores as `nn.Module`s (registerModule, train/eval reaching them), `fMaxIter: 0` in getDeq
 * and per call (the result is the start state; TorchDEQ's semantics), `bSolver` as a solver
 * function, and `backwardWriter`'s type.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { nn, tensor, getDeq, backwardFactory, type BackwardWriter, type DEQForwardOptions, type Tensor } from '../src/index.js';

const f64 = { dtype: 'float64' } as const;

class Model extends nn.Module<[Tensor], Promise<Tensor>> {
  readonly fc = this.registerModule('fc', new nn.Linear(3, 3, { seed: 0, ...f64 }));
  readonly deq = this.registerModule('deq', getDeq({ fSolver: 'anderson', fMaxIter: 6, evalFMaxIter: 60, fTol: 1e-12, ift: true }));
  async forward(x: Tensor): Promise<Tensor> {
    const { zOut } = await this.deq.forward((z: Tensor) => this.fc.forward(z).mul(0.5).add(x).tanh(), T.zerosLike(x));
    return zOut[zOut.length - 1];
  }
}

describe('DEQ cores are modules', () => {
  it('registerModule works and model.eval()/train() reach the core and change its behaviour', async () => {
    const m = new Model();
    expect(m.deq).toBeInstanceOf(nn.Module);
    expect(m.namedModules().map(([n]) => n)).toEqual(['', 'fc', 'deq']);
    expect(Object.keys(m.stateDict())).toEqual(['fc.weight', 'fc.bias']); // the core has no tensors
    const x = tensor([[0.1, -0.2, 0.3]], undefined, f64);
    const train = await m.forward(x);
    expect(m.deq.training).toBe(true);
    expect(train.requiresGrad).toBe(true);
    m.eval();
    expect(m.deq.training).toBe(false);
    const ev = await m.forward(x);
    expect(ev.requiresGrad).toBe(false); // no graph kept in eval
    // eval iterates evalFMaxIter (60) times with tol 1e-12: a much better fixed point than 6 steps.
    const resid = (z: Tensor): number => T.noGrad(() => m.fc.forward(z).mul(0.5).add(x).tanh().sub(z).abs().max().item());
    expect(resid(ev)).toBeLessThan(1e-6);
    expect(resid(train.detach())).toBeGreaterThan(resid(ev));
    m.train();
    expect(m.deq.training).toBe(true);
    expect((await m.forward(x)).requiresGrad).toBe(true);
  });

  it('fMaxIter: 0 skips the solve (getDeq and per call): eval returns the start state, training its gradient functor of it', async () => {
    const W = tensor([[0.2, -0.1], [0.05, 0.3]], undefined, f64).requireGrad();
    const f = (z: Tensor): Tensor => z.matmul(W).add(1).tanh();
    const z0 = tensor([[0.5, -0.5]], undefined, f64);
    for (const core of ['sliced', 'indexing']) {
      const deq = getDeq({ core, fMaxIter: 0 });
      const [zt] = (await deq.forward(f, z0)).zOut;
      // training: one phantom step (the default grad 1) from z0, as TorchDEQ
      expect(Array.from(zt.dataSync())).toEqual(Array.from(f(z0).dataSync()));
      expect(zt.requiresGrad).toBe(true);
      deq.eval();
      const [ze] = (await deq.forward(f, z0)).zOut;
      expect(Array.from(ze.dataSync())).toEqual([0.5, -0.5]);
      // per call on a core with iterations
      const deq2 = getDeq({ core, fMaxIter: 30 });
      const [zc] = (await deq2.forward(f, z0, { solverKwargs: { fMaxIter: 0 } })).zOut;
      expect(Array.from(zc.dataSync())).toEqual(Array.from(f(z0).dataSync()));
      deq2.eval();
      const [zc2] = (await deq2.forward(f, z0, { solverKwargs: { fMaxIter: 0 } })).zOut;
      expect(Array.from(zc2.dataSync())).toEqual([0.5, -0.5]);
    }
    expect(() => getDeq({ fMaxIter: -1 })).toThrow(/getDeq: option 'fMaxIter' expected a non-negative integer/);
    await expect(getDeq().forward(f, z0, { solverKwargs: { fMaxIter: 1.5 } })).rejects.toThrow(/fMaxIter expected a non-negative integer/);
  });

  it('getDeq and deq.forward hint at camelCase names', async () => {
    expect(() => getDeq({ f_max_iter: 3 } as never)).toThrow(/getDeq: unknown option 'f_max_iter'; .*did you mean 'fMaxIter'\?/);
    await expect(getDeq().forward((z: Tensor) => z, tensor([[1]]), { solver_kwargs: {} } as never)).rejects.toThrow(/did you mean 'solverKwargs'\?/);
  });

  it('backwardWriter has the BackwardWriter type and receives the stats; bSolver may be a solver function', async () => {
    const stats: number[][] = [];
    const writer: BackwardWriter = (s) => { stats.push(Array.from(s.nstep.dataSync())); };
    const opts: DEQForwardOptions = { backwardWriter: writer };
    const W = tensor([[0.2, -0.1], [0.05, 0.3]], undefined, f64).requireGrad();
    const f = (z: Tensor): Tensor => z.matmul(W).add(1).tanh();
    const deq = getDeq({ fSolver: 'anderson', fMaxIter: 40, fTol: 1e-12, ift: true, bTol: 1e-12, bMaxIter: 60 });
    const [z] = (await deq.forward(f, T.zeros([1, 2], f64), opts)).zOut;
    await z.sum().backward();
    expect(stats.length).toBe(1);
    const gWant = Array.from(W.grad!.dataSync());
    // the same IFT gradient with the backward solver given as a function
    let calls = 0;
    const mySolver: T.Solver = (func, x0, o) => { calls++; return T.getSolver('anderson')(func, x0, o); };
    W.grad = null;
    const produce = backwardFactory({ bSolver: mySolver, bSolverKwargs: { maxIter: 60, tol: 1e-12 } });
    const zStar = (await T.getSolver('anderson')((q: Tensor) => T.noGrad(() => f(q)), T.zeros([1, 2], f64), { maxIter: 40, tol: 1e-12 })).z;
    const [y] = await produce(undefined, f, zStar);
    await y.sum().backward();
    expect(calls).toBe(1);
    Array.from(W.grad!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(gWant[i], 9));
    expect(() => backwardFactory({ bSolver: 3 as never })).toThrow(/backwardFactory: option 'bSolver' expected a registered solver name or a solver function, received 3/);
  });
});
