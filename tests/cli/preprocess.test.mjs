// `quantmix run` on images with --preprocess (cli.md "Samples") against ONNX Runtime fed a tensor
// computed here, in JS, from the pixels this test wrote into the PNG itself: the oracle shares
// no code with quantmix's decoder (stb_image), resizer or preprocessing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

import { MODELS, SOURCE_DIR, describe, mulberry32, ort, qm, session, tempDir } from './helpers.mjs';
import { readNpy } from '../ops/npy.mjs';

/** Output agreement between our engine and ORT on the same input (float accumulation order). */
const MIN_SQNR_DB = 80;
/** The sample model must classify most of the bundled test images correctly through images. */
const MIN_SAMPLE_ACCURACY = 0.8;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** An 8-bit PNG (gray: channels 1, rgb: 3) of interleaved `pixels`, rows unfiltered. */
function png(width, height, channels, pixels) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : 2;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    for (let i = 0; i < stride; i++) raw[y * (stride + 1) + 1 + i] = pixels[y * stride + i];
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
                        chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function randomPixels(n, seed) {
  const rnd = mulberry32(seed);
  const px = new Uint8Array(n);
  for (let i = 0; i < n; i++) px[i] = Math.floor(rnd() * 256);
  return px;
}

function sqnrDb(ref, got) {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] * ref[i];
    e += (ref[i] - got[i]) ** 2;
  }
  if (s === 0) return e === 0 ? NaN : -Infinity;  // no signal: two zero tensors are no match
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

/** ORT on a float32 NCHW tensor; returns the single output's data. */
async function ortRun(model, inputName, dims, data) {
  const o = await ort();
  const s = await session(model);
  const r = await s.run({ [inputName]: new o.Tensor('float32', data, dims) });
  return r[s.outputNames[0]].data;
}

/** quantmix run on one image; returns {run, out} with the single output's data. */
function qmRun(model, file, pre, outName) {
  const t = tempDir('qm-pre-');
  try {
    const args = ['run', model, '--input', file, '--output-dir', join(t.dir, 'out')];
    if (pre !== null) args.push('--preprocess', pre);
    const r = qm(args);
    return { run: r, out: r.status === 0 ? readNpy(join(t.dir, 'out', `${outName}.npy`)).data : null };
  } finally {
    t.cleanup();
  }
}

const CONV = join(MODELS, 'conv_same_upper.onnx');  // x: [1, 3, 17, 17] -> y
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

test('preprocess: imagenet PNG matches ORT on the closed-form tensor', { skip: !existsSync(CONV) && 'corpus missing' }, async () => {
  const t = tempDir();
  try {
    const [H, W] = [17, 17];
    const px = randomPixels(H * W * 3, 7);
    const file = join(t.dir, 'rgb.png');
    writeFileSync(file, png(W, H, 3, px));
    const x = new Float32Array(3 * H * W);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < H * W; i++) x[c * H * W + i] = (px[i * 3 + c] / 255 - MEAN[c]) / STD[c];
    }
    const want = await ortRun(CONV, 'x', [1, 3, H, W], x);
    const r = qmRun(CONV, file, 'imagenet', 'y');
    assert.equal(r.run.status, 0, describe(r.run));
    assert.ok(sqnrDb(want, r.out) >= MIN_SQNR_DB, `SQNR ${sqnrDb(want, r.out)} dB`);

    // order=bgr, explicit scale/mean/std, and area resizing of a 34x34 image (exact 2x2 means).
    const big = randomPixels(34 * 34 * 3, 8);
    const bigFile = join(t.dir, 'big.png');
    writeFileSync(bigFile, png(34, 34, 3, big));
    const y = new Float32Array(3 * H * W);
    const mean = [10, 20, 30];
    for (let c = 0; c < 3; c++) {
      const src = 2 - c;  // bgr
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          let s = 0;
          for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) s += big[((2 * i + di) * 34 + 2 * j + dj) * 3 + src];
          y[(c * H + i) * W + j] = ((s / 4) * 0.5 - mean[c]) / 4;
        }
      }
    }
    const want2 = await ortRun(CONV, 'x', [1, 3, H, W], y);
    const r2 = qmRun(CONV, bigFile, 'scale=1/2,mean=10:20:30,std=4,order=bgr,filter=area', 'y');
    assert.equal(r2.run.status, 0, describe(r2.run));
    assert.ok(sqnrDb(want2, r2.out) >= MIN_SQNR_DB, `SQNR ${sqnrDb(want2, r2.out)} dB`);

    // A gray PNG for a 3-channel input: the gray value in every channel.
    const g = randomPixels(H * W, 9);
    const grayFile = join(t.dir, 'gray.png');
    writeFileSync(grayFile, png(W, H, 1, g));
    const z = new Float32Array(3 * H * W);
    for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) z[c * H * W + i] = g[i] / 255;
    const want3 = await ortRun(CONV, 'x', [1, 3, H, W], z);
    const r3 = qmRun(CONV, grayFile, 'unit', 'y');
    assert.equal(r3.run.status, 0, describe(r3.run));
    assert.ok(sqnrDb(want3, r3.out) >= MIN_SQNR_DB, `SQNR ${sqnrDb(want3, r3.out)} dB`);
  } finally {
    t.cleanup();
  }
});

