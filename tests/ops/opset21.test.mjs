// Raising models to opset 21 (`quantmix convert --opset 21`, onnx/opset_upgrade.h; what blocked
// weight candidates need for their export) keeps what every op computes. Oracle: ONNX Runtime.
// Every op-corpus case of opset 7..20 is converted, the converted model runs in ORT at opset 21,
// and its outputs must match the case's expected outputs (ORT on the original model) under the
// case's comparison rule. A conversion may refuse only with a one-line error naming the node, and
// only for the forms the header lists as having no opset-21 equivalent (REFUSALS below).
//
//   QUANTMIX_BIN=build/native/quantmix QM_BUILD_DIR=build/native node --test tests/ops/opset21.test.mjs
//   options as run_ops.test.mjs: --filter=RE, --corpus=DIR, --keep, --bin=PATH
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpus, ortEngine, parseOptions, runCases, summaryTable } from './harness.mjs';
import { readModel } from './onnx_proto.mjs';

const opt = parseOptions();

// Forms with no opset-21 equivalent: the conversion refuses them, saying why.
const REFUSALS = [
  /Softmax|LogSoftmax|Hardmax/,                  // opset <= 12, axis not the last: softmax over flattened dims
  /tf_half_pixel_for_nn/,                        // a Resize mode removed in opset 13
  /GroupNormalization-18/,                       // per-group scale and bias
  /upsamples one axis and downsamples another/,  // Resize-10 nearest with mixed scales
];

function convert(bin, model, out) {
  return new Promise((done) => {
    execFile(bin, ['convert', model, '--opset', '21', '--out', out], { timeout: 60_000, encoding: 'utf8' }, (err, _o, stderr) => {
      done(err ? { ok: false, error: String(stderr).trim() } : { ok: true });
    });
  });
}

const ort = ortEngine();
const tmp = mkdtempSync(join(tmpdir(), 'qm-opset21-'));
const engine = {
  name: 'convert --opset 21, then ORT',
  async run(modelPath, inputs, outDir) {
    const out = join(outDir, 'model21.onnx');
    const c = await convert(opt.bin, modelPath, out);
    if (!c.ok) {
      return { ok: false, error: `refused: ${c.error}` };
    }
    const v = readModel(out).opsets[''];
    if (Number(v) !== 21) return { ok: false, error: `converted model has opset ${v}, not 21` };
    return ort.run(out, inputs, outDir);
  },
};

const cases = loadCorpus(opt.corpus).filter((c) => c.opset >= 7 && c.opset <= 20);
const results = await runCases(cases, engine, { filter: opt.filter ? new RegExp(opt.filter) : null, keep: opt.keep });
rmSync(tmp, { recursive: true, force: true });
console.log(`opset 21: ${results.length} cases of opset 7..20\n` + summaryTable(results));

test('every converted case matches ONNX Runtime on the original', () => {
  const bad = results.filter((r) => r.status === 'fail' && !r.detail.startsWith('refused: '));
  assert.deepEqual(bad.map((r) => `${r.name}: ${r.detail}`), []);
});

test('refusals are one line, name the node, and are the documented ones', () => {
  const bad = results.filter((r) => r.status === 'fail' && r.detail.startsWith('refused: '));
  console.log(`refused (no opset-21 form): ${bad.length}\n` + bad.map((r) => `  ${r.name}: ${r.detail}`).join('\n'));
  for (const r of bad) {
    const msg = r.detail.slice('refused: '.length);
    assert.equal(msg.split('\n').length, 1, `${r.name}: not one line: ${msg}`);
    assert.match(msg, / node '/, `${r.name}: the message names no node: ${msg}`);
    assert.ok(REFUSALS.some((re) => re.test(msg)), `${r.name}: undocumented refusal: ${msg}`);
  }
});

test('most cases ran', () => {
  const passed = results.filter((r) => r.status === 'pass').length;
  assert.ok(passed > 300, `only ${passed} cases converted and matched`);
});
