// The only wrapper around the WebAssembly module (quantmix.mjs, built from wasm/bindings.cpp).
// It loads the module, turns {ok: false} results into a thrown ModelError, normalises typed
// arrays, and restarts the module if it ever traps. Runs in the worker (web/api/worker.js) and in
// node for the tests (pass wasmBinary there: the ES6 build cannot read files under node).

/** A model or argument the engine rejected; `kind` is e.g. "invalid model" or "unsupported". */
export class ModelError extends Error {
  constructor(message, kind = 'error') {
    super(message);
    this.name = 'ModelError';
    this.kind = kind;
  }
}

/** Any bytes-like value as a Uint8Array view (no copy; the one copy happens in the binding). */
export function asBytes(data, what = 'data') {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new ModelError(`${what}: expected bytes (ArrayBuffer or typed array), got ${typeof data}`, 'invalid argument');
}

/** "12.3 MiB" (KiB below 0.1 MiB), as the core's out-of-memory message writes sizes. */
export function sizeText(bytes) {
  return bytes < 0.1 * 1048576 ? `${Math.round(bytes / 1024)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`;
}

/**
 * Whether a JS exception out of the module means memory ran out: an abort on a failed growth
 * ('Cannot enlarge memory arrays', 'OOM'), the browser refusing a larger buffer ('Array buffer
 * allocation failed', 'Maximum memory size exceeded'), or 'Out of memory'.
 */
export function isOutOfMemory(e) {
  return /Cannot enlarge memory|Out of memory|\bOOM\b|Array buffer allocation failed|Maximum memory size|could not allocate memory/i
    .test(String(e?.message ?? e));
}

/** name -> bytes, from a Map, a plain object, or an array of {name, bytes}. */
function externalMap(files) {
  const out = new Map();
  if (!files) return out;
  const entries = files instanceof Map ? files.entries()
    : Array.isArray(files) ? files.map((f) => [f.name, f.bytes]) : Object.entries(files);
  for (const [name, bytes] of entries) out.set(name, asBytes(bytes, `external data file '${name}'`));
  return out;
}

export class Engine {
  /** Use loadEngine(); `factory` is the module's default export, `options` its settings. */
  constructor(factory, options, module) {
    this.factory = factory;
    this.options = options;
    this.module = module;
    // Bumped when the instance is dropped after a crash (the next call starts a new one): the
    // workspace (ws*) lives in the instance, so whoever loaded a model into generation N must
    // load it again in any other.
    this.generation = 1;
    // Bytes of the last model handed to the module (file + external data) and the most its
    // memory may grow to (capabilities().maxMemoryMiB), for the out-of-memory message when the
    // module itself cannot say it (an abort).
    this.modelBytes = 0;
    this.maxMemoryMiB = null;
    try {
      if (module?.capabilities) this.maxMemoryMiB = JSON.parse(module.capabilities()).maxMemoryMiB ?? null;
    } catch {
      // an older module: no limit known
    }
  }

  /** Remembers the size of the model a call works on (for out-of-memory messages). */
  noteModel(bytes, external) {
    this.modelBytes = bytes.length + [...external.values()].reduce((n, b) => n + b.length, 0);
  }

  /** The module's version string. */
  version() {
    return this.call((m) => m.version());
  }

  /**
   * Inspects a model. `inputShapes`: "x=1x3x224x224; y=..." or {x: [1, 3, 224, 224]}.
   * Returns the parsed report object; throws ModelError for anything wrong with the input.
   */
  async inspect(modelBytes, fileName, externalFiles = null, inputShapes = '') {
    const bytes = asBytes(modelBytes, fileName);
    const external = externalMap(externalFiles);
    this.noteModel(bytes, external);
    const result = await this.callAsync((m) => m.inspect(bytes, String(fileName), external,
      inputShapes ?? ''));
    return JSON.parse(this.unwrap(result));
  }

  /**
   * What this build can do: {quantize, layerBits, run, threads, workspace} (workspace: the
   * module has the stateful wsLoad/wsSetSamples/wsQuantize/wsExport calls).
   */
  capabilities() {
    return this.call((m) => ({
      ...(m.capabilities ? JSON.parse(m.capabilities()) : { quantize: false, layerBits: false, run: false }),
      workspace: typeof m.wsLoad === 'function' && typeof m.wsQuantize === 'function',
    }));
  }

