#!/usr/bin/env python3
"""A Kubernetes API server for tests, answering the way kube-apiserver 1.32 does on the wire,
in one stdlib-only Python file: namespaces, secrets, pods, services, EndpointSlices, Leases,
CustomResourceDefinitions and the custom resources they define, TokenReview, with list, watch,
pagination, patches, discovery and OpenAPI, over HTTPS.

No real API server can be installed where the tests run, so this one stands in for it. What it
serves is checked against the real kubectl by tests/integration/kube_api_server_test.py and
tests/integration/kube_api_resources_test.py.

Use it as a module (tests written in Python)::

    server = KubeApiServer("server.pem", "server-key.pem", token="admin-token",
                           crds=["deploy/k8s/crds"], bookmark_interval=0.2).start()
    server.add_review_token("sa-token", "system:serviceaccount:default:reviews",
                            audiences=["weft"])
    server.create("pods", {...}); server.update_status("trafficroutes", {...})
    ... server.url, server.port, server.get("svc", "default", "name"), server.request_log ...
    server.stop()

or as a program, which writes its port to --port-file once it listens and runs until SIGTERM::

    python3 kube_api_server.py --port 0 --cert C --key K --token T \\
        [--review-token TOKEN=USERNAME[:aud1,aud2]]... [--crd-file PATH]... \\
        [--bookmark-interval SECONDS] [--no-kubernetes-service] --port-file F

What it serves
--------------
- Discovery: /version, /api, /api/v1, /apis, /apis/<group>[/<version>] for every group
  served (CRD groups included, with kind, singular, short names, categories, verbs and the
  /status subresources), and / (the path list). Aggregated discovery is not served: a client
  that asks for it also names plain application/json, which is what it gets, and client-go
  falls back to the legacy documents, as against an old server.
- OpenAPI: /openapi/v3 (index, with the hash of each document) and one document per
  group-version, listing every operation served with its fieldValidation parameter (which is
  how kubectl learns that the server validates fields: it then sends fieldValidation=Strict)
  and a schema per kind; for a CRD, its openAPIV3Schema, so `kubectl explain` works. PATCH
  lists JSON and merge patches only, so that kubectl builds strategic merge patches of
  built-in kinds from its own Go types. /openapi/v2 (protobuf for kubectl, JSON otherwise) is
  a valid document without paths or definitions: kubectl's client-side schema check, its
  fallback for kinds without a PATCH such as TokenReview, finds nothing and passes.
- core/v1 namespaces (cluster-scoped) and secrets, pods, services, configmaps (namespaced);
  discovery.k8s.io/v1 endpointslices; coordination.k8s.io/v1 leases; apps/v1 deployments,
  replicasets, daemonsets, statefulsets; batch/v1 jobs, cronjobs;
  admissionregistration.k8s.io/v1 mutatingwebhookconfigurations (cluster-scoped);
  apiextensions.k8s.io/v1 customresourcedefinitions; and the resources each CRD defines, in
  every served version. Verbs: get, list, watch, create, update (PUT), patch (JSON patch,
  merge patch, and strategic merge patch for built-in kinds, with their merge keys), delete
  (preconditions) and deletecollection (not for namespaces); lists across namespaces at
  /api/v1/pods and the like. Table (the kind's printer columns: kubectl's for built-in
  kinds, additionalPrinterColumns for custom resources) and PartialObjectMetadata output when
  the Accept header asks for them. pods, services, CRDs and custom resources whose CRD says so
  have a status subresource.
- tokenreviews and selfsubjectreviews (authentication.k8s.io/v1, create only).
- A real cluster's default/kubernetes Service (10.96.0.1:443) and its EndpointSlice, which
  names this server (turn off with kubernetes_service=False / --no-kubernetes-service).
- Errors are Status objects with the reason, code, message and details kube-apiserver uses
  (qualified by group: `leases.coordination.k8s.io "x" not found`,
  `TrafficRoute.weft.dev "x" is invalid: spec.hosts: Required value`): NotFound,
  AlreadyExists, Conflict, Invalid (422, with causes), BadRequest (malformed JSON, values of
  the wrong type, names not matching the URL, strict field validation), Expired (410),
  Timeout (504, a resourceVersion from the future), MethodNotAllowed, NotAcceptable,
  UnsupportedMediaType, RequestEntityTooLarge (bodies over 3 MiB), Unauthorized.

Objects
-------
Objects get uid, resourceVersion (one global counter, as a string) and creationTimestamp
(RFC 3339, UTC); JSON answers list fields in the Go structs' order (custom resources, which
are unstructured, in sorted order). A body is decoded as into the kind's Go type: a value of
the wrong JSON type is a 400 naming the Go field, unknown fields are dropped and reported as
fieldValidation asks (Strict: 400 "strict decoding error", Warn: a Warning header), then the
kind's defaults apply (a pod's restartPolicy, a port's protocol, ...). Per kind:

- secrets: stringData is merged into data, base64-encoded; per-type keys, size, immutable.
- namespaces: labelled with their name. Deleting one deletes it and every object in it at
  once (a real one goes through Terminating first). An object created in a namespace that
  does not exist brings it into being (a real server would answer 404).
- pods: defaulted and validated as kube-apiserver 1.32 does (kube_pod_validation.py, which
  lists the rules: containers, init containers and native sidecars, probes, ports, volumes,
  mounts, env, resources, security contexts, pod annotations), with its field paths and
  messages; quantities parse on decoding and are stored canonically; spec immutable but for
  images and the like. Of admission, only the ServiceAccount plugin's defaulting of
  serviceAccountName to "default" on create is reproduced. The status given on create is
  kept (tests stand in for the kubelet, which a real server leaves it to); podIP and
  podIPs[0] are kept in step. pods/status changes the status only, a PUT or patch of the
  pod cannot. Field selectors: metadata.name, metadata.namespace, spec.nodeName,
  spec.restartPolicy, spec.schedulerName, spec.serviceAccountName, spec.hostNetwork,
  status.phase, status.podIP, status.nominatedNodeName. Deleting a running pod on a node is
  graceful (a MODIFIED event with deletionTimestamp), and then, as if the kubelet had
  confirmed at once, DELETED.
- services: a cluster IP from 10.96.0.0/12 (random, or the one asked for if it is free),
  node ports for NodePort and LoadBalancer, ipFamilies; ports required unless ExternalName or
  headless; the cluster IP cannot change; a status reset on create.
- endpointslices: addressType, addresses valid for it, at most 1000 endpoints and 100
  addresses each, ports (name and protocol defaulted); metadata.generation moves when anything
  but metadata, or the labels, change.
- leases: acquireTime and renewTime are MicroTime (exactly six fractional digits in, UTC out),
  leaseDurationSeconds > 0.
- configmaps: data and binaryData (base64) keys valid and not in both, at most 1 MiB,
  immutable.
- deployments: apps/v1 defaults (replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10,
  progressDeadlineSeconds 600, the template's pod defaults); a selector that matches the
  template's labels and cannot change, the pod template validated as a pod's, restartPolicy
  Always, the strategy. No controller: no ReplicaSets or pods are made, and the status is
  what tests write (update_status).
- replicasets, daemonsets, statefulsets, jobs, cronjobs: their v1 defaults and validation
  (kube_workload_validation.py): selectors, the pod template as a pod's (a StatefulSet's only
  labels and annotations, as in 1.32), restart policies (Always, or OnFailure/Never for
  Jobs), strategies, cron schedules; a Job's selector and template labels generated from its
  uid on create; kubectl's columns (-o wide too). No controller makes anything of them.
- mutatingwebhookconfigurations: the v1 defaults (failurePolicy Fail, matchPolicy
  Equivalent, timeoutSeconds 10, reinvocationPolicy Never, service port 443, rule scope *)
  and checks (names of three segments and unique, url or service, path, port, operations,
  sideEffects None or NoneOnDryRun, admissionReviewVersions, timeout 1-30, selectors);
  caBundle is base64. Stored only: no webhook is ever called.
- customresourcedefinitions: names, group, scope, versions and schemas checked lightly;
  status set at once (NamesAccepted and Established True, acceptedNames, storedVersions); its
  resources are served from then on, and deleting it deletes their objects.
- custom resources: pruned to the structural schema (x-kubernetes-preserve-unknown-fields
  keeps), defaulted, nulls of non-nullable fields dropped, then validated as apiextensions
  does with kube-openapi (type, x-kubernetes-int-or-string, nullable, required, properties,
  additionalProperties, items, enum, pattern, minLength/maxLength, minimum/maximum (and
  exclusive), multipleOf, minItems/maxItems, uniqueItems, minProperties/maxProperties,
  oneOf/anyOf/allOf/not, formats date-time, date, byte, uuid, ipv4, ipv6, cidr, hostname,
  email, mac, duration) and x-kubernetes-list-type set and map (duplicates), with its error
  texts. With a status subresource, create drops the status and writes of the main resource
  keep the stored one. selectableFields are field selectors.
- metadata.generation, where the kind has it (custom resources, CRDs, EndpointSlices): 1 on
  create, +1 when the spec changes (not metadata, not a status behind a subresource).
- Optimistic concurrency for every kind: a PUT (or a patch naming a resourceVersion) whose
  resourceVersion is not the stored one is 409 Conflict ("... the object has been modified;
  please apply your changes to the latest version and try again"); a no-op write changes no
  resourceVersion and sends no event. Objects with finalizers are only marked on delete
  (deletionTimestamp) until an update removes the last one.

Lists and watches
-----------------
A list answers kind <Kind>List, the resource's apiVersion and metadata.resourceVersion; items
of built-in kinds carry no kind or apiVersion (kube-apiserver's JSON), those of custom
resources do. labelSelector, fieldSelector, limit and continue: the pages of one list come
from one snapshot (the state at the first page's resourceVersion), as from etcd.
resourceVersion with resourceVersionMatch=Exact lists the state at that version; a version
newer than the store's is 504 "Too large resource version". A watch starts from a
resourceVersion (its later events) or from none or "0" (synthetic ADDED events of the current
state first; sendInitialEvents=true does that too and ends them with the
k8s.io/initial-events-end BOOKMARK). With allowWatchBookmarks=true a watch gets a BOOKMARK
(the kind, with only metadata.resourceVersion) every bookmark interval (60 s by default, as
kube-apiserver's watch cache) and one when its timeoutSeconds ends it. The server keeps the
last MAX_EVENTS events: a watch, an Exact list or a continue token from before them is 410
Expired ("too old resource version", or the etcd3 store's words for lists; the continue case
carries a token that continues at the latest version, as kube-apiserver's does).

Module API
----------
For any resource, named as kubectl names it ("pods", "svc", "Lease",
"trafficroutes.weft.dev", "tr"): create(), update() (conditional on metadata.resourceVersion
when it has one), put() (create or replace), update_status(), patch() (merge patch by
default), get(), list(), delete(); objects go through the API's decoding, defaulting and
validation (ApiError, with the code, reason and message a client would get), get
resourceVersions and send watch events. install_crd() and load_crds() (YAML or JSON files,
or directories of them; a small YAML loader keeps the program stdlib-only) install CRDs.
secrets, put_secret(), get_secret() and secret_data() for secrets; resource_version.
Watches: compact() forgets every kept event (an etcd compaction); drop_watches() ends open
watches abruptly, closing the connection without the terminating chunk (a load balancer, an
apiserver restart), drop_watches(graceful=True) with it; watch_count() and wait_for_watches()
tell how many are open, per resource. Faults: fail_next() answers the next requests with a
Status of a given code (503 and 429 with Retry-After, which client-go retries), delay_next()
holds them. request_log and requests_to() show what was answered.

Authentication
--------------
Every path, including /version and /healthz, needs `Authorization: Bearer <admin token>`,
or (with client_ca) a client certificate that chains to it, whose subject CN is the user and
O the groups: the server behaves like kube-apiserver with --anonymous-auth=false,
--client-ca-file and no authorization beyond authentication. Anything else is 401
Unauthorized. Tokens registered for TokenReview
are service-account tokens for reviewing only; they do not authenticate API calls.

TokenReview audiences
---------------------
The rule is kube-apiserver's, with the API server's own audience DEFAULT_AUDIENCE
("https://kubernetes.default.svc.cluster.local") standing in for --api-audiences:

- The requested audiences are spec.audiences, or [DEFAULT_AUDIENCE] when it names none.
- A token's audiences are those it was registered with, or [DEFAULT_AUDIENCE] when it was
  registered with none (a legacy token, which kube-apiserver accepts for its own audiences).
- The review is authenticated iff the two intersect; status.audiences is the intersection
  (in the order of the request).

So a request naming no audiences accepts tokens registered with no audiences or with the
default one, and a request naming audiences accepts tokens registered for one of them.
An unknown token, or one whose audiences do not match, gives 201 with status
{"authenticated": false, "user": {}, "error": ...}; a review without spec.token is 400.

Wire details
------------
Request bodies are JSON, or Kubernetes protobuf for secrets, namespaces, TokenReview and
SelfSubjectReview (typed clients such as `kubectl create secret` send nothing else); answers
are always JSON, which those clients accept too. HTTP/1.1 with keep-alive over TLS 1.2 or
later, on 127.0.0.1 only. Requests that cannot be parsed, and plain HTTP on the TLS port, get
Go's net/http answers; a connection answered without its body being read is closed
lingeringly so that the answer arrives.

Limitations (documented so that tests do not lean on them)
----------------------------------------------------------
No YAML bodies (415) and no YAML or protobuf answers (406 when the client accepts nothing
else); protobuf bodies of pods, services, EndpointSlices, Leases, CRDs and workloads (typed
clients such as `kubectl run` and `kubectl create deployment` send them) are a 400. No
server-side apply (415), no managedFields, no RBAC, no admission but the ServiceAccount
plugin's serviceAccountName default (so no service-account token volumes, default tolerations
or priority), no controllers: nothing writes EndpointSlices for Services, schedules or runs
pods, or moves a namespace through Terminating. CRDs: CEL rules (x-kubernetes-validations) are
not evaluated; no conversion between versions (every served version shows the same fields under
its own apiVersion), no scale subresource, no x-kubernetes-embedded-resource, no validation
ratcheting, int32/int64 formats not range-checked, names not checked for conflicts, schemas not
checked for being structural. Pods have no metadata.generation (as before 1.33) and their
update rule does not print kube-apiserver's spec diff. Go-type mismatches inside fields decoded
loosely (affinity, tolerations, volume sources other than the common ones, ...) are not caught.
No warnings for pods (duplicate port names and the like). Watches of Tables are supported but
their bookmarks are not Tables. Schema validation visits an object's properties in sorted
order, where kube-openapi follows Go's random map order, so errors of several fields may be
listed in another order than a real server's.
"""
import argparse
import base64
import collections
import copy
import datetime
import decimal
import hashlib
import ipaddress
import json
import os
import random
import re
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from collections.abc import MutableMapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# Next to this file, stdlib-only too: what kube-apiserver checks in pod specs and workloads.
import kube_pod_validation
import kube_workload_validation

DEFAULT_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's limit for a JSON request body
MAX_SECRET_BYTES = 1024 * 1024  # core/v1 validation: the total size of a secret's data
MAX_EVENTS = 1000  # how many changes a watch can resume from (the "watch cache")
MAX_WATCH_SECONDS = 1800  # kube-apiserver's --min-request-timeout
BOOKMARK_INTERVAL = 60.0  # the watch cache sends a bookmark about once a minute
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")  # kubeadm's default --service-cluster-ip-range
NODE_PORTS = (30000, 32767)  # --service-node-port-range
ADMIN_USER = {"username": "kubernetes-admin",
              "groups": ["system:masters", "system:authenticated"]}
VERSION_INFO = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "0" * 40,
    "gitTreeState": "clean", "buildDate": "2025-04-22T16:00:00Z", "goVersion": "go1.23.8",
    "compiler": "gc", "platform": "linux/amd64"}
DEFAULT_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

# The status reasons kube-apiserver pairs with each code (metav1.StatusReason).
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
           413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
           429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
           504: "Timeout"}

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"


# --- errors ----------------------------------------------------------------------------------

class ApiError(Exception):
    """An error answered as a Status object (k8s.io/apimachinery/pkg/api/errors). The module
    API raises it too, so a test sees the code, reason and message a client would."""

    def __init__(self, code, message, reason=None, details=None, headers=(), metadata=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = REASONS.get(code, "") if reason is None else reason
        self.details = details
        self.headers = list(headers)
        self.metadata = metadata or {}

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": dict(self.metadata),
                "status": "Failure", "message": self.message}
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def bad_request(message):
    return ApiError(400, message)


def _group_resource(resource, group):
    """schema.GroupResource.String(): "pods", "leases.coordination.k8s.io"."""
    return f"{resource}.{group}" if group else resource


def _details(name, kind, group):
    """StatusDetails in its field order (name, group, kind); empty ones are omitted."""
    details = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found(resource, name, group=""):
    return ApiError(404, f'{_group_resource(resource, group)} "{name}" not found',
                    details=_details(name, resource, group))


def already_exists(resource, name, group=""):
    return ApiError(409, f'{_group_resource(resource, group)} "{name}" already exists',
                    reason="AlreadyExists", details=_details(name, resource, group))


def conflict(resource, name, why, group=""):
    return ApiError(409, f'Operation cannot be fulfilled on {_group_resource(resource, group)} '
                         f'"{name}": {why}', details=_details(name, resource, group))


STALE = ("the object has been modified; please apply your changes to the latest version and "
         "try again")


def method_not_allowed():
    return ApiError(405, "the server does not allow this method on the requested resource",
                    details={})


def unknown_path():
    return ApiError(404, "the server could not find the requested resource", details={})


def expired(message, continue_token=None):
    """410 Expired, as the etcd3 store answers a compacted revision (errors.NewResourceExpired,
    which carries no details)."""
    return ApiError(410, message, reason="Expired",
                    metadata={"continue": continue_token} if continue_token else None)


def too_large_resource_version(requested, current):
    """storage.NewTooLargeResourceVersionError: a 504 Timeout that client-go retries."""
    return ApiError(504, f"Timeout: Too large resource version: {requested}, current: {current}",
                    details={"causes": [{"reason": "ResourceVersionTooLarge",
                                         "message": "Too large resource version"}],
                             "retryAfterSeconds": 1})


# field.Error: the typed validation errors whose text kube-apiserver puts into a 422.
_CAUSE_REASONS = {
    "Invalid": "FieldValueInvalid", "TypeInvalid": "FieldValueTypeInvalid",
    "Required": "FieldValueRequired", "Forbidden": "FieldValueForbidden",
    "TooLong": "FieldValueTooLong", "TooMany": "FieldValueTooMany",
    "NotSupported": "FieldValueNotSupported", "Duplicate": "FieldValueDuplicate",
    "NotFound": "FieldValueNotFound"}
_ERROR_TYPES = {"Invalid": "Invalid value", "TypeInvalid": "Invalid value",
                "Required": "Required value", "Forbidden": "Forbidden",
                "TooLong": "Too long", "TooMany": "Too many",
                "NotSupported": "Unsupported value", "Duplicate": "Duplicate value",
                "NotFound": "Not found"}


class FieldError:
    """One field.Error. `value` is the bad value as decoded from JSON; the text is
    field.Error.ErrorBody's: the type, the value (not for Required, Forbidden and TooLong),
    then the detail."""

    def __init__(self, kind, field, value=None, detail=""):
        self.kind, self.field, self.value, self.detail = kind, field, value, detail

    def text(self):
        text = _ERROR_TYPES[self.kind]
        if self.kind not in ("Required", "Forbidden", "TooLong"):
            text += ": " + _go_value(self.value)
        return f"{text}: {self.detail}" if self.detail else text

    def cause(self):
        return {"reason": _CAUSE_REASONS[self.kind], "message": self.text(),
                "field": self.field}


def not_supported(field, value, allowed):
    return FieldError("NotSupported", field, value,
                      "supported values: " + ", ".join(json.dumps(v) for v in allowed))


def too_long(field, limit):
    unit = "byte" if limit == 1 else "bytes"
    return FieldError("TooLong", field, None, f"may not be more than {limit} {unit}")


def too_many(field, count, limit):
    unit = "item" if limit == 1 else "items"
    return FieldError("TooMany", field, count, f"must have at most {limit} {unit}")


def invalid(kind, name, errors, group=""):
    """422 Invalid. Its details name the Kind (not the resource, unlike NotFound)."""
    texts = list(dict.fromkeys(f"{e.field}: {e.text()}" if e.field else e.text()
                               for e in errors))
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    qualified = f"{kind}.{group}" if group else kind
    details = _details(name, kind, group)
    details["causes"] = [e.cause() for e in errors]
    return ApiError(422, f'{qualified} "{name}" is invalid: {summary}', details=details)


def _go_quote(value):
    """Go's %q for a string (JSON quoting is the same for printable text); %v otherwise."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _go_quote_list(values):
    return "[" + " ".join(_go_quote(v) for v in values) + "]"


def _go_float(value):
    """strconv.FormatFloat(v, 'g', -1, 64), which %v uses: the shortest digits, in exponent
    form when the exponent is below -4 or at least 6 ("1e+06")."""
    if value == 0:
        return "0"
    sign, digits, exponent = decimal.Decimal(repr(float(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    power = point - 1
    prefix = "-" if sign else ""
    if power < -4 or power >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def _go_value(value):
    """How field.Error prints a bad value: %v for numbers and booleans, %q for strings, %#v
    for the rest (unstructured maps and slices)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _go_sharp(value)


def _go_sharp(value):
    """%#v of a value of unstructured content (map[string]interface{}, []interface{}, ...)."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, dict):
        return "map[string]interface {}{" + ", ".join(
            f"{json.dumps(k, ensure_ascii=False)}:{_go_sharp(value[k])}"
            for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_sharp(v) for v in value) + "}"
    if isinstance(value, (list, tuple)):
        return "[]string{" + ", ".join(_go_sharp(v) for v in value) + "}"
    return _go_value(value)


# --- names, labels, keys (k8s.io/apimachinery/pkg/util/validation) --------------------------

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def _dns_subdomain_problems(value):
    problems = []
    if len(value) > 253:
        problems.append("must be no more than 253 characters")
    if not _DNS_SUBDOMAIN.fullmatch(value):
        problems.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. "
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return problems


def _dns_label_problems(value):
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not _DNS_LABEL.fullmatch(value):
        problems.append(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
            "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    return problems


def _dns1035_label_problems(value):
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", value):
        problems.append(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character (e.g. "
            "'my-name',  or 'abc-123', regex used for validation is "
            "'[a-z]([-a-z0-9]*[a-z0-9])?')")
    return problems


def _qualified_name_problems(value):
    prefix, slash, name = value.rpartition("/")
    problems = []
    if slash:
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems += ["prefix part " + p for p in _dns_subdomain_problems(prefix)]
    if not name:
        problems.append("name part must be non-empty")
    else:
        if len(name) > 63:
            problems.append("name part must be no more than 63 characters")
        if not _QUALIFIED_NAME.fullmatch(name):
            problems.append(
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
                "or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    return problems


def _label_value_problems(value):
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not _LABEL_VALUE.fullmatch(value):
        problems.append(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', "
            "'_' or '.', and must start and end with an alphanumeric character (e.g. "
            "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    return problems


def _config_key_problems(value):
    problems = []
    if len(value) > 253:
        problems.append("must be no more than 253 characters")
    if not _CONFIG_KEY.fullmatch(value):
        problems.append(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
            "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
            "'[-._a-zA-Z0-9]+')")
    if value == ".":
        problems.append("must not be '.'")
    elif value == "..":
        problems.append("must not be '..'")
    elif value.startswith(".."):
        problems.append("must not start with '..'")
    return problems




def _ip_problems(value, family=None):
    """validation.IsValidIP / IsValidIPv4Address / IsValidIPv6Address."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if family == 4:
        if address is None or address.version != 4:
            return ["must be a valid IPv4 address"]
    elif family == 6:
        if address is None or address.version != 6:
            return ["must be a valid IPv6 address"]
    elif address is None:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    return []


def _port_problems(value):
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        return ["must be between 1 and 65535, inclusive"]
    return []
# --- decoding request bodies ------------------------------------------------------------------

