// The Pareto front while the search runs (issue 11 item 3): the core reports the front once
// phase 1 has ordered it (every point at its phase-1 prediction) and then the points phase 2
// measures; the JS API folds those events into a report-shaped front (results.js foldFrontEvent)
// that the results' own chart draws (views/results_view.js renderPareto, live). Checked on
// closed-form events, through the JS API over the fake engine (cancel included), and on the
// real wasm module (QM_WEB_DIR, as wasm.test.mjs) through bindings -> engine.js -> worker
// protocol -> quantmix.js, against the finished report's front.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadEngine } from '../../web/api/engine.js';
import { encodeNpy } from '../../web/api/npy.js';
import { CancelledError, Quantmix } from '../../web/api/quantmix.js';
import { foldFrontEvent, normalizeQuantReport, paretoGeometry } from '../../web/app/results.js';
import { renderPareto } from '../../web/app/views/results_view.js';
import { fakeEngine, installWorker } from './fake_engine.mjs';
import { createDocument } from './fake_dom.mjs';
import { encodeModel } from './tiny_onnx.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = process.env.QM_WEB_DIR ?? join(ROOT, 'build', 'wasm', 'web');
const built = existsSync(join(WEB_DIR, 'quantmix.mjs'));
const skip = !built && !process.env.QM_WEB_DIR && process.env.CI !== 'true' ? 'the wasm module is not built (set QM_WEB_DIR)' : false;


const point = (index, relBops, sqnr, predicted, config) => ({ index, rel_bops: relBops, size_bytes: 100 * relBops,
  sqnr_db: sqnr, predicted_sqnr_db: predicted, measured: sqnr !== null, dominated: false, config });

test('live front: events fold into a report the chart draws, predicted points replaced as they are measured', () => {
  const baselines = [{ config: 'W8A16', rel_bops: 2, size_bytes: 200, sqnr_db: 45, start: true },
    { config: 'W8A8', rel_bops: 1, size_bytes: 100, sqnr_db: 38, start: false }];
  const predicted = [point(0, 2, null, 45, ['W8A16', 'W8A16']), point(1, 1.5, null, 42, ['W8A8', 'W8A16']),
    point(2, 1, null, 39, ['W8A8', 'W8A8']), point(3, 0.75, null, 30, ['W4A8', 'W8A8'])];
  let live = foldFrontEvent(null, { event: 'front', order: 'paper', baselines, pareto: predicted });
  assert.deepEqual([live.measured, live.total, live.pareto_order], [0, 4, 'paper']);
  let r = normalizeQuantReport(live);
  assert.deepEqual(r.pareto.map((p) => [p.measured, p.chartSqnrDb]), [[false, 45], [false, 42], [false, 39], [false, 30]],
    'every point at its prediction, not measured');
  assert.equal(paretoGeometry(r).front.length, 4, 'predicted points are drawn');

  // Two points measured; point 1 turns out worse than the W8A8 baseline at 1.0: dominated.
  const before = live;
  live = foldFrontEvent(live, { event: 'points', order: 'paper',
    points: [{ ...predicted[0], sqnr_db: 44.5, measured: true }, { ...predicted[1], sqnr_db: 37, measured: true, dominated: true }],
    dominated: [1] });
  assert.equal(before.measured, 0, 'pure: the earlier state is unchanged');
  assert.deepEqual([live.measured, live.total], [2, 4]);
  r = normalizeQuantReport(live);
  assert.deepEqual(r.pareto.map((p) => [p.measured, p.chartSqnrDb, p.dominated]),
    [[true, 44.5, false], [true, 37, true], [false, 39, false], [false, 30, false]]);
  assert.deepEqual(r.pareto[2].groupConfig, ['W8A8', 'W8A8'], 'configs kept per point');

  // The results' chart, live: its own ids (the results' chart may be on the page too), hollow
  // predicted points, filled measured ones, nothing to click.
  const doc = createDocument();
  const card = renderPareto(doc, r, { live: { measured: live.measured, total: live.total } });
  assert.equal(card.getAttribute('id'), 'live-front-card');
  assert.ok(card.byId('live-front-chart') && !card.byId('pareto-chart'));
  const circles = card.findAll((e) => e.tagName === 'CIRCLE');
  assert.equal(circles.length, 4);
  const cls = (i) => circles.find((c) => c.dataset.index === String(i)).classList;
  assert.ok(cls(0).contains('pt-measured') && cls(2).contains('pt-predicted') && cls(3).contains('pt-predicted'));
  assert.ok(cls(1).contains('pt-path'), 'a dominated measured point is drawn apart, as in the results');
  assert.ok(circles.every((c) => c.getAttribute('tabindex') === null && c.getAttribute('role') === null), 'not clickable');
  assert.ok(card.textContent.includes('2 of 4 points measured'), card.textContent);
  const legend = card.byId('live-front-legend').textContent;
  for (const words of ['measured', 'predicted (not measured)', 'homogeneous baselines']) assert.ok(legend.includes(words), `legend: ${words}`);
  assert.ok(!legend.includes('selected'), 'nothing is selected while the search runs');

  // Both orders: the ratio front, when it comes, is the one drawn; the paper front is kept.
  const ratio = foldFrontEvent(live, { event: 'front', order: 'ratio', baselines, pareto: predicted.slice(0, 2) });
  assert.deepEqual([ratio.pareto_order, ratio.total, ratio.fronts.paper.length], ['ratio', 2, 4]);
  assert.equal(foldFrontEvent(live, { event: 'unknown' }), live, 'other events change nothing');
});

