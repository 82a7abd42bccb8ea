// ONNX's own backend node tests (Debian libonnx-testdata) through `quantmix run`: every
// /usr/share/libonnx-testdata/data/node/test_* whose nodes all use ops of SUPPORTED_OPS (default
// domain). Inputs come from test_data_set_*/input_*.pb (TensorProto, decoded here and written as
// .npy), expected outputs from output_*.pb. tests/ops/allowlist.txt names each skipped case and
// why; a case not in it must pass, and an allow-listed case that passes is reported so its line
// can go (the list only shrinks).
//
//   QUANTMIX_BIN=build/native/quantmix node --test tests/ops/backend_node.test.mjs
//   node tests/ops/backend_node.test.mjs --engine=ort        # the same cases through ONNX Runtime
//   node tests/ops/backend_node.test.mjs --engine=ort --selfcheck  # ... and a perturbed copy must fail
//   node tests/ops/backend_node.test.mjs --suggest-allowlist # print the structural skips found
//   options (or env): --filter=RE (QM_OPS_FILTER), --jobs=N, --keep, --bin=PATH; the test data
//   directory is QM_ONNX_NODE_TESTS (default /usr/share/libonnx-testdata/data/node)
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUPPORTED_OPS } from './op_list.mjs';
import { allNodes, ONNX_TYPE_NAMES, readModel, readTensor } from './onnx_proto.mjs';
import { writeNpy } from './npy.mjs';
import { REPO, mapLimit, ortEngine, parseOptions, probeQuantmixRun, quantmixEngine, runAndCompare, summaryTable } from './harness.mjs';

export const NODE_TESTS = process.env.QM_ONNX_NODE_TESTS || '/usr/share/libonnx-testdata/data/node';
export const ALLOWLIST = join(REPO, 'tests/ops/allowlist.txt');

const ENGINE_TYPES = new Set(['float', 'int64', 'int32', 'bool']);
const QUANT_TYPES = new Set(['uint8', 'int8']);
const QUANT_OPS = new Set(['QuantizeLinear', 'DequantizeLinear']);

/** The backend node tests whose every node is a supported default-domain op. */
export function listCandidates(root = NODE_TESTS) {
  const supported = new Set(SUPPORTED_OPS);
  const out = [];
  for (const name of readdirSync(root).filter((d) => d.startsWith('test_')).sort()) {
    const dir = join(root, name);
    if (!existsSync(join(dir, 'model.onnx'))) continue;
    const model = readModel(join(dir, 'model.onnx'));
    const nodes = allNodes(model.graph);
    if (!nodes.length || !nodes.every((n) => (n.domain === '' || n.domain === 'ai.onnx') && supported.has(n.opType))) continue;
    const inits = new Set(model.graph.initializers);
    const ops = [...new Set(nodes.map((n) => n.opType))];
    out.push({
      name, dir, model, nodes, ops,
      // The op the summary files it under: the op in the test's name, else the first node's.
      op: ops.find((op) => name.replace(/_/g, '').toLowerCase().startsWith(`test${op.toLowerCase()}`)) ?? nodes[0].opType,
      inputs: model.graph.inputs.filter((i) => !inits.has(i.name)),
      outputs: model.graph.outputs,
      datasets: readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort(),
    });
  }
  return out;
}

/** Why a candidate cannot run on a float32 inference engine, or null. Used to suggest allow-list lines. */
export function structuralReason(c) {
  const values = [...c.inputs, ...c.outputs];
  const kinds = [...new Set(values.filter((v) => v.kind !== 'tensor').map((v) => v.kind))];
  if (kinds.length) return `${kinds.join('/')}-typed graph input or output (the engine runs tensors only)`;
  const types = [...new Set(values.map((v) => ONNX_TYPE_NAMES[v.elemType] ?? `type ${v.elemType}`))];
  const foreign = types.filter((t) => !ENGINE_TYPES.has(t) && !QUANT_TYPES.has(t));
  if (foreign.length) return `${foreign.join('/')} tensors (the engine computes in float32, with int32/int64/bool for shapes and indices)`;
  const quant = types.filter((t) => QUANT_TYPES.has(t));
  if (quant.length && !c.ops.every((op) => QUANT_OPS.has(op))) {
    return `${quant.join('/')} tensors outside Quantize/DequantizeLinear (8-bit integers are quantized storage only, not compute types)`;
  }
  for (const n of c.nodes) {
    if (n.opType === 'BatchNormalization' && (n.outputs.length > 1 || n.attributes.some((a) => a.name === 'training_mode' && a.i === 1n))) {
      return 'training-mode BatchNormalization (running statistics update; inference only)';
    }
    if (n.opType === 'Dropout' && n.inputs.length >= 3 && n.inputs[2] !== '') {
      return 'training-mode Dropout (training_mode input: random mask; inference only)';
    }
    if (n.opType === 'MaxPool' && n.outputs.length > 1 && n.outputs[1] !== '') {
      return 'MaxPool Indices output (argmax for unpooling/training; inference uses Y only)';
    }
    const ctm = n.attributes.find((a) => a.name === 'coordinate_transformation_mode')?.s;
    if (n.opType === 'Resize' && (ctm === 'tf_crop_and_resize' || ctm === 'tf_half_pixel_for_nn')) {
      return `Resize coordinate_transformation_mode ${ctm} (outside the engine's Resize scope: half_pixel, asymmetric, align_corners, pytorch_half_pixel)`;
    }
  }
  return null;
}

