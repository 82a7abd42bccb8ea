#!/usr/bin/python3
"""Trains the held-out evaluation models of `npm run eval:search` (scripts/eval_search.sh).

Run with Debian's python (python3-torch, python3-onnx; data from Debian's dataset-fashion-mnist):
    /usr/bin/python3 tools/train_eval_models.py [--only resnet_fm,mbv2_fm,vit_fm] [--threads 1]
Deterministic for a given BLAS (fixed seeds, deterministic algorithms, fixed thread count); a few
minutes of CPU per model. Debian's torch calls the system libblas.so.3, by default netlib's
reference BLAS (~20x slower than OpenBLAS on the ViT's Linear layers). The committed models were
trained with OpenBLAS taken from Debian's libopenblas0-pthread without installing it:
    apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/ob
    LD_LIBRARY_PATH=/tmp/ob/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=1 \
      /usr/bin/python3 tools/train_eval_models.py Three architectures representative of what users quantize, trained on Fashion-MNIST
(the same input as the bundled sample: `image` float32 [1, 1, 28, 28] = pixels / 255, output
`logits` [1, 10]), so the labelled test set (web/samples/fashion_test.npz, 500 images) and the
two calibration sets of the sample (A: web/samples/calib/*.png, B: web/samples/fashion_calib.npz)
serve them all. Writes (committed) to tests/data/trained/:

  resnet_fm.onnx  ResNet-style: Conv/BN/ReLU stem (28x28), three stages of two basic residual
                  blocks (16/32/64 channels at 14/7/4 px, strided 3x3 + 1x1 projection
                  shortcuts), global average pool, Gemm head. Opset 13, BatchNormalization kept
                  as nodes.
  mbv2_fm.onnx    MobileNetV2-style: strided stem, inverted residuals (1x1 expand x4, 3x3
                  depthwise, 1x1 linear projection, residual Add where shapes allow), ReLU6
                  (= Clip 0..6), 1x1 conv to 128, global average pool, Gemm head. Opset 13.
  vit_fm.onnx     tiny ViT: 7x7 patch-embedding Conv (16 tokens), learned position embedding,
                  three pre-norm encoder blocks (LayerNormalization, 4-head attention written out
                  as MatMul/Softmax, Gelu MLP), mean-pooled tokens, Gemm head. Opset 17.
  calib_A_labels.txt, calib_B_labels.txt
                  the classes of the sample's calibration images (set A: web/samples/calib/NNN.png
                  in name order; set B: fashion_calib.npz in array order), one per line, for
                  `quantmix quantize --labels` (a labelled search); re-derived from
                  train_sample_model.py's fixed pick, and checked against the images.
  fashion_test_extra.npz
                  1000 more labelled test images (t10k images 500..1499; the first 500 are
                  web/samples/fashion_test.npz), same keys: `x` uint8 [1000, 1, 28, 28], `y`
                  uint8 [1000]: with them the eval measures top-1 on 1500 held-out images.
  models.json     per model: float top-1 from torch on the 500 labelled test images and on all
                  10000, parameter count, training time and settings.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_sample_model  # noqa: E402
from make_sample_model import count_params, op_histogram, write_json  # noqa: E402
from train_sample_model import BATCH, N_CALIB, N_TEST, SAMPLES, SEED, accuracy, read_idx  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "trained")
N_TEST_EXTRA = 1000


def conv_bn(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride)
        self.b = conv_bn(cout, cout, 3)
        self.short = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.short(x) + self.b(self.relu(self.a(x))))


class ResNetFM(nn.Module):
    def __init__(self, widths=(16, 32, 64)):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(1, widths[0]), nn.ReLU())             # 28x28
        blocks, cin = [], widths[0]
        for w in widths:                                                        # 14, 7, 4
            blocks += [BasicBlock(cin, w, 2), BasicBlock(w, w, 1)]
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.body = nn.Sequential(conv_bn(cin, hid, 1), nn.ReLU6(),
                                  conv_bn(hid, hid, 3, stride, groups=hid), nn.ReLU6(),
                                  conv_bn(hid, cout, 1))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2FM(nn.Module):
    # (expand, out channels, repeats, first stride) as in MobileNetV2's table, scaled down.
    SETTINGS = [(1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 48, 2, 1)]   # 14, 7, 4, 4

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(1, 16, 3, 2), nn.ReLU6())             # 14x14
        layers, cin = [], 16
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        self.blocks = nn.Sequential(*layers)
        self.last = nn.Sequential(conv_bn(cin, 128, 1), nn.ReLU6())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))

    def forward(self, x):
        return self.head(self.last(self.blocks(self.stem(x))))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.dh = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # x [B, N, D]
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                                  # [B, H, N, dh]
        att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * (self.dh ** -0.5), dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, n, d)
        return self.proj(y)


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.att = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x):
        x = x + self.att(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyViT(nn.Module):
    def __init__(self, dim=64, depth=3, heads=4, mlp=128, patch=7):
        super().__init__()
        self.embed = nn.Conv2d(1, dim, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, (28 // patch) ** 2, dim) * 0.02)
        self.blocks = nn.Sequential(*[EncoderBlock(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2) + self.pos   # [B, 16, D]
        x = self.norm(self.blocks(x))
        return self.fc(x.mean(dim=1))


# name -> (constructor, opset, epochs, training images (the first N of a fixed permutation of the
# 60000), peak learning rate, description). Sized for a loaded 2-core machine: a few minutes each.
MODELS = {
    "resnet_fm": (ResNetFM, 13, 1, 30000, 4e-3, "ResNet-style, 3 stages x 2 basic blocks (16/32/64), BN, GAP"),
    "mbv2_fm": (MobileNetV2FM, 13, 1, 30000, 4e-3, "MobileNetV2-style inverted residuals, depthwise 3x3, ReLU6 (Clip)"),
    "vit_fm": (TinyViT, 17, 2, 30000, 2e-3, "tiny ViT: 7x7 patches (16 tokens), dim 64, 3 blocks, 4 heads, LayerNorm, Gelu"),
}


def train(name, tx, ty, vx, vy, threads):
    ctor, opset, epochs, n_train, lr, desc = MODELS[name]
    torch.manual_seed(SEED)
    keep = torch.randperm(len(tx), generator=torch.Generator().manual_seed(SEED + 1))[:n_train]
    tx, ty = tx[keep], ty[keep]
    model = ctor()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = (len(tx) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(tx), generator=gen)
        for i in range(0, len(tx), BATCH):
            idx = perm[i:i + BATCH]
            loss = nn.functional.cross_entropy(model(tx[idx]), ty[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if (i // BATCH) % 100 == 0:
                print(f"  {name} epoch {epoch + 1} step {i // BATCH}/{steps}: loss {loss.item():.3f} "
                      f"({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0
    model.eval()
    acc_full, acc_sub = accuracy(model, vx, vy), accuracy(model, vx[:N_TEST], vy[:N_TEST])
    path = os.path.join(OUT, f"{name}.onnx")
    make_sample_model.OPSET = opset  # export() reads the module's opset
    m = make_sample_model.export(model, torch.zeros(1, 1, 28, 28), path, ["image"], ["logits"],
                                 producer=("quantmix-eval", "1"))
    m.doc_string = (f"{desc}; Fashion-MNIST, tools/train_eval_models.py; input pixels/255; "
                    f"torch test top-1 {acc_full:.4f} (10000 images)")
    import onnx
    onnx.save(m, path)
    print(f"{name}: {epochs} epochs in {train_s:.0f} s, torch top-1 {acc_full:.4f} (10000), "
          f"{acc_sub:.4f} (first {N_TEST}); {path} ({os.path.getsize(path)} bytes)", flush=True)
    return {"file": f"{name}.onnx", "description": desc, "opset": opset, "epochs": epochs, "train_images": n_train,
            "max_lr": lr, "batch": BATCH, "threads": threads, "train_seconds": round(train_s, 1),
            "params": count_params(m, OUT), "ops": op_histogram(m), "bytes": os.path.getsize(path),
            "float_top1": {"torch_test_500": acc_sub, "torch_test_10000": acc_full}}


def write_calib_labels(train_x, train_y):
    """Labels of calibration sets A and B, from train_sample_model.py's class-blind pick."""
    pick = np.random.RandomState(SEED).permutation(len(train_x))[:2 * N_CALIB]
    set_b = np.load(os.path.join(SAMPLES, "fashion_calib.npz"))["image"].reshape(N_CALIB, 28, 28)
    if not np.allclose(set_b * 255, train_x[pick[N_CALIB:]]):
        sys.exit("fashion_calib.npz does not hold the images of train_sample_model.py's pick")
    for name, idx in (("A", pick[:N_CALIB]), ("B", pick[N_CALIB:])):
        with open(os.path.join(OUT, f"calib_{name}_labels.txt"), "w") as f:
            f.write("\n".join(str(int(train_y[i])) for i in idx) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(MODELS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-only", action="store_true", help="only write the labels and the extra test images")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    np.random.seed(SEED)
    tx = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    ty = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    vx = torch.from_numpy(read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    vy = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    os.makedirs(OUT, exist_ok=True)
    raw_x, raw_y = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    write_calib_labels(raw_x, raw_y)
    test_x, test_y = read_idx("t10k-images-idx3-ubyte.gz"), read_idx("t10k-labels-idx1-ubyte.gz")
    extra = slice(N_TEST, N_TEST + N_TEST_EXTRA)
    np.savez(os.path.join(OUT, "fashion_test_extra.npz"), x=test_x[extra].reshape(-1, 1, 28, 28),
             y=test_y[extra].astype(np.uint8))
    if args.data_only:
        return
    index_path = os.path.join(OUT, "models.json")
    for name in args.only.split(","):
        if name not in MODELS:
            sys.exit(f"--only: unknown model '{name}' (known: {', '.join(MODELS)})")
        entry = train(name, tx, ty, vx, vy, args.threads)
        # Re-read just before writing: several --only runs may share the index.
        index = json.load(open(index_path)) if os.path.exists(index_path) else {}
        index[name] = entry
        write_json(index_path, dict(sorted(index.items())))


if __name__ == "__main__":
    main()
