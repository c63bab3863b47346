// Variable-length batches, attention weights and masks (issue 9):
//  - with random lengths, every variant's batch item b equals the item computed alone at its
//    own length (B=1, Nq=Nk=len_b) against the float64 reference; padded rows are exactly 0;
//  - `run --weights` for dense equals the float64 softmax probabilities;
//  - every variant's weights are 0 on keys it does not visit and sum to 1 on rows that see one;
//  - `mask` writes the visibility rule, and its PNG decodes (with zlib) to the visited shares.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstring>
#include <random>

#include "cli_util.hpp"
#include "errors.hpp"
#include "independent_reference.hpp"
#include "input_file.hpp"
#include "key_pattern.hpp"
#include "local_inputs.hpp"
#include "mass_recall.hpp"
#include "mask_map.hpp"
#include "npy.hpp"
#include "png.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
// The slice of item b, first len rows of every head, as its own B=1 problem.
test::Inputs item_alone(const test::Inputs& in, int b, int len) {
  const Problem& p = in.p;
  test::Inputs one;
  one.p = p;
  one.p.B = 1, one.p.Nq = one.p.Nk = len, one.p.lens.clear();
  for (int h = 0; h < p.H; ++h)
    for (long i = 0; i < len; ++i)
      for (int d = 0; d < p.D; ++d) one.q.push_back(in.q[((static_cast<long>(b) * p.H + h) * p.Nq + i) * p.D + d]);
  for (int h = 0; h < p.Hkv; ++h)
    for (long j = 0; j < len; ++j)
      for (int d = 0; d < p.D; ++d) {
        const long at = ((static_cast<long>(b) * p.Hkv + h) * p.Nk + j) * p.D + d;
        one.k.push_back(in.k[at]), one.v.push_back(in.v[at]);
      }
  return one;
}
}  // namespace

// Every variant with its defaults, plus sparse settings narrow enough to leave holes at N=150.
// (Random block layouts are drawn once for the padded length, so items use their corner of
// that layout rather than a layout drawn for their own length: not compared here.)
std::vector<std::string> specs_to_check() {
  std::vector<std::string> specs;
  for (const auto& info : variant_registry()) specs.push_back(info.name);
  for (const std::string spec : {"window:left=10,right=3", "block_sparse:pattern=longformer,block=16",
                                 "block_sparse:pattern=strided,block=8", "sink:sink=3,window=9",
                                 "dilated:left=30,right=5,dilation=3", "linear:map=relu"})
    if (find_variant(spec.substr(0, spec.find(':')))) specs.push_back(spec);
  return specs;
}

TEST_CASE("with random lengths every variant matches each item computed alone at its length") {
  const int B = 4, H = 2, Hkv = 1, N = 150, D = 24;
  std::mt19937 rng(11);
  for (const auto& spec : specs_to_check()) {
    const auto variant = make_variant(spec);
    const auto& info = *variant;
    for (bool causal : {false, true}) {
      auto in = test::make_inputs(B, H, Hkv, N, N, D, causal, 5);
      in.lens = {N, 1, static_cast<int>(rng() % N) + 1, static_cast<int>(rng() % N) + 1};
      in.p.lens = in.lens;
      if (!variant->unsupported_reason(in.p).empty()) continue;
      for (Isa isa : supported_isas()) {
        CAPTURE(info.spec());
        CAPTURE(std::string(isa_name(isa)));
        CAPTURE(causal);
        const auto out = test::run(*variant, in, isa);
        for (int b = 0; b < B; ++b) {
          const int len = in.lens[b];
          INFO("item ", b, " len ", len);
          const auto one = item_alone(in, b, len);
          const auto ref = test::reference(*variant, one);
          std::vector<float> got, padding;
          for (int h = 0; h < H; ++h) {
            const float* o = &out[((static_cast<std::size_t>(b) * H + h) * N) * D];
            got.insert(got.end(), o, o + static_cast<long>(len) * D);
            padding.insert(padding.end(), o + static_cast<long>(len) * D, o + static_cast<long>(N) * D);
          }
          CHECK(test::rel_err(got, ref) < 1e-5);
          CHECK(std::all_of(padding.begin(), padding.end(), [](float x) { return x == 0.0f; }));
        }
      }
    }
  }
}

