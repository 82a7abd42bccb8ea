// `npm run eval:ort-agreement` (issue 13 item 2): does quantmix's simulation compute what ONNX
// Runtime computes on the exported file, and how much of any disagreement is inherent fp32
// non-associativity? For one model (random N(0,1) inputs, fixed seeds):
//   quantmix quantize MODEL --calib c0..cN --bits W8A8 --out q.onnx --encodings e.json
// then on held-out inputs, SQNR (dB, pooled over the samples and every output) of
//   sim vs ORT disabled    `quantmix run MODEL --encodings e.json` vs ORT on q.onnx, level 'disabled'
//   sim vs ORT all         ... vs ORT at its default level 'all' (QLinear* integer kernels)
//   ORT all vs disabled    the two ORT levels against each other
// and the floors:
//   sim 1 vs 2 threads     our simulation, --threads 1 vs 2 (our own summation orders)
//   ORT dis. 1 vs 2 thr.   ORT 'disabled' on q.onnx, 1 vs 2 threads (ORT's own orders; a child process)
//   fp32 ours vs ORT       the float model, `quantmix run` vs ORT 'disabled' (two fp32 engines)
//   fp32 ORT dis. vs all   the float model in ORT, 'disabled' vs 'all' (ORT's float fusions)
//   ORT vs ORT(s+1ulp)     ORT 'disabled' on q.onnx vs q.onnx with the input's quantization scale
//                          changed by one ulp (last mantissa bit flipped): every dequantized input
//                          moves by one fp32 rounding, as a different summation order moves a sum.
//                          How far one rounding-sized difference cascades in ORT itself.
//   sim vs sim(s+1ulp)     the same for the simulation (the input's scale in e.json)
//   quant noise            sim vs our float model (what quantization itself costs), and ORT's
//                          export at each level vs ORT's float model
// The first pair is what issue 13 asks >= 40 dB of at W8A8; a disagreement no larger than the
// floors is fp32 order, not a difference in what is computed.
//
//   node tools/eval/sim_vs_ort.mjs --model build/large_models/resnet50.onnx [--bits W8A8]
//        [--calib 4] [--eval 2] [--bin build/native/quantmix] [--input-shape x=1x3x48x320]
//        [--work DIR] [--json out.json] [--no-threads-floor] [--uniform]
// --uniform draws the inputs from U(0, 1) instead (image models that take pixels / 255);
// --data FILE.npz[:KEY] takes them from the rows of a stacked array instead (uint8 read as / 255):
// the first --calib rows calibrate, the next --eval rows are held out.
// Probing one tensor (both engines; simulation tensors as the export names them after its Q/DQ):
//   --probe NAME[,NAME...]   adds these tensors as outputs of q.onnx (ORT) and of the source model
//                            (simulation) and prints the per-tensor SQNR. The export keeps a
//                            quantized activation's name on its DequantizeLinear output (the
//                            producer's output becomes 'T_float'), so 'T' names the same values in
//                            both; 'T=U' reads U from ORT.
//   --probe-all              every activation the export quantizes (each QuantizeLinear of a
//                            'T_float'), in graph order; also ORT vs ORT(s+1ulp) per tensor.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeArray, readNpy, writeNpy } from '../../tests/ops/npy.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const flag = (name) => args.includes(name);

// ---------------------------------------------------------------------------------------------
// Child mode: run models in ORT with a given thread count (numThreads is fixed per process).
//   node sim_vs_ort.mjs --ort-child THREADS OUTDIR MODEL:LEVEL:TAG ... -- INPUT.npy ...
if (args[0] === '--ort-child') {
  const threads = Number(args[1]), outDir = args[2];
  const sep = args.indexOf('--');
  const jobs = args.slice(3, sep).map((s) => { const [m, level, tag] = s.split('|'); return { m, level, tag }; });
  const inputs = args.slice(sep + 1);
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  for (const { m, level, tag } of jobs) {
    const s = await ort.InferenceSession.create(readFileSync(m), {
      executionProviders: ['wasm'], graphOptimizationLevel: level, logSeverityLevel: 3,
    });
    for (let k = 0; k < inputs.length; k++) {
      const feeds = {};
      const a = readNpy(inputs[k]);
      feeds[s.inputNames[0]] = new ort.Tensor(a.dtype, a.data, a.shape);
      const r = await s.run(feeds);
      const dir = join(outDir, tag, String(k));
      mkdirSync(dir, { recursive: true });
      for (const o of s.outputNames) {
        writeNpy(join(dir, `${sanitize(o)}.npy`), makeArray('float32', [...r[o].dims].map(Number), Float32Array.from(r[o].data)));
      }
    }
    await s.release?.();
  }
  process.exit(0);
}

function sanitize(name) { return name.replace(/[^A-Za-z0-9._-]/g, '_'); }

