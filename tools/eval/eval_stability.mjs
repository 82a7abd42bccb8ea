// `npm run eval:stability` (issue 17): is the calibration set enough, and does the search's own
// stability measure (report.json "stability") say so? On the bundled sample and the trained
// models of tests/data/trained (Fashion-MNIST), for n = 8, 16, 32 samples:
//   - PAIRS pairs of DISJOINT calibration sets of n images (from tests/data/trained/
//     fashion_test_extra.npz, pixels/255), each searched as a user runs it:
//     `quantmix quantize M --calib set.npy --candidates W4A8,W8A8,W8A16 --target bops=B
//      --phase1-aggregate A --report R.json`;
//   - observed: Spearman of the phase-1 sensitivities (groups[].sensitivity_db, every
//     (group, candidate)) between the two sets of a pair, and the layers whose bits differ
//     between their selections (selected.layers);
//   - predicted from ONE set: stability.rank_corr and stability.selection.layers_changed (the
//     bootstrap over that set's samples), averaged over the pair's two sets; the verdicts;
//   - each aggregation of phase 1 over samples (pooled = today's SQNR, median, trimmed mean):
//     the same observed stability, and top-1 / SQNR of its exports in ONNX Runtime on the 500
//     held-out test images (web/samples/fashion_test.npz).
//
//   node tools/eval/eval_stability.mjs --bin build/native/quantmix --out build/native/eval_stability
//        [--models fashion_cnn,resnet_fm,mbv2_fm,vit_fm] [--sizes 8,16,32] [--pairs 4] [--budget 0.75]
//        [--aggregates pooled,median,trimmed] [--json out.json]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { makeArray, writeNpy } from '../../tests/ops/npy.mjs';
import { metrics, readNpz, runAll, spearman } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const BIN = opt('--bin', join(ROOT, 'build', 'native', 'quantmix'));
const OUT = resolve(opt('--out', join(ROOT, 'build', 'native', 'eval_stability')));
const SIZES = opt('--sizes', '8,16,32').split(',').map(Number);
const PAIRS = Number(opt('--pairs', '4'));
const BUDGET = Number(opt('--budget', '0.75'));
const AGGS = opt('--aggregates', 'pooled,median,trimmed').split(',');
const S = join(ROOT, 'web', 'samples');
const T = join(ROOT, 'tests', 'data', 'trained');
const ALL_MODELS = {
  fashion_cnn: join(S, 'fashion_cnn.onnx'),
  resnet_fm: join(T, 'resnet_fm.onnx'),
  mbv2_fm: join(T, 'mbv2_fm.onnx'),
  vit_fm: join(T, 'vit_fm.onnx'),
};
const MODELS = opt('--models', Object.keys(ALL_MODELS).join(',')).split(',').filter(Boolean);

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
const pool = images(join(T, 'fashion_test_extra.npz'));   // calibration sets are drawn from these
const test = images(join(S, 'fashion_test.npz'));          // held out: accuracy of the exports
const need = 2 * PAIRS * Math.max(...SIZES);
if (need > pool.xs.length) throw new Error(`--pairs ${PAIRS} x 2 sets x ${Math.max(...SIZES)} > ${pool.xs.length} images`);

mkdirSync(OUT, { recursive: true });
// Set j of size n: images [j*n, (j+1)*n) of the pool, stacked in one .npy.
function calibSet(n, j) {
  const f = join(OUT, `calib_${n}_${j}.npy`);
  if (!existsSync(f)) {
    const [c, h, w] = pool.chw, e = c * h * w;
    const d = new Float32Array(n * e);
    for (let k = 0; k < n; k++) d.set(pool.xs[j * n + k].data, k * e);
    writeNpy(f, makeArray('float32', [n, c, h, w], d));
  }
  return f;
}

