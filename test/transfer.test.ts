/**
 * `Tensor.to` / `toAsync` and `Module.to` / `toAsync`: values, identity when nothing changes,
 * gradients moved back (finite differences), a backend read only asynchronously (a stand-in
 * for webgpu: the js kernels behind `asyncOnly: true`), in-place module moves that optimizers
 * survive, and errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { nn, optim, tensor, type Backend, type Storage, type TypedArray } from '../src/index.js';
import { JsBackend } from '../src/backend/js.js';
import { gradcheck } from './helpers/gradcheck.js';
import { rejectsWith, throwsWith } from './helpers/throws.js';

/** The js kernels, but reads only asynchronously (as a GPU backend). */
class AsyncOnlyBackend extends JsBackend {
  override readonly name = 'asynconly';
  readonly asyncOnly = true;
  override readSync(_s: Storage): TypedArray {
    throw new Error("asynconly: readSync is not available; use readAsync");
  }
  override async readAsync(s: Storage): Promise<TypedArray> {
    await new Promise((r) => setTimeout(r, 1));
    return super.readSync(s);
  }
}
const slow: Backend = new AsyncOnlyBackend();

beforeAll(async () => {
  await T.init();
  T.setBackend('js');
  T.registerBackend('asynconly', slow);
});

const sizes = [1, 3, 17, 33, 100];
const vals = (n: number, s = 0): number[] => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + s) * 3);

describe('Tensor.to', () => {
  it('returns the tensor itself when neither backend nor dtype changes (torch semantics)', () => {
    const x = tensor([1, 2, 3]);
    expect(x.to('js')).toBe(x);
    expect(x.to('float32')).toBe(x);
    expect(x.to(x.backend)).toBe(x);
    expect(x.to({ backend: 'js', dtype: 'float32' })).toBe(x);
    expect(x.to({})).toBe(x);
  });

  it('changes dtype on the same backend', () => {
    const x = tensor([1.1, 2.2, 3.3], [3], { dtype: 'float64' });
    const y = x.to('float32');
    expect(y).not.toBe(x);
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.dataSync())).toEqual(Array.from(Float32Array.from([1.1, 2.2, 3.3])));
  });

  for (const dtype of ['float32', 'float64'] as const) {
    it(`moves js <-> wasm exactly (${dtype}, sizes ${sizes.join(', ')})`, () => {
      for (const n of sizes) {
        const x = tensor(vals(n), [n], { dtype });
        const w = x.to('wasm');
        expect(w.backend.name).toBe('wasm');
        expect(w.dtype).toBe(dtype);
        expect(Array.from(w.dataSync())).toEqual(Array.from(x.dataSync()));
        const back = w.to('js', dtype === 'float32' ? 'float64' : 'float32');
        expect(back.backend.name).toBe('js');
        const want = dtype === 'float32' ? Float64Array.from(x.dataSync()) : Float32Array.from(x.dataSync());
        expect(Array.from(back.dataSync())).toEqual(Array.from(want));
      }
    });
  }

  it('keeps the shape and accepts a backend object', () => {
    const x = tensor(vals(6), [2, 3]);
    const y = x.to(T.getBackend() === x.backend ? x.backend : x.backend);
    expect(y.shape).toEqual([2, 3]);
    const wasm = tensor([0]).to('wasm').backend;
    const z = x.to(wasm, 'float64');
    expect(z.shape).toEqual([2, 3]);
    expect(z.backend).toBe(wasm);
    expect(z.dtype).toBe('float64');
  });

  it('is differentiable: the gradient comes back on the source backend and dtype', async () => {
    const x = tensor([1, 2, 3], [3], { dtype: 'float64', requiresGrad: true });
    const y = x.to('wasm', 'float32').mul(tensor([2, 3, 4], [3], { backend: tensor([0]).to('wasm').backend })).sum();
    await y.backward();
    expect(x.grad!.backend.name).toBe('js');
    expect(x.grad!.dtype).toBe('float64');
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 3, 4]);
  });

  it('passes float64 finite-difference gradient checks across backends (and twice differentiable)', async () => {
    for (const n of [1, 3, 17]) {
      const x = tensor(vals(n, n), [n], { dtype: 'float64', requiresGrad: true });
      await gradcheck((a) => a.to('wasm').tanh().mul(a.to('wasm')).to('js'), [x], { tol: { rtol: 1e-6, atol: 1e-8 }, label: `to n=${n}` });
    }
    const x = tensor([0.3, -0.7], [2], { dtype: 'float64', requiresGrad: true });
    const [g] = await T.grad(x.to('wasm').pow(3).sum(), [x], { createGraph: true });
    expect(g!.backend.name).toBe('js');
    const [gg] = await T.grad(g!.sum(), [x]);
    expect(Array.from(gg!.dataSync())).toEqual([6 * 0.3, 6 * -0.7].map((v) => v));
  });

  it('moves onto an async-only backend synchronously and off it with toAsync (gradients too)', async () => {
    const x = tensor([1, 2, 3], [3], { dtype: 'float64', requiresGrad: true });
    const g = x.to('asynconly');
    expect(g.backend).toBe(slow);
    throwsWith(() => g.to('js'), /^to: /, /asynconly/, /toAsync/);
    expect(() => g.dataSync()).toThrow(/dataSync: .*asynconly.*await t\.data\(\)/);
    const h = await g.square().toAsync('js');
    expect(Array.from(h.dataSync())).toEqual([1, 4, 9]);
    await h.sum().backward(); // the backward of x -> asynconly reads the gradient asynchronously
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 4, 6]);
    expect(await g.toAsync('asynconly')).toBe(g);
  });

  it('rejects bad targets with the function and argument named', () => {
    const x = tensor([1]);
    throwsWith(() => x.to('gpu0'), /^to: /, /unknown backend or dtype 'gpu0'/, /'js'/);
    throwsWith(() => x.to('float16' as never), /^to: /, /float16/);
    throwsWith(() => x.to('js', 'int8' as never), /^to: /, /dtype/, /int8/);
    throwsWith(() => x.to({ device: 'js' } as never), /^to: /, /unknown option 'device'/);
    throwsWith(() => x.to(3 as never), /^to: /, /expected a backend/, /number/);
    throwsWith(() => x.to('float32', 'float64'), /^to: /, /two dtypes/);
    const d = tensor([1]);
    d.dispose();
    throwsWith(() => d.to('float64'), /^to/, /disposed/);
  });

  it('leaves no storage behind', () => {
    const before = T.memory().numBytes;
    T.tidy(() => { tensor(vals(100)).to('wasm').to('float64').to('js'); });
    expect(T.memory().numBytes).toBe(before);
  });
});

