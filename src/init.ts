/**
 * `init()`: loads the WASM SIMD backend, registers it as 'wasm' and makes it current.
 * Picks the relaxed-SIMD build when the engine supports it, else baseline SIMD, and falls
 * back to the `js` backend when WebAssembly SIMD is unavailable. Where threads are possible
 * (workers and shared WebAssembly memory), the bundled module is loaded in its shared-memory
 * build so that large kernels can use the thread pool (`setThreads`, src/threads/settings.ts).
 * The thread pool's code is imported only then (see ./backend/wasm_shared.ts), so that pages
 * where threads are impossible (not cross-origin isolated) do not download it.
 */
import { registerBackend, setBackend } from './backend/registry.js';
import { createWasmBackend, describeValue, detectFeatures, isWasmSource, wasmBytes, wasmModule, type WasmSource } from './backend/wasm_loader.js';
import type { WasmBackend, WasmVariant } from './backend/wasm.js';
import { checkKeys } from './autograd/engine.js';
import { createSharedWasmBackend } from './backend/wasm_shared.js';
import { threadSupport } from './threads/platform.js';
import { attachThreads, wantedThreads } from './threads/settings.js';
import type { GpuSource, WebGpuInitInfo } from './backend/webgpu/start.js';
import { probeAdapter } from './backend/webgpu/probe.js';
import { show } from './utils/format.js';
import type { DType } from './dtype.js';

/**
 * Options for `init`: module sources per variant (default: the bundled bytes) and a variant choice.
 * @example await init({ variant: 'simd' }); // force the baseline build
 */
export interface InitOptions {
  /** Bytes or compiled module of the baseline-SIMD build (build/wasm/tsdeq-simd.wasm). */
  simd?: WasmSource;
  /** Bytes or compiled module of the relaxed-SIMD build (build/wasm/tsdeq-relaxed.wasm). */
  relaxed?: WasmSource;
  /**
   * 'auto' (default): relaxed if the engine supports it, else simd. 'simd' forces the
   * baseline build (bit-for-bit reproducible across machines: no fused multiply-add).
   * 'relaxed' requires relaxed-SIMD support and throws without it.
   */
  variant?: 'auto' | WasmVariant;
  /**
   * The dtypes the wasm backend must compute in (default: both). `['float32']` lets `init`
   * load the float32-only build of the module (tsdeq-*-f32.wasm: about 11 KB gzipped less to
   * download, the same float32 kernels), for pages that count their bytes; float64 tensors on
   * the wasm backend then throw (the js backend still takes them). Where threads are possible
   * the shared-memory build runs as usual (it holds both dtypes: threads are never traded for
   * bytes). With a module of your own (`init(module)`, `simd`, `relaxed`), `dtypes` including
   * 'float64' checks that the module is not a float32-only build.
   */
  dtypes?: readonly DType[];
  /**
   * Where the `webgpu` backend runs: a `GPU` (`navigator.gpu`, or in Node `create([])` from the
   * npm `webgpu` package), a `GPUAdapter`, or a `GPUDevice` of the application's own. Without
   * it, `init()` uses `navigator.gpu` where it exists. The wasm backend stays the default; put
   * tensors on the GPU with `{ backend: 'webgpu' }` or `t.to('webgpu')`. Passing `gpu` again
   * (e.g. after the device was lost) starts a new device.
   */
  gpu?: GpuSource;
}

/**
 * What `init` selected.
 * @example const { backend, variant, message } = await init(); // 'wasm', 'relaxed', 'wasm backend ready: relaxed SIMD'
 */
export interface InitInfo {
  backend: 'wasm' | 'js';
  variant: WasmVariant | 'none';
  /** A human-readable account of the choice (why js, which variant). */
  message: string;
  /** The dtypes the selected backend computes in (`['float32']` on the float32-only build). */
  dtypes: DType[];
  /** The WebGPU side: the adapter found (vendor, architecture, description, fallback), or why none was. */
  webgpu: WebGpuInitInfo;
}

