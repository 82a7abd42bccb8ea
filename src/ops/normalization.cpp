// Normalisation and softmax: BatchNormalization, LayerNormalization, InstanceNormalization, LRN,
// Softmax, LogSoftmax. All keep the input's shape; extra outputs (running statistics, mean,
// inverse std-dev) get their own shapes.
#include "core/error.h"
#include "ops/op_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct NormAttrs : OpAttrs {
  float epsilon = 1e-5f;
  float momentum = 0.9f;
  bool training_mode = false;  ///< BatchNormalization: outputs batch statistics
  int64_t axis = -1;           ///< LayerNormalization
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
};

std::vector<TensorInfo> infer_softmax(const SoftmaxAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  if (x.has_rank() && x.rank() > 0) axis_or_fail(c, a.axis, static_cast<int64_t>(x.rank()));
  return same_as_input(c);
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
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "LRN";
    d.parse = typed_parse<NormAttrs>([](const ParseContext& p) {
      const int64_t size = p.require_int("size");
      if (size < 1) p.fail_attr("size", "expected a value >= 1, got " + std::to_string(size));
      return NormAttrs();
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    reg.add(std::move(d));
  }
  for (const char* name : {"Softmax", "LogSoftmax"}) {
    // Before opset 13 the input is coerced to 2-D at `axis` (default 1); from 13, one axis (-1).
    OpDef d;
    d.op_type = name;
    d.parse = typed_parse<SoftmaxAttrs>([](const ParseContext& p) {
      SoftmaxAttrs a;
      a.axis = p.get_int("axis", p.opset() >= 13 ? -1 : 1);
      return a;
    });
    d.infer = typed_infer<SoftmaxAttrs>(infer_softmax);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
