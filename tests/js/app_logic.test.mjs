// Pure modules of the quantization app: preprocessing, .npy encoding, report -> views data,
// output metrics, progress/ETA, and the results views on a fake document. Oracles are
// independent of the code under test: numpy (reads our .npy, writes one we decode), closed
// forms for the metrics and the pixel transform.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { demoReport } from '../../web/api/demo_engine.js';
import { argmax, conformShape, ctcDecode, outputKind, SqnrAccumulator } from '../../web/app/metrics.js';
import { renderValidation } from '../../web/app/views/validation.js';
import { decodeNpy, encodeNpy } from '../../web/api/npy.js';
import { applyPreset, defaultSettings, imageGeometry, parseScale, parseTriple, pixelsToTensor, PreprocessError,
  padRect, tensorShape, tensorToPixels, toCliSpec, validateSettings } from '../../web/app/preprocess.js';
import { formatEta, phaseWeights, PHASES, ProgressTracker } from '../../web/api/quantmix.js';
import { composeOverride, layerRows, nearestPoint, niceTicks, normalizeQuantReport, paretoGeometry, parseCandidate,
  parseCandidateList, stripSegments, targetRange, targetSpec } from '../../web/app/results.js';
import { renderResults } from '../../web/app/views/results_view.js';
import { renderSamplePreviews } from '../../web/app/views/samples.js';
import { sampleShapeProblem } from '../../web/app/input_shapes.js';
import { createDocument } from './fake_dom.mjs';

const PY = '/usr/bin/python3';
const TOL = 1e-6;  // float32 round-trip of values like 0.1

test('preprocess: geometry and defaults from the input shape', () => {
  assert.deepEqual(imageGeometry([1, 1, 28, 28]), { layout: 'nchw', channels: 1, height: 28, width: 28, batch: 1 });
  assert.deepEqual(imageGeometry([1, 224, 224, 3]), { layout: 'nhwc', channels: 3, height: 224, width: 224, batch: 1 });
  assert.equal(imageGeometry([1, 10]), null);
  const gray = defaultSettings({ shape: [1, 1, 28, 28] });
  assert.equal(gray.preset, 'gray');
  assert.equal(gray.height, 28);
  const rgb = defaultSettings({ shape: ['N', 3, 'H', 'W'] });
  assert.equal(rgb.preset, 'imagenet');
  assert.equal(rgb.height, 224, 'dynamic H falls back to 224');
  assert.deepEqual(applyPreset(rgb, 'pm1').mean, [0.5, 0.5, 0.5]);
  assert.equal(toCliSpec(rgb), 'imagenet,size=224x224');
});

test('preprocess: pixels -> tensor matches the closed form (imagenet, nchw and nhwc, gray)', () => {
  const rgba = new Uint8ClampedArray([255, 0, 51, 255, 0, 128, 255, 255]);  // 2x1 image
  const s = { ...defaultSettings({ shape: [1, 3, 1, 2] }) };
  const t = pixelsToTensor(rgba, s);
  const want = (v, c) => (v / 255 - [0.485, 0.456, 0.406][c]) / [0.229, 0.224, 0.225][c];
  const expected = [want(255, 0), want(0, 0), want(0, 1), want(128, 1), want(51, 2), want(255, 2)];
  expected.forEach((v, i) => assert.ok(Math.abs(t[i] - v) < 1e-5, `nchw[${i}]`));
  const nhwc = pixelsToTensor(rgba, { ...s, layout: 'nhwc' });
  assert.ok(Math.abs(nhwc[1] - want(0, 1)) < 1e-5 && Math.abs(nhwc[3] - want(0, 0)) < 1e-5);
  const bgr = pixelsToTensor(rgba, { ...s, order: 'bgr' });
  assert.ok(Math.abs(bgr[0] - (51 / 255 - 0.485) / 0.229) < 1e-5, 'bgr puts blue first');
  const g = pixelsToTensor(rgba, defaultSettings({ shape: [1, 1, 1, 2] }));
  assert.ok(Math.abs(g[0] - (0.299 * 255 + 0.114 * 51) / 255) < 1e-5, 'BT.601 luma');
  assert.deepEqual(tensorShape(s), [1, 3, 1, 2]);
  const back = tensorToPixels(g, { width: 2, height: 1, channels: 1, layout: 'nchw', order: 'rgb' });
  assert.equal(back.length, 8);
  assert.throws(() => pixelsToTensor(new Uint8ClampedArray(4), s), PreprocessError);
});

test('preprocess: form fields are validated with readable messages', () => {
  assert.equal(parseScale('1/255'), 1 / 255);
  assert.equal(parseScale('0.5'), 0.5);
  assert.throws(() => parseScale('abc'), /Scale "abc"/);
  assert.deepEqual(parseTriple('0.5', 'Mean'), [0.5, 0.5, 0.5]);
  assert.deepEqual(parseTriple('1:2:3', 'Mean'), [1, 2, 3]);
  assert.throws(() => parseTriple('1:2', 'Mean'), /Mean "1:2"/);
  const s = defaultSettings({ shape: [1, 3, 32, 32] });
  assert.throws(() => validateSettings({ ...s, height: 0 }), /Image height "0"/);
  assert.throws(() => validateSettings({ ...s, std: [1, 0, 1] }), /Std/);
});

