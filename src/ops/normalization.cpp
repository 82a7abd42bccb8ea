// Normalisation and softmax: BatchNormalization, LayerNormalization, InstanceNormalization, LRN,
// Softmax, LogSoftmax. All keep the input's shape; extra outputs (running statistics, mean,
// inverse std-dev) get their own shapes.
#include "core/error.h"
#include <cmath>
#include <limits>

#include "kernels/normalize.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct NormAttrs : OpAttrs {
  float epsilon = 1e-5f;
  float momentum = 0.9f;
  bool training_mode = false;  ///< BatchNormalization: outputs batch statistics
  int64_t axis = -1;           ///< LayerNormalization
  float alpha = 1e-4f, beta = 0.75f, bias = 1.0f;  ///< LRN
  int64_t size = 1;                                ///< LRN
};

std::vector<TensorInfo> infer_batch_norm(const NormAttrs&, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  Dim ch = x.has_rank() && x.rank() >= 2 ? (*x.shape)[1] : Dim();
  if (x.has_rank() && x.rank() < 2) ch = x.rank() == 1 ? (*x.shape)[0] : Dim(1);
  for (size_t i = 1; i < 5 && i < c.num_inputs(); ++i) {
    const TensorInfo* p = c.input(i);
    if (!p || !p->has_rank()) continue;
    if (c.opset() >= 9 || p->rank() == 1) {
      if (p->rank() != 1 || (ch.known() && (*p->shape)[0].known() && !(*p->shape)[0].same(ch)))
        c.fail("input " + std::to_string(i) + " shape " + p->shape_string() + " does not match " +
               ch.to_string() + " channels");
    }
  }
  std::vector<TensorInfo> out;
  out.emplace_back(x.dtype, x.shape);
  for (size_t i = 1; i < c.num_outputs(); ++i) {
    const DataType t = c.in(i < 3 ? 1 : 3).dtype != DataType::Undefined ? c.in(i < 3 ? 1 : 3).dtype : x.dtype;
    out.push_back(make_info(t, Dims{ch}));
  }
  return out;
}

std::vector<TensorInfo> infer_layer_norm(const NormAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  std::vector<TensorInfo> out;
  out.emplace_back(x.dtype, x.shape);
  if (c.num_outputs() > 1) {
    TensorInfo stat(DataType::Float, std::nullopt);
    if (x.has_rank()) {
      const int64_t axis = axis_or_fail(c, a.axis, static_cast<int64_t>(x.rank()));
      Dims s = *x.shape;
      for (size_t i = static_cast<size_t>(axis); i < s.size(); ++i) s[i] = 1;
      stat.shape = s;
    }
    for (size_t i = 1; i < c.num_outputs(); ++i) out.push_back(stat);
  } else if (x.has_rank()) {
    axis_or_fail(c, a.axis, static_cast<int64_t>(x.rank()));
  }
  return out;
}

struct SoftmaxAttrs : OpAttrs {
  int64_t axis = -1;
  bool log = false;  ///< LogSoftmax
};

std::vector<TensorInfo> infer_softmax(const SoftmaxAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (x.has_rank() && x.rank() > 0) axis_or_fail(c, a.axis, static_cast<int64_t>(x.rank()));
  return same_as_input(c);
}

// ---------------------------------------------------------------------------------------------
// Execution (float32; statistics accumulated in double so the order of summation matters less).