const OPTION_KEYS = ['simd', 'relaxed', 'variant', 'dtypes', 'gpu'] as const;
const DTYPES: readonly DType[] = ['float32', 'float64'];
const VARIANTS = ['auto', 'simd', 'relaxed'];
let ready: Promise<Omit<InitInfo, 'webgpu'>> | null = null;

function normalise(source: unknown): { options: InitOptions; single: WasmSource | null } {
  if (source === undefined) return { options: {}, single: null };
  if (isWasmSource(source)) return { options: {}, single: source };
  if (typeof source !== 'object' || source === null || Array.isArray(source) || ArrayBuffer.isView(source)) {
    throw new Error(`init: expected no argument, an ArrayBuffer, a Uint8Array, a WebAssembly.Module or an options object { simd, relaxed, variant, dtypes, gpu }, received ${describeValue(source)}`);
  }
  checkKeys('init', source, OPTION_KEYS);
  const o = source as InitOptions;
  for (const key of ['simd', 'relaxed'] as const) {
    if (o[key] !== undefined && !isWasmSource(o[key])) {
      throw new Error(`init: option '${key}': expected an ArrayBuffer, a Uint8Array or a WebAssembly.Module, received ${describeValue(o[key])}`);
    }
  }
  if (o.variant !== undefined && !VARIANTS.includes(o.variant)) {
    throw new Error(`init: option 'variant': expected one of ${VARIANTS.map((v) => `'${v}'`).join(', ')}, received ${show(o.variant)}`);
  }
  if (o.dtypes !== undefined && (!Array.isArray(o.dtypes) || o.dtypes.length === 0 || !o.dtypes.every((d) => DTYPES.includes(d)))) {
    throw new Error(`init: option 'dtypes': expected a non-empty array of 'float32' and/or 'float64', received ${show(o.dtypes)}`);
  }
  return { options: o, single: null };
}

/**
 * The bundled module: its shared-memory build where threads are possible (the thread pool
 * runs on it; see ./threads/settings.ts), else the plain build; `oneThreadReason` says why it runs
 * on one thread (null when threads are possible).
 */
async function bundled(variant: WasmVariant, float32Only: boolean): Promise<{ backend: WasmBackend; oneThreadReason: string | null }> {
  const support = threadSupport();
  let reason = support.reason;
  if (support.ok) {
    try {
      return { backend: await createSharedWasmBackend(await wasmBytes(variant, true, 'init'), wantedThreads, 'init'), oneThreadReason: null };
    } catch (e) {
      reason = `the shared-memory build could not be loaded (${(e as Error).message})`;
    }
  }
  return { backend: await createWasmBackend(await wasmModule(variant, 'init', float32Only), 'init'), oneThreadReason: reason };
}

