// Image preprocessing for calibration samples: the form's settings (pre-filled from the model's
// input shape, with the CLI's presets) and the pure pixel -> tensor transform. No DOM here, so
// node --test covers it (tests/js/preprocess.test.mjs); decoding and resizing live in
// web/app/images.js (createImageBitmap + OffscreenCanvas, browser only).

/** A preprocessing setting the form or the API rejects; the message is shown as is. */
export class PreprocessError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PreprocessError';
  }
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** The presets of cli.md's --preprocess, as the form's fields. */
export const PRESETS = {
  imagenet: { scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD, order: 'rgb' },
  pm1: { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: 'rgb' },
  unit: { scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], order: 'rgb' },
  gray: { scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], order: 'rgb', gray: true },
};

/**
 * Reads an image input's layout from its declared shape: [N, C, H, W] with C in {1, 3}
 * (nchw) or [N, H, W, C] (nhwc). Dynamic dims (strings/null) become null. Returns
 * {layout, channels, height, width, batch} or null when the input is not image-like.
 */
export function imageGeometry(shape) {
  if (!Array.isArray(shape) || shape.length !== 4) return null;
  const num = (d) => (typeof d === 'number' && d > 0 ? d : null);
  const [n, a, b, c] = shape.map(num);
  if (a === 1 || a === 3) return { layout: 'nchw', channels: a, height: b, width: c, batch: n };
  if (c === 1 || c === 3) return { layout: 'nhwc', channels: c, height: a, width: b, batch: n };
  if (a === null && c === null) return { layout: 'nchw', channels: 3, height: b, width: c, batch: n };
  return null;
}

/**
 * Form defaults for a model input {name, dtype, shape}: the size and layout from the shape,
 * preset `gray` for one channel (Fashion-MNIST-like) and `imagenet` for three. A dimension the
 * model leaves dynamic is marked auto (autoHeight / autoWidth): the first images added set it
 * (sizeFromImages); 224 until then.
 */
export function defaultSettings(input) {
  const geo = imageGeometry(input?.shape);
  const channels = geo?.channels ?? 3;
  const preset = channels === 1 ? 'gray' : 'imagenet';
  return {
    preset,
    height: geo?.height ?? 224,
    width: geo?.width ?? 224,
    autoHeight: !geo?.height,
    autoWidth: !geo?.width,
    layout: geo?.layout ?? 'nchw',
    channels,
    pad: 'none',
    padValue: 0,
    ...clonePreset(preset),
  };
}

/**
 * The size of a dynamic image input taken from the images added, [{w, h}] in pixels: with the
 * height fixed (a text-line model, 1x3x48xW) the width that keeps the widest image's aspect at
 * that height, so no image is squeezed; with both dynamic, the first image's own size. Capped at
 * 4096. Returns the settings with the dimension set and no longer auto (it is the user's from now
 * on); unchanged when nothing is auto or there are no sizes.
 */
export function sizeFromImages(settings, sizes) {
  const ok = (sizes ?? []).filter((z) => z && z.w > 0 && z.h > 0);
  if (!ok.length || !(settings.autoHeight || settings.autoWidth)) return settings;
  const cap = (v) => Math.min(4096, Math.max(1, Math.round(v)));
  const out = { ...settings, autoHeight: false, autoWidth: false };
  if (settings.autoHeight && settings.autoWidth) {
    out.height = cap(ok[0].h);
    out.width = cap(ok[0].w);
  } else if (settings.autoWidth) {
    out.width = cap(Math.max(...ok.map((z) => (settings.height * z.w) / z.h)));
  } else {
    out.height = cap(Math.max(...ok.map((z) => (settings.width * z.h) / z.w)));
  }
  return out;
}

function clonePreset(name) {
  const p = PRESETS[name];
  if (!p) throw new PreprocessError(`Unknown preset "${name}" (expected ${Object.keys(PRESETS).join(', ')})`);
  return { scale: p.scale, mean: [...p.mean], std: [...p.std], order: p.order, gray: Boolean(p.gray) };
}

