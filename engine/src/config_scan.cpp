// The size and depth limits of config_limits.hpp, checked on the raw text before toml++ sees it:
// toml++ 3.3 builds and frees nested tables recursively without a bound, so a deep enough key
// overflows the stack whatever the rest of the file says.
//
// This is not a TOML parser: it follows only what decides depth (keys and their dots, table
// headers, inline [ and {) and skips what can hide them (strings of the four kinds, comments).
// On valid TOML it agrees with the real parser; on invalid TOML it may measure anything, but it
// is exact up to the first syntax error, which is as far as toml++ builds.
#include "config_scan.hpp"

#include <string>
#include <vector>

#include "hamon/engine/config_limits.hpp"

namespace hamon::engine::internal {
namespace {

class Scanner {
 public:
  Scanner(std::string_view text, std::string_view file) : text_(text), file_(file) {}

  std::optional<ConfigError> run() {
    if (starts("\xef\xbb\xbf")) i_ = 3;  // a byte order mark is not part of the first key
    while (!error_ && i_ < text_.size()) step();
    return error_;
  }

 private:
  enum class Mode : unsigned char { key, value };
  struct Inline {
    bool table;         // { (else [)
    std::size_t depth;  // of what sits directly inside it
  };

  [[nodiscard]] char at(std::size_t ahead) const {
    return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0';
  }
  [[nodiscard]] bool starts(std::string_view s) const { return text_.substr(i_, s.size()) == s; }

  // Columns count characters, as toml++'s do: a UTF-8 continuation byte is not a new column.
  void advance(std::size_t n = 1) {
    for (; n > 0 && i_ < text_.size(); --n) {
      if (text_[i_++] == '\n') {
        ++line_;
        column_ = 1;
      } else if (i_ < text_.size() && (static_cast<unsigned char>(text_[i_]) & 0xc0) != 0x80) {
        ++column_;
      }
    }
  }

  void fail(std::string message) {
    error_ = ConfigError{{std::string(file_), line_, column_}, std::move(message)};
  }

  void begin_key(std::size_t base) {
    mode_ = Mode::key;
    key_base_ = base;
    parts_ = 0;
    want_part_ = true;
  }

  // The character under the cursor starts a key part.
  void key_part() {
    want_part_ = false;
    if (++parts_ > max_key_parts) {
      fail("key with more than " + std::to_string(max_key_parts) +
           " dotted parts (hamon reads keys of " + std::to_string(max_key_parts) +
           " parts at most)");
    } else if (key_base_ + parts_ > max_nesting) {
      too_deep();
    }
  }

  void too_deep() {
    fail("nested more than " + std::to_string(max_nesting) +
         " levels deep (counting the parts of table headers and keys and each inline [ or {); "
         "hamon reads " +
         std::to_string(max_nesting) + " at most");
  }

  void open(bool table) {
    const std::size_t depth = value_depth_ + 1;
    if (depth > max_nesting) return too_deep();
    stack_.push_back({table, depth});
    advance();
    if (table) {
      begin_key(depth);
    } else {
      value_depth_ = depth;
    }
  }

  void close() {
    stack_.pop_back();
    advance();
    mode_ = Mode::value;  // what follows belongs to the enclosing container, if any
    value_depth_ = stack_.empty() ? 0 : stack_.back().depth;
  }

  // A string on one line: quote `q`, with escapes if it is '"'. Stops before a newline, which
  // no single-line string may hold.
  void skip_string(char q) {
    advance();
    while (i_ < text_.size() && at(0) != '\n') {
      if (q == '"' && at(0) == '\\' && at(1) != '\n') {
        advance(2);
      } else if (at(0) == q) {
        advance();
        return;
      } else {
        advance();
      }
    }
  }

