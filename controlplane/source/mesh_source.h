#pragma once

#include <chrono>
#include <string>

#include "controlplane/model/mesh_model.h"

namespace weft::controlplane {

// Where the mesh model comes from: a directory of manifests (local mode) or the Kubernetes API.
// The control plane sees only this; each source calls back with every new model on the
// control plane's event loop.
class MeshSource {
 public:
  virtual ~MeshSource() = default;

  // Starts reading and watching. Returns an empty string, or why the source cannot work at
  // all (then nothing is watched).
  [[nodiscard]] virtual std::string start() = 0;
  // Reads everything again (SIGHUP). Safe from any thread once started.
  virtual void reload() = 0;
  virtual void stop() = 0;

  // The latest model; empty before the first. Any thread.
  virtual MeshModelPtr current() const = 0;
  // When the change behind the latest model was first noticed; convergence is measured from
  // here. On the event loop's thread.
  virtual std::chrono::steady_clock::time_point changeNoticedAt() const = 0;
  // "manifests from /etc/weft/mesh", for the log.
  virtual std::string describe() const = 0;
  // Empty once the source has read everything it describes (its model is whole), else what
  // it still waits for; the readiness probe says it. On the event loop's thread.
  virtual std::string notReadyReason() const = 0;
};

}  // namespace weft::controlplane
