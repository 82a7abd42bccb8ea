// The quantize binding (wasm/bindings.cpp) and the worker protocol around it, under node with
// the built module. Oracle: ONNX Runtime (onnxruntime-web's node build) running the exported QDQ
// model against the float model — it must reproduce the SQNR the core reports (amp.md §1:
// simulation = deployment). Skipped, never passed, without the wasm build.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadEngine } from '../../web/engine.js';
import { SqnrAccumulator } from '../../web/metrics.js';
import { encodeNpy } from '../../web/npy.js';
import { handleMessage } from '../../web/worker_protocol.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = process.env.QM_WEB_DIR ?? join(ROOT, 'build', 'wasm', 'web');
const SAMPLE = join(ROOT, 'web', 'samples', 'sample_cnn.onnx');
const built = existsSync(join(WEB_DIR, 'quantmix.mjs'));
const skip = !built && !process.env.QM_WEB_DIR ? 'the wasm module is not built (set QM_WEB_DIR)' : false;
// Float summation order differs between our simulation and ORT's kernels; W8A8 agrees far closer.
const SIM_VS_ORT_DB = 0.05;

const datas = Array.from({ length: 3 }, (_, k) => Float32Array.from({ length: 784 }, (_, i) => Math.abs(Math.sin(i * (k + 1) * 0.37))));
const samples = datas.map((d, k) => ({ name: `s${k}.npy`, bytes: encodeNpy(d, [1, 1, 28, 28]) }));

async function engine() {
  return loadEngine({ moduleUrl: pathToFileURL(join(WEB_DIR, 'quantmix.mjs')).href, wasmBinary: readFileSync(join(WEB_DIR, 'quantmix.wasm')) });
}

test('wasm/quantize: W8A8 report, exported model and encodings', { skip }, async (t) => {
  const e = await engine();
  if (!e.capabilities().quantize) { t.skip('this build has no quantize core'); return; }
  const phases = [];
  const r = await e.quantize({ modelBytes: readFileSync(SAMPLE), fileName: 'sample_cnn.onnx', samples, inputNames: ['image'],
    options: { bits: 'W8A8' }, onProgress: (phase, done, total) => phases.push([phase, done, total]) });
  assert.ok(phases.length > 0 && phases.every(([, d, n]) => d <= n), 'progress reports done <= total');
  for (const key of ['model', 'candidates', 'groups', 'baselines', 'pareto', 'selected', 'timing_s']) assert.ok(key in r.report, `report.json has ${key}`);
  assert.equal(r.report.model.file, 'sample_cnn.onnx');
  assert.equal(r.report.selected.layers.length, 6);
  assert.ok(r.report.selected.layers.every((l) => l.w_bits === 8 && l.a_bits === 8));
  assert.ok(r.model instanceof Uint8Array && r.model.length > 1000);
  assert.ok(JSON.parse(r.encodings));
});

test('wasm/quantize: the W8A8 export runs in ONNX Runtime with the SQNR the core reports', { skip }, async (t) => {
  const e = await engine();
  if (!e.capabilities().quantize) { t.skip('this build has no quantize core'); return; }
  const r = await e.quantize({ modelBytes: readFileSync(SAMPLE), fileName: 'sample_cnn.onnx', samples, inputNames: ['image'],
    options: { bits: 'W8A8' } });
  const ort = await import(pathToFileURL(join(ROOT, 'node_modules', 'onnxruntime-web', 'dist', 'ort.node.min.mjs')).href);
  const ref = await ort.InferenceSession.create(readFileSync(SAMPLE));
  const q = await ort.InferenceSession.create(r.model);
  const acc = new SqnrAccumulator();
  for (const d of datas) {
    const feeds = { image: new ort.Tensor('float32', d, [1, 1, 28, 28]) };
    acc.add({ y: (await ref.run(feeds)).logits.data }, { y: (await q.run(feeds)).logits.data }, 'y', 10);
  }
  const got = acc.result().sqnrDb;
  assert.ok(Math.abs(got - r.report.selected.sqnr_db) < SIM_VS_ORT_DB, `ORT ${got} dB vs reported ${r.report.selected.sqnr_db} dB`);
});

