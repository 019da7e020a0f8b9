// The supervisor names static functions in crash dumps with the real addr2line.
#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "harness/judge/outcome.h"
#include "harness/judge/symbolize.h"
#include "tests/catch.h"

namespace {

// A static function: backtrace_symbols_fd cannot name it, as it cannot name
// CPython's union_repr or list_repr_impl.
__attribute__((noinline)) int gilrace_static_frame(int x) {
  asm volatile("" ::: "memory");
  return x * 3 + 1;
}

// Exported (the tests link with -rdynamic): nm -D knows it where addr2line does not run.
extern "C" __attribute__((noinline)) int gilrace_exported_frame(int x) {
  asm volatile("" ::: "memory");
  return x * 5 + 2;
}

std::string run_command(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    pclose(p);
  }
  return out;
}

std::string addr2line() {
  return access("/usr/bin/addr2line", X_OK) == 0 ? "/usr/bin/addr2line" : "";
}

// What the crash handler prints for a frame: the module, the address's offset in it
// (`into` bytes into the function fn), the absolute address.
std::string anonymous_frame_line(void* fn, std::uintptr_t into = 8) {
  Dl_info info{};
  REQUIRE(dladdr(fn, &info) != 0);
  auto offset =
      reinterpret_cast<std::uintptr_t>(fn) - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
  return fmt::format("{}(+0x{:x})[{}]", info.dli_fname, offset + into, fmt::ptr(fn));
}

}  // namespace

TEST_CASE("anonymous crash frames are named with addr2line") {
  REQUIRE_FALSE(addr2line().empty());  // binutils comes with g++
  REQUIRE(gilrace_static_frame(1) == 4);
  std::string frame = anonymous_frame_line(reinterpret_cast<void*>(&gilrace_static_frame));
  std::string stacks =
      "Fatal Python error: Segmentation fault\n\n"
      "Native stack of the crashing thread (most recent call first):\n" +
      frame + "\n/x/libpython3.13t.so.1.0(PyObject_Repr+0x85)[0x1]\n\n";
  // Without the lookup the frame says nothing.
  CHECK(gilrace::top_frames(stacks) == "PyObject_Repr");

  int calls = 0;
  gilrace::Symbolizer sym(addr2line(), "", [&](const std::vector<std::string>& argv) {
    ++calls;
    return run_command(argv);
  });
  std::string named = sym.symbolize(stacks);
  INFO(named);
  CHECK(gilrace::top_frames(named) == "{anon}::gilrace_static_frame < PyObject_Repr");
  CHECK(named.find("(PyObject_Repr+0x85)[0x1]") != std::string::npos);  // named frames untouched
  CHECK(named.rfind("Fatal Python error", 0) == 0);
  // Remembered: the same crash again costs no second addr2line run.
  CHECK(sym.symbolize(stacks) == named);
  CHECK(calls == 1);
}

TEST_CASE("the frame a signal interrupted is looked up at its own address") {
  // Its address is the faulting instruction, the function's first here: the byte
  // before it, where a return address is looked up, belongs to something else.
  REQUIRE_FALSE(addr2line().empty());
  REQUIRE(gilrace_static_frame(2) == 7);
  std::string stacks = "Native stack of the crashing thread (most recent call first):\n" +
                       anonymous_frame_line(reinterpret_cast<void*>(&gilrace_static_frame), 0) +
                       " interrupted\n\n";
  gilrace::Symbolizer sym(addr2line(), "", run_command);
  std::string named = sym.symbolize(stacks);
  INFO(named);
  CHECK(gilrace::top_frames(named) == "{anon}::gilrace_static_frame");
  CHECK(named.find(") interrupted") == std::string::npos);  // the mark stays after the address
  CHECK(named.find("] interrupted\n") != std::string::npos);
}

TEST_CASE("without addr2line's answer, exported functions are named from nm -D") {
  // A module stripped of its symbol table and debug information (libpython, libc on a
  // machine without debug packages) still has its dynamic symbols.
  REQUIRE(gilrace_exported_frame(1) == 7);
  std::string stacks = "Native stack of the crashing thread (most recent call first):\n" +
                       anonymous_frame_line(reinterpret_cast<void*>(&gilrace_exported_frame), 1) +
                       "\n\n";
  gilrace::Symbolizer sym("", "/usr/bin/nm", run_command);
  std::string named = sym.symbolize(stacks);
  INFO(named);
  CHECK(gilrace::top_frames(named) == "gilrace_exported_frame");
  // A static function is not in the dynamic symbol table: left anonymous.
  std::string hidden = "Native stack of the crashing thread (most recent call first):\n" +
                       anonymous_frame_line(reinterpret_cast<void*>(&gilrace_static_frame)) +
                       "\n\n";
  CHECK(gilrace::top_frames(sym.symbolize(hidden)) == "");
}

TEST_CASE("without addr2line, or without a crash dump, stacks are left as they are") {
  std::string stacks =
      "Native stack of the crashing thread (most recent call first):\n"
      "/x/libpython3.13t.so.1.0(+0x1f2e3)[0x7f0000001000]\n";
  gilrace::Symbolizer none("", "",
                           [](const std::vector<std::string>&) { return std::string("f\n"); });
  CHECK(none.symbolize(stacks) == stacks);
  gilrace::Symbolizer sym("/usr/bin/addr2line", "/usr/bin/nm", [](const std::vector<std::string>&) {
    FAIL("addr2line must not run without anonymous frames");
    return std::string();
  });
  CHECK(sym.symbolize("Python stacks (faulthandler, on SIGUSR1):\n  <no Python frame>\n") ==
        "Python stacks (faulthandler, on SIGUSR1):\n  <no Python frame>\n");
}
