// The inspect summary: model header, headline numbers, inputs/outputs, the input-shape form,
// the op histogram and the per-layer table. Builds DOM from a normalized report (views/report.js)
// with the document passed in; holds no state (the app wires the form's events).
import { formatInteger } from '../format.js';
import { h } from './dom.js';
import { hasDynamicInputs, layerRows, modelMeta, opBars, summaryCards, valueRows } from './report.js';
import { inputShapeExample, inputShapeTemplate } from '../input_shapes.js';

function card(doc, title, props, ...children) {
  const { subtitle, ...rest } = props ?? {};
  return h(doc, 'section', { class: 'card', ...rest },
    h(doc, 'header', { class: 'card-head' },
      h(doc, 'h3', null, title),
      subtitle ? h(doc, 'span', { class: 'card-sub' }, subtitle) : null),
    ...children);
}

function callouts(doc, report) {
  const out = [];
  if (report.unsupported.length) {
    out.push(h(doc, 'div', { class: 'callout callout-danger', role: 'note', dataset: { kind: 'unsupported' } },
      h(doc, 'strong', null, `Unsupported op${report.unsupported.length > 1 ? 's' : ''}: `),
      report.unsupported.map((op, i) => [i ? ' ' : null, h(doc, 'code', { class: 'chip chip-danger' }, op)]),
      h(doc, 'span', { class: 'callout-text' },
        ' quantmix cannot run these yet, so this model cannot be quantized here. The rest of the summary is still valid.')));
  }
  if (report.warnings.length) {
    out.push(h(doc, 'div', { class: 'callout callout-warning', role: 'note', dataset: { kind: 'warnings' } },
      h(doc, 'strong', null, report.warnings.length > 1 ? 'Warnings' : 'Warning'),
      h(doc, 'ul', null, report.warnings.map((w) => h(doc, 'li', null, w)))));
  }
  return out;
}

function stats(doc, report) {
  return h(doc, 'div', { class: 'stats' }, summaryCards(report).map((c) =>
    h(doc, 'div', { class: 'stat', dataset: { stat: c.id, value: c.exact ?? '' },
                    title: c.exact === null ? 'unknown' : formatInteger(c.exact) },
      h(doc, 'div', { class: 'stat-label' }, c.label),
      h(doc, 'div', { class: 'stat-value' }, c.value),
      h(doc, 'div', { class: 'stat-detail' }, c.detail))));
}

function valueTable(doc, values) {
  const rows = valueRows(values);
  if (!rows.length) return h(doc, 'p', { class: 'muted small' }, 'none');
  return h(doc, 'table', { class: 'table table-compact' },
    h(doc, 'thead', null, h(doc, 'tr', null,
      h(doc, 'th', null, 'Name'), h(doc, 'th', null, 'Type'), h(doc, 'th', null, 'Shape'))),
    h(doc, 'tbody', null, rows.map((r) => h(doc, 'tr', null,
      h(doc, 'td', { class: 'mono ellipsis', title: r.name }, r.name),
      h(doc, 'td', { class: 'mono muted' }, r.dtype),
      h(doc, 'td', { class: r.dynamic ? 'mono dynamic' : 'mono', title: r.dynamic ? 'has unknown dimensions' : null },
        r.shape)))));
}

function shapeForm(doc, report, shapesText, exampleSize) {
  const dynamic = hasDynamicInputs(report);
  const template = inputShapeTemplate(report.inputs)
    || report.inputs.filter((i) => Array.isArray(i.shape))
      .map((i) => `${i.name}=${i.shape.join('x')}`).join('; ');
  const input = h(doc, 'input', {
    class: 'input mono', type: 'text', name: 'input-shapes', id: 'input-shapes',
    placeholder: template || 'name=1x3x224x224', spellcheck: 'false', autocomplete: 'off',
    'aria-label': 'Input shapes, e.g. x=1x3x224x224',
  });
  input.value = shapesText ?? '';
  const button = h(doc, 'button', { class: 'btn btn-secondary', type: 'submit' }, 'Re-inspect');
  const form = h(doc, 'form', { class: 'shape-form', id: 'shape-form' }, input, button);
  let hint;
  if (shapesText) {
    hint = h(doc, 'p', { class: 'hint' },
      'The summary uses these shapes. Empty the field and re-inspect to go back to the model’s own.');
  } else {
    hint = h(doc, 'p', { class: 'hint' }, dynamic
      ? 'Some input dimensions are unknown. Fix them to compute shapes and MACs, e.g. '
      : 'All input shapes are static. Override them to see the cost at another size, e.g. ',
    // A valid example (numbers in place of the symbols), so it can be used as it is.
    h(doc, 'code', { class: 'shape-example' }, inputShapeExample(report.inputs, exampleSize) || template || 'x=1x3x224x224'),
    '. Separate inputs with “;”.');
  }
  return {
    element: card(doc, 'Input shapes', { id: 'shapes-card', class: dynamic ? 'card card-attention' : 'card' },
      form, hint),
    form, input,
  };
}

