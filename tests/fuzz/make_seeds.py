#!/usr/bin/python3
"""Writes the fuzz seed corpus and the reader fixtures into tests/data/fuzz_seeds/.

Run with /usr/bin/python3 (python3-onnx 1.12). The models are small and deterministic:
  kitchen_sink.onnx   every ModelProto feature onnx 1.12 can express (typed tensor fields, sparse
                      initializer, subgraph, sequence/optional types, quantization annotation,
                      FunctionProto, TrainingInfoProto, TensorProto.segment, metadata)
  external.onnx       an initializer stored in external data ('external.bin', offset 8)
  writer_oracle.onnx  a small Conv model that tests/test_onnx_writer.cpp rebuilds in code: the
                      C++ writer must produce exactly python protobuf's bytes
Small models copied from /usr/share/libonnx-testdata are added by the caller (see README line
in tests/fuzz/CMakeLists.txt).

The seeds of the other fuzz targets (tests/fuzz/CMakeLists.txt), one folder each:
  samples/    .npy (versions 1-3, every dtype the loader takes, stacked, scalar, empty, Fortran
              order, big-endian) and .npz (np.savez: zip64 extra fields; savez_compressed) for
              the target's model (x [N, 3, 4, 4] float32, t [1, 2] int64; tests/fuzz/fuzz_util.h)
  image/      4 selector bytes + an optional --preprocess line + a PNG/JPEG/BMP (PIL; fuzz_image.cpp
              says what the bytes select), plus web/samples/calib/000.png
  json/       hardware profiles and AIMET encodings for fuzz_util.h's model
  model_run/  not written here: `make_seeds.py --model-run-candidates DIR` copies candidate models
              into DIR (the op-oracle corpus build/native/testdata/ops/cases/*/model.onnx, the
              tools/make_models.py bad/, opsets/, control_flow/ and small models in build/native/testdata/models,
              and /usr/share/libonnx-testdata node models), all under 8 KB; the committed folder is
              the libFuzzer merge of them:
                build/fuzz/tests/fuzz/fuzz_model_run -set_cover_merge=1 -use_counters=0 \
                    tests/data/fuzz_seeds/model_run DIR   (from an empty model_run/)
"""
import glob
import io
import json
import os
import shutil
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.join(here, "..", "..")
if len(sys.argv) > 2 and sys.argv[1] == "--model-run-candidates":
    dest = sys.argv[2]
    os.makedirs(dest, exist_ok=True)
    sources = (glob.glob(os.path.join(repo, "build/native/testdata/ops/cases/*/model.onnx"))
               + glob.glob(os.path.join(repo, "build/native/testdata/models/*.onnx"))
               + glob.glob(os.path.join(repo, "build/native/testdata/models/bad/*.onnx"))
               + glob.glob(os.path.join(repo, "build/native/testdata/models/opsets/*.onnx"))
               + glob.glob(os.path.join(repo, "build/native/testdata/models/control_flow/*.onnx"))
               + glob.glob("/usr/share/libonnx-testdata/data/node/*/model.onnx"))
    n = 0
    for src in sorted(sources):
        if os.path.getsize(src) <= 8192:
            name = os.path.basename(os.path.dirname(src)) if src.endswith("/model.onnx") else os.path.basename(src)[:-5]
            shutil.copyfile(src, os.path.join(dest, f"{n:04d}_{name}.onnx"))
            n += 1
    print(f"{n} candidates in {dest}")
    sys.exit(0)
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "data", "fuzz_seeds")


