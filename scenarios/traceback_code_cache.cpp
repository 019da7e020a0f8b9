// traceback-code-cache: Cython's traceback code-object cache shared by threads.
//
// When compiled Cython code raises, its error path calls __Pyx_AddTraceback(funcname, c_line,
// py_line, filename), which needs a code object for the frame it adds. Code objects are cached
// per module, keyed by line, in a sorted array of {code_object, code_line} that grows with
// PyMem_Realloc (ModuleSetupCode.c, "CodeObjectCache"): binary search on a lookup, a fresh
// PyCode_NewEmpty on a miss, then an insert that shifts the tail up by one. Then PyFrame_New +
// PyTraceBack_Here.
//
// Cython 3.0.x (variant `naive`) shares that array between threads with no synchronisation,
// which the GIL made safe. Free-threaded, two threads can miss the same line at once and both
// insert: the second takes the "line already there" branch, which drops the cache's reference
// to the first object and stores the second WITHOUT taking a reference (cython#6718). The
// cache then points at an object only the raising thread owns; once its traceback is gone the
// code object dies (in a free-threaded build at the next GC: code objects there use deferred
// reference counting), and the next exception from that line hands freed memory to
// PyFrame_New. Meanwhile readers bisect an array another thread is shifting or reallocating
// (cython#6663).
//
// Cython 3.1 (variant `fixed`, cython PRs #6665 and #6721): an atomic accessor count on the
// cache. A reader increments it and, if a writer holds it (negative), treats the lookup as a
// miss; a writer swaps 0 -> INT_MIN and gives up if anyone is inside. Never blocks; a contended
// cache is just a cache miss. Plus the missing Py_INCREF in the replace branch.
//
// The cache functions below mirror the generated C line for line, with raw PyObject* on
// purpose (that is the code under test), and are extern "C" noinline so crash signatures and
// sanitizer reports name them.
#include <Python.h>
#include <frameobject.h>  // PyFrame_New, as Cython includes it

#include <algorithm>
#include <atomic>
#include <barrier>
#include <climits>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

// gilrace's own evidence that the racy windows were reached. Not part of Cython's code.
// Relaxed atomics only: they must not add happens-before edges that would hide the race
// from ThreadSanitizer.
struct GilracePyxInstruments {
  std::atomic<int> in_find{0};    // threads inside a lookup of the array
  std::atomic<int> in_insert{0};  // threads inside __pyx_insert_code_object
  gilrace::Probe* concurrent_miss = nullptr;
  gilrace::Probe* replace_branch = nullptr;
  gilrace::Probe* grow = nullptr;
  gilrace::Probe* grow_under_reader = nullptr;
  gilrace::Probe* reader_backoff = nullptr;
  gilrace::Probe* writer_gave_up = nullptr;
  gilrace::Probe* cache_hit_wrong_line = nullptr;
};

namespace {
void hit(gilrace::Probe* p) {
  if (p) p->hit();
}
}  // namespace

// __Pyx_CodeObjectCacheEntry / struct __Pyx_CodeObjectCache.
struct GilracePyxCodeObjectCacheEntry {
  PyCodeObject* code_object;  // owned reference (when the cache is right)
  int code_line;
};

struct GilracePyxCodeObjectCache {
  int count;
  int max_count;
  GilracePyxCodeObjectCacheEntry* entries;
  int accessor_count;  // 3.1 only (__pyx_atomic_int_type): readers > 0, a writer INT_MIN
  GilracePyxInstruments* instruments;
};

// ---- Shared by both versions --------------------------------------------------------------

// __pyx_bisect_code_objects: where code_line is or would go.
extern "C" __attribute__((noinline)) int gilrace_pyx_bisect_code_objects(
    GilracePyxCodeObjectCacheEntry* entries, int count, int code_line) {
  int start = 0, mid = 0, end = count - 1;
  if (end >= 0 && code_line > entries[end].code_line) {
    return count;
  }
  while (start < end) {
    mid = start + (end - start) / 2;
    if (code_line < entries[mid].code_line) {
      end = mid;
    } else if (code_line > entries[mid].code_line) {
      start = mid + 1;
    } else {
      return mid;
    }
  }
  if (code_line <= entries[mid].code_line) {
    return mid;
  } else {
    return mid + 1;
  }
}

