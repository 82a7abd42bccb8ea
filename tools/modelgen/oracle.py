"""The MAC / parameter oracle for the CLI tests, computed independently of quantmix.

Two independent computations must agree before an expected.json is written:
  1. torch side: a TorchFunctionMode records every conv2d / conv_transpose2d / linear / matmul /
     bmm call (and expands nn.MultiheadAttention into its in-projection, Q.K^T, attn.V and
     out-projection products) during an eager forward pass of the exported module, with
     MACs = output elements x reduction length;
  2. ONNX side: python onnx shape inference on the exported file and the closed form of each
     Conv / ConvTranspose / Gemm / MatMul node.
The recorded torch calls are aligned one-to-one, in order, with the Conv/ConvTranspose/Gemm/MatMul
nodes of the exported graph (the exporter traces the same calls in the same order), so each
expected layer gets the ONNX node name and the MACs torch measured. MACs are per sample: the
totals divided by the batch size of the forward pass (every export here uses batch 1).

Parameter count (as src/api/inspect.h defines it): elements of floating-point initializers and
floating-point Constant-node tensors, counted on the ONNX file with python onnx.
"""
import json
import math
import re

import onnx
from onnx import numpy_helper, shape_inference, TensorProto

LAYER_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
DTYPE_NAMES = {TensorProto.FLOAT: "float", TensorProto.FLOAT16: "float16",
               TensorProto.DOUBLE: "double", TensorProto.INT64: "int64",
               TensorProto.INT32: "int32", TensorProto.UINT8: "uint8", TensorProto.INT8: "int8",
               TensorProto.BOOL: "bool"}


def prod(xs):
    return int(math.prod(int(x) for x in xs))


# ---------------------------------------------------------------------------------------------
# torch side
# ---------------------------------------------------------------------------------------------
def _torch_recorder_class():
    import torch
    from torch.overrides import TorchFunctionMode

    class MacRecorder(TorchFunctionMode):
        """Records (onnx op kinds, MACs for the whole batch, description) per matmul-like call."""

        def __init__(self):
            super().__init__()
            self.records = []

        def add(self, kinds, macs, what, weight=None):
            self.records.append({"kinds": kinds, "macs": int(macs), "what": what,
                                 "weight": None if weight is None else tuple(weight.shape)})

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            name = getattr(func, "__name__", "")
            if name == "conv2d":
                w = args[1]
                self.add(("Conv",), out.numel() * prod(w.shape[1:]), f"conv2d w{tuple(w.shape)}", w)
            elif name == "conv_transpose2d":
                x, w = args[0], args[1]
                # Every input element is multiplied with Cout/groups x kH x kW weights.
                self.add(("ConvTranspose",), x.numel() * prod(w.shape[1:]),
                         f"conv_transpose2d w{tuple(w.shape)}", w)
            elif name == "linear":
                x, w = args[0], args[1]
                self.add(("Gemm", "MatMul"), out.numel() * w.shape[1], f"linear w{tuple(w.shape)}", w)
            elif name in ("matmul", "bmm", "mm", "__matmul__"):
                a = args[0]
                k = a.shape[-1]
                self.add(("MatMul",), out.numel() * k, f"{name} {tuple(a.shape)}x{tuple(args[1].shape)}")
            elif name in ("addmm", "baddbmm"):
                raise RuntimeError(f"oracle: {name} not handled")
            elif name == "multi_head_attention_forward":
                self._mha(args, kwargs)
            return out

        def _mha(self, args, kwargs):
            # F.multi_head_attention_forward(query, key, value, embed_dim, num_heads, in_proj_w, ...)
            # runs inside this handler with the mode disabled, so its products are counted here in
            # closed form, in the order the exporter emits them.
            q, k, v = args[0], args[1], args[2]
            num_heads = int(args[4])
            if q is not k or k is not v:
                raise RuntimeError("oracle: only packed self-attention is supported")
            if kwargs.get("use_separate_proj_weight", False):
                raise RuntimeError("oracle: separate q/k/v projections not supported")
            L, N, E = q.shape  # (target length, batch, embed)
            S = k.shape[0]
            hd = E // num_heads
            self.add(("MatMul", "Gemm"), L * N * E * 3 * E, "mha in_proj (packed)")
            self.add(("MatMul",), N * num_heads * L * S * hd, "mha Q.K^T")
            self.add(("MatMul",), N * num_heads * L * S * hd, "mha attn.V")
            self.add(("Gemm", "MatMul"), L * N * E * E, "mha out_proj")

    return MacRecorder