function opHistogram(doc, report) {
  const bars = opBars(report);
  return card(doc, 'Operators', { subtitle: `${bars.length} type${bars.length === 1 ? '' : 's'}` },
    h(doc, 'ol', { class: 'bars', id: 'op-histogram' }, bars.map((b) =>
      h(doc, 'li', { class: b.unsupported ? 'bar-row unsupported' : 'bar-row', dataset: { op: b.op } },
        h(doc, 'span', { class: 'bar-label' },
          h(doc, 'span', { class: 'bar-name mono', title: b.op }, b.op),
          b.unsupported ? h(doc, 'span', { class: 'chip chip-danger chip-small' }, 'unsupported') : null),
        h(doc, 'span', { class: 'bar-track' },
          h(doc, 'span', { class: 'bar-fill', style: { width: `${(b.fraction * 100).toFixed(1)}%` } })),
        h(doc, 'span', { class: 'bar-count' }, String(b.count))))));
}

function layerTable(doc, report) {
  const rows = layerRows(report);
  const body = rows.length === 0
    ? h(doc, 'p', { class: 'muted empty-table' }, 'This model has no Conv, ConvTranspose, Gemm or MatMul layers.')
    : h(doc, 'div', { class: 'table-scroll' }, h(doc, 'table', { class: 'table table-layers', id: 'layer-table' },
      h(doc, 'thead', null, h(doc, 'tr', null,
        h(doc, 'th', { class: 'num' }, '#'), h(doc, 'th', null, 'Layer'), h(doc, 'th', null, 'Op'),
        h(doc, 'th', null, 'Weight shape'), h(doc, 'th', { class: 'num' }, 'MACs'),
        h(doc, 'th', { class: 'share-col' }, 'Share of MACs'))),
      h(doc, 'tbody', null, rows.map((r) => h(doc, 'tr', { dataset: { layer: r.name, macs: r.macsExact ?? '' } },
        h(doc, 'td', { class: 'num muted' }, String(r.index)),
        h(doc, 'td', { class: 'mono ellipsis layer-name', title: r.name }, r.name),
        h(doc, 'td', null, h(doc, 'span', { class: 'pill' }, r.op)),
        h(doc, 'td', { class: 'mono' }, r.weightShape),
        h(doc, 'td', { class: r.macsExact === null ? 'num muted' : 'num',
                       title: r.macsExact === null ? 'unknown: the input shape is not fixed' : formatInteger(r.macsExact) },
          r.macs),
        h(doc, 'td', { class: 'share-col' },
          h(doc, 'span', { class: 'share' },
            h(doc, 'span', { class: 'share-track' },
              h(doc, 'span', { class: 'share-fill', style: { width: `${((r.share ?? 0) * 100).toFixed(1)}%` } })),
            h(doc, 'span', { class: 'share-text' }, r.shareText))))))));
  return card(doc, 'Layers', { id: 'layers-card', subtitle: 'Conv · ConvTranspose · Gemm · MatMul — MACs per sample' }, body);
}

/**
 * Builds the summary for a normalized report. opts: {fileBytes, shapesText, exampleSize:
 * {height, width} for the input-shape hint's example (the samples' or the form's size)}.
 * Returns {element, shapeForm, shapeInput} (the app listens to the form).
 */
export function renderSummary(doc, report, opts = {}) {
  const meta = modelMeta(report, opts.fileBytes ?? null);
  const shapes = shapeForm(doc, report, opts.shapesText, opts.exampleSize);
  const element = h(doc, 'div', { class: 'summary-body' },
    h(doc, 'div', { class: 'model-head' },
      h(doc, 'h2', { class: 'model-name', id: 'model-name' }, report.file || 'model'),
      h(doc, 'div', { class: 'model-meta' }, meta.map((m) => h(doc, 'span', null, m)))),
    callouts(doc, report),
    stats(doc, report),
    h(doc, 'div', { class: 'columns' },
      h(doc, 'div', { class: 'col-side' },
        card(doc, 'Inputs', { id: 'inputs-card' }, valueTable(doc, report.inputs)),
        card(doc, 'Outputs', { id: 'outputs-card' }, valueTable(doc, report.outputs)),
        shapes.element),
      h(doc, 'div', { class: 'col-main' }, layerTable(doc, report), opHistogram(doc, report))));
  return { element, shapeForm: shapes.form, shapeInput: shapes.input };
}
