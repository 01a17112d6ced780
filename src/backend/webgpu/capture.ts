/**
 * Record once, replay: the webgpu side of `Backend.captureLoop` (src/backend/backend.ts).
 *
 * Tracing: while an iteration is traced, the context hands every command it records (dispatch,
 * copy, clear, upload) to the trace as well, and tells it which buffers were acquired (the
 * iteration's temporaries, numbered in acquisition order) and released. The iteration itself
 * runs as usual. A trace fails on a read, on an await (checked with a microtask: a synchronous
 * iteration ends before any microtask runs), on a temporary still held at the next `begin()`, on
 * an input buffer freed inside it, or on another trace overlapping it.
 *
 * Agreement: with period P, traces 0..P-1 (cycle A) and P..2P-1 (cycle B) must agree phase by
 * phase: same commands, kernels, workgroup counts, sizes, offsets, upload bytes, the same input
 * buffers and the same pattern of temporaries; uniform words may differ only where the kernel
 * declares an iteration word (`KernelDef.iterationWords`: the bookkeeping kernels' column and
 * step), and replay t (phase t mod P, cycle c = floor(t / P)) writes A + c (B - A) there, which
 * is what the JS would have computed for a counter that steps by a constant.
 *
 * Replay: the recording owns one pooled buffer per temporary (by index and size; a temporary
 * never outlives its iteration, so phases share them), a constant buffer per upload, and one
 * uniform arena. Each traced dispatch replays through its kernel's dynamic-offset variant
 * (`PipelineCache.dynamic`) with one bind group made once per recording; a batch's j-th replay
 * of this capture takes arena region j (selected by the dynamic offset), whose words are written
 * with `queue.writeBuffer` while the batch is encoded, before its submit (queue order keeps
 * earlier batches on the earlier words). A replayed iteration is one command of the context, so
 * a whole stretch of iterations goes into one command encoder and one submit.
 */
import type { LoopCapture } from '../backend.js';
import type { PipelineCache, PipelineEntry } from './pipelines.js';
import { USAGE } from './gpu_constants.js';

/** Replays a batch holds at most (the context submits when it has this many). */
export const MAX_REPLAYS_PER_BATCH = 64;

/** A buffer in a trace: an input (a GPUBuffer that existed before the iteration) or temporary number i. */
type Ref = GPUBuffer | number;

export type TraceCmd =
  | { kind: 'dispatch'; entry: PipelineEntry; refs: Ref[]; params: Uint32Array; groups: [number, number, number] }
  | { kind: 'copy'; src: Ref; srcOffset: number; dst: Ref; dstOffset: number; size: number }
  | { kind: 'clear'; buf: Ref; offset: number; size: number }
  | { kind: 'upload'; dst: Ref; dstOffset: number; data: Float32Array };

/** What the context needs from the capture tracing now and from captures being replayed. */
export interface CaptureHost {
  readonly device: GPUDevice;
  readonly pipelines: PipelineCache;
  readonly align: number;
  /** The trace being recorded, if any. */
  tracer: IterationTrace | null;
  /** Temporaries of finished traces not yet released, with their trace. */
  readonly held: Map<GPUBuffer, IterationTrace>;
  /** Input buffers of live recordings (a release of one abandons them). */
  readonly inputs: Map<GPUBuffer, Set<CycleCapture>>;
  /** A pooled storage buffer, not counted as a temporary of any trace. */
  acquireUntraced(bytes: number): GPUBuffer;
  release(buffer: GPUBuffer): void;
  /** Destroys a non-pooled buffer once the commands recorded so far are submitted. */
  destroyLater(buffer: GPUBuffer): void;
  pushReplay(cap: CycleCapture, t: number): void;
}

/** One traced iteration. */
export class IterationTrace {
  readonly cmds: TraceCmd[] = [];
  /** Byte size of each temporary, by number. */
  readonly sizes: number[] = [];
  private readonly temps = new Map<GPUBuffer, number>();
  private open = 0;
  failure: string | null = null;

  constructor(readonly owner: CycleCapture) {}

  fail(why: string): void {
    this.failure ??= why;
  }

  private ref(b: GPUBuffer): Ref {
    return this.temps.get(b) ?? b;
  }

  acquired(b: GPUBuffer): void {
    this.temps.set(b, this.sizes.length);
    this.sizes.push(b.size);
    this.open++;
  }

  /** A release seen while tracing or before the next begin; false when `b` is not this trace's temporary. */
  released(b: GPUBuffer): boolean {
    if (!this.temps.has(b)) return false;
    this.open--;
    this.temps.delete(b); // a later acquisition of the same buffer is a new temporary
    return true;
  }

