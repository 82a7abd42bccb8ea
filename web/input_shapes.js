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