TEST_CASE("visible pairs with lengths count only real tokens") {
  const auto dense = make_variant("dense");
  auto in = test::make_inputs(3, 2, 2, 40, 40, 8, true, 1);
  in.lens = {40, 7, 19};
  in.p.lens = in.lens;
  CHECK(dense->visible_pairs(in.p) == 2.0 * (40 * 41 / 2 + 7 * 8 / 2 + 19 * 20 / 2));
}

TEST_CASE("run --weights for dense writes the float64 softmax probabilities") {
  const int B = 2, H = 3, Hkv = 1, N = 70, D = 16;
  for (bool causal : {false, true}) {
    auto in = test::make_inputs(B, H, Hkv, N, N, D, causal, 3);
    in.lens = {N, 33};
    const auto path = [](const char* n) { return test::temp_path(std::string("maps_") + n); };
    write_npy(path("q.npy"), {B, H, N, D}, in.q.data());
    write_npy(path("k.npy"), {B, Hkv, N, D}, in.k.data());
    write_npy(path("v.npy"), {B, Hkv, N, D}, in.v.data());
    const std::vector<uint8_t> lens_u8(in.lens.begin(), in.lens.end());  // lengths may be any int dtype
    write_npy_u8(path("lens.npy"), {B}, lens_u8.data());
    const auto r = test::run_attnbench("run --variant dense --q " + path("q.npy") + " --k " + path("k.npy") + " --v " +
                                       path("v.npy") + " --out " + path("o.npy") + " --lens " + path("lens.npy") +
                                       " --weights " + path("w.npy") + " --weights-heads 2,0 --weights-rows 20:60" +
                                       (causal ? " --causal" : ""));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const NpyArray w = read_npy_floats(path("w.npy"));
    REQUIRE(w.shape == std::vector<long>{B, 2, 40, N});
    double max_err = 0;
    const int heads[] = {2, 0};
    for (int b = 0; b < B; ++b)
      for (int hi = 0; hi < 2; ++hi)
        for (long ri = 0; ri < 40; ++ri) {
          const long i = 20 + ri;
          // Independent float64 softmax over the item's own keys (causal: j <= i).
          std::vector<double> want(N, 0.0);
          if (i < in.lens[b]) {
            const long last = causal ? i : in.lens[b] - 1;
            double mx = -INFINITY, sum = 0;
            for (long j = 0; j <= last; ++j) {
              double s = 0;
              for (int d = 0; d < D; ++d)
                s += double(in.q[((b * H + heads[hi]) * N + i) * D + d]) * in.k[(b * N + j) * D + d];
              want[j] = s / std::sqrt(double(D));
              mx = std::max(mx, want[j]);
            }
            for (long j = 0; j <= last; ++j) sum += (want[j] = std::exp(want[j] - mx));
            for (long j = 0; j <= last; ++j) want[j] /= sum;
          }
          for (long j = 0; j < N; ++j)
            max_err = std::max(max_err, std::abs(want[j] - w.data[((b * 2 + hi) * 40 + ri) * N + j]));
        }
    CHECK(max_err < 1e-6);
  }
}

TEST_CASE("run --weights refuses what it cannot do, in one line") {
  const auto q = test::write_tensor("maps_q.npy", {1, 2, 30, 8});
  const std::string io = " --q " + q + " --k " + q + " --v " + q + " --out " + test::temp_path("maps_o.npy");
  const std::string w = " --weights " + test::temp_path("maps_w_bad.npy");
  for (const std::string& args : {"run --variant dense" + io + w + " --weights-max-mb 0.001",
                                  "run --variant dense" + io + w + " --weights-heads 2",
                                  "run --variant dense" + io + w + " --weights-rows 9:9",
                                  "run --variant dense" + io + w + " --weights-rows 1,x",
                                  "run --variant dense" + io + " --weights-rows 1"}) {
    const auto r = test::run_attnbench(args);
    CAPTURE(args);
    CHECK(r.exit_code == 2);
    CHECK(r.lines() == 1);
  }
}

