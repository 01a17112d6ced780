/**
 * Matrix products on the backend GEMM: `matmul` (2-D, batched with broadcast batch dims, and
 * 1-D vectors like torch) and `linear` (x W^T + b without materialising W^T).
 */
import { noteHeavyOp } from '../backend/registry.js';
import type { MatmulSpec } from '../backend/backend.js';
import { needsGraph, record } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { broadcastShapes, need, outWritten, sameKind, sameShape } from './util.js';
import { broadcastTo, reshape } from './shape.js';
import { sumTo } from './reduce.js';
import { add } from './arith.js';

/**
 * op(A) @ op(B) for A (..., m, k) and B (..., k, n) (or their stored transposes when transA /
 * transB), batch dims broadcast. Differentiable, including twice.
 */
export function matmulEx(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  const op = 'matmul';
  const A = need(op, 'a', a), B = need(op, 'b', b);
  sameKind(op, A, B);
  if (A.rank < 2 || B.rank < 2) {
    throw new Error(`${op}: expected tensors of rank >= 2 here, received ${fmtShape(A.shape)} and ${fmtShape(B.shape)}`);
  }
  const ar = A.shape[A.rank - 2], ac = A.shape[A.rank - 1], br = B.shape[B.rank - 2], bc = B.shape[B.rank - 1];
  const m = transA ? ac : ar, k = transA ? ar : ac;
  const kb = transB ? bc : br, n = transB ? br : bc;
  if (k !== kb) {
    throw new Error(`${op}: inner dimensions differ: ${fmtShape(A.shape)}${transA ? '^T' : ''} @ ${fmtShape(B.shape)}${transB ? '^T' : ''} (${k} vs ${kb})`);
  }
  if (A.rank === 2 && B.rank === 2) {
    noteHeavyOp(op, A.backend, m * n * k);
    // Plain matrices: no batch geometry to work out.
    const o2 = outWritten([m, n], A);
    A.backend.matmul(A.storage, B.storage, o2.storage, { batch: 1, m, n, k, transA, transB, strideA: 0, strideB: 0 });
    if (!needsGraph(A, B)) return o2;
    return record(op, o2, [A, B], [A, B], (g, saved, needs) => matmulVjp(g, saved, needs, A.shape, B.shape, transA, transB));
  }
  const batchShape = broadcastShapes(op, A.shape.slice(0, -2), B.shape.slice(0, -2));
  const batch = batchShape.reduce((x, y) => x * y, 1);
  noteHeavyOp(op, A.backend, batch * m * n * k);
  // A batch operand is either complete (its own matrix per batch entry) or a single matrix.
  const fit = (t: Tensor): [Tensor, number] => {
    const tb = t.shape.slice(0, -2);
    const tbSize = tb.reduce((x, y) => x * y, 1);
    if (tbSize === 1) return [t, 0];
    if (sameShape(tb, batchShape)) return [t, t.shape[t.rank - 1] * t.shape[t.rank - 2]];
    const full = broadcastTo(t, [...batchShape, ...t.shape.slice(-2)]);
    return [full, t.shape[t.rank - 1] * t.shape[t.rank - 2]];
  };
  const [Af, strideA] = fit(A), [Bf, strideB] = fit(B);
  const o = outWritten([...batchShape, m, n], A);
  const spec: MatmulSpec = { batch, m, n, k, transA, transB, strideA, strideB };
  A.backend.matmul(Af.storage, Bf.storage, o.storage, spec);
  if (Af !== A) Af.dispose();
  if (Bf !== B) Bf.dispose();
  return record(op, o, [A, B], [A, B], (g, saved, needs) => matmulVjp(g, saved, needs, A.shape, B.shape, transA, transB));
}

/** Gradients of op(A) @ op(B) for the wanted inputs (summed over broadcast batch dims). */
function matmulVjp(g: Tensor, [sa, sb]: readonly Tensor[], needs: readonly boolean[], aShape: readonly number[],
  bShape: readonly number[], transA: boolean, transB: boolean): (Tensor | null)[] {
  let ga: Tensor | null = null, gb: Tensor | null = null;
  if (needs[0]) {
    ga = !transA ? matmulEx(g, sb, false, !transB) : matmulEx(sb, g, transB, true);
    ga = sumTo(ga, aShape);
  }
  if (needs[1]) {
    gb = !transB ? matmulEx(sa, g, !transA, false) : matmulEx(g, sa, true, transA);
    gb = sumTo(gb, bShape);
  }
  return [ga, gb];
}

/**
 * Matrix product with torch's rules: 2-D @ 2-D, batched (broadcast batch dims), and 1-D
 * operands promoted to a row/column and squeezed back.
 * @example matmul(x, w) // (B, in) @ (in, out)
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const A = need('matmul', 'a', a), B = need('matmul', 'b', b);
  if (A.rank === 0 || B.rank === 0) {
    throw new Error(`matmul: expected tensors of rank >= 1, received ${fmtShape(A.shape)} and ${fmtShape(B.shape)}`);
  }
  const a2 = A.rank === 1 ? reshape(A, [1, A.shape[0]]) : A;
  const b2 = B.rank === 1 ? reshape(B, [B.shape[0], 1]) : B;
  let o: Tensor;
  try {
    o = matmulEx(a2, b2);
  } finally {
    // The promoted handles are freed on errors too (a shape mismatch must not leak them).
    if (a2 !== A) a2.dispose();
    if (b2 !== B) b2.dispose();
  }
  // Squeeze the promoted dimensions back out, freeing the intermediate handles.
  let shape = o.shape;
  if (A.rank === 1) shape = [...shape.slice(0, -2), shape[shape.length - 1]];
  if (B.rank === 1) shape = shape.slice(0, -1);
  if (shape === o.shape) return o;
  const r = reshape(o, shape);
  o.dispose();
  return r;
}

/**
 * torch.nn.functional.linear: x @ W^T + b with W of shape (out, in).
 * @example linear(x, w, b)
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  const X = need('linear', 'x', x), W = need('linear', 'weight', w);
  if (W.rank !== 2) throw new Error(`linear: expected weight of shape (out, in), received ${fmtShape(W.shape)}`);
  if (X.shape[X.rank - 1] !== W.shape[1]) {
    throw new Error(`linear: expected input with last dimension ${W.shape[1]} (weight ${fmtShape(W.shape)}), received ${fmtShape(X.shape)}`);
  }
  const B = b ? need('linear', 'bias', b) : null;
  const x2 = X.rank === 2 ? X : reshape(X, [-1, W.shape[1]]);
  let y = matmulEx(x2, W, false, true);
  if (x2 !== X) x2.dispose();
  if (B) { const yb = add(y, B); y.dispose(); y = yb; }
  if (X.rank === 2) return y;
  const r = reshape(y, [...X.shape.slice(0, -1), W.shape[0]]);
  y.dispose();
  return r;
}
