/**
 * Compute pipelines cached by structure. A kernel's WGSL depends only on its structure (which
 * op, the rank of a strided index, ...); sizes, strides and scalars travel in uniforms, so one
 * pipeline serves every size. Pipelines compile asynchronously (`createComputePipelineAsync`)
 * and a key being compiled is shared by every caller until it is ready (deduplicated in flight).
 */

/** A kernel structure: its cache key and the WGSL it compiles to (made only on a cache miss). */
export interface KernelDef {
  readonly key: string;
  readonly code: () => string;
  /**
   * Uniform words that carry a per-iteration value (a step counter) and may differ between
   * replays of a captured loop, as an affine function of the iteration (see ./capture.ts).
   */
  readonly iterationWords?: Readonly<Record<number, 'u32' | 'f32'>>;
}

/** One cache entry: the pipeline once compiled, and the promise of it meanwhile. */
export interface PipelineEntry {
  pipeline: GPUComputePipeline | null;
  ready: Promise<GPUComputePipeline>;
  key: string;
  /** The kernel's `iterationWords`, or null. */
  iterationWords: Readonly<Record<number, 'u32' | 'f32'>> | null;
  /** The WGSL (kept for the dynamic-offset variant, see `PipelineCache.dynamic`). */
  code: string;
}

/** GPUShaderStage.COMPUTE (the global is missing in some runtimes). */
const STAGE_COMPUTE = 4;

export class PipelineCache {
  private readonly entries = new Map<string, PipelineEntry>();

  constructor(private readonly device: GPUDevice) {}

  /** The entry for `def`, starting its compilation on first use. */
  get(def: KernelDef): PipelineEntry {
    const e = this.entries.get(def.key);
    if (e) return e;
    const code = def.code();
    const entry: PipelineEntry = { pipeline: null, key: def.key, iterationWords: def.iterationWords ?? null, code, ready: null as unknown as Promise<GPUComputePipeline> };
    this.entries.set(def.key, entry);
    this.compile(entry, 'auto');
    return entry;
  }

  /**
   * The same kernel with an explicit layout whose uniform block (binding 0) takes a dynamic
   * offset, so one bind group serves many uniform slots of one buffer (loop replays, ./capture.ts).
   * The storage bindings are read from the WGSL header (./wgsl.ts `header`).
   */
  dynamic(base: PipelineEntry): PipelineEntry {
    const key = `${base.key}#dynamic`;
    const e = this.entries.get(key);
    if (e) return e;
    const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } }];
    for (const m of base.code.matchAll(/@binding\((\d+)\) var<storage, (read_write|read)>/g)) {
      entries.push({ binding: Number(m[1]), visibility: STAGE_COMPUTE, buffer: { type: m[2] === 'read' ? 'read-only-storage' : 'storage' } });
    }
    const layout = this.device.createPipelineLayout({ bindGroupLayouts: [this.device.createBindGroupLayout({ entries, label: key })], label: key });
    const entry: PipelineEntry = { pipeline: null, key, iterationWords: base.iterationWords, code: base.code, ready: null as unknown as Promise<GPUComputePipeline> };
    this.entries.set(key, entry);
    this.compile(entry, layout);
    return entry;
  }

  private compile(entry: PipelineEntry, layout: GPUPipelineLayout | 'auto'): void {
    const device = this.device;
    const code = entry.code;
    entry.ready = (async () => {
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code, label: entry.key });
      const moduleError = await device.popErrorScope();
      try {
        if (moduleError) throw new Error(moduleError.message);
        const p = await device.createComputePipelineAsync({ layout, compute: { module, entryPoint: 'main' }, label: entry.key });
        entry.pipeline = p;
        return p;
      } catch (err) {
        this.entries.delete(entry.key); // a later call may retry (e.g. on a new device)
        let detail = '';
        try {
          const info = await module.getCompilationInfo();
          detail = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
        } catch { /* no compilation info */ }
        throw new Error(`webgpu backend: the kernel '${entry.key}' failed to compile: ${(err as Error).message}${detail ? ` (${detail})` : ''}`);
      }
    })();
    entry.ready.catch(() => undefined); // reported to whoever waits on the submit
  }

  /** Number of cached (or compiling) pipelines. */
  get size(): number {
    return this.entries.size;
  }
}
