/**
 * The training toolkit on every backend: the same layers, optimizers (whose in-place
 * parameter updates use the backend's aliasing `axpby`), clipping and checkpoints give the
 * js backend's results on every other backend.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { DType } from '../src/index.js';
import { Linear, Conv2d, GroupNorm, LayerNorm, Sequential, Tanh, type AnyModule } from '../src/nn/index.js';
import { SGD, Adam, AdamW, clipGradNorm, type Optimizer } from '../src/optim/index.js';
import { saveSync, load } from '../src/io/safetensors.js';
import { BACKENDS, OTHER_BACKENDS, backendOf } from './helpers/backends.js';
import { assertClose, tolFor } from './helpers/tolerance.js';

const DTYPES: DType[] = ['float32', 'float64'];

interface Run { params: Float32Array[] | Float64Array[]; bytes: Uint8Array }

/** Trains a small model for 3 steps on `backend` and returns its parameters and checkpoint. */
async function train(backend: string, dtype: DType, kind: 'mlp' | 'conv', makeOpt: (m: AnyModule) => Optimizer<object>): Promise<Run> {
  T.setBackend(backend);
  try {
    const model: AnyModule = kind === 'mlp'
      ? new Sequential(new Linear(17, 33, { seed: 1, dtype }), new Tanh(), new Linear(33, 3, { seed: 2, dtype }))
      : new Sequential(new Conv2d(2, 4, 3, { padding: 1, seed: 3, dtype }), new GroupNorm(2, 4, { dtype }), new Tanh(), new LayerNorm(5, { dtype }));
    const x = kind === 'mlp' ? T.randn([5, 17], { seed: 4, dtype }) : T.randn([2, 2, 5, 5], { seed: 5, dtype });
    const opt = makeOpt(model);
    for (let i = 0; i < 3; i++) {
      await T.tidy(async () => {
        await T.sum(T.square(T.sub(model.forward(x), 0.3))).backward();
        clipGradNorm(model.parameters(), 2);
        opt.step();
        opt.zeroGrad();
      });
    }
    expect(model.parameters().every((p) => p.backend === backendOf(backend))).toBe(true);
    return { params: model.parameters().map((p) => p.dataSync()) as Float64Array[], bytes: saveSync(model) };
  } finally {
    T.setBackend('js');
  }
}

/**
 * [name, model, optimizer, Adam-family lr]. Adam divides each update by sqrt(v), so for a
 * gradient element near zero a float32 rounding difference between backends changes that
 * element's step by a fraction of lr (measured: up to 0.8% of lr over 3 steps, AdamW on the
 * conv model, wasm simd). For those, float32 parameters are compared with an absolute
 * tolerance of 1% of lr per step on top of the table's.
 */
const OPTIMIZERS: [string, 'mlp' | 'conv', (m: AnyModule) => Optimizer<object>, number][] = [
  ['SGD nesterov + weight decay', 'mlp', (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }) as Optimizer<object>, 0],
  ['Adam amsgrad', 'mlp', (m) => new Adam(m.parameters(), { lr: 0.01, amsgrad: true }) as Optimizer<object>, 0.01],
  ['AdamW', 'conv', (m) => new AdamW(m.parameters(), { lr: 0.01, weightDecay: 0.1 }) as Optimizer<object>, 0.01],
  ['SGD momentum', 'conv', (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.5, dampening: 0.1 }) as Optimizer<object>, 0],
];

describe('training toolkit on every backend', () => {
  it.each(BACKENDS)('training on %s is deterministic: two seeded runs give identical parameters', async (backend) => {
    const a = await train(backend, 'float32', 'conv', OPTIMIZERS[2][2]);
    const b = await train(backend, 'float32', 'conv', OPTIMIZERS[2][2]);
    a.params.forEach((p, i) => expect(Array.from(b.params[i])).toEqual(Array.from(p)));
    expect(Array.from(b.bytes)).toEqual(Array.from(a.bytes));
  });

  describe.each(OTHER_BACKENDS)('%s agrees with js', (backend) => {
    for (const dtype of DTYPES) {
      for (const [name, kind, makeOpt, adamLr] of OPTIMIZERS) {
        it(`${name} on a ${kind} (${dtype}): parameters after 3 clipped steps`, async () => {
          const ref = await train('js', dtype, kind, makeOpt);
          const got = await train(backend, dtype, kind, makeOpt);
          const base = tolFor(backend, dtype, 'grad');
          const tol = dtype === 'float32' && adamLr > 0 ? { rtol: base.rtol, atol: base.atol + 3 * 0.01 * adamLr } : base;
          got.params.forEach((p, i) => assertClose(p, ref.params[i], tol, `${name} parameter ${i}`));
        });
      }
    }

    it('a checkpoint saved on one backend loads on the other with identical values', async () => {
      const onOther = await train(backend, 'float32', 'mlp', OPTIMIZERS[1][2]);
      T.setBackend('js');
      const jsModel = new Sequential(new Linear(17, 33), new Tanh(), new Linear(33, 3));
      load(jsModel, onOther.bytes);
      jsModel.parameters().forEach((p, i) => expect(Array.from(p.dataSync())).toEqual(Array.from(onOther.params[i])));
      const otherModel = new Sequential(new Linear(17, 33, { backend: backendOf(backend) }), new Tanh(), new Linear(33, 3, { backend: backendOf(backend) }));
      load(otherModel, saveSync(jsModel));
      otherModel.parameters().forEach((p, i) => {
        expect(p.backend).toBe(backendOf(backend));
        expect(Array.from(p.dataSync())).toEqual(Array.from(onOther.params[i]));
      });
    });
  });
});
