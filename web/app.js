// Bootstrap of the page: model -> samples -> settings -> run -> results -> export, over the JS
// API (web/quantmix.js; the wasm core runs in its Web Worker). Views build DOM from pure data
// (views/*.js, results.js, preprocess.js); this file holds the state and wires the events.
import { classifyFiles } from './files.js';
import { arraysToSamples, classifySampleFiles, imagesToSamples, previewCanvas } from './images.js';
import { InputShapeError, parseInputShapes } from './input_shapes.js';
import { applyPreset, defaultSettings, imageGeometry, parseScale, parseTriple, PreprocessError, toCliSpec, validateSettings } from './preprocess.js';
import { CancelledError, formatEta, PHASES, Quantmix } from './quantmix.js';
import { normalizeQuantReport, parseCandidateList, targetSpec } from './results.js';
import { clear, h } from './views/dom.js';
import { normalizeReport, webWording } from './views/report.js';
import { renderResults } from './views/results_view.js';
import { renderSummary } from './views/summary.js';

// The bundled sample model and its calibration images (web/samples/, from tools/).
const SAMPLE = { name: 'fashion_cnn.onnx', calibCount: 64, calib: (k) => `samples/calib/${String(k).padStart(3, '0')}.png` };
const SAMPLE_URL = new URL(`./samples/${SAMPLE.name}`, import.meta.url);
const SAMPLE_NAME = SAMPLE.name;

// Each built-in profile's candidates (src/mixed_precision/profile.cpp): picking a profile ticks them.
const PROFILE_CANDIDATES = { generic: ['W4A8', 'W8A8', 'W8A16', 'W16A16'], npu: ['W4A8', 'W8A8', 'W4A16', 'W8A16'] };

const $ = (id) => document.getElementById(id);
const ui = {
  app: $('app'), dropZone: $('drop-zone'), fileInput: $('file-input'), chooseButton: $('choose-button'),
  sampleButton: $('sample-button'), loadStatus: $('load-status'), banner: $('banner'),
  bannerTitle: $('banner-title'), bannerMessage: $('banner-message'), bannerClose: $('banner-close'),
  details: $('model-details'), summary: $('summary'), empty: $('empty-state'), version: $('engine-version'),
  demoNote: $('demo-note'),
  stepSamples: $('step-samples'), sampleDrop: $('sample-drop'), sampleInput: $('sample-input'),
  sampleChoose: $('sample-choose'), sampleBuiltin: $('sample-builtin'), sampleClear: $('sample-clear'),
  sampleCount: $('sample-count'), previews: $('sample-previews'), ppForm: $('preprocess-form'),
  pp: { preset: $('pp-preset'), height: $('pp-height'), width: $('pp-width'), layout: $('pp-layout'),
        scale: $('pp-scale'), order: $('pp-order'), mean: $('pp-mean'), std: $('pp-std'), cli: $('pp-cli') },
  stepSettings: $('step-settings'), settingsForm: $('settings-form'), profile: $('set-profile'), mode: $('set-mode'),
  candidates: $('set-candidates'), targetKind: $('set-target-kind'), targetValue: $('set-target-value'),
  maxSamples: $('set-max-samples'), runButton: $('run-button'), cancelButton: $('cancel-button'),
  runStatus: $('run-status'), phases: $('phases'),
  stepResults: $('step-results'), resultsSub: $('results-sub'), resultsTotals: $('results-totals'),
  resultsPareto: $('results-pareto'), resultsSide: $('results-side'), resultsStrip: $('results-strip'),
  resultsTable: $('results-table'),
  stepExport: $('step-export'), dlModel: $('dl-model'), dlEncodings: $('dl-encodings'), dlReport: $('dl-report'),
  validateButton: $('validate-button'), validateResult: $('validate-result'),
};

const params = new URLSearchParams(location.search);
const state = {
  qm: null,
  demo: params.has('demo'),
  model: null,        // {name, blob}
  external: [],       // [{name, blob}]
  inspect: null,      // normalized inspect report
  shapesText: '',
  settings: null,     // preprocessing settings
  samples: [],        // [{name, bytes, data?, shape?, source, kind}]
  busy: false,
  running: false,
  result: null,       // {report (raw), model, encodings, demo}
  report: null,       // normalized
  selectedIndex: null,  // pareto index the user clicked, -1 = overrides, null = the search's pick
  overrides: new Map(),
  requests: 0,
};

