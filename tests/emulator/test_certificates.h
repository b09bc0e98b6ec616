// Throw-away TLS material for tests: a self-signed CA, a server
// certificate it signed (valid for localhost, 127.0.0.1 and ::1), a client
// certificate it signed (for mutual TLS), and a "foreign" client
// certificate signed by a second CA that nothing trusts. Made with OpenSSL's
// C API so that no files are checked in and no openssl CLI is needed.
//
// Example:
//
//   absl::StatusOr<TestCertificates> certs =
//       GenerateTestCertificates(std::getenv("TEST_TMPDIR"));
//   EmulatorOptions options;
//   options.tls_cert_path = certs->server_cert_path;
//   options.tls_key_path = certs->server_key_path;
//   // clients trust certs->ca_cert_path; an mTLS client presents
//   // certs->client_cert_path and certs->client_key_path
#ifndef USERGATEWAY_TESTS_EMULATOR_TEST_CERTIFICATES_H_
#define USERGATEWAY_TESTS_EMULATOR_TEST_CERTIFICATES_H_

#include <string>

#include "absl/status/statusor.h"

namespace usergateway {
namespace testing {

// The identity in both client certificates (subjectAltName URI and DNS).
inline constexpr char kTestClientSpiffeId[] =
    "spiffe://test/ns/default/sa/caller";
inline constexpr char kTestClientDnsName[] = "caller.test";

// Paths of the PEM files GenerateTestCertificates wrote. Keys are PKCS#8,
// unencrypted; certificate files hold the leaf only.
struct TestCertificates {
  std::string ca_cert_path;      // <dir>/ca.pem: the CA to trust
  std::string server_cert_path;  // <dir>/server.pem: signed by the CA
  std::string server_key_path;   // <dir>/server.key
  std::string client_cert_path;  // <dir>/client.pem: signed by the CA
  std::string client_key_path;   // <dir>/client.key
  // A second CA, unrelated to the first, and a client certificate it signed
  // with the same names as client.pem: a caller that is not ours.
  std::string foreign_ca_cert_path;      // <dir>/foreign_ca.pem
  std::string foreign_client_cert_path;  // <dir>/foreign_client.pem
  std::string foreign_client_key_path;   // <dir>/foreign_client.key
};

// Creates `dir` if needed and writes fresh P-256 keys and certificates into
// it, all valid from an hour ago for 7 days:
//   server: CN localhost, SANs DNS:localhost, IP:127.0.0.1, IP:::1,
//           extendedKeyUsage serverAuth;
//   client and foreign client: CN caller, SANs URI:kTestClientSpiffeId,
//           DNS:kTestClientDnsName, extendedKeyUsage clientAuth.
// Each call makes new keys, so two calls give two CAs that do not trust each
// other. Returns InvalidArgument if `dir` is empty, Internal with OpenSSL's
// error text if a step fails, and the errno-based status if a file cannot be
// written.
absl::StatusOr<TestCertificates> GenerateTestCertificates(
    const std::string& dir);

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_EMULATOR_TEST_CERTIFICATES_H_
