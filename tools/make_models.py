#!/usr/bin/python3
"""Generates the real-model test corpus for the quantmix CLI tests (tests/cli/).

Usage: /usr/bin/python3 tools/make_models.py [--out DIR] [--force]
  DIR defaults to build/native/testdata/models. Run by ctest as the fixture `make_test_models`.

Writes, deterministically (fixed seeds, torchvision weights=None: nothing is downloaded):
  <name>.onnx + <name>.expected.json   torchvision / torch exports (tools/modelgen/torch_models.py)
                                       and hand-built tiny graphs (tiny_models.py); the JSON is the
                                       oracle: inputs, outputs, params, total and per-layer MACs
                                       per sample, computed without quantmix (modelgen/oracle.py)
  bad/*.onnx                           corrupt/invalid files (bad_models.py; the expected error
                                       fragments are in tests/cli/bad_inputs.json)
  ort_cases.json + ort_inputs/         libonnx-testdata models with decoded inputs (ort_cases.py)
  opsets/opset_op<N>.onnx              one small Conv/MatMul/Gemm model per opset 7..21, each op in
                                       its opset's form (opset_models.py; exports at every opset)
  control_flow/*.onnx                  Conv models with an If, a Loop or a Scan in the middle
                                       (control_flow_models.py; quantized inside the subgraphs too)
  index.json                           what was generated
  .stamp                               hash of these scripts: if it matches, nothing is redone
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def script_hash():
    h = hashlib.sha256()
    files = [os.path.abspath(__file__)] + sorted(
        os.path.join(HERE, "modelgen", f) for f in os.listdir(os.path.join(HERE, "modelgen"))
        if f.endswith(".py"))
    for p in files:
        h.update(os.path.basename(p).encode())
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def up_to_date(out, digest):
    try:
        with open(os.path.join(out, ".stamp")) as f:
            if f.read().strip() != digest:
                return False
        with open(os.path.join(out, "index.json")) as f:
            index = json.load(f)
    except (OSError, ValueError):
        return False
    files = [m + ".onnx" for m in index["models"]] + [m + ".expected.json" for m in index["models"]]
    files += [os.path.join("bad", b) for b in index["bad"]] + ["ort_cases.json"]
    return all(os.path.exists(os.path.join(out, f)) for f in files)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "native", "testdata", "models"))
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    digest = script_hash()
    if not args.force and up_to_date(out, digest):
        print(f"make_models: {out} is up to date")
        return 0
    if os.path.isdir(out) and os.listdir(out) and not os.path.exists(os.path.join(out, ".stamp")) \
            and not os.path.exists(os.path.join(out, "index.json")):
        print(f"make_models: refusing to clear {out}: not made by this script", file=sys.stderr)
        return 1
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)

    import warnings
    warnings.filterwarnings("ignore")
    sys.path.insert(0, HERE)
    import torch
    torch.set_num_threads(2)
    from modelgen import bad_models, control_flow_models, opset_models, ort_cases, tiny_models, torch_models

    t0 = time.time()
    log = lambda s: print(s, flush=True)
    log(f"make_models: writing {out}")
    models = torch_models.make_all(out, log) + tiny_models.make_all(out, log)
    bad = bad_models.make_all(out, log)
    ort_cases.make_all(out, log)
    opset_models.make_all(out, log)
    control_flow_models.make_all(out, log)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"models": models, "bad": bad}, f, indent=1)
    with open(os.path.join(out, ".stamp"), "w") as f:
        f.write(digest + "\n")
    log(f"make_models: done in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
