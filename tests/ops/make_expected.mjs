// Computes the expected outputs of the op corpus with ONNX Runtime (the oracle):
//   node tests/ops/make_expected.mjs CORPUS_DIR
// For every case of CORPUS_DIR/index.json it writes CORPUS_DIR/cases/<case>/expected/<output>.npy
// and records the result in CORPUS_DIR/expected.json:
//   {"ort": "1.30.0", "cases": {"<case>": {"status": "ok", "outputs": [{name, file, dtype, shape}]}
//                                        | {"status": "skipped", "reason": "ORT load: ..."}}}
// A case ORT cannot load or run is skipped (with ORT's message): we have no oracle for it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readNpy, writeNpy } from './npy.mjs';
import { ortVersion, runOrt } from './ort_engine.mjs';

/** Runs ORT over the whole corpus; returns the expected.json object. */
export async function makeExpected(corpusDir, { log = () => {} } = {}) {
  const index = JSON.parse(readFileSync(join(corpusDir, 'index.json'), 'utf8'));
  const result = { ort: await ortVersion(), cases: {} };
  for (const c of index.cases) {
    const dir = join(corpusDir, 'cases', c.name);
    const feeds = {};
    for (const inp of c.inputs) feeds[inp.name] = readNpy(join(dir, inp.file));
    try {
      const outs = await runOrt(join(dir, 'model.onnx'), feeds, c.outputs.map((o) => o.name));
      mkdirSync(join(dir, 'expected'), { recursive: true });
      const outputs = c.outputs.map((o) => {
        const arr = outs[o.name];
        writeNpy(join(dir, 'expected', o.file), arr);
        return { name: o.name, file: `expected/${o.file}`, dtype: arr.dtype, shape: arr.shape };
      });
      result.cases[c.name] = { status: 'ok', outputs };
    } catch (err) {
      if (!err.stage) throw err;  // not ORT's verdict: a bug here
      result.cases[c.name] = { status: 'skipped', reason: err.message };
      log(`skipped ${c.name}: ${err.message}`);
    }
  }
  writeFileSync(join(corpusDir, 'expected.json'), JSON.stringify(result, null, 1));
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node tests/ops/make_expected.mjs CORPUS_DIR');
    process.exit(2);
  }
  const t0 = performance.now();
  const r = await makeExpected(dir, { log: (m) => console.log(m) });
  const vals = Object.values(r.cases);
  console.log(`${vals.filter((v) => v.status === 'ok').length} ok, ${vals.filter((v) => v.status !== 'ok').length} skipped ` +
    `(ORT ${r.ort}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
