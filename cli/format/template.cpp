// Go text/template, as Docker's --format uses it, over boost::json values.
//
// The lexer, parser and executor follow Go's text/template/parse and
// text/template/exec closely (same states, same error messages), so that
// templates written for Docker behave the same here. Values print the way
// Go's fmt prints what encoding/json decodes into interface{}.

#include "format/template.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <span>
#include <utility>

namespace berth::cli::format {

// The syntax tree lives in a named namespace because Template::Impl (which
// has external linkage) holds it.
namespace ast {

enum class NodeType : std::uint8_t {
  Text,
  List,
  Action,
  If,
  Range,
  With,
  Break,
  Continue,
  Pipe,
  Command,
  Field,
  Variable,
  Identifier,
  Dot,
  Nil,
  Bool,
  Number,
  String,
  Chain,
  End,
  Else,
};

struct Node {
  Node(NodeType t, std::size_t p) : type(t), pos(p) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  virtual ~Node() = default;
  // The node as Go prints it in error messages ("<.Foo.Bar>").
  virtual std::string str() const = 0;

  NodeType type;
  std::size_t pos;
};

using NodePtr = std::unique_ptr<Node>;

std::string join_idents(const std::vector<std::string>& idents, bool leading_dot) {
  std::string out;
  for (std::size_t i = 0; i < idents.size(); ++i) {
    if (leading_dot || i > 0) {
      out += '.';
    }
    out += idents[i];
  }
  return out;
}

struct TextNode final : Node {
  TextNode(std::size_t p, std::string t) : Node(NodeType::Text, p), text(std::move(t)) {}
  std::string str() const override { return text; }
  std::string text;
};

struct ListNode final : Node {
  explicit ListNode(std::size_t p) : Node(NodeType::List, p) {}
  std::string str() const override {
    std::string out;
    for (const auto& n : nodes) {
      out += n->str();
    }
    return out;
  }
  std::vector<NodePtr> nodes;
};

// Dot, nil, break, continue, and the end/else markers used while parsing.
struct SimpleNode final : Node {
  SimpleNode(NodeType t, std::size_t p) : Node(t, p) {}
  std::string str() const override {
    switch (type) {
      case NodeType::Dot:
        return ".";
      case NodeType::Nil:
        return "nil";
      case NodeType::Break:
        return "{{break}}";
      case NodeType::Continue:
        return "{{continue}}";
      case NodeType::End:
        return "{{end}}";
      case NodeType::Else:
        return "{{else}}";
      default:
        return "";
    }
  }
};

struct FieldNode final : Node {
  FieldNode(std::size_t p, std::vector<std::string> i)
      : Node(NodeType::Field, p), idents(std::move(i)) {}
  std::string str() const override { return join_idents(idents, true); }
  std::vector<std::string> idents;
};

// idents[0] is the variable name including '$'; the rest is a field chain.
struct VariableNode final : Node {
  VariableNode(std::size_t p, std::vector<std::string> i)
      : Node(NodeType::Variable, p), idents(std::move(i)) {}
  std::string str() const override { return join_idents(idents, false); }
  std::vector<std::string> idents;
};

struct IdentifierNode final : Node {
  IdentifierNode(std::size_t p, std::string n)
      : Node(NodeType::Identifier, p), name(std::move(n)) {}
  std::string str() const override { return name; }
  std::string name;
};

struct BoolNode final : Node {
  BoolNode(std::size_t p, bool v) : Node(NodeType::Bool, p), value(v) {}
  std::string str() const override { return value ? "true" : "false"; }
  bool value;
};

struct NumberNode final : Node {
  NumberNode(std::size_t p, std::string t) : Node(NodeType::Number, p), text(std::move(t)) {}
  std::string str() const override { return text; }
  std::string text;
  bool is_int = false;
  bool is_uint = false;
  bool is_float = false;
  std::int64_t int_value = 0;
  std::uint64_t uint_value = 0;
  double float_value = 0;
};

struct StringNode final : Node {
  StringNode(std::size_t p, std::string q, std::string t)
      : Node(NodeType::String, p), quoted(std::move(q)), text(std::move(t)) {}
  std::string str() const override { return quoted; }
  std::string quoted;
  std::string text;
};

struct PipeNode;

struct CommandNode final : Node {
  explicit CommandNode(std::size_t p) : Node(NodeType::Command, p) {}
  std::string str() const override {
    std::string out;
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (i > 0) {
        out += ' ';
      }
      if (args[i]->type == NodeType::Pipe) {
        out += '(' + args[i]->str() + ')';
      } else {
        out += args[i]->str();
      }
    }
    return out;
  }
  std::vector<NodePtr> args;
};

struct PipeNode final : Node {
  explicit PipeNode(std::size_t p) : Node(NodeType::Pipe, p) {}
  std::string str() const override {
    std::string out;
    for (std::size_t i = 0; i < decl.size(); ++i) {
      out += (i > 0 ? ", " : "") + decl[i]->str();
    }
    if (!decl.empty()) {
      out += " := ";
    }
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      out += (i > 0 ? " | " : "") + cmds[i]->str();
    }
    return out;
  }
  bool is_assign = false;
  std::vector<std::unique_ptr<VariableNode>> decl;
  std::vector<std::unique_ptr<CommandNode>> cmds;
};

// (pipeline).Field1.Field2, or a function result followed by fields.
struct ChainNode final : Node {
  ChainNode(std::size_t p, NodePtr n) : Node(NodeType::Chain, p), node(std::move(n)) {}
  std::string str() const override {
    std::string out = node->type == NodeType::Pipe ? '(' + node->str() + ')' : node->str();
    for (const auto& f : fields) {
      out += '.' + f;
    }
    return out;
  }
  NodePtr node;
  std::vector<std::string> fields;
};

struct ActionNode final : Node {
  ActionNode(std::size_t p, std::unique_ptr<PipeNode> pp)
      : Node(NodeType::Action, p), pipe(std::move(pp)) {}
  std::string str() const override { return "{{" + pipe->str() + "}}"; }
  std::unique_ptr<PipeNode> pipe;
};

// if, range and with.
struct BranchNode final : Node {
  BranchNode(NodeType t, std::size_t p) : Node(t, p) {}
  std::string str() const override {
    const char* name = type == NodeType::If ? "if" : type == NodeType::Range ? "range" : "with";
    std::string out = std::string("{{") + name + ' ' + pipe->str() + "}}" + list->str();
    if (else_list) {
      out += "{{else}}" + else_list->str();
    }
    return out + "{{end}}";
  }
  std::unique_ptr<PipeNode> pipe;
  std::unique_ptr<ListNode> list;
  std::unique_ptr<ListNode> else_list;
};

}  // namespace ast

struct Template::Impl {
  std::string text;  // the template after Docker's preprocessing
  std::unique_ptr<ast::ListNode> root;
  bool json = false;
  bool table = false;
  bool default_table = false;
};

namespace {

namespace json = boost::json;
using namespace ast;
using Rune = std::uint32_t;

constexpr Rune kRuneError = 0xFFFD;
constexpr Rune kMaxRune = 0x10FFFF;
constexpr std::string_view kLowerHex = "0123456789abcdef";
constexpr std::string_view kUpperHex = "0123456789ABCDEF";

// ------------------------------------------------------------------ UTF-8

bool is_surrogate(Rune r) { return r >= 0xD800 && r <= 0xDFFF; }

// Decodes the code point at s[i] and advances i. An invalid sequence decodes
// as U+FFFD of length one, as Go's utf8.DecodeRuneInString does.
Rune decode_rune(std::string_view s, std::size_t& i, bool* valid = nullptr) {
  if (valid != nullptr) {
    *valid = true;
  }
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = 0;
  Rune cp = 0;
  Rune min = 0;
  if ((b0 & 0xE0U) == 0xC0U) {
    len = 2, cp = b0 & 0x1FU, min = 0x80;
  } else if ((b0 & 0xF0U) == 0xE0U) {
    len = 3, cp = b0 & 0x0FU, min = 0x800;
  } else if ((b0 & 0xF8U) == 0xF0U) {
    len = 4, cp = b0 & 0x07U, min = 0x10000;
  }
  bool ok = len != 0 && i + len <= s.size();
  for (std::size_t k = 1; ok && k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    ok = (b & 0xC0U) == 0x80U;
    cp = (cp << 6U) | (b & 0x3FU);
  }
  if (!ok || cp < min || cp > kMaxRune || is_surrogate(cp)) {
    ++i;
    if (valid != nullptr) {
      *valid = false;
    }
    return kRuneError;
  }
  i += len;
  return cp;
}

void append_rune(std::string& out, Rune r) {
  if (r > kMaxRune || is_surrogate(r)) {
    r = kRuneError;
  }
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0U | (r >> 6U));
    out += static_cast<char>(0x80U | (r & 0x3FU));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0U | (r >> 12U));
    out += static_cast<char>(0x80U | ((r >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (r & 0x3FU));
  } else {
    out += static_cast<char>(0xF0U | (r >> 18U));
    out += static_cast<char>(0x80U | ((r >> 12U) & 0x3FU));
    out += static_cast<char>(0x80U | ((r >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (r & 0x3FU));
  }
}

std::size_t rune_count(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) {
    decode_rune(s, i);
  }
  return n;
}

// The first n code points of s.
std::string_view rune_prefix(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  for (std::size_t k = 0; k < n && i < s.size(); ++k) {
    decode_rune(s, i);
  }
  return s.substr(0, i);
}

// Simple case mapping for the scripts container metadata realistically uses
// (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic); other code points are
// left alone.
Rune to_upper_rune(Rune r) {
  if (r >= 'a' && r <= 'z') return r - 32;
  if (r < 0x80) return r;
  if (r == 0xB5) return 0x39C;
  if (r >= 0xE0 && r <= 0xFE && r != 0xF7) return r - 0x20;
  if (r == 0xFF) return 0x178;
  if (r == 0x131) return 'I';
  if (r == 0x17F) return 'S';
  if ((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) return r % 2 == 1 ? r - 1 : r;
  if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E)) return r % 2 == 0 ? r - 1 : r;
  if (r == 0x3C2) return 0x3A3;
  if (r >= 0x3B1 && r <= 0x3C9) return r - 0x20;
  if (r == 0x3AC) return 0x386;
  if (r >= 0x3AD && r <= 0x3AF) return r - 37;
  if (r == 0x3CC) return 0x38C;
  if (r == 0x3CD || r == 0x3CE) return r - 63;
  if (r >= 0x430 && r <= 0x44F) return r - 0x20;
  if (r >= 0x450 && r <= 0x45F) return r - 0x50;
  return r;
}

Rune to_lower_rune(Rune r) {
  if (r >= 'A' && r <= 'Z') return r + 32;
  if (r < 0x80) return r;
  if (r >= 0xC0 && r <= 0xDE && r != 0xD7) return r + 0x20;
  if (r == 0x178) return 0xFF;
  if (r == 0x130) return 'i';
  if ((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) return r % 2 == 0 ? r + 1 : r;
  if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E)) return r % 2 == 1 ? r + 1 : r;
  if (r >= 0x391 && r <= 0x3A9 && r != 0x3A2) return r + 0x20;
  if (r == 0x386) return 0x3AC;
  if (r >= 0x388 && r <= 0x38A) return r + 37;
  if (r == 0x38C) return 0x3CC;
  if (r == 0x38E || r == 0x38F) return r + 63;
  if (r >= 0x410 && r <= 0x42F) return r + 0x20;
  if (r >= 0x400 && r <= 0x40F) return r + 0x50;
  return r;
}

template <typename Fn>
std::string map_runes(std::string_view s, Fn fn) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    bool valid = true;
    const Rune r = decode_rune(s, i, &valid);
    if (valid) {
      append_rune(out, fn(r));
    } else {
      out += s[start];  // keep bytes that are not UTF-8 as they are
    }
  }
  return out;
}

bool is_unicode_space(Rune r) {
  return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xA0 || r == 0x1680 ||
         (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F ||
         r == 0x3000;
}

// Go's unicode.IsPrint, approximated outside ASCII.
bool is_print(Rune r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  if (r <= 0x9F || r == 0xAD || r == 0x2028 || r == 0x2029 || r == 0xFEFF) return false;
  if ((r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2060 && r <= 0x206F))
    return false;
  if ((r >= 0xE000 && r <= 0xF8FF) || is_surrogate(r) || r > kMaxRune) return false;
  return !is_unicode_space(r);
}

// Terminal columns of a code point, as go-runewidth (used by Docker's
// tabwriter) counts them: East Asian wide characters and most emoji take
// two, combining marks and control characters none.
int rune_width(Rune r) {
  if (r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0xAD) return 0;
  struct Range {
    Rune lo;
    Rune hi;
  };
  static constexpr std::array<Range, 12> kZero{{
      {0x300, 0x36F},
      {0x483, 0x489},
      {0x591, 0x5BD},
      {0x610, 0x61A},
      {0x64B, 0x65F},
      {0x200B, 0x200F},
      {0x2028, 0x202E},
      {0x2060, 0x2064},
      {0x20D0, 0x20FF},
      {0xFE00, 0xFE0F},
      {0xFE20, 0xFE2F},
      {0xFEFF, 0xFEFF},
  }};
  static constexpr std::array<Range, 29> kWide{{
      {0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC}, {0x23F0, 0x23F3},
      {0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267F, 0x267F}, {0x2693, 0x2693},
      {0x26A1, 0x26A1}, {0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5}, {0x26CE, 0x26CE},
      {0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728}, {0x2E80, 0x303E}, {0x3041, 0x33FF},
      {0x3400, 0x4DBF}, {0x4E00, 0xA4CF}, {0xA960, 0xA97F}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF},
      {0xFE10, 0xFE19}, {0xFE30, 0xFE6F}, {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6},
  }};
  static constexpr std::array<Range, 8> kWideAstral{{
      {0x16FE0, 0x16FE4},
      {0x17000, 0x18AFF},
      {0x1B000, 0x1B2FF},
      {0x1F200, 0x1F251},
      {0x1F300, 0x1F64F},
      {0x1F680, 0x1F6FF},
      {0x1F900, 0x1FAFF},
      {0x20000, 0x3FFFD},
  }};
  const auto in = [r](const auto& ranges) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [r](const Range& x) { return r >= x.lo && r <= x.hi; });
  };
  if (in(kZero)) return 0;
  if (in(kWide) || in(kWideAstral)) return 2;
  return 1;
}

