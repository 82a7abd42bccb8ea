"""Corrupt and invalid model files for the CLI error tests (tests/cli/bad_inputs.json says what
each error line must contain). Written into <out>/bad/:
  truncated_{head,graph,tail}.onnx  a valid model cut inside a field (python protobuf must reject
                                    each cut, so none of them is accidentally a shorter valid model)
  random_bytes.onnx                 4 KiB of seeded random bytes
  not_a_model.onnx                  a serialized TensorProto (valid protobuf, no graph)
  empty.onnx                        0 bytes
  concat_missing_axis.onnx          Concat without its required `axis`
  concat_axis_float.onnx            Concat `axis` given as a FLOAT attribute
  cast_missing_to.onnx              Cast without its required `to`
  transpose_bad_perm.onnx           Transpose perm of length 3 on a 4-D tensor
  conv_bad_channels.onnx            Conv weight with 4 input channels on a 3-channel input
  dangling_input.onnx               a node reads a tensor nothing produces
  dangling_output.onnx              a graph output nothing produces
  cycle.onnx                        two nodes that feed each other
  raw_size_mismatch.onnx            initializer raw_data length does not match its dims
  external_missing.onnx             weights in external data whose file was deleted
  duplicate_output, huge_dims, negative_dims, conv_kernel_too_big, conv_stride_zero,
  gemm_k_mismatch, matmul_k_mismatch, reshape_impossible, maxpool_missing_kernel,
  split_sizes_wrong                 impossible graphs shape inference must reject
  div/mod/add_int64_overflow, slice_extreme_values, resize_huge_scale, conv_huge_pads,
  deep_nesting                      robustness: int64 edge cases in folded shape arithmetic,
                                    100000 nested subgraphs; exit 0 or a clean exit 1
(Models over 2 GiB are not generated: the reader rejects them by size before parsing.)
"""
import os

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper, TensorProto

from . import tiny_models

OPSET = 13


def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def _model(nodes, inputs, outputs, inits=(), name="bad"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="quantmix-tests")
    m.ir_version = 7
    return m


def _must_not_parse(data, what):
    try:
        onnx.ModelProto.FromString(data)
    except DecodeError:
        return
    raise RuntimeError(f"bad_models: {what} still parses as a ModelProto")


def _top_level_fields(data):
    """[(field number, start offset, end offset)] of a serialized message's top-level fields."""
    fields, pos = [], 0

    def varint(p):
        v, shift = 0, 0
        while True:
            b = data[p]
            v |= (b & 0x7F) << shift
            p += 1
            shift += 7
            if b < 0x80:
                return v, p

    while pos < len(data):
        start = pos
        key, pos = varint(pos)
        wire = key & 7
        if wire == 0:
            _, pos = varint(pos)
        elif wire == 2:
            n, pos = varint(pos)
            pos += n
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        fields.append((key >> 3, start, pos))
    return fields


def truncated(out_dir):
    base, _, _ = tiny_models.grouped_depthwise()
    data = base.SerializeToString()
    fields = _top_level_fields(data)
    graph = [f for f in fields if f[0] == 7][0]
    cuts = {"truncated_head": 1,                                    # after the first tag byte
            "truncated_graph": (graph[1] + graph[2]) // 2,          # inside the graph message
            "truncated_tail": len(data) - 1}                        # inside the last field
    for name, cut in cuts.items():
        _must_not_parse(data[:cut], name)
        with open(os.path.join(out_dir, name + ".onnx"), "wb") as f:
            f.write(data[:cut])
    return list(cuts)


def random_bytes(out_dir):
    data = np.random.RandomState(1234).bytes(4096)
    _must_not_parse(data, "random_bytes")
    with open(os.path.join(out_dir, "random_bytes.onnx"), "wb") as f:
        f.write(data)
    return ["random_bytes"]


def not_a_model(out_dir):
    t = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "some_tensor")
    with open(os.path.join(out_dir, "not_a_model.onnx"), "wb") as f:
        f.write(t.SerializeToString())
    with open(os.path.join(out_dir, "empty.onnx"), "wb"):
        pass
    return ["not_a_model", "empty"]


def attribute_errors(out_dir):
    x = _vi("x", [1, 3, 4, 4])
    models = {
        "concat_missing_axis": _model(
            [helper.make_node("Concat", ["x", "x"], ["y"], name="concat_no_axis")],
            [x], [_vi("y", None)]),
        "concat_axis_float": _model(
            [helper.make_node("Concat", ["x", "x"], ["y"], name="concat_float_axis", axis=1.0)],
            [x], [_vi("y", None)]),
        "cast_missing_to": _model(
            [helper.make_node("Cast", ["x"], ["y"], name="cast_no_to")], [x], [_vi("y", None)]),
        "transpose_bad_perm": _model(
            [helper.make_node("Transpose", ["x"], ["y"], name="transpose_bad_perm",
                              perm=[0, 2, 1])], [x], [_vi("y", None)]),
        "conv_bad_channels": _model(
            [helper.make_node("Conv", ["x", "w"], ["y"], name="conv_bad_channels")],
            [x], [_vi("y", None)],
            [numpy_helper.from_array(np.ones((8, 4, 3, 3), np.float32), "w")]),
    }
    for name, m in models.items():
        onnx.save(m, os.path.join(out_dir, name + ".onnx"))
    return list(models)


