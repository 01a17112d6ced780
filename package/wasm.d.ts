/**
 * Types of `tsdeq/wasm/*.wasm`: runtimes that import WebAssembly as modules (Cloudflare
 * workerd, bundlers with a wasm loader) hand over a compiled `WebAssembly.Module`, which
 * `init(module)` accepts.
 * @example import simdModule from 'tsdeq/wasm/simd.wasm'; await init(simdModule);
 */
declare const wasmModule: WebAssembly.Module;
export default wasmModule;