function quantize(model, calib, n, agg, tag) {
  const rep = join(OUT, `${tag}.json`), out = join(OUT, `${tag}.onnx`);
  const r = spawnSync(BIN, ['quantize', model, '--calib', calib, '--samples', String(n), '--candidates', 'W4A8,W8A8,W8A16',
    '--target', `bops=${BUDGET}`, '--phase1-aggregate', agg, '--threads', '1', '--out', out, '--report', rep, '--quiet'],
  { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`quantmix ${tag}: exit ${r.status}: ${r.stderr}`);
  const report = JSON.parse(readFileSync(rep, 'utf8'));
  const sens = new Map();
  for (const g of report.groups) for (const [c, v] of Object.entries(g.sensitivity_db ?? {})) sens.set(`${g.id}:${c}`, v);
  const bits = new Map(report.selected.layers.map((l) => [l.name, `${l.w_bits}/${l.a_bits}`]));
  return { report, sens, bits, out, summary: (r.stdout.match(/^stability: .*$/m) || [''])[0] };
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
  const model = ALL_MODELS[name];
  if (!model || !existsSync(model)) { console.log(`== ${name}: missing, skipped`); continue; }
  const fp = await runAll(model, 'image', test.xs);
  for (const n of SIZES) {
    for (const agg of AGGS) {
      const cell = { model: name, n, agg, pairs: [], top1: [], sqnr: [] };
      for (let p = 0; p < PAIRS; p++) {
        const a = quantize(model, calibSet(n, 2 * p), n, agg, `${name}_${n}_${agg}_${2 * p}`);
        const b = quantize(model, calibSet(n, 2 * p + 1), n, agg, `${name}_${n}_${agg}_${2 * p + 1}`);
        const keys = [...a.sens.keys()].filter((k) => b.sens.has(k) && a.sens.get(k) !== null && b.sens.get(k) !== null);
        const rho = spearman(keys.map((k) => a.sens.get(k)), keys.map((k) => b.sens.get(k)));
        let diff = 0;
        for (const [l, v] of a.bits) if (b.bits.get(l) !== v) diff++;
        const st = [a.report.stability, b.report.stability];
        cell.pairs.push({
          rho, layers_diff: diff, layers: a.bits.size,
          pred_rho: mean(st.map((s) => s.rank_corr)), pred_layers: mean(st.map((s) => s.selection?.layers_changed ?? 0)),
          verdicts: st.map((s) => s.verdict), suggested: st.map((s) => s.suggested_samples),
        });
        for (const x of [a, b]) {
          // Identical exports (the same configuration) are measured once.
          const key = `${name}:${createHash('sha256').update(readFileSync(x.out)).digest('hex')}`;
          if (!measured.has(key)) measured.set(key, metrics(fp, await runAll(x.out, 'image', test.xs), test.ys));
          const m = measured.get(key);
          cell.top1.push(m.acc);
          cell.sqnr.push(m.sqnr);
        }
      }
      const c = {
        ...cell,
        rho: mean(cell.pairs.map((q) => q.rho)), pred_rho: mean(cell.pairs.map((q) => q.pred_rho)),
        layers_diff: mean(cell.pairs.map((q) => q.layers_diff)), pred_layers: mean(cell.pairs.map((q) => q.pred_layers)),
        stable: cell.pairs.flatMap((q) => q.verdicts).filter((v) => v === 'stable').length,
        verdicts: cell.pairs.length * 2, top1_mean: mean(cell.top1), sqnr_mean: mean(cell.sqnr),
      };
      rows.push(c);
      console.log(`${name.padEnd(11)} n=${String(n).padStart(2)} ${agg.padEnd(7)} observed rho ${c.rho.toFixed(3)} ` +
        `(predicted ${c.pred_rho.toFixed(3)}), layers differing ${c.layers_diff.toFixed(2)}/${cell.pairs[0].layers} ` +
        `(predicted ${c.pred_layers.toFixed(2)}), stable ${c.stable}/${c.verdicts}, ` +
        `top-1 ${(100 * c.top1_mean).toFixed(2)}%, SQNR ${c.sqnr_mean.toFixed(2)} dB  [${((Date.now() - t0) / 1000).toFixed(0)} s]`);
    }
  }
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
// Verdict vs what the pair shows: a pair "is" stable when rho >= 0.9 and at most 5% of layers differ.
const confusion = { stable_ok: 0, stable_bad: 0, add_ok: 0, add_bad: 0 };
for (const p of pooled) {
  const ok = p.rho >= 0.9 && p.layers_diff <= 0.05 * p.layers;
  for (const v of p.verdicts) confusion[`${v === 'stable' ? 'stable' : 'add'}_${ok ? 'ok' : 'bad'}`]++;
}
console.log(`verdicts (per set) vs its pair's observed stability (rho >= 0.9 and <= 5% layers differ): ` +
  `stable & pair stable ${confusion.stable_ok}, stable & pair not ${confusion.stable_bad}, ` +
  `add samples & pair stable ${confusion.add_ok}, add samples & pair not ${confusion.add_bad}`);
if (opt('--json')) writeFileSync(opt('--json'), JSON.stringify({ budget: BUDGET, sizes: SIZES, pairs: PAIRS, rows, prediction, confusion }, null, 1));
