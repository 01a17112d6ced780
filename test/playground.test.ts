/**
 * The browser playground (`npm run demo:web`, src/demo/web/): built with scripts/build_web.mjs,
 * served by scripts/serve_web.mjs (which must print its URL and send the cross-origin isolation
 * headers), and driven in headless Chromium: it loads without console errors, trains in its
 * worker until the test accuracy shown passes 0.9 (a 2,000-digit training subset, 300 test
 * digits, width 64), draws its plots, pauses and resumes, and switches solver mid-run. A second
 * page load from a plain static server (no isolation headers) must work on one thread.
 * A screenshot is written to build/playground.png.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_ARGS } from './helpers/static_server.js';

const root = resolve(__dirname, '..');
const web = join(root, 'build', 'web');
const chromiumBin = '/usr/bin/chromium';
const QUERY = '?train=2000&test=300&width=64&evalEvery=20&autostart=1';

interface PlaygroundState {
  running: boolean;
  ready: boolean;
  steps: number;
  testAcc: number;
  errors: string[];
  info: { backend: string; variant: string; threads: number; crossOriginIsolated: boolean; threadsReason: string } | null;
  settings: { solver: string } | null;
  lastSolver: string | null;
}

const stateOf = (page: Page): Promise<PlaygroundState> => page.evaluate(() => (globalThis as unknown as { __playground: PlaygroundState }).__playground);

/** Share of non-blank pixels of a canvas (anything drawn on the transparent background). */
function inkOf(page: Page, id: string): Promise<number> {
  return page.evaluate((cid) => {
    const c = document.getElementById(cid) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
    return ink / (c.width * c.height);
  }, id);
}

let server: ChildProcess | null = null;
let base = '';
let banner = '';

