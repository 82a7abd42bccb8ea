// Step 4, the results: what is shown (a front point, the search's pick, overrides on top of
// them), re-evaluation of a point or an override, and re-selection for a new target.
import { composeOverride, normalizeQuantReport, targetRange, targetSpec } from './results.js';
import { clear, h } from './views/dom.js';
import { renderResults } from './views/results_view.js';
import { doc, ui, state } from './context.js';
import { hideJobErrors, showJobError } from './status.js';
import { runJob, runMetric } from './run.js';
import { download, validate } from './export_step.js';

export function resetResults() {
  state.result = null;
  state.report = null;
  state.pointIndex = null;
  state.overrides = new Map();
  state.tableView = {};
  ui.stepResults.hidden = true;
  ui.stepExport.hidden = true;
  ui.phases.hidden = true;
  ui.app.dataset.run = 'idle';
  delete ui.runStatus.dataset.sticky;
  clear(ui.validateResult);
  hideJobErrors();
  updateTargetSlider();
}

export const canOverride = () => state.demo || Boolean(state.qm?.capabilities?.workspace);
/** The configuration shown can be exported (now or on demand): real results, not demo data. */
export const exportable = () => Boolean(state.result && !state.result.demo && (state.result.model || canOverride()));

/** A result from the engine is what the page shows from now on. */
export function showResult(result) {
  state.result = result;
  state.report = normalizeQuantReport(result.report);
  state.overrides = new Map(Object.entries(state.qm.current?.layerBits ?? {}));
  renderResultsSection();
  updateTargetSlider();
}

/** The front point shown (chart highlight): -1 off the front (overrides), null the search's pick. */
function shownIndex() {
  if (state.overrides.size) return -1;
  return state.pointIndex ?? findSelectedIndex(state.report);
}

function renderResultsSection() {
  const r = state.report;
  const demo = Boolean(state.result?.demo);
  ui.demoNote.hidden = !demo;
  ui.stepResults.hidden = false;
  ui.stepResults.classList.toggle('is-demo', demo);
  const parts = renderResults(doc, r, {
    point: r.selected, selectedIndex: shownIndex(), overrides: state.overrides, disabled: !canOverride(), tableView: state.tableView, metric: runMetric(),
    onSelectPoint: (i) => selectPoint(i), onOverride: (name, c) => overrideLayer(name, c),
    onFocusLayer: (name) => doc.querySelector(`#quant-table tr[data-layer="${CSS.escape(name)}"]`)?.scrollIntoView({ block: 'center', behavior: 'smooth' }),
  });
  const met = r.targetMet === false ? ` — target not met: ${r.message ?? 'showing the start point'}` : '';
  ui.resultsSub.textContent = `${demo ? 'DEMO DATA · ' : ''}${r.target && r.target !== 'none' ? `target ${r.target}` : ''}${met}`;
  clear(ui.resultsTotals); ui.resultsTotals.appendChild(parts.totals);
  clear(ui.resultsPareto); ui.resultsPareto.appendChild(parts.pareto);
  clear(ui.resultsStrip); ui.resultsStrip.appendChild(parts.strip);
  clear(ui.resultsTable); ui.resultsTable.appendChild(parts.table);
  clear(ui.resultsSide);
  ui.resultsSide.appendChild(sidePanel(r, r.selected, demo));
  ui.stepExport.hidden = false;
  // What the buttons export does not meet the target: said beside them too.
  const unmet = r.targetMet === false && state.pointIndex === null && !state.overrides.size;
  ui.exportNote.hidden = !unmet;
  ui.exportNote.textContent = unmet ? `This configuration does not meet the target ${r.target}: ${r.message ?? 'no point meets it'}.` : '';
  updateExportButtons();
  clear(ui.validateResult);
  if (!exportable()) {
    ui.validateResult.appendChild(h(doc, 'p', { class: 'muted small' },
      demo ? 'Demo mode: there is no exported model to download or validate.' : 'The core returned no model for this configuration.'));
  }
  state.renders += 1;
  ui.app.dataset.results = String(state.renders);  // for the e2e test: a new configuration is on screen
}

/** The download and validate buttons: exported now, or on the first click. */
export function updateExportButtons() {
  const can = exportable();
  ui.dlModel.disabled = !can;
  ui.dlEncodings.disabled = !can;
  ui.dlReport.disabled = !state.result;
  ui.validateButton.disabled = !can;
  ui.stepExport.dataset.exported = String(Boolean(state.result?.model));
  const later = can && !state.result.model ? 'This configuration is exported when you download or validate it.' : '';
  ui.dlModel.title = later;
}

/** The front point the report's selection corresponds to (same cost and SQNR), or null. */
function findSelectedIndex(r) {
  if (!r?.selected) return null;
  const same = (a, b) => a && b && a.length === b.length && a.every((x, i) => x === b[i]);
  let i = r.selected.groupConfig ? r.pareto.findIndex((p) => same(p.groupConfig, r.selected.groupConfig)) : -1;
  if (i < 0) i = r.pareto.findIndex((p) => Math.abs(p.relBops - r.selected.relBops) < 1e-9 && Math.abs(p.sqnrDb - r.selected.sqnrDb) < 1e-6);
  return i >= 0 ? i : -1;
}

