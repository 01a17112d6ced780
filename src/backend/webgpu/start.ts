/**
 * `init`'s WebGPU step: makes (or re-makes) the `webgpu` backend and registers it. The wasm
 * backend stays current; webgpu is used where tensors are put on it. Without an explicit `gpu`,
 * the first `init()` tries `navigator.gpu` once and later calls report that result; with an
 * explicit `gpu`, every call starts a new device (e.g. after the device was lost).
 */
import { registerBackend } from '../registry.js';
import { createWebGpuBackend, type GpuSource, type WebGpuInitInfo } from './setup.js';

let last: Promise<WebGpuInitInfo> | null = null;

export async function startWebGpu(gpu: GpuSource | undefined, explicit: boolean): Promise<WebGpuInitInfo> {
  if (!explicit && last !== null) return last;
  const attempt = (async (): Promise<WebGpuInitInfo> => {
    const { backend, info } = await createWebGpuBackend(gpu, 'init');
    if (backend) registerBackend('webgpu', backend);
    return info;
  })();
  last = attempt;
  attempt.catch(() => { if (last === attempt) last = null; });
  return attempt;
}

export type { GpuSource, WebGpuInitInfo };
