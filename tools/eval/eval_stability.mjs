// `npm run eval:stability` (issue 17): is the calibration set enough, and does the search's own
// stability measure (report.json "stability") say so? On the bundled sample and the trained
// models of tests/data/trained (Fashion-MNIST), on the trained CTC text-line recogniser
// (web/samples/textline_ctc.onnx) and, when asked for, on the text-recognition-sized random-weight
// model build/large_models/text_rec.onnx (tools/bench/make_large_models.py), for n = 8, 16, 32:
//   - PAIRS pairs of DISJOINT calibration sets of n samples, each searched as a user runs it:
//     `quantmix quantize M --calib set.npy --candidates C (default W4A8,W8A8,W8A16) --target bops=B
//      --phase1-aggregate A --report R.json`. Samples:
//       Fashion-MNIST models: images of tests/data/trained/fashion_test_extra.npz (pixels/255);
//       textline_ctc: the first 300 - HOLDOUT lines of web/samples/textline_test.npz (pixels/255,
//         [1, 1, 32, 160]); the last HOLDOUT lines (default 100) are never calibrated on;
//       text_rec: the same lines resized (bilinear, x1.5) to 48 x 240, padded on the right to 320
//         by repeating the last column, grey copied to 3 channels, (x/255 - 0.5) / 0.5;
//     when the pool is too small for PAIRS pairs of 2n, the size gets as many pairs as fit;
//   - observed: Spearman of the phase-1 sensitivities (groups[].sensitivity_db, every
//     (group, candidate)) between the two sets of a pair, and the layers whose bits differ
//     between their selections (selected.layers);
//   - predicted from ONE set: stability.rank_corr and stability.selection.layers_changed (the
//     bootstrap over that set's samples), averaged over the pair's two sets; the verdicts;
//   - each aggregation of phase 1 over samples (pooled = today's SQNR, median, trimmed mean):
//     the same observed stability, and the accuracy / SQNR of its exports in ONNX Runtime on
//     held-out samples: top-1 on the 500 images of web/samples/fashion_test.npz; character
//     accuracy (greedy CTC, web/ctc.js) on the HOLDOUT held-out lines for textline_ctc; SQNR only
//     (random weights) on the first REC_TEST (default 20) held-out lines for text_rec.
//
//   node tools/eval/eval_stability.mjs --bin build/native/quantmix --out build/native/eval_stability
//        [--models fashion_cnn,resnet_fm,mbv2_fm,vit_fm,textline_ctc[,text_rec]] [--sizes 8,16,32]
//        [--pairs 4] [--budget 0.75] [--aggregates pooled,median,trimmed] [--holdout 100]
//        [--rec-test 20] [--candidates W4A8,W8A8,W8A16] [--json out.json]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeArray, writeNpy } from '../../tests/ops/npy.mjs';
import { metrics, readNpz, runAll, spearman } from './common.mjs';
import { loadLines, runLines, score } from './ctc_eval.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const BIN = opt('--bin', join(ROOT, 'build', 'native', 'quantmix'));
const OUT = resolve(opt('--out', join(ROOT, 'build', 'native', 'eval_stability')));
const SIZES = opt('--sizes', '8,16,32').split(',').map(Number);
const PAIRS = Number(opt('--pairs', '4'));
const BUDGET = Number(opt('--budget', '0.75'));
const CANDIDATES = opt('--candidates', 'W4A8,W8A8,W8A16');
const FIRST = CANDIDATES.split(',')[0];
const AGGS = opt('--aggregates', 'pooled,median,trimmed').split(',');
const HOLDOUT = Number(opt('--holdout', '100'));
const REC_TEST = Number(opt('--rec-test', '20'));
const S = join(ROOT, 'web', 'samples');
const T = join(ROOT, 'tests', 'data', 'trained');
// model -> [file, data set]; text_rec is not in the default list (1.15 GMAC per sample).
const ALL_MODELS = {
  fashion_cnn: [join(S, 'fashion_cnn.onnx'), 'fashion'],
  resnet_fm: [join(T, 'resnet_fm.onnx'), 'fashion'],
  mbv2_fm: [join(T, 'mbv2_fm.onnx'), 'fashion'],
  vit_fm: [join(T, 'vit_fm.onnx'), 'fashion'],
  textline_ctc: [join(S, 'textline_ctc.onnx'), 'textline'],
  text_rec: [join(ROOT, 'build', 'large_models', 'text_rec.onnx'), 'textrec'],
};
const MODELS = opt('--models', 'fashion_cnn,resnet_fm,mbv2_fm,vit_fm,textline_ctc').split(',').filter(Boolean);

