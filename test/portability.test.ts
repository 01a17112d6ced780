/**
 * Portability smoke tests of the BUILT package (build/index.js and the modules it imports) in Node, Deno, headless
 * Chromium and workerd (Cloudflare's edge runtime, which takes the module precompiled). Each runtime runs test/portability/smoke.mjs (tensors, ops, tidy, backward, seeded
 * randn and, when the package exports `init()`, the WASM backend, and with `setThreads()` a
 * matmul on 2 threads of the worker pool) and reports JSON. Node and Deno exit on their own
 * with the pool running (its workers are unref'd); Chromium runs threads only on a cross-origin
 * isolated page (COOP same-origin + COEP require-corp).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { CHROMIUM_ARGS, serveStatic, type StaticServer } from './helpers/static_server.js';
import * as T from '../src/index.js';

const root = resolve(__dirname, '..');
const bundle = join(root, 'build', 'index.js');
const denoBin = join(root, 'node_modules', '.bin', 'deno');
const chromiumBin = '/usr/bin/chromium';
const workerdBin = join(root, 'node_modules', '.bin', 'workerd');
const mainScript = join(root, 'test', 'portability', 'main.mjs');

/** Newest modification time of the files the bundle is built from. */
function newestSource(): number {
  let newest = statSync(join(root, 'package.json')).mtimeMs;
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'assembly'));
  return newest;
}

/** The package's JavaScript modules, relative to build/ (one per module of src/ but bench/ and demo/). */
function packageModules(): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!(rel === '' && (e.name === 'bench' || e.name === 'demo'))) walk(join(dir, e.name), `${rel}${e.name}/`);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(`${rel}${e.name.slice(0, -3)}.js`);
    }
  };
  walk(join(root, 'src'), '');
  return out;
}

/** Whether the package exports init() (src/init.ts, re-exported from src/index.ts). */
const hasInit = existsSync(join(root, 'src', 'init.ts')) && typeof (T as Record<string, unknown>).init === 'function';

interface InitReport {
  precompiled: boolean;
  returned: unknown;
  y: number;
  yBackend: string;
  gradX: number[];
  gradW: number[];
  selectedByInit: string;
  backends: string[];
  matmulBackend: string;
  variant: unknown;
  matmul: number[];
}
interface ThreadsReport {
  defaultThreads: number;
  set: number | null;
  error: string | null;
  threads: number;
  jobs: number;
  equal: boolean;
  values: number[];
  expected: number[];
}
interface SmokeReport {
  runtime: string;
  y: number;
  gradX: number[];
  gradW: number[];
  tidyLeak: number;
  randn: number[];
  init?: InitReport;
  threads?: ThreadsReport;
}

/**
 * What the thread check of a run must show: 'pool' (setThreads(2) works and the 128^3 product
 * runs on the worker pool), 'custom-module' (init() was given a module: one thread, and
 * setThreads(2) says why), 'not-isolated' (a page without cross-origin isolation: no
 * SharedArrayBuffer, one thread).
 */
type ThreadsExpectation = 'pool' | 'custom-module' | 'not-isolated';

function checkThreads(t: ThreadsReport | undefined, runtime: string, want: ThreadsExpectation): void {
  if (typeof (T as Record<string, unknown>).setThreads !== 'function') return;
  expect(t, 'the package exports setThreads(), so the smoke run must report threads').toBeDefined();
  console.log(`[portability] ${runtime}: threads ${JSON.stringify({ default: t!.defaultThreads, set: t!.set, used: t!.threads, pooledJobs: t!.jobs, error: t!.error })}`);
  // The product is right and identical on 2 threads and on 1, whatever ran it.
  expect(t!.values).toEqual(t!.expected);
  expect(t!.equal).toBe(true);
  if (want === 'pool') {
    expect(t!.defaultThreads).toBeGreaterThanOrEqual(1);
    expect(t!.error).toBeNull();
    expect(t!.set).toBe(2);
    expect(t!.threads).toBe(2);
    expect(t!.jobs).toBe(1);
  } else {
    expect(t!.defaultThreads).toBe(1);
    expect(t!.set).toBeNull();
    expect(t!.threads).toBe(1);
    expect(t!.jobs).toBe(0);
    expect(t!.error).toMatch(want === 'custom-module'
      ? /setThreads: cannot run 2 threads: init\(\) was given a module of its own/
      : /setThreads: cannot run 2 threads: the page is not cross-origin isolated/);
  }
}

