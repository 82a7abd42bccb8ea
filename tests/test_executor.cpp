// The FP32 engine's graph side: plan (constant folding, BN folding, Identity removal, memory plan)
// and executor (hooks, run_from), the thread pool, and .npy/.npz I/O. Oracles are closed forms
// computed here; whole-model agreement with ONNX Runtime lives in tests/cli/run_models.test.mjs
// and the per-op oracle in tests/ops.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "api/npy.h"
#include "core/thread_pool.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "test_util.h"

namespace qm {
namespace {

/// Max |a - b| over two float tensors of the same shape.
double max_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(double(a.data<float>()[i]) - b.data<float>()[i]));
  return m;
}

Tensor filled(Shape s, float start, float step) {
  Tensor t(DataType::Float, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + step * static_cast<float>(i);
  return t;
}

/// x -> (Add one) x kSteps -> y, as a chain of kSteps nodes.
constexpr int kChain = 20;
test::ModelBuilder chain_model() {
  test::ModelBuilder b(13);
  b.input("x", {2, 500});
  b.floats("one", {1}, {1.0f});
  std::string prev = "x";
  for (int i = 0; i < kChain; ++i) {
    const std::string out = i + 1 == kChain ? "y" : "t" + std::to_string(i);
    b.node("Add", {prev, "one"}, {out});
    prev = out;
  }
  b.output("y");
  return b;
}

// Tolerance of float32 sums of a few terms against a double closed form.
constexpr double kTol = 1e-5;

}  // namespace

TEST_CASE("graph/executor: the memory plan frees each tensor after its last use") {
  test::ModelBuilder b = chain_model();
  b.build();
  graph::Plan plan(b.graph());
  REQUIRE(plan.steps().size() == kChain);
  graph::Executor ex(plan);
  const Tensor x = filled({2, 500}, -3.0f, 0.01f);
  std::vector<Tensor> out = ex.run({x});
  REQUIRE(out.size() == 1);
  for (int64_t i = 0; i < x.numel(); ++i) CHECK(out[0].data<float>()[i] == doctest::Approx(x.data<float>()[i] + kChain).epsilon(1e-6));
  // Input + current + next at most, not the 21 values of the chain.
  CHECK(ex.stats().peak_live_values <= 3);
  CHECK(ex.stats().peak_live_bytes <= 3 * x.nbytes());
  CHECK(ex.stats().steps_run == kChain);
}

TEST_CASE("core/tensor: the memory limit bounds what all tensors hold at once; the error names the node") {
  const size_t base = tensor_bytes_held();
  struct Restore {
    ~Restore() { set_memory_limit(std::numeric_limits<size_t>::max()); }
  } restore;
  {
    const Tensor a(DataType::Float, {1 << 18});  // 1 MiB (+ one 64-byte vector of slack)
    CHECK(tensor_bytes_held() == base + a.nbytes() + Tensor::kAlignment);
    set_memory_limit(base + (size_t{3} << 19));  // 1.5 MiB beyond what was held before
    const std::string e = test::error_of([] { Tensor(DataType::Float, {1 << 18}); });
    CHECK(e.find("a tensor of shape [262144] (1 MiB) would take the tensors held at once over the memory limit of ") == 0);
    CHECK(tensor_bytes_held() == base + a.nbytes() + Tensor::kAlignment);  // the refused one is not counted
  }
  CHECK(tensor_bytes_held() == base);  // freed: counted back
  CHECK(Tensor(DataType::Float, {1 << 18}).numel() == 1 << 18);  // fits again

  // In a run the error names the node whose output does not fit: x -> Tile(x4096) of 1 MiB.
  test::ModelBuilder b(13);
  b.input("x", {1, 64});
  b.int64s("reps", {4096, 1});
  b.node("Tile", {"x", "reps"}, {"y"}).name("big");
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  graph::Executor ex(plan);
  const Tensor x = filled({1, 64}, 0.0f, 1.0f);
  set_memory_limit(tensor_bytes_held() + (size_t{128} << 10));
  CHECK(test::error_of([&] { ex.run({x}); }).find("node 'big' (Tile): output 0: a tensor of shape [4096, 64] (1 MiB) would take ") == 0);
  set_memory_limit(std::numeric_limits<size_t>::max());
  CHECK(ex.run({x})[0].shape() == Shape{4096, 64});
}

