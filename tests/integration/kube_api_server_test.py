#!/usr/bin/env python3
"""The Kubernetes API test server (tests/tools/kube_api_server.py) checked against the real
kubectl, so that tests relying on it rely on the API server's wire behaviour, not on a guess at
it. kubectl creates, reads, lists and deletes secrets through it (a typed client sending
protobuf, and `create -f`, which consults OpenAPI and asks for strict field validation), reads
its Status errors (AlreadyExists, NotFound, Unauthorized, BadRequest), and creates TokenReviews
whose audiences follow kube-apiserver's rule. Direct HTTPS requests pin the Status objects'
fields, the 3 MiB body limit and malformed input; the module API (secrets, request log, fault
injection, watch) is used in-process."""
import base64
import datetime
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import SOURCE_DIR, IntegrationTest, main, require_tool  # noqa: E402
import kube_api_server  # noqa: E402  (stdlib only)

try:  # python3-cryptography, which /usr/bin/python3 (Debian's) has
    import mesh_certs  # noqa: E402
except ImportError:  # a skip (setUp), which CI counts as a failure (harness.main)
    mesh_certs = None

SERVER = os.path.join(SOURCE_DIR, "tests", "tools", "kube_api_server.py")
ADMIN_TOKEN = "admin-token-for-tests"
REVIEWS = "system:serviceaccount:default:reviews"
LEGACY = "system:serviceaccount:default:legacy"
SECRETS = "/api/v1/namespaces/default/secrets"
UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def write_server_certificate(directory):
    """A root from mesh_certs and a serving certificate for IP 127.0.0.1 signed by it (kubectl,
    like any Go client, checks an IP address against IP SANs only). Returns the paths of (root,
    certificate, key)."""
    authority = mesh_certs.Authority("kube-api-server test root")
    root = os.path.join(directory, "root.pem")
    with open(root, "w") as f:
        f.write(authority.cert_pem())
    pair = authority.issue([], ip_addresses=["127.0.0.1"])
    return (root, *mesh_certs.write_pair(directory, "kube-api-server", pair))


class KubeApiServerTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        require_tool("kubectl")
        if mesh_certs is None:
            self.skipTest("needs python3-cryptography")
        self.root, self.cert, self.key = write_server_certificate(self.tempdir)
        self.tls = ssl.create_default_context(cafile=self.root)

    # --- helpers -------------------------------------------------------------------------

    def start_program(self):
        """The program form, as other tests run it: port 0, --port-file, request log on
        stdout. The review tokens exercise both --review-token forms."""
        port_file = os.path.join(self.tempdir, "port")
        process = self.start([sys.executable, SERVER, "--port", "0", "--cert", self.cert,
                              "--key", self.key, "--token", ADMIN_TOKEN,
                              "--review-token", f"reviews-token={REVIEWS}:weft,vault",
                              "--review-token", f"legacy-token={LEGACY}",
                              "--port-file", port_file], "kube-api-server")
        port = int(process.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
        with open(port_file) as f:
            self.assertEqual(int(f.read()), port)
        return process, port

    def start_module(self):
        """The module form, in this process; stopped even when the test fails."""
        server = kube_api_server.KubeApiServer(self.cert, self.key, token=ADMIN_TOKEN).start()
        self.addCleanup(server.stop)
        return server

    def kubeconfig(self, port, token=ADMIN_TOKEN, name="kubeconfig"):
        return self.write(name, f"""apiVersion: v1
kind: Config
clusters:
- name: kube-api-server
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority: {self.root}
users:
- name: tester
  user:
    token: {token}
contexts:
- name: test
  context: {{cluster: kube-api-server, user: tester, namespace: default}}
current-context: test
""")

    def kubectl(self, kubeconfig, *args):
        # HOME in the test's directory: kubectl's discovery cache (~/.kube/cache, keyed by
        # host:port) must not outlive the server, whose port another test may get next.
        env = dict(os.environ, HOME=self.tempdir)
        env.pop("KUBECONFIG", None)
        return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args],
                              capture_output=True, text=True, timeout=60, env=env,
                              stdin=subprocess.DEVNULL)

    def kubectl_ok(self, kubeconfig, *args):
        result = self.kubectl(kubeconfig, *args)
        self.assertEqual(result.returncode, 0, f"kubectl {' '.join(args)}:\n{result.stderr}")
        return result.stdout

    def kubectl_fails(self, kubeconfig, *args):
        result = self.kubectl(kubeconfig, *args)
        self.assertNotEqual(result.returncode, 0, f"kubectl {' '.join(args)} succeeded:\n"
                                                  f"{result.stdout}")
        return result.stderr

    def request(self, port, method, path, body=None, token=ADMIN_TOKEN, headers=None):
        """One HTTPS request; returns (status, headers, body as JSON when it is JSON)."""
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=self.tls,
                                                 timeout=10)
        try:
            sent = dict(headers or {})
            if token is not None:
                sent["Authorization"] = f"Bearer {token}"
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                sent.setdefault("Content-Type", "application/json")
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            if response.getheader("Content-Type", "").startswith("application/json"):
                data = json.loads(data)
            return response.status, response, data
        finally:
            connection.close()

    def review(self, kubeconfig, token, audiences=None):
        """`kubectl create -f` of a TokenReview; returns its status."""
        spec = {"token": token}
        if audiences is not None:
            spec["audiences"] = audiences
        manifest = self.write("review.json", json.dumps({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}))
        review = json.loads(self.kubectl_ok(kubeconfig, "create", "-f", manifest, "-o", "json"))
        self.assertEqual((review["kind"], review["apiVersion"]),
                         ("TokenReview", "authentication.k8s.io/v1"))
        self.assertEqual(review["spec"]["token"], token)
        return review["status"]

    @staticmethod
    def status(code, reason, message, details=None):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}
        if details is not None:
            body["details"] = details
        return body

    # --- tests ---------------------------------------------------------------------------

    def test_kubectl_creates_reads_lists_and_deletes_secrets(self):
        process, port = self.start_program()
        config = self.kubeconfig(port)
        binary = bytes(range(256))
        blob = os.path.join(self.tempdir, "blob.bin")
        with open(blob, "wb") as f:
            f.write(binary)

        # `kubectl create secret` is a typed client: its body is protobuf.
        self.assertEqual(self.kubectl_ok(config, "create", "secret", "generic", "db-creds",
                                         "--from-literal=username=weft",
                                         f"--from-file=blob={blob}").strip(),
                         "secret/db-creds created")
        secret = json.loads(self.kubectl_ok(config, "get", "secret", "db-creds", "-o", "json"))
        self.assertEqual((secret["kind"], secret["apiVersion"], secret["type"]),
                         ("Secret", "v1", "Opaque"))
        self.assertEqual({k: base64.b64decode(v) for k, v in secret["data"].items()},
                         {"username": b"weft", "blob": binary})
        meta = secret["metadata"]
        self.assertEqual((meta["name"], meta["namespace"]), ("db-creds", "default"))
        self.assertRegex(meta["uid"], UID)
        self.assertRegex(meta["resourceVersion"], r"^\d+$")
        created = datetime.datetime.strptime(meta["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
        age = datetime.datetime.utcnow() - created
        self.assertLess(abs(age.total_seconds()), 60)

        # The list, as kubectl prints the server's Table.
        listing = self.kubectl_ok(config, "get", "secrets")
        self.assertRegex(listing, r"^NAME\s+TYPE\s+DATA\s+AGE\n")
        self.assertRegex(listing, r"(?m)^db-creds\s+Opaque\s+2\s+\d+s$")
        names = json.loads(self.kubectl_ok(config, "get", "secrets", "-o", "json"))
        self.assertEqual(names["kind"], "List")
        self.assertEqual([item["metadata"]["name"] for item in names["items"]], ["db-creds"])

        # The same name again: the typed client's words, then `create -f`'s, which quote the
        # Status reason.
        stderr = self.kubectl_fails(config, "create", "secret", "generic", "db-creds",
                                    "--from-literal=x=y")
        self.assertIn('secrets "db-creds" already exists', stderr)
        manifest = self.write("db-creds.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n"
                                               "  name: db-creds\nstringData:\n  x: z\n")
        stderr = self.kubectl_fails(config, "create", "-f", manifest)
        self.assertIn('Error from server (AlreadyExists): error when creating', stderr)
        self.assertIn('secrets "db-creds" already exists', stderr)
        unchanged = json.loads(self.kubectl_ok(config, "get", "secret", "db-creds", "-o", "json"))
        self.assertEqual(unchanged["metadata"]["resourceVersion"], meta["resourceVersion"])

        # stringData is stored base64-encoded in data; the resourceVersion counter grows.
        manifest = self.write("api-key.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n"
                                              "  name: api-key\nstringData:\n  key: s3cr3t\n")
        self.assertEqual(self.kubectl_ok(config, "create", "-f", manifest).strip(),
                         "secret/api-key created")
        api_key = json.loads(self.kubectl_ok(config, "get", "secret", "api-key", "-o", "json"))
        self.assertEqual(api_key["data"], {"key": base64.b64encode(b"s3cr3t").decode()})
        self.assertNotIn("stringData", api_key)
        self.assertGreater(int(api_key["metadata"]["resourceVersion"]),
                           int(meta["resourceVersion"]))

        self.assertEqual(self.kubectl_ok(config, "delete", "secret", "db-creds").strip(),
                         'secret "db-creds" deleted')
        stderr = self.kubectl_fails(config, "get", "secret", "db-creds")
        self.assertIn('Error from server (NotFound): secrets "db-creds" not found', stderr)
        self.assertRegex(self.kubectl_ok(config, "get", "secrets"), r"(?m)^api-key\s")

        # The program logs what it answered, and stops cleanly on SIGTERM.
        output = process.output()
        self.assertRegex(output, r"POST /api/v1/namespaces/default/secrets\?\S*"
                                 r"fieldValidation=Strict\S* 201")
        self.assertRegex(output, r"DELETE /api/v1/namespaces/default/secrets/db-creds 200")
        process.signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=10), 0, process.output())
        self.assertIn("kube-api-server stopped", process.output())

    def test_kubectl_token_reviews_follow_the_audience_rule(self):
        _, port = self.start_program()
        config = self.kubeconfig(port)
        default = kube_api_server.DEFAULT_AUDIENCE

        status = self.review(config, "reviews-token", ["weft"])
        self.assertIs(status["authenticated"], True)
        self.assertEqual(status["user"]["username"], REVIEWS)
        self.assertEqual(status["user"]["groups"], [
            "system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"])
        self.assertRegex(status["user"]["uid"], UID)
        self.assertEqual(status["audiences"], ["weft"])
        # status.audiences is the intersection, in the request's order.
        self.assertEqual(self.review(config, "reviews-token", ["other", "vault", "weft"])
                         ["audiences"], ["vault", "weft"])
        # Registered for weft and vault: not valid for the API server's own audience, which a
        # review naming none stands for.
        status = self.review(config, "reviews-token")
        self.assertIs(status["authenticated"], False)
        self.assertEqual(status["error"], f'token audiences ["weft" "vault"] is invalid for the '
                                          f'target audiences ["{default}"]')
        # Registered without audiences (a legacy token): the API server's audience only.
        status = self.review(config, "legacy-token")
        self.assertIs(status["authenticated"], True)
        self.assertEqual(status["user"]["username"], LEGACY)
        self.assertEqual(status["audiences"], [default])
        self.assertIs(self.review(config, "legacy-token", ["weft"])["authenticated"], False)
        # An unknown token: still 201, not authenticated.
        status = self.review(config, "not-a-token", ["weft"])
        self.assertEqual(status, {"authenticated": False, "user": {},
                                  "error": "invalid bearer token"})

        # No token at all is the registry's 400, before any authenticator runs.
        manifest = self.write("empty.json", json.dumps({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"audiences": ["weft"]}}))
        stderr = self.kubectl_fails(config, "create", "-f", manifest)
        self.assertIn("Error from server (BadRequest)", stderr)
        self.assertIn("token is required for TokenReview in authentication", stderr)
        # kubectl asks for strict field validation, and gets it.
        manifest = self.write("typo.json", json.dumps({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": "reviews-token", "audience": ["weft"]}}))
        stderr = self.kubectl_fails(config, "create", "-f", manifest)
        self.assertIn('strict decoding error: unknown field "spec.audience"', stderr)

    def test_a_wrong_token_is_unauthorized(self):
        _, port = self.start_program()
        wrong = self.kubeconfig(port, token="guessed-token", name="wrong-kubeconfig")
        # Refused at discovery, whose client reads raw bodies (not the Status): kubectl then
        # has only the code's generic words, as against any real API server.
        stderr = self.kubectl_fails(wrong, "get", "secrets")
        self.assertIn("error: You must be logged in to the server (the server has asked for "
                      "the client to provide credentials)", stderr)
        # With discovery cached (by a good token; the cache is per server, not per user) the
        # list call fails, and kubectl quotes the Status.
        self.kubectl_ok(self.kubeconfig(port), "get", "secrets")
        stderr = self.kubectl_fails(wrong, "get", "secrets")
        self.assertIn("error: You must be logged in to the server (Unauthorized)", stderr)
        unauthorized = self.status(401, "Unauthorized", "Unauthorized")
        for token, headers in ((None, {}), ("guessed-token", {}),
                               (None, {"Authorization": f"Basic {ADMIN_TOKEN}"}),
                               # A service-account token is for reviewing, not for calling.
                               ("reviews-token", {})):
            status, _, body = self.request(port, "GET", SECRETS, token=token, headers=headers)
            self.assertEqual((status, body), (401, unauthorized), (token, headers))
        # Unauthenticated discovery too (--anonymous-auth=false).
        self.assertEqual(self.request(port, "GET", "/version", token=None)[0], 401)
        # The scheme is case-insensitive, as in kube-apiserver.
        status, _, body = self.request(port, "GET", "/version", token=None,
                                       headers={"Authorization": f"bearer {ADMIN_TOKEN}"})
        self.assertEqual((status, body["gitVersion"]), (200, "v1.32.4"))

    def test_status_objects_and_limits_over_https(self):
        server = self.start_module()
        port = server.port
        status, response, body = self.request(port, "GET", f"{SECRETS}/missing")
        self.assertEqual((status, response.getheader("Content-Type")), (404, "application/json"))
        self.assertEqual(body, self.status(404, "NotFound", 'secrets "missing" not found',
                                           {"name": "missing", "kind": "secrets"}))

        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls-ca"},
                  "data": {"ca.crt": base64.b64encode(b"pem").decode()}}
        status, _, created = self.request(port, "POST", SECRETS, secret)
        self.assertEqual(status, 201, created)
        status, _, body = self.request(port, "POST", SECRETS, secret)
        self.assertEqual((status, body), (409, self.status(
            409, "AlreadyExists", 'secrets "tls-ca" already exists',
            {"name": "tls-ca", "kind": "secrets"})))

        # PUT with the current resourceVersion works once; the now stale one is a Conflict.
        replaced = dict(created, data={"ca.crt": base64.b64encode(b"new").decode()})
        status, _, updated = self.request(port, "PUT", f"{SECRETS}/tls-ca", replaced)
        self.assertEqual(status, 200, updated)
        self.assertGreater(int(updated["metadata"]["resourceVersion"]),
                           int(created["metadata"]["resourceVersion"]))
        self.assertEqual(updated["metadata"]["uid"], created["metadata"]["uid"])
        status, _, body = self.request(port, "PUT", f"{SECRETS}/tls-ca", replaced)
        self.assertEqual((status, body["reason"], body["details"]),
                         (409, "Conflict", {"name": "tls-ca", "kind": "secrets"}))
        self.assertEqual(body["message"], 'Operation cannot be fulfilled on secrets "tls-ca": '
                                          'the object has been modified; please apply your '
                                          'changes to the latest version and try again')
        self.assertEqual(server.secret_data("default", "tls-ca"), {"ca.crt": b"new"})

        # No name: 422 Invalid, whose details name the Kind and the field.
        status, _, body = self.request(port, "POST", SECRETS, {"metadata": {}})
        self.assertEqual((status, body["reason"], body["details"]["kind"]),
                         (422, "Invalid", "Secret"))
        self.assertEqual(body["details"]["causes"], [{
            "reason": "FieldValueRequired", "field": "metadata.name",
            "message": "Required value: name or generateName is required"}])
        # Not base64, not JSON: 400.
        status, _, body = self.request(port, "POST", SECRETS, {"metadata": {"name": "b"},
                                                               "data": {"k": "no+base64!"}})
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))
        self.assertIn("illegal base64 data", body["message"])
        for bad in (b'{"metadata": ', b"\xff\xfe", b'["a list"]', b"[" * 100000):
            status, _, body = self.request(port, "POST", SECRETS, bad,
                                           headers={"Content-Type": "application/json"})
            self.assertEqual((status, body["reason"]), (400, "BadRequest"), bad[:20])
        # Over 3 MiB: 413 before the body is read (the connection is then closed, gently
        # enough that the answer arrives).
        status, response, body = self.request(
            port, "POST", SECRETS, b"x" * (kube_api_server.MAX_BODY_BYTES + 1),
            headers={"Content-Type": "application/json"})
        self.assertEqual((status, body), (413, self.status(
            413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")))
        self.assertEqual(response.getheader("Connection"), "close")

        # DELETE answers Status Success naming the object, as the generic registry does.
        status, _, body = self.request(port, "DELETE", f"{SECRETS}/tls-ca")
        self.assertEqual((status, body), (200, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": "tls-ca", "kind": "secrets", "uid": created["metadata"]["uid"]}}))
        self.assertNotIn(("default", "tls-ca"), server.secrets)

        # Junk does not take it down: plain HTTP on the TLS port (answered as Go's server
        # does), a broken request line inside TLS.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while chunk := raw.recv(4096):
                answer += chunk
        self.assertEqual(answer, b"HTTP/1.0 400 Bad Request\r\n\r\n"
                                 b"Client sent an HTTP request to an HTTPS server.\n")
        with self.tls.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                                  server_hostname="127.0.0.1") as tls:
            tls.sendall(b"\x00\x01 nonsense\r\n\r\n")
            self.assertIn(b" 400 ", tls.recv(200))
        self.assertEqual(self.request(port, "GET", "/version")[0], 200)
        codes = {entry.status for entry in server.request_log}
        self.assertTrue({201, 400, 404, 409, 413, 422} <= codes, codes)

    def test_module_api_faults_and_watch_with_kubectl(self):
        server = self.start_module()
        config = self.kubeconfig(server.port)

        # Seeded through the module, read by kubectl; made by kubectl, read through the module.
        server.put_secret("default", "seeded", {"raw": b"\x00\xff"}, labels={"app": "weft"})
        seeded = json.loads(self.kubectl_ok(config, "get", "secret", "seeded", "-o", "json"))
        self.assertEqual(seeded["data"], {"raw": base64.b64encode(b"\x00\xff").decode()})
        self.assertEqual(seeded["metadata"]["labels"], {"app": "weft"})
        self.kubectl_ok(config, "create", "secret", "generic", "by-kubectl", "--from-literal=a=1")
        self.assertEqual(server.secret_data("default", "by-kubectl"), {"a": b"1"})
        self.assertEqual(server.secrets[("default", "by-kubectl")]["type"], "Opaque")
        self.assertIn(("POST", SECRETS, 201), server.request_log)
        self.assertEqual(self.kubectl_ok(config, "get", "secrets", "-l", "app=weft", "-o",
                                         "name").split(), ["secret/seeded"])

        # A 503 with Retry-After is retried by client-go; a 500 is not.
        server.fail_next(1, 503, path=SECRETS)
        self.assertRegex(self.kubectl_ok(config, "get", "secrets"), r"(?m)^seeded\s")
        self.assertEqual([r.status for r in server.requests_to(SECRETS, "GET")][-2:], [503, 200])
        server.fail_next(1, 500, path=SECRETS)
        stderr = self.kubectl_fails(config, "get", "secrets")
        self.assertIn("Error from server (InternalError)", stderr)
        # An injected 404 is the Status kube-apiserver would send for that object.
        server.fail_next(1, 404, method="GET", path=f"{SECRETS}/seeded")
        stderr = self.kubectl_fails(config, "get", "secret", "seeded")
        self.assertIn('Error from server (NotFound): secrets "seeded" not found', stderr)
        self.kubectl_ok(config, "get", "secret", "seeded")
        # A delay longer than the client's timeout.
        server.delay_next(1, 3, path=SECRETS)
        started = time.monotonic()
        stderr = self.kubectl_fails(config, "--request-timeout=1s", "get", "secrets")
        self.assertLess(time.monotonic() - started, 3, stderr)
        self.assertRegex(stderr, r"(?i)timeout|deadline")

        # A watch from the current resourceVersion sees a change made through the module.
        status, _, listing = self.request(server.port, "GET", SECRETS)
        version = listing["metadata"]["resourceVersion"]
        connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=self.tls,
                                                 timeout=10)
        try:
            connection.request("GET", f"{SECRETS}?watch=true&resourceVersion={version}"
                                      f"&timeoutSeconds=10",
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            response = connection.getresponse()
            self.assertEqual(response.status, 200)
            server.put_secret("default", "watched", {"k": b"v"})
            event = json.loads(response.readline())
        finally:
            connection.close()
        self.assertEqual((event["type"], event["object"]["metadata"]["name"]),
                         ("ADDED", "watched"))
        self.assertGreater(int(event["object"]["metadata"]["resourceVersion"]), int(version))

        # Once stopped, nothing listens.
        server.stop()
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


if __name__ == "__main__":
    main()
