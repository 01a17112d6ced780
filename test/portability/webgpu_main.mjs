// Deno: `deno run --allow-read webgpu_main.mjs` prints the WebGPU smoke report as one JSON line.
import { webgpuSmoke } from './webgpu_smoke.mjs';

const T = await import('../../build/index.js');
console.log(JSON.stringify(await webgpuSmoke(T, navigator.gpu)));
