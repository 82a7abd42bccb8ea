// A stand-in for web/api/engine.js's Engine with the workspace calls (ws_contract.md), for the
// node tests of the worker protocol and the JS API: it records every call and answers with
// report.json-shaped reports (made up by demo_engine.js: config/layerBits give report.final).
import { demoReport } from '../../web/api/demo_engine.js';
import { handleMessage, newState } from '../../web/api/worker_protocol.js';

export const INSPECT = {
  file: 'm.onnx', macs: 3000, inputs: [{ name: 'x', dtype: 'float', shape: [1, 1, 4, 4] }],
  layers: [{ name: 'conv1', op: 'Conv', weight_shape: [8, 1, 3, 3], macs: 2000 },
    { name: 'conv2', op: 'Conv', weight_shape: [8, 8, 3, 3], macs: 500 },
    { name: 'fc', op: 'Gemm', weight_shape: [10, 8], macs: 500 }],
};

/** A stand-in for web/api/engine.js's Engine: records calls, answers like the contract says. */
export function fakeEngine({ delayMs = 0 } = {}) {
  const calls = [];
  const sleep = () => new Promise((ok) => setTimeout(ok, delayMs));
  const engine = {
    calls,
    generation: 1,
    failLoad: null,      // an Error the next wsLoad throws
    failSamples: null,   // an Error the next wsSetSamples throws
    lastSources: null,   // the names the last wsSetSamples got its samples by (source, else name)
    version: () => '0.1.0',
    capabilities: () => ({ quantize: true, layerBits: true, run: true, threads: 1, workspace: true }),
    async inspect(bytes, name) { calls.push(['inspect', name]); return INSPECT; },
    async wsLoad(bytes, name, external, options) {
      calls.push(['wsLoad', name, options]);
      if (engine.failLoad) throw engine.failLoad;
      return { layers: 3, quantizers: 6 };
    },
    async wsSetSamples(samples, options) {
      calls.push(['wsSetSamples', samples.map((s) => s.name), options]);
      engine.lastSources = samples.map((s) => s.source ?? s.name);
      if (engine.failSamples) { const e = engine.failSamples; engine.failSamples = null; throw e; }
      return { count: samples.length, used: Math.min(samples.length, options.maxSamples ?? 64) };
    },
    async wsQuantize(options, onProgress, onFront) {
      calls.push(['wsQuantize', options]);
      const report = demoReport(INSPECT, options);
      delete report.demo;
      // A search (the first call): the front as the core reports it while phase 2 runs, every
      // point predicted first, then the measured ones (engine.js wsQuantize onFront).
      if (onFront && !engine.last && !options.bits) {
        const predicted = report.pareto.map((p) => ({ ...p, measured: false, sqnr_db: null, dominated: false }));
        onFront({ event: 'front', order: 'paper', baselines: report.baselines, pareto: predicted });
        await sleep();
        const measured = report.pareto.filter((p) => p.measured);
        onFront({ event: 'points', order: 'paper', points: measured,
          dominated: report.pareto.filter((p) => p.dominated).map((p) => p.index) });
      }
      await sleep();
      onProgress?.('evaluate', 1, 1);
      calls.push(['wsQuantize done', options.target]);
      // What the core says it reused: nothing the first time, everything after (as a real
      // workspace with the same samples and search options).
      report.timing_s = { ...(report.timing_s ?? {}), reused: engine.last ? ['calibration', 'search'] : [] };
      engine.last = report;
      return { report, reportJson: JSON.stringify(report) };
    },
    async wsExport() {
      calls.push(['wsExport']);
      // An export reuses everything it was asked for.
      return { report: { ...engine.last, timing_s: { ...engine.last.timing_s, reused: ['calibration', 'search'] }, export: { bytes: 3 } },
               model: new Uint8Array([1, 2, 3]), encodings: '{}' };
    },
  };
  return engine;
}

/**
 * Installs a global Worker whose instances run the real worker protocol (handleMessage) on
 * `engine`, state per worker; replies arrive after `delayMs`. Returns the workers made.
 */
export function installWorker(engine, { delayMs = 0 } = {}) {
  const workers = [];
  globalThis.Worker = class {
    constructor() {
      this.listeners = { message: [], error: [] };
      this.state = newState();
      this.dead = false;
      workers.push(this);
    }
    addEventListener(type, fn) { this.listeners[type].push(fn); }
    postMessage(msg) {
      const host = {
        state: this.state,
        getEngine: async () => engine,
        post: (reply) => {
          if (this.dead) return;
          const data = structuredClone(reply);
          setTimeout(() => { if (!this.dead) for (const fn of this.listeners.message) fn({ data }); }, delayMs);
        },
      };
      setTimeout(() => handleMessage(structuredClone(msg), host), 0);
    }
    terminate() { this.dead = true; }
  };
  return workers;
}
