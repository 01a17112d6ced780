/**
 * The device context of the webgpu backend: records commands (dispatches, copies, clears,
 * uploads) as the synchronous backend calls arrive, and submits them in batches: many
 * dispatches per command encoder, consecutive dispatches in one compute pass, one submit per
 * batch. A batch is submitted when a read needs it or when `batchSize` commands are waiting.
 *
 * Ordering: batches are submitted strictly in recording order (one promise chain), so the GPU
 * runs commands in the order the backend received them. Buffers freed by the backend go back
 * to the pool only after the batch holding their last use has been submitted.
 *
 * Uniforms: each dispatch's parameters (sizes, strides, scalars as 32-bit words) go into one
 * uniform arena per batch at the adapter's offset alignment.
 *
 * Failures: GPU validation / out-of-memory / internal errors of a batch are captured with
 * error scopes and reject the read that waits for the batch (or the next call, when nobody
 * waited); uncaptured errors are kept and reported the same way; a lost device makes every
 * later call throw an error that names the loss and its reason.
 */
import { BufferPool } from './buffers.js';
import { MAP_READ, USAGE } from './gpu_constants.js';
import { PipelineCache, type KernelDef, type PipelineEntry } from './pipelines.js';
import { CycleCapture, MAX_REPLAYS_PER_BATCH, type CaptureHost, type IterationTrace } from './capture.js';