async function load(options: InitOptions, single: WasmSource | null): Promise<Omit<InitInfo, 'webgpu'>> {
  const features = detectFeatures();
  const wanted = options.variant ?? 'auto';
  if (!features.simd) {
    if (wanted !== 'auto') {
      throw new Error(`init: variant '${wanted}' requested, but this JavaScript engine does not support WebAssembly SIMD`);
    }
    setBackend('js');
    attachThreads(null, 'WebAssembly SIMD is not supported by this engine, so the js backend runs (on one thread)');
    return { backend: 'js', variant: 'none', message: 'WebAssembly SIMD is not supported by this engine; using the js backend', dtypes: [...DTYPES] };
  }
  if (wanted === 'relaxed' && !features.relaxed) {
    throw new Error("init: variant 'relaxed' requested, but this engine does not support relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)");
  }
  let backend;
  let oneThreadReason: string | null = 'init() was given a module of its own, which runs on one thread (threads need the bundled shared-memory build)';
  if (single !== null) {
    backend = await createWasmBackend(single, 'init');
  } else {
    const variant: WasmVariant = wanted === 'auto' ? (features.relaxed ? 'relaxed' : 'simd') : wanted;
    const float32Only = options.dtypes !== undefined && !options.dtypes.includes('float64');
    if (options[variant] === undefined) ({ backend, oneThreadReason } = await bundled(variant, float32Only));
    else backend = await createWasmBackend(options[variant], 'init');
    if (backend.variant !== variant) {
      throw new Error(`init: option '${variant}' holds the ${backend.variant} build of the module, expected the ${variant} build`);
    }
  }
  if (options.dtypes?.includes('float64') && !backend.dtypes.includes('float64')) {
    throw new Error("init: option 'dtypes' asks for float64, but the module given is a float32-only build (tsdeq-*-f32.wasm); pass a full build (tsdeq/wasm/simd.wasm or relaxed.wasm) or dtypes: ['float32']");
  }
  registerBackend('wasm', backend);
  setBackend('wasm');
  attachThreads(backend.parallel, oneThreadReason);
  const why = backend.variant === 'relaxed' ? 'relaxed SIMD' : features.relaxed ? 'baseline SIMD (relaxed SIMD available but not selected)' : 'baseline SIMD (relaxed SIMD unsupported by this engine)';
  const only = backend.dtypes.includes('float64') ? '' : ', float32-only build';
  return { backend: 'wasm', variant: backend.variant, message: `wasm backend ready: ${why}${only}`, dtypes: [...backend.dtypes] };
}

/**
 * Loads the WASM SIMD backend and makes it the current backend. Call once before creating
 * tensors; later calls return the first result (and re-select that backend). Accepts the
 * module as bytes or as a precompiled WebAssembly.Module (needed on edge runtimes that forbid
 * compiling bytes), or an options object.
 * @example
 * const info = await init(); // { backend: 'wasm', variant: 'relaxed' | 'simd', message }
 * const viaModule = await init(await WebAssembly.compile(bytes));
 */
export function init(source?: WasmSource | InitOptions): Promise<InitInfo> {
  let parsed: ReturnType<typeof normalise>;
  try {
    parsed = normalise(source);
  } catch (e) {
    return Promise.reject(e);
  }
  const { gpu, ...wasmOptions } = parsed.options;
  const hasGpu = source !== undefined && parsed.single === null && 'gpu' in (source as object);
  const onlyGpu = hasGpu && Object.keys(wasmOptions).length === 0;
  let cpu: Promise<Omit<InitInfo, 'webgpu'>>;
  if (ready !== null) {
    if (source !== undefined && !onlyGpu) {
      return Promise.reject(new Error('init: the backend is already initialised; a module or options can only be passed to the first call (existing tensors are bound to the first module); only { gpu } may be passed again'));
    }
    cpu = ready.then((info) => {
      setBackend(info.backend);
      return info;
    });
  } else {
    const attempt = load(wasmOptions, parsed.single);
    ready = attempt;
    attempt.catch(() => {
      if (ready === attempt) ready = null; // a failed attempt may be retried
    });
    cpu = attempt;
  }
  return cpu.then(async (info) => ({ ...info, webgpu: await webgpuSide(hasGpu ? gpu : undefined, hasGpu) }));
}

/** The webgpu backend's starter, once an `init` call has imported it. */
let webgpuStarter: typeof import('./backend/webgpu/start.js') | null = null;

/**
 * The WebGPU step of `init`. Without an explicit `gpu`, and before any call has started the
 * webgpu backend, the adapter is probed first and the backend's code is imported only when
 * there is one (a separate chunk in split bundles: pages without WebGPU never download it).
 * Later calls without `gpu` report what the backend's starter found (see ./backend/webgpu/start.ts).
 */
async function webgpuSide(gpu: GpuSource | undefined, explicit: boolean): Promise<WebGpuInitInfo> {
  let source = gpu;
  if (!explicit && webgpuStarter === null) {
    const probe = await probeAdapter();
    if ('reason' in probe) return { available: false, reason: probe.reason };
    source = probe.adapter;
  }
  webgpuStarter ??= await import('./backend/webgpu/start.js');
  return webgpuStarter.startWebGpu(source, explicit);
}
