// `npm run eval:search` (scripts/eval_search.sh), checker-style part: the mixed-precision search on
// held-out TRAINED models, run exactly as a user runs it, measured by ONNX Runtime on the exported
// files. For each model (the bundled sample web/samples/fashion_cnn.onnx and the trained models of
// tests/data/trained, all Fashion-MNIST, input `image` [1,1,28,28] = pixels/255):
//   - homogeneous: `quantmix quantize M --calib A --bits W4A8|W8A8|W8A16 --out H.onnx`;
//   - mixed: `quantmix quantize M --calib A --candidates W4A8,W8A8,W8A16 --target bops=B
//     --out Q.onnx --report R.json` for each budget B (default 0.5, 0.75, 1.5) and each flip order
//     the CLI offers (`--order paper|ratio` when `quantize --help` lists it, else the default);
//   - ORT top-1 on the 500 labelled test images (web/samples/fashion_test.npz) of every exported
//     file, and its output SQNR against ORT on the float model over the same images (held out:
//     the search only saw calibration images);
//   - the table: model | budget | best homogeneous of the same or lower rel. BOPs | mixed | float |
//     paired comparison (images only the mixed export gets right / only the homogeneous one,
//     exact McNemar p: with 1500 images, differences of a few tenths of a point are noise);
//     the same with candidates W4A4,W4A8,W8A8 (a profile file with 4-bit activations) at
//     bops=0.25 (W4A4's cost) and 0.375, where these small models are sensitive;
//   - robustness: the search again on calibration set B (disjoint from A): Spearman rank
//     correlation of the phase-1 sensitivities (report groups[].sensitivity_db), top-1 of both.
//
//   node tools/eval/eval_search.mjs --bin build/eval-native/quantmix --out build/eval-native/eval_search
//        [--models fashion_cnn,resnet_fm,mbv2_fm,vit_fm] [--budgets 0.5,0.75,1.5] [--samples 64]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy, writeNpy } from '../../tests/ops/npy.mjs';
import { mcnemar, metrics, readLabelledImages, runAll, spearman } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const BIN = opt('--bin', join(ROOT, 'build', 'eval-native', 'quantmix'));
const OUT = resolve(opt('--out', join(ROOT, 'build', 'eval-native', 'eval_search')));
const SAMPLES = opt('--samples', '64');
// Sweeps: the issue's candidates at W4A8's cost, between, and between W8A8 and W8A16; then a
// harsher set (4-bit activations allowed) where these small models are sensitive.
const SWEEPS = [
  { candidates: 'W4A8,W8A8,W8A16', budgets: opt('--budgets', '0.5,0.75,1.5').split(',').map(Number) },
  // The generic profile has no 4-bit activations (it would silently drop W4A4): a profile file.
  { candidates: 'W4A4,W4A8,W8A8', budgets: opt('--budgets-a4', '0.25,0.375').split(',').filter(Boolean).map(Number),
    profile: { name: 'eval-a4', candidates: ['W4A4', 'W4A8', 'W8A8', 'W8A16'] } },
].filter((sw) => sw.budgets.length);
const CANDIDATES = SWEEPS[0].candidates;
const HOMOGENEOUS = [...new Set(SWEEPS.flatMap((sw) => sw.candidates.split(',')))];
const ROBUST_BUDGET = Number(opt('--robust-budget', '0.75'));
const THREADS = opt('--threads', '2');
const RUN_CHECK = 4;  // test images checked with `quantmix run` against ORT (float)
const S = join(ROOT, 'web', 'samples');
const T = join(ROOT, 'tests', 'data', 'trained');
const ALL_MODELS = {
  fashion_cnn: join(S, 'fashion_cnn.onnx'),
  resnet_fm: join(T, 'resnet_fm.onnx'),
  mbv2_fm: join(T, 'mbv2_fm.onnx'),
  vit_fm: join(T, 'vit_fm.onnx'),
};
const MODELS = opt('--models', Object.keys(ALL_MODELS).join(',')).split(',').filter(Boolean);
const CALIB = {
  A: ['--calib', join(S, 'calib'), '--preprocess', 'unit'],  // 64 PNGs
  B: ['--calib', join(S, 'fashion_calib.npz')],               // 64 other images, disjoint
};

