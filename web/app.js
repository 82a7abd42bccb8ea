// Bootstrap of the page: model -> samples -> settings -> run -> results -> export, over the JS
// API (web/quantmix.js; the wasm core runs in its Web Worker). Views build DOM from pure data
// (views/*.js, results.js, preprocess.js); this file holds the state and wires the events.
import { classifyFiles } from './files.js';
import { BUNDLED_SAMPLES, PANELS, parseEmbedParams, sameOriginUrl } from './embed_params.js';
import { arraysToSamples, classifySampleFiles, imageSizes, imagesToSamples, previewCanvas } from './images.js';
import { InputShapeError, inputShapeExample, parseInputShapes, sampleShapeProblem } from './input_shapes.js';
import { isLabelsName, isLabelsNpy, labelsForRun, labelsProblem, LabelsError, parseLabels, removeSampleLabels, sampleOffsets, sampleTotal } from './labels.js';
import { applyPreset, defaultSettings, imageGeometry, parseScale, parseTriple, PreprocessError, sizeFromImages, toCliSpec, validateSettings } from './preprocess.js';
import { CancelledError, formatEta, Quantmix } from './quantmix.js';
import { composeOverride, normalizeQuantReport, parseCandidateList, targetRange, targetSpec } from './results.js';
import { clear, h } from './views/dom.js';
import { normalizeReport } from './views/report.js';
import { renderPareto, renderResults } from './views/results_view.js';
import { renderPhases as renderPhaseList } from './views/phases.js';
import { renderSamplePreviews } from './views/samples.js';
import { renderValidation } from './views/validation.js';
import { renderSummary } from './views/summary.js';
import { DEFAULT_SAMPLE, SAMPLE_MODELS, sampleModel, scoreMetric } from './sample_models.js';

// The bundled sample models and their calibration files (web/sample_models.js, web/samples/):
// paths there are relative to this directory.
const APP_DIR = new URL('./', import.meta.url).href;
const appUrl = (path) => new URL(path, APP_DIR).href;

// Each built-in profile's candidates (src/mixed_precision/profile.cpp): picking a profile ticks them.
const PROFILE_CANDIDATES = { generic: ['W4A8', 'W8A8', 'W8A16', 'W16A16'], npu: ['W4A8', 'W8A8', 'W4A16', 'W8A16'] };

const $ = (id) => document.getElementById(id);
const ui = {
  app: $('app'), dropZone: $('drop-zone'), fileInput: $('file-input'), chooseButton: $('choose-button'),
  sampleButton: $('sample-button'), samplePick: $('sample-pick'), loadStatus: $('load-status'), banner: $('banner'),
  bannerTitle: $('banner-title'), bannerMessage: $('banner-message'), bannerClose: $('banner-close'),
  details: $('model-details'), summary: $('summary'), empty: $('empty-state'), version: $('engine-version'),
  demoNote: $('demo-note'),
  stepSamples: $('step-samples'), sampleDrop: $('sample-drop'), sampleInput: $('sample-input'),
  sampleChoose: $('sample-choose'), sampleBuiltin: $('sample-builtin'), sampleClear: $('sample-clear'),
  sampleCount: $('sample-count'), previews: $('sample-previews'), ppForm: $('preprocess-form'),
  pp: { preset: $('pp-preset'), height: $('pp-height'), width: $('pp-width'), layout: $('pp-layout'),
        scale: $('pp-scale'), order: $('pp-order'), mean: $('pp-mean'), std: $('pp-std'), cli: $('pp-cli'),
        pad: $('pp-pad'), padValue: $('pp-pad-value') },
  stepSettings: $('step-settings'), settingsForm: $('settings-form'), profile: $('set-profile'), mode: $('set-mode'), learnedRounding: $('set-learned-rounding'),
  candidates: $('set-candidates'), targetKind: $('set-target-kind'), targetValue: $('set-target-value'),
  targetSlider: $('set-target-slider'), targetSliderField: $('target-slider-field'),
  maxSamples: $('set-max-samples'), scoreModule: $('set-score-module'), scoreStatus: $('score-module-status'), runButton: $('run-button'), cancelButton: $('cancel-button'),
  runStatus: $('run-status'), phases: $('phases'), liveFront: $('live-front'),
  stepResults: $('step-results'), resultsSub: $('results-sub'), resultsTotals: $('results-totals'),
  resultsPareto: $('results-pareto'), resultsSide: $('results-side'), resultsStrip: $('results-strip'),
  resultsTable: $('results-table'), resultsError: $('results-error'), resultsErrorTitle: $('results-error-title'),
  resultsErrorMessage: $('results-error-message'), resultsErrorClose: $('results-error-close'),
  stepExport: $('step-export'), exportNote: $('export-note'), dlModel: $('dl-model'), dlEncodings: $('dl-encodings'), dlReport: $('dl-report'),
  validateButton: $('validate-button'), validateResult: $('validate-result'), exportError: $('export-error'),
  exportErrorTitle: $('export-error-title'), exportErrorMessage: $('export-error-message'), exportErrorClose: $('export-error-close'),
  labelsChoose: $('labels-choose'), labelsInput: $('labels-input'), labelsStatus: $('labels-status'), labelsRemove: $('labels-remove'),
  metricNote: $('metric-note'), ppAuto: $('pp-auto'), paramProblems: $('param-problems'), openFull: $('open-full'),
};

const params = new URLSearchParams(location.search);
// The URL's configuration (an embedded demo: README "Embedding"), checked: refusals are listed
// on the page (#param-problems) and stop autorun.
const embed = parseEmbedParams(params, location.href);
const state = {
  qm: null,
  qmStarting: null,   // the promise of Quantmix.create() while the engine starts
  demo: params.has('demo'),
  model: null,        // {name, blob}
  sampleModel: null,  // the bundled sample open (web/sample_models.js), null for the user's model
  external: [],       // [{name, blob}]
  inspect: null,      // normalized inspect report
  shapesText: '',
  settings: null,     // preprocessing settings
  samples: [],        // [{name, bytes, data?, shape?, source, kind}]
  labels: null,       // {name, values: Int32Array}: one class per sample (a stacked .npy's rows each), in order
  busy: false,
  running: null,      // the request to the engine in progress: 'quantize' | 'evaluate' | 'select' | 'export'
  result: null,       // what is shown: {report (raw), model, encodings, demo} (model null until exported)
  report: null,       // normalized
  pointIndex: null,   // the front point the user clicked (its configuration is shown), null = the search's pick
  overrides: new Map(),  // layer -> candidate forced on top of it (the API's current.layerBits)
  tableView: {},      // the per-layer table's sort and filter, kept across re-renders
  enlarged: null,     // the sample preview shown large
  pendingSelect: false,  // the target moved while a request ran: re-select when it ends
  renders: 0,
  requests: 0,
};

