// Models with If / Loop in the middle (a branch reading the graph input too) (tools/modelgen/control_flow_models.py): `run` matches ONNX
// Runtime on the float model (both branches of a data-dependent If), `inspect` lists the layers
// inside the subgraphs, and `quantize --bits W8A8` quantizes the layers of the main graph and of
// the subgraphs alike into an export that keeps the control-flow node, with the subgraph layer's
// integer weight + DequantizeLinear and the activations' Q/DQ inside the subgraph, and that ORT
// loads and runs at its 'disabled' and default levels, agreeing with the simulation.
//
//   QUANTMIX_BIN=build/native/quantmix QM_BUILD_DIR=build/native node --test tests/cli/control_flow.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS, describe, inspectJson, mulberry32, qm } from './helpers.mjs';
import { makeArray, readNpy, writeNpy } from '../ops/npy.mjs';
import { loadOrt, ortMessage } from '../ops/ort_engine.mjs';
import { sqnrDb } from '../ops/compare.mjs';
import { allNodes, readModel } from '../ops/onnx_proto.mjs';

const SHAPE = [1, 3, 8, 8];
/** Float engine vs ORT on the float model. */
const MIN_FLOAT_DB = 100;
/** ORT on the export vs the simulation (level disabled), and at ORT's default level. */
const MIN_AGREEMENT_DB = 50;
const MIN_ORT_DEFAULT_DB = 25;
/** W8A8 export vs the float model (ORT on both). */
const MIN_VS_FLOAT_DB = 20;

function input(seed, sign = 0, shape = SHAPE) {
  const n = shape.reduce((a, b) => a * b, 1);
  const rnd = mulberry32(seed);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = (rnd() + rnd() + rnd() - 1.5) * 2;
    data[i] = sign === 0 ? v : sign * Math.abs(v);
  }
  return makeArray('float32', shape, data);
}

async function runOrt(model, x, level) {
  const ort = await loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(readFileSync(model), {
      executionProviders: ['wasm'], graphOptimizationLevel: level, logSeverityLevel: 3,
    });
  } catch (err) {
    throw new Error(`ORT (${level}) cannot load ${model}: ${ortMessage(err)}`);
  }
  try {
    const r = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) });
    return { dtype: 'float32', shape: [...r.y.dims], data: r.y.data };
  } finally {
    await session.release?.();
  }
}

function db(a, b) {
  assert.deepEqual(a.shape, b.shape, 'output shape');
  return sqnrDb(Array.from(a.data, Number), Array.from(b.data, Number));
}

/** Runs `quantmix run` on `model` with input x (and encodings, if given); returns y. */
function runOurs(dir, tag, model, xFile, extra = []) {
  const out = join(dir, `out_${tag}`);
  const r = qm(['run', model, '--input', `x=${xFile}`, '--output-dir', out, '--threads', '1', ...extra]);
  assert.equal(r.status, 0, describe(r));
  return readNpy(join(out, 'y.npy'));
}

const CONV = (w) => 8 * 8 * w.reduce((a, b) => a * b, 1);
const CASES = [
  { name: 'if_const_cond', layer: 'branch/then_branch/branch_conv', weight: [4, 4, 3, 3] },
  { name: 'if_data_cond', layer: 'branch/then_branch/branch_conv', weight: [4, 4, 3, 3] },
  // The branch reads the graph input x: the export's subgraph must read x's quantized copy.
  { name: 'if_reads_input', layer: 'branch/then_branch/branch_conv', weight: [4, 3, 3, 3] },
  // Its input is the Loop's state (h, then the body's output): no one grid, so no input quantizer.
  { name: 'loop_conv', layer: 'loop/body/body_conv', weight: [4, 4, 3, 3], noInputGrid: true },
  // A layer two subgraphs deep (an If inside the Loop's body), its weight in the inner branch.
  { name: 'loop_if_nested', layer: 'loop/body/parity/then_branch/nested_conv', weight: [4, 4, 3, 3], noInputGrid: true },
  // An RNN step in a Scan body: MatMul layers whose weights are the body's initializers; rnn_in
  // reads the scanned tensor's slices, which keep its grid.
  { name: 'scan_rnn', layer: 'rnn/body/rnn_in', weight: [4, 8], macs: 32 },
  // Opset 11: per-channel weights need com.microsoft DequantizeLinear, inside the branch too.
  { name: 'if_data_cond_op11', layer: 'branch/then_branch/branch_conv', weight: [4, 4, 3, 3] },
  // Both branches name their weight 'wt', their layer 'branch_conv' and their output 't': the
  // encodings JSON keeps both, the second under its path.
  { name: 'if_same_names', layer: 'branch/else_branch/branch_conv', weight: [4, 4, 3, 3],
    jsonKeys: ['wt', 'branch/else_branch/wt', 't', 'branch/else_branch/t'] },
  // Three unnamed Convs in a branch: the engine names them Conv_0, Conv_2, Conv_3 (op, index).
  // (The file has no names to find it by: the test finds it as the Conv reading 't3'.)
  { name: 'if_unnamed_nodes', layer: 'branch/then_branch/Conv_3', weight: [4, 4, 3, 3], reads: 't3' },
  // The branch's Conv weight comes from a Constant node: quantized, and the Constant dropped.
  { name: 'if_constant_weight', layer: 'branch/then_branch/branch_conv', weight: [4, 4, 3, 3] },
  // A torch.jit.script export (Conv1d -> LSTM -> If with a Linear head in each branch): node names
  // hold '/', the heads' weights are main-graph initializers read inside the branches.
  { name: 'vad_if_lstm', layer: '/If/then_branch//speech/Gemm', weight: [2, 32], macs: 64, shape: [1, 1, 400], main: '/conv/Conv',
    node: '/speech/Gemm' },
];
/** Configurations exported for every model; the summary shows the subgraph layer at these bits. */
const BITS = [['W8A8', 8, 8], ['W4A8', 4, 8], ['W8A16', 8, 16], ['W4b16A8', 4, 8, '4b16']];

