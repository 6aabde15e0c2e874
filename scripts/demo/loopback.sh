#!/usr/bin/env bash
# `weftctl demo --loopback`, and what `weftctl demo` runs without root: the mesh on loopback,
# no network namespaces and no traffic capture (sidecars listen on ports of their own).
#
# First weft-proxy alone, from a static bootstrap, in front of two versions of a "reviews"
# backend: a canary split, local replies that say why, the admin endpoint, a graceful drain.
#
# Then the local mesh, zero trust by default: weft-controlplane reads the manifests in
# scripts/demo/mesh/ and runs the mesh CA; two sidecars (productpage, reviews) get their SPIFFE
# certificates from it with a bootstrap token each and their configuration over xDS. Calls
# between them are mTLS automatically (the reviews app sees the caller's identity in
# x-forwarded-client-cert); a PeerAuthentication STRICT then refuses plaintext, an
# AuthorizationPolicy lets only productpage call reviews and denies /admin; a route edit
# reaches the sidecars in milliseconds, and weftctl proxy-status / proxy-config show it. Each
# sidecar's golden metrics then show every call it carried, by source, destination and outcome.
set -euo pipefail
cd "$(dirname "$0")/../.."

# WEFT_DEMO_BIN_DIR: where the binaries are (weftctl demo sets it; default build/bin).
bin=${WEFT_DEMO_BIN_DIR:-build/bin}