// CodeObjectCache.cleanup, run when the module is freed.
extern "C" __attribute__((noinline)) void gilrace_pyx_code_cache_cleanup(
    GilracePyxCodeObjectCache* cache) {
  if (cache->entries) {
    GilracePyxCodeObjectCacheEntry* entries = cache->entries;
    int count = cache->count;
    cache->count = 0;
    cache->max_count = 0;
    cache->entries = nullptr;
    for (int i = 0; i < count; i++) {
      Py_DECREF(entries[i].code_object);
    }
    PyMem_Free(entries);
  }
}

// ---- Cython 3.0.x: no synchronisation (the naive variant) ---------------------------------

// __pyx_find_code_object, 3.0.x.
extern "C" __attribute__((noinline)) PyCodeObject* gilrace_pyx30_find_code_object(
    GilracePyxCodeObjectCache* cache, int code_line) {
  GilracePyxInstruments* in = cache->instruments;
  PyCodeObject* code_object;
  int pos;
  if (!code_line || !cache->entries) {
    return nullptr;
  }
  in->in_find.fetch_add(1, std::memory_order_relaxed);
  pos = gilrace_pyx_bisect_code_objects(cache->entries, cache->count, code_line);
  if (pos >= cache->count || cache->entries[pos].code_line != code_line) {
    in->in_find.fetch_sub(1, std::memory_order_relaxed);
    return nullptr;
  }
  code_object = cache->entries[pos].code_object;
  Py_INCREF(code_object);
  in->in_find.fetch_sub(1, std::memory_order_relaxed);
  return code_object;
}

// __pyx_insert_code_object, 3.0.x.
extern "C" __attribute__((noinline)) void gilrace_pyx30_insert_code_object(
    GilracePyxCodeObjectCache* cache, int code_line, PyCodeObject* code_object) {
  GilracePyxInstruments* in = cache->instruments;
  int pos, i;
  GilracePyxCodeObjectCacheEntry* entries = cache->entries;
  if (!code_line) {
    return;
  }
  if (!entries) {
    entries = static_cast<GilracePyxCodeObjectCacheEntry*>(
        PyMem_Malloc(64 * sizeof(GilracePyxCodeObjectCacheEntry)));
    if (entries) {
      cache->entries = entries;
      cache->max_count = 64;
      cache->count = 1;
      entries[0].code_line = code_line;
      entries[0].code_object = code_object;
      Py_INCREF(code_object);
    }
    return;
  }
  pos = gilrace_pyx_bisect_code_objects(cache->entries, cache->count, code_line);
  if (pos < cache->count && cache->entries[pos].code_line == code_line) {
    // THE BUG (cython#6718), kept on purpose: the cache's reference to the old object is
    // dropped, but none is taken on the new one. Only reachable when another thread inserted
    // this line between our lookup and this insert, so the GIL hid it.
    hit(in->replace_branch);
    PyCodeObject* tmp = entries[pos].code_object;
    entries[pos].code_object = code_object;
    Py_DECREF(tmp);
    return;
  }
  if (cache->count == cache->max_count) {
    int new_max = cache->max_count + 64;
    if (in->in_find.load(std::memory_order_relaxed) > 0) hit(in->grow_under_reader);
    hit(in->grow);
    entries = static_cast<GilracePyxCodeObjectCacheEntry*>(
        PyMem_Realloc(cache->entries, static_cast<size_t>(new_max) * sizeof(*entries)));
    if (!entries) {
      return;
    }
    cache->entries = entries;
    cache->max_count = new_max;
  }
  for (i = cache->count; i > pos; i--) {
    entries[i] = entries[i - 1];
  }
  entries[pos].code_line = code_line;
  entries[pos].code_object = code_object;
  cache->count++;
  Py_INCREF(code_object);
}

// ---- Cython 3.1: accessor count, give up when contended, plus the incref (the fix) --------

// __pyx__find_code_object: the lookup proper, called with the accessor count held.
extern "C" __attribute__((noinline)) PyCodeObject* gilrace_pyx31__find_code_object(
    GilracePyxCodeObjectCache* cache, int code_line) {
  GilracePyxInstruments* in = cache->instruments;
  PyCodeObject* code_object;
  int pos;
  if (!code_line || !cache->entries) {
    return nullptr;
  }
  in->in_find.fetch_add(1, std::memory_order_relaxed);
  pos = gilrace_pyx_bisect_code_objects(cache->entries, cache->count, code_line);
  if (pos >= cache->count || cache->entries[pos].code_line != code_line) {
    in->in_find.fetch_sub(1, std::memory_order_relaxed);
    return nullptr;
  }
  code_object = cache->entries[pos].code_object;
  Py_INCREF(code_object);
  in->in_find.fetch_sub(1, std::memory_order_relaxed);
  return code_object;
}