int display_width(std::string_view s) {
  int w = 0;
  for (std::size_t i = 0; i < s.size();) {
    w += rune_width(decode_rune(s, i));
  }
  return w;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// Go accepts Unicode letters and digits in identifiers; any non-ASCII code
// point is taken as one here.
bool is_alpha_numeric(Rune r) {
  return r == '_' || r >= 0x80 ||
         (r < 0x80 && (is_ascii_letter(static_cast<char>(r)) || is_digit(static_cast<char>(r))));
}

void append_hex(std::string& out, std::uint64_t v, int digits,
                std::string_view alphabet = kLowerHex) {
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out += alphabet[(v >> static_cast<unsigned>(shift)) & 0xFU];
  }
}

// %#U: "U+0041 'A'".
std::string format_unicode(Rune r) {
  std::string out = "U+";
  append_hex(out, r, r > 0xFFFF ? (r > 0xFFFFF ? 6 : 5) : 4, kUpperHex);
  if (is_print(r)) {
    out += " '";
    append_rune(out, r);
    out += '\'';
  }
  return out;
}

// ----------------------------------------------------------- Go quoting

void append_quoted_rune(std::string& out, Rune r, char quote, bool ascii_only) {
  if (r == static_cast<Rune>(quote) || r == '\\') {
    out += '\\';
    out += static_cast<char>(r);
    return;
  }
  if (ascii_only ? (r < 0x80 && is_print(r)) : is_print(r)) {
    append_rune(out, r);
    return;
  }
  switch (r) {
    case '\a':
      out += "\\a";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
    default:
      break;
  }
  if (r < ' ' || r == 0x7F) {
    out += "\\x";
    append_hex(out, r, 2);
  } else if (r < 0x10000) {
    out += "\\u";
    append_hex(out, r, 4);
  } else {
    out += "\\U";
    append_hex(out, r, 8);
  }
}

// strconv.Quote (or QuoteToASCII).
std::string go_quote(std::string_view s, bool ascii_only = false) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    bool valid = true;
    const Rune r = decode_rune(s, i, &valid);
    if (!valid) {
      out += "\\x";
      append_hex(out, static_cast<unsigned char>(s[start]), 2);
      continue;
    }
    append_quoted_rune(out, r, '"', ascii_only);
  }
  return out + '"';
}

// strconv.QuoteRune.
std::string go_quote_rune(Rune r, bool ascii_only = false) {
  if (r > kMaxRune || is_surrogate(r)) {
    r = kRuneError;
  }
  std::string out = "'";
  append_quoted_rune(out, r, '\'', ascii_only);
  return out + '\'';
}

bool can_backquote(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    bool valid = true;
    const Rune r = decode_rune(s, i, &valid);
    if (!valid || r == '`' || r == 0xFEFF || (r < ' ' && r != '\t') || r == 0x7F) {
      return false;
    }
  }
  return true;
}

bool hex_value(char c, unsigned& v) {
  if (c >= '0' && c <= '9') {
    v = static_cast<unsigned>(c - '0');
  } else if (c >= 'a' && c <= 'f') {
    v = static_cast<unsigned>(c - 'a' + 10);
  } else if (c >= 'A' && c <= 'F') {
    v = static_cast<unsigned>(c - 'A' + 10);
  } else {
    return false;
  }
  return true;
}

// One escape sequence of a Go literal starting at s[i] == '\\' (strconv.UnquoteChar).
// Sets `rune` and whether it is a single byte (\x, octal) rather than a code point.
bool unquote_escape(std::string_view s, std::size_t& i, char quote, Rune& rune, bool& is_byte) {
  if (i + 1 >= s.size()) return false;
  const char c = s[i + 1];
  i += 2;
  is_byte = false;
  switch (c) {
    case 'a':
      rune = '\a';
      return true;
    case 'b':
      rune = '\b';
      return true;
    case 'f':
      rune = '\f';
      return true;
    case 'n':
      rune = '\n';
      return true;
    case 'r':
      rune = '\r';
      return true;
    case 't':
      rune = '\t';
      return true;
    case 'v':
      rune = '\v';
      return true;
    case '\\':
      rune = '\\';
      return true;
    case '\'':
    case '"':
      rune = static_cast<Rune>(c);
      return c == quote;
    case 'x':
    case 'u':
    case 'U': {
      const std::size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      if (i + n > s.size()) return false;
      Rune v = 0;
      for (std::size_t k = 0; k < n; ++k) {
        unsigned d = 0;
        if (!hex_value(s[i + k], d)) return false;
        v = (v << 4U) | d;
      }
      i += n;
      if (c == 'x') {
        rune = v;
        is_byte = true;
        return true;
      }
      if (v > kMaxRune || is_surrogate(v)) return false;
      rune = v;
      return true;
    }
    default:
      if (c < '0' || c > '7' || i + 2 > s.size()) return false;
      Rune v = static_cast<Rune>(c - '0');
      for (std::size_t k = 0; k < 2; ++k) {
        const char d = s[i + k];
        if (d < '0' || d > '7') return false;
        v = (v << 3U) | static_cast<Rune>(d - '0');
      }
      if (v > 255) return false;
      i += 2;
      rune = v;
      is_byte = true;
      return true;
  }
}

// strconv.Unquote for "..." and `...` literals, except that a raw newline
// is accepted inside "...": Docker turns a typed `\n` into a newline before
// parsing, and {{join .Names "\n"}} should still work.
std::optional<std::string> go_unquote(std::string_view s) {
  if (s.size() < 2 || s.front() != s.back()) return std::nullopt;
  const char quote = s.front();
  s = s.substr(1, s.size() - 2);
  std::string out;
  if (quote == '`') {
    if (s.find('`') != std::string_view::npos) return std::nullopt;
    for (const char c : s) {
      if (c != '\r') out += c;
    }
    return out;
  }
  if (quote != '"') return std::nullopt;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '"') return std::nullopt;
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    Rune r = 0;
    bool is_byte = false;
    if (!unquote_escape(s, i, '"', r, is_byte)) return std::nullopt;
    if (is_byte) {
      out += static_cast<char>(r);
    } else {
      append_rune(out, r);
    }
  }
  return out;
}

// ------------------------------------------------------------- numbers

// strconv.ParseUint(s, 0, 64): 0x / 0o / 0b / leading-0 octal prefixes, '_' separators.
std::optional<std::uint64_t> parse_go_uint(std::string_view s) {
  int base = 10;
  if (s.size() >= 2 && s[0] == '0') {
    const char b = static_cast<char>(s[1] | 0x20);
    if (b == 'x' || b == 'o' || b == 'b') {
      base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
      s = s.substr(2);
    } else {
      base = 8;
      s = s.substr(1);
    }
  }
  std::string digits;
  for (const char c : s) {
    if (c != '_') digits += c;
  }
  if (digits.empty()) return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_go_int(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s = s.substr(1);
  }
  const auto u = parse_go_uint(s);
  if (!u) return std::nullopt;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (neg) {
    if (*u > kMax + 1) return std::nullopt;
    return *u == kMax + 1 ? std::numeric_limits<std::int64_t>::min()
                          : -static_cast<std::int64_t>(*u);
  }
  if (*u > kMax) return std::nullopt;
  return static_cast<std::int64_t>(*u);
}

std::optional<double> parse_go_float(std::string_view text) {
  std::string s;
  for (const char c : text) {
    if (c != '_') s += c;
  }
  std::size_t start = 0;
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    start = 1;
  }
  auto fmt = std::chars_format::general;
  if (s.size() >= start + 2 && s[start] == '0' && (s[start + 1] | 0x20) == 'x') {
    fmt = std::chars_format::hex;
    start += 2;
  }
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data() + start, s.data() + s.size(), v, fmt);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return neg ? -v : v;
}

// The decimal digits of a double: value = 0.digits × 10^point.
struct Decimal {
  std::string digits;  // no leading or trailing zeros; empty for zero
  int point = 0;
  bool negative = false;
};

// Shortest digits that round-trip (what Go's strconv uses for precision -1).
Decimal shortest_decimal(double v) {
  Decimal d;
  d.negative = std::signbit(v);
  if (v == 0) return d;
  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), std::fabs(v),
                                 std::chars_format::scientific);
  const std::string_view s(buf.data(), static_cast<std::size_t>(res.ptr - buf.data()));
  const std::size_t e = s.find('e');
  for (const char c : s.substr(0, e)) {
    if (c != '.') d.digits += c;
  }
  std::string_view exp = s.substr(e + 1);
  if (!exp.empty() && exp[0] == '+') exp.remove_prefix(1);
  int x = 0;
  std::from_chars(exp.data(), exp.data() + exp.size(), x);
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  d.point = x + 1;
  return d;
}

// strconv's %e layout for the given digits.
std::string layout_exponent(const Decimal& d, int prec, char e_char) {
  std::string out = d.negative ? "-" : "";
  out += d.digits.empty() ? '0' : d.digits[0];
  if (prec > 0) {
    out += '.';
    for (int i = 1; i <= prec; ++i) {
      const auto k = static_cast<std::size_t>(i);
      out += k < d.digits.size() ? d.digits[k] : '0';
    }
  }
  out += e_char;
  int exp = d.digits.empty() ? 0 : d.point - 1;
  out += exp < 0 ? '-' : '+';
  exp = std::abs(exp);
  if (exp < 10) out += '0';
  out += std::to_string(exp);
  return out;
}

// strconv's %f layout for the given digits.
std::string layout_fixed(const Decimal& d, int prec) {
  std::string out = d.negative ? "-" : "";
  const int nd = static_cast<int>(d.digits.size());
  if (d.point > 0) {
    const int m = std::min(nd, d.point);
    out.append(d.digits, 0, static_cast<std::size_t>(m));
    out.append(static_cast<std::size_t>(d.point - m), '0');
  } else {
    out += '0';
  }
  if (prec > 0) {
    out += '.';
    for (int i = 1; i <= prec; ++i) {
      const int j = d.point + i - 1;
      out += (j >= 0 && j < nd) ? d.digits[static_cast<std::size_t>(j)] : '0';
    }
  }
  return out;
}

// fmt's %v for float64 (strconv.FormatFloat(v, 'g', -1, 64)): 1e+06, 0.5, 1.5e-07.
std::string go_float_shortest(double v, char e_char = 'e') {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  const Decimal d = shortest_decimal(v);
  const int nd = static_cast<int>(d.digits.size());
  const int exp = d.point - 1;
  if (exp < -4 || exp >= 6) {
    return layout_exponent(d, std::max(nd - 1, 0), e_char);
  }
  return layout_fixed(d, std::max(nd - d.point, 0));
}

// encoding/json's float64 encoding: plain decimal unless tiny or huge.
std::string go_json_float(double v) {
  const double abs = std::fabs(v);
  const Decimal d = shortest_decimal(v);
  const int nd = static_cast<int>(d.digits.size());
  if (abs != 0 && (abs < 1e-6 || abs >= 1e21)) {
    std::string s = layout_exponent(d, std::max(nd - 1, 0), 'e');
    // Go writes e-7, not e-07.
    const std::size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') {
      s.erase(n - 2, 1);
    }
    return s;
  }
  return layout_fixed(d, std::max(nd - d.point, 0));
}

// -------------------------------------------------------------- values

// A value during execution: a JSON value, or Go's "invalid" value (a
// missing map key, or nil after a pipeline stage). Sub-values share
// ownership of the tree they point into, so they stay valid however long a
// variable holds them.
class Value {
 public:
  Value() = default;
  static Value borrow(const json::value& v) {
    Value r;
    r.ptr_ = &v;
    return r;
  }
  static Value of(json::value v) {
    Value r;
    r.owner_ = std::make_shared<const json::value>(std::move(v));
    r.ptr_ = r.owner_.get();
    return r;
  }
  static Value of_string(std::string_view s) {
    return of(json::value(json::string(s.data(), s.size())));
  }
  // The data of a header row: field chains evaluated on it yield column
  // titles; otherwise it acts as an empty string.
  static Value header_root() {
    Value r = of_string("");
    r.header_root_ = true;
    return r;
  }
  Value child(const json::value& v) const {
    Value r;
    r.owner_ = owner_;
    r.ptr_ = &v;
    return r;
  }
  bool valid() const { return ptr_ != nullptr; }
  bool is_nil() const { return ptr_ == nullptr || ptr_->is_null(); }
  bool is_header_root() const { return header_root_; }
  const json::value& get() const { return *ptr_; }

 private:
  std::shared_ptr<const json::value> owner_;
  const json::value* ptr_ = nullptr;
  bool header_root_ = false;
};

