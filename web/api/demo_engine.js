// A stand-in for the quantization core, used only in demo mode (?demo in the page URL, or
// {demo: true} in the JS API) and by the node tests of the UI logic. It builds a report with the
// shape of report.json (cli.md) from the model's real inspect report (real layer names and MACs)
// but with MADE-UP SQNR numbers: every report it returns has `demo: true`, and the page labels
// it "Demo data — not computed" everywhere. It exports no model.

function hash(text) {
  let x = 2166136261;
  for (let i = 0; i < text.length; ++i) { x ^= text.charCodeAt(i); x = Math.imul(x, 16777619) >>> 0; }
  return x;
}

const DEFAULT_CANDIDATES = ['W4A8', 'W8A8', 'W8A16', 'W16A16'];
const parse = (c) => { const m = /^W(\d+)A(\d+)$/.exec(c); return { w: Number(m[1]), a: Number(m[2]) }; };

/** A fake noise-to-signal ratio for layer i at candidate c (smaller with more bits). */
function nsr(layer, c) {
  const { w, a } = parse(c);
  const k = 0.5 + (hash(layer.name) % 1000) / 400;
  return k * (2 ** (-2 * w) * 4 + 2 ** (-2 * a));
}

const db = (ratio) => -10 * Math.log10(Math.max(ratio, 1e-12));

/**
 * inspectReport: what Engine.inspect returned. options: {candidates, target: "bops=0.5",
 * config: [candidate per group] (evaluate that configuration instead of the selection)}.
 * overrides: {layer: candidate}, on top of `config` or of the selection (default:
 * options.layerBits). With config or overrides the report has `final` beside `selected`, as the
 * core's workspace does (ws_contract.md). Returns a report.json-shaped object with demo: true.
 */
export function demoReport(inspectReport, options = {}, overrides = options.layerBits ?? {}) {
  const candidates = (options.candidates?.length ? options.candidates : DEFAULT_CANDIDATES)
    .slice().sort((x, y) => parse(y).w * parse(y).a - parse(x).w * parse(x).a);
  const layers = inspectReport.layers.map((l, i) => ({ ...l, macs: l.macs ?? 1000, id: i }));
  const weights = layers.map((l) => l.weight_shape.reduce((a, b) => a * b, 1));
  const base = layers.reduce((s, l) => s + l.macs * 64, 0) || 1;
  const cost = (cfg) => ({
    rel_bops: layers.reduce((s, l, i) => s + l.macs * parse(cfg[i]).w * parse(cfg[i]).a, 0) / base,
    size_bytes: Math.round(weights.reduce((s, n, i) => s + (n * parse(cfg[i]).w) / 8, 0)),
    sqnr_db: db(layers.reduce((s, l, i) => s + nsr(l, cfg[i]), 0)),
  });
  const layerList = (cfg) => cfg.map((c, i) => ({ name: layers[i].name, op: layers[i].op, group: i,
    w_bits: parse(c).w, a_bits: parse(c).a, macs: layers[i].macs }));
  const groups = layers.map((l, i) => ({
    id: i, layers: [l.name], activations: [`${l.name}_input`], candidates,
    sensitivity_db: Object.fromEntries(candidates.map((c) => [c, Number(db(nsr(l, c)).toFixed(2))])),
  }));
  const baselines = candidates.map((c) => ({ config: c, ...cost(layers.map(() => c)) }));
  // Greedy flips, least sensitive first, as phase 2 does.
  const cfg = layers.map(() => candidates[0]);
  const flips = [];
  for (const l of layers) {
    for (const c of candidates.slice(1)) flips.push({ i: l.id, c, loss: nsr(l, c) - nsr(l, candidates[0]) });
  }
  flips.sort((x, y) => x.loss - y.loss);
  const path = [{ ...cost(cfg), config: cfg.slice() }];
  for (const f of flips) {
    const cur = parse(cfg[f.i]);
    const next = parse(f.c);
    if (next.w * next.a >= cur.w * cur.a) continue;
    cfg[f.i] = f.c;
    path.push({ ...cost(cfg), config: cfg.slice() });
  }
  // As the core: every other point only predicted (phase-1 noise sum, here made up a little
  // off), and the points another one beats on both axes marked dominated.
  const pareto = path.map((p, i) => {
    const predicted = p.sqnr_db + ((hash(p.config.join()) % 100) - 50) / 100;
    const measured = i === 0 || i === path.length - 1 || i % 2 === 0;
    return { index: i, rel_bops: p.rel_bops, size_bytes: p.size_bytes, sqnr_db: measured ? p.sqnr_db : null,
             predicted_sqnr_db: predicted, measured, config: p.config };
  });
  const quality = (p) => p.sqnr_db ?? p.predicted_sqnr_db;
  for (const p of pareto) {
    p.dominated = pareto.some((q) => q !== p && q.rel_bops <= p.rel_bops && quality(q) >= quality(p)
      && (q.rel_bops < p.rel_bops || quality(q) > quality(p)));
  }
  const [kind, valueText] = String(options.target ?? 'bops=0.5').split('=');
  const value = Number(valueText);
  let pick = pareto[0];
  let met = false;
  if (kind === 'bops' || kind === 'size') {
    const key = kind === 'bops' ? 'rel_bops' : 'size_bytes';
    const limit = kind === 'bops' ? value : value * weights.reduce((a, b) => a + b, 0);
    const ok = pareto.filter((p) => p[key] <= limit + 1e-9);
    if (ok.length) { met = true; pick = ok.reduce((a, b) => (quality(b) > quality(a) ? b : a)); }
  } else {
    const bar = kind === 'sqnr' ? value : quality(pareto[0]) - value;
    const ok = pareto.filter((p) => quality(p) >= bar);
    if (ok.length) { met = true; pick = ok.reduce((a, b) => (b.rel_bops < a.rel_bops ? b : a)); }
  }
  const picked = path[pick.index].config;
  const report = {
    demo: true,
    model: { file: inspectReport.file, macs: inspectReport.macs },
    candidates,
    groups,
    baselines,
    pareto,
    selected: { index: pick.index, front: 'pareto', config: 'mixed', ...cost(picked), group_config: picked.slice(),
      layers: layerList(picked) },
    target: `${kind}=${value}`,
    target_met: met,
    timing_s: { calibration: 0, phase1: 0, phase2: 0, export: 0 },
  };
  const given = Array.isArray(options.config) ? options.config : null;
  if (given || Object.keys(overrides ?? {}).length) {
    const chosen = (given ?? picked).map((c, i) => overrides?.[layers[i].name] ?? c);
    report.final = { ...cost(chosen), rel_size: cost(chosen).size_bytes / (weights.reduce((a, b) => a + b, 0) || 1),
      group_config: chosen, layers: layerList(chosen) };
  }
  return report;
}

/** Phases a demo run reports progress for, with a fake amount of work each. */
export const DEMO_PHASES = [['calibration', 8], ['phase0', 4], ['phase1', 12], ['phase2', 10]];
