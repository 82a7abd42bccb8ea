#include "api/samples.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "api/npy.h"
#include "core/error.h"

namespace qm::api {
namespace {

bool has_ext(const std::string& path, const char* ext) {
  const size_t n = std::strlen(ext);
  if (path.size() < n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(path[path.size() - n + i])) != ext[i]) return false;
  return true;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string input_names(const Session& s) {
  std::string out;
  for (const IoSpec& in : s.inputs()) out += (out.empty() ? "'" : ", '") + in.name + "'";
  return out;
}

// Tensors of some of the inputs, before conforming (so stacked files can still be split).
struct Parts {
  std::vector<Tensor> t;
  std::vector<bool> have;
  std::vector<std::string> source;
};

Parts empty_parts(const Session& s) {
  Parts p;
  p.t.resize(s.inputs().size());
  p.have.assign(s.inputs().size(), false);
  p.source.resize(s.inputs().size());
  return p;
}

void put(const Session& s, Parts& p, int idx, Tensor t, const std::string& source) {
  const size_t i = static_cast<size_t>(idx);
  if (p.have[i])
    throw Error(ErrorKind::InvalidArgument, source + ": input '" + s.inputs()[i].name + "' is given twice (also by " + p.source[i] + ")");
  p.t[i] = std::move(t);
  p.have[i] = true;
  p.source[i] = source;
}

int single_input(const Session& s, const std::string& name, const std::string& input_name) {
  if (!input_name.empty()) {
    const int idx = s.input_index(input_name);
    if (idx < 0) throw Error(ErrorKind::InvalidArgument, name + ": the model has no input '" + input_name + "' (inputs: " + input_names(s) + ")");
    return idx;
  }
  if (s.inputs().size() != 1)
    throw Error(ErrorKind::InvalidArgument, name + ": the model has " + std::to_string(s.inputs().size()) + " inputs (" + input_names(s) +
                                                "); name the input (NAME=FILE) or use a .npz keyed by input name");
  return 0;
}

// Adds the arrays of one file to `p`.
void read_parts(const Session& s, Parts& p, const std::string& name, const std::string& bytes, const SampleOptions& o,
                const std::string& input_name) {
  // `name` decides the kind; errors and sources say what the user knows the file by.
  const std::string& shown = o.shown_as.empty() ? name : o.shown_as;
  if (has_ext(name, ".npz")) {
    if (!input_name.empty())
      throw Error(ErrorKind::InvalidArgument, shown + ": a .npz holds arrays for the inputs by name; give it without NAME=");
    for (auto& kv : parse_npz(bytes, shown)) {
      const int idx = s.input_index(kv.first);
      if (idx < 0)
        throw Error(ErrorKind::InvalidArgument, shown + ": array '" + kv.first + "' matches no model input (inputs: " + input_names(s) + ")");
      put(s, p, idx, std::move(kv.second), shown);
    }
  } else if (is_image_file(name)) {
    const int idx = single_input(s, shown, input_name);
    put(s, p, idx, load_image_tensor(bytes, shown, s.inputs()[static_cast<size_t>(idx)], o.preprocess), shown);
  } else {
    // .npy, and any other name given explicitly: parse_npy rejects what is not one.
    const int idx = single_input(s, shown, input_name);
    put(s, p, idx, parse_npy(bytes, shown), shown);
  }
}

Tensor slice_rows(const Tensor& t, int64_t row, int64_t rows) {
  Shape sh = t.shape();
  const size_t row_bytes = t.nbytes() / static_cast<size_t>(sh[0]);
  sh[0] = rows;
  Tensor out(t.dtype(), sh);
  if (out.nbytes())
    std::memcpy(out.raw(), static_cast<const uint8_t*>(t.raw()) + static_cast<size_t>(row) * row_bytes, row_bytes * static_cast<size_t>(rows));
  return out;
}

// Conforms complete parts into samples, splitting stacked arrays when asked.
std::vector<Sample> finish(const Session& s, Parts p, const SampleOptions& o) {
  const auto& specs = s.inputs();
  for (size_t i = 0; i < specs.size(); ++i)
    if (!p.have[i]) {
      std::string given;
      for (size_t k = 0; k < specs.size(); ++k)
        if (p.have[k] && given.find(p.source[k]) == std::string::npos) given += (given.empty() ? "" : ", ") + p.source[k];
      throw Error(ErrorKind::InvalidArgument, (given.empty() ? std::string("sample") : given) + ": no tensor for input '" + specs[i].name +
                                                  "' (give a file for input '" + specs[i].name + "', or a .npz with an array '" + specs[i].name + "')");
    }
  int64_t stack = 0;  // rows of a stacked sample, 0: not stacked
  if (o.split_stacked) {
    for (size_t i = 0; i < specs.size(); ++i) {
      const Tensor& t = p.t[i];
      const auto& d = specs[i].shape;
      const bool stacked = d && !d->empty() && t.rank() == static_cast<int64_t>(d->size()) && t.shape()[0] > 1 &&
                           (!(*d)[0].known() || (*d)[0].is(1));
      if (!stacked) continue;
      if (stack && stack != t.shape()[0])
        throw Error(ErrorKind::InvalidArgument, p.source[i] + ": stacked samples disagree: input '" + specs[i].name + "' has " +
                                                    std::to_string(t.shape()[0]) + " rows, another input " + std::to_string(stack));
      stack = t.shape()[0];
    }
  }
  std::vector<Sample> out;
  if (!stack) {
    Sample one;
    for (size_t i = 0; i < specs.size(); ++i) one.push_back(s.conform_input(i, std::move(p.t[i]), p.source[i]));
    out.push_back(std::move(one));
    return out;
  }
  for (int64_t r = 0; r < stack; ++r) {
    Sample one;
    for (size_t i = 0; i < specs.size(); ++i) {
      const Tensor& t = p.t[i];
      const bool rows = t.rank() == static_cast<int64_t>(specs[i].shape->size()) && t.shape()[0] == stack;
      one.push_back(s.conform_input(i, rows ? slice_rows(t, r, 1) : t, p.source[i] + " [" + std::to_string(r) + "]"));
    }
    out.push_back(std::move(one));
    if (o.max_samples && out.size() >= o.max_samples) break;
  }
  return out;
}

}  // namespace

bool is_sample_file(const std::string& path) {
  return has_ext(path, ".npy") || has_ext(path, ".npz") || is_image_file(path);
}

std::vector<std::string> expand_sample_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) throw Error(ErrorKind::Io, path + ": no such file or directory");
    if (!S_ISDIR(st.st_mode)) {
      out.push_back(path);
      continue;
    }
    DIR* dir = opendir(path.c_str());
    if (!dir) throw Error(ErrorKind::Io, path + ": cannot read directory");
    std::vector<std::string> names;
    while (const dirent* e = readdir(dir)) {
      const std::string n = e->d_name;
      if (n.empty() || n[0] == '.') continue;
      if (is_sample_file(n) && !is_dir(path + "/" + n)) names.push_back(n);
    }
    closedir(dir);
    if (names.empty())
      throw Error(ErrorKind::InvalidArgument, path + ": directory holds no sample files (.npy, .npz, .png, .jpg, .jpeg, .bmp)");
    std::sort(names.begin(), names.end());
    const std::string base = !path.empty() && path.back() == '/' ? path : path + "/";
    for (const std::string& n : names) out.push_back(base + n);
  }
  return out;
}

