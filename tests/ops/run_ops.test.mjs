// The op oracle: every case of the generated corpus (<build>/testdata/ops, made by
// tests/ops/prepare_corpus.mjs) through `quantmix run`, each output compared with ONNX Runtime's.
//
//   QUANTMIX_BIN=build/native/quantmix QM_BUILD_DIR=build/native node --test tests/ops/run_ops.test.mjs
//   node tests/ops/run_ops.test.mjs --engine=ort            # self-check: ORT as the engine, must pass
//   node tests/ops/run_ops.test.mjs --engine=ort --perturb  # self-check: every case must FAIL
//   node tests/ops/run_ops.test.mjs --engine=ort --selfcheck  # both at once: match, and a perturbed copy must not
//   options (or env): --filter=RE (QM_OPS_FILTER), --corpus=DIR (QM_OPS_CORPUS), --jobs=N (QM_OPS_JOBS),
//                     --keep (QM_OPS_KEEP=1: keep the engine outputs of failing cases), --bin=PATH
//
// Exact comparison for integer/bool outputs and value-moving ops; otherwise a named tolerance and
// SQNR >= 80 dB (compare.mjs). A case ORT could not run is skipped with ORT's message (there is no
// oracle for it); every other case must pass. While `quantmix run` is an unknown sub-command the
// test prints "skipped: quantmix run not available yet" and passes; once it exists it cannot skip.
import test from 'node:test';
import assert from 'node:assert/strict';
import { SUPPORTED_OPS } from './op_list.mjs';
import { loadCorpus, ortEngine, parseOptions, probeQuantmixRun, quantmixEngine, runCases, summaryTable } from './harness.mjs';

const opt = parseOptions();
let engine = null;
let blocked = null;  // {skip: message} or {fail: message}
if (opt.engine === 'ort') engine = ortEngine();
else {
  const probe = probeQuantmixRun(opt.bin);
  if (probe.state === 'available') engine = quantmixEngine(opt.bin);
  else if (probe.state === 'unavailable') blocked = { skip: probe.message };
  else blocked = { fail: probe.message };
}

if (blocked?.skip) {
  console.log(blocked.skip);
  test('op oracle', (t) => t.skip(blocked.skip));
} else if (blocked?.fail) {
  test('op oracle: quantmix run is usable', () => assert.fail(blocked.fail));
} else {
  const cases = loadCorpus(opt.corpus);
  const t0 = performance.now();
  const results = await runCases(cases, engine, opt);
  const seconds = (performance.now() - t0) / 1000;
  const ran = results.filter((r) => r.status !== 'skip');
  const mode = opt.perturb === 'both' ? ' [self-check: outputs must match, perturbed copies must not]'
    : opt.perturb ? ' [perturbed outputs: every case must fail]' : '';
  console.log(`op oracle: engine ${engine.name}${mode}, ${results.length} cases in ${seconds.toFixed(1)} s\n` +
    summaryTable(results));
  for (const r of results.filter((x) => x.status === 'skip')) console.log(`skip ${r.name}: ${r.detail}`);

  test('op corpus covers every supported op', () => {
    const covered = new Set(cases.map((c) => c.op));
    assert.deepEqual(SUPPORTED_OPS.filter((op) => !covered.has(op)), []);
  });

  const ops = [...new Set(results.map((r) => r.op))].sort();
  for (const op of ops) {
    test(`${op}`, () => {
      const mine = results.filter((r) => r.op === op && r.status !== 'skip');
      if (opt.perturb === true) {
        // The comparison must notice a perturbed output in every case.
        const blind = mine.filter((r) => r.status === 'pass').map((r) => r.name);
        assert.deepEqual(blind, [], 'perturbed outputs passed the comparison');
      } else {
        const failed = mine.filter((r) => r.status === 'fail');
        assert.equal(failed.length, 0, `${failed.length}/${mine.length} ${op} cases failed:\n` +
          failed.map((r) => `  ${r.name}: ${r.detail}`).join('\n'));
      }
    });
  }
  test('some cases ran', () => assert.ok(ran.length > 0, 'no case ran (filter too narrow?)'));
}
