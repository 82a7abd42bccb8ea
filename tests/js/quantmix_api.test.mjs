// The JS API (web/quantmix.js) end to end under node: a fake Worker runs the real worker
// protocol (web/api/worker_protocol.js) over the recording engine of fake_engine.mjs. Checks what
// reaches the core for quantize / evaluate / select / override / export, that overrides compose
// with the configuration shown, and the README's example (exportFiles() right after quantize).
import assert from 'node:assert/strict';
import test from 'node:test';
import { ModelError as EngineModelError } from '../../web/api/engine.js';
import { CancelledError, ModelError, Quantmix, WorkerError } from '../../web/api/quantmix.js';
import { fakeEngine, installWorker } from './fake_engine.mjs';


const sample = (name) => ({ name, bytes: new Uint8Array([1, 2, 3]) });
const wsCalls = (engine) => engine.calls.map((c) => c[0]).filter((n) => n.startsWith('ws') && !n.endsWith(' done'));
const lastQuantizeOptions = (engine) => engine.calls.filter((c) => c[0] === 'wsQuantize').pop()[1];

async function ready(engine) {
  installWorker(engine);
  const qm = await Quantmix.create({ workerUrl: 'fake://worker.js' });
  await qm.loadModel(new Uint8Array(8), { name: 'm.onnx' });
  await qm.setSamples([sample('a.npy'), sample('b.npy')], { maxSamples: 2 });
  return qm;
}

const SEARCH = { target: 'bops=0.6', candidates: ['W4A8', 'W8A8', 'W8A16'], maxSamples: 2 };

test('api: the README flow — quantize, then exportFiles() at once', async () => {
  const engine = fakeEngine();
  const qm = await ready(engine);
  const progress = [];
  const run = await qm.quantize(SEARCH, { onProgress: (p) => progress.push(p.phase) });
  assert.ok(run.report.selected.group_config.length === 3);
  assert.deepEqual([...new Set(progress)], ['evaluate', 'export']);
  const files = qm.exportFiles();
  assert.ok(files.model instanceof Blob && files.model.size === 3, 'the QDQ model');
  assert.ok(files.encodings instanceof Blob);
  assert.ok(JSON.parse(await files.report.text()).export, 'report.json with the export section');
  assert.equal(qm.exported, true);
  qm.terminate();
});

test('api: a point, then two overrides, compose; select and export reuse the search', async () => {
  const engine = fakeEngine();
  const qm = await ready(engine);
  const run = await qm.quantize(SEARCH);
  const point = run.report.pareto.find((p) => p.index !== run.report.selected.index && p.config[0] !== p.config[2]);
  assert.ok(point, 'a front point to choose');

  engine.calls.length = 0;
  const chosen = await qm.evaluate({ config: point.config });
  assert.deepEqual(wsCalls(engine), ['wsQuantize'], 'a point: one evaluation, no search, no export');
  assert.deepEqual(lastQuantizeOptions(engine), { ...SEARCH, config: point.config });
  assert.deepEqual(chosen.report.final.group_config, point.config);
  assert.equal(qm.exportFiles().model, null, 'not exported yet');
  assert.equal(qm.exported, false);

  // The second override keeps the point's bits and the first override.
  await qm.override({ conv1: 'W16A16' });
  const r = await qm.override({ fc: 'W16A16' });
  assert.deepEqual(lastQuantizeOptions(engine), { ...SEARCH, config: point.config, layerBits: { conv1: 'W16A16', fc: 'W16A16' } });
  assert.deepEqual(r.report.final.group_config, ['W16A16', point.config[1], 'W16A16']);
  assert.deepEqual(qm.current, { config: point.config, layerBits: { conv1: 'W16A16', fc: 'W16A16' } });
  // null takes an override back: that layer returns to the point's bits.
  const back = await qm.override({ conv1: null });
  assert.deepEqual(back.report.final.group_config, [point.config[0], point.config[1], 'W16A16']);
  assert.deepEqual(wsCalls(engine), ['wsQuantize', 'wsQuantize', 'wsQuantize', 'wsQuantize']);

  // Export what is shown: wsExport alone (the worker evaluated exactly this last).
  engine.calls.length = 0;
  const exported = await qm.export();
  assert.deepEqual(wsCalls(engine), ['wsExport']);
  assert.deepEqual(exported.model, new Uint8Array([1, 2, 3]));
  assert.equal(qm.exportFiles().model.size, 3);
  await qm.export();
  assert.deepEqual(wsCalls(engine), ['wsExport'], 'exported once');

  // A new target: the search's options with it, no config and no layer bits; overrides reset.
  engine.calls.length = 0;
  const sel = await qm.select('bops=0.4');
  assert.deepEqual(wsCalls(engine), ['wsQuantize']);
  assert.deepEqual(lastQuantizeOptions(engine), { ...SEARCH, target: 'bops=0.4' });
  assert.equal(sel.report.final, undefined);
  assert.deepEqual(qm.current, { config: null, layerBits: {} });
  assert.equal(qm.exportFiles().model, null, 'the new selection is not exported yet');
  // ... and later calls keep the new target.
  await qm.override({ conv2: 'W16A16' });
  assert.deepEqual(lastQuantizeOptions(engine), { ...SEARCH, target: 'bops=0.4',
    config: sel.report.selected.group_config, layerBits: { conv2: 'W16A16' } });
  qm.terminate();
});

