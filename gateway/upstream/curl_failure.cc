#include "gateway/upstream/curl_failure.h"

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace usergateway {
namespace {

using E = TransportError;
using R = CurlCodeRule;

// OpenSSL's X509_V_ERR_CERT_HAS_EXPIRED (x509_vfy.h), without the header.
constexpr long kCertHasExpired = 10;  // NOLINT(runtime/int)

// Codes of protocols the gateway never speaks (CURLOPT_PROTOCOLS_STR is
// "http,https"), of features it never enables, and libcurl's unused
// numbers are kInternal: seeing one means the gateway misused libcurl.
constexpr CurlCodeRow kTable[] = {
    {CURLE_UNSUPPORTED_PROTOCOL, R::kUnsupportedProtocol, E::kInternal},
    {CURLE_FAILED_INIT, R::kFixed, E::kInternal},
    {CURLE_URL_MALFORMAT, R::kFixed, E::kInternal},
    {CURLE_NOT_BUILT_IN, R::kFixed, E::kInternal},
    {CURLE_COULDNT_RESOLVE_PROXY, R::kFixed, E::kDns},
    {CURLE_COULDNT_RESOLVE_HOST, R::kFixed, E::kDns},
    {CURLE_COULDNT_CONNECT, R::kFixed, E::kConnect},
    {CURLE_WEIRD_SERVER_REPLY, R::kFixed, E::kProtocol},
    {CURLE_REMOTE_ACCESS_DENIED, R::kFixed, E::kInternal},     // FTP etc.
    {CURLE_FTP_ACCEPT_FAILED, R::kFixed, E::kInternal},
    {CURLE_FTP_WEIRD_PASS_REPLY, R::kFixed, E::kInternal},
    {CURLE_FTP_ACCEPT_TIMEOUT, R::kFixed, E::kInternal},
    {CURLE_FTP_WEIRD_PASV_REPLY, R::kFixed, E::kInternal},
    {CURLE_FTP_WEIRD_227_FORMAT, R::kFixed, E::kInternal},
    {CURLE_FTP_CANT_GET_HOST, R::kFixed, E::kInternal},
    // Framing, GOAWAY or a reset stream: the connection may be fine for
    // the next request.
    {CURLE_HTTP2, R::kFixed, E::kHttp2},
    {CURLE_FTP_COULDNT_SET_TYPE, R::kFixed, E::kInternal},
    // The connection closed before the announced body was complete.
    {CURLE_PARTIAL_FILE, R::kFixed, E::kConnectionReset},
    {CURLE_FTP_COULDNT_RETR_FILE, R::kFixed, E::kInternal},
    {CURLE_OBSOLETE20, R::kFixed, E::kInternal},
    {CURLE_QUOTE_ERROR, R::kFixed, E::kInternal},
    // Only with CURLOPT_FAILONERROR, which the gateway leaves off.
    {CURLE_HTTP_RETURNED_ERROR, R::kFixed, E::kInternal},
    {CURLE_WRITE_ERROR, R::kWrite, E::kInternal},
    {CURLE_OBSOLETE24, R::kFixed, E::kInternal},
    // Sending the request body failed mid-way: the connection broke.
    {CURLE_UPLOAD_FAILED, R::kFixed, E::kConnectionReset},
    {CURLE_READ_ERROR, R::kFixed, E::kInternal},  // our body is in memory
    {CURLE_OUT_OF_MEMORY, R::kOutOfMemory, E::kInternal},
    {CURLE_OPERATION_TIMEDOUT, R::kTimeout, E::kDeadlineExceeded},
    {CURLE_OBSOLETE29, R::kFixed, E::kInternal},
    {CURLE_FTP_PORT_FAILED, R::kFixed, E::kInternal},
    {CURLE_FTP_COULDNT_USE_REST, R::kFixed, E::kInternal},
    {CURLE_OBSOLETE32, R::kFixed, E::kInternal},
    {CURLE_RANGE_ERROR, R::kFixed, E::kInternal},  // no ranges requested
    {CURLE_HTTP_POST_ERROR, R::kFixed, E::kInternal},
    {CURLE_SSL_CONNECT_ERROR, R::kFixed, E::kTlsHandshake},
    {CURLE_BAD_DOWNLOAD_RESUME, R::kFixed, E::kInternal},
    {CURLE_FILE_COULDNT_READ_FILE, R::kFixed, E::kInternal},
    {CURLE_LDAP_CANNOT_BIND, R::kFixed, E::kInternal},
    {CURLE_LDAP_SEARCH_FAILED, R::kFixed, E::kInternal},
    {CURLE_OBSOLETE40, R::kFixed, E::kInternal},
    {CURLE_FUNCTION_NOT_FOUND, R::kFixed, E::kInternal},
    {CURLE_ABORTED_BY_CALLBACK, R::kAbortedByCallback, E::kInternal},
    {CURLE_BAD_FUNCTION_ARGUMENT, R::kFixed, E::kInternal},
    {CURLE_OBSOLETE44, R::kFixed, E::kInternal},
    {CURLE_INTERFACE_FAILED, R::kFixed, E::kInternal},  // never set
    {CURLE_OBSOLETE46, R::kFixed, E::kInternal},
    {CURLE_TOO_MANY_REDIRECTS, R::kFixed, E::kInternal},  // never followed
    {CURLE_UNKNOWN_OPTION, R::kFixed, E::kInternal},
    {CURLE_SETOPT_OPTION_SYNTAX, R::kFixed, E::kInternal},
    {CURLE_OBSOLETE50, R::kFixed, E::kInternal},
    {CURLE_OBSOLETE51, R::kFixed, E::kInternal},
    // The server closed the connection without a byte of response.
    {CURLE_GOT_NOTHING, R::kFixed, E::kConnectionReset},
    {CURLE_SSL_ENGINE_NOTFOUND, R::kFixed, E::kTlsHandshake},
    {CURLE_SSL_ENGINE_SETFAILED, R::kFixed, E::kTlsHandshake},
    {CURLE_SEND_ERROR, R::kFixed, E::kConnectionReset},
    {CURLE_RECV_ERROR, R::kReceive, E::kConnectionReset},
    {CURLE_OBSOLETE57, R::kFixed, E::kInternal},
    {CURLE_SSL_CERTPROBLEM, R::kFixed, E::kTlsHandshake},  // client cert
    {CURLE_SSL_CIPHER, R::kFixed, E::kTlsHandshake},
    {CURLE_PEER_FAILED_VERIFICATION, R::kPeerVerification, E::kTlsUntrusted},
    // A Content-Encoding the gateway cannot decode: the reply is unusable.
    {CURLE_BAD_CONTENT_ENCODING, R::kFixed, E::kProtocol},
    {CURLE_OBSOLETE62, R::kFixed, E::kInternal},
    {CURLE_FILESIZE_EXCEEDED, R::kFixed, E::kResponseTooLarge},
    {CURLE_USE_SSL_FAILED, R::kFixed, E::kTlsHandshake},
    {CURLE_SEND_FAIL_REWIND, R::kFixed, E::kInternal},  // body in memory
    {CURLE_SSL_ENGINE_INITFAILED, R::kFixed, E::kTlsHandshake},
    {CURLE_LOGIN_DENIED, R::kFixed, E::kInternal},
    {CURLE_TFTP_NOTFOUND, R::kFixed, E::kInternal},
    {CURLE_TFTP_PERM, R::kFixed, E::kInternal},
    {CURLE_REMOTE_DISK_FULL, R::kFixed, E::kInternal},
    {CURLE_TFTP_ILLEGAL, R::kFixed, E::kInternal},
    {CURLE_TFTP_UNKNOWNID, R::kFixed, E::kInternal},
    {CURLE_REMOTE_FILE_EXISTS, R::kFixed, E::kInternal},
    {CURLE_TFTP_NOSUCHUSER, R::kFixed, E::kInternal},
    {CURLE_OBSOLETE75, R::kFixed, E::kInternal},
    {CURLE_OBSOLETE76, R::kFixed, E::kInternal},
    // Our CA bundle could not be read: configuration, not the peer.
    {CURLE_SSL_CACERT_BADFILE, R::kFixed, E::kTlsHandshake},
    {CURLE_REMOTE_FILE_NOT_FOUND, R::kFixed, E::kInternal},
    {CURLE_SSH, R::kFixed, E::kInternal},
    {CURLE_SSL_SHUTDOWN_FAILED, R::kFixed, E::kTlsHandshake},
    {CURLE_AGAIN, R::kFixed, E::kInternal},  // CONNECT_ONLY only
    {CURLE_SSL_CRL_BADFILE, R::kFixed, E::kTlsHandshake},
    {CURLE_SSL_ISSUER_ERROR, R::kFixed, E::kTlsUntrusted},
    {CURLE_FTP_PRET_FAILED, R::kFixed, E::kInternal},
    {CURLE_RTSP_CSEQ_ERROR, R::kFixed, E::kInternal},
    {CURLE_RTSP_SESSION_ERROR, R::kFixed, E::kInternal},
    {CURLE_FTP_BAD_FILE_LIST, R::kFixed, E::kInternal},
    {CURLE_CHUNK_FAILED, R::kFixed, E::kInternal},  // FTP wildcards
    {CURLE_NO_CONNECTION_AVAILABLE, R::kFixed, E::kConnect},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, R::kFixed, E::kTlsUntrusted},
    {CURLE_SSL_INVALIDCERTSTATUS, R::kFixed, E::kTlsUntrusted},
    {CURLE_HTTP2_STREAM, R::kFixed, E::kHttp2},
    {CURLE_RECURSIVE_API_CALL, R::kFixed, E::kInternal},
    {CURLE_AUTH_ERROR, R::kFixed, E::kInternal},  // no HTTP auth schemes
    {CURLE_HTTP3, R::kFixed, E::kInternal},       // never offered
    {CURLE_QUIC_CONNECT_ERROR, R::kFixed, E::kInternal},
    // A proxy on the way refused or failed the tunnel.
    {CURLE_PROXY, R::kFixed, E::kConnect},
    {CURLE_SSL_CLIENTCERT, R::kFixed, E::kTlsHandshake},
    {CURLE_UNRECOVERABLE_POLL, R::kFixed, E::kInternal},
};

static_assert(sizeof(kTable) / sizeof(kTable[0]) == CURL_LAST - 1,
              "every CURLcode needs a row");

}  // namespace

