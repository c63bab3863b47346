// A small RFC 4180 reader for the CSV attnbench writes, so tests can check cells by column name.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace attn::test {

// Rows of cells; a quoted cell may hold commas, doubled quotes and line breaks.
inline std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false, in_quotes = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') cell += '"', ++i;
      else if (c == '"') in_quotes = false;
      else cell += c;
    } else if (c == '"' && cell.empty() && !quoted) {
      in_quotes = quoted = true;
    } else if (c == ',') {
      rows.back().push_back(cell), cell.clear(), quoted = false;
    } else if (c == '\n') {
      rows.back().push_back(cell), cell.clear(), quoted = false;
      rows.emplace_back();
    } else {
      cell += c;
    }
  }
  if (!rows.back().empty() || !cell.empty()) rows.back().push_back(cell);
  else rows.pop_back();
  return rows;
}

// Each data row as column name -> cell (the first row is the header).
inline std::vector<std::map<std::string, std::string>> csv_records(const std::string& text) {
  const auto rows = parse_csv(text);
  std::vector<std::map<std::string, std::string>> out;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    std::map<std::string, std::string> m;
    for (std::size_t i = 0; i < rows[r].size() && i < rows[0].size(); ++i) m[rows[0][i]] = rows[r][i];
    out.push_back(m);
  }
  return out;
}

}  // namespace attn::test
