// The app at real-model scale, in Chromium (not part of the tests): open a model, add N random
// samples, run the search with the app's defaults but the given candidates and target, then time
// what a user does after it: click a front point, override a layer, type a new target. Prints
// the timings and the phases each action ran; screenshots go to --out.
//
//   node tools/bench/app_scale.mjs --model build/large_models/resnet50.onnx --shape 1x3x224x224
//        [--samples 8] [--candidates W4A8,W8A8,W8A16] [--target 0.75] [--no-isolate]
//        [--web build/wasm/web] [--out artifacts/app_scale]
// Models: tools/bench/make_large_models.py (resnet50, vit_b_16, text_rec at 1x3x48x320).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../serve.mjs';
import { makeArray, writeNpy } from '../../tests/ops/npy.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const a = { samples: 8, candidates: 'W4A8,W8A8,W8A16', target: '0.75', isolate: true,
  web: join(ROOT, 'build', 'wasm', 'web'), out: join(ROOT, 'artifacts', 'app_scale') };
for (let i = 2; i < process.argv.length; ++i) {
  const k = process.argv[i], v = () => process.argv[++i];
  if (k === '--model') a.model = resolve(v());
  else if (k === '--shape') a.shape = v().split('x').map(Number);
  else if (k === '--samples') a.samples = Number(v());
  else if (k === '--candidates') a.candidates = v();
  else if (k === '--target') a.target = v();
  else if (k === '--no-isolate') a.isolate = false;
  else if (k === '--web') a.web = resolve(v());
  else if (k === '--out') a.out = resolve(v());
  else throw new Error(`app_scale: unknown argument ${k}`);
}
if (!a.model || !a.shape) throw new Error('app_scale: --model FILE and --shape 1x3xHxW are needed');

// Random samples (xorshift, fixed seed) as .npy files.
const tmp = mkdtempSync(join(tmpdir(), 'qm-app-scale-'));
const files = [];
let x = 12345;
for (let s = 0; s < a.samples; ++s) {
  const data = new Float32Array(a.shape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < data.length; ++i) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; data[i] = (x / 4294967296) * 2 - 1; }
  files.push(join(tmp, `s${s}.npy`));
  writeNpy(files[s], makeArray('float32', a.shape, data));
}
mkdirSync(a.out, { recursive: true });

const server = await serve(a.web, 0, { isolate: a.isolate, log: () => {} });
const ctx = await chromium.launchPersistentContext(join(tmp, 'profile'), { executablePath: '/usr/bin/chromium', headless: true,
  viewport: { width: 1360, height: 900 }, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await ctx.newPage();
page.on('console', (m) => { if (m.type() === 'error') console.log('console:', m.text()); });
try {
  await page.goto(`http://127.0.0.1:${server.address().port}/?empty`);
  let t0 = Date.now();
  await page.setInputFiles('#file-input', a.model);
  await page.waitForFunction(() => !document.getElementById('step-samples').hidden, null, { timeout: 300000 });
  console.log(`model loaded in ${Date.now() - t0} ms`);
  await page.setInputFiles('#sample-input', files);
  await page.waitForFunction((n) => Number(document.getElementById('sample-count')?.dataset.count) === n, a.samples, { timeout: 120000 });
  await page.evaluate((want) => {
    for (const el of document.querySelectorAll('#set-candidates input')) {
      el.checked = want.includes(el.value);
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }, a.candidates.split(','));
  await page.fill('#set-target-value', a.target);
  t0 = Date.now();
  await page.click('#run-button');
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('app').dataset.run), null, { timeout: 3600000 });
  console.log(`search: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${await page.getAttribute('#app', 'data-run')}`);
  await page.screenshot({ path: join(a.out, 'results.png'), fullPage: true });

  // Waits until the page shows a new configuration; returns ms and the phases the core reported.
  const timed = async (action) => {
    const before = await page.getAttribute('#app', 'data-results');
    const t = Date.now();
    await action();
    await page.waitForFunction((b) => { const el = document.getElementById('app'); return el.dataset.results !== b && el.dataset.run !== 'running'; },
      before, { timeout: 600000 });
    return `${Date.now() - t} ms, phases: ${(await page.getAttribute('#app', 'data-phases')) || 'none'}`;
  };
  await page.evaluate(() => document.getElementById('pareto-chart')?.scrollIntoView({ block: 'center' }));
  const point = await page.evaluate(() => {
    const chosen = new Set([...document.querySelectorAll('#pareto-chart circle.pt-selected')].map((c) => c.dataset.index));
    const free = [...document.querySelectorAll('#pareto-chart circle.pt-front')].filter((c) => {
      const b = c.getBoundingClientRect();
      return document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2) === c && !chosen.has(c.dataset.index);
    });
    return free[Math.floor(free.length / 3)]?.dataset.index ?? null;
  });
  if (point !== null) console.log(`click point ${point}: ${await timed(() => page.click(`#pareto-chart circle.pt-front[data-index="${point}"]`))}`);
  const layer = await page.evaluate(() => document.querySelector('#quant-table tbody tr select')?.closest('tr').dataset.layer);
  if (layer) console.log(`override ${layer} -> W8A16: ${await timed(() => page.selectOption(`#quant-table tr[data-layer="${layer}"] select`, 'W8A16'))}`);
  console.log(`typed target 0.6: ${await timed(() => page.fill('#set-target-value', '0.6'))}`);
  await page.screenshot({ path: join(a.out, 'after.png'), fullPage: true });
} finally {
  await ctx.close();
  server.close();
  rmSync(tmp, { recursive: true, force: true });
}
