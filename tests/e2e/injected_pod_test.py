#!/usr/bin/env python3
"""An injected pod runs: weft-injector's patch, taken over HTTPS and applied, started the way
the kubelet starts a pod, in a pod of the namespace harness (scripts/demo/netns_mesh.py) with
weft-controlplane in local mode, its CA, and STRICT mTLS for the namespace.

The test plays the kubelet from the spec alone: init containers in order, each to completion
(weft-init's command as root with NET_ADMIN and NET_RAW only); a native sidecar started and
the next container held until its startupProbe passes from the node; a classic sidecar's
postStart hook run inside its container and the next container held until it returns 0;
environment from the spec with the downward API and the kubelet's $(VAR) expansion; the
securityContext's user, group and capabilities; the spec's volumes at their mountPaths and the
image's binary at /usr/local/bin, in a private mount namespace of each container; probes sent
from the node to the pod's address. Then it checks what injection is for: the proxy gets its
identity and configuration, the rewritten probes follow the app's health while the original
probe is refused under STRICT, and a meshed pod reaches the app over mTLS.

Needs root, ip, iptables, setpriv, unshare, nsenter, curl and python3-jsonpatch; skips (77)
otherwise, which CI counts as a failure.
"""
import base64
import json
import os
import posixpath
import shlex
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import harness  # noqa: E402
from injector_webhook_test import jsonpatch, kubelet_volume, review  # noqa: E402

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "scripts", "demo"))
import netns_mesh  # noqa: E402

if jsonpatch is not None:
    import mesh_certs  # noqa: E402  (python3-cryptography, as jsonpatch)

PREFIX = "weft-e2e-inject"
NAMESPACE = "shop"
INJECTOR_HOST = "weft-injector.weft-system.svc"
INJECTOR_PORT = 9443
# What the proxy image holds: the test binds the build's binary where the spec names it.
IMAGES = {"weft-proxy:0.1.0": {"/usr/local/bin/weft-proxy": os.path.join(harness.BIN_DIR,
                                                                          "weft-proxy")}}
# The PATH of the image's base (debian:12-slim, deploy/docker/Dockerfile).
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEADLINE = 60  # seconds; every wait is bounded by it, none measures time

# The application: /ready answers 503 while its "unready" file exists, /healthz always 200,
# anything else 200 with what the app saw of its caller.
APP = """
import http.server, json, os, sys
port, unready = int(sys.argv[1]), sys.argv[2]
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        if self.path == "/ready" and os.path.exists(unready):
            status, body = 503, {"ready": False}
        else:
            status, body = 200, {"path": self.path,
                                 "caller": self.headers.get("x-forwarded-client-cert", "")}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
server = http.server.ThreadingHTTPServer(("0.0.0.0", port), App)
print(f"listening on {port}", flush=True)
server.serve_forever()
"""


def expand(text, env):
    """The kubelet's expansion of a container's command, args and env values: $(NAME) becomes
    NAME's value when NAME is defined in `env` (the variables before this one), "$$" becomes
    "$", and anything else, an unknown or unterminated reference included, stays as written."""
    out = []
    i = 0
    while i < len(text):
        if text[i] != "$" or i + 1 == len(text):
            out.append(text[i])
            i += 1
        elif text[i + 1] == "$":
            out.append("$")
            i += 2
        elif text[i + 1] == "(" and text.find(")", i + 2) != -1:
            end = text.find(")", i + 2)
            name = text[i + 2:end]
            out.append(env[name] if name in env else text[i:end + 1])
            i = end + 1
        else:  # "$x", or "$(" without its ")": both characters as they are
            out.append(text[i:i + 2])
            i += 2
    return "".join(out)


class ExpansionTest(unittest.TestCase):
    def test_the_kubelets_expansion_rules(self):
        env = {"A": "1", "B": "$(A)"}
        self.assertEqual(expand("$(A).$(B)", env), "1.$(A)")  # values are not expanded again
        self.assertEqual(expand("$$(A) $$ $", env), "$(A) $ $")
        self.assertEqual(expand("$(C) $(A", env), "$(C) $(A")
        self.assertEqual(expand("$x$(A$(A)", env), "$x$(A$(A)")
        self.assertEqual(expand("", env), "")


