// Both ends of the worker protocol (see web/worker.js), without touching `self` or `Worker`, so
// node --test drives them with a real engine and a fake channel (tests/js/worker.test.mjs).

/**
 * Worker side: handles one message. `host` = {getEngine: () => Promise<Engine>, post(msg)}.
 * Every request gets exactly one 'result' or 'error' reply with its id; nothing throws out.
 */
export async function handleMessage(msg, host) {
  const id = msg?.id ?? null;
  const progress = (stage, message) => host.post({ type: 'progress', id, stage, message });
  try {
    switch (msg?.type) {
      case 'init': {
        const engine = await host.getEngine();
        host.post({ type: 'ready', id, version: engine.version() });
        return;
      }
      case 'inspect': {
        if (!msg.file || !msg.file.bytes) throw new Error('inspect: no model file in the request');
        progress('engine', 'Loading the engine…');
        const engine = await host.getEngine();
        progress('inspect', `Reading ${msg.file.name}…`);
        const value = await engine.inspect(msg.file.bytes, msg.file.name, msg.externalFiles ?? null,
          msg.inputShapes ?? '');
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

  failAll(message) {
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      entry.reject(new WorkerError(message, 'internal error'));
    }
  }

  /** The engine's version string. */
  async init() {
    return (await this.request('init')).version;
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
