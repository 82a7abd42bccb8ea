// Step 1, the model: open a file, a bundled sample or a URL; inspect it in the worker; input
// shapes.
import { classifyFiles } from './files.js';
import { InputShapeError, parseInputShapes, sampleShapeProblem } from './input_shapes.js';
import { defaultSettings, imageGeometry } from './preprocess.js';
import { DEFAULT_SAMPLE, SAMPLE_MODELS, sampleModel } from './sample_models.js';
import { clear } from './views/dom.js';
import { normalizeReport } from './views/report.js';
import { renderSummary } from './views/summary.js';
import { doc, loc, ui, state, appUrl } from './context.js';
import { hideError, keepBanner, messageOf, nearSamples, setBusy, showError } from './status.js';
import { fillPreprocessForm, renderLabels, renderSamples, setSamples, useBuiltinSamples } from './samples.js';
import { updateRunButton } from './run.js';
import { resetResults } from './results_page.js';

function showSummary(report, fileBytes) {
  const { element, shapeForm, shapeInput } = renderSummary(doc, report, { fileBytes, shapesText: state.shapesText, exampleSize: exampleSize() });
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
export function exampleSize() {
  const shape = state.samples.find((s) => Array.isArray(s.shape) && s.shape.length === 4)?.shape;
  if (shape && state.settings) {
    return state.settings.layout === 'nhwc' ? { height: shape[1], width: shape[2] } : { height: shape[2], width: shape[3] };
  }
  return state.settings ? { height: state.settings.height, width: state.settings.width } : undefined;
}

export function showEmpty() {
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

export function openFiles(fileList) {
  const { model, external, error } = classifyFiles(fileList);
  if (error) { showError('Nothing to open', error); return; }
  state.model = { name: model.name, blob: model };
  state.sampleModel = null;
  state.external = external.map((f) => ({ name: f.name, blob: f }));
  state.shapesText = '';
  inspectLoaded({ newModel: true });
}

/**
 * Opens the bundled sample model `id` (the picker's choice; web/app/sample_models.js) and, for a
 * sample whose metric needs them (the text-line recogniser's lines), its calibration files and
 * score module. Resolves true when the model is inspected and those files are in.
 */
export async function openSample(id = ui.samplePick.value, shapes = '') {
  const m = sampleModel(id) ?? sampleModel(DEFAULT_SAMPLE);
  ui.samplePick.value = m.id;
  const opened = await openModelUrl(appUrl(m.model), undefined, `the sample model (${m.title})`, shapes, m);
  return opened && m.autoSamples ? useBuiltinSamples() : opened;
}

/**
 * A file on this page's origin (the URL parameters were checked by embed_params.js; a redirect
 * elsewhere is refused too) as a Blob. Throws an Error naming the file.
 */
export async function fetchSameOrigin(href) {
  const url = new URL(href, loc.href);
  const response = await fetch(url, { credentials: 'same-origin' });
  if (response.url && new URL(response.url).origin !== loc.origin) throw new Error(`${url.pathname}: redirected to another origin`);
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  return response.blob();
}

/** The file name of a URL: its last path segment, decoded. */
export function urlFileName(href) {
  const last = new URL(href).pathname.split('/').filter(Boolean).pop() ?? 'file';
  try { return decodeURIComponent(last); } catch { return last; }
}

/**
 * Opens the model at `href` (same origin; a bundled sample or model= of an embed); resolves
 * true when it is inspected. `what` names it in an error; `shapes` is the input-shape text;
 * `sample` the bundled sample it is (web/app/sample_models.js), if it is one.
 */
export async function openModelUrl(href, name = urlFileName(href), what = name, shapes = '', sample = null) {
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
    showError('Check the input shapes', e.message, doc.getElementById('shapes-card'));
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
