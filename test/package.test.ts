/**
 * The package as a user installs it: the tarball holds what a user needs and nothing else
 * (measured with `npm pack --dry-run`), LICENSE included; `tsdeq/wasm/*.wasm` has types (tsc,
 * strict, in a consumer project that installs tsdeq); `import` works and, the package being
 * ESM-only, `require('tsdeq')` where Node cannot require ES modules fails with an error that says
 * to use import (Node >= 20.19 / 22.12 require it through the "module-sync" condition); and the
 * installed package tree-shakes: the JavaScript ships as one ES module per source module with
 * `sideEffects` naming the two that have any, so a bundle (esbuild) of a page that imports only
 * `tensor` and `matmul` keeps no solver, no nn and no namespace, while tensor methods
 * (`x.mul(2)`, attached by a side-effect module) keep working in every bundle.
 */
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const consumer = mkdtempSync(join(tmpdir(), 'tsdeq-consumer-'));

function run(cmd: string, args: string[], cwd = root) {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000 });
}

beforeAll(() => {
  // `npm ci` builds the package (prepare); build what is missing when run on its own.
  if (!existsSync(join(root, 'build', 'index.js'))) expect(run('npm', ['run', 'build:js']).status).toBe(0);
  if (!existsSync(join(root, 'build', 'types', 'index.d.ts'))) expect(run('npm', ['run', 'build:types']).status).toBe(0);
  // The consumer installs the packed tarball itself (not a link to this folder), so a file the
  // bundle needs but `files` leaves out (a lazy chunk, a wasm build) fails these tests.
  const packs = mkdtempSync(join(tmpdir(), 'tsdeq-pack-'));
  const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', packs]);
  expect(packed.status, packed.stderr).toBe(0);
  const tgz = readdirSync(packs).find((f) => f.endsWith('.tgz'))!;
  const dest = join(consumer, 'node_modules', 'tsdeq');
  mkdirSync(dest, { recursive: true });
  const untar = run('tar', ['-xzf', join(packs, tgz), '-C', dest, '--strip-components=1']);
  expect(untar.status, untar.stderr).toBe(0);
}, 300_000);

