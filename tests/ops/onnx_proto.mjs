// Just enough protobuf decoding of ONNX files for the backend node tests: the op types, opsets and
// input/output types of a ModelProto, and TensorProto (.pb test data) -> npy-style arrays.
// Field numbers are from onnx/onnx.proto.
import { readFileSync } from 'node:fs';
import { arrayType, makeArray } from './npy.mjs';

class Reader {
  constructor(buf, where) { this.buf = buf; this.pos = 0; this.where = where; }
  get done() { return this.pos >= this.buf.length; }
  fail(msg) { throw new Error(`${this.where}: ${msg} at byte ${this.pos}`); }
  varint() {
    let result = 0n; let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 63n) this.fail('varint too long');
    }
  }
  bytes() {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) this.fail('truncated length-delimited field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** Iterates fields: yields [fieldNumber, wireType, value] (value: bigint, Uint8Array or raw fixed bytes). */
  * fields() {
    while (!this.done) {
      const key = this.varint();
      const field = Number(key >> 3n); const wire = Number(key & 7n);
      if (wire === 0) yield [field, wire, this.varint()];
      else if (wire === 1) { yield [field, wire, this.buf.subarray(this.pos, this.pos + 8)]; this.pos += 8; }
      else if (wire === 2) yield [field, wire, this.bytes()];
      else if (wire === 5) { yield [field, wire, this.buf.subarray(this.pos, this.pos + 4)]; this.pos += 4; }
      else this.fail(`unsupported wire type ${wire}`);
    }
  }
}

const utf8 = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

/** Reads a repeated numeric field that may be packed (wire 2) or not. */
function pushNumbers(out, wire, value, kind) {
  if (wire === 2) {
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    if (kind === 'varint') {
      const r = new Reader(value, 'packed');
      while (!r.done) out.push(r.varint());
    } else if (kind === 'f32') for (let i = 0; i < value.length; i += 4) out.push(dv.getFloat32(i, true));
    else if (kind === 'f64') for (let i = 0; i < value.length; i += 8) out.push(dv.getFloat64(i, true));
  } else if (wire === 0) out.push(value);
  else if (wire === 5) out.push(new DataView(value.buffer, value.byteOffset, 4).getFloat32(0, true));
  else if (wire === 1) out.push(new DataView(value.buffer, value.byteOffset, 8).getFloat64(0, true));
}

/** ONNX TensorProto.DataType -> npy dtype (null: no .npy equivalent here). */
export const ONNX_DTYPES = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: null /* string */,
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: null /* complex64 */,
  15: null /* complex128 */, 16: null /* bfloat16 */, 17: null, 18: null, 19: null, 20: null /* float8 */,
  21: null /* uint4 */, 22: null /* int4 */,
};
export const ONNX_TYPE_NAMES = {
  1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
  17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4',
};

/** Decodes a TensorProto into {name, dataType, dims, array} (array null when the type has no npy form). */
export function decodeTensor(bytes, where = '<tensor>') {
  const t = { name: '', dataType: 0, dims: [], raw: null, floats: [], int32s: [], int64s: [], doubles: [], uint64s: [],
    strings: 0, external: false };
  for (const [f, w, v] of new Reader(bytes, where).fields()) {
    if (f === 1) pushNumbers(t.dims, w, v, 'varint');
    else if (f === 2) t.dataType = Number(v);
    else if (f === 4) pushNumbers(t.floats, w, v, 'f32');
    else if (f === 5) pushNumbers(t.int32s, w, v, 'varint');
    else if (f === 6) t.strings++;
    else if (f === 7) pushNumbers(t.int64s, w, v, 'varint');
    else if (f === 8) t.name = utf8(v);
    else if (f === 9) t.raw = v;
    else if (f === 10) pushNumbers(t.doubles, w, v, 'f64');
    else if (f === 11) pushNumbers(t.uint64s, w, v, 'varint');
    else if (f === 14) t.external = Number(v) === 1;
  }
  const dims = t.dims.map(Number);
  const dtype = ONNX_DTYPES[t.dataType] ?? null;
  const out = { name: t.name, dataType: t.dataType, typeName: ONNX_TYPE_NAMES[t.dataType] ?? `type ${t.dataType}`, dims, array: null };
  if (!dtype || t.external) return out;
  const count = dims.reduce((a, b) => a * b, 1);
  if (t.raw) {
    const data = new (arrayType(dtype))(count);
    if (t.raw.length !== data.byteLength) throw new Error(`${where}: raw_data has ${t.raw.length} bytes, expected ${data.byteLength}`);
    new Uint8Array(data.buffer).set(t.raw);
    out.array = makeArray(dtype, dims, data);
    return out;
  }
  // Typed fields (onnx.proto: which field holds which type).
  let values;
  if (dtype === 'float32') values = t.floats;
  else if (dtype === 'float64') values = t.doubles;
  else if (dtype === 'int64') values = t.int64s.map((v) => BigInt.asIntN(64, v));
  else if (dtype === 'uint64') values = t.uint64s.map((v) => BigInt.asUintN(64, v));
  else if (dtype === 'uint32') values = t.uint64s.map(Number);
  else values = t.int32s.map((v) => Number(BigInt.asIntN(32, v)));  // int32, int16, int8, uint16, uint8, bool, float16 bits
  if (values.length !== count) throw new Error(`${where}: ${values.length} values for dims [${dims}]`);
  out.array = makeArray(dtype, dims, values);
  return out;
}