test('live front: the JS API calls onFront with the folded front during quantize, and cancel still works', async () => {
  const engine = fakeEngine({ delayMs: 20 });
  installWorker(engine);
  const qm = await Quantmix.create({ workerUrl: 'fake://worker.js' });
  await qm.loadModel(new Uint8Array(8), { name: 'm.onnx' });
  await qm.setSamples([{ name: 'a.npy', bytes: new Uint8Array([1]) }]);
  const seen = [];
  const run = await qm.quantize({ target: 'bops=0.6', candidates: ['W4A8', 'W8A8'] },
    { onFront: (front, event) => seen.push({ front, event: event.event }) });
  assert.deepEqual(seen.map((s) => s.event), ['front', 'points']);
  assert.equal(seen[0].front.measured, 0);
  assert.equal(seen[0].front.total, run.report.pareto.length);
  const last = seen[1].front;
  assert.deepEqual(last.pareto.map((p) => [p.index, p.measured, p.sqnr_db, p.config]),
    run.report.pareto.map((p) => [p.index, p.measured, p.sqnr_db, p.config]), 'the last front is the report\'s');
  assert.deepEqual(last.pareto.map((p) => p.dominated), run.report.pareto.map((p) => p.dominated));
  qm.terminate();

  // Cancel right after the predicted front: the run rejects, no more updates, the page goes on.
  const engine2 = fakeEngine({ delayMs: 200 });
  installWorker(engine2);
  const qm2 = await Quantmix.create({ workerUrl: 'fake://worker.js' });
  await qm2.loadModel(new Uint8Array(8), { name: 'm.onnx' });
  await qm2.setSamples([{ name: 'a.npy', bytes: new Uint8Array([1]) }]);
  const events = [];
  const running = qm2.quantize({ target: 'bops=0.6' }, { onFront: (front, event) => {
    events.push(event.event);
    if (event.event === 'front') qm2.cancel();
  } });
  await assert.rejects(running, (e) => e instanceof CancelledError);
  await qm2.ready();
  await new Promise((ok) => setTimeout(ok, 300));
  assert.deepEqual(events, ['front'], 'nothing from the terminated worker after the cancel');
  const again = await qm2.quantize({ target: 'bops=0.6' });
  assert.ok(again.report.pareto.length > 1, 'a run after the cancel completes');
  qm2.terminate();
});

// A chain x -> MatMul -> Relu -> ... (10 layers of 8x8 weights): 10 weighted groups, so with
// W4A8/W8A8/W8A16 phase 2 walks a front of 21 points, reported in 2 parts.
const K = 8;
const LAYERS = 10;
function pseudo(n, seed, scale) {
  let x = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return scale * ((x % 2001) / 1000 - 1);
  });
}
const CHAIN = encodeModel({
  inputs: [{ name: 'x', dims: [1, 4, K] }],
  outputs: [{ name: 'y', dims: [1, 4, K] }],
  initializers: Array.from({ length: LAYERS }, (_, i) => ({ name: `w${i}`, dims: [K, K], data: pseudo(K * K, 7 + i, 0.5 + 0.1 * i) })),
  nodes: Array.from({ length: LAYERS }, (_, i) => [
    { op: 'MatMul', inputs: [i ? `r${i - 1}` : 'x', `w${i}`], outputs: [`m${i}`], name: `mm${i}` },
    ...(i < LAYERS - 1 ? [{ op: 'Relu', inputs: [`m${i}`], outputs: [`r${i}`], name: `relu${i}` }] : []),
  ]).flat().map((n) => (n.name === `mm${LAYERS - 1}` ? { ...n, outputs: ['y'] } : n)),
});
const SAMPLES = Array.from({ length: 4 }, (_, s) => ({ name: `s${s}.npy`, bytes: encodeNpy(Float32Array.from(pseudo(4 * K, 100 + s, 2)), [1, 4, K]) }));
const OPTIONS = { candidates: ['W4A8', 'W8A8', 'W8A16'], target: 'bops=0.6' };

