/**
 * The backends the op suites run on, and the one place where skips are listed.
 * `js` is always there. `wasm` joins as soon as `src/init.ts` exists: `await init()`
 * registers it (and selects it; the default is put back to `js` so suites stay explicit).
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

async function available(): Promise<string[]> {
  const names = ['js'];
  const initFile = new URL('../../src/init.ts', import.meta.url);
  if (existsSync(fileURLToPath(initFile))) {
    const mod = (await import(/* @vite-ignore */ initFile.href)) as { init: () => Promise<unknown> };
    await mod.init();
    setBackend('js');
    if (findBackend('wasm')) names.push('wasm');
  }
  return names;
}

/** Names of every backend the suites run on (js first). */
export const BACKENDS: readonly string[] = await available();
/** Every backend except js: these are also compared against js on the same inputs. */
export const OTHER_BACKENDS: readonly string[] = BACKENDS.filter((b) => b !== 'js');

export function backendOf(name: string): Backend {
  const b = findBackend(name);
  if (!b) throw new Error(`backendOf: backend '${name}' is not registered`);
  return b;
}