describe('the npm package', () => {
  it('the tarball holds the modules, types, the six wasm modules, LICENSE and README, and nothing else', () => {
    const r = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as { files: { path: string }[]; size: number }[];
    const files = info[0].files.map((f) => f.path);
    for (const need of ['LICENSE', 'README.md', 'package.json', 'build/index.js', 'build/index.js.map', 'build/wasm_urls.js',
      'build/tensor_methods.js', 'build/backend/webgpu/start.js', 'build/types/index.d.ts', 'build/types/torchdeq.d.ts',
      'build/wasm/tsdeq-simd.wasm', 'build/wasm/tsdeq-relaxed.wasm', 'build/wasm/tsdeq-simd-threads.wasm',
      'build/wasm/tsdeq-relaxed-threads.wasm', 'build/wasm/tsdeq-simd-f32.wasm', 'build/wasm/tsdeq-relaxed-f32.wasm',
      'package/wasm.d.ts', 'package/require.cjs']) {
      expect(files, need).toContain(need);
    }
    // One module (and its map) per source module of src/ but bench/ and demo/.
    const modules = files.filter((f) => /^build\/(?!types\/|wasm\/).*\.js$/.test(f)).map((f) => f.slice(6, -3)).sort();
    const sources = (function walk(dir: string, rel: string): string[] {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory()
        ? (rel === '' && (e.name === 'bench' || e.name === 'demo') ? [] : walk(join(dir, e.name), `${rel}${e.name}/`))
        : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [`${rel}${e.name.slice(0, -3)}`] : []);
    })(join(root, 'src'), '').sort();
    expect(modules).toEqual(sources);
    for (const m of modules) expect(files, `${m}.js.map`).toContain(`build/${m}.js.map`);
    const extra = files.filter((f) => !/^(LICENSE|README\.md|package\.json|build\/[a-z0-9_/]+\.js(\.map)?|build\/types\/.*\.d\.ts|build\/wasm\/tsdeq-[a-z0-9-]+\.wasm|package\/(wasm\.d\.ts|require\.cjs))$/.test(f));
    expect(extra).toEqual([]);
    expect(files.some((f) => f.startsWith('build/types/demo/') || f.startsWith('build/types/bench/') || f === 'build/demo.js')).toBe(false);
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the tsdeq authors\n/);
  }, 120_000);

  it("types for `import m from 'tsdeq/wasm/simd.wasm'` (tsc strict, as a consumer)", () => {
    writeFileSync(join(consumer, 'edge.ts'), [
      "import { init } from 'tsdeq';",
      "import simdModule from 'tsdeq/wasm/simd.wasm';",
      "import relaxedModule from 'tsdeq/wasm/relaxed.wasm';",
      "import { Linear } from 'tsdeq/nn';",
      "import { Adam } from 'tsdeq/optim';",
      "import { get_deq } from 'tsdeq/torchdeq';",
      'export const layer: Linear = new Linear(2, 3);',
      'export const opt = new Adam(layer.parameters(), { lr: 1e-3 });',
      'export const deq = get_deq({ f_solver: "anderson" });',
      '// @ts-expect-error Linear takes numbers',
      "export const bad = new Linear('2', 3);",
      'const m: WebAssembly.Module = simdModule;',
      'export const ready = init(m);',
      'export const other: WebAssembly.Module = relaxedModule;',
      '// @ts-expect-error a module is not a string',
      'export const wrong: string = simdModule;',
      '',
    ].join('\n'));
    for (const moduleResolution of ['Bundler', 'NodeNext']) {
      writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: moduleResolution === 'Bundler' ? 'ESNext' : 'NodeNext', moduleResolution,
          strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2022', 'DOM'], types: [],
        },
        files: ['edge.ts'],
      }));
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
      const r = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(consumer, 'tsconfig.json')], consumer);
      expect(r.status, `${moduleResolution}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  }, 120_000);

  it('import works; require gives an error that says to use import (Node < 22.12) or works (module-sync)', () => {
    const imp = run(process.execPath, ['--input-type=module', '-e', "const m = await import('tsdeq'); await m.init(); const y = m.tensor([1, 2, 3]).mul(2).dataSync(); console.log(typeof m.init, typeof m.torchdeq.get_deq, Array.from(y).join(','), m.getBackend().name);"], consumer);
    expect(imp.status, imp.stderr).toBe(0);
    expect(imp.stdout.trim()).toBe('function function 2,4,6 wasm');
    // The subpaths are the very modules the namespaces re-export (one copy of the library's state).
    const sub = run(process.execPath, ['--input-type=module', '-e', "const m = await import('tsdeq'); const nn = await import('tsdeq/nn'), optim = await import('tsdeq/optim'), t = await import('tsdeq/torchdeq'); console.log(nn.Linear === m.nn.Linear, optim.Adam === m.optim.Adam, t.get_deq === m.torchdeq.get_deq, new nn.Linear(2, 3).weight.shape.join('x'));"], consumer);
    expect(sub.status, sub.stderr).toBe(0);
    expect(sub.stdout.trim()).toBe('true true true 3x2');
    const script = "const m = require('tsdeq'); console.log(typeof m.init);";
    const req = run(process.execPath, ['-e', script], consumer);
    // Where require(esm) works (Node >= 20.19 / 22.12), "module-sync" hands over the ES module.
    if (req.status === 0) expect(req.stdout.trim()).toBe('function');
    else expect(req.stderr).toMatch(/tsdeq is ESM-only/);
    // Without it, the "require" condition answers with an error that says to use import.
    const flag = '--no-experimental-require-module';
    const old = process.allowedNodeEnvironmentFlags.has(flag) ? run(process.execPath, [flag, '-e', script], consumer) : req;
    if (old.status !== 0 || old === req) {
      expect(old.status).not.toBe(0);
      expect(old.stderr).toMatch(/tsdeq is ESM-only: use `import \{ init \} from 'tsdeq'`/);
      expect(old.stderr).toMatch(/await import\('tsdeq'\)/);
    }
  }, 120_000);

  it('tree-shakes: a bundle of tensor + matmul keeps no solver, nn or namespace; tensor methods survive in every bundle', async () => {
    const bundle = async (code: string): Promise<string> => {
      writeFileSync(join(consumer, 'entry.js'), code);
      const r = await build({ entryPoints: [join(consumer, 'entry.js')], bundle: true, minify: true, format: 'esm', platform: 'browser',
        target: 'es2022', write: false, logLevel: 'silent', absWorkingDir: consumer });
      return r.outputFiles.map((f) => f.text).join('\n');
    };
    const small = await bundle("import { tensor, matmul } from 'tsdeq'; console.log(matmul(tensor([[1, 2]]), tensor([[3], [4]])).mul(2).toArray());");
    const all = await bundle("import * as T from 'tsdeq'; console.log(Object.keys(T).length);");
    // Error texts survive minification: they name what each module does.
    // (solvers, the DEQ registry, the torchdeq namespace, nn/optim, init and its WASM file names)
    for (const marker of ['fixed_point_iter', "gmres: option 'restart'", 'getDeq', 'iftGrad', 'get_deq', 'Linear', 'Adam', 'clipGradNorm', 'tsdeq-relaxed.wasm']) {
      expect(all.includes(marker), marker).toBe(true);
      expect(small.includes(marker), marker).toBe(false);
    }
    expect(small.length).toBeLessThan(0.4 * all.length);
    // The methods the side-effect module attaches are in the small bundle, and run; also when
    // Vite (Rolldown, which drops the bare imports of modules that `sideEffects` leaves out) bundles it.
    const { build: viteBuild } = await import('vite');
    await bundle("import { tensor, matmul } from 'tsdeq'; console.log(matmul(tensor([[1, 2]]), tensor([[3], [4]])).mul(2).toArray());");
    const out = await viteBuild({
      root: consumer, configFile: false, logLevel: 'silent',
      build: { write: false, minify: true, assetsInlineLimit: 0, lib: { entry: join(consumer, 'entry.js'), formats: ['es'], fileName: 'vite' } },
    }) as { output: { type: string; code?: string }[] }[];
    const viteSmall = out[0].output.filter((o) => o.type === 'chunk').map((o) => o.code).join('\n');
    expect(viteSmall.length).toBeLessThan(0.4 * all.length);
    for (const [name, code] of [['esbuild', small], ['vite', viteSmall]]) {
      writeFileSync(join(consumer, `small-${name}.mjs`), code);
      const r = run(process.execPath, [join(consumer, `small-${name}.mjs`)], consumer);
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim(), name).toBe('[ [ 22 ] ]');
    }
  }, 120_000);

  it('lazy parts: a split bundle of a page calling init() loads the thread pool and the webgpu backend only through dynamic imports', async () => {
    writeFileSync(join(consumer, 'page.js'), "import { init, getDeq } from 'tsdeq'; await init(); console.log(getDeq({}));");
    const r = await build({ entryPoints: [join(consumer, 'page.js')], bundle: true, minify: true, format: 'esm', platform: 'browser',
      target: 'es2022', splitting: true, outdir: join(consumer, 'split'), write: false, metafile: true, logLevel: 'silent', absWorkingDir: consumer });
    const text = new Map(r.outputFiles.map((f) => [f.path, f.text]));
    const outputs = r.metafile!.outputs;
    const key = (p: string): string => Object.keys(outputs).find((k) => resolve(consumer, k) === p || k === p)!;
    // What the page loads before any dynamic import: the entry and its static imports.
    const entry = Object.keys(outputs).find((k) => outputs[k].entryPoint !== undefined)!;
    const eager = new Set<string>();
    const visit = (k: string): void => {
      if (eager.has(k)) return;
      eager.add(k);
      for (const i of outputs[k].imports) if (i.kind === 'import-statement') visit(key(resolve(consumer, i.path)));
    };
    visit(entry);
    const code = (k: string): string => text.get(resolve(consumer, k)) ?? '';
    const eagerCode = [...eager].map(code).join('\n');
    const lazyCode = Object.keys(outputs).filter((k) => !eager.has(k) && k.endsWith('.js')).map(code).join('\n');
    // The worker's source (Node's parentPort) and the webgpu backend's WGSL are in lazy chunks only.
    for (const marker of ['parentPort', '@compute']) {
      expect(eagerCode.includes(marker), marker).toBe(false);
      expect(lazyCode.includes(marker), marker).toBe(true);
    }
    expect(eagerCode).toContain('tsdeq-relaxed.wasm');
  }, 120_000);
});