/** Settings with `preset` applied over the current size and layout. */
export function applyPreset(settings, preset) {
  return { ...settings, preset, ...clonePreset(preset) };
}

/** "0.485:0.456:0.406" -> [0.485, 0.456, 0.406]; one value is repeated for every channel. */
export function parseTriple(text, what) {
  const parts = String(text).split(/[:,\s]+/).filter((p) => p !== '');
  const values = parts.map(Number);
  if (!(values.length === 1 || values.length === 3) || values.some((v) => !Number.isFinite(v))) {
    throw new PreprocessError(`${what} "${text}": expected one number or three separated by ":" (e.g. 0.485:0.456:0.406)`);
  }
  return values.length === 1 ? [values[0], values[0], values[0]] : values;
}

/** "1/255" or "0.0039" -> number. */
export function parseScale(text) {
  const s = String(text).trim();
  const m = /^([0-9.eE+-]+)\s*\/\s*([0-9.eE+-]+)$/.exec(s);
  const v = m ? Number(m[1]) / Number(m[2]) : Number(s);
  if (!Number.isFinite(v) || v === 0 || s === '') {
    throw new PreprocessError(`Scale "${text}": expected a non-zero number or a fraction like 1/255`);
  }
  return v;
}

/** Checks a settings object; throws PreprocessError naming the field. Returns it. */
export function validateSettings(s) {
  for (const key of ['height', 'width']) {
    if (!Number.isInteger(s[key]) || s[key] < 1 || s[key] > 4096) {
      throw new PreprocessError(`Image ${key} "${s[key]}": expected a whole number of pixels between 1 and 4096`);
    }
  }
  if (s.channels !== 1 && s.channels !== 3) throw new PreprocessError(`Channels ${s.channels}: expected 1 or 3`);
  if (s.layout !== 'nchw' && s.layout !== 'nhwc') throw new PreprocessError(`Layout "${s.layout}": expected nchw or nhwc`);
  if (s.order !== 'rgb' && s.order !== 'bgr') throw new PreprocessError(`Channel order "${s.order}": expected rgb or bgr`);
  if (s.std.some((v) => v === 0)) throw new PreprocessError('Std: every value must be non-zero');
  if (!['none', 'right', 'center', undefined].includes(s.pad)) throw new PreprocessError(`Resize "${s.pad}": expected none, right or center`);
  if (s.padValue !== undefined && !Number.isFinite(s.padValue)) throw new PreprocessError(`Pad value "${s.padValue}": expected a number`);
  return s;
}

/**
 * Where an image of srcW x srcH lands in the s.width x s.height tensor: {top, left, width,
 * height}. pad 'none' stretches it over everything; 'right' keeps its aspect at the full height,
 * at most the full width, and pads the right (text lines, PaddleOCR-style); 'center' fits it
 * inside keeping its aspect, centred (letterbox). The rest holds s.padValue. As the CLI's
 * --preprocess pad=right|center (src/api/image.cpp).
 */
export function padRect(s, srcW, srcH) {
  const W = s.width, H = s.height;
  const clamp = (v, hi) => Math.min(hi, Math.max(1, v));
  if (s.pad === 'right') return { top: 0, left: 0, width: clamp(Math.round(srcW * H / srcH), W), height: H };
  if (s.pad === 'center') {
    const k = Math.min(H / srcH, W / srcW);
    const h = clamp(Math.round(srcH * k), H), w = clamp(Math.round(srcW * k), W);
    return { top: Math.floor((H - h) / 2), left: Math.floor((W - w) / 2), width: w, height: h };
  }
  return { top: 0, left: 0, width: W, height: H };
}

/** The tensor shape a sample gets: [1, C, H, W] or [1, H, W, C]. */
export function tensorShape(s) {
  return s.layout === 'nchw' ? [1, s.channels, s.height, s.width] : [1, s.height, s.width, s.channels];
}

/**
 * RGBA pixels (width*height*4 bytes, already resized to s.width x s.height) -> Float32Array in
 * the model's layout: x = (pixel * scale - mean) / std per channel. Gray: ITU-R BT.601 luma
 * (as PIL's convert('L')), repeated when the model wants three channels.
 */