test('wasm/quantize: bad samples and options give one-line errors, not crashes', { skip }, async (t) => {
  const e = await engine();
  if (!e.capabilities().quantize) { t.skip('this build has no quantize core'); return; }
  const base = { modelBytes: readFileSync(SAMPLE), fileName: 'sample_cnn.onnx', inputNames: ['image'] };
  await assert.rejects(e.quantize({ ...base, samples: [{ name: 'bad.npy', bytes: new Uint8Array([1, 2, 3]) }], options: { bits: 'W8A8' } }),
    (err) => err.name === 'ModelError' && err.message.includes('bad.npy') && !err.message.includes('\n'));
  // Through the worker, which names the sample file in the core's "calibration sample N" messages.
  const posts = [];
  const host = { getEngine: async () => e, post: (m) => posts.push(m), state: { demo: false, model: null, inspect: null, samples: [] } };
  await handleMessage({ type: 'load_model', id: 1, file: { name: 'sample_cnn.onnx', bytes: readFileSync(SAMPLE) } }, host);
  await handleMessage({ type: 'set_samples', id: 2, samples: [samples[0], { name: 'wrong.npy', bytes: encodeNpy(new Float32Array(10), [1, 10]) }] }, host);
  await handleMessage({ type: 'quantize', id: 3, options: { bits: 'W8A8' } }, host);
  const reply = posts.find((m) => m.id === 3 && m.type === 'error');
  assert.ok(reply && /wrong\.npy/.test(reply.message), reply?.message);
  await assert.rejects(e.quantize({ ...base, samples, options: { bits: 'W9A99' } }), (err) => /W9A99/.test(err.message));
  // The module is still usable afterwards.
  assert.equal((await e.inspect(readFileSync(SAMPLE), 'sample_cnn.onnx')).layers.length, 6);
});

test('worker protocol: load_model, set_samples, quantize answer once each, progress in between', { skip }, async (t) => {
  const e = await engine();
  if (!e.capabilities().quantize) { t.skip('this build has no quantize core'); return; }
  const posts = [];
  const host = { getEngine: async () => e, post: (m) => posts.push(m), state: { demo: false, model: null, inspect: null, samples: [] } };
  await handleMessage({ type: 'quantize', id: 1, options: { bits: 'W8A8' } }, host);
  assert.match(posts.pop().message, /open a model first/);
  await handleMessage({ type: 'load_model', id: 2, file: { name: 'sample_cnn.onnx', bytes: readFileSync(SAMPLE) } }, host);
  await handleMessage({ type: 'set_samples', id: 3, samples }, host);
  await handleMessage({ type: 'quantize', id: 4, options: { bits: 'W8A8' } }, host);
  const finals = posts.filter((m) => m.type !== 'progress');
  assert.deepEqual(finals.map((m) => [m.id, m.type]), [[2, 'result'], [3, 'result'], [4, 'result']]);
  assert.ok(posts.some((m) => m.type === 'progress' && m.id === 4 && m.total > 0), 'progress for the quantize request');
  assert.equal(finals[2].value.report.selected.layers.length, 6);
});

test('wasm/run: one FP32 forward pass matches ONNX Runtime', { skip }, async () => {
  const e = await engine();
  const out = await e.run({ modelBytes: readFileSync(SAMPLE), fileName: 'sample_cnn.onnx', inputs: [{ name: 'image', bytes: samples[0].bytes }] });
  assert.equal(out.length, 1);
  assert.equal(out[0].name, 'logits');
  assert.deepEqual(out[0].shape, [1, 10]);
  const ort = await import(pathToFileURL(join(ROOT, 'node_modules', 'onnxruntime-web', 'dist', 'ort.node.min.mjs')).href);
  const ref = await ort.InferenceSession.create(readFileSync(SAMPLE));
  const want = (await ref.run({ image: new ort.Tensor('float32', datas[0], [1, 1, 28, 28]) })).logits.data;
  const acc = new SqnrAccumulator();
  acc.add({ y: want }, { y: out[0].data });
  assert.ok(acc.result().sqnrDb > 80, `our engine vs ORT: ${acc.result().sqnrDb} dB`);
  await assert.rejects(e.run({ modelBytes: readFileSync(SAMPLE), fileName: 'sample_cnn.onnx', inputs: [{ name: 'nope', bytes: samples[0].bytes }] }),
    /no input 'nope'/);
});
