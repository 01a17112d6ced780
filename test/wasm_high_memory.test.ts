/**
 * The whole 4 GiB heap: addresses past 2 GiB are negative as i32, so every pointer must be
 * treated as unsigned from the allocator's return value through the ownership checks, the
 * typed-array views, `free`, the pack cache and the thread pool's arguments. A fresh instance
 * is pushed past 2 GiB with two 1 GiB blocks that are never written (their pages stay
 * uncommitted, so the test costs little real memory); tensors then live above 2 GiB and every
 * kind of op on them is compared with the `js` reference, then released, and the instance
 * keeps working.
 */
import { describe, expect, it } from 'vitest';
import { createWasmBackend, embeddedBytes } from '../src/backend/wasm_loader.js';
import { createSharedWasmBackend } from '../src/backend/wasm_shared.js';
import type { WasmBackend } from '../src/backend/wasm.js';
import type { WasmStorage } from '../src/backend/wasm_heap.js';
import type { Storage } from '../src/backend/backend.js';
import * as T from '../src/index.js';
import { jsRef, rng } from './helpers/backend_compare.js';

const GiB = 2 ** 30;
const PAD = (GiB - 16) / 4; // float32 elements in the allocator's largest block

function ptrOf(t: T.Tensor): number {
  return ((t as unknown as { storage: Storage }).storage as WasmStorage).ptr;
}

/** Two untouched 1 GiB blocks: everything allocated afterwards lands above 2 GiB. */
function padPast2GiB(w: WasmBackend): Storage[] {
  const pads = [w.allocUninit(PAD, 'float32'), w.allocUninit(PAD, 'float32')];
  expect(w.memoryBytes()).toBeGreaterThan(2 * GiB);
  return pads;
}

/** Runs a set of ops on `b` and returns their values (float64, awkward sizes). */
async function workload(b: T.Backend, seed: number): Promise<Record<string, number[]>> {
  const g = rng(seed);
  const mk = (shape: number[]) => T.tensor(Array.from({ length: shape.reduce((a, c) => a * c, 1) }, () => g()), shape, { dtype: 'float64', backend: b });
  const out = T.tidy(() => {
    const a = mk([17, 33]), c = mk([33, 3]), v = mk([33]), z = mk([3, 17]);
    const r: Record<string, T.Tensor> = {
      add: T.add(a, v),
      exp: T.exp(a),
      tanh: T.tanh(T.mul(a, 0.5)),
      matmul: T.matmul(a, c),
      matmulPacked: T.matmul(T.matmul(a, c), z), // B reused below: the pack cache packs it
      matmulAgain: T.matmul(T.mul(T.matmul(a, c), 2), z),
      sum: T.sum(a, 1),
      max: T.max(a, 0),
      softmax: T.softmax(a, -1),
      transpose: T.clone(T.transpose(a, 0, 1)),
      concat: T.concat([a, a], 0),
      where: T.where(T.greater(a, 0), a, T.neg(a)),
    };
    const out: Record<string, number[]> = {};
    for (const [k, t] of Object.entries(r)) out[k] = Array.from(t.dataSync());
    return out;
  });
  const W = T.tidy(() => T.mul(mk([17, 17]), 0.05)), u = mk([3, 17]), z0 = T.zeros([3, 17], { dtype: 'float64', backend: b });
  const res = await T.anderson((x: T.Tensor) => T.tanh(T.add(T.matmul(x, W), u)), z0, { maxIter: 30 });
  out.anderson = Array.from((res.z as T.Tensor).dataSync());
  for (const t of [W, u, z0, res.z as T.Tensor, ...res.trajectory as T.Tensor[], ...Object.values(res.stats)]) if (!t.isDisposed) t.dispose();
  return out;
}

function expectSame(got: Record<string, number[]>, want: Record<string, number[]>): void {
  for (const k of Object.keys(want)) {
    expect(got[k].length, k).toBe(want[k].length);
    for (let i = 0; i < want[k].length; i++) expect(Math.abs(got[k][i] - want[k][i]), `${k}[${i}]`).toBeLessThan(1e-9 * (1 + Math.abs(want[k][i])));
  }
}

