#!/usr/bin/env python3
"""`weft-proxy init` end to end: the rules it writes in a pod's network namespace, what they
do to real connections, that a second run changes nothing, and that --cleanup leaves nothing.

Topology (namespaces created by the test, unique names, removed at the end):

  netns "pod" 10.232.0.1 (+ fd00:78::1)  veth  netns "peer" 10.232.0.2
  listeners standing in for the sidecar:  ----> HTTP backend "peer" on 7000 and 7001
    15006 (inbound capture), 15001 (outbound capture), 15020 (status),
    8080 (the app), 9000 (an excluded inbound port)

Each listener is an HTTP backend answering with its own name, so a request says which
listener took it. Needs root, ip, iptables, ip6tables, setpriv and curl; skips (77)
otherwise, which CI counts as a failure.
"""
import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness  # noqa: E402
from transparent_capture_test import (netns_exec, remove_namespace,  # noqa: E402
                                      remove_stale_namespaces, run)

PREFIX = "weft-e2e-"  # shared with transparent_capture_test's stale-namespace sweep
PROXY_UID = 1337
HTTP_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "http_backend.py")
POD, PEER = "10.232.0.1", "10.232.0.2"


def weft_init(netns, *args, check=True):
    return netns_exec(netns, os.path.join(harness.BIN_DIR, "weft-proxy"), "init", *args,
                      check=check)


def nat_rules(netns, tool="iptables"):
    """The nat table's rules (no comments or counters), as iptables-save prints them."""
    saved = netns_exec(netns, f"{tool}-save", "-t", "nat").stdout
    return [line for line in saved.splitlines() if line.startswith("-A ")]