// __pyx_find_code_object, 3.1: a reader that meets a writer treats it as a miss.
extern "C" __attribute__((noinline)) PyCodeObject* gilrace_pyx31_find_code_object(
    GilracePyxCodeObjectCache* cache, int code_line) {
  std::atomic_ref<int> accessor_count(cache->accessor_count);
  int old_count = accessor_count.fetch_add(1, std::memory_order_acq_rel);
  if (old_count < 0) {
    accessor_count.fetch_sub(1, std::memory_order_acq_rel);
    hit(cache->instruments->reader_backoff);
    return nullptr;
  }
  PyCodeObject* result = gilrace_pyx31__find_code_object(cache, code_line);
  accessor_count.fetch_sub(1, std::memory_order_acq_rel);
  return result;
}

// __pyx__insert_code_object: the insert proper, called as the only accessor.
extern "C" __attribute__((noinline)) void gilrace_pyx31__insert_code_object(
    GilracePyxCodeObjectCache* cache, int code_line, PyCodeObject* code_object) {
  GilracePyxInstruments* in = cache->instruments;
  int pos, i;
  GilracePyxCodeObjectCacheEntry* entries = cache->entries;
  if (!code_line) {
    return;
  }
  if (!entries) {
    entries = static_cast<GilracePyxCodeObjectCacheEntry*>(
        PyMem_Malloc(64 * sizeof(GilracePyxCodeObjectCacheEntry)));
    if (entries) {
      cache->entries = entries;
      cache->max_count = 64;
      cache->count = 1;
      entries[0].code_line = code_line;
      entries[0].code_object = code_object;
      Py_INCREF(code_object);
    }
    return;
  }
  pos = gilrace_pyx_bisect_code_objects(cache->entries, cache->count, code_line);
  if (pos < cache->count && cache->entries[pos].code_line == code_line) {
    hit(in->replace_branch);
    PyCodeObject* tmp = entries[pos].code_object;
    entries[pos].code_object = code_object;
    Py_INCREF(code_object);  // the reference 3.0.x forgot (cython PR #6721)
    Py_DECREF(tmp);
    return;
  }
  if (cache->count == cache->max_count) {
    int new_max = cache->max_count + 64;
    if (in->in_find.load(std::memory_order_relaxed) > 0) hit(in->grow_under_reader);
    hit(in->grow);
    entries = static_cast<GilracePyxCodeObjectCacheEntry*>(
        PyMem_Realloc(cache->entries, static_cast<size_t>(new_max) * sizeof(*entries)));
    if (!entries) {
      return;
    }
    cache->entries = entries;
    cache->max_count = new_max;
  }
  for (i = cache->count; i > pos; i--) {
    entries[i] = entries[i - 1];
  }
  entries[pos].code_line = code_line;
  entries[pos].code_object = code_object;
  cache->count++;
  Py_INCREF(code_object);
}

// __pyx_insert_code_object, 3.1: a writer that meets anyone gives up.
extern "C" __attribute__((noinline)) void gilrace_pyx31_insert_code_object(
    GilracePyxCodeObjectCache* cache, int code_line, PyCodeObject* code_object) {
  std::atomic_ref<int> accessor_count(cache->accessor_count);
  int expected = 0;
  if (!accessor_count.compare_exchange_strong(expected, INT_MIN)) {
    hit(cache->instruments->writer_gave_up);
    return;
  }
  gilrace_pyx31__insert_code_object(cache, code_line, code_object);
  accessor_count.fetch_sub(INT_MIN);
}

// ---- The extension module ----------------------------------------------------------------

namespace {

constexpr const char* kModuleName = "_gilrace_pyx_cache";
constexpr const char* kFilename = "gilrace_pyx_cache.pyx";

struct ModuleState {
  GilracePyxCodeObjectCache cache;  // 3.1 keeps it in the module state; 3.0.x in a static
  int naive;
};

ModuleState* state_of(PyObject* module) {
  return static_cast<ModuleState*>(PyModule_GetState(module));
}

}  // namespace

