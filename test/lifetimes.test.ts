/**
 * Tensor lifetimes: tidy/keep, graph release by scopes, async tidy around a training step,
 * dispose, disposed-tensor errors, and the FinalizationRegistry backstop (in a child process
 * started with --expose-gc).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
// @ts-expect-error: a plain ES module of the build scripts, without type declarations
import { wasmUrlPlugin, BUILD_WASM_URL } from '../scripts/wasm_url_plugin.mjs';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { scopes } from '../src/scope.js';

const f64 = { dtype: 'float64' as const };
const snapshot = (): { numTensors: number; numBytes: number } => {
  const m = T.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
};

/** 10k small ops: a chain of elementwise ops, reductions and a matmul, nothing returned. */
function manyOps(x: Tensor, w: Tensor, n: number): void {
  let h = x;
  for (let i = 0; i < n; i += 5) {
    h = h.matmul(w).tanh().mul(0.5).add(x).sub(h.mean());
  }
}

describe('tidy keeps memory flat', () => {
  for (const requiresGrad of [false, true]) {
    it(`10k ops per round, ${requiresGrad ? 'with' : 'without'} requiresGrad inputs, no backward`, () => {
      const x = T.randn([4, 8], { ...f64, seed: 1, requiresGrad });
      const w = T.randn([8, 8], { ...f64, seed: 2, std: 0.3, requiresGrad });
      const base = snapshot();
      const rounds: { numTensors: number; numBytes: number }[] = [];
      for (let r = 0; r < 3; r++) {
        let inside = 0;
        T.tidy(() => {
          manyOps(x, w, 10_000);
          inside = T.memory().numTensors;
        });
        // Inside the scope the intermediates (and, with grad, the nodes' saved handles) were alive.
        expect(inside).toBeGreaterThan(base.numTensors + 5_000);
        rounds.push(snapshot());
      }
      for (const m of rounds) expect(m).toEqual(base);
      // Disposed here, not left to the GC backstop: a later test's snapshot must not see them go.
      x.dispose();
      w.dispose();
    });
  }

  it('a graph built inside tidy and dropped releases its saved tensors (no backward)', () => {
    const x = T.randn([16], { ...f64, seed: 3, requiresGrad: true });
    const base = snapshot();
    T.tidy(() => {
      const y = x.exp().mul(x).tanh().sum();
      expect(y.requiresGrad).toBe(true);
    });
    expect(snapshot()).toEqual(base);
    x.dispose();
  });
});

describe('tidy keeps memory flat on the wasm backend', () => {
  afterAll(() => T.setBackend('js'));
  it('10k ops per round with requiresGrad inputs, float32 and float64', async () => {
    const info = await T.init();
    expect(info.backend).toBe('wasm');
    for (const dtype of ['float32', 'float64'] as const) {
      const x = T.randn([4, 8], { dtype, seed: 1, requiresGrad: true });
      const w = T.randn([8, 8], { dtype, seed: 2, std: 0.3, requiresGrad: true });
      expect(x.backend.name).toBe('wasm');
      const base = snapshot();
      for (let r = 0; r < 3; r++) {
        T.tidy(() => manyOps(x, w, 10_000));
        expect(snapshot()).toEqual(base);
      }
      x.dispose();
      w.dispose();
    }
  });
});

describe('tidy results', () => {
  it('returned tensors survive, also inside arrays, objects and maps', () => {
    const x = T.tensor([1, 2, 3]);
    const base = snapshot();
    const r = T.tidy(() => {
      const a = x.mul(2);
      const b = x.add(1);
      const c = x.sub(1);
      x.mul(100); // dropped
      return { list: [a, { b }], map: new Map([['c', c]]), n: 3 };
    });
    expect(r.list[0]).toBeInstanceOf(T.Tensor);
    expect((r.list[0] as Tensor).toArray()).toEqual([2, 4, 6]);
    expect((r.list[1] as { b: Tensor }).b.toArray()).toEqual([2, 3, 4]);
    expect(r.map.get('c')!.toArray()).toEqual([0, 1, 2]);
    expect(snapshot().numTensors).toBe(base.numTensors + 3);
    (r.list[0] as Tensor).dispose();
    (r.list[1] as { b: Tensor }).b.dispose();
    r.map.get('c')!.dispose();
    expect(snapshot()).toEqual(base);
    x.dispose();
  });

  it('keep() protects a tensor from every enclosing tidy', () => {
    const base = snapshot();
    let kept: Tensor | null = null, inner: Tensor | null = null;
    T.tidy(() => {
      T.tidy(() => {
        kept = T.keep(T.ones([3]).mul(7));
        inner = T.ones([2]);
      });
      expect(inner!.isDisposed).toBe(true);
    });
    expect(kept!.isDisposed).toBe(false);
    expect(kept!.toArray()).toEqual([7, 7, 7]);
    kept!.dispose();
    expect(snapshot()).toEqual(base);
  });

  it('nested tidy: the inner result lives in the outer scope until the outer ends', () => {
    const base = snapshot();
    let fromInner: Tensor | null = null;
    const outer = T.tidy(() => {
      fromInner = T.tidy(() => T.arange(4).mul(2));
      expect(fromInner.isDisposed).toBe(false);
      return fromInner.add(1);
    });
    expect(fromInner!.isDisposed).toBe(true);
    expect(outer.toArray()).toEqual([1, 3, 5, 7]);
    outer.dispose();
    expect(snapshot()).toEqual(base);
  });

  it('a result that carries a graph can still be differentiated after tidy', async () => {
    const x = T.tensor([0.5, -1], undefined, { ...f64, requiresGrad: true });
    const y = T.tidy(() => x.exp().mul(x).sum()); // d/dx x e^x = (1 + x) e^x
    await y.backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([1.5 * Math.exp(0.5), 0]);
    T.zeroGrad([x]);
    x.dispose();
    y.dispose();
  });

  it('a throwing tidy frees what it made and rethrows', () => {
    const base = snapshot();
    expect(() => T.tidy(() => { T.ones([10]); throw new Error('inside'); })).toThrow('inside');
    expect(snapshot()).toEqual(base);
  });
});

