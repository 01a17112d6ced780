import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Module, Linear, Tanh } from '../src/nn/index.js';

const f64 = { dtype: 'float64' as const };

class Block extends Module {
  readonly embed = this.registerModule('embed', new Linear(2, 3, { ...f64, seed: 1 }));
  readonly core = this.registerModule('core', new Linear(3, 3, { ...f64, seed: 2 }));
  readonly act = this.registerModule('act', new Tanh());
  readonly head = this.registerModule('head', new Linear(3, 1, { ...f64, seed: 3 }));
  forward(x: T.Tensor): T.Tensor {
    return this.head.forward(this.act.forward(this.core.forward(this.embed.forward(x))));
  }
}

class Model extends Module {
  readonly a = this.registerModule('a', new Block());
  readonly b = this.registerModule('b', new Block());
  forward(x: T.Tensor): T.Tensor {
    return this.b.forward(this.a.forward(x).broadcastTo([x.shape[0], 2]));
  }
}

/** A layer the default tables do not know. */
class Scale extends Module {
  constructor() {
    super();
    this.registerParameter('kernel', T.tensor([[3, 4]], undefined, f64));
  }
  forward(x: T.Tensor): T.Tensor {
    return x.mul(this.tensor('kernel'));
  }
}

describe('applyNorm / resetNorm / removeNorm', () => {
  it('applies to every Linear except filtered names and prefixes', () => {
    const m = new Model();
    const done = T.applyNorm(m, { filterOut: 'head', prefixFilterOut: ['b.emb'] });
    expect(done).toEqual(['a.embed', 'a.core', 'b.core']);
    expect(T.hasNorm(m.a.embed)).toBe(true);
    expect(T.hasNorm(m.a.head)).toBe(false);
    expect(T.hasNorm(m.b.embed)).toBe(false);
    expect(Object.keys(m.stateDict())).toContain('a.core.weight_v');
    expect(Object.keys(m.stateDict())).toContain('b.head.weight');
  });

  it("'none' does nothing; applying twice throws; removeNorm undoes everything", () => {
    const m = new Model();
    const before = Object.keys(m.stateDict());
    expect(T.applyNorm(m, { normType: 'none' })).toEqual([]);
    expect(Object.keys(m.stateDict())).toEqual(before);
    T.applyNorm(m, { normType: 'spectral_norm', seed: 0 });
    expect(() => T.applyNorm(m, { normType: 'weight_norm' })).toThrow(/applyNorm \(normType 'weight_norm'\): module 'a.embed' \(Linear\) already has a norm; call removeNorm first/);
    T.removeNorm(m);
    expect(Object.keys(m.stateDict()).sort()).toEqual([...before].sort());
    expect(T.applyNorm(m, { normType: 'weight_norm' }).length).toBe(6);
  });

  it('the forward pass sees updated parameters (with or without resetNorm)', () => {
    const fc = new Linear(2, 1, f64);
    T.applyNorm(fc, { learnScale: false, targetNorm: 1 });
    const x = T.tensor([[1, 1]], undefined, f64);
    const before = fc.forward(x).item();
    fc.loadStateDict({ bias: T.zeros([1], f64), weight_v: T.tensor([[3, 4]], undefined, f64) });
    expect(fc.forward(x).item()).toBeCloseTo(1.4, 14); // the computed weight follows weight_v
    expect(before).not.toBeCloseTo(1.4, 5);
    T.resetNorm(fc);
    expect(fc.forward(x).item()).toBeCloseTo(1.4, 14);
  });

  it('throws listing valid options and registered norm types', () => {
    const fc = new Linear(2, 2);
    expect(() => T.applyNorm(fc, { normType: 'batch_norm' })).toThrow(/applyNorm: unknown normType 'batch_norm'; registered norm types are 'weight_norm', 'spectral_norm'/);
    expect(() => T.applyNorm(fc, { target_norm: 1 } as never)).toThrow(/applyNorm \(normType 'weight_norm'\): unknown option 'target_norm'; valid options are 'normType', 'filterOut', 'prefixFilterOut', 'names', 'dims', 'learnScale', 'targetNorm', 'clip', 'clipValue'/);
    expect(() => T.applyNorm(fc, { nPowerIterations: 3 })).toThrow(/unknown option 'nPowerIterations'/);
    expect(() => T.applyNorm(fc, { normType: 'spectral_norm', nPowerIterations: 0 })).toThrow(/expected option 'nPowerIterations' to be a positive integer, received 0/);
    expect(() => T.applyNorm(fc, { targetNorm: 'big' as never })).toThrow(/expected option 'targetNorm' to be a finite number, received "big"/);
    expect(() => T.applyNorm(fc, { names: 'weight' })).toThrow(/expected both 'names' and 'dims' or neither, received only 'names'/);
    expect(() => T.applyNorm(fc, { names: 'weight', dims: 2 })).toThrow(/expected dim 2 to be an axis of Linear.weight \(shape \[2, 2\]\)/);
    expect(T.hasNorm(fc)).toBe(false);
  });

  it('registerNormModule adds a module class; registerNorm adds a norm type', () => {
    T.registerNormModule(Scale, 'weight_norm', 'kernel', 0);
    const s = new Scale();
    T.applyNorm(s, { learnScale: false, targetNorm: 10 });
    expect(Array.from(s.tensor('kernel').dataSync())).toEqual([6, 8]);
    expect(Object.keys(s.stateDict())).toEqual(['kernel_v']);

    const calls: string[] = [];
    T.registerNorm('double', {
      optionKeys: ['factor'],
      targetModules: new Map([[Linear, { names: ['weight'], dims: [0] }]]),
      configure: (o) => ({ factor: (o.factor as number | undefined) ?? 2 }),
      apply: (module, target, config: { factor: number }) => {
        calls.push(`apply ${target.names[0]} x${config.factor}`);
        return {
          reset: () => { calls.push('reset'); },
          remove: () => { calls.push('remove'); },
        };
      },
    });
    expect(T.listNorms()).toContain('double');
    const fc = new Linear(2, 2);
    T.applyNorm(fc, { normType: 'double', factor: 3 } as never);
    T.resetNorm(fc);
    T.removeNorm(fc);
    expect(calls).toEqual(['apply weight x3', 'reset', 'remove']);
    expect(() => T.registerNorm('bad', {} as never)).toThrow(/registerNorm: expected a norm class with optionKeys, targetModules \(a Map\), configure and apply/);
    expect(() => T.registerNormModule(Object as never, 'weight_norm')).toThrow(/registerNormModule: expected a Module subclass/);
  });
});