test('npy: numpy reads what encodeNpy writes, and decodeNpy reads what numpy writes', { skip: !existsSync(PY) && 'no python' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-npy-'));
  const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.1 - 1);
  writeFileSync(join(dir, 'a.npy'), encodeNpy(data, [1, 2, 3, 4]));
  const out = execFileSync(PY, ['-c', `
import numpy as np, sys
a = np.load(sys.argv[1]); print(a.dtype, a.shape, float(a.sum()))
np.save(sys.argv[2], (np.arange(6, dtype=np.float64).reshape(2, 3) / 4))
np.save(sys.argv[3], np.arange(5, dtype=np.uint8))`, join(dir, 'a.npy'), join(dir, 'b.npy'), join(dir, 'c.npy')]).toString().trim();
  const [dtype, ...rest] = out.split(' ');
  assert.equal(dtype, 'float32');
  assert.match(rest.join(' '), /^\(1, 2, 3, 4\) /);
  assert.ok(Math.abs(Number(out.split(' ').pop()) - data.reduce((a, b) => a + b, 0)) < 1e-4);
  const b = decodeNpy(readFileSync(join(dir, 'b.npy')), 'b.npy');
  assert.deepEqual(b.shape, [2, 3]);
  assert.deepEqual([...b.data], [0, 0.25, 0.5, 0.75, 1, 1.25]);
  assert.deepEqual([...decodeNpy(readFileSync(join(dir, 'c.npy'))).data], [0, 1, 2, 3, 4]);
  assert.throws(() => decodeNpy(new Uint8Array(20), 'x.npy'), /x\.npy: not a \.npy file/);
  assert.throws(() => decodeNpy(readFileSync(join(dir, 'b.npy')).subarray(0, 140), 'cut.npy'), /cut\.npy: truncated/);
});

test('results: candidates, targets, ticks', () => {
  assert.deepEqual(parseCandidate('w4a8'), { w: 4, a: 8, block: 0 });
  assert.deepEqual(parseCandidate('W4b64A8'), { w: 4, a: 8, block: 64 });
  assert.deepEqual(parseCandidateList('w4b64a8, W8A8'), ['W4b64A8', 'W8A8']);
  assert.throws(() => parseCandidateList('W4b48A8'), /Candidate "W4b48A8"/);
  assert.equal(parseCandidate('W4'), null);
  assert.deepEqual(parseCandidateList('W4A8, w8a8 W8A8'), ['W4A8', 'W8A8']);
  assert.throws(() => parseCandidateList('W3A8'), /Candidate "W3A8"/);
  assert.throws(() => parseCandidateList(''), /at least one/);
  assert.equal(targetSpec('bops', '0.5'), 'bops=0.5');
  assert.throws(() => targetSpec('bops', 'x'), /Target bops: "x"/);
  assert.throws(() => targetSpec('sqnr', ''), /Target sqnr/);
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const t = niceTicks(12.3, 47.9, 5);
  assert.ok(t[0] <= 12.3 && t[t.length - 1] >= 47.9);
});

const INSPECT = {
  file: 'm.onnx', macs: 3000,
  layers: [{ name: 'conv1', op: 'Conv', weight_shape: [8, 3, 3, 3], macs: 2000 },
    { name: 'fc', op: 'Gemm', weight_shape: [10, 8], macs: 1000 }],
};

test('results: a report.json-shaped report becomes chart, table and strip data', () => {
  const raw = demoReport(INSPECT, { candidates: ['W4A8', 'W8A8', 'W8A16'], target: 'bops=0.7' });
  assert.equal(raw.demo, true, 'demo reports are flagged');
  const r = normalizeQuantReport(JSON.stringify(raw));
  assert.deepEqual(r.candidates, ['W8A16', 'W8A8', 'W4A8']);
  assert.equal(r.baselines.find((b) => b.config === 'W8A8').relBops, 1, 'W8A8 everywhere is 1.0 by definition');
  assert.equal(r.baselines.find((b) => b.config === 'W4A8').relBops, 0.5);
  assert.ok(r.pareto.length >= 3);
  for (let i = 1; i < r.pareto.length; ++i) assert.ok(r.pareto[i].relBops < r.pareto[i - 1].relBops, 'cost falls along the front');
  assert.ok(r.selected.relBops <= 0.7 + 1e-9, 'the selection meets the target');
  const rows = layerRows(r);
  assert.deepEqual(rows.map((x) => x.name), ['conv1', 'fc']);
  assert.ok(Math.abs(rows[0].share - 2 / 3) < 1e-12);
  assert.equal(Object.keys(rows[0].sensitivity).length, 3);
  const segs = stripSegments(rows, 1000, 2);
  assert.ok(Math.abs(segs[1].x + segs[1].w - 1000) < 1e-9, 'the strip spans the width');
  assert.ok(segs[0].w > segs[1].w, 'wider for more MACs');
  const g = paretoGeometry(r);
  for (const p of [...g.front, ...g.baselines]) {
    assert.ok(p.cx >= g.pad.l - 1e-9 && p.cx <= g.width - g.pad.r + 1e-9 && p.cy >= g.pad.t - 1e-9 && p.cy <= g.height - g.pad.b + 1e-9, 'inside the plot');
  }
  assert.equal(nearestPoint(g.front, g.front[1].cx + 2, g.front[1].cy - 2).index, g.front[1].index);
  assert.equal(nearestPoint(g.front, -100, -100), null);
});

test('views/results: renders totals, an SVG front with clickable points, the strip and the table', () => {
  const doc = createDocument();
  const r = normalizeQuantReport(demoReport(INSPECT, { target: 'bops=0.7' }));
  const clicked = [];
  const overrides = [];
  const parts = renderResults(doc, r, { selectedIndex: 1, onSelectPoint: (i) => clicked.push(i),
    onOverride: (n, c) => overrides.push([n, c]) });
  const circles = parts.pareto.byTag('circle').filter((c) => !c.classList.contains('pt-override'));
  assert.equal(circles.length, r.pareto.length);
  assert.equal(parts.pareto.byClass('pt-selected').length, 1);
  assert.equal(parts.pareto.byClass('baseline').length, r.baselines.length);
  circles[2].listeners.click[0]();
  assert.deepEqual(clicked, [Number(circles[2].dataset.index)]);
  assert.equal(parts.strip.byTag('rect').length, 2);
  const selects = parts.table.byTag('select');
  assert.equal(selects.length, 2);
  selects[1].value = 'W8A8';
  selects[1].listeners.change[0]();
  assert.deepEqual(overrides, [['fc', 'W8A8']]);
  assert.equal(parts.totals.byClass('stat').length, 3);
});

