// The shipped score module web/examples/ctc_score.mjs (greedy CTC decode + character accuracy)
// against closed forms, then as a scoreModule on the real wasm module (QM_WEB_DIR, as
// wasm.test.mjs): a "recogniser" that is the identity (y = x . I, a MatMul) on calibration
// samples that are the logits of the example's own LINES reads every line exactly, so the float
// model's score is 1.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CHARSET, LINES, makeCtcScore, score } from '../../web/examples/ctc_score.mjs';
import { loadEngine } from '../../web/api/engine.js';
import { encodeNpy } from '../../web/api/npy.js';
import { handleMessage, newState } from '../../web/api/worker_protocol.js';
import { encodeModel } from './tiny_onnx.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = process.env.QM_WEB_DIR ?? join(ROOT, 'build', 'wasm', 'web');
const built = existsSync(join(WEB_DIR, 'quantmix.mjs'));
const skip = !built && !process.env.QM_WEB_DIR && process.env.CI !== 'true' ? 'the wasm module is not built (set QM_WEB_DIR)' : false;

const T = 12;
const C = CHARSET.length + 1;  // blank + the alphabet

/**
 * Logits [T * C] whose best path spells `text` (class k = CHARSET[k - 1]): each character for one
 * step followed by a blank (so doubled letters survive), the rest blank. Peaks of 4, the other
 * classes small deterministic values in [-0.5, 0.5].
 */
function logitsOf(text, seed = 1) {
  const path = [];
  for (const ch of text) path.push(CHARSET.indexOf(ch) + 1, 0);
  assert.ok(path.length <= T, `"${text}" fits in ${T} steps`);
  while (path.length < T) path.push(0);
  const a = new Float32Array(T * C);
  let x = seed;
  for (let i = 0; i < a.length; ++i) {
    x = (x * 1103515245 + 12345) >>> 0;
    a[i] = ((x >>> 8) % 1001) / 1000 - 0.5;
  }
  path.forEach((k, t) => { a[t * C + k] = 4; });
  return a;
}

const out = (data, dims) => ({ logits: { data, dims } });

test('ctc_score: greedy decode + character accuracy, closed forms', () => {
  const s = makeCtcScore({ lines: ['quant', 'mix'], charset: CHARSET });
  assert.equal(s(out(logitsOf('quant'), [1, T, C]), 0), 1);
  assert.equal(s(out(logitsOf('quart'), [1, T, C]), 0), 0.8, 'one substitution in five characters');
  assert.equal(s(out(logitsOf('qant'), [1, T, C]), 0), 0.8, 'one deletion');
  assert.equal(s(out(logitsOf('mixx'), [1, T, C]), 1), 1 - 1 / 3, 'one insertion in three');
  assert.equal(s(out(logitsOf(''), [1, T, C]), 1), 0, 'nothing read');
  assert.equal(s(out(logitsOf('mix'), [T, 1, C]), 1), 1, '[T, 1, C] (time first)');
  assert.equal(s(out(logitsOf('mix'), [T, C]), 1), 1, '[T, C]');
  // Repeats collapse unless a blank separates them.
  const ids = makeCtcScore({ lines: [[1, 1]], charset: 'ab' });
  assert.equal(ids({ y: { data: Float32Array.from([0, 9, 0, 0, 9, 0]), dims: [1, 2, 3] } }, 0), 0.5);
  assert.equal(ids({ y: { data: Float32Array.from([0, 9, 0, 9, 0, 0, 0, 9, 0]), dims: [1, 3, 3] } }, 0), 1);
  // Another output by name, another blank class.
  const named = makeCtcScore({ lines: ['b'], charset: 'ab', output: 'second', blank: 2 });
  assert.equal(named({ first: { data: new Float32Array(3), dims: [1, 1, 3] },
    second: { data: Float32Array.from([0, 9, 0, 0, 0, 9]), dims: [1, 2, 3] } }, 0), 0, 'class 1 is "a" when the blank is 2');
});

test('ctc_score: errors name the sample, the character or the output', () => {
  const s = makeCtcScore({ lines: ['quant'], charset: CHARSET });
  assert.throws(() => s(out(logitsOf('quant'), [1, T, C]), 1), /^Error: ctc_score: no reference line for sample 1 \(1 lines given\)$/);
  assert.throws(() => s(out(logitsOf('quant'), [2, T, C]), 0), /output 'logits' is \[2, 12, 27\]; expected \[1, T, C\]/);
  assert.throws(() => makeCtcScore({ lines: ['ok', 'no!'], charset: CHARSET }), /^Error: ctc_score: line 1 "no!": "!" is not in the charset$/);
  const named = makeCtcScore({ lines: ['a'], charset: 'a', output: 'probs' });
  assert.throws(() => named(out(new Float32Array(2), [1, 1, 2]), 0), /has no output 'probs' \(outputs: logits\)/);
});

test('ctc_score: the shipped settings score their own lines 1', () => {
  assert.ok(LINES.length >= 2);
  LINES.forEach((line, i) => assert.equal(score(out(logitsOf(line, i + 1), [1, T, C]), i), 1, line));
});

test('ctc_score: as a scoreModule on the wasm module, the identity recogniser scores 1 in float', { skip }, async () => {
  const eye = new Float32Array(C * C);
  for (let k = 0; k < C; ++k) eye[k * C + k] = 1;
  const model = encodeModel({
    inputs: [{ name: 'x', dims: [1, T, C] }],
    outputs: [{ name: 'logits', dims: [1, T, C] }],
    initializers: [{ name: 'w', dims: [C, C], data: eye }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['logits'], name: 'head' }],
  });
  const samples = LINES.map((line, i) => ({ name: `${line}.npy`, bytes: encodeNpy(logitsOf(line, i + 1), [1, T, C]) }));
  const engine = await loadEngine({ moduleUrl: pathToFileURL(join(WEB_DIR, 'quantmix.mjs')).href,
    wasmBinary: readFileSync(join(WEB_DIR, 'quantmix.wasm')) });
  const posts = [];
  const imported = [];
  const host = {
    state: newState(),
    getEngine: async () => engine,
    post: (m) => posts.push(m),
    base: 'http://127.0.0.1:8080/worker.js',
    // The page's origin maps to web/: the example is imported from its own file.
    importModule: (href) => {
      imported.push(href);
      return import(pathToFileURL(join(ROOT, 'web', new URL(href).pathname)).href);
    },
  };
  const reply = async (msg) => { posts.length = 0; await handleMessage(msg, host); return posts.find((m) => m.type !== 'progress' && m.type !== 'front'); };
  assert.equal((await reply({ id: 1, type: 'load_model', file: { name: 'identity_ctc.onnx', bytes: model } })).type, 'result');
  assert.equal((await reply({ id: 2, type: 'set_samples', samples })).type, 'result');
  const r = await reply({ id: 3, type: 'quantize',
    options: { candidates: ['W4A8', 'W8A8', 'W8A16'], target: 'bops=0.6', scoreModule: 'examples/ctc_score.mjs' } });
  assert.equal(r.type, 'result', r.message);
  assert.deepEqual(imported, ['http://127.0.0.1:8080/examples/ctc_score.mjs']);
  const report = r.value.report;
  assert.equal(report.search.metric, 'score');
  assert.equal(report.search.float_score, 1, 'the identity reads every line');
  for (const p of [...report.baselines, report.selected]) assert.ok(p.score >= 0 && p.score <= 1, `score ${p.score}`);
  assert.equal(report.selected.score, 1, 'the identity recogniser still reads every line at the selection');
});
