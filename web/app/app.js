// The app (index.html): model -> samples -> settings -> run -> results -> export, over the JS API
// (web/quantmix.js; the wasm core runs in its Web Worker). start() binds it to a page
// (context.js) and wires the events; each step's logic is in its own module (status, model,
// samples, run, results_page, export_step) and the views build DOM from pure data (web/app/views/).
// Importing any of them binds nothing, so node --test drives them on a fake document.
import { BUNDLED_SAMPLES, PANELS } from './embed_params.js';
import { applyPreset } from './preprocess.js';
import { targetRange } from './results.js';
import { DEFAULT_SAMPLE, SAMPLE_MODELS, sampleModel } from './sample_models.js';
import { clear, h } from './views/dom.js';
import { bind, doc, loc, win, ui, state, embed, engine, appUrl, PROFILE_CANDIDATES } from './context.js';
import { hideError, messageOf, nearSamples, showError } from './status.js';
import { fetchSameOrigin, openFiles, openModelUrl, openSample, showEmpty, urlFileName } from './model.js';
import { addSampleFiles, fillPreprocessForm, labelsMismatch, loadLabelsChosen, loadSampleUrls, readPreprocessForm, renderLabels, renderScoreStatus, reprocessImages, scoreSetting, setLabelsFile, setSamples, useBuiltinSamples } from './samples.js';
import { cancelRun, runQuantize, syncMode } from './run.js';
import { onTargetKind, scheduleReselect, updateTargetSlider } from './results_page.js';
import { downloadExported, stem, validate } from './export_step.js';

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
  win.addEventListener('dragenter', (e) => { if (!hasFiles(e)) return; e.preventDefault(); depth += 1; highlight(e); });
  win.addEventListener('dragleave', (e) => { depth = Math.max(0, depth - 1); highlight(e); });
  win.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); highlight(e); } });
  win.addEventListener('drop', (e) => {
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
  for (const m of SAMPLE_MODELS) ui.samplePick.appendChild(h(doc, 'option', { value: m.id }, m.title));
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
  ui.paramProblems.appendChild(h(doc, 'strong', null,
    `${problems.length === 1 ? 'A URL parameter was' : `${problems.length} URL parameters were`} not used`));
  ui.paramProblems.appendChild(h(doc, 'ul', null, problems.map((p) => h(doc, 'li', null, p))));
  if (embed.config.autorun) {
    ui.paramProblems.appendChild(h(doc, 'p', { class: 'callout-text', id: 'autorun-blocked' },
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
      ui.candidates.appendChild(h(doc, 'label', { class: 'check' }, h(doc, 'input', { type: 'checkbox', value: name }), ` ${name}`));
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
  if (win.parent === win) return;
  const post = (msg) => win.parent.postMessage({ source: 'quantmix', ...msg }, '*');
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
  if (c.score) {  // after the samples: it replaces a bundled sample's own module
    ui.scoreModule.value = c.score;
    renderScoreStatus();
    const problem = scoreSetting().problem;
    if (problem && !why) why = problem;
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

/**
 * Binds the app to a page and starts it: {document, location, window} (app/main.js passes the
 * browser's) and optionally Quantmix (a fake engine for tests). Resolves once the engine has
 * started and what the URL asks is opened (and run, with autorun); returns {ui, state}.
 */
export async function start(page) {
  const bound = bind(page);
  await main();
  return bound;
}

async function main() {
  wire();
  const c = embed.config;
  ui.app.dataset.embed = String(c.embed);
  if (c.embed) {
    const full = new URL(loc.href);
    for (const k of ['embed', 'panels']) full.searchParams.delete(k);
    ui.openFull.href = full.href;
    ui.openFull.hidden = false;
  }
  applyPanels(c.panels);
  applyUrlSettings(c);
  showParamProblems(embed.problems);
  wireParentMessages();
  try {
    state.qmStarting = engine.Quantmix.create({ demo: state.demo });
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
  win.quantmix = state.qm;  // for the console and the end-to-end test
  await startFromUrl();
}
