#include "harness/run/signal_stack.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <new>

#include "harness/base/tsan.h"
#include "harness/run/chaos.h"


namespace gilrace {

namespace {

// Room for faulthandler's dump and the crash handler's unwinding (a few KB each),
// with a wide margin: the pages are only touched when a signal arrives.
constexpr std::size_t kStackBytes = 64 * 1024;

class SignalStack {
 public:
  SignalStack() {
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    size_ = std::max<std::size_t>(kStackBytes, 4 * static_cast<std::size_t>(SIGSTKSZ));
    void* map = mmap(nullptr, page_ + size_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) return;
    // A guard page below: a handler that overruns the stack faults, and does not
    // write over whatever lies beneath.
    mprotect(map, page_, PROT_NONE);
    stack_t ss{};
    ss.ss_sp = static_cast<char*>(map) + page_;
    ss.ss_size = size_;
    if (sigaltstack(&ss, nullptr) != 0) {
      munmap(map, page_ + size_);
      return;
    }
    map_ = map;
  }
  SignalStack(const SignalStack&) = delete;
  SignalStack& operator=(const SignalStack&) = delete;
  ~SignalStack() {
    if (!map_) return;
    // faulthandler.enable() puts its own stack on the thread that calls it and puts
    // ours back when disabled: only take ours off if it is the one in place.
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && current.ss_sp == static_cast<char*>(map_) + page_) {
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      sigaltstack(&off, nullptr);
    }
    munmap(map_, page_ + size_);
  }

 private:
  void* map_ = nullptr;
  std::size_t page_ = 0, size_ = 0;
};

}  // namespace

void ensure_signal_stack() {
  // Freed when the thread exits (pthread_exit included).
  thread_local SignalStack stack;
}

}  // namespace gilrace

#ifndef GILRACE_TSAN
namespace {

struct ThreadStart {
  void* (*start)(void*);
  void* arg;
};

void* start_with_signal_stack(void* p) {
  const ThreadStart s = *std::unique_ptr<ThreadStart>(static_cast<ThreadStart*>(p));  // freed here
  gilrace::ensure_signal_stack();
  gilrace::chaos::arm_this_thread();  // nothing when chaos is off
  return s.start(s.arg);
}

}  // namespace

// Every pthread_create in the process, libc's own internal threads aside
// (see signal_stack.h).
extern "C" int pthread_create(pthread_t* __restrict thread, const pthread_attr_t* __restrict attr,
                              void* (*start)(void*), void* __restrict arg) noexcept {
  using Create = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  static const auto real = reinterpret_cast<Create>(dlsym(RTLD_NEXT, "pthread_create"));
  if (!real) {
    // Without libc's own pthread_create no thread can start: say so, once and loudly.
    static const char msg[] = "gilrace: error: dlsym(RTLD_NEXT, \"pthread_create\") failed\n";
    [[maybe_unused]] auto n = write(STDERR_FILENO, msg, sizeof msg - 1);
    abort();
  }
  std::unique_ptr<ThreadStart> boot;
  try {
    boot = std::make_unique<ThreadStart>(ThreadStart{start, arg});
  } catch (const std::bad_alloc&) {
    return EAGAIN;
  }
  int rc = real(thread, attr, start_with_signal_stack, boot.get());
  if (rc == 0) boot.release();  // the new thread owns it now
  return rc;
}
#endif
