// Minimal NumPy .npy reader/writer for the op oracle tests (format versions 1.0, 2.0 and 3.0,
// little-endian or byte-order-free dtypes; Fortran-order files are reordered to C order on read). An array is {dtype, shape, data}:
//   dtype: 'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' |
//          'uint32' | 'int64' | 'uint64' | 'bool'
//   shape: number[] ([] for a scalar)
//   data:  the matching typed array (float16 -> Uint16Array of raw bits, bool -> Uint8Array of
//          0/1, int64/uint64 -> BigInt64Array/BigUint64Array).
import { readFileSync, writeFileSync } from 'node:fs';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** dtype name -> [npy type char + size, typed array constructor]. */
export const DTYPES = {
  float32: ['f4', Float32Array],
  float64: ['f8', Float64Array],
  float16: ['f2', Uint16Array],
  int8: ['i1', Int8Array],
  uint8: ['u1', Uint8Array],
  int16: ['i2', Int16Array],
  uint16: ['u2', Uint16Array],
  int32: ['i4', Int32Array],
  uint32: ['u4', Uint32Array],
  int64: ['i8', BigInt64Array],
  uint64: ['u8', BigUint64Array],
  bool: ['b1', Uint8Array],
};
const BY_DESCR = Object.fromEntries(Object.entries(DTYPES).map(([k, [d]]) => [d, k]));

export class NpyError extends Error {
  constructor(message) { super(message); this.name = 'NpyError'; }
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape) { return shape.reduce((a, b) => a * b, 1); }

/** Typed array constructor for a dtype name. */
export function arrayType(dtype) {
  const t = DTYPES[dtype];
  if (!t) throw new NpyError(`unknown dtype '${dtype}'`);
  return t[1];
}

/** Makes an array record, checking that data matches dtype and shape. */
export function makeArray(dtype, shape, data) {
  const T = arrayType(dtype);
  if (!(data instanceof T)) data = T.from(data);
  if (data.length !== numel(shape)) {
    throw new NpyError(`data has ${data.length} elements, shape [${shape}] needs ${numel(shape)}`);
  }
  return { dtype, shape: [...shape], data };
}

function parseHeader(text, where) {
  // The header is a Python dict literal; parse the three keys numpy writes.
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new NpyError(`${where}: malformed header ${JSON.stringify(text)}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    const v = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(v) || v < 0) throw new NpyError(`${where}: bad dimension '${s}'`);
    return v;
  });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

// numpy saves non-C-contiguous arrays (e.g. a transpose) in Fortran order: reorder to C order.
function fortranToC(arr) {
  const { shape, data } = arr;
  const out = new data.constructor(data.length);
  const rank = shape.length;
  const fstride = new Array(rank);
  for (let d = 0, s = 1; d < rank; d++) { fstride[d] = s; s *= shape[d]; }
  const idx = new Array(rank).fill(0);
  for (let i = 0; i < data.length; i++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * fstride[d];
    out[i] = data[src];
    for (let d = rank - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
  return { ...arr, data: out };
}

/** Decodes .npy bytes (Buffer/Uint8Array). `where` names the source in error messages. */
export function decodeNpy(bytes, where = '<npy>') {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) throw new NpyError(`${where}: not an .npy file (bad magic)`);
  const major = buf[6];
  let headerLen, offset;
  if (major === 1) { headerLen = buf.readUInt16LE(8); offset = 10; }
  else if (major === 2 || major === 3) { headerLen = buf.readUInt32LE(8); offset = 12; }
  else throw new NpyError(`${where}: unsupported .npy version ${major}.${buf[7]}`);
  if (offset + headerLen > buf.length) throw new NpyError(`${where}: truncated header`);
  const header = parseHeader(buf.toString(major === 3 ? 'utf8' : 'latin1', offset, offset + headerLen), where);
  const m = /^([<>|=])([a-z])(\d+)$/.exec(header.descr);
  if (!m) throw new NpyError(`${where}: unsupported dtype '${header.descr}'`);
  const [, order, kind, size] = m;
  const dtype = BY_DESCR[kind + size];
  if (!dtype) throw new NpyError(`${where}: unsupported dtype '${header.descr}'`);
  if (order === '>' && size !== '1') throw new NpyError(`${where}: big-endian data is not supported`);
  const T = arrayType(dtype);
  const count = numel(header.shape);
  const start = offset + headerLen;
  const nbytes = count * T.BYTES_PER_ELEMENT;
  if (start + nbytes > buf.length) {
    throw new NpyError(`${where}: truncated data (expected ${nbytes} bytes, got ${buf.length - start})`);
  }
  // Copy into a fresh, aligned buffer (the data offset need not be aligned for the element size).
  const data = new T(count);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + nbytes));
  const arr = { dtype, shape: header.shape, data };
  return header.fortran && header.shape.length > 1 ? fortranToC(arr) : arr;
}

/** Encodes an array as .npy version 1.0 bytes (header padded so the data starts at 64-byte alignment). */
export function encodeNpy(arr) {
  const [descr, T] = DTYPES[arr.dtype] ?? [];
  if (!T) throw new NpyError(`cannot encode dtype '${arr.dtype}'`);
  if (arr.data.length !== numel(arr.shape)) throw new NpyError(`data length ${arr.data.length} does not match shape [${arr.shape}]`);
  const order = descr.endsWith('1') ? '|' : '<';
  const shapeText = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${order}${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw new NpyError('header too long for .npy 1.0');
  const head = Buffer.alloc(10);
  MAGIC.forEach((b, i) => { head[i] = b; });
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = arr.data instanceof T ? arr.data : T.from(arr.data);
  return Buffer.concat([head, Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export function readNpy(path) { return decodeNpy(readFileSync(path), path); }
export function writeNpy(path, arr) { writeFileSync(path, encodeNpy(arr)); }