// The Go type name of a value, for error messages.
std::string go_type(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "interface {}";
    case json::kind::bool_:
      return "bool";
    case json::kind::int64:
      return "int";
    case json::kind::uint64:
      return "uint64";
    case json::kind::double_:
      return "float64";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "[]interface {}";
    case json::kind::object:
      return "map[string]interface {}";
  }
  return "interface {}";
}

bool is_true(const Value& v) {
  if (v.is_header_root()) return true;
  if (!v.valid()) return false;
  const json::value& j = v.get();
  switch (j.kind()) {
    case json::kind::null:
      return false;
    case json::kind::bool_:
      return j.get_bool();
    case json::kind::int64:
      return j.get_int64() != 0;
    case json::kind::uint64:
      return j.get_uint64() != 0;
    case json::kind::double_:
      return j.get_double() != 0;
    case json::kind::string:
      return !j.get_string().empty();
    case json::kind::array:
      return !j.get_array().empty();
    case json::kind::object:
      return !j.get_object().empty();
  }
  return false;
}

std::vector<const json::key_value_pair*> sorted_members(const json::object& o) {
  std::vector<const json::key_value_pair*> members;
  members.reserve(o.size());
  for (const auto& kv : o) {
    members.push_back(&kv);
  }
  std::sort(members.begin(), members.end(),
            [](const auto* a, const auto* b) { return a->key() < b->key(); });
  return members;
}

// ------------------------------------------------------------ Go's fmt

struct Spec {
  bool minus = false;
  bool plus = false;
  bool sharp = false;
  bool space = false;
  bool zero = false;
  bool sharp_v = false;  // %#v
  bool has_width = false;
  bool has_prec = false;
  int width = 0;
  int prec = 0;
};

void pad(std::string& out, std::string_view s, const Spec& sp) {
  const std::size_t n = rune_count(s);
  if (!sp.has_width || n >= static_cast<std::size_t>(sp.width)) {
    out += s;
    return;
  }
  const std::size_t fill = static_cast<std::size_t>(sp.width) - n;
  if (sp.minus) {
    out += s;
    out.append(fill, ' ');
  } else {
    out.append(fill, sp.zero ? '0' : ' ');
    out += s;
  }
}

void pad_spaces(std::string& out, std::string_view s, Spec sp) {
  sp.zero = false;
  pad(out, s, sp);
}

// A signed number body ("-1.5", "2"): sign, then zero padding, then digits.
void pad_number(std::string& out, std::string num, const Spec& sp) {
  char sign = 0;
  if (!num.empty() && (num[0] == '-' || num[0] == '+')) {
    sign = num[0];
    num.erase(0, 1);
  } else if (sp.plus) {
    sign = '+';
  } else if (sp.space) {
    sign = ' ';
  }
  const std::size_t len = num.size() + (sign != 0 ? 1 : 0);
  if (sp.zero && sp.has_width && static_cast<std::size_t>(sp.width) > len) {
    if (sign != 0) out += sign;
    out.append(static_cast<std::size_t>(sp.width) - len, '0');
    out += num;
    return;
  }
  if (sign != 0) num.insert(num.begin(), sign);
  pad_spaces(out, num, sp);
}

void format_json(std::string& out, const json::value& v, Rune verb, const Spec& sp);

void bad_verb(std::string& out, Rune verb, const json::value* v, const Spec& sp) {
  out += "%!";
  append_rune(out, verb);
  out += '(';
  if (v == nullptr || v->is_null()) {
    out += "<nil>";
  } else {
    out += go_type(*v);
    out += '=';
    format_json(out, *v, 'v', sp);
  }
  out += ')';
}

// fmt's fmtInteger.
void format_integer(std::string& out, const json::value& orig, std::uint64_t mag, bool negative,
                    Rune verb, const Spec& sp) {
  int base = 10;
  std::string_view digits = kLowerHex;
  switch (verb) {
    case 'v':
    case 'd':
      break;
    case 'b':
      base = 2;
      break;
    case 'o':
    case 'O':
      base = 8;
      break;
    case 'x':
      base = 16;
      break;
    case 'X':
      base = 16, digits = kUpperHex;
      break;
    case 'c':
      pad(
          out,
          [&] {
            std::string s;
            append_rune(s, negative || mag > kMaxRune ? kRuneError : static_cast<Rune>(mag));
            return s;
          }(),
          sp);
      return;
    case 'q':
      pad(out,
          go_quote_rune(negative || mag > kMaxRune ? kRuneError : static_cast<Rune>(mag), sp.plus),
          sp);
      return;
    case 'U': {
      std::string s = "U+";
      std::string hex;
      for (std::uint64_t m = mag; m > 0; m /= 16) hex.insert(hex.begin(), kUpperHex[m % 16]);
      const std::size_t min_digits =
          sp.has_prec ? static_cast<std::size_t>(std::max(sp.prec, 4)) : 4;
      if (hex.size() < min_digits) hex.insert(0, min_digits - hex.size(), '0');
      s += hex;
      if (sp.sharp && !negative && mag <= kMaxRune && is_print(static_cast<Rune>(mag))) {
        s += " '";
        append_rune(s, static_cast<Rune>(mag));
        s += '\'';
      }
      pad_spaces(out, s, sp);
      return;
    }
    default:
      bad_verb(out, verb, &orig, sp);
      return;
  }
  int prec = 0;
  if (sp.has_prec) {
    prec = sp.prec;
    if (prec == 0 && mag == 0) {
      pad_spaces(out, "", sp);
      return;
    }
  } else if (sp.zero && sp.has_width) {
    prec = sp.width;
    if (negative || sp.plus || sp.space) --prec;
  }
  std::string num;
  const auto ubase = static_cast<std::uint64_t>(base);
  for (std::uint64_t m = mag; m > 0 || num.empty(); m /= ubase) {
    num.insert(num.begin(), digits[m % ubase]);
    if (m < ubase) break;
  }
  if (static_cast<int>(num.size()) < prec) {
    num.insert(0, static_cast<std::size_t>(prec) - num.size(), '0');
  }
  if (sp.sharp) {
    if (base == 2) num.insert(0, "0b");
    if (base == 8 && num[0] != '0') num.insert(0, "0");
    if (base == 16) num.insert(0, digits == kUpperHex ? "0X" : "0x");
  }
  if (verb == 'O') num.insert(0, "0o");
  if (negative) {
    num.insert(num.begin(), '-');
  } else if (sp.plus) {
    num.insert(num.begin(), '+');
  } else if (sp.space) {
    num.insert(num.begin(), ' ');
  }
  pad_spaces(out, num, sp);
}

void format_float(std::string& out, double v, Rune verb, const Spec& sp) {
  std::string num;
  if (std::isnan(v) || std::isinf(v)) {
    num = std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
    if (std::isnan(v) && (sp.plus || sp.space)) num.insert(num.begin(), sp.plus ? '+' : ' ');
    pad_spaces(out, num, sp);
    return;
  }
  const auto c_format = [&](char conv, int prec) {
    const std::string f = std::string("%") + (sp.sharp ? "#" : "") + ".*" + conv;
    const int n = std::snprintf(nullptr, 0, f.c_str(), prec, v);
    std::string s(static_cast<std::size_t>(std::max(n, 0)) + 1, '\0');
    std::snprintf(s.data(), s.size(), f.c_str(), prec, v);
    s.pop_back();
    return s;
  };
  switch (verb) {
    case 'v':
    case 'g':
    case 'G':
      if (sp.has_prec) {
        num = c_format(verb == 'G' ? 'G' : 'g', sp.prec);
      } else {
        num = go_float_shortest(v, verb == 'G' ? 'E' : 'e');
      }
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
      num = c_format(verb == 'F' ? 'f' : static_cast<char>(verb), sp.has_prec ? sp.prec : 6);
      break;
    default: {
      const json::value j(v);
      bad_verb(out, verb, &j, sp);
      return;
    }
  }
  pad_number(out, std::move(num), sp);
}

void format_string(std::string& out, std::string_view s, Rune verb, const Spec& sp) {
  switch (verb) {
    case 'v':
      if (sp.sharp_v) {
        pad(out, go_quote(s), sp);
        return;
      }
      [[fallthrough]];
    case 's':
      pad(out, sp.has_prec ? rune_prefix(s, static_cast<std::size_t>(sp.prec)) : s, sp);
      return;
    case 'q': {
      const std::string_view t =
          sp.has_prec ? rune_prefix(s, static_cast<std::size_t>(sp.prec)) : s;
      if (sp.sharp && can_backquote(t)) {
        pad(out, "`" + std::string(t) + "`", sp);
      } else {
        pad(out, go_quote(t, sp.plus), sp);
      }
      return;
    }
    case 'x':
    case 'X': {
      const std::string_view alphabet = verb == 'X' ? kUpperHex : kLowerHex;
      std::size_t n = s.size();
      if (sp.has_prec && static_cast<std::size_t>(sp.prec) < n)
        n = static_cast<std::size_t>(sp.prec);
      std::string hex;
      for (std::size_t i = 0; i < n; ++i) {
        if (sp.space && i > 0) hex += ' ';
        if (sp.sharp && (sp.space || i == 0)) hex += verb == 'X' ? "0X" : "0x";
        append_hex(hex, static_cast<unsigned char>(s[i]), 2, alphabet);
      }
      pad(out, hex, sp);
      return;
    }
    default: {
      const json::value j(json::string(s.data(), s.size()));
      bad_verb(out, verb, &j, sp);
      return;
    }
  }
}

// Prints a non-nil top-level value or a nested value (fmt's printValue).
void format_json(std::string& out, const json::value& v, Rune verb, const Spec& sp) {
  switch (v.kind()) {
    case json::kind::null:
      pad_spaces(out, sp.sharp_v ? "interface {}(nil)" : "<nil>", sp);
      return;
    case json::kind::bool_:
      if (verb == 't' || verb == 'v') {
        pad(out, v.get_bool() ? "true" : "false", sp);
      } else {
        bad_verb(out, verb, &v, sp);
      }
      return;
    case json::kind::int64: {
      const std::int64_t i = v.get_int64();
      const std::uint64_t mag =
          i < 0 ? 0 - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i);
      format_integer(out, v, mag, i < 0, verb, sp);
      return;
    }
    case json::kind::uint64:
      format_integer(out, v, v.get_uint64(), false, verb, sp);
      return;
    case json::kind::double_:
      format_float(out, v.get_double(), verb, sp);
      return;
    case json::kind::string: {
      const json::string& s = v.get_string();
      format_string(out, std::string_view(s.data(), s.size()), verb, sp);
      return;
    }
    case json::kind::array: {
      const json::array& a = v.get_array();
      out += sp.sharp_v ? "[]interface {}{" : "[";
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += sp.sharp_v ? ", " : " ";
        format_json(out, a[i], verb, sp);
      }
      out += sp.sharp_v ? "}" : "]";
      return;
    }
    case json::kind::object: {
      out += sp.sharp_v ? "map[string]interface {}{" : "map[";
      bool first = true;
      for (const auto* kv : sorted_members(v.get_object())) {
        if (!first) out += sp.sharp_v ? ", " : " ";
        first = false;
        format_string(out, std::string_view(kv->key().data(), kv->key().size()), verb, sp);
        out += ':';
        format_json(out, kv->value(), verb, sp);
      }
      out += sp.sharp_v ? "}" : "]";
      return;
    }
  }
}

// Prints one argument of print/printf (fmt's printArg): nil prints <nil>.
void format_arg(std::string& out, const Value& v, Rune verb, const Spec& sp) {
  if (v.is_nil()) {
    if (verb == 'v' || verb == 'T') {
      pad_spaces(out, "<nil>", sp);
    } else {
      bad_verb(out, verb, nullptr, sp);
    }
    return;
  }
  if (verb == 'T') {
    pad_spaces(out, go_type(v.get()), sp);
    return;
  }
  format_json(out, v.get(), verb, sp);
}

std::string sprint_value(const Value& v) {
  std::string out;
  format_arg(out, v, 'v', Spec{});
  return out;
}

// fmt.Sprint: spaces between operands when neither is a string.
std::string go_sprint(std::span<const Value> args) {
  std::string out;
  bool prev_string = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool is_string = !args[i].is_nil() && args[i].get().is_string();
    if (i > 0 && !is_string && !prev_string) out += ' ';
    format_arg(out, args[i], 'v', Spec{});
    prev_string = is_string;
  }
  return out;
}

std::string go_sprintln(std::span<const Value> args) {
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out += ' ';
    format_arg(out, args[i], 'v', Spec{});
  }
  return out + '\n';
}

