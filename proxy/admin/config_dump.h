#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy::admin {

// What /config_dump shows: the active configuration in its API form and when it took effect.
struct ConfigDump {
  // The configuration the active snapshot was built from. A shared_ptr so the proxy can hand
  // out the snapshot's own copy without copying it, e.g. with the aliasing constructor:
  //   std::shared_ptr<const weft::v1::Bootstrap>(snapshot, &snapshot->source)
  std::shared_ptr<const weft::v1::Bootstrap> bootstrap;
  // "static" for a proxy configured by its bootstrap file only; the xDS version otherwise.
  std::string version_info;
  // When this configuration became active. The epoch means unknown (shown as null).
  std::chrono::system_clock::time_point last_updated{};
  // Where the bootstrap came from: the file's path, or "$NAME" for an environment variable.
  // Left out of the rendering when empty.
  std::string config_source{};
};

// Renders the dump as pretty JSON:
//   {"version_info": ..., "config_source": "/etc/weft/bootstrap.yaml",
//    "last_updated": "2024-05-01T12:34:56.789Z", "bootstrap": {...}}
// The bootstrap is printed by protobuf's JSON printer with the field names of the .proto files.
// Inline private keys are replaced by "[redacted]". Returns false (with `error`) only if the
// printer fails.
bool renderConfigDump(const ConfigDump& dump, std::string& out, std::string& error);

// Replaces the value of every non-empty string field named "private_key", at any depth, by
// "[redacted]". Returns whether anything was replaced. (Fields inside google.protobuf.Any are
// not visited; the Weft API carries no key material in one.)
bool redactSecrets(google::protobuf::Message& message);

}  // namespace weft::proxy::admin
