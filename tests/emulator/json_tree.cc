#include "tests/emulator/json_tree.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace usergateway {
namespace testing {
namespace {

namespace ondemand = simdjson::ondemand;

absl::Status JsonError(simdjson::error_code error) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON: ", simdjson::error_message(error)));
}

std::string_view TrimTrailingSpace(std::string_view token) {
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' ||
          token.back() == '\n' || token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}

// document::raw_json_token() returns a result, value::raw_json_token() a
// plain view; these two overloads let ParseAny() treat both alike.
simdjson::error_code RawToken(ondemand::document& doc, std::string_view* out) {
  return doc.raw_json_token().get(*out);
}
simdjson::error_code RawToken(ondemand::value& value, std::string_view* out) {
  *out = value.raw_json_token();
  return simdjson::SUCCESS;
}

// Reads the value `node` (a document or a value) into `out`. Works for both
// because they share the on-demand accessors.
template <typename Node>
simdjson::error_code ParseAny(Node& node, int depth, JsonValue* out) {
  if (depth > kMaxJsonDepth) return simdjson::DEPTH_ERROR;
  ondemand::json_type type;
  if (auto error = node.type().get(type)) return error;
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object object;
      if (auto error = node.get_object().get(object)) return error;
      std::vector<JsonMember> members;
      for (auto field_result : object) {
        ondemand::field field;
        if (auto error = std::move(field_result).get(field)) return error;
        std::string_view key;
        if (auto error = field.unescaped_key().get(key)) return error;
        JsonMember member;
        member.key = std::string(key);
        if (auto error = ParseAny(field.value(), depth + 1, &member.value)) {
          return error;
        }
        members.push_back(std::move(member));
      }
      *out = JsonValue::Object(std::move(members));
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::array: {
      ondemand::array array;
      if (auto error = node.get_array().get(array)) return error;
      std::vector<JsonValue> items;
      for (auto item_result : array) {
        ondemand::value item;
        if (auto error = std::move(item_result).get(item)) return error;
        JsonValue parsed;
        if (auto error = ParseAny(item, depth + 1, &parsed)) return error;
        items.push_back(std::move(parsed));
      }
      *out = JsonValue::Array(std::move(items));
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::string: {
      std::string_view value;
      if (auto error = node.get_string().get(value)) return error;
      *out = JsonValue::String(std::string(value));
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::number: {
      // Read the raw text first: get_number() consumes the token.
      std::string_view token;
      if (auto error = RawToken(node, &token)) return error;
      std::string text(TrimTrailingSpace(token));
      ondemand::number number;
      if (auto error = node.get_number().get(number)) return error;
      *out = JsonValue::Number(std::move(text));
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::boolean: {
      bool value = false;
      if (auto error = node.get_bool().get(value)) return error;
      *out = JsonValue::Bool(value);
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      if (auto error = node.is_null().get(is_null)) return error;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      *out = JsonValue::Null();
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// Decodes one UTF-8 sequence at `s[*i]`. Returns its code point and
// advances `*i`, or returns -1 (advancing one byte) when the bytes are not
// well-formed UTF-8 (overlongs, surrogates and values past U+10FFFF
// included).
int32_t DecodeUtf8(absl::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = byte(*i);
  int length = 0;
  int32_t code = 0;
  int32_t min = 0;
  if (lead < 0x80) {
    ++*i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, code = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code = lead & 0x07, min = 0x10000;
  } else {
    ++*i;
    return -1;
  }
  if (*i + length > s.size()) {
    ++*i;
    return -1;
  }
  for (int k = 1; k < length; ++k) {
    const uint8_t next = byte(*i + k);
    if ((next & 0xC0) != 0x80) {
      ++*i;
      return -1;
    }
    code = (code << 6) | (next & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    ++*i;
    return -1;
  }
  *i += length;
  return code;
}

}  // namespace

JsonValue JsonValue::Bool(bool value) {
  JsonValue v;
  v.type_ = Type::kBool;
  v.bool_ = value;
  return v;
}

JsonValue JsonValue::Number(std::string text) {
  JsonValue v;
  v.type_ = Type::kNumber;
  v.text_ = std::move(text);
  return v;
}

JsonValue JsonValue::Integer(long long value) {
  return Number(std::to_string(value));
}

JsonValue JsonValue::String(std::string value) {
  JsonValue v;
  v.type_ = Type::kString;
  v.text_ = std::move(value);
  return v;
}

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.type_ = Type::kArray;
  v.items_ = std::move(items);
  return v;
}

JsonValue JsonValue::Object(std::vector<JsonMember> members) {
  JsonValue v;
  v.type_ = Type::kObject;
  v.members_ = std::move(members);
  return v;
}

const JsonValue* JsonValue::Find(absl::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

JsonValue* JsonValue::FindMutable(absl::string_view key) {
  return const_cast<JsonValue*>(
      static_cast<const JsonValue*>(this)->Find(key));
}

void JsonValue::Set(absl::string_view key, JsonValue value) {
  if (type_ != Type::kObject) *this = Object();
  if (JsonValue* existing = FindMutable(key)) {
    *existing = std::move(value);
    return;
  }
  members_.push_back(JsonMember{std::string(key), std::move(value)});
}

std::string JsonValue::Serialize() const {
  std::string out;
  SerializeTo(&out);
  return out;
}

void JsonValue::SerializeTo(std::string* out) const {
  switch (type_) {
    case Type::kNull:
      out->append("null");
      return;
    case Type::kBool:
      out->append(bool_ ? "true" : "false");
      return;
    case Type::kNumber:
      out->append(text_);
      return;
    case Type::kString:
      AppendJsonString(text_, out);
      return;
    case Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const JsonValue& item : items_) {
        if (!first) out->push_back(',');
        first = false;
        item.SerializeTo(out);
      }
      out->push_back(']');
      return;
    }
    case Type::kObject: {
      out->push_back('{');
      bool first = true;
      for (const JsonMember& member : members_) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(member.key, out);
        out->push_back(':');
        member.value.SerializeTo(out);
      }
      out->push_back('}');
      return;
    }
  }
}

absl::string_view JsonValue::PythonTypeName() const {
  switch (type_) {
    case Type::kNull:
      return "NoneType";
    case Type::kBool:
      return "bool";
    case Type::kNumber:
      return text_.find_first_of(".eE") == std::string::npos ? "int"
                                                             : "float";
    case Type::kString:
      return "str";
    case Type::kArray:
      return "list";
    case Type::kObject:
      return "dict";
  }
  return "object";
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view json) {
  // One parser per call: the emulator parses small bodies on many threads,
  // and a parser is not thread-safe.
  ondemand::parser parser;
  simdjson::padded_string padded(json.data(), json.size());
  ondemand::document doc;
  if (auto error = parser.iterate(padded).get(doc)) return JsonError(error);
  JsonValue value;
  if (auto error = ParseAny(doc, 0, &value)) return JsonError(error);
  // After a full traversal the document is out of bounds unless something
  // follows the value (scalars check this themselves).
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return JsonError(simdjson::TRAILING_CONTENT);
  }
  return value;
}

void AppendJsonString(absl::string_view value, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < value.size()) {
    const size_t start = i;
    const int32_t code = DecodeUtf8(value, &i);
    switch (code) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case 0x2028:
        // DRF escapes these two: they end a line in JavaScript.
        out->append("\\u2028");
        break;
      case 0x2029:
        out->append("\\u2029");
        break;
      case -1:
        out->append("\\ufffd");
        break;
      default:
        if (code < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[code >> 4]);
          out->push_back(kHex[code & 0xF]);
        } else {
          out->append(value.data() + start, i - start);
        }
    }
  }
  out->push_back('"');
}

std::string JsonString(absl::string_view value) {
  std::string out;
  AppendJsonString(value, &out);
  return out;
}

}  // namespace testing
}  // namespace usergateway
