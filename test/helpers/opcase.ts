/**
 * Table-driven op suites. Each case names its inputs (shape + generator), the op under test
 * and an independent plain-JS reference. `defineOpSuite` turns a table into, on every backend:
 * forward vs reference in float32 and float64, a float64 gradcheck, float32 gradients vs
 * float64 gradients, optionally a double backward check; and for every backend other than js, forward and gradient agreement with js
 * on the same inputs.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../../src/index.js';
import type { DType, Tensor } from '../../src/index.js';
import { BACKENDS, GPU_BACKENDS, OTHER_BACKENDS, skipReason } from './backends.js';
import { assertClose, tolFor } from './tolerance.js';
import { gradcheck, gradgradcheck, projectedGrads } from './gradcheck.js';
import { gen, roundTo, toTensor, type Gen, type Nd } from './ref.js';

export interface InputSpec {
  shape: number[];
  /** Value generator (default 'normal'). */
  gen?: Gen;
  /** Differentiate with respect to this input (default true). */
  grad?: boolean;
}

export interface OpCase {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
  ref: (...xs: Nd[]) => Nd;
  /** false for ops without a gradient (comparisons, argmax). */
  grad?: boolean;
  /** Also run gradgradcheck (createGraph) in float64. */
  doubleBackward?: boolean;
}

export const DTYPES: readonly DType[] = ['float32', 'float64'];

function seedOf(name: string, i: number): number {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0) + 7 * i;
}

/** The case's inputs as reference arrays rounded to `dtype`. */
export function caseInputs(c: OpCase, dtype: DType): Nd[] {
  return c.inputs.map((s, i) => roundTo(gen(s.shape, s.gen ?? 'normal', seedOf(c.name, i)), dtype));
}

function makeTensors(c: OpCase, nds: Nd[], dtype: DType, backend: string): Tensor[] {
  return nds.map((a, i) => toTensor(a, dtype, backend, c.grad !== false && (c.inputs[i].grad ?? true)));
}

async function checkForward(c: OpCase, dtype: DType, backend: string): Promise<void> {
  const nds = caseInputs(c, dtype);
  const want = c.ref(...nds);
  await T.tidy(async () => {
    const y = c.fn(...makeTensors(c, nds, dtype, backend));
    expect(y.dtype).toBe(dtype);
    expect([...y.shape]).toEqual(want.shape);
    assertClose(await y.data(), want.data, tolFor(backend, dtype, 'forward'), `${c.name} forward (${backend}, ${dtype})`);
  });
}

async function checkGrad(c: OpCase, backend: string, twice: boolean): Promise<void> {
  const xs = makeTensors(c, caseInputs(c, 'float64'), 'float64', backend);
  const opts = { tol: tolFor(backend, 'float64', 'grad'), label: `${c.name} (${backend})` };
  await (twice ? gradgradcheck(c.fn, xs, opts) : gradcheck(c.fn, xs, opts));
  for (const x of xs) x.dispose();
}

/** float32 autograd gradients against float64 ones on the same (float32-representable) inputs. */
async function checkGrad32(c: OpCase, backend: string): Promise<void> {
  const nds = caseInputs(c, 'float32');
  await T.tidy(async () => {
    const g32 = await projectedGrads(c.fn, makeTensors(c, nds, 'float32', backend), 5);
    const g64 = await projectedGrads(c.fn, makeTensors(c, nds, 'float64', backend), 5);
    g32.forEach((g, i) => {
      expect(g.dtype).toBe('float32');
      assertClose(g.dataSync(), g64[i].dataSync(), tolFor(backend, 'float32', 'grad'), `${c.name} float32 grad ${i} vs float64 (${backend})`);
    });
  });
}