def graph_errors(out_dir):
    x = _vi("x", [1, 3, 4, 4])
    models = {
        "dangling_input": _model(
            [helper.make_node("Relu", ["x"], ["r"], name="relu_ok"),
             helper.make_node("Add", ["r", "ghost_tensor"], ["y"], name="add_dangling")],
            [x], [_vi("y", [1, 3, 4, 4])]),
        "dangling_output": _model(
            [helper.make_node("Relu", ["x"], ["y"], name="relu_ok")],
            [x], [_vi("y", [1, 3, 4, 4]), _vi("never_produced", [1, 3, 4, 4])]),
        "cycle": _model(
            [helper.make_node("Add", ["x", "b_out"], ["a_out"], name="cycle_a"),
             helper.make_node("Relu", ["a_out"], ["b_out"], name="cycle_b")],
            [x], [_vi("b_out", [1, 3, 4, 4])]),
    }
    bad = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w_bad_size")
    bad.raw_data = bad.raw_data[:100]
    models["raw_size_mismatch"] = _model(
        [helper.make_node("Conv", ["x", "w_bad_size"], ["y"], name="conv_w_bad")],
        [x], [_vi("y", None)], [bad])
    for name, m in models.items():
        onnx.save(m, os.path.join(out_dir, name + ".onnx"))
    return list(models)


def external_missing(out_dir):
    w = numpy_helper.from_array(
        np.random.RandomState(5).standard_normal((8, 3, 3, 3)).astype(np.float32),
        "conv_w_external")
    m = _model([helper.make_node("Conv", ["x", "conv_w_external"], ["y"], name="conv_ext")],
               [_vi("x", [1, 3, 4, 4])], [_vi("y", [1, 8, 2, 2])], [w])
    path = os.path.join(out_dir, "external_missing.onnx")
    onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location="external_missing.weights", size_threshold=0)
    os.remove(os.path.join(out_dir, "external_missing.weights"))
    return ["external_missing"]


def semantic_errors(out_dir):
    """Well-formed protobuf, impossible graph: shape inference must reject it, naming the node."""
    x = _vi("x", [1, 3, 4, 4])
    ones = lambda shape, name: numpy_helper.from_array(np.ones(shape, np.float32), name)
    i64 = lambda v, name: numpy_helper.from_array(np.array(v, np.int64), name)
    t_huge = TensorProto(name="w_huge", data_type=TensorProto.FLOAT)
    t_huge.dims.extend([1 << 62, 4])
    t_neg = TensorProto(name="w_negative", data_type=TensorProto.FLOAT)
    t_neg.dims.extend([-1, 3])
    node = helper.make_node
    models = {
        "duplicate_output": _model(
            [node("Relu", ["x"], ["y"], name="relu_first"),
             node("Sigmoid", ["x"], ["y"], name="sigmoid_same_output")],
            [x], [_vi("y", [1, 3, 4, 4])]),
        "huge_dims": _model([node("Conv", ["x", "w_huge"], ["y"], name="conv_huge")],
                            [x], [_vi("y", None)], [t_huge]),
        "negative_dims": _model([node("MatMul", ["x", "w_negative"], ["y"], name="matmul_neg")],
                                [x], [_vi("y", None)], [t_neg]),
        "conv_kernel_too_big": _model(
            [node("Conv", ["x", "w"], ["y"], name="conv_kernel_too_big")],
            [x], [_vi("y", None)], [ones((8, 3, 7, 7), "w")]),
        "conv_stride_zero": _model(
            [node("Conv", ["x", "w"], ["y"], name="conv_stride_zero", strides=[0, 0])],
            [x], [_vi("y", None)], [ones((8, 3, 3, 3), "w")]),
        "gemm_k_mismatch": _model(
            [node("Gemm", ["a", "b"], ["y"], name="gemm_k_mismatch", transB=1)],
            [_vi("a", [1, 64])], [_vi("y", None)], [ones((32, 63), "b")]),
        "matmul_k_mismatch": _model(
            [node("MatMul", ["a", "b"], ["y"], name="matmul_k_mismatch")],
            [_vi("a", [1, 5, 8])], [_vi("y", None)], [ones((7, 3), "b")]),
        "reshape_impossible": _model(
            [node("Reshape", ["x", "s"], ["y"], name="reshape_impossible")],
            [x], [_vi("y", None)], [i64([5, -1], "s")]),
        "maxpool_missing_kernel": _model(
            [node("MaxPool", ["x"], ["y"], name="maxpool_no_kernel")], [x], [_vi("y", None)]),
        "split_sizes_wrong": _model(
            [node("Split", ["x", "sp"], ["y1", "y2"], name="split_sizes_wrong", axis=1)],
            [x], [_vi("y1", None), _vi("y2", None)], [i64([2, 2], "sp")]),
    }
    for name, m in models.items():
        onnx.save(m, os.path.join(out_dir, name + ".onnx"))
    return list(models)