function sidePanel(r, point, demo) {
  const homogeneous = typeof point?.config === 'string' && /^W\d+A\d+$/.test(point.config);
  const n = state.overrides.size;
  const where = state.pointIndex !== null ? `Pareto point ${state.pointIndex}` : 'search result';
  const rows = [
    ['Configuration', (homogeneous && !n ? `${point.config} everywhere` : n ? `${where}, ${n} layer override${n > 1 ? 's' : ''}` : where)
      + (r.targetMet === false && state.pointIndex === null && !n ? ` — does not meet the target ${r.target}` : '')],
    ['Candidates', r.candidates.join(' · ')],
    ['Samples', `${state.result?.samplesUsed ?? Math.min(state.samples.length, Number(ui.maxSamples.value))} used for calibration and SQNR`],
  ];
  const TIMED = ['calibration', 'phase0', 'phase1', 'phase2', 'phase3', 'evaluate', 'export'];
  const timing = TIMED.map((k) => [k, r.timing?.[k]]).filter(([, v]) => typeof v === 'number' && v >= 0.005);
  const reused = Array.isArray(r.timing?.reused) ? r.timing.reused.map(String) : [];
  return h(doc, 'section', { class: 'card side-card', dataset: { reused: reused.join(',') } },
    h(doc, 'header', { class: 'card-head' }, h(doc, 'h3', null, 'This configuration')),
    h(doc, 'dl', { class: 'kv' }, rows.map(([k, v]) => [h(doc, 'dt', null, k), h(doc, 'dd', null, v)])),
    timing.length && !demo ? h(doc, 'p', { class: 'muted small' }, `Time: ${timing.map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(' · ')}`) : null,
    reused.length && !demo ? h(doc, 'p', { class: 'muted small', id: 'reused' }, `Reused, not recomputed: ${reused.join(' · ')}`) : null,
    canOverride() ? h(doc, 'p', { class: 'hint' }, r.pareto.length
      ? 'Click a point on the front to choose it, move the target, or set a layer’s bits in the table below: the configuration is re-evaluated, the search is not run again.'
      : 'Set a layer’s bits in the table below: the configuration is re-evaluated.')
      : h(doc, 'p', { class: 'hint', id: 'override-unavailable' }, 'Choosing another point or overriding a layer needs the quantization workspace in the core, which this build does not have: the export is the search’s pick.'));
}

/** A click on a front point: that configuration, evaluated (no new search); overrides cleared. */
export async function selectPoint(index) {
  if (state.running || !canOverride()) return;
  const p = state.report.pareto[index];
  if (!p?.groupConfig) { showJobError('evaluate', 'Cannot select this point', 'The report has no configuration for this point.'); return; }
  const result = await runJob('evaluate', (onProgress) => state.qm.evaluate({ config: p.groupConfig }, { onProgress }));
  if (!result) return;
  state.pointIndex = index;
  showResult(result);
}

/**
 * A layer's bits set in the table (candidate null: back to the configuration's own), on top of
 * the configuration shown and the earlier overrides (composeOverride).
 */
export async function overrideLayer(name, candidate) {
  if (state.running) return;
  const next = composeOverride(state.result.report, state.qm.current, { [name]: candidate });
  const result = await runJob('evaluate', (onProgress) => state.qm.evaluate(next, { onProgress }));
  if (result) showResult(result);
  else renderResultsSection();  // the table's select back to what is evaluated
}

// ---------------------------------------------------------------- the target, after a search

/** A search's results are shown, so a new target is a re-selection on its fronts. */
function canReselect() {
  return Boolean(state.report?.pareto.length && state.qm?.options && !state.qm.options.bits && !ui.mode.value && canOverride());
}

/** The slider next to the target value: along the shown front's range for the target kind. */
export function updateTargetSlider() {
  const range = canReselect() ? targetRange(state.report, ui.targetKind.value) : null;
  ui.targetSliderField.hidden = !range;
  if (!range) return;
  ui.targetSlider.min = String(range.min);
  ui.targetSlider.max = String(range.max);
  ui.targetSlider.step = String(range.step);
  const v = Number(ui.targetValue.value);
  ui.targetSlider.value = String(Number.isFinite(v) ? Math.min(range.max, Math.max(range.min, v)) : range.min);
  ui.targetSliderField.dataset.min = String(range.min);
  ui.targetSliderField.dataset.max = String(range.max);
}

/** Re-selects for the target in the form when it differs from the one shown (one at a time). */
export async function reselect() {
  if (!canReselect()) return;
  let target;
  try {
    target = targetSpec(ui.targetKind.value, ui.targetValue.value);
    ui.targetValue.classList.remove('is-invalid');
    ui.targetValue.removeAttribute('aria-invalid');
    ui.targetValue.title = '';
  } catch (e) {
    ui.targetValue.classList.add('is-invalid');
    ui.targetValue.setAttribute('aria-invalid', 'true');
    ui.targetValue.title = e.message;
    return;
  }
  if (state.running) { state.pendingSelect = true; return; }
  if (target === state.qm.options.target && state.pointIndex === null && !state.overrides.size) return;  // shown already
  const result = await runJob('select', (onProgress) => state.qm.select(target, { onProgress }));
  if (!result) return;
  state.pointIndex = null;
  showResult(result);
}

let reselectTimer = null;
export function scheduleReselect(ms) {
  clearTimeout(reselectTimer);
  reselectTimer = setTimeout(() => reselect(), ms);
}

/** The kind changed: the value becomes the shown configuration's, in that kind, and re-selects. */
export function onTargetKind() {
  const range = canReselect() ? targetRange(state.report, ui.targetKind.value) : null;
  if (range && range.current !== null) ui.targetValue.value = String(range.current);
  updateTargetSlider();
  scheduleReselect(0);
}
