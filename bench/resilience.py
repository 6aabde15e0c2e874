#!/usr/bin/python3
"""Resilience policies in weft-proxy: what they cost when nothing fails, and what retries buy
when the backend does fail. Two modes:

cost: CPU per request with resilience policies configured but not triggered, against the bare
  proxy, side by side in one run. Two weft-proxy processes (concurrency 1, both pinned to core
  0) in front of the same nginx backend (one worker on core 1, two listen ports answering a
  64-byte body over HTTP/1.1 keep-alive); the load generators run on core 1 too.
    * bare: one route to a cluster of the two nginx ports, `retry_policy: {}`;
    * policies: the same endpoints behind a route with a retry policy (retry_on GATEWAY_ERROR,
      CONNECT_FAILURE, RESET; num_retries 2; per_try_timeout 1s), a weighted split 90/10
      between two clusters holding the same two endpoints, and a retry budget in each
      cluster's circuit_breakers (20 % + 10/s, written out), and outlier detection
      (`outlier_detection: {consecutive_5xx: 5}`) on both clusters (--without-outlier leaves
      it out).
  Every answer is a 200, so no retry is ever taken: what is measured is the price of having
  the policies on the request path (the retry state, the budget deposit, the split's pick).
  For each config and round:
    * saturated: wrk (1 thread, --connections, closed loop) for --duration seconds; the proxy's
      CPU time (every thread, from /proc/<pid>/task/*/schedstat) over the requests served;
    * fixed rate: build/bin/weft-loadgen at --rate requests/s (default 1,000), open loop, 16
      connections, for --latency-duration seconds: latency p50/p99 counted from each request's
      intended send time, and the proxy's CPU per request over that run.
  Rounds interleave the two configs and rotate their order; the table shows medians over
  rounds and the policies/bare CPU ratio as the median of the per-round ratios. Any non-2xx
  answer or socket error stops the run (it would mean a policy was triggered).

chart: client success rate against backend failure rate, with and without retries, as a PNG
  (default docs/images/retry_success.png) and a markdown table. Two fault backends
  (tests/tools/fault_backend.py, on core 1) are the endpoints of one round-robin cluster, with
  weft-proxy (concurrency 1, core 0) in front. For each failure rate f in --fail-rates (default
  0, 0.1, ..., 0.9), both backends are set live (POST /_control {"fail_fraction": f}: exactly
  that share of what each backend sees is answered 503, spread evenly, and the pattern restarts)
  and --requests requests (default 1,000) are sent from --threads keep-alive http.client
  threads (default 8); the 200s are counted. Three curves:
    * no retries: `retry_policy: {}`;
    * default budget: retry_on [GATEWAY_ERROR], num_retries 2, no circuit_breakers, so the
      proxy's default budget (20 % of requests + 10/s) applies;
    * unlimited budget: the same retry policy with circuit_breakers retry_budget
      {budget_percent: 100, min_retries_per_second: 1000}, which never runs out here.
  Retries wait the proxy's default backoff (25 ms base, 250 ms cap). Also shown: the attempts
  each client request cost (the backends' /_stats "requests" counted over the point, summed,
  over the client's requests). The dotted line is 1 - f^3: what 2 retries would give if
  failures were independent and the budget unlimited.
  The budget is a token bucket per proxy process (per worker) that starts with one second's
  worth of min_retries_per_second and grows with time between requests up to ten seconds'
  worth. So that every point starts alike, the proxy is restarted for every (curve, failure
  rate) point: each starts with a full second of tokens (10 with the default budget) and
  nothing banked from the previous point. The time allowance still grows while a point runs,
  so a default-budget point that runs longer retries a little more: each of its points'
  duration is in the table.

Usage: /usr/bin/python3 bench/resilience.py cost [--rounds 5] [--duration 4]
           [--latency-duration 5] [--rate 1000] [--connections 32] [--without-outlier] [--nice N]
       /usr/bin/python3 bench/resilience.py chart [--requests 1000] [--threads 8]
           [--fail-rates 0,0.1,...,0.9] [--output docs/images/retry_success.png]
Needs: nginx, wrk, taskset; python3-matplotlib for chart (Debian 12:
apt-get install --no-install-recommends python3-matplotlib); built build/bin/weft-proxy and
build/bin/weft-loadgen. Traffic stays on 127.0.0.1.
"""
import argparse
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the shared harness: processes, CPU, wrk, weft-loadgen)

