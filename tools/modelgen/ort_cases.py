"""ONNX Runtime round-trip cases from the ONNX backend test data (libonnx-testdata): every
model.onnx under node/, pytorch-converted/, pytorch-operator/ and simple/ whose inputs are plain
tensors ORT-web can take, with test_data_set_0/input_*.pb decoded into raw little-endian .bin
files. Writes <out>/ort_cases.json:
  {"cases": [{"id", "model", "inputs": [{"name", "type", "dims", "file"}]}],
   "skipped": [{"id", "reason"}]}
(`type` is the onnxruntime-web tensor type name). Whether ORT itself can load a model is only
known at test time; the test skips those with the reason ORT gives.
"""
import glob
import os

import onnx
from onnx import numpy_helper, TensorProto

TESTDATA = "/usr/share/libonnx-testdata/data"
SUITES = ("node", "pytorch-converted", "pytorch-operator", "simple")
ORT_TYPES = {TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64",
             TensorProto.FLOAT16: "float16", TensorProto.INT8: "int8", TensorProto.UINT8: "uint8",
             TensorProto.INT16: "int16", TensorProto.UINT16: "uint16",
             TensorProto.INT32: "int32", TensorProto.UINT32: "uint32",
             TensorProto.INT64: "int64", TensorProto.UINT64: "uint64", TensorProto.BOOL: "bool"}


def _case(suite, case_dir, out_dir):
    cid = f"{suite}/{os.path.basename(case_dir)}"
    model_path = os.path.join(case_dir, "model.onnx")
    data_dir = os.path.join(case_dir, "test_data_set_0")
    if not os.path.isfile(model_path) or not os.path.isdir(data_dir):
        return None, f"no model.onnx or test_data_set_0"
    model = onnx.load(model_path, load_external_data=False)
    init = {t.name for t in model.graph.initializer}
    graph_inputs = [v for v in model.graph.input if v.name not in init]
    pbs = sorted(glob.glob(os.path.join(data_dir, "input_*.pb")),
                 key=lambda p: int(os.path.basename(p)[6:-3]))
    if len(pbs) != len(graph_inputs):
        return None, f"{len(pbs)} input files for {len(graph_inputs)} graph inputs"
    inputs = []
    case_out = os.path.join(out_dir, "ort_inputs", cid.replace("/", "__"))
    for i, (vi, pb) in enumerate(zip(graph_inputs, pbs)):
        if vi.type.WhichOneof("value") != "tensor_type":
            return None, f"input {vi.name!r} is a {vi.type.WhichOneof('value')}, not a tensor"
        t = TensorProto()
        with open(pb, "rb") as f:
            t.ParseFromString(f.read())
        if t.data_type not in ORT_TYPES:
            return None, f"input {vi.name!r} has element type {t.data_type}"
        arr = numpy_helper.to_array(t)
        os.makedirs(case_out, exist_ok=True)
        file = os.path.join(case_out, f"input_{i}.bin")
        with open(file, "wb") as f:
            f.write(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        inputs.append({"name": vi.name, "type": ORT_TYPES[t.data_type],
                       "dims": [int(d) for d in arr.shape], "file": os.path.relpath(file, out_dir)})
    return {"id": cid, "model": model_path, "inputs": inputs}, None


def make_all(out_dir, log):
    cases, skipped = [], []
    for suite in SUITES:
        for case_dir in sorted(glob.glob(os.path.join(TESTDATA, suite, "test_*"))):
            try:
                case, reason = _case(suite, case_dir, out_dir)
            except Exception as e:  # a case python onnx cannot read is ORT's business, not ours
                case, reason = None, f"python onnx: {type(e).__name__}: {e}"
            if case:
                cases.append(case)
            else:
                skipped.append({"id": f"{suite}/{os.path.basename(case_dir)}", "reason": reason})
    from .oracle import write_json
    write_json(os.path.join(out_dir, "ort_cases.json"), {"cases": cases, "skipped": skipped})
    log(f"  ort_cases.json: {len(cases)} cases, {len(skipped)} skipped")
    return len(cases)
