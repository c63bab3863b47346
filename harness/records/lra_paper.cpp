#include "lra_paper.hpp"

namespace attn {

namespace {
// Table 2 in the paper's row order. Speed: the relative figures printed in brackets (the
// Transformer's are 1 by definition); memory: the GB columns as printed.
const LraPaperRow kRows[] = {
    {"Transformer", {1.0, 1.0, 1.0, 1.0}, {0.85, 2.65, 5.51, 9.48}},
    {"Local Attention", {1.1, 1.7, 3.2, 5.3}, {0.42, 0.76, 1.06, 1.37}},
    {"Linformer", {1.2, 1.9, 3.7, 5.5}, {0.37, 0.55, 0.99, 0.99}},
    {"Reformer", {0.5, 0.4, 0.7, 0.8}, {0.48, 0.99, 1.53, 2.28}},
    {"Sinkhorn Trans.", {1.1, 1.6, 2.9, 3.8}, {0.47, 0.83, 1.13, 1.48}},
    {"Synthesizer", {1.1, 1.2, 2.9, 1.4}, {0.65, 1.98, 4.09, 6.99}},
    {"BigBird", {0.9, 0.8, 1.2, 1.1}, {0.77, 1.49, 2.18, 2.88}},
    {"Linear Trans.", {1.1, 1.9, 3.7, 5.6}, {0.37, 0.57, 0.80, 1.03}},
    {"Performer", {1.2, 1.9, 3.8, 5.7}, {0.37, 0.59, 0.82, 1.06}},
};

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
}  // namespace

const LraPaperRow* lra_paper_row(const std::string& variant) {
  const std::string name = variant.substr(0, variant.find(':'));
  if (name == "dense") return &kRows[0];
  if (name == "window") return &kRows[1];
  if (name == "linformer") return &kRows[2];
  if (name == "reformer") return &kRows[3];
  if (name == "sinkhorn") return &kRows[4];
  if (name == "synthesizer") return &kRows[5];
  if (name == "block_sparse" && has(variant, "pattern=bigbird")) return &kRows[6];
  if (name == "linear") return has(variant, "map=favor") ? &kRows[8] : has(variant, "map=relu") ? nullptr : &kRows[7];
  return nullptr;
}

const LraPaperRow& lra_paper_transformer() { return kRows[0]; }

int lra_paper_column(long seq_q, long seq_kv) {
  if (seq_q != seq_kv || seq_kv % 1024 != 0 || seq_kv < 1024 || seq_kv > 4096) return -1;
  return static_cast<int>(seq_kv / 1024) - 1;
}

const char* lra_paper_citation() {
  return "paper = Tay et al., Long Range Arena, ICLR 2021, Table 2 (training steps/s relative to the Transformer, "
         "and peak memory per TPU v3 device divided by the Transformer's; batch 32, byte-level text task, whole "
         "6-layer models, not attention alone). Figures as transcribed in github.com/viktor-shcherb/msc_thesis "
         "(references/2021-05-long-range-arena/sections/03_experimental-results.md), not re-checked against the PDF";
}

}  // namespace attn
