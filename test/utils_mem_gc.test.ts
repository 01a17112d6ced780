import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Module, Linear, Sequential, Tanh } from '../src/nn/index.js';

const f64 = { dtype: 'float64' as const };

class Cell extends Module<[T.Tensor, T.Tensor], T.Tensor> {
  readonly fc = this.registerModule('fc', new Linear(3, 3, { ...f64, seed: 1 }));
  readonly inj = this.registerModule('inj', new Linear(2, 3, { ...f64, seed: 2 }));
  forward(z: T.Tensor, x: T.Tensor): T.Tensor {
    return this.fc.forward(z).add(this.inj.forward(x)).tanh();
  }
}

const vals = (t: T.Tensor | null): number[] => Array.from(t!.dataSync());

function expectClose(a: number[], b: number[], digits = 13): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i], digits));
}

/** Runs `steps` cell applications with or without checkpointing; returns the loss and all gradients. */
async function run(cell: Cell, steps: number, checkpoint: boolean): Promise<{ loss: number; grads: number[][] }> {
  const x = T.tensor([[0.5, -1], [2, 0.1]], undefined, f64).requireGrad();
  let z = T.tensor([[0.1, 0.2, 0.3], [-0.3, 0.0, 0.4]], undefined, f64).requireGrad();
  const z0 = z;
  for (let k = 0; k < steps; k++) z = checkpoint ? T.memGc(cell, [z, x]) : cell.forward(z, x);
  const loss = z.mul(T.tensor([1, -2, 3], undefined, f64)).sum();
  const params = cell.parameters();
  const gs = await T.grad(loss, [x, z0, ...params]);
  return { loss: loss.item(), grads: gs.map(vals) };
}

describe('memGc', () => {
  it('matches plain backprop for inputs and module parameters over a chain of steps', async () => {
    const cell = new Cell();
    const a = await run(cell, 3, false);
    const b = await run(cell, 3, true);
    expect(b.loss).toBeCloseTo(a.loss, 14);
    b.grads.forEach((g, i) => expectClose(g, a.grads[i]));
  });

  it('stores no activations in forward: the output hangs off one memGc node', () => {
    const cell = new Cell();
    const z = T.ones([2, 3], f64).requireGrad();
    const y = T.memGc(cell, [z, T.ones([2, 2], f64)]);
    expect(y.node!.name).toBe('memGc');
    expect([...y.node!.parents()].length).toBe(0);
    expectClose(vals(y), vals(cell.forward(z, T.ones([2, 2], f64))), 15);
  });

  it('works with weight-normed layers whose weight graph is shared by every step', async () => {
    const cell = new Cell();
    T.applyNorm(cell, { normType: 'weight_norm' });
    T.resetNorm(cell);
    const a = await run(cell, 2, false);
    T.resetNorm(cell);
    const b = await run(cell, 2, true);
    b.grads.forEach((g, i) => expectClose(g, a.grads[i]));
    expect(Object.keys(cell.stateDict())).toContain('fc.weight_g');
  });

  it('supports double backward through the recomputation (plain function, explicit params)', async () => {
    const w = T.tensor([[0.3, -0.7], [1.1, 0.4]], undefined, { ...f64, requiresGrad: true });
    const f = (z: T.Tensor): T.Tensor => T.linear(z, w).tanh();
    const grads = async (checkpoint: boolean): Promise<number[][]> => {
      const z = T.tensor([[0.2, -0.5]], undefined, f64).requireGrad();
      const y = checkpoint ? T.memGc(f, [z], { params: [w] }) : f(z);
      const [gz] = await T.grad(y.square().sum(), z, { createGraph: true });
      return (await T.grad(gz!.sum(), [z, w])).map(vals);
    };
    const [a, b] = [await grads(false), await grads(true)];
    b.forEach((g, i) => expectClose(g, a[i]));
  });

  it('the same tensor passed twice gets both contributions', async () => {
    const z = T.tensor([1.5, -2], undefined, f64).requireGrad();
    const y = T.memGc((a, b) => a.mul(b).mul(a), [z, z]); // z^3
    const [g] = await T.grad(y.sum(), z);
    expectClose(vals(g), [3 * 1.5 ** 2, 3 * 4], 14);
  });

  it('a Sequential works and bad input is named', () => {
    const seq = new Sequential(new Linear(2, 2, f64), new Tanh());
    const x = T.ones([1, 2], f64).requireGrad();
    expectClose(vals(T.memGc(seq, [x])), vals(seq.forward(x)), 15);
    expect(() => T.memGc(42 as never, [x])).toThrow(/memGc: expected func to be a Module or a function, received number/);
    expect(() => T.memGc(seq, [x], { param: [] } as never)).toThrow(/memGc: unknown option 'param'; valid options are 'params'/);
    expect(() => T.memGc(seq, [3 as never])).toThrow(/memGc: expected inArgs\[0\] to be a Tensor, received number/);
  });
});
