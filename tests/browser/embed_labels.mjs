// End-to-end test of embedding the app in a documentation page (README "Embedding") and of the
// labels file, in headless Chromium. Usage: node tests/browser/embed_labels.mjs WEB_DIR
// The app is served by tools/serve.mjs on one port (a plain static host without COOP/COEP, and
// a cross-origin isolated one) and a *foreign* page on another port embeds it: the README's
// <iframe> snippet on a page with no headers at all, the <quantmix-demo> element on a page with a
// docs-like Content-Security-Policy (what the README says to allow), and the element on an
// isolated page (wasm threads in the frame). Each must load the bundled sample, run by itself
// and show a result. Hostile URL parameters must give one-line messages, load nothing from
// elsewhere and run no script. Then labels: a labels file makes top-1 the metric in the search
// and the validation; a count that does not match is one line naming the file; a dynamic width
// is taken from the images. Prints "N passed, M failed"; exit 1 on failure, 77 when skipped.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../tools/serve.mjs';
import { Checker, blockOffOrigin, browserOrSkip, launchChromium } from './helpers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = resolve(process.argv[2] ?? join(ROOT, 'build', 'wasm', 'web'));
const SHOTS = join(ROOT, 'artifacts', 'screenshots');
const TIMEOUT_MS = 30000;
const RUN_TIMEOUT_MS = 120000;
const MAX_DEFAULT_THREADS = 4;  // wasm/bindings.cpp kMaxDefaultThreads
const chromium = browserOrSkip(ROOT, WEB_DIR, ['index.html', 'embed.js']);

const t = new Checker();
await mkdir(SHOTS, { recursive: true });

// The app: on a plain static host (no COOP/COEP) and on a cross-origin isolated one that lets
// isolated pages of other origins load it (CORP cross-origin: serve.mjs --embeddable).
const appRequests = [];
const plainApp = await serve(WEB_DIR, 0, { isolate: false, log: (m, path, status) => appRequests.push({ path, status }) });
const isolatedApp = await serve(WEB_DIR, 0, { isolate: true, embeddable: true });
const PLAIN = `http://127.0.0.1:${plainApp.address().port}`;
const ISOLATED = `http://127.0.0.1:${isolatedApp.address().port}`;

// The foreign documentation site: another port, so another origin. Pages by path, each with its
// own headers; nothing else.
const pages = new Map();
const docs = createServer((req, res) => {
  const page = pages.get(new URL(req.url, 'http://x').pathname);
  if (!page) { res.writeHead(404).end('not found'); return; }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', ...page.headers }).end(page.body);
});
await new Promise((ok) => docs.listen(0, '127.0.0.1', ok));
const DOCS = `http://127.0.0.1:${docs.address().port}`;