for (const { name, layer, weight, macs, noInputGrid, shape = SHAPE, main = 'conv1', node, reads, jsonKeys = [] } of CASES) {
  test(`control flow ${name}: run matches ORT, inspect sees the subgraph layer, W8A8/W4A8/W8A16/W4b16A8 exports run in ORT`, async (t) => {
    const model = join(MODELS, 'control_flow', `${name}.onnx`);
    assert.ok(existsSync(model), `${model} missing: run tools/make_models.py`);
    const dir = mkdtempSync(join(tmpdir(), `qm-cf-${name}-`));
    try {
      // Inputs with a positive and a negative mean: if_data_cond takes both branches.
      const xs = [input(700, 1, shape), input(701, -1, shape), input(702, 0, shape)];
      const files = xs.map((x, i) => {
        const f = join(dir, `x${i}.npy`);
        writeNpy(f, x);
        return f;
      });
      const floats = [];
      for (let i = 0; i < xs.length; i++) {
        const theirs = await runOrt(model, xs[i], 'disabled');
        floats.push(theirs);
        const d = db(runOurs(dir, `float${i}`, model, files[i]), theirs);
        assert.ok(d >= MIN_FLOAT_DB, `${name} input ${i}: float run vs ORT ${d.toFixed(1)} dB`);
      }

      const info = inspectJson(model).json;
      const sub = info.layers.find((l) => l.name === layer);
      assert.ok(sub, `inspect lists ${layer}: ${JSON.stringify(info.layers.map((l) => l.name))}`);
      assert.equal(sub.macs, macs ?? CONV(weight), `${layer} MACs`);
      assert.deepEqual(sub.weight_shape, weight);

      for (const [bits, wBits, aBits, wShown = wBits] of BITS) {
        const out = join(dir, `q_${bits}.onnx`), enc = join(dir, `enc_${bits}.json`);
        const r = qm(['quantize', model, '--calib', ...files, '--bits', bits, '--out', out, '--encodings', enc,
                      '--threads', '1', '--quiet']);
        assert.equal(r.status, 0, describe(r));
        assert.match(r.stdout, new RegExp(`config=${bits} `));
        // The subgraph's layer is quantized like the main graph's, at the configuration's weight bits.
        assert.ok(r.stdout.includes(main), r.stdout);
        assert.match(r.stdout, new RegExp(`${layer}\\s+\\w+\\s+[0-9.]+%\\s+${wShown}\\s+${noInputGrid ? 0 : aBits}\\s`), r.stdout);
        const before = readModel(model), after = readModel(out);
        const cf = (m) => m.graph.nodes.filter((n) => ['If', 'Loop', 'Scan'].includes(n.opType));
        assert.equal(cf(after).length, 1, 'the export keeps the control-flow node');
        const inner = (m) => cf(m)[0].subgraphs.flatMap(allNodes);
        const layerName = node ?? layer.split('/').pop();
        const isLayer = (n) => (reads ? n.opType === 'Conv' && n.inputs[0] === reads : n.name === layerName);
        const lq = inner(after).find(isLayer);
        const weightName = inner(before).find(isLayer).inputs[1];
        assert.ok(lq, `the subgraph keeps ${layerName}`);
        // (Blocked scales: DequantizeLinear with block_size, then a Reshape back to the Conv's shape.)
        const producer = (v) => inner(after).find((n) => n.outputs.includes(v));
        let w = producer(lq.inputs[1]);
        if (w?.opType === 'Reshape') w = producer(w.inputs[0]);
        const dq = w?.opType === 'DequantizeLinear' ? w : null;
        if (dq && wShown !== wBits) assert.ok(dq.attributes.some((a) => a.name === 'block_size'), 'blocked DequantizeLinear');
        assert.ok(dq, `${layerName} reads its weight from a DequantizeLinear in the subgraph: ${JSON.stringify(lq.inputs)}`);
        assert.ok(inner(after).some((n) => n.opType === 'QuantizeLinear'), 'an activation inside the subgraph is quantized');
        assert.equal(inner(before).filter((n) => n.opType === 'QuantizeLinear').length, 0);
        assert.ok(!inner(after).some((n) => n.opType === 'Constant' && n.outputs[0] === weightName),
                  'a Constant that held the weight is gone');
        assert.ok(after.graph.nodes.some((n) => n.opType === 'QuantizeLinear'), 'main graph quantized');
        const encJson = JSON.parse(readFileSync(enc, 'utf8'));
        assert.equal(encJson.param_encodings[weightName]?.[0]?.bitwidth, wBits, `the encodings JSON holds ${weightName}`);
        assert.ok(Object.values(encJson.activation_encodings).every((e) => e[0].bitwidth === aBits));
        for (const k of jsonKeys)
          assert.ok(encJson.param_encodings[k] || encJson.activation_encodings[k], `the encodings JSON has '${k}'`);

        for (let i = 0; i < xs.length; i++) {
          const sim = runOurs(dir, `sim${bits}_${i}`, model, files[i], ['--encodings', enc]);
          const disabled = await runOrt(out, xs[i], 'disabled');
          const all = await runOrt(out, xs[i], 'all');
          const dSim = db(sim, disabled), dAll = db(sim, all), dFloat = db(floats[i], disabled);
          t.diagnostic(`${name} ${bits} input ${i}: ORT(disabled) vs sim ${dSim.toFixed(1)} dB, ORT(all) vs sim ${dAll.toFixed(1)} dB, ` +
                       `vs float ${dFloat.toFixed(1)} dB`);
          assert.ok(dSim >= MIN_AGREEMENT_DB, `${name} ${bits} input ${i}: ORT(disabled) vs simulation ${dSim.toFixed(1)} dB`);
          assert.ok(dAll >= MIN_ORT_DEFAULT_DB, `${name} ${bits} input ${i}: ORT(all) vs simulation ${dAll.toFixed(1)} dB`);
          if (wBits > 4)
            assert.ok(dFloat >= MIN_VS_FLOAT_DB, `${name} ${bits} input ${i}: export vs float ${dFloat.toFixed(1)} dB`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// The mixed-precision search over groups that include subgraph layers: the selection exports, ORT
// loads it at both levels and agrees with the simulation.
for (const name of ['loop_if_nested', 'scan_rnn']) {
  test(`control flow ${name}: the search mixes bits inside the subgraph and the export matches ORT`, async (t) => {
    const model = join(MODELS, 'control_flow', `${name}.onnx`);
    const dir = mkdtempSync(join(tmpdir(), `qm-cfs-${name}-`));
    try {
      const xs = [input(710, 1), input(711, -1), input(712)];
      const files = xs.map((x, i) => {
        const f = join(dir, `x${i}.npy`);
        writeNpy(f, x);
        return f;
      });
      const out = join(dir, 'q.onnx'), enc = join(dir, 'enc.json'), rep = join(dir, 'r.json');
      const r = qm(['quantize', model, '--calib', ...files, '--candidates', 'W4A8,W8A8,W8A16', '--target', 'bops=0.7',
                    '--out', out, '--encodings', enc, '--report', rep, '--threads', '1', '--quiet']);
      assert.equal(r.status, 0, describe(r));
      const report = JSON.parse(readFileSync(rep, 'utf8'));
      const inner = report.groups.filter((g) => g.layers.some((l) => l.includes('/body/')));
      assert.ok(inner.length >= 1, `a search group holds a subgraph layer: ${JSON.stringify(report.groups.map((g) => g.layers))}`);
      assert.ok(inner.every((g) => g.sensitivity_db && Object.keys(g.sensitivity_db).length >= 1), 'phase 1 measured them');
      assert.ok(report.selected.rel_bops <= 0.7 + 1e-9);
      for (let i = 0; i < xs.length; i++) {
        const sim = runOurs(dir, `sim${i}`, model, files[i], ['--encodings', enc]);
        for (const level of ['disabled', 'all']) {
          const d = db(sim, await runOrt(out, xs[i], level));
          t.diagnostic(`${name} input ${i}: ORT(${level}) vs sim ${d.toFixed(1)} dB`);
          assert.ok(d >= (level === 'disabled' ? MIN_AGREEMENT_DB : MIN_ORT_DEFAULT_DB), `${name} input ${i}: ORT(${level}) vs simulation ${d.toFixed(1)} dB`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
