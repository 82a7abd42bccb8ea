// Labels for the user's samples (web/app/labels.js: the CLI's --labels format), the metric they make
// the page show (results totals, validation), and a dynamic image size taken from the images
// (web/app/preprocess.js sizeFromImages). The Chromium side is tests/browser/embed_labels.mjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { demoReport } from '../../web/api/demo_engine.js';
import { isLabelsName, isLabelsNpy, labelsForRun, labelsProblem, LabelsError, parseLabels, removeSampleLabels,
  sampleOffsets, sampleTotal } from '../../web/app/labels.js';
import { encodeNpy } from '../../web/api/npy.js';
import { defaultSettings, sizeFromImages } from '../../web/app/preprocess.js';
import { normalizeQuantReport } from '../../web/app/results.js';
import { renderTotals } from '../../web/app/views/results_view.js';
import { renderValidation } from '../../web/app/views/validation.js';
import { createDocument } from './fake_dom.mjs';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const text = (s) => new TextEncoder().encode(s);

/** A .npy of integers: descr '<i8' / '<i4' / '|u1', 1-D or not. */
function intNpy(values, descr = '<i8', shape = [values.length]) {
  const size = { '<i8': 8, '<i4': 4, '|u1': 1 }[descr];
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.length === 1 ? `${shape[0]},` : shape.join(', ')}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 11, ' ') + '\n';
  const out = new Uint8Array(total + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; ++i) out[10 + i] = header.charCodeAt(i);
  const dv = new DataView(out.buffer, total);
  values.forEach((v, i) => {
    if (size === 8) dv.setBigInt64(i * 8, BigInt(v), true);
    else if (size === 4) dv.setInt32(i * 4, v, true);
    else dv.setUint8(i, v);
  });
  return out;
}

test('labels: text files as the CLI reads them', () => {
  assert.deepEqual([...parseLabels(text('3\n1\n\n# comment\n  2 \r\n0'), 'l.txt')], [3, 1, 2, 0]);
  assert.deepEqual([...parseLabels(text('+7\n'), 'l.txt')], [7]);
  const bad = [
    ['T-shirt/top\nTrouser\n', "names.txt:1: 'T-shirt/top' is not an integer class (expected one integer per line)"],
    ['1\n2\n1.5\n', "l.txt:3: '1.5' is not an integer class (expected one integer per line)"],
    ['1\n-2\n', 'l.txt:2: -2 is negative (classes are 0 or more)'],
    ['\n# only a comment\n', 'l.txt: no labels in the file (expected one integer per line)'],
    ['1 2\n', "l.txt:1: '1 2' is not an integer class (expected one integer per line)"],
    ['99999999999\n', "l.txt:1: '99999999999' is not an integer class (expected one integer per line)"],
  ];
  for (const [body, message] of bad) {
    const name = message.split(':')[0];
    assert.throws(() => parseLabels(text(body), name), (e) => e instanceof LabelsError && e.message === message, body);
  }
  assert.throws(() => parseLabels(new Uint8Array([0xff, 0xfe, 0x00]), 'bin.txt'), /bin\.txt: not a text file/);
  const long = `${'x'.repeat(100)}\n`;
  assert.throws(() => parseLabels(text(long), 'l.txt'), (e) => e.message.length < 120 && e.message.includes('...'));
  // The bundled labelled samples' file.
  const bundled = parseLabels(readFileSync(join(ROOT, 'web', 'samples', 'labelled', 'labels.txt')), 'labels.txt');
  assert.equal(bundled.length, 32);
});

test('labels: integer .npy files; other arrays are samples', () => {
  assert.deepEqual([...parseLabels(intNpy([4, 0, 9], '<i8'), 'y.npy')], [4, 0, 9]);
  assert.deepEqual([...parseLabels(intNpy([4, 0], '<i4'), 'y.npy')], [4, 0]);
  assert.deepEqual([...parseLabels(intNpy([2, 255], '|u1'), 'y.npy')], [2, 255]);
  assert.throws(() => parseLabels(encodeNpy(new Float32Array([1, 2]), [2]), 'y.npy'), /y\.npy: labels must be integers/);
  assert.throws(() => parseLabels(intNpy([1, 2, 3, 4], '<i8', [2, 2]), 'y.npy'), /y\.npy: expected a 1-D array/);
  assert.throws(() => parseLabels(intNpy([1, -1], '<i8'), 'y.npy'), /y\.npy: label 1 is -1/);
  assert.throws(() => parseLabels(text('not numpy'), 'y.npy'), /y\.npy: not a \.npy file/);
  assert.ok(isLabelsNpy(intNpy([1, 2], '<i8')));
  assert.ok(!isLabelsNpy(intNpy([1, 2, 3, 4], '<i8', [2, 2])), 'a 2-D integer array is not labels');
  assert.ok(!isLabelsNpy(encodeNpy(new Float32Array(4), [1, 1, 2, 2])), 'a float sample is not labels');
  assert.ok(!isLabelsNpy(text('garbage')));
  assert.ok(isLabelsName('labels.txt') && isLabelsName('Y.LABELS') && isLabelsName('y.csv'));
  assert.ok(!isLabelsName('a.npy') && !isLabelsName('a.png'));
});

