/**
 * The solver registry and option validation: unknown names and keys, every bad option value,
 * defaults, the writer.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Solver, SolverOptions } from '../src/index.js';

const f64 = { dtype: 'float64' as const };
const BUILTIN = ['fixed_point_iter', 'simple_fixed_point_iter', 'anderson', 'broyden'];
const cosF = (z: T.Tensor): T.Tensor => T.cos(z);

describe('registry', () => {
  it('lists the built-in solvers', () => {
    for (const n of BUILTIN) expect(T.listSolvers()).toContain(n);
  });

  it('an unknown name throws with the list of names', () => {
    expect(() => T.getSolver('newton')).toThrow(/getSolver: unknown solver "newton"; registered solvers are 'fixed_point_iter', 'simple_fixed_point_iter', 'anderson', 'broyden'/);
  });

  it('registerSolver adds a solver usable by name, and checks its arguments', async () => {
    const damped: Solver = (func, x0, opts) => T.getSolver('fixed_point_iter')(func, x0, { tau: 0.5, ...opts });
    T.registerSolver('test_damped_fpi', damped);
    expect(T.listSolvers()).toContain('test_damped_fpi');
    const res = await T.getSolver('test_damped_fpi')(cosF, T.zeros([1, 1], f64), { maxIter: 200, tol: 1e-12 });
    expect(res.z.item()).toBeCloseTo(0.7390851332151607, 11);
    expect(() => T.registerSolver('', damped)).toThrow(/registerSolver: expected a non-empty string name/);
    expect(() => T.registerSolver('x', 3 as unknown as Solver)).toThrow(/registerSolver: expected a solver function .* received number/);
  });
});

const VALID_KEYS: Record<string, string> = {
  fixed_point_iter: "'maxIter', 'tol', 'stopMode', 'indexing', 'returnFinal', 'writer', 'divergence', 'checkEvery', 'capture', 'offload', 'tau'",
  simple_fixed_point_iter: "'maxIter', 'tol', 'stopMode', 'indexing', 'tau', 'writer', 'capture', 'offload'",
  anderson: "'maxIter', 'tol', 'stopMode', 'indexing', 'returnFinal', 'writer', 'divergence', 'checkEvery', 'capture', 'offload', 'tau', 'm', 'lam'",
  broyden: "'maxIter', 'tol', 'stopMode', 'indexing', 'returnFinal', 'writer', 'divergence', 'checkEvery', 'capture', 'offload', 'memory', 'lineSearch'",
};

const BAD: [keyof SolverOptions, unknown, RegExp][] = [
  ['capture', 'on', /option 'capture' expected 'auto' or 'off', received "on"/],
  ['capture', true, /option 'capture' expected 'auto' or 'off', received true/],
  ['maxIter', -1, /option 'maxIter' expected an integer >= 0, received -1/],
  ['maxIter', 2.5, /option 'maxIter' expected an integer >= 0, received 2.5/],
  ['maxIter', '10', /option 'maxIter' expected an integer >= 0, received "10"/],
  ['tol', -1e-3, /option 'tol' expected a finite number >= 0, received -0.001/],
  ['tol', NaN, /option 'tol' expected a finite number >= 0, received NaN/],
  ['stopMode', 'max', /option 'stopMode' expected 'abs' or 'rel', received "max"/],
  ['indexing', 3, /option 'indexing' expected an array of step numbers \(integers >= 1\), received 3/],
  ['indexing', [0, 2], /option 'indexing' expected an array of step numbers \(integers >= 1\), received \[0,2\]/],
  ['tau', 0, /option 'tau' expected a finite number > 0, received 0/],
  ['returnFinal', 1, /option 'returnFinal' expected a boolean, received 1/],
  ['writer', 'log', /option 'writer' expected a function \(stats\) => void, received "log"/],
  ['divergence', 1, /option 'divergence' expected a number > 1 \(Infinity disables the check\), received 1/],
  ['m', 1, /option 'm' expected an integer >= 2, received 1/],
  ['lam', -1, /option 'lam' expected a finite number >= 0, received -1/],
  ['memory', 0, /option 'memory' expected an integer >= 1, received 0/],
  ['lineSearch', 'yes', /option 'lineSearch' expected a boolean, received "yes"/],
  ['checkEvery', 0, /option 'checkEvery' expected an integer >= 1, received 0/],
  ['checkEvery', 2.5, /option 'checkEvery' expected an integer >= 1, received 2.5/],
];

describe('options', () => {
  for (const name of BUILTIN) {
    it(`${name}: an unknown key throws with the list of valid keys`, async () => {
      const solver = T.getSolver(name);
      await expect(solver(cosF, T.zeros([1, 1], f64), { ls: true } as SolverOptions))
        .rejects.toThrow(`${name}: unknown option 'ls'; valid options are ${VALID_KEYS[name]}`);
      await expect(solver(cosF, T.zeros([1, 1], f64), 5 as unknown as SolverOptions))
        .rejects.toThrow(`${name}: option 'options' expected an options object, received 5`);
    });

    it(`${name}: every bad option value throws naming the option`, async () => {
      const solver = T.getSolver(name);
      const valid = VALID_KEYS[name];
      let checked = 0;
      for (const [key, value, msg] of BAD) {
        if (!valid.includes(`'${key}'`)) continue;
        checked++;
        await expect(solver(cosF, T.zeros([1, 1], f64), { [key]: value }), `${key}=${String(value)}`).rejects.toThrow(msg);
        await expect(solver(cosF, T.zeros([1, 1], f64), { [key]: value })).rejects.toThrow(new RegExp(`^${name}: `));
      }
      expect(checked).toBeGreaterThanOrEqual(8);
    });

    it(`${name}: x0 must be a live tensor`, async () => {
      const solver = T.getSolver(name);
      await expect(solver(cosF, 3 as unknown as T.Tensor)).rejects.toThrow(`${name}: expected x0 to be a Tensor, received number`);
      const dead = T.zeros([1, 1]);
      dead.dispose();
      await expect(solver(cosF, dead)).rejects.toThrow(/expected a live tensor, received a disposed tensor/);
    });

    it(`${name}: the writer receives the stats once, at the end`, async () => {
      const got: T.SolverStats[] = [];
      const res = await T.getSolver(name)(cosF, T.zeros([2, 1], f64), { maxIter: 10, writer: (s) => got.push(s) });
      expect(got.length).toBe(1);
      expect(got[0]).toBe(res.stats);
      expect(Object.keys(got[0]).sort()).toEqual(['absLowest', 'absTrace', 'nstep', 'relLowest', 'relTrace', 'sradius']);
    });
  }

  it("TorchDEQ's defaults", () => {
    expect(T.SOLVER_DEFAULTS.maxIter).toBe(50);
    expect(T.SOLVER_DEFAULTS.tol).toBe(1e-3);
    expect(T.SOLVER_DEFAULTS.stopMode).toBe('abs');
    expect(T.SOLVER_DEFAULTS.tau).toBe(1);
    expect(T.SOLVER_DEFAULTS.m).toBe(6);
    expect(T.SOLVER_DEFAULTS.lam).toBe(1e-4);
    expect(T.SOLVER_DEFAULTS.lineSearch).toBe(false);
  });

  it('fixed_point_iter uses the defaults: 50 steps, tol 1e-3, abs', async () => {
    let calls = 0;
    // z -> 0.99 z + 0.01 converges too slowly to reach 1e-3 in 50 steps from 0
    const res = await T.getSolver('fixed_point_iter')((z) => { calls++; return T.add(T.mul(z, 0.99), 0.01); }, T.zeros([1, 1], f64));
    expect(calls).toBe(50);
    expect(res.stats.absTrace.shape).toEqual([1, 51]);
    expect(res.status).toEqual(['maxIter']);
  });
});