test('results: a layer the calibration samples never ran (report layers_not_run) is marked in the table', () => {
  const raw = demoReport(INSPECT, { target: 'bops=0.7' });
  const plain = normalizeQuantReport(raw);
  assert.deepEqual(layerRows(plain).map((x) => x.ran), [true, true]);
  const r = normalizeQuantReport({ ...raw, layers_not_run: ['fc'] });
  assert.deepEqual(layerRows(r).map((x) => x.ran), [true, false]);
  const parts = renderResults(createDocument(), r, { selectedIndex: 1 });
  const marks = parts.table.byClass('not-run');
  assert.equal(marks.length, 1);
  assert.match(marks[0].textContent, /not run on your samples/);
  assert.equal(normalizeQuantReport({ ...raw, layers_not_run: 'fc' }).notRun.size, 0, 'a malformed entry is ignored');
});

test('metrics: SQNR and top-1 agreement against closed forms', () => {
  const acc = new SqnrAccumulator();
  // signal energy 1+4+9+16 = 30, noise 0.01*4 = 0.04 -> 10 log10(750)
  acc.add({ y: Float32Array.from([1, 2, 3, 4]) }, { y: Float32Array.from([1.1, 2.1, 2.9, 4.1]) }, 'y', 2);
  const r = acc.result();
  assert.ok(Math.abs(r.sqnrDb - 10 * Math.log10(30 / 0.04)) < 1e-3);
  assert.equal(r.top1Agreement, 1);
  assert.equal(r.rows, 2);
  const same = new SqnrAccumulator();
  same.add({ y: Float32Array.from([1, 2]) }, { y: Float32Array.from([1, 2]) });
  assert.equal(same.result().sqnrDb, Infinity);
  const zeros = new SqnrAccumulator();  // all-zero reference and output: undefined, not Infinity
  zeros.add({ y: new Float32Array(3) }, { y: new Float32Array(3) });
  assert.ok(Number.isNaN(zeros.result().sqnrDb));
  const two = new SqnrAccumulator();  // two outputs: NSRs averaged (1/100 and 1/10000)
  two.add({ a: Float32Array.from([10]), b: Float32Array.from([100]) }, { a: Float32Array.from([11]), b: Float32Array.from([101]) });
  assert.ok(Math.abs(two.result().sqnrDb - -10 * Math.log10((0.01 + 0.0001) / 2)) < 1e-6);
  assert.equal(argmax(Float32Array.from([0, 5, 2, 9, 1]), 0, 3), 1);
  assert.deepEqual(conformShape([1, 28, 28], 4), [1, 1, 28, 28]);
  assert.throws(() => conformShape([28], 4), /rank 4/);
  assert.throws(() => acc.add({ y: new Float32Array(2) }, { y: new Float32Array(3) }), /output 'y'/);
});

test('progress: fractions and ETA per phase', () => {
  let now = 0;
  const t = new ProgressTracker(() => now);
  now = 1000;
  let p = t.update('calibration', 0, 10);
  assert.equal(p.etaSeconds, null);
  now = 3000;
  p = t.update('calibration', 4, 10);
  assert.equal(p.fraction, 0.4);
  assert.ok(Math.abs(p.etaSeconds - 3) < TOL, 'elapsed 2 s for 4 steps -> 3 s for 6 more');
  now = 4000;
  p = t.update('phase1', 1, 4);
  assert.equal(p.label, 'Sensitivity');
  assert.equal(p.etaSeconds, 0 * 3, 'a new phase restarts its clock');
  assert.equal(formatEta(65), '1 min 05 s');
  assert.equal(formatEta(null), '');
});

test('results: a front point given per group (config[i] = candidate of group i) gets per-layer bits', () => {
  const r = normalizeQuantReport({
    candidates: ['W8A8', 'W4A8'],
    groups: [{ id: 0, layers: ['b'], candidates: ['W8A8', 'W4A8'] }, { id: 1, layers: ['a'], candidates: ['W8A8'] }],
    pareto: [{ rel_bops: 0.8, size_bytes: 10, sqnr_db: 30, config: ['W4A8', 'W8A8'] }],
    selected: { rel_bops: 1, size_bytes: 20, sqnr_db: 40, layers: [
      { name: 'a', op: 'Conv', w_bits: 8, a_bits: 8, macs: 5 }, { name: 'b', op: 'Gemm', w_bits: 8, a_bits: 8, macs: 7 }] },
  });
  assert.deepEqual(r.pareto[0].layers.map((l) => [l.name, l.op, l.wBits, l.aBits, l.macs]),
    [['a', 'Conv', 8, 8, 5], ['b', 'Gemm', 4, 8, 7]], 'network order, bits from the group');
});

test('results: an overridden configuration (report.final) is what the page shows', () => {
  const layers = [{ name: 'a', op: 'Conv', w_bits: 8, a_bits: 8, macs: 5 }];
  const r = normalizeQuantReport({ selected: { rel_bops: 0.5, size_bytes: 1, sqnr_db: 30, layers },
    final: { rel_bops: 1, size_bytes: 2, sqnr_db: 40, layers: [{ ...layers[0], a_bits: 16 }] } });
  assert.equal(r.selected.relBops, 1);
  assert.equal(r.selected.layers[0].aBits, 16);
  assert.equal(r.searchSelected.relBops, 0.5);
});

// ---- the workspace's interactive results (ws_contract.md) ----

