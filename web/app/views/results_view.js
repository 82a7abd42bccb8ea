// The results: totals, the Pareto chart (hand-written SVG) with the homogeneous baselines, the
// strip along the network coloured by bits, and the per-layer table with sensitivities and a
// manual override per layer. Stateless: the app passes callbacks (onSelectPoint, onOverride).
import { formatBytes, formatCount, formatPercent } from '../format.js';
import { layerRows, paretoGeometry, stabilityVerdict, stripSegments } from '../results.js';
import { h, s } from './dom.js';

const fmtDb = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(1)} dB`);
const fmtX = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(2)}×`);

function card(doc, title, subtitle, props, ...children) {
  return h(doc, 'section', { class: 'card', ...props },
    h(doc, 'header', { class: 'card-head' }, h(doc, 'h3', null, title),
      subtitle ? h(doc, 'span', { class: 'card-sub' }, subtitle) : null),
    ...children);
}

/**
 * The search's pick does not meet the target (report selected.target_met false): the core's
 * message ("no point meets bops=0.3 (cheapest point: 0.45): returning the start point") above the
 * numbers, so a start point shown in its place is never mistaken for an answer. null otherwise.
 */
export function renderTargetNote(doc, report, point = report.selected) {
  if (report.targetMet !== false) return null;
  const target = report.target && report.target !== 'none' ? report.target : 'the target';
  const shown = typeof point?.config === 'string' && /^W\d+A\d+$/.test(point.config) ? `${point.config} everywhere` : 'the configuration below';
  return h(doc, 'div', { class: 'callout callout-danger target-note', id: 'target-note', role: 'alert', dataset: { target } },
    h(doc, 'strong', null, `Target ${target} not met. `),
    h(doc, 'span', { class: 'callout-text' }, `${report.message ?? 'no point of the front meets it'}. `,
      `Shown: ${shown}, which does not meet it either: relax the target, allow cheaper candidates, or set layers by hand.`));
}

/**
 * The number a score module gives, as `metric` (sample_models.js scoreMetric: {label, percent,
 * describe, path}) says: a percentage or the number itself; '—' when missing.
 */
export function formatScore(v, metric) {
  if (v === null || v === undefined) return '—';
  return metric?.percent ? `${(v * 100).toFixed(1)}%` : String(Number(v.toPrecision(4)));
}

/**
 * The three headline numbers of the chosen configuration, with the W8A8 baseline beside them;
 * the search's metric first when it is top-1 or a score (`metric` names the score module's).
 */
