#include "gateway/tenancy/tenants_file.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/request/request_translator.h"
#include "simdjson.h"

namespace usergateway {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

absl::Status Bad(absl::string_view who, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(who, ": ", what));
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

bool VisibleAscii(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return !s.empty();
}

// Reads a required or optional string field.
absl::Status ReadString(object entry, absl::string_view who,
                        absl::string_view field, bool required,
                        std::string* out) {
  element value;
  if (entry[std::string_view(field.data(), field.size())].get(value) != simdjson::SUCCESS) {
    if (!required) return absl::OkStatus();
    return Bad(who, absl::StrCat(field, " is required"));
  }
  std::string_view text;
  if (value.get(text) != simdjson::SUCCESS) {
    return Bad(who, absl::StrCat(field, " must be a string"));
  }
  if (text.empty()) return Bad(who, absl::StrCat(field, " must not be empty"));
  out->assign(text.data(), text.size());
  return absl::OkStatus();
}

absl::Status ReadNumber(object limits, absl::string_view who,
                        absl::string_view field, double min, double max,
                        bool integer, double* out, bool* present) {
  *present = false;
  element value;
  if (limits[std::string_view(field.data(), field.size())].get(value) != simdjson::SUCCESS) return absl::OkStatus();
  double number = 0;
  if (value.get(number) != simdjson::SUCCESS) {
    return Bad(who, absl::StrCat("limits.", field, " must be a number"));
  }
  if (!(number >= min && number <= max) ||
      (integer && number != std::floor(number))) {
    return Bad(who, absl::StrCat("limits.", field, " must be ",
                                 integer ? "an integer " : "a number ",
                                 "from ", min, " to ", max));
  }
  *out = number;
  *present = true;
  return absl::OkStatus();
}

absl::Status ReadLimits(object entry, absl::string_view who,
                        TenantLimits* limits) {
  element value;
  if (entry["limits"].get(value) != simdjson::SUCCESS) {
    return absl::OkStatus();
  }
  object obj;
  if (value.get(obj) != simdjson::SUCCESS) {
    return Bad(who, "limits must be an object");
  }
  for (auto field : obj) {
    const absl::string_view key(field.key.data(), field.key.size());
    if (key != "requests_per_second" && key != "burst" &&
        key != "breaker_failures" && key != "breaker_cooldown_ms") {
      return Bad(who, absl::StrCat("limits.", key,
                                   " is not a known limit (requests_per_"
                                   "second, burst, breaker_failures, "
                                   "breaker_cooldown_ms)"));
    }
  }
  double number = 0;
  bool present = false;
  if (absl::Status s = ReadNumber(obj, who, "requests_per_second", 0.001,
                                  1e6, false, &number, &present);
      !s.ok()) {
    return s;
  }
  if (present) limits->requests_per_second = number;
  if (absl::Status s =
          ReadNumber(obj, who, "burst", 1, 1e6, true, &number, &present);
      !s.ok()) {
    return s;
  }
  if (present) {
    if (limits->requests_per_second <= 0) {
      return Bad(who, "limits.burst needs limits.requests_per_second");
    }
    limits->burst = number;
  }
  if (absl::Status s = ReadNumber(obj, who, "breaker_failures", 0, 1000000,
                                  true, &number, &present);
      !s.ok()) {
    return s;
  }
  if (present) limits->breaker_failures = static_cast<int>(number);
  if (absl::Status s = ReadNumber(obj, who, "breaker_cooldown_ms", 1,
                                  3600000, true, &number, &present);
      !s.ok()) {
    return s;
  }
  if (present) {
    limits->breaker_cooldown = absl::Milliseconds(static_cast<int64_t>(number));
  }
  return absl::OkStatus();
}

absl::StatusOr<TenantSpec> ReadTenant(object entry, size_t index,
                                      const TenantsFileRules& rules) {
  TenantSpec spec;
  std::string who = absl::StrCat("tenants[", index, "]");
  for (auto field : entry) {
    const absl::string_view key(field.key.data(), field.key.size());
    if (key != "name" && key != "enterprise_id" && key != "base_url" &&
        key != "api_key_file" && key != "allowed_callers" && key != "limits") {
      return Bad(who, absl::StrCat(key, " is not a known field (name, "
                                        "enterprise_id, base_url, "
                                        "api_key_file, allowed_callers, "
                                        "limits)"));
    }
  }
  if (absl::Status s = ReadString(entry, who, "name", true, &spec.name);
      !s.ok()) {
    return s;
  }
  if (!ValidName(spec.name)) {
    return Bad(who, "name must be 1 to 63 characters of a-z, 0-9, '-' and "
                    "'_' (it is a metric label)");
  }
  who = absl::StrCat("tenant \"", spec.name, "\"");
  if (absl::Status s = ReadString(entry, who, "enterprise_id", true,
                                  &spec.enterprise_id);
      !s.ok()) {
    return s;
  }
  if (!VisibleAscii(spec.enterprise_id) ||
      spec.enterprise_id.size() > rules.max_id_bytes) {
    return Bad(who, absl::StrCat("enterprise_id must be 1 to ",
                                 rules.max_id_bytes,
                                 " bytes of visible ASCII"));
  }
  if (absl::Status s =
          ReadString(entry, who, "base_url", true, &spec.base_url);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateBaseUrl(spec.base_url, rules.allow_insecure_http);
      !s.ok()) {
    return Bad(who, absl::StrCat("base_url ", s.message()));
  }
  if (absl::Status s =
          ReadString(entry, who, "api_key_file", true, &spec.api_key_file);
      !s.ok()) {
    return s;
  }
  element callers;
  if (entry["allowed_callers"].get(callers) == simdjson::SUCCESS) {
    array list;
    if (callers.get(list) != simdjson::SUCCESS) {
      return Bad(who, "allowed_callers must be an array of strings");
    }
    size_t i = 0;
    for (element caller : list) {
      std::string_view id;
      if (caller.get(id) != simdjson::SUCCESS ||
          !VisibleAscii(absl::string_view(id.data(), id.size()))) {
        return Bad(who, absl::StrCat("allowed_callers[", i,
                                     "] must be a non-empty string of "
                                     "visible ASCII"));
      }
      spec.allowed_callers.emplace_back(id);
      ++i;
    }
    if (!spec.allowed_callers.empty() && !rules.mtls) {
      return Bad(who,
                 "allowed_callers needs mutual TLS (--tls_client_ca): "
                 "without a client certificate no caller has an identity");
    }
  }
  if (absl::Status s = ReadLimits(entry, who, &spec.limits); !s.ok()) {
    return s;
  }
  return spec;
}

}  // namespace