def kitchen_sink():
    f16 = helper.make_tensor("w_f16", TensorProto.FLOAT16, [3], [1.0, -2.0, 65504.0])
    i32 = helper.make_tensor("w_i8", TensorProto.INT8, [2, 2], [1, -2, 3, -128])
    i64 = helper.make_tensor("w_i64", TensorProto.INT64, [2], [-1, 1 << 40])
    dbl = helper.make_tensor("w_f64", TensorProto.DOUBLE, [2], [0.5, -1e300])
    u64 = helper.make_tensor("w_u64", TensorProto.UINT64, [1], [18446744073709551615])
    strs = helper.make_tensor("w_str", TensorProto.STRING, [2], [b"ab", b""])
    raw = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w_raw")
    raw.doc_string = "raw float"
    seg = helper.make_tensor("w_seg", TensorProto.FLOAT, [2], [1.5, 2.5])
    seg.segment.begin = 0
    seg.segment.end = 2
    sparse = helper.make_sparse_tensor(
        helper.make_tensor("sp", TensorProto.FLOAT, [2], [5.0, 6.0]),
        helper.make_tensor("sp_idx", TensorProto.INT64, [2], [1, 4]), [2, 3])

    then_g = helper.make_graph([helper.make_node("Constant", [], ["t_out"], value=helper.make_tensor("c1", TensorProto.FLOAT, [1], [1.0]))],
                               "then", [], [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [1])])
    else_g = helper.make_graph([helper.make_node("Constant", [], ["e_out"], value_float=2.0)],
                               "else", [], [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [])])
    nodes = [
        helper.make_node("Add", ["x", "w_raw"], ["y"], name="add0", doc_string="adds"),
        helper.make_node("If", ["cond"], ["z"], name="if0", then_branch=then_g, else_branch=else_g),
        helper.make_node("CustomOp", ["y"], ["q"], name="custom", domain="com.example",
                         alpha=0.25, count=-3, label="hi", shape=[1, -1, 0], scales=[0.5, 2.0],
                         names=["a", "b"]),
        helper.make_node("SequenceEmpty", [], ["seq"], dtype=TensorProto.FLOAT),
        helper.make_node("MyFunc", ["x"], ["fo"], domain="local"),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3]),
              helper.make_tensor_value_info("cond", TensorProto.BOOL, [])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3]),
               helper.make_tensor_value_info("z", TensorProto.FLOAT, None),
               helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, [None, 2]),
               helper.make_value_info("opt", helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.INT64, [1]))),
               helper.make_sparse_tensor_value_info("sp_out", TensorProto.FLOAT, [2, 3])]
    g = helper.make_graph(nodes, "kitchen", inputs, outputs,
                          initializer=[f16, i32, i64, dbl, u64, strs, raw, seg],
                          doc_string="graph doc", sparse_initializer=[sparse],
                          value_info=[helper.make_tensor_value_info("q", TensorProto.FLOAT, [None, 3])])
    g.output[0].type.denotation = "TENSOR"
    g.input[0].type.tensor_type.shape.dim[0].denotation = "DATA_BATCH"
    ann = g.quantization_annotation.add()
    ann.tensor_name = "y"
    kv = ann.quant_parameter_tensor_names.add()
    kv.key, kv.value = "SCALE_TENSOR", "y_scale"
    fn = helper.make_function("local", "MyFunc", ["a"], ["b"],
                              [helper.make_node("Relu", ["a"], ["b"])], [helper.make_opsetid("", 14)])
    m = helper.make_model(g, producer_name="quantmix-seeds", producer_version="1.0", domain="ai.quantmix",
                          model_version=7, doc_string="kitchen sink",
                          opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid("com.example", 1),
                                         helper.make_opsetid("local", 1)],
                          functions=[fn])
    m.ir_version = 8
    helper.set_model_props(m, {"author": "quantmix", "license": "MIT"})
    ti = helper.make_training_info(
        helper.make_graph([], "init", [], []), [("x", "y")],
        helper.make_graph([], "algo", [], []), [("w_raw", "y")])
    m.training_info.append(ti)
    return m


def external(folder):
    w = numpy_helper.from_array(np.array([[1.0, -2.5], [3.25, 4.0]], np.float32), "fc.weight")
    payload = w.raw_data
    with open(os.path.join(folder, "external.bin"), "wb") as f:
        f.write(b"\0" * 8 + payload)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "external.bin"), ("offset", "8"), ("length", str(len(payload)))):
        e = w.external_data.add()
        e.key, e.value = k, v
    g = helper.make_graph([helper.make_node("MatMul", ["x", "fc.weight"], ["y"])], "ext",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], initializer=[w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def writer_oracle():
    w = np.array([0.5, -1.0, 0.25, 2.0, 0.0, -0.125, 1.5, 3.0, -2.0] * 2, np.float32).reshape(2, 1, 3, 3)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("LeakyRelu", ["c"], ["y"], name="act", alpha=0.125),
         helper.make_node("Reshape", ["y", "s"], ["z"], name="flat")],
        "writer_oracle",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 32])],
        initializer=[numpy_helper.from_array(w, "w"), helper.make_tensor("s", TensorProto.INT64, [2], [-1, 32])])
    m = helper.make_model(g, producer_name="quantmix", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "writer_oracle.onnx"), "wb") as f:
    f.write(writer_oracle().SerializeToString())
