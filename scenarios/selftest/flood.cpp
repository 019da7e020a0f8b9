// Control: writes a flood of output to stdout and stderr, then passes.
#include <unistd.h>

#include <string>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

namespace gilrace {

class SelftestFlood : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-flood",
            .summary = "control: writes --param mb megabytes to stdout and to stderr, then passes",
            .params = {{"mb", "100", "megabytes per stream"}},
            .control = true};
  }
  Result run(Context& ctx) override {
    py::Unlocked no_gil;
    std::string chunk(1 << 20, 'x');
    for (std::size_t i = 63; i < chunk.size(); i += 64) chunk[i] = '\n';
    long long mb = ctx.param_int("mb");
    for (long long i = 0; i < mb; ++i) {
      for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
        std::size_t off = 0;
        while (off < chunk.size()) {
          ssize_t n = ::write(fd, chunk.data() + off, chunk.size() - off);
          if (n <= 0) return Result::error("write failed");
          off += static_cast<std::size_t>(n);
        }
      }
      ctx.heartbeat();
    }
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestFlood);

}  // namespace gilrace
