/**
 * The portability smoke run, shared by every runtime (Node, Deno, headless Chromium): it gets
 * the bundled package's namespace and returns a JSON-safe report that the test asserts on.
 */
export async function smoke(T, wasmSource) {
  const report = { runtime: runtimeName() };
  // Tensors and ops: y = sum(tanh(x @ w)).
  const x = T.tensor([[1, 2], [3, 4]], undefined, { dtype: 'float64', requiresGrad: true });
  const w = T.tensor([[0.5, -1], [2, 0.25]], undefined, { dtype: 'float64', requiresGrad: true });
  const y = T.tidy(() => x.matmul(w).tanh().sum());
  report.y = y.item();
  // Backward: dy/dx = (1 - tanh^2(x w)) w^T, dy/dw = x^T (1 - tanh^2(x w)).
  await y.backward();
  report.gradX = Array.from(x.grad.dataSync());
  report.gradW = Array.from(w.grad.dataSync());
  // Lifetimes: a tidy of 1000 ops leaves the tensor count flat.
  const before = T.memory().numTensors;
  T.tidy(() => { let h = x; for (let i = 0; i < 250; i++) h = h.mul(0.5).add(1).tanh(); });
  report.tidyLeak = T.memory().numTensors - before;
  // Deterministic random numbers: the same on every runtime.
  report.randn = Array.from(T.randn([3], { seed: 42, dtype: 'float64' }).dataSync());
  if (typeof T.init === 'function') report.init = await initReport(T, wasmSource);
  if (typeof T.setThreads === 'function') report.threads = await threadsReport(T);
  return report;
}

/**
 * After init(): the default thread count, setThreads(2) (or why it was refused), and a float32
 * 128 x 128 product (4 MFLOP: split across the pool when it runs) on 2 threads and on 1 thread,
 * with small integers so that every sum is exact. Reports how many pooled jobs the 2-thread
 * product ran (read from the backend's pool: internal, for this test only).
 */
async function threadsReport(T) {
  const r = { defaultThreads: T.getThreads(), set: null, error: null };
  try {
    r.set = await T.setThreads(2);
  } catch (e) {
    r.error = String(e && e.message);
  }
  r.threads = T.getThreads();
  const n = 128;
  const a = T.tensor(Array.from({ length: n * n }, (_, i) => (i % 7) - 3), [n, n]);
  const b = T.tensor(Array.from({ length: n * n }, (_, i) => ((i * 3) % 5) - 2), [n, n]);
  const pool = T.getBackend().parallel?.pool ?? null;
  if (pool) pool.backoff.enabled = false; // count jobs even if other processes keep the cores busy
  const jobs = pool ? pool.jobs : 0;
  const two = Array.from(a.matmul(b).dataSync());
  r.jobs = pool ? pool.jobs - jobs : 0;
  await T.setThreads(1);
  const one = Array.from(a.matmul(b).dataSync());
  r.equal = two.length === n * n && two.every((v, i) => Object.is(v, one[i]));
  // Leave the pool running: Node and Deno must still exit on their own (idle workers are unref'd).
  if (r.set === 2) await T.setThreads(2);
  // Four checked entries of the product (exact): C[i][j] = sum_k A[i][k] B[k][j].
  r.values = [[0, 0], [5, 77], [100, 3], [127, 127]].map(([i, j]) => two[i * n + j]);
  r.expected = [[0, 0], [5, 77], [100, 3], [127, 127]].map(([i, j]) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += (((i * n + k) % 7) - 3) * ((((k * n + j) * 3) % 5) - 2);
    return s;
  });
  return r;
}

/**
 * Calls init() (with a precompiled WebAssembly.Module when given, as edge runtimes need), then
 * reruns the forward/backward pass and a matmul on the backend it selected.
 */
async function initReport(T, wasmSource) {
  const info = wasmSource === undefined ? await T.init() : await T.init(wasmSource);
  const selected = T.getBackend().name;
  const backends = T.listBackends();
  if (selected !== 'wasm' && backends.includes('wasm')) T.setBackend('wasm');
  // A (2x3) @ B (3x2) = [[58, 64], [139, 154]], on the selected backend.
  const a = T.tensor([[1, 2, 3], [4, 5, 6]]);
  const b = T.tensor([[7, 8], [9, 10], [11, 12]]);
  const c = a.matmul(b);
  // The same y = sum(tanh(x w)) and gradients as above, now on the selected backend (float64).
  const x = T.tensor([[1, 2], [3, 4]], undefined, { dtype: 'float64', requiresGrad: true });
  const w = T.tensor([[0.5, -1], [2, 0.25]], undefined, { dtype: 'float64', requiresGrad: true });
  const y = x.matmul(w).tanh().sum();
  await y.backward();
  return {
    precompiled: wasmSource !== undefined,
    returned: jsonSafe(info),
    y: y.item(),
    yBackend: y.backend.name,
    gradX: Array.from(x.grad.dataSync()),
    gradW: Array.from(w.grad.dataSync()),
    selectedByInit: selected,
    backends,
    matmulBackend: c.backend.name,
    variant: (info && typeof info === 'object' && 'variant' in info) ? info.variant : (c.backend.variant ?? null),
    matmul: Array.from(c.dataSync()),
  };
}

function jsonSafe(v) {
  try {
    return JSON.parse(JSON.stringify(v ?? null, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
  } catch {
    return String(v);
  }
}

function runtimeName() {
  if (typeof globalThis.Deno !== 'undefined') return 'deno';
  if (globalThis.navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  if (typeof globalThis.window !== 'undefined' && typeof globalThis.document !== 'undefined') return 'browser';
  if (typeof globalThis.process !== 'undefined' && globalThis.process.versions?.node) return 'node';
  return 'unknown';
}
