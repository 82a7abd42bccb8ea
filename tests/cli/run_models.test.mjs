// `quantmix run` on whole models against ONNX Runtime (onnxruntime-web, wasm, one thread): every
// model of the generated corpus (tools/make_models.py -> $QM_BUILD_DIR/testdata/models) with a
// deterministic random input; every output must match ORT's with SQNR >= MIN_MODEL_SQNR_DB, same
// dtype and shape. Also: batch N > 1 on the dynamic-batch model, --repeat/--threads, the .npz path,
// and the one-line errors for an unsupported op and a wrongly shaped input.
//
//   QUANTMIX_BIN=build/native/quantmix QM_BUILD_DIR=build/native node --test tests/cli/run_models.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, MODELS, corpusIndex, describe, expected, mulberry32, qm } from './helpers.mjs';
import { arrayType, makeArray, readNpy, writeNpy, encodeNpy } from '../ops/npy.mjs';
import { runOrt } from '../ops/ort_engine.mjs';
import { sqnrDb } from '../ops/compare.mjs';

/** Output SQNR required of a whole model against ONNX Runtime (dB). */
const MIN_MODEL_SQNR_DB = 80;
/** Batch size used for symbolic batch dimensions (exercises N > 1). */
const DYNAMIC_BATCH = 3;

const sanitize = (name) => name.replace(/[^A-Za-z0-9._-]/g, '_');

/** A deterministic random input for a declared input (float in [-1, 1), integers in [0, 4)). */
function randomInput(spec, seed) {
  const shape = spec.shape.map((d) => (typeof d === 'number' ? d : DYNAMIC_BATCH));
  const n = shape.reduce((a, b) => a * b, 1);
  const rnd = mulberry32(seed);
  const dtype = { float: 'float32', int64: 'int64', int32: 'int32', uint8: 'uint8', bool: 'bool' }[spec.dtype];
  if (!dtype) throw new Error(`input '${spec.name}': no random generator for ${spec.dtype}`);
  const arr = makeArray(dtype, shape, new (arrayType(dtype))(n));
  for (let i = 0; i < n; i++) {
    if (dtype === 'float32') arr.data[i] = rnd() * 2 - 1;
    else if (dtype === 'int64') arr.data[i] = BigInt(Math.floor(rnd() * 4));
    else arr.data[i] = Math.floor(rnd() * 4);
  }
  return arr;
}

