// The user's evaluation function (options.score in the wasm bindings; scoreModule in the worker
// protocol and the JS API) against closed forms, on the real wasm module (QM_WEB_DIR, as
// wasm.test.mjs). The model (tests/js/tiny_onnx.mjs) has two branches from one input x [1, 6, 4]:
//   ya = x . Wa       Wa: multiples of 0.25 with |k| <= 7 and a 7 in every column: exact at W4
//   yb = Relu(x) . Wb Wb: pseudo-random: W4 is far worse than W8
// and every value of x is a multiple of 0.25, so the float ya is exact in float32 and in JS
// doubles: the score of the float model is known exactly. Candidates W8A8 and W4A16 cost the
// same, so with no target the search selects the baseline with the best metric: SQNR picks W8A8
// (B's 4-bit noise dominates), a score that sees only ya picks W4A16.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadEngine } from '../../web/api/engine.js';
import { encodeNpy } from '../../web/api/npy.js';
import { resolveScoreModule } from '../../web/api/quantmix.js';
import { loadScoreModule, scoreOf } from '../../web/api/score_module.js';
import { scoreOutputs } from '../../web/app/validate.js';
import { handleMessage, newState } from '../../web/api/worker_protocol.js';
import { fakeEngine } from './fake_engine.mjs';
import { encodeModel } from './tiny_onnx.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = process.env.QM_WEB_DIR ?? join(ROOT, 'build', 'wasm', 'web');
const built = existsSync(join(WEB_DIR, 'quantmix.mjs'));
const skip = !built && !process.env.QM_WEB_DIR && process.env.CI !== 'true' ? 'the wasm module is not built (set QM_WEB_DIR)' : false;

const T = 6;
const K = 4;
const N = 4;
const PAGE = 'http://127.0.0.1:8080/app/index.html';

/** Deterministic integers in [lo, hi] (xorshift32). */
function ints(n, seed, lo, hi) {
  let x = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return lo + (x % (hi - lo + 1));
  });
}

// Wa [K, K]: multiples of 0.25, |k| <= 7, a 7 (or -7) in each column (per-channel axis 1 of a
// MatMul weight), so 4-bit symmetric per-column quantization with minmax range is exact.
const WA = ints(K * K, 3, -6, 6).map((k, i) => 0.25 * (i < K ? (i % 2 ? -7 : 7) : k));
const WB = ints(K * K, 9, -1000, 1000).map((k) => k / 997);
const XS = Array.from({ length: N }, (_, s) => ints(T * K, 20 + s, -8, 8).map((k) => 0.25 * k));

function matmul(x, w, relu = false) {
  const y = new Array(T * K).fill(0);
  for (let t = 0; t < T; ++t) {
    for (let j = 0; j < K; ++j) {
      let acc = 0;
      for (let k = 0; k < K; ++k) acc += (relu ? Math.max(0, x[t * K + k]) : x[t * K + k]) * w[k * K + j];
      y[t * K + j] = acc;
    }
  }
  return y;
}

const MODEL = encodeModel({
  inputs: [{ name: 'x', dims: [1, T, K] }],
  outputs: [{ name: 'ya', dims: [1, T, K] }, { name: 'yb', dims: [1, T, K] }],
  initializers: [{ name: 'wa', dims: [K, K], data: WA }, { name: 'wb', dims: [K, K], data: WB }],
  nodes: [
    { op: 'MatMul', inputs: ['x', 'wa'], outputs: ['ya'], name: 'branch_a' },
    { op: 'Relu', inputs: ['x'], outputs: ['r'], name: 'relu' },
    { op: 'MatMul', inputs: ['r', 'wb'], outputs: ['yb'], name: 'branch_b' },
  ],
});
const SAMPLES = XS.map((x, s) => ({ name: `s${s}.npy`, bytes: encodeNpy(Float32Array.from(x), [1, T, K]) }));
const FLOAT_YA = XS.map((x) => matmul(x, WA));
const OPTIONS = { candidates: ['W8A8', 'W4A16'], weightRange: 'minmax' };

async function engineWithModel() {
  const engine = await loadEngine({ moduleUrl: pathToFileURL(join(WEB_DIR, 'quantmix.mjs')).href,
    wasmBinary: readFileSync(join(WEB_DIR, 'quantmix.wasm')) });
  await engine.wsLoad(MODEL, 'two_branches.onnx');
  await engine.wsSetSamples(SAMPLES, {});
  return engine;
}

/** Minus the squared error of ya against the exact float ya. */
const scoreA = (outputs, i) => -outputs.ya.data.reduce((e, v, k) => e + (v - FLOAT_YA[i][k]) ** 2, 0);

