#!/usr/bin/env python3
"""The resilience tests' controllable backend (tests/tools/fault_backend.py), checked on its
own before tests lean on it: exact failure shares, resets seen as resets, delays, Retry-After,
dying after N answers, rules changed at run time, and the counters it reports."""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE_DIR, IntegrationTest, main  # noqa: E402

FAULT_BACKEND = os.path.join(SOURCE_DIR, "tests", "tools", "fault_backend.py")


class FaultBackendTest(IntegrationTest):
    def start_fault_backend(self, *args):
        process = self.start([sys.executable, FAULT_BACKEND, *args], "fault-backend")
        return process, int(process.wait_for(r"listening on (\d+)").group(1))

    def request(self, port, path="/", method="GET", headers=None, body=None):
        """(status, headers, JSON body) over a fresh connection; raises on a reset."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            payload = response.read()
            return response.status, dict(response.getheaders()), json.loads(payload or b"{}")
        finally:
            connection.close()

    def stats(self, port):
        return self.request(port, "/_stats")[2]

    def test_fails_exactly_the_configured_share(self):
        _, port = self.start_fault_backend("--fail-fraction", "0.3", "--name", "shop")
        statuses = [self.request(port)[0] for _ in range(100)]
        self.assertEqual(statuses.count(503), 30)
        self.assertEqual(statuses.count(200), 70)
        # Spread, not bunched: every run of ten has three failures.
        for start in range(0, 100, 10):
            self.assertEqual(statuses[start:start + 10].count(503), 3, statuses)
        self.assertEqual(self.stats(port), {"requests": 100, "ok": 70, "failed": 30, "reset": 0,
                                            "delayed": 0, "health_checks": 0, "mirrored": 0,
                                            "mirrored_bytes": 0})
        self.assertEqual(self.request(port, "/x")[2]["backend"], "shop")

    def test_resets_the_connection_without_an_answer(self):
        _, port = self.start_fault_backend("--reset-fraction", "0.5")
        outcomes = []
        for _ in range(10):
            try:
                outcomes.append(self.request(port)[0])
            except (ConnectionResetError, http.client.RemoteDisconnected):
                outcomes.append("reset")
        self.assertEqual(outcomes.count("reset"), 5, outcomes)
        self.assertEqual(outcomes.count(200), 5, outcomes)
        self.assertEqual(self.stats(port)["reset"], 5)

    def test_per_request_headers_pick_one_request(self):
        _, port = self.start_fault_backend()
        self.assertEqual(self.request(port, headers={"x-fault-status": "502"})[0], 502)
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
            self.request(port, headers={"x-fault-reset": "1"})
        started = time.monotonic()
        self.assertEqual(self.request(port, headers={"x-fault-delay-ms": "300"})[0], 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(self.stats(port), {"requests": 3, "ok": 1, "failed": 1, "reset": 1,
                                            "delayed": 1, "health_checks": 0, "mirrored": 0,
                                            "mirrored_bytes": 0})

    def test_mirror_copies_are_counted_with_their_bytes(self):
        _, port = self.start_fault_backend()
        self.request(port, "/a", "POST", headers={"x-weft-mirror": "1"}, body=b"x" * 1234)
        self.request(port, "/b", "POST", headers={"x-weft-mirror": "1"}, body=b"y" * 10)
        self.request(port, "/c", "POST", body=b"not a copy")
        stats = self.stats(port)
        self.assertEqual((stats["requests"], stats["mirrored"], stats["mirrored_bytes"]),
                         (3, 2, 1244))

    def test_delays_and_retry_after(self):
        _, port = self.start_fault_backend("--delay-ms", "200", "--delay-fraction", "1",
                                           "--fail-fraction", "0.5", "--retry-after", "7")
        # Request 1 answers (delayed), request 2 fails at once with Retry-After.
        started = time.monotonic()
        status, _, _ = self.request(port)
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        status, headers, _ = self.request(port)
        self.assertEqual(status, 503)
        self.assertEqual(headers.get("retry-after"), "7")

    def test_dies_after_n_answers(self):
        process, port = self.start_fault_backend("--die-after", "3")
        for _ in range(3):
            self.assertEqual(self.request(port)[0], 200)
        self.assertEqual(process.wait(timeout=10), 0)
        with self.assertRaises(ConnectionRefusedError):
            self.request(port)

    def test_rules_change_at_run_time(self):
        _, port = self.start_fault_backend()
        self.assertEqual([self.request(port)[0] for _ in range(4)], [200] * 4)
        status, _, settings = self.request(
            port, "/_control", "POST", body=json.dumps({"fail_fraction": 1, "fail_status": 500}))
        self.assertEqual(status, 200)
        self.assertEqual(settings["fail_fraction"], 1)
        self.assertEqual([self.request(port)[0] for _ in range(3)], [500] * 3)
        self.request(port, "/_control", "POST", body=json.dumps({"fail_fraction": 0}))
        self.assertEqual(self.request(port)[0], 200)
        # Bad rules are refused with the reason, and the old ones stay.
        for bad in ({"fail_fraction": 2}, {"fail_status": 42}, {"explode": True}, [1]):
            status, _, answer = self.request(port, "/_control", "POST", body=json.dumps(bad))
            self.assertEqual(status, 400, bad)
            self.assertIn("error", answer)
        self.assertEqual(self.request(port)[0], 200)
        self.assertEqual(self.stats(port)["requests"], 9)

    def test_the_health_endpoint_answers_its_own_status_whatever_the_rules(self):
        _, port = self.start_fault_backend("--fail-fraction", "1", "--health-status", "503")
        self.assertEqual(self.request(port, "/healthz")[0], 503)
        self.request(port, "/_control", "POST", body=json.dumps({"health_status": 200}))
        self.assertEqual([self.request(port, "/healthz")[0] for _ in range(3)], [200] * 3)
        # The traffic rules still apply to everything else.
        self.assertEqual(self.request(port)[0], 503)
        stats = self.stats(port)
        self.assertEqual((stats["health_checks"], stats["requests"]), (4, 1))
        status, _, _ = self.request(port, "/_control", "POST",
                                    body=json.dumps({"health_status": 99}))
        self.assertEqual(status, 400)


if __name__ == "__main__":
    main()
