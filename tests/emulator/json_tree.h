// A small JSON document model for the upstream emulator: parse a document
// (simdjson on-demand, exceptions off), edit it, and write it back the way the
// real API (Django REST Framework's JSONRenderer) renders JSON.
//
// The emulator keeps its users as JsonValue trees so that the 200 response is
// the fixture object re-emitted: member order and the source text of numbers
// are preserved, strings are re-escaped exactly.
//
// Example:
//
//   absl::StatusOr<JsonValue> user = ParseJson(R"({"first_name":"Ada"})");
//   if (!user.ok()) return user.status();
//   user->Set("first_name", JsonValue::String("Grace"));
//   std::string body = user->Serialize();  // {"first_name":"Grace"}
#ifndef USERGATEWAY_TESTS_EMULATOR_JSON_TREE_H_
#define USERGATEWAY_TESTS_EMULATOR_JSON_TREE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace usergateway {
namespace testing {

struct JsonMember;

// One JSON value. A plain value type: copyable, not thread-safe to mutate
// concurrently (the emulator guards its trees with its own mutex).
class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  // A null value.
  JsonValue() = default;

  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool value);
  // `text` is the number's JSON text (e.g. "42", "-1.5e3"); the caller
  // guarantees it is a valid JSON number. Kept verbatim so that large
  // integers survive a round trip.
  static JsonValue Number(std::string text);
  static JsonValue Integer(long long value);
  static JsonValue String(std::string value);
  static JsonValue Array(std::vector<JsonValue> items = {});
  static JsonValue Object(std::vector<JsonMember> members = {});

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }

  // The boolean; false unless type() is kBool.
  bool bool_value() const { return bool_; }
  // A string's unescaped value, or a number's JSON text; empty otherwise.
  const std::string& text() const { return text_; }
  // An array's items; empty unless type() is kArray.
  const std::vector<JsonValue>& items() const { return items_; }
  std::vector<JsonValue>& mutable_items() { return items_; }
  // An object's members in document order (duplicates kept); empty unless
  // type() is kObject.
  const std::vector<JsonMember>& members() const { return members_; }
  std::vector<JsonMember>& mutable_members() { return members_; }

  // Returns the value of the last member named `key` (JSON parsers, Python's
  // included, let the last duplicate win), or nullptr when this is not an
  // object or has no such member.
  const JsonValue* Find(absl::string_view key) const;
  JsonValue* FindMutable(absl::string_view key);

  // Replaces the value of the last member named `key`, or appends a member.
  // Turns a non-object into an empty object first.
  void Set(absl::string_view key, JsonValue value);

  // Returns compact JSON as DRF renders it: separators "," and ":", UTF-8
  // kept as is, U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
  std::string Serialize() const;
  void SerializeTo(std::string* out) const;

  // A Python-style type name for DRF's "Expected a dictionary, but got X."
  // message: "dict", "list", "str", "int", "float", "bool" or "NoneType".
  absl::string_view PythonTypeName() const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<JsonMember> members_;
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// The deepest nesting ParseJson accepts; deeper documents are rejected so
// that a hostile body cannot exhaust the stack.
inline constexpr int kMaxJsonDepth = 64;

// Parses one complete JSON document (RFC 8259; surrounding whitespace
// allowed). Returns InvalidArgument with simdjson's error text when `json`
// is not valid JSON, has trailing content, nests deeper than kMaxJsonDepth
// or holds a number simdjson cannot represent.
absl::StatusOr<JsonValue> ParseJson(absl::string_view json);

// Appends `value` as a JSON string literal (quotes included), escaped as
// JsonValue::Serialize escapes strings.
void AppendJsonString(absl::string_view value, std::string* out);

// Returns `value` as a JSON string literal.
std::string JsonString(absl::string_view value);

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_EMULATOR_JSON_TREE_H_
