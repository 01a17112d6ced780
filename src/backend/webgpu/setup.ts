/**
 * Starting the webgpu backend from what the application has: a `GPU` (`navigator.gpu`, or in
 * Node `create([])` of the npm `webgpu` package), a `GPUAdapter` or a `GPUDevice` (for instance
 * one shared with a renderer). The device is requested with the adapter's limits spelled out
 * (a device otherwise gets WebGPU's defaults: 128 MiB per binding, 8 storage buffers per
 * stage). The `GPU` object is kept reachable for the life of the process: Node's Dawn binding
 * aborts when it is collected while its device is in use.
 */
import { WebGpuBackend, type WebGpuAdapterInfo } from './backend.js';
import { NO_ADAPTER, NO_NAVIGATOR_GPU } from './probe.js';

/** What `init` found on the WebGPU side. */
export interface WebGpuInitInfo {
  /** Whether the `webgpu` backend is registered and ready. */
  available: boolean;
  /** The adapter behind it, when available. */
  adapter?: WebGpuAdapterInfo;
  /** Why there is no webgpu backend, when not available. */
  reason?: string;
}

/** The objects init's `gpu` option accepts (structurally: a GPU, a GPUAdapter or a GPUDevice). */
export type GpuSource = object;

const keepAlive: unknown[] = [];

/** Limits the kernels benefit from, requested at the adapter's values. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension',
] as const;

type Kind = 'device' | 'adapter' | 'gpu';

function kindOf(x: unknown): Kind | null {
  if (x === null || typeof x !== 'object') return null;
  const o = x as Record<string, unknown>;
  if (typeof o.createBuffer === 'function' && typeof o.queue === 'object') return 'device';
  if (typeof o.requestDevice === 'function') return 'adapter';
  if (typeof o.requestAdapter === 'function') return 'gpu';
  return null;
}

function describeAdapter(adapter: GPUAdapter | null, device: GPUDevice): WebGpuAdapterInfo {
  const info = ((adapter as { info?: GPUAdapterInfo } | null)?.info ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo ?? {}) as
    Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean };
  const fallback = info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean } | null)?.isFallbackAdapter ?? false;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description || info.device || '',
    isFallbackAdapter: Boolean(fallback),
  };
}

async function deviceFrom(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  return adapter.requestDevice({ requiredLimits, label: 'tsdeq' });
}

/**
 * A webgpu backend on `gpu` (or `navigator.gpu` when `gpu` is undefined). Resolves to the
 * backend and its info, or to `null` and the reason none could be made; throws on a `gpu`
 * argument of the wrong kind.
 */
export async function createWebGpuBackend(gpu: unknown, where = 'init'):
  Promise<{ backend: WebGpuBackend | null; info: WebGpuInitInfo }> {
  let source = gpu;
  if (source === undefined) {
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    if (!nav?.gpu) return { backend: null, info: { available: false, reason: NO_NAVIGATOR_GPU } };
    source = nav.gpu;
  }
  const kind = kindOf(source);
  if (kind === null) {
    throw new Error(`${where}: option 'gpu': expected a GPU (navigator.gpu, or create([]) from the npm 'webgpu' package), a GPUAdapter or a GPUDevice, received ${source === null ? 'null' : typeof source}`);
  }
  keepAlive.push(source);
  let adapter: GPUAdapter | null = null;
  let device: GPUDevice;
  if (kind === 'device') {
    device = source as GPUDevice;
  } else {
    if (kind === 'gpu') {
      adapter = await (source as GPU).requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) {
        return { backend: null, info: { available: false, reason: NO_ADAPTER } };
      }
    } else {
      adapter = source as GPUAdapter;
    }
    try {
      device = await deviceFrom(adapter);
    } catch (e) {
      return { backend: null, info: { available: false, reason: `the adapter refused a device: ${(e as Error).message}` } };
    }
  }
  const adapterInfo = describeAdapter(adapter, device);
  return { backend: new WebGpuBackend(device, adapterInfo), info: { available: true, adapter: adapterInfo } };
}
