#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, starts two
# versions of a "reviews" backend and weft-proxy in front of them on loopback,
# and sends traffic through the proxy.
#
# The full local mesh (control plane, sidecars, mTLS) grows into this demo as
# the control-plane and interception issues land.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh

workdir=$(mktemp -d /tmp/weft-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for_line() {  # file pattern
  for _ in $(seq 1 150); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "[demo] timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

start_backend() {  # name -> prints port
  local log="$workdir/backend-$1.log"
  python3 tests/tools/http_backend.py --name "$1" >"$log" 2>&1 &
  pids+=($!)
  wait_for_line "$log" "listening on [0-9]+"
}

echo "[demo] starting backends reviews-v1 and reviews-v2 on loopback"
start_backend v1
start_backend v2
v1_port=$(grep -oE '[0-9]+' "$workdir/backend-v1.log" | head -1)
v2_port=$(grep -oE '[0-9]+' "$workdir/backend-v2.log" | head -1)
proxy_port=$(free_port)
ratings_port=$(free_port)  # nothing listens here: "ratings" is down
admin_port=$(free_port)

sed -e "s/@PROXY_PORT@/$proxy_port/" -e "s/@REVIEWS_V1_PORT@/$v1_port/" \
    -e "s/@REVIEWS_V2_PORT@/$v2_port/" -e "s/@RATINGS_PORT@/$ratings_port/" -e "s/@ADMIN_PORT@/$admin_port/" \
    scripts/demo/bootstrap.yaml.in >"$workdir/bootstrap.yaml"

echo "[demo] starting weft-proxy on 127.0.0.1:$proxy_port (config: scripts/demo/bootstrap.yaml.in)"
build/bin/weft-proxy --config "$workdir/bootstrap.yaml" >"$workdir/proxy.log" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")
wait_for_line "$workdir/proxy.log" "weft-proxy ready"
sed 's/^/    proxy | /' "$workdir/proxy.log"

echo
echo "[demo] 1. canary split: 20 requests to reviews (90% v1, 10% v2)"
for _ in $(seq 1 20); do
  curl -s --max-time 5 -H "Host: reviews" "http://127.0.0.1:$proxy_port/reviews/1" -o /dev/null \
    -D - | grep -i '^x-backend' | tr -d '\r'
done | sort | uniq -c | sed 's/^/    /'

echo "    with 'x-canary: always' (a header-matched route), 5 more requests:"
for _ in $(seq 1 5); do
  curl -s --max-time 5 -H "Host: reviews" -H "x-canary: always" \
    "http://127.0.0.1:$proxy_port/reviews/1" -o /dev/null -D - | grep -i '^x-backend' | tr -d '\r'
done | sort | uniq -c | sed 's/^/    /'

echo
echo "[demo] 2. what the backend received (x-forwarded-for and x-request-id added by the proxy):"
curl -s --max-time 5 -H "Host: reviews" "http://127.0.0.1:$proxy_port/reviews/2" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("    backend:", d["backend"], " path:", d["path"]); [print("    %s: %s" % (k, d["headers"][k])) for k in ("x-forwarded-for","x-request-id") if k in d["headers"]]'

echo
echo "[demo] 3. a route answered by the proxy itself:"
curl -s --max-time 5 "http://127.0.0.1:$proxy_port/healthz" | sed 's/^/    /'

echo
echo "[demo] 4. a service that is down: the 503 says why"
curl -s --max-time 5 -H "Host: ratings" -D - "http://127.0.0.1:$proxy_port/" |
  tr -d '\r' | grep -iE '^HTTP/|^x-weft-reason|cluster' | sed 's/^/    /'

echo
echo "[demo] 5. an unknown host: the 404 says why"
curl -s --max-time 5 -H "Host: nobody.local" -D - "http://127.0.0.1:$proxy_port/x" |
  tr -d '\r' | grep -iE '^HTTP/|^x-weft-reason|no route' | sed 's/^/    /'

echo
echo "[demo] 6. the proxy's admin endpoint (127.0.0.1:$admin_port): clusters and readiness"
curl -s --max-time 5 "http://127.0.0.1:$admin_port/clusters" | sed 's/^/    /'
echo "    ready: $(curl -s --max-time 5 "http://127.0.0.1:$admin_port/ready")"

echo
echo "[demo] stopping weft-proxy with SIGTERM (graceful drain)"
kill -TERM "$proxy_pid"
wait "$proxy_pid" && echo "[demo] weft-proxy exited cleanly"
echo "[demo] done"