// ---------------------------------------------------------------- status and errors

function setBusy(busy, message = '') {
  state.busy = busy;
  ui.app.dataset.busy = String(busy);
  ui.app.setAttribute('aria-busy', String(busy));
  ui.chooseButton.disabled = busy || state.running;
  ui.sampleButton.disabled = busy || state.running;
  ui.dropZone.classList.toggle('is-busy', busy);
  ui.loadStatus.textContent = message;
  for (const b of ui.summary.querySelectorAll('button')) b.disabled = busy;
}

function showError(title, message) {
  ui.bannerTitle.textContent = title;
  ui.bannerMessage.textContent = message;
  ui.banner.hidden = false;
}

function hideError() { ui.banner.hidden = true; }

const messageOf = (e) => webWording(e?.message ?? String(e));

// ---------------------------------------------------------------- model

function showSummary(report, fileBytes) {
  const { element, shapeForm, shapeInput } = renderSummary(document, report, { fileBytes, shapesText: state.shapesText });
  clear(ui.summary);
  ui.summary.appendChild(element);
  ui.summary.hidden = false;
  ui.details.hidden = false;
  ui.empty.hidden = true;
  shapeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    applyInputShapes(shapeInput.value);
  });
}

function showEmpty() {
  clear(ui.summary);
  ui.summary.hidden = true;
  ui.details.hidden = true;
  ui.empty.hidden = false;
  for (const s of [ui.stepSamples, ui.stepSettings, ui.stepResults, ui.stepExport]) s.hidden = true;
}

async function inspectLoaded({ newModel }) {
  const request = ++state.requests;
  const { model, external } = state;
  setBusy(true, `Reading ${model.name}…`);
  try {
    const value = await state.qm.loadModel(model.blob, { name: model.name,
      external: external.map((f) => ({ name: f.name, bytes: f.blob })), inputShapes: parseInputShapes(state.shapesText),
      onProgress: (p) => { if (request === state.requests) ui.loadStatus.textContent = p.message; } });
    if (request !== state.requests) return;
    hideError();
    state.inspect = normalizeReport(value);
    showSummary(state.inspect, model.blob.size);
    ui.app.dataset.state = 'ready';
    onModelReady(newModel);
  } catch (e) {
    if (request !== state.requests) return;
    const title = newModel ? `Could not open ${model.name}` : `Could not re-inspect ${model.name}`;
    showError(title, messageOf(e));
    if (newModel) { state.inspect = null; showEmpty(); }
    ui.app.dataset.state = 'error';
  } finally {
    if (request === state.requests) setBusy(false);
  }
}

function openFiles(fileList) {
  const { model, external, error } = classifyFiles(fileList);
  if (error) { showError('Nothing to open', error); return; }
  state.model = { name: model.name, blob: model };
  state.external = external.map((f) => ({ name: f.name, blob: f }));
  state.shapesText = '';
  inspectLoaded({ newModel: true });
}

