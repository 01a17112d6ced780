/**
 * The WASM module's kernel exports, typed and grouped per dtype. Names follow
 * `{op}_{f32|f64}`; pointers are byte addresses into the module's memory; sizes, strides and
 * offsets are in elements. `bindKernels` fails loudly when an export is missing (a stale or
 * foreign module) instead of failing later inside an op.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from './backend.js';
import type { DType } from '../dtype.js';

type Ptr = number;
export type UnaryKernel = (out: Ptr, x: Ptr, n: number) => void;
export type NdKernel2 = (out: Ptr, a: Ptr, b: Ptr, nd: number, dims: Ptr) => void;
export type NdKernel3 = (out: Ptr, c: Ptr, a: Ptr, b: Ptr, nd: number, dims: Ptr) => void;
export type ReduceKernel = (out: Ptr, x: Ptr, outer: number, n: number, inner: number) => void;
export type ConvKernel = (out: Ptr, x: Ptr, n: number, c: number, h: number, w: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, oh: number, ow: number) => void;

/** Every kernel of one dtype. */
export interface DTypeKernels {
  unary: Record<UnaryOp, UnaryKernel>;
  binary: Record<BinaryOp, NdKernel2>;
  reduce: Record<ReduceOp, ReduceKernel>;
  where: NdKernel3;
  fill: (out: Ptr, value: number, n: number) => void;
  axpby: (out: Ptr, alpha: number, x: Ptr, beta: number, y: Ptr, n: number) => void;
  /** Converts this dtype into the other one (null on the float32-only build: no other dtype). */
  castTo: UnaryKernel | null;
  copy: (out: Ptr, x: Ptr, nd: number, dims: Ptr) => void;
  gemm: (a: Ptr, b: Ptr, c: Ptr, batch: number, m: number, n: number, k: number, transA: number,
    transB: number, strideA: number, strideB: number) => void;
  /** Packs all of op(B) for `gemmPacked` (assembly/gemm.ts `prepackB`). */
  gemmPrepack: (b: Ptr, transB: number, n: number, k: number, dst: Ptr) => void;
  gemmPackedBytes: (n: number, k: number) => number;
  gemmPacked: (a: Ptr, packedB: Ptr, c: Ptr, batch: number, m: number, n: number, k: number, transA: number,
    strideA: number) => void;
  dot: (out: Ptr, x: Ptr, y: Ptr, B: number, D: number) => void;
  norm: (out: Ptr, x: Ptr, B: number, D: number) => void;
  gram: (out: Ptr, g: Ptr, B: number, m: number, D: number, lam: number) => void;
  solve: (out: Ptr, a: Ptr, rhs: Ptr, B: number, n: number, flags: Ptr) => number;
  lowrank: (out: Ptr, u: Ptr, v: Ptr, x: Ptr, B: number, r: number, rmax: number, D: number, s: number) => void;
  lowrankPair: (outX: Ptr, outY: Ptr, u: Ptr, v: Ptr, x: Ptr, y: Ptr, B: number, r: number, rmax: number, D: number,
    s: number) => void;
  im2col: ConvKernel;
  col2im: ConvKernel;
  addTanh: (out: Ptr, x: Ptr, u: Ptr, rows: number, cols: number, uRowStride: number) => void;
  tanhGrad: (out: Ptr, g: Ptr, y: Ptr, n: number) => void;
  fpStep: (out: Ptr, norms: Ptr, f: Ptr, x: Ptr, tau: number, B: number, D: number) => void;
  andersonRecord: (X: Ptr, F: Ptr, G: Ptr, gram: Ptr, norms: Ptr, x: Ptr, f: Ptr, slot: number, B: number,
    m: number, D: number) => void;
  andersonMix: (out: Ptr, flags: Ptr, gram: Ptr, F: Ptr, X: Ptr, n: number, lam: number, tau: number, B: number,
    m: number, D: number) => number;
  broydenAdvance: (gNew: Ptr, dx: Ptr, dg: Ptr, norms: Ptr, f: Ptr, xNew: Ptr, x: Ptr, g: Ptr, B: number,
    D: number) => void;
  broydenStep: (U: Ptr, V: Ptr, d: Ptr, dx: Ptr, dg: Ptr, g: Ptr, r: number, slot: number, direction: number,
    B: number, mem: number, D: number) => void;
}

export const UNARY_OPS: readonly UnaryOp[] = ['neg', 'sqrt', 'exp', 'log', 'abs', 'tanh', 'sigmoid', 'relu',
  'gelu', 'softplus', 'sign', 'square', 'reciprocal', 'step', 'geluGrad', 'sin', 'cos'];
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum',
  'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
export const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'max', 'min', 'argmax', 'argmin'];

/**
 * Looks up the kernels of `dtype` in a module's exports; `float32Only`: the module is the
 * float32-only build (assembly/index_f32.ts), which has no cast to float64.
 */
export function bindKernels(exports: WebAssembly.Exports, dtype: DType, float32Only = false): DTypeKernels {
  const sfx = dtype === 'float32' ? 'f32' : 'f64';
  const get = <F>(name: string): F => {
    const f = exports[name];
    if (typeof f !== 'function') {
      throw new Error(`wasm backend: the module has no kernel '${name}'; rebuild it with \`npm run build:wasm\``);
    }
    return f as F;
  };
  const table = <K extends string, F>(ops: readonly K[]): Record<K, F> => {
    const t = {} as Record<K, F>;
    for (const op of ops) t[op] = get<F>(`${op}_${sfx}`);
    return t;
  };
  return {
    unary: table<UnaryOp, UnaryKernel>(UNARY_OPS),
    binary: table<BinaryOp, NdKernel2>(BINARY_OPS),
    reduce: table<ReduceOp, ReduceKernel>(REDUCE_OPS),
    where: get(`where_${sfx}`),
    fill: get(`fill_${sfx}`),
    axpby: get(`axpby_${sfx}`),
    castTo: float32Only ? null : get(dtype === 'float32' ? 'cast_f32_f64' : 'cast_f64_f32'),
    copy: get(`copy_${sfx}`),
    gemm: get(`gemm_${sfx}`),
    gemmPrepack: get(`gemm_prepack_${sfx}`),
    gemmPackedBytes: get(`gemm_packed_bytes_${sfx}`),
    gemmPacked: get(`gemm_packed_${sfx}`),
    dot: get(`dot_${sfx}`),
    norm: get(`norm_${sfx}`),
    gram: get(`gram_${sfx}`),
    solve: get(`solve_${sfx}`),
    lowrank: get(`lowrank_${sfx}`),
    lowrankPair: get(`lowrank_pair_${sfx}`),
    im2col: get(`im2col_${sfx}`),
    col2im: get(`col2im_${sfx}`),
    addTanh: get(`add_tanh_${sfx}`),
    tanhGrad: get(`tanh_grad_${sfx}`),
    fpStep: get(`fp_step_${sfx}`),
    andersonRecord: get(`anderson_record_${sfx}`),
    andersonMix: get(`anderson_mix_${sfx}`),
    broydenAdvance: get(`broyden_advance_${sfx}`),
    broydenStep: get(`broyden_step_${sfx}`),
  };
}