/** A report as the workspace gives it: three groups, a front with config per group. */
function wsReport() {
  const layers = [{ name: 'a', op: 'Conv', group: 0, w_bits: 8, a_bits: 8, macs: 4 },
    { name: 'b', op: 'Conv', group: 1, w_bits: 8, a_bits: 8, macs: 2 }, { name: 'c', op: 'Gemm', group: 2, w_bits: 8, a_bits: 8, macs: 2 }];
  return {
    candidates: ['W8A16', 'W8A8', 'W4A8'],
    groups: ['a', 'b', 'c'].map((l, id) => ({ id, layers: [l], candidates: ['W8A16', 'W8A8', 'W4A8'] })),
    baselines: [{ config: 'W8A8', rel_bops: 1, size_bytes: 100, sqnr_db: 40 }, { config: 'W4A8', rel_bops: 0.5, size_bytes: 50, sqnr_db: 20 }],
    pareto: [
      { index: 0, rel_bops: 1, size_bytes: 100, sqnr_db: 40, measured: true, dominated: false, predicted_sqnr_db: 40.5, config: ['W8A8', 'W8A8', 'W8A8'] },
      { index: 1, rel_bops: 0.8, size_bytes: 80, sqnr_db: null, measured: false, dominated: false, predicted_sqnr_db: 36, config: ['W4A8', 'W8A8', 'W8A8'] },
      { index: 2, rel_bops: 0.7, size_bytes: 75, sqnr_db: 30, measured: true, dominated: true, predicted_sqnr_db: 31, config: ['W8A8', 'W4A8', 'W4A8'] },
      { index: 3, rel_bops: 0.6, size_bytes: 60, sqnr_db: 33, measured: true, dominated: false, predicted_sqnr_db: 32, config: ['W4A8', 'W4A8', 'W8A8'] },
    ],
    target: 'bops=0.9',
    selected: { index: 1, rel_bops: 0.8, size_bytes: 80, sqnr_db: 35.2, group_config: ['W4A8', 'W8A8', 'W8A8'], layers },
  };
}

test('results: overrides compose with the point shown — a point, then two layers, keeps all three', () => {
  const raw = wsReport();
  // Nothing evaluated yet: the configuration shown is the search's pick (or a final).
  assert.deepEqual(composeOverride(raw, null, { b: 'W8A16' }), { config: ['W4A8', 'W8A8', 'W8A8'], layerBits: { b: 'W8A16' } });
  assert.deepEqual(composeOverride({ ...raw, final: { group_config: ['W8A8', 'W8A8', 'W4A8'] } }, null, {}),
    { config: ['W8A8', 'W8A8', 'W4A8'], layerBits: {} });
  // A clicked point (config), then one override, then another: the point's bits and both stay.
  const point = raw.pareto[3].config;
  let current = { config: point, layerBits: {} };
  current = composeOverride(raw, current, { a: 'W8A16' });
  assert.deepEqual(current, { config: point, layerBits: { a: 'W8A16' } });
  current = composeOverride(raw, current, { c: 'W4A8' });
  assert.deepEqual(current, { config: point, layerBits: { a: 'W8A16', c: 'W4A8' } }, 'the second override keeps the first and the point');
  // Back to the configuration's own bits ('search' in the table): only that layer's override goes.
  assert.deepEqual(composeOverride(raw, current, { a: null }), { config: point, layerBits: { c: 'W4A8' } });
  assert.deepEqual(composeOverride(raw, current, { a: '' }).layerBits, { c: 'W4A8' });
  // The search's pick with overrides (no config given): they go on top of its group_config.
  assert.deepEqual(composeOverride(raw, { config: null, layerBits: { a: 'W4A8' } }, { b: 'W4A8' }),
    { config: ['W4A8', 'W8A8', 'W8A8'], layerBits: { a: 'W4A8', b: 'W4A8' } });
  // Homogeneous bits (no groups' config): layer bits alone.
  assert.deepEqual(composeOverride({ selected: { config: 'W8A8' } }, { config: null, layerBits: {} }, { a: 'W4A8' }),
    { config: null, layerBits: { a: 'W4A8' } });
  assert.notEqual(composeOverride(raw, current, {}).config, point, 'a copy, not the array given');
});

test('results: the chart draws the non-dominated points as the front, dominated ones apart, predicted ones at the prediction', () => {
  const r = normalizeQuantReport(wsReport());
  assert.deepEqual(r.pareto.map((p) => [p.measured, p.dominated, p.chartSqnrDb]),
    [[true, false, 40], [false, false, 36], [true, true, 30], [true, false, 33]]);
  assert.deepEqual(r.pareto[1].groupConfig, ['W4A8', 'W8A8', 'W8A8'], 'each point keeps its config per group');
  assert.deepEqual(r.selected.groupConfig, ['W4A8', 'W8A8', 'W8A8']);
  const g = paretoGeometry(r);
  assert.deepEqual(g.front.map((p) => p.index), [3, 1, 0], 'the line: non-dominated, by cost');
  assert.deepEqual(g.path.map((p) => p.index), [2]);
  assert.ok(Math.abs(g.front[1].cy - g.front.find((p) => p.index === 1).cy) < 1e-9);
  // Reports without the flags (older cores): every point with an SQNR is measured and on the front.
  const old = normalizeQuantReport({ pareto: [{ rel_bops: 1, sqnr_db: 30, config: ['W8A8'] }, { rel_bops: 0.5, sqnr_db: null }] });
  assert.deepEqual(old.pareto.map((p) => [p.measured, p.dominated]), [[true, false], [false, false]]);
  assert.equal(paretoGeometry(old).front.length, 1, 'a point with neither SQNR nor prediction is not drawn');

  const doc = createDocument();
  const parts = renderResults(doc, r, { selectedIndex: 1 });
  const circle = (i) => parts.pareto.findAll((e) => e.tagName === 'CIRCLE' && e.dataset.index === String(i))[0];
  assert.ok(circle(1).classList.contains('pt-predicted') && circle(1).classList.contains('pt-front'));
  assert.ok(circle(2).classList.contains('pt-path') && !circle(2).classList.contains('pt-front'));
  assert.ok(circle(0).classList.contains('pt-measured'));
  assert.equal(parts.pareto.byClass('pt-override').length, 1, 'a predicted point chosen: its measured value is drawn too');
  const legend = parts.pareto.byId('pareto-legend').textContent;
  for (const words of ['Pareto front', 'dominated', 'measured', 'predicted']) assert.ok(legend.includes(words), `legend: ${words}`);
  const line = parts.pareto.byClass('front-line')[0].getAttribute('d');
  assert.equal(line.split(/[ML]/).filter(Boolean).length, 3, 'the line joins the three front points only');
});