export function renderTotals(doc, report, point, metric = null) {
  const w8a8 = report.baselines.find((b) => b.config === 'W8A8') ?? null;
  const items = [
    ['rel_bops', 'Relative BOPs', fmtX(point?.relBops), w8a8 ? 'W8A8 everywhere = 1.00×' : 'BOPs / W8A8 BOPs', point?.relBops],
    ['size', 'Weight size', formatBytes(point?.sizeBytes), w8a8 ? `W8A8: ${formatBytes(w8a8.sizeBytes)}` : '', point?.sizeBytes],
    ['sqnr', 'Output SQNR (simulated)', fmtDb(point?.sqnrDb), w8a8 ? `W8A8: ${fmtDb(w8a8.sqnrDb)}` : 'vs the FP32 model', point?.sqnrDb],
  ];
  // With labels the search's metric is top-1 on them: first among the numbers, and said.
  const top1 = report.metric === 'top1';
  if (top1) {
    const fmtPct = (v) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);
    const best = report.baselines.reduce((m, b) => (b.top1 !== null && (m === null || b.relBops > m.relBops) ? b : m), null);
    items.unshift(['top1', 'Top-1 on your labels (simulated)', fmtPct(point?.top1),
      best ? `${best.config}: ${fmtPct(best.top1)}${report.samples ? ` · ${report.samples} samples` : ''}` : `${report.samples ?? ''} labelled samples`, point?.top1]);
  }
  // With a score module its mean over the samples is the metric (it replaces top-1 too).
  const score = report.metric === 'score';
  const m = metric ?? { label: 'Score', percent: false, path: '', describe: () => 'the mean of your score module over the samples' };
  if (score) {
    items.unshift(['score', `${m.label} (simulated)`, formatScore(point?.score, m),
      `float model: ${formatScore(report.floatScore, m)}${report.samples ? ` · ${report.samples} samples` : ''}`, point?.score]);
  }
  const metricLine = h(doc, 'p', { class: 'metric-line', id: 'metric-line', dataset: { metric: report.metric ?? 'sqnr' } },
    score ? `Search metric: ${m.describe(report.samples)}${m.path ? ` (${m.path})` : ''}; SQNR is shown beside it.`
      : top1 ? `Search metric: top-1 accuracy on your ${report.samples ?? ''} labelled samples (the labels file); SQNR is shown beside it.`
        : 'Search metric: output SQNR against the float model (no labels).');
  // Whether the calibration samples were enough (report "stability"), under the numbers.
  const v = stabilityVerdict(report.stability);
  const verdict = v ? h(doc, 'div', { class: `stability-note ${v.cls}`, id: 'stability', role: 'status',
    dataset: { verdict: report.stability.verdict } },
  h(doc, 'strong', null, v.title), v.detail ? h(doc, 'span', { class: 'muted' }, ` — ${v.detail}`) : null) : null;
  return h(doc, 'div', { class: items.length > 3 ? 'stats stats-4' : 'stats stats-3', id: 'totals', dataset: { metric: report.metric ?? 'sqnr' } },
    renderTargetNote(doc, report, report.searchSelected ?? point), metricLine, items.map(([id, label, value, detail, exact]) =>
    h(doc, 'div', { class: 'stat', dataset: { stat: id, value: exact ?? '' } },
      h(doc, 'div', { class: 'stat-label' }, label),
      h(doc, 'div', { class: 'stat-value' }, value),
      h(doc, 'div', { class: 'stat-detail' }, detail))), verdict);
}

/**
 * The chart's y-axis for the search's metric: {label (the axis), fmt(value on the axis) for a
 * point's title}. metric: 'sqnr' | 'top1' | 'score'; score: the score module's metric
 * ({label, percent}, sample_models.js scoreMetric) or null (a plain "score").
 */
export function chartAxis(metric, score = null) {
  if (metric === 'top1') return { label: 'top-1 on your labels (%) →', fmt: (v) => `top-1 ${v.toFixed(1)}%` };
  if (metric === 'score') {
    const name = score?.label ? score.label.toLowerCase() : 'score';
    return { label: `${name}${score?.percent ? ' (%)' : ''} →`,
      fmt: (v) => `${name} ${score?.percent ? `${v.toFixed(1)}%` : String(Number(v.toPrecision(4)))}` };
  }
  return { label: 'output SQNR (dB) →', fmt: fmtDb };
}

/**
 * The Pareto chart. opts: {selectedIndex, onSelectPoint(index), live, metricKind, metric}. The
 * y-axis is the search's metric (report.metric, or metricKind for a live front: 'sqnr', 'top1',
 * 'score'; metric: the score module's, for its name and unit): with top-1 or a score only
 * measured points are drawn (phase 1 predicts SQNR alone) and the subtitle counts the others.
 * Points are focusable buttons (Enter selects), so the chart works from the keyboard too; the
 * one shown is drawn last, over its neighbours. live = {measured, total}: the front while the
 * search runs (results.js foldFrontEvent), drawn the same way (predicted points hollow,
 * replaced by measured ones as they come) under its own ids, nothing to click.
 */
