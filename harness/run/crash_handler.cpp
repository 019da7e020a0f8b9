#include "harness/run/crash_handler.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <unwind.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "harness/run/signal_stack.h"

namespace gilrace {

namespace {

constexpr int kMaxFrames = 64;
constexpr std::size_t kMaxPath = 4096;

int g_fd = -1;                     // written once before any thread starts
std::atomic<pid_t> g_crashing{0};  // the thread writing the dump

// Text built without allocating, written with write(2).
template <std::size_t N>
class Line {
 public:
  Line& operator<<(const char* s) { return append(s, SIZE_MAX); }
  Line& append(const char* s, std::size_t len) {
    for (std::size_t i = 0; i < len && s[i] && n_ < N; ++i) buf_[n_++] = s[i];
    return *this;
  }
  Line& hex(std::uintptr_t v) {
    char digits[2 * sizeof v];
    int k = 0;
    do {
      digits[k++] = "0123456789abcdef"[v & 0xf];
      v >>= 4;
    } while (v);
    *this << "0x";
    while (k && n_ < N) buf_[n_++] = digits[--k];
    return *this;
  }
  Line& dec(long v) {
    char digits[24];
    int k = 0;
    unsigned long u = v < 0 ? 0UL - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
    do {
      digits[k++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u);
    if (v < 0) *this << "-";
    while (k && n_ < N) buf_[n_++] = digits[--k];
    return *this;
  }
  void write_to(int fd) {
    for (std::size_t done = 0; fd >= 0 && done < n_;) {
      ssize_t w = ::write(fd, buf_ + done, n_ - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
    n_ = 0;
  }

 private:
  char buf_[N];
  std::size_t n_ = 0;
};

const char* signal_abbrev(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
  }
  return "signal";
}

const char* parse_hex(const char* p, const char* end, std::uintptr_t& out) {
  out = 0;
  for (; p < end; ++p) {
    int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
    if (d < 0) break;
    out = out << 4 | static_cast<std::uintptr_t>(d);
  }
  return p;
}

// Which module a code address lies in, read from /proc/self/maps. Static state:
// only the first crashing thread gets here, once.
class ModuleFinder {
 public:
  // True when pc lies in a file's mapping; then path() and offset(pc) say where.
  bool find(std::uintptr_t pc) {
    // Consecutive frames are mostly in the same module: one scan each.
    if (pc >= start_ && pc < end_) return path_len_ > 0;
    start_ = end_ = 0;
    path_len_ = 0;
    first_len_ = 0;
    pc_ = pc;
    found_ = false;
    int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    line_len_ = 0;
    for (char chunk[512]; !found_;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      for (ssize_t i = 0; i < n && !found_; ++i) {
        if (chunk[i] != '\n') {
          if (line_len_ < sizeof line_) line_[line_len_] = chunk[i];
          ++line_len_;
          continue;
        }
        if (line_len_ <= sizeof line_) take_line(line_, line_ + line_len_);
        line_len_ = 0;
      }
    }
    ::close(fd);
    return found_ && path_len_ > 0;
  }
  const char* path() const { return path_; }
  std::size_t path_len() const { return path_len_; }
  std::uintptr_t offset(std::uintptr_t pc) const { return pc - base_; }

 private:
  // "start-end perms offset dev inode   path"
  void take_line(const char* p, const char* end) {
    std::uintptr_t start = 0, stop = 0, file_offset = 0;
    p = parse_hex(p, end, start);
    if (p == end || *p++ != '-') return;
    p = parse_hex(p, end, stop);
    if (end - p < 6 || *p++ != ' ') return;
    bool readable = *p == 'r';
    p += 5;  // "r-xp "
    p = parse_hex(p, end, file_offset);
    for (int field = 0; field < 2 && p < end; ++field) {  // dev, inode
      while (p < end && *p == ' ') ++p;
      while (p < end && *p != ' ') ++p;
    }
    while (p < end && *p == ' ') ++p;
    const char* path = p;
    std::size_t len = static_cast<std::size_t>(end - p);
    if (len > kMaxPath) return;
    bool file = len > 0 && path[0] == '/';
    if (file && file_offset == 0) {  // the first mapping of a module: its ELF header
      for (std::size_t i = 0; i < len; ++i) first_path_[i] = path[i];
      first_len_ = len;
      first_start_ = start;
      first_readable_ = readable;
    }
    if (pc_ < start || pc_ >= stop) return;
    found_ = true;
    start_ = start;
    end_ = stop;
    if (!file) return;  // anonymous memory, [vdso], JIT code: no module to name
    for (std::size_t i = 0; i < len; ++i) path_[i] = path[i];
    path_len_ = len;
    base_ = start - file_offset;
    if (same_as_first(path, len)) {
      // addr2line wants addresses as the file has them: relative to where the module
      // was loaded for a shared object or PIE, absolute for a fixed-address executable.
      base_ = first_start_;
      if (first_readable_) {
        const auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(first_start_);
        if (ehdr->e_ident[EI_MAG0] == ELFMAG0 && ehdr->e_ident[EI_MAG1] == ELFMAG1 &&
            ehdr->e_ident[EI_MAG2] == ELFMAG2 && ehdr->e_ident[EI_MAG3] == ELFMAG3 &&
            ehdr->e_type == ET_EXEC)
          base_ = 0;
      }
    }
  }
  bool same_as_first(const char* path, std::size_t len) const {
    if (len != first_len_) return false;
    for (std::size_t i = 0; i < len; ++i)
      if (path[i] != first_path_[i]) return false;
    return true;
  }

  std::uintptr_t pc_ = 0;
  bool found_ = false;
  std::uintptr_t start_ = 0, end_ = 0, base_ = 0;
  char path_[kMaxPath];
  std::size_t path_len_ = 0;
  char first_path_[kMaxPath];
  std::size_t first_len_ = 0;
  std::uintptr_t first_start_ = 0;
  bool first_readable_ = false;
  char line_[kMaxPath + 128];
  std::size_t line_len_ = 0;
};

ModuleFinder g_modules;
Line<kMaxPath + 128> g_line;

_Unwind_Reason_Code write_frame(_Unwind_Context* context, void* frames_left) {
  int interrupted = 0;
  auto pc = static_cast<std::uintptr_t>(_Unwind_GetIPInfo(context, &interrupted));
  if (pc == 0) return _URC_END_OF_STACK;
  if (g_modules.find(pc)) {
    g_line.append(g_modules.path(), g_modules.path_len()) << "(+";
    g_line.hex(g_modules.offset(pc)) << ")";
  }
  g_line << "[";
  g_line.hex(pc) << "]" << (interrupted ? " interrupted\n" : "\n");
  g_line.write_to(g_fd);
  return --*static_cast<int*>(frames_left) > 0 ? _URC_NO_REASON : _URC_END_OF_STACK;
}

_Unwind_Reason_Code stop_at_once(_Unwind_Context*, void*) {
  return _URC_END_OF_STACK;
}

// The signal's default action, now: the process ends the way the supervisor expects.
[[noreturn]] void die(int sig) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, sig);
  sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
  raise(sig);
  _exit(128 + sig);  // the default action of every signal handled here ends the process first
}

void crash_handler(int sig) {
  const pid_t self = gettid();
  pid_t first = 0;
  if (!g_crashing.compare_exchange_strong(first, self)) {
    if (first != self)
      for (;;) pause();  // the first crashing thread ends the process
    // A fault inside this handler, on the thread it is dumping (the unwinder reading
    // a smashed frame): the frames written so far stay, nothing more is tried.
    Line<128> note;
    note << "\ngilrace: " << signal_abbrev(sig) << " inside the crash handler: default action\n";
    note.write_to(g_fd);
    die(sig);
  }
  g_line << "\ngilrace: " << signal_abbrev(sig) << " (signal ";
  g_line.dec(sig) << ") on thread ";
  g_line.dec(self) << "\nNative stack of the crashing thread (most recent call first):\n";
  g_line.write_to(g_fd);
  int frames_left = kMaxFrames;
  _Unwind_Backtrace(write_frame, &frames_left);
  g_line << "\n";
  g_line.write_to(g_fd);
  die(sig);
}

}  // namespace

void install_crash_handler(int fd) {
  g_fd = fd;
  // Binds the unwinder and lets it set itself up here rather than in the handler.
  int none = 0;
  _Unwind_Backtrace(stop_at_once, &none);
  ensure_signal_stack();
  struct sigaction sa {};
  sa.sa_handler = crash_handler;
  // SA_NODEFER: a fault inside the handler comes back to it (and is reported as such)
  // instead of meeting a blocked signal, which the kernel answers with a silent kill.
  // SA_ONSTACK: a stack overflow leaves no room on the thread's own stack.
  sa.sa_flags = SA_NODEFER | SA_ONSTACK;
  // Every other signal waits until the dump is written (a stall capture's SIGUSR1
  // would mix faulthandler's lines into it); the fatal ones stay deliverable.
  sigfillset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigdelset(&sa.sa_mask, sig);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
}

}  // namespace gilrace
