// Names the crash-dump frames that backtrace_symbols_fd leaves anonymous.
//
// The child's crash handler must stay async-signal-safe, so it prints what the
// dynamic symbol table knows: exported functions by name, static ones only as
// "libpython3.13t.so.1.0(+0x1f2e3)[0x7f...]". CPython's crashes happen mostly in
// static functions (union_repr, list_repr_impl, ...), so the supervisor looks
// those frames up afterwards with addr2line, in the module's symbol table and
// debug information, and rewrites them as "libpython3.13t.so.1.0(union_repr)(+0x1f2e3)[...]".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace gilrace {

// Runs a command and returns its standard output (the supervisor's run_capture).
using CommandRunner = std::function<std::string(const std::vector<std::string>& argv)>;

class Symbolizer {
 public:
  // addr2line: the path of binutils' addr2line, "" when it is not installed (then
  // symbolize() returns its input unchanged).
  Symbolizer(std::string addr2line, CommandRunner run)
      : addr2line_(std::move(addr2line)), run_(std::move(run)) {}

  // `stacks` with every anonymous frame of its "Native stack of the crashing thread"
  // section named where addr2line knows the function. One addr2line call per module
  // and crash at most; names are remembered for the rest of the run.
  std::string symbolize(const std::string& stacks);

 private:
  std::string addr2line_;
  CommandRunner run_;
  std::map<std::pair<std::string, std::uint64_t>, std::string> names_;  // "" = unknown
};

}  // namespace gilrace
