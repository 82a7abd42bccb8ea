// Two sections, both run by default:
// 1. Forward latency: quantmix (wasm, node, 1 thread) vs onnxruntime-web's wasm backend (1 thread,
//    SIMD) in the same node process, plus the native `quantmix run --repeat N`.
// 2. Whole search (takes minutes): the app's mixed-precision search (api::quantize, full Pareto
//    front) on --search-model with --search-samples random samples, in wasm under node (1 thread;
//    2 threads with --mt-module, a pthread build of the bench module) and natively
//    (`quantmix quantize ... --threads 1` and `--threads 2`). Prints wall and CPU time, timing_s
//    per phase from report.json, phase-1 forward-pass equivalents vs naive, and memory.
// Run through scripts/bench.sh (`npm run bench`), which builds the modules and the models.
//
//   node tools/bench/bench.mjs --module build/bench-wasm/bench/quantmix_bench.js
//        --models build/bench-native/bench_models [--native build/bench-native/quantmix]
//        [--repeat 10] [--warmup 3] [--batches 1,8] [--only resnet18,...] [--profile] [--no-rss]
//        [--no-search | --only-search] [--search-model build/bench-native/testdata/models/mobilenet_v2_op11.onnx]
//        [--search-samples 32] [--search-shape 1x3x224x224] [--search-candidates W4A8,W8A8,W8A16] [--search-target bops=0.75]
//        [--search-bits W8A8 (homogeneous, for memory)] [--search-front-points N (phase 2 measures N points; default all)] [--search-native-threads 1,2] [--search-engines wasm,native] [--mt-module PATH/quantmix_bench_mt.js]
//
// Timing: each iteration runs ours then ORT (interleaved, so machine noise hits both alike),
// JS wall time around one forward call (`BenchModel.run()` / `await session.run()`), after
// `--warmup` untimed calls per engine so V8 has tiered the hot wasm functions up from Liftoff.
// Memory: ours = RunStats.peak_live_bytes (live activations at the worst step; weights and
// packed caches not included) and the wasm memory size after the runs (a fresh module instance
// per model, so it is that model's high-water mark: weights + packed weights + activations +
// allocator slack); both engines also get a process-RSS delta measured in a child process that
// loads only that engine and model (`--memory-probe`).
//
// Search timing: each wasm search runs in a child node process (`--search-child`, fresh module, so
// the wasm memory size afterwards is that search's high-water mark; same node flags as this
// process); wall time and process.cpuUsage() (all threads of the process) around the one
// quantizeSearch() call. Native: /usr/bin/time's user+system and elapsed around the CLI. On a
// shared machine CPU time is the stable figure (for 2 threads it is the sum over both threads).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

const MODELS = [
  { name: 'mobilenet_v2', file: 'mobilenet_v2.onnx', shape: [3, 224, 224], desc: 'torchvision mobilenet_v2 (corpus mobilenet_v2_op11)' },
  { name: 'resnet18', file: 'resnet18.onnx', shape: [3, 224, 224], desc: 'torchvision resnet18 (corpus resnet18_op17)' },
  { name: 'vit_encoder', file: 'vit_encoder.onnx', shape: [3, 96, 96], desc: 'ViT encoder: 145 tokens, d=256, 4 layers, 4 heads, FF 1024, opset 17' },
];

