// Keeps the first and the last bytes of a stream of unbounded size: a child
// that writes 100 MB costs the supervisor a few kilobytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gilrace {

class TailBuffer {
 public:
  explicit TailBuffer(std::size_t head_cap = 16 * 1024, std::size_t tail_cap = 64 * 1024)
      : head_cap_(head_cap), tail_cap_(tail_cap) {}

  void append(std::string_view data) {
    total_ += data.size();
    if (head_.size() < head_cap_) {
      std::size_t take = std::min(head_cap_ - head_.size(), data.size());
      head_.append(data.substr(0, take));
      data.remove_prefix(take);
    }
    if (data.empty()) return;
    if (data.size() >= tail_cap_) {
      tail_.assign(data.substr(data.size() - tail_cap_));
      return;
    }
    tail_.append(data);
    // Trim in chunks so appending stays amortised O(1).
    if (tail_.size() > 2 * tail_cap_) tail_.erase(0, tail_.size() - tail_cap_);
  }

  std::size_t total() const { return total_; }

  // Head, a marker for what was dropped, and tail.
  std::string text() const {
    std::string_view t = tail_;
    if (t.size() > tail_cap_) t.remove_prefix(t.size() - tail_cap_);
    std::size_t dropped = total_ - head_.size() - t.size();
    if (dropped == 0) return head_ + std::string(t);
    return head_ + "\n[... gilrace dropped " + std::to_string(dropped) + " bytes ...]\n" +
           std::string(t);
  }

 private:
  std::size_t head_cap_;
  std::size_t tail_cap_;
  std::size_t total_ = 0;
  std::string head_;
  std::string tail_;
};

}  // namespace gilrace
