// Summary of one scripts/gpu_bench.sh run: every table of the deq_step runs (webgpu, offload,
// wasm) as markdown, then one table per (d, B, grad) with tsdeq webgpu / offload next to
// TorchDEQ on the measured torch device and the ratios the issue's targets are stated in.
// Usage: node scripts/gpu/summary.mjs OUT_DIR
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node scripts/gpu/summary.mjs OUT_DIR');
const load = (name) => {
  const p = join(dir, name);
  if (!existsSync(p)) return null;
  try { return JSON.parse(readFileSync(p, 'utf8')); } catch (e) { return { error: `${name}: ${e.message}` }; }
};
const md = (t) => [
  `### ${t.title}`, '',
  `| ${t.columns.join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`,
  ...t.rows.map((r) => `| ${t.columns.map((c) => (r[c] ?? '–')).join(' | ')} |`),
  '', ...(t.notes ?? []).map((n) => `- ${n}`), '',
].join('\n');
const out = [];
const runs = { webgpu: load('webgpu.json'), offload: load('offload.json'), wasm: load('wasm.json') };
const steps = {};
for (const [name, doc] of Object.entries(runs)) {
  if (!doc) { out.push(`(no ${name}.json: that run did not happen)\n`); continue; }
  if (doc.error) { out.push(`(${doc.error})\n`); continue; }
  out.push(`## deq_step, ${name}${doc.quick ? ' (--quick)' : ''}; machine: ${doc.machine?.cpu ?? '?'}\n`);
  for (const r of doc.results) {
    for (const t of r.tables) {
      out.push(md(t));
      if (!t.columns.includes('grad') || !t.columns.includes('ms/step')) continue;
      for (const row of t.rows) steps[`${row['d, B']}|${row.grad}|${name}`] = { ms: Number(row['ms/step']), title: t.title };
    }
  }
}
const torch = load('torchdeq.json');
const ref = {};
if (torch && !torch.error) {
  for (const r of torch.results) ref[`${r.d}, ${r.batch}|${r.grad}`] = r.median_ms;
  out.push(`## TorchDEQ on ${torch.device} (${torch.device_name}), torch ${torch.torch}\n`);
}
const keys = [...new Set(Object.keys(steps).map((k) => k.split('|').slice(0, 2).join('|')))];
const cpuAdapter = Object.values(steps).some((s) => /CPU-ADAPTER/.test(s.title));
out.push(`### tsdeq vs TorchDEQ (${torch && !torch.error ? torch.device : 'no TorchDEQ run'})${cpuAdapter ? ' — CPU-ADAPTER numbers, NOT GPU speed' : ''}\n`);
out.push('| d, B | grad | webgpu ms | offload ms | wasm ms | TorchDEQ ms | webgpu / TorchDEQ | offload / TorchDEQ |');
out.push('|---|---|---:|---:|---:|---:|---:|---:|');
const f = (v) => (v === undefined || Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(3) : v.toFixed(1));
for (const k of keys) {
  const [db, grad] = k.split('|');
  const w = steps[`${k}|webgpu`]?.ms, o = steps[`${k}|offload`]?.ms, c = steps[`${k}|wasm`]?.ms, t = ref[k];
  out.push(`| ${db} | ${grad} | ${f(w)} | ${f(o)} | ${f(c)} | ${f(t)} | ${t && w ? `${(w / t).toFixed(2)}x` : '–'} | ${t && o ? `${(o / t).toFixed(2)}x` : '–'} |`);
}
out.push('', 'Targets (issue 13): webgpu / TorchDEQ CUDA <= 0.5x at (256, 64) and <= 1.0x at (1024, 4096). The offload crossover is the smallest B x D where offload ms < wasm ms.');
console.log(out.join('\n'));