def _json_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class _Decoder:
    """Type checks a request body against a kind's Go types, with the apiserver's messages:
    a JSON value that does not fit the Go field is a 400, not a 422."""

    def __init__(self, kind, version="v1"):
        self.kind, self.version = kind, version

    def fail(self, text):
        return bad_request(f'{self.kind} in version "{self.version}" cannot be handled as a '
                           f'{self.kind}: {text}')

    def mismatch(self, path, value, go_type):
        return self.fail(f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                         f"{path} of type {go_type}")

    def string(self, value, path):
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.mismatch(path, value, "string")
        return value

    def boolean(self, value, path):
        if value is not None and not isinstance(value, bool):
            raise self.mismatch(path, value, "bool")
        return value

    def string_map(self, value, path, go_type="map[string]string"):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.mismatch(path, value, go_type)
        result = {}
        for key, item in value.items():
            if item is None:
                item = ""
            if not isinstance(item, str):
                raise self.mismatch(path, item, go_type.rpartition("]")[2])
            result[key] = item
        return result

    def string_list(self, value, path):
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.mismatch(path, value, "[]string")
        for item in value:
            if not isinstance(item, str):
                raise self.mismatch(path, item, "string")
        return list(value)

    def object(self, value, path, go_type):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.mismatch(path, value, go_type)
        return value

    def metadata(self, value):
        """The client-settable part of ObjectMeta; system fields are read for the checks that
        need them (resourceVersion, uid) and otherwise set by the server."""
        meta = self.object(value, f"{self.kind}.metadata", "v1.ObjectMeta")
        result = {}
        for field in ("name", "generateName", "namespace", "uid", "resourceVersion"):
            text = self.string(meta.get(field), f"{self.kind}.metadata.{field}")
            if text:
                result[field] = text
        for field in ("labels", "annotations"):
            mapping = self.string_map(meta.get(field), f"{self.kind}.metadata.{field}")
            if mapping:
                result[field] = mapping
        finalizers = self.string_list(meta.get("finalizers"), f"{self.kind}.metadata.finalizers")
        if finalizers:
            result["finalizers"] = finalizers
        owners = meta.get("ownerReferences")
        if owners is not None:
            if not isinstance(owners, list) or not all(isinstance(o, dict) for o in owners):
                raise self.mismatch(f"{self.kind}.metadata.ownerReferences", owners,
                                    "[]v1.OwnerReference")
            if owners:
                result["ownerReferences"] = copy.deepcopy(owners)
        return result

    def base64(self, value, path):
        """encoding/json decodes []byte with base64.StdEncoding, which skips CR and LF and
        wants padding."""
        text = self.string(value, path).replace("\r", "").replace("\n", "")
        for index, char in enumerate(text):
            if not (char.isascii() and (char.isalnum() or char in "+/=")):
                raise self.fail(f"illegal base64 data at input byte {index}")
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            # Misplaced padding, or a last group without it (Go names that group's start).
            position = text.find("=") if "=" in text else len(text) - len(text) % 4
            raise self.fail(f"illegal base64 data at input byte {position}") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_lone_surrogates(value):
    """Go's JSON decoder turns a lone UTF-16 surrogate escape ("\\ud800") into U+FFFD, where
    Python keeps a character that cannot be encoded. Iterative: nesting depth is the
    client's choice."""
    def fix(text):
        return _SURROGATE.sub("\ufffd", text)

    if isinstance(value, str):
        return fix(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, item in items:
                if isinstance(item, str):
                    item = fix(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
                node[fix(key)] = item
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = fix(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
    return value


def _unknown_fields(value, schema, prefix=""):
    """Paths of fields in `value` that `schema` (nested dicts; None = anything) lacks."""
    found = []
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return found
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in schema:
            found.append(path)
        elif schema[key] is not None:
            found += _unknown_fields(item, schema[key], path)
    return found


_META_SCHEMA = dict.fromkeys((
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields"))


def _field_validation(query):
    """fieldValidation: Strict fails on unknown fields, Warn (the default) warns, Ignore."""
    directive = (query.get("fieldValidation") or [""])[-1]
    if directive in ("", "Warn"):
        return "Warn"
    if directive in ("Strict", "Ignore"):
        return directive
    raise bad_request(f"fieldValidation parameter unsupported: {directive!r}; "
                      "valid values are Ignore, Warn, Strict")


def _check_unknown_fields(body, schema, query):
    """Returns Warning headers, or raises the strict decoding error."""
    return _report_unknown_fields(_unknown_fields(body, schema), query)


def _report_unknown_fields(unknown, query):
    """fieldValidation applied to the unknown fields a decoder found (and dropped)."""
    directive = _field_validation(query)
    if directive == "Ignore" or not unknown:
        return []
    if directive == "Strict":
        raise bad_request("strict decoding error: " +
                          ", ".join(f'unknown field "{path}"' for path in unknown))
    return ["299 - " + json.dumps(f'unknown field "{path}"') for path in unknown]


def _dry_run(query):
    values = query.get("dryRun") or []
    for value in values:
        if value != "All":
            raise bad_request(f'unsupported dry run value "{value}"; only "All" is supported')
    return bool(values)




# --- Go types of the built-in kinds -----------------------------------------------------------
# A request body is decoded the way encoding/json decodes it into the kind's Go struct: a value
# of the wrong JSON type is a 400 naming the Go struct field, an unknown field is dropped (and
# reported for fieldValidation), null leaves the zero value. The tables below name the fields
# kube-apiserver 1.32 knows, in Go field order (which is also the order of its JSON answers);
# "any" marks a subtree taken as it comes.

class GoStruct:
    def __init__(self, go, fields):
        self.go = go  # "v1.PodSpec"
        self.name = go.rpartition(".")[2]
        self.fields = fields


class GoList:
    def __init__(self, item):
        self.item = item

    @property
    def go(self):
        return "[]" + _go_type_name(self.item)


class GoMap:
    def __init__(self, value):
        self.value = value

    @property
    def go(self):
        return "map[string]" + _go_type_name(self.value)


_SCALAR_GO_TYPES = {"string": "string", "bool": "bool", "int32": "int32", "int64": "int64",
                    "float64": "float64", "time": "string", "microtime": "string",
                    "intstr": "int32", "quantity": "string", "any": "interface {}"}
_INT_RANGES = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                      r"(Z|[+-]\d{2}:\d{2})")


def _go_type_name(t):
    if isinstance(t, (GoStruct, GoList, GoMap)):
        return t.go
    return t if _named_string(t) else _SCALAR_GO_TYPES[t]


def _named_string(t):
    """A Go string type of its own ("v1.Capability"), which a decoding error names."""
    return isinstance(t, str) and t.startswith("v1.")


def _parse_rfc3339(text):
    """time.Parse(time.RFC3339, text) (fractional seconds allowed), or None."""
    match = _RFC3339.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8)
    try:
        tz = datetime.timezone.utc if zone == "Z" else datetime.timezone(
            datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) *
            (-1 if zone[0] == "-" else 1))
        moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=micro)


def _format_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _format_micro_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now_rfc3339_micro():
    return _format_micro_time(datetime.datetime.now(datetime.timezone.utc))


class _TypedDecoder:
    """Decodes a body into the JSON form of a Go struct (see GoStruct), collecting the paths
    of unknown fields as the strict decoder names them ("spec.containers[0].foo")."""

    def __init__(self, kind, version):
        self.kind, self.version = kind, version
        self.unknown = []

    def fail(self, text):
        return bad_request(f'{self.kind} in version "{self.version}" cannot be handled as a '
                           f'{self.kind}: {text}')

    def mismatch(self, struct, field, value, go, what=None):
        return self.fail(f"json: cannot unmarshal {what or _json_type(value)} into Go struct "
                         f"field {struct}.{field} of type {go}")

    def fields(self, body, struct, skip=("apiVersion", "kind", "metadata")):
        """The top-level fields of a body (a dict) other than those in `skip`."""
        out = {}
        for key, value in body.items():
            if key in skip:
                continue
            if key not in struct.fields:
                self.unknown.append(key)
                continue
            decoded = self.value(value, struct.fields[key], struct.name, key, key)
            if decoded is not None:
                out[key] = decoded
        return out

    def value(self, value, t, struct, field, path):
        if value is None:
            return None
        if isinstance(t, GoStruct):
            if not isinstance(value, dict):
                raise self.mismatch(struct, field, value, t.go)
            out = {}
            for key, item in value.items():
                if key not in t.fields:
                    self.unknown.append(f"{path}.{key}")
                    continue
                decoded = self.value(item, t.fields[key], t.name, f"{field}.{key}",
                                     f"{path}.{key}")
                if decoded is not None:
                    out[key] = decoded
            return out
        if isinstance(t, GoList):
            if not isinstance(value, list):
                raise self.mismatch(struct, field, value, t.go)
            out = []
            for index, item in enumerate(value):
                decoded = self.value(item, t.item, struct, field, f"{path}[{index}]")
                out.append(_zero(t.item) if decoded is None else decoded)
            return out
        if isinstance(t, GoMap):
            if not isinstance(value, dict):
                raise self.mismatch(struct, field, value, t.go)
            out = {}
            for key, item in value.items():
                decoded = self.value(item, t.value, struct, field, f"{path}.{key}")
                out[key] = _zero(t.value) if decoded is None else decoded
            return out
        return self.scalar(value, t, struct, field)

    def scalar(self, value, t, struct, field):
        if t == "any":
            return copy.deepcopy(value)
        if _named_string(t):
            if not isinstance(value, str):
                raise self.mismatch(struct, field, value, t)
            return value
        if t == "quantity":
            # resource.Quantity parses on decoding (a 400 when it cannot) and is stored, and
            # answered, in its canonical form ("2000m" is "2").
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = _go_float(value) if isinstance(value, float) else str(value)
            if not isinstance(value, str):
                raise self.mismatch(struct, field, value, "string")
            try:
                return str(kube_pod_validation.parse_quantity(value))
            except kube_pod_validation.QuantityError as error:
                raise self.fail(str(error)) from None
        if t == "string" or (t == "intstr" and isinstance(value, str)):
            if not isinstance(value, str):
                raise self.mismatch(struct, field, value, "string")
            return value
        if t == "bool":
            if not isinstance(value, bool):
                raise self.mismatch(struct, field, value, "bool")
            return value
        if t in ("int32", "int64", "intstr"):
            low, high = _INT_RANGES["int32" if t == "intstr" else t]
            go = "int32" if t == "intstr" else t
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.mismatch(struct, field, value, go)
            if isinstance(value, float) or not low <= value <= high:
                raise self.mismatch(struct, field, value, go, f"number {value}")
            return value
        if t == "float64":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.mismatch(struct, field, value, "float64")
            return value
        if t in ("time", "microtime"):
            if not isinstance(value, str):
                raise self.mismatch(struct, field, value, "string")
            return self.timestamp(value, micro=t == "microtime")
        raise AssertionError(t)

    def timestamp(self, text, micro):
        """metav1.Time takes RFC 3339 and keeps seconds; metav1.MicroTime wants exactly six
        fractional digits. Both answer in UTC."""
        layout = "2006-01-02T15:04:05.000000Z07:00" if micro else "2006-01-02T15:04:05Z07:00"
        moment = _parse_rfc3339(text)
        if moment is not None and micro:
            fraction = re.search(r"T\d{2}:\d{2}:\d{2}(\.\d*)?", text).group(1) or ""
            if len(fraction) != 7:
                rest = text[text.index("T") + 9:]
                raise self.fail(f'parsing time {json.dumps(text)} as "{layout}": cannot parse '
                                f'{json.dumps(rest)} as ".000000"')
        if moment is None:
            raise self.fail(f'parsing time {json.dumps(text)} as "{layout}": cannot parse '
                            f'{json.dumps(text)} as "2006"')
        return _format_micro_time(moment) if micro else _format_time(moment)


def _zero(t):
    if isinstance(t, GoStruct) or isinstance(t, GoMap):
        return {}
    if isinstance(t, GoList):
        return []
    if _named_string(t):
        return ""
    return {"string": "", "bool": False, "int32": 0, "int64": 0, "float64": 0,
            "quantity": "0", "intstr": 0}.get(t)


def _object_reference():
    return GoStruct("v1.ObjectReference", {
        "kind": "string", "namespace": "string", "name": "string", "uid": "string",
        "apiVersion": "string", "resourceVersion": "string", "fieldPath": "string"})


_CONTAINER_PORT = GoStruct("v1.ContainerPort", {
    "name": "string", "hostPort": "int32", "containerPort": "int32", "protocol": "string",
    "hostIP": "string"})
_RESOURCES = GoStruct("v1.ResourceRequirements", {
    "limits": GoMap("quantity"), "requests": GoMap("quantity"), "claims": "any"})
# The parts of a pod spec that kube_pod_validation checks are typed, so that a value of the
# wrong JSON type is the decoding error (400) it is on a real server rather than a surprise
# for the validator; the rest is taken as it comes ("any").
_EXEC_ACTION = GoStruct("v1.ExecAction", {"command": GoList("string")})
_HTTP_GET_ACTION = GoStruct("v1.HTTPGetAction", {
    "path": "string", "port": "intstr", "host": "string", "scheme": "v1.URIScheme",
    "httpHeaders": GoList(GoStruct("v1.HTTPHeader", {"name": "string", "value": "string"}))})
_TCP_SOCKET_ACTION = GoStruct("v1.TCPSocketAction", {"port": "intstr", "host": "string"})
_PROBE = GoStruct("v1.Probe", {
    "exec": _EXEC_ACTION, "httpGet": _HTTP_GET_ACTION, "tcpSocket": _TCP_SOCKET_ACTION,
    "grpc": GoStruct("v1.GRPCAction", {"port": "int32", "service": "string"}),
    "initialDelaySeconds": "int32", "timeoutSeconds": "int32", "periodSeconds": "int32",
    "successThreshold": "int32", "failureThreshold": "int32",
    "terminationGracePeriodSeconds": "int64"})
_LIFECYCLE_HANDLER = GoStruct("v1.LifecycleHandler", {
    "exec": _EXEC_ACTION, "httpGet": _HTTP_GET_ACTION, "tcpSocket": _TCP_SOCKET_ACTION,
    "sleep": GoStruct("v1.SleepAction", {"seconds": "int64"})})
_OBJECT_FIELD_SELECTOR = GoStruct("v1.ObjectFieldSelector", {
    "apiVersion": "string", "fieldPath": "string"})
_RESOURCE_FIELD_SELECTOR = GoStruct("v1.ResourceFieldSelector", {
    "containerName": "string", "resource": "string", "divisor": "quantity"})
_ENV_VAR = GoStruct("v1.EnvVar", {
    "name": "string", "value": "string", "valueFrom": GoStruct("v1.EnvVarSource", {
        "fieldRef": _OBJECT_FIELD_SELECTOR, "resourceFieldRef": _RESOURCE_FIELD_SELECTOR,
        "configMapKeyRef": GoStruct("v1.ConfigMapKeySelector", {
            "name": "string", "key": "string", "optional": "bool"}),
        "secretKeyRef": GoStruct("v1.SecretKeySelector", {
            "name": "string", "key": "string", "optional": "bool"})})})
_ENV_FROM_SOURCE = GoStruct("v1.EnvFromSource", {
    "prefix": "string",
    "configMapRef": GoStruct("v1.ConfigMapEnvSource", {"name": "string", "optional": "bool"}),
    "secretRef": GoStruct("v1.SecretEnvSource", {"name": "string", "optional": "bool"})})
_VOLUME_MOUNT = GoStruct("v1.VolumeMount", {
    "name": "string", "readOnly": "bool", "recursiveReadOnly": "v1.RecursiveReadOnlyMode",
    "mountPath": "string", "subPath": "string", "mountPropagation": "v1.MountPropagationMode",
    "subPathExpr": "string"})
_SECCOMP_PROFILE = GoStruct("v1.SeccompProfile", {
    "type": "v1.SeccompProfileType", "localhostProfile": "string"})
_APPARMOR_PROFILE = GoStruct("v1.AppArmorProfile", {
    "type": "v1.AppArmorProfileType", "localhostProfile": "string"})
_SECURITY_CONTEXT = GoStruct("v1.SecurityContext", {
    "capabilities": GoStruct("v1.Capabilities", {
        "add": GoList("v1.Capability"), "drop": GoList("v1.Capability")}),
    "privileged": "bool", "seLinuxOptions": "any", "windowsOptions": "any",
    "runAsUser": "int64", "runAsGroup": "int64", "runAsNonRoot": "bool",
    "readOnlyRootFilesystem": "bool", "allowPrivilegeEscalation": "bool",
    "procMount": "v1.ProcMountType", "seccompProfile": _SECCOMP_PROFILE,
    "appArmorProfile": _APPARMOR_PROFILE})
_POD_SECURITY_CONTEXT = GoStruct("v1.PodSecurityContext", {
    "seLinuxOptions": "any", "windowsOptions": "any", "runAsUser": "int64",
    "runAsGroup": "int64", "runAsNonRoot": "bool", "supplementalGroups": GoList("int64"),
    "supplementalGroupsPolicy": "v1.SupplementalGroupsPolicy", "fsGroup": "int64",
    "sysctls": "any", "fsGroupChangePolicy": "v1.PodFSGroupChangePolicy",
    "seccompProfile": _SECCOMP_PROFILE, "appArmorProfile": _APPARMOR_PROFILE,
    "seLinuxChangePolicy": "v1.PodSELinuxChangePolicy"})
_KEY_TO_PATH = GoStruct("v1.KeyToPath", {"key": "string", "path": "string", "mode": "int32"})
_DOWNWARD_API_FILE = GoStruct("v1.DownwardAPIVolumeFile", {
    "path": "string", "fieldRef": _OBJECT_FIELD_SELECTOR,
    "resourceFieldRef": _RESOURCE_FIELD_SELECTOR, "mode": "int32"})
_VOLUME_PROJECTION = GoStruct("v1.VolumeProjection", {
    "secret": GoStruct("v1.SecretProjection", {
        "name": "string", "items": GoList(_KEY_TO_PATH), "optional": "bool"}),
    "downwardAPI": GoStruct("v1.DownwardAPIProjection", {"items": GoList(_DOWNWARD_API_FILE)}),
    "configMap": GoStruct("v1.ConfigMapProjection", {
        "name": "string", "items": GoList(_KEY_TO_PATH), "optional": "bool"}),
    "serviceAccountToken": GoStruct("v1.ServiceAccountTokenProjection", {
        "audience": "string", "expirationSeconds": "int64", "path": "string"}),
    "clusterTrustBundle": "any"})
# Every VolumeSource, so that each one counts towards "exactly one"; seven are typed.
_VOLUME = GoStruct("v1.Volume", dict({
    "name": "string",
    "hostPath": GoStruct("v1.HostPathVolumeSource", {
        "path": "string", "type": "v1.HostPathType"}),
    "emptyDir": GoStruct("v1.EmptyDirVolumeSource", {
        "medium": "v1.StorageMedium", "sizeLimit": "quantity"}),
    "secret": GoStruct("v1.SecretVolumeSource", {
        "secretName": "string", "items": GoList(_KEY_TO_PATH), "defaultMode": "int32",
        "optional": "bool"}),
    "persistentVolumeClaim": GoStruct("v1.PersistentVolumeClaimVolumeSource", {
        "claimName": "string", "readOnly": "bool"}),
    "downwardAPI": GoStruct("v1.DownwardAPIVolumeSource", {
        "items": GoList(_DOWNWARD_API_FILE), "defaultMode": "int32"}),
    "configMap": GoStruct("v1.ConfigMapVolumeSource", {
        "name": "string", "items": GoList(_KEY_TO_PATH), "defaultMode": "int32",
        "optional": "bool"}),
    "projected": GoStruct("v1.ProjectedVolumeSource", {
        "sources": GoList(_VOLUME_PROJECTION), "defaultMode": "int32"})},
    **{source: "any" for source in (
        "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
        "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
        "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
        "scaleIO", "storageos", "csi", "ephemeral", "image")}))
_CONTAINER_FIELDS = {
    "name": "string", "image": "string", "command": GoList("string"), "args": GoList("string"),
    "workingDir": "string", "ports": GoList(_CONTAINER_PORT),
    "envFrom": GoList(_ENV_FROM_SOURCE), "env": GoList(_ENV_VAR), "resources": _RESOURCES,
    "resizePolicy": GoList(GoStruct("v1.ContainerResizePolicy", {
        "resourceName": "v1.ResourceName", "restartPolicy": "v1.ResourceResizeRestartPolicy"})),
    "restartPolicy": "string", "volumeMounts": GoList(_VOLUME_MOUNT), "volumeDevices": "any",
    "livenessProbe": _PROBE, "readinessProbe": _PROBE, "startupProbe": _PROBE,
    "lifecycle": GoStruct("v1.Lifecycle", {
        "postStart": _LIFECYCLE_HANDLER, "preStop": _LIFECYCLE_HANDLER}),
    "terminationMessagePath": "string", "terminationMessagePolicy": "string",
    "imagePullPolicy": "string", "securityContext": _SECURITY_CONTEXT, "stdin": "bool",
    "stdinOnce": "bool", "tty": "bool"}
_CONTAINER = GoStruct("v1.Container", _CONTAINER_FIELDS)
_EPHEMERAL_CONTAINER = GoStruct("v1.EphemeralContainer", dict(
    _CONTAINER_FIELDS, targetContainerName="string"))
_POD_SPEC = GoStruct("v1.PodSpec", {
    "volumes": GoList(_VOLUME), "initContainers": GoList(_CONTAINER),
    "containers": GoList(_CONTAINER), "ephemeralContainers": GoList(_EPHEMERAL_CONTAINER),
    "restartPolicy": "string",
    "terminationGracePeriodSeconds": "int64", "activeDeadlineSeconds": "int64",
    "dnsPolicy": "string", "nodeSelector": GoMap("string"), "serviceAccountName": "string",
    "serviceAccount": "string", "automountServiceAccountToken": "bool", "nodeName": "string",
    "hostNetwork": "bool", "hostPID": "bool", "hostIPC": "bool",
    "shareProcessNamespace": "bool", "securityContext": _POD_SECURITY_CONTEXT,
    "imagePullSecrets": "any",
    "hostname": "string", "subdomain": "string", "affinity": "any", "schedulerName": "string",
    "tolerations": "any", "hostAliases": "any", "priorityClassName": "string",
    "priority": "int32", "dnsConfig": "any", "readinessGates": "any",
    "runtimeClassName": "string", "enableServiceLinks": "bool", "preemptionPolicy": "string",
    "overhead": GoMap("quantity"), "topologySpreadConstraints": "any",
    "setHostnameAsFQDN": "bool", "os": "any", "hostUsers": "bool", "schedulingGates": "any",
    "resourceClaims": "any", "resources": "any"})
_POD_CONDITION = GoStruct("v1.PodCondition", {
    "type": "string", "status": "string", "lastProbeTime": "time",
    "lastTransitionTime": "time", "reason": "string", "message": "string"})
_POD_IP = GoStruct("v1.PodIP", {"ip": "string"})
_HOST_IP = GoStruct("v1.HostIP", {"ip": "string"})
_POD_STATUS = GoStruct("v1.PodStatus", {
    "phase": "string", "conditions": GoList(_POD_CONDITION), "message": "string",
    "reason": "string", "nominatedNodeName": "string", "hostIP": "string",
    "hostIPs": GoList(_HOST_IP), "podIP": "string", "podIPs": GoList(_POD_IP),
    "startTime": "time", "initContainerStatuses": "any", "containerStatuses": "any",
    "qosClass": "string", "ephemeralContainerStatuses": "any", "resize": "string",
    "resourceClaimStatuses": "any"})
_POD = GoStruct("v1.Pod", {"spec": _POD_SPEC, "status": _POD_STATUS})

_SERVICE_PORT = GoStruct("v1.ServicePort", {
    "name": "string", "protocol": "string", "appProtocol": "string", "port": "int32",
    "targetPort": "intstr", "nodePort": "int32"})
_SERVICE_SPEC = GoStruct("v1.ServiceSpec", {
    "ports": GoList(_SERVICE_PORT), "selector": GoMap("string"), "clusterIP": "string",
    "clusterIPs": GoList("string"), "type": "string", "externalIPs": GoList("string"),
    "sessionAffinity": "string", "loadBalancerIP": "string",
    "loadBalancerSourceRanges": GoList("string"), "externalName": "string",
    "externalTrafficPolicy": "string", "healthCheckNodePort": "int32",
    "publishNotReadyAddresses": "bool", "sessionAffinityConfig": "any",
    "ipFamilies": GoList("string"), "ipFamilyPolicy": "string",
    "allocateLoadBalancerNodePorts": "bool", "loadBalancerClass": "string",
    "internalTrafficPolicy": "string", "trafficDistribution": "string"})
_SERVICE_STATUS = GoStruct("v1.ServiceStatus", {"loadBalancer": "any", "conditions": "any"})
_SERVICE = GoStruct("v1.Service", {"spec": _SERVICE_SPEC, "status": _SERVICE_STATUS})

_ENDPOINT = GoStruct("v1.Endpoint", {
    "addresses": GoList("string"),
    "conditions": GoStruct("v1.EndpointConditions", {
        "ready": "bool", "serving": "bool", "terminating": "bool"}),
    "hostname": "string", "targetRef": _object_reference(),
    "deprecatedTopology": GoMap("string"), "nodeName": "string", "zone": "string",
    "hints": GoStruct("v1.EndpointHints", {
        "forZones": GoList(GoStruct("v1.ForZone", {"name": "string"})),
        "forNodes": GoList(GoStruct("v1.ForNode", {"name": "string"}))})})
_ENDPOINT_PORT = GoStruct("v1.EndpointPort", {
    "name": "string", "protocol": "string", "port": "int32", "appProtocol": "string"})
_ENDPOINT_SLICE = GoStruct("v1.EndpointSlice", {
    "addressType": "string", "endpoints": GoList(_ENDPOINT), "ports": GoList(_ENDPOINT_PORT)})

_LEASE_SPEC = GoStruct("v1.LeaseSpec", {
    "holderIdentity": "string", "leaseDurationSeconds": "int32", "acquireTime": "microtime",
    "renewTime": "microtime", "leaseTransitions": "int32", "strategy": "string",
    "preferredHolder": "string"})
_LEASE = GoStruct("v1.Lease", {"spec": _LEASE_SPEC})

# What an install of Weft is made of and `weftctl check` reads: ConfigMaps, Deployments and
# MutatingWebhookConfigurations.
_CONFIG_MAP = GoStruct("v1.ConfigMap", {
    "immutable": "bool", "data": GoMap("string"), "binaryData": GoMap("string")})
_LABEL_SELECTOR = GoStruct("v1.LabelSelector", {
    "matchLabels": GoMap("string"),
    "matchExpressions": GoList(GoStruct("v1.LabelSelectorRequirement", {
        "key": "string", "operator": "string", "values": GoList("string")}))})
# A pod template's metadata: only labels and annotations matter (ValidatePodTemplateSpec).
_TEMPLATE_META = GoStruct("v1.ObjectMeta", {
    "name": "string", "generateName": "string", "namespace": "string", "uid": "string",
    "resourceVersion": "string", "generation": "int64", "creationTimestamp": "time",
    "labels": GoMap("string"), "annotations": GoMap("string"), "ownerReferences": "any",
    "finalizers": GoList("string")})
_POD_TEMPLATE_SPEC = GoStruct("v1.PodTemplateSpec", {
    "metadata": _TEMPLATE_META, "spec": _POD_SPEC})
_DEPLOYMENT_SPEC = GoStruct("v1.DeploymentSpec", {
    "replicas": "int32", "selector": _LABEL_SELECTOR, "template": _POD_TEMPLATE_SPEC,
    "strategy": GoStruct("v1.DeploymentStrategy", {
        "type": "string", "rollingUpdate": GoStruct("v1.RollingUpdateDeployment", {
            "maxUnavailable": "intstr", "maxSurge": "intstr"})}),
    "minReadySeconds": "int32", "revisionHistoryLimit": "int32",
    "paused": "bool", "progressDeadlineSeconds": "int32"})
_DEPLOYMENT_STATUS = GoStruct("v1.DeploymentStatus", {
    "observedGeneration": "int64", "replicas": "int32", "updatedReplicas": "int32",
    "readyReplicas": "int32", "availableReplicas": "int32", "unavailableReplicas": "int32",
    "terminatingReplicas": "int32", "conditions": "any", "collisionCount": "int32"})
_DEPLOYMENT = GoStruct("v1.Deployment", {"spec": _DEPLOYMENT_SPEC, "status": _DEPLOYMENT_STATUS})
# The other workloads an injected pod template can come in (apps/v1, batch/v1).
_REPLICA_SET = GoStruct("v1.ReplicaSet", {
    "spec": GoStruct("v1.ReplicaSetSpec", {
        "replicas": "int32", "minReadySeconds": "int32", "selector": _LABEL_SELECTOR,
        "template": _POD_TEMPLATE_SPEC}),
    "status": GoStruct("v1.ReplicaSetStatus", {
        "replicas": "int32", "fullyLabeledReplicas": "int32", "readyReplicas": "int32",
        "availableReplicas": "int32", "terminatingReplicas": "int32",
        "observedGeneration": "int64", "conditions": "any"})})
_DAEMON_SET = GoStruct("v1.DaemonSet", {
    "spec": GoStruct("v1.DaemonSetSpec", {
        "selector": _LABEL_SELECTOR, "template": _POD_TEMPLATE_SPEC,
        "updateStrategy": GoStruct("v1.DaemonSetUpdateStrategy", {
            "type": "string", "rollingUpdate": GoStruct("v1.RollingUpdateDaemonSet", {
                "maxUnavailable": "intstr", "maxSurge": "intstr"})}),
        "minReadySeconds": "int32", "revisionHistoryLimit": "int32"}),
    "status": GoStruct("v1.DaemonSetStatus", {
        "currentNumberScheduled": "int32", "numberMisscheduled": "int32",
        "desiredNumberScheduled": "int32", "numberReady": "int32",
        "observedGeneration": "int64", "updatedNumberScheduled": "int32",
        "numberAvailable": "int32", "numberUnavailable": "int32", "collisionCount": "int32",
        "conditions": "any"})})
_STATEFUL_SET = GoStruct("v1.StatefulSet", {
    "spec": GoStruct("v1.StatefulSetSpec", {
        "replicas": "int32", "selector": _LABEL_SELECTOR, "template": _POD_TEMPLATE_SPEC,
        "volumeClaimTemplates": "any", "serviceName": "string",
        "podManagementPolicy": "string",
        "updateStrategy": GoStruct("v1.StatefulSetUpdateStrategy", {
            "type": "string", "rollingUpdate": GoStruct(
                "v1.RollingUpdateStatefulSetStrategy", {
                    "partition": "int32", "maxUnavailable": "intstr"})}),
        "revisionHistoryLimit": "int32", "minReadySeconds": "int32",
        "persistentVolumeClaimRetentionPolicy": GoStruct(
            "v1.StatefulSetPersistentVolumeClaimRetentionPolicy", {
                "whenDeleted": "string", "whenScaled": "string"}),
        "ordinals": GoStruct("v1.StatefulSetOrdinals", {"start": "int32"})}),
    "status": GoStruct("v1.StatefulSetStatus", {
        "observedGeneration": "int64", "replicas": "int32", "readyReplicas": "int32",
        "currentReplicas": "int32", "updatedReplicas": "int32", "currentRevision": "string",
        "updateRevision": "string", "collisionCount": "int32", "conditions": "any",
        "availableReplicas": "int32"})})
_JOB_SPEC = GoStruct("v1.JobSpec", {
    "parallelism": "int32", "completions": "int32", "activeDeadlineSeconds": "int64",
    "podFailurePolicy": "any", "successPolicy": "any", "backoffLimit": "int32",
    "backoffLimitPerIndex": "int32", "maxFailedIndexes": "int32", "selector": _LABEL_SELECTOR,
    "manualSelector": "bool", "template": _POD_TEMPLATE_SPEC,
    "ttlSecondsAfterFinished": "int32", "completionMode": "string", "suspend": "bool",
    "podReplacementPolicy": "string", "managedBy": "string"})
_JOB = GoStruct("v1.Job", {
    "spec": _JOB_SPEC,
    "status": GoStruct("v1.JobStatus", {
        "conditions": "any", "startTime": "time", "completionTime": "time", "active": "int32",
        "succeeded": "int32", "failed": "int32", "terminating": "int32",
        "completedIndexes": "string", "failedIndexes": "string",
        "uncountedTerminatedPods": "any", "ready": "int32"})})
_CRON_JOB = GoStruct("v1.CronJob", {
    "spec": GoStruct("v1.CronJobSpec", {
        "schedule": "string", "timeZone": "string", "startingDeadlineSeconds": "int64",
        "concurrencyPolicy": "string", "suspend": "bool",
        "jobTemplate": GoStruct("v1.JobTemplateSpec", {
            "metadata": _TEMPLATE_META, "spec": _JOB_SPEC}),
        "successfulJobsHistoryLimit": "int32", "failedJobsHistoryLimit": "int32"}),
    "status": GoStruct("v1.CronJobStatus", {
        "active": "any", "lastScheduleTime": "time", "lastSuccessfulTime": "time"})})
_MUTATING_WEBHOOK = GoStruct("v1.MutatingWebhook", {
    "name": "string",
    "clientConfig": GoStruct("v1.WebhookClientConfig", {
        "url": "string",
        "service": GoStruct("v1.ServiceReference", {
            "namespace": "string", "name": "string", "path": "string", "port": "int32"}),
        "caBundle": "string"}),
    "rules": GoList(GoStruct("v1.RuleWithOperations", {
        "operations": GoList("string"), "apiGroups": GoList("string"),
        "apiVersions": GoList("string"), "resources": GoList("string"), "scope": "string"})),
    "failurePolicy": "string", "matchPolicy": "string", "namespaceSelector": _LABEL_SELECTOR,
    "objectSelector": _LABEL_SELECTOR, "sideEffects": "string", "timeoutSeconds": "int32",
    "admissionReviewVersions": GoList("string"), "reinvocationPolicy": "string",
    "matchConditions": "any"})
_MUTATING_WEBHOOK_CONFIGURATION = GoStruct("v1.MutatingWebhookConfiguration", {
    "webhooks": GoList(_MUTATING_WEBHOOK)})

_CRD_NAMES = GoStruct("v1.CustomResourceDefinitionNames", {
    "plural": "string", "singular": "string", "shortNames": GoList("string"), "kind": "string",
    "listKind": "string", "categories": GoList("string")})
_CRD_VERSION = GoStruct("v1.CustomResourceDefinitionVersion", {
    "name": "string", "served": "bool", "storage": "bool", "deprecated": "bool",
    "deprecationWarning": "string",
    "schema": GoStruct("v1.CustomResourceValidation", {"openAPIV3Schema": "any"}),
    "subresources": GoStruct("v1.CustomResourceSubresources", {
        "status": "any", "scale": "any"}),
    "additionalPrinterColumns": GoList(GoStruct("v1.CustomResourceColumnDefinition", {
        "name": "string", "type": "string", "format": "string", "description": "string",
        "priority": "int32", "jsonPath": "string"})),
    "selectableFields": GoList(GoStruct("v1.SelectableField", {"jsonPath": "string"}))})
_CRD_SPEC = GoStruct("v1.CustomResourceDefinitionSpec", {
    "group": "string", "names": _CRD_NAMES, "scope": "string",
    "versions": GoList(_CRD_VERSION), "conversion": "any", "preserveUnknownFields": "bool"})
_CRD = GoStruct("v1.CustomResourceDefinition", {
    "spec": _CRD_SPEC, "status": GoStruct("v1.CustomResourceDefinitionStatus", {
        "conditions": "any", "acceptedNames": "any", "storedVersions": GoList("string")})})
# --- protobuf request bodies ------------------------------------------------------------------
# Typed clients (client-go clientsets, so `kubectl create secret|namespace|token`) send
# application/vnd.kubernetes.protobuf and do not fall back to JSON, so the kinds served here
# are decoded from it too: the "k8s\0" magic, a runtime.Unknown envelope, then the message.
# Answers stay JSON (those clients list application/json in Accept as well).

PROTOBUF = "application/vnd.kubernetes.protobuf"


def _pb_fields(data):
    """(field number, wire type, value) for each field of a protobuf message."""
    position, end = 0, len(data)

    def varint():
        nonlocal position
        result = shift = 0
        while True:
            if position >= end or shift > 63:
                raise ValueError("truncated varint")
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return result

    while position < end:
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            value, position = data[position:position + size], position + size
        elif wire == 2:
            size = varint()
            if position + size > end:
                raise ValueError("truncated length-delimited field")
            value, position = data[position:position + size], position + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if position > end:
            raise ValueError("truncated field")
        yield number, wire, value


def _pb_text(value):
    return bytes(value).decode("utf-8", "replace")


def _pb_entry(value):
    """A map entry: key 1, value 2 (both length-delimited here)."""
    key, item = "", b""
    for number, wire, field in _pb_fields(value):
        if number in (1, 2) and wire != 2:
            raise ValueError(f"map entry field {number} has wire type {wire}")
        if number == 1:
            key = _pb_text(field)
        elif number == 2:
            item = field
    return key, item


def _pb_message(data, schema):
    """Decodes into the JSON shape. schema: field number -> (name, how), where how is "string",
    "bool", "rawbytes", "strings" (repeated string), "map" (string values), "bytesmap" (bytes
    values, base64 in JSON), a dict (a nested message) or (dict,) (repeated nested)."""
    result = {}
    for number, wire, value in _pb_fields(data):
        if number not in schema:
            continue  # unknown fields are dropped, as by the generated Go code
        name, how = schema[number]
        # The wire type must fit the field: a varint where bytes belong would otherwise turn
        # into bytes(<huge number>) below.
        if wire != (0 if how == "bool" else 2):
            raise ValueError(f"field {name} has wire type {wire}")
        if how == "string":
            result[name] = _pb_text(value)
        elif how == "bool":
            result[name] = bool(value)
        elif how == "rawbytes":
            result[name] = bytes(value)
        elif how == "strings":
            result.setdefault(name, []).append(_pb_text(value))
        elif how == "map":
            key, item = _pb_entry(value)
            result.setdefault(name, {})[key] = _pb_text(item)
        elif how == "bytesmap":
            key, item = _pb_entry(value)
            result.setdefault(name, {})[key] = base64.b64encode(bytes(item)).decode("ascii")
        elif isinstance(how, tuple):
            result.setdefault(name, []).append(_pb_message(value, how[0]))
        elif isinstance(how, dict):
            result[name] = _pb_message(value, how)
    return result


_PB_OWNER = {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"),
             5: ("apiVersion", "string"), 6: ("controller", "bool"),
             7: ("blockOwnerDeletion", "bool")}
_PB_META = {1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
            5: ("uid", "string"), 6: ("resourceVersion", "string"), 11: ("labels", "map"),
            12: ("annotations", "map"), 13: ("ownerReferences", (_PB_OWNER,)),
            14: ("finalizers", "strings")}
_PB_KINDS = {
    "Secret": {1: ("metadata", _PB_META), 2: ("data", "bytesmap"), 3: ("type", "string"),
               4: ("stringData", "map"), 5: ("immutable", "bool")},
    "Namespace": {1: ("metadata", _PB_META), 2: ("spec", {1: ("finalizers", "strings")}),
                  3: ("status", {1: ("phase", "string")})},
    "TokenReview": {1: ("metadata", _PB_META),
                    2: ("spec", {1: ("token", "string"), 2: ("audiences", "strings")})},
    "SelfSubjectReview": {1: ("metadata", _PB_META)},
    "DeleteOptions": {2: ("preconditions", {1: ("uid", "string"),
                                            2: ("resourceVersion", "string")}),
                      4: ("propagationPolicy", "string"), 5: ("dryRun", "strings")},
}


def decode_protobuf(body, kind):
    """A Kubernetes protobuf body ("k8s\\0" + runtime.Unknown) as the JSON object it stands
    for; ValueError when it is not one, or not of this kind."""
    if not body.startswith(b"k8s\x00"):
        raise ValueError("provided object is not a protobuf-encoded Kubernetes object (no "
                         "k8s\\x00 magic)")
    envelope = _pb_message(memoryview(body)[4:], {
        1: ("typeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")}),
        2: ("raw", "rawbytes"), 3: ("contentEncoding", "string")})
    type_meta = envelope.get("typeMeta", {})
    if type_meta.get("kind", kind) != kind:
        raise ValueError(f"the object provided is a {type_meta.get('kind')}, not a {kind}")
    if envelope.get("contentEncoding"):
        raise ValueError(f"unsupported content encoding {envelope['contentEncoding']!r}")
    obj = _pb_message(envelope.get("raw", b""), _PB_KINDS[kind])
    for field in ("apiVersion", "kind"):
        if type_meta.get(field):
            obj[field] = type_meta[field]
    return obj


