/**
 * How the package's WASM builds are fetched: each build is a file (build/wasm/tsdeq-*.wasm)
 * whose URL `wasmUrl` (../wasm_urls.ts) finds with `new URL('...', import.meta.url)`, so that
 * bundlers (esbuild, Vite, webpack) see the reference and copy the file, and only the build
 * that runs is downloaded. Browsers fetch it (compiling while it downloads where the server
 * sends `application/wasm`); Node and Deno read the `file:` URL from disk.
 */
export { wasmUrl } from '../wasm_urls.js';

interface NodeFs { readFile(path: URL): Promise<Uint8Array>; }
const g = globalThis as unknown as {
  process?: { versions?: { node?: string }; getBuiltinModule?: (name: string) => unknown };
  Deno?: { readFile(path: URL): Promise<Uint8Array> };
};

async function readFileUrl(url: URL): Promise<Uint8Array> {
  if (g.Deno !== undefined) return g.Deno.readFile(url);
  if (typeof g.process?.versions?.node === 'string') {
    const fs = (g.process.getBuiltinModule?.('node:fs/promises') as NodeFs | undefined)
      // Older Node 20 releases lack process.getBuiltinModule; the specifier is computed so
      // bundlers for other platforms leave it alone.
      ?? await import(/* @vite-ignore */ ['node', 'fs/promises'].join(':')) as NodeFs;
    return new Uint8Array(await fs.readFile(url));
  }
  return new Uint8Array(await (await fetchOk(url)).arrayBuffer());
}

async function fetchOk(url: URL): Promise<Response> {
  if (typeof fetch !== 'function') throw new Error('this runtime has no fetch()');
  const res = await fetch(url);
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  return res;
}

/**
 * The bytes of a build (Node and Deno: read from disk; elsewhere: fetched).
 * @example const bytes = await fetchWasmBytes(wasmUrl('simd', true));
 */
export async function fetchWasmBytes(url: URL): Promise<Uint8Array> {
  return url.protocol === 'file:' ? readFileUrl(url) : new Uint8Array(await (await fetchOk(url)).arrayBuffer());
}

/**
 * A build compiled to a `WebAssembly.Module`; over HTTP with `WebAssembly.compileStreaming`
 * when the server labels it `application/wasm` (compiling while it downloads).
 * @example const module = await fetchWasmModule(wasmUrl('relaxed', false));
 */
export async function fetchWasmModule(url: URL): Promise<WebAssembly.Module> {
  if (url.protocol === 'file:') return WebAssembly.compile(await readFileUrl(url) as BufferSource);
  const res = await fetchOk(url);
  const type = res.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && type.split(';')[0].trim() === 'application/wasm') {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}