TEST_CASE("graph/executor: a hook sees every value and its replacement changes downstream outputs") {
  test::ModelBuilder b(13);
  b.input("x", {1, 4});
  b.floats("two", {1}, {2.0f});
  b.floats("one", {1}, {1.0f});
  b.node("Mul", {"x", "two"}, {"m"});
  b.node("Add", {"m", "one"}, {"y"});
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  graph::Executor ex(plan);
  const Tensor x = filled({1, 4}, 1.0f, 1.0f);  // 1 2 3 4
  std::vector<std::string> seen;
  const graph::ValueId m = *b.graph().find("m");
  auto hook = [&](graph::ValueId v, const Tensor& t) -> std::optional<Tensor> {
    seen.push_back(plan.value_name(v));
    if (v != m) return std::nullopt;
    Tensor r(DataType::Float, t.shape());  // zeros
    return r;
  };
  std::vector<Tensor> out = ex.run({x}, hook);
  CHECK(seen == std::vector<std::string>{"x", "m", "y"});
  for (int64_t i = 0; i < 4; ++i) CHECK(out[0].data<float>()[i] == 1.0f);  // 0 + 1
  // Without the hook: 2x + 1.
  out = ex.run({x});
  for (int64_t i = 0; i < 4; ++i) CHECK(out[0].data<float>()[i] == 2.0f * (i + 1) + 1.0f);
}

TEST_CASE("graph/executor: run_from a cached step equals the full run; a missing value is named") {
  test::ModelBuilder b(13);
  b.input("x", {3, 8});
  b.floats("w", {8, 5}, std::vector<float>(40, 0.25f));
  b.floats("c", {5}, {1, 2, 3, 4, 5});
  b.node("Relu", {"x"}, {"r"});
  b.node("MatMul", {"r", "w"}, {"h"});
  b.node("Add", {"h", "c"}, {"s"});
  b.node("Sigmoid", {"s"}, {"y"});
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  graph::Executor ex(plan);
  const Tensor x = filled({3, 8}, -1.0f, 0.1f);
  graph::ValueMap keep;
  const std::vector<Tensor> full = ex.run({x}, {}, &keep);
  // Closed form: y = sigmoid(sum_k relu(x_k) * 0.25 + c_j).
  for (int64_t r = 0; r < 3; ++r) {
    double s = 0;
    for (int64_t k = 0; k < 8; ++k) s += std::max(0.0f, x.data<float>()[r * 8 + k]) * 0.25;
    for (int64_t j = 0; j < 5; ++j)
      CHECK(full[0].data<float>()[r * 5 + j] == doctest::Approx(1.0 / (1.0 + std::exp(-(s + j + 1)))).epsilon(kTol));
  }
  for (size_t s = 0; s < plan.steps().size(); ++s) {
    const std::vector<Tensor> again = ex.run_from(s, keep);
    CHECK(max_diff(again[0], full[0]) == 0.0);
  }
  // Only what follows is recomputed.
  ex.run_from(3, keep);
  CHECK(ex.stats().steps_run == 1);
  graph::ValueMap partial;
  const std::string msg = test::error_of([&] { ex.run_from(2, partial); });
  CHECK(msg.find("'h'") != std::string::npos);
  // A replaced cached value propagates: zeroing h gives sigmoid(c).
  graph::ValueMap edited = keep;
  edited[*b.graph().find("h")] = Tensor(DataType::Float, {3, 5});
  const std::vector<Tensor> ed = ex.run_from(2, edited);
  CHECK(ed[0].data<float>()[0] == doctest::Approx(1.0 / (1.0 + std::exp(-1.0))).epsilon(kTol));
}

