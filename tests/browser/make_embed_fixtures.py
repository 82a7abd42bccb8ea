#!/usr/bin/python3
"""Fixtures of the labels and embedding tests (Debian's python: numpy, onnx, PIL). Deterministic;
the outputs are committed:

  web/samples/labelled/NNN.png        32 labelled Fashion-MNIST test images (the first 32 of
                                      web/samples/fashion_test.npz, 28x28 8-bit gray PNGs)
  web/samples/labelled/labels.txt     their classes, one integer per line (the CLI's --labels
                                      format; class names in web/samples/fashion_labels.txt)
  tests/browser/models/wide_cnn.onnx  a tiny CNN with a dynamic width, input x [1, 3, 48, W]
                                      (a text-line-like input: the height is fixed, the width is not)
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
N_LABELLED = 32


def labelled_samples():
    z = np.load(os.path.join(ROOT, "web", "samples", "fashion_test.npz"))
    out = os.path.join(ROOT, "web", "samples", "labelled")
    os.makedirs(out, exist_ok=True)
    for k in range(N_LABELLED):
        Image.fromarray(z["x"][k, 0], "L").save(os.path.join(out, f"{k:03d}.png"), optimize=True)
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("".join(f"{int(y)}\n" for y in z["y"][:N_LABELLED]))


def wide_cnn():
    rng = np.random.default_rng(11)
    w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((8, 8, 3, 3)) * 0.2).astype(np.float32)
    w3 = (rng.standard_normal((5, 8)) * 0.5).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv2"),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="pool"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w3"], ["y"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "wide_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 48, "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (w3, "w3"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="quantmix-tests")
    model.ir_version = 7
    onnx.save(model, os.path.join(HERE, "models", "wide_cnn.onnx"))


if __name__ == "__main__":
    labelled_samples()
    wide_cnn()