function parseArgs(argv) {
  const a = {
    repeat: 10, warmup: 3, batches: [1, 8], only: null, profile: false, native: null,
    rss: true, search: true, onlySearch: false, searchModel: null, searchSamples: 32,
    searchCandidates: 'W4A8,W8A8,W8A16', searchTarget: 'bops=0.75', searchNativeThreads: [1, 2],
    searchShape: [1, 3, 224, 224], searchEngines: ['wasm', 'native'], mtModule: null, searchChild: null,
  };
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--module') a.module = resolve(v());
    else if (k === '--models') a.models = resolve(v());
    else if (k === '--native') a.native = resolve(v());
    else if (k === '--repeat') a.repeat = Number(v());
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--batches') a.batches = v().split(',').map(Number);
    else if (k === '--only') a.only = v().split(',');
    else if (k === '--profile') a.profile = true;
    else if (k === '--memory-probe') a.probe = [v(), v(), Number(v())];  // engine model batch
    else if (k === '--no-rss') a.rss = false;  // skip the RSS probes (child processes)
    else if (k === '--no-search') a.search = false;
    else if (k === '--only-search') a.onlySearch = true;
    else if (k === '--search-model') a.searchModel = resolve(v());
    else if (k === '--search-samples') a.searchSamples = Number(v());
    else if (k === '--search-candidates') a.searchCandidates = v();
    else if (k === '--search-target') a.searchTarget = v();
    else if (k === '--search-bits') a.searchBits = v();  // homogeneous (e.g. W8A8) instead of the search
    else if (k === '--search-front-points') a.searchFrontPoints = v();
    else if (k === '--search-native-threads') a.searchNativeThreads = v().split(',').filter(Boolean).map(Number);
    else if (k === '--mt-module') a.mtModule = resolve(v());
    else if (k === '--search-engines') a.searchEngines = v().split(',');  // wasm,native
    else if (k === '--search-shape') a.searchShape = v().split('x').map(Number);
    else if (k === '--search-child') a.searchChild = Number(v());  // threads
    else throw new Error(`bench: unknown argument ${k}`);
  }
  return a;
}

/** Deterministic input in [-1, 1) (xorshift32). */
function makeInput(n, seed = 12345) {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    x[i] = (s / 4294967296) * 2 - 1;
  }
  return x;
}

const median = (v) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const mb = (b) => (b / 1048576).toFixed(1);

async function loadOrt() {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  return ort;
}

async function ortSession(ort, bytes) {
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

async function ortRun(ort, sess, x, shape) {
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', x, shape) };
  const t0 = performance.now();
  const out = await sess.run(feeds);
  const ms = performance.now() - t0;
  return { ms, y: out[sess.outputNames[0]].data };
}

async function newOurs(modulePath, bytes) {
  const factory = require(modulePath);
  const M = await factory({ wasmBinary: readFileSync(modulePath.replace(/\.js$/, '.wasm')) });
  return { M, m: new M.BenchModel(bytes, 1) };
}

function writeNpy(path, x, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1; h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(x.buffer, x.byteOffset, x.byteLength)]));
}

function runNative(bin, model, x, shape, repeat, dir) {
  const npy = join(dir, 'input.npy');
  writeNpy(npy, x, shape);
  const args = ['run', model, '--input', `input=${npy}`, '--repeat', String(repeat), '--threads', '1', '--output-dir', join(dir, 'out')];
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  const m = /run_ms=([0-9.]+)/.exec(r.stderr || '');
  if (r.status !== 0 || !m) return { error: (r.stderr || '').trim().split('\n').pop(), cmd: `${bin} ${args.join(' ')}` };
  return { ms: Number(m[1]), cmd: `quantmix ${args.join(' ')}` };
}

/** Child-process mode: RSS delta of loading one engine + model and running it twice. */
async function memoryProbe(a) {
  const [engine, name, batch] = a.probe;
  const spec = MODELS.find((s) => s.name === name);
  const shape = [batch, ...spec.shape];
  const x = makeInput(shape.reduce((p, q) => p * q, 1));
  let ort;
  if (engine === 'ort') ort = await loadOrt();  // module import itself is not counted
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const bytes = new Uint8Array(readFileSync(join(a.models, spec.file)));
  if (engine === 'ort') {
    const s = await ortSession(ort, bytes);
    for (let i = 0; i < 2; ++i) { await ortRun(ort, s, x, shape); peak = Math.max(peak, process.memoryUsage().rss); }
  } else {
    const { m } = await newOurs(a.module, bytes);
    m.setInput(x, shape);
    for (let i = 0; i < 2; ++i) { m.run(); peak = Math.max(peak, process.memoryUsage().rss); }
  }
  process.stdout.write(JSON.stringify({ rss_delta: peak - before }) + '\n');
}

function probe(a, engine, name, batch) {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--expose-gc', self, '--module', a.module, '--models', a.models, '--memory-probe', engine, name, String(batch)], { encoding: 'utf8' });
  try { return JSON.parse(r.stdout.trim().split('\n').pop()).rss_delta; } catch { return NaN; }
}

// ---- Section 2: the whole search --------------------------------------------------------------

const SEARCH_SEED = 777;
const prod = (d) => d.reduce((p, q) => p * q, 1);

