#!/usr/bin/python3
"""A mesh on one machine, with network namespaces as pods: the harness under `weftctl demo`
and the end-to-end tests (tests/e2e/mesh_test.py).

Topology (every namespace made here, named "<prefix>-<owner pid>-<name>", removed by cleanup()):

  netns "node": bridge weft0 10.233.0.1/24; weft-controlplane on 10.233.0.1:15012 (xDS and
                CA, TLS), reading a directory of manifests (local mode)
  netns "<pod>": eth0 10.233.0.<n>/24 (a veth whose other end is on the bridge), default route
                via the node; /etc/hosts maps service names to their virtual addresses
                (10.233.128.<m>: a ClusterIP, which only a sidecar's capture makes reachable)
                and, for pods outside the mesh, to a pod address instead.
                A meshed pod also gets `weft-proxy init` rules and weft-proxy as uid 1337,
                with node id, workload and service account of its Workload manifest.

Needs root (namespaces, veths, iptables). Sends traffic only inside the namespaces it made.
"""
import glob
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PROXY_UID = 1337
NODE_ADDRESS = "10.233.0.1"
XDS_PORT = 15012
CONTROLPLANE_METRICS_PORT = 15014
ADMIN_PORT = 15000
STATUS_PORT = 15020
BRIDGE = "weft0"


NODE_ADDRESS6 = "fd00:233::1"


def pod_address(index):
    return f"10.233.0.{index + 10}"


def pod_address6(index):
    return f"fd00:233::{index + 10:x}"


def service_address(index):
    return f"10.233.128.{index + 1}"


def run(*args, check=True, timeout=30, input=None):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): "
                           f"{result.stderr.strip() or result.stdout.strip()}")
    return result


def process_alive(pid):
    """False for a process that is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def remove_namespace(name):
    """Stops whatever still runs in the namespace, then deletes it; its veths, addresses and
    iptables rules go with it."""
    for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    # A killed process may hold the namespace a moment longer; deletion only unmounts it.
    run("ip", "netns", "delete", name, check=False)
    shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)


def make_workdir(prefix):
    """A private directory for a run's logs, CA and tokens, named with the owner's pid so that
    remove_stale() can find it after a run that was killed."""
    return tempfile.mkdtemp(prefix=f"{prefix}-{os.getpid()}-")


def remove_stale(prefix):
    """What an earlier run left behind when it was killed before it could clean up (its
    namespaces, their /etc/netns files and its work directory all carry the owner's pid):
    removed when that process is gone. Returns the namespaces' names."""
    pattern = re.compile(re.escape(prefix) + r"-(\d+)-.+")

    def dead_owner(name):
        match = pattern.fullmatch(name)
        return (match is not None and int(match.group(1)) != os.getpid()
                and not process_alive(int(match.group(1))))

    removed = []
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split(" ")[0]
        if dead_owner(name):
            remove_namespace(name)
            removed.append(name)
    for path in glob.glob(f"/etc/netns/{prefix}-*") + glob.glob(
            os.path.join(tempfile.gettempdir(), f"{prefix}-*")):
        if os.path.isdir(path) and dead_owner(os.path.basename(path)):
            shutil.rmtree(path, ignore_errors=True)
    return removed


def namespaces_of(prefix, owner):
    return [line.split(" ")[0] for line in run("ip", "netns", "list", check=False).stdout.splitlines()
            if line.startswith(f"{prefix}-{owner}-")]


def write_private(path, text, owner=None):
    """Writes a secret (a token) readable by its owner only, from the first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        if owner is not None:
            os.fchown(f.fileno(), owner, owner)
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


class Process:
    """A process in a namespace, its output in a log file."""

    def __init__(self, name, args, log_path):
        self.name = name
        self.args = args
        self.log_path = log_path
        # A restarted process appends to its predecessor's log; only its own part is read.
        self.start_offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def output(self):
        with open(self.log_path, "rb") as f:
            f.seek(self.start_offset)
            return f.read().decode(errors="replace")

    def wait_for(self, pattern, timeout=20, start=0):
        """Waits until the log, from byte `start`, has a line matching `pattern`."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            text = self.output()[start:]
            if regex.search(text):
                return text
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before "
                                   f"'{pattern}':\n{text[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for '{pattern}' from {self.name}:\n"
                                   f"{text[-3000:]}")
            time.sleep(0.05)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Pod:
    def __init__(self, mesh, name, index, meshed, namespace, service_account, labels):
        self.mesh = mesh
        self.name = name
        self.netns = f"{mesh.prefix}-{mesh.owner}-{name}"
        self.address = pod_address(index)
        self.address6 = None  # set for a dual-stack pod
        self.veth = f"{BRIDGE}v{index}"
        self.meshed = meshed
        self.namespace = namespace
        self.service_account = service_account
        self.labels = labels
        self.sidecar = None
        self.apps = []

    @property
    def spiffe_id(self):
        return (f"spiffe://cluster.local/ns/{self.namespace}/sa/{self.service_account}"
                if self.meshed else None)