// __Pyx_AddTraceback (Exceptions.c, non-limited API, c_line tracing off so the key is
// py_line). Called with an exception set; adds a frame for (funcname, py_line) to it.
// __Pyx_PyFrame_SetLineNumber is left out: it needs CPython's internal frame layout, and a
// code object from PyCode_NewEmpty already reports co_firstlineno == py_line.
extern "C" __attribute__((noinline)) void gilrace_pyx_add_traceback(PyObject* module,
                                                                    const char* funcname,
                                                                    int py_line,
                                                                    const char* filename) {
  ModuleState* st = state_of(module);
  GilracePyxCodeObjectCache* cache = &st->cache;
  GilracePyxInstruments* in = cache->instruments;
  PyThreadState* tstate = PyThreadState_Get();
  gilrace::py::Ref py_code = gilrace::py::Ref::steal(
      reinterpret_cast<PyObject*>(st->naive ? gilrace_pyx30_find_code_object(cache, py_line)
                                            : gilrace_pyx31_find_code_object(cache, py_line)));
  if (py_code) {
    // A live code object for this line always says so; anything else is a freed or
    // misplaced entry.
    if (reinterpret_cast<PyCodeObject*>(py_code.get())->co_firstlineno != py_line)
      hit(in->cache_hit_wrong_line);
  } else {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject* exc = PyErr_GetRaisedException();
#else
    PyObject *ptype, *pvalue, *ptraceback;
    PyErr_Fetch(&ptype, &pvalue, &ptraceback);
#endif
    py_code = gilrace::py::Ref::steal(
        reinterpret_cast<PyObject*>(PyCode_NewEmpty(filename, funcname, py_line)));
#if PY_VERSION_HEX >= 0x030C0000
    if (!py_code) {
      Py_XDECREF(exc);
      return;
    }
    PyErr_SetRaisedException(exc);
#else
    if (!py_code) {
      Py_XDECREF(ptype);
      Py_XDECREF(pvalue);
      Py_XDECREF(ptraceback);
      return;
    }
    PyErr_Restore(ptype, pvalue, ptraceback);
#endif
    if (in->in_insert.fetch_add(1, std::memory_order_relaxed) > 0) hit(in->concurrent_miss);
    auto* code = reinterpret_cast<PyCodeObject*>(py_code.get());
    if (st->naive) {
      gilrace_pyx30_insert_code_object(cache, py_line, code);
    } else {
      gilrace_pyx31_insert_code_object(cache, py_line, code);
    }
    in->in_insert.fetch_sub(1, std::memory_order_relaxed);
  }
  gilrace::py::Ref py_frame = gilrace::py::Ref::steal(reinterpret_cast<PyObject*>(PyFrame_New(
      tstate, reinterpret_cast<PyCodeObject*>(py_code.get()), PyModule_GetDict(module), nullptr)));
  if (!py_frame) return;
  PyTraceBack_Here(reinterpret_cast<PyFrameObject*>(py_frame.get()));
}

namespace {

// raise_at(line): what a compiled `raise ValueError(...)` on that line does.
PyObject* mod_raise_at(PyObject* module, PyObject* arg) {
  long line = PyLong_AsLong(arg);
  if (line == -1 && PyErr_Occurred()) return nullptr;
  PyErr_Format(PyExc_ValueError, "raised on line %ld", line);
  gilrace_pyx_add_traceback(module, "raise_at", static_cast<int>(line), kFilename);
  return nullptr;
}

void module_free(void* module) {
  if (ModuleState* st = state_of(static_cast<PyObject*>(module)))
    gilrace_pyx_code_cache_cleanup(&st->cache);
}

PyMethodDef methods[] = {
    {"raise_at", mod_raise_at, METH_O, "raise_at(line): raise ValueError from that line"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef_Slot slots[] = {
#ifdef Py_mod_gil
    // Like a Cython 3.1 module compiled with freethreading_compatible=True: it must not turn
    // the GIL back on, or there would be nothing to race.
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, nullptr}};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT,
                          kModuleName,
                          "a Cython-style module whose exceptions carry cached code objects",
                          sizeof(ModuleState),
                          methods,
                          slots,
                          nullptr,
                          nullptr,
                          module_free};

PyObject* init_module() {
  return PyModuleDef_Init(&module_def);
}

// Parameters are checked before any trial runs (ScenarioInfo::validate).
std::string check_params(const std::map<std::string, std::string>& params) {
  auto positive = [&](const char* k) {
    auto it = params.find(k);
    if (it == params.end()) return false;
    try {
      std::size_t used = 0;
      long long v = std::stoll(it->second, &used);
      return used == it->second.size() && v >= 1 && v <= 1'000'000;
    } catch (const std::exception&) {
      return false;
    }
  };
  if (!positive("keys")) return "--param keys= needs an integer from 1 to 1000000";
  if (!positive("rounds")) return "--param rounds= needs an integer from 1 to 1000000";
  if (std::stoll(params.at("keys")) * std::stoll(params.at("rounds")) > 10'000'000)
    return "--param keys= times rounds= must be at most 10000000 (lines are C ints)";
  auto alloc = params.find("allocator");
  if (alloc == params.end() || (alloc->second != "debug" && alloc->second != "default"))
    return "--param allocator= must be 'debug' or 'default'";
  auto collect = params.find("collect");
  static const char* const bools[] = {"0", "1", "true", "false", "yes", "no", "on", "off"};
  if (collect == params.end() ||
      std::find(std::begin(bools), std::end(bools), collect->second) == std::end(bools))
    return "--param collect= must be 0 or 1";
  return "";
}

// The Python side: a caller that catches what the compiled function raises.
constexpr const char* kCallerSource = R"(
def call(raise_at, line):
    try:
        raise_at(line)
    except ValueError:
        return
    raise AssertionError("raise_at did not raise")
)";

}  // namespace

