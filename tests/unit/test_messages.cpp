#include "harness/run/messages.h"
#include "harness/run/tail_buffer.h"
#include "tests/catch.h"

using namespace gilrace;

static Message parse(const std::string& line) {
  auto m = parse_message(line.substr(0, line.size() - 1));  // without the newline
  REQUIRE(m.has_value());
  return *m;
}

TEST_CASE("messages round-trip") {
  CHECK(parse(encode_heartbeat(42)).number == 42);
  Message p = parse(encode_probe("window reached", 3));
  CHECK(p.kind == Message::Kind::probe);
  CHECK(p.key == "window_reached");
  CHECK(p.number == 3);
  Message r = parse(encode_result("error", "Traceback:\n  line \\ 2\nValueError: x"));
  CHECK(r.kind == Message::Kind::result);
  CHECK(r.key == "error");
  CHECK(r.value == "Traceback:\n  line \\ 2\nValueError: x");
  Message n = parse(encode_note("gil", "off"));
  CHECK(n.key == "gil");
  CHECK(n.value == "off");
  Message armed = parse(encode_faulthandler(true));
  CHECK(armed.kind == Message::Kind::faulthandler);
  CHECK(armed.number == 1);
  CHECK(parse(encode_faulthandler(false)).number == 0);
}

TEST_CASE("messages stay under PIPE_BUF and malformed lines are refused") {
  std::string huge(100000, 'x');
  CHECK(encode_result("error", huge).size() < 4096);
  CHECK_FALSE(parse_message("hb").has_value());
  CHECK_FALSE(parse_message("hb x").has_value());
  CHECK_FALSE(parse_message("probe name notanumber").has_value());
  CHECK_FALSE(parse_message("bogus 1 2").has_value());
  CHECK_FALSE(parse_message("faulthandler 2").has_value());
  CHECK_FALSE(parse_message("faulthandler yes").has_value());
}

TEST_CASE("the tail buffer keeps head and tail of any amount of output") {
  TailBuffer t(8, 16);
  for (int i = 0; i < 1000; ++i) t.append("0123456789");
  CHECK(t.total() == 10000);
  std::string text = t.text();
  CHECK(text.rfind("01234567", 0) == 0);
  CHECK(text.find("dropped 9976 bytes") != std::string::npos);
  CHECK(text.substr(text.size() - 16) == "4567890123456789");
  TailBuffer small(8, 16);
  small.append("abc");
  CHECK(small.text() == "abc");
}
