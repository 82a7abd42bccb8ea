#!/usr/bin/python3
"""Trains the text-line recogniser sample (CTC): the W4-sensitive evidence model of issue 15.

Run with Debian's python (python3-torch 1.13, python3-onnx, python3-numpy, python3-pil) and the
fonts of Debian's fonts-dejavu-core:
    /usr/bin/python3 tools/train_ctc_model.py [--steps N] [--threads 1] [--data-only]
Deterministic for a given BLAS (fixed seeds, torch.use_deterministic_algorithms, fixed thread
count; the lines are rendered from numpy RandomStates with fixed seeds). Debian's torch calls the
system libblas.so.3, by default netlib's reference BLAS (several times slower); the committed model
was trained with OpenBLAS taken from Debian's libopenblas0-pthread without installing it:
    mkdir -p /tmp/ob && cd /tmp/ob && apt-get download libopenblas0-pthread && \
      dpkg -x libopenblas0-pthread_*.deb /tmp/ob/x
    LD_LIBRARY_PATH=/tmp/ob/x/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=1 \
      /usr/bin/python3 tools/train_ctc_model.py

Data: single text lines rendered with PIL from the DejaVu faces (Sans, Serif, Mono, Condensed;
regular, bold, oblique), random strings of 1-12 characters over CHARSET (digits, lowercase,
`.,-:/'` and an inner space; no leading, trailing or double space), font size 12-30 px (small
sizes give coarse glyphs that the resize magnifies), dark ink on a grey-to-white background
(110-255) with a contrast of 45 grey levels up to the background's, up to 3 px of vertical
jitter, random margins, a blur 40% of the time, Gaussian noise (sigma 0-14). The line is cropped to
the font's full ascent/descent (so `,` and `'` keep their vertical place), resized to height 32
keeping the aspect (squeezed when wider than W), drawn left-aligned and padded on the right with
the background or white (PaddleOCR's resize, the app's `pad=right`). Every training step renders
fresh lines; the test, calibration and validation lines come from other seeds.

Model (input `image` float32 [1, 1, 32, 160] = pixels / 255, output `logits` float32 [1, 40, C]
with C = 1 + len(CHARSET) = 44, class 0 = the CTC blank, class k = CHARSET[k - 1], PaddleOCR's
convention; 58k parameters): a PP-OCR-style backbone (MobileNetV1-enhance: a strided 3x3 Conv
stem, then depthwise 3x3 + pointwise 1x1 separable blocks, STAGES below, each Conv with
BatchNormalization and HardSwish; a 2x2 then two 2x1 max pools) whose last depthwise conv spans
the remaining height, so the height is 1 and the width 40 = T steps; a learned position
embedding; DEPTH transformer encoder blocks written as MatMul/Softmax with LayerNormalization and
a Gelu MLP (no LSTM/GRU: the quantizer quantizes Conv/Gemm/MatMul weights only); a Linear head.
BN is kept as BatchNormalization nodes (the engine folds it). Opset 17, fixed shapes. 28 weighted
layers (19 Conv, 9 MatMul).

Writes (committed) to web/samples/ (--out DIR elsewhere):
  textline_ctc.onnx        the model
  textline_charset.txt     CHARSET, one character per line in class order starting at class 1
                           (the space is a line holding a single space)
  textline_test.npz        N_TEST = 300 held-out labelled lines: `x` uint8 [N, 1, 32, 160] (pixels;
                           the model's input is x / 255), `y` int32 [N, 12] class ids (1..C-1)
                           padded with -1, `len` int32 [N] the label lengths
  textline_calib.npz       N_CALIB = 32 calibration lines: `image` float32 [N, 1, 32, 160]
                           (= pixels / 255, keyed by the input's name: `quantmix quantize --calib`
                           and the app take it as N samples)
  textline_calib/          the same lines for the app's text-line sample: NNN.png (grey 160x32,
                           the pixels of the .npz; the app's `gray` preset gives the same input)
                           and lines.txt, the text of each line in order (one per line), which
                           web/samples/textline_score.mjs scores the greedy CTC decode against
  textline_ctc.json        float character and line accuracy measured by torch (on the 300 test
                           lines and on N_VAL = 2000 more held-out lines), parameter count, ops,
                           training settings and time
Character accuracy = 1 - (sum of edit distances between the greedy CTC decode and the label) /
(sum of label lengths), clamped at 0 (web/ctc.js computes the same); line accuracy = share of
lines decoded exactly.

Measured for the committed files: training 3000 steps x 64 lines took 1165 s wall (78 s of it
rendering; 0.39 s/step) on a shared 2-core machine with other jobs running (load average ~3);
torch float char accuracy 0.9516 (line 0.7667) on the 300 test lines, 0.9591 (0.8175) on 2000
more. ONNX Runtime on the 300 test lines (`node tools/eval/ctc_eval.mjs
--configs W8A8,W4A8,W8A16,bops=0.75,bops=0.6`: each export is `build/native/quantmix quantize
web/samples/textline_ctc.onnx --calib web/samples/textline_calib.npz --bits W.. | --candidates
W4A8,W8A8,W8A16 --target bops=X --out /tmp/x.onnx`; SQNR against ORT on the float model):
    model                         char acc %  line acc %  SQNR dB  rel. BOPs
    float                         95.16       76.67       -        -
    W8A8                          94.51       74.33       24.2     1.00
    W4A8 (per-channel)            91.50       64.67       15.4     0.50
    W8A16                         94.91       75.00       36.5     2.00
    mixed, target bops=0.75       93.62       71.00       18.7     0.73
    mixed, target bops=0.6        92.59       66.67       17.6     0.59
Per-channel W4 costs 3.7 points of character accuracy and 12 of line accuracy; the mixed search
with today's candidates misses issue 15's goal (within 1 point of float at <= 0.75x BOPs).
How the architecture and data were chosen (earlier versions of this script, same seeds; ORT char
accuracy on each version's 300 test lines, float -> W4A8): a plain Conv/BN/ReLU backbone (3x3 convs
16-64 wide, dim 64, 2500 steps) on cleaner lines (contrast >= 90, sizes 18-30, noise <= 12, blur
30%): 99.73 -> 99.47; depthwise-separable 16-96, dim 64 (2200 steps): 99.15 -> 98.30; deeper and
narrower (these STAGES, dim 48, 3000 steps), cleaner lines: 99.47 -> 97.72; the same on the harder
lines above (this model): 95.16 -> 91.50. Narrower still (stages 12/24/32, dim 32, 2 heads, 3000
steps) is more W4-sensitive (92.19 -> 82.16; W8A8 89.67) but stays below 95 % float in the time
budget.
The first depthwise conv is the most W4-sensitive layer here (phase-1 W4A8 sensitivity 18.9 dB,
26 dB for the same architecture on the cleaner lines; the other layers 25-47 dB): plausibly its
high-pass kernels' rounding error times the large, image-dependent background level, which low
contrast makes large against the text.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_sample_model import count_params, op_histogram, write_json  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "web", "samples")
FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FACES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSansCondensed.ttf",
         "DejaVuSansCondensed-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
         "DejaVuSerifCondensed.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"]
CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz.,-:/' "
H, W = 32, 160
MAX_LEN = 12
SEED = 20240615
N_TEST, N_CALIB, N_VAL = 300, 32, 2000
# Seeds of the rendered sets (the training lines use SEED + step).
TEST_SEED, CALIB_SEED, VAL_SEED = 7_000_001, 7_000_002, 7_000_003

STEM = 8                    # stem conv width
# Backbone stages after the stem: (width, separable blocks, max pool after the stage).
STAGES = ((16, 2, (2, 2)), (32, 3, (2, 1)), (48, 3, (2, 1)))
DIM, HEADS, MLP, DEPTH = 48, 4, 96, 2
BATCH = 64
STEPS = 3000
LR = 3e-3
WEIGHT_DECAY = 1e-4


# ---------------------------------------------------------------------------------------- data
_font_cache = {}


def font(face, size):
    key = (face, size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(os.path.join(FONT_DIR, face), size)
    return _font_cache[key]


def random_text(rng):
    n = int(rng.randint(1, MAX_LEN + 1))
    chars = []
    for i in range(n):
        # An inner space (never first, last, or after another space) with probability 0.12.
        if 0 < i < n - 1 and chars[-1] != " " and rng.rand() < 0.12:
            chars.append(" ")
        else:
            chars.append(CHARSET[rng.randint(0, len(CHARSET) - 1)])   # the last entry is the space
    return "".join(chars)


def render(text, rng):
    """One line as uint8 [H, W] (dark ink on a light background), left-aligned, padded right."""
    # Small sizes render coarse glyphs that the resize to height 32 then magnifies (low resolution).
    f = font(FACES[rng.randint(len(FACES))], int(rng.randint(12, 31)))
    ascent, descent = f.getmetrics()
    left, _, right, _ = f.getbbox(text)
    bg = int(rng.randint(110, 256))
    ink = bg - int(rng.randint(45, bg + 1))            # contrast 45 .. bg grey levels
    margin_l, margin_r = int(rng.randint(0, 7)), int(rng.randint(1, 7))
    dy = int(rng.randint(-3, 4))
    pad_v = int(rng.randint(1, 5))
    ch = ascent + descent + 2 * pad_v
    cw = right - left + margin_l + margin_r
    img = Image.new("L", (cw, ch), bg)
    ImageDraw.Draw(img).text((margin_l - left, pad_v + dy), text, font=f, fill=ink)
    if rng.rand() < 0.4:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 1.2))))
    w = min(W, max(1, int(round(cw * H / ch))))
    img = img.resize((w, H), Image.BILINEAR)
    pad = 255 if rng.rand() < 0.5 else bg
    out = np.full((H, W), pad, np.float32)
    out[:, :w] = np.asarray(img, np.float32)
    out += rng.normal(0, rng.uniform(0, 14), out.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def encode(text):
    return [CHARSET.index(c) + 1 for c in text]


def write_calib_lines(out_dir, x, y, lens):
    """The calibration lines as the app's sample: one PNG per line and lines.txt (their text)."""
    d = os.path.join(out_dir, "textline_calib")
    os.makedirs(d, exist_ok=True)
    for i in range(len(x)):
        Image.fromarray(x[i, 0]).save(os.path.join(d, f"{i:03d}.png"), optimize=True)
    with open(os.path.join(d, "lines.txt"), "w") as f:
        f.write("".join("".join(CHARSET[k - 1] for k in y[i, :lens[i]]) + "\n" for i in range(len(x))))


