/**
 * Layout kernels: strided N-d copy, im2col and col2im.
 *
 * copy_{f32|f64}(out, x, nd, dims): for every index i of the shape in the dims block,
 * out[i . outStrides] = x[i . xStrides] (operand 0 = x, operand 1 = out; element strides,
 * possibly 0 or negative; x and out already point at their offsets). Rows with both strides 1
 * are one memory.copy; a stride-0 source with a unit-stride destination is a SIMD fill; a
 * transpose (x contiguous along the output's second dimension) is copied in 32 x 32 tiles;
 * other rows are scalar strided loops. out must not overlap x.
 *
 * im2col / col2im (NCHW, element counts, contiguous arrays, any alignment): for each input
 * row (n, c, ki, kj) and output row oi, the valid output columns [oj0, oj1) are computed once,
 * so the inner loops have no bounds tests; stride-1 convolutions copy or add whole runs with
 * SIMD. im2col writes zeros for padding; col2im adds into out (which the caller zeroes).
 */
import { lanes } from './simd';
import { nextRow, rowLength, rowOffset, rowStride, startRows } from './nd';

@inline function copyRow<T>(po: usize, so: i32, px: usize, sx: i32, n: i32): void {
  const sz = <i32>sizeof<T>();
  if (so == 1 && sx == 1) {
    memory.copy(po, px, <usize>(n * sz));
  } else if (so == 1 && sx == 0) {
    const value = load<T>(px);
    const v = v128.splat<T>(value);
    const L = lanes<T>();
    let i = 0;
    for (; i + L <= n; i += L) { v128.store(po, v); po += 16; }
    for (; i < n; i++) { store<T>(po, value); po += <usize>sz; }
  } else {
    const eo = <usize>(so * sz), ex = <usize>(sx * sz);
    for (let i = 0; i < n; i++) {
      store<T>(po, load<T>(px));
      po += eo;
      px += ex;
    }
  }
}

/** Side of the square tiles of a blocked transpose (32 x 4-8 bytes: a few cache lines per row). */
const TILE: i32 = 32;

/**
 * Copies planes where the output runs along dimension 0 but x runs along dimension 1 (a
 * transpose): 2-d tiles so that both the reads and the writes stay within a few cache lines.
 * Dimensions >= 2 are walked by the odometer on the dims block shifted by one dimension.
 */
@inline function copyTransposed<T>(out: usize, x: usize, nd: i32, dims: usize): void {
  const sz = <i32>sizeof<T>();
  const n0 = rowLength(dims), sx0 = rowStride(dims, 0);
  const upper = dims + 4; // the same block seen from dimension 1
  const n1 = rowLength(upper), so1 = rowStride(upper, 1);
  const planes = startRows(upper, nd - 1, 2);
  for (let r = 0; r < planes; r++) {
    const px = x + <usize>(rowOffset(upper, 0) * sz), po = out + <usize>(rowOffset(upper, 1) * sz);
    for (let i1 = 0; i1 < n1; i1 += TILE) {
      const e1 = min(n1, i1 + TILE);
      for (let i0 = 0; i0 < n0; i0 += TILE) {
        const e0 = min(n0, i0 + TILE);
        for (let a = i1; a < e1; a++) {
          const src = px + <usize>(a * sz), dst = po + <usize>(a * so1 * sz);
          for (let b = i0; b < e0; b++) store<T>(dst + <usize>(b * sz), load<T>(src + <usize>(b * sx0 * sz)));
        }
      }
    }
    nextRow(upper, nd - 1, 2);
  }
}

@inline function copy<T>(out: usize, x: usize, nd: i32, dims: usize): void {
  const sz = <i32>sizeof<T>();
  const n = rowLength(dims);
  const sx = rowStride(dims, 0), so = rowStride(dims, 1);
  if (nd >= 2 && so == 1 && sx != 1 && rowStride(dims + 4, 0) == 1 && n >= 8) {
    copyTransposed<T>(out, x, nd, dims);
    return;
  }
  const rows = startRows(dims, nd, 2);
  for (let r = 0; r < rows; r++) {
    copyRow<T>(out + <usize>(rowOffset(dims, 1) * sz), so, x + <usize>(rowOffset(dims, 0) * sz), sx, n);
    nextRow(dims, nd, 2);
  }
}

export function copy_f32(out: usize, x: usize, nd: i32, dims: usize): void { copy<f32>(out, x, nd, dims); }
export function copy_f64(out: usize, x: usize, nd: i32, dims: usize): void { copy<f64>(out, x, nd, dims); }