absl::StatusOr<std::vector<TenantSpec>> ParseTenantsFile(
    absl::string_view text, const TenantsFileRules& rules) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text.data(), text.size());
  element root;
  if (simdjson::error_code e = parser.parse(padded).get(root);
      e != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not valid JSON: ", simdjson::error_message(e)));
  }
  object top;
  if (root.get(top) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        "the file must be a JSON object with a \"tenants\" array");
  }
  for (auto field : top) {
    if (field.key != "tenants") {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(field.key), " is not a known field (tenants)"));
    }
  }
  array list;
  if (top["tenants"].get(list) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        "the file must be a JSON object with a \"tenants\" array");
  }
  std::vector<TenantSpec> specs;
  absl::flat_hash_set<std::string> names, enterprises;
  size_t index = 0;
  for (element item : list) {
    object entry;
    if (item.get(entry) != simdjson::SUCCESS) {
      return Bad(absl::StrCat("tenants[", index, "]"), "must be an object");
    }
    absl::StatusOr<TenantSpec> spec = ReadTenant(entry, index, rules);
    if (!spec.ok()) return spec.status();
    const std::string who = absl::StrCat("tenant \"", spec->name, "\"");
    if (!names.insert(spec->name).second) {
      return Bad(who, "name is used by an earlier tenant");
    }
    if (!enterprises.insert(spec->enterprise_id).second) {
      return Bad(who, "enterprise_id is used by an earlier tenant");
    }
    specs.push_back(*std::move(spec));
    ++index;
  }
  return specs;
}

}  // namespace usergateway