export function renderPareto(doc, report, opts = {}) {
  const live = opts.live ?? null;
  const ids = live ? { card: 'live-front-card', chart: 'live-front-chart', legend: 'live-front-legend' }
    : { card: 'pareto-card', chart: 'pareto-chart', legend: 'pareto-legend' };
  const metric = opts.metricKind ?? report.metric ?? 'sqnr';
  const axis = chartAxis(metric, opts.metric ?? null);
  const g = paretoGeometry(report, { width: 640, height: 300, metric, percent: metric === 'top1' || Boolean(opts.metric?.percent) });
  const onSqnr = metric === 'sqnr';
  const { pad, width, height } = g;
  const grid = [
    ...g.y.ticks.map((t) => s(doc, 'g', { class: 'tick' },
      s(doc, 'line', { x1: pad.l, x2: width - pad.r, y1: t.at, y2: t.at, class: 'grid' }),
      s(doc, 'text', { x: pad.l - 8, y: t.at + 4, 'text-anchor': 'end' }, `${t.v}`))),
    ...g.x.ticks.map((t) => s(doc, 'g', { class: 'tick' },
      s(doc, 'line', { x1: t.at, x2: t.at, y1: pad.t, y2: height - pad.b, class: 'grid grid-v' }),
      s(doc, 'text', { x: t.at, y: height - pad.b + 16, 'text-anchor': 'middle' }, `${t.v}`))),
  ];
  const labels = [
    s(doc, 'text', { class: 'axis-label', x: (pad.l + width - pad.r) / 2, y: height - 6, 'text-anchor': 'middle' },
      'relative BOPs (W8A8 = 1) →'),
    s(doc, 'text', { class: 'axis-label', x: 14, y: (pad.t + height - pad.b) / 2, 'text-anchor': 'middle',
      transform: `rotate(-90 14 ${(pad.t + height - pad.b) / 2})` }, axis.label),
  ];
  const line = g.front.map((p, i) => `${i ? 'L' : 'M'}${p.cx.toFixed(1)},${p.cy.toFixed(1)}`).join(' ');
  // Non-dominated points on the line, the dominated rest of the search's path faint; a point
  // the core only predicted (not measured) hollow, at its predicted SQNR. The one shown last.
  const isShown = (p) => p.index === opts.selectedIndex;
  const ordered = [...g.path, ...g.front];
  const points = [...ordered.filter((p) => !isShown(p)), ...ordered.filter(isShown)].map((p) => {
    const selected = isShown(p);
    const quality = !p.measured ? `${fmtDb(p.chartSqnrDb)} predicted (not measured)`
      : onSqnr ? fmtDb(p.sqnrDb) : `${axis.fmt(p.y)} · ${fmtDb(p.sqnrDb)}`;
    const title = `point ${p.index}${p.dominated ? ' (dominated)' : ''}: ${fmtX(p.relBops)} BOPs · ${formatBytes(p.sizeBytes)} · ${quality}`;
    const cls = ['pt', p.dominated ? 'pt-path' : 'pt-front', p.measured ? 'pt-measured' : 'pt-predicted', selected ? 'pt-selected' : ''];
    const dataset = { index: p.index, relBops: p.relBops, sqnr: p.chartSqnrDb, y: p.y, measured: p.measured, dominated: p.dominated };
    if (live) return s(doc, 'circle', { class: cls.filter(Boolean).join(' '), cx: p.cx, cy: p.cy, r: p.dominated ? 3.5 : 4.5, dataset }, s(doc, 'title', null, title));
    return s(doc, 'circle', {
      class: cls.filter(Boolean).join(' '), cx: p.cx, cy: p.cy, r: selected ? 6.5 : p.dominated ? 3.5 : 4.5,
      tabindex: 0, role: 'button', 'aria-label': title, dataset,
      onclick: () => opts.onSelectPoint?.(p.index),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); opts.onSelectPoint?.(p.index); } },
    }, s(doc, 'title', null, title));
  });
  const baselines = g.baselines.map((b) => s(doc, 'g', { class: 'baseline', dataset: { config: b.config ?? '' } },
    s(doc, 'rect', { x: b.cx - 5, y: b.cy - 5, width: 10, height: 10, transform: `rotate(45 ${b.cx} ${b.cy})` },
      s(doc, 'title', null, `${b.config} everywhere: ${fmtX(b.relBops)} BOPs · ${onSqnr ? fmtDb(b.sqnrDb) : `${axis.fmt(b.y)} · ${fmtDb(b.sqnrDb)}`}`)),
    b.cx > width * 0.8
      ? s(doc, 'text', { x: b.cx - 9, y: b.cy + 4, class: 'baseline-label', 'text-anchor': 'end' }, b.config ?? '')
      : s(doc, 'text', { x: b.cx + 9, y: b.cy - 7, class: 'baseline-label' }, b.config ?? '')));
  // The configuration shown, where it is not a measured front point: off the front (overrides,
  // the search's pick), or a predicted point chosen and now measured.
  const offFront = opts.selectedIndex === -1 || opts.selectedIndex === null || opts.selectedIndex === undefined;
  const chosenPredicted = !offFront && [...g.front, ...g.path].some((p) => p.index === opts.selectedIndex && !p.measured);
  const sel = g.selected && (offFront || chosenPredicted)
    ? s(doc, 'circle', { class: 'pt pt-override', cx: g.selected.cx, cy: g.selected.cy, r: 6.5 },
      s(doc, 'title', null, `this configuration: ${fmtX(g.selected.relBops)} BOPs · ${onSqnr ? fmtDb(g.selected.sqnrDb) : `${axis.fmt(g.selected.y)} · ${fmtDb(g.selected.sqnrDb)}`}`))
    : null;
  const svg = s(doc, 'svg', { class: 'chart', id: ids.chart, viewBox: `0 0 ${width} ${height}`,
    role: 'img', 'aria-label': `Pareto front${live ? ' (search running)' : ''}: ${axis.label.replace(' →', '')} against relative BOPs`, dataset: { metric } },
  s(doc, 'g', { class: 'grid-layer' }, grid), labels,
  s(doc, 'path', { class: 'front-line', d: line }), baselines, points, sel);
  const all = [...g.front, ...g.path];
  const predicted = all.filter((p) => !p.measured).length;
  const legend = h(doc, 'div', { class: 'legend', id: ids.legend },
    g.front.length ? h(doc, 'span', null, h(doc, 'i', { class: 'lg lg-front' }), live ? 'Pareto front so far' : 'Pareto front (click a point)') : null,
    g.path.length ? h(doc, 'span', null, h(doc, 'i', { class: 'lg lg-path' }), 'dominated path points') : null,
    predicted ? h(doc, 'span', null, h(doc, 'i', { class: 'lg lg-measured' }), 'measured') : null,
    predicted ? h(doc, 'span', null, h(doc, 'i', { class: 'lg lg-predicted' }), 'predicted (not measured)') : null,
    g.baselines.length > 1 ? h(doc, 'span', null, h(doc, 'i', { class: 'lg lg-baseline' }), 'homogeneous baselines') : null,
    all.length && !live ? h(doc, 'span', null, h(doc, 'i', { class: 'lg lg-selected' }), 'selected') : null,
    sel ? h(doc, 'span', null, h(doc, 'i', { class: 'lg lg-override' }),
      !all.length ? 'this configuration' : offFront ? 'current (off the front)' : 'selected point, measured') : null);
  if (live) {
    // Measured so far of the front being measured; the rest at the phase-1 prediction.
    const sub = `${live.measured ?? all.length - predicted} of ${live.total ?? all.length} points measured${predicted ? ' · the rest predicted by phase 1' : ''}${g.unplaced ? ' · the rest drawn once measured (phase 1 predicts SQNR only)' : ''}`;
    return card(doc, 'Pareto front — search running', sub,
      { id: ids.card, dataset: { measured: all.length - predicted, predicted } }, svg, legend);
  }
  const unplaced = g.unplaced ? ` · ${g.unplaced} predicted, not drawn (phase 1 predicts SQNR only)` : '';
  const sub = all.length || g.unplaced ? `${g.front.length} on the front${g.path.length ? ` · ${g.path.length} dominated` : ''}${predicted ? ` · ${predicted} predicted` : ''}${unplaced} · ${g.baselines.length} baseline${g.baselines.length === 1 ? '' : 's'}`
    : 'no search: the homogeneous configuration only';
  return card(doc, all.length ? 'Pareto front' : 'Cost and quality', sub,
    { id: ids.card }, svg, legend);
}