describe('async tidy around a training step', () => {
  it('await loss.backward() inside tidy: leaf .grad survives, memory is flat across steps', async () => {
    // Fit w in y = x w to the target t with plain gradient descent; loss = mean((x w - t)^2).
    const x = T.tensor([[1, 0], [0, 1], [1, 1]], undefined, f64);
    const t = T.tensor([[1], [2], [3]], undefined, f64);
    let w = T.zeros([2, 1], { ...f64, requiresGrad: true });
    const losses: number[] = [];
    const mems: { numTensors: number; numBytes: number }[] = [];
    for (let step = 0; step < 6; step++) {
      const lossValue = await T.tidy(async () => {
        const loss = x.matmul(w).sub(t).square().mean();
        await loss.backward();
        return loss.item();
      });
      expect(w.grad).not.toBeNull();
      expect(w.grad!.isDisposed).toBe(false);
      if (step === 0) {
        // At w = 0: grad = 2/3 x^T (x w - t) = 2/3 x^T (-t) = -2/3 [1 + 3, 2 + 3] = [-8/3, -10/3].
        const g = Array.from(w.grad!.dataSync());
        expect(g[0]).toBeCloseTo(-8 / 3, 14);
        expect(g[1]).toBeCloseTo(-10 / 3, 14);
      }
      const next = T.tidy(() => T.keep(w.sub(w.grad!.mul(0.3)).detach().requireGrad()));
      w.dispose();
      T.zeroGrad([w]);
      w = next;
      losses.push(lossValue);
      mems.push(snapshot());
    }
    expect(losses[0]).toBeCloseTo(14 / 3, 14);
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1]);
    for (const m of mems.slice(1)) expect(m).toEqual(mems[0]);
    T.zeroGrad([w]);
    for (const v of [x, t, w]) v.dispose();
  });
});

describe('interleaved async tidies', () => {
  it('the one ending out of order rejects clearly, frees nothing in use, and the stack recovers', async () => {
    const base = snapshot();
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    let madeByA: Tensor | null = null;
    const a = T.tidy(async () => {
      madeByA = T.ones([3]);
      await new Promise((r) => setTimeout(r, 1));
      return 1;
    });
    await Promise.resolve(); // a later turn: b could be nested in a's body, so it begins on top of a
    const b = T.tidy(async () => { await gate; return T.ones([2]); });
    await expect(a).rejects.toThrow(/^tidy: expected scopes to end in the reverse order they began.*await them one after another/);
    expect(madeByA!.isDisposed).toBe(false); // abandoned to the GC backstop, not freed under anyone
    expect(scopes.depth()).toBe(1); // only b is still open
    open();
    const fromB = await b;
    expect(fromB.toArray()).toEqual([1, 1]);
    expect(scopes.depth()).toBe(0);
    const before = snapshot();
    T.tidy(() => { T.ones([100]); });
    expect(snapshot()).toEqual(before);
    madeByA!.dispose();
    fromB.dispose();
    expect(snapshot()).toEqual(base);
  });
});

describe('concurrent async tidies', () => {
  it('one started beside a pending one (Promise.all) rejects at once without running; the other completes', async () => {
    const base = snapshot();
    let ranB = false;
    const results = await Promise.allSettled([
      T.tidy(async () => { const t = T.ones([3]); await new Promise((r) => setTimeout(r, 2)); return t.sum().item(); }),
      T.tidy(async () => { ranB = true; return T.ones([2]).sum().item(); }),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 3 });
    expect(results[1].status).toBe('rejected');
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/^Error: tidy: expected async tidies to run one after another, received an async tidy started while another one is still pending.*await each one/);
    expect(ranB).toBe(false);
    expect(T.isGradEnabled()).toBe(true);
    expect(scopes.depth()).toBe(0);
    expect(snapshot()).toEqual(base);
    // Sequential async tidies still work, nested ones too.
    const v = await T.tidy(async () => {
      const inner = await T.tidy(async () => { await Promise.resolve(); return T.ones([2]).mul(2); });
      return inner.sum().item();
    });
    expect(v).toBe(4);
    expect(snapshot()).toEqual(base);
  });
});

