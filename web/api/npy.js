// NumPy .npy in the browser: image samples are encoded as .npy so the core receives every
// sample the same way (bytes it parses with api::parse_npy), and dropped .npy files are decoded
// here for the preview. Pure; covered by tests/js/npy.test.mjs (oracle: bytes numpy wrote).

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];  // \x93NUMPY

/** Float32Array + shape -> .npy (version 1.0, little-endian '<f4', C order) bytes. */
export function encodeNpy(data, shape) {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape [${shape}] holds ${count} values, got ${data.length}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // The whole preamble (10 bytes + header + '\n') is padded to a multiple of 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; ++i) out[10 + i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, total);
  for (let i = 0; i < data.length; ++i) view.setFloat32(i * 4, data[i], true);
  return out;
}

const DTYPES = {
  '<f4': [4, (v, o) => v.getFloat32(o, true)], '<f8': [8, (v, o) => v.getFloat64(o, true)],
  '|u1': [1, (v, o) => v.getUint8(o)], '<u1': [1, (v, o) => v.getUint8(o)],
  '|i1': [1, (v, o) => v.getInt8(o)], '<i4': [4, (v, o) => v.getInt32(o, true)],
  '<i8': [8, (v, o) => Number(v.getBigInt64(o, true))],
};

/**
 * .npy bytes -> {dtype, shape, data: Float32Array}. Throws Error naming `name` for anything it
 * cannot read (the core reads more types; this is for previews and shape checks).
 */
export function decodeNpy(bytes, name = 'array.npy') {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 10 || MAGIC.some((m, i) => b[i] !== m)) throw new Error(`${name}: not a .npy file (no \\x93NUMPY magic)`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const major = b[6];
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > b.length) throw new Error(`${name}: header runs past the end of the file`);
  const header = new TextDecoder('latin1').decode(b.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new Error(`${name}: unreadable .npy header`);
  if (fortran) throw new Error(`${name}: Fortran-order arrays are not supported (save with C order)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const type = DTYPES[descr];
  if (!type) throw new Error(`${name}: element type ${descr} is not previewed (float32, float64, uint8, int8, int32, int64 are)`);
  const [size, read] = type;
  const count = shape.reduce((a, c) => a * c, 1);
  const offset = start + headerLen;
  if (offset + count * size > b.length) {
    throw new Error(`${name}: truncated (shape [${shape}] needs ${count * size} bytes of data, the file has ${b.length - offset})`);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = read(dv, offset + i * size);
  return { dtype: descr, shape, data };
}
