/**
 * Backend registry: `registerBackend`, `setBackend`, `getBackend`, `listBackends`.
 * The `js` backend is always present; `wasm` is registered by `init()`, `webgpu` by
 * `init({ gpu })` (or `init()` where `navigator.gpu` exists).
 */
import type { Backend } from './backend.js';
import { JsBackend } from './js.js';
import { detectFeatures } from './wasm_loader.js';
import { show } from '../utils/format.js';

const backends = new Map<string, Backend>();
const pending = new Map<string, string>();
let current: Backend;
/** Whether a backend was ever selected explicitly (`setBackend`, which `init()` calls). */
let chosen = false;
let warnedSlow = false;

/**
 * Registers a backend under `name` (replacing one of that name) so `setBackend(name)` can select it.
 * @example registerBackend('mine', new MyBackend())
 */
export function registerBackend(name: string, backend: Backend): void {
  backends.set(name, backend);
  pending.delete(name);
}

/** Names a backend that exists but needs `hint` (e.g. `await init()`) before it can be used. */
export function declareBackend(name: string, hint: string): void {
  if (!backends.has(name)) pending.set(name, hint);
}

/**
 * Names of the registered backends.
 * @example listBackends() // ['js', 'wasm'] after init()
 */
export function listBackends(): string[] {
  return [...backends.keys()];
}

/**
 * Selects the backend new tensors are created on.
 * @example setBackend('js')
 */
export function setBackend(name: string): void {
  const b = backends.get(name);
  if (!b) {
    const hint = pending.get(name);
    if (hint) throw new Error(`setBackend: backend '${name}' is not ready: ${hint}`);
    throw new Error(`setBackend: unknown backend '${name}'; expected one of ${show([...backends.keys(), ...pending.keys()])}`);
  }
  current = b;
  chosen = true;
}

/**
 * The backend new tensors are created on.
 * @example getBackend().name // 'wasm' after init()
 */
export function getBackend(): Backend {
  return current;
}

export function findBackend(name: string): Backend | undefined {
  return backends.get(name);
}

/**
 * Internal: the backend a `backend` option names (a registered name or a Backend object),
 * with an error naming `where` for unknown names or names not ready yet.
 */
export function resolveBackend(where: string, b: Backend | string): Backend {
  if (typeof b !== 'string') return b;
  const found = backends.get(b);
  if (found) return found;
  const hint = pending.get(b);
  if (hint) throw new Error(`${where}: backend '${b}' is not ready: ${hint}`);
  throw new Error(`${where}: unknown backend '${b}'; expected one of ${JSON.stringify([...backends.keys(), ...pending.keys()])}`);
}

const js = new JsBackend();
registerBackend('js', js);
declareBackend('wasm', 'call `await init()` first');
declareBackend('webgpu', 'call `await init({ gpu })` with a WebGPU GPU, adapter or device (navigator.gpu in browsers; in Node, create([]) from the npm webgpu package)');
current = js;

/** Multiply-adds from which a product counts as heavy for `noteHeavyOp` (a 128^3 matmul). */
const HEAVY_WORK = 1 << 21;

/**
 * Internal: heavy ops (matrix products, hence convolutions and linear layers) report their
 * work here. The first heavy op that runs on the `js` reference backend only because no
 * backend was ever chosen (`init()` not called, no `setBackend`) on an engine where the wasm
 * backend would run prints one warning naming `await init()`; small ops never do.
 * @example noteHeavyOp('matmul', a.backend, m * n * k)
 */
export function noteHeavyOp(where: string, backend: Backend, work: number): void {
  if (warnedSlow || chosen || backend !== js || !(work >= HEAVY_WORK)) return;
  warnedSlow = true;
  if (!detectFeatures().simd) return; // the js backend is all this engine has
  console.warn(`${where}: running on the 'js' reference backend (about 7-12x slower) because init() was never called; call \`await init()\` before creating tensors to use the wasm backend, or setBackend('js') to choose the js backend and silence this warning (shown once)`);
}

/** Internal (tests): forget that a backend was chosen and that the warning was shown. */
export function resetHeavyOpWarning(): void {
  chosen = false;
  warnedSlow = false;
}
