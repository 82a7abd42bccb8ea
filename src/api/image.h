// Images as model inputs: decode (.png/.jpg/.jpeg/.bmp, stb_image), resize (stb_image_resize),
// and the `--preprocess` transform of cli.md, producing the tensor for one image input.
//
// The transform, per pixel p (0..255) of the resized image, for output channel c:
//   x = (p * scale - mean[c]) / std[c]
// with channels in `order` (rgb or bgr) and laid out as nchw or nhwc. mean/std are given per
// *output* channel (after the rgb/bgr swap); one value applies to every channel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/session.h"
#include "core/tensor.h"

namespace qm::api {

/// Settings of `--preprocess KEY=VAL[,KEY=VAL...]` (cli.md). Without --preprocess every field
/// keeps its default: the model's static size, pixels 0..255 unscaled, rgb, the layout read from
/// the input's shape, channels from the input's shape.
struct Preprocess {
  enum class Layout { Auto, Nchw, Nhwc };
  enum class Gray { Auto, Yes, No };     ///< Auto: gray when the input has 1 channel
  enum class Filter { Bilinear, Area };  ///< resampling filter when the size changes

  enum class Pad { None, Right, Center };

  int64_t height = 0, width = 0;  ///< 0: the input's static dimension (else the image's own)
  bool keep_aspect = false;       ///< resize to `height`, width from the aspect ratio
  /// Right: keep the aspect ratio at `height`, at most `width` wide, pad on the right to `width`
  /// (text lines, PaddleOCR-style). Center: fit inside height x width keeping the aspect ratio,
  /// centred, padded on both sides (letterbox). The padding holds `pad_value`, in the tensor's
  /// units (after scale, mean and std).
  Pad pad = Pad::None;
  float pad_value = 0.0f;
  float scale = 1.0f;
  std::vector<float> mean;        ///< empty: 0; one value: every channel
  std::vector<float> std;         ///< empty: 1; one value: every channel
  bool bgr = false;
  Layout layout = Layout::Auto;
  Gray gray = Gray::Auto;
  Filter filter = Filter::Bilinear;
  /// The setting's name as the front end's users know it (the CLI: "--preprocess"), starting
  /// the errors about these settings that images raise later ("<setting>: mean has 2 values
  /// but input 'x' ... has 3 channels").
  std::string setting = "preprocessing";

  /// Parses a preprocessing spec: "imagenet", "pm1", "unit", or KEY=VAL pairs separated by
  /// commas, a preset may start the list ("imagenet,size=256"). `setting` names it (kept in the
  /// result). Throws Error(InvalidArgument) "<setting>: <what> (expected ..., got ...)".
  static Preprocess parse(const std::string& spec, const std::string& setting = "preprocessing");

 private:
  static Preprocess parse_spec(const std::string& spec);
};

/// Pixels of a decoded image, 8-bit, interleaved (HWC).
struct Image {
  int width = 0, height = 0, channels = 0;  ///< channels: 1 (gray), 3 (rgb) or 4 (rgba)
  std::vector<uint8_t> pixels;
};

/// Whether `path` names an image by its extension (.png, .jpg, .jpeg, .bmp; any case).
bool is_image_file(const std::string& path);

/// Decodes image bytes; `channels` 0 keeps the file's own, 1/3/4 converts (stb: gray is
/// (77 r + 150 g + 29 b) >> 8). `name` is the file named in errors.
Image decode_image(const std::string& bytes, const std::string& name, int channels = 0);

/// Resizes to width x height (float output, interleaved, values still 0..255); bilinear is a
/// triangle filter widened when shrinking (antialiased, as PIL's BILINEAR), area a box filter.
std::vector<float> resize_image(const Image& img, int width, int height, Preprocess::Filter filter);

/// Turns decoded pixels into the tensor for `input` (its dtype: float32, or uint8 with values
/// rounded and clamped). `name` is the file named in errors, e.g. "x.png: input 'image'
/// [1, 3, 224, 224] wants 3 channels; ...".
Tensor image_to_tensor(const Image& img, const IoSpec& input, const Preprocess& pp, const std::string& name);

/// decode_image + image_to_tensor, the channel count chosen from the input and `pp`.
Tensor load_image_tensor(const std::string& bytes, const std::string& name, const IoSpec& input, const Preprocess& pp);

}  // namespace qm::api
