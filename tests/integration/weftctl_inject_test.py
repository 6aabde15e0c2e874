#!/usr/bin/env python3
"""`weftctl inject` as users run it, on tests/unit/cli/testdata/inject_workloads.yaml (a
Deployment, a Service, a ConfigMap whose block scalar holds a "---" line, a CronJob, a Pod in
kube-system and an opted-out DaemonSet, with comments around and between them).

The output, read by PyYAML (a YAML parser of its own, not the one weftctl uses), is the input
with the Deployment's and the CronJob's pod templates changed exactly as the real sidecar
injector webhook (weft-injector, sent an AdmissionReview for the same pod) patches the pod; all
other documents and the text between them are the input's bytes. Injecting the output again
changes nothing; stdin works; a refusal exits 1 with its reason and still writes the stream;
a syntax error exits 2 with the line and column; the mesh root is read from ConfigMap
weft-system/weft-mesh-root when no --mesh-root-file is given, and its absence fails clearly.
kubectl applies the whole output (server-side dry run, against the Kubernetes API test
server).

/usr/bin/python3 for python3-cryptography (certificates) and python3-yaml."""
import base64
import copy
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import BIN_DIR, SOURCE_DIR, IntegrationTest, main, require_tool  # noqa: E402

try:  # Debian's /usr/bin/python3 has both
    import yaml
    import mesh_certs
    from kube_api_server import KubeApiServer
except ImportError:  # a skip (setUp), which CI counts as a failure (harness.main)
    yaml = None

FIXTURE = os.path.join(SOURCE_DIR, "tests", "unit", "cli", "testdata", "inject_workloads.yaml")
WEFTCTL = os.path.join(BIN_DIR, "weftctl")
ADMIN_TOKEN = "weftctl-inject-admin-token"
INJECTED = {"Deployment": ("spec", "template"),
            "CronJob": ("spec", "jobTemplate", "spec", "template")}


def split_documents(text):
    """The stream's pieces by the rule weftctl follows: a line that is "---" alone or
    followed by a blank, in column 0, starts a document; "..." ends one. Returns the pieces
    (each a document with the comments before it) and joins back to `text`."""
    pieces, current, has_start, has_content = [], "", False, False
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if bare == "---" or bare.startswith("--- ") or bare.startswith("---\t"):
            if has_start or has_content:
                pieces.append(current)
                current, has_content = "", False
            has_start = True
        elif (bare == "..." or bare.startswith("... ")) and (has_start or has_content):
            pieces.append(current + line)
            current, has_start, has_content = "", False, False
            continue
        elif bare.strip() and not bare.lstrip().startswith("#") and not bare.startswith("%"):
            has_content = True
        current += line
    if current:
        pieces.append(current)
    assert "".join(pieces) == text
    return pieces


def apply_patch(document, patch):
    """RFC 6902 add, remove, replace and test, enough for the injector's patches."""
    document = copy.deepcopy(document)
    for operation in patch:
        tokens = [t.replace("~1", "/").replace("~0", "~")
                  for t in operation["path"].split("/")[1:]]
        parent = document
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last, op = tokens[-1], operation["op"]
        if op == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent[last]
            assert current == operation["value"], operation
        elif isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op == "add":
                parent.insert(index, operation["value"])
            elif op == "replace":
                parent[index] = operation["value"]
            elif op == "remove":
                del parent[index]
            else:
                raise AssertionError(f"unexpected operation {operation}")
        elif op in ("add", "replace"):
            assert op == "add" or last in parent, operation
            parent[last] = operation["value"]
        elif op == "remove":
            del parent[last]
        else:
            raise AssertionError(f"unexpected operation {operation}")
    return document


def at(obj, path):
    for step in path:
        obj = obj[step]
    return obj


class WeftctlInjectTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        if yaml is None:
            self.skipTest("needs python3-yaml and python3-cryptography (/usr/bin/python3)")
        self.authority = mesh_certs.Authority("weftctl inject test mesh root")
        self.root = self.write("root-cert.pem", self.authority.cert_pem())
        # The injector's ConfigMap as a directory, shared by weftctl and the webhook.
        self.settings = os.path.join(self.tempdir, "settings")
        os.mkdir(self.settings)
        with open(os.path.join(self.settings, "proxyImage"), "w") as f:
            f.write("registry.example/weft-proxy:test")
        with open(FIXTURE) as f:
            self.fixture = f.read()

    def inject(self, *args, stdin=None, env=None):
        return subprocess.run([WEFTCTL, "inject", *args], input=stdin, capture_output=True,
                              text=True, timeout=60, env=env)

    def inject_fixture(self, *extra):
        result = self.inject("-f", FIXTURE, "--mesh-root-file", self.root, "--settings-dir",
                             self.settings, *extra)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def start_webhook(self, settings):
        """weft-injector with these settings and the mesh root; returns its review function."""
        cert, key = mesh_certs.write_pair(self.tempdir, "injector", self.authority.issue(
            [], ip_addresses=["127.0.0.1"]))
        process = self.start([os.path.join(BIN_DIR, "weft-injector"), "--tls-cert-file", cert,
                              "--tls-key-file", key, "--config-dir", settings,
                              "--mesh-root-file", self.root,
                              "--webhook-address", "127.0.0.1:0",
                              "--metrics-address", "127.0.0.1:0"], "weft-injector")
        port = int(process.wait_for(r"serving admission reviews on \S+ \(port (\d+)\)").group(1))
        context = ssl.create_default_context(cafile=self.root)

        def review(pod, namespace):
            body = json.dumps({
                "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "review-1", "kind": {"group": "", "version": "v1",
                                                        "kind": "Pod"},
                            "resource": {"group": "", "version": "v1", "resource": "pods"},
                            "namespace": namespace, "operation": "CREATE", "object": pod}})
            connection = http.client.HTTPSConnection("127.0.0.1", port, context=context,
                                                     timeout=10)
            try:
                connection.request("POST", "/inject", body=body,
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = json.loads(response.read())
            finally:
                connection.close()
            self.assertEqual(response.status, 200, answer)
            self.assertTrue(answer["response"]["allowed"], answer)
            return json.loads(base64.b64decode(answer["response"]["patch"]))

        return review

    # --- the tests ---------------------------------------------------------------------------

    def test_output_is_the_input_plus_the_webhooks_mutation(self):
        self.check_against_webhook("native")

    def test_classic_sidecars_too(self):
        # The proxy goes first among the containers: the app's comments must stay with the app.
        self.check_against_webhook("classic")

    def check_against_webhook(self, mode):
        settings = os.path.join(self.tempdir, f"settings-{mode}")
        shutil.copytree(self.settings, settings)
        with open(os.path.join(settings, "sidecarMode"), "w") as f:
            f.write(mode)
        result = self.inject("-f", FIXTURE, "--mesh-root-file", self.root, "--settings-dir",
                             settings)
        self.assertEqual(result.returncode, 0, result.stderr)
        before, after = split_documents(self.fixture), split_documents(result.stdout)
        self.assertEqual(len(after), len(before), result.stdout)
        review = self.start_webhook(settings)
        injected = 0
        for old_text, new_text in zip(before, after):
            old_objects = list(yaml.safe_load_all(old_text))
            new_objects = list(yaml.safe_load_all(new_text))
            old = old_objects[0] if old_objects else None
            kind = old.get("kind") if isinstance(old, dict) else None
            if kind not in INJECTED:
                self.assertEqual(new_text, old_text)
                continue
            injected += 1
            self.assertEqual(len(new_objects), 1, new_text)
            new = new_objects[0]
            path = INJECTED[kind]
            template = at(old, path)
            pod = {key: template[key] for key in ("metadata", "spec") if key in template}
            expected = apply_patch(pod, review(pod, old["metadata"]["namespace"]))
            self.assertEqual({key: at(new, path).get(key) for key in ("metadata", "spec")},
                             {key: expected.get(key) for key in ("metadata", "spec")})
            # Outside the template, nothing changed.
            at(new, path[:-1])[path[-1]] = None
            at(old, path[:-1])[path[-1]] = None
            self.assertEqual(new, old)
            self.assertIn("registry.example/weft-proxy:test", new_text)
            if kind == "Deployment":  # the rewritten probe keeps its comment
                self.assertIn("          # Rewritten to go through the proxy: it still "
                              "answers under STRICT mTLS.\n          readinessProbe:\n",
                              new_text)
        self.assertEqual(injected, 2)
        self.assertEqual(result.stderr.splitlines()[:3], [
            f"{FIXTURE}: document 1 (Deployment web): injected a {mode} sidecar",
            f"{FIXTURE}: document 4 (CronJob report): injected a {mode} sidecar",
            f"{FIXTURE}: document 5 (Pod node-debugger): skipped: namespace kube-system is "
            "never injected"])
        self.assertRegex(result.stderr.splitlines()[3],
                         rf"^{re.escape(FIXTURE)}: document 6 \(DaemonSet log-shipper\): "
                         r"skipped: .*weft\.dev/inject: false")

    def test_stdin_gives_the_same_and_a_second_run_changes_nothing(self):
        once = self.inject_fixture().stdout
        args = ("--mesh-root-file", self.root, "--settings-dir", self.settings)
        for stdin_args in ((), ("-f", "-")):
            result = self.inject(*stdin_args, *args, stdin=self.fixture)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, once)
            self.assertIn("<stdin>: document 1 (Deployment web): injected a native sidecar",
                          result.stderr)
        again = self.inject(*args, stdin=once)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, once)
        self.assertIn("<stdin>: document 1 (Deployment web): skipped: the pod already has a "
                      "weft-proxy container", again.stderr)
        self.assertNotIn("injected a", again.stderr)

    def test_a_refusal_exits_1_with_its_reason_and_the_stream_is_written(self):
        stream = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\n  annotations:\n"
                  "    weft.dev/sidecar-mode: sometimes\nspec:\n  containers:\n"
                  "  - {name: app, image: app}\n---\n"
                  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: fine\nspec:\n  containers:\n"
                  "  - {name: app, image: app}\n")
        result = self.inject("--mesh-root-file", self.root, stdin=stream)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("<stdin>: document 1 (Pod typo): skipped: annotation "
                      "weft.dev/sidecar-mode: 'sometimes' is not native or classic",
                      result.stderr)
        documents = split_documents(result.stdout)
        self.assertEqual(documents[0], split_documents(stream)[0])
        self.assertIn("weft-proxy", documents[1])

    def test_a_syntax_error_exits_2_with_its_line_and_column(self):
        bad = self.write("bad.yaml", "apiVersion: v1\nkind: Pod\n---\nmetadata: {name: [x\n"
                                     "spec: {}\n")
        result = self.inject("-f", bad, "--mesh-root-file", self.root)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertRegex(result.stderr, rf"^weftctl inject: {re.escape(bad)}: line \d+, "
                                        r"column \d+: ")

    def test_the_mesh_root_comes_from_the_cluster_without_a_file(self):
        cert, key = mesh_certs.write_pair(self.tempdir, "kube-apiserver", self.authority.issue(
            [], ip_addresses=["127.0.0.1"]))
        api = KubeApiServer(cert, key, token=ADMIN_TOKEN).start()
        self.addCleanup(api.stop)
        token = self.write("token", ADMIN_TOKEN)
        env = dict(os.environ, HOME=self.tempdir)
        env.pop("KUBECONFIG", None)
        connection = ("--server", api.url, "--token-file", token, "--ca-file", self.root)
        pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n"

        missing = self.inject(*connection, stdin=pod, env=env)
        self.assertEqual(missing.returncode, 1)
        self.assertEqual(missing.stdout, "")
        self.assertIn("weftctl inject: the injected proxies need the mesh root to verify the "
                      "control plane; give --mesh-root-file, or let weftctl read it from the "
                      "cluster: ConfigMap weft-system/weft-mesh-root does not exist",
                      missing.stderr)

        other = mesh_certs.Authority("the cluster's mesh root")
        api.create("namespaces", {"metadata": {"name": "weft-system"}})
        api.create("configmaps", {"metadata": {"name": "weft-mesh-root",
                                               "namespace": "weft-system"},
                                  "data": {"root-cert.pem": other.cert_pem()}})
        found = self.inject(*connection, stdin=pod, env=env)
        self.assertEqual(found.returncode, 0, found.stderr)
        bootstrap = yaml.safe_load(found.stdout)["spec"]["initContainers"][1]["env"]
        value = next(entry["value"] for entry in bootstrap if entry["name"] == "WEFT_BOOTSTRAP")
        self.assertIn(json.dumps(other.cert_pem().strip())[1:-1], value)

        # Nothing to inject: the cluster is not asked (this server would refuse connections).
        service = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
        quiet = self.inject("--server", "https://127.0.0.1:1", "--ca-file", self.root,
                            stdin=service, env=env)
        self.assertEqual((quiet.returncode, quiet.stdout), (0, service), quiet.stderr)

    def test_kubectl_applies_the_output(self):
        require_tool("kubectl")
        cert, key = mesh_certs.write_pair(self.tempdir, "kube-apiserver", self.authority.issue(
            [], ip_addresses=["127.0.0.1"]))
        api = KubeApiServer(cert, key, token=ADMIN_TOKEN).start()
        self.addCleanup(api.stop)
        api.create("namespaces", {"metadata": {"name": "shop"}})
        output = self.write("injected.yaml", self.inject_fixture().stdout)
        env = dict(os.environ, HOME=self.tempdir)  # kubectl's discovery cache with the server
        env.pop("KUBECONFIG", None)
        result = subprocess.run(["kubectl", "--server", api.url, "--certificate-authority",
                                 self.root, "--token", ADMIN_TOKEN, "apply",
                                 "--dry-run=server", "-f", output],
                                capture_output=True, text=True, timeout=60, env=env,
                                stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines(), [
            "deployment.apps/web created (server dry run)",
            "service/web created (server dry run)",
            "configmap/web-pipeline created (server dry run)",
            "cronjob.batch/report created (server dry run)",
            "pod/node-debugger created (server dry run)",
            "daemonset.apps/log-shipper created (server dry run)"])


if __name__ == "__main__":
    main()
