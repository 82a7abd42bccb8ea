// Tests of the browser module (quantmix.mjs + .wasm) under node, through the raw Embind binding
// and through web/api/engine.js and the worker protocol. Run by ctest in the wasm build with
// QM_WEB_DIR=<build>/web. The oracle is independent of our C++: the parameter count and the
// per-layer MACs that tools/make_sample_model.py computed with python-onnx and torch.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadEngine, ModelError } from '../../web/api/engine.js';
import { handleMessage, WorkerClient } from '../../web/api/worker_protocol.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = process.env.QM_WEB_DIR ?? join(ROOT, 'build', 'wasm', 'web');
const MODELS = join(ROOT, 'tests', 'browser', 'models');
const SAMPLE = join(ROOT, 'web', 'samples', 'sample_cnn.onnx');
const ERROR_KINDS = ['invalid model', 'unsupported', 'invalid argument', 'i/o'];

const built = existsSync(join(WEB_DIR, 'quantmix.mjs'));
// Outside the wasm build (no QM_WEB_DIR and nothing built) these tests are skipped, never passed;
// with CI=true they run and fail.
const skip = !built && !process.env.QM_WEB_DIR && process.env.CI !== 'true' ? 'the wasm module is not built (set QM_WEB_DIR)' : false;

const moduleUrl = pathToFileURL(join(WEB_DIR, 'quantmix.mjs')).href;
const wasmBinary = built ? readFileSync(join(WEB_DIR, 'quantmix.wasm')) : null;
const bytesOf = (path) => new Uint8Array(readFileSync(path));
const expected = (path) => JSON.parse(readFileSync(path, 'utf8'));

async function rawModule() {
  const { default: factory } = await import(moduleUrl);
  return factory({ wasmBinary, print: () => {}, printErr: () => {} });
}

/** A deterministic pseudo-random byte string (xorshift32), so failures reproduce. */
function randomBytes(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; ++i) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function checkAgainstOracle(report, oracle) {
  assert.equal(report.params, oracle.params, 'params');
  assert.equal(report.macs, oracle.macs, 'total MACs');
  assert.deepEqual(report.layers.map((l) => l.name), oracle.layers.map((l) => l.name), 'layer names');
  assert.deepEqual(report.layers.map((l) => l.op), oracle.layers.map((l) => l.op), 'layer ops');
  assert.deepEqual(report.layers.map((l) => l.weight_shape), oracle.layers.map((l) => l.weight_shape), 'weight shapes');
  assert.deepEqual(report.layers.map((l) => l.macs), oracle.layers.map((l) => l.macs), 'per-layer MACs');
}

test('wasm/binding: version and inspect of the sample model match the oracle', { skip }, async () => {
  const M = await rawModule();
  assert.match(M.version(), /^\d+\.\d+\.\d+/);
  const oracle = expected(join(ROOT, 'web', 'samples', 'sample_cnn.expected.json'));
  const r = M.inspect(bytesOf(SAMPLE), 'sample_cnn.onnx', {}, '');
  assert.equal(r.ok, true, r.error);
  assert.equal(r.error, '');
  const report = JSON.parse(r.value);
  checkAgainstOracle(report, oracle);
  assert.equal(report.file, 'sample_cnn.onnx');
  const ops = Array.isArray(report.ops) ? Object.fromEntries(report.ops) : report.ops;
  assert.deepEqual(ops, oracle.ops, 'op histogram');
  assert.deepEqual(report.inputs.map((v) => [v.name, v.dtype, v.shape]),
    oracle.inputs.map((v) => [v.name, v.dtype, v.shape]), 'inputs');
  assert.deepEqual(report.outputs.map((v) => [v.name, v.dtype, v.shape]),
    oracle.outputs.map((v) => [v.name, v.dtype, v.shape]), 'outputs');
  assert.deepEqual(report.unsupported, []);
});

