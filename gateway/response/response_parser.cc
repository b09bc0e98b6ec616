#include "gateway/response/response_parser.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/response/json_reader.h"
#include "simdjson.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace {

namespace ondemand = ::simdjson::ondemand;
using ::usergateway::json_reader::ConsumeNull;
using ::usergateway::json_reader::ForEachField;
using ::usergateway::json_reader::HasTrailingContent;
using ::usergateway::json_reader::Malformed;
using ::usergateway::json_reader::PathNode;
using ::usergateway::json_reader::ReadBool;
using ::usergateway::json_reader::ReadInt64;
using ::usergateway::json_reader::ReadMessage;
using ::usergateway::json_reader::ReadString;
using ::usergateway::json_reader::ReadStringView;
using ::usergateway::json_reader::ReadType;
using ::usergateway::json_reader::TypeName;
using ::usergateway::json_reader::WrongType;
using ::usergateway::v1::AuthenticationToken;
using ::usergateway::v1::Emm;
using ::usergateway::v1::Group;
using ::usergateway::v1::Profile;
using ::usergateway::v1::User;

// The User schema: one function per message, dispatching on known keys.

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