// ---------------------------------------------------------------- status and errors

function setBusy(busy, message = '') {
  state.busy = busy;
  ui.app.dataset.busy = String(busy);
  ui.app.setAttribute('aria-busy', String(busy));
  ui.chooseButton.disabled = busy || Boolean(state.running);
  ui.sampleButton.disabled = busy || Boolean(state.running);
  ui.samplePick.disabled = busy || Boolean(state.running);
  ui.dropZone.classList.toggle('is-busy', busy);
  ui.loadStatus.textContent = message;
  for (const b of ui.summary.querySelectorAll('button')) if (b !== ui.bannerClose) b.disabled = busy;
}

/**
 * The error banner, next to what caused it: `near` is the element it goes after (the samples
 * step, the settings form, the input-shape card...); without it, under the model drop zone. It is
 * scrolled into view, so an error never lands off-screen, and the page stays usable.
 */
function showError(title, message, near = null) {
  ui.bannerTitle.textContent = title;
  ui.bannerMessage.textContent = message;
  // Beside its cause, unless an embed hid that panel: then at the top, where it is seen.
  const anchor = near && near.isConnected && !near.closest('[data-panel-off]') ? near : ui.dropZone;
  if (anchor.nextElementSibling !== ui.banner) anchor.after(ui.banner);
  ui.banner.classList.toggle('banner-inline', anchor !== ui.dropZone);
  ui.banner.dataset.near = anchor.id || anchor.className || '';
  ui.bannerClose.disabled = false;  // setBusy() disables the summary's buttons, this one too while it sat there
  ui.banner.hidden = false;
  ui.banner.scrollIntoView?.({ block: 'nearest' });
}

/** Where errors about samples and preprocessing go: under the samples step's body. */
const nearSamples = () => ui.stepSamples.querySelector('.step-body');

function hideError() { ui.banner.hidden = true; }

/** Before `container` is rebuilt: the banner, if it was put inside it, goes back home first. */
function keepBanner(container) {
  if (container.contains(ui.banner)) {
    ui.dropZone.after(ui.banner);
    ui.banner.classList.remove('banner-inline');
  }
}

/**
 * An evaluation, re-selection or export that failed: said beside the results (or the export
 * buttons), where the user is looking; what was shown stays and the page stays usable.
 */
function showJobError(kind, title, message) {
  if (kind === 'quantize') { showError(title, message, ui.settingsForm); return; }
  const [box, t, m] = kind === 'export' ? [ui.exportError, ui.exportErrorTitle, ui.exportErrorMessage]
    : [ui.resultsError, ui.resultsErrorTitle, ui.resultsErrorMessage];
  t.textContent = title;
  m.textContent = message;
  box.hidden = false;
}

function hideJobErrors() {
  ui.resultsError.hidden = true;
  ui.exportError.hidden = true;
}

const messageOf = (e) => e?.message ?? String(e);

// ---------------------------------------------------------------- model

function showSummary(report, fileBytes) {
  const { element, shapeForm, shapeInput } = renderSummary(document, report, { fileBytes, shapesText: state.shapesText, exampleSize: exampleSize() });
  keepBanner(ui.summary);
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

/** The image size for the input-shape hint: the first sample's, else the preprocessing form's. */
function exampleSize() {
  const shape = state.samples.find((s) => Array.isArray(s.shape) && s.shape.length === 4)?.shape;
  if (shape && state.settings) {
    return state.settings.layout === 'nhwc' ? { height: shape[1], width: shape[2] } : { height: shape[2], width: shape[3] };
  }
  return state.settings ? { height: state.settings.height, width: state.settings.width } : undefined;
}

function showEmpty() {
  keepBanner(ui.summary);
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
    // A model chosen while the engine is still starting waits for it.
    const qm = state.qm ?? await state.qmStarting;
    const value = await qm.loadModel(model.blob, { name: model.name,
      external: external.map((f) => ({ name: f.name, bytes: f.blob })), inputShapes: parseInputShapes(state.shapesText),
      onProgress: (p) => { if (request === state.requests) ui.loadStatus.textContent = p.message; } });
    if (request !== state.requests) return;
    hideError();
    state.inspect = normalizeReport(value);
    showSummary(state.inspect, model.blob.size);
    ui.app.dataset.state = 'ready';
    onModelReady(newModel);
    return true;
  } catch (e) {
    if (request !== state.requests) return false;
    const title = newModel ? `Could not open ${model.name}` : `Could not re-inspect ${model.name}`;
    showError(title, messageOf(e));
    if (newModel) { state.inspect = null; showEmpty(); }
    ui.app.dataset.state = 'error';
    return false;
  } finally {
    if (request === state.requests) setBusy(false);
  }
}

function openFiles(fileList) {
  const { model, external, error } = classifyFiles(fileList);
  if (error) { showError('Nothing to open', error); return; }
  state.model = { name: model.name, blob: model };
  state.sampleModel = null;
  state.external = external.map((f) => ({ name: f.name, blob: f }));
  state.shapesText = '';
  inspectLoaded({ newModel: true });
}

/**
 * Opens the bundled sample model `id` (the picker's choice; web/sample_models.js) and, for a
 * sample whose metric needs them (the text-line recogniser's lines), its calibration files and
 * score module. Resolves true when the model is inspected and those files are in.
 */
async function openSample(id = ui.samplePick.value, shapes = '') {
  const m = sampleModel(id) ?? sampleModel(DEFAULT_SAMPLE);
  ui.samplePick.value = m.id;
  const opened = await openModelUrl(appUrl(m.model), undefined, `the sample model (${m.title})`, shapes, m);
  return opened && m.autoSamples ? useBuiltinSamples() : opened;
}

/**
 * A file on this page's origin (the URL parameters were checked by embed_params.js; a redirect
 * elsewhere is refused too) as a Blob. Throws an Error naming the file.
 */
