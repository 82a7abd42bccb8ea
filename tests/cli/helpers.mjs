// Shared helpers for the CLI oracle tests (tests/cli/*.test.mjs, run by `node --test` from ctest
// with QUANTMIX_BIN = the native CLI and QM_BUILD_DIR = its build dir). The model corpus is made by
// tools/make_models.py into $QM_BUILD_DIR/testdata/models (ctest fixture `make_test_models`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.QUANTMIX_BIN || join(SOURCE_DIR, 'build', 'native', 'quantmix');
export const BUILD_DIR = process.env.QM_BUILD_DIR || join(SOURCE_DIR, 'build', 'native');
export const MODELS = join(BUILD_DIR, 'testdata', 'models');

/** Fails early with a clear message when the corpus has not been generated. */
export function corpusIndex() {
  const index = join(MODELS, 'index.json');
  if (!existsSync(index)) {
    throw new Error(`${index} is missing: run /usr/bin/python3 tools/make_models.py --out ${MODELS}`);
  }
  return JSON.parse(readFileSync(index, 'utf8'));
}

export function expected(name) {
  return JSON.parse(readFileSync(join(MODELS, `${name}.expected.json`), 'utf8'));
}

/** Runs the CLI synchronously; never throws. */
export function qm(args, { timeout = 300_000 } = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '',
           error: r.error, cmd: `quantmix ${args.join(' ')}` };
}

/** One-line description of a run for assertion messages. */
export function describe(r) {
  const cut = (s) => (s.length > 1500 ? s.slice(0, 1500) + '…' : s);
  return `${r.cmd}\n  exit=${r.status} signal=${r.signal}${r.error ? ' spawn error=' + r.error.message : ''}` +
    `\n  stderr: ${cut(r.stderr.trim())}\n  stdout: ${cut(r.stdout.trim())}`;
}

/** `quantmix inspect MODEL --json [...]`, parsed; throws with the run described on failure. */
export function inspectJson(model, extra = []) {
  const r = qm(['inspect', model, '--json', ...extra]);
  if (r.status !== 0) throw new Error(`inspect failed: ${describe(r)}`);
  try {
    return { json: JSON.parse(r.stdout), run: r };
  } catch (e) {
    throw new Error(`inspect --json printed invalid JSON (${e.message}): ${describe(r)}`);
  }
}

/** A shape dim from the CLI JSON as a number, a symbol string, or null (unknown). */
export function dimValue(d) {
  if (d === null || d === undefined) return null;
  if (typeof d === 'number' || typeof d === 'string') return d;
  if (typeof d === 'object') {
    if (d.value !== undefined && d.value !== null) return d.value;
    if (d.symbol) return d.symbol;
    return null;
  }
  return d;
}

export function shapeOf(v) {
  if (v.shape === null || v.shape === undefined) return null;
  return v.shape.map(dimValue);
}

/** Deterministic PRNG (mulberry32) and random input tensors. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomFloat32(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const rnd = mulberry32(seed);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rnd() * 2 - 1;
  return data;
}

let ortPromise = null;
/** onnxruntime-web in node: wasm EP, one thread. */
export function ort() {
  if (!ortPromise) {
    ortPromise = import('onnxruntime-web').then((m) => {
      const o = m.default ?? m;
      o.env.wasm.numThreads = 1;
      o.env.logLevel = 'error';
      return o;
    });
  }
  return ortPromise;
}

const TYPED = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, float16: Uint16Array, int32: Int32Array,
  uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
};

/** An ORT tensor from raw little-endian bytes. */
export async function tensorFromBytes(type, dims, bytes) {
  const o = await ort();
  const T = TYPED[type];
  if (!T) throw new Error(`no typed array for ${type}`);
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  return new o.Tensor(type, new T(buf), dims);
}

/** Session options for a model file: external data files beside it are passed by name. */
export function sessionOptions(modelPath, externalFiles = []) {
  const opts = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  if (externalFiles.length) {
    opts.externalData = externalFiles.map((f) => ({
      path: f, data: new Uint8Array(readFileSync(join(dirname(modelPath), f))) }));
  }
  return opts;
}

export async function session(modelPath, externalFiles = []) {
  const o = await ort();
  return o.InferenceSession.create(new Uint8Array(readFileSync(modelPath)),
                                   sessionOptions(modelPath, externalFiles));
}

/** Raw bytes of every output, for bit-exact comparison. */
export function outputBytes(results) {
  const out = {};
  for (const [name, t] of Object.entries(results)) {
    const d = t.data;
    out[name] = {
      type: t.type, dims: [...t.dims],
      bytes: Array.isArray(d) ? Buffer.from(JSON.stringify(d))
        : Buffer.from(d.buffer, d.byteOffset, d.byteLength),
    };
  }
  return out;
}

/** null if identical, else a description of the first difference. */
export function compareOutputs(a, b) {
  const names = Object.keys(a).sort();
  if (JSON.stringify(names) !== JSON.stringify(Object.keys(b).sort())) {
    return `output names ${names} vs ${Object.keys(b).sort()}`;
  }
  for (const n of names) {
    if (a[n].type !== b[n].type) return `${n}: type ${a[n].type} vs ${b[n].type}`;
    if (JSON.stringify(a[n].dims) !== JSON.stringify(b[n].dims)) {
      return `${n}: dims ${a[n].dims} vs ${b[n].dims}`;
    }
    if (!a[n].bytes.equals(b[n].bytes)) {
      let i = 0;
      while (i < a[n].bytes.length && a[n].bytes[i] === b[n].bytes[i]) i++;
      return `${n}: outputs differ (first differing byte ${i} of ${a[n].bytes.length})`;
    }
  }
  return null;
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix = 'qm-cli-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Files beside `modelPath` other than .onnx models (external data written by convert). */
export function sidecarFiles(modelPath) {
  const base = basename(modelPath);
  return readdirSync(dirname(modelPath)).filter((f) => f !== base && !f.endsWith('.onnx'));
}