TEST_CASE("every variant's weights are 0 where it does not look and sum to 1 where it does") {
  for (const auto& spec : specs_to_check()) {
    const auto variant = make_variant(spec);
    if (!variant->has_weights()) continue;
    for (bool causal : {false, true}) {
      auto in = test::make_inputs(1, 2, 1, 130, 130, 8, causal, 9);
      if (!variant->unsupported_reason(in.p).empty()) continue;
      const std::vector<int> heads = {0, 1};
      const std::vector<long> rows = test::all_rows(in.p);
      std::vector<float> w(2 * 130 * 130);
      variant->weights(in.p, in.tensors(), heads, rows, w.data());
      const auto pattern = variant->key_pattern(in.p);
      std::vector<uint8_t> seen(130);
      bool outside_zero = true, sums_one = true;
      for (int h = 0; h < 2; ++h)
        for (long i = 0; i < 130; ++i) {
          pattern->mark_row(h, i, seen.data());
          double sum = 0;
          bool any = false;
          for (long j = 0; j < 130; ++j) {
            const float x = w[(h * 130 + i) * 130 + j];
            if (!seen[j] && x != 0.0f) outside_zero = false;
            sum += x, any |= seen[j] != 0;
          }
          // relu features of a query can all be 0: that row attends to nothing (its output is 0).
          const bool no_features = sum == 0.0 && spec.rfind("linear:map=relu", 0) == 0;
          if (std::abs(sum - (any ? 1.0 : 0.0)) > 1e-5 && !no_features) sums_one = false;
        }
      CAPTURE(spec);
      CAPTURE(causal);
      CHECK(outside_zero);
      CHECK(sums_one);
    }
  }
}

