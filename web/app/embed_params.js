// The page's URL parameters, which configure it for an embedded demo (README "Embedding"): an
// <iframe> of index.html (or the <quantmix-demo> element of web/embed.js, which builds that
// iframe) says which model and samples to open, the search settings, whether to run at once and
// which panels to show. The parameters are user input: every file URL must resolve to this
// page's own origin over http(s) (no other origin, no javascript:, data: or blob:), candidates,
// target and the rest are checked like the form's fields, and each refusal is one line naming
// the parameter, shown on the page instead of acting on it. Pure (no DOM): node --test covers it
// with hostile inputs (tests/js/embed.test.mjs).
import { parseInputShapes } from './input_shapes.js';
import { PRESETS } from './preprocess.js';
import { parseCandidateList, targetSpec } from './results.js';
import { SAMPLE_MODELS } from './sample_models.js';
import { MAX_PARAM_LENGTH, quoteValue, sameOriginUrl } from '../api/urls.js';

// The same-origin check and the quoting are the JS API's (web/api/urls.js: score modules use them).
export { MAX_PARAM_LENGTH, quoteValue, sameOriginUrl };

/** The parameters the page understands (anything else is reported, to catch typos). */
export const KNOWN_PARAMS = ['model', 'sample', 'samples', 'labels', 'score', 'candidates', 'target', 'bits', 'profile', 'max-samples',
  'preprocess', 'input-shapes', 'autorun', 'panels', 'embed', 'demo', 'empty'];

/** The page's panels, in order, as `panels=` names them. */
export const PANELS = ['model', 'samples', 'settings', 'results', 'export'];

/** The homogeneous modes of the settings form (`bits=`). */
export const BITS = ['W8A8', 'W8A16', 'W4A8', 'W16A16'];
export const PROFILES = ['generic', 'npu'];

/** `samples=` naming the bundled sample's calibration images (those of `sample=`, else the default sample's). */
export const BUNDLED_SAMPLES = 'bundled';

/** At most this many sample files from `samples=` (ranges expanded), and characters per value. */
export const MAX_SAMPLE_URLS = 256;

/**
 * "calib/{000..063}.png" -> 64 names; at most one numeric range per entry, zero-padded when
 * the bounds are. Throws Error (one line) on a bad or too long range.
 */
export function expandRange(entry, param = 'samples', limit = MAX_SAMPLE_URLS) {
  const m = /\{(\d{1,6})\.\.(\d{1,6})\}/.exec(entry);
  if (!m) {
    if (/[{}]/.test(entry)) throw new Error(`${param}: ${quoteValue(entry)}: a range is written {000..063} (two whole numbers)`);
    return [entry];
  }
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  if (hi < lo) throw new Error(`${param}: ${quoteValue(entry)}: the range goes down (${lo} > ${hi})`);
  if (hi - lo + 1 > limit) throw new Error(`${param}: ${quoteValue(entry)} names ${hi - lo + 1} files (at most ${limit})`);
  const width = m[1].length === m[2].length && m[1].startsWith('0') ? m[1].length : 0;
  const rest = entry.slice(m.index + m[0].length);
  if (/[{}]/.test(rest) || /[{}]/.test(entry.slice(0, m.index))) throw new Error(`${param}: ${quoteValue(entry)}: one range per file name`);
  const out = [];
  for (let k = lo; k <= hi; ++k) out.push(entry.slice(0, m.index) + String(k).padStart(width, '0') + rest);
  return out;
}

