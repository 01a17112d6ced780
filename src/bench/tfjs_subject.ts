/** The tfjs-backend-wasm subject (float32 only: tfjs has no float64 tensors). */
import type { Prepared, Subject } from './subjects.js';
import { benchData } from './subjects.js';
import { tfjsWasm } from './tfjs.js';

/**
 * Loads tfjs (single-threaded SIMD wasm backend) and wraps it as a benchmark subject.
 * @example const s = await tfjsSubject(); s.gemm(256, 'float32')?.run()
 */
export async function tfjsSubject(): Promise<Subject> {
  const tf = await tfjsWasm();
  const prepared = (inputs: import('@tensorflow/tfjs-core').Tensor[], op: () => import('@tensorflow/tfjs-core').Tensor): Prepared => ({
    run: () => op().dispose(),
    dispose: () => inputs.forEach((t) => t.dispose()),
  });
  return {
    label: 'tfjs-wasm',
    gemm(shape, dtype) {
      if (dtype !== 'float32') return null;
      const { m, n, k, transA, transB } = shape;
      const a = tf.tensor2d(Float32Array.from(benchData(m * k, 1)), transA ? [k, m] : [m, k]);
      const b = tf.tensor2d(Float32Array.from(benchData(k * n, 2)), transB ? [n, k] : [k, n]);
      return prepared([a, b], () => tf.matMul(a, b, transA, transB));
    },
    elementwise(op, size) {
      const a = tf.tensor1d(Float32Array.from(benchData(size, 3)));
      if (op === 'tanh') return prepared([a], () => tf.tanh(a));
      const b = tf.tensor1d(Float32Array.from(benchData(size, 4)));
      return prepared([a, b], () => tf.add(a, b));
    },
  };
}