async function openSample() {
  setBusy(true, 'Loading the sample model…');
  try {
    const response = await fetch(SAMPLE_URL);
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${SAMPLE_URL.pathname}`);
    state.model = { name: SAMPLE_NAME, blob: await response.blob() };
    state.external = [];
    state.shapesText = '';
  } catch (e) {
    setBusy(false);
    showError('Could not load the sample model', e?.message ?? String(e));
    ui.app.dataset.state = 'error';
    return;
  }
  await inspectLoaded({ newModel: true });
}

function applyInputShapes(text) {
  if (!state.model) return;
  try {
    parseInputShapes(text);
  } catch (e) {
    if (!(e instanceof InputShapeError)) throw e;
    showError('Check the input shapes', e.message);
    return;
  }
  state.shapesText = text.trim();
  inspectLoaded({ newModel: false });
}

/** A model is loaded: reset samples/results, pre-fill preprocessing from its input. */
function onModelReady(newModel) {
  const input = state.inspect.inputs[0] ?? null;
  if (newModel || !state.settings) state.settings = defaultSettings(input);
  else {
    const geo = imageGeometry(input?.shape);
    if (geo?.height) state.settings = { ...state.settings, height: geo.height, width: geo.width ?? state.settings.width, channels: geo.channels, layout: geo.layout };
  }
  state.samples = [];
  resetResults();
  fillPreprocessForm();
  renderSamples();
  ui.stepSamples.hidden = false;
  ui.stepSettings.hidden = false;
  ui.sampleBuiltin.hidden = !(state.model.name === SAMPLE_NAME && SAMPLE.calibCount > 0);
  if (!state.inspect.layers.length) {
    ui.runStatus.textContent = 'This model has no Conv, Gemm or MatMul layer to quantize.';
  }
  updateRunButton();
}

// ---------------------------------------------------------------- samples

function fillPreprocessForm() {
  const s = state.settings;
  ui.pp.preset.value = s.preset ?? 'unit';
  ui.pp.height.value = String(s.height);
  ui.pp.width.value = String(s.width);
  ui.pp.layout.value = s.layout;
  ui.pp.scale.value = Math.abs(s.scale - 1 / 255) < 1e-12 ? '1/255' : String(s.scale);
  ui.pp.order.value = s.order;
  ui.pp.mean.value = s.mean.map((v) => Number(v.toFixed(6))).join(':');
  ui.pp.std.value = s.std.map((v) => Number(v.toFixed(6))).join(':');
  ui.pp.cli.textContent = toCliSpec(s);
}

/** Reads the form into state.settings; returns false (with the banner) when a field is wrong. */
function readPreprocessForm() {
  try {
    const s = validateSettings({
      ...state.settings,
      height: Number(ui.pp.height.value), width: Number(ui.pp.width.value), layout: ui.pp.layout.value,
      scale: parseScale(ui.pp.scale.value), order: ui.pp.order.value,
      mean: parseTriple(ui.pp.mean.value, 'Mean'), std: parseTriple(ui.pp.std.value, 'Std'),
    });
    state.settings = s;
    ui.pp.cli.textContent = toCliSpec(s);
    return true;
  } catch (e) {
    if (!(e instanceof PreprocessError)) throw e;
    showError('Check the preprocessing', e.message);
    return false;
  }
}

async function addSampleFiles(fileList) {
  if (!state.inspect || state.running) return;
  const { images, arrays, rejected } = classifySampleFiles(fileList);
  if (rejected.length) {
    showError('Some files were not added', `${rejected.map((f) => f.name).join(', ')}: expected images (.png, .jpg, .bmp…), .npy or .npz files`);
  }
  if (!images.length && !arrays.length) return;
  if (images.length && !readPreprocessForm()) return;
  setBusy(true, `Decoding ${images.length + arrays.length} sample${images.length + arrays.length > 1 ? 's' : ''}…`);
  try {
    const added = [...await imagesToSamples(images, state.settings), ...await arraysToSamples(arrays)];
    await setSamples([...state.samples, ...added]);
    if (!rejected.length) hideError();
  } catch (e) {
    showError('Could not read the samples', messageOf(e));
  } finally {
    setBusy(false);
  }
}

async function setSamples(list) {
  await state.qm.setSamples(list.map((s) => ({ name: s.name, source: s.source, bytes: s.bytes })));
  state.samples = list;
  renderSamples();
  updateRunButton();
}

async function useBuiltinSamples() {
  setBusy(true, 'Loading the sample images…');
  try {
    const names = Array.from({ length: SAMPLE.calibCount }, (_, k) => SAMPLE.calib(k));
    const files = await Promise.all(names.map(async (n) => {
      const r = await fetch(new URL(`./${n}`, import.meta.url));
      if (!r.ok) throw new Error(`HTTP ${r.status} for ${n}`);
      return new File([await r.blob()], n.split('/').pop(), { type: 'image/png' });
    }));
    setBusy(false);
    await addSampleFiles(files);
  } catch (e) {
    setBusy(false);
    showError('Could not load the sample images', messageOf(e));
  }
}

function renderSamples() {
  const files = state.samples.length;
  const n = state.samples.reduce((sum, s) => sum + (s.count ?? 1), 0);
  ui.sampleCount.textContent = n ? `${n} sample${n > 1 ? 's' : ''}${files !== n ? ` from ${files} file${files > 1 ? 's' : ''}` : ''}` : 'none yet';
  ui.sampleCount.dataset.count = String(n);
  ui.sampleClear.disabled = n === 0 || state.running;
  clear(ui.previews);
  if (!n) {
    ui.previews.appendChild(h(document, 'p', { class: 'muted small' }, 'No samples yet.'));
    return;
  }
  const shown = state.samples.slice(0, 24);
  for (const s of shown) {
    const canvas = previewCanvas(document, s, state.settings, 64);
    ui.previews.appendChild(h(document, 'figure', { class: 'preview', title: s.source ?? s.name, dataset: { name: s.name } },
      canvas ?? h(document, 'div', { class: 'preview-placeholder' }, s.kind === 'npz' ? '.npz' : '—'),
      h(document, 'figcaption', null, s.stacked ? `${s.count}× [${s.shape.slice(1).join('×')}]` : s.shape ? `[${s.shape.join('×')}]` : s.kind)));
  }
  if (files > shown.length) ui.previews.appendChild(h(document, 'p', { class: 'muted small preview-more' }, `+ ${files - shown.length} more files`));
}

// ---------------------------------------------------------------- run

const coreMissing = () => !state.demo && state.qm && !state.qm.capabilities.quantize;

function updateRunButton() {
  const ready = state.inspect && state.samples.length > 0 && state.inspect.layers.length > 0 && !coreMissing();
  ui.runButton.disabled = !ready || state.running || state.restarting;
  if (coreMissing()) {
    ui.runStatus.textContent = 'This build of the engine has no quantization core yet, so nothing can be quantized here. Open the page with ?demo to try the interface with made-up numbers.';
    ui.runStatus.classList.add('run-status-warning');
    return;
  }
  if (!state.running && state.inspect && !state.samples.length) {
    ui.runStatus.textContent = 'Add calibration samples to start.';
    delete ui.runStatus.dataset.sticky;  // a prompt, cleared as soon as samples arrive
  }
  else if (!state.running && ready && !ui.runStatus.dataset.sticky) ui.runStatus.textContent = '';
}

function readSettings() {
  const maxSamplesH = Number(ui.maxSamples.value);
  if (ui.mode.value) {
    if (!Number.isInteger(maxSamplesH) || maxSamplesH < 1 || maxSamplesH > 64) throw new Error(`Samples used "${ui.maxSamples.value}": expected 1 to 64`);
    return { bits: ui.mode.value, maxSamples: maxSamplesH };
  }
  const candidates = parseCandidateList([...ui.candidates.querySelectorAll('input:checked')].map((i) => i.value).join(','));
  const target = targetSpec(ui.targetKind.value, ui.targetValue.value);
  const maxSamples = Number(ui.maxSamples.value);
  if (!Number.isInteger(maxSamples) || maxSamples < 1 || maxSamples > 64) throw new Error(`Samples used "${ui.maxSamples.value}": expected 1 to 64`);
  return { profile: ui.profile.value, candidates, target, maxSamples };
}

function renderPhases(current) {
  clear(ui.phases);
  ui.phases.hidden = false;
  const known = new Set(PHASES.map(([id]) => id));
  const extra = [...current.phases.keys()].filter((id) => !known.has(id)).map((id) => [id, id]);
  for (const [id, label] of [...PHASES, ...extra]) {
    const p = current.phases.get(id);
    if (!p && current.finished) continue;  // a phase this run did not have
    const status = p ? (p.fraction >= 1 && current.phase !== id ? 'done' : current.phase === id ? 'active' : 'done') : 'todo';
    const eta = p && status === 'active' ? formatEta(p.etaSeconds) : '';
    ui.phases.appendChild(h(document, 'li', { class: `phase phase-${status}`, dataset: { phase: id, fraction: p ? p.fraction.toFixed(3) : '0' } },
      h(document, 'span', { class: 'phase-label' }, label),
      h(document, 'span', { class: 'phase-track' }, h(document, 'span', { class: 'phase-fill', style: { width: `${((p?.fraction ?? 0) * 100).toFixed(1)}%` } })),
      h(document, 'span', { class: 'phase-eta' }, status === 'done' ? 'done' : eta ? `${p.done}/${p.total} · ${eta} left` : p ? `${p.done}/${p.total}` : '')));
  }
}

async function runQuantize(extra = {}) {
  if (state.running) return;
  let options;
  try {
    options = { ...readSettings(), ...extra };
  } catch (e) {
    showError('Check the settings', e.message);
    return;
  }
  hideError();
  state.running = true;
  ui.app.dataset.run = 'running';
  ui.runButton.disabled = true;
  ui.cancelButton.hidden = false;
  ui.runStatus.textContent = 'Starting…';
  delete ui.runStatus.dataset.sticky;
  setInputsDisabled(true);
  const progress = { phase: null, phases: new Map() };
  renderPhases(progress);
  let lastPaint = 0;
  try {
    const result = await state.qm.quantize(options, {
      onProgress: (p) => {
        progress.phase = p.phase;
        progress.phases.set(p.phase, p);
        const now = performance.now();
        if (now - lastPaint > 60 || p.done === p.total) {  // at most ~16 repaints a second
          lastPaint = now;
          renderPhases(progress);
          ui.runStatus.textContent = `${p.label}: ${Math.round(p.fraction * 100)}%`;
        }
      },
    });
    progress.phase = null;
    progress.finished = true;
    renderPhases(progress);
    state.result = result;
    state.report = normalizeQuantReport(result.report);
    if (!extra.layerBits) {
      state.selectedIndex = null;
      state.overrides = new Map();
      ui.details.open = false;  // the results take the room; the model summary is one click away
    }
    ui.app.dataset.run = 'done';
    ui.runStatus.textContent = result.demo ? 'Done (demo data).' : `Done in ${(progress.phases.size ? [...progress.phases.values()].pop().elapsedSeconds : 0).toFixed(1)} s.`;
    ui.runStatus.dataset.sticky = '1';
    renderResultsSection();
  } catch (e) {
    if (e instanceof CancelledError) {
      ui.app.dataset.run = 'cancelled';
      ui.runStatus.textContent = 'Cancelled. The engine was restarted; your model and samples are kept.';
      ui.runStatus.dataset.sticky = '1';
      ui.phases.hidden = true;
    } else {
      ui.app.dataset.run = 'error';
      ui.runStatus.textContent = '';
      ui.phases.hidden = true;
      showError('Quantization failed', messageOf(e));
    }
  } finally {
    state.running = false;
    ui.cancelButton.hidden = true;
    ui.cancelButton.disabled = false;
    setInputsDisabled(false);
    updateRunButton();
  }
}

/** Homogeneous bits need no profile, candidates or target. */
function syncMode() {
  const homogeneous = Boolean(ui.mode.value);
  for (const el of [ui.profile, ui.targetKind, ui.targetValue, ...ui.candidates.querySelectorAll('input')]) {
    el.disabled = homogeneous || state.running;
  }
  ui.settingsForm.classList.toggle('is-homogeneous', homogeneous);
}

function setInputsDisabled(disabled) {
  for (const el of [...ui.settingsForm.querySelectorAll('input, select'), ...ui.ppForm.querySelectorAll('input, select'),
    ui.sampleChoose, ui.sampleBuiltin]) el.disabled = disabled;
  if (!disabled) syncMode();
  ui.sampleClear.disabled = disabled || state.samples.length === 0;
  ui.chooseButton.disabled = disabled || state.busy;
  ui.sampleButton.disabled = disabled || state.busy;
  for (const sel of ui.resultsTable.querySelectorAll('select')) sel.disabled = disabled || !canOverride();
  ui.validateButton.disabled = disabled || !state.result?.model;
}

async function cancelRun() {
  ui.cancelButton.disabled = true;
  ui.runStatus.textContent = 'Cancelling…';
  state.restarting = true;
  try {
    await state.qm.cancel();
  } catch (e) {
    showError('The engine did not restart', messageOf(e));
  } finally {
    state.restarting = false;
    updateRunButton();
  }
}

// ---------------------------------------------------------------- results

function resetResults() {
  state.result = null;
  state.report = null;
  state.selectedIndex = null;
  state.overrides = new Map();
  ui.stepResults.hidden = true;
  ui.stepExport.hidden = true;
  ui.phases.hidden = true;
  ui.app.dataset.run = 'idle';
  delete ui.runStatus.dataset.sticky;
  clear(ui.validateResult);
}

const canOverride = () => state.demo || Boolean(state.qm?.capabilities?.layerBits);

function renderResultsSection() {
  const r = state.report;
  const demo = Boolean(state.result?.demo);
  ui.demoNote.hidden = !demo;
  ui.stepResults.hidden = false;
  ui.stepResults.classList.toggle('is-demo', demo);
  const point = state.selectedIndex !== null && state.selectedIndex >= 0 ? r.pareto[state.selectedIndex] : r.selected;
  const selectedIndex = state.selectedIndex ?? findSelectedIndex(r);
  const parts = renderResults(document, r, {
    point: point?.layers ? point : r.selected, selectedIndex, overrides: state.overrides, disabled: !canOverride(),
    onSelectPoint: (i) => selectPoint(i), onOverride: (name, c) => overrideLayer(name, c),
    onFocusLayer: (name) => document.querySelector(`#quant-table tr[data-layer="${CSS.escape(name)}"]`)?.scrollIntoView({ block: 'center', behavior: 'smooth' }),
  });
  const met = r.targetMet === false ? ' — target not met: showing the start point' : '';
  ui.resultsSub.textContent = `${demo ? 'DEMO DATA · ' : ''}${r.target ? `target ${r.target}` : ''}${met}`;
  clear(ui.resultsTotals); ui.resultsTotals.appendChild(parts.totals);
  clear(ui.resultsPareto); ui.resultsPareto.appendChild(parts.pareto);
  clear(ui.resultsStrip); ui.resultsStrip.appendChild(parts.strip);
  clear(ui.resultsTable); ui.resultsTable.appendChild(parts.table);
  clear(ui.resultsSide);
  ui.resultsSide.appendChild(sidePanel(r, point ?? r.selected, demo));
  ui.stepExport.hidden = false;
  const exportable = Boolean(state.result?.model);
  ui.dlModel.disabled = !exportable;
  ui.dlEncodings.disabled = !state.result?.encodings;
  ui.validateButton.disabled = !exportable;
  clear(ui.validateResult);
  if (!exportable) {
    ui.validateResult.appendChild(h(document, 'p', { class: 'muted small' },
      demo ? 'Demo mode: there is no exported model to download or validate.' : 'The core returned no model for this configuration.'));
  }
}

