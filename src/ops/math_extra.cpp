// Math ops beyond the elementwise family's table: Mish, the rest of the trigonometric and
// hyperbolic functions (Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh), Shrink, IsNaN,
// IsInf, Hardmax, LpNormalization, GridSample (4-D) and Einsum.
// Einsum (float and double) contracts operands pairwise, each pair as a batched GEMM (batch, free
// and contracted letters are grouped by transposition); letters repeated within one operand
// (diagonals) and size-1 broadcasting of "..." dims are rejected with an error naming the equation.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <type_traits>

#include "core/error.h"
#include "kernels/gemm.h"
#include "ops/op_util.h"
#include "ops/run_util.h"

namespace qm::ops {
namespace {
using namespace detail;

struct MathAttrs : OpAttrs {
  int64_t axis = -1;
  bool legacy_2d = false;       ///< Hardmax < 13: coerced to 2-D at axis
  bool detect_negative = true;  ///< IsInf
  bool detect_positive = true;
  std::string equation;         ///< Einsum
  float lambd = 0.5f, bias = 0.0f;  ///< Shrink
  int64_t p = 2;                ///< LpNormalization
  int gs_mode = 0;              ///< GridSample: 0 bilinear, 1 nearest, 2 bicubic
  int gs_padding = 0;           ///< GridSample: 0 zeros, 1 border, 2 reflection
  bool align_corners = false;   ///< GridSample
};

// ---------------------------------------------------------------------------------------------
// Mish, IsNaN, IsInf

void run_mish(RunContext& c) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input");
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  parallel_items(c, x.numel(), 8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double v = px[i];
      const double sp = v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
      py[i] = static_cast<float>(v * std::tanh(sp));
    }
  });
}

void run_isnan_isinf(const MathAttrs& a, RunContext& c, bool inf) {
  const Tensor& x = c.in(0);
  Tensor& y = c.alloc(0, DataType::Bool, x.shape());
  bool* py = y.data<bool>();
  auto go = [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const T v = px[i];
      py[i] = inf ? (std::isinf(v) && (v > 0 ? a.detect_positive : a.detect_negative)) : std::isnan(v);
    }
  };
  if (x.dtype() == DataType::Float) go(float{});
  else if (x.dtype() == DataType::Double) go(double{});
  else c.unsupported("input has element type " + std::string(dtype_name(x.dtype())) + " (expected float or double)");
}

// ---------------------------------------------------------------------------------------------
// Trigonometric/hyperbolic functions and Shrink (float and double, computed in double).

double apply_math(const std::string& op, double v, const MathAttrs& a) {
  if (op == "Tan") return std::tan(v);
  if (op == "Asin") return std::asin(v);
  if (op == "Acos") return std::acos(v);
  if (op == "Atan") return std::atan(v);
  if (op == "Sinh") return std::sinh(v);
  if (op == "Cosh") return std::cosh(v);
  if (op == "Asinh") return std::asinh(v);
  if (op == "Acosh") return std::acosh(v);
  if (op == "Atanh") return std::atanh(v);
  // Shrink
  if (v < -a.lambd) return v + a.bias;
  if (v > a.lambd) return v - a.bias;
  return 0.0;
}

void run_math_unary(const MathAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  const std::string& op = c.op_type();
  auto go = [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    parallel_items(c, x.numel(), 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) py[i] = static_cast<T>(apply_math(op, static_cast<double>(px[i]), a));
    });
  };
  if (x.dtype() == DataType::Float) go(float{});
  else if (x.dtype() == DataType::Double) go(double{});
  else c.unsupported("input has element type " + std::string(dtype_name(x.dtype())) + " (expected float or double)");
}

// ---------------------------------------------------------------------------------------------
// LpNormalization: x / ||x||_p along one axis (p = 1 or 2); a zero norm leaves zeros.

