// Reductions: ReduceMean/Sum/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare (axes an attribute
// until opset 12 for ReduceSum and 17 for the others, an input after), ArgMax, ArgMin.
#include <set>

#include "core/error.h"
#include "ops/op_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct ReduceAttrs : OpAttrs {
  std::vector<int64_t> axes;   ///< attribute form (older opsets)
  bool keepdims = true;
  bool noop_with_empty_axes = false;
  bool axes_from_input = false;
  bool arg = false;            ///< ArgMax/ArgMin: single `axis`, int64 output
  bool select_last_index = false;
};

std::vector<TensorInfo> infer_reduce(const ReduceAttrs& a, const InferContext& c) {
  const TensorInfo& x = c.in(0);
  const DataType dtype = a.arg ? DataType::Int64 : x.dtype;
  if (!x.has_rank()) return one(unknown_info(dtype));
  const int64_t r = static_cast<int64_t>(x.rank());
  std::vector<int64_t> axes = a.axes;
  if (a.axes_from_input && c.input(1)) {
    auto v = known_ints(c.input(1));
    if (!v) {
      // Axes computed at run time: the rank is known only if dims are kept.
      if (!a.keepdims) return one(unknown_info(dtype));
      return one(make_info(dtype, Dims(static_cast<size_t>(r))));
    }
    axes = *v;
  }
  if (axes.empty()) {
    if (a.noop_with_empty_axes) return same_as_input(c);
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  std::set<int64_t> reduced;
  for (int64_t ax : axes) reduced.insert(axis_or_fail(c, ax, r, "reduction axis"));
  Dims out;
  for (int64_t i = 0; i < r; ++i) {
    if (!reduced.count(i)) out.push_back((*x.shape)[static_cast<size_t>(i)]);
    else if (a.keepdims) out.push_back(1);
  }
  return one(make_info(dtype, std::move(out)));
}

void add_reduce(OpRegistry& reg, const char* name, int input_since) {
  OpDef d;
  d.op_type = name;
  d.until = input_since - 1;
  d.parse = typed_parse<ReduceAttrs>([](const ParseContext& p) {
    ReduceAttrs a;
    a.axes = p.get_ints("axes");
    a.keepdims = p.get_int("keepdims", 1) != 0;
    return a;
  });
  d.infer = typed_infer<ReduceAttrs>(infer_reduce);
  reg.add(d);
  d.since = input_since;
  d.until = kLatestOpset;
  d.max_inputs = 2;
  d.parse = typed_parse<ReduceAttrs>([](const ParseContext& p) {
    ReduceAttrs a;
    a.axes_from_input = true;
    a.keepdims = p.get_int("keepdims", 1) != 0;
    a.noop_with_empty_axes = p.get_int("noop_with_empty_axes", 0) != 0;
    return a;
  });
  reg.add(std::move(d));
}

}  // namespace

void register_reduce(OpRegistry& reg) {
  add_reduce(reg, "ReduceSum", 13);
  for (const char* name : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    add_reduce(reg, name, 18);
  for (const char* name : {"ArgMax", "ArgMin"}) {
    OpDef d;
    d.op_type = name;
    d.parse = typed_parse<ReduceAttrs>([](const ParseContext& p) {
      ReduceAttrs a;
      a.arg = true;
      a.axes = {p.get_int("axis", 0)};
      a.keepdims = p.get_int("keepdims", 1) != 0;
      a.select_last_index = p.get_int("select_last_index", 0) != 0;
      return a;
    });
    d.infer = typed_infer<ReduceAttrs>(infer_reduce);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