ROOT = compare.ROOT
FAULT_BACKEND = os.path.join(ROOT, "tests", "tools", "fault_backend.py")
DEFAULT_CHART = os.path.join(ROOT, "docs", "images", "retry_success.png")

PROXY_CONFIG = """
node: {{id: {name}}}
concurrency: 1
admin: {{address: {{address: 127.0.0.1, port: {admin_port}}}}}
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            generate_request_id: false
            route_config:
              name: r
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route:
{route}
  clusters:
{clusters}
"""


def route_yaml(clusters, retry_policy):
    """The route action: one cluster, or a weighted split given as [(name, weight)]."""
    indent = " " * 24
    if isinstance(clusters, str):
        lines = [f"cluster: {clusters}"]
    else:
        lines = ["weighted_clusters:", "  clusters:"]
        lines += [f"    - {{name: {name}, weight: {weight}}}" for name, weight in clusters]
    lines.append(f"retry_policy: {retry_policy}")
    return "\n".join(indent + line for line in lines)


def cluster_yaml(name, ports, extra=()):
    lines = [f"    - name: {name}", "      lb_policy: ROUND_ROBIN"]
    lines += [f"      {line}" for line in extra]
    lines += ["      load_assignment:", "        endpoints:", "          - lb_endpoints:"]
    lines += [f"              - endpoint: {{address: {{address: 127.0.0.1, port: {port}}}}}"
              for port in ports]
    return "\n".join(lines)


class Proxy:
    """One weft-proxy process, pinned to the proxy core."""

    def __init__(self, workdir, name, route, clusters, extra=""):
        """`extra`: more top-level bootstrap YAML (e.g. a stats block)."""
        self.name, self.port = name, compare.free_port()
        config = compare.write(workdir, f"{name}.yaml", PROXY_CONFIG.format(
            name=name, admin_port=compare.free_port(), port=self.port, route=route,
            clusters="\n".join(clusters)) + extra)
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.proc = compare.start([compare.WEFT, "--config", config, "--log-level", "warning"],
                                  workdir, name, compare.PROXY_CORE)
        try:
            wait_listening(self.proc, self.port, self.log_path, name)
        except BaseException:
            stop(self.proc)
            raise

    def cpu(self):
        return compare.cpu_seconds(self.proc.pid)


def log_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_listening(proc, port, log_path, name, timeout=15):
    """Waits until the port accepts connections; a process that exits first (a refused
    config) is reported with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode} before serving:\n"
                               f"{log_text(log_path).strip()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name}: nothing listening on {port} after {timeout}s:\n"
                       f"{log_text(log_path).strip()}")


def stop(proc, grace=5):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)


# ---------------------------------------------------------------------------------------------
# cost

def start_nginx_backend(workdir):
    """nginx, one worker on the load core, listening on two ports (the clusters' two
    endpoints), answering a 64-byte body with keep-alive."""
    ports = [compare.free_port(), compare.free_port()]
    listens = " ".join(f"listen 127.0.0.1:{port} reuseport;" for port in ports)
    conf = compare.write(workdir, "backend.conf", f"""
