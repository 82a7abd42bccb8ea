// The module Web Worker that owns the engine, so parsing a large model never blocks the page.
// Messages in:  {type: 'init', id}
//               {type: 'inspect', id, file: {name, bytes}, externalFiles: [{name, bytes}] | {name: bytes},
//                inputShapes: string | {name: dims}}
// Messages out: {type: 'ready', id, version}
//               {type: 'progress', id, stage, message}
//               {type: 'result', id, value}            (value: the inspect report object)
//               {type: 'error', id, message, kind}
import { loadEngine } from './engine.js';
import { handleMessage } from './worker_protocol.js';

let enginePromise = null;

/** The engine, loaded once; a failed load is retried on the next request. */
function getEngine() {
  if (!enginePromise) {
    enginePromise = loadEngine().catch((e) => {
      enginePromise = null;
      throw new Error(`could not load the WebAssembly engine: ${e?.message ?? e}`);
    });
  }
  return enginePromise;
}

self.addEventListener('message', (event) => {
  handleMessage(event.data, { getEngine, post: (msg) => self.postMessage(msg) });
});