/** The strip: one block per weighted layer in network order, width ~ sqrt(MACs), colour = bits. */
export function renderStrip(doc, rows, opts = {}) {
  const W = 1000;
  const H = 34;
  const segs = stripSegments(rows, W);
  const strip = s(doc, 'svg', { class: 'strip', id: 'bit-strip', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none',
    role: 'img', 'aria-label': 'Bits per layer along the network' },
  segs.map((seg) => s(doc, 'rect', { class: `seg ${seg.bitsClass}${seg.override ? ' seg-override' : ''}`,
    x: seg.x, y: 0, width: Math.max(1, seg.w), height: H, rx: 3, dataset: { layer: seg.name },
    onclick: () => opts.onFocusLayer?.(seg.name) },
  s(doc, 'title', null, `${seg.name} (${seg.op}): ${seg.config ?? '?'}${seg.override ? ` → ${seg.override}` : ''} · ${formatCount(seg.macs)} MACs`))));
  const labels = h(doc, 'div', { class: 'strip-labels' }, segs.map((seg) =>
    h(doc, 'span', { class: 'strip-label', style: { left: `${(seg.x / W) * 100}%`, width: `${(seg.w / W) * 100}%` } },
      seg.w > 46 ? seg.config ?? '' : '')));
  const legend = h(doc, 'div', { class: 'legend' },
    h(doc, 'span', null, h(doc, 'i', { class: 'lg bits-4' }), '≤ 4-bit weights'),
    h(doc, 'span', null, h(doc, 'i', { class: 'lg bits-8' }), '8-bit'),
    h(doc, 'span', null, h(doc, 'i', { class: 'lg bits-16' }), '16-bit'),
    h(doc, 'span', { class: 'muted' }, 'width ∝ √MACs, input → output'));
  return card(doc, 'Bits along the network', `${rows.length} weighted layers`, { id: 'strip-card' },
    strip, labels, legend);
}