// fmt.Sprintf, without explicit argument indexes ("%[1]d").
std::string go_sprintf(std::string_view f, std::span<const Value> args) {
  std::string out;
  std::size_t argi = 0;
  const auto int_arg = [&](int& dst) {
    if (argi >= args.size()) return false;
    const Value& a = args[argi++];
    if (a.is_nil() || !a.get().is_int64()) return false;
    const std::int64_t v = a.get().get_int64();
    if (v > 1000000 || v < -1000000) return false;
    dst = static_cast<int>(v);
    return true;
  };
  const auto parse_num = [&](std::size_t& i, int& dst) {
    const std::size_t start = i;
    int v = 0;
    while (i < f.size() && is_digit(f[i]) && v < 1000000) {
      v = v * 10 + (f[i] - '0');
      ++i;
    }
    dst = v;
    return i > start;
  };
  for (std::size_t i = 0; i < f.size();) {
    const std::size_t text_start = i;
    while (i < f.size() && f[i] != '%') ++i;
    out.append(f.substr(text_start, i - text_start));
    if (i >= f.size()) break;
    ++i;
    Spec sp;
    for (; i < f.size(); ++i) {
      const char c = f[i];
      if (c == '#') {
        sp.sharp = true;
      } else if (c == '0') {
        sp.zero = !sp.minus;
      } else if (c == '+') {
        sp.plus = true;
      } else if (c == '-') {
        sp.minus = true;
        sp.zero = false;
      } else if (c == ' ') {
        sp.space = true;
      } else {
        break;
      }
    }
    if (i < f.size() && f[i] == '*') {
      ++i;
      sp.has_width = int_arg(sp.width);
      if (!sp.has_width) out += "%!(BADWIDTH)";
      if (sp.width < 0) {
        sp.width = -sp.width;
        sp.minus = true;
        sp.zero = false;
      }
    } else {
      sp.has_width = parse_num(i, sp.width);
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      if (i < f.size() && f[i] == '*') {
        ++i;
        sp.has_prec = int_arg(sp.prec);
        if (sp.prec < 0) {
          sp.prec = 0;
          sp.has_prec = false;
        }
        if (!sp.has_prec) out += "%!(BADPREC)";
      } else {
        parse_num(i, sp.prec);
        sp.has_prec = true;
      }
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    Rune verb = decode_rune(f, i);
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += "%!";
      append_rune(out, verb);
      out += "(MISSING)";
      continue;
    }
    if (verb == 'v' && sp.sharp) {
      sp.sharp = false;
      sp.sharp_v = true;
    }
    format_arg(out, args[argi++], verb, sp);
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      if (args[k].is_nil()) {
        out += "<nil>";
      } else {
        out += go_type(args[k].get()) + '=';
        format_arg(out, args[k], 'v', Spec{});
      }
    }
    out += ')';
  }
  return out;
}

// ------------------------------------------------------------------ JSON

// encoding/json with SetEscapeHTML(false), as Docker's `json` function
// encodes. Objects keep their member order (Docker encodes structs, whose
// order is the API's). Returns false for values JSON cannot hold (NaN).
bool write_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return true;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return true;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      return true;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      return true;
    case json::kind::double_:
      if (!std::isfinite(v.get_double())) return false;
      out += go_json_float(v.get_double());
      return true;
    case json::kind::string: {
      std::string s = json::serialize(v.get_string());
      // Go also escapes the JavaScript line terminators.
      for (std::size_t p = 0; (p = s.find("\xE2\x80", p)) != std::string::npos;) {
        if (p + 2 < s.size() && (s[p + 2] == '\xA8' || s[p + 2] == '\xA9')) {
          s.replace(p, 3, s[p + 2] == '\xA8' ? "\\u2028" : "\\u2029");
        } else {
          p += 2;
        }
      }
      out += s;
      return true;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        if (!write_json(out, e)) return false;
      }
      out += ']';
      return true;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        write_json(out, json::value(kv.key()));
        out += ':';
        if (!write_json(out, kv.value())) return false;
      }
      out += '}';
      return true;
    }
  }
  return false;
}

// ------------------------------------------------------------- functions

// An error returned by a function; reported as "error calling NAME: ...".
struct FuncError {
  std::string message;
};

// Parameter types. List is Docker's []string for join; it takes any JSON
// array (elements print with %v), and nil as an empty list.
enum class Param : std::uint8_t { Any, String, Int, List };
enum class Special : std::uint8_t { None, And, Or };
using FuncImpl = Value (*)(std::vector<Value>&);

struct FuncSpec {
  std::string_view name;
  std::array<Param, 3> params;
  std::size_t nparams;
  bool variadic;  // the last parameter repeats
  Special special;
  FuncImpl fn;
};

std::string_view sv_of(const Value& v) {
  const json::string& s = v.get().get_string();
  return {s.data(), s.size()};
}

Value bool_value(bool b) { return Value::of(json::value(b)); }

Value fn_not(std::vector<Value>& a) { return bool_value(!is_true(a[0])); }

Value fn_len(std::vector<Value>& a) {
  if (a[0].is_nil()) throw FuncError{"len of nil pointer"};
  const json::value& v = a[0].get();
  switch (v.kind()) {
    case json::kind::string:
      return Value::of(json::value(static_cast<std::int64_t>(v.get_string().size())));
    case json::kind::array:
      return Value::of(json::value(static_cast<std::int64_t>(v.get_array().size())));
    case json::kind::object:
      return Value::of(json::value(static_cast<std::int64_t>(v.get_object().size())));
    default:
      throw FuncError{"len of type " + go_type(v)};
  }
}

// text/template's indexArg: an integer in [0, cap) (or [0, cap] for slice).
std::size_t index_arg(const Value& index, std::size_t cap, bool allow_cap) {
  if (index.is_nil()) throw FuncError{"cannot index slice/array with nil"};
  const json::value& v = index.get();
  std::int64_t x = 0;
  if (v.is_int64()) {
    x = v.get_int64();
  } else if (v.is_uint64()) {
    x = v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
            ? -1
            : static_cast<std::int64_t>(v.get_uint64());
  } else {
    throw FuncError{"cannot index slice/array with type " + go_type(v)};
  }
  if (x < 0 || static_cast<std::uint64_t>(x) > cap ||
      (!allow_cap && static_cast<std::uint64_t>(x) == cap)) {
    throw FuncError{"index out of range: " + std::to_string(x)};
  }
  return static_cast<std::size_t>(x);
}

Value fn_index(std::vector<Value>& a) {
  if (a[0].is_nil()) throw FuncError{"index of untyped nil"};
  Value item = a[0];
  for (std::size_t k = 1; k < a.size(); ++k) {
    if (item.is_nil()) throw FuncError{"index of nil pointer"};
    const json::value& v = item.get();
    if (v.is_array()) {
      const json::array& arr = v.get_array();
      item = item.child(arr[index_arg(a[k], arr.size(), false)]);
    } else if (v.is_string()) {
      const json::string& s = v.get_string();
      const std::size_t i = index_arg(a[k], s.size(), false);
      item = Value::of(json::value(static_cast<std::int64_t>(static_cast<unsigned char>(s[i]))));
    } else if (v.is_object()) {
      if (a[k].is_nil()) throw FuncError{"value is nil; should be of type string"};
      if (!a[k].get().is_string())
        throw FuncError{"value has type " + go_type(a[k].get()) + "; should be string"};
      const json::value* found = v.get_object().if_contains(a[k].get().get_string());
      item = found != nullptr ? item.child(*found) : Value::of(json::value(nullptr));
    } else {
      throw FuncError{"can't index item of type " + go_type(v)};
    }
  }
  return item;
}

Value fn_slice(std::vector<Value>& a) {
  if (a[0].is_nil()) throw FuncError{"slice of untyped nil"};
  if (a.size() > 4) throw FuncError{"too many slice indexes: " + std::to_string(a.size() - 1)};
  const json::value& v = a[0].get();
  std::size_t len = 0;
  if (v.is_string()) {
    if (a.size() == 4) throw FuncError{"cannot 3-index slice a string"};
    len = v.get_string().size();
  } else if (v.is_array()) {
    len = v.get_array().size();
  } else {
    throw FuncError{"can't slice item of type " + go_type(v)};
  }
  std::array<std::size_t, 3> idx{0, len, len};
  for (std::size_t k = 1; k < a.size(); ++k) {
    idx[k - 1] = index_arg(a[k], len, true);
  }
  if (idx[0] > idx[1]) {
    throw FuncError{"invalid slice index: " + std::to_string(idx[0]) + " > " +
                    std::to_string(idx[1])};
  }
  if (a.size() == 4 && idx[1] > idx[2]) {
    throw FuncError{"invalid slice index: " + std::to_string(idx[1]) + " > " +
                    std::to_string(idx[2])};
  }
  if (v.is_string()) {
    return Value::of_string(sv_of(a[0]).substr(idx[0], idx[1] - idx[0]));
  }
  const json::array& arr = v.get_array();
  json::array out;
  for (std::size_t i = idx[0]; i < idx[1]; ++i) out.push_back(arr[i]);
  return Value::of(json::value(std::move(out)));
}

Value fn_print(std::vector<Value>& a) { return Value::of_string(go_sprint(a)); }
Value fn_println(std::vector<Value>& a) { return Value::of_string(go_sprintln(a)); }
Value fn_printf(std::vector<Value>& a) {
  return Value::of_string(go_sprintf(sv_of(a[0]), std::span<const Value>(a).subspan(1)));
}

// text/template's evalArgs for html, js and urlquery.
std::string escaper_input(std::vector<Value>& a) {
  if (a.size() == 1 && !a[0].is_nil() && a[0].get().is_string()) return std::string(sv_of(a[0]));
  for (auto& v : a) {
    if (v.is_nil()) v = Value::of_string("<no value>");
  }
  return go_sprint(a);
}

Value fn_html(std::vector<Value>& a) {
  std::string out;
  for (const char c : escaper_input(a)) {
    switch (c) {
      case '\0':
        out += "\xEF\xBF\xBD";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return Value::of_string(out);
}

Value fn_js(std::vector<Value>& a) {
  const std::string s = escaper_input(a);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    const Rune r = decode_rune(s, i);
    switch (r) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      case '<':
        out += "\\u003C";
        break;
      case '>':
        out += "\\u003E";
        break;
      case '&':
        out += "\\u0026";
        break;
      case '=':
        out += "\\u003D";
        break;
      default:
        if (r < ' ' || (r >= 0x80 && !is_print(r))) {
          out += "\\u";
          append_hex(out, r, 4, kUpperHex);
        } else {
          out.append(s, start, i - start);
        }
    }
  }
  return Value::of_string(out);
}

Value fn_urlquery(std::vector<Value>& a) {
  std::string out;
  for (const char c : escaper_input(a)) {
    if (is_ascii_letter(c) || is_digit(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      append_hex(out, static_cast<unsigned char>(c), 2, kUpperHex);
    }
  }
  return Value::of_string(out);
}

enum class Kind : std::uint8_t { Invalid, Bool, Int, Uint, Float, String, Other };

Kind basic_kind(const Value& v) {
  if (v.is_nil()) return Kind::Invalid;
  switch (v.get().kind()) {
    case json::kind::bool_:
      return Kind::Bool;
    case json::kind::int64:
      return Kind::Int;
    case json::kind::uint64:
      return Kind::Uint;
    case json::kind::double_:
      return Kind::Float;
    case json::kind::string:
      return Kind::String;
    default:
      return Kind::Other;
  }
}

const std::string kBadComparison = "incompatible types for comparison";
const std::string kBadComparisonType = "invalid type for comparison";

bool eq_pair(const Value& a, const Value& b) {
  const Kind ka = basic_kind(a);
  const Kind kb = basic_kind(b);
  // Go's basicKind puts arrays and maps in the same "invalid" class as nil.
  const Kind ca = ka == Kind::Other ? Kind::Invalid : ka;
  const Kind cb = kb == Kind::Other ? Kind::Invalid : kb;
  if (ca != cb) {
    if (ka == Kind::Int && kb == Kind::Uint) {
      return a.get().get_int64() >= 0 &&
             static_cast<std::uint64_t>(a.get().get_int64()) == b.get().get_uint64();
    }
    if (ka == Kind::Uint && kb == Kind::Int) {
      return b.get().get_int64() >= 0 &&
             a.get().get_uint64() == static_cast<std::uint64_t>(b.get().get_int64());
    }
    if (!a.is_nil() && !b.is_nil()) throw FuncError{kBadComparison};
    return false;
  }
  switch (ca) {
    case Kind::Bool:
      return a.get().get_bool() == b.get().get_bool();
    case Kind::Int:
      return a.get().get_int64() == b.get().get_int64();
    case Kind::Uint:
      return a.get().get_uint64() == b.get().get_uint64();
    case Kind::Float:
      return a.get().get_double() == b.get().get_double();
    case Kind::String:
      return a.get().get_string() == b.get().get_string();
    default:
      if (a.is_nil() || b.is_nil()) return a.is_nil() == b.is_nil();
      throw FuncError{"non-comparable type " + sprint_value(b) + ": " + go_type(b.get())};
  }
}

bool lt_pair(const Value& a, const Value& b) {
  const Kind ka = basic_kind(a);
  const Kind kb = basic_kind(b);
  if (ka == Kind::Invalid || ka == Kind::Other || kb == Kind::Invalid || kb == Kind::Other) {
    throw FuncError{kBadComparisonType};
  }
  if (ka != kb) {
    if (ka == Kind::Int && kb == Kind::Uint) {
      return a.get().get_int64() < 0 ||
             static_cast<std::uint64_t>(a.get().get_int64()) < b.get().get_uint64();
    }
    if (ka == Kind::Uint && kb == Kind::Int) {
      return b.get().get_int64() >= 0 &&
             a.get().get_uint64() < static_cast<std::uint64_t>(b.get().get_int64());
    }
    throw FuncError{kBadComparison};
  }
  switch (ka) {
    case Kind::Int:
      return a.get().get_int64() < b.get().get_int64();
    case Kind::Uint:
      return a.get().get_uint64() < b.get().get_uint64();
    case Kind::Float:
      return a.get().get_double() < b.get().get_double();
    case Kind::String:
      return a.get().get_string() < b.get().get_string();
    default:
      throw FuncError{kBadComparisonType};
  }
}

Value fn_eq(std::vector<Value>& a) {
  if (a.size() < 2) throw FuncError{"missing argument for comparison"};
  for (std::size_t i = 1; i < a.size(); ++i) {
    if (eq_pair(a[0], a[i])) return bool_value(true);
  }
  return bool_value(false);
}
Value fn_ne(std::vector<Value>& a) { return bool_value(!eq_pair(a[0], a[1])); }
Value fn_lt(std::vector<Value>& a) { return bool_value(lt_pair(a[0], a[1])); }
Value fn_le(std::vector<Value>& a) {
  return bool_value(lt_pair(a[0], a[1]) || eq_pair(a[0], a[1]));
}
Value fn_gt(std::vector<Value>& a) {
  return bool_value(!(lt_pair(a[0], a[1]) || eq_pair(a[0], a[1])));
}
Value fn_ge(std::vector<Value>& a) { return bool_value(!lt_pair(a[0], a[1])); }

Value fn_json(std::vector<Value>& a) {
  std::string out;
  if (a[0].is_nil()) {
    out = "null";
  } else if (!write_json(out, a[0].get())) {
    out.clear();  // Docker ignores the encoder's error and prints nothing
  }
  return Value::of_string(out);
}

Value fn_split(std::vector<Value>& a) {
  const std::string_view s = sv_of(a[0]);
  const std::string_view sep = sv_of(a[1]);
  json::array out;
  if (sep.empty()) {
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t start = i;
      decode_rune(s, i);
      out.emplace_back(json::string(s.data() + start, i - start));
    }
  } else {
    std::size_t start = 0;
    for (std::size_t p; (p = s.find(sep, start)) != std::string_view::npos;
         start = p + sep.size()) {
      out.emplace_back(json::string(s.data() + start, p - start));
    }
    out.emplace_back(json::string(s.data() + start, s.size() - start));
  }
  return Value::of(json::value(std::move(out)));
}

