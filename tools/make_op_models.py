#!/usr/bin/python3
"""Generates the op-level oracle corpus: one small single-op ONNX model per (op, attribute
variant, opset), with deterministic random inputs saved as .npy.

Run with Debian's python (it has onnx 1.12 and numpy):
    /usr/bin/python3 tools/make_op_models.py OUT_DIR          # usually <build>/testdata/ops
Writes
    OUT_DIR/cases/<case>/model.onnx
    OUT_DIR/cases/<case>/inputs/<input>.npy          (file names sanitized like `quantmix run`)
    OUT_DIR/index.json                               every case: op, opset, IR version, inputs,
                                                     outputs, comparison class, note
Expected outputs are NOT computed here: tests/ops/make_expected.mjs runs ONNX Runtime (the
oracle) on each model. tests/ops/prepare_corpus.mjs runs both and caches by the generator hash.

Case families live in tools/op_models/*.py; each exports `cases(B)` and adds cases with B.add().
Models for opsets beyond python-onnx 1.12 (18..21) are built with the helper and get their
opset_import / ir_version set by hand; new element types (INT4=22, UINT4=21) are written by
number (toolchain.md section 6). Those models are not run through onnx.checker (it does not know
the newer schemas); ONNX Runtime's load is their check.
"""
import hashlib
import json
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# The smallest IR version each opset needs (onnx/helper.py VERSION_TABLE, extended past 17).
IR_FOR_OPSET = {1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7,
                13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10}
MAX_CHECKED_OPSET = 17  # python-onnx 1.12's checker knows opsets up to 17

INT4, UINT4 = 22, 21
NP_TO_ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
              np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32,
              np.dtype(np.int16): TensorProto.INT16, np.dtype(np.uint16): TensorProto.UINT16,
              np.dtype(np.int8): TensorProto.INT8, np.dtype(np.uint8): TensorProto.UINT8,
              np.dtype(np.bool_): TensorProto.BOOL}
# Short names the case files use for output element types.
ELEM = {'f': TensorProto.FLOAT, 'i64': TensorProto.INT64, 'i32': TensorProto.INT32,
        'i16': TensorProto.INT16, 'u16': TensorProto.UINT16, 'i8': TensorProto.INT8,
        'u8': TensorProto.UINT8, 'b': TensorProto.BOOL}

FAMILIES = ['nn', 'elementwise', 'tensor', 'resize_quant', 'extra', 'control_flow']


def sanitize(name):
    """The output/input file name rule of `quantmix run` (cli.md)."""
    return re.sub(r'[^A-Za-z0-9._-]', '_', name)


def rng_for(name):
    """A generator seeded by the case name: adding or reordering cases changes no other case."""
    return np.random.default_rng(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], 'little'))


class Rand:
    """Random data for one case (float32 unless said otherwise)."""

    def __init__(self, name):
        self.g = rng_for(name)

    def normal(self, *shape, scale=1.0):
        return (self.g.standard_normal(shape) * scale).astype(np.float32)

    def uniform(self, lo, hi, *shape):
        return self.g.uniform(lo, hi, shape).astype(np.float32)

    def away_from_zero(self, lo, hi, *shape):
        """|x| in [lo, hi) with random sign (denominators, reciprocals)."""
        mag = self.g.uniform(lo, hi, shape)
        return (mag * np.where(self.g.random(shape) < 0.5, -1, 1)).astype(np.float32)

    def ints(self, lo, hi, *shape, dtype=np.int64):
        return self.g.integers(lo, hi, shape, endpoint=True).astype(dtype)

    def bools(self, *shape):
        return self.g.random(shape) < 0.5

    def grid(self, step, lo, hi, *shape):
        """Values on a grid (k * step): creates exact ties for comparisons and rounding."""
        return (self.g.integers(int(lo / step), int(hi / step), shape, endpoint=True) * step).astype(np.float32)


def int4_initializer(name, values, signed):
    """A 4-bit initializer written by number: two values per byte, low nibble first."""
    flat = np.asarray(values).reshape(-1).astype(np.int64)
    lo, hi = (-8, 7) if signed else (0, 15)
    assert flat.min() >= lo and flat.max() <= hi, 'int4 value out of range'
    nib = (flat & 0xF).astype(np.uint8)
    if nib.size % 2:
        nib = np.concatenate([nib, np.zeros(1, np.uint8)])
    packed = (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8)
    t = TensorProto()
    t.name = name
    t.data_type = INT4 if signed else UINT4
    t.dims.extend(np.asarray(values).shape)
    t.raw_data = packed.tobytes()
    return t


def initializer(name, value):
    if isinstance(value, TensorProto):
        return value
    return numpy_helper.from_array(np.asarray(value), name)