ks = kitchen_sink()
with open(os.path.join(out, "kitchen_sink.onnx"), "wb") as f:
    f.write(ks.SerializeToString())
ext = external(out)

with open(os.path.join(out, "external.onnx"), "wb") as f:
    f.write(ext.SerializeToString())


# ---- seeds of the other targets ----

def write(folder, name, data):
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    with open(os.path.join(out, folder, name), "wb") as f:
        f.write(data)


def npy(a, version=None, fortran=False):
    buf = io.BytesIO()
    if fortran:
        a = np.asfortranarray(a)
    np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def npz(compressed=False, **arrays):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def samples():
    x = np.linspace(-1, 1, 48, dtype=np.float32).reshape(1, 3, 4, 4)
    t = np.array([[1, 2]], np.int64)
    write("samples", "x.npy", npy(x))
    write("samples", "x_nobatch_v2.npy", npy(x[0], version=(2, 0)))
    write("samples", "x_stacked_v3.npy", npy(np.concatenate([x, -x, x * 2]), version=(3, 0)))
    write("samples", "x_f64.npy", npy(x.astype(np.float64)))
    write("samples", "x_fortran.npy", npy(np.ones((2, 3), np.float32), fortran=True))
    write("samples", "x_bigendian.npy", npy(x.astype(">f4")))
    write("samples", "scalar.npy", npy(np.array(3.5, np.float32)))
    write("samples", "empty.npy", npy(np.zeros((0, 3, 4, 4), np.float32)))
    for dt in ("i8", "i4", "i2", "u2", "i1", "u1", "b1"):
        write("samples", f"t_{dt}.npy", npy((np.arange(6) % 3).astype(dt).reshape(2, 3)))
    write("samples", "xt.npz", npz(x=x, t=t))
    write("samples", "x_only.npz", npz(x=x))
    write("samples", "stacked.npz", npz(x=np.concatenate([x, -x]), t=t))
    write("samples", "unknown_name.npz", npz(z=x, t=t))
    write("samples", "compressed.npz", npz(compressed=True, x=x, t=t))


def images():
    from PIL import Image
    rng = np.random.default_rng(7)
    def enc(img, fmt, **kw):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()
    rgb = Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8), "RGB")
    gray = Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8), "L")
    pics = {
        "rgb.png": enc(rgb, "PNG"),
        "gray.png": enc(gray, "PNG"),
        "rgba.png": enc(Image.fromarray(rng.integers(0, 256, (3, 7, 4), dtype=np.uint8), "RGBA"), "PNG"),
        "la.png": enc(Image.fromarray(rng.integers(0, 256, (5, 5, 2), dtype=np.uint8), "LA"), "PNG"),
        "palette.png": enc(rgb.convert("P"), "PNG"),
        "gray16.png": enc(Image.fromarray(rng.integers(0, 65536, (4, 3), dtype=np.uint16)), "PNG"),
        "optimized.png": enc(rgb.resize((9, 9)), "PNG", optimize=True),
        "rgb.jpg": enc(rgb.resize((8, 8)), "JPEG", quality=90),
        "progressive.jpg": enc(rgb.resize((16, 9)), "JPEG", progressive=True, quality=50),
        "gray.jpg": enc(gray, "JPEG"),
        "rgb.bmp": enc(rgb, "BMP"),
        "palette.bmp": enc(rgb.convert("P"), "BMP"),
        "rgba.bmp": enc(Image.fromarray(rng.integers(0, 256, (3, 3, 4), dtype=np.uint8), "RGBA"), "BMP"),
    }
    with open(os.path.join(repo, "web", "samples", "calib", "000.png"), "rb") as f:
        pics["fashion.png"] = f.read()
    # Selector bytes (fuzz_image.cpp): byte 0 = rank code | dtype << 3 | nhwc 0x20 | batch N 0x40
    # (0xc0: rank unknown); bytes 1-3 index the dims table (2: 1, 4: 3, 0: dynamic, 8: 16, 9: 28).
    setups = [
        (bytes([3, 4, 8, 8]), b""),                                   # float [1, 3, 16, 16]
        (bytes([3 | 0x40, 4, 0, 0]), b"imagenet\n"),                  # float [N, 3, ?, ?]
        (bytes([3 | 0x20 | 8, 4, 9, 9]), b"unit,size=8x6,filter=area\n"),  # uint8 nhwc
        (bytes([1, 2, 9, 9]), b"pm1,gray=1\n"),                       # float [28, 28]
        (bytes([2, 2, 0, 0]), b"scale=1/255,mean=0.5,std=0.25,keep-aspect=1,size=5\n"),
        (bytes([3, 4, 8, 8]), b"order=bgr,layout=nhwc,mean=1:2:3,std=1:2:4\n"),
        (bytes([0xc0, 0, 0, 0]), b""),                                 # rank unknown
        (bytes([3 | 16, 5, 8, 8]), b""),                               # undefined dtype, 4 channels
    ]
    names = sorted(pics)
    for i, name in enumerate(names):
        head, spec = setups[i % len(setups)]
        write("image", name, head + spec + pics[name])


