// Unit tests of the summary view: web/app/views/report.js (report JSON -> rows) and
// web/app/views/summary.js rendered into a fake document.
import assert from 'node:assert/strict';
import test from 'node:test';
import { layerRows, modelMeta, normalizeReport, opBars, summaryCards, valueRows, hasDynamicInputs }
  from '../../web/app/views/report.js';
import { renderSummary } from '../../web/app/views/summary.js';
import { inputShapeExample, parseInputShapes } from '../../web/app/input_shapes.js';
import { createDocument } from './fake_dom.mjs';

// A report written by hand in the JSON layout of api::inspect_to_json (spec/cli.md keys).
const REPORT = {
  file: 'tiny.onnx',
  ir_version: 8,
  producer: 'pytorch 2.1',
  inputs: [{ name: 'x', dtype: 'float', shape: [1, 3, 'H', 'W'] }],
  outputs: [{ name: 'y', dtype: 'float', shape: null }],
  opsets: { '': 17, 'com.microsoft': 1 },
  ops: { Conv: 2, Relu: 3, MyOp: 1, Gemm: 1 },
  params: 1234567,
  macs: null,
  layers: [
    { name: 'conv1', op: 'Conv', weight_shape: [8, 3, 3, 3], macs: 3000 },
    { name: 'conv2', op: 'Conv', weight_shape: [8, 8, 3, 3], macs: null },
    { name: 'fc', op: 'Gemm', weight_shape: [10, 8], macs: 1000 },
    { name: 'mm', op: 'MatMul', weight_shape: [], macs: 0 },
  ],
  unsupported: ['MyOp'],
  warnings: ["MACs unknown for 'c1': input shapes are not fully known; set Input shapes to x=1x3xHxW with numbers in place of the symbols"],
};

