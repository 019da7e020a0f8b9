// list-union-repr: repr() of a shared container of large PEP 604 unions while
// other threads remove them, free-threaded CPython.
//
// python/cpython#132713: list_repr_impl() (Objects/listobject.c) holds the
// list's critical section and, before 3.13.4, called repr() on the BORROWED
// v->ob_item[i]. A critical section is not a lock that is held throughout: it
// is suspended whenever its thread detaches, and a thread detaches whenever it
// parks on a contended PyMutex (Python/lock.c: spin up to 40 yields, or none
// once another waiter has parked, then _PyParkingLot_Park(..., detach) ->
// _PyCriticalSection_SuspendAll). So a writer parked on the list's mutex gets
// the list (often handed off directly) while the reader sits inside the item's
// repr; it pop()s or clear()s the list, the item dies, and union_repr()
// (Objects/unionobject.c) carries on over freed memory: alias->args is
// re-read for every member. The fix (3.13.4, PR #132809) holds a strong
// reference to the item around repr(item).
//
// What holds the reader up inside union_repr (--param contention). The union
// is int | the ~20 static types with a dotted name | the builtin types | 300
// heap classes, plus `slow_members` generic aliases list[X], set[X], ...
// spread through it; union_repr_item() -> ga_repr() -> repr(X).
//   detach (default): X's repr detaches for a moment (Py_BEGIN_ALLOW_THREADS
//     around a yield), as an extension object's repr that releases the GIL
//     around a blocking call does. Deterministic: every such member suspends
//     the list's critical section, whatever the machine's load.
//   box: X is a dict whose critical section a helper thread holds hold_us at
//     a time (busy, as extension code working under Py_BEGIN_CRITICAL_SECTION
//     does); dict_repr(X) contends for it. The reader parks only when the
//     hold outlasts its spinning (40 sched_yield()s, unless a waiter has
//     already parked): frequent on an idle machine, rare on a loaded one,
//     where the yields themselves take long.
//   intern: every static type with a dotted tp_name has its __module__ built
//     afresh and interned by type_module() (Objects/typeobject.c), inside the
//     interned dict's critical section; a helper interns strings in a loop.
//     Hold times are tiny, so readers rarely park: the weakest source (the
//     upstream reproducer's member list has such types).
//   gc: a helper calls gc.collect() in a loop. A stop-the-world pause alone
//     does not suspend a reader inside union_repr (pure C code reaches no
//     eval-breaker check); it lengthens the suspensions the others cause.
//   none: the readers' own interning contention only.
// Measured on the shared 2-core machine (stock 3.13.15t, 2 s trials, -j 2):
// detach puts a pop()/clear() inside a repr in every trial; box, intern and
// none in some or none, depending on the load.
//
// python/cpython#135878 (variant namespace): namespace_repr()
// (Objects/namespaceobject.c) formatted "%U=%R" with the BORROWED value of
// PyDict_GetItemWithError() before 3.13.6; no critical section is involved at
// all, so any thread replacing the attribute frees the value under the repr.
//
// Probes. The container's first element is a sentinel whose C-level repr runs
// first inside the container's repr (inside the list's critical section) and
// takes a snapshot for the reader that is running it.
//   repr_overlapped_mutation: a mutation happened while a repr was running.
//     list: the repr printed a different number of items than the list held
//     when the sentinel ran. Exact: without a suspension of the reader's
//     critical section no writer can touch the list during list_repr_impl.
//     namespace: a writer's replacement began after the sentinel ran and ended
//     before repr() returned (per-writer started/ended counters).
#include <Python.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