void run_batch_norm(const NormAttrs& a, RunContext& c) {
  if (a.training_mode) c.unsupported("training-mode BatchNormalization is not supported (inference only)");
  const Tensor& x = c.in(0);
  detail::require_float(c, x, "input X");
  const int64_t N = x.rank() >= 1 ? x.shape()[0] : 1;
  const int64_t C = x.rank() >= 2 ? x.shape()[1] : 1;
  const int64_t inner = (N != 0 && C != 0) ? x.numel() / N / C : 0;  // N * C may overflow when a later dimension is 0
  std::vector<std::vector<double>> p(4);
  for (size_t i = 0; i < 4; ++i) p[i] = detail::numbers_of(c, c.in(i + 1), "parameter");
  // Per channel, or (opset < 9, spatial = 0) per element of C x spatial.
  const int64_t per = static_cast<int64_t>(p[0].size());
  if (per != C && per != C * inner) c.fail("parameters hold " + std::to_string(per) + " values for " + std::to_string(C) + " channels");
  for (size_t i = 1; i < 4; ++i)
    if (static_cast<int64_t>(p[i].size()) != per) c.fail("parameters have different sizes");
  std::vector<float> mul(static_cast<size_t>(per)), add(static_cast<size_t>(per));
  for (int64_t j = 0; j < per; ++j) {
    const size_t u = static_cast<size_t>(j);
    const float s = static_cast<float>(p[0][u] / std::sqrt(p[3][u] + static_cast<double>(a.epsilon)));
    mul[u] = s;
    add[u] = static_cast<float>(p[1][u] - p[2][u] * s);
  }
  Tensor& y = c.alloc(0, DataType::Float, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  detail::parallel_items(c, N * C, inner, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; ++i) {
      const int64_t ch = i % C;
      const float* xi = px + i * inner;
      float* yi = py + i * inner;
      if (per == C) {
        const float m = mul[static_cast<size_t>(ch)], d = add[static_cast<size_t>(ch)];
        for (int64_t j = 0; j < inner; ++j) yi[j] = xi[j] * m + d;
      } else {
        const float* m = mul.data() + ch * inner;
        const float* d = add.data() + ch * inner;
        for (int64_t j = 0; j < inner; ++j) yi[j] = xi[j] * m[j] + d[j];
      }
    }
  });
}

/// Looks up a parameter (scale/bias of LayerNormalization) broadcast over `n` trailing values.
const float* param_block(RunContext& c, const Tensor* t, int64_t n, const char* what) {
  if (!t) return nullptr;
  detail::require_float(c, *t, what);
  if (t->numel() != n && t->numel() != 1)
    c.fail(std::string(what) + " shape " + shape_to_string(t->shape()) + " does not match the normalized size " + std::to_string(n));
  return t->data<float>();
}

void run_layer_norm(const NormAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  detail::require_float(c, x, "input X");
  const int64_t axis = detail::norm_axis(c, a.axis, x.rank());
  int64_t outer = 1, n = 1;
  for (int64_t i = 0; i < x.rank(); ++i) (i < axis ? outer : n) *= x.shape()[static_cast<size_t>(i)];
  const float* scale = param_block(c, c.input(1), n, "scale");
  const float* bias = param_block(c, c.input(2), n, "bias");
  const bool scale1 = c.input(1) && c.input(1)->numel() == 1 && n != 1;
  const bool bias1 = c.input(2) && c.input(2)->numel() == 1 && n != 1;
  Tensor& y = c.alloc(0, DataType::Float, x.shape());
  Shape ss = x.shape();
  for (size_t i = static_cast<size_t>(axis); i < ss.size(); ++i) ss[i] = 1;
  float* pm = c.num_outputs() > 1 ? c.alloc(1, DataType::Float, ss).data<float>() : nullptr;
  float* pi = c.num_outputs() > 2 ? c.alloc(2, DataType::Float, ss).data<float>() : nullptr;
  const float* px = x.data<float>();
  float* py = y.data<float>();
  if (!scale1 && !bias1) {
    // Per-element (or absent) scale and bias: the vectorised row kernel.
    kernels::LayerNormParams lp;
    lp.epsilon = a.epsilon;
    lp.scale = scale;
    lp.bias = bias;
    detail::parallel_items(c, outer, n * 4, [&](int64_t b0, int64_t b1) {
      for (int64_t r = b0; r < b1; ++r)
        kernels::f32_layer_norm(px + r * n, py + r * n, static_cast<size_t>(n), lp, pm ? pm + r : nullptr,
                                pi ? pi + r : nullptr);
    });
    return;
  }
  detail::parallel_items(c, outer, n * 4, [&](int64_t b0, int64_t b1) {
    for (int64_t r = b0; r < b1; ++r) {
      const float* xr = px + r * n;
      float* yr = py + r * n;
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += xr[j];
      const double mean = s / static_cast<double>(n);
      double v = 0;
      for (int64_t j = 0; j < n; ++j) v += (xr[j] - mean) * (xr[j] - mean);
      const double inv = 1.0 / std::sqrt(v / static_cast<double>(n) + a.epsilon);
      const float fm = static_cast<float>(mean), fi = static_cast<float>(inv);
      for (int64_t j = 0; j < n; ++j) {
        float t = (xr[j] - fm) * fi;
        if (scale) t *= scale[scale1 ? 0 : j];
        if (bias) t += bias[bias1 ? 0 : j];
        yr[j] = t;
      }
      if (pm) pm[r] = fm;
      if (pi) pi[r] = fi;
    }
  });
}

