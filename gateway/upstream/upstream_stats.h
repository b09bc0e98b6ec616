// Counters of the upstream client, for tests and (later) metrics.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_STATS_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_STATS_H_

#include <cstddef>
#include <cstdint>

namespace usergateway {

// Each field is read atomically on its own; the set is not one snapshot.
struct CurlUpstreamStats {
  uint64_t connections_opened = 0;  // new connections (CURLINFO_NUM_CONNECTS)
  uint64_t transfers = 0;           // HTTP attempts that ran in libcurl
  uint64_t retries = 0;             // attempts after a call's first
  // Requests sent on a TLS connection whose session was resumed (the
  // loop's share handle), not negotiated in full.
  uint64_t tls_sessions_resumed = 0;
  size_t in_flight = 0;             // from Start until its callback returned
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_STATS_H_