def _varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def robustness(out_dir):
    """Inputs that must never crash (exit 0 or a clean exit 1, see bad_inputs.json)."""
    x = _vi("x", [1, 3, 4, 4])
    i64 = lambda v, name: numpy_helper.from_array(np.array(v, np.int64), name)
    node = helper.make_node
    int_min = -(1 << 63)

    def folded(op, a, b, name):
        # op(a, b) on int64 constants feeds a Reshape's shape: quantmix folds it while inferring
        return _model([node(op, ["a", "b"], ["s"], name=name),
                       node("Reshape", ["x", "s"], ["y"], name="reshape_folded")],
                      [x], [_vi("y", None)], [i64([a], "a"), i64([b], "b")])

    models = {
        "div_int64_overflow": folded("Div", int_min, -1, "div_int_min_by_minus_1"),
        "mod_int64_overflow": folded("Mod", int_min, -1, "mod_int_min_by_minus_1"),
        "add_int64_overflow": folded("Add", (1 << 63) - 1, 1, "add_int_max_plus_1"),
        "slice_extreme_values": _model(
            [node("Slice", ["x", "st", "en", "ax", "sp"], ["y"], name="slice_extreme")],
            [x], [_vi("y", None)],
            [i64([int_min], "st"), i64([(1 << 63) - 1], "en"), i64([1], "ax"),
             i64([(1 << 63) - 1], "sp")]),
        "resize_huge_scale": _model(
            [node("Resize", ["x", "", "sc"], ["y"], name="resize_huge_scale")],
            [x], [_vi("y", None)],
            [numpy_helper.from_array(np.array([1, 1, 1e30, 1e30], np.float32), "sc")]),
        # 2^62 + 1 floats: the byte count overflows 64 bits (a 100-byte model that allocated 4
        # bytes and crashed); 2^40 floats: a size no tab or test machine can hold.
        "constant_of_shape_overflow": _model(
            [node("ConstantOfShape", ["s"], ["c"], name="constant_of_shape_overflow"),
             node("Add", ["x", "c"], ["y"], name="add_overflow")],
            [_vi("x", [1])], [_vi("y", None)], [i64([(1 << 62) + 1], "s")]),
        "constant_of_shape_huge": _model(
            [node("ConstantOfShape", ["s"], ["c"], name="constant_of_shape_huge"),
             node("Add", ["x", "c"], ["y"], name="add_huge")],
            [_vi("x", [1])], [_vi("y", None)], [i64([1 << 40], "s")]),
        # 2^28 floats (1 GiB) from a 200-byte file: above the default memory limit for tensors
        # (4x the model's weights, at least 512 MiB; + the 512 MiB search budget for quantize),
        # so refused in one line before anything is allocated, natively and in wasm.
        "constant_of_shape_1gib": _model(
            [node("ConstantOfShape", ["s"], ["c"], name="constant_of_shape_1gib"),
             node("Add", ["x", "c"], ["y"], name="add_1gib")],
            [_vi("x", [1])], [_vi("y", None)], [i64([1 << 28], "s")]),
        "conv_huge_pads": _model(
            [node("Conv", ["x", "w"], ["y"], name="conv_huge_pads", pads=[1 << 62] * 4)],
            [x], [_vi("y", None)],
            [numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")]),
    }
    for name, m in models.items():
        onnx.save(m, os.path.join(out_dir, name + ".onnx"))
    # 100000 nested If subgraphs (3 MB): a recursive reader without a depth limit overflows the
    # stack. Built inside-out with precomputed lengths (linear time).
    prefixes, glen = [], 0
    for _ in range(100000):
        attr_pre = (_varint(1 << 3 | 2) + _varint(11) + b"then_branch" + _varint(20 << 3)
                    + _varint(5) + _varint(6 << 3 | 2) + _varint(glen))
        attr_len = len(attr_pre) + glen
        node_pre = _varint(4 << 3 | 2) + _varint(2) + b"If" + _varint(5 << 3 | 2) + \
            _varint(attr_len) + attr_pre
        node_len = len(node_pre) - len(attr_pre) + attr_len
        g_pre = _varint(1 << 3 | 2) + _varint(node_len) + node_pre
        glen = len(g_pre) - len(node_pre) + node_len
        prefixes.append(g_pre)
    graph = b"".join(reversed(prefixes))
    opset = _varint(2 << 3) + _varint(13)
    data = (_varint(1 << 3) + _varint(7) + _varint(7 << 3 | 2) + _varint(len(graph)) + graph
            + _varint(8 << 3 | 2) + _varint(len(opset)) + opset)
    with open(os.path.join(out_dir, "deep_nesting.onnx"), "wb") as f:
        f.write(data)
    return list(models) + ["deep_nesting"]


def make_all(out_dir, log):
    bad_dir = os.path.join(out_dir, "bad")
    os.makedirs(bad_dir, exist_ok=True)
    names = []
    for make in (truncated, random_bytes, not_a_model, attribute_errors, graph_errors,
                 external_missing, semantic_errors, robustness):
        names += make(bad_dir)
    log(f"  bad/: {len(names)} files")
    return [n + ".onnx" for n in names]
