#include "gateway/response/json_reader.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "simdjson.h"

namespace usergateway {
namespace json_reader {
namespace {

namespace ondemand = ::simdjson::ondemand;

void AppendPath(const PathNode* node, std::string* out) {
  if (node == nullptr) return;
  AppendPath(node->parent, out);  // depth is at most 4 known levels
  if (node->key.empty()) {
    absl::StrAppend(out, "[", node->index, "]");
  } else {
    if (!out->empty()) out->push_back('.');
    absl::StrAppend(out, node->key);
  }
}

bool IsJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Why simdjson refused a token that starts like a number as an int64.
enum class NumberKind { kInteger, kNonInteger, kInvalid };

// Classifies `token` (raw JSON, maybe followed by whitespace) by the JSON
// number grammar. Only called on the error path.
NumberKind ClassifyNumber(std::string_view token) {
  while (!token.empty() && IsJsonSpace(token.back())) token.remove_suffix(1);
  size_t i = 0;
  const size_t n = token.size();
  if (i < n && token[i] == '-') ++i;
  if (i == n || !IsDigit(token[i])) return NumberKind::kInvalid;
  if (token[i] == '0') {
    ++i;
  } else {
    while (i < n && IsDigit(token[i])) ++i;
  }
  bool integer = true;
  if (i < n && token[i] == '.') {
    ++i;
    if (i == n || !IsDigit(token[i])) return NumberKind::kInvalid;
    while (i < n && IsDigit(token[i])) ++i;
    integer = false;
  }
  if (i < n && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < n && (token[i] == '+' || token[i] == '-')) ++i;
    if (i == n || !IsDigit(token[i])) return NumberKind::kInvalid;
    while (i < n && IsDigit(token[i])) ++i;
    integer = false;
  }
  if (i != n) return NumberKind::kInvalid;
  return integer ? NumberKind::kInteger : NumberKind::kNonInteger;
}

}  // namespace

absl::Status PathError(const PathNode& path, absl::string_view problem) {
  std::string message;
  AppendPath(&path, &message);
  absl::StrAppend(&message, ": ", problem);
  return absl::InvalidArgumentError(message);
}

// A fixed description of a simdjson error; never contains input bytes.
absl::string_view Describe(simdjson::error_code error) {
  switch (error) {
    case simdjson::TAPE_ERROR:
      return "unexpected character or structure (missing or extra comma, "
             "colon, brace or bracket)";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "the document ends inside an object or array";
    case simdjson::STRING_ERROR:
      return "invalid string escape or unpaired UTF-16 surrogate";
    case simdjson::UNCLOSED_STRING:
      return "unclosed string";
    case simdjson::UNESCAPED_CHARS:
      return "unescaped control character in a string";
    case simdjson::UTF8_ERROR:
      return "not valid UTF-8";
    case simdjson::NUMBER_ERROR:
      return "invalid number";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid literal";
    case simdjson::DEPTH_ERROR:
      return "nested too deeply";
    default:
      return simdjson::error_message(error);
  }
}

// The body is not well-formed JSON. `path` is the innermost known value
// being read when simdjson noticed, or null at the top level.
absl::Status Malformed(const PathNode* path, absl::string_view detail) {
  if (path == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("body is not valid JSON: ", detail));
  }
  return PathError(*path, absl::StrCat("not valid JSON (", detail, ")"));
}

absl::Status Malformed(const PathNode* path, simdjson::error_code error) {
  if (error == simdjson::MEMALLOC) {
    return absl::ResourceExhaustedError("out of memory while parsing the body");
  }
  return Malformed(path, Describe(error));
}

absl::string_view TypeName(ondemand::json_type type) {
  switch (type) {
    case ondemand::json_type::object:
      return "an object";
    case ondemand::json_type::array:
      return "an array";
    case ondemand::json_type::string:
      return "a string";
    case ondemand::json_type::number:
      return "a number";
    case ondemand::json_type::boolean:
      return "a boolean";
    case ondemand::json_type::null:
      return "null";
  }
  return "an unknown value";
}

