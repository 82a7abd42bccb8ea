// Step 3, the run: the settings read into the JS API's options, one request to the engine at a
// time (runJob: quantize, evaluate, select, export) with its phases and live front, cancel.
import { labelsForRun, sampleTotal } from './labels.js';
import { CancelledError, formatEta } from '../api/quantmix.js';
import { normalizeQuantReport, parseCandidateList, targetSpec } from './results.js';
import { scoreMetric } from './sample_models.js';
import { clear } from './views/dom.js';
import { renderPhases as renderPhaseList } from './views/phases.js';
import { renderPareto } from './views/results_view.js';
import { doc, ui, state, APP_DIR } from './context.js';
import { hideError, hideJobErrors, messageOf, showError, showJobError } from './status.js';
import { labelsMismatch, scoreSetting } from './samples.js';
import { canOverride, exportable, reselect, showResult, updateExportButtons, updateTargetSlider } from './results_page.js';

const coreMissing = () => !state.demo && state.qm && !(state.qm.capabilities.quantize && state.qm.capabilities.workspace);

export function updateRunButton() {
  const ready = state.inspect && state.samples.length > 0 && state.inspect.layers.length > 0 && !coreMissing();
  ui.runButton.disabled = !ready || Boolean(state.running) || state.restarting;
  if (coreMissing()) {
    ui.runStatus.textContent = state.qm.capabilities.quantize
      ? 'This build of the engine has no quantization workspace (wsLoad…), which the page needs: rebuild the wasm module. Open the page with ?demo to try the interface with made-up numbers.'
      : 'This build of the engine has no quantization core yet, so nothing can be quantized here. Open the page with ?demo to try the interface with made-up numbers.';
    ui.runStatus.classList.add('run-status-warning');
    return;
  }
  if (!state.running && state.inspect && !state.samples.length) {
    ui.runStatus.textContent = 'Add calibration samples to start.';
    delete ui.runStatus.dataset.sticky;  // a prompt, cleared as soon as samples arrive
  }
  else if (!state.running && ready && !ui.runStatus.dataset.sticky) ui.runStatus.textContent = '';
}

/** "Samples used", 1 to 64; throws an Error naming the field. */
export function readMaxSamples() {
  const n = Number(ui.maxSamples.value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`Samples used "${ui.maxSamples.value}": expected 1 to 64`);
  return n;
}

/**
 * The run's options from the form; with labels, those of the samples used (top-1 becomes the
 * metric); with a score module, its URL (its mean score becomes the metric). Throws an Error
 * whose message starts with the field (or the labels file) at fault.
 */
function readSettings() {
  const maxSamples = readMaxSamples();
  const problem = labelsMismatch();
  if (problem) throw new Error(problem);
  const metric = state.labels ? { labels: labelsForRun(state.labels.values, Math.min(maxSamples, sampleTotal(state.samples))) } : {};
  const score = scoreSetting();
  if (score.problem) throw new Error(score.problem);
  if (score.href) metric.scoreModule = score.href;  // its mean replaces SQNR and top-1 in the search
  if (ui.learnedRounding.checked) metric.weightRounding = 'learned';
  if (!ui.biasCorrection.checked) metric.biasCorrection = false;
  if (ui.mode.value) return { bits: ui.mode.value, maxSamples, ...metric };
  const candidates = parseCandidateList([...ui.candidates.querySelectorAll('input:checked')].map((i) => i.value).join(','));
  const target = targetSpec(ui.targetKind.value, ui.targetValue.value);
  if (ui.frontPoints?.value) metric.frontPoints = ui.frontPoints.value;  // 'all' or a count; else the core's 64
  return { profile: ui.profile.value, candidates, target, maxSamples, ...metric };
}

/** The metric of the run shown: its score module's (sample_models.js scoreMetric), or null. */
export function runMetric() {
  const href = state.qm?.options?.scoreModule;
  return href ? scoreMetric(href, APP_DIR, state.sampleModel) : null;
}

