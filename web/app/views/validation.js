// The result of validating the export in ONNX Runtime Web (web/app/validate.js): simulated vs ORT
// SQNR at ORT's default level and with its optimisations disabled, side by side, how far the two
// levels' outputs agree, and the argmax agreement the output's kind calls for (web/app/metrics.js),
// with a plain warning when the export disagrees with the float model on most samples.
// Stateless; node --test covers it on a fake document (tests/js/app_logic.test.mjs,
// tests/js/validation_levels.test.mjs).
import { h } from './dom.js';
import { formatScore } from './results_view.js';

/** Below this agreement the page says the export is likely broken for the task. */
export const MOSTLY_DISAGREES = 0.5;

const pct = (x) => `${(x * 100).toFixed(1)}%`;

/** {label, value, detail} of the agreement stat for a validation result `v`. */
export function agreementStat(v) {
  const seconds = `${((v.ms ?? 0) / 1000).toFixed(1)} s`;
  if (v.kind === 'sequence' && v.agreement !== null) {
    return { label: 'Sequences identical to FP32', value: pct(v.agreement),
      detail: `${v.rows} sequences: argmax equal at every step · per step ${pct(v.stepAgreement)} · CTC-decoded ${pct(v.decodedAgreement)} · ${seconds}`,
      title: 'A sequence agrees when the argmax is the same at every time step. Per step counts blank frames too, so it stays high on a broken model; CTC-decoded collapses repeats and drops class 0 (the blank) before comparing.' };
  }
  if (v.kind === 'classification' && v.agreement !== null) {
    return { label: 'Top-1 agreement with FP32', value: pct(v.agreement), detail: `${v.rows} predictions compared · ${seconds}` };
  }
  return { label: 'Agreement with FP32', value: '—', detail: 'dense output (no class axis): compare by SQNR' };
}

/**
 * The grid of the three numbers and, when the export mostly disagrees, a warning. opts: {metric
 * (the run's score module, sample_models.js scoreMetric), simulatedScore (the run's)}: with a
 * score on ONNX Runtime's outputs (v.scored > 0) it leads, beside the float model's.
 */