void run_instance_norm(const NormAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  detail::require_float(c, x, "input X");
  if (x.rank() < 3) c.fail("input must have rank >= 3");
  const int64_t N = x.shape()[0], C = x.shape()[1], n = x.numel() / std::max<int64_t>(1, N * C);
  const Tensor &sc = c.in(1), &bi = c.in(2);
  if (sc.numel() != C || bi.numel() != C) c.fail("scale and B must hold " + std::to_string(C) + " values");
  detail::require_float(c, sc, "scale");
  detail::require_float(c, bi, "B");
  Tensor& y = c.alloc(0, DataType::Float, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  detail::parallel_items(c, N * C, n * 4, [&](int64_t b0, int64_t b1) {
    for (int64_t r = b0; r < b1; ++r) {
      kernels::f32_instance_norm(px + r * n, py + r * n, static_cast<size_t>(n), sc.data<float>()[r % C],
                                 bi.data<float>()[r % C], a.epsilon);
    }
  });
}

void run_lrn(const NormAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  detail::require_float(c, x, "input X");
  if (x.rank() < 2) c.fail("input must have rank >= 2");
  const int64_t N = x.shape()[0], C = x.shape()[1], n = x.numel() / std::max<int64_t>(1, N * C);
  Tensor& y = c.alloc(0, DataType::Float, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  const int64_t lo = (a.size - 1) / 2, hi = a.size - 1 - lo;
  for (int64_t b = 0; b < N; ++b)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t k = std::max<int64_t>(0, ch - lo); k <= std::min(C - 1, ch + hi); ++k) {
          const float v = px[(b * C + k) * n + j];
          s += static_cast<double>(v) * v;
        }
        const int64_t i = (b * C + ch) * n + j;
        py[i] = static_cast<float>(px[i] / std::pow(a.bias + a.alpha / static_cast<double>(a.size) * s, static_cast<double>(a.beta)));
      }
}