namespace gilrace {

class TracebackCodeCache : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "traceback-code-cache",
            .summary =
                "threads raise from the same fresh lines through a Cython-style traceback "
                "code-object cache (sorted array, realloc, missing incref on replace)",
            .references = {"cython/cython#6663", "cython/cython#6718", "cython/cython#6665",
                           "cython/cython#6721"},
            .variants = {{"fixed",
                          "Cython 3.1: atomic accessor count (a contended cache is a miss), "
                          "incref on replace"},
                         {"naive",
                          "Cython 3.0.x: unsynchronised array, no incref on replace",
                          true,
                          // With the GIL, the GIL serialises the cache: 0/20 on 3.11.2 and 3.14.7.
                          {{"cython/cython#6663", 0, 0, GilMode::free_threaded_only}}}},
            .params = {{"keys", "8000",
                        "fresh lines per round: the array grows by 64 entries per realloc and an "
                        "insert shifts the entries above it"},
                       {"rounds", "1", "rounds of fresh lines per trial (first pass, then cached)"},
                       {"collect", "1",
                        "gc.collect() between the passes: free-threaded builds free code objects "
                        "(deferred refcount) only in a collection"},
                       {"allocator", "debug",
                        "debug: allocator debug hooks (freed memory overwritten at once); default: "
                        "the build's own allocator"}},
            .lifecycle = Lifecycle::scenario,
            .default_threads = 4,
            .validate = check_params,
            .probes = {
                {"concurrent_miss",
                 "two threads were in the miss-and-insert path at once (never with a GIL)", true},
                {"grow_under_reader",
                 "the array was reallocated while a reader was bisecting it (cython#6663)",
                 true,
                 {"naive"}},
                {"replace_branch",
                 "an insert found its line already cached: another thread inserted it first "
                 "(naive: the missing incref, cython#6718)"},
                {"grow", "the array grew (PyMem_Realloc)"},
                {"cache_hit_wrong_line",
                 "a lookup returned a code object of another line: a freed or misplaced entry"},
                {"reader_backoff", "fixed: a reader met a writer and took the lookup as a miss"},
                {"writer_gave_up", "fixed: a writer met another accessor and skipped its insert"}}};
  }

  void before_init(Context&) override {
    if (PyImport_AppendInittab(kModuleName, init_module) != 0)
      throw ScenarioError("PyImport_AppendInittab failed");
  }

  Result run(Context& ctx) override {
    // Debug hooks on the allocator (what a --with-pydebug build runs with, and what
    // PYTHONMALLOC=debug asks for) overwrite freed memory at once. Without them a freed code
    // object keeps looking like one for a while, and the double free that follows corrupts
    // mimalloc's free lists: a thread then spins forever at exit (a "deadlock") instead of
    // crashing where the freed object is used.
    const std::string allocator = ctx.param("allocator");
    if (allocator == "debug")
      if (std::string err = py::preinit_debug_allocator(); !err.empty())
        throw ScenarioError("Py_PreInitialize failed: " + err);
    ctx.init_python();
    Result r;
    try {
      r = stress(ctx);
    } catch (const py::Error& e) {
      r = Result::error(e.what());
    }
    if (Py_FinalizeEx() < 0 && r.status == Result::Status::pass)
      r = Result::error("Py_FinalizeEx() failed");
    return r;
  }

 private:
  // The trial proper, attached to the interpreter.
  Result stress(Context& ctx) {
    const bool naive = ctx.variant() == "naive";
    const int n_threads = std::max(2, ctx.threads());
    const long long keys = ctx.param_int("keys");
    const long long rounds = ctx.param_int("rounds");
    const bool collect = ctx.param_bool("collect");

    py::Ref mod = py::import(kModuleName);
    const bool gil = py::gil_enabled_at_runtime();
    ctx.note("gil_enabled", gil ? "1" : "0");
#ifdef Py_GIL_DISABLED
    if (gil) throw ScenarioSkip("the GIL is enabled in this free-threaded build");
#endif
    py::Ref ns = py::run_code(kCallerSource, "<traceback-code-cache>");
    PyObject* call = PyDict_GetItemString(ns.get(), "call");  // borrowed, ns keeps it
    py::Ref gc = py::import("gc");
    py::Ref raise_at = py::check(PyObject_GetAttrString(mod.get(), "raise_at"));
    if (!call) throw ScenarioError("caller not defined");

    // Probes are looked up once, here: Context::probe() takes a lock.
    GilracePyxInstruments in;
    in.concurrent_miss = &ctx.probe("concurrent_miss");
    in.replace_branch = &ctx.probe("replace_branch");
    in.grow = &ctx.probe("grow");
    in.grow_under_reader = &ctx.probe("grow_under_reader");
    in.cache_hit_wrong_line = &ctx.probe("cache_hit_wrong_line");
    if (!naive) {
      in.reader_backoff = &ctx.probe("reader_backoff");
      in.writer_gave_up = &ctx.probe("writer_gave_up");
    }
    ModuleState* st = state_of(mod.get());
    st->naive = naive ? 1 : 0;
    st->cache.instruments = &in;

    // The same shuffled order for every thread; round r owns the lines base + i*rounds + r,
    // so each round's inserts land all over the array and shift its tail.
    std::vector<int> order(static_cast<std::size_t>(keys));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(ctx.seed());
    std::shuffle(order.begin(), order.end(), rng);
    constexpr int kBase = 1000;

    std::barrier sync(n_threads);
    std::atomic<bool> failed{false};
    std::mutex error_mu;
    std::exception_ptr error;

    auto worker = [&](int index) {
      py::Gil attached;
      auto pass = [&](long long round) {
        for (int i : order) {
          if (failed.load(std::memory_order_relaxed)) return;
          py::Ref line = py::check(PyLong_FromLongLong(kBase + i * rounds + round));
          py::Ref r =
              py::check(PyObject_CallFunctionObjArgs(call, raise_at.get(), line.get(), nullptr));
          ctx.heartbeat();
        }
      };
      auto guarded = [&](auto&& step) {
        try {
          step();
        } catch (...) {
          std::lock_guard lock(error_mu);
          if (!error) error = std::current_exception();
          failed = true;
        }
      };
      auto wait_for_all = [&] {
        py::Unlocked detached;  // never wait for the others while attached
        sync.arrive_and_wait();
      };
      for (long long round = 0; round < rounds; ++round) {
        wait_for_all();
        guarded([&] { pass(round); });  // every line missing: concurrent first misses
        if (collect) {
          // Once every thread is done with the misses, one thread collects: code objects
          // the cache holds without owning are freed now, before the cached pass.
          wait_for_all();
          if (index == 0 && !failed) guarded([&] { py::call_method(gc.get(), "collect"); });
        }
        wait_for_all();
        guarded([&] { pass(round); });  // every line cached
      }
    };
    {
      py::Unlocked detached;  // joined (below) before this re-attaches
      std::vector<std::jthread> threads;
      for (int t = 0; t < n_threads; ++t) threads.emplace_back(worker, t);
    }
    st->cache.instruments = nullptr;
    if (error) std::rethrow_exception(error);

    ctx.note("cache_count", std::to_string(st->cache.count));
    ctx.note("cache_max_count", std::to_string(st->cache.max_count));
    if (!naive && in.cache_hit_wrong_line->count() > 0)
      return Result::error("the fixed cache returned a code object for the wrong line");
    return Result::pass();
  }
};
GILRACE_SCENARIO(TracebackCodeCache);

}  // namespace gilrace
