/** A tsdeq backend as a benchmark subject: its kernels on its own storages, no tensor layer. */
import type { Backend } from '../backend/backend.js';
import type { PackCache } from '../backend/wasm_pack_cache.js';
import type { Prepared, Subject } from './subjects.js';
import { benchData } from './subjects.js';

/**
 * Wraps `backend` as a subject labelled `label`.
 * @example const s = backendSubject('tsdeq js', findBackend('js')!)
 */
export function backendSubject(label: string, backend: Backend): Subject {
  const input = (size: number, dtype: 'float32' | 'float64', seed: number) => {
    const s = backend.alloc(size, dtype);
    backend.write(s, benchData(size, seed));
    return s;
  };
  return {
    label,
    gemm(shape, dtype, opts) {
      const { m, n, k, transA, transB } = shape;
      const a = input(m * k, dtype, 1), b = input(k * n, dtype, 2), c = backend.alloc(m * n, dtype);
      const spec = { batch: 1, m, n, k, transA, transB, strideA: 0, strideB: 0 };
      // The wasm backend keeps a B it sees twice packed; unless asked to, time the plain product.
      const cache = (backend as { packCache?: PackCache }).packCache;
      const budget = cache?.maxBytes ?? 0;
      if (cache && !opts?.keepPacked) cache.maxBytes = 0;
      return {
        run: () => backend.matmul(a, b, c, spec),
        dispose: () => {
          [a, b, c].forEach((s) => backend.free(s));
          if (cache) cache.maxBytes = budget;
        },
      };
    },
    elementwise(op, size): Prepared {
      const a = input(size, 'float32', 3), out = backend.alloc(size, 'float32');
      if (op === 'tanh') {
        return { run: () => backend.unary('tanh', a, out), dispose: () => [a, out].forEach((s) => backend.free(s)) };
      }
      const b = input(size, 'float32', 4);
      return {
        run: () => backend.binary('add', a, b, out, [size], [1], [1]),
        dispose: () => [a, b, out].forEach((s) => backend.free(s)),
      };
    },
  };
}
