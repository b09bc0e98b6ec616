// Throw-away TLS material for tests: a self-signed CA and a server
// certificate it signed, valid for localhost, 127.0.0.1 and ::1, made with
// OpenSSL's C API so that no files are checked in and no openssl CLI is
// needed.
//
// Example:
//
//   absl::StatusOr<TestCertificates> certs =
//       GenerateTestCertificates(std::getenv("TEST_TMPDIR"));
//   EmulatorOptions options;
//   options.tls_cert_path = certs->server_cert_path;
//   options.tls_key_path = certs->server_key_path;
//   // clients trust certs->ca_cert_path
#ifndef USERGATEWAY_TESTS_EMULATOR_TEST_CERTIFICATES_H_
#define USERGATEWAY_TESTS_EMULATOR_TEST_CERTIFICATES_H_

#include <string>

#include "absl/status/statusor.h"

namespace usergateway {
namespace testing {

// Paths of the PEM files GenerateTestCertificates wrote.
struct TestCertificates {
  std::string ca_cert_path;      // <dir>/ca.pem: the CA to trust
  std::string server_cert_path;  // <dir>/server.pem: leaf only
  std::string server_key_path;   // <dir>/server.key: PKCS#8, unencrypted
};

// Creates `dir` if needed and writes a fresh P-256 CA and server key pair
// and certificates into it (valid from an hour ago for 7 days; the leaf has
// SANs DNS:localhost, IP:127.0.0.1, IP:::1 and extendedKeyUsage
// serverAuth). Each call makes new keys, so two calls give two CAs that do
// not trust each other. Returns InvalidArgument if `dir` is empty, Internal
// with OpenSSL's error text if a step fails, and the errno-based status if
// a file cannot be written.
absl::StatusOr<TestCertificates> GenerateTestCertificates(
    const std::string& dir);

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_EMULATOR_TEST_CERTIFICATES_H_
