// The quantization report (report.json of ../shared/spec/cli.md) turned into what the results
// views draw: candidates, points of the Pareto chart, per-layer rows and the network strip.
// Pure data in, pure data out (tests/js/results.test.mjs); rendering is in views/results_view.js.

/**
 * "W4A8" -> {w: 4, a: 8, block: 0}; "W4b64A8" (blocked weight scales: one per 64 weights) ->
 * {w: 4, a: 8, block: 64}; null when it is not a candidate name.
 */
export function parseCandidate(name) {
  const m = /^W(\d+)(?:b(\d+))?A(\d+)$/i.exec(String(name ?? '').trim());
  return m ? { w: Number(m[1]), a: Number(m[3]), block: m[2] === undefined ? 0 : Number(m[2]) } : null;
}

export function candidateName(w, a, block = 0) {
  return `W${w}${block ? `b${block}` : ''}A${a}`;
}

const validBlock = (b) => b === 0 || (b >= 16 && b <= 1024 && (b & (b - 1)) === 0);

/** "W4A8, W8A8" -> ["W4A8", "W8A8"]; throws Error naming the first bad entry. */
export function parseCandidateList(text) {
  const items = String(text ?? '').split(/[\s,;]+/).filter((s) => s !== '');
  if (!items.length) throw new Error('Candidates: give at least one, e.g. W4A8,W8A8,W8A16');
  for (const item of items) {
    const c = parseCandidate(item);
    if (!c || ![2, 4, 8, 16].includes(c.w) || ![4, 8, 16].includes(c.a) || !validBlock(c.block)) {
      throw new Error(`Candidate "${item}": expected WxAy with weight bits 4, 8 or 16 and activation bits 8 or 16 (e.g. W4A8), ` +
        'or WxbBAy with blocked weight scales, B a power of two in 16..1024 (e.g. W4b64A8)');
    }
  }
  return [...new Set(items.map((s) => { const c = parseCandidate(s); return candidateName(c.w, c.a, c.block); }))];
}

/** The target form: kind in bops|size|sqnr|sqnr-drop, value text -> "bops=0.5". */
export function targetSpec(kind, valueText) {
  const v = Number(String(valueText).trim());
  const kinds = { bops: [0.01, 16], size: [0.01, 4], sqnr: [-50, 200], 'sqnr-drop': [0, 200] };
  if (!kinds[kind]) throw new Error(`Target "${kind}": expected bops, size, sqnr or sqnr-drop`);
  const [lo, hi] = kinds[kind];
  if (String(valueText).trim() === '' || !Number.isFinite(v) || v < lo || v > hi) {
    const what = { bops: 'relative BOPs (1.0 = W8A8 everywhere)', size: 'weight size relative to 8-bit weights',
      sqnr: 'minimum output SQNR in dB', 'sqnr-drop': 'dB below the best candidate' }[kind];
    throw new Error(`Target ${kind}: "${valueText}" is not a valid ${what} (expected ${lo} to ${hi})`);
  }
  return `${kind}=${v}`;
}

// What the JS API keeps of a search (web/api/search_state.js), re-exported for the app's views.
export { composeOverride, foldFrontEvent } from '../api/search_state.js';

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function normalizePoint(p, index) {
  const sqnrDb = num(p.sqnr_db);
  const predictedSqnrDb = num(p.predicted_sqnr_db);
  // A front point the core did not evaluate carries only the phase-1 prediction (ws_contract.md):
  // the chart draws it at the prediction, hollow. Reports without the flag are all measured.
  const measured = typeof p.measured === 'boolean' ? p.measured : sqnrDb !== null;
  return {
    index,
    config: p.config ?? null,
    // The configuration as one candidate per search group (report pareto[i].config or
    // selected/final.group_config): what evaluate({config}) takes back.
    groupConfig: Array.isArray(p.group_config) ? p.group_config.map(String)
      : Array.isArray(p.config) ? p.config.map(String) : null,
    relBops: num(p.rel_bops),
    sizeBytes: num(p.size_bytes),
    sqnrDb,
    predictedSqnrDb,
    measured,
    chartSqnrDb: measured ? sqnrDb : predictedSqnrDb ?? sqnrDb,
    // Top-1 accuracy against the user's labels (report points carry it when labels were given).
    top1: num(p.top1),
    // The mean of the user's score module over the samples (report points carry it with one).
    score: num(p.score),
    dominated: p.dominated === true,
    layers: Array.isArray(p.layers) ? p.layers.map(normalizeLayer) : null,
  };
}