worker_processes 1; daemon off; pid {workdir}/backend.pid; error_log stderr error;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ {listens} location / {{ return 200 "{compare.BODY}"; }} }} }}
""")
    proc = compare.start(["nginx", "-c", conf, "-p", workdir], workdir, "backend",
                         compare.LOAD_CORE)
    try:
        for port in ports:
            wait_listening(proc, port, os.path.join(workdir, "backend.log"), "nginx backend")
    except BaseException:
        stop(proc)
        raise
    return ports, proc


def start_cost_proxies(workdir, ports, with_outlier):
    bare = Proxy(workdir, "bare", route_yaml("backend", "{}"), [cluster_yaml("backend", ports)])
    policy = ("{retry_on: [GATEWAY_ERROR, CONNECT_FAILURE, RESET], num_retries: 2, "
              "per_try_timeout: 1s}")
    extra = ["circuit_breakers: {thresholds: [{retry_budget: "
             "{budget_percent: 20, min_retries_per_second: 10}}]}"]
    if with_outlier:
        extra.append("outlier_detection: {consecutive_5xx: 5}")
    try:
        policies = Proxy(workdir, "policies",
                         route_yaml([("primary", 90), ("canary", 10)], policy),
                         [cluster_yaml("primary", ports, extra),
                          cluster_yaml("canary", ports, extra)])
    except RuntimeError:
        stop(bare.proc)
        raise
    return [bare, policies]


def check_cost_tools():
    for tool in ("nginx", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install nginx-light util-linux")
    if shutil.which("wrk") is None:
        # weft-loadgen is open loop only (a fixed schedule): it has no closed-loop mode to
        # stand in for wrk's saturated run.
        sys.exit("wrk is missing: apt-get install wrk (the saturated runs need a closed-loop "
                 "generator; weft-loadgen only sends at a fixed rate)")
    for binary in (compare.WEFT, compare.LOADGEN):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} is missing: build first (ninja -C build)")


def measure_configs(proxies, args):
    """Warm-up, then args.rounds rounds over `proxies` (order rotated each round): a saturated
    wrk run and a fixed-rate weft-loadgen run each. Returns per-proxy lists of requests/s, CPU
    per request (saturated, fixed rate) and latencies."""
    results = {p.name: {"rps": [], "cpu_us": [], "cpu_us_fixed": [], "lat": []} for p in proxies}
    for p in proxies:  # warm-up: connections, caches, page faults
        compare.run_wrk(p.port, 1, args.connections)
        compare.run_loadgen(p.port, args.rate, 1)
    for round_index in range(args.rounds):
        shift = round_index % len(proxies)
        order = proxies[shift:] + proxies[:shift]
        for p in order:
            before = p.cpu()
            requests = compare.run_wrk(p.port, args.duration, args.connections)
            results[p.name]["rps"].append(requests / args.duration)
            results[p.name]["cpu_us"].append((p.cpu() - before) / requests * 1e6)
        for p in order:
            before = p.cpu()
            run = compare.run_loadgen(p.port, args.rate, args.latency_duration)
            results[p.name]["lat"].append(run["latency_us"])
            results[p.name]["cpu_us_fixed"].append((p.cpu() - before) / run["count"] * 1e6)
        for p in proxies:
            if p.proc.poll() is not None:
                raise RuntimeError(f"{p.name} exited:\n{log_text(p.log_path)}")
        print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr)
    return results


def print_cost_table(proxies, results, args, baseline, description):
    """The medians, and each config's CPU per request against `baseline`'s (median of the
    per-round ratios); per-round figures on stderr."""
    def ratio(name, field):
        ours, theirs = results[name][field], results[baseline][field]
        return compare.median([a / b for a, b in zip(ours, theirs)])

    print(f"\n{args.rounds} rounds, medians. One nginx backend (2 listen ports, 64-byte body, "
          f"keep-alive). weft-proxy concurrency 1 on core {compare.PROXY_CORE}; load and "
          f"backend on core {compare.LOAD_CORE}. Saturated: wrk 1 thread, "
          f"{args.connections} connections, {args.duration:g} s per run. Fixed rate: "
          f"weft-loadgen {args.rate:,} requests/s open loop, 16 connections, "
          f"{args.latency_duration:g} s per run"
          + (f"; nice {args.nice}" if args.nice else "") + ". " + description + "\n")
    print(f"| config | requests/s saturated | CPU µs/req saturated | ratio | "
          f"CPU µs/req @{args.rate} | ratio | p50 µs @{args.rate} | p99 µs @{args.rate} |")
    print("|---|---|---|---|---|---|---|---|")
    for p in proxies:
        r = results[p.name]
        cells = [p.name, f"{compare.median(r['rps']):,.0f}",
                 f"{compare.median(r['cpu_us']):.2f}", f"{ratio(p.name, 'cpu_us'):.3f}x",
                 f"{compare.median(r['cpu_us_fixed']):.2f}",
                 f"{ratio(p.name, 'cpu_us_fixed'):.3f}x",
                 f"{compare.median([lat['p50'] for lat in r['lat']]):,.0f}",
                 f"{compare.median([lat['p99'] for lat in r['lat']]):,.0f}"]
        print("| " + " | ".join(cells) + " |")
    print(f"\nratio: CPU per request against {baseline}, median of per-round ratios. Per-round "
          "figures on stderr.")
    print(f"\nCommand: {command_line()}")
    print("per-round figures:", file=sys.stderr)
    print(json.dumps(results), file=sys.stderr)


def run_cost(args):
    if args.nice:
        compare.NICE[:] = ["nice", "-n", str(args.nice)]
    check_cost_tools()
    workdir = tempfile.mkdtemp(prefix="weft-resilience-cost-")
    processes = []
    try:
        ports, backend = start_nginx_backend(workdir)
        processes.append(backend)
        proxies = start_cost_proxies(workdir, ports, not args.without_outlier)
        processes += [p.proc for p in proxies]
        results = measure_configs(proxies, args)
        print_cost_table(
            proxies, results, args, "bare",
            "bare: one cluster, `retry_policy: {}`. policies: retry_on [GATEWAY_ERROR, "
            "CONNECT_FAILURE, RESET], num_retries 2, per_try_timeout 1s; weighted split 90/10 "
            "over two clusters with the same endpoints; retry budget 20 % + 10/s in each "
            "cluster's circuit_breakers"
            + ("" if args.without_outlier else "; outlier_detection consecutive_5xx 5")
            + ". Every answer is a 200: no policy is triggered.")
    finally:
        for proc in processes:
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# chart

CURVES = [
    # (key, label, retry policy, cluster lines)
    ("none", "no retries", "{}", []),
    ("default", "retries, default budget (20 % + 10/s)",
     "{retry_on: [GATEWAY_ERROR], num_retries: 2}", []),
    ("unlimited", "retries, unlimited budget",
     "{retry_on: [GATEWAY_ERROR], num_retries: 2}",
     ["circuit_breakers: {thresholds: [{retry_budget: "
      "{budget_percent: 100, min_retries_per_second: 1000}}]}"]),
]


def start_fault_backend(workdir, name):
    log_path = os.path.join(workdir, f"fault-{name}.log")
    proc = compare.start([sys.executable, "-u", FAULT_BACKEND, "--name", name], workdir,
                         f"fault-{name}", compare.LOAD_CORE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        match = re.search(r"listening on (\d+)", log_text(log_path))
        if match:
            return int(match.group(1)), proc
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    stop(proc)
    raise RuntimeError(f"fault backend {name} did not start:\n{log_text(log_path)}")


def backend_call(port, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"content-type": "application/json"} if body else {})
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path} on {port}: {response.status} {payload!r}")
        return json.loads(payload)
    finally:
        connection.close()


def send_requests(port, total, threads):
    """Keep-alive clients on `threads` threads; returns ({status: count}, [errors])."""
    lock = threading.Lock()
    statuses, errors = {}, []

    def one_thread(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            for _ in range(count):
                try:
                    connection.request("GET", "/")
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as error:
                    with lock:
                        errors.append(repr(error))
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                    continue
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            connection.close()

    shares = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    # Daemon threads: a SIGTERM in the main thread ends the run without waiting for them.
    workers = [threading.Thread(target=one_thread, args=(n,), daemon=True) for n in shares if n]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses, errors


def load_matplotlib():
    try:
        import matplotlib
    except ImportError:
        sys.exit("matplotlib is missing for this Python "
                 f"({sys.executable}): on Debian 12, apt-get install --no-install-recommends "
                 "python3-matplotlib and run the script with /usr/bin/python3")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def draw_chart(plt, path, rates, points, num_retries, requests):
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7.5), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 2]})
    markers = {"none": "o", "default": "s", "unlimited": "^"}
    for key, label, _, _ in CURVES:
        xs = [f * 100 for f in rates]
        top.plot(xs, [points[key][f]["success"] * 100 for f in rates], marker=markers[key],
                 label=label)
        bottom.plot(xs, [points[key][f]["attempts"] for f in rates], marker=markers[key],
                    label=label)
    top.plot([f * 100 for f in rates], [(1 - f ** (num_retries + 1)) * 100 for f in rates],
             linestyle=":", color="grey",
             label=f"$1 - f^{{{num_retries + 1}}}$ (independent failures, {num_retries} retries)")
    top.set_ylabel("client success rate (%)")
    top.set_ylim(0, 102)
    top.grid(True, alpha=0.3)
    top.legend(loc="lower left", fontsize="small")
    top.set_title(f"weft-proxy retries: {requests:,} requests per point, 2 backends "
                  "failing with 503", fontsize="medium")
    bottom.set_ylabel("backend attempts per request")
    bottom.set_xlabel("backend failure rate (%)")
    bottom.set_ylim(0.9, num_retries + 1.1)
    bottom.grid(True, alpha=0.3)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run_chart(args):
    plt = load_matplotlib()
    try:
        rates = [float(x) for x in args.fail_rates.split(",")]
    except ValueError:
        sys.exit(f"--fail-rates takes fractions separated by commas, not {args.fail_rates!r}")
    if any(not 0 <= f <= 1 for f in rates):
        sys.exit("--fail-rates: every fraction is between 0 and 1")
    if shutil.which("taskset") is None:
        sys.exit("taskset is missing: apt-get install util-linux")
    if not os.access(compare.WEFT, os.X_OK):
        sys.exit(f"{compare.WEFT} is missing: build first (ninja -C build)")

    workdir = tempfile.mkdtemp(prefix="weft-resilience-chart-")
    backends = []
    proxy = None
    points = {key: {} for key, *_ in CURVES}
    problems = []
    try:
        for name in ("a", "b"):
            backends.append(start_fault_backend(workdir, name))
        ports = [port for port, _ in backends]
        for f in rates:
            for key, label, policy, extra in CURVES:
                for port in ports:  # also restarts each backend's failure pattern
                    backend_call(port, "POST", "/_control", {"fail_fraction": f})
                before = [backend_call(port, "GET", "/_stats") for port in ports]
                # A fresh proxy per point: its retry budget starts with one second of tokens.
                proxy = Proxy(workdir, f"chart-{key}", route_yaml("backends", policy),
                              [cluster_yaml("backends", ports, extra)])
                started = time.monotonic()
                statuses, errors = send_requests(proxy.port, args.requests, args.threads)
                elapsed = time.monotonic() - started
                if proxy.proc.poll() is not None:
                    raise RuntimeError(f"weft-proxy exited during the point:\n"
                                       f"{log_text(proxy.log_path)}")
                stop(proxy.proc)
                proxy = None
                after = [backend_call(port, "GET", "/_stats") for port in ports]
                attempts = sum(a["requests"] - b["requests"] for a, b in zip(after, before))
                failed = sum(a["failed"] - b["failed"] for a, b in zip(after, before))
                ok = statuses.get(200, 0)
                points[key][f] = {"success": ok / args.requests,
                                  "attempts": attempts / args.requests,
                                  "statuses": statuses, "errors": len(errors),
                                  "backend_attempts": attempts, "backend_failed": failed,
                                  "seconds": round(elapsed, 2)}
                unexpected = {s: n for s, n in statuses.items() if s not in (200, 503)}
                if errors or unexpected:
                    problems.append(f"f={f:g} {key}: statuses {statuses}, {len(errors)} client "
                                    f"errors {sorted(set(errors))[:3]}")
                print(f"f={f:g} {key}: {ok}/{args.requests} ok, statuses {statuses}, "
                      f"{attempts} backend attempts ({failed} failed), {len(errors)} client "
                      f"errors, {elapsed:.1f} s", file=sys.stderr)
    finally:
        if proxy is not None:
            stop(proxy.proc)
        for _, proc in backends:
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)

    draw_chart(plt, args.output, rates, points, 2, args.requests)
    print(f"\n{args.requests:,} requests per point from {args.threads} keep-alive client "
          "threads; two fault backends (503 for exactly the failure rate's share of what each "
          "sees) behind weft-proxy (concurrency 1, round robin), restarted for every point. "
          "Retries: retry_on [GATEWAY_ERROR], num_retries 2, default backoff. attempts: "
          "backend requests per client request.\n")
    header = ["backend failure rate"]
    for key, label, *_ in CURVES:
        header += [f"{label}: success", "attempts"]
    header += ["1 - f³", "default budget: seconds"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for f in rates:
        cells = [f"{f * 100:.0f} %"]
        for key, *_ in CURVES:
            cells += [f"{points[key][f]['success'] * 100:.1f} %",
                      f"{points[key][f]['attempts']:.2f}"]
        cells += [f"{(1 - f ** 3) * 100:.1f} %", f"{points['default'][f]['seconds']:.1f}"]
        print("| " + " | ".join(cells) + " |")
    print(f"\nChart: {os.path.relpath(os.path.abspath(args.output), ROOT)}")
    if problems:
        print("\nUnexpected answers (neither 200 nor 503, or client errors):")
        for line in problems:
            print(f"  {line}")
    print(f"\nCommand: {command_line()}")
    print("per-point figures:", file=sys.stderr)
    print(json.dumps({key: {str(f): v for f, v in by_rate.items()}
                      for key, by_rate in points.items()}), file=sys.stderr)


# ---------------------------------------------------------------------------------------------

def command_line():
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    env = [f"{name}={os.environ[name]}" for name in ("WEFT_PROXY", "WEFT_LOADGEN")
           if name in os.environ]
    return shlex.join([*env, sys.executable, script, *sys.argv[1:]])


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    cost = modes.add_parser("cost", help="CPU per request, policies configured vs bare")
    cost.add_argument("--rounds", type=int, default=5)
    cost.add_argument("--duration", type=int, default=4, help="seconds per saturated run")
    cost.add_argument("--latency-duration", type=float, default=5,
                      help="seconds per fixed-rate run")
    cost.add_argument("--rate", type=int, default=1000, help="fixed rate, requests/s")
    cost.add_argument("--connections", type=int, default=32, help="wrk connections")
    cost.add_argument("--without-outlier", action="store_true",
                      help="leave outlier_detection out of the policies clusters")
    cost.add_argument("--nice", type=int, default=0, help="niceness of every process")
    chart = modes.add_parser("chart", help="success rate against backend failure rate (PNG)")
    chart.add_argument("--requests", type=int, default=1000, help="client requests per point")
    chart.add_argument("--threads", type=int, default=8, help="keep-alive client threads")
    chart.add_argument("--fail-rates", default=",".join(f"{i / 10:g}" for i in range(10)),
                       help="backend failure rates, comma-separated (default 0,0.1,...,0.9)")
    chart.add_argument("--output", default=DEFAULT_CHART, help="PNG path")
    args = parser.parse_args()
    # A SIGTERM (or the parent's timeout) still runs the cleanup in the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.mode == "cost":
        run_cost(args)
    else:
        run_chart(args)


if __name__ == "__main__":
    main()