void run_lp_norm(const MathAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input");
  const int64_t r = x.rank();
  if (r == 0) c.fail("input must have rank >= 1");
  const int64_t ax = norm_axis(c, a.axis, r);
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  int64_t outer = 1, dim = x.shape()[static_cast<size_t>(ax)], inner = 1;
  for (int64_t i = 0; i < ax; ++i) outer *= x.shape()[static_cast<size_t>(i)];
  for (int64_t i = ax + 1; i < r; ++i) inner *= x.shape()[static_cast<size_t>(i)];
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* p = px + o * dim * inner + i;
      double n = 0;
      for (int64_t j = 0; j < dim; ++j) n += a.p == 1 ? std::fabs(p[j * inner]) : static_cast<double>(p[j * inner]) * p[j * inner];
      if (a.p == 2) n = std::sqrt(n);
      for (int64_t j = 0; j < dim; ++j) py[(o * dim + j) * inner + i] = n == 0 ? 0.0f : static_cast<float>(p[j * inner] / n);
    }
}

// ---------------------------------------------------------------------------------------------
// GridSample (4-D): Y[n, c, i, j] samples X[n, c] at grid[n, i, j] = (x, y) in [-1, 1].

/// Folds v into [lo, hi] by reflecting at the borders (repeatedly for far-away values).
float reflect_into(float v, float lo, float hi) {
  const float range = hi - lo;
  if (range <= 0) return lo;
  if (v < lo) {
    const float d = lo - v;
    const int k = static_cast<int>(d / range);
    const float rem = d - static_cast<float>(k) * range;
    return k % 2 == 0 ? lo + rem : hi - rem;
  }
  if (v > hi) {
    const float d = v - hi;
    const int k = static_cast<int>(d / range);
    const float rem = d - static_cast<float>(k) * range;
    return k % 2 == 0 ? hi - rem : lo + rem;
  }
  return v;
}

