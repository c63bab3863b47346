// attnbench mask: which (query, key) pairs a variant visits at one sequence length, written as
// uint8 .npy [1 or H, N, N] and optionally as a grayscale PNG (white = visited).
#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdlib>

#include "commands.hpp"
#include "run_options.hpp"
#include "errors.hpp"
#include "mask_map.hpp"
#include "memory.hpp"
#include "npy.hpp"
#include "output_file.hpp"
#include "png.hpp"
#include "variant.hpp"

namespace po = boost::program_options;

namespace attn {

namespace {
// "4096" or "4k" (= 4096).
long parse_length(const std::string& text, const std::string& flag) {
  char* end = nullptr;
  errno = 0;
  long x = std::strtol(text.c_str(), &end, 10);
  // The range check before the multiply: a huge x times 1024 would overflow.
  if (end != text.c_str() && (*end == 'k' || *end == 'K') && end[1] == '\0' && x <= (1L << 20)) x *= 1024, ++end;
  if (text.empty() || *end != '\0' || errno == ERANGE || x < 1 || x > (1L << 20))
    throw UserError(flag + " must be an integer in 1..1048576 (1k = 1024), got '" + text + "'");
  return x;
}
}  // namespace

int cmd_mask(int argc, const char* const* argv) {
  std::string variant_spec, seq_text, out_path, png_path;
  int heads = 1, png_max = 1024;
  po::options_description desc("attnbench mask --variant SPEC --seq N [--causal] --out MASK.npy [--png MASK.png]");
  desc.add_options()("help,h", "this help")
      ("variant", po::value(&variant_spec)->required(), "variant spec, NAME[:key=value,...] (see attnbench list)")
      ("seq", po::value(&seq_text)->required(), "sequence length N (queries = keys), e.g. 512 or 4k")
      ("causal", po::bool_switch(), "causal mask")
      ("heads", po::value(&heads), "query heads H (matters for per-head layouts; default 1)")
      ("out", po::value(&out_path)->required(), "uint8 .npy [1 or H, N, N], 1 = the query reads the key")
      ("png", po::value(&png_path), "also draw it as a grayscale PNG, white = visited")
      ("png-max", po::value(&png_max), "longest side of one head's picture in pixels (default 1024)");
  po::variables_map vm;
  if (!parse_command_line(argc, argv, desc, vm)) return 0;
  if (heads < 1 || heads > 4096) throw UserError("--heads must be in 1..4096, got " + std::to_string(heads));
  if (png_max < 1 || png_max > 16384) throw UserError("--png-max must be in 1..16384, got " + std::to_string(png_max));

  const auto variant = make_variant(variant_spec);
  std::vector<NamedPath> inputs;
  for (const std::string& file : variant->input_files()) inputs.push_back({"--variant", file});
  check_outputs({{"--out", out_path}, {"--png", png_path}}, inputs);
  Problem p;
  p.H = heads, p.Hkv = 1, p.D = 64;
  p.Nq = p.Nk = static_cast<int>(parse_length(seq_text, "--seq"));
  p.causal = vm["causal"].as<bool>();
  check_problem(*variant, p);
  // Per-head layouts need H planes; ask for the worst case before building anything.
  require_memory(static_cast<std::size_t>(heads) * p.Nq * p.Nk, "the mask of " + variant->spec());
  const MaskMap map = compute_mask_map(*variant, p);
  if (!png_path.empty()) {
    const GrayImage img = mask_image(map, png_max);
    write_file_atomic(png_path, encode_png_gray8(img.width, img.height, img.pixels));
  }
  write_npy_u8(out_path, {map.heads, map.nq, map.nk}, map.visible.data());
  return 0;
}

}  // namespace attn