# --- patches ----------------------------------------------------------------------------------

def _merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _strategic_merge_patch(target, patch, merge_keys=None):
    """Strategic merge patch: like a JSON merge patch, except for the lists the kind's Go
    struct tags as patchStrategy=merge. `merge_keys` maps such a list's path (field names from
    the root, list items transparent) to its patchMergeKey, or to "set" for a list of
    primitives merged as a set. Directives: $patch (replace, delete, merge),
    $setElementOrder/<list>, $deleteFromPrimitiveList/<list>, $retainKeys."""
    keys = {("metadata", "finalizers"): "set", ("metadata", "ownerReferences"): "uid"}
    keys.update(merge_keys or {})
    if not isinstance(patch, dict):
        return patch
    return _smp_object(target, patch, (), keys)


def _smp_object(target, patch, path, keys):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        sub = path + (key,)
        strategy = keys.get(sub)
        if isinstance(value, list) and strategy:
            result[key] = _smp_list(result.get(key) or [], value, sub, strategy, keys)
        elif isinstance(value, dict):
            merged = _smp_object(result.get(key), value, sub, keys)
            if isinstance(value, dict) and value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
            name = key.partition("/")[2]
            if isinstance(result.get(name), list):
                result[name] = [item for item in result[name] if item not in value]
    for key, order in patch.items():
        if key.startswith("$setElementOrder/") and isinstance(order, list):
            name = key.partition("/")[2]
            strategy = keys.get(path + (name,))
            if isinstance(result.get(name), list) and strategy:
                result[name] = _smp_order(result[name], order, strategy)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _smp_list(current, items, path, strategy, keys):
    if strategy == "set":
        return copy.deepcopy(current) + [copy.deepcopy(i) for i in items if i not in current]
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in items):
        return [_strip_directives(i) for i in items
                if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    result = copy.deepcopy(current)
    for item in items:
        if not isinstance(item, dict) or strategy not in item:
            result.append(_strip_directives(item))
            continue
        index = next((n for n, old in enumerate(result)
                      if isinstance(old, dict) and old.get(strategy) == item[strategy]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_smp_object({}, item, path, keys))
        else:
            result[index] = _smp_object(result[index], item, path, keys)
    return result


def _smp_order(items, order, strategy):
    def key(item):
        return item if strategy == "set" or not isinstance(item, dict) else item.get(strategy)
    wanted = [key(o) for o in order]
    ranked = [i for i in items if key(i) in wanted]
    ranked.sort(key=lambda i: wanted.index(key(i)))
    return ranked + [i for i in items if key(i) not in wanted]


def _strip_directives(value):
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer {path!r} does not start with /")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _resolve(document, parts):
    node = document
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ValueError(f"path {'/' + '/'.join(parts)!r} does not exist")
    return node


def _json_patch(document, operations):
    """RFC 6902 JSON patch."""
    if not isinstance(operations, list):
        raise ValueError("a JSON patch is a list of operations")
    document = copy.deepcopy(document)

    def add(parts, value):
        nonlocal document
        if not parts:
            document = value
            return
        parent = _resolve(document, parts[:-1])
        key = parts[-1]
        if isinstance(parent, dict):
            parent[key] = value
        elif isinstance(parent, list):
            if key == "-":
                parent.append(value)
            elif key.isdigit() and int(key) <= len(parent):
                parent.insert(int(key), value)
            else:
                raise ValueError(f"index {key!r} is out of range")
        else:
            raise ValueError("cannot add to a scalar")

    def remove(parts):
        if not parts:
            raise ValueError("cannot remove the whole document")
        parent = _resolve(document, parts[:-1])
        key = parts[-1]
        if isinstance(parent, dict) and key in parent:
            return parent.pop(key)
        if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
            return parent.pop(int(key))
        raise ValueError(f"path {'/' + '/'.join(parts)!r} does not exist")

    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str) \
                or not isinstance(op.get("path"), str):
            raise ValueError("every operation needs op and path")
        kind, parts = op["op"], _pointer(op["path"])
        if kind in ("add", "replace", "test") and "value" not in op:
            raise ValueError(f"{kind} needs a value")
        if kind == "add":
            add(parts, copy.deepcopy(op["value"]))
        elif kind == "remove":
            remove(parts)
        elif kind == "replace":
            _resolve(document, parts)  # replace needs the target to exist
            if parts:
                remove(parts)
            add(parts, copy.deepcopy(op["value"]))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from") if isinstance(op.get("from"), str) else "")
            value = copy.deepcopy(_resolve(document, source))
            if kind == "move":
                remove(source)
            add(parts, value)
        elif kind == "test":
            if _resolve(document, parts) != op["value"]:
                raise ValueError(f"testing value {op['path']} failed")
        else:
            raise ValueError(f"unknown operation {kind!r}")
    return document


# --- selectors --------------------------------------------------------------------------------

def _split_top_level(text):
    """Splits a selector at the commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


_SET_REQUIREMENT = re.compile(r"^(\S+)\s+(in|notin)\s*\(([^()]*)\)$")
_COMPARISON = re.compile(r"^([^\s!=<>]+)\s*(==|=|!=|<|>)\s*(\S*)$")


def parse_label_selector(text):
    """labels.Parse: a list of predicates over a labels dict."""
    predicates = []
    for requirement in _split_top_level(text or ""):
        match = _SET_REQUIREMENT.match(requirement)
        if match:
            key, op, values = match.group(1), match.group(2), \
                {v.strip() for v in match.group(3).split(",") if v.strip()}
            if op == "in":
                predicates.append(lambda l, k=key, vs=values: l.get(k) in vs)
            else:
                predicates.append(lambda l, k=key, vs=values: l.get(k) not in vs)
            continue
        match = _COMPARISON.match(requirement)
        if match:
            key, op, value = match.groups()
            if op in ("=", "=="):
                predicates.append(lambda l, k=key, v=value: l.get(k) == v)
            elif op == "!=":
                predicates.append(lambda l, k=key, v=value: l.get(k) != v)
            else:
                try:
                    bound = int(value)
                except ValueError:
                    raise bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, "
                                      "the value must be an integer") from None
                predicates.append(lambda l, k=key, b=bound, o=op: _compare(l.get(k), o, b))
            continue
        if re.fullmatch(r"!\s*[^\s!=<>(),]+", requirement):
            key = requirement[1:].strip()
            predicates.append(lambda l, k=key: k not in l)
            continue
        if re.fullmatch(r"[^\s!=<>(),]+", requirement):
            predicates.append(lambda l, k=requirement: k in l)
            continue
        raise bad_request(f"unable to parse requirement: {requirement!r}")
    return lambda labels: all(p(labels) for p in predicates)


def _compare(value, op, bound):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return False
    return number > bound if op == ">" else number < bound


def parse_field_selector(text, fields_of, supported):
    """fields.Parse with the resource's supported fields (the others are a 400)."""
    predicates = []
    for requirement in _split_top_level(text or ""):
        match = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", requirement)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{requirement}'")
        field, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
        if field not in supported:
            raise bad_request(f'field label not supported: {field}')
        if op == "!=":
            predicates.append(lambda o, f=field, v=value: fields_of(o).get(f) != v)
        else:
            predicates.append(lambda o, f=field, v=value: fields_of(o).get(f) == v)
    return lambda obj: all(p(obj) for p in predicates)


# --- time -------------------------------------------------------------------------------------

def _now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(timestamp):
    """duration.HumanDuration of the time since an RFC 3339 timestamp (kubectl's AGE)."""
    try:
        then = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"




# --- JSONPath (printer columns) ---------------------------------------------------------------
# The subset of k8s.io/client-go/util/jsonpath that CRD printer columns and selectable fields
# use: .field, ['field'], [n], [*] and [?(@.path == literal)] (also !=, <, >, <=, >=).

_JSONPATH_FIELD = re.compile(r"\.([A-Za-z0-9_$-]+|\*)")
_JSONPATH_FILTER = re.compile(r"\?\(@((?:\.[A-Za-z0-9_$-]+)*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*\)")


def _jsonpath_steps(expression):
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    steps, position = [], 0
    while position < len(text):
        match = _JSONPATH_FIELD.match(text, position)
        if match:
            steps.append(("field", match.group(1)))
            position = match.end()
            continue
        if text[position] != "[":
            raise ValueError(f"unrecognized character in JSONPath {expression!r} at {position}")
        depth, quote, end = 0, None, position
        for end in range(position, len(text)):
            char = text[end]
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                depth -= 1
                if depth == 0:
                    break
        inner = text[position + 1:end].strip()
        position = end + 1
        if inner == "*":
            steps.append(("all", None))
        elif re.fullmatch(r"-?\d+", inner):
            steps.append(("index", int(inner)))
        elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
            steps.append(("field", inner[1:-1]))
        else:
            match = _JSONPATH_FILTER.fullmatch(inner)
            if not match:
                raise ValueError(f"unsupported JSONPath element [{inner}]")
            path = [p for p in match.group(1).split(".") if p]
            literal = match.group(3)
            if literal[:1] in "'\"":
                literal = literal[1:-1]
            else:
                try:
                    literal = json.loads(literal)
                except ValueError:
                    pass
            steps.append(("filter", (path, match.group(2), literal)))
    return steps


def _jsonpath(expression, document):
    """The values an expression finds, in order."""
    values = [document]
    for kind, argument in _jsonpath_steps(expression):
        found = []
        for value in values:
            if kind == "field":
                if argument == "*":
                    found += list(value.values()) if isinstance(value, dict) else \
                        list(value) if isinstance(value, list) else []
                elif isinstance(value, dict) and argument in value:
                    found.append(value[argument])
            elif kind == "index":
                if isinstance(value, list) and -len(value) <= argument < len(value):
                    found.append(value[argument])
            elif kind == "all":
                found += list(value) if isinstance(value, list) else \
                    list(value.values()) if isinstance(value, dict) else []
            else:
                path, op, literal = argument
                for item in value if isinstance(value, list) else [value]:
                    probe = item
                    for part in path:
                        probe = probe.get(part) if isinstance(probe, dict) else None
                    if probe is not None and _jsonpath_compare(probe, op, literal):
                        found.append(item)
        values = found
    return values


def _jsonpath_compare(value, op, literal):
    if op in ("==", "!="):
        return (value == literal or str(value) == str(literal)) == (op == "==")
    try:
        left, right = float(value), float(literal)
    except (TypeError, ValueError):
        return False
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]


def _jsonpath_text(value):
    """How the JSONPath printer prints one result: strings raw, numbers and booleans with %v,
    anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)) or value is None:
        return _go_value(value) if value is not None else "<nil>"
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


# --- YAML (CRD files given to the program) ----------------------------------------------------
# A loader for the block-style YAML that Kubernetes manifests use (mappings, sequences, plain,
# quoted and block scalars, flow collections on one line, several documents), so that the
# program stays stdlib-only. Scalars resolve as YAML 1.1 does (PyYAML, and kubectl's
# sigs.k8s.io/yaml): yes/no/on/off are booleans. Keys are always strings (JSON needs them so).
# Anchors, aliases, tags and complex keys are not supported.

_YAML_BOOL = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_YAML_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?")
_YAML_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n",
                 "v": "\v", "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"',
                 "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
                 "P": "\u2029"}


def load_yaml_documents(text):
    """The documents of a YAML stream, as JSON-like values (empty documents are skipped)."""
    documents, current = [], []
    for line in text.splitlines():
        if re.match(r"---(\s|$)", line) or line.strip() == "...":
            documents.append(current)
            current = []
            rest = line[3:].strip() if line.startswith("---") else ""
            if rest and not rest.startswith("#"):
                current.append(rest)
        else:
            current.append(line)
    documents.append(current)
    loaded = []
    for lines in documents:
        parser = _YamlParser(lines)
        if parser.next_line() is not None:
            loaded.append(parser.block(parser.next_line()[0]))
    return loaded


class _YamlParser:
    def __init__(self, lines):
        self.lines = [line.rstrip("\r").expandtabs(8) for line in lines]
        self.position = 0

    def next_line(self):
        """(indent, content) of the next meaningful line, without consuming it."""
        while self.position < len(self.lines):
            line = self.lines[self.position]
            content = _yaml_strip_comment(line.strip())
            if content:
                return len(line) - len(line.lstrip(" ")), content
            self.position += 1
        return None

    def error(self, message):
        return ValueError(f"YAML line {self.position + 1}: {message}")

    def block(self, indent):
        _, content = self.next_line()
        if content == "-" or content.startswith("- "):
            return self.sequence(indent)
        if _yaml_key(content) is not None:
            return self.mapping(indent)
        self.position += 1
        return self.inline(content, indent)

    def sequence(self, indent):
        items = []
        while True:
            line = self.next_line()
            if line is None or line[0] != indent or not (
                    line[1] == "-" or line[1].startswith("- ")):
                return items
            rest = line[1][1:]
            stripped = rest.lstrip(" ")
            if not stripped:
                self.position += 1
                following = self.next_line()
                items.append(self.block(following[0]) if following and following[0] > indent
                             else None)
                continue
            # "- key: value" or "- - x": the rest is a block at its own column.
            column = indent + 1 + len(rest) - len(stripped)
            self.lines[self.position] = " " * column + stripped
            if stripped.startswith("- ") or stripped == "-" or _yaml_key(stripped) is not None:
                items.append(self.block(column))
            else:
                self.position += 1
                items.append(self.inline(stripped, indent))

    def mapping(self, indent):
        result = {}
        while True:
            line = self.next_line()
            if line is None or line[0] != indent:
                if line is not None and line[0] > indent:
                    raise self.error("bad indentation of a mapping entry")
                return result
            parsed = _yaml_key(line[1])
            if parsed is None:
                raise self.error(f"expected a mapping entry, found {line[1]!r}")
            key, rest = parsed
            self.position += 1
            if rest:
                result[key] = self.inline(rest, indent)
                continue
            following = self.next_line()
            if following and (following[0] > indent or (
                    following[0] == indent and (following[1] == "-" or
                                                following[1].startswith("- ")))):
                result[key] = self.block(following[0])
            else:
                result[key] = None

    def inline(self, content, indent):
        """A value that starts on a line already consumed: a scalar (perhaps continued on
        more-indented lines), a block scalar or a flow collection."""
        if content[:1] in "|>":
            return self.block_scalar(content, indent)
        if content[:1] in "[{":
            while _yaml_unbalanced(content) and self.position < len(self.lines):
                content += " " + _yaml_strip_comment(self.lines[self.position].strip())
                self.position += 1
            value, end = _yaml_flow(content, 0)
            if content[end:].strip():
                raise self.error(f"unexpected text after a flow collection: {content[end:]!r}")
            return value
        if content[:1] == '"':
            while not _yaml_closed(content, '"') and self.position < len(self.lines):
                following = self.lines[self.position].strip()
                content += "\n" + following if not following else " " + following
                self.position += 1
            return _yaml_double(content.replace(" \n", "\n"))
        if content[:1] == "'":
            while not _yaml_closed(content, "'") and self.position < len(self.lines):
                content += " " + self.lines[self.position].strip()
                self.position += 1
            return content[1:-1].replace("''", "'")
        # A plain scalar continues on following lines that are more indented.
        while True:
            line = self.next_line()
            if line is None or line[0] <= indent or _yaml_key(line[1]) is not None:
                break
            content += " " + line[1]
            self.position += 1
        return _yaml_plain(content)

    def block_scalar(self, header, indent):
        chomp = "-" if "-" in header else "+" if "+" in header else ""
        raw = []
        while self.position < len(self.lines):
            line = self.lines[self.position]
            if line.strip() and len(line) - len(line.lstrip(" ")) <= indent:
                break
            raw.append(line)
            self.position += 1
        body = [line for line in raw if line.strip()]
        margin = min((len(line) - len(line.lstrip(" ")) for line in body), default=0)
        lines = [line[margin:] for line in raw]
        if header[0] == "|":
            text = "\n".join(lines)
        else:
            text, previous = "", None
            for line in lines:
                if previous is None:
                    text = line
                elif not line or line.startswith(" ") or not previous or \
                        previous.startswith(" "):
                    text += "\n" + line
                else:
                    text += " " + line
                previous = line
        stripped = text.rstrip("\n")
        if chomp == "-":
            return stripped
        if chomp == "+":
            return text + "\n"
        return stripped + "\n" if stripped else ""


def _yaml_strip_comment(text):
    quote = None
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"':
                continue
        elif char in "'\"" and (index == 0 or text[index - 1] in " :[{,-"):
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text


def _yaml_closed(text, quote):
    if quote == "'":
        return len(text) > 1 and text.endswith("'") and (len(text) - len(text.rstrip("'"))) % 2
    index = 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == '"':
            return index == len(text) - 1
        index += 1
    return False


def _yaml_unbalanced(text):
    depth, quote = 0, None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return depth > 0


def _yaml_key(content):
    """(key, rest) when the line is a mapping entry "key: rest", else None."""
    if content[:1] in "'\"":
        quote = content[0]
        end = content.find(quote, 1)
        while quote == "'" and end != -1 and content[end + 1:end + 2] == "'":
            end = content.find(quote, end + 2)
        while quote == '"' and end != -1 and content[end - 1] == "\\":
            end = content.find(quote, end + 1)
        if end == -1 or not re.match(r"\s*:(\s|$)", content[end + 1:]):
            return None
        raw = content[:end + 1]
        key = _yaml_double(raw) if quote == '"' else raw[1:-1].replace("''", "'")
        return key, content[end + 1:].lstrip()[1:].strip()
    if content[:1] in "[{-?|>!&*" and not re.match(r"-[^\s]", content):
        return None
    match = re.match(r"([^#]*?)\s*:(\s|$)", content)
    if not match:
        return None
    return match.group(1), content[match.end():].strip()


def _yaml_double(text):
    out, index, body = [], 0, text[1:-1] if text.endswith('"') else text[1:]
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            code = body[index + 1]
            if code in "xuU":
                size = {"x": 2, "u": 4, "U": 8}[code]
                out.append(chr(int(body[index + 2:index + 2 + size], 16)))
                index += 2 + size
                continue
            if code == "\n":
                index += 2
                continue
            out.append(_YAML_ESCAPES.get(code, code))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _yaml_plain(text):
    text = text.strip()
    lower = text.lower()
    if text in ("", "~") or lower == "null":
        return None
    if lower in _YAML_BOOL and text in (lower, lower.capitalize(), lower.upper()):
        return _YAML_BOOL[lower]
    if _YAML_INT.fullmatch(text):
        return int(text.replace("_", ""))
    if re.fullmatch(r"0x[0-9a-fA-F_]+", text):
        return int(text.replace("_", ""), 16)
    if re.fullmatch(r"0o?[0-7_]+", text):
        return int(text.replace("_", "").replace("o", ""), 8)
    if _YAML_FLOAT.fullmatch(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    if lower in (".inf", "+.inf", "-.inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if lower == ".nan":
        return float("nan")
    return text


def _yaml_flow(text, position):
    """A flow collection or scalar starting at `position`: (value, end)."""
    while position < len(text) and text[position] == " ":
        position += 1
    opener = text[position] if position < len(text) else ""
    if opener in "[{":
        closer = "]" if opener == "[" else "}"
        items = [] if opener == "[" else {}
        position += 1
        while True:
            while position < len(text) and text[position] in " ,":
                position += 1
            if position >= len(text):
                raise ValueError(f"unterminated flow collection in {text!r}")
            if text[position] == closer:
                return items, position + 1
            if opener == "[":
                value, position = _yaml_flow(text, position)
                items.append(value)
            else:
                key, position = _yaml_flow(text, position)
                while position < len(text) and text[position] == " ":
                    position += 1
                value = None
                if position < len(text) and text[position] == ":":
                    value, position = _yaml_flow(text, position + 1)
                items["" if key is None else str(key) if not isinstance(key, bool)
                      else str(key).lower()] = value
    if opener in "'\"":
        end = position + 1
        while end < len(text):
            if opener == '"' and text[end] == "\\":
                end += 2
                continue
            if text[end] == opener:
                if opener == "'" and text[end + 1:end + 2] == "'":
                    end += 2
                    continue
                break
            end += 1
        raw = text[position:end + 1]
        value = _yaml_double(raw) if opener == '"' else raw[1:-1].replace("''", "'")
        return value, end + 1
    match = re.compile(r"[^,:\]}]*(?::[^\s,\]}][^,:\]}]*)*").match(text, position)
    return _yaml_plain(match.group(0)), match.end()


# --- custom resources: pruning, defaulting and OpenAPI schema validation ----------------------
# What apiextensions-apiserver does with a custom resource before storing it: drop the fields
# its structural schema does not know (reporting them for fieldValidation), apply defaults,
# drop nulls of fields that are not nullable, then validate with kube-openapi's validator,
# whose error texts (and the conversion of its errors into field.Errors) are reproduced here.
# Object properties are visited in sorted order, where Go visits a map in random order.

_FORMAT_CHECKS = {
    "date-time": lambda v: re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?", v),
    "datetime": lambda v: _FORMAT_CHECKS["date-time"](v),
    "date": lambda v: re.fullmatch(r"\d{4}-\d{2}-\d{2}", v),
    "byte": lambda v: re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", v) and len(v) % 4 == 0,
    "uuid": lambda v: re.fullmatch(r"(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?"
                                   r"[0-9a-f]{12}", v),
    "ipv4": lambda v: not _ip_problems(v, 4),
    "ipv6": lambda v: not _ip_problems(v, 6),
    "cidr": lambda v: _is_cidr(v),
    "hostname": lambda v: len(v) <= 255 and re.fullmatch(
        r"[A-Za-z0-9]([-A-Za-z0-9]{0,62})?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,62})?)*\.?", v),
    "email": lambda v: re.fullmatch(r"[^@\s]+@[^@\s]+", v),
    "mac": lambda v: re.fullmatch(r"(?i)([0-9a-f]{2}[:-]){5}[0-9a-f]{2}", v),
    "duration": lambda v: re.fullmatch(r"\s*[-+]?(\d+(\.\d*)?\s*[a-zµ]+\s*)+", v),
}


def _is_cidr(value):
    try:
        ipaddress.ip_network(value, strict=False)
        return "/" in value
    except ValueError:
        return False


def _schema_type(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _schema_types(schema):
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    return [schema["type"]] if schema.get("type") else []


class _SchemaValidator:
    """kube-openapi's SchemaValidator over one openAPIV3Schema, answering field.Errors as
    apiextensions-apiserver converts them (kubeOpenAPIResultToFieldErrors)."""

    def __init__(self, schema):
        self.schema = schema or {}

    def validate(self, value):
        return self._node(self.schema, value, "")

    @staticmethod
    def _field(path):
        return path[1:] if path.startswith(".") else path

    def _error(self, kind, path, value=None, detail=""):
        return FieldError(kind, self._field(path), value, detail)

    def _node(self, schema, value, path):
        errors = []
        types = _schema_types(schema)
        if value is None:
            if types and not schema.get("nullable"):
                errors.append(self._error("TypeInvalid", path, "null",
                                          f'{path} in body must be of type {",".join(types)}: '
                                          f'"null"'))
            return errors + self._enum(schema, value, path)
        actual = _schema_type(value)
        fits = not types or actual in types or (
            actual == "number" and "integer" in types and float(value).is_integer()) or (
            actual == "integer" and "number" in types)
        if not fits:
            errors.append(self._error("TypeInvalid", path, actual,
                                      f'{path} in body must be of type {",".join(types)}: '
                                      f'"{actual}"'))
            return errors + self._enum(schema, value, path)
        errors += self._combinators(schema, value, path)
        if actual == "string":
            errors += self._string(schema, value, path)
        elif actual in ("integer", "number"):
            errors += self._number(schema, value, path)
        elif actual == "array":
            errors += self._array(schema, value, path)
        errors += self._enum(schema, value, path)
        if actual == "object":
            errors += self._object(schema, value, path)
        return errors

    def _combinators(self, schema, value, path):
        errors = []
        if schema.get("anyOf"):
            results = [self._node(s, value, path) for s in schema["anyOf"]]
            if all(results):
                errors.append(FieldError("Invalid", "", "", f"{json.dumps(path)} must validate "
                                                            f"at least one schema (anyOf)"))
                errors += results[0]
        if schema.get("oneOf"):
            results = [self._node(s, value, path) for s in schema["oneOf"]]
            valid = sum(1 for r in results if not r)
            if valid != 1:
                found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                errors.append(FieldError("Invalid", "", "", f"{json.dumps(path)} must validate "
                                                            f"one and only one schema (oneOf). "
                                                            f"{found}"))
                if valid == 0:
                    errors += results[0]
        if schema.get("allOf"):
            results = [self._node(s, value, path) for s in schema["allOf"]]
            for result in results:
                errors += result
            failed = sum(1 for r in results if r)
            if failed:
                none = ". None validated" if failed == len(results) else ""
                errors.append(FieldError("Invalid", "", "", f"{json.dumps(path)} must validate "
                                                            f"all the schemas (allOf){none}"))
        if isinstance(schema.get("not"), dict) and not self._node(schema["not"], value, path):
            errors.append(FieldError("Invalid", "", "", f"{json.dumps(path)} must not validate "
                                                        f"the schema (not)"))
        return errors

    def _string(self, schema, value, path):
        errors, length = [], len(value)
        if schema.get("maxLength") is not None and length > schema["maxLength"]:
            errors.append(too_long(self._field(path), schema["maxLength"]))
        if schema.get("minLength") is not None and length < schema["minLength"]:
            errors.append(self._error("Invalid", path, value, f"{path} in body should be at "
                                                              f"least {schema['minLength']} "
                                                              f"chars long"))
        pattern = schema.get("pattern")
        if pattern:
            try:
                matched = re.search(pattern, value) is not None
            except re.error:
                matched = True  # a pattern Python cannot compile is not checked
            if not matched:
                errors.append(self._error("Invalid", path, value,
                                          f"{path} in body should match '{pattern}'"))
        check = _FORMAT_CHECKS.get(schema.get("format", ""))
        if check is not None and not check(value):
            errors.append(self._error("TypeInvalid", path, value,
                                      f"{path} in body must be of type {schema['format']}: "
                                      f"{json.dumps(value)}"))
        return errors

    def _number(self, schema, value, path):
        errors = []
        integral = isinstance(value, int)

        def bound(limit):
            return str(int(limit)) if integral else _go_float(limit)

        factor = schema.get("multipleOf")
        if factor and (value / factor) != int(value / factor):
            errors.append(self._error("Invalid", path, value, f"{path} in body should be a "
                                                              f"multiple of {bound(factor)}"))
        maximum = schema.get("maximum")
        if maximum is not None:
            exclusive = schema.get("exclusiveMaximum")
            if value > maximum or (exclusive and value == maximum):
                relation = "less than" if exclusive else "less than or equal to"
                errors.append(self._error("Invalid", path, value, f"{path} in body should be "
                                                                  f"{relation} {bound(maximum)}"))
        minimum = schema.get("minimum")
        if minimum is not None:
            exclusive = schema.get("exclusiveMinimum")
            if value < minimum or (exclusive and value == minimum):
                relation = "greater than" if exclusive else "greater than or equal to"
                errors.append(self._error("Invalid", path, value, f"{path} in body should be "
                                                                  f"{relation} {bound(minimum)}"))
        return errors

    def _array(self, schema, value, path):
        errors = []
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                errors += self._node(items, item, f"{path}[{index}]")
        if schema.get("minItems") is not None and len(value) < schema["minItems"]:
            errors.append(self._error("Invalid", path, len(value), f"{path} in body should have "
                                                                   f"at least "
                                                                   f"{schema['minItems']} items"))
        if schema.get("maxItems") is not None and len(value) > schema["maxItems"]:
            errors.append(too_many(self._field(path), len(value), schema["maxItems"]))
        if schema.get("uniqueItems"):
            seen = []
            for item in value:
                if item in seen:
                    errors.append(self._error("Invalid", path, "", f"{path} in body shouldn't "
                                                                   f"contain duplicates"))
                    break
                seen.append(item)
        return errors

    def _enum(self, schema, value, path):
        allowed = schema.get("enum")
        if allowed is None or value in allowed:
            return []
        texts = [a if isinstance(a, str) else json.dumps(a) for a in allowed]
        return [not_supported(self._field(path), value, texts)]

    def _object(self, schema, value, path):
        count = len(value)
        if schema.get("minProperties") is not None and count < schema["minProperties"]:
            return [self._error("Invalid", path, count, f"{path} in body should have at least "
                                                        f"{schema['minProperties']} properties")]
        if schema.get("maxProperties") is not None and count > schema["maxProperties"]:
            return [too_many(self._field(path), count, schema["maxProperties"])]
        errors = []
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        prefix = f"{path}." if path else ""
        for key in sorted(value):
            if key in properties:
                continue
            if additional is False:
                errors.append(self._error("Invalid", path, key, f"{path}.{key} in body is a "
                                                                f"forbidden property"))
            elif isinstance(additional, dict):
                errors += self._node(additional, value[key], f"{path}.{key}")
        for key in sorted(properties):
            if key in value:
                errors += self._node(properties[key], value[key], prefix + key)
        for key in schema.get("required") or []:
            if key not in value:
                errors.append(self._error("Required", f"{path}.{key}"))
        return errors


def _list_type_errors(schema, value, path=""):
    """x-kubernetes-list-type: set and map lists hold no duplicates (listtype validation)."""
    errors = []
    if not isinstance(schema, dict) or value is None:
        return errors
    if isinstance(value, list):
        kind = schema.get("x-kubernetes-list-type")
        if kind == "set":
            seen = []
            reported = []
            for index, item in enumerate(value):
                if item in seen and item not in reported:
                    errors.append(FieldError("Duplicate", f"{path}[{index}]", item))
                    reported.append(item)
                seen.append(item)
        elif kind == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen = []
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                identity = {k: item.get(k) for k in keys}
                if identity in seen:
                    errors.append(FieldError("Duplicate", f"{path}[{index}]", identity))
                seen.append(identity)
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                errors += _list_type_errors(schema["items"], item, f"{path}[{index}]")
    elif isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in sorted(value):
            sub = properties.get(key, additional if isinstance(additional, dict) else None)
            errors += _list_type_errors(sub, value[key], f"{path}.{key}" if path else key)
    return errors


def _prune(value, schema, path, unknown):
    """Drops (in place) the fields the structural schema does not specify; their paths go to
    `unknown`. Returns the value."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        for key in list(value):
            child = f"{path}.{key}" if path else key
            if key in properties:
                value[key] = _prune(value[key], properties[key], child, unknown)
            elif isinstance(additional, dict):
                value[key] = _prune(value[key], additional, child, unknown)
            elif not (additional is True or preserve):
                unknown.append(child)
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            value[index] = _prune(item, schema["items"], f"{path}[{index}]", unknown)
    return value


