#include "harness/run/messages.h"

#include <charconv>

namespace gilrace {

std::string escape_field(std::string_view s, std::size_t max) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string unescape_field(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string encode_heartbeat(std::uint64_t progress) {
  return "hb " + std::to_string(progress) + "\n";
}

// Names are single words; a space would break the framing, so replace it.
static std::string word(std::string_view s) {
  std::string w(s.substr(0, 200));
  for (char& c : w)
    if (c == ' ' || c == '\n') c = '_';
  return w.empty() ? "_" : w;
}

std::string encode_probe(std::string_view name, std::uint64_t count) {
  return "probe " + word(name) + " " + std::to_string(count) + "\n";
}

std::string encode_note(std::string_view key, std::string_view value) {
  return "note " + word(key) + " " + escape_field(value) + "\n";
}

std::string encode_result(std::string_view status, std::string_view message) {
  return "result " + word(status) + " " + escape_field(message) + "\n";
}

std::string encode_faulthandler(bool armed) {
  return armed ? "faulthandler 1\n" : "faulthandler 0\n";
}

static bool to_u64(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::optional<Message> parse_message(std::string_view line) {
  auto sp = line.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view kind = line.substr(0, sp);
  std::string_view rest = line.substr(sp + 1);
  Message m{};
  if (kind == "hb" || kind == "faulthandler") {
    m.kind = kind == "hb" ? Message::Kind::heartbeat : Message::Kind::faulthandler;
    if (!to_u64(rest, m.number)) return std::nullopt;
    if (m.kind == Message::Kind::faulthandler && m.number > 1) return std::nullopt;
    return m;
  }
  auto sp2 = rest.find(' ');
  std::string_view first = rest.substr(0, sp2);
  std::string_view second = sp2 == std::string_view::npos ? "" : rest.substr(sp2 + 1);
  m.key = std::string(first);
  if (kind == "probe") {
    m.kind = Message::Kind::probe;
    if (!to_u64(second, m.number)) return std::nullopt;
  } else if (kind == "note") {
    m.kind = Message::Kind::note;
    m.value = unescape_field(second);
  } else if (kind == "result") {
    m.kind = Message::Kind::result;
    m.value = unescape_field(second);
  } else {
    return std::nullopt;
  }
  return m;
}

}  // namespace gilrace
