#!/usr/bin/env python3
"""Pod validation in the Kubernetes API test server (tests/tools/kube_pod_validation.py and
kube_workload_validation.py): what kube-apiserver 1.32 accepts and refuses in the pod specs a
sidecar injector writes, with its field paths and messages, checked in-process through the
server's module API and, for what a user sees, with the real kubectl (apply and create of
pods and of Deployments, Jobs, CronJobs, StatefulSets and DaemonSets whose templates carry
the injected containers).

The expected messages are kube-apiserver's, written out from pkg/apis/core/validation and
k8s.io/apimachinery/pkg/util/validation, not read back from the server under test."""
import copy
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import IntegrationTest, main, require_tool  # noqa: E402
import kube_pod_validation  # noqa: E402  (stdlib only)
import kube_workload_validation  # noqa: E402
from kube_api_server import ApiError, KubeApiServer  # noqa: E402

try:  # python3-cryptography, which /usr/bin/python3 (Debian's) has
    import mesh_certs  # noqa: E402
except ImportError:  # a skip (setUp), which CI counts as a failure (harness.main)
    mesh_certs = None

ADMIN_TOKEN = "admin-token-for-tests"
PROXY = "/usr/local/bin/weft-proxy"
LABEL_RULE = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
              "or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
              "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
QUANTITY_RULE = ("quantities must match the regular expression "
                 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def ready_probe(period, failures):
    return {"httpGet": {"path": "/healthz/ready", "port": 15020}, "periodSeconds": period,
            "timeoutSeconds": 1, "failureThreshold": failures}


def capture_init():
    """weft-init as the injector writes it: root for iptables, NET_ADMIN and NET_RAW only."""
    return {"name": "weft-init", "image": "weft-proxy:0.1.0", "imagePullPolicy": "IfNotPresent",
            "command": [PROXY], "args": ["init", "--proxy-uid", "1337", "--proxy-gid", "1337"],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                          "limits": {"cpu": "100m", "memory": "64Mi"}},
            "securityContext": {"runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": False,
                                "privileged": False, "allowPrivilegeEscalation": False,
                                "capabilities": {"add": ["NET_ADMIN", "NET_RAW"],
                                                 "drop": ["ALL"]}}}


def proxy(native):
    """weft-proxy: a native sidecar (an init container that keeps running) or, classic, a
    regular container that holds the app back with a postStart hook."""
    container = {
        "name": "weft-proxy", "image": "weft-proxy:0.1.0", "imagePullPolicy": "IfNotPresent",
        "command": [PROXY], "args": ["--config-env", "WEFT_BOOTSTRAP"],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_NAMESPACE",
                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "SERVICE_ACCOUNT",
                 "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
                {"name": "POD_IPS", "valueFrom": {"fieldRef": {"fieldPath": "status.podIPs"}}},
                {"name": "WEFT_BOOTSTRAP", "value": "node: {id: $(POD_NAME)}"}],
        "ports": [{"name": "weft-status", "containerPort": 15020, "protocol": "TCP"}],
        "startupProbe": ready_probe(1, 600), "readinessProbe": ready_probe(5, 3),
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                      "limits": {"memory": "256Mi"}},
        "securityContext": {"runAsUser": 1337, "runAsGroup": 1337, "runAsNonRoot": True,
                            "privileged": False, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "weft-token", "mountPath": "/var/run/secrets/weft",
                          "readOnly": True},
                         {"name": "weft-data", "mountPath": "/var/run/weft"}]}
    if native:
        container["restartPolicy"] = "Always"
    else:
        container["lifecycle"] = {"postStart": {"exec": {"command": [
            PROXY, "wait", "--timeout", "600s"]}}}
    return container


def app():
    return {"name": "reviews", "image": "example/reviews:1.0",
            "ports": [{"name": "http", "containerPort": 9080}],
            "livenessProbe": {"httpGet": {"path": "/livez", "port": "http"}}}


def sidecar_volumes():
    return [{"name": "weft-token", "projected": {"sources": [{"serviceAccountToken": {
                "audience": "weft", "expirationSeconds": 43200, "path": "token"}}]}},
            {"name": "weft-data", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}]


def injected_spec(native=True):
    if native:
        return {"initContainers": [capture_init(), proxy(True)], "containers": [app()],
                "volumes": sidecar_volumes()}
    return {"initContainers": [capture_init()], "containers": [proxy(False), app()],
            "volumes": sidecar_volumes()}


def pod(name, spec=None, annotations=None):
    meta = {"name": name, "namespace": "default", "labels": {"app": "reviews"}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": spec if spec is not None else injected_spec()}


def deployment(name, spec=None, kind="Deployment"):
    """An apps/v1 workload of the injected pod template (a DaemonSet has no replicas)."""
    workload = {"apiVersion": "apps/v1", "kind": kind,
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "reviews"}},
                         "template": {"metadata": {"labels": {"app": "reviews"}},
                                      "spec": spec if spec is not None else injected_spec()}}}
    if kind == "DaemonSet":
        del workload["spec"]["replicas"]
    return workload


