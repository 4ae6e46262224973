// One self-contained HTML page: pictures inlined as PNG data URIs (drawn pixelated, so small images keep
// their pixels), SVG plots inline, tables, and markdown tables from result files. The layout wraps to the
// screen's width (no horizontal scrolling of the page; a wide table scrolls inside its own box), and a
// short script marks the page with the number of images that failed to decode and whether anything is wider
// than the screen, shown as a warning banner and readable by a headless browser test.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace prism {

// Base64 (RFC 4648) of bytes, for data URIs. Written here: no Debian C++ package offers it on its own.
std::string base64(const std::string& bytes);

class HtmlPage {
 public:
  explicit HtmlPage(std::string title);

  // A table of label → value pairs (provenance: model, data, options).
  void facts(const std::vector<std::pair<std::string, std::string>>& rows);
  void heading(int level, const std::string& text);
  void paragraph(const std::string& text);
  // A picture [C, H, W] in [0, 1], shown at `width` CSS pixels (0: its own width) with a caption below.
  void picture(const torch::Tensor& image, const std::string& caption, int64_t width = 0);
  // Figures between begin_gallery and end_gallery wrap in rows.
  void begin_gallery();
  void end_gallery();
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // Labelled horizontal bars of values in [0, 1] (class probabilities); `highlight` is drawn darker.
  void bars(const std::vector<std::pair<std::string, double>>& values, int64_t highlight);
  // `###` headings, pipe tables and plain paragraphs of a markdown result file.
  void markdown(const std::string& text);
  void svg(const std::string& svg);
  // Opens and closes a boxed section (one per sample, one per evaluation).
  void begin_section(const std::string& id);
  void end_section();

  // The whole document.
  std::string html() const;

 private:
  std::string title_, body_;
};

}  // namespace prism