function images(path) {
  const z = readNpz(path);
  const [m, c, h, w] = z.x.shape;
  const xs = [], ys = [];
  for (let k = 0; k < m; k++) {
    const d = new Float32Array(c * h * w);
    for (let i = 0; i < d.length; i++) d[i] = z.x.data[k * d.length + i] / 255;
    xs.push({ data: d, shape: [1, c, h, w] });
    ys.push(Number(z.y.data[k]));
  }
  return { xs, ys, chw: [c, h, w] };
}
// A grey line [1, 1, 32, 160] (pixels / 255) as text_rec's input [1, 3, 48, 320]: bilinear x1.5
// (half-pixel centres) to 48 x 240, the last column repeated up to 320, (v - 0.5) / 0.5.
function toTextRec(img, h = 32, w = 160) {
  const H = 48, W = 320, RW = Math.round(w * H / h), out = new Float32Array(3 * H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(Math.max((y + 0.5) * h / H - 0.5, 0), h - 1), y0 = Math.floor(sy), y1 = Math.min(y0 + 1, h - 1), fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(Math.max((Math.min(x, RW - 1) + 0.5) * w / RW - 0.5, 0), w - 1);
      const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, w - 1), fx = sx - x0;
      const v = (1 - fy) * ((1 - fx) * img[y0 * w + x0] + fx * img[y0 * w + x1]) + fy * ((1 - fx) * img[y1 * w + x0] + fx * img[y1 * w + x1]);
      for (let c = 0; c < 3; c++) out[(c * H + y) * W + x] = (v - 0.5) / 0.5;
    }
  }
  return out;
}
// Data set -> {pool: [{data, shape}] calibration sets are drawn from, test: held-out samples
// {xs, ys (labels, fashion) | refs (CTC labels)}, kind: top1 | ctc | sqnr}. Loaded on first use.
const DATA = {
  fashion: () => {
    const test = images(join(S, 'fashion_test.npz'));
    return { pool: images(join(T, 'fashion_test_extra.npz')).xs, test, kind: 'top1' };
  },
  textline: () => {
    const l = loadLines(join(S, 'textline_test.npz'));
    const xs = l.inputs.map((d) => ({ data: d, shape: l.shape }));
    const cut = xs.length - HOLDOUT;
    if (cut <= 0) throw new Error(`--holdout ${HOLDOUT} leaves no lines to calibrate on`);
    return { pool: xs.slice(0, cut), test: { xs: xs.slice(cut), refs: l.refs.slice(cut) }, kind: 'ctc' };
  },
  textrec: () => {
    const t = dataset('textline');
    const conv = (x) => ({ data: toTextRec(x.data), shape: [1, 3, 48, 320] });
    return { pool: t.pool.map(conv), test: { xs: t.test.xs.slice(0, REC_TEST).map(conv) }, kind: 'sqnr' };
  },
};
const loaded = new Map();
const dataset = (k) => { if (!loaded.has(k)) loaded.set(k, DATA[k]()); return loaded.get(k); };

mkdirSync(OUT, { recursive: true });
// Set j of size n of a data set: samples [j*n, (j+1)*n) of its pool, stacked in one .npy.
function calibSet(ds, n, j) {
  const f = join(OUT, `calib_${ds}_${n}_${j}.npy`);
  if (!existsSync(f)) {
    const pool = dataset(ds).pool, [, ...chw] = pool[0].shape, e = chw.reduce((x, y) => x * y, 1);
    const d = new Float32Array(n * e);
    for (let k = 0; k < n; k++) d.set(pool[j * n + k].data, k * e);
    writeNpy(f, makeArray('float32', [n, ...chw], d));
  }
  return f;
}

