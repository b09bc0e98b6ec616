#include "gateway/upstream/curl_failure.h"

#include <curl/curl.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using E = TransportError;

TEST(CurlCodeTableTest, EveryCurlCodeHasExactlyOneRowInOrder) {
  std::set<int> seen;
  int previous = CURLE_OK;
  for (const CurlCodeRow& row : CurlCodeTable()) {
    EXPECT_GT(static_cast<int>(row.code), previous)
        << curl_easy_strerror(row.code);
    previous = row.code;
    EXPECT_TRUE(seen.insert(row.code).second) << row.code;
  }
  for (int code = CURLE_OK + 1; code < CURL_LAST; ++code) {
    EXPECT_EQ(seen.count(code), 1u)
        << code << " " << curl_easy_strerror(static_cast<CURLcode>(code));
  }
}

// One expectation per row of the table: the outcome with no flags set. A
// row whose rule looks at flags has its own cases below as well.
struct RowCase {
  CURLcode code;
  E expected;
};

TEST(CurlCodeTableTest, EachRowWithoutFlags) {
  const RowCase cases[] = {
      {CURLE_UNSUPPORTED_PROTOCOL, E::kInternal},
      {CURLE_FAILED_INIT, E::kInternal},
      {CURLE_URL_MALFORMAT, E::kInternal},
      {CURLE_NOT_BUILT_IN, E::kInternal},
      {CURLE_COULDNT_RESOLVE_PROXY, E::kDns},
      {CURLE_COULDNT_RESOLVE_HOST, E::kDns},
      {CURLE_COULDNT_CONNECT, E::kConnect},
      {CURLE_WEIRD_SERVER_REPLY, E::kProtocol},
      {CURLE_REMOTE_ACCESS_DENIED, E::kInternal},
      {CURLE_FTP_ACCEPT_FAILED, E::kInternal},
      {CURLE_FTP_WEIRD_PASS_REPLY, E::kInternal},
      {CURLE_FTP_ACCEPT_TIMEOUT, E::kInternal},
      {CURLE_FTP_WEIRD_PASV_REPLY, E::kInternal},
      {CURLE_FTP_WEIRD_227_FORMAT, E::kInternal},
      {CURLE_FTP_CANT_GET_HOST, E::kInternal},
      {CURLE_HTTP2, E::kHttp2},
      {CURLE_FTP_COULDNT_SET_TYPE, E::kInternal},
      {CURLE_PARTIAL_FILE, E::kConnectionReset},
      {CURLE_FTP_COULDNT_RETR_FILE, E::kInternal},
      {CURLE_OBSOLETE20, E::kInternal},
      {CURLE_QUOTE_ERROR, E::kInternal},
      {CURLE_HTTP_RETURNED_ERROR, E::kInternal},
      {CURLE_WRITE_ERROR, E::kInternal},
      {CURLE_OBSOLETE24, E::kInternal},
      {CURLE_UPLOAD_FAILED, E::kConnectionReset},
      {CURLE_READ_ERROR, E::kInternal},
      {CURLE_OUT_OF_MEMORY, E::kInternal},
      // No flags: neither connected nor the attempt's time used = the
      // connect timeout.
      {CURLE_OPERATION_TIMEDOUT, E::kConnect},
      {CURLE_OBSOLETE29, E::kInternal},
      {CURLE_FTP_PORT_FAILED, E::kInternal},
      {CURLE_FTP_COULDNT_USE_REST, E::kInternal},
      {CURLE_OBSOLETE32, E::kInternal},
      {CURLE_RANGE_ERROR, E::kInternal},
      {CURLE_HTTP_POST_ERROR, E::kInternal},
      {CURLE_SSL_CONNECT_ERROR, E::kTlsHandshake},
      {CURLE_BAD_DOWNLOAD_RESUME, E::kInternal},
      {CURLE_FILE_COULDNT_READ_FILE, E::kInternal},
      {CURLE_LDAP_CANNOT_BIND, E::kInternal},
      {CURLE_LDAP_SEARCH_FAILED, E::kInternal},
      {CURLE_OBSOLETE40, E::kInternal},
      {CURLE_FUNCTION_NOT_FOUND, E::kInternal},
      {CURLE_ABORTED_BY_CALLBACK, E::kInternal},
      {CURLE_BAD_FUNCTION_ARGUMENT, E::kInternal},
      {CURLE_OBSOLETE44, E::kInternal},
      {CURLE_INTERFACE_FAILED, E::kInternal},
      {CURLE_OBSOLETE46, E::kInternal},
      {CURLE_TOO_MANY_REDIRECTS, E::kInternal},
      {CURLE_UNKNOWN_OPTION, E::kInternal},
      {CURLE_SETOPT_OPTION_SYNTAX, E::kInternal},
      {CURLE_OBSOLETE50, E::kInternal},
      {CURLE_OBSOLETE51, E::kInternal},
      {CURLE_GOT_NOTHING, E::kConnectionReset},
      {CURLE_SSL_ENGINE_NOTFOUND, E::kTlsHandshake},
      {CURLE_SSL_ENGINE_SETFAILED, E::kTlsHandshake},
      {CURLE_SEND_ERROR, E::kConnectionReset},
      {CURLE_RECV_ERROR, E::kConnectionReset},
      {CURLE_OBSOLETE57, E::kInternal},
      {CURLE_SSL_CERTPROBLEM, E::kTlsHandshake},
      {CURLE_SSL_CIPHER, E::kTlsHandshake},
      {CURLE_PEER_FAILED_VERIFICATION, E::kTlsUntrusted},
      {CURLE_BAD_CONTENT_ENCODING, E::kProtocol},
      {CURLE_OBSOLETE62, E::kInternal},
      {CURLE_FILESIZE_EXCEEDED, E::kResponseTooLarge},
      {CURLE_USE_SSL_FAILED, E::kTlsHandshake},
      {CURLE_SEND_FAIL_REWIND, E::kInternal},
      {CURLE_SSL_ENGINE_INITFAILED, E::kTlsHandshake},
      {CURLE_LOGIN_DENIED, E::kInternal},
      {CURLE_TFTP_NOTFOUND, E::kInternal},
      {CURLE_TFTP_PERM, E::kInternal},
      {CURLE_REMOTE_DISK_FULL, E::kInternal},
      {CURLE_TFTP_ILLEGAL, E::kInternal},
      {CURLE_TFTP_UNKNOWNID, E::kInternal},
      {CURLE_REMOTE_FILE_EXISTS, E::kInternal},
      {CURLE_TFTP_NOSUCHUSER, E::kInternal},
      {CURLE_OBSOLETE75, E::kInternal},
      {CURLE_OBSOLETE76, E::kInternal},
      {CURLE_SSL_CACERT_BADFILE, E::kTlsHandshake},
      {CURLE_REMOTE_FILE_NOT_FOUND, E::kInternal},
      {CURLE_SSH, E::kInternal},
      {CURLE_SSL_SHUTDOWN_FAILED, E::kTlsHandshake},
      {CURLE_AGAIN, E::kInternal},
      {CURLE_SSL_CRL_BADFILE, E::kTlsHandshake},
      {CURLE_SSL_ISSUER_ERROR, E::kTlsUntrusted},
      {CURLE_FTP_PRET_FAILED, E::kInternal},
      {CURLE_RTSP_CSEQ_ERROR, E::kInternal},
      {CURLE_RTSP_SESSION_ERROR, E::kInternal},
      {CURLE_FTP_BAD_FILE_LIST, E::kInternal},
      {CURLE_CHUNK_FAILED, E::kInternal},
      {CURLE_NO_CONNECTION_AVAILABLE, E::kConnect},
      {CURLE_SSL_PINNEDPUBKEYNOTMATCH, E::kTlsUntrusted},
      {CURLE_SSL_INVALIDCERTSTATUS, E::kTlsUntrusted},
      {CURLE_HTTP2_STREAM, E::kHttp2},
      {CURLE_RECURSIVE_API_CALL, E::kInternal},
      {CURLE_AUTH_ERROR, E::kInternal},
      {CURLE_HTTP3, E::kInternal},
      {CURLE_QUIC_CONNECT_ERROR, E::kInternal},
      {CURLE_PROXY, E::kConnect},
      {CURLE_SSL_CLIENTCERT, E::kTlsHandshake},
      {CURLE_UNRECOVERABLE_POLL, E::kInternal},
  };
  // One case per row: a new row (or a removed one) must change this test.
  EXPECT_EQ(sizeof(cases) / sizeof(cases[0]), CurlCodeTable().size());
  for (const RowCase& c : cases) {
    CurlFailure failure;
    failure.code = c.code;
    EXPECT_EQ(ClassifyCurlFailure(failure), c.expected)
        << c.code << " " << curl_easy_strerror(c.code);
  }
}

