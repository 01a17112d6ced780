/**
 * conv2d (stride, padding, dilation, groups, bias) and its building blocks unfold / fold,
 * against direct-loop references.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { defineOpSuite, type OpCase } from './helpers/opcase.js';
import { Nd } from './helpers/ref.js';

interface Geo { sh: number; sw: number; ph: number; pw: number; dh: number; dw: number }
const geo = (s: [number, number] = [1, 1], p: [number, number] = [0, 0], d: [number, number] = [1, 1]): Geo =>
  ({ sh: s[0], sw: s[1], ph: p[0], pw: p[1], dh: d[0], dw: d[1] });
const outSize = (n: number, k: number, s: number, p: number, d: number): number => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

/** Direct 7-loop cross-correlation with zero padding (torch conv2d semantics). */
function conv2dRef(x: Nd, w: Nd, b: Nd | undefined, g: Geo, groups = 1): Nd {
  const [N, C, H, W] = x.shape, [O, Cg, KH, KW] = w.shape;
  const OH = outSize(H, KH, g.sh, g.ph, g.dh), OW = outSize(W, KW, g.sw, g.pw, g.dw);
  const Og = O / groups;
  return Nd.fromFn([N, O, OH, OW], ([n, o, i, j]) => {
    let s = b ? b.data[o] : 0;
    const grp = Math.floor(o / Og);
    for (let c = 0; c < Cg; c++) {
      for (let ki = 0; ki < KH; ki++) {
        for (let kj = 0; kj < KW; kj++) {
          const hi = i * g.sh - g.ph + ki * g.dh, wj = j * g.sw - g.pw + kj * g.dw;
          if (hi < 0 || hi >= H || wj < 0 || wj >= W) continue;
          s += x.at([n, grp * Cg + c, hi, wj]) * w.at([o, c, ki, kj]);
        }
      }
    }
    return s;
  });
}

function unfoldRef(x: Nd, KH: number, KW: number, g: Geo): Nd {
  const [N, C, H, W] = x.shape;
  const OH = outSize(H, KH, g.sh, g.ph, g.dh), OW = outSize(W, KW, g.sw, g.pw, g.dw);
  return Nd.fromFn([N, C * KH * KW, OH * OW], ([n, r, l]) => {
    const c = Math.floor(r / (KH * KW)), ki = Math.floor(r / KW) % KH, kj = r % KW;
    const hi = Math.floor(l / OW) * g.sh - g.ph + ki * g.dh, wj = (l % OW) * g.sw - g.pw + kj * g.dw;
    return hi < 0 || hi >= H || wj < 0 || wj >= W ? 0 : x.at([n, c, hi, wj]);
  });
}

function foldRef(cols: Nd, H: number, W: number, KH: number, KW: number, g: Geo): Nd {
  const [N, CK] = cols.shape, C = CK / (KH * KW);
  const OW = outSize(W, KW, g.sw, g.pw, g.dw);
  const out = new Array<number>(N * C * H * W).fill(0);
  cols.data.forEach((v, f) => {
    const l = f % cols.shape[2], r = Math.floor(f / cols.shape[2]) % CK, n = Math.floor(f / (cols.shape[2] * CK));
    const c = Math.floor(r / (KH * KW)), ki = Math.floor(r / KW) % KH, kj = r % KW;
    const hi = Math.floor(l / OW) * g.sh - g.ph + ki * g.dh, wj = (l % OW) * g.sw - g.pw + kj * g.dw;
    if (hi >= 0 && hi < H && wj >= 0 && wj < W) out[((n * C + c) * H + hi) * W + wj] += v;
  });
  return new Nd([N, C, H, W], out);
}

