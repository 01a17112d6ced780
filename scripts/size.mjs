// `npm run size`: what a page downloads to use tsdeq, measured in headless Chromium. Each page
// in scripts/size/ is bundled and minified (esbuild; the DEQ page also with Vite), served from
// a local server, loaded in Chromium, and every response it received (HTML, JS, WASM) is counted
// as its body gzipped at level 9 (what a static host with gzip sends), and raw. The pages do the
// work they describe (one DEQ training step, a matmul...), so lazily loaded files are counted.
// Needs `npm run build` first (it measures build/index.js and build/wasm/, the package as shipped).
import { build as esbuild } from 'esbuild';
import { chromium } from 'playwright-core';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = resolve(import.meta.dirname, '..');
/** The built package to measure (default build/; TSDEQ_BUILD=dir measures another build of it). */
const pkg = resolve(process.env.TSDEQ_BUILD ?? join(root, 'build'));
const pages = join(root, 'scripts', 'size');
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));

/** The files of this checkout's build that 'tsdeq' and its subpaths resolve to (as package.json's exports). */
const ENTRIES = { tsdeq: 'index.js', 'tsdeq/nn': 'nn/index.js', 'tsdeq/optim': 'optim/index.js', 'tsdeq/torchdeq': 'torchdeq.js' };

/** Resolves 'tsdeq' (and 'tsdeq/nn', ...) to this checkout's build, as `npm install tsdeq` would. */
const tsdeqAlias = {
  name: 'tsdeq-self',
  setup(b) { b.onResolve({ filter: /^tsdeq(\/(nn|optim|torchdeq))?$/ }, (a) => ({ path: join(pkg, ENTRIES[a.path]) })); },
};

/**
 * Bundles `entry` with esbuild (minified, split: dynamically imported code in chunks, as
 * Vite does by default) into `out`/app.js next to an index.html.
 */
