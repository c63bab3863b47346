// attnbench.sweep(**options): `attnbench sweep` run in this process. Keyword arguments are the
// command's options (seq=[128, 256] is --seq 128,256; dry_run=True is --dry-run); the records
// come back as dicts, parsed from the same JSON lines --out writes.
#include <Python.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "calls.hpp"
#include "commands.hpp"
#include "record.hpp"
#include "reporters.hpp"
#include "sweep_options.hpp"

namespace attn::py_module {

namespace {

// Keeps every record's JSON line; forwards to the console report when format= was given.
class Collector : public Reporter {
 public:
  explicit Collector(std::unique_ptr<Reporter> console) : console_(std::move(console)) {}
  void plan(const std::vector<SweepCase>& cases) override {
    if (console_) console_->plan(cases);
  }
  void begin() override {
    if (console_) console_->begin();
  }
  void row(const SweepRecord& r) override {
    lines_.push_back(record_json(r));
    if (console_) console_->row(r);
  }
  void end() override {
    if (console_) console_->end();
  }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::unique_ptr<Reporter> console_;
  std::vector<std::string> lines_;
};

std::string text_of(const py::handle& value) {
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>() ? "1" : "0";  // causal=True
  return py::str(value).cast<std::string>();
}

// kwargs as the command line: lists are comma-joined, except variant (its specs hold commas),
// which repeats; a switch is given when True; None leaves an option out.
std::vector<std::string> command_line(const py::kwargs& options) {
  static const std::set<std::string> switches = {"resume", "dry_run", "help"};
  std::vector<std::string> args = {"sweep"};
  for (const auto& [key, value] : options) {
    const std::string name = key.cast<std::string>();
    std::string flag = "--" + name;
    for (char& c : flag)
      if (c == '_') c = '-';
    if (value.is_none()) continue;
    if (switches.count(name)) {
      if (value.cast<bool>()) args.push_back(flag);
      continue;
    }
    const bool list = py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value);
    if (list && name == "variant") {
      for (const py::handle item : value) args.insert(args.end(), {flag, text_of(item)});
      continue;
    }
    std::string text;
    if (list) {
      for (const py::handle item : value) text += (text.empty() ? "" : ",") + text_of(item);
    } else {
      text = text_of(value);
    }
    args.insert(args.end(), {flag, text});
  }
  return args;
}

}  // namespace

py::list sweep(const py::kwargs& options) {
  const std::vector<std::string> args = command_line(options);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  const SweepOptions opt = parse_sweep_options(static_cast<int>(argv.size()), argv.data());
  py::list records;
  if (opt.help) {
    py::print(opt.help_text);
    return records;
  }
  Collector collector(options.contains("format") ? make_reporter(opt.format, stdout) : nullptr);
  int status = 0;
  {
    py::gil_scoped_release release;
    status = run_sweep(opt, &collector);
    std::fflush(stdout);
  }
  if (status == 130) {  // SIGINT: the cases finished so far are in --out, if one was given
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  const py::object loads = py::module_::import("json").attr("loads");
  for (const std::string& line : collector.lines()) records.append(loads(line));
  return records;
}

}  // namespace attn::py_module
