import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Module, Linear, Sequential, ModuleList, Tanh, ReLU } from '../src/nn/index.js';

const f64 = { dtype: 'float64' as const };

class Block extends Module {
  readonly fc = this.registerModule('fc', new Linear(3, 3, { seed: 1 }));
  constructor() {
    super();
    this.registerBuffer('scale', T.tensor([2, 2, 2]));
    this.registerBuffer('cache', T.zeros([3]), { persistent: false });
  }
  forward(x: T.Tensor): T.Tensor {
    return this.fc.forward(x).mul(this.tensor('scale'));
  }
}

class Net extends Module {
  readonly layers = this.registerModule('layers', new Sequential(new Linear(2, 3, { seed: 0 }), new Tanh(), new Linear(3, 3, { seed: 2 })));
  readonly block = this.registerModule('block', new Block());
  constructor() {
    super();
    this.registerParameter('alpha', T.tensor([0.5]));
  }
  forward(x: T.Tensor): T.Tensor {
    return this.block.forward(this.layers.forward(x)).mul(this.tensor('alpha'));
  }
}

describe('Module: names, state dict, modes', () => {
  it('names parameters, buffers and modules like torch', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual(
      ['alpha', 'layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias', 'block.fc.weight', 'block.fc.bias']);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['block.scale', 'block.cache']);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'layers', 'layers.0', 'layers.1', 'layers.2', 'block', 'block.fc']);
    expect(Object.keys(net.stateDict())).toEqual(
      ['alpha', 'layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias', 'block.scale', 'block.fc.weight', 'block.fc.bias']);
    expect(net.numParameters()).toBe(1 + 6 + 3 + 9 + 3 + 9 + 3);
    for (const p of net.parameters()) expect(p.requiresGrad && p.isLeaf).toBe(true);
    for (const b of net.buffers()) expect(b.requiresGrad).toBe(false);
  });

  it('parameters survive tidy scopes; a shared parameter is listed once', () => {
    const lin = T.tidy(() => new Linear(2, 2, { seed: 3 }));
    expect(lin.weight.isDisposed).toBe(false);
    T.tidy(() => lin.forward(T.ones([1, 2])));
    expect(lin.weight.isDisposed).toBe(false);
    class Tied extends Module {
      readonly a = this.registerModule('a', lin);
      readonly b = this.registerModule('b', lin);
      forward(x: T.Tensor): T.Tensor { return this.b.forward(this.a.forward(x)); }
    }
    const tied = new Tied();
    expect(tied.namedParameters().map(([n]) => n)).toEqual(['a.weight', 'a.bias']);
    expect(Object.keys(tied.stateDict())).toEqual(['a.weight', 'a.bias', 'b.weight', 'b.bias']);
  });

  it('registerParameter stores its own copy; the caller keeps theirs untouched', () => {
    const mine = T.tensor([1, 2], undefined, f64);
    class M extends Module { forward(x: T.Tensor): T.Tensor { return x; } }
    const m = new M();
    const p = m.registerParameter('w', mine)!;
    expect(p).not.toBe(mine);
    expect(p.requiresGrad).toBe(true);
    expect(mine.requiresGrad).toBe(false);
    m.loadStateDict({ w: T.tensor([7, 8], undefined, f64) });
    expect(Array.from(p.dataSync())).toEqual([7, 8]);
    expect(Array.from(mine.dataSync())).toEqual([1, 2]);
    expect(m.registerParameter('frozen', mine, { requiresGrad: false })!.requiresGrad).toBe(false);
  });

  it('train()/eval() propagate to every descendant', () => {
    const net = new Net();
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.block.train();
    expect(net.training).toBe(false);
    expect(net.block.fc.training).toBe(true);
  });

  it('stateDict is a snapshot; loadStateDict copies into the same parameter objects', () => {
    const a = new Net(), b = new Net();
    // Start b from all-ones parameters so it clearly differs from a.
    T.tidy(() => {
      const ones = new Map<string, T.Tensor>(b.namedParameters().map(([n, p]) => [n, T.onesLike(p)]));
      ones.set('block.scale', T.tensor([2, 2, 2]));
      b.loadStateDict(ones);
    });
    const snap = a.stateDict();
    const wBefore = b.layers.at(0);
    const params = b.parameters();
    const res = b.loadStateDict(snap);
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    b.parameters().forEach((p, i) => expect(p).toBe(params[i]));
    expect(b.layers.at(0)).toBe(wBefore);
    const x = T.tensor([[0.3, -0.7], [1, 2]]);
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(a.forward(x).dataSync()));
    // The snapshot does not follow later changes of the model.
    const w0 = Array.from(snap['alpha'].dataSync());
    a.loadStateDict({ ...snap, alpha: T.tensor([9]) });
    expect(Array.from(snap['alpha'].dataSync())).toEqual(w0);
    expect(a.tensor('alpha').item()).toBe(9);
  });

  it('loadStateDict reports missing/unexpected keys, shape and dtype mismatches, loading nothing on error', () => {
    const net = new Net();
    const sd = net.stateDict();
    const alphaBefore = net.tensor('alpha').item();
    const { ['block.fc.bias']: _dropped, ...missing } = sd;
    expect(() => net.loadStateDict({ ...missing, alpha: T.tensor([3]) })).toThrow(/Net.loadStateDict: error\(s\) loading the state dict \(nothing was loaded\):\n {2}missing keys: 'block.fc.bias'/);
    expect(net.tensor('alpha').item()).toBe(alphaBefore);
    expect(() => net.loadStateDict({ ...sd, extra: T.zeros([1]) })).toThrow(/unexpected keys: 'extra'/);
    expect(() => net.loadStateDict({ ...sd, 'layers.0.weight': T.zeros([2, 3]) })).toThrow(/shape mismatch for 'layers.0.weight': the model has \[3, 2\], the state dict has \[2, 3\]/);
    expect(() => net.loadStateDict({ ...sd, alpha: T.zeros([1], f64) })).toThrow(/dtype mismatch for 'alpha': the model has float32, the state dict has float64/);
    expect(() => net.loadStateDict({ ...sd, alpha: 3 as never })).toThrow(/'alpha': expected a Tensor, received number/);
    expect(() => net.loadStateDict(sd, { strcit: true } as never)).toThrow(/unknown option 'strcit'; valid options are 'strict'/);
    const res = net.loadStateDict({ ...missing, extra: T.zeros([1]), alpha: T.tensor([3]) }, { strict: false });
    expect(res).toEqual({ missingKeys: ['block.fc.bias'], unexpectedKeys: ['extra'] });
    expect(net.tensor('alpha').item()).toBe(3);
    // Shapes are checked even when not strict.
    expect(() => net.loadStateDict({ alpha: T.zeros([2]) }, { strict: false })).toThrow(/shape mismatch for 'alpha'/);
  });

  it('zeroGrad, to(dtype), dispose', async () => {
    const net = new Net();
    await T.tidy(() => net.forward(T.ones([2, 2])).sum().backward());
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
    const y32 = net.forward(T.tensor([[0.1, 0.2]]));
    const old = net.tensor('alpha');
    net.to('float64');
    // In place, as torch's module.to: the same tensor objects, now float64.
    expect(old.isDisposed).toBe(false);
    expect(net.tensor('alpha')).toBe(old);
    expect(old.dtype).toBe('float64');
    expect(net.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad)).toBe(true);
    expect(net.buffers().every((b) => b.dtype === 'float64')).toBe(true);
    const y64 = net.forward(T.tensor([[0.1, 0.2]], undefined, f64));
    Array.from(y64.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(y32.dataSync()[i], 6));
    const ps = net.parameters();
    net.dispose();
    expect(ps.every((p) => p.isDisposed)).toBe(true);
  });

  it('a reparametrisation can replace a parameter by a computed tensor (weight norm style)', async () => {
    const lin = new Linear(3, 2, { seed: 4, dtype: 'float64' });
    const x = T.tensor([[1, -2, 0.5]], undefined, f64);
    const yBefore = Array.from(lin.forward(x).dataSync());
    // weight = g * v / ||v|| (per output row), as torch's weight_norm with dim 0.
    const w = lin.removeParameter('weight')!;
    const norms = w.square().sum(1, { keepDims: true }).sqrt();
    lin.registerParameter('weight_g', norms);
    lin.registerParameter('weight_v', w);
    w.dispose();
    const recompute = (): void => {
      const v = lin.tensor('weight_v');
      lin.setTensorAttribute('weight', T.tidy(() => lin.tensor('weight_g').mul(v.div(v.square().sum(1, { keepDims: true }).sqrt()))));
    };
    recompute();
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['bias', 'weight_g', 'weight_v']);
    expect(Object.keys(lin.stateDict())).toEqual(['bias', 'weight_g', 'weight_v']);
    Array.from(lin.forward(x).dataSync()).forEach((v, i) => expect(v).toBeCloseTo(yBefore[i], 12));
    await T.tidy(() => lin.forward(x).sum().backward());
    expect(lin.tensor('weight_g').grad).not.toBeNull();
    expect(lin.tensor('weight_v').grad).not.toBeNull();
    expect(() => lin.registerParameter('weight', T.zeros([2, 3]))).toThrow(/'weight' is already an attribute of Linear; remove it first/);
    lin.setTensorAttribute('weight', null);
    expect(() => lin.weight).toThrow(/Linear: no tensor named 'weight'; known tensors are 'bias', 'weight_g', 'weight_v'/);
  });

  it('containers and name errors', () => {
    const list = new ModuleList([new Linear(2, 2), new ReLU()]);
    expect(list.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias']);
    expect([...list].length).toBe(2);
    expect(list.at(-1)).toBeInstanceOf(ReLU);
    expect(() => list.forward()).toThrow(/ModuleList.forward: a ModuleList has no forward/);
    expect(() => new Sequential(new Tanh(), 3 as never)).toThrow(/Sequential: expected module 1 to be a Module, received number/);
    const seq = new Sequential(new Tanh());
    expect(() => seq.at(1)).toThrow(/Sequential.at: expected an index in \[-1, 0\], received 1/);
    expect(() => seq.registerParameter('a.b', T.zeros([1]))).toThrow(/Sequential.registerParameter: expected a non-empty name without '.', received "a.b"/);
    expect(() => seq.registerParameter('0', T.zeros([1]))).toThrow(/'0' is already a module of Sequential/);
    expect(() => seq.registerParameter('w', [1, 2] as never)).toThrow(/expected a Tensor or null for 'w', received object/);
    expect(() => seq.getModule('5')).toThrow(/Sequential.getModule: no child '5'; children are '0'/);
    expect(() => seq.removeParameter('w')).toThrow(/Sequential.removeParameter: no parameter 'w'; parameters are \(none\)/);
    const dead = T.zeros([1]);
    dead.dispose();
    expect(() => seq.registerBuffer('b', dead)).toThrow(/registerBuffer \('b'\): expected a live tensor, received a disposed tensor/);
  });
});
