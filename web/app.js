// Bootstrap of the page: wires the loader (drop zone, file picker, sample button), the engine
// worker, the error banner and the summary view. All model work happens in web/worker.js.
import { classifyFiles } from './files.js';
import { InputShapeError, parseInputShapes } from './input_shapes.js';
import { clear } from './views/dom.js';
import { normalizeReport, webWording } from './views/report.js';
import { renderSummary } from './views/summary.js';
import { WorkerClient } from './worker_protocol.js';

const SAMPLE_URL = new URL('./samples/sample_cnn.onnx', import.meta.url);
const SAMPLE_NAME = 'sample_cnn.onnx';

const $ = (id) => document.getElementById(id);
const ui = {
  app: $('app'),
  dropZone: $('drop-zone'),
  fileInput: $('file-input'),
  chooseButton: $('choose-button'),
  sampleButton: $('sample-button'),
  loadStatus: $('load-status'),
  banner: $('banner'),
  bannerTitle: $('banner-title'),
  bannerMessage: $('banner-message'),
  bannerClose: $('banner-close'),
  summary: $('summary'),
  empty: $('empty-state'),
  version: $('engine-version'),
};

/** What is loaded: Blobs (cheap references), re-read for every inspect. */
const state = {
  model: null,      // {name, blob}
  external: [],     // [{name, blob}]
  shapesText: '',   // the input-shape field as last applied
  busy: false,
  requests: 0,      // the latest request wins if several overlap
};

const client = new WorkerClient(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));

function setBusy(busy, message = '') {
  state.busy = busy;
  ui.app.dataset.busy = String(busy);
  ui.app.setAttribute('aria-busy', String(busy));
  ui.chooseButton.disabled = busy;
  ui.sampleButton.disabled = busy;
  ui.dropZone.classList.toggle('is-busy', busy);
  ui.loadStatus.textContent = message;
  for (const b of ui.summary.querySelectorAll('button')) b.disabled = busy;
}

function showError(title, message) {
  ui.bannerTitle.textContent = title;
  ui.bannerMessage.textContent = message;
  ui.banner.hidden = false;
}

function hideError() {
  ui.banner.hidden = true;
}

function showSummary(report, fileBytes) {
  const { element, shapeForm, shapeInput } = renderSummary(document, report,
    { fileBytes, shapesText: state.shapesText });
  clear(ui.summary);
  ui.summary.appendChild(element);
  ui.summary.hidden = false;
  ui.empty.hidden = true;
  shapeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    applyInputShapes(shapeInput.value);
  });
}

function showEmpty() {
  clear(ui.summary);
  ui.summary.hidden = true;
  ui.empty.hidden = false;
}

/** Reads the loaded files and inspects them in the worker; renders the result or the error. */
async function inspectLoaded({ newModel }) {
  const request = ++state.requests;
  const { model, external } = state;
  setBusy(true, `Reading ${model.name}…`);
  try {
    const file = { name: model.name, bytes: await model.blob.arrayBuffer() };
    const externalFiles = await Promise.all(external.map(async (f) => ({ name: f.name, bytes: await f.blob.arrayBuffer() })));
    const value = await client.inspect({ file, externalFiles, inputShapes: parseInputShapes(state.shapesText) },
      (p) => { if (request === state.requests) ui.loadStatus.textContent = p.message; });
    if (request !== state.requests) return;
    hideError();
    showSummary(normalizeReport(value), model.blob.size);
    ui.app.dataset.state = 'ready';
  } catch (e) {
    if (request !== state.requests) return;
    const title = newModel ? `Could not open ${model.name}` : `Could not re-inspect ${model.name}`;
    showError(title, webWording(e?.message ?? String(e)));
    if (newModel) showEmpty();
    ui.app.dataset.state = 'error';
  } finally {
    if (request === state.requests) setBusy(false);
  }
}

function openFiles(fileList) {
  const { model, external, error } = classifyFiles(fileList);
  if (error) {
    showError('Nothing to open', error);
    return;
  }
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

function wireLoader() {
  ui.chooseButton.addEventListener('click', () => ui.fileInput.click());
  ui.fileInput.addEventListener('change', () => {
    if (ui.fileInput.files.length) openFiles(ui.fileInput.files);
    ui.fileInput.value = '';  // choosing the same file again still fires `change`
  });
  ui.sampleButton.addEventListener('click', () => openSample());
  ui.bannerClose.addEventListener('click', hideError);

  // Dropping anywhere on the page opens the files; the drop zone highlights while dragging.
  let depth = 0;
  const hasFiles = (e) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  window.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    ui.dropZone.classList.add('is-dragging');
  });
  window.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) ui.dropZone.classList.remove('is-dragging');
  });
  window.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  window.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    ui.dropZone.classList.remove('is-dragging');
    if (!state.busy) openFiles(e.dataTransfer.files);
  });
  ui.dropZone.addEventListener('keydown', (e) => {
    if ((e.key === 'Enter' || e.key === ' ') && e.target === ui.dropZone) {
      e.preventDefault();
      ui.fileInput.click();
    }
  });
}

async function main() {
  wireLoader();
  client.init().then((v) => { ui.version.textContent = `v${v}`; ui.version.hidden = false; },
    (e) => showError('The engine did not start', e.message));
  const params = new URLSearchParams(location.search);
  if (params.has('empty')) {
    ui.app.dataset.state = 'idle';
    showEmpty();
  } else {
    await openSample();
  }
}

main();
