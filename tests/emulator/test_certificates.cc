#include "tests/emulator/test_certificates.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace usergateway {
namespace testing {
namespace {

struct OpenSslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(BIO* p) const { BIO_free_all(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree>;
using CertPtr = std::unique_ptr<X509, OpenSslFree>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree>;

// Returns the status for `error` (an errno value), saying `what` failed.
absl::Status ErrnoError(int error, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(what, ": ", std::strerror(error)));
}

// Returns Internal with `what` and OpenSSL's queued error text (which it
// clears, so that later calls on this thread start clean).
absl::Status OpenSslError(absl::string_view what) {
  std::string detail;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!detail.empty()) detail.append("; ");
    detail.append(buffer);
  }
  return absl::InternalError(
      absl::StrCat(what, " failed", detail.empty() ? "" : ": ", detail));
}

absl::StatusOr<KeyPtr> NewKey() {
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError("EC P-256 key generation");
  return key;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr extension(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value)));
  if (extension == nullptr || X509_add_ext(cert, extension.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("adding extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

struct Extension {
  int nid;
  const char* value;
};

// Makes a certificate for `key` named `common_name`, signed by
// `issuer_key`; `issuer` is null for a self-signed certificate.
absl::StatusOr<CertPtr> NewCertificate(EVP_PKEY* key,
                                       const char* common_name,
                                       X509* issuer, EVP_PKEY* issuer_key,
                                       std::initializer_list<Extension> exts) {
  CertPtr cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  BignumPtr serial(BN_new());
  if (serial == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ==
          nullptr) {
    return OpenSslError("setting version and serial");
  }
  // Starts an hour ago so that small clock differences do not matter.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 24 * 3600) ==
          nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("setting validity and key");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "O", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>("usergateway tests"), -1, -1,
          0) != 1 ||
      X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>(common_name), -1, -1,
          0) != 1) {
    return OpenSslError("setting subject");
  }
  X509* signer = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) {
    return OpenSslError("setting issuer");
  }
  for (const Extension& ext : exts) {
    absl::Status status = AddExtension(cert.get(), signer, ext.nid, ext.value);
    if (!status.ok()) return status;
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return OpenSslError("signing certificate");
  }
  return cert;
}

absl::Status WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (bio == nullptr) {
    return ErrnoError(errno, absl::StrCat("opening ", path));
  }
  const bool ok =
      cert != nullptr
          ? PEM_write_bio_X509(bio.get(), cert) == 1
          : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                     nullptr, nullptr) == 1;
  if (!ok || BIO_flush(bio.get()) != 1) {
    return OpenSslError(absl::StrCat("writing ", path));
  }
  return absl::OkStatus();
}

// A key and the certificate for it.
struct KeyAndCert {
  KeyPtr key;
  CertPtr cert;
};

absl::StatusOr<KeyAndCert> NewCa(const char* common_name) {
  absl::StatusOr<KeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<CertPtr> cert = NewCertificate(
      key->get(), common_name, nullptr, key->get(),
      {{NID_basic_constraints, "critical,CA:TRUE"},
       {NID_key_usage, "critical,keyCertSign,cRLSign"},
       {NID_subject_key_identifier, "hash"}});
  if (!cert.ok()) return cert.status();
  return KeyAndCert{*std::move(key), *std::move(cert)};
}

// A leaf certificate signed by `ca` with these extended key usage and SANs.
absl::StatusOr<KeyAndCert> NewLeaf(const KeyAndCert& ca,
                                   const char* common_name,
                                   const char* extended_key_usage,
                                   const char* subject_alt_name) {
  absl::StatusOr<KeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<CertPtr> cert = NewCertificate(
      key->get(), common_name, ca.cert.get(), ca.key.get(),
      {{NID_basic_constraints, "critical,CA:FALSE"},
       {NID_key_usage, "critical,digitalSignature"},
       {NID_ext_key_usage, extended_key_usage},
       {NID_subject_alt_name, subject_alt_name},
       {NID_subject_key_identifier, "hash"},
       {NID_authority_key_identifier, "keyid:always"}});
  if (!cert.ok()) return cert.status();
  return KeyAndCert{*std::move(key), *std::move(cert)};
}

absl::StatusOr<KeyAndCert> NewClient(const KeyAndCert& ca) {
  const std::string names =
      absl::StrCat("URI:", kTestClientSpiffeId, ",DNS:", kTestClientDnsName);
  return NewLeaf(ca, "caller", "clientAuth", names.c_str());
}

}  // namespace

absl::StatusOr<TestCertificates> GenerateTestCertificates(
    const std::string& dir) {
  if (dir.empty()) {
    return absl::InvalidArgumentError("certificate directory is empty");
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(errno, absl::StrCat("creating ", dir));
  }
  absl::StatusOr<KeyAndCert> ca = NewCa("usergateway test CA");
  if (!ca.ok()) return ca.status();
  absl::StatusOr<KeyAndCert> server = NewLeaf(
      *ca, "localhost", "serverAuth", "DNS:localhost,IP:127.0.0.1,IP:::1");
  if (!server.ok()) return server.status();
  absl::StatusOr<KeyAndCert> client = NewClient(*ca);
  if (!client.ok()) return client.status();
  absl::StatusOr<KeyAndCert> foreign_ca =
      NewCa("usergateway foreign test CA");
  if (!foreign_ca.ok()) return foreign_ca.status();
  absl::StatusOr<KeyAndCert> foreign_client = NewClient(*foreign_ca);
  if (!foreign_client.ok()) return foreign_client.status();

  TestCertificates paths;
  paths.ca_cert_path = dir + "/ca.pem";
  paths.server_cert_path = dir + "/server.pem";
  paths.server_key_path = dir + "/server.key";
  paths.client_cert_path = dir + "/client.pem";
  paths.client_key_path = dir + "/client.key";
  paths.foreign_ca_cert_path = dir + "/foreign_ca.pem";
  paths.foreign_client_cert_path = dir + "/foreign_client.pem";
  paths.foreign_client_key_path = dir + "/foreign_client.key";
  struct File {
    const std::string& path;
    X509* cert;
    EVP_PKEY* key;
  };
  const File files[] = {
      {paths.ca_cert_path, ca->cert.get(), nullptr},
      {paths.server_cert_path, server->cert.get(), nullptr},
      {paths.server_key_path, nullptr, server->key.get()},
      {paths.client_cert_path, client->cert.get(), nullptr},
      {paths.client_key_path, nullptr, client->key.get()},
      {paths.foreign_ca_cert_path, foreign_ca->cert.get(), nullptr},
      {paths.foreign_client_cert_path, foreign_client->cert.get(), nullptr},
      {paths.foreign_client_key_path, nullptr, foreign_client->key.get()},
  };
  for (const File& file : files) {
    absl::Status status = WritePem(file.path, file.cert, file.key);
    if (!status.ok()) return status;
  }
  return paths;
}

}  // namespace testing
}  // namespace usergateway
