/**
 * The workerd smoke worker (Cloudflare's runtime; see test/portability.test.ts): GET / runs the
 * shared smoke run with the precompiled baseline-SIMD module that workerd hands over for the
 * imported .wasm file; GET /bytes (asked first) calls init() without a module, which compiles
 * the embedded bytes: workerd forbids that, and the error must say what to do instead; GET
 * /ready answers once the server is up. Requests share the module state of one isolate.
 */
import * as T from './index.js';
import { smoke } from './smoke.mjs';
import simd from './simd.wasm';

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/ready') return new Response(null, { status: 204 });
    try {
      if (url.pathname === '/bytes') {
        try {
          await T.init();
          return Response.json({ ok: true, backend: T.getBackend().name });
        } catch (e) {
          return Response.json({ ok: false, message: String(e && e.message) });
        }
      }
      return Response.json(await smoke(T, simd));
    } catch (e) {
      return Response.json({ error: String((e && e.stack) || e) }, { status: 500 });
    }
  },
};
