// The app's bundled sample models (web/app/sample_models.js): their files, the embed parameter that
// picks one (sample=), and the score-module metric on the page (report search.metric "score":
// results totals and the validation). The Chromium side is tests/browser/samples_score.mjs; the
// text-line sample's lines are checked against ONNX Runtime in textline_sample.test.mjs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEmbedParams } from '../../web/app/embed_params.js';
import { normalizeQuantReport } from '../../web/app/results.js';
import { DEFAULT_SAMPLE, SAMPLE_MODELS, sampleModel, sampleModelByFile, scoreMetric } from '../../web/app/sample_models.js';
import { renderTotals } from '../../web/app/views/results_view.js';
import { renderValidation } from '../../web/app/views/validation.js';
import { createDocument } from './fake_dom.mjs';

const WEB = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'web');
const PAGE = 'http://127.0.0.1:8080/quantmix/index.html';
const APP_DIR = 'http://127.0.0.1:8080/quantmix/';
const PY = '/usr/bin/python3';

test('sample models: every file is in web/, the default is the Fashion-MNIST CNN, ids are unique', () => {
  assert.equal(DEFAULT_SAMPLE, 'fashion');
  assert.equal(sampleModel(DEFAULT_SAMPLE).model, 'samples/fashion_cnn.onnx', 'the quick start opens the same model as before');
  assert.equal(sampleModel(DEFAULT_SAMPLE).autoSamples, false, 'and loads no samples by itself');
  assert.equal(new Set(SAMPLE_MODELS.map((m) => m.id)).size, SAMPLE_MODELS.length);
  for (const m of SAMPLE_MODELS) {
    for (const f of [m.model, ...m.calib, ...(m.scoreModule ? [m.scoreModule] : [])]) assert.ok(existsSync(join(WEB, f)), `${m.id}: ${f}`);
    assert.equal(sampleModelByFile(m.model.split('/').pop()), m);
  }
  const ctc = sampleModel('textline');
  assert.equal(ctc.title, 'Text-line recogniser (CTC)');
  assert.equal(ctc.model, 'samples/textline_ctc.onnx');
  assert.equal(ctc.scoreModule, 'samples/textline_score.mjs');
  const lines = readFileSync(join(WEB, 'samples', 'textline_calib', 'lines.txt'), 'utf8').split('\n');
  lines.pop();
  assert.equal(ctc.calib.length, lines.length, 'one text per calibration image');
  const charset = new Set(readFileSync(join(WEB, 'samples', 'textline_charset.txt'), 'utf8').split('\n').filter((c) => c.length === 1));
  for (const [i, l] of lines.entries()) assert.ok(l.length >= 1 && [...l].every((c) => charset.has(c)), `line ${i} ${JSON.stringify(l)} is in the charset`);
  assert.equal(sampleModel('nope'), null);
});