TEST(ClassifyCurlFailureTest, OkAndUnknownCodes) {
  CurlFailure failure;
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kNone);
  failure.code = static_cast<CURLcode>(CURL_LAST + 7);  // a newer libcurl
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kProtocol);
}

TEST(ClassifyCurlFailureTest, Timeouts) {
  struct Case {
    bool connected;
    bool attempt_time_used;
    bool limit_is_call_deadline;
    E expected;
  };
  const Case cases[] = {
      // The connect timeout fired, time left on the attempt: retryable.
      {false, false, true, E::kConnect},
      {false, false, false, E::kConnect},
      // The attempt's limit fired: the call's deadline, or a per-attempt
      // timeout; connected or still waiting for a connection alike.
      {false, true, true, E::kDeadlineExceeded},
      {true, true, true, E::kDeadlineExceeded},
      {false, true, false, E::kAttemptTimeout},
      {true, true, false, E::kAttemptTimeout},
      // Connected, yet the limit not reached by libcurl's count: a
      // timeout after connecting is never the connect timeout.
      {true, false, true, E::kDeadlineExceeded},
      {true, false, false, E::kAttemptTimeout},
  };
  for (const Case& c : cases) {
    CurlFailure failure;
    failure.code = CURLE_OPERATION_TIMEDOUT;
    failure.connected = c.connected;
    failure.attempt_time_used = c.attempt_time_used;
    failure.limit_is_call_deadline = c.limit_is_call_deadline;
    EXPECT_EQ(ClassifyCurlFailure(failure), c.expected)
        << c.connected << c.attempt_time_used << c.limit_is_call_deadline;
  }
}

