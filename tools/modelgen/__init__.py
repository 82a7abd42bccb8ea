"""Test-model generator for the quantmix CLI tests (see tools/make_models.py).

Modules: oracle (independent MAC/parameter oracle), torch_models (torchvision and small torch
exports), tiny_models (hand-built ONNX graphs with closed-form MACs), bad_models (corrupt and
invalid files), ort_cases (libonnx-testdata models and their inputs for the ONNX Runtime round trip).
"""
