// The module Web Worker that owns the engine, so parsing a large model or searching never
// blocks the page. It keeps one quantization workspace (the model, samples, calibration and
// search) between requests. The messages are those of web/api/worker_protocol.js: init, inspect,
// load_model, set_samples, quantize, evaluate, export, run; replies ready/progress/result/error.
import { loadEngine } from './engine.js';
import { handleMessage } from './worker_protocol.js';

let enginePromise = null;

/** The module with wasm threads (built by wasm/CMakeLists.txt target quantmix_mt). */
const MT_FILES = ['quantmix-mt.mjs', 'quantmix-mt.wasm', 'quantmix-mt.worker.js'];

/**
 * On a cross-origin isolated page (SharedArrayBuffer available) the module with wasm threads,
 * if its files are there and it starts; otherwise, and on every other page, the single-threaded
 * quantmix.mjs. capabilities().threads says which one runs.
 */
async function loadBestEngine() {
  if (self.crossOriginIsolated) {
    try {
      const urls = MT_FILES.map((f) => new URL(`../${f}`, import.meta.url));
      // A missing worker file would leave the module's thread pool waiting forever: check first.
      const heads = await Promise.all(urls.map((u) => fetch(u, { method: 'HEAD' })));
      if (heads.every((r) => r.ok)) return await loadEngine({ moduleUrl: urls[0].href });
      console.warn('quantmix: wasm threads unavailable (quantmix-mt files missing): using one thread');
    } catch (e) {
      console.warn(`quantmix: wasm threads unavailable (${e?.message ?? e}): using one thread`);
    }
  }
  return loadEngine();
}

/** The engine, loaded once; a failed load is retried on the next request. */
function getEngine() {
  if (!enginePromise) {
    enginePromise = loadBestEngine().catch((e) => {
      enginePromise = null;
      throw new Error(`could not load the WebAssembly engine: ${e?.message ?? e}`);
    });
  }
  return enginePromise;
}

self.addEventListener('message', (event) => {
  // base: a scoreModule must be on this worker's origin (that of the page).
  handleMessage(event.data, { getEngine, post: (msg) => self.postMessage(msg), base: self.location.href });
});
