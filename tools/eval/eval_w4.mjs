// `npm run eval:w4` (issue 15 item 4): what the 4-bit weight candidates buy on trained models.
// For each model, exactly as a user runs it (`quantmix quantize`, calibration set A = the
// sample's 64 PNGs), ONNX Runtime measures the exported files on held-out labelled images:
//   - homogeneous W4A8 with the weight-error clip (`--weight-range weight-mse --bias-correction
//     off`, before issue 15), W4A8 with output-aware clips (the default `mse`) without and with
//     bias correction (the default), W4b32A8 and W4b64A8 (blocked scales);
//     every row not marked "no bias correction" (or weight-mse) has the default bias correction;
//   - homogeneous W4A8 and W4b32A8 with learned rounding (`--weight-rounding learned`);
//   - mixed precision at bops 0.5 / 0.6 / 0.75 with today's candidates W4A8,W8A8,W8A16 under
//     weight-mse, output-aware without and with bias correction, with learned rounding (and --order both), and with the
//     blocked candidates added;
//   - the time (report timing_s: calibration + search, or + evaluate for homogeneous bits) for each.
// Models: the bundled sample and tests/data/trained (Fashion-MNIST, input `image` [1,1,28,28] =
// pixels/255, top-1 on 1500 test images) and the CTC text-line sample (web/samples/textline_ctc.onnx,
// calibrated on textline_calib.npz; character accuracy on its 300 test lines, tools/eval/ctc_eval.mjs).
//
//   node tools/eval/eval_w4.mjs --bin build/native/quantmix [--models fashion_cnn,resnet_fm,mbv2_fm,vit_fm]
//        [--budgets 0.5,0.6,0.75] [--out build/native/eval_w4]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLines, runLines, score } from './ctc_eval.mjs';
import { metrics, readLabelledImages, runAll } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const BIN = opt('--bin', join(ROOT, 'build', 'native', 'quantmix'));
const OUT = resolve(opt('--out', join(ROOT, 'build', 'native', 'eval_w4')));
const BUDGETS = opt('--budgets', '0.5,0.6,0.75').split(',').map(Number);
const S = join(ROOT, 'web', 'samples'), T = join(ROOT, 'tests', 'data', 'trained');
const MODELS = {
  fashion_cnn: join(S, 'fashion_cnn.onnx'), resnet_fm: join(T, 'resnet_fm.onnx'),
  mbv2_fm: join(T, 'mbv2_fm.onnx'), vit_fm: join(T, 'vit_fm.onnx'),
};
const CTC = join(S, 'textline_ctc.onnx');  // tools/train_ctc_model.py; character accuracy
const names = opt('--models', [...Object.keys(MODELS), 'textline_ctc'].join(',')).split(',').filter(Boolean);
const CALIB = ['--calib', join(S, 'calib'), '--preprocess', 'unit'];
const CTC_CALIB = ['--calib', join(S, 'textline_calib.npz')];

