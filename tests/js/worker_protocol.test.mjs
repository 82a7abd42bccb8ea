// The worker's side of the workspace (web/api/worker_protocol.js) against a fake engine that records
// every call: after one quantize, a new target, a front point or an override costs one
// wsQuantize and nothing else (no reload, no new samples, no export); export happens only on
// 'export'; the search's front updates reach the page before the result; a module that crashed
// gets the model and samples back; demo mode answers every request. The real module is covered by wasm.test.mjs.
import assert from 'node:assert/strict';
import test from 'node:test';
import { handleMessage, newState } from '../../web/api/worker_protocol.js';
import { fakeEngine, INSPECT } from './fake_engine.mjs';

/** A worker with its own state over `engine`; send(type, payload) -> the final reply. */
function worker(engine, { demo = false } = {}) {
  const state = newState();
  const posts = [];
  let id = 0;
  const host = { getEngine: async () => engine, post: (m) => posts.push(m), state };
  const send = async (type, payload = {}) => {
    const mine = ++id;
    await handleMessage({ type, id: mine, ...payload }, host);
    return posts.filter((m) => m.id === mine);
  };
  const final = async (type, payload) => (await send(type, payload)).find((m) => m.type !== 'progress' && m.type !== 'front');
  return { state, posts, host, send, final, demo: demo ? send('init', { demo: true }) : null };
}

const sample = (name) => ({ name, bytes: new Uint8Array([1, 2, 3]) });
const SEARCH = { candidates: ['W4A8', 'W8A8', 'W8A16'], target: 'bops=0.6', maxSamples: 2 };
const names = (calls) => calls.map((c) => c[0]).filter((n) => !n.endsWith(' done'));

async function loaded(engine) {
  const w = worker(engine);
  assert.equal((await w.final('load_model', { file: { name: 'm.onnx', bytes: new Uint8Array(8) }, inputShapes: 'x=1x1x4x4' })).type, 'result');
  const set = await w.final('set_samples', { samples: [sample('a.npy'), sample('b.npy'), sample('c.npy')], maxSamples: 2 });
  assert.deepEqual(set.value, { count: 3, used: 2 });
  return w;
}

test('worker: after quantize, a new target / point / override calls only wsQuantize; export only on export', async () => {
  const engine = fakeEngine();
  const w = await loaded(engine);
  assert.deepEqual(names(engine.calls), ['inspect', 'wsLoad', 'wsSetSamples'], 'load_model parses and plans, set_samples decodes');
  assert.deepEqual(engine.calls[1][2], { inputShapes: 'x=1x1x4x4', threads: undefined });
  assert.deepEqual(engine.calls[2].slice(1), [['a.npy', 'b.npy', 'c.npy'], { maxSamples: 2 }]);

  engine.calls.length = 0;
  const sentQ = await w.send('quantize', { options: SEARCH });
  const q = sentQ.find((m) => m.type !== 'progress' && m.type !== 'front');
  assert.equal(q.type, 'result', q.message);
  // While the search runs, its front: predicted, then measured, before the one result.
  assert.deepEqual(sentQ.filter((m) => m.type === 'front').map((m) => m.event.event), ['front', 'points']);
  assert.equal(sentQ.at(-1), q, 'the result comes last');
  assert.deepEqual(names(engine.calls), ['wsQuantize', 'wsExport'], 'a full run: search + export, model and samples reused');
  assert.deepEqual(q.value.model, new Uint8Array([1, 2, 3]));
  assert.deepEqual(q.value.report.export, { bytes: 3 }, 'the reply carries the exported report');
  assert.deepEqual(q.value.report.timing_s.reused, [], 'a first run says it reused nothing (not what its export reused)');
  assert.equal(q.value.samplesUsed, 2);

  for (const options of [{ ...SEARCH, target: 'bops=0.4' }, { ...SEARCH, config: ['W4A8', 'W8A8', 'W4A8'] },
    { ...SEARCH, config: ['W4A8', 'W8A8', 'W4A8'], layerBits: { fc: 'W8A16' } }]) {
    engine.calls.length = 0;
    const sent = await w.send('evaluate', { options });
    const reply = sent.find((m) => m.type !== 'progress');
    assert.equal(reply.type, 'result', reply.message);
    assert.deepEqual(names(engine.calls), ['wsQuantize'], `evaluate ${JSON.stringify(options)}: one wsQuantize, nothing else`);
    assert.deepEqual(engine.calls[0][1], options, 'the options reach the core as given');
    assert.equal(reply.value.model, undefined, 'evaluate exports nothing');
    assert.deepEqual(reply.value.report, engine.last);
    assert.deepEqual(sent.filter((m) => m.type === 'progress').map((m) => m.stage), ['evaluate']);
  }

  // Export of what was evaluated last: wsExport alone; of something else: evaluated first.
  engine.calls.length = 0;
  const last = { ...SEARCH, layerBits: { fc: 'W8A16' }, config: ['W4A8', 'W8A8', 'W4A8'] };  // same, keys in another order
  const ex = await w.final('export', { options: last });
  assert.equal(ex.type, 'result', ex.message);
  assert.deepEqual(names(engine.calls), ['wsExport']);
  assert.deepEqual(ex.value.model, new Uint8Array([1, 2, 3]));
  engine.calls.length = 0;
  await w.final('export', { options: SEARCH });
  assert.deepEqual(names(engine.calls), ['wsQuantize', 'wsExport'], 'another configuration is evaluated, then exported');
  engine.calls.length = 0;
  await w.final('export', {});
  assert.deepEqual(names(engine.calls), ['wsExport'], 'no options: the last evaluated one');

  // A new sample cap re-decodes the samples (and so recalibrates) before the run.
  engine.calls.length = 0;
  await w.final('quantize', { options: { ...SEARCH, maxSamples: 3 } });
  assert.deepEqual(names(engine.calls), ['wsSetSamples', 'wsQuantize', 'wsExport']);
  assert.deepEqual(engine.calls[0][2], { maxSamples: 3 });
  engine.calls.length = 0;
  await w.final('evaluate', { options: { ...SEARCH, maxSamples: 3, target: 'bops=0.5' } });
  assert.deepEqual(names(engine.calls), ['wsQuantize']);
});

