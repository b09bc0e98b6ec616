// Who is calling, as mutual TLS proves it: the identities in the caller's
// client certificate, for a tenant's allowed_callers (tenants_file.h).
//
// The identities are the certificate's subject alternative names that
// gRPC (1.51) exposes on the call's AuthContext: URIs (a SPIFFE id such as
// spiffe://example.org/ns/crm/sa/crm-sync; "peer_uri", "peer_spiffe_id")
// and DNS names ("peer_dns"), plus "x509_subject_alternative_name", which
// lists them all. A connection without a verified client certificate has
// none.
//
// Example:
//
//   std::vector<std::string> ids = CallerIdentities(context->auth_context());
//   if (!IsCallerAllowed(ids, tenant.spec.allowed_callers)) ... refuse ...
//
// Stateless free functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_INGRESS_CALLER_IDENTITY_H_
#define USERGATEWAY_GATEWAY_INGRESS_CALLER_IDENTITY_H_

#include <grpcpp/security/auth_context.h>

#include <memory>
#include <string>
#include <vector>

namespace usergateway {

// The caller's verified certificate identities, each once, or none when
// `auth` is null or its peer is not authenticated.
std::vector<std::string> CallerIdentities(
    const std::shared_ptr<const grpc::AuthContext>& auth);

// True when one of `identities` equals (exactly, case-sensitively) one of
// `allowed`.
bool IsCallerAllowed(const std::vector<std::string>& identities,
                     const std::vector<std::string>& allowed);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_CALLER_IDENTITY_H_