const OFF = ['--bias-correction', 'off'];
const HOMOGENEOUS = [
  ['W4A8 weight-mse', ['--bits', 'W4A8', '--weight-range', 'weight-mse', ...OFF]],
  ['W4A8 output-aware, no bias correction', ['--bits', 'W4A8', ...OFF]],
  ['W4A8 output-aware + bias correction', ['--bits', 'W4A8']],
  ['W4b32A8', ['--bits', 'W4b32A8']],
  ['W4b64A8', ['--bits', 'W4b64A8']],
  ['W4A8 learned rounding', ['--bits', 'W4A8', '--weight-rounding', 'learned']],
  ['W4b32A8 learned rounding', ['--bits', 'W4b32A8', '--weight-rounding', 'learned']],
  ['W8A8', ['--bits', 'W8A8']],
];
const MIXED = [
  ['W4A8,W8A8,W8A16 weight-mse', ['--candidates', 'W4A8,W8A8,W8A16', '--weight-range', 'weight-mse', ...OFF]],
  ['W4A8,W8A8,W8A16 output-aware, no bias correction', ['--candidates', 'W4A8,W8A8,W8A16', ...OFF]],
  ['W4A8,W8A8,W8A16 output-aware + bias correction', ['--candidates', 'W4A8,W8A8,W8A16']],
  ['+ W4b32A8,W4b64A8', ['--candidates', 'W4b32A8,W4b64A8,W4A8,W8A8,W8A16']],
  ['W4A8,W8A8,W8A16 learned rounding', ['--candidates', 'W4A8,W8A8,W8A16', '--weight-rounding', 'learned']],
  ['W4A8,W8A8,W8A16 learned rounding, --order both', ['--candidates', 'W4A8,W8A8,W8A16', '--weight-rounding', 'learned', '--order', 'both']],
  ['+ W4b32A8,W4b64A8 learned rounding', ['--candidates', 'W4b32A8,W4b64A8,W4A8,W8A8,W8A16', '--weight-rounding', 'learned']],
];

function quantmix(cmdArgs) {
  const r = spawnSync(BIN, cmdArgs, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`quantmix ${cmdArgs.join(' ')}: exit ${r.status}: ${(r.stderr || '').trim()}`);
  return r;
}

const { images, labels } = readLabelledImages([join(S, 'fashion_test.npz'), join(T, 'fashion_test_extra.npz')]);
mkdirSync(OUT, { recursive: true });
const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log(`quantmix ${BIN}; calibration: web/samples/calib (64 PNGs) / textline_calib.npz; accuracy by ONNX Runtime: top-1 on ${images.length} ` +
            'labelled test images / character accuracy on 300 test lines');
console.log('\n| model | configuration | bops target | rel BOPs | size KiB | accuracy | vs float (points) | calibration + search s |');
console.log('|---|---|---|---|---|---|---|---|');
for (const name of names) {
  const ctc = name === 'textline_ctc';
  const model = ctc ? CTC : MODELS[name];
  if (!model || !existsSync(model)) { console.log(`| ${name} | missing (${model}) |`); continue; }
  // Top-1 on the Fashion-MNIST test images, or character accuracy on the sample's 300 test lines.
  const lines = ctc ? loadLines(join(S, 'textline_test.npz')) : null;
  const accuracy = ctc ? async (m) => score(await runLines(m, lines), lines.refs).char
    : async (m) => metrics(await runAll(model, 'image', images), await runAll(m, 'image', images), labels).acc;
  const fpAcc = await accuracy(model);
  console.log(`| ${name} | float | - | - | - | ${pct(fpAcc)} | - | - |`);
  const row = async (label, extra, budget) => {
    const out = join(OUT, `${name}_${label.replace(/[^A-Za-z0-9]+/g, '_')}_${budget ?? 'h'}.onnx`), rep = out.replace(/\.onnx$/, '.json');
    quantmix(['quantize', model, ...(ctc ? CTC_CALIB : CALIB), ...extra, ...(budget ? ['--target', `bops=${budget}`] : []), '--out', out, '--report', rep, '--quiet']);
    const r = JSON.parse(readFileSync(rep, 'utf8'));
    const acc = await accuracy(out);
    const sel = r.final ?? r.selected;
    const t = (r.timing_s.calibration ?? 0) + (r.timing_s.search ?? 0) + (r.timing_s.evaluate ?? 0);
    console.log(`| ${name} | ${label} | ${budget ?? '-'} | ${sel.rel_bops.toFixed(3)} | ${(sel.size_bytes / 1024).toFixed(1)} | ${pct(acc)} | ` +
                `${((acc - fpAcc) * 100).toFixed(1)} | ${t.toFixed(2)} |`);
  };
  for (const [label, extra] of HOMOGENEOUS) await row(label, extra, null);
  for (const b of BUDGETS) for (const [label, extra] of MIXED) await row(label, extra, b);
}
