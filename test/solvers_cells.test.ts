import { describe, it, expect } from 'vitest';
import { grad, mul, sum } from '../src/index.js';
import { listCases, loadCase, reference, asTensor, flat } from './helpers/oracle.js';
import { cellFor } from './helpers/cells.js';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('oracle cells (test helpers) reproduce the reference fixed points', () => {
  const ids = listCases();
  it('finds all 43 cases', () => {
    expect(ids.length).toBe(43);
  });
  for (const id of ids) {
    it(`${id}: f(z*) = z* in float64 and float32`, () => {
      const c = loadCase(id);
      const zs = reference(c).z_star;
      for (const [dtype, tol] of [['float64', 1e-12], ['float32', 2e-6]] as const) {
        const { f } = cellFor(c, { dtype });
        const fz = f(asTensor(zs, { dtype })).dataSync();
        expect(maxAbsDiff(fz, flat(zs))).toBeLessThan(tol);
      }
    });
  }

  for (const id of ['tanh8_fpi_abs', 'mlp2_fpi_abs', 'res_fpi_abs', 'gated_fpi_abs', 'ln_fpi_abs']) {
    it(`${id}: g^T df/d(theta, x) at z* equals the reference IFT gradients`, async () => {
      const c = loadCase(id);
      const ref = reference(c);
      const { f, params, x } = cellFor(c, { dtype: 'float64', requiresGrad: true });
      const y = sum(mul(f(asTensor(ref.z_star)), asTensor(ref.adjoint_g)));
      const names = [...c.cell.param_order, 'x'];
      const grads = await grad(y, names.map((n) => (n === 'x' ? x : params[n])));
      names.forEach((n, i) => {
        const want = flat(ref.ift_grads[n]);
        const scale = Math.max(...want.map(Math.abs));
        expect(maxAbsDiff(grads[i]!.dataSync(), want) / scale).toBeLessThan(1e-11);
      });
    });
  }
});
