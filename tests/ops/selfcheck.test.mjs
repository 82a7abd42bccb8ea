// Self-check of the op oracle harness, runnable before the engine exists: ONNX Runtime stands in
// for the engine, so every case must pass, and with perturbed outputs every case must fail.
// Also: the probe that decides "skip" vs "run" vs "fail" for `quantmix run`, exercised on fake
// binaries, and the real `quantmix run` code path (spawn, --input NAME=FILE, --output-dir, file
// names) through tests/ops/ort_cli.mjs, an ORT-backed stand-in for the binary.
// Needs the corpus (QM_BUILD_DIR/testdata/ops or QM_OPS_CORPUS; ctest's op_corpus fixture).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, SKIP_MESSAGE, parseOptions, probeQuantmixRun } from './harness.mjs';

const HERE = join(REPO, 'tests/ops');
const ORT_CLI = join(HERE, 'ort_cli.mjs');
const corpus = parseOptions([]).corpus;
// A few cases with awkward corners for the CLI path: no inputs, bool/int outputs, empty tensors,
// multiple outputs, a name that needs sanitizing, an IR 3 model with initializers as inputs.
const CLI_CASES = '^(Conv_k3_bias_o1|Constant_value_ints_o13|Equal_bool_o13|Reshape_allowzero_empty_o14|' +
  'Split_num_outputs_uneven_o18|Identity_output_name_sanitized_o13|DequantizeLinear_int16_per_tensor_o21)$';

function node(args, env = {}) {
  // Run the test file as a plain script: without NODE_TEST_CONTEXT (set by `node --test` for its
  // children) it reports in TAP on stdout and sets its exit status.
  const childEnv = { ...process.env, QM_OPS_CORPUS: corpus, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: REPO, timeout: 600_000, env: childEnv });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

function fakeBin(dir, name, script) {
  const f = join(dir, name);
  writeFileSync(f, `#!/bin/sh\n${script}\n`);
  chmodSync(f, 0o755);
  return f;
}

test('probe: skip only when the CLI says `run` is unknown; anything else runs or fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-probe-'));
  try {
    const cases = [
      ['unknown', `echo "error: unknown command 'run' (see quantmix --help)" >&2; exit 2`, 'unavailable'],
      ['not_available', `echo "error: 'run' is not available in this version (see quantmix --help)" >&2; exit 2`, 'unavailable'],
      ['usage', 'echo "usage: quantmix run MODEL.onnx --input [NAME=]FILE ... [--output-dir DIR]"; exit 0', 'available'],
      // `run` exists but rejects --help: that must not look like "not implemented".
      ['unknown_flag', `echo "error: unknown flag '--help'" >&2; exit 2`, 'broken'],
      ['placeholder', 'echo quantmix; exit 0', 'broken'],
      ['crash', 'kill -SEGV $$', 'broken'],
      ['bad_input', 'echo "error: run: no model given" >&2; exit 1', 'broken'],
    ];
    for (const [name, script, want] of cases) {
      assert.equal(probeQuantmixRun(fakeBin(dir, name, script)).state, want, name);
    }
    assert.equal(probeQuantmixRun(join(dir, 'missing')).state, 'broken');
    assert.equal(probeQuantmixRun(ORT_CLI).state, 'available');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run_ops: prints the skip line and passes while run is unknown; fails on a placeholder binary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qm-probe-'));
  try {
    const skip = node([join(HERE, 'run_ops.test.mjs')],
      { QUANTMIX_BIN: fakeBin(dir, 'q', `echo "error: unknown command '$1'" >&2; exit 2`) });
    assert.equal(skip.status, 0, skip.out);
    assert.ok(skip.out.includes(SKIP_MESSAGE), skip.out);
    const broken = node([join(HERE, 'run_ops.test.mjs')], { QUANTMIX_BIN: fakeBin(dir, 'p', 'echo quantmix; exit 0') });
    assert.notEqual(broken.status, 0, broken.out);
    assert.match(broken.out, /does not mention --output-dir/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('op oracle with ORT as the engine: every case matches, and a perturbed copy of every output fails', () => {
  const r = node([join(HERE, 'run_ops.test.mjs'), '--engine=ort', '--selfcheck']);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /TOTAL\s+\d+\s+0\s+\d+/);
});

test('op oracle through the quantmix run contract (ORT-backed stand-in binary)', () => {
  const ok = node([join(HERE, 'run_ops.test.mjs'), `--filter=${CLI_CASES}`, '--jobs=2'], { QUANTMIX_BIN: ORT_CLI });
  assert.equal(ok.status, 0, ok.out);
  assert.match(ok.out, /TOTAL\s+7\s+0\s+0/);
  // A wrong output written by the binary must fail the test run.
  const bad = node([join(HERE, 'run_ops.test.mjs'), '--filter=^(Identity_output_name_sanitized_o13|Range_int64_o11)$',
    '--jobs=2'], { QUANTMIX_BIN: ORT_CLI, QM_FAKE_PERTURB: '1' });
  assert.notEqual(bad.status, 0, bad.out);
  assert.match(bad.out, /TOTAL\s+0\s+2\s+0/);
  assert.match(bad.out, /Identity_output_name_sanitized_o13: output 'out\/0:x y': 1\/3 elements differ/);
});

test('backend node tests with ORT as the engine: every candidate outside the allow-list passes, perturbed copies fail', () => {
  const r = node([join(HERE, 'backend_node.test.mjs'), '--engine=ort', '--selfcheck']);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /TOTAL\s+\d+\s+0\s+\d+\s+\d+/);
});