namespace gilrace {
namespace {

// Both bugs were fixed on the 3.13 and 3.14 branches (commits a4ea80d and dc3e963 for
// #132713 in 3.14.0b1, 3de0f55 and 341b86e in 3.13.4; #135878 in 3.14.0b4 and 3.13.6);
// the scenario applies to free-threaded builds only, so the ranges say that too.
constexpr GilMode kFreeThreaded = GilMode::free_threaded_only;

// The big union, fresh copies of it, and the containers. Members as in the
// upstream reproducer (int, the builtin types, then "a few hundred classes"),
// plus every static type outside builtins: those are the members whose
// __module__ is interned on every repr.
constexpr const char* kSetup = R"PY(
import builtins
from functools import reduce
from operator import or_

def static_dotted_types():
    HEAP = 1 << 9
    seen, out, todo = set(), [], [object]
    while todo:
        for sub in type.__subclasses__(todo.pop()):
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                # A static type is in builtins unless its tp_name has a dot.
                if not sub.__flags__ & HEAP and sub.__module__ != "builtins":
                    out.append(sub)
    return out

STATIC = static_dotted_types()
N_STATIC = len(STATIC)
BUILTIN = [t for t in vars(builtins).values()
           if isinstance(t, type) and not issubclass(t, BaseException)]
CLASSES = [type(f"C{i}", (), {"__module__": "gilrace_lur"}) for i in range(N_CLASSES)]
ORIGINS = [list, set, frozenset, tuple, type, dict]

def build(slow, n_slow):
    # n_slow generic aliases list[X], set[X], ... over the objects in `slow`
    # (ga_repr() formats X with repr()), spread through the members, so that a
    # reader can be held up anywhere in a union's repr.
    global BIG
    members = STATIC + BUILTIN + CLASSES
    n = min(n_slow, len(ORIGINS)) if slow else 0
    for i in range(n):
        members.insert((i + 1) * len(members) // (n + 1), ORIGINS[i][slow[i % len(slow)]])
    BIG = reduce(or_, members, int)
    # The list variant counts the items of a repr by its ", " separators.
    assert ", " not in repr(BIG), repr(BIG)
    return len(BIG.__args__)

def fresh():
    # A new union object with a new args tuple, referenced only by the caller.
    return BIG | None
)PY";

// Per-writer progress, read by readers: "started" is bumped before a removal,
// "ended" after it returns.
struct WriterCounters {
  std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> ended{0};
};

// What a reader's sentinel repr fills in. One per reader thread; the sentinel
// finds it through tl_reader (a per-thread scratch pointer, set only while
// that reader runs).
struct ReaderSnapshot {
  const std::vector<WriterCounters>* writers = nullptr;
  PyObject* list = nullptr;  // the list variant's list, else null
  std::vector<std::uint64_t> started;
  Py_ssize_t list_size = 0;  // the list's size when its repr started
  bool taken = false;
};
thread_local ReaderSnapshot* tl_reader = nullptr;

// tp_repr of the sentinel: runs inside list_repr_impl (inside the list's
// critical section) or inside namespace_repr, before any union is formatted.
// Pure C, no Python code, no locks: it adds no suspension point of its own.
extern "C" PyObject* gilrace_lur_sentinel_repr(PyObject*) {
  if (ReaderSnapshot* r = tl_reader; r && !r->taken) {
    for (std::size_t i = 0; i < r->started.size(); ++i)
      r->started[i] = (*r->writers)[i].started.load(std::memory_order_seq_cst);
    // Inside list_repr_impl this thread holds the list's critical section.
    if (r->list) r->list_size = PyList_GET_SIZE(r->list);
    r->taken = true;
  }
  return PyUnicode_FromString("<sentinel>");
}

// Items in a list's repr: no member of the union prints ", " (the setup checks),
// so the top-level separators are the only ones.
Py_ssize_t printed_items(PyObject* repr) {
  Py_ssize_t n = 0;
  const char* s = PyUnicode_AsUTF8AndSize(repr, &n);
  if (!s) throw py::Error("repr as UTF-8");
  std::string_view v(s, static_cast<std::size_t>(n));
  if (v == "[]") return 0;
  Py_ssize_t items = 1;
  for (std::size_t at = v.find(", "); at != std::string_view::npos; at = v.find(", ", at + 2))
    ++items;
  return items;
}

// Holds op's critical section for `hold`, attached, without detaching (a
// busy wait: sleeping would detach and so release it).
void hold_critical_section([[maybe_unused]] PyObject* op,
                           [[maybe_unused]] std::chrono::microseconds hold) {
#if PY_VERSION_HEX >= 0x030D0000
  Py_BEGIN_CRITICAL_SECTION(op);
  auto until = std::chrono::steady_clock::now() + hold;
  while (std::chrono::steady_clock::now() < until) {
  }
  Py_END_CRITICAL_SECTION();
#else
  throw ScenarioError("critical sections need CPython 3.13+");
#endif
}

// tp_repr of the members' detaching object: detaches for a moment, as the
// repr of an extension object that releases the GIL around a blocking call
// (I/O, a lock) does. Detaching suspends every critical section this thread
// holds, so inside list_repr_impl the list is free for the writers.
extern "C" PyObject* gilrace_lur_detacher_repr(PyObject*) {
  {
    py::Unlocked detached;
    std::this_thread::yield();
  }
  return PyUnicode_FromString("<detaches>");
}

PyType_Slot detacher_slots[] = {
    {Py_tp_repr, reinterpret_cast<void*>(gilrace_lur_detacher_repr)},
    {0, nullptr},
};
PyType_Spec detacher_spec = {
    "gilrace_lur.Detacher", static_cast<int>(sizeof(PyObject)), 0, Py_TPFLAGS_DEFAULT,
    detacher_slots,
};

PyType_Slot sentinel_slots[] = {
    {Py_tp_repr, reinterpret_cast<void*>(gilrace_lur_sentinel_repr)},
    {0, nullptr},
};
PyType_Spec sentinel_spec = {
    "gilrace_lur.Sentinel", static_cast<int>(sizeof(PyObject)), 0, Py_TPFLAGS_DEFAULT,
    sentinel_slots,
};

// What holds a reader up inside union_repr (--param contention).
struct Contention {
  bool detach = false;  // the slow members' X detaches in its repr
  bool box = false;     // X is a dict whose critical section a helper holds
  bool intern = false;  // a helper interns strings
  bool gc = false;      // a helper runs gc.collect()
};

Contention parse_contention(const std::string& param) {
  Contention c;
  std::string list = param + ",";
  for (std::size_t at = 0, comma; (comma = list.find(',', at)) != std::string::npos;
       at = comma + 1) {
    std::string name = list.substr(at, comma - at);
    if (name == "detach")
      c.detach = true;
    else if (name == "box")
      c.box = true;
    else if (name == "intern")
      c.intern = true;
    else if (name == "gc")
      c.gc = true;
    else if (name != "none" && !name.empty())
      throw ScenarioError("--param contention: unknown helper '" + name +
                          "' (detach, box, intern, gc or none)");
  }
  return c;
}

// One trial's settings, checked.
struct Settings {
  bool list_variant = false;
  double seconds = 0;
  long long items = 0, clear_every = 1, classes = 0, slow_members = 0;
  Contention contention;
  std::chrono::microseconds hold{0};  // contention=box
  int readers = 0, writers = 0;
  int threads() const {
    return readers + writers + (contention.box ? 1 : 0) + (contention.intern ? 1 : 0) +
           (contention.gc ? 1 : 0);
  }
};

Settings read_settings(Context& ctx) {
  Settings s;
  s.list_variant = ctx.variant() == "list";
  s.seconds = ctx.param_double("seconds");
  s.items = ctx.param_int("items");
  s.clear_every = std::max<long long>(1, ctx.param_int("clear_every"));
  s.contention = parse_contention(ctx.param("contention"));
  s.hold = std::chrono::microseconds(ctx.param_int("hold_us"));
  s.classes = ctx.param_int("classes");
  s.slow_members = ctx.param_int("slow_members");
  if (s.items < 1 || s.classes < 0 || s.slow_members < 0 || s.seconds <= 0)
    throw ScenarioError("--param items must be >= 1, classes, slow_members >= 0, seconds > 0");
  const int threads = std::max(2, ctx.threads());
  s.writers = static_cast<int>(ctx.param_int("writers"));
  if (s.writers <= 0) s.writers = std::max(1, threads / 2);
  if (s.writers >= threads) throw ScenarioError("--param writers must leave at least one reader");
  s.readers = threads - s.writers;
  return s;
}

// The Python objects the threads share, made while attached.
struct Objects {
  py::Ref fresh;               // fresh(): a new union, referenced only by the caller
  py::Ref box;                 // contention=box: the dict the holder keeps locked
  py::Ref sentinel;            // the container's first element
  py::Ref target;              // the list, or the SimpleNamespace
  std::vector<py::Ref> names;  // namespace attribute names, "u0".."uN"
};

// The list: the sentinel, then `items` fresh unions.
py::Ref make_list(const Objects& o, long long items) {
  py::Ref list = py::check(PyList_New(0));
  py::check(PyList_Append(list.get(), o.sentinel.get()));
  for (long long i = 0; i < items; ++i)
    py::check(PyList_Append(list.get(), py::check(PyObject_CallNoArgs(o.fresh.get())).get()));
  return list;
}

// The SimpleNamespace: the sentinel first, so namespace_repr formats it
// first, then attributes u0..uN holding fresh unions.
py::Ref make_namespace(Objects& o, long long items) {
  py::Ref types = py::import("types");
  py::Ref ns = py::call_method(types.get(), "SimpleNamespace");
  py::check(PyObject_SetAttrString(ns.get(), "a_sentinel", o.sentinel.get()));
  for (long long i = 0; i < items; ++i) {
    o.names.push_back(py::check(PyUnicode_FromFormat("u%lld", i)));
    py::check(PyObject_SetAttr(ns.get(), o.names.back().get(),
                               py::check(PyObject_CallNoArgs(o.fresh.get())).get()));
  }
  return ns;
}

// Builds the big union (with its slow members) and the container.
Objects set_up(Context& ctx, const Settings& s) {
  Objects o;
  std::string setup = "N_CLASSES = " + std::to_string(s.classes) + "\n" + kSetup;
  py::Ref g = py::run_code(setup, "<list-union-repr>");
  o.fresh = py::Ref::borrow(PyDict_GetItemString(g.get(), "fresh"));
  PyObject* build = PyDict_GetItemString(g.get(), "build");
  if (!o.fresh || !build) throw ScenarioError("setup did not define fresh() and build()");
  // The objects the slow members are generic over.
  py::Ref detacher_type = py::check(PyType_FromSpec(&detacher_spec));
  o.box = py::check(PyDict_New());
  py::Ref slow = py::check(PyList_New(0));
  if (s.contention.detach)
    py::check(PyList_Append(slow.get(), py::check(PyObject_CallNoArgs(detacher_type.get())).get()));
  if (s.contention.box) py::check(PyList_Append(slow.get(), o.box.get()));
  py::Ref n_slow = py::check(PyLong_FromLongLong(s.slow_members));
  py::Ref members =
      py::check(PyObject_CallFunctionObjArgs(build, slow.get(), n_slow.get(), nullptr));
  ctx.note("union_members", py::to_string(members.get()));
  ctx.note("static_dotted_members", py::to_string(PyDict_GetItemString(g.get(), "N_STATIC")));
  py::Ref sentinel_type = py::check(PyType_FromSpec(&sentinel_spec));
  o.sentinel = py::check(PyObject_CallNoArgs(sentinel_type.get()));
  o.target = s.list_variant ? make_list(o, s.items) : make_namespace(o, s.items);
  return o;
}

// What the threads of one trial share.
struct Race {
  Context& ctx;
  const Settings& s;
  const Objects& o;
  std::vector<WriterCounters> counters;
  Probe& overlapped;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reprs{0}, measured{0}, removals{0};
  std::latch start;