  /** Whether every temporary was released. */
  get closed(): boolean {
    return this.open === 0;
  }

  /** Whether a command so far used `b` as an input. */
  usesInput(b: GPUBuffer): boolean {
    return this.cmds.some((c) => refsOf(c).includes(b));
  }

  dispatch(entry: PipelineEntry, buffers: GPUBuffer[], params: Uint32Array, groups: [number, number, number]): void {
    this.cmds.push({ kind: 'dispatch', entry, refs: buffers.map((b) => this.ref(b)), params, groups });
  }
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.cmds.push({ kind: 'copy', src: this.ref(src), srcOffset, dst: this.ref(dst), dstOffset, size });
  }
  clear(buf: GPUBuffer, offset: number, size: number): void {
    this.cmds.push({ kind: 'clear', buf: this.ref(buf), offset, size });
  }
  upload(dst: GPUBuffer, dstOffset: number, data: Float32Array): void {
    this.cmds.push({ kind: 'upload', dst: this.ref(dst), dstOffset, data: data.slice() });
  }
}

function refsOf(c: TraceCmd): Ref[] {
  switch (c.kind) {
    case 'dispatch': return c.refs;
    case 'copy': return [c.src, c.dst];
    case 'clear': return [c.buf];
    case 'upload': return [c.dst];
  }
}

/** A per-iteration uniform word: base value (cycle A) and step per cycle. */
interface Patch { cmd: number; word: number; type: 'u32' | 'f32'; base: number; delta: number; }

/** The replay pipeline of a traced dispatch (its kernel with a dynamic uniform offset). */
interface Replayed { pipeline: PipelineEntry; group: GPUBindGroup | null; slot: number; }

export class CycleCapture implements LoopCapture {
  private readonly traces: IterationTrace[] = [];
  private current: IterationTrace | null = null;
  private failed: string | null = null;
  private patches: Patch[][] = [];
  private temps = new Map<string, GPUBuffer>();
  private uploads = new Map<Float32Array, GPUBuffer>();
  /** Per phase, per command: the replay pipeline and bind group of a dispatch (null for other commands). */
  private replayed: (Replayed | null)[][] = [];
  /** Per phase: the uniform words of one replay (each dispatch's block at its slot), before patches. */
  private words: Uint32Array<ArrayBuffer>[] = [];
  /** Uniform arena: MAX_REPLAYS_PER_BATCH regions of `regionBytes`, region j for a batch's j-th replay (dynamic offsets). */
  private arena: GPUBuffer | null = null;
  private regionBytes = 0;
  private next = 0;
  private disposed = false;
  /** Replays pushed and not yet encoded (the replay buffers are freed only after the last). */
  private unencoded = 0;
  private retired = false;
  ready = false;

  constructor(private readonly host: CaptureHost, readonly period: number) {
    if (!Number.isInteger(period) || period < 1) throw new Error(`captureLoop: period expected an integer >= 1, received ${period}`);
  }

  get failure(): string | null {
    return this.failed;
  }

  /** Abandons the recording: no more replays; its buffers are freed after the work issued with them. */
  abandon(why: string): void {
    if (this.failed !== null) return;
    this.failed = why;
    this.ready = false;
    this.freeReplayBuffers();
  }

  begin(): boolean {
    if (this.disposed || this.failed !== null) return false;
    if (!this.ready) {
      this.settlePrevious();
      if (this.traces.length === 2 * this.period) this.complete();
      if (this.failed !== null) return false;
    }
    if (this.ready) {
      this.unencoded++;
      this.host.pushReplay(this, this.next++);
      return true;
    }
    const host = this.host;
    if (host.tracer !== null) {
      const why = 'two iterations were traced at the same time (an await inside an iteration)';
      host.tracer.owner.abandon(why);
      this.abandon(why);
      host.tracer = null;
      return false;
    }
    const t = new IterationTrace(this);
    this.current = t;
    host.tracer = t;
    queueMicrotask(() => {
      if (this.current === t && host.tracer === t) {
        host.tracer = null;
        this.current = null;
        this.abandon('the iteration awaited something (a traced iteration must run synchronously: an async func, or a read)');
      }
    });
    return false;
  }

  end(): void {
    const t = this.current;
    if (t === null) return;
    this.current = null;
    if (this.host.tracer === t) this.host.tracer = null;
    if (t.failure !== null) { this.abandon(t.failure); return; }
    this.traces.push(t);
  }

  /** The previous trace's temporaries must all be back by now. */
  private settlePrevious(): void {
    const last = this.traces[this.traces.length - 1];
    if (last && !last.closed && this.traces.length <= 2 * this.period) {
      this.abandon('a tensor made inside an iteration outlived it (loop-carried state must live in buffers made before the loop)');
    }
  }

