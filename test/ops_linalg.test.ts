/**
 * matmul (2-D, batched with broadcast batch dims, 1-D operands) and linear, with double
 * backward through matmul.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { defineOpSuite, type OpCase } from './helpers/opcase.js';
import { Nd, bshape } from './helpers/ref.js';
import { gradgradcheck } from './helpers/gradcheck.js';
import { tolFor } from './helpers/tolerance.js';

/** torch.matmul semantics written directly: 1-D operands are promoted and squeezed back. */
function matmulRef(a: Nd, b: Nd): Nd {
  const A = a.shape.length === 1 ? new Nd([1, a.shape[0]], a.data) : a;
  const B = b.shape.length === 1 ? new Nd([b.shape[0], 1], b.data) : b;
  const [m, k] = A.shape.slice(-2), n = B.shape[B.shape.length - 1];
  const batch = bshape(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const pick = (t: Nd, bi: number[], r: number, c: number): number => {
    const lead = t.shape.slice(0, -2), off = bi.length - lead.length;
    return t.at([...lead.map((d, i) => (d === 1 ? 0 : bi[off + i])), r, c]);
  };
  const full = Nd.fromFn([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2), i = idx[idx.length - 2], j = idx[idx.length - 1];
    let s = 0;
    for (let p = 0; p < k; p++) s += pick(A, bi, i, p) * pick(B, bi, p, j);
    return s;
  });
  let shape = full.shape;
  if (a.shape.length === 1) shape = [...shape.slice(0, -2), shape[shape.length - 1]];
  if (b.shape.length === 1) shape = shape.slice(0, -1);
  return new Nd(shape, full.data);
}

function linearRef(x: Nd, w: Nd, b?: Nd): Nd {
  const [o, inF] = w.shape;
  return Nd.fromFn([...x.shape.slice(0, -1), o], (idx) => {
    const j = idx[idx.length - 1];
    let s = b ? b.data[j] : 0;
    for (let p = 0; p < inF; p++) s += x.at([...idx.slice(0, -1), p]) * w.at([j, p]);
    return s;
  });
}

const mm = (name: string, sa: number[], sb: number[], doubleBackward = false): OpCase =>
  ({ name, inputs: [{ shape: sa }, { shape: sb }], fn: T.matmul, ref: matmulRef, doubleBackward });

const MATMUL: OpCase[] = [
  mm('2-D [3,17]@[17,33]', [3, 17], [17, 33], true),
  mm('2-D k=100 [1,100]@[100,3]', [1, 100], [100, 3]),
  mm('2-D [33,1]@[1,17]', [33, 1], [1, 17]),
  mm('batched [2,3,17]@[2,17,5]', [2, 3, 17], [2, 17, 5], true),
  mm('broadcast batch [2,1,3,4]@[5,4,6]', [2, 1, 3, 4], [5, 4, 6]),
  mm('2-D weight over batch [3,17]@[2,17,5]', [3, 17], [2, 17, 5]),
  mm('1-D @ 2-D [17]@[17,3]', [17], [17, 3]),
  mm('2-D @ 1-D [3,17]@[17]', [3, 17], [17]),
  mm('1-D @ 1-D [33]@[33]', [33], [33]),
  mm('batched @ 1-D [2,3,17]@[17]', [2, 3, 17], [17]),
];

const LINEAR: OpCase[] = [
  { name: 'linear with bias x[3,17] w[5,17] b[5]', inputs: [{ shape: [3, 17] }, { shape: [5, 17] }, { shape: [5] }], fn: (x, w, b) => T.linear(x, w, b), ref: linearRef, doubleBackward: true },
  { name: 'linear without bias x[100,3] w[1,3]', inputs: [{ shape: [100, 3] }, { shape: [1, 3] }], fn: (x, w) => T.linear(x, w), ref: (x, w) => linearRef(x, w) },
  { name: 'linear 3-D input x[2,3,17] w[4,17] b[4]', inputs: [{ shape: [2, 3, 17] }, { shape: [4, 17] }, { shape: [4] }], fn: (x, w, b) => T.linear(x, w, b), ref: linearRef },
];

defineOpSuite('matmul', MATMUL);
defineOpSuite('linear', LINEAR);

describe('matmul: hand-checked values and double backward through a small network', () => {
  it('matches a 2x2 product computed by hand', () => {
    const y = T.matmul(T.tensor([[1, 2], [3, 4]]), T.tensor([[5, 6], [7, 8]]));
    expect(y.toArray()).toEqual([[19, 22], [43, 50]]);
  });

  it('second derivatives of tanh(x W + b) . v are right (matmul, add, mul, tanh)', async () => {
    const f64 = { dtype: 'float64' as const, requiresGrad: true };
    const x = T.randn([3, 4], { ...f64, seed: 1 });
    const w = T.randn([4, 5], { ...f64, seed: 2 });
    const b = T.randn([5], { ...f64, seed: 3 });
    await gradgradcheck((xx, ww, bb) => T.tanh(T.add(T.matmul(xx, ww), bb)).mul(T.sigmoid(bb)), [x, w, b],
      { tol: tolFor('js', 'float64', 'grad'), label: 'mlp layer' });
  });
});
