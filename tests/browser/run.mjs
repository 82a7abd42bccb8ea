// End-to-end test of the static site in headless Chromium (playwright-core drives
// /usr/bin/chromium; see ../../shared toolchain notes §7). Usage: node tests/browser/run.mjs WEB_DIR
// Serves WEB_DIR on 127.0.0.1, fails if any request goes elsewhere, runs the scenarios below,
// saves screenshots to artifacts/screenshots/, prints "N passed, M failed", exits 1 on failure.
// Without Chromium or playwright-core it skips (exit 77), except with CI=true, where it fails.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../tools/serve.mjs';
import { encodeNpy } from '../../web/api/npy.js';
import { Checker, blockOffOrigin, browserOrSkip, launchChromium, loadFixture } from './helpers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = resolve(process.argv[2] ?? join(ROOT, 'build', 'wasm', 'web'));
const MODELS = join(ROOT, 'tests', 'browser', 'models');
const SHOTS = join(ROOT, 'artifacts', 'screenshots');
const TIMEOUT_MS = 30000;
const chromium = browserOrSkip(ROOT, WEB_DIR, ['index.html', 'quantmix.wasm']);

const t = new Checker();
const sample = JSON.parse(await readFile(join(ROOT, 'web', 'samples', 'fashion_cnn.expected.json'), 'utf8'));
const dynamic = await loadFixture(MODELS, 'dynamic_cnn');
const external = await loadFixture(MODELS, 'external_mlp');
await mkdir(SHOTS, { recursive: true });

const served = [];
const isolatedServed = [];
// Two servers of the same site: without COOP/COEP (one thread) and cross-origin isolated (wasm threads).
const server = await serve(WEB_DIR, 0, { isolate: false, log: (method, path, status) => served.push({ path, status }) });
const isolatedServer = await serve(WEB_DIR, 0, { isolate: true, log: (method, path, status) => isolatedServed.push({ path, status }) });
const base = `http://127.0.0.1:${server.address().port}/`;
const isolatedBase = `http://127.0.0.1:${isolatedServer.address().port}/`;

const { context, userDataDir } = await launchChromium(chromium, { width: 1360, height: 900 });

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
await blockOffOrigin(context, offOrigin);

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
  await page.evaluate(() => window.scrollTo(0, 0));  // the sticky top bar then stays on top
  await page.screenshot({ path, fullPage: true });
  return path;
}

const IMAGES = join(ROOT, 'tests', 'browser', 'images');
const GRAY = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => join(IMAGES, 'gray', `g_${i}.png`));
const RGB = Array.from({ length: 12 }, (_, i) => join(IMAGES, `img_${String(i).padStart(2, '0')}.png`));
// The exported model run in ONNX Runtime Web must reproduce the simulated SQNR (amp.md §1:
// simulation = deployment) up to float summation order.
const SIM_VS_ORT_DB = 0.5;
// The export against the float model, both in ONNX Runtime Web (the page's validation: output
// SQNR over the samples): measured 18.2 dB for step (e)'s export (the front's cheapest point,
// after the typed target) and 20.2 dB for the isolated page's default run; floor set with margin.
// A finite value is required: an export identical to the float model quantized nothing, and two
// all-zero outputs are NaN (web/app/metrics.js).
const MIN_EXPORT_VS_FLOAT_DB = 12;
const RUN_TIMEOUT_MS = 90000;
// The same search with wasm threads: the kernels split their loops differently per thread count
// (float summation order), so the simulated SQNR may move by rounding only; the configuration
// chosen must be the same.
const THREADS_SQNR_DB = 0.05;
// The most threads the app asks for by default (wasm/bindings.cpp kMaxDefaultThreads).
const MAX_DEFAULT_THREADS = 4;
// The core's phases that mean calibration or a search ran (a point, an override or a new target
// after a search must not show them: issue 11).
const SEARCH_PHASES = ['calibration', 'phase0', 'phase1', 'phase2'];
// From a click on a front point (or an override) to its numbers on the sample model: one
// evaluation pass over 64 28x28 samples in the worker, plus the repaint.
const CLICK_BUDGET_MS = 3000;
/** The non-isolated page's first run of the sample (step e), compared with the isolated one. */
let singleThreadRun = null;

/** The kernel threads the page reports: capabilities().threads and the badge's data-threads. */
async function readThreads() {
  return page.evaluate(() => ({ caps: window.quantmix?.capabilities?.threads ?? null,
    badge: Number(document.getElementById('engine-version')?.dataset.threads ?? NaN),
    badgeText: document.getElementById('engine-version')?.textContent ?? '',
    cores: navigator.hardwareConcurrency, isolated: window.crossOriginIsolated }));
}

/** Clicks Quantize and waits for the run to end; returns 'done' or 'error' (+ the banner). */
async function quantizeOnce() {
  const t0 = Date.now();
  await page.click('#run-button');
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('app').dataset.run), null, { timeout: RUN_TIMEOUT_MS });
  const ms = Date.now() - t0;
  return { state: await page.getAttribute('#app', 'data-run'), banner: (await readSummary()).bannerText, ms };
}