function quantize(model, calib, n, agg, tag) {
  const rep = join(OUT, `${tag}.json`), out = join(OUT, `${tag}.onnx`);
  const t = Date.now();
  const r = spawnSync(BIN, ['quantize', model, '--calib', calib, '--samples', String(n), '--candidates', CANDIDATES,
    '--target', `bops=${BUDGET}`, '--phase1-aggregate', agg, '--threads', '1', '--out', out, '--report', rep, '--quiet'],
  { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`quantmix ${tag}: exit ${r.status}: ${r.stderr}`);
  const report = JSON.parse(readFileSync(rep, 'utf8'));
  const sens = new Map();
  for (const g of report.groups) for (const [c, v] of Object.entries(g.sensitivity_db ?? {})) sens.set(`${g.id}:${c}`, v);
  const bits = new Map(report.selected.layers.map((l) => [l.name, `${l.w_bits}/${l.a_bits}`]));
  return { report, sens, bits, out, seconds: (Date.now() - t) / 1000, summary: (r.stdout.match(/^stability: .*$/m) || [''])[0] };
}

// The float model's outputs on the held-out samples, and an export's accuracy (top-1, character
// accuracy, or null) and output SQNR against them.
async function floatRun(model, d) {
  if (d.kind === 'top1') return runAll(model, 'image', d.test.xs);
  return runLines(model, { inputs: d.test.xs.map((x) => x.data), shape: d.test.xs[0].shape });
}
async function measure(model, d, fp) {
  if (d.kind === 'top1') {
    const m = metrics(fp, await runAll(model, 'image', d.test.xs), d.test.ys);
    return { acc: m.acc, sqnr: m.sqnr };
  }
  const lines = { inputs: d.test.xs.map((x) => x.data), shape: d.test.xs[0].shape };
  const r = score(await runLines(model, lines), d.kind === 'ctc' ? d.test.refs : d.test.xs.map(() => []), fp);
  return { acc: d.kind === 'ctc' ? r.char : null, sqnr: r.sqnrDb };
}

const mean = (v) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN);
const pearson = (x, y) => {
  const mx = mean(x), my = mean(y);
  let n = 0, a = 0, b = 0;
  for (let i = 0; i < x.length; i++) { n += (x[i] - mx) * (y[i] - my); a += (x[i] - mx) ** 2; b += (y[i] - my) ** 2; }
  return n / Math.sqrt(a * b);
};
const rows = [];
const measured = new Map();
const t0 = Date.now();
for (const name of MODELS) {
  const [model, ds] = ALL_MODELS[name] ?? [];
  if (!model || !existsSync(model)) { console.log(`== ${name}: missing, skipped`); continue; }
  const d = dataset(ds);
  const tModel = Date.now();
  const fp = await floatRun(model, d);
  const floatAcc = d.kind === 'top1' ? metrics(fp, fp, d.test.ys).acc : d.kind === 'ctc' ? score(fp, d.test.refs).char : null;
  console.log(`== ${name}: ${d.pool.length} samples to draw calibration sets from, ${d.test.xs.length} held out` +
    (floatAcc === null ? '' : `, float ${d.kind === 'ctc' ? 'character accuracy' : 'top-1'} ${(100 * floatAcc).toFixed(2)}%`));
  for (const n of SIZES) {
    const pairs = Math.min(PAIRS, Math.floor(d.pool.length / (2 * n)));
    if (pairs < 1) { console.log(`${name} n=${n}: fewer than ${2 * n} samples in the pool, skipped`); continue; }
    if (pairs < PAIRS) console.log(`${name} n=${n}: ${pairs} pair(s) (the pool of ${d.pool.length} holds no more)`);
    for (const agg of AGGS) {
      const cell = { model: name, n, agg, kind: d.kind, float_acc: floatAcc, pairs: [], acc: [], sqnr: [], search_s: [] };
      for (let p = 0; p < pairs; p++) {
        const a = quantize(model, calibSet(ds, n, 2 * p), n, agg, `${name}_${n}_${agg}_${2 * p}`);
        const b = quantize(model, calibSet(ds, n, 2 * p + 1), n, agg, `${name}_${n}_${agg}_${2 * p + 1}`);
        cell.search_s.push(a.seconds, b.seconds);
        const keys = [...a.sens.keys()].filter((k) => b.sens.has(k) && a.sens.get(k) !== null && b.sens.get(k) !== null);
        const rho = spearman(keys.map((k) => a.sens.get(k)), keys.map((k) => b.sens.get(k)));
        // The same over the first candidate's sensitivities alone (W4A8 by default): the layers' order
        // within one candidate, without the spread between candidates (which the every-(group,
        // candidate) Spearman includes).
        const k4 = keys.filter((k) => k.endsWith(`:${FIRST}`));
        const rho_w4 = k4.length > 2 ? spearman(k4.map((k) => a.sens.get(k)), k4.map((k) => b.sens.get(k))) : NaN;
        let diff = 0;
        for (const [l, v] of a.bits) if (b.bits.get(l) !== v) diff++;
        const st = [a.report.stability, b.report.stability];
        cell.pairs.push({
          rho, rho_w4, layers_diff: diff, layers: a.bits.size,
          pred_rho: mean(st.map((s) => s.rank_corr)), pred_layers: mean(st.map((s) => s.selection?.layers_changed ?? 0)),
          verdicts: st.map((s) => s.verdict), suggested: st.map((s) => s.suggested_samples),
        });
        for (const x of [a, b]) {
          // Identical exports (the same configuration) are measured once.
          const key = `${name}:${createHash('sha256').update(readFileSync(x.out)).digest('hex')}`;
          if (!measured.has(key)) measured.set(key, await measure(x.out, d, fp));
          const m = measured.get(key);
          cell.acc.push(m.acc);
          cell.sqnr.push(m.sqnr);
        }
      }
      const c = {
        ...cell,
        rho: mean(cell.pairs.map((q) => q.rho)), pred_rho: mean(cell.pairs.map((q) => q.pred_rho)),
        rho_w4: mean(cell.pairs.map((q) => q.rho_w4)), rho_min: Math.min(...cell.pairs.map((q) => q.rho)),
        layers_diff: mean(cell.pairs.map((q) => q.layers_diff)), pred_layers: mean(cell.pairs.map((q) => q.pred_layers)),
        stable: cell.pairs.flatMap((q) => q.verdicts).filter((v) => v === 'stable').length,
        verdicts: cell.pairs.length * 2, acc_mean: d.kind === 'sqnr' ? null : mean(cell.acc), sqnr_mean: mean(cell.sqnr),
        search_s_mean: mean(cell.search_s),
      };
      rows.push(c);
      const acc = c.acc_mean === null ? '' : `${d.kind === 'ctc' ? 'char acc' : 'top-1'} ${(100 * c.acc_mean).toFixed(2)}%, `;
      console.log(`${name.padEnd(12)} n=${String(n).padStart(2)} ${agg.padEnd(7)} observed rho ${c.rho.toFixed(3)} ` +
        `(predicted ${c.pred_rho.toFixed(3)}; min ${c.rho_min.toFixed(3)}, ${FIRST} only ${c.rho_w4.toFixed(3)}), layers differing ${c.layers_diff.toFixed(2)}/${cell.pairs[0].layers} ` +
        `(predicted ${c.pred_layers.toFixed(2)}), stable ${c.stable}/${c.verdicts}, ` +
        `${acc}SQNR ${c.sqnr_mean.toFixed(2)} dB, search ${c.search_s_mean.toFixed(1)} s  [${((Date.now() - t0) / 1000).toFixed(0)} s]`);
    }
  }
  console.log(`== ${name}: ${((Date.now() - tModel) / 1000).toFixed(0)} s`);
}

