// web/api/engine.js against a fake module (no wasm needed): result unwrapping, byte normalisation,
// and recovery after a trap. The real module is covered by wasm.test.mjs.
import assert from 'node:assert/strict';
import test from 'node:test';
import { asBytes, Engine, ModelError } from '../../web/api/engine.js';

function fakeFactory(behaviour) {
  let instances = 0;
  const factory = async () => {
    instances += 1;
    return { version: () => '9.9.9', inspect: (...args) => behaviour(instances, ...args) };
  };
  return { factory, count: () => instances };
}

test('engine: ok=true results are parsed, ok=false become ModelError with the kind', async () => {
  const seen = [];
  const { factory } = fakeFactory((n, bytes, name, external, shapes) => {
    seen.push({ bytes, name, external, shapes });
    return name === 'bad.onnx'
      ? { ok: false, kind: 'invalid model', error: "reading 'bad.onnx': byte 3 — truncated", value: '' }
      : { ok: true, kind: '', error: '', value: '{"macs": 42}' };
  });
  const engine = new Engine(factory, {}, await factory());
  assert.equal(engine.version(), '9.9.9');
  assert.deepEqual(await engine.inspect(new ArrayBuffer(4), 'm.onnx', [{ name: 'm.onnx.data', bytes: new Uint16Array(2) }],
    'x=1x3'), { macs: 42 });
  assert.ok(seen[0].bytes instanceof Uint8Array);
  assert.ok(seen[0].external instanceof Map);
  assert.deepEqual([...seen[0].external.keys()], ['m.onnx.data']);
  assert.equal(seen[0].external.get('m.onnx.data').length, 4);
  assert.equal(seen[0].shapes, 'x=1x3');
  await assert.rejects(engine.inspect(new Uint8Array(1), 'bad.onnx'), (e) =>
    e instanceof ModelError && e instanceof Error && e.name === 'ModelError' && e.kind === 'invalid model'
      && e.message === "reading 'bad.onnx': byte 3 — truncated");
});

test('engine: a trap drops the instance and the next call starts a fresh one', async () => {
  const { factory, count } = fakeFactory((n) => {
    if (n === 1) throw new WebAssembly.RuntimeError('unreachable');
    return { ok: true, kind: '', error: '', value: '{"instance": ' + n + '}' };
  });
  const engine = new Engine(factory, {}, await factory());
  await assert.rejects(engine.inspect(new Uint8Array(1), 'm.onnx'),
    (e) => e instanceof ModelError && /crashed: unreachable/.test(e.message) && e.kind === 'internal error');
  assert.equal(engine.module, null);
  assert.deepEqual(await engine.inspect(new Uint8Array(1), 'm.onnx'), { instance: 2 });
  assert.equal(count(), 2);
});

test('engine: asBytes views typed arrays without copying and rejects non-bytes', () => {
  const buf = new ArrayBuffer(16);
  const f32 = new Float32Array(buf, 4, 2);
  const view = asBytes(f32);
  assert.equal(view.buffer, buf);
  assert.equal(view.byteOffset, 4);
  assert.equal(view.length, 8);
  const u8 = new Uint8Array(3);
  assert.equal(asBytes(u8), u8);
  assert.throws(() => asBytes('abc', 'model.onnx'), (e) => e instanceof ModelError && /model\.onnx: expected bytes/.test(e.message));
  assert.throws(() => asBytes(null), ModelError);
});

