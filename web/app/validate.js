// Validates an exported QDQ model in this tab with ONNX Runtime Web (wasm EP, files served from
// ./ort/ beside the page; nothing is fetched elsewhere): runs the float model and the exported
// one on the same samples and reports output SQNR and an argmax agreement (web/app/metrics.js), to be
// shown beside the number the simulation predicted. The export runs at two graph optimisation
// levels: ORT's default 'all' (what a user's runtime does: Q/DQ units fused into integer kernels)
// and 'disabled' (each DequantizeLinear -> op -> QuantizeLinear as written: the arithmetic the
// simulation computes), and the two levels' outputs are compared. ORT is loaded on first use.
import { argmax, conformShape, outputKind, SqnrAccumulator } from './metrics.js';
import { loadScoreModule, scoreOf } from '../api/score_module.js';

let ortPromise = null;

/** ONNX Runtime Web, wasm only; threads only when the page is cross-origin isolated. */
export function loadOrt(base = new URL('../ort/', import.meta.url).href) {
  if (!ortPromise) {
    ortPromise = import(new URL('ort.wasm.min.mjs', base).href).then((ort) => {
      ort.env.wasm.wasmPaths = base;
      ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
      ort.env.logLevel = 'error';
      return ort;
    }).catch((e) => {
      ortPromise = null;
      throw new Error(`ONNX Runtime Web did not load from ${base} (${e?.message ?? e})`);
    });
  }
  return ortPromise;
}

/**
 * float: {bytes, externalFiles: [{name, bytes}]}, exported: Uint8Array, samples: [{data,
 * shape}] (single-input models). opts: {maxSamples, onProgress(done, total), labelOf(sample) ->
 * class or null (the user's labels), score (outputs, sampleIndex) -> number or scoreModule (URL of
 * a same-origin module exporting it; web/api/score_module.js): the user's metric, called on ONNX
 * Runtime's outputs of both models, sampleIndex = indexOf(sample) (default: its index in
 * `samples`; the app gives the row offset, as the core counts a stacked file's rows), ort (an
 * onnxruntime-web module to use instead of loadOrt()'s: node tests)}.
 * Returns {sqnrDb, kind, agreement, top1Agreement, stepAgreement, decodedAgreement, rows,
 * samples, ms} (web/app/metrics.js: the agreement measure follows the first output's kind; all at
 * ORT's default level), {disabledSqnrDb, levelAgreementDb} (the export at level 'disabled' vs the
 * float model, and the default level's outputs vs 'disabled''s; both null with `disabledError`
 * when that session cannot be made or run), and with
 * labels on a classification output {labelled, floatTop1, exportTop1}: top-1 of both models
 * against the labels; with a score {scored, floatScore, exportScore}: its mean on each model.
 */
export async function validateExport(float, exported, samples,
  { maxSamples = 32, onProgress = null, labelOf = null, score = null, scoreModule = null, indexOf = null, ort = null } = {}) {
  if (!score && scoreModule) score = await loadScoreModule(scoreModule, globalThis.location?.href);
  ort ??= await loadOrt();
  const t0 = performance.now();
  const usable = samples.filter((s) => s.data && s.shape).slice(0, maxSamples);
  if (!usable.length) throw new Error('validation needs image or .npy samples (.npz samples are not decoded in the page)');
  const opts = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  const externalData = (float.externalFiles ?? []).map((f) => ({ path: f.name, data: f.bytes }));
  let ref;
  let test;
  let plain = null;  // the export at level 'disabled'
  let disabledError = null;
  try {
    ref = await ort.InferenceSession.create(float.bytes, externalData.length ? { ...opts, externalData } : opts);
  } catch (e) {
    throw new Error(`ONNX Runtime could not load the float model: ${e?.message ?? e}`);
  }
  try {
    test = await ort.InferenceSession.create(exported, opts);
  } catch (e) {
    await ref.release();
    throw new Error(`ONNX Runtime could not load the exported model: ${e?.message ?? e}`);
  }
  try {
    plain = await ort.InferenceSession.create(exported, { ...opts, graphOptimizationLevel: 'disabled' });
  } catch (e) {
    disabledError = `ONNX Runtime could not load the exported model with optimisations disabled: ${e?.message ?? e}`;
  }
  try {
    const inputName = ref.inputNames[0];
    const first = ref.outputNames[0];
    const acc = new SqnrAccumulator();
    const accPlain = new SqnrAccumulator();   // 'disabled' vs the float model
    const accLevels = new SqnrAccumulator();  // 'all' vs 'disabled'
    const labelled = { n: 0, float: 0, export: 0 };
    const scored = { n: 0, float: 0, export: 0 };
    for (let i = 0; i < usable.length; ++i) {
      const s = usable[i];
      const meta = ref.inputMetadata?.find?.((m) => m.name === inputName);
      const rank = Array.isArray(meta?.shape) ? meta.shape.length : s.shape.length;
      const feeds = { [inputName]: new ort.Tensor('float32', Float32Array.from(s.data), conformShape(s.shape, rank)) };
      const [a, b] = [await ref.run(feeds), await test.run(feeds)];
      const pick = (o) => Object.fromEntries(ref.outputNames.map((n) => [n, o[n].data]));
      acc.add(pick(a), pick(b), first, a[first].dims);
      if (plain) {
        try {
          const c = pick(await plain.run(feeds));
          accPlain.add(pick(a), c);
          accLevels.add(c, pick(b));
        } catch (e) {
          disabledError = `ONNX Runtime could not run the exported model with optimisations disabled: ${e?.message ?? e}`;
          await plain.release();
          plain = null;
        }
      }
      const label = labelOf?.(s);
      if (Number.isInteger(label) && outputKind(a[first].dims) === 'classification') {
        const classes = a[first].dims[a[first].dims.length - 1];
        labelled.n += 1;
        labelled.float += argmax(a[first].data, 0, classes) === label ? 1 : 0;
        labelled.export += argmax(b[first].data, 0, classes) === label ? 1 : 0;
      }
      if (score) {
        const index = indexOf?.(s) ?? samples.indexOf(s);
        scored.n += 1;
        scored.float += scoreOf(score, scoreOutputs(a, ref.outputNames), index, 'the float model');
        scored.export += scoreOf(score, scoreOutputs(b, ref.outputNames), index, 'the exported model');
      }
      onProgress?.(i + 1, usable.length);
      await new Promise((ok) => setTimeout(ok, 0));  // keep the page responsive between samples
    }
    const top1 = labelled.n ? { labelled: labelled.n, floatTop1: labelled.float / labelled.n, exportTop1: labelled.export / labelled.n }
      : { labelled: 0, floatTop1: null, exportTop1: null };
    const user = scored.n ? { scored: scored.n, floatScore: scored.float / scored.n, exportScore: scored.export / scored.n }
      : { scored: 0, floatScore: null, exportScore: null };
    const levels = plain ? { disabledSqnrDb: accPlain.result().sqnrDb, levelAgreementDb: accLevels.result().sqnrDb, disabledError: null }
      : { disabledSqnrDb: null, levelAgreementDb: null, disabledError };
    return { ...acc.result(), ...top1, ...user, ...levels, samples: usable.length, ms: performance.now() - t0 };
  } finally {
    await ref.release();
    await test.release();
    await plain?.release();
  }
}

/** ONNX Runtime's outputs as a score function gets them: {name: {data: Float32Array, dims}}. */
export function scoreOutputs(results, names) {
  return Object.fromEntries(names.map((n) => {
    const t = results[n];
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data, Number);
    return [n, { data, dims: Array.from(t.dims, Number) }];
  }));
}
