#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, starts two
# versions of a "reviews" backend and weft-proxy in front of them on loopback,
# and sends traffic through the proxy.
#
# Then the local mesh: weft-controlplane reads the manifests in scripts/demo/mesh/
# and configures two sidecars over xDS; a route edit reaches them in milliseconds.
# (mTLS and traffic capture join this demo as those issues land.)
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

echo
echo "[demo] 7. the mesh: weft-controlplane and two sidecars, configured from manifests"
mesh="$workdir/mesh"
mkdir -p "$mesh"
xds_port=$(free_port)
declare -A port
for p in PRODUCTPAGE_INBOUND PRODUCTPAGE_OUTBOUND PRODUCTPAGE_ADMIN REVIEWS_INBOUND REVIEWS_OUTBOUND \
         REVIEWS_ADMIN PRODUCTPAGE_APP_PORT; do
  port[$p]=$(free_port)
done
cp scripts/demo/mesh/services.yaml "$mesh/"
sed -e "s/@STABLE@/v1/" scripts/demo/mesh/route.yaml.in >"$mesh/route.yaml"
sed -e "s/@PRODUCTPAGE_APP_PORT@/${port[PRODUCTPAGE_APP_PORT]}/" \
    -e "s/@PRODUCTPAGE_INBOUND@/${port[PRODUCTPAGE_INBOUND]}/" \
    -e "s/@PRODUCTPAGE_OUTBOUND@/${port[PRODUCTPAGE_OUTBOUND]}/" \
    -e "s/@REVIEWS_INBOUND@/${port[REVIEWS_INBOUND]}/" -e "s/@REVIEWS_OUTBOUND@/${port[REVIEWS_OUTBOUND]}/" \
    -e "s/@REVIEWS_V1_PORT@/$v1_port/" -e "s/@REVIEWS_V2_PORT@/$v2_port/" \
    scripts/demo/mesh/workloads.yaml.in >"$mesh/workloads.yaml"
build/bin/weft-controlplane --config-dir "$mesh" --xds-address "127.0.0.1:$xds_port" \
  --metrics-address 127.0.0.1:0 >"$workdir/controlplane.log" 2>&1 &
pids+=($!)
wait_for_line "$workdir/controlplane.log" "weft-controlplane .* ready"
for name in productpage-v1 reviews-v1; do
  key=$(echo "${name%-v1}" | tr a-z A-Z)
  sed -e "s/@NAME@/$name/g" -e "s/@ADMIN@/${port[${key}_ADMIN]}/" -e "s/@XDS@/$xds_port/" \
      -e "s#@WORKDIR@#$workdir#" scripts/demo/mesh/sidecar.yaml.in >"$workdir/$name.yaml"
  build/bin/weft-proxy --config "$workdir/$name.yaml" >"$workdir/$name.log" 2>&1 &
  pids+=($!)
  wait_for_line "$workdir/$name.log" "configuration applied"
done
weftctl() { build/bin/weftctl --control-plane "127.0.0.1:$xds_port" "$@"; }
echo "    weftctl proxy-status:"
weftctl proxy-status | sed 's/^/      /'

ask() {  # productpage calls reviews through its sidecar
  curl -s --max-time 5 -H "Host: reviews:9080" "$@" \
    "http://127.0.0.1:${port[PRODUCTPAGE_OUTBOUND]}/reviews/1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["backend"])'
}
echo "    productpage -> reviews, 6 requests: $(for _ in $(seq 6); do ask; done | sort | uniq -c | tr -s ' \n' ' ')"
echo "    with x-canary: yes:                  $(for _ in $(seq 6); do ask -H 'x-canary: yes'; done | sort | uniq -c | tr -s ' \n' ' ')"

echo "    editing route.yaml: stable traffic moves to v2"
sed -e "s/@STABLE@/v2/" scripts/demo/mesh/route.yaml.in >"$mesh/route.yaml.tmp"
mv "$mesh/route.yaml.tmp" "$mesh/route.yaml"
for _ in $(seq 1 100); do
  [ "$(ask)" = "reviews-v2" ] && break
  sleep 0.05
done
echo "    productpage -> reviews, 6 requests: $(for _ in $(seq 6); do ask; done | sort | uniq -c | tr -s ' \n' ' ')"
grep -E "configuration applied" "$workdir/productpage-v1.log" | tail -1 | sed 's/^/      productpage sidecar | /'
echo "    weftctl proxy-config productpage-v1 routes:"
weftctl proxy-config productpage-v1 routes | sed 's/^/      /'
echo "[demo] done"
