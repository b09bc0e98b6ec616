// One reason a request field is invalid, as google.rpc.BadRequest carries it.
#ifndef USERGATEWAY_GATEWAY_COMMON_FIELD_VIOLATION_H_
#define USERGATEWAY_GATEWAY_COMMON_FIELD_VIOLATION_H_

#include <string>

namespace usergateway {

struct FieldViolation {
  // The field's path, e.g. "user_id" or (from an upstream envelope) "first_name".
  std::string field;
  // Why it is invalid, in words a caller can act on. Never holds secrets.
  std::string description;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_COMMON_FIELD_VIOLATION_H_
