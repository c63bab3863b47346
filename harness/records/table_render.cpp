#include "table_render.hpp"

#include <algorithm>

#include "errors.hpp"
#include "printable.hpp"

namespace attn {

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

std::string md_cell(std::string s) {
  replace_all(s, "|", "\\|");
  return s;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = s;
  replace_all(q, "\"", "\"\"");
  return "\"" + q + "\"";
}

std::string latex_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\textbackslash{}"; break;
      case '&': case '%': case '$': case '#': case '_': case '{': case '}': out += '\\'; out += c; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      default: out += c;
    }
  }
  replace_all(out, "—", "---");
  return out;
}

// "1.23x" becomes 1.23$\times$ so ratios read as in the papers.
std::string latex_cell(const std::string& s) {
  if (s.size() > 1 && s.back() == 'x' && s.find_first_not_of("0123456789.") == s.size() - 1)
    return s.substr(0, s.size() - 1) + "$\\times$";
  return latex_text(s);
}

// Titles, notes and cells quote file names and variant specs from the records: control bytes
// in them are escaped once here, before any format adds its own quoting.
Table printable_table(const Table& t) {
  Table out = t;
  out.title = printable(t.title);
  for (auto& n : out.notes) n = printable(n);
  for (auto& h : out.header) h = printable(h);
  for (auto& row : out.rows)
    for (auto& c : row) c = printable(c);
  return out;
}

std::string render_markdown(const Table& t) {
  std::string out = "### " + md_cell(t.title) + "\n\n|";
  for (const auto& h : t.header) out += " " + md_cell(h) + " |";
  out += "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) out += i == 0 ? "---|" : "---:|";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& c : row) out += " " + md_cell(c) + " |";
    out += "\n";
  }
  out += "\n";
  for (const auto& n : t.notes) out += "_" + md_cell(n) + "_  \n";
  return out;
}

// No title or note lines: '#' comments and a second header break pandas.read_csv.
std::string render_csv(const Table& t) {
  std::string out;
  for (const auto* row : {&t.header}) {
    for (std::size_t i = 0; i < row->size(); ++i) out += (i ? "," : "") + csv_cell((*row)[i]);
    out += "\n";
  }
  for (const auto& row : t.rows) {
    for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csv_cell(row[i]);
    out += "\n";
  }
  return out;
}

std::string render_latex(const Table& t) {
  std::string out = "\\begin{table}[t]\n\\centering\n\\caption{" + latex_text(t.title) + "}\n\\begin{tabular}{l";
  out += std::string(t.header.size() - 1, 'r') + "}\n\\toprule\n";
  for (std::size_t i = 0; i < t.header.size(); ++i) out += (i ? " & " : "") + latex_text(t.header[i]);
  out += " \\\\\n\\midrule\n";
  for (const auto& row : t.rows) {
    for (std::size_t i = 0; i < row.size(); ++i) out += (i ? " & " : "") + (i ? latex_cell(row[i]) : "\\texttt{" + latex_text(row[i]) + "}");
    out += " \\\\\n";
  }
  out += "\\bottomrule\n\\end{tabular}\n";
  if (!t.notes.empty()) {
    out += "\\par\\footnotesize ";
    for (std::size_t i = 0; i < t.notes.size(); ++i) out += (i ? "; " : "") + latex_text(t.notes[i]);
    out += "\n";
  }
  return out + "\\end{table}\n";
}

// Display width: UTF-8 continuation bytes (the em dash) take no column.
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// First column left-aligned (names), the rest right-aligned (numbers).
std::string render_text(const Table& t) {
  std::vector<std::size_t> width(t.header.size(), 0);
  for (std::size_t i = 0; i < t.header.size(); ++i) width[i] = columns(t.header[i]);
  for (const auto& row : t.rows)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], columns(row[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::string pad(i < width.size() ? width[i] - std::min(width[i], columns(cells[i])) : 0, ' ');
      s += (i ? "  " : "") + (i == 0 ? cells[i] + pad : pad + cells[i]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = t.title.empty() ? "" : t.title + "\n";
  out += line(t.header);
  for (const auto& row : t.rows) out += line(row);
  for (const auto& n : t.notes) out += n + "\n";
  return out;
}

}  // namespace

TableFormat parse_table_format(const std::string& name) {
  if (name == "md") return TableFormat::Markdown;
  if (name == "csv") return TableFormat::Csv;
  if (name == "latex") return TableFormat::Latex;
  throw UserError("--format must be md, csv or latex, got '" + name + "'");
}

std::string render_preset(const PresetOutput& out, TableFormat format) {
  return render_tables(format == TableFormat::Csv ? std::vector<Table>{out.flat} : out.tables, format);
}

std::string render_tables(const std::vector<Table>& tables, TableFormat format) {
  std::string out;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (i) out += "\n";
    const Table t = printable_table(tables[i]);
    switch (format) {
      case TableFormat::Markdown: out += render_markdown(t); break;
      case TableFormat::Csv: out += render_csv(t); break;
      case TableFormat::Latex: out += render_latex(t); break;
      case TableFormat::Text: out += render_text(t); break;
    }
  }
  return out;
}

}  // namespace attn
