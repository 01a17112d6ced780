/**
 * Broyden details the oracle cases do not reach: a line search that backtracks, and a memory
 * smaller than the number of steps (the ring buffer of rank-one terms wraps). Expected values
 * come from a line-by-line numpy transcription of TorchDEQ's `broyden_solver` (commit 4f6bd5f;
 * numpy float64, einsum products) on f(z) = -1.5 tanh(z W^T + c), which is steep enough that
 * full Broyden steps overshoot.
 */
import { padLike } from './helpers/trace.js';
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { BACKENDS } from './helpers/backends.js';

const f64 = { dtype: 'float64' as const };
const W = [[1.5, -2.0], [2.5, 0.5]];
const C = [[0.3, -0.2], [1.0, 0.4]];

interface Replica {
  lineSearch: boolean; maxIter: number; memory: number | undefined;
  z: number[][]; nstep: number[]; calls: number; absTrace: number[][];
}

const REPLICA: Replica[] = [
  {lineSearch: true, maxIter: 25, memory: undefined, z: [[0.006539676199146443, 0.15708466302749047], [-0.2612447314896385, 0.21608801809778647]], nstep: [10.0, 10.0], calls: 17, absTrace: [[100000000.0, 0.5269591655706954, 0.5263688506142268, 0.0340898564734617, 0.005623022726977561, 0.0002102679791049977, 4.275214967096445e-06, 1.4787751223620294e-09, 4.251443234896879e-13, 8.371725890308806e-17, 7.632783294297951e-17], [100000000.0, 1.2741805196774605, 1.273417924162218, 0.73837592060167, 0.1710979600101926, 0.0012948061578027098, 0.0002419754042238684, 1.468820765631167e-05, 2.362867600559634e-08, 4.527453015906834e-12, 1.0007415106216802e-16]]},
  {lineSearch: false, maxIter: 25, memory: undefined, z: [[0.006539676199146436, 0.1570846630274905], [-0.26124473148963845, 0.21608801809778636]], nstep: [12.0, 13.0], calls: 14, absTrace: [[100000000.0, 1.8021565878231183, 1.695786851272909, 0.48743720014751307, 0.031049885337341335, 0.005296707987931881, 0.0004441088295518075, 1.6287228114180724e-05, 2.8126567379295004e-09, 1.7213909523012852e-11, 1.0813059667190246e-13, 2.9079264368403834e-17, 1.3877787807814457e-17, 3.065359953208275e-17], [100000000.0, 2.1269465815344226, 2.3254921757500973, 2.022722533520305, 0.5495930503206287, 0.5559519158333556, 0.17039677354834265, 0.09256476277031142, 0.0007650361596160767, 9.570797232800768e-05, 4.838238415826723e-06, 2.0865058063664876e-08, 2.006876240324641e-12, 3.1031676915590914e-16]]},
  {lineSearch: false, maxIter: 12, memory: 4, z: [[0.007153247762682339, 0.1559879950368259], [-0.2778707242161911, 0.04143492913946134]], nstep: [5.0, 4.0], calls: 13, absTrace: [[100000000.0, 1.8021565878231183, 1.695786851272909, 0.48743720014751307, 0.031049885337341335, 0.005296707987931881, 0.025096557981783167, 0.05475967520494554, 0.16887024364624284, 0.12368289196574474, 0.025628810173569744, 0.10738323556531246, 0.015381742439080354], [100000000.0, 2.1269465815344226, 2.3254921757500973, 2.022722533520305, 0.5495930503206287, 0.5559519158333556, 0.6962512619231538, 2.3934410862222206, 2.113574583455743, 1.5980471416723045, 1.4569439480976627, 1.153135854728676, 2.8487832399078146]]},
  {lineSearch: true, maxIter: 12, memory: 3, z: [[0.007432767528553317, 0.15836520941395452], [-0.24321637921894657, 0.17581387739786802]], nstep: [4.0, 4.0], calls: 34, absTrace: [[100000000.0, 0.5269591655706954, 0.5263688506142268, 0.0340898564734617, 0.005623022726977561, 0.029340752561578278, 0.014851739661852737, 0.017505008629661416, 0.02201646127370023, 0.06081288858258317, 0.44968689210574797, 0.1429107344312366, 0.5037291678440495], [100000000.0, 1.2741805196774605, 1.273417924162218, 0.73837592060167, 0.1710979600101926, 0.5649038614393679, 0.5652264446115475, 14.523193891203766, 0.9301350766019215, 0.7995381749381307, 14.308815722736403, 236.00841637065633, 20.819887467692787]]},
];

