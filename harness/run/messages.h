// The child-to-supervisor protocol: one text line per message, each shorter
// than PIPE_BUF so that writes from several threads never interleave.
//
//   hb <progress>                 heartbeat with the trial's progress counter
//   probe <name> <count>          a probe's running total
//   note <key> <value>            a fact for the report
//   result <status> <message>     the scenario's own verdict: pass, error, skipped
//   faulthandler <0|1>            1: faulthandler dumps Python stacks on SIGUSR1 from now on;
//                                 0: it is about to stop (finalisation), do not send it
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gilrace {

constexpr std::size_t kMaxMessageLine = 3800;

struct Message {
  enum class Kind { heartbeat, probe, note, result, faulthandler };
  Kind kind;
  std::string key;           // probe name, note key, result status
  std::string value;         // note value, result message
  std::uint64_t number = 0;  // heartbeat progress, probe count, faulthandler 0/1
};

// Escapes newlines and backslashes and caps the length of a field.
std::string escape_field(std::string_view s, std::size_t max = kMaxMessageLine - 64);
std::string unescape_field(std::string_view s);

std::string encode_heartbeat(std::uint64_t progress);
std::string encode_probe(std::string_view name, std::uint64_t count);
std::string encode_note(std::string_view key, std::string_view value);
std::string encode_result(std::string_view status, std::string_view message);
std::string encode_faulthandler(bool armed);

// Parses one line (without its newline); nullopt for anything malformed.
std::optional<Message> parse_message(std::string_view line);

}  // namespace gilrace
