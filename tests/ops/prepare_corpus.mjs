// Builds the op oracle corpus in <build>/testdata/ops unless it is current:
//   node tests/ops/prepare_corpus.mjs --build-dir BUILD [--force]     (or env QM_BUILD_DIR)
// 1. /usr/bin/python3 tools/make_op_models.py (models + inputs, index.json)
// 2. tests/ops/make_expected.mjs (ONNX Runtime's outputs, expected.json)
// The result is cached: <corpus>/stamp holds a hash of the generator sources, the expected-output
// code and the ORT version; a matching stamp means nothing to do. A new corpus is built next to the
// old one and swapped in, so an interrupted run never leaves a half corpus with a valid stamp.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from './harness.mjs';
import { makeExpected } from './make_expected.mjs';
import { ortVersion } from './ort_engine.mjs';

const PYTHON = process.env.QM_PYTHON || '/usr/bin/python3';

/** The files whose content decides the corpus. */
function sourceFiles() {
  const ops = join(REPO, 'tools/op_models');
  return [join(REPO, 'tools/make_op_models.py'),
    ...readdirSync(ops).filter((f) => f.endsWith('.py')).sort().map((f) => join(ops, f)),
    ...['make_expected.mjs', 'ort_engine.mjs', 'npy.mjs'].map((f) => join(REPO, 'tests/ops', f))];
}

export async function corpusHash() {
  const h = createHash('sha256');
  for (const f of sourceFiles()) h.update(`${f.slice(REPO.length)}\0`).update(readFileSync(f)).update('\0');
  h.update(`ort ${await ortVersion()}`);
  return h.digest('hex');
}

export async function prepareCorpus(buildDir, { force = false, log = console.log } = {}) {
  const corpus = join(buildDir, 'testdata', 'ops');
  const hash = await corpusHash();
  const stampFile = join(corpus, 'stamp');
  if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash &&
      existsSync(join(corpus, 'expected.json'))) {
    log(`op corpus up to date: ${corpus} (stamp ${hash.slice(0, 12)})`);
    return corpus;
  }
  const t0 = performance.now();
  const tmp = `${corpus}.new-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const gen = spawnSync(PYTHON, [join(REPO, 'tools/make_op_models.py'), tmp], { encoding: 'utf8' });
  if (gen.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`tools/make_op_models.py failed (exit ${gen.status ?? gen.signal}):\n${gen.stderr}${gen.error?.message ?? ''}`);
  }
  log(gen.stdout.trim());
  const t1 = performance.now();
  const r = await makeExpected(tmp, { log });
  const vals = Object.values(r.cases);
  const skipped = vals.filter((v) => v.status !== 'ok').length;
  writeFileSync(join(tmp, 'stamp'), `${hash}\n`);
  rmSync(corpus, { recursive: true, force: true });
  renameSync(tmp, corpus);
  log(`op corpus: ${vals.length} cases, ${skipped} skipped by ORT; models ${((t1 - t0) / 1000).toFixed(1)} s, ` +
    `ORT expected outputs ${((performance.now() - t1) / 1000).toFixed(1)} s -> ${corpus}`);
  return corpus;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--build-dir');
  const buildDir = i >= 0 ? args[i + 1] : process.env.QM_BUILD_DIR;
  if (!buildDir) {
    console.error('usage: node tests/ops/prepare_corpus.mjs --build-dir BUILD_DIR [--force]');
    process.exit(2);
  }
  try {
    await prepareCorpus(buildDir, { force: args.includes('--force') });
  } catch (err) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
}