TEST_CASE("graph/plan: BatchNormalization is folded into a single-consumer Conv, kept otherwise") {
  // Conv 1x1 (2 -> 2 channels) + BN; closed form per pixel.
  const std::vector<float> w = {0.5f, -1.0f, 2.0f, 0.25f}, bias = {0.1f, -0.2f};
  const std::vector<float> sc = {1.5f, 0.5f}, sh = {0.3f, -0.4f}, mu = {0.2f, -0.1f}, var = {0.9f, 2.0f};
  const float eps = 1e-3f;
  auto model = [&](bool second_consumer) {
    test::ModelBuilder b(13);
    b.input("x", {1, 2, 3, 3});
    b.floats("w", {2, 2, 1, 1}, w).floats("b", {2}, bias);
    b.floats("sc", {2}, sc).floats("sh", {2}, sh).floats("mu", {2}, mu).floats("var", {2}, var);
    b.node("Conv", {"x", "w", "b"}, {"c"});
    b.node("BatchNormalization", {"c", "sc", "sh", "mu", "var"}, {"y"}).f("epsilon", eps);
    b.output("y");
    if (second_consumer) {
      b.node("Relu", {"c"}, {"z"});
      b.output("z");
    }
    return b;
  };
  const Tensor x = filled({1, 2, 3, 3}, -1.0f, 0.23f);
  for (bool second : {false, true}) {
    CAPTURE(second);
    test::ModelBuilder b = model(second);
    b.build();
    graph::Plan plan(b.graph());
    CHECK(plan.folded_batchnorms() == (second ? 0 : 1));
    graph::Executor ex(plan);
    const Tensor y = ex.run({x})[0];
    for (int64_t m = 0; m < 2; ++m)
      for (int64_t p = 0; p < 9; ++p) {
        const double conv = w[m * 2] * x.data<float>()[p] + w[m * 2 + 1] * x.data<float>()[9 + p] + bias[m];
        const double ref = (conv - mu[m]) / std::sqrt(double(var[m]) + eps) * sc[m] + sh[m];
        CHECK(y.data<float>()[m * 9 + p] == doctest::Approx(ref).epsilon(kTol));
      }
  }
}

TEST_CASE("graph/plan: Relu and constant Clip fuse into Conv/Gemm; the result is the clamp of the product") {
  test::ModelBuilder b(13);
  b.input("x", {2, 3});
  b.floats("w", {3, 2}, {1, -1, 2, -2, 3, -3});
  b.floats("lo", {}, {-1.0f}).floats("hi", {}, {2.5f});
  b.node("Gemm", {"x", "w"}, {"g"});
  b.node("Clip", {"g", "lo", "hi"}, {"y"});
  b.node("Gemm", {"x", "w"}, {"g2"});
  b.node("Relu", {"g2"}, {"z"});
  b.output("y").output("z");
  b.build();
  graph::Plan plan(b.graph());
  CHECK(plan.fused_activations() == 2);
  CHECK(plan.steps().size() == 2);
  graph::Executor ex(plan);
  const Tensor x = filled({2, 3}, -0.5f, 0.4f);
  const std::vector<Tensor> out = ex.run({x});
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t j = 0; j < 2; ++j) {
      double g = 0;
      for (int64_t k = 0; k < 3; ++k) g += x.data<float>()[r * 3 + k] * (j == 0 ? 1.0 : -1.0) * (k + 1);
      CHECK(out[0].data<float>()[r * 2 + j] == doctest::Approx(std::min(std::max(g, -1.0), 2.5)).epsilon(kTol));
      CHECK(out[1].data<float>()[r * 2 + j] == doctest::Approx(std::max(g, 0.0)).epsilon(kTol));
    }
}

