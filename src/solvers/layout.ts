/**
 * Solver state layout: a start state (one tensor or several) is packed into one (B, D)
 * row-major buffer — sample b's features of every part side by side — and unpacked back on
 * return. Shapes follow TorchDEQ's `batch_flatten`: (B, ...) -> (B, prod(...)), a vector (n)
 * is n samples of one feature and a scalar is one sample of one feature.
 */
import type { Backend, Storage } from '../backend/backend.js';
import type { DType } from '../dtype.js';
import { Tensor, fmtShape } from '../tensor.js';
import type { SolverState } from './types.js';

export class StateLayout {
  /** Batch size. */
  readonly B: number;
  /** Features per sample over all parts. */
  readonly D: number;
  readonly dtype: DType;
  readonly backend: Backend;
  /** Whether the state is an array of tensors (unpacked as an array). */
  readonly isList: boolean;
  readonly shapes: readonly (readonly number[])[];
  /** Features per sample of each part, and where each part starts in a packed row. */
  readonly widths: readonly number[];
  readonly offsets: readonly number[];

  private constructor(B: number, shapes: (readonly number[])[], widths: number[], isList: boolean, like: Tensor) {
    this.B = B;
    this.shapes = shapes;
    this.widths = widths;
    this.isList = isList;
    this.dtype = like.dtype;
    this.backend = like.backend;
    const offsets: number[] = [];
    let acc = 0;
    for (const w of widths) { offsets.push(acc); acc += w; }
    this.offsets = offsets;
    this.D = acc;
  }

  /** Reads the layout of a start state, checking it (live tensors, one dtype/backend/batch size). */
  static of(where: string, x0: unknown): StateLayout {
    const isList = Array.isArray(x0);
    const parts = isList ? (x0 as unknown[]) : [x0];
    if (parts.length === 0) throw new Error(`${where}: expected x0 to be a Tensor or a non-empty array of Tensors, received an empty array`);
    parts.forEach((p, i) => {
      if (!(p instanceof Tensor)) {
        throw new Error(`${where}: expected x0${isList ? `[${i}]` : ''} to be a Tensor, received ${p === null ? 'null' : typeof p}`);
      }
      p.assertLive(`${where} (x0${isList ? `[${i}]` : ''})`);
    });
    const ts = parts as Tensor[];
    const batchOf = (t: Tensor): number => (t.rank === 0 ? 1 : t.shape[0]);
    const B = batchOf(ts[0]);
    ts.forEach((t, i) => {
      if (t.dtype !== ts[0].dtype || t.backend !== ts[0].backend) {
        throw new Error(`${where}: expected every part of x0 to share dtype and backend, received ${ts[0].dtype}/${ts[0].backend.name} and ${t.dtype}/${t.backend.name} (part ${i})`);
      }
      if (batchOf(t) !== B) {
        throw new Error(`${where}: expected every part of x0 to have batch size ${B} (first dimension), received shape ${fmtShape(t.shape)} (part ${i})`);
      }
    });
    if (B === 0) throw new Error(`${where}: expected a batch of at least one sample, received x0 of shape ${fmtShape(ts[0].shape)}`);
    const widths = ts.map((t) => (t.rank === 0 ? 1 : t.size / B));
    return new StateLayout(B, ts.map((t) => t.shape), widths, isList, ts[0]);
  }

  /** The parts of a state (checks it has this layout; `what` names it in errors). */
  partsOf(where: string, what: string, s: unknown): Tensor[] {
    const parts = this.isList ? (Array.isArray(s) ? s : null) : (Array.isArray(s) ? null : [s]);
    if (!parts || parts.length !== this.shapes.length) {
      throw new Error(`${where}: expected ${what} to be ${this.describe()}, received ${describeValue(s)}`);
    }
    parts.forEach((p, i) => {
      const want = this.shapes[i];
      if (!(p instanceof Tensor) || p.isDisposed || p.dtype !== this.dtype || p.backend !== this.backend
        || p.shape.length !== want.length || p.shape.some((d, j) => d !== want[j])) {
        throw new Error(`${where}: expected ${what} to be ${this.describe()}, received ${describeValue(s)}`);
      }
    });
    return parts as Tensor[];
  }

  /** Copies the parts (each contiguous (B, width)) into a packed (B, D) storage. */
  pack(parts: readonly Tensor[], out: Storage): void {
    for (let i = 0; i < parts.length; i++) this.packPart(parts[i].storage, i, out);
  }

  packPart(part: Storage, i: number, out: Storage): void {
    const w = this.widths[i];
    if (w === 0) return;
    this.backend.copy(part, 0, [w, 1], out, this.offsets[i], [this.D, 1], [this.B, w]);
  }

  /** Copies part i of a packed (B, D) storage into a contiguous (B, width) storage. */
  unpackPart(packed: Storage, i: number, out: Storage): void {
    const w = this.widths[i];
    if (w === 0) return;
    this.backend.copy(packed, this.offsets[i], [this.D, 1], out, 0, [w, 1], [this.B, w]);
  }

  /** Fresh tensors (one per part, shaped like x0) holding a packed state. */
  unpack(packed: Storage): SolverState {
    const parts = this.shapes.map((shape, i) => {
      const s = this.backend.alloc(this.B * this.widths[i], this.dtype);
      this.unpackPart(packed, i, s);
      return new Tensor(s, shape, this.backend);
    });
    return this.isList ? parts : parts[0];
  }

  /** A packed (B, D) storage of this layout, zero-filled. */
  alloc(rows = 1): Storage {
    return this.backend.alloc(rows * this.B * this.D, this.dtype);
  }

  describe(): string {
    const one = (s: readonly number[]): string => `a ${this.dtype} Tensor of shape ${fmtShape(s)}`;
    if (!this.isList) return `${one(this.shapes[0])} on '${this.backend.name}' (like x0)`;
    return `an array of ${this.shapes.length} ${this.dtype} Tensors of shapes ${this.shapes.map(fmtShape).join(', ')} (like x0)`;
  }
}

function describeValue(s: unknown): string {
  const one = (t: unknown): string => {
    if (!(t instanceof Tensor)) return t === null ? 'null' : typeof t;
    if (t.isDisposed) return 'a disposed Tensor';
    return `${t.dtype} ${fmtShape(t.shape)}${t.backend.name !== 'js' ? ` on '${t.backend.name}'` : ''}`;
  };
  if (Array.isArray(s)) return `an array [${s.map(one).join(', ')}]`;
  return one(s);
}