test('score: called synchronously per sample with every output; the float model\'s score is the closed form', { skip }, async () => {
  const engine = await engineWithModel();
  const TARGET = 1.5;
  const calls = [];
  const score = (outputs, i) => {
    calls.push([i, outputs]);
    return -Math.abs(outputs.ya.data[0] - TARGET);
  };
  const { report } = await engine.wsQuantize({ ...OPTIONS, score });
  // The float model is scored first: its outputs, exactly.
  assert.ok(calls.length >= N && calls.length % N === 0, `${calls.length} calls`);
  for (let s = 0; s < N; ++s) {
    const [i, outputs] = calls[s];
    assert.equal(i, s);
    assert.deepEqual(Object.keys(outputs), ['ya', 'yb']);
    assert.deepEqual(outputs.ya.dims, [1, T, K]);
    assert.ok(outputs.ya.data instanceof Float32Array && outputs.ya.data.length === T * K);
    assert.deepEqual(Array.from(outputs.ya.data), FLOAT_YA[s], `sample ${s}: float ya`);
    const yb = matmul(XS[s], WB, true);
    outputs.yb.data.forEach((v, k) => assert.ok(Math.abs(v - yb[k]) < 1e-5, `sample ${s}: yb[${k}]`));
  }
  calls.forEach(([i], k) => assert.equal(i, k % N, 'every evaluation scores the samples in order'));
  const expected = FLOAT_YA.reduce((a, y) => a - Math.abs(y[0] - TARGET), 0) / N;
  assert.equal(report.search.metric, 'score');
  assert.equal(report.search.float_score, expected);
  for (const p of [...report.baselines, report.selected, ...report.pareto.filter((q) => q.measured)]) {
    assert.ok(Number.isFinite(p.score) && p.score <= 0, `score ${p.score}`);
  }
});

test('score: it decides the selection, and the workspace searches again only for another function', { skip }, async () => {
  const engine = await engineWithModel();
  const plain = (await engine.wsQuantize(OPTIONS)).report;
  assert.equal(plain.search.metric, 'sqnr');
  assert.equal(plain.selected.config, 'W8A8');

  let calls = 0;
  const counted = (outputs, i) => { calls += 1; return scoreA(outputs, i); };
  const first = (await engine.wsQuantize({ ...OPTIONS, score: counted })).report;
  assert.equal(first.selected.config, 'W4A16', 'W4 is exact for Wa: the score of ya prefers 16-bit activations');
  assert.equal(first.search.float_score, 0);
  assert.deepEqual(first.timing_s.reused, ['calibration']);
  assert.ok(calls > 0);

  calls = 0;
  const again = (await engine.wsQuantize({ ...OPTIONS, score: counted, target: 'bops=1.0' })).report;
  assert.deepEqual(again.timing_s.reused, ['calibration', 'search']);
  assert.equal(calls, 0, 'the same function: the stored front answers');

  const other = (await engine.wsQuantize({ ...OPTIONS, score: (o, i) => scoreA(o, i) })).report;
  assert.deepEqual(other.timing_s.reused, ['calibration'], 'another function: searched again');
  assert.equal(other.selected.config, 'W4A16');
  assert.equal(other.selected.score, first.selected.score);

  // Homogeneous bits: the configuration's score and the reference.
  const h = (await engine.wsQuantize({ bits: 'W8A8', score: counted })).report;
  assert.ok(h.selected.score < first.selected.score);
  assert.equal(h.selected.float_score, 0);
});

test('score: a throwing, non-numeric or non-finite score is one error naming the sample; the workspace carries on', { skip }, async () => {
  const engine = await engineWithModel();
  const cases = [
    [() => { throw new Error('boom'); }, /^score: calibration sample 0 \('s0\.npy'\) of the float model: the score function threw: boom$/],
    [() => 'high', /^score: calibration sample 0 \('s0\.npy'\) of the float model: the score function returned string \(expected a number\)$/],
    [(o, i) => (i === 2 ? NaN : 1), /^score: calibration sample 2 \('s2\.npy'\) of the float model scored NaN \(the score must be a finite number, higher is better\)$/],
    [3, /^score: expected a function \(outputs, sampleIndex\) => number, got number$/],
  ];
  for (const [score, message] of cases) {
    await assert.rejects(engine.wsQuantize({ ...OPTIONS, score }), (e) => message.test(e.message) && e.kind === 'invalid argument', String(message));
  }
  const { report } = await engine.wsQuantize(OPTIONS);
  assert.equal(report.selected.config, 'W8A8');
});