  // A multi-line string, from its opening """ or '''. It ends at the first run of three or more
  // quotes (up to two of them may be the string's own last characters).
  void skip_multiline(char q) {
    advance(3);
    while (i_ < text_.size()) {
      if (q == '"' && at(0) == '\\') {
        advance(2);
      } else if (at(0) == q) {
        std::size_t run = 0;
        while (at(run) == q) ++run;
        advance(run);
        if (run >= 3) return;
      } else {
        advance();
      }
    }
  }

  void skip_comment() {
    while (i_ < text_.size() && at(0) != '\n') advance();
  }

  void step() {
    const char c = at(0);
    if (c == '#') return skip_comment();
    if (c == '\n') {
      advance();
      // A key/value pair ends at the end of its line, unless an inline array runs on.
      if (stack_.empty()) {
        header_ = false;
        begin_key(table_depth_);
      }
      return;
    }
    if (c == ' ' || c == '\t' || c == '\r') return advance();
    if (mode_ == Mode::key) return key_step(c);
    value_step(c);
  }

  void key_step(char c) {
    if (stack_.empty() && !header_ && parts_ == 0 && c == '[') {
      // A [table] or [[array of tables]] header: a table of an array is one level deeper.
      const bool array = at(1) == '[';
      header_ = true;
      advance(array ? 2 : 1);
      begin_key(array ? 1 : 0);
      return;
    }
    switch (c) {
      case '.': want_part_ = true; return advance();
      case '=':
        mode_ = Mode::value;
        value_depth_ = key_base_ + parts_;
        return advance();
      case ']':
        if (header_) {
          table_depth_ = key_base_ + parts_;
          mode_ = Mode::value;  // nothing but a comment may follow
          value_depth_ = table_depth_;
          return advance(at(1) == ']' ? 2 : 1);
        }
        if (!stack_.empty() && !stack_.back().table) return close();
        return advance();
      case '}':
        if (!stack_.empty() && stack_.back().table) return close();
        return advance();
      case ',': return advance();
      default: break;
    }
    if (want_part_) key_part();
    if (error_) return;
    if (c == '"' || c == '\'') return skip_string(c);
    advance();
  }

  void value_step(char c) {
    switch (c) {
      case '"':
      case '\'':
        if (at(1) == c && at(2) == c) return skip_multiline(c);
        return skip_string(c);
      case '[': return open(false);
      case '{': return open(true);
      case ']':
        if (!stack_.empty() && !stack_.back().table) return close();
        return advance();
      case '}':
        if (!stack_.empty() && stack_.back().table) return close();
        return advance();
      case ',':
        if (!stack_.empty() && stack_.back().table) {
          advance();
          return begin_key(stack_.back().depth);
        }
        return advance();
      default: return advance();
    }
  }

  std::string_view text_;
  std::string_view file_;
  std::size_t i_ = 0;
  std::uint32_t line_ = 1;
  std::uint32_t column_ = 1;
  std::optional<ConfigError> error_;

  Mode mode_ = Mode::key;
  bool header_ = false;          // between the [ and ] of a table header
  std::size_t table_depth_ = 0;  // of the latest table header
  std::size_t key_base_ = 0;     // depth the key being read starts from
  std::size_t parts_ = 0;        // of that key, so far
  bool want_part_ = true;        // the next key character starts a part
  std::size_t value_depth_ = 0;  // depth of the value being read
  std::vector<Inline> stack_;    // open inline [ and {
};

}  // namespace

std::optional<ConfigError> check_size_and_depth(std::string_view text, std::string_view file) {
  if (text.size() > max_config_bytes) {
    // Built in place: GCC 12 at -O3 warns (maybe-uninitialized, a known false positive) when
    // an optional<ConfigError> is constructed from a braced temporary.
    std::optional<ConfigError> e(std::in_place);
    e->where = SourcePos{std::string(file), 1, 1};
    e->message = "the file is larger than " + std::to_string(max_config_bytes >> 20) + " MiB (" +
                 std::to_string(max_config_bytes) + " bytes), the most hamon reads";
    return e;
  }
  return Scanner(text, file).run();
}

}  // namespace hamon::engine::internal