absl::Status WrongType(const PathNode& path, absl::string_view expected,
                       ondemand::json_type got) {
  return PathError(
      path, absl::StrCat("expected ", expected, ", got ", TypeName(got)));
}

bool HasTrailingContent(absl::string_view body) {
  size_t i = 0;
  while (i < body.size() && IsJsonSpace(body[i])) ++i;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) {
        ++i;
        break;
      }
    }
  }
  if (depth > 0 || in_string) return false;
  for (; i < body.size(); ++i) {
    if (!IsJsonSpace(body[i])) return true;
  }
  return false;
}

// Reads the JSON type of `value` without consuming it.
absl::Status ReadType(ondemand::value& value, const PathNode& path,
                      ondemand::json_type* type) {
  if (simdjson::error_code error = value.type().get(*type)) {
    return Malformed(&path, error);
  }
  return absl::OkStatus();
}

// Consumes a value whose type() said null, checking that it is `null`
// exactly (type() looks at the first byte only).
absl::Status ConsumeNull(ondemand::value& value, const PathNode& path) {
  bool is_null = false;
  if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) {
    return Malformed(&path, "invalid literal");
  }
  return absl::OkStatus();
}

// Reads a string or null. On OK, `*present` says whether it was a string,
// and `*text` (pointing into the parser's buffer, valid until the next
// string is read) holds it unescaped.
absl::Status ReadStringView(ondemand::value& value, const PathNode& path,
                            bool* present, std::string_view* text) {
  ondemand::json_type type;
  if (absl::Status s = ReadType(value, path, &type); !s.ok()) return s;
  if (type == ondemand::json_type::null) {
    *present = false;
    return ConsumeNull(value, path);
  }
  if (type != ondemand::json_type::string) {
    return WrongType(path, "a string", type);
  }
  if (simdjson::error_code error = value.get_string().get(*text)) {
    if (error == simdjson::STRING_ERROR) {
      return PathError(path,
                       "invalid string escape or unpaired UTF-16 surrogate");
    }
    return Malformed(&path, error);
  }
  *present = true;
  return absl::OkStatus();
}

absl::Status ReadInt64Value(ondemand::value& value, const PathNode& path,
                            bool* present, int64_t* number) {
  ondemand::json_type type;
  if (absl::Status s = ReadType(value, path, &type); !s.ok()) return s;
  if (type == ondemand::json_type::null) {
    *present = false;
    return ConsumeNull(value, path);
  }
  if (type != ondemand::json_type::number) {
    return WrongType(path, "an integer", type);
  }
  simdjson::error_code error = value.get_int64().get(*number);
  if (error == simdjson::SUCCESS) {
    *present = true;
    return absl::OkStatus();
  }
  if (error != simdjson::INCORRECT_TYPE) return Malformed(&path, error);
  // simdjson says INCORRECT_TYPE for fractions, exponents, out-of-range
  // integers and some malformed numbers alike; the token tells them apart.
  switch (ClassifyNumber(value.raw_json_token())) {
    case NumberKind::kInteger:
      return PathError(path, "integer out of range");
    case NumberKind::kNonInteger:
      return PathError(path,
                       "expected an integer, got a number with a fraction or "
                       "exponent");
    case NumberKind::kInvalid:
      break;
  }
  return Malformed(&path, "invalid number");
}

absl::Status ReadBoolValue(ondemand::value& value, const PathNode& path,
                           bool* present, bool* flag) {
  ondemand::json_type type;
  if (absl::Status s = ReadType(value, path, &type); !s.ok()) return s;
  if (type == ondemand::json_type::null) {
    *present = false;
    return ConsumeNull(value, path);
  }
  if (type != ondemand::json_type::boolean) {
    return WrongType(path, "a boolean", type);
  }
  if (value.get_bool().get(*flag) != simdjson::SUCCESS) {
    return Malformed(&path, "invalid literal");
  }
  *present = true;
  return absl::OkStatus();
}

}  // namespace json_reader
}  // namespace usergateway