function quantmix(cmdArgs) {
  const t0 = Date.now();
  const r = spawnSync(BIN, cmdArgs, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`quantmix ${cmdArgs.join(' ')}: exit ${r.status}: ${(r.stderr || '').trim()}`);
  return { ...r, wall_s: (Date.now() - t0) / 1000 };
}
const help = spawnSync(BIN, ['quantize', '--help'], { encoding: 'utf8' }).stdout || '';
const ORDERS = /--order\b/.test(help) ? ['paper', 'ratio'] : [null];
// A labelled search (top-1 on the 64 labelled calibration images drives phases 0, 2, 3) as one
// more variant, when the CLI has --labels.
const LABELS = /--labels\b/.test(help) ? join(T, 'calib_A_labels.txt') : null;
const VARIANTS = [...ORDERS.map((o) => ({ order: o, labels: false })), ...(LABELS ? [{ order: ORDERS[0], labels: true }] : [])];

// Held-out labelled images: the sample's 500 (web/samples/fashion_test.npz) + 1000 more
// (tests/data/trained/fashion_test_extra.npz) unless --test-images 500.
const { images, labels } = readLabelledImages([join(S, 'fashion_test.npz'), join(T, 'fashion_test_extra.npz')],
  Number(opt('--test-images', 1500)));
const n = images.length;
const trainedIndex = existsSync(join(T, 'models.json')) ? JSON.parse(readFileSync(join(T, 'models.json'), 'utf8')) : {};
const sampleExpected = JSON.parse(readFileSync(join(S, 'fashion_cnn.expected.json'), 'utf8'));

const pct = (x) => (x === null || x === undefined ? '   -  ' : `${(100 * x).toFixed(1).padStart(5)}%`);
const db = (x) => (x === null || x === undefined ? '   -  ' : (x === Infinity ? '   inf' : x.toFixed(1).padStart(6)));
const f2 = (x) => x.toFixed(3);
mkdirSync(OUT, { recursive: true });
for (const sw of SWEEPS) {
  if (!sw.profile) continue;
  sw.profileFile = join(OUT, `${sw.profile.name}.profile.json`);
  writeFileSync(sw.profileFile, JSON.stringify(sw.profile) + '\n');
}
const summary = { sweeps: SWEEPS, variants: VARIANTS, test_images: n, models: {} };
const tableRows = [];
const robustRows = [];

console.log(`quantmix: ${BIN}; flip orders: ${ORDERS[0] ? ORDERS.join(', ') : 'default (the CLI has no --order)'}; ` +
            `calibration set A (web/samples/calib, 64 PNGs), ${SAMPLES} samples; ` +
            `measured by ONNX Runtime (wasm, 1 thread) on ${n} labelled test images`);

