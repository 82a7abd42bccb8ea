// quantmix's JavaScript API: mixed-precision quantization of an ONNX model in a Web Worker,
// with progress, cancellation (the worker is terminated and restarted; the page stays
// responsive), interactive selection on the search's results and the exported files. Used by
// the app (web/app/) and usable on its own (README "JS API"):
//
//   import { Quantmix } from './quantmix.js';
//   const qm = await Quantmix.create();
//   await qm.loadModel(file);                                 // File, Blob, ArrayBuffer or bytes
//   await qm.setSamples([{ name: 'x0.npy', bytes }]);         // .npy/.npz, or {name, data, shape}
//   const r = await qm.quantize({ target: 'bops=0.5' }, { onProgress: (p) => console.log(p.phase, p.fraction),
//     onFront: (front) => draw(front) });                    // the front while the search runs
//   console.log(r.report.selected.sqnr_db);
//   const { model, encodings, report } = qm.exportFiles();    // Blobs
//
// The worker keeps the model, the samples, the calibration and the search between calls, so
// after quantize() these cost one evaluation over the samples at most, and never a new search:
//
//   await qm.select('bops=0.4');                      // the search's pick for another target
//   await qm.evaluate({ config: r.report.pareto[3].config });   // one front point (per group)
//   await qm.evaluate({ config, layerBits: { conv1: 'W8A16' } }); // with layers forced on top
//   await qm.override({ fc: 'W8A8' });                // what is shown + this layer (composes)
//   await qm.export();                                // exports what was evaluated last
//   qm.exportFiles();                                 // ... as Blobs
//
// select/evaluate/override resolve {report} (report.final describes an evaluated config/layerBits
// beside the search's report.selected) and export nothing: exportFiles() then has model and
// encodings null until export() (quantize() exports by itself).
import { encodeNpy } from './npy.js';
import { composeOverride, foldFrontEvent } from './search_state.js';
import { ModelError } from './engine.js';
import { WorkerClient } from './worker_protocol.js';

/** Phases the core reports, in order, with the label the UI shows. */
export const PHASES = [
  ['calibration', 'Calibration'],
  ['ranges', 'Learned rounding'],
  ['reference', 'Float reference'],
  ['phase0', 'Baselines'],
  ['phase1', 'Sensitivity'],
  ['phase2', 'Pareto front'],
  ['phase3', 'Selection'],
  ['evaluate', 'Evaluation'],
  ['export', 'Export'],
];

/**
 * What each phase of a run costs, roughly, in forward passes over the samples (the README's
 * "Search speed": calibration and the float reference about one pass each, a baseline one
 * simulated pass per candidate, phases 1 and 2 about the same, a resumed run per (group,
 * candidate) at ~0.4 of a pass). Only the ratios matter: they spread one overall ETA over the
 * phases still to come. opts: {candidates, layers, search (false: homogeneous bits)}.
 */
export function phaseWeights({ candidates = 3, layers = 10, search = true } = {}) {
  const flips = 0.4 * Math.max(1, layers) * Math.max(1, candidates - 1);
  return search
    ? { calibration: 1.5, reference: 1, phase0: Math.max(1, candidates), phase1: flips, phase2: flips, phase3: 2, export: 0.3 }
    : { calibration: 1.5, reference: 1, phase0: 1, phase3: 0.5, evaluate: 1, export: 0.3 };
}

/**
 * Turns (phase, done, total) reports into fractions and an ETA per phase, and one overall ETA
 * for the run. `now` is injectable (milliseconds) so node --test checks the arithmetic. Phase
 * ETA = elapsed in this phase / done * remaining, shown once at least one step is done. Overall:
 * the run's work is the phases' weights (phaseWeights; a phase skipped because the core reused
 * it drops out once a later one starts; phase 2 takes phase 1's measured time once known), done
 * work / elapsed time is the rate, and the rest at that rate is the ETA.
 */
export class ProgressTracker {
  constructor(now = () => performance.now(), weights = null) {
    this.now = now;
    this.phase = null;
    this.start = 0;
    this.runStart = now();
    this.weights = weights ? { ...weights } : null;
    this.seen = [];          // phases in the order they started
    this.fractions = new Map();
    this.seconds = new Map();  // seconds each finished phase took
  }

