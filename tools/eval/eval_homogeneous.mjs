// `npm run eval:homogeneous` (scripts/eval_homogeneous.sh): where homogeneous quantization stands.
// For the bundled sample model (web/samples; with labels when the trained Fashion-MNIST CNN and its
// test set are there) and a few real exports of the model corpus, quantizes with each homogeneous
// config and measures the exported QDQ file in ONNX Runtime (onnxruntime-web, wasm, 1 thread):
// output SQNR against ORT on the float model (spec amp.md section 3: summed over samples), top-1
// agreement with the float model, top-1 accuracy where labels exist, and the file size.
//
//   node tools/eval/eval_homogeneous.mjs --bin build/native/quantmix --models build/native/testdata/models
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, makeArray } from '../../tests/ops/npy.mjs';
import { readNpz, runAll } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIGS = ['W8A8', 'W4A8', 'W8A16', 'W16A16'];
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const BIN = opt('--bin', join(ROOT, 'build', 'native', 'quantmix'));
const MODELS = opt('--models', join(ROOT, 'build', 'native', 'testdata', 'models'));
const CORPUS = (opt('--corpus', 'vit_tiny_op17,shufflenet_v2_x0_5_op12_unfused_bn,mobilenet_v3_small_op16_constants,resnet18_op17')).split(',').filter(Boolean);
const N_CALIB = Number(opt('--calib', 16));
const N_EVAL = Number(opt('--eval', 8));


function quantmix(cmdArgs) {
  const r = spawnSync(BIN, cmdArgs, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`quantmix ${cmdArgs.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r;
}

const argmax = (a) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; };

function metrics(fp, q, labels) {
  let sig = 0, noise = 0, agree = 0, correct = 0, correctFp = 0;
  for (let k = 0; k < fp.length; k++) {
    for (let i = 0; i < fp[k].length; i++) { sig += fp[k][i] ** 2; noise += (fp[k][i] - q[k][i]) ** 2; }
    const a = argmax(fp[k]), b = argmax(q[k]);
    if (a === b) agree++;
    if (labels) { if (b === labels[k]) correct++; if (a === labels[k]) correctFp++; }
  }
  return { sqnr: noise === 0 ? Infinity : 10 * Math.log10(sig / noise), agree: agree / fp.length,
           acc: labels ? correct / fp.length : null, accFp: labels ? correctFp / fp.length : null };
}

function randomSample(shape, seed) {
  let a = seed >>> 0;
  const rnd = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const n = shape.reduce((x, y) => x * y, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (rnd() + rnd() + rnd() - 1.5) * 2;
  return makeArray('float32', shape, d);
}

async function evaluate(title, model, inputName, calibArgs, evalSamples, labels) {
  const dir = mkdtempSync(join(tmpdir(), 'qm-eval-'));
  try {
    const fp = await runAll(model, inputName, evalSamples);
    const fpSize = statSync(model).size;
    console.log(`\n${title}: ${evalSamples.length} eval samples${labels ? ' (labelled)' : ''}, float file ${fpSize} bytes` +
                (labels ? `, float top-1 ${(metrics(fp, fp, labels).accFp * 100).toFixed(1)}%` : ''));
    console.log(`  config   SQNR_dB  top1_agree${labels ? '  top1_acc' : ''}   file_bytes  (sim SQNR on calib)`);
    for (const cfg of CONFIGS) {
      const out = join(dir, `${cfg}.onnx`);
      const r = quantmix(['quantize', model, ...calibArgs, '--bits', cfg, '--out', out, '--quiet']);
      const sim = /sqnr_db=([-\d.a-z]+)/.exec(r.stdout)?.[1] ?? '?';
      const m = metrics(fp, await runAll(out, inputName, evalSamples), labels);
      console.log(`  ${cfg.padEnd(7)} ${m.sqnr.toFixed(2).padStart(8)}  ${(m.agree * 100).toFixed(1).padStart(9)}%` +
                  (labels ? `  ${(m.acc * 100).toFixed(1).padStart(7)}%` : '') +
                  `  ${String(statSync(out).size).padStart(11)}  (${sim})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// 1. The bundled sample model.
const samples = join(ROOT, 'web', 'samples');
if (existsSync(join(samples, 'fashion_cnn.onnx')) && existsSync(join(samples, 'fashion_test.npz'))) {
  const test = readNpz(join(samples, 'fashion_test.npz'));
  const [n, c, h, w] = test.x.shape;
  const evalSamples = [];
  for (let k = 0; k < n; k++) {
    const d = new Float32Array(c * h * w);
    for (let i = 0; i < d.length; i++) d[i] = test.x.data[k * d.length + i] / 255;
    evalSamples.push(makeArray('float32', [1, c, h, w], d));
  }
  const calib = existsSync(join(samples, 'fashion_calib.npz'))
    ? ['--calib', join(samples, 'fashion_calib.npz')]
    : ['--calib', join(samples, 'calib'), '--preprocess', 'unit'];
  await evaluate('fashion_cnn (web/samples, trained on Fashion-MNIST)', join(samples, 'fashion_cnn.onnx'), 'image', calib,
                 evalSamples, Array.from(test.y.data, Number));
} else if (existsSync(join(samples, 'sample_cnn.onnx'))) {
  const dir = mkdtempSync(join(tmpdir(), 'qm-eval-calib-'));
  const exp = JSON.parse(readFileSync(join(samples, 'sample_cnn.expected.json'), 'utf8'));
  const shape = exp.inputs[0].shape;
  const calib = [];
  for (let i = 0; i < N_CALIB; i++) { const f = join(dir, `c${i}.npy`); writeFileSync(f, encodeNpy(randomSample(shape, 100 + i))); calib.push(f); }
  const evalSamples = Array.from({ length: N_EVAL * 4 }, (_, i) => randomSample(shape, 900 + i));
  await evaluate('sample_cnn (web/samples, untrained; no labels)', join(samples, 'sample_cnn.onnx'), exp.inputs[0].name,
                 ['--calib', ...calib], evalSamples, null);
  rmSync(dir, { recursive: true, force: true });
}

// 2. Real exports from the model corpus (random weights and inputs: SQNR and agreement only).
for (const name of CORPUS) {
  const model = join(MODELS, `${name}.onnx`);
  if (!existsSync(model)) { console.log(`\n${name}: ${model} missing (tools/make_models.py)`); continue; }
  const exp = JSON.parse(readFileSync(join(MODELS, `${name}.expected.json`), 'utf8'));
  const spec = exp.inputs[0];
  const shape = spec.shape.map((d) => (typeof d === 'number' ? d : 1));
  const dir = mkdtempSync(join(tmpdir(), 'qm-eval-calib-'));
  try {
    const calib = [];
    for (let i = 0; i < Math.min(N_CALIB, 8); i++) { const f = join(dir, `c${i}.npy`); writeFileSync(f, encodeNpy(randomSample(shape, 300 + i))); calib.push(f); }
    const evalSamples = Array.from({ length: N_EVAL }, (_, i) => randomSample(shape, 700 + i));
    await evaluate(`${name} (corpus)`, model, spec.name, ['--calib', ...calib], evalSamples, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