/** Child-process mode: one wasm search with a fresh module instance; prints a JSON line. */
async function searchChild(a) {
  const threads = a.searchChild;
  const x = makeInput(prod(a.searchShape) * a.searchSamples, SEARCH_SEED);
  const factory = require(a.module);
  const M = await factory({ wasmBinary: readFileSync(a.module.replace(/\.js$/, '.wasm')) });
  if (typeof M.quantizeSearch !== 'function') throw new Error(`bench: ${a.module} has no quantizeSearch (rebuild it from wasm/bench_bindings.cpp)`);
  const bytes = new Uint8Array(readFileSync(a.searchModel));
  const tag = `wasm ${threads}t`;
  // CPU seconds per progress phase (calibration, reference, phase0..phase3, evaluate, export):
  // report.json's timing_s is wall time, which the machine's load inflates.
  let last = '';
  const phaseCpu = {};
  const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  let lastCpu = 0;
  const t0 = performance.now();
  // Bytes in use, sampled at every progress call: what the heap holds beyond their peak is
  // fragmentation (a wasm heap never shrinks).
  let livePeak = 0;
  const progress = (phase) => {
    if (M.mallocLive) livePeak = Math.max(livePeak, M.mallocLive());
    if (phase === last) return;
    const now = cpuNow();
    if (last) phaseCpu[last] = (phaseCpu[last] || 0) + now - lastCpu;
    lastCpu = now;
    process.stderr.write(`  [${tag}] ${phase} from ${((performance.now() - t0) / 1000).toFixed(1)} s (wasm heap ${(M.HEAP8.length / 2 ** 20).toFixed(0)} MiB${M.mallocLive ? `, in use ${(M.mallocLive() / 2 ** 20).toFixed(0)} MiB, sampled peak ${(livePeak / 2 ** 20).toFixed(0)} MiB` : ''})\n`);
    last = phase;
  };
  const c0 = process.cpuUsage();
  const r = M.quantizeSearch(bytes, x, a.searchShape, a.searchSamples,
    { candidates: a.searchCandidates, target: a.searchTarget, threads, ...(a.searchBits ? { bits: a.searchBits } : {}),
      ...(a.searchFrontPoints ? { frontPoints: a.searchFrontPoints } : {}) }, progress);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  if (last) phaseCpu[last] = (phaseCpu[last] || 0) + cpuNow() - lastCpu;
  process.stdout.write(JSON.stringify({
    wall_s: wall, cpu_s: (c.user + c.system) / 1e6, phase_cpu_s: phaseCpu, report: JSON.parse(r.report),
    heap: M.HEAP8.length, malloc_peak: r.malloc_peak, malloc_live: r.malloc_live,
    max_rss: process.resourceUsage().maxRSS * 1024,
  }) + '\n', () => process.exit(0));  // exit once written (a pipe write is asynchronous): a
  // pthread module's pool Workers would keep the process alive
}

function wasmSearch(a, modulePath, threads) {
  const self = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, self, '--module', modulePath, '--search-model', a.searchModel,
    '--search-samples', String(a.searchSamples), '--search-shape', a.searchShape.join('x'),
    '--search-candidates', a.searchCandidates, '--search-target', a.searchTarget, '--search-child', String(threads),
    ...(a.searchBits ? ['--search-bits', a.searchBits] : []), ...(a.searchFrontPoints ? ['--search-front-points', a.searchFrontPoints] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 << 20 });
  const cmd = `node ${args.map((s) => s.replace(process.cwd() + '/', '')).join(' ')}`;
  try {
    return { ...JSON.parse(r.stdout.trim().split('\n').pop()), cmd };
  } catch {
    return { error: `exit ${r.status}${r.signal ? ' ' + r.signal : ''}`, cmd };
  }
}

