// `attnbench mask`: the (query, key) pairs a variant visits, as a 0/1 array and as a picture.
#pragma once
#include <cstdint>
#include <vector>

#include "variant.hpp"

namespace attn {

struct MaskMap {
  int heads = 1;  // 1 if every head reads the same keys, else H
  long nq = 0, nk = 0;
  std::vector<uint8_t> visible;  // [heads, nq, nk], 1 = visited
};

MaskMap compute_mask_map(const Variant& v, const Problem& p);

struct GrayImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // row by row, 0 black .. 255 white
};

// The heads side by side, separated by grey strips, each shrunk so its longer side is at most
// max_px: a pixel's brightness is the share of visited pairs in its block (white = all).
GrayImage mask_image(const MaskMap& m, int max_px);

}  // namespace attn
