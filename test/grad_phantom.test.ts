/**
 * Phantom gradients through `backwardFactory({ gradType: k })`: every PhantomGrad run and
 * reference of the TorchDEQ oracle (outputs and gradients, float64), plain backprop through
 * the same unrolled steps, central differences, state selection, detaching, memory, errors.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { backwardFactory, phantomSteps } from '../src/grad/index.js';
import { listCases, loadCase, flat, type OracleCase } from './helpers/oracle.js';
import { gradSetup, oracleLoss, weightsFor, relErr, worstRel, mat, phantomOf, trainSolveIsEvalSolve } from './helpers/grad_runs.js';

const arr = (t: Tensor): number[] => Array.from(t.dataSync());

/** Runs one phantom functor from z0 and returns outputs (flat) and gradients. */
async function runPhantom(c: OracleCase, z0: number[][], p: { k: number; tau: number; supGap: number; supLoc: number[] }) {
  const s = gradSetup(c);
  const produce = backwardFactory({ gradType: p.k, tau: p.tau, supGap: p.supGap, supLoc: p.supLoc });
  const zPred = mat(z0);
  const outs = await produce(undefined, s.f, zPred);
  const L = oracleLoss(outs, s.c, weightsFor(outs.length));
  await L.backward();
  return { outs: outs.map(arr), loss: L.item(), grads: s.grads() };
}

describe('phantom gradients vs the TorchDEQ oracle (float64)', () => {
  const cases = listCases().map(loadCase);

  it('every reference.phantom entry (unrolled from the exact z*): outputs and gradients', async () => {
    let n = 0, worstOut = 0, worstGrad = 0;
    for (const c of cases) {
      for (const [key, ph] of Object.entries(c.reference.phantom)) {
        const r = await runPhantom(c, c.reference.z_star, { k: ph.grad, tau: ph.tau, supGap: ph.sup_gap, supLoc: ph.sup_loc ?? [] });
        expect(r.outs.length, `${c.case_id} ${key}`).toBe(ph.outputs.length);
        r.outs.forEach((o, i) => { worstOut = Math.max(worstOut, relErr(o, flat(ph.outputs[i]))); });
        const g = worstRel(r.grads, ph.grads);
        if (g.err > 1e-10) throw new Error(`${c.case_id} ${key}: grad '${g.key}' rel err ${g.err}`);
        worstGrad = Math.max(worstGrad, g.err);
        expect(Math.abs(r.loss - ph.loss)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(ph.loss)));
        n++;
      }
    }
    expect(n).toBe(153); // every reference.phantom entry of the 43 cases
    expect(worstOut).toBeLessThanOrEqual(1e-12);
    expect(worstGrad).toBeLessThanOrEqual(1e-10);
  });

  it('every pg_* / default_grad training run whose solve is the eval solve: outputs, loss weights, gradients', async () => {
    let n = 0;
    for (const c of cases) {
      for (const run of c.runs) {
        if (!(run.name.startsWith('pg_') || run.name === 'default_grad') || !trainSolveIsEvalSolve(c, run)) continue;
        const p = phantomOf(run);
        const r = await runPhantom(c, c.forward_eval.z, p);
        expect(weightsFor(r.outs.length), `${c.case_id} ${run.name}`).toEqual(run.loss_weights);
        r.outs.forEach((o, i) => {
          const e = relErr(o, flat(run.outputs![i]));
          if (e > 1e-12) throw new Error(`${c.case_id} ${run.name}: output ${i} rel err ${e}`);
        });
        const g = worstRel(r.grads, run.grads!);
        if (g.err > 1e-10) throw new Error(`${c.case_id} ${run.name}: grad '${g.key}' rel err ${g.err}`);
        n++;
      }
    }
    expect(n).toBe(152); // the other PhantomGrad runs need a different solve (tested with the IFT runs)
  });
});