export function renderValidation(doc, v, simulated, { metric = null, simulatedScore = null } = {}) {
  const fmt = (x) => (x === Infinity ? '∞ (identical)' : Number.isNaN(x) ? 'undefined (the FP32 output is all zero)' : `${x.toFixed(1)} dB`);
  const vsSim = (x) => (simulated !== null && simulated !== undefined && Number.isFinite(x) && Number.isFinite(simulated) ? x - simulated : null);
  const signed = (d) => `${d >= 0 ? '+' : ''}${d.toFixed(2)} dB vs simulated`;
  const diff = vsSim(v.sqnrDb);
  const plain = v.disabledSqnrDb !== null && v.disabledSqnrDb !== undefined;
  const plainDiff = plain ? vsSim(v.disabledSqnrDb) : null;
  const a = agreementStat(v);
  // With the user's labels: top-1 of the export and of the float model against them.
  const labelled = v.labelled > 0 && v.exportTop1 !== null && v.exportTop1 !== undefined;
  const scored = v.scored > 0 && v.exportScore !== null && v.exportScore !== undefined;
  const m = metric ?? { label: 'Score', percent: false };
  const grid = h(doc, 'div', { class: 'validate-grid validate-grid-4', id: 'validation',
    dataset: { sqnr: v.sqnrDb, simulated: simulated ?? '', top1: v.top1Agreement ?? '', kind: v.kind ?? 'dense', agreement: v.agreement ?? '',
      sqnrDisabled: plain ? v.disabledSqnrDb : '', levelAgreement: plain ? v.levelAgreementDb : '',
      labelTop1: labelled ? v.exportTop1 : '', floatTop1: labelled ? v.floatTop1 : '', labelled: labelled ? v.labelled : '',
      score: scored ? v.exportScore : '', floatScore: scored ? v.floatScore : '', scored: scored ? v.scored : '' } },
  scored ? h(doc, 'div', { class: 'stat stat-metric', id: 'validate-score' }, h(doc, 'div', { class: 'stat-label' }, `${m.label} (exported, ONNX Runtime)`),
    h(doc, 'div', { class: 'stat-value' }, formatScore(v.exportScore, m)),
    h(doc, 'div', { class: 'stat-detail' }, `float model ${formatScore(v.floatScore, m)}${simulatedScore !== null ? ` · simulated ${formatScore(simulatedScore, m)}` : ''} · ${v.scored} samples`)) : null,
  labelled ? h(doc, 'div', { class: 'stat stat-metric', id: 'label-top1' }, h(doc, 'div', { class: 'stat-label' }, 'Top-1 on your labels (exported)'),
    h(doc, 'div', { class: 'stat-value' }, pct(v.exportTop1)),
    h(doc, 'div', { class: 'stat-detail' }, `float model ${pct(v.floatTop1)} · ${v.labelled} labelled samples, in ONNX Runtime`)) : null,
  h(doc, 'div', { class: 'stat' }, h(doc, 'div', { class: 'stat-label' }, 'Simulated SQNR (quantmix)'),
    h(doc, 'div', { class: 'stat-value' }, simulated === null || simulated === undefined ? '—' : fmt(simulated)),
    h(doc, 'div', { class: 'stat-detail' }, 'quantmix’s simulation, on the calibration samples')),
  // The export at ORT's two levels, side by side: 'disabled' computes each Q/DQ unit as written
  // (the simulation's arithmetic), the default level fuses them into integer kernels.
  h(doc, 'div', { class: 'stat', id: 'validate-disabled',
    title: 'ONNX Runtime with graphOptimizationLevel \'disabled\': every DequantizeLinear -> op -> QuantizeLinear runs as written, in float, which is what quantmix simulates. The search ranks configurations by this arithmetic.' },
  h(doc, 'div', { class: 'stat-label' }, 'Exported, ONNX Runtime, optimisations off'),
  h(doc, 'div', { class: 'stat-value' }, plain ? fmt(v.disabledSqnrDb) : '—'),
  h(doc, 'div', { class: 'stat-detail' }, plain ? (plainDiff === null ? `vs FP32 on ${v.samples} samples` : `${signed(plainDiff)} · the arithmetic the simulation computes`)
    : (v.disabledError ?? 'not run'))),
  h(doc, 'div', { class: 'stat', id: 'validate-default',
    title: 'ONNX Runtime at its default level (\'all\'), as a user\'s runtime loads the file: Q/DQ units fused into QLinearConv/QLinearMatMul integer kernels, which round differently.' },
  h(doc, 'div', { class: 'stat-label' }, 'Exported, ONNX Runtime, default level'),
  h(doc, 'div', { class: 'stat-value' }, fmt(v.sqnrDb)),
  h(doc, 'div', { class: 'stat-detail' }, [diff === null ? `vs FP32 on ${v.samples} samples` : `${signed(diff)} · ${v.samples} samples`,
    plain ? `outputs agree with optimisations off to ${fmt(v.levelAgreementDb)}` : null].filter(Boolean).join(' · '))),
  h(doc, 'div', { class: 'stat', id: 'agreement', title: a.title ?? null }, h(doc, 'div', { class: 'stat-label' }, a.label),
    h(doc, 'div', { class: 'stat-value' }, a.value),
    h(doc, 'div', { class: 'stat-detail' }, a.detail)));
  let warning = null;
  // The user's own metric outranks the argmax agreement: no alarm when it scores the export at
  // least as well as the float model (a CTC export can differ at many steps and read as well).
  const scoreOk = scored && v.floatScore !== null && v.exportScore >= v.floatScore;
  if (v.agreement !== null && v.agreement !== undefined && v.agreement < MOSTLY_DISAGREES && v.rows > 0 && !scoreOk) {
    const unit = v.kind === 'sequence' ? 'sequences' : 'predictions';
    const wrong = Math.round((1 - v.agreement) * v.rows);
    warning = h(doc, 'div', { class: 'callout callout-danger validate-warning', id: 'validate-warning', role: 'alert' },
      h(doc, 'strong', null, `The exported model disagrees with the float model on ${wrong} of ${v.rows} ${unit}. `),
      h(doc, 'span', { class: 'callout-text' }, 'It is likely broken for this task, whatever its SQNR: choose a point with more bits (or a higher SQNR target), or set the most sensitive layers to 16 bits.'));
  }
  return h(doc, 'div', { class: 'validate-view' }, warning, grid);
}