  update(phase, done, total) {
    const t = this.now();
    if (phase !== this.phase) {
      if (this.phase !== null) this.seconds.set(this.phase, (t - this.start) / 1000);
      this.phase = phase;
      this.start = t;
      if (!this.seen.includes(phase)) this.seen.push(phase);
    }
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    this.fractions.set(phase, fraction);
    const elapsed = (t - this.start) / 1000;
    const etaSeconds = done > 0 && total > done ? (elapsed / done) * (total - done) : done >= total && total > 0 ? 0 : null;
    const index = PHASES.findIndex(([p]) => p === phase);
    const runSeconds = (t - this.runStart) / 1000;
    return { phase, label: index >= 0 ? PHASES[index][1] : phase, index, done, total, fraction, etaSeconds,
             elapsedSeconds: runSeconds, ...this.overall(phase, runSeconds) };
  }

  /** {overallFraction, overallEtaSeconds} (null without weights or before any work is done). */
  overall(phase, runSeconds) {
    if (!this.weights) return { overallFraction: null, overallEtaSeconds: null };
    const order = PHASES.map(([p]) => p);
    const at = order.indexOf(phase);
    // Phases before the current one that never started were reused: no work left in them.
    const planned = Object.keys(this.weights).filter((p) => this.seen.includes(p) || order.indexOf(p) > at || at < 0);
    if (!planned.includes(phase)) planned.push(phase);
    const weight = (p) => this.weights[p] ?? 1;
    // Phase 2 walks as many flips as phase 1 measured: once phase 1 is over, its time is the guide.
    let total = 0;
    let doneWork = 0;
    for (const p of planned) {
      const w = weight(p);
      total += w;
      doneWork += w * (this.fractions.get(p) ?? 0);
    }
    if (this.seconds.has('phase1') && planned.includes('phase2') && !this.seconds.has('phase2') && doneWork > 0) {
      // Rate from the work done, but phase 2 costs what phase 1 took.
      const rate = doneWork / runSeconds;
      const rest2 = this.seconds.get('phase1') * (1 - (this.fractions.get('phase2') ?? 0));
      const others = total - doneWork - weight('phase2') * (1 - (this.fractions.get('phase2') ?? 0));
      return { overallFraction: doneWork / total, overallEtaSeconds: rest2 + Math.max(0, others) / rate };
    }
    if (!(doneWork > 0) || !(runSeconds > 0)) return { overallFraction: total ? doneWork / total : null, overallEtaSeconds: null };
    return { overallFraction: doneWork / total, overallEtaSeconds: ((total - doneWork) / doneWork) * runSeconds };
  }
}

/** "12 s", "1 min 05 s". */
export function formatEta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The run was cancelled (Quantmix.cancel() or an AbortSignal). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

async function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data && typeof data.arrayBuffer === 'function') return new Uint8Array(await data.arrayBuffer());
  throw new TypeError('expected a File, Blob, ArrayBuffer or typed array');
}

/**
 * `options` with scoreModule as an absolute URL: a relative one resolves against the page (as an
 * import() in the page would), since the worker resolving it against its own URL would differ.
 * A `score` function cannot be sent to the worker: TypeError pointing at scoreModule.
 */
export function resolveScoreModule(options, base = globalThis.document?.baseURI ?? globalThis.location?.href) {
  if (typeof options?.score === 'function') {
    throw new TypeError('score: give scoreModule, the URL of a module on this site exporting score(outputs, sampleIndex): ' +
      'a function cannot be sent to the worker');
  }
  if (options?.scoreModule === undefined || options.scoreModule === null) return options;
  const text = options.scoreModule instanceof URL ? options.scoreModule.href : String(options.scoreModule);
  let href = text;
  try {
    if (base) href = new URL(text, base).href;
  } catch {
    // Not a URL: the worker's same-origin check says so.
  }
  return { ...options, scoreModule: href };
}

/** A sample as {name, bytes}: .npy/.npz bytes as given, or {data: Float32Array, shape} encoded. */
async function toSample(s, i) {
  const name = s.name ?? `sample_${i}.npy`;
  const source = s.source ?? name;  // the file the user gave (an image is sent as .npy)
  if (s.data && s.shape) return { name, source, bytes: encodeNpy(s.data, s.shape) };
  return { name, source, bytes: await toBytes(s.bytes ?? s) };
}

