#include "gateway/ingress/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gateway/common/file_util.h"
#include "gateway/common/log_line.h"
#include "gateway/ingress/call_log.h"

namespace usergateway {
namespace {

// After the drain grace: how long the loops get to deliver the
// GATEWAY_DRAINING answers, and gRPC to flush them before it cancels.
constexpr absl::Duration kAbortWait = absl::Seconds(2);
constexpr absl::Duration kShutdownFlush = absl::Seconds(1);

struct OpenSslFree {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using BioPtr = std::unique_ptr<BIO, OpenSslFree>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree>;

// Refuses a passphrase: without it OpenSSL would prompt on the terminal for
// an encrypted key, and start-up would hang instead of failing.
int NoPassphrase(char*, int, int, void*) { return -1; }

// Returns the first certificate of the PEM file given as --`flag`, or
// kInvalidArgument naming the flag when the file cannot be read or holds
// no certificate. Clears OpenSSL's error queue either way.
absl::StatusOr<X509Ptr> ReadFirstCertificate(absl::string_view flag,
                                             const std::string& path) {
  std::optional<std::string> pem = ReadFileToString(path);
  if (!pem.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read file ", path));
  }
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  X509Ptr cert(bio == nullptr ? nullptr
                              : PEM_read_bio_X509(bio.get(), nullptr,
                                                  NoPassphrase, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": no PEM certificate in ", path));
  }
  return cert;
}

// Checks, once at start, what gRPC's file watcher would otherwise only log
// (and then refuse every handshake): that --tls_cert holds a certificate,
// --tls_key an unencrypted private key that matches it, and
// --tls_client_ca at least one certificate. Returns kInvalidArgument naming
// the flag.
absl::Status CheckTlsFiles(const Config& config) {
  absl::StatusOr<X509Ptr> cert =
      ReadFirstCertificate("tls_cert", config.tls_cert_file);
  if (!cert.ok()) return cert.status();
  std::optional<std::string> key_pem = ReadFileToString(config.tls_key_file);
  if (!key_pem.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key: cannot read file ", config.tls_key_file));
  }
  BioPtr bio(
      BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  KeyPtr key(bio == nullptr ? nullptr
                            : PEM_read_bio_PrivateKey(bio.get(), nullptr,
                                                      NoPassphrase, nullptr));
  const bool matches =
      key != nullptr && X509_check_private_key(cert->get(), key.get()) == 1;
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key: no unencrypted PEM private key in ",
        config.tls_key_file));
  }
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key: ", config.tls_key_file,
        " is not the key of the certificate in --tls_cert (",
        config.tls_cert_file, ")"));
  }
  if (!config.tls_client_ca_file.empty()) {
    absl::StatusOr<X509Ptr> ca =
        ReadFirstCertificate("tls_client_ca", config.tls_client_ca_file);
    if (!ca.ok()) return ca.status();
  }
  return absl::OkStatus();
}

