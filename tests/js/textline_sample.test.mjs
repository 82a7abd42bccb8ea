// The committed text-line recogniser sample (web/samples/textline_ctc.onnx, trained by
// tools/train_ctc_model.py) and its data files, checked with an oracle independent of our core:
// ONNX Runtime (onnxruntime-web, wasm EP, graphOptimizationLevel 'all') and the labels of the
// held-out lines. If a retrained or rewritten sample stops recognising text, or its files stop
// agreeing with each other (classes vs charset, label format, calibration key), this fails.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { ort, session } from '../cli/helpers.mjs';
import { characterAccuracy, ctcGreedyDecode } from '../../web/ctc.js';
import { readNpz } from '../../tools/eval/common.mjs';

const SAMPLES = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'web', 'samples');
const MODEL = join(SAMPLES, 'textline_ctc.onnx');
const N_CHECKED = 100;
/** Floor on ORT's float character accuracy over the first N_CHECKED test lines; torch measured
 *  the whole test set at textline_ctc.json's float_accuracy_torch.char (>= 0.95 when trained). */
const MIN_CHAR_ACCURACY = 0.9;
const MAX_FILE_BYTES = 5 * 1024 * 1024;

const charset = () => {
  const lines = readFileSync(join(SAMPLES, 'textline_charset.txt'), 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'textline_charset.txt ends with a newline');
  return lines;
};

test('textline sample: files are small and agree with each other', () => {
  for (const f of ['textline_ctc.onnx', 'textline_test.npz', 'textline_calib.npz', 'textline_charset.txt', 'textline_ctc.json']) {
    assert.ok(statSync(join(SAMPLES, f)).size < MAX_FILE_BYTES, `${f} is under 5 MiB`);
  }
  const chars = charset();
  assert.ok(chars.every((c) => [...c].length === 1), 'one character per line');
  assert.equal(new Set(chars).size, chars.length, 'no character twice');
  const info = JSON.parse(readFileSync(join(SAMPLES, 'textline_ctc.json'), 'utf8'));
  assert.equal(info.output.shape[2], chars.length + 1, 'classes = blank + charset');

  const { x, y, len } = readNpz(join(SAMPLES, 'textline_test.npz'));
  assert.equal(x.dtype, 'uint8');
  assert.deepEqual(x.shape.slice(1), info.input.shape.slice(1));
  assert.equal(y.dtype, 'int32');
  assert.equal(len.dtype, 'int32');
  const [N, L] = y.shape;
  assert.equal(x.shape[0], N);
  assert.deepEqual(len.shape, [N]);
  for (let i = 0; i < N; ++i) {
    assert.ok(len.data[i] >= 1 && len.data[i] <= L, `line ${i}: length ${len.data[i]}`);
    for (let j = 0; j < L; ++j) {
      const v = y.data[i * L + j];
      if (j < len.data[i]) assert.ok(v >= 1 && v <= chars.length, `line ${i}: class ${v}`);
      else assert.equal(v, -1, `line ${i}: padding at ${j}`);
    }
  }
  const { image } = readNpz(join(SAMPLES, 'textline_calib.npz'));
  assert.equal(image.dtype, 'float32');
  assert.deepEqual(image.shape.slice(1), info.input.shape.slice(1));
  assert.ok(image.data.every((v) => v >= 0 && v <= 1), 'calibration lines are pixels / 255');
});

test(`textline sample: ORT float character accuracy on the first ${N_CHECKED} test lines >= ${MIN_CHAR_ACCURACY}`, async () => {
  const o = await ort();
  const s = await session(MODEL);   // graphOptimizationLevel 'all'
  const { x, y, len } = readNpz(join(SAMPLES, 'textline_test.npz'));
  const [, ...dims] = x.shape;
  const per = dims.reduce((a, b) => a * b, 1);
  const L = y.shape[1];
  const classes = charset().length + 1;
  const pairs = [];
  try {
    for (let i = 0; i < N_CHECKED; ++i) {
      const img = Float32Array.from(x.data.subarray(i * per, (i + 1) * per), (v) => v / 255);
      const r = await s.run({ image: new o.Tensor('float32', img, [1, ...dims]) });
      const t = r.logits;
      assert.equal(t.dims.length, 3);
      assert.equal(t.dims[2], classes);
      pairs.push([ctcGreedyDecode(t.data, t.dims[1], t.dims[2], 0), Array.from(y.data.subarray(i * L, i * L + len.data[i]))]);
    }
  } finally {
    await s.release?.();
  }
  const acc = characterAccuracy(pairs);
  assert.ok(acc >= MIN_CHAR_ACCURACY, `character accuracy ${acc.toFixed(4)} < ${MIN_CHAR_ACCURACY}`);
});

test('textline sample in the app: textline_calib/lines.txt is the text of the calibration lines (ORT float model, the score module\'s per-line mean)', async () => {
  // The app's sample (web/app/sample_models.js) scores the greedy decode of each calibration line
  // against lines.txt (web/samples/textline_score.mjs = makeCtcScore over these two files). If
  // the lines were not the calibration lines' text, the float model would read ~0% of them.
  const lines = readFileSync(join(SAMPLES, 'textline_calib', 'lines.txt'), 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'lines.txt ends with a newline');
  const { image } = readNpz(join(SAMPLES, 'textline_calib.npz'));
  const [N, ...dims] = image.shape;
  assert.equal(lines.length, N, 'one line of text per calibration line');
  for (let k = 0; k < N; ++k) {
    assert.ok(statSync(join(SAMPLES, 'textline_calib', `${String(k).padStart(3, '0')}.png`)).size > 0, `textline_calib/${k}.png`);
  }
  const { makeCtcScore } = await import('../../web/examples/ctc_score.mjs');
  const score = makeCtcScore({ lines, charset: charset() });
  const o = await ort();
  const s = await session(MODEL);
  const per = dims.reduce((a, b) => a * b, 1);
  let sum = 0;
  try {
    for (let i = 0; i < N; ++i) {
      const r = await s.run({ image: new o.Tensor('float32', image.data.slice(i * per, (i + 1) * per), [1, ...dims]) });
      sum += score({ logits: { data: r.logits.data, dims: Array.from(r.logits.dims) } }, i);
    }
  } finally {
    await s.release?.();
  }
  // Measured 0.963 (31 of 32 lines read exactly or nearly).
  assert.ok(sum / N >= MIN_CHAR_ACCURACY, `mean character accuracy ${(sum / N).toFixed(4)} on the calibration lines`);
});
