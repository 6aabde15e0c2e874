#include "proxy/identity/grpc_certificate_signer.h"

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/version/version.h"

namespace weft::proxy::identity {
namespace {

constexpr const char* kCreateCertificatePath = "/weft.v1.CertificateService/CreateCertificate";
constexpr int kInternal = 13;
constexpr int kFailedPrecondition = 9;

// The first line of the token file, without surrounding whitespace; empty with `error` set
// when there is none.
std::string readToken(const std::string& path, std::string& error) {
  std::ifstream file(path);
  if (!file) {
    error = "cannot read the token file " + path + ": " + std::strerror(errno);
    return {};
  }
  std::string token;
  std::getline(file, token);
  const size_t first = token.find_first_not_of(" \t\r");
  const size_t last = token.find_last_not_of(" \t\r");
  token = first == std::string::npos ? std::string() : token.substr(first, last - first + 1);
  if (token.empty()) {
    error = "the token file " + path + " is empty";
  }
  return token;
}

}  // namespace

GrpcCertificateSigner::GrpcCertificateSigner(boost::asio::io_context& io_context,
                                             CaClientConfig config)
    : io_context_(io_context), config_(std::move(config)) {}

GrpcCertificateSigner::~GrpcCertificateSigner() {
  cancel();
}

void GrpcCertificateSigner::sign(const weft::v1::CreateCertificateRequest& request, Done done) {
  xds::GrpcCallOptions options;
  options.host = config_.host;
  options.port = config_.port;
  options.path = kCreateCertificatePath;
  options.tls = config_.tls;
  options.user_agent = std::string("weft-proxy/").append(weft::version());
  if (!config_.token_file.empty()) {
    std::string error;
    options.token = readToken(config_.token_file, error);
    if (options.token.empty()) {
      local_failure_ = std::make_shared<bool>(true);
      boost::asio::post(io_context_,
                        [live = local_failure_, done = std::move(done), error = std::move(error)] {
                          if (*live) {
                            done({kFailedPrecondition, error}, {});
                          }
                        });
      return;
    }
  }
  call_ = std::make_shared<xds::GrpcUnaryCall>(
      io_context_, std::move(options), config_.timeout,
      [done = std::move(done)](xds::GrpcStatus status, std::string bytes) {
        weft::v1::CreateCertificateResponse response;
        if (status.code == 0 && !response.ParseFromString(bytes)) {
          status = {kInternal, "the answer is not a valid CreateCertificateResponse"};
        }
        done(std::move(status), std::move(response));
      });
  call_->start(request.SerializeAsString());
}

void GrpcCertificateSigner::cancel() {
  if (local_failure_) {
    *local_failure_ = false;
    local_failure_.reset();
  }
  if (call_) {
    call_->cancel();
    call_.reset();
  }
}

}  // namespace weft::proxy::identity
