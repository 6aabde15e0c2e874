#!/usr/bin/python3
"""The mTLS sidecar pair: weft-proxy against HAProxy, measured side by side in one run.

A pair is what a request crosses in a mesh: a client-side proxy (plaintext in from the
application, mTLS out) and a server-side proxy (mTLS in, plaintext to the application). Both
pairs use the same certificates (ECDSA P-256 workload certificates from one test root, made with
tests/tools/mesh_certs.py), TLS 1.3 only, P-256 key exchange, client certificates required and
verified, and keep-alive connections on every hop:

  load (wrk / weft-loadgen) -> client-side proxy -> mTLS -> server-side proxy -> nginx backend

Both proxies of a pair run one worker each, pinned to core 0; the backend and the load
generators share core 1. Targets: direct (the backend), the weft-proxy pair, the HAProxy pair
and the floor (below).
Rounds interleave the targets and rotate their order. For each target and round:
  * saturated throughput: wrk, 1 thread, --connections connections, closed loop;
  * the pair's CPU per request: the CPU time of both proxies (every thread, from schedstat)
    over the requests served, during the saturated run and during the fixed-rate run;
  * latency at --rate requests/s (default 1,000) with weft-loadgen, open loop, 16
    connections; "added p99" is the pair's p99 minus direct's p99 in the same round.
A fourth target is the floor: the same two hops relaying TCP bytes (HAProxy in TCP mode, no TLS,
no HTTP). What it adds is what two more processes waking per message cost on this machine; no
sidecar pair can add less.
The table shows medians over rounds; ratios are medians of per-round ratios against HAProxy.

Usage: /usr/bin/python3 bench/mtls_pair.py [--rounds 5] [--duration 4] [--latency-duration 5]
Needs: haproxy, nginx, wrk, taskset, python3-cryptography; built build/bin/weft-proxy and
build/bin/weft-loadgen. Traffic stays on 127.0.0.1.
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "tools"))
import compare  # noqa: E402  (the shared harness: processes, CPU, wrk, weft-loadgen)
import mesh_certs  # noqa: E402

CLIENT_ID = "spiffe://cluster.local/ns/bench/sa/client"
SERVER_ID = "spiffe://cluster.local/ns/bench/sa/server"


class Pair:
    """Two proxy processes counted as one target."""

    def __init__(self, name, port, procs):
        self.name, self.port, self.procs = name, port, procs

    def cpu(self):
        return sum(compare.cpu_seconds(p.pid) for p in self.procs)

    def rss_kib(self):
        return sum(compare.rss_kib(p.pid) for p in self.procs)


def make_certs(workdir):
    ca = mesh_certs.Authority("bench-root")
    roots = compare.write(workdir, "roots.pem", ca.cert_pem())
    client = mesh_certs.write_pair(workdir, "client", ca.issue([CLIENT_ID]))
    server = mesh_certs.write_pair(workdir, "server", ca.issue([SERVER_ID]))
    return roots, client, server


def weft_secrets(pair, roots):
    return f"""  secrets:
    - name: identity
      tls_certificate: {{certificate_chain_file: {pair[0]}, private_key_file: {pair[1]}}}
    - name: trust-bundle
      validation_context: {{trusted_ca_file: {roots}, trust_domain: cluster.local}}
"""


def start_weft_pair(workdir, backend_port, roots, client, server):
    server_port, client_port = compare.free_port(), compare.free_port()
    route = """            generate_request_id: false
            route_config:
              name: r
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}}, route: {{cluster: {cluster}}}}}]}}]
"""
    server_conf = compare.write(workdir, "weft-server.yaml", f"""
node: {{id: bench-server}}
concurrency: 1
admin: {{address: {{address: 127.0.0.1, port: {compare.free_port()}}}}}
static_resources:
{weft_secrets(server, roots)}
  listeners:
    - name: inbound
      address: {{address: 127.0.0.1, port: {server_port}}}
      filter_chains:
        - name: http
          tls: {{mode: STRICT, min_version: TLS_V1_3}}
          http:
            stat_prefix: inbound
{route.format(cluster="app")}
  clusters:
    - name: app
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {backend_port}}}}}}}]}}]}}
""")
    client_conf = compare.write(workdir, "weft-client.yaml", f"""
node: {{id: bench-client}}
concurrency: 1
admin: {{address: {{address: 127.0.0.1, port: {compare.free_port()}}}}}
static_resources:
{weft_secrets(client, roots)}
  listeners:
    - name: outbound
      address: {{address: 127.0.0.1, port: {client_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: outbound
{route.format(cluster="server")}
  clusters:
    - name: server
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {server_port}}}}}, identity: "{SERVER_ID}"}}]}}]}}
""")
    procs = []
    for name, conf, port in (("weft-server", server_conf, server_port),
                             ("weft-client", client_conf, client_port)):
        procs.append(compare.start([compare.WEFT, "--config", conf, "--log-level", "warning"],
                                   workdir, name, compare.PROXY_CORE))
        compare.wait_port(port)
    return Pair("weft-proxy pair", client_port, procs)


def start_haproxy_pair(workdir, backend_port, roots, client, server):
    server_port, client_port = compare.free_port(), compare.free_port()
    bundle = {}
    for name, pair in (("client", client), ("server", server)):
        with open(pair[0]) as cert, open(pair[1]) as key:
            bundle[name] = compare.write(workdir, f"haproxy-{name}.pem", cert.read() + key.read())
    common = """global
  nbthread 1
  maxconn 4096
  ssl-default-bind-options ssl-min-ver TLSv1.3
  ssl-default-server-options ssl-min-ver TLSv1.3
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
"""
    server_conf = compare.write(workdir, "haproxy-server.cfg", common + f"""frontend fe
  bind 127.0.0.1:{server_port} ssl crt {bundle['server']} ca-file {roots} verify required curves P-256 alpn http/1.1
  default_backend be