/** What a layer can be set to: its group's candidates after a search; after a homogeneous run
 * (one candidate) the common set, so one layer can still be tried at other bits. */
const COMMON = ['W4A8', 'W8A8', 'W8A16', 'W16A16'];
function overrideChoices(row, cands) {
  const own = row.candidates.length ? row.candidates : cands;
  return own.length > 1 ? own : [...new Set([...own, ...COMMON])];
}

/** Sort keys of the per-layer table: position, MACs, bits, or a candidate's sensitivity ('sens:W4A8'). */
function sortValue(r, key) {
  if (key === 'index') return r.index;
  if (key === 'macs') return r.macs ?? -1;
  if (key === 'bits') return (r.wBits ?? 0) * 1000 + (r.aBits ?? 0);
  if (key.startsWith('sens:')) {
    const v = r.sensitivity[key.slice(5)];
    return typeof v === 'number' ? v : Infinity;  // not a candidate of the layer: last
  }
  return r.index;
}

/** The first direction of each key: most MACs, most bits and most sensitive (lowest dB) first. */
const FIRST_DIR = { index: 1, macs: -1, bits: -1 };

/**
 * Rows of the per-layer table after `view` = {sort: {key, dir}, filter}: filtered by a
 * case-insensitive substring of the layer's name or op (several words: all must match), sorted
 * (ties keep network order). Pure, so the table and the tests share it.
 */
export function sortFilterRows(rows, view = {}) {
  const words = String(view.filter ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const kept = words.length ? rows.filter((r) => words.every((w) => `${r.name} ${r.op} ${r.config ?? ''}`.toLowerCase().includes(w))) : rows.slice();
  const key = view.sort?.key ?? 'index';
  const dir = view.sort?.dir ?? FIRST_DIR[key] ?? 1;
  return kept.sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    return x === y ? a.index - b.index : (x < y ? -dir : dir);
  });
}

/**
 * The per-layer table. opts: {overrides: Map, onOverride(name, candidate|null), disabled,
 * tableView: {sort, filter} (kept by the app across re-renders; the table updates it)}.
 * Sensitivity columns: SQNR (dB) with only that layer's group quantized at the candidate. The
 * header stays on top while the (tall) table scrolls; a click on a column header sorts by it
 * (again: the other way); the filter matches names and ops. Activation-only groups (no weights,
 * so no row) are listed collapsed under it.
 */