for (const name of MODELS) {
  const model = ALL_MODELS[name];
  if (!model || !existsSync(model)) { console.log(`\n== ${name}: ${model ?? '(unknown)'} missing, skipped`); continue; }
  const dir = join(OUT, name);
  mkdirSync(dir, { recursive: true });
  const fp = await runAll(model, 'image', images);
  const fpm = metrics(fp, fp, labels);
  const torchTop1 = name === 'fashion_cnn' ? sampleExpected.accuracy?.torch_test_500 : trainedIndex[name]?.float_top1?.torch_test_500;
  const preds = {};  // homogeneous config -> predicted classes (paired comparisons)
  const rec = { file: model, float_top1: fpm.acc, torch_top1: torchTop1 ?? null, homogeneous: {}, mixed: [], robustness: null };
  summary.models[name] = rec;
  // Our float engine against ORT on a few test images (`quantmix run`, as a user would).
  let runDiff = 0;
  for (let k = 0; k < RUN_CHECK; k++) {
    const x = join(dir, 'run_x.npy'), od = join(dir, 'run_out');
    writeNpy(x, images[k]);
    quantmix(['run', model, '--input', `image=${x}`, '--output-dir', od]);
    const y = readNpy(join(od, 'logits.npy')).data;
    for (let i = 0; i < y.length; i++) runDiff = Math.max(runDiff, Math.abs(y[i] - fp[k][i]));
    rmSync(od, { recursive: true, force: true });
  }
  rec.run_vs_ort_max_abs = runDiff;
  console.log(`\n== ${name}: float top-1 ${pct(fpm.acc)} (ORT; torch ${torchTop1 === undefined ? '?' : pct(torchTop1)}); ` +
              `quantmix run vs ORT on ${RUN_CHECK} images: max |diff| ${runDiff.toExponential(1)}`);

  // Homogeneous baselines, exactly as a user would.
  console.log('   homogeneous   rel_bops  top-1   agree  SQNR_test  SQNR_calib(sim)  quantize_s');
  for (const cfg of HOMOGENEOUS) {
    const out = join(dir, `${cfg}.onnx`);
    const r = quantmix(['quantize', model, ...CALIB.A, '--samples', SAMPLES, '--threads', THREADS, '--bits', cfg, '--out', out, '--quiet']);
    const sim = Number(/sqnr_db=([-\d.a-z]+)/.exec(r.stdout)?.[1]);
    const relBops = Number(/rel_bops=([\d.]+)/.exec(r.stdout)?.[1]);
    const m = metrics(fp, await runAll(out, 'image', images), labels);
    rec.homogeneous[cfg] = { rel_bops: relBops, top1: m.acc, sqnr_test: m.sqnr, sqnr_calib: sim, agree: m.agree };
    preds[cfg] = m.pred;
    console.log(`   ${cfg.padEnd(12)}  ${f2(relBops).padStart(7)}  ${pct(m.acc)} ${pct(m.agree)}  ${db(m.sqnr)}     ${db(sim)}        ${r.wall_s.toFixed(1)}`);
  }

  // The mixed search at each budget and order.
  for (const sweep of SWEEPS) for (const budget of sweep.budgets) {
    for (const { order, labels: withLabels } of VARIANTS) {
      const variant = `${order ?? 'default'}${withLabels ? '+labels' : ''}`;
      const tag = `${sweep.candidates.replace(/,/g, '_')}_bops${budget}_${variant.replace('+', '_')}`;
      const out = join(dir, `mixed_${tag}.onnx`), rep = join(dir, `mixed_${tag}.report.json`);
      const r = quantmix(['quantize', model, ...CALIB.A, '--samples', SAMPLES, '--threads', THREADS, '--candidates', sweep.candidates,
                          ...(sweep.profileFile ? ['--profile', sweep.profileFile] : []),
                          '--target', `bops=${budget}`, ...(order ? ['--order', order] : []), ...(withLabels ? ['--labels', LABELS] : []),
                          '--out', out, '--report', rep, '--quiet']);
      const report = JSON.parse(readFileSync(rep, 'utf8'));
      const m = metrics(fp, await runAll(out, 'image', images), labels);
      const sel = report.selected;
      // The checker's baseline: the best homogeneous export of the same or lower relative BOPs.
      let base = null;
      for (const cfg of sweep.candidates.split(',')) {
        const hm = rec.homogeneous[cfg];
        // ties: the more expensive one (the closest to the budget)
        if (hm.rel_bops <= budget + 1e-9 && (!base || hm.top1 >= base.top1)) base = { cfg, ...hm };
      }
      const row = {
        model: name, candidates: sweep.candidates, budget, order: variant, base,
        mixed: { rel_bops: sel.rel_bops, top1: m.acc, sqnr_test: m.sqnr, sqnr_calib: sel.sqnr_db, agree: m.agree,
                 index: sel.index, config: sel.config, front: sel.front ?? null, target_met: sel.target_met,
                 front_points: report.pareto?.length ?? null },
        float_top1: fpm.acc,
        paired: base ? mcnemar(m.pred, preds[base.cfg], labels) : null,
        timing_s: report.timing_s, wall_s: r.wall_s,
      };
      rec.mixed.push(row);
      tableRows.push(row);
      console.log(`   mixed ${sweep.candidates} bops=${budget} ${variant}: rel_bops ${f2(sel.rel_bops)}, top-1 ${pct(m.acc)}, agree ${pct(m.agree)}, ` +
                  `SQNR test ${db(m.sqnr)} / calib ${db(sel.sqnr_db)} dB, index ${sel.index}, ` +
                  `search ${(report.timing_s?.search ?? NaN).toFixed(1)} s (calibration ${(report.timing_s?.calibration ?? NaN).toFixed(1)} s, ` +
                  `wall ${r.wall_s.toFixed(1)} s)`);
    }
  }

  // Robustness to the calibration data: the same search on set B.
  const order = ORDERS[0];
  const runs = {};
  for (const set of ['A', 'B']) {
    const tag = `robust_${set}`;
    const out = join(dir, `${tag}.onnx`), rep = join(dir, `${tag}.report.json`);
    quantmix(['quantize', model, ...CALIB[set], '--samples', SAMPLES, '--threads', THREADS, '--candidates', CANDIDATES,
              '--target', `bops=${ROBUST_BUDGET}`, ...(order ? ['--order', order] : []), '--out', out, '--report', rep, '--quiet']);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    const m = metrics(fp, await runAll(out, 'image', images), labels);
    runs[set] = { report, m };
  }
  const sens = (r) => new Map(r.groups.flatMap((g) => Object.entries(g.sensitivity_db).map(([cand, v]) => [`${g.id}/${cand}`, v])));
  const sa = sens(runs.A.report), sb = sens(runs.B.report);
  const keys = [...sa.keys()].filter((k) => sb.has(k));
  const rho = keys.length >= 3 ? spearman(keys.map((k) => sa.get(k)), keys.map((k) => sb.get(k))) : NaN;
  const ga = runs.A.report.selected.group_config ?? [], gb = runs.B.report.selected.group_config ?? [];
  const same = ga.filter((g, i) => g === gb[i]).length;
  const rob = {
    model: name, budget: ROBUST_BUDGET, pairs: keys.length, spearman: rho, groups_agree: `${same}/${ga.length}`,
    A: { rel_bops: runs.A.report.selected.rel_bops, top1: runs.A.m.acc, sqnr_test: runs.A.m.sqnr },
    B: { rel_bops: runs.B.report.selected.rel_bops, top1: runs.B.m.acc, sqnr_test: runs.B.m.sqnr },
  };
  rec.robustness = rob;
  robustRows.push(rob);
}