  /**
   * Calibrates, searches and exports. samples: [{name, bytes}] (.npy or .npz); inputNames: the
   * model's inputs in order (for .npz); options: see wasm/bindings.cpp quantize(). onProgress
   * (phase, done, total) is called synchronously during the call.
   * Returns {report (object), reportJson, model: Uint8Array, encodings (JSON text), samplesUsed}.
   */
  async quantize({ modelBytes, fileName, externalFiles = null, samples, inputNames, options = {}, onProgress = null }) {
    const bytes = asBytes(modelBytes, fileName);
    const external = externalMap(externalFiles);
    this.noteModel(bytes, external);
    // source: the file the user gave when `name` is what the page made of it (an image it
    // preprocessed into a .npy); the core names that file in its errors.
    const list = (samples ?? []).map((s) => ({ name: String(s.name), ...(s.source ? { source: String(s.source) } : {}),
      bytes: asBytes(s.bytes, s.source ?? s.name) }));
    const result = await this.callAsync((m) => m.quantize(bytes, String(fileName), external, list,
      inputNames ?? [], options, onProgress ? (phase, done, total) => { onProgress(phase, done, total); return true; } : null));
    const reportJson = this.unwrap(result);
    return { report: JSON.parse(reportJson), reportJson, model: result.model, encodings: result.encodings,
             samplesUsed: result.samplesUsed };
  }

  // ---- The workspace: one model, its samples, calibration and search kept in the module
  // between calls (/work/notes/ws_contract.md). Each call replaces or reuses what the previous
  // ones left; a new module instance (after a crash, see `generation`) starts empty.

  /**
   * Parses and plans a model once; drops any previous workspace. options: {inputShapes
   * ("x=1x3x224x224" or {x: [1, 3, 224, 224]}), threads}. Returns {layers, quantizers}.
   */
  async wsLoad(modelBytes, fileName, externalFiles = null, { inputShapes = '', threads } = {}) {
    const bytes = asBytes(modelBytes, fileName);
    const external = externalMap(externalFiles);
    this.noteModel(bytes, external);
    const options = { inputShapes: inputShapes ?? '' };
    if (threads !== undefined && threads !== null) options.threads = threads;
    const result = await this.callAsync((m) => m.wsLoad(bytes, String(fileName), external, options));
    return JSON.parse(this.unwrap(result));
  }

  /**
   * Replaces the workspace's samples: [{name, bytes}] (.npy/.npz), decoded and checked against
   * the model now (an error names the file). options: {maxSamples}. Returns {count, used}.
   */
  async wsSetSamples(samples, { maxSamples } = {}) {
    // source: the file the user gave when `name` is what the page made of it (an image it
    // preprocessed into a .npy); the core names that file in its errors.
    const list = (samples ?? []).map((s) => ({ name: String(s.name), ...(s.source ? { source: String(s.source) } : {}),
      bytes: asBytes(s.bytes, s.source ?? s.name) }));
    const options = {};
    if (maxSamples !== undefined && maxSamples !== null) options.maxSamples = maxSamples;
    const result = await this.callAsync((m) => m.wsSetSamples(list, options));
    return JSON.parse(this.unwrap(result));
  }

  /**
   * Calibrates, searches, selects or evaluates, whichever of these the options need (the core
   * reuses the rest). options: as quantize(), plus config ([candidate per group]) and layerBits.
   * onProgress(phase, done, total) is called synchronously during the call; so is onFront(event)
   * while a search runs: {event: 'front', order, baselines, pareto} when phase 1 has ordered a
   * front (every point predicted), then {event: 'points', order, points, dominated} as phase 2
   * measures them (points as report.json's pareto entries; search_state.js foldFrontEvent). An
   * exception in onFront is logged, never thrown into the core.
   * Returns {report (object, without "export"), reportJson}.
   */
  async wsQuantize(options = {}, onProgress = null, onFront = null) {
    const front = onFront ? (json) => {
      try {
        onFront(JSON.parse(json));
      } catch (e) {
        console.warn(`quantmix: onFront failed: ${e?.message ?? e}`);
      }
    } : null;
    const result = await this.callAsync((m) => m.wsQuantize(options,
      onProgress ? (phase, done, total) => { onProgress(phase, done, total); return true; } : null, front));
    const reportJson = this.unwrap(result);
    return { report: JSON.parse(reportJson), reportJson };
  }