async function fetchSameOrigin(href) {
  const url = new URL(href, location.href);
  const response = await fetch(url, { credentials: 'same-origin' });
  if (response.url && new URL(response.url).origin !== location.origin) throw new Error(`${url.pathname}: redirected to another origin`);
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  return response.blob();
}

/** The file name of a URL: its last path segment, decoded. */
function urlFileName(href) {
  const last = new URL(href).pathname.split('/').filter(Boolean).pop() ?? 'file';
  try { return decodeURIComponent(last); } catch { return last; }
}

/**
 * Opens the model at `href` (same origin; a bundled sample or model= of an embed); resolves
 * true when it is inspected. `what` names it in an error; `shapes` is the input-shape text;
 * `sample` the bundled sample it is (web/sample_models.js), if it is one.
 */
async function openModelUrl(href, name = urlFileName(href), what = name, shapes = '', sample = null) {
  setBusy(true, `Loading ${what}…`);
  try {
    const blob = await fetchSameOrigin(href);
    state.model = { name, blob };
    state.sampleModel = sample;
    state.external = [];
    state.shapesText = shapes;
  } catch (e) {
    setBusy(false);
    showError(`Could not load ${what}`, e?.message ?? String(e));
    ui.app.dataset.state = 'error';
    return false;
  }
  return inspectLoaded({ newModel: true });
}

function applyInputShapes(text) {
  if (!state.model) return;
  try {
    parseInputShapes(text);
  } catch (e) {
    if (!(e instanceof InputShapeError)) throw e;
    showError('Check the input shapes', e.message, document.getElementById('shapes-card'));
    return;
  }
  state.shapesText = text.trim();
  inspectLoaded({ newModel: false });
}

/**
 * A model is loaded: reset results, pre-fill preprocessing from its input. A new model starts
 * without samples; the same model re-inspected (input shapes) keeps those that still fit.
 */
function onModelReady(newModel) {
  const kept = newModel ? [] : state.samples;
  const input = state.inspect.inputs[0] ?? null;
  if (newModel || !state.settings) state.settings = defaultSettings(input);
  else {
    const geo = imageGeometry(input?.shape);
    if (geo?.height) {
      state.settings = { ...state.settings, height: geo.height, width: geo.width ?? state.settings.width, channels: geo.channels, layout: geo.layout,
        autoHeight: false, autoWidth: geo.width ? false : Boolean(state.settings.autoWidth) };
    }
  }
  state.samples = [];
  if (newModel) {
    state.labels = null;
    // A bundled sample's score module scores that sample's lines only: not the next model's.
    if (SAMPLE_MODELS.some((m) => m.scoreModule && m.scoreModule === ui.scoreModule.value.trim())) ui.scoreModule.value = '';
  }
  resetResults();
  fillPreprocessForm();
  renderSamples();
  renderLabels();
  ui.stepSamples.hidden = false;
  ui.stepSettings.hidden = false;
  ui.sampleBuiltin.hidden = !state.sampleModel?.calib.length;
  if (!state.inspect.layers.length) {
    ui.runStatus.textContent = 'This model has no Conv, Gemm or MatMul layer to quantize.';
  }
  updateRunButton();
  if (kept.length) restoreSamples(kept);
}

/**
 * After a re-inspect the worker has the model again without samples: the ones that fit the
 * (new) input shapes are set again; the others are named in the banner.
 */
async function restoreSamples(list) {
  const fit = [];
  const dropped = [];
  for (const s of list) {
    const why = sampleShapeProblem(s.shape, state.inspect.inputs);
    if (why) dropped.push(`${s.source ?? s.name}: ${why}`);
    else fit.push(s);
  }
  try {
    if (fit.length) await setSamples(fit);
  } catch (e) {
    showError('The samples were not kept', messageOf(e), nearSamples());
    return;
  }
  if (dropped.length) {
    showError(`${dropped.length} sample file${dropped.length > 1 ? 's' : ''} removed: ${dropped.length > 1 ? 'they do' : 'it does'} not fit the new input shape`,
      dropped.join('\n'), nearSamples());
  }
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
  ui.pp.pad.value = s.pad ?? 'none';
  ui.pp.padValue.value = String(s.padValue ?? 0);
  ui.pp.cli.textContent = toCliSpec(s);
  // A dimension the model leaves dynamic follows the first images added (sizeFromImages).
  const auto = [s.autoHeight && 'height', s.autoWidth && 'width'].filter(Boolean);
  ui.pp.height.dataset.auto = String(Boolean(s.autoHeight));
  ui.pp.width.dataset.auto = String(Boolean(s.autoWidth));
  ui.ppAuto.hidden = !auto.length;
  ui.ppAuto.textContent = auto.length === 2 ? 'The model\'s height and width are dynamic: the first image you add sets them (or type them).'
    : auto.length ? `The model's ${auto[0]} is dynamic: it is set from the images you add, keeping their aspect at the ${auto[0] === 'width' ? 'height' : 'width'} (or type it).` : '';
}

/**
 * The image samples again with the current settings (each keeps its file), so a changed form
 * applies to what was already added; the page says so. When the new settings do not fit the
 * model, the samples stay as they were and the error says why.
 */
async function reprocessImages() {
  const images = state.samples.filter((x) => x.kind === 'image' && x.file);
  if (!images.length || state.running) return;
  setBusy(true, `Re-processing ${images.length} image${images.length > 1 ? 's' : ''} with the new settings…`);
  try {
    const redone = [];
    const problems = [];
    for (const x of state.samples) {
      if (!(x.kind === 'image' && x.file)) { redone.push(x); continue; }
      const [y] = await imagesToSamples([x.file], state.settings);
      const why = sampleShapeProblem(y.shape, state.inspect.inputs);
      if (why) problems.push(`${y.source}: ${why} (check Height and Width in the preprocessing)`);
      redone.push(y);
    }
    if (problems.length) {
      showError('The new preprocessing does not fit the model; the samples were not changed', problems.join('\n'), nearSamples());
      return;
    }
    await setSamples(redone);
    hideError();
    ui.runStatus.textContent = `${images.length} image${images.length > 1 ? 's' : ''} re-processed with the new settings.`;
  } catch (e) {
    showError('Could not re-process the images', messageOf(e), nearSamples());
  } finally {
    setBusy(false);
  }
}