const BIN = resolve(opt('--bin', join(ROOT, 'build', 'native', 'quantmix')));
const MODEL = opt('--model');
if (!MODEL) {
  console.error('usage: node tools/eval/sim_vs_ort.mjs --model M.onnx [--bits W8A8] [--calib 4] [--eval 2] ...');
  process.exit(2);
}
const BITS = opt('--bits', 'W8A8');
const N_CALIB = Number(opt('--calib', '4')), N_EVAL = Number(opt('--eval', '2'));
const SHAPE = opt('--input-shape');
let PROBES = (opt('--probe', '') || '').split(',').filter(Boolean).map((p) => {
  const [sim, ortName] = p.split('=');
  return { sim, ort: ortName ?? sim };
});
const WORK = opt('--work') ? resolve(opt('--work')) : mkdtempSync(join(tmpdir(), 'qm-ort-agree-'));
mkdirSync(WORK, { recursive: true });

function quantmix(cmd) {
  const t0 = Date.now();
  const r = spawnSync(BIN, cmd, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`quantmix ${cmd.join(' ')}: exit ${r.status}: ${(r.stderr || '').trim()}`);
  return { ...r, seconds: (Date.now() - t0) / 1000 };
}

/** Deterministic N(0, 1) tensor (Box-Muller over mulberry32). */
function normal(shape, seed) {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const n = shape.reduce((x, y) => x * y, 1);
  const d = new Float32Array(n);
  if (flag('--uniform')) {
    for (let i = 0; i < n; i++) d[i] = rnd();
    return makeArray('float32', shape, d);
  }
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rnd())), th = 2 * Math.PI * rnd();
    d[i] = r * Math.cos(th);
    if (i + 1 < n) d[i + 1] = r * Math.sin(th);
  }
  return makeArray('float32', shape, d);
}

// --- wire-level ONNX edit: append graph outputs by name (ValueInfoProto without a type) --------
function varint(n) { const b = []; while (n >= 0x80) { b.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); } b.push(n); return Buffer.from(b); }
function readVarint(buf, p) { let v = 0, m = 1, b; do { b = buf[p++]; v += (b & 0x7f) * m; m *= 128; } while (b & 0x80); return [v, p]; }
/** Writes `src` to `dst` with the lowest mantissa bit of float initializer `name` flipped. */
function flipInitializerUlp(src, dst, name) {
  const buf = Buffer.from(readFileSync(src));
  const fields = (start, end, fn) => {
    for (let p = start; p < end;) {
      let key; [key, p] = readVarint(buf, p);
      const wire = key & 7;
      if (wire === 2) { let len; [len, p] = readVarint(buf, p); fn(key >>> 3, p, p + len); p += len; }
      else if (wire === 0) [, p] = readVarint(buf, p);
      else p += wire === 1 ? 8 : 4;
    }
  };
  let done = false;
  fields(0, buf.length, (f, s, e) => {
    if (f !== 7) return;
    fields(s, e, (gf, ts, te) => {
      if (gf !== 5) return;
      let tname = '', data = -1;
      fields(ts, te, (tf, vs, ve) => {
        if (tf === 8) tname = buf.subarray(vs, ve).toString('utf8');
        else if (tf === 9 || tf === 4) data = vs;  // raw_data, or packed float_data
      });
      if (tname === name && data >= 0) { buf[data] ^= 1; done = true; }
    });
  });
  if (!done) throw new Error(`${src}: no float initializer '${name}'`);
  writeFileSync(dst, buf);
}
function withOutputs(src, dst, names) {
  const buf = readFileSync(src);
  const parts = [];
  let p = 0;
  while (p < buf.length) {
    const start = p;
    let key; [key, p] = readVarint(buf, p);
    const field = Math.floor(key / 8), wire = key & 7;
    if (wire === 2) {
      let len; [len, p] = readVarint(buf, p);
      if (field === 7) {
        const extra = names.map((n) => {
          const name = Buffer.from(n, 'utf8');
          const vi = Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
          return Buffer.concat([Buffer.from([0x62]), varint(vi.length), vi]);  // GraphProto.output = 12
        });
        const graph = Buffer.concat([buf.subarray(p, p + len), ...extra]);
        parts.push(Buffer.concat([Buffer.from([0x3a]), varint(graph.length), graph]));
      } else {
        parts.push(buf.subarray(start, p + len));
      }
      p += len;
    } else if (wire === 0) { [, p] = readVarint(buf, p); parts.push(buf.subarray(start, p)); }
    else if (wire === 1) { p += 8; parts.push(buf.subarray(start, p)); }
    else if (wire === 5) { p += 4; parts.push(buf.subarray(start, p)); }
    else throw new Error(`${src}: unexpected wire type ${wire}`);
  }
  writeFileSync(dst, Buffer.concat(parts));
}

