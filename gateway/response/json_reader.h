// Strict reading of JSON values with simdjson's on-demand API, for schema
// parsers such as ResponseParser: every read checks the JSON type, and every
// failure is an absl::Status naming the JSON path of the value ("profile.
// groups[1].device_count: expected an integer, got a string") without ever
// quoting input bytes, since bodies hold secret tokens.
//
// The building blocks:
//   - PathNode: the path of the value being read, kept on the stack.
//   - ReadString / ReadInt64 / ReadBool / ReadMessage: read one value into
//     a protobuf field through its generated accessors; `null` clears it.
//   - ForEachField: visits an object's fields; unvisited values are skipped.
//   - ReadType, ConsumeNull, ReadStringView, ReadInt64Value, ReadBoolValue:
//     the typed reads underneath, for fields with special handling.
//   - Malformed, WrongType, PathError, TypeName, HasTrailingContent: error
//     statuses and the texts they are made of.
//
// Example (one object with one integer field):
//
//   absl::Status ParseGroup(simdjson::ondemand::object& object,
//                           const json_reader::PathNode& path, Group* group) {
//     return json_reader::ForEachField(
//         object, &path,
//         [group](absl::string_view key, simdjson::ondemand::value& value,
//                 const json_reader::PathNode& at) -> absl::Status {
//           if (key == "device_count") {
//             return json_reader::ReadInt64(value, at, group,
//                                           &Group::set_device_count,
//                                           &Group::clear_device_count);
//           }
//           return absl::OkStatus();
//         });
//   }
//
// Statuses: kInvalidArgument for a document that is not valid JSON or a
// value of the wrong type or range; kResourceExhausted when simdjson runs
// out of memory (MEMALLOC). Messages name known paths, JSON type names and
// fixed texts only.
//
// Thread-safety: the functions keep no state of their own. The simdjson
// values they read belong to one ondemand::parser, which only one thread may
// use at a time; the returned statuses own their messages.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_JSON_READER_H_
#define USERGATEWAY_GATEWAY_RESPONSE_JSON_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "simdjson.h"

