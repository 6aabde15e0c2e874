#include "common/tls/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <climits>
#include <limits>
#include <optional>

#include "common/tls/openssl_error.h"

namespace weft::tls {

namespace {

// PEM is decoded in two steps: OpenSSL's generic block reader handles the framing and base64,
// then the DER is decoded by type. Reading blocks ourselves, rather than through
// PEM_read_bio_PrivateKey and friends, gives the same precise errors for every type (OpenSSL 3's
// key decoder reports "unsupported" whether the input is empty, truncated or a certificate),
// lets us refuse encrypted keys without any passphrase callback, and checks that a block holds
// exactly one object and nothing after it.

struct OpensslFreeAny {
  void operator()(void* memory) const noexcept { OPENSSL_free(memory); }
};

struct PemBlock {
  std::string name;  // the label: "CERTIFICATE", "PRIVATE KEY", ...
  bool has_headers;  // RFC 1421 headers, which only legacy encrypted keys carry
  std::string der;
};

// Input the PEM reader skips at the end of input is not an error; only a block it started and
// could not finish is.
bool endOfInput() {
  const unsigned long code = ERR_peek_last_error();
  return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

Error parseError(std::string_view fallback) {
  std::string reason = opensslErrors();
  return Error{"PEM parse error: " + (reason.empty() ? std::string(fallback) : reason)};
}

class PemBlockReader {
 public:
  static Result<PemBlockReader> create(std::string_view pem) {
    if (pem.size() > static_cast<size_t>(INT_MAX)) {
      return Error{"PEM input too large"};
    }
    // Reads the caller's bytes in place. BIO_new_mem_buf rejects a null pointer even with zero
    // length, which an empty string_view may carry.
    BioPtr bio(BIO_new_mem_buf(pem.empty() ? "" : pem.data(), static_cast<int>(pem.size())));
    if (bio == nullptr) {
      return Error{"cannot allocate BIO: " + opensslErrors()};
    }
    return PemBlockReader(std::move(bio));
  }

  // The next block, or nullopt once the input holds no more.
  Result<std::optional<PemBlock>> next() {
    char* name = nullptr;
    char* headers = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    const int read = PEM_read_bio(bio_.get(), &name, &headers, &data, &length);
    const std::unique_ptr<char, OpensslFreeAny> name_owner(name);
    const std::unique_ptr<char, OpensslFreeAny> headers_owner(headers);
    const std::unique_ptr<unsigned char, OpensslFreeAny> data_owner(data);
    if (read != 1) {
      if (endOfInput()) {
        ERR_clear_error();
        return std::optional<PemBlock>();
      }
      return parseError("malformed PEM block");
    }
    return std::optional<PemBlock>(PemBlock{
        .name = name,
        .has_headers = headers != nullptr && *headers != '\0',
        .der = std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(length)),
    });
  }

 private:
  explicit PemBlockReader(BioPtr bio) : bio_(std::move(bio)) {}

  BioPtr bio_;
};

// Decodes a whole DER buffer with a d2i_<TYPE>-style function; data left over after the object
// is an error.
template <class Ptr, class Decode>
Result<Ptr> decodeDer(const std::string& der, std::string_view what, Decode decode) {
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* cursor = begin;
  Ptr object(decode(&cursor, static_cast<long>(der.size())));
  if (object == nullptr) {
    std::string reason = opensslErrors();
    return Error{"PEM parse error: cannot decode " + std::string(what) +
                 (reason.empty() ? std::string() : ": " + reason)};
  }
  if (cursor != begin + der.size()) {
    return Error{"PEM parse error: trailing data after " + std::string(what)};
  }
  return object;
}

// The blocks whose label `matches`, in order, stopping after `limit` of them. Other blocks are
// skipped, as OpenSSL does, so one bundle of key and certificates can serve both readers.
template <class Matches>
Result<std::vector<PemBlock>> matchingBlocks(std::string_view pem, Matches matches, size_t limit) {
  auto reader = PemBlockReader::create(pem);
  if (!reader) {
    return Error{reader.error()};
  }
  std::vector<PemBlock> blocks;
  while (blocks.size() < limit) {
    auto block = reader->next();
    if (!block) {
      return Error{block.error()};
    }
    if (!block->has_value()) {
      break;
    }
    if (matches((*block)->name)) {
      blocks.push_back(std::move(**block));
    }
  }
  return blocks;
}

Error notFound(std::string_view what) {
  return Error{"no " + std::string(what) + " found in PEM input"};
}

bool isCertificate(std::string_view name) {
  return name == "CERTIFICATE" || name == "X509 CERTIFICATE";
}

bool isCsr(std::string_view name) {
  return name == "CERTIFICATE REQUEST" || name == "NEW CERTIFICATE REQUEST";
}

// "PRIVATE KEY" (PKCS#8), "ENCRYPTED PRIVATE KEY", and the traditional per-algorithm labels
// ("EC PRIVATE KEY", "RSA PRIVATE KEY", ...).
bool isPrivateKey(std::string_view name) {
  return name == "PRIVATE KEY" || name.ends_with(" PRIVATE KEY");
}

EVP_PKEY* decodePrivateKey(const unsigned char** cursor, long length) {
  // Detects PKCS#8 or the traditional form of any algorithm from the DER itself.
  return d2i_AutoPrivateKey(nullptr, cursor, length);
}

X509* decodeCertificate(const unsigned char** cursor, long length) {
  return d2i_X509(nullptr, cursor, length);
}

X509_REQ* decodeCsr(const unsigned char** cursor, long length) {
  return d2i_X509_REQ(nullptr, cursor, length);
}

// Reads the first block matching `matches` and decodes it.
template <class Ptr, class Matches, class Decode>
Result<Ptr> readFirst(std::string_view pem, std::string_view what, Matches matches, Decode decode) {
  auto blocks = matchingBlocks(pem, matches, 1);
  if (!blocks) {
    return Error{blocks.error()};
  }
  if (blocks->empty()) {
    return notFound(what);
  }
  return decodeDer<Ptr>(blocks->front().der, what, decode);
}

template <class Write>
Result<std::string> writeWith(Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) {
    return Error{"cannot allocate BIO: " + opensslErrors()};
  }
  if (!write(bio.get())) {
    return Error{"cannot write PEM: " + opensslErrors()};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size < 0 || (size > 0 && data == nullptr)) {
    return Error{"cannot read BIO: " + opensslErrors()};
  }
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

Result<EvpPkeyPtr> readPrivateKeyPem(std::string_view pem) {
  auto blocks = matchingBlocks(pem, isPrivateKey, 1);
  if (!blocks) {
    return Error{blocks.error()};
  }
  if (blocks->empty()) {
    return notFound("private key");
  }
  const PemBlock& block = blocks->front();
  if (block.name == "ENCRYPTED PRIVATE KEY" || block.has_headers) {
    return Error{"private key is encrypted; passphrase-protected keys are not supported"};
  }
  return decodeDer<EvpPkeyPtr>(block.der, "private key", decodePrivateKey);
}

Result<std::string> writePrivateKeyPem(const EVP_PKEY& key) {
  return writeWith([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, &key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
}

Result<X509Ptr> readCertificatePem(std::string_view pem) {
  return readFirst<X509Ptr>(pem, "certificate", isCertificate, decodeCertificate);
}

Result<std::vector<X509Ptr>> readCertificateChainPem(std::string_view pem) {
  auto blocks = matchingBlocks(pem, isCertificate, std::numeric_limits<size_t>::max());
  if (!blocks) {
    return Error{blocks.error()};
  }
  if (blocks->empty()) {
    return notFound("certificate");
  }
  std::vector<X509Ptr> chain;
  for (const PemBlock& block : *blocks) {
    auto cert = decodeDer<X509Ptr>(block.der, "certificate", decodeCertificate);
    if (!cert) {
      return Error{cert.error()};
    }
    chain.push_back(std::move(cert).value());
  }
  return chain;
}

Result<std::string> writeCertificatePem(const X509& cert) {
  return writeWith([&](BIO* bio) { return PEM_write_bio_X509(bio, &cert) == 1; });
}

Result<std::string> writeCertificateChainPem(std::span<const X509Ptr> chain) {
  for (const X509Ptr& cert : chain) {
    if (cert == nullptr) {
      return Error{"null certificate in chain"};
    }
  }
  return writeWith([&](BIO* bio) {
    for (const X509Ptr& cert : chain) {
      if (PEM_write_bio_X509(bio, cert.get()) != 1) {
        return false;
      }
    }
    return true;
  });
}

Result<X509ReqPtr> readCsrPem(std::string_view pem) {
  return readFirst<X509ReqPtr>(pem, "certificate request", isCsr, decodeCsr);
}

Result<std::string> writeCsrPem(const X509_REQ& csr) {
  return writeWith([&](BIO* bio) { return PEM_write_bio_X509_REQ(bio, &csr) == 1; });
}

}  // namespace weft::tls