/** A flag parameter: present (empty, 1, true, yes) or absent / 0 / false / no. */
function flag(params, name, problems) {
  if (!params.has(name)) return false;
  const v = params.get(name).trim().toLowerCase();
  if (['', '1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  problems.push(`${name}: ${quoteValue(v)} — expected nothing, 1 or 0`);
  return false;
}

/**
 * Reads the page's URL parameters. `search`: location.search (or a URLSearchParams), `base`:
 * the page's URL. Returns {config, problems}: config = {embed, autorun, demo, empty, model (URL
 * href | null), sample (a bundled sample's id, web/app/sample_models.js | null), samples (URL hrefs | 'bundled' | null), labels (href | null), score (a score module's href | null), candidates, target
 * ('bops=0.6'), targetKind, targetValue, bits, profile, maxSamples, preprocess, inputShapes,
 * panels (Set), refused (Set of parameter names)}, every field null/false when not given or
 * refused; problems: one line each, starting with the parameter's name.
 */
export function parseEmbedParams(search, base) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search);
  const problems = [];
  const config = { embed: false, autorun: false, demo: false, empty: false, model: null, sample: null, samples: null, labels: null,
    score: null, candidates: null, target: null, targetKind: null, targetValue: null, bits: null, profile: null, maxSamples: null,
    preprocess: null, inputShapes: null, panels: new Set(PANELS) };
  const seen = new Set();
  // Unknown names are reported only on a page configured by its URL (a tracking parameter on a
  // plain visit to the app says nothing).
  const configured = [...params.keys()].some((k) => KNOWN_PARAMS.includes(k) && k !== 'demo' && k !== 'empty');
  for (const [name, value] of params) {
    if (!KNOWN_PARAMS.includes(name)) {
      if (configured && !seen.has(name)) problems.push(`${quoteValue(name).slice(1, -1)}: unknown parameter (known: ${KNOWN_PARAMS.join(', ')})`);
      seen.add(name);
      continue;
    }
    if (name !== 'samples' && seen.has(name)) problems.push(`${name}: given more than once (the first is used)`);
    if (value.length > MAX_PARAM_LENGTH) problems.push(`${name}: ${value.length} characters (at most ${MAX_PARAM_LENGTH})`);
    seen.add(name);
  }
  const get = (name) => {
    const v = params.get(name);
    return v === null || v.length > MAX_PARAM_LENGTH ? null : v;
  };
  config.embed = flag(params, 'embed', problems);
  config.autorun = flag(params, 'autorun', problems);
  config.demo = params.has('demo');
  config.empty = params.has('empty');

  const url = (name) => {
    const v = get(name);
    if (v === null) return null;
    try {
      return sameOriginUrl(v, base, name);
    } catch (e) {
      problems.push(e.message);
      return null;
    }
  };
  config.model = url('model');
  config.labels = url('labels');
  config.score = url('score');
  const sample = get('sample');
  if (sample !== null) {
    const ids = SAMPLE_MODELS.map((m) => m.id);
    if (!ids.includes(sample.trim())) problems.push(`sample: ${quoteValue(sample)} — expected one of ${ids.join(', ')} (the bundled sample models)`);
    else if (params.has('model')) problems.push('sample: give either model= (your model) or sample= (a bundled one), not both');
    else config.sample = sample.trim();
  }

  // samples: repeated, or comma-separated; each may hold one {000..063} range; "bundled".
  const entries = params.getAll('samples').filter((v) => v.length <= MAX_PARAM_LENGTH)
    .flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (params.has('samples') && !entries.length) problems.push('samples: empty (give file paths on this site, or bundled)');
  if (entries.length === 1 && entries[0] === BUNDLED_SAMPLES) config.samples = BUNDLED_SAMPLES;
  else if (entries.length) {
    const list = [];
    let bad = false;
    for (const entry of entries) {
      try {
        if (entry === BUNDLED_SAMPLES) throw new Error('samples: bundled cannot be mixed with other files');
        for (const one of expandRange(entry, 'samples', MAX_SAMPLE_URLS - list.length)) list.push(sameOriginUrl(one, base, 'samples'));
        if (list.length > MAX_SAMPLE_URLS) throw new Error(`samples: more than ${MAX_SAMPLE_URLS} files`);
      } catch (e) {
        problems.push(e.message);
        bad = true;
        break;  // one line for the first bad entry
      }
    }
    config.samples = bad ? null : list;
  }

  const candidates = get('candidates');
  if (candidates !== null) {
    try {
      config.candidates = parseCandidateList(candidates.slice(0, 200));
    } catch (e) {
      problems.push(`candidates: ${e.message.replace(/^Candidates: /, '')}`);
    }
  }
  const target = get('target');
  if (target !== null) {
    const m = /^\s*([a-z-]+)\s*=\s*(.*)$/i.exec(target);
    try {
      if (!m) throw new Error(`${quoteValue(target)} — expected KIND=VALUE, e.g. bops=0.6, size=0.5, sqnr=30, sqnr-drop=1`);
      config.target = targetSpec(m[1].toLowerCase(), m[2]);
      config.targetKind = m[1].toLowerCase();
      config.targetValue = config.target.slice(config.target.indexOf('=') + 1);
    } catch (e) {
      problems.push(`target: ${e.message.replace(/^Target /, '')}`);
    }
  }
  const bits = get('bits');
  if (bits !== null) {
    const b = bits.trim().toUpperCase();
    if (BITS.includes(b)) config.bits = b;
    else problems.push(`bits: ${quoteValue(bits)} — expected one of ${BITS.join(', ')} (or leave it out for the mixed-precision search)`);
  }
  const profile = get('profile');
  if (profile !== null) {
    if (PROFILES.includes(profile.trim())) config.profile = profile.trim();
    else problems.push(`profile: ${quoteValue(profile)} — expected ${PROFILES.join(' or ')}`);
  }
  const max = get('max-samples');
  if (max !== null) {
    const n = Number(max);
    if (/^\s*\d+\s*$/.test(max) && n >= 1 && n <= 64) config.maxSamples = n;
    else problems.push(`max-samples: ${quoteValue(max)} — expected a whole number from 1 to 64`);
  }
  const pre = get('preprocess');
  if (pre !== null) {
    if (Object.hasOwn(PRESETS, pre.trim())) config.preprocess = pre.trim();
    else problems.push(`preprocess: ${quoteValue(pre)} — expected one of ${Object.keys(PRESETS).join(', ')}`);
  }
  const shapes = get('input-shapes');
  if (shapes !== null) {
    try {
      parseInputShapes(shapes);
      config.inputShapes = shapes.trim();
    } catch (e) {
      problems.push(`input-shapes: ${e.message}`);
    }
  }
  const panels = get('panels');
  if (panels !== null) {
    const names = panels.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
    const unknown = names.filter((p) => !PANELS.includes(p));
    if (unknown.length) problems.push(`panels: ${quoteValue(unknown[0])} is not a panel (expected some of ${PANELS.join(', ')})`);
    else if (!names.length) problems.push(`panels: empty (expected some of ${PANELS.join(', ')})`);
    else config.panels = new Set(names);
  }
  if (!config.panels.has('settings') && !config.autorun && !config.empty) {
    problems.push('panels: the settings panel is hidden and autorun is off, so nothing can start a run');
  }
  if (config.samples === BUNDLED_SAMPLES && config.model) {
    problems.push('samples: bundled is the sample model\'s images; give this model\'s own sample files');
    config.samples = null;
  }
  if (config.labels && !(Array.isArray(config.samples) && config.samples.length)) {
    problems.push('labels: give the labelled samples with samples= too (one class per sample, in that order)');
    config.labels = null;
  }
  // Each line starts with the parameter it is about.
  config.refused = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))));
  return { config, problems };
}