class CaptureInitTest(harness.IntegrationTest):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("network namespaces and iptables need root")
        for tool in ("ip", "iptables", "iptables-save", "ip6tables", "ip6tables-save",
                     "setpriv", "curl"):
            harness.require_tool(tool)
        remove_stale_namespaces()
        cls.pod = f"{PREFIX}{os.getpid()}-pod"
        cls.peer = f"{PREFIX}{os.getpid()}-initpeer"
        cls.v4_only = f"{PREFIX}{os.getpid()}-v4only"
        cls.processes_ = []
        cls.workdir = tempfile.mkdtemp(prefix="weft-e2e-init-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        for name in (cls.pod, cls.peer, cls.v4_only):
            cls.addClassCleanup(remove_namespace, name)
        cls.addClassCleanup(cls.stop_processes)
        for name in (cls.pod, cls.peer, cls.v4_only):
            run("ip", "netns", "add", name)
            netns_exec(name, "ip", "link", "set", "lo", "up")
        netns_exec(cls.pod, "ip", "link", "add", "veth-pod", "type", "veth", "peer", "name",
                   "veth-peer", "netns", cls.peer)
        for netns, device, address in ((cls.pod, "veth-pod", POD), (cls.peer, "veth-peer", PEER)):
            netns_exec(netns, "ip", "addr", "add", f"{address}/24", "dev", device)
            netns_exec(netns, "ip", "link", "set", device, "up")
        # The pod is dual-stack (init --ipv6 auto writes ip6tables rules there); v4_only not.
        netns_exec(cls.pod, "ip", "addr", "add", "fd00:78::1/64", "dev", "veth-pod", "nodad")
        # (a veth pair of its own: this kernel may lack the dummy device; the pair's IPv6
        # link-local addresses do not make a pod dual-stack)
        netns_exec(cls.v4_only, "ip", "link", "add", "v4-a", "type", "veth", "peer", "name",
                   "v4-b")
        netns_exec(cls.v4_only, "ip", "addr", "add", "10.233.0.1/24", "dev", "v4-a")
        for device in ("v4-a", "v4-b"):
            netns_exec(cls.v4_only, "ip", "link", "set", device, "up")

        for port, name in ((15006, "inbound-capture"), (15001, "outbound-capture"),
                           (15020, "status"), (8080, "app"), (9000, "excluded")):
            cls.serve(cls.pod, "0.0.0.0", port, name)
        for port in (7000, 7001):
            cls.serve(cls.peer, PEER, port, f"peer-{port}")
        for process in cls.processes_:
            process.wait_for(r"listening on")

    @classmethod
    def serve(cls, netns, host, port, name):
        process = harness.Process(["ip", "netns", "exec", netns, sys.executable, HTTP_BACKEND,
                                   "--host", host, "--port", str(port), "--name", name], name)
        cls.processes_.append(process)

    @classmethod
    def stop_processes(cls):
        for process in reversed(cls.processes_):
            process.stop()

    def tearDown(self):
        for netns in (self.pod, self.v4_only):
            weft_init(netns, "--cleanup", "--ipv6", "on", check=False)
        super().tearDown()

    def answered_by(self, netns, url, uid=None):
        """The name of the listener that answered a curl from `netns` (as `uid`)."""
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if uid else []
        result = netns_exec(netns, *prefix, "curl", "-sS", "--max-time", "5", "-o", "/dev/null",
                            "-w", "%header{x-backend}", url, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_rules_are_written_once_and_a_second_run_changes_nothing(self):
        args = ("--exclude-inbound-ports", "9000", "--exclude-outbound-ports", "7001")
        first = weft_init(self.pod, *args)
        rules = nat_rules(self.pod)
        self.assertEqual(rules.count("-A OUTPUT -p tcp -j WEFT_OUTPUT"), 1, rules)
        self.assertEqual(rules.count("-A PREROUTING -p tcp -j WEFT_INBOUND"), 1, rules)
        self.assertIn("-A WEFT_INBOUND -p tcp -m tcp --dport 9000 -j RETURN", rules)
        self.assertIn("-A WEFT_OUTPUT -p tcp -m tcp --dport 7001 -j RETURN", rules)
        self.assertIn("-A WEFT_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006", rules)
        self.assertIn("iptables -w 5 -t nat -A OUTPUT -p tcp -j WEFT_OUTPUT", first.stdout)
        second = weft_init(self.pod, *args)
        self.assertEqual(nat_rules(self.pod), rules)
        self.assertIn("present: -A OUTPUT -p tcp -j WEFT_OUTPUT", second.stdout)
        # Run with other flags, the owned chains are replaced, not added to.
        weft_init(self.pod, "--exclude-inbound-ports", "9001")
        replaced = nat_rules(self.pod)
        self.assertNotIn("-A WEFT_INBOUND -p tcp -m tcp --dport 9000 -j RETURN", replaced)
        self.assertIn("-A WEFT_INBOUND -p tcp -m tcp --dport 9001 -j RETURN", replaced)
        self.assertEqual(len(replaced), len(rules) - 1)  # no outbound port excluded now

    def test_inbound_connections_reach_the_inbound_capture_port(self):
        weft_init(self.pod, "--exclude-inbound-ports", "9000")
        self.assertEqual(self.answered_by(self.peer, f"http://{POD}:8080/"), "inbound-capture")
        self.assertEqual(self.answered_by(self.peer, f"http://{POD}:9000/"), "excluded")
        # The status port is reached directly (Prometheus, the kubelet's probes).
        self.assertEqual(self.answered_by(self.peer, f"http://{POD}:15020/"), "status")

    def test_outbound_connections_reach_the_outbound_capture_port(self):
        weft_init(self.pod, "--exclude-outbound-ports", "7001")
        self.assertEqual(self.answered_by(self.pod, f"http://{PEER}:7000/"), "outbound-capture")
        self.assertEqual(self.answered_by(self.pod, f"http://{PEER}:7001/"), "peer-7001")
        # The proxy's own connections go out as they are.
        self.assertEqual(self.answered_by(self.pod, f"http://{PEER}:7000/", uid=PROXY_UID),
                         "peer-7000")
        # The app talking to itself over loopback stays local.
        self.assertEqual(self.answered_by(self.pod, "http://127.0.0.1:8080/"), "app")
        # The proxy calling its own pod's address is the pod's inbound traffic.
        self.assertEqual(self.answered_by(self.pod, f"http://{POD}:8080/", uid=PROXY_UID),
                         "inbound-capture")
        weft_init(self.pod, "--exclude-outbound-cidrs", f"{PEER}/32")
        self.assertEqual(self.answered_by(self.pod, f"http://{PEER}:7000/"), "peer-7000")

    def test_ipv6_rules_follow_the_pods_addresses(self):
        weft_init(self.pod)
        self.assertIn("-A OUTPUT -p tcp -j WEFT_OUTPUT", nat_rules(self.pod, "ip6tables"))
        self.assertIn("-A WEFT_OUTPUT -d ::1/128 -j RETURN", nat_rules(self.pod, "ip6tables"))
        result = weft_init(self.v4_only)
        self.assertNotIn("ip6tables", result.stdout)
        self.assertIn("-A OUTPUT -p tcp -j WEFT_OUTPUT", nat_rules(self.v4_only))
        self.assertEqual(nat_rules(self.v4_only, "ip6tables"), [])
        weft_init(self.v4_only, "--ipv6", "on")
        self.assertIn("-A OUTPUT -p tcp -j WEFT_OUTPUT", nat_rules(self.v4_only, "ip6tables"))
        # Cleanup looks in both families, whatever the pod's addresses.
        weft_init(self.v4_only, "--cleanup")
        self.assertEqual(nat_rules(self.v4_only, "ip6tables"), [])
        self.assertEqual(nat_rules(self.v4_only), [])

    def test_cleanup_leaves_nothing_and_can_run_twice(self):
        weft_init(self.pod)
        weft_init(self.pod, "--cleanup")
        self.assertEqual(nat_rules(self.pod), [])
        self.assertEqual(nat_rules(self.pod, "ip6tables"), [])
        chains = netns_exec(self.pod, "iptables-save", "-t", "nat").stdout
        self.assertNotIn("WEFT", chains)
        self.assertEqual(weft_init(self.pod, "--cleanup").returncode, 0)
        # Traffic flows as if the sidecar had never been there.
        self.assertEqual(self.answered_by(self.peer, f"http://{POD}:8080/"), "app")

    def test_bad_flags_are_refused_and_nothing_is_written(self):
        for flag, value in (("--exclude-inbound-ports", "80,http"),
                            ("--exclude-outbound-ports", "70000"),
                            ("--exclude-outbound-cidrs", "10.0.0.0/33"),
                            ("--inbound-port", "-1"),
                            ("--outbound-port", "15006"),  # the inbound port
                            ("--proxy-uid", "-1"),
                            ("--proxy-gid", "4294967295"),
                            ("--ipv6", "maybe")):
            result = weft_init(self.pod, flag, value, check=False)
            self.assertEqual(result.returncode, 2, result.stdout)
            self.assertIn(flag, result.stderr, (flag, value))
        self.assertEqual(nat_rules(self.pod), [])


if __name__ == "__main__":
    # ctest stops a test that runs too long with SIGTERM: turn it into an exit so the class
    # cleanups remove the namespaces.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    harness.main()
