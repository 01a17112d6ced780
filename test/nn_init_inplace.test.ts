/**
 * In-place initialisers with torch's names (`nn.init.uniform_(w, a, b)`, ...): they fill the
 * given tensor (same object, dtype, backend) with the draw of the matching initialiser, accept
 * torch's positional arguments or an options object, bump the version, and validate.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { nn, tensor } from '../src/index.js';
import { throwsWith } from './helpers/throws.js';

const { init } = nn;
beforeAll(async () => { await T.init(); T.setBackend('js'); });

const same = (a: T.Tensor, b: T.Tensor): void => expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));

describe('nn.init in place', () => {
  it('fill the given tensor with the out-of-place draw, torch names and positional arguments', () => {
    const w = T.zeros([4, 3], { dtype: 'float64' });
    const v0 = w.version;
    expect(init.uniform_(w, -0.5, 0.5, { seed: 1 })).toBe(w);
    same(w, init.uniform([4, 3], { low: -0.5, high: 0.5, seed: 1, dtype: 'float64' }));
    same(w, init.uniform([4, 3], { a: -0.5, b: 0.5, seed: 1, dtype: 'float64' }));
    expect(w.version).toBeGreaterThan(v0);
    init.uniform_(w, { a: -2, b: -1, seed: 2 });
    expect(Array.from(w.dataSync()).every((x) => x >= -2 && x < -1)).toBe(true);
    init.normal_(w, 1, 0.1, { seed: 3 });
    same(w, init.normal([4, 3], { mean: 1, std: 0.1, seed: 3, dtype: 'float64' }));
    init.constant_(w, 0.25);
    expect(Array.from(w.dataSync()).every((x) => x === 0.25)).toBe(true);
    init.zeros_(w); expect(w.sum().item()).toBe(0);
    init.ones_(w); expect(w.sum().item()).toBe(12);
    init.xavier_uniform_(w, init.calculate_gain('tanh'), { seed: 4 });
    same(w, init.xavierUniform([4, 3], { gain: 5 / 3, seed: 4, dtype: 'float64' }));
    init.xavierNormal_(w, { gain: 2, seed: 5 });
    same(w, init.xavierNormal([4, 3], { gain: 2, seed: 5, dtype: 'float64' }));
    init.kaiming_uniform_(w, Math.sqrt(5), undefined, undefined, { seed: 6 });
    same(w, init.kaimingUniform([4, 3], { a: Math.sqrt(5), seed: 6, dtype: 'float64' }));
    init.kaiming_normal_(w, 0, 'fan_out', 'relu', { seed: 7 });
    same(w, init.kaimingNormal([4, 3], { mode: 'fan_out', nonlinearity: 'relu', seed: 7, dtype: 'float64' }));
    init.orthogonal_(w, { gain: 1, seed: 8 });
    const wtw = w.transpose().matmul(w).toArray() as number[][];
    wtw.forEach((row, i) => row.forEach((x, j) => expect(x).toBeCloseTo(i === j ? 1 : 0, 12)));
  });

  it('keeps dtype and backend, works on parameters, and a normed weight follows', async () => {
    const fc = new nn.Linear(3, 2, { seed: 0 }).to('wasm');
    const w = fc.tensor('weight');
    init.constant_(w, 0.5);
    expect(w.backend.name).toBe('wasm');
    expect(w.dtype).toBe('float32');
    expect(Array.from(w.dataSync())).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    T.applyNorm(fc, { learnScale: false });
    const x = tensor([[1, 0, 0]]).to('wasm');
    init.constant_(fc.tensor('weight_v'), 2); // weight = v / ||v|| per row = 1/sqrt(3)
    expect(fc.forward(x).sub(fc.tensor('bias')).dataSync()[0]).toBeCloseTo(1 / Math.sqrt(3), 6);
  });

  it('validates with torch argument names', () => {
    const w = T.zeros([2, 2]);
    throwsWith(() => init.uniform_(w, 1, 0), /init\.uniform_/, /a <= b/);
    throwsWith(() => init.uniform_(w, 'x' as never), /init\.uniform_/, /'a'/, /finite number/, /"x"/);
    throwsWith(() => init.normal_(w, 0, -1), /init\.normal_/, /'std'/, />= 0/);
    throwsWith(() => init.normal_(w, { mu: 0 } as never), /init\.normal_/, /unknown option 'mu'/);
    throwsWith(() => init.kaiming_uniform_(w, 0, 'fan_avg' as never), /mode/, /fan_in/);
    throwsWith(() => init.constant_(w, 'a' as never), /init\.constant_/, /'val'/);
    throwsWith(() => init.xavier_uniform_(null as never), /init\.xavier_uniform_/, /'tensor'/, /null/);
    throwsWith(() => init.zeros_(T.zeros([2], { requiresGrad: true }).add(1)), /init\.zeros_/, /leaf/);
    throwsWith(() => init.uniform([2], { a: 0, low: 0 }), /init\.uniform/, /both/);
    const d = T.zeros([1]); d.dispose();
    throwsWith(() => init.ones_(d), /init\.ones_/, /disposed/);
  });
});
