#!/usr/bin/python3
"""Real-size models for the workspace/memory benchmark (`npm run bench -- --large`) and for
trying the app at scale: torchvision's ResNet-50 (25.6 M parameters, ~102 MB) and ViT-B/16
(86.6 M parameters, ~346 MB), with random weights (a fixed seed; nothing is downloaded: torchvision
builds the architectures, `weights=None`), exported to ONNX opset 17 at 1x3x224x224, weights inline.

Usage: /usr/bin/python3 tools/bench/make_large_models.py --out DIR [--only resnet50|vit_b_16]

A no-op for a model whose file exists and is newer than this script. The files are far over the
repository's 5 MiB limit: they are generated, never committed.
"""
import argparse
import os
import sys
import warnings

MODELS = ("resnet50", "vit_b_16")


def export(name, dst):
    import torch
    import torchvision
    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = getattr(torchvision.models, name)(weights=None).eval()
    if name == "vit_b_16":
        # torchvision initialises the ViT head to zeros: every logit would be 0 (SQNR undefined).
        torch.nn.init.normal_(net.heads.head.weight, std=0.02)
    x = torch.randn(1, 3, 224, 224)
    warnings.filterwarnings("ignore")
    # With gradients enabled, torch 1.13's nn.MultiheadAttention skips its fused fast path
    # (aten::_native_multi_head_attention, which has no ONNX export) and exports plain MatMuls.
    torch.onnx.export(net, (x,), dst, opset_version=17, input_names=["input"], output_names=["logits"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", choices=MODELS)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name in MODELS:
        if a.only and name != a.only:
            continue
        dst = os.path.join(a.out, name + ".onnx")
        if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(__file__):
            continue
        export(name, dst)
        print("make_large_models: wrote", dst, f"({os.path.getsize(dst) / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