const article = (body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Docs</title></head>
<body><h1>Quantizing a model</h1><p>Try it here:</p>${body}<p>Text after the demo.</p></body></html>`;

// 1. The README's <iframe> snippet, pasted into a page served with no headers at all.
pages.set('/iframe.html', { headers: {}, body: article(
  `<iframe id="demo" src="${PLAIN}/?embed&autorun&target=bops=0.6&panels=settings,results" title="quantmix demo"
     width="100%" height="900" style="border:0" allow="cross-origin-isolated"></iframe>`) });
// 2. The custom element on a docs page with a strict CSP that allows exactly what the README says:
// the script from the app's origin and the app in a frame.
const docsCsp = (app) => `default-src 'self'; script-src 'self' ${app}; frame-src ${app}; style-src 'self'; img-src 'self'; object-src 'none'`;
pages.set('/element.html', { headers: { 'Content-Security-Policy': docsCsp(ISOLATED) }, body: article(
  `<script src="${ISOLATED}/embed.js" defer></script>
   <quantmix-demo id="demo" autorun target="bops=0.6" candidates="W4A8,W8A8,W8A16" panels="settings,results,export"></quantmix-demo>`) });
// 3. The element on a cross-origin isolated docs page: the frame gets wasm threads.
pages.set('/isolated.html', { headers: { 'Content-Security-Policy': docsCsp(ISOLATED),
  'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }, body: article(
  `<script src="${ISOLATED}/embed.js" defer></script>
   <quantmix-demo id="demo" autorun target="bops=0.6" panels="results"></quantmix-demo>`) });
// 4. Hostile parameters in the snippet.
const HOSTILE = new URLSearchParams();
HOSTILE.set('embed', '');
HOSTILE.set('autorun', '');
HOSTILE.set('model', 'https://evil.example/steal.onnx');
HOSTILE.append('samples', 'javascript:alert(1)');
HOSTILE.set('labels', '//evil.example/labels.txt');
HOSTILE.set('candidates', 'W3A8,W8A8');
HOSTILE.set('target', 'bops=<img src=x onerror=alert(1)>');
HOSTILE.set('panels', 'results,<b>x</b>');
pages.set('/hostile.html', { headers: {}, body: article(
  `<iframe id="demo" src="${PLAIN}/?${HOSTILE.toString()}" title="quantmix demo" width="100%" height="700" style="border:0"></iframe>`) });
// 5. Same-origin sample with bad parameters that are not URLs: the sample still opens.
pages.set('/badvalues.html', { headers: {}, body: article(
  `<iframe id="demo" src="${PLAIN}/?embed&autorun&candidates=W8A8,WXA8&target=abc" title="quantmix demo" width="100%" height="900" style="border:0"></iframe>`) });

const { context, userDataDir } = await launchChromium(chromium, { width: 1200, height: 900 });
const offOrigin = await blockOffOrigin(context);  // every request off 127.0.0.1, aborted
const problems = [];
const dialogs = [];
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
  });
});
const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(TIMEOUT_MS);
page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });

async function shot(name) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The app's frame inside the docs page (the element's or the snippet's iframe). */
async function appFrame() {
  const handle = await page.waitForSelector('#demo iframe, iframe#demo');
  const frame = await handle.contentFrame();
  if (!frame) throw new Error('the demo iframe has no frame');
  return frame;
}

/** Waits for the frame's run to end; returns its state and what it shows. */
async function embeddedResult(frame) {
  await frame.waitForFunction(() => ['done', 'error', 'cancelled'].includes(document.getElementById('app')?.dataset.run),
    null, { timeout: RUN_TIMEOUT_MS });
  return frame.evaluate(() => {
    const stat = (id) => document.querySelector(`#totals .stat[data-stat="${id}"]`)?.dataset.value;
    const visible = (id) => { const el = document.getElementById(id); return Boolean(el && !el.hidden && el.offsetParent !== null); };
    return {
      run: document.getElementById('app').dataset.run,
      samples: Number(document.getElementById('sample-count').dataset.count),
      relBops: Number(stat('rel_bops')), sqnr: Number(stat('sqnr')),
      sub: document.getElementById('results-sub').textContent,
      resultsVisible: visible('step-results'), settingsVisible: visible('step-settings'),
      samplesVisible: visible('step-samples'), modelVisible: visible('drop-zone'), exportVisible: visible('step-export'),
      threads: Number(document.getElementById('engine-version').dataset.threads),
      isolated: window.crossOriginIsolated, embed: document.getElementById('app').dataset.embed,
      openFull: document.getElementById('open-full').hidden ? null : document.getElementById('open-full').href,
      problems: document.getElementById('param-problems').hidden ? null : document.getElementById('param-problems').textContent,
      banner: document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent.replace(/\s+/g, ' ').trim(),
    };
  });
}

t.onFail = async (name) => {
  console.log(`  screenshot ${await shot(`FAIL-embed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`)}`);
};