test('labels: counts against the samples, the ones used, removal', () => {
  const samples = [{ name: 'a.npy' }, { name: 'stack.npy', count: 3 }, { name: 'b.png' }];
  assert.equal(sampleTotal(samples), 5);
  assert.deepEqual(sampleOffsets(samples), [0, 1, 4]);
  const labels = Int32Array.from([10, 11, 12, 13, 14]);
  assert.equal(labelsProblem(labels, 'l.txt', 5), null);
  assert.equal(labelsProblem(labels, 'l.txt', 6), 'l.txt: 5 labels for 6 samples (one integer class per sample, in the order the samples are listed)');
  assert.equal(labelsProblem(Int32Array.from([1]), 'l.txt', 1), null);
  assert.match(labelsProblem(Int32Array.from([1]), 'l.txt', 2), /^l\.txt: 1 label for 2 samples/);
  assert.equal(labelsProblem(null, 'l.txt', 3), null);
  // "Samples used" = 3: the core gets the first three labels.
  assert.deepEqual(labelsForRun(labels, 3), [10, 11, 12]);
  assert.deepEqual(labelsForRun(labels, 64), [10, 11, 12, 13, 14]);
  // Removing a file removes its rows' labels.
  assert.deepEqual([...removeSampleLabels(labels, samples, 1)], [10, 14]);
  assert.deepEqual([...removeSampleLabels(labels, samples, 0)], [11, 12, 13, 14]);
  assert.deepEqual([...removeSampleLabels(labels, samples, 2)], [10, 11, 12, 13]);
});

test('results: with labels the totals lead with top-1 and name the metric', () => {
  const doc = createDocument();
  const inspect = { file: 'm.onnx', macs: 3000, layers: [{ name: 'conv1', op: 'Conv', weight_shape: [8, 3, 3, 3], macs: 2000 },
    { name: 'fc', op: 'Gemm', weight_shape: [10, 8], macs: 1000 }] };
  const raw = demoReport(inspect, { target: 'bops=0.7' });
  const plain = normalizeQuantReport(raw);
  assert.equal(plain.metric, 'sqnr');
  let totals = renderTotals(doc, plain, plain.selected);
  assert.equal(totals.dataset.metric, 'sqnr');
  assert.equal(totals.byClass('stat').length, 3);
  assert.match(totals.byId('metric-line').textContent, /output SQNR against the float model/);
  const labelled = structuredClone(raw);
  labelled.search = { ...(labelled.search ?? {}), metric: 'top1' };
  labelled.samples = 32;
  labelled.selected.top1 = 0.84375;
  for (const b of labelled.baselines) b.top1 = b.config === 'W16A16' ? 0.875 : 0.8125;
  const r = normalizeQuantReport(labelled);
  assert.equal(r.metric, 'top1');
  assert.equal(r.selected.top1, 0.84375);
  totals = renderTotals(doc, r, r.selected);
  assert.equal(totals.dataset.metric, 'top1');
  const stats = totals.byClass('stat');
  assert.equal(stats.length, 4);
  assert.equal(stats[0].dataset.stat, 'top1');
  assert.equal(stats[0].dataset.value, '0.84375');
  assert.match(stats[0].textContent, /Top-1 on your labels.*84\.4%/);
  assert.match(totals.byId('metric-line').textContent, /top-1 accuracy on your 32 labelled samples/);
  // A homogeneous run has no search section: its top-1 still says labels were used.
  const homogeneous = { ...structuredClone(raw), search: undefined };
  homogeneous.selected.top1 = 0.5;
  assert.equal(normalizeQuantReport(homogeneous).metric, 'top1');
});

test('validation: top-1 on the labels beside the agreement', () => {
  const doc = createDocument();
  const base = { sqnrDb: 30, kind: 'classification', agreement: 0.9, top1Agreement: 0.9, rows: 10, samples: 10, ms: 100 };
  let view = renderValidation(doc, { ...base, labelled: 0, floatTop1: null, exportTop1: null }, 29);
  assert.equal(view.byId('label-top1'), null);
  view = renderValidation(doc, { ...base, labelled: 10, floatTop1: 0.9, exportTop1: 0.8 }, 29);
  const box = view.byId('label-top1');
  assert.match(box.textContent, /Top-1 on your labels \(exported\)80\.0%float model 90\.0% · 10 labelled samples/);
  assert.equal(view.byId('validation').dataset.labelTop1, '0.8');
  assert.equal(view.byId('validation').dataset.labelled, '10');
});

test('preprocess: a dynamic width (or height) is taken from the images', () => {
  const text = defaultSettings({ name: 'x', shape: [1, 3, 48, 'W'] });
  assert.equal(text.height, 48);
  assert.equal(text.autoWidth, true);
  assert.equal(text.autoHeight, false);
  // The widest aspect at height 48: 200x40 -> 240; 100x50 -> 96.
  const s = sizeFromImages(text, [{ w: 100, h: 50 }, { w: 200, h: 40 }, null]);
  assert.equal(s.width, 240);
  assert.equal(s.height, 48);
  assert.equal(s.autoWidth, false, 'from then on the width is the user\'s');
  assert.equal(sizeFromImages(s, [{ w: 1000, h: 10 }]), s, 'set once');
  assert.equal(sizeFromImages(text, [{ w: 100000, h: 1 }]).width, 4096, 'capped');
  assert.equal(sizeFromImages(text, []), text, 'no sizes: unchanged');
  // Both dynamic: the first image's size; a fixed input is never changed.
  const both = defaultSettings({ name: 'x', shape: [1, 3, 'H', 'W'] });
  assert.deepEqual([both.autoHeight, both.autoWidth], [true, true]);
  const b = sizeFromImages(both, [{ w: 40, h: 36 }, { w: 80, h: 20 }]);
  assert.deepEqual([b.height, b.width], [36, 40]);
  const fixed = defaultSettings({ name: 'x', shape: [1, 3, 32, 32] });
  assert.equal(sizeFromImages(fixed, [{ w: 100, h: 50 }]), fixed);
  // Height dynamic, width fixed: the tallest aspect at that width.
  const tall = defaultSettings({ name: 'x', shape: [1, 3, 'H', 64] });
  assert.equal(sizeFromImages(tall, [{ w: 32, h: 64 }]).height, 128);
});
