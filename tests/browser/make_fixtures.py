#!/usr/bin/python3
"""Fixtures of the app's end-to-end test (run with Debian's python: it has torch, onnx, PIL).
Deterministic; the outputs are committed:

  tests/browser/models/rgb_cnn.onnx   a small RGB CNN, input 1x3x32x32, opset 13 (a "user model")
  tests/browser/images/*.png          12 synthetic 40x36 RGB images (dropped as samples; resized
                                      to 32x32 in the page) and one 28x28 gray image set for the
                                      sample model in tests/browser/images/gray/
"""
import os

import numpy as np
import torch
from PIL import Image
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class RgbCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 8 * 8, 32), nn.ReLU(), nn.Linear(32, 5))

    def forward(self, x):
        return self.body(x)


def main():
    torch.manual_seed(7)
    model = RgbCNN().eval()
    os.makedirs(os.path.join(HERE, "models"), exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 3, 32, 32), os.path.join(HERE, "models", "rgb_cnn.onnx"),
                      input_names=["input"], output_names=["scores"], opset_version=13)
    rng = np.random.default_rng(3)
    out = os.path.join(HERE, "images")
    os.makedirs(os.path.join(out, "gray"), exist_ok=True)
    yy, xx = np.mgrid[0:36, 0:40]
    for i in range(12):
        base = rng.uniform(0, 255, 3)
        img = np.zeros((36, 40, 3))
        for c in range(3):
            img[..., c] = base[c] * (0.5 + 0.5 * np.sin(xx / (3 + i) + c + yy / (4 + c)))
        img += rng.normal(0, 12, img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB").save(os.path.join(out, f"img_{i:02d}.png"))
    yy, xx = np.mgrid[0:28, 0:28]
    for i in range(8):
        r = 4 + i
        blob = ((xx - 14 + i - 4) ** 2 + (yy - 14) ** 2 < r * r) * 220 + rng.normal(0, 10, (28, 28))
        Image.fromarray(np.clip(blob, 0, 255).astype(np.uint8), "L").save(os.path.join(out, "gray", f"g_{i}.png"))


if __name__ == "__main__":
    main()
