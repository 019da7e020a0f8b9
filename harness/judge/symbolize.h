// Names the frames of the crash handler's dump (crash_handler.h).
//
// The child's crash handler must stay async-signal-safe, so it names nothing: each
// frame is "MODULE(+0xOFFSET)[0xADDRESS]", "interrupted" after it for the frame a
// signal stopped. The supervisor names them afterwards: with addr2line, from the
// module's symbol table and debug information, which know static functions too
// (CPython's crashes happen mostly in static ones: union_repr, list_repr_impl, ...);
// where those are stripped, from the dynamic symbol table (nm -D), which knows the
// exported ones (PyGILState_Ensure). A named frame reads
// "libpython3.13t.so.1.0(union_repr)(+0x1f2e3)[...]".
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
  // The paths of binutils' addr2line and nm, "" for one that is not installed
  // (with neither, symbolize() returns its input unchanged).
  Symbolizer(std::string addr2line, std::string nm, CommandRunner run)
      : addr2line_(std::move(addr2line)), nm_(std::move(nm)), run_(std::move(run)) {}

  // `stacks` with every anonymous frame of its "Native stack of the crashing thread"
  // section named where the module's symbols know the function. One addr2line call per
  // module and crash at most, one nm call per module and run; names are remembered for
  // the rest of the run.
  std::string symbolize(const std::string& stacks);

 private:
  struct Symbol {
    std::uint64_t value, size;
    std::string name;
  };
  std::string dynamic_symbol(const std::string& module, std::uint64_t offset);

  std::string addr2line_, nm_;
  CommandRunner run_;
  std::map<std::pair<std::string, std::uint64_t>, std::string> names_;  // "" = unknown
  std::map<std::string, std::vector<Symbol>> dynamic_;  // per module, sorted by value
};

}  // namespace gilrace