// --- the measurement ------------------------------------------------------------------------------
const info = JSON.parse(quantmix(['inspect', MODEL, '--json', ...(SHAPE ? ['--input-shape', SHAPE] : [])]).stdout);
const input = info.inputs[0];
const OUTPUTS = info.outputs.map((o) => sanitize(o.name));
const shape = input.shape.map((d) => (typeof d === 'number' ? d : (d && d.value) || 1));
const calib = [], held = [];
let row = (k, seed) => normal(shape, seed);
if (opt('--data')) {
  const [file, key] = opt('--data').split(':');
  const { readNpz } = await import('./common.mjs');
  const z = readNpz(file), a = z[key ?? Object.keys(z)[0]];
  const n = shape.reduce((x, y) => x * y, 1);
  if (a.data.length < (N_CALIB + N_EVAL) * n) throw new Error(`${file}: fewer than ${N_CALIB + N_EVAL} rows of ${n} values`);
  const div = a.dtype === 'uint8' ? 255 : 1;
  row = (k) => makeArray('float32', shape, Float32Array.from(a.data.subarray(k * n, (k + 1) * n), (v) => v / div));
}
const inputInfo = opt('--data') ? `rows of ${opt('--data')}` : flag('--uniform') ? 'U(0,1)' : 'N(0,1)';
for (let i = 0; i < N_CALIB; i++) { const f = join(WORK, `calib${i}.npy`); writeNpy(f, row(i, 1000 + i)); calib.push(f); }
for (let i = 0; i < N_EVAL; i++) { const f = join(WORK, `x${i}.npy`); writeNpy(f, row(N_CALIB + i, 5000 + i)); held.push(f); }
const shapeArgs = SHAPE ? ['--input-shape', SHAPE] : [];

const q = join(WORK, 'q.onnx'), enc = join(WORK, 'e.json');
console.error(`quantize ${MODEL} --bits ${BITS} (${N_CALIB} calibration samples)...`);
const tq = quantmix(['quantize', MODEL, '--calib', ...calib, '--bits', BITS, '--out', q, '--encodings', enc,
                     '--threads', '2', '--quiet', ...shapeArgs]).seconds;

if (flag('--probe-all')) {
  const { readModel } = await import('../../tests/ops/onnx_proto.mjs');
  PROBES = readModel(q).graph.nodes.filter((n) => n.opType === 'QuantizeLinear' && n.inputs[0].endsWith('_float'))
    .map((n) => { const t = n.inputs[0].slice(0, -'_float'.length); return { sim: t, ort: t }; })
    .filter((p) => !info.outputs.some((o) => o.name === p.sim));
}
// The floors' perturbation: the input's quantization scale one ulp away, in the file and in e.json.
const encJson = JSON.parse(readFileSync(enc, 'utf8'));
const inEnc = encJson.activation_encodings[input.name][0];
const f32 = new Float32Array([inEnc.scale]);
new Uint32Array(f32.buffer)[0] ^= 1;
inEnc.scale = f32[0];
const encUlp = join(WORK, 'e_ulp.json');
writeFileSync(encUlp, JSON.stringify(encJson));
let simModel = MODEL, ortQ = q;
if (PROBES.length) {
  simModel = join(WORK, 'src_probe.onnx'); ortQ = join(WORK, 'q_probe.onnx');
  withOutputs(MODEL, simModel, PROBES.map((x) => x.sim));
  withOutputs(q, ortQ, PROBES.map((x) => x.ort));
}
const ortQUlp = join(WORK, 'q_ulp.onnx');
flipInitializerUlp(ortQ, ortQUlp, `${input.name}_scale`);