/** Runs quantmix on `feeds`; returns {run, outputs: name -> array}. */
function runQuantmix(model, feeds, outNames, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'qm-run-'));
  try {
    const args = ['run', model];
    for (const [name, arr] of Object.entries(feeds)) {
      const f = join(dir, `in_${sanitize(name)}.npy`);
      writeNpy(f, arr);
      args.push('--input', `${name}=${f}`);
    }
    args.push('--output-dir', join(dir, 'out'), ...extra);
    const r = qm(args);
    const outputs = {};
    if (r.status === 0) for (const o of outNames) outputs[o] = readNpy(join(dir, 'out', `${sanitize(o)}.npy`));
    return { run: r, outputs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compareOutputs(name, ours, theirs) {
  for (const [o, e] of Object.entries(theirs)) {
    const a = ours[o];
    assert.ok(a, `${name}: output '${o}' missing`);
    assert.equal(a.dtype, e.dtype, `${name}: output '${o}' dtype`);
    assert.deepEqual(a.shape, e.shape, `${name}: output '${o}' shape`);
    const db = sqnrDb(Array.from(e.data, Number), Array.from(a.data, Number));
    assert.ok(db >= MIN_MODEL_SQNR_DB, `${name}: output '${o}' SQNR ${db.toFixed(1)} dB < ${MIN_MODEL_SQNR_DB} dB`);
  }
}

const index = corpusIndex();
const SKIP = new Map([
  ['unsupported_op', 'has an unsupported op (checked by the error test below)'],
  // Exported with TrainingMode.TRAINING: its Dropout has training_mode=true (a random mask, so no
  // deterministic oracle) and its BatchNormalizations use batch statistics. The engine is
  // inference-only and must say so (checked below).
  ['mobilenet_v2_op13_train_bn', 'training-mode export (random Dropout mask): rejected with a clear error, checked below'],
]);

for (const [k, name] of index.models.entries()) {
  if (SKIP.has(name)) continue;
  test(`run ${name} matches ONNX Runtime (SQNR >= ${MIN_MODEL_SQNR_DB} dB)`, async () => {
    const model = join(MODELS, `${name}.onnx`);
    const exp = expected(name);
    const feeds = {};
    exp.inputs.forEach((spec, i) => { feeds[spec.name] = randomInput(spec, 1000 + 17 * k + i); });
    let theirs;
    if (name === 'external_data') {
      // onnxruntime-web reads models from bytes and cannot open the weights file beside it: give
      // it the same model with the data inlined by `quantmix convert` (itself checked against ORT
      // in convert_ort.test.mjs); quantmix runs the original.
      const dir = mkdtempSync(join(tmpdir(), 'qm-ext-'));
      try {
        const inlined = join(dir, 'inlined.onnx');
        const c = qm(['convert', model, '--out', inlined]);
        assert.equal(c.status, 0, describe(c));
        theirs = await runOrt(inlined, feeds);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      theirs = await runOrt(model, feeds);
    }
    const { run, outputs } = runQuantmix(model, feeds, Object.keys(theirs));
    assert.equal(run.status, 0, describe(run));
    compareOutputs(name, outputs, theirs);
  });
}

test('run: batch N > 1 equals N single runs of ORT (dynamic batch model)', async () => {
  const name = 'squeezenet1_1_op10_dynbatch';
  const model = join(MODELS, `${name}.onnx`);
  const spec = expected(name).inputs[0];
  const feeds = { [spec.name]: randomInput(spec, 4242) };
  assert.equal(feeds[spec.name].shape[0], DYNAMIC_BATCH);
  const theirs = await runOrt(model, feeds);
  const { run, outputs } = runQuantmix(model, feeds, Object.keys(theirs), ['--threads', '2']);
  assert.equal(run.status, 0, describe(run));
  compareOutputs(name, outputs, theirs);
});

test('run: --repeat prints run_ms and --threads 1 gives the same outputs as 2 threads', () => {
  const name = 'resnet18_op17';
  const model = join(MODELS, `${name}.onnx`);
  const spec = expected(name).inputs[0];
  const feeds = { [spec.name]: randomInput(spec, 7) };
  const one = runQuantmix(model, feeds, ['output'], ['--threads', '1', '--repeat', '2']);
  const two = runQuantmix(model, feeds, ['output'], ['--threads', '2']);
  assert.equal(one.run.status, 0, describe(one.run));
  assert.match(one.run.stderr, /^run_ms=\d+(\.\d+)?$/m);
  assert.equal(two.run.status, 0, describe(two.run));
  // Different thread counts may split sums differently: compare as a model output.
  compareOutputs(name, two.outputs, one.outputs);
});

test('run: .npz with one array per input (multi-input model)', async () => {
  const name = 'matmul_broadcast';
  const model = join(MODELS, `${name}.onnx`);
  const exp = expected(name);
  const feeds = {};
  exp.inputs.forEach((s, i) => { feeds[s.name] = randomInput(s, 99 + i); });
  const theirs = await runOrt(model, feeds);
  // A stored zip (what np.savez writes) built by hand: local headers, no central directory needed.
  const parts = [];
  for (const [n, arr] of Object.entries(feeds)) {
    const data = encodeNpy(arr);
    const fname = Buffer.from(`${n}.npy`);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0); h.writeUInt16LE(20, 4); h.writeUInt16LE(0, 6); h.writeUInt16LE(0, 8);
    h.writeUInt32LE(0, 14); h.writeUInt32LE(data.length, 18); h.writeUInt32LE(data.length, 22);
    h.writeUInt16LE(fname.length, 26); h.writeUInt16LE(0, 28);
    parts.push(h, fname, Buffer.from(data));
  }
  const dir = mkdtempSync(join(tmpdir(), 'qm-npz-'));
  try {
    const npz = join(dir, 'in.npz');
    writeFileSync(npz, Buffer.concat(parts));
    const r = qm(['run', model, '--input', npz, '--output-dir', join(dir, 'out')]);
    assert.equal(r.status, 0, describe(r));
    const ours = {};
    for (const o of Object.keys(theirs)) ours[o] = readNpy(join(dir, 'out', `${sanitize(o)}.npy`));
    compareOutputs(name, ours, theirs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: clear one-line errors (unsupported op, wrong input shape, missing input)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-err-'));
  try {
    const x = join(dir, 'x.npy');
    writeNpy(x, makeArray('float32', [1, 3, 8, 8], new Float32Array(192)));
    const r1 = qm(['run', join(MODELS, 'unsupported_op.onnx'), '--input', `x=${x}`]);
    assert.equal(r1.status, 1, describe(r1));
    assert.match(r1.stderr, /^error: .*Frobnicate/m);
    assert.equal(r1.stderr.trim().split('\n').length, 1, describe(r1));

    const bad = join(dir, 'bad.npy');
    writeNpy(bad, makeArray('float32', [28, 29], new Float32Array(28 * 29)));
    const r2 = qm(['run', join(MODELS, 'resnet18_op17.onnx'), '--input', bad]);
    assert.equal(r2.status, 1, describe(r2));
    assert.match(r2.stderr, /^error: input 'input' from .*bad\.npy: expected shape \[1, 3, 224, 224\], got \[28, 29\]$/m);

    const img = join(dir, 'img.npy');
    writeNpy(img, makeArray('float32', [1, 3, 224, 224], new Float32Array(3 * 224 * 224)));
    const r6 = qm(['run', join(MODELS, 'mobilenet_v2_op13_train_bn.onnx'), '--input', img]);
    assert.equal(r6.status, 1, describe(r6));
    assert.match(r6.stderr, /^error: .*training.*inference only/m);

    const r3 = qm(['run', join(MODELS, 'matmul_broadcast.onnx'), '--input', `a=${x}`]);
    assert.equal(r3.status, 1, describe(r3));
    assert.match(r3.stderr, /^error: /m);

    const r4 = qm(['run', '--help']);
    assert.equal(r4.status, 0);
    assert.match(r4.stdout, /--output-dir/);
    const r5 = qm(['run', join(MODELS, 'gemm.onnx'), '--bogus']);
    assert.equal(r5.status, 2, describe(r5));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: the binary under test exists and answers --help', () => {
  assert.ok(existsSync(BIN), `${BIN} is missing (set QUANTMIX_BIN or build build/native)`);
  const r = qm(['run', '--help']);
  assert.equal(r.status, 0, describe(r));
});
