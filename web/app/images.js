// Calibration samples from the files a user drops: images are decoded in the browser
// (createImageBitmap), resized on an OffscreenCanvas and normalised by web/app/preprocess.js; .npy
// and .npz files are passed through as they are (the core parses them). Browser only.
import { decodeNpy, encodeNpy } from '../api/npy.js';
import { padRect, pixelsToTensor, tensorShape, tensorToPixels } from './preprocess.js';

const IMAGE = /\.(png|jpe?g|bmp|gif|webp)$/i;
const ARRAY = /\.(npy|npz)$/i;

/** Splits dropped files into images, arrays and the rest (refused with a message). */
export function classifySampleFiles(files) {
  const images = [];
  const arrays = [];
  const rejected = [];
  for (const f of Array.from(files ?? [])) {
    if (IMAGE.test(f.name) || /^image\//.test(f.type ?? '')) images.push(f);
    else if (ARRAY.test(f.name)) arrays.push(f);
    else rejected.push(f);
  }
  return { images, arrays, rejected };
}

/**
 * RGBA pixels of `source` (Blob) at settings.width x settings.height (bilinear, as the canvas
 * does), placed by padRect (stretched, or aspect kept and padded); returns the rectangle too.
 */
async function decodeResized(blob, settings) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch (e) {
    throw new Error(`${blob.name ?? 'image'}: the browser could not decode it as an image (${e?.message ?? e})`);
  }
  const { width, height } = settings;
  const rect = padRect(settings, bitmap.width, bitmap.height);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, rect.left, rect.top, rect.width, rect.height);
  const size = { w: bitmap.width, h: bitmap.height };
  bitmap.close();
  return { rgba: ctx.getImageData(0, 0, width, height).data, size, rect };
}

/**
 * The pixel size {w, h} of each image file (null for one the browser cannot decode: it is named
 * when it is decoded for real), for a dynamic input's size (preprocess.js sizeFromImages).
 */
export async function imageSizes(files) {
  const out = [];
  for (const f of files) {
    try {
      const bitmap = await createImageBitmap(f);
      out.push({ w: bitmap.width, h: bitmap.height });
      bitmap.close();
    } catch {
      out.push(null);
    }
  }
  return out;
}

/**
 * Image files -> samples [{name, bytes (.npy), data, shape, preview: RGBA}] with `settings`
 * (web/app/preprocess.js). Each image becomes one [1, C, H, W] (or NHWC) float32 tensor.
 */
export async function imagesToSamples(files, settings) {
  const out = [];
  for (const f of files) {
    const { rgba, size, rect } = await decodeResized(f, settings);
    const data = pixelsToTensor(rgba, settings, rect);
    const shape = tensorShape(settings);
    out.push({ name: f.name.replace(/\.[^.]+$/, '') + '.npy', source: f.name, original: size,
               bytes: encodeNpy(data, shape), data, shape, kind: 'image', file: f });
  }
  return out;
}

/** .npy/.npz files -> samples; .npy files are decoded for the preview and shape check. */
export async function arraysToSamples(files) {
  const out = [];
  for (const f of files) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    const sample = { name: f.name, source: f.name, bytes, kind: /\.npz$/i.test(f.name) ? 'npz' : 'npy' };
    if (sample.kind === 'npy') {
      const arr = decodeNpy(bytes, f.name);
      sample.shape = arr.shape;
      sample.data = arr.data;
      // A stacked calibration set ([N, C, H, W], N > 1) is N samples to the core.
      if (arr.shape.length === 4 && arr.shape[0] > 1) {
        sample.count = arr.shape[0];
        const one = arr.data.length / arr.shape[0];
        sample.data = arr.data.subarray(0, one);  // the preview shows the first
        sample.shape = [1, ...arr.shape.slice(1)];
        sample.stacked = arr.shape;
      }
    }
    out.push(sample);
  }
  return out;
}

/**
 * A preview canvas (what the model sees) for a sample with data and an image-like shape, or
 * null. `settings` gives layout and channels; the tensor is stretched to its own range.
 */
export function previewCanvas(doc, sample, settings, size = 72, maxHeight = size) {
  if (!sample.data || !sample.shape || sample.shape.length < 3) return null;
  const shape = sample.shape.length === 3 ? [1, ...sample.shape] : sample.shape;
  const nchw = settings.layout === 'nchw';
  const [c, hgt, w] = nchw ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]];
  if (!(c === 1 || c === 3) || sample.data.length !== c * hgt * w) return null;
  const rgba = tensorToPixels(sample.data, { width: w, height: hgt, channels: c, layout: settings.layout, order: settings.order });
  const canvas = doc.createElement('canvas');
  canvas.width = w;
  canvas.height = hgt;
  canvas.className = 'preview-canvas';
  // Fits a size x maxHeight box, aspect kept (a 48x320 text line stays readable).
  const k = Math.min(size / w, maxHeight / hgt);
  canvas.style.setProperty('width', `${Math.max(1, Math.round(w * k))}px`);
  canvas.style.setProperty('height', `${Math.max(1, Math.round(hgt * k))}px`);
  canvas.getContext('2d').putImageData(new ImageData(rgba, w, hgt), 0, 0);
  return canvas;
}