def _apply_defaults(value, schema):
    """Structural defaulting: absent properties that have a default get it (in place)."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            _apply_defaults(item, properties.get(key, additional if isinstance(
                additional, dict) else None))
    elif isinstance(value, list):
        for item in value:
            _apply_defaults(item, schema.get("items"))


def _drop_nulls(value, schema):
    """PruneNonNullableNullsWithoutDefaults: null in a field that is neither nullable nor
    defaulted is removed (in place)."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in list(value):
            sub = properties.get(key, additional if isinstance(additional, dict) else None)
            if value[key] is None and isinstance(sub, dict) and not sub.get("nullable") and \
                    "default" not in sub:
                del value[key]
            else:
                _drop_nulls(value[key], sub)
    elif isinstance(value, list):
        for item in value:
            _drop_nulls(item, schema.get("items"))


# --- resources --------------------------------------------------------------------------------

_META_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
               "annotations", "ownerReferences", "finalizers")
_NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
_AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")


def _column(name, description, fmt="", kind="string", priority=0):
    return {"name": name, "type": kind, "format": fmt, "description": description,
            "priority": priority}


_NAME_COLUMN = _column("Name", _NAME_DESCRIPTION, "name")
_AGE_COLUMN = _column("Age", _AGE_DESCRIPTION)


def _render_meta(meta):
    return {key: copy.deepcopy(meta[key]) for key in _META_ORDER if key in meta}


def _ordered(value, t):
    """A value in the field order of its Go type (maps sorted, as encoding/json writes them)."""
    if isinstance(t, GoStruct) and isinstance(value, dict):
        return {k: _ordered(value[k], t.fields[k]) for k in t.fields if k in value}
    if isinstance(t, GoList) and isinstance(value, list):
        return [_ordered(item, t.item) for item in value]
    if isinstance(t, GoMap) and isinstance(value, dict):
        return {k: _ordered(value[k], t.value) for k in sorted(value)}
    return copy.deepcopy(value)


def _sorted_json(value):
    """Unstructured content as encoding/json writes it: every map's keys sorted."""
    if isinstance(value, dict):
        return {k: _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(item) for item in value]
    return value


class _Resource:
    """One resource of one group-version: how its objects are decoded, defaulted, validated,
    rendered and printed, and the strategy hooks of its registry. The REST verbs are shared
    (_Store and _Handler)."""
    group = ""
    version = "v1"
    name = kind = list_kind = singular = ""
    namespaced = False
    short_names = ()
    categories = ()
    verbs = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    status_subresource = False
    custom = False  # a custom resource: unstructured, so list items carry kind and apiVersion
    struct = None  # GoStruct of the kind (everything but metadata)
    schema = {}  # unknown-field schema, for the kinds decoded by hand (secrets, namespaces)
    protobuf = False  # typed clients send this kind as protobuf
    merge_keys = {}  # strategic merge patch: list path -> patchMergeKey
    tracks_generation = False
    returns_deleted_object = False  # DELETE answers the object, not a Status (pods, services)
    selectable_fields = ("metadata.name", "metadata.namespace")
    columns = [_NAME_COLUMN, _AGE_COLUMN]
    patch_types = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH)

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self):
        """The group-resource ("pods", "leases.coordination.k8s.io"): objects are stored
        under it, whatever version they are served in."""
        return _group_resource(self.name, self.group)

    def key(self, obj):
        meta = obj["metadata"]
        return (meta.get("namespace", "") if self.namespaced else "", meta["name"])

    # decoding

    def check_type_meta(self, body):
        """The body's kind and apiVersion must name this kind (400 otherwise)."""
        if not isinstance(body, dict):
            raise bad_request(f"couldn't get version/kind; json parse error: json: cannot "
                              f"unmarshal {_json_type(body)} into Go value of type "
                              f"struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; "
                              f"Kind string \"json:\\\"kind,omitempty\\\"\" }}")
        kind = body.get("kind") or self.kind
        version = body.get("apiVersion") or self.api_version
        if version != self.api_version:
            raise bad_request(f"the API version in the data ({version}) does not match the "
                              f"expected API version ({self.api_version})")
        if kind != self.kind:
            raise bad_request(f"the object provided is unrecognized (must be of type "
                              f"{self.kind}): kind {_go_quote(kind)}")

    def decode(self, body):
        """(object, unknown field paths) from a body whose type meta was checked."""
        typed = _TypedDecoder(self.kind, self.version)
        obj = typed.fields(body, self.struct)
        obj["metadata"] = _Decoder(self.kind, self.version).metadata(body.get("metadata"))
        unknown = [f"metadata.{k}" for k in (body.get("metadata") or {})
                   if k not in _META_SCHEMA] if isinstance(body.get("metadata"), dict) else []
        self.default(obj)
        return obj, unknown + typed.unknown

    def default(self, obj):
        """The defaulting functions of the kind's version (SetDefaults_*)."""

    # strategy

    def validate(self, obj, old=None):
        return self._validate_meta(obj, _dns_subdomain_problems)

    def prepare_create(self, obj, store):
        if self.tracks_generation:
            obj["metadata"]["generation"] = 1

    def prepare_update(self, obj, old, store):
        """A write of the main resource: with a status subresource, status cannot change."""
        if self.status_subresource:
            if "status" in old:
                obj["status"] = copy.deepcopy(old["status"])
            else:
                obj.pop("status", None)

    def spec_changed(self, obj, old):
        """Whether metadata.generation moves: anything but metadata changed."""
        return {k: v for k, v in obj.items() if k != "metadata"} != \
            {k: v for k, v in old.items() if k != "metadata"}

    def prepare_status_update(self, obj, old):
        """A write of the status subresource changes .status only."""
        new = copy.deepcopy(old)
        if "status" in obj:
            new["status"] = copy.deepcopy(obj["status"])
        else:
            new.pop("status", None)
        return new

    # output

    def render(self, obj, version=None):
        out = {"kind": self.kind, "apiVersion": self.api_version,
               "metadata": _render_meta(obj["metadata"])}
        for key, t in self.struct.fields.items():
            if key in obj:
                out[key] = _ordered(obj[key], t)
        return out

    def list_item(self, obj):
        """An item of a list: built-in kinds omit kind and apiVersion there."""
        item = self.render(obj)
        del item["kind"], item["apiVersion"]
        return item

    def cells(self, obj):
        return [obj["metadata"]["name"], _age(obj["metadata"].get("creationTimestamp"))]

    def fields(self, obj):
        meta = obj["metadata"]
        return {"metadata.name": meta["name"], "metadata.namespace": meta.get("namespace", "")}

    def _validate_meta(self, obj, name_problems):
        meta = obj["metadata"]
        errors = []
        name = meta.get("name", "")
        if not name:
            errors.append(FieldError("Required", "metadata.name", None,
                                     "name or generateName is required"))
        else:
            errors += [FieldError("Invalid", "metadata.name", name, p)
                       for p in name_problems(name)]
        if self.namespaced:
            namespace = meta.get("namespace", "")
            errors += [FieldError("Invalid", "metadata.namespace", namespace, p)
                       for p in _dns_label_problems(namespace)]
        for key, value in (meta.get("labels") or {}).items():
            errors += [FieldError("Invalid", "metadata.labels", key, p)
                       for p in _qualified_name_problems(key)]
            errors += [FieldError("Invalid", "metadata.labels", value, p)
                       for p in _label_value_problems(value)]
        annotations = meta.get("annotations") or {}
        for key in annotations:
            errors += [FieldError("Invalid", "metadata.annotations", key, p)
                       for p in _qualified_name_problems(key.lower())]
        if sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items()) > 256 * 1024:
            errors.append(too_long("metadata.annotations", 256 * 1024))
        return errors


class _Secrets(_Resource):
    name, kind, list_kind, singular, namespaced = "secrets", "Secret", "SecretList", "secret", \
        True
    protobuf = True
    schema = {"kind": None, "apiVersion": None, "metadata": _META_SCHEMA, "immutable": None,
              "data": None, "stringData": None, "type": None}
    selectable_fields = ("metadata.name", "metadata.namespace", "type")
    columns = [
        _NAME_COLUMN,
        _column("Type", "Used to facilitate programmatic handling of secret data. More info: "
                        "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"),
        _column("Data", "Data contains the secret data. Each key must consist of alphanumeric "
                        "characters, '-', '_' or '.'. The serialized form of the secret data "
                        "is a base64 encoded string, representing the arbitrary (possibly "
                        "non-string) data value here. Described in "
                        "https://tools.ietf.org/html/rfc4648#section-4"),
        _AGE_COLUMN]

    def decode(self, body):
        decoder = _Decoder("Secret")
        obj = {"metadata": decoder.metadata(body.get("metadata"))}
        immutable = decoder.boolean(body.get("immutable"), "Secret.immutable")
        if immutable is not None:
            obj["immutable"] = immutable
        data = {}
        raw = body.get("data")
        if raw is not None:
            if not isinstance(raw, dict):
                raise decoder.mismatch("Secret.data", raw, "map[string][]uint8")
            for key, value in raw.items():
                data[key] = base64.b64encode(
                    decoder.base64(value, "Secret.data")).decode("ascii")
        # The conversion from v1 merges stringData into data; stringData wins a clash.
        string_data = decoder.string_map(body.get("stringData"), "Secret.stringData")
        for key, value in string_data.items():
            data[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")
        if data:
            obj["data"] = data
        obj["type"] = decoder.string(body.get("type"), "Secret.type") or "Opaque"
        return obj, _unknown_fields(body, self.schema)

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        data = obj.get("data") or {}
        total = 0
        for key, value in data.items():
            errors += [FieldError("Invalid", f"data[{key}]", key, p)
                       for p in _config_key_problems(key)]
            total += len(base64.b64decode(value))
        if total > MAX_SECRET_BYTES:
            errors.append(too_long("data", MAX_SECRET_BYTES))
        errors += self._validate_type(obj, data)
        if old is not None:
            if old.get("immutable"):
                if not obj.get("immutable"):
                    errors.append(FieldError("Forbidden", "immutable", None,
                                             "field is immutable when `immutable` is set"))
                if (old.get("data") or {}) != data:
                    errors.append(FieldError("Forbidden", "data", None,
                                             "field is immutable when `immutable` is set"))
            if obj["type"] != old["type"]:
                errors.append(FieldError("Invalid", "type", obj["type"], "field is immutable"))
        return errors

    @staticmethod
    def _validate_type(obj, data):
        """ValidateSecret's per-type requirements."""
        kind, errors = obj["type"], []

        def require(*keys):
            for key in keys:
                if key not in data:
                    errors.append(FieldError("Required", f"data[{key}]"))

        def require_json(key):
            require(key)
            if key in data:
                try:
                    json.loads(base64.b64decode(data[key]))
                except ValueError as e:
                    errors.append(FieldError("Invalid", f"data[{key}]",
                                             "<secret contents redacted>", str(e)))

        if kind == "kubernetes.io/service-account-token":
            if not (obj["metadata"].get("annotations") or {}).get(
                    "kubernetes.io/service-account.name"):
                errors.append(FieldError(
                    "Required", "metadata.annotations[kubernetes.io/service-account.name]"))
        elif kind == "kubernetes.io/dockercfg":
            require_json(".dockercfg")
        elif kind == "kubernetes.io/dockerconfigjson":
            require_json(".dockerconfigjson")
        elif kind == "kubernetes.io/basic-auth":
            if "username" not in data and "password" not in data:
                require("username", "password")
        elif kind == "kubernetes.io/ssh-auth":
            require("ssh-privatekey")
        elif kind == "kubernetes.io/tls":
            require("tls.crt", "tls.key")
        return errors

    def cells(self, obj):
        meta = obj["metadata"]
        return [meta["name"], obj["type"], len(obj.get("data") or {}),
                _age(meta.get("creationTimestamp"))]

    def fields(self, obj):
        return {"metadata.name": obj["metadata"]["name"],
                "metadata.namespace": obj["metadata"].get("namespace", ""),
                "type": obj["type"]}

    def render(self, obj, version=None):
        """Field order of the Go struct, which is how kube-apiserver's JSON comes out."""
        out = {"kind": "Secret", "apiVersion": "v1", "metadata": _render_meta(obj["metadata"])}
        if "immutable" in obj:
            out["immutable"] = obj["immutable"]
        if obj.get("data"):
            out["data"] = dict(obj["data"])
        out["type"] = obj["type"]
        return out


class _Namespaces(_Resource):
    name, kind, list_kind, singular = "namespaces", "Namespace", "NamespaceList", "namespace"
    short_names = ("ns",)
    verbs = ("create", "delete", "get", "list", "patch", "update", "watch")
    protobuf = True
    returns_deleted_object = True
    schema = {"kind": None, "apiVersion": None, "metadata": _META_SCHEMA,
              "spec": {"finalizers": None}, "status": {"phase": None, "conditions": None}}
    selectable_fields = ("metadata.name", "status.phase")
    columns = [_NAME_COLUMN, _column("Status", "The status of the namespace"), _AGE_COLUMN]

    def decode(self, body):
        decoder = _Decoder("Namespace")
        meta = decoder.metadata(body.get("metadata"))
        meta.pop("namespace", None)  # cluster-scoped: the server clears it
        spec = decoder.object(body.get("spec"), "Namespace.spec", "v1.NamespaceSpec")
        finalizers = decoder.string_list(spec.get("finalizers"), "Namespace.spec.finalizers")
        decoder.object(body.get("status"), "Namespace.status", "v1.NamespaceStatus")
        return {"metadata": meta, "spec": {"finalizers": finalizers or ["kubernetes"]},
                "status": {"phase": "Active"}}, _unknown_fields(body, self.schema)

    def validate(self, obj, old=None):
        # Since 1.21 every namespace carries its name as a label.
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = \
            obj["metadata"].get("name", "")
        if old is not None:
            obj["status"] = copy.deepcopy(old["status"])
        return self._validate_meta(obj, _dns_label_problems)

    def cells(self, obj):
        return [obj["metadata"]["name"], obj["status"]["phase"],
                _age(obj["metadata"].get("creationTimestamp"))]

    def fields(self, obj):
        return {"metadata.name": obj["metadata"]["name"], "status.phase": obj["status"]["phase"]}

    def render(self, obj, version=None):
        return {"kind": "Namespace", "apiVersion": "v1",
                "metadata": _render_meta(obj["metadata"]),
                "spec": copy.deepcopy(obj["spec"]), "status": copy.deepcopy(obj["status"])}


_PROTOCOLS = ("SCTP", "TCP", "UDP")


class _Pods(_Resource):
    name, kind, list_kind, singular, namespaced = "pods", "Pod", "PodList", "pod", True
    short_names, categories = ("po",), ("all",)
    struct = _POD
    status_subresource = True
    returns_deleted_object = True
    merge_keys = {("spec", "containers"): "name", ("spec", "initContainers"): "name",
                  ("spec", "ephemeralContainers"): "name", ("spec", "volumes"): "name",
                  ("spec", "containers", "ports"): "containerPort",
                  ("spec", "containers", "env"): "name",
                  ("spec", "containers", "volumeMounts"): "mountPath",
                  ("spec", "initContainers", "ports"): "containerPort",
                  ("spec", "initContainers", "env"): "name",
                  ("spec", "imagePullSecrets"): "name", ("spec", "hostAliases"): "ip",
                  ("status", "conditions"): "type", ("status", "podIPs"): "ip",
                  ("status", "hostIPs"): "ip"}
    selectable_fields = ("metadata.name", "metadata.namespace", "spec.nodeName",
                         "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                         "spec.hostNetwork", "status.phase", "status.podIP",
                         "status.nominatedNodeName")
    columns = [
        _NAME_COLUMN,
        _column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        _column("Status", "The aggregate status of the containers in this pod."),
        _column("Restarts", "The number of times the containers in this pod have been "
                            "restarted and when the last container in this pod has restarted."),
        _AGE_COLUMN,
        _column("IP", "podIP address allocated to the pod. Routable at least within the "
                      "cluster. Empty if not yet allocated.", priority=1),
        _column("Node", "NodeName indicates in which node this pod is scheduled. If empty, "
                        "this pod is a candidate for scheduling by the scheduler defined in "
                        "schedulerName.", priority=1),
        _column("Nominated Node", "nominatedNodeName is set only when this pod preempts other "
                                  "pods on the node, but it cannot be scheduled right away as "
                                  "preemption victims receive their graceful termination "
                                  "periods.", priority=1),
        _column("Readiness Gates", "If specified, all readiness gates will be evaluated for "
                                   "pod readiness.", priority=1)]

    def default(self, obj):
        # SetDefaults_Pod and what it holds (probes, handlers, volumes, requests from limits).
        kube_pod_validation.default_pod(obj)
        status = obj.setdefault("status", {})
        # The v1 conversion keeps podIP and podIPs[0] (hostIP and hostIPs[0]) the same; the
        # singular field wins a clash.
        for single, plural in (("podIP", "podIPs"), ("hostIP", "hostIPs")):
            if status.get(single):
                ips = status.get(plural) or []
                if not ips or ips[0].get("ip") != status[single]:
                    status[plural] = [{"ip": status[single]}]
            elif status.get(plural):
                status[single] = status[plural][0].get("ip", "")

    def prepare_create(self, obj, store):
        # A real server resets status on create (the kubelet writes it later); tests stand in
        # for the kubelet, so the status given is kept.
        obj.setdefault("status", {}).setdefault("phase", "Pending")
        # The one effect of the ServiceAccount admission plugin reproduced here: it runs
        # before validation and names the namespace's "default" account when none is given
        # (which, for one, lets a projected serviceAccountToken volume through).
        spec = obj.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = "default"

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        # Everything the spec is checked for (containers, probes, volumes, env, ...).
        errors += kube_pod_validation.validate_pod(obj, old)
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        for index, entry in enumerate(status.get("podIPs") or []):
            errors += [FieldError("Invalid", f"status.podIPs[{index}].ip", entry.get("ip"), p)
                       for p in _ip_problems(entry.get("ip", ""))]
        resized = old is not None and any(
            len(spec.get(f) or []) != len(old["spec"].get(f) or [])
            for f in ("containers", "initContainers"))  # reported alone, as Go returns early
        if old is not None and not resized and \
                self._mutable_spec(spec) != self._mutable_spec(old["spec"]):
            errors.append(FieldError(
                "Forbidden", "spec", None,
                "pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                "`spec.tolerations` (only additions to existing tolerations),"
                "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                "previously negative)"))
        return errors

    @staticmethod
    def _mutable_spec(spec):
        """The spec without what a pod update may change."""
        masked = copy.deepcopy(spec)
        for field in ("containers", "initContainers"):
            for container in masked.get(field) or []:
                container.pop("image", None)
        for field in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
            masked.pop(field, None)
        return masked

    def spec_changed(self, obj, old):
        return False  # pods have no metadata.generation before 1.33

    def cells(self, obj):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        statuses = status.get("containerStatuses") or []
        ready = sum(1 for s in statuses if s.get("ready"))
        restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
        reason = status.get("reason") or status.get("phase") or ""
        for entry in statuses:
            state = entry.get("state") or {}
            for phase in ("waiting", "terminated"):
                if (state.get(phase) or {}).get("reason"):
                    reason = state[phase]["reason"]
        if obj["metadata"].get("deletionTimestamp") and reason != "NodeLost":
            reason = "Terminating"
        gates = spec.get("readinessGates") or []
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        gate_text = f"{sum(1 for g in gates if conditions.get(g.get('conditionType')) == 'True')}" \
                    f"/{len(gates)}" if gates else "<none>"
        return [obj["metadata"]["name"], f"{ready}/{len(spec.get('containers') or [])}", reason,
                str(restarts), _age(obj["metadata"].get("creationTimestamp")),
                status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
                status.get("nominatedNodeName") or "<none>", gate_text]

    def fields(self, obj):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return {"metadata.name": obj["metadata"]["name"],
                "metadata.namespace": obj["metadata"].get("namespace", ""),
                "spec.nodeName": spec.get("nodeName", ""),
                "spec.restartPolicy": spec.get("restartPolicy", ""),
                "spec.schedulerName": spec.get("schedulerName", ""),
                "spec.serviceAccountName": spec.get("serviceAccountName", ""),
                "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
                "status.phase": status.get("phase", ""),
                "status.podIP": status.get("podIP", ""),
                "status.nominatedNodeName": status.get("nominatedNodeName", "")}


class _Services(_Resource):
    name, kind, list_kind, singular, namespaced = "services", "Service", "ServiceList", \
        "service", True
    short_names, categories = ("svc",), ("all",)
    struct = _SERVICE
    status_subresource = True
    returns_deleted_object = True
    merge_keys = {("spec", "ports"): "port"}
    selectable_fields = ("metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type")
    types = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
    columns = [
        _NAME_COLUMN,
        _column("Type", "type determines how the Service is exposed. Defaults to ClusterIP."),
        _column("Cluster-IP", "clusterIP is the IP address of the service and is usually "
                              "assigned randomly."),
        _column("External-IP", "externalIPs is a list of IP addresses for which nodes in the "
                               "cluster will also accept traffic for this service."),
        _column("Port(s)", "The list of ports that are exposed by this service."),
        _AGE_COLUMN,
        _column("Selector", "Route service traffic to pods with label keys and values matching "
                            "this selector.", priority=1)]

    def default(self, obj):
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName":
            spec.setdefault("sessionAffinity", "None")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
        obj.setdefault("status", {"loadBalancer": {}})

    def prepare_create(self, obj, store):
        obj["status"] = {"loadBalancer": {}}
        self._allocate(obj, store, None)

    def prepare_update(self, obj, old, store):
        super().prepare_update(obj, old, store)
        spec, before = obj["spec"], old["spec"]
        # patchAllocatedValues: what the server allocated is kept when the update leaves it out.
        if not spec.get("clusterIP") and before.get("clusterIP") and \
                spec.get("type") != "ExternalName":
            spec["clusterIP"] = before["clusterIP"]
            spec.setdefault("clusterIPs", before.get("clusterIPs"))
        for field in ("ipFamilies", "ipFamilyPolicy"):
            if field not in spec and field in before and spec.get("type") != "ExternalName":
                spec[field] = copy.deepcopy(before[field])
        old_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                     for p in before.get("ports") or []}
        for port in spec.get("ports") or []:
            if "nodePort" not in port and old_ports.get((port.get("port"),
                                                         port.get("protocol"))):
                port["nodePort"] = old_ports[(port.get("port"), port.get("protocol"))]
        self._allocate(obj, store, old)

    def _allocate(self, obj, store, old):
        """The cluster IP and node ports, as the allocators hand them out; errors are left
        for validate() to report (it sees the 'allocationError' marker)."""
        spec = obj["spec"]
        if spec.get("type") == "ExternalName":
            return
        used = {s["spec"].get("clusterIP") for key, s in store.objects_of(self)
                if old is None or key != self.key(old)}
        wanted = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0]
        if wanted == "None":
            spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
        elif wanted:
            if old is None or wanted != old["spec"].get("clusterIP"):
                problem = None
                try:
                    address = ipaddress.ip_address(wanted)
                except ValueError:
                    address = None
                if address is None or address not in SERVICE_CIDR:
                    problem = f"failed to allocate IP {wanted}: the provided IP ({wanted}) is " \
                              f"not in the valid range. The range of valid IPs is {SERVICE_CIDR}"
                elif wanted in used:
                    problem = f"failed to allocate IP {wanted}: provided IP is already allocated"
                if problem:
                    obj["metadata"]["allocationError"] = problem
            spec["clusterIP"], spec["clusterIPs"] = wanted, [wanted]
        else:
            hosts = SERVICE_CIDR.num_addresses
            while True:
                candidate = str(SERVICE_CIDR.network_address + random.randrange(2, hosts - 1))
                if candidate not in used:
                    break
            spec["clusterIP"], spec["clusterIPs"] = candidate, [candidate]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            taken = {p.get("nodePort") for _, s in store.objects_of(self)
                     for p in s["spec"].get("ports") or []}
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    while True:
                        candidate = random.randint(*NODE_PORTS)
                        if candidate not in taken:
                            break
                    port["nodePort"] = candidate
                    taken.add(candidate)

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns1035_label_problems)
        spec = obj.get("spec") or {}
        kind = spec.get("type")
        if kind not in self.types:
            errors.append(not_supported("spec.type", kind, self.types))
        ports = spec.get("ports") or []
        if kind == "ExternalName":
            if not spec.get("externalName"):
                errors.append(FieldError("Required", "spec.externalName"))
            if spec.get("clusterIP"):
                errors.append(FieldError("Forbidden", "spec.clusterIPs", None,
                                         "may not be set for ExternalName services"))
        elif not ports and spec.get("clusterIP") != "None":
            errors.append(FieldError("Required", "spec.ports"))
        names = set()
        for index, port in enumerate(ports):
            path = f"spec.ports[{index}]"
            name = port.get("name", "")
            if len(ports) > 1 and not name:
                errors.append(FieldError("Required", f"{path}.name"))
            elif name:
                errors += [FieldError("Invalid", f"{path}.name", name, p)
                           for p in _dns_label_problems(name)]
                if name in names:
                    errors.append(FieldError("Duplicate", f"{path}.name", name))
                names.add(name)
            errors += [FieldError("Invalid", f"{path}.port", port.get("port", 0), p)
                       for p in _port_problems(port.get("port", 0))]
            if port.get("protocol") not in _PROTOCOLS:
                errors.append(not_supported(f"{path}.protocol", port.get("protocol"),
                                            _PROTOCOLS))
            target = port.get("targetPort")
            if isinstance(target, int) and target != 0:
                errors += [FieldError("Invalid", f"{path}.targetPort", target, p)
                           for p in _port_problems(target)]
        problem = obj["metadata"].pop("allocationError", None)
        if problem:
            errors.append(FieldError("Invalid", "spec.clusterIPs",
                                     tuple(spec.get("clusterIPs") or []), problem))
        if old is not None and old["spec"].get("clusterIP") and \
                spec.get("clusterIP") != old["spec"]["clusterIP"] and kind != "ExternalName" \
                and old["spec"].get("type") != "ExternalName":
            errors.append(FieldError("Invalid", "spec.clusterIPs[0]",
                                     tuple(spec.get("clusterIPs") or []),
                                     "may not change once set"))
        return errors

    def spec_changed(self, obj, old):
        return False  # services have no metadata.generation

    def cells(self, obj):
        spec = obj.get("spec") or {}
        kind = spec.get("type", "ClusterIP")
        external = ",".join(spec.get("externalIPs") or [])
        if kind == "ExternalName":
            external = spec.get("externalName", "")
        elif kind == "LoadBalancer":
            ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            external = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress) or \
                external or "<pending>"
        ports = []
        for port in spec.get("ports") or []:
            text = str(port.get("port"))
            if port.get("nodePort") and kind in ("NodePort", "LoadBalancer"):
                text += f":{port['nodePort']}"
            ports.append(f"{text}/{port.get('protocol', 'TCP')}")
        selector = spec.get("selector") or {}
        return [obj["metadata"]["name"], kind, spec.get("clusterIP") or "<none>",
                external or "<none>", ",".join(ports) or "<none>",
                _age(obj["metadata"].get("creationTimestamp")),
                ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"]

    def fields(self, obj):
        spec = obj.get("spec") or {}
        return {"metadata.name": obj["metadata"]["name"],
                "metadata.namespace": obj["metadata"].get("namespace", ""),
                "spec.clusterIP": spec.get("clusterIP", ""), "spec.type": spec.get("type", "")}


class _EndpointSlices(_Resource):
    group, name, kind, list_kind, singular, namespaced = "discovery.k8s.io", "endpointslices", \
        "EndpointSlice", "EndpointSliceList", "endpointslice", True
    struct = _ENDPOINT_SLICE
    tracks_generation = True
    address_types = ("FQDN", "IPv4", "IPv6")
    columns = [
        _NAME_COLUMN,
        _column("AddressType", "addressType specifies the type of address carried by this "
                               "EndpointSlice. All addresses in this slice must be the same "
                               "type."),
        _column("Ports", "ports specifies the list of network ports exposed by each endpoint "
                         "in this slice."),
        _column("Endpoints", "endpoints is a list of unique endpoints in this slice."),
        _AGE_COLUMN]

    def default(self, obj):
        for port in obj.get("ports") or []:
            port.setdefault("name", "")
            port.setdefault("protocol", "TCP")
        obj.setdefault("endpoints", None)  # no omitempty: an empty slice says null

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        kind = obj.get("addressType")
        if not kind:
            errors.append(FieldError("Required", "addressType"))
        elif kind not in self.address_types:
            errors.append(not_supported("addressType", kind, self.address_types))
        endpoints = obj.get("endpoints") or []
        if len(endpoints) > 1000:
            errors.append(too_many("endpoints", len(endpoints), 1000))
        for index, endpoint in enumerate(endpoints):
            path = f"endpoints[{index}]"
            addresses = endpoint.get("addresses") or []
            if not addresses:
                errors.append(FieldError("Required", f"{path}.addresses", None,
                                         "must contain at least 1 address"))
            elif len(addresses) > 100:
                errors.append(too_many(f"{path}.addresses", len(addresses), 100))
            for number, address in enumerate(addresses):
                field = f"{path}.addresses[{number}]"
                if kind == "IPv4":
                    problems = _ip_problems(address, 4)
                elif kind == "IPv6":
                    problems = _ip_problems(address, 6)
                else:
                    problems = _dns_subdomain_problems(address)
                errors += [FieldError("Invalid", field, address, p) for p in problems]
            if endpoint.get("nodeName"):
                errors += [FieldError("Invalid", f"{path}.nodeName", endpoint["nodeName"], p)
                           for p in _dns_subdomain_problems(endpoint["nodeName"])]
            if endpoint.get("hostname"):
                errors += [FieldError("Invalid", f"{path}.hostname", endpoint["hostname"], p)
                           for p in _dns_label_problems(endpoint["hostname"])]
        names = set()
        for index, port in enumerate(obj.get("ports") or []):
            path = f"ports[{index}]"
            name = port.get("name", "")
            if name:
                errors += [FieldError("Invalid", f"{path}.name", name, p)
                           for p in _dns_label_problems(name)]
            if name in names:
                errors.append(FieldError("Duplicate", f"{path}.name", name))
            names.add(name)
            if port.get("protocol") not in _PROTOCOLS:
                errors.append(not_supported(f"{path}.protocol", port.get("protocol"),
                                            _PROTOCOLS))
            if "port" in port:
                errors += [FieldError("Invalid", f"{path}.port", port["port"], p)
                           for p in _port_problems(port["port"])]
        if old is not None and old.get("addressType") != kind:
            errors.append(FieldError("Invalid", "addressType", kind, "field is immutable"))
        return errors

    def spec_changed(self, obj, old):
        # Anything but metadata, and the labels too (the EndpointSlice strategy's rule).
        return super().spec_changed(obj, old) or \
            obj["metadata"].get("labels") != old["metadata"].get("labels")

    def cells(self, obj):
        ports = [str(p["port"]) if p.get("port") is not None else p.get("name") or "*"
                 for p in obj.get("ports") or []]
        addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
        return [obj["metadata"]["name"], obj.get("addressType", ""), _with_more(ports),
                _with_more(addresses), _age(obj["metadata"].get("creationTimestamp"))]


def _with_more(values, limit=3):
    """listWithMoreString of kubectl's printers."""
    text = ",".join(values[:limit])
    if len(values) > limit:
        return f"{text} + {len(values) - limit} more..."
    return text or "<unset>"


class _Leases(_Resource):
    group, name, kind, list_kind, singular, namespaced = "coordination.k8s.io", "leases", \
        "Lease", "LeaseList", "lease", True
    struct = _LEASE
    columns = [_NAME_COLUMN, _column("Holder", "holderIdentity contains the identity of the "
                                               "holder of a current lease."), _AGE_COLUMN]

    def default(self, obj):
        spec = obj.setdefault("spec", {})
        # strategy and preferredHolder belong to the CoordinatedLeaderElection feature, off by
        # default in 1.32: the server drops them.
        spec.pop("strategy", None)
        spec.pop("preferredHolder", None)

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        spec = obj.get("spec") or {}
        if "leaseDurationSeconds" in spec and spec["leaseDurationSeconds"] <= 0:
            errors.append(FieldError("Invalid", "spec.leaseDurationSeconds",
                                     spec["leaseDurationSeconds"], "must be greater than 0"))
        if "leaseTransitions" in spec and spec["leaseTransitions"] < 0:
            errors.append(FieldError("Invalid", "spec.leaseTransitions",
                                     spec["leaseTransitions"],
                                     "must be greater than or equal to 0"))
        return errors

    def spec_changed(self, obj, old):
        return False

    def cells(self, obj):
        return [obj["metadata"]["name"], (obj.get("spec") or {}).get("holderIdentity", ""),
                _age(obj["metadata"].get("creationTimestamp"))]


class _ConfigMaps(_Resource):
    name, kind, list_kind, singular, namespaced = "configmaps", "ConfigMap", "ConfigMapList", \
        "configmap", True
    short_names = ("cm",)
    struct = _CONFIG_MAP
    columns = [_NAME_COLUMN, _column("Data", "Data contains the configuration data.",
                                     kind="integer"), _AGE_COLUMN]

    def decode(self, body):
        obj, unknown = super().decode(body)
        decoder = _Decoder("ConfigMap")
        for key, value in (obj.get("binaryData") or {}).items():
            # []byte: base64 on the wire, checked like a Secret's data.
            obj["binaryData"][key] = base64.b64encode(
                decoder.base64(value, "ConfigMap.binaryData")).decode("ascii")
        return obj, unknown

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
        total = 0
        for field, entries in (("data", data), ("binaryData", binary)):
            for key, value in entries.items():
                errors += [FieldError("Invalid", f"{field}[{key}]", key, p)
                           for p in _config_key_problems(key)]
                total += len(value) if field == "data" else len(base64.b64decode(value))
        for key in sorted(set(data) & set(binary)):
            errors.append(FieldError("Invalid", "data", key,
                                     "duplicate of key present in binaryData"))
        if total > MAX_SECRET_BYTES:
            errors.append(too_long("", MAX_SECRET_BYTES))
        if old is not None and old.get("immutable"):
            if not obj.get("immutable"):
                errors.append(FieldError("Forbidden", "immutable", None,
                                         "field is immutable when `immutable` is set"))
            if (old.get("data") or {}) != data or (old.get("binaryData") or {}) != binary:
                errors.append(FieldError("Forbidden", "data", None,
                                         "field is immutable when `immutable` is set"))
        return errors

    def cells(self, obj):
        return [obj["metadata"]["name"],
                len(obj.get("data") or {}) + len(obj.get("binaryData") or {}),
                _age(obj["metadata"].get("creationTimestamp"))]


def _selector_errors(selector, path):
    """ValidateLabelSelector: known operators, values only with In and NotIn."""
    errors = []
    for index, requirement in enumerate((selector or {}).get("matchExpressions") or []):
        where, operator = f"{path}.matchExpressions[{index}]", requirement.get("operator", "")
        values = requirement.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                errors.append(FieldError("Required", f"{where}.values", None,
                                         "must be specified when `operator` is 'In' or "
                                         "'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errors.append(FieldError("Forbidden", f"{where}.values", None,
                                         "may not be specified when `operator` is 'Exists' "
                                         "or 'DoesNotExist'"))
        else:
            errors.append(FieldError("Invalid", f"{where}.operator", operator,
                                     "not a valid selector operator"))
        errors += [FieldError("Invalid", f"{where}.key", requirement.get("key", ""), p)
                   for p in _qualified_name_problems(requirement.get("key", ""))]
    for key, value in ((selector or {}).get("matchLabels") or {}).items():
        errors += [FieldError("Invalid", f"{path}.matchLabels", key, p)
                   for p in _qualified_name_problems(key)]
        errors += [FieldError("Invalid", f"{path}.matchLabels", value, p)
                   for p in _label_value_problems(value)]
    return errors


def _selector_matches(selector, labels):
    """Whether a LabelSelector selects an object with `labels`."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement.get("key", ""), requirement.get("operator", "")
        values = requirement.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


# kubectl get -o wide of the workloads: their containers' names and images, and the selector.
_WIDE_COLUMNS = [_column("Containers", "Names of each container in the template.", priority=1),
                 _column("Images", "Images referenced by each container in the template.",
                         priority=1),
                 _column("Selector", "Label selector for pods.", priority=1)]


def _wide_cells(template, selector):
    containers = ((template or {}).get("spec") or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers),
            kube_workload_validation.format_selector(selector)]


def _template_merge_keys(prefix):
    """A pod template's strategic-merge keys (the PodSpec's patchMergeKey tags) under
    `prefix`."""
    keys = {}
    for field in ("containers", "initContainers", "ephemeralContainers"):
        keys[prefix + ("spec", field)] = "name"
        keys[prefix + ("spec", field, "ports")] = "containerPort"
        keys[prefix + ("spec", field, "env")] = "name"
        keys[prefix + ("spec", field, "volumeMounts")] = "mountPath"
        keys[prefix + ("spec", field, "volumeDevices")] = "devicePath"
    for field in ("volumes", "imagePullSecrets", "resourceClaims", "schedulingGates"):
        keys[prefix + ("spec", field)] = "name"
    keys[prefix + ("spec", "hostAliases")] = "ip"
    keys[prefix + ("spec", "topologySpreadConstraints")] = "topologyKey"
    return keys


class _Deployments(_Resource):
    """No controller: nothing makes ReplicaSets or pods, and the status is what tests write
    (update_status), as the deployment controller would."""
    group, name, kind, list_kind, singular, namespaced = "apps", "deployments", "Deployment", \
        "DeploymentList", "deployment", True
    short_names, categories = ("deploy",), ("all",)
    struct = _DEPLOYMENT
    status_subresource = True
    tracks_generation = True
    merge_keys = {**_template_merge_keys(("spec", "template")), ("status", "conditions"): "type"}
    columns = [
        _NAME_COLUMN,
        _column("Ready", "Number of the pod with ready state"),
        _column("Up-to-date", "Total number of non-terminated pods targeted by this deployment "
                              "that have the desired template spec.", kind="integer"),
        _column("Available", "Total number of available pods (ready for at least "
                             "minReadySeconds) targeted by this deployment.", kind="integer"),
        _AGE_COLUMN] + _WIDE_COLUMNS

    def default(self, obj):
        """SetDefaults_Deployment of apps/v1, and the template's pod defaults."""
        kube_workload_validation.default_deployment(obj)

    def validate(self, obj, old=None):
        # The spec and its pod template as ValidateDeploymentSpec checks them; on update the
        # selector is fixed (apps/v1).
        return self._validate_meta(obj, _dns_subdomain_problems) + \
            kube_workload_validation.validate_deployment(obj, old)

    def cells(self, obj):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return [obj["metadata"]["name"],
                f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
                status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
                _age(obj["metadata"].get("creationTimestamp"))] + \
            _wide_cells(spec.get("template"), spec.get("selector"))