function normalizeLayer(l) {
  return {
    name: String(l.name ?? ''),
    op: String(l.op ?? ''),
    wBits: num(l.w_bits),
    wBlock: num(l.w_block) ?? 0,
    aBits: num(l.a_bits),
    macs: num(l.macs),
    group: num(l.group),
  };
}

/**
 * report.json (object or string) -> {candidates, groups, baselines, pareto, selected, timing,
 * model, layerGroup: Map(layer name -> group)}. Unknown keys are ignored, missing ones empty.
 */
export function normalizeQuantReport(json) {
  const r = typeof json === 'string' ? JSON.parse(json) : (json ?? {});
  const groups = (r.groups ?? []).map((g) => ({
    id: num(g.id),
    layers: (g.layers ?? []).map(String),
    activations: (g.activations ?? []).map(String),
    candidates: (g.candidates ?? []).map(String),
    sensitivity: Object.fromEntries(Object.entries(g.sensitivity_db ?? {}).map(([k, v]) => [k, num(v)])),
    // Bootstrap interval over the calibration samples per candidate: [low, high] dB (report
    // groups[].sensitivity_ci_db; absent in older reports).
    sensitivityCi: Object.fromEntries(Object.entries(g.sensitivity_ci_db ?? {})
      .filter(([, v]) => Array.isArray(v) && v.length === 2 && num(v[0]) !== null && num(v[1]) !== null)
      .map(([k, v]) => [k, [v[0], v[1]]])),
  }));
  const layerGroup = new Map();
  for (const g of groups) for (const l of g.layers) layerGroup.set(l, g);
  // With per-layer overrides the core reports the overridden configuration as `final` beside
  // the search's own `selected`: what the page shows and exports is `final`.
  const searchSelected = r.selected ? normalizePoint(r.selected, -1) : null;
  const selected = r.final ? normalizePoint({ config: 'mixed', ...r.final }, -1) : searchSelected;
  const pareto = (r.pareto ?? []).map(normalizePoint);
  // A front point may give its configuration per group (config[i] = candidate of groups[i],
  // search_api.md): expand it into per-layer bits, with op and MACs from the selected layers.
  const info = new Map((selected?.layers ?? []).map((l) => [l.name, l]));
  for (const p of pareto) {
    if (p.layers || !Array.isArray(p.config)) continue;
    const layers = [];
    for (const g of groups) {
      const c = parseCandidate(p.config[g.id]);
      for (const name of g.layers) {
        const l = info.get(name);
        layers.push({ name, op: l?.op ?? '', wBits: c?.w ?? null, wBlock: c?.block ?? 0, aBits: c?.a ?? null, macs: l?.macs ?? null, group: g.id });
      }
    }
    const order = new Map((selected?.layers ?? []).map((l, i) => [l.name, i]));
    layers.sort((a, b) => (order.get(a.name) ?? 1e9) - (order.get(b.name) ?? 1e9));
    p.layers = layers;
    p.config = null;  // groupConfig keeps the per-group form
  }
  return {
    model: r.model ?? {},
    candidates: (r.candidates ?? []).map(String),
    groups,
    layerGroup,
    baselines: (r.baselines ?? []).map(normalizePoint),
    pareto,
    searchSelected,
    selected,
    // report.json keeps the target in "search" and whether it was met in "selected" (cli.md).
    target: r.search?.target ?? r.target ?? null,
    targetMet: r.selected?.target_met ?? r.target_met ?? null,
    message: r.selected?.message ?? r.search?.message ?? null,
    timing: r.timing_s ?? {},
    // The search's metric (report search.metric): 'score' with a score module, 'top1' with labels,
    // else 'sqnr'. A homogeneous run has no search section: its points carry score or top1.
    metric: reportMetric(r),
    // The float model's mean score (search.float_score; a homogeneous run's selected.float_score).
    floatScore: num(r.search?.float_score ?? r.selected?.float_score),
    samples: num(r.samples),
    simulated: r.simulated ?? null,
    stability: normalizeStability(r.stability),
    // Layers inside If/Loop/Scan subgraphs no calibration sample ran (report layers_not_run).
    notRun: new Set((Array.isArray(r.layers_not_run) ? r.layers_not_run : []).map(String)),
  };
}

