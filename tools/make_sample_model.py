#!/usr/bin/python3
"""Generates the sample model bundled with the web app and the fixtures of the web tests.

Run with Debian's python (it has torch and onnx):  /usr/bin/python3 tools/make_sample_model.py
Deterministic (fixed seeds); the outputs are committed:

  web/samples/sample_cnn.onnx            Fashion-MNIST-shaped CNN, input 1x1x28x28, opset 13
  web/samples/sample_cnn.expected.json   oracle: parameter count from the ONNX initializers and
                                         per-layer MACs in closed form from the torch modules
  tests/browser/models/*.onnx (+ .expected.json)  small fixtures for the node and browser tests:
    dynamic_cnn.onnx      input 1x3xHxW with symbolic H, W (MACs only known with an input shape)
    external_mlp.onnx     an MLP whose weights live in external_mlp.onnx.data
    corrupt.onnx          sample_cnn.onnx truncated in the middle of a tensor

The oracle never reads anything our C++ produced: MACs come from the layer hyper-parameters and the
shapes torch computes, parameter counts from the initializer dims python-onnx reads.
"""
import json
import os
import sys
import warnings

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "web", "samples")
FIXTURES = os.path.join(ROOT, "tests", "browser", "models")
OPSET = 13


class SampleCNN(nn.Module):
    """Conv+BN+ReLU blocks (one depthwise-separable), pooling, two Gemm layers; 10 classes."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),                                                  # 16x14x14
            nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),                                                  # 32x7x7
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class DynamicCNN(nn.Module):
    """A fully convolutional net whose spatial size is dynamic."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 4, 1))

    def forward(self, x):
        return self.body(x)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 16))

    def forward(self, x):
        return self.net(x)


def randomize_batchnorm(model, gen):
    """Non-trivial running statistics, so BatchNormalization is not an identity."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def layer_macs(model, x):
    """MACs per sample of every Conv2d/Linear, in execution order, from torch's own shapes."""
    layers = []

    def hook(mod, inputs, output):
        out = output.shape
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            per_out = (mod.in_channels // mod.groups) * kh * kw
            macs = out[1] * out[2] * out[3] * per_out
            layers.append({"op": "Conv", "weight_shape": list(mod.weight.shape), "macs": macs})
        else:
            layers.append({"op": "Gemm", "weight_shape": list(mod.weight.shape),
                           "macs": mod.in_features * mod.out_features})

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return layers


def export(model, x, path, input_names, output_names, dynamic_axes=None, producer=None):
    model.eval()
    # The model is in eval mode, so constant folding cannot touch trained statistics.
    warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    # PRESERVE keeps BatchNormalization nodes (EVAL would fold them into the convolutions).
    torch.onnx.export(model, x, path, opset_version=OPSET, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic_axes,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    m = onnx.load(path)
    if producer:
        m.producer_name, m.producer_version = producer
    onnx.checker.check_model(m)
    return m


def attach_oracle(m, layers):
    """Pairs the closed-form layers with the ONNX nodes (same order, same op types)."""
    nodes = [n for n in m.graph.node if n.op_type in ("Conv", "Gemm", "MatMul", "ConvTranspose")]
    if len(nodes) != len(layers):
        sys.exit(f"oracle: {len(nodes)} weighted ONNX nodes but {len(layers)} torch layers")
    for node, layer in zip(nodes, layers):
        if node.op_type != layer["op"]:
            sys.exit(f"oracle: node {node.name} is {node.op_type}, torch layer is {layer['op']}")
        layer["name"] = node.name
    return [{"name": l["name"], "op": l["op"], "weight_shape": l["weight_shape"],
             "macs": l["macs"]} for l in layers]


def count_params(m, base_dir):
    """Elements of float initializers and Constant tensors (the definition in src/api/inspect.h)."""
    total = 0
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
              onnx.TensorProto.BFLOAT16)
    tensors = list(m.graph.initializer)
    tensors += [a.t for n in m.graph.node if n.op_type == "Constant" for a in n.attribute
                if a.name == "value"]
    for t in tensors:
        if t.data_type in floats:
            total += int(np.prod(t.dims, dtype=np.int64)) if len(t.dims) else 1
    return total


def op_histogram(m):
    hist = {}
    for n in m.graph.node:
        hist[n.op_type] = hist.get(n.op_type, 0) + 1
    return hist


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def make_sample():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = SampleCNN()
    randomize_batchnorm(model, gen)
    model.eval()
    x = torch.randn(1, 1, 28, 28, generator=gen)
    path = os.path.join(SAMPLES, "sample_cnn.onnx")
    m = export(model, x, path, ["image"], ["logits"], producer=("quantmix-sample", "1"))
    layers = attach_oracle(m, layer_macs(model, x))
    onnx.save(m, path)
    write_json(os.path.join(SAMPLES, "sample_cnn.expected.json"), {
        "file": "sample_cnn.onnx",
        "opset": OPSET,
        "inputs": [{"name": "image", "dtype": "float", "shape": [1, 1, 28, 28]}],
        "outputs": [{"name": "logits", "dtype": "float", "shape": [1, 10]}],
        "ops": op_histogram(m),
        "params": count_params(m, SAMPLES),
        "macs": sum(l["macs"] for l in layers),
        "layers": layers,
    })
    return path


def make_dynamic():
    torch.manual_seed(2)
    model = DynamicCNN()
    model.eval()
    path = os.path.join(FIXTURES, "dynamic_cnn.onnx")
    x = torch.randn(1, 3, 32, 48)
    m = export(model, x, path, ["x"], ["y"], dynamic_axes={"x": {2: "H", 3: "W"}, "y": {2: "h", 3: "w"}})
    onnx.save(m, path)
    # MACs for the shape the tests pass in the input-shape field (1x3x32x48).
    layers = attach_oracle(m, layer_macs(model, x))
    write_json(os.path.join(FIXTURES, "dynamic_cnn.expected.json"), {
        "file": "dynamic_cnn.onnx", "input_shape": "x=1x3x32x48",
        "params": count_params(m, FIXTURES),
        "macs": sum(l["macs"] for l in layers), "layers": layers,
    })


def make_external():
    torch.manual_seed(3)
    model = MLP()
    model.eval()
    x = torch.randn(1, 64)
    path = os.path.join(FIXTURES, "external_mlp.onnx")
    m = export(model, x, path, ["x"], ["y"])
    layers = attach_oracle(m, layer_macs(model, x))
    params = count_params(m, FIXTURES)
    data_path = os.path.join(FIXTURES, "external_mlp.onnx.data")
    if os.path.exists(data_path):
        os.remove(data_path)  # python-onnx appends to an existing data file
    onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="external_mlp.onnx.data", size_threshold=0)
    write_json(os.path.join(FIXTURES, "external_mlp.expected.json"), {
        "file": "external_mlp.onnx", "data_file": "external_mlp.onnx.data", "params": params,
        "macs": sum(l["macs"] for l in layers), "layers": layers,
    })


def make_corrupt(sample_path):
    data = open(sample_path, "rb").read()
    with open(os.path.join(FIXTURES, "corrupt.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])


def main():
    os.makedirs(SAMPLES, exist_ok=True)
    os.makedirs(FIXTURES, exist_ok=True)
    sample = make_sample()
    make_dynamic()
    make_external()
    make_corrupt(sample)
    print(f"wrote {sample} ({os.path.getsize(sample)} bytes) and fixtures in {FIXTURES}")


if __name__ == "__main__":
    main()