class Mesh:
    """The node, its pods, the control plane and the sidecars. cleanup() undoes everything,
    and is safe to call more than once and after a failure half way."""

    def __init__(self, bin_dir, workdir, prefix="weft-mesh", namespace="demo"):
        self.bin_dir = os.path.abspath(bin_dir)
        self.workdir = workdir
        self.prefix = prefix
        self.owner = os.getpid()
        self.namespace = namespace
        self.node = f"{prefix}-{self.owner}-node"
        self.manifests = os.path.join(workdir, "manifests")
        self.pods = {}
        self.services = {}  # name -> virtual address
        self.processes = []
        self.controlplane = None
        self.tokens = {}  # service account -> bootstrap token
        os.makedirs(self.manifests, exist_ok=True)
        # Sidecars run as uid 1337 and read their bootstrap, token and the mesh root here.
        os.chmod(workdir, 0o755)

    # --- topology ----------------------------------------------------------------------------

    def create_node(self):
        remove_stale(self.prefix)
        self._add_namespace(self.node)
        self.exec_in(self.node, "ip", "link", "add", BRIDGE, "type", "bridge")
        self.exec_in(self.node, "ip", "addr", "add", f"{NODE_ADDRESS}/24", "dev", BRIDGE)
        self.exec_in(self.node, "ip", "addr", "add", f"{NODE_ADDRESS6}/64", "dev", BRIDGE,
                     "nodad")
        self.exec_in(self.node, "ip", "link", "set", BRIDGE, "up")

    def _add_namespace(self, name):
        run("ip", "netns", "add", name)
        run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")

    def add_service(self, name):
        """A virtual address for a service, which pods' /etc/hosts name (set before pods)."""
        self.services[name] = service_address(len(self.services))

    def add_pod(self, name, meshed=True, service_account=None, labels=None, ports=(),
                hosts=None, ipv6=False):
        """A namespace wired to the node. `labels` and `ports` ((name, number) pairs) make it a
        Workload that Services select. `hosts` overrides names in its /etc/hosts (a pod outside
        the mesh reaches a service through a pod address, as through a NodePort). `ipv6`: an
        IPv6 address too (dual stack), which its capture rules and sidecar then cover."""
        pod = Pod(self, name, len(self.pods), meshed, self.namespace, service_account or name,
                  labels or {})
        pod.ports = list(ports)
        self._add_namespace(pod.netns)
        self.pods[name] = pod
        self.exec_in(self.node, "ip", "link", "add", pod.veth, "type", "veth", "peer", "name",
                     "eth0", "netns", pod.netns)
        self.exec_in(self.node, "ip", "link", "set", pod.veth, "master", BRIDGE, "up")
        self.exec_in(pod.netns, "ip", "addr", "add", f"{pod.address}/24", "dev", "eth0")
        if ipv6:
            pod.address6 = pod_address6(len(self.pods) - 1)
            self.exec_in(pod.netns, "ip", "addr", "add", f"{pod.address6}/64", "dev", "eth0",
                         "nodad")
        self.exec_in(pod.netns, "ip", "link", "set", "eth0", "up")
        self.exec_in(pod.netns, "ip", "route", "add", "default", "via", NODE_ADDRESS)
        # `ip netns exec` bind-mounts /etc/netns/<name>/hosts over /etc/hosts.
        names = {service: address for service, address in self.services.items()}
        names.update(hosts or {})
        os.makedirs(f"/etc/netns/{pod.netns}", exist_ok=True)
        with open(f"/etc/netns/{pod.netns}/hosts", "w") as f:
            f.write(f"127.0.0.1 localhost\n{pod.address} {name}\n")
            for service, address in names.items():
                f.write(f"{address} {service} {service}.{self.namespace} "
                        f"{service}.{self.namespace}.svc.cluster.local\n")
        return pod

    # --- running things ----------------------------------------------------------------------

    def exec_in(self, netns, *args, check=True, timeout=30, input=None):
        return run("ip", "netns", "exec", netns, *args, check=check, timeout=timeout, input=input)

    def start(self, netns, name, args, uid=None, env=None):
        prefix = ["ip", "netns", "exec", netns]
        if env:
            prefix += ["env", *[f"{k}={v}" for k, v in env.items()]]
        if uid is not None:
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        process = Process(name, prefix + list(args), os.path.join(self.workdir, f"{name}.log"))
        self.processes.append(process)
        return process

    def start_app(self, pod, args, name=None, ready=r"listening on|sending"):
        """An application process in the pod (plain python3; it knows nothing of the mesh)."""
        process = self.start(pod.netns, name or f"{pod.name}-app",
                             [sys.executable if sys.executable.startswith("/usr/bin/")
                              else "/usr/bin/python3", *args],
                             env={"GRPC_DNS_RESOLVER": "native"})
        pod.apps.append(process)
        if ready:
            process.wait_for(ready)
        return process

    def write_manifest(self, name, text):
        """Writes a manifest the way an editor would replace it: whole, in one rename."""
        path = os.path.join(self.manifests, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    def remove_manifest(self, name):
        os.unlink(os.path.join(self.manifests, name))

    def workload_manifests(self):
        """A Workload per pod: address, labels, service account, and whether its sidecar
        captures its traffic."""
        docs = []
        for pod in self.pods.values():
            if not pod.labels:
                continue
            labels = ", ".join(f"{k}: {v}" for k, v in pod.labels.items())
            ports = ", ".join(f"{{name: {n}, port: {p}}}" for n, p in pod.ports)
            docs.append(
                f"apiVersion: weft.dev/v1alpha1\nkind: Workload\n"
                f"metadata: {{name: {pod.name}, namespace: {self.namespace}, "
                f"labels: {{{labels}}}}}\n"
                f"spec:\n  address: {pod.address}\n  ports: [{ports}]\n"
                f"  serviceAccount: {pod.service_account}\n"
                f"  trafficCapture: {'true' if pod.meshed else 'false'}\n")
        return "---\n".join(docs)

    def start_controlplane(self):
        tokens = os.path.join(self.workdir, "tokens.csv")
        for pod in self.pods.values():
            if pod.meshed and pod.service_account not in self.tokens:
                self.tokens[pod.service_account] = secrets.token_hex(32)
        write_private(tokens, "# token,user,uid\n" + "".join(
            f"{token},system:serviceaccount:{self.namespace}:{account},{account}-uid\n"
            for account, token in self.tokens.items()))
        self.controlplane = self.start(self.node, "controlplane", [
            os.path.join(self.bin_dir, "weft-controlplane"), "--config-dir", self.manifests,
            "--xds-address", f"{NODE_ADDRESS}:{XDS_PORT}",
            "--metrics-address", f"{NODE_ADDRESS}:{CONTROLPLANE_METRICS_PORT}",
            "--ca-dir", os.path.join(self.workdir, "ca"), "--bootstrap-token-file", tokens,
            "--xds-tls-hosts", NODE_ADDRESS])
        self.controlplane.wait_for(r"weft-controlplane .* ready")
        os.chmod(os.path.join(self.workdir, "ca"), 0o755)
        os.chmod(os.path.join(self.workdir, "ca", "ca-cert.pem"), 0o644)
        return self.controlplane

    def restart_controlplane(self):
        self.controlplane.stop()
        self.processes.remove(self.controlplane)
        return self.start_controlplane()

    def install_capture(self, pod):
        """The pod's init step: `weft-proxy init` writes the nat rules; returns what it printed."""
        return self.exec_in(pod.netns, os.path.join(self.bin_dir, "weft-proxy"), "init",
                            "--proxy-uid", str(PROXY_UID), "--proxy-gid", str(PROXY_UID),
                            "--ipv6", "on" if pod.address6 else "off").stdout

    def start_sidecar(self, pod, extra_bootstrap=""):
        # Every sidecar runs as the one proxy uid, so on one machine each could read the
        # others' tokens; in Kubernetes each pod mounts its own.
        token = os.path.join(self.workdir, f"{pod.name}.token")
        write_private(token, self.tokens[pod.service_account], owner=PROXY_UID)
        bootstrap = os.path.join(self.workdir, f"{pod.name}-bootstrap.yaml")
        with open(bootstrap, "w") as f:
            # ip_addresses: the pod's IPs, as the injector writes them; an IPv6 one makes the
            # control plane add the capture listeners on [::].
            addresses = ", ".join(f'"{a}"' for a in (pod.address, pod.address6) if a)
            f.write(f"""node: {{id: {pod.name}, workload_name: {pod.name}, namespace: {self.namespace},
       service_account: {pod.service_account}, ip_addresses: [{addresses}]}}
admin: {{address: {{address: 127.0.0.1, port: {ADMIN_PORT}}}}}
status_server: {{address: {{address: 0.0.0.0, port: {STATUS_PORT}}}}}
concurrency: 1
dynamic_resources:
  ads:
    server:
      address: {{address: {NODE_ADDRESS}, port: {XDS_PORT}}}
      token_file: {token}
      tls: {{ca_file: {self.workdir}/ca/ca-cert.pem}}
    reconnect_backoff: {{base_interval: 0.2s, max_interval: 1s}}
  ca: {{}}
{extra_bootstrap}""")
        os.chmod(bootstrap, 0o644)
        pod.sidecar = self.start(pod.netns, f"{pod.name}-sidecar",
                                 [os.path.join(self.bin_dir, "weft-proxy"), "--config", bootstrap],
                                 uid=PROXY_UID)
        return pod.sidecar

    def wait_for_sidecar(self, pod, start=0):
        pod.sidecar.wait_for(r"workload certificate .* installed", start=start)
        pod.sidecar.wait_for(r"configuration applied", start=start)

    # --- cleanup -----------------------------------------------------------------------------

    def cleanup(self):
        """Stops every process and removes every namespace this mesh made (and so its veths,
        bridge and iptables rules). Returns the names of namespaces still present (none)."""
        for process in reversed(self.processes):
            try:
                process.stop(timeout=3)
            except Exception:  # keep going: the namespaces must go whatever happened
                pass
        # Every namespace with this run's prefix and pid, including one made just before a
        # failure kept it from being recorded.
        for name in namespaces_of(self.prefix, self.owner):
            remove_namespace(name)
        for path in glob.glob(f"/etc/netns/{self.prefix}-{self.owner}-*"):
            shutil.rmtree(path, ignore_errors=True)
        return namespaces_of(self.prefix, self.owner)