const CONV: OpCase[] = [
  { name: 'conv2d [2,3,7,7] * [4,3,3,3] + bias', inputs: [{ shape: [2, 3, 7, 7] }, { shape: [4, 3, 3, 3] }, { shape: [4] }], fn: (x, w, b) => T.conv2d(x, w, b), ref: (x, w, b) => conv2dRef(x, w, b, geo()) },
  { name: 'conv2d small double backward [1,2,4,4] * [2,2,2,2] + bias, padding 1', inputs: [{ shape: [1, 2, 4, 4] }, { shape: [2, 2, 2, 2] }, { shape: [2] }], fn: (x, w, b) => T.conv2d(x, w, b, { padding: 1 }), ref: (x, w, b) => conv2dRef(x, w, b, geo([1, 1], [1, 1])), doubleBackward: true },
  { name: 'conv2d stride 2 padding 1 [1,2,17,9] * [3,2,3,3]', inputs: [{ shape: [1, 2, 17, 9] }, { shape: [3, 2, 3, 3] }], fn: (x, w) => T.conv2d(x, w, null, { stride: 2, padding: 1 }), ref: (x, w) => conv2dRef(x, w, undefined, geo([2, 2], [1, 1])) },
  { name: 'conv2d dilation 2 padding [2,1] [2,1,9,8] * [2,1,3,2]', inputs: [{ shape: [2, 1, 9, 8] }, { shape: [2, 1, 3, 2] }], fn: (x, w) => T.conv2d(x, w, undefined, { dilation: 2, padding: [2, 1] }), ref: (x, w) => conv2dRef(x, w, undefined, geo([1, 1], [2, 1], [2, 2])) },
  { name: 'conv2d stride [1,3] [1,3,5,17] * [1,3,2,3] + bias', inputs: [{ shape: [1, 3, 5, 17] }, { shape: [1, 3, 2, 3] }, { shape: [1] }], fn: (x, w, b) => T.conv2d(x, w, b, { stride: [1, 3] }), ref: (x, w, b) => conv2dRef(x, w, b, geo([1, 3])) },
  { name: 'conv2d groups 2 [2,4,5,5] * [6,2,3,3] + bias', inputs: [{ shape: [2, 4, 5, 5] }, { shape: [6, 2, 3, 3] }, { shape: [6] }], fn: (x, w, b) => T.conv2d(x, w, b, { groups: 2 }), ref: (x, w, b) => conv2dRef(x, w, b, geo(), 2) },
  { name: 'conv2d depthwise groups 3 [1,3,6,5] * [3,1,3,3] padding 1', inputs: [{ shape: [1, 3, 6, 5] }, { shape: [3, 1, 3, 3] }], fn: (x, w) => T.conv2d(x, w, null, { groups: 3, padding: 1 }), ref: (x, w) => conv2dRef(x, w, undefined, geo([1, 1], [1, 1]), 3) },
  { name: 'conv2d 1x1 kernel [1,3,4,4] * [5,3,1,1]', inputs: [{ shape: [1, 3, 4, 4] }, { shape: [5, 3, 1, 1] }], fn: (x, w) => T.conv2d(x, w), ref: (x, w) => conv2dRef(x, w, undefined, geo()) },
  { name: 'conv2d kernel covers the input [3,2,3,3] * [1,2,3,3]', inputs: [{ shape: [3, 2, 3, 3] }, { shape: [1, 2, 3, 3] }], fn: (x, w) => T.conv2d(x, w), ref: (x, w) => conv2dRef(x, w, undefined, geo()) },
];

const WINDOWS: OpCase[] = [
  { name: 'unfold [2,3,5,6] kernel [2,3] padding 1 stride [1,2]', inputs: [{ shape: [2, 3, 5, 6] }], fn: (x) => T.unfold(x, [2, 3], { padding: 1, stride: [1, 2] }), ref: (x) => unfoldRef(x, 2, 3, geo([1, 2], [1, 1])), doubleBackward: true },
  { name: 'unfold [1,1,17,3] kernel 3 dilation [2,1]', inputs: [{ shape: [1, 1, 17, 3] }], fn: (x) => T.unfold(x, 3, { dilation: [2, 1] }), ref: (x) => unfoldRef(x, 3, 3, geo([1, 1], [0, 0], [2, 1])) },
  { name: 'fold [2,12,18] to 5x6 kernel [2,3] padding 1 stride [1,2]', inputs: [{ shape: [2, 12, 18] }], fn: (c) => T.fold(c, [5, 6], [2, 3], { padding: 1, stride: [1, 2] }), ref: (c) => foldRef(c, 5, 6, 2, 3, geo([1, 2], [1, 1])) },
  { name: 'fold [1,9,9] to 5x5 kernel 3 stride 2 (overlaps)', inputs: [{ shape: [1, 9, 4] }], fn: (c) => T.fold(c, 5, 3, { stride: 2 }), ref: (c) => foldRef(c, 5, 5, 3, 3, geo([2, 2])) },
];

defineOpSuite('conv2d', CONV);
defineOpSuite('unfold and fold', WINDOWS);

describe('conv2d: hand-checked values', () => {
  it('a 3x3 box filter on a 3x3 ramp with padding 1', () => {
    const x = T.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = T.ones([1, 1, 3, 3]);
    expect(T.conv2d(x, w, T.tensor([0.5]), { padding: 1 }).toArray()).toEqual([[[[12.5, 21.5, 16.5], [27.5, 45.5, 33.5], [24.5, 39.5, 28.5]]]]);
  });

  it('fold is the adjoint of unfold: <fold(c), x> = <c, unfold(x)>', () => {
    const x = T.randn([2, 3, 6, 5], { dtype: 'float64', seed: 4 });
    const opts = { stride: 2, padding: 1, dilation: [1, 2] as [number, number] };
    const cols = T.unfold(x, 3, opts);
    const c = T.randn([...cols.shape], { dtype: 'float64', seed: 5 });
    const lhs = T.fold(c, [6, 5], 3, opts).mul(x).sum().item();
    const rhs = c.mul(cols).sum().item();
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * Math.abs(rhs));
  });
});