class PodRunner:
    """A pod spec run as the kubelet runs it, in harness pod `pod`. Each container runs in the
    pod's network namespace and a mount namespace of its own, so nothing it mounts shows on the
    host; every process is the harness's, stopped by its cleanup."""

    def __init__(self, mesh, pod, manifest, token):
        self.mesh = mesh
        self.pod = pod
        self.manifest = manifest
        self.spec = manifest["spec"]
        self.processes = {}
        # The volumes' contents, in a directory only root can enter; bind-mounted into the
        # containers, where they show with their own modes.
        root = os.path.join(mesh.workdir, f"{pod.name}-volumes")
        os.mkdir(root, 0o700)
        self.volumes = {}
        for volume in self.spec.get("volumes", []):
            path = os.path.join(root, volume["name"])
            if "emptyDir" in volume:
                os.mkdir(path)
                os.chmod(path, 0o777)  # as the kubelet makes an emptyDir
            elif "projected" in volume:
                files = {}
                for source in volume["projected"]["sources"]:
                    if set(source) != {"serviceAccountToken"}:
                        raise AssertionError(f"volume {volume['name']}: unexpected {source}")
                    # The token the control plane accepts for the pod's service account (in a
                    # cluster, the kubelet's projected token, reviewed with the API server).
                    files[source["serviceAccountToken"]["path"]] = token
                kubelet_volume(path, files)
            else:
                raise AssertionError(f"volume {volume['name']}: unexpected source {volume}")
            self.volumes[volume["name"]] = path

    # --- what the kubelet gives a container --------------------------------------------------

    def field(self, path):
        """A downward API fieldRef's value."""
        values = {"metadata.name": self.manifest["metadata"]["name"],
                  "metadata.namespace": self.manifest["metadata"]["namespace"],
                  "spec.serviceAccountName": self.spec["serviceAccountName"],
                  "status.podIP": self.pod.address,
                  "status.podIPs": ",".join(a for a in (self.pod.address, self.pod.address6)
                                            if a)}
        if path not in values:
            raise AssertionError(f"fieldRef {path} is not one the test's kubelet knows")
        return values[path]

    def environment(self, container):
        env = {}
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = expand(var["value"], env)
            elif "fieldRef" in var.get("valueFrom", {}):
                env[var["name"]] = self.field(var["valueFrom"]["fieldRef"]["fieldPath"])
            else:
                raise AssertionError(f"env {var['name']}: unexpected source {var}")
        return env

    def process_args(self, container, env):
        """setpriv (user, group, capabilities, no_new_privs from the securityContext), a clean
        environment, and the command with its args expanded."""
        context = container.get("securityContext", {})
        args = ["setpriv"]
        uid = context.get("runAsUser")
        if uid:
            args += [f"--reuid={uid}", f"--regid={context.get('runAsGroup', uid)}",
                     "--clear-groups"]
        capabilities = context.get("capabilities", {})
        if "ALL" in capabilities.get("drop", []):
            args.append("--bounding-set=" + ",".join(
                ["-all"] + ["+" + name.lower() for name in capabilities.get("add", [])]))
        if context.get("allowPrivilegeEscalation") is False:
            args.append("--no-new-privs")
        command = [expand(arg, env) for arg in container["command"] + container.get("args", [])]
        return [*args, "env", "-i", f"PATH={IMAGE_PATH}",
                f"HOSTNAME={self.manifest['metadata']['name']}",
                *[f"{name}={value}" for name, value in env.items()], *command]

    def container_args(self, container):
        """The container as a command for the pod's network namespace: a private mount
        namespace where the image's files, the container's /var/run and the volumes are
        mounted, then the process."""
        steps = ["set -e"]
        files = IMAGES.get(container["image"], {})
        for directory in sorted({posixpath.dirname(path) for path in files}):
            steps.append(f"mount -t tmpfs -o mode=0755 image {shlex.quote(directory)}")
        for path, source in files.items():
            steps += [f"touch {shlex.quote(path)}",
                      f"mount --bind {shlex.quote(source)} {shlex.quote(path)}"]
        mounts = container.get("volumeMounts", [])
        if mounts:
            # The container's own /var/run (/run), as empty as an image's.
            steps.append("mount -t tmpfs -o mode=0755 container-run /run")
        for mount in mounts:
            target = mount["mountPath"]
            if not target.startswith("/var/run/"):
                raise AssertionError(f"volumeMount {mount}: the test mounts under /var/run only")
            target = shlex.quote(target)
            steps += [f"mkdir -p {target}",
                      f"mount --bind {shlex.quote(self.volumes[mount['name']])} {target}"]
            if mount.get("readOnly"):
                steps.append(f"mount -o remount,bind,ro {target}")
        if container.get("securityContext", {}).get("readOnlyRootFilesystem"):
            steps.append("mount -o remount,bind,ro /")
        process = self.process_args(container, self.environment(container))
        steps.append("exec " + shlex.join(process))
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                "\n".join(steps)]

    # --- the kubelet's steps -------------------------------------------------------------------

    def probe(self, container, kind):
        """One httpGet probe from the node, as the kubelet sends it: the HTTP status, or 0
        when the connection failed."""
        get = container[kind]["httpGet"]
        port = get["port"]
        if isinstance(port, str):
            port = next(p["containerPort"] for p in container["ports"] if p.get("name") == port)
        url = (f"{get.get('scheme', 'HTTP').lower()}://{get.get('host', self.pod.address)}:"
               f"{port}{get['path']}")
        result = self.mesh.exec_in(self.mesh.node, "curl", "-s", "-o", "/dev/null", "-w",
                                   "%{http_code}", "--max-time", "5", url, check=False)
        return int(result.stdout or 0)

    def wait_for_probe(self, container, kind):
        """Probes every periodSeconds until it passes (200-399, the kubelet's success)."""
        deadline = time.monotonic() + DEADLINE
        while not 200 <= self.probe(container, kind) < 400:
            process = self.processes[container["name"]]
            if not process.alive():
                raise AssertionError(f"{process.name} exited:\n{process.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{kind} of {container['name']} still failing after "
                                     f"{DEADLINE} s:\n{process.output()[-3000:]}")
            time.sleep(container[kind].get("periodSeconds", 10))

    def start_container(self, container):
        """Returns once the container runs its command (its mounts made), as a runtime's
        StartContainer does: an exec hook must find the container's mount namespace."""
        process = self.mesh.start(self.pod.netns, f"{self.pod.name}-{container['name']}",
                                  self.container_args(container))
        self.processes[container["name"]] = process
        command = container["command"][0].encode()
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                with open(f"/proc/{process.proc.pid}/cmdline", "rb") as f:
                    if f.read().split(b"\0")[0] == command:
                        return process
            except FileNotFoundError:
                pass
            if not process.alive() or time.monotonic() > deadline:
                raise AssertionError(f"{process.name} did not start:\n{process.output()}")
            time.sleep(0.01)

    def exec_in_container(self, container, command, name):
        """A command inside a running container (its namespaces, user, environment): what
        the kubelet does for an exec hook."""
        target = str(self.processes[container["name"]].proc.pid)
        process = self.process_args({**container, "command": command, "args": []},
                                    self.environment(container))
        return self.mesh.start(self.pod.netns, f"{self.pod.name}-{container['name']}-{name}",
                               ["nsenter", f"--target={target}", "--mount", "--", *process])

    def run_pod(self, while_post_start=None):
        """Starts the pod. `while_post_start(container, hook)` runs while a postStart hook
        runs, before the kubelet waits for it."""
        for container in self.spec.get("initContainers", []):
            if container.get("restartPolicy") == "Always":  # a native sidecar
                self.start_container(container)
                if "startupProbe" in container:
                    self.wait_for_probe(container, "startupProbe")
                continue
            result = self.mesh.exec_in(self.pod.netns, *self.container_args(container),
                                       check=False, timeout=DEADLINE)
            if result.returncode != 0:
                raise AssertionError(f"init container {container['name']} exited "
                                     f"{result.returncode}:\n{result.stdout}{result.stderr}")
        for container in self.spec["containers"]:
            process = self.start_container(container)
            post_start = container.get("lifecycle", {}).get("postStart")
            if post_start is None:
                continue
            hook = self.exec_in_container(container, post_start["exec"]["command"],
                                          "post-start")
            if while_post_start is not None:
                while_post_start(container, hook)
            try:
                code = hook.proc.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the postStart hook of {container['name']} still runs "
                                     f"after {DEADLINE} s:\n{hook.output()}") from None
            if code != 0:  # the kubelet kills the container
                raise AssertionError(f"the postStart hook of {container['name']} exited "
                                     f"{code}:\n{hook.output()}\n{process.output()[-3000:]}")

    def container(self, name):
        return next(c for c in self.spec.get("initContainers", []) + self.spec["containers"]
                    if c["name"] == name)