class PodValidationTest(unittest.TestCase):
    """The rules, through the server's module API (the same code path as an HTTP create)."""

    def setUp(self):
        # Not started: create() and update() decode, default and validate in-process.
        self.server = KubeApiServer("unused.pem", "unused-key.pem", token=ADMIN_TOKEN)

    def refused(self, resource, obj, *expected, code=422, any_order=False):
        """Creating `obj` fails with these causes ("field: message"), in this order unless
        they come from iterating a Go map (any_order)."""
        with self.assertRaises(ApiError) as caught:
            self.server.create(resource, obj)
        error = caught.exception
        self.assertEqual(error.code, code, error.message)
        if code == 422:
            self.assertEqual(error.reason, "Invalid")
            causes = [f"{c['field']}: {c['message']}" for c in error.details["causes"]]
            if any_order:
                causes, expected = sorted(causes), sorted(expected)
            self.assertEqual(causes, list(expected), error.message)
        return error

    def broken(self, change, native=True):
        """An injected pod with `change` applied to its spec."""
        spec = injected_spec(native)
        change(spec)
        return pod("broken", spec)

    # --- accepted -----------------------------------------------------------------------

    def test_accepts_a_native_sidecar_pod_and_defaults_it(self):
        stored = self.server.create("pods", pod("native"))
        proxy_container = stored["spec"]["initContainers"][1]
        self.assertEqual(proxy_container["restartPolicy"], "Always")
        # What validation saw: the v1 defaults of probes and handlers, requests from limits.
        self.assertEqual(proxy_container["readinessProbe"], {
            "httpGet": {"path": "/healthz/ready", "port": 15020, "scheme": "HTTP"},
            "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1,
            "failureThreshold": 3})
        self.assertEqual(proxy_container["resources"]["requests"],
                         {"cpu": "100m", "memory": "64Mi"})
        self.assertEqual(stored["spec"]["volumes"][0]["projected"]["defaultMode"], 0o644)
        # The ServiceAccount admission plugin's default, which lets the token volume through.
        self.assertEqual(stored["spec"]["serviceAccountName"], "default")
        # Quantities are stored canonically.
        self.assertEqual(stored["spec"]["volumes"][1]["emptyDir"]["sizeLimit"], "16Mi")

    def test_accepts_a_classic_sidecar_pod(self):
        stored = self.server.create("pods", pod("classic", injected_spec(native=False)))
        self.assertEqual([c["name"] for c in stored["spec"]["containers"]],
                         ["weft-proxy", "reviews"])
        self.assertNotIn("restartPolicy", stored["spec"]["initContainers"][0])

    def test_accepts_what_the_real_rules_allow_beyond_the_obvious(self):
        spec = injected_spec()
        # A probe's port name need not name one of the container's ports, a mountPath need
        # not be absolute, two containers may use the same port name, an env name may start
        # with a digit (RelaxedEnvironmentVariableValidation, on since 1.32), labels and
        # annotations may be read by subscript, and readiness may succeed twice.
        spec["containers"][0]["livenessProbe"]["httpGet"]["port"] = "elsewhere"
        spec["containers"][0]["volumeMounts"] = [{"name": "weft-data", "mountPath": "data"}]
        spec["containers"][0]["ports"][0]["name"] = "weft-status"
        spec["containers"][0]["ports"][0]["containerPort"] = 9081
        spec["containers"][0]["env"] = [
            {"name": "1ST.VALUE", "value": "x"},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu",
                                                               "divisor": "1m"}}}]
        spec["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 9081},
                                                   "successThreshold": 2}
        self.server.create("pods", pod("relaxed", spec))

    # --- containers ---------------------------------------------------------------------

    def test_container_names_are_required_labels_and_unique(self):
        self.refused("pods", self.broken(lambda s: s["containers"].append(proxy(False))),
                     'spec.initContainers[1].name: Duplicate value: "weft-proxy"')
        error = self.refused("pods", self.broken(lambda s: s["containers"].append(app())),
                             'spec.containers[1].name: Duplicate value: "reviews"')
        self.assertEqual(error.message, 'Pod "broken" is invalid: spec.containers[1].name: '
                                        'Duplicate value: "reviews"')
        self.assertEqual(error.details["causes"][0]["reason"], "FieldValueDuplicate")

        def rename(spec):
            spec["initContainers"][1]["name"] = "Weft_Proxy"
            spec["containers"][0]["name"] = ""
            del spec["containers"][0]["image"]
        self.refused("pods", self.broken(rename),
                     "spec.containers[0].name: Required value",
                     "spec.containers[0].image: Required value",
                     f'spec.initContainers[1].name: Invalid value: "Weft_Proxy": {LABEL_RULE}')

    def test_restart_policy_marks_native_sidecars_and_only_them(self):
        def policies(spec):
            spec["initContainers"][1]["restartPolicy"] = "OnFailure"
            spec["containers"][0]["restartPolicy"] = "Always"
        self.refused("pods", self.broken(policies),
                     "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init "
                     "containers",
                     'spec.initContainers[1].restartPolicy: Unsupported value: "OnFailure": '
                     'supported values: "Always"',
                     "spec.initContainers[1].readinessProbe: Forbidden: may not be set for init "
                     "containers without restartPolicy=Always",
                     "spec.initContainers[1].startupProbe: Forbidden: may not be set for init "
                     "containers without restartPolicy=Always")

    def test_probes_and_lifecycle_need_a_native_sidecar_among_init_containers(self):
        def classic_init_with_probes(spec):
            spec["initContainers"][0]["livenessProbe"] = {"exec": {"command": ["true"]}}
            spec["initContainers"][0]["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}
        self.refused("pods", self.broken(classic_init_with_probes),
                     "spec.initContainers[0].lifecycle: Forbidden: may not be set for init "
                     "containers without restartPolicy=Always",
                     "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init "
                     "containers without restartPolicy=Always")

        def native_with_hooks(spec):
            spec["initContainers"][1]["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}
        self.server.create("pods", self.broken(native_with_hooks))

    def test_a_probe_has_exactly_one_handler_and_valid_numbers(self):
        def probes(spec):
            proxy_container = spec["initContainers"][1]
            proxy_container["readinessProbe"] = {
                "exec": {"command": ["check"]}, "httpGet": {"port": 15020},
                "periodSeconds": -1}
            proxy_container["startupProbe"] = {"initialDelaySeconds": 1}
            proxy_container["livenessProbe"] = {"grpc": {"port": 0}, "successThreshold": 2}
        self.refused("pods", self.broken(probes),
                     "spec.initContainers[1].livenessProbe.grpc.port: Invalid value: 0: must be "
                     "between 1 and 65535, inclusive",
                     "spec.initContainers[1].livenessProbe.successThreshold: Invalid value: 2: "
                     "must be 1",
                     "spec.initContainers[1].readinessProbe.httpGet: Forbidden: may not specify "
                     "more than 1 handler type",
                     "spec.initContainers[1].readinessProbe.periodSeconds: Invalid value: -1: "
                     "must be greater than or equal to 0",
                     "spec.initContainers[1].startupProbe: Required value: must specify a "
                     "handler type")

    def test_probe_ports_are_numbers_or_iana_service_names_and_schemes_http(self):
        def ports(spec):
            spec["containers"][0]["livenessProbe"] = {
                "httpGet": {"port": "Web_Port", "scheme": "FTP"}}
            spec["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": "1234"}}
            spec["containers"][0]["startupProbe"] = {"tcpSocket": {"port": 70000}}
        self.refused("pods", self.broken(ports),
                     'spec.containers[0].livenessProbe.httpGet.port: Invalid value: "Web_Port": '
                     "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                     'spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: "FTP": '
                     'supported values: "HTTP", "HTTPS"',
                     'spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: "1234": '
                     "must contain at least one letter (a-z)",
                     "spec.containers[0].startupProbe.tcpSocket.port: Invalid value: 70000: must "
                     "be between 1 and 65535, inclusive")

    def test_container_ports(self):
        def ports(spec):
            spec["containers"][0]["ports"] = [
                {"name": "http", "containerPort": 9080},
                {"name": "http", "containerPort": 9090, "protocol": "HTTP"},
                {"name": "-metrics-endpoint-", "containerPort": 70000},
                {"containerPort": 8443, "hostPort": 8443},
                {"containerPort": 8444, "hostPort": 8443}]
        self.refused("pods", self.broken(ports),
                     'spec.containers[0].ports[1].name: Duplicate value: "http"',
                     'spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": '
                     'supported values: "SCTP", "TCP", "UDP"',
                     'spec.containers[0].ports[2].name: Invalid value: "-metrics-endpoint-": '
                     "must be no more than 15 characters",
                     'spec.containers[0].ports[2].name: Invalid value: "-metrics-endpoint-": '
                     "must not begin or end with a hyphen",
                     "spec.containers[0].ports[2].containerPort: Invalid value: 70000: must be "
                     "between 1 and 65535, inclusive",
                     'spec.containers[0].ports[4].hostPort: Duplicate value: "TCP//8443"')

    # --- volumes and mounts -------------------------------------------------------------

    def test_volumes_have_a_label_name_once_and_exactly_one_source(self):
        def volumes(spec):
            spec["volumes"] += [
                {"name": "weft-data", "emptyDir": {}},
                {"name": "Config", "configMap": {"name": "settings"}},
                {"name": "nothing"},
                {"name": "two", "emptyDir": {}, "secret": {"secretName": "s"}}]
        self.refused("pods", self.broken(volumes),
                     'spec.volumes[2].name: Duplicate value: "weft-data"',
                     f'spec.volumes[3].name: Invalid value: "Config": {LABEL_RULE}',
                     "spec.volumes[4]: Required value: must specify a volume type",
                     "spec.volumes[5].secret: Forbidden: may not specify more than 1 volume "
                     "type")

    def test_projected_service_account_tokens_and_empty_dir_limits(self):
        def token(spec):
            projection = spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
            projection["expirationSeconds"] = 300
            del projection["path"]
            spec["volumes"][1]["emptyDir"]["sizeLimit"] = "-16Mi"
        # Go reports the missing path on the projected source, not on the token.
        self.refused("pods", self.broken(token),
                     "spec.volumes[0].projected.sources[0].serviceAccountToken."
                     "expirationSeconds: Invalid value: 300: may not specify a duration less "
                     "than 10 minutes",
                     "spec.volumes[0].projected.path: Required value",
                     "spec.volumes[1].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a "
                     "valid resource quantity",
                     'spec.initContainers[1].volumeMounts[0].name: Not found: "weft-token"',
                     'spec.initContainers[1].volumeMounts[1].name: Not found: "weft-data"')

        def unparsable(spec):
            spec["volumes"][1]["emptyDir"]["sizeLimit"] = "lots"
        error = self.refused("pods", self.broken(unparsable), code=400)
        self.assertEqual(error.message, f'Pod in version "v1" cannot be handled as a Pod: '
                                        f'{QUANTITY_RULE}')

    def test_volume_mounts_name_a_volume_and_a_path_once(self):
        def mounts(spec):
            spec["containers"][0]["volumeMounts"] = [
                {"name": "cache", "mountPath": "/cache"},
                {"name": "weft-data", "mountPath": "/cache", "subPath": "../up"},
                {"name": "weft-data", "mountPath": ""}]
        self.refused("pods", self.broken(mounts),
                     'spec.containers[0].volumeMounts[0].name: Not found: "cache"',
                     'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/cache": '
                     "must be unique",
                     'spec.containers[0].volumeMounts.subPath: Invalid value: "../up": must not '
                     "contain '..'",
                     "spec.containers[0].volumeMounts[2].mountPath: Required value")

    # --- env ----------------------------------------------------------------------------

    def test_env_names_and_value_sources(self):
        def env(spec):
            spec["containers"][0]["env"] = [
                {"name": "A=B", "value": "x"},
                {"name": "EMPTY", "valueFrom": {}},
                {"name": "BOTH", "value": "x",
                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "TWO", "valueFrom": {
                    "fieldRef": {"fieldPath": "metadata.name"},
                    "secretKeyRef": {"name": "token", "key": "value"}}},
                {"name": "LABELS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}},
                {"name": "PHASE", "valueFrom": {"fieldRef": {"fieldPath": "status.phasee"}}},
                {"name": "BADKEY", "valueFrom": {"fieldRef": {
                    "fieldPath": "metadata.annotations['bad key']"}}},
                {"name": "GPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}},
                {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "Token", "key": ""}}}]
        self.refused(
            "pods", self.broken(env),
            'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable '
            "name must consist only of printable ASCII characters other than '='",
            'spec.containers[0].env[1].valueFrom: Invalid value: "": must specify one of: '
            "`fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            'spec.containers[0].env[2].valueFrom: Invalid value: "": may not be specified when '
            "`value` is not empty",
            'spec.containers[0].env[3].valueFrom: Invalid value: "": may not have more than one '
            "field specified at a time",
            'spec.containers[0].env[4].valueFrom.fieldRef.fieldPath: Unsupported value: '
            '"metadata.labels": supported values: "metadata.name", "metadata.namespace", '
            '"metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", '
            '"status.hostIPs", "status.podIP", "status.podIPs"',
            'spec.containers[0].env[5].valueFrom.fieldRef.fieldPath: Invalid value: '
            '"status.phasee": error converting fieldPath: field label not supported: '
            "status.phasee",
            'spec.containers[0].env[6].valueFrom.fieldRef: Invalid value: "bad key": name part '
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
            "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            'spec.containers[0].env[7].valueFrom.resourceFieldRef.resource: Unsupported value: '
            '"limits.gpu": supported values: "limits.cpu", "limits.ephemeral-storage", '
            '"limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"',
            'spec.containers[0].env[8].valueFrom.secretKeyRef.name: Invalid value: "Token": a '
            "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. "
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "spec.containers[0].env[8].valueFrom.secretKeyRef.key: Required value")

    # --- resources and security ---------------------------------------------------------

    def test_resources_parse_and_requests_stay_within_limits(self):
        def resources(spec):
            spec["initContainers"][1]["resources"] = {
                "requests": {"cpu": "2", "memory": "64Mi"}, "limits": {"cpu": "1500m"}}
            spec["containers"][0]["resources"] = {
                "requests": {"gpu": "1", "example.com/gpu": "1", "memory": "-1"}}
        # Go walks the resource maps in random order.
        self.refused(
            "pods", self.broken(resources),
            'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a '
            "standard resource type or fully qualified",
            'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a '
            "standard resource for containers",
            "spec.containers[0].resources.limits: Required value: Limit must be set for non "
            "overcommitable resources",
            'spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be '
            "greater than or equal to 0",
            'spec.initContainers[1].resources.requests: Invalid value: "2": must be less than '
            "or equal to cpu limit of 1500m", any_order=True)

        def unparsable(spec):
            spec["containers"][0]["resources"] = {"limits": {"cpu": "one"}}
        error = self.refused("pods", self.broken(unparsable), code=400)
        self.assertEqual(error.message, f'Pod in version "v1" cannot be handled as a Pod: '
                                        f'{QUANTITY_RULE}')

    def test_security_contexts(self):
        def security(spec):
            context = spec["initContainers"][1]["securityContext"]
            context["runAsUser"] = -1
            context["procMount"] = "Masked"
            context["seccompProfile"] = {"type": "Localhost"}
        self.refused("pods", self.broken(security),
                     "spec.initContainers[1].securityContext.runAsUser: Invalid value: -1: must "
                     "be between 0 and 2147483647, inclusive",
                     'spec.initContainers[1].securityContext.procMount: Unsupported value: '
                     '"Masked": supported values: "Default", "Unmasked"',
                     "spec.initContainers[1].securityContext.seccompProfile.localhostProfile: "
                     "Required value: must be set when seccomp type is Localhost")

        def capability_number(spec):
            spec["initContainers"][0]["securityContext"]["capabilities"]["add"] = [12]
        error = self.refused("pods", self.broken(capability_number), code=400)
        self.assertEqual(error.message, 'Pod in version "v1" cannot be handled as a Pod: json: '
                                        "cannot unmarshal number into Go struct field "
                                        "Capabilities.spec.initContainers.securityContext."
                                        "capabilities.add of type v1.Capability")

    def test_wrong_json_types_in_probes_are_decoding_errors(self):
        def typed(spec):
            spec["initContainers"][1]["readinessProbe"]["periodSeconds"] = "5"
        error = self.refused("pods", self.broken(typed), code=400)
        self.assertEqual(error.message, 'Pod in version "v1" cannot be handled as a Pod: json: '
                                        "cannot unmarshal string into Go struct field "
                                        "Probe.spec.initContainers.readinessProbe.periodSeconds "
                                        "of type int32")

    def test_the_message_lists_a_repeated_error_once(self):
        # field.ErrorList.ToAggregate drops repeated texts from the message; the causes keep
        # them all.
        def sources(spec):
            spec["containers"][0]["envFrom"] = [{"prefix": "A_"}, {"prefix": "B_"}]
        repeated = ('spec.containers[0].envFrom: Invalid value: "": must specify one of: '
                    "`configMapRef` or `secretRef`")
        error = self.refused("pods", self.broken(sources), repeated, repeated)
        self.assertEqual(error.message, f'Pod "broken" is invalid: {repeated}')

    # --- annotations --------------------------------------------------------------------

    def test_annotations_keys_and_total_size_in_bytes(self):
        # 100 000 three-byte characters: under 256 Ki characters, over 256 KiB.
        big = pod("big", annotations={"weft.dev/bootstrap": "\u20ac" * 100000})
        self.refused("pods", big, "metadata.annotations: Too long: may not be more than "
                                  "262144 bytes")
        bad = pod("keys", annotations={"weft.dev/bad key": "x"})
        self.refused("pods", bad,
                     'metadata.annotations: Invalid value: "weft.dev/bad key": name part must '
                     "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                     "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                     "'123-abc', regex used for validation is "
                     "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")

    def test_pod_annotations_that_name_containers_or_profiles(self):
        # The AppArmor annotations are checked in the map's (random) order.
        annotations = {
            "container.apparmor.security.beta.kubernetes.io/weft-sidecar": "runtime/default",
            "container.apparmor.security.beta.kubernetes.io/weft-proxy": "strict",
            "controller.kubernetes.io/pod-deletion-cost": "+10"}
        self.refused("pods", pod("annotated", annotations=annotations),
                     "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid "
                     'value: "+10": must be a 32bit integer',
                     "metadata.annotations[container.apparmor.security.beta.kubernetes.io/"
                     'weft-proxy]: Invalid value: "strict": invalid AppArmor profile name: '
                     '"strict"',
                     "metadata.annotations[container.apparmor.security.beta.kubernetes.io/"
                     'weft-sidecar]: Invalid value: "weft-sidecar": container not found',
                     any_order=True)

    # --- updates ------------------------------------------------------------------------

    def test_updates_keep_the_containers(self):
        stored = self.server.create("pods", pod("running"))
        stored["spec"]["initContainers"].pop(0)
        with self.assertRaises(ApiError) as caught:
            self.server.update("pods", stored)
        self.assertEqual(caught.exception.message,
                         'Pod "running" is invalid: spec.initContainers: Forbidden: pod updates '
                         "may not add or remove containers")

    # --- workloads ----------------------------------------------------------------------

    def test_workload_templates_are_validated_as_pods(self):
        self.server.create("deployments", deployment("reviews"))

        def sidecar_restarts(spec):
            spec["initContainers"][1]["restartPolicy"] = "OnFailure"
            spec["restartPolicy"] = "Never"
        spec = injected_spec()
        sidecar_restarts(spec)
        error = self.refused(
            "deployments", deployment("broken", spec),
            'spec.template.spec.initContainers[1].restartPolicy: Unsupported value: '
            '"OnFailure": supported values: "Always"',
            "spec.template.spec.initContainers[1].readinessProbe: Forbidden: may not be set "
            "for init containers without restartPolicy=Always",
            "spec.template.spec.initContainers[1].startupProbe: Forbidden: may not be set for "
            "init containers without restartPolicy=Always",
            'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
            '"Always"')
        self.assertTrue(error.message.startswith('Deployment.apps "broken" is invalid: ['))
        self.assertEqual(error.details["group"], "apps")

        broken = deployment("broken", injected_spec())
        broken["spec"]["template"]["spec"]["containers"].append(proxy(False))
        self.refused("replicasets", dict(broken, apiVersion="apps/v1", kind="ReplicaSet"),
                     'spec.template.spec.initContainers[1].name: Duplicate value: "weft-proxy"')
        broken["spec"].pop("replicas")
        self.refused("daemonsets", dict(broken, apiVersion="apps/v1", kind="DaemonSet"),
                     'spec.template.spec.initContainers[1].name: Duplicate value: "weft-proxy"')

    def test_selectors_must_match_and_stay(self):
        mismatched = deployment("mismatched")
        mismatched["spec"]["template"]["metadata"]["labels"] = {"app": "ratings"}
        self.refused("deployments", mismatched,
                     "spec.template.metadata.labels: Invalid value: "
                     'map[string]string{"app":"ratings"}: `selector` does not match template '
                     "`labels`")
        empty = deployment("empty")
        empty["spec"]["selector"] = {"matchLabels": {}}
        self.refused("deployments", empty,
                     "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:"
                     "map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
                     "empty selector is invalid for deployment")
        stored = self.server.create("deployments", deployment("stays"))
        stored["spec"]["selector"]["matchLabels"]["version"] = "v2"
        stored["spec"]["template"]["metadata"]["labels"]["version"] = "v2"
        with self.assertRaises(ApiError) as caught:
            self.server.update("deployments", stored)
        self.assertEqual(caught.exception.message,
                         'Deployment.apps "stays" is invalid: spec.selector: Invalid value: '
                         'v1.LabelSelector{MatchLabels:map[string]string{"app":"reviews", '
                         '"version":"v2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: '
                         "field is immutable")

    def test_jobs_generate_their_selector_and_refuse_always(self):
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "migrate", "namespace": "default"},
               "spec": {"template": {"spec": dict(injected_spec(), restartPolicy="Never")}}}
        stored = self.server.create("jobs", job)
        uid = stored["metadata"]["uid"]
        self.assertEqual(stored["spec"]["selector"],
                         {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        self.assertEqual(stored["spec"]["template"]["metadata"]["labels"], {
            "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "migrate",
            "controller-uid": uid, "job-name": "migrate"})
        self.assertEqual((stored["spec"]["completions"], stored["spec"]["backoffLimit"],
                          stored["spec"]["podReplacementPolicy"]), (1, 6, "TerminatingOrFailed"))
        # SetDefaults_Job gives the Job its template's labels, as read back from a real server.
        self.assertEqual(stored["metadata"]["labels"],
                         stored["spec"]["template"]["metadata"]["labels"])
        always = copy.deepcopy(job)
        always["metadata"]["name"] = "forever"
        del always["spec"]["template"]["spec"]["restartPolicy"]
        self.refused("jobs", always, 'spec.template.spec.restartPolicy: Required value: valid '
                                     'values: "OnFailure", "Never"')
        stored["spec"]["template"]["spec"]["containers"][0]["image"] = "example/reviews:2.0"
        with self.assertRaises(ApiError) as caught:
            self.server.update("jobs", stored)
        self.assertIn("spec.template: Invalid value: core.PodTemplateSpec{...}: field is "
                      "immutable", caught.exception.message)

    def test_cron_jobs_parse_their_schedule(self):
        cron = {"apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": "nightly", "namespace": "default"},
                "spec": {"schedule": "0 3 * * MON-FRI", "jobTemplate": {"spec": {"template": {
                    "spec": dict(injected_spec(), restartPolicy="OnFailure")}}}}}
        self.server.create("cronjobs", cron)
        for schedule, reason in (
                ("0 3 * *", "expected exactly 5 fields, found 4: [0 3 * *]"),
                ("0 24 * * *", "end of range (24) above maximum (23): 24"),
                ("*/0 * * * *", "step of range should be a positive number: */0"),
                ("0 3 * * FUNDAY", "failed to parse int from FUNDAY: strconv.Atoi: parsing "
                                   '"FUNDAY": invalid syntax'),
                ("@fortnightly", "unrecognized descriptor: @fortnightly")):
            bad = copy.deepcopy(cron)
            bad["metadata"]["name"] = "bad"
            bad["spec"]["schedule"] = schedule
            self.refused("cronjobs", bad, f'spec.schedule: Invalid value: "{schedule}": {reason}')

    def test_stateful_set_templates_are_not_validated_in_1_32(self):
        # kube-apiserver checks a StatefulSet's template only for labels, annotations and
        # restartPolicy until 1.34: a duplicate container name passes (its pods then fail).
        spec = injected_spec()
        spec["containers"].append(proxy(False))
        stateful = deployment("db", spec, kind="StatefulSet")
        self.server.create("statefulsets", stateful)
        never = deployment("never", injected_spec(), kind="StatefulSet")
        never["spec"]["template"]["spec"]["restartPolicy"] = "Never"
        self.refused("statefulsets", never, 'spec.template.spec.restartPolicy: Unsupported '
                                            'value: "Never": supported values: "Always"')
        dotted = deployment("db.primary", injected_spec(), kind="StatefulSet")
        self.refused("statefulsets", dotted,
                     f'metadata.name: Invalid value: "db.primary": {LABEL_RULE}')


class QuantityTest(unittest.TestCase):
    """resource.Quantity as the API server parses and prints it."""

    def test_canonical_forms(self):
        for text, canonical in (("2000m", "2"), ("0.5", "500m"), ("1024Mi", "1Gi"),
                                ("1536Mi", "1536Mi"), ("1.5Gi", "1536Mi"), ("1e3", "1e3"),
                                ("100m", "100m"), ("0.0000000001", "1n"), ("-1", "-1")):
            self.assertEqual(str(kube_pod_validation.parse_quantity(text)), canonical, text)

    def test_errors(self):
        for text, message in (("abc", QUANTITY_RULE), ("1.2.3", QUANTITY_RULE),
                              ("5i", "unable to parse quantity's suffix"),
                              ("1Ki5", "unable to parse quantity's suffix")):
            with self.assertRaises(kube_pod_validation.QuantityError) as caught:
                kube_pod_validation.parse_quantity(text)
            self.assertEqual(str(caught.exception), message, text)

    def test_selectors_print_as_kubectl_prints_them(self):
        selector = {"matchLabels": {"app": "reviews"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "canary", "operator": "DoesNotExist"}]}
        self.assertEqual(kube_workload_validation.format_selector(selector),
                         "app=reviews,!canary,tier in (api,web)")


