// Nightly stress at scale: shards that merge back into the unsharded run, a
// time budget, baselines of known signatures, the HTML report (rendered by
// headless Chromium), and the CI scripts and workflow definitions in ci/.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/catch.h"
#include "tests/integration/support.h"
#include "tests/skip.h"

using namespace gilrace::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kRoot = GILRACE_SOURCE_DIR;

void write_json(const std::string& path, const json& j) {
  std::ofstream(path) << j.dump(2) << "\n";
}

// selftest-flaky -n 400 --seed 7 (p = 0.1: about 40 crashes; P(none) = 0.9^400 ~ 5e-19),
// whole and as four shards: run once, shared by the tests below. Each test case runs in a
// process of its own (tests/CMakeLists.txt), so the runs are kept in the build's test folder,
// under a lock, and run again when gilrace or this program is rebuilt.
// An exclusive flock(2) on a file, held while it lives.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + path);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

struct Shards {
  Run whole;
  std::vector<std::string> files;  // shard K's summary.json
};

const Shards& flaky_shards() {
  static const Shards s = [] {
    const std::string dir = std::string(GILRACE_TEST_TMP) + "/nightly-flaky-shards";
    fs::create_directories(dir);
    FileLock lock(dir + "/lock");  // another test case may be making them right now
    // The gilrace binary and this test program (which holds the arguments below).
    auto mtime = [](const fs::path& p) {
      return fs::last_write_time(p).time_since_epoch().count();
    };
    const std::string stamp =
        fmt::format("{} {} {}", GILRACE_BINARY, mtime(GILRACE_BINARY), mtime("/proc/self/exe"));
    Shards out;
    for (int k = 0; k < 4; ++k) out.files.push_back(fmt::format("{}/shard-{}.json", dir, k));
    if (read_file(dir + "/stamp") == stamp) {
      out.whole.exit_code = std::stoi(read_file(dir + "/whole-exit-code"));
      out.whole.json = read_json(dir + "/whole.json");
      return out;
    }
    fs::remove(dir + "/stamp");
    out.whole = run_gilrace({"run", "selftest-flaky", "-n", "400", "--seed", "7", "-j", "2"});
    fs::copy_file(out.whole.dir + "/summary.json", dir + "/whole.json",
                  fs::copy_options::overwrite_existing);
    std::ofstream(dir + "/whole-exit-code") << out.whole.exit_code;
    for (int k = 0; k < 4; ++k) {
      Run r = run_gilrace({"run", "selftest-flaky", "-n", "400", "--seed", "7", "-j", "2",
                           "--shard", fmt::format("{}/4", k)});
      fs::copy_file(r.dir + "/summary.json", out.files[static_cast<std::size_t>(k)],
                    fs::copy_options::overwrite_existing);
    }
    std::ofstream(dir + "/stamp") << stamp;  // last: a half-made set is never reused
    return out;
  }();
  return s;
}

Run merge(const std::vector<std::string>& files, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"merge"};
  args.insert(args.end(), files.begin(), files.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return run_gilrace(args, false);
}

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser"})
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/snap/bin"})
      if (fs::exists(fs::path(dir) / name)) return (fs::path(dir) / name).string();
  return "";
}

std::string chromium_command(const std::string& chromium, const std::string& profile) {
  return "timeout 240 " + chromium +
         " --headless --no-sandbox --disable-gpu --disable-background-networking"
         " --disable-component-update --disable-sync --no-first-run --hide-scrollbars"
         " --user-data-dir=" +
         profile + " --window-size=1200,2000";
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size())
    ++n;
  return n;
}

}  // namespace