namespace usergateway {
namespace json_reader {

// One step of the JSON path of the value being read. Nodes live on the
// stack of the parse functions, so the happy path builds no strings; the
// path is rendered only into an error message. Only known keys should
// become nodes, so that a path never carries text chosen by the input.
struct PathNode {
  const PathNode* parent;  // null for a top-level key
  absl::string_view key;   // empty for an array element
  size_t index;            // the element's index when `key` is empty
};

// ---------------------------------------------------------------------------
// Error statuses. All return kInvalidArgument unless said otherwise.

// "<path>: <problem>", e.g. "profile.groups[1]: expected an object, got
// null".
absl::Status PathError(const PathNode& path, absl::string_view problem);

// A fixed description of a simdjson error; never contains input bytes.
absl::string_view Describe(simdjson::error_code error);

// The document is not well-formed JSON. `path` is the innermost known value
// being read when simdjson noticed, or null at the top level: "body is not
// valid JSON: <detail>" or "<path>: not valid JSON (<detail>)".
absl::Status Malformed(const PathNode* path, absl::string_view detail);

// As above with Describe(error) as the detail, except that MEMALLOC gives
// kResourceExhausted "out of memory while parsing the body".
absl::Status Malformed(const PathNode* path, simdjson::error_code error);

// "an object", "an array", "a string", "a number", "a boolean", "null".
absl::string_view TypeName(simdjson::ondemand::json_type type);

// "<path>: expected <expected>, got <TypeName(got)>".
absl::Status WrongType(const PathNode& path, absl::string_view expected,
                       simdjson::ondemand::json_type got);

// Whether `body`, whose first non-space byte is '{', holds a complete
// top-level value followed by more than whitespace. simdjson reports both
// that and a truncated document as INCOMPLETE_ARRAY_OR_OBJECT; this scan
// only picks the clearer message on that error path, it accepts nothing.
bool HasTrailingContent(absl::string_view body);

// ---------------------------------------------------------------------------
// Typed reads of one value. Each returns OK or Malformed()/WrongType()/
// PathError() for `path`.

// Reads the JSON type of `value` without consuming it.
absl::Status ReadType(simdjson::ondemand::value& value, const PathNode& path,
                      simdjson::ondemand::json_type* type);

// Consumes a value whose type() said null, checking that it is `null`
// exactly (type() looks at the first byte only).
absl::Status ConsumeNull(simdjson::ondemand::value& value,
                         const PathNode& path);

// Reads a string or null. On OK, `*present` says whether it was a string,
// and `*text` (pointing into the parser's buffer, valid until the next
// string is read) holds it unescaped. An invalid escape or unpaired
// surrogate is a PathError.
absl::Status ReadStringView(simdjson::ondemand::value& value,
                            const PathNode& path, bool* present,
                            std::string_view* text);

// Reads an integer within int64 or null. A fraction or exponent (`1.0`,
// `1e2`) and an integer out of range are PathErrors saying so.
absl::Status ReadInt64Value(simdjson::ondemand::value& value,
                            const PathNode& path, bool* present,
                            int64_t* number);

// Reads `true`, `false` or null.
absl::Status ReadBoolValue(simdjson::ondemand::value& value,
                           const PathNode& path, bool* present, bool* flag);

// ---------------------------------------------------------------------------
// Field setters. They take the generated accessors as member pointers so
// that each field is one line in a key dispatch. A value sets the field,
// `null` clears it (which is also what makes a later duplicate key win over
// an earlier one).

template <typename M>
absl::Status ReadString(simdjson::ondemand::value& value, const PathNode& path,
                        M* message, std::string* (M::*mutable_field)(),
                        void (M::*clear_field)()) {
  bool present = false;
  std::string_view text;
  if (absl::Status s = ReadStringView(value, path, &present, &text); !s.ok()) {
    return s;
  }
  if (present) {
    // assign() reuses the capacity a cleared message kept.
    (message->*mutable_field)()->assign(text.data(), text.size());
  } else {
    (message->*clear_field)();
  }
  return absl::OkStatus();
}

template <typename M>
absl::Status ReadInt64(simdjson::ondemand::value& value, const PathNode& path,
                       M* message, void (M::*set_field)(int64_t),
                       void (M::*clear_field)()) {
  bool present = false;
  int64_t number = 0;
  if (absl::Status s = ReadInt64Value(value, path, &present, &number);
      !s.ok()) {
    return s;
  }
  if (present) {
    (message->*set_field)(number);
  } else {
    (message->*clear_field)();
  }
  return absl::OkStatus();
}

template <typename M>
absl::Status ReadBool(simdjson::ondemand::value& value, const PathNode& path,
                      M* message, void (M::*set_field)(bool),
                      void (M::*clear_field)()) {
  bool present = false;
  bool flag = false;
  if (absl::Status s = ReadBoolValue(value, path, &present, &flag); !s.ok()) {
    return s;
  }
  if (present) {
    (message->*set_field)(flag);
  } else {
    (message->*clear_field)();
  }
  return absl::OkStatus();
}

// Visits every field of `object` in order, calling
// `on_field(key, value, path_of_the_field)`, which returns an absl::Status;
// the first non-OK one is returned. A field `on_field` does not consume is
// skipped by the iterator, which is how unknown keys are ignored. `path` is
// the object's own path, null for the top level.
template <typename OnField>
absl::Status ForEachField(simdjson::ondemand::object& object,
                          const PathNode* path, OnField on_field) {
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if (simdjson::error_code error = std::move(field_result).get(field)) {
      return Malformed(path, error);
    }
    std::string_view key;
    if (simdjson::error_code error = field.unescaped_key().get(key)) {
      return Malformed(path, error);
    }
    const absl::string_view key_view(key.data(), key.size());
    const PathNode field_path{path, key_view, 0};
    if (absl::Status s = on_field(key_view, field.value(), field_path);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// Reads an object-valued field: `null` clears the sub-message, an object
// replaces it (cleared first, so a duplicate key does not merge) and is
// filled by `parse(object, path, sub_message)`.
template <typename M, typename Sub>
absl::Status ReadMessage(simdjson::ondemand::value& value,
                         const PathNode& path, M* message,
                         Sub* (M::*mutable_field)(), void (M::*clear_field)(),
                         absl::Status (*parse)(simdjson::ondemand::object&,
                                               const PathNode&, Sub*)) {
  simdjson::ondemand::json_type type;
  if (absl::Status s = ReadType(value, path, &type); !s.ok()) return s;
  if (type == simdjson::ondemand::json_type::null) {
    (message->*clear_field)();
    return ConsumeNull(value, path);
  }
  if (type != simdjson::ondemand::json_type::object) {
    return WrongType(path, "an object", type);
  }
  simdjson::ondemand::object object;
  if (simdjson::error_code error = value.get_object().get(object)) {
    return Malformed(&path, error);
  }
  Sub* sub = (message->*mutable_field)();
  sub->Clear();
  return parse(object, path, sub);
}

}  // namespace json_reader
}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_JSON_READER_H_