/// Keys cubic convolution weights (A = -0.75) of the 4 taps around a fractional offset t.
void cubic_weights(float t, float w[4]) {
  const float A = -0.75f;
  t = std::fabs(t);
  const float t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  w[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
  w[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
  w[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
  w[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

void run_grid_sample(const MathAttrs& a, RunContext& c) {
  const Tensor &x = c.in(0), &grid = c.in(1);
  require_float(c, x, "X");
  require_float(c, grid, "grid");
  if (x.rank() != 4) c.unsupported("GridSample on rank " + std::to_string(x.rank()) + " input (4-D only)");
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  if (grid.rank() != 4 || grid.shape()[0] != N || grid.shape()[3] != 2)
    c.fail("grid has shape " + shape_to_string(grid.shape()) + ", expected [" + std::to_string(N) + ", H_out, W_out, 2]");
  const int64_t Ho = grid.shape()[1], Wo = grid.shape()[2];
  Tensor& y = c.alloc(0, DataType::Float, {N, C, Ho, Wo});
  // Pixel-space bounds of the image: centres 0..W-1 with align_corners, edges -0.5..W-0.5 without.
  const float x_lo = a.align_corners ? 0.0f : -0.5f, y_lo = x_lo;
  const float x_hi = a.align_corners ? static_cast<float>(W - 1) : static_cast<float>(W) - 0.5f;
  const float y_hi = a.align_corners ? static_cast<float>(H - 1) : static_cast<float>(H) - 0.5f;
  const float* px = x.data<float>();
  const float* pg = grid.data<float>();
  float* py = y.data<float>();
  auto pixel = [&](const float* img, int64_t r, int64_t col) -> float {
    if (a.gs_padding == 0) return r >= 0 && r < H && col >= 0 && col < W ? img[r * W + col] : 0.0f;
    if (a.gs_padding == 1) {
      r = std::min(std::max<int64_t>(r, 0), H - 1);
      col = std::min(std::max<int64_t>(col, 0), W - 1);
    } else {
      col = static_cast<int64_t>(reflect_into(static_cast<float>(col), x_lo, x_hi));
      r = static_cast<int64_t>(reflect_into(static_cast<float>(r), y_lo, y_hi));
    }
    return img[r * W + col];
  };
  parallel_items(c, N * Ho * Wo, C * 16, [&](int64_t b, int64_t e) {
    for (int64_t idx = b; idx < e; ++idx) {
      const int64_t n = idx / (Ho * Wo), o = idx % (Ho * Wo);
      const float gx = pg[idx * 2], gy = pg[idx * 2 + 1];
      float fx = a.align_corners ? (gx + 1) / 2 * static_cast<float>(W - 1) : ((gx + 1) * static_cast<float>(W) - 1) / 2;
      float fy = a.align_corners ? (gy + 1) / 2 * static_cast<float>(H - 1) : ((gy + 1) * static_cast<float>(H) - 1) / 2;
      if (a.gs_mode == 1) {
        fx = std::nearbyint(fx);
        fy = std::nearbyint(fy);
      }
      // Padding applies to each tap read (pixel()), not to the sampling point, as ONNX Runtime does.
      for (int64_t ch = 0; ch < C; ++ch) {
        const float* img = px + (n * C + ch) * H * W;
        float v;
        if (a.gs_mode == 1) {
          v = pixel(img, static_cast<int64_t>(fy), static_cast<int64_t>(fx));
        } else if (a.gs_mode == 0) {
          const int64_t x1 = static_cast<int64_t>(std::floor(fx)), y1 = static_cast<int64_t>(std::floor(fy));
          const float dx1 = fx - static_cast<float>(x1), dx2 = static_cast<float>(x1 + 1) - fx;
          const float dy1 = fy - static_cast<float>(y1), dy2 = static_cast<float>(y1 + 1) - fy;
          v = dy2 * (dx2 * pixel(img, y1, x1) + dx1 * pixel(img, y1, x1 + 1)) +
              dy1 * (dx2 * pixel(img, y1 + 1, x1) + dx1 * pixel(img, y1 + 1, x1 + 1));
        } else {
          const int64_t x0 = static_cast<int64_t>(std::floor(fx)) - 1, y0 = static_cast<int64_t>(std::floor(fy)) - 1;
          float wx[4], wy[4], rows[4];
          cubic_weights(fx - static_cast<float>(x0 + 1), wx);
          cubic_weights(fy - static_cast<float>(y0 + 1), wy);
          for (int64_t i = 0; i < 4; ++i) {
            rows[i] = 0;
            for (int64_t j = 0; j < 4; ++j) rows[i] += wx[j] * pixel(img, y0 + i, x0 + j);
          }
          v = wy[0] * rows[0] + wy[1] * rows[1] + wy[2] * rows[2] + wy[3] * rows[3];
        }
        py[(n * C + ch) * Ho * Wo + o] = v;
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Hardmax: 1 at the first maximum along the axis, 0 elsewhere.

void run_hardmax(const MathAttrs& a, RunContext& c) {
  const Tensor& x = c.in(0);
  require_float(c, x, "input");
  const int64_t r = x.rank();
  if (r == 0) c.fail("input must have rank >= 1");
  const int64_t ax = norm_axis(c, a.axis, r);
  Tensor& y = c.alloc(0, x.dtype(), x.shape());
  int64_t outer = 1, dim = 1, inner = 1;
  for (int64_t i = 0; i < r; ++i) {
    const int64_t s = x.shape()[static_cast<size_t>(i)];
    if (i < ax) outer *= s;
    else if (i == ax || a.legacy_2d) dim *= s;
    else inner *= s;
  }
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* p = px + o * dim * inner + i;
      int64_t best = 0;
      for (int64_t j = 1; j < dim; ++j)
        if (p[j * inner] > p[best * inner]) best = j;
      if (dim > 0) py[(o * dim + best) * inner + i] = 1.0f;
    }
}

// ---------------------------------------------------------------------------------------------
// Einsum

/// A parsed equation: each operand's letters (ellipsis expanded at run time), and the output.
struct Equation {
  std::vector<std::string> inputs;  ///< may contain "." runs for "..."
  std::string output;
  bool explicit_output = false;
};

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

void run_einsum(const MathAttrs& at, RunContext& c) {
  const std::string& eq = at.equation;
  Equation e = parse_equation(eq, [&](const std::string& why) { eq_fail(c, eq, why); });
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

std::vector<TensorInfo> infer_einsum(const MathAttrs& at, const InferContext& c) {
  const DataType dt = c.in(0).dtype;
  const Equation e =
      parse_equation(at.equation, [&](const std::string& why) { c.fail("Einsum equation '" + at.equation + "': " + why); });
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

void register_math_extra(OpRegistry& reg) {
  const std::pair<const char*, int> kUnary[] = {{"Tan", 7},   {"Asin", 7},  {"Acos", 7},  {"Atan", 7},
                                                {"Sinh", 9},  {"Cosh", 9},  {"Asinh", 9}, {"Acosh", 9},
                                                {"Atanh", 9}, {"Shrink", 9}};
  for (const auto& [name, since] : kUnary) {
    OpDef d;
    d.op_type = name;
    d.since = since;
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      a.lambd = p.get_float("lambd", 0.5f);
      a.bias = p.get_float("bias", 0.0f);
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<MathAttrs>(run_math_unary);
    reg.add(std::move(d));
  }
  {
    // Opset 16: modes bilinear/nearest/bicubic; opset 20 renames them linear/nearest/cubic and
    // allows N-D inputs (only 4-D runs here).
    OpDef d;
    d.op_type = "GridSample";
    d.since = 16;
    d.min_inputs = d.max_inputs = 2;
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      const bool v20 = p.opset() >= 20;
      const std::string mode = p.get_string("mode", v20 ? "linear" : "bilinear");
      if (mode == (v20 ? "linear" : "bilinear")) a.gs_mode = 0;
      else if (mode == "nearest") a.gs_mode = 1;
      else if (mode == (v20 ? "cubic" : "bicubic")) a.gs_mode = 2;
      else p.fail_attr("mode", std::string("expected ") + (v20 ? "linear, nearest or cubic" : "bilinear, nearest or bicubic") + ", got '" + mode + "'");
      const std::string pad = p.get_string("padding_mode", "zeros");
      if (pad == "zeros") a.gs_padding = 0;
      else if (pad == "border") a.gs_padding = 1;
      else if (pad == "reflection") a.gs_padding = 2;
      else p.fail_attr("padding_mode", "expected zeros, border or reflection, got '" + pad + "'");
      a.align_corners = p.get_int("align_corners", 0) != 0;
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) {
      const TensorInfo &x = c.in(0), &g = c.in(1);
      if (!x.has_rank() || !g.has_rank() || x.rank() != 4 || g.rank() != 4) return one(unknown_info(x.dtype));
      return one(make_info(x.dtype, {(*x.shape)[0], (*x.shape)[1], (*g.shape)[1], (*g.shape)[2]}));
    };
    d.run = typed_run<MathAttrs>(run_grid_sample);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "LpNormalization";
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      a.axis = p.get_int("axis", -1);
      a.p = p.get_int("p", 2);
      if (a.p != 1 && a.p != 2) p.fail_attr("p", "expected 1 or 2, got " + std::to_string(a.p));
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<MathAttrs>(run_lp_norm);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "Mish";
    d.since = 18;
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = [](const OpAttrs*, RunContext& c) { run_mish(c); };
    reg.add(std::move(d));
  }
  for (bool inf : {false, true}) {
    OpDef d;
    d.op_type = inf ? "IsInf" : "IsNaN";
    d.since = inf ? 10 : 9;
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      a.detect_negative = p.get_int("detect_negative", 1) != 0;
      a.detect_positive = p.get_int("detect_positive", 1) != 0;
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return one(TensorInfo(DataType::Bool, c.in(0).shape)); };
    d.run = typed_run<MathAttrs>([inf](const MathAttrs& a, RunContext& c) { run_isnan_isinf(a, c, inf); });
    reg.add(std::move(d));
  }
  {
    // Before opset 13 the input is coerced to 2-D at `axis` (default 1); from 13, one axis (-1).
    OpDef d;
    d.op_type = "Hardmax";
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      a.legacy_2d = p.opset() < 13;
      a.axis = p.get_int("axis", a.legacy_2d ? 1 : -1);
      return a;
    });
    d.infer = [](const OpAttrs*, const InferContext& c) { return same_as_input(c); };
    d.run = typed_run<MathAttrs>(run_hardmax);
    reg.add(std::move(d));
  }
  {
    OpDef d;
    d.op_type = "Einsum";
    d.since = 12;
    d.max_inputs = kVariadic;
    d.parse = typed_parse<MathAttrs>([](const ParseContext& p) {
      MathAttrs a;
      a.equation = p.get_string("equation", "");
      if (a.equation.empty()) p.fail_attr("equation", "missing required attribute (expected a STRING)");
      parse_equation(a.equation, [&](const std::string& why) { p.fail_attr("equation", "'" + a.equation + "': " + why); });
      return a;
    });
    d.infer = typed_infer<MathAttrs>(infer_einsum);
    d.run = typed_run<MathAttrs>(run_einsum);
    reg.add(std::move(d));
  }
}

}  // namespace qm::ops
