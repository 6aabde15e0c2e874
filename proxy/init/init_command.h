#pragma once

namespace weft::proxy::init {

// `weft-proxy init [options]`: writes (or with --cleanup removes) the pod's traffic capture
// rules. argv[0] is "init". Returns the process exit status: 0 done, 1 a rule could not be
// written (the tool's message is printed), 2 a usage error.
int runInitCommand(int argc, char** argv);

}  // namespace weft::proxy::init