class Net extends nn.Module {
  readonly fc = this.registerModule('fc', new nn.Linear(3, 2, { seed: 1 }));
  constructor() {
    super();
    this.registerBuffer('scale', tensor([2, 3]));
  }
  forward(x: T.Tensor): T.Tensor { return this.fc.forward(x).mul(this.tensor('scale')); }
}

describe('Module.to', () => {
  it('moves parameters, buffers and gradients in place: same objects, optimizer keeps working', async () => {
    const net = new Net();
    const params = net.parameters();
    const opt = new optim.Adam(params, { lr: 0.1 });
    const x = tensor([[1, 2, 3]]);
    await net.forward(x).sum().backward();
    opt.step();
    const ref = new Net();
    ref.loadStateDict(net.stateDict());
    net.to('wasm', 'float64');
    expect(net.parameters()).toEqual(params);
    for (const p of params) {
      expect(p).toBe(net.parameters()[params.indexOf(p)]);
      expect(p.backend.name).toBe('wasm');
      expect(p.dtype).toBe('float64');
      expect(p.grad!.backend.name).toBe('wasm');
      expect(p.grad!.dtype).toBe('float64');
    }
    expect(net.buffers()[0].backend.name).toBe('wasm');
    const out = net.forward(x.to('wasm', 'float64'));
    const want = ref.to('float64').forward(x.to('float64')).dataSync();
    Array.from(out.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
    // The optimizer built before the move still steps the same tensors (its state followed them).
    opt.zeroGrad();
    await net.forward(x.to('wasm', 'float64')).sum().backward();
    const w0 = Array.from(params[0].dataSync());
    opt.step();
    expect(Array.from(params[0].dataSync())).not.toEqual(w0);
    expect(opt.state(params[0])!.tensors.get('expAvg')!.backend.name).toBe('wasm');
    net.to('js');
    expect(params[0].backend.name).toBe('js');
    expect(params[0].dtype).toBe('float64');
  });

  it('recomputes weight-normalised weights on the new backend', () => {
    const fc = new nn.Linear(4, 3, { seed: 2 });
    T.applyNorm(fc, { normType: 'weight_norm' });
    const x = tensor(vals(8), [2, 4]);
    const want = Array.from(fc.forward(x).dataSync());
    fc.to('wasm');
    expect(fc.tensor('weight').backend.name).toBe('wasm');
    const got = Array.from(fc.forward(x.to('wasm')).dataSync());
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  });

  it('moves off an async-only backend with toAsync, and nothing changes when a move fails', async () => {
    const net = new Net();
    const w = Array.from(net.fc.tensor('weight').dataSync());
    net.to('asynconly');
    throwsWith(() => net.to('js'), /Net\.to/, /toAsync/);
    expect(net.fc.tensor('weight').backend).toBe(slow);
    expect(await net.toAsync('js')).toBe(net);
    expect(Array.from(net.fc.tensor('weight').dataSync())).toEqual(w);
    throwsWith(() => net.to('nope'), /Net\.to/, /unknown backend or dtype 'nope'/);
    await rejectsWith(net.toAsync('nope'), /Net\.toAsync/);
  });
});
