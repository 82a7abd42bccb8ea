// CTC text-line metrics (pure; no DOM, no wasm): greedy decoding of a recogniser's logits and
// character accuracy against reference labels. Conventions are PaddleOCR's, as in app/metrics.js:
// class 0 is the blank unless told otherwise. Checked against closed forms by
// tests/js/ctc.test.mjs; used by tools/eval/ctc_eval.mjs and tests/js/textline_sample.test.mjs.

/**
 * Greedy (best-path) CTC decoding of one sequence: the argmax class at each of the T steps
 * (the lowest class wins a tie), repeats collapsed, blanks dropped. A blank between two equal
 * classes separates them ([a, blank, a] decodes to [a, a]).
 * @param {Float32Array|number[]} logits  T x C values, step-major (logits[t * C + c])
 * @param {number} T  steps
 * @param {number} C  classes
 * @param {number} blank  the blank class
 * @returns {number[]} class ids
 */
export function ctcGreedyDecode(logits, T, C, blank = 0) {
  if (!Number.isInteger(T) || !Number.isInteger(C) || T < 0 || C < 1) throw new Error(`ctcGreedyDecode: bad T=${T}, C=${C}`);
  if (logits.length < T * C) throw new Error(`ctcGreedyDecode: ${logits.length} values for T=${T} x C=${C}`);
  const out = [];
  let prev = -1;
  for (let t = 0; t < T; ++t) {
    const row = t * C;
    let best = 0;
    for (let c = 1; c < C; ++c) if (logits[row + c] > logits[row + best]) best = c;
    if (best !== blank && best !== prev) out.push(best);
    prev = best;
  }
  return out;
}

/** Levenshtein distance (unit cost insertions, deletions, substitutions) between two id arrays. */
export function editDistance(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; ++i) {
    const next = [i];
    for (let j = 1; j <= b.length; ++j) {
      next.push(Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * Character accuracy over a set of lines: 1 - (sum over pairs of editDistance(predicted,
 * reference)) / (sum of reference lengths), clamped at 0 (insertions can make the error
 * exceed the reference length). Pairs are [predicted, reference] id arrays. With no reference
 * characters at all it is 1 when every prediction is empty too, else 0.
 * @param {Array<[number[], number[]]>} pairs
 * @returns {number}
 */
export function characterAccuracy(pairs) {
  let errors = 0;
  let total = 0;
  for (const [pred, ref] of pairs) {
    errors += editDistance(pred, ref);
    total += ref.length;
  }
  if (total === 0) return errors === 0 ? 1 : 0;
  return Math.max(0, 1 - errors / total);
}

/** Share of pairs whose prediction equals the reference exactly (whole-line accuracy; 0 for none). */
export function lineAccuracy(pairs) {
  if (pairs.length === 0) return 0;
  let exact = 0;
  for (const [pred, ref] of pairs) exact += pred.length === ref.length && pred.every((v, i) => v === ref[i]) ? 1 : 0;
  return exact / pairs.length;
}