test('api: evaluate/select before quantize, select after homogeneous bits, export after a restart', async () => {
  const engine = fakeEngine();
  const qm = await ready(engine);
  await assert.rejects(qm.evaluate({ config: ['W8A8', 'W8A8', 'W8A8'] }), /run quantize\(\) first/);
  await assert.rejects(qm.select('bops=0.5'), /run quantize\(\) first/);
  await assert.rejects(qm.export(), /run quantize\(\) first/);
  await qm.quantize({ bits: 'W8A8', maxSamples: 2 });
  await assert.rejects(qm.select('bops=0.5'), /homogeneous bits/);

  await qm.quantize(SEARCH);
  await qm.evaluate({ config: ['W4A8', 'W4A8', 'W4A8'] });
  // A cancel restarts the worker: model and samples are sent again, the evaluation is not kept,
  // so export evaluates that configuration again before exporting it.
  engine.calls.length = 0;
  await qm.cancel();
  assert.deepEqual(wsCalls(engine), ['wsLoad', 'wsSetSamples'], 'the new worker gets the model and samples');
  assert.deepEqual(engine.calls.find((c) => c[0] === 'wsSetSamples')[2], { maxSamples: 2 }, 'with the same cap');
  engine.calls.length = 0;
  const ex = await qm.export();
  assert.deepEqual(wsCalls(engine), ['wsQuantize', 'wsExport']);
  assert.deepEqual(lastQuantizeOptions(engine), { ...SEARCH, config: ['W4A8', 'W4A8', 'W4A8'] });
  assert.deepEqual(ex.report.final.group_config, ['W4A8', 'W4A8', 'W4A8']);
  qm.terminate();
});

test('api: cancelling an evaluation keeps what was shown', async () => {
  const engine = fakeEngine({ delayMs: 50 });
  const qm = await ready(engine);
  const run = await qm.quantize(SEARCH);
  const pending = qm.evaluate({ config: ['W4A8', 'W4A8', 'W4A8'] });
  setTimeout(() => qm.cancel(), 10);
  await assert.rejects(pending, CancelledError);
  await qm.ready();
  assert.equal(qm.result.report, run.report);
  assert.equal(qm.exported, true);
  assert.deepEqual(qm.current, { config: null, layerBits: {} });
  qm.terminate();
});

test('api: a worker that dies fails its request and is replaced, with the model and samples', async () => {
  const engine = fakeEngine();
  const workers = installWorker(engine, { delayMs: 5 });
  const qm = await Quantmix.create({ workerUrl: 'fake://worker.js' });
  await qm.loadModel(new Uint8Array(8), { name: 'm.onnx' });
  await qm.setSamples([sample('a.npy'), sample('b.npy')], { maxSamples: 2 });
  const run = qm.quantize(SEARCH);
  await new Promise((ok) => setTimeout(ok, 1));  // the request is in the worker
  // The browser ends the worker mid-run (as on running out of memory): 'error', then silence.
  const dead = workers.at(-1);
  dead.dead = true;
  for (const fn of dead.listeners.error) fn({ message: 'Uncaught RangeError: Out of memory' });
  await assert.rejects(run, /the engine worker failed: Uncaught RangeError: Out of memory/);
  // One error class on both sides of the worker: the engine's ModelError, also exported as WorkerError.
  assert.equal(ModelError, EngineModelError);
  assert.equal(WorkerError, EngineModelError);
  await assert.rejects(run, (e) => e instanceof EngineModelError && e.name === 'ModelError' && e.kind === 'internal error');
  await qm.ready();
  assert.equal(workers.length, 2, 'a fresh worker');
  const again = await qm.quantize(SEARCH);
  assert.ok(again.report.selected.group_config.length === 3, 'the next run works, on the model and samples kept');
});

test('api: cancel() right after quantize() is called cancels that run (it does not reach the restarted worker)', async () => {
  const engine = fakeEngine();
  installWorker(engine, { delayMs: 5 });
  const qm = await Quantmix.create({ workerUrl: 'fake://worker.js' });
  await qm.loadModel(new Uint8Array(8), { name: 'm.onnx' });
  await qm.setSamples([{ name: 'a.npy', bytes: new Uint8Array([1]) }]);
  const run = qm.quantize({ target: 'bops=0.6' });
  const outcome = assert.rejects(run, (e) => e instanceof CancelledError, 'the run is cancelled, not sent to the new worker');
  await qm.cancel();
  await outcome;
  assert.ok(!engine.calls.some((c) => c[0] === 'wsQuantize'), 'nothing was quantized');
  const again = await qm.quantize({ target: 'bops=0.6' });
  assert.ok(again.report.pareto.length > 1, 'the next run completes on the restarted worker');
  qm.terminate();
});
