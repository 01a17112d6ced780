/**
 * Tensor methods: `t.add(u)` is `add(t, u)`. Attached to the prototype here so the Tensor
 * class stays free of op imports.
 */
import { Tensor } from './tensor.js';
import type { DType } from './dtype.js';
import * as A from './ops/arith.js';
import * as U from './ops/unary.js';
import * as R from './ops/reduce.js';
import * as S from './ops/shape.js';
import * as L from './ops/linalg.js';
import * as C from './ops/cast.js';
import * as T from './ops/transfer.js';
import * as SP from './ops/split.js';
import * as I from './ops/index_ops.js';
import * as SM from './ops/softmax.js';
import * as D from './ops/dropout.js';
import { backward, type BackwardOptions } from './autograd/engine.js';
import type { TensorLike } from './ops/util.js';

declare module './tensor.js' {
  interface Tensor {
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    maximum(b: TensorLike): Tensor;
    minimum(b: TensorLike): Tensor;
    neg(): Tensor;
    sqrt(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    abs(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    gelu(): Tensor;
    softplus(): Tensor;
    square(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    sum(axes?: number | readonly number[], opts?: R.ReduceOptions): Tensor;
    mean(axes?: number | readonly number[], opts?: R.ReduceOptions): Tensor;
    max(axes?: number | readonly number[], opts?: R.ReduceOptions): Tensor;
    min(axes?: number | readonly number[], opts?: R.ReduceOptions): Tensor;
    argmax(axis?: number): Tensor;
    matmul(b: Tensor): Tensor;
    reshape(shape: readonly number[]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    squeeze(axis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    permute(perm: readonly number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    cast(dtype: DType): Tensor;
    clone(): Tensor;
    /**
     * This tensor on another backend and/or dtype, like torch's `Tensor.to`: `t.to('wasm')`,
     * `t.to('float64')`, `t.to('js', 'float64')`, `t.to({ backend, dtype })`. Returns `t`
     * itself when nothing changes; otherwise a differentiable copy (its backward moves the
     * gradient back). Synchronous; from a backend read only asynchronously (webgpu) use `toAsync`.
     */
    to(target: T.ToTarget, dtype?: DType): Tensor;
    /** Like `to`, for every backend (reads GPU data with `await`). */
    toAsync(target: T.ToTarget, dtype?: DType): Promise<Tensor>;
    slice(begin: number | readonly number[], size?: number | readonly number[]): Tensor;
    /** Pieces along `dim` of the given size or sizes (torch's `split`). */
    split(splitSizeOrSections: number | readonly number[], dim?: number): Tensor[];
    /** `chunks` pieces along `dim` (torch's `chunk`). */
    chunk(chunks: number, dim?: number): Tensor[];
    pad(padding: readonly number[] | readonly (readonly number[])[], opts?: I.PadOptions): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    dropout(p?: number, opts?: D.DropoutOptions): Tensor;
    /** Accumulates gradients into `.grad` of every leaf this tensor depends on. Async. */
    backward(gradient?: Tensor, opts?: BackwardOptions): Promise<void>;
  }
}

const P = Tensor.prototype;
P.add = function (b) { return A.add(this, b); };
P.sub = function (b) { return A.sub(this, b); };
P.mul = function (b) { return A.mul(this, b); };
P.div = function (b) { return A.div(this, b); };
P.pow = function (b) { return A.pow(this, b); };
P.maximum = function (b) { return A.maximum(this, b); };
P.minimum = function (b) { return A.minimum(this, b); };
P.neg = function () { return A.neg(this); };
P.sqrt = function () { return U.sqrt(this); };
P.exp = function () { return U.exp(this); };
P.log = function () { return U.log(this); };
P.abs = function () { return U.abs(this); };
P.tanh = function () { return U.tanh(this); };
P.sigmoid = function () { return U.sigmoid(this); };
P.relu = function () { return U.relu(this); };
P.gelu = function () { return U.gelu(this); };
P.softplus = function () { return U.softplus(this); };
P.square = function () { return U.square(this); };
P.sin = function () { return U.sin(this); };
P.cos = function () { return U.cos(this); };
P.sum = function (axes, opts) { return R.sum(this, axes, opts); };
P.mean = function (axes, opts) { return R.mean(this, axes, opts); };
P.max = function (axes, opts) { return R.max(this, axes, opts); };
P.min = function (axes, opts) { return R.min(this, axes, opts); };
P.argmax = function (axis) { return R.argmax(this, axis); };
P.matmul = function (b) { return L.matmul(this, b); };
P.reshape = function (shape) { return S.reshape(this, shape); };
P.flatten = function (s, e) { return S.flatten(this, s, e); };
P.squeeze = function (a) { return S.squeeze(this, a); };
P.unsqueeze = function (a) { return S.unsqueeze(this, a); };
P.permute = function (p) { return S.permute(this, p); };
P.transpose = function (a, b) { return S.transpose(this, a, b); };
P.broadcastTo = function (s) { return S.broadcastTo(this, s); };
P.cast = function (d) { return C.cast(this, d); };
P.clone = function () { return C.clone(this); };
P.to = function (t, d) { return T.to(this, t, d); };
P.toAsync = function (t, d) { return T.toAsync(this, t, d); };
P.slice = function (b, s) { return I.slice(this, b, s); };
P.split = function (s, d) { return SP.split(this, s, d); };
P.chunk = function (c, d) { return SP.chunk(this, c, d); };
P.pad = function (p, o) { return I.pad(this, p, o); };
P.softmax = function (a) { return SM.softmax(this, a); };
P.logSoftmax = function (a) { return SM.logSoftmax(this, a); };
P.dropout = function (p, o) { return D.dropout(this, p, o); };
P.backward = function (gradient, opts) { return backward(this, gradient, opts); };
