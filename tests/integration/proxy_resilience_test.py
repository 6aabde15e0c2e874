#!/usr/bin/env python3
"""Retries, retry budgets and per-try timeouts, with the real proxy in front of the controllable
fault backend (tests/tools/fault_backend.py). Every test asserts counts: what the client got and
what each backend saw."""
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

FAULT_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "fault_backend.py")

CONFIG = """
node: {{id: resilience-proxy}}
concurrency: {concurrency}
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route:
                        cluster: backends
                        timeout: {route_timeout}
                        retry_policy: {retry_policy}
  clusters:
    - name: backends
      lb_policy: ROUND_ROBIN
{cluster_extra}
      load_assignment:
        endpoints:
          - lb_endpoints:
{endpoints}
"""


def endpoint(port):
    return f"              - endpoint: {{address: {{address: 127.0.0.1, port: {port}}}}}"


class Client:
    """Keep-alive HTTP/1.1 clients on several threads; counts statuses and backends."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.statuses = {}
        self.backends = {}
        self.errors = []

    def _one_thread(self, count, path, method, body):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            for _ in range(count):
                try:
                    connection.request(method, path, body=body)
                    response = connection.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as error:
                    with self.lock:
                        self.errors.append(repr(error))
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                    continue
                backend = None
                if response.status == 200:
                    backend = json.loads(payload)["backend"]
                with self.lock:
                    self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
                    if backend:
                        self.backends[backend] = self.backends.get(backend, 0) + 1
        finally:
            connection.close()

    def run(self, total, threads=4, path="/", method="GET", body=None):
        share = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
        workers = [threading.Thread(target=self._one_thread, args=(n, path, method, body))
                   for n in share]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return self


class ResilienceTest(harness.IntegrationTest):
    """Fault backends and their counters."""

    def start_fault_backend(self, name, *args):
        process = self.start([sys.executable, FAULT_BACKEND, "--name", name, *args],
                             f"fault-{name}")
        return int(process.wait_for(r"listening on (\d+)").group(1))

    def stats(self, port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/_stats")
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def start_mirror(self, share, *shadow_args):
        """A proxy sending `share` percent of its requests' copies to a shadow backend."""
        primary = self.start_fault_backend("primary")
        shadow = self.start_fault_backend("shadow", *shadow_args)
        proxy_port = harness.free_port()
        self.start_proxy(MIRROR_CONFIG.format(proxy_port=proxy_port, primary=primary,
                                              shadow=shadow, share=share))
        return proxy_port, primary, shadow

    def wait_for_mirrors(self, shadow):
        """Waits until every copy sent has reached the shadow or failed; returns how many were
        sent."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            counters = self.counters()
            done = counters["weft_proxy_mirrored_requests_total"]
            if self.stats(shadow)["requests"] + counters["weft_proxy_mirror_failures_total"] >= done:
                break
            time.sleep(0.1)
        return self.counters()["weft_proxy_mirrored_requests_total"]

    def counters(self):
        """The proxy's Prometheus samples by name (with their labels, if any)."""
        _, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/stats/prometheus")
        values = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                number = float(value)  # histogram sums are fractions; counters are whole
                values[name] = int(number) if number.is_integer() else number
        return values


class MeshTest(ResilienceTest):
    """A proxy in front of a cluster of fault backends, with a route policy to test."""

    def start_mesh(self, ports, retry_policy, route_timeout="10s", cluster_extra="",
                   concurrency=2, endpoints=None):
        """`endpoints`: the lb_endpoints lines, when not one per port of `ports`."""
        proxy_port = harness.free_port()
        self.start_proxy(CONFIG.format(
            concurrency=concurrency, proxy_port=proxy_port, route_timeout=route_timeout,
            retry_policy=retry_policy, cluster_extra=cluster_extra,
            endpoints=endpoints or "\n".join(endpoint(port) for port in ports)))
        return proxy_port

    def reload(self, edit):
        """Rewrites the proxy's bootstrap with `edit` (text -> text) as a ConfigMap update does
        (write, then rename) and waits until the proxy serves it."""
        path = os.path.join(self.tempdir, "bootstrap.yaml")
        with open(path) as config:
            text = config.read()
        before = self.config_version()
        with open(path + ".tmp", "w") as config:
            config.write(edit(text))
        os.rename(path + ".tmp", path)
        self.wait_for(lambda: self.config_version() != before, "the reload")

    def config_version(self):
        _, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/config_dump")
        return json.loads(body)["version_info"]

    def wait_for(self, condition, what, timeout=15):
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, f"timed out waiting for {what}")
            time.sleep(0.05)