test('results: the target slider spans the front, per kind, and starts at the shown configuration', () => {
  const r = normalizeQuantReport(wsReport());
  const bops = targetRange(r, 'bops');
  assert.deepEqual([bops.min, bops.max, bops.step, bops.decimals], [0.6, 1, 0.01, 2]);
  assert.equal(bops.current, 0.8);
  const size = targetRange(r, 'size');  // relative to 8-bit weights: the W8A8 baseline's 100 B
  assert.deepEqual([size.min, size.max], [0.6, 1]);
  assert.equal(size.current, 0.8);
  const sqnr = targetRange(r, 'sqnr');
  assert.deepEqual([sqnr.min, sqnr.max, sqnr.decimals], [30, 40, 1]);
  assert.equal(sqnr.current, 35.2, 'the shown SQNR, rounded down so the target still holds');
  const drop = targetRange(r, 'sqnr-drop');  // below the best baseline's 40 dB
  assert.deepEqual([drop.min, drop.max], [0, 10]);
  assert.equal(drop.current, 4.8);
  for (const kind of ['bops', 'size', 'sqnr', 'sqnr-drop']) {
    const t = targetRange(r, kind);
    assert.doesNotThrow(() => targetSpec(kind, String(t.min)), `${kind} min is a valid target`);
    assert.doesNotThrow(() => targetSpec(kind, String(t.max)), `${kind} max is a valid target`);
  }
  assert.equal(targetRange(normalizeQuantReport({ pareto: [] }), 'bops'), null, 'no front, no slider');
  // A front at one cost (the embedded labelled demo: top-1 equal along the front, every point
  // but the cheapest dominated): the bops slider spanned 0.49999 to 0.5, moving nothing.
  const flat = normalizeQuantReport({ baselines: [], pareto: [0, 1].map((i) => ({ index: i, rel_bops: 0.5, size_bytes: 50,
    sqnr_db: 20 + i, measured: true, dominated: i === 0, config: ['W4A8'] })) });
  assert.equal(targetRange(flat, 'bops'), null, 'one cost along the front: no bops slider');
  assert.deepEqual([targetRange(flat, 'sqnr').min, targetRange(flat, 'sqnr').max], [20, 21], 'its SQNRs still differ');
  assert.equal(targetRange(r, 'latency'), null);
});

test('demo: evaluate a front point with an override: final beside the search\'s selection', () => {
  const search = demoReport(INSPECT, { target: 'bops=0.7' });
  assert.equal(search.final, undefined);
  assert.ok(search.pareto.every((p) => Array.isArray(p.config) && typeof p.measured === 'boolean' && typeof p.dominated === 'boolean'));
  assert.ok(search.pareto.some((p) => !p.measured && p.sqnr_db === null && typeof p.predicted_sqnr_db === 'number'), 'some points only predicted');
  const point = search.pareto[2];
  const r = demoReport(INSPECT, { target: 'bops=0.7', config: point.config }, { fc: 'W16A16' });
  assert.deepEqual(r.final.group_config, [point.config[0], 'W16A16']);
  assert.deepEqual(r.selected, search.selected);
  const n = normalizeQuantReport(r);
  assert.deepEqual(n.selected.layers.map((l) => [l.wBits, l.aBits]), [[Number(point.config[0].match(/W(\d+)/)[1]), Number(point.config[0].match(/A(\d+)/)[1])], [16, 16]]);
});

test('views/results: the calibration-set verdict and the sensitivity intervals (report "stability", groups[].sensitivity_ci_db)', () => {
  const base = demoReport(INSPECT, { target: 'bops=0.7' });
  const withCi = structuredClone(base);
  for (const g of withCi.groups) {
    g.sensitivity_ci_db = Object.fromEntries(Object.entries(g.sensitivity_db ?? {}).map(([c, v]) => [c, [v - 1.25, v + 0.5]]));
  }
  withCi.stability = { available: true, verdict: 'add samples', message: 'stability: add samples', samples: 16, resamples: 200,
    rank_corr: 0.72, suggested_samples: 64, selection: { layers: 2, layers_changed: 0.4 } };
  const doc = createDocument();
  const r = normalizeQuantReport(withCi);
  assert.equal(r.stability.verdict, 'add samples');
  assert.equal(r.stability.suggestedSamples, 64);
  const rows = layerRows(r);
  const [cand, v] = Object.entries(rows[0].sensitivity).find(([, x]) => typeof x === 'number');
  assert.deepEqual(rows[0].sensitivityCi[cand], [v - 1.25, v + 0.5]);
  const parts = renderResults(doc, r, { selectedIndex: 1 });
  const note = parts.totals.byClass('stability-note');
  assert.equal(note.length, 1);
  assert.match(note[0].textContent, /add samples: about 64 should make the choice stable/);
  assert.match(note[0].textContent, /rank correlation 0\.72 expected between two sets of 16 samples/);
  assert.match(note[0].textContent, /0\.4 of 2 layers/);
  assert.equal(parts.totals.byClass('stat').length, 3, 'the three numbers stay');
  const cis = parts.table.byClass('sens-ci');
  assert.ok(cis.length >= 1);
  assert.ok(cis.some((c) => c.textContent.includes(`${(v - 1.25).toFixed(1)}–${(v + 0.5).toFixed(1)}`)));
  // Stable: the verdict says so; a report without the keys (homogeneous, older cores) shows neither.
  withCi.stability = { ...withCi.stability, verdict: 'stable', rank_corr: 0.97, suggested_samples: 0 };
  const stable = renderResults(doc, normalizeQuantReport(withCi), { selectedIndex: 1 });
  assert.match(stable.totals.byClass('stability-note')[0].textContent, /Calibration set: stable/);
  const plain = renderResults(doc, normalizeQuantReport(base), { selectedIndex: 1 });
  assert.equal(plain.totals.byClass('stability-note').length, 0);
  assert.equal(plain.table.byClass('sens-ci').length, 0);
});

