// tools/serve.mjs, the static server of `npm start` and the browser test, against hostile URLs:
// a malformed escape, traversal, and a link that points out of the served folder. Each gets an
// error status and the server keeps serving.
import assert from 'node:assert/strict';
import test from 'node:test';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { serve } from '../../tools/serve.mjs';

/** A raw GET (no URL normalisation by the client), resolving {status, body}. */
function get(port, path) {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => ok({ status: res.statusCode, body }));
    });
    req.on('error', fail);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path}: no answer in 5 s`)));
    req.end();
  });
}

test('serve: bad escapes, traversal and links out of the folder are refused; the server stays up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-serve-'));
  const site = join(dir, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<p>ok</p>');
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  symlinkSync(join(dir, 'secret.txt'), join(site, 'link.txt'));
  const server = await serve(site, 0, { isolate: false });
  const { port } = server.address();
  try {
    assert.equal((await get(port, '/')).status, 200);
    for (const bad of ['/%', '/%E0%A4%A', '/a%zz']) {
      const r = await get(port, bad);
      assert.equal(r.status, 400, `${bad}: ${r.status}`);
      assert.equal((await get(port, '/')).status, 200, `the server still answers after ${bad}`);
    }
    for (const out of ['/../secret.txt', '/%2e%2e/secret.txt', '/link.txt']) {
      const r = await get(port, out);
      assert.ok(r.status === 403 || r.status === 404, `${out}: ${r.status}`);
      assert.ok(!r.body.includes('secret'), `${out} must not leak the file`);
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
