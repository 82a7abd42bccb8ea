// Bad inputs and bad usage (shared/spec/cli.md "Exit status"): every corrupt or invalid model in
// tests/cli/bad_inputs.json gives exit 1 and exactly one stderr line `error: ...` naming the file,
// node or byte offset, never a signal; bad usage (unknown flag, missing argument) gives exit 2.
// An unknown op is not an error for inspect (checked in inspect.test.mjs).
import assert from 'node:assert/strict';
import test from 'node:test';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { MODELS, corpusIndex, describe, mulberry32, qm, shapeOf, tempDir } from './helpers.mjs';
import { arrayType, makeArray, numel, writeNpy } from '../ops/npy.mjs';

const table = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'bad_inputs.json'), 'utf8'));
const index = corpusIndex();
const GOOD = join(MODELS, 'conv_same_upper.onnx');

/** Exit 1, one stderr line starting `error:`, no crash. Returns the line. */
function assertCleanError(r) {
  assert.equal(r.signal, null, `killed by a signal: ${describe(r)}`);
  assert.equal(r.status, 1, `exit status: ${describe(r)}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `stderr must be exactly one line: ${describe(r)}`);
  assert.match(lines[0], /^error: /, `stderr must start with "error: ": ${describe(r)}`);
  return lines[0];
}

test('bad_inputs.json covers every generated bad file', () => {
  const listed = table.cases.map((c) => basename(c.file)).sort();
  assert.deepEqual(listed, [...index.bad].sort());
});

/** A successful --json report must be sane: no negative dimension, MACs >= 0 or null. */
function assertSaneReport(json, what) {
  for (const v of [...(json.inputs ?? []), ...(json.outputs ?? [])]) {
    for (const d of v.shape ?? []) {
      const n = typeof d === 'object' && d !== null ? d.value : d;
      assert.ok(typeof n !== 'number' || n >= 0, `${what}: '${v.name}' has a negative dimension: ${JSON.stringify(v.shape)}`);
    }
  }
  assert.ok(json.macs === null || json.macs >= 0, `${what}: MACs ${json.macs}`);
  for (const l of json.layers ?? []) {
    assert.ok(l.macs === null || l.macs >= 0, `${what}: layer ${l.name} MACs ${l.macs}`);
  }
}

for (const c of table.cases) {
  test(`inspect ${c.file}: ${c.may_succeed ? 'success or ' : ''}one clean error line`, () => {
    for (const extra of [[], ['--json']]) {
      const r = qm(['inspect', join(MODELS, c.file), ...extra]);
      if (c.may_succeed && r.status === 0 && r.signal === null) {
        if (extra.length) assertSaneReport(JSON.parse(r.stdout), c.file);
        continue;
      }
      const line = assertCleanError(r);
      for (const s of c.contains) assert.ok(line.includes(s), `error line lacks "${s}": ${line}`);
      // `matches` look at the line without the file name (cycle.onnx must not satisfy /cycl/)
      const rest = line.split(basename(c.file)).join('');
      for (const m of c.matches) assert.match(rest, new RegExp(m, 'i'), `error line: ${line}`);
      assert.equal(r.stdout.includes('error:'), false, 'the error goes to stderr only');
    }
  });
  test(`convert ${c.file}: ${c.convert === 'error' ? 'one clean error line' : 'no crash'}`, () => {
    const tmp = tempDir();
    try {
      const r = qm(['convert', join(MODELS, c.file), '--out', join(tmp.dir, 'out.onnx')]);
      if (c.convert === 'error' || r.status !== 0) {
        const line = assertCleanError(r);
        if (c.convert === 'error') {
          for (const s of c.contains) assert.ok(line.includes(s), `error line lacks "${s}": ${line}`);
        }
      }
    } finally {
      tmp.cleanup();
    }
  });
}

// npy dtype names of the CLI's inspect dtypes (the inputs a bad model may declare).
const NPY_DTYPE = { float: 'float32', double: 'float64', int64: 'int64', int32: 'int32', uint8: 'uint8', int8: 'int8', bool: 'bool' };

/**
 * Zero inputs for every declared input of a model that inspects (unknown dims = 1), or null
 * when it does not inspect or declares a dtype npy cannot carry here.
 */
function zeroInputs(model, dir) {
  const r = qm(['inspect', model, '--json']);
  if (r.status !== 0) return null;
  const args = [];
  for (const v of JSON.parse(r.stdout).inputs ?? []) {
    const dtype = NPY_DTYPE[v.dtype];
    if (!dtype) return null;
    const shape = (shapeOf(v) ?? [1]).map((d) => (typeof d === 'number' && d >= 0 && d <= 64 ? d : 1));
    const file = join(dir, `${v.name.replace(/[^\w.-]/g, '_')}.npy`);
    writeNpy(file, makeArray(dtype, shape, new (arrayType(dtype))(numel(shape))));
    args.push({ name: v.name, file });
  }
  return args;
}

// Every bad model is also run and quantized (issue 12): a model the reader or the planner
// rejects fails the same clean way; one that loads (a semantic defect such as INT64_MIN / -1 in
// a folded constant, which used to end in SIGFPE) either runs or ends in one error line, never a
// signal or a hang.
for (const c of table.cases) {
  test(`run and quantize --bits W8A8 ${c.file}: success or one clean error line, never a signal`, () => {
    const tmp = tempDir();
    try {
      const model = join(MODELS, c.file);
      const inputs = zeroInputs(model, tmp.dir) ?? [];
      // A model that does not inspect gets a sample file anyway: the model's error comes first.
      const calib = inputs.length ? inputs[0].file : join(tmp.dir, 'sample.npy');
      if (!inputs.length) writeNpy(calib, makeArray('float32', [1], new Float32Array(1)));
      const runs = [
        qm(['run', model, ...inputs.flatMap((i) => ['--input', `${i.name}=${i.file}`]), '--output-dir', join(tmp.dir, 'out')],
          { timeout: 60_000 }),
        qm(['quantize', model, '--calib', calib, '--bits', 'W8A8', '--out', join(tmp.dir, 'q.onnx'), '--quiet'], { timeout: 60_000 }),
      ];
      for (const r of runs) {
        assert.equal(r.signal, null, `killed by a signal (or timed out): ${describe(r)}`);
        if (r.status === 0) continue;
        assertCleanError(r);
      }
    } finally {
      tmp.cleanup();
    }
  });
}

test('a tensor above the memory limit is one error line naming the node, before it is allocated; --max-memory sets the limit', () => {
  const tmp = tempDir();
  try {
    const model = join(MODELS, 'bad/constant_of_shape_1gib.onnx');  // 1 GiB of floats from 200 bytes
    const x = join(tmp.dir, 'x.npy');
    writeNpy(x, makeArray('float32', [1], new Float32Array(1)));
    const cases = [
      [['run', model, '--input', x], / over the memory limit of 512 MiB /],  // the default for a tiny model
      [['quantize', model, '--calib', x, '--bits', 'W8A8', '--out', join(tmp.dir, 'q.onnx'), '--quiet'], / over the memory limit of 1024 MiB /],
      [['run', model, '--input', x, '--max-memory', '64M'], / over the memory limit of 64 MiB /],
    ];
    for (const [args, limit] of cases) {
      const r = qm(args, { timeout: 60_000 });
      assert.equal(r.status, 1, describe(r));
      const line = assertCleanError(r);
      assert.ok(line.includes("node 'constant_of_shape_1gib' (ConstantOfShape)") && line.includes('(1024 MiB)') && limit.test(line), line);
    }
    for (const bad of ['0', 'abc', '-5']) {
      const r = qm(['run', model, '--input', x, '--max-memory', bad]);
      assert.equal(r.status, 2, describe(r));
      assert.match(r.stderr.trim(), /^error: --max-memory/);
    }
  } finally {
    tmp.cleanup();
  }
});

test('external data through a link that points out of the model\'s folder is refused (no read outside it)', () => {
  const tmp = tempDir();
  try {
    const folder = join(tmp.dir, 'model'), outside = join(tmp.dir, 'outside');
    mkdirSync(folder);
    mkdirSync(outside);
    copyFileSync(join(MODELS, 'external_data.onnx'), join(folder, 'external_data.onnx'));
    copyFileSync(join(MODELS, 'external_data.weights'), join(outside, 'external_data.weights'));
    symlinkSync(join(outside, 'external_data.weights'), join(folder, 'external_data.weights'));
    for (const cmd of [['inspect'], ['convert', '--out', join(tmp.dir, 'c.onnx')]]) {
      const line = assertCleanError(qm([cmd[0], join(folder, 'external_data.onnx'), ...cmd.slice(1)]));
      assert.match(line, /outside the model's folder/, line);
    }
    // A link that stays inside the folder is fine.
    mkdirSync(join(folder, 'sub'));
    rmSync(join(folder, 'external_data.weights'));
    copyFileSync(join(MODELS, 'external_data.weights'), join(folder, 'sub', 'w'));
    symlinkSync(join('sub', 'w'), join(folder, 'external_data.weights'));
    assert.equal(qm(['inspect', join(folder, 'external_data.onnx')]).status, 0);
  } finally {
    tmp.cleanup();
  }
});

test('MACs that overflow int64 are not printed as a number', () => {
  // 8 x 1.5e9 x 1.5e9 x 27 MACs in the first layer > 2^63
  const r = qm(['inspect', GOOD, '--json', '--input-shape', 'x=1x3x3000000000x3000000000']);
  assert.equal(r.signal, null, describe(r));
  if (r.status === 1) return void assertCleanError(r);
  assert.equal(r.status, 0, describe(r));
  const json = JSON.parse(r.stdout);
  assert.equal(json.macs, null, 'total MACs overflow int64: must be unknown, not a wrapped number');
  assert.ok(json.layers.every((l) => l.macs === null || l.macs >= 0), 'no negative layer MACs');
});

test('byte mutations and truncations of a valid model never crash', () => {
  // Deterministic sweep over the tiny Gemm model (about 10 KB): every 13th truncation point and
  // 150 random single-byte replacements. Each must exit 0 or give one clean `error:` line.
  const src = readFileSync(join(MODELS, 'gemm.onnx'));
  const tmp = tempDir();
  try {
    const rnd = mulberry32(4242);
    const variants = [];
    for (let cut = 0; cut < src.length; cut += 13) variants.push([`cut${cut}`, src.subarray(0, cut)]);
    for (let i = 0; i < 150; i++) {
      const b = Buffer.from(src);
      const pos = Math.floor(rnd() * b.length);
      b[pos] = Math.floor(rnd() * 256);
      variants.push([`mut${i}_at${pos}`, b]);
    }
    const failures = [];
    for (const [name, bytes] of variants) {
      const f = join(tmp.dir, `${name}.onnx`);
      writeFileSync(f, bytes);
      const r = qm(['inspect', f, '--json']);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      const clean = r.signal === null && (r.status === 0 ||
        (r.status === 1 && lines.length === 1 && lines[0].startsWith('error: ')));
      if (!clean) failures.push(describe(r));
    }
    assert.deepEqual(failures, [], `${failures.length} of ${variants.length} variants crashed or were unclean`);
  } finally {
    tmp.cleanup();
  }
});

test('inspect of a missing file: exit 1 naming the path', () => {
  const path = join(MODELS, 'does_not_exist.onnx');
  const line = assertCleanError(qm(['inspect', path]));
  assert.ok(line.includes('does_not_exist.onnx'), line);
});

test('--input-shape for an input the model does not have: exit 1 naming it', () => {
  const line = assertCleanError(qm(['inspect', GOOD, '--input-shape', 'no_such_input=1x3x17x17']));
  assert.ok(line.includes('no_such_input'), line);
});

test('malformed --input-shape value: exit 1 naming the flag value', () => {
  for (const v of ['x=1xAx17x17', 'x', 'x=', 'x=1x-3x17x17']) {
    const r = qm(['inspect', GOOD, '--input-shape', v]);
    const line = assertCleanError(r);
    assert.ok(line.includes('--input-shape') || line.includes(v), `${v}: ${line}`);
  }
});

const USAGE = [
  [],
  ['frobnicate'],
  ['inspect'],
  ['inspect', GOOD, '--no-such-flag'],
  ['inspect', GOOD, '--input-shape'],
  ['inspect', GOOD, 'extra_positional.onnx'],
  ['convert', GOOD],
  ['convert', GOOD, '--out'],
  ['convert', '--out', '/tmp/x.onnx'],
  ['convert', GOOD, '--out', '/tmp/x.onnx', '--opset', '15'],
  ['convert', GOOD, '--out', '/tmp/x.onnx', '--opset'],
];
for (const args of USAGE) {
  test(`bad usage exits 2: quantmix ${args.join(' ')}`, () => {
    const r = qm(args);
    assert.equal(r.signal, null, describe(r));
    assert.equal(r.status, 2, describe(r));
    assert.ok(r.stderr.trim().length > 0, `bad usage must say something on stderr: ${describe(r)}`);
  });
}