  /**
   * Exports the configuration of the last wsQuantize (its "final", else "selected").
   * Returns {report (with "export"), reportJson, model: Uint8Array, encodings (JSON text)}.
   */
  async wsExport() {
    const result = await this.callAsync((m) => m.wsExport());
    const reportJson = this.unwrap(result);
    return { report: JSON.parse(reportJson), reportJson, model: result.model, encodings: result.encodings };
  }

  /** One FP32 forward pass in our engine. inputs: [{name, bytes (.npy)}] -> [{name, dtype, shape, data}]. */
  async run({ modelBytes, fileName, externalFiles = null, inputs }) {
    const bytes = asBytes(modelBytes, fileName);
    const external = externalMap(externalFiles);
    this.noteModel(bytes, external);
    const list = inputs.map((s) => ({ name: String(s.name), bytes: asBytes(s.bytes, s.name) }));
    const result = await this.callAsync((m) => m.run(bytes, String(fileName), external, list));
    return this.unwrap(result);
  }

  /**
   * {ok: true, value} -> value; ok: false -> ModelError. After 'out of memory' the instance is
   * dropped (as after a trap): its memory has grown to the limit and a wasm memory never
   * shrinks, so only a fresh instance gives it back to the tab; the next call starts one.
   */
  unwrap(result) {
    if (!result.ok) {
      if (result.kind === 'out of memory') this.drop();
      throw new ModelError(result.error || 'unknown error', result.kind || 'error');
    }
    return result.value;
  }

  /** Forgets the instance (and its workspace): the next call starts a fresh one. */
  drop() {
    this.module = null;
    this.generation += 1;
  }

  call(fn) {
    if (!this.module) throw new ModelError('the engine was restarted after a crash: try again', 'internal error');
    try {
      return fn(this.module);
    } catch (e) {
      throw this.crashed(e);
    }
  }

  /** Like call(), but re-instantiates the module first if an earlier call trapped. */
  async callAsync(fn) {
    if (!this.module) this.module = await this.factory({ ...this.options });
    try {
      return fn(this.module);
    } catch (e) {
      throw this.crashed(e);
    }
  }

  /**
   * A trap (WebAssembly.RuntimeError, e.g. out of memory in an abort) leaves the instance
   * unusable: drop it so the next call starts a fresh one, and report the cause readably.
   */
  crashed(e) {
    if (e instanceof ModelError) return e;
    this.drop();
    if (isOutOfMemory(e)) {
      const limit = this.maxMemoryMiB ? `the ${this.maxMemoryMiB} MiB` : 'the memory';
      return new ModelError(`out of memory: the model (${sizeText(this.modelBytes)}) and its working copies need more than ` +
        `${limit} this tab can use (${e?.message ?? e}); the engine has been restarted`, 'out of memory');
    }
    const what = e instanceof WebAssembly.RuntimeError ? 'the WebAssembly engine crashed' : 'internal error';
    return new ModelError(`${what}: ${e?.message ?? e}. The engine has been restarted.`, 'internal error');
  }
}

/**
 * Loads the module. options: {moduleUrl (default ./quantmix.mjs next to this file),
 * wasmBinary (bytes of quantmix.wasm; required under node)}.
 */
export async function loadEngine({ moduleUrl = null, wasmBinary = null } = {}) {
  const url = moduleUrl ?? new URL('../quantmix.mjs', import.meta.url).href;
  const { default: factory } = await import(url);
  const options = wasmBinary ? { wasmBinary } : {};
  // Keep the module's own stdout/stderr out of the page console unless something is wrong.
  options.print = () => {};
  options.printErr = (text) => console.warn(`quantmix: ${text}`);
  const module = await factory({ ...options });
  return new Engine(factory, options, module);
}