  /** After two agreeing cycles: builds the replay buffers. */
  private complete(): void {
    const P = this.period;
    for (let p = 0; p < P; p++) {
      const why = this.compare(this.traces[p], this.traces[P + p], p);
      if (why !== null) { this.abandon(`iterations ${p} and ${P + p} of the traced loop differ: ${why}`); return; }
    }
    // Inputs: a release of one while the recording lives abandons it.
    for (const t of this.traces.slice(0, P)) {
      for (const c of t.cmds) {
        for (const r of refsOf(c)) {
          if (typeof r === 'number') continue;
          let set = this.host.inputs.get(r);
          if (!set) this.host.inputs.set(r, (set = new Set()));
          set.add(this);
        }
      }
    }
    const align = this.host.align;
    const slots = this.traces.slice(0, P).map((t) => t.cmds.filter((c) => c.kind === 'dispatch').length);
    this.regionBytes = Math.max(1, ...slots) * align;
    this.next = 2 * P;
    this.traces.splice(P); // cycle A is the recording
    for (let p = 0; p < P; p++) {
      const words = new Uint32Array(this.regionBytes / 4);
      let slot = 0;
      this.replayed[p] = this.traces[p].cmds.map((c) => {
        if (c.kind !== 'dispatch') return null;
        words.set(c.params, (slot * align) / 4);
        return { pipeline: this.host.pipelines.dynamic(c.entry), group: null, slot: slot++ };
      });
      this.words[p] = words;
    }
    for (let p = 0; p < P; p++) this.traces[p].sizes.forEach((_, i) => this.temp(p, i));
    this.ready = true;
  }

  /** Null when `b` (a later cycle) repeats `a` phase by phase; else what differs. Fills the phase's patches. */
  private compare(a: IterationTrace, b: IterationTrace, phase: number): string | null {
    if (a.cmds.length !== b.cmds.length) return `${a.cmds.length} vs ${b.cmds.length} commands`;
    if (a.sizes.length !== b.sizes.length || a.sizes.some((s, i) => s !== b.sizes[i])) return 'different temporaries';
    const patches: Patch[] = [];
    const sameRefs = (x: Ref[], y: Ref[]): boolean => x.length === y.length && x.every((r, i) => r === y[i]);
    for (let i = 0; i < a.cmds.length; i++) {
      const x = a.cmds[i], y = b.cmds[i];
      if (x.kind !== y.kind || !sameRefs(refsOf(x), refsOf(y))) return `command ${i} (${x.kind}) uses other buffers`;
      if (x.kind === 'dispatch' && y.kind === 'dispatch') {
        if (x.entry !== y.entry || x.groups.some((g, j) => g !== y.groups[j]) || x.params.length !== y.params.length) {
          return `dispatch ${i} (${x.entry.key}) differs`;
        }
        for (let w = 0; w < x.params.length; w++) {
          if (x.params[w] === y.params[w]) continue;
          const type = x.entry.iterationWords?.[w];
          if (type === undefined) return `dispatch ${i} (${x.entry.key}) has other parameters (word ${w})`;
          const base = type === 'u32' ? x.params[w] : f32Of(x.params[w]);
          const delta = (type === 'u32' ? y.params[w] : f32Of(y.params[w])) - base;
          patches.push({ cmd: i, word: w, type, base, delta });
        }
      } else if (x.kind === 'copy' && y.kind === 'copy') {
        if (x.srcOffset !== y.srcOffset || x.dstOffset !== y.dstOffset || x.size !== y.size) return `copy ${i} differs`;
      } else if (x.kind === 'clear' && y.kind === 'clear') {
        if (x.offset !== y.offset || x.size !== y.size) return `clear ${i} differs`;
      } else if (x.kind === 'upload' && y.kind === 'upload') {
        if (x.dstOffset !== y.dstOffset || x.data.length !== y.data.length || x.data.some((v, j) => !Object.is(v, y.data[j]))) {
          return `upload ${i} writes other values`;
        }
      }
    }
    this.patches[phase] = patches;
    return null;
  }

  /** Whether every pipeline of the recording is compiled; else the promises to wait for. */
  pending(): Promise<unknown>[] {
    const out: Promise<unknown>[] = [];
    for (const ph of this.replayed) for (const r of ph) if (r !== null && r.pipeline.pipeline === null) out.push(r.pipeline.ready);
    return out;
  }

  private temp(phase: number, i: number): GPUBuffer {
    const size = this.traces[phase].sizes[i];
    const key = `${i}:${size}`;
    let b = this.temps.get(key);
    if (!b) this.temps.set(key, (b = this.host.acquireUntraced(size)));
    return b;
  }

