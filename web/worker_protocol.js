// Both ends of the worker protocol (see web/worker.js), without touching `self` or `Worker`, so
// node --test drives them with a real engine and a fake channel (tests/js/wasm.test.mjs).
//
// Requests (page -> worker), each with a numeric `id`:
//   init        {demo?}                         -> ready {version, capabilities}
//   inspect     {file, externalFiles, inputShapes}  (stateless) -> result {value: inspect report}
//   load_model  {file, externalFiles, inputShapes}  (kept for quantize) -> result {value: inspect report}
//   set_samples {samples: [{name, bytes}]}       -> result {value: {count}}
//   quantize    {options}                        -> progress* {stage, done, total, message}
//                                                   result {value: {report, model, encodings, demo}}
//   run         {inputs: [{name, bytes}]}        -> result {value: [{name, dtype, shape, data}]}
// Replies: exactly one 'result'/'ready' or 'error' {message, kind} per request id.
import { demoReport, DEMO_PHASES } from './demo_engine.js';

/** The worker's state: the model and samples quantize works on. One per worker. */
const moduleState = { demo: false, model: null, inspect: null, samples: [] };

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Worker side: handles one message. `host` = {getEngine: () => Promise<Engine>, post(msg),
 * state?}. Every request gets exactly one 'result' or 'error' reply with its id; nothing throws.
 */
export async function handleMessage(msg, host) {
  const id = msg?.id ?? null;
  const state = host.state ?? moduleState;
  const progress = (stage, message, extra = {}) => host.post({ type: 'progress', id, stage, message, ...extra });
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
          state.model = { file: msg.file, externalFiles: msg.externalFiles ?? [], inputShapes: msg.inputShapes ?? '' };
          state.inspect = value;
          state.samples = [];
        }
        host.post({ type: 'result', id, value });
        return;
      }
      case 'set_samples': {
        state.samples = (msg.samples ?? []).map((s) => ({ name: String(s.name), source: String(s.source ?? s.name), bytes: s.bytes }));
        host.post({ type: 'result', id, value: { count: state.samples.length } });
        return;
      }
      case 'quantize': {
        if (!state.model) throw new Error('quantize: open a model first');
        if (!state.samples.length) throw new Error('quantize: add at least one calibration sample first');
        const options = msg.options ?? {};
        if (state.demo) {
          // Demo mode: fake progress, made-up numbers (flagged demo: true; see demo_engine.js).
          for (const [phase, steps] of DEMO_PHASES) {
            for (let i = 0; i <= steps; ++i) {
              progress(phase, `${phase} ${i}/${steps}`, { done: i, total: steps });
              await sleep(40);
            }
          }
          const report = demoReport(state.inspect, options, options.layerBits ?? {});
          host.post({ type: 'result', id, value: { report, model: null, encodings: null, demo: true } });
          return;
        }
        const engine = await host.getEngine();
        const value = await engine.quantize({
          modelBytes: state.model.file.bytes, fileName: state.model.file.name,
          externalFiles: state.model.externalFiles, samples: state.samples,
          inputNames: (state.inspect?.inputs ?? []).map((i) => i.name),
          options: { inputShapes: state.model.inputShapes, ...options },
          onProgress: (phase, done, total) => progress(phase, `${phase} ${done}/${total}`, { done, total }),
        });
        host.post({ type: 'result', id, value: { report: value.report, model: value.model,
          encodings: value.encodings, samplesUsed: value.samplesUsed, demo: false } });
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
    let message = e?.message ?? String(e);
    if (msg?.type === 'quantize') message = nameSamples(message, state.samples);
    host.post({ type: 'error', id, message, kind: e?.kind ?? 'error' });
  }
}

/**
 * Errors in the user's words: "calibration sample 3" -> "calibration sample 'x.png'", and an
 * image's .npy stand-in name -> the image file it came from.
 */
export function nameSamples(message, samples) {
  let out = String(message).replace(/calibration sample (\d+)/g,
    (m, i) => (samples[Number(i)] ? `calibration sample '${samples[Number(i)].source ?? samples[Number(i)].name}'` : m));
  for (const s of samples) {
    if (!s.source || s.source === s.name) continue;
    const escaped = s.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(^|[^\\w.-])${escaped}(?![\\w.-])`, 'g'), `$1${s.source}`);
  }
  return out;
}

/** An error reply from the worker, as a thrown value on the page side. */
export class WorkerError extends Error {
  constructor(message, kind = 'error') {
    super(message);
    this.name = 'ModelError';
    this.kind = kind;
  }
}

/**
 * Page side: request/response over a Worker-like object (postMessage + addEventListener).
 * request(type, payload, {onProgress, transfer}) -> Promise of the 'result'/'ready' message.
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

  request(type, payload = {}, { onProgress = null, transfer = [] } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
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
    this.pending.delete(msg.id);
    if (msg.type === 'error') entry.reject(new WorkerError(msg.message, msg.kind));
    else entry.resolve(msg);
  }

  /** Rejects every pending request (the worker died or was terminated). */
  failAll(message, kind = 'internal error') {
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      entry.reject(new WorkerError(message, kind));
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
