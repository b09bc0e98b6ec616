#include "tests/emulator/fault.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "tests/emulator/json_tree.h"

namespace usergateway {
namespace testing {
namespace {

// Largest values accepted, so that a typo cannot wedge a test run.
constexpr int64_t kMaxDelayMs = 600000;
constexpr int64_t kMaxTimes = 1000000;
constexpr int64_t kMaxBodyBytes = int64_t{1} << 30;

struct Field {
  std::string key;
  std::string value;
};

absl::StatusOr<int64_t> ParseInt(const Field& field, int64_t min,
                                 int64_t max) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(field.value, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault key '", field.key, "' must be an integer in [",
                     min, ", ", max, "], got '", field.value, "'"));
  }
  return value;
}

absl::StatusOr<Fault::Action> ParseAction(absl::string_view name) {
  for (Fault::Action action :
       {Fault::Action::kNone, Fault::Action::kStatus,
        Fault::Action::kTruncateBody, Fault::Action::kMalformedBody,
        Fault::Action::kOversizedBody, Fault::Action::kReset,
        Fault::Action::kEchoKey}) {
    if (FaultActionName(action) == name) return action;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown fault action '", name,
      "' (none, status, truncate, malformed, oversized, reset, echo_key)"));
}

// Builds a Fault from key/value pairs shared by both forms.
absl::StatusOr<Fault> FaultFromFields(const std::vector<Field>& fields) {
  Fault fault;
  bool has_action = false;
  std::vector<std::string> seen;
  for (const Field& field : fields) {
    for (const std::string& key : seen) {
      if (key == field.key) {
        return absl::InvalidArgumentError(
            absl::StrCat("fault key '", field.key, "' is repeated"));
      }
    }
    seen.push_back(field.key);
    if (field.key == "action") {
      absl::StatusOr<Fault::Action> action = ParseAction(field.value);
      if (!action.ok()) return action.status();
      fault.action = *action;
      has_action = true;
    } else if (field.key == "delay_ms") {
      absl::StatusOr<int64_t> ms = ParseInt(field, 0, kMaxDelayMs);
      if (!ms.ok()) return ms.status();
      fault.delay = absl::Milliseconds(*ms);
    } else if (field.key == "status") {
      absl::StatusOr<int64_t> status = ParseInt(field, 100, 599);
      if (!status.ok()) return status.status();
      fault.status = static_cast<int>(*status);
    } else if (field.key == "retry_after") {
      fault.retry_after = field.value;
    } else if (field.key == "content_type") {
      fault.content_type = field.value;
    } else if (field.key == "bytes") {
      absl::StatusOr<int64_t> bytes = ParseInt(field, 1, kMaxBodyBytes);
      if (!bytes.ok()) return bytes.status();
      fault.body_bytes = static_cast<size_t>(*bytes);
    } else if (field.key == "times") {
      absl::StatusOr<int64_t> times = ParseInt(field, 1, kMaxTimes);
      if (!times.ok()) return times.status();
      fault.times = static_cast<int>(*times);
    } else if (field.key == "body") {
      fault.body = field.value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown fault key '", field.key,
          "' (action, delay_ms, status, retry_after, content_type, bytes, "
          "times, body)"));
    }
  }
  if (!has_action && fault.status != 0) fault.action = Fault::Action::kStatus;
  if (fault.action == Fault::Action::kOversizedBody && fault.body_bytes == 0) {
    return absl::InvalidArgumentError(
        "fault action 'oversized' needs 'bytes'");
  }
  // Header values cannot carry CR/LF; refuse them here so that a queued
  // fault cannot smuggle a header either.
  for (const std::string* header : {&fault.retry_after, &fault.content_type}) {
    if (header->find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(
          "fault retry_after/content_type must not contain CR or LF");
    }
  }
  return fault;
}

absl::StatusOr<Fault> FaultFromJsonObject(const JsonValue& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("a fault must be a JSON object");
  }
  std::vector<Field> fields;
  for (const JsonMember& member : object.members()) {
    const bool is_text = member.key == "action" || member.key == "body" ||
                         member.key == "content_type";
    const JsonValue& value = member.value;
    if (member.key == "retry_after") {
      // Either "2" or 2: Retry-After is text on the wire.
      if (value.type() != JsonValue::Type::kString &&
          value.type() != JsonValue::Type::kNumber) {
        return absl::InvalidArgumentError(
            "fault key 'retry_after' must be a string or a number");
      }
    } else if (is_text && value.type() != JsonValue::Type::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat("fault key '", member.key, "' must be a string"));
    } else if (!is_text && value.type() != JsonValue::Type::kNumber) {
      return absl::InvalidArgumentError(
          absl::StrCat("fault key '", member.key, "' must be a number"));
    }
    fields.push_back(Field{member.key, value.text()});
  }
  return FaultFromFields(fields);
}

}  // namespace

absl::string_view FaultActionName(Fault::Action action) {
  switch (action) {
    case Fault::Action::kNone:
      return "none";
    case Fault::Action::kStatus:
      return "status";
    case Fault::Action::kTruncateBody:
      return "truncate";
    case Fault::Action::kMalformedBody:
      return "malformed";
    case Fault::Action::kOversizedBody:
      return "oversized";
    case Fault::Action::kReset:
      return "reset";
    case Fault::Action::kEchoKey:
      return "echo_key";
  }
  return "unknown";
}

absl::StatusOr<Fault> ParseFaultSpec(absl::string_view spec) {
  std::vector<Field> fields;
  absl::string_view rest = spec;
  while (!absl::StripAsciiWhitespace(rest).empty()) {
    const size_t eq = rest.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fault spec item '", absl::StripAsciiWhitespace(rest),
          "' is not key=value"));
    }
    const std::string key(absl::StripAsciiWhitespace(rest.substr(0, eq)));
    rest.remove_prefix(eq + 1);
    if (key == "body") {
      // The body is the rest of the spec, ';' and spaces included.
      fields.push_back(Field{key, std::string(rest)});
      break;
    }
    const size_t semicolon = rest.find(';');
    const absl::string_view value = rest.substr(0, semicolon);
    fields.push_back(
        Field{key, std::string(absl::StripAsciiWhitespace(value))});
    rest = semicolon == absl::string_view::npos ? absl::string_view()
                                                : rest.substr(semicolon + 1);
  }
  return FaultFromFields(fields);
}

absl::StatusOr<std::vector<Fault>> ParseFaultsJson(absl::string_view json) {
  absl::StatusOr<JsonValue> parsed = ParseJson(json);
  if (!parsed.ok()) return parsed.status();
  std::vector<Fault> faults;
  if (parsed->is_array()) {
    for (const JsonValue& item : parsed->items()) {
      absl::StatusOr<Fault> fault = FaultFromJsonObject(item);
      if (!fault.ok()) return fault.status();
      faults.push_back(*std::move(fault));
    }
  } else {
    absl::StatusOr<Fault> fault = FaultFromJsonObject(*parsed);
    if (!fault.ok()) return fault.status();
    faults.push_back(*std::move(fault));
  }
  return faults;
}

}  // namespace testing
}  // namespace usergateway