// ---- issue 14: the app for real models and real users ----

test('views/results: an unmeetable target is said above the numbers, with the core\'s message (issue 14 #1)', () => {
  const doc = createDocument();
  const raw = wsReport();
  raw.search = { target: 'bops=0.3' };
  raw.selected = { ...raw.selected, config: 'W16A16', target_met: false,
    message: 'no point meets bops=0.3 (cheapest point: 0.45): returning the start point' };
  const r = normalizeQuantReport(raw);
  assert.equal(r.targetMet, false);
  const parts = renderResults(doc, r, { selectedIndex: -1 });
  const note = parts.totals.byId('target-note');
  assert.ok(note, 'a note in the totals');
  assert.match(note.textContent, /Target bops=0\.3 not met/);
  assert.match(note.textContent, /no point meets bops=0\.3 \(cheapest point: 0\.45\): returning the start point/);
  assert.match(note.textContent, /W16A16 everywhere/);
  assert.equal(parts.totals.byClass('stat').length, 3, 'the numbers stay');
  // The demo core's unmet target too (no message: a generic one).
  const demo = normalizeQuantReport(demoReport(INSPECT, { target: 'bops=0.01' }));
  assert.equal(demo.targetMet, false);
  assert.ok(renderResults(doc, demo, {}).totals.byId('target-note'));
  // A met target: no note.
  assert.equal(renderResults(doc, normalizeQuantReport(wsReport()), {}).totals.byId('target-note'), null);
});

test('samples: each sample is checked against the model input when added, and one can be removed (issue 14 #3)', () => {
  const ocr = [{ name: 'x', shape: ['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1'] }];
  assert.equal(sampleShapeProblem([1, 3, 48, 320], ocr), null);
  assert.equal(sampleShapeProblem([3, 48, 100], ocr), null, 'a batch of one may omit the leading 1');
  assert.equal(sampleShapeProblem([1, 3, 32, 32], ocr),
    "shape [1×3×32×32] does not fit input 'x' [p2o.DynamicDimension.0×3×48×p2o.DynamicDimension.1]: dimension 2 is 32, the model needs 48");
  assert.match(sampleShapeProblem([1, 48, 320], [{ name: 'x', shape: [2, 3, 48, 320] }]), /3 dimensions, the model needs 4/);
  assert.match(sampleShapeProblem([1, 1, 28, 28], [{ name: 'in', shape: [1, 3, 28, 28] }]), /dimension 1 is 1, the model needs 3/);
  assert.equal(sampleShapeProblem([1, 3, 32, 32], [{ name: 'a', shape: [1] }, { name: 'b', shape: [1] }]), null, 'several inputs: the core checks');
  assert.equal(sampleShapeProblem(undefined, ocr), null, '.npz: no shape in the page');

  const doc = createDocument();
  const samples = [{ name: 'a.npy', source: 'a.png', kind: 'image', shape: [1, 3, 48, 320] },
    { name: 'b.npy', source: 'b.npy', kind: 'npy', shape: [1, 3, 48, 320] }, { name: 'c.npz', kind: 'npz' }];
  const removed = [];
  const enlarged = [];
  const figs = renderSamplePreviews(doc, samples, { onRemove: (i) => removed.push(i), onEnlarge: (i) => enlarged.push(i) });
  assert.equal(figs.length, 3);
  const buttons = figs.map((f) => f.byClass('preview-remove')[0]);
  assert.ok(buttons.every(Boolean), 'every sample has a remove button');
  assert.equal(buttons[1].getAttribute('aria-label'), 'Remove b.npy');
  buttons[1].listeners.click[0]({ stopPropagation() {} });
  assert.deepEqual(removed, [1]);
  figs[0].listeners.click[0]();
  assert.deepEqual(enlarged, [0], 'a click enlarges');
  const big = renderSamplePreviews(doc, samples, { enlarged: 0, onEnlarge: (i) => enlarged.push(i) });
  assert.ok(big[0].classList.contains('is-enlarged'));
  big[0].listeners.click[0]();
  assert.deepEqual(enlarged, [0, null], 'a second click shrinks it');
  assert.equal(renderSamplePreviews(doc, [])[0].textContent, 'No samples yet.');
  assert.match(renderSamplePreviews(doc, samples, { limit: 2 })[2].textContent, /\+ 1 more files/);
});

