/**
 * Interleaved A/B timing of two builds of the tsdeq module in one process (`node
 * scripts/wasm_ab.mjs A.wasm B.wasm [rounds]`): each round times the same work on build A and
 * build B, alternating which goes first, and reports per-case medians and the median per-round
 * B/A ratio. On a shared, noisy machine the per-round ratio is steadier than either median.
 * Used to decide compiler settings (e.g. asc --shrinkLevel) and math kernels for the shipped
 * builds. A fourth argument, a regular expression, keeps only the matching cases (e.g. 'f64').
 */
import { readFileSync } from 'node:fs';
import type { UnaryOp } from '../backend/backend.js';
import { createWasmBackend } from '../backend/wasm_loader.js';
import { registerBackend, setBackend } from '../backend/registry.js';
import { randn, zeros, tanh, add, linear, layerNorm, getDeq, matmul, tidy } from '../index.js';
const [fa, fb] = process.argv.slice(2);
if (!fa || !fb) throw new Error('wasm_ab: expected two .wasm files (build A, build B) and optionally a number of rounds');
const A = await createWasmBackend(readFileSync(fa)); const B = await createWasmBackend(readFileSync(fb));
registerBackend('wasmA', A); registerBackend('wasmB', B);
const cases: Record<string, (be: string) => Promise<void> | void> = {};
for (const n of [64, 256]) {
  const x: any = {};
  for (const be of ['wasmA', 'wasmB']) { setBackend(be); x[be] = [randn([n, n], { seed: 1 }), randn([n, n], { seed: 2 })]; }
  cases[`matmul ${n}`] = (be) => { tidy(() => { for (let i = 0; i < (n === 64 ? 50 : 4); i++) matmul(x[be][0], x[be][1]); }); };
}
{
  const m: any = {};
  for (const be of ['wasmA', 'wasmB']) {
    setBackend(be);
    m[be] = { W: randn([256, 256], { seed: 3 }).mul(0.02), u: randn([64, 256], { seed: 4 }), deq: getDeq({ fSolver: 'anderson', fMaxIter: 30, fTol: 0, ift: true, bMaxIter: 30, bTol: 0 }) };
    m[be].deq.eval();
  }
  cases['anderson solve 64x256 (30 it, LN)'] = async (be) => {
    setBackend(be);
    const { W, u, deq } = m[be];
    await tidy(async () => { await deq.forward((z: any) => tanh(layerNorm(add(linear(z, W), u), [256])), zeros([64, 256])); });
  };
}
{
  // Elementwise float64 transcendental kernels on 64K elements (the table-free f64 math).
  const N = 1 << 16;
  const gen = (lo: number, hi: number, seed: number) => { let t = seed; return Array.from({ length: N }, () => { t = (t * 1103515245 + 12345) % 2147483648; return lo + (hi - lo) * t / 2147483648; }); };
  const unaryCases: [UnaryOp, number, number][] = [['exp', -30, 30], ['log', 1e-3, 1e3], ['softplus', -25, 25], ['gelu', -6, 6], ['geluGrad', -6, 6], ['tanh', -6, 6], ['sigmoid', -30, 30]];
  for (const [op, lo, hi] of unaryCases) {
    const data = gen(lo, hi, op.length);
    const st = { wasmA: A, wasmB: B } as const;
    const io: any = {};
    for (const [k, be] of Object.entries(st)) { const x = be.alloc(N, 'float64'); be.write(x, data); io[k] = { x, out: be.alloc(N, 'float64') }; }
    cases[`${op}_f64 64K x10`] = (k) => { const be = st[k as 'wasmA']; for (let i = 0; i < 10; i++) be.unary(op, io[k].x, io[k].out); };
  }
  const a = gen(0.01, 100, 3), b = gen(-8, 8, 4);
  const st = { wasmA: A, wasmB: B } as const;
  const io: any = {};
  for (const [k, be] of Object.entries(st)) { const x = be.alloc(N, 'float64'), y = be.alloc(N, 'float64'); be.write(x, a); be.write(y, b); io[k] = { x, y, out: be.alloc(N, 'float64') }; }
  cases['pow_f64 64K x10'] = (k) => { const be = st[k as 'wasmA']; for (let i = 0; i < 10; i++) be.binary('pow', io[k].x, io[k].y, io[k].out, [N], [1], [1]); };
}
const filter = process.argv[5] ? new RegExp(process.argv[5]) : null;
if (filter) for (const k of Object.keys(cases)) if (!filter.test(k)) delete cases[k];
const times: Record<string, { A: number[]; B: number[] }> = {};
for (const k of Object.keys(cases)) times[k] = { A: [], B: [] };
const rounds = Number(process.argv[4] ?? 15);
for (let r = 0; r < rounds; r++) {
  for (const [k, f] of Object.entries(cases)) {
    const order = r % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    for (const o of order) {
      setBackend(o === 'A' ? 'wasmA' : 'wasmB');
      const t0 = performance.now(); await f(o === 'A' ? 'wasmA' : 'wasmB'); times[k][o as 'A' | 'B'].push(performance.now() - t0);
    }
  }
}
const med = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
for (const [k, t] of Object.entries(times)) {
  const ratios = t.A.map((a, i) => t.B[i] / a);
  console.log(`${k.padEnd(36)} A ${med(t.A).toFixed(2)} ms  B ${med(t.B).toFixed(2)} ms  median per-round B/A ${med(ratios).toFixed(3)}`);
}
process.exit(0);
