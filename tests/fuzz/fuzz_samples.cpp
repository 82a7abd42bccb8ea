// libFuzzer entry: the .npy / .npz sample loader (api/npy.h, api/samples.h) on any bytes, as the
// CLI (--input, --calib) and the wasm API (files the user dropped) feed it. Every input must end in
// success or a qm::Error. What parses must write back (npy_bytes) to bytes that parse to the same
// tensor. The bytes also go through load_sample_bytes as a .npz for a two-input model (x [N, 3, 4,
// 4] float, t [1, 2] int64) and as a .npy for the one-input variant, with stacked files split, and
// every sample that loads runs one forward pass.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/npy.h"
#include "api/samples.h"
#include "core/error.h"
#include "core/tensor.h"
#include "fuzz_util.h"

namespace {

qm::api::Session& session(bool two_inputs) {
  static std::unique_ptr<qm::api::Session> one = qm::fuzz::small_session(false), two = qm::fuzz::small_session(true);
  return two_inputs ? *two : *one;
}

void check_round_trip(const qm::Tensor& t) {
  const std::string again = qm::api::npy_bytes(t);
  const qm::Tensor u = qm::api::parse_npy(again, "again.npy");
  if (u.dtype() != t.dtype() || u.shape() != t.shape() || u.nbytes() != t.nbytes()) __builtin_trap();
  if (t.nbytes() && std::memcmp(u.raw(), t.raw(), t.nbytes()) != 0) __builtin_trap();
}

void load_and_run(qm::api::Session& session, const std::string& name, const std::string& bytes) {
  qm::api::SampleOptions opt;
  opt.split_stacked = true;
  std::vector<qm::api::Sample> samples;
  try {
    samples = qm::api::load_sample_bytes(session, name, bytes, opt);
  } catch (const qm::Error&) {
    return;
  }
  if (samples.size() > 4) samples.resize(4);  // a stacked file may hold many rows
  for (qm::api::Sample& s : samples) {
    if (s.size() != session.inputs().size()) __builtin_trap();
    try {
      (void)session.run(s);
    } catch (const qm::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qm::set_max_tensor_bytes(size_t{64} << 20);
  (void)session(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    check_round_trip(qm::api::parse_npy(bytes, "fuzz.npy"));
  } catch (const qm::Error&) {
  }
  try {
    for (const auto& kv : qm::api::parse_npz(bytes, "fuzz.npz")) check_round_trip(kv.second);
  } catch (const qm::Error&) {
  }
  load_and_run(session(true), "fuzz.npz", bytes);
  load_and_run(session(false), "fuzz.npy", bytes);
  return 0;
}