TEST_CASE("graph/plan: Identity/Dropout removed, constant subgraphs folded, unsupported ops named") {
  test::ModelBuilder b(13);
  b.input("x", {2, 3});
  b.int64s("shape", {3, 2});
  b.node("Constant", {}, {"k"}).tensor("value", onnx::make_float_tensor("k", {6}, {1, 2, 3, 4, 5, 6}));
  b.node("Reshape", {"k", "shape"}, {"k2"});
  b.node("Transpose", {"k2"}, {"kt"});  // [2, 3]
  b.node("Identity", {"x"}, {"xi"});
  b.node("Dropout", {"xi"}, {"xd"});
  b.node("Add", {"xd", "kt"}, {"y"});
  b.output("y");
  b.build();
  graph::Plan plan(b.graph());
  CHECK(plan.folded_nodes() == 3);
  CHECK(plan.removed_identities() == 2);
  REQUIRE(plan.steps().size() == 1);
  graph::Executor ex(plan);
  const Tensor y = ex.run({filled({2, 3}, 0.0f, 0.0f)})[0];
  // k reshaped to [[1,2],[3,4],[5,6]] and transposed: [[1,3,5],[2,4,6]].
  const float want[] = {1, 3, 5, 2, 4, 6};
  for (int i = 0; i < 6; ++i) CHECK(y.data<float>()[i] == want[i]);

  test::ModelBuilder u(13);
  u.input("x", {1});
  u.node("Frobnicate", {"x"}, {"y"}, "odd");
  u.output("y");
  u.build();
  const std::string msg = test::error_of([&] { graph::Plan p(u.graph()); });
  CHECK(msg.find("'odd'") != std::string::npos);
  CHECK(msg.find("Frobnicate") != std::string::npos);
}

TEST_CASE("ops/registry: every registered op can run") {
  std::vector<std::string> missing;
  for (const ops::OpDef* d : ops::default_registry().entries())
    if (!d->run) missing.push_back(d->domain + "." + d->op_type + "@" + std::to_string(d->since));
  CHECK(missing.empty());
  for (const std::string& m : missing) MESSAGE(m);
}

TEST_CASE("core/thread_pool: every index once, deterministic ranges, exceptions propagate") {
  for (size_t threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    CHECK(pool.size() >= 1);
    for (int round = 0; round < 20; ++round) {
      std::vector<std::atomic<int>> hits(97);
      pool.parallel_for(hits.size(), [&](size_t i) { hits[i]++; });
      for (auto& h : hits) CHECK(h.load() == 1);
    }
    std::vector<int> cover(1000, 0);
    pool.parallel_range(cover.size(), 10, 8, [&](size_t b, size_t e) {
      CHECK((b % 8 == 0));
      for (size_t i = b; i < e; ++i) cover[i]++;
    });
    for (int c : cover) CHECK(c == 1);
    CHECK_THROWS_AS(pool.parallel_for(10, [](size_t i) { if (i == 7) throw std::runtime_error("boom"); }), std::runtime_error);
  }
}