async function realEngine() {
  return loadEngine({ moduleUrl: pathToFileURL(join(WEB_DIR, 'quantmix.mjs')).href, wasmBinary: readFileSync(join(WEB_DIR, 'quantmix.wasm')) });
}

test('live front: the wasm core reports the predicted front after phase 1, then each point as measured in the report', { skip }, async () => {
  const engine = await realEngine();
  await engine.wsLoad(CHAIN, 'chain.onnx');
  await engine.wsSetSamples(SAMPLES, {});
  const log = [];  // progress phases and front events, in order
  const events = [];
  const { report } = await engine.wsQuantize(OPTIONS, (phase) => { if (log.at(-1) !== phase) log.push(phase); },
    (event) => { events.push(event); log.push(event.event); });
  assert.ok(report.pareto.length >= 16, `a front of ${report.pareto.length} points (two parts at least)`);
  // The predicted front arrives after phase 1, before phase 2 has measured anything.
  assert.ok(log.indexOf('phase1') < log.indexOf('front') && log.indexOf('front') < log.indexOf('phase2'), log.join(' '));
  const [front, ...measured] = events;
  assert.equal(front.event, 'front');
  assert.equal(front.order, 'paper');
  assert.deepEqual(front.baselines.map((b) => b.config), report.baselines.map((b) => b.config));
  assert.equal(front.pareto.length, report.pareto.length);
  for (const [i, p] of front.pareto.entries()) {
    const q = report.pareto[i];
    assert.equal(p.measured, false);
    assert.equal(p.sqnr_db, null);
    assert.deepEqual([p.index, p.rel_bops, p.size_bytes, p.predicted_sqnr_db, p.config], [q.index, q.rel_bops, q.size_bytes, q.predicted_sqnr_db, q.config]);
  }
  assert.ok(measured.length >= 2, `phase 2 reports in parts (${measured.length})`);
  const indices = measured.flatMap((e) => e.points.map((p) => p.index));
  assert.deepEqual(indices, report.pareto.map((p) => p.index), 'every point once, in front order');
  for (const e of measured) {
    assert.equal(e.event, 'points');
    for (const p of e.points) {
      const q = report.pareto[p.index];
      assert.deepEqual([p.measured, p.sqnr_db, p.rel_bops, p.config], [true, q.sqnr_db, q.rel_bops, q.config], `point ${p.index}`);
    }
  }
  assert.deepEqual(measured.at(-1).dominated, report.pareto.filter((p) => p.dominated).map((p) => p.index));

  // The same search without a listener: the same front (the parts change no number).
  const engine2 = await realEngine();
  await engine2.wsLoad(CHAIN, 'chain.onnx');
  await engine2.wsSetSamples(SAMPLES, {});
  const plain = (await engine2.wsQuantize(OPTIONS)).report;
  assert.deepEqual(plain.pareto, report.pareto);
  assert.deepEqual(plain.selected, report.selected);
  // A reused search (another target): no front updates.
  const again = [];
  await engine.wsQuantize({ ...OPTIONS, target: 'bops=0.8' }, null, (e) => again.push(e));
  assert.deepEqual(again, []);
});

test('live front: the JS API over the real core — onFront\'s last front is the finished report\'s', { skip }, async () => {
  const engine = await realEngine();
  installWorker(engine);
  const qm = await Quantmix.create({ workerUrl: 'fake://worker.js' });
  await qm.loadModel(CHAIN, { name: 'chain.onnx' });
  await qm.setSamples(SAMPLES);
  const fronts = [];
  const run = await qm.quantize(OPTIONS, { onFront: (front) => fronts.push(front) });
  assert.ok(fronts.length >= 3, `predicted, then measured in parts (${fronts.length} updates)`);
  assert.equal(fronts[0].measured, 0);
  assert.ok(fronts[1].measured > 0 && fronts[1].measured < fronts[1].total, 'a front partly measured while the search runs');
  const last = fronts.at(-1);
  assert.equal(last.measured, run.report.pareto.length);
  const key = (p) => [p.index, p.measured, p.sqnr_db, p.predicted_sqnr_db, p.rel_bops, p.dominated, p.config];
  assert.deepEqual(last.pareto.map(key), run.report.pareto.map(key));
  // Drawn by the results' chart as it is: every point filled once measured.
  const card = renderPareto(createDocument(), normalizeQuantReport(last), { live: { measured: last.measured, total: last.total } });
  assert.equal(card.byClass('pt-predicted').length, 0);
  assert.equal(card.byClass('pt-measured').length, run.report.pareto.length);
  qm.terminate();
});