test('report: normalizes the JSON (string or object)', () => {
  const r = normalizeReport(JSON.stringify(REPORT));
  assert.equal(r.file, 'tiny.onnx');
  assert.equal(r.irVersion, 8);
  assert.deepEqual(r.opsets, [{ domain: 'ai.onnx', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
  assert.deepEqual(r.ops.map((o) => o.op), ['Conv', 'Relu', 'MyOp', 'Gemm']);
  assert.equal(r.macs, null);
  assert.deepEqual(r.inputs[0].shape, [1, 3, 'H', 'W']);
  assert.equal(r.outputs[0].shape, null);
  assert.deepEqual(r.layers[0].weightShape, [8, 3, 3, 3]);
});

test('report: accepts the alternative encodings of opsets, ops and dims', () => {
  const r = normalizeReport({
    opsets: [['', 13], { domain: 'ai.onnx.ml', version: 3 }],
    ops: [['Add', 2], { op: 'Mul', count: 1 }],
    inputs: [{ name: 'x', dtype: 'int64', shape: [{ value: 1 }, { symbol: 'seq' }, {}] }],
  });
  assert.deepEqual(r.opsets, [{ domain: 'ai.onnx', version: 13 }, { domain: 'ai.onnx.ml', version: 3 }]);
  assert.deepEqual(r.ops, [{ op: 'Add', count: 2 }, { op: 'Mul', count: 1 }]);
  assert.deepEqual(r.inputs[0].shape, [1, 'seq', null]);
  assert.deepEqual(r.layers, []);
  assert.equal(r.params, null);
});

test('report: layer rows show no MACs share while the total is unknown (issue 14 #4: was 75%/25% of the known layers)', () => {
  const rows = layerRows(normalizeReport(REPORT));
  assert.deepEqual(rows.map((r) => r.index), [1, 2, 3, 4]);
  assert.deepEqual(rows.map((r) => r.weightShape), ['8×3×3×3', '8×8×3×3', '10×8', '—']);
  assert.deepEqual(rows.map((r) => r.macs), ['3.00 K', '—', '1.00 K', '0']);
  assert.deepEqual(rows.map((r) => r.share), [null, null, null, null]);
  assert.deepEqual(rows.map((r) => r.shareText), ['—', '—', '—', '—']);
});

test('report: layer shares use the reported total when there is one', () => {
  const rows = layerRows(normalizeReport({ ...REPORT, macs: 8000, layers: REPORT.layers.slice(0, 1) }));
  assert.equal(rows[0].share, 3000 / 8000);
});

test('report: op bars sorted by count, ties in graph order, unsupported flagged', () => {
  const bars = opBars(normalizeReport(REPORT));
  assert.deepEqual(bars.map((b) => b.op), ['Relu', 'Conv', 'MyOp', 'Gemm']);
  assert.deepEqual(bars.map((b) => b.fraction), [1, 2 / 3, 1 / 3, 1 / 3]);
  assert.deepEqual(bars.filter((b) => b.unsupported).map((b) => b.op), ['MyOp']);
});

test('report: headline cards and model line', () => {
  const r = normalizeReport(REPORT);
  const cards = Object.fromEntries(summaryCards(r).map((c) => [c.id, c]));
  assert.equal(cards.params.value, '1.23 M');
  assert.equal(cards.params.exact, 1234567);
  assert.match(cards.params.detail, /^1,234,567 · 4\.71 MiB as float32$/);
  assert.equal(cards.macs.value, '—');
  assert.equal(cards.macs.detail, '1 layer with unknown shapes');
  assert.equal(cards.layers.value, '4');
  assert.equal(cards.layers.detail, '2 Conv · 1 Gemm · 1 MatMul');
  assert.equal(cards.nodes.value, '7');
  assert.deepEqual(modelMeta(r, 2048), ['pytorch 2.1', 'IR 8', 'opset ai.onnx 17 · com.microsoft 1', '2.00 KiB']);
  assert.ok(hasDynamicInputs(r));
  assert.deepEqual(valueRows(r.outputs), [{ name: 'y', dtype: 'float', shape: 'unknown rank', dynamic: true }]);
});

test('summary: renders stats, tables, histogram and callouts into a document', () => {
  const doc = createDocument();
  const { element, shapeForm, shapeInput } = renderSummary(doc, normalizeReport(REPORT),
    { fileBytes: 4096, shapesText: 'x=1x3x8x8' });
  assert.equal(element.byId('model-name').textContent, 'tiny.onnx');
  const stats = Object.fromEntries(element.byClass('stat').map((s) => [s.dataset.stat, s.dataset.value]));
  assert.deepEqual(stats, { params: '1234567', macs: '', layers: '4', nodes: '7' });
  const rows = element.byId('layer-table').byTag('tbody')[0].byTag('tr');
  assert.deepEqual(rows.map((tr) => tr.dataset.layer), ['conv1', 'conv2', 'fc', 'mm']);
  assert.equal(rows[0].byClass('share-fill')[0].style.getPropertyValue('width'), '0.0%', 'MACs total unknown: no share');
  assert.equal(rows[0].byClass('share-text')[0].textContent, '—');
  const unsupported = element.byId('op-histogram').findAll((e) => e.dataset.op === 'MyOp')[0];
  assert.ok(unsupported.classList.contains('unsupported'));
  const callouts = element.byClass('callout').map((c) => c.dataset.kind);
  assert.deepEqual(callouts, ['unsupported', 'warnings']);
  assert.match(element.byClass('callout-warning')[0].textContent, /set Input shapes to x=1x3xHxW with numbers/);
  assert.equal(shapeForm.tagName, 'FORM');
  assert.equal(shapeInput.value, 'x=1x3x8x8');
  assert.equal(shapeInput.getAttribute('placeholder'), 'x=1x3xHxW');
  assert.ok(element.byId('shapes-card').classList.contains('card-attention'));
});

test('summary: names from the model are text, never markup', () => {
  const evil = '<img src=x onerror=alert(1)>';
  const doc = createDocument();
  const { element } = renderSummary(doc, normalizeReport({
    file: evil, layers: [{ name: evil, op: 'Conv', weight_shape: [1], macs: 1 }], macs: 1,
  }));
  assert.equal(element.byId('model-name').textContent, evil);
  assert.equal(element.findAll((e) => e.tagName === 'IMG').length, 0);
});

test('summary: a model without weighted layers says so', () => {
  const { element } = renderSummary(createDocument(), normalizeReport({ ops: { Add: 1 }, params: 0, macs: 0 }));
  assert.equal(element.byId('layer-table'), null);
  assert.match(element.byClass('empty-table')[0].textContent, /no Conv, ConvTranspose, Gemm or MatMul/);
});

test('report: the MACs card says when a model batch was divided out', () => {
  const card = (r) => summaryCards(normalizeReport(r)).find((c) => c.id === 'macs');
  assert.equal(card({ macs: 5000, batch: 1 }).detail, '5,000');
  assert.equal(card({ macs: 5000, batch: null }).detail, '5,000');
  assert.equal(card({ macs: 5000, batch: 8 }).detail, '5,000 · model batch 8 divided out');
});


test('summary: the input-shape hint gives an example the field accepts (issue 14 #4)', () => {
  const doc = createDocument();
  const ocr = normalizeReport({ ...REPORT, inputs: [{ name: 'x', dtype: 'float', shape: ['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1'] }] });
  const { element } = renderSummary(doc, ocr, { exampleSize: { height: 48, width: 320 } });
  const example = element.byClass('shape-example')[0].textContent;
  assert.equal(example, 'x=1x3x48x320');
  assert.deepEqual(parseInputShapes(example), { x: [1, 3, 48, 320] });
  assert.equal(renderSummary(doc, ocr).element.byClass('shape-example')[0].textContent, 'x=1x3x48x224', 'without samples: 224 wide');
  assert.equal(inputShapeExample([{ name: 'img', shape: ['N', 'H', 'W', 3] }], { height: 32, width: 64 }), 'img=1x32x64x3');
  assert.equal(inputShapeExample([{ name: 'ids', shape: ['B', 'T'] }, { name: 's', shape: [1, 4] }]), 'ids=1x1');
  // The symbols of the core's warning are refused with a message that says what to do.
  assert.throws(() => parseInputShapes('x=p2o.DynamicDimension.0x3x48xp2o.DynamicDimension.1'),
    /dimension "p2o\.DynamicDimension\.0" is a symbol or a placeholder, not a number/);
});
