#include <utility>

#include "berth/core/build/dockerfile.hpp"
#include "berth/core/go_format.hpp"

namespace berth::core::build {

namespace {

constexpr std::string_view kBlank = " \t\n\v\f\r";

bool is_blank(char c) { return kBlank.find(c) != std::string_view::npos; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
// $@ $* $# $? $- $$ $! $0: shell parameters no build defines, so always "".
bool is_special_parameter(char c) {
  return std::string_view("@*#?-$!0").find(c) != std::string_view::npos;
}

Error invalid(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message));
}
Error missing_brace() { return invalid("syntax error: missing '}'"); }

// The words of an expansion: unquoted blanks split them, quoted text and
// escaped characters never do, and text from a variable splits like
// unquoted text.
class Words {
 public:
  void add(char c) {
    if (is_blank(c)) {
      flush();
    } else {
      current_ += c;
    }
  }
  void add_expanded(std::string_view s) {
    for (char c : s) add(c);
  }
  void add_raw(std::string_view s) { current_ += s; }
  std::vector<std::string> finish() {
    flush();
    return std::move(words_);
  }

 private:
  void flush() {
    if (!current_.empty()) words_.push_back(std::exchange(current_, {}));
  }
  std::vector<std::string> words_;
  std::string current_;
};

// Docker's shell.Lex: quotes, escapes and $ substitutions, nothing else of a
// shell (no globbing, no command substitution).
class Lexer {
 public:
  Lexer(std::string_view input, const Env& env, char escape)
      : in_(input), env_(env), escape_(escape) {}

  // The whole input, or (in_braces) up to the closing '}' of ${name<op>word};
  // `words`, when given, also receives it split into words.
  Result<std::string> word(bool in_braces, Words* words) {
    std::string out;
    while (!at_end()) {
      char c = in_[pos_];
      if (in_braces && c == '}') {
        ++pos_;
        return out;
      }
      if (c == '$' || c == '\'' || c == '"') {
        BERTH_TRY(auto part, c == '$' ? dollar() : c == '"' ? double_quoted() : single_quoted());
        if (words != nullptr && c == '$') {
          words->add_expanded(part);
        } else if (words != nullptr) {
          words->add_raw(part);
        }
        out += part;
        continue;
      }
      ++pos_;
      if (c == escape_) {
        if (at_end()) break;
        c = in_[pos_++];
        if (words != nullptr) words->add_raw(std::string_view(&c, 1));
      } else if (words != nullptr) {
        words->add(c);
      }
      out += c;
    }
    if (in_braces) return missing_brace();
    return out;
  }

 private:
  bool at_end() const { return pos_ >= in_.size(); }

  Result<std::string> single_quoted() {
    auto end = in_.find('\'', ++pos_);
    if (end == std::string_view::npos) {
      return invalid("unexpected end of statement while looking for matching single-quote");
    }
    std::string out(in_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }

  // Inside double quotes the escape character escapes only '"', '$' and itself.
  Result<std::string> double_quoted() {
    std::string out;
    ++pos_;
    for (;;) {
      if (at_end()) {
        return invalid("unexpected end of statement while looking for matching double-quote");
      }
      char c = in_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '$') {
        BERTH_TRY(auto value, dollar());
        out += value;
        continue;
      }
      ++pos_;
      if (c == escape_) {
        if (at_end()) continue;
        if (char next = in_[pos_]; next == '"' || next == '$' || next == escape_) {
          c = next;
          ++pos_;
        }
      }
      out += c;
    }
  }

  std::string name() {
    std::size_t start = pos_;
    if (!at_end() && is_digit(in_[pos_])) {
      while (!at_end() && is_digit(in_[pos_])) ++pos_;
    } else if (!at_end() && is_special_parameter(in_[pos_])) {
      ++pos_;
    } else {
      while (!at_end() && is_name_char(in_[pos_])) ++pos_;
    }
    return std::string(in_.substr(start, pos_ - start));
  }

  std::optional<std::string> lookup(const std::string& name) const {
    auto it = env_.find(name);
    if (it == env_.end()) return std::nullopt;
    return it->second;
  }

