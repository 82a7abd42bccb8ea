#!/usr/bin/python3
"""Real-size models for the memory benchmark (tools/bench/bench.mjs --search-model ...) and for
trying the app at scale, with random weights (a fixed seed; nothing is downloaded), ONNX opset 17,
weights inline:
  resnet50  torchvision's ResNet-50 (25.6 M parameters, ~97 MiB), 1x3x224x224
  vit_b_16  torchvision's ViT-B/16 (86.6 M parameters, ~330 MiB), 1x3x224x224
  text_rec  a text-line recogniser shaped like the OCR models users bring: a conv backbone
            (1x3x48x320 -> 256 x 3 x 80), a 2-layer transformer encoder over the 80 columns
            (d=256, 8 heads, FF 1024) and a per-column classifier (97 classes, CTC-style
            output [1, 80, 97]); ~0.9 GMAC, ~16 MiB.
  resnet18_if  control flow at real size: torchvision's ResNet-18 up to layer3, then
            `if x.mean() > 0: layer4 else another layer4` (two 8.4 M-parameter branches inside an
            If), average pool and fc; compiled with torch.jit.script; 1x3x224x224, ~76 MiB.

Usage: /usr/bin/python3 tools/bench/make_large_models.py --out DIR [--only NAME]

A no-op for a model whose file exists and is newer than this script. The files are far over the
repository's 5 MiB limit: they are generated, never committed.
"""
import argparse
import os
import sys
import warnings

MODELS = ("resnet50", "vit_b_16", "text_rec", "resnet18_if")


def text_rec():
    import torch
    from torch import nn

    def block(cin, cout, stride):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    class TextRec(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(block(3, 32, 1), block(32, 64, (2, 2)), block(64, 64, 1),
                                          block(64, 128, (2, 2)), block(128, 128, 1), block(128, 256, (2, 1)),
                                          block(256, 256, 1), block(256, 256, (2, 1)))
            self.proj = nn.Linear(256 * 3, 256)
            layer = nn.TransformerEncoderLayer(256, 8, 1024, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(256, 97)

        def forward(self, x):
            f = self.backbone(x)                       # [1, 256, 3, 80]
            f = f.permute(0, 3, 1, 2).flatten(2)       # [1, 80, 768]
            return self.head(self.encoder(self.proj(f)))

    return TextRec(), (1, 3, 48, 320)


def resnet18_if():
    import torch
    import torchvision

    class ResNet18If(torch.nn.Module):
        def __init__(self):
            super().__init__()
            r = torchvision.models.resnet18(weights=None)
            self.stem = torch.nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3)
            self.layer4a = r.layer4
            self.layer4b = torchvision.models.resnet18(weights=None).layer4
            self.fc = r.fc

        def forward(self, x):
            h = self.stem(x)
            if bool(x.mean() > 0):
                h = self.layer4a(h)
            else:
                h = self.layer4b(h)
            return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(h, 1), 1))

    return torch.jit.script(ResNet18If().eval())


def export(name, dst):
    import torch
    import torchvision
    torch.manual_seed(0)
    torch.set_num_threads(2)
    if name == "text_rec":
        net, shape = text_rec()
        net = net.eval()
        warnings.filterwarnings("ignore")
        torch.onnx.export(net, (torch.randn(*shape),), dst, opset_version=17, input_names=["input"], output_names=["logits"])
        return
    if name == "resnet18_if":
        warnings.filterwarnings("ignore")
        torch.onnx.export(resnet18_if(), (torch.randn(1, 3, 224, 224),), dst, opset_version=17, input_names=["input"],
                          output_names=["logits"])
        return
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
