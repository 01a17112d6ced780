/**
 * Which backends the op suites run on, and op-level agreement of every non-js backend with
 * js over a sweep of awkward sizes (1, 3, 17, 33, 100) in float32 and float64: matmul in
 * all transposition layouts, reductions over each axis, elementwise chains, softmax,
 * layerNorm, conv2d, region ops, cast.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { BACKENDS, GPU_BACKENDS, HAS_INIT, OTHER_BACKENDS, WASM_INIT_MESSAGE, WASM_LOAD_ERROR, WEBGPU_LOAD_ERROR, backendOf } from './helpers/backends.js';
import { assertClose, tolFor } from './helpers/tolerance.js';
import { gen } from './helpers/ref.js';
import { matmulEx } from '../src/ops/linalg.js';

const SIZES = [1, 3, 17, 33, 100];
const DTYPES: DType[] = ['float32', 'float64'];

describe('backend coverage', () => {
  it('wasm joins the op suites exactly when src/init.ts exists and init() succeeds', () => {
    if (!HAS_INIT) {
      expect(BACKENDS).toEqual(['js']);
      return;
    }
    expect(WASM_LOAD_ERROR, `init() failed, so the op suites ran on js only: ${WASM_LOAD_ERROR}`).toBeNull();
    expect(BACKENDS, `init() said: ${WASM_INIT_MESSAGE}`).toEqual(['js', 'wasm']);
  });

  it('webgpu joins the op suites (float32) when an adapter is found, and always under CI', () => {
    if (process.env.CI || WEBGPU_LOAD_ERROR === null) {
      expect(WEBGPU_LOAD_ERROR, `no webgpu backend, so the op suites did not run on it: ${WEBGPU_LOAD_ERROR}`).toBeNull();
      expect(GPU_BACKENDS).toEqual(['webgpu']);
    } else {
      console.warn(`op suites without webgpu: ${WEBGPU_LOAD_ERROR}`);
    }
  });
});

/** Runs fn on the same inputs on `backend` and on js and compares the outputs. */
function agree(backend: string, dtype: DType, shapes: number[][], fn: (...xs: Tensor[]) => Tensor, label: string): void {
  const data = shapes.map((s, i) => gen(s, 'normal', 1000 + 17 * i + s.length));
  const run = (b: string): Float32Array | Float64Array => T.tidy(() =>
    fn(...data.map((d) => T.tensor(d.data, d.shape, { dtype, backend: backendOf(b) }))).dataSync());
  assertClose(run(backend), run('js'), tolFor(backend, dtype, 'forward'), `${label} (${backend} vs js, ${dtype})`);
}

describe.each(OTHER_BACKENDS)('%s agrees with js over a size sweep', (backend) => {
  it.each(DTYPES)('matmul (m, k, n) over {1,3,17,33,100}^3 in %s, plain and transposed', (dtype) => {
    for (const m of SIZES) for (const k of SIZES) for (const n of SIZES) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        agree(backend, dtype, [tA ? [k, m] : [m, k], tB ? [n, k] : [k, n]], (a, b) => matmulEx(a, b, tA, tB),
          `matmul ${m}x${k}x${n}${tA ? ' A^T' : ''}${tB ? ' B^T' : ''}`);
      }
    }
    for (const s of SIZES) {
      agree(backend, dtype, [[3, s, 17], [17, 5]], (a, b) => T.matmul(a, b), `batched, shared B, ${s}`);
      agree(backend, dtype, [[2, 17, s], [2, 3, 17]], (a, b) => matmulEx(a, b, true, true), `batched A^T B^T ${s}`);
    }
  });

  it.each(DTYPES)('reductions over each axis of [s, 17, t] in %s', (dtype) => {
    for (const s of SIZES) for (const t of [1, 3, 33]) {
      for (const ax of [0, 1, 2]) {
        agree(backend, dtype, [[s, 17, t]], (x) => x.sum(ax), `sum axis ${ax} of [${s},17,${t}]`);
        agree(backend, dtype, [[s, 17, t]], (x) => x.max(ax), `max axis ${ax} of [${s},17,${t}]`);
        agree(backend, dtype, [[s, 17, t]], (x) => T.argmin(x, ax), `argmin axis ${ax} of [${s},17,${t}]`);
      }
    }
  });

  it.each(DTYPES)('elementwise, where, cast, softmax, layerNorm, conv2d and region ops at every size in %s', (dtype) => {
    for (const s of SIZES) {
      agree(backend, dtype, [[s, 17], [17]], (a, b) => T.tanh(a).mul(b).add(T.exp(b)).div(T.sigmoid(a).add(1)), `elementwise chain ${s}`);
      agree(backend, dtype, [[s, 33]], (x) => T.gelu(x).add(T.softplus(x)), `gelu+softplus ${s}`);
      agree(backend, dtype, [[3, s]], (x) => T.softmax(x), `softmax ${s}`);
      agree(backend, dtype, [[3, s]], (x) => T.layerNorm(x, [s]), `layerNorm ${s}`);
      agree(backend, dtype, [[2, 3, s, 5], [4, 3, 3, 3], [4]], (x, w, b) => T.conv2d(x, w, b, { padding: 1, stride: [2, 1] }), `conv2d H=${s}`);
      agree(backend, dtype, [[s, 4], [3, 4]], (a, b) => T.permute(T.concat([a, b], 0).pad([1, 2]), [1, 0]), `concat/pad/permute ${s}`);
      agree(backend, dtype, [[s, 17]], (x) => T.cast(x, dtype === 'float32' ? 'float64' : 'float32'), `cast ${s}`);
      agree(backend, dtype, [[s, 17]], (x) => T.where(T.greater(x, 0), T.sqrt(T.abs(x)), T.minimum(x, -0.5)), `where/compare ${s}`);
    }
  });
});
