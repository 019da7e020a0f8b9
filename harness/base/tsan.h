// GILRACE_TSAN: defined to 1 when this translation unit is built with ThreadSanitizer
// (GCC says so with __SANITIZE_THREAD__, clang with __has_feature).
#pragma once

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GILRACE_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(GILRACE_TSAN)
#define GILRACE_TSAN 1
#endif