def make_set(n, seed):
    rng = np.random.RandomState(seed)
    x = np.zeros((n, 1, H, W), np.uint8)
    y = np.full((n, MAX_LEN), -1, np.int32)
    lens = np.zeros(n, np.int32)
    for i in range(n):
        t = random_text(rng)
        x[i, 0] = render(t, rng)
        ids = encode(t)
        y[i, :len(ids)] = ids
        lens[i] = len(ids)
    return x, y, lens


# --------------------------------------------------------------------------------------- model
def conv_bn(cin, cout, k=3, padding=1, groups=1, stride=1):
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=False), nn.BatchNorm2d(cout),
            nn.Hardswish()]


def separable(cin, cout):
    """Depthwise 3x3 then pointwise 1x1, each with BN and HardSwish (PP-OCR's MobileNetV1-enhance)."""
    return conv_bn(cin, cin, 3, 1, groups=cin) + conv_bn(cin, cout, 1, 0)


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.heads, self.dh = heads, dim // heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def attention(self, x):  # x [B, T, D]
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                                  # [B, H, T, dh]
        att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * (self.dh ** -0.5), dim=-1)
        return self.proj(torch.matmul(att, v).transpose(1, 2).reshape(b, t, d))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TextLineCTC(nn.Module):
    def __init__(self, classes):
        super().__init__()
        layers, cin = conv_bn(1, STEM, stride=2), STEM         # 16 x 80
        for width, blocks, pool in STAGES:                       # 8 x 40, 4 x 40, 2 x 40
            for _ in range(blocks):
                layers += separable(cin, width)
                cin = width
            layers.append(nn.MaxPool2d(pool))
        # Depthwise over the remaining height (2), then pointwise to DIM: 1 x 40.
        layers += conv_bn(cin, cin, (H // 16, 1), 0, groups=cin) + conv_bn(cin, DIM, 1, 0)
        self.backbone = nn.Sequential(*layers)
        self.pos = nn.Parameter(torch.randn(1, W // 4, DIM) * 0.02)
        self.blocks = nn.Sequential(*[EncoderBlock(DIM, HEADS, MLP) for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(DIM)
        self.head = nn.Linear(DIM, classes)

    def forward(self, x):
        f = self.backbone(x).squeeze(2).transpose(1, 2) + self.pos     # [B, T, D]
        return self.head(self.norm(self.blocks(f)))                   # [B, T, C]


# ---------------------------------------------------------------------------------- evaluation
def greedy_decode(path, blank=0):
    out, prev = [], None
    for k in path:
        if k != blank and k != prev:
            out.append(int(k))
        prev = k
    return out


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def accuracy(model, x, y, lens):
    """(character accuracy, line accuracy) of greedy CTC decoding on uint8 lines."""
    model.eval()
    errors = total = exact = 0
    with torch.no_grad():
        for i in range(0, len(x), 256):
            logits = model(torch.from_numpy(x[i:i + 256].astype(np.float32) / 255))
            for k, path in enumerate(logits.argmax(-1).numpy()):
                ref = [int(c) for c in y[i + k, :lens[i + k]]]
                e = edit_distance(greedy_decode(path), ref)
                errors += e
                total += len(ref)
                exact += e == 0
    return max(0.0, 1 - errors / total), exact / len(x)


# ------------------------------------------------------------------------------------ training
def train(model, steps, threads):
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.15)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    t0 = time.time()
    render_s = 0.0
    for step in range(steps):
        r0 = time.time()
        x, y, lens = make_set(BATCH, SEED + step)
        render_s += time.time() - r0
        model.train()
        logits = model(torch.from_numpy(x.astype(np.float32) / 255))            # [B, T, C]
        logp = logits.log_softmax(-1).transpose(0, 1)                           # [T, B, C]
        targets = torch.from_numpy(np.concatenate([y[i, :lens[i]] for i in range(BATCH)]).astype(np.int64))
        loss = ctc(logp, targets, torch.full((BATCH,), logp.shape[0], dtype=torch.long),
                   torch.from_numpy(lens.astype(np.int64)))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"  step {step}/{steps}: ctc loss {loss.item():.3f} ({time.time() - t0:.0f} s, "
                  f"rendering {render_s:.0f} s)", flush=True)
    return time.time() - t0, render_s


def export(model, path):
    import onnx
    model.eval()
    warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    torch.onnx.export(model, torch.zeros(1, 1, H, W), path, opset_version=17, input_names=["image"],
                      output_names=["logits"], training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=True)
    m = onnx.load(path)
    m.producer_name, m.producer_version = "quantmix-sample", "1"
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-only", action="store_true", help="only write the charset and the test/calibration lines")
    ap.add_argument("--out", default=SAMPLES)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    os.makedirs(args.out, exist_ok=True)

    with open(os.path.join(args.out, "textline_charset.txt"), "w") as f:
        f.write("".join(c + "\n" for c in CHARSET))
    tx, ty, tl = make_set(N_TEST, TEST_SEED)
    np.savez(os.path.join(args.out, "textline_test.npz"), x=tx, y=ty, len=tl)
    cx, cy, cl = make_set(N_CALIB, CALIB_SEED)
    np.savez(os.path.join(args.out, "textline_calib.npz"), image=cx.astype(np.float32) / 255)
    write_calib_lines(args.out, cx, cy, cl)
    if args.data_only:
        return
    vx, vy, vl = make_set(N_VAL, VAL_SEED)

    model = TextLineCTC(len(CHARSET) + 1)
    train_s, render_s = train(model, args.steps, args.threads)
    test_acc, test_line = accuracy(model, tx, ty, tl)
    val_acc, val_line = accuracy(model, vx, vy, vl)
    path = os.path.join(args.out, "textline_ctc.onnx")
    m = export(model, path)
    m.doc_string = (f"text-line recogniser (CTC, blank 0), tools/train_ctc_model.py; input pixels/255, "
                    f"charset web/samples/textline_charset.txt; torch char accuracy {test_acc:.4f} "
                    f"({N_TEST} test lines)")
    import onnx
    onnx.save(m, path)
    print(f"trained {args.steps} steps in {train_s:.0f} s (rendering {render_s:.0f} s); torch char accuracy "
          f"{test_acc:.4f} / line {test_line:.4f} on the {N_TEST} test lines, {val_acc:.4f} / {val_line:.4f} "
          f"on {N_VAL} more; {path} ({os.path.getsize(path)} bytes)", flush=True)
    write_json(os.path.join(args.out, "textline_ctc.json"), {
        "file": "textline_ctc.onnx",
        "description": "text-line recogniser: PP-OCR-style backbone (strided Conv stem, depthwise-separable "
                       "Conv/BN/HardSwish blocks, height reduced to 1), "
                       f"{DEPTH} transformer encoder blocks (MatMul/Softmax/LayerNormalization/Gelu), "
                       "Linear head; CTC, class 0 = blank",
        "input": {"name": "image", "shape": [1, 1, H, W], "scale": "pixels / 255", "layout": "left-aligned, padded right"},
        "output": {"name": "logits", "shape": [1, W // 4, len(CHARSET) + 1], "blank": 0},
        "charset_file": "textline_charset.txt",
        "opset": 17, "params": count_params(m, args.out), "ops": op_histogram(m),
        "bytes": os.path.getsize(path),
        "architecture": {"stem": STEM, "stages": [list(st) for st in STAGES], "dim": DIM, "heads": HEADS, "mlp": MLP, "depth": DEPTH},
        "training": {"steps": args.steps, "batch": BATCH, "lines": args.steps * BATCH, "max_lr": LR,
                     "optimizer": f"AdamW, weight decay {WEIGHT_DECAY}, one-cycle", "grad_clip": 5.0,
                     "threads": args.threads, "seed": SEED, "train_seconds": round(train_s, 1),
                     "render_seconds": round(render_s, 1), "torch": torch.__version__},
        "float_accuracy_torch": {
            "test_lines": N_TEST, "char": round(test_acc, 4), "line": round(test_line, 4),
            "validation_lines": N_VAL, "validation_char": round(val_acc, 4), "validation_line": round(val_line, 4)},
    })


if __name__ == "__main__":
    main()
