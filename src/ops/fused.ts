/**
 * Fused ops for the DEQ cell f(z) = tanh(z W^T + u):
 * - `addTanh(a, b)` = tanh(a + b) in one pass over memory,
 * - `linearTanh(x, W, u)` = tanh(x W^T + u): the GEMM, then one pass for bias and tanh,
 * - `tanhBackward(g, y)` = g (1 - y^2), the VJP of tanh from its output, in one pass.
 * Their VJPs are one `tanhBackward` pass plus what a linear layer needs (no add / sub / mul
 * chains). Backends without the optional fused kernels (`Backend.addTanh`, `tanhGrad`) get
 * the same values from the plain primitives. The VJPs are written with ops, so double
 * backward works.
 */
import type { Backend, Storage } from '../backend/backend.js';
import { needsGraph, record } from '../autograd/engine.js';
import { fmtShape, type Tensor } from '../tensor.js';
import { broadcastShapes, broadcastStrides, need, outWritten, sameKind, sameShape } from './util.js';
import { binaryRaw, mul } from './arith.js';
import { matmulEx } from './linalg.js';
import { reshape } from './shape.js';
import { sumTo } from './reduce.js';

/**
 * g (1 - y^2) for g and y of one shape: the gradient of tanh at the point where it returned y.
 * Differentiable (its own VJP is written with ops).
 * @example const y = tanh(x); const gx = tanhBackward(g, y); // = g * (1 - y * y)
 */
export function tanhBackward(g: Tensor, y: Tensor): Tensor {
  const G = need('tanhBackward', 'g', g), Y = need('tanhBackward', 'y', y);
  sameKind('tanhBackward', G, Y);
  if (!sameShape(G.shape, Y.shape)) {
    throw new Error(`tanhBackward: expected g and y of one shape, received ${fmtShape(G.shape)} and ${fmtShape(Y.shape)}`);
  }
  let o: Tensor;
  const be = G.backend;
  if (be.tanhGrad) {
    o = outWritten(G.shape, G);
    be.tanhGrad(G.storage, Y.storage, o.storage);
  } else {
    // g - g y^2 from the elementwise primitives.
    const y2 = binaryRaw('mul', Y, Y);
    const gy2 = binaryRaw('mul', G, y2);
    o = binaryRaw('sub', G, gy2);
    y2.dispose();
    gy2.dispose();
  }
  if (!needsGraph(G, Y)) return o;
  return record('tanhBackward', o, [G, Y], [G, Y], (h, [sg, sy], needs) => [
    needs[0] ? tanhBackward(h, sy) : null,
    needs[1] ? mul(mul(h, sg), mul(sy, -2)) : null,
  ]);
}

/**
 * Writes tanh(x + u) into `o` (contiguous, of x's shape `shape`), where u broadcasts to
 * `shape`. With the backend's fused kernel when u is full-shape or one row; `o` may be x.
 */
function addTanhInto(be: Backend, x: Tensor, u: Tensor, o: Storage, shape: readonly number[]): void {
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const full = sameShape(u.shape, shape);
  const row = !full && u.size === cols && (u.shape.length === 0 ? cols === 1 : u.shape[u.shape.length - 1] === cols);
  if (be.addTanh && (full || row)) {
    be.addTanh(x.storage, u.storage, o, rows, cols, full ? cols : 0);
    return;
  }
  const sum = be.alloc(x.size, x.dtype);
  try {
    be.binary('add', x.storage, u.storage, sum, shape, broadcastStrides(x.shape, shape), broadcastStrides(u.shape, shape));
    be.unary('tanh', sum, o);
  } finally {
    be.free(sum);
  }
}

/**
 * tanh(a + b) with broadcasting, in one pass (one fused VJP pass backward).
 * @example const y = addTanh(linear(z, W), inj); // tanh(z W^T + inj)
 */
export function addTanh(a: Tensor, b: Tensor): Tensor {
  const A = need('addTanh', 'a', a), B = need('addTanh', 'b', b);
  sameKind('addTanh', A, B);
  const shape = broadcastShapes('addTanh', A.shape, B.shape);
  const o = outWritten(shape, A);
  // The kernel streams a full-shape operand against a full or row-broadcast one (add commutes).
  const [x, u] = sameShape(A.shape, shape) ? [A, B] : sameShape(B.shape, shape) ? [B, A] : [null, null];
  if (x && u) addTanhInto(A.backend, x, u, o.storage, shape);
  else {
    const s = binaryRaw('add', A, B, 'addTanh');
    A.backend.unary('tanh', s.storage, o.storage);
    s.dispose();
  }
  return record('addTanh', o, [A, B], [o], (g, [y], needs) => {
    const gu = tanhBackward(g, y);
    return [needs[0] ? sumTo(gu, A.shape) : null, needs[1] ? sumTo(gu, B.shape) : null];
  });
}

