// The certificate and key of --tls-cert / --tls-key, checked before the edge serves: a
// mistake stops it at start with the file and what to do, instead of an edge that listens
// and then fails every handshake.
//
//   auto cert = check_tls_files(options.tls_cert, options.tls_key);
//   if (!cert) return cert.error();   // bad_option, naming the file
//   log::info("edge", "serving https with " + cert->subject);
#pragma once

#include <string>

#include "adashta/result.hpp"

namespace adashta::edge {

struct TlsCertificate {
    std::string subject;    // "CN=localhost", as OpenSSL prints it in one line
    std::string not_after;  // "Dec  3 10:00:00 2027 GMT"
    bool expired = false;   // not_after has passed: browsers will refuse it
};

// Both files or neither (neither: plain HTTP, and an empty subject). Fails with bad_option
// when only one is given, a file cannot be read, it holds no PEM certificate or no
// unencrypted PEM private key, or the key is not the certificate's.
Result<TlsCertificate> check_tls_files(const std::string& cert_file, const std::string& key_file);

}  // namespace adashta::edge
