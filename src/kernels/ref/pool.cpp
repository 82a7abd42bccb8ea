#include "kernels/ref/pool.h"

#include <limits>

namespace qm::kernels::ref {
namespace {

using Index = std::ptrdiff_t;

template <class Visit>
void for_window(const Conv2dShape& s, size_t oh, size_t ow, Visit visit) {
  for (size_t kh = 0; kh < s.kernel_h; ++kh) {
    const Index ih = Index(oh * s.stride_h + kh * s.dilation_h) - Index(s.pad_top);
    for (size_t kw = 0; kw < s.kernel_w; ++kw) {
      const Index iw = Index(ow * s.stride_w + kw * s.dilation_w) - Index(s.pad_left);
      visit(ih, iw);
    }
  }
}

}  // namespace

void f32_max_pool2d(const Conv2dShape& s, const float* x, float* y) {
  for (size_t c = 0; c < s.in_channels; ++c) {
    const float* plane = x + c * s.in_h * s.in_w;
    for (size_t oh = 0; oh < s.out_h; ++oh) {
      for (size_t ow = 0; ow < s.out_w; ++ow) {
        float m = -std::numeric_limits<float>::infinity();
        for_window(s, oh, ow, [&](Index ih, Index iw) {
          if (ih < 0 || iw < 0 || ih >= Index(s.in_h) || iw >= Index(s.in_w)) return;
          const float v = plane[size_t(ih) * s.in_w + size_t(iw)];
          if (v > m) m = v;
        });
        y[(c * s.out_h + oh) * s.out_w + ow] = m;
      }
    }
  }
}

void f32_avg_pool2d(const Conv2dShape& s, const float* x, float* y, const AvgPoolParams& p) {
  const Index h_end = Index(s.in_h + p.pad_bottom), w_end = Index(s.in_w + p.pad_right);
  for (size_t c = 0; c < s.in_channels; ++c) {
    const float* plane = x + c * s.in_h * s.in_w;
    for (size_t oh = 0; oh < s.out_h; ++oh) {
      for (size_t ow = 0; ow < s.out_w; ++ow) {
        float sum = 0.0f;
        size_t inside = 0, padded = 0;
        for_window(s, oh, ow, [&](Index ih, Index iw) {
          if (ih < h_end && iw < w_end) ++padded;  // starts are always >= -pad
          if (ih < 0 || iw < 0 || ih >= Index(s.in_h) || iw >= Index(s.in_w)) return;
          sum += plane[size_t(ih) * s.in_w + size_t(iw)];
          ++inside;
        });
        const size_t count = p.count_include_pad ? padded : inside;
        y[(c * s.out_h + oh) * s.out_w + ow] = inside ? sum / float(count) : 0.0f;
      }
    }
  }
}

void f32_global_avg_pool(const float* x, float* y, size_t channels, size_t plane) {
  for (size_t c = 0; c < channels; ++c) {
    double sum = 0.0;
    for (size_t i = 0; i < plane; ++i) sum += x[c * plane + i];
    y[c] = static_cast<float>(sum / double(plane));
  }
}

void f32_global_max_pool(const float* x, float* y, size_t channels, size_t plane) {
  for (size_t c = 0; c < channels; ++c) {
    float m = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < plane; ++i) m = x[c * plane + i] > m ? x[c * plane + i] : m;
    y[c] = m;
  }
}

}  // namespace qm::kernels::ref
