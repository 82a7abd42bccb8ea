// Step 5, export and validation: the QDQ model, encodings and report as downloads, and the
// exported model checked in ONNX Runtime Web.
import { sampleOffsets } from './labels.js';
import { clear, h } from './views/dom.js';
import { renderValidation } from './views/validation.js';
import { doc, ui, state } from './context.js';
import { messageOf } from './status.js';
import { labelsMismatch } from './samples.js';
import { runJob, runMetric } from './run.js';
import { exportable, updateExportButtons } from './results_page.js';

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

export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h(doc, 'a', { href: url, download: name, hidden: true });
  doc.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export const stem = () => (state.model?.name ?? 'model.onnx').replace(/\.onnx$/i, '');

export async function validate() {
  if (state.running) return;
  const result = await ensureExported();
  if (!result?.model) return;
  ui.validateButton.disabled = true;
  clear(ui.validateResult);
  const status = h(doc, 'p', { class: 'muted small' }, 'Loading ONNX Runtime Web…');
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
    ui.validateResult.appendChild(renderValidation(doc, v, simulated, { metric, simulatedScore: state.report.selected?.score ?? null }));
  } catch (e) {
    clear(ui.validateResult);
    ui.validateResult.appendChild(h(doc, 'p', { class: 'validate-error', role: 'alert' }, `Validation failed: ${messageOf(e)}`));
  } finally {
    ui.validateButton.disabled = !exportable() || Boolean(state.running);
  }
}

/** A download button: the configuration shown, exported first if it was not yet. */
export async function downloadExported(pick) {
  if (state.running) return;
  const result = await ensureExported();
  const file = result && pick(result);
  if (file) download(file.blob, file.name);
}
