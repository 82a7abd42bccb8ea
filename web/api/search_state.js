// What the JS API (web/api/quantmix.js) keeps of a search besides the report: the front folded from
// the core's events while the search runs (foldFrontEvent, the onFront callback's argument) and
// the configuration an override is composed with (composeOverride). Pure.

/**
 * The search's front while it runs (the JS API's onFront; engine.js wsQuantize): folds one event
 * of the core into `live` (null at first) and returns the new state, a report.json-shaped object
 * that normalizeQuantReport() and the chart take as they are: {baselines, pareto (the front of
 * pareto_order, points as report.json's: measured, sqnr_db (null until measured),
 * predicted_sqnr_db, dominated, config), pareto_order, fronts: {order: points}, measured, total}.
 * Events: {event: 'front', order, baselines, pareto} once phase 1 has ordered a front (every
 * point predicted), then {event: 'points', order, points, dominated} as phase 2 measures them
 * (the measured points, and the indices of the front's dominated points). Pure.
 */
export function foldFrontEvent(live, event) {
  const fronts = { ...(live?.fronts ?? {}) };
  let baselines = live?.baselines ?? [];
  const order = String(event?.order ?? 'paper');
  if (event?.event === 'front') {
    fronts[order] = (event.pareto ?? []).map((p) => ({ ...p }));
    if (Array.isArray(event.baselines)) baselines = event.baselines;
  } else if (event?.event === 'points') {
    const pts = (fronts[order] ?? []).slice();
    for (const p of event.points ?? []) if (Number.isInteger(p?.index) && p.index >= 0) pts[p.index] = { ...p };
    const dominated = new Set(event.dominated ?? []);
    fronts[order] = Array.from(pts, (p, i) => (p ? { ...p, dominated: dominated.has(i) } : null)).filter(Boolean);
  } else {
    return live;
  }
  const pareto = fronts[order];
  return { baselines, pareto, pareto_order: order, fronts, measured: pareto.filter((p) => p.measured).length, total: pareto.length };
}

/**
 * The configuration an override is applied to, composed with what is already on screen.
 * report: the raw report.json of what is shown; current: {config, layerBits} the page asked
 * for last (config null: the search's selection); change: {layer: candidate}, a null or ''
 * candidate removes that layer's override. Returns {config, layerBits} for evaluate(): config
 * = current.config, else the shown configuration (final, else selected, per group); layerBits =
 * the earlier overrides with the change on top. So a point's bits and every override stay.
 */
export function composeOverride(report, current, change = {}) {
  const config = current?.config ?? (current ? report?.selected?.group_config
    : report?.final?.group_config ?? report?.selected?.group_config) ?? null;
  const layerBits = { ...(current?.layerBits ?? {}) };
  for (const [layer, candidate] of Object.entries(change ?? {})) {
    if (candidate === null || candidate === undefined || candidate === '') delete layerBits[layer];
    else layerBits[layer] = String(candidate);
  }
  return { config: Array.isArray(config) ? config.slice() : null, layerBits };
}