class _Workload(_Resource):
    """The other apps/v1 and batch/v1 kinds: stored, defaulted and validated as
    kube-apiserver does (kube_workload_validation), with kubectl's columns. No controller: no
    pods are made, and the status is what tests write (update_status)."""
    namespaced = True
    categories = ("all",)
    status_subresource = True
    tracks_generation = True
    template_path = ("spec", "template")
    defaults = validation = None  # kube_workload_validation's functions for the kind
    name_problems = staticmethod(_dns_subdomain_problems)

    @property
    def merge_keys(self):
        return {**_template_merge_keys(self.template_path), ("status", "conditions"): "type"}

    def default(self, obj):
        self.defaults(obj)

    def validate(self, obj, old=None):
        return self._validate_meta(obj, self.name_problems) + self.validation(obj, old)


class _ReplicaSets(_Workload):
    group, name, kind, list_kind, singular = "apps", "replicasets", "ReplicaSet", \
        "ReplicaSetList", "replicaset"
    short_names = ("rs",)
    struct = _REPLICA_SET
    defaults = staticmethod(kube_workload_validation.default_replica_set)
    validation = staticmethod(kube_workload_validation.validate_replica_set)
    columns = [_NAME_COLUMN,
               _column("Desired", "Number of desired pods.", kind="integer"),
               _column("Current", "Number of actual pods.", kind="integer"),
               _column("Ready", "Number of ready pods.", kind="integer"),
               _AGE_COLUMN] + _WIDE_COLUMNS

    def cells(self, obj):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return [obj["metadata"]["name"], spec.get("replicas", 0), status.get("replicas", 0),
                status.get("readyReplicas", 0), _age(obj["metadata"].get("creationTimestamp"))] \
            + _wide_cells(spec.get("template"), spec.get("selector"))


class _DaemonSets(_Workload):
    group, name, kind, list_kind, singular = "apps", "daemonsets", "DaemonSet", \
        "DaemonSetList", "daemonset"
    short_names = ("ds",)
    struct = _DAEMON_SET
    defaults = staticmethod(kube_workload_validation.default_daemon_set)
    validation = staticmethod(kube_workload_validation.validate_daemon_set)
    columns = [_NAME_COLUMN,
               _column("Desired", "The total number of nodes that should be running the daemon "
                                  "pod.", kind="integer"),
               _column("Current", "The number of nodes running at least one daemon pod.",
                       kind="integer"),
               _column("Ready", "The number of nodes running the daemon pod ready.",
                       kind="integer"),
               _column("Up-to-date", "The number of nodes running the updated daemon pod.",
                       kind="integer"),
               _column("Available", "The number of nodes running the daemon pod available.",
                       kind="integer"),
               _column("Node Selector", "The node selector of the daemon pod."),
               _AGE_COLUMN] + _WIDE_COLUMNS

    def cells(self, obj):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
        return [obj["metadata"]["name"], status.get("desiredNumberScheduled", 0),
                status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
                status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
                ",".join(f"{k}={v}" for k, v in sorted((node_selector or {}).items()))
                or "<none>", _age(obj["metadata"].get("creationTimestamp"))] + \
            _wide_cells(spec.get("template"), spec.get("selector"))


class _StatefulSets(_Workload):
    group, name, kind, list_kind, singular = "apps", "statefulsets", "StatefulSet", \
        "StatefulSetList", "statefulset"
    short_names = ("sts",)
    struct = _STATEFUL_SET
    name_problems = staticmethod(_dns_label_problems)  # pods' hostnames come from it
    defaults = staticmethod(kube_workload_validation.default_stateful_set)
    validation = staticmethod(kube_workload_validation.validate_stateful_set)
    columns = [_NAME_COLUMN,
               _column("Ready", "Number of the pod with ready state."), _AGE_COLUMN] + \
        _WIDE_COLUMNS[:2]

    def cells(self, obj):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return [obj["metadata"]["name"],
                f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
                _age(obj["metadata"].get("creationTimestamp"))] + \
            _wide_cells(spec.get("template"), spec.get("selector"))[:2]


class _Jobs(_Workload):
    group, name, kind, list_kind, singular = "batch", "jobs", "Job", "JobList", "job"
    struct = _JOB
    defaults = staticmethod(kube_workload_validation.default_job)
    validation = staticmethod(kube_workload_validation.validate_job)
    columns = [_NAME_COLUMN,
               _column("Status", "Status of the job."),
               _column("Completions", "The completion status of the job."),
               _column("Duration", "Time required to complete the job."),
               _AGE_COLUMN] + _WIDE_COLUMNS

    def prepare_create(self, obj, store):
        # The strategy labels the template and selects by the uid, so the uid comes first.
        obj["metadata"]["uid"] = str(uuid.uuid4())
        kube_workload_validation.generate_job_selector(obj)
        # SetDefaults_Job gives a Job without labels its template's; a real server runs it
        # again when it reads the Job back, by when the generated labels are there.
        labels = ((obj["spec"].get("template") or {}).get("metadata") or {}).get("labels")
        if labels and not obj["metadata"].get("labels"):
            obj["metadata"]["labels"] = dict(labels)
        super().prepare_create(obj, store)

    def cells(self, obj):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        conditions = {c.get("type") for c in status.get("conditions") or []
                      if isinstance(c, dict) and c.get("status") == "True"}
        state = next((name for name in ("Complete", "Failed") if name in conditions), None)
        if state is None and obj["metadata"].get("deletionTimestamp"):
            state = "Terminating"
        state = state or next((name for name in ("Suspended", "FailureTarget",
                                                 "SuccessCriteriaMet") if name in conditions),
                              "Running")
        succeeded = status.get("succeeded", 0)
        completions = f"{succeeded}/{spec['completions']}" if spec.get("completions") \
            is not None else f"{succeeded}/1 of {spec.get('parallelism', 1)}"
        duration = _age(status["startTime"]) if status.get("startTime") else ""
        return [obj["metadata"]["name"], state, completions, duration,
                _age(obj["metadata"].get("creationTimestamp"))] + \
            _wide_cells(spec.get("template"), spec.get("selector"))


class _CronJobs(_Workload):
    group, name, kind, list_kind, singular = "batch", "cronjobs", "CronJob", "CronJobList", \
        "cronjob"
    short_names = ("cj",)
    struct = _CRON_JOB
    template_path = ("spec", "jobTemplate", "spec", "template")
    defaults = staticmethod(kube_workload_validation.default_cron_job)
    validation = staticmethod(kube_workload_validation.validate_cron_job)
    columns = [_NAME_COLUMN,
               _column("Schedule", "The schedule in Cron format."),
               _column("Timezone", "The time zone name for the given schedule."),
               _column("Suspend", "Whether subsequent executions are suspended.",
                       kind="boolean"),
               _column("Active", "Pointers to currently running jobs.", kind="integer"),
               _column("Last Schedule", "Last time the job was successfully scheduled."),
               _AGE_COLUMN] + _WIDE_COLUMNS

    def cells(self, obj):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        last = status.get("lastScheduleTime")
        return [obj["metadata"]["name"], spec.get("schedule", ""),
                spec.get("timeZone") or "<none>", "True" if spec.get("suspend") else "False",
                len(status.get("active") or []), _age(last) if last else "<none>",
                _age(obj["metadata"].get("creationTimestamp"))] + \
            _wide_cells(job_spec.get("template"), job_spec.get("selector"))


_WEBHOOK_OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")


class _MutatingWebhookConfigurations(_Resource):
    """Stored and validated only: no admission is run (pods are created as they are sent)."""
    group, name, kind, list_kind, singular = "admissionregistration.k8s.io", \
        "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", \
        "MutatingWebhookConfigurationList", "mutatingwebhookconfiguration"
    struct = _MUTATING_WEBHOOK_CONFIGURATION
    tracks_generation = True
    merge_keys = {("webhooks",): "name"}
    columns = [_NAME_COLUMN, _column("Webhooks", "Webhooks is a list of webhooks and the "
                                                 "affected resources and operations.",
                                     kind="integer"), _AGE_COLUMN]

    def decode(self, body):
        obj, unknown = super().decode(body)
        decoder = _Decoder(self.kind)
        for webhook in obj.get("webhooks") or []:
            config = webhook.get("clientConfig") or {}
            if "caBundle" in config:
                # []byte: base64 on the wire.
                config["caBundle"] = base64.b64encode(decoder.base64(
                    config["caBundle"], "WebhookClientConfig.clientConfig.caBundle")).decode()
        return obj, unknown

    def default(self, obj):
        """SetDefaults_MutatingWebhook of admissionregistration/v1."""
        for webhook in obj.get("webhooks") or []:
            webhook.setdefault("failurePolicy", "Fail")
            webhook.setdefault("matchPolicy", "Equivalent")
            webhook.setdefault("namespaceSelector", {})
            webhook.setdefault("objectSelector", {})
            webhook.setdefault("timeoutSeconds", 10)
            webhook.setdefault("reinvocationPolicy", "Never")
            for rule in webhook.get("rules") or []:
                rule.setdefault("scope", "*")
            service = (webhook.get("clientConfig") or {}).get("service")
            if service is not None:
                service.setdefault("port", 443)

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        names = set()
        for index, webhook in enumerate(obj.get("webhooks") or []):
            errors += self._webhook_errors(webhook, f"webhooks[{index}]", names)
        return errors

    @staticmethod
    def _webhook_errors(webhook, path, names):
        errors = []
        name = webhook.get("name", "")
        if not name:
            errors.append(FieldError("Required", f"{path}.name"))
        elif name in names:
            errors.append(FieldError("Duplicate", f"{path}.name", name))
        else:
            names.add(name)
            if len(name.split(".")) < 3 or _dns_subdomain_problems(name):
                errors.append(FieldError("Invalid", f"{path}.name", name,
                                         "should be a domain with at least three segments "
                                         "separated by dots"))
        config = webhook.get("clientConfig") or {}
        service = config.get("service")
        if bool(config.get("url")) == (service is not None):
            errors.append(FieldError("Required", f"{path}.clientConfig", None,
                                     "exactly one of url or service is required"))
        if service is not None:
            where = f"{path}.clientConfig.service"
            if not service.get("name"):
                errors.append(FieldError("Required", f"{where}.name", None,
                                         "service name is required"))
            if not service.get("namespace"):
                errors.append(FieldError("Required", f"{where}.namespace", None,
                                         "service namespace is required"))
            if service.get("path") and not service["path"].startswith("/"):
                errors.append(FieldError("Invalid", f"{where}.path", service["path"],
                                         "must start with a '/'"))
            if not 1 <= service.get("port", 443) <= 65535:
                errors.append(FieldError("Invalid", f"{where}.port", service["port"],
                                         "port is not valid: must be between 1 and 65535, "
                                         "inclusive"))
        for index, rule in enumerate(webhook.get("rules") or []):
            where = f"{path}.rules[{index}]"
            for field in ("operations", "apiGroups", "apiVersions", "resources"):
                if not rule.get(field):
                    errors.append(FieldError("Required", f"{where}.{field}"))
            for operation in rule.get("operations") or []:
                if operation not in _WEBHOOK_OPERATIONS:
                    errors.append(not_supported(f"{where}.operations", operation,
                                                _WEBHOOK_OPERATIONS))
            if rule.get("scope", "*") not in ("*", "Cluster", "Namespaced"):
                errors.append(not_supported(f"{where}.scope", rule["scope"],
                                            ("*", "Cluster", "Namespaced")))
        for field, allowed in (("failurePolicy", ("Fail", "Ignore")),
                               ("matchPolicy", ("Equivalent", "Exact")),
                               ("reinvocationPolicy", ("IfNeeded", "Never"))):
            if webhook.get(field) not in allowed:
                errors.append(not_supported(f"{path}.{field}", webhook.get(field), allowed))
        side_effects = webhook.get("sideEffects")
        if not side_effects:
            errors.append(FieldError("Required", f"{path}.sideEffects"))
        elif side_effects not in ("None", "NoneOnDryRun"):
            errors.append(not_supported(f"{path}.sideEffects", side_effects,
                                        ("None", "NoneOnDryRun")))
        versions = webhook.get("admissionReviewVersions") or []
        if not {"v1", "v1beta1"} & set(versions):
            errors.append(FieldError("Required", f"{path}.admissionReviewVersions", None,
                                     "must specify one of v1, v1beta1"))
        if not 1 <= webhook.get("timeoutSeconds", 10) <= 30:
            errors.append(FieldError("Invalid", f"{path}.timeoutSeconds",
                                     webhook["timeoutSeconds"], "the timeout value must be "
                                                                "between 1 and 30 seconds"))
        for field in ("namespaceSelector", "objectSelector"):
            errors += _selector_errors(webhook.get(field), f"{path}.{field}")
        return errors

    def cells(self, obj):
        return [obj["metadata"]["name"], len(obj.get("webhooks") or []),
                _age(obj["metadata"].get("creationTimestamp"))]


_CRD_CONDITIONS = (("NamesAccepted", "NoConflicts", "no conflicts found"),
                   ("Established", "InitialNamesAccepted", "the initial names have been "
                                                           "accepted"))


class _CustomResourceDefinitions(_Resource):
    group, name, kind, list_kind, singular = "apiextensions.k8s.io", \
        "customresourcedefinitions", "CustomResourceDefinition", \
        "CustomResourceDefinitionList", "customresourcedefinition"
    short_names = ("crd", "crds")
    categories = ("api-extensions",)
    struct = _CRD
    status_subresource = True
    returns_deleted_object = True
    tracks_generation = True
    columns = [_NAME_COLUMN, _column("Created At", _AGE_DESCRIPTION, kind="date")]

    def default(self, obj):
        spec = obj.setdefault("spec", {})
        names = spec.setdefault("names", {})
        if names.get("kind"):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
        spec.setdefault("conversion", {"strategy": "None"})

    def prepare_create(self, obj, store):
        super().prepare_create(obj, store)
        spec = obj["spec"]
        now = _now_rfc3339()
        obj["status"] = {
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": now,
                            "reason": r, "message": m} for t, r, m in _CRD_CONDITIONS],
            "acceptedNames": copy.deepcopy(spec.get("names") or {}),
            "storedVersions": [v["name"] for v in spec.get("versions") or []
                               if v.get("storage")]}

    def prepare_update(self, obj, old, store):
        super().prepare_update(obj, old, store)
        status = obj.setdefault("status", {})
        status["acceptedNames"] = copy.deepcopy(obj["spec"].get("names") or {})
        stored = status.setdefault("storedVersions", [])
        for version in obj["spec"].get("versions") or []:
            if version.get("storage") and version.get("name") not in stored:
                stored.append(version["name"])

    def spec_changed(self, obj, old):
        return obj.get("spec") != old.get("spec")

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        spec = obj.get("spec") or {}
        group = spec.get("group", "")
        names = spec.get("names") or {}
        plural, kind = names.get("plural", ""), names.get("kind", "")
        if obj["metadata"].get("name") and obj["metadata"]["name"] != f"{plural}.{group}":
            errors.append(FieldError("Invalid", "metadata.name", obj["metadata"]["name"],
                                     'must be spec.names.plural+"."+spec.group'))
        if not group:
            errors.append(FieldError("Required", "spec.group"))
        elif "." not in group:
            errors.append(FieldError("Invalid", "spec.group", group,
                                     "should be a domain with at least one dot"))
        else:
            errors += [FieldError("Invalid", "spec.group", group, p)
                       for p in _dns_subdomain_problems(group)]
        for field, value in (("plural", plural), ("singular", names.get("singular", ""))):
            if not value:
                errors.append(FieldError("Required", f"spec.names.{field}"))
            else:
                errors += [FieldError("Invalid", f"spec.names.{field}", value, p)
                           for p in _dns_label_problems(value)]
        if not kind:
            errors.append(FieldError("Required", "spec.names.kind"))
        for index, short in enumerate(names.get("shortNames") or []):
            errors += [FieldError("Invalid", f"spec.names.shortNames[{index}]", short, p)
                       for p in _dns_label_problems(short)]
        scopes = ("Cluster", "Namespaced")
        if spec.get("scope") not in scopes:
            errors.append(not_supported("spec.scope", spec.get("scope"), scopes))
        versions = spec.get("versions") or []
        if not versions:
            errors.append(FieldError("Invalid", "spec.versions", None,
                                     "must have exactly one version marked as storage version"))
        elif sum(1 for v in versions if v.get("storage")) != 1:
            errors.append(FieldError("Invalid", "spec.storageVersion", None,
                                     "must have exactly one version marked as storage version"))
        seen = set()
        for index, version in enumerate(versions):
            path = f"spec.versions[{index}]"
            name = version.get("name", "")
            if not name:
                errors.append(FieldError("Required", f"{path}.name"))
            elif name in seen:
                errors.append(FieldError("Invalid", f"{path}.name", name,
                                         "must be unique"))
            seen.add(name)
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if not isinstance(schema, dict):
                errors.append(FieldError("Required", f"{path}.schema.openAPIV3Schema", None,
                                         "schemas are required"))
            elif schema.get("type") != "object":
                errors.append(FieldError("Required", f"{path}.schema.openAPIV3Schema.type",
                                         None, "must not be empty at the root"))
            for number, column in enumerate(version.get("additionalPrinterColumns") or []):
                try:
                    _jsonpath_steps(column.get("jsonPath", ""))
                except ValueError as e:
                    errors.append(FieldError(
                        "Invalid", f"{path}.additionalPrinterColumns[{number}].JSONPath",
                        column.get("jsonPath"), str(e)))
        if old is not None:
            for field in ("group", "scope"):
                if old["spec"].get(field) != spec.get(field):
                    errors.append(FieldError("Invalid", f"spec.{field}", spec.get(field),
                                             "field is immutable"))
        return errors

    def cells(self, obj):
        return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]


