// Unit tests of the page's pure helpers: web/app/format.js, web/app/input_shapes.js, web/app/files.js.
import assert from 'node:assert/strict';
import test from 'node:test';
import { classifyFiles } from '../../web/app/files.js';
import { formatBytes, formatCount, formatDim, formatInteger, formatPercent, formatShape, isStaticShape }
  from '../../web/app/format.js';
import { formatInputShapes, InputShapeError, inputShapeTemplate, parseInputShapes }
  from '../../web/app/input_shapes.js';

test('format: formatCount uses K/M/G with three significant digits', () => {
  const cases = [
    [0, '0'], [7, '7'], [640, '640'], [999, '999'], [1000, '1.00 K'], [1234, '1.23 K'],
    [28224, '28.2 K'], [99949, '99.9 K'], [99950, '100 K'], [794048, '794 K'], [999499, '999 K'],
    [999500, '1.00 M'], [4_110_000_000, '4.11 G'], [1.5e12, '1.50 T'], [-2500, '-2.50 K'],
  ];
  for (const [n, want] of cases) assert.equal(formatCount(n), want, `formatCount(${n})`);
  assert.equal(formatCount(null), '—');
  assert.equal(formatCount(undefined), '—');
  assert.equal(formatCount(NaN), '—');
});

test('format: formatInteger groups digits', () => {
  assert.equal(formatInteger(0), '0');
  assert.equal(formatInteger(999), '999');
  assert.equal(formatInteger(1000), '1,000');
  assert.equal(formatInteger(111562), '111,562');
  assert.equal(formatInteger(1234567890), '1,234,567,890');
  assert.equal(formatInteger(-1234), '-1,234');
  assert.equal(formatInteger(null), '—');
});

test('format: formatBytes uses binary units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.00 KiB');
  assert.equal(formatBytes(450770), '440 KiB');
  assert.equal(formatBytes(3 * 1024 * 1024), '3.00 MiB');
  assert.equal(formatBytes(5.5 * 1024 ** 3), '5.50 GiB');
});

test('format: formatPercent', () => {
  assert.equal(formatPercent(0), '0%');
  assert.equal(formatPercent(0.0004), '<0.1%');
  assert.equal(formatPercent(0.001), '0.1%');
  assert.equal(formatPercent(0.5687), '56.9%');
  assert.equal(formatPercent(1), '100%');
  assert.equal(formatPercent(null), '—');
});

test('format: shapes with static, symbolic and unknown dimensions', () => {
  assert.equal(formatShape([1, 3, 224, 224]), '1×3×224×224');
  assert.equal(formatShape([1, 3, 'H', null]), '1×3×H×?');
  assert.equal(formatShape([{ value: 1 }, { symbol: 'batch' }, {}]), '1×batch×?');
  assert.equal(formatShape([]), 'scalar');
  assert.equal(formatShape(null), 'unknown rank');
  assert.equal(formatDim(''), '?');
  assert.ok(isStaticShape([1, 2]));
  assert.ok(isStaticShape([{ value: 4 }]));
  assert.ok(!isStaticShape([1, 'N']));
  assert.ok(!isStaticShape(null));
});

test('input_shapes: parses names, separators and spaces', () => {
  assert.deepEqual(parseInputShapes(''), {});
  assert.deepEqual(parseInputShapes('   '), {});
  assert.deepEqual(parseInputShapes('x=1x3x224x224'), { x: [1, 3, 224, 224] });
  assert.deepEqual(parseInputShapes(' x = 1 x 3 × 32*48 ; mask=1x128\nids=1X7,'),
    { x: [1, 3, 32, 48], mask: [1, 128], ids: [1, 7] });
  assert.deepEqual(parseInputShapes('input.1=1x1x28x28'), { 'input.1': [1, 1, 28, 28] });
});

test('input_shapes: rejects malformed entries with a message naming them', () => {
  const bad = [
    ['1x3x224x224', /expected NAME=DIMS/],
    ['=1x3', /name is missing/],
    ['x=', /no dimensions/],
    ['x=1x0x3', /dimension "0" is not a positive integer/],
    ['x=1x-3', /dimension "-3"/],
    ['x=1xHx3', /dimension "H"/],
    ['x=1xx3', /dimension ""/],
    ['x=1.5x3', /dimension "1.5"/],
    ['x=1x99999999999999999999', /not a positive integer/],
    ['x=1x3; x=1x4', /given twice/],
  ];
  for (const [text, pattern] of bad) {
    assert.throws(() => parseInputShapes(text), (e) => e instanceof InputShapeError && pattern.test(e.message),
      `parseInputShapes(${JSON.stringify(text)})`);
  }
});

test('input_shapes: format and template round-trip', () => {
  const shapes = { x: [1, 3, 224, 224], y: [2, 8] };
  assert.equal(formatInputShapes(shapes), 'x=1x3x224x224; y=2x8');
  assert.deepEqual(parseInputShapes(formatInputShapes(shapes)), shapes);
  assert.equal(inputShapeTemplate([{ name: 'x', shape: [1, 3, 'H', null] }, { name: 's', shape: [1, 4] },
                                   { name: 'r', shape: null }]), 'x=1x3xHx?');
  assert.equal(inputShapeTemplate([{ name: 's', shape: [1, 4] }]), '');
});

test('files: picks the one .onnx model and treats the rest as external data', () => {
  const f = (name) => ({ name });
  let r = classifyFiles([f('m.onnx.data'), f('m.onnx')]);
  assert.equal(r.error, null);
  assert.equal(r.model.name, 'm.onnx');
  assert.deepEqual(r.external.map((x) => x.name), ['m.onnx.data']);
  r = classifyFiles([f('M.ONNX')]);
  assert.equal(r.model.name, 'M.ONNX');
  assert.match(classifyFiles([]).error, /No file/);
  assert.match(classifyFiles([f('a.onnx'), f('b.onnx')]).error, /Several .onnx models.*a\.onnx, b\.onnx/);
  assert.match(classifyFiles([f('weights.bin')]).error, /No .onnx model.*weights\.bin/);
});
