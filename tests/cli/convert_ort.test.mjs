// Read-then-write round trip: `quantmix convert M --out M2`, then M and M2 run in onnxruntime-web
// (node, wasm EP, 1 thread) on the same inputs must give bit-identical outputs. Covers the
// generated corpus (deterministic random inputs) and the ONNX backend test models from
// libonnx-testdata (their test_data_set_0 inputs, decoded by tools/modelgen/ort_cases.py).
// Models ORT itself cannot load or run, or runs nondeterministically, are skipped with the reason.
import assert from 'node:assert/strict';
import test from 'node:test';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  MODELS, compareOutputs, corpusIndex, describe, expected, inspectJson, ort, outputBytes, qm, randomFloat32,
  session, sidecarFiles, tempDir, tensorFromBytes,
} from './helpers.mjs';

const MIN_LIBONNX_COMPARED = 50;
const index = corpusIndex();

// All of pytorch-converted/, pytorch-operator/, simple/; of node/ (900 single-op models) the
// conv/gemm/matmul/norm/pool ones and every 10th other one, to keep the run short.
// QM_ORT_CASES=all runs every case.
const NODE_KEY = /conv|gemm|matmul|batchnorm|pool|instancenorm|layer_norm/;
function selectCases(cases) {
  if (process.env.QM_ORT_CASES === 'all') return cases;
  let i = 0;
  return cases.filter((c) => !c.id.startsWith('node/') || NODE_KEY.test(c.id) || i++ % 10 === 0);
}

function convert(model, out) {
  const r = qm(['convert', model, '--out', out]);
  assert.equal(r.signal, null, `convert crashed: ${describe(r)}`);
  assert.equal(r.status, 0, `convert failed: ${describe(r)}`);
  return r;
}

for (const name of index.models) {
  const exp = expected(name);
  test(`convert + ORT ${name}: bit-identical outputs`, async (t) => {
    if (exp.ort === false) {
      t.skip('ONNX Runtime cannot run it (unknown op); convert must still succeed');
      const tmp = tempDir();
      try { convert(join(MODELS, exp.file), join(tmp.dir, exp.file)); } finally { tmp.cleanup(); }
      return;
    }
    const o = await ort();
    const model = join(MODELS, exp.file);
    const feeds = {};
    exp.run_inputs.forEach((inp, i) => {
      assert.equal(inp.dtype, 'float');
      feeds[inp.name] = new o.Tensor('float32', randomFloat32(inp.shape, 1000 + i), inp.shape);
    });
    const tmp = tempDir();
    try {
      const out = join(tmp.dir, exp.file);
      convert(model, out);
      // The written model must still inspect to the oracle's numbers.
      const re = inspectJson(out).json;
      if (!exp.dynamic_batch) assert.equal(re.macs, exp.macs, 'MACs of the converted model');
      assert.equal(re.params, exp.params, 'params of the converted model');
      const s1 = await session(model, exp.external_data ?? []);
      const r1 = outputBytes(await s1.run(feeds));
      await s1.release();
      const s2 = await session(out, sidecarFiles(out));
      const r2 = outputBytes(await s2.run(feeds));
      await s2.release();
      const diff = compareOutputs(r1, r2);
      assert.equal(diff, null, `${name}: original vs converted: ${diff}`);
    } finally {
      tmp.cleanup();
    }
  });
}

test('convert + ORT on libonnx-testdata models: bit-identical outputs', async (t) => {
  const manifest = JSON.parse(readFileSync(join(MODELS, 'ort_cases.json'), 'utf8'));
  let compared = 0;
  const skipped = [];
  const tmp = tempDir();
  try {
    for (const c of selectCases(manifest.cases)) {
      await t.test(c.id, async (st) => {
        const feeds = {};
        for (const inp of c.inputs) {
          feeds[inp.name] = await tensorFromBytes(inp.type, inp.dims, readFileSync(join(MODELS, inp.file)));
        }
        let first;
        try {
          const s = await session(c.model);
          first = outputBytes(await s.run(feeds));
          const again = outputBytes(await s.run(feeds));
          await s.release();
          if (compareOutputs(first, again) !== null) {
            skipped.push(`${c.id}: nondeterministic in ORT`);
            return st.skip('ORT output is nondeterministic');
          }
        } catch (e) {
          const why = String(e.message ?? e).split('\n')[0].slice(0, 160);
          skipped.push(`${c.id}: ORT: ${why}`);
          return st.skip(`ORT cannot run the original: ${why}`);
        }
        const caseDir = join(tmp.dir, c.id.replace('/', '__'));
        mkdirSync(caseDir);
        const out = join(caseDir, 'model.onnx');
        convert(c.model, out);
        const s2 = await session(out, sidecarFiles(out));
        const second = outputBytes(await s2.run(feeds));
        await s2.release();
        const diff = compareOutputs(first, second);
        assert.equal(diff, null, `${c.id}: original vs converted: ${diff}`);
        compared++;
      });
    }
  } finally {
    tmp.cleanup();
  }
  console.log(`libonnx round trip: ${compared} compared, ${skipped.length} skipped by ORT, ` +
              `${manifest.skipped.length} not tensor-only (see ort_cases.json)`);
  for (const s of skipped) console.log(`  skipped ${s}`);
  assert.ok(compared >= MIN_LIBONNX_COMPARED, `only ${compared} libonnx models compared`);
});
