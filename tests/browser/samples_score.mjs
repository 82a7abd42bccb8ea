// End-to-end test of the app's second bundled sample (the CTC text-line recogniser, scored by
// character accuracy) and of the score module in the settings, in headless Chromium.
// Usage: node tests/browser/samples_score.mjs WEB_DIR
// Scenarios: the sample picker (the Fashion-MNIST CNN stays the default); a score module typed in
// the settings is what the search and the validation use (a test module with a closed-form score,
// served on the app's origin); an off-origin, data: or javascript: module is refused in one line
// and nothing runs; picking "Text-line recogniser (CTC)" loads the model, its 32 lines and their
// score module, runs a search whose metric is character accuracy and validates it in ONNX
// Runtime; a changed line set is refused; sample=textline in the URL opens it. Kept small for CI:
// 8 samples, two candidates, a coarse target. Prints "N passed, M failed"; exit 1 on failure,
// 77 when skipped.
import { mkdir, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../tools/serve.mjs';
import { Checker, blockOffOrigin, browserOrSkip, launchChromium } from './helpers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = resolve(process.argv[2] ?? join(ROOT, 'build', 'wasm', 'web'));
const SHOTS = join(ROOT, 'artifacts', 'screenshots');
const TIMEOUT_MS = 30000;
const RUN_TIMEOUT_MS = 120000;
const USED = 8;  // samples used by each run (CI time)
const chromium = browserOrSkip(ROOT, WEB_DIR, ['index.html', 'quantmix.wasm', 'samples/textline_score.mjs']);

// A score module with a closed form, whatever the model and its bits: sample i scores i plus a
// tenth per output, so over the first n samples of a one-output model the mean is (n - 1) / 2 +
// 0.1 for the float model and for every configuration (the core then breaks the tie by SQNR).
const FIXTURE_PATH = '/test-fixtures/score_index.mjs';
const FIXTURE = 'export function score(outputs, sampleIndex) { return sampleIndex + Object.keys(outputs).length / 10; }\n';
const FIXTURE_MEAN = (USED - 1) / 2 + 0.1;

// The built site (a plain host: one thread) behind a front that also serves the test module on
// the same origin; the site directory itself is left as built.
const appRequests = [];
const site = await serve(WEB_DIR, 0, { isolate: false, log: (m, path, status) => appRequests.push({ path, status }) });
const front = createServer((req, res) => {
  if (new URL(req.url, 'http://x').pathname === FIXTURE_PATH) {
    appRequests.push({ path: FIXTURE_PATH, status: 200 });
    res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-cache' }).end(FIXTURE);
    return;
  }
  const up = request({ host: '127.0.0.1', port: site.address().port, path: req.url, method: req.method, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', () => res.writeHead(502).end());
  req.pipe(up);
});
await new Promise((ok) => front.listen(0, '127.0.0.1', ok));
const BASE = `http://127.0.0.1:${front.address().port}`;

const t = new Checker();
await mkdir(SHOTS, { recursive: true });
const { context, userDataDir } = await launchChromium(chromium, { width: 1280, height: 900 });
const offOrigin = await blockOffOrigin(context);  // every request off 127.0.0.1, aborted
const problems = [];
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`));
});
const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(TIMEOUT_MS);
page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

async function shot(name) {
  const path = join(SHOTS, `${name}.png`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}
t.onFail = async (name) => {
  console.log(`  screenshot ${await shot(`FAIL-samples-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`)}`);
};

const bannerText = () => page.evaluate(() => (document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent.replace(/\s+/g, ' ').trim()));

/** Waits until a model is open and nothing is loading. */
async function settled(model) {
  await page.waitForFunction((m) => {
    const app = document.getElementById('app');
    return app.dataset.busy === 'false' && app.dataset.state === 'ready' && document.getElementById('model-name')?.textContent === m;
  }, model);
}

/** Small, quick search settings: USED samples, W4A8/W8A8, target bops=0.75. */
async function smallSearch() {
  await page.fill('#set-max-samples', String(USED));
  await page.dispatchEvent('#set-max-samples', 'change');
  for (const box of await page.$$('#set-candidates input')) {
    const v = await box.getAttribute('value');
    if ((await box.isChecked()) !== ['W4A8', 'W8A8'].includes(v)) await box.click();
  }
  await page.selectOption('#set-target-kind', 'bops');
  await page.fill('#set-target-value', '0.75');
}

/** Clicks Quantize and waits for the run to end: {state, banner}. */
async function quantize() {
  await page.click('#run-button');
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('app').dataset.run), null, { timeout: RUN_TIMEOUT_MS });
  return { state: await page.getAttribute('#app', 'data-run'), banner: await bannerText() };
}

/** The run's report and what the page shows of its metric. */
async function readRun() {
  return page.evaluate(() => {
    const r = window.quantmix.result.report;
    const stat = document.querySelector('#totals .stat[data-stat="score"]');
    return {
      sent: window.quantmix.options.scoreModule ?? null,
      metric: r.search?.metric, floatScore: r.search?.float_score, score: r.selected?.score, relBops: r.selected?.rel_bops,
      totals: document.getElementById('totals').dataset.metric,
      shown: stat ? Number(stat.dataset.value) : null,
      label: stat?.querySelector('.stat-label')?.textContent ?? '',
      value: stat?.querySelector('.stat-value')?.textContent ?? '',
      line: document.getElementById('metric-line')?.textContent ?? '',
    };
  });
}

/** Validates the export in ONNX Runtime Web; returns the validation's data attributes. */
async function validate() {
  await page.click('#validate-button');
  await page.waitForSelector('#validation, .validate-error', { timeout: RUN_TIMEOUT_MS });
  return page.evaluate(() => ({ ...document.getElementById('validation')?.dataset, err: document.querySelector('.validate-error')?.textContent ?? null,
    box: document.getElementById('validate-score')?.textContent ?? '' }));
}

try {
  await t.step('the sample picker: the Fashion-MNIST CNN stays the default, the text-line recogniser is offered', async () => {
    await page.goto(`${BASE}/`);
    await settled('fashion_cnn.onnx');
    const options = await page.$$eval('#sample-pick option', (els) => els.map((e) => [e.value, e.textContent]));
    t.deepEqual(options, [['fashion', 'Fashion-MNIST classifier (CNN)'], ['textline', 'Text-line recogniser (CTC)']], 'two samples in the picker');
    t.equal(await page.inputValue('#sample-pick'), 'fashion', 'the Fashion-MNIST CNN is picked');
    t.equal(await page.getAttribute('#sample-count', 'data-count'), '0', 'the quick start loads no samples by itself (as before)');
    t.equal(await page.inputValue('#set-score-module'), '', 'no score module');
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'sqnr', 'the metric is SQNR');
  });

  await t.step('a score module in the settings is the metric of the search and of the validation', async () => {
    await page.click('#sample-builtin');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '64');
    await smallSearch();
    await page.fill('#set-score-module', FIXTURE_PATH.slice(1));  // relative to the page
    await page.dispatchEvent('#set-score-module', 'change');
    t.equal(await page.getAttribute('#score-module-status', 'data-state'), 'ok', `the module is accepted (${await page.textContent('#score-module-status')})`);
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'score', 'the settings say the metric is the score');
    t.ok((await page.textContent('#metric-note')).includes(`score(outputs, sampleIndex) from ${FIXTURE_PATH.slice(1)} over the ${USED} samples used`),
      `naming the module (${await page.textContent('#metric-note')})`);
    const run = await quantize();
    t.equal(run.state, 'done', `the run completes (${run.banner || run.state})`);
    const r = await readRun();
    t.equal(r.sent, `${BASE}${FIXTURE_PATH}`, 'the module reached the JS API as an absolute same-origin URL');
    t.equal(r.metric, 'score', 'the core searched on the score (report search.metric)');
    t.ok(Math.abs(r.floatScore - FIXTURE_MEAN) < 1e-9, `the float model's score is the closed form ${FIXTURE_MEAN} (${r.floatScore})`);
    t.ok(Math.abs(r.score - FIXTURE_MEAN) < 1e-9, `so is the selection's (${r.score})`);
    t.equal(r.totals, 'score', 'the results say the score is the metric');
    t.equal(r.shown, r.score, 'the score leads the totals');
    t.ok(r.label.startsWith('Score') && /3\.6/.test(r.value), `shown as a score (${r.label}: ${r.value})`);
    t.ok(r.line.includes(FIXTURE_PATH.slice(1)), `the metric line names the module (${r.line})`);
    const v = await validate();
    t.equal(v.err, null, 'the validation ran');
    t.equal(Number(v.scored), USED, `the validation scored the ${USED} samples used`);
    t.ok(Math.abs(Number(v.floatScore) - FIXTURE_MEAN) < 1e-9 && Math.abs(Number(v.score) - FIXTURE_MEAN) < 1e-9,
      `ONNX Runtime's outputs scored by the same module, indices as in the run (${v.floatScore}, ${v.score})`);
    t.ok(appRequests.some((x) => x.path === FIXTURE_PATH), 'the module was fetched from the app\'s origin');
  });

  await t.step('an off-origin, data: or javascript: score module is refused in one line, and nothing runs', async () => {
    const results = await page.getAttribute('#app', 'data-results');
    for (const [value, re] of [
      ['https://evil.example/score.mjs', /^Score module: "https:\/\/evil\.example\/score\.mjs" is on another origin \(https:\/\/evil\.example\) — the app loads files from its own origin only \(http:\/\/127\.0\.0\.1:\d+\)$/],
      [`http://127.0.0.1:${site.address().port}${FIXTURE_PATH}`, /^Score module: .* is on another origin \(http:\/\/127\.0\.0\.1:\d+\)/],
      ['data:text/javascript,export const score = () => 1', /^Score module: .* uses data: — only files on this site/],
      ['javascript:alert(1)', /^Score module: .* uses javascript: — only files on this site/],
    ]) {
      await page.fill('#set-score-module', value);
      await page.dispatchEvent('#set-score-module', 'change');
      const status = await page.textContent('#score-module-status');
      t.ok(re.test(status) && !status.includes('\n'), `${value.slice(0, 30)}: one line (${status})`);
      t.equal(await page.getAttribute('#score-module-status', 'data-state'), 'error', 'said as an error beside the field');
      t.ok(await page.$eval('#set-score-module', (el) => el.classList.contains('is-invalid')), 'the field is marked');
      await page.click('#run-button');
      await page.waitForSelector('#banner:not([hidden])');
      const b = await bannerText();
      const where = await page.evaluate(() => document.getElementById('banner').closest('section')?.id);
      t.ok(b.startsWith('Check the settings') && b.includes('Score module:') && where === 'step-settings', `Quantize refuses it beside the settings (${b})`);
      await page.click('#banner-close');
    }
    t.equal(await page.getAttribute('#app', 'data-results'), results, 'nothing ran: the results are those of the last run');
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'sqnr', 'a refused module is not the metric');
    await page.waitForTimeout(300);
    t.deepEqual(offOrigin, [], 'no request left 127.0.0.1');
    console.log(`  screenshot ${await shot('samples-01-score-refused')}`);
    await page.fill('#set-score-module', '');
    await page.dispatchEvent('#set-score-module', 'change');
  });

  await t.step('score= in the page URL (an embed) sets the score module; an off-origin one is refused in one line', async () => {
    await page.goto(`${BASE}/?samples=bundled&score=${FIXTURE_PATH.slice(1)}`);
    await settled('fashion_cnn.onnx');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '64');
    t.equal(await page.inputValue('#set-score-module'), `${BASE}${FIXTURE_PATH}`, 'the field holds the module');
    t.equal(await page.getAttribute('#score-module-status', 'data-state'), 'ok', 'the module is accepted');
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'score', 'the metric is the score');
    t.ok(await page.isHidden('#param-problems'), 'no parameter message');
    await page.goto(`${BASE}/?score=${encodeURIComponent('https://evil.example/score.mjs')}`);
    await page.waitForFunction(() => !document.getElementById('param-problems').hidden);
    const lines = await page.$$eval('#param-problems li', (els) => els.map((e) => e.textContent));
    t.ok(lines.length === 1 && lines[0].startsWith('score: ') && lines[0].includes('another origin'), `one line naming score= (${lines.join(' | ')})`);
    t.equal(await page.inputValue('#set-score-module'), '', 'the field stays empty');
    await page.goto(`${BASE}/`);
    await settled('fashion_cnn.onnx');
  });

  await t.step('picking "Text-line recogniser (CTC)": its lines, a search on character accuracy, validated in ONNX Runtime', async () => {
    await page.selectOption('#sample-pick', 'textline');
    await page.click('#sample-button');
    await settled('textline_ctc.onnx');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '32' && document.getElementById('app').dataset.busy === 'false');
    t.equal(await page.inputValue('#set-score-module'), 'samples/textline_score.mjs', 'the sample\'s score module is set');
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'score', 'the metric is the sample\'s score');
    const note = await page.textContent('#metric-note');
    t.ok(note.includes('character accuracy of the greedy CTC decode on the sample\'s'), `the settings say character accuracy (${note})`);
    t.equal(await page.inputValue('#pp-preset'), 'gray', 'one grey channel: the gray preset (x/255, as the lines were made)');
    await smallSearch();
    const run = await quantize();
    t.equal(run.state, 'done', `the run completes (${run.banner || run.state})`);
    const r = await readRun();
    t.ok(r.sent?.endsWith('/samples/textline_score.mjs'), `the sample's module reached the core (${r.sent})`);
    t.equal(r.metric, 'score', 'the core searched on the score');
    // ONNX Runtime reads the first 8 calibration lines at 0.96-1.0 (textline_sample.test.mjs: 0.963 over all 32).
    t.ok(r.floatScore >= 0.85 && r.floatScore <= 1, `the float model's character accuracy on ${USED} lines (${r.floatScore})`);
    t.ok(r.score >= 0 && r.score <= 1 && r.relBops <= 0.75 + 1e-9, `the selection's character accuracy at ${r.relBops}x BOPs (${r.score})`);
    t.ok(r.label === 'Character accuracy (simulated)' && /^\d+\.\d%$/.test(r.value), `shown as a percentage (${r.label}: ${r.value})`);
    t.ok(Math.abs(r.shown - r.score) < 1e-12, 'the character accuracy leads the totals');
    t.ok(/character accuracy of the greedy CTC decode on the sample's 8 labelled lines \(samples\/textline_score\.mjs\)/.test(r.line), `the metric line (${r.line})`);
    const v = await validate();
    t.equal(v.err, null, 'the validation ran');
    t.equal(Number(v.scored), USED, `character accuracy of both models on the ${USED} lines in ONNX Runtime`);
    t.ok(Math.abs(Number(v.floatScore) - r.floatScore) <= 0.02, `ORT's float model reads them as quantmix's engine does (${v.floatScore} vs ${r.floatScore})`);
    t.ok(v.box.includes('Character accuracy (exported, ONNX Runtime)'), `the validation names it (${v.box})`);
    console.log(`  screenshot ${await shot('samples-02-textline')}`);
  });

  await t.step('learned rounding (issue 15): ticked, a W4A8 run shows its phase and the encodings carry the learned integers', async () => {
    await page.check('#set-learned-rounding');
    await page.selectOption('#set-mode', 'W4A8');
    const run = await quantize();
    t.equal(run.state, 'done', `the run completes (${run.banner || run.state})`);
    const seen = await page.evaluate(async () => ({
      sent: window.quantmix.options.weightRounding ?? null,
      phase: document.querySelector('#phases li[data-phase="ranges"] .phase-label')?.textContent ?? null,
      encodings: await window.quantmix.exportFiles().encodings?.text(),
    }));
    t.equal(seen.sent, 'learned', 'weightRounding reached the core');
    t.equal(seen.phase, 'Learned rounding', 'the phase is listed by its label');
    t.ok(/"learned_levels"/.test(seen.encodings ?? ''), 'the encodings carry learned integers');
    // Bias correction is on by default (nothing sent); unticked, it reaches the core as false.
    t.equal(await page.isChecked('#set-bias-correction'), true, 'bias correction is ticked by default');
    t.ok(/"bias_corrections"/.test(seen.encodings ?? ''), 'the encodings carry bias corrections');
    await page.uncheck('#set-bias-correction');
    const plain = await quantize();
    t.equal(plain.state, 'done', `a run without bias correction completes (${plain.banner || plain.state})`);
    const off = await page.evaluate(async () => ({
      sent: window.quantmix.options.biasCorrection ?? null,
      encodings: await window.quantmix.exportFiles().encodings?.text(),
    }));
    t.equal(off.sent, false, 'biasCorrection: false reached the core');
    t.ok(!/"bias_corrections"/.test(off.encodings ?? ''), 'and the encodings carry none');
    await page.check('#set-bias-correction');
    await page.uncheck('#set-learned-rounding');
    await page.selectOption('#set-mode', '');
  });

  await t.step('the text-line sample\'s score needs its lines: one removed is refused in one line', async () => {
    await page.click('#sample-previews figure .preview-remove');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '31');
    const status = await page.textContent('#score-module-status');
    t.ok(status.startsWith('Score module: samples/textline_score.mjs scores the sample\'s 32 lines in their order'), `said beside the field (${status})`);
    await page.click('#run-button');
    await page.waitForSelector('#banner:not([hidden])');
    t.ok((await bannerText()).includes('scores the sample\'s 32 lines'), 'Quantize refuses it');
    await page.click('#banner-close');
    await page.click('#sample-builtin');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '63');
    t.equal(await page.getAttribute('#score-module-status', 'data-state'), 'error', 'lines appended after a removal are not in order either');
    await page.click('#sample-clear');
    await page.click('#sample-builtin');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '32');
    t.equal(await page.getAttribute('#score-module-status', 'data-state'), 'ok', 'the sample images again: accepted');
    // Another model: the sample's module goes with the sample.
    await page.selectOption('#sample-pick', 'fashion');
    await page.click('#sample-button');
    await settled('fashion_cnn.onnx');
    t.equal(await page.inputValue('#set-score-module'), '', 'opening another model clears the sample\'s score module');
  });

  await t.step('sample=textline in the URL opens the text-line sample with its lines and metric', async () => {
    await page.goto(`${BASE}/?sample=textline&max-samples=${USED}`);
    await settled('textline_ctc.onnx');
    await page.waitForFunction(() => document.getElementById('sample-count').dataset.count === '32' && document.getElementById('app').dataset.busy === 'false');
    t.equal(await page.inputValue('#sample-pick'), 'textline', 'the picker says which');
    t.equal(await page.getAttribute('#metric-note', 'data-metric'), 'score', 'character accuracy is the metric');
    t.ok(await page.isHidden('#param-problems'), 'no parameter problem');
    await page.goto(`${BASE}/?sample=nope&autorun`);
    await page.waitForFunction(() => document.getElementById('app')?.dataset.state === 'idle' && !document.getElementById('param-problems').hidden);
    const lines = await page.$$eval('#param-problems li', (els) => els.map((e) => e.textContent));
    t.deepEqual(lines, ['sample: "nope" — expected one of fashion, textline (the bundled sample models)'], 'an unknown sample is one line');
    t.ok(await page.isVisible('#empty-state'), 'no model opened (not the default sample in its place)');
    t.ok(await page.isVisible('#autorun-blocked'), 'autorun did not start');
  });

  await t.step('clean console', async () => {
    t.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
  });
} finally {
  await context.close();
  front.close();
  site.close();
  await rm(userDataDir, { recursive: true, force: true });
}

process.exit(t.report());