class ProxyRetryTest(MeshTest):
    def test_retries_turn_a_30_percent_failing_backend_into_success(self):
        ports = [self.start_fault_backend(name, "--fail-fraction", "0.3")
                 for name in ("a", "b")]
        proxy_port = self.start_mesh(
            ports, "{retry_on: [GATEWAY_ERROR], num_retries: 6, backoff: {base_interval: 0.001s}}",
            cluster_extra="      circuit_breakers: {thresholds: [{retry_budget: "
                          "{budget_percent: 100}}]}")
        client = Client(proxy_port).run(2000)
        self.assertEqual(client.errors, [])
        successes = client.statuses.get(200, 0)
        self.assertGreaterEqual(successes / 2000, 0.999, client.statuses)
        # Each backend failed exactly 30 % of what it saw, and every failure was tried again:
        # attempts = requests + failures retried.
        seen = [self.stats(port) for port in ports]
        attempts = sum(s["requests"] for s in seen)
        failed = sum(s["failed"] for s in seen)
        self.assertGreater(failed, 0.29 * attempts, seen)
        self.assertEqual(attempts, 2000 + failed - client.statuses.get(503, 0), seen)
        self.assertEqual(sum(s["ok"] for s in seen), successes)

    def test_without_retries_the_failures_reach_the_client(self):
        port = self.start_fault_backend("a", "--fail-fraction", "0.3")
        proxy_port = self.start_mesh([port], "{}")
        client = Client(proxy_port).run(1000)
        self.assertEqual(client.statuses, {200: 700, 503: 300})
        self.assertEqual(self.stats(port)["requests"], 1000)

    def test_budget_caps_attempts_when_everything_fails(self):
        port = self.start_fault_backend("down", "--fail-fraction", "1")
        # Three retries each would make 4 attempts per request; the default budget (20 % of
        # requests plus 10 a second, the bucket starting with one second's worth) allows far
        # fewer.
        proxy_port = self.start_mesh([port], "{retry_on: [GATEWAY_ERROR], num_retries: 3, "
                                             "backoff: {base_interval: 0.001s}}")
        started = time.monotonic()
        client = Client(proxy_port).run(1500)
        elapsed = time.monotonic() - started
        self.assertEqual(client.statuses, {503: 1500})
        attempts = self.stats(port)["requests"]
        self.assertLessEqual(attempts, 1500 * 1.2 + 10 * (elapsed + 1) + 1,
                             f"{attempts} attempts in {elapsed:.1f}s")
        # Retries did happen, within the budget.
        self.assertGreater(attempts, 1500 + 0.15 * 1500, attempts)

    def test_per_try_timeout_moves_a_slow_attempt_to_a_healthy_host(self):
        slow = self.start_fault_backend("slow", "--delay-ms", "3000", "--delay-fraction", "1")
        fast = self.start_fault_backend("fast")
        proxy_port = self.start_mesh(
            [slow, fast], "{retry_on: [RESET], num_retries: 2, per_try_timeout: 0.2s}",
            concurrency=1)
        client = Client(proxy_port).run(20, threads=2)
        self.assertEqual(client.statuses, {200: 20}, client.errors)
        self.assertEqual(client.backends, {"fast": 20})
        # Round robin sent every other first attempt to the slow host; each was cut off by the
        # per-try timeout and answered by the fast one.
        self.assertEqual(self.stats(fast)["ok"], 20)
        self.assertGreaterEqual(self.stats(slow)["requests"], 8)

    def test_connect_failure_goes_to_another_host(self):
        live = self.start_fault_backend("live")
        dead = harness.free_port()  # nothing listens there
        # Half the first attempts fail: more than the default budget's 20 %.
        proxy_port = self.start_mesh(
            [dead, live], "{retry_on: [CONNECT_FAILURE, REFUSED_STREAM], num_retries: 2}",
            cluster_extra="      circuit_breakers: {thresholds: [{retry_budget: "
                          "{budget_percent: 100}}]}")
        client = Client(proxy_port).run(50, threads=1)
        self.assertEqual(client.statuses, {200: 50}, client.errors)
        self.assertEqual(self.stats(live)["ok"], 50)

    def test_a_request_body_is_sent_again_whole(self):
        port = self.start_fault_backend("a", "--fail-fraction", "0.5")
        proxy_port = self.start_mesh([port], "{retry_on: [HTTP_5XX], num_retries: 1}")
        body = os.urandom(40_000)
        connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        answers = []
        for _ in range(4):
            connection.request("POST", "/upload", body=body)
            response = connection.getresponse()
            answers.append((response.status, json.loads(response.read())))
        connection.close()
        self.assertEqual([status for status, _ in answers], [200] * 4)
        for _, answer in answers:
            self.assertEqual(answer["body_length"], len(body))
            self.assertEqual(answer["body_sha256"], hashlib.sha256(body).hexdigest())
        # The backend fails every second request it sees: requests 2, 3 and 4 each failed once.
        self.assertEqual(self.stats(port), {"requests": 7, "ok": 4, "failed": 3, "reset": 0,
                                            "delayed": 0, "health_checks": 0, "mirrored": 0,
                                            "mirrored_bytes": 0})

    def test_a_body_larger_than_the_replay_limit_is_not_retried(self):
        port = self.start_fault_backend("a", "--fail-fraction", "1")
        proxy_port = self.start_mesh([port], "{retry_on: [HTTP_5XX], num_retries: 3}")
        connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        connection.request("POST", "/upload", body=os.urandom(100_000))
        response = connection.getresponse()
        response.read()
        connection.close()
        self.assertEqual(response.status, 503)
        self.assertEqual(self.stats(port)["requests"], 1)

    def test_retry_after_beyond_the_limit_returns_the_response(self):
        port = self.start_fault_backend("a", "--fail-fraction", "1", "--retry-after", "60")
        proxy_port = self.start_mesh(
            [port], "{retry_on: [HTTP_5XX], num_retries: 3, max_reset_interval: 10s, "
                    "reset_headers: [{name: retry-after}]}")
        status, headers, _ = self.curl(f"http://127.0.0.1:{proxy_port}/")
        self.assertEqual(status, 503)
        self.assertEqual(headers.get("retry-after"), "60")  # kept, so the client backs off
        self.assertEqual(self.stats(port)["requests"], 1)

    def test_exhausted_retries_say_so_in_the_local_reply(self):
        dead = [harness.free_port(), harness.free_port()]
        proxy_port = self.start_mesh(dead, "{retry_on: [CONNECT_FAILURE], num_retries: 2}")
        status, headers, body = self.curl(f"http://127.0.0.1:{proxy_port}/")
        self.assertEqual(status, 503)
        self.assertEqual(headers.get("x-weft-reason"), "upstream_connect_failure")
        self.assertIn("(3 attempts; not retried: no retries left)", body)