export function renderLayerTable(doc, report, rows, opts = {}) {
  // Sensitivity columns only for candidates that were measured (the start point is not).
  const cands = report.candidates.filter((c) => rows.some((r) => typeof r.sensitivity[c] === 'number'));
  const view = opts.tableView ?? {};
  view.sort ??= { key: 'index', dir: 1 };
  view.filter ??= '';
  const sortHead = (key, label, cls, title = null) => {
    const button = h(doc, 'button', { class: 'sort-button', type: 'button', dataset: { sort: key }, title: title ?? `Sort by ${label}` }, label,
      h(doc, 'span', { class: 'sort-mark', 'aria-hidden': 'true' }, ''));
    button.addEventListener('click', () => {
      view.sort = view.sort.key === key ? { key, dir: -view.sort.dir } : { key, dir: FIRST_DIR[key] ?? 1 };
      apply();
    });
    return h(doc, 'th', { class: cls ?? null, dataset: { sort: key } }, button);
  };
  const head = h(doc, 'tr', null,
    sortHead('index', '#', 'num', 'Sort by position in the network'), h(doc, 'th', null, 'Layer'), h(doc, 'th', null, 'Op'),
    sortHead('macs', 'MACs', 'num'), sortHead('bits', 'Bits'),
    cands.map((c) => sortHead(`sens:${c}`, c, 'num sens-col', `SQNR with only this layer's group at ${c}; sort: most sensitive first`)),
    h(doc, 'th', null, 'Override'));
  // Heat per column: the most sensitive layer at each candidate is the reddest.
  const range = Object.fromEntries(cands.map((c) => {
    const vals = rows.map((r) => r.sensitivity[c]).filter((v) => v !== null && v !== undefined);
    return [c, [Math.min(...vals), Math.max(...vals)]];
  }));
  const rowEls = new Map(rows.map((r) => {
    const select = h(doc, 'select', { class: 'select override', 'aria-label': `Bits for ${r.name}`,
      dataset: { layer: r.name }, disabled: opts.disabled ? true : null },
    h(doc, 'option', { value: '' }, 'search'),
    overrideChoices(r, report.candidates).map((c) => h(doc, 'option', { value: c }, c)));
    select.value = r.override ?? '';
    select.addEventListener('change', () => opts.onOverride?.(r.name, select.value || null));
    return [r, h(doc, 'tr', { dataset: { layer: r.name, bits: r.config ?? '' }, class: r.override ? 'row-override' : null },
      h(doc, 'td', { class: 'num muted' }, String(r.index)),
      h(doc, 'td', { class: 'mono ellipsis', title: r.ran ? r.name : `${r.name}: in a branch or loop body none of your samples took, so its activations stay float and nothing measured its bits; add samples that take it` },
        r.name, r.ran ? null : h(doc, 'span', { class: 'not-run' }, ' · not run on your samples')),
      h(doc, 'td', null, h(doc, 'span', { class: 'pill' }, r.op)),
      h(doc, 'td', { class: 'num', title: `${formatPercent(r.share)} of MACs` }, formatCount(r.macs)),
      h(doc, 'td', null, h(doc, 'span', { class: `bits-chip ${r.bitsClass}` }, r.config ?? '—')),
      cands.map((c) => {
        const v = r.sensitivity[c];
        const ci = v === undefined || v === null ? null : r.sensitivityCi?.[c] ?? null;
        const [lo, hi] = range[c];
        const heat = v === undefined || v === null || !(hi > lo) ? 0 : 1 - (v - lo) / (hi - lo);
        return h(doc, 'td', { class: v === undefined || v === null ? 'num muted sens-col' : 'num sens-col',
          style: { '--heat': heat.toFixed(2) }, title: v === undefined ? 'not a candidate of this layer' : null },
        v === undefined || v === null ? '—' : v.toFixed(1),
        // The bootstrap interval over the calibration samples, beside the value.
        ci ? h(doc, 'span', { class: 'sens-ci', title: `90% interval of what another calibration set of this size would give (bootstrap over the samples): ${ci[0].toFixed(2)} to ${ci[1].toFixed(2)} dB` },
          ` ${ci[0].toFixed(1)}–${ci[1].toFixed(1)}`) : null);
      }),
      h(doc, 'td', null, select))];
  }));
  const tbody = h(doc, 'tbody', null);
  const count = h(doc, 'span', { class: 'muted small table-count', id: 'layer-count' }, '');
  const filter = h(doc, 'input', { class: 'input table-filter', type: 'search', id: 'layer-filter', placeholder: 'Filter by layer name or op',
    'aria-label': 'Filter the layers by name or op', autocomplete: 'off', spellcheck: 'false' });
  filter.value = view.filter;
  filter.addEventListener('input', () => { view.filter = filter.value; apply(); });
  const ths = head.children;
  function apply() {
    const shown = sortFilterRows(rows, view);
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    for (const r of shown) tbody.appendChild(rowEls.get(r));
    count.textContent = shown.length === rows.length ? `${rows.length} layers` : `${shown.length} of ${rows.length} layers`;
    for (const th of ths) {
      if (!th.dataset.sort) continue;
      const on = th.dataset.sort === view.sort.key;
      th.setAttribute('aria-sort', on ? (view.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
      const mark = th.children[0]?.children[0];
      if (mark) mark.textContent = on ? (view.sort.dir > 0 ? ' ▲' : ' ▼') : '';
    }
  }
  apply();
  const toolbar = rows.length > 1 ? h(doc, 'div', { class: 'table-toolbar' }, filter, count,
    h(doc, 'span', { class: 'muted small' }, 'click a column header to sort')) : null;
  return card(doc, 'Layers', cands.length ? 'sensitivity: output SQNR in dB with only that layer quantized (lower = more sensitive)'
    : 'no sensitivities: homogeneous bits, no search',
    { id: 'layers-card' },
    toolbar,
    h(doc, 'div', { class: rows.length > 12 ? 'table-scroll table-tall' : 'table-scroll' }, h(doc, 'table', { class: 'table table-layers', id: 'quant-table' },
      h(doc, 'thead', null, head), tbody)),
    activationGroups(doc, report, cands));
}

/**
 * Groups with activation quantizers only (no weighted layer, so no row above: Add, Concat,
 * pooling outputs...), collapsed into one list: their bits and sensitivities. null without any.
 */
function activationGroups(doc, report, cands) {
  const only = report.groups.filter((g) => !g.layers.length && g.activations.length);
  if (!only.length) return null;
  const chosen = report.selected?.groupConfig ?? null;
  const names = (g) => (g.activations.length > 3 ? `${g.activations.slice(0, 3).join(', ')} … (+${g.activations.length - 3})` : g.activations.join(', '));
  return h(doc, 'details', { class: 'act-groups', id: 'activation-groups' },
    h(doc, 'summary', null, `${only.length} activation-only group${only.length > 1 ? 's' : ''} (no weights: set by the search, shown collapsed)`),
    h(doc, 'div', { class: 'table-scroll table-tall' }, h(doc, 'table', { class: 'table table-compact' },
      h(doc, 'thead', null, h(doc, 'tr', null, h(doc, 'th', { class: 'num' }, 'Group'), h(doc, 'th', null, 'Activations'), h(doc, 'th', null, 'Bits'),
        cands.map((c) => h(doc, 'th', { class: 'num' }, c)))),
      h(doc, 'tbody', null, only.map((g) => h(doc, 'tr', { dataset: { group: g.id } },
        h(doc, 'td', { class: 'num muted' }, String(g.id)),
        h(doc, 'td', { class: 'mono ellipsis', title: g.activations.join('\n') }, names(g)),
        h(doc, 'td', null, chosen?.[g.id] ?? '—'),
        cands.map((c) => h(doc, 'td', { class: 'num' }, typeof g.sensitivity[c] === 'number' ? g.sensitivity[c].toFixed(1) : '—'))))))));
}

/**
 * Everything of the results section for a normalized report. opts: those of the chart and the
 * table, point (the configuration shown), metric (the run's score module, for the totals).
 */
export function renderResults(doc, report, opts = {}) {
  const point = opts.point ?? report.selected;
  const rows = layerRows(report, point, opts.overrides ?? new Map());
  return {
    totals: renderTotals(doc, report, point, opts.metric ?? null),
    pareto: renderPareto(doc, report, opts),
    strip: renderStrip(doc, rows, opts),
    table: renderLayerTable(doc, report, rows, opts),
    rows,
  };
}
