// Recurrent layers: RNN, GRU and LSTM (float32), as OCR (CRNN) and sequence exports use them.
// Forward, reverse and bidirectional; optional bias, sequence_lens, initial states and LSTM
// peepholes; clip; per-direction activation lists with alpha/beta; GRU's linear_before_reset both
// ways. Rejected naming the node: LSTM's input_forget = 1 and layout = 1 (batch first, opset 14;
// ONNX Runtime, the oracle, rejects it too, and exporters emit layout 0 with a Transpose).
//
// Per direction the input projections X * W^T + Wb + Rb of every step come from one GEMM; each
// step then adds H_{t-1} * R^T (a GEMM over the batch) and applies the gate equations. Batch rows
// past their sequence length produce zeros in Y and keep their last state for Y_h / Y_c.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "core/error.h"
#include "kernels/gemm.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

enum class Cell { Rnn, Gru, Lstm };

/// An activation of the recurrent ops' `activations` list, with its alpha/beta.
struct Act {
  enum Kind { Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, Affine, ScaledTanh, ThresholdedRelu, Elu, Softsign, Softplus };
  Kind kind = Sigmoid;
  float alpha = 0, beta = 0;

  float operator()(float x) const {
    switch (kind) {
      case Sigmoid: return 1.0f / (1.0f + std::exp(-x));
      case Tanh: return std::tanh(x);
      case Relu: return x > 0 ? x : 0.0f;
      case HardSigmoid: return std::max(0.0f, std::min(1.0f, alpha * x + beta));
      case LeakyRelu: return x >= 0 ? x : alpha * x;
      case Affine: return alpha * x + beta;
      case ScaledTanh: return alpha * std::tanh(beta * x);
      case ThresholdedRelu: return x > alpha ? x : 0.0f;
      case Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
      case Softsign: return x / (1.0f + std::fabs(x));
      case Softplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

struct RnnAttrs : OpAttrs {
  Cell cell = Cell::Lstm;
  int64_t hidden = 0;
  int num_dirs = 1;
  bool reverse = false;     ///< direction "reverse" (bidirectional: direction 1 is reverse)
  std::optional<float> clip;
  std::vector<Act> acts;    ///< per direction: LSTM 3, GRU 2, RNN 1
  bool linear_before_reset = false;  ///< GRU
  std::string unsupported;  ///< non-empty: why this node cannot run
};

int gates_of(Cell c) { return c == Cell::Lstm ? 4 : (c == Cell::Gru ? 3 : 1); }
int acts_per_dir(Cell c) { return c == Cell::Lstm ? 3 : (c == Cell::Gru ? 2 : 1); }

RnnAttrs parse_rnn(const ParseContext& p, Cell cell) {
  RnnAttrs a;
  a.cell = cell;
  a.hidden = p.get_int("hidden_size", 0);
  if (p.has("hidden_size") && a.hidden < 1) p.fail_attr("hidden_size", "expected a value >= 1, got " + std::to_string(a.hidden));
  const std::string dir = p.get_string("direction", "forward");
  if (dir == "bidirectional") a.num_dirs = 2;
  else if (dir == "reverse") a.reverse = true;
  else if (dir != "forward") p.fail_attr("direction", "expected forward, reverse or bidirectional, got '" + dir + "'");
  if (p.has("clip")) {
    a.clip = p.get_float("clip", 0.0f);
    if (!(*a.clip > 0)) p.fail_attr("clip", "expected a positive value, got " + std::to_string(*a.clip));
  }
  // Unsupported values load (inspect works) and fail when run, naming the node.
  if (p.get_int("layout", 0) != 0) a.unsupported = "attribute 'layout' = 1 (batch-first X/Y) is not supported (ONNX Runtime rejects it too)";
  a.linear_before_reset = cell == Cell::Gru && p.get_int("linear_before_reset", 0) != 0;
  if (cell == Cell::Lstm && p.get_int("input_forget", 0) != 0)
    a.unsupported = "attribute 'input_forget' = 1 (coupled input and forget gates) is not supported";
  const int per = acts_per_dir(cell);
  std::vector<std::string> names;
  if (const onnx::Attribute* at = p.find("activations")) names = at->strings;
  if (names.empty()) {
    for (int d = 0; d < a.num_dirs; ++d) {
      if (cell == Cell::Rnn) names.push_back("Tanh");
      else if (cell == Cell::Gru) names.insert(names.end(), {"Sigmoid", "Tanh"});
      else names.insert(names.end(), {"Sigmoid", "Tanh", "Tanh"});
    }
  }
  if (static_cast<int>(names.size()) != per * a.num_dirs)
    p.fail_attr("activations", "expected " + std::to_string(per * a.num_dirs) + " names (" + std::to_string(per) +
                                   " per direction), got " + std::to_string(names.size()));
  const std::vector<float> alphas = p.get_floats("activation_alpha"), betas = p.get_floats("activation_beta");
  size_t ai = 0, bi = 0;
  for (const std::string& raw : names) {
    std::string n;
    for (char ch : raw) n += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    Act act;
    // Activations with parameters take the next alpha (and beta) of the lists, else the default.
    auto alpha = [&](float dflt) { return ai < alphas.size() ? alphas[ai++] : dflt; };
    auto beta = [&](float dflt) { return bi < betas.size() ? betas[bi++] : dflt; };
    if (n == "sigmoid") act.kind = Act::Sigmoid;
    else if (n == "tanh") act.kind = Act::Tanh;
    else if (n == "relu") act.kind = Act::Relu;
    else if (n == "softsign") act.kind = Act::Softsign;
    else if (n == "softplus") act.kind = Act::Softplus;
    else if (n == "hardsigmoid") { act.kind = Act::HardSigmoid; act.alpha = alpha(0.2f); act.beta = beta(0.5f); }
    else if (n == "leakyrelu") { act.kind = Act::LeakyRelu; act.alpha = alpha(0.01f); }
    else if (n == "affine") { act.kind = Act::Affine; act.alpha = alpha(1.0f); act.beta = beta(0.0f); }
    else if (n == "scaledtanh") { act.kind = Act::ScaledTanh; act.alpha = alpha(1.0f); act.beta = beta(1.0f); }
    else if (n == "thresholdedrelu") { act.kind = Act::ThresholdedRelu; act.alpha = alpha(1.0f); }
    else if (n == "elu") { act.kind = Act::Elu; act.alpha = alpha(1.0f); }
    else p.fail_attr("activations", "unknown activation '" + raw + "'");
    a.acts.push_back(act);
  }
  return a;
}

std::vector<TensorInfo> infer_rnn(const RnnAttrs& a, const InferContext& c) {
  const TensorInfo &x = c.in(0), &w = c.in(1);
  Dim seq, batch, hidden = a.hidden > 0 ? Dim(a.hidden) : Dim();
  if (x.has_rank()) {
    check_rank(c, x, 3, "X");
    seq = (*x.shape)[0];
    batch = (*x.shape)[1];
  }
  if (w.has_rank()) {
    check_rank(c, w, 3, "W");
    const Dim& g = (*w.shape)[1];
    if (g.known() && !hidden.known()) hidden = *g.value / gates_of(a.cell);
    if (g.known() && hidden.known() && *g.value != *hidden.value * gates_of(a.cell))
      c.fail("W has " + std::to_string(*g.value) + " rows, expected " + std::to_string(gates_of(a.cell)) + " x hidden_size " +
             std::to_string(*hidden.value));
  }
  const Dim dirs = Dim(static_cast<int64_t>(a.num_dirs));
  std::vector<TensorInfo> out;
  out.push_back(make_info(x.dtype, {seq, dirs, batch, hidden}));
  for (size_t i = 1; i < c.num_outputs(); ++i) out.push_back(make_info(x.dtype, {dirs, batch, hidden}));
  return out;
}

void run_rnn(const RnnAttrs& a, RunContext& c) {
  if (!a.unsupported.empty()) c.unsupported(a.unsupported);
  const Cell cell = a.cell;
  const int G = gates_of(cell);
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (c.input(i) && i != 4) require_float(c, *c.input(i), i == 0 ? "X" : "a weight or state input");
  const Tensor& x = c.in(0);
  if (x.rank() != 3) c.fail("X must have rank 3 (got shape " + shape_to_string(x.shape()) + ")");
  const int64_t T = x.shape()[0], N = x.shape()[1], I = x.shape()[2];
  const Tensor &w = c.in(1), &r = c.in(2);
  const int D = a.num_dirs;
  const int64_t H = a.hidden > 0 ? a.hidden : (w.rank() == 3 ? w.shape()[1] / G : 0);
  if (w.shape() != Shape{D, G * H, I}) c.fail("W has shape " + shape_to_string(w.shape()) + ", expected " + shape_to_string({D, G * H, I}));
  if (r.shape() != Shape{D, G * H, H}) c.fail("R has shape " + shape_to_string(r.shape()) + ", expected " + shape_to_string({D, G * H, H}));
  const Tensor* bias = c.input(3);
  if (bias && bias->shape() != Shape{D, 2 * G * H}) c.fail("B has shape " + shape_to_string(bias->shape()) + ", expected " + shape_to_string({D, 2 * G * H}));
  std::vector<int64_t> lens(static_cast<size_t>(N), T);
  if (const Tensor* sl = c.input(4)) {
    lens = ints_of(c, *sl, "sequence_lens");
    if (static_cast<int64_t>(lens.size()) != N) c.fail("sequence_lens has " + std::to_string(lens.size()) + " values, expected the batch size " + std::to_string(N));
    for (int64_t l : lens)
      if (l < 0 || l > T) c.fail("sequence length " + std::to_string(l) + " is out of range [0, " + std::to_string(T) + "]");
  }
  auto state_in = [&](size_t i, const char* what) -> std::optional<Tensor> {
    const Tensor* t = c.input(i);
    if (!t) return std::nullopt;
    const Tensor& s = *t;
    if (s.shape() != Shape{D, N, H}) c.fail(std::string(what) + " has shape " + shape_to_string(t->shape()) + ", which does not match [directions, batch, hidden]");
    return s;
  };
  const std::optional<Tensor> h0 = state_in(5, "initial_h");
  const std::optional<Tensor> c0 = cell == Cell::Lstm ? state_in(6, "initial_c") : std::nullopt;
  const Tensor* peep = cell == Cell::Lstm ? c.input(7) : nullptr;
  if (peep && peep->shape() != Shape{D, 3 * H}) c.fail("P has shape " + shape_to_string(peep->shape()) + ", expected " + shape_to_string({D, 3 * H}));

  Tensor y(DataType::Float, {T, D, N, H});
  Tensor yh(DataType::Float, {D, N, H}), yc(DataType::Float, {D, N, H});
  const int per = acts_per_dir(cell);
  const int64_t GH = G * H;
  std::vector<float> xw(static_cast<size_t>(T * N * GH)), gates(static_cast<size_t>(N * GH));
  std::vector<float> h(static_cast<size_t>(N * H)), cs(static_cast<size_t>(N * H)), rh(static_cast<size_t>(N * H));
  auto clip = [&](float v) { return a.clip ? std::max(-*a.clip, std::min(*a.clip, v)) : v; };
  for (int d = 0; d < D; ++d) {
    const bool rev = D == 2 ? d == 1 : a.reverse;
    const float* W = w.data<float>() + d * GH * I;
    const float* R = r.data<float>() + d * GH * H;
    const float* Wb = bias ? bias->data<float>() + d * 2 * GH : nullptr;
    const float* Rb = Wb ? Wb + GH : nullptr;
    const Act* act = a.acts.data() + d * per;
    // Input projections of every step: [T*N, I] x [GH, I]^T (+ Wb, and Rb except GRU's h gate
    // with linear_before_reset, where Rb sits inside the reset product).
    kernels::GemmParams gp;
    gp.trans_b = true;
    kernels::f32_gemm(static_cast<size_t>(T * N), static_cast<size_t>(GH), static_cast<size_t>(I), x.data<float>(),
                      static_cast<size_t>(I), W, static_cast<size_t>(I), xw.data(), static_cast<size_t>(GH), gp);
    if (Wb)
      for (int64_t row = 0; row < T * N; ++row)
        for (int64_t j = 0; j < GH; ++j) {
          const bool rb_inside = cell == Cell::Gru && j >= 2 * H;  // GRU h gate: Rb added with R
          xw[static_cast<size_t>(row * GH + j)] += Wb[j] + (rb_inside ? 0.0f : Rb[j]);
        }
    std::fill(h.begin(), h.end(), 0.0f);
    std::fill(cs.begin(), cs.end(), 0.0f);
    if (h0) std::copy(h0->data<float>() + d * N * H, h0->data<float>() + (d + 1) * N * H, h.begin());
    if (c0) std::copy(c0->data<float>() + d * N * H, c0->data<float>() + (d + 1) * N * H, cs.begin());
    const float* P = peep ? peep->data<float>() + d * 3 * H : nullptr;
    for (int64_t s = 0; s < T; ++s) {
      // gates = H_{t-1} * R^T for the recurrent part (GRU's h gate is handled below).
      const int64_t rcols = cell == Cell::Gru && !a.linear_before_reset ? 2 * H : GH;
      kernels::f32_gemm(static_cast<size_t>(N), static_cast<size_t>(rcols), static_cast<size_t>(H), h.data(),
                        static_cast<size_t>(H), R, static_cast<size_t>(H), gates.data(), static_cast<size_t>(GH), gp);
      for (int64_t n = 0; n < N; ++n) {
        const int64_t len = lens[static_cast<size_t>(n)];
        if (s >= len) continue;  // past this row's sequence: Y stays zero, the state is kept
        const int64_t t = rev ? len - 1 - s : s;
        const float* xg = xw.data() + (t * N + n) * GH;
        float* g = gates.data() + n * GH;
        float* hn = h.data() + n * H;
        float* cn = cs.data() + n * H;
        if (cell == Cell::Rnn) {
          for (int64_t j = 0; j < H; ++j) hn[j] = act[0](clip(xg[j] + g[j]));
        } else if (cell == Cell::Lstm) {
          // Gate order i, o, f, c; peepholes P = [Pi, Po, Pf].
          for (int64_t j = 0; j < H; ++j) {
            const float cprev = cn[j];
            const float gi = act[0](clip(xg[j] + g[j] + (P ? P[j] * cprev : 0.0f)));
            const float gf = act[0](clip(xg[2 * H + j] + g[2 * H + j] + (P ? P[2 * H + j] * cprev : 0.0f)));
            const float gc = act[1](clip(xg[3 * H + j] + g[3 * H + j]));
            const float cnew = gf * cprev + gi * gc;
            const float go = act[0](clip(xg[H + j] + g[H + j] + (P ? P[H + j] * cnew : 0.0f)));
            cn[j] = cnew;
            hn[j] = go * act[2](cnew);
          }
        } else {
          // Gate order z, r, h.
          std::vector<float> zr(static_cast<size_t>(2 * H));
          for (int64_t j = 0; j < 2 * H; ++j) zr[static_cast<size_t>(j)] = act[0](clip(xg[j] + g[j]));
          const float* Rh = R + 2 * H * H;
          float* rhn = rh.data() + n * H;
          for (int64_t j = 0; j < H; ++j) {
            float hh;
            if (a.linear_before_reset) {
              hh = xg[2 * H + j] + zr[static_cast<size_t>(H + j)] * (g[2 * H + j] + (Rb ? Rb[2 * H + j] : 0.0f));
            } else {
              // (r . H_{t-1}) * Rh^T + Rbh
              double acc = Rb ? Rb[2 * H + j] : 0.0f;
              for (int64_t k = 0; k < H; ++k) acc += static_cast<double>(zr[static_cast<size_t>(H + k)] * hn[k]) * Rh[j * H + k];
              hh = xg[2 * H + j] + static_cast<float>(acc);
            }
            rhn[j] = act[1](clip(hh));
          }
          for (int64_t j = 0; j < H; ++j) {
            const float z = zr[static_cast<size_t>(j)];
            hn[j] = (1.0f - z) * rhn[j] + z * hn[j];
          }
        }
        std::copy(hn, hn + H, y.data<float>() + ((t * D + d) * N + n) * H);
      }
    }
    std::copy(h.begin(), h.end(), yh.data<float>() + d * N * H);
    std::copy(cs.begin(), cs.end(), yc.data<float>() + d * N * H);
  }
  c.set(0, y);
  if (c.num_outputs() > 1) c.set(1, yh);
  if (c.num_outputs() > 2) c.set(2, yc);
}

}  // namespace

void register_rnn(OpRegistry& reg) {
  for (Cell cell : {Cell::Rnn, Cell::Gru, Cell::Lstm}) {
    OpDef d;
    d.op_type = cell == Cell::Rnn ? "RNN" : (cell == Cell::Gru ? "GRU" : "LSTM");
    d.since = 7;
    d.min_inputs = 3;
    d.max_inputs = cell == Cell::Lstm ? 8 : 6;
    d.min_outputs = 0;
    d.max_outputs = cell == Cell::Lstm ? 3 : 2;
    d.parse = typed_parse<RnnAttrs>([cell](const ParseContext& p) { return parse_rnn(p, cell); });
    d.infer = typed_infer<RnnAttrs>(infer_rnn);
    d.run = typed_run<RnnAttrs>(run_rnn);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