/** Runs the search (no fallback: a core without it fails the run). */
const quantize = quantizeOnce;

/**
 * Does `action` (a click, a selection...) and waits until the page shows a new configuration
 * (data-results changes) and no request runs; returns {ms, phases (what the core reported)}.
 */
async function timedUpdate(action) {
  const before = await page.getAttribute('#app', 'data-results');
  const t0 = Date.now();
  await action();
  await page.waitForFunction((b) => {
    const app = document.getElementById('app');
    return app.dataset.results !== b && app.dataset.run !== 'running';
  }, before, { timeout: RUN_TIMEOUT_MS });
  const ms = Date.now() - t0;
  return { ms, phases: (await page.getAttribute('#app', 'data-phases')) ?? '' };
}

/** Waits for the run to end in `state` ('done', 'cancelled' or 'error'). */
async function runEnded(state) {
  await page.waitForFunction((s) => document.getElementById('app').dataset.run === s, state, { timeout: RUN_TIMEOUT_MS });
}

async function sampleCount() {
  return Number(await page.getAttribute('#sample-count', 'data-count'));
}

/** Drops files on a selector through a real DataTransfer (what a user's drag and drop gives). */
async function dropFiles(selector, paths) {
  const files = await Promise.all(paths.map(async (p) => ({ name: p.split('/').pop(), b64: (await readFile(p)).toString('base64') })));
  const dt = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], f.name, { type: f.name.endsWith('.png') ? 'image/png' : '' }));
    }
    return transfer;
  }, files);
  await page.dispatchEvent(selector, 'dragenter', { dataTransfer: dt });
  await page.dispatchEvent(selector, 'dragover', { dataTransfer: dt });
  t.ok(await page.$eval(selector, (el) => el.classList.contains('is-dragging')), `${selector} highlights while dragging`);
  await page.dispatchEvent(selector, 'drop', { dataTransfer: dt });
  t.ok(!(await page.$('.is-dragging')), 'no highlight left after the drop');
}

/** The results the page shows, from data attributes. */
async function readResults() {
  return page.evaluate(() => {
    document.getElementById('pareto-chart')?.scrollIntoView({ block: 'center' });
    const stat = (id) => document.querySelector(`#totals .stat[data-stat="${id}"]`)?.dataset.value;
    return {
      points: [...document.querySelectorAll('#pareto-chart circle.pt-front')].map((c) => Number(c.dataset.index)),
      // Points a user can click: on top at their own centre (dense fronts overlap).
      clickable: [...document.querySelectorAll('#pareto-chart circle.pt-front')].filter((c) => {
        const b = c.getBoundingClientRect();
        return document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2) === c;
      }).map((c) => Number(c.dataset.index)),
      selected: [...document.querySelectorAll('#pareto-chart circle.pt-selected')].map((c) => Number(c.dataset.index)),
      baselines: [...document.querySelectorAll('#pareto-chart .baseline')].map((b) => b.dataset.config),
      relBops: Number(stat('rel_bops')), sqnr: Number(stat('sqnr')), size: Number(stat('size')),
      layers: [...document.querySelectorAll('#quant-table tbody tr')].map((tr) => ({ name: tr.dataset.layer, bits: tr.dataset.bits,
        ...(tr.classList.contains('row-override') ? { override: true } : {}) })),
      reused: document.querySelector('.side-card')?.dataset.reused ?? '',
      exported: document.getElementById('step-export').dataset.exported,
      strip: document.querySelectorAll('#bit-strip rect').length,
      demo: !document.getElementById('demo-note').hidden,
    };
  });
}

function checkLayers(s, expected, label) {
  t.equal(s.layers.length, expected.layers.length, `${label}: layer count`);
  t.deepEqual(s.layers.map((l) => l.macs), expected.layers.map((l) => l.macs), `${label}: per-layer MACs`);
  t.deepEqual(s.layers.map((l) => l.name), expected.layers.map((l) => l.name), `${label}: layer names`);
}

// A failed step leaves a screenshot and the page's status lines, to see what the page showed.
t.onFail = async (name) => {
  const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
  console.log(`  screenshot ${await shot(`FAIL-${slug}`)}`);
  const status = await page.evaluate(() => ({ run: document.getElementById('app')?.dataset.run,
    banner: document.getElementById('banner')?.hidden ? '' : document.getElementById('banner-message')?.textContent,
    status: document.getElementById('run-status')?.textContent }));
  console.log(`  page: ${JSON.stringify(status)}`);
};