export class Quantmix {
  /** options: {workerUrl, demo (made-up numbers, for trying the UI without the core)}. */
  static async create({ workerUrl = new URL('./worker.js', import.meta.url), demo = false } = {}) {
    const qm = new Quantmix(workerUrl, demo);
    await qm.start();
    return qm;
  }

  /** Resolves when the worker is up with the model and samples (after a restart, too). */
  async ready() {
    await this.restarting;
  }

  constructor(workerUrl, demo) {
    this.workerUrl = workerUrl;
    this.demo = demo;
    this.client = null;
    this.version = null;
    this.capabilities = {};
    this.model = null;     // {file: {name, bytes}, externalFiles, inputShapes}
    this.inspect = null;   // the model's inspect report
    this.samples = [];     // [{name, bytes}]
    this.result = null;    // what is shown: {report, model, encodings, samplesUsed, demo}; model and
                           // encodings are null until the configuration is exported
    this.options = null;   // the search's options of the last quantize() (target updated by select())
    this.current = null;   // {config, layerBits} of this.result (config null: the search's pick)
    this.evaluatedOptions = null;  // the options this.result was evaluated with
    this.maxSamples = undefined;  // the sample cap the worker decodes with (quantize option maxSamples)
    this.running = null;   // {reject} while a request to the worker runs
    this.cancels = 0;      // cancel() calls so far (a request waiting to start checks it)
    this.restarting = null;  // the promise of start() while the worker (re)starts
  }

  /** Starts (or restarts) the worker and restores the model and samples into it. */
  start() {
    this.restarting = this.startWorker();
    return this.restarting;
  }

  async startWorker() {
    const client = new WorkerClient(new Worker(this.workerUrl, { type: 'module' }));
    this.client = client;
    this.version = await client.init({ demo: this.demo });
    // A worker that dies once started (the browser ends it, e.g. out of memory) has failed its
    // pending requests (WorkerClient); it is replaced by a fresh one with the same model and
    // samples, so the page stays usable. (One that cannot start is not retried in a loop.)
    client.worker.addEventListener('error', () => {
      if (this.client !== client) return;
      client.worker.terminate();
      this.start().catch(() => {});
    });
    this.capabilities = this.client.capabilities;
    if (this.model) {
      await this.client.request('load_model', this.copyModel());
      if (this.samples.length) await this.client.request('set_samples', { samples: this.samples, maxSamples: this.maxSamples });
    }
  }

  copyModel() {
    const m = this.model;
    return { file: { name: m.file.name, bytes: m.file.bytes.slice() },
             externalFiles: m.externalFiles.map((f) => ({ name: f.name, bytes: f.bytes.slice() })),
             inputShapes: m.inputShapes, threads: m.threads };
  }

  /**
   * Loads a model. model: File/Blob/ArrayBuffer/Uint8Array; opts: {name, external: [File or
   * {name, bytes}], inputShapes: "x=1x3x224x224"}. Returns the inspect report. Clears samples.
   */
  async loadModel(model, { name = model?.name ?? 'model.onnx', external = [], inputShapes = '', threads, onProgress = null } = {}) {
    await this.ready();
    const file = { name, bytes: await toBytes(model) };
    const externalFiles = await Promise.all(external.map(async (f) => ({ name: f.name, bytes: await toBytes(f.bytes ?? f) })));
    const candidate = { file, externalFiles, inputShapes, threads };
    const copy = { file: { name, bytes: file.bytes.slice() },
                   externalFiles: externalFiles.map((f) => ({ name: f.name, bytes: f.bytes.slice() })), inputShapes, threads };
    const reply = await this.client.request('load_model', copy, { onProgress });
    this.model = candidate;
    this.inspect = reply.value;
    this.samples = [];
    this.forget();
    return this.inspect;
  }

  /** Drops what is shown and the search's options (a new model or new samples). */
  forget() {
    this.result = null;
    this.options = null;
    this.current = null;
    this.evaluatedOptions = null;
  }

  /**
   * Replaces the calibration samples: [{name, bytes}] (.npy/.npz) or [{name, data, shape}]. The
   * worker decodes and checks them now (an error names the file). opts: {maxSamples} (how many
   * are used, default that of the last quantize(), else 64). Returns the number of files. What
   * is shown stays; the next call calibrates and searches again on the new samples.
   */
  async setSamples(samples, { maxSamples = this.maxSamples } = {}) {
    await this.ready();
    const list = await Promise.all(samples.map(toSample));
    await this.client.request('set_samples', { samples: list, maxSamples });
    this.samples = list;
    this.maxSamples = maxSamples;
    return list.length;
  }

