/**
 * WebGPU's numeric flags, spelled out: the `GPUBufferUsage` and `GPUMapMode` globals exist in
 * browsers and Deno but not in Node (npm `webgpu` exports them without installing them), and
 * the library must not depend on any runtime's globals. Values from the WebGPU specification.
 */
export const USAGE = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;

/** `GPUMapMode.READ`. */
export const MAP_READ = 0x0001;