class KubectlPodValidationTest(IntegrationTest):
    """What a user sees: kubectl against the server over HTTPS."""

    def setUp(self):
        super().setUp()
        require_tool("kubectl")
        if mesh_certs is None:
            self.skipTest("needs python3-cryptography")
        authority = mesh_certs.Authority("kube-api-server test root")
        self.root = os.path.join(self.tempdir, "root.pem")
        with open(self.root, "w") as f:
            f.write(authority.cert_pem())
        cert, key = mesh_certs.write_pair(self.tempdir, "kube-api-server",
                                          authority.issue([], ip_addresses=["127.0.0.1"]))
        self.server = KubeApiServer(cert, key, token=ADMIN_TOKEN).start()
        self.addCleanup(self.server.stop)

    def kubectl(self, *args, ok=True):
        # HOME in the test's directory: kubectl's discovery cache must not outlive the server.
        env = dict(os.environ, HOME=self.tempdir)
        env.pop("KUBECONFIG", None)
        result = subprocess.run(["kubectl", "--server", f"https://127.0.0.1:{self.server.port}",
                                 "--certificate-authority", self.root, "--token", ADMIN_TOKEN,
                                 *args], capture_output=True, text=True, timeout=60, env=env,
                                stdin=subprocess.DEVNULL)
        if ok:
            self.assertEqual(result.returncode, 0, f"kubectl {' '.join(args)}:\n{result.stderr}")
            return result.stdout
        self.assertNotEqual(result.returncode, 0, f"kubectl {' '.join(args)} succeeded")
        return result.stderr

    def manifest(self, name, *objects):
        return self.write(name, json.dumps({"apiVersion": "v1", "kind": "List",
                                            "items": list(objects)}))

    def test_kubectl_applies_injected_workloads(self):
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "migrate", "namespace": "default"},
               "spec": {"template": {"spec": dict(injected_spec(), restartPolicy="Never")}}}
        cron = {"apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": "nightly", "namespace": "default"},
                "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                    "spec": dict(injected_spec(), restartPolicy="OnFailure")}}}}}
        path = self.manifest("injected.json", pod("native"),
                             pod("classic", injected_spec(native=False)),
                             deployment("reviews"), deployment("nodes", kind="DaemonSet"),
                             deployment("db", kind="StatefulSet"), job, cron)
        applied = self.kubectl("apply", "-f", path)
        for line in ("pod/native created", "pod/classic created",
                     "deployment.apps/reviews created", "daemonset.apps/nodes created",
                     "statefulset.apps/db created", "job.batch/migrate created",
                     "cronjob.batch/nightly created"):
            self.assertIn(line, applied)
        # Applied again unchanged (the manifest's quantities are already canonical).
        self.assertEqual(self.kubectl("apply", "-f", path).count("unchanged"), 7)
        self.assertRegex(self.kubectl("get", "deploy", "reviews", "-o", "wide"),
                         r"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+"
                         r"SELECTOR\nreviews\s+0/2\s+0\s+0\s+\S+\s+reviews\s+example/reviews:1.0"
                         r"\s+app=reviews\n")
        self.assertRegex(self.kubectl("get", "jobs"),
                         r"NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nmigrate\s+Running\s+0/1"
                         r"\s+\S+\n")
        self.assertRegex(self.kubectl("get", "cronjobs"),
                         r"NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\n"
                         r"nightly\s+0 3 \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\S+\n")
        self.assertRegex(self.kubectl("get", "ds", "-o", "wide"),
                         r"NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+"
                         r"NODE SELECTOR\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n"
                         r"nodes\s+0\s+0\s+0\s+0\s+0\s+<none>\s+\S+\s+reviews\s+"
                         r"example/reviews:1.0\s+app=reviews\n")
        self.assertRegex(self.kubectl("get", "sts", "-o", "wide"),
                         r"NAME\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\n"
                         r"db\s+0/2\s+\S+\s+reviews\s+example/reviews:1.0\n")
        init = json.loads(self.kubectl("get", "pod", "native", "-o",
                                       "jsonpath={.spec.initContainers[1]}"))
        self.assertEqual((init["name"], init["restartPolicy"]), ("weft-proxy", "Always"))

    def test_kubectl_shows_the_invalid_field(self):
        duplicate = pod("duplicate", injected_spec(native=False))
        duplicate["spec"]["containers"].append(proxy(False))
        stderr = self.kubectl("apply", "-f", self.manifest("duplicate.json", duplicate),
                              ok=False)
        self.assertIn('The Pod "duplicate" is invalid: spec.containers[2].name: Duplicate '
                      'value: "weft-proxy"', stderr)

        spec = injected_spec()
        spec["initContainers"][1]["restartPolicy"] = "OnFailure"
        spec["initContainers"][1].pop("readinessProbe")
        spec["initContainers"][1].pop("startupProbe")
        stderr = self.kubectl("create", "-f", self.manifest("sidecar.json",
                                                            deployment("reviews", spec)),
                              ok=False)
        self.assertIn('The Deployment "reviews" is invalid: spec.template.spec.initContainers'
                      '[1].restartPolicy: Unsupported value: "OnFailure": supported values: '
                      '"Always"', stderr)

        probes = pod("probes")
        probes["spec"]["initContainers"][0]["livenessProbe"] = {"tcpSocket": {"port": 15021}}
        probes["spec"]["containers"][0]["livenessProbe"]["successThreshold"] = 3
        stderr = self.kubectl("apply", "-f", self.manifest("probes.json", probes), ok=False)
        self.assertIn('The Pod "probes" is invalid: \n'
                      "* spec.containers[0].livenessProbe.successThreshold: Invalid value: 3: "
                      "must be 1\n"
                      "* spec.initContainers[0].livenessProbe: Forbidden: may not be set for "
                      "init containers without restartPolicy=Always\n", stderr)

        quantity = pod("quantity")
        quantity["spec"]["volumes"][1]["emptyDir"]["sizeLimit"] = "16 MB"
        stderr = self.kubectl("apply", "-f", self.manifest("quantity.json", quantity), ok=False)
        self.assertIn(f'Pod in version "v1" cannot be handled as a Pod: {QUANTITY_RULE}',
                      stderr)
        self.kubectl("get", "pod", "duplicate", ok=False)


if __name__ == "__main__":
    main()
