// Character and whole-line accuracy of a CTC text-line recogniser, measured by ONNX Runtime
// (onnxruntime-web in node, wasm EP, 1 thread: tests/cli/helpers.mjs `ort()`) on labelled lines:
// by default the trained sample web/samples/textline_ctc.onnx (tools/train_ctc_model.py) on
// web/samples/textline_test.npz (`x` uint8 [N, 1, H, W] pixels, input = x / 255; `y` int32
// [N, L] class ids padded with -1; `len` int32 [N]). Decoding is greedy CTC with blank 0 and
// the accuracies are web/ctc.js's (character accuracy = 1 - total edit distance / total reference
// length, clamped at 0). Beside them: output SQNR (dB, summed over lines) and decoded agreement
// against the float model, when the float model is measured in the same run.
//
//   node tools/eval/ctc_eval.mjs [MODEL.onnx ...]            float model and/or exports
//   node tools/eval/ctc_eval.mjs --configs W8A8,W4A8,W8A16,bops=0.75,bops=0.6
//        quantizes the float model first (build/native/quantmix quantize ... --calib
//        web/samples/textline_calib.npz; `bops=X` = --candidates W4A8,W8A8,W8A16 --target bops=X)
//        into a temporary directory and measures each export
// Options: --float M (default the sample), --test NPZ, --calib NPZ, --bin QUANTMIX, --n N (first N
// lines), --level all|basic|disabled (ORT graph optimisation, default all), --json (one JSON line).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ort } from '../../tests/cli/helpers.mjs';
import { characterAccuracy, ctcGreedyDecode, lineAccuracy } from '../../web/ctc.js';
import { readNpz } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SAMPLES = join(ROOT, 'web', 'samples');

/** Labelled lines of a test .npz: {inputs: [Float32Array], shape, refs: [number[]]}. */
export function loadLines(path, n = Infinity) {
  const { x, y, len } = readNpz(path);
  if (!x || !y || !len) throw new Error(`${path}: expected arrays x, y and len`);
  const [N, ...dims] = x.shape;
  const per = dims.reduce((a, b) => a * b, 1);
  const L = y.shape[1];
  const count = Math.min(N, n);
  const inputs = [], refs = [];
  for (let i = 0; i < count; ++i) {
    const img = new Float32Array(per);
    for (let j = 0; j < per; ++j) img[j] = x.data[i * per + j] / 255;
    inputs.push(img);
    refs.push(Array.from(y.data.subarray(i * L, i * L + len.data[i])));
  }
  return { inputs, shape: [1, ...dims], refs };
}

/** Runs `model` on every line; returns the logits of each and the output's [T, C]. */
export async function runLines(model, lines, level = 'all') {
  const o = await ort();
  const s = await o.InferenceSession.create(new Uint8Array(readFileSync(model)),
                                            { executionProviders: ['wasm'], graphOptimizationLevel: level });
  const outs = [];
  let dims = null;
  try {
    for (const img of lines.inputs) {
      const r = await s.run({ [s.inputNames[0]]: new o.Tensor('float32', img, lines.shape) });
      const t = r[s.outputNames[0]];
      dims = t.dims;
      outs.push(Float32Array.from(t.data));
    }
  } finally {
    await s.release?.();
  }
  if (!dims || dims.length !== 3) throw new Error(`${model}: expected logits [1, T, C], got [${dims}]`);
  return { outs, T: dims[1], C: dims[2] };
}

/** Accuracies of one model's logits against the labels (and the float model's, if given). */
export function score(run, refs, floatRun = null) {
  const decoded = run.outs.map((l) => ctcGreedyDecode(l, run.T, run.C, 0));
  const pairs = decoded.map((d, i) => [d, refs[i]]);
  const r = { char: characterAccuracy(pairs), line: lineAccuracy(pairs), lines: refs.length };
  if (floatRun) {
    let sig = 0, noise = 0, agree = 0;
    run.outs.forEach((q, k) => {
      const f = floatRun.outs[k];
      for (let i = 0; i < f.length; ++i) { sig += f[i] * f[i]; noise += (f[i] - q[i]) ** 2; }
      agree += ctcGreedyDecode(f, run.T, run.C, 0).join() === decoded[k].join() ? 1 : 0;
    });
    r.sqnrDb = noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
    r.decodedAgreement = agree / refs.length;
  }
  return r;
}

function quantize(bin, model, calib, config, out) {
  const args = ['quantize', model, '--calib', calib, '--out', out, '--quiet', '--threads', '1'];
  if (/^bops=/.test(config)) args.push('--candidates', 'W4A8,W8A8,W8A16', '--target', config);
  else args.push('--bits', config);
  const t0 = Date.now();
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`quantmix ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  const summary = r.stdout.split('\n').filter((l) => l.startsWith('config=')).join(' | ');
  return { seconds: (Date.now() - t0) / 1000, summary, cmd: `quantmix ${args.join(' ')}` };
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name, def) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : def; };
  const valued = new Set(['--float', '--test', '--calib', '--bin', '--n', '--level', '--configs']);
  const models = argv.filter((a, i) => !a.startsWith('--') && !valued.has(argv[i - 1]));
  const floatModel = opt('--float', join(SAMPLES, 'textline_ctc.onnx'));
  const testNpz = opt('--test', join(SAMPLES, 'textline_test.npz'));
  const calib = opt('--calib', join(SAMPLES, 'textline_calib.npz'));
  const bin = opt('--bin', join(ROOT, 'build', 'native', 'quantmix'));
  const level = opt('--level', 'all');
  const configs = (opt('--configs', '')).split(',').filter(Boolean);
  const lines = loadLines(testNpz, Number(opt('--n', Infinity)));

  const rows = [];
  const floatRun = await runLines(floatModel, lines, level);
  rows.push({ name: `float (${basename(floatModel)})`, ...score(floatRun, lines.refs) });
  const tmp = configs.length ? mkdtempSync(join(tmpdir(), 'ctc_eval_')) : null;
  try {
    for (const m of models) {
      if (resolve(m) === resolve(floatModel)) continue;
      rows.push({ name: m, ...score(await runLines(m, lines, level), lines.refs, floatRun) });
    }
    for (const c of configs) {
      const out = join(tmp, `${c.replace('=', '_')}.onnx`);
      const q = quantize(bin, floatModel, calib, c, out);
      const name = /^bops=/.test(c) ? `mixed W4A8,W8A8,W8A16 ${c}` : c;
      rows.push({ name, ...score(await runLines(out, lines, level), lines.refs, floatRun),
                  quantizeSeconds: q.seconds, summary: q.summary });
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ test: testNpz, lines: lines.refs.length, level, rows }));
    return;
  }
  console.log(`${lines.refs.length} lines of ${testNpz}, ORT graphOptimizationLevel ${level}`);
  const pct = (v) => (v === undefined ? '' : (100 * v).toFixed(2));
  console.log(['model', 'char acc %', 'line acc %', 'SQNR dB', 'decoded = float %'].join(' | '));
  for (const r of rows) {
    console.log([r.name, pct(r.char), pct(r.line), r.sqnrDb === undefined ? '' : r.sqnrDb.toFixed(2),
                 pct(r.decodedAgreement)].join(' | '));
    if (r.summary) console.log(`    ${r.summary} (${r.quantizeSeconds.toFixed(1)} s)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(`error: ${e.message}`); process.exit(1); });
}