test('worker: a module restarted after a crash gets the model and samples back before the next call', async () => {
  const engine = fakeEngine();
  const w = await loaded(engine);
  await w.final('quantize', { options: SEARCH });
  engine.generation += 1;  // what Engine.crashed() does
  engine.calls.length = 0;
  const reply = await w.final('evaluate', { options: { ...SEARCH, target: 'bops=0.5' } });
  assert.equal(reply.type, 'result', reply.message);
  assert.deepEqual(names(engine.calls), ['wsLoad', 'wsSetSamples', 'wsQuantize']);
  assert.deepEqual(engine.calls[1][1], ['a.npy', 'b.npy', 'c.npy']);
  engine.calls.length = 0;
  await w.final('evaluate', { options: { ...SEARCH, target: 'bops=0.45' } });
  assert.deepEqual(names(engine.calls), ['wsQuantize'], 'and only once');
});

test('worker: a bad sample is refused when set, by the file the user gave; the good ones stay', async () => {
  const engine = fakeEngine();
  const w = await loaded(engine);
  // The core names the file by its source (the image the .npy was made from): the worker hands
  // the source on and the message through unchanged.
  engine.failSamples = Object.assign(new Error("photo.png: expected shape [1, 1, 4, 4], got [1, 3, 4, 4]"), { kind: 'invalid argument' });
  engine.calls.length = 0;
  const bad = await w.final('set_samples', { samples: [sample('a.npy'), { ...sample('photo.npy'), source: 'photo.png' }] });
  assert.equal(bad.type, 'error');
  assert.equal(bad.kind, 'invalid argument');
  assert.equal(bad.message, 'photo.png: expected shape [1, 1, 4, 4], got [1, 3, 4, 4]');
  assert.deepEqual(engine.lastSources, ['a.npy', 'photo.png'], 'each sample goes to the core with the name the user knows it by');
  // The workspace's samples are unknown after the failure: the next run sets the good list again.
  engine.calls.length = 0;
  const q = await w.final('quantize', { options: SEARCH });
  assert.equal(q.type, 'result', q.message);
  assert.deepEqual(names(engine.calls), ['wsSetSamples', 'wsQuantize', 'wsExport']);
  assert.deepEqual(engine.calls[0][1], ['a.npy', 'b.npy', 'c.npy']);
  // Cleared samples: nothing to run on, said in words.
  assert.equal((await w.final('set_samples', { samples: [] })).type, 'result');
  assert.match((await w.final('evaluate', { options: SEARCH })).message, /evaluate: add at least one calibration sample first/);
});