/** The front point the report's selection corresponds to (same cost and SQNR), or null. */
function findSelectedIndex(r) {
  if (!r.selected) return null;
  const i = r.pareto.findIndex((p) => Math.abs(p.relBops - r.selected.relBops) < 1e-9 && Math.abs(p.sqnrDb - r.selected.sqnrDb) < 1e-6);
  return i >= 0 ? i : -1;
}

function sidePanel(r, point, demo) {
  const homogeneous = typeof point?.config === 'string' && /^W\d+A\d+$/.test(point.config);
  const rows = [
    ['Configuration', homogeneous ? `${point.config} everywhere` : state.overrides.size ? `mixed, ${state.overrides.size} layer override${state.overrides.size > 1 ? 's' : ''}` : state.selectedIndex !== null && state.selectedIndex >= 0 ? `Pareto point ${state.selectedIndex}` : 'search result'],
    ['Candidates', r.candidates.join(' · ')],
    ['Samples', `${state.result?.samplesUsed ?? Math.min(state.samples.length, Number(ui.maxSamples.value))} used for calibration and SQNR`],
  ];
  const TIMED = ['calibration', 'phase0', 'phase1', 'phase2', 'phase3', 'export'];
  const timing = TIMED.map((k) => [k, r.timing?.[k]]).filter(([, v]) => typeof v === 'number' && v >= 0.005);
  return h(document, 'section', { class: 'card side-card' },
    h(document, 'header', { class: 'card-head' }, h(document, 'h3', null, 'This configuration')),
    h(document, 'dl', { class: 'kv' }, rows.map(([k, v]) => [h(document, 'dt', null, k), h(document, 'dd', null, v)])),
    timing.length && !demo ? h(document, 'p', { class: 'muted small' }, `Time: ${timing.map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(' · ')}`) : null,
    canOverride() ? h(document, 'p', { class: 'hint' }, r.pareto.length
      ? 'Click a point on the front to choose it, or set a layer’s bits in the table below: the model is re-evaluated.'
      : 'Set a layer’s bits in the table below: the model is re-evaluated and re-exported.')
      : h(document, 'p', { class: 'hint', id: 'override-unavailable' }, 'Choosing another point or overriding a layer needs per-layer bits in the quantization core, which this build does not have yet: the export is the search’s pick.'));
}

