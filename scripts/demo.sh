#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and runs `weftctl demo`.
# As root: the shop (three services, one in two versions) in network namespaces with
# `weft-proxy init` traffic capture, sidecars and a control plane, traffic, a live view of
# the golden signals, and a walkthrough (mTLS identities, STRICT, a canary edit, retries, an
# authorization deny, a circuit breaker); everything is removed on exit or Ctrl-C.
# Without root: says so and runs the loopback variant (scripts/demo/loopback.sh).
# Arguments go to weftctl demo (--hold yes|no|auto, --loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${WEFT_DEMO_SKIP_BUILD:-0}" != 1 ]; then  # for iterating on the demo scripts
  bash scripts/install-deps.sh
  bash scripts/build.sh
fi
exec build/bin/weftctl demo "$@"