beforeAll(async () => {
  const wasm = join(root, 'build', 'wasm');
  if (!existsSync(wasm) || !['simd', 'relaxed', 'simd-threads', 'relaxed-threads'].every((v) => existsSync(join(wasm, `tsdeq-${v}.wasm`)))) {
    const r = spawnSync('npm', ['run', 'build:wasm'], { cwd: root, encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`playground: 'npm run build:wasm' failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
  }
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build_web.mjs')], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (b.status !== 0) throw new Error(`playground: scripts/build_web.mjs failed:\n${(b.stdout + b.stderr).slice(-4000)}`);
  // The server of `npm run demo:web`, on a port of its choosing (PORT=0).
  server = spawn(process.execPath, [join(root, 'scripts', 'serve_web.mjs')], { cwd: root, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  banner = await new Promise<string>((ok, fail) => {
    let out = '';
    server!.stdout!.on('data', (d) => { out += String(d); if (out.includes('\n')) ok(out.trim()); });
    server!.stderr!.on('data', (d) => { out += String(d); });
    server!.once('exit', (code) => fail(new Error(`serve_web.mjs exited with ${code}: ${out}`)));
    setTimeout(() => fail(new Error(`serve_web.mjs printed no URL within 20 s: ${out}`)), 20_000);
  });
  base = banner.match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0] ?? '';
}, 900_000);

afterAll(() => {
  server?.kill();
});

describe('npm run demo:web', () => {
  it('builds a static page with everything it needs (the WASM builds, the packed digits)', () => {
    for (const f of ['index.html', 'style.css', 'page.js', 'worker.js', 'page.js.map', 'worker.js.map', 'digits.bin', 'wasm/tsdeq-relaxed.wasm', 'wasm/tsdeq-simd-threads.wasm']) {
      expect(existsSync(join(web, f)), f).toBe(true);
    }
    // 6,000 + 1,000 digits at 4 bits per pixel, with their labels and a 12-byte header.
    const digits = readFileSync(join(web, 'digits.bin'));
    expect(digits.subarray(0, 4).toString('latin1')).toBe('TDQD');
    expect(digits.readUInt32LE(4)).toBe(6000);
    expect(digits.readUInt32LE(8)).toBe(1000);
    expect(statSync(join(web, 'digits.bin')).size).toBe(12 + 7000 + 7000 * 392);
    // Nothing is fetched from elsewhere: no absolute URLs in the page.
    expect(readFileSync(join(web, 'index.html'), 'utf8')).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves it at the printed URL, cross-origin isolated (COOP same-origin, COEP require-corp)', async () => {
    expect(banner).toMatch(/^tsdeq playground: http:\/\/127\.0\.0\.1:\d+\/ /);
    for (const [path, type] of [['', 'text/html'], ['worker.js', 'text/javascript'], ['wasm/tsdeq-relaxed-threads.wasm', 'application/wasm']]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    }
    expect((await fetch(`${base}../../package.json`)).status).not.toBe(200);
  });

  const chromiumMissing = !existsSync(chromiumBin);
  if (chromiumMissing) console.log(`[playground] Chromium tests skipped: ${chromiumBin} is absent (apt-get install -y chromium; .ci/run does this)`);
  describe.skipIf(chromiumMissing)('in headless Chromium', () => {
    // Skipped only when /usr/bin/chromium is genuinely absent (reason printed above).
    let browser: Browser;
    let plain: Server;
    beforeAll(async () => {
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({
        executablePath: chromiumBin,
        args: CHROMIUM_ARGS,
      });
      // A plain static host: the same files, no isolation headers.
      plain = createServer((req, res) => {
        const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
        const file = resolve(web, '.' + (p.endsWith('/') ? `${p}index.html` : p));
        if (!file.startsWith(web + sep) || !existsSync(file)) { res.writeHead(404).end(); return; }
        const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
        res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
      });
      await new Promise<void>((ok) => plain.listen(0, '127.0.0.1', ok));
    });
    afterAll(async () => {
      await browser?.close();
      await new Promise<void>((ok) => plain?.close(() => ok()));
    });

    it('trains live: test accuracy above 0.9, plots drawn, pause/resume and a solver switch work, no console errors', async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(base + QUERY);
      await page.waitForFunction(() => (globalThis as unknown as { __playground: PlaygroundState }).__playground.steps > 0, undefined, { timeout: 30_000 });
      const first = await stateOf(page);
      expect(first.info).toMatchObject({ backend: 'wasm', crossOriginIsolated: true, threadsReason: '' });
      expect(['simd', 'relaxed']).toContain(first.info!.variant);
      expect(first.info!.threads).toBeGreaterThanOrEqual(1);
      expect(await page.locator('#threads').isDisabled()).toBe(false);
      // Training reaches 0.9 test accuracy on the 300 test digits.
      await page.waitForFunction(() => {
        const p = (globalThis as unknown as { __playground: PlaygroundState }).__playground;
        return p.testAcc > 0.9 || p.errors.length > 0;
      }, undefined, { timeout: 60_000, polling: 250 });
      const trained = await stateOf(page);
      expect(trained.errors).toEqual([]);
      expect(trained.testAcc).toBeGreaterThan(0.9);
      expect(await page.locator('#test-acc').textContent()).toMatch(/^test accuracy 0\.9\d$/);
      expect(await page.locator('#status').textContent()).toMatch(new RegExp(`backend wasm · SIMD ${trained.info!.variant} · threads \\d+ · steps/s \\d+\\.\\d`));
      // Every plot has drawn something.
      await page.waitForTimeout(100);
      for (const id of ['loss', 'acc', 'fwd', 'bwd', 'nstep', 'statusbar', 'digits']) expect(await inkOf(page, id), id).toBeGreaterThan(0.01);
      // The digit grid marks predictions: green labels, and red for wrong ones when there are any.
      // Pause: the step count stops (a step in flight may finish), then resumes.
      await page.click('#run');
      await page.waitForFunction(() => !(globalThis as unknown as { __playground: PlaygroundState }).__playground.running);
      await page.waitForTimeout(400);
      const paused = (await stateOf(page)).steps;
      await page.waitForTimeout(1500);
      expect((await stateOf(page)).steps).toBe(paused);
      expect(await page.locator('#run').textContent()).toBe('Resume');
      await page.click('#run');
      await page.waitForFunction((n) => (globalThis as unknown as { __playground: PlaygroundState }).__playground.steps > n + 3, paused, { timeout: 20_000 });
      // Switch the solver to Broyden while training: later steps report it.
      await page.selectOption('#solver', 'broyden');
      await page.waitForFunction(() => (globalThis as unknown as { __playground: PlaygroundState }).__playground.lastSolver === 'broyden', undefined, { timeout: 20_000 });
      const after = (await stateOf(page)).steps;
      await page.waitForFunction((n) => (globalThis as unknown as { __playground: PlaygroundState }).__playground.steps > n + 3, after, { timeout: 20_000 });
      expect((await stateOf(page)).errors).toEqual([]);
      await page.screenshot({ path: join(root, 'build', 'playground.png'), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    }, 150_000);

    it('offers the webgpu backend when the browser has an adapter (a fallback adapter is labelled), switches the model to it and trains there', async () => {
      const { chromium } = await import('playwright-core');
      // Chromium gives a SwiftShader (CPU, fallback) adapter with this flag (/work/shared/WEBGPU.md).
      const gpuBrowser = await chromium.launch({
        executablePath: chromiumBin,
        args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
      });
      try {
        const page = await gpuBrowser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
        await page.goto(`${base}?train=500&test=100&width=32&evalEvery=1000`);
        await page.waitForFunction(() => (globalThis as unknown as { __playground: PlaygroundState }).__playground.ready, undefined, { timeout: 30_000 });
        const option = page.locator('#backend option[value="webgpu"]');
        expect(await option.isDisabled()).toBe(false);
        expect(await option.textContent()).toBe('webgpu (fallback adapter: CPU, slow)');
        // Selecting it makes a new model on the webgpu backend (the worker reports the switch),
        // and training steps run there.
        await page.selectOption('#backend', 'webgpu');
        await page.waitForFunction(() => {
          const p = (globalThis as unknown as { __playground: PlaygroundState }).__playground;
          return p.info?.backend === 'webgpu' || p.errors.length > 0;
        }, undefined, { timeout: 60_000 });
        const s = await stateOf(page);
        expect(s.errors).toEqual([]);
        expect(s.info!.backend).toBe('webgpu');
        expect(await page.locator('#status').textContent()).toMatch(/backend webgpu · adapter .*\(fallback\)/);
        const at = s.steps;
        if (!s.running) await page.click('#run');
        await page.waitForFunction((n) => {
          const p = (globalThis as unknown as { __playground: PlaygroundState }).__playground;
          return p.steps >= n + 2 || p.errors.length > 0;
        }, at, { timeout: 60_000 });
        const trained = await stateOf(page);
        expect(trained.errors).toEqual([]);
        expect(trained.steps).toBeGreaterThanOrEqual(at + 2);
        expect(trained.info!.backend).toBe('webgpu');
        expect(errors).toEqual([]);
        await page.close();
      } finally {
        await gpuBrowser.close();
      }
    }, 120_000);

    it('works from a plain static host (no isolation headers): one thread, the threads control disabled with the reason', async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/${QUERY}`);
      await page.waitForFunction(() => (globalThis as unknown as { __playground: PlaygroundState }).__playground.steps >= 3, undefined, { timeout: 30_000 });
      const s = await stateOf(page);
      expect(s.info).toMatchObject({ backend: 'wasm', crossOriginIsolated: false, threads: 1 });
      expect(s.info!.threadsReason).toMatch(/not cross-origin isolated/);
      expect(await page.locator('#threads').isDisabled()).toBe(true);
      expect(await page.locator('#threads').locator('..').getAttribute('title')).toMatch(/not cross-origin isolated/);
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  });
});
