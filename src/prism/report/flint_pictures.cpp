#include "prism/report/flint_pictures.h"

#include "prism/report/heatmap.h"
#include "prism/report/sequence_pictures.h"

namespace prism {

torch::Tensor attribute_picture(const AttributeSummary& summary, const torch::Tensor& images, int64_t j,
                                int64_t scale) {
  const std::string name = "phi " + std::to_string(j);
  if (summary.outputs.attributes.select(1, j).max().item<double>() <= 0) {
    auto note = torch::ones({3, 16, 6 * 40});
    draw_text(note, name + ": never active on these samples", 4, 2);
    return note;
  }
  std::vector<torch::Tensor> row;
  for (int64_t k = 0; k < summary.top_samples.size(1); ++k)
    row.push_back(sample_picture(images[summary.top_samples[j][k].item<int64_t>()], scale, k == 0 ? name : ""));
  if (summary.maximised.defined()) row.push_back(image_picture(summary.maximised[j], scale, "maximised"));
  return side_by_side(row, 2);
}

}  // namespace prism