/** Reads the form into state.settings; returns false (with the banner) when a field is wrong. */
function readPreprocessForm() {
  try {
    const height = Number(ui.pp.height.value);
    const width = Number(ui.pp.width.value);
    const s = validateSettings({
      ...state.settings,
      height, width, layout: ui.pp.layout.value,
      // A size typed by the user is theirs: the images no longer set it.
      autoHeight: Boolean(state.settings.autoHeight) && height === state.settings.height,
      autoWidth: Boolean(state.settings.autoWidth) && width === state.settings.width,
      scale: parseScale(ui.pp.scale.value), order: ui.pp.order.value,
      mean: parseTriple(ui.pp.mean.value, 'Mean'), std: parseTriple(ui.pp.std.value, 'Std'),
      pad: ui.pp.pad.value, padValue: Number(ui.pp.padValue.value),
    });
    const changed = s.autoHeight !== state.settings.autoHeight || s.autoWidth !== state.settings.autoWidth;
    state.settings = s;
    ui.pp.cli.textContent = toCliSpec(s);
    if (changed) fillPreprocessForm();
    return true;
  } catch (e) {
    if (!(e instanceof PreprocessError)) throw e;
    showError('Check the preprocessing', e.message, nearSamples());
    return false;
  }
}

/**
 * Decodes files into samples one by one and checks each against the model's input: a file that
 * does not decode or does not fit is refused by name (with why), the others are kept.
 * Returns {added, problems: ["name: why"]}.
 */
async function decodeSamples(images, arrays) {
  const added = [];
  const problems = [];
  const one = async (f, decode) => {
    try {
      for (const s of await decode([f])) {
        const why = sampleShapeProblem(s.shape, state.inspect.inputs);
        if (why) problems.push(`${s.source ?? s.name}: ${why}${s.kind === 'image' ? ' (check Height and Width in the preprocessing)' : ''}`);
        else added.push(s);
      }
    } catch (e) {
      problems.push(messageOf(e).startsWith(f.name) ? messageOf(e) : `${f.name}: ${messageOf(e)}`);
    }
  };
  for (const f of images) await one(f, (list) => imagesToSamples(list, state.settings));
  for (const f of arrays) await one(f, arraysToSamples);
  return { added, problems };
}

/**
 * Files added to the samples step: images and .npy/.npz become samples (each batch in name
 * order, as the CLI lists a directory), a labels file (.txt, or a 1-D integer .npy) becomes the
 * labels. A dynamic image size is taken from the images first (sizeFromImages). Resolves
 * {ok (nothing refused), added (samples added)}.
 */
async function addSampleFiles(fileList) {
  if (!state.inspect || state.running) return { ok: false, added: 0 };
  const all = Array.from(fileList ?? []);
  const labelFiles = all.filter((f) => isLabelsName(f.name));
  let rest = all.filter((f) => !isLabelsName(f.name));
  for (const f of rest.filter((x) => /\.npy$/i.test(x.name))) {
    if (isLabelsNpy(new Uint8Array(await f.slice(0, 256).arrayBuffer()))) labelFiles.push(f);
  }
  rest = rest.filter((f) => !labelFiles.includes(f));
  const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const { images, arrays, rejected } = classifySampleFiles(rest);
  images.sort(byName);
  arrays.sort(byName);
  const problems = rejected.map((f) => `${f.name}: expected an image (.png, .jpg, .bmp…), .npy or .npz file, or a labels file (.txt)`);
  if (labelFiles.length > 1) problems.push(`${labelFiles.map((f) => f.name).join(', ')}: one labels file at a time`);
  if (images.length && !readPreprocessForm()) return { ok: false, added: 0 };
  let added = 0;
  if (images.length || arrays.length) {
    setBusy(true, `Decoding ${images.length + arrays.length} sample${images.length + arrays.length > 1 ? 's' : ''}…`);
    try {
      if (images.length && (state.settings.autoHeight || state.settings.autoWidth)) {
        const sized = sizeFromImages(state.settings, await imageSizes(images));
        if (sized !== state.settings) {
          state.settings = sized;
          fillPreprocessForm();
        }
      }
      const decoded = await decodeSamples(images, arrays);
      problems.push(...decoded.problems);
      if (decoded.added.length) await setSamples([...state.samples, ...decoded.added]);
      added = decoded.added.length;
    } catch (e) {
      showError('Could not read the samples', messageOf(e), nearSamples());
      return { ok: false, added };
    } finally {
      setBusy(false);
    }
  }
  if (labelFiles.length === 1) {
    const why = await setLabelsFile(labelFiles[0]);
    if (why) problems.push(why);
  }
  if (problems.length) {
    const n = problems.length;
    showError(`${n} file${n > 1 ? 's were' : ' was'} not added`, problems.join('\n'), nearSamples());
  } else hideError();
  return { ok: problems.length === 0, added };
}

// ---------------------------------------------------------------- labels

/**
 * Reads a labels file (the CLI's --labels format: labels.js); resolves null, or the one-line
 * reason it was refused (the labels then stay as they were). A count that does not match the
 * samples is kept and said beside the labels (renderLabels), and refused at run time.
 */
async function setLabelsFile(file) {
  try {
    const values = parseLabels(new Uint8Array(await file.arrayBuffer()), file.name);
    state.labels = { name: file.name, values };
    renderLabels();
    return null;
  } catch (e) {
    if (!(e instanceof LabelsError)) throw e;
    return e.message;
  }
}

/** The labels' problem with the samples as they are (one line naming the file), or null. */
const labelsMismatch = () => (state.labels ? labelsProblem(state.labels.values, state.labels.name, sampleTotal(state.samples)) : null);

/** The labels line in the samples step and the metric line in the settings. */
function renderLabels() {
  const l = state.labels;
  const problem = labelsMismatch();
  ui.labelsRemove.hidden = !l;
  ui.labelsStatus.dataset.state = !l ? 'none' : problem ? 'error' : 'ok';
  ui.labelsStatus.setAttribute('role', problem ? 'alert' : 'status');
  ui.labelsStatus.textContent = !l ? 'No labels: the search compares the quantized model with the float one (output SQNR).'
    : problem ?? `${l.name}: ${l.values.length} labels, one per sample — the search and the validation use top-1 on them.`;
  renderMetricNote();
}

