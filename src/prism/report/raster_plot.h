// The line plots of svg_plot.h drawn into a picture [3, H, W] in [0, 1], for PNG files: the same axes,
// ticks, legend and colours, text in stb's bitmap font. Category labels on x are staggered over two rows
// where they would overlap.
#pragma once
#include <torch/torch.h>

#include "prism/report/svg_plot.h"

namespace prism {

torch::Tensor render_picture(const LinePlot& plot, int64_t width = 720, int64_t height = 420);

}  // namespace prism