  Result<std::string> dollar() {
    ++pos_;
    if (at_end() || in_[pos_] != '{') {
      std::string name = this->name();
      if (name.empty()) return std::string("$");
      return lookup(name).value_or("");
    }
    ++pos_;
    if (at_end()) return missing_brace();
    if (in_[pos_] == '{' || in_[pos_] == '}' || in_[pos_] == ':') {
      return invalid("syntax error: bad substitution");
    }
    std::string name = this->name();
    if (at_end()) return missing_brace();
    char op = in_[pos_++];
    if (op == '}') return lookup(name).value_or("");
    std::string modifier(1, op);
    bool colon = op == ':';  // ${name:-word}: an empty value counts as unset
    if (colon) {
      if (at_end()) return missing_brace();
      op = in_[pos_++];
      modifier += op;
    }
    if (op != '-' && op != '+' && op != '?') {
      return invalid("unsupported modifier (" + modifier + ") in substitution");
    }
    auto word = this->word(true, nullptr);
    if (!word) return at_end() ? missing_brace() : std::move(word).error();

    auto value = lookup(name);
    bool unset = !value || (colon && value->empty());
    if (op == '-') return unset ? std::move(word).value() : *value;
    if (op == '+') return unset ? std::string() : std::move(word).value();
    if (unset) {
      std::string message = !word.value().empty() ? word.value()
                            : value               ? "is not allowed to be empty"
                                                  : "is not allowed to be unset";
      return invalid(name + ": " + message);
    }
    return *value;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  const Env& env_;
  char escape_;
};

// Docker's parseWords: split on blanks outside quotes; quotes and escapes
// stay in the words, for expansion to remove later.
std::vector<std::string> quoted_words(std::string_view s, char escape) {
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == escape && quote != '\'') {
        if (i + 1 == s.size()) break;
        word += c;
        c = s[++i];
      }
      word += c;
      continue;
    }
    if (is_blank(c)) {
      if (!word.empty()) words.push_back(std::exchange(word, {}));
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    if (c == escape) {
      if (i + 1 == s.size()) break;
      word += c;
      c = s[++i];
    }
    word += c;
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

}  // namespace

Result<std::string> expand_word(std::string_view word, const Env& env, char escape) {
  return Lexer(word, env, escape).word(false, nullptr);
}

Result<std::vector<std::string>> expand_words(std::string_view text, const Env& env, char escape) {
  Words words;
  BERTH_TRY(Lexer(text, env, escape).word(false, &words));
  return words.finish();
}

namespace detail {

Result<std::vector<std::pair<std::string, std::optional<std::string>>>> split_key_values(
    std::string_view keyword, std::string_view rest, char escape) {
  std::string command(keyword);
  if (command != "ENV" && command != "LABEL" && command != "ARG") {
    return invalid(command + " does not take name=value arguments");
  }
  auto words = quoted_words(rest, escape);
  if (words.empty()) return invalid(command + " requires at least one argument");

  std::vector<std::pair<std::string, std::optional<std::string>>> pairs;
  // ENV and LABEL still take Docker's legacy "name value with spaces".
  if (command != "ARG" && words[0].find('=') == std::string::npos) {
    auto end = rest.find_first_of(kBlank);
    if (end == std::string_view::npos) return invalid(command + " must have two arguments");
    auto value = rest.substr(rest.find_first_not_of(kBlank, end));
    pairs.emplace_back(std::string(rest.substr(0, end)), std::string(value));
    return pairs;
  }
  for (const std::string& word : words) {
    auto eq = word.find('=');
    if (eq == std::string::npos && command == "ARG") {
      pairs.emplace_back(word, std::nullopt);
      continue;
    }
    if (eq == std::string::npos) {
      return invalid("Syntax error - can't find = in " + go_quote(word) +
                     ". Must be of the form: name=value");
    }
    if (eq == 0) return invalid(command + " names can not be blank");
    pairs.emplace_back(word.substr(0, eq), word.substr(eq + 1));
  }
  return pairs;
}

}  // namespace detail

Result<std::vector<std::pair<std::string, std::optional<std::string>>>> parse_key_values(
    const Instruction& instruction, const Env& env, char escape) {
  BERTH_TRY(auto pairs, detail::split_key_values(instruction.keyword, instruction.rest, escape));
  for (auto& [name, value] : pairs) {
    BERTH_TRY(auto expanded_name, expand_word(name, env, escape));
    name = std::move(expanded_name);
    if (value) {
      BERTH_TRY(auto expanded_value, expand_word(*value, env, escape));
      value = std::move(expanded_value);
    }
  }
  return pairs;
}

}  // namespace berth::core::build