class _CustomResource(_Resource):
    """The resource a CustomResourceDefinition defines, in one of its versions."""
    custom = True
    tracks_generation = True
    patch_types = (JSON_PATCH, MERGE_PATCH)

    def __init__(self, crd, version):
        spec = crd["spec"]
        names = spec["names"]
        self.crd_name = crd["metadata"]["name"]
        self.group, self.version = spec["group"], version["name"]
        self.name, self.kind = names["plural"], names["kind"]
        self.list_kind = names.get("listKind") or names["kind"] + "List"
        self.singular = names.get("singular") or names["kind"].lower()
        self.short_names = tuple(names.get("shortNames") or ())
        self.categories = tuple(names.get("categories") or ())
        self.namespaced = spec.get("scope") == "Namespaced"
        self.verbs = ("delete", "deletecollection", "get", "list", "patch", "create", "update",
                      "watch")
        self.status_subresource = "status" in (version.get("subresources") or {})
        self.openapi = copy.deepcopy((version.get("schema") or {}).get("openAPIV3Schema") or {})
        self.validator = _SchemaValidator(self.openapi)
        self.printer_columns = version.get("additionalPrinterColumns") or [
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
        self.selectable = [f["jsonPath"].lstrip(".") for f in
                           version.get("selectableFields") or []]
        self.selectable_fields = ("metadata.name", "metadata.namespace", *self.selectable) \
            if self.namespaced else ("metadata.name", *self.selectable)
        self.columns = [_NAME_COLUMN] + [
            {"name": c["name"], "type": c.get("type", "string"), "format": c.get("format", ""),
             "description": c.get("description") or
             f"Custom resource definition column (in JSONPath format): {c.get('jsonPath')}",
             "priority": c.get("priority", 0)} for c in self.printer_columns]

    def check_type_meta(self, body):
        if not isinstance(body, dict):
            super().check_type_meta(body)
        if not body.get("kind"):
            raise bad_request(f"Object 'Kind' is missing in "
                              f"'{json.dumps(body, separators=(',', ':'))}'")
        if body.get("apiVersion") != self.api_version:
            raise bad_request(f"the API version in the data ({body.get('apiVersion', '')}) does "
                              f"not match the expected API version ({self.api_version})")

    def decode(self, body):
        obj = copy.deepcopy(body)
        unknown = []
        raw_meta = obj.get("metadata")
        meta = _Decoder(self.kind, self.api_version).metadata(raw_meta)
        if isinstance(raw_meta, dict):
            unknown += [f"metadata.{k}" for k in raw_meta if k not in _META_SCHEMA]
        rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        _prune(rest, self.openapi, "", unknown)
        _apply_defaults(rest, self.openapi)
        _drop_nulls(rest, self.openapi)
        rest["metadata"] = meta
        if obj.get("kind") != self.kind:
            # ValidateTypeMeta's 422 (the body is decoded as unstructured, so any kind passes).
            raise invalid(self.kind, meta.get("name", ""), [FieldError(
                "Invalid", "kind", obj.get("kind"), f"must be {self.kind}")], self.group)
        return rest, sorted(unknown)

    def prepare_create(self, obj, store):
        super().prepare_create(obj, store)
        if self.status_subresource:
            obj.pop("status", None)

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        document = self.render(obj)
        errors += self.validator.validate(document)
        errors += _list_type_errors(self.openapi, document)
        return errors

    def render(self, obj, version=None):
        out = {k: v for k, v in obj.items() if k not in ("kind", "metadata")}
        out["apiVersion"] = self.api_version
        out["kind"] = self.kind
        out["metadata"] = _render_meta(obj["metadata"])
        return _sorted_json(out)

    def list_item(self, obj):
        return self.render(obj)  # unstructured lists keep kind and apiVersion on every item

    def cells(self, obj):
        document = self.render(obj)
        cells = [obj["metadata"]["name"]]
        for column in self.printer_columns:
            try:
                found = _jsonpath(column.get("jsonPath", ""), document)
            except ValueError:
                found = []
            if not found:
                cells.append(None)
                continue
            value, kind = found[0], column.get("type", "string")
            if kind == "string":
                cells.append(_jsonpath_text(value))
            elif kind == "date":
                cells.append(_age(value) if isinstance(value, str) else None)
            elif kind == "integer":
                cells.append(int(value) if isinstance(value, (int, float)) and
                             not isinstance(value, bool) else None)
            elif kind == "number":
                cells.append(value if isinstance(value, (int, float)) and
                             not isinstance(value, bool) else None)
            elif kind == "boolean":
                cells.append(value if isinstance(value, bool) else None)
            else:
                cells.append(_jsonpath_text(value))
        return cells

    def fields(self, obj):
        values = super().fields(obj)
        document = self.render(obj)
        for path in self.selectable:
            found = _jsonpath("." + path, document)
            values[path] = _jsonpath_text(found[0]) if found else ""
        return values


SECRETS = _Secrets()
NAMESPACES = _Namespaces()
PODS = _Pods()
SERVICES = _Services()
ENDPOINT_SLICES = _EndpointSlices()
LEASES = _Leases()
CRDS = _CustomResourceDefinitions()
CONFIG_MAPS = _ConfigMaps()
DEPLOYMENTS = _Deployments()
MUTATING_WEBHOOK_CONFIGURATIONS = _MutatingWebhookConfigurations()
REPLICA_SETS = _ReplicaSets()
DAEMON_SETS = _DaemonSets()
STATEFUL_SETS = _StatefulSets()
JOBS = _Jobs()
CRON_JOBS = _CronJobs()
BUILTIN_RESOURCES = (NAMESPACES, SECRETS, PODS, SERVICES, ENDPOINT_SLICES, LEASES, CRDS,
                     CONFIG_MAPS, DEPLOYMENTS, MUTATING_WEBHOOK_CONFIGURATIONS)
BUILTIN_RESOURCES += (REPLICA_SETS, DAEMON_SETS, STATEFUL_SETS, JOBS, CRON_JOBS)


# --- storage ----------------------------------------------------------------------------------

Event = collections.namedtuple("Event", "rv resource type old new")


def _key(obj):
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def _version_priority(version):
    """kube's version ordering (v1 > v1beta2 > v1beta1 > v1alpha1 > other), as a sort key."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (0, 0, 0, version)
    stage = {"alpha": 1, "beta": 2, None: 3}[match.group(2)]
    return (1, stage, int(match.group(1)), int(match.group(3) or 0))


class _Store:
    """Objects by group-resource and (namespace, name), one resourceVersion counter, and the
    recent changes, from which watches resume and past states are rebuilt (lists at an exact
    resourceVersion, continue tokens). Every method takes the lock; returned objects are
    copies. Stored objects are never changed in place: a write stores a new dict, so the
    events keep the states they describe."""

    def __init__(self):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 0
        self.resources = {}  # group-resource -> {version: _Resource}
        self.objects = {}  # group-resource -> {(namespace, name): object}
        self.events = collections.deque()
        self.floor = 0  # events up to this resourceVersion may have been dropped
        self.closed = False
        for resource in BUILTIN_RESOURCES:
            self.register(resource)
        for name in DEFAULT_NAMESPACES:
            self._insert(NAMESPACES, {"metadata": {"name": name, "labels": {
                "kubernetes.io/metadata.name": name}}, "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}}, record=False)

    # the resources served

    def register(self, resource):
        with self.lock:
            self.resources.setdefault(resource.qualified, {})[resource.version] = resource
            self.objects.setdefault(resource.qualified, {})

    def lookup(self, group, version, plural):
        with self.lock:
            return self.resources.get(_group_resource(plural, group), {}).get(version)

    def served(self):
        """Every resource in every version, built-in ones first."""
        with self.lock:
            return [r for versions in self.resources.values() for r in versions.values()]

    def preferred(self, qualified):
        """The resource of a group-resource in its preferred version."""
        with self.lock:
            versions = self.resources.get(qualified)
            if not versions:
                return None
            return versions[max(versions, key=_version_priority)]

    def _install(self, crd):
        """Serves the versions a CRD defines (its objects stay, as with a real server)."""
        spec = crd["spec"]
        qualified = _group_resource(spec["names"]["plural"], spec["group"])
        versions = {}
        for version in spec.get("versions") or []:
            if version.get("served", True):
                resource = _CustomResource(crd, version)
                versions[resource.version] = resource
        self.resources[qualified] = versions
        self.objects.setdefault(qualified, {})

    def _uninstall(self, crd):
        spec = crd["spec"]
        qualified = _group_resource(spec["names"]["plural"], spec["group"])
        resource = self.preferred(qualified)
        if resource is not None:
            for key in list(self.objects.get(qualified, {})):
                self._remove(resource, key)
        self.resources.pop(qualified, None)
        self.objects.pop(qualified, None)
        self.changed.notify_all()  # watches of those resources end

    # reads

    def get(self, resource, namespace, name):
        with self.lock:
            obj = self.objects.get(resource.qualified, {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def objects_of(self, resource):
        """(key, object) of every stored object of the resource; no copies (under the lock)."""
        return list(self.objects.get(resource.qualified, {}).items())

    def list(self, resource, namespace=None, rv=None):
        """(resourceVersion, objects sorted by namespace and name), like an etcd range read,
        of the current state or (rv) of the state at that resourceVersion."""
        with self.lock:
            if rv is None:
                objects, at = self.objects.get(resource.qualified, {}), self.rv
            else:
                if rv < self.floor:
                    raise expired("The resourceVersion for the provided list is too old.")
                objects, at = self._snapshot(resource.qualified, rv), rv
            items = [copy.deepcopy(obj) for key, obj in sorted(objects.items())
                     if namespace is None or key[0] == namespace]
            return str(at), items

    def _snapshot(self, qualified, rv):
        """The objects of a group-resource as they were at resourceVersion rv."""
        objects = dict(self.objects.get(qualified, {}))
        for event in reversed(self.events):
            if event.rv <= rv:
                break
            if event.resource != qualified:
                continue
            if event.type == "ADDED":
                objects.pop(_key(event.new), None)
            else:
                objects[_key(event.old)] = event.old
        return objects

    # writes

    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _record(self, resource, kind, old, new):
        self.events.append(Event(self.rv, resource.qualified, kind, old, new))
        while len(self.events) > MAX_EVENTS:
            self.floor = self.events.popleft().rv
        self.changed.notify_all()

    def _insert(self, resource, obj, record=True):
        meta = obj["metadata"]
        if resource.namespaced:
            self._ensure_namespace(meta["namespace"])
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())  # a Job's strategy sets it first
        meta["creationTimestamp"] = _now_rfc3339()
        meta["resourceVersion"] = self._next_rv()
        self.objects[resource.qualified][_key(obj)] = obj
        if record:
            self._record(resource, "ADDED", None, obj)
        if resource is CRDS:
            self._install(obj)
        return obj

    def _ensure_namespace(self, name):
        if ("", name) not in self.objects[NAMESPACES.qualified]:
            namespace = {"metadata": {"name": name, "labels": {
                "kubernetes.io/metadata.name": name}}, "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}}
            self._insert(NAMESPACES, namespace)

    def create(self, resource, obj, dry_run=False):
        with self.lock:
            meta = obj["metadata"]
            objects = self.objects.setdefault(resource.qualified, {})
            if not meta.get("name") and meta.get("generateName"):
                # names.SimpleNameGenerator: five characters from an alphabet without vowels
                # (no accidental words) or look-alikes.
                for _ in range(100):
                    suffix = "".join(random.choice("bcdfghjklmnpqrstvwxz2456789")
                                     for _ in range(5))
                    meta["name"] = meta["generateName"][:58] + suffix
                    if _key(obj) not in objects:
                        break
            if meta.get("resourceVersion"):
                # The etcd3 store's error, which kube-apiserver answers as a 500.
                raise ApiError(500, "Internal error occurred: resourceVersion should not be set "
                                    "on objects to be created",
                               details={"causes": [{"message": "resourceVersion should not be "
                                                               "set on objects to be created"}]})
            for field in ("uid", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(field, None)
            resource.prepare_create(obj, self)
            errors = resource.validate(obj)
            if errors:
                raise invalid(resource.kind, meta.get("name", ""), errors, resource.group)
            if _key(obj) in objects:
                raise already_exists(resource.name, meta["name"], resource.group)
            if dry_run:
                meta["uid"] = meta.get("uid") or str(uuid.uuid4())
                meta["creationTimestamp"] = _now_rfc3339()
                meta.pop("resourceVersion", None)
                return copy.deepcopy(obj)
            return copy.deepcopy(self._insert(resource, obj))

    def update(self, resource, obj, dry_run=False, expected_rv=None, subresource=None):
        """PUT semantics: a stale resourceVersion is a Conflict, none is unconditional.
        `expected_rv` is the precondition of a patch (None: take the object's).
        subresource "status" changes .status only."""
        with self.lock:
            meta = obj["metadata"]
            key = _key(obj)
            old = self.objects.get(resource.qualified, {}).get(key)
            if old is None:
                raise not_found(resource.name, meta["name"], resource.group)
            before = old["metadata"]
            wanted = meta.get("resourceVersion", "") if expected_rv is None else expected_rv
            if wanted and not wanted.isdigit():
                raise bad_request(f'invalid resource version "{wanted}"')
            if wanted and wanted != before["resourceVersion"]:
                raise conflict(resource.name, meta["name"], STALE, resource.group)
            if meta.get("uid") and meta["uid"] != before["uid"]:
                raise conflict(resource.name, meta["name"],
                               f"Precondition failed: UID in precondition: {meta['uid']}, "
                               f"UID in object meta: {before['uid']}", resource.group)
            meta.pop("generateName", None)
            for field in ("generateName", "uid", "creationTimestamp", "resourceVersion",
                          "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
                if field in before:
                    meta[field] = before[field]
                else:
                    meta.pop(field, None)
            if subresource == "status":
                obj = resource.prepare_status_update(obj, old)
                meta = obj["metadata"]
            else:
                resource.prepare_update(obj, old, self)
                if resource.tracks_generation and resource.spec_changed(obj, old):
                    meta["generation"] = before.get("generation", 0) + 1
            errors = resource.validate(obj, old)
            if errors:
                raise invalid(resource.kind, meta["name"], errors, resource.group)
            if obj == old or dry_run:
                # A no-op update keeps the resourceVersion and sends no watch event.
                return copy.deepcopy(obj)
            if meta.get("deletionTimestamp") and not meta.get("finalizers"):
                return self._remove(resource, key, obj)  # the last finalizer is gone
            meta["resourceVersion"] = self._next_rv()
            self.objects[resource.qualified][key] = obj
            self._record(resource, "MODIFIED", old, obj)
            if resource is CRDS:
                self._install(obj)
            return copy.deepcopy(obj)

    def delete(self, resource, namespace, name, preconditions=None, dry_run=False,
               grace_period=None):
        """Returns (the object, whether it is gone). An object with finalizers only gets its
        deletionTimestamp; a running pod on a node is deleted gracefully, then at once (this
        server's stand-in kubelet confirms immediately)."""
        with self.lock:
            old = self.objects.get(resource.qualified, {}).get((namespace, name))
            if old is None:
                raise not_found(resource.name, name, resource.group)
            before = old["metadata"]
            preconditions = preconditions or {}
            uid, rv = preconditions.get("uid"), preconditions.get("resourceVersion")
            if uid and uid != before["uid"]:
                raise conflict(resource.name, name,
                               f"Precondition failed: UID in precondition: {uid}, "
                               f"UID in object meta: {before['uid']}", resource.group)
            if rv and rv != before["resourceVersion"]:
                raise conflict(resource.name, name,
                               f"Precondition failed: ResourceVersion in precondition: {rv}, "
                               f"ResourceVersion in object meta: "
                               f"{before['resourceVersion']}", resource.group)
            if dry_run:
                return copy.deepcopy(old), True
            if before.get("finalizers"):
                if before.get("deletionTimestamp"):
                    return copy.deepcopy(old), False
                marked = copy.deepcopy(old)
                marked["metadata"]["deletionTimestamp"] = _now_rfc3339()
                marked["metadata"]["deletionGracePeriodSeconds"] = 0
                marked["metadata"]["resourceVersion"] = self._next_rv()
                if resource.tracks_generation:
                    marked["metadata"]["generation"] = before.get("generation", 0) + 1
                self.objects[resource.qualified][(namespace, name)] = marked
                self._record(resource, "MODIFIED", old, marked)
                return copy.deepcopy(marked), False
            if resource is PODS and (old.get("spec") or {}).get("nodeName") and \
                    (old.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and \
                    grace_period != 0:
                grace = grace_period if grace_period is not None else \
                    old["spec"].get("terminationGracePeriodSeconds", 30)
                marked = copy.deepcopy(old)
                moment = datetime.datetime.now(datetime.timezone.utc) + \
                    datetime.timedelta(seconds=grace)
                marked["metadata"]["deletionTimestamp"] = _format_time(moment)
                marked["metadata"]["deletionGracePeriodSeconds"] = grace
                marked["metadata"]["resourceVersion"] = self._next_rv()
                self.objects[resource.qualified][(namespace, name)] = marked
                self._record(resource, "MODIFIED", old, marked)
                self._remove(resource, (namespace, name))
                return copy.deepcopy(marked), True
            if resource is NAMESPACES:
                for qualified, objects in self.objects.items():
                    versions = self.resources.get(qualified) or {}
                    member = next(iter(versions.values()), None)
                    if member is not None and member.namespaced:
                        for key in [k for k in objects if k[0] == name]:
                            self._remove(member, key)
            if resource is CRDS:
                self._uninstall(old)
            return self._remove(resource, (namespace, name)), True

    def _remove(self, resource, key, last=None):
        gone = self.objects[resource.qualified].pop(key)
        # The DELETED event carries the resourceVersion of the deletion.
        final = copy.deepcopy(last if last is not None else gone)
        final["metadata"]["resourceVersion"] = self._next_rv()
        self._record(resource, "DELETED", gone, final)
        return copy.deepcopy(final)

    def compact(self):
        """Forgets every kept event, as an etcd compaction at the current revision."""
        with self.lock:
            self.events.clear()
            self.floor = self.rv
            self.changed.notify_all()

    def close(self):
        with self.lock:
            self.closed = True
            self.changed.notify_all()
# --- HTTP -------------------------------------------------------------------------------------

class _ClientGone(Exception):
    pass


class LoggedRequest(tuple):
    """(method, path, status) of one answered request; .query holds the raw query string."""

    def __new__(cls, method, path, status, query=""):
        entry = super().__new__(cls, (method, path, status))
        entry.query = query
        return entry

    method = property(lambda self: self[0])
    path = property(lambda self: self[1])
    status = property(lambda self: self[2])


def _media_types(header):
    """(type, params) for each entry of an Accept or Content-Type header, in order."""
    entries = []
    for entry in (header or "").split(","):
        parts = [p.strip() for p in entry.split(";")]
        if not parts[0]:
            continue
        params = {}
        for part in parts[1:]:
            key, _, value = part.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        entries.append((parts[0].lower(), params))
    return entries


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Go's client expects
    timeout = 60  # seconds a connection may sit idle or half-sent before it is dropped
    # Buffered, so that headers and body leave in one write; http.server flushes after each
    # request, and the watch flushes after each event.
    wbufsize = 64 * 1024

    # BaseHTTPRequestHandler's Server header is not one kube-apiserver sends.
    def send_response(self, code, message=None):
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log_message(self, format, *args):
        pass  # requests are logged by _dispatch, once they are answered

    def setup(self):
        super().setup()
        self._linger = False

    def finish(self):
        try:
            super().finish()
        finally:
            if self._linger:
                self._lingering_close()

    def _lingering_close(self):
        """After answering without reading the body: stop sending, then read and discard what
        the client still sends for a moment. Closing with unread data would make the kernel
        send a reset, which can destroy the answer before the client reads it (Go's net/http
        lingers the same way)."""
        connection = self.connection
        try:
            connection.shutdown(socket.SHUT_WR)  # plain TCP from here: the rest is discarded
            connection.settimeout(0.5)
            deadline, drained = time.monotonic() + 3, 0
            while time.monotonic() < deadline and drained < 4 * MAX_BODY_BYTES:
                data = connection.recv(65536)
                if not data:
                    break
                drained += len(data)
        except OSError:
            pass

    def handle_expect_100(self):
        if self._declared_length() > MAX_BODY_BYTES:
            return True  # answer 413 without inviting the body
        return super().handle_expect_100()

    def send_error(self, code, message=None, explain=None):
        """A request http.server cannot parse gets Go's net/http answer, which is what
        kube-apiserver sends; a method without a do_* goes to the router (405 Status)."""
        if code == 501 and self.command:
            self._dispatch()
            self.wfile.flush()  # http.server does not flush after this path
            return
        phrases = {414: "URI Too Long", 431: "Request Header Fields Too Large",
                   505: "HTTP Version Not Supported"}
        status = f"{code} {phrases.get(code, 'Bad Request')}"
        self.close_connection = True
        try:
            self.wfile.write(f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8"
                             f"\r\nConnection: close\r\n\r\n{status}".encode())
        except OSError:
            pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- plumbing --

    def _declared_length(self):
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return -1

    def _dispatch(self):
        api = self.server.api
        self._status = None
        self._headers_sent = False
        self._body_unread = bool(self.headers.get("Content-Length") not in (None, "0")
                                 or "chunked" in self.headers.get("Transfer-Encoding", "").lower())
        target = urlsplit(self.path)
        path = target.path
        query = parse_qs(target.query, keep_blank_values=True)
        try:
            api._delay(self.command, path)
            user = api._authenticate(self.headers.get("Authorization"),
                                     self.connection.getpeercert())
            if user is None:
                raise ApiError(401, "Unauthorized")
            code = api._take("fail", self.command, path)
            if code is not None:
                # Read the body as a real handler would have, so the connection stays usable.
                self._read_body()
                raise injected_error(code, self.command, path, user, api.store)
            self._route(path, query, user)
        except ApiError as error:
            if not self._headers_sent:
                self._send_json(error.code, error.status(), error.headers)
        except (_ClientGone, ConnectionError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception:  # a bug here must not take the server down: answer 500, log it
            traceback.print_exc(file=sys.stderr)
            if not self._headers_sent:
                error = ApiError(500, "Internal error occurred: unexpected server error")
                self._send_json(500, error.status())
            self.close_connection = True
        finally:
            if self._status is not None:
                api._log_request(self.command, path, self._status, target.query)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._read_chunked()
        else:
            length = self._declared_length()
            if length < 0:
                raise bad_request("invalid Content-Length")
            if length > MAX_BODY_BYTES:
                raise ApiError(413, f"Request entity too large: limit is {MAX_BODY_BYTES}")
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                raise _ClientGone()
        self._body_unread = False
        return body

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise _ClientGone()
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise bad_request("malformed chunked encoding") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise ApiError(413, f"Request entity too large: limit is {MAX_BODY_BYTES}")
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise _ClientGone()
            chunks.append(chunk)
            self.rfile.readline(1024)

    def _json_body(self, media_types=("application/json",), protobuf_kind=None):
        """(media type, decoded body). protobuf_kind: the kind a protobuf body may carry."""
        content_type = (_media_types(self.headers.get("Content-Type")) or
                        [("application/json", {})])[0][0]
        accepted = media_types + ((PROTOBUF,) if protobuf_kind else ())
        if content_type not in accepted:
            self._read_body()
            raise ApiError(415, "the body of the request was in an unknown format - accepted "
                                "media types include: " + ", ".join(accepted))
        body = self._read_body()
        if content_type == PROTOBUF:
            try:
                return content_type, decode_protobuf(body, protobuf_kind)
            except (ValueError, KeyError) as e:
                raise bad_request(f"{protobuf_kind} in version \"v1\" cannot be handled as a "
                                  f"{protobuf_kind}: {e}") from None
        try:
            # Go's decoder replaces invalid UTF-8 and knows no NaN or Infinity.
            text = body.decode("utf-8", "replace")
            value = json.loads(text, parse_constant=lambda c: _raise(ValueError(
                f"invalid value {c}")))
        except (ValueError, RecursionError) as e:
            raise bad_request(f"couldn't get version/kind; json parse error: {e}") from None
        if "\\u" in text:  # only an escape can make a lone surrogate
            value = _replace_lone_surrogates(value)
        return content_type, value

    def _send_json(self, code, obj, headers=()):
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        try:
            data = (text + "\n").encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape in the input
            data = (json.dumps(obj, separators=(",", ":")) + "\n").encode("ascii")
        self._send(code, data, "application/json", headers)

    def _send(self, code, data, content_type, headers=()):
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if self._body_unread:
            # The body was never read, so the connection cannot carry another request.
            self.send_header("Connection", "close")
            self.close_connection = True
            self._linger = True
        self.end_headers()
        self._headers_sent = True
        self._status = code
        if self.command != "HEAD":  # an answer to HEAD has the headers of one to GET only
            self.wfile.write(data)

    def _negotiate(self, conversions=False):
        """The representation the Accept header asks for: ("json"), ("table", version) or
        ("meta", version). Entries asking for a conversion this server does not make
        (aggregated discovery, ...) are skipped, as kube-apiserver skips them."""
        entries = _media_types(self.headers.get("Accept")) or [("*/*", {})]
        for media, params in entries:
            if media not in ("application/json", "application/*", "*/*") or \
                    params.get("q") in ("0", "0.0"):
                continue
            target = params.get("as")
            if not target:
                return ("json", None)
            if conversions and params.get("g") == "meta.k8s.io" and \
                    params.get("v") in ("v1", "v1beta1"):
                if target == "Table":
                    return ("table", params["v"])
                if target in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                    return ("meta", params["v"])
        raise ApiError(406, "only the following media types are accepted: application/json")

    # -- routing --

    def _route(self, path, query, user):
        parts = [unquote(p) for p in path.split("/") if p]
        method = self.command
        if self._discovery(parts, method):
            return
        if parts[:1] == ["openapi"]:
            return self._openapi(parts[1:], method)
        if parts in (["healthz"], ["livez"], ["readyz"]):
            if method != "GET":
                raise method_not_allowed()
            self._read_body()
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        if parts[:3] == ["apis", "authentication.k8s.io", "v1"] and len(parts) == 4:
            if parts[3] == "tokenreviews":
                return self._token_review(query)
            if parts[3] == "selfsubjectreviews":
                return self._self_subject_review(query, user)
        target = _resolve_path(self.server.api.store, parts)
        if target is None:
            raise unknown_path()
        resource, namespace, name, subresource = target
        if name is None:
            return self._collection(resource, namespace, query)
        if subresource is None:
            return self._item(resource, namespace or "", name, query)
        if subresource == "status" and resource.status_subresource:
            return self._status_subresource(resource, namespace or "", name, query)
        raise unknown_path()

    def _discovery(self, parts, method):
        document = _discovery_document(self.server.api, parts)
        if document is None:
            return False
        if method != "GET":
            raise method_not_allowed()
        self._read_body()
        self._negotiate()
        self._send_json(200, document)
        return True

    def _openapi(self, parts, method):
        if method != "GET":
            raise method_not_allowed()
        self._read_body()
        store = self.server.api.store
        if parts == ["v2"]:
            # kubectl asks for protobuf; anyone else gets the JSON form.
            if any(media in OPENAPI_V2_PROTOBUF_ACCEPT for media, _ in
                   _media_types(self.headers.get("Accept"))):
                return self._send(200, _openapi_v2_protobuf(), OPENAPI_V2_PROTOBUF)
            return self._send_json(200, _openapi_v2_json())
        if parts == ["v3"]:
            return self._send_json(200, _openapi_v3_index(store))
        document = _openapi_v3_document(store, "/".join(parts[1:])) \
            if parts[:1] == ["v3"] else None
        if document is None:
            raise unknown_path()
        self._send_json(200, document)

    # -- REST verbs --

    def _collection(self, resource, namespace, query):
        method = self.command
        if method == "GET":
            self._read_body()
            if (query.get("watch") or [""])[-1] in ("true", "1"):
                return self._watch(resource, namespace, query)
            return self._list(resource, namespace, query)
        if resource.namespaced and namespace is None:
            raise method_not_allowed()  # /api/v1/pods: list and watch only
        if method == "POST" and "create" in resource.verbs:
            return self._create(resource, namespace, query)
        if method == "DELETE" and "deletecollection" in resource.verbs:
            return self._delete_collection(resource, namespace, query)
        raise method_not_allowed()

    def _item(self, resource, namespace, name, query):
        method = self.command
        if method == "GET":
            return self._get(resource, namespace, name, query)
        if method == "PUT":
            return self._update(resource, namespace, name, query)
        if method == "PATCH":
            return self._patch(resource, namespace, name, query)
        if method == "DELETE":
            return self._delete(resource, namespace, name, query)
        raise method_not_allowed()

    def _status_subresource(self, resource, namespace, name, query):
        """The status subresource: GET reads the object, PUT and PATCH change .status only."""
        method = self.command
        if method == "GET":
            return self._get(resource, namespace, name, query)
        if method == "PUT":
            return self._update(resource, namespace, name, query, subresource="status")
        if method == "PATCH":
            return self._patch(resource, namespace, name, query, subresource="status")
        raise method_not_allowed()

    def _get(self, resource, namespace, name, query):
        self._read_body()
        representation = self._negotiate(conversions=True)
        obj = self.server.api.store.get(resource, namespace, name)
        if obj is None:
            raise not_found(resource.name, name, resource.group)
        self._send_json(200, self._represent(resource, [obj], representation, query,
                                             single=True))

    def _body(self, resource, content_types=("application/json",)):
        return self._json_body(content_types,
                               protobuf_kind=resource.kind if resource.protobuf else None)

    def _decode_object(self, resource, body, query):
        """The body as a stored object of `resource`, plus Warning headers."""
        resource.check_type_meta(body)
        obj, unknown = resource.decode(body)
        return obj, _report_unknown_fields(unknown, query)

    def _place(self, resource, obj, namespace):
        """Fills the namespace from the URL; a different one in the body is a 400."""
        meta = obj["metadata"]
        if not resource.namespaced:
            meta.pop("namespace", None)
            return
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        meta["namespace"] = namespace

    def _create(self, resource, namespace, query):
        api = self.server.api
        _, body = self._body(resource)
        representation = self._negotiate(conversions=True)
        obj, warnings = self._decode_object(resource, body, query)
        self._place(resource, obj, namespace)
        created = api.store.create(resource, obj, dry_run=_dry_run(query))
        self._send_json(201, self._represent(resource, [created], representation, query,
                                             single=True), self._warnings(warnings))

    def _update(self, resource, namespace, name, query, subresource=None):
        api = self.server.api
        _, body = self._body(resource)
        representation = self._negotiate(conversions=True)
        obj, warnings = self._decode_object(resource, body, query)
        if obj["metadata"].get("name", "") != name:
            raise bad_request(f"the name of the object ({obj['metadata'].get('name', '')}) "
                              f"does not match the name on the URL ({name})")
        self._place(resource, obj, namespace)
        updated = api.store.update(resource, obj, dry_run=_dry_run(query),
                                   subresource=subresource)
        self._send_json(200, self._represent(resource, [updated], representation, query,
                                             single=True), self._warnings(warnings))

    def _patch(self, resource, namespace, name, query, subresource=None):
        api = self.server.api
        content_type, patch = self._json_body(resource.patch_types)
        representation = self._negotiate(conversions=True)
        with api.store.lock:
            # Under the store's lock: a write between reading and storing cannot make a patch
            # that names no resourceVersion fail (kube-apiserver retries those internally).
            updated, warnings = _patch_object(api.store, resource, namespace, name, query,
                                              content_type, patch, subresource)
        self._send_json(200, self._represent(resource, [updated], representation, query,
                                             single=True), self._warnings(warnings))

    def _delete_options(self, query):
        """DeleteOptions from the body (kubectl sends one) and the query."""
        options = {}
        if self._body_unread:
            _, options = self._json_body(protobuf_kind="DeleteOptions")
            if options is None:
                options = {}
            if not isinstance(options, dict):
                raise bad_request("the body of a delete is a DeleteOptions object")
        preconditions = options.get("preconditions") or {}
        if not isinstance(preconditions, dict):
            raise bad_request("preconditions is an object")
        dry_run = _dry_run(query) or options.get("dryRun") == ["All"]
        grace = options.get("gracePeriodSeconds")
        if (query.get("gracePeriodSeconds") or [""])[-1]:
            try:
                grace = int(query["gracePeriodSeconds"][-1])
            except ValueError:
                raise bad_request("gracePeriodSeconds must be an integer") from None
        if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int)):
            raise bad_request("gracePeriodSeconds must be an integer")
        return preconditions, dry_run, grace

    def _delete(self, resource, namespace, name, query):
        api = self.server.api
        preconditions, dry_run, grace = self._delete_options(query)
        if resource is NAMESPACES and name in ("default", "kube-system", "kube-public"):
            # The NamespaceLifecycle admission plugin protects these.
            raise ApiError(403, f'namespaces "{name}" is forbidden: this namespace may not be '
                                f'deleted', details={"name": name, "kind": "namespaces"})
        representation = self._negotiate(conversions=True)
        deleted, gone = api.store.delete(resource, namespace, name, preconditions, dry_run,
                                         grace)
        if resource is NAMESPACES:
            # The namespace registry returns the object, caught on its way to Terminating.
            deleted["metadata"].setdefault("deletionTimestamp", _now_rfc3339())
            deleted["status"]["phase"] = "Terminating"
        if resource.returns_deleted_object or not gone:
            # Pods, services, namespaces and CRDs answer with the object, as does any object
            # whose finalizers still hold it.
            return self._send_json(200, self._represent(resource, [deleted], representation,
                                                        query, single=True))
        # The generic registry answers with a Status Success naming the object.
        self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Success",
                              "details": dict(_details(name, resource.name, resource.group),
                                              uid=deleted["metadata"]["uid"])})

    def _delete_collection(self, resource, namespace, query):
        api = self.server.api
        _, dry_run, grace = self._delete_options(query)
        representation = self._negotiate(conversions=True)
        matches = self._selector(resource, query)
        _, items = api.store.list(resource, namespace)
        deleted = []
        for obj in items:
            if matches(obj):
                try:
                    deleted.append(api.store.delete(resource, obj["metadata"].get(
                        "namespace", ""), obj["metadata"]["name"], dry_run=dry_run,
                        grace_period=grace)[0])
                except ApiError:
                    pass  # deleted meanwhile
        self._send_json(200, self._represent(resource, deleted, representation, query))

    def _selector(self, resource, query):
        labels = parse_label_selector((query.get("labelSelector") or [""])[-1])
        fields = parse_field_selector((query.get("fieldSelector") or [""])[-1],
                                      resource.fields, resource.selectable_fields)
        return lambda obj: labels(obj["metadata"].get("labels") or {}) and fields(obj)

    def _list(self, resource, namespace, query):
        api = self.server.api
        store = api.store
        representation = self._negotiate(conversions=True)
        matches = self._selector(resource, query)
        requested = (query.get("resourceVersion") or [""])[-1]
        match = (query.get("resourceVersionMatch") or [""])[-1]
        token = (query.get("continue") or [""])[-1]
        _check_list_options(requested, match, token)
        limit = (query.get("limit") or ["0"])[-1]
        try:
            limit = int(limit or 0)
        except ValueError:
            raise bad_request(f"invalid limit {limit!r}") from None
        at, after = None, None
        if token:
            # limit/continue: the token names the snapshot and the last key served; the next
            # page starts after it, in the same snapshot.
            at, after = _decode_continue(token)
            if at is not None and at < store.floor:
                raise expired(_INCONSISTENT_CONTINUE, _encode_continue(-1, after))
        elif requested not in ("", "0"):
            if not requested.isdigit():
                raise bad_request(f'invalid resource version "{requested}"')
            if int(requested) > store.rv:
                raise too_large_resource_version(int(requested), store.rv)
            if match == "Exact":
                at = int(requested)
        rv, items = store.list(resource, namespace, rv=at)
        items = [obj for obj in items if matches(obj)]
        if after is not None:
            items = [obj for obj in items if _key(obj) > after]
        list_meta = {"resourceVersion": rv}
        if limit > 0 and len(items) > limit:
            list_meta["continue"] = _encode_continue(int(rv), _key(items[limit - 1]))
            list_meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        self._send_json(200, self._represent(resource, items, representation, query,
                                             list_meta=list_meta))

    def _represent(self, resource, objects, representation, query, single=False,
                   list_meta=None):
        """An object, a list, a Table or PartialObjectMetadata(List), as asked."""
        kind, version = representation if isinstance(representation, tuple) else (
            representation, None)
        if kind == "table":
            include = (query.get("includeObject") or ["Metadata"])[-1]
            rows = []
            for obj in objects:
                row = {"cells": resource.cells(obj)}
                if include == "Object":
                    row["object"] = resource.render(obj)
                elif include != "None":
                    row["object"] = {"kind": "PartialObjectMetadata",
                                     "apiVersion": f"meta.k8s.io/{version}",
                                     "metadata": _render_meta(obj["metadata"])}
                rows.append(row)
            return {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}",
                    "metadata": list_meta or {"resourceVersion": ""},
                    "columnDefinitions": copy.deepcopy(resource.columns), "rows": rows}
        if kind == "meta":
            items = [{"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{version}",
                      "metadata": _render_meta(obj["metadata"])} for obj in objects]
            if single:
                return items[0]
            return {"kind": "PartialObjectMetadataList", "apiVersion": f"meta.k8s.io/{version}",
                    "metadata": list_meta or {}, "items": items}
        if single:
            return resource.render(objects[0])
        return {"kind": resource.list_kind, "apiVersion": resource.api_version,
                "metadata": list_meta or {"resourceVersion": str(self.server.api.store.rv)},
                "items": [resource.list_item(obj) for obj in objects]}

    @staticmethod
    def _warnings(warnings):
        return [("Warning", w) for w in warnings]

    # -- watch --

    def _watch(self, resource, namespace, query):
        api = self.server.api
        store = api.store
        representation = self._negotiate(conversions=True)
        matches = self._selector(resource, query)
        timeout = (query.get("timeoutSeconds") or [""])[-1]
        try:
            timeout = min(int(timeout), MAX_WATCH_SECONDS) if timeout else MAX_WATCH_SECONDS
        except ValueError:
            raise bad_request(f"invalid timeoutSeconds {timeout!r}") from None
        requested = (query.get("resourceVersion") or [""])[-1]
        initial_events = (query.get("sendInitialEvents") or [""])[-1] == "true"
        bookmarks = (query.get("allowWatchBookmarks") or [""])[-1] in ("true", "1")
        if requested and not requested.isdigit():
            raise bad_request(f'invalid resource version "{requested}"')

        def in_scope(obj):
            return obj is not None and (namespace is None or
                                        obj["metadata"].get("namespace", "") == namespace) \
                and matches(obj)

        with store.lock:
            since = store.rv
            initial, too_old = [], None
            if requested in ("", "0") or initial_events:
                # "Most recent" (or "any"): the current state as synthetic ADDED events.
                initial = [("ADDED", obj) for obj in store.list(resource, namespace)[1]
                           if in_scope(obj)]
            else:
                since = int(requested)
                if since < store.floor:
                    too_old = store.floor + 1
        self.send_response(200)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()  # the client learns at once that the watch is established
        self._headers_sent = True
        self._status = 200

        def send(kind, obj):
            if kind in ("ERROR", "BOOKMARK"):
                payload = obj
            elif representation[0] == "table":
                payload = self._represent(resource, [obj], representation, query)
            else:
                payload = self._represent(resource, [obj], representation, query, single=True)
            line = json.dumps({"type": kind, "object": payload}, separators=(",", ":")) + "\n"
            data = line.encode("utf-8")
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        stream = api._open_watch(resource.qualified)
        try:
            if too_old is not None:
                send("ERROR", expired(f"too old resource version: {requested} "
                                      f"({too_old})").status())
            else:
                for kind, obj in initial:
                    send(kind, obj)
                if initial_events:
                    send("BOOKMARK", _bookmark(resource, since, {
                        "k8s.io/initial-events-end": "true"}))
                self._watch_changes(resource, stream, since, timeout, bookmarks, in_scope, send)
        finally:
            api._close_watch(stream)
        if stream.drop == "abrupt":
            # As a load balancer or a restarting apiserver: the connection just ends, without
            # the terminating chunk (or a TLS close_notify).
            self.close_connection = True
            try:
                socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _watch_changes(self, resource, stream, since, timeout, bookmarks, in_scope, send):
        """Sends the events after `since` until the timeout, a drop or the server's end; with
        bookmarks, one every bookmark interval and one when the timeout ends the watch."""
        api = self.server.api
        store = api.store
        deadline = time.monotonic() + timeout
        interval = api.bookmark_interval
        next_bookmark = time.monotonic() + interval
        while True:
            ending = False
            behind = None
            with store.changed:
                while True:
                    now = time.monotonic()
                    if store.closed or stream.drop or store.rv > since or now >= deadline or \
                            resource.qualified not in store.resources or \
                            (bookmarks and now >= next_bookmark):
                        break
                    wake = min(deadline, next_bookmark) if bookmarks else deadline
                    store.changed.wait(min(1.0, max(0.0, wake - now)))
                if store.closed or stream.drop or resource.qualified not in store.resources:
                    return
                fresh = []
                if store.rv <= since:
                    ending = time.monotonic() >= deadline
                elif since < store.floor:
                    behind = store.floor + 1  # fell behind the events kept: list again
                else:
                    fresh = [e for e in store.events if e.rv > since and
                             e.resource == resource.qualified]
                    since = store.rv
            if behind is not None:
                send("ERROR", expired(f"too old resource version: {since} ({behind})").status())
                return
            for event in fresh:
                was, now_in = in_scope(event.old), in_scope(event.new)
                if event.type == "DELETED":
                    if was:
                        send("DELETED", event.new)
                elif now_in:
                    send("MODIFIED" if was else "ADDED", event.new)
                elif was:
                    send("DELETED", event.new)  # it left the selection
            if ending:
                if bookmarks:
                    send("BOOKMARK", _bookmark(resource, since))
                return
            if bookmarks and time.monotonic() >= next_bookmark:
                send("BOOKMARK", _bookmark(resource, since))
                next_bookmark = time.monotonic() + interval

    # -- authentication.k8s.io --

    def _token_review(self, query):
        if self.command != "POST":
            raise method_not_allowed()
        _, body = self._json_body(protobuf_kind="TokenReview")
        self._negotiate()
        decoder = _Decoder("TokenReview", "authentication.k8s.io/v1")
        if not isinstance(body, dict):
            raise bad_request("couldn't get version/kind; json parse error: the body is not "
                              "a JSON object")
        if (body.get("kind") or "TokenReview") != "TokenReview" or \
                (body.get("apiVersion") or "authentication.k8s.io/v1") != \
                "authentication.k8s.io/v1":
            raise bad_request("the object provided is unrecognized (must be of type "
                              "TokenReview)")
        warnings = _check_unknown_fields(body, {
            "kind": None, "apiVersion": None, "metadata": _META_SCHEMA,
            "spec": {"token": None, "audiences": None}, "status": None}, query)
        meta = decoder.metadata(body.get("metadata"))
        spec = decoder.object(body.get("spec"), "TokenReview.spec", "v1.TokenReviewSpec")
        token = decoder.string(spec.get("token"), "TokenReview.spec.token")
        audiences = decoder.string_list(spec.get("audiences"), "TokenReview.spec.audiences")
        if not token:
            raise bad_request("token is required for TokenReview in authentication")
        status = self.server.api._review(token, audiences)
        meta = _render_meta(meta)
        meta["creationTimestamp"] = None
        echoed = {"token": token}
        if audiences:
            echoed["audiences"] = audiences
        self._send_json(201, {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                              "metadata": meta, "spec": echoed, "status": status},
                        self._warnings(warnings))

    def _self_subject_review(self, query, user):
        if self.command != "POST":
            raise method_not_allowed()
        self._json_body(protobuf_kind="SelfSubjectReview")
        self._negotiate()
        self._send_json(201, {"kind": "SelfSubjectReview",
                              "apiVersion": "authentication.k8s.io/v1",
                              "metadata": {"creationTimestamp": None},
                              "status": {"userInfo": copy.deepcopy(user)}})


