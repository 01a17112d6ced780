/**
 * `npm run bench`: runs the registered benchmark sections and prints their tables.
 *
 *   node --experimental-wasm-relaxed-simd build/bench.js [--only gemm,elementwise] [--json] [--quick] [--list] [--threads N]
 *     [--backend wasm|webgpu] [--offload]
 *
 * --only     comma-separated section names (default: all, in registration order)
 * --threads  threads of the wasm backend that `init()` loads (`setThreads(N)` before any section
 *            runs; default 1, so sections measure one thread unless asked)
 * --backend  where sections that support it (deq_step) put the model: 'wasm' (default) or
 *            'webgpu' (through the npm `webgpu` package; the table names the adapter)
 * --offload  deq_step: the model stays on wasm and the DEQ offloads to webgpu (offload: 'webgpu')
 * --json     print one JSON document (machine info + tables) instead of text tables
 * --quick    fewer sizes and shorter timings (smoke run)
 * --list     print the section names and descriptions, then exit
 * Progress goes to stderr. Sections are files of this folder that call `registerSection`;
 * adding one means adding its import below.
 */
import os from 'node:os';
import './gemm.js';
import './elementwise.js';
import './grad_memory.js';
import './solvers.js';
import './solver_kernels.js';
import './deq_step.js';
import './deq_capture_gpu.js';
import './ceiling.js';
import './webgpu_gemm.js';
import './threads_split.js';
import { getSection, listSections, type BenchContext, type BenchSection, type BenchTable } from './registry.js';
import { formatTable } from './table.js';
import { setThreads, shutdownThreads } from '../threads/settings.js';

interface Args {
  only: string[] | null;
  json: boolean;
  quick: boolean;
  list: boolean;
  threads: number;
  backend: 'wasm' | 'webgpu';
  offload: boolean;
}

const FLAGS = ['--only', '--json', '--quick', '--list', '--help', '--threads', '--backend', '--offload'];

function parseArgs(argv: string[]): Args {
  const args: Args = { only: null, json: false, quick: false, list: false, threads: 1, backend: 'wasm', offload: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--list' || a === '--help') args.list = true;
    else if (a === '--offload') args.offload = true;
    else if (a === '--backend' || a.startsWith('--backend=')) {
      const v = a === '--backend' ? argv[++i] : a.slice('--backend='.length);
      if (v !== 'wasm' && v !== 'webgpu') throw new Error(`bench: --backend expects 'wasm' or 'webgpu', received ${JSON.stringify(v ?? null)}`);
      args.backend = v;
    }
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) throw new Error('bench: --only expects a comma-separated list of section names');
      args.only = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    } else if (a === '--threads' || a.startsWith('--threads=')) {
      const v = a === '--threads' ? argv[++i] : a.slice('--threads='.length);
      if (!/^[1-9][0-9]*$/.test(v ?? '')) throw new Error(`bench: --threads expects a positive integer, received ${JSON.stringify(v ?? null)}`);
      args.threads = Number(v);
    } else {
      throw new Error(`bench: unknown argument '${a}'; expected one of ${JSON.stringify(FLAGS)}`);
    }
  }
  return args;
}

function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.arch()}`,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const s of listSections()) console.log(`${s.name.padEnd(14)} ${s.description}`);
    return;
  }
  const sections: BenchSection[] = args.only ? args.only.map(getSection) : listSections();
  const ctx: BenchContext = { quick: args.quick, backend: args.backend, offload: args.offload, log: (m) => process.stderr.write(`[bench] ${m}\n`) };
  await setThreads(args.threads);
  const info: Record<string, string | number> = { ...machine(), threads: args.threads };
  if (!args.json) console.log(`machine: ${info.cpu}, ${info.cores} cores, node ${info.node} (V8 ${info.v8}), ${info.platform}; wasm backend threads: ${args.threads}\n`);
  const results: { section: string; tables: BenchTable[] }[] = [];
  for (const s of sections) {
    const tables = await s.run(ctx);
    results.push({ section: s.name, tables });
    if (!args.json) for (const t of tables) console.log(`${formatTable(t)}\n`);
  }
  if (args.json) console.log(JSON.stringify({ machine: info, quick: args.quick, results }, null, 2));
  await shutdownThreads();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