function reportMetric(r) {
  const m = r.search?.metric;
  if (m === 'score' || m === 'top1') return m;
  if (m) return 'sqnr';
  const p = r.final ?? r.selected;
  return num(p?.score) !== null ? 'score' : num(p?.top1) !== null ? 'top1' : 'sqnr';
}

/**
 * report "stability" (how much the choice depends on the calibration samples) -> {verdict:
 * 'stable'|'add samples'|'unknown', message, samples, resamples, rankCorr, suggestedSamples,
 * layersChanged, layers} or null when the report has none (homogeneous, older cores).
 */
export function normalizeStability(st) {
  if (!st || typeof st !== 'object') return null;
  return {
    verdict: String(st.verdict ?? 'unknown'),
    message: st.message ? String(st.message) : '',
    samples: num(st.samples),
    resamples: num(st.resamples),
    rankCorr: num(st.rank_corr),
    suggestedSamples: num(st.suggested_samples) || null,
    layersChanged: num(st.selection?.layers_changed),
    layers: num(st.selection?.layers),
  };
}

/** The verdict in a few words for the results page: {cls, title, detail}. */
export function stabilityVerdict(st) {
  if (!st || st.verdict === 'unknown') return null;
  const corr = st.rankCorr === null ? null : `rank correlation ${st.rankCorr.toFixed(2)} expected between two sets of ${st.samples} samples`;
  const pick = st.layersChanged === null || st.layers === null ? null
    : `the choice differs in ${st.layersChanged.toFixed(1)} of ${st.layers} layers between resamples`;
  const detail = [corr, pick].filter(Boolean).join('; ');
  if (st.verdict === 'stable') return { cls: 'stability-stable', title: 'Calibration set: stable', detail };
  const more = st.suggestedSamples ? `add samples: about ${st.suggestedSamples} should make the choice stable`
    : `add samples: more than ${8 * (st.samples ?? 0)} may be needed, or layers are near ties`;
  return { cls: 'stability-add', title: `Calibration set: ${more}`, detail };
}

/** A "nice" axis: ticks covering [lo, hi] with about `count` steps. */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const ticks = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

/**
 * What the chart's y-axis shows for a point: the search's metric (report.metric, or `metric` for a
 * live front, which has no search section). With SQNR a point phase 2 has not measured sits at
 * its phase-1 prediction; with top-1 or a score only measured points have a value (phase 1
 * predicts SQNR alone), so a predicted point has none and is not drawn on that axis. top-1 and
 * a percent score are in %. Returns (point) -> number | null.
 */
export function chartValue(metric = 'sqnr', { percent = false } = {}) {
  if (metric === 'top1') return (p) => (p.measured !== false && p.top1 !== null && p.top1 !== undefined ? p.top1 * 100 : null);
  if (metric === 'score') {
    return (p) => (p.measured !== false && p.score !== null && p.score !== undefined ? p.score * (percent ? 100 : 1) : null);
  }
  return (p) => p.chartSqnrDb ?? p.sqnrDb;
}

/**
 * Geometry of the Pareto chart: x = rel. BOPs, y = the search's metric (`metric`: 'sqnr' (dB,
 * a predicted-only point at its prediction), 'top1' or 'score' (measured points only); default
 * report.metric; `percent`: a score in %). Returns {metric, x: {ticks}, y: {ticks}, front: the
 * non-dominated points sorted by cost (the line), path: the dominated points of the search's
 * path, unplaced: front points without a value on this axis (predicted only, under top-1 or a
 * score), baselines, selected}, each point with cx, cy (and y, its value). Pure numbers for the
 * SVG view.
 */