TEST(ClassifyCurlFailureTest, ReceiveErrorsByLibcurlsText) {
  CurlFailure failure;
  failure.code = CURLE_RECV_ERROR;
  failure.connected = true;
  failure.error_text = "Recv failure: Connection reset by peer";
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kConnectionReset);
  // Texts of libcurl 7.88.1 as Debian ships it (transfer.c; http.c with the
  // CVE-2023-38039 fix, which upstream released in 8.3.0).
  failure.error_text = "Illegal or missing hexadecimal sequence in "
                       "chunked-encoding";
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kProtocol);
  failure.error_text = "Too large response headers: 307201 > 307200";
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kResponseHeadersTooLarge);
}

TEST(ClassifyCurlFailureTest, WriteErrorsByWhichCapRefused) {
  CurlFailure failure;
  failure.code = CURLE_WRITE_ERROR;
  failure.connected = true;
  failure.body_cap_hit = true;
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kResponseTooLarge);
  failure.header_cap_hit = true;
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kResponseHeadersTooLarge);
  failure.budget_refused = true;
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kResponseBudgetExhausted);
}

TEST(ClassifyCurlFailureTest, AmbiguousFramingIsAProtocolError) {
  CurlFailure failure;
  failure.code = CURLE_WRITE_ERROR;
  failure.connected = true;
  failure.status_line_seen = true;
  failure.framing_refused = true;
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kProtocol);
}

TEST(ClassifyCurlFailureTest, RefusedResendIsAResetForTheScheduler) {
  CurlFailure failure;
  failure.code = CURLE_ABORTED_BY_CALLBACK;
  failure.connected = true;
  failure.resend_refused = true;
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kConnectionReset);
}

TEST(ClassifyCurlFailureTest, RefusedResendOnHttp2IsAnHttp2Error) {
  CurlFailure failure;
  failure.code = CURLE_ABORTED_BY_CALLBACK;
  failure.connected = true;
  failure.resend_refused = true;
  failure.on_http2 = true;  // GOAWAY or RST_STREAM(REFUSED_STREAM)
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kHttp2);
}

TEST(ClassifyCurlFailureTest, PeerVerificationByCause) {
  CurlFailure failure;
  failure.code = CURLE_PEER_FAILED_VERIFICATION;
  failure.error_text =
      "SSL certificate problem: unable to get local issuer certificate";
  failure.tls_verify_result = 20;  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kTlsUntrusted);
  failure.error_text = "SSL certificate problem: certificate has expired";
  failure.tls_verify_result = 10;  // X509_V_ERR_CERT_HAS_EXPIRED
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kTlsCertificateExpired);
  failure.error_text =
      "SSL: no alternative certificate subject name matches target host "
      "name 'api.example.com'";
  failure.tls_verify_result = 0;
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kTlsHostnameMismatch);
}

TEST(ClassifyCurlFailureTest, NotHttpOnceConnectedIsAProtocolError) {
  CurlFailure failure;
  failure.code = CURLE_UNSUPPORTED_PROTOCOL;
  failure.connected = true;
  failure.error_text = "Received HTTP/0.9 when not allowed";
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kProtocol);
}

TEST(ClassifyCurlFailureTest, OutOfMemoryAfterTheStatusLineIsAHugeHeader) {
  CurlFailure failure;
  failure.code = CURLE_OUT_OF_MEMORY;
  failure.connected = true;
  failure.status_line_seen = true;
  EXPECT_EQ(ClassifyCurlFailure(failure), E::kResponseHeadersTooLarge);
}

}  // namespace
}  // namespace usergateway
