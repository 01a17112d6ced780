/**
 * The WebGPU adapter of the test suite: Node's npm `webgpu` (Dawn) on the SwiftShader Vulkan
 * driver that Debian's chromium package ships (../shared/WEBGPU.md). The GPU object stays
 * referenced here for the whole process (Dawn aborts when it is collected while in use).
 * `WEBGPU_UNAVAILABLE` says why there is no adapter (null when there is one); suites turn it
 * into a failing test under CI (none may skip there) and a skip with that reason elsewhere.
 */
import { existsSync } from 'node:fs';
import { createWebGpuBackend } from '../../src/backend/webgpu/setup.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The npm `webgpu` GPU object, kept for the process. */
export let GPU_OBJECT: unknown = null;
export let WEBGPU_UNAVAILABLE: string | null = null;

async function gpuObject(): Promise<unknown> {
  if (GPU_OBJECT) return GPU_OBJECT;
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // the Vulkan loader complains on stderr without it
  const mod = (await import('webgpu')) as { create: (flags: string[]) => unknown };
  GPU_OBJECT = mod.create([]);
  return GPU_OBJECT;
}

/** A fresh webgpu backend on the test adapter, or null (with WEBGPU_UNAVAILABLE set). */
export async function newWebGpuBackend(): Promise<WebGpuBackend | null> {
  try {
    if (!existsSync(SWIFTSHADER_ICD) && !process.env.VK_ICD_FILENAMES) {
      WEBGPU_UNAVAILABLE = `no Vulkan driver for Dawn: ${SWIFTSHADER_ICD} is missing (apt-get install chromium libvulkan1; .ci/run does)`;
      return null;
    }
    const { backend, info } = await createWebGpuBackend(await gpuObject(), 'test');
    if (!backend) WEBGPU_UNAVAILABLE = info.reason ?? 'no adapter';
    return backend;
  } catch (e) {
    WEBGPU_UNAVAILABLE = `npm webgpu failed: ${(e as Error).message}`;
    return null;
  }
}

/** The shared test backend (one device per test file). */
export const WEBGPU: WebGpuBackend | null = await newWebGpuBackend();