// Does the prediction from one set track what two disjoint sets show? Over every pair.
const pairs = rows.flatMap((r) => r.pairs.map((p) => ({ ...p, agg: r.agg })));
const pooled = pairs.filter((p) => p.agg === 'pooled');
const pr = (ps) => ({
  rho_corr: pearson(ps.map((p) => p.pred_rho), ps.map((p) => p.rho)),
  layers_corr: pearson(ps.map((p) => p.pred_layers), ps.map((p) => p.layers_diff)),
  rho_mean_abs_err: mean(ps.map((p) => Math.abs(p.pred_rho - p.rho))),
  n: ps.length,
});
const prediction = { pooled: pr(pooled), all: pr(pairs) };
console.log(`\nprediction vs observation over ${pooled.length} pooled pairs: Pearson(predicted rho, observed rho) = ` +
  `${prediction.pooled.rho_corr.toFixed(3)} (mean |error| ${prediction.pooled.rho_mean_abs_err.toFixed(3)}), ` +
  `Pearson(predicted layers changed, observed) = ${prediction.pooled.layers_corr.toFixed(3)}`);
for (const name of new Set(rows.map((r) => r.model))) {
  const ps = rows.filter((r) => r.model === name && r.agg === 'pooled').flatMap((r) => r.pairs);
  if (ps.length < 2) continue;
  const q = pr(ps);
  console.log(`  ${name}: ${ps.length} pooled pairs, Pearson(predicted rho, observed) ${q.rho_corr.toFixed(3)}, ` +
    `mean |error| ${q.rho_mean_abs_err.toFixed(3)}, mean predicted - observed ${mean(ps.map((p) => p.pred_rho - p.rho)).toFixed(3)}; ` +
    `Pearson(predicted layers changed, observed) ${q.layers_corr.toFixed(3)}`);
}
// Verdict vs what the pair shows: a pair "is" stable when rho >= 0.9 and at most 5% of layers differ.
const confusion = { stable_ok: 0, stable_bad: 0, add_ok: 0, add_bad: 0 };
for (const p of pooled) {
  const ok = p.rho >= 0.9 && p.layers_diff <= 0.05 * p.layers;
  for (const v of p.verdicts) confusion[`${v === 'stable' ? 'stable' : 'add'}_${ok ? 'ok' : 'bad'}`]++;
}
console.log(`verdicts (per set) vs its pair's observed stability (rho >= 0.9 and <= 5% layers differ): ` +
  `stable & pair stable ${confusion.stable_ok}, stable & pair not ${confusion.stable_bad}, ` +
  `add samples & pair stable ${confusion.add_ok}, add samples & pair not ${confusion.add_bad}`);
if (opt('--json')) writeFileSync(opt('--json'), JSON.stringify({ budget: BUDGET, candidates: CANDIDATES, sizes: SIZES, pairs: PAIRS, rows, prediction, confusion }, null, 1));