describe('dispose and disposed tensors', () => {
  it('dispose() twice is safe and counts once', () => {
    const base = snapshot();
    const a = T.zeros([100]);
    expect(snapshot().numBytes).toBe(base.numBytes + 400);
    a.dispose();
    a.dispose();
    expect(a.isDisposed).toBe(true);
    expect(snapshot()).toEqual(base);
  });

  it('a shared storage is freed only when its last handle goes', () => {
    const base = snapshot();
    const a = T.ones([10]);
    const v = a.reshape([2, 5]);
    a.dispose();
    expect(v.toArray()).toEqual([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]);
    expect(snapshot().numBytes).toBe(base.numBytes + 40);
    v.dispose();
    expect(snapshot()).toEqual(base);
  });

  it('using a disposed tensor throws an Error naming the op', async () => {
    const a = T.tensor([1, 2], undefined, { requiresGrad: true });
    const b = T.tensor([3, 4]);
    a.dispose();
    const cases: [() => unknown, RegExp][] = [
      [() => a.add(1), /^add \(argument 'a'\): expected a live tensor, received a disposed tensor \(id \d+, shape \[2\]\)/],
      [() => b.mul(a), /^mul \(argument 'b'\): expected a live tensor, received a disposed tensor/],
      [() => T.exp(a), /^exp \(argument 'x'\): expected a live tensor, received a disposed tensor/],
      [() => a.matmul(b), /^matmul \(argument 'a'\): expected a live tensor/],
      [() => a.reshape([2, 1]), /^reshape \(argument 'x'\): expected a live tensor/],
      [() => a.sum(), /^sum \(argument 'x'\): expected a live tensor/],
      [() => a.dataSync(), /^dataSync: expected a live tensor/],
      [() => a.item(), /^item: expected a live tensor/],
      [() => a.toArray(), /^toArray: expected a live tensor/],
      [() => a.detach(), /^detach: expected a live tensor/],
    ];
    for (const [fn, re] of cases) expect(fn).toThrow(re);
    await expect(a.data()).rejects.toThrow(/^data: expected a live tensor/);
    await expect(T.grad(b.sum(), a)).rejects.toThrow(/^grad: expected a live tensor/);
  });
});

describe('FinalizationRegistry backstop', () => {
  it('frees the storage of dropped tensors (and of dropped graphs) after gc', async () => {
    // Run in a child node with --expose-gc so gc() can be forced.
    const src = `
      import * as T from ${JSON.stringify(resolve(__dirname, '../src/index.ts'))};
      const snap = () => { const m = T.memory(); return { numTensors: m.numTensors, numBytes: m.numBytes }; };
      const settle = async () => {
        for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 5)); }
      };
      const before = snap();
      (() => { for (let i = 0; i < 100; i++) T.zeros([1000]); })();
      const dropped = snap();
      await settle();
      const afterPlain = snap();
      const x = T.randn([1000], { seed: 1, requiresGrad: true });
      const withX = snap();
      (() => { for (let i = 0; i < 20; i++) x.mul(x).tanh().exp(); })();
      const droppedGraph = snap();
      await settle();
      const afterGraph = snap();
      // The same on the WASM backend: its heap blocks go back too.
      const info = await T.init();
      const wasmBefore = snap();
      (() => { for (let i = 0; i < 50; i++) T.zeros([1000], { dtype: 'float64' }); })();
      const wasmDropped = snap();
      await settle();
      const wasmAfter = snap();
      console.log(JSON.stringify({ before, dropped, afterPlain, withX, droppedGraph, afterGraph, backend: info.backend, wasmBefore, wasmDropped, wasmAfter }));
    `;
    const out = await build({
      stdin: { contents: src, resolveDir: resolve(__dirname, '..'), loader: 'ts', sourcefile: 'gc_child.ts' },
      bundle: true, format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'silent', plugins: [wasmUrlPlugin(BUILD_WASM_URL)],
    });
    const dir = mkdtempSync(join(tmpdir(), 'tsdeq-gc-'));
    try {
      const file = join(dir, 'gc_child.mjs');
      writeFileSync(file, out.outputFiles[0].text);
      const r = spawnSync(process.execPath, ['--expose-gc', file], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(m.dropped.numBytes - m.before.numBytes).toBe(100 * 1000 * 4);
      expect(m.dropped.numTensors - m.before.numTensors).toBe(100);
      expect(m.afterPlain).toEqual(m.before);
      expect(m.droppedGraph.numBytes - m.withX.numBytes).toBeGreaterThanOrEqual(20 * 3 * 4000);
      expect(m.afterGraph).toEqual(m.withX);
      expect(m.backend).toBe('wasm');
      expect(m.wasmDropped.numBytes - m.wasmBefore.numBytes).toBe(50 * 1000 * 8);
      expect(m.wasmAfter).toEqual(m.wasmBefore);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
