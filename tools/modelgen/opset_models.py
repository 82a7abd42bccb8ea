"""One small model per opset (7, 8, 9, 10, 11, 13, 17, 21) for the export-at-every-opset test:
Conv (+ BatchNormalization), an upsampling step, a Slice, MatMul with a constant weight, an
activation x activation MatMul (attention-like) with Softmax, ReduceMean, Gemm and a TopK, each in
the form its opset defines (Upsample with a scales attribute at 7-8 and an input at 9, Resize
from 10; Slice and TopK with attributes before 10 and inputs after; BatchNormalization with
spatial=1 before 9; ReduceMean axes as an input from 18).

The quantized exports of these are loaded by ONNX Runtime at its 'disabled' and default levels
(tests/cli/quantize.test.mjs). ONNX Runtime computes the float outputs; no quantmix code is
involved in making them. Written to <out>/opsets/opset_op<N>.onnx.
"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

OPSETS = (7, 8, 9, 10, 11, 13, 17, 21)
INPUT_SHAPE = [1, 3, 8, 8]


def _ir_version(opset):
    return 10 if opset >= 21 else 8 if opset >= 15 else 7 if opset >= 12 else 5 if opset >= 10 else 3


def build(opset):
    r = np.random.RandomState(100 + opset)

    def w(name, shape, scale=0.3):
        return numpy_helper.from_array((r.standard_normal(shape) * scale).astype(np.float32), name)

    def i64(name, values):
        return numpy_helper.from_array(np.array(values, np.int64), name)

    inits = [w("conv_w", [8, 3, 3, 3]), w("conv_b", [8], 0.1),
             numpy_helper.from_array((1 + 0.2 * r.rand(8)).astype(np.float32), "bn_scale"),
             w("bn_bias", [8], 0.1), w("bn_mean", [8], 0.1),
             numpy_helper.from_array((0.5 + r.rand(8)).astype(np.float32), "bn_var"),
             w("mm_w", [8, 16], 0.15), w("mm_b", [16], 0.1), w("gemm_w", [10, 16]), w("gemm_b", [10], 0.1),
             i64("seq_shape", [1, -1, 8]), numpy_helper.from_array(np.array(0.25, np.float32), "att_scale")]
    bn_attrs = {"epsilon": 1e-5}
    if opset < 9:
        bn_attrs["spatial"] = 1
    nodes = [helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["bn"],
                              name="bn", **bn_attrs),
             helper.make_node("Relu", ["bn"], ["r"], name="relu")]
    # 1x8x8x8 -> 1x8x16x16 (nearest) -> Slice to 1x8x12x12
    if opset < 9:
        nodes.append(helper.make_node("Upsample", ["r"], ["up"], name="upsample", mode="nearest",
                                      scales=[1.0, 1.0, 2.0, 2.0]))
    else:
        inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "up_scales"))
        if opset == 9:
            nodes.append(helper.make_node("Upsample", ["r", "up_scales"], ["up"], name="upsample", mode="nearest"))
        elif opset == 10:
            nodes.append(helper.make_node("Resize", ["r", "up_scales"], ["up"], name="upsample", mode="nearest"))
        else:  # roi is a required input in 11-12, optional from 13
            inits.append(numpy_helper.from_array(np.zeros([0], np.float32), "up_roi"))
            nodes.append(helper.make_node("Resize", ["r", "up_roi", "up_scales"], ["up"], name="upsample", mode="nearest"))
    if opset < 10:
        nodes.append(helper.make_node("Slice", ["up"], ["sl"], name="slice", starts=[2, 2], ends=[14, 14], axes=[2, 3]))
    else:
        inits += [i64("sl_starts", [2, 2]), i64("sl_ends", [14, 14]), i64("sl_axes", [2, 3])]
        nodes.append(helper.make_node("Slice", ["up", "sl_starts", "sl_ends", "sl_axes"], ["sl"], name="slice"))
    nodes += [helper.make_node("Transpose", ["sl"], ["nhwc"], name="to_nhwc", perm=[0, 2, 3, 1]),
              helper.make_node("Reshape", ["nhwc", "seq_shape"], ["seq"], name="to_seq"),        # 1x144x8
              helper.make_node("MatMul", ["seq", "mm_w"], ["mm"], name="proj"),                 # 1x144x16
              helper.make_node("Add", ["mm", "mm_b"], ["h"], name="proj_bias"),
              helper.make_node("Transpose", ["h"], ["hT"], name="keys", perm=[0, 2, 1]),
              helper.make_node("MatMul", ["h", "hT"], ["att"], name="scores"),                  # 1x144x144
              helper.make_node("Mul", ["att", "att_scale"], ["att_s"], name="scale"),
              helper.make_node("Softmax", ["att_s"], ["p"], name="softmax", axis=2),
              helper.make_node("MatMul", ["p", "h"], ["ctx"], name="context")]                  # 1x144x16
    if opset < 18:
        nodes.append(helper.make_node("ReduceMean", ["ctx"], ["pool"], name="pool", axes=[1], keepdims=0))
    else:
        inits.append(i64("pool_axes", [1]))
        nodes.append(helper.make_node("ReduceMean", ["ctx", "pool_axes"], ["pool"], name="pool", keepdims=0))
    nodes.append(helper.make_node("Gemm", ["pool", "gemm_w", "gemm_b"], ["y"], name="classifier", transB=1))
    if opset < 10:
        nodes.append(helper.make_node("TopK", ["y"], ["top", "top_idx"], name="topk", axis=1, k=3))
    else:
        inits.append(i64("top_k", [3]))
        nodes.append(helper.make_node("TopK", ["y", "top_k"], ["top", "top_idx"], name="topk", axis=1))
    g = helper.make_graph(nodes, f"opset{opset}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, INPUT_SHAPE)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10]),
                           helper.make_tensor_value_info("top", TensorProto.FLOAT, [1, 3])],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="quantmix-tests")
    m.ir_version = _ir_version(opset)
    return m


def make_all(out_dir, log):
    sub = os.path.join(out_dir, "opsets")
    os.makedirs(sub, exist_ok=True)
    for opset in OPSETS:
        onnx.save(build(opset), os.path.join(sub, f"opset_op{opset}.onnx"))
    log(f"  opsets/: opset_op{{{','.join(map(str, OPSETS))}}}.onnx")
