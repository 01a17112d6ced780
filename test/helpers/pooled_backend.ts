/**
 * A shared-memory wasm backend with a running 2-thread pool for one describe block (the thread
 * tests): created before its tests, back to one thread after them. Set `want` to the thread
 * count the next calls should use; the pool never backs off, so tests can count pooled jobs.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { WasmBackend, WasmVariant } from '../../src/backend/wasm.js';
import { embeddedBytes } from '../../src/backend/wasm_loader.js';
import { createSharedWasmBackend } from '../../src/backend/wasm_shared.js';

export interface PooledBackend {
  /** The backend (set once the block's beforeAll has run). */
  wasm: WasmBackend;
  /** Threads the next calls use (1 or 2). */
  want: number;
}

/** Registers the block's setup and teardown; call it at the top of a describe callback. */
export function usePooledBackend(variant: WasmVariant): PooledBackend {
  const p: PooledBackend = { wasm: null as unknown as WasmBackend, want: 2 };
  beforeAll(async () => {
    p.wasm = await createSharedWasmBackend(await embeddedBytes(variant, true), () => p.want);
    expect(p.wasm.variant).toBe(variant);
    expect(await p.wasm.parallel!.pool.resize(2)).toBe(2);
    p.wasm.parallel!.pool.backoff.enabled = false; // never back off to one thread (jobs are counted)
  });
  afterAll(async () => {
    await p.wasm.parallel!.pool.resize(1);
    expect(p.wasm.parallel!.pool.threads).toBe(1);
  });
  return p;
}