test('validation: the agreement follows the output kind; a sequence model broken on most samples is said plainly (issue 14 #7)', () => {
  assert.equal(outputKind([1, 10]), 'classification');
  assert.equal(outputKind([1, 80, 6625]), 'sequence');
  assert.equal(outputKind([1, 1, 48, 320]), 'dense');
  assert.equal(outputKind([1, 1]), 'dense');
  assert.deepEqual(ctcDecode([0, 3, 3, 0, 0, 3, 5, 5, 0]), [3, 3, 5]);
  // A CTC-like output [1, T=10, C=4]: 9 blank frames (class 0) and one character frame. The
  // export gets the character wrong on 3 of 4 samples: per step 97.5% agree, sequences 25%.
  const T = 10;
  const C = 4;
  const frames = (chars) => {
    const y = new Float32Array(T * C);
    for (let t = 0; t < T; ++t) y[t * C + (chars[t] ?? 0)] = 5;
    return y;
  };
  const acc = new SqnrAccumulator();
  for (let k = 0; k < 4; ++k) {
    const ref = frames({ 4: 2 });
    const test = frames({ 4: k === 0 ? 2 : 3 });
    acc.add({ y: ref }, { y: test }, 'y', [1, T, C]);
  }
  const v = { ...acc.result(), samples: 4, ms: 10 };
  assert.equal(v.kind, 'sequence');
  assert.equal(v.rows, 4);
  assert.equal(v.agreement, 0.25, 'one sequence in four identical at every step');
  assert.ok(Math.abs(v.stepAgreement - 37 / 40) < 1e-12, 'per step: blank frames dominate');
  assert.equal(v.decodedAgreement, 0.25);
  assert.equal(v.top1Agreement, null, 'no per-row top-1 on a sequence');
  // A shifted alignment decodes to the same text: the decoded agreement forgives it.
  const shift = new SqnrAccumulator();
  shift.add({ y: frames({ 4: 2 }) }, { y: frames({ 5: 2 }) }, 'y', [1, T, C]);
  assert.deepEqual([shift.result().agreement, shift.result().decodedAgreement], [0, 1]);
  const doc = createDocument();
  const view = renderValidation(doc, v, 30);
  const warning = view.byId('validate-warning');
  assert.ok(warning, 'a warning when most sequences disagree');
  assert.match(warning.textContent, /disagrees with the float model on 3 of 4 sequences/);
  assert.match(view.byId('agreement').textContent, /Sequences identical to FP32.*25\.0%/);
  assert.equal(view.byId('validation').dataset.kind, 'sequence');
  // Classification: top-1 per row, no warning when they agree.
  const cls = new SqnrAccumulator();
  cls.add({ y: Float32Array.from([1, 2, 3, 0]) }, { y: Float32Array.from([1, 2, 3, 0.1]) }, 'y', [2, 2]);
  const c = { ...cls.result(), samples: 1, ms: 1 };
  assert.deepEqual([c.kind, c.top1Agreement, c.rows], ['classification', 1, 2]);
  const cv = renderValidation(doc, c, null);
  assert.equal(cv.byId('validate-warning'), null);
  assert.match(cv.byId('agreement').textContent, /Top-1 agreement with FP32100\.0%/);
  // Dense maps: SQNR only.
  const dense = new SqnrAccumulator();
  dense.add({ y: new Float32Array(16).fill(1) }, { y: new Float32Array(16).fill(1.1) }, 'y', [1, 1, 4, 4]);
  const d = { ...dense.result(), samples: 1, ms: 1 };
  assert.deepEqual([d.kind, d.agreement], ['dense', null]);
  assert.match(renderValidation(doc, d, null).byId('agreement').textContent, /compare by SQNR/);
});

test('views/results: the per-layer table sorts, filters, keeps its header on top and collapses activation-only groups (issue 14 #8)', () => {
  const raw = wsReport();
  raw.groups.push({ id: 3, layers: [], activations: ['add_out', 'cat_out', 'pool_out', 'x4'], candidates: ['W8A16', 'W8A8'],
    sensitivity_db: { W8A16: 50, W8A8: 41.5 } });
  raw.groups[0].sensitivity_db = { W8A8: 40, W4A8: 20 };
  raw.groups[1].sensitivity_db = { W8A8: 45, W4A8: 12 };
  raw.groups[2].sensitivity_db = { W8A8: 44, W4A8: 30 };
  raw.selected.group_config = ['W4A8', 'W8A8', 'W8A8', 'W8A16'];
  raw.selected.layers[2].w_bits = 4;
  const r = normalizeQuantReport(raw);
  const doc = createDocument();
  const view = {};
  const parts = renderResults(doc, r, { tableView: view });
  const order = () => parts.table.byTag('tbody')[0].children.map((tr) => tr.dataset.layer);
  assert.deepEqual(order(), ['a', 'b', 'c'], 'network order first');
  const sortBy = (key) => parts.table.findAll((e) => e.tagName === 'BUTTON' && e.dataset.sort === key)[0].listeners.click[0]();
  sortBy('sens:W4A8');
  assert.deepEqual(order(), ['b', 'a', 'c'], 'most sensitive at W4A8 first');
  assert.deepEqual(view.sort, { key: 'sens:W4A8', dir: 1 }, 'the app keeps the sort');
  sortBy('sens:W4A8');
  assert.deepEqual(order(), ['c', 'a', 'b'], 'a second click: the other way');
  sortBy('macs');
  assert.deepEqual(order(), ['a', 'b', 'c'], 'most MACs first (4, 2, 2; ties in network order)');
  sortBy('bits');
  assert.deepEqual(order(), ['a', 'b', 'c'].filter((n) => n !== 'c').concat('c'), 'most bits first: W8A8 rows before W4A8');
  const filter = parts.table.byId('layer-filter');
  filter.value = 'gemm';
  filter.listeners.input[0]();
  assert.deepEqual(order(), ['c'], 'the filter matches the op');
  assert.equal(parts.table.byId('layer-count').textContent, '1 of 3 layers');
  filter.value = 'B';
  filter.listeners.input[0]();
  assert.deepEqual(order(), ['b'], 'and the name, case-insensitively');
  // A re-render (a new configuration) keeps the sort and the filter.
  const again = renderResults(doc, r, { tableView: view });
  assert.deepEqual(again.table.byTag('tbody')[0].children.map((tr) => tr.dataset.layer), ['b']);
  assert.equal(again.table.byId('layer-filter').value, 'B');
  // The header sticks when the table is tall (CSS .table-tall: sticky thead, own scroll box).
  const many = normalizeQuantReport({ ...raw, selected: { ...raw.selected,
    layers: Array.from({ length: 340 }, (_, i) => ({ name: `l${i}`, op: 'Conv', w_bits: 8, a_bits: 8, macs: i })) } });
  assert.equal(renderResults(doc, many, {}).table.byClass('table-tall').length, 2, 'the layer table and the activation groups scroll in their own box');
  // Activation-only groups: collapsed, with their bits.
  const details = parts.table.byId('activation-groups');
  assert.equal(details.tagName, 'DETAILS');
  assert.equal(details.getAttribute('open'), null, 'collapsed');
  assert.match(details.textContent, /1 activation-only group/);
  assert.match(details.textContent, /add_out, cat_out, pool_out … \(\+1\)/);
  assert.equal(details.byTag('tr')[1].children[2].textContent, 'W8A16', 'its bits from the selection');
});