TEST_CASE("four shards merge to exactly the unsharded run with the same seed") {
  const Shards& s = flaky_shards();
  REQUIRE(s.whole.exit_code == 1);
  const json& whole = group(s.whole.json, "selftest-flaky");
  for (const auto& f : s.files) {
    json shard = read_json(f);
    CHECK(group(shard, "selftest-flaky")["trials"] == 100);
    CHECK(shard["run"]["shard_count"] == 4);
  }
  std::string dir = temp_dir("merge");
  Run m = merge(s.files, {"-o", dir + "/all.json", "--junit", dir + "/all.xml"});
  CHECK(m.exit_code == 1);  // failures reproduced, no baseline
  CHECK(m.err.find("missing") == std::string::npos);
  json all = read_json(dir + "/all.json");
  const json& merged = group(all, "selftest-flaky");
  CHECK(merged["trials"] == 400);
  CHECK(merged["failures"] == whole["failures"]);
  CHECK(merged["outcomes"] == whole["outcomes"]);
  CHECK(merged["rate_text"] == whole["rate_text"]);
  CHECK(merged["ci_low"].get<double>() == Approx(whole["ci_low"].get<double>()));
  CHECK(merged["ci_high"].get<double>() == Approx(whole["ci_high"].get<double>()));
  CHECK(merged["probes"] == whole["probes"]);
  REQUIRE(merged["signatures"].size() == whole["signatures"].size());
  for (std::size_t i = 0; i < whole["signatures"].size(); ++i) {
    const json &a = merged["signatures"][i], &b = whole["signatures"][i];
    CHECK(a["id"] == b["id"]);
    CHECK(a["count"] == b["count"]);
    CHECK(a["first_trial"] == b["first_trial"]);  // the smallest trial index, both ways
    CHECK(a["first_seed"] == b["first_seed"]);
    CHECK(a["replay"] == b["replay"]);
  }
  CHECK(all["totals"]["trials"] == 400);
  CHECK(all["run"]["missing_shards"].empty());
  CHECK(all["run"]["shards"].size() == 4);
  CHECK(all["run"]["seed"] == 7);
  CHECK(all["exit_code"] == 1);
  std::string junit = read_file(dir + "/all.xml");
  CHECK(junit.find(fmt::format("<failure message=\"{} failed of 400 trials",
                               whole["failures"].get<int>())) != std::string::npos);
  CHECK(m.out.find("merged 4 report(s): shard(s) 0/4, 1/4, 2/4, 3/4") != std::string::npos);
}

