// End-to-end test of the static site in headless Chromium (playwright-core drives
// /usr/bin/chromium; see ../../shared toolchain notes §7). Usage: node tests/browser/run.mjs WEB_DIR
// Serves WEB_DIR on 127.0.0.1, fails if any request goes elsewhere, runs the scenarios below,
// saves screenshots to artifacts/screenshots/, prints "N passed, M failed", exits 1 on failure.
// Without Chromium or playwright-core it skips (exit 77), except with CI=true, where it fails.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../tools/serve.mjs';
import { Checker, loadFixture } from './helpers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = resolve(process.argv[2] ?? join(ROOT, 'build', 'wasm', 'web'));
const MODELS = join(ROOT, 'tests', 'browser', 'models');
const SHOTS = join(ROOT, 'artifacts', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';
const TIMEOUT_MS = 30000;

function missing(what) {
  if (process.env.CI === 'true') {
    console.error(`error: ${what} is missing (CI=true: the browser test must run)`);
    process.exit(1);
  }
  console.log(`skipped: ${what} is missing`);
  process.exit(77);
}

if (!existsSync(CHROMIUM)) missing(CHROMIUM);
let chromium;
try {
  const require = createRequire(join(ROOT, 'package.json'));
  ({ chromium } = require('playwright-core'));
} catch {
  missing('node_modules/playwright-core (run npm ci)');
}
if (!existsSync(join(WEB_DIR, 'index.html')) || !existsSync(join(WEB_DIR, 'quantmix.wasm'))) {
  console.error(`error: ${WEB_DIR} is not the built site (index.html and quantmix.wasm expected)`);
  process.exit(1);
}

const t = new Checker();
const sample = JSON.parse(await readFile(join(ROOT, 'web', 'samples', 'sample_cnn.expected.json'), 'utf8'));
const dynamic = await loadFixture(MODELS, 'dynamic_cnn');
const external = await loadFixture(MODELS, 'external_mlp');
await mkdir(SHOTS, { recursive: true });

const served = [];
const server = await serve(WEB_DIR, 0, { log: (method, path, status) => served.push({ path, status }) });
const isolatedServer = await serve(WEB_DIR, 0, { isolate: true });
const base = `http://127.0.0.1:${server.address().port}/`;
const isolatedBase = `http://127.0.0.1:${isolatedServer.address().port}/`;

const userDataDir = await mkdtemp(join(tmpdir(), 'quantmix-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM, headless: true, viewport: { width: 1360, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// Every request, from the page and its worker; anything not on 127.0.0.1 is a failure.
const requests = [];
const offOrigin = [];
const record = (req) => {
  const url = req.url();
  requests.push(url);
  if (url.startsWith('data:') || url.startsWith('blob:')) return;
  if (new URL(url).hostname !== '127.0.0.1') offOrigin.push(url);
};
context.on('request', record);
await context.route('**/*', (route) => {
  const url = new URL(route.request().url());
  if (url.protocol.startsWith('http') && url.hostname !== '127.0.0.1') {
    offOrigin.push(url.href);
    return route.abort('blockedbyclient');
  }
  return route.continue();
});

const problems = [];  // console errors, page errors, CSP violations
const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(TIMEOUT_MS);
page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
page.on('worker', (worker) => worker.on('close', () => {}));
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
  });
});

/** Waits until the app is idle in state `state` ('ready', 'error' or 'idle'). */
async function settled(state) {
  await page.waitForFunction((s) => {
    const app = document.getElementById('app');
    return app && app.dataset.busy === 'false' && app.dataset.state === s;
  }, state);
}

/** The numbers the summary shows, read from its data attributes. */
async function readSummary() {
  return page.evaluate(() => {
    const stat = (id) => document.querySelector(`.stat[data-stat="${id}"]`)?.dataset.value ?? null;
    const num = (v) => (v === null || v === '' ? null : Number(v));
    return {
      file: document.getElementById('model-name')?.textContent ?? null,
      params: num(stat('params')),
      macs: num(stat('macs')),
      macsText: document.querySelector('.stat[data-stat="macs"] .stat-value')?.textContent ?? null,
      layers: [...document.querySelectorAll('#layer-table tbody tr')]
        .map((tr) => ({ name: tr.dataset.layer, macs: num(tr.dataset.macs) })),
      ops: Object.fromEntries([...document.querySelectorAll('#op-histogram li')]
        .map((li) => [li.dataset.op, Number(li.querySelector('.bar-count').textContent)])),
      bannerVisible: !document.getElementById('banner').hidden,
      bannerText: document.getElementById('banner').textContent.replace(/\s+/g, ' ').trim(),
      summaryVisible: !document.getElementById('summary').hidden,
      emptyVisible: !document.getElementById('empty-state').hidden,
    };
  });
}