/** Outputs of one `quantmix run` per held-out sample: [{name: array}]. */
function ours(tag, extra, model = simModel, inputs = held) {
  const outs = [];
  inputs.forEach((x, k) => {
    const dir = join(WORK, tag, String(k));
    quantmix(['run', model, '--input', x, '--output-dir', dir, ...extra, ...shapeArgs]);
    outs.push(readDir(dir));
  });
  return outs;
}
function readDir(dir) {
  const o = {};
  for (const f of readdirSync(dir).sort()) if (f.endsWith('.npy')) o[f.slice(0, -4)] = readNpy(join(dir, f));
  return o;
}
function theirs(threads, jobs, inputs = held, sub = '') {
  const dir = join(WORK, `ort_t${threads}${sub}`);
  const r = spawnSync(process.execPath, [SELF, '--ort-child', String(threads), dir,
    ...jobs.map(([m, level, tag]) => `${m}|${level}|${tag}`), '--', ...inputs], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ORT (${threads} threads): ${(r.stderr || '').trim().slice(-2000)}`);
  const res = {};
  for (const [, , tag] of jobs) res[tag] = held.map((_, k) => readDir(join(dir, tag, String(k))));
  return res;
}

console.error('simulation and float runs (quantmix run)...');
const sim1 = ours('sim_t1', ['--encodings', enc, '--threads', '1']);
const sim2 = flag('--no-threads-floor') ? null : ours('sim_t2', ['--encodings', enc, '--threads', '2']);
const simUlp = ours('sim_ulp', ['--encodings', encUlp, '--threads', '1']);
const fp = ours('fp_t1', ['--threads', '1'], MODEL);
console.error('ONNX Runtime runs...');
const o1 = theirs(1, [[ortQ, 'disabled', 'q_dis'], [ortQ, 'all', 'q_all'], [MODEL, 'disabled', 'f_dis'], [MODEL, 'all', 'f_all']]);
const o2 = flag('--no-threads-floor') ? null : theirs(2, [[ortQ, 'disabled', 'q_dis']]);
const oUlp = theirs(1, [[ortQUlp, 'disabled', 'q_dis']], held, '_ulp');

/** Pooled SQNR of b against reference a over samples and the outputs (or only `names`). */
function sqnr(a, b, names) {
  let s = 0, n = 0;
  for (let k = 0; k < a.length; k++) {
    for (const o of names ?? OUTPUTS) {
      const x = a[k][o], y = b[k][o];
      if (!x || !y) throw new Error(`output ${o} missing`);
      for (let i = 0; i < x.data.length; i++) { s += x.data[i] ** 2; n += (x.data[i] - y.data[i]) ** 2; }
    }
  }
  return n === 0 ? Infinity : 10 * Math.log10(s / n);
}
/** A probe's tensors renamed so the simulation's and ORT's names meet. */
function probeView(outs, from) {
  return outs.map((o) => Object.fromEntries(PROBES.map((p) => [p.sim, o[sanitize(from === 'ort' ? p.ort : p.sim)]])));
}

const rows = [
  ['sim vs ORT disabled', sqnr(o1.q_dis, sim1)],
  ['sim vs ORT all', sqnr(o1.q_all, sim1)],
  ['ORT all vs disabled', sqnr(o1.q_dis, o1.q_all)],
  ['sim 1 vs 2 threads', sim2 ? sqnr(sim1, sim2) : null],
  ['ORT disabled 1 vs 2 threads', o2 ? sqnr(o1.q_dis, o2.q_dis) : null],
  ['fp32 ours vs ORT disabled', sqnr(o1.f_dis, fp)],
  ['fp32 ORT disabled vs all', sqnr(o1.f_dis, o1.f_all)],
  ['ORT vs ORT(s+1ulp), disabled', sqnr(o1.q_dis, oUlp.q_dis)],
  ['sim vs sim(s+1ulp)', sqnr(sim1, simUlp)],
  ['quant noise (sim vs our fp32)', sqnr(fp, sim1)],
  ['ORT disabled vs ORT fp32', sqnr(o1.f_dis, o1.q_dis)],
  ['ORT all vs ORT fp32', sqnr(o1.f_dis, o1.q_all)],
];
const fmt = (v) => (v === null ? '-' : v === Infinity ? 'inf' : v.toFixed(1));
console.log(`${MODEL} ${BITS}, ${N_CALIB} calibration + ${N_EVAL} held-out inputs (${inputInfo}), quantize ${tq.toFixed(0)} s`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(32)} ${fmt(v).padStart(7)} dB`);
const probeRows = [];
if (PROBES.length) {
  const s = probeView(sim1, 'sim'), d = probeView(o1.q_dis, 'ort'), al = probeView(o1.q_all, 'ort');
  const du = probeView(oUlp.q_dis, 'ort');
  console.log(`  per tensor (dB):  sim vs ORT disabled | sim vs ORT all | ORT vs ORT(s+1ulp)`);
  for (const p of PROBES) {
    const r = { tensor: p.sim, dis: sqnr(d, s, [p.sim]), all: sqnr(al, s, [p.sim]), ulp: sqnr(d, du, [p.sim]) };
    probeRows.push(r);
    console.log(`  ${fmt(r.dis).padStart(7)} ${fmt(r.all).padStart(7)} ${fmt(r.ulp).padStart(7)}  ${p.sim}`);
  }
}
if (opt('--json')) {
  writeFileSync(opt('--json'), JSON.stringify({ model: MODEL, bits: BITS, calib: N_CALIB, eval: N_EVAL, inputs: inputInfo,
    rows: Object.fromEntries(rows), probes: probeRows }, (k, v) => (v === Infinity ? 'inf' : v), 1));
}
if (!opt('--work') && !flag('--keep')) rmSync(WORK, { recursive: true, force: true });
else console.error(`files kept in ${WORK}`);
