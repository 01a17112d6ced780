/**
 * init(): the default (bundled bytes), explicit bytes, a precompiled WebAssembly.Module,
 * options, idempotence, clear errors for bad arguments, and the SIMD / relaxed-SIMD probes
 * (including a fallback to the js backend when SIMD is missing). Each case imports a fresh
 * copy of the library so that registry state does not leak between cases.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RELAXED_PROBE, SIMD_PROBE, detectFeatures } from '../src/backend/wasm_loader.js';

// Node 20 has relaxed SIMD behind a V8 flag; enable it so both builds can be instantiated.
// The engine-without-relaxed case is covered by mocking the probe and by a child process.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

type Lib = typeof import('../src/index.js');
const wasmFile = (v: 'simd' | 'relaxed'): Uint8Array => readFileSync(new URL(`../build/wasm/tsdeq-${v}.wasm`, import.meta.url));
/** What init reports on the WebGPU side in Node without a gpu option (no navigator.gpu). */
const NO_GPU = { available: false, reason: expect.stringMatching(/navigator\.gpu is undefined/) };

async function fresh(): Promise<Lib> {
  vi.resetModules();
  return import('../src/index.js');
}

/** exp on the current backend, as a smoke test that kernels run. */
function smoke(T: Lib): number[] {
  return Array.from(T.tensor([0, 1, 2], undefined, { dtype: 'float64' }).exp().dataSync());
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('init()', () => {
  it('with no argument loads the bundled module, picks the variant the probes allow and selects wasm', async () => {
    const T = await fresh();
    const info = await T.init();
    const expected = detectFeatures().relaxed ? 'relaxed' : 'simd';
    expect(info).toEqual({ backend: 'wasm', variant: expected, message: expect.stringMatching(/^wasm backend ready/), dtypes: ['float32', 'float64'], webgpu: NO_GPU });
    expect(T.getBackend().name).toBe('wasm');
    expect(T.listBackends()).toContain('wasm');
    expect(smoke(T)).toEqual([1, Math.E, Math.exp(2)]);
  });

  it('is idempotent: later calls return the first result, keep the same backend and re-select it', async () => {
    const T = await fresh();
    const first = await T.init();
    const backend = T.getBackend();
    T.setBackend('js');
    const again = await T.init();
    expect(again).toEqual(first);
    expect(T.getBackend()).toBe(backend);
    const [a, b] = await Promise.all([T.init(), T.init()]);
    expect(a).toEqual(first);
    expect(b).toEqual(first);
    await expect(T.init(wasmFile('simd'))).rejects.toThrow(/init: the backend is already initialised; a module or options can only be passed to the first call/);
  });

  it('accepts the module bytes as a Uint8Array or an ArrayBuffer', async () => {
    const T = await fresh();
    expect(await T.init(wasmFile('simd'))).toMatchObject({ backend: 'wasm', variant: 'simd' });
    expect(smoke(T)[1]).toBeCloseTo(Math.E, 14);
    const T2 = await fresh();
    const u8 = wasmFile('simd');
    const ab = u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
    expect(await T2.init(ab)).toMatchObject({ backend: 'wasm', variant: 'simd' });
    expect(smoke(T2)[2]).toBeCloseTo(Math.exp(2), 13);
  });

  it('accepts a precompiled WebAssembly.Module (edge runtimes forbid compiling bytes)', async () => {
    const T = await fresh();
    const module = await WebAssembly.compile(wasmFile('simd'));
    const compile = vi.spyOn(WebAssembly, 'compile');
    const info = await T.init(module);
    expect(info).toMatchObject({ backend: 'wasm', variant: 'simd' });
    expect(compile).not.toHaveBeenCalled();
    expect(smoke(T)[0]).toBe(1);
  });

  it('accepts { simd, relaxed, variant } options and checks which build each option holds', async () => {
    const T = await fresh();
    const simd = await WebAssembly.compile(wasmFile('simd'));
    expect(await T.init({ simd, variant: 'simd' })).toMatchObject({ backend: 'wasm', variant: 'simd', message: expect.stringMatching(/baseline SIMD/) });
    const T2 = await fresh();
    await expect(T2.init({ simd: wasmFile('relaxed'), variant: 'simd' })).rejects.toThrow(/init: option 'simd' holds the relaxed build of the module, expected the simd build/);
    // a failed attempt can be retried
    expect(await T2.init({ variant: 'simd' })).toMatchObject({ variant: 'simd' });
  });

  it('picks the relaxed build when the engine supports relaxed SIMD', async () => {
    expect(detectFeatures()).toEqual({ simd: true, relaxed: true });
    const T = await fresh();
    const info = await T.init();
    expect(info).toMatchObject({ backend: 'wasm', variant: 'relaxed', message: 'wasm backend ready: relaxed SIMD' });
    expect(smoke(T)[1]).toBeCloseTo(Math.E, 14);
    const T2 = await fresh();
    expect(await T2.init({ relaxed: await WebAssembly.compile(wasmFile('relaxed')), variant: 'relaxed' })).toMatchObject({ variant: 'relaxed' });
  });

  it('falls back to baseline SIMD without relaxed SIMD, and to the js backend without SIMD', async () => {
    const validate = WebAssembly.validate.bind(WebAssembly);
    const noRelaxed = (b: BufferSource): boolean => !isProbe(b, RELAXED_PROBE) && validate(b);
    vi.spyOn(WebAssembly, 'validate').mockImplementation(noRelaxed);
    const T = await fresh();
    expect(await T.init()).toEqual({ backend: 'wasm', variant: 'simd', message: 'wasm backend ready: baseline SIMD (relaxed SIMD unsupported by this engine)', dtypes: ['float32', 'float64'], webgpu: NO_GPU });
    const T2 = await fresh();
    await expect(T2.init({ variant: 'relaxed' })).rejects.toThrow(/init: variant 'relaxed' requested, but this engine does not support relaxed SIMD/);

    vi.spyOn(WebAssembly, 'validate').mockImplementation((b) => !isProbe(b, SIMD_PROBE) && !isProbe(b, RELAXED_PROBE) && validate(b));
    const T3 = await fresh();
    const info = await T3.init();
    expect(info).toEqual({ backend: 'js', variant: 'none', message: 'WebAssembly SIMD is not supported by this engine; using the js backend', dtypes: ['float32', 'float64'], webgpu: NO_GPU });
    expect(T3.getBackend().name).toBe('js');
    expect(() => T3.setBackend('wasm')).toThrow(/backend 'wasm' is not ready/);
    expect(smoke(T3)).toEqual([1, Math.E, Math.exp(2)]);
    const T4 = await fresh();
    await expect(T4.init({ variant: 'simd' })).rejects.toThrow(/init: variant 'simd' requested, but this JavaScript engine does not support WebAssembly SIMD/);
  });

  it.each([
    [42, /init: expected no argument, an ArrayBuffer, a Uint8Array, a WebAssembly.Module or an options object \{ simd, relaxed, variant, dtypes, gpu \}, received number/],
    ['tsdeq.wasm', /received string/],
    [null, /received null/],
    [[1, 2], /received Array/],
    [new Float32Array(4), /received Float32Array/],
    [{ simd: 'x' }, /init: option 'simd': expected an ArrayBuffer, a Uint8Array or a WebAssembly.Module, received string/],
    [{ relaxd: new Uint8Array(1) }, /init: unknown option 'relaxd'; valid options are 'simd', 'relaxed', 'variant'/],
    [{ variant: 'fast' }, /init: option 'variant': expected one of 'auto', 'simd', 'relaxed', received "fast"/],
    [{ dtypes: [] }, /^init: option 'dtypes': expected a non-empty array of 'float32' and\/or 'float64', received \[\]$/],
    [{ dtypes: 'float32' }, /^init: option 'dtypes': expected a non-empty array of 'float32' and\/or 'float64', received "float32"$/],
    [{ dtypes: ['float32', 'int32'] }, /^init: option 'dtypes': expected a non-empty array of 'float32' and\/or 'float64', received \["float32","int32"\]$/],
    [new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]), /init: could not instantiate the tsdeq WASM module/],
  ])('rejects a bad argument with a clear Error (%#)', async (arg, message) => {
    const T = await fresh();
    await expect(T.init(arg as never)).rejects.toThrow(message);
    expect(T.getBackend().name).toBe('js');
  });

  it('rejects a WebAssembly module that is not a tsdeq build', async () => {
    const T = await fresh();
    await expect(T.init(SIMD_PROBE)).rejects.toThrow(/init: the WASM module does not match this version of tsdeq: expected ABI_VERSION = 1, received undefined/);
  });
});

