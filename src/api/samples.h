// Samples (cli.md "Samples"): the one loader behind `quantmix run --input`, `quantmix quantize
// --calib` and the wasm API. A sample is
//   - a .npy file: the tensor of the model's single input (or of the input NAME given with
//     NAME=FILE), with or without the leading batch dimension of 1;
//   - a .npz file: one array per model input, keyed by input name;
//   - an image (.png/.jpg/.jpeg/.bmp) for a single image input, turned into a tensor by
//     --preprocess (api/image.h);
//   - a directory: every such file in it (not recursive), sorted by name.
// Every tensor is conformed to the session's input (Session::conform_input: float64 -> float32,
// missing batch dimension of 1 added, shape checked). Errors are one line naming the file.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "api/image.h"
#include "api/session.h"
#include "core/tensor.h"

namespace qm::api {

/// One sample: one tensor per model input, in Session::inputs() order, already conformed.
using Sample = std::vector<Tensor>;

/// How files become samples.
struct SampleOptions {
  Preprocess preprocess;  ///< for images
  /// A .npy/.npz array whose rank equals the input's rank and whose first dimension N > 1
  /// although the input wants batch 1 (or a dynamic batch) is taken as N samples of batch 1
  /// (a stacked calibration set, e.g. np.save of an [N, 1, 28, 28] array). `run` keeps it
  /// off (a dynamic-batch model then runs the N rows as one batch).
  bool split_stacked = false;
  size_t max_samples = 0;  ///< load_samples: stop after this many (0: no limit)
  /// load_sample_bytes: the name errors give the file (default: the name it is loaded by, whose
  /// extension decides its kind). The app sends an image it preprocessed itself as a .npy and
  /// shows the image's own file name here.
  std::string shown_as;
};

/// Whether `path` has a sample extension (.npy, .npz or an image).
bool is_sample_file(const std::string& path);

/// Expands `paths` into sample files: a file as is (whatever its extension; load_sample judges
/// it), a directory into its sample files sorted by name. Error(Io) for a missing path,
/// Error(InvalidArgument) for a directory without sample files.
std::vector<std::string> expand_sample_paths(const std::vector<std::string>& paths);

/// Loads one sample file for `session`. `input_name` (optional) names the input a .npy or an
/// image is for; without it the model must have a single input. With split_stacked, a stacked
/// file gives several samples; otherwise exactly one. Throws Error naming the file.
std::vector<Sample> load_sample_file(const Session& session, const std::string& path,
                                     const SampleOptions& options = {}, const std::string& input_name = "");

/// Same, from the bytes of a file (the wasm API: files the user dropped). `name` decides the
/// kind by its extension and is the file named in errors. With split_stacked and max_samples,
/// a stacked file gives at most max_samples samples: the rows beyond are never copied out.
std::vector<Sample> load_sample_bytes(const Session& session, const std::string& name, const std::string& bytes,
                                      const SampleOptions& options = {}, const std::string& input_name = "");
/// Same, taking the bytes: they are freed as soon as they are parsed, before a stacked array is
/// split into samples, so a stacked file is never held three times over (bytes, array, samples).
std::vector<Sample> load_sample_bytes(const Session& session, const std::string& name, std::string&& bytes,
                                      const SampleOptions& options = {}, const std::string& input_name = "");

/// Every sample of `paths` (files and directories, see expand_sample_paths), in order, at most
/// options.max_samples: no file after the cap is read, and a stacked file gives only the rows
/// still needed. For `quantize --calib`.
std::vector<Sample> load_samples(const Session& session, const std::vector<std::string>& paths,
                                 const SampleOptions& options = {});

/// Parts of one sample given input by input (`run --input NAME=FILE ...`): each file fills the
/// inputs it holds; every input must be given exactly once. `args` are "[NAME=]FILE" strings
/// (NAME= only taken as a name when the model has such an input). Error names the argument.
Sample assemble_sample(const Session& session, const std::vector<std::string>& args, const SampleOptions& options = {});

/// Concatenates samples [begin, end) along dimension 0, input by input: the inputs of one
/// forward pass at batch end - begin (every sample must have the same shapes).
Sample batch_samples(const std::vector<Sample>& samples, size_t begin, size_t end);

/// Splits every input of `sample` along dimension 0 into samples of batch 1 (all inputs must
/// have the same first dimension).
std::vector<Sample> unbatch_sample(const Sample& sample);

}  // namespace qm::api
