#include "gateway/observability/gateway_metrics.h"

#include <string>

#include "absl/strings/string_view.h"
#include "gateway/observability/metrics.h"

namespace usergateway {

GatewayMetrics::GatewayMetrics(metrics::Registry* registry,
                               absl::string_view version) {
  registry
      ->AddGauge("usergateway_build_info",
                 "Always 1; the version label says which build runs.",
                 {"version"})
      .Get({version})
      .Set(1);
  calls_ = &registry->AddCounter(
      "usergateway_calls_total",
      "UpdateUserProfile calls answered, by gRPC code and ErrorInfo reason "
      "(empty for OK).",
      {"code", "reason"});
  calls_in_flight_ = &registry
                          ->AddGauge("usergateway_calls_in_flight",
                                     "UpdateUserProfile calls being handled.",
                                     {})
                          .Get({});
  call_duration_ =
      &registry
           ->AddHistogram("usergateway_call_duration_seconds",
                          "Time from receiving a call to answering it.", {},
                          metrics::DefaultLatencyBuckets())
           .Get({});
  upstream.attempts = &registry->AddCounter(
      "usergateway_upstream_attempts_total",
      "Upstream HTTP attempts, by status class of the response (none when "
      "there was none) and transport error (none when the response came).",
      {"status_class", "transport_error"});
  upstream.attempt_duration =
      &registry
           ->AddHistogram("usergateway_upstream_attempt_duration_seconds",
                          "Time of one upstream attempt, connection included.",
                          {}, metrics::DefaultLatencyBuckets())
           .Get({});
  upstream.retries =
      &registry
           ->AddCounter("usergateway_upstream_retries_total",
                        "Upstream attempts after a call's first one, "
                        "libcurl's own re-sends included.",
                        {})
           .Get({});
  upstream.retries_refused =
      &registry
           ->AddCounter("usergateway_upstream_retries_refused_total",
                        "Retries the policy wanted that the retry budget "
                        "refused.",
                        {})
           .Get({});
  upstream.retry_after_waits =
      &registry
           ->AddCounter("usergateway_upstream_retry_after_waits_total",
                        "Retries that waited for the upstream's Retry-After.",
                        {})
           .Get({});
  upstream.connections_opened =
      &registry
           ->AddCounter("usergateway_upstream_connections_opened_total",
                        "New upstream connections (TCP, and TLS when https).",
                        {})
           .Get({});
  upstream.transfers_waiting =
      &registry
           ->AddGauge("usergateway_upstream_transfers_waiting",
                      "Upstream attempts started whose request is not sent "
                      "yet: resolving, connecting, or waiting for a "
                      "connection slot.",
                      {})
           .Get({});
  upstream.response_bytes =
      &registry
           ->AddCounter("usergateway_upstream_response_bytes_total",
                        "Upstream response body bytes received.", {})
           .Get({});
  upstream.admission_refusals = &registry->AddCounter(
      "usergateway_admission_refusals_total",
      "Calls the gateway refused before any upstream attempt: overloaded "
      "(--max_in_flight) or draining.",
      {"reason"});
  metrics::CounterFamily& reloads = registry->AddCounter(
      "usergateway_api_key_reloads_total",
      "Re-reads of a changed API key file: ok, or failed (the last good key "
      "stays).",
      {"result"});
  key_reloads_ok_ = &reloads.Get({"ok"});
  key_reloads_failed_ = &reloads.Get({"failed"});
  draining_ = &registry
                   ->AddGauge("usergateway_draining",
                              "1 once a drain (SIGTERM) began, else 0.", {})
                   .Get({});
  call_log_dropped_ =
      &registry
           ->AddCounter("usergateway_call_log_dropped_total",
                        "Call log lines dropped because the log writer "
                        "fell behind.",
                        {})
           .Get({});
  tenant_breaker_state_ = &registry->AddGauge(
      "usergateway_tenant_breaker_state",
      "Circuit breaker of each tenant of --tenants_file: 0 closed, 1 open, "
      "2 half-open (one probe call).",
      {"tenant"});
  tenant_refusals_ = &registry->AddCounter(
      "usergateway_tenant_refusals_total",
      "Calls refused on a tenant's behalf before any upstream attempt, by "
      "tenant and ErrorInfo reason.",
      {"tenant", "reason"});
  metrics::CounterFamily& tenants_reloads = registry->AddCounter(
      "usergateway_tenants_reloads_total",
      "Re-reads of a changed tenants file: ok, or failed (the last good "
      "tenants stay).",
      {"result"});
  tenants_reloads_ok_ = &tenants_reloads.Get({"ok"});
  tenants_reloads_failed_ = &tenants_reloads.Get({"failed"});
}

metrics::Counter& GatewayMetrics::Call(absl::string_view code,
                                       absl::string_view reason) {
  return calls_->Get({code, reason});
}

absl::string_view StatusClassLabel(int http_status) {
  switch (http_status / 100) {
    case 1:
      return "1xx";
    case 2:
      return "2xx";
    case 3:
      return "3xx";
    case 4:
      return "4xx";
    case 5:
      return "5xx";
    default:
      return "none";
  }
}

}  // namespace usergateway
