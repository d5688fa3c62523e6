#include "tls_files.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace adashta::edge {
namespace {

struct FreeX509 {
    void operator()(X509* x) const { X509_free(x); }
};
struct FreeKey {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct FreeBio {
    void operator()(BIO* b) const { BIO_free(b); }
};

Error bad(std::string detail) {
    return make_error(Errc::bad_option, std::move(detail));
}

// The whole file, so that a missing or unreadable one is told apart from a malformed one.
Result<std::string> read_file(const std::string& flag, const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in)
        return bad(flag + " " + path + ": cannot read it (" + std::strerror(errno) +
                   "); give the path of a PEM file this user may read");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A key with a passphrase is refused rather than prompted for: the edge runs unattended.
int no_passphrase(char*, int, int, void*) {
    return 0;
}

std::string one_line(const X509_NAME* name) {
    std::unique_ptr<BIO, FreeBio> out{BIO_new(BIO_s_mem())};
    X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out.get(), &data);
    return std::string{data, static_cast<std::size_t>(size > 0 ? size : 0)};
}

std::string time_text(const ASN1_TIME* time) {
    std::unique_ptr<BIO, FreeBio> out{BIO_new(BIO_s_mem())};
    ASN1_TIME_print(out.get(), time);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out.get(), &data);
    return std::string{data, static_cast<std::size_t>(size > 0 ? size : 0)};
}

Result<TlsCertificate> check(const std::string& cert_file, const std::string& key_file) {
    auto cert_pem = read_file("--tls-cert", cert_file);
    if (!cert_pem) return cert_pem.error();
    auto key_pem = read_file("--tls-key", key_file);
    if (!key_pem) return key_pem.error();

    std::unique_ptr<BIO, FreeBio> cert_bio{
        BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size()))};
    std::unique_ptr<X509, FreeX509> cert{
        PEM_read_bio_X509(cert_bio.get(), nullptr, no_passphrase, nullptr)};
    if (!cert)
        return bad("--tls-cert " + cert_file +
                   " holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the "
                   "server's certificate, followed by its intermediate certificates");

    std::unique_ptr<BIO, FreeBio> key_bio{
        BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size()))};
    std::unique_ptr<EVP_PKEY, FreeKey> key{
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr)};
    if (!key)
        return bad("--tls-key " + key_file +
                   " holds no unencrypted PEM private key (-----BEGIN PRIVATE KEY-----); "
                   "give the certificate's key, without a passphrase (`openssl pkey -in " +
                   key_file + " -out plain.key` removes one)");

    if (X509_check_private_key(cert.get(), key.get()) != 1)
        return bad("--tls-key " + key_file + " is not the key of the certificate in --tls-cert " +
                   cert_file + "; give the private key this certificate was made for");

    return TlsCertificate{
        .subject = one_line(X509_get_subject_name(cert.get())),
        .not_after = time_text(X509_get0_notAfter(cert.get())),
        .expired = X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0,
    };
}

}  // namespace

Result<TlsCertificate> check_tls_files(const std::string& cert_file, const std::string& key_file) {
    if (cert_file.empty() && key_file.empty()) return TlsCertificate{};
    if (key_file.empty())
        return bad("--tls-cert " + cert_file +
                   " needs --tls-key, the certificate's private key: give both to serve "
                   "HTTPS, or neither for plain HTTP");
    if (cert_file.empty())
        return bad("--tls-key " + key_file +
                   " needs --tls-cert, the certificate it belongs to: give both to serve "
                   "HTTPS, or neither for plain HTTP");
    auto checked = check(cert_file, key_file);
    // OpenSSL keeps its reasons in a per-thread queue; libwebsockets, which loads the same
    // files next on this thread, must not find ours there.
    ERR_clear_error();
    return checked;
}

}  // namespace adashta::edge