TEST_CASE("api/npy: round trip of every type, npz stored entries, errors name the file") {
  for (DataType t : {DataType::Float, DataType::Double, DataType::Int64, DataType::Int32, DataType::Int16,
                     DataType::Uint16, DataType::Int8, DataType::Uint8, DataType::Bool}) {
    Tensor a(t, {2, 3});
    for (int64_t i = 0; i < a.numel(); ++i) static_cast<uint8_t*>(a.raw())[i * static_cast<int64_t>(tensor_element_size(t))] = static_cast<uint8_t>(i % 2);
    const Tensor b = api::parse_npy(api::npy_bytes(a), "a.npy");
    CHECK(b.dtype() == t);
    CHECK(b.shape() == a.shape());
    CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
  }
  const Tensor scalar = api::parse_npy(api::npy_bytes(Tensor(DataType::Float, {})), "s.npy");
  CHECK(scalar.rank() == 0);
  CHECK(api::npy_bytes(Tensor(DataType::Float, {3})).find("(3,)") != std::string::npos);
  // Hand-written header (NumPy's format, version 1.0), '<f4', shape (2,).
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  h.append(128 - 10 - h.size() - 1, ' ');
  h += '\n';
  std::string npy = std::string("\x93NUMPY\x01\x00", 8) + char(h.size()) + char(0) + h;
  const float v[2] = {1.5f, -2.0f};
  npy.append(reinterpret_cast<const char*>(v), 8);
  const Tensor t = api::parse_npy(npy, "v.npy");
  CHECK(t.data<float>()[1] == -2.0f);
  CHECK(test::error_of([&] { api::parse_npy(npy.substr(0, npy.size() - 2), "v.npy"); }).find("v.npy: truncated") == 0);
  CHECK(test::error_of([&] { api::parse_npy("hello", "h.npy"); }).find("h.npy") == 0);
  std::string be = npy;
  be.replace(be.find("<f4"), 3, ">f4");
  CHECK(test::error_of([&] { api::parse_npy(be, "be.npy"); }).find("big-endian") != std::string::npos);
  // A stored zip entry and a deflated one.
  auto entry = [](const std::string& name, const std::string& data, uint16_t method) {
    std::string e("PK\x03\x04", 4);
    auto u16 = [&](uint16_t x) { e += char(x & 0xff); e += char(x >> 8); };
    auto u32 = [&](uint32_t x) { u16(uint16_t(x & 0xffff)); u16(uint16_t(x >> 16)); };
    u16(20); u16(0); u16(method); u16(0); u16(0); u32(0);
    u32(uint32_t(data.size())); u32(uint32_t(data.size()));
    u16(uint16_t(name.size())); u16(0);
    return e + name + data;
  };
  const auto arrays = api::parse_npz(entry("a.npy", npy, 0) + entry("b.npy", npy, 0), "s.npz");
  REQUIRE(arrays.size() == 2);
  CHECK(arrays[1].first == "b");
  CHECK(test::error_of([&] { api::parse_npz(entry("a.npy", npy, 8), "c.npz"); }).find("compressed .npz not supported") != std::string::npos);

  // Hostile files (issue 12): each ends in a clean error naming the file, no hang, no over-read.
  auto with_shape = [&](const std::string& shape) {
    std::string hh = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    hh.append(128 - 10 - hh.size() - 1, ' ');
    hh += '\n';
    return std::string("\x93NUMPY\x01\x00", 8) + char(hh.size()) + char(0) + hh + std::string(8, '\0');
  };
  // 2^30 + 1 floats over 8 bytes: the byte count must not wrap (32 bits in WebAssembly).
  CHECK(test::error_of([&] { api::parse_npy(with_shape("(1073741825,)"), "big.npy"); }).find("big.npy") == 0);
  // A 26-digit dimension: an error about the header, not "internal error: stoll".
  const std::string digits = test::error_of([&] { api::parse_npy(with_shape("(12345678901234567890123456,)"), "d.npy"); });
  CHECK(digits.find("d.npy") == 0);
  CHECK(digits.find("too large") != std::string::npos);
  // zip64: a compressed size of 2^64 - 30 would wrap the next offset back to 0 (an endless loop
  // that grew memory); an extra field longer than its header would be read past its end.
  auto zip64 = [&](uint64_t size, uint16_t extra_len, uint16_t field_len) {
    std::string e("PK\x03\x04", 4);
    auto u16 = [&](uint16_t x) { e += char(x & 0xff); e += char(x >> 8); };
    auto u32 = [&](uint32_t x) { u16(uint16_t(x & 0xffff)); u16(uint16_t(x >> 16)); };
    u16(45); u16(0); u16(0); u16(0); u16(0); u32(0);
    u32(0xffffffffu); u32(0xffffffffu);
    u16(5); u16(extra_len);
    e += "a.npy";
    u16(1); u16(field_len);
    u32(uint32_t(size)); u32(uint32_t(size >> 32)); u32(uint32_t(size)); u32(uint32_t(size >> 32));
    return e + npy;
  };
  CHECK(test::error_of([&] { api::parse_npz(zip64(~uint64_t{0} - 29, 20, 16), "wrap.npz"); }).find("truncated zip entry") != std::string::npos);
  CHECK(test::error_of([&] { api::parse_npz(zip64(npy.size(), 8, 16), "over.npz"); }).find("extra field") != std::string::npos);
  CHECK(api::parse_npz(zip64(npy.size(), 20, 16), "ok.npz").size() == 1);  // the well-formed zip64 entry reads
}

}  // namespace qm
