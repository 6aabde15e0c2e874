#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test Weft.
# Idempotent: packages already present are not touched, and apt is not
# consulted at all when nothing is missing.
set -euo pipefail

# Build toolchain and libraries (docs/dependencies.md says why each is here).
BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-all-dev libboost-json1.81-dev
  libssl-dev libnghttp2-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libspdlog-dev prometheus-cpp-dev libyaml-cpp-dev libre2-dev zlib1g-dev
  libgtest-dev libgmock-dev
)
# Real clients and peers that the integration tests and the demo drive.
TEST_PACKAGES=(
  curl python3 openssl iproute2 procps wrk nghttp2-client python3-grpcio
  python3-cryptography  # tests/tools/mesh_certs.py: test CAs and workload certificates
  python3-prometheus-client  # tests/integration/proxy_metrics.py: parses /stats/prometheus
  python3-jsonpatch  # tests/integration/injector_webhook_test.py: applies the patches, RFC 6902
  python3-yaml  # tests/integration/weftctl_inject_test.py: reads weftctl inject's output back
  testssl.sh            # tests/integration/proxy_mtls_test.py: TLS scan of the inbound port
  iptables  # tests/e2e: capture rules inside the test's own network namespaces
  prometheus  # tests/integration/proxy_telemetry_test.py: a real server scrapes /metrics; promtool
)

missing=()
for pkg in "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "[deps] all ${#BUILD_PACKAGES[@]} build and ${#TEST_PACKAGES[@]} test packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "[deps] missing packages: ${missing[*]}" >&2
    echo "[deps] not root and no sudo: install them and run again" >&2
    exit 1
  fi
fi

echo "[deps] installing ${#missing[@]} missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "[deps] done"
