/**
 * The backends the op suites run on, and the one place where skips are listed.
 * `js` is always there. `wasm` joins as soon as `src/init.ts` exists: `await init()`
 * registers it (and selects it; the default is put back to `js` so suites stay explicit).
 * If `init()` fails, the js suites still run and `WASM_LOAD_ERROR` holds the reason, which
 * test/ops_backends.test.ts turns into one failing test instead of silently skipping wasm.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../src/index.js';
import { findBackend, setBackend } from '../../src/backend/registry.js';

/**
 * Skips, backend -> op-case name -> reason. Every entry must say why; an empty table means
 * every case runs on every backend.
 */
export const SKIPS: Readonly<Record<string, Readonly<Record<string, string>>>> = {};

export function skipReason(backend: string, caseName: string): string | undefined {
  return SKIPS[backend]?.[caseName];
}

/** Whether src/init.ts (the wasm loader) exists in this checkout. */
export const HAS_INIT = existsSync(fileURLToPath(new URL('../../src/init.ts', import.meta.url)));

/** Why loading wasm failed (null when it loaded, or when there is no src/init.ts yet). */
export let WASM_LOAD_ERROR: string | null = null;
/** What init() reported, when it ran. */
export let WASM_INIT_MESSAGE: string | null = null;

async function available(): Promise<string[]> {
  const names = ['js'];
  if (!HAS_INIT) return names;
  try {
    const initFile = new URL('../../src/init.ts', import.meta.url).href;
    const mod = (await import(/* @vite-ignore */ initFile)) as { init: () => Promise<{ message: string }> };
    WASM_INIT_MESSAGE = (await mod.init()).message;
  } catch (e) {
    WASM_LOAD_ERROR = e instanceof Error ? e.message : String(e);
  }
  setBackend('js');
  if (findBackend('wasm')) names.push('wasm');
  return names;
}

/** Names of every CPU backend the suites run on (js first). */
export const BACKENDS: readonly string[] = await available();

/** Why the webgpu backend could not be started (null when it runs). */
export let WEBGPU_LOAD_ERROR: string | null = null;

async function gpuBackends(): Promise<string[]> {
  if (!findBackend('wasm')) return [];
  const { GPU_OBJECT, WEBGPU_UNAVAILABLE, WEBGPU } = await import('./webgpu.js');
  if (!WEBGPU) {
    WEBGPU_LOAD_ERROR = WEBGPU_UNAVAILABLE;
    return [];
  }
  const initFile = new URL('../../src/init.ts', import.meta.url).href;
  const mod = (await import(/* @vite-ignore */ initFile)) as { init: (o: object) => Promise<{ webgpu: { available: boolean; reason?: string } }> };
  const info = await mod.init({ gpu: GPU_OBJECT as object });
  setBackend('js');
  if (!info.webgpu.available) WEBGPU_LOAD_ERROR = info.webgpu.reason ?? 'unavailable';
  return findBackend('webgpu') ? ['webgpu'] : [];
}

/**
 * GPU backends the op suites also run on, in float32 only (WGSL has no f64): forward against
 * the reference, float32 gradients against float64 wasm gradients, agreement with js.
 */
export const GPU_BACKENDS: readonly string[] = await gpuBackends();
/** Every backend except js: these are also compared against js on the same inputs. */
export const OTHER_BACKENDS: readonly string[] = BACKENDS.filter((b) => b !== 'js');

export function backendOf(name: string): Backend {
  const b = findBackend(name);
  if (!b) throw new Error(`backendOf: backend '${name}' is not registered`);
  return b;
}
