// A minimal ONNX writer for node tests that need a model made to measure (a MatMul whose weights
// are exact on a 4-bit grid, an identity "recogniser"): float tensors, nodes without attributes,
// fixed shapes. Only the protobuf fields the core reads (onnx.proto3 numbers in comments).

const utf8 = new TextEncoder();

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

/** Concatenates protobuf fields: [field, value] with value a number (varint) or bytes/string/array of bytes. */
function message(fields) {
  const parts = [];
  for (const [field, value] of fields) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'number' || typeof value === 'bigint') {
      parts.push(...varint((field << 3) | 0), ...varint(value));
    } else {
      const bytes = typeof value === 'string' ? utf8.encode(value) : value;
      parts.push(...varint((field << 3) | 2), ...varint(bytes.length), ...bytes);
    }
  }
  return Uint8Array.from(parts);
}

// TypeProto.Tensor {elem_type 1, shape 2 {dim 1 {dim_value 1}}} inside ValueInfoProto {name 1, type 2}.
function valueInfo({ name, dims }) {
  const shape = message(dims.map((d) => [1, message([[1, d]])]));
  return message([[1, name], [2, message([[1, message([[1, 1], [2, shape]])]])]]);
}

// TensorProto {dims 1, data_type 2 (1 = float), name 8, raw_data 9}.
function tensor({ name, dims, data }) {
  const raw = new Uint8Array(Float32Array.from(data).buffer);
  return message([...dims.map((d) => [1, d]), [2, 1], [8, name], [9, raw]]);
}

/**
 * A ModelProto (ir_version 7, opset 13) as bytes. graph: {inputs: [{name, dims}], outputs,
 * initializers: [{name, dims, data}], nodes: [{op, inputs, outputs, name}]}.
 */
export function encodeModel({ inputs, outputs, initializers = [], nodes }) {
  const graph = message([
    ...nodes.map((n) => [1, message([...n.inputs.map((i) => [1, i]), ...n.outputs.map((o) => [2, o]), [3, n.name ?? ''], [4, n.op]])]),
    [2, 'tiny'],
    ...initializers.map((t) => [5, tensor(t)]),
    ...inputs.map((v) => [11, valueInfo(v)]),
    ...outputs.map((v) => [12, valueInfo(v)]),
  ]);
  return message([[1, 7], [2, 'quantmix tests'], [7, graph], [8, message([[1, ''], [2, 13]])]]);
}