type Command =
  | { kind: 'dispatch'; entry: PipelineEntry; buffers: GPUBuffer[]; params: Uint32Array; groups: [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; size: number }
  | { kind: 'replay'; cap: CycleCapture; t: number };

/** Commands recorded before a batch is submitted without a read asking for it. */
const BATCH_SIZE = 128;
/** Bytes of storage buffers kept in the pool for reuse. */
const POOL_BYTES = 256 * 1024 * 1024;
/** Bytes of released buffers waiting for a submit that trigger one. */
const RELEASE_FLUSH_BYTES = 64 * 1024 * 1024;
/** Bytes of readback staging buffers kept for reuse. */
const STAGING_POOL_BYTES = 64 * 1024 * 1024;

export class GpuContext implements CaptureHost {
  readonly pipelines: PipelineCache;
  readonly storagePool: BufferPool;
  private readonly stagingPool: BufferPool;
  private cmds: Command[] = [];
  private released: GPUBuffer[] = [];
  private uploads: GPUBuffer[] = [];
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private pendingError: Error | null = null;
  private lostInfo: { reason: string; message: string } | null = null;
  readonly align: number;
  /** The iteration being traced for a loop capture (./capture.ts), if any. */
  tracer: IterationTrace | null = null;
  readonly held = new Map<GPUBuffer, IterationTrace>();
  readonly inputs = new Map<GPUBuffer, Set<CycleCapture>>();
  private replays = 0;

  constructor(readonly device: GPUDevice) {
    this.pipelines = new PipelineCache(device);
    this.storagePool = new BufferPool(device, USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
      POOL_BYTES, 'tsdeq storage');
    this.stagingPool = new BufferPool(device, USAGE.MAP_READ | USAGE.COPY_DST, STAGING_POOL_BYTES, 'tsdeq staging');
    this.align = Math.max(16, device.limits.minUniformBufferOffsetAlignment);
    device.lost.then((info) => {
      this.lostInfo = { reason: info.reason ?? 'unknown', message: info.message ?? '' };
    }, () => undefined);
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.pendingError ??= new Error(`webgpu backend: uncaptured GPU error: ${e.message}`);
      ev.preventDefault?.();
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Whether the device was lost (known once its `lost` promise has settled). */
  get isLost(): boolean {
    return this.lostInfo !== null;
  }

  /** The error every call makes after the device was lost. */
  lostError(where: string): Error {
    const l = this.lostInfo ?? { reason: 'unknown', message: '' };
    return new Error(`${where}: the WebGPU device was lost (reason '${l.reason}'${l.message ? `: ${l.message}` : ''}); `
      + 'its tensors are gone; call `await init({ gpu })` to start a new device');
  }

  /** Throws if the device was lost, or reports (once) an error from work nobody waited for. */
  check(where: string): void {
    if (this.lostInfo) throw this.lostError(where);
    const e = this.pendingError;
    if (e) {
      this.pendingError = null;
      throw e;
    }
  }

  /** Records one dispatch of `def` over `groups` workgroups with `buffers` at bindings 1.. and `params` at binding 0. */
  dispatch(def: KernelDef, buffers: GPUBuffer[], params: ArrayLike<number>, groups: [number, number, number]): void {
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    const p = new Uint32Array(Math.max(4, Math.ceil(params.length / 4) * 4));
    p.set(params);
    const entry = this.pipelines.get(def);
    this.tracer?.dispatch(entry, buffers, p, groups);
    this.push({ kind: 'dispatch', entry, buffers, params: p, groups });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size <= 0) return;
    this.tracer?.copy(src, srcOffset, dst, dstOffset, size);
    this.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  clear(buffer: GPUBuffer, offset = 0, size = buffer.size): void {
    if (size <= 0) return;
    this.tracer?.clear(buffer, offset, size);
    this.push({ kind: 'clear', buffer, offset, size });
  }

  /** A recorder of one solver loop (Backend.captureLoop). */
  captureLoop(period: number): CycleCapture {
    return new CycleCapture(this, period);
  }

  /** Records replay `t` of `cap` (one command; many replays share a batch). */
  pushReplay(cap: CycleCapture, t: number): void {
    // A replay inside another loop's traced iteration (a nested solve) is not in that trace.
    this.tracer?.fail('a recorded loop was replayed inside the iteration');
    this.replays++;
    this.replayed++;
    this.push({ kind: 'replay', cap, t });
    if (this.replays >= MAX_REPLAYS_PER_BATCH && this.cmds.length > 0) {
      this.flush().catch((e: Error) => { this.pendingError ??= e; });
    }
  }

  acquireUntraced(bytes: number): GPUBuffer {
    return this.storagePool.acquire(bytes).buffer;
  }

  /** Destroys a buffer (not pooled) once the commands recorded so far are submitted. */
  destroyLater(buffer: GPUBuffer): void {
    if (this.cmds.length === 0 && this.inFlight === 0) {
      buffer.destroy();
      return;
    }
    this.uploads.push(buffer);
    if (this.cmds.length === 0) this.flush().catch((e: Error) => { this.pendingError ??= e; });
  }

  /**
   * Writes host bytes into `dst` at `dstOffset`, ordered after every command recorded so far:
   * directly on the queue when nothing is waiting, else through an upload buffer copied in the stream.
   */
  upload(dst: GPUBuffer, dstOffset: number, data: Float32Array): void {
    if (data.length === 0) return;
    this.tracer?.upload(dst, dstOffset, data);
    if (this.cmds.length === 0 && this.inFlight === 0) {
      this.device.queue.writeBuffer(dst, dstOffset, data.buffer, data.byteOffset, data.byteLength);
      return;
    }
    const up = this.device.createBuffer({ size: data.byteLength, usage: USAGE.COPY_SRC, mappedAtCreation: true, label: 'tsdeq upload' });
    new Float32Array(up.getMappedRange()).set(data);
    up.unmap();
    this.uploads.push(up);
    this.push({ kind: 'copy', src: up, srcOffset: 0, dst, dstOffset, size: data.byteLength });
  }

  /**
   * A pooled storage buffer of `bytes`; zeroed (in stream order) when `zero`. While a loop
   * iteration is traced it is one of the iteration's temporaries, and zeroing is always a
   * command (a replay reuses the buffer).
   */
  acquire(bytes: number, zero: boolean): GPUBuffer {
    const { buffer, fresh } = this.storagePool.acquire(bytes);
    const t = this.tracer;
    if (t) {
      t.acquired(buffer);
      this.held.set(buffer, t);
      if (zero) this.clear(buffer);
      return buffer;
    }
    if (zero && !fresh) this.clear(buffer);
    return buffer;
  }

  /**
   * Hands a buffer back; it returns to the pool once the commands recorded so far are submitted
   * (at once when everything is submitted already). Many bytes waiting trigger a submit.
   */
  release(buffer: GPUBuffer): void {
    const t = this.held.get(buffer);
    if (t) {
      t.released(buffer);
      this.held.delete(buffer);
    } else if (this.tracer?.usesInput(buffer)) {
      this.tracer.fail('a tensor the iteration did not make was freed inside it');
    }
    const users = this.inputs.get(buffer);
    if (users) for (const c of [...users]) c.abandon('a buffer the recording reads was freed');
    if (this.cmds.length === 0 && this.inFlight === 0) {
      this.storagePool.release(buffer);
      return;
    }
    this.released.push(buffer);
    this.releasedBytes += buffer.size;
    if (this.releasedBytes > RELEASE_FLUSH_BYTES) {
      this.flush().catch((e: Error) => { this.pendingError ??= e; });
    }
  }
  private releasedBytes = 0;

  private push(c: Command): void {
    this.cmds.push(c);
    if (this.cmds.length >= BATCH_SIZE) {
      this.flush().catch((e: Error) => { this.pendingError ??= e; });
    }
  }

  /**
   * Submits everything recorded so far; resolves once it is submitted (not completed). When
   * every pipeline involved is compiled and no earlier batch is waiting, the submit happens
   * right here (synchronously), so released buffers are back in the pool at once; otherwise the
   * batch waits for its pipelines, after every earlier batch.
   */
  flush(): Promise<void> {
    const cmds = this.cmds, released = this.released, uploads = this.uploads;
    this.replays = 0;
    this.cmds = [];
    this.released = [];
    this.uploads = []; // this batch's upload buffers are destroyed after its submit, later ones after theirs
    this.releasedBytes = 0;
    const ready = cmds.every((c) => (c.kind === 'dispatch' ? c.entry.pipeline !== null : c.kind !== 'replay' || c.cap.pending().length === 0));
    if (this.inFlight === 0 && ready && !this.lostInfo) {
      let checked: Promise<void>;
      try {
        checked = cmds.length ? this.encodeAndSubmit(cmds) : Promise.resolve();
      } catch (e) {
        checked = Promise.reject(e);
      } finally {
        for (const b of released) this.storagePool.release(b);
        for (const b of uploads) b.destroy();
      }
      return checked;
    }
    this.inFlight++;
    const run = this.chain.then(() => this.submit(cmds, released, uploads));
    this.chain = run.then(() => undefined, () => undefined);
    return run.finally(() => { this.inFlight--; });
  }

  private async submit(cmds: Command[], released: GPUBuffer[], uploads: GPUBuffer[]): Promise<void> {
    let failure: Error | null = null;
    let checked: Promise<void> = Promise.resolve();
    try {
      if (this.lostInfo) throw this.lostError('webgpu backend');
      const waits: Promise<unknown>[] = [];
      for (const c of cmds) {
        if (c.kind === 'dispatch' && c.entry.pipeline === null) waits.push(c.entry.ready);
        else if (c.kind === 'replay') waits.push(...c.cap.pending());
      }
      if (waits.length) await Promise.all(waits);
      if (cmds.length) checked = this.encodeAndSubmit(cmds);
    } catch (e) {
      failure = e as Error;
    } finally {
      for (const b of released) this.storagePool.release(b);
      for (const b of uploads) b.destroy();
    }
    if (failure) throw failure;
    await checked;
  }

  /** Encodes and submits one batch now; the promise reports the GPU errors it raised. */
  private encodeAndSubmit(cmds: Command[]): Promise<void> {
    const device = this.device;
    let nDispatch = 0;
    for (const c of cmds) if (c.kind === 'dispatch') nDispatch++;
    let arena: GPUBuffer | null = null;
    if (nDispatch > 0) {
      arena = device.createBuffer({ size: nDispatch * this.align, usage: USAGE.UNIFORM, mappedAtCreation: true, label: 'tsdeq uniforms' });
      const words = new Uint32Array(arena.getMappedRange());
      let slot = 0;
      for (const c of cmds) {
        if (c.kind !== 'dispatch') continue;
        words.set(c.params, (slot * this.align) / 4);
        slot++;
      }
      arena.unmap();
    }
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    device.pushErrorScope('internal');
    const enc = device.createCommandEncoder({ label: 'tsdeq batch' });
    let pass: GPUComputePassEncoder | null = null;
    let slot = 0;
    const replayed = new Map<CycleCapture, number>();
    for (const c of cmds) {
      if (c.kind === 'replay') {
        if (pass) { pass.end(); pass = null; }
        const j = replayed.get(c.cap) ?? 0;
        replayed.set(c.cap, j + 1);
        c.cap.encode(enc, c.t, j);
        continue;
      }
      if (c.kind === 'dispatch') {
        pass ??= enc.beginComputePass();
        const pipeline = c.entry.pipeline!;
        const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: arena!, offset: slot * this.align, size: c.params.byteLength } }];
        c.buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b } }));
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
        pass.dispatchWorkgroups(c.groups[0], c.groups[1], c.groups[2]);
        slot++;
        continue;
      }
      if (pass) { pass.end(); pass = null; }
      if (c.kind === 'copy') enc.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
      else enc.clearBuffer(c.buffer, c.offset, c.size);
    }
    if (pass) pass.end();
    device.queue.submit([enc.finish()]);
    this.submits++;
    arena?.destroy();
    for (const cap of replayed.keys()) cap.afterSubmit();
    return Promise.all([device.popErrorScope(), device.popErrorScope(), device.popErrorScope()]).then((errors) => {
      const err = errors.find((e) => e !== null);
      if (err) throw new Error(`webgpu backend: GPU error: ${err.message}`);
    });
  }

  /** Reads `bytes` of `src` from `offset` once every command recorded so far has run. */
  async read(src: GPUBuffer, offset: number, bytes: number, where: string): Promise<ArrayBuffer> {
    this.check(where);
    this.tracer?.fail(`${where}: a read inside the iteration`);
    const { buffer: staging } = this.stagingPool.acquire(Math.max(4, bytes));
    let ok = false;
    try {
      if (bytes > 0) this.copy(src, offset, staging, 0, bytes);
      await this.flush();
      await staging.mapAsync(MAP_READ, 0, staging.size);
      const out = staging.getMappedRange(0, staging.size).slice(0, bytes);
      staging.unmap();
      ok = true;
      return out;
    } catch (e) {
      if (this.lostInfo || (await this.lostSoon())) throw this.lostError(where);
      throw e;
    } finally {
      if (ok) this.stagingPool.release(staging);
      else staging.destroy();
    }
  }

  /** Whether the device turns out to be lost within a moment (its `lost` promise settles late). */
  private async lostSoon(): Promise<boolean> {
    await Promise.race([this.device.lost.then(() => undefined, () => undefined), new Promise((r) => setTimeout(r, 50))]);
    return this.lostInfo !== null;
  }

  /** Waits until every command recorded so far has completed on the GPU. */
  async sync(): Promise<void> {
    await this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Number of queue submits so far (for tests and benchmarks). */
  submits = 0;
  /** Number of iterations replayed from loop recordings so far (for tests and benchmarks). */
  replayed = 0;

  /** Bytes of storage buffers in use and pooled. */
  stats(): { inUseBytes: number; pooledBytes: number; pipelines: number } {
    return { inUseBytes: this.storagePool.inUse, pooledBytes: this.storagePool.pooledBytes, pipelines: this.pipelines.size };
  }
}