function decodeValueInfo(bytes) {
  const vi = { name: '', kind: 'none', elemType: 0, shape: null };
  for (const [f, , v] of new Reader(bytes, 'ValueInfoProto').fields()) {
    if (f === 1) vi.name = utf8(v);
    else if (f === 2) {
      for (const [tf, , tv] of new Reader(v, 'TypeProto').fields()) {
        if (tf === 1) {
          vi.kind = 'tensor';
          for (const [ef, , ev] of new Reader(tv, 'TypeProto.Tensor').fields()) {
            if (ef === 1) vi.elemType = Number(ev);
            else if (ef === 2) {
              vi.shape = [];
              for (const [df, , dv] of new Reader(ev, 'TensorShapeProto').fields()) {
                if (df !== 1) continue;
                let dim = null;
                for (const [xf, , xv] of new Reader(dv, 'Dimension').fields()) {
                  if (xf === 1) dim = Number(xv); else if (xf === 2) dim = utf8(xv);
                }
                vi.shape.push(dim);
              }
            }
          }
        } else if (tf === 4) vi.kind = 'sequence';
        else if (tf === 5) vi.kind = 'map';
        else if (tf === 8) vi.kind = 'sparse_tensor';
        else if (tf === 9) vi.kind = 'optional';
      }
    }
  }
  return vi;
}

function decodeNode(bytes) {
  const n = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [], subgraphs: [] };
  for (const [f, , v] of new Reader(bytes, 'NodeProto').fields()) {
    if (f === 1) n.inputs.push(utf8(v));
    else if (f === 2) n.outputs.push(utf8(v));
    else if (f === 3) n.name = utf8(v);
    else if (f === 4) n.opType = utf8(v);
    else if (f === 7) n.domain = utf8(v);
    else if (f === 5) {
      const a = { name: '', i: null, s: null, ints: [] };
      for (const [af, aw, av] of new Reader(v, 'AttributeProto').fields()) {
        if (af === 1) a.name = utf8(av);
        else if (af === 3) a.i = BigInt.asIntN(64, av);
        else if (af === 4) a.s = utf8(av);
        else if (af === 8) pushNumbers(a.ints, aw, av, 'varint');
        else if (af === 6 || af === 11) n.subgraphs.push(decodeGraph(av));
      }
      n.attributes.push(a);
    }
  }
  return n;
}

function decodeGraph(bytes) {
  const g = { nodes: [], inputs: [], outputs: [], initializers: [] };
  for (const [f, , v] of new Reader(bytes, 'GraphProto').fields()) {
    if (f === 1) g.nodes.push(decodeNode(v));
    else if (f === 5) {
      for (const [tf, , tv] of new Reader(v, 'TensorProto').fields()) if (tf === 8) { g.initializers.push(utf8(tv)); break; }
    } else if (f === 11) g.inputs.push(decodeValueInfo(v));
    else if (f === 12) g.outputs.push(decodeValueInfo(v));
  }
  return g;
}

/** Decodes the parts of a ModelProto the backend harness needs. */
export function decodeModel(bytes, where = '<model>') {
  const m = { irVersion: 0, opsets: {}, graph: null };
  for (const [f, , v] of new Reader(bytes, where).fields()) {
    if (f === 1) m.irVersion = Number(v);
    else if (f === 8) {
      let domain = ''; let version = 0;
      for (const [of, , ov] of new Reader(v, 'OperatorSetIdProto').fields()) {
        if (of === 1) domain = utf8(ov); else if (of === 2) version = Number(ov);
      }
      m.opsets[domain === 'ai.onnx' ? '' : domain] = version;
    } else if (f === 7) m.graph = decodeGraph(v);
  }
  if (!m.graph) throw new Error(`${where}: no graph`);
  return m;
}

export function readModel(path) { return decodeModel(readFileSync(path), path); }
export function readTensor(path) { return decodeTensor(readFileSync(path), path); }

/** Every node of a graph, subgraphs included. */
export function allNodes(graph) {
  return graph.nodes.flatMap((n) => [n, ...n.subgraphs.flatMap(allNodes)]);
}
