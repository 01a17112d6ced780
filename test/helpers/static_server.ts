/**
 * A static file server for the browser tests (127.0.0.1, a free port): serves the files under
 * `allowed` folders of `root` with their content type, 404 for anything else; `?isolated` on a
 * request adds the cross-origin isolation headers (so the page gets SharedArrayBuffer).
 * @example const srv = await serveStatic(root, [join(root, 'build')]); await page.goto(`${srv.base}/build/x.html`); await srv.close();
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.css': 'text/css',
  '.wasm': 'application/wasm', '.map': 'application/json',
};

/** The arguments every test starts Debian's Chromium with (add feature flags to them). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface StaticServer {
  /** `http://127.0.0.1:PORT` */
  base: string;
  close(): Promise<void>;
}

export async function serveStatic(root: string, allowed: string[]): Promise<StaticServer> {
  const prefixes = allowed.map((a) => a + sep);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const file = resolve(root, '.' + decodeURIComponent(url.pathname));
    if (!prefixes.some((a) => file.startsWith(a)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const isolation = url.searchParams.has('isolated')
      ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...isolation });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
