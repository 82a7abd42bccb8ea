#!/usr/bin/python3
"""Writes the fuzz seed corpus and the reader fixtures into tests/data/fuzz_seeds/.

Run with /usr/bin/python3 (python3-onnx 1.12). The models are small and deterministic:
  kitchen_sink.onnx   every ModelProto feature onnx 1.12 can express (typed tensor fields, sparse
                      initializer, subgraph, sequence/optional types, quantization annotation,
                      FunctionProto, TrainingInfoProto, TensorProto.segment, metadata)
  external.onnx       an initializer stored in external data ('external.bin', offset 8)
  writer_oracle.onnx  a small Conv model that tests/test_onnx_writer.cpp rebuilds in code: the
                      C++ writer must produce exactly python protobuf's bytes
Small models copied from /usr/share/libonnx-testdata are added by the caller (see README line
in tests/fuzz/CMakeLists.txt).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "data", "fuzz_seeds")


def kitchen_sink():
    f16 = helper.make_tensor("w_f16", TensorProto.FLOAT16, [3], [1.0, -2.0, 65504.0])
    i32 = helper.make_tensor("w_i8", TensorProto.INT8, [2, 2], [1, -2, 3, -128])
    i64 = helper.make_tensor("w_i64", TensorProto.INT64, [2], [-1, 1 << 40])
    dbl = helper.make_tensor("w_f64", TensorProto.DOUBLE, [2], [0.5, -1e300])
    u64 = helper.make_tensor("w_u64", TensorProto.UINT64, [1], [18446744073709551615])
    strs = helper.make_tensor("w_str", TensorProto.STRING, [2], [b"ab", b""])
    raw = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w_raw")
    raw.doc_string = "raw float"
    seg = helper.make_tensor("w_seg", TensorProto.FLOAT, [2], [1.5, 2.5])
    seg.segment.begin = 0
    seg.segment.end = 2
    sparse = helper.make_sparse_tensor(
        helper.make_tensor("sp", TensorProto.FLOAT, [2], [5.0, 6.0]),
        helper.make_tensor("sp_idx", TensorProto.INT64, [2], [1, 4]), [2, 3])

    then_g = helper.make_graph([helper.make_node("Constant", [], ["t_out"], value=helper.make_tensor("c1", TensorProto.FLOAT, [1], [1.0]))],
                               "then", [], [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [1])])
    else_g = helper.make_graph([helper.make_node("Constant", [], ["e_out"], value_float=2.0)],
                               "else", [], [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [])])
    nodes = [
        helper.make_node("Add", ["x", "w_raw"], ["y"], name="add0", doc_string="adds"),
        helper.make_node("If", ["cond"], ["z"], name="if0", then_branch=then_g, else_branch=else_g),
        helper.make_node("CustomOp", ["y"], ["q"], name="custom", domain="com.example",
                         alpha=0.25, count=-3, label="hi", shape=[1, -1, 0], scales=[0.5, 2.0],
                         names=["a", "b"]),
        helper.make_node("SequenceEmpty", [], ["seq"], dtype=TensorProto.FLOAT),
        helper.make_node("MyFunc", ["x"], ["fo"], domain="local"),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3]),
              helper.make_tensor_value_info("cond", TensorProto.BOOL, [])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3]),
               helper.make_tensor_value_info("z", TensorProto.FLOAT, None),
               helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, [None, 2]),
               helper.make_value_info("opt", helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.INT64, [1]))),
               helper.make_sparse_tensor_value_info("sp_out", TensorProto.FLOAT, [2, 3])]
    g = helper.make_graph(nodes, "kitchen", inputs, outputs,
                          initializer=[f16, i32, i64, dbl, u64, strs, raw, seg],
                          doc_string="graph doc", sparse_initializer=[sparse],
                          value_info=[helper.make_tensor_value_info("q", TensorProto.FLOAT, [None, 3])])
    g.output[0].type.denotation = "TENSOR"
    g.input[0].type.tensor_type.shape.dim[0].denotation = "DATA_BATCH"
    ann = g.quantization_annotation.add()
    ann.tensor_name = "y"
    kv = ann.quant_parameter_tensor_names.add()
    kv.key, kv.value = "SCALE_TENSOR", "y_scale"
    fn = helper.make_function("local", "MyFunc", ["a"], ["b"],
                              [helper.make_node("Relu", ["a"], ["b"])], [helper.make_opsetid("", 14)])
    m = helper.make_model(g, producer_name="quantmix-seeds", producer_version="1.0", domain="ai.quantmix",
                          model_version=7, doc_string="kitchen sink",
                          opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid("com.example", 1),
                                         helper.make_opsetid("local", 1)],
                          functions=[fn])
    m.ir_version = 8
    helper.set_model_props(m, {"author": "quantmix", "license": "MIT"})
    ti = helper.make_training_info(
        helper.make_graph([], "init", [], []), [("x", "y")],
        helper.make_graph([], "algo", [], []), [("w_raw", "y")])
    m.training_info.append(ti)
    return m


def external(folder):
    w = numpy_helper.from_array(np.array([[1.0, -2.5], [3.25, 4.0]], np.float32), "fc.weight")
    payload = w.raw_data
    with open(os.path.join(folder, "external.bin"), "wb") as f:
        f.write(b"\0" * 8 + payload)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "external.bin"), ("offset", "8"), ("length", str(len(payload)))):
        e = w.external_data.add()
        e.key, e.value = k, v
    g = helper.make_graph([helper.make_node("MatMul", ["x", "fc.weight"], ["y"])], "ext",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], initializer=[w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def writer_oracle():
    w = np.array([0.5, -1.0, 0.25, 2.0, 0.0, -0.125, 1.5, 3.0, -2.0] * 2, np.float32).reshape(2, 1, 3, 3)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("LeakyRelu", ["c"], ["y"], name="act", alpha=0.125),
         helper.make_node("Reshape", ["y", "s"], ["z"], name="flat")],
        "writer_oracle",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 32])],
        initializer=[numpy_helper.from_array(w, "w"), helper.make_tensor("s", TensorProto.INT64, [2], [-1, 32])])
    m = helper.make_model(g, producer_name="quantmix", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "writer_oracle.onnx"), "wb") as f:
    f.write(writer_oracle().SerializeToString())
ks = kitchen_sink()
with open(os.path.join(out, "kitchen_sink.onnx"), "wb") as f:
    f.write(ks.SerializeToString())
ext = external(out)

with open(os.path.join(out, "external.onnx"), "wb") as f:
    f.write(ext.SerializeToString())