describe('phantom gradients vs other oracles', () => {
  const c = loadCase('tanh8_fpi_abs');

  /** Plain backprop through k damped steps from z0 (detached), written out by hand. */
  async function unrolled(k: number, tau: number): Promise<Record<string, number[]>> {
    const s = gradSetup(c);
    let z = mat(c.reference.z_star);
    for (let i = 0; i < k; i++) z = tau === 1 ? s.f(z) : s.f(z).mul(tau).add(z.mul(1 - tau));
    await oracleLoss([z], s.c, [1]).backward();
    return s.grads();
  }

  it('tau = 1 equals plain backprop through the same k steps (bit for bit)', async () => {
    for (const k of [1, 3, 7]) {
      const want = await unrolled(k, 1);
      const got = (await runPhantom(c, c.reference.z_star, { k, tau: 1, supGap: -1, supLoc: [] })).grads;
      for (const key of Object.keys(want)) expect(got[key], `k=${k} ${key}`).toEqual(want[key]);
    }
  });

  it('tau = 0.3 equals plain backprop through the damped steps', async () => {
    const want = await unrolled(4, 0.3);
    const got = (await runPhantom(c, c.reference.z_star, { k: 4, tau: 0.3, supGap: -1, supLoc: [] })).grads;
    for (const key of Object.keys(want)) expect(relErr(got[key], want[key])).toBeLessThanOrEqual(1e-15);
  });

  it('matches central differences of the unrolled loss along random directions (W, b, x)', async () => {
    const k = 3, tau = 0.5;
    const r = await runPhantom(c, c.reference.z_star, { k, tau, supGap: -1, supLoc: [] });
    const lossAt = (name: string, dir: Float64Array, h: number): number => T.noGrad(() => {
      const s = gradSetup(c);
      const leaf = name === 'x' ? s.x : s.params[name];
      const moved = T.tensor(arr(leaf).map((v, i) => v + h * dir[i]), leaf.shape as number[], { dtype: 'float64' });
      const f = name === 'x'
        ? (z: Tensor) => T.tanh(T.linear(z, s.params.W).add(T.linear(moved, s.params.U, s.params.b)))
        : (z: Tensor) => T.tanh(T.linear(z, name === 'W' ? moved : s.params.W).add(T.linear(s.x, s.params.U, name === 'b' ? moved : s.params.b)));
      let z = mat(c.reference.z_star);
      for (let i = 0; i < k; i++) z = f(z).mul(tau).add(z.mul(1 - tau));
      return z.mul(s.c).sum().item();
    });
    for (const name of ['W', 'b', 'x']) {
      const n = r.grads[name].length;
      const dir = T.randn([n], { dtype: 'float64', seed: 7 }).dataSync() as Float64Array;
      const h = 1e-5;
      const fd = (lossAt(name, dir, h) - lossAt(name, dir, -h)) / (2 * h);
      const an = r.grads[name].reduce((acc, g, i) => acc + g * dir[i], 0);
      expect(Math.abs(fd - an), name).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(an)));
    }
  });
});

describe('phantom gradients: state selection and semantics', () => {
  it('phantomSteps follows the README table', () => {
    const sel = (k: number, supGap = -1, supLoc: number[] = []) => phantomSteps({ k, tau: 1, supGap, supLoc });
    expect(sel(5)).toEqual([5]);
    expect(sel(5, 2)).toEqual([2, 4]); // z_5 is not returned
    expect(sel(6, 2)).toEqual([2, 4, 6]);
    expect(sel(5, -1, [1, 3])).toEqual([1, 3, 5]);
    expect(sel(3, -1, [2, 3])).toEqual([2, 3, 3]); // final state duplicated
    expect(sel(3, -1, [3, 2])).toEqual([2, 3, 3]); // in step order
    expect(sel(4, 2, [1])).toEqual([2, 4]); // supGap wins over supLoc
  });

  it('a duplicated final state carries both loss terms', async () => {
    const c = loadCase('tanh8_fpi_abs');
    const s = gradSetup(c);
    const outs = await backwardFactory({ gradType: 3, tau: 0.5, supLoc: [2, 3] })(undefined, s.f, mat(c.reference.z_star));
    expect(outs.length).toBe(3);
    expect(arr(outs[2])).toEqual(arr(outs[1]));
    await oracleLoss(outs, s.c, [0.64, 0.8, 1]).backward();
    const g1 = s.grads().W;
    // same states, loss with the last two terms merged: 0.64 z2 + 1.8 z3
    const s2 = gradSetup(c);
    const outs2 = await backwardFactory({ gradType: 3, tau: 0.5, supLoc: [2] })(undefined, s2.f, mat(c.reference.z_star));
    await oracleLoss(outs2, s2.c, [0.64, 1.8]).backward();
    expect(relErr(g1, s2.grads().W)).toBeLessThanOrEqual(1e-15);
  });

  it('treats zPred as detached: no gradient flows through the graph that produced it', async () => {
    const c = loadCase('tanh8_fpi_abs');
    const s = gradSetup(c);
    const zWithGraph = s.f(mat(c.reference.z_star)); // depends on W, U, b, x
    expect(zWithGraph.requiresGrad).toBe(true);
    const outs = await backwardFactory({ gradType: 2 })(undefined, s.f, zWithGraph);
    await oracleLoss(outs, s.c, [1]).backward();
    const got = s.grads();
    const s2 = gradSetup(c);
    const zDet = T.noGrad(() => s2.f(mat(c.reference.z_star)));
    const outs2 = await backwardFactory({ gradType: 2 })(undefined, s2.f, zDet);
    await oracleLoss(outs2, s2.c, [1]).backward();
    for (const [k, v] of Object.entries(s2.grads())) expect(got[k], k).toEqual(v);
  });

  it('leaves no storage behind after a training step (without a tidy around it)', async () => {
    const c = loadCase('mlp2_fpi_abs');
    const s = gradSetup(c);
    const z0 = mat(c.reference.z_star);
    const produce = backwardFactory({ gradType: 5, tau: 0.5, supGap: 2 });
    const step = async (): Promise<void> => {
      const outs = await produce(undefined, s.f, z0);
      const L = T.tidy(() => oracleLoss(outs, s.c, weightsFor(outs.length)));
      await L.backward();
      s.zeroGrads();
      for (const t of outs) t.dispose();
      L.dispose();
    };
    await step(); // warm-up
    const before = T.memory();
    await step(); // no tidy needed: the functor frees its own intermediates
    const after = T.memory();
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.numTensors).toBe(before.numTensors);
  });

  it('does not touch the caller\'s zPred and accepts a func that returns its input', async () => {
    const z0 = T.tensor([[1, 2]], undefined, { dtype: 'float64' });
    const outs = await backwardFactory({ gradType: 2 })(undefined, (z) => z, z0);
    expect(arr(outs[0])).toEqual([1, 2]);
    expect(z0.isDisposed).toBe(false);
    expect(arr(z0)).toEqual([1, 2]);
  });
});