/** float32 autograd gradients on a GPU backend against float64 ones on wasm, same inputs. */
async function checkGradGpu(c: OpCase, backend: string): Promise<void> {
  const nds = caseInputs(c, 'float32');
  await T.tidy(async () => {
    const g32 = await projectedGrads(c.fn, makeTensors(c, nds, 'float32', backend), 5);
    const g64 = await projectedGrads(c.fn, makeTensors(c, nds, 'float64', 'wasm'), 5);
    for (let i = 0; i < g32.length; i++) {
      expect(g32[i].dtype).toBe('float32');
      expect(g32[i].backend.name).toBe(backend);
      assertClose(await g32[i].data(), g64[i].dataSync(), tolFor(backend, 'float32', 'grad'), `${c.name} float32 grad ${i} on ${backend} vs float64 wasm`);
    }
  });
}

/** Forward output and projected input gradients of a case on one backend, as plain arrays. */
async function evaluate(c: OpCase, dtype: DType, backend: string): Promise<{ y: number[]; grads: number[][] }> {
  return T.tidy(async () => {
    const xs = makeTensors(c, caseInputs(c, dtype), dtype, backend);
    const y = Array.from(await c.fn(...xs).data());
    const grads: number[][] = [];
    if (c.grad !== false) for (const g of await projectedGrads(c.fn, xs, 3)) grads.push(Array.from(await g.data()));
    return { y, grads };
  });
}

export function defineOpSuite(title: string, cases: readonly OpCase[]): void {
  describe.each(BACKENDS)(`${title} on %s`, (backend) => {
    for (const c of cases) {
      const reason = skipReason(backend, c.name);
      // Skips come only from the SKIPS table in backends.ts, each with its reason.
      if (reason) { it.skip(`${c.name}: skipped because ${reason}`, () => undefined); continue; }
      describe(c.name, () => {
        it.each(DTYPES)('forward in %s matches the plain-JS reference', (dtype) => checkForward(c, dtype, backend));
        if (c.grad !== false) it('float64 gradients match central differences', () => checkGrad(c, backend, false));
        if (c.grad !== false) it('float32 gradients match float64 gradients', () => checkGrad32(c, backend));
        if (c.doubleBackward) it('float64 double backward matches central differences', () => checkGrad(c, backend, true));
      });
    }
  });
  describe.each(GPU_BACKENDS)(`${title} on %s (float32)`, (backend) => {
    for (const c of cases) {
      const reason = skipReason(backend, c.name);
      if (reason) { it.skip(`${c.name}: skipped because ${reason}`, () => undefined); continue; }
      describe(c.name, () => {
        it('forward in float32 matches the plain-JS reference', () => checkForward(c, 'float32', backend));
        if (c.grad !== false) it('float32 gradients match float64 wasm gradients', () => checkGradGpu(c, backend));
        it('forward and gradients agree with js in float32', async () => {
          const [mine, ref] = [await evaluate(c, 'float32', backend), await evaluate(c, 'float32', 'js')];
          assertClose(mine.y, ref.y, tolFor(backend, 'float32', 'forward'), `${c.name} forward ${backend} vs js`);
          mine.grads.forEach((g, i) => assertClose(g, ref.grads[i], tolFor(backend, 'float32', 'grad'), `${c.name} grad ${i} ${backend} vs js`));
        });
      });
    }
  });
  describe.each(OTHER_BACKENDS)(`${title}: %s agrees with js`, (backend) => {
    for (const c of cases) {
      if (skipReason(backend, c.name)) continue;
      it.each(DTYPES)(`${c.name} in %s`, async (dtype) => {
        const [mine, ref] = [await evaluate(c, dtype, backend), await evaluate(c, dtype, 'js')];
        assertClose(mine.y, ref.y, tolFor(backend, dtype, 'forward'), `${c.name} forward ${backend} vs js`);
        mine.grads.forEach((g, i) => assertClose(g, ref.grads[i], tolFor(backend, dtype, 'grad'), `${c.name} grad ${i} ${backend} vs js`));
      });
    }
  });
}
