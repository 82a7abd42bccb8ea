// A static file server for the app, on 127.0.0.1 only.
// Usage: node tools/serve.mjs DIR [PORT] [--no-isolate] [--embeddable]
// By default every response carries COOP same-origin + COEP require-corp, so the page is
// cross-origin isolated and gets wasm threads (the app then loads quantmix-mt.mjs; everything it
// loads is same-origin, so COEP blocks nothing). --no-isolate serves without them: the page then
// runs single-threaded, as on a static host that cannot set headers. --embeddable adds
// Cross-Origin-Resource-Policy: cross-origin, which a cross-origin isolated docs page on another
// origin needs to load embed.js and frame the app (README "Embedding").
import { createServer } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json',
  '.onnx': 'application/octet-stream', '.npy': 'application/octet-stream',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.svg': 'image/svg+xml', '.txt': 'text/plain',
};

// The page's policy, also sent as a header: a module worker takes its CSP from its own response,
// not from the page's <meta> tag, so this is what keeps the worker on our origin too.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
  "connect-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'";

/** Serves `dir` on 127.0.0.1:`port` (0: any free port); resolves to the http.Server. */
export function serve(dir, port = 0, { isolate = true, embeddable = false, log = null } = {}) {
  const root = resolve(dir);
  const rootReal = realpath(root).catch(() => root);
  const inside = (f, r) => f === r || f.startsWith(r + sep);
  const server = createServer(async (req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    } catch {
      res.writeHead(400).end('bad request');  // e.g. "/%": a malformed escape must not end the server
      if (log) log(req.method, req.url, 400);
      return;
    }
    let file = normalize(join(root, path));
    if (!inside(file, root)) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      // A link inside the folder may point outside it: what is read must be inside too.
      if (!inside(await realpath(file), await rootReal)) throw new Error('outside the served folder');
      const body = await readFile(file);
      const headers = { 'Content-Type': MIME[extname(file)] || 'application/octet-stream',
                        'Cache-Control': 'no-cache', 'Content-Security-Policy': CSP };
      if (isolate) {
        headers['Cross-Origin-Opener-Policy'] = 'same-origin';
        headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      }
      if (embeddable) headers['Cross-Origin-Resource-Policy'] = 'cross-origin';
      res.writeHead(200, headers).end(body);
      if (log) log(req.method, path, 200);
    } catch {
      res.writeHead(404).end('not found');
      if (log) log(req.method, path, 404);
    }
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const isolate = !args.includes('--no-isolate');  // --isolate (the default) is still accepted
  const embeddable = args.includes('--embeddable');
  const [dir, port] = args.filter((a) => !a.startsWith('--'));
  if (!dir) { console.error('usage: node tools/serve.mjs DIR [PORT] [--no-isolate] [--embeddable]'); process.exit(2); }
  const server = await serve(dir, Number(port ?? 8080), { isolate, embeddable });
  console.log(`quantmix is at http://127.0.0.1:${server.address().port}/  ` +
              `(${isolate ? 'cross-origin isolated: wasm threads' : 'not isolated: one thread'}; Ctrl-C to stop)`);
}
