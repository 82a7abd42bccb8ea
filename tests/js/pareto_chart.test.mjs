// The Pareto chart (views/results_view.js renderPareto, results.js paretoGeometry): its y-axis
// is the metric the search used (walk-through of issue 14: with a score module or labels the
// axis still said SQNR), predicted-only points are not put on a top-1 or score axis (phase 1
// predicts SQNR only) and are counted instead, and the configuration shown is drawn over its
// neighbours on a dense front.
import assert from 'node:assert/strict';
import test from 'node:test';
import { normalizeQuantReport, paretoGeometry } from '../../web/app/results.js';
import { renderPareto } from '../../web/app/views/results_view.js';
import { createDocument } from './fake_dom.mjs';

const pt = (index, relBops, sqnr, extra = {}) => ({ index, rel_bops: relBops, size_bytes: 100 * relBops, sqnr_db: sqnr,
  predicted_sqnr_db: sqnr ?? 30, measured: sqnr !== null, dominated: false, config: ['W8A8'], ...extra });

/** A score-metric report: character accuracy per point, one point only predicted. */
function scoreReport() {
  return {
    search: { metric: 'score', float_score: 0.976, target: 'bops=0.8' },
    samples: 8,
    baselines: [{ config: 'W8A8', rel_bops: 1, size_bytes: 100, sqnr_db: 38, score: 0.95 },
      { config: 'W4A8', rel_bops: 0.5, size_bytes: 50, sqnr_db: 20, score: 0.40 }],
    pareto: [pt(0, 1, 38, { score: 0.95 }), pt(1, 0.8, 33, { score: 0.91 }), pt(2, 0.6, null)],
    selected: { rel_bops: 0.8, size_bytes: 80, sqnr_db: 33, score: 0.91, target_met: true, group_config: ['W8A8'] },
  };
}

const axisLabel = (card) => card.findAll((e) => e.tagName === 'TEXT' && e.classList.contains('axis-label')).map((e) => e.textContent);

test('pareto chart: with a score module the y-axis is the score, measured points at their score', () => {
  const r = normalizeQuantReport(scoreReport());
  const metric = { label: 'Character accuracy', percent: true };
  const card = renderPareto(createDocument(), r, { selectedIndex: 1, metric });
  const labels = axisLabel(card);
  assert.ok(labels.includes('character accuracy (%) →'), labels.join(' | '));
  assert.ok(!labels.some((l) => /SQNR/.test(l)), `no SQNR axis: ${labels.join(' | ')}`);
  const circles = card.findAll((e) => e.tagName === 'CIRCLE' && e.classList.contains('pt'));
  assert.deepEqual(circles.map((c) => c.dataset.index).sort(), ['0', '1'], 'the predicted point is not placed on the score axis');
  assert.deepEqual(circles.map((c) => Number(c.dataset.y)).sort(), [91, 95], 'measured points at their score, in %');
  assert.ok(card.textContent.includes('1 predicted, not drawn (phase 1 predicts SQNR only)'), card.textContent);
  const title = circles.find((c) => c.dataset.index === '1').textContent;
  assert.ok(title.includes('character accuracy 91.0%') && title.includes('33.0 dB'), title);
  assert.equal(card.byId('pareto-chart').dataset.metric, 'score');
  // The geometry: higher score higher on the chart; ticks around the scores, not from 0 dB.
  const g = paretoGeometry(r, { percent: true });
  assert.equal(g.metric, 'score');
  assert.ok(g.front.find((p) => p.index === 0).cy < g.front.find((p) => p.index === 1).cy);
  assert.ok(g.y.ticks[0].v >= 40 - 1e-9 && g.y.ticks.at(-1).v >= 95, JSON.stringify(g.y.ticks.map((t) => t.v)));
  // A plain module (no sample metric): "score", no unit.
  assert.ok(axisLabel(renderPareto(createDocument(), r, {})).includes('score →'));
});

test('pareto chart: with labels the y-axis is top-1 in %; without either it stays SQNR', () => {
  const raw = scoreReport();
  raw.search.metric = 'top1';
  for (const p of [...raw.baselines, ...raw.pareto]) { if (p.score !== undefined) { p.top1 = p.score; delete p.score; } }
  const card = renderPareto(createDocument(), normalizeQuantReport(raw), {});
  assert.ok(axisLabel(card).includes('top-1 on your labels (%) →'), axisLabel(card).join(' | '));
  assert.ok(card.findAll((e) => e.tagName === 'CIRCLE' && e.dataset.y === '95').length === 1);

  raw.search.metric = 'sqnr';
  const sq = renderPareto(createDocument(), normalizeQuantReport(raw), {});
  assert.ok(axisLabel(sq).includes('output SQNR (dB) →'));
  assert.equal(sq.findAll((e) => e.tagName === 'CIRCLE' && e.dataset.index !== undefined).length, 3, 'with SQNR the predicted point is drawn at its prediction');
  assert.ok(!sq.textContent.includes('not drawn'));
});

test('pareto chart: a live front takes the run\'s metric (it has no search section)', () => {
  const live = { baselines: scoreReport().baselines, pareto: scoreReport().pareto, pareto_order: 'paper', measured: 2, total: 3 };
  const card = renderPareto(createDocument(), normalizeQuantReport(live), { live: { measured: 2, total: 3 }, metricKind: 'score', metric: { label: 'Score', percent: false } });
  assert.ok(axisLabel(card).includes('score →'), axisLabel(card).join(' | '));
  assert.ok(card.textContent.includes('the rest drawn once measured (phase 1 predicts SQNR only)'), card.textContent);
});

test('pareto chart: the point shown is drawn last, over its neighbours on a dense front', () => {
  const raw = { baselines: [], pareto: Array.from({ length: 40 }, (_, i) => pt(i, 0.5 + i * 0.01, 20 + i * 0.3)),
    selected: { rel_bops: 0.6, size_bytes: 60, sqnr_db: 23 } };
  const card = renderPareto(createDocument(), normalizeQuantReport(raw), { selectedIndex: 10 });
  const circles = card.findAll((e) => e.tagName === 'CIRCLE' && e.classList.contains('pt'));
  assert.equal(circles.length, 40);
  assert.equal(circles.at(-1).dataset.index, '10', 'the selected point is the last circle (SVG paints in order)');
  assert.ok(circles.at(-1).classList.contains('pt-selected'));
});