/** The metric line in the settings: the score module's, top-1 on the labels, or SQNR. */
function renderMetricNote() {
  const l = state.labels;
  const problem = labelsMismatch();
  const score = scoreSetting();
  const top1 = Boolean(l && !problem);
  ui.metricNote.dataset.metric = score.href && !score.problem ? 'score' : top1 ? 'top1' : 'sqnr';
  if (score.href && !score.problem) {
    const n = Math.min(sampleTotal(state.samples), Number(ui.maxSamples.value) || 32);
    ui.metricNote.textContent = `Metric: ${score.metric.describe(n)} (${score.metric.path}); output SQNR is shown beside it.`
      + (top1 ? ` Your labels give top-1 in the validation.` : '');
    return;
  }
  ui.metricNote.textContent = top1
    ? `Metric: top-1 accuracy on your ${l.values.length} labelled samples (${l.name}); output SQNR is shown beside it.`
    : l ? `Metric: output SQNR against the float model — ${l.name} does not match the samples (see step 2).`
      : `Metric: output SQNR against the float model${'panelOff' in ui.stepSamples.dataset ? '' : ' (add a labels file in step 2 to use top-1 on your samples)'}.`;
}

// ---------------------------------------------------------------- the score module

/**
 * The settings' score module (the JS API's scoreModule): {href: absolute same-origin URL | null,
 * metric (sample_models.js scoreMetric), problem: one line starting "Score module:" | null}. An
 * empty field is no module; another origin, javascript:, data: or blob: is refused (as the embed
 * parameters are); a bundled sample's module is refused when the samples are no longer its lines.
 */
function scoreSetting() {
  const text = ui.scoreModule.value.trim();
  if (!text) return { href: null, metric: null, problem: null };
  let href;
  try {
    href = sameOriginUrl(text, location.href, 'Score module');
  } catch (e) {
    return { href: null, metric: null, problem: e.message };
  }
  const metric = scoreMetric(href, APP_DIR, state.sampleModel);
  return { href, metric, problem: sampleScoreProblem(href, metric) };
}

/**
 * A bundled sample's score module scores its own calibration files, by index: why it cannot
 * score the samples as they are (one changed, removed or added among those used), or null.
 */
function sampleScoreProblem(href, metric) {
  const m = metric?.sample ? sampleModel(metric.sample) : null;
  if (!m) return null;
  const names = m.calib.map((p) => p.split('/').pop());
  const used = Math.min(sampleTotal(state.samples), Number(ui.maxSamples.value) || 32);
  const same = used <= names.length && state.samples.slice(0, used).every((s, i) => s.source === names[i] && (s.count ?? 1) === 1);
  if (same) return null;
  return `Score module: ${metric.path} scores the sample's ${names.length} lines in their order, and the samples used are not those: `
    + 'use the sample images again, or clear the score module';
}

/** The line under the score-module field: what it is used for, or why it is refused. */
function renderScoreStatus() {
  const score = scoreSetting();
  ui.scoreStatus.dataset.state = score.problem ? 'error' : score.href ? 'ok' : 'none';
  ui.scoreStatus.setAttribute('role', score.problem ? 'alert' : 'status');
  ui.scoreStatus.textContent = score.problem
    ?? (score.href ? 'The search (phases 0, 2, 3) and the validation use its mean score over the samples.' : '');
  ui.scoreModule.classList.toggle('is-invalid', Boolean(score.problem));
  if (score.problem) ui.scoreModule.setAttribute('aria-invalid', 'true');
  else ui.scoreModule.removeAttribute('aria-invalid');
  renderMetricNote();
}

async function loadLabelsChosen(file) {
  if (state.running) return;
  const why = await setLabelsFile(file);
  if (why) showError('The labels file was not read', why, nearSamples());
  else hideError();
}

/** Removes one sample file (the × on its preview). */
async function removeSample(index) {
  if (state.running || state.busy) return;
  const list = state.samples.filter((_, i) => i !== index);
  state.enlarged = null;
  // The removed file's labels go with it (labels are in sample order), if they matched.
  const labels = state.labels && !labelsMismatch() ? removeSampleLabels(state.labels.values, state.samples, index) : null;
  try {
    await setSamples(list);
    if (labels) {
      state.labels = { ...state.labels, values: labels };
      renderLabels();
    }
  } catch (e) {
    showError('Could not remove the sample', messageOf(e), nearSamples());
  }
}

async function setSamples(list) {
  // Decoded by the core now, only as many as "Samples used" (a bad file is named at once).
  let maxSamples;
  try { maxSamples = readMaxSamples(); } catch { maxSamples = undefined; }
  await state.qm.setSamples(list.map((s) => ({ name: s.name, source: s.source, bytes: s.bytes })), { maxSamples });
  state.samples = list;
  renderSamples();
  renderLabels();
  renderScoreStatus();
  updateRunButton();
}

/**
 * The bundled sample's calibration files; resolves true when all were added. A sample with its
 * own metric (the text-line recogniser's character accuracy) sets its score module too.
 */
async function useBuiltinSamples() {
  const m = state.sampleModel;
  if (!m) return false;
  const ok = await loadSampleUrls(m.calib.map(appUrl), 'the sample images');
  if (ok && m.scoreModule) {
    ui.scoreModule.value = m.scoreModule;
    renderScoreStatus();
  }
  return ok;
}

/**
 * Sample (and labels) files on this origin, fetched and added as if dropped; resolves true when
 * every one was fetched and added. An error names the file.
 */
async function loadSampleUrls(hrefs, what = 'the samples') {
  setBusy(true, `Loading ${what}…`);
  let files;
  try {
    files = await Promise.all(hrefs.map(async (href) => {
      const name = urlFileName(href);
      const blob = await fetchSameOrigin(href);
      return new File([blob], name, { type: /\.png$/i.test(name) ? 'image/png' : blob.type });
    }));
  } catch (e) {
    setBusy(false);
    showError(`Could not load ${what}`, messageOf(e), nearSamples());
    return false;
  }
  setBusy(false);
  const r = await addSampleFiles(files);
  return r.ok;
}

