// Control: a fault on a stack that cannot be unwound. The scenario overwrites the frame
// pointer its caller saved, then writes through null; the crash handler's unwinder,
// following that pointer to the caller's caller, faults a second time inside the handler,
// on the same thread. That fault must end the trial at once as a crash that names the
// frames read before it, not leave the handler waiting for itself (a deadlock at --stall).
#include <alloca.h>

#include <cstddef>

#include "gilrace/scenario.h"

// Exported and not inlined, so the crash signature names them.
extern "C" __attribute__((noinline)) void gilrace_selftest_smash_and_fault(volatile int* p) {
  // __builtin_frame_address(0) gives this function a frame pointer; the word it points
  // at is the caller's saved one. Address 0x10 is never mapped.
  *static_cast<void* volatile*>(__builtin_frame_address(0)) = reinterpret_cast<void*>(0x10);
  *p = 1;
}

// alloca makes the compiler address this frame through its frame pointer, and say so in
// the unwind tables: unwinding it reads the smashed value.
extern "C" __attribute__((noinline)) void gilrace_selftest_framed_caller(std::size_t bytes) {
  auto* scratch = static_cast<volatile char*>(alloca(bytes));
  scratch[0] = 0;
  gilrace_selftest_smash_and_fault(nullptr);
  scratch[0] = 1;  // work after the call: no tail call
}

namespace gilrace {

class SelftestSmashedStack : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-smashed-stack",
            .summary =
                "control: smashes a saved frame pointer, then faults; unwinding it faults "
                "again in the crash handler (outcome crash, SIGSEGV, never a hang)",
            .control = true};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    volatile std::size_t bytes = 64;
    gilrace_selftest_framed_caller(bytes);
    return Result::error("survived a null write");
  }
};
GILRACE_SCENARIO(SelftestSmashedStack);

}  // namespace gilrace