async function selectPoint(index) {
  if (state.running || !canOverride()) return;
  const p = state.report.pareto[index];
  if (!p?.layers) { showError('Cannot select this point', 'The report has no per-layer bits for this point.'); return; }
  const layerBits = Object.fromEntries(p.layers.map((l) => [l.name, `W${l.wBits}A${l.aBits}`]));
  state.overrides = new Map();
  await reEvaluate(layerBits, index);
}

async function overrideLayer(name, candidate) {
  if (state.running) return;
  const base = state.report.selected?.layers ?? [];
  if (candidate) state.overrides.set(name, candidate); else state.overrides.delete(name);
  const layerBits = Object.fromEntries(base.map((l) => [l.name, `W${l.wBits}A${l.aBits}`]));
  if (state.selectedIndex === null || state.selectedIndex === -1) {
    // Overrides apply to the search's own pick: only the overridden layers are forced.
    for (const k of Object.keys(layerBits)) delete layerBits[k];
  }
  for (const [k, v] of state.overrides) layerBits[k] = v;
  await reEvaluate(layerBits, state.overrides.size ? -1 : null);
}

async function reEvaluate(layerBits, selectedIndex) {
  const previous = state.report;
  const overrides = state.overrides;
  await runQuantize({ layerBits });
  if (state.report !== previous) {
    state.selectedIndex = selectedIndex;
    state.overrides = overrides;
    renderResultsSection();
  }
}