def torch_mac_records(module, example_inputs):
    """Runs `module` eagerly on `example_inputs` (a tuple); returns (recorded calls, output)."""
    import torch
    recorder = _torch_recorder_class()()
    # Grad enabled keeps nn.TransformerEncoderLayer off its fused inference fast path, so the
    # eager calls are the ones the exporter traces.
    with torch.enable_grad(), recorder:
        out = module(*example_inputs)
    return recorder.records, out.detach()


# ---------------------------------------------------------------------------------------------
# ONNX side
# ---------------------------------------------------------------------------------------------
def constant_tensors(model):
    """name -> numpy array for initializers and Constant-node outputs (value attribute)."""
    g = model.graph
    out = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = numpy_helper.to_array(a.t)
    return out


def param_count(model):
    total = 0
    for t in model.graph.initializer:
        if t.data_type in FLOAT_TYPES:
            total += prod(t.dims)
    for n in model.graph.node:
        if n.op_type != "Constant":
            continue
        for a in n.attribute:
            if a.name == "value" and a.t.data_type in FLOAT_TYPES:
                total += prod(a.t.dims)
            elif a.name == "value_float":
                total += 1
            elif a.name == "value_floats":
                total += len(a.floats)
    return total


def _fixed_copy(model, dim_values):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for vi in list(m.graph.input) + list(m.graph.output):
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_param"):
                v = dim_values.get(d.dim_param, 1)
                d.Clear()
                d.dim_value = v
    return m


def _inferred_shapes(model, dim_values=None):
    m = _fixed_copy(model, dim_values or {})
    m = shape_inference.infer_shapes(m)
    shapes = {}
    for vi in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        tt = vi.type.tensor_type
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
            shapes[vi.name] = [d.dim_value for d in tt.shape.dim]
    for name, arr in constant_tensors(model).items():
        shapes[name] = list(arr.shape)
    return shapes


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def onnx_layers(model, dim_values=None):
    """[(name, op, weight_shape, macs_for_the_batch or None)] by ONNX shape inference."""
    shapes = _inferred_shapes(model, dim_values)
    consts = constant_tensors(model)
    identity_of_const = {n.output[0] for n in model.graph.node
                         if n.op_type == "Identity" and n.input[0] in consts}
    layers = []
    for n in model.graph.node:
        if n.op_type not in LAYER_OPS:
            continue
        w = n.input[1]
        if w in identity_of_const:
            raise RuntimeError(f"oracle: weight of {n.name} comes through an Identity (ambiguous)")
        weight_shape = list(consts[w].shape) if w in consts else []
        a_shape, b_shape = shapes.get(n.input[0]), shapes.get(w)
        y_shape = shapes.get(n.output[0])
        macs = None
        if n.op_type == "Conv" and y_shape and b_shape:
            macs = prod(y_shape) * prod(b_shape[1:])
        elif n.op_type == "ConvTranspose" and a_shape and b_shape:
            macs = prod(a_shape) * prod(b_shape[1:])
        elif n.op_type == "Gemm" and a_shape and b_shape:
            m_, k_ = (a_shape[1], a_shape[0]) if _attr(n, "transA", 0) else (a_shape[0], a_shape[1])
            n_ = b_shape[0] if _attr(n, "transB", 0) else b_shape[1]
            macs = m_ * k_ * n_
        elif n.op_type == "MatMul" and a_shape and y_shape:
            macs = prod(y_shape) * a_shape[-1]
        layers.append((n.name, n.op_type, weight_shape, macs))
    return layers


def value_summary(vi):
    tt = vi.type.tensor_type
    dims = [] if tt.HasField("shape") else None  # None: rank unknown
    for d in tt.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
    return {"name": vi.name, "dtype": DTYPE_NAMES.get(tt.elem_type, str(tt.elem_type)),
            "shape": dims}