function renderSamples() {
  const files = state.samples.length;
  const n = state.samples.reduce((sum, s) => sum + (s.count ?? 1), 0);
  ui.sampleCount.textContent = n ? `${n} sample${n > 1 ? 's' : ''}${files !== n ? ` from ${files} file${files > 1 ? 's' : ''}` : ''}` : 'none yet';
  ui.sampleCount.dataset.count = String(n);
  ui.sampleClear.disabled = n === 0 || Boolean(state.running);
  // The input-shape hint's example follows the samples' size.
  const example = ui.summary.querySelector('.shape-example');
  const text = state.inspect ? inputShapeExample(state.inspect.inputs, exampleSize()) : '';
  if (example && text) example.textContent = text;
  clear(ui.previews);
  const parts = renderSamplePreviews(document, state.samples, {
    preview: (s, big) => previewCanvas(document, s, state.settings, big ? 640 : 160, big ? 320 : 96),
    enlarged: state.enlarged ?? null, disabled: Boolean(state.running),
    onRemove: (i) => removeSample(i),
    onEnlarge: (i) => { state.enlarged = i; renderSamples(); },
  });
  for (const el of parts) ui.previews.appendChild(el);
}

// ---------------------------------------------------------------- run

const coreMissing = () => !state.demo && state.qm && !(state.qm.capabilities.quantize && state.qm.capabilities.workspace);

