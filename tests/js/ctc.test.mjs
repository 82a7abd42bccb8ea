// web/ctc.js against hand-computed closed forms: greedy CTC decodes (first and last steps, row
// stride, repeats across a blank, a non-zero blank, ties) and edit distances / character
// accuracy (pooled over lines, clamped). Each case would fail on an off-by-one loop bound or stride.
import assert from 'node:assert/strict';
import test from 'node:test';
import { characterAccuracy, ctcGreedyDecode, editDistance, lineAccuracy } from '../../web/ctc.js';

/** Logits [T, C] whose argmax at step t is path[t] (value 1 there, 0 elsewhere). */
function oneHot(path, C) {
  const a = new Float32Array(path.length * C);
  path.forEach((k, t) => { a[t * C + k] = 1; });
  return a;
}

test('ctcGreedyDecode: repeats collapse, blanks drop, a blank separates equal classes', () => {
  assert.deepEqual(ctcGreedyDecode(oneHot([1, 1, 0, 1, 2], 3), 5, 3), [1, 1, 2]);
  assert.deepEqual(ctcGreedyDecode(oneHot([3, 3, 3, 3], 4), 4, 4), [3]);
  assert.deepEqual(ctcGreedyDecode(oneHot([0, 0, 0], 3), 3, 3), []);
  assert.deepEqual(ctcGreedyDecode(oneHot([1, 2, 1, 2], 3), 4, 3), [1, 2, 1, 2]);
});

test('ctcGreedyDecode: the first and the last step count', () => {
  assert.deepEqual(ctcGreedyDecode(oneHot([2, 0, 0, 0], 3), 4, 3), [2]);
  assert.deepEqual(ctcGreedyDecode(oneHot([0, 0, 0, 1], 3), 4, 3), [1]);
  assert.deepEqual(ctcGreedyDecode(oneHot([1], 2), 1, 2), [1]);
  assert.deepEqual(ctcGreedyDecode(new Float32Array(0), 0, 5), []);
});

test('ctcGreedyDecode: the last class of a row is reachable and rows are C apart', () => {
  // C = 4; step 0 peaks at class 3 (the last of its row), step 1 at class 1. A stride of C-1 or
  // a class loop stopping at C-1 decodes something else.
  const logits = Float32Array.from([0, 0.1, 0.2, 0.9, /* step 1 */ 0.3, 0.8, 0.1, 0.0]);
  assert.deepEqual(ctcGreedyDecode(logits, 2, 4), [3, 1]);
  // Class 0 wins only when strictly largest; negative logits work (no zero initial maximum).
  assert.deepEqual(ctcGreedyDecode(Float32Array.from([-5, -1, -3, -0.5, -2, -4]), 2, 3), [1]);
  // Values beyond T * C are ignored.
  assert.deepEqual(ctcGreedyDecode(Float32Array.from([0, 1, 0, 0, 9, 0]), 1, 3), [1]);
});

test('ctcGreedyDecode: another blank class, and ties go to the lowest class', () => {
  assert.deepEqual(ctcGreedyDecode(oneHot([0, 2, 0, 0, 1, 2], 3), 6, 3, 2), [0, 0, 1]);
  assert.deepEqual(ctcGreedyDecode(Float32Array.from([0.5, 0.5, 0.1, 0.2, 0.7, 0.7]), 2, 3), [1]);
  assert.throws(() => ctcGreedyDecode(new Float32Array(5), 2, 3), /5 values for T=2 x C=3/);
});

test('editDistance: closed forms', () => {
  const ids = (s) => [...s].map((c) => c.charCodeAt(0));
  assert.equal(editDistance(ids('kitten'), ids('sitting')), 3);
  assert.equal(editDistance(ids('flaw'), ids('lawn')), 2);
  assert.equal(editDistance(ids('ab'), ids('ba')), 2);
  assert.equal(editDistance([], ids('abc')), 3);
  assert.equal(editDistance(ids('abc'), []), 3);
  assert.equal(editDistance(ids('abc'), ids('abc')), 0);
  assert.equal(editDistance(ids('abcd'), ids('abd')), 1);   // one deletion in the middle
  assert.equal(editDistance(ids('abc'), ids('abcx')), 1);   // one insertion at the end
  assert.equal(editDistance(ids('xabc'), ids('abc')), 1);   // one extra at the start
});

test('characterAccuracy: errors pooled over the reference characters, clamped at 0', () => {
  assert.equal(characterAccuracy([[[1, 2, 3], [1, 2, 3]]]), 1);
  assert.equal(characterAccuracy([[[1, 2], [1, 2, 3]]]), 1 - 1 / 3);
  // Pooled, not a mean of per-line accuracies: (2 errors) / (2 + 4 characters), not (0 + 1) / 2.
  assert.equal(characterAccuracy([[[], [1, 2]], [[1, 2, 3, 4], [1, 2, 3, 4]]]), 1 - 2 / 6);
  // One substitution and one insertion over 5 reference characters.
  assert.equal(characterAccuracy([[[1, 9, 3], [1, 2, 3]], [[5, 6, 7], [5, 6]]]), 1 - 2 / 5);
  // 5 errors against 1 reference character: 1 - 5 < 0, clamped.
  assert.equal(characterAccuracy([[[1, 1, 1, 1, 1], [2]]]), 0);
  assert.equal(characterAccuracy([[[], []]]), 1);
  assert.equal(characterAccuracy([[[4], []]]), 0);
});

test('lineAccuracy: exact matches only', () => {
  assert.equal(lineAccuracy([[[1, 2], [1, 2]], [[1, 2], [1, 2, 3]], [[1, 2, 3], [1, 2]], [[], []]]), 2 / 4);
  assert.equal(lineAccuracy([]), 0);
});
