/**
 * The per-sample bookkeeping shared by the solvers (TorchDEQ's `update_state` plus our NaN /
 * divergence additions), driven directly with hand-made residuals.
 */
import { describe, it, expect } from 'vitest';
import { Tracker, SENTINEL } from '../src/solvers/tracker.js';
import { getBackend } from '../src/index.js';

const make = (over: Partial<ConstructorParameters<typeof Tracker>[0]> = {}): Tracker => new Tracker({
  B: 2, stopMode: 'abs', width: 6, tol: 1e-3, returnFinal: false, divergence: 1e4, ...over,
});

describe('Tracker', () => {
  it('keeps strict lowest values per mode, their steps, and which samples improved', () => {
    const t = make();
    expect(t.record([0.5, 0.2], [1, 1], 1)).toBe(true);
    expect(Array.from(t.improved)).toEqual([1, 1]);
    // sample 0 ties (not strict), sample 1 improves
    expect(t.record([0.5, 0.1], [1, 1], 2)).toBe(true);
    expect(Array.from(t.improved)).toEqual([0, 1]);
    expect(Array.from(t.lowest.abs)).toEqual([0.5, 0.1]);
    expect(Array.from(t.lowestStep.abs)).toEqual([1, 2]);
    expect(t.lowest.rel[1]).toBeCloseTo(0.1 / (1 + 1e-9), 15);
  });

  it('the two modes keep their own minima at different steps', () => {
    const t = make({ B: 1 });
    t.record([1], [1], 1); // rel 1
    t.record([2], [100], 2); // abs worse, rel 0.02 better
    expect(t.lowestStep.abs[0]).toBe(1);
    expect(t.lowestStep.rel[0]).toBe(2);
  });

  it('stops only when every live sample is below tol; traces hold the steps recorded (no padding)', () => {
    const t = make();
    t.record([1e-2, 1e-4], [1, 1], 1);
    expect(t.shouldStop()).toBe(false);
    t.record([5e-4, 2e-4], [1, 1], 2);
    expect(t.shouldStop()).toBe(true);
    const s = t.stats('float64', getBackend());
    expect(s.absTrace.toArray()).toEqual([[SENTINEL, 1e-2, 5e-4], [SENTINEL, 1e-4, 2e-4]]);
    expect(Array.from(s.absLowest.dataSync())).toEqual([5e-4, 1e-4]);
    expect(t.status()).toEqual(['converged', 'converged']);
  });

  it('traces grow past their first allocation, up to the width bound, and keep every column', () => {
    const t = make({ B: 2, width: 1000 });
    for (let k = 1; k < 1000; k++) t.record([k, 2 * k], [1, 1], k);
    const s = t.stats('float64', getBackend());
    expect(s.absTrace.shape).toEqual([2, 1000]);
    const a = s.absTrace.toArray() as number[][];
    expect(a[0].slice(0, 4)).toEqual([SENTINEL, 1, 2, 3]);
    expect(a[1][999]).toBe(1998);
    expect(() => t.record([1, 1], [1, 1], 1000)).toThrow(/full/);
  });

  it('NaN never becomes the lowest; a NaN sample is dead and does not hold the batch', () => {
    const t = make();
    t.record([0.3, NaN], [1, 1], 1);
    expect(Array.from(t.improved)).toEqual([1, 0]);
    expect(t.lowest.abs[1]).toBe(SENTINEL);
    expect(t.currentMax()).toBeNaN();
    t.record([1e-4, 0.1], [1, 1], 2);
    expect(t.shouldStop()).toBe(true);
    expect(t.status()).toEqual(['converged', 'nan']);
  });

  it('growth past divergence x the first residual (or to infinity) marks a sample diverged', () => {
    const t = make({ divergence: 100 });
    t.record([1, 1], [1, 1], 1);
    t.record([50, Infinity], [1, 1], 2);
    expect(t.status()).toEqual(['maxIter', 'diverged']);
    t.record([101, 1], [1, 1], 3);
    expect(t.status()).toEqual(['diverged', 'diverged']);
    expect(t.shouldStop()).toBe(true);
  });

  it('a sample starting at its fixed point is not called diverged over round-off', () => {
    const t = make({ B: 1, tol: 0 });
    t.record([0], [2], 1);
    t.record([4e-16], [2], 2);
    expect(t.status()).toEqual(['maxIter']);
    t.record([1e-3], [2], 3); // far above round-off: now it is diverging
    expect(t.status()).toEqual(['diverged']);
  });

  it('returnFinal takes every step as the lowest and never stops early', () => {
    const t = make({ returnFinal: true });
    t.record([1e-5, 1e-5], [1, 1], 1);
    t.record([2e-5, 3e-5], [1, 1], 2);
    expect(Array.from(t.lowest.abs)).toEqual([2e-5, 3e-5]);
    expect(Array.from(t.lowestStep.abs)).toEqual([2, 2]);
    expect(t.shouldStop()).toBe(false);
  });

  it("Broyden's no-progress test looks at the batch max/min ratio of each of the last n steps", () => {
    const t = make({ width: 10 });
    t.record([1, 1.2], [1, 1], 1);
    t.record([1, 1.25], [1, 1], 2);
    expect(t.flatForLast(2, 1.3)).toBe(true);
    t.record([1, 1.4], [1, 1], 3);
    expect(t.flatForLast(2, 1.3)).toBe(false);
  });
});