def _raise(error):
    raise error


def _resolve_path(store, parts):
    """(resource, namespace, name, subresource) named by a REST path; None when it names
    nothing served. namespace is None for cluster-scoped resources and for lists across
    namespaces."""
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and not (
            group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
        resource = store.lookup(group, version, rest[0])
        if resource is None or not resource.namespaced:
            return None
    else:
        if not rest:
            return None
        resource = store.lookup(group, version, rest[0])
        if resource is None or (resource.namespaced and len(rest) != 1):
            return None
    if len(rest) > 3:
        return None
    return (resource, namespace, rest[1] if len(rest) > 1 else None,
            rest[2] if len(rest) > 2 else None)


def _patch_object(store, resource, namespace, name, query, content_type, patch,
                  subresource=None):
    """Applies a patch to the stored object (the caller holds the store's lock)."""
    current = store.get(resource, namespace, name)
    if current is None:
        raise not_found(resource.name, name, resource.group)
    document = resource.render(current)
    try:
        if content_type == JSON_PATCH:
            patched = _json_patch(document, patch)
        elif not isinstance(patch, dict):
            raise bad_request("the patch is not a JSON object")
        elif content_type == MERGE_PATCH:
            patched = _merge_patch(document, patch)
        else:
            patched = _strategic_merge_patch(document, patch, resource.merge_keys)
    except ValueError as e:
        raise ApiError(422, str(e), details={}) from None
    if not isinstance(patched, dict):
        raise bad_request("the patched object is not a JSON object")
    resource.check_type_meta(patched)
    obj, unknown = resource.decode(patched)
    warnings = _report_unknown_fields(unknown, query)
    meta = obj["metadata"]
    if meta.get("name") != name or (resource.namespaced and meta.get("namespace") != namespace):
        raise bad_request("metadata.name and metadata.namespace cannot be changed by a patch")
    # The document carries the current resourceVersion unless the patch set another (a
    # precondition: 409 when stale) or removed it (unconditional).
    updated = store.update(resource, obj, dry_run=_dry_run(query),
                           expected_rv=meta.get("resourceVersion", ""), subresource=subresource)
    return updated, warnings


_INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in the list.")


def _encode_continue(rv, after):
    """A continue token: the snapshot's resourceVersion (-1: the latest) and the last key."""
    return base64.urlsafe_b64encode(json.dumps(
        {"v": "meta.k8s.io/v1", "rv": rv, "after": list(after)}).encode()).decode()


def _decode_continue(token):
    """(resourceVersion or None for "the latest", last key)."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        after, rv = decoded["after"], decoded["rv"]
        if not (isinstance(after, list) and len(after) == 2 and
                all(isinstance(a, str) for a in after)) or not isinstance(rv, int):
            raise ValueError(after)
    except (ValueError, KeyError, TypeError):
        raise bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                          "(version meta.k8s.io/v1)") from None
    return (None if rv < 0 else rv), tuple(after)


def _check_list_options(requested, match, token):
    """ValidateListOptions, and the etcd3 store's refusal of a continue with a version."""
    errors = []
    if match not in ("", "NotOlderThan", "Exact"):
        errors.append(not_supported("resourceVersionMatch", match,
                                    ("NotOlderThan", "Exact", "")))
    elif match:
        if not requested:
            errors.append(FieldError("Forbidden", "resourceVersionMatch", None,
                                     "resourceVersionMatch is forbidden unless resourceVersion "
                                     "is provided"))
        if token:
            errors.append(FieldError("Forbidden", "resourceVersionMatch", None,
                                     "resourceVersionMatch is forbidden when continue is "
                                     "provided"))
        if match == "Exact" and requested == "0":
            errors.append(FieldError("Forbidden", "resourceVersionMatch", None,
                                     'resourceVersionMatch "exact" is forbidden for '
                                     'resourceVersion "0"'))
    if errors:
        raise invalid("ListOptions", "", errors, "meta.k8s.io")
    if token and requested not in ("", "0"):
        raise bad_request("specifying resource version is not allowed when using continue")


def _bookmark(resource, rv, annotations=None):
    """A BOOKMARK event's object: the kind, empty but for metadata.resourceVersion (typed
    objects also show their null creationTimestamp)."""
    meta = {"resourceVersion": str(rv)}
    if not resource.custom:
        meta["creationTimestamp"] = None
    if annotations:
        meta["annotations"] = annotations
    return {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": meta}


def injected_error(code, method, path, user, store=None):
    """The Status kube-apiserver would send with this code for this request, for fail_next():
    NotFound and Conflict name the object of the path, Forbidden is worded as by RBAC, 429 and
    503 carry Retry-After (which client-go honours by retrying)."""
    parts = [unquote(p) for p in path.split("/") if p]
    target = _resolve_path(store, parts) if store is not None else None
    resource = group = namespace = name = None
    if target is not None:
        resource, group = target[0].name, target[0].group
        namespace, name = target[1], target[2]
    elif parts[:3] == ["apis", "authentication.k8s.io", "v1"] and len(parts) == 4:
        resource, group = parts[3], "authentication.k8s.io"
    if code == 404:
        return not_found(resource, name, group) if resource and name else unknown_path()
    if code == 409 and resource and name:
        return conflict(resource, name, STALE, group)
    if code == 403 and resource:
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"
                }.get(method, method.lower())
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        subject = f'{_group_resource(resource, group)} "{name}"' if name else \
            _group_resource(resource, group)
        return ApiError(403, f'{subject} is forbidden: User "{user["username"]}" cannot {verb} '
                             f'resource "{resource}" in API group "{group or ""}" {scope}',
                        details=_details(name, resource, group))
    if code == 401:
        return ApiError(401, "Unauthorized")
    messages = {
        429: "Too many requests, please try again later.",
        500: "Internal error occurred: injected fault",
        503: "the server is currently unable to handle the request",
        504: "the server was unable to return a response in the time allotted, but may still "
             "be processing the request"}
    retry = code in (429, 503)
    return ApiError(code, messages.get(code, f"injected fault ({code})"),
                    details={"retryAfterSeconds": 1} if retry else None,
                    headers=[("Retry-After", "1")] if retry else [])


# --- discovery --------------------------------------------------------------------------------

_AUTHENTICATION_GROUP = {
    "name": "authentication.k8s.io",
    "versions": [{"groupVersion": "authentication.k8s.io/v1", "version": "v1"}],
    "preferredVersion": {"groupVersion": "authentication.k8s.io/v1", "version": "v1"}}
# kube-apiserver lists the built-in groups by priority, then the CRD groups.
_GROUP_ORDER = ("apps", "authentication.k8s.io", "batch", "admissionregistration.k8s.io",
                "apiextensions.k8s.io", "coordination.k8s.io", "discovery.k8s.io")


def _authentication_resources():
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "authentication.k8s.io/v1", "resources": [
                {"name": "selfsubjectreviews", "singularName": "selfsubjectreview",
                 "namespaced": False, "kind": "SelfSubjectReview", "verbs": ["create"]},
                {"name": "tokenreviews", "singularName": "tokenreview", "namespaced": False,
                 "kind": "TokenReview", "verbs": ["create"]}]}


def _api_groups(store):
    """[(group, [versions, preferred first])] of the named groups served."""
    versions = {"authentication.k8s.io": {"v1"}}
    for resource in store.served():
        if resource.group:
            versions.setdefault(resource.group, set()).add(resource.version)
    ordered = [g for g in _GROUP_ORDER if g in versions] + \
        sorted(g for g in versions if g not in _GROUP_ORDER)
    return [(g, sorted(versions[g], key=_version_priority, reverse=True)) for g in ordered]


def _api_group(group, versions):
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": dict(entries[0])}


def _resource_list(store, group, version):
    """The APIResourceList of a group-version, with its status subresources."""
    entries = []
    for resource in store.served():
        if resource.group != group or resource.version != version:
            continue
        entry = {"name": resource.name, "singularName": resource.singular,
                 "namespaced": resource.namespaced, "kind": resource.kind,
                 "verbs": list(resource.verbs)}
        if resource.short_names:
            entry["shortNames"] = list(resource.short_names)
        if resource.categories:
            entry["categories"] = list(resource.categories)
        entries.append(entry)
        if resource.status_subresource:
            entries.append({"name": f"{resource.name}/status", "singularName": "",
                            "namespaced": resource.namespaced, "kind": resource.kind,
                            "verbs": ["get", "patch", "update"]})
    if not entries:
        return None
    entries.sort(key=lambda e: e["name"])
    document = {"kind": "APIResourceList", "groupVersion": version, "resources": entries}
    if group:
        document = {"kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": f"{group}/{version}", "resources": entries}
    return document


def _discovery_document(api, parts):
    """The legacy discovery document a path names, or None."""
    store = api.store
    parts = tuple(parts)
    if parts == ():
        paths = ["/api", "/api/v1", "/apis", "/apis/", "/healthz", "/livez", "/openapi/v2",
                 "/openapi/v3", "/openapi/v3/", "/readyz", "/version"]
        for group, versions in _api_groups(store):
            paths += [f"/apis/{group}"] + [f"/apis/{group}/{v}" for v in versions]
        return {"paths": sorted(paths)}
    if parts == ("version",):
        return dict(VERSION_INFO)
    if parts == ("api",):
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{
            "clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{api.port}"}]}
    if parts == ("api", "v1"):
        return _resource_list(store, "", "v1")
    if parts == ("apis",):
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [_api_group(g, v) for g, v in _api_groups(store)]}
    if parts == ("apis", "authentication.k8s.io", "v1"):
        return _authentication_resources()
    groups = dict(_api_groups(store))
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
        return dict(_api_group(parts[1], groups[parts[1]]), kind="APIGroup", apiVersion="v1")
    if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], ()):
        return _resource_list(store, parts[1], parts[2])
    return None
# --- OpenAPI ----------------------------------------------------------------------------------
# kubectl create/apply (validation on, the default) decides whether the server validates fields
# itself by looking, in the group-version's OpenAPI v3 document, for a PATCH operation of the
# kind (x-kubernetes-group-version-kind) with a fieldValidation query parameter. When there is
# no such path at all (TokenReview has no PATCH, on a real server too) it falls back to
# /openapi/v2, which it must be able to parse as protobuf, and validates on the client with the
# schemas found there. So v3 describes the operations served here; v2 is a valid document with
# no paths and no definitions, which makes kubectl's client-side check a no-op and leaves the
# checking to this server (fieldValidation=Strict, which kubectl sends).

_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_GVK = {"Secret": ("", "v1"), "SecretList": ("", "v1"), "Namespace": ("", "v1"),
        "NamespaceList": ("", "v1"), "TokenReview": ("authentication.k8s.io", "v1"),
        "SelfSubjectReview": ("authentication.k8s.io", "v1")}
_SCHEMA_NAMES = {"Secret": "io.k8s.api.core.v1.Secret",
                 "SecretList": "io.k8s.api.core.v1.SecretList",
                 "Namespace": "io.k8s.api.core.v1.Namespace",
                 "NamespaceList": "io.k8s.api.core.v1.NamespaceList",
                 "TokenReview": "io.k8s.api.authentication.v1.TokenReview",
                 "SelfSubjectReview": "io.k8s.api.authentication.v1.SelfSubjectReview"}


def _string(description):
    return {"type": "string", "description": description}


def _string_map(description, fmt=None):
    value = {"type": "string", "default": ""}
    if fmt:
        value["format"] = fmt
    return {"type": "object", "description": description, "additionalProperties": value}


def _kind_schema(kind, description, properties, required=()):
    group, version = _GVK[kind]
    schema = {"description": description, "type": "object", "properties": dict({
        "apiVersion": _string("APIVersion defines the versioned schema of this representation "
                              "of an object."),
        "kind": _string("Kind is a string value representing the REST resource this object "
                        "represents."),
        "metadata": {"allOf": [{"$ref": _META_REF}], "default": {},
                     "description": "Standard object's metadata."}}, **properties),
        "x-kubernetes-group-version-kind": [{"group": group, "kind": kind,
                                             "version": version}]}
    if required:
        schema["required"] = list(required)
    return schema


def _list_schema(kind, item):
    return _kind_schema(kind, f"{kind} is a list of {item}.", {
        "items": {"type": "array", "description": f"Items is a list of {item} objects.",
                  "items": {"allOf": [{"$ref": f"#/components/schemas/{_SCHEMA_NAMES[item]}"}],
                            "default": {}}},
        "metadata": {"allOf": [{"$ref": "#/components/schemas/"
                                        "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}],
                     "default": {}}}, required=("items",))


_OBJECT_META_SCHEMA = {
    "description": "ObjectMeta is metadata that all persisted resources must have.",
    "type": "object", "properties": {
        "name": _string("Name must be unique within a namespace."),
        "generateName": _string("An optional prefix used by the server to generate a unique "
                                "name when name is not provided."),
        "namespace": _string("Namespace defines the space within which each name must be "
                             "unique."),
        "uid": _string("UID is the unique in time and space value for this object."),
        "resourceVersion": _string("An opaque value that represents the internal version of "
                                   "this object."),
        "creationTimestamp": {"type": "string", "format": "date-time",
                              "description": "When the object was created."},
        "deletionTimestamp": {"type": "string", "format": "date-time",
                              "description": "When the object will be deleted."},
        "labels": _string_map("Map of string keys and values that can be used to organize and "
                              "categorize (scope and select) objects."),
        "annotations": _string_map("Annotations is an unstructured key value map stored with a "
                                   "resource."),
        "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                       "description": "Must be empty before the object is deleted from the "
                                      "registry.", "x-kubernetes-list-type": "set",
                       "x-kubernetes-patch-strategy": "merge"},
        "ownerReferences": {"type": "array", "items": {"type": "object"},
                            "description": "List of objects depended by this object.",
                            "x-kubernetes-patch-merge-key": "uid",
                            "x-kubernetes-patch-strategy": "merge"}}}

_SCHEMAS = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": _OBJECT_META_SCHEMA,
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": {
        "description": "ListMeta describes metadata that synthetic resources must have.",
        "type": "object", "properties": {
            "continue": _string("Set if the user should continue listing."),
            "remainingItemCount": {"type": "integer", "format": "int64",
                                   "description": "The number of subsequent items."},
            "resourceVersion": _string("The version of the list.")}},
    "io.k8s.api.core.v1.Secret": _kind_schema(
        "Secret", "Secret holds secret data of a certain type. The total bytes of the values "
                  "in the Data field must be less than MaxSecretSize bytes.", {
            "data": _string_map("Data contains the secret data. Each key must consist of "
                                "alphanumeric characters, '-', '_' or '.'.", "byte"),
            "immutable": {"type": "boolean", "description": "Immutable, if set to true, "
                          "ensures that data stored in the Secret cannot be updated."},
            "stringData": _string_map("stringData allows specifying non-binary secret data in "
                                      "string form. It is provided as a write-only input "
                                      "field for convenience."),
            "type": _string("Used to facilitate programmatic handling of secret data.")}),
    "io.k8s.api.core.v1.Namespace": _kind_schema(
        "Namespace", "Namespace provides a scope for Names. Use of multiple namespaces is "
                     "optional.", {
            "spec": {"type": "object", "description": "Spec defines the behavior of the "
                     "Namespace.", "properties": {"finalizers": {
                         "type": "array", "items": {"type": "string", "default": ""},
                         "x-kubernetes-list-type": "atomic",
                         "description": "Finalizers is an opaque list of values that must be "
                                        "empty to permanently remove object from storage."}}},
            "status": {"type": "object", "description": "Status describes the current status "
                       "of a Namespace.", "properties": {"phase": _string(
                           "Phase is the current lifecycle phase of the namespace.")}}}),
    "io.k8s.api.authentication.v1.TokenReview": _kind_schema(
        "TokenReview", "TokenReview attempts to authenticate a token to a known user.", {
            "spec": {"type": "object", "description": "Spec holds information about the "
                     "request being evaluated", "properties": {
                         "token": _string("Token is the opaque bearer token."),
                         "audiences": {"type": "array", "items": {"type": "string",
                                                                  "default": ""},
                                       "x-kubernetes-list-type": "atomic",
                                       "description": "Audiences is a list of the identifiers "
                                       "that the resource server presented with the token "
                                       "identifies as."}}},
            "status": {"type": "object", "description": "Status is filled in by the server "
                       "and indicates whether the request can be authenticated."}},
        required=("spec",)),
    "io.k8s.api.authentication.v1.SelfSubjectReview": _kind_schema(
        "SelfSubjectReview", "SelfSubjectReview contains the user information that the "
                             "kube-apiserver has about the user making this request.", {
            "status": {"type": "object", "description": "Status is filled in by the server "
                       "with the user attributes."}}),
}
_SCHEMAS["io.k8s.api.core.v1.SecretList"] = _list_schema("SecretList", "Secret")
_SCHEMAS["io.k8s.api.core.v1.NamespaceList"] = _list_schema("NamespaceList", "Namespace")


def _query_parameter(name, description, kind="string"):
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": kind, "uniqueItems": True}}


_WRITE_PARAMETERS = [
    _query_parameter("dryRun", "When present, indicates that modifications should not be "
                               "persisted. The only valid value is All."),
    _query_parameter("fieldManager", "fieldManager is a name associated with the actor or "
                                     "entity that is making these changes."),
    _query_parameter("fieldValidation", "fieldValidation instructs the server on how to handle "
                                        "objects in the request containing unknown or "
                                        "duplicate fields: Ignore, Warn (the default) or "
                                        "Strict.")]