test('preprocess: bad values and images are one-line errors naming the flag or file', { skip: !existsSync(CONV) && 'corpus missing' }, () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'rgb.png');
    writeFileSync(file, png(17, 17, 3, randomPixels(17 * 17 * 3, 1)));
    const cases = [
      ['size=0', /^error: --preprocess: size=0/],
      ['mean=1:2', /^error: --preprocess: mean has 2 values/],
      ['order=rbg', /^error: --preprocess: order=rbg: expected rgb or bgr/],
      ['colour=1', /^error: --preprocess: unknown key 'colour'/],
      ['layout=nhwc', /^error: .*rgb\.png: input 'x' \[1, 3, 17, 17\] has 17 channels in nhwc layout/],
      ['size=20', /^error: .*rgb\.png.*expected shape \[1, 3, 17, 17\], got \[1, 3, 20, 20\]/],
    ];
    for (const [pre, re] of cases) {
      const r = qmRun(CONV, file, pre, 'y');
      assert.equal(r.run.status, 1, describe(r.run));
      assert.match(r.run.stderr, re, describe(r.run));
      assert.equal(r.run.stderr.trim().split('\n').length, 1, describe(r.run));
    }
    const bad = join(t.dir, 'broken.png');
    writeFileSync(bad, Buffer.from('not a png at all'));
    const r = qmRun(CONV, bad, null, 'y');
    assert.equal(r.run.status, 1, describe(r.run));
    assert.match(r.run.stderr, /^error: .*broken\.png: cannot decode image/);
  } finally {
    t.cleanup();
  }
});

/** Arrays of a stored .npz (what np.savez writes). */
function readNpz(path) {
  const b = readFileSync(path);
  const out = {};
  let p = 0;
  while (p + 30 <= b.length && b.readUInt32LE(p) === 0x04034b50) {
    const size = b.readUInt32LE(p + 18);
    const nameLen = b.readUInt16LE(p + 26);
    const extra = b.readUInt16LE(p + 28);
    const name = b.toString('latin1', p + 30, p + 30 + nameLen).replace(/\.npy$/, '');
    const start = p + 30 + nameLen + extra;
    out[name] = readNpySlice(b.subarray(start, start + size));
    p = start + size;
  }
  return out;
}

function readNpySlice(bytes) {
  const t = tempDir();
  try {
    const f = join(t.dir, 'a.npy');
    writeFileSync(f, bytes);
    return readNpy(f);
  } finally {
    t.cleanup();
  }
}

const SAMPLE = join(SOURCE_DIR, 'web', 'samples', 'fashion_cnn.onnx');
const SAMPLE_TEST = join(SOURCE_DIR, 'web', 'samples', 'fashion_test.npz');

test('preprocess: the sample model on test-set PNGs matches ORT and the labels', { skip: !existsSync(SAMPLE) && 'no sample model' }, async () => {
  const { x, y } = readNpz(SAMPLE_TEST);
  const N = 12;
  const t = tempDir();
  let correct = 0;
  try {
    for (let k = 0; k < N; k++) {
      const px = x.data.subarray(k * 784, (k + 1) * 784);
      const file = join(t.dir, `t${k}.png`);
      writeFileSync(file, png(28, 28, 1, px));
      const want = await ortRun(SAMPLE, 'image', [1, 1, 28, 28], Float32Array.from(px, (v) => v / 255));
      const r = qmRun(SAMPLE, file, 'unit', 'logits');
      assert.equal(r.run.status, 0, describe(r.run));
      assert.ok(sqnrDb(want, r.out) >= MIN_SQNR_DB, `image ${k}: SQNR ${sqnrDb(want, r.out)} dB`);
      const arg = r.out.indexOf(Math.max(...r.out));
      if (arg === Number(y.data[k])) correct++;
    }
  } finally {
    t.cleanup();
  }
  assert.ok(correct / N >= MIN_SAMPLE_ACCURACY, `${correct}/${N} correct`);
});
