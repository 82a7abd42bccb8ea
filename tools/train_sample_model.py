#!/usr/bin/python3
"""Trains the sample model bundled with the web app and the CLI demo, and writes its data.

Run with Debian's python (python3-torch, python3-onnx, python3-pil; data from Debian's
dataset-fashion-mnist):   /usr/bin/python3 tools/train_sample_model.py
Deterministic (fixed seeds, deterministic algorithms, 2 threads); a few minutes of CPU. Writes
(all committed):

  web/samples/fashion_cnn.onnx           the model: input `image` float32 [1, 1, 28, 28] (pixels
                                         scaled to 0..1, i.e. --preprocess unit), output `logits`
                                         [1, 10]; opset 13, BatchNormalization kept as nodes
  web/samples/fashion_cnn.expected.json  inspect oracle: parameter count from the ONNX
                                         initializers, per-layer MACs in closed form from torch
  web/samples/fashion_labels.txt         the 10 class names, line k = class k
  web/samples/fashion_test.npz           500 labelled test images (the first 500 of t10k):
                                         `x` uint8 [500, 1, 28, 28] (raw pixels), `y` uint8 [500]
  web/samples/calib/NNN.png              64 unlabelled calibration images, 28x28 8-bit gray PNGs
                                         (training images, set A)
  web/samples/fashion_calib.npz          64 other calibration images (set B, disjoint from A):
                                         `image` float32 [64, 1, 28, 28] = pixels / 255

The model: Conv/BN/ReLU, a depthwise-separable block, a residual block (Add), a strided conv and
a Gemm head. A 1-channel first conv and a depthwise conv are the classic 4-bit-sensitive layers.
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_sample_model import attach_oracle, count_params, export, layer_macs, op_histogram, write_json  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "web", "samples")
DATA = "/usr/share/datasets/fashion-mnist"
OPSET = 13
SEED = 20261125
EPOCHS = 1
BATCH = 128
N_TEST = 500
N_CALIB = 64
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                  nn.MaxPool2d(2))                                   # 16x14x14
        self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.BatchNorm2d(16), nn.ReLU(),
                                nn.Conv2d(16, 32, 1), nn.BatchNorm2d(32), nn.ReLU(),
                                nn.MaxPool2d(2))                                   # 32x7x7
        self.res = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32))
        self.relu = nn.ReLU()
        self.down = nn.Sequential(nn.Conv2d(32, 48, 3, stride=2, padding=1), nn.BatchNorm2d(48), nn.ReLU())  # 48x4x4
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(48 * 4 * 4, 10))

    def forward(self, x):
        x = self.dw(self.stem(x))
        x = self.relu(x + self.res(x))
        return self.head(self.down(x))


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def write_png_gray(path, pixels):
    from PIL import Image
    Image.fromarray(pixels, mode="L").save(path, optimize=True)


def main():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    train_x = read_idx("train-images-idx3-ubyte.gz")
    train_y = read_idx("train-labels-idx1-ubyte.gz")
    test_x = read_idx("t10k-images-idx3-ubyte.gz")
    test_y = read_idx("t10k-labels-idx1-ubyte.gz")
    tx = torch.from_numpy(train_x.astype(np.float32) / 255).unsqueeze(1)
    ty = torch.from_numpy(train_y.astype(np.int64))
    vx = torch.from_numpy(test_x.astype(np.float32) / 255).unsqueeze(1)
    vy = torch.from_numpy(test_y.astype(np.int64))

    model = FashionCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps_per_epoch = (len(tx) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=EPOCHS * steps_per_epoch)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    for epoch in range(EPOCHS):
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
                print(f"  step {i // BATCH}/{steps_per_epoch}: loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {accuracy(model, vx, vy):.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    model.eval()
    acc_full = accuracy(model, vx, vy)
    acc_sub = accuracy(model, vx[:N_TEST], vy[:N_TEST])

    os.makedirs(SAMPLES, exist_ok=True)
    x = torch.zeros(1, 1, 28, 28)
    path = os.path.join(SAMPLES, "fashion_cnn.onnx")
    m = export(model, x, path, ["image"], ["logits"], producer=("quantmix-sample", "2"))
    layers = attach_oracle(m, layer_macs(model, x))
    m.doc_string = (f"Fashion-MNIST CNN (tools/train_sample_model.py): input pixels/255, "
                    f"torch test accuracy {acc_full:.4f} on the 10000 test images")
    import onnx
    onnx.save(m, path)
    write_json(os.path.join(SAMPLES, "fashion_cnn.expected.json"), {
        "file": "fashion_cnn.onnx",
        "opset": OPSET,
        "inputs": [{"name": "image", "dtype": "float", "shape": [1, 1, 28, 28]}],
        "outputs": [{"name": "logits", "dtype": "float", "shape": [1, 10]}],
        "ops": op_histogram(m),
        "params": count_params(m, SAMPLES),
        "macs": sum(l["macs"] for l in layers),
        "layers": layers,
        "accuracy": {"torch_test_10000": acc_full, "torch_test_500": acc_sub},
    })
    with open(os.path.join(SAMPLES, "fashion_labels.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    np.savez(os.path.join(SAMPLES, "fashion_test.npz"), x=test_x[:N_TEST].reshape(N_TEST, 1, 28, 28),
             y=test_y[:N_TEST].astype(np.uint8))
    # Two disjoint calibration sets from the training images, class-blind.
    pick = np.random.RandomState(SEED).permutation(len(train_x))[:2 * N_CALIB]
    calib_dir = os.path.join(SAMPLES, "calib")
    os.makedirs(calib_dir, exist_ok=True)
    for old in os.listdir(calib_dir):
        if old.endswith(".png"):
            os.remove(os.path.join(calib_dir, old))
    for k, i in enumerate(pick[:N_CALIB]):
        write_png_gray(os.path.join(calib_dir, f"{k:03d}.png"), train_x[i])
    np.savez(os.path.join(SAMPLES, "fashion_calib.npz"),
             image=(train_x[pick[N_CALIB:]].astype(np.float32) / 255).reshape(N_CALIB, 1, 28, 28))
    print(f"torch test accuracy: {acc_full:.4f} (10000 images), {acc_sub:.4f} (first {N_TEST}); "
          f"wrote {path} ({os.path.getsize(path)} bytes), {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