function isProbe(b: BufferSource, probe: Uint8Array): boolean {
  const u = b instanceof Uint8Array ? b : new Uint8Array(b instanceof ArrayBuffer ? b : b.buffer);
  return u.length === probe.length && u.every((v, i) => v === probe[i]);
}

describe('feature probes', () => {
  const check = (flags: string[]): { simd: boolean; relaxed: boolean } => JSON.parse(execFileSync(process.execPath, [...flags, '-e',
    `const s = new Uint8Array(${JSON.stringify(Array.from(SIMD_PROBE))}), r = new Uint8Array(${JSON.stringify(Array.from(RELAXED_PROBE))});
     console.log(JSON.stringify({ simd: WebAssembly.validate(s), relaxed: WebAssembly.validate(r) }))`], { encoding: 'utf8' }));

  it('the hand-written probe modules are valid WebAssembly where the features exist', () => {
    expect(WebAssembly.validate(SIMD_PROBE)).toBe(true);
    expect(WebAssembly.validate(RELAXED_PROBE)).toBe(true);
    // one byte off (a truncated code section) is not
    expect(WebAssembly.validate(SIMD_PROBE.slice(0, -1))).toBe(false);
  });

  it('the relaxed probe tracks the engine flag: plain Node 20 says no, --experimental-wasm-relaxed-simd says yes', () => {
    const major = Number(process.versions.node.split('.')[0]);
    const plain = check([]);
    expect(plain.simd).toBe(true);
    // Node 22+ (V8 >= 11.4) ships relaxed SIMD unflagged; Node 20 does not.
    expect(plain.relaxed).toBe(major >= 22);
    expect(check(['--experimental-wasm-relaxed-simd'])).toEqual({ simd: true, relaxed: true });
  });
});