async function shot(name) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

function checkLayers(s, expected, label) {
  t.equal(s.layers.length, expected.layers.length, `${label}: layer count`);
  t.deepEqual(s.layers.map((l) => l.macs), expected.layers.map((l) => l.macs), `${label}: per-layer MACs`);
  t.deepEqual(s.layers.map((l) => l.name), expected.layers.map((l) => l.name), `${label}: layer names`);
}

try {
  // (a) The app opens on the bundled sample model by itself.
  await t.step('opens on the sample model', async () => {
    await page.goto(base);
    await settled('ready');
    const s = await readSummary();
    t.equal(s.file, 'sample_cnn.onnx', 'sample: file name');
    t.equal(s.macs, sample.macs, 'sample: total MACs');
    t.equal(s.macsText, '794 K', 'sample: MACs in human units');
    t.equal(s.params, sample.params, 'sample: parameter count');
    t.deepEqual(s.ops, sample.ops, 'sample: op histogram');
    checkLayers(s, sample, 'sample');
    t.ok(!s.bannerVisible, 'sample: no error banner');
    t.ok(await page.isVisible('text=Mixed-precision quantization in your browser — your model and data never leave this tab'),
      'tagline visible');
    t.ok(served.some((r) => r.path === '/quantmix.wasm' && r.status === 200), 'the wasm module was served');
    console.log(`  screenshot ${await shot('01-sample')}`);
  });

  // (b) ?empty opens nothing; a model picked through the file input is inspected.
  await t.step('upload through the file input', async () => {
    await page.goto(`${base}?empty`);
    await settled('idle');
    let s = await readSummary();
    t.ok(s.emptyVisible && !s.summaryVisible, '?empty: empty state, no summary');
    console.log(`  screenshot ${await shot('02-empty')}`);

    // Without its external data file the model is refused, naming the missing file.
    await page.setInputFiles('#file-input', join(MODELS, 'external_mlp.onnx'));
    await settled('error');
    s = await readSummary();
    t.ok(s.bannerVisible && s.bannerText.includes('external_mlp.onnx.data'),
      `external data missing: the banner names the file (${s.bannerText})`);

    await page.setInputFiles('#file-input', [join(MODELS, 'external_mlp.onnx'), join(MODELS, 'external_mlp.onnx.data')]);
    await settled('ready');
    s = await readSummary();
    t.equal(s.file, 'external_mlp.onnx', 'external data: file name');
    t.equal(s.params, external.expected.params, 'external data: parameter count');
    t.equal(s.macs, external.expected.macs, 'external data: total MACs');
    checkLayers(s, external.expected, 'external data');
  });

  // (b') A model with dynamic dimensions; the input-shape field fixes them.
  await t.step('dynamic input shape, re-inspect', async () => {
    await page.setInputFiles('#file-input', join(MODELS, 'dynamic_cnn.onnx'));
    await settled('ready');
    let s = await readSummary();
    t.equal(s.file, 'dynamic_cnn.onnx', 'dynamic: file name');
    t.equal(s.macs, null, 'dynamic: MACs unknown before an input shape is given');
    const warning = await page.textContent('.callout-warning');
    t.ok(/Input shapes/.test(warning) && !warning.includes('--input-shape'),
      `dynamic: the warning points at the Input shapes field (${warning.trim()})`);
    console.log(`  screenshot ${await shot('03-dynamic-unknown')}`);

    await page.fill('#input-shapes', 'x = 1x3x32x48y');
    await page.click('#shape-form button[type=submit]');
    await page.waitForSelector('#banner:not([hidden])');
    s = await readSummary();
    t.ok(/dimension "48y"/.test(s.bannerText), `bad input shape reported (${s.bannerText})`);
    t.ok(s.summaryVisible, 'bad input shape: the summary stays');

    await page.fill('#input-shapes', dynamic.expected.input_shape);
    await page.press('#input-shapes', 'Enter');
    await page.waitForFunction((m) => document.querySelector('.stat[data-stat="macs"]')?.dataset.value === String(m),
      dynamic.expected.macs);
    await settled('ready');
    s = await readSummary();
    t.equal(s.macs, dynamic.expected.macs, 'dynamic: MACs with the input shape');
    checkLayers(s, dynamic.expected, 'dynamic');
    t.ok(!s.bannerVisible, 'dynamic: banner cleared after a good inspect');
    t.equal(await page.inputValue('#input-shapes'), dynamic.expected.input_shape, 'dynamic: the field keeps its value');
    console.log(`  screenshot ${await shot('04-dynamic-fixed')}`);
  });

  // (c) A corrupt file shows a readable error; the page stays usable.
  await t.step('corrupt file, then a valid one', async () => {
    await page.setInputFiles('#file-input', join(MODELS, 'corrupt.onnx'));
    await settled('error');
    let s = await readSummary();
    t.ok(s.bannerVisible, 'corrupt: error banner visible');
    t.ok(s.bannerText.includes('Could not open corrupt.onnx'), `corrupt: banner names the file (${s.bannerText})`);
    t.ok(!s.summaryVisible, 'corrupt: no stale summary');
    console.log(`  screenshot ${await shot('05-error')}`);

    await page.setInputFiles('#file-input', join(ROOT, 'web', 'samples', 'sample_cnn.onnx'));
    await settled('ready');
    s = await readSummary();
    t.ok(!s.bannerVisible, 'after the error: banner gone');
    t.equal(s.macs, sample.macs, 'after the error: the valid model is summarised');

    await page.setInputFiles('#file-input', join(MODELS, 'dynamic_cnn.expected.json'));
    await page.waitForSelector('#banner:not([hidden])');
    s = await readSummary();
    t.ok(s.bannerText.includes('No .onnx model'), `a non-.onnx file is refused (${s.bannerText})`);
    await page.click('#banner-close');
    t.ok(await page.isHidden('#banner'), 'the banner can be dismissed');

    await page.click('#sample-button');
    await settled('ready');
    t.equal((await readSummary()).macs, sample.macs, 'the sample button loads the sample');
  });

  // Narrow window: the layout stacks (screenshot only, judged by eye).
  await t.step('narrow layout', async () => {
    await page.setViewportSize({ width: 760, height: 900 });
    console.log(`  screenshot ${await shot('06-narrow')}`);
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  // The page also works cross-origin isolated (COOP/COEP: what wasm threads will need).
  await t.step('cross-origin isolated', async () => {
    await page.goto(isolatedBase);
    await settled('ready');
    t.equal(await page.evaluate(() => window.crossOriginIsolated), true, 'isolated: crossOriginIsolated');
    t.equal((await readSummary()).macs, sample.macs, 'isolated: sample MACs');
  });

  // (d) No console errors, page errors or CSP violations, and nothing left the origin.
  await t.step('clean console and network', async () => {
    t.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
    t.deepEqual(offOrigin, [], 'no request left 127.0.0.1');
    t.ok(requests.length > 5, `requests were recorded (${requests.length})`);
  });
  // The page's Content-Security-Policy itself refuses off-origin requests (198.51.100.1 is a
  // documentation address: nothing real could answer, and the route above aborts it anyway).
  await t.step('CSP blocks off-origin requests', async () => {
    const before = requests.length;
    const outcome = await page.evaluate(async () => {
      try {
        await fetch('http://198.51.100.1/leak');
        return 'fetched';
      } catch {
        return 'blocked';
      }
    });
    t.equal(outcome, 'blocked', 'CSP: fetch to another origin fails');
    t.ok(!requests.slice(before).some((u) => u.includes('198.51.100.1')),
      'CSP: the request never reached the network');
  });
} finally {
  await context.close();
  server.close();
  isolatedServer.close();
  await rm(userDataDir, { recursive: true, force: true });
}

process.exit(t.report());
