/**
 * The prepared GPU run (scripts/gpu_bench.sh): its shell syntax and usage errors, and the summary
 * it prints (scripts/gpu/summary.mjs) from the runs' JSON: every table, tsdeq next to TorchDEQ
 * with the ratios, a missing run named, and CPU-adapter tables labelled as not GPU speed. The
 * whole `run --cpu-adapter` path takes minutes on a CPU adapter, so it is run by hand
 * (BENCHMARKS.md, "DEQ on the GPU"), not here.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bench = (title: string, rows: [string, string, string][]): object => ({
  machine: { cpu: 'test cpu' }, quick: false,
  results: [{ section: 'deq_step', tables: [{ title, columns: ['d, B', 'grad', 'ms/step'], rows: rows.map(([db, grad, ms]) => ({ 'd, B': db, grad, 'ms/step': ms })) }] }],
});

describe('scripts/gpu_bench.sh', () => {
  it('parses, and names its usage on a bad command', () => {
    expect(spawnSync('bash', ['-n', 'scripts/gpu_bench.sh']).status).toBe(0);
    const r = spawnSync('bash', ['scripts/gpu_bench.sh', 'nope'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: scripts\/gpu_bench.sh prepare TORCHDEQ_SRC \| run/);
    const p = spawnSync('bash', ['scripts/gpu_bench.sh', 'prepare', '/nonexistent'], { encoding: 'utf8', env: { ...process.env, TORCHDEQ_SRC: '' } });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/give TORCHDEQ_SRC/);
  });

  it('summary.mjs puts tsdeq webgpu and offload next to TorchDEQ with the ratios', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpub-'));
    writeFileSync(join(dir, 'webgpu.json'), JSON.stringify(bench('DEQ training step on WebGPU; real GPU adapter', [['256, 64', 'ift', '10.0'], ['1024, 4096', 'pg_k5', '50.0']])));
    writeFileSync(join(dir, 'offload.json'), JSON.stringify(bench('offload; real GPU adapter', [['256, 64', 'ift', '30.0']])));
    writeFileSync(join(dir, 'torchdeq.json'), JSON.stringify({ device: 'cuda', device_name: 'Test GPU', torch: '2.x', results: [
      { d: 256, batch: 64, grad: 'ift', median_ms: 40 }, { d: 1024, batch: 4096, grad: 'pg_k5', median_ms: 25 }] }));
    const r = spawnSync(process.execPath, ['scripts/gpu/summary.mjs', dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('| 256, 64 | ift | 10.0 | 30.0 | – | 40.0 | 0.25x | 0.75x |');
    expect(r.stdout).toContain('| 1024, 4096 | pg_k5 | 50.0 | – | – | 25.0 | 2.00x | – |');
    expect(r.stdout).toContain('(no wasm.json: that run did not happen)');
    expect(r.stdout).toContain('TorchDEQ on cuda (Test GPU)');
    expect(r.stdout).not.toContain('CPU-ADAPTER');
    writeFileSync(join(dir, 'webgpu.json'), JSON.stringify(bench('DEQ training step on WebGPU; CPU-ADAPTER numbers (SwiftShader-class software WebGPU), NOT GPU speed', [['64, 32', 'ift', '900']])));
    const c = spawnSync(process.execPath, ['scripts/gpu/summary.mjs', dir], { encoding: 'utf8' });
    expect(c.stdout).toMatch(/tsdeq vs TorchDEQ \(cuda\) — CPU-ADAPTER numbers, NOT GPU speed/);
  });
});
