// The tenants file (--tenants_file): which upstream, API key and limits
// serve each enterprise_id. JSON, which is also valid YAML, so a ConfigMap
// may hold it under either name:
//
//   {
//     "tenants": [
//       {
//         "name": "acme",
//         "enterprise_id": "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79",
//         "base_url": "https://acme-api.esper.cloud/api",
//         "api_key_file": "/var/run/secrets/usergateway/acme/api-key",
//         "allowed_callers": ["spiffe://example.org/ns/crm/sa/crm-sync"],
//         "limits": {"requests_per_second": 20, "burst": 40,
//                    "breaker_failures": 5, "breaker_cooldown_ms": 10000}
//       }
//     ]
//   }
//
// Rules (each refusal names the tenant, or its index, and the field):
//   name             required, 1..63 of [a-z0-9_-], unique: it is the
//                    `tenant` label of metrics and ErrorInfo, so bounded
//   enterprise_id    required, 1..max_id_bytes visible ASCII, unique
//   base_url         required, ValidateBaseUrl (request_translator.h)
//   api_key_file     required, a path (read by the directory)
//   allowed_callers  optional, non-empty strings (SAN URI or DNS name);
//                    needs mTLS (--tls_client_ca)
//   limits           optional; requests_per_second > 0, burst >= 1,
//                    breaker_failures >= 0 (0: no breaker),
//                    breaker_cooldown_ms 1..3600000
// Unknown fields are refused, so that a misspelt limit is not ignored.
//
// Pure parsing; thread-safe.
#ifndef USERGATEWAY_GATEWAY_TENANCY_TENANTS_FILE_H_
#define USERGATEWAY_GATEWAY_TENANCY_TENANTS_FILE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/tenancy/tenant_guard.h"

namespace usergateway {

// One tenant, as the file says.
struct TenantSpec {
  std::string name;
  std::string enterprise_id;
  std::string base_url;
  std::string api_key_file;
  std::vector<std::string> allowed_callers;  // empty: any caller
  TenantLimits limits;
};

// What the rest of the configuration allows.
struct TenantsFileRules {
  bool allow_insecure_http = false;  // --allow_insecure_http
  bool mtls = false;                 // --tls_client_ca is set
  size_t max_id_bytes = 256;         // --max_id_bytes
};

// Parses and checks a tenants file's text. Returns the tenants in file
// order, or kInvalidArgument whose message names the tenant ("tenant
// \"acme\": base_url must start with https://...", or "tenants[2]: ..."
// before a name is known) and the field. Never quotes a key.
absl::StatusOr<std::vector<TenantSpec>> ParseTenantsFile(
    absl::string_view text, const TenantsFileRules& rules);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_TENANCY_TENANTS_FILE_H_
