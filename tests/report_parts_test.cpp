// The report's parts with known answers: the diverging colour map, Base64, XML escaping, axis ticks, the SVG
// and raster line plots, the matrix picture and the HTML page builder (its pictures decode to what was given).
#include <regex>

#include "prism/report/html_page.h"
#include "test_util.h"

namespace prism {
namespace {

torch::Tensor colour_at(const torch::Tensor& picture, int64_t y, int64_t x) {
  return picture.index({torch::indexing::Slice(), y, x});
}

TEST(Colormap, WhiteAtZeroRedAtTheMaximumBlueAtMinusTheMaximumAndLinearBetween) {
  const auto colours = colorize(torch::tensor({{0.0f, 2.0f, -2.0f, 1.0f, -0.5f}}));
  ASSERT_EQ(colours.sizes(), (std::vector<int64_t>{3, 1, 5}));
  const auto red = torch::tensor({0.71f, 0.02f, 0.15f}), blue = torch::tensor({0.23f, 0.30f, 0.75f});
  const auto white = torch::ones({3});
  EXPECT_TRUE(torch::allclose(colour_at(colours, 0, 0), white));
  EXPECT_TRUE(torch::allclose(colour_at(colours, 0, 1), red));
  EXPECT_TRUE(torch::allclose(colour_at(colours, 0, 2), blue));
  EXPECT_TRUE(torch::allclose(colour_at(colours, 0, 3), (white + red) / 2));            // half the maximum
  EXPECT_TRUE(torch::allclose(colour_at(colours, 0, 4), 0.75 * white + 0.25 * blue));  // a quarter, negative
  // Normalised by max |map|: scaling the map changes nothing; an all-zero map is white, not NaN.
  EXPECT_TRUE(torch::allclose(colorize(torch::tensor({{0.0f, 20.0f, -20.0f, 10.0f, -5.0f}})), colours));
  EXPECT_TRUE(torch::equal(colorize(torch::zeros({4, 4})), torch::ones({3, 4, 4})));
}

TEST(Base64, MatchesTheRfc4648TestVectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\xfe\x00", 3)), "//4A");  // the last two letters of the alphabet, and NUL
}

TEST(SvgPlot, EscapesTextTicksRoundValuesAndDrawsEverySeries) {
  EXPECT_EQ(xml_escape("<a & 'b'> \"c\""), "&lt;a &amp; &#39;b&#39;&gt; &quot;c&quot;");
  const auto expect_ticks = [](const std::vector<double>& ticks, const std::vector<double>& expected) {
    ASSERT_EQ(ticks.size(), expected.size());
    for (size_t i = 0; i < ticks.size(); ++i) EXPECT_NEAR(ticks[i], expected[i], 1e-12);
  };
  expect_ticks(nice_ticks(0, 1, 5), {0, 0.2, 0.4, 0.6, 0.8, 1});
  expect_ticks(nice_ticks(-3.7, 41.2, 6), {0, 10, 20, 30, 40});  // raw step 7.5 rounds up to 10
  expect_ticks(nice_ticks(0.013, 0.0171, 4), {0.014, 0.016});  // raw step 0.001025 rounds up to 0.002

  LinePlot plot;
  plot.title = "MoRF <& LeRF>";
  plot.x_label = "pixels removed (%)";
  plot.y_label = "probability";
  plot.series.push_back({"saliency", {0, 50, 100}, {1.0, 0.5, 0.1}});
  plot.series.push_back({"random", {0, 50, 100}, {1.0, 0.9, 0.1}, true});
  const auto range = plot_range(plot);
  EXPECT_EQ(range.x_low, 0);
  EXPECT_EQ(range.x_high, 100);
  EXPECT_LE(range.y_low, 0.1);
  EXPECT_GE(range.y_high, 1.0);
  const auto svg = render_svg(plot);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("MoRF &lt;&amp; LeRF&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("MoRF <&"), std::string::npos);
  const std::regex polyline("<polyline[^>]*points=\"([^\"]*)\"");
  std::vector<std::string> lines;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline); it != std::sregex_iterator(); ++it)
    lines.push_back((*it)[1]);
  ASSERT_EQ(lines.size(), 2u);
  // Each polyline holds its series' three points, with y growing downwards: 1.0 above 0.5 above 0.1.
  const std::regex point(R"(([-\d.]+),([-\d.]+))");
  std::vector<double> ys;
  for (auto it = std::sregex_iterator(lines[0].begin(), lines[0].end(), point); it != std::sregex_iterator(); ++it)
    ys.push_back(std::stod((*it)[2]));
  ASSERT_EQ(ys.size(), 3u);
  EXPECT_LT(ys[0], ys[1]);
  EXPECT_LT(ys[1], ys[2]);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);  // the dashed control
  EXPECT_NE(svg.find(plot_colour(plot.series[0], 0)), std::string::npos);
}