test('engine: the workspace calls unwrap like the others; a crash bumps the generation', async () => {
  const seen = [];
  let trap = false;
  const factory = async () => ({
    version: () => '9.9.9',
    capabilities: () => '{"quantize": true, "layerBits": true, "run": true, "threads": 1}',
    wsLoad: (bytes, name, external, options) => { seen.push(['wsLoad', bytes, name, external, options]); return { ok: true, value: '{"layers": 3, "quantizers": 6}' }; },
    wsSetSamples: (list, options) => {
      seen.push(['wsSetSamples', list, options]);
      return list.some((s) => s.name === 'bad.npy')
        ? { ok: false, kind: 'invalid argument', error: "sample 'bad.npy': not a .npy file", value: '' }
        : { ok: true, value: `{"count": ${list.length}, "used": ${Math.min(list.length, options.maxSamples ?? 64)}}` };
    },
    wsQuantize: (options, progress) => {
      if (trap) throw new WebAssembly.RuntimeError('unreachable');
      seen.push(['wsQuantize', options, progress?.('evaluate', 1, 2)]);
      return { ok: true, value: '{"selected": {"rel_bops": 0.5}}' };
    },
    wsExport: () => ({ ok: true, value: '{"export": {"bytes": 3}}', model: new Uint8Array([1, 2, 3]), encodings: '{}' }),
  });
  const engine = new Engine(factory, {}, await factory());
  assert.equal(engine.capabilities().workspace, true, 'detected from the module');
  assert.deepEqual(await engine.wsLoad(new ArrayBuffer(2), 'm.onnx', { 'm.onnx.data': new Uint8Array(1) }, { inputShapes: { x: [1, 2] } }),
    { layers: 3, quantizers: 6 });
  assert.ok(seen[0][1] instanceof Uint8Array && seen[0][3] instanceof Map);
  assert.deepEqual(seen[0][4], { inputShapes: { x: [1, 2] } }, 'no threads key unless given');
  assert.deepEqual(await engine.wsSetSamples([{ name: 'a.npy', bytes: new Float32Array(2) }], { maxSamples: 8 }), { count: 1, used: 1 });
  assert.equal(seen[1][1][0].bytes.length, 8);
  await assert.rejects(engine.wsSetSamples([{ name: 'bad.npy', bytes: new Uint8Array(1) }]),
    (e) => e instanceof ModelError && e.kind === 'invalid argument' && /bad\.npy/.test(e.message));
  const progress = [];
  const q = await engine.wsQuantize({ target: 'bops=0.5' }, (...p) => progress.push(p));
  assert.deepEqual(q.report, { selected: { rel_bops: 0.5 } });
  assert.deepEqual(progress, [['evaluate', 1, 2]]);
  assert.equal(seen.at(-1)[2], true, 'the progress callback tells the core to go on');
  const x = await engine.wsExport();
  assert.deepEqual([x.report, x.model, x.encodings], [{ export: { bytes: 3 } }, new Uint8Array([1, 2, 3]), '{}']);
  assert.equal(engine.generation, 1);
  trap = true;
  await assert.rejects(engine.wsQuantize({}), (e) => e instanceof ModelError && e.kind === 'internal error');
  assert.equal(engine.generation, 2, 'the workspace went with the crashed instance');
  assert.equal(engine.module, null);
});

test('engine: a module without the workspace says so in capabilities', async () => {
  const factory = async () => ({ version: () => '1', capabilities: () => '{"quantize": true}' });
  const engine = new Engine(factory, {}, await factory());
  assert.deepEqual(engine.capabilities(), { quantize: true, workspace: false });
});

test('engine: out of memory is one line naming the model size and the limit, and the next call gets a fresh instance', async () => {
  let mode = 'bad_alloc';
  const factory = async () => ({
    version: () => '1',
    capabilities: () => '{"quantize": true, "maxMemoryMiB": 4096}',
    wsLoad: () => {
      if (mode === 'abort') throw new WebAssembly.RuntimeError('Aborted(Cannot enlarge memory arrays to size 4294967296 bytes (OOM))');
      if (mode === 'bad_alloc') {
        return { ok: false, kind: 'out of memory', value: '',
                 error: 'out of memory: the model (3.0 MiB) and its working copies need more than the 4096 MiB this tab can use' };
      }
      return { ok: true, value: '{"layers": 1, "quantizers": 2}' };
    },
  });
  const engine = new Engine(factory, {}, await factory());
  const model = new Uint8Array(3 * 1048576);
  // The core's bad_alloc: its one line as is, and the instance (its heap grown to the limit) goes.
  await assert.rejects(engine.wsLoad(model, 'big.onnx'), (e) => e instanceof ModelError && e.kind === 'out of memory' && /3\.0 MiB/.test(e.message));
  assert.equal(engine.module, null, 'the grown instance is dropped');
  assert.equal(engine.generation, 2);
  // An abort on a failed growth: the engine says what ran out, with the size and the limit.
  mode = 'abort';
  await assert.rejects(engine.wsLoad(model, 'big.onnx', { 'big.onnx.data': new Uint8Array(1048576) }), (e) => e instanceof ModelError &&
    e.kind === 'out of memory' && /^out of memory: the model \(4\.0 MiB\) .* more than the 4096 MiB this tab can use/.test(e.message) &&
    !e.message.includes('\n'));
  assert.equal(engine.generation, 3);
  mode = 'ok';
  assert.deepEqual(await engine.wsLoad(new Uint8Array(10), 'small.onnx'), { layers: 1, quantizers: 2 });
});