// Plain text without --tls_cert. With it, TLS whose certificate, key and
// (for mTLS) client CA come from gRPC's FileWatcherCertificateProvider: it
// re-reads the files every tls_reload_interval, by path (so a Kubernetes
// Secret's symlink swap is seen), and hands changed contents to the
// server's TLS stack, which uses them for handshakes from then on;
// connections already open keep their session. With --tls_client_ca a
// caller must present a certificate that chains to it. Returns
// kInvalidArgument naming the flag for files CheckTlsFiles refuses.
//
// Only start-up is checked here. gRPC (1.51) drops its old TLS context
// before it builds the new one, so a later read that finds a key and
// certificate that do not match (files replaced one at a time, not in one
// atomic swap as the kubelet does) fails new handshakes until a later read
// finds a matching pair; gRPC logs "Update handshaker factory failed".
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const Config& config) {
  if (config.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  if (absl::Status status = CheckTlsFiles(config); !status.ok()) {
    return status;
  }
  const unsigned int reload_seconds = static_cast<unsigned int>(std::clamp(
      absl::ToInt64Seconds(config.tls_reload_interval), int64_t{1},
      int64_t{UINT32_MAX}));
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          config.tls_key_file, config.tls_cert_file,
          config.tls_client_ca_file, reload_seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (config.tls_client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

// Writes `port` and a newline to `path` through a sibling file renamed over
// it, so that a reader polling for the file never sees it half written.
// Returns kInternal naming --`flag` when that fails.
absl::Status WritePortFile(absl::string_view flag, const std::string& path,
                           int port) {
  const std::string tmp = path + ".tmp";
  bool ok;
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    out.close();
    ok = static_cast<bool>(out);
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) {
    return absl::OkStatus();
  }
  std::remove(tmp.c_str());
  return absl::InternalError(
      absl::StrCat("cannot write --", flag, " ", path));
}

// A before_scrape hook that brings `counter` (usergateway_call_log_dropped_
// total) up to the lines `writer` dropped so far: the writer counts them
// itself, lock-free, and a counter only moves by Inc. Concurrent scrapes
// take turns, so that two never add the same difference. Both must outlive
// the hook.
std::function<void()> SyncCallLogDropped(const CallLogWriter* writer,
                                         metrics::Counter* counter) {
  auto mu = std::make_shared<std::mutex>();
  return [writer, counter, mu] {
    std::lock_guard<std::mutex> lock(*mu);
    const uint64_t dropped = writer->dropped();
    const uint64_t exported = counter->Value();
    if (dropped > exported) counter->Inc(dropped - exported);
  };
}

// Starts the admin server on config.admin_listen, running `before_scrape`
// (may be empty) before each scrape, and writes its port to
// config.admin_port_file when set. Returns kInvalidArgument for an address
// SplitHostPort refuses, or AdminServer::Start's or WritePortFile's error.
absl::StatusOr<std::unique_ptr<AdminServer>> StartAdminServer(
    const Config& config, const metrics::Registry* registry,
    std::function<void()> before_scrape) {
  absl::StatusOr<HostPort> address = SplitHostPort(config.admin_listen);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin_listen=", config.admin_listen, ": ",
                     address.status().message()));
  }
  AdminServerOptions options;
  options.host = address->host;
  options.port = address->port;
  options.before_scrape = std::move(before_scrape);
  absl::StatusOr<std::unique_ptr<AdminServer>> admin =
      AdminServer::Start(std::move(options), registry);
  if (!admin.ok()) return admin.status();
  if (!config.admin_port_file.empty()) {
    absl::Status written = WritePortFile(
        "admin_port_file", config.admin_port_file, (*admin)->port());
    if (!written.ok()) return written;
  }
  return admin;
}

