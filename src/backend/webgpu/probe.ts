/**
 * Whether this runtime has a WebGPU adapter, found without loading the webgpu backend's code:
 * `init()` asks here first and imports the backend (a separate chunk in split bundles, see
 * scripts/build_js.mjs) only when there is an adapter to run it on, so that pages without one
 * never download it.
 */

/** Why there is no webgpu backend when the runtime has no `navigator.gpu`. */
export const NO_NAVIGATOR_GPU = 'no WebGPU here (navigator.gpu is undefined); pass init({ gpu }) with a GPU, GPUAdapter or GPUDevice';
/** Why there is no webgpu backend when the GPU object offers no adapter. */
export const NO_ADAPTER = 'the GPU object offered no adapter (requestAdapter() returned null: no usable GPU or driver; in Node, the npm webgpu package also needs libvulkan and a Vulkan driver)';

let probed: Promise<{ adapter: GPUAdapter } | { reason: string }> | null = null;

/**
 * `navigator.gpu`'s high-performance adapter, or why there is none (asked once per process).
 * @example const p = await probeAdapter(); if ('adapter' in p) console.log(p.adapter.info);
 */
export function probeAdapter(): Promise<{ adapter: GPUAdapter } | { reason: string }> {
  probed ??= (async () => {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) return { reason: NO_NAVIGATOR_GPU };
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? { adapter } : { reason: NO_ADAPTER };
  })();
  return probed;
}
