// py-script through the real binary: a user's Python file as __main__, its worker(i)
// in native threads; exceptions, crashes and usage errors each end up where they belong.
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "tests/catch.h"
#include "tests/integration/support.h"

using namespace gilrace::test;

namespace {

std::string example(const std::string& name) {
  return std::string(GILRACE_SOURCE_DIR) + "/scenarios/py/" + name;
}

// Runs gilrace from `dir` (posix_spawn inherits the working directory).
Run run_in(const std::string& dir, const std::vector<std::string>& args) {
  char old[4096];
  if (!getcwd(old, sizeof old)) throw std::runtime_error("getcwd failed");
  if (chdir(dir.c_str()) != 0) throw std::runtime_error("chdir failed");
  Run r = run_gilrace(args);
  if (chdir(old) != 0) throw std::runtime_error("chdir back failed");
  return r;
}

}  // namespace

TEST_CASE("py-script runs the shared-containers example cleanly on every build") {
  Run r = run_gilrace({"run", "py-script", "--param", "script=" + example("shared_containers.py"),
                       "--param", "probes=containers_shared", "--param", "iterations=200", "-n",
                       "4", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 0);
  const auto& g = group(r.json, "py-script");
  CHECK(outcome_count(g, "pass") == 4);
  // _gilrace.probe() from Python reaches the report.
  CHECK(g["probes"]["containers_shared"]["trials_hit"] == 4);
  CHECK(g["probes"]["containers_shared"]["window"] == false);
  CHECK(g["window_not_reached"] == false);  // no window probe declared
}

TEST_CASE("py-script: the script's probes are declared with --param window= and probes=") {
  std::string dir = temp_dir("pyscript-probes");
  std::string script = write_file(dir + "/probes.py",
                                  "import _gilrace\n"
                                  "def worker(i):\n"
                                  "    _gilrace.probe('seen')\n");
  // Hitting a probe the parameters do not name is the scenario's bug: error, naming it.
  Run undeclared = run_gilrace({"run", "py-script", "--param", "script=" + script, "--param",
                                "iterations=2", "-n", "2", "-j", "2", "--seed", "1"});
  CHECK(undeclared.exit_code == 1);
  const auto& u = group(undeclared.json, "py-script");
  CHECK(outcome_count(u, "error") == 2);
  REQUIRE(u["signatures"].size() == 1);
  CHECK(u["signatures"][0]["signature"].get<std::string>().find("undeclared probe(s) seen") !=
        std::string::npos);

  // Declared as the window, never hit: window_not_reached; hit: not.
  Run missed = run_gilrace({"run", "py-script", "--param", "script=" + script, "--param",
                            "probes=seen", "--param", "window=lost", "--param", "iterations=2",
                            "-n", "2", "-j", "2", "--seed", "1"});
  CHECK(missed.exit_code == 0);
  const auto& m = group(missed.json, "py-script");
  CHECK(m["probes"]["lost"]["trials_hit"] == 0);
  CHECK(m["probes"]["lost"]["window"] == true);
  CHECK(m["probes"]["seen"]["trials_hit"] == 2);
  CHECK(m["window_not_reached"] == true);
  Run hit =
      run_gilrace({"run", "py-script", "--param", "script=" + script, "--param", "window=seen",
                   "--param", "iterations=2", "-n", "2", "-j", "2", "--seed", "1"});
  CHECK(hit.exit_code == 0);
  CHECK(group(hit.json, "py-script")["window_not_reached"] == false);

  Run bad = run_gilrace(
      {"run", "py-script", "--param", "script=" + script, "--param", "window=a,,b"}, false);
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--param window= takes probe names") != std::string::npos);
}

TEST_CASE("py-script: an exception in worker() is an error carrying the Python traceback") {
  std::string dir = temp_dir("pyscript-raise");
  std::string script = write_file(dir + "/raising.py",
                                  "def deliberately_raising(i):\n"
                                  "    raise ValueError('gilrace test: worker failed')\n"
                                  "def worker(i):\n"
                                  "    deliberately_raising(i)\n");
  Run r = run_gilrace(
      {"run", "py-script", "--param", "script=" + script, "-n", "2", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "py-script");
  CHECK(outcome_count(g, "error") == 2);
  REQUIRE(g["signatures"].size() == 1);
  const auto& s = g["signatures"][0];
  CHECK(s["signature"] == "error: ValueError: gilrace test: worker failed");
  std::string detail = s["detail"];
  CHECK(detail.find("raised on call 1") != std::string::npos);
  CHECK(detail.find("Traceback (most recent call last)") != std::string::npos);
  CHECK(detail.find("deliberately_raising") != std::string::npos);
  CHECK(detail.find(script) != std::string::npos);  // the frames name the file
}

TEST_CASE("py-script: exceptions at module level, in setup() and in check() are errors") {
  std::string dir = temp_dir("pyscript-phases");
  std::string module = write_file(dir + "/module.py", "x = 1 / 0\n");
  std::string setup = write_file(dir + "/setup.py",
                                 "def setup():\n    raise KeyError('no fixture')\n"
                                 "def worker(i):\n    pass\n");
  std::string check = write_file(dir + "/check.py",
                                 "calls = []\n"
                                 "def worker(i):\n    calls.append(i)\n"
                                 "def check():\n"
                                 "    raise AssertionError(f'{len(calls)} calls seen')\n");
  struct Case {
    std::string script, signature, marker;
  } cases[] = {
      {module, "error: ZeroDivisionError: division by zero", "raised at module level"},
      {setup, "error: KeyError: 'no fixture'", "setup() raised"},
      {check, "error: AssertionError: 8 calls seen", "check() raised"},
  };
  for (const auto& c : cases) {
    INFO(c.script);
    Run r = run_gilrace({"run", "py-script", "--param", "script=" + c.script, "--param",
                         "iterations=2", "-n", "1", "--seed", "1"});
    CHECK(r.exit_code == 1);
    const auto& g = group(r.json, "py-script");
    CHECK(outcome_count(g, "error") == 1);
    REQUIRE(g["signatures"].size() == 1);
    CHECK(g["signatures"][0]["signature"] == c.signature);
    std::string detail = g["signatures"][0]["detail"];
    CHECK(detail.find(c.marker) != std::string::npos);
    CHECK(detail.find("Traceback (most recent call last)") != std::string::npos);
  }
}

TEST_CASE("py-script: a missing script is a usage error, found before any trial runs") {
  std::string missing = temp_dir("pyscript-missing") + "/does_not_exist.py";
  for (const char* cmd : {"run", "replay"}) {
    INFO(cmd);
    Run r = run_gilrace({cmd, "py-script", "--param", "script=" + missing}, false);
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.find("does_not_exist.py: no such file") != std::string::npos);
    CHECK(r.out.empty());
  }
  Run none = run_gilrace({"run", "py-script"}, false);
  CHECK(none.exit_code == 2);
  CHECK(count_lines(none.err) == 1);
  CHECK(none.err.find("--param script=FILE") != std::string::npos);
}

TEST_CASE("py-script: a script that segfaults the interpreter is a crash") {
  std::string dir = temp_dir("pyscript-segv");
  std::string script = write_file(dir + "/segv.py",
                                  "import ctypes\n"
                                  "def worker(i):\n"
                                  "    ctypes.string_at(0)\n");
  Run r = run_gilrace({"run", "py-script", "--param", "script=" + script, "--threads", "2", "-n",
                       "2", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "py-script");
  CHECK(outcome_count(g, "crash") == 2);
  REQUIRE(g["signatures"].size() >= 1);
  std::string sig = g["signatures"][0]["signature"];
  CHECK(sig.rfind("SIGSEGV", 0) == 0);
}

TEST_CASE("py-script: a relative script path is taken from gilrace's working directory") {
  std::string dir = temp_dir("pyscript-relative");
  // The script checks, inside the trial, that the trial runs in the same
  // directory and that __file__ is the resolved absolute path.
  write_file(dir + "/relative.py",
             "import os, sys\n"
             "EXPECTED = " +
                 std::string("'") + dir +
                 "'\n"
                 "def worker(i):\n"
                 "    pass\n"
                 "def check():\n"
                 "    assert os.getcwd() == EXPECTED, os.getcwd()\n"
                 "    assert __file__ == os.path.join(EXPECTED, 'relative.py'), __file__\n"
                 "    assert sys.path[0] == EXPECTED, sys.path[0]\n");
  Run r = run_in(dir, {"run", "py-script", "--param", "script=relative.py", "--param",
                       "worker=worker", "-n", "2", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 0);
  CHECK(outcome_count(group(r.json, "py-script"), "pass") == 2);
  // From another directory the same relative name does not exist.
  Run elsewhere = run_gilrace({"run", "py-script", "--param", "script=relative.py"}, false);
  CHECK(elsewhere.exit_code == 2);
}