backend be
  http-reuse always
  server app 127.0.0.1:{backend_port}
""")
    client_conf = compare.write(workdir, "haproxy-client.cfg", common + f"""frontend fe
  bind 127.0.0.1:{client_port}
  default_backend be
backend be
  http-reuse always
  server peer 127.0.0.1:{server_port} ssl crt {bundle['client']} ca-file {roots} verify required alpn http/1.1
""")
    procs = []
    for name, conf, port in (("haproxy-server", server_conf, server_port),
                             ("haproxy-client", client_conf, client_port)):
        procs.append(compare.start(["haproxy", "-db", "-f", conf], workdir, name,
                                   compare.PROXY_CORE))
        compare.wait_port(port)
    return Pair("haproxy pair", client_port, procs)


def start_relay_pair(workdir, backend_port):
    """The floor: the same two hops as a pair, relaying TCP bytes only (HAProxy in TCP mode, no
    TLS, no HTTP parsing). No sidecar pair can add less latency than this on the machine; what
    it adds is the cost of two more processes waking per message, which is the machine's."""
    server_port, client_port = compare.free_port(), compare.free_port()
    procs = []
    for name, listen, forward in (("relay-server", server_port, backend_port),
                                  ("relay-client", client_port, server_port)):
        conf = compare.write(workdir, f"{name}.cfg", f"""global
  nbthread 1
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
listen relay
  bind 127.0.0.1:{listen}
  server next 127.0.0.1:{forward}
""")
        procs.append(compare.start(["haproxy", "-db", "-f", conf], workdir, name,
                                   compare.PROXY_CORE))
        compare.wait_port(listen)
    return Pair("tcp relay pair (floor)", client_port, procs)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--latency-duration", type=int, default=5)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="weft-mtls-bench-")
    roots, client, server = make_certs(workdir)
    backend_port, backend = compare.start_backend(workdir)
    direct = Pair("direct", backend_port, [])
    pairs = [start_weft_pair(workdir, backend_port, roots, client, server),
             start_haproxy_pair(workdir, backend_port, roots, client, server),
             start_relay_pair(workdir, backend_port)]
    targets = [direct] + pairs
    results = {t.name: {"rps": [], "cpu": [], "cpu_fixed": [], "lat": [], "added_p99": []}
               for t in targets}
    try:
        for t in targets:  # warm-up: connections, sessions, page faults
            compare.run_wrk(t.port, 1, args.connections)
            compare.run_loadgen(t.port, args.rate, 1)
        for round_index in range(args.rounds):
            shift = round_index % len(targets)
            order = targets[shift:] + targets[:shift]
            for t in order:
                before = t.cpu()
                requests = compare.run_wrk(t.port, args.duration, args.connections)
                results[t.name]["rps"].append(requests / args.duration)
                if t.procs:
                    results[t.name]["cpu"].append((t.cpu() - before) / requests * 1e6)
            latencies = {}
            for t in order:
                before = t.cpu()
                run = compare.run_loadgen(t.port, args.rate, args.latency_duration)
                latencies[t.name] = run["latency_us"]
                results[t.name]["lat"].append(run["latency_us"])
                if t.procs:
                    results[t.name]["cpu_fixed"].append((t.cpu() - before) / run["count"] * 1e6)
            for t in targets:
                results[t.name]["added_p99"].append(latencies[t.name]["p99"] -
                                                    latencies["direct"]["p99"])
            print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr)

        def ratio(name, field):
            ours, theirs = results[name][field], results["haproxy pair"][field]
            return compare.median([a / b for a, b in zip(ours, theirs)])

        print(f"\n{args.rounds} rounds, medians. Saturated: wrk {args.connections} connections, "
              f"{args.duration:g} s per run. Fixed rate: weft-loadgen {args.rate:,} requests/s "
              f"open loop, 16 connections, {args.latency_duration:g} s per run. Both proxies of a "
              f"pair on core {compare.PROXY_CORE}; load and backend on core {compare.LOAD_CORE}. "
              "TLS 1.3, P-256, client certificates verified, keep-alive.\n")
        print(f"| target | requests/s saturated | pair CPU us/req saturated | ratio | "
              f"pair CPU us/req @{args.rate} | ratio | p50 us @{args.rate} | p99 | added p99 | "
              "RSS MiB (both) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for t in targets:
            r = results[t.name]
            p50 = compare.median([lat["p50"] for lat in r["lat"]])
            p99 = compare.median([lat["p99"] for lat in r["lat"]])
            cells = [t.name, f"{compare.median(r['rps']):,.0f}"]
            if t.procs:
                cells += [f"{compare.median(r['cpu']):.1f}", f"{ratio(t.name, 'cpu'):.2f}",
                          f"{compare.median(r['cpu_fixed']):.1f}",
                          f"{ratio(t.name, 'cpu_fixed'):.2f}"]
            else:
                cells += ["-", "-", "-", "-"]
            cells += [f"{p50:.0f}", f"{p99:.0f}",
                      f"{compare.median(r['added_p99']):.0f}" if t.procs else "-",
                      f"{t.rss_kib() / 1024:.1f}" if t.procs else "-"]
            print("| " + " | ".join(cells) + " |")
    finally:
        for proc in [backend] + [p for pair in pairs for p in pair.procs]:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    main()