  /** Adds samples to the current ones. */
  async addSamples(samples) {
    const list = await Promise.all(samples.map(toSample));
    return this.setSamples([...this.samples, ...list]);
  }

  /**
   * Calibration + search + export in the worker (each reused when its inputs did not change).
   * options: {bits, candidates, profile, target, maxSamples, weightRange, weightRounding ('nearest' |
   * 'learned'), actRange, recalibrate,
   * seed, layerBits, config, order ('paper' | 'ratio' | 'both'), phase1Aggregate ('pooled' |
   * 'median' | 'trimmed'), labels (Int32Array or array:
   * one class per sample used, in order; the search then maximises top-1 and report points carry
   * top1), memoryBudgetMB (search's activation cache, default 512), frontPoints (phase 2 measures
   * this many evenly spaced points of the front, default 64, or 'all'; the others keep their
   * phase-1 prediction), scoreModule (URL or string of
   * a module on this site exporting score(outputs, sampleIndex) -> number, higher is better: the
   * search maximises its mean over the samples instead of SQNR or top-1 in phases 0, 2 and 3; the
   * report's points carry score, search.metric is "score" and search.float_score the float model's;
   * phase 1 stays SQNR; see web/api/score_module.js)}. opts: {onProgress(p),
   * onFront(front, event), signal (AbortSignal)}. p = {phase, label, done, total, fraction,
   * etaSeconds}. onFront is called while the search runs (not when the worker reuses it): once
   * phase 1 has ordered the front, with every point at its phase-1 prediction, then as phase 2
   * measures its points. `front` is report.json-shaped (search_state.js foldFrontEvent): {baselines,
   * pareto: [points with measured, sqnr_db (null until measured), predicted_sqnr_db, dominated,
   * config], pareto_order, measured, total}, so normalizeQuantReport() and the chart draw it as
   * they draw a finished report; `event` is the core's update ({event: 'front' | 'points', ...}).
   * Resolves {report, model: Uint8Array|null, encodings: string|null, demo}; rejects with
   * CancelledError when cancelled, or an Error with the core's one-line message.
   */
  async quantize(options = {}, opts = {}) {
    options = resolveScoreModule(options);
    const { config, layerBits, ...search } = options;
    const value = await this.request('quantize', options, opts);
    this.options = search;
    this.show(value, options, true);
    return this.result;
  }

  /**
   * One evaluation of a configuration on the last quantize()'s search, nothing searched again
   * or exported: {config: [candidate per search group] (a report's pareto[i].config or
   * group_config; omitted: the search's pick), layerBits: {layer: candidate} on top of it}.
   * Resolves {report, ...}: report.final is the evaluated configuration. opts as quantize().
   */
  async evaluate({ config = null, layerBits = null } = {}, opts = {}) {
    if (!this.options) throw new Error('evaluate: run quantize() first');
    const options = { ...this.options };
    if (config) options.config = [...config];
    if (layerBits && Object.keys(layerBits).length) options.layerBits = { ...layerBits };
    this.show(await this.request('evaluate', options, opts), options, false);
    return this.result;
  }

  /**
   * The search's pick for another target ('bops=0.4', 'size=0.5', 'sqnr=30', 'sqnr-drop=1') on
   * the fronts the last quantize() found: no calibration or search, an evaluation at most.
   * Later calls use this target. Resolves {report, ...}. opts as quantize().
   */
  async select(target, opts = {}) {
    if (!this.options) throw new Error('select: run quantize() first');
    if (this.options.bits) throw new Error('select: the last run used homogeneous bits: there is no front to select on');
    const options = { ...this.options, target: String(target) };
    const value = await this.request('evaluate', options, opts);
    this.options = options;
    this.show(value, options, false);
    return this.result;
  }

  /**
   * Forces some layers to a candidate, {layerName: 'W4A8'} (null: back to the configuration's
   * own bits), on top of what is shown: the configuration last evaluated (a chosen front point,
   * or the search's pick) and the earlier overrides (search_state.js composeOverride). Resolves
   * {report, ...} like evaluate(); report.final holds the forced configuration.
   */
  async override(layerBits, opts = {}) {
    if (!this.result) throw new Error('override: run quantize() first');
    return this.evaluate(composeOverride(this.result.report, this.current, layerBits), opts);
  }

