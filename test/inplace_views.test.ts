/**
 * Nothing a user passed in is mutated: an in-place update of a parameter (every optimizer's
 * step, `loadStateDict`, `load`) copies on write when another handle shares the parameter's
 * storage, so views made before the update (detach, reshape, flatten, squeeze, unsqueeze,
 * broadcastTo, a full-axes sum, slices, transposes, casts, clones, stateDict snapshots, tensors
 * saved by a recorded graph) keep the values they had. The parameter itself changes, keeps its
 * identity, and the optimizer keeps working on it.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

type ViewMaker = [string, (p: T.Tensor) => T.Tensor];
const VIEWS: ViewMaker[] = [
  ['detach', (p) => p.detach()],
  ['reshape', (p) => p.reshape([6])],
  ['reshape same shape', (p) => T.reshape(p, [2, 3])],
  ['flatten', (p) => p.flatten()],
  ['unsqueeze', (p) => p.unsqueeze(0)],
  ['squeeze', (p) => T.squeeze(p.unsqueeze(1))],
  ['broadcastTo', (p) => p.broadcastTo([2, 2, 3])],
  ['transpose', (p) => p.transpose(0, 1)],
  ['permute', (p) => T.permute(p, [1, 0])],
  ['slice', (p) => T.slice(p, [0, 1], [2, 2])],
  ['sum over no axes', (p) => T.sum(p, [])],
  ['cast same dtype', (p) => p.cast(p.dtype)],
  ['clone', (p) => p.clone()],
];

type Step = [string, (p: T.Tensor) => Promise<void>];
const grads = (p: T.Tensor): void => { p.grad?.dispose(); p.grad = T.tensor([1, -2, 3, -4, 5, -6], [2, 3], { dtype: p.dtype }); };
const STEPS: Step[] = [
  ['SGD', async (p) => { const o = new T.optim.SGD([p], { lr: 0.1 }); grads(p); o.step(); o.dispose(); }],
  ['SGD momentum nesterov wd', async (p) => { const o = new T.optim.SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }); grads(p); o.step(); grads(p); o.step(); o.dispose(); }],
  ['Adam', async (p) => { const o = new T.optim.Adam([p], { lr: 0.1 }); grads(p); o.step(); o.dispose(); }],
  ['Adam amsgrad', async (p) => { const o = new T.optim.Adam([p], { lr: 0.1, amsgrad: true }); grads(p); o.step(); o.dispose(); }],
  ['AdamW', async (p) => { const o = new T.optim.AdamW([p], { lr: 0.1, weightDecay: 0.1 }); grads(p); o.step(); o.dispose(); }],
];

describe.each(['js', 'wasm'] as const)('in-place updates never change other handles (%s)', (backend) => {
  const withBackend = async (fn: () => Promise<void>): Promise<void> => {
    await T.init();
    const prev = T.getBackend().name;
    T.setBackend(backend);
    try { await fn(); } finally { T.setBackend(prev); }
  };

  for (const [stepName, step] of STEPS) {
    it(`${stepName}: every view-making op keeps its values; the parameter changes`, () => withBackend(async () => {
      const before = T.memory().numTensors;
      const p = T.tensor([1, 2, 3, 4, 5, 6], [2, 3], { requiresGrad: true, dtype: 'float64' });
      const start = Array.from(p.dataSync());
      const views = T.tidy(() => VIEWS.map(([name, make]) => [name, make(p)] as const));
      const snaps = views.map(([, v]) => Array.from(v.dataSync()));
      const id = p;
      await step(p);
      expect(p).toBe(id);
      expect(Array.from(p.dataSync())).not.toEqual(start);
      views.forEach(([name, v], i) => expect(Array.from(v.dataSync()), `${name} after ${stepName}`).toEqual(snaps[i]));
      // A second step without views still updates the same handle in place.
      const mid = Array.from(p.dataSync());
      await step(p);
      expect(Array.from(p.dataSync())).not.toEqual(mid);
      for (const [, v] of views) v.dispose();
      p.grad?.dispose();
      p.grad = null;
      p.dispose();
      expect(T.memory().numTensors).toBe(before);
    }));
  }

  it('a graph recorded before the step keeps the old values for its backward', () => withBackend(async () => {
    const p = T.tensor([1, 2, 3, 4, 5, 6], [2, 3], { requiresGrad: true, dtype: 'float64' });
    const x = T.tensor([1, 1], [1, 2], { dtype: 'float64' });
    const y = T.sum(T.square(T.matmul(x, p))); // saves p for its backward
    const o = new T.optim.SGD([p], { lr: 0.5 });
    grads(p);
    o.step();
    p.grad!.dispose();
    p.grad = null;
    await y.backward();
    // d/dp sum((x p)^2) = x^T 2 (x p) with the OLD p: x p = [5, 7, 9]
    expect(Array.from(p.grad!.dataSync())).toEqual([10, 14, 18, 10, 14, 18]);
    o.dispose();
  }));

  it('loadStateDict and load write into the parameters, not into views of them or the dict given', () => withBackend(async () => {
    const a = new T.nn.Linear(3, 2, { seed: 1, dtype: 'float64' }), b = new T.nn.Linear(3, 2, { seed: 2, dtype: 'float64' });
    const w = a.weight, flat = w.flatten(), det = w.detach();
    const snap = Array.from(w.dataSync());
    const sd = b.stateDict();
    const sdVals = Array.from(sd.weight.dataSync());
    a.loadStateDict(sd);
    expect(a.weight).toBe(w);
    expect(Array.from(w.dataSync())).toEqual(sdVals);
    expect(Array.from(flat.dataSync())).toEqual(snap);
    expect(Array.from(det.dataSync())).toEqual(snap);
    sd.weight.dispose(); sd.bias.dispose();
    const c = new T.nn.Linear(3, 2, { seed: 3, dtype: 'float64' });
    const cv = c.weight.reshape([6]), cs = Array.from(cv.dataSync());
    T.load(c, T.saveSync(a));
    expect(Array.from(c.weight.dataSync())).toEqual(sdVals);
    expect(Array.from(cv.dataSync())).toEqual(cs);
    for (const t of [flat, det, cv]) t.dispose();
  }));
});