def jsons():
    profiles = {
        "generic.json": {"name": "generic", "candidates": ["W4A8", "W8A8", "W8A16", "W16A16"]},
        "npu.json": {"name": "npu", "description": "integer NPU", "candidates": ["W4A8", "W8A8", "W4A16", "W8A16"],
                     "ops": {"Softmax": {"output_bits": [16]}, "Conv.depthwise": {"candidates": ["W8A8", "W8A16"]},
                             "Add": {"input_bits": [8, 16]}, "MatMul": {"candidates": ["w8a8", "W4A16"]}}},
    }
    for name, p in profiles.items():
        write("json", name, json.dumps(p, indent=1).encode())
    write("json", "profile_escapes.json", b'{"name": "a\\u00e9\\n\\ud83d\\ude00", "candidates": ["W2A2"], "ops": {}, "x": [1e308, -0.0, null, true, false, {"deep": [[[]]]}]}')
    write("json", "candidates.txt", b"W4A8,W8A8,w8a16")

    def act(scale, offset, bits=8, sym="False"):
        return [{"bitwidth": bits, "dtype": "int", "is_symmetric": sym, "max": 1.0, "min": -1.0, "offset": offset, "scale": scale}]

    def par(channels, scale, bits=8):
        return [{"bitwidth": bits, "dtype": "int", "is_symmetric": "True", "max": 0.3, "min": -0.3, "offset": 0, "scale": scale}
                for _ in range(channels)]
    w8a8 = {"version": "0.6.1",
            "activation_encodings": {"x": act(0.0078431, -127), "r": act(0.00093, 0), "logits": act(7.76e-05, -127), "y": act(0.00079, 0)},
            "param_encodings": {"w": par(4, 0.0023622), "m": par(5, 0.0011811)}}
    write("json", "enc_w8a8.json", json.dumps(w8a8, indent=2).encode())
    mixed = {"activation_encodings": {"x": act(0.125, -8, bits=4), "y": [{"bitwidth": 16, "is_symmetric": False, "scale": 1e-05, "offset": -32768}]},
             "param_encodings": {"w": [{"bitwidth": 2, "is_symmetric": True, "scale": 0.1, "offset": -2}], "m": par(5, 0.01, bits=16)}}
    write("json", "enc_mixed.json", json.dumps(mixed).encode())
    write("json", "enc_empty.json", b'{"version": "0.6.1", "activation_encodings": {}, "param_encodings": {}}')
    # Learned rounding: 4-bit weights with their integers (one hex digit of level + 8 per element).
    learned = {"version": "0.6.1", "activation_encodings": {"x": act(0.0078431, -127)},
               "param_encodings": {"w": par(4, 0.05, bits=4), "m": par(5, 0.02, bits=4)},
               "learned_levels": {"w": {"bitwidth": 4, "levels": "".join("0123456789abcdef"[i % 16] for i in range(108))},
                                  "m": {"bitwidth": 4, "levels": "8" * 320}}}
    write("json", "enc_learned.json", json.dumps(learned, indent=1).encode())


samples()
images()
jsons()
