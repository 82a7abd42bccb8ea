// ONNX Runtime (onnxruntime-web, wasm EP, one thread) as the oracle of the op tests: conversion
// between .npy arrays and ort.Tensor, and a one-call "run this model on these arrays".
import { readFileSync } from 'node:fs';
import { makeArray } from './npy.mjs';

let ortPromise = null;

/** The onnxruntime-web module, initialized once: wasm EP, one thread, errors only. */
export function loadOrt() {
  if (!ortPromise) {
    ortPromise = import('onnxruntime-web').then((ort) => {
      ort.env.wasm.numThreads = 1;
      ort.env.logLevel = 'error';
      return ort;
    });
  }
  return ortPromise;
}

/** ORT's version string (part of the corpus cache key). */
export async function ortVersion() {
  const ort = await loadOrt();
  return ort.env.versions?.web ?? 'unknown';
}

/** ORT tensor type for an npy dtype (the names agree; ORT keeps bool as Uint8Array). */
function toOrtTensor(ort, arr) {
  return new ort.Tensor(arr.dtype, arr.data, arr.shape);
}

function fromOrtTensor(t, where) {
  if (t.type === 'string' || t.type === 'int4' || t.type === 'uint4') {
    throw new Error(`${where}: output type ${t.type} cannot be saved as .npy`);
  }
  let data = t.data;
  if (t.type === 'float16' && !(data instanceof Uint16Array)) {
    data = new Uint16Array(data.buffer, data.byteOffset, data.length);
  }
  return makeArray(t.type, [...t.dims].map(Number), data.slice());
}

/** Short ORT error text (its Error objects carry the minified bundle in the stack). */
export function ortMessage(err) {
  return String(err?.message ?? err).replace(/\s+/g, ' ').trim();
}

/**
 * Runs a model with ORT.
 * @param {string} modelPath
 * @param {Object<string, {dtype, shape, data}>} feeds  input name -> array
 * @param {string[]} [outputNames]  default: every model output
 * @returns {Promise<Object<string, {dtype, shape, data}>>}
 * Throws {stage: 'load' | 'run', message} on failure.
 */
export async function runOrt(modelPath, feeds, outputNames) {
  const ort = await loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(readFileSync(modelPath), {
      executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3,
    });
  } catch (err) {
    throw Object.assign(new Error(`ORT load: ${ortMessage(err)}`), { stage: 'load' });
  }
  try {
    const inputs = {};
    for (const [name, arr] of Object.entries(feeds)) inputs[name] = toOrtTensor(ort, arr);
    let result;
    try {
      result = await session.run(inputs);
    } catch (err) {
      throw Object.assign(new Error(`ORT run: ${ortMessage(err)}`), { stage: 'run' });
    }
    const out = {};
    for (const name of outputNames ?? session.outputNames) {
      if (!(name in result)) throw Object.assign(new Error(`ORT run: no output '${name}'`), { stage: 'run' });
      out[name] = fromOrtTensor(result[name], `output '${name}'`);
    }
    return out;
  } finally {
    await session.release();
  }
}
