/**
 * The `js` backend: naive typed-array loops in float32 and float64. It is the definition of
 * correctness that every fast backend is tested against, so it stays plain: no tiling, no
 * tricks, one obvious loop per primitive.
 */
import type { Backend, ConvSpec, MatmulSpec, ReduceOp, Storage, UnaryOp, BinaryOp, TrackSpec } from './backend.js';
import { trackStepHost } from './track_host.js';
import { armijoStageHost } from './armijo_host.js';
import { arrayCtor, bytesPer, type DType, type TypedArray } from '../dtype.js';
import { erf } from './math.js';
import { broydenScratch, composedBroydenStep, freeBroydenScratch } from './broyden_composed.js';

export interface JsStorage extends Storage {
  data: TypedArray;
}

function d(s: Storage): TypedArray {
  return (s as JsStorage).data;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function unaryFn(op: UnaryOp): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'sqrt': return Math.sqrt;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'abs': return Math.abs;
    case 'tanh': return Math.tanh;
    case 'sigmoid': return (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
    case 'relu': return (x) => (x > 0 ? x : 0);
    case 'gelu': return (x) => 0.5 * x * (1 + erf(x * SQRT1_2));
    case 'geluGrad': return (x) => 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case 'softplus': return (x) => (x > 20 ? x : Math.log1p(Math.exp(x)));
    case 'sign': return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'square': return (x) => x * x;
    case 'reciprocal': return (x) => 1 / x;
    case 'step': return (x) => (x > 0 ? 1 : 0);
    case 'sin': return Math.sin;
    case 'cos': return Math.cos;
  }
  throw new Error(`js backend: unknown unary op '${op as string}'`);
}

export function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return (a, b) => a * b;
    case 'div': return (a, b) => a / b;
    case 'pow': return Math.pow;
    case 'maximum': return (a, b) => (a >= b || Number.isNaN(a) ? a : b);
    case 'minimum': return (a, b) => (a <= b || Number.isNaN(a) ? a : b);
    case 'eq': return (a, b) => (a === b ? 1 : 0);
    case 'ne': return (a, b) => (a !== b ? 1 : 0);
    case 'lt': return (a, b) => (a < b ? 1 : 0);
    case 'le': return (a, b) => (a <= b ? 1 : 0);
    case 'gt': return (a, b) => (a > b ? 1 : 0);
    case 'ge': return (a, b) => (a >= b ? 1 : 0);
  }
  throw new Error(`js backend: unknown binary op '${op as string}'`);
}