class ProxyCircuitBreakerTest(MeshTest):
    """Cluster limits answer 503 at once instead of queueing, and recover."""

    def test_overflow_is_answered_at_once_and_recovers(self):
        slow = self.start_fault_backend("slow", "--delay-ms", "1500", "--delay-fraction", "1")
        proxy_port = self.start_mesh(
            [slow], "{}", cluster_extra="      circuit_breakers: {thresholds: [{max_requests: 2}]}")
        finished = []
        lock = threading.Lock()

        def fetch():
            status, headers, _ = self.curl(f"http://127.0.0.1:{proxy_port}/")
            with lock:
                finished.append((status, headers.get("x-weft-reason")))

        threads = [threading.Thread(target=fetch) for _ in range(6)]
        for thread in threads:
            thread.start()
            time.sleep(0.05)  # in order, so that the first two hold the places
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(finished, key=str),
                         sorted([(200, None)] * 2 + [(503, "upstream_overflow")] * 4, key=str))
        # The refusals came back while the two admitted requests were still at the backend.
        self.assertEqual([status for status, _ in finished], [503] * 4 + [200] * 2)
        self.assertEqual(self.stats(slow)["requests"], 2)
        # Places are given back: the next requests pass.
        self.assertEqual(self.curl(f"http://127.0.0.1:{proxy_port}/")[0], 200)
        self.assertEqual(self.stats(slow)["requests"], 3)

    def test_the_overflow_reply_names_the_limit(self):
        slow = self.start_fault_backend("slow", "--delay-ms", "1000", "--delay-fraction", "1")
        proxy_port = self.start_mesh(
            [slow], "{}", cluster_extra="      circuit_breakers: {thresholds: [{max_requests: 1}]}")
        holder = threading.Thread(target=self.curl, args=(f"http://127.0.0.1:{proxy_port}/",))
        holder.start()
        deadline = time.monotonic() + 10
        while self.stats(slow)["requests"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the first request holds the one place
        status, _, body = self.curl(f"http://127.0.0.1:{proxy_port}/")
        holder.join()
        self.assertEqual(status, 503)
        self.assertIn("cluster 'backends' has 1 requests in flight (circuit breaker max_requests)",
                      body)


class ProxyOutlierDetectionTest(MeshTest):
    def start_good_and_bad(self, ejection):
        """A proxy (one worker) in front of a good backend and one failing every request,
        ejected after 3 failures in a row; `ejection`: the rest of outlier_detection."""
        good = self.start_fault_backend("good")
        bad = self.start_fault_backend("bad", "--fail-fraction", "1")
        proxy_port = self.start_mesh(
            [good, bad], "{}", concurrency=1,
            cluster_extra="      outlier_detection: {consecutive_5xx: 3, "
                          f"max_ejection_percent: 50, {ejection}}}")
        return proxy_port, bad

    def test_a_failing_endpoint_is_ejected_and_readmitted(self):
        proxy_port, bad = self.start_good_and_bad("interval: 1s, base_ejection_time: 2s")
        client = Client(proxy_port).run(40, threads=1)
        failed = client.statuses.get(503, 0)
        # Round robin would send it 20; after 3 failures in a row it gets no more until its
        # ejection ends (and, should the run outlast that, 3 more at most before the next).
        self.assertEqual(failed, self.stats(bad)["requests"])
        self.assertGreaterEqual(failed, 3)
        self.assertLess(failed, 10, client.statuses)
        self.assertEqual(client.statuses.get(200, 0), 40 - failed)
        # The endpoint recovers; once its ejection is over it gets traffic again.
        connection = http.client.HTTPConnection("127.0.0.1", bad, timeout=10)
        connection.request("POST", "/_control", body=json.dumps({"fail_fraction": 0}))
        connection.getresponse().read()
        connection.close()
        deadline = time.monotonic() + 15
        while self.stats(bad)["ok"] == 0 and time.monotonic() < deadline:
            Client(proxy_port).run(5, threads=1)
            time.sleep(0.2)
        self.assertGreater(self.stats(bad)["ok"], 0, "the recovered endpoint was never readmitted")

    def test_an_ejection_outlasts_a_config_update(self):
        proxy_port, bad = self.start_good_and_bad("base_ejection_time: 60s")
        client = Client(proxy_port).run(20, threads=1)
        self.assertEqual(client.statuses, {200: 17, 503: 3})
        # A config update (as every endpoint change in a cluster brings) must not readmit it.
        self.reload(lambda text: text.replace("timeout: 10s", "timeout: 9s"))
        client = Client(proxy_port).run(20, threads=1)
        self.assertEqual(client.statuses, {200: 20})
        self.assertEqual(self.stats(bad)["requests"], 3)
        self.assertEqual(self.counters()["weft_proxy_outlier_ejections_total"], 1)

    def test_retries_and_ejection_together_hide_a_dead_endpoint(self):
        good = self.start_fault_backend("good")
        dead = harness.free_port()
        proxy_port = self.start_mesh(
            [good, dead], "{retry_on: [CONNECT_FAILURE], num_retries: 2}", concurrency=1,
            cluster_extra="      outlier_detection: {consecutive_5xx: 2, base_ejection_time: 30s, "
                          "max_ejection_percent: 50}")
        client = Client(proxy_port).run(200, threads=2)
        self.assertEqual(client.statuses, {200: 200}, client.errors)
        retries = self.counters()["weft_proxy_upstream_retries_total"]
        # Two connect failures eject it; without ejection, half the requests would retry.
        self.assertLessEqual(retries, 2, retries)


class HealthCheckTest(MeshTest):
    """What /clusters and the backends say about active health checking."""

    def set_backend(self, port, **settings):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/_control", body=json.dumps(settings))
        self.assertEqual(connection.getresponse().status, 200)
        connection.close()

    def endpoint_health(self):
        """Endpoint "127.0.0.1:port" -> health, as /clusters reports it."""
        _, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/clusters?format=json")
        health = {}
        for cluster in json.loads(body)["clusters"]:
            for endpoint in cluster["endpoints"]:
                health[endpoint["address"]] = endpoint["health"]
        return health


class ProxyHealthCheckTest(HealthCheckTest):
    HTTP_CHECK = ("      health_check: {timeout: 1s, interval: 0.1s, unhealthy_threshold: 2, "
                  "healthy_threshold: 2, http: {path: /healthz}}")

    def test_an_endpoint_failing_its_check_gets_no_traffic_until_it_passes(self):
        good = self.start_fault_backend("good")
        bad = self.start_fault_backend("bad", "--health-status", "503")
        proxy_port = self.start_mesh([good, bad], "{}", cluster_extra=self.HTTP_CHECK)
        # A new endpoint takes traffic once its first probe succeeds; one that fails it never.
        self.wait_for(lambda: self.endpoint_health() == {f"127.0.0.1:{good}": "healthy",
                                                         f"127.0.0.1:{bad}": "unhealthy"},
                      "the first probes")
        client = Client(proxy_port).run(40)
        self.assertEqual(client.statuses, {200: 40}, client.errors)
        self.assertEqual(client.backends, {"good": 40})
        self.assertEqual(self.stats(bad)["requests"], 0)
        self.assertGreater(self.stats(bad)["health_checks"], 0)

        # It recovers: healthy_threshold (2) passing probes in a row readmit it.
        self.set_backend(bad, health_status=200)
        self.wait_for(lambda: self.endpoint_health()[f"127.0.0.1:{bad}"] == "healthy",
                      "the recovered endpoint to be readmitted")
        client = Client(proxy_port).run(40)
        self.assertEqual(client.backends, {"good": 20, "bad": 20})

        # The other one starts failing its checks: after unhealthy_threshold (2) failures in a
        # row it is taken out, while its traffic is still answered.
        self.set_backend(good, health_status=500)
        self.wait_for(lambda: self.endpoint_health()[f"127.0.0.1:{good}"] == "unhealthy",
                      "the failing endpoint to be taken out")
        before = self.stats(good)["requests"]
        client = Client(proxy_port).run(40)
        self.assertEqual(client.backends, {"bad": 40})
        self.assertEqual(self.stats(good)["requests"], before)
        counters = self.counters()
        self.assertEqual(counters["weft_proxy_health_check_unhealthy_total"], 1)
        self.assertGreaterEqual(counters["weft_proxy_health_check_failures_total"], 2)

    def test_a_tcp_probe_takes_a_dead_endpoint_out_before_any_request(self):
        good = self.start_fault_backend("good")
        dead = harness.free_port()
        proxy_port = self.start_mesh(
            [good, dead], "{}",
            cluster_extra="      health_check: {timeout: 1s, interval: 0.1s, tcp: {}}")
        self.wait_for(lambda: self.endpoint_health()[f"127.0.0.1:{good}"] == "healthy",
                      "the first probe of the live endpoint")
        self.assertEqual(self.endpoint_health()[f"127.0.0.1:{dead}"], "unhealthy")
        # No retries are configured: every request succeeds only because none goes to the dead
        # endpoint.
        client = Client(proxy_port).run(50)
        self.assertEqual(client.statuses, {200: 50}, client.errors)

    def test_an_address_listed_twice_is_checked_on_each_health_check_port(self):
        backend = self.start_fault_backend("only")
        dead = harness.free_port()
        # The same address twice: checked on its own port, and on a port nobody listens on.
        lines = "\n".join([
            endpoint(backend),
            f"              - endpoint: {{address: {{address: 127.0.0.1, port: {backend}}}, "
            f"health_check_port: {dead}}}"])
        self.start_mesh([], "{}", endpoints=lines,
                        cluster_extra="      health_check: {timeout: 1s, interval: 0.1s, tcp: {}}")

        def verdicts():
            _, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/clusters?format=json")
            return sorted(endpoint["health"] for cluster in json.loads(body)["clusters"]
                          for endpoint in cluster["endpoints"])
        # One probe loop per (address, check port): each entry gets its own verdict.
        self.wait_for(lambda: verdicts() == ["healthy", "unhealthy"], "both verdicts")

    def test_each_endpoint_is_probed_once_per_proxy_not_once_per_worker(self):
        backend = self.start_fault_backend("only")
        self.start_mesh([backend], "{}", concurrency=4, cluster_extra=self.HTTP_CHECK)
        self.wait_for(lambda: self.stats(backend)["health_checks"] >= 10, "ten probes")
        # The proxy counts a probe when it completes, so the backend may be one ahead; with a
        # probe loop per worker it would see four times as many.
        before = self.counters()["weft_proxy_health_checks_total"]
        seen = self.stats(backend)["health_checks"]
        after = self.counters()["weft_proxy_health_checks_total"]
        self.assertGreaterEqual(seen, before)
        self.assertLessEqual(seen, after + 1)

    def test_a_reload_keeps_the_verdicts(self):
        good = self.start_fault_backend("good")
        bad = self.start_fault_backend("bad", "--health-status", "503")
        # A long interval: after the reload, a verdict that was not carried over would leave
        # the endpoints unprobed (and so out of traffic) for 30 s.
        check = ("      health_check: {timeout: 1s, interval: 30s, unhealthy_threshold: 1, "
                 "http: {path: /healthz}}")
        proxy_port = self.start_mesh([good, bad], "{}", cluster_extra=check)
        self.wait_for(lambda: self.endpoint_health() == {f"127.0.0.1:{good}": "healthy",
                                                         f"127.0.0.1:{bad}": "unhealthy"},
                      "the first probes")
        probes = self.counters()["weft_proxy_health_checks_total"]
        path = os.path.join(self.tempdir, "bootstrap.yaml")
        with open(path) as config:
            text = config.read()
        self.assertIn("timeout: 10s", text)
        with open(path + ".tmp", "w") as config:  # write and rename, as a ConfigMap update does
            config.write(text.replace("timeout: 10s", "timeout: 9s"))
        os.rename(path + ".tmp", path)
        self.wait_for(lambda: self.config_version() == "static-1", "the reload")
        self.assertEqual(self.endpoint_health(), {f"127.0.0.1:{good}": "healthy",
                                                  f"127.0.0.1:{bad}": "unhealthy"})
        client = Client(proxy_port).run(20)
        self.assertEqual(client.backends, {"good": 20})
        # Carried over, not probed again.
        self.assertEqual(self.counters()["weft_proxy_health_checks_total"], probes)
        # New check settings apply at once, not when the old 30 s interval would have ended.
        with open(path + ".tmp", "w") as config:
            config.write(text.replace("interval: 30s", "interval: 0.2s"))
        os.rename(path + ".tmp", path)
        self.wait_for(lambda: self.config_version() == "static-2", "the second reload")
        self.wait_for(
            lambda: self.counters()["weft_proxy_health_checks_total"] >= probes + 4,
            "probes at the new interval", timeout=10)


HTTP2_CHECK_CONFIG = """
node: {{id: h2-health-proxy}}
concurrency: 1
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /healthz}}
                      direct_response: {{status: 200, body: ok}}
                    - match: {{prefix: /down}}
                      direct_response: {{status: 503, body: down}}
                    - match: {{prefix: /}}
                      route: {{cluster: grpc}}
  clusters:
    - name: grpc
      protocol: HTTP2
      health_check: {{timeout: 2s, interval: 0.1s, unhealthy_threshold: 1,
                     grpc: {{service_name: shop.Cart}}}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {grpc_port}}}}}}}]}}]}}
    # HTTP/2 GET probes, answered by this proxy's own listener (HTTP/2 by prior knowledge).
    - name: up
      protocol: HTTP2
      health_check: {{timeout: 2s, interval: 0.1s, http: {{path: /healthz}}}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {proxy_port}}}}}}}]}}]}}
    - name: down
      protocol: HTTP2
      health_check: {{timeout: 2s, interval: 0.1s, http: {{path: /down}}}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {proxy_port}}}}}}}]}}]}}
"""
GRPC_TOOL = os.path.join(harness.SOURCE_DIR, "tests", "tools", "grpc_echo.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-grpcio


class ProxyHttp2HealthCheckTest(HealthCheckTest):
    def grpc_control(self, port, method, text):
        result = subprocess.run([SYSTEM_PYTHON, GRPC_TOOL, "control", f"127.0.0.1:{port}",
                                 method, text], capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.decode().strip()

    def cluster_health(self):
        """Cluster name -> health of its one endpoint, as /clusters reports it."""
        _, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/clusters?format=json")
        return {cluster["name"]: cluster["endpoints"][0]["health"]
                for cluster in json.loads(body)["clusters"]}

    def test_grpc_and_http2_probes(self):
        if subprocess.run([SYSTEM_PYTHON, "-c", "import grpc"],
                          capture_output=True).returncode != 0:
            self.skipTest("python3-grpcio is not installed")
        grpc_port = harness.free_port()
        server = self.start([SYSTEM_PYTHON, GRPC_TOOL, "serve", str(grpc_port)], "grpc")
        server.wait_for(r"listening on \d+")
        self.grpc_control(grpc_port, "SetHealth", "shop.Cart=2")  # NOT_SERVING
        proxy_port = harness.free_port()
        self.start_proxy(HTTP2_CHECK_CONFIG.format(proxy_port=proxy_port, grpc_port=grpc_port))
        self.wait_for(lambda: self.cluster_health() == {"grpc": "unhealthy", "up": "healthy",
                                                        "down": "unhealthy"},
                      "the first probes")
        self.assertGreater(int(self.grpc_control(grpc_port, "HealthChecks", "shop.Cart")), 0)
        # SERVING: the first success admits it; NOT_SERVING again: one failure takes it out.
        self.grpc_control(grpc_port, "SetHealth", "shop.Cart=1")
        self.wait_for(lambda: self.cluster_health()["grpc"] == "healthy", "SERVING")
        self.grpc_control(grpc_port, "SetHealth", "shop.Cart=2")
        self.wait_for(lambda: self.cluster_health()["grpc"] == "unhealthy", "NOT_SERVING")
        self.assertEqual(self.counters()["weft_proxy_health_check_unhealthy_total"], 1)


GRPC_RETRY_CONFIG = """
node: {{id: grpc-retry-proxy}}
concurrency: 1
static_resources:
  listeners:
    - name: grpc
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: grpc
          http:
            stat_prefix: grpc
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route:
                        cluster: grpc
                        timeout: 20s
                        retry_policy: {retry_policy}
  clusters:
    - name: grpc
      protocol: HTTP2
      lb_policy: ROUND_ROBIN
{cluster_extra}
      load_assignment:
        endpoints:
          - lb_endpoints:
{endpoints}
"""


class GrpcTest(ResilienceTest):
    """gRPC echo servers (tests/tools/grpc_echo.py) and calls through the proxy."""

    def setUp(self):
        super().setUp()
        if subprocess.run([SYSTEM_PYTHON, "-c", "import grpc"],
                          capture_output=True).returncode != 0:
            self.skipTest("python3-grpcio is not installed")

    def grpc_server(self, unavailable=False):
        port = harness.free_port()
        server = self.start([SYSTEM_PYTHON, GRPC_TOOL, "serve", str(port)], f"grpc-{port}")
        server.wait_for(r"listening on \d+")
        if unavailable:
            self.control(port, "SetUnavailable", "1")
        return port

    def control(self, port, method, text):
        result = subprocess.run([SYSTEM_PYTHON, GRPC_TOOL, "control", f"127.0.0.1:{port}",
                                 method, text], capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.decode().strip()

    def calls(self, proxy_port, count, size=100):
        result = subprocess.run([SYSTEM_PYTHON, GRPC_TOOL, "calls", f"127.0.0.1:{proxy_port}",
                                 str(count), str(size)], capture_output=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)


class ProxyGrpcRetryTest(GrpcTest):
    """Retries and outlier detection on an HTTP/2 (gRPC) cluster, for HTTP/2 clients."""

    def start_grpc_mesh(self, ports, retry_policy, cluster_extra=""):
        proxy_port = harness.free_port()
        self.start_proxy(GRPC_RETRY_CONFIG.format(
            proxy_port=proxy_port, retry_policy=retry_policy, cluster_extra=cluster_extra,
            endpoints="\n".join(endpoint(port) for port in ports)))
        return proxy_port

    def test_unavailable_and_connect_failures_go_to_another_host(self):
        good = self.grpc_server()
        unavailable = self.grpc_server(unavailable=True)
        dead = harness.free_port()
        proxy_port = self.start_grpc_mesh(
            [good, unavailable, dead],
            "{retry_on: [GRPC_UNAVAILABLE, CONNECT_FAILURE], num_retries: 2, "
            "backoff: {base_interval: 0.001s}}",
            # A budget that never refuses: this test is about where retries go.
            cluster_extra="      circuit_breakers: {thresholds: [{retry_budget: "
                          "{budget_percent: 100, min_retries_per_second: 100}}]}")
        # 10 KB bodies: each retry sends the whole request again (the echo must match).
        self.assertEqual(self.calls(proxy_port, 30, size=10_000), {"OK": 30})
        # Every call ended on the good host; the others' failures were all retried, and
        # retries avoid hosts a call already tried, so two retries always reach the good one.
        self.assertEqual(int(self.control(good, "Calls", "")), 30)
        refused = int(self.control(unavailable, "Calls", ""))
        self.assertGreater(refused, 0)
        retries = self.counters()["weft_proxy_upstream_retries_total"]
        self.assertGreater(retries, refused)  # the connect failures were retried too

    def test_per_try_timeout_moves_a_slow_call_and_the_retry_carries_the_time_left(self):
        slow = self.grpc_server()
        self.control(slow, "SetDelay", "5")
        fast = self.grpc_server()
        proxy_port = self.start_grpc_mesh(
            [slow, fast], "{retry_on: [RESET], num_retries: 2, per_try_timeout: 0.3s}",
            cluster_extra="      circuit_breakers: {thresholds: [{retry_budget: "
                          "{budget_percent: 100}}]}")
        # Each call has a 10 s deadline (grpc-timeout); none waits for the slow host's 5 s.
        self.assertEqual(self.calls(proxy_port, 10), {"OK": 10})
        self.assertEqual(int(self.control(fast, "Calls", "")), 10)
        self.assertGreater(int(self.control(slow, "Calls", "")), 0)
        # A retried call reached the fast host at least 0.3 s into its deadline, and its
        # grpc-timeout said so: the retry forwards the time left, not the first value again.
        # (Measured against what first attempts had left, as gRPC's server reports it.)
        first_attempt = float(self.control(slow, "LeastRemaining", ""))
        retried = float(self.control(fast, "LeastRemaining", ""))
        self.assertLess(retried, first_attempt - 0.2, (retried, first_attempt))
        self.assertGreater(self.counters()["weft_proxy_upstream_retries_total"], 0)

    def test_http1_clients_of_a_grpc_cluster_are_retried_too(self):
        good = self.grpc_server()
        unavailable = self.grpc_server(unavailable=True)
        proxy_port = self.start_grpc_mesh([good, unavailable],
                                          "{retry_on: [GRPC_UNAVAILABLE], num_retries: 1}")
        message = b"\x00\x00\x00\x00\x05hello"  # one gRPC message, uncompressed
        connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        try:
            for _ in range(6):
                connection.request("POST", "/test.Echo/Unary", body=message,
                                   headers={"content-type": "application/grpc", "te": "trailers"})
                response = connection.getresponse()
                # A trailers-only UNAVAILABLE would come back with no body.
                self.assertEqual((response.status, response.read()), (200, message))
        finally:
            connection.close()
        self.assertEqual(int(self.control(good, "Calls", "")), 6)
        self.assertGreater(int(self.control(unavailable, "Calls", "")), 0)

    def test_without_a_retry_policy_unavailable_reaches_the_client(self):
        good = self.grpc_server()
        unavailable = self.grpc_server(unavailable=True)
        proxy_port = self.start_grpc_mesh([good, unavailable], "{}")
        self.assertEqual(self.calls(proxy_port, 10), {"OK": 5, "UNAVAILABLE": 5})
        self.assertEqual(self.counters()["weft_proxy_upstream_retries_total"], 0)

    def test_a_host_answering_unavailable_is_ejected(self):
        good = self.grpc_server()
        unavailable = self.grpc_server(unavailable=True)
        proxy_port = self.start_grpc_mesh(
            [good, unavailable], "{}",
            cluster_extra="      outlier_detection: {consecutive_gateway_failure: 3, "
                          "consecutive_5xx: 0, base_ejection_time: 30s, "
                          "max_ejection_percent: 50}")
        outcomes = self.calls(proxy_port, 40)
        # Three UNAVAILABLE answers in a row eject it; the rest go to the good host.
        self.assertEqual(outcomes.get("UNAVAILABLE"), 3, outcomes)
        self.assertEqual(outcomes.get("OK"), 37, outcomes)
        self.assertEqual(int(self.control(unavailable, "Calls", "")), 3)


GRPC_MIRROR_CONFIG = """
node: {{id: grpc-mirror-proxy}}
concurrency: 2
static_resources:
  listeners:
    - name: grpc
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: grpc
          http:
            stat_prefix: grpc
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route:
                        cluster: primary
                        timeout: {timeout}
                        request_mirror_policies: [{{cluster: shadow, percentage: {share}}}]
  clusters:
    - name: primary
      protocol: {primary_protocol}
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {primary}}}}}}}]}}]
    - name: shadow
      protocol: {shadow_protocol}
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {shadow}}}}}}}]}}]
"""


class ProxyGrpcMirrorTest(GrpcTest):
    """Mirroring when the primary or the mirror cluster speaks HTTP/2: a copy goes in the
    mirror cluster's protocol, whatever the primary's."""

    def start_grpc_mirror(self, primary, shadow, share, primary_protocol="HTTP2",
                          shadow_protocol="HTTP2", timeout="20s"):
        proxy_port = harness.free_port()
        self.start_proxy(GRPC_MIRROR_CONFIG.format(
            proxy_port=proxy_port, primary=primary, shadow=shadow, share=share,
            primary_protocol=primary_protocol, shadow_protocol=shadow_protocol,
            timeout=timeout))
        return proxy_port

    def wait_for_copies(self, count_arrived):
        """Waits until every copy the proxy sent has arrived (count_arrived() says how many)
        or failed; returns (sent, arrived)."""
        deadline = time.monotonic() + 15
        while True:
            counters = self.counters()
            sent = counters["weft_proxy_mirrored_requests_total"]
            arrived = count_arrived()
            if (arrived + counters["weft_proxy_mirror_failures_total"] >= sent
                    or time.monotonic() > deadline):
                return sent, arrived
            time.sleep(0.1)

    def mirrored_at(self, grpc_port):
        """(calls, request bytes) of the copies a gRPC echo server received."""
        calls, size = self.control(grpc_port, "Mirrored", "").split(",")
        return int(calls), int(size)

    def test_grpc_calls_are_mirrored_to_a_grpc_cluster(self):
        primary = self.grpc_server()
        shadow = self.grpc_server()
        proxy_port = self.start_grpc_mirror(primary, shadow, 50)
        self.assertEqual(self.calls(proxy_port, 200, size=3000), {"OK": 200})
        self.assertEqual(int(self.control(primary, "Calls", "")), 200)
        sent, arrived = self.wait_for_copies(lambda: self.mirrored_at(shadow)[0])
        self.assertLess(abs(sent - 100), 45, sent)  # sd of a 50 % share of 200: 7.1
        self.assertEqual(arrived, sent)
        # Each copy carried the whole message, and only copies reached the shadow.
        self.assertEqual(self.mirrored_at(shadow), (sent, sent * 3000))
        self.assertEqual(int(self.control(shadow, "Calls", "")), sent)
        counters = self.counters()
        self.assertEqual(counters["weft_proxy_mirror_dropped_total"], 0)
        self.assertEqual(counters["weft_proxy_mirror_failures_total"], 0)

    def test_http1_clients_of_a_grpc_cluster_are_mirrored(self):
        # proxy/http1/http2_upstream_bridge.cc keeps the copy for an HTTP/1.1 client.
        primary = self.grpc_server()
        shadow = self.grpc_server()
        proxy_port = self.start_grpc_mirror(primary, shadow, 100)
        message = b"\x00\x00\x00\x00\x05hello"  # one gRPC message, uncompressed
        connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        try:
            for _ in range(5):
                connection.request("POST", "/test.Echo/Unary", body=message,
                                   headers={"content-type": "application/grpc", "te": "trailers"})
                response = connection.getresponse()
                self.assertEqual((response.status, response.read()), (200, message))
        finally:
            connection.close()
        sent, arrived = self.wait_for_copies(lambda: self.mirrored_at(shadow)[0])
        self.assertEqual((sent, arrived), (5, 5))
        self.assertEqual(self.mirrored_at(shadow), (5, 25))
        self.assertEqual(int(self.control(primary, "Calls", "")), 5)

    def test_a_slow_grpc_mirror_never_slows_the_primary(self):
        # The shadow answers after 5 s; the route's timeout is 1 s. Were the primary waiting
        # for its copy, every call would fail.
        primary = self.grpc_server()
        shadow = self.grpc_server()
        self.control(shadow, "SetDelay", "5")
        proxy_port = self.start_grpc_mirror(primary, shadow, 100, timeout="1s")
        self.assertEqual(self.calls(proxy_port, 30), {"OK": 30})
        counters = self.counters()
        self.assertEqual(counters["weft_proxy_mirrored_requests_total"], 30)
        self.assertEqual(counters["weft_proxy_mirror_dropped_total"], 0)

    def test_grpc_calls_are_mirrored_to_an_http1_cluster(self):
        primary = self.grpc_server()
        shadow = self.start_fault_backend("shadow")
        proxy_port = self.start_grpc_mirror(primary, shadow, 100, shadow_protocol="HTTP1")
        self.assertEqual(self.calls(proxy_port, 40, size=2000), {"OK": 40})
        sent, arrived = self.wait_for_copies(lambda: self.stats(shadow)["mirrored"])
        self.assertEqual((sent, arrived), (40, 40))
        # Each copy is an HTTP/1.1 POST with the gRPC frame: 5 bytes of prefix and the message.
        self.assertEqual(self.stats(shadow)["mirrored_bytes"], 40 * 2005)

    def test_http1_cluster_requests_are_mirrored_to_an_http2_cluster(self):
        primary = self.start_fault_backend("primary")
        shadow = self.grpc_server()
        proxy_port = self.start_grpc_mirror(primary, shadow, 100, primary_protocol="HTTP1")
        message = b"\x00\x00\x00\x00\x05hello"  # one gRPC message, uncompressed
        headers = {"content-type": "application/grpc", "te": "trailers"}
        connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        try:
            for chunked in (False, True, False, True):
                # Kept with Content-Length or chunked framing: either is re-framed for HTTP/2.
                connection.request("POST", "/test.Echo/Unary", headers=headers,
                                   body=iter([message]) if chunked else message,
                                   encode_chunked=chunked)
                response = connection.getresponse()
                self.assertEqual(response.status, 200)
                self.assertEqual(json.loads(response.read())["body_length"], len(message))
        finally:
            connection.close()
        # An HTTP/2 client of the HTTP/1.1 cluster, too (proxy/http2/http1_upstream_relay.cc).
        body_file = os.path.join(self.tempdir, "message")
        with open(body_file, "wb") as out:
            out.write(message)
        for _ in range(2):
            status, _, _ = self.curl(f"http://127.0.0.1:{proxy_port}/test.Echo/Unary",
                                     "--http2-prior-knowledge", "--data-binary", f"@{body_file}",
                                     "-H", "content-type: application/grpc",
                                     "-H", "te: trailers")
            self.assertEqual(status, 200)
        sent, arrived = self.wait_for_copies(lambda: self.mirrored_at(shadow)[0])
        self.assertEqual((sent, arrived), (6, 6))
        # The gRPC server decoded each copy as one message of 5 bytes.
        self.assertEqual(self.mirrored_at(shadow), (6, 30))
        self.assertEqual(self.stats(primary)["requests"], 6)


SPLIT_CONFIG = """
node: {{id: split-proxy}}
concurrency: 2
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /, headers: [{{name: x-canary, exact: "yes"}}]}}
                      route: {{cluster: canary}}
                    - match: {{prefix: /}}
                      route:
                        weighted_clusters:
                          clusters: [{{name: stable, weight: 90}}, {{name: canary, weight: 10}}]
  clusters:
    - name: stable
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {stable}}}}}}}]}}]
    - name: canary
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {canary}}}}}}}]}}]
"""


class ProxySplitTest(ResilienceTest):
    def test_a_90_10_split_over_10000_requests(self):
        stable = self.start_fault_backend("stable")
        canary = self.start_fault_backend("canary")
        proxy_port = harness.free_port()
        self.start_proxy(SPLIT_CONFIG.format(proxy_port=proxy_port, stable=stable, canary=canary))
        client = Client(proxy_port).run(10_000, threads=4)
        self.assertEqual(client.statuses, {200: 10_000}, client.errors)
        # A random 10 % share of 10,000 would have a standard deviation of 30; the proxy's split
        # is interleaved and exact per 100 picks on each worker, so 3 sigma is generous.
        self.assertLess(abs(client.backends["canary"] - 1000), 90, client.backends)
        self.assertEqual(client.backends["stable"] + client.backends["canary"], 10_000)

    def test_a_header_opts_in_to_the_canary(self):
        stable = self.start_fault_backend("stable")
        canary = self.start_fault_backend("canary")
        proxy_port = harness.free_port()
        self.start_proxy(SPLIT_CONFIG.format(proxy_port=proxy_port, stable=stable, canary=canary))
        for _ in range(20):
            _, _, body = self.curl(f"http://127.0.0.1:{proxy_port}/", "-H", "x-canary: yes")
            self.assertEqual(json.loads(body)["backend"], "canary")
        self.assertEqual(self.stats(canary)["requests"], 20)
        self.assertEqual(self.stats(stable)["requests"], 0)


MIRROR_CONFIG = """
node: {{id: mirror-proxy}}
concurrency: 2
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route:
                        cluster: primary
                        timeout: 1s
                        request_mirror_policies: [{{cluster: shadow, percentage: {share}}}]
  clusters:
    - name: primary
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {primary}}}}}}}]}}]
    - name: shadow
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {shadow}}}}}}}]}}]
"""


class ProxyMirrorTest(ResilienceTest):
    def test_mirroring_sends_the_configured_share(self):
        proxy_port, primary, shadow = self.start_mirror(50)
        client = Client(proxy_port).run(1000, threads=2)
        self.assertEqual(client.statuses, {200: 1000}, client.errors)
        self.assertEqual(client.backends, {"primary": 1000})  # answers come from the primary
        mirrored = self.wait_for_mirrors(shadow)
        self.assertLess(abs(mirrored - 500), 80, mirrored)  # sd of a 50 % share of 1,000: 15.8
        self.assertEqual(self.stats(shadow)["requests"], mirrored)
        self.assertEqual(self.stats(primary)["requests"], 1000)

    def test_a_slow_mirror_never_slows_the_primary(self):
        # The shadow answers after 3 s; the route's timeout is 1 s. Were the primary waiting for
        # its copy, every request would end in 504.
        proxy_port, primary, _ = self.start_mirror(100, "--delay-ms", "3000",
                                                   "--delay-fraction", "1")
        client = Client(proxy_port).run(200, threads=4)
        self.assertEqual(client.statuses, {200: 200}, client.errors)
        counters = self.counters()
        # Copies beyond the 64 a worker keeps in flight are dropped and counted, not queued.
        self.assertEqual(counters["weft_proxy_mirrored_requests_total"]
                         + counters["weft_proxy_mirror_dropped_total"], 200)
        self.assertLessEqual(counters["weft_proxy_mirrored_requests_total"], 200)


class ProxyHttp2ClientResilienceTest(MeshTest):
    """The same policies for clients speaking HTTP/2 to an HTTP/1.1 cluster: the relay in
    proxy/http2/http1_upstream_relay.cc, driven by h2load and curl."""

    def h2load(self, url, total, clients=4, streams=2, rate=None):
        """Runs h2load; returns its status code counts ({"2xx": n, ...}) and its output. Eight
        streams at once by default: the fault backend is a threaded Python server with a short
        listen backlog, where a burst of new upstream connections would wait for SYN retries."""
        harness.require_tool("h2load")
        pace = ["--rps", str(rate)] if rate else []  # requests a second, per client
        result = subprocess.run(["h2load", "-n", str(total), "-c", str(clients), "-m",
                                 str(streams), *pace, url], capture_output=True, timeout=120)
        out = result.stdout.decode()
        self.assertEqual(result.returncode, 0, out)
        found = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
        self.assertIsNotNone(found, out)
        return dict(zip(("2xx", "3xx", "4xx", "5xx"), map(int, found.groups()))), out

    def test_retries_turn_a_30_percent_failing_backend_into_success(self):
        ports = [self.start_fault_backend(name, "--fail-fraction", "0.3")
                 for name in ("a", "b")]
        proxy_port = self.start_mesh(
            ports, "{retry_on: [GATEWAY_ERROR], num_retries: 6, backoff: {base_interval: 0.001s}}",
            cluster_extra="      circuit_breakers: {thresholds: [{retry_budget: "
                          "{budget_percent: 100}}]}")
        codes, out = self.h2load(f"http://127.0.0.1:{proxy_port}/", 2000)
        self.assertGreaterEqual(codes["2xx"] / 2000, 0.999, out)
        seen = [self.stats(port) for port in ports]
        attempts = sum(s["requests"] for s in seen)
        failed = sum(s["failed"] for s in seen)
        self.assertGreater(failed, 0.29 * attempts, seen)
        # Every failure but those that reached the client went again.
        self.assertEqual(attempts, 2000 + failed - codes["5xx"], seen)
        self.assertEqual(sum(s["ok"] for s in seen), codes["2xx"])

    def test_per_try_timeout_moves_a_slow_attempt_to_a_healthy_host(self):
        slow = self.start_fault_backend("slow", "--delay-ms", "3000", "--delay-fraction", "1")
        fast = self.start_fault_backend("fast")
        proxy_port = self.start_mesh(
            [slow, fast], "{retry_on: [RESET], num_retries: 2, per_try_timeout: 0.2s}",
            concurrency=1)
        codes, out = self.h2load(f"http://127.0.0.1:{proxy_port}/", 20, clients=2, streams=1)
        self.assertEqual(codes["2xx"], 20, out)
        self.assertEqual(self.stats(fast)["ok"], 20)
        self.assertGreaterEqual(self.stats(slow)["requests"], 8)

    def test_a_request_body_is_sent_again_whole(self):
        port = self.start_fault_backend("a", "--fail-fraction", "0.5")
        proxy_port = self.start_mesh([port], "{retry_on: [HTTP_5XX], num_retries: 1}")
        body = os.urandom(40_000)
        body_file = os.path.join(self.tempdir, "body.bin")
        with open(body_file, "wb") as out:
            out.write(body)
        url = f"http://127.0.0.1:{proxy_port}/upload"
        # Two with a content-length (kept upstream), two streamed from stdin without one (sent
        # upstream chunked).
        answers = [self.curl(url, "--http2-prior-knowledge", "--data-binary", f"@{body_file}")
                   for _ in range(2)]
        for _ in range(2):
            result = subprocess.run(
                ["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-T", "-",
                 "-X", "POST", "-w", "\n%{http_code}", url],
                input=body, capture_output=True, timeout=20)
            payload, _, status = result.stdout.decode().rpartition("\n")
            answers.append((int(status), {}, payload))
        self.assertEqual([status for status, _, _ in answers], [200] * 4, answers)
        for _, _, payload in answers:
            answer = json.loads(payload)
            self.assertEqual(answer["body_length"], len(body))
            self.assertEqual(answer["body_sha256"], hashlib.sha256(body).hexdigest())
        # The backend fails every second request it sees: requests 2, 3 and 4 each failed once.
        self.assertEqual(self.stats(port)["requests"], 7)
        self.assertEqual(self.stats(port)["failed"], 3)

    def test_a_slow_upload_is_not_cut_off_by_the_per_try_timeout(self):
        # The per-try timeout starts once the request is complete: a client taking 1.2 s to
        # send its body is bounded by the route timeout, not by each attempt's 0.3 s.
        port = self.start_fault_backend("a")
        proxy_port = self.start_mesh(
            [port], "{retry_on: [RESET], num_retries: 1, per_try_timeout: 0.3s}")
        client = subprocess.Popen(
            ["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-T", "-", "-X",
             "POST", "-w", "\n%{http_code}", f"http://127.0.0.1:{proxy_port}/upload"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for _ in range(6):
                client.stdin.write(b"x" * 1000)
                client.stdin.flush()
                time.sleep(0.2)
            client.stdin.close()
            client.wait(timeout=15)
            out, err = client.stdout.read(), client.stderr.read()
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        payload, _, status = out.decode().rpartition("\n")
        self.assertEqual(status, "200", (out, err))
        self.assertEqual(json.loads(payload)["body_length"], 6000)
        self.assertEqual(self.stats(port)["requests"], 1)

    def test_exhausted_retries_say_so_in_the_local_reply(self):
        dead = [harness.free_port(), harness.free_port()]
        proxy_port = self.start_mesh(dead, "{retry_on: [CONNECT_FAILURE], num_retries: 2}")
        status, headers, body = self.curl(f"http://127.0.0.1:{proxy_port}/",
                                          "--http2-prior-knowledge")
        self.assertEqual(status, 503)
        self.assertEqual(headers.get("x-weft-reason"), "upstream_connect_failure")
        self.assertIn("(3 attempts; not retried: no retries left)", body)

    def test_a_failing_endpoint_is_ejected(self):
        good = self.start_fault_backend("good")
        bad = self.start_fault_backend("bad", "--fail-fraction", "1")
        proxy_port = self.start_mesh(
            [good, bad], "{}", concurrency=1,
            cluster_extra="      outlier_detection: {consecutive_5xx: 3, interval: 1s, "
                          "base_ejection_time: 30s, max_ejection_percent: 50}")
        codes, out = self.h2load(f"http://127.0.0.1:{proxy_port}/", 40, clients=1, streams=1)
        failed = codes["5xx"]
        # Round robin would send it 20; after 3 failures in a row it gets no more.
        self.assertEqual(failed, self.stats(bad)["requests"])
        self.assertEqual(failed, 3, out)
        self.assertEqual(codes["2xx"], 37, out)
        self.assertEqual(self.counters()["weft_proxy_outlier_ejections_total"], 1)

    def test_mirroring_sends_the_configured_share(self):
        proxy_port, primary, shadow = self.start_mirror(50)
        # Paced: each copy opens its own connection to the (Python) shadow; at full speed more
        # than 64 would be in flight and the rest dropped, by design (see the test below).
        codes, out = self.h2load(f"http://127.0.0.1:{proxy_port}/", 1000, clients=2, streams=1,
                                 rate=150)
        self.assertEqual(codes["2xx"], 1000, out)
        mirrored = self.wait_for_mirrors(shadow)
        dropped = self.counters()["weft_proxy_mirror_dropped_total"]
        # sd of a 50 % share of 1,000: 15.8
        self.assertLess(abs(mirrored - 500), 80, (mirrored, dropped))
        self.assertEqual(self.stats(shadow)["requests"], mirrored)
        self.assertEqual(self.stats(primary)["requests"], 1000)


FILTER_CONFIG = """
node: {{id: filter-proxy}}
concurrency: 2
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - name: abort
                      match: {{prefix: /abort}}
                      route: {{cluster: backend}}
                      fault: {{abort: {{http_status: 418, percentage: 20}}}}
                    - name: delay
                      match: {{prefix: /delay}}
                      route: {{cluster: backend}}
                      fault: {{delay: {{fixed_delay: 0.01s, percentage: 30}}}}
                    - name: test-user
                      match: {{prefix: /only-alice}}
                      route: {{cluster: backend}}
                      fault:
                        abort: {{http_status: 500}}
                        headers: [{{name: x-user, exact: alice}}]
                    - name: grpc
                      match: {{prefix: /shop.Cart/}}
                      route: {{cluster: backend}}
                      fault: {{abort: {{grpc_status: 14}}}}
                    - name: slow-fault-past-timeout
                      match: {{prefix: /slow-fault-past-timeout}}
                      route: {{cluster: backend, timeout: 0.3s}}
                      fault: {{delay: {{fixed_delay: 0.5s}}}}
                    - name: slow-fault-within-timeout
                      match: {{prefix: /slow-fault-within-timeout}}
                      route: {{cluster: backend, timeout: 2s}}
                      fault: {{delay: {{fixed_delay: 0.2s}}}}
                    - name: per-client
                      match: {{prefix: /per-client}}
                      route: {{cluster: backend}}
                      rate_limit:
                        token_bucket: {{max_tokens: 5, tokens_per_fill: 1, fill_interval: 3600s}}
                        per_source: true
                    - name: limited
                      match: {{prefix: /limited}}
                      route: {{cluster: backend}}
                      rate_limit:
                        token_bucket: {{max_tokens: 10, tokens_per_fill: 10, fill_interval: 1s}}
                    - match: {{prefix: /}}
                      route: {{cluster: backend}}
  clusters:
    - name: backend
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend_port}}}}}
"""


class ProxyFaultAndRateLimitTest(ResilienceTest):
    def setUp(self):
        super().setUp()
        self.backend_port = self.start_fault_backend("backend")
        self.proxy_port = harness.free_port()
        self.start_proxy(FILTER_CONFIG.format(proxy_port=self.proxy_port,
                                              backend_port=self.backend_port))

    def test_aborts_appear_at_the_configured_percentage(self):
        client = Client(self.proxy_port).run(2000, path="/abort")
        aborted = client.statuses.get(418, 0)
        # 20 % of 2,000 is 400; the standard deviation of the count is 17.9.
        self.assertLess(abs(aborted - 400), 90, client.statuses)
        self.assertEqual(aborted + client.statuses.get(200, 0), 2000, client.statuses)
        self.assertEqual(self.stats(self.backend_port)["requests"], 2000 - aborted)
        self.assertEqual(self.counters()["weft_proxy_fault_aborts_total"], aborted)

    def test_delays_appear_at_the_configured_percentage_and_requests_still_succeed(self):
        client = Client(self.proxy_port).run(1000, path="/delay")
        self.assertEqual(client.statuses, {200: 1000})
        delayed = self.counters()["weft_proxy_fault_delays_total"]
        self.assertLess(abs(delayed - 300), 75, delayed)  # sd 14.5

    def test_a_fault_limited_to_a_header_spares_everyone_else(self):
        base = f"http://127.0.0.1:{self.proxy_port}/only-alice"
        status, headers, _ = self.curl(base, "-H", "x-user: alice")
        self.assertEqual(status, 500)
        self.assertEqual(headers.get("x-weft-reason"), "fault_abort")
        self.assertEqual(self.curl(base, "-H", "x-user: bob")[0], 200)
        self.assertEqual(self.curl(base)[0], 200)

    def test_grpc_requests_get_the_configured_grpc_status(self):
        status, headers, _ = self.curl(
            f"http://127.0.0.1:{self.proxy_port}/shop.Cart/Add", "--http2-prior-knowledge",
            "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", "")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("grpc-status"), "14")
        self.assertEqual(headers.get("x-weft-reason"), "fault_abort")

    def test_the_rate_limit_holds_its_rate(self):
        started = time.monotonic()
        client = Client(self.proxy_port)
        while time.monotonic() - started < 3.0:
            client.run(40, threads=2, path="/limited")
        elapsed = time.monotonic() - started
        passed = client.statuses.get(200, 0)
        limited = client.statuses.get(429, 0)
        self.assertEqual(passed + limited, sum(client.statuses.values()), client.statuses)
        # A burst of 10, then 10 more at each whole second since the bucket was made (at the
        # proxy's start, a little before `started`).
        self.assertLessEqual(passed, 10 + 10 * (int(elapsed) + 1), (passed, elapsed))
        self.assertGreaterEqual(passed, 10 + 10 * (int(elapsed) - 1), (passed, elapsed))
        self.assertGreater(limited, passed)  # the client asked for far more
        self.assertEqual(self.counters()["weft_proxy_rate_limited_total"], limited)
        self.assertEqual(self.stats(self.backend_port)["requests"], passed)
        status, headers, body = self.curl(f"http://127.0.0.1:{self.proxy_port}/limited")
        if status == 429:
            self.assertEqual(headers.get("x-weft-reason"), "rate_limited")
            self.assertIn("allows 10 request(s) per 1000 ms", body)

    def test_an_injected_delay_counts_inside_the_route_timeout(self):
        for flag in ((), ("--http2-prior-knowledge",)):
            before = self.stats(self.backend_port)["requests"]
            status, headers, _ = self.curl(
                f"http://127.0.0.1:{self.proxy_port}/slow-fault-past-timeout", *flag)
            self.assertEqual((status, headers.get("x-weft-reason")), (504, "upstream_timeout"))
            status, _, _ = self.curl(
                f"http://127.0.0.1:{self.proxy_port}/slow-fault-within-timeout", *flag)
            self.assertEqual(status, 200)
            # The 504 never needed the backend past the time left; the other reached it.
            self.assertLessEqual(self.stats(self.backend_port)["requests"], before + 2)

    def test_a_per_source_limit_gives_each_client_its_own_bucket(self):
        def statuses(source):
            connection = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10,
                                                    source_address=(source, 0))
            seen = []
            try:
                for _ in range(8):
                    connection.request("GET", "/per-client")
                    response = connection.getresponse()
                    response.read()
                    seen.append(response.status)
            finally:
                connection.close()
            return seen

        # Each client address gets its burst of 5, whatever the others used.
        self.assertEqual(statuses("127.0.0.1"), [200] * 5 + [429] * 3)
        self.assertEqual(statuses("127.0.0.2"), [200] * 5 + [429] * 3)
        self.assertEqual(statuses("127.0.0.1"), [429] * 8)
        self.assertEqual(self.stats(self.backend_port)["requests"], 10)
        status, _, body = self.curl(f"http://127.0.0.1:{self.proxy_port}/per-client")
        self.assertEqual(status, 429)
        self.assertIn("(bursts of 5) per client", body)

    def test_the_rate_limit_applies_to_http2_clients_too(self):
        statuses = [self.curl(f"http://127.0.0.1:{self.proxy_port}/limited",
                              "--http2-prior-knowledge")[0] for _ in range(15)]
        self.assertIn(429, statuses)
        self.assertLessEqual(statuses.count(200), 20)


if __name__ == "__main__":
    harness.main()
