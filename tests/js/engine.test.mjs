// web/engine.js against a fake module (no wasm needed): result unwrapping, byte normalisation,
// and recovery after a trap. The real module is covered by wasm.test.mjs.
import assert from 'node:assert/strict';
import test from 'node:test';
import { asBytes, Engine, ModelError } from '../../web/engine.js';

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
