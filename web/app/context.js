// What the app is bound to: the document, URL and window it runs in, its elements (ui), its
// state and the URL's configuration (embed). Nothing is bound on import: start() (app.js) calls
// bind() once, with the browser's objects or, under node --test, a fake document, location and
// engine. The other app modules import these live bindings and see them once bound.
import { parseEmbedParams } from './embed_params.js';
import { Quantmix } from '../api/quantmix.js';

// The app's directory (where index.html is): paths of the bundled sample models and their
// calibration files (web/app/sample_models.js, web/samples/) are relative to it.
export const APP_DIR = new URL('../', import.meta.url).href;
export const appUrl = (path) => new URL(path, APP_DIR).href;

// Each built-in profile's candidates (src/mixed_precision/profile.cpp): picking a profile ticks them.
export const PROFILE_CANDIDATES = { generic: ['W4A8', 'W8A8', 'W8A16', 'W16A16'], npu: ['W4A8', 'W8A8', 'W4A16', 'W8A16'] };

export let doc = null;     // the document
export let loc = null;     // its location (the URL's parameters configure an embedded demo)
export let win = null;     // its window (drops, the parent frame)
export let ui = null;      // the page's elements by role
export let state = null;   // what the page holds between events
export let params = null;  // the URL's search parameters
export let embed = null;   // parseEmbedParams(params): {config, problems}
export let engine = { Quantmix };  // what starts the engine (a fake under node --test)

/** The page's elements, by the ids of index.html. */
function collectUi(d) {
  const $ = (id) => d.getElementById(id);
  return {
    app: $('app'), dropZone: $('drop-zone'), fileInput: $('file-input'), chooseButton: $('choose-button'),
    sampleButton: $('sample-button'), samplePick: $('sample-pick'), loadStatus: $('load-status'), banner: $('banner'),
    bannerTitle: $('banner-title'), bannerMessage: $('banner-message'), bannerClose: $('banner-close'),
    details: $('model-details'), summary: $('summary'), empty: $('empty-state'), version: $('engine-version'),
    demoNote: $('demo-note'),
    stepSamples: $('step-samples'), sampleDrop: $('sample-drop'), sampleInput: $('sample-input'),
    sampleChoose: $('sample-choose'), sampleBuiltin: $('sample-builtin'), sampleClear: $('sample-clear'),
    sampleCount: $('sample-count'), previews: $('sample-previews'), ppForm: $('preprocess-form'),
    pp: { preset: $('pp-preset'), height: $('pp-height'), width: $('pp-width'), layout: $('pp-layout'),
          scale: $('pp-scale'), order: $('pp-order'), mean: $('pp-mean'), std: $('pp-std'), cli: $('pp-cli'),
          pad: $('pp-pad'), padValue: $('pp-pad-value') },
    stepSettings: $('step-settings'), settingsForm: $('settings-form'), profile: $('set-profile'), mode: $('set-mode'), learnedRounding: $('set-learned-rounding'), biasCorrection: $('set-bias-correction'),
    candidates: $('set-candidates'), targetKind: $('set-target-kind'), targetValue: $('set-target-value'),
    targetSlider: $('set-target-slider'), targetSliderField: $('target-slider-field'),
    maxSamples: $('set-max-samples'), frontPoints: $('set-front-points'), scoreModule: $('set-score-module'), scoreStatus: $('score-module-status'), runButton: $('run-button'), cancelButton: $('cancel-button'),
    runStatus: $('run-status'), phases: $('phases'), liveFront: $('live-front'),
    stepResults: $('step-results'), resultsSub: $('results-sub'), resultsTotals: $('results-totals'),
    resultsPareto: $('results-pareto'), resultsSide: $('results-side'), resultsStrip: $('results-strip'),
    resultsTable: $('results-table'), resultsError: $('results-error'), resultsErrorTitle: $('results-error-title'),
    resultsErrorMessage: $('results-error-message'), resultsErrorClose: $('results-error-close'),
    stepExport: $('step-export'), exportNote: $('export-note'), dlModel: $('dl-model'), dlEncodings: $('dl-encodings'), dlReport: $('dl-report'),
    validateButton: $('validate-button'), validateResult: $('validate-result'), exportError: $('export-error'),
    exportErrorTitle: $('export-error-title'), exportErrorMessage: $('export-error-message'), exportErrorClose: $('export-error-close'),
    labelsChoose: $('labels-choose'), labelsInput: $('labels-input'), labelsStatus: $('labels-status'), labelsRemove: $('labels-remove'),
    metricNote: $('metric-note'), ppAuto: $('pp-auto'), paramProblems: $('param-problems'), openFull: $('open-full'),
  };
}

/**
 * Binds the app to a page: {document, location, window} (the browser's, or fakes), and the
 * engine's class (Quantmix, or a fake with the same create/quantize/evaluate/... surface).
 * Returns {ui, state} (for tests and the console).
 */
export function bind({ document, location, window, Quantmix: Q = Quantmix }) {
  doc = document;
  loc = location;
  win = window;
  engine = { Quantmix: Q };
  ui = collectUi(document);
  params = new URLSearchParams(location.search);
  // The URL's configuration (an embedded demo: README "Embedding"), checked: refusals are listed
  // on the page (#param-problems) and stop autorun.
  embed = parseEmbedParams(params, location.href);
  state = {
    qm: null,
    qmStarting: null,   // the promise of Quantmix.create() while the engine starts
    demo: params.has('demo'),
    model: null,        // {name, blob}
    sampleModel: null,  // the bundled sample open (web/app/sample_models.js), null for the user's model
    external: [],       // [{name, blob}]
    inspect: null,      // normalized inspect report
    shapesText: '',
    settings: null,     // preprocessing settings
    samples: [],        // [{name, bytes, data?, shape?, source, kind}]
    labels: null,       // {name, values: Int32Array}: one class per sample (a stacked .npy's rows each), in order
    busy: false,
    running: null,      // the request to the engine in progress: 'quantize' | 'evaluate' | 'select' | 'export'
    result: null,       // what is shown: {report (raw), model, encodings, demo} (model null until exported)
    report: null,       // normalized
    pointIndex: null,   // the front point the user clicked (its configuration is shown), null = the search's pick
    overrides: new Map(),  // layer -> candidate forced on top of it (the API's current.layerBits)
    tableView: {},      // the per-layer table's sort and filter, kept across re-renders
    enlarged: null,     // the sample preview shown large
    pendingSelect: false,  // the target moved while a request ran: re-select when it ends
    renders: 0,
    requests: 0,
  };
  return { ui, state };
}