test('wasm/binding: bad inputs return ok=false with a one-line message, never throw', { skip }, async () => {
  const M = await rawModule();
  const sample = bytesOf(SAMPLE);
  const cases = [
    ['empty file', new Uint8Array(0), 'empty.onnx'],
    ['truncated to 100 bytes', sample.subarray(0, 100), 'cut.onnx'],
    ['truncated in a tensor', bytesOf(join(MODELS, 'corrupt.onnx')), 'corrupt.onnx'],
    ['random bytes', randomBytes(4096, 42), 'random.onnx'],
    ['text', new TextEncoder().encode('this is not an onnx model\n'), 'notes.onnx'],
  ];
  for (const [what, bytes, name] of cases) {
    let r;
    assert.doesNotThrow(() => { r = M.inspect(bytes, name, {}, ''); }, what);
    assert.equal(r.ok, false, `${what}: must be rejected`);
    assert.equal(r.value, '', what);
    assert.ok(r.error.length > 10, `${what}: message "${r.error}"`);
    assert.ok(!r.error.includes('\n'), `${what}: one line: "${r.error}"`);
    assert.ok(r.error.includes(name), `${what}: the message names the file: "${r.error}"`);
    assert.ok(ERROR_KINDS.includes(r.kind), `${what}: kind "${r.kind}"`);
  }
  // After all that, the module still works.
  assert.equal(M.inspect(sample, 'sample_cnn.onnx', {}, '').ok, true);
});

test('wasm/binding: wrong argument types and bad input shapes are reported, not thrown', { skip }, async () => {
  const M = await rawModule();
  const sample = bytesOf(SAMPLE);
  const cases = [
    ['model is a string', () => M.inspect('abc', 'm.onnx', {}, ''), /Uint8Array/],
    ['external file is a number', () => M.inspect(sample, 'm.onnx', { 'w.bin': 5 }, ''), /external data file 'w\.bin'.*Uint8Array/],
    ['shape without dims', () => M.inspect(sample, 'm.onnx', {}, 'image='), /image/],
    ['shape with a letter', () => M.inspect(sample, 'm.onnx', {}, 'image=1x1xQx28'), /Q/],
    ['shape object with a number', () => M.inspect(sample, 'm.onnx', {}, { image: 5 }), /image/],
  ];
  for (const [what, call, pattern] of cases) {
    let r;
    assert.doesNotThrow(() => { r = call(); }, what);
    assert.equal(r.ok, false, what);
    assert.match(r.error, pattern, `${what}: "${r.error}"`);
  }
});