/** The same computation, by hand in float64: y = sum(tanh(x w)), dy/dx = S w^T, dy/dw = x^T S. */
function expected(): { y: number; gradX: number[]; gradW: number[]; randn: number[] } {
  const x = [[1, 2], [3, 4]], w = [[0.5, -1], [2, 0.25]];
  const z = x.map((r) => [0, 1].map((j) => r[0] * w[0][j] + r[1] * w[1][j]));
  const s = z.map((r) => r.map((v) => 1 - Math.tanh(v) ** 2));
  const y = z.flat().reduce((a, v) => a + Math.tanh(v), 0);
  const gradX = s.flatMap((r) => [0, 1].map((k) => r[0] * w[k][0] + r[1] * w[k][1]));
  const gradW = [0, 1].flatMap((i) => [0, 1].map((j) => x[0][i] * s[0][j] + x[1][i] * s[1][j]));
  const randn = Array.from(T.randn([3], { seed: 42, dtype: 'float64' }).dataSync());
  return { y, gradX, gradW, randn };
}

function checkReport(r: SmokeReport, runtime: string, precompiled = false, threads: ThreadsExpectation = precompiled ? 'custom-module' : 'pool'): void {
  const want = expected();
  expect(r.runtime).toBe(runtime);
  expect(r.y).toBeCloseTo(want.y, 12);
  r.gradX.forEach((v, i) => expect(v).toBeCloseTo(want.gradX[i], 12));
  r.gradW.forEach((v, i) => expect(v).toBeCloseTo(want.gradW[i], 12));
  expect(r.gradX).toHaveLength(4);
  expect(r.gradW).toHaveLength(4);
  expect(r.tidyLeak).toBe(0);
  // Seeded random numbers are bit-identical to this Node process's.
  expect(r.randn).toEqual(want.randn);
  if (hasInit) {
    expect(r.init, 'the package exports init(), so the smoke run must have called it').toBeDefined();
    const i = r.init!;
    console.log(`[portability] ${runtime}: init() selected backend '${i.selectedByInit}', variant ${JSON.stringify(i.variant)}, backends ${JSON.stringify(i.backends)}, returned ${JSON.stringify(i.returned)}`);
    expect(i.precompiled).toBe(precompiled);
    expect(i.backends).toContain('wasm');
    expect(i.selectedByInit).toBe('wasm');
    expect(i.returned).toMatchObject({ backend: 'wasm', variant: i.variant });
    expect(['simd', 'relaxed']).toContain(i.variant);
    // A precompiled module is the baseline-SIMD build we compiled.
    if (precompiled) expect(i.variant).toBe('simd');
    expect(i.matmulBackend).toBe('wasm');
    expect(i.matmul).toEqual([58, 64, 139, 154]);
    // The forward/backward pass on the WASM kernels matches the float64 hand computation.
    expect(i.yBackend).toBe('wasm');
    expect(i.y).toBeCloseTo(want.y, 12);
    i.gradX.forEach((v, k) => expect(v).toBeCloseTo(want.gradX[k], 12));
    i.gradW.forEach((v, k) => expect(v).toBeCloseTo(want.gradW[k], 12));
    expect(i.gradX).toHaveLength(4);
  } else {
    expect(r.init).toBeUndefined();
  }
  checkThreads(r.threads, runtime, threads);
}

/** Parses the last stdout line of a runtime as the report. */
function parseReport(stdout: string): SmokeReport {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as SmokeReport;
}

