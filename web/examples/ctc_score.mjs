// An example score module for quantmix's JS API (README "JS API", option scoreModule): the
// character accuracy of a CTC text recogniser's greedy decode against the reference text of each
// calibration sample. With it, the mixed-precision search keeps the configuration that reads the
// text best instead of the one whose logits are closest to the float model's:
//
//   await qm.quantize({ target: 'bops=0.6', scoreModule: new URL('./examples/ctc_score.mjs', location.href) });
//   r.report.search.metric       // "score"
//   r.report.search.float_score  // the float model's character accuracy on your samples
//   r.report.selected.score      // the selected configuration's
//
// To adapt it, copy this file next to your page (a score module must be on the app's origin) and
// edit the settings below:
//   - LINES: the text of each calibration sample, in the order given to setSamples (sample i is
//     LINES[i]; a stacked .npy counts each row; only the samples used are scored, the first
//     maxSamples). Or set LINES_URL to a text file on the same origin, one line per sample.
//   - CHARSET: the recogniser's alphabet: output class k >= 1 is CHARSET[k - 1] (PaddleOCR's
//     convention; class BLANK is the CTC blank). Or CHARSET_URL: a file with one character per
//     line (PaddleOCR's dictionary format, e.g. ../samples/textline_charset.txt).
//   - OUTPUT: the output holding the logits or probabilities (null: the model's first output),
//     laid out [1, T, C] (batch first, as PaddleOCR exports), [T, 1, C] or [T, C].
// quantmix averages the per-sample scores, so the metric is the mean per-line character accuracy
// (web/ctc.js characterAccuracy pools a whole set instead: long lines weigh more there).
// Any module works the same way: export score(outputs, sampleIndex), where outputs maps each
// output name to {data: Float32Array, dims: number[]} of one sample, and return a finite number,
// higher is better. It runs in the engine's worker, synchronously, once per sample and evaluation.
import { characterAccuracy, ctcGreedyDecode } from '../ctc.js';

// ---- settings: edit these ----
/** The text of each calibration sample, in order. */
export const LINES = ['quant', 'mix', 'ctc', 'text', 'line', 'score', 'demo', 'ocr'];
/** Output class k >= 1 is CHARSET[k - 1]. */
export const CHARSET = 'abcdefghijklmnopqrstuvwxyz';
/** Files on the app's origin instead of the constants (relative to this module), or null. */
const LINES_URL = null;    // e.g. new URL('./my_lines.txt', import.meta.url)
const CHARSET_URL = null;  // e.g. new URL('../samples/textline_charset.txt', import.meta.url)
/** The output to decode (null: the first) and the blank class. */
const OUTPUT = null;
const BLANK = 0;
// ---- end of settings ----

/**
 * A score function: character accuracy of sample i's greedy CTC decode against lines[i].
 * lines: strings (mapped through charset) or arrays of class ids; charset: a string or an array
 * of characters (class k >= 1 is charset[k - 1]). Throws Error naming the sample when it has no
 * line, a reference character is not in the charset, or the output is not [1, T, C] / [T, 1, C] /
 * [T, C].
 */
export function makeCtcScore({ lines, charset, blank = BLANK, output = OUTPUT }) {
  const chars = typeof charset === 'string' ? [...charset] : Array.from(charset);
  const classOf = new Map(chars.map((c, k) => [c, k + 1]));
  const refs = lines.map((line, i) => {
    if (typeof line !== 'string') return Array.from(line, Number);
    return [...line].map((c) => {
      if (!classOf.has(c)) throw new Error(`ctc_score: line ${i} ${JSON.stringify(line)}: ${JSON.stringify(c)} is not in the charset`);
      return classOf.get(c);
    });
  });
  return function score(outputs, sampleIndex) {
    const name = output ?? Object.keys(outputs)[0];
    const out = outputs[name];
    if (!out) throw new Error(`ctc_score: the model has no output '${name}' (outputs: ${Object.keys(outputs).join(', ')})`);
    const ref = refs[sampleIndex];
    if (!ref) throw new Error(`ctc_score: no reference line for sample ${sampleIndex} (${refs.length} lines given)`);
    const dims = out.dims;
    let T;
    if (dims.length === 3 && dims[0] === 1) T = dims[1];
    else if (dims.length === 3 && dims[1] === 1) T = dims[0];
    else if (dims.length === 2) T = dims[0];
    else throw new Error(`ctc_score: output '${name}' is [${dims.join(', ')}]; expected [1, T, C], [T, 1, C] or [T, C]`);
    const C = dims[dims.length - 1];
    return characterAccuracy([[ctcGreedyDecode(out.data, T, C, blank), ref]]);
  };
}

/** A same-origin text file's lines (a trailing newline ends the last line). */
export async function fetchLines(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`ctc_score: ${url} answered ${response.status}`);
  const lines = (await response.text()).split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The score quantmix calls, from the settings above. */
export const score = makeCtcScore({
  lines: LINES_URL ? await fetchLines(LINES_URL) : LINES,
  charset: CHARSET_URL ? await fetchLines(CHARSET_URL) : CHARSET,
});