// ---------------------------------------------------------------- export and validation

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h(document, 'a', { href: url, download: name, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const stem = () => (state.model?.name ?? 'model.onnx').replace(/\.onnx$/i, '');

async function validate() {
  const result = state.result;
  if (!result?.model) return;
  ui.validateButton.disabled = true;
  clear(ui.validateResult);
  const status = h(document, 'p', { class: 'muted small' }, 'Loading ONNX Runtime Web…');
  ui.validateResult.appendChild(status);
  try {
    const { validateExport } = await import('./validate.js');
    const float = { bytes: new Uint8Array(await state.model.blob.arrayBuffer()),
      externalFiles: await Promise.all(state.external.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.blob.arrayBuffer()) }))) };
    const v = await validateExport(float, result.model, state.samples, {
      maxSamples: Number(ui.maxSamples.value) || 32,
      onProgress: (done, total) => { status.textContent = `Running both models in ONNX Runtime Web: ${done}/${total}`; },
    });
    const simulated = state.report.selected?.sqnrDb ?? null;
    clear(ui.validateResult);
    const fmt = (x) => (x === Infinity ? '∞ (identical)' : `${x.toFixed(1)} dB`);
    const diff = simulated !== null && Number.isFinite(v.sqnrDb) ? v.sqnrDb - simulated : null;
    ui.validateResult.appendChild(h(document, 'div', { class: 'validate-grid', id: 'validation', dataset: { sqnr: v.sqnrDb, simulated: simulated ?? '', top1: v.top1Agreement ?? '' } },
      h(document, 'div', { class: 'stat' }, h(document, 'div', { class: 'stat-label' }, 'Simulated SQNR (quantmix)'),
        h(document, 'div', { class: 'stat-value' }, simulated === null ? '—' : fmt(simulated)),
        h(document, 'div', { class: 'stat-detail' }, 'from the search, on the calibration samples')),
      h(document, 'div', { class: 'stat' }, h(document, 'div', { class: 'stat-label' }, 'Exported model in ONNX Runtime'),
        h(document, 'div', { class: 'stat-value' }, fmt(v.sqnrDb)),
        h(document, 'div', { class: 'stat-detail' }, diff === null ? `vs FP32 on ${v.samples} samples` : `${diff >= 0 ? '+' : ''}${diff.toFixed(2)} dB vs simulated · ${v.samples} samples`)),
      h(document, 'div', { class: 'stat' }, h(document, 'div', { class: 'stat-label' }, 'Top-1 agreement with FP32'),
        h(document, 'div', { class: 'stat-value' }, v.top1Agreement === null ? '—' : `${(v.top1Agreement * 100).toFixed(1)}%`),
        h(document, 'div', { class: 'stat-detail' }, v.top1Agreement === null ? 'no class axis in the output' : `${v.rows} predictions compared · ${(v.ms / 1000).toFixed(1)} s`))));
  } catch (e) {
    clear(ui.validateResult);
    ui.validateResult.appendChild(h(document, 'p', { class: 'validate-error', role: 'alert' }, `Validation failed: ${messageOf(e)}`));
  } finally {
    ui.validateButton.disabled = !state.result?.model;
  }
}

