/**
 * Broyden's step (`Backend.broydenStep`) composed from the contract's primitives: the js
 * backend's definition of it, and the solver's path on backends without the fused kernel
 * (src/solvers/broyden.ts). One composition, so the two cannot drift apart.
 */
import type { Backend, Storage } from './backend.js';

/** Scratch of one composed step on (B, D) states; allocate once per solve. */
export interface BroydenScratch {
  vT: Storage; p: Storage; t: Storage; u: Storage; abs: Storage; mask: Storage;
  den: Storage; zero: Storage; inf: Storage;
}

/**
 * Allocates the scratch (with `alloc` of the caller's choice, e.g. a workspace's) and sets its
 * constants.
 * @example const s = broydenScratch(be, (n) => be.alloc(n, 'float32'), 64, 256);
 */
export function broydenScratch(be: Backend, alloc: (size: number) => Storage, B: number, D: number): BroydenScratch {
  const s: BroydenScratch = {
    vT: alloc(B * D), p: alloc(B * D), t: alloc(B * D), u: alloc(B * D), abs: alloc(B * D), mask: alloc(B * D),
    den: alloc(B), zero: alloc(1), inf: alloc(1),
  };
  be.fill(s.zero, 0);
  be.fill(s.inf, Infinity);
  return s;
}

/** Frees scratch made by `broydenScratch` with `be.alloc`. */
export function freeBroydenScratch(be: Backend, s: BroydenScratch): void {
  for (const x of Object.values(s)) be.free(x);
}

/**
 * `Backend.broydenStep` (see its contract) with primitives only: the two low-rank products
 * (fused into one pass when the backend has `lowRankMatvecPair`), the update with non-finite
 * entries zeroed, and the new direction. TorchDEQ zeroes NaN only; an infinite entry (v^T dg
 * underflowing to 0 once a sample sits at its fixed point to round-off) would turn every later
 * product of that sample into NaN, so infinities are zeroed too.
 * @example composedBroydenStep(be, scratch, dx, dg, g, d, U, V, r, slot, true, B, mem, D);
 */
export function composedBroydenStep(be: Backend, s: BroydenScratch, dx: Storage, dg: Storage, g: Storage, d: Storage,
  U: Storage, V: Storage, r: number, slot: number, direction: boolean, B: number, mem: number, D: number): void {
  const finite = (src: Storage, out: Storage): void => {
    be.unary('abs', src, s.abs);
    be.binary('lt', s.abs, s.inf, s.mask, [B * D], [1], [0]);
    be.where(s.mask, src, s.zero, out, [B * D], [1], [1], [0]);
  };
  const toSlot = (src: Storage, dst: Storage): void => be.copy(src, 0, [D, 1], dst, slot * D, [mem * D, 1], [B, D]);
  // v^T = dx^T (-I + U V^T) and p = (-I + U V^T) g.
  if (be.lowRankMatvecPair) be.lowRankMatvecPair(U, V, dx, g, s.vT, s.p, B, r, mem, D, -1);
  else {
    be.lowRankMatvec(V, U, dx, s.vT, B, r, mem, D, -1);
    be.lowRankMatvec(U, V, g, s.p, B, r, mem, D, -1);
  }
  be.axpby(1, s.p, 1, d, s.t); // t = B_old dg
  be.axpby(1, dx, -1, s.t, s.u);
  be.batchedDot(s.vT, dg, s.den, B, D);
  be.binary('div', s.u, s.den, s.t, [B, D], [D, 1], [1, 0]);
  finite(s.t, s.u);
  toSlot(s.u, U);
  finite(s.vT, s.t);
  toSlot(s.t, V);
  if (direction) {
    be.batchedDot(s.t, g, s.den, B, D);
    be.binary('mul', s.u, s.den, s.vT, [B, D], [D, 1], [1, 0]);
    be.axpby(-1, s.p, -1, s.vT, d); // d = -B_new g
  }
}