Value fn_join(std::vector<Value>& a) {
  if (a[0].is_nil()) return Value::of_string("");
  const std::string_view sep = sv_of(a[1]);
  std::string out;
  bool first = true;
  for (const auto& e : a[0].get().get_array()) {
    if (!first) out += sep;
    first = false;
    if (e.is_string()) {
      out.append(e.get_string().data(), e.get_string().size());
    } else {
      format_json(out, e, 'v', Spec{});
    }
  }
  return Value::of_string(out);
}

// strings.Title: upper-case the first letter of every word.
Value fn_title(std::vector<Value>& a) {
  Rune prev = ' ';
  return Value::of_string(map_runes(sv_of(a[0]), [&prev](Rune r) {
    const bool separator = prev < 0x80 ? !(is_alpha_numeric(prev)) : is_unicode_space(prev);
    prev = r;
    return separator ? to_upper_rune(r) : r;
  }));
}

Value fn_lower(std::vector<Value>& a) {
  return Value::of_string(map_runes(sv_of(a[0]), to_lower_rune));
}
Value fn_upper(std::vector<Value>& a) {
  return Value::of_string(map_runes(sv_of(a[0]), to_upper_rune));
}

Value fn_pad(std::vector<Value>& a) {
  const std::string_view s = sv_of(a[0]);
  if (s.empty()) return a[0];
  const std::int64_t prefix = a[1].get().get_int64();
  const std::int64_t suffix = a[2].get().get_int64();
  if (prefix < 0 || suffix < 0) throw FuncError{"strings: negative Repeat count"};
  std::string out(static_cast<std::size_t>(prefix), ' ');
  out += s;
  out.append(static_cast<std::size_t>(suffix), ' ');
  return Value::of_string(out);
}

// Docker truncates bytes; this truncates code points so that it never cuts
// a character in half (identical for ASCII).
Value fn_truncate(std::vector<Value>& a) {
  const std::int64_t n = a[1].get().get_int64();
  if (n < 0)
    throw FuncError{"runtime error: slice bounds out of range [:" + std::to_string(n) + "]"};
  return Value::of_string(rune_prefix(sv_of(a[0]), static_cast<std::size_t>(n)));
}

// In a table header Docker replaces these with functions that return their
// first argument, so that the column title stays intact.
Value fn_header_passthrough(std::vector<Value>& a) { return a[0]; }

using P = Param;
constexpr std::array<FuncSpec, 29> kFunctions{{
    {"and", {P::Any, P::Any}, 2, true, Special::And, nullptr},
    {"or", {P::Any, P::Any}, 2, true, Special::Or, nullptr},
    {"not", {P::Any}, 1, false, Special::None, fn_not},
    {"len", {P::Any}, 1, false, Special::None, fn_len},
    {"index", {P::Any, P::Any}, 2, true, Special::None, fn_index},
    {"slice", {P::Any, P::Any}, 2, true, Special::None, fn_slice},
    {"print", {P::Any}, 1, true, Special::None, fn_print},
    {"printf", {P::String, P::Any}, 2, true, Special::None, fn_printf},
    {"println", {P::Any}, 1, true, Special::None, fn_println},
    {"html", {P::Any}, 1, true, Special::None, fn_html},
    {"js", {P::Any}, 1, true, Special::None, fn_js},
    {"urlquery", {P::Any}, 1, true, Special::None, fn_urlquery},
    {"eq", {P::Any, P::Any}, 2, true, Special::None, fn_eq},
    {"ne", {P::Any, P::Any}, 2, false, Special::None, fn_ne},
    {"lt", {P::Any, P::Any}, 2, false, Special::None, fn_lt},
    {"le", {P::Any, P::Any}, 2, false, Special::None, fn_le},
    {"gt", {P::Any, P::Any}, 2, false, Special::None, fn_gt},
    {"ge", {P::Any, P::Any}, 2, false, Special::None, fn_ge},
    {"json", {P::Any}, 1, false, Special::None, fn_json},
    {"split", {P::String, P::String}, 2, false, Special::None, fn_split},
    {"join", {P::List, P::String}, 2, false, Special::None, fn_join},
    {"title", {P::String}, 1, false, Special::None, fn_title},
    {"lower", {P::String}, 1, false, Special::None, fn_lower},
    {"upper", {P::String}, 1, false, Special::None, fn_upper},
    {"pad", {P::String, P::Int, P::Int}, 3, false, Special::None, fn_pad},
    {"truncate", {P::String, P::Int}, 2, false, Special::None, fn_truncate},
    // Header variants (looked up only while rendering a table header).
    {"json", {P::String}, 1, false, Special::None, fn_header_passthrough},
    {"split", {P::String, P::String}, 2, false, Special::None, fn_header_passthrough},
    {"join", {P::String, P::String}, 2, false, Special::None, fn_header_passthrough},
}};
constexpr std::size_t kHeaderVariants = 3;
constexpr std::array<FuncSpec, 4> kHeaderFunctions{{
    {"title", {P::String}, 1, false, Special::None, fn_header_passthrough},
    {"lower", {P::String}, 1, false, Special::None, fn_header_passthrough},
    {"upper", {P::String}, 1, false, Special::None, fn_header_passthrough},
    {"truncate", {P::String, P::Int}, 2, false, Special::None, fn_header_passthrough},
}};

const FuncSpec* find_function(std::string_view name, bool header) {
  if (header) {
    for (std::size_t i = kFunctions.size() - kHeaderVariants; i < kFunctions.size(); ++i) {
      if (kFunctions[i].name == name) return &kFunctions[i];
    }
    for (const auto& f : kHeaderFunctions) {
      if (f.name == name) return &f;
    }
  }
  for (std::size_t i = 0; i < kFunctions.size() - kHeaderVariants; ++i) {
    if (kFunctions[i].name == name) return &kFunctions[i];
  }
  return nullptr;
}

std::string_view param_name(Param p) {
  switch (p) {
    case Param::String:
      return "string";
    case Param::Int:
      return "int";
    case Param::List:
      return "[]string";
    case Param::Any:
      break;
  }
  return "interface {}";
}

// ----------------------------------------------------------------- lexer

enum class Tok : std::uint8_t {
  Error,
  Bool,
  Char,
  CharConstant,
  Assign,
  Declare,
  Eof,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  // keywords
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
};

struct Token {
  Tok type;
  std::size_t pos;
  std::string val;
  int line;
};