export function pixelsToTensor(rgba, s, rect = null) {
  const { width: w, height: hgt, channels: c } = s;
  const n = w * hgt;
  if (rgba.length !== n * 4) {
    throw new PreprocessError(`pixels: expected ${n * 4} RGBA bytes for ${w}x${hgt}, got ${rgba.length}`);
  }
  const out = new Float32Array(n * c);
  const src = s.order === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const useLuma = s.gray || c === 1;
  for (let i = 0; i < n; ++i) {
    if (rect) {  // outside the image's rectangle: padding (padRect)
      const y = Math.floor(i / w) - rect.top, x = (i % w) - rect.left;
      if (y < 0 || y >= rect.height || x < 0 || x >= rect.width) {
        for (let ch = 0; ch < c; ++ch) out[s.layout === 'nchw' ? ch * n + i : i * c + ch] = s.padValue ?? 0;
        continue;
      }
    }
    const p = i * 4;
    const luma = useLuma ? 0.299 * rgba[p] + 0.587 * rgba[p + 1] + 0.114 * rgba[p + 2] : 0;
    for (let ch = 0; ch < c; ++ch) {
      const raw = useLuma ? luma : rgba[p + src[ch]];
      const v = (raw * s.scale - s.mean[ch]) / s.std[ch];
      out[s.layout === 'nchw' ? ch * n + i : i * c + ch] = v;
    }
  }
  return out;
}

/**
 * The inverse for the preview: a tensor in the model's layout -> RGBA bytes, each channel
 * stretched to its own min..max so the preview shows what the model sees whatever the scale.
 */
export function tensorToPixels(data, s) {
  const { width: w, height: hgt, channels: c } = s;
  const n = w * hgt;
  const rgba = new Uint8ClampedArray(n * 4);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < n; ++i) {
    const at = (ch) => data[s.layout === 'nchw' ? ch * n + i : i * c + ch];
    const rgb = c === 1 ? [at(0), at(0), at(0)] : s.order === 'bgr' ? [at(2), at(1), at(0)] : [at(0), at(1), at(2)];
    for (let k = 0; k < 3; ++k) rgba[i * 4 + k] = Math.round(((rgb[k] - lo) / span) * 255);
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

/** The CLI spelling of the settings (shown under the form, so the same run can be scripted). */
export function toCliSpec(s) {
  // Enough digits that the CLI reads the same float32 back (9 significant); a scale that is
  // 1/n as the fraction the CLI accepts (scale=1/255, not a rounded 0.003922).
  const fmt = (v) => Number(v.toPrecision(9)).toString();
  const inv = 1 / s.scale;
  const fmtScale = (v) => (Math.abs(inv - Math.round(inv)) < 1e-9 * Math.abs(inv) && Math.round(inv) !== 1 ? `1/${Math.round(inv)}` : fmt(v));
  const pad = s.pad && s.pad !== 'none' ? [`pad=${s.pad}`, ...(s.padValue ? [`pad-value=${fmt(s.padValue)}`] : [])] : [];
  for (const [name, p] of Object.entries(PRESETS)) {
    if (Boolean(p.gray) === Boolean(s.gray) && p.order === s.order && Math.abs(p.scale - s.scale) < 1e-12
        && p.mean.every((m, i) => Math.abs(m - s.mean[i]) < 1e-9)
        && p.std.every((m, i) => Math.abs(m - s.std[i]) < 1e-9) && s.layout === 'nchw') {
      // The CLI's presets are imagenet, pm1 and unit; the form's 'gray' is unit with gray=1.
      const head = name === 'gray' ? 'unit,gray=1' : name;
      return [head, `size=${s.height}x${s.width}`, ...pad].join(',');
    }
  }
  const parts = [`size=${s.height}x${s.width}`, ...pad, `scale=${fmtScale(s.scale)}`, `mean=${s.mean.map(fmt).join(':')}`,
    `std=${s.std.map(fmt).join(':')}`, `order=${s.order}`, `layout=${s.layout}`];
  if (s.gray) parts.push('gray=1');
  return parts.join(',');
}