/**
 * The phase list. A full run lists every phase (those to come greyed); an evaluation lists only
 * the phases the core reported (normally just Evaluation: nothing is searched again).
 */
function renderPhases(current) {
  clear(ui.phases);
  const items = renderPhaseList(doc, current, { learnedRounding: ui.learnedRounding.checked });
  ui.phases.hidden = items.length === 0;
  for (const li of items) ui.phases.appendChild(li);
}

const JOBS = {
  quantize: { status: 'Starting…', failed: 'Quantization failed' },
  evaluate: { status: 'Evaluating…', failed: 'Re-evaluation failed' },
  select: { status: 'Selecting for the new target…', failed: 'Re-selection failed' },
  export: { status: 'Exporting…', failed: 'Export failed' },
};

/**
 * Runs one request to the engine: `call(onProgress)` -> its result, or null when it failed or
 * was cancelled (the page says so; what was shown stays). 'quantize' locks the settings; the
 * others (evaluate, select, export) only the results' controls, so the target can still move.
 * One at a time: a target moved meanwhile is selected when this one ends.
 */
export async function runJob(kind, call) {
  if (state.running) return null;
  const full = kind === 'quantize';
  hideError();
  hideJobErrors();
  state.running = kind;
  ui.app.dataset.run = 'running';
  ui.app.dataset.job = kind;
  ui.runButton.disabled = true;
  ui.cancelButton.hidden = false;
  ui.runStatus.textContent = JOBS[kind].status;
  delete ui.runStatus.dataset.sticky;
  setInputsDisabled(true);
  const progress = { phase: null, phases: new Map(), full };
  renderPhases(progress);
  let lastPaint = 0;
  const t0 = performance.now();
  try {
    const result = await call((p) => {
      progress.phase = p.phase;
      progress.phases.set(p.phase, p);
      const now = performance.now();
      if (now - lastPaint > 60 || p.done === p.total) {  // at most ~16 repaints a second
        lastPaint = now;
        renderPhases(progress);
        const overall = (p.overallFraction ?? 1) < 1 ? formatEta(p.overallEtaSeconds) : '';
        ui.runStatus.textContent = `${p.label}: ${Math.round(p.fraction * 100)}%${overall ? ` · about ${overall} left in all` : ''}`;
        ui.runStatus.dataset.overallEta = overall;
      }
    });
    progress.phase = null;
    progress.finished = true;
    renderPhases(progress);
    ui.app.dataset.phases = [...progress.phases.keys()].join(',');
    ui.app.dataset.run = 'done';
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    ui.runStatus.textContent = result?.demo ? 'Done (demo data).'
      : kind === 'quantize' ? `Done in ${seconds} s.` : `${kind === 'export' ? 'Exported' : 'Evaluated'} in ${seconds} s.`;
    ui.runStatus.dataset.sticky = '1';
    return result;
  } catch (e) {
    ui.phases.hidden = true;
    ui.app.dataset.phases = [...progress.phases.keys()].join(',');
    if (e instanceof CancelledError) {
      ui.app.dataset.run = 'cancelled';
      ui.runStatus.textContent = 'Cancelled. The engine was restarted; your model and samples are kept.';
      ui.runStatus.dataset.sticky = '1';
    } else {
      ui.app.dataset.run = 'error';
      ui.runStatus.textContent = '';
      showJobError(kind, JOBS[kind].failed, messageOf(e));
    }
    return null;
  } finally {
    state.running = null;
    hideLiveFront();
    ui.cancelButton.hidden = true;
    ui.cancelButton.disabled = false;
    setInputsDisabled(false);
    updateRunButton();
    if (state.pendingSelect) {
      state.pendingSelect = false;
      setTimeout(() => reselect(), 0);
    }
  }
}

/**
 * The Pareto front while the search runs (the JS API's onFront): drawn once phase 1 has ordered
 * it, every point hollow at its phase-1 prediction, then each point replaced by its measurement
 * as phase 2 makes it; the same chart as the results' (renderPareto), under the phases. The
 * results replace it when the run ends.
 */