test('sample models: the text-line PNGs hold the pixels of textline_calib.npz (what quantmix quantize --calib takes)', {
  skip: !existsSync(PY) && 'no python',
}, () => {
  const script = `
import sys, numpy as np
from PIL import Image
z = np.load(sys.argv[1] + '/textline_calib.npz')['image']
for i in range(z.shape[0]):
    a = np.asarray(Image.open(f'{sys.argv[1]}/textline_calib/{i:03d}.png'))
    assert a.shape == z.shape[2:] and np.array_equal(a.astype(np.float32) / 255, z[i, 0]), i
print(z.shape[0])`;
  let out;
  try {
    out = execFileSync(PY, ['-c', script, join(WEB, 'samples')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (/No module named/.test(String(e.stderr))) return;  // numpy/PIL missing: nothing to compare with
    throw e;
  }
  assert.equal(out.trim(), '32');
});

test('sample models: the metric named on the page for a score module', () => {
  const ctc = sampleModel('textline');
  const own = scoreMetric(`${APP_DIR}samples/textline_score.mjs`, APP_DIR, ctc);
  assert.equal(own.label, 'Character accuracy');
  assert.equal(own.percent, true);
  assert.equal(own.path, 'samples/textline_score.mjs');
  assert.equal(own.sample, 'textline');
  assert.match(own.describe(32), /character accuracy of the greedy CTC decode on the sample's 32 labelled lines/);
  const other = scoreMetric(`${APP_DIR}tests/my_score.mjs`, APP_DIR, ctc);
  assert.deepEqual([other.label, other.percent, other.path, other.sample], ['Score', false, 'tests/my_score.mjs', null]);
  assert.match(other.describe(8), /score\(outputs, sampleIndex\) from tests\/my_score\.mjs over the 8 samples used/);
  assert.equal(scoreMetric('http://127.0.0.1:8080/elsewhere/s.mjs', APP_DIR, null).path, '/elsewhere/s.mjs');
  assert.equal(scoreMetric(null, APP_DIR, ctc), null);
});

test('embed params: sample= picks a bundled sample; unknown ids and sample= with model= are one line', () => {
  const parse = (q) => parseEmbedParams(q, PAGE);
  assert.equal(parse('?sample=textline&autorun').config.sample, 'textline');
  assert.deepEqual(parse('?sample=textline&autorun&target=bops=0.75').problems, []);
  assert.equal(parse('').config.sample, null);
  const bad = parse('?sample=<b>x</b>&autorun');
  assert.equal(bad.problems.length, 1);
  assert.match(bad.problems[0], /^sample: "<b>x<\/b>" — expected one of fashion, textline/);
  assert.ok(bad.config.refused.has('sample'));
  assert.equal(bad.config.sample, null);
  const both = parse('?sample=textline&model=m.onnx');
  assert.deepEqual(both.problems, ['sample: give either model= (your model) or sample= (a bundled one), not both']);
  // An off-origin file is refused in words that fit the settings' score module as well as an embed.
  assert.match(parse('?model=https://evil.example/m.onnx').problems[0], /is on another origin \(https:\/\/evil\.example\) — the app loads files from its own origin only \(http:\/\/127\.0\.0\.1:8080\)$/);
});

/** A report.json of a search with a score module (search.metric "score", points' score). */
function scoreReport() {
  const point = (relBops, sqnr, score) => ({ rel_bops: relBops, size_bytes: 1000 * relBops, sqnr_db: sqnr, score, measured: true });
  return {
    candidates: ['W4A8', 'W8A8', 'W8A16'],
    groups: [{ id: 0, layers: ['conv'], activations: [], candidates: ['W4A8', 'W8A8'], sensitivity_db: { W4A8: 20, W8A8: 35 } }],
    baselines: [{ config: 'W8A8', ...point(1, 24.2, 0.953) }, { config: 'W4A8', ...point(0.5, 15.4, 0.9) }],
    pareto: [{ index: 0, config: ['W8A8'], ...point(1, 24.2, 0.953) }, { index: 1, config: ['W4A8'], ...point(0.5, 15.4, 0.9) }],
    search: { target: 'bops=0.75', metric: 'score', float_score: 0.9632 },
    selected: { config: 'mixed', group_config: ['W8A8'], ...point(0.73, 18.7, 0.9375), target_met: true, layers: [] },
    samples: 32,
  };
}

test('results: a search scored by a score module shows its mean first, named as the sample says (or "Score")', () => {
  const r = normalizeQuantReport(scoreReport());
  assert.equal(r.metric, 'score');
  assert.equal(r.floatScore, 0.9632);
  assert.equal(r.selected.score, 0.9375);
  assert.equal(r.pareto[1].score, 0.9);
  const doc = createDocument();
  const metric = scoreMetric(`${APP_DIR}samples/textline_score.mjs`, APP_DIR, sampleModel('textline'));
  const totals = renderTotals(doc, r, r.selected, metric);
  assert.equal(totals.dataset.metric, 'score');
  const statOf = (el) => el.byClass('stat').find((x) => x.dataset.stat === 'score');
  const stat = statOf(totals);
  assert.ok(stat, 'a score stat');
  assert.equal(Number(stat.dataset.value), 0.9375);
  assert.match(stat.textContent, /Character accuracy \(simulated\)93\.8%float model: 96\.3% · 32 samples/);
  assert.match(totals.byId('metric-line').textContent,
    /Search metric: character accuracy of the greedy CTC decode on the sample's 32 labelled lines \(samples\/textline_score\.mjs\)/);
  // Another module: "Score", the number itself.
  const generic = renderTotals(doc, r, r.selected, scoreMetric(`${APP_DIR}my.mjs`, APP_DIR, null));
  assert.match(statOf(generic).textContent, /Score \(simulated\)0\.9375float model: 0\.9632/);
  // A homogeneous run has no search section: selected carries score and float_score.
  const h = normalizeQuantReport({ baselines: [], pareto: [], selected: { config: 'W8A8', rel_bops: 1, sqnr_db: 24, score: 0.95, float_score: 0.96 } });
  assert.deepEqual([h.metric, h.floatScore], ['score', 0.96]);
  // Reports without a score keep their metric.
  assert.equal(normalizeQuantReport({ search: { metric: 'top1' }, selected: {} }).metric, 'top1');
  assert.equal(normalizeQuantReport({ search: { metric: 'sqnr' }, selected: {} }).metric, 'sqnr');
  assert.equal(normalizeQuantReport({ selected: { sqnr_db: 3 } }).metric, 'sqnr');
});

test('validation: the score on ONNX Runtime\'s outputs leads, beside the float model\'s and the simulated one', () => {
  const doc = createDocument();
  const v = { sqnrDb: 18, kind: 'sequence', agreement: 0.8, stepAgreement: 0.97, decodedAgreement: 0.85, rows: 32, samples: 32, ms: 900,
    scored: 32, floatScore: 0.9632, exportScore: 0.9401 };
  const metric = scoreMetric(`${APP_DIR}samples/textline_score.mjs`, APP_DIR, sampleModel('textline'));
  const view = renderValidation(doc, v, 18.7, { metric, simulatedScore: 0.9375 });
  const box = view.byId('validate-score');
  assert.ok(box);
  assert.match(box.textContent, /Character accuracy \(exported, ONNX Runtime\)94\.0%float model 96\.3% · simulated 93\.8% · 32 samples/);
  assert.equal(Number(view.byId('validation').dataset.score), 0.9401);
  assert.equal(Number(view.byId('validation').dataset.scored), 32);
  // Without a score nothing changes.
  assert.equal(renderValidation(doc, { ...v, scored: 0, floatScore: null, exportScore: null }, 18.7).byId('validate-score'), null);
  // Most sequences differ from the float model's at some step: the warning stays, unless the
  // score says the export reads at least as well as the float model.
  const differs = { ...v, agreement: 0.375 };
  assert.ok(renderValidation(doc, differs, 18.7, { metric }).byId('validate-warning'), 'export 94.0% < float 96.3%: warned');
  assert.equal(renderValidation(doc, { ...differs, exportScore: 0.97 }, 18.7, { metric }).byId('validate-warning'), null, 'export 97.0%: no alarm');
  assert.ok(renderValidation(doc, { ...differs, scored: 0, floatScore: null, exportScore: null }, 18.7).byId('validate-warning'), 'no score: warned');
});
