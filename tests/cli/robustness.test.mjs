// `quantmix inspect` on every model of the ONNX backend test data (libonnx-testdata: node/,
// pytorch-converted/, pytorch-operator/, simple/): all are valid ONNX, so each must succeed
// (unsupported ops are listed, not fatal: shared/spec/cli.md) with a sane report.
import assert from 'node:assert/strict';
import test from 'node:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, qm } from './helpers.mjs';

const TESTDATA = '/usr/share/libonnx-testdata/data';
const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];

test('inspect succeeds on every libonnx-testdata model', () => {
  const failures = [];
  let n = 0;
  for (const suite of SUITES) {
    const dir = join(TESTDATA, suite);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const model = join(dir, name, 'model.onnx');
      if (!existsSync(model)) continue;
      n++;
      const r = qm(['inspect', model, '--json']);
      if (r.status !== 0 || r.signal !== null) {
        failures.push(describe(r));
        continue;
      }
      const json = JSON.parse(r.stdout);
      const neg = [...json.inputs, ...json.outputs].some((v) =>
        (v.shape ?? []).some((d) => typeof d === 'number' && d < 0));
      if (neg || (json.macs !== null && json.macs < 0)) failures.push(`${suite}/${name}: insane report ${r.stdout.slice(0, 400)}`);
    }
  }
  console.log(`inspected ${n} libonnx-testdata models`);
  assert.ok(n >= 1000, `only ${n} models found under ${TESTDATA}`);
  assert.deepEqual(failures, [], `${failures.length} of ${n} failed`);
});
