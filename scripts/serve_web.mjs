// Serves build/web/ (the playground, `npm run demo:web`) at http://127.0.0.1:$PORT/ (PORT
// defaults to 5173) with Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp, so that the page is cross-origin isolated and
// tsdeq can use worker threads. Any static server that sends these two headers does the same;
// without them the page runs on one thread.
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';

const dir = resolve(process.argv[2] ?? join(import.meta.dirname, '..', 'build', 'web'));
const port = Number(process.env.PORT ?? 5173);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`serve_web: expected PORT to be a port number, received ${process.env.PORT}`);
if (!existsSync(join(dir, 'index.html'))) throw new Error(`serve_web: ${dir}/index.html is missing; build the page first (node scripts/build_web.mjs)`);

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.map': 'application/json', '.bin': 'application/octet-stream',
};

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  let file = resolve(dir, '.' + path);
  if (file !== dir && !file.startsWith(dir + sep)) { res.writeHead(403).end(); return; }
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  if (!existsSync(file) || !statSync(file).isFile()) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cache-control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
});
server.listen(port, '127.0.0.1', () => {
  console.log(`tsdeq playground: http://127.0.0.1:${server.address().port}/  (Ctrl+C to stop)`);
});
