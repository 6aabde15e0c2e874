#!/usr/bin/env bash
# Configures and builds Weft incrementally.
#   scripts/build.sh              -> build/        (RelWithDebInfo)
#   scripts/build.sh --sanitize   -> build-asan/   (ASan + UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=()
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  cmake_args+=(-DWEFT_SANITIZE=ON)
fi

# One job more than the cores: a link or a test discovery waits on the disk and starts
# processes, and the next compile fills that time.
jobs=$(( $(nproc 2>/dev/null || echo 2) + 1 ))
mkdir -p "$build_dir"
echo "[build] configuring $build_dir ${cmake_args[*]:-}"
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}" >"$build_dir/configure.log" 2>&1 || {
  cat "$build_dir/configure.log" >&2
  echo "[build] configure failed (log above)" >&2
  exit 1
}
echo "[build] compiling in $build_dir with $jobs jobs"
ninja -C "$build_dir" -j "$jobs"
echo "[build] binaries in $build_dir/bin: $(ls "$build_dir/bin" | tr '\n' ' ')"