async function bundleEsbuild(entry, out, copy) {
  await esbuild({
    entryPoints: { app: join(pages, entry) }, bundle: true, minify: true, format: 'esm', target: 'es2022', splitting: true,
    platform: 'browser', outdir: out, plugins: [tsdeqAlias], logLevel: 'error',
    nodePaths: [join(root, 'node_modules')],
    // tfjs-backend-wasm mentions Node modules it only loads in Node.
    external: ['fs', 'path', 'worker_threads', 'perf_hooks', 'os', 'crypto'],
  });
  writeFileSync(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./app.js"></script>');
  for (const [from, to] of copy) cpSync(from, join(out, to), { recursive: true });
}

/** Bundles `entry` with Vite (production build, its default minifier) into `out`. */
async function bundleVite(entry, out) {
  const { build } = await import('vite');
  const src = mkdtempSync(join(tmpdir(), 'tsdeq-size-vite-'));
  cpSync(join(pages, entry), join(src, 'app.js'));
  writeFileSync(join(src, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./app.js"></script>');
  await build({
    root: src, logLevel: 'error', configFile: false,
    resolve: { alias: Object.entries(ENTRIES).map(([name, file]) => ({ find: new RegExp(`^${name}$`), replacement: join(pkg, file) })) },
    build: { outDir: out, emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
  });
  rmSync(src, { recursive: true, force: true });
}

const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

/** Serves `dir`, loads its page in Chromium, returns every response's raw and gzipped size. */
async function measure(browser, dir) {
  const server = createServer((req, res) => {
    const path = join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const page = await browser.newPage();
  const errors = [];
  const bodies = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('response', (r) => bodies.push(r.body().then((b) => ({ url: r.url(), raw: b.length, gz: gzipSync(b, { level: 9 }).length })).catch(() => null)));
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const failed = new Promise((_, fail) => page.on('pageerror', (e) => fail(e)));
    await Promise.race([failed, page.waitForFunction(() => globalThis.__result !== undefined, undefined, { timeout: 120_000 })]);
    const result = await page.evaluate(() => globalThis.__result);
    const files = (await Promise.all(bodies)).filter((b) => b !== null);
    if (errors.length) throw new Error(errors.join('\n'));
    return { result, files };
  } finally {
    await page.close();
    await new Promise((ok) => server.close(ok));
  }
}

const tfWasm = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
const wasmDir = join(pkg, 'wasm');
const cases = [
  { name: 'tsdeq: init + one DEQ training step (esbuild)', key: 'deq', make: (o) => bundleEsbuild('deq_step.js', o, [[wasmDir, 'wasm']]) },
  { name: 'tsdeq: init + one DEQ training step without nn/optim (esbuild)', key: 'deq-min', make: (o) => bundleEsbuild('deq_step_minimal.js', o, [[wasmDir, 'wasm']]) },
  { name: 'tsdeq: init + one DEQ training step (Vite)', key: 'deq-vite', make: (o) => bundleVite('deq_step.js', o) },
  { name: "tsdeq: the same page with nn and optim imported from 'tsdeq/nn' and 'tsdeq/optim' (esbuild)", key: 'deq-sub', make: (o) => bundleEsbuild('deq_step_subpath.js', o, [[wasmDir, 'wasm']]) },
  { name: "tsdeq: the same page with nn and optim imported from 'tsdeq/nn' and 'tsdeq/optim' (Vite)", key: 'deq-sub-vite', make: (o) => bundleVite('deq_step_subpath.js', o) },
  { name: "tsdeq: init({ dtypes: ['float32'] }) + one DEQ training step (esbuild)", key: 'deq-f32', make: (o) => bundleEsbuild('deq_step_f32.js', o, [[wasmDir, 'wasm']]) },
  { name: "tsdeq: init({ dtypes: ['float32'] }) + one DEQ training step (Vite)", key: 'deq-f32-vite', make: (o) => bundleVite('deq_step_f32.js', o) },
  { name: 'tsdeq: only tensor + matmul (esbuild)', key: 'matmul', make: (o) => bundleEsbuild('tensor_matmul.js', o, []) },
  { name: 'tsdeq: the whole namespace + init (esbuild)', key: 'all', make: (o) => bundleEsbuild('everything.js', o, [[wasmDir, 'wasm']]) },
  { name: `tfjs-core + tfjs-backend-wasm ${JSON.parse(readFileSync(join(tfWasm, '..', 'package.json'), 'utf8')).version}: one MLP training step (esbuild)`, key: 'tfjs', make: (o) => bundleEsbuild('tfjs_step.js', o, [[tfWasm, 'tfjs']]) },
  { name: `@jax-js/jax ${JSON.parse(readFileSync(join(root, 'node_modules', '@jax-js', 'jax', 'package.json'), 'utf8')).version}: one MLP gradient step (esbuild)`, key: 'jaxjs', make: (o) => bundleEsbuild('jaxjs_step.js', o, []) },
];

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu'],
});
const kb = (n) => (n / 1000).toFixed(1);
const rows = [];
try {
  for (const c of cases) {
    if (only.length && !only.includes(c.key)) continue;
    const out = mkdtempSync(join(tmpdir(), `tsdeq-size-${c.key}-`));
    try {
      await c.make(out);
      const { result, files } = await measure(browser, out);
      const sum = (f, k) => files.filter(f).reduce((n, x) => n + x[k], 0);
      const isJs = (x) => x.url.endsWith('.js'), isWasm = (x) => x.url.endsWith('.wasm');
      const row = {
        name: c.name, gz: sum(() => true, 'gz'), raw: sum(() => true, 'raw'),
        jsGz: sum(isJs, 'gz'), wasmGz: sum(isWasm, 'gz'),
        files: files.map((x) => `${x.url.slice(x.url.lastIndexOf('/') + 1) || 'index.html'} ${kb(x.gz)}`).join(', '),
        result,
      };
      rows.push(row);
      console.error(`${c.key}: ${kb(row.gz)} KB gzip (${kb(row.raw)} KB raw): ${row.files}; result ${JSON.stringify(result)}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
} finally {
  await browser.close();
}
console.log('| page | total, gzip | JS, gzip | WASM, gzip | total, raw | files (gzip KB) |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of rows) console.log(`| ${r.name} | ${kb(r.gz)} KB | ${kb(r.jsGz)} KB | ${kb(r.wasmGz)} KB | ${kb(r.raw)} KB | ${r.files} |`);
if (args.includes('--json')) writeFileSync(join(root, 'build', 'size.json'), JSON.stringify(rows, null, 2));