try {
  await t.step('README <iframe> snippet on a plain foreign page (no headers), app on a plain static host', async () => {
    const before = appRequests.length;
    await page.goto(`${DOCS}/iframe.html`);
    const frame = await appFrame();
    const r = await embeddedResult(frame);
    t.equal(r.run, 'done', `the embedded demo ran by itself (${r.banner || r.run})`);
    t.equal(r.samples, 64, 'the bundled sample images were loaded');
    t.ok(r.relBops > 0 && r.relBops <= 0.6 && Number.isFinite(r.sqnr), `a result within the target is shown (${r.relBops}x BOPs, ${r.sqnr} dB)`);
    t.ok(r.sub.includes('bops=0.6'), `the results name the target (${r.sub})`);
    t.ok(r.resultsVisible && r.settingsVisible, 'panels settings and results are shown');
    t.ok(!r.samplesVisible && !r.modelVisible && !r.exportVisible, 'the other panels are hidden');
    t.equal(r.threads, 1, 'one thread on a page that is not cross-origin isolated');
    t.equal(r.embed, 'true', 'compact embed layout');
    t.ok(r.openFull && !r.openFull.includes('embed') && r.openFull.includes('autorun'), `"Open the full app" keeps the configuration (${r.openFull})`);
    t.equal(r.problems, null, 'no parameter problems');
    const served = appRequests.slice(before).map((x) => x.path);
    t.ok(served.includes('/samples/fashion_cnn.onnx') && served.includes('/quantmix.wasm'), 'the frame loaded the sample and the single-thread module from the app host');
    console.log(`  screenshot ${await shot('embed-01-iframe-plain')}`);
  });

  await t.step('<quantmix-demo> on a foreign page with a docs CSP, app on an isolated host', async () => {
    await page.goto(`${DOCS}/element.html`);
    const frame = await appFrame();
    const r = await embeddedResult(frame);
    t.equal(r.run, 'done', `the element's demo ran by itself (${r.banner || r.run})`);
    t.ok(r.relBops > 0 && r.relBops <= 0.6, `a result is shown (${r.relBops}x BOPs)`);
    t.ok(r.exportVisible && r.resultsVisible && !r.samplesVisible, 'panels settings, results, export shown, the others hidden');
    t.equal(r.isolated, false, 'the frame is not isolated (the docs page is not)');
    t.equal(r.threads, 1, 'so it runs one thread');
    const candidates = await frame.$$eval('#set-candidates input:checked', (els) => els.map((e) => e.value));
    t.deepEqual(candidates, ['W4A8', 'W8A8', 'W8A16'], 'candidates from the attribute');
    const el = await page.evaluate(() => {
      const d = document.getElementById('demo');
      return { height: d.querySelector('iframe').getBoundingClientRect().height, run: d.dataset.run, state: d.dataset.state };
    });
    t.ok(el.height > 700, `the element sized its frame to the app (${el.height} px)`);
    t.equal(el.run, 'done', 'the element reports the run\'s state (data-run)');
    // The frame follows the app down too (the document is never shorter than its frame).
    await frame.evaluate(() => { for (const id of ['step-results', 'step-export']) document.getElementById(id).hidden = true; });
    const shrunk = await page.waitForFunction((h) => {
      const now = document.querySelector('#demo iframe').getBoundingClientRect().height;
      return now < h - 300 ? now : false;
    }, el.height, { timeout: 5000 }).then((x) => x.jsonValue()).catch(() => null);
    t.ok(shrunk !== null, `the frame shrinks with the app (${el.height} -> ${shrunk} px)`);
    await frame.evaluate(() => { for (const id of ['step-results', 'step-export']) document.getElementById(id).hidden = false; });
    console.log(`  screenshot ${await shot('embed-02-element-csp')}`);
  });

  await t.step('<quantmix-demo> on a cross-origin isolated docs page: wasm threads in the frame', async () => {
    await page.goto(`${DOCS}/isolated.html`);
    t.equal(await page.evaluate(() => window.crossOriginIsolated), true, 'the docs page is isolated');
    const frame = await appFrame();
    const r = await embeddedResult(frame);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    t.equal(r.run, 'done', `the isolated demo ran (${r.banner || r.run})`);
    t.ok(r.relBops > 0 && r.relBops <= 0.6, `a result is shown (${r.relBops}x BOPs)`);
    t.equal(r.isolated, true, 'the frame is cross-origin isolated (allow="cross-origin-isolated", CORP on the app host)');
    t.equal(r.threads, Math.min(MAX_DEFAULT_THREADS, cores), `wasm threads in the frame (${r.threads})`);
    t.ok(r.resultsVisible && !r.settingsVisible, 'only the results panel');
  });

  await t.step('hostile URL parameters: one line each, nothing loaded from elsewhere, no script run', async () => {
    const before = appRequests.length;
    offOrigin.length = 0;
    await page.goto(`${DOCS}/hostile.html`);
    const frame = await appFrame();
    await frame.waitForFunction(() => document.getElementById('app')?.dataset.state === 'idle' && !document.getElementById('param-problems').hidden);
    const r = await frame.evaluate(() => ({
      lines: [...document.querySelectorAll('#param-problems li')].map((li) => li.textContent),
      markup: document.querySelectorAll('#param-problems img, #param-problems b').length,
      autorun: Boolean(document.getElementById('autorun-blocked')),
      empty: !document.getElementById('empty-state').hidden,
      run: document.getElementById('app').dataset.run,
    }));
    const has = (param, re) => t.ok(r.lines.some((l) => l.startsWith(`${param}:`) && re.test(l)), `${param} refused (${r.lines.find((l) => l.startsWith(`${param}:`)) ?? 'no line'})`);
    has('model', /another origin \(https:\/\/evil\.example\)/);
    has('samples', /javascript:/);
    has('labels', /another origin/);
    has('candidates', /W3A8/);
    has('target', /not a valid/);
    has('panels', /not a panel/);
    t.ok(r.lines.every((l) => !l.includes('\n') && l.length < 300), 'each problem is one line');
    t.equal(r.markup, 0, 'parameter text is shown as text, never as markup');
    t.ok(r.autorun, 'the page says autorun did not start');
    t.ok(r.empty && r.run !== 'running', 'no model opened (not the sample in its place), nothing runs');
    await page.waitForTimeout(500);
    t.deepEqual(offOrigin, [], 'no request left 127.0.0.1');
    t.ok(!appRequests.slice(before).some((x) => /onnx$/.test(x.path)), 'no model was fetched');
    t.deepEqual(dialogs, [], 'no script ran (no dialog)');
    console.log(`  screenshot ${await shot('embed-03-hostile')}`);
  });

  await t.step('bad candidate and target values: one line each, the sample still opens, no autorun', async () => {
    await page.goto(`${DOCS}/badvalues.html`);
    const frame = await appFrame();
    await frame.waitForFunction(() => document.getElementById('app')?.dataset.state === 'ready' && document.getElementById('app').dataset.busy === 'false');
    await frame.waitForFunction(() => Number(document.getElementById('sample-count').dataset.count) === 64, null, { timeout: TIMEOUT_MS }).catch(() => {});
    const r = await frame.evaluate(() => ({
      lines: [...document.querySelectorAll('#param-problems li')].map((li) => li.textContent),
      run: document.getElementById('app').dataset.run,
      model: document.getElementById('model-name')?.textContent,
    }));
    t.equal(r.lines.length, 2, `two lines (${r.lines.join(' | ')})`);
    t.ok(r.lines[0].startsWith('candidates:') && r.lines[0].includes('WXA8'), 'the unknown candidate is named');
    t.ok(r.lines[1].startsWith('target:') && r.lines[1].includes('"abc"'), 'the bad target is named');
    t.equal(r.model, 'fashion_cnn.onnx', 'the sample model opened');
    t.equal(r.run, 'idle', 'autorun did not start');
  });

  await t.step('the app alone: unknown parameters on a plain visit say nothing', async () => {
    await page.goto(`${PLAIN}/?utm_source=x`);
    await page.waitForFunction(() => document.getElementById('app')?.dataset.state === 'ready');
    t.ok(await page.isHidden('#param-problems'), 'no parameter message');
    t.equal(await page.getAttribute('#app', 'data-embed'), 'false', 'the full layout');
  });

  // ---- Labels (issue 14): top-1 on the user's samples as the metric, in the search and the validation.
  const LABELLED = join(ROOT, 'web', 'samples', 'labelled');
  const PNGS = Array.from({ length: 32 }, (_, k) => join(LABELLED, `${String(k).padStart(3, '0')}.png`));
  const labelsText = await readFile(join(LABELLED, 'labels.txt'), 'utf8');
  const txt = (name, text) => ({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });
  const bannerText = () => page.evaluate(() => (document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent.replace(/\s+/g, ' ').trim()));

  await t.step('labels: a wrong file and a count that does not match are one line naming the file', async () => {
    await page.goto(`${PLAIN}/`);
    await page.waitForFunction(() => document.getElementById('app')?.dataset.state === 'ready' && document.getElementById('app').dataset.busy === 'false');
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'sqnr', 'without labels the metric is SQNR');
    await page.setInputFiles('#sample-input', PNGS);
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '32');
    // The class-names file is not a labels file: refused with file and line.
    await page.setInputFiles('#labels-input', join(ROOT, 'web', 'samples', 'fashion_labels.txt'));
    await page.waitForSelector('#banner:not([hidden])');
    const b = await bannerText();
    t.ok(b.includes("fashion_labels.txt:1: 'T-shirt/top' is not an integer class"), `class names are refused by file and line (${b})`);
    t.equal(await page.getAttribute('#labels-status', 'data-state'), 'none', 'no labels kept');
    await page.click('#banner-close');
    // 30 labels for 32 samples: said beside the labels, and Quantize refuses with one line.
    await page.setInputFiles('#labels-input', txt('short.txt', labelsText.split('\n').slice(0, 30).join('\n')));
    await page.waitForFunction(() => document.getElementById('labels-status').dataset.state === 'error');
    const status = await page.textContent('#labels-status');
    t.equal(status, 'short.txt: 30 labels for 32 samples (one integer class per sample, in the order the samples are listed)', 'the mismatch is one line naming the file');
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'sqnr', 'mismatched labels are not used');
    await page.click('#run-button');
    await page.waitForSelector('#banner:not([hidden])');
    const run = await bannerText();
    const where = await page.evaluate(() => document.getElementById('banner').closest('section')?.id);
    t.ok(run.includes('short.txt: 30 labels for 32 samples') && where === 'step-settings', `Quantize refuses it beside the settings (${run})`);
    t.equal(await page.getAttribute('#app', 'data-run'), 'idle', 'nothing ran');
    await page.click('#banner-close');
  });

  await t.step('labels: top-1 on the samples is the search metric and the validation', async () => {
    // The labels dropped with the samples (as the CLI's --labels file), replacing the short one.
    await page.setInputFiles('#sample-input', join(LABELLED, 'labels.txt'));
    await page.waitForFunction(() => document.getElementById('labels-status').dataset.state === 'ok');
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'top1', 'the settings say the metric is top-1');
    t.ok((await page.textContent('#metric-note')).includes('top-1 accuracy on your 32 labelled samples (labels.txt)'), 'naming the file and count');
    await page.click('#run-button');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('app').dataset.run), null, { timeout: RUN_TIMEOUT_MS });
    t.equal(await page.getAttribute('#app', 'data-run'), 'done', `the labelled run completes (${await bannerText()})`);
    const r = await page.evaluate(() => ({
      sent: window.quantmix.options.labels ?? null,
      metric: window.quantmix.result.report.search?.metric,
      top1: window.quantmix.result.report.selected?.top1,
      totals: document.getElementById('totals').dataset.metric,
      shown: Number(document.querySelector('#totals .stat[data-stat="top1"]')?.dataset.value),
      line: document.getElementById('metric-line')?.textContent ?? '',
    }));
    t.deepEqual(r.sent, labelsText.trim().split('\n').map(Number), 'the 32 labels reached the core, in sample order');
    t.equal(r.metric, 'top1', 'the core searched on top-1 (report search.metric)');
    t.ok(r.top1 >= 0.5 && r.top1 <= 1, `the selection's top-1 is a plausible accuracy (${r.top1})`);
    t.equal(r.totals, 'top1', 'the results say top-1 is the metric');
    t.equal(r.shown, r.top1, 'top-1 shown among the totals');
    t.ok(/Search metric: top-1 accuracy on your 32 labelled samples/.test(r.line), `the metric is named above the numbers (${r.line})`);
    await page.click('#validate-button');
    await page.waitForSelector('#validation, .validate-error', { timeout: RUN_TIMEOUT_MS });
    const v = await page.evaluate(() => ({ ...document.getElementById('validation')?.dataset, err: document.querySelector('.validate-error')?.textContent ?? null,
      box: document.getElementById('label-top1')?.textContent ?? '' }));
    t.equal(v.err, null, 'the validation ran');
    t.equal(Number(v.labelled), 32, 'the validation counted top-1 on the 32 labelled samples');
    t.ok(Number(v.floatTop1) >= 0.5 && Number(v.labelTop1) >= 0.5, `float and exported top-1 in ONNX Runtime (${v.floatTop1}, ${v.labelTop1})`);
    t.ok(Math.abs(Number(v.labelTop1) - r.top1) <= 2 / 32, `ORT's top-1 of the export is the simulated one within 2 samples (${v.labelTop1} vs ${r.top1})`);
    t.ok(v.box.includes('Top-1 on your labels'), 'shown as top-1 on the labels');
    console.log(`  screenshot ${await shot('labels-01-top1')}`);
    // Removing one sample removes its label: the labels still match.
    await page.click('#sample-previews figure .preview-remove');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '31');
    t.equal(await page.getAttribute('#labels-status', 'data-state'), 'ok', 'after removing a sample its label goes too');
    t.ok((await page.textContent('#labels-status')).includes('31 labels'), '31 labels left');
  });

  await t.step('a dynamic width is taken from the images (1x3x48xW model)', async () => {
    await page.setInputFiles('#file-input', join(ROOT, 'tests', 'browser', 'models', 'wide_cnn.onnx'));
    await page.waitForFunction(() => document.getElementById('model-name')?.textContent === 'wide_cnn.onnx' && document.getElementById('app').dataset.busy === 'false');
    t.equal(await page.inputValue('#pp-height'), '48', 'the fixed height from the model');
    t.ok(await page.isVisible('#pp-auto'), `the form says the width follows the images (${await page.textContent('#pp-auto')})`);
    await page.setInputFiles('#sample-input', Array.from({ length: 4 }, (_, i) => join(ROOT, 'tests', 'browser', 'images', `img_0${i}.png`)));
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '4');
    // 40x36 images at height 48 keep their aspect at width round(48 * 40 / 36) = 53.
    t.equal(await page.inputValue('#pp-width'), '53', 'the width from the images\' aspect at the model\'s height (not 224)');
    const shapes = await page.$$eval('#sample-previews figcaption', (els) => els.map((e) => e.textContent));
    t.ok(shapes.length === 4 && shapes.every((x) => x === '[1×3×48×53]'), `samples are 1x3x48x53 (${shapes[0]})`);
    t.ok(await page.isHidden('#pp-auto'), 'the width is now the user\'s');
    await page.click('#run-button');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('app').dataset.run), null, { timeout: RUN_TIMEOUT_MS });
    t.equal(await page.getAttribute('#app', 'data-run'), 'done', `the dynamic-width model quantizes (${await bannerText()})`);
  });

  await t.step('clean console', async () => {
    t.deepEqual(problems, [], 'no console errors, page errors or CSP violations in the docs pages or the frames');
  });
} finally {
  await context.close();
  plainApp.close();
  isolatedApp.close();
  docs.close();
  await rm(userDataDir, { recursive: true, force: true });
}

process.exit(t.report());