describe('wasm storages above 2 GiB', () => {
  it('allocate, compute like the js reference, free, and keep working afterwards', async () => {
    const w = await createWasmBackend(await embeddedBytes('simd'));
    const pads = padPast2GiB(w);
    const high = T.tensor([1, 2, 3], [3], { backend: w });
    expect(ptrOf(high)).toBeGreaterThan(2 ** 31);
    expect(Array.from(high.dataSync())).toEqual([1, 2, 3]);
    const live = w.liveBytes();
    const want = await workload(jsRef, 7);
    expectSame(await workload(w, 7), want);
    expect(w.liveBytes()).toBe(live);
    high.dispose();
    expect(high.isDisposed).toBe(true);
    for (const s of pads) w.free(s);
    expect(w.liveBytes()).toBe(0);
    // Memory freed: a storage again fits below 2 GiB, and one past it again works.
    expectSame(await workload(w, 8), await workload(jsRef, 8));
    const again = padPast2GiB(w);
    const t = T.add(T.tensor([1, 2], [2], { backend: w }), 1);
    expect(ptrOf(t)).toBeGreaterThan(2 ** 31);
    expect(Array.from(t.dataSync())).toEqual([2, 3]);
    t.dispose();
    for (const s of again) w.free(s);
  });

  it('the thread pool runs kernels on operands and scratch above 2 GiB', async () => {
    const w = await createSharedWasmBackend(await embeddedBytes('simd', true), () => 2);
    const pool = w.parallel!.pool;
    const pads = padPast2GiB(w);
    expect(await pool.resize(2)).toBe(2);
    pool.backoff.enabled = false;
    try {
      const g = rng(3);
      const n = 160;
      const av = Array.from({ length: n * n }, () => g()), bv = Array.from({ length: n * n }, () => g());
      const jobs = pool.jobs;
      const [got, want] = [w, jsRef].map((b) => T.tidy(() => {
        const a = T.tensor(av, [n, n], { backend: b }), c = T.tensor(bv, [n, n], { backend: b });
        if (b === w) expect(ptrOf(a)).toBeGreaterThan(2 ** 31);
        return Array.from(T.tanh(T.add(T.matmul(a, c), a)).dataSync());
      }));
      expect(pool.jobs).toBeGreaterThan(jobs);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-4);
    } finally {
      await pool.resize(1);
      for (const s of pads) w.free(s);
    }
    expect(w.liveBytes()).toBe(0);
  });

  it('running out of memory is a clear error with numbers, and the library works once memory is released', async () => {
    const w = await createWasmBackend(await embeddedBytes('simd'));
    const pads = [w.allocUninit(PAD, 'float32'), w.allocUninit(PAD, 'float32'), w.allocUninit(PAD, 'float32')];
    const small = Array.from({ length: 5 }, (_, i) => T.full([1000], i, { backend: w }));
    let err: unknown = null;
    try {
      T.zeros([PAD], { backend: w });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^out of WebAssembly memory: cannot allocate 1\.0 GiB more .*; 8 live tensors hold 3\.0 GiB of the 4\.0 GiB the module can grow to .*missing tidy\(\) or dispose\(\)\?/);
    // Nothing changed: the live tensors keep their values, and ops that fit still run.
    expect(T.tidy(() => Array.from(T.add(small[3], small[2]).dataSync().slice(0, 2)))).toEqual([5, 5]);
    for (const s of pads) w.free(s);
    const big = w.allocUninit(PAD, 'float32'); // the same request now fits
    w.free(big);
    expect(T.tidy(() => Array.from(T.sum(T.mul(small[4], 2)).dataSync()))).toEqual([8000]);
    for (const t of small) t.dispose();
    expect(w.liveBytes()).toBe(0);
  });
});
