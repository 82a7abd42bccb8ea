// Einsum (float and double): contracts operands pairwise, each pair as a batched GEMM (batch, free
// and contracted letters are grouped by transposition); letters repeated within one operand
// (diagonals) and size-1 broadcasting of "..." dims are rejected with an error naming the equation.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "kernels/gemm.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

/// A parsed equation: each operand's letters (ellipsis expanded at run time), and the output.
struct Equation {
  std::vector<std::string> inputs;  ///< may contain "." runs for "..."
  std::string output;
  bool explicit_output = false;
};

struct EinsumAttrs : OpAttrs {
  std::string equation;  ///< as written, for messages
  Equation parsed;       ///< parsed once when the node is loaded
};

// ---------------------------------------------------------------------------------------------
// Einsum

[[noreturn]] void eq_fail(const RunContext& c, const std::string& eq, const std::string& why) {
  c.unsupported("Einsum equation '" + eq + "': " + why);
}

Equation parse_equation(const std::string& eq_raw, const std::function<void(const std::string&)>& fail) {
  std::string eq;
  for (char ch : eq_raw)
    if (ch != ' ') eq += ch;
  Equation e;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  if (arrow != std::string::npos) {
    e.explicit_output = true;
    e.output = eq.substr(arrow + 2);
  }
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    e.inputs.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto check = [&](const std::string& s) {
    for (size_t i = 0; i < s.size(); ++i) {
      const char ch = s[i];
      if (ch == '.') continue;
      if (!std::isalpha(static_cast<unsigned char>(ch))) fail("unexpected character '" + std::string(1, ch) + "'");
    }
    const size_t dots = static_cast<size_t>(std::count(s.begin(), s.end(), '.'));
    if (dots != 0 && (dots != 3 || s.find("...") == std::string::npos)) fail("'.' only as one '...'");
  };
  for (const std::string& s : e.inputs) check(s);
  check(e.output);
  return e;
}

/// One operand during contraction: a tensor and one letter per dimension.
struct Term {
  Tensor t;
  std::string letters;
};

/// Permutes `x` so its dims follow `want` (a permutation of x.letters).
template <class T>
Term permute(const Term& x, const std::string& want) {
  if (x.letters == want) return x;
  const size_t r = want.size();
  std::vector<size_t> perm(r);
  for (size_t i = 0; i < r; ++i) perm[i] = x.letters.find(want[i]);
  const std::vector<int64_t> st = strides_of(x.t.shape());
  Shape os(r);
  std::vector<int64_t> ist(r);
  for (size_t i = 0; i < r; ++i) {
    os[i] = x.t.shape()[perm[i]];
    ist[i] = st[perm[i]];
  }
  Term y{Tensor(x.t.dtype(), os), want};
  const T* px = x.t.data<T>();
  T* py = y.t.data<T>();
  const int64_t n = shape_numel(os);
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t j = 0; j < n; ++j) {
    py[j] = px[off];
    for (size_t d = r; d-- > 0;) {
      off += ist[d];
      if (++idx[d] < os[d]) break;
      off -= ist[d] * idx[d];
      idx[d] = 0;
    }
  }
  return y;
}

/// Sums x over the letters not in `keep` (order of the rest preserved).
template <class T>
Term sum_out(const Term& x, const std::string& keep) {
  std::string kept, dropped;
  for (char ch : x.letters) (keep.find(ch) != std::string::npos ? kept : dropped) += ch;
  if (dropped.empty()) return x;
  Term p = permute<T>(x, kept + dropped);
  int64_t n_keep = 1, n_drop = 1;
  Shape os;
  for (size_t i = 0; i < kept.size(); ++i) {
    os.push_back(p.t.shape()[i]);
    n_keep *= p.t.shape()[i];
  }
  for (size_t i = kept.size(); i < p.letters.size(); ++i) n_drop *= p.t.shape()[i];
  Term y{Tensor(x.t.dtype(), os), kept};
  const T* px = p.t.data<T>();
  T* py = y.t.data<T>();
  for (int64_t i = 0; i < n_keep; ++i) {
    double s = 0;
    for (int64_t j = 0; j < n_drop; ++j) s += px[i * n_drop + j];
    py[i] = static_cast<T>(s);
  }
  return y;
}

