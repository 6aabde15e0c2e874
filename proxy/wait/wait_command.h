#pragma once

namespace weft::proxy::wait {

// `weft-proxy wait [--url URL] [--timeout D] [--interval D]`: polls URL (by default the status
// port's readiness, http://127.0.0.1:15020/healthz/ready) until it answers 200. A plain
// blocking program that starts no proxy: the classic sidecar's postStart hook, which holds the
// pod's application containers until the proxy in its own container is ready. argv[0] is
// "wait". Returns the exit status: 0 once answered 200, 1 when the timeout passed first (the
// last answer is printed), 2 a usage error.
int runWaitCommand(int argc, char** argv);

}  // namespace weft::proxy::wait