function updateRunButton() {
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
function readMaxSamples() {
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
  if (ui.mode.value) return { bits: ui.mode.value, maxSamples, ...metric };
  const candidates = parseCandidateList([...ui.candidates.querySelectorAll('input:checked')].map((i) => i.value).join(','));
  const target = targetSpec(ui.targetKind.value, ui.targetValue.value);
  return { profile: ui.profile.value, candidates, target, maxSamples, ...metric };
}

/** The metric of the run shown: its score module's (sample_models.js scoreMetric), or null. */
function runMetric() {
  const href = state.qm?.options?.scoreModule;
  return href ? scoreMetric(href, APP_DIR, state.sampleModel) : null;
}

/**
 * The phase list. A full run lists every phase (those to come greyed); an evaluation lists only
 * the phases the core reported (normally just Evaluation: nothing is searched again).
 */
function renderPhases(current) {
  clear(ui.phases);
  const items = renderPhaseList(document, current, { learnedRounding: ui.learnedRounding.checked });
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
async function runJob(kind, call) {
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
  ui.liveFront.appendChild(renderPareto(document, normalizeQuantReport(front), { live: { measured: front.measured, total: front.total }, metricKind, metric }));
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

async function runQuantize() {
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
function syncMode() {
  const homogeneous = Boolean(ui.mode.value);
  for (const el of [ui.profile, ui.targetKind, ui.targetValue, ui.targetSlider, ...ui.candidates.querySelectorAll('input')]) {
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
  if (locked && !full) for (const el of [ui.mode, ui.maxSamples, ui.sampleChoose, ui.sampleBuiltin, ui.labelsChoose, ui.labelsRemove]) el.disabled = true;
  ui.sampleClear.disabled = locked || state.samples.length === 0;
  ui.chooseButton.disabled = locked || state.busy;
  ui.sampleButton.disabled = locked || state.busy;
  for (const sel of ui.resultsTable.querySelectorAll('select')) sel.disabled = locked || !canOverride();
  for (const b of [ui.dlModel, ui.dlEncodings, ui.dlReport]) b.disabled = locked || !state.result;
  if (!locked) updateExportButtons();
  ui.validateButton.disabled = locked || !exportable();
}

async function cancelRun() {
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

// ---------------------------------------------------------------- results

function resetResults() {
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

const canOverride = () => state.demo || Boolean(state.qm?.capabilities?.workspace);
/** The configuration shown can be exported (now or on demand): real results, not demo data. */
const exportable = () => Boolean(state.result && !state.result.demo && (state.result.model || canOverride()));

/** A result from the engine is what the page shows from now on. */
function showResult(result) {
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
  const parts = renderResults(document, r, {
    point: r.selected, selectedIndex: shownIndex(), overrides: state.overrides, disabled: !canOverride(), tableView: state.tableView, metric: runMetric(),
    onSelectPoint: (i) => selectPoint(i), onOverride: (name, c) => overrideLayer(name, c),
    onFocusLayer: (name) => document.querySelector(`#quant-table tr[data-layer="${CSS.escape(name)}"]`)?.scrollIntoView({ block: 'center', behavior: 'smooth' }),
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
    ui.validateResult.appendChild(h(document, 'p', { class: 'muted small' },
      demo ? 'Demo mode: there is no exported model to download or validate.' : 'The core returned no model for this configuration.'));
  }
  state.renders += 1;
  ui.app.dataset.results = String(state.renders);  // for the e2e test: a new configuration is on screen
}

/** The download and validate buttons: exported now, or on the first click. */
function updateExportButtons() {
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
  return h(document, 'section', { class: 'card side-card', dataset: { reused: reused.join(',') } },
    h(document, 'header', { class: 'card-head' }, h(document, 'h3', null, 'This configuration')),
    h(document, 'dl', { class: 'kv' }, rows.map(([k, v]) => [h(document, 'dt', null, k), h(document, 'dd', null, v)])),
    timing.length && !demo ? h(document, 'p', { class: 'muted small' }, `Time: ${timing.map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(' · ')}`) : null,
    reused.length && !demo ? h(document, 'p', { class: 'muted small', id: 'reused' }, `Reused, not recomputed: ${reused.join(' · ')}`) : null,
    canOverride() ? h(document, 'p', { class: 'hint' }, r.pareto.length
      ? 'Click a point on the front to choose it, move the target, or set a layer’s bits in the table below: the configuration is re-evaluated, the search is not run again.'
      : 'Set a layer’s bits in the table below: the configuration is re-evaluated.')
      : h(document, 'p', { class: 'hint', id: 'override-unavailable' }, 'Choosing another point or overriding a layer needs the quantization workspace in the core, which this build does not have: the export is the search’s pick.'));
}

/** A click on a front point: that configuration, evaluated (no new search); overrides cleared. */
async function selectPoint(index) {
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
async function overrideLayer(name, candidate) {
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
function updateTargetSlider() {
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
async function reselect() {
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
function scheduleReselect(ms) {
  clearTimeout(reselectTimer);
  reselectTimer = setTimeout(() => reselect(), ms);
}

/** The kind changed: the value becomes the shown configuration's, in that kind, and re-selects. */
function onTargetKind() {
  const range = canReselect() ? targetRange(state.report, ui.targetKind.value) : null;
  if (range && range.current !== null) ui.targetValue.value = String(range.current);
  updateTargetSlider();
  scheduleReselect(0);
}

// ---------------------------------------------------------------- export and validation

/** The configuration shown, exported (now if it was not yet); null if that failed. */
async function ensureExported() {
  if (!state.result) return null;
  if (state.result.model || state.result.demo) return state.result;
  const result = await runJob('export', (onProgress) => state.qm.export({ onProgress }));
  if (!result) return null;
  state.result = result;
  updateExportButtons();
  return result;
}

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
  if (state.running) return;
  const result = await ensureExported();
  if (!result?.model) return;
  ui.validateButton.disabled = true;
  clear(ui.validateResult);
  const status = h(document, 'p', { class: 'muted small' }, 'Loading ONNX Runtime Web…');
  ui.validateResult.appendChild(status);
  try {
    const { validateExport } = await import('./validate.js');
    const float = { bytes: new Uint8Array(await state.model.blob.arrayBuffer()),
      externalFiles: await Promise.all(state.external.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.blob.arrayBuffer()) }))) };
    // With labels that match the samples: each sample file's (first row's) class.
    const offsets = new Map(sampleOffsets(state.samples).map((k, i) => [state.samples[i], k]));
    const labels = state.labels && !labelsMismatch() ? state.labels.values : null;
    // The run's score module scores ONNX Runtime's outputs too, by the sample's index in the run.
    const metric = runMetric();
    const v = await validateExport(float, result.model, state.samples, {
      maxSamples: Number(ui.maxSamples.value) || 32,
      labelOf: labels ? (s) => (offsets.has(s) ? labels[offsets.get(s)] ?? null : null) : null,
      scoreModule: metric?.href ?? null, indexOf: (s) => offsets.get(s),
      onProgress: (done, total) => { status.textContent = `Running both models in ONNX Runtime Web: ${done}/${total}`; },
    });
    const simulated = state.report.selected?.sqnrDb ?? null;
    clear(ui.validateResult);
    ui.validateResult.appendChild(renderValidation(document, v, simulated, { metric, simulatedScore: state.report.selected?.score ?? null }));
  } catch (e) {
    clear(ui.validateResult);
    ui.validateResult.appendChild(h(document, 'p', { class: 'validate-error', role: 'alert' }, `Validation failed: ${messageOf(e)}`));
  } finally {
    ui.validateButton.disabled = !exportable() || Boolean(state.running);
  }
}

/** A download button: the configuration shown, exported first if it was not yet. */
async function downloadExported(pick) {
  if (state.running) return;
  const result = await ensureExported();
  const file = result && pick(result);
  if (file) download(file.blob, file.name);
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
  for (const m of SAMPLE_MODELS) ui.samplePick.appendChild(h(document, 'option', { value: m.id }, m.title));
  ui.samplePick.value = DEFAULT_SAMPLE;
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
  ui.sampleClear.addEventListener('click', () => {
    state.labels = null;  // they labelled the samples cleared
    setSamples([]).catch((e) => showError('Could not clear the samples', messageOf(e), nearSamples()));
  });
  ui.labelsChoose.addEventListener('click', () => ui.labelsInput.click());
  ui.labelsInput.addEventListener('change', () => {
    if (ui.labelsInput.files.length) loadLabelsChosen(ui.labelsInput.files[0]);
    ui.labelsInput.value = '';
  });
  ui.labelsRemove.addEventListener('click', () => {
    state.labels = null;
    renderLabels();
  });
  ui.pp.preset.addEventListener('change', () => {
    state.settings = applyPreset(state.settings, ui.pp.preset.value);
    fillPreprocessForm();
    reprocessImages();
  });
  ui.ppForm.addEventListener('change', (e) => {
    if (e.target !== ui.pp.preset && readPreprocessForm()) reprocessImages();
  });
  ui.ppForm.addEventListener('submit', (e) => e.preventDefault());
  ui.mode.addEventListener('change', () => syncMode());
  ui.profile.addEventListener('change', () => {
    const defaults = PROFILE_CANDIDATES[ui.profile.value];
    if (defaults) for (const box of ui.candidates.querySelectorAll('input')) box.checked = defaults.includes(box.value);
  });
  ui.settingsForm.addEventListener('submit', (e) => { e.preventDefault(); runQuantize(); });
  // After a search, a new target re-selects on its fronts at once (no calibration, no search).
  ui.targetKind.addEventListener('change', () => onTargetKind());
  ui.targetValue.addEventListener('input', () => {
    ui.targetValue.classList.remove('is-invalid');
    ui.targetValue.removeAttribute('aria-invalid');
    updateTargetSlider();
    scheduleReselect(100);
  });
  ui.maxSamples.addEventListener('input', () => { ui.maxSamples.classList.remove('is-invalid'); ui.maxSamples.removeAttribute('aria-invalid'); });
  ui.maxSamples.addEventListener('change', () => renderScoreStatus());
  ui.scoreModule.addEventListener('change', () => renderScoreStatus());
  ui.targetValue.addEventListener('change', () => scheduleReselect(0));
  ui.targetSlider.addEventListener('input', () => {
    const range = targetRange(state.report, ui.targetKind.value);
    ui.targetValue.value = range ? Number(ui.targetSlider.value).toFixed(range.decimals) : ui.targetSlider.value;
    scheduleReselect(100);
  });
  ui.resultsErrorClose.addEventListener('click', () => { ui.resultsError.hidden = true; });
  ui.exportErrorClose.addEventListener('click', () => { ui.exportError.hidden = true; });
  ui.cancelButton.addEventListener('click', () => cancelRun());
  ui.dlModel.addEventListener('click', () => downloadExported((r) => r.model && { blob: new Blob([r.model]), name: `${stem()}.qdq.onnx` }));
  ui.dlEncodings.addEventListener('click', () => downloadExported((r) => r.encodings && { blob: new Blob([r.encodings], { type: 'application/json' }), name: `${stem()}.encodings.json` }));
  ui.dlReport.addEventListener('click', () => downloadExported((r) => ({ blob: new Blob([JSON.stringify(r.report, null, 2)], { type: 'application/json' }), name: `${stem()}.report.json` })));
  ui.validateButton.addEventListener('click', () => validate());
}

// ---------------------------------------------------------------- URL configuration (embedding)

/** The URL parameters that were refused, one line each (as text, never markup), at the top. */
function showParamProblems(problems) {
  clear(ui.paramProblems);
  ui.paramProblems.hidden = !problems.length;
  if (!problems.length) return;
  ui.paramProblems.appendChild(h(document, 'strong', null,
    `${problems.length === 1 ? 'A URL parameter was' : `${problems.length} URL parameters were`} not used`));
  ui.paramProblems.appendChild(h(document, 'ul', null, problems.map((p) => h(document, 'li', null, p))));
  if (embed.config.autorun) {
    ui.paramProblems.appendChild(h(document, 'p', { class: 'callout-text', id: 'autorun-blocked' },
      'Autorun did not start: correct the parameters above (the page\'s address), or run it from the settings.'));
  }
}

/** panels=...: the panels not listed are hidden (they still work: autorun fills them). */
function applyPanels(panels) {
  const elements = { model: [ui.dropZone, ui.details, ui.empty], samples: [ui.stepSamples], settings: [ui.stepSettings],
    results: [ui.stepResults], export: [ui.stepExport] };
  for (const name of PANELS) {
    for (const el of elements[name]) {
      if (panels.has(name)) delete el.dataset.panelOff;
      else el.dataset.panelOff = '';
    }
  }
}

/** candidates, target, bits, profile and max-samples from the URL into the settings form. */
function applyUrlSettings(c) {
  if (c.profile) ui.profile.value = c.profile;
  if (c.candidates) {
    const have = new Set([...ui.candidates.querySelectorAll('input')].map((i) => i.value));
    for (const name of c.candidates) {
      if (have.has(name)) continue;
      ui.candidates.appendChild(h(document, 'label', { class: 'check' }, h(document, 'input', { type: 'checkbox', value: name }), ` ${name}`));
    }
    for (const box of ui.candidates.querySelectorAll('input')) box.checked = c.candidates.includes(box.value);
  }
  if (c.target) {
    ui.targetKind.value = c.targetKind;
    ui.targetValue.value = c.targetValue;
  }
  if (c.bits) ui.mode.value = c.bits;
  if (c.maxSamples) ui.maxSamples.value = String(c.maxSamples);
  syncMode();
}

/**
 * Embedded in another page (an <iframe>): tells the parent the page's height (so web/embed.js
 * sizes the frame to it) and the run's state. Only these: nothing about the model or the
 * results leaves the frame.
 */
function wireParentMessages() {
  if (window.parent === window) return;
  const post = (msg) => window.parent.postMessage({ source: 'quantmix', ...msg }, '*');
  let last = 0;
  // The app's own height (the document's is at least the frame's, so it could never shrink).
  const size = () => {
    const height = Math.ceil(ui.app.getBoundingClientRect().height);
    if (height !== last) { last = height; post({ type: 'size', height }); }
  };
  new ResizeObserver(size).observe(ui.app);
  let shown = '';
  const report = () => {
    const now = `${ui.app.dataset.state}/${ui.app.dataset.run ?? 'idle'}`;
    if (now !== shown) { shown = now; post({ type: 'state', state: ui.app.dataset.state, run: ui.app.dataset.run ?? 'idle' }); }
  };
  new MutationObserver(report).observe(ui.app, { attributes: true, attributeFilter: ['data-state', 'data-run'] });
  size();
  report();
}

/**
 * Opens what the URL asks (README "Embedding"): the model (model=, else the bundled sample),
 * its samples (samples=, or the bundled images when the sample model autoruns) and labels, then
 * runs when autorun is set and nothing was refused.
 */
async function startFromUrl() {
  const c = embed.config;
  // A refused model= or sample= opens nothing (not the default sample in its place): the message says why.
  if (c.empty || c.refused.has('model') || c.refused.has('sample')) {
    ui.app.dataset.state = 'idle';
    showEmpty();
    return;
  }
  const sample = c.model ? null : sampleModel(c.sample ?? DEFAULT_SAMPLE);
  if (sample) ui.samplePick.value = sample.id;
  const opened = c.model ? await openModelUrl(c.model, undefined, undefined, c.inputShapes ?? '')
    : await openModelUrl(appUrl(sample.model), undefined, `the sample model (${sample.title})`, c.inputShapes ?? '', sample);
  if (!opened) return;
  if (c.preprocess) {
    state.settings = applyPreset(state.settings, c.preprocess);
    fillPreprocessForm();
  }
  let loaded = true;
  // The sample's own files: asked for, needed by autorun, or by the sample's metric.
  const bundled = c.samples === BUNDLED_SAMPLES || (sample && !c.samples && (c.autorun || sample.autoSamples));
  if (Array.isArray(c.samples)) loaded = await loadSampleUrls(c.samples);
  else if (bundled) loaded = await useBuiltinSamples();
  let why = loaded ? '' : 'the samples did not all load (see above)';
  if (loaded && c.labels) {
    const problem = await loadLabelsUrl(c.labels);
    if (problem) why = problem;
  }
  if (!c.autorun || embed.problems.length) return;
  if (!why && !state.samples.length) why = 'there are no samples';
  if (why) {
    ui.runStatus.textContent = `Autorun did not start: ${why}.`;
    ui.runStatus.dataset.sticky = '1';
    return;
  }
  await runQuantize();
}

/** labels= of the URL; resolves null, or why the labels cannot be used (said on the page too). */
async function loadLabelsUrl(href) {
  const name = urlFileName(href);
  let file;
  try {
    file = new File([await fetchSameOrigin(href)], name);
  } catch (e) {
    showError('Could not load the labels', messageOf(e), nearSamples());
    return 'the labels did not load';
  }
  const why = await setLabelsFile(file);
  if (why) {
    showError('The labels file was not read', why, nearSamples());
    return why;
  }
  return labelsMismatch();
}

async function main() {
  wire();
  const c = embed.config;
  ui.app.dataset.embed = String(c.embed);
  if (c.embed) {
    const full = new URL(location.href);
    for (const k of ['embed', 'panels']) full.searchParams.delete(k);
    ui.openFull.href = full.href;
    ui.openFull.hidden = false;
  }
  applyPanels(c.panels);
  applyUrlSettings(c);
  showParamProblems(embed.problems);
  wireParentMessages();
  try {
    state.qmStarting = Quantmix.create({ demo: state.demo });
    state.qm = await state.qmStarting;
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
  await startFromUrl();
}

main();
