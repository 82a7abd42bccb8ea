"""Real exported models: torchvision CNNs (random init, weights=None, never downloaded) at opsets
9-17, a small ViT built from nn.TransformerEncoderLayer, and a small ConvTranspose autoencoder,
covering the export variants the Foundation issue names: initializers listed as graph inputs,
unfused BatchNormalization (training-mode export and eval export without the Conv+BN fusion),
weights in Constant nodes, and a dynamic batch axis. Each model gets <name>.expected.json from
oracle.build_expected (torch-measured MACs, cross-checked by ONNX shape inference).
"""
import os

import onnx
import torch
import torch.nn as nn
import torchvision
from onnx import helper

from . import oracle


class TinyViT(nn.Module):
    """ViT-like classifier: patch-embedding Conv, class token, TransformerEncoder, Linear head."""

    def __init__(self, img=32, patch=8, d=64, heads=4, layers=2, ff=128, ncls=10):
        super().__init__()
        self.patch = nn.Conv2d(3, d, patch, patch)
        n = (img // patch) ** 2
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True,
                                           activation="gelu")
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        # TransformerEncoder deep-copies one layer: without this every layer would have the same
        # weights and the exporter would deduplicate them into Identity nodes.
        with torch.no_grad():
            for p in self.enc.parameters():
                p.copy_(torch.randn_like(p) * 0.1)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, ncls)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        x = self.enc(x)
        return self.head(self.norm(x[:, 0]))


class TinyAutoencoder(nn.Module):
    """Strided Conv down, ConvTranspose up (plain, grouped, with output_padding), 1x1 Conv out."""

    def __init__(self):
        super().__init__()
        self.down1 = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.up1 = nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.out = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        x = torch.relu(self.down1(x))
        x = torch.relu(self.down2(x))
        x = torch.relu(self.up1(x))
        x = torch.relu(self.up2(x))
        return torch.sigmoid(self.out(x))


def initializers_to_constants(model):
    """Moves every initializer into a Constant node (as some exporters/optimizers emit)."""
    g = model.graph
    consts = [helper.make_node("Constant", [], [t.name], name=f"const/{t.name}", value=t)
              for t in g.initializer]
    names = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in names]
    nodes = consts + list(g.node)
    del g.initializer[:]
    del g.input[:]
    g.input.extend(inputs)
    del g.node[:]
    g.node.extend(nodes)
    return model


# name, constructor, input shape, opset, export options, post-processing, description
def _specs():
    tv = torchvision.models
    return [
        ("resnet18_op9", lambda: tv.resnet18(weights=None), (1, 3, 224, 224), 9, {}, None,
         "torchvision resnet18, eval export (Conv+BN fused), opset 9"),
        ("resnet18_op17", lambda: tv.resnet18(weights=None), (1, 3, 224, 224), 17, {}, None,
         "torchvision resnet18, eval export, opset 17"),
        ("squeezenet1_1_op10_dynbatch", lambda: tv.squeezenet1_1(weights=None), (1, 3, 224, 224),
         10, {"dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}}, None,
         "torchvision squeezenet1_1, dynamic batch axis 'batch', opset 10"),
        ("mobilenet_v2_op11", lambda: tv.mobilenet_v2(weights=None), (1, 3, 224, 224), 11, {},
         None, "torchvision mobilenet_v2 (depthwise convs), opset 11"),
        ("shufflenet_v2_x0_5_op12_unfused_bn", lambda: tv.shufflenet_v2_x0_5(weights=None),
         (1, 3, 224, 224), 12,
         {"training": torch.onnx.TrainingMode.PRESERVE, "do_constant_folding": False}, None,
         "torchvision shufflenet_v2_x0_5, eval model exported with TrainingMode.PRESERVE and no "
         "constant folding: inference BatchNormalization nodes stay unfused, opset 12"),
        ("mobilenet_v2_op13_train_bn", lambda: tv.mobilenet_v2(weights=None), (1, 3, 224, 224),
         13, {"training": torch.onnx.TrainingMode.TRAINING, "do_constant_folding": False}, None,
         "torchvision mobilenet_v2 exported with TrainingMode.TRAINING: BatchNormalization with "
         "5 outputs, Dropout kept, opset 13"),
        ("vit_tiny_op14", TinyViT, (1, 3, 32, 32), 14, {}, None,
         "ViT-like: patch Conv + 2 nn.TransformerEncoderLayer (d=64, 4 heads, ff=128, 17 tokens) "
         "+ Linear head, opset 14 (LayerNorm decomposed)"),
        ("vit_tiny_op17", TinyViT, (1, 3, 32, 32), 17, {}, None,
         "same ViT-like model, opset 17 (LayerNormalization)"),
        ("mnasnet0_5_op15_init_inputs", lambda: tv.mnasnet0_5(weights=None), (1, 3, 224, 224),
         15, {"keep_initializers_as_inputs": True}, None,
         "torchvision mnasnet0_5 with keep_initializers_as_inputs=True (every initializer is "
         "also a graph input), opset 15"),
        ("mobilenet_v3_small_op16_constants", lambda: tv.mobilenet_v3_small(weights=None),
         (1, 3, 224, 224), 16, {}, initializers_to_constants,
         "torchvision mobilenet_v3_small (HardSwish, SE blocks), every initializer moved into a "
         "Constant node, opset 16"),
        ("autoencoder_op13_convtranspose", TinyAutoencoder, (1, 3, 32, 32), 13, {}, None,
         "small Conv/ConvTranspose autoencoder (strided, grouped, output_padding), opset 13"),
    ]


def make_all(out_dir, log):
    names = []
    for name, ctor, shape, opset, opts, post, desc in _specs():
        torch.manual_seed(0)
        module = ctor().eval()
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
        records, y = oracle.torch_mac_records(module, (x,))
        path = os.path.join(out_dir, name + ".onnx")
        torch.onnx.export(module, (x,), path, opset_version=opset, input_names=["input"],
                          output_names=["output"], **opts)
        model = onnx.load(path)
        if post is not None:
            model = post(model)
            onnx.save(model, path)
        dynamic = "dynamic_axes" in opts
        exp = oracle.build_expected(
            model, records=records, batch=shape[0], file=name + ".onnx", description=desc,
            opset=opset, torch_params=sum(p.numel() for p in module.parameters()),
            run_inputs=[{"name": "input", "dtype": "float", "shape": list(shape)}],
            dynamic_batch=dynamic)
        # The graph interface must be what torch was asked to export.
        want_in = ["batch" if dynamic else shape[0]] + list(shape[1:])
        want_out = ["batch" if dynamic else y.shape[0]] + list(y.shape[1:])
        got_in = [(v["name"], v["shape"]) for v in exp["inputs"]]
        got_out = [(v["name"], v["shape"]) for v in exp["outputs"]]
        if got_in != [("input", want_in)] or got_out != [("output", want_out)]:
            raise RuntimeError(f"{name}: graph io {got_in} {got_out} != torch {want_in} {want_out}")
        if opts.get("keep_initializers_as_inputs"):
            n_init_inputs = sum(1 for v in model.graph.input
                                if v.name in {t.name for t in model.graph.initializer})
            if n_init_inputs == 0:
                raise RuntimeError(f"{name}: expected initializers among the graph inputs")
            exp["initializers_as_inputs"] = n_init_inputs
        if dynamic:
            exp["input_shape_flag"] = "input=" + "x".join(str(d) for d in shape)
        oracle.write_json(os.path.join(out_dir, name + ".expected.json"), exp)
        log(f"  {name}: {exp['macs']} MACs, {exp['params']} params, {len(exp['layers'])} layers")
        names.append(name)
    return names
