// WebGPU smoke run of the BUNDLED package, shared by Deno (webgpu_main.mjs) and a Chromium page
// (webgpu_page.html): init({ gpu }) with the runtime's navigator.gpu, a forward and backward
// pass of y = sum(tanh(x W) * x W) on webgpu tensors and the same on wasm, a matmul over an
// awkward size, and the two errors every runtime must give (dataSync, float64). Returns a
// JSON-able report; the test compares the webgpu values with the wasm ones.
export async function webgpuSmoke(T, gpu) {
  const info = await T.init({ gpu });
  const report = { webgpu: info.webgpu, backend: T.getBackend().name, backends: T.listBackends() };
  if (!info.webgpu.available) return report;
  const xs = Array.from({ length: 3 * 17 }, (_, i) => Math.sin(i));
  const ws = Array.from({ length: 17 * 5 }, (_, i) => Math.cos(i) * 0.3);
  const run = async (backend) => {
    const x = T.tensor(xs, [3, 17], { backend, requiresGrad: true });
    const w = T.tensor(ws, [17, 5], { backend, requiresGrad: true });
    const h = x.matmul(w);
    const y = h.tanh().mul(h).sum();
    await y.backward();
    const out = { y: Array.from(await y.data())[0], gradX: Array.from(await x.grad.data()), gradW: Array.from(await w.grad.data()), on: y.backend.name };
    for (const t of [x, w, h, y, x.grad, w.grad]) t.dispose();
    return out;
  };
  report.gpu = await run('webgpu');
  report.wasm = await run('wasm');
  const a = T.randn([33, 100], { seed: 1 }), b = T.randn([100, 17], { seed: 2 });
  report.matmulGpu = Array.from(await a.to('webgpu').matmul(b.to('webgpu')).data());
  report.matmulWasm = Array.from(a.matmul(b).dataSync());
  const g = T.tensor([1, 2], [2], { backend: 'webgpu' });
  try { g.dataSync(); report.dataSyncError = null; } catch (e) { report.dataSyncError = String(e.message); }
  try { T.tensor([1], [1], { backend: 'webgpu', dtype: 'float64' }); report.float64Error = null; } catch (e) { report.float64Error = String(e.message); }
  return report;
}
