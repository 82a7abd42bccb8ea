// The bad-model corpus (tools/modelgen/bad_models.py, the files the CLI tests inspect, convert,
// run and quantize) through the wasm module under node, as the app's worker drives it: load into
// the workspace, set a zero sample, quantize W8A8, export, and one plain run. Every call must
// resolve or reject with a one-line ModelError of a known kind: never a trap (the engine then
// restarts its module and says "internal error"), never a hang.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadEngine, ModelError } from '../../web/api/engine.js';
import { encodeNpy } from '../../web/api/npy.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = process.env.QM_WEB_DIR ?? join(ROOT, 'build', 'wasm', 'web');
const built = existsSync(join(WEB_DIR, 'quantmix.mjs'));
const skip = !built && !process.env.QM_WEB_DIR && process.env.CI !== 'true' ? 'the wasm module is not built (set QM_WEB_DIR)' : false;
const KINDS = ['invalid model', 'unsupported', 'invalid argument', 'i/o'];

/** Generates the corpus into a temporary folder with the project's generator. */
function makeCorpus() {
  const dir = mkdtempSync(join(tmpdir(), 'qm-bad-wasm-'));
  const r = spawnSync('/usr/bin/python3', ['-c',
    `import sys; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'tools'))}); from modelgen import bad_models; bad_models.make_all(${JSON.stringify(dir)}, lambda *a: None)`],
  { encoding: 'utf8' });
  assert.equal(r.status, 0, `bad_models.py failed: ${r.stderr}`);
  return dir;
}

/** Resolves to 'ok' or the rejection; anything but a clean ModelError fails the test. */
async function settle(what, promise) {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof ModelError, `${what}: not a ModelError: ${e?.stack ?? e}`);
    assert.ok(KINDS.includes(e.kind), `${what}: kind '${e.kind}' (a trap or an escaped exception): ${e.message}`);
    assert.ok(!e.message.includes('\n'), `${what}: the message is one line: ${e.message}`);
    return e;
  }
}

test('wasm: every bad model loads, quantizes, exports and runs or ends in a clean error, no trap', { skip, timeout: 600_000 }, async () => {
  const dir = makeCorpus();
  try {
    const engine = await loadEngine({ moduleUrl: pathToFileURL(join(WEB_DIR, 'quantmix.mjs')).href,
      wasmBinary: readFileSync(join(WEB_DIR, 'quantmix.wasm')) });
    const files = readdirSync(join(dir, 'bad')).filter((f) => f.endsWith('.onnx')).sort();
    assert.ok(files.length >= 30, `the corpus has ${files.length} models`);
    const instance = engine.module;
    const tally = { files: files.length, loaded: 0, quantized: 0, ran: 0 };
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(join(dir, 'bad', f)));
      const loaded = await settle(`${f}: wsLoad`, engine.wsLoad(bytes, f));
      if (f === 'constant_of_shape_1gib.onnx') {  // 1 GiB from 200 bytes: refused before it is allocated
        assert.match(loaded?.message ?? '', /node 'constant_of_shape_1gib' \(ConstantOfShape\): .*\(1024 MiB\).* over the memory limit of 1024 MiB/);
      }
      if (loaded !== 'ok') continue;
      ++tally.loaded;
      // One zero sample for a model with one float input of a known shape.
      let inspect = null;
      try { inspect = await engine.inspect(bytes, f); } catch { /* the load said enough */ }
      const input = inspect?.inputs?.length === 1 && inspect.inputs[0].dtype === 'float' ? inspect.inputs[0] : null;
      const shape = input?.shape?.map((d) => (typeof d === 'number' && d >= 0 && d <= 64 ? d : 1)) ?? [1];
      const npy = encodeNpy(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
      await settle(`${f}: wsSetSamples`, engine.wsSetSamples([{ name: 'zero.npy', bytes: npy }], {}));
      if (await settle(`${f}: wsQuantize W8A8`, engine.wsQuantize({ bits: 'W8A8' })) === 'ok') {
        ++tally.quantized;
        await settle(`${f}: wsExport`, engine.wsExport());
      }
      if (input && await settle(`${f}: run`, engine.run({ modelBytes: bytes, fileName: f, inputs: [{ name: input.name, bytes: npy }] })) === 'ok') ++tally.ran;
      assert.equal(engine.module, instance, `${f}: the module was restarted (it trapped)`);
    }
    console.log(`  bad models in wasm: ${JSON.stringify(tally)} (the rest ended in clean errors)`);
    assert.ok(tally.loaded > 0, 'some bad models load (their defects are semantic) and go further');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
