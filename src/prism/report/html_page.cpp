#include "prism/report/html_page.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "prism/io/png.h"
#include "prism/report/svg_plot.h"

namespace prism {
namespace {

const char* const kStyle = R"(
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0 auto;padding:12px;max-width:1100px;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:1.4em}h3{font-size:1.05em}
section{border:1px solid #ddd;border-radius:6px;padding:8px 12px;margin:12px 0}
img{image-rendering:pixelated;image-rendering:crisp-edges;max-width:100%;height:auto}
figure{margin:4px;display:inline-block;vertical-align:top;max-width:100%}
figcaption{font-size:.8em;color:#555;max-width:100%;overflow-wrap:anywhere}
.gallery{display:flex;flex-wrap:wrap;gap:4px;align-items:flex-start}
.scroll{overflow-x:auto;max-width:100%}
.scroll td{white-space:nowrap}
table{border-collapse:collapse;font-size:.85em;margin:6px 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
.bar{display:flex;align-items:center;gap:6px;font-size:.8em}
.bar span:first-child{width:9em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar div{background:#9ecae1;height:.9em}.bar div.top{background:#3182bd}
svg{max-width:100%;height:auto}
#broken{display:none;background:#fdd;padding:6px;border:1px solid #c00}
)";

// On load: count images that did not decode and check that nothing is wider than the screen.
const char* const kSelfCheck = R"(
window.addEventListener('load',function(){
  var broken=0,images=document.images;
  for(var i=0;i<images.length;i++){if(!images[i].complete||images[i].naturalWidth===0)broken++;}
  document.body.setAttribute('data-images',images.length);
  document.body.setAttribute('data-broken-images',broken);
  document.body.setAttribute('data-overflow',document.documentElement.scrollWidth>window.innerWidth+1?'yes':'no');
  if(broken>0){var b=document.getElementById('broken');b.textContent=broken+' picture(s) failed to load';b.style.display='block';}
});
)";

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string inner = line.substr(line.find('|') + 1);
  if (!inner.empty() && inner.back() == '|') inner.pop_back();
  std::stringstream stream(inner);
  for (std::string cell; std::getline(stream, cell, '|');) {
    const auto first = cell.find_first_not_of(' '), last = cell.find_last_not_of(' ');
    cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
  }
  return cells;
}

}  // namespace

std::string base64(const std::string& bytes) {
  static const char* const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t a = static_cast<uint8_t>(bytes[i]);
    const uint32_t b = i + 1 < bytes.size() ? static_cast<uint8_t>(bytes[i + 1]) : 0;
    const uint32_t c = i + 2 < bytes.size() ? static_cast<uint8_t>(bytes[i + 2]) : 0;
    const uint32_t triple = (a << 16) | (b << 8) | c;
    out += alphabet[(triple >> 18) & 63];
    out += alphabet[(triple >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(triple >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[triple & 63] : '=';
  }
  return out;
}

HtmlPage::HtmlPage(std::string title) : title_(std::move(title)) {}

void HtmlPage::facts(const std::vector<std::pair<std::string, std::string>>& rows) {
  body_ += "<div class=\"scroll\"><table>";
  for (const auto& [label, value] : rows)
    body_ += "<tr><th>" + xml_escape(label) + "</th><td>" + xml_escape(value) + "</td></tr>";
  body_ += "</table></div>\n";
}

void HtmlPage::heading(int level, const std::string& text) {
  const char digit = static_cast<char>('0' + std::clamp(level, 1, 6));
  body_.append("<h").append(1, digit).append(">").append(xml_escape(text)).append("</h").append(1, digit).append(">\n");
}

void HtmlPage::paragraph(const std::string& text) { body_ += "<p>" + xml_escape(text) + "</p>\n"; }

void HtmlPage::picture(const torch::Tensor& image, const std::string& caption, int64_t width) {
  const int64_t shown = width > 0 ? width : image.size(-1);
  body_ += "<figure><img alt=\"" + xml_escape(caption) + "\" width=\"" + std::to_string(shown) +
           "\" src=\"data:image/png;base64," + base64(encode_png(image)) + "\">";
  if (!caption.empty()) body_ += "<figcaption>" + xml_escape(caption) + "</figcaption>";
  body_ += "</figure>\n";
}

void HtmlPage::begin_gallery() { body_ += "<div class=\"gallery\">\n"; }
void HtmlPage::end_gallery() { body_ += "</div>\n"; }

void HtmlPage::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  body_ += "<div class=\"scroll\"><table><tr>";
  for (const auto& h : header) body_ += "<th>" + xml_escape(h) + "</th>";
  body_ += "</tr>";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (const auto& cell : row) body_ += "<td>" + xml_escape(cell) + "</td>";
    body_ += "</tr>";
  }
  body_ += "</table></div>\n";
}

void HtmlPage::bars(const std::vector<std::pair<std::string, double>>& values, int64_t highlight) {
  for (size_t i = 0; i < values.size(); ++i) {
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.1f %%", 100 * values[i].second);
    const double width = std::clamp(values[i].second, 0.0, 1.0) * 12;  // em
    char style[48];
    std::snprintf(style, sizeof style, "width:%.2fem", width);
    body_ += "<div class=\"bar\"><span>" + xml_escape(values[i].first) + "</span><div" +
             (static_cast<int64_t>(i) == highlight ? " class=\"top\"" : "") + " style=\"" + style + "\"></div><span>" +
             percent + "</span></div>\n";
  }
}

void HtmlPage::markdown(const std::string& text) {
  std::stringstream stream(text);
  std::vector<std::vector<std::string>> rows;
  const auto flush_table = [&] {
    if (rows.empty()) return;
    const auto header = rows.front();
    rows.erase(rows.begin());
    table(header, rows);
    rows.clear();
  };
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty() && line[0] == '|') {
      if (line.find("---") == std::string::npos) rows.push_back(split_cells(line));
      continue;
    }
    flush_table();
    if (line.rfind("#", 0) == 0) {
      const auto level = line.find_first_not_of('#');
      heading(static_cast<int>(std::min<size_t>(level, 3)) + 1, line.substr(line.find_first_not_of("# ")));
    } else if (!line.empty()) {
      paragraph(line);
    }
  }
  flush_table();
}

void HtmlPage::svg(const std::string& svg) { body_ += "<div>" + svg + "</div>\n"; }

void HtmlPage::begin_section(const std::string& id) { body_ += "<section id=\"" + xml_escape(id) + "\">\n"; }
void HtmlPage::end_section() { body_ += "</section>\n"; }

std::string HtmlPage::html() const {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
         xml_escape(title_) + "</title><style>" + kStyle + "</style></head>\n<body>\n<div id=\"broken\"></div>\n<h1>" +
         xml_escape(title_) + "</h1>\n" + body_ + "<script>" + kSelfCheck + "</script>\n</body></html>\n";
}

}  // namespace prism