workdir=$(mktemp -d /tmp/weft-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

free_ports() {  # n: n distinct free loopback ports, one a line
  # From 10000-19999, below the kernel's ephemeral range (and the test harness's 20000-31999):
  # a port probed free there cannot be taken by some client's connect() before the demo's
  # process binds it.
  python3 -c 'import random, socket, sys
socks, ports = [], []
while len(ports) < int(sys.argv[1]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(10000, 20000)))
    except OSError:
        s.close()
        continue
    socks.append(s)
    ports.append(s.getsockname()[1])
print("\n".join(map(str, ports)))' "$1"
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
# ratings_port: nothing listens there, "ratings" is down.
{ read -r proxy_port; read -r ratings_port; read -r admin_port; } < <(free_ports 3)

sed -e "s/@PROXY_PORT@/$proxy_port/" -e "s/@REVIEWS_V1_PORT@/$v1_port/" \
    -e "s/@REVIEWS_V2_PORT@/$v2_port/" -e "s/@RATINGS_PORT@/$ratings_port/" -e "s/@ADMIN_PORT@/$admin_port/" \
    scripts/demo/bootstrap.yaml.in >"$workdir/bootstrap.yaml"

echo "[demo] starting weft-proxy on 127.0.0.1:$proxy_port (config: scripts/demo/bootstrap.yaml.in)"
"$bin/weft-proxy" --config "$workdir/bootstrap.yaml" >"$workdir/proxy.log" 2>&1 &
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
echo "[demo] 7. the mesh, zero trust: weft-controlplane (manifests + CA) and two sidecars with SPIFFE certificates"
mesh="$workdir/mesh"
mkdir -p "$mesh"
declare -A port
names=(XDS PRODUCTPAGE_INBOUND PRODUCTPAGE_OUTBOUND PRODUCTPAGE_ADMIN REVIEWS_INBOUND REVIEWS_OUTBOUND
       REVIEWS_ADMIN PRODUCTPAGE_APP_PORT)
mapfile -t ports < <(free_ports "${#names[@]}")
for i in "${!names[@]}"; do port[${names[$i]}]=${ports[$i]}; done
xds_port=${port[XDS]}
cp scripts/demo/mesh/services.yaml "$mesh/"
sed -e "s/@STABLE@/v1/" scripts/demo/mesh/route.yaml.in >"$mesh/route.yaml"
sed -e "s/@PRODUCTPAGE_APP_PORT@/${port[PRODUCTPAGE_APP_PORT]}/" \
    -e "s/@PRODUCTPAGE_INBOUND@/${port[PRODUCTPAGE_INBOUND]}/" \
    -e "s/@PRODUCTPAGE_OUTBOUND@/${port[PRODUCTPAGE_OUTBOUND]}/" \
    -e "s/@REVIEWS_INBOUND@/${port[REVIEWS_INBOUND]}/" -e "s/@REVIEWS_OUTBOUND@/${port[REVIEWS_OUTBOUND]}/" \
    -e "s/@REVIEWS_V1_PORT@/$v1_port/" -e "s/@REVIEWS_V2_PORT@/$v2_port/" \
    scripts/demo/mesh/workloads.yaml.in >"$mesh/workloads.yaml"
# The CA authenticates a sidecar by its bootstrap token: tokens.csv (the Kubernetes static token
# file format, token,user,uid) maps each token to the service account its certificate names.
echo "# token,user,uid" >"$workdir/tokens.csv"
for name in productpage-v1 reviews-v1; do
  token=$(openssl rand -hex 32)
  echo "$token,system:serviceaccount:default:${name%-v1},${name%-v1}-uid" >>"$workdir/tokens.csv"
  echo "$token" >"$workdir/$name.token"
done
chmod 600 "$workdir/tokens.csv" "$workdir"/*.token
"$bin/weft-controlplane" --config-dir "$mesh" --xds-address "127.0.0.1:$xds_port" \
  --metrics-address 127.0.0.1:0 --ca-dir "$workdir/ca" --bootstrap-token-file "$workdir/tokens.csv" \
  --xds-tls-hosts 127.0.0.1 >"$workdir/controlplane.log" 2>&1 &
pids+=($!)
wait_for_line "$workdir/controlplane.log" "weft-controlplane .* ready"
for name in productpage-v1 reviews-v1; do
  key=$(echo "${name%-v1}" | tr a-z A-Z)
  sed -e "s/@NAME@/$name/g" -e "s/@SA@/${name%-v1}/g" -e "s/@ADMIN@/${port[${key}_ADMIN]}/" \
      -e "s/@XDS@/$xds_port/" -e "s#@WORKDIR@#$workdir#" scripts/demo/mesh/sidecar.yaml.in \
      >"$workdir/$name.yaml"
  "$bin/weft-proxy" --config "$workdir/$name.yaml" >"$workdir/$name.log" 2>&1 &
  pids+=($!)
done
for name in productpage-v1 reviews-v1; do
  wait_for_line "$workdir/$name.log" "workload certificate .* installed"
  wait_for_line "$workdir/$name.log" "configuration applied"
done
logline() {  # a proxy log line without its timestamp and pid
  sed -E 's/^\[[^]]*\] \[[0-9]+\] //'
}
echo "    the CA (root generated in \$workdir/ca) issued, one per service account:"
grep -E "\[ca\] issued" "$workdir/controlplane.log" | logline |
  sed -E -e 's/ \(serial [^)]*\)//' -e 's/ from .*//' -e 's/^/      controlplane | /'
echo "    the control plane serves xDS and the CA over TLS, with a certificate from its own CA:"
grep -E "xDS port serves TLS" "$workdir/controlplane.log" | logline | sed 's/^/      controlplane | /'
weftctl() { "$bin/weftctl" --control-plane "127.0.0.1:$xds_port" \
  --control-plane-ca-file "$workdir/ca/ca-cert.pem" "$@"; }
echo "    weftctl proxy-status:"
weftctl proxy-status | sed 's/^/      /'
echo "    curl 127.0.0.1:${port[REVIEWS_ADMIN]}/certs (the reviews sidecar's certificate; the key never left it):"
curl -s --max-time 5 "http://127.0.0.1:${port[REVIEWS_ADMIN]}/certs" | python3 -c '
import json, sys
d = json.load(sys.stdin); c = d["certificate"]
print("      %s %s (%s), expires %s, renewal at %s" % (d["state"], c["spiffe_id"], c["key_type"], c["not_after"], d["next_request"]))'

get() {  # path [curl args]: productpage's request to reviews, through its own sidecar
  local path=$1; shift
  curl -s --max-time 5 -H "Host: reviews:9080" "$@" "http://127.0.0.1:${port[PRODUCTPAGE_OUTBOUND]}$path"
}
six() {  # [curl args]: which version answers 6 requests (one curl, one connection to the sidecar)
  local url="http://127.0.0.1:${port[PRODUCTPAGE_OUTBOUND]}/reviews/1" args=()
  for _ in $(seq 6); do args+=(-o /dev/null "$url"); done
  curl -s --max-time 5 -H "Host: reviews:9080" -w 'reviews-%header{x-backend}\n' "$@" "${args[@]}" |
    sort | uniq -c | tr -s ' \n' ' '
}
answers() { [ "$(get /reviews/1 -o /dev/null -w 'reviews-%header{x-backend}')" = "$1" ]; }
retry() {  # command...: bounded wait (5 s and the commands' time) for a change to reach the sidecars
  for _ in $(seq 1 100); do
    "$@" && return 0
    sleep 0.05
  done
  echo "[demo] timed out waiting for: $*" >&2
  return 1
}
retry answers reviews-v1
echo "    productpage -> reviews, 6 requests: $(six)"
echo "    with x-canary: yes:                  $(six -H 'x-canary: yes')"

echo
echo "[demo] 7a. auto mTLS: productpage's sidecar reaches reviews' sidecar over mTLS; the application"
echo "    sees the caller's identity (reviews-v2 has no sidecar: reached in plaintext, no identity)"
xfcc() {
  get /reviews/1 "$@" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("      reviews-%s received x-forwarded-client-cert: %s" % (d["backend"], d["headers"].get("x-forwarded-client-cert", "(none)")))'
}
xfcc
xfcc -H 'x-canary: yes'

echo
echo "[demo] 7b. PeerAuthentication default/default, mode STRICT (scripts/demo/mesh/peerauthentication.yaml)"
plaintext() {  # a client outside the mesh calls the reviews sidecar's inbound port in plaintext
  curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "Host: reviews:9080" \
    "http://127.0.0.1:${port[REVIEWS_INBOUND]}/reviews/1"
}
echo "    before: plaintext curl to reviews' sidecar (127.0.0.1:${port[REVIEWS_INBOUND]}): $(plaintext) (PERMISSIVE, the default)"
cp scripts/demo/mesh/peerauthentication.yaml "$workdir/pa.tmp"
mv "$workdir/pa.tmp" "$mesh/peerauthentication.yaml"
refused() { ! plaintext >/dev/null 2>&1; }
retry refused
echo "    after:  plaintext curl to reviews' sidecar fails: $(plaintext 2>&1 >/dev/null || true)"
wait_for_line "$workdir/reviews-v1.log" "plaintext connection from"
grep -m1 "plaintext connection from" "$workdir/reviews-v1.log" | logline | sed 's/^/      reviews sidecar | /'
echo "    productpage -> reviews over mTLS, 6 requests: $(six)"

echo
echo "[demo] 7c. AuthorizationPolicy (scripts/demo/mesh/authorizationpolicy.yaml): reviews answers"
echo "    service account productpage only, and nobody reaches /admin"
show() {  # who port path: status, x-weft-reason and what answered
  curl -s --max-time 5 -H "Host: reviews:9080" -D "$workdir/head" -o "$workdir/body" \
    "http://127.0.0.1:$2$3" || true
  local code reason body
  code=$(head -1 "$workdir/head" | tr -d '\r' | cut -d' ' -f2)
  reason=$(grep -i '^x-weft-reason' "$workdir/head" | tr -d '\r' || true)
  if [ "$code" = 200 ]; then
    body="(reviews-$(grep -i '^x-backend:' "$workdir/head" | cut -d' ' -f2 | tr -d '\r') answered)"
  else
    body="\"$(tr -d '\n' <"$workdir/body")\""
  fi
  printf '      %-11s -> %-17s %s  %s%s\n' "$1" "$3" "$code" "${reason:+$reason  }" "$body"
}
cp scripts/demo/mesh/authorizationpolicy.yaml "$workdir/ap.tmp"
mv "$workdir/ap.tmp" "$mesh/authorizationpolicy.yaml"
# Until the sidecar has both policies its listener names, it denies everything ("missing policy").
policies_in_place() { get /admin | grep -q deny-admin; }
retry policies_in_place
for path in /reviews/1 /admin /%61dmin; do show productpage "${port[PRODUCTPAGE_OUTBOUND]}" "$path"; done
show reviews "${port[REVIEWS_OUTBOUND]}" /reviews/1
echo "    (the last: reviews' own sidecar calling reviews presents spiffe://.../sa/reviews)"
wait_for_line "$workdir/reviews-v1.log" "denied: no-allow-match"
grep "\[authz\]" "$workdir/reviews-v1.log" | tail -2 | logline | sed 's/^/      reviews sidecar | /'
echo "    weftctl proxy-status: the policies went to the sidecar they select"
weftctl proxy-status | sed 's/^/      /'

echo
echo "[demo] 7d. editing route.yaml: stable traffic moves to v2 (no sidecar: plaintext, as in 7a)"
sed -e "s/@STABLE@/v2/" scripts/demo/mesh/route.yaml.in >"$mesh/route.yaml.tmp"
mv "$mesh/route.yaml.tmp" "$mesh/route.yaml"
retry answers reviews-v2
echo "    productpage -> reviews, 6 requests: $(six)"
grep -E "configuration applied" "$workdir/productpage-v1.log" | tail -1 | logline | sed 's/^/      productpage sidecar | /'
echo "    weftctl proxy-config productpage-v1 routes:"
weftctl proxy-config productpage-v1 routes | sed 's/^/      /'

echo
echo "[demo] 7e. golden metrics, no app change: each sidecar counts what it carried, by source,"
echo "    destination and outcome (weft_requests_total; also the latency histogram and bytes)"
golden() {  # sidecar name, admin port
  curl -s --max-time 5 "http://127.0.0.1:$2/stats/prometheus" |
    grep -E '^weft_requests_total\{' |
    sed -E -e 's/^weft_requests_total\{//' -e 's/grpc_status="",//' -e 's/\} / => /' \
        -e 's/^/      '"$1"' | /'
}
golden productpage-v1 "${port[PRODUCTPAGE_ADMIN]}"
golden reviews-v1 "${port[REVIEWS_ADMIN]}"

echo
echo "[demo] 7f. access logs (scripts/demo/mesh/sidecar.yaml.in): the last lines of each sidecar's"
echo "    log, with the outcome, the endpoint and the caller's mTLS identity"
for name in productpage-v1 reviews-v1; do
  wait_for_line "$workdir/$name-access.log" "GET"
  tail -3 "$workdir/$name-access.log" | sed 's/^/      '"$name"' | /'
done
echo "[demo] done"
