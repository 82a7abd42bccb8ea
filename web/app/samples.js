// Step 2, the calibration samples: images (decoded and preprocessed in the tab), .npy/.npz,
// the preprocessing form, the labels file and the score module setting.
import { sameOriginUrl } from './embed_params.js';
import { arraysToSamples, classifySampleFiles, imageSizes, imagesToSamples, previewCanvas } from './images.js';
import { inputShapeExample, sampleShapeProblem } from './input_shapes.js';
import { isLabelsName, isLabelsNpy, LabelsError, labelsProblem, parseLabels, removeSampleLabels, sampleTotal } from './labels.js';
import { parseScale, parseTriple, PreprocessError, sizeFromImages, toCliSpec, validateSettings } from './preprocess.js';
import { sampleModel, scoreMetric } from './sample_models.js';
import { clear } from './views/dom.js';
import { renderSamplePreviews } from './views/samples.js';
import { doc, loc, ui, state, APP_DIR, appUrl } from './context.js';
import { hideError, messageOf, nearSamples, setBusy, showError } from './status.js';
import { exampleSize, fetchSameOrigin, urlFileName } from './model.js';
import { readMaxSamples, updateRunButton } from './run.js';

export function fillPreprocessForm() {
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
export async function reprocessImages() {
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
export function readPreprocessForm() {
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
export async function addSampleFiles(fileList) {
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
export async function setLabelsFile(file) {
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
export const labelsMismatch = () => (state.labels ? labelsProblem(state.labels.values, state.labels.name, sampleTotal(state.samples)) : null);

/** The labels line in the samples step and the metric line in the settings. */
export function renderLabels() {
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
export function scoreSetting() {
  const text = ui.scoreModule.value.trim();
  if (!text) return { href: null, metric: null, problem: null };
  let href;
  try {
    href = sameOriginUrl(text, loc.href, 'Score module');
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
export function renderScoreStatus() {
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

export async function loadLabelsChosen(file) {
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

export async function setSamples(list) {
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
export async function useBuiltinSamples() {
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
export async function loadSampleUrls(hrefs, what = 'the samples') {
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

export function renderSamples() {
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
  const parts = renderSamplePreviews(doc, state.samples, {
    preview: (s, big) => previewCanvas(doc, s, state.settings, big ? 640 : 160, big ? 320 : 96),
    enlarged: state.enlarged ?? null, disabled: Boolean(state.running),
    onRemove: (i) => removeSample(i),
    onEnlarge: (i) => { state.enlarged = i; renderSamples(); },
  });
  for (const el of parts) ui.previews.appendChild(el);
}