test('worker: a model that inspects but cannot be planned still opens; the first run says why', async () => {
  const engine = fakeEngine();
  engine.failLoad = Object.assign(new Error("node 'x' (Foo): unsupported op"), { kind: 'unsupported' });
  const w = worker(engine);
  const opened = await w.final('load_model', { file: { name: 'm.onnx', bytes: new Uint8Array(8) } });
  assert.equal(opened.type, 'result');
  assert.deepEqual(opened.value, INSPECT);
  assert.equal((await w.final('set_samples', { samples: [sample('a.npy')] })).type, 'result');
  const q = await w.final('quantize', { options: SEARCH });
  assert.equal(q.type, 'error');
  assert.equal(q.kind, 'unsupported');
  assert.match(q.message, /unsupported op/);
  assert.match((await w.final('export', {})).message, /nothing evaluated yet|unsupported op/);
});

test('worker: requests that arrive while one runs wait their turn (one workspace)', async () => {
  const engine = fakeEngine({ delayMs: 20 });
  const w = await loaded(engine);
  engine.calls.length = 0;
  await Promise.all([
    handleMessage({ type: 'evaluate', id: 100, options: { ...SEARCH, target: 'bops=0.4' } }, w.host),
    handleMessage({ type: 'evaluate', id: 101, options: { ...SEARCH, target: 'bops=0.5' } }, w.host),
  ]);
  assert.deepEqual(engine.calls.map((c) => `${c[0]} ${c[0] === 'wsQuantize' ? c[1].target : c[1]}`),
    ['wsQuantize bops=0.4', 'wsQuantize done bops=0.4', 'wsQuantize bops=0.5', 'wsQuantize done bops=0.5']);
  assert.deepEqual(w.posts.filter((m) => m.type === 'result').map((m) => m.id).slice(-2), [100, 101]);
});

test('worker (demo): quantize, evaluate a point with an override, a new target, export', async () => {
  const engine = fakeEngine();
  const w = worker(engine);
  await w.final('init', { demo: true });
  await w.final('load_model', { file: { name: 'm.onnx', bytes: new Uint8Array(8) } });
  await w.final('set_samples', { samples: [sample('a.npy')] });
  assert.deepEqual(names(engine.calls), ['inspect'], 'demo mode never touches the workspace');
  const q = await w.final('quantize', { options: { target: 'bops=0.6' } });
  assert.equal(q.value.demo, true);
  assert.equal(q.value.model, null);
  const search = q.value.report;
  assert.equal(search.final, undefined);

  const point = search.pareto.find((p) => p.index !== search.selected.index);
  const sent = await w.send('evaluate', { options: { target: 'bops=0.6', config: point.config, layerBits: { fc: 'W16A16' } } });
  const ev = sent.find((m) => m.type === 'result');
  assert.ok(ev, JSON.stringify(sent.find((m) => m.type === 'error')));
  assert.deepEqual([...new Set(sent.filter((m) => m.type === 'progress').map((m) => m.stage))], ['evaluate'], 'an evaluation, no search phases');
  assert.equal(ev.value.demo, true);
  assert.equal(ev.value.model, undefined);
  const r = ev.value.report;
  assert.deepEqual(r.final.group_config, [point.config[0], point.config[1], 'W16A16'], "the point's bits with the override on top");
  assert.deepEqual(r.final.layers.map((l) => `W${l.w_bits}A${l.a_bits}`), r.final.group_config);
  assert.deepEqual(r.selected, search.selected, "the search's own pick is unchanged");
  assert.deepEqual(r.timing_s.reused, ['calibration', 'search']);

  const other = (await w.final('evaluate', { options: { target: 'bops=0.3' } })).value.report;
  assert.equal(other.target, 'bops=0.3');
  assert.equal(other.final, undefined, 'a new target is a selection, not a forced configuration');
  assert.ok(other.selected.rel_bops <= 0.3 + 1e-9 || other.target_met === false);

  const ex = await w.final('export', {});
  assert.equal(ex.type, 'result');
  assert.equal(ex.value.demo, true);
  assert.equal(ex.value.model, null);
  assert.deepEqual(ex.value.report, other);
});

test('worker: a request whose reply cannot be posted does not stop the ones after it', async () => {
  const engine = fakeEngine();
  const w = await loaded(engine);
  const post = w.host.post;
  w.host.post = () => { throw new Error('DataCloneError'); };
  await assert.rejects(handleMessage({ type: 'evaluate', id: 200, options: SEARCH }, w.host), /DataCloneError/);
  w.host.post = post;
  assert.equal((await w.final('evaluate', { options: { ...SEARCH, target: 'bops=0.5' } })).type, 'result');
});
