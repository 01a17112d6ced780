/**
 * The comparison baseline: `@tensorflow/tfjs-core` with `@tensorflow/tfjs-backend-wasm` (a
 * devDependency) on ONE thread, loaded once on first use. The wasm backend is forced onto its
 * single-threaded SIMD binary (`setThreadsCount(1)` and no multithread support) so the numbers
 * compare one core against one core. Its `.wasm` files are read from node_modules.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

type Tf = typeof import('@tensorflow/tfjs-core');

let loaded: Promise<Tf> | null = null;

async function load(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  // Under Node the emscripten loader reads the binary with fs, so a plain directory path works.
  wasm.setWasmPaths(join(dirname(pkg), 'dist') + '/');
  wasm.setThreadsCount(1);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  await tf.ready();
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) {
    throw new Error('tfjs: the wasm backend reports no SIMD support; its numbers would not be comparable');
  }
  return tf;
}

/**
 * tfjs with the single-threaded SIMD wasm backend selected (loaded on the first call).
 * @example const tf = await tfjsWasm(); tf.matMul(a, b)
 */
export function tfjsWasm(): Promise<Tf> {
  loaded ??= load();
  return loaded;
}

/**
 * Installed version of `@tensorflow/tfjs-backend-wasm` (for the report).
 * @example tfjsVersion() // '4.22.0'
 */
export function tfjsVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version;
}
