/**
 * TorchDEQ's time for the baseline training step, the denominator of the `deq_step` ratios:
 * measured in the same run by `bench_torchdeq.py` (../shared/oracle, next to this repository)
 * when Python with `torch` and a TorchDEQ checkout (`TORCHDEQ_SRC`) are available, otherwise
 * the recorded baseline of ../shared/oracle/BASELINE.md (another machine: say so).
 *
 * Environment: TORCHDEQ_SRC (directory containing `torchdeq/`), TORCHDEQ_BENCH_SCRIPT (default
 * ../shared/oracle/bench_torchdeq.py from the working directory), PYTHON (default: the first
 * of `python3`, `/usr/bin/python3` that imports torch).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Median milliseconds per step and the forward / backward split. */
export interface RefTime { total: number; forward: number; backward: number; }

/** Reference times keyed `${d}x${B}:${grad}`, and where they come from. */
export interface TorchDEQTimes {
  times: Map<string, RefTime>;
  /** 'measured' in this run, or 'recorded' (BASELINE.md). */
  source: 'measured' | 'recorded';
  /** One line describing the source (versions, BLAS, machine). */
  note: string;
}

/**
 * The recorded baseline (BASELINE.md, 'fixed' regime, 1 and 2 threads: TorchDEQ 0.1.0, Debian
 * torch 1.13, OpenBLAS 0.3.21, AMD EPYC, 2026-11-26), median ms and split from
 * bench_torchdeq_results.json.
 * @example RECORDED_TORCHDEQ.get('64x32:ift:1')!.total // 12.73
 */
export const RECORDED_TORCHDEQ: ReadonlyMap<string, RefTime> = new Map([
  ['64x32:ift:1', { total: 12.73, forward: 8.45, backward: 4.28 }],
  ['64x32:pg_k5:1', { total: 8.77, forward: 8.52, backward: 0.24 }],
  ['256x64:ift:1', { total: 27.74, forward: 19.09, backward: 8.57 }],
  ['256x64:pg_k5:1', { total: 20.47, forward: 19.15, backward: 1.32 }],
  ['1024x64:ift:1', { total: 154.06, forward: 94.42, backward: 60.59 }],
  ['1024x64:pg_k5:1', { total: 127.87, forward: 104.87, backward: 23.81 }],
  ['64x32:ift:2', { total: 12.94, forward: 8.55, backward: 4.31 }],
  ['64x32:pg_k5:2', { total: 8.75, forward: 8.5, backward: 0.25 }],
  ['256x64:ift:2', { total: 24.67, forward: 17.3, backward: 7.35 }],
  ['256x64:pg_k5:2', { total: 18.61, forward: 17.48, backward: 1.03 }],
  ['1024x64:ift:2', { total: 92.93, forward: 57.67, backward: 35.22 }],
  ['1024x64:pg_k5:2', { total: 77.67, forward: 63.75, backward: 14.35 }],
]);

/** Key of one configuration. @example refKey(64, 32, 'ift', 1) // '64x32:ift:1' */
export function refKey(d: number, B: number, grad: string, threads: number): string {
  return `${d}x${B}:${grad}:${threads}`;
}

function pythonWithTorch(log: (m: string) => void): string | null {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', '/usr/bin/python3'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  log(`deq_step: no Python with torch among ${candidates.join(', ')}`);
  return null;
}

interface ScriptRow {
  d: number; batch: number; regime: string; grad: string; threads: number;
  median_ms: number; median_forward_ms: number; median_backward_ms: number;
}

/**
 * Runs bench_torchdeq.py (`threads` threads, 'fixed' regime rows kept) for `sizes`
 * ("64x32,256x64"), or returns the recorded baseline when it cannot run.
 * @example const ref = torchdeqTimes('64x32', 1, { quick: true, log: console.error });
 */
export function torchdeqTimes(sizes: string, threads: number, opts: { quick: boolean; log(m: string): void }): TorchDEQTimes {
  const recorded = (why: string): TorchDEQTimes => ({
    times: new Map(RECORDED_TORCHDEQ),
    source: 'recorded',
    note: `TorchDEQ times are the RECORDED baseline (../shared/oracle/BASELINE.md: TorchDEQ 0.1.0, Debian torch 1.13, OpenBLAS 0.3.21, AMD EPYC, ${threads} thread${threads > 1 ? 's' : ''}${threads > 2 ? ': none recorded' : ''}), not measured in this run: ${why}.`,
  });
  const src = process.env.TORCHDEQ_SRC;
  if (!src) return recorded('TORCHDEQ_SRC is not set');
  if (!existsSync(join(src, 'torchdeq'))) return recorded(`TORCHDEQ_SRC=${src} has no torchdeq/ folder`);
  const script = resolve(process.env.TORCHDEQ_BENCH_SCRIPT ?? '../shared/oracle/bench_torchdeq.py');
  if (!existsSync(script)) return recorded(`${script} not found (set TORCHDEQ_BENCH_SCRIPT)`);
  const py = pythonWithTorch(opts.log);
  if (!py) return recorded('no Python with torch found (set PYTHON)');
  const dir = mkdtempSync(join(tmpdir(), 'tsdeq-torchdeq-'));
  const out = join(dir, 'results.json');
  try {
    const timing = opts.quick ? ['--repeats', '1', '--min-time', '0.5', '--min-runs', '5', '--warmup-time', '0.3']
      : ['--repeats', '2', '--min-time', '1.5'];
    opts.log(`deq_step: running ${script} with ${py} (TorchDEQ from ${src}), sizes ${sizes}, ${threads} thread(s)`);
    const r = spawnSync(py, [script, '--threads', String(threads), '--sizes', sizes, '--label', 'deq_step', '--out', out, ...timing], {
      env: { ...process.env, TORCHDEQ_SRC: src }, stdio: ['ignore', 'ignore', 'inherit'], timeout: 30 * 60_000,
    });
    if (r.status !== 0 || !existsSync(out)) return recorded(`bench_torchdeq.py failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
    const entry = JSON.parse(readFileSync(out, 'utf8')).results.deq_step;
    const rows = (entry.results as ScriptRow[]).filter((x) => x.regime === 'fixed' && x.threads === threads);
    const times = new Map<string, RefTime>();
    for (const x of rows) {
      times.set(refKey(x.d, x.batch, x.grad, x.threads), { total: x.median_ms, forward: x.median_forward_ms, backward: x.median_backward_ms });
    }
    const env = entry.environment;
    return {
      times,
      source: 'measured',
      note: `TorchDEQ times MEASURED in this run (bench_torchdeq.py, ${threads} thread${threads > 1 ? 's' : ''}, 'fixed' regime): torch ${env.torch_version}, BLAS ${(env.blas_libraries as string[]).join(' ')}, ${entry.machine.cpu}.`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
