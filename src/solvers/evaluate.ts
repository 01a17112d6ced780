/**
 * Calling the user's `func` from inside a solver: the packed (B, D) state is handed to `func`
 * shaped like x0 (one tensor, or one per part), under `noGrad` and inside a `tidy` so the
 * call's intermediates are freed; the result is checked against x0's layout and packed.
 */
import { noGrad } from '../autograd/engine.js';
import { tidy } from '../scope.js';
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
  async eval(x: Buf): Promise<Evaluation> {
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
    let out: unknown;
    try {
      out = await noGrad(() => tidy(() => this.func(arg)));
    } catch (e) {
      cleanup([]);
      throw e;
    }
    this.calls++;
    let outs: Tensor[];
    try {
      outs = L.partsOf(this.where, 'the value returned by func', out);
    } catch (e) {
      cleanup(Array.isArray(out) ? out : [out as Tensor]);
      throw e;
    }
    if (!L.isList) return { s: outs[0].storage, release: () => cleanup(outs) };
    L.pack(outs, this.packed!.s);
    cleanup(outs);
    return { s: this.packed!.s, release: () => {} };
  }
}
