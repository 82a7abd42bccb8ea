// The sample models bundled with the app (web/samples/, made by tools/): what the model step's
// sample picker offers and what the embed parameter `sample=` names. Pure data and lookups (no
// DOM): the app (web/app/model.js) opens them, embed_params.js validates `sample=` against the ids.
//
// Paths are relative to the app page's directory (web/). Fields: id (the picker's value and
// `sample=`), title, model, calib (the calibration files, in order), autoSamples (the calibration
// files are loaded with the model: the sample needs them for its metric), scoreModule (a
// same-origin module exporting score(outputs, sampleIndex) for those files: the metric of the
// search and the validation), metric ({label, percent, describe(n)} naming that score on screen).

/** `count` files dir/000.png, dir/001.png, ... */
const numbered = (dir, count) => Array.from({ length: count }, (_, k) => `${dir}/${String(k).padStart(3, '0')}.png`);

export const SAMPLE_MODELS = [
  {
    id: 'fashion',
    title: 'Fashion-MNIST classifier (CNN)',
    model: 'samples/fashion_cnn.onnx',
    calib: numbered('samples/calib', 64),
    autoSamples: false,
    scoreModule: null,
    metric: null,
  },
  {
    id: 'textline',
    title: 'Text-line recogniser (CTC)',
    model: 'samples/textline_ctc.onnx',
    calib: numbered('samples/textline_calib', 32),
    autoSamples: true,
    scoreModule: 'samples/textline_score.mjs',
    metric: {
      label: 'Character accuracy',
      percent: true,
      describe: (n) => `character accuracy of the greedy CTC decode on the sample's ${n} labelled lines`,
    },
  },
];

/** The sample the quick start and a plain `?autorun` open. */
export const DEFAULT_SAMPLE = 'fashion';

/** The bundled sample with this id, or null. */
export function sampleModel(id) {
  return SAMPLE_MODELS.find((m) => m.id === id) ?? null;
}

/** The bundled sample whose model file is `name` (e.g. "textline_ctc.onnx"), or null. */
export function sampleModelByFile(name) {
  return SAMPLE_MODELS.find((m) => m.model.split('/').pop() === name) ?? null;
}

/**
 * The metric shown for a run's score module: the bundled sample's own ({label, percent,
 * describe}) when `href` is that sample's module, else a generic "Score" naming the module.
 * `href` is absolute; `base` the app page's URL (to compare with the sample's relative path).
 */
export function scoreMetric(href, base, sample = null) {
  if (!href) return null;
  const own = sample?.scoreModule && new URL(sample.scoreModule, base).href === href ? sample : null;
  // Shown relative to the app's directory when it is under it (samples/textline_score.mjs).
  const dir = new URL('./', base).href;
  const path = href.startsWith(dir) ? href.slice(dir.length) : new URL(href).pathname;
  if (own) return { ...own.metric, href, path, sample: own.id };
  return { label: 'Score', percent: false, href, path, sample: null,
    describe: (n) => `the mean of score(outputs, sampleIndex) from ${path} over ${n ? `the ${n} samples used` : 'the samples used'}` };
}
