#!/usr/bin/python3
"""Benchmark models for `npm run bench` (scripts/bench.sh).

Usage: /usr/bin/python3 tools/bench/make_bench_models.py --corpus DIR --out DIR

Reuses the CLI test corpus (tools/make_models.py, fixed batch 1): mobilenet_v2_op11.onnx and
resnet18_op17.onnx are copied with the batch dimension of every graph input and output renamed
to the symbol 'batch' (intermediate value_info dropped, so both engines re-infer shapes), which
lets the same file run at batch 1 and 8. The transformer is exported here: the corpus's
TinyViT class (tools/modelgen/torch_models.py) scaled up to a small encoder (96x96 image, 8x8
patches -> 145 tokens, d=256, 4 heads, 4 layers, FF 1024, GELU, opset 17 LayerNormalization),
random init with a fixed seed, dynamic batch axis. Nothing is downloaded. A no-op when the outputs
exist and are newer than their sources.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)

CNNS = {"mobilenet_v2": "mobilenet_v2_op11.onnx", "resnet18": "resnet18_op17.onnx"}


def fresh(out, sources):
    return os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(s) for s in sources)


def dynamic_batch(src, dst):
    import onnx
    m = onnx.load(src)
    for v in list(m.graph.input) + list(m.graph.output):
        if v.name in {i.name for i in m.graph.initializer}:
            continue
        dims = v.type.tensor_type.shape.dim
        if len(dims):
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "batch"
    del m.graph.value_info[:]
    onnx.save(m, dst)


def transformer(dst):
    import torch
    sys.path.insert(0, TOOLS)
    from modelgen.torch_models import TinyViT
    torch.manual_seed(7)
    torch.set_num_threads(2)
    net = TinyViT(img=96, patch=8, d=256, heads=4, layers=4, ff=1024, ncls=1000).eval()
    x = torch.randn(1, 3, 96, 96)
    import warnings
    warnings.filterwarnings("ignore")
    torch.onnx.export(net, (x,), dst, opset_version=17, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, f in CNNS.items():
        src, dst = os.path.join(a.corpus, f), os.path.join(a.out, name + ".onnx")
        if not fresh(dst, [src, __file__]):
            dynamic_batch(src, dst)
            print("make_bench_models: wrote", dst)
    dst = os.path.join(a.out, "vit_encoder.onnx")
    if not fresh(dst, [__file__, os.path.join(TOOLS, "modelgen", "torch_models.py")]):
        transformer(dst)
        print("make_bench_models: wrote", dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