TEST_CASE("merge says which shards are missing and refuses what would be wrong") {
  const Shards& s = flaky_shards();
  std::string dir = temp_dir("merge-checks");

  Run part = merge({s.files[0], s.files[1], s.files[3]}, {"-o", dir + "/part.json"});
  CHECK(part.exit_code == 1);
  CHECK(part.err.find("gilrace: missing shards: 2/4\n") != std::string::npos);
  json p = read_json(dir + "/part.json");
  CHECK(p["run"]["missing_shards"] == json({"2/4"}));
  CHECK(group(p, "selftest-flaky")["trials"] == 300);

  Run dup = merge({s.files[0], s.files[0]}, {"-o", dir + "/dup.json"});
  CHECK(dup.exit_code == 2);
  CHECK(count_lines(dup.err) == 1);
  CHECK(dup.err.find("both hold shard 0/4 of seed 7") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/dup.json"));

  // The same shard from another build (as if the CPython had changed under the run).
  json other = read_json(s.files[1]);
  other["build"]["version"] = "3.99.0";
  write_json(dir + "/other.json", other);
  Run diff = merge({s.files[0], dir + "/other.json"}, {"-o", dir + "/diff.json"});
  CHECK(diff.exit_code == 2);
  CHECK(count_lines(diff.err) == 1);
  CHECK(diff.err.find("are different builds") != std::string::npos);
  CHECK(diff.err.find("--allow-different-builds") != std::string::npos);
  Run allowed = merge({s.files[0], dir + "/other.json"},
                      {"-o", dir + "/diff.json", "--allow-different-builds"});
  CHECK(allowed.exit_code == 1);
  json both = read_json(dir + "/diff.json");
  CHECK(both["builds"].size() == 2);
  CHECK(both["groups"].size() == 2);  // one per build, never summed together

  Run junk = merge({dir + "/part.json", kRoot + "/README.md"}, {"-o", dir + "/x.json"});
  CHECK(junk.exit_code == 2);
  CHECK(count_lines(junk.err) == 1);
  CHECK(merge({s.files[0]}, {}).exit_code == 2);  // no -o
}

TEST_CASE(
    "--duration ends the run within the budget plus a trial timeout, with a partial summary") {
  // Each trial sleeps 0.3 s, two at a time: at most 2 * (5 / 0.3 + 1) can start in 5 s.
  Run r = run_gilrace({"run", "selftest-slow", "--param", "seconds=0.3", "--duration", "5s", "-j",
                       "2", "--timeout", "20s", "--seed", "5"});
  CHECK(r.exit_code == 0);
  CHECK(r.seconds < 5 + 20);
  const json& g = group(r.json, "selftest-slow");
  std::uint64_t trials = g["trials"];
  CHECK(trials >= 1);
  CHECK(trials <= 35);
  CHECK(g["failures"] == 0);
  CHECK(r.json["run"]["budget_exhausted"] == true);
  CHECK(r.json["run"]["budget_used"].get<double>() == Approx(1.0));
  CHECK(r.json["run"]["wall_seconds"].get<double>() >= 5.0);
  CHECK(r.json["run"]["interrupted"] == false);
  CHECK(r.json["totals"]["trials"] == trials);
  std::size_t trial_events = 0;
  for (const auto& e : read_jsonl(r.dir + "/events.jsonl")) trial_events += e["type"] == "trial";
  CHECK(trial_events == trials);
  CHECK(read_file(r.dir + "/junit.xml").find("selftest-slow") != std::string::npos);
  CHECK(r.out.find("time budget of 5 s used up") != std::string::npos);
}

TEST_CASE("a time-budgeted shard runs its own trial indices, in order, without gaps") {
  Run r = run_gilrace(
      {"run", "selftest-pass", "--duration", "2s", "--shard", "1/3", "-j", "2", "--seed", "9"});
  CHECK(r.exit_code == 0);
  std::set<std::uint64_t> indices;
  for (const auto& e : read_jsonl(r.dir + "/events.jsonl"))
    if (e["type"] == "trial") indices.insert(e["trial"].get<std::uint64_t>());
  REQUIRE(!indices.empty());
  std::uint64_t expect = 1;
  for (std::uint64_t i : indices) {
    CHECK(i == expect);
    expect += 3;
  }
  CHECK(r.json["run"]["shard_index"] == 1);
  CHECK(r.json["run"]["shard_count"] == 3);
}

TEST_CASE("a baseline makes known signatures pass and new ones fail") {
  std::string dir = temp_dir("baseline");
  std::string known = dir + "/known.json";
  Run first = run_gilrace({"run", "selftest-segv", "-n", "4", "-j", "2", "--seed", "3"});
  REQUIRE(first.exit_code == 1);
  const json& sig = group(first.json, "selftest-segv")["signatures"][0];

  Run b = run_gilrace({"baseline", first.dir + "/summary.json", "-o", known}, false);
  CHECK(b.exit_code == 0);
  CHECK(b.out.find("fill in \"issue\"") != std::string::npos);
  json k = read_json(known);
  REQUIRE(k["signatures"].size() == 1);
  const json& e = k["signatures"][0];
  CHECK(e["scenario"] == "selftest-segv");
  CHECK(e["variant"] == "default");
  CHECK(e["id"] == sig["id"]);
  CHECK(e["signature"] == sig["signature"]);
  CHECK(e["outcome"] == "crash");
  CHECK(e["issue"] == "");
  k["signatures"][0]["issue"] = "selftest: a null write on purpose";
  write_json(known, k);

  Run ok = run_gilrace(
      {"run", "selftest-segv", "-n", "4", "-j", "2", "--seed", "4", "--baseline", known});
  CHECK(ok.exit_code == 0);
  const json& known_sig = group(ok.json, "selftest-segv")["signatures"][0];
  CHECK(known_sig["known"] == true);
  CHECK(known_sig["issue"] == "selftest: a null write on purpose");
  CHECK(ok.json["totals"]["failures"] == 4);
  CHECK(ok.json["totals"]["new_failures"] == 0);
  CHECK(ok.json["baseline"]["known_failures"] == 4);
  CHECK(read_file(ok.dir + "/junit.xml").find("<failure") == std::string::npos);
  CHECK(ok.out.find("known (selftest: a null write on purpose)") != std::string::npos);

  // A signature the baseline does not list fails the run.
  Run bad = run_gilrace({"run", "selftest-segv", "selftest-abort", "-n", "2", "-j", "2", "--seed",
                         "4", "--baseline", known});
  CHECK(bad.exit_code == 1);
  CHECK(group(bad.json, "selftest-segv")["signatures"][0]["known"] == true);
  CHECK_FALSE(group(bad.json, "selftest-abort")["signatures"][0].contains("known"));
  CHECK(bad.json["totals"]["new_failures"] == 2);
  std::string junit = read_file(bad.dir + "/junit.xml");
  CHECK(count_of(junit, "<failure ") == 1);  // selftest-abort only

  // merge --baseline judges the same way.
  CHECK(merge({first.dir + "/summary.json"}, {"-o", dir + "/m.json", "--baseline", known})
            .exit_code == 0);
  CHECK(
      merge({bad.dir + "/summary.json"}, {"-o", dir + "/m.json", "--baseline", known}).exit_code ==
      1);
  CHECK(merge({first.dir + "/summary.json"}, {"-o", dir + "/m.json"}).exit_code == 1);

  // Writing the baseline again keeps the issue filled in and adds the new signature.
  CHECK(run_gilrace({"baseline", bad.dir + "/summary.json", "-o", known}, false).exit_code == 0);
  json again = read_json(known);
  REQUIRE(again["signatures"].size() == 2);
  CHECK(again["signatures"][0]["issue"] == "selftest: a null write on purpose");
  CHECK(again["signatures"][1]["scenario"] == "selftest-abort");

  // A baseline whose id does not match its text, or --baseline with --expect fail: exit 2.
  json broken = again;
  broken["signatures"][0]["id"] = "00000000";
  write_json(dir + "/broken.json", broken);
  Run refused =
      run_gilrace({"run", "selftest-segv", "-n", "1", "--baseline", dir + "/broken.json"});
  CHECK(refused.exit_code == 2);
  CHECK(count_lines(refused.err) == 1);
  CHECK(refused.err.find("does not match its outcome and signature") != std::string::npos);
  CHECK(run_gilrace({"run", "selftest-segv", "-n", "1", "--expect", "fail", "--baseline", known})
            .exit_code == 2);
}

TEST_CASE("the nightly scripts, run here with two shards, give the merged JSON, JUnit and HTML") {
  std::string dir = temp_dir("nightly");
  std::string bin = GILRACE_BINARY;
  for (int k = 0; k < 2; ++k) {
    int rc = shell(fmt::format(
        "{}/ci/nightly-shard.sh --gilrace {} --flavour local --shard {}/2 --seed night-1 --out "
        "{}/shards -- selftest-flaky selftest-pass -n 60 -j 2 >{}/shard{}.log 2>&1",
        kRoot, bin, k, dir, dir, k));
    CHECK(rc == 0);  // failures are the merge's to judge
    CHECK(fs::exists(fmt::format("{}/shards/local/shard-{}-of-2.json", dir, k)));
    CHECK(fs::exists(fmt::format("{}/shards/local/shard-{}-of-2.xml", dir, k)));
  }
  json shard0 = read_json(dir + "/shards/local/shard-0-of-2.json");
  json shard1 = read_json(dir + "/shards/local/shard-1-of-2.json");
  CHECK(shard0["run"]["seed"] == shard1["run"]["seed"]);  // "night-1", hashed the same

  std::string merge_cmd = fmt::format(
      "{}/ci/nightly-merge.sh --gilrace {} --in {}/shards --out {}/merged --history {}/history",
      kRoot, bin, dir, dir, dir);
  CHECK(shell(merge_cmd + " >" + dir + "/merge.log 2>&1") == 1);  // no baseline: failures are new
  json merged = read_json(dir + "/merged/local.json");
  CHECK(group(merged, "selftest-flaky")["trials"] == 60);
  CHECK(group(merged, "selftest-pass")["trials"] == 60);
  CHECK(merged["run"]["missing_shards"].empty());
  CHECK(read_file(dir + "/merged/local.junit.xml").find("gilrace.selftest-flaky") !=
        std::string::npos);
  std::string html = read_file(dir + "/merged/report.html");
  CHECK(html.find("data-scenario=\"selftest-flaky\" data-variant=\"default\" data-trials=\"60\"") !=
        std::string::npos);
  CHECK(std::distance(fs::directory_iterator(dir + "/history"), fs::directory_iterator{}) == 1);

  // With tonight's signatures as the baseline, the same shards pass.
  CHECK(run_gilrace({"baseline", dir + "/merged/local.json", "-o", dir + "/known.json"}, false)
            .exit_code == 0);
  CHECK(shell(merge_cmd + " --baseline " + dir + "/known.json >" + dir + "/merge2.log 2>&1") == 0);
  CHECK(read_json(dir + "/merged/local.json")["totals"]["new_failures"] == 0);

  // A shard missing: the merge still reports, and says so.
  fs::remove(dir + "/shards/local/shard-1-of-2.json");
  CHECK(shell(merge_cmd + " >" + dir + "/merge3.log 2>&1") == 1);
  CHECK(read_file(dir + "/merge3.log").find("missing shards: 1/2") != std::string::npos);

  // Usage errors are exit 2, one line; the per-PR script runs what it is given.
  CHECK(shell(kRoot + "/ci/nightly-shard.sh --shard 2/2 --out " + dir + " 2>/dev/null") == 2);
  CHECK(shell(kRoot + "/ci/nightly-merge.sh --in " + dir + "/nowhere --out " + dir +
              " 2>/dev/null") == 2);
  CHECK(shell(fmt::format("{}/ci/pr.sh --gilrace {} --out {}/pr -- selftest-pass -n 3 >{}/pr.log "
                          "2>&1",
                          kRoot, bin, dir, dir)) == 0);
  CHECK(fs::exists(dir + "/pr/junit.xml"));
}

TEST_CASE("the CI definitions are well-formed and the scripts pass bash -n") {
  // PyYAML (python3-yaml, installed by scripts/lib/deps.sh) plus structural checks.
  CHECK(shell("python3 " + kRoot + "/tests/scripts/check-ci.py " + kRoot + " >/dev/null") == 0);
  for (const char* s :
       {"ci/pr.sh", "ci/nightly-shard.sh", "ci/nightly-merge.sh", "ci/lib/common.sh"})
    CHECK(shell("bash -n " + kRoot + "/" + s) == 0);
  // The checker does fail: a copy with a shard left out of the matrix and the
  // Kubernetes shard count out of step with its completions.
  std::string dir = temp_dir("ci-copy");
  fs::copy(kRoot + "/ci", dir + "/ci", fs::copy_options::recursive);
  fs::create_directories(dir + "/scripts/lib");
  fs::copy(kRoot + "/scripts/lib/deps.sh", dir + "/scripts/lib/deps.sh");
  std::string wf = read_file(dir + "/ci/github/nightly.yml");
  auto at = wf.find("shard: [0, 1, 2, 3]");
  REQUIRE(at != std::string::npos);
  wf.replace(at, 20, "shard: [0, 1, 3]");
  std::ofstream(dir + "/ci/github/nightly.yml") << wf;
  CHECK(shell("python3 " + kRoot + "/tests/scripts/check-ci.py " + dir + " >" + dir +
              "/check.log") == 1);
  CHECK(read_file(dir + "/check.log").find("matrix.shard [0, 1, 3] is not 0..3") !=
        std::string::npos);
}

TEST_CASE("the HTML report renders in headless Chromium with its rows and trend") {
  // Three nights: tonight's merged shards and two earlier nights made from it.
  const Shards& s = flaky_shards();
  std::string dir = temp_dir("html");
  Run m = merge(s.files, {"-o", dir + "/n3.json"});
  REQUIRE(m.exit_code == 1);
  json n3 = read_json(dir + "/n3.json");
  std::uint64_t failures = group(n3, "selftest-flaky")["failures"];
  for (int night = 1; night <= 2; ++night) {
    json n = n3;
    n["run"]["started_at"] = fmt::format("2026-01-0{}T02:17:00Z", night);
    json& g = n["groups"][0];
    g["failures"] = failures / 4 * night;
    g["outcomes"]["crash"] = failures / 4 * night;
    g["outcomes"]["pass"] = 400 - failures / 4 * night;
    g["signatures"][0]["count"] = failures / 4 * night;
    write_json(fmt::format("{}/n{}.json", dir, night), n);
  }
  std::string page = dir + "/report.html";
  Run r = run_gilrace(
      {"report", dir + "/n1.json", dir + "/n2.json", dir + "/n3.json", "--html", page}, false);
  REQUIRE(r.exit_code == 0);
  std::string html = read_file(page);
  for (const char* external : {"http:", "https:", "<script", "<link", "@import", "url("})
    CHECK(html.find(external) == std::string::npos);

  // A night's shard summaries, given as they are, are merged into one run.
  std::vector<std::string> args = {"report"};
  args.insert(args.end(), s.files.begin(), s.files.begin() + 3);
  args.insert(args.end(), {"--html", dir + "/shards.html"});
  Run from_shards = run_gilrace(args, false);
  CHECK(from_shards.exit_code == 0);
  CHECK(from_shards.err.find("missing shards: 3/4") != std::string::npos);
  std::string shards_html = read_file(dir + "/shards.html");
  CHECK(shards_html.find("data-trials=\"300\"") != std::string::npos);
  CHECK(shards_html.find("missing shards: 3/4") != std::string::npos);

  std::string chromium = find_chromium();
  if (chromium.empty()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true")
      FAIL("chromium is not installed (scripts/test.sh installs it with scripts/lib/deps.sh)");
    GILRACE_SKIP("chromium is not installed: the HTML report was not rendered (CI fails here)");
  }
  // A blank page's screenshot, to tell a rendered report from an empty one.
  std::ofstream(dir + "/blank.html") << "<!DOCTYPE html><html><body></body></html>\n";
  std::string base = chromium_command(chromium, temp_dir("chromium-profile"));
  CHECK(shell(base + " --screenshot=" + dir + "/blank.png file://" + dir + "/blank.html >" + dir +
              "/chromium-blank.log 2>&1") == 0);
  CHECK(shell(base + " --screenshot=" + dir + "/report.png file://" + page + " >" + dir +
              "/chromium-shot.log 2>&1") == 0);
  CHECK(shell(base + " --dump-dom file://" + page + " >" + dir + "/dom.html 2>" + dir +
              "/chromium-dom.log") == 0);

  std::string png = read_file(dir + "/report.png"), blank = read_file(dir + "/blank.png");
  REQUIRE(png.size() > 24);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(png[at + 3]));
  };
  CHECK(be32(16) == 1200);  // IHDR width
  CHECK(be32(20) == 2000);  // and height
  INFO("report.png " << png.size() << " bytes, blank.png " << blank.size() << " bytes");
  CHECK(png.size() > 20000);
  CHECK(png.size() > 4 * blank.size());

  std::string dom = read_file(dir + "/dom.html");
  CHECK(dom.find(fmt::format("data-scenario=\"selftest-flaky\" data-variant=\"default\" "
                             "data-trials=\"400\" data-failures=\"{}\"",
                             failures)) != std::string::npos);
  CHECK(dom.find("<svg class=\"trend\"") != std::string::npos);
  CHECK(count_of(dom, "<circle class=\"point\"") == 3);  // one per night
  CHECK(count_of(dom, "class=\"history-row\"") == 1);
  CHECK(dom.find("SIGSEGV in gilrace_selftest_flaky_crash") != std::string::npos);
  CHECK(dom.find("gilrace replay selftest-flaky") != std::string::npos);
  fs::copy_file(dir + "/report.png", fs::path(GILRACE_TEST_TMP) / "nightly-report.png",
                fs::copy_options::overwrite_existing);
}