// ---- the tables ----
const line = (cells, widths) => cells.map((x, i) => String(x).padEnd(widths[i])).join(' | ');
const W1 = [11, 15, 6, 12, 31, 49, 6, 16, 16];
console.log(`\n== mixed vs the best homogeneous export of the same or lower relative BOPs; top-1 (and top-1 agreement with the float model) ` +
            `by ONNX Runtime on ${n} held-out labelled images; SQNR on them (test) and on the calibration set (calib, the search's own number)`);
console.log(line(['model', 'candidates', 'budget', 'order', 'homogeneous (cfg, top-1, agree)', 'mixed (rel_bops, top-1, agree, SQNR test/calib)', 'float', 'Δtop-1 (Δagree)', 'paired +/- (p)'], W1));
for (const r of tableRows) {
  const b = r.base ? `${r.base.cfg} ${r.base.rel_bops.toFixed(2)} ${pct(r.base.top1)} ${pct(r.base.agree)}` : '(none)';
  const mx = `${r.mixed.rel_bops.toFixed(3)} ${pct(r.mixed.top1)} ${pct(r.mixed.agree)} ${db(r.mixed.sqnr_test)}/${db(r.mixed.sqnr_calib)} dB` +
             `${r.mixed.index === -1 ? ' [=base]' : ''}`;
  const d = r.base ? `${((r.mixed.top1 - r.base.top1) * 100).toFixed(1)} (${((r.mixed.agree - r.base.agree) * 100).toFixed(1)}) pp` : '';
  const pr = r.paired ? `+${r.paired.onlyA}/-${r.paired.onlyB} (${r.paired.p < 0.001 ? '<0.001' : r.paired.p.toFixed(2)})` : '';
  console.log(line([r.model, r.candidates, r.budget, r.order, b, mx, pct(r.float_top1), d, pr], W1));
}
console.log('\n== search time (report.json timing_s, seconds; 2 threads): model | candidates | budget | order | calibration | phase0 | phase1 | phase2 | phase3 | search | export | wall');
for (const r of tableRows) {
  const t = r.timing_s ?? {};
  const v = (k) => (t[k] === undefined ? '-' : t[k].toFixed(2));
  console.log(`${r.model} | ${r.candidates} | ${r.budget} | ${r.order} | ${v('calibration')} | ${v('phase0')} | ${v('phase1')} | ${v('phase2')} | ${v('phase3')} | ${v('search')} | ${v('export')} | ${r.wall_s.toFixed(1)}`);
}
console.log(`\n== robustness to the calibration data: calibration sets A (web/samples/calib) vs B (fashion_calib.npz), disjoint, 64 images each; target bops=${ROBUST_BUDGET}`);
console.log(line(['model', 'phase-1 pairs', 'Spearman rho', 'groups agree', 'A: rel_bops, top-1', 'B: rel_bops, top-1'], [11, 13, 12, 12, 20, 20]));
for (const r of robustRows) {
  console.log(line([r.model, r.pairs, r.spearman.toFixed(3), r.groups_agree, `${r.A.rel_bops.toFixed(3)} ${pct(r.A.top1)}`,
                    `${r.B.rel_bops.toFixed(3)} ${pct(r.B.top1)}`], [11, 13, 12, 12, 20, 20]));
}
writeFileSync(join(OUT, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
console.log(`\n(exports, reports and summary.json in ${OUT})`);
