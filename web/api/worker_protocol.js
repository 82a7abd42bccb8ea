// Both ends of the worker protocol (see web/api/worker.js), without touching `self` or `Worker`, so
// node --test drives them with a real engine and a fake channel (tests/js/wasm.test.mjs) or a
// fake engine (tests/js/worker_protocol.test.mjs).
//
// The worker keeps ONE workspace in the wasm module (engine.ws*, /work/notes/ws_contract.md):
// the model is parsed once, the samples decoded once, and the core reuses calibration and the
// search between requests, so choosing a point or a new target costs one evaluation at most.
//
// Requests (page -> worker), each with a numeric `id`:
//   init        {demo?}                         -> ready {version, capabilities}
//   inspect     {file, externalFiles, inputShapes}  (stateless) -> result {value: inspect report}
//   load_model  {file, externalFiles, inputShapes, threads?}  loads the workspace
//                                                -> result {value: inspect report}
//   set_samples {samples: [{name, source?, bytes}], maxSamples?}
//                                                -> result {value: {count, used}}
//   quantize    {options}   search (or reuse) + export
//                                                -> progress* {stage, done, total, message}
//                                                   front* {event} while a search runs (engine.js
//                                                   wsQuantize onFront: the predicted front, then
//                                                   the points phase 2 measures)
//                                                   result {value: {report, model, encodings, samplesUsed, demo}}
//               options.scoreModule: a same-origin module URL exporting score(outputs, sampleIndex);
//               the worker imports it (web/api/score_module.js) and the core gets its `score`
//   evaluate    {options}   options + config/layerBits/target: evaluation only, nothing exported
//                                                -> progress*, result {value: {report, samplesUsed, demo}}
//   export      {options?}  exports the configuration of `options` (the last evaluated one when
//                           omitted; evaluated first when the workspace has not got it)
//                                                -> result {value: {report, model, encodings, samplesUsed, demo}}
//   run         {inputs: [{name, bytes}]}        -> result {value: [{name, dtype, shape, data}]}
// Replies: exactly one 'result'/'ready' or 'error' {message, kind} per request id. Requests are
// handled one at a time, in order (they share the workspace).
import { demoReport, DEMO_PHASES } from './demo_engine.js';
import { ModelError } from './engine.js';
import { loadScoreModule } from './score_module.js';

/** A fresh worker state: the model and samples, and what the module's workspace holds. */
export function newState() {
  return {
    demo: false,
    model: null,     // {file, externalFiles, inputShapes, threads}
    inspect: null,   // its inspect report
    samples: [],     // [{name, source, bytes}], the last list the page set
    maxSamples: null,
    // The module's workspace: the engine generation it was loaded into (null: not loaded), the
    // samples list and cap it holds, and the key of the options its last wsQuantize evaluated.
    ws: { generation: null, samples: null, maxSamples: null, used: null, evaluated: null, evaluatedOptions: null },
    demoLast: null,  // demo mode: the last report
    queue: Promise.resolve(),
  };
}

/** The worker's state. One per worker. */
const moduleState = newState();

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** A canonical text of an options object (sorted keys, typed arrays as arrays) to compare runs. */
export function optionsKey(options) {
  const norm = (v) => {
    if (ArrayBuffer.isView(v)) return Array.from(v);
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => [k, norm(v[k])]));
    }
    return v;
  };
  return JSON.stringify(norm(options ?? {}));
}

/**
 * Worker side: handles one message. `host` = {getEngine: () => Promise<Engine>, post(msg),
 * state?, base (the worker's URL: a scoreModule must be on its origin), importModule?(href)
 * (default: import(); tests map the page's URLs to files)}. Every request gets exactly one 'result' or 'error' reply with its id; nothing throws.
 * Requests run one after the other, even when the next arrives while one awaits.
 */
export function handleMessage(msg, host) {
  const state = host.state ?? moduleState;
  for (const [k, v] of Object.entries(newState())) if (!(k in state)) state[k] = v;
  const done = state.queue.then(() => handleOne(msg, host, state));
  state.queue = done.catch(() => {});  // one failure (a post that threw) must not stop the queue
  return done;
}

