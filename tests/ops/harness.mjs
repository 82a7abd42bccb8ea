// Shared machinery of the op oracle tests: where the corpus lives, the engines under test
// (`quantmix run` per the CLI contract, or ONNX Runtime itself for the harness self-check), the
// probe that tells "run not implemented yet" from "run broken", running a corpus, summary tables.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compareArrays } from './compare.mjs';
import { makeArray, readNpy, writeNpy } from './npy.mjs';
import { runOrt } from './ort_engine.mjs';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);

/** The printed line (and ctest SKIP_REGULAR_EXPRESSION) when the engine is not there yet. */
export const SKIP_MESSAGE = 'skipped: quantmix run not available yet';

/** Per-case wall-clock limit for one `quantmix run` (a hang is a failure, not a stall). */
export const RUN_TIMEOUT_MS = 60_000;

/** The output file name rule of `quantmix run` (cli.md). */
export function sanitize(name) { return name.replace(/[^A-Za-z0-9._-]/g, '_'); }

/**
 * Options from argv and env: --engine=ort|quantmix (QM_OPS_ENGINE), --perturb (QM_OPS_PERTURB=1:
 * compare perturbed engine outputs, every case must fail), --selfcheck (each output must match and
 * a perturbed copy must not, in one pass), --filter=RE, --corpus=DIR, --jobs=N, --keep, --bin=PATH.
 */
export function parseOptions(argv = process.argv.slice(2), env = process.env) {
  const opt = {
    engine: env.QM_OPS_ENGINE || 'quantmix',
    perturb: env.QM_OPS_PERTURB === '1',
    filter: env.QM_OPS_FILTER ? new RegExp(env.QM_OPS_FILTER) : null,
    corpus: env.QM_OPS_CORPUS || null,
    jobs: Number(env.QM_OPS_JOBS || 2),
    keep: env.QM_OPS_KEEP === '1',
    bin: env.QUANTMIX_BIN || join(REPO, 'build/native/quantmix'),
  };
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const [, k, v] = m;
    if (k === 'engine') opt.engine = v;
    else if (k === 'perturb') opt.perturb = true;
    else if (k === 'selfcheck') opt.perturb = 'both';
    else if (k === 'filter') opt.filter = new RegExp(v);
    else if (k === 'corpus') opt.corpus = v;
    else if (k === 'jobs') opt.jobs = Number(v);
    else if (k === 'keep') opt.keep = true;
    else if (k === 'bin') opt.bin = v;
  }
  if (!['ort', 'quantmix'].includes(opt.engine)) throw new Error(`--engine must be ort or quantmix, got '${opt.engine}'`);
  if (!opt.corpus) {
    const build = env.QM_BUILD_DIR || join(REPO, 'build/native');
    opt.corpus = join(build, 'testdata', 'ops');
  }
  return opt;
}