  private buf(phase: number, r: Ref): GPUBuffer {
    return typeof r === 'number' ? this.temp(phase, r) : r;
  }

  private uploadBuffer(data: Float32Array): GPUBuffer {
    let b = this.uploads.get(data);
    if (!b) {
      b = this.host.device.createBuffer({ size: Math.max(4, data.byteLength), usage: USAGE.COPY_SRC, mappedAtCreation: true, label: 'tsdeq capture constant' });
      new Float32Array(b.getMappedRange()).set(data);
      b.unmap();
      this.uploads.set(data, b);
    }
    return b;
  }

  /**
   * Encodes replay `t` into `enc` using uniform region `j` of this batch (words written now, before
   * the batch's submit).
   */
  encode(enc: GPUCommandEncoder, t: number, j: number): void {
    this.unencoded--;
    const P = this.period, phase = t % P, cycle = Math.floor((t - phase) / P);
    const trace = this.traces[phase], replayed = this.replayed[phase];
    const device = this.host.device, align = this.host.align;
    if (j >= MAX_REPLAYS_PER_BATCH) throw new Error(`captureLoop: more than ${MAX_REPLAYS_PER_BATCH} replays in one batch (internal error)`);
    this.arena ??= device.createBuffer({ size: MAX_REPLAYS_PER_BATCH * this.regionBytes, usage: USAGE.UNIFORM | USAGE.COPY_DST, label: 'tsdeq capture uniforms' });
    const words = this.words[phase];
    const patches = this.patches[phase];
    if (patches.length > 0) {
      const w = words.slice();
      for (const p of patches) {
        const v = p.base + cycle * p.delta;
        w[(replayed[p.cmd]!.slot * align) / 4 + p.word] = p.type === 'u32' ? v >>> 0 : bitsOf(v);
      }
      device.queue.writeBuffer(this.arena!, j * this.regionBytes, w);
    } else {
      device.queue.writeBuffer(this.arena!, j * this.regionBytes, words);
    }
    const base = j * this.regionBytes;
    let pass: GPUComputePassEncoder | null = null;
    for (let i = 0; i < trace.cmds.length; i++) {
      const c = trace.cmds[i];
      if (c.kind === 'dispatch') {
        const r = replayed[i]!;
        const pipeline = r.pipeline.pipeline!;
        if (r.group === null) {
          const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena!, offset: 0, size: c.params.byteLength } }];
          c.refs.forEach((ref, k) => entries.push({ binding: k + 1, resource: { buffer: this.buf(phase, ref) } }));
          r.group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
        }
        pass ??= enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, r.group, [base + r.slot * align]);
        pass.dispatchWorkgroups(c.groups[0], c.groups[1], c.groups[2]);
        continue;
      }
      if (pass) { pass.end(); pass = null; }
      if (c.kind === 'copy') enc.copyBufferToBuffer(this.buf(phase, c.src), c.srcOffset, this.buf(phase, c.dst), c.dstOffset, c.size);
      else if (c.kind === 'clear') enc.clearBuffer(this.buf(phase, c.buf), c.offset, c.size);
      else enc.copyBufferToBuffer(this.uploadBuffer(c.data), 0, this.buf(phase, c.dst), c.dstOffset, c.data.byteLength);
    }
    if (pass) pass.end();
  }

  /** Frees the replay buffers once the last replay issued is encoded and submitted. */
  private freeReplayBuffers(): void {
    this.retired = true;
    for (const [b, set] of this.host.inputs) {
      set.delete(this);
      if (set.size === 0) this.host.inputs.delete(b);
    }
    if (this.unencoded === 0) this.afterSubmit();
  }

  /** Called by the context after submitting a batch that holds replays of this capture. */
  afterSubmit(): void {
    if (!this.retired || this.unencoded > 0) return;
    for (const b of this.temps.values()) this.host.release(b);
    this.temps.clear();
    for (const b of this.uploads.values()) this.host.destroyLater(b);
    this.uploads.clear();
    if (this.arena) this.host.destroyLater(this.arena);
    this.arena = null;
    this.replayed = [];
    this.traces.length = 0;
  }

  dispose(): void {
    if (this.disposed) return;
    if (this.current !== null) {
      if (this.host.tracer === this.current) this.host.tracer = null;
      this.current = null;
    }
    for (const [b, t] of this.host.held) if (t.owner === this) this.host.held.delete(b);
    this.disposed = true;
    this.ready = false;
    this.freeReplayBuffers();
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function f32Of(bits: number): number {
  u32[0] = bits;
  return f32[0];
}
function bitsOf(v: number): number {
  f32[0] = v;
  return u32[0];
}
