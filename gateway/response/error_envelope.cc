#include "gateway/response/error_envelope.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/common/field_violation.h"
#include "simdjson.h"

namespace usergateway {
namespace {

namespace ondemand = simdjson::ondemand;

// Every helper below returns false only when the document itself is broken
// (truncated, invalid); a value of an unexpected type is skipped.

// Reads a string value, or a non-string scalar as nothing.
std::optional<std::string> ReadString(ondemand::value& value) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  return std::string(text);
}

// Reads an integer value, or a string of digits ("400").
std::optional<int64_t> ReadInt(ondemand::value& value) {
  ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return std::nullopt;
  if (type == ondemand::json_type::number) {
    int64_t n = 0;
    if (value.get_int64().get(n) != simdjson::SUCCESS) return std::nullopt;
    return n;
  }
  if (type == ondemand::json_type::string) {
    std::optional<std::string> text = ReadString(value);
    int64_t n = 0;
    if (text.has_value() && !text->empty() &&
        absl::ascii_isdigit(static_cast<unsigned char>(text->front())) &&
        absl::SimpleAtoi(*text, &n)) {
      return n;
    }
  }
  return std::nullopt;
}

// From an object like {"message": "..."} or {"detail": "..."}, the first
// such string. Sets *ok to false on a broken document.
std::optional<std::string> ReadObjectMessage(ondemand::value& value,
                                             bool* ok) {
  ondemand::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  std::optional<std::string> found;
  for (auto field_result : object) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      *ok = false;
      return std::nullopt;
    }
    if (!found.has_value() && (key == "message" || key == "detail")) {
      found = ReadString(field.value());
    }
  }
  return found;
}

// A string, or an object with a message: one `errors` entry.
bool AddErrorEntry(ondemand::value& value, std::vector<std::string>* out) {
  ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  std::optional<std::string> text;
  bool ok = true;
  if (type == ondemand::json_type::string) {
    text = ReadString(value);
  } else if (type == ondemand::json_type::object) {
    text = ReadObjectMessage(value, &ok);
  }
  if (text.has_value() && out->size() < kMaxEnvelopeEntries) {
    out->push_back(std::move(*text));
  }
  return ok;
}

// "errors"/"non_field_errors": an array of entries, or one string.
bool AddErrorList(ondemand::value& value, std::vector<std::string>* out) {
  ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  if (type != ondemand::json_type::array) return AddErrorEntry(value, out);
  ondemand::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) return false;
  for (auto element_result : array) {
    ondemand::value element;
    if (std::move(element_result).get(element) != simdjson::SUCCESS) {
      return false;
    }
    if (!AddErrorEntry(element, out)) return false;
  }
  return true;
}

constexpr int kMaxFieldErrorDepth = 3;

// DRF validation errors: `path` is an array of strings (one violation
// each) or an object of such arrays (nested serializer).
bool AddFieldErrors(ondemand::value& value, const std::string& path,
                    int depth, std::vector<FieldViolation>* out) {
  ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  if (type == ondemand::json_type::array) {
    ondemand::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) return false;
    for (auto element_result : array) {
      ondemand::value element;
      if (std::move(element_result).get(element) != simdjson::SUCCESS) {
      return false;
    }
      ondemand::json_type element_type;
      if (element.type().get(element_type) != simdjson::SUCCESS) return false;
      if (element_type != ondemand::json_type::string) continue;
      std::optional<std::string> text = ReadString(element);
      if (text.has_value() && out->size() < kMaxEnvelopeEntries) {
        out->push_back(FieldViolation{path, std::move(*text)});
      }
    }
    return true;
  }
  if (type == ondemand::json_type::object && depth < kMaxFieldErrorDepth) {
    ondemand::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) return false;
    for (auto field_result : object) {
      ondemand::field field;
      std::string_view key;
      if (std::move(field_result).get(field) != simdjson::SUCCESS ||
          field.unescaped_key().get(key) != simdjson::SUCCESS) {
        return false;
      }
      const std::string child =
          absl::StrCat(path, ".", absl::string_view(key.data(), key.size()));
      if (!AddFieldErrors(field.value(), child, depth + 1, out)) return false;
    }
  }
  return true;
}

bool ParseEnvelopeFields(ondemand::object& object, ErrorEnvelope* env) {
  for (auto field_result : object) {
    ondemand::field field;
    std::string_view key_view;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key_view) != simdjson::SUCCESS) {
      return false;
    }
    const std::string key(key_view);
    ondemand::value& value = field.value();
    bool ok = true;
    if (key == "status") {
      env->status = ReadInt(value);
    } else if (key == "code") {
      env->code = ReadInt(value);
    } else if (key == "message") {
      env->message = ReadString(value);
    } else if (key == "detail") {
      env->detail = ReadString(value);
    } else if (key == "error") {
      // Usually a string; some APIs nest {"error": {"message": "..."}}.
      ondemand::json_type type;
      if (value.type().get(type) != simdjson::SUCCESS) return false;
      env->error = type == ondemand::json_type::object
                       ? ReadObjectMessage(value, &ok)
                       : ReadString(value);
    } else if (key == "errors" || key == "non_field_errors") {
      ok = AddErrorList(value, &env->errors);
    } else {
      ok = AddFieldErrors(value, key, 1, &env->field_errors);
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace

ErrorEnvelope ParseErrorEnvelope(absl::string_view body) {
  ErrorEnvelope env;
  // Cheap rejection of HTML and other non-object bodies before copying.
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(body);
  if (trimmed.empty() || trimmed.front() != '{') return env;

  const simdjson::padded_string padded(body.data(), body.size());
  ondemand::parser parser;
  ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return env;
  ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return env;
  if (!ParseEnvelopeFields(object, &env)) return ErrorEnvelope();
  // Content after the object ("{...} junk") means this is not the JSON we
  // think it is. current_location() is out of bounds exactly at the end.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return ErrorEnvelope();
  }
  env.is_json = true;
  return env;
}

}  // namespace usergateway