TEST(RasterPlot, DrawsTheSeriesInTheirColoursOnWhite) {
  LinePlot plot;
  plot.title = "accuracy";
  plot.series.push_back({"knn", {0, 1, 2, 3}, {0.2, 0.4, 0.6, 0.8}});
  const auto picture = render_picture(plot, 400, 300);
  ASSERT_EQ(picture.sizes(), (std::vector<int64_t>{3, 300, 400}));
  EXPECT_GE(picture.min().item<float>(), 0.0f);
  EXPECT_LE(picture.max().item<float>(), 1.0f);
  EXPECT_GT((picture == 1).all(0).to(torch::kFloat32).mean().item<float>(), 0.5f);  // mostly white
  // Pixels of the series' colour exist (the line), within rounding of the colour's 8-bit value.
  const std::string hex = plot_colour(plot.series[0], 0);
  const auto channel = [&](int i) { return std::stoi(hex.substr(1 + 2 * i, 2), nullptr, 16) / 255.0f; };
  const auto colour = torch::tensor({channel(0), channel(1), channel(2)}).view({3, 1, 1});
  EXPECT_GT(((picture - colour).abs() < 0.02).all(0).sum().item<int64_t>(), 100);
}

TEST(MatrixPicture, CellsHoldTheColourMapOfTheirValues) {
  const auto matrix = torch::tensor({{1.0f, -1.0f}, {0.0f, 0.5f}});
  const auto picture = matrix_picture(matrix, {"a", "b"}, {"x", "y"}, "", 16);
  const auto colours = colorize(matrix);
  // The cells are the last 32 × 32 pixels' 16-pixel squares (labels sit left and above): find the red cell.
  const auto red = colour_at(colours, 0, 0).view({3, 1, 1});
  const auto is_red = ((picture - red).abs() < 1e-5).all(0);
  EXPECT_EQ(is_red.sum().item<int64_t>(), 16 * 16);
  const auto white = ((picture - colour_at(colours, 1, 0).view({3, 1, 1})).abs() < 1e-5).all(0);
  EXPECT_GE(white.sum().item<int64_t>(), 16 * 16);  // the zero cell is white, like the background
}

TEST(HtmlPage, InlinesPicturesThatDecodeToWhatWasGivenAndRendersMarkdownTables) {
  HtmlPage page("a <test> page");
  auto picture = torch::zeros({3, 4, 5});
  picture[0].fill_(1);         // red
  picture[2][3][4] = 1;        // one magenta pixel
  page.picture(picture, "caption & more");
  page.markdown("### Results\n\n| method | score |\n|---|---|\n| saliency | 0.5 |\n| random | 0.1 |\n\nA closing line.");
  page.table({"name", "value"}, {{"C", "0.001"}});
  const auto html = page.html();
  EXPECT_NE(html.find("<title>a &lt;test&gt; page</title>"), std::string::npos);
  EXPECT_NE(html.find("caption &amp; more"), std::string::npos);
  const std::regex data_uri("data:image/png;base64,([A-Za-z0-9+/=]+)");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(html, match, data_uri));
  const std::string encoded = match[1];
  // Decode the Base64 here and the PNG with stb: the same pixels, 8-bit.
  std::string bytes;
  int bits = 0, buffer = 0;
  for (const char c : encoded) {
    if (c == '=') break;
    const auto position = std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/").find(c);
    buffer = (buffer << 6) | static_cast<int>(position);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  const auto decoded = decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 3, "page");
  EXPECT_TRUE(torch::allclose(decoded.to(torch::kFloat32) / (decoded.scalar_type() == torch::kUInt8 ? 255.0 : 1.0),
                              picture, 1e-6, 1e-6));
  EXPECT_NE(html.find("<th>method</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>saliency</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>0.1</td>"), std::string::npos);
  EXPECT_NE(html.find("Results</h"), std::string::npos);
  EXPECT_NE(html.find("A closing line."), std::string::npos);
  EXPECT_NE(html.find("<td>0.001</td>"), std::string::npos);
  EXPECT_EQ(html.find("|---|"), std::string::npos);  // the separator row is not shown as text
}

}  // namespace
}  // namespace prism