std::vector<Sample> load_sample_bytes(const Session& session, const std::string& name, const std::string& bytes,
                                      const SampleOptions& options, const std::string& input_name) {
  Parts p = empty_parts(session);
  read_parts(session, p, name, bytes, options, input_name);
  return finish(session, std::move(p), options);
}

std::vector<Sample> load_sample_bytes(const Session& session, const std::string& name, std::string&& bytes,
                                      const SampleOptions& options, const std::string& input_name) {
  Parts p = empty_parts(session);
  read_parts(session, p, name, bytes, options, input_name);
  std::string().swap(bytes);  // parsed: the tensors own copies
  return finish(session, std::move(p), options);
}

std::vector<Sample> load_sample_file(const Session& session, const std::string& path, const SampleOptions& options,
                                     const std::string& input_name) {
  if (is_dir(path)) throw Error(ErrorKind::InvalidArgument, path + ": is a directory (one sample file expected here)");
  return load_sample_bytes(session, path, read_file(path), options, input_name);
}

std::vector<Sample> load_samples(const Session& session, const std::vector<std::string>& paths, const SampleOptions& options) {
  std::vector<Sample> out;
  SampleOptions rest = options;  // max_samples: what is still missing, so a stacked file is split only that far
  for (const std::string& file : expand_sample_paths(paths)) {
    if (options.max_samples) rest.max_samples = options.max_samples - out.size();
    for (Sample& s : load_sample_file(session, file, rest)) {
      out.push_back(std::move(s));
      if (options.max_samples && out.size() >= options.max_samples) return out;
    }
  }
  return out;
}

