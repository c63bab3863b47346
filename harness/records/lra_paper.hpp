// Long Range Arena's own efficiency numbers (Tay et al., "Long Range Arena: A Benchmark for
// Efficient Transformers", ICLR 2021, Table 2: byte-level text classification, batch 32, 4x4 TPU
// v3, training steps), so `table --preset lra` can print them beside attnbench's measurements.
#pragma once
#include <string>

namespace attn {

struct LraPaperRow {
  const char* model;     // the paper's row name
  double speed[4];       // relative steps/s vs the Transformer at N = 1k, 2k, 3k, 4k (the bracketed figures)
  double memory_gb[4];   // peak memory per TPU device (GB) at N = 1k, 2k, 3k, 4k
};

// The paper's row a variant spec stands for (dense = Transformer, window = Local Attention,
// block_sparse:pattern=bigbird = BigBird, linear = Linear Trans., linear:map=favor = Performer,
// and the variants named after their paper), or null when the paper has none.
const LraPaperRow* lra_paper_row(const std::string& variant);
// The Transformer row (what the paper's memory ratios divide by).
const LraPaperRow& lra_paper_transformer();
// Index 0..3 of N = 1k..4k in the paper's columns, or -1.
int lra_paper_column(long seq_q, long seq_kv);
// Where the numbers come from, for the table notes.
const char* lra_paper_citation();

}  // namespace attn