int line_at(std::string_view text, std::size_t pos) {
  return 1 + static_cast<int>(
                 std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

bool has_left_trim_marker(std::string_view s) {
  return s.size() >= 2 && s[0] == '-' && is_space(s[1]);
}
bool has_right_trim_marker(std::string_view s) {
  return s.size() >= 2 && is_space(s[0]) && s[1] == '-';
}

// Go's text/template lexer, run to completion up front; it stops at the
// first error, which becomes the last token.
class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}

  std::vector<Token> run() {
    while (!done_) {
      lex_text();
    }
    return std::move(tokens_);
  }

 private:
  std::string_view rest(std::size_t p) const {
    return p <= input_.size() ? input_.substr(p) : std::string_view();
  }

  void emit(Tok t, std::size_t start) {
    tokens_.push_back(
        {t, start, std::string(input_.substr(start, pos_ - start)), line_at(input_, start)});
  }

  bool fail(std::string message, std::size_t start) {
    tokens_.push_back(
        {Tok::Error, start, std::move(message), line_at(input_, std::min(start, input_.size()))});
    done_ = true;
    return false;
  }

  Rune peek_rune() const {
    std::size_t i = pos_;
    return pos_ < input_.size() ? decode_rune(input_, i) : 0;
  }

  bool at_terminator() const {
    if (pos_ >= input_.size()) return true;
    const char c = input_[pos_];
    return is_space(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(' ||
           rest(pos_).starts_with("}}");
  }

  std::pair<bool, bool> at_right_delim(std::size_t p) const {
    if (has_right_trim_marker(rest(p)) && rest(p + 2).starts_with("}}")) return {true, true};
    return {rest(p).starts_with("}}"), false};
  }

  void lex_text() {
    const std::size_t x = input_.find("{{", pos_);
    if (x == std::string_view::npos) {
      if (pos_ < input_.size()) {
        const std::size_t start = pos_;
        pos_ = input_.size();
        emit(Tok::Text, start);
      }
      emit(Tok::Eof, pos_);
      done_ = true;
      return;
    }
    const bool trim = has_left_trim_marker(rest(x + 2));
    std::size_t text_end = x;
    if (trim) {
      while (text_end > pos_ && is_space(input_[text_end - 1])) --text_end;
    }
    if (text_end > pos_) {
      const std::size_t start = pos_;
      pos_ = text_end;
      emit(Tok::Text, start);
    }
    const std::size_t after = x + 2 + (trim ? 2 : 0);
    if (rest(after).starts_with("/*")) {
      lex_comment(x, after);
      return;
    }
    pos_ = x + 2;
    emit(Tok::LeftDelim, x);
    pos_ = after;
    paren_depth_ = 0;
    lex_inside_action();
  }

  void lex_comment(std::size_t delim, std::size_t after) {
    const std::size_t end = input_.find("*/", after + 2);
    if (end == std::string_view::npos) {
      fail("unclosed comment", delim);
      return;
    }
    pos_ = end + 2;
    const auto [is_delim, trim] = at_right_delim(pos_);
    if (!is_delim) {
      fail("comment ends before closing delimiter", delim);
      return;
    }
    pos_ += (trim ? 2 : 0) + 2;
    if (trim) {
      while (pos_ < input_.size() && is_space(input_[pos_])) ++pos_;
    }
  }

  void lex_inside_action() {
    for (;;) {
      const auto [is_delim, trim] = at_right_delim(pos_);
      if (is_delim) {
        if (paren_depth_ != 0) {
          fail("unclosed left paren", pos_);
          return;
        }
        const std::size_t d = pos_ + (trim ? 2 : 0);
        pos_ = d + 2;
        emit(Tok::RightDelim, d);
        if (trim) {
          while (pos_ < input_.size() && is_space(input_[pos_])) ++pos_;
        }
        return;
      }
      if (pos_ >= input_.size()) {
        fail("unclosed action", pos_);
        return;
      }
      const std::size_t start = pos_;
      const char c = input_[pos_];
      if (is_space(c)) {
        lex_space();
        continue;
      }
      ++pos_;
      bool ok = true;
      switch (c) {
        case '=':
          emit(Tok::Assign, start);
          break;
        case ':':
          if (pos_ < input_.size() && input_[pos_] == '=') {
            ++pos_;
            emit(Tok::Declare, start);
          } else {
            ok = fail("expected :=", start);
          }
          break;
        case '|':
          emit(Tok::Pipe, start);
          break;
        case '"':
          ok = lex_quote(start, '"', "unterminated quoted string", Tok::String);
          break;
        case '`':
          ok = lex_raw_quote(start);
          break;
        case '\'':
          ok = lex_quote(start, '\'', "unterminated character constant", Tok::CharConstant);
          break;
        case '$':
          ok = lex_field_or_variable(start, Tok::Variable);
          break;
        case '(':
          ++paren_depth_;
          emit(Tok::LeftParen, start);
          break;
        case ')':
          if (--paren_depth_ < 0) {
            ok = fail("unexpected right paren", start);
          } else {
            emit(Tok::RightParen, start);
          }
          break;
        default:
          if (c == '.' && pos_ < input_.size() && !is_digit(input_[pos_])) {
            ok = lex_field_or_variable(start, Tok::Field);
          } else if (c == '.' || c == '+' || c == '-' || is_digit(c)) {
            pos_ = start;
            ok = lex_number(start);
          } else {
            pos_ = start;
            const Rune r = peek_rune();
            if (is_alpha_numeric(r)) {
              ok = lex_identifier(start);
            } else if (r < 0x80 && is_print(r)) {
              ++pos_;
              emit(Tok::Char, start);
            } else {
              ok = fail("unrecognized character in action: " + format_unicode(r), start);
            }
          }
      }
      if (!ok) return;
    }
  }

  void lex_space() {
    const std::size_t start = pos_;
    std::size_t n = 0;
    while (pos_ < input_.size() && is_space(input_[pos_])) {
      ++pos_;
      ++n;
    }
    // The last space may belong to a " -}}" trim marker.
    if (has_right_trim_marker(rest(pos_ - 1)) && rest(pos_ + 1).starts_with("}}")) {
      --pos_;
      if (n == 1) return;
    }
    emit(Tok::Space, start);
  }

  void skip_alpha_numeric() {
    while (pos_ < input_.size()) {
      std::size_t i = pos_;
      if (!is_alpha_numeric(decode_rune(input_, i))) break;
      pos_ = i;
    }
  }

  bool lex_field_or_variable(std::size_t start, Tok type) {
    if (at_terminator()) {
      emit(type == Tok::Variable ? Tok::Variable : Tok::Dot, start);
      return true;
    }
    skip_alpha_numeric();
    if (!at_terminator()) return fail("bad character " + format_unicode(peek_rune()), start);
    emit(type, start);
    return true;
  }

  bool lex_identifier(std::size_t start) {
    skip_alpha_numeric();
    if (!at_terminator()) return fail("bad character " + format_unicode(peek_rune()), start);
    static constexpr std::array<std::pair<std::string_view, Tok>, 11> kKeywords{{
        {"block", Tok::Block},
        {"break", Tok::Break},
        {"continue", Tok::Continue},
        {"define", Tok::Define},
        {"else", Tok::Else},
        {"end", Tok::End},
        {"if", Tok::If},
        {"nil", Tok::Nil},
        {"range", Tok::Range},
        {"template", Tok::Template},
        {"with", Tok::With},
    }};
    const std::string_view word = input_.substr(start, pos_ - start);
    for (const auto& [kw, tok] : kKeywords) {
      if (word == kw) {
        emit(tok, start);
        return true;
      }
    }
    emit(word == "true" || word == "false" ? Tok::Bool : Tok::Identifier, start);
    return true;
  }

  bool accept(std::string_view valid) {
    if (pos_ < input_.size() && valid.find(input_[pos_]) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }

  void accept_run(std::string_view valid) {
    while (accept(valid)) {
    }
  }

  // Go's scanNumber, without imaginary numbers.
  bool scan_number() {
    accept("+-");
    std::string_view digits = "0123456789_";
    bool decimal = true;
    bool hex = false;
    if (accept("0")) {
      if (accept("xX")) {
        digits = "0123456789abcdefABCDEF_", decimal = false, hex = true;
      } else if (accept("oO")) {
        digits = "01234567_", decimal = false;
      } else if (accept("bB")) {
        digits = "01_", decimal = false;
      }
    }
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (decimal && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (hex && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (pos_ < input_.size() && is_alpha_numeric(peek_rune())) {
      decode_rune(input_, pos_);
      return false;
    }
    return true;
  }

  bool lex_number(std::size_t start) {
    bool ok = scan_number();
    if (ok && pos_ < input_.size() && (input_[pos_] == '+' || input_[pos_] == '-')) {
      scan_number();  // a complex constant such as 1+2i, which is not supported
      ok = false;
    }
    if (!ok)
      return fail("bad number syntax: " + go_quote(input_.substr(start, pos_ - start)), start);
    emit(Tok::Number, start);
    return true;
  }

  bool lex_quote(std::size_t start, char quote, const char* unterminated, Tok type) {
    for (;;) {
      if (pos_ >= input_.size()) return fail(unterminated, start);
      const char c = input_[pos_++];
      if (c == '\\') {
        if (pos_ >= input_.size() || input_[pos_] == '\n') return fail(unterminated, start);
        ++pos_;
      } else if (c == '\n' && quote == '\'') {
        return fail(unterminated, start);
      } else if (c == quote) {
        break;
      }
    }
    emit(type, start);
    return true;
  }

  bool lex_raw_quote(std::size_t start) {
    const std::size_t end = input_.find('`', pos_);
    if (end == std::string_view::npos) return fail("unterminated raw quoted string", start);
    pos_ = end + 1;
    emit(Tok::RawString, start);
    return true;
  }

  std::string_view input_;
  std::size_t pos_ = 0;
  int paren_depth_ = 0;
  bool done_ = false;
  std::vector<Token> tokens_;
};

// ---------------------------------------------------------------- parser

bool is_keyword(Tok t) { return t >= Tok::Block; }

// How Go's parser names a token in "unexpected ..." messages.
std::string describe(const Token& t) {
  if (t.type == Tok::Eof) return "EOF";
  if (t.type == Tok::Error) return t.val;
  if (is_keyword(t.type)) return "<" + t.val + ">";
  if (rune_count(t.val) > 10) return go_quote(rune_prefix(t.val, 10)) + "...";
  return go_quote(t.val);
}

std::vector<std::string> split_idents(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t p; (p = s.find('.', start)) != std::string_view::npos; start = p + 1) {
    out.emplace_back(s.substr(start, p - start));
  }
  out.emplace_back(s.substr(start));
  return out;
}

// Go's text/template/parse, for a single template without define/template/block.
class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  std::unique_ptr<ListNode> parse() {
    auto root = std::make_unique<ListNode>(0);
    while (peek().type != Tok::Eof) {
      NodePtr n = text_or_action();
      if (n->type == NodeType::End || n->type == NodeType::Else) {
        errorf("unexpected " + n->str());
      }
      root->nodes.push_back(std::move(n));
    }
    return root;
  }

 private:
  const Token& next() {
    const std::size_t i = std::min(index_, tokens_.size() - 1);
    index_ = i + 1;
    furthest_ = std::max(furthest_, i);
    return tokens_[i];
  }
  const Token& peek() {
    const std::size_t i = std::min(index_, tokens_.size() - 1);
    furthest_ = std::max(furthest_, i);
    return tokens_[i];
  }
  void backup() { --index_; }
  const Token& next_non_space() {
    for (;;) {
      const Token& t = next();
      if (t.type != Tok::Space) return t;
    }
  }
  const Token& peek_non_space() {
    const Token& t = next_non_space();
    backup();
    return t;
  }

  [[noreturn]] void errorf(const std::string& message) {
    throw TemplateError("template: :" + std::to_string(tokens_[furthest_].line) + ": " + message);
  }

  [[noreturn]] void unexpected(const Token& t, std::string_view context) {
    if (t.type == Tok::Error) errorf(t.val);
    errorf("unexpected " + describe(t) + " in " + std::string(context));
  }

  const Token& expect(Tok type, std::string_view context) {
    const Token& t = next_non_space();
    if (t.type != type) unexpected(t, context);
    return t;
  }

  std::pair<std::unique_ptr<ListNode>, NodePtr> item_list() {
    auto list = std::make_unique<ListNode>(peek_non_space().pos);
    while (peek_non_space().type != Tok::Eof) {
      NodePtr n = text_or_action();
      if (n->type == NodeType::End || n->type == NodeType::Else)
        return {std::move(list), std::move(n)};
      list->nodes.push_back(std::move(n));
    }
    errorf("unexpected EOF");
  }

  NodePtr text_or_action() {
    const Token& t = next_non_space();
    if (t.type == Tok::Text) return std::make_unique<TextNode>(t.pos, t.val);
    if (t.type == Tok::LeftDelim) return action();
    unexpected(t, "input");
  }

  NodePtr action() {
    const Token& t = next_non_space();
    switch (t.type) {
      case Tok::Block:
      case Tok::Define:
      case Tok::Template:
        errorf("{{" + t.val + "}} is not supported");
      case Tok::Break:
      case Tok::Continue: {
        const Token kw = t;
        const Token& close = next_non_space();
        if (close.type != Tok::RightDelim) unexpected(close, "{{" + kw.val + "}}");
        if (range_depth_ == 0) errorf("{{" + kw.val + "}} outside {{range}}");
        return std::make_unique<SimpleNode>(
            kw.type == Tok::Break ? NodeType::Break : NodeType::Continue, kw.pos);
      }
      case Tok::Else: {
        // "else if" / "else with": leave the keyword for parse_control.
        const Token& p = peek_non_space();
        if (p.type == Tok::If || p.type == Tok::With)
          return std::make_unique<SimpleNode>(NodeType::Else, p.pos);
        return std::make_unique<SimpleNode>(NodeType::Else, expect(Tok::RightDelim, "else").pos);
      }
      case Tok::End:
        return std::make_unique<SimpleNode>(NodeType::End, expect(Tok::RightDelim, "end").pos);
      case Tok::If:
        return parse_control(NodeType::If, "if");
      case Tok::Range:
        return parse_control(NodeType::Range, "range");
      case Tok::With:
        return parse_control(NodeType::With, "with");
      default:
        break;
    }
    backup();
    const std::size_t pos = peek().pos;
    // Variables declared here stay in scope until the enclosing {{end}}.
    return std::make_unique<ActionNode>(pos, pipeline("command", Tok::RightDelim));
  }

  NodePtr parse_control(NodeType type, std::string_view context) {
    const std::size_t saved_vars = vars_.size();
    auto node = std::make_unique<BranchNode>(type, 0);
    node->pipe = pipeline(context, Tok::RightDelim);
    node->pos = node->pipe->pos;
    if (type == NodeType::Range) ++range_depth_;
    auto [list, next_node] = item_list();
    if (type == NodeType::Range) --range_depth_;
    node->list = std::move(list);
    if (next_node->type == NodeType::Else) {
      const Tok chained = type == NodeType::If ? Tok::If : Tok::With;
      if (type != NodeType::Range && peek().type == chained) {
        next();
        node->else_list = std::make_unique<ListNode>(next_node->pos);
        node->else_list->nodes.push_back(parse_control(type, context));
      } else {
        auto [else_list, end] = item_list();
        if (end->type != NodeType::End) errorf("expected end; found " + end->str());
        node->else_list = std::move(else_list);
      }
    }
    vars_.resize(saved_vars);
    return node;
  }

  std::unique_ptr<PipeNode> pipeline(std::string_view context, Tok end) {
    auto pipe = std::make_unique<PipeNode>(peek_non_space().pos);
    // Declarations: "$x :=", "$x =", and in range "$i, $e :=".
    while (peek_non_space().type == Tok::Variable) {
      const std::size_t at_variable = index_;
      const Token v = next();
      const Token next_token = peek_non_space();
      if (next_token.type == Tok::Assign || next_token.type == Tok::Declare) {
        pipe->is_assign = next_token.type == Tok::Assign;
        next_non_space();
        pipe->decl.push_back(std::make_unique<VariableNode>(v.pos, split_idents(v.val)));
        vars_.push_back(v.val);
        break;
      }
      if (next_token.type == Tok::Char && next_token.val == ",") {
        next_non_space();
        pipe->decl.push_back(std::make_unique<VariableNode>(v.pos, split_idents(v.val)));
        vars_.push_back(v.val);
        if (context == "range" && pipe->decl.size() < 2) {
          const Tok k = peek_non_space().type;
          if (k == Tok::Variable || k == Tok::RightDelim || k == Tok::RightParen) continue;
          errorf("range can only initialize variables");
        }
        errorf("too many declarations in " + std::string(context));
      }
      index_ = at_variable;
      break;
    }
    for (;;) {
      const Token& t = next_non_space();
      if (t.type == end) {
        check_pipeline(*pipe, context);
        return pipe;
      }
      switch (t.type) {
        case Tok::Bool:
        case Tok::CharConstant:
        case Tok::Dot:
        case Tok::Field:
        case Tok::Identifier:
        case Tok::Number:
        case Tok::Nil:
        case Tok::RawString:
        case Tok::String:
        case Tok::Variable:
        case Tok::LeftParen:
          backup();
          pipe->cmds.push_back(command());
          break;
        default:
          unexpected(t, context);
      }
    }
  }

  void check_pipeline(const PipeNode& pipe, std::string_view context) {
    if (pipe.cmds.empty()) errorf("missing value for " + std::string(context));
    for (std::size_t i = 1; i < pipe.cmds.size(); ++i) {
      switch (pipe.cmds[i]->args[0]->type) {
        case NodeType::Bool:
        case NodeType::Dot:
        case NodeType::Nil:
        case NodeType::Number:
        case NodeType::String:
          errorf("non executable command in pipeline stage " + std::to_string(i + 1));
        default:
          break;
      }
    }
  }

  std::unique_ptr<CommandNode> command() {
    auto cmd = std::make_unique<CommandNode>(peek_non_space().pos);
    for (;;) {
      peek_non_space();
      if (NodePtr operand_node = operand()) cmd->args.push_back(std::move(operand_node));
      const Token& t = next();
      if (t.type == Tok::Space) continue;
      if (t.type == Tok::RightDelim || t.type == Tok::RightParen) {
        backup();
      } else if (t.type != Tok::Pipe) {
        unexpected(t, "operand");
      }
      break;
    }
    if (cmd->args.empty()) errorf("empty command");
    return cmd;
  }

  NodePtr operand() {
    NodePtr node = term();
    if (!node || peek().type != Tok::Field) return node;
    auto chain = std::make_unique<ChainNode>(peek().pos, std::move(node));
    while (peek().type == Tok::Field) chain->fields.push_back(next().val.substr(1));
    switch (chain->node->type) {
      case NodeType::Field: {
        auto idents = static_cast<FieldNode&>(*chain->node).idents;
        idents.insert(idents.end(), chain->fields.begin(), chain->fields.end());
        return std::make_unique<FieldNode>(chain->pos, std::move(idents));
      }
      case NodeType::Variable: {
        auto idents = static_cast<VariableNode&>(*chain->node).idents;
        idents.insert(idents.end(), chain->fields.begin(), chain->fields.end());
        return std::make_unique<VariableNode>(chain->pos, std::move(idents));
      }
      case NodeType::Bool:
      case NodeType::String:
      case NodeType::Number:
      case NodeType::Nil:
      case NodeType::Dot:
        errorf("unexpected . after term " + go_quote(chain->node->str()));
      default:
        return chain;
    }
  }

  NodePtr term() {
    const Token& t = next_non_space();
    switch (t.type) {
      case Tok::Identifier:
        if (find_function(t.val, false) == nullptr)
          errorf("function " + go_quote(t.val) + " not defined");
        return std::make_unique<IdentifierNode>(t.pos, t.val);
      case Tok::Dot:
        return std::make_unique<SimpleNode>(NodeType::Dot, t.pos);
      case Tok::Nil:
        return std::make_unique<SimpleNode>(NodeType::Nil, t.pos);
      case Tok::Variable: {
        auto v = std::make_unique<VariableNode>(t.pos, split_idents(t.val));
        if (std::find(vars_.begin(), vars_.end(), v->idents[0]) == vars_.end()) {
          errorf("undefined variable " + go_quote(v->idents[0]));
        }
        return v;
      }
      case Tok::Field:
        return std::make_unique<FieldNode>(t.pos, split_idents(std::string_view(t.val).substr(1)));
      case Tok::Bool:
        return std::make_unique<BoolNode>(t.pos, t.val == "true");
      case Tok::CharConstant:
      case Tok::Number:
        return number(t);
      case Tok::LeftParen:
        return pipeline("parenthesized pipeline", Tok::RightParen);
      case Tok::String:
      case Tok::RawString: {
        auto s = go_unquote(t.val);
        if (!s) errorf("invalid syntax");
        return std::make_unique<StringNode>(t.pos, t.val, std::move(*s));
      }
      default:
        backup();
        return nullptr;
    }
  }

  // Go's newNumber.
  NodePtr number(const Token& t) {
    auto n = std::make_unique<NumberNode>(t.pos, t.val);
    if (t.type == Tok::CharConstant) {
      const std::string_view body = std::string_view(t.val).substr(1);
      std::size_t i = 0;
      Rune r = 0;
      bool is_byte = false;
      if (body.empty() || body[0] == '\'') errorf("invalid syntax");
      if (body[0] == '\\') {
        if (!unquote_escape(body, i, '\'', r, is_byte)) errorf("invalid syntax");
      } else {
        bool valid = true;
        r = decode_rune(body, i, &valid);
        if (!valid) errorf("invalid syntax");
      }
      if (body.substr(i) != "'") errorf("malformed character constant: " + t.val);
      n->is_int = n->is_uint = n->is_float = true;
      n->int_value = r;
      n->uint_value = r;
      n->float_value = r;
      return n;
    }
    if (const auto u = parse_go_uint(t.val)) {
      n->is_uint = true;
      n->uint_value = *u;
    }
    if (const auto i = parse_go_int(t.val)) {
      n->is_int = true;
      n->int_value = *i;
      if (*i == 0) {
        n->is_uint = true;
        n->uint_value = 0;
      }
    }
    if (n->is_int) {
      n->is_float = true;
      n->float_value = static_cast<double>(n->int_value);
    } else if (n->is_uint) {
      n->is_float = true;
      n->float_value = static_cast<double>(n->uint_value);
    } else if (const auto f = parse_go_float(t.val)) {
      if (t.val.find_first_of(".eEpP") == std::string::npos) errorf("integer overflow: " + t.val);
      n->is_float = true;
      n->float_value = *f;
      if (std::trunc(*f) == *f && *f >= -0x1p63 && *f < 0x1p63) {
        n->is_int = true;
        n->int_value = static_cast<std::int64_t>(*f);
      }
      if (std::trunc(*f) == *f && *f >= 0 && *f < 0x1p64) {
        n->is_uint = true;
        n->uint_value = static_cast<std::uint64_t>(*f);
      }
    }
    if (!n->is_int && !n->is_uint && !n->is_float)
      errorf("illegal number syntax: " + go_quote(t.val));
    return n;
  }

  std::vector<Token> tokens_;
  std::size_t index_ = 0;
  std::size_t furthest_ = 0;
  std::vector<std::string> vars_{"$"};
  int range_depth_ = 0;
};

// -------------------------------------------------------------- executor

struct BreakSignal {};
struct ContinueSignal {};

// Upper-cased words of a field name: "CreatedAt" → "CREATED AT",
// "HTTPPort" → "HTTP PORT", "IPv6Address" → "IPV6 ADDRESS", "created_at" →
// "CREATED AT".
std::string header_from_field(std::string_view field) {
  const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  const auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (c == '_' || c == '-' || c == ' ' || c == '.') {
      if (!out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    if (upper(c) && i > 0) {
      const char prev = field[i - 1];
      bool boundary = lower(prev) || is_digit(prev);
      if (!boundary && upper(prev) && i + 1 < field.size() && lower(field[i + 1])) {
        // The end of an acronym of two or more capitals starts a new word.
        std::size_t run = 0;
        while (run < i && upper(field[i - 1 - run])) ++run;
        boundary = run >= 2;
      }
      if (boundary && !out.empty() && out.back() != ' ') out += ' ';
    }
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return map_runes(out, to_upper_rune);
}

class Executor {
 public:
  // header_overrides is non-null when rendering a table header.
  Executor(std::string_view text, std::string& out,
           const std::map<std::string, std::string>* header_overrides, const Methods& methods)
      : text_(text), out_(out), header_(header_overrides), methods_(methods) {}

  void execute(const ListNode& root, const Value& data) {
    vars_.emplace_back("$", data);
    row_ = data.valid() ? &data.get() : nullptr;
    walk(data, root);
  }

 private:
  using Args = std::span<const NodePtr>;

  [[noreturn]] void errorf(const std::string& message) const {
    if (at_ == nullptr) throw TemplateError("template: : " + message);
    const std::size_t pos = std::min(at_->pos, text_.size());
    const std::size_t nl = text_.substr(0, pos).rfind('\n');
    const std::size_t col = nl == std::string_view::npos ? pos : pos - nl - 1;
    throw TemplateError("template: :" + std::to_string(line_at(text_, pos)) + ":" +
                        std::to_string(col) + ": executing \"\" at <" + at_->str() +
                        ">: " + message);
  }

  void at(const Node& n) { at_ = &n; }

  std::string header_title(std::span<const std::string> idents) const {
    std::string path;
    for (const auto& id : idents) path += (path.empty() ? "" : ".") + id;
    if (const auto it = header_->find(path); it != header_->end()) return it->second;
    if (const auto it = header_->find(idents.back()); it != header_->end()) return it->second;
    return header_from_field(idents.back());
  }

  Value& var(const std::string& name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    errorf("undefined variable: " + name);
  }

  void walk(const Value& dot, const Node& node) {
    at(node);
    switch (node.type) {
      case NodeType::Action: {
        const auto& action = static_cast<const ActionNode&>(node);
        const Value v = eval_pipeline(dot, *action.pipe);
        if (action.pipe->decl.empty()) print_value(node, v);
        return;
      }
      case NodeType::If:
      case NodeType::With: {
        const auto& branch = static_cast<const BranchNode&>(node);
        const std::size_t mark = vars_.size();
        const Value v = eval_pipeline(dot, *branch.pipe);
        if (is_true(v)) {
          walk(node.type == NodeType::With ? v : dot, *branch.list);
        } else if (branch.else_list) {
          walk(dot, *branch.else_list);
        }
        vars_.resize(mark);
        return;
      }
      case NodeType::List:
        for (const auto& n : static_cast<const ListNode&>(node).nodes) walk(dot, *n);
        return;
      case NodeType::Range:
        walk_range(dot, static_cast<const BranchNode&>(node));
        return;
      case NodeType::Text:
        out_ += static_cast<const TextNode&>(node).text;
        return;
      case NodeType::Break:
        throw BreakSignal{};
      case NodeType::Continue:
        throw ContinueSignal{};
      default:
        errorf("unknown node: " + node.str());
    }
  }

  void walk_range(const Value& dot, const BranchNode& r) {
    at(r);
    const std::size_t outer_mark = vars_.size();
    const Value val = eval_pipeline(dot, *r.pipe);
    const std::size_t mark = vars_.size();
    const auto& decl = r.pipe->decl;
    const auto one_iteration = [&](const Value& index, const Value& elem) {
      if (!decl.empty()) {
        if (r.pipe->is_assign) {
          var(decl[0]->idents[0]) = decl.size() > 1 ? index : elem;
        } else {
          vars_[vars_.size() - 1].second = elem;
        }
      }
      if (decl.size() > 1) {
        if (r.pipe->is_assign) {
          var(decl[1]->idents[0]) = elem;
        } else {
          vars_[vars_.size() - 2].second = index;
        }
      }
      try {
        walk(elem, *r.list);
      } catch (const ContinueSignal&) {
      }
      vars_.resize(mark);
    };
    bool ran = false;
    try {
      if (!val.valid()) {
        // Like a nil map: nothing to iterate over, not an error.
      } else if (val.get().is_array()) {
        const json::array& a = val.get().get_array();
        for (std::size_t i = 0; i < a.size(); ++i) {
          ran = true;
          one_iteration(Value::of(json::value(static_cast<std::int64_t>(i))), val.child(a[i]));
        }
      } else if (val.get().is_object()) {
        for (const auto* kv : sorted_members(val.get().get_object())) {
          ran = true;
          one_iteration(Value::of(json::value(kv->key())), val.child(kv->value()));
        }
      } else if (val.get().is_int64() || val.get().is_uint64()) {
        if (decl.size() > 1)
          errorf("can't use " + sprint_value(val) + " to iterate over more than one variable");
        const std::int64_t n =
            val.get().is_int64() ? val.get().get_int64() : std::numeric_limits<std::int64_t>::max();
        for (std::int64_t i = 0; i < n; ++i) {
          ran = true;
          const Value iv = Value::of(json::value(i));
          one_iteration(iv, iv);
        }
      } else {
        errorf("range can't iterate over " + sprint_value(val));
      }
    } catch (const BreakSignal&) {
      ran = true;
    }
    vars_.resize(outer_mark);
    if (!ran && r.else_list) walk(dot, *r.else_list);
  }

  void print_value(const Node& node, const Value& v) {
    at(node);
    if (v.is_nil()) {
      out_ += "<no value>";
    } else {
      format_json(out_, v.get(), 'v', Spec{});
    }
  }

  Value eval_pipeline(const Value& dot, const PipeNode& pipe) {
    at(pipe);
    std::optional<Value> value;
    for (const auto& cmd : pipe.cmds) {
      Value v = eval_command(dot, *cmd, value ? &*value : nullptr);
      // Go digs the value out of its interface{}: a JSON null becomes the
      // invalid value, which prints as <no value>.
      if (v.valid() && v.get().is_null()) v = Value();
      value = std::move(v);
    }
    for (const auto& d : pipe.decl) {
      if (pipe.is_assign) {
        var(d->idents[0]) = *value;
      } else {
        vars_.emplace_back(d->idents[0], *value);
      }
    }
    return *value;
  }

  void not_a_function(Args args, const Value* final) {
    if (args.size() > 1 || final != nullptr) {
      errorf("can't give argument to non-function " +
             (args.empty() ? std::string() : args[0]->str()));
    }
  }

  Value eval_command(const Value& dot, const CommandNode& cmd, const Value* final) {
    const Node& first = *cmd.args[0];
    const Args args(cmd.args);
    switch (first.type) {
      case NodeType::Field:
        return eval_field_node(dot, static_cast<const FieldNode&>(first), args, final);
      case NodeType::Chain:
        return eval_chain_node(dot, static_cast<const ChainNode&>(first), args, final);
      case NodeType::Identifier:
        return eval_function(dot, static_cast<const IdentifierNode&>(first), args.subspan(1),
                             final);
      case NodeType::Pipe:
        not_a_function(args, final);
        return eval_pipeline(dot, static_cast<const PipeNode&>(first));
      case NodeType::Variable:
        return eval_variable_node(dot, static_cast<const VariableNode&>(first), args, final);
      default:
        break;
    }
    at(first);
    not_a_function(args, final);
    switch (first.type) {
      case NodeType::Bool:
        return bool_value(static_cast<const BoolNode&>(first).value);
      case NodeType::Dot:
        return dot;
      case NodeType::Nil:
        errorf("nil is not a command");
      case NodeType::Number:
        return ideal_constant(static_cast<const NumberNode&>(first));
      case NodeType::String:
        return Value::of_string(static_cast<const StringNode&>(first).text);
      default:
        errorf("can't evaluate command " + go_quote(first.str()));
    }
  }

  // A number whose type only its syntax tells: int, or float64 if written
  // with a decimal point or exponent.
  Value ideal_constant(const NumberNode& n) {
    at(n);
    const bool hex_int = n.text.size() > 2 && n.text[0] == '0' && (n.text[1] | 0x20) == 'x' &&
                         n.text.find_first_of("pP") == std::string::npos;
    const bool rune_int = !n.text.empty() && n.text[0] == '\'';
    if (n.is_float && !hex_int && !rune_int && n.text.find_first_of(".eEpP") != std::string::npos) {
      return Value::of(json::value(n.float_value));
    }
    if (n.is_int) return Value::of(json::value(n.int_value));
    errorf(n.text + " overflows int");
  }

  Value eval_field_node(const Value& dot, const FieldNode& field, Args args, const Value* final) {
    at(field);
    return eval_field_chain(dot, dot, field.idents, args, final);
  }

  Value eval_chain_node(const Value& dot, const ChainNode& chain, Args args, const Value* final) {
    at(chain);
    if (chain.node->type == NodeType::Nil)
      errorf("indirection through explicit nil in " + chain.str());
    const Value receiver = eval_arg(dot, Param::Any, *chain.node);
    return eval_field_chain(dot, receiver, chain.fields, args, final);
  }

  Value eval_variable_node(const Value& dot, const VariableNode& v, Args args, const Value* final) {
    at(v);
    const Value value = var(v.idents[0]);
    if (v.idents.size() == 1) {
      not_a_function(args, final);
      return value;
    }
    return eval_field_chain(dot, value, std::span<const std::string>(v.idents).subspan(1), args,
                            final);
  }

  Value eval_field_chain(const Value& dot, Value receiver, std::span<const std::string> idents,
                         Args args, const Value* final) {
    const bool has_args = args.size() > 1 || final != nullptr;
    if (header_ != nullptr && receiver.is_header_root()) {
      if (has_args) errorf(idents.back() + " is not a method but has arguments");
      return Value::of_string(header_title(idents));
    }
    for (std::size_t i = 0; i + 1 < idents.size(); ++i) {
      receiver = eval_field(idents[i], false, receiver);
    }
    if (receiver.valid() && &receiver.get() == row_) {
      if (const auto m = methods_.find(idents.back()); m != methods_.end()) {
        return eval_method(dot, receiver, idents.back(), m->second,
                           args.empty() ? args : args.subspan(1), final);
      }
    }
    return eval_field(idents.back(), has_args, receiver);
  }

  // A method of the row, its arguments evaluated on `dot`.
  Value eval_method(const Value& dot, const Value& row, const std::string& name,
                    const Method& method, Args args, const Value* final) {
    const std::size_t num_in = args.size() + (final != nullptr ? 1 : 0);
    if (num_in != method.nargs) {
      errorf("wrong number of args for " + name + ": want " + std::to_string(method.nargs) +
             " got " + std::to_string(num_in));
    }
    std::vector<std::string> argv;
    argv.reserve(num_in);
    const Node* node = at_;
    for (const auto& a : args) {
      argv.emplace_back(sv_of(eval_arg(dot, Param::String, *a)));
    }
    if (final != nullptr) argv.emplace_back(sv_of(validate(*final, Param::String)));
    at_ = node;
    return Value::of(method.call(row.get(), argv));
  }

  Value eval_field(const std::string& name, bool has_args, const Value& receiver) {
    if (!receiver.valid()) return Value();
    const json::value& v = receiver.get();
    if (v.is_null()) errorf("nil pointer evaluating interface {}." + name);
    if (!v.is_object()) errorf("can't evaluate field " + name + " in type " + go_type(v));
    if (has_args) errorf(name + " is not a method but has arguments");
    const json::value* found = v.get_object().if_contains(name);
    return found != nullptr ? receiver.child(*found) : Value();
  }

  Value eval_function(const Value& dot, const IdentifierNode& node, Args args, const Value* final) {
    at(node);
    const FuncSpec* f = find_function(node.name, header_ != nullptr);
    if (f == nullptr) errorf(go_quote(node.name) + " is not a defined function");
    return eval_call(dot, *f, node, args, final);
  }

  Value eval_call(const Value& dot, const FuncSpec& f, const Node& node, Args args,
                  const Value* final) {
    const std::string name(f.name);
    const std::size_t num_in = args.size() + (final != nullptr ? 1 : 0);
    if (f.variadic) {
      if (num_in < f.nparams - 1) {
        errorf("wrong number of args for " + name + ": want at least " +
               std::to_string(f.nparams - 1) + " got " + std::to_string(args.size()));
      }
    } else if (num_in != f.nparams) {
      errorf("wrong number of args for " + name + ": want " + std::to_string(f.nparams) + " got " +
             std::to_string(num_in));
    }
    const auto param = [&f](std::size_t i) { return f.params[std::min(i, f.nparams - 1)]; };
    if (f.special != Special::None) {
      // and/or evaluate their arguments only as far as needed.
      const bool is_or = f.special == Special::Or;
      Value v;
      for (const auto& a : args) {
        v = eval_arg(dot, Param::Any, *a);
        if (is_true(v) == is_or) return v;
      }
      if (final != nullptr) v = *final;
      return v;
    }
    std::vector<Value> argv;
    argv.reserve(num_in);
    for (std::size_t i = 0; i < args.size(); ++i) {
      argv.push_back(eval_arg(dot, param(i), *args[i]));
    }
    if (final != nullptr) argv.push_back(validate(*final, param(num_in - 1)));
    try {
      return f.fn(argv);
    } catch (const FuncError& e) {
      at(node);
      errorf("error calling " + name + ": " + e.message);
    }
  }

  Value validate(const Value& v, Param p) {
    if (p == Param::Any || (p == Param::List && v.is_nil())) return v;
    if (!v.valid()) errorf("invalid value; expected " + std::string(param_name(p)));
    const json::value& j = v.get();
    if (p == Param::String && j.is_string()) return v;
    if (p == Param::Int && j.is_int64()) return v;
    if (p == Param::List && j.is_array()) return v;
    errorf("wrong type for value; expected " + std::string(param_name(p)) + "; got " + go_type(j));
  }

  Value eval_arg(const Value& dot, Param p, const Node& n) {
    at(n);
    switch (n.type) {
      case NodeType::Dot:
        return validate(dot, p);
      case NodeType::Nil:
        if (p == Param::Any) return Value::of(json::value(nullptr));
        errorf("cannot assign nil to " + std::string(param_name(p)));
      case NodeType::Field:
        return validate(eval_field_node(dot, static_cast<const FieldNode&>(n), {}, nullptr), p);
      case NodeType::Variable:
        return validate(eval_variable_node(dot, static_cast<const VariableNode&>(n), {}, nullptr),
                        p);
      case NodeType::Pipe:
        return validate(eval_pipeline(dot, static_cast<const PipeNode&>(n)), p);
      case NodeType::Identifier:
        return validate(eval_function(dot, static_cast<const IdentifierNode&>(n), {}, nullptr), p);
      case NodeType::Chain:
        return validate(eval_chain_node(dot, static_cast<const ChainNode&>(n), {}, nullptr), p);
      default:
        break;
    }
    switch (p) {
      case Param::String:
        if (n.type == NodeType::String)
          return Value::of_string(static_cast<const StringNode&>(n).text);
        errorf("expected string; found " + n.str());
      case Param::Int:
        if (n.type == NodeType::Number && static_cast<const NumberNode&>(n).is_int) {
          return Value::of(json::value(static_cast<const NumberNode&>(n).int_value));
        }
        errorf("expected integer; found " + n.str());
      case Param::List:
        errorf("can't handle " + n.str() + " for arg of type []string");
      case Param::Any:
        break;
    }
    switch (n.type) {
      case NodeType::Bool:
        return bool_value(static_cast<const BoolNode&>(n).value);
      case NodeType::Number:
        return ideal_constant(static_cast<const NumberNode&>(n));
      case NodeType::String:
        return Value::of_string(static_cast<const StringNode&>(n).text);
      default:
        errorf("can't handle " + n.str() + " for arg of type interface {}");
    }
  }

  std::string_view text_;
  std::string& out_;
  const std::map<std::string, std::string>* header_;
  const Methods& methods_;
  const json::value* row_ = nullptr;
  const Node* at_ = nullptr;
  std::vector<std::pair<std::string, Value>> vars_;
};

// ------------------------------------------------------------- tabwriter

// Docker's fork of Go's text/tabwriter with padchar ' ' and no flags:
// tab-terminated cells in consecutive lines form a column as wide as its
// widest cell plus padding (at least minwidth); the last cell of a line is
// not part of a column and is written as is.
class TabWriter {
 public:
  TabWriter(int minwidth, int padding) : minwidth_(minwidth), padding_(padding) { reset(); }

  void write(std::string_view text) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char ch = text[i];
      if (ch != '\t' && ch != '\v' && ch != '\n' && ch != '\f') continue;
      append(text.substr(n, i - n));
      n = i + 1;
      const std::size_t ncells = terminate_cell(ch == '\t');
      if (ch == '\n' || ch == '\f') {
        lines_.emplace_back();
        // A line of one cell cannot affect later alignment: flush.
        if (ch == '\f' || ncells == 1) flush();
      }
    }
    append(text.substr(n));
  }

  std::string finish() {
    flush();
    return std::move(out_);
  }

 private:
  struct Cell {
    std::size_t size = 0;
    int width = 0;
    bool htab = false;
  };

  void reset() {
    buf_.clear();
    cell_ = Cell{};
    lines_.assign(1, {});
    widths_.clear();
  }

  void append(std::string_view s) {
    buf_ += s;
    cell_.size += s.size();
  }

  std::size_t terminate_cell(bool htab) {
    cell_.htab = htab;
    cell_.width = display_width(std::string_view(buf_).substr(buf_.size() - cell_.size));
    lines_.back().push_back(cell_);
    cell_ = Cell{};
    return lines_.back().size();
  }

  void flush() {
    if (cell_.size > 0) terminate_cell(false);
    std::size_t pos = 0;
    format(pos, 0, lines_.size());
    reset();
  }

  void write_padding(int textw, int cellw) {
    if (cellw > textw) out_.append(static_cast<std::size_t>(cellw - textw), ' ');
  }

  void write_lines(std::size_t& pos, std::size_t line0, std::size_t line1) {
    for (std::size_t i = line0; i < line1; ++i) {
      const auto& line = lines_[i];
      for (std::size_t j = 0; j < line.size(); ++j) {
        const Cell& c = line[j];
        if (c.size > 0) {
          out_.append(buf_, pos, c.size);
          pos += c.size;
        }
        if (j < widths_.size()) write_padding(c.width, widths_[j]);
      }
      if (i + 1 == lines_.size()) {
        out_.append(buf_, pos, cell_.size);
        pos += cell_.size;
      } else {
        out_ += '\n';
      }
    }
  }

  void format(std::size_t& pos, std::size_t line0, std::size_t line1) {
    const std::size_t column = widths_.size();
    for (std::size_t current = line0; current < line1; ++current) {
      if (column + 1 >= lines_[current].size()) continue;
      // A cell in this column starts a block of lines that all have one.
      write_lines(pos, line0, current);
      line0 = current;
      int width = minwidth_;
      for (; current < line1; ++current) {
        const auto& line = lines_[current];
        if (column + 1 >= line.size()) break;
        width = std::max(width, line[column].width + padding_);
      }
      widths_.push_back(width);
      format(pos, line0, current);
      widths_.pop_back();
      line0 = current;
      if (current >= line1) break;
    }
    write_lines(pos, line0, line1);
  }

  int minwidth_;
  int padding_;
  std::string buf_;
  Cell cell_;
  std::vector<std::vector<Cell>> lines_;
  std::vector<int> widths_;
  std::string out_;
};

// Docker: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0).
constexpr int kTableMinWidth = 10;
constexpr int kTablePadding = 3;

}  // namespace

Template::Template(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Template Template::parse(std::string_view text) {
  auto impl = std::make_shared<Impl>();
  std::string_view body = text;
  if (text.starts_with("table")) {
    impl->table = true;
    body.remove_prefix(5);
  } else if (text == "json") {
    impl->json = true;
    body = "{{json .}}";
  }
  while (!body.empty() && body.front() == ' ') body.remove_prefix(1);
  while (!body.empty() && body.back() == ' ') body.remove_suffix(1);
  std::string prepared;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size() && (body[i + 1] == 't' || body[i + 1] == 'n')) {
      prepared += body[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      prepared += body[i];
    }
  }
  impl->default_table = impl->table && prepared.empty();
  impl->text = std::move(prepared);
  impl->root = Parser(Lexer(impl->text).run()).parse();
  return Template(std::move(impl));
}

bool Template::is_json() const { return impl_->json; }
bool Template::is_table() const { return impl_->table; }
bool Template::is_default_table() const { return impl_->default_table; }

std::string Template::render(const boost::json::value& row, const Methods& methods) const {
  std::string out;
  Executor(impl_->text, out, nullptr, methods).execute(*impl_->root, Value::borrow(row));
  return out;
}

std::string Template::render_all(const std::vector<boost::json::value>& rows,
                                 const std::map<std::string, std::string>& header_overrides,
                                 const Methods& methods) const {
  std::string body;
  if (impl_->table) {
    try {
      Executor(impl_->text, body, &header_overrides, methods)
          .execute(*impl_->root, Value::header_root());
    } catch (const TemplateError&) {
      // Docker ignores header errors too; the header is just cut short.
    }
    body += '\n';
  }
  for (const auto& row : rows) {
    body += render(row, methods);
    body += '\n';
  }
  if (!impl_->table) return body;
  TabWriter tw(kTableMinWidth, kTablePadding);
  tw.write(body);
  return tw.finish();
}

}  // namespace berth::cli::format
