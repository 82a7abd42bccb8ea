// Class labels for the user's samples, as the CLI's --labels reads them (src/cli/cmd_quantize.cpp
// read_labels): a text file with one integer class per line (blank lines and lines starting with
// '#' skipped) or a 1-D integer .npy. One label per sample, in the order the samples are listed;
// with them the search's metric and the validation become top-1 on those samples. Pure (no DOM):
// tests/js/labels.test.mjs.
import { decodeNpy } from '../api/npy.js';

/** A labels file the page refuses; the message names the file (and the line). */
export class LabelsError extends Error {
  constructor(message) {
    super(message);
    this.name = 'LabelsError';
  }
}

const INT_DTYPES = ['<i8', '<i4', '|u1', '<u1', '|i1'];

/** Whether `name` looks like a labels file rather than a sample (.txt, .labels, .csv). */
export function isLabelsName(name) {
  return /\.(txt|labels|csv)$/i.test(String(name ?? ''));
}

/** Whether .npy `bytes` hold labels (a 1-D integer array) rather than a sample tensor. */
export function isLabelsNpy(bytes) {
  try {
    const head = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 256)));
    const descr = /'descr':\s*'([^']+)'/.exec(head)?.[1];
    const shape = /'shape':\s*\(([^)]*)\)/.exec(head)?.[1];
    return INT_DTYPES.includes(descr) && shape !== undefined && shape.split(',').filter((s) => s.trim() !== '').length === 1;
  } catch {
    return false;
  }
}

/**
 * Labels file bytes -> Int32Array. `name` ends in .npy: a 1-D integer array; anything else is
 * text, one integer per line. Throws LabelsError naming the file (and line) otherwise; negative
 * classes are refused as the core refuses them.
 */
export function parseLabels(bytes, name = 'labels.txt') {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (/\.npy$/i.test(name)) {
    let arr;
    try {
      arr = decodeNpy(b, name);
    } catch (e) {
      throw new LabelsError(e.message);
    }
    if (!INT_DTYPES.includes(arr.dtype)) throw new LabelsError(`${name}: labels must be integers (an int64 or int32 .npy), got ${arr.dtype}`);
    if (arr.shape.length !== 1) throw new LabelsError(`${name}: expected a 1-D array of labels, got shape [${arr.shape}]`);
    if (!arr.data.length) throw new LabelsError(`${name}: no labels in the file (expected one per sample)`);
    const out = Int32Array.from(arr.data);
    const neg = out.findIndex((v) => v < 0);
    if (neg >= 0) throw new LabelsError(`${name}: label ${neg} is ${out[neg]} (classes are 0 or more)`);
    return out;
  }
  if (b.length > 16 << 20) throw new LabelsError(`${name}: ${b.length} bytes is too large for a labels file`);
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw new LabelsError(`${name}: not a text file (expected one integer class per line, or an integer .npy)`);
  }
  const labels = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; ++i) {
    const tok = lines[i].replace(/^[ \t\r]+|[ \t\r]+$/g, '');
    if (tok === '' || tok.startsWith('#')) continue;
    if (!/^[+-]?\d{1,9}$/.test(tok)) {
      const shown = tok.length > 40 ? `${tok.slice(0, 40)}...` : tok;
      throw new LabelsError(`${name}:${i + 1}: '${shown}' is not an integer class (expected one integer per line)`);
    }
    const v = Number(tok);
    if (v < 0) throw new LabelsError(`${name}:${i + 1}: ${v} is negative (classes are 0 or more)`);
    labels.push(v);
  }
  if (!labels.length) throw new LabelsError(`${name}: no labels in the file (expected one integer per line)`);
  return Int32Array.from(labels);
}

/** The number of samples the core sees in the page's list (a stacked .npy counts its rows). */
export function sampleTotal(samples) {
  return samples.reduce((sum, s) => sum + (s.count ?? 1), 0);
}

/** A one-line problem when `labels` (from file `name`) do not match `count` samples, else null. */
export function labelsProblem(labels, name, count) {
  if (!labels) return null;
  if (labels.length === count) return null;
  return `${name}: ${labels.length} label${labels.length === 1 ? '' : 's'} for ${count} sample${count === 1 ? '' : 's'} (one integer class per sample, in the order the samples are listed)`;
}

/**
 * The labels of the samples the core uses: the first `used` of them (the "Samples used"
 * setting), as a plain array for the API's `labels` option.
 */
export function labelsForRun(labels, used) {
  return Array.from(labels.subarray(0, Math.min(labels.length, used)));
}

/** The labels after the sample file at `index` is removed from `samples` (its rows go too). */
export function removeSampleLabels(labels, samples, index) {
  if (!labels) return labels;
  let start = 0;
  for (let i = 0; i < index; ++i) start += samples[i].count ?? 1;
  const n = samples[index]?.count ?? 1;
  const out = new Int32Array(labels.length - Math.min(n, Math.max(0, labels.length - start)));
  out.set(labels.subarray(0, start), 0);
  out.set(labels.subarray(start + n), start);
  return out;
}

/** The index of each sample file's first row among all samples (for validation per file). */
export function sampleOffsets(samples) {
  const out = [];
  let k = 0;
  for (const s of samples) { out.push(k); k += s.count ?? 1; }
  return out;
}