Sample assemble_sample(const Session& session, const std::vector<std::string>& args, const SampleOptions& options) {
  Parts p = empty_parts(session);
  for (const std::string& arg : args) {
    std::string name, file = arg;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos && eq > 0 && session.input_index(arg.substr(0, eq)) >= 0) {
      name = arg.substr(0, eq);
      file = arg.substr(eq + 1);
    } else if (eq != std::string::npos && eq > 0) {
      struct stat st;
      if (stat(arg.c_str(), &st) != 0)
        throw Error(ErrorKind::InvalidArgument, "input '" + arg + "': the model has no input '" + arg.substr(0, eq) + "' (inputs: " +
                                                    input_names(session) + ")");
    }
    if (is_dir(file)) throw Error(ErrorKind::InvalidArgument, "input '" + file + "': a directory (a run takes one file per model input)");
    read_parts(session, p, file, read_file(file), options, name);
  }
  std::vector<Sample> s = finish(session, std::move(p), options);
  return std::move(s.front());
}

Sample batch_samples(const std::vector<Sample>& samples, size_t begin, size_t end) {
  if (begin >= end || end > samples.size()) throw Error(ErrorKind::InvalidArgument, "batch_samples: empty or out-of-range batch");
  const Sample& first = samples[begin];
  Sample out;
  for (size_t i = 0; i < first.size(); ++i) {
    const Tensor& f = first[i];
    if (f.rank() == 0) throw Error(ErrorKind::InvalidArgument, "batch_samples: input " + std::to_string(i) + " is a scalar");
    int64_t rows = 0;
    for (size_t k = begin; k < end; ++k) {
      const Tensor& t = samples[k][i];
      Shape a = t.shape(), b = f.shape();
      if (t.dtype() != f.dtype() || a.size() != b.size() || !std::equal(a.begin() + 1, a.end(), b.begin() + 1))
        throw Error(ErrorKind::InvalidArgument, "batch_samples: sample " + std::to_string(k) + " input " + std::to_string(i) + " has shape " +
                                                    shape_to_string(a) + ", sample " + std::to_string(begin) + " " + shape_to_string(b));
      rows += a[0];
    }
    Shape sh = f.shape();
    sh[0] = rows;
    Tensor t(f.dtype(), sh);
    size_t at = 0;
    for (size_t k = begin; k < end; ++k) {
      const Tensor& src = samples[k][i];
      if (src.nbytes()) std::memcpy(static_cast<uint8_t*>(t.raw()) + at, src.raw(), src.nbytes());
      at += src.nbytes();
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Sample> unbatch_sample(const Sample& sample) {
  std::vector<Sample> out;
  if (sample.empty()) return out;
  if (sample[0].rank() == 0) throw Error(ErrorKind::InvalidArgument, "unbatch_sample: input 0 is a scalar");
  const int64_t n = sample[0].shape()[0];
  for (const Tensor& t : sample)
    if (t.rank() == 0 || t.shape()[0] != n)
      throw Error(ErrorKind::InvalidArgument, "unbatch_sample: inputs disagree on the batch dimension (" + std::to_string(n) + " vs " +
                                                  shape_to_string(t.shape()) + ")");
  for (int64_t r = 0; r < n; ++r) {
    Sample one;
    for (const Tensor& t : sample) one.push_back(slice_rows(t, r, 1));
    out.push_back(std::move(one));
  }
  return out;
}

}  // namespace qm::api
