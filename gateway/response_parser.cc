#include "gateway/response_parser.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "simdjson.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace {

namespace ondemand = ::simdjson::ondemand;
using ::usergateway::v1::AuthenticationToken;
using ::usergateway::v1::Emm;
using ::usergateway::v1::Group;
using ::usergateway::v1::Profile;
using ::usergateway::v1::User;

// One step of the JSON path of the value being read. Nodes live on the
// stack of the parse functions, so the happy path builds no strings; the
// path is rendered only into an error message. Only known keys become
// nodes, so a path never carries text chosen by the upstream.
struct PathNode {
  const PathNode* parent;  // null for a top-level key
  absl::string_view key;   // empty for an array element
  size_t index;            // the element's index when `key` is empty
};

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

// Whether `body`, whose first non-space byte is '{', holds a complete
// top-level value followed by more than whitespace. simdjson reports both
// that and a truncated document as INCOMPLETE_ARRAY_OR_OBJECT; this scan
// only picks the clearer message on that error path, it accepts nothing.
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

// The field setters below take the generated accessors as member pointers
// so that each field is one line in the key dispatch. A value sets the
// field, `null` clears it (which is also what makes a later duplicate key
// win over an earlier one).

template <typename M>
absl::Status ReadString(ondemand::value& value, const PathNode& path,
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
absl::Status ReadInt64(ondemand::value& value, const PathNode& path,
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
absl::Status ReadBool(ondemand::value& value, const PathNode& path, M* message,
                      void (M::*set_field)(bool), void (M::*clear_field)()) {
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
// `on_field(key, value, path_of_the_field)`. A field `on_field` does not
// consume is skipped by the iterator, which is how unknown keys are
// ignored. `path` is the object's own path, null for the top level.
template <typename OnField>
absl::Status ForEachField(ondemand::object& object, const PathNode* path,
                          OnField on_field) {
  for (auto field_result : object) {
    ondemand::field field;
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
// replaces it (cleared first, so a duplicate key does not merge).
template <typename M, typename Sub>
absl::Status ReadMessage(ondemand::value& value, const PathNode& path,
                         M* message, Sub* (M::*mutable_field)(),
                         void (M::*clear_field)(),
                         absl::Status (*parse)(ondemand::object&,
                                               const PathNode&, Sub*)) {
  ondemand::json_type type;
  if (absl::Status s = ReadType(value, path, &type); !s.ok()) return s;
  if (type == ondemand::json_type::null) {
    (message->*clear_field)();
    return ConsumeNull(value, path);
  }
  if (type != ondemand::json_type::object) {
    return WrongType(path, "an object", type);
  }
  ondemand::object object;
  if (simdjson::error_code error = value.get_object().get(object)) {
    return Malformed(&path, error);
  }
  Sub* sub = (message->*mutable_field)();
  sub->Clear();
  return parse(object, path, sub);
}

absl::Status ParseAuthenticationToken(ondemand::object& object,
                                      const PathNode& path,
                                      AuthenticationToken* token) {
  using T = AuthenticationToken;
  return ForEachField(
      object, &path,
      [token](absl::string_view key, ondemand::value& value,
              const PathNode& at) -> absl::Status {
        if (key == "id") {
          return ReadInt64(value, at, token, &T::set_id, &T::clear_id);
        }
        if (key == "token") {
          return ReadString(value, at, token, &T::mutable_token,
                            &T::clear_token);
        }
        if (key == "is_active") {
          return ReadBool(value, at, token, &T::set_is_active,
                          &T::clear_is_active);
        }
        if (key == "updated_on") {
          return ReadString(value, at, token, &T::mutable_updated_on,
                            &T::clear_updated_on);
        }
        return absl::OkStatus();
      });
}

absl::Status ParseEmm(ondemand::object& object, const PathNode& path,
                      Emm* emm) {
  return ForEachField(
      object, &path,
      [emm](absl::string_view key, ondemand::value& value,
            const PathNode& at) -> absl::Status {
        if (key == "id") {
          return ReadInt64(value, at, emm, &Emm::set_id, &Emm::clear_id);
        }
        if (key == "user") {
          return ReadInt64(value, at, emm, &Emm::set_user, &Emm::clear_user);
        }
        if (key == "account_identifier") {
          return ReadString(value, at, emm, &Emm::mutable_account_identifier,
                            &Emm::clear_account_identifier);
        }
        if (key == "account_type") {
          return ReadString(value, at, emm, &Emm::mutable_account_type,
                            &Emm::clear_account_type);
        }
        if (key == "display_name") {
          return ReadString(value, at, emm, &Emm::mutable_display_name,
                            &Emm::clear_display_name);
        }
        if (key == "google_user_id") {
          return ReadString(value, at, emm, &Emm::mutable_google_user_id,
                            &Emm::clear_google_user_id);
        }
        if (key == "google_enterprise") {
          return ReadInt64(value, at, emm, &Emm::set_google_enterprise,
                           &Emm::clear_google_enterprise);
        }
        if (key == "is_active") {
          return ReadBool(value, at, emm, &Emm::set_is_active,
                          &Emm::clear_is_active);
        }
        if (key == "created_on") {
          return ReadString(value, at, emm, &Emm::mutable_created_on,
                            &Emm::clear_created_on);
        }
        if (key == "updated_on") {
          return ReadString(value, at, emm, &Emm::mutable_updated_on,
                            &Emm::clear_updated_on);
        }
        if (key == "authentication_token") {
          return ReadMessage(value, at, emm, &Emm::mutable_authentication_token,
                             &Emm::clear_authentication_token,
                             &ParseAuthenticationToken);
        }
        return absl::OkStatus();
      });
}

absl::Status ParseGroup(ondemand::object& object, const PathNode& path,
                        Group* group) {
  return ForEachField(
      object, &path,
      [group](absl::string_view key, ondemand::value& value,
              const PathNode& at) -> absl::Status {
        if (key == "id") {
          return ReadString(value, at, group, &Group::mutable_id,
                            &Group::clear_id);
        }
        if (key == "name") {
          return ReadString(value, at, group, &Group::mutable_name,
                            &Group::clear_name);
        }
        if (key == "path") {
          return ReadString(value, at, group, &Group::mutable_path,
                            &Group::clear_path);
        }
        if (key == "device_count") {
          return ReadInt64(value, at, group, &Group::set_device_count,
                           &Group::clear_device_count);
        }
        return absl::OkStatus();
      });
}

// `profile.groups`: null or an array of objects; replaces earlier groups.
absl::Status ReadGroups(ondemand::value& value, const PathNode& path,
                        Profile* profile) {
  ondemand::json_type type;
  if (absl::Status s = ReadType(value, path, &type); !s.ok()) return s;
  profile->clear_groups();  // keeps the elements' memory for reuse
  if (type == ondemand::json_type::null) return ConsumeNull(value, path);
  if (type != ondemand::json_type::array) {
    return WrongType(path, "an array", type);
  }
  ondemand::array array;
  if (simdjson::error_code error = value.get_array().get(array)) {
    return Malformed(&path, error);
  }
  size_t index = 0;
  for (auto element_result : array) {
    const PathNode element_path{&path, absl::string_view(), index++};
    ondemand::value element;
    if (simdjson::error_code error = std::move(element_result).get(element)) {
      return Malformed(&element_path, error);
    }
    ondemand::json_type element_type;
    if (absl::Status s = ReadType(element, element_path, &element_type);
        !s.ok()) {
      return s;
    }
    // A null element is an error, not a skipped group: dropping it would
    // shift the indexes the caller sees.
    if (element_type != ondemand::json_type::object) {
      return WrongType(element_path, "an object", element_type);
    }
    ondemand::object object;
    if (simdjson::error_code error = element.get_object().get(object)) {
      return Malformed(&element_path, error);
    }
    Group* group = profile->add_groups();
    if (absl::Status s = ParseGroup(object, element_path, group); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ReadRole(ondemand::value& value, const PathNode& path,
                      Profile* profile) {
  bool present = false;
  std::string_view text;
  if (absl::Status s = ReadStringView(value, path, &present, &text); !s.ok()) {
    return s;
  }
  if (!present) {
    profile->clear_role();
    profile->clear_role_enum();
    return absl::OkStatus();
  }
  profile->mutable_role()->assign(text.data(), text.size());
  profile->set_role_enum(ResponseParser::RoleFromText(
      absl::string_view(text.data(), text.size())));
  return absl::OkStatus();
}

absl::Status ParseProfile(ondemand::object& object, const PathNode& path,
                          Profile* profile) {
  using P = Profile;
  return ForEachField(
      object, &path,
      [profile](absl::string_view key, ondemand::value& value,
                const PathNode& at) -> absl::Status {
        if (key == "id") {
          return ReadInt64(value, at, profile, &P::set_id, &P::clear_id);
        }
        if (key == "enterprise_user_id") {
          return ReadString(value, at, profile, &P::mutable_enterprise_user_id,
                            &P::clear_enterprise_user_id);
        }
        if (key == "authn_user_id") {
          return ReadString(value, at, profile, &P::mutable_authn_user_id,
                            &P::clear_authn_user_id);
        }
        if (key == "authn_connection_id") {
          return ReadString(value, at, profile,
                            &P::mutable_authn_connection_id,
                            &P::clear_authn_connection_id);
        }
        if (key == "authz_role_id") {
          return ReadString(value, at, profile, &P::mutable_authz_role_id,
                            &P::clear_authz_role_id);
        }
        if (key == "role") return ReadRole(value, at, profile);
        if (key == "enterprise") {
          return ReadString(value, at, profile, &P::mutable_enterprise,
                            &P::clear_enterprise);
        }
        if (key == "is_customer") {
          return ReadBool(value, at, profile, &P::set_is_customer,
                          &P::clear_is_customer);
        }
        if (key == "is_endpoint_creator") {
          return ReadBool(value, at, profile, &P::set_is_endpoint_creator,
                          &P::clear_is_endpoint_creator);
        }
        if (key == "created_on") {
          return ReadString(value, at, profile, &P::mutable_created_on,
                            &P::clear_created_on);
        }
        if (key == "updated_on") {
          return ReadString(value, at, profile, &P::mutable_updated_on,
                            &P::clear_updated_on);
        }
        if (key == "setup_wizard_complete") {
          return ReadBool(value, at, profile, &P::set_setup_wizard_complete,
                          &P::clear_setup_wizard_complete);
        }
        if (key == "default_password_changed") {
          return ReadBool(value, at, profile, &P::set_default_password_changed,
                          &P::clear_default_password_changed);
        }
        if (key == "is_developer") {
          return ReadBool(value, at, profile, &P::set_is_developer,
                          &P::clear_is_developer);
        }
        if (key == "can_factory_reset") {
          return ReadBool(value, at, profile, &P::set_can_factory_reset,
                          &P::clear_can_factory_reset);
        }
        if (key == "groups") return ReadGroups(value, at, profile);
        return absl::OkStatus();
      });
}

absl::Status ParseUserObject(ondemand::object& object, User* user) {
  return ForEachField(
      object, nullptr,
      [user](absl::string_view key, ondemand::value& value,
             const PathNode& at) -> absl::Status {
        if (key == "id") {
          return ReadInt64(value, at, user, &User::set_id, &User::clear_id);
        }
        if (key == "username") {
          return ReadString(value, at, user, &User::mutable_username,
                            &User::clear_username);
        }
        if (key == "email") {
          return ReadString(value, at, user, &User::mutable_email,
                            &User::clear_email);
        }
        if (key == "first_name") {
          return ReadString(value, at, user, &User::mutable_first_name,
                            &User::clear_first_name);
        }
        if (key == "last_name") {
          return ReadString(value, at, user, &User::mutable_last_name,
                            &User::clear_last_name);
        }
        if (key == "full_name") {
          return ReadString(value, at, user, &User::mutable_full_name,
                            &User::clear_full_name);
        }
        if (key == "is_staff") {
          return ReadBool(value, at, user, &User::set_is_staff,
                          &User::clear_is_staff);
        }
        if (key == "is_superuser") {
          return ReadBool(value, at, user, &User::set_is_superuser,
                          &User::clear_is_superuser);
        }
        if (key == "is_active") {
          return ReadBool(value, at, user, &User::set_is_active,
                          &User::clear_is_active);
        }
        if (key == "profile") {
          return ReadMessage(value, at, user, &User::mutable_profile,
                             &User::clear_profile, &ParseProfile);
        }
        if (key == "emm") {
          return ReadMessage(value, at, user, &User::mutable_emm,
                             &User::clear_emm, &ParseEmm);
        }
        if (key == "last_login") {
          return ReadString(value, at, user, &User::mutable_last_login,
                            &User::clear_last_login);
        }
        if (key == "token") {
          return ReadString(value, at, user, &User::mutable_token,
                            &User::clear_token);
        }
        if (key == "has_emm") {
          return ReadBool(value, at, user, &User::set_emm_enabled,
                          &User::clear_emm_enabled);
        }
        if (key == "is_email_verified") {
          return ReadBool(value, at, user, &User::set_is_email_verified,
                          &User::clear_is_email_verified);
        }
        return absl::OkStatus();
      });
}

}  // namespace

ResponseParser::ResponseParser() = default;

absl::Status ResponseParser::ParseUser(const std::string& body,
                                       usergateway::v1::User* user) {
  if (body.capacity() >= body.size() + simdjson::SIMDJSON_PADDING) {
    // std::string keeps capacity() + 1 bytes, and body[size()] is '\0'.
    return ParsePadded(body.data(), body.size(), body.capacity(), user);
  }
  return ParseUser(absl::string_view(body), user);
}

absl::Status ResponseParser::ParseUser(absl::string_view body,
                                       usergateway::v1::User* user) {
  // Zeroed padding, so that what simdjson reads past the end is defined.
  scratch_.assign(body.data(), body.size());
  scratch_.resize(body.size() + simdjson::SIMDJSON_PADDING, '\0');
  return ParsePadded(scratch_.data(), body.size(), scratch_.size(), user);
}

absl::Status ResponseParser::ParsePadded(const char* data, size_t size,
                                         size_t allocated,
                                         usergateway::v1::User* user) {
  user->Clear();
  const absl::string_view body(data, size);
  absl::Status status = [&]() -> absl::Status {
    if (body.empty()) return absl::InvalidArgumentError("body is empty");
    ondemand::document doc;
    if (simdjson::error_code error =
            parser_.iterate(data, size, allocated).get(doc)) {
      if (error == simdjson::EMPTY) {
        return absl::InvalidArgumentError("body is blank (whitespace only)");
      }
      return Malformed(nullptr, error);
    }
    ondemand::json_type type;
    if (simdjson::error_code error = doc.type().get(type)) {
      return Malformed(nullptr, error);
    }
    if (type != ondemand::json_type::object) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected a JSON object at the top level, got ", TypeName(type)));
    }
    ondemand::object object;
    if (simdjson::error_code error = doc.get_object().get(object)) {
      if (error == simdjson::INCOMPLETE_ARRAY_OR_OBJECT &&
          HasTrailingContent(body)) {
        return absl::InvalidArgumentError(
            "trailing content after the JSON document");
      }
      return Malformed(nullptr, error);
    }
    if (absl::Status s = ParseUserObject(object, user); !s.ok()) return s;
    // simdjson 3.0.1's document has no at_end(); current_location() reports
    // OUT_OF_BOUNDS exactly when every token has been consumed.
    simdjson::error_code at_end = doc.current_location().error();
    if (at_end == simdjson::OUT_OF_BOUNDS) return absl::OkStatus();
    if (at_end == simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          "trailing content after the JSON document");
    }
    return Malformed(nullptr, at_end);
  }();
  if (!status.ok()) user->Clear();
  return status;
}

usergateway::v1::Role ResponseParser::RoleFromText(absl::string_view text) {
  if (text == "Shoonya Admin") return usergateway::v1::ROLE_SHOONYA_ADMIN;
  if (text == "Enterprise Admin") {
    return usergateway::v1::ROLE_ENTERPRISE_ADMIN;
  }
  if (text == "Enterprise User") return usergateway::v1::ROLE_ENTERPRISE_USER;
  if (text == "Viewer") return usergateway::v1::ROLE_VIEWER;
  if (text == "Group Admin") return usergateway::v1::ROLE_GROUP_ADMIN;
  if (text == "Group Viewer") return usergateway::v1::ROLE_GROUP_VIEWER;
  return usergateway::v1::ROLE_UNSPECIFIED;
}

}  // namespace usergateway
