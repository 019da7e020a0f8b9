#include "harness/judge/symbolize.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

namespace gilrace {

namespace {

constexpr std::string_view kCrashMarker = "Native stack of the crashing thread";

struct Anonymous {
  std::size_t begin, end;  // the line, within the stacks text
  std::string module;
  std::uint64_t offset;
  std::string rest;  // "(+0x1f2e3)[0x7f...]", kept as printed
  bool interrupted;  // a signal stopped it: the address is the instruction's own
};

// The anonymous frames of the crash section: "MODULE(+0xOFFSET)[0xADDRESS]", with
// " interrupted" after it for the frame a signal stopped.
std::vector<Anonymous> anonymous_frames(const std::string& stacks) {
  static const std::regex frame(R"(^(.+)(\(\+0x([0-9a-f]+)\)\[0x[0-9a-f]+\]( interrupted)?)$)");
  std::vector<Anonymous> out;
  std::size_t marker = stacks.find(kCrashMarker);
  if (marker == std::string::npos) return out;
  std::size_t pos = stacks.find('\n', marker);
  while (pos != std::string::npos) {
    std::size_t begin = pos + 1;
    std::size_t end = stacks.find('\n', begin);
    if (end == std::string::npos) end = stacks.size();
    if (end == begin) break;  // the dump ends at a blank line
    std::string line = stacks.substr(begin, end - begin);
    std::smatch m;
    if (std::regex_match(line, m, frame))
      out.push_back(
          {begin, end, m[1].str(), std::stoull(m[3].str(), nullptr, 16), m[2].str(), m[4].matched});
    pos = end < stacks.size() ? end : std::string::npos;
  }
  return out;
}

// A return address: look up the call before it, or a call that ends a function
// would be named after the next one.
std::uint64_t before(std::uint64_t offset) {
  return offset > 0 ? offset - 1 : offset;
}

}  // namespace

std::string Symbolizer::symbolize(const std::string& stacks) {
  if (addr2line_.empty() && nm_.empty()) return stacks;
  std::vector<Anonymous> frames = anonymous_frames(stacks);
  if (frames.empty()) return stacks;

  // Both the address and the one before it: most frames are return addresses, but the
  // kernel's signal trampoline (__restore_rt, where a handler returns to) and the frame
  // a signal interrupted (the faulting instruction itself) are exact.
  std::map<std::string, std::set<std::uint64_t>> wanted;  // module -> offsets to look up
  for (const auto& f : frames)
    for (auto off : {f.offset, before(f.offset)})
      if (!names_.count({f.module, off})) wanted[f.module].insert(off);
  for (const auto& [module, offsets] : wanted) {
    std::map<std::uint64_t, std::string> found;
    if (!addr2line_.empty()) {
      std::vector<std::string> argv = {addr2line_, "-a", "-f", "-i", "-e", module};
      for (auto off : offsets) argv.push_back(fmt::format("0x{:x}", off));
      // Per address: the address line, then function and file:line pairs from the
      // innermost inlined function out to the one that contains the code. The last is
      // the frame's function: an inlined helper (_Py_atomic_*, Py_INCREF) says nothing.
      std::istringstream out(run_(argv));
      std::uint64_t at = 0;
      bool in_block = false;
      for (std::string line, location; std::getline(out, line);) {
        if (line.rfind("0x", 0) == 0) {
          at = std::stoull(line, nullptr, 16);
          in_block = true;
        } else if (in_block) {
          std::getline(out, location);
          if (line != "??") found[at] = line;
        }
      }
    }
    for (auto off : offsets)
      names_[{module, off}] = found.count(off) ? found[off] : dynamic_symbol(module, off);
  }

  std::string result;
  std::size_t copied = 0;
  for (const auto& f : frames) {
    const std::string& exact = names_[{f.module, f.offset}];
    const std::string& name =
        f.interrupted || exact == "__restore_rt" ? exact : names_[{f.module, before(f.offset)}];
    if (name.empty()) continue;
    result.append(stacks, copied, f.begin - copied);
    result += f.module + "(" + name + ")" + f.rest;
    copied = f.end;
  }
  result.append(stacks, copied, std::string::npos);
  return result;
}

// The exported function that holds `offset`, from `nm -D --defined-only -S`: what
// dladdr would have said in the child, for modules stripped of everything else.
std::string Symbolizer::dynamic_symbol(const std::string& module, std::uint64_t offset) {
  if (nm_.empty()) return "";
  auto [it, fresh] = dynamic_.try_emplace(module);
  std::vector<Symbol>& symbols = it->second;
  if (fresh) {
    // "000000000003bfa0 0000000000000022 T raise@@GLIBC_2.2.5"
    std::istringstream out(run_({nm_, "-D", "--defined-only", "-S", module}));
    for (std::string line; std::getline(out, line);) {
      std::istringstream fields(line);
      std::string value, size, type, name;
      if (!(fields >> value >> size >> type >> name) || type.size() != 1 ||
          std::string_view("TtWwi").find(type[0]) == std::string_view::npos)
        continue;
      name = name.substr(0, name.find('@'));
      symbols.push_back({std::stoull(value, nullptr, 16), std::stoull(size, nullptr, 16), name});
    }
    // Aliases share an address (getpid, __getpid): the public spelling first.
    auto rank = [](const Symbol& s) {
      return std::tuple(s.value, s.name.find_first_not_of('_'), std::string_view(s.name));
    };
    std::sort(symbols.begin(), symbols.end(),
              [&](const Symbol& a, const Symbol& b) { return rank(a) < rank(b); });
  }
  auto after = std::upper_bound(symbols.begin(), symbols.end(), offset,
                                [](std::uint64_t off, const Symbol& s) { return off < s.value; });
  if (after == symbols.begin()) return "";
  auto first = std::prev(after);
  while (first != symbols.begin() && std::prev(first)->value == first->value) --first;
  return offset < first->value + first->size ? first->name : "";
}

}  // namespace gilrace
