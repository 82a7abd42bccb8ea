// `quantmix inspect` against the independent oracle written by tools/make_models.py
// (<model>.expected.json: torch-measured / closed-form MACs, python-onnx parameter count, graph
// inputs and outputs): total and per-layer MACs per sample, params, weight shapes, inputs/outputs,
// opsets, unsupported ops; the text form; dynamic batch with and without --input-shape.
import assert from 'node:assert/strict';
import test from 'node:test';
import { join } from 'node:path';

import { MODELS, corpusIndex, describe, expected, inspectJson, qm, shapeOf } from './helpers.mjs';

const index = corpusIndex();

function checkIo(got, want, what) {
  assert.ok(Array.isArray(got), `${what} is not an array: ${JSON.stringify(got)}`);
  assert.deepEqual(got.map((v) => v.name), want.map((v) => v.name), `${what} names`);
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(shapeOf(got[i]), want[i].shape, `${what} '${want[i].name}' shape`);
    assert.equal(got[i].dtype, want[i].dtype, `${what} '${want[i].name}' dtype`);
  }
}

function checkLayers(got, want) {
  assert.ok(Array.isArray(got), `layers is not an array`);
  const brief = (ls) => ls.map((l) => `${l.name}:${l.op}:${l.macs}`).join('\n');
  assert.equal(got.length, want.length, `layer count\n got:\n${brief(got)}\n want:\n${brief(want)}`);
  const names = new Set();
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    const where = `layer ${i} (${w.name ?? g.name}, ${w.op})`;
    if (w.name === null) {
      // unnamed node: any non-empty name, unique
      assert.ok(typeof g.name === 'string' && g.name.length > 0, `${where}: generated name empty`);
    } else {
      assert.equal(g.name, w.name, `${where}: name`);
    }
    assert.ok(!names.has(g.name), `${where}: duplicate layer name ${g.name}`);
    names.add(g.name);
    assert.equal(g.op, w.op, `${where}: op`);
    assert.equal(g.macs, w.macs, `${where}: MACs`);
    assert.deepEqual(g.weight_shape ?? [], w.weight_shape, `${where}: weight_shape`);
  }
}

for (const name of index.models) {
  const exp = expected(name);
  const model = join(MODELS, exp.file);
  test(`inspect --json ${name}: MACs, layers, params, inputs, outputs`, () => {
    const { json, run } = inspectJson(model);
    assert.equal(run.signal, null);
    // A dynamic batch still gives exact per-sample MACs: src/api/inspect.cpp documents that it
    // infers shapes with the batch set to 1 (and reports "batch": null).
    if (exp.dynamic_batch) assert.equal(json.batch ?? null, null, 'batch of a dynamic-batch model');
    assert.equal(json.macs, exp.macs, `total MACs per sample (${exp.description})`);
    checkLayers(json.layers, exp.layers);
    assert.equal(json.params, exp.params, 'params (float initializer + float Constant elements)');
    checkIo(json.inputs, exp.inputs, 'inputs');
    checkIo(json.outputs, exp.outputs, 'outputs');
    // opsets: {"": 13} or [["", 13]] or [{"domain": "", "version": 13}] all carry the same facts
    const opsets = JSON.stringify(json.opsets);
    for (const [domain, version] of Object.entries(exp.opsets)) {
      assert.ok(opsets.includes(String(version)), `opset ${domain || 'ai.onnx'} ${version} missing in ${opsets}`);
    }
    const unsupported = JSON.stringify(json.unsupported ?? []);
    for (const u of exp.unsupported ?? []) {
      assert.ok(unsupported.includes(u), `unsupported should list ${u}: ${unsupported}`);
    }
    if (!exp.unsupported) assert.deepEqual(json.unsupported ?? [], [], 'no unsupported ops');
  });
}

test('inspect (text) prints the total MACs', () => {
  for (const name of index.models) {
    const exp = expected(name);
    const r = qm(['inspect', join(MODELS, exp.file)]);
    assert.equal(r.status, 0, describe(r));
    // Accept digit grouping with ',', '_', ' ' or a thin space.
    const plain = r.stdout.replace(/(\d)[,_\u2009\u202f ](?=\d{3}\b)/g, '$1');
    assert.ok(plain.includes(String(exp.macs)), `${name}: total ${exp.macs} not in text output:\n${r.stdout}`);
    for (const l of exp.layers) {
      if (l.name) assert.ok(r.stdout.includes(l.name), `${name}: layer ${l.name} not in text output`);
    }
  }
});

test('inspect --input-shape fixes a dynamic batch; MACs stay per sample', () => {
  const name = index.models.find((n) => expected(n).dynamic_batch);
  assert.ok(name, 'the corpus has a dynamic-batch model');
  const exp = expected(name);
  const model = join(MODELS, exp.file);
  const flag = exp.input_shape_flag; // input=1x3x224x224
  const { json } = inspectJson(model, ['--input-shape', flag]);
  assert.equal(json.macs, exp.macs, `with --input-shape ${flag}`);
  checkLayers(json.layers, exp.layers);
  assert.deepEqual(shapeOf(json.inputs[0]), exp.run_inputs[0].shape, 'input shape after --input-shape');
  const batch4 = flag.replace(/=1x/, '=4x');
  const r4 = inspectJson(model, ['--input-shape', batch4]).json;
  assert.equal(r4.macs, exp.macs, `MACs per sample with --input-shape ${batch4}`);
  assert.deepEqual(r4.layers.map((l) => l.macs), exp.layers.map((l) => l.macs), 'per-layer MACs per sample with batch 4');
});

test('inspect --input-shape on a static model with the same shape changes nothing', () => {
  const exp = expected('conv_same_upper');
  const { json } = inspectJson(join(MODELS, exp.file), ['--input-shape', 'x=1x3x17x17']);
  assert.equal(json.macs, exp.macs);
});