_LIST_PARAMETERS = [
    _query_parameter("continue", "The continue option should be set when retrieving more "
                                 "results from the server."),
    _query_parameter("fieldSelector", "A selector to restrict the list of returned objects by "
                                      "their fields."),
    _query_parameter("labelSelector", "A selector to restrict the list of returned objects by "
                                      "their labels."),
    _query_parameter("limit", "limit is a maximum number of responses to return for a list "
                              "call.", "integer"),
    _query_parameter("resourceVersion", "resourceVersion sets a constraint on what resource "
                                        "versions a request may be served from."),
    _query_parameter("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    _query_parameter("watch", "Watch for changes to the described resources.", "boolean")]
_PATH_PARAMETER = {"name": "{}", "in": "path", "required": True,
                   "schema": {"type": "string", "uniqueItems": True}}



def _operation(action, kind, operation_id, body=None, response=None, parameters=(),
               response_code="200"):
    """An operation of the authentication group (kinds named in _GVK)."""
    group, version = _GVK[kind]
    operation = {
        "tags": [f"{group.split('.')[0] or 'core'}_{version}"],
        "description": f"{action} {kind}", "operationId": operation_id,
        "parameters": list(parameters),
        "responses": {response_code: {"description": "OK", "content": {
            "application/json": {"schema": {
                "$ref": f"#/components/schemas/{_SCHEMA_NAMES[response or kind]}"}}}},
            "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind}}
    if body:
        operation["requestBody"] = {"content": {body: {"schema": {
            "$ref": f"#/components/schemas/{_SCHEMA_NAMES[kind]}"}}}, "required": True}
    return operation


_SCHEMA_PREFIXES = {"": "io.k8s.api.core", "discovery.k8s.io": "io.k8s.api.discovery",
                    "coordination.k8s.io": "io.k8s.api.coordination", "apps": "io.k8s.api.apps",
                    "batch": "io.k8s.api.batch",
                    "admissionregistration.k8s.io": "io.k8s.api.admissionregistration",
                    "apiextensions.k8s.io":
                        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"}


def _gv_path(resource):
    return f"apis/{resource.group}/{resource.version}" if resource.group else "api/v1"


def _schema_name(resource, kind):
    """Components are named by Go package (built-in kinds) or by reversed group (CRDs:
    "dev.weft.v1alpha1.TrafficRoute"), as kube-apiserver names them."""
    if resource.custom:
        return ".".join(reversed(resource.group.split("."))) + f".{resource.version}.{kind}"
    return f"{_SCHEMA_PREFIXES[resource.group]}.{resource.version}.{kind}"


def _schema_ref(resource, kind):
    return f"#/components/schemas/{_schema_name(resource, kind)}"


def _go_schema(t):
    """The OpenAPI schema of a Go type of the tables above."""
    if isinstance(t, GoStruct):
        return {"type": "object", "properties": {k: _go_schema(v) for k, v in t.fields.items()}}
    if isinstance(t, GoList):
        return {"type": "array", "items": _go_schema(t.item)}
    if isinstance(t, GoMap):
        return {"type": "object", "additionalProperties": _go_schema(t.value)}
    if _named_string(t):
        return {"type": "string"}
    return {"string": {"type": "string"}, "bool": {"type": "boolean"},
            "int32": {"type": "integer", "format": "int32"},
            "int64": {"type": "integer", "format": "int64"},
            "float64": {"type": "number", "format": "double"},
            "time": {"type": "string", "format": "date-time"},
            "microtime": {"type": "string", "format": "date-time"},
            "intstr": {"type": "string", "format": "int-or-string",
                       "x-kubernetes-int-or-string": True},
            "quantity": {"type": "string"},
            "any": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}[t]


def _resource_schemas(resource):
    """{name: schema} of a resource's kind and list kind."""
    if resource in (SECRETS, NAMESPACES):
        return {_schema_name(resource, k): _SCHEMAS[_SCHEMA_NAMES[k]]
                for k in (resource.kind, resource.list_kind)}
    gvk = {"group": resource.group, "kind": resource.kind, "version": resource.version}
    type_meta = {
        "apiVersion": _string("APIVersion defines the versioned schema of this representation "
                              "of an object."),
        "kind": _string("Kind is a string value representing the REST resource this object "
                        "represents.")}
    if resource.custom:
        schema = copy.deepcopy(resource.openapi)
        properties = schema.setdefault("properties", {})
        for field, value in type_meta.items():
            properties.setdefault(field, value)
    else:
        schema = {"description": f"{resource.kind} ({resource.api_version}).", "type": "object",
                  "properties": dict(type_meta, **{k: _go_schema(t) for k, t in
                                                   resource.struct.fields.items()})}
    schema["properties"]["metadata"] = {
        "allOf": [{"$ref": _META_REF}], "default": {},
        "description": "Standard object's metadata. More info: https://git.k8s.io/community/"
                       "contributors/devel/sig-architecture/api-conventions.md#metadata"}
    schema["x-kubernetes-group-version-kind"] = [gvk]
    listing = {
        "description": f"{resource.list_kind} is a list of {resource.kind}", "type": "object",
        "required": ["items"], "properties": dict(type_meta, **{
            "items": {"type": "array", "description": f"List of {resource.name}.",
                      "items": {"$ref": _schema_ref(resource, resource.kind)}},
            "metadata": {"allOf": [{"$ref": "#/components/schemas/"
                                            "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}],
                         "default": {}}}),
        "x-kubernetes-group-version-kind": [dict(gvk, kind=resource.list_kind)]}
    return {_schema_name(resource, resource.kind): schema,
            _schema_name(resource, resource.list_kind): listing}


def _resource_operation(resource, action, verb, body=None, response=None, code="200",
                        parameters=(), namespaced=None, subresource=""):
    group_name = "".join(p.capitalize() for p in resource.group.split(".")
                         if p not in ("k8s", "io")) or "Core"
    scope = "Namespaced" if namespaced else ""
    operation = {
        "tags": [f"{group_name.lower()}_{resource.version}"],
        "description": f"{action} {resource.kind}{' ' + subresource if subresource else ''}",
        "operationId": f"{verb}{group_name}{resource.version.capitalize()}{scope}"
                       f"{resource.kind}{subresource[:1].upper()}{subresource[1:]}",
        "parameters": list(parameters),
        "responses": {code: {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": _schema_ref(resource, response or resource.kind)}}}},
            "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": resource.group,
                                            "version": resource.version,
                                            "kind": resource.kind}}
    if body:
        # PATCH names JSON and merge patches only: kubectl then computes strategic merge
        # patches of built-in kinds from its own Go types (which know the merge keys), not from
        # these schemas (which do not).
        operation["requestBody"] = {"content": {media: {"schema": {
            "$ref": _schema_ref(resource, resource.kind)}} for media in body}, "required": True}
    return operation


def _resource_paths(resource):
    prefix = "/" + _gv_path(resource)
    name = dict(_PATH_PARAMETER, name="name", description=f"name of the {resource.kind}")
    namespace = dict(_PATH_PARAMETER, name="namespace",
                     description="object name and auth scope, such as for teams and projects")
    base = f"{prefix}/namespaces/{{namespace}}/{resource.name}" if resource.namespaced else \
        f"{prefix}/{resource.name}"
    scoped = [namespace] if resource.namespaced else []
    patch_bodies = (JSON_PATCH, MERGE_PATCH)

    def op(*args, **kwargs):
        return _resource_operation(resource, *args, namespaced=resource.namespaced, **kwargs)

    collection = {"get": op("list", "list", response=resource.list_kind,
                            parameters=_LIST_PARAMETERS),
                  "post": op("post", "create", body=("*/*",), code="201",
                             parameters=_WRITE_PARAMETERS),
                  "parameters": list(scoped)}
    if "deletecollection" in resource.verbs:
        collection["delete"] = op("deletecollection", "deletecollection",
                                  parameters=_LIST_PARAMETERS)
    item = {"get": op("get", "read"),
            "put": op("put", "replace", body=("*/*",), parameters=_WRITE_PARAMETERS),
            "patch": op("patch", "patch", body=patch_bodies, parameters=_WRITE_PARAMETERS),
            "delete": op("delete", "delete", parameters=_WRITE_PARAMETERS[:1]),
            "parameters": [name] + scoped}
    paths = {base: collection, f"{base}/{{name}}": item}
    if resource.status_subresource:
        paths[f"{base}/{{name}}/status"] = {
            "get": op("get", "read", subresource="status"),
            "put": op("put", "replace", body=("*/*",), parameters=_WRITE_PARAMETERS,
                      subresource="status"),
            "patch": op("patch", "patch", body=patch_bodies, parameters=_WRITE_PARAMETERS,
                        subresource="status"),
            "parameters": [name] + scoped}
    if resource.namespaced:
        paths[f"{prefix}/{resource.name}"] = {"get": _resource_operation(
            resource, "list", "list", response=resource.list_kind, parameters=_LIST_PARAMETERS,
            subresource="ForAllNamespaces")}
    return paths


def _openapi_v3_document(store, group_version):
    """The OpenAPI v3 document of one group-version (what /openapi/v3/<gv> serves)."""
    if group_version == "apis/authentication.k8s.io/v1":
        paths = {
            "/apis/authentication.k8s.io/v1/tokenreviews": {"post": _operation(
                "post", "TokenReview", "createAuthenticationV1TokenReview", "*/*",
                parameters=_WRITE_PARAMETERS, response_code="201")},
            "/apis/authentication.k8s.io/v1/selfsubjectreviews": {"post": _operation(
                "post", "SelfSubjectReview", "createAuthenticationV1SelfSubjectReview", "*/*",
                parameters=_WRITE_PARAMETERS, response_code="201")}}
        components = {_SCHEMA_NAMES[k]: _SCHEMAS[_SCHEMA_NAMES[k]]
                      for k in ("TokenReview", "SelfSubjectReview")}
    else:
        resources = [r for r in store.served() if _gv_path(r) == group_version]
        if not resources:
            return None
        paths, components = {}, {}
        for resource in resources:
            paths.update(_resource_paths(resource))
            components.update(_resource_schemas(resource))
    components["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] = _OBJECT_META_SCHEMA
    components["io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"] = \
        _SCHEMAS["io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"]
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes",
                                         "version": VERSION_INFO["gitVersion"]},
            "paths": paths, "components": {"schemas": components}}


def _openapi_v3_index(store):
    """The group-versions with the ?hash= of each document: upper-case hex SHA-512, as
    kube-apiserver (clients cache the documents by it)."""
    group_versions = ["api/v1"] + [f"apis/{g}/{v}" for g, versions in _api_groups(store)
                                   for v in versions]
    paths = {}
    for group_version in group_versions:
        document = _openapi_v3_document(store, group_version)
        if document is not None:
            digest = hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()
            paths[group_version] = {"serverRelativeURL": f"/openapi/v3/{group_version}?hash="
                                                         f"{digest.upper()}"}
    return {"paths": paths}

def _pb_string(number, text):
    data = text.encode()
    return _pb_key(number, 2) + _pb_varint(len(data)) + data


def _pb_key(number, wire):
    return _pb_varint(number << 3 | wire)


def _pb_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# Clients ask with "@v1.0" (client-go's constant), which Go's mime package cannot parse, so
# kube-openapi answers with the ".v1.0" spelling; both are accepted here.
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
OPENAPI_V2_PROTOBUF_ACCEPT = (OPENAPI_V2_PROTOBUF,
                              "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")


def _openapi_v2_protobuf():
    """gnostic's openapi_v2.Document: swagger (1) and info (2: title 1, version 2)."""
    info = _pb_string(1, "Kubernetes") + _pb_string(2, VERSION_INFO["gitVersion"])
    return _pb_string(1, "2.0") + _pb_key(2, 2) + _pb_varint(len(info)) + info


def _openapi_v2_json():
    return {"swagger": "2.0", "info": {"title": "Kubernetes",
                                       "version": VERSION_INFO["gitVersion"]},
            "paths": {}, "definitions": {}}


class _HttpsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, context, api):
        super().__init__(("127.0.0.1", port), _Handler)
        self.context = context
        self.api = api
        self.connections = set()
        self.connections_lock = threading.Lock()

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so that a client that
        # stalls in it cannot hold up accept() for everyone else.
        request.settimeout(_Handler.timeout)
        try:
            # As Go does: without it, a response's second segment waits for the client's
            # delayed ACK (40 ms a request).
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            first = request.recv(1, socket.MSG_PEEK)
            if first and first.isalpha():
                return self._refuse_plain_http(request)
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a plain-HTTP probe, a client that does not trust us, a port scan
        with self.connections_lock:
            self.connections.add(connection)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass
        finally:
            with self.connections_lock:
                self.connections.discard(connection)
            try:
                connection.close()
            except OSError:
                pass

    @staticmethod
    def _refuse_plain_http(request):
        """What Go's HTTPS server answers to a plain HTTP request. The request is read first
        and the close is lingering, so that no reset overtakes the answer."""
        request.settimeout(0.5)
        try:
            request.recv(65536)
            request.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n"
                            b"Client sent an HTTP request to an HTTPS server.\n")
            request.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 1
            while time.monotonic() < deadline and request.recv(65536):
                pass
        except OSError:
            pass

    def handle_error(self, request, client_address):
        traceback.print_exc(file=sys.stderr)

    def drop_connections(self):
        with self.connections_lock:
            for connection in list(self.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass




# --- the module API ---------------------------------------------------------------------------

class SecretsView(MutableMapping):
    """server.secrets: the stored secrets keyed by (namespace, name), as Secret objects (the
    JSON a GET would return). Assigning stores through the API's rules (stringData merged,
    validation; ValueError with the 422 message when invalid); deleting deletes."""

    def __init__(self, store):
        self._store = store

    def __getitem__(self, key):
        obj = self._store.get(SECRETS, *key)
        if obj is None:
            raise KeyError(key)
        return SECRETS.render(obj)

    def __setitem__(self, key, value):
        namespace, name = key
        body = copy.deepcopy(dict(value))
        body.setdefault("metadata", {})
        body["metadata"] = dict(body["metadata"] or {}, name=name, namespace=namespace)
        try:
            obj, _ = SECRETS.decode(body)
            obj["metadata"].pop("resourceVersion", None)
            with self._store.lock:
                if self._store.get(SECRETS, namespace, name) is None:
                    self._store.create(SECRETS, obj)
                else:
                    self._store.update(SECRETS, obj)
        except ApiError as error:
            raise ValueError(error.message) from None

    def __delitem__(self, key):
        try:
            self._store.delete(SECRETS, *key)
        except ApiError:
            raise KeyError(key) from None

    def __iter__(self):
        _, items = self._store.list(SECRETS)
        return iter([(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items])

    def __len__(self):
        return len(self._store.list(SECRETS)[1])


class _WatchStream:
    """An open watch, as drop_watches() and watch_count() see it."""

    def __init__(self, resource):
        self.resource = resource  # group-resource
        self.drop = None  # "abrupt" or "graceful" once drop_watches() asked for it


class KubeApiServer:
    """The server in a background thread; see the module docstring for what it serves."""

    def __init__(self, cert, key, token=(), port=0, *, log=None,
                 bookmark_interval=BOOKMARK_INTERVAL, crds=(), kubernetes_service=True,
                 client_ca=None):
        """cert, key: PEM files of the serving certificate (it must name 127.0.0.1);
        token: the admin bearer token, or several; port 0 picks a free one; log: a callable
        given one line per answered request; bookmark_interval: seconds between the BOOKMARK
        events of watches that allow them; crds: CRD manifests (dicts) or paths of YAML/JSON
        files or directories of them, installed before start; kubernetes_service: create the
        default/kubernetes Service and EndpointSlice on start, as a real cluster has;
        client_ca: a PEM file of roots for client certificates (kube-apiserver's
        --client-ca-file): a verified one authenticates its subject's CN as the user name and
        its O entries as groups, as the x509 authenticator does."""
        self._cert, self._key, self._requested_port = cert, key, port
        self._tokens = {token} if isinstance(token, str) else set(token)
        self._review_tokens = {}
        self._faults = []  # [kind, remaining, method, path, value]
        self._faults_lock = threading.Lock()
        self._log = log
        self._httpd = None
        self._thread = None
        self._watches = set()
        self._kubernetes_service = kubernetes_service
        self._client_ca = client_ca
        self.bookmark_interval = float(bookmark_interval)
        self.store = _Store()
        self.secrets = SecretsView(self.store)
        self.request_log = []
        self.reviews = []  # (token, requested audiences, authenticated) per TokenReview
        self.port = None
        for crd in crds:
            if isinstance(crd, dict):
                self.install_crd(crd)
            else:
                self.load_crds(crd)

    # lifecycle

    def start(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self._cert, self._key)
        if self._client_ca:
            # Asked for, not required: bearer tokens still work, as on a real server.
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(self._client_ca)
        context.set_alpn_protocols(["http/1.1"])  # no h2: http.server speaks HTTP/1.1 only
        self._httpd = _HttpsServer(self._requested_port, context, self)
        self.port = self._httpd.server_address[1]
        if self._kubernetes_service:
            self._create_kubernetes_service()
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="kube-api-server", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Idempotent. Ends watches and open connections too; a stopped server is not
        started again (make a new one)."""
        if self._httpd is None:
            return
        self.store.close()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.drop_connections()
        self._thread.join(timeout=10)
        self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def _create_kubernetes_service(self):
        """What kube-apiserver maintains in every cluster: the kubernetes Service (the first
        address of the service range, port 443) and its EndpointSlice naming the server."""
        if self.get("services", "default", "kubernetes") is not None:
            return
        labels = {"component": "apiserver", "provider": "kubernetes"}
        self.create("services", {"metadata": {"name": "kubernetes", "namespace": "default",
                                              "labels": labels},
                                 "spec": {"clusterIP": str(SERVICE_CIDR.network_address + 1),
                                          "ports": [{"name": "https", "port": 443,
                                                     "targetPort": self.port}]}})
        self.create("endpointslices", {
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {
                "kubernetes.io/service-name": "kubernetes",
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {
                "ready": True, "serving": True, "terminating": False}}],
            "ports": [{"name": "https", "port": self.port, "protocol": "TCP"}]})

    # identities

    def add_token(self, token):
        """Another bearer token with admin rights."""
        self._tokens.add(token)

    def add_review_token(self, token, username, audiences=(), *, uid=None, groups=None):
        """A token that TokenReview authenticates as `username` for `audiences` (see the module
        docstring for the audience rule). Groups default to what kube-apiserver gives a
        service account (or just system:authenticated for other users)."""
        if isinstance(audiences, str):
            audiences = [audiences]
        if groups is None:
            parts = username.split(":")
            if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
                groups = ["system:serviceaccounts", f"system:serviceaccounts:{parts[2]}",
                          "system:authenticated"]
            else:
                groups = ["system:authenticated"]
        self._review_tokens[token] = {"username": username, "uid": uid or str(uuid.uuid4()),
                                      "groups": list(groups), "audiences": list(audiences)}

    def remove_review_token(self, token):
        """Revokes a review token (as deleting its service account would)."""
        self._review_tokens.pop(token, None)

    # objects of any resource
    # `resource` names a resource as kubectl would: its plural ("pods"), with its group
    # ("leases.coordination.k8s.io", "trafficroutes.weft.dev"), its Kind ("Lease"), singular
    # or a short name ("svc", "tr"). Objects are the JSON a GET returns. Writes go through the
    # API's decoding, defaulting and validation (ApiError, as a client would get it, when they
    # fail), get resourceVersions and send watch events; unknown fields are dropped.

    def resource(self, name):
        """The served resource (in its preferred version) a name stands for."""
        if isinstance(name, _Resource):
            return name
        with self.store.lock:
            found = []
            for qualified in self.store.resources:
                resource = self.store.preferred(qualified)
                if resource is not None and name in (qualified, resource.name, resource.kind,
                                                     resource.singular, *resource.short_names):
                    found.append(resource)
        if len(found) != 1:
            raise KeyError(f"{name!r} names {len(found)} resources")
        return found[0]

    def _decoded(self, resource, obj):
        body = copy.deepcopy(dict(obj))
        body.setdefault("apiVersion", resource.api_version)
        body.setdefault("kind", resource.kind)
        body["metadata"] = dict(body.get("metadata") or {})
        resource.check_type_meta(body)
        decoded, _ = resource.decode(body)
        meta = decoded["metadata"]
        if resource.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        return decoded

    def create(self, resource, obj):
        """Creates an object; returns it as stored."""
        resource = self.resource(resource)
        decoded = self._decoded(resource, obj)
        decoded["metadata"].pop("resourceVersion", None)
        return resource.render(self.store.create(resource, decoded))

    def update(self, resource, obj):
        """Replaces an object (PUT): conditional on metadata.resourceVersion when it has one
        (ApiError 409 when stale), unconditional otherwise."""
        resource = self.resource(resource)
        return resource.render(self.store.update(resource, self._decoded(resource, obj)))

    def put(self, resource, obj):
        """Creates the object, or replaces it unconditionally."""
        resource = self.resource(resource)
        decoded = self._decoded(resource, obj)
        decoded["metadata"].pop("resourceVersion", None)
        with self.store.lock:
            if self.store.get(resource, *_key(decoded)) is None:
                return resource.render(self.store.create(resource, decoded))
            return resource.render(self.store.update(resource, decoded))

    def update_status(self, resource, obj):
        """Writes the status subresource: only .status changes (as a kubelet or a controller
        writes it)."""
        resource = self.resource(resource)
        if not resource.status_subresource:
            raise KeyError(f"{resource.qualified} has no status subresource")
        return resource.render(self.store.update(resource, self._decoded(resource, obj),
                                                 subresource="status"))

    def patch(self, resource, namespace, name, patch, patch_type=MERGE_PATCH,
              subresource=None):
        """Patches an object (a JSON merge patch unless told otherwise)."""
        resource = self.resource(resource)
        with self.store.lock:
            updated, _ = _patch_object(self.store, resource, namespace or "", name, {},
                                       patch_type, copy.deepcopy(patch), subresource)
        return resource.render(updated)

    def get(self, resource, namespace, name):
        """The object, or None."""
        resource = self.resource(resource)
        obj = self.store.get(resource, namespace or "" if resource.namespaced else "", name)
        return resource.render(obj) if obj is not None else None

    def list(self, resource, namespace=None):
        """The objects (of one namespace, or all), sorted by namespace and name."""
        resource = self.resource(resource)
        return [resource.render(o) for o in self.store.list(resource, namespace)[1]]

    def delete(self, resource, namespace, name, *, grace_period=0):
        """Deletes an object (a pod at once unless a grace period is given; an object with
        finalizers only gets its deletionTimestamp). Returns the last state, or None when
        there was no such object."""
        resource = self.resource(resource)
        try:
            deleted, _ = self.store.delete(resource, namespace or "" if resource.namespaced
                                           else "", name, grace_period=grace_period)
        except ApiError as error:
            if error.code == 404:
                return None
            raise
        return resource.render(deleted)

    def install_crd(self, manifest):
        """Creates or replaces a CustomResourceDefinition; its resources are served at once."""
        return self.put("customresourcedefinitions", manifest)

    def load_crds(self, path):
        """Installs the CRDs of a YAML or JSON file, or of every such file in a directory
        (other kinds of objects in them are skipped). Returns their names."""
        files = [os.path.join(path, f) for f in sorted(os.listdir(path))
                 if f.endswith((".yaml", ".yml", ".json"))] if os.path.isdir(path) else [path]
        names = []
        for file in files:
            with open(file, encoding="utf-8") as f:
                text = f.read()
            documents = [json.loads(text)] if file.endswith(".json") else \
                load_yaml_documents(text)
            for document in documents:
                items = document.get("items", []) if isinstance(document, dict) and \
                    document.get("kind", "").endswith("List") else [document]
                for item in items:
                    if isinstance(item, dict) and item.get("kind") == "CustomResourceDefinition":
                        names.append(self.install_crd(item)["metadata"]["name"])
        return names

    @property
    def resource_version(self):
        """The store's current resourceVersion (what a list answers now), as a string."""
        return str(self.store.rv)

    # watches

    def compact(self):
        """Forgets every kept event, as an etcd compaction would: a watch or an exact list
        (resourceVersionMatch=Exact, or a continue token) from an older resourceVersion gets
        410 Expired."""
        self.store.compact()

    def drop_watches(self, graceful=False, resource=None, timeout=5.0):
        """Ends the open watches (of one resource, or all): abruptly by default, closing the
        connection without the terminating chunk, as a load balancer or a restarting
        apiserver would; with graceful=True, with the chunk, as at a watch's timeout. Returns
        how many ended, once they have."""
        qualified = self.resource(resource).qualified if resource is not None else None
        with self.store.lock:
            streams = [s for s in self._watches
                       if qualified is None or s.resource == qualified]
            for stream in streams:
                stream.drop = "graceful" if graceful else "abrupt"
            self.store.changed.notify_all()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.store.lock:
                if not any(s in self._watches for s in streams):
                    break
            time.sleep(0.01)
        return len(streams)

    def watch_count(self, resource=None):
        """How many watches are open (of one resource, or all)."""
        qualified = self.resource(resource).qualified if resource is not None else None
        with self.store.lock:
            return sum(1 for s in self._watches if qualified is None or s.resource == qualified)

    def wait_for_watches(self, resource=None, count=1, timeout=10.0):
        """Waits until at least `count` watches are open; True if they were in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.watch_count(resource) >= count:
                return True
            time.sleep(0.01)
        return self.watch_count(resource) >= count

    def _open_watch(self, qualified):
        stream = _WatchStream(qualified)
        with self.store.lock:
            self._watches.add(stream)
        return stream

    def _close_watch(self, stream):
        with self.store.lock:
            self._watches.discard(stream)

    # secrets

    def put_secret(self, namespace, name, data=None, *, string_data=None, type="Opaque",
                   labels=None):
        """Creates or replaces a secret whose `data` values are raw bytes or text (encoded
        here), through the API's validation (ValueError if invalid); returns the stored
        Secret."""
        body = {"type": type, "metadata": {"labels": dict(labels or {})}, "data": {
            k: base64.b64encode(v.encode() if isinstance(v, str) else v).decode()
            for k, v in (data or {}).items()}}
        if string_data:
            body["stringData"] = dict(string_data)
        self.secrets[(namespace, name)] = body
        return self.secrets[(namespace, name)]

    def get_secret(self, namespace, name):
        """The Secret object, or None."""
        return self.secrets.get((namespace, name))

    def secret_data(self, namespace, name):
        """The secret's data decoded to bytes, or None when there is no such secret."""
        secret = self.get_secret(namespace, name)
        if secret is None:
            return None
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    # faults

    def fail_next(self, n, status=500, *, method=None, path=None):
        """The next n authenticated requests (optionally only those with this method and a path
        starting with `path`) are answered with a Status of this code instead: the one
        kube-apiserver would send (see injected_error)."""
        with self._faults_lock:
            self._faults.append(["fail", n, method, path, status])

    def delay_next(self, n, seconds, *, method=None, path=None):
        """The next n requests (filtered as for fail_next) wait `seconds` before being served."""
        with self._faults_lock:
            self._faults.append(["delay", n, method, path, seconds])

    def clear_faults(self):
        with self._faults_lock:
            self._faults.clear()

    def requests_to(self, path, method=None):
        """The logged requests for exactly this path (and method)."""
        return [r for r in list(self.request_log)
                if r.path == path and (method is None or r.method == method)]

    # used by the handler

    def _take(self, kind, method, path):
        with self._faults_lock:
            for fault in self._faults:
                if fault[0] == kind and fault[1] > 0 and (fault[2] in (None, method)) and \
                        (fault[3] is None or path.startswith(fault[3])):
                    fault[1] -= 1
                    if fault[1] == 0:
                        self._faults.remove(fault)
                    return fault[4]
        return None

    def _delay(self, method, path):
        seconds = self._take("delay", method, path)
        if seconds:
            time.sleep(seconds)

    def _authenticate(self, header, peer_certificate=None):
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token in self._tokens:
            return copy.deepcopy(ADMIN_USER)
        if peer_certificate:
            # Verified against client_ca by the handshake (unverified ones are refused there).
            names = [value for entry in peer_certificate.get("subject", ())
                     for key, value in entry if key == "commonName"]
            groups = [value for entry in peer_certificate.get("subject", ())
                      for key, value in entry if key == "organizationName"]
            if names:
                return {"username": names[0], "groups": groups + ["system:authenticated"]}
        return None

    def _review(self, token, audiences):
        requested = list(audiences) or [DEFAULT_AUDIENCE]
        identity = self._review_tokens.get(token)
        status = {"authenticated": False, "user": {}, "error": "invalid bearer token"}
        if identity is not None:
            own = identity["audiences"] or [DEFAULT_AUDIENCE]
            common = [a for a in requested if a in own]
            if common:
                user = {k: copy.deepcopy(identity[k]) for k in ("username", "uid", "groups")}
                status = {"authenticated": True, "user": user, "audiences": common}
            elif identity["audiences"]:
                # The service-account JWT authenticator's words for an audience mismatch.
                status["error"] = (f"token audiences {_go_quote_list(own)} is invalid for the "
                                   f"target audiences {_go_quote_list(requested)}")
        self.reviews.append((token, list(audiences), status["authenticated"]))
        return status

    def _log_request(self, method, path, status, query):
        self.request_log.append(LoggedRequest(method, path, status, query))
        if self._log is not None:
            self._log(f"{method} {path}{'?' + query if query else ''} {status}")


# --- the program ------------------------------------------------------------------------------

def parse_review_token(text):
    """TOKEN=USERNAME[:aud1,aud2]. A service-account username (system:serviceaccount:NS:NAME)
    is its four colon-separated fields and the audiences follow a fifth colon; any other
    username ends at its first colon (use the module API for usernames with colons)."""
    token, equals, rest = text.partition("=")
    if not equals or not token or not rest:
        raise argparse.ArgumentTypeError(f"expected TOKEN=USERNAME[:aud1,aud2], got {text!r}")
    if rest.startswith("system:serviceaccount:"):
        fields = rest.split(":", 4)
        username, audiences = ":".join(fields[:4]), fields[4] if len(fields) > 4 else ""
    else:
        username, _, audiences = rest.partition(":")
    return token, username, [a for a in audiences.split(",") if a]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--cert", required=True, help="serving certificate (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--token", action="append", required=True,
                        help="an admin bearer token (repeatable)")
    parser.add_argument("--review-token", action="append", default=[], type=parse_review_token,
                        metavar="TOKEN=USERNAME[:aud1,aud2]",
                        help="a token that TokenReview authenticates (repeatable)")
    parser.add_argument("--crd-file", action="append", default=[], metavar="PATH",
                        help="a YAML or JSON file of CustomResourceDefinitions, or a directory "
                             "of them, installed before serving (repeatable)")
    parser.add_argument("--bookmark-interval", type=float, default=BOOKMARK_INTERVAL,
                        metavar="SECONDS", help="between the BOOKMARK events of watches that "
                                                "allow them (default: %(default)s)")
    parser.add_argument("--no-kubernetes-service", action="store_true",
                        help="no default/kubernetes Service and EndpointSlice")
    parser.add_argument("--port-file", help="where to write the port once listening")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)

    log = None if args.quiet else (lambda line: print(line, flush=True))
    server = KubeApiServer(args.cert, args.key, args.token, args.port, log=log,
                           bookmark_interval=args.bookmark_interval, crds=args.crd_file,
                           kubernetes_service=not args.no_kubernetes_service)
    for token, username, audiences in args.review_token:
        server.add_review_token(token, username, audiences)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    if args.port_file:
        # Written whole, then renamed, so a reader never sees a partial number.
        partial = f"{args.port_file}.{os.getpid()}.tmp"
        with open(partial, "w") as f:
            f.write(f"{server.port}\n")
        os.replace(partial, args.port_file)
    print(f"kube-api-server listening on 127.0.0.1:{server.port}", flush=True)
    while not stop.wait(1.0):
        pass
    server.stop()
    print("kube-api-server stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
