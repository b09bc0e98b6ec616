#include "tests/benchmarks/nlohmann_user_parser.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/response/response_parser.h"
#include "nlohmann/json.hpp"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace {

using Json = ::nlohmann::json;
using ::usergateway::v1::AuthenticationToken;
using ::usergateway::v1::Emm;
using ::usergateway::v1::Group;
using ::usergateway::v1::Profile;
using ::usergateway::v1::User;

// The object a field belongs to, e.g. {"profile.groups", 1}. Rendered into a
// path only on the error path, so that a successful parse builds no strings.
struct Where {
  absl::string_view object;  // empty at the top level
  int index;                 // the element's index in `object`, or -1
};

constexpr Where kTop{"", -1};
constexpr Where kProfile{"profile", -1};
constexpr Where kEmm{"emm", -1};
constexpr Where kAuthenticationToken{"emm.authentication_token", -1};

// "profile.groups[1].device_count"; `key` may be empty (the element itself).
std::string PathOf(const Where& where, absl::string_view key) {
  std::string path(where.object);
  if (where.index >= 0) absl::StrAppend(&path, "[", where.index, "]");
  if (!key.empty()) {
    if (!path.empty()) path.push_back('.');
    absl::StrAppend(&path, key);
  }
  return path;
}

// The same type names as ResponseParser's messages.
absl::string_view TypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::null:
      return "null";
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  return "an unknown value";
}

absl::Status PathError(const Where& where, absl::string_view key,
                       absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(PathOf(where, key), ": ", problem));
}

absl::Status WrongType(const Where& where, absl::string_view key,
                       absl::string_view expected, const Json& got) {
  return PathError(
      where, key, absl::StrCat("expected ", expected, ", got ", TypeName(got)));
}

