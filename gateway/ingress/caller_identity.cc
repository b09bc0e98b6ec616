#include "gateway/ingress/caller_identity.h"

#include <grpc/grpc_security_constants.h>

#include <algorithm>

namespace usergateway {

std::vector<std::string> CallerIdentities(
    const std::shared_ptr<const grpc::AuthContext>& auth) {
  std::vector<std::string> ids;
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return ids;
  for (const char* property :
       {GRPC_PEER_URI_PROPERTY_NAME, GRPC_PEER_SPIFFE_ID_PROPERTY_NAME,
        GRPC_PEER_DNS_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
    for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
      std::string id(value.data(), value.size());
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
        ids.push_back(std::move(id));
      }
    }
  }
  return ids;
}

bool IsCallerAllowed(const std::vector<std::string>& identities,
                     const std::vector<std::string>& allowed) {
  for (const std::string& id : identities) {
    if (std::find(allowed.begin(), allowed.end(), id) != allowed.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace usergateway