describe('backwardFactory: options and errors', () => {
  const f = (z: Tensor) => z.tanh();
  const z = T.zeros([2, 3], { dtype: 'float64' });

  it('rejects a gradType that is neither "ift" nor a positive integer, naming both', () => {
    for (const bad of ['phantom', 0, -2, 1.5, null, true]) {
      expect(() => backwardFactory({ gradType: bad as never }), String(bad))
        .toThrow(/backwardFactory: option 'gradType' expected 'ift' or a positive integer k/);
    }
  });

  it('validates tau, supGap and supLoc', () => {
    expect(() => backwardFactory({ gradType: 2, tau: Number.NaN })).toThrow(/option 'tau' expected a finite number >= 0, received NaN/);
    expect(() => backwardFactory({ gradType: 2, supGap: 1.5 })).toThrow(/option 'supGap' expected an integer/);
    expect(() => backwardFactory({ gradType: 2, supGap: 3 })).toThrow(/option 'supGap' expected a value <= gradType \(2\)/);
    expect(() => backwardFactory({ gradType: 2, supLoc: [0] })).toThrow(/option 'supLoc' expected an array of positive integers, received \[0\]/);
    expect(() => backwardFactory({ gradType: 2, supLoc: [3] })).toThrow(/option 'supLoc' expected steps between 1 and gradType \(2\), received \[3\]/);
    expect(() => backwardFactory('ift' as never)).toThrow(/backwardFactory: expected an options object, received string/);
  });

  it('rejects unknown keys, with a hint for TorchDEQ names (torchdeq.backward_factory ignores extras)', () => {
    expect(() => backwardFactory({ grad_type: 5, sup_gap: 2 } as never)).toThrow(
      /backwardFactory: unknown options 'grad_type', 'sup_gap'; valid options are 'gradType', .*; did you mean 'gradType' for 'grad_type', 'supGap' for 'sup_gap'\?/);
    expect(() => backwardFactory({ gradType: 1, fMaxIter: 30 } as never)).toThrow(/unknown option 'fMaxIter'/);
    expect(() => backwardFactory({ hook_ift: true } as never)).toThrow(/did you mean 'hookIft'\?/);
    expect(() => backwardFactory({ bsolver: 'anderson' } as never)).toThrow(/did you mean 'bSolver'\?/);
    expect(() => backwardFactory({ taux: 0.5 } as never)).toThrow(/did you mean 'tau'\?/);
    expect(() => backwardFactory({ zzzzzz: 1 } as never)).toThrow(/unknown option 'zzzzzz'; valid options are [^?]*$/);
  });

  it('checks the call: func, zPred, functor options, func output shape', async () => {
    const produce = backwardFactory({ gradType: 2 });
    await expect(produce(undefined, 3 as never, z)).rejects.toThrow(/gradient functor: expected func to be a function/);
    await expect(produce(undefined, f, [1, 2] as never)).rejects.toThrow(/gradient functor: expected zPred to be a Tensor, received object/);
    await expect(produce(undefined, f, z, { write: () => {} } as never)).rejects.toThrow(/gradient functor: unknown option 'write'; valid options are 'writer'/);
    await expect(produce(undefined, (t) => t.sum(1), z)).rejects.toThrow(/phantomGrad: expected func to return the state's shape \[2, 3\], received \[2\]/);
    const gone = T.zeros([2, 3]);
    gone.dispose();
    await expect(produce(undefined, f, gone)).rejects.toThrow(/phantomGrad \(zPred\): expected a live tensor, received a disposed tensor/);
  });
});
