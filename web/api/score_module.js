// The user's evaluation function for the JS API's `scoreModule` option (README "JS API"): a
// module on the app's own origin exporting `score(outputs, sampleIndex)`, where outputs =
// {outputName: {data: Float32Array, dims: number[]}} of one calibration sample and the result is a
// number, higher is better (AIMET's eval callback). The worker imports it and gives `score` to the
// core, which calls it in phases 0, 2 and 3 and for each evaluation; web/app/validate.js calls it on
// ONNX Runtime's outputs. Example: web/examples/ctc_score.mjs.
import { sameOriginUrl } from './urls.js';

/**
 * Imports the score module at `url` (resolved against `base`, which must be an http(s) page on the
 * same origin: another origin, javascript:, data: or blob: URLs are refused before anything is
 * fetched) and returns its `score` function. `importer` is import() (injectable for tests). Throws
 * Error with a one-line message naming `scoreModule`.
 */
export async function loadScoreModule(url, base, importer = (href) => import(href)) {
  const href = sameOriginUrl(url instanceof URL ? url.href : url, base, 'scoreModule');
  let mod;
  try {
    mod = await importer(href);
  } catch (e) {
    throw new Error(`scoreModule: ${href} did not load (${e?.message ?? e})`);
  }
  if (typeof mod?.score !== 'function') {
    throw new Error(`scoreModule: ${href} exports no score(outputs, sampleIndex) function`);
  }
  return mod.score;
}

/**
 * score(outputs, index), checked: a finite number, else Error naming the sample and `what` (the
 * model it came from).
 */
export function scoreOf(score, outputs, index, what = 'the model') {
  const v = score(outputs, index);
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`score: sample ${index} of ${what} scored ${typeof v === 'number' ? v : typeof v} (expected a finite number)`);
  }
  return v;
}