async function handleOne(msg, host, state) {
  const id = msg?.id ?? null;
  const progress = (stage, message, extra = {}) => host.post({ type: 'progress', id, stage, message, ...extra });
  const onProgress = (phase, done, total) => progress(phase, `${phase} ${done}/${total}`, { done, total });
  try {
    switch (msg?.type) {
      case 'init': {
        if (msg.demo) state.demo = true;
        const engine = await host.getEngine();
        host.post({ type: 'ready', id, version: engine.version(), capabilities: engine.capabilities?.() ?? {} });
        return;
      }
      case 'inspect':
      case 'load_model': {
        if (!msg.file || !msg.file.bytes) throw new Error(`${msg.type}: no model file in the request`);
        progress('engine', 'Loading the engine…');
        const engine = await host.getEngine();
        progress('inspect', `Reading ${msg.file.name}…`);
        const value = await engine.inspect(msg.file.bytes, msg.file.name, msg.externalFiles ?? null,
          msg.inputShapes ?? '');
        if (msg.type === 'load_model') {
          state.model = { file: msg.file, externalFiles: msg.externalFiles ?? [], inputShapes: msg.inputShapes ?? '',
                          threads: msg.threads };
          state.inspect = value;
          state.samples = [];
          state.demoLast = null;
          state.ws = newState().ws;
          if (!state.demo) {
            // A model that inspects but cannot be planned (an unsupported op, unknown input
            // shapes) still opens: the same error comes back from the first quantize.
            try {
              progress('load', `Planning ${msg.file.name}…`);
              await loadWorkspace(engine, state);
            } catch {
              state.ws = newState().ws;
            }
          }
        }
        host.post({ type: 'result', id, value });
        return;
      }
      case 'set_samples': {
        const list = (msg.samples ?? []).map((s) => ({ name: String(s.name), source: String(s.source ?? s.name), bytes: s.bytes }));
        const maxSamples = msg.maxSamples ?? state.maxSamples;
        let used = Math.min(list.length, maxSamples ?? 64);
        if (!state.demo && list.length && state.ws.generation !== null) {
          // Decoded and checked now, so a bad file is refused when it is added, by name. On an
          // error the workspace's samples are unknown: the next request sets the good list again.
          const engine = await host.getEngine();
          if (engine.generation !== state.ws.generation) await loadWorkspace(engine, state);
          state.ws.samples = null;
          state.ws.evaluated = null;
          used = (await engine.wsSetSamples(list, { maxSamples: maxSamples ?? undefined })).used;
          Object.assign(state.ws, { samples: list, maxSamples: maxSamples ?? null, used });
        }
        state.samples = list;
        state.maxSamples = maxSamples ?? null;
        host.post({ type: 'result', id, value: { count: list.length, used } });
        return;
      }
      case 'quantize':
      case 'evaluate':
      case 'export': {
        if (!state.model) throw new Error(`${msg.type}: open a model first`);
        if (!state.samples.length) throw new Error(`${msg.type}: add at least one calibration sample first`);
        if (state.demo) {
          await demoRequest(msg, state, progress);
          host.post({ type: 'result', id, value: demoValue(msg.type, state) });
          return;
        }
        const engine = await host.getEngine();
        const options = msg.type === 'export' ? (msg.options ?? state.ws.evaluatedOptions) : (msg.options ?? {});
        if (msg.type === 'export' && !options) throw new Error('export: nothing evaluated yet: run quantize first');
        const samplesUsed = await ensureWorkspace(engine, state, options.maxSamples);
        const key = optionsKey(options);
        let report = null;
        if (msg.type !== 'export' || state.ws.evaluated !== key) {
          state.ws.evaluated = null;
          ({ report } = await engine.wsQuantize(await withScore(options, host), onProgress,
            (event) => host.post({ type: 'front', id, event })));
          state.ws.evaluated = key;
          state.ws.evaluatedOptions = options;
        }
        if (msg.type === 'evaluate') {
          host.post({ type: 'result', id, value: { report, samplesUsed, demo: false } });
          return;
        }
        onProgress('export', 0, 1);
        const exported = await engine.wsExport();
        onProgress('export', 1, 1);
        // What this request recomputed is what its evaluation did (the export itself reuses all).
        if (report?.timing_s && exported.report?.timing_s) exported.report.timing_s.reused = report.timing_s.reused;
        host.post({ type: 'result', id, value: { report: exported.report, model: exported.model,
          encodings: exported.encodings, samplesUsed, demo: false } });
        return;
      }
      case 'run': {
        if (!state.model) throw new Error('run: open a model first');
        const engine = await host.getEngine();
        const value = await engine.run({ modelBytes: state.model.file.bytes, fileName: state.model.file.name,
          externalFiles: state.model.externalFiles, inputs: msg.inputs ?? [] });
        host.post({ type: 'result', id, value });
        return;
      }
      default:
        throw new Error(`unknown request type '${msg?.type}'`);
    }
  } catch (e) {
    host.post({ type: 'error', id, message: e?.message ?? String(e), kind: e?.kind ?? 'error' });
  }
}

/**
 * The options the core gets: scoreModule (a URL) replaced by the `score` function it exports.
 * The module is imported once (import() caches it), so the same URL gives the same function and
 * the core keeps its search; another module searches again.
 */
async function withScore(options, host) {
  if (options.scoreModule === undefined || options.scoreModule === null) return options;
  const { scoreModule, ...rest } = options;
  const base = host.base ?? globalThis.location?.href;
  if (!base) throw new Error('scoreModule: no page URL to check it against');
  return { ...rest, score: await loadScoreModule(scoreModule, base, host.importModule) };
}