test('progress: one overall ETA over the phases to come, reused phases dropped; "reference" has its label and place (issue 14 #6)', () => {
  const ids = PHASES.map(([id]) => id);
  assert.ok(ids.indexOf('calibration') < ids.indexOf('reference') && ids.indexOf('reference') < ids.indexOf('phase0'), 'reference between calibration and the baselines');
  let now = 0;
  const w = phaseWeights({ candidates: 3, layers: 10 });
  assert.deepEqual([w.calibration, w.reference, w.phase0, w.phase1, w.phase2], [1.5, 1, 3, 8, 8]);
  const t = new ProgressTracker(() => now, w);
  const total = Object.values(w).reduce((a, b) => a + b, 0);  // 23.8 passes
  now = 1500;
  let p = t.update('calibration', 1, 1);  // 1.5 passes in 1.5 s: 1 pass per second
  assert.equal(p.label, 'Calibration');
  assert.ok(Math.abs(p.overallEtaSeconds - (total - 1.5)) < 1e-9, `overall: the rest at the same rate (${p.overallEtaSeconds})`);
  now = 2500;
  p = t.update('reference', 1, 1);
  assert.equal(p.label, 'Float reference', 'the raw id is not shown');
  assert.ok(Math.abs(p.overallEtaSeconds - (total - 2.5)) < 1e-9);
  assert.ok(Math.abs(p.overallFraction - 2.5 / total) < 1e-12);
  // A second run that reuses calibration and reference: they drop out of the plan.
  now = 0;
  const again = new ProgressTracker(() => now, w);
  now = 3000;
  p = again.update('phase0', 3, 3);  // 3 passes in 3 s
  assert.ok(Math.abs(p.overallEtaSeconds - (total - 2.5 - 3)) < 1e-9, `reused phases cost nothing (${p.overallEtaSeconds})`);
  // Phase 2 then takes what phase 1 took.
  again.update('phase1', 0, 10);
  now = 13000;
  again.update('phase1', 10, 10);  // 8 passes in 10 s
  now = 13000;
  p = again.update('phase2', 0, 20);
  const rate = (3 + 8) / 13;
  assert.ok(Math.abs(p.overallEtaSeconds - (10 + (2 + 0.3) / rate)) < 1e-9, `phase 2 as long as phase 1 (${p.overallEtaSeconds})`);
  assert.equal(new ProgressTracker(() => 0).update('phase1', 0, 4).overallEtaSeconds, null, 'no plan: no overall ETA');
});

test('preprocess: the CLI string keeps the scale exact (scale=1/255, not 0.003922) and mean/std to float precision (issue 14 #5)', () => {
  const s = { ...defaultSettings({ shape: [1, 3, 48, 320] }), mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.25] };
  const cli = toCliSpec(s);
  assert.match(cli, /scale=1\/255,/);
  assert.match(cli, /size=48x320/);
  assert.equal(parseScale(cli.match(/scale=([^,]+)/)[1]), 1 / 255);
  assert.match(toCliSpec({ ...s, scale: 0.0123456789 }), /scale=0\.0123456789,/);
  assert.match(toCliSpec({ ...s, scale: 1 }), /scale=1,/);
  assert.match(toCliSpec({ ...s, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.22512345678] }), /std=0\.229:0\.224:0\.225123457,/);
});

test('preprocess: pad=right keeps a text line\'s aspect and pads the right; pad=center letterboxes; the CLI spells both', () => {
  // Closed forms: a 100x32 line at height 48 is 150 wide; 1280x720 into 640x640 is 640x360 at row 140.
  assert.deepEqual(padRect({ pad: 'right', width: 320, height: 48 }, 100, 32), { top: 0, left: 0, width: 150, height: 48 });
  assert.deepEqual(padRect({ pad: 'right', width: 320, height: 48 }, 1000, 32), { top: 0, left: 0, width: 320, height: 48 });
  assert.deepEqual(padRect({ pad: 'center', width: 640, height: 640 }, 1280, 720), { top: 140, left: 0, width: 640, height: 360 });
  assert.deepEqual(padRect({ pad: 'none', width: 8, height: 4 }, 3, 3), { top: 0, left: 0, width: 8, height: 4 });
  // Pixels outside the rectangle hold padValue (in the tensor's units); inside, the usual transform.
  const s = { width: 4, height: 2, channels: 1, layout: 'nchw', order: 'rgb', gray: true, scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], pad: 'right', padValue: -1 };
  const rgba = new Uint8ClampedArray(4 * 2 * 4).fill(255);
  const t = pixelsToTensor(rgba, s, { top: 0, left: 0, width: 3, height: 2 });
  assert.deepEqual(Array.from(t, (v) => Math.round(v * 1000) / 1000), [1, 1, 1, -1, 1, 1, 1, -1]);
  assert.equal(toCliSpec({ ...defaultSettings({ shape: [1, 3, 48, 320] }), pad: 'right' }), 'imagenet,size=48x320,pad=right');
  assert.match(toCliSpec({ ...defaultSettings({ shape: [1, 3, 48, 320] }), preset: 'x', scale: 0.3, pad: 'center', padValue: 0.447 }),
               /^size=48x320,pad=center,pad-value=0\.447,scale=0\.3,/);
  // The form's gray preset is the CLI's unit preset with gray=1 (the CLI has no 'gray' preset).
  assert.equal(toCliSpec(defaultSettings({ shape: [1, 1, 28, 28] })), 'unit,gray=1,size=28x28');
  assert.throws(() => validateSettings({ ...defaultSettings({ shape: [1, 3, 48, 320] }), pad: 'left' }), /Resize "left"/);
});
