/**
 * WASM linear memory under pressure: `memory.grow` in the middle of a computation (both from
 * a JS-side allocation and from scratch allocated inside a kernel) must not corrupt earlier
 * storages or results, live bytes return to baseline after disposal, and freed blocks are
 * reused instead of growing memory again.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, embeddedBytes } from '../src/backend/wasm_loader.js';
import type { WasmBackend } from '../src/backend/wasm.js';
import * as T from '../src/index.js';
import { compareOn, expectClose, jsRef, rng, storageOf, values } from './helpers/backend_compare.js';

const MB = 1 << 20;
let wasm: WasmBackend;

beforeAll(async () => {
  wasm = await createWasmBackend(await embeddedBytes('simd'));
});

describe('wasm memory growth', () => {
  it('storages made before a memory.grow keep their values and keep computing correctly', () => {
    const g = rng(1);
    const xa = values(1000, 'float64', () => g()), ya = values(1000, 'float64', () => g());
    const x = storageOf(wasm, xa, 'float64'), y = storageOf(wasm, ya, 'float64');
    const ex = wasm.alloc(1000, 'float64');
    wasm.unary('exp', x, ex);
    const before = wasm.memoryBytes();
    const big = wasm.alloc(16 * MB, 'float32'); // 64 MB: forces the memory to grow
    expect(wasm.memoryBytes()).toBeGreaterThan(before);
    wasm.fill(big, 2.5);
    const sum = wasm.alloc(1000, 'float64');
    wasm.binary('add', ex, y, sum, [1000], [1], [1]);
    const want = xa.map((v, i) => Math.exp(v) + ya[i]);
    expectClose(wasm.readSync(sum), want, { rtol: 1e-15, atol: 1e-15 }, 'exp(x) + y after growth');
    expect(Array.from(wasm.readSync(x))).toEqual(xa);
    const bigData = wasm.readSync(big);
    expect(bigData.length).toBe(16 * MB);
    expect(bigData[0]).toBe(2.5);
    expect(bigData[16 * MB - 1]).toBe(2.5);
    for (const s of [x, y, ex, big, sum]) wasm.free(s);
  });

  it('growth caused by scratch inside a kernel (argmax over a huge inner axis, a large gemm) gives correct results', async () => {
    // A fresh instance, allocated in an order that leaves almost no free space for the
    // kernel's 4 MB scratch (the allocator grows by at least the current size, so the
    // larger block must come last).
    const w = await createWasmBackend(await embeddedBytes('simd'));
    const outer = 1, n = 3, inner = MB;
    const g = rng(2);
    const xa = values(outer * n * inner, 'float32', () => g());
    const keep = storageOf(w, [1, 2, 3], 'float32');
    const out = w.alloc(outer * inner, 'float32');
    const x = storageOf(w, xa, 'float32');
    const before = w.memoryBytes();
    w.reduce('argmax', x, out, outer, n, inner);
    expect(w.memoryBytes()).toBeGreaterThan(before); // the kernel's scratch grew memory
    const got = w.readSync(out);
    for (let c = 0; c < inner; c += 997) {
      const col = [0, 1, 2].map((j) => xa[j * inner + c]);
      expect(got[c]).toBe(col.indexOf(Math.max(...col)));
    }
    expect(Array.from(w.readSync(keep))).toEqual([1, 2, 3]);
    for (const s of [x, keep, out]) w.free(s);

    // gemm packs operands into scratch it allocates itself
    const m = 120, k = 300, nn = 200;
    const [want, res] = compareOn(wasm, 'float64', [values(m * k, 'float64', () => g()), values(k * nn, 'float64', () => g())],
      m * nn, (b, [sa, sb], o) => b.matmul(sa, sb, o, { batch: 1, m, n: nn, k, transA: false, transB: false, strideA: 0, strideB: 0 }));
    expectClose(res, want, { rtol: 1e-12, atol: 1e-12 }, 'gemm after growth');
  });
});

describe('wasm memory accounting and reuse', () => {
  it('liveBytes counts storages and returns to baseline after free', () => {
    const base = wasm.liveBytes();
    const a = wasm.alloc(100, 'float32'), b = wasm.alloc(33, 'float64'), c = wasm.alloc(0, 'float32');
    expect(wasm.liveBytes()).toBe(base + 400 + 264);
    for (const s of [a, b, c]) wasm.free(s);
    expect(wasm.liveBytes()).toBe(base);
  });

  it('freed memory is reused: alloc/free cycles do not grow the memory again', () => {
    const first = wasm.alloc(MB, 'float64'); // 8 MB
    wasm.free(first);
    const size = wasm.memoryBytes();
    for (let i = 0; i < 20; i++) {
      const s = wasm.alloc(MB, 'float64');
      wasm.fill(s, i);
      expect(wasm.readSync(s)[MB - 1]).toBe(i);
      wasm.free(s);
    }
    expect(wasm.memoryBytes()).toBe(size);
  });

  it('a fresh allocation after free is zero-filled again', () => {
    const s = wasm.alloc(1000, 'float32');
    wasm.fill(s, 7);
    wasm.free(s);
    const t = wasm.alloc(1000, 'float32');
    expect(wasm.readSync(t).every((v) => v === 0)).toBe(true);
    wasm.free(t);
  });

  it('tensors on the wasm backend release their bytes on dispose and inside tidy', async () => {
    await T.init();
    T.setBackend('wasm');
    try {
      const base = T.memory().backends.wasm;
      const x = T.randn([50, 40]);
      T.tidy(() => {
        const y = x.tanh().mul(x).sum();
        expect(Number.isFinite(y.item())).toBe(true);
      });
      expect(T.memory().backends.wasm).toBe(base + 50 * 40 * 4);
      x.dispose();
      expect(T.memory().backends.wasm).toBe(base);
    } finally {
      T.setBackend('js');
    }
  });

  it('a storage beyond the allocator limit is a clear Error, and the backend keeps working afterwards', () => {
    expect(() => wasm.alloc(1.1e9, 'float32')).toThrow(/wasm backend: alloc\(1100000000, 'float32'\): expected at most 1073741808 bytes per storage .*received a request for 4400000000 bytes/);
    const [want, got] = compareOn(wasm, 'float32', [[1, 2, 3]], 3, (b, [x], o) => b.unary('square', x, o));
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(jsRef.liveBytes()).toBe(0);
  });
});
