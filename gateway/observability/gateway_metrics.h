// The gateway's metrics: every family it exports, made once at start-up on
// one Registry, with the children hot paths use resolved up front. Names
// and units follow the Prometheus conventions (_total, _seconds, _bytes);
// no label carries a user id, request id, key or other unbounded value.
//
//   usergateway_build_info{version}                       gauge, 1
//   usergateway_calls_total{code,reason}                  counter
//   usergateway_calls_in_flight                           gauge
//   usergateway_call_duration_seconds                     histogram
//   usergateway_upstream_attempts_total{status_class,transport_error}
//                                                         counter
//   usergateway_upstream_attempt_duration_seconds         histogram
//   usergateway_upstream_retries_total                    counter
//   usergateway_upstream_retries_refused_total            counter (budget)
//   usergateway_upstream_retry_after_waits_total          counter
//   usergateway_upstream_connections_opened_total         counter
//   usergateway_upstream_transfers_waiting                gauge (not yet sent)
//   usergateway_upstream_response_bytes_total             counter
//   usergateway_admission_refusals_total{reason}          counter
//   usergateway_api_key_reloads_total{result}             counter
//   usergateway_draining                                  gauge, 0 or 1
//   usergateway_call_log_dropped_total                    counter
//   usergateway_tenant_breaker_state{tenant}              gauge (0 closed,
//                                                         1 open, 2 half-open)
//   usergateway_tenant_refusals_total{tenant,reason}      counter
//   usergateway_tenants_reloads_total{result}             counter
// The tenant label is a name from the tenants file (tenants_file.h: at
// most 63 of [a-z0-9_-]), so bounded by what the operator configures.
//
// Example:
//
//   metrics::Registry registry;
//   GatewayMetrics gateway_metrics(&registry, "0.1.0");
//   options.upstream.metrics = &gateway_metrics.upstream;
//   ... gateway_metrics.Call("NOT_FOUND", "UPSTREAM_NOT_FOUND").Inc();
//
// Thread-safe (see metrics.h).
#ifndef USERGATEWAY_GATEWAY_OBSERVABILITY_GATEWAY_METRICS_H_
#define USERGATEWAY_GATEWAY_OBSERVABILITY_GATEWAY_METRICS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "gateway/observability/metrics.h"

namespace usergateway {

// What the upstream client records. Plain pointers into a Registry owned
// elsewhere; CurlUpstreamOptions::metrics may be null (nothing recorded).
struct UpstreamMetrics {
  metrics::CounterFamily* attempts = nullptr;  // {status_class, transport_error}
  metrics::Histogram* attempt_duration = nullptr;
  metrics::Counter* retries = nullptr;
  metrics::Counter* retries_refused = nullptr;
  metrics::Counter* retry_after_waits = nullptr;
  metrics::Counter* connections_opened = nullptr;
  metrics::Gauge* transfers_waiting = nullptr;
  metrics::Counter* response_bytes = nullptr;
  metrics::CounterFamily* admission_refusals = nullptr;  // {reason}
};

class GatewayMetrics {
 public:
  // Adds every family to `registry` (which must outlive this).
  GatewayMetrics(metrics::Registry* registry, absl::string_view version);

  // usergateway_calls_total's child for a gRPC code name ("OK") and an
  // ErrorInfo reason ("" for OK).
  metrics::Counter& Call(absl::string_view code, absl::string_view reason);

  metrics::Gauge& calls_in_flight() { return *calls_in_flight_; }
  metrics::Histogram& call_duration() { return *call_duration_; }
  metrics::Counter& api_key_reload(bool ok) {
    return ok ? *key_reloads_ok_ : *key_reloads_failed_;
  }
  metrics::Gauge& draining() { return *draining_; }
  metrics::Counter& call_log_dropped() { return *call_log_dropped_; }
  // Per tenant (--tenants_file), by the tenant's name.
  metrics::Gauge& TenantBreakerState(absl::string_view tenant) {
    return tenant_breaker_state_->Get({tenant});
  }
  metrics::Counter& TenantRefusal(absl::string_view tenant,
                                  absl::string_view reason) {
    return tenant_refusals_->Get({tenant, reason});
  }
  metrics::Counter& tenants_reload(bool ok) {
    return ok ? *tenants_reloads_ok_ : *tenants_reloads_failed_;
  }

  UpstreamMetrics upstream;

 private:
  metrics::CounterFamily* calls_;
  metrics::Gauge* calls_in_flight_;
  metrics::Histogram* call_duration_;
  metrics::Counter* key_reloads_ok_;
  metrics::Counter* key_reloads_failed_;
  metrics::Gauge* draining_;
  metrics::Counter* call_log_dropped_;
  metrics::GaugeFamily* tenant_breaker_state_;
  metrics::CounterFamily* tenant_refusals_;
  metrics::Counter* tenants_reloads_ok_;
  metrics::Counter* tenants_reloads_failed_;
};

// The status_class label of an upstream attempt: "2xx" .. "5xx" for an
// HTTP status, "none" when there was no response (see transport_error).
absl::string_view StatusClassLabel(int http_status);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_OBSERVABILITY_GATEWAY_METRICS_H_