absl::Span<const CurlCodeRow> CurlCodeTable() { return kTable; }

TransportError ClassifyCurlFailure(const CurlFailure& failure) {
  if (failure.code == CURLE_OK) return E::kNone;
  const CurlCodeRow* row = nullptr;
  for (const CurlCodeRow& candidate : kTable) {
    if (candidate.code == failure.code) {
      row = &candidate;
      break;
    }
  }
  if (row == nullptr) return E::kProtocol;
  switch (row->rule) {
    case R::kFixed:
      return row->error;
    case R::kTimeout:
      if (!failure.attempt_time_used && !failure.connected) {
        return E::kConnect;  // the connect timeout, with time left
      }
      return failure.limit_is_call_deadline ? E::kDeadlineExceeded
                                            : E::kAttemptTimeout;
    case R::kReceive:
      if (absl::StrContains(failure.error_text, "chunked-encoding")) {
        return E::kProtocol;
      }
      if (absl::StrContains(failure.error_text, "Too large response headers")) {
        return E::kResponseHeadersTooLarge;
      }
      return row->error;
    case R::kWrite:
      if (failure.framing_refused) return E::kProtocol;
      if (failure.budget_refused) return E::kResponseBudgetExhausted;
      if (failure.header_cap_hit) return E::kResponseHeadersTooLarge;
      if (failure.body_cap_hit) return E::kResponseTooLarge;
      return row->error;
    case R::kAbortedByCallback:
      if (!failure.resend_refused) return row->error;
      return failure.on_http2 ? E::kHttp2 : E::kConnectionReset;
    case R::kPeerVerification:
      if (failure.tls_verify_result == kCertHasExpired) {
        return E::kTlsCertificateExpired;
      }
      // libcurl's own host name check, after the chain verified.
      if (absl::StrContains(failure.error_text, "target host name")) {
        return E::kTlsHostnameMismatch;
      }
      return row->error;
    case R::kUnsupportedProtocol:
      return failure.connected ? E::kProtocol : row->error;
    case R::kOutOfMemory:
      return failure.status_line_seen ? E::kResponseHeadersTooLarge
                                      : row->error;
  }
  return row->error;
}

}  // namespace usergateway