/// Contracts a and b, keeping the letters of `keep` that they hold: a batched GEMM over
/// [batch][M x K] * [batch][K x N] after transposition.
template <class T>
Term contract(RunContext& c, const Term& a0, const Term& b0, const std::string& keep) {
  // Letters only in one operand and not kept are summed out first.
  auto keep_for = [&](const Term& x, const Term& other) {
    std::string k;
    for (char ch : x.letters)
      if (keep.find(ch) != std::string::npos || other.letters.find(ch) != std::string::npos) k += ch;
    return k;
  };
  Term a = sum_out<T>(a0, keep_for(a0, b0)), b = sum_out<T>(b0, keep_for(b0, a0));
  std::string batch, m, n, k;
  for (char ch : a.letters) {
    const bool in_b = b.letters.find(ch) != std::string::npos, kept = keep.find(ch) != std::string::npos;
    if (in_b && kept) batch += ch;
    else if (in_b) k += ch;
    else m += ch;
  }
  for (char ch : b.letters)
    if (a.letters.find(ch) == std::string::npos) n += ch;
  auto size_of = [&](const Term& x, char ch) { return x.t.shape()[x.letters.find(ch)]; };
  int64_t nb = 1, nm = 1, nn = 1, nk = 1;
  Shape os;
  for (char ch : batch) {
    if (size_of(a, ch) != size_of(b, ch))
      c.fail(std::string("letter '") + ch + "' has sizes " + std::to_string(size_of(a, ch)) + " and " + std::to_string(size_of(b, ch)));
    nb *= size_of(a, ch);
    os.push_back(size_of(a, ch));
  }
  for (char ch : k) {
    if (size_of(a, ch) != size_of(b, ch))
      c.fail(std::string("letter '") + ch + "' has sizes " + std::to_string(size_of(a, ch)) + " and " + std::to_string(size_of(b, ch)));
    nk *= size_of(a, ch);
  }
  for (char ch : m) {
    nm *= size_of(a, ch);
    os.push_back(size_of(a, ch));
  }
  for (char ch : n) {
    nn *= size_of(b, ch);
    os.push_back(size_of(b, ch));
  }
  const Term pa = permute<T>(a, batch + m + k), pb = permute<T>(b, batch + k + n);
  Term y{Tensor(a.t.dtype(), os), batch + m + n};
  const T* xa = pa.t.data<T>();
  const T* xb = pb.t.data<T>();
  T* py = y.t.data<T>();
  parallel_items(c, nb, nm * nn * std::max<int64_t>(nk, 1), [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      if constexpr (std::is_same_v<T, float>) {
        kernels::f32_gemm(static_cast<size_t>(nm), static_cast<size_t>(nn), static_cast<size_t>(nk), xa + i * nm * nk,
                          static_cast<size_t>(nk), xb + i * nk * nn, static_cast<size_t>(nn), py + i * nm * nn,
                          static_cast<size_t>(nn), kernels::GemmParams{});
      } else {
        for (int64_t r = 0; r < nm; ++r)
          for (int64_t q = 0; q < nn; ++q) {
            T acc = 0;
            for (int64_t t = 0; t < nk; ++t) acc += xa[(i * nm + r) * nk + t] * xb[(i * nk + t) * nn + q];
            py[(i * nm + r) * nn + q] = acc;
          }
      }
    }
  });
  return y;
}

