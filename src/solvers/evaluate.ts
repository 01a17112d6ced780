/**
 * Calling the user's `func` from inside a solver: the packed (B, D) state is handed to `func`
 * shaped like x0 (one tensor, or one per part), under `noGrad` and inside a `tidy` so the
 * call's intermediates are freed; the result is checked against x0's layout and packed.
 * For an async `func`, grad mode and the scope cover its synchronous part only (nothing is
 * held across its awaits, so concurrent calls never see them); a graph its later part records
 * on the result is released.
 */
import { withMode, releaseFrom } from '../autograd/engine.js';
import { tidyCall } from '../scope.js';
import { Tensor, peekNextTensorId } from '../tensor.js';
import type { Storage } from '../backend/backend.js';
import type { StateLayout } from './layout.js';
import type { SolverFunc, SolverState } from './types.js';
import type { Buf, Workspace } from './workspace.js';

/** f(x) as a packed (B, D) storage, valid until `release()` (call it before the next evaluation). */
export interface Evaluation {
  readonly s: Storage;
  release(): void;
}

export class FuncRunner {
  /** Number of `func` calls so far. */
  calls = 0;
  private readonly parts: Buf[];
  private readonly packed: Buf | null;

  constructor(private readonly where: string, private readonly func: SolverFunc<SolverState>,
    private readonly layout: StateLayout, private readonly ws: Workspace) {
    const L = layout;
    this.parts = L.isList ? L.widths.map((w) => ws.buf(L.B * w)) : [];
    this.packed = L.isList ? ws.buf(L.B * L.D) : null;
  }

  /**
   * Evaluates func at the packed state in `x`. The tensor(s) func receives are only valid
   * during the call (they are disposed afterwards; clone to keep one).
   */
  eval(x: Buf): Evaluation | Promise<Evaluation> {
    // A single-tensor state with a synchronous func evaluates without a promise.
    return this.layout.isList ? this.evalList(x) : this.evalOne(x);
  }

  /** A list state: synchronous when func is (so a loop capture can trace it; see Session.capture). */
  private evalList(x: Buf): Evaluation | Promise<Evaluation> {
    const L = this.layout;
    const inputBufs = L.isList ? this.parts : [x];
    if (L.isList) this.parts.forEach((p, i) => L.unpackPart(x.s, i, p.s));
    const handles = inputBufs.map((b, i) => {
      b.s.refs++;
      // Always disposed by `cleanup` below: neither a scope nor the GC backstop needs it.
      return new Tensor(b.s, L.shapes[i], L.backend, false, false);
    });
    const arg = L.isList ? handles : handles[0];
    const firstNew = peekNextTensorId();
    const cleanup = (outs: readonly Tensor[]): void => {
      const seen = new Set<Tensor>();
      for (const t of outs) {
        if (t instanceof Tensor && t.id >= firstNew && !seen.has(t)) { seen.add(t); t.dispose(); }
      }
      for (const h of handles) h.dispose();
      for (const b of inputBufs) this.ws.exclusive(b);
    };
    const done = (out: unknown): Evaluation => {
      this.calls++;
      let outs: Tensor[];
      try {
        outs = L.partsOf(this.where, 'the value returned by func', out);
      } catch (e) {
        cleanup(Array.isArray(out) ? out : [out as Tensor]);
        throw e;
      }
      L.pack(outs, this.packed!.s);
      cleanup(outs);
      return { s: this.packed!.s, release: () => {} };
    };
    let out: unknown;
    try {
      out = withMode(false, () => tidyCall(() => this.func(arg)));
    } catch (e) {
      cleanup([]);
      throw e;
    }
    if (out instanceof Promise) {
      return out.then((v) => done(dropGraphs(v, firstNew)), (e) => { cleanup([]); throw e; });
    }
    return done(out);
  }

  // The single-tensor state (the common case) without per-call arrays or closures: one handle,
  // one reusable Evaluation.
  private arg: Tensor | null = null;
  private out: Tensor | null = null;
  private outIsNew = false;
  private current: Buf | null = null;
  private readonly callFunc = (): unknown => this.func(this.arg!);
  private readonly callInScope = (): unknown => tidyCall(this.callFunc);
  private readonly evaluation: { s: Storage; release(): void } = {
    s: null as unknown as Storage,
    release: () => this.releaseOne(),
  };

  private evalOne(x: Buf): Evaluation | Promise<Evaluation> {
    const L = this.layout;
    x.s.refs++;
    // Disposed by releaseOne (or below on errors): neither a scope nor the GC backstop needs it.
    this.arg = new Tensor(x.s, L.shapes[0], L.backend, false, false);
    this.current = x;
    const firstNew = peekNextTensorId();
    let out: unknown;
    try {
      out = withMode(false, this.callInScope);
    } catch (e) {
      this.failOne();
      throw e;
    }
    if (out instanceof Promise) {
      return out.then((v) => this.finishOne(dropGraphs(v, firstNew), firstNew), (e) => { this.failOne(); throw e; });
    }
    return this.finishOne(out, firstNew);
  }

  private failOne(): void {
    this.out = null;
    this.releaseOne();
  }

  /** Checks func's value against the layout and hands it out as the current Evaluation. */
  private finishOne(out: unknown, firstNew: number): Evaluation {
    const L = this.layout;
    this.calls++;
    const t = out as Tensor;
    if (!(t instanceof Tensor) || t.isDisposed || t.dtype !== L.dtype || t.backend !== L.backend || !sameDims(t.shape, L.shapes[0])) {
      try {
        L.partsOf(this.where, 'the value returned by func', out); // throws the descriptive error
      } catch (e) {
        // What func made for the rejected value goes now, like the call's other temporaries.
        for (const v of Array.isArray(out) ? out : [out]) if (v instanceof Tensor && v.id >= firstNew) v.dispose();
        this.out = null;
        this.releaseOne();
        throw e;
      }
    }
    this.out = t;
    this.outIsNew = t.id >= firstNew;
    this.evaluation.s = t.storage;
    return this.evaluation;
  }

  private releaseOne(): void {
    if (this.out !== null && this.outIsNew) this.out.dispose();
    this.out = null;
    this.arg?.dispose();
    this.arg = null;
    if (this.current !== null) this.ws.exclusive(this.current);
    this.current = null;
  }
}

/** Releases a graph the later (async) part of func recorded on what it returned (solvers never differentiate it). */
function dropGraphs(out: unknown, firstNew: number): unknown {
  for (const t of Array.isArray(out) ? out : [out]) {
    if (t instanceof Tensor && t.node !== null && t.id >= firstNew) releaseFrom(t.node, firstNew);
  }
  return out;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