class InjectedPodTest(unittest.TestCase):
    running = None  # the mesh, for the SIGTERM handler

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("network namespaces, mounts and iptables need root")
        if jsonpatch is None:
            raise unittest.SkipTest("needs python3-jsonpatch and python3-cryptography")
        for tool in ("ip", "iptables", "setpriv", "unshare", "nsenter", "curl"):
            harness.require_tool(tool)
        netns_mesh.remove_stale(PREFIX)
        cls.workdir = netns_mesh.make_workdir(PREFIX)
        cls.mesh = mesh = netns_mesh.Mesh(harness.BIN_DIR, cls.workdir, prefix=PREFIX,
                                          namespace=NAMESPACE)
        InjectedPodTest.running = mesh
        cls.addClassCleanup(subprocess.run, ["rm", "-rf", cls.workdir])
        cls.addClassCleanup(mesh.cleanup)
        mesh.create_node()
        mesh.add_service("web")
        # Two pods for the injector, the native one dual-stack; a meshed client with the
        # harness's own sidecar.
        mesh.add_pod("web", service_account="web", labels={"app": "web"},
                     ports=[("http", 8080)], ipv6=True)
        mesh.add_pod("legacy", service_account="legacy", labels={"app": "legacy"},
                     ports=[("http", 8080)])
        mesh.add_pod("client", service_account="client", labels={"app": "client"})
        mesh.write_manifest("mesh.yaml", f"""
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 8080, targetPort: http}}]
---
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {{name: default, namespace: {NAMESPACE}}}
spec:
  mode: STRICT
""")
        mesh.write_manifest("workloads.yaml", mesh.workload_manifests())
        mesh.start_controlplane()
        client = mesh.pods["client"]
        mesh.install_capture(client)
        mesh.start_sidecar(client)
        cls.start_injector()
        mesh.wait_for_sidecar(client)

    @classmethod
    def start_injector(cls):
        """weft-injector on the node, its settings naming the control plane by address (no
        DNS here) and its mesh root the control plane's CA."""
        authority = mesh_certs.Authority("weft-injector-test-ca")
        cls.injector_ca = os.path.join(cls.workdir, "injector-ca.pem")
        with open(cls.injector_ca, "w") as f:
            f.write(authority.cert_pem())
        cert, key = authority.issue([], dns_names=[INJECTOR_HOST])
        tls = os.path.join(cls.workdir, "injector-tls")
        kubelet_volume(tls, {"tls.crt": cert, "tls.key": key})
        settings = os.path.join(cls.workdir, "injector-settings")
        kubelet_volume(settings, {"controlPlaneAddress":
                                  f"{netns_mesh.NODE_ADDRESS}:{netns_mesh.XDS_PORT}"})
        cls.injector = cls.mesh.start(cls.mesh.node, "injector", [
            os.path.join(harness.BIN_DIR, "weft-injector"),
            "--webhook-address", f"{netns_mesh.NODE_ADDRESS}:{INJECTOR_PORT}",
            "--metrics-address", "127.0.0.1:15015",
            "--tls-cert-file", os.path.join(tls, "tls.crt"),
            "--tls-key-file", os.path.join(tls, "tls.key"),
            "--config-dir", settings,
            "--mesh-root-file", os.path.join(cls.workdir, "ca", "ca-cert.pem")])
        cls.injector.wait_for(r"serving admission reviews")

    def setUp(self):
        for process in (self.mesh.controlplane, self.mesh.pods["client"].sidecar,
                        self.injector):
            if not process.alive():
                self.fail(f"{process.name} exited:\n{process.output()[-3000:]}")

    # --- helpers ----------------------------------------------------------------------------

    def pod_manifest(self, name, annotations=None):
        """A pod of an HTTP app whose probes are plain HTTP to its own port."""
        app = os.path.join(self.workdir, "app.py")
        with open(app, "w") as f:
            f.write(APP)
        metadata = {"name": name, "namespace": NAMESPACE, "labels": {"app": name}}
        if annotations:
            metadata["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {
            "serviceAccountName": name,
            "containers": [{
                "name": "app", "image": "registry.example/shop/web:1",
                "command": ["/usr/bin/python3", app, "8080",
                            os.path.join(self.workdir, f"{name}-unready")],
                "ports": [{"name": "http", "containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                                   "periodSeconds": 1},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]}}

    def inject(self, manifest):
        """The injector's answer to the API server's AdmissionReview, applied."""
        request = os.path.join(self.workdir, f"{manifest['metadata']['name']}-review.json")
        with open(request, "w") as f:
            json.dump(review(manifest), f)
        result = self.mesh.exec_in(
            self.mesh.node, "curl", "-sS", "--max-time", "10", "--cacert", self.injector_ca,
            "--resolve", f"{INJECTOR_HOST}:{INJECTOR_PORT}:{netns_mesh.NODE_ADDRESS}",
            "-H", "Content-Type: application/json", "--data-binary", f"@{request}",
            f"https://{INJECTOR_HOST}:{INJECTOR_PORT}/inject")
        response = json.loads(result.stdout)["response"]
        self.assertTrue(response["allowed"], response)
        self.assertEqual(response["patchType"], "JSONPatch")
        return jsonpatch.apply_patch(manifest, json.loads(base64.b64decode(response["patch"])))

    def runner(self, manifest):
        pod = self.mesh.pods[manifest["metadata"]["name"]]
        return PodRunner(self.mesh, pod, manifest, self.mesh.tokens[pod.service_account])

    def admin(self, pod, path):
        return self.mesh.exec_in(self.mesh.pods[pod].netns, "curl", "-sS", "--max-time", "5",
                                 f"http://127.0.0.1:{netns_mesh.ADMIN_PORT}{path}").stdout

    def assert_identity_and_configuration(self, runner):
        """The proxy got its workload certificate and its configuration from the control plane,
        having read the token and the roots where the spec put them."""
        proxy = runner.processes["weft-proxy"]
        proxy.wait_for(r"workload certificate .* installed")
        proxy.wait_for(r"configuration applied")
        self.assertNotIn("cannot read the token file", proxy.output())
        certs = json.loads(self.admin(runner.pod.name, "/certs"))
        self.assertEqual(certs["certificate"]["spiffe_id"], runner.pod.spiffe_id)
        # ...and kept it in the pod's emptyDir, for a restart without the control plane.
        self.wait_until(lambda: os.path.exists(os.path.join(runner.volumes["weft-data"],
                                                            "config.pb")),
                        "the persisted configuration")

    def wait_until(self, check, what):
        deadline = time.monotonic() + DEADLINE
        while not check():
            if time.monotonic() > deadline:
                self.fail(f"{what}: not within {DEADLINE} s")
            time.sleep(0.1)

    # --- the tests --------------------------------------------------------------------------

    def test_a_native_sidecar_pod_runs_and_its_rewritten_probes_follow_the_app(self):
        original = self.pod_manifest("web")
        injected = self.inject(original)
        self.assertEqual([c["name"] for c in injected["spec"]["initContainers"]],
                         ["weft-init", "weft-proxy"])
        runner = self.runner(injected)
        runner.run_pod()
        self.assert_identity_and_configuration(runner)
        # The node's addresses came through POD_IPS into the proxy's node (a dual-stack pod
        # gets capture listeners on [::] too).
        self.assertIn("inbound-ipv6", self.admin("web", "/config_dump"))

        app = runner.container("app")
        runner.wait_for_probe(app, "readinessProbe")
        self.assertEqual(app["readinessProbe"]["httpGet"]["path"], "/app-health/app/readyz")
        self.assertEqual(runner.probe(app, "livenessProbe"), 200)
        unready = os.path.join(self.workdir, "web-unready")
        open(unready, "w").close()
        self.addCleanup(lambda: os.path.exists(unready) and os.unlink(unready))
        self.assertEqual(runner.probe(app, "readinessProbe"), 503)
        self.assertEqual(runner.probe(app, "livenessProbe"), 200)
        os.unlink(unready)
        self.assertEqual(runner.probe(app, "readinessProbe"), 200)

        # The probe the pod was written with: plaintext from the node to the app's port,
        # which STRICT refuses. That is why the injector rewrites it.
        original_app = original["spec"]["containers"][0]
        self.assertEqual(runner.probe(original_app, "readinessProbe"), 0)
        self.assertEqual(runner.probe(original_app, "livenessProbe"), 0)
        runner.processes["weft-proxy"].wait_for(r"plaintext connection from")

        # A meshed pod reaches the app through both sidecars, with its identity.
        status, _, body = self.curl_from("client", "http://web:8080/hello")
        self.assertEqual(status, 200, body)
        self.assertIn(f"URI=spiffe://cluster.local/ns/{NAMESPACE}/sa/client",
                      json.loads(body)["caller"])

    def test_a_classic_sidecars_post_start_hook_holds_the_app_until_the_proxy_is_ready(self):
        injected = self.inject(self.pod_manifest(
            "legacy", annotations={"weft.dev/sidecar-mode": "classic"}))
        proxy = injected["spec"]["containers"][0]
        self.assertEqual(proxy["name"], "weft-proxy")
        hook = proxy["lifecycle"]["postStart"]["exec"]["command"]
        self.assertEqual(hook[1:2], ["wait"])
        runner = self.runner(injected)
        pod = self.mesh.pods["legacy"]
        # The control plane is unreachable from this pod until the hook has been seen waiting.
        block = ["iptables", "-I", "INPUT", "-s", pod.address, "-p", "tcp", "--dport",
                 str(netns_mesh.XDS_PORT), "-j", "REJECT", "--reject-with", "tcp-reset"]
        self.mesh.exec_in(self.mesh.node, *block)
        unblock = ["iptables", "-D", *block[2:]]
        self.addCleanup(self.mesh.exec_in, self.mesh.node, *unblock, check=False)
        seen = {}

        def while_post_start(container, hook_process):
            proxy_process = runner.processes["weft-proxy"]
            proxy_process.wait_for(r"discovery stream to \S+ closed", timeout=DEADLINE)
            self.assertEqual(runner.probe(container, "readinessProbe"), 503)
            # The hook has asked the proxy, been told it is not ready, and waits on.
            hook_process.wait_for(r"weft-proxy wait: \S+: 503", timeout=DEADLINE)
            self.assertTrue(hook_process.alive(), hook_process.output())
            self.assertNotIn("legacy-app", [p.name for p in self.mesh.processes])
            # The same command with a short timeout gives up: not ready is never success.
            short = hook[:hook.index("--timeout") + 1] + ["1s"]
            quick = runner.exec_in_container(container, short, "wait-short")
            self.assertNotEqual(quick.proc.wait(DEADLINE), 0, quick.output())
            seen["waiting"] = hook_process.alive()
            self.mesh.exec_in(self.mesh.node, *unblock)

        runner.run_pod(while_post_start)
        self.assertTrue(seen["waiting"])
        # The hook returned 0 once the proxy was ready, and only then did the app start.
        self.assertEqual(runner.probe(proxy, "readinessProbe"), 200)
        self.assert_identity_and_configuration(runner)
        app = runner.container("app")
        runner.wait_for_probe(app, "readinessProbe")
        self.assertEqual(runner.probe(app, "livenessProbe"), 200)

    def curl_from(self, pod, url):
        result = self.mesh.exec_in(self.mesh.pods[pod].netns, "curl", "-sS", "--max-time", "10",
                                   "-o", "-", "-w", "\n%{http_code}", url, check=False)
        body, _, status = result.stdout.rpartition("\n")
        return int(status or 0), result.stderr, body


def main():
    if os.geteuid() != 0:
        print("skipped: network namespaces, mounts and iptables need root", file=sys.stderr)
        sys.exit(77)

    # A SIGTERM cleans up at once (unittest would catch a SystemExit and run on); ctest's
    # SIGKILL leaves what the next run's remove_stale() removes.
    def stop(*_):
        if InjectedPodTest.running is not None:
            InjectedPodTest.running.cleanup()
        os._exit(1)
    signal.signal(signal.SIGTERM, stop)
    harness.main()


if __name__ == "__main__":
    main()
