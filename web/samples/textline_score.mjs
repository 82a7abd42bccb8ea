// The metric of the app's text-line sample (web/samples/textline_ctc.onnx): the character
// accuracy of the greedy CTC decode of each calibration line (textline_calib/NNN.png, in order)
// against its text (textline_calib/lines.txt), with the model's charset. It is the shipped score
// module (web/examples/ctc_score.mjs) with its settings taken from those two files: the app sets
// it as the run's scoreModule when the sample's lines are loaded, and the search keeps the
// configuration that reads them best. Files written by tools/train_ctc_model.py.
import { fetchLines, makeCtcScore } from '../examples/ctc_score.mjs';

/** The text of each calibration line, in order (sample i is LINES[i]). */
export const LINES = await fetchLines(new URL('./textline_calib/lines.txt', import.meta.url));

/** score(outputs, sampleIndex): character accuracy of line sampleIndex, in [0, 1]. */
export const score = makeCtcScore({
  lines: LINES,
  charset: await fetchLines(new URL('./textline_charset.txt', import.meta.url)),
});
