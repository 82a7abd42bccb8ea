// web/ holds two products (README architecture): the JS API in web/api/ — quantmix.js, its
// worker and the modules they load — which a page can embed on its own (web/quantmix.js at the
// root re-exports it), and the app built on it (web/app/ with its views in web/app/views/). The
// API imports nothing of the app; the app's modules and views bind nothing when imported (they
// take the page they run on), so node imports them all.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

/** The JS API's modules: the entry points and everything they import, statically or not. */
const API = ['quantmix.js', ...['quantmix.js', 'worker.js', 'worker_protocol.js', 'engine.js', 'npy.js', 'score_module.js',
  'demo_engine.js', 'search_state.js', 'urls.js'].map((f) => `api/${f}`)];

/** Relative module specifiers a file imports (static, re-exports and import('...')). */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm)) out.push(m[1] ?? m[2]);
  return out;
}

test('web layout: the JS API imports only API modules (nothing of the app)', () => {
  const seen = new Set();
  const todo = ['quantmix.js', 'api/quantmix.js', 'api/worker.js'];
  while (todo.length) {
    const f = todo.pop();
    if (seen.has(f)) continue;
    seen.add(f);
    for (const spec of importsOf(join(WEB, f))) todo.push(relative(WEB, resolve(dirname(join(WEB, f)), spec)));
  }
  const outside = [...seen].filter((f) => !API.includes(f));
  assert.deepEqual(outside, [], `the API reaches app modules: ${outside.join(', ')}`);
  assert.deepEqual([...seen].sort(), [...API].sort(), 'the API list is what the entry points load');
  const api = readdirSync(join(WEB, 'api')).filter((f) => f.endsWith('.js')).map((f) => `api/${f}`);
  assert.deepEqual(api.sort(), API.filter((f) => f.startsWith('api/')).sort(), 'web/api/ holds the API and only it');
});

test('web layout: the app\'s modules and views import under node without a page', async () => {
  assert.equal(globalThis.document, undefined);
  const dirs = ['app', 'app/views'];
  let n = 0;
  for (const d of dirs) {
    for (const f of readdirSync(join(WEB, d)).filter((x) => x.endsWith('.js') && x !== 'main.js')) {
      await import(pathToFileURL(join(WEB, d, f)).href);
      n += 1;
    }
  }
  assert.ok(n >= 15, `${n} modules imported`);
});

test('web layout: the root holds the entry points and ctc.js only; the app lives in web/app/', () => {
  // quantmix.js re-exports the API at the snippets' URL; embed.js is the <quantmix-demo> classic
  // script; ctc.js stays because web/examples/ctc_score.mjs imports it from there.
  const root = readdirSync(WEB).filter((f) => /\.m?js$/.test(f)).sort();
  assert.deepEqual(root, ['ctc.js', 'embed.js', 'quantmix.js']);
  assert.ok(!readdirSync(WEB).includes('views'), 'views/ is under web/app/');
  for (const f of ['results.js', 'metrics.js', 'validate.js', 'views/dom.js', 'views/validation.js']) {
    assert.ok(readdirSync(join(WEB, 'app', dirname(f))).includes(f.split('/').pop()), `web/app/${f}`);
  }
});
