"""Hand-built tiny ONNX graphs (python onnx helper) whose MACs are written in closed form:
auto_pad SAME_UPPER/SAME_LOWER and dilated Conv, grouped and depthwise Conv, ConvTranspose
(strided, grouped, output_padding), Gemm with transB=1 and without, MatMul with broadcasting,
a 1-D right operand and a non-constant right operand; plus nodes without names, an op quantmix
does not know (listed, not fatal) and weights in an external data file.
The closed forms are checked against ONNX shape inference by oracle.build_expected.
"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

from . import oracle

OPSET = 13
IR_VERSION = 7


def _rng(seed):
    return np.random.RandomState(seed)


def _w(rng, name, shape):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name)


def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def _model(nodes, inputs, outputs, inits, name, extra_opsets=()):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    opsets = [helper.make_opsetid("", OPSET)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    m = helper.make_model(g, opset_imports=opsets, producer_name="quantmix-tests")
    m.ir_version = IR_VERSION
    return m


def conv_same_upper():
    r = _rng(10)
    nodes = [
        # 17x17, k3, s2, SAME_UPPER -> ceil(17/2) = 9
        helper.make_node("Conv", ["x", "w1", "b1"], ["h1"], name="conv_same_upper",
                         auto_pad="SAME_UPPER", strides=[2, 2], kernel_shape=[3, 3]),
        # even kernel, SAME_LOWER, stride 1 -> 9x9
        helper.make_node("Conv", ["h1", "w2"], ["h2"], name="conv_same_lower",
                         auto_pad="SAME_LOWER", kernel_shape=[4, 4]),
        # dilation 2 (effective 5x5), pads 2 -> 9x9
        helper.make_node("Conv", ["h2", "w3", "b3"], ["y"], name="conv_dilated",
                         dilations=[2, 2], pads=[2, 2, 2, 2]),
    ]
    inits = [_w(r, "w1", [8, 3, 3, 3]), _w(r, "b1", [8]), _w(r, "w2", [4, 8, 4, 4]),
             _w(r, "w3", [6, 4, 3, 3]), _w(r, "b3", [6])]
    m = _model(nodes, [_vi("x", [1, 3, 17, 17])], [_vi("y", [1, 6, 9, 9])], inits,
               "conv_same_upper")
    macs = {"conv_same_upper": 8 * 9 * 9 * (3 * 3 * 3),
            "conv_same_lower": 4 * 9 * 9 * (8 * 4 * 4),
            "conv_dilated": 6 * 9 * 9 * (4 * 3 * 3)}
    return m, macs, "Conv auto_pad SAME_UPPER stride 2, SAME_LOWER even kernel, dilation 2"


def grouped_depthwise():
    r = _rng(11)
    nodes = [
        helper.make_node("Conv", ["x", "wd", "bd"], ["h1"], name="conv_depthwise", group=16,
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h1"], ["h1r"], name="relu1"),
        helper.make_node("Conv", ["h1r", "wg"], ["h2"], name="conv_grouped", group=4,
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["h2", "wp", "bp"], ["y"], name="conv_pointwise"),
    ]
    inits = [_w(r, "wd", [16, 1, 3, 3]), _w(r, "bd", [16]), _w(r, "wg", [32, 4, 3, 3]),
             _w(r, "wp", [8, 32, 1, 1]), _w(r, "bp", [8])]
    m = _model(nodes, [_vi("x", [1, 16, 20, 20])], [_vi("y", [1, 8, 10, 10])], inits,
               "grouped_depthwise")
    macs = {"conv_depthwise": 16 * 20 * 20 * (1 * 3 * 3),
            "conv_grouped": 32 * 10 * 10 * (4 * 3 * 3),
            "conv_pointwise": 8 * 10 * 10 * 32}
    return m, macs, "depthwise Conv (group=C), grouped Conv (group=4, stride 2), 1x1 Conv"


def conv_transpose():
    r = _rng(12)
    nodes = [
        # 7 -> (7-1)*2 - 2 + 4 = 14
        helper.make_node("ConvTranspose", ["x", "wt1", "bt1"], ["h1"], name="convt_s2",
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        # 14 -> (14-1)*2 - 2 + 3 + 1 = 28; weight [Cin, Cout/group, k, k]
        helper.make_node("ConvTranspose", ["h1", "wt2"], ["y"], name="convt_grouped_outpad",
                         strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1], group=2),
    ]
    inits = [_w(r, "wt1", [8, 4, 4, 4]), _w(r, "bt1", [4]), _w(r, "wt2", [4, 3, 3, 3])]
    m = _model(nodes, [_vi("x", [1, 8, 7, 7])], [_vi("y", [1, 6, 28, 28])], inits,
               "conv_transpose")
    # MACs = input elements x (Cout/group) x kH x kW
    macs = {"convt_s2": (8 * 7 * 7) * (4 * 4 * 4),
            "convt_grouped_outpad": (4 * 14 * 14) * (3 * 3 * 3)}
    return m, macs, "ConvTranspose stride 2; grouped ConvTranspose with output_padding"


def gemm():
    r = _rng(13)
    nodes = [
        helper.make_node("Gemm", ["x", "wb", "cb"], ["h"], name="gemm_transB", transB=1,
                         alpha=1.0, beta=1.0),
        helper.make_node("Relu", ["h"], ["hr"], name="relu"),
        helper.make_node("Gemm", ["hr", "wp"], ["y"], name="gemm_plain"),
    ]
    inits = [_w(r, "wb", [32, 64]), _w(r, "cb", [32]), _w(r, "wp", [32, 10])]
    m = _model(nodes, [_vi("x", [1, 64])], [_vi("y", [1, 10])], inits, "gemm")
    macs = {"gemm_transB": 1 * 64 * 32, "gemm_plain": 1 * 32 * 10}
    return m, macs, "Gemm transB=1 with bias, Gemm without transposes or bias"


def matmul_broadcast():
    r = _rng(14)
    nodes = [
        helper.make_node("MatMul", ["a", "w2d"], ["y1"], name="matmul_2d_weight"),
        helper.make_node("MatMul", ["a", "w3d"], ["y2"], name="matmul_batched_weight"),
        helper.make_node("MatMul", ["a", "b"], ["y3"], name="matmul_two_inputs"),
        helper.make_node("MatMul", ["a", "w1d"], ["y4"], name="matmul_vector"),
    ]
    inits = [_w(r, "w2d", [8, 6]), _w(r, "w3d", [3, 8, 4]), _w(r, "w1d", [8])]
    m = _model(nodes, [_vi("a", [1, 3, 5, 8]), _vi("b", [1, 1, 8, 7])],
               [_vi("y1", [1, 3, 5, 6]), _vi("y2", [1, 3, 5, 4]), _vi("y3", [1, 3, 5, 7]),
                _vi("y4", [1, 3, 5])], inits, "matmul_broadcast")
    macs = {"matmul_2d_weight": 3 * 5 * 6 * 8,       # [1,3,5,8] x [8,6]
            "matmul_batched_weight": 3 * 5 * 4 * 8,  # [1,3,5,8] x [3,8,4] broadcast
            "matmul_two_inputs": 3 * 5 * 7 * 8,      # [1,3,5,8] x [1,1,8,7] broadcast
            "matmul_vector": 3 * 5 * 8}              # [1,3,5,8] x [8]
    return m, macs, "MatMul: 2-D weight, batched broadcast weight, two activations, 1-D weight"


def unnamed_nodes():
    r = _rng(15)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["h"], pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["h"], ["f"]),
        helper.make_node("Gemm", ["f", "wf"], ["y"], transB=1),
    ]
    inits = [_w(r, "w", [4, 2, 3, 3]), _w(r, "wf", [5, 4 * 6 * 6])]
    m = _model(nodes, [_vi("x", [1, 2, 6, 6])], [_vi("y", [1, 5])], inits, "unnamed_nodes")
    # Expected names are unknown (quantmix generates them): by position, name null in the JSON.
    macs = [4 * 6 * 6 * (2 * 9), 144 * 5]
    return m, macs, "Conv, Flatten, Gemm with empty node names (generated stable names)"


def unsupported_op():
    r = _rng(16)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv"),
        helper.make_node("Frobnicate", ["x"], ["z"], name="frob", domain="com.example"),
    ]
    inits = [_w(r, "w", [4, 3, 3, 3])]
    m = _model(nodes, [_vi("x", [1, 3, 8, 8])], [_vi("y", [1, 4, 6, 6]), _vi("z", None)], inits,
               "unsupported_op", extra_opsets=[("com.example", 1)])
    macs = {"conv": 4 * 6 * 6 * 27}
    return m, macs, "an op from an unknown domain (com.example.Frobnicate): listed, not fatal"


def external_data():
    m, macs, _ = grouped_depthwise()
    return m, macs, "grouped_depthwise with every initializer in the external file " \
                    "external_data.weights"


def make_all(out_dir, log):
    names = []
    builders = [("conv_same_upper", conv_same_upper), ("grouped_depthwise", grouped_depthwise),
                ("conv_transpose", conv_transpose), ("gemm", gemm),
                ("matmul_broadcast", matmul_broadcast), ("unnamed_nodes", unnamed_nodes),
                ("unsupported_op", unsupported_op), ("external_data", external_data)]
    for name, build in builders:
        m, macs, desc = build()
        path = os.path.join(out_dir, name + ".onnx")
        extra = {"file": name + ".onnx", "description": desc, "opset": OPSET}
        if name != "unsupported_op":
            onnx.checker.check_model(m)
        exp = oracle.build_expected(m, closed_form=macs, **extra)
        exp["run_inputs"] = [{"name": v["name"], "dtype": v["dtype"], "shape": v["shape"]}
                             for v in exp["inputs"]]
        if name == "unsupported_op":
            exp["unsupported"] = ["Frobnicate"]
            exp["ort"] = False  # ONNX Runtime cannot run an unknown op either
        if name == "external_data":
            onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                      location="external_data.weights", size_threshold=0)
            exp["external_data"] = ["external_data.weights"]
        else:
            onnx.save(m, path)
        oracle.write_json(os.path.join(out_dir, name + ".expected.json"), exp)
        log(f"  {name}: {exp['macs']} MACs, {exp['params']} params, {len(exp['layers'])} layers")
        names.append(name)
    return names
