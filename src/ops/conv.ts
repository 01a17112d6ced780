/**
 * 2-D convolution (NCHW) as im2col + batched GEMM. `unfold` (im2col) and `fold` (col2im) are
 * differentiable ops that are each other's adjoint, and conv2d composes them with `matmul`,
 * so its backward is col2im + GEMMs and double backward works.
 */
import type { ConvSpec } from '../backend/backend.js';
import { checkKeys, record } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { tidy } from '../scope.js';
import { need, out, sameKind, sameShape } from './util.js';
import { add } from './arith.js';
import { reshape } from './shape.js';
import { matmul } from './linalg.js';
import { show } from '../utils/format.js';

type Pair = number | readonly [number, number];

/** Sliding-window geometry of `unfold`, `fold` and `conv2d`. @example unfold(x, 3, { stride: 2, padding: 1 }) */
export interface WindowOptions {
  /** Step between windows (default 1). */
  stride?: Pair;
  /** Zeros added on both sides of H and W (default 0). */
  padding?: Pair;
  /** Spacing between kernel taps (default 1). */
  dilation?: Pair;
}

/** Options of `conv2d`. @example conv2d(x, w, null, { groups: 2, padding: 1 }) */
export interface Conv2dOptions extends WindowOptions {
  /** Split channels into this many independent groups (default 1). */
  groups?: number;
}

const WINDOW_DEFAULTS = { stride: 1, padding: 0, dilation: 1 } as const;

function pairOf(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: number[] = typeof v === 'number' ? [v, v] : Array.isArray(v) ? [...v] : [];
  if (p.length !== 2 || p.some((d) => !Number.isInteger(d) || d < min)) {
    throw new Error(`${op}: expected option '${name}' to be an integer >= ${min} or a pair of them, received ${show(v)}`);
  }
  return [p[0], p[1]];
}

/** Validates the window options and computes the im2col geometry for x (n, c, h, w). */
function convSpec(op: string, xShape: readonly number[], kernel: Pair, opts: WindowOptions): ConvSpec {
  const [kh, kw] = pairOf(op, 'kernelSize', kernel, 1);
  const [sh, sw] = pairOf(op, 'stride', opts.stride ?? WINDOW_DEFAULTS.stride, 1);
  const [ph, pw] = pairOf(op, 'padding', opts.padding ?? WINDOW_DEFAULTS.padding, 0);
  const [dh, dw] = pairOf(op, 'dilation', opts.dilation ?? WINDOW_DEFAULTS.dilation, 1);
  const [n, c, h, w] = xShape;
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (oh < 1 || ow < 1) {
    throw new Error(`${op}: expected the (dilated) kernel ${kh}x${kw} to fit the padded input ${fmtShape(xShape)} (padding ${ph},${pw}, dilation ${dh},${dw}), received an output size ${oh}x${ow}`);
  }
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow };
}

function unfoldRaw(X: Tensor, sp: ConvSpec): Tensor {
  const o = out([sp.n, sp.c * sp.kh * sp.kw, sp.oh * sp.ow], X);
  X.backend.im2col(X.storage, o.storage, sp);
  return record('unfold', o, [X], [], (g) => [foldRaw(g, sp)]);
}

function foldRaw(G: Tensor, sp: ConvSpec): Tensor {
  const o = out([sp.n, sp.c, sp.h, sp.w], G);
  G.backend.col2im(G.storage, o.storage, sp);
  return record('fold', o, [G], [], (g) => [unfoldRaw(g, sp)]);
}

function check4d(op: string, name: string, t: Tensor): void {
  if (t.rank !== 4) throw new Error(`${op}: expected ${name} of shape (N, C, H, W), received ${fmtShape(t.shape)}`);
}

/**
 * Extracts sliding windows, like torch.nn.functional.unfold: x (N, C, H, W) ->
 * (N, C*kh*kw, L) with L = outH*outW, rows ordered (c, ki, kj).
 * @example unfold(x, 3, { padding: 1 })
 */