function nativeSearch(a, threads, npy, dir) {
  const report = join(dir, `search_report_t${threads}.json`);
  const mode = a.searchBits ? ['--bits', a.searchBits] : ['--candidates', a.searchCandidates, '--target', a.searchTarget,
    ...(a.searchFrontPoints ? ['--front-points', a.searchFrontPoints] : [])];
  const qargs = ['quantize', a.searchModel, '--calib', npy, ...mode, '--out', join(dir, 'search_out.onnx'), '--report', report,
    '--threads', String(threads), '--quiet'];
  process.stderr.write(`  [native ${threads}t] quantmix ${qargs.join(' ')}\n`);
  const r = spawnSync('/usr/bin/time', ['-f', 'QMTIME %U %S %e %M', a.native, ...qargs], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /QMTIME ([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)/.exec(r.stderr || '');
  const cmd = `quantmix ${qargs.join(' ')}`;
  if (r.status !== 0 || !m) return { error: (r.stderr || '').trim().split('\n').slice(-2).join(' '), cmd };
  return {
    wall_s: Number(m[3]), cpu_s: Number(m[1]) + Number(m[2]), max_rss: Number(m[4]) * 1024,
    report: JSON.parse(readFileSync(report, 'utf8')), cmd,
  };
}

function searchRow(engine, threads, r) {
  if (r.error) return `| ${engine} | ${threads} | error: ${r.error} |`;
  const t = r.report.timing_s;
  const f = (x) => (x === undefined ? '-' : x.toFixed(1));
  const sel = r.report.selected;
  // Memory against the model's size (issue 11: the heap within about 2 x model + the budget).
  const size = r.model_size;
  const ratio = (x) => (size ? ` (${(x / size).toFixed(2)}x model)` : '');
  const mem = engine.startsWith('wasm')
    ? `heap ${mb(r.heap)}${ratio(r.heap)}, malloc peak ${mb(r.malloc_peak)}${ratio(r.malloc_peak)}, RSS ${mb(r.max_rss)}`
    : `RSS ${mb(r.max_rss)}`;
  const fpe = (x) => (x === undefined ? '-' : x.toFixed(1));
  const perPass = t.fp_pass > 0 && t.search !== undefined ? (t.search / t.fp_pass).toFixed(1) : '-';
  return `| ${engine} | ${threads} | ${r.wall_s.toFixed(1)} | ${r.cpu_s.toFixed(1)} | ${f(t.calibration)} | ${f(t.phase0)} | ${f(t.phase1)} | ${f(t.phase2)} | ${f(t.phase3)} | ${f(t.export)} | ${f(t.search)} | ${perPass} | ` +
    `${fpe(t.phase1_fpe)} / ${fpe(t.phase1_ops_fpe)} / ${fpe(t.phase1_time_fpe)} vs ${t.phase1_naive_fpe ?? '-'}${t.phase1_cached === false ? ' (uncached)' : ''} | ${fpe(t.phase2_fpe)} | ` +
    `${t.evaluations ?? '-'} | ${r.report.pareto.length} | ${sel.rel_bops.toFixed(3)} / ${sel.sqnr_db === null ? "null" : sel.sqnr_db.toFixed(2)} | ${mem} |`;
}

async function searchSection(a) {
  if (!a.searchModel) { console.log('\n(search section skipped: no --search-model)'); return; }
  const tmp = mkdtempSync(join(tmpdir(), 'qm-bench-search-'));
  const shape = a.searchShape;
  console.log(`\n## Whole search: ${a.searchModel.replace(process.cwd() + '/', '')}, ${a.searchSamples} random samples ${shape.join('x')} (xorshift, seed ${SEARCH_SEED}), ` +
    `candidates ${a.searchCandidates}, target ${a.searchTarget}, ${a.searchFrontPoints ? `${a.searchFrontPoints} measured points of the Pareto front (--search-front-points)` : 'front points measured: the default, 64 (as the app runs it)'}`);
  const rows = [];
  const size = readFileSync(a.searchModel).length;
  console.log(`model file: ${mb(size)} MB${a.searchBits ? `; homogeneous ${a.searchBits} (--search-bits), no search` : ''}`);
  if (a.searchEngines.includes('wasm')) {
    rows.push(['wasm (node)', 1, wasmSearch(a, a.module, 1)]);
    if (a.mtModule) rows.push(['wasm (node, pthreads)', 2, wasmSearch(a, a.mtModule, 2)]);
  }
  if (a.native && a.searchEngines.includes('native')) {
    const npy = join(tmp, 'samples.npy');
    writeNpy(npy, makeInput(prod(shape) * a.searchSamples, SEARCH_SEED), [a.searchSamples, ...shape.slice(1)]);
    for (const th of a.searchNativeThreads) rows.push(['native', th, nativeSearch(a, th, npy, tmp)]);
  }
  console.log('\n(timing_s columns: wall seconds from report.json; CPU seconds per phase below the table)');
  console.log('| engine | threads | wall s | CPU s | calibration s | phase0 s | phase1 s | phase2 s | phase3 s | export s | search s (timing_s) | search / FP pass | phase-1 FPE steps / ops / time vs naive | phase-2 FPE | evaluations | front points | selected rel BOPs / SQNR dB | memory MB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [engine, th, r] of rows) console.log(searchRow(engine, th, { ...r, model_size: size }));
  for (const [engine, th, r] of rows) {
    if (!r.phase_cpu_s) continue;
    console.log(`${engine} ${th}t CPU s per phase: ` + Object.entries(r.phase_cpu_s).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', '));
  }
  const get = (e, th) => rows.find((r) => r[0].startsWith(e) && r[1] === th && !r[2].error)?.[2];
  const w1 = get('wasm', 1), n1 = get('native', 1), n2 = get('native', 2), w2 = get('wasm', 2);
  console.log('');
  if (w1 && n1) console.log(`wasm/native, 1 thread: CPU ${(w1.cpu_s / n1.cpu_s).toFixed(2)}x, wall ${(w1.wall_s / n1.wall_s).toFixed(2)}x`);
  if (n1 && n2) console.log(`native 2 threads vs 1: wall ${(n1.wall_s / n2.wall_s).toFixed(2)}x faster, CPU ${(n2.cpu_s / n1.cpu_s).toFixed(2)}x`);
  if (w2 && w1) console.log(`wasm 2 threads vs 1: wall ${(w1.wall_s / w2.wall_s).toFixed(2)}x faster, CPU ${(w2.cpu_s / w1.cpu_s).toFixed(2)}x`);
  if (!a.mtModule && a.searchEngines.includes('wasm')) console.log('wasm threads=2: not run (pass --mt-module PATH/quantmix_bench_mt.js, a -pthread build of wasm/bench_bindings.cpp)');
  console.log('(phase-1 FPE: forward-pass equivalents weighted by phase-0 step times / by MACs / phase-1 seconds over one FP pass; naive = one full pass per configuration)');
  console.log('commands:');
  for (const [, , r] of rows) console.log(`  ${r.cmd}`);
}

function summarizeProfile(steps) {
  const byOp = new Map();
  for (const s of steps) byOp.set(s.op, (byOp.get(s.op) || 0) + s.ms);
  const total = steps.reduce((p, s) => p + s.ms, 0);
  const ops = [...byOp].sort((p, q) => q[1] - p[1]);
  const top = [...steps].sort((p, q) => q.ms - p.ms).slice(0, 5);
  return { total, ops, top };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.probe) return memoryProbe(a);
  if (a.searchChild) return searchChild(a);
  if (!a.onlySearch) await forwardSection(a);
  if (a.search || a.onlySearch) await searchSection(a);
}

async function forwardSection(a) {
  const ort = await loadOrt();
  const tmp = mkdtempSync(join(tmpdir(), 'qm-bench-'));
  console.log(`# node ${process.version} ${process.execArgv.join(' ')}; onnxruntime-web ${ort.env.versions?.web ?? '?'} wasm EP numThreads=1; ours: ${a.module} (1 thread)`);
  console.log(`# median of ${a.repeat} interleaved forward calls after ${a.warmup} warm-up calls each (JS wall time per call; CPU = process.cpuUsage() user+system over the call, robust when other jobs share the cores)`);
  const rows = [];
  const profiles = [];
  for (const spec of MODELS) {
    if (a.only && !a.only.includes(spec.name)) continue;
    const path = join(a.models, spec.file);
    const bytes = new Uint8Array(readFileSync(path));
    const { M, m } = await newOurs(a.module, bytes);
    const sess = await ortSession(ort, bytes);
    for (const batch of a.batches) {
      const shape = [batch, ...spec.shape];
      const x = makeInput(shape.reduce((p, q) => p * q, 1));
      m.setInput(x, shape);
      for (let i = 0; i < a.warmup; ++i) { m.run(); await ortRun(ort, sess, x, shape); }
      const ours = [], theirs = [], oursCpu = [], ortCpu = [];
      let yOrt;
      for (let i = 0; i < a.repeat; ++i) {
        let c0 = process.cpuUsage();
        const t0 = performance.now();
        m.run();
        ours.push(performance.now() - t0);
        let c1 = process.cpuUsage(c0);
        oursCpu.push((c1.user + c1.system) / 1000);
        c0 = process.cpuUsage();
        const r = await ortRun(ort, sess, x, shape);
        c1 = process.cpuUsage(c0);
        ortCpu.push((c1.user + c1.system) / 1000);
        theirs.push(r.ms);
        yOrt = r.y;
      }
      const y = m.output();
      let maxErr = 0, maxRef = 0;
      for (let i = 0; i < y.length; ++i) { maxErr = Math.max(maxErr, Math.abs(y[i] - yOrt[i])); maxRef = Math.max(maxRef, Math.abs(yOrt[i])); }
      const row = {
        model: spec.name, batch, ours: median(ours), ort: median(theirs),
        ours_min: Math.min(...ours), ort_min: Math.min(...theirs),
        ours_cpu: median(oursCpu), ort_cpu: median(ortCpu),
        peak_live: m.peakLiveBytes(), heap: M.HEAP8.length, maxErr, maxRef,
      };
      row.ratio = row.ours / row.ort;
      row.ratio_cpu = row.ours_cpu / row.ort_cpu;
      if (a.native) row.native = runNative(a.native, path, x, shape, a.repeat, tmp);
      row.rss_ours = a.rss ? probe(a, 'ours', spec.name, batch) : NaN;
      row.rss_ort = a.rss ? probe(a, 'ort', spec.name, batch) : NaN;
      rows.push(row);
      if (a.profile) {
        // Per step, the minimum over 3 timed forwards (drops preemption by other processes).
        let steps = null;
        for (let k = 0; k < 3; ++k) {
          const s = JSON.parse(m.profile());
          steps = steps ? steps.map((t, j) => ({ ...t, ms: Math.min(t.ms, s[j].ms) })) : s;
        }
        profiles.push({ model: spec.name, batch, ...summarizeProfile(steps) });
      }
      console.log(`${spec.name} b${batch}: ours ${row.ours.toFixed(1)} ms (cpu ${row.ours_cpu.toFixed(1)}), ORT ${row.ort.toFixed(1)} ms (cpu ${row.ort_cpu.toFixed(1)}), ratio wall ${row.ratio.toFixed(2)} cpu ${row.ratio_cpu.toFixed(2)}${row.native?.ms ? `, native ${row.native.ms.toFixed(1)} ms` : ''}`);
    }
    m.delete();
    await sess.release();
  }
  console.log('\n| model | batch | ours wasm ms (median / min) | ORT wasm ms (median / min) | ours/ORT | ours / ORT CPU ms (median) | ours/ORT CPU | native ms | ours peak live MB | ours wasm heap MB | RSS delta ours / ORT MB | max |ours-ORT| (max |ORT|) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const nat = r.native ? (r.native.ms !== undefined ? r.native.ms.toFixed(1) : `error: ${r.native.error}`) : '-';
    console.log(`| ${r.model} | ${r.batch} | ${r.ours.toFixed(1)} / ${r.ours_min.toFixed(1)} | ${r.ort.toFixed(1)} / ${r.ort_min.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.ours_cpu.toFixed(1)} / ${r.ort_cpu.toFixed(1)} | ${r.ratio_cpu.toFixed(2)} | ${nat} | ${mb(r.peak_live)} | ${mb(r.heap)} | ${mb(r.rss_ours)} / ${mb(r.rss_ort)} | ${r.maxErr.toExponential(1)} (${r.maxRef.toFixed(2)}) |`);
  }
  if (a.native) {
    console.log('\nnative command lines (run_ms = median of --repeat forwards, 1 thread):');
    for (const r of rows) if (r.native) console.log(`  ${r.native.cmd}`);
  }
  for (const p of profiles) {
    console.log(`\nprofile ${p.model} b${p.batch} (ours, wasm, CPU ms per step from process.cpuUsage() in an executor hook, min of 3 forwards: ${p.total.toFixed(1)} ms)`);
    console.log('  by op type: ' + p.ops.slice(0, 8).map(([op, ms]) => `${op} ${ms.toFixed(1)} ms (${(100 * ms / p.total).toFixed(0)}%)`).join(', '));
    console.log('  slowest steps: ' + p.top.map((s) => `${s.node} (${s.op}) ${s.ms.toFixed(2)} ms`).join(', '));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