/** Loads the model into the engine's workspace (which drops its samples and search). */
async function loadWorkspace(engine, state) {
  const m = state.model;
  state.ws = newState().ws;
  await engine.wsLoad(m.file.bytes, m.file.name, m.externalFiles, { inputShapes: m.inputShapes, threads: m.threads });
  state.ws.generation = engine.generation;
}

/**
 * Makes the workspace hold the model and the samples with this cap: loads and sets only what
 * is missing (a module restarted after a crash has nothing; a new cap re-decodes the samples).
 * Returns how many samples the core uses.
 */
async function ensureWorkspace(engine, state, maxSamples) {
  if (state.ws.generation === null || state.ws.generation !== engine.generation) await loadWorkspace(engine, state);
  const cap = maxSamples ?? state.maxSamples ?? null;
  if (state.ws.samples !== state.samples || state.ws.maxSamples !== cap) {
    state.ws.samples = null;
    state.ws.evaluated = null;
    const { used } = await engine.wsSetSamples(state.samples, { maxSamples: cap ?? undefined });
    Object.assign(state.ws, { samples: state.samples, maxSamples: cap, used });
  }
  state.maxSamples = cap;
  return state.ws.used;
}

/** Demo mode: fake progress, made-up numbers (flagged demo: true; see demo_engine.js). */
async function demoRequest(msg, state, progress) {
  if (msg.type === 'export') {
    if (!state.demoLast) throw new Error('export: nothing evaluated yet: run quantize first');
    return;
  }
  const options = msg.options ?? {};
  const phases = msg.type === 'quantize' ? DEMO_PHASES : [['evaluate', 3]];
  for (const [phase, steps] of phases) {
    for (let i = 0; i <= steps; ++i) {
      progress(phase, `${phase} ${i}/${steps}`, { done: i, total: steps });
      await sleep(msg.type === 'quantize' ? 40 : 15);
    }
  }
  state.demoLast = demoReport(state.inspect, options, options.layerBits ?? {});
  if (msg.type === 'evaluate') state.demoLast.timing_s.reused = ['calibration', 'search'];
}

function demoValue(type, state) {
  const report = state.demoLast;
  return type === 'evaluate' ? { report, samplesUsed: null, demo: true }
    : { report, model: null, encodings: null, samplesUsed: null, demo: true };
}

/**
 * An error reply from the worker, as a thrown value on the page side: the engine's own
 * ModelError (one class on both sides of the worker), under the name this module has exported.
 */
export const WorkerError = ModelError;

/**
 * Page side: request/response over a Worker-like object (postMessage + addEventListener).
 * request(type, payload, {onProgress, onFront, transfer}) -> Promise of the 'result'/'ready'
 * message; onProgress gets the 'progress' messages, onFront the 'front' messages' events.
 */
export class WorkerClient {
  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    this.capabilities = {};
    worker.addEventListener('message', (event) => this.onMessage(event.data));
    worker.addEventListener('error', (event) => this.failAll(
      `the engine worker failed: ${event?.message || 'could not start (see the console)'}`));
  }

  request(type, payload = {}, { onProgress = null, onFront = null, transfer = [] } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress, onFront });
      this.worker.postMessage({ type, id, ...payload }, transfer);
    });
  }

  onMessage(msg) {
    const entry = this.pending.get(msg?.id);
    if (!entry) return;
    if (msg.type === 'progress') {
      if (entry.onProgress) entry.onProgress(msg);
      return;
    }
    if (msg.type === 'front') {
      if (entry.onFront) entry.onFront(msg.event);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'error') entry.reject(new ModelError(msg.message, msg.kind));
    else entry.resolve(msg);
  }

  /** Rejects every pending request (the worker died or was terminated). */
  failAll(message, kind = 'internal error') {
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      entry.reject(new ModelError(message, kind));
    }
  }

  /** The engine's version string (capabilities land in this.capabilities). */
  async init(payload = {}) {
    const reply = await this.request('init', payload);
    this.capabilities = reply.capabilities ?? {};
    return reply.version;
  }

  /**
   * Inspects a model in the worker. file: {name, bytes: ArrayBuffer}; externalFiles: [{name, bytes}].
   * The ArrayBuffers are transferred (not copied) to the worker and unusable here afterwards.
   */
  async inspect({ file, externalFiles = [], inputShapes = '' }, onProgress = null) {
    const transfer = [file.bytes, ...externalFiles.map((f) => f.bytes)]
      .filter((b) => b instanceof ArrayBuffer);
    const reply = await this.request('inspect', { file, externalFiles, inputShapes },
      { onProgress, transfer: [...new Set(transfer)] });
    return reply.value;
  }
}