class Builder:
    """Collects cases. B.add(...) builds one model; families call it."""

    def __init__(self):
        self.cases = []
        self.names = set()

    def add(self, name, op, opset, nodes, inputs=(), outputs=('y',), inits=(), compare=None,
            ir=None, note=None, output_types=None):
        """One case.

        name      unique case id, also its directory name (keep to [A-Za-z0-9_.-])
        op        the op under test (the per-op summary groups by it)
        opset     default-domain opset of the model
        nodes     a NodeProto or a list of them
        inputs    [(name, ndarray)]: graph inputs, fed from .npy files
        outputs   output names, or (name, elem) pairs with elem a key of ELEM or an int
        inits     [(name, ndarray | TensorProto)]: initializers (constant weights, shapes, axes)
        compare   'exact' or a tolerance class name (tests/ops/compare.mjs); integer and bool
                  outputs are always compared exactly
        """
        assert re.fullmatch(r'[A-Za-z0-9_.-]+', name), name
        assert name not in self.names, f'duplicate case {name}'
        self.names.add(name)
        nodes = nodes if isinstance(nodes, list) else [nodes]
        g_inputs = [helper.make_tensor_value_info(n, NP_TO_ONNX[np.asarray(a).dtype], list(np.asarray(a).shape))
                    for n, a in inputs]
        g_outputs = []
        for o in outputs:
            oname, elem = (o, 'f') if isinstance(o, str) else o
            g_outputs.append(helper.make_tensor_value_info(oname, ELEM.get(elem, elem), None))
        graph = helper.make_graph(nodes, name, g_inputs, g_outputs,
                                  initializer=[initializer(n, v) for n, v in inits])
        model = helper.make_model(graph, producer_name='quantmix make_op_models',
                                  opset_imports=[helper.make_opsetid('', opset)])
        model.ir_version = ir or IR_FOR_OPSET[opset]
        if model.ir_version < 4:
            # Before IR 4 every initializer must also be a graph input (old exporters did this;
            # the engine must not ask for them on the command line).
            for t in model.graph.initializer:
                model.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
        if opset <= MAX_CHECKED_OPSET:
            # A malformed generated model is a generator bug: strict shape inference and the checker
            # catch it here. Inference also fills in the output shapes.
            try:
                model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
                # The checker insists on output shapes, which inference cannot give when a shape is
                # a runtime input; those models get strict inference only.
                if all(o.type.tensor_type.HasField('shape') for o in model.graph.output):
                    onnx.checker.check_model(model)
            except Exception as e:
                raise RuntimeError(f'case {name}: {e}') from e
        self.cases.append({
            'name': name, 'op': op, 'opset': opset, 'ir_version': model.ir_version,
            'model': model,
            'inputs': [(n, np.asarray(a)) for n, a in inputs],
            'outputs': [o if isinstance(o, str) else o[0] for o in outputs],
            'compare': compare, 'note': note,
        })


def write_corpus(out_dir, cases):
    cases_dir = os.path.join(out_dir, 'cases')
    if os.path.isdir(cases_dir):
        shutil.rmtree(cases_dir)
    index = []
    for c in cases:
        d = os.path.join(cases_dir, c['name'])
        os.makedirs(os.path.join(d, 'inputs'))
        onnx.save(c['model'], os.path.join(d, 'model.onnx'))
        ins = []
        for n, a in c['inputs']:
            f = 'inputs/' + sanitize(n) + '.npy'
            np.save(os.path.join(d, f), a)
            ins.append({'name': n, 'file': f, 'dtype': str(a.dtype), 'shape': list(a.shape)})
        index.append({'name': c['name'], 'op': c['op'], 'opset': c['opset'], 'ir_version': c['ir_version'],
                      'inputs': ins,
                      'outputs': [{'name': o, 'file': sanitize(o) + '.npy'} for o in c['outputs']],
                      'compare': c['compare'], 'note': c['note']})
    with open(os.path.join(out_dir, 'index.json'), 'w') as f:
        json.dump({'generator': 'tools/make_op_models.py', 'onnx': onnx.__version__,
                   'cases': index}, f, indent=1)
    return index


def build_all():
    import importlib
    B = Builder()
    for fam in FAMILIES:
        importlib.import_module('op_models.' + fam).cases(B)
    return B.cases


def main(argv):
    if len(argv) != 2:
        print('usage: make_op_models.py OUT_DIR', file=sys.stderr)
        return 2
    out_dir = argv[1]
    os.makedirs(out_dir, exist_ok=True)
    cases = build_all()
    index = write_corpus(out_dir, cases)
    ops = {}
    for c in index:
        ops[c['op']] = ops.get(c['op'], 0) + 1
    print(f'{len(index)} cases, {len(ops)} ops -> {out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