// Returns the value of `key` in `object`, or nullptr when the key is missing
// or null: both leave the field unset. find() with a C string does not build
// a std::string (nlohmann's object map compares with std::less<>).
const Json* FindSet(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

// The fields are set only when present and non-null; the message was cleared
// before, and a DOM object holds each key once, so there is nothing to unset.

template <typename M>
absl::Status ReadString(const Json& object, const Where& where,
                        const char* key, M* message,
                        std::string* (M::*mutable_field)()) {
  const Json* value = FindSet(object, key);
  if (value == nullptr) return absl::OkStatus();
  if (!value->is_string()) return WrongType(where, key, "a string", *value);
  (message->*mutable_field)()->assign(value->get_ref<const std::string&>());
  return absl::OkStatus();
}

template <typename M>
absl::Status ReadInt64(const Json& object, const Where& where, const char* key,
                       M* message, void (M::*set_field)(int64_t)) {
  const Json* value = FindSet(object, key);
  if (value == nullptr) return absl::OkStatus();
  switch (value->type()) {
    case Json::value_t::number_integer:
      (message->*set_field)(value->get_ref<const Json::number_integer_t&>());
      return absl::OkStatus();
    case Json::value_t::number_unsigned: {
      // nlohmann stores every non-negative integer as unsigned.
      const Json::number_unsigned_t number =
          value->get_ref<const Json::number_unsigned_t&>();
      if (number > static_cast<Json::number_unsigned_t>(
                       std::numeric_limits<int64_t>::max())) {
        return PathError(where, key, "integer out of range");
      }
      (message->*set_field)(static_cast<int64_t>(number));
      return absl::OkStatus();
    }
    case Json::value_t::number_float:
      // Also integers beyond 64 bits, which nlohmann stores as doubles.
      return PathError(where, key,
                       "expected an integer, got a number with a fraction or "
                       "exponent, or out of range");
    default:
      return WrongType(where, key, "an integer", *value);
  }
}

template <typename M>
absl::Status ReadBool(const Json& object, const Where& where, const char* key,
                      M* message, void (M::*set_field)(bool)) {
  const Json* value = FindSet(object, key);
  if (value == nullptr) return absl::OkStatus();
  if (!value->is_boolean()) return WrongType(where, key, "a boolean", *value);
  (message->*set_field)(value->get_ref<const Json::boolean_t&>());
  return absl::OkStatus();
}

// An object-valued field: null or missing leaves the sub-message unset.
template <typename M, typename Sub>
absl::Status ReadMessage(const Json& object, const Where& where,
                         const char* key, M* message,
                         Sub* (M::*mutable_field)(),
                         absl::Status (*parse)(const Json&, Sub*)) {
  const Json* value = FindSet(object, key);
  if (value == nullptr) return absl::OkStatus();
  if (!value->is_object()) return WrongType(where, key, "an object", *value);
  return parse(*value, (message->*mutable_field)());
}

// The parse functions below read every known field and keep the first
// error; reading on after an error is harmless because the caller clears
// the user.

absl::Status ParseAuthenticationToken(const Json& object,
                                      AuthenticationToken* token) {
  using T = AuthenticationToken;
  const Where& at = kAuthenticationToken;
  absl::Status status;
  status.Update(ReadInt64(object, at, "id", token, &T::set_id));
  status.Update(ReadString(object, at, "token", token, &T::mutable_token));
  status.Update(ReadBool(object, at, "is_active", token, &T::set_is_active));
  status.Update(
      ReadString(object, at, "updated_on", token, &T::mutable_updated_on));
  return status;
}

absl::Status ParseEmm(const Json& object, Emm* emm) {
  const Where& at = kEmm;
  absl::Status status;
  status.Update(ReadInt64(object, at, "id", emm, &Emm::set_id));
  status.Update(ReadInt64(object, at, "user", emm, &Emm::set_user));
  status.Update(ReadString(object, at, "account_identifier", emm,
                           &Emm::mutable_account_identifier));
  status.Update(ReadString(object, at, "account_type", emm,
                           &Emm::mutable_account_type));
  status.Update(ReadString(object, at, "display_name", emm,
                           &Emm::mutable_display_name));
  status.Update(ReadString(object, at, "google_user_id", emm,
                           &Emm::mutable_google_user_id));
  status.Update(ReadInt64(object, at, "google_enterprise", emm,
                          &Emm::set_google_enterprise));
  status.Update(ReadBool(object, at, "is_active", emm, &Emm::set_is_active));
  status.Update(
      ReadString(object, at, "created_on", emm, &Emm::mutable_created_on));
  status.Update(
      ReadString(object, at, "updated_on", emm, &Emm::mutable_updated_on));
  status.Update(ReadMessage(object, at, "authentication_token", emm,
                            &Emm::mutable_authentication_token,
                            &ParseAuthenticationToken));
  return status;
}

absl::Status ParseGroup(const Json& object, const Where& at, Group* group) {
  absl::Status status;
  status.Update(ReadString(object, at, "id", group, &Group::mutable_id));
  status.Update(ReadString(object, at, "name", group, &Group::mutable_name));
  status.Update(ReadString(object, at, "path", group, &Group::mutable_path));
  status.Update(ReadInt64(object, at, "device_count", group,
                          &Group::set_device_count));
  return status;
}

// `profile.groups`: null, or an array of objects (a null element is an
// error, as in ResponseParser).
absl::Status ReadGroups(const Json& object, Profile* profile) {
  const Json* groups = FindSet(object, "groups");
  if (groups == nullptr) return absl::OkStatus();
  if (!groups->is_array()) {
    return WrongType(kProfile, "groups", "an array", *groups);
  }
  int index = 0;
  for (const Json& element : *groups) {
    const Where at{"profile.groups", index++};
    if (!element.is_object()) return WrongType(at, "", "an object", element);
    if (absl::Status s = ParseGroup(element, at, profile->add_groups());
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ReadRole(const Json& object, Profile* profile) {
  const Json* role = FindSet(object, "role");
  if (role == nullptr) return absl::OkStatus();
  if (!role->is_string()) return WrongType(kProfile, "role", "a string", *role);
  const std::string& text = role->get_ref<const std::string&>();
  profile->set_role(text);
  profile->set_role_enum(ResponseParser::RoleFromText(text));
  return absl::OkStatus();
}

absl::Status ParseProfile(const Json& object, Profile* profile) {
  using P = Profile;
  const Where& at = kProfile;
  absl::Status status;
  status.Update(ReadInt64(object, at, "id", profile, &P::set_id));
  status.Update(ReadString(object, at, "enterprise_user_id", profile,
                           &P::mutable_enterprise_user_id));
  status.Update(ReadString(object, at, "authn_user_id", profile,
                           &P::mutable_authn_user_id));
  status.Update(ReadString(object, at, "authn_connection_id", profile,
                           &P::mutable_authn_connection_id));
  status.Update(ReadString(object, at, "authz_role_id", profile,
                           &P::mutable_authz_role_id));
  status.Update(ReadRole(object, profile));
  status.Update(
      ReadString(object, at, "enterprise", profile, &P::mutable_enterprise));
  status.Update(
      ReadBool(object, at, "is_customer", profile, &P::set_is_customer));
  status.Update(ReadBool(object, at, "is_endpoint_creator", profile,
                         &P::set_is_endpoint_creator));
  status.Update(
      ReadString(object, at, "created_on", profile, &P::mutable_created_on));
  status.Update(
      ReadString(object, at, "updated_on", profile, &P::mutable_updated_on));
  status.Update(ReadBool(object, at, "setup_wizard_complete", profile,
                         &P::set_setup_wizard_complete));
  status.Update(ReadBool(object, at, "default_password_changed", profile,
                         &P::set_default_password_changed));
  status.Update(
      ReadBool(object, at, "is_developer", profile, &P::set_is_developer));
  status.Update(ReadBool(object, at, "can_factory_reset", profile,
                         &P::set_can_factory_reset));
  status.Update(ReadGroups(object, profile));
  return status;
}

absl::Status ParseUserObject(const Json& object, User* user) {
  const Where& at = kTop;
  absl::Status status;
  status.Update(ReadInt64(object, at, "id", user, &User::set_id));
  status.Update(
      ReadString(object, at, "username", user, &User::mutable_username));
  status.Update(ReadString(object, at, "email", user, &User::mutable_email));
  status.Update(
      ReadString(object, at, "first_name", user, &User::mutable_first_name));
  status.Update(
      ReadString(object, at, "last_name", user, &User::mutable_last_name));
  status.Update(
      ReadString(object, at, "full_name", user, &User::mutable_full_name));
  status.Update(ReadBool(object, at, "is_staff", user, &User::set_is_staff));
  status.Update(
      ReadBool(object, at, "is_superuser", user, &User::set_is_superuser));
  status.Update(ReadBool(object, at, "is_active", user, &User::set_is_active));
  status.Update(ReadMessage(object, at, "profile", user,
                            &User::mutable_profile, &ParseProfile));
  status.Update(
      ReadMessage(object, at, "emm", user, &User::mutable_emm, &ParseEmm));
  status.Update(
      ReadString(object, at, "last_login", user, &User::mutable_last_login));
  status.Update(ReadString(object, at, "token", user, &User::mutable_token));
  status.Update(
      ReadBool(object, at, "has_emm", user, &User::set_emm_enabled));
  status.Update(ReadBool(object, at, "is_email_verified", user,
                         &User::set_is_email_verified));
  return status;
}

}  // namespace

absl::Status NlohmannParseUser(absl::string_view body, User* user) {
  user->Clear();
  absl::Status status = [&]() -> absl::Status {
    if (body.empty()) return absl::InvalidArgumentError("body is empty");
    // Strict mode (the default) rejects trailing content; with exceptions
    // off a syntax error yields a `discarded` value instead of a throw.
    const Json json = Json::parse(body.data(), body.data() + body.size(),
                                  /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      return absl::InvalidArgumentError("body is not valid JSON");
    }
    if (!json.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected a JSON object at the top level, got ", TypeName(json)));
    }
    return ParseUserObject(json, user);
  }();
  if (!status.ok()) user->Clear();
  return status;
}

}  // namespace usergateway
