/**
 * DEQ core behaviour beyond the oracle runs: train/eval, multi-tensor states, per-call
 * overrides, the spectral-radius estimate, and bad input.
 */
import { describe, it, expect } from 'vitest';
import { getDeq, registerDeq, listDeqs, DEQSliced, tensor, randn, zeros, tanh, linear, add, sum, mul, reshape, concat, sliceAxis, type Tensor } from '../src/index.js';

const f64 = { dtype: 'float64' as const };

function tanhCell(d: number, seed: number) {
  const W = randn([d, d], { ...f64, seed, std: 0.3 / Math.sqrt(d) }).requireGrad();
  const inj = randn([4, d], { ...f64, seed: seed + 1 });
  return { W, inj, f: (z: Tensor) => tanh(add(linear(z, W), inj)) };
}

describe('DEQ core', () => {
  it('train returns one output per sampled state, eval returns [z*]', async () => {
    const { f } = tanhCell(6, 1);
    const deq = getDeq({ fSolver: 'anderson', fMaxIter: 20, fTol: 1e-12, nStates: 2, grad: 2, tau: 0.5 });
    const tr = await deq.forward(f, zeros([4, 6], f64));
    expect(tr.zOut.length).toBe(2);
    deq.eval();
    const ev = await deq.forward(f, zeros([4, 6], f64));
    expect(ev.zOut.length).toBe(1);
    expect(ev.zOut[0].requiresGrad).toBe(false);
    // The eval solution is a fixed point.
    const r = Array.from(f(ev.zOut[0]).sub(ev.zOut[0]).abs().max().dataSync())[0];
    expect(r).toBeLessThan(1e-5); // anderson's absolute ridge slows it near the solution (oracle README)
    deq.train();
    expect(deq.training).toBe(true);
  });

  it('solves multi-tensor states exactly like the packed single state', async () => {
    const { W, inj } = tanhCell(7, 3);
    // State split as (B, 3) and (B, 2, 2); the cell acts on the concatenation.
    const fPacked = (z: Tensor) => tanh(add(linear(z, W), inj));
    const fList = ([a, b]: Tensor[]): Tensor[] => {
      const z = concat([a, reshape(b, [4, 4])], 1);
      const y = fPacked(z);
      return [sliceAxis(y, 1, 0, 3), reshape(sliceAxis(y, 1, 3, 7), [4, 2, 2])];
    };
    const deq = getDeq({ fSolver: 'anderson', fMaxIter: 30, fTol: 1e-12, ift: true, bTol: 1e-12, bMaxIter: 80 }).eval();
    const single = await deq.forward(fPacked, zeros([4, 7], f64));
    const multi = await deq.forward(fList, [zeros([4, 3], f64), zeros([4, 2, 2], f64)]);
    const got = [...multi.zOut[0][0].dataSync(), ...multi.zOut[0][1].dataSync()];
    const want = single.zOut[0].toArray() as number[][];
    const wantSplit = [...want.flatMap((r) => r.slice(0, 3)), ...want.flatMap((r) => r.slice(3))];
    got.forEach((v, i) => expect(v).toBeCloseTo(wantSplit[i], 12));
    // Gradients flow through the unpacked IFT output to W.
    deq.train();
    const tr = await deq.forward(fList, [zeros([4, 3], f64), zeros([4, 2, 2], f64)]);
    const L = add(sum(tr.zOut[0][0]), sum(mul(tr.zOut[0][1], 2)));
    await L.backward();
    expect(W.grad).not.toBeNull();
    const trSingle = await deq.forward(fPacked, zeros([4, 7], f64));
    const wts = tensor([1, 1, 1, 2, 2, 2, 2], [1, 7], f64);
    const gw = Array.from(W.grad!.dataSync());
    W.grad = null;
    await sum(mul(trSingle.zOut[0], wts)).backward();
    Array.from(W.grad!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(gw[i], 9));
  });

  it('solverKwargs.fMaxIter overrides the iteration count for one call', async () => {
    const { f } = tanhCell(5, 5);
    const deq = getDeq({ fMaxIter: 40, fTol: 0 }).eval();
    const r = await deq.forward(f, zeros([4, 5], f64), { solverKwargs: { fMaxIter: 3 } });
    expect(Array.from(r.info.nstep.dataSync())).toEqual([3, 3, 3, 3]);
    expect(r.info.absTrace.shape).toEqual([4, 4]);
  });

  it('sradiusMode estimates the spectral radius of a symmetric linear cell', async () => {
    // f(z) = z S + b with S symmetric, eigenvalues 0.6, 0.3, -0.2: rho = 0.6.
    const S = tensor([[0.25, 0.15, 0.05], [0.15, 0.25, 0.05], [0.05, 0.05, 0.2]], undefined, f64);
    const deq = getDeq({ fMaxIter: 80, fTol: 1e-12 }).eval();
    const b = tensor([[1, 2, 3], [0, 1, 0]], undefined, f64);
    const f = (z: Tensor) => add(linear(z, S), b);
    const r = await deq.forward(f, zeros([2, 3], f64), { sradiusMode: true });
    const eig = symEigMax([[0.25, 0.15, 0.05], [0.15, 0.25, 0.05], [0.05, 0.05, 0.2]]);
    Array.from(r.info.sradius.dataSync()).forEach((v) => expect(v).toBeCloseTo(eig, 6));
  });

  it('registers custom cores and rejects bad input', async () => {
    class Twice extends DEQSliced {}
    registerDeq('twice', Twice);
    expect(listDeqs()).toContain('twice');
    expect(getDeq({ core: 'twice' })).toBeInstanceOf(Twice);
    const deq = getDeq();
    await expect(deq.forward((z: Tensor) => z, zeros([2, 2]), { solverKwarg: {} } as never)).rejects.toThrow(/deq.forward: unknown option 'solverKwarg'/);
    await expect(deq.forward((z: Tensor) => z, zeros([2, 2]), { solverKwargs: { maxIter: 3 } as never })).rejects.toThrow(/fMaxIter/);
    await expect(deq.forward((z: Tensor) => z, [] as never)).rejects.toThrow(/zInit/);
    expect(() => getDeq({ grad: [1, 2, 3] })).toThrow(/'grad' expected 1 or 1 values/);
  });
});

function symEigMax(m: number[][]): number {
  // Power iteration on a small symmetric positive matrix (test-local, independent of tsdeq).
  let v = [1, 0.5, 0.25];
  let lam = 0;
  for (let i = 0; i < 500; i++) {
    const w = m.map((row) => row.reduce((a, x, j) => a + x * v[j], 0));
    const n = Math.hypot(...w);
    lam = w.reduce((a, x, j) => a + x * v[j], 0) / v.reduce((a, x) => a + x * x, 0);
    v = w.map((x) => x / n);
  }
  return Math.abs(lam);
}