/** floor(a / b) for b > 0 and any sign of a. */
@inline function floorDiv(a: i32, b: i32): i32 {
  return a >= 0 ? a / b : -((b - 1 - a) / b);
}

/** First output column whose input column oj*sw - pw + kj*dw is >= 0, clamped to [0, ow]. */
@inline function firstCol(kj: i32, sw: i32, pw: i32, dw: i32, ow: i32): i32 {
  return min(ow, max(0, -floorDiv(kj * dw - pw, sw)));
}

/** One past the last output column whose input column is < w, clamped to [0, ow]. */
@inline function endCol(kj: i32, w: i32, sw: i32, pw: i32, dw: i32, ow: i32): i32 {
  return min(ow, max(0, floorDiv(w - 1 + pw - kj * dw, sw) + 1));
}

@inline function im2col<T>(cols: usize, x: usize, N: i32, C: i32, h: i32, w: i32, kh: i32, kw: i32,
                           sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32): void {
  const sz = <usize>sizeof<T>();
  let po = cols;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = x + <usize>nc * <usize>(h * w) * sz;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const oj0 = firstCol(kj, sw, pw, dw, ow);
        const oj1 = max(oj0, endCol(kj, w, sw, pw, dw, ow));
        for (let oi = 0; oi < oh; oi++) {
          const hi = oi * sh - ph + ki * dh;
          if (hi < 0 || hi >= h) {
            memory.fill(po, 0, <usize>ow * sz);
          } else {
            memory.fill(po, 0, <usize>oj0 * sz);
            const src = plane + <usize>(hi * w + oj0 * sw - pw + kj * dw) * sz;
            const dst = po + <usize>oj0 * sz;
            if (sw == 1) {
              memory.copy(dst, src, <usize>(oj1 - oj0) * sz);
            } else {
              for (let oj = 0; oj < oj1 - oj0; oj++) {
                store<T>(dst + <usize>oj * sz, load<T>(src + <usize>(oj * sw) * sz));
              }
            }
            memory.fill(po + <usize>oj1 * sz, 0, <usize>(ow - oj1) * sz);
          }
          po += <usize>ow * sz;
        }
      }
    }
  }
}

/** dst[0..n) += src[0..n). */
@inline function addRun<T>(dst: usize, src: usize, n: i32): void {
  const L = lanes<T>();
  let i = 0;
  for (; i + L <= n; i += L) {
    v128.store(dst, v128.add<T>(v128.load(dst), v128.load(src)));
    dst += 16;
    src += 16;
  }
  for (; i < n; i++) {
    store<T>(dst, load<T>(dst) + load<T>(src));
    dst += sizeof<T>();
    src += sizeof<T>();
  }
}

@inline function col2im<T>(out: usize, cols: usize, N: i32, C: i32, h: i32, w: i32, kh: i32, kw: i32,
                           sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32): void {
  const sz = <usize>sizeof<T>();
  let pc = cols;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = out + <usize>nc * <usize>(h * w) * sz;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const oj0 = firstCol(kj, sw, pw, dw, ow);
        const oj1 = max(oj0, endCol(kj, w, sw, pw, dw, ow));
        for (let oi = 0; oi < oh; oi++) {
          const hi = oi * sh - ph + ki * dh;
          if (hi >= 0 && hi < h) {
            const dst = plane + <usize>(hi * w + oj0 * sw - pw + kj * dw) * sz;
            const src = pc + <usize>oj0 * sz;
            if (sw == 1) {
              addRun<T>(dst, src, oj1 - oj0);
            } else {
              for (let oj = 0; oj < oj1 - oj0; oj++) {
                const d = dst + <usize>(oj * sw) * sz;
                store<T>(d, load<T>(d) + load<T>(src + <usize>oj * sz));
              }
            }
          }
          pc += <usize>ow * sz;
        }
      }
    }
  }
}

export function im2col_f32(cols: usize, x: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
                           sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32): void {
  im2col<f32>(cols, x, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow);
}
export function im2col_f64(cols: usize, x: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
                           sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32): void {
  im2col<f64>(cols, x, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow);
}
export function col2im_f32(out: usize, cols: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
                           sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32): void {
  col2im<f32>(out, cols, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow);
}
export function col2im_f64(out: usize, cols: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
                           sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, oh: i32, ow: i32): void {
  col2im<f64>(out, cols, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow);
}