  Race(Context& c, const Settings& settings, const Objects& objects)
      : ctx(c),
        s(settings),
        o(objects),
        counters(static_cast<std::size_t>(settings.writers)),
        overlapped(c.probe("repr_overlapped_mutation")),
        start(settings.threads()) {}

  bool running() const { return !stop.load(std::memory_order_relaxed); }

  // Every thread waits at the barrier detached, so a stop-the-world pause
  // (a GC in another thread) never waits for a thread parked on the latch.
  void wait_start() {
    py::Unlocked detached;
    start.arrive_and_wait();
  }

  // namespace: a writer's replacement began after the repr started (the
  // sentinel's snapshot) and ended before it returned.
  bool writer_got_in(const ReaderSnapshot& snap) const {
    for (std::size_t w = 0; w < counters.size(); ++w)
      if (counters[w].ended.load(std::memory_order_seq_cst) > snap.started[w]) return true;
    return false;
  }
};

// Threads that loop over the C API never run bytecode, so they never reach
// an eval-breaker check: a stop-the-world pause (every GC, started by
// whichever thread allocates past the threshold) would wait for them
// forever. Detaching for a moment between iterations is their safe point,
// as returning to the eval loop is for the Python threads of the upstream
// reproducer.
void safe_point() {
  py::Unlocked detached;
}

// repr() of the container in a loop; each repr that the sentinel measured is
// checked for a mutation that ran inside it.
void reader(Race& r) {
  py::Gil gil;
  const bool list_variant = r.s.list_variant;
  PyObject* target = r.o.target.get();
  ReaderSnapshot snap{&r.counters, list_variant ? target : nullptr,
                      std::vector<std::uint64_t>(r.counters.size()), 0, false};
  tl_reader = &snap;
  r.wait_start();
  std::uint64_t local_reprs = 0, local_measured = 0;
  while (r.running()) {
    snap.taken = false;
    py::Ref s = py::check(PyObject_Repr(target));
    ++local_reprs;
    if (snap.taken && (!list_variant || snap.list_size > 1)) {
      ++local_measured;
      if (list_variant ? printed_items(s.get()) != snap.list_size : r.writer_got_in(snap))
        r.overlapped.hit();
    }
    r.ctx.heartbeat();
    safe_point();
  }
  tl_reader = nullptr;
  r.reprs += local_reprs;
  r.measured += local_measured;
}

// Refills the list in one step (one critical section): the sentinel first if
// it went, then fresh unions held only by the list.
void refill(const Race& r, PyObject* lst) {
  // (Only compared, never used: a borrowed pointer is enough.)
  PyObject* head = PyList_GetItem(lst, 0);
  if (!head) PyErr_Clear();
  if (head != r.o.sentinel.get()) py::check(PyList_Insert(lst, 0, r.o.sentinel.get()));
  Py_ssize_t missing = static_cast<Py_ssize_t>(r.s.items) + 1 - PyList_Size(lst);
  if (missing > 0) {
    py::Ref batch = py::check(PyList_New(0));
    for (Py_ssize_t i = 0; i < missing; ++i)
      py::check(PyList_Append(batch.get(), py::check(PyObject_CallNoArgs(r.o.fresh.get())).get()));
    py::check(PyList_SetSlice(lst, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, batch.get()));
  }
}

// pop()s (or, one time in clear_every, clear()s) the list, then refills it.
void list_writer(Race& r, int w) {
  py::Gil gil;
  std::mt19937_64 rng(r.ctx.stream_seed(static_cast<std::uint64_t>(w)));
  WriterCounters& c = r.counters[static_cast<std::size_t>(w)];
  PyObject* lst = r.o.target.get();
  r.wait_start();
  std::uint64_t local = 0;
  while (r.running()) {
    bool clear = rng() % static_cast<std::uint64_t>(r.s.clear_every) == 0;
    c.started.fetch_add(1, std::memory_order_seq_cst);
    py::Ref popped;
    if (clear) {
      py::call_method(lst, "clear");
    } else {
      popped = py::Ref::steal(PyObject_CallMethod(lst, "pop", nullptr));
      if (!popped) {
        if (!PyErr_ExceptionMatches(PyExc_IndexError)) throw py::Error("list.pop()");
        PyErr_Clear();  // another writer emptied it first
      }
    }
    c.ended.fetch_add(1, std::memory_order_seq_cst);
    ++local;
    popped = py::Ref();  // the last reference: the union dies here
    refill(r, lst);
    r.ctx.heartbeat();
    safe_point();
  }
  r.removals += local;
}

// Replaces random attributes of the namespace with fresh unions.
void namespace_writer(Race& r, int w) {
  py::Gil gil;
  std::mt19937_64 rng(r.ctx.stream_seed(static_cast<std::uint64_t>(w)));
  WriterCounters& c = r.counters[static_cast<std::size_t>(w)];
  r.wait_start();
  std::uint64_t local = 0;
  while (r.running()) {
    PyObject* name = r.o.names[rng() % r.o.names.size()].get();
    py::Ref value = py::check(PyObject_CallNoArgs(r.o.fresh.get()));
    c.started.fetch_add(1, std::memory_order_seq_cst);
    // Replaces the old union, whose only reference was the namespace's:
    // it dies inside this call.
    py::check(PyObject_SetAttr(r.o.target.get(), name, value.get()));
    c.ended.fetch_add(1, std::memory_order_seq_cst);
    ++local;
    r.ctx.heartbeat();
    safe_point();
  }
  r.removals += local;
}

// Interns fresh copies of a fixed set of strings: each call takes the
// interned dict's critical section, as type_module() does for every static
// dotted member in every reader. (A fixed set: interned strings are
// immortal in the free-threaded build, so new ones would pile up.)
void interner(Race& r) {
  py::Gil gil;
  r.wait_start();
  std::uint64_t i = 0;
  while (r.running()) {
    PyObject* s = PyUnicode_FromFormat("gilrace-lur-%d", static_cast<int>(i++ % 64));
    if (!s) throw py::Error("PyUnicode_FromFormat");
    PyUnicode_InternInPlace(&s);
    Py_DECREF(s);
    if (i % 256 == 0) {
      r.ctx.heartbeat();
      safe_point();
    }
  }
}

// Keeps BOX's critical section most of the time, as extension code doing
// work under Py_BEGIN_CRITICAL_SECTION does. A reader that reaches a
// list[BOX] member of a union needs it for dict_repr(BOX), spins, parks,
// and parking detaches it: its critical section on the list is suspended
// while it is inside union_repr.
void holder(Race& r) {
  py::Gil gil;
  r.wait_start();
  while (r.running()) {
    hold_critical_section(r.o.box.get(), r.s.hold);
    r.ctx.heartbeat();
    // Let go for a while (detached), so that a parked reader gets BOX
    // soon after it is woken instead of waiting for PyMutex's 1 ms
    // fairness hand-off: more reprs, each still likely to park.
    py::Unlocked detached;
    std::this_thread::sleep_for(r.s.hold / 2);
  }
}

void collector(Race& r) {
  py::Gil gil;
  py::Ref gc = py::import("gc");
  r.wait_start();
  while (r.running()) {
    py::call_method(gc.get(), "collect");
    r.ctx.heartbeat();
    py::Unlocked detached;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

// Runs every thread for `seconds`, or until one fails, while the calling
// thread only waits, detached. Returns each thread's error ("" for none).
std::vector<std::string> run_threads(Race& r) {
  const Settings& s = r.s;
  std::vector<std::string> errors(static_cast<std::size_t>(s.threads()));
  {
    py::Unlocked detached;
    std::vector<std::jthread> pool;
    int slot = 0;
    auto spawn = [&](auto body) {
      std::string* err = &errors[static_cast<std::size_t>(slot++)];
      pool.emplace_back([&r, err, body]() mutable {
        try {
          body();
        } catch (const std::exception& e) {
          *err = e.what();
          r.stop = true;
        }
      });
    };
    for (int i = 0; i < s.readers; ++i) spawn([&r] { reader(r); });
    for (int w = 0; w < s.writers; ++w)
      spawn([&r, w] { r.s.list_variant ? list_writer(r, w) : namespace_writer(r, w); });
    if (s.contention.box) spawn([&r] { holder(r); });
    if (s.contention.intern) spawn([&r] { interner(r); });
    if (s.contention.gc) spawn([&r] { collector(r); });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(s.seconds);
    while (!r.stop && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    r.stop = true;
  }  // joins
  return errors;
}

class ListUnionRepr : public Scenario {
 public:
  static ScenarioInfo info() {
    return {
        .name = "list-union-repr",
        .summary =
            "repr() of a shared list (or SimpleNamespace) of large unions while other "
            "threads pop()/clear() it (or replace attributes), free-threaded",
        .references = {"python/cpython#132713", "python/cpython#132809", "python/cpython#135878",
                       "python/cpython#135889"},
        .variants = {{"list",
                      "repr(list) while writers pop()/clear()/refill the list; the list's "
                      "critical section is suspended while the reader is held up (detached or "
                      "parked) inside union_repr (#132713, fixed in 3.13.4 and 3.14.0b1)",
                      false,
                      {{"python/cpython#132713", 0x030D0000, 0x030D04F0, kFreeThreaded},
                       {"python/cpython#132713", 0x030E0000, 0x030E00B1, kFreeThreaded}}},
                     {"namespace",
                      "repr(types.SimpleNamespace) whose attributes are unions while writers "
                      "replace them (#135878, fixed in 3.13.6 and 3.14.0b4)",
                      false,
                      {{"python/cpython#135878", 0x030D0000, 0x030D06F0, kFreeThreaded},
                       {"python/cpython#135878", 0x030E0000, 0x030E00B4, kFreeThreaded}}}},
        .params = {{"seconds", "2", "how long each trial runs (stops earlier only by crashing)"},
                   {"classes", "300",
                    "heap classes in the union, after int and the builtin and "
                    "static dotted types"},
                   {"items", "6", "unions in the list / attributes of the namespace"},
                   {"writers", "0", "writer threads; 0 = half of --threads (at least 1)"},
                   {"clear_every", "4", "list: one removal in N is clear(), the others pop()"},
                   {"slow_members", "4",
                    "generic-alias members list[X], set[X], ... (at most 6) spread through the "
                    "union; repr(X) is where a reader is held up, see contention"},
                   {"contention", "detach",
                    "what holds a reader up inside union_repr, comma-separated: detach (X's "
                    "repr detaches for a moment), box (X is a dict whose critical section a "
                    "helper thread holds), intern (a helper interns strings, contending with "
                    "the readers' __module__ interning), gc (a helper runs gc.collect() in a "
                    "loop), none"},
                   {"hold_us", "200",
                    "contention=box: how long the helper holds X's critical section per turn "
                    "(microseconds)"}},
        .requires_ = {.gil = GilMode::free_threaded_only},
        .default_threads = 4,
        .probes = {{"repr_overlapped_mutation",
                    "a writer's removal or replacement ran while a repr() of the container was "
                    "running",
                    true}},
    };
  }

  Result run(Context& ctx) override {
    if (py::gil_enabled_at_runtime())
      throw ScenarioSkip("the GIL is enabled at run time: the race needs free threading");
    const Settings s = read_settings(ctx);
    const Objects o = set_up(ctx, s);
    Race race(ctx, s, o);
    std::vector<std::string> errors = run_threads(race);
    ctx.note("readers", std::to_string(s.readers));
    ctx.note("writers", std::to_string(s.writers));
    ctx.note("reprs", std::to_string(race.reprs.load()));
    ctx.note("reprs_of_unions", std::to_string(race.measured.load()));
    ctx.note("removals", std::to_string(race.removals.load()));
    for (const auto& e : errors)
      if (!e.empty()) return Result::error(e);
    return Result::pass();
  }
};
GILRACE_SCENARIO(ListUnionRepr);

}  // namespace
}  // namespace gilrace