void run_einsum(const EinsumAttrs& at, RunContext& c) {
  const std::string& eq = at.equation;
  Equation e = at.parsed;
  if (e.inputs.size() != c.num_inputs())
    c.fail("equation '" + eq + "' names " + std::to_string(e.inputs.size()) + " operands, the node has " + std::to_string(c.num_inputs()));
  // "..." becomes private dimension names outside [A-Za-z] ('0', '1', ...), aligned from the
  // right across operands as numpy aligns broadcast dims.
  size_t ell_rank = 0;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    const Tensor& x = c.in(i);
    if (x.dtype() != DataType::Float && x.dtype() != DataType::Double)
      c.unsupported("Einsum on " + std::string(dtype_name(x.dtype())) + " tensors (float and double only)");
    if (x.dtype() != c.in(0).dtype()) c.fail("operands differ in element type");
    const std::string& s = e.inputs[i];
    const bool has_ell = s.find("...") != std::string::npos;
    const size_t named = s.size() - (has_ell ? 3 : 0);
    if ((!has_ell && named != static_cast<size_t>(x.rank())) || named > static_cast<size_t>(x.rank()))
      c.fail("operand " + std::to_string(i) + " '" + s + "' does not match its shape " + shape_to_string(x.shape()));
    if (has_ell) ell_rank = std::max(ell_rank, static_cast<size_t>(x.rank()) - named);
  }
  std::vector<Term> terms;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    const Tensor& x = c.in(i);
    std::string s = e.inputs[i];
    const size_t dots = s.find("...");
    if (dots != std::string::npos) {
      const size_t er = static_cast<size_t>(x.rank()) - (s.size() - 3);
      std::string ell;
      for (size_t j = 0; j < er; ++j) ell += static_cast<char>('0' + (ell_rank - er) + j);
      s = s.substr(0, dots) + ell + s.substr(dots + 3);
    }
    for (size_t j = 0; j < s.size(); ++j)
      if (s.find(s[j], j + 1) != std::string::npos)
        eq_fail(c, eq, std::string("letter '") + s[j] + "' repeats within operand " + std::to_string(i) + " (diagonals are not supported)");
    terms.push_back(Term{x, s});
  }
  // Ellipsis dims must agree in size across operands (size-1 broadcasting is not supported).
  std::map<char, int64_t> sizes;
  for (const Term& t : terms)
    for (size_t j = 0; j < t.letters.size(); ++j) {
      auto [it, fresh] = sizes.emplace(t.letters[j], t.t.shape()[j]);
      if (!fresh && it->second != t.t.shape()[j])
        eq_fail(c, eq, std::string("dimension '") + (std::isalpha(static_cast<unsigned char>(t.letters[j])) ? std::string(1, t.letters[j]) : "...") +
                           "' has sizes " + std::to_string(it->second) + " and " + std::to_string(t.t.shape()[j]) + " (broadcasting is not supported)");
    }
  std::string ell_letters;
  for (size_t j = 0; j < ell_rank; ++j) ell_letters += static_cast<char>('0' + j);
  std::string out;
  if (e.explicit_output) {
    const size_t dots = e.output.find("...");
    out = dots == std::string::npos ? e.output : e.output.substr(0, dots) + ell_letters + e.output.substr(dots + 3);
    for (char ch : out)
      if (!sizes.count(ch)) eq_fail(c, eq, std::string("output letter '") + ch + "' is in no operand");
    for (size_t j = 0; j < out.size(); ++j)
      if (out.find(out[j], j + 1) != std::string::npos) eq_fail(c, eq, "output letters repeat");
  } else {
    // Implicit output: the ellipsis dims, then the letters seen once, in alphabetical order.
    std::map<char, int> count;
    for (const Term& t : terms)
      for (char ch : t.letters)
        if (std::isalpha(static_cast<unsigned char>(ch))) ++count[ch];
    out = ell_letters;
    for (const auto& kv : count)
      if (kv.second == 1) out += kv.first;
  }
  // Contract left to right, keeping what later operands or the output need.
  auto go = [&](auto tag) {
    using T = decltype(tag);
    Term acc = terms[0];
    for (size_t i = 1; i < terms.size(); ++i) {
      std::string keep = out;
      for (size_t j = i + 1; j < terms.size(); ++j) keep += terms[j].letters;
      acc = contract<T>(c, acc, terms[i], keep);
    }
    acc = sum_out<T>(acc, out);
    acc = permute<T>(acc, out);
    c.set(0, acc.t);
  };
  if (terms[0].t.dtype() == DataType::Float) go(float{});
  else go(double{});
}

std::vector<TensorInfo> infer_einsum(const EinsumAttrs& at, const InferContext& c) {
  const DataType dt = c.in(0).dtype;
  const Equation& e = at.parsed;
  if (!e.explicit_output || e.output.find('.') != std::string::npos) return one(unknown_info(dt));
  // Explicit output without ellipsis: each output letter's size from the first operand having it.
  Dims out;
  for (char ch : e.output) {
    Dim d;
    for (size_t i = 0; i < e.inputs.size() && !d.known() && !d.is_symbol(); ++i) {
      const std::string& s = e.inputs[i];
      const TensorInfo& x = c.in(i);
      if (!x.has_rank() || s.find('.') != std::string::npos) continue;
      const size_t pos = s.find(ch);
      if (pos != std::string::npos && pos < x.rank()) d = (*x.shape)[pos];
    }
    out.push_back(d);
  }
  return one(make_info(dt, std::move(out)));
}

}  // namespace

void register_einsum(OpRegistry& reg) {
  {
    OpDef d;
    d.op_type = "Einsum";
    d.since = 12;
    d.max_inputs = kVariadic;
    d.parse = typed_parse<EinsumAttrs>([](const ParseContext& p) {
      EinsumAttrs a;
      a.equation = p.get_string("equation", "");
      if (a.equation.empty()) p.fail_attr("equation", "missing required attribute (expected a STRING)");
      a.parsed = parse_equation(a.equation, [&](const std::string& why) { p.fail_attr("equation", "'" + a.equation + "': " + why); });
      return a;
    });
    d.infer = typed_infer<EinsumAttrs>(infer_einsum);
    d.run = typed_run<EinsumAttrs>(run_einsum);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
