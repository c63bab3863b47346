#include "mask_map.hpp"

#include <algorithm>
#include <cmath>

namespace attn {

MaskMap compute_mask_map(const Variant& v, const Problem& p) {
  const auto pattern = v.key_pattern(p);
  MaskMap m;
  m.heads = pattern->layout_heads();
  m.nq = p.Nq, m.nk = p.Nk;
  m.visible.resize(static_cast<std::size_t>(m.heads) * m.nq * m.nk);
#pragma omp parallel for schedule(dynamic, 16)
  for (long r = 0; r < m.heads * m.nq; ++r)
    pattern->mark_row(static_cast<int>(r / m.nq), r % m.nq, &m.visible[static_cast<std::size_t>(r) * m.nk]);
  return m;
}

GrayImage mask_image(const MaskMap& m, int max_px) {
  const long step = std::max<long>(1, (std::max(m.nq, m.nk) + max_px - 1) / max_px);  // pairs per pixel side
  const int w = static_cast<int>((m.nk + step - 1) / step), h = static_cast<int>((m.nq + step - 1) / step);
  const int gap = m.heads > 1 ? 4 : 0;
  GrayImage img;
  img.width = m.heads * w + (m.heads - 1) * gap;
  img.height = h;
  img.pixels.assign(static_cast<std::size_t>(img.width) * img.height, 96);  // grey between heads
  std::vector<long> seen(w), total(w);
  for (int hd = 0; hd < m.heads; ++hd)
    for (int y = 0; y < h; ++y) {
      std::fill(seen.begin(), seen.end(), 0);
      std::fill(total.begin(), total.end(), 0);
      for (long i = y * step; i < std::min(m.nq, (y + 1) * step); ++i) {
        const uint8_t* row = &m.visible[(static_cast<std::size_t>(hd) * m.nq + i) * m.nk];
        for (long j = 0; j < m.nk; ++j) seen[j / step] += row[j], ++total[j / step];
      }
      uint8_t* out = &img.pixels[static_cast<std::size_t>(y) * img.width + hd * (w + gap)];
      for (int x = 0; x < w; ++x)
        out[x] = static_cast<uint8_t>(std::lround(255.0 * seen[x] / total[x]));
    }
  return img;
}

}  // namespace attn