// ---------------------------------------------------------------- wiring

/**
 * Drag and drop: files dropped on the samples zone are samples; anywhere else on the page, a
 * model. One set of window listeners decides by the drop target, so both highlights clear.
 */
function wireDrops() {
  let depth = 0;
  const hasFiles = (e) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  const overSamples = (e) => !ui.stepSamples.hidden && ui.sampleDrop.contains(e.target);
  const highlight = (e) => {
    ui.sampleDrop.classList.toggle('is-dragging', depth > 0 && overSamples(e));
    ui.dropZone.classList.toggle('is-dragging', depth > 0 && !overSamples(e));
  };
  window.addEventListener('dragenter', (e) => { if (!hasFiles(e)) return; e.preventDefault(); depth += 1; highlight(e); });
  window.addEventListener('dragleave', (e) => { depth = Math.max(0, depth - 1); highlight(e); });
  window.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); highlight(e); } });
  window.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    const samples = overSamples(e);
    depth = 0;
    highlight(e);
    if (samples) addSampleFiles(e.dataTransfer.files);
    else if (!state.busy && !state.running) openFiles(e.dataTransfer.files);
  });
}

function wire() {
  ui.chooseButton.addEventListener('click', () => ui.fileInput.click());
  ui.fileInput.addEventListener('change', () => {
    if (ui.fileInput.files.length) openFiles(ui.fileInput.files);
    ui.fileInput.value = '';
  });
  ui.sampleButton.addEventListener('click', () => openSample());
  ui.bannerClose.addEventListener('click', hideError);
  wireDrops();
  for (const [zone, input] of [[ui.dropZone, ui.fileInput], [ui.sampleDrop, ui.sampleInput]]) {
    zone.addEventListener('keydown', (e) => {
      if ((e.key === 'Enter' || e.key === ' ') && e.target === zone) { e.preventDefault(); input.click(); }
    });
  }
  ui.sampleChoose.addEventListener('click', () => ui.sampleInput.click());
  ui.sampleInput.addEventListener('change', () => {
    if (ui.sampleInput.files.length) addSampleFiles(ui.sampleInput.files);
    ui.sampleInput.value = '';
  });
  ui.sampleBuiltin.addEventListener('click', () => useBuiltinSamples());
  ui.sampleClear.addEventListener('click', () => setSamples([]).catch((e) => showError('Could not clear the samples', messageOf(e))));
  ui.pp.preset.addEventListener('change', () => {
    state.settings = applyPreset(state.settings, ui.pp.preset.value);
    fillPreprocessForm();
  });
  ui.ppForm.addEventListener('change', (e) => { if (e.target !== ui.pp.preset) readPreprocessForm(); });
  ui.ppForm.addEventListener('submit', (e) => e.preventDefault());
  ui.mode.addEventListener('change', () => syncMode());
  ui.profile.addEventListener('change', () => {
    const defaults = PROFILE_CANDIDATES[ui.profile.value];
    if (defaults) for (const box of ui.candidates.querySelectorAll('input')) box.checked = defaults.includes(box.value);
  });
  ui.settingsForm.addEventListener('submit', (e) => { e.preventDefault(); runQuantize(); });
  ui.cancelButton.addEventListener('click', () => cancelRun());
  ui.dlModel.addEventListener('click', () => state.result?.model && download(new Blob([state.result.model]), `${stem()}.qdq.onnx`));
  ui.dlEncodings.addEventListener('click', () => state.result?.encodings && download(new Blob([state.result.encodings], { type: 'application/json' }), `${stem()}.encodings.json`));
  ui.dlReport.addEventListener('click', () => state.result && download(new Blob([JSON.stringify(state.result.report, null, 2)], { type: 'application/json' }), `${stem()}.report.json`));
  ui.validateButton.addEventListener('click', () => validate());
}

async function main() {
  wire();
  try {
    state.qm = await Quantmix.create({ demo: state.demo });
  } catch (e) {
    showError('The engine did not start', messageOf(e));
    ui.app.dataset.state = 'error';
    return;
  }
  // Kernel threads: >1 only with the wasm-threads module, i.e. on a cross-origin isolated page.
  const threads = state.demo ? null : state.qm.capabilities.threads ?? 1;
  ui.version.textContent = `v${state.qm.version}${state.demo ? ' · demo' : ` · threads: ${threads}`}`;
  ui.version.title = state.demo ? '' : threads > 1 ? 'WebAssembly threads (the page is cross-origin isolated)'
    : 'One thread (WebAssembly threads need a cross-origin isolated page)';
  if (threads !== null) ui.version.dataset.threads = String(threads);
  ui.version.hidden = false;
  window.quantmix = state.qm;  // for the console and the end-to-end test
  if (params.has('empty')) {
    ui.app.dataset.state = 'idle';
    showEmpty();
  } else {
    await openSample();
  }
}

main();