try {
  // (a) The app opens on the bundled sample model by itself.
  await t.step('opens on the sample model', async () => {
    await page.goto(base);
    await settled('ready');
    const s = await readSummary();
    t.equal(s.file, 'fashion_cnn.onnx', 'sample: file name');
    t.equal(s.macs, sample.macs, 'sample: total MACs');
    t.equal(s.macsText, '922 K', 'sample: MACs in human units');
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
    // Issue 14 #4: no share of MACs while the total is unknown; samples survive a re-inspect;
    // the hint's example is one the field accepts.
    const shares = await page.$$eval('#layer-table .share-text', (els) => els.map((e) => e.textContent));
    t.ok(shares.length > 0 && shares.every((x) => x === '—'), `dynamic: no MACs share before the shape is known (${shares.join(' ')})`);
    await page.fill('#pp-height', '32');
    await page.fill('#pp-width', '48');
    await page.setInputFiles('#sample-input', RGB.slice(0, 3));
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '3');
    await settled('ready');

    await page.fill('#input-shapes', 'x = 1x3x32x48y');
    await page.click('#shape-form button[type=submit]');
    await page.waitForSelector('#banner:not([hidden])');
    s = await readSummary();
    t.ok(/dimension "48y"/.test(s.bannerText), `bad input shape reported (${s.bannerText})`);
    t.ok(s.summaryVisible, 'bad input shape: the summary stays');

    t.equal(await page.textContent('.shape-example'), dynamic.expected.input_shape, 'dynamic: the hint\'s example has numbers, from the samples');
    t.equal(await page.evaluate(() => document.getElementById('banner').previousElementSibling?.id), 'shapes-card',
      'dynamic: the input-shape error is under the input-shape card');
    await page.fill('#input-shapes', await page.textContent('.shape-example'));
    await page.press('#input-shapes', 'Enter');
    await page.waitForFunction((m) => document.querySelector('.stat[data-stat="macs"]')?.dataset.value === String(m),
      dynamic.expected.macs);
    await settled('ready');
    s = await readSummary();
    t.equal(s.macs, dynamic.expected.macs, 'dynamic: MACs with the input shape');
    checkLayers(s, dynamic.expected, 'dynamic');
    t.ok(!s.bannerVisible, 'dynamic: banner cleared after a good inspect');
    t.equal(await page.inputValue('#input-shapes'), dynamic.expected.input_shape, 'dynamic: the field keeps its value');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '3', null, { timeout: 5000 }).catch(() => {});
    t.equal(await sampleCount(), 3, 'dynamic: the samples are kept after a re-inspect');
    const shares2 = await page.$$eval('#layer-table .share-text', (els) => els.map((e) => e.textContent));
    t.ok(shares2.every((x) => /%$/.test(x)), `dynamic: shares once the shape is known (${shares2.join(' ')})`);
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

    await page.setInputFiles('#file-input', join(ROOT, 'web', 'samples', 'fashion_cnn.onnx'));
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

  // The page also works cross-origin isolated (COOP/COEP), with the wasm-threads module.
  await t.step('cross-origin isolated', async () => {
    await page.goto(isolatedBase);
    await settled('ready');
    t.equal(await page.evaluate(() => window.crossOriginIsolated), true, 'isolated: crossOriginIsolated');
    t.equal((await readSummary()).macs, sample.macs, 'isolated: sample MACs');
    const th = await readThreads();
    const expected = Math.min(MAX_DEFAULT_THREADS, th.cores);
    console.log(`  isolated: ${th.cores} cores, capabilities().threads = ${th.caps}, badge "${th.badgeText}"`);
    t.ok(isolatedServed.some((r) => r.path === '/quantmix-mt.wasm' && r.status === 200), 'isolated: the wasm-threads module was served');
    t.ok(isolatedServed.some((r) => r.path === '/quantmix-mt.worker.js' && r.status === 200), 'isolated: its pthread worker file was served');
    t.equal(th.caps, expected, `isolated: capabilities().threads = min(${MAX_DEFAULT_THREADS}, hardwareConcurrency)`);
    t.ok(th.cores < 2 || th.caps > 1, 'isolated: more than one thread on a multi-core machine');
    t.equal(th.badge, th.caps, 'isolated: the page shows the thread count');
  });


  // ---- The quantization app (issue 6) ----
  const caps = await page.evaluate(() => window.quantmix?.capabilities ?? {});
  console.log(`engine capabilities: ${JSON.stringify(caps)}`);
  // A build without these fails here (the steps below then fail too), never skips.
  for (const key of ['quantize', 'layerBits', 'workspace']) t.equal(caps[key], true, `the engine has ${key}`);

  // (e) Sample model -> samples -> run -> Pareto point -> download -> ORT validation.
  await t.step('sample model: quantize, select a point, download, validate in ORT', async () => {
    await page.goto(base);
    await settled('ready');
    const th = await readThreads();
    t.equal(th.isolated, false, 'not isolated: crossOriginIsolated is false');
    t.equal(th.caps, 1, 'not isolated: capabilities().threads = 1');
    t.equal(th.badge, 1, `not isolated: the page shows one thread ("${th.badgeText}")`);
    t.ok(!served.some((r) => r.path.startsWith('/quantmix-mt')), 'not isolated: the wasm-threads module is not fetched');
    t.equal(await page.inputValue('#pp-height'), '28', 'preprocessing pre-filled from the input shape (H)');
    t.equal(await page.inputValue('#pp-preset'), 'gray', 'one-channel input -> gray preset');
    // The sample's own calibration images (web/samples/calib), decoded in the page.
    t.ok(await page.isVisible('#sample-builtin'), 'the sample model offers its calibration images');
    await page.click('#sample-builtin');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '64', null, { timeout: RUN_TIMEOUT_MS });
    t.equal(await page.locator('#sample-previews canvas').count(), 24, 'previews (the first 24)');
    console.log(`  screenshot ${await shot('10-samples')}`);
    // The page stays responsive during a run: animation frames keep coming.
    const frame = page.evaluate(() => new Promise((ok) => {
      document.getElementById('run-button').addEventListener('click', () => {
        const t0 = performance.now();
        requestAnimationFrame(() => ok(performance.now() - t0));
      }, { once: true });
    }));
    // The front is drawn while the search runs (issue 11 item 3): the phase-1 predictions at once
    // (hollow), the measured points as phase 2 makes them, both before the run ends.
    const liveFront = page.evaluate(() => new Promise((ok) => {
      const box = document.getElementById('live-front');
      const app = document.getElementById('app');
      const seen = { predicted: 0, measured: 0 };
      const watch = new MutationObserver(() => {
        if (app.dataset.run !== 'running') return;
        seen.predicted = Math.max(seen.predicted, box.querySelectorAll('#live-front-chart circle.pt-predicted').length);
        seen.measured = Math.max(seen.measured, box.querySelectorAll('#live-front-chart circle.pt-measured').length);
      });
      watch.observe(box, { childList: true, subtree: true });
      const end = new MutationObserver(() => {
        if (!['done', 'error'].includes(app.dataset.run)) return;
        watch.disconnect();
        end.disconnect();
        ok({ ...seen, hiddenAfter: box.hidden });
      });
      end.observe(app, { attributes: true, attributeFilter: ['data-run'] });
    }));
    const run = await quantize();
    const frameMs = await frame;
    t.ok(frameMs < 1000, `a frame during the run came after ${frameMs.toFixed(0)} ms`);
    const live = await liveFront;
    if (run.state === 'error') {
      console.log(`  screenshot ${await shot('11-run-error')}`);
      t.ok(false, `the run failed: ${run.banner}`);
      return;
    }
    console.log(`  during the run the chart showed ${live.predicted} predicted and up to ${live.measured} measured points`);
    t.ok(live.predicted > 0, `the predicted front is drawn before the run ends (${live.predicted} points)`);
    t.ok(live.measured > 0, `measured points replace predicted ones before the run ends (${live.measured})`);
    t.ok(live.hiddenAfter, 'the results\' chart replaces the live one when the run ends');
    let r = await readResults();
    singleThreadRun = { ...r, ms: run.ms };
    console.log(`  1 thread: quantize of the sample took ${run.ms} ms (${r.relBops}x BOPs, ${r.sqnr} dB)`);
    console.log(`  screenshot ${await shot('11-results')}`);
    t.ok(!r.demo, 'real numbers (no demo note)');
    t.ok(r.points.length >= 2, `a Pareto front (${r.points.length} points)`);
    t.ok(r.baselines.includes('W8A8'), 'the W8A8 baseline is drawn');
    t.equal(r.layers.length, sample.layers.length, 'one table row per weighted layer');
    t.deepEqual(r.layers.map((l) => l.name), sample.layers.map((l) => l.name), 'table rows in network order');
    t.equal(r.strip, sample.layers.length, 'one strip block per layer');
    t.ok(Number.isFinite(r.sqnr) && r.relBops > 0, `totals shown (${r.relBops}x BOPs, ${r.sqnr} dB)`);
    t.ok(r.clickable.length >= 2, `at least two front points to click (${r.clickable.length})`);
    if (r.clickable.length >= 2) {
      // Click a point: its configuration is evaluated in the worker's workspace, with no new
      // calibration or search (issue 11): only the 'evaluate' phase, numbers within a budget.
      const target = r.clickable.find((i) => !r.selected.includes(i));
      const click = await timedUpdate(() => page.click(`#pareto-chart circle.pt-front[data-index="${target}"]`));
      r = await readResults();
      console.log(`  click on point ${target} -> new numbers in ${click.ms} ms (the run took ${run.ms} ms); phases: ${click.phases || 'none'}`);
      t.deepEqual(r.selected, [target], `clicking point ${target} selects it`);
      t.ok(!click.phases.split(',').some((p) => SEARCH_PHASES.includes(p)), `no calibration or search phase after the click (${click.phases || 'none'})`);
      t.ok(click.ms < CLICK_BUDGET_MS, `the click's numbers come within ${CLICK_BUDGET_MS} ms (${click.ms} ms)`);
      t.equal(r.exported, 'false', 'the chosen point is not exported until asked');

      // Two overrides, one after the other: the point's bits stay, and both overrides with them.
      const pointBits = r.layers;
      const other = (bits) => (bits === 'W8A16' ? 'W8A8' : 'W8A16');
      const [first, second] = [pointBits[0], pointBits[pointBits.length - 1]];
      for (const layer of [first, second]) {
        const o = await timedUpdate(() => page.selectOption(`#quant-table select[data-layer="${layer.name}"]`, other(layer.bits)));
        t.ok(!o.phases.split(',').some((p) => SEARCH_PHASES.includes(p)), `override ${layer.name}: no search (${o.phases || 'none'})`);
      }
      r = await readResults();
      const want = pointBits.map((l) => (l.name === first.name || l.name === second.name ? { ...l, bits: other(l.bits) } : l));
      t.deepEqual(r.layers.map(({ name, bits }) => ({ name, bits })), want, `two overrides compose with point ${target}'s bits`);
      t.deepEqual(r.layers.filter((l) => l.override).map((l) => l.name), [first.name, second.name], 'both rows marked overridden');
      t.ok((await page.textContent('.side-card dd')).includes('2 layer overrides'), 'the side panel counts both overrides');

      // Move the target along the front: a re-selection on the stored front, no search.
      t.ok(await page.isVisible('#set-target-slider'), 'a target slider along the front');
      const slider = await page.$eval('#set-target-slider', (el) => ({ min: Number(el.min), max: Number(el.max) }));
      const moved = await timedUpdate(() => page.$eval('#set-target-slider', (el) => {
        el.value = String(Number(el.min) + (Number(el.max) - Number(el.min)) * 0.75);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }));
      r = await readResults();
      const value = Number(await page.inputValue('#set-target-value'));
      console.log(`  target slider [${slider.min}, ${slider.max}] -> bops=${value}: ${moved.ms} ms, phases: ${moved.phases || 'none'}, reused: ${r.reused}`);
      t.ok((await page.textContent('#results-sub')).includes(`bops=${value}`), `the results are for the new target bops=${value}`);
      t.ok(!moved.phases.split(',').some((p) => SEARCH_PHASES.includes(p)), `a new target: no calibration or search (${moved.phases || 'none'})`);
      t.ok(r.reused.includes('search') && r.reused.includes('calibration'), `the report says calibration and search were reused (${r.reused})`);
      t.ok(r.relBops <= value + 1e-9, `the selection meets the new target (${r.relBops} <= ${value})`);
      t.ok(r.layers.every((l) => !l.override), 'a new target clears the overrides');
      // A typed target does the same.
      const typed = await timedUpdate(() => page.fill('#set-target-value', String(slider.min)));
      t.ok(!typed.phases.split(',').some((p) => SEARCH_PHASES.includes(p)), `a typed target: no search (${typed.phases || 'none'})`);
      r = await readResults();
      t.ok((await page.textContent('#results-sub')).includes(`bops=${slider.min}`), `typed target bops=${slider.min} selected`);
    }
    // The downloads export what is shown (exported now, the first time).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-model')]);
    const file = await readFile(await download.path());
    t.ok(download.suggestedFilename().endsWith('.qdq.onnx') && file.length > 1000, `downloaded ${download.suggestedFilename()} (${file.length} bytes)`);
    const [encDownload] = await Promise.all([page.waitForEvent('download'), page.click('#dl-encodings')]);
    const enc = JSON.parse(await readFile(await encDownload.path(), 'utf8'));
    t.ok(enc && typeof enc === 'object', 'encodings JSON parses');
    await page.click('#validate-button');
    await page.waitForSelector('#validation, .validate-error', { timeout: RUN_TIMEOUT_MS });
    const err = await page.$('.validate-error');
    t.ok(!err, `ORT validation ran${err ? `: ${await err.textContent()}` : ''}`);
    if (!err) {
      const v = await page.evaluate(() => ({ ...document.getElementById('validation').dataset }));
      const ort = Number(v.sqnr);
      const sim = Number(v.simulated);
      console.log(`  ORT SQNR ${ort.toFixed(2)} dB vs simulated ${sim.toFixed(2)} dB, top-1 agreement ${v.top1}`);
      t.ok(Math.abs(ort - sim) <= SIM_VS_ORT_DB, `ORT SQNR ${ort.toFixed(2)} dB within ${SIM_VS_ORT_DB} dB of simulated ${sim.toFixed(2)} dB`);
      t.ok(Number.isFinite(ort) && ort >= MIN_EXPORT_VS_FLOAT_DB, `the export is ${ort.toFixed(2)} dB from the float model in ORT (floor ${MIN_EXPORT_VS_FLOAT_DB} dB)`);
      t.ok(Number(v.top1) >= 0 && Number(v.top1) <= 1, 'top-1 agreement shown');
    }
    console.log(`  screenshot ${await shot('12-validated')}`);
  });

  // (e2) The same run on the cross-origin isolated page, with wasm threads: the same configuration,
  // the same SQNR up to rounding, and the exported model still agrees with ONNX Runtime Web (an
  // independent check of the multi-threaded kernels).
  await t.step('isolated page: the sample quantizes with wasm threads', async () => {
    if (!singleThreadRun) {
      t.ok(false, 'no single-thread run of the sample to compare with (step e failed)');
      return;
    }
    await page.goto(isolatedBase);
    await settled('ready');
    const th = await readThreads();
    await page.click('#sample-builtin');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '64', null, { timeout: RUN_TIMEOUT_MS });
    const run = await quantizeOnce();
    t.equal(run.state, 'done', `isolated: the run completes (${run.banner})`);
    if (run.state !== 'done') return;
    const r = await readResults();
    console.log(`  ${th.caps} threads: quantize of the sample took ${run.ms} ms (1 thread: ${singleThreadRun.ms} ms, ` +
                `speed-up ${(singleThreadRun.ms / run.ms).toFixed(2)}x); ${r.relBops}x BOPs, ${r.sqnr} dB`);
    console.log(`  screenshot ${await shot('12b-isolated-results')}`);
    t.deepEqual(r.layers, singleThreadRun.layers, 'isolated: the same bits per layer as with one thread');
    t.equal(r.relBops, singleThreadRun.relBops, 'isolated: the same relative BOPs');
    t.ok(Math.abs(r.sqnr - singleThreadRun.sqnr) <= THREADS_SQNR_DB,
      `isolated: SQNR ${r.sqnr} dB within ${THREADS_SQNR_DB} dB of one thread's ${singleThreadRun.sqnr} dB`);
    await page.click('#validate-button');
    await page.waitForSelector('#validation, .validate-error', { timeout: RUN_TIMEOUT_MS });
    const err = await page.$('.validate-error');
    t.ok(!err, `isolated: ORT validation ran${err ? `: ${await err.textContent()}` : ''}`);
    if (!err) {
      const v = await page.evaluate(() => ({ ...document.getElementById('validation').dataset }));
      const ort = Number(v.sqnr);
      const sim = Number(v.simulated);
      t.ok(Math.abs(ort - sim) <= SIM_VS_ORT_DB,
        `isolated: ORT SQNR ${ort.toFixed(2)} dB within ${SIM_VS_ORT_DB} dB of simulated ${sim.toFixed(2)} dB`);
      t.ok(Number.isFinite(ort) && ort >= MIN_EXPORT_VS_FLOAT_DB, `isolated: the export is ${ort.toFixed(2)} dB from the float model (floor ${MIN_EXPORT_VS_FLOAT_DB} dB)`);
    }
    // Back to the non-isolated page for the steps below.
    await page.goto(base);
    await settled('ready');
  });

  // (f) A user model and images dropped on the page: preprocessing follows the model's input.
  await t.step('user model + dropped images', async () => {
    await page.setInputFiles('#file-input', join(MODELS, 'rgb_cnn.onnx'));
    await settled('ready');
    t.equal(await page.inputValue('#pp-preset'), 'imagenet', 'three channels -> imagenet preset');
    t.equal(await page.inputValue('#pp-width'), '32', 'width from the model');
    await dropFiles('#sample-drop', RGB);
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '12');
    const shapes = await page.$$eval('#sample-previews figcaption', (els) => els.map((e) => e.textContent));
    t.ok(shapes.length === 12 && shapes.every((x) => x === '[1×3×32×32]'), `dropped 40x36 images resized to the model's 1x3x32x32 (${shapes[0]})`);
    t.ok(!(await page.textContent('#run-status')).includes('Add calibration samples'), 'the "add samples" prompt is gone once samples are in');
    console.log(`  screenshot ${await shot('13-user-model-samples')}`);
    const run = await quantize();
    t.equal(run.state, 'done', `the user model quantizes (${run.banner})`);
    const r = await readResults();
    t.equal(r.layers.length, 4, 'four weighted layers');
    console.log(`  screenshot ${await shot('14-user-model-results')}`);
  });

  // (f2) Issue 14: errors next to their cause and in view, an unmeetable target said, samples
  // checked against the model's input when added, one removed.
  await t.step('errors in view, unmeetable target, wrong-shape sample, remove one', async () => {
    const where = () => page.evaluate(() => {
      const b = document.getElementById('banner');
      const r = b.getBoundingClientRect();
      return { visible: !b.hidden, step: b.closest('section.step')?.id ?? null, text: b.textContent.replace(/\s+/g, ' ').trim(),
        inView: r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0 };
    });
    // A bad target typed, then Quantize: the error is under the settings, on screen.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.fill('#set-target-value', 'abc');
    await page.click('#run-button');
    await page.waitForSelector('#banner:not([hidden])');
    let b = await where();
    t.equal(b.step, 'step-settings', `a bad target: the error is in the settings step (${b.text})`);
    t.ok(b.inView, 'a bad target: the error is in the viewport');
    t.ok(await page.$eval('#set-target-value', (el) => el.classList.contains('is-invalid')), 'a bad target: the field is marked');
    await page.click('#banner-close');
    // An unmeetable target: the core's message above the numbers and beside the downloads.
    await timedUpdate(() => page.fill('#set-target-value', '0.01'));
    t.ok(await page.isVisible('#target-note'), 'bops=0.01: a note says the target is not met');
    const note = await page.textContent('#target-note');
    t.ok(/not met/.test(note) && /no point meets bops=0\.01/.test(note), `the note has the core's message (${note.trim()})`);
    t.ok(await page.isVisible('#export-note'), 'the export step says so too');
    console.log(`  screenshot ${await shot('14b-target-not-met')}`);
    await timedUpdate(() => page.fill('#set-target-value', '0.6'));
    t.ok(!(await page.isVisible('#target-note')), 'a met target: no note');
    // A .npy of another shape is refused when added, by name and why, next to the samples.
    const before = await sampleCount();
    const wrong = encodeNpy(new Float32Array(3 * 48 * 320), [1, 3, 48, 320]);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.setInputFiles('#sample-input', { name: 'wrong.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(wrong) });
    await page.waitForSelector('#banner:not([hidden])');
    b = await where();
    t.ok(b.text.includes('wrong.npy') && b.text.includes('[1×3×48×320]') && /dimension 2 is 48, the model needs 32/.test(b.text),
      `a wrong-shape .npy is refused with why (${b.text})`);
    t.equal(b.step, 'step-samples', 'the sample error is in the samples step');
    t.ok(b.inView, 'the sample error is in the viewport');
    t.equal(await sampleCount(), before, 'the wrong sample was not added');
    await page.click('#banner-close');
    // One sample removed by its own button.
    const first = await page.getAttribute('#sample-previews figure', 'data-name');
    await page.click('#sample-previews figure .preview-remove');
    await page.waitForFunction((n) => Number(document.getElementById('sample-count').dataset.count) === n, before - 1);
    t.ok(!(await page.$(`#sample-previews figure[data-name="${first}"]`)), `${first} removed, the others kept (${before - 1})`);
    await page.click('#sample-previews figure');
    t.ok(await page.$eval('#sample-previews figure', (el) => el.classList.contains('is-enlarged')), 'a click enlarges a preview');
    console.log(`  screenshot ${await shot('14c-samples-edited')}`);
  });

  // (g) Bad samples: a readable message, the samples already added stay, the app stays usable.
  await t.step('corrupt sample file', async () => {
    const before = await sampleCount();
    await page.setInputFiles('#sample-input', { name: 'broken.npy', mimeType: 'application/octet-stream', buffer: Buffer.from('not numpy at all') });
    await page.waitForSelector('#banner:not([hidden])');
    const s = await readSummary();
    t.ok(s.bannerText.includes('broken.npy'), `the banner names the file (${s.bannerText})`);
    t.equal(await sampleCount(), before, 'the good samples are kept');
    // The banner still shows broken.npy's error: wait for this file's (the page reads it first).
    await page.setInputFiles('#sample-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    const named = await page.waitForFunction(() => document.getElementById('banner').textContent.includes('notes.txt'), null, { timeout: 10000 })
      .then(() => true, () => false);
    t.ok(named, `a non-sample file is refused by name (${(await readSummary()).bannerText})`);
    await page.click('#banner-close');
  });

  // (h) Cancel mid-run: the worker is restarted, the model and samples kept, a new run works.
  await t.step('cancel mid-run', async () => {
    // Click Cancel from inside the page on the first progress paint, so the run cannot win the race.
    await page.evaluate(() => new Promise((ok) => {
      const obs = new MutationObserver(() => {
        if (document.querySelector('#phases .phase-active')) { obs.disconnect(); document.getElementById('cancel-button').click(); ok(); }
      });
      obs.observe(document.getElementById('phases'), { childList: true, subtree: true });
      document.getElementById('run-button').click();
    }));
    await runEnded('cancelled');
    t.ok((await page.textContent('#run-status')).includes('Cancelled'), 'the page says it was cancelled');
    console.log(`  screenshot ${await shot('15-cancelled')}`);
    await page.waitForFunction(() => !document.getElementById('run-button').disabled);
    const again = await quantizeOnce();
    t.equal(again.state, 'done', `a run after the cancel completes (${again.banner})`);
  });

  // (h2) Fewer front points measured (the CLI's --front-points): the run reports the rest at
  // their phase-1 prediction, drawn hollow; a predicted point can still be chosen.
  await t.step('front points measured: 4', async () => {
    // The models here have fronts of 10-20 points (the select offers 16 and more, for real
    // models): an option of 4 is added to see the setting reach the search.
    await page.evaluate(() => document.getElementById('set-front-points').add(new Option('4, evenly spaced', '4')));
    await page.selectOption('#set-front-points', '4');
    // Fewer samples: a new calibration, so no point is known from the earlier runs' measurements
    // (the worker reuses those for the same configuration).
    await page.fill('#set-max-samples', '8');
    const run = await quantizeOnce();
    t.equal(run.state, 'done', `a run measuring 4 front points completes (${run.banner})`);
    const predicted = await page.$$eval('#pareto-chart circle.pt-predicted', (els) => els.map((c) => Number(c.dataset.index)));
    const measured = await page.$$eval('#pareto-chart circle.pt-measured', (els) => els.length);
    t.ok(predicted.length > 0 && measured >= 2, `some points predicted (${predicted.length}), the others measured (${measured})`);
    console.log(`  screenshot ${await shot('15b-front-points')}`);
    if (predicted.length) {
      // Dispatched on the circle itself: a predicted point can sit under a measured neighbour,
      // where a click at its centre selects the neighbour (as it would for a user).
      await timedUpdate(() => page.dispatchEvent(`#pareto-chart circle.pt-predicted[data-index="${predicted[0]}"]`, 'click'));
      t.deepEqual((await readResults()).selected, [predicted[0]], `the predicted point ${predicted[0]} is chosen and measured`);
    }
    await page.selectOption('#set-front-points', '');
    await page.fill('#set-max-samples', '32');
  });

  // (i) Demo mode (?demo): the interface with made-up numbers, always labelled as such.
  await t.step('demo mode: run, cancel, select, override', async () => {
    await page.goto(`${base}?demo`);
    await settled('ready');
    await page.setInputFiles('#sample-input', GRAY);
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '8');
    await page.click('#run-button');
    await page.waitForSelector('#phases .phase-active');
    await page.click('#cancel-button');
    await runEnded('cancelled');
    t.equal(await sampleCount(), 8, 'demo: samples kept after cancel');
    await page.waitForFunction(() => !document.getElementById('run-button').disabled);
    await page.click('#run-button');
    await runEnded('done');
    let r = await readResults();
    t.ok(r.demo, 'demo: the "Demo data — not computed" note is shown');
    t.ok((await page.textContent('#results-sub')).includes('DEMO DATA'), 'demo: the results are labelled');
    t.ok(await page.isDisabled('#dl-model'), 'demo: nothing to download');
    const target = r.clickable.find((i) => !r.selected.includes(i));
    await page.click(`#pareto-chart circle.pt-front[data-index="${target}"]`);
    await page.waitForFunction((i) => document.querySelector(`#pareto-chart circle.pt-selected[data-index="${i}"]`), target, { timeout: RUN_TIMEOUT_MS });
    r = await readResults();
    t.deepEqual(r.selected, [target], `demo: clicked point ${target} is selected`);
    t.equal(await page.getAttribute('#app', 'data-phases'), 'evaluate', 'demo: a point is one evaluation, no search phases');
    const layer = r.layers[0].name;
    await page.selectOption(`#quant-table select[data-layer="${layer}"]`, 'W16A16');
    await page.waitForFunction((n) => document.querySelector(`#quant-table tr[data-layer="${n}"]`)?.dataset.bits === 'W16A16', layer, { timeout: RUN_TIMEOUT_MS });
    t.equal(await page.getAttribute(`#quant-table tr[data-layer="${layer}"]`, 'data-bits'), 'W16A16', 'demo: the override is shown');
    t.equal(await page.getAttribute('#app', 'data-phases'), 'evaluate', 'demo: a layer override is one evaluation');
    console.log(`  screenshot ${await shot('16-demo-results')}`);
  });

  // The JS API on its own, as the README's snippet loads it: ./quantmix.js at the site's root
  // (re-exporting web/api/), its worker and the core found from there, on both kinds of page.
  await t.step('JS API from the README snippet\'s URL', async () => {
    const model = (await readFile(join(ROOT, 'web', 'samples', 'fashion_cnn.onnx'))).toString('base64');
    for (const [label, url] of [['plain', base], ['isolated', isolatedBase]]) {
      await page.goto(`${url}?empty`);
      await settled('idle');
      const out = await page.evaluate(async (b64) => {
        const { Quantmix } = await import('./quantmix.js');
        const qm = await Quantmix.create();
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const inspect = await qm.loadModel(bytes, { name: 'fashion_cnn.onnx' });
        await qm.setSamples(Array.from({ length: 4 }, (_, i) => ({ name: `s${i}`,
          data: new Float32Array(784).map((_, j) => ((i * 31 + j * 7) % 255) / 255), shape: [1, 1, 28, 28] })));
        const run = await qm.quantize({ target: 'bops=0.6', candidates: ['W4A8', 'W8A8', 'W8A16'] });
        const size = qm.exportFiles().model.size;
        qm.terminate();
        return { layers: inspect.layers.length, threads: qm.capabilities.threads, relBops: run.report.selected.rel_bops, size };
      }, model);
      t.equal(out.layers, sample.layers.length, `${label}: the API inspects the model`);
      t.ok(out.relBops <= 0.6 && out.size > 0, `${label}: the API quantizes and exports (${JSON.stringify(out)})`);
      t.ok(label === 'plain' ? out.threads === 1 : out.threads > 1, `${label}: threads ${out.threads}`);
    }
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