test('score: scoreModule through the worker protocol: same-origin check, import, and errors naming the sample file', { skip }, async () => {
  const engine = await engineWithModel();
  const posts = [];
  const imported = [];
  let current = scoreA;
  const host = {
    state: newState(),
    getEngine: async () => engine,
    post: (m) => posts.push(m),
    base: 'http://127.0.0.1:8080/app/worker.js',
    importModule: async (href) => { imported.push(href); return { score: current }; },
  };
  const reply = async (msg) => { posts.length = 0; await handleMessage(msg, host); return posts.find((m) => m.type !== 'progress' && m.type !== 'front'); };
  assert.equal((await reply({ id: 1, type: 'load_model', file: { name: 'two.onnx', bytes: MODEL } })).type, 'result');
  assert.equal((await reply({ id: 2, type: 'set_samples', samples: SAMPLES })).type, 'result');
  const r = await reply({ id: 3, type: 'quantize', options: { ...OPTIONS, scoreModule: 'examples/a.mjs' } });
  assert.equal(r.type, 'result', r.message);
  assert.equal(r.value.report.search.metric, 'score');
  assert.equal(r.value.report.selected.config, 'W4A16');
  assert.ok(r.value.model instanceof Uint8Array && r.value.model.length > 0, 'exported');
  assert.deepEqual(imported, ['http://127.0.0.1:8080/app/examples/a.mjs']);

  for (const bad of ['https://evil.example/s.mjs', '//evil.example/s.mjs', 'data:text/javascript,export const score=()=>1', 'javascript:alert(1)']) {
    const e = await reply({ id: 4, type: 'quantize', options: { ...OPTIONS, scoreModule: bad } });
    assert.equal(e.type, 'error');
    assert.match(e.message, /^scoreModule: /);
  }
  assert.equal(imported.length, 1, 'nothing off the origin was imported');

  current = (o, i) => { if (i === 1) throw new Error('no label'); return 0; };
  const e = await reply({ id: 5, type: 'quantize', options: { ...OPTIONS, scoreModule: 'examples/b.mjs' } });
  assert.equal(e.type, 'error');
  assert.equal(e.message, "score: calibration sample 1 ('s1.npy') of the float model: the score function threw: no label");

  const noScore = { score: undefined };
  host.importModule = async () => noScore;
  const m = await reply({ id: 6, type: 'quantize', options: { ...OPTIONS, scoreModule: 'examples/c.mjs' } });
  assert.equal(m.message, 'scoreModule: http://127.0.0.1:8080/app/examples/c.mjs exports no score(outputs, sampleIndex) function');
});

test('score: the JS API resolves scoreModule against the page and refuses a function; validation helpers', async () => {
  assert.deepEqual(resolveScoreModule({ target: 'bops=0.5', scoreModule: 'examples/ctc_score.mjs' }, PAGE),
    { target: 'bops=0.5', scoreModule: 'http://127.0.0.1:8080/app/examples/ctc_score.mjs' });
  assert.deepEqual(resolveScoreModule({ scoreModule: new URL('http://127.0.0.1:8080/s.mjs') }, PAGE), { scoreModule: 'http://127.0.0.1:8080/s.mjs' });
  assert.deepEqual(resolveScoreModule({ bits: 'W8A8' }, PAGE), { bits: 'W8A8' });
  assert.throws(() => resolveScoreModule({ score: () => 1 }, PAGE), /^TypeError: score: give scoreModule/);

  await assert.rejects(loadScoreModule('https://cdn.example/s.mjs', PAGE, async () => ({ score: () => 1 })), /another origin/);
  await assert.rejects(loadScoreModule('s.mjs', PAGE, async () => { throw new Error('404'); }),
    /^Error: scoreModule: http:\/\/127\.0\.0\.1:8080\/app\/s\.mjs did not load \(404\)$/);
  const fn = await loadScoreModule('s.mjs', PAGE, async () => ({ score: () => 0.5 }));
  assert.equal(scoreOf(fn, {}, 0), 0.5);
  assert.throws(() => scoreOf(() => Infinity, {}, 3, 'the exported model'), /^Error: score: sample 3 of the exported model scored Infinity/);
  assert.throws(() => scoreOf(() => '1', {}, 0), /scored string/);

  // ONNX Runtime's outputs as a score function gets them (int64 converted).
  const out = scoreOutputs({ y: { data: new BigInt64Array([1n, 2n]), dims: [1, 2] }, z: { data: new Float32Array([0.5]), dims: [1] } }, ['y', 'z']);
  assert.deepEqual(Object.keys(out), ['y', 'z']);
  assert.ok(out.y.data instanceof Float32Array);
  assert.deepEqual(Array.from(out.y.data), [1, 2]);
  assert.deepEqual(out.y.dims, [1, 2]);
});

test('score: the worker hands the imported function to the core with the other options', async () => {
  const engine = fakeEngine();
  const posts = [];
  const score = () => 1;
  const host = { state: newState(), getEngine: async () => engine, post: (m) => posts.push(m), base: PAGE,
    importModule: async () => ({ score }) };
  await handleMessage({ id: 1, type: 'load_model', file: { name: 'm.onnx', bytes: new Uint8Array(8) } }, host);
  await handleMessage({ id: 2, type: 'set_samples', samples: [{ name: 'a.npy', bytes: new Uint8Array(3) }] }, host);
  await handleMessage({ id: 3, type: 'evaluate', options: { target: 'bops=0.5', scoreModule: 'x.mjs' } }, host);
  const options = engine.calls.filter((c) => c[0] === 'wsQuantize').pop()[1];
  assert.equal(options.score, score);
  assert.equal(options.target, 'bops=0.5');
  assert.ok(!('scoreModule' in options), 'the URL stays in the worker');
  assert.equal(posts.filter((m) => m.type === 'error').length, 0);
});