TEST_CASE("mask writes the visibility rule as .npy and a PNG that decodes to the visited shares") {
  const std::string npy = test::temp_path("maps_mask.npy"), png = test::temp_path("maps_mask.png");
  for (bool causal : {false, true}) {
    const auto r = test::run_attnbench("mask --variant dense --seq 300 --out " + npy + " --png " + png +
                                       " --png-max 128" + (causal ? " --causal" : ""));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const NpyInts m = read_npy_ints(npy);
    REQUIRE(m.shape == std::vector<long>{1, 300, 300});
    long wrong = 0;
    for (long i = 0; i < 300; ++i)
      for (long j = 0; j < 300; ++j) wrong += m.data[i * 300 + j] != (!causal || j <= i ? 1 : 0);
    CHECK(wrong == 0);

    // Decode the PNG with zlib: 300 keys at most 128 px -> 3 keys per pixel, 100 x 100.
    const std::string bytes = read_file_capped(png, 1 << 20, "PNG");
    REQUIRE(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    auto u32 = [&](std::size_t at) {
      return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
             (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
    };
    std::string idat;
    long width = 0, height = 0;
    for (std::size_t at = 8; at + 12 <= bytes.size();) {
      const uint32_t len = u32(at);
      const std::string type = bytes.substr(at + 4, 4);
      CHECK(::crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + at + 4), len + 4) == u32(at + 8 + len));
      if (type == "IHDR") width = u32(at + 8), height = u32(at + 12);
      if (type == "IDAT") idat += bytes.substr(at + 8, len);
      at += 12 + len;
    }
    REQUIRE(width == 100);
    REQUIRE(height == 100);
    std::vector<uint8_t> raw((width + 1) * height);
    uLongf raw_len = raw.size();
    REQUIRE(uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
    REQUIRE(raw_len == raw.size());
    // Undo the scanline filters: 0 (none) or 2 (up: the byte above is added back, mod 256).
    std::vector<uint8_t> pixels(width * height);
    for (long y = 0; y < height; ++y) {
      const uint8_t filter = raw[y * (width + 1)];
      REQUIRE((filter == 0 || filter == 2));
      for (long x = 0; x < width; ++x)
        pixels[y * width + x] = uint8_t(raw[y * (width + 1) + 1 + x] + (filter == 2 && y > 0 ? pixels[(y - 1) * width + x] : 0));
    }
    long off = 0;
    for (long y = 0; y < height; ++y)
      for (long x = 0; x < width; ++x) {
        long seen = 0;
        for (long i = 3 * y; i < 3 * y + 3; ++i)
          for (long j = 3 * x; j < 3 * x + 3; ++j) seen += m.data[i * 300 + j];
        off += std::abs(int(pixels[y * width + x]) - int(std::lround(255.0 * seen / 9))) > 0;
      }
    CHECK(off == 0);
  }
  // Compressed: a two-colour 2052 x 1024 picture (two heads side by side) is about 4 MB raw.
  const auto r = test::run_attnbench("mask --variant block_sparse:pattern=bigbird,block=64 --seq 1024 --heads 2 --out " +
                                     npy + " --png " + png + " --png-max 1024");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(read_file_capped(png, 1 << 22, "PNG").size() < 100000);
}

TEST_CASE("mask of every variant agrees with the keys its reference reads") {
  // A key the mask calls invisible must not change the variant's reference output.
  for (const auto& spec : specs_to_check()) {
    const auto variant = make_variant(spec);
    auto in = test::make_inputs(1, 2, 2, 96, 96, 8, false, 4);
    if (!variant->unsupported_reason(in.p).empty()) continue;
    const MaskMap m = compute_mask_map(*variant, in.p);
    const auto before = test::reference(*variant, in);
    // Perturb K and V of every key that no row of head 0 reads.
    std::vector<uint8_t> read_by_any(96, 0);
    for (long i = 0; i < 96; ++i)
      for (long j = 0; j < 96; ++j) read_by_any[j] |= m.visible[i * 96 + j];
    for (long j = 0; j < 96; ++j)
      if (!read_by_any[j])
        for (int d = 0; d < 8; ++d) in.k[j * 8 + d] += 5.0f, in.v[j * 8 + d] += 5.0f;
    const auto after = test::reference(*variant, in);
    CAPTURE(spec);
    double diff = 0;
    for (std::size_t x = 0; x < 96 * 8; ++x) diff = std::max(diff, std::abs(before[x] - after[x]));
    CHECK(diff == 0.0);
  }
}

TEST_CASE("mass_recall: 1 for dense, below 1 for window and bigbird, higher on local inputs") {
  auto gaussian = test::make_inputs(1, 2, 1, 256, 256, 32, false, 21);
  auto local = gaussian;
  fill_local_inputs(local.p, 21, local.q.data(), local.k.data(), local.v.data());
  const auto rows = test::all_rows(gaussian.p);
  auto recall = [&](const std::string& spec, const test::Inputs& in) {
    return measure_mass_recall(*make_variant(spec), in.p, in.tensors(), rows);
  };
  const MassRecall dense = recall("dense", gaussian);
  CHECK(dense.mean == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(dense.min == doctest::Approx(1.0).epsilon(1e-12));
  if (find_variant("window")) {
    const MassRecall g = recall("window:left=16,right=0", gaussian), l = recall("window:left=16,right=0", local);
    CHECK(g.mean < 0.5);  // 17 of 256 keys on inputs without locality
    CHECK(g.min <= g.mean);
    MESSAGE("window:left=16 mass_recall gaussian ", g.mean, " local ", l.mean);
    CHECK(l.mean > g.mean + 0.2);
  }
  if (find_variant("block_sparse")) {
    const MassRecall bb = recall("block_sparse:pattern=bigbird,block=16", gaussian);
    CHECK(bb.mean < 1.0);
    CHECK(bb.mean > 0.0);
  }
  // With lengths, only real rows count and padded keys carry no mass.
  gaussian.lens = {100};
  gaussian.p.lens = gaussian.lens;
  CHECK(recall("dense", gaussian).mean == doctest::Approx(1.0).epsilon(1e-12));
}