for (const backend of BACKENDS) describe(`on ${backend}`, () => {
  beforeEach(() => T.setBackend(backend));
  afterEach(() => T.setBackend('js'));

  describe('broyden against a numpy transcription of TorchDEQ', () => {
    for (const r of REPLICA) {
      it(`lineSearch ${r.lineSearch}, maxIter ${r.maxIter}, memory ${r.memory ?? 'default'}`, async () => {
        const w = T.tensor(W, undefined, f64), c = T.tensor(C, undefined, f64);
        let calls = 0;
        const f = (z: Tensor): Tensor => { calls++; return T.mul(T.tanh(T.add(T.linear(z, w), c)), -1.5); };
        const opts: T.SolverOptions = { maxIter: r.maxIter, tol: 1e-12, lineSearch: r.lineSearch, divergence: Infinity };
        if (r.memory !== undefined) opts.memory = r.memory;
        const res = await T.getSolver('broyden')(f, T.zeros([2, 2], f64), opts);
        expect(calls).toBe(r.calls);
        // Like the oracle's roundoff_limited: where the lowest residual is round-off (< 1e-13),
        // which round-off step wins depends on summation order, so nstep is not compared.
        const nstep = Array.from(res.stats.nstep.dataSync());
        r.nstep.forEach((n, b) => {
          if (Math.min(...r.absTrace[b]) >= 1e-13) expect(nstep[b]).toBe(n);
        });
        const z = res.z.toArray() as number[][];
        for (let b = 0; b < 2; b++) for (let j = 0; j < 2; j++) expect(Math.abs(z[b][j] - r.z[b][j])).toBeLessThan(1e-10);
        const width = r.maxIter + 1, pad = padLike(res.stats.absTrace, res.stats.absLowest, width);
        const tr = [pad.slice(0, width), pad.slice(width)];
        for (let b = 0; b < 2; b++) {
          r.absTrace[b].forEach((v, i) => expect(Math.abs(tr[b][i] - v)).toBeLessThanOrEqual(1e-10 * Math.max(1, v)));
        }
      });
    }

    it('backtracks on a linear overshoot: f(z) = -2z takes a = 1 then needs a shorter step', async () => {
      let calls = 0;
      const res = await T.getSolver('broyden')((z) => { calls++; return T.mul(z, -2); }, T.tensor([[1], [0.5]], undefined, f64), { maxIter: 20, tol: 1e-12, lineSearch: true });
      // numpy transcription: 5 f calls, residuals 1e8, 2.5222331583340165 (sample 0), then round-off
      expect(calls).toBe(5);
      expect(res.stats.absTrace.toArray()).toEqual([ // the steps run (TorchDEQ pads to maxIter + 1 = 21 columns)
        [1e8, 2.5222331583340165, expect.closeTo(6.661338147750939e-16, 15)],
        [1e8, 1.2611165791670083, expect.closeTo(3.3306690738754696e-16, 15)],
      ]);
      expect(res.status).toEqual(['converged', 'converged']);
    });
  });
});

describe('armijo', () => {
  it('accepts the full step when it decreases enough', async () => {
    expect(await T.armijo(async (a) => (1 - a) ** 2, 1, -2)).toBe(1);
  });

  it('backtracks by interpolation to a step that satisfies the Armijo condition', async () => {
    const tried: number[] = [];
    const phi = async (a: number): Promise<number> => { tried.push(a); return (1 - 3 * a) ** 2; };
    const a = await T.armijo(phi, 1, -1);
    expect(a).not.toBeNull();
    expect(tried[0]).toBe(1);
    expect(tried[1]).toBe(1 / 8); // minimiser of the quadratic through phi(0)=1, phi'(0)=-1, phi(1)=4
    expect((1 - 3 * a!) ** 2).toBeLessThanOrEqual(1 - 1e-4 * a!);
  });

  it('returns null when no step down to amin decreases phi', async () => {
    expect(await T.armijo(async (a) => 1 + a, 1, -1, 1e-4, 1, 1e-2)).toBeNull();
  });
});
