// Renders preset tables as Markdown, CSV or LaTeX (booktabs).
#pragma once
#include <string>
#include <vector>

#include "table_presets.hpp"

namespace attn {

// Text: aligned columns for a terminal (title line, table, notes), not for papers.
enum class TableFormat { Markdown, Csv, Latex, Text };

// Throws UserError for anything but md, csv or latex.
TableFormat parse_table_format(const std::string& name);
// Markdown: "### title", the table, notes as "_..._" lines.
// CSV: the header and the rows (RFC 4180), nothing else: give it one table (PresetOutput::flat)
// so that the file has one header line.
// LaTeX: one table environment per table, caption = title, notes as a footnotesize line.
std::string render_tables(const std::vector<Table>& tables, TableFormat format);
// What `attnbench table` prints: the tables, or for CSV the flat table.
std::string render_preset(const PresetOutput& out, TableFormat format);

}  // namespace attn