/**
 * tanh(x W^T + b) for W of shape (out, in), x of shape (..., in) and an optional b that
 * broadcasts to (..., out) without growing it (a bias (out), or a full injection (..., out)
 * as in a DEQ cell). One GEMM, then one pass for bias and tanh; backward is one fused pass
 * g (1 - y^2) and the GEMMs of a linear layer (only for the inputs whose gradient is wanted).
 * @example const f = (z) => linearTanh(z, W, inj); // the DEQ cell tanh(z W^T + x U^T + c)
 */
export function linearTanh(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  const op = 'linearTanh';
  const X = need(op, 'x', x), W = need(op, 'weight', w);
  sameKind(op, X, W);
  if (W.rank !== 2) throw new Error(`${op}: expected weight of shape (out, in), received ${fmtShape(W.shape)}`);
  const [outF, inF] = W.shape;
  if (X.rank < 1 || X.shape[X.rank - 1] !== inF) {
    throw new Error(`${op}: expected input with last dimension ${inF} (weight ${fmtShape(W.shape)}), received ${fmtShape(X.shape)}`);
  }
  const shape = X.rank === 2 ? [X.shape[0], outF] : [...X.shape.slice(0, -1), outF];
  const B = b ? need(op, 'bias', b) : null;
  if (B) {
    sameKind(op, X, B);
    const fits = sameShape(B.shape, shape) || (B.rank === 1 && B.shape[0] === outF)
      || sameShape(broadcastShapes(op, shape, B.shape), shape);
    if (!fits) {
      throw new Error(`${op}: expected a bias that broadcasts to the output shape ${fmtShape(shape)}, received ${fmtShape(B.shape)}`);
    }
  }
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i];
  const be = X.backend;
  const pre = outWritten(shape, X);
  be.matmul(X.storage, W.storage, pre.storage, {
    batch: 1, m: rows, n: outF, k: inF, transA: false, transB: true, strideA: 0, strideB: 0,
  });
  let o = pre;
  if (B && be.addTanh) {
    addTanhInto(be, pre, B, pre.storage, shape); // in place: no second buffer
  } else {
    o = outWritten(shape, X);
    if (B) addTanhInto(be, pre, B, o.storage, shape);
    else be.unary('tanh', pre.storage, o.storage);
    pre.dispose();
  }
  if (!needsGraph(X, W, B)) return o;
  const inputs = B ? [X, W, B] : [X, W];
  return record(op, o, inputs, [X, W, o], (g, [sx, sw, sy], needs) => {
    const gu = tanhBackward(g, sy);
    const gu2 = gu.rank === 2 ? gu : reshape(gu, [rows, outF]);
    let gx: Tensor | null = null, gw: Tensor | null = null;
    if (needs[0]) {
      gx = matmulEx(gu2, sw);
      if (X.rank !== 2) gx = reshape(gx, X.shape);
    }
    if (needs[1]) gw = matmulEx(gu2, sx.rank === 2 ? sx : reshape(sx, [rows, inF]), true, false);
    const gb = B && needs[2] ? sumTo(gu, B.shape) : null;
    return [gx, gw, gb];
  });
}

/**
 * alpha x + beta y for x and y of one shape, in one pass (the backend's `axpby`): the damped
 * fixed-point step tau f(z) + (1 - tau) z as one op instead of mul, mul, add and two scalar
 * tensors. Differentiable, also twice (its VJP scales the gradient).
 * @example const next = scaledAdd(fz, 0.5, z, 0.5); // 0.5 f(z) + 0.5 z
 */
export function scaledAdd(x: Tensor, alpha: number, y: Tensor, beta: number): Tensor {
  const X = need('scaledAdd', 'x', x), Y = need('scaledAdd', 'y', y);
  sameKind('scaledAdd', X, Y);
  if (!sameShape(X.shape, Y.shape)) {
    throw new Error(`scaledAdd: expected x and y of one shape, received ${fmtShape(X.shape)} and ${fmtShape(Y.shape)}`);
  }
  if (typeof alpha !== 'number' || typeof beta !== 'number') {
    throw new Error(`scaledAdd: expected numbers alpha and beta, received ${typeof alpha} and ${typeof beta}`);
  }
  const o = outWritten(X.shape, X);
  X.backend.axpby(alpha, X.storage, beta, Y.storage, o.storage);
  if (!needsGraph(X, Y)) return o;
  const scale = (g: Tensor, c: number): Tensor => (c === 1 ? g : mul(g, c));
  return record('scaledAdd', o, [X, Y], [], (g, _s, needs) => [
    needs[0] ? scale(g, alpha) : null,
    needs[1] ? scale(g, beta) : null,
  ]);
}