export function unfold(x: Tensor, kernelSize: Pair, opts: WindowOptions = {}): Tensor {
  const op = 'unfold';
  const X = need(op, 'x', x);
  checkKeys(op, opts, ['stride', 'padding', 'dilation']);
  check4d(op, 'x', X);
  return unfoldRaw(X, convSpec(op, X.shape, kernelSize, opts));
}

/**
 * Sums sliding windows back into an image, like torch.nn.functional.fold (the adjoint of
 * `unfold`): cols (N, C*kh*kw, L) -> (N, C, outputSize[0], outputSize[1]).
 * @example fold(cols, [8, 8], 3, { padding: 1 })
 */
export function fold(cols: Tensor, outputSize: Pair, kernelSize: Pair, opts: WindowOptions = {}): Tensor {
  const op = 'fold';
  const G = need(op, 'cols', cols);
  checkKeys(op, opts, ['stride', 'padding', 'dilation']);
  const [h, w] = pairOf(op, 'outputSize', outputSize, 1);
  const [kh, kw] = pairOf(op, 'kernelSize', kernelSize, 1);
  if (G.rank !== 3 || G.shape[1] % (kh * kw) !== 0) {
    throw new Error(`${op}: expected cols of shape (N, C*${kh}*${kw}, L), received ${fmtShape(G.shape)}`);
  }
  const sp = convSpec(op, [G.shape[0], G.shape[1] / (kh * kw), h, w], [kh, kw], opts);
  if (G.shape[2] !== sp.oh * sp.ow) {
    throw new Error(`${op}: expected cols with L = ${sp.oh}*${sp.ow} = ${sp.oh * sp.ow} windows for output size ${h}x${w}, received ${fmtShape(G.shape)}`);
  }
  return foldRaw(G, sp);
}

/**
 * 2-D cross-correlation like torch.nn.functional.conv2d: x (N, C, H, W), weight
 * (O, C/groups, kh, kw), optional bias (O) -> (N, O, outH, outW).
 * @example conv2d(x, w, b, { stride: 2, padding: 1 })
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const X = need(op, 'x', x), W = need(op, 'weight', weight);
  checkKeys(op, opts, ['stride', 'padding', 'dilation', 'groups']);
  check4d(op, 'x', X);
  sameKind(op, X, W);
  if (W.rank !== 4) throw new Error(`${op}: expected weight of shape (O, C/groups, kh, kw), received ${fmtShape(W.shape)}`);
  const groups = opts.groups ?? 1;
  const [N, C] = X.shape, [O, Cg, kh, kw] = W.shape;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0) {
    throw new Error(`${op}: expected option 'groups' to be a positive integer dividing both ${C} input and ${O} output channels, received ${show(opts.groups)}`);
  }
  if (Cg * groups !== C) {
    throw new Error(`${op}: expected weight of shape (O, ${C / groups}, kh, kw) for input ${fmtShape(X.shape)} and groups ${groups}, received ${fmtShape(W.shape)}`);
  }
  let B: Tensor | null = null;
  if (bias !== undefined && bias !== null) {
    B = need(op, 'bias', bias);
    sameKind(op, X, B);
    if (!sameShape(B.shape, [O])) throw new Error(`${op}: expected bias of shape [${O}], received ${fmtShape(B.shape)}`);
  }
  const sp = convSpec(op, [N * groups, Cg, X.shape[2], X.shape[3]], [kh, kw], opts);
  return tidy(() => {
    // (N*G, Cg, H, W) is a free view of (N, C, H, W); each group is its own im2col image.
    const cols = unfoldRaw(groups === 1 ? X : reshape(X, [N * groups, Cg, X.shape[2], X.shape[3]]), sp);
    const L = sp.oh * sp.ow, K = Cg * kh * kw, Og = O / groups;
    let y: Tensor;
    if (groups === 1) {
      y = matmul(reshape(W, [O, K]), cols); // (O, K) @ (N, K, L) -> (N, O, L)
    } else {
      y = matmul(reshape(W, [groups, Og, K]), reshape(cols, [N, groups, K, L])); // (N, G, Og, L)
    }
    y = reshape(y, [N, O, sp.oh, sp.ow]);
    if (B) y = add(y, reshape(B, [O, 1, 1]));
    return y;
  });
}
