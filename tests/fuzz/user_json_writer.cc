#include "tests/fuzz/user_json_writer.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/common/json_escape.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace usergateway {
namespace fuzz {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

void AppendObject(const Message& message, std::string* out);

void AppendValue(const Message& message, const FieldDescriptor* field,
                 int index, std::string* out) {
  const Reflection* r = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out, repeated ? r->GetRepeatedInt64(message, field, index)
                                    : r->GetInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      absl::StrAppend(out, (repeated ? r->GetRepeatedBool(message, field, index)
                                     : r->GetBool(message, field))
                               ? "true"
                               : "false");
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      AppendJsonString(repeated ? r->GetRepeatedString(message, field, index)
                                : r->GetString(message, field),
                       out);
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      AppendObject(repeated ? r->GetRepeatedMessage(message, field, index)
                            : r->GetMessage(message, field),
                   out);
      break;
    default:
      // The User schema has no other scalar types; fail loudly if one is
      // added, rather than writing a shape the parser never sees.
      absl::StrAppend(out, "\"unsupported field type\"");
      break;
  }
}

void AppendObject(const Message& message, std::string* out) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  out->push_back('{');
  bool first = true;
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) continue;
    if (!first) out->push_back(',');
    first = false;
    // The upstream's names are the proto field names, except where a
    // json_name says otherwise (has_emm); protobuf's default json_name
    // would be lowerCamelCase.
    AppendJsonString(field->has_json_name() ? field->json_name()
                                            : field->name(),
                     out);
    out->push_back(':');
    if (!field->is_repeated()) {
      AppendValue(message, field, 0, out);
      continue;
    }
    out->push_back('[');
    const int size = message.GetReflection()->FieldSize(message, field);
    for (int i = 0; i < size; ++i) {
      if (i > 0) out->push_back(',');
      AppendValue(message, field, i, out);
    }
    out->push_back(']');
  }
  out->push_back('}');
}

}  // namespace

std::string WriteUpstreamUserJson(const Message& message) {
  std::string out;
  AppendObject(message, &out);
  return out;
}

}  // namespace fuzz
}  // namespace usergateway
