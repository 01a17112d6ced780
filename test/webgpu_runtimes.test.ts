/**
 * The bundled package (build/index.js) on WebGPU in the other runtimes: Deno on lavapipe (Mesa's
 * Vulkan CPU driver: a second shader compiler, with a 128 MiB binding limit) and one headless
 * Chromium page with `--enable-unsafe-webgpu` (SwiftShader). Each runs
 * test/portability/webgpu_smoke.mjs: init({ gpu: navigator.gpu }), a forward and backward pass on
 * webgpu compared with the same pass on wasm, a matmul of awkward size, and the dataSync and
 * float64 errors. (Node + npm webgpu, the main path, is covered by the other webgpu_* files.)
 * Under CI none of this may skip: .ci/run installs chromium and mesa-vulkan-drivers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CHROMIUM_ARGS, serveStatic, type StaticServer } from './helpers/static_server.js';
import { assertClose } from './helpers/tolerance.js';

const root = resolve(__dirname, '..');
const bundle = join(root, 'build', 'index.js');
const denoBin = join(root, 'node_modules', '.bin', 'deno');
const chromiumBin = '/usr/bin/chromium';
const F32 = { rtol: 5e-5, atol: 5e-5 };

interface Pass { y: number; gradX: number[]; gradW: number[]; on: string }
interface Report {
  webgpu: { available: boolean; reason?: string; adapter?: { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean } };
  backend: string;
  backends: string[];
  gpu?: Pass;
  wasm?: Pass;
  matmulGpu?: number[];
  matmulWasm?: number[];
  dataSyncError?: string | null;
  float64Error?: string | null;
}

function check(r: Report, runtime: string): void {
  console.log(`[webgpu] ${runtime}: ${JSON.stringify(r.webgpu)}`);
  expect(r.webgpu.available, `${runtime} found no WebGPU adapter: ${r.webgpu.reason}`).toBe(true);
  expect(r.webgpu.adapter!.isFallbackAdapter).toBe(true); // CPU adapters only on these machines
  expect(r.backend).toBe('wasm'); // wasm stays the default
  expect(r.backends).toContain('webgpu');
  expect(r.gpu!.on).toBe('webgpu');
  expect(r.wasm!.on).toBe('wasm');
  assertClose([r.gpu!.y], [r.wasm!.y], F32, `${runtime}: y on webgpu vs wasm`);
  assertClose(r.gpu!.gradX, r.wasm!.gradX, F32, `${runtime}: dy/dx on webgpu vs wasm`);
  assertClose(r.gpu!.gradW, r.wasm!.gradW, F32, `${runtime}: dy/dW on webgpu vs wasm`);
  expect(r.matmulGpu).toHaveLength(33 * 17);
  assertClose(r.matmulGpu!, r.matmulWasm!, { rtol: 1e-4, atol: 1e-4 }, `${runtime}: 33x100x17 matmul`);
  expect(r.dataSyncError).toMatch(/await t\.data\(\)/);
  expect(r.float64Error).toMatch(/float64.*wasm/);
}

beforeAll(() => {
  if (!existsSync(bundle)) {
    const r = spawnSync('npm', ['run', 'build:js'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`webgpu runtimes: 'npm run build:js' failed: ${r.stderr}`);
  }
}, 130_000);

describe('WebGPU in other runtimes (bundled package)', () => {
  const denoMissing = !existsSync(denoBin);
  it.skipIf(denoMissing && !process.env.CI)('Deno on lavapipe', () => {
    const lavapipe = ['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json'].find(existsSync);
    expect(lavapipe, 'no lavapipe ICD: apt-get install mesa-vulkan-drivers (.ci/run does)').toBeDefined();
    const env: Record<string, string | undefined> = { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', VK_ICD_FILENAMES: lavapipe, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
    const r = spawnSync(denoBin, ['run', '--allow-read', join(root, 'test', 'portability', 'webgpu_main.mjs')], { cwd: root, encoding: 'utf8', timeout: 120_000, env });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]) as Report;
    check(report, 'deno');
    expect(report.webgpu.adapter!.description).toMatch(/llvmpipe/);
  }, 130_000);

  describe.skipIf(!existsSync(chromiumBin) && !process.env.CI)('headless Chromium', () => {
    let server: StaticServer | undefined;
    let base = '';
    beforeAll(async () => {
      server = await serveStatic(root, [join(root, 'build'), join(root, 'test', 'portability')]);
      base = server.base;
    });
    afterAll(async () => { await server?.close(); });

    it('one page with --enable-unsafe-webgpu (SwiftShader)', async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: chromiumBin,
        args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
      });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(`${base}/test/portability/webgpu_page.html`);
        await page.waitForFunction(() => (window as unknown as { __smoke?: unknown }).__smoke !== undefined, undefined, { timeout: 90_000 });
        const res = await page.evaluate(() => (window as unknown as { __smoke: { ok: boolean; report?: Report; error?: string } }).__smoke);
        expect(res.error ?? null).toBeNull();
        expect(errors).toEqual([]);
        check(res.report!, 'chromium');
      } finally {
        await browser.close();
      }
    }, 120_000);
  });
});