/** A TCP port that is free right now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createTcpServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => ok(port));
    });
  });
}

beforeAll(() => {
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < newestSource()) {
    // The bundle is missing or older than the sources: build the package as `npm ci` does.
    const r = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) {
      throw new Error(`portability: 'npm run build' failed (exit ${r.status}), so there is no fresh build/index.js to test:\n${(r.stdout + r.stderr).slice(-4000)}`);
    }
    // esbuild leaves an unchanged output file untouched: mark the bundle as fresh.
    const now = new Date();
    utimesSync(bundle, now, now);
  }
}, 660_000);

describe('bundled package smoke runs', () => {
  // Each runtime runs twice: init() with the bundled bytes, and init(precompiled WebAssembly.Module)
  // as on edge runtimes such as workerd, which forbid compiling bytes at run time.
  const modes = hasInit ? [false, true] : [false];
  const modeName = (p: boolean): string => (p ? ', init(WebAssembly.Module)' : '');

  for (const precompiled of modes) {
    it(`Node${modeName(precompiled)}`, () => {
      const r = spawnSync(process.execPath, [mainScript, ...(precompiled ? ['--precompiled'] : [])], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      checkReport(parseReport(r.stdout), 'node', precompiled);
    });
  }

  const denoMissing = !existsSync(denoBin);
  if (denoMissing) console.log(`[portability] Deno smoke test skipped: ${denoBin} is absent (run npm ci; the deno devDependency ships it)`);
  // Skipped only when the deno binary is genuinely absent (reason printed above).
  for (const precompiled of modes) {
    it.skipIf(denoMissing)(`Deno${modeName(precompiled)}`, () => {
      const r = spawnSync(denoBin, ['run', '--allow-read', mainScript, ...(precompiled ? ['--precompiled'] : [])], {
        cwd: root, encoding: 'utf8', timeout: 120_000,
        env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      });
      expect(r.status, r.stderr).toBe(0);
      checkReport(parseReport(r.stdout), 'deno', precompiled);
    });
  }

  const workerdMissing = !existsSync(workerdBin);
  if (workerdMissing) console.log(`[portability] workerd smoke test skipped: ${workerdBin} is absent (run npm ci; the workerd devDependency ships it)`);
  describe.skipIf(workerdMissing)('workerd (Cloudflare\'s edge runtime)', () => {
    // Skipped only when the workerd binary is genuinely absent (reason printed above).
    let proc: ChildProcess | null = null;
    let dir = '';
    let base = '';
    let output = '';
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tsdeq-workerd-'));
      // The package's modules: build/index.js and every module it imports (one per source
      // module, in src/'s tree; workerd resolves relative imports between module names).
      const modules = packageModules();
      for (const m of modules) {
        mkdirSync(dirname(join(dir, m)), { recursive: true });
        copyFileSync(join(root, 'build', m), join(dir, m));
      }
      copyFileSync(join(root, 'test', 'portability', 'smoke.mjs'), join(dir, 'smoke.mjs'));
      copyFileSync(join(root, 'test', 'portability', 'workerd_worker.mjs'), join(dir, 'worker.mjs'));
      copyFileSync(join(root, 'build', 'wasm', 'tsdeq-simd.wasm'), join(dir, 'simd.wasm'));
      const port = await freePort();
      // A worker whose modules are the bundle, the smoke run and the .wasm file (handed to the
      // worker as a compiled WebAssembly.Module, the only way workerd allows).
      writeFileSync(join(dir, 'config.capnp'), [
        'using Workerd = import "/workerd/workerd.capnp";',
        'const config :Workerd.Config = (',
        '  services = [ (name = "main", worker = .smoke) ],',
        `  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],`,
        ');',
        'const smoke :Workerd.Worker = (',
        '  modules = [',
        '    (name = "worker.mjs", esModule = embed "worker.mjs"),',
        ...modules.map((m) => `    (name = "${m}", esModule = embed "${m}"),`),
        '    (name = "smoke.mjs", esModule = embed "smoke.mjs"),',
        '    (name = "simd.wasm", wasm = embed "simd.wasm"),',
        '  ],',
        '  compatibilityDate = "2024-09-23",',
        ');',
      ].join('\n'));
      proc = spawn(workerdBin, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout!.on('data', (d) => { output += String(d); });
      proc.stderr!.on('data', (d) => { output += String(d); });
      base = `http://127.0.0.1:${port}`;
      const until = Date.now() + 60_000;
      for (;;) {
        try {
          await fetch(`${base}/ready`, { method: 'HEAD' });
          break;
        } catch (e) {
          if (Date.now() > until || proc.exitCode !== null) throw new Error(`workerd did not start: ${String(e)}\n${output.slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }, 90_000);
    afterAll(() => {
      proc?.kill();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('init() without a module fails (workerd has no package files to fetch and forbids compiling bytes) with an error that says to pass the module (asked first: a failed init leaves nothing behind)', async () => {
      const r = await (await fetch(`${base}/bytes`)).json() as { ok: boolean; message: string };
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(/^init: could not load the tsdeq WASM module .*: .*; where the package's \.wasm files cannot be fetched or WebAssembly cannot be compiled from bytes \(as on Cloudflare workerd\), import tsdeq\/wasm\/simd\.wasm \(or relaxed\.wasm\) as a module and pass it: init\(module\)$/);
    }, 60_000);
    it('init(WebAssembly.Module): the baseline-SIMD build on one thread, the same values as everywhere', async () => {
      const res = await fetch(`${base}/`);
      const body = await res.text();
      expect(res.status, body + output.slice(-2000)).toBe(200);
      checkReport(JSON.parse(body) as SmokeReport, 'workerd', true);
    }, 60_000);

  });

  const chromiumMissing = !existsSync(chromiumBin);
  if (chromiumMissing) console.log(`[portability] Chromium smoke test skipped: ${chromiumBin} is absent (apt-get install -y chromium; .ci/run does this)`);
  describe.skipIf(chromiumMissing)('headless Chromium', () => {
    // Skipped only when /usr/bin/chromium is genuinely absent (reason printed above).
    let server: StaticServer | undefined;
    let base = '';
    beforeAll(async () => {
      server = await serveStatic(root, [join(root, 'build'), join(root, 'test', 'portability')]);
      base = server.base;
    });
    afterAll(async () => { await server?.close(); });

    it('runs the bundle as an ES module in a page (each page loads the package afresh)', async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: chromiumBin,
        args: [...CHROMIUM_ARGS, '--disable-gpu'],
      });
      try {
        // Pages: plain (no cross-origin isolation: one thread), precompiled module, and (when the
        // package has threads) a cross-origin isolated page where the worker pool runs.
        const pages: { precompiled: boolean; isolated: boolean }[] = modes.map((precompiled) => ({ precompiled, isolated: false }));
        if (typeof (T as Record<string, unknown>).setThreads === 'function') pages.push({ precompiled: false, isolated: true });
        for (const { precompiled, isolated } of pages) {
          const page = await browser.newPage();
          const errors: string[] = [];
          page.on('pageerror', (e) => errors.push(String(e)));
          page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
          const wasmFetched: string[] = [];
          page.on('request', (q) => { if (q.url().endsWith('.wasm')) wasmFetched.push(q.url().slice(q.url().lastIndexOf('/') + 1)); });
          const query = [precompiled ? 'precompiled' : '', isolated ? 'isolated' : ''].filter((q) => q !== '').join('&');
          await page.goto(`${base}/test/portability/page.html${query ? `?${query}` : ''}`);
          await page.waitForFunction(() => (window as unknown as { __smoke?: unknown }).__smoke !== undefined, undefined, { timeout: 60_000 });
          const res = await page.evaluate(() => (window as unknown as { __smoke: { ok: boolean; report?: SmokeReport; error?: string } }).__smoke);
          expect(res.error ?? null).toBeNull();
          expect(errors).toEqual([]);
          expect(res.ok).toBe(true);
          expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(isolated);
          checkReport(res.report!, 'browser', precompiled, precompiled ? 'custom-module' : isolated ? 'pool' : 'not-isolated');
          // Only the build that runs is downloaded (the page itself fetches the precompiled one).
          const variant = res.report!.init?.variant;
          expect(wasmFetched).toEqual([precompiled ? 'tsdeq-simd.wasm' : `tsdeq-${String(variant)}${isolated ? '-threads' : ''}.wasm`]);
          await page.close();
        }
      } finally {
        await browser.close();
      }
    });
  });
});