function showLiveFront(front, options = {}) {
  clear(ui.liveFront);
  // The live front has no search section: its metric is the one the run asked for.
  const metricKind = options.scoreModule ? 'score' : options.labels ? 'top1' : 'sqnr';
  const metric = options.scoreModule ? scoreMetric(options.scoreModule, APP_DIR, state.sampleModel) : null;
  ui.liveFront.appendChild(renderPareto(doc, normalizeQuantReport(front), { live: { measured: front.measured, total: front.total }, metricKind, metric }));
  ui.liveFront.dataset.measured = String(front.measured);
  ui.liveFront.dataset.total = String(front.total);
  ui.liveFront.hidden = false;
}

function hideLiveFront() {
  ui.liveFront.hidden = true;
  clear(ui.liveFront);
  delete ui.liveFront.dataset.measured;
  delete ui.liveFront.dataset.total;
}

export async function runQuantize() {
  if (state.running) return;
  let options;
  try {
    options = readSettings();
  } catch (e) {
    const field = /^Target /.test(e.message) ? ui.targetValue : /^Samples used/.test(e.message) ? ui.maxSamples
      : /^Score module/.test(e.message) ? ui.scoreModule : null;
    if (field) {
      field.classList.add('is-invalid');
      field.setAttribute('aria-invalid', 'true');
    }
    showError(state.labels && e.message.startsWith(`${state.labels.name}:`) ? 'Check the labels' : 'Check the settings', e.message, ui.settingsForm);
    field?.focus();
    return;
  }
  const result = await runJob('quantize', (onProgress) => state.qm.quantize(options, { onProgress, onFront: (front) => showLiveFront(front, options) }));
  if (!result) return;
  state.pointIndex = null;
  ui.details.open = false;  // the results take the room; the model summary is one click away
  showResult(result);
}

/** Homogeneous bits need no profile, candidates or target. */
export function syncMode() {
  const homogeneous = Boolean(ui.mode.value);
  for (const el of [ui.profile, ui.targetKind, ui.targetValue, ui.targetSlider, ui.frontPoints, ...ui.candidates.querySelectorAll('input')]) {
    el.disabled = homogeneous || state.running === 'quantize';
  }
  ui.settingsForm.classList.toggle('is-homogeneous', homogeneous);
  updateTargetSlider();
}

/**
 * Locks what a running request must not be raced by: during a full run every input; during an
 * evaluation only the results' controls (the target and its slider stay live).
 */
function setInputsDisabled(locked) {
  const full = locked && state.running === 'quantize';
  for (const el of [...ui.settingsForm.querySelectorAll('input, select'), ...ui.ppForm.querySelectorAll('input, select'),
    ui.sampleChoose, ui.sampleBuiltin, ui.labelsChoose, ui.labelsRemove]) el.disabled = full;
  if (!full) syncMode();
  if (locked && !full) for (const el of [ui.mode, ui.maxSamples, ui.frontPoints, ui.sampleChoose, ui.sampleBuiltin, ui.labelsChoose, ui.labelsRemove]) el.disabled = true;
  ui.sampleClear.disabled = locked || state.samples.length === 0;
  ui.chooseButton.disabled = locked || state.busy;
  ui.sampleButton.disabled = locked || state.busy;
  for (const sel of ui.resultsTable.querySelectorAll('select')) sel.disabled = locked || !canOverride();
  for (const b of [ui.dlModel, ui.dlEncodings, ui.dlReport]) b.disabled = locked || !state.result;
  if (!locked) updateExportButtons();
  ui.validateButton.disabled = locked || !exportable();
}

export async function cancelRun() {
  ui.cancelButton.disabled = true;
  ui.runStatus.textContent = 'Cancelling…';
  state.restarting = true;
  try {
    await state.qm.cancel();
  } catch (e) {
    showError('The engine did not restart', messageOf(e), ui.settingsForm);
  } finally {
    state.restarting = false;
    updateRunButton();
  }
}