/** Parses allowlist.txt: `test_name  # reason` per line; '#' lines are comments. */
export function readAllowlist(file = ALLOWLIST) {
  const entries = new Map();
  const problems = [];
  readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(test_[A-Za-z0-9_]+)\s+#\s*(\S.*)$/.exec(line);
    if (!m) { problems.push(`${file}:${i + 1}: expected "test_name  # reason", got ${JSON.stringify(line)}`); return; }
    if (entries.has(m[1])) problems.push(`${file}:${i + 1}: ${m[1]} listed twice`);
    entries.set(m[1], m[2]);
  });
  return { entries, problems };
}

/** Runs one backend test (every data set) through an engine. */
async function runBackendCase(engine, c, opt) {
  const work = mkdtempSync(join(tmpdir(), 'qm-node-'));
  try {
    for (const ds of c.datasets) {
      const dsDir = join(c.dir, ds);
      const inputs = [];
      for (let i = 0; i < c.inputs.length; i++) {
        const pb = join(dsDir, `input_${i}.pb`);
        if (!existsSync(pb)) continue;  // an omitted optional input
        const t = readTensor(pb);
        if (!t.array) return { status: 'fail', detail: `${ds}/input_${i}.pb: ${t.typeName} cannot be given as .npy` };
        const file = join(work, `${ds}_input_${i}.npy`);
        writeNpy(file, t.array);
        inputs.push({ name: c.inputs[i].name, file });
      }
      const outputs = c.outputs.map((o, i) => {
        const t = readTensor(join(dsDir, `output_${i}.pb`));
        if (!t.array) throw new Error(`${ds}/output_${i}.pb: ${t.typeName} has no .npy form`);
        return { name: o.name, expected: t.array, compare: 'onnx_backend' };
      });
      const r = await runAndCompare(engine, { model: join(c.dir, 'model.onnx'), inputs, outputs }, opt);
      if (r.status !== 'pass') return { status: 'fail', detail: `${ds}: ${r.detail}` };
    }
    return { status: 'pass', detail: '' };
  } catch (err) {
    return { status: 'fail', detail: err.message };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const opt = parseOptions();

if (process.argv.includes('--suggest-allowlist')) {
  for (const c of listCandidates()) {
    const why = structuralReason(c);
    if (why) console.log(`${c.name.padEnd(56)} # ${why}`);
  }
} else {
  let engine = null; let blocked = null;
  if (opt.engine === 'ort') engine = ortEngine();
  else {
    const probe = probeQuantmixRun(opt.bin);
    if (probe.state === 'available') engine = quantmixEngine(opt.bin);
    else blocked = probe;
  }
  const candidates = existsSync(NODE_TESTS) ? listCandidates() : [];
  const { entries: allow, problems } = readAllowlist();

  test('backend node tests: test data and allow-list are sound', () => {
    assert.ok(candidates.length > 0, `no backend node tests found in ${NODE_TESTS} (Debian package libonnx-testdata)`);
    const names = new Set(candidates.map((c) => c.name));
    const stale = [...allow.keys()].filter((n) => !names.has(n));
    assert.deepEqual([...problems, ...stale.map((n) => `allowlist.txt: ${n} is not a candidate test (remove it)`)], []);
  });

  if (blocked?.state === 'unavailable') {
    console.log(blocked.message);
    test('backend node tests', (t) => t.skip(blocked.message));
  } else if (blocked) {
    test('backend node tests: quantmix run is usable', () => assert.fail(blocked.message));
  } else {
    const selected = opt.filter ? candidates.filter((c) => opt.filter.test(c.name)) : candidates;
    const t0 = performance.now();
    const results = await mapLimit(selected, engine.name === 'ort' ? 1 : opt.jobs, async (c) => {
      const r = await runBackendCase(engine, c, opt);
      const allowed = allow.get(c.name);
      // pass / fail / allowed (failed, allow-listed) / unexpected (allow-listed but passes)
      const status = allowed ? (r.status === 'pass' ? 'unexpected' : 'allowed') : r.status;
      return { name: c.name, op: c.op, status, detail: allowed && r.status !== 'pass' ? `${allowed} [${r.detail}]` : r.detail };
    });
    console.log(`backend node tests: engine ${engine.name}, ${results.length} of ${candidates.length} candidates in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s (allowlist.txt: ${allow.size} entries)\n` +
      summaryTable(results, { labels: ['passed', 'failed', 'allowed', 'unexp.pass'], keys: ['pass', 'fail', 'allowed', 'unexpected'] }));

    for (const op of [...new Set(results.map((r) => r.op))].sort()) {
      test(op, () => {
        const mine = results.filter((r) => r.op === op);
        const failed = mine.filter((r) => r.status === 'fail');
        // ORT as the engine (self-check) runs types our engine lacks: its allow-listed passes are fine.
        const unexpected = engine.name === 'ort' ? [] : mine.filter((r) => r.status === 'unexpected');
        assert.deepEqual([
          ...failed.map((r) => `FAIL ${r.name}: ${r.detail} (not in allowlist.txt: fix the engine, or add "${r.name}  # reason")`),
          ...unexpected.map((r) => `PASS ${r.name} is allow-listed but passes: remove its line from tests/ops/allowlist.txt`),
        ], []);
      });
    }
  }
}
