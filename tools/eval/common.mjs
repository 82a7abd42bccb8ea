// Helpers shared by the eval scripts (tools/eval/*.mjs): .npz reading and ONNX Runtime (onnxruntime-
// web in node, wasm backend, 1 thread) as the measuring engine for exported files.
import { readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { decodeNpy, makeArray } from '../../tests/ops/npy.mjs';

/** Arrays of a stored (np.savez) .npz, by key. Handles zip64 local headers (numpy >= 1.x). */
export function readNpz(path) {
  const buf = readFileSync(path);
  const out = {};
  let p = 0;
  while (p + 30 <= buf.length && buf.readUInt32LE(p) === 0x04034b50) {
    const method = buf.readUInt16LE(p + 8);
    let size = buf.readUInt32LE(p + 18);
    const nameLen = buf.readUInt16LE(p + 26), extraLen = buf.readUInt16LE(p + 28);
    const name = buf.subarray(p + 30, p + 30 + nameLen).toString('utf8');
    const extra = buf.subarray(p + 30 + nameLen, p + 30 + nameLen + extraLen);
    if (size === 0xffffffff) {
      for (let e = 0; e + 4 <= extra.length;) {
        const id = extra.readUInt16LE(e), len = extra.readUInt16LE(e + 2);
        if (id === 1) size = Number(extra.readBigUInt64LE(e + 4 + 8));
        e += 4 + len;
      }
    }
    if (method !== 0) throw new Error(`${path}: entry ${name} is compressed (np.savez_compressed); use np.savez`);
    const start = p + 30 + nameLen + extraLen;
    out[name.replace(/\.npy$/, '')] = decodeNpy(buf.subarray(start, start + size), `${path}:${name}`);
    p = start + size;
  }
  return out;
}

let ortModule = null;
/** onnxruntime-web, wasm backend, 1 thread (loaded once). */
export async function loadOrt() {
  if (!ortModule) {
    ortModule = await import('onnxruntime-web');
    ortModule.env.wasm.numThreads = 1;
    ortModule.env.logLevel = 'error';
  }
  return ortModule;
}

/** Runs `model` (a file) in ORT on every sample ({data, shape} float32 for its first input);
 *  returns output 0 of each sample as a Float32Array. */
export async function runAll(model, inputName, samples) {
  const ort = await loadOrt();
  const s = await ort.InferenceSession.create(readFileSync(model), { executionProviders: ['wasm'], logSeverityLevel: 3 });
  const outs = [];
  for (const x of samples) {
    const r = await s.run({ [inputName]: new ort.Tensor('float32', x.data, x.shape) });
    outs.push(Float32Array.from(r[s.outputNames[0]].data));
  }
  await s.release?.();
  return outs;
}

export const argmax = (a) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; };

/** Output SQNR (dB, summed over samples as in spec amp.md section 3), top-1 agreement with the
 *  float outputs, top-1 accuracy against `labels` (null without) and the predicted classes. */
export function metrics(fp, q, labels) {
  let sig = 0, noise = 0, agree = 0, correct = 0;
  const pred = new Int32Array(fp.length);
  for (let k = 0; k < fp.length; k++) {
    for (let i = 0; i < fp[k].length; i++) { sig += fp[k][i] ** 2; noise += (fp[k][i] - q[k][i]) ** 2; }
    const b = argmax(q[k]);
    pred[k] = b;
    if (argmax(fp[k]) === b) agree++;
    if (labels && b === labels[k]) correct++;
  }
  return { sqnr: noise === 0 ? Infinity : 10 * Math.log10(sig / noise), agree: agree / fp.length,
           acc: labels ? correct / fp.length : null, pred };
}

/** Spearman rank correlation (average ranks for ties). */
export function spearman(x, y) {
  const rank = (v) => {
    const idx = v.map((_, i) => i).sort((a, b) => v[a] - v[b]);
    const r = new Array(v.length);
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
      for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const a = rank(x), b = rank(y);
  const mean = (v) => v.reduce((s, t) => s + t, 0) / v.length;
  const ma = mean(a), mb = mean(b);
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - ma) * (b[i] - mb); da += (a[i] - ma) ** 2; db += (b[i] - mb) ** 2; }
  return num / Math.sqrt(da * db);
}

/** Paired comparison of two classifiers on the same labelled images: images only `a` gets right,
 *  images only `b` gets right, and the two-sided exact McNemar (sign test) p-value. */
export function mcnemar(predA, predB, labels) {
  let onlyA = 0, onlyB = 0;
  for (let k = 0; k < labels.length; k++) {
    const a = predA[k] === labels[k], b = predB[k] === labels[k];
    if (a && !b) onlyA++;
    else if (b && !a) onlyB++;
  }
  const n = onlyA + onlyB, m = Math.min(onlyA, onlyB);
  let tail = 0, c = 1;  // sum_{i<=m} C(n,i) / 2^n, in logs for large n
  for (let i = 0; i <= m; i++) {
    tail += Math.exp(Math.log(c) - n * Math.LN2);
    c = c * (n - i) / (i + 1);
  }
  return { onlyA, onlyB, p: Math.min(1, 2 * tail) };
}

/** The labelled Fashion-MNIST test images of `files` (.npz with `x` uint8 [n,1,28,28] and `y`), in
 *  order, at most `limit`: {images: [float32 [1,1,28,28] = pixels / 255], labels: [class]}. */
export function readLabelledImages(files, limit = Infinity) {
  const images = [], labels = [];
  for (const f of files) {
    if (!existsSync(f) || images.length >= limit) continue;
    const test = readNpz(f);
    const [m, c, h, w] = test.x.shape;
    for (let k = 0; k < m; k++) {
      const d = new Float32Array(c * h * w);
      for (let i = 0; i < d.length; i++) d[i] = test.x.data[k * d.length + i] / 255;
      images.push(makeArray('float32', [1, c, h, w], d));
      labels.push(Number(test.y.data[k]));
    }
  }
  return { images, labels };
}