/** Calls fn(outIndex, offsets...) for every N-d index of `shape`, tracking strided offsets. */
function forEachIndex(shape: readonly number[], strides: readonly (readonly number[])[],
  fn: (i: number, offs: number[]) => void): void {
  const nd = shape.length;
  let total = 1;
  for (const s of shape) total *= s;
  if (total === 0) return;
  const idx = new Array<number>(nd).fill(0);
  const offs = strides.map(() => 0);
  for (let i = 0; i < total; i++) {
    fn(i, offs);
    for (let ax = nd - 1; ax >= 0; ax--) {
      idx[ax]++;
      for (let t = 0; t < strides.length; t++) offs[t] += strides[t][ax];
      if (idx[ax] < shape[ax]) break;
      for (let t = 0; t < strides.length; t++) offs[t] -= strides[t][ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}

export class JsBackend implements Backend {
  readonly name = 'js';
  private bytes = 0;

  alloc(size: number, dtype: DType): Storage {
    const Ctor = arrayCtor(dtype);
    this.bytes += size * bytesPer(dtype);
    const s: JsStorage = { dtype, size, refs: 1, data: new Ctor(size) };
    return s;
  }
  free(s: Storage): void {
    this.bytes -= s.size * bytesPer(s.dtype);
    (s as JsStorage).data = new (arrayCtor(s.dtype))(0);
  }
  write(s: Storage, src: ArrayLike<number>, offset = 0): void {
    d(s).set(src, offset);
  }
  readSync(s: Storage): TypedArray {
    return d(s).slice();
  }
  readInto(s: Storage, dst: TypedArray): void {
    dst.set(d(s));
  }
  trackStep(norms: Storage, state: Storage, trace: Storage, candidate: Storage, best: Storage, spec: TrackSpec): void {
    trackStepHost(this, norms, state, trace, candidate, best, spec);
  }
  armijoStage(norm: Storage, state: Storage, trial: Storage, take: Storage, stage: number): void {
    armijoStageHost(this, norm, state, trial, take, stage);
  }
  readAsync(s: Storage): Promise<TypedArray> {
    return Promise.resolve(this.readSync(s));
  }
  liveBytes(): number {
    return this.bytes;
  }

  fill(out: Storage, value: number): void {
    d(out).fill(value);
  }
  unary(op: UnaryOp, x: Storage, out: Storage): void {
    const f = unaryFn(op);
    const xs = d(x), o = d(out);
    for (let i = 0; i < o.length; i++) o[i] = f(xs[i]);
  }
  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, shape: readonly number[],
    aStrides: readonly number[], bStrides: readonly number[]): void {
    const f = binaryFn(op);
    const as = d(a), bs = d(b), o = d(out);
    forEachIndex(shape, [aStrides, bStrides], (i, offs) => { o[i] = f(as[offs[0]], bs[offs[1]]); });
  }
  where(cond: Storage, a: Storage, b: Storage, out: Storage, shape: readonly number[],
    cStrides: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void {
    const cs = d(cond), as = d(a), bs = d(b), o = d(out);
    forEachIndex(shape, [cStrides, aStrides, bStrides], (i, offs) => {
      o[i] = cs[offs[0]] !== 0 ? as[offs[1]] : bs[offs[2]];
    });
  }
  axpby(alpha: number, x: Storage, beta: number, y: Storage, out: Storage): void {
    const xs = d(x), ys = d(y), o = d(out);
    for (let i = 0; i < o.length; i++) o[i] = alpha * xs[i] + beta * ys[i];
  }
  cast(x: Storage, out: Storage): void {
    d(out).set(d(x));
  }

  copy(x: Storage, xOffset: number, xStrides: readonly number[], out: Storage, outOffset: number,
    outStrides: readonly number[], shape: readonly number[]): void {
    const xs = d(x), o = d(out);
    forEachIndex(shape, [xStrides, outStrides], (_i, offs) => {
      o[outOffset + offs[1]] = xs[xOffset + offs[0]];
    });
  }

  reduce(op: ReduceOp, x: Storage, out: Storage, outer: number, n: number, inner: number): void {
    const xs = d(x), o = d(out);
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < inner; c++) {
        const base = a * n * inner + c;
        let acc: number;
        if (op === 'sum') {
          acc = 0;
          for (let j = 0; j < n; j++) acc += xs[base + j * inner];
        } else {
          // max/min propagate NaN; arg* return the first extreme index.
          let best = xs[base], bi = 0;
          for (let j = 1; j < n; j++) {
            const v = xs[base + j * inner];
            if (Number.isNaN(best)) break;
            if (Number.isNaN(v) || ((op === 'max' || op === 'argmax') ? v > best : v < best)) {
              best = v;
              bi = j;
            }
          }
          acc = op === 'max' || op === 'min' ? best : bi;
        }
        o[a * inner + c] = acc;
      }
    }
  }

  matmul(a: Storage, b: Storage, out: Storage, spec: MatmulSpec): void {
    const A = d(a), Bm = d(b), O = d(out);
    const { batch, m, n, k, transA, transB, strideA, strideB } = spec;
    for (let bt = 0; bt < batch; bt++) {
      const ao = bt * strideA, bo = bt * strideB, oo = bt * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) {
            const av = transA ? A[ao + p * m + i] : A[ao + i * k + p];
            const bv = transB ? Bm[bo + j * k + p] : Bm[bo + p * n + j];
            acc += av * bv;
          }
          O[oo + i * n + j] = acc;
        }
      }
    }
  }
  batchedDot(x: Storage, y: Storage, out: Storage, B: number, D: number): void {
    const X = d(x), Y = d(y), O = d(out);
    for (let b = 0; b < B; b++) {
      let acc = 0;
      for (let i = 0; i < D; i++) acc += X[b * D + i] * Y[b * D + i];
      O[b] = acc;
    }
  }
  batchedNorm(x: Storage, out: Storage, B: number, D: number): void {
    const X = d(x), O = d(out);
    for (let b = 0; b < B; b++) {
      let acc = 0;
      for (let i = 0; i < D; i++) acc += X[b * D + i] * X[b * D + i];
      O[b] = Math.sqrt(acc);
    }
  }
  gram(g: Storage, out: Storage, B: number, m: number, D: number, lam: number): void {
    const G = d(g), O = d(out);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) {
          let acc = 0;
          for (let t = 0; t < D; t++) acc += G[(b * m + i) * D + t] * G[(b * m + j) * D + t];
          O[(b * m + i) * m + j] = acc + (i === j ? lam : 0);
        }
      }
    }
  }
  solve(a: Storage, rhs: Storage, out: Storage, B: number, n: number): boolean[] {
    const A0 = d(a), R = d(rhs), O = d(out);
    const ok: boolean[] = [];
    const M = new Float64Array(n * n), x = new Float64Array(n);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n * n; i++) M[i] = A0[b * n * n + i];
      for (let i = 0; i < n; i++) x[i] = R[b * n + i];
      let good = true;
      for (let c = 0; c < n && good; c++) {
        let p = c, pv = Math.abs(M[c * n + c]);
        for (let r = c + 1; r < n; r++) {
          const v = Math.abs(M[r * n + c]);
          if (v > pv) { pv = v; p = r; }
        }
        if (!(pv > 1e-300) || !Number.isFinite(pv)) { good = false; break; }
        if (p !== c) {
          for (let t = 0; t < n; t++) { const tmp = M[c * n + t]; M[c * n + t] = M[p * n + t]; M[p * n + t] = tmp; }
          const tmp = x[c]; x[c] = x[p]; x[p] = tmp;
        }
        for (let r = c + 1; r < n; r++) {
          const f = M[r * n + c] / M[c * n + c];
          if (f === 0) continue;
          for (let t = c; t < n; t++) M[r * n + t] -= f * M[c * n + t];
          x[r] -= f * x[c];
        }
      }
      if (good) {
        for (let r = n - 1; r >= 0; r--) {
          let acc = x[r];
          for (let t = r + 1; t < n; t++) acc -= M[r * n + t] * x[t];
          x[r] = acc / M[r * n + r];
        }
        for (let i = 0; i < n; i++) { if (!Number.isFinite(x[i])) good = false; }
      }
      for (let i = 0; i < n; i++) O[b * n + i] = good ? x[i] : NaN;
      ok.push(good);
    }
    return ok;
  }
  lowRankMatvec(u: Storage, v: Storage, x: Storage, out: Storage, B: number, r: number,
    rmax: number, D: number, s: number): void {
    const U = d(u), V = d(v), X = d(x), O = d(out);
    for (let b = 0; b < B; b++) {
      const res = new Float64Array(D);
      for (let i = 0; i < D; i++) res[i] = s * X[b * D + i];
      for (let j = 0; j < r; j++) {
        let dot = 0;
        const row = (b * rmax + j) * D;
        for (let i = 0; i < D; i++) dot += V[row + i] * X[b * D + i];
        for (let i = 0; i < D; i++) res[i] += U[row + i] * dot;
      }
      for (let i = 0; i < D; i++) O[b * D + i] = res[i];
    }
  }
  lowRankMatvecPair(u: Storage, v: Storage, x: Storage, y: Storage, outX: Storage, outY: Storage, B: number,
    r: number, rmax: number, D: number, s: number): void {
    this.lowRankMatvec(v, u, x, outX, B, r, rmax, D, s);
    this.lowRankMatvec(u, v, y, outY, B, r, rmax, D, s);
  }

  addTanh(x: Storage, u: Storage, out: Storage, rows: number, cols: number, uRowStride: number): void {
    const X = d(x), U = d(u), O = d(out);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) O[r * cols + j] = Math.tanh(X[r * cols + j] + U[r * uRowStride + j]);
    }
  }
  tanhGrad(g: Storage, y: Storage, out: Storage): void {
    const G = d(g), Y = d(y), O = d(out);
    for (let i = 0; i < O.length; i++) O[i] = G[i] * (1 - Y[i] * Y[i]);
  }

  // The fused solver steps, written as the compositions they stand for.
  fixedPointStep(f: Storage, x: Storage, tau: number, out: Storage, norms: Storage, B: number, D: number): void {
    const diff = this.alloc(B * D, out.dtype);
    this.axpby(tau, f, 1 - tau, x, out);
    this.axpby(1, out, -1, x, diff);
    const n = this.alloc(B, out.dtype);
    this.batchedNorm(diff, n, B, D);
    d(norms).set(d(n), 0);
    this.batchedNorm(out, n, B, D);
    d(norms).set(d(n), B);
    this.free(diff);
    this.free(n);
  }
  andersonRecord(x: Storage, f: Storage, X: Storage, F: Storage, G: Storage, gram: Storage, norms: Storage,
    slot: number, B: number, m: number, D: number): void {
    const g = this.alloc(B * D, f.dtype), row = this.alloc(B * m, f.dtype), n = this.alloc(B, f.dtype);
    this.copy(x, 0, [D, 1], X, slot * D, [m * D, 1], [B, D]);
    this.copy(f, 0, [D, 1], F, slot * D, [m * D, 1], [B, D]);
    this.axpby(1, f, -1, x, g);
    this.copy(g, 0, [D, 1], G, slot * D, [m * D, 1], [B, D]);
    this.matmul(g, G, row, { batch: B, m: 1, n: m, k: D, transA: false, transB: true, strideA: D, strideB: m * D });
    this.copy(row, 0, [m, 1], gram, slot * m, [m * m, 1], [B, m]);
    this.copy(row, 0, [m, 1], gram, slot, [m * m, m], [B, m]);
    this.batchedNorm(g, n, B, D);
    d(norms).set(d(n), 0);
    this.batchedNorm(f, n, B, D);
    d(norms).set(d(n), B);
    for (const t of [g, row, n]) this.free(t);
  }
  andersonMix(gram: Storage, F: Storage, X: Storage, out: Storage, n: number, lam: number, tau: number,
    B: number, m: number, D: number): number {
    const dt = out.dtype, w = n + 1;
    const P = this.alloc(B * w * w, dt), C = this.alloc(B * w * w, dt), H = this.alloc(B * w * w, dt);
    const y = this.alloc(B * w, dt), sol = this.alloc(B * w, dt), alpha = this.alloc(B * m, dt);
    const mixF = this.alloc(B * D, dt), mixX = this.alloc(B * D, dt), mixed = this.alloc(B * D, dt);
    const c = d(C), rhs = d(y);
    for (let b = 0; b < B; b++) {
      for (let j = 1; j < w; j++) {
        c[b * w * w + j] = 1;
        c[b * w * w + j * w] = 1;
        c[b * w * w + j * w + j] = lam;
      }
      rhs[b * w] = 1;
    }
    this.copy(gram, 0, [m * m, m, 1], P, w + 1, [w * w, w, 1], [B, n, n]);
    this.axpby(1, P, 1, C, H);
    const ok = this.solve(H, y, sol, B, w);
    this.copy(sol, 1, [w, 1], alpha, 0, [m, 1], [B, n]);
    const spec = { batch: B, m: 1, n: D, k: m, transA: false, transB: false, strideA: m, strideB: m * D };
    this.matmul(alpha, F, mixF, spec);
    if (tau !== 1) {
      this.matmul(alpha, X, mixX, spec);
      this.axpby(tau, mixF, 1 - tau, mixX, mixed);
    }
    const src = d(tau !== 1 ? mixed : mixF), o = d(out);
    let bad = 0;
    for (let b = 0; b < B; b++) {
      if (!ok[b]) { bad++; continue; }
      o.set(src.subarray(b * D, (b + 1) * D), b * D);
    }
    for (const t of [P, C, H, y, sol, alpha, mixF, mixX, mixed]) this.free(t);
    return bad;
  }
  broydenAdvance(f: Storage, xNew: Storage, x: Storage, g: Storage, gNew: Storage, dx: Storage, dg: Storage,
    norms: Storage, B: number, D: number): void {
    const fx = this.alloc(B * D, f.dtype), n = this.alloc(B, f.dtype);
    this.axpby(1, f, -1, xNew, gNew);
    this.axpby(1, xNew, -1, x, dx);
    this.axpby(1, gNew, -1, g, dg);
    this.axpby(1, gNew, 1, xNew, fx);
    this.batchedNorm(gNew, n, B, D);
    d(norms).set(d(n), 0);
    this.batchedNorm(fx, n, B, D);
    d(norms).set(d(n), B);
    this.free(fx);
    this.free(n);
  }
  broydenStep(dx: Storage, dg: Storage, g: Storage, dir: Storage, U: Storage, V: Storage, r: number, slot: number,
    direction: boolean, B: number, mem: number, D: number): void {
    const scratch = broydenScratch(this, (n) => this.alloc(n, dx.dtype), B, D);
    composedBroydenStep(this, scratch, dx, dg, g, dir, U, V, r, slot, direction, B, mem, D);
    freeBroydenScratch(this, scratch);
  }

  im2col(x: Storage, cols: Storage, sp: ConvSpec): void {
    const X = d(x), C = d(cols);
    const L = sp.oh * sp.ow;
    for (let n = 0; n < sp.n; n++) {
      for (let c = 0; c < sp.c; c++) {
        for (let ki = 0; ki < sp.kh; ki++) {
          for (let kj = 0; kj < sp.kw; kj++) {
            const row = (c * sp.kh + ki) * sp.kw + kj;
            for (let oi = 0; oi < sp.oh; oi++) {
              for (let oj = 0; oj < sp.ow; oj++) {
                const hi = oi * sp.sh - sp.ph + ki * sp.dh;
                const wj = oj * sp.sw - sp.pw + kj * sp.dw;
                const inside = hi >= 0 && hi < sp.h && wj >= 0 && wj < sp.w;
                C[(n * sp.c * sp.kh * sp.kw + row) * L + oi * sp.ow + oj] =
                  inside ? X[((n * sp.c + c) * sp.h + hi) * sp.w + wj] : 0;
              }
            }
          }
        }
      }
    }
  }
  col2im(cols: Storage, out: Storage, sp: ConvSpec): void {
    const C = d(cols), O = d(out);
    const L = sp.oh * sp.ow;
    for (let n = 0; n < sp.n; n++) {
      for (let c = 0; c < sp.c; c++) {
        for (let ki = 0; ki < sp.kh; ki++) {
          for (let kj = 0; kj < sp.kw; kj++) {
            const row = (c * sp.kh + ki) * sp.kw + kj;
            for (let oi = 0; oi < sp.oh; oi++) {
              for (let oj = 0; oj < sp.ow; oj++) {
                const hi = oi * sp.sh - sp.ph + ki * sp.dh;
                const wj = oj * sp.sw - sp.pw + kj * sp.dw;
                if (hi >= 0 && hi < sp.h && wj >= 0 && wj < sp.w) {
                  O[((n * sp.c + c) * sp.h + hi) * sp.w + wj] += C[(n * sp.c * sp.kh * sp.kw + row) * L + oi * sp.ow + oj];
                }
              }
            }
          }
        }
      }
    }
  }
}