/** How the CLI says that the `run` sub-command itself does not exist (not: that a flag is unknown). */
const NOT_IMPLEMENTED = [
  /(unknown|unrecognized|invalid|unsupported|no such) (sub-?)?command:? ['"`]?run\b/i,
  /['"`]run['"`] is not (available|implemented|supported)/i,
];

/**
 * Is `quantmix run` implemented? Runs `BIN run --help`:
 *   exit 0 and the usage names --output-dir          -> 'available' (the tests run in full)
 *   non-zero exit and the CLI says the command 'run' is unknown or not available
 *                                                    -> 'unavailable' (the tests skip)
 *   anything else (crash, exit 0 without usage, no binary) -> 'broken' (the tests fail)
 * So once `run` exists the tests cannot skip silently.
 */
export function probeQuantmixRun(bin) {
  if (!existsSync(bin)) return { state: 'broken', message: `QUANTMIX_BIN ${bin} does not exist (build the native preset first)` };
  const r = spawnSync(bin, ['run', '--help'], { encoding: 'utf8', timeout: 30_000 });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const oneLine = text.trim().replace(/\s+/g, ' ').slice(0, 300);
  if (r.error) return { state: 'broken', message: `${bin} run --help: ${r.error.message}` };
  if (r.status === 0) {
    if (/--output-dir/.test(text)) return { state: 'available', message: 'quantmix run --help exits 0' };
    return { state: 'broken', message: `${bin} run --help exited 0 but its usage does not mention --output-dir ` +
      `(a placeholder binary? unknown sub-commands must exit 2 with "error: unknown command"): ${JSON.stringify(oneLine)}` };
  }
  if (r.status !== null && r.status !== 0 && NOT_IMPLEMENTED.some((re) => re.test(text))) {
    return { state: 'unavailable', message: `${SKIP_MESSAGE} (${bin} run --help exited ${r.status}: ${oneLine})` };
  }
  return { state: 'broken', message: `${bin} run --help exited ${r.status ?? r.signal}: ${JSON.stringify(oneLine)}` };
}

/**
 * Engines. run(modelPath, inputs [{name, file}], outDir) writes outDir/<sanitized output>.npy and
 * resolves {ok: true} or {ok: false, error}.
 */
export function quantmixEngine(bin, { timeoutMs = RUN_TIMEOUT_MS } = {}) {
  return {
    name: 'quantmix',
    run(modelPath, inputs, outDir) {
      const args = ['run', modelPath];
      for (const i of inputs) args.push('--input', `${i.name}=${i.file}`);
      args.push('--output-dir', outDir);
      return new Promise((done) => {
        execFile(bin, args, { timeout: timeoutMs, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
          if (!err) return done({ ok: true });
          const why = err.killed ? `killed after ${timeoutMs} ms (hang?)` : `exit ${err.code ?? err.signal}`;
          done({ ok: false, error: `quantmix ${args.join(' ')}: ${why}: ${String(stderr).trim().split('\n').slice(-3).join(' | ')}` });
        });
      });
    },
  };
}

export function ortEngine() {
  return {
    name: 'ort',
    async run(modelPath, inputs, outDir) {
      const feeds = {};
      for (const i of inputs) feeds[i.name] = readNpy(i.file);
      try {
        const outs = await runOrt(modelPath, feeds);
        for (const [name, arr] of Object.entries(outs)) writeNpy(join(outDir, `${sanitize(name)}.npy`), arr);
        return { ok: true };
      } catch (err) {
        return { ok: false, error: err.message };
      }
    },
  };
}

/** A copy of arr with one element moved beyond every tolerance (or, if empty, a different shape). */
export function perturbArray(arr) {
  const n = arr.data.length;
  if (n === 0) return { ...arr, shape: [...arr.shape, 1] };
  const data = arr.data.slice();
  const k = Math.floor(n / 2);
  if (arr.dtype === 'bool') data[k] = data[k] ? 0 : 1;
  else if (typeof data[k] === 'bigint') data[k] += 1n;
  else if (arr.dtype.startsWith('float')) {
    const v = Number.isFinite(data[k]) ? data[k] : 0;
    data[k] = v + (Math.abs(v) * 1e-3 + 1e-3);
  } else data[k] += 1;  // integer typed arrays wrap, so the value always changes
  return makeArray(arr.dtype, arr.shape, data);
}

/**
 * Runs an engine on one case and compares every output with the expected one.
 * @param {object} c  {model, inputs: [{name, file}], outputs: [{name, expected: arr|path, compare}]}
 * @param {{perturb: boolean|'both', keep: boolean}} opts
 * @returns {Promise<{status: 'pass'|'fail', detail: string}>}
 */
export async function runAndCompare(engine, c, { perturb = false, keep = false } = {}) {
  const outDir = mkdtempSync(join(tmpdir(), 'qm-op-'));
  try {
    const r = await engine.run(c.model, c.inputs, outDir);
    if (!r.ok) return { status: 'fail', detail: r.error };
    const problems = [];
    for (const o of c.outputs) {
      const file = join(outDir, `${sanitize(o.name)}.npy`);
      if (!existsSync(file)) {
        problems.push(`output '${o.name}': ${sanitize(o.name)}.npy not written (found: ${readdirSync(outDir).join(', ') || 'nothing'})`);
        continue;
      }
      let actual;
      try { actual = readNpy(file); } catch (err) { problems.push(`output '${o.name}': ${err.message}`); continue; }
      const expected = typeof o.expected === 'string' ? readNpy(o.expected) : o.expected;
      if (perturb === 'both') {
        // Self-check in one pass: the output must match, and a perturbed copy must not.
        const plain = compareArrays(expected, actual, o.compare);
        if (!plain.ok) problems.push(`output '${o.name}': ${plain.detail}`);
        if (compareArrays(expected, perturbArray(actual), o.compare).ok) {
          problems.push(`output '${o.name}': a perturbed copy passed the comparison (blind check)`);
        }
        continue;
      }
      const cmp = compareArrays(expected, perturb ? perturbArray(actual) : actual, o.compare);
      if (!cmp.ok) problems.push(`output '${o.name}': ${cmp.detail}`);
    }
    if (problems.length) return { status: 'fail', detail: problems.join('; ') + (keep ? ` [outputs kept in ${outDir}]` : '') };
    return { status: 'pass', detail: '' };
  } finally {
    if (!keep) rmSync(outDir, { recursive: true, force: true });
  }
}

/** Runs tasks with at most `jobs` in flight; keeps order. */
export async function mapLimit(items, jobs, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

/** Loads the op corpus (index.json + expected.json) as runnable cases. */
export function loadCorpus(corpusDir) {
  const indexFile = join(corpusDir, 'index.json');
  const expFile = join(corpusDir, 'expected.json');
  if (!existsSync(indexFile) || !existsSync(expFile)) {
    throw new Error(`op corpus missing in ${corpusDir}: run node tests/ops/prepare_corpus.mjs --build-dir <build dir> ` +
      '(ctest runs it as the op_corpus fixture)');
  }
  const index = JSON.parse(readFileSync(indexFile, 'utf8'));
  const expected = JSON.parse(readFileSync(expFile, 'utf8'));
  return index.cases.map((c) => {
    const dir = join(corpusDir, 'cases', c.name);
    const e = expected.cases[c.name];
    if (!e) throw new Error(`expected.json has no entry for ${c.name}: regenerate the corpus`);
    return {
      name: c.name, op: c.op, opset: c.opset, note: c.note,
      skip: e.status === 'ok' ? null : e.reason,
      model: join(dir, 'model.onnx'),
      inputs: c.inputs.map((i) => ({ name: i.name, file: join(dir, i.file) })),
      outputs: c.outputs.map((o) => ({ name: o.name, expected: join(dir, 'expected', o.file), compare: c.compare })),
    };
  });
}

/** Runs cases; each result is {name, op, status: pass|fail|skip, detail}. */
export async function runCases(cases, engine, { perturb = false, keep = false, jobs = 1, filter = null } = {}) {
  const selected = filter ? cases.filter((c) => filter.test(c.name)) : cases;
  return mapLimit(selected, engine.name === 'ort' ? 1 : jobs, async (c) => {
    if (c.skip) return { name: c.name, op: c.op, status: 'skip', detail: c.skip };
    const r = await runAndCompare(engine, c, { perturb, keep });
    return { name: c.name, op: c.op, ...r };
  });
}

/** A text table: one row per group (op), columns passed/failed/skipped, plus a total. */
export function summaryTable(results, { labels = ['passed', 'failed', 'skipped'], keys = ['pass', 'fail', 'skip'] } = {}) {
  const by = new Map();
  for (const r of results) {
    if (!by.has(r.op)) by.set(r.op, Object.fromEntries(keys.map((k) => [k, 0])));
    by.get(r.op)[r.status] = (by.get(r.op)[r.status] ?? 0) + 1;
  }
  const rows = [...by.entries()].sort(([a], [b]) => a.localeCompare(b));
  const total = Object.fromEntries(keys.map((k) => [k, results.filter((r) => r.status === k).length]));
  const w = Math.max(8, ...rows.map(([op]) => op.length));
  const line = (name, counts) => name.padEnd(w) + keys.map((k) => String(counts[k] ?? 0).padStart(9)).join('');
  return [''.padEnd(w) + labels.map((l) => l.padStart(9)).join(''),
    ...rows.map(([op, c]) => line(op, c)), line('TOTAL', total)].join('\n');
}
