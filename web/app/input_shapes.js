// The "input shapes" field: text <-> {name: dims}. Pure functions, covered by
// tests/js/input_shapes.test.mjs. The C++ side validates again (api::parse_input_shape); this
// module exists so the field reports mistakes in the UI's own words before anything is sent.

/** A mistake in the input-shape field; `message` is shown to the user as is. */
export class InputShapeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'InputShapeError';
  }
}

/**
 * Parses "x=1x3x224x224; mask=1x128" (entries separated by ';', ',' or new lines; dimensions by
 * 'x', '×' or '*'; spaces ignored) into {x: [1, 3, 224, 224], mask: [1, 128]}. Empty -> {}.
 * Throws InputShapeError naming the entry at fault.
 */
export function parseInputShapes(text) {
  const shapes = {};
  const entries = String(text ?? '').split(/[;\n,]/).map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) {
      throw new InputShapeError(`Input shape "${entry}": expected NAME=DIMS, e.g. x=1x3x224x224`);
    }
    const name = entry.slice(0, eq).trim();
    const dimsText = entry.slice(eq + 1).replace(/\s+/g, '');
    if (name === '') throw new InputShapeError(`Input shape "${entry}": the input name is missing`);
    if (dimsText === '') {
      throw new InputShapeError(`Input shape "${entry}": no dimensions after "=" (e.g. ${name}=1x3x224x224)`);
    }
    if (Object.prototype.hasOwnProperty.call(shapes, name)) {
      throw new InputShapeError(`Input shape "${entry}": input "${name}" is given twice`);
    }
    const dims = dimsText.split(/[x×*X]/).map((d) => {
      if (/^[A-Za-z_?]/.test(d)) {
        throw new InputShapeError(
          `Input shape "${entry}": dimension "${d}" is a symbol or a placeholder, not a number: put the size you want in its place (e.g. 1 for a batch, 320 for a width)`);
      }
      if (!/^\d+$/.test(d) || Number(d) < 1 || !Number.isSafeInteger(Number(d))) {
        throw new InputShapeError(
          `Input shape "${entry}": dimension "${d}" is not a positive integer`);
      }
      return Number(d);
    });
    shapes[name] = dims;
  }
  return shapes;
}

/** {x: [1, 3, 224, 224]} -> "x=1x3x224x224" (entries joined by "; "). */
export function formatInputShapes(shapes) {
  return Object.entries(shapes ?? {}).map(([name, dims]) => `${name}=${dims.join('x')}`).join('; ');
}

/**
 * A template for the field from the report's inputs that have unknown dimensions, e.g.
 * "x=1x3xHxW" (symbols or "?" where the user must fill in a number). Empty if all are static.
 */
export function inputShapeTemplate(inputs) {
  const parts = [];
  for (const input of inputs ?? []) {
    if (!Array.isArray(input.shape)) continue;
    const dims = input.shape.map((d) => (typeof d === 'number' ? String(d) : (d ?? '?')));
    if (input.shape.every((d) => typeof d === 'number')) continue;
    parts.push(`${input.name}=${dims.join('x')}`);
  }
  return parts.join('; ');
}

/**
 * A valid example for the field: each input with unknown dimensions, those filled with numbers
 * (the batch 1; an image's height and width from `size`, e.g. the preprocessing form or the
 * samples; any other 1), so that the hint can be pasted as is. Empty if all are static.
 */
export function inputShapeExample(inputs, { height = 224, width = 224 } = {}) {
  const parts = [];
  for (const input of inputs ?? []) {
    const d = input.shape;
    if (!Array.isArray(d) || d.every((x) => typeof x === 'number')) continue;
    const channels = (x) => x === 1 || x === 3;
    const [hAt, wAt] = d.length !== 4 ? [-1, -1] : channels(d[3]) && !channels(d[1]) ? [1, 2] : [2, 3];
    const dims = d.map((x, k) => (typeof x === 'number' ? x : k === hAt ? height : k === wAt ? width
      : d.length === 4 && k === (hAt === 2 ? 1 : 3) ? 3 : 1));
    parts.push(`${input.name}=${dims.join('x')}`);
  }
  return parts.join('; ');
}

const dimText = (d) => (typeof d === 'number' ? String(d) : d === null || d === undefined ? '?' : String(d));

/**
 * Why a sample tensor of `shape` cannot feed the model (`inputs`: the inspect report's, one
 * input), or null when it fits. The same rule as the core's check (api::Session::conform_input):
 * equal rank with every known dimension equal, or one dimension less when the model's first one
 * is 1 or unknown (a batch of one). Models with several inputs are left to the core.
 */
export function sampleShapeProblem(shape, inputs) {
  if (!Array.isArray(shape) || !Array.isArray(inputs) || inputs.length !== 1) return null;
  const { name, shape: dims } = inputs[0];
  if (!Array.isArray(dims)) return null;
  const fits = (sh) => sh.length === dims.length && dims.every((d, k) => typeof d !== 'number' || d === sh[k]);
  if (fits(shape)) return null;
  if (shape.length + 1 === dims.length && (typeof dims[0] !== 'number' || dims[0] === 1) && fits([1, ...shape])) return null;
  const want = `[${dims.map(dimText).join('×')}]`;
  let why;
  const batchOfOne = shape.length + 1 === dims.length && (typeof dims[0] !== 'number' || dims[0] === 1);
  const same = shape.length === dims.length ? shape : batchOfOne ? [1, ...shape] : null;
  if (same) {
    const k = dims.findIndex((d, i) => typeof d === 'number' && d !== same[i]);
    why = `dimension ${k} is ${same[k]}, the model needs ${dims[k]}`;
  } else {
    why = `${shape.length} dimensions, the model needs ${dims.length}`;
  }
  return `shape [${shape.join('×')}] does not fit input '${name}' ${want}: ${why}`;
}