test('wasm/binding: external data files and input shapes', { skip }, async () => {
  const M = await rawModule();
  const mlp = expected(join(MODELS, 'external_mlp.expected.json'));
  const model = bytesOf(join(MODELS, 'external_mlp.onnx'));
  const data = bytesOf(join(MODELS, mlp.data_file));
  // As a plain object and as a Map.
  for (const files of [{ [mlp.data_file]: data }, new Map([[mlp.data_file, data]])]) {
    const r = M.inspect(model, 'external_mlp.onnx', files, '');
    assert.equal(r.ok, true, r.error);
    checkAgainstOracle(JSON.parse(r.value), mlp);
  }
  // Without its data file the model cannot be read; the message names the missing file.
  const missing = M.inspect(model, 'external_mlp.onnx', {}, '');
  assert.equal(missing.ok, false);
  assert.match(missing.error, /external_mlp\.onnx\.data/);
  // The core's messages reach the page in the app's words, never the CLI's flags (issue 16 item 5).
  assert.match(missing.error, /which was not given — select it together with the model \(/);
  assert.equal(missing.error.split('select it together').length, 2, `the advice once: ${missing.error}`);

  const dyn = expected(join(MODELS, 'dynamic_cnn.expected.json'));
  const dynBytes = bytesOf(join(MODELS, 'dynamic_cnn.onnx'));
  const open = JSON.parse(M.inspect(dynBytes, 'dynamic_cnn.onnx', {}, '').value);
  assert.equal(open.macs, null, 'MACs unknown without an input shape');
  assert.ok(open.warnings.some((w) => /input shapes are not fully known; set Input shapes to \S+=/.test(w)), open.warnings.join('\n'));
  assert.ok(!open.warnings.some((w) => w.includes('--')), open.warnings.join('\n'));
  const badShape = M.inspect(dynBytes, 'dynamic_cnn.onnx', {}, 'image=');
  assert.match(badShape.error, /^Input shape 'image=': /);
  const notInput = M.inspect(dynBytes, 'dynamic_cnn.onnx', {}, 'nope=1x2');
  assert.match(notInput.error, /^Input shape 'nope=1x2': 'nope' is not an input of dynamic_cnn\.onnx/);
  assert.deepEqual(open.inputs[0].shape.slice(0, 2), [1, 3]);
  const [name, dims] = dyn.input_shape.split('=');
  for (const shapes of [dyn.input_shape, `  ${dyn.input_shape} ;`, { [name]: dims.split('x').map(Number) }, { [name]: dims }]) {
    const r = M.inspect(dynBytes, 'dynamic_cnn.onnx', null, shapes);
    assert.equal(r.ok, true, `${JSON.stringify(shapes)}: ${r.error}`);
    checkAgainstOracle(JSON.parse(r.value), dyn);
  }
});

test('wasm/engine: inspect returns the report, ModelError on bad input', { skip }, async () => {
  const engine = await loadEngine({ moduleUrl, wasmBinary });
  const oracle = expected(join(ROOT, 'web', 'samples', 'sample_cnn.expected.json'));
  // ArrayBuffer, Uint8Array and a Uint8Array view into a larger buffer all work.
  const sample = readFileSync(SAMPLE);
  const padded = new Uint8Array(sample.length + 16);
  padded.set(sample, 8);
  for (const bytes of [new Uint8Array(sample).buffer, new Uint8Array(sample), padded.subarray(8, 8 + sample.length)]) {
    checkAgainstOracle(await engine.inspect(bytes, 'sample_cnn.onnx'), oracle);
  }
  await assert.rejects(engine.inspect(new Uint8Array([1, 2, 3]), 'bad.onnx'),
    (e) => e instanceof ModelError && e.name === 'ModelError' && e.message.includes('bad.onnx')
      && ERROR_KINDS.includes(e.kind));
  await assert.rejects(engine.inspect('not bytes', 'bad.onnx'), (e) => e instanceof ModelError);
});

test('wasm/worker: the protocol answers every request exactly once', { skip }, async () => {
  const enginePromise = loadEngine({ moduleUrl, wasmBinary });
  // A fake Worker: the page side posts into handleMessage, replies come back as events.
  const listeners = { message: [], error: [] };
  const replies = [];
  const fakeWorker = {
    addEventListener: (type, fn) => listeners[type].push(fn),
    postMessage: (msg) => handleMessage(structuredClone(msg), {
      getEngine: () => enginePromise,
      post: (reply) => { replies.push(reply); for (const fn of listeners.message) fn({ data: structuredClone(reply) }); },
    }),
  };
  const client = new WorkerClient(fakeWorker);
  assert.match(await client.init(), /^\d+\.\d+\.\d+/);

  const oracle = expected(join(ROOT, 'web', 'samples', 'sample_cnn.expected.json'));
  const stages = [];
  const report = await client.inspect({ file: { name: 'sample_cnn.onnx', bytes: readFileSync(SAMPLE) } },
    (p) => stages.push(p.stage));
  checkAgainstOracle(report, oracle);
  assert.deepEqual(stages, ['engine', 'inspect']);

  await assert.rejects(client.inspect({ file: { name: 'bad.onnx', bytes: new Uint8Array(7) } }),
    (e) => e.name === 'ModelError' && e.message.includes('bad.onnx'));
  await assert.rejects(client.request('frobnicate'), /unknown request type 'frobnicate'/);
  const finals = replies.filter((r) => r.type !== 'progress');
  assert.deepEqual(finals.map((r) => r.id), [1, 2, 3, 4], 'one final reply per request');
  assert.equal(client.pending.size, 0);
});