// Loads --tenants_file, whose tenants take the gateway's translator
// settings (path template, user agent, forwarded metadata) with their own
// base URL and key. Reloads, key reloads and breaker transitions are
// counted in `metrics`; transitions are also logged. Returns
// TenantDirectory::Load's error.
absl::StatusOr<std::unique_ptr<TenantDirectory>> LoadTenants(
    const Config& config, GatewayMetrics* metrics) {
  TenantDirectoryOptions options;
  options.path = config.tenants_file;
  options.reload_interval = config.tenants_reload_interval;
  options.key_reload_interval = config.api_key_reload_interval;
  options.rules.allow_insecure_http = config.upstream.allow_insecure_http;
  options.rules.mtls = !config.tls_client_ca_file.empty();
  options.rules.max_id_bytes = config.limits.max_id_bytes;
  options.translator = config.translator;
  options.on_reload = [metrics](bool ok) {
    metrics->tenants_reload(ok).Inc();
  };
  options.on_key_reload = [metrics](bool ok) {
    metrics->api_key_reload(ok).Inc();
  };
  options.on_breaker = [metrics](const std::string& tenant, BreakerState from,
                                 BreakerState to) {
    metrics->TenantBreakerState(tenant).Set(static_cast<int64_t>(to));
    if (from == to) return;  // a new tenant's guard
    WriteLogLine(to == BreakerState::kClosed ? "info" : "warning",
                 absl::StrCat("tenant \"", tenant, "\": circuit breaker ",
                              BreakerStateName(from), " -> ",
                              BreakerStateName(to)));
  };
  absl::StatusOr<std::unique_ptr<TenantDirectory>> tenants =
      TenantDirectory::Load(std::move(options));
  return tenants;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    const Config& config) {
  std::unique_ptr<GatewayServer> self(new GatewayServer());
  self->config_ = config;
  self->registry_ = std::make_unique<metrics::Registry>();
  self->metrics_ =
      std::make_unique<GatewayMetrics>(self->registry_.get(), kGatewayVersion);

  GatewayMetrics* gateway_metrics = self->metrics_.get();
  // With a tenants file, each tenant has its key; the single key is then
  // only read when one is configured (and not used).
  if (config.tenants_file.empty() || !config.api_key_file.empty() ||
      !config.api_key_env_value.empty()) {
    absl::StatusOr<std::unique_ptr<ApiKeySource>> key =
        config.api_key_file.empty()
            ? ApiKeySource::FromValue(config.api_key_env_value)
            : ApiKeySource::FromFile(config.api_key_file,
                                     config.api_key_reload_interval);
    if (!key.ok()) return key.status();
    self->api_key_ = *std::move(key);
    self->api_key_->SetReloadObserver([gateway_metrics](bool ok) {
      gateway_metrics->api_key_reload(ok).Inc();
    });
  }
  if (!config.tenants_file.empty()) {
    absl::StatusOr<std::unique_ptr<TenantDirectory>> tenants =
        LoadTenants(config, gateway_metrics);
    if (!tenants.ok()) return tenants.status();
    self->tenants_ = *std::move(tenants);
  }

  // Metrics are recorded only when something can read them: without
  // --admin_listen the hot paths skip them entirely.
  const bool record_metrics = !config.admin_listen.empty();
  CurlUpstreamOptions upstream_options = config.upstream;
  if (record_metrics) upstream_options.metrics = &self->metrics_->upstream;
  absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> upstream =
      CurlUpstreamClient::Create(upstream_options);
  if (!upstream.ok()) return upstream.status();
  self->upstream_ = *std::move(upstream);

  ServiceOptions service_options;
  service_options.translator = config.translator;
  service_options.limits = config.limits;
  service_options.log_calls = config.log_calls;
  if (record_metrics) service_options.metrics = self->metrics_.get();
  service_options.tenants = self->tenants_.get();
  self->service_ = std::make_unique<UserProfileService>(
      service_options, self->upstream_.get(), self->api_key_.get());

  if (!config.admin_listen.empty()) {
    std::function<void()> before_scrape;
    if (const CallLogWriter* writer = self->service_->call_log_writer();
        writer != nullptr) {
      before_scrape =
          SyncCallLogDropped(writer, &self->metrics_->call_log_dropped());
    }
    absl::StatusOr<std::unique_ptr<AdminServer>> admin = StartAdminServer(
        config, self->registry_.get(), std::move(before_scrape));
    if (!admin.ok()) return admin.status();
    self->admin_ = *std::move(admin);
  }

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      Credentials(config);
  if (!credentials.ok()) return credentials.status();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *credentials, &self->port_);
  builder.RegisterService(self->service_.get());
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(config.max_connection_age), INT32_MAX)));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
      static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(config.max_connection_age_grace),
          INT32_MAX)));
  self->server_ = builder.BuildAndStart();
  if (self->server_ == nullptr || self->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen));
  }
  grpc::HealthCheckServiceInterface* health =
      self->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);
  if (self->admin_ != nullptr) self->admin_->SetServing();
  return self;
}

void GatewayServer::Drain() {
  if (drained_) return;
  drained_ = true;
  // Health first, so that probes and load balancers stop sending calls;
  // calls that still arrive during the delay are served.
  server_->GetHealthCheckService()->SetServingStatus(false);
  if (admin_ != nullptr) admin_->SetDraining();
  metrics_->draining().Set(1);
  absl::SleepFor(config_.drain_delay);
  // From here the gateway answers new calls itself, UNAVAILABLE with
  // GATEWAY_DRAINING and RetryInfo (the upstream client refuses them), so
  // that callers learn why and retry elsewhere; gRPC still accepts them.
  upstream_->Drain();
  if (!upstream_->WaitIdle(absl::Now() + config_.drain_grace)) {
    // Grace is over: the gateway, not gRPC, ends what is left, with the
    // same answer, and aborts the upstream transfers.
    upstream_->AbortInFlight(
        "the gateway's drain grace period ended before the upstream "
        "answered");
    upstream_->WaitIdle(absl::Now() + kAbortWait);
  }
  // Only now does gRPC stop accepting calls; the short deadline lets the
  // answers just given reach their callers.
  server_->Shutdown(absl::ToChronoTime(absl::Now() + kShutdownFlush));
  server_->Wait();
}

GatewayServer::~GatewayServer() {
  if (server_ != nullptr && !drained_) {
    drained_ = true;
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_->Wait();
  }
  if (admin_ != nullptr) admin_->Stop();
  // The upstream client stops its loop (remaining calls report CANCELLED)
  // before the service and key source it calls into go away.
  upstream_.reset();
}

}  // namespace usergateway
