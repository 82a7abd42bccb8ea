"""Small Conv models whose middle sits inside control flow, for the quantize test of If/Loop/Scan
(tests/cli/control_flow.test.mjs). Layers inside the subgraphs are quantized like the main
graph's, and the export keeps the subgraphs with their Q/DQ inside.

  if_const_cond.onnx   Conv -> Relu -> If(constant true: Conv with the branch's own weight,
                       else AveragePool) -> Conv
  if_data_cond.onnx    Conv -> Relu -> If(mean(x) > 0: Conv reading the main graph's weight
                       (outer scope), else Sigmoid) -> Conv
  if_reads_input.onnx  Conv -> Relu -> If(constant true: Conv of the graph input x plus h) -> Conv:
                       the export's subgraph must read x's dequantized copy, as the simulation does
  loop_conv.onnx       Conv -> Loop (M = 2: v = Relu(Conv(v)) with the main graph's weight) -> Conv
  loop_if_nested.onnx  Conv -> Loop (M = 3: v = If(i even: Relu(Conv(v)) with the nested branch's
                       weight, else Sigmoid(v))) -> Conv: a layer two subgraphs deep
  scan_rnn.onnx        Conv -> the 64 pixels as a sequence -> Scan (an Elman RNN step:
                       s = Tanh(x_t Wx + s Wh + b), weights in the body) -> back to 8x8 -> Conv
  if_data_cond_op11.onnx  if_data_cond at opset 11 (per-channel DequantizeLinear needs the
                       com.microsoft op there, and ORT's default level rewrites more below 13)
  if_same_names.onnx   if_data_cond with a Conv in both branches, each branch naming its weight "wt",
                       its layer "branch_conv" and its output "t"
  if_unnamed_nodes.onnx  a branch whose three Convs have no names
  if_constant_weight.onnx  the branch's Conv weight comes from a Constant node
  vad_if_lstm.onnx     a real export: a voice-activity-detector-like torch module (Conv1d -> LSTM ->
                       `if last.mean() > 0: speech head else: noise head(relu)`) compiled with
                       torch.jit.script and exported by torch.onnx at opset 13: the heads' Linear
                       layers are Gemms inside the If branches reading the main graph's weights,
                       node names hold '/' ("/If"); input x [1, 1, 400], output y [1, 2]

Written to <out>/control_flow/. ONNX Runtime computes the float outputs; no quantmix code is
involved in making them.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
INPUT_SHAPE = [1, 3, 8, 8]
N = helper.make_node


def _w(r, name, shape, scale=0.3):
    return numpy_helper.from_array((r.standard_normal(shape) * scale).astype(np.float32), name)


def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def _model(nodes, inits, name, opset=OPSET):
    g = helper.make_graph(nodes, name, [_vi("x", INPUT_SHAPE)], [_vi("y", [1, 2, 8, 8])], initializer=inits)
    m = helper.make_model(g, producer_name="quantmix control_flow_models",
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    m = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    onnx.checker.check_model(m)
    return m


def _head_tail(r):
    head = [N("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]), N("Relu", ["c1"], ["h"], name="relu1")]
    tail = [N("Conv", ["m", "w3", "b3"], ["y"], name="conv3", pads=[1, 1, 1, 1])]
    inits = [_w(r, "w1", [4, 3, 3, 3]), _w(r, "b1", [4], 0.1), _w(r, "w3", [2, 4, 3, 3]), _w(r, "b3", [2], 0.1)]
    return head, tail, inits


def _data_cond_if(head, tail, inits, then_g, else_g, name, opset=OPSET):
    """head -> If(mean(x) > 0: then_g, else else_g) named 'branch' -> tail."""
    mid = [N("ReduceMean", ["x"], ["mean"], keepdims=0), N("Greater", ["mean", "zero"], ["cond"]),
           N("If", ["cond"], ["m"], name="branch", then_branch=then_g, else_branch=else_g)]
    inits.append(numpy_helper.from_array(np.array(0.0, np.float32), "zero"))
    return _model(head + mid + tail, inits, name, opset)


def if_const_cond():
    r = np.random.RandomState(300)
    head, tail, inits = _head_tail(r)
    then_g = helper.make_graph([N("Conv", ["h", "wt"], ["t"], name="branch_conv", pads=[1, 1, 1, 1])], "then", [],
                               [_vi("t", [1, 4, 8, 8])], initializer=[_w(r, "wt", [4, 4, 3, 3])])
    else_g = helper.make_graph([N("AveragePool", ["h"], ["e"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], "else", [],
                               [_vi("e", [1, 4, 8, 8])])
    mid = [N("If", ["cond"], ["m"], name="branch", then_branch=then_g, else_branch=else_g)]
    inits.append(numpy_helper.from_array(np.array(True), "cond"))
    return _model(head + mid + tail, inits, "if_const_cond")


def if_data_cond(opset=OPSET):
    r = np.random.RandomState(301)
    head, tail, inits = _head_tail(r)
    then_g = helper.make_graph([N("Conv", ["h", "w2"], ["t"], name="branch_conv", pads=[1, 1, 1, 1])], "then", [],
                               [_vi("t", [1, 4, 8, 8])])
    else_g = helper.make_graph([N("Sigmoid", ["h"], ["e"])], "else", [], [_vi("e", [1, 4, 8, 8])])
    inits.append(_w(r, "w2", [4, 4, 3, 3]))
    return _data_cond_if(head, tail, inits, then_g, else_g, "if_data_cond", opset)


def if_reads_input():
    r = np.random.RandomState(303)
    head, tail, inits = _head_tail(r)
    then_g = helper.make_graph([N("Conv", ["x", "wt"], ["cx"], name="branch_conv", pads=[1, 1, 1, 1]),
                                N("Add", ["cx", "h"], ["t"])], "then", [],
                               [_vi("t", [1, 4, 8, 8])], initializer=[_w(r, "wt", [4, 3, 3, 3])])
    else_g = helper.make_graph([N("Relu", ["h"], ["e"])], "else", [], [_vi("e", [1, 4, 8, 8])])
    mid = [N("If", ["cond"], ["m"], name="branch", then_branch=then_g, else_branch=else_g)]
    inits.append(numpy_helper.from_array(np.array(True), "cond"))
    return _model(head + mid + tail, inits, "if_reads_input")


def loop_conv():
    r = np.random.RandomState(302)
    head, tail, inits = _head_tail(r)
    body = helper.make_graph([N("Conv", ["v", "w2"], ["cv"], name="body_conv", pads=[1, 1, 1, 1]),
                              N("Relu", ["cv"], ["v2"]), N("Identity", ["cin"], ["cout"])], "body",
                             [_vi("i", [], TensorProto.INT64), _vi("cin", [], TensorProto.BOOL), _vi("v", [1, 4, 8, 8])],
                             [_vi("cout", [], TensorProto.BOOL), _vi("v2", [1, 4, 8, 8])])
    mid = [N("Loop", ["M", "", "h"], ["m"], name="loop", body=body)]
    inits += [_w(r, "w2", [4, 4, 3, 3], 0.2), numpy_helper.from_array(np.array(2, np.int64), "M")]
    return _model(head + mid + tail, inits, "loop_conv")


def if_same_names():
    r = np.random.RandomState(306)
    head, tail, inits = _head_tail(r)
    # Both branches name their weight "wt", their layer "branch_conv" and their output "t": names
    # need only be unique within a branch and its enclosing graphs.
    def branch(name, scale):
        return helper.make_graph([N("Conv", ["h", "wt"], ["t"], name="branch_conv", pads=[1, 1, 1, 1])], name, [],
                                 [_vi("t", [1, 4, 8, 8])], initializer=[_w(r, "wt", [4, 4, 3, 3], scale)])
    return _data_cond_if(head, tail, inits, branch("then", 0.3), branch("else", 0.1), "if_same_names")


def if_unnamed_nodes():
    r = np.random.RandomState(307)
    head, tail, inits = _head_tail(r)
    # The then branch's layers are unnamed: the engine calls them "Conv_0", "Conv_2", "Conv_3"
    # (op and index), and the export must find each by that name after adding nodes to the branch.
    then_g = helper.make_graph([N("Conv", ["h", "wa"], ["t1"], pads=[1, 1, 1, 1]), N("Relu", ["t1"], ["t2"]),
                                N("Conv", ["t2", "wb"], ["t3"], pads=[1, 1, 1, 1]),
                                N("Conv", ["t3", "wc"], ["t"], pads=[1, 1, 1, 1])], "then", [],
                               [_vi("t", [1, 4, 8, 8])],
                               initializer=[_w(r, "wa", [4, 4, 3, 3], 0.2), _w(r, "wb", [4, 4, 3, 3], 0.2),
                                            _w(r, "wc", [4, 4, 3, 3], 0.2)])
    else_g = helper.make_graph([N("Sigmoid", ["h"], ["e"])], "else", [], [_vi("e", [1, 4, 8, 8])])
    return _data_cond_if(head, tail, inits, then_g, else_g, "if_unnamed_nodes")


def if_constant_weight():
    r = np.random.RandomState(308)
    head, tail, inits = _head_tail(r)
    # The branch's Conv weight is the output of a Constant node (how some exporters store it).
    then_g = helper.make_graph([N("Constant", [], ["wk"], name="wk_const", value=_w(r, "wk_value", [4, 4, 3, 3], 0.3)),
                                N("Conv", ["h", "wk"], ["t"], name="branch_conv", pads=[1, 1, 1, 1])], "then", [],
                               [_vi("t", [1, 4, 8, 8])])
    else_g = helper.make_graph([N("Sigmoid", ["h"], ["e"])], "else", [], [_vi("e", [1, 4, 8, 8])])
    return _data_cond_if(head, tail, inits, then_g, else_g, "if_constant_weight")


def loop_if_nested():
    r = np.random.RandomState(304)
    head, tail, inits = _head_tail(r)
    then_g = helper.make_graph([N("Conv", ["v", "wt"], ["ct"], name="nested_conv", pads=[1, 1, 1, 1]),
                                N("Relu", ["ct"], ["t"])], "then", [], [_vi("t", [1, 4, 8, 8])],
                               initializer=[_w(r, "wt", [4, 4, 3, 3], 0.2)])
    else_g = helper.make_graph([N("Sigmoid", ["v"], ["e"])], "else", [], [_vi("e", [1, 4, 8, 8])])
    body = helper.make_graph([N("Mod", ["i", "two"], ["odd"]), N("Equal", ["odd", "zero_i"], ["even"]),
                              N("If", ["even"], ["v2"], name="parity", then_branch=then_g, else_branch=else_g),
                              N("Identity", ["cin"], ["cout"])], "body",
                             [_vi("i", [], TensorProto.INT64), _vi("cin", [], TensorProto.BOOL), _vi("v", [1, 4, 8, 8])],
                             [_vi("cout", [], TensorProto.BOOL), _vi("v2", [1, 4, 8, 8])],
                             initializer=[numpy_helper.from_array(np.array(2, np.int64), "two"),
                                          numpy_helper.from_array(np.array(0, np.int64), "zero_i")])
    mid = [N("Loop", ["M", "", "h"], ["m"], name="loop", body=body)]
    inits.append(numpy_helper.from_array(np.array(3, np.int64), "M"))
    return _model(head + mid + tail, inits, "loop_if_nested")


def scan_rnn():
    r = np.random.RandomState(305)
    head, _, inits = _head_tail(r)
    inits = [t for t in inits if t.name not in ("w3", "b3")]
    body = helper.make_graph([N("MatMul", ["xt", "wx"], ["a"], name="rnn_in"), N("MatMul", ["s", "wh"], ["b"], name="rnn_rec"),
                              N("Add", ["a", "b"], ["c"]), N("Add", ["c", "bh"], ["d"]), N("Tanh", ["d"], ["s2"]),
                              N("Identity", ["s2"], ["o"])], "body",
                             [_vi("s", [1, 8]), _vi("xt", [1, 4])], [_vi("s2", [1, 8]), _vi("o", [1, 8])],
                             initializer=[_w(r, "wx", [4, 8], 0.5), _w(r, "wh", [8, 8], 0.3), _w(r, "bh", [8], 0.1)])
    mid = [N("Reshape", ["h", "flat"], ["hf"]), N("Transpose", ["hf"], ["seq"], perm=[2, 0, 1]),
           N("Scan", ["s0", "seq"], ["s_last", "outs"], name="rnn", num_scan_inputs=1, body=body),
           N("Transpose", ["outs"], ["ot"], perm=[1, 2, 0]), N("Reshape", ["ot", "grid"], ["m"])]
    tail = [N("Conv", ["m", "w3", "b3"], ["y"], name="conv3", pads=[1, 1, 1, 1])]
    inits += [numpy_helper.from_array(np.array([1, 4, 64], np.int64), "flat"),
              numpy_helper.from_array(np.zeros([1, 8], np.float32), "s0"),
              numpy_helper.from_array(np.array([1, 8, 8, 8], np.int64), "grid"),
              _w(r, "w3", [2, 8, 3, 3]), _w(r, "b3", [2], 0.1)]
    return _model(head + mid + tail, inits, "scan_rnn")


def vad_if_lstm():
    import io

    import torch

    class Vad(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 16, 5, stride=2)
            self.lstm = torch.nn.LSTM(16, 32, batch_first=True)
            self.speech = torch.nn.Linear(32, 2)
            self.noise = torch.nn.Linear(32, 2)

        def forward(self, x):
            h = torch.relu(self.conv(x)).transpose(1, 2)
            o, _ = self.lstm(h)
            last = o[:, -1]
            if bool(last.mean() > 0):
                y = self.speech(last)
            else:
                y = self.noise(torch.relu(last))
            return y

    torch.manual_seed(0)
    module = torch.jit.script(Vad().eval())
    buf = io.BytesIO()
    torch.onnx.export(module, (torch.randn(1, 1, 400),), buf, opset_version=13, input_names=["x"], output_names=["y"])
    m = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(m)
    return m


MODELS = {"if_const_cond": if_const_cond, "if_data_cond": if_data_cond, "if_reads_input": if_reads_input,
          "loop_conv": loop_conv, "loop_if_nested": loop_if_nested, "scan_rnn": scan_rnn,
          "if_data_cond_op11": lambda: if_data_cond(11), "if_same_names": if_same_names,
          "if_unnamed_nodes": if_unnamed_nodes, "if_constant_weight": if_constant_weight, "vad_if_lstm": vad_if_lstm}


def make_all(out_dir, log):
    sub = os.path.join(out_dir, "control_flow")
    os.makedirs(sub, exist_ok=True)
    for name, build in MODELS.items():
        onnx.save(build(), os.path.join(sub, name + ".onnx"))
    log(f"  control_flow/: {', '.join(MODELS)}")


if __name__ == "__main__":
    import sys
    make_all(sys.argv[1], print)