def graph_io(model):
    init = {t.name for t in model.graph.initializer}
    inputs = [value_summary(v) for v in model.graph.input if v.name not in init]
    outputs = [value_summary(v) for v in model.graph.output]
    return inputs, outputs


# ---------------------------------------------------------------------------------------------
# expected.json
# ---------------------------------------------------------------------------------------------
def build_expected(model, records=None, batch=1, closed_form=None, dim_values=None, **extra):
    """Builds the oracle dict for `model`.

    records: torch MAC records (torch_mac_records), aligned with the layer nodes in order;
    closed_form: alternatively, {node name: MACs per sample} written by hand (tiny models).
    Both are checked against ONNX shape inference; any disagreement raises.
    """
    layers = onnx_layers(model, dim_values)
    expected_layers = []
    unchecked = []
    if records is not None:
        if len(records) != len(layers):
            raise RuntimeError(f"oracle: {len(records)} torch matmul sites but {len(layers)} "
                               f"ONNX layers: {[r['what'] for r in records]} vs {layers}")
        for rec, (name, op, wshape, onnx_macs) in zip(records, layers):
            if op not in rec["kinds"]:
                raise RuntimeError(f"oracle: torch {rec['what']} aligned with ONNX {op} {name}")
            if rec["macs"] % batch:
                raise RuntimeError(f"oracle: {rec['what']} MACs not divisible by batch")
            macs = rec["macs"] // batch
            if onnx_macs is None:
                # python onnx cannot see through shape arithmetic left unfolded (e.g. torch.chunk
                # exported with do_constant_folding=False): torch alone is the oracle here.
                unchecked.append(name)
            elif onnx_macs // batch != macs:
                raise RuntimeError(f"oracle: {name}: torch {macs} vs ONNX shape inference "
                                   f"{onnx_macs} MACs ({rec['what']})")
            if rec["weight"] is not None and wshape:
                w = list(rec["weight"])
                if wshape not in (w, w[::-1] if op == "MatMul" else w):
                    raise RuntimeError(f"oracle: {name}: weight {wshape} vs torch {w}")
            expected_layers.append({"name": name, "op": op, "weight_shape": wshape, "macs": macs,
                                    "torch": rec["what"]})
    else:
        # closed_form: {node name: MACs}, or a list of MACs by position (unnamed nodes)
        by_position = isinstance(closed_form, list)
        if by_position and len(closed_form) != len(layers):
            raise RuntimeError(f"oracle: {len(closed_form)} closed forms for {len(layers)} layers")
        for i, (name, op, wshape, onnx_macs) in enumerate(layers):
            macs = closed_form[i] if by_position else closed_form[name]
            if onnx_macs != macs:
                raise RuntimeError(f"oracle: {name}: closed form {macs} vs ONNX shape inference "
                                   f"{onnx_macs}")
            expected_layers.append({"name": None if by_position else name, "op": op,
                                    "weight_shape": wshape, "macs": macs})
        if not by_position and set(closed_form) != {l["name"] for l in expected_layers}:
            raise RuntimeError(f"oracle: closed form names {sorted(closed_form)} do not match")
    inputs, outputs = graph_io(model)
    opsets = {(o.domain or ""): o.version for o in model.opset_import}
    ops = {}
    for n in model.graph.node:
        key = n.op_type if not n.domain or n.domain == "ai.onnx" else f"{n.domain}.{n.op_type}"
        ops[key] = ops.get(key, 0) + 1
    exp = {
        "inputs": inputs,
        "outputs": outputs,
        "opsets": opsets,
        "ops": ops,
        "params": param_count(model),
        "macs": sum(l["macs"] for l in expected_layers),
        "layers": expected_layers,
    }
    if unchecked:
        exp["layers_not_checked_by_onnx_shape_inference"] = unchecked
    exp.update(extra)
    return exp


def write_json(path, obj):
    text = json.dumps(obj, indent=1)
    # Keep short lists of scalars (shapes) on one line.
    text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]"
                  if m.group(1).strip() else "[]", text)
    with open(path, "w") as f:
        f.write(text + "\n")
