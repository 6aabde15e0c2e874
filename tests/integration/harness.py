"""Shared helpers for integration tests: start the real binaries and real
clients on loopback, bounded in time, and clean up even when a test fails."""
import fcntl
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_DIR = os.environ.get("WEFT_SOURCE_DIR", os.path.abspath(os.path.join(
    os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("WEFT_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
BACKEND = os.path.join(SOURCE_DIR, "tests", "tools", "http_backend.py")
# ASan keeps freed memory in quarantine and shadows every byte, so memory bounds
# are asserted on the normal build only (the sanitizer build checks the rest).
SANITIZED = os.environ.get("WEFT_SANITIZED", "0") not in ("0", "", "FALSE", "OFF")


# Ports for configs that must name a fixed port come from below the kernel's
# ephemeral range: a port probed free inside that range can be taken a moment
# later by any client's outgoing connect() (or by a parallel test's bind to
# port 0) before the proxy under test binds it, which is how CI once saw
# "Address already in use". Below the range only other free_port() callers
# compete, and they are kept apart by a per-port lock file that this process
# holds until it exits (the kernel drops the lock if the process dies).
_PORT_LOW, _PORT_HIGH = 20000, 32000
_PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "weft-test-ports")
_claimed = {}


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _claim(port):
    os.makedirs(_PORT_LOCK_DIR, exist_ok=True)
    fd = os.open(os.path.join(_PORT_LOCK_DIR, str(port)), os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _claimed[port] = fd
    return True


def free_port():
    """A port that is free and claimed by this test process alone.

    Never the same port twice in one process, never one another process holds
    through free_port(), and never one the kernel hands out for outgoing
    connections."""
    ephemeral_low, ephemeral_high = _ephemeral_range()
    rng = random.Random()
    for _ in range(500):
        port = rng.randrange(_PORT_LOW, _PORT_HIGH)
        if port in _claimed or ephemeral_low <= port <= ephemeral_high:
            continue
        if not _claim(port):
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use by something outside the tests; keep it claimed, try another
        return port
    raise RuntimeError("no free port after 500 tries")


def require_tool(name):
    """Skip (exit 77 in ctest terms) when a client is missing; CI fails on skips."""
    if shutil.which(name) is None:
        raise unittest.SkipTest(f"{name} is not installed")


class Process:
    """A child process whose output is captured to a file and which is always
    stopped at the end of the test."""

    def __init__(self, args, name, env=None):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"weft-{name}-", suffix=".log",
                                               delete=False)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True)

    def output(self):
        with open(self.log.name, "r", errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output())
            if match:
                return match
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode} before "
                                     f"printing {pattern!r}:\n{self.output()}")
            time.sleep(0.02)
        raise AssertionError(f"{self.name} did not print {pattern!r} within {timeout}s:\n"
                             f"{self.output()}")

    def signal(self, signum):
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout=15):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        """Idempotent: a test may stop a process early, and tearDown stops it again."""
        if self.log.closed:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.log.close()
        os.unlink(self.log.name)


class IntegrationTest(unittest.TestCase):
    """Base class: processes started through it are stopped after each test."""

    def setUp(self):
        self.processes = []
        self.tempdir = tempfile.mkdtemp(prefix="weft-test-")

    def tearDown(self):
        for process in reversed(self.processes):
            process.stop()
        shutil.rmtree(self.tempdir, ignore_errors=True)

    def start(self, args, name):
        process = Process(args, name)
        self.processes.append(process)
        return process

    def start_backend(self, name):
        process = self.start([sys.executable, BACKEND, "--name", name], f"backend-{name}")
        port = int(process.wait_for(r"listening on (\d+)").group(1))
        return process, port

    def write(self, filename, text):
        path = os.path.join(self.tempdir, filename)
        with open(path, "w") as f:
            f.write(text)
        return path

    def with_admin(self, config_text):
        """Gives the proxy its own admin port: tests run in parallel, so the
        default 127.0.0.1:15000 would collide."""
        if "\nadmin:" in config_text:
            return config_text
        self.admin_port = free_port()
        return config_text + f"\nadmin: {{address: {{address: 127.0.0.1, port: {self.admin_port}}}}}\n"

    def start_proxy(self, config_text, extra_args=()):
        path = self.write("bootstrap.yaml", self.with_admin(config_text))
        process = self.start([os.path.join(BIN_DIR, "weft-proxy"), "--config", path,
                              *extra_args], "weft-proxy")
        process.wait_for(r"weft-proxy ready")
        return process

    def curl(self, url, *args, netns=None):
        """Runs curl (inside network namespace `netns` if given); returns (status,
        headers dict lower-cased, body text)."""
        require_tool("curl")
        command = ["curl", "-sS", "--max-time", "10", "-D", "-", url, *args]
        if netns:
            command = ["ip", "netns", "exec", netns, *command]
        result = subprocess.run(command, capture_output=True, timeout=20)
        self.assertEqual(result.returncode, 0, result.stderr)
        # Bytes, not text mode: text mode would turn the CRLFs we split on into LFs.
        head, _, body = result.stdout.decode("utf-8", "replace").partition("\r\n\r\n")
        while head.startswith("HTTP/") and head.split()[1].startswith("1"):
            head, _, body = body.partition("\r\n\r\n")  # skip interim 1xx responses
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        return status, headers, body

    def raw_request(self, port, data, timeout=5):
        """Sends raw bytes and returns everything the proxy answers until it closes."""
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)


def main():
    """Runs the module's tests; exit 77 when every test was skipped for a
    missing tool, so ctest reports a skip (and CI fails on it)."""
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        sys.exit(77)
    if result.skipped:
        print(f"{len(result.skipped)} test(s) skipped", file=sys.stderr)
        sys.exit(77 if os.environ.get("CI") == "true" else 0)
    sys.exit(0)