void run_softmax(const SoftmaxAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  detail::require_float(c, x, "input");
  const bool log = a.log;
  Tensor& y = c.alloc(0, DataType::Float, x.shape());
  if (x.numel() == 0) return;
  const int64_t r = std::max<int64_t>(1, x.rank());
  const int64_t axis = x.rank() == 0 ? 0 : detail::norm_axis(c, a.axis, r);
  int64_t outer = 1, d = 1, inner = 1;
  for (int64_t i = 0; i < x.rank(); ++i) {
    const int64_t s = x.shape()[static_cast<size_t>(i)];
    if (i < axis) outer *= s;
    else if (i == axis || c.opset() < 13) d *= s;
    else inner *= s;
  }
  const float* px = x.data<float>();
  float* py = y.data<float>();
  if (inner == 1) {
    // Contiguous rows: the vectorised row kernels, rows spread over the threads.
    detail::parallel_items(c, outer, d * 8, [&](int64_t b0, int64_t b1) {
      for (int64_t o = b0; o < b1; ++o) {
        if (log) kernels::f32_log_softmax(px + o * d, py + o * d, static_cast<size_t>(d));
        else kernels::f32_softmax(px + o * d, py + o * d, static_cast<size_t>(d));
      }
    });
    return;
  }
  // Softmax over a non-innermost axis: each outer block is a [d, inner] matrix normalised
  // column-wise, vectorised along the inner axis.
  detail::parallel_items(c, outer, d * inner * 8, [&](int64_t b0, int64_t b1) {
    for (int64_t o = b0; o < b1; ++o) {
      const float* xb = px + o * d * inner;
      float* yb = py + o * d * inner;
      if (log) kernels::f32_log_softmax_columns(xb, yb, static_cast<size_t>(d), static_cast<size_t>(inner));
      else kernels::f32_softmax_columns(xb, yb, static_cast<size_t>(d), static_cast<size_t>(inner));
    }
  });
}

}  // namespace

void register_normalization(OpRegistry& reg) {
  {
    OpDef d;
    d.op_type = "BatchNormalization";
    d.min_inputs = d.max_inputs = 5;
    d.max_outputs = 5;
    d.parse = typed_parse<NormAttrs>([](const ParseContext& p) {
      NormAttrs a;
      a.epsilon = p.get_float("epsilon", 1e-5f);
      a.momentum = p.get_float("momentum", 0.9f);
      a.training_mode = p.opset() >= 14 ? p.get_int("training_mode", 0) != 0
                                        : p.node().output.size() > 1;
      return a;
    });
    d.infer = typed_infer<NormAttrs>(infer_batch_norm);
    d.run = typed_run<NormAttrs>(run_batch_norm);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "LayerNormalization";
    d.since = 17;
    d.min_inputs = 2;
    d.max_inputs = 3;
    d.max_outputs = 3;
    d.parse = typed_parse<NormAttrs>([](const ParseContext& p) {
      NormAttrs a;
      a.epsilon = p.get_float("epsilon", 1e-5f);
      a.axis = p.get_int("axis", -1);
      return a;
    });
    d.infer = typed_infer<NormAttrs>(infer_layer_norm);
    d.run = typed_run<NormAttrs>(run_layer_norm);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "InstanceNormalization";
    d.min_inputs = d.max_inputs = 3;
    d.parse = typed_parse<NormAttrs>([](const ParseContext& p) {
      NormAttrs a;
      a.epsilon = p.get_float("epsilon", 1e-5f);
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<NormAttrs>(run_instance_norm);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "LRN";
    d.parse = typed_parse<NormAttrs>([](const ParseContext& p) {
      const int64_t size = p.require_int("size");
      if (size < 1) p.fail_attr("size", "expected a value >= 1, got " + std::to_string(size));
      NormAttrs a;
      a.size = size;
      a.alpha = p.get_float("alpha", 1e-4f);
      a.beta = p.get_float("beta", 0.75f);
      a.bias = p.get_float("bias", 1.0f);
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<NormAttrs>(run_lrn);
    reg.add(std::move(d));
  }
  for (bool log : {false, true}) {
    // Before opset 13 the input is coerced to 2-D at `axis` (default 1); from 13, one axis (-1).
    OpDef d;
    d.op_type = log ? "LogSoftmax" : "Softmax";
    d.parse = typed_parse<SoftmaxAttrs>([log](const ParseContext& p) {
      SoftmaxAttrs a;
      a.log = log;
      a.axis = p.get_int("axis", p.opset() >= 13 ? -1 : 1);
      return a;
    });
    d.infer = typed_infer<SoftmaxAttrs>(infer_softmax);
    d.run = typed_run<SoftmaxAttrs>(run_softmax);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