  /**
   * Exports the configuration shown (the last quantize/evaluate/select/override) unless it is
   * already: resolves {report, model: Uint8Array|null, encodings: string|null}, which
   * exportFiles() then returns as Blobs. opts as quantize().
   */
  async export(opts = {}) {
    if (!this.result) throw new Error('export: run quantize() first');
    if (this.result.exported) return this.result;
    const value = await this.request('export', this.evaluatedOptions, opts);
    this.result = { ...this.result, report: value.report, model: value.model, encodings: value.encodings, exported: true };
    return this.result;
  }

  /** Whether the configuration shown has been exported (exportFiles() has its model). */
  get exported() {
    return Boolean(this.result?.exported);
  }

  /** A reply of the worker is what is shown; `options` are those sent (export() sends them again). */
  show(value, options, exported) {
    this.evaluatedOptions = options;
    this.current = { config: options.config ? [...options.config] : null, layerBits: { ...(options.layerBits ?? {}) } };
    this.result = { model: null, encodings: null, samplesUsed: null, ...value, exported: exported || Boolean(value.demo) };
  }

  /** One request that may run long (progress, front updates, cancel): quantize, evaluate or export. */
  async request(type, options, { onProgress = null, onFront = null, signal = null } = {}) {
    // A cancel() while this waits for the worker cancels this request too: otherwise it would
    // go to the restarted worker before the model is back in it ("open a model first").
    const cancels = this.cancels;
    await this.ready();
    if (this.running) throw new Error(`${type}: a run is already in progress`);
    if (signal?.aborted || this.cancels !== cancels) throw new CancelledError();
    if (options?.maxSamples !== undefined) this.maxSamples = options.maxSamples;
    const search = type === 'quantize' && !options?.bits;
    const weights = type === 'quantize' ? phaseWeights({ search, layers: this.inspect?.layers?.length ?? 10,
      candidates: search ? (options?.candidates?.length ?? 4) : 1 }) : null;
    const tracker = new ProgressTracker(undefined, weights);
    let front = null;  // the front so far, from the core's events
    const onAbort = () => this.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const reply = await new Promise((resolve, reject) => {
        this.running = { reject };
        this.client.request(type, { options }, {
          onProgress: (m) => { if (onProgress && m.total !== undefined) onProgress(tracker.update(m.stage, m.done, m.total)); },
          onFront: onFront ? (event) => { front = foldFrontEvent(front, event); onFront(front, event); } : null,
        }).then(resolve, reject);
      });
      return reply.value;
    } finally {
      this.running = null;
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Cancels a running quantize(): terminates the worker (the only way to stop wasm mid-call),
   * rejects the run with CancelledError and starts a fresh worker with the same model and
   * samples. Resolves when the new worker is ready.
   */
  async cancel() {
    this.cancels += 1;
    const running = this.running;
    const old = this.client;
    old.worker.terminate();
    old.failAll('cancelled', 'cancelled');
    if (running) running.reject(new CancelledError());
    this.running = null;
    await this.start();
  }

  /** One FP32 forward pass in quantmix's engine: inputs [{name, data, shape}] -> outputs. */
  async run(inputs) {
    await this.ready();
    const list = inputs.map((x) => ({ name: x.name, bytes: encodeNpy(x.data, x.shape) }));
    return (await this.client.request('run', { inputs: list })).value;
  }

  /**
   * The files of the configuration shown as Blobs: {model (QDQ .onnx), encodings (JSON), report
   * (JSON)}; model/encodings are null in demo mode, and after evaluate/select/override until
   * export() (quantize() exports by itself).
   */
  exportFiles() {
    if (!this.result) throw new Error('exportFiles: run quantize() first');
    const r = this.result;
    return {
      model: r.model ? new Blob([r.model], { type: 'application/octet-stream' }) : null,
      encodings: r.encodings ? new Blob([r.encodings], { type: 'application/json' }) : null,
      report: new Blob([JSON.stringify(r.report, null, 2)], { type: 'application/json' }),
    };
  }

  /** Stops the worker for good. */
  terminate() {
    this.client?.worker.terminate();
    this.client?.failAll('terminated');
  }
}

export { ModelError, ModelError as WorkerError };
