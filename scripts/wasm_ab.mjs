// `node scripts/wasm_ab.mjs A.wasm B.wasm [rounds]`: bundles src/bench/wasm_ab.ts and runs it
// (with relaxed SIMD enabled, so relaxed builds load on Node 20). See that file.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'build', 'wasm_ab.mjs');
await build({ entryPoints: [join(root, 'src', 'bench', 'wasm_ab.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile: out, logLevel: 'warning' });
const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', out, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