export function paretoGeometry(report, { width = 560, height = 300, pad = { l: 52, r: 16, t: 14, b: 40 },
  metric = report.metric ?? 'sqnr', percent = false } = {}) {
  const y = chartValue(metric, { percent });
  const drawable = (p) => p.relBops !== null && y(p) !== null;
  const pts = [...report.pareto, ...report.baselines, ...(report.selected ? [report.selected] : [])].filter(drawable);
  const xs = pts.map((p) => p.relBops);
  const ys = pts.map(y);
  const xTicks = niceTicks(Math.min(0, ...xs), Math.max(1, ...xs), 6);
  // SQNR from 0 dB; top-1 and scores over the range of their values (they differ by little).
  const yTicks = metric === 'sqnr' || !ys.length ? niceTicks(Math.min(...ys, 0), Math.max(...ys, 10), 5)
    : niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const [x0, x1] = [xTicks[0], xTicks[xTicks.length - 1]];
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const mx = (v) => pad.l + ((v - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const my = (v) => height - pad.b - ((v - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  const place = (p) => ({ ...p, y: y(p), cx: mx(p.relBops), cy: my(y(p)) });
  const points = report.pareto.filter(drawable).map(place).sort((a, b) => a.relBops - b.relBops);
  return {
    width, height, pad, metric,
    x: { ticks: xTicks.map((v) => ({ v, at: mx(v) })) },
    y: { ticks: yTicks.map((v) => ({ v, at: my(v) })) },
    front: points.filter((p) => !p.dominated),
    path: points.filter((p) => p.dominated),
    unplaced: report.pareto.filter((p) => p.relBops !== null && !drawable(p)).length,
    baselines: report.baselines.filter(drawable).map(place),
    selected: report.selected && drawable(report.selected) ? place(report.selected) : null,
  };
}

/** Bits of weights of a candidate name, or null. */
const weightBits = (name) => parseCandidate(name)?.w ?? null;

/**
 * The range a target slider spans for `kind` (bops | size | sqnr | sqnr-drop) along the front
 * of a normalized report: {min, max, step, decimals, values: [per front point], current: the
 * shown configuration (report.selected) in that kind, rounded so that it still meets the
 * target, or null}, or null without a front or when its points all have the same value (a
 * slider would move nothing). size is relative to 8-bit weights (from a homogeneous baseline's
 * size); sqnr-drop is below the best baseline.
 */
export function targetRange(report, kind) {
  const front = (report?.pareto ?? []).filter((p) => p.relBops !== null && (p.chartSqnrDb ?? p.sqnrDb) !== null);
  if (!front.length) return null;
  let measure;
  if (kind === 'bops') measure = (p) => p.relBops;
  else if (kind === 'size') {
    const b = report.baselines.find((x) => weightBits(x.config) && x.sizeBytes > 0);
    if (!b || front.some((p) => p.sizeBytes === null)) return null;
    const size8 = (b.sizeBytes * 8) / weightBits(b.config);
    measure = (p) => (p.sizeBytes === null ? null : p.sizeBytes / size8);
  } else if (kind === 'sqnr') measure = (p) => p.chartSqnrDb ?? p.sqnrDb;
  else if (kind === 'sqnr-drop') {
    const quality = front.map((p) => p.chartSqnrDb ?? p.sqnrDb);
    const best = Math.max(...report.baselines.map((b) => b.sqnrDb).filter((v) => v !== null), ...quality);
    measure = (p) => { const q = p.chartSqnrDb ?? p.sqnrDb; return q === null ? null : best - q; };
  } else return null;
  const values = front.map(measure);
  // A front whose points all have the same value of this kind (e.g. one cost): nothing to slide along.
  const known = values.filter((v) => v !== null && Number.isFinite(v));
  if (!known.length || Math.max(...known) - Math.min(...known) < 1e-9) return null;
  const bounds = { bops: [0.01, 16], size: [0.01, 4], sqnr: [-50, 200], 'sqnr-drop': [0, 200] }[kind];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const step = 10 ** Math.floor(Math.log10(Math.max(hi - lo, 1e-3) / 20));  // 20 to 200 steps
  const decimals = Math.max(0, -Math.round(Math.log10(step)));
  const round = (v) => Number(v.toFixed(decimals));
  lo = Math.max(bounds[0], round(Math.floor(lo / step) * step));
  hi = Math.min(bounds[1], round(Math.ceil(hi / step) * step));
  if (!(hi > lo)) hi = round(lo + step);
  // Rounded towards meeting it: a cost or a drop up, an SQNR down.
  const shown = report.selected ? measure(report.selected) : null;
  const toward = kind === 'sqnr' ? Math.floor : Math.ceil;
  const current = shown === null || !Number.isFinite(shown) ? null
    : round(Math.min(bounds[1], Math.max(bounds[0], toward(Number((shown / step).toFixed(6))) * step)));
  return { min: lo, max: hi, step, decimals, values, current };
}

/** A colour per bit-width (weights): 4 warm, 8 accent, 16 cool; used by the strip and the table. */
export function bitsClass(wBits) {
  if (wBits === null || wBits === undefined) return 'bits-fp';
  if (wBits <= 4) return 'bits-4';
  if (wBits <= 8) return 'bits-8';
  return 'bits-16';
}

/**
 * Per-layer rows of the chosen configuration: name, op, bits, MACs share, the group's
 * sensitivity per candidate (dB; higher = less sensitive), its allowed candidates, and whether
 * the calibration samples ran it (`ran`: false for a layer in a branch none of them took).
 * `overrides`: Map(layer name -> candidate) shown as pending.
 */
export function layerRows(report, point = report.selected, overrides = new Map()) {
  const layers = point?.layers ?? [];
  const total = layers.reduce((s, l) => s + (l.macs ?? 0), 0) || 1;
  return layers.map((l, i) => {
    const g = report.layerGroup.get(l.name) ?? null;
    const current = l.wBits !== null && l.aBits !== null ? candidateName(l.wBits, l.aBits, l.wBlock ?? 0) : null;
    return {
      index: i + 1,
      name: l.name,
      op: l.op,
      wBits: l.wBits,
      aBits: l.aBits,
      config: current,
      override: overrides.get(l.name) ?? null,
      macs: l.macs,
      share: l.macs === null ? null : l.macs / total,
      group: g ? g.id : null,
      candidates: g ? g.candidates : report.candidates,
      sensitivity: g ? g.sensitivity : {},
      sensitivityCi: g ? g.sensitivityCi ?? {} : {},
      bitsClass: bitsClass(l.wBits),
      ran: !report.notRun?.has(l.name),
    };
  });
}

/**
 * The strip along the network: one segment per layer, width proportional to sqrt(MACs) (so
 * small layers stay visible), coloured by weight bits. Returns [{name, x, w, bitsClass, ...}].
 */
export function stripSegments(rows, width = 1000, gap = 2) {
  const weights = rows.map((r) => Math.sqrt(Math.max(1, r.macs ?? 1)));
  const sum = weights.reduce((a, b) => a + b, 0) || 1;
  const usable = width - gap * Math.max(0, rows.length - 1);
  let x = 0;
  return rows.map((r, i) => {
    const w = (weights[i] / sum) * usable;
    const seg = { ...r, x, w };
    x += w + gap;
    return seg;
  });
}

/** Totals line: "0.62× BOPs · 700 B · 31.0 dB". */
export function totals(point) {
  return {
    relBops: point?.relBops ?? null,
    sizeBytes: point?.sizeBytes ?? null,
    sqnrDb: point?.sqnrDb ?? null,
  };
}

/** Which front point a click at chart coordinates (px, py) hits: the nearest within `radius`. */
export function nearestPoint(points, px, py, radius = 14) {
  let best = null;
  let bestD = radius * radius;
  for (const p of points) {
    const d = (p.cx - px) ** 2 + (p.cy - py) ** 2;
    if (d <= bestD) { best = p; bestD = d; }
  }
  return best;
}
