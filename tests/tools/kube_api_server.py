#!/usr/bin/env python3
"""A Kubernetes API server for tests: secrets, namespaces and TokenReview over HTTPS,
answering the way kube-apiserver 1.32 does on the wire, in one stdlib-only Python file.

No real API server can be installed where the tests run, so this one stands in for it. What it
serves is checked against the real kubectl by tests/integration/kube_api_server_test.py.

Use it as a module (tests written in Python)::

    server = KubeApiServer("server.pem", "server-key.pem", token="admin-token").start()
    server.add_review_token("sa-token", "system:serviceaccount:default:reviews",
                            audiences=["weft"])
    ... server.url, server.port, server.secrets[("default", "name")], server.request_log ...
    server.stop()

or as a program, which writes its port to --port-file once it listens and runs until SIGTERM::

    python3 kube_api_server.py --port 0 --cert C --key K --token T \\
        [--review-token TOKEN=USERNAME[:aud1,aud2]]... --port-file F

What it serves
--------------
- Discovery: /version, /api, /api/v1, /apis, /apis/authentication.k8s.io[/v1], and / (the
  path list). Aggregated discovery is not served: a client that asks for it (Accept naming
  as=APIGroupDiscoveryList) also names plain application/json, which is what it gets, and
  client-go then falls back to the legacy documents, as it does against an old server.
- OpenAPI: /openapi/v3 (index) and its documents for api/v1 and authentication.k8s.io/v1,
  with the operations served here and their fieldValidation parameter, which is how kubectl
  learns that the server validates fields (it then sends fieldValidation=Strict); /openapi/v2
  (protobuf for kubectl, JSON otherwise) is a valid document without paths or definitions,
  so kubectl's client-side schema check, its fallback for kinds without a PATCH such as
  TokenReview, finds no schema and passes, and this server's strict validation decides.
- secrets (namespaced) and namespaces (cluster-scoped): get, list (labelSelector,
  fieldSelector, limit/continue), watch, create, update (PUT), patch (JSON merge patch,
  strategic merge patch, JSON patch), delete (preconditions) and deletecollection; Table and
  PartialObjectMetadata output when the Accept header asks for them (kubectl get does).
  Objects get uid, resourceVersion (one global counter, as a string) and creationTimestamp
  (RFC 3339, UTC). stringData is merged into data, base64-encoded, on every write. A secret
  may be created in any namespace; the namespace then comes into being (a real server would
  answer 404 for a namespace that does not exist). Deleting a namespace deletes it and its
  secrets at once (a real one goes through Terminating first).
- tokenreviews and selfsubjectreviews (authentication.k8s.io/v1, create only).
- Errors are Status objects with the reason, code, message and details kube-apiserver uses:
  NotFound, AlreadyExists, Conflict, Invalid (422, with causes), BadRequest (malformed JSON,
  bad base64, names not matching the URL, strict field validation), MethodNotAllowed,
  NotAcceptable, UnsupportedMediaType, RequestEntityTooLarge (bodies over 3 MiB),
  Unauthorized.

Authentication
--------------
Every path, including /version and /healthz, needs `Authorization: Bearer <admin token>`:
the server behaves like kube-apiserver with --anonymous-auth=false and no authorization
beyond authentication. Anything else is 401 Unauthorized. Tokens registered for TokenReview
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
Request bodies are JSON, or Kubernetes protobuf for the kinds served (typed clients such as
`kubectl create secret` send nothing else); answers are always JSON, which those clients
accept too. HTTP/1.1 with keep-alive over TLS 1.2 or later, on 127.0.0.1 only. Requests that
cannot be parsed, and plain HTTP on the TLS port, get Go's net/http answers; a connection
answered without its body being read is closed lingeringly so that the answer arrives.

Tests can inject faults: fail_next() answers the next requests with a Status of a given code
(503 and 429 with Retry-After, which client-go retries), delay_next() holds them.

Limitations (documented so that tests do not lean on them)
----------------------------------------------------------
No YAML bodies (415) and no YAML or protobuf answers (406 when the client accepts nothing
else), no server-side apply (415), no managedFields, no RBAC, no admission, list pages are
not a snapshot, and the watch cache keeps the last MAX_EVENTS events (older resourceVersions
get 410 Expired, as from a compacted etcd).
"""
import argparse
import base64
import collections
import copy
import datetime
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

DEFAULT_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's limit for a JSON request body
MAX_SECRET_BYTES = 1024 * 1024  # core/v1 validation: the total size of a secret's data
MAX_EVENTS = 1000  # how many changes a watch can resume from (the "watch cache")
MAX_WATCH_SECONDS = 1800  # kube-apiserver's --min-request-timeout
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


# --- errors ----------------------------------------------------------------------------------

class ApiError(Exception):
    """An error answered as a Status object (k8s.io/apimachinery/pkg/api/errors)."""

    def __init__(self, code, message, reason=None, details=None, headers=()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = REASONS.get(code, "") if reason is None else reason
        self.details = details
        self.headers = list(headers)

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message}
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def bad_request(message):
    return ApiError(400, message)


def not_found(resource, name):
    return ApiError(404, f'{resource} "{name}" not found',
                    details={"name": name, "kind": resource})


def already_exists(resource, name):
    return ApiError(409, f'{resource} "{name}" already exists', reason="AlreadyExists",
                    details={"name": name, "kind": resource})


def conflict(resource, name, why):
    return ApiError(409, f'Operation cannot be fulfilled on {resource} "{name}": {why}',
                    details={"name": name, "kind": resource})


STALE = ("the object has been modified; please apply your changes to the latest version and "
         "try again")


def method_not_allowed():
    return ApiError(405, "the server does not allow this method on the requested resource",
                    details={})


def unknown_path():
    return ApiError(404, "the server could not find the requested resource", details={})


# field.Error: the typed validation errors whose text kube-apiserver puts into a 422.
class FieldError:
    def __init__(self, kind, field, value=None, detail=""):
        self.kind, self.field, self.value, self.detail = kind, field, value, detail

    def text(self):
        if self.kind == "Invalid":
            text = f"Invalid value: {_go_quote(self.value)}"
            return f"{text}: {self.detail}" if self.detail else text
        if self.kind == "Required":
            return f"Required value: {self.detail}" if self.detail else "Required value"
        if self.kind == "Forbidden":
            return f"Forbidden: {self.detail}" if self.detail else "Forbidden"
        if self.kind == "TooLong":
            return f"Too long: {self.detail}"
        return self.detail

    def cause(self):
        reason = {"Invalid": "FieldValueInvalid", "Required": "FieldValueRequired",
                  "Forbidden": "FieldValueForbidden", "TooLong": "FieldValueTooLong"}[self.kind]
        return {"reason": reason, "message": self.text(), "field": self.field}


def invalid(kind, name, errors):
    """422 Invalid. Its details name the Kind (not the resource, unlike NotFound)."""
    texts = [f"{e.field}: {e.text()}" for e in errors]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(422, f'{kind} "{name}" is invalid: {summary}',
                    details={"name": name, "kind": kind,
                             "causes": [e.cause() for e in errors]})


def _go_quote(value):
    """Go's %q for a string (JSON quoting is the same for printable text); %v otherwise."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _go_quote_list(values):
    return "[" + " ".join(_go_quote(v) for v in values) + "]"


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
    directive = _field_validation(query)
    unknown = _unknown_fields(body, schema) if directive != "Ignore" else []
    if not unknown:
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


def _strategic_merge_patch(target, patch):
    """Strategic merge patch for Secret and Namespace: their only list with a merge strategy
    is metadata.finalizers (merged as a set); everything else merges as a JSON merge patch.
    $-directives ($patch, $retainKeys, $setElementOrder, ...) are dropped."""
    if not isinstance(patch, dict):
        return patch
    clean = {k: _strip_directives(v) for k, v in patch.items() if not k.startswith("$")}
    finalizers = None
    meta = clean.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("finalizers"), list):
        old = (target.get("metadata") or {}).get("finalizers") or []
        finalizers = old + [f for f in meta["finalizers"] if f not in old]
    result = _merge_patch(target, clean)
    if finalizers is not None:
        result["metadata"]["finalizers"] = finalizers
    return result


def _strip_directives(value):
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
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


# --- resources --------------------------------------------------------------------------------

_META_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion",
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


def _column(name, description, fmt=""):
    return {"name": name, "type": "string", "format": fmt, "description": description,
            "priority": 0}


class _Resource:
    """What differs between secrets and namespaces; the REST verbs are shared (_Store)."""
    name = kind = list_kind = ""
    namespaced = False
    schema = {}
    selectable_fields = ()
    columns = []

    def decode(self, body):
        raise NotImplementedError

    def validate(self, obj, old=None):
        raise NotImplementedError

    def cells(self, obj):
        raise NotImplementedError

    def fields(self, obj):
        raise NotImplementedError

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
        if sum(len(k) + len(v) for k, v in annotations.items()) > 256 * 1024:
            errors.append(FieldError("TooLong", "metadata.annotations", None,
                                     "must have at most 262144 bytes"))
        return errors


class _Secrets(_Resource):
    name, kind, list_kind, namespaced = "secrets", "Secret", "SecretList", True
    schema = {"kind": None, "apiVersion": None, "metadata": _META_SCHEMA, "immutable": None,
              "data": None, "stringData": None, "type": None}
    selectable_fields = ("metadata.name", "metadata.namespace", "type")
    columns = [
        _column("Name", _NAME_DESCRIPTION, "name"),
        _column("Type", "Used to facilitate programmatic handling of secret data. More info: "
                        "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"),
        _column("Data", "Data contains the secret data. Each key must consist of alphanumeric "
                        "characters, '-', '_' or '.'. The serialized form of the secret data "
                        "is a base64 encoded string, representing the arbitrary (possibly "
                        "non-string) data value here. Described in "
                        "https://tools.ietf.org/html/rfc4648#section-4"),
        _column("Age", _AGE_DESCRIPTION)]

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
        return obj

    def validate(self, obj, old=None):
        errors = self._validate_meta(obj, _dns_subdomain_problems)
        data = obj.get("data") or {}
        total = 0
        for key, value in data.items():
            errors += [FieldError("Invalid", f"data[{key}]", key, p)
                       for p in _config_key_problems(key)]
            total += len(base64.b64decode(value))
        if total > MAX_SECRET_BYTES:
            errors.append(FieldError("TooLong", "data", None,
                                     f"must have at most {MAX_SECRET_BYTES} bytes"))
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

    @staticmethod
    def render(obj):
        """Field order of the Go struct, which is how kube-apiserver's JSON comes out."""
        out = {"kind": "Secret", "apiVersion": "v1", "metadata": _render_meta(obj["metadata"])}
        if "immutable" in obj:
            out["immutable"] = obj["immutable"]
        if obj.get("data"):
            out["data"] = dict(obj["data"])
        out["type"] = obj["type"]
        return out


class _Namespaces(_Resource):
    name, kind, list_kind, namespaced = "namespaces", "Namespace", "NamespaceList", False
    schema = {"kind": None, "apiVersion": None, "metadata": _META_SCHEMA,
              "spec": {"finalizers": None}, "status": {"phase": None, "conditions": None}}
    selectable_fields = ("metadata.name", "status.phase")
    columns = [
        _column("Name", _NAME_DESCRIPTION, "name"),
        _column("Status", "The status of the namespace"),
        _column("Age", _AGE_DESCRIPTION)]

    def decode(self, body):
        decoder = _Decoder("Namespace")
        meta = decoder.metadata(body.get("metadata"))
        meta.pop("namespace", None)  # cluster-scoped: the server clears it
        spec = decoder.object(body.get("spec"), "Namespace.spec", "v1.NamespaceSpec")
        finalizers = decoder.string_list(spec.get("finalizers"), "Namespace.spec.finalizers")
        decoder.object(body.get("status"), "Namespace.status", "v1.NamespaceStatus")
        return {"metadata": meta, "spec": {"finalizers": finalizers or ["kubernetes"]},
                "status": {"phase": "Active"}}

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

    @staticmethod
    def render(obj):
        return {"kind": "Namespace", "apiVersion": "v1",
                "metadata": _render_meta(obj["metadata"]),
                "spec": copy.deepcopy(obj["spec"]), "status": copy.deepcopy(obj["status"])}


def _render_meta(meta):
    return {key: copy.deepcopy(meta[key]) for key in _META_ORDER if key in meta}


SECRETS = _Secrets()
NAMESPACES = _Namespaces()


# --- storage ----------------------------------------------------------------------------------

Event = collections.namedtuple("Event", "rv resource type old new")


class _Store:
    """Objects by (resource, namespace, name), one resourceVersion counter, and the recent
    changes for watches. Every method takes the lock; returned objects are copies."""

    def __init__(self):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 0
        self.objects = {SECRETS.name: {}, NAMESPACES.name: {}}
        self.events = collections.deque()
        self.floor = 0  # events up to this resourceVersion may have been dropped
        self.closed = False
        for name in DEFAULT_NAMESPACES:
            self._insert(NAMESPACES, {"metadata": {"name": name}, "spec": {
                "finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}, record=False)

    @staticmethod
    def key(resource, obj):
        meta = obj["metadata"]
        return (meta.get("namespace", "") if resource.namespaced else "", meta["name"])

    def _next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _record(self, resource, kind, old, new):
        self.events.append(Event(self.rv, resource.name, kind, old, new))
        while len(self.events) > MAX_EVENTS:
            self.floor = self.events.popleft().rv
        self.changed.notify_all()

    def _insert(self, resource, obj, record=True):
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now_rfc3339()
        meta["resourceVersion"] = self._next_rv()
        self.objects[resource.name][self.key(resource, obj)] = obj
        if record:
            self._record(resource, "ADDED", None, obj)
        if resource is SECRETS:
            self._ensure_namespace(meta["namespace"])
        return obj

    def _ensure_namespace(self, name):
        if ("", name) not in self.objects[NAMESPACES.name]:
            namespace = {"metadata": {"name": name, "labels": {
                "kubernetes.io/metadata.name": name}}, "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}}
            self._insert(NAMESPACES, namespace)

    def get(self, resource, namespace, name):
        with self.lock:
            obj = self.objects[resource.name].get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource, namespace=None):
        """(resourceVersion, objects sorted by namespace and name), like an etcd range read."""
        with self.lock:
            items = [copy.deepcopy(obj) for key, obj in sorted(self.objects[resource.name].items())
                     if namespace is None or key[0] == namespace]
            return str(self.rv), items

    def create(self, resource, obj, dry_run=False):
        with self.lock:
            meta = obj["metadata"]
            if not meta.get("name") and meta.get("generateName"):
                # names.SimpleNameGenerator: five characters from an alphabet without vowels
                # (no accidental words) or look-alikes.
                for _ in range(100):
                    suffix = "".join(random.choice("bcdfghjklmnpqrstvwxz2456789")
                                     for _ in range(5))
                    meta["name"] = meta["generateName"][:58] + suffix
                    if self.key(resource, obj) not in self.objects[resource.name]:
                        break
            if meta.get("resourceVersion"):
                # The etcd3 store's error, which kube-apiserver answers as a 500.
                raise ApiError(500, "Internal error occurred: resourceVersion should not be set "
                                    "on objects to be created",
                               details={"causes": [{"message": "resourceVersion should not be "
                                                               "set on objects to be created"}]})
            errors = resource.validate(obj)
            if errors:
                raise invalid(resource.kind, meta.get("name", ""), errors)
            if self.key(resource, obj) in self.objects[resource.name]:
                raise already_exists(resource.name, meta["name"])
            if dry_run:
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = _now_rfc3339()
                meta.pop("resourceVersion", None)
                return copy.deepcopy(obj)
            return copy.deepcopy(self._insert(resource, obj))

    def update(self, resource, obj, dry_run=False, expected_rv=None):
        """PUT semantics: a stale resourceVersion is a Conflict, none is unconditional.
        `expected_rv` is the precondition of a patch (None: take the object's)."""
        with self.lock:
            meta = obj["metadata"]
            key = self.key(resource, obj)
            old = self.objects[resource.name].get(key)
            if old is None:
                raise not_found(resource.name, meta["name"])
            wanted = meta.get("resourceVersion", "") if expected_rv is None else expected_rv
            if wanted and not wanted.isdigit():
                raise bad_request(f'invalid resource version "{wanted}"')
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                raise conflict(resource.name, meta["name"], STALE)
            if meta.get("uid") and meta["uid"] != old["metadata"]["uid"]:
                raise conflict(resource.name, meta["name"],
                               f"Precondition failed: UID in precondition: {meta['uid']}, "
                               f"UID in object meta: {old['metadata']['uid']}")
            meta.pop("generateName", None)
            if old["metadata"].get("generateName"):
                meta["generateName"] = old["metadata"]["generateName"]
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            errors = resource.validate(obj, old)
            if errors:
                raise invalid(resource.kind, meta["name"], errors)
            if obj == old or dry_run:
                # A no-op update keeps the resourceVersion and sends no watch event.
                return copy.deepcopy(obj)
            meta["resourceVersion"] = self._next_rv()
            self.objects[resource.name][key] = obj
            self._record(resource, "MODIFIED", old, obj)
            return copy.deepcopy(obj)

    def delete(self, resource, namespace, name, preconditions=None, dry_run=False):
        with self.lock:
            old = self.objects[resource.name].get((namespace, name))
            if old is None:
                raise not_found(resource.name, name)
            preconditions = preconditions or {}
            uid, rv = preconditions.get("uid"), preconditions.get("resourceVersion")
            if uid and uid != old["metadata"]["uid"]:
                raise conflict(resource.name, name,
                               f"Precondition failed: UID in precondition: {uid}, "
                               f"UID in object meta: {old['metadata']['uid']}")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(resource.name, name,
                               f"Precondition failed: ResourceVersion in precondition: {rv}, "
                               f"ResourceVersion in object meta: "
                               f"{old['metadata']['resourceVersion']}")
            if dry_run:
                return copy.deepcopy(old)
            if resource is NAMESPACES:
                for key in [k for k in self.objects[SECRETS.name] if k[0] == name]:
                    self._remove(SECRETS, key)
            return self._remove(resource, (namespace, name))

    def _remove(self, resource, key):
        gone = self.objects[resource.name].pop(key)
        # The DELETED event carries the resourceVersion of the deletion.
        final = copy.deepcopy(gone)
        final["metadata"]["resourceVersion"] = self._next_rv()
        self._record(resource, "DELETED", gone, final)
        return copy.deepcopy(final)

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
            user = api._authenticate(self.headers.get("Authorization"))
            if user is None:
                raise ApiError(401, "Unauthorized")
            code = api._take("fail", self.command, path)
            if code is not None:
                # Read the body as a real handler would have, so the connection stays usable.
                self._read_body()
                raise injected_error(code, self.command, path, user)
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
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
            if rest == ["namespaces"]:
                return self._collection(NAMESPACES, "", query)
            if len(rest) == 2 and rest[0] == "namespaces":
                return self._item(NAMESPACES, "", rest[1], query)
            if len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "secrets":
                return self._collection(SECRETS, rest[1], query)
            if len(rest) == 4 and rest[0] == "namespaces" and rest[2] == "secrets":
                return self._item(SECRETS, rest[1], rest[3], query)
            if rest == ["secrets"]:
                if method != "GET":
                    raise method_not_allowed()
                return self._collection(SECRETS, None, query)
        if parts[:3] == ["apis", "authentication.k8s.io", "v1"] and len(parts) == 4:
            if parts[3] == "tokenreviews":
                return self._token_review(query)
            if parts[3] == "selfsubjectreviews":
                return self._self_subject_review(query, user)
        raise unknown_path()

    def _discovery(self, parts, method):
        api = self.server.api
        documents = {
            (): lambda: {"paths": [
                "/api", "/api/v1", "/apis", "/apis/", "/apis/authentication.k8s.io",
                "/apis/authentication.k8s.io/v1", "/healthz", "/livez", "/openapi/v2",
                "/openapi/v3", "/openapi/v3/", "/readyz", "/version"]},
            ("version",): lambda: dict(VERSION_INFO),
            ("api",): lambda: {"kind": "APIVersions", "versions": ["v1"],
                               "serverAddressByClientCIDRs": [{
                                   "clientCIDR": "0.0.0.0/0",
                                   "serverAddress": f"127.0.0.1:{api.port}"}]},
            ("api", "v1"): _core_resources,
            ("apis",): lambda: {"kind": "APIGroupList", "apiVersion": "v1",
                                "groups": [_AUTHENTICATION_GROUP]},
            ("apis", "authentication.k8s.io"): lambda: dict(
                _AUTHENTICATION_GROUP, kind="APIGroup", apiVersion="v1"),
            ("apis", "authentication.k8s.io", "v1"): _authentication_resources,
        }
        document = documents.get(tuple(parts))
        if document is None:
            return False
        if method != "GET":
            raise method_not_allowed()
        self._read_body()
        self._negotiate()
        self._send_json(200, document())
        return True

    def _openapi(self, parts, method):
        if method != "GET":
            raise method_not_allowed()
        self._read_body()
        if parts == ["v2"]:
            # kubectl asks for protobuf; anyone else gets the JSON form.
            if any(media in OPENAPI_V2_PROTOBUF_ACCEPT for media, _ in
                   _media_types(self.headers.get("Accept"))):
                return self._send(200, _openapi_v2_protobuf(), OPENAPI_V2_PROTOBUF)
            return self._send_json(200, _openapi_v2_json())
        if parts == ["v3"]:
            return self._send_json(200, _openapi_v3_index())
        document = _openapi_v3_document("/".join(parts[1:])) if parts[:1] == ["v3"] else None
        if document is None:
            raise unknown_path()
        self._send_json(200, document)

    # -- REST verbs on secrets and namespaces --

    def _collection(self, resource, namespace, query):
        method = self.command
        if method == "GET":
            self._read_body()
            if (query.get("watch") or [""])[-1] in ("true", "1"):
                return self._watch(resource, namespace, query)
            return self._list(resource, namespace, query)
        if method == "POST":
            return self._create(resource, namespace, query)
        if method == "DELETE" and resource is SECRETS:
            return self._delete_collection(resource, namespace, query)
        raise method_not_allowed()

    def _item(self, resource, namespace, name, query):
        method = self.command
        api = self.server.api
        if method == "GET":
            self._read_body()
            representation = self._negotiate(conversions=True)
            obj = api.store.get(resource, namespace, name)
            if obj is None:
                raise not_found(resource.name, name)
            return self._send_json(200, self._represent(resource, [obj], representation,
                                                        query, single=True))
        if method == "PUT":
            return self._update(resource, namespace, name, query)
        if method == "PATCH":
            return self._patch(resource, namespace, name, query)
        if method == "DELETE":
            return self._delete(resource, namespace, name, query)
        raise method_not_allowed()

    def _decode_object(self, resource, body, query):
        """The body as a stored object of `resource`, plus Warning headers."""
        if not isinstance(body, dict):
            raise bad_request(f"couldn't get version/kind; json parse error: json: cannot "
                              f"unmarshal {_json_type(body)} into Go value of type "
                              f"struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; "
                              f"Kind string \"json:\\\"kind,omitempty\\\"\" }}")
        kind, version = body.get("kind") or resource.kind, body.get("apiVersion") or "v1"
        if kind != resource.kind or version != "v1":
            raise bad_request(f"the API version in the data ({version}) does not match the "
                              f"expected API version (v1)" if version != "v1" else
                              f"the object provided is unrecognized (must be of type "
                              f"{resource.kind}): kind {_go_quote(kind)}")
        warnings = _check_unknown_fields(body, resource.schema, query)
        return resource.decode(body), warnings

    def _place(self, resource, obj, namespace):
        """Fills the namespace from the URL; a different one in the body is a 400."""
        if not resource.namespaced:
            return
        meta = obj["metadata"]
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        meta["namespace"] = namespace

    def _create(self, resource, namespace, query):
        api = self.server.api
        _, body = self._json_body(protobuf_kind=resource.kind)
        representation = self._negotiate(conversions=True)
        obj, warnings = self._decode_object(resource, body, query)
        self._place(resource, obj, namespace)
        created = api.store.create(resource, obj, dry_run=_dry_run(query))
        self._send_json(201, self._represent(resource, [created], representation, query,
                                             single=True), self._warnings(warnings))

    def _update(self, resource, namespace, name, query):
        api = self.server.api
        _, body = self._json_body(protobuf_kind=resource.kind)
        representation = self._negotiate(conversions=True)
        obj, warnings = self._decode_object(resource, body, query)
        if obj["metadata"].get("name", "") != name:
            raise bad_request(f"the name of the object ({obj['metadata'].get('name', '')}) "
                              f"does not match the name on the URL ({name})")
        self._place(resource, obj, namespace)
        updated = api.store.update(resource, obj, dry_run=_dry_run(query))
        self._send_json(200, self._represent(resource, [updated], representation, query,
                                             single=True), self._warnings(warnings))

    def _patch(self, resource, namespace, name, query):
        api = self.server.api
        patch_types = ("application/json-patch+json", "application/merge-patch+json",
                       "application/strategic-merge-patch+json")
        content_type, patch = self._json_body(patch_types)
        representation = self._negotiate(conversions=True)
        with api.store.lock:
            updated, warnings = self._patch_locked(resource, namespace, name, query,
                                                   content_type, patch)
        self._send_json(200, self._represent(resource, [updated], representation, query,
                                             single=True), self._warnings(warnings))

    def _patch_locked(self, resource, namespace, name, query, content_type, patch):
        # Under the store's lock: a write between reading and storing cannot make a patch that
        # names no resourceVersion fail (kube-apiserver retries those internally).
        api = self.server.api
        current = api.store.get(resource, namespace, name)
        if current is None:
            raise not_found(resource.name, name)
        document = resource.render(current)
        try:
            if content_type == "application/json-patch+json":
                patched = _json_patch(document, patch)
            elif not isinstance(patch, dict):
                raise bad_request("the patch is not a JSON object")
            elif content_type == "application/merge-patch+json":
                patched = _merge_patch(document, patch)
            else:
                patched = _strategic_merge_patch(document, patch)
        except ValueError as e:
            raise ApiError(422, str(e), details={}) from None
        if not isinstance(patched, dict):
            raise bad_request("the patched object is not a JSON object")
        obj, warnings = self._decode_object(resource, patched, query)
        meta = obj["metadata"]
        if meta.get("name") != name or (resource.namespaced and meta.get("namespace") != namespace):
            raise bad_request("metadata.name and metadata.namespace cannot be changed by a patch")
        # The document carries the current resourceVersion unless the patch set another (a
        # precondition: 409 when stale) or removed it (unconditional).
        updated = api.store.update(resource, obj, dry_run=_dry_run(query),
                                   expected_rv=meta.get("resourceVersion", ""))
        return updated, warnings

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
        return preconditions, dry_run

    def _delete(self, resource, namespace, name, query):
        api = self.server.api
        preconditions, dry_run = self._delete_options(query)
        if resource is NAMESPACES and name in ("default", "kube-system", "kube-public"):
            # The NamespaceLifecycle admission plugin protects these.
            raise ApiError(403, f'namespaces "{name}" is forbidden: this namespace may not be '
                                f'deleted', details={"name": name, "kind": "namespaces"})
        representation = self._negotiate(conversions=True)
        deleted = api.store.delete(resource, namespace, name, preconditions, dry_run)
        if resource is NAMESPACES:
            # The namespace registry returns the object, caught on its way to Terminating.
            deleted["metadata"].setdefault("deletionTimestamp", _now_rfc3339())
            deleted["status"]["phase"] = "Terminating"
            return self._send_json(200, self._represent(resource, [deleted], representation,
                                                        query, single=True))
        # The generic registry (secrets) answers with a Status Success naming the object.
        self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Success",
                              "details": {"name": name, "kind": resource.name,
                                          "uid": deleted["metadata"]["uid"]}})

    def _delete_collection(self, resource, namespace, query):
        api = self.server.api
        _, dry_run = self._delete_options(query)
        representation = self._negotiate(conversions=True)
        matches = self._selector(resource, query)
        _, items = api.store.list(resource, namespace)
        deleted = []
        for obj in items:
            if matches(obj):
                try:
                    deleted.append(api.store.delete(resource, obj["metadata"].get(
                        "namespace", ""), obj["metadata"]["name"], dry_run=dry_run))
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
        representation = self._negotiate(conversions=True)
        matches = self._selector(resource, query)
        rv, items = api.store.list(resource, namespace)
        items = [obj for obj in items if matches(obj)]
        # limit/continue: the token names the last key served; the next page starts after it.
        token = (query.get("continue") or [""])[-1]
        if token:
            try:
                after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
                if not (isinstance(after, list) and len(after) == 2 and
                        all(isinstance(a, str) for a in after)):
                    raise ValueError(after)
                after = tuple(after)
            except (ValueError, KeyError, TypeError):
                raise bad_request("continue key is not valid: incorrect encoded start "
                                  "resourceVersion (version meta.k8s.io/v1)") from None
            items = [obj for obj in items if _Store.key(resource, obj) > after]
        list_meta = {"resourceVersion": rv}
        limit = (query.get("limit") or ["0"])[-1]
        try:
            limit = int(limit or 0)
        except ValueError:
            raise bad_request(f"invalid limit {limit!r}") from None
        if limit > 0 and len(items) > limit:
            last = _Store.key(resource, items[limit - 1])
            list_meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"v": "meta.k8s.io/v1", "after": list(last)}).encode()).decode()
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
        items = []
        for obj in objects:
            item = resource.render(obj)
            # List items carry no kind or apiVersion in kube-apiserver's JSON.
            del item["kind"], item["apiVersion"]
            items.append(item)
        return {"kind": resource.list_kind, "apiVersion": "v1",
                "metadata": list_meta or {"resourceVersion": str(self.server.api.store.rv)},
                "items": items}

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
        if requested and not requested.isdigit():
            raise bad_request(f'invalid resource version "{requested}"')

        def in_scope(obj):
            return obj is not None and (namespace is None or
                                        obj["metadata"].get("namespace", "") == namespace) \
                and matches(obj)

        with store.lock:
            since = store.rv
            initial, expired = [], None
            if requested in ("", "0") or initial_events:
                # "Most recent" (or "any"): the current state as synthetic ADDED events.
                initial = [("ADDED", obj) for obj in store.list(resource, namespace)[1]
                           if in_scope(obj)]
            else:
                since = int(requested)
                if since < store.floor:
                    expired = store.floor + 1
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

        if expired is not None:
            error = ApiError(410, f"too old resource version: {requested} ({expired})",
                             reason="Expired")
            send("ERROR", error.status())
        else:
            for kind, obj in initial:
                send(kind, obj)
            if initial_events:
                send("BOOKMARK", {"kind": resource.kind, "apiVersion": "v1", "metadata": {
                    "resourceVersion": str(since),
                    "annotations": {"k8s.io/initial-events-end": "true"}}})
            deadline = time.monotonic() + timeout
            fresh = []
            while True:
                with store.changed:
                    while not store.closed and store.rv <= since and \
                            time.monotonic() < deadline:
                        store.changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
                    if store.closed or (store.rv <= since and time.monotonic() >= deadline):
                        break
                    if since < store.floor:
                        # This watcher fell behind the events kept: it must list again.
                        fresh = None
                        break
                    fresh = [e for e in store.events if e.rv > since and
                             e.resource == resource.name]
                    since = store.rv
                for event in fresh:
                    was, now = in_scope(event.old), in_scope(event.new)
                    if event.type == "DELETED":
                        if was:
                            send("DELETED", event.new)
                    elif now:
                        send("MODIFIED" if was else "ADDED", event.new)
                    elif was:
                        send("DELETED", event.new)  # it left the selection
            if fresh is None:
                send("ERROR", ApiError(410, f"too old resource version: {since} "
                                            f"({store.floor + 1})", reason="Expired").status())
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

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


def _target(path):
    """(resource, group, namespace, name) named by a path; name or namespace may be None."""
    parts = [unquote(p) for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        rest = parts[2:]
        if rest in (["namespaces"], ["secrets"]):
            return rest[0], "", None, None
        if len(rest) == 2 and rest[0] == "namespaces":
            return "namespaces", "", None, rest[1]
        if len(rest) in (3, 4) and rest[0] == "namespaces" and rest[2] == "secrets":
            return "secrets", "", rest[1], rest[3] if len(rest) == 4 else None
    if parts[:3] == ["apis", "authentication.k8s.io", "v1"] and len(parts) == 4:
        return parts[3], "authentication.k8s.io", None, None
    return None, "", None, None


def injected_error(code, method, path, user):
    """The Status kube-apiserver would send with this code for this request, for fail_next():
    NotFound and Conflict name the object of the path, Forbidden is worded as by RBAC, 429 and
    503 carry Retry-After (which client-go honours by retrying)."""
    resource, group, namespace, name = _target(path)
    if code == 404:
        return not_found(resource, name) if resource and name else unknown_path()
    if code == 409 and resource and name:
        return conflict(resource, name, STALE)
    if code == 403 and resource:
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"
                }.get(method, method.lower())
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        subject = f'{resource} "{name}"' if name else resource
        details = {"kind": resource}
        if name:
            details = {"name": name, "kind": resource}
        if group:
            details["group"] = group
        return ApiError(403, f'{subject} is forbidden: User "{user["username"]}" cannot {verb} '
                             f'resource "{resource}" in API group "{group}" {scope}',
                        details=details)
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


_AUTHENTICATION_GROUP = {
    "name": "authentication.k8s.io",
    "versions": [{"groupVersion": "authentication.k8s.io/v1", "version": "v1"}],
    "preferredVersion": {"groupVersion": "authentication.k8s.io/v1", "version": "v1"}}


def _core_resources():
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "namespaces", "singularName": "namespace", "namespaced": False,
         "kind": "Namespace", "verbs": ["create", "delete", "get", "list", "patch", "update",
                                        "watch"], "shortNames": ["ns"]},
        {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret",
         "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                   "watch"]}]}


def _authentication_resources():
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "authentication.k8s.io/v1", "resources": [
                {"name": "selfsubjectreviews", "singularName": "selfsubjectreview",
                 "namespaced": False, "kind": "SelfSubjectReview", "verbs": ["create"]},
                {"name": "tokenreviews", "singularName": "tokenreview", "namespaced": False,
                 "kind": "TokenReview", "verbs": ["create"]}]}


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


def _openapi_v3_document(group_version):
    """The OpenAPI v3 document of one group-version (what /openapi/v3/<gv> serves)."""
    patch_body = "application/merge-patch+json"
    if group_version == "api/v1":
        def named(prefix, kind, plural):
            return {
                "get": _operation("get", kind, f"read{prefix}"),
                "put": _operation("put", kind, f"replace{prefix}", "*/*",
                                  parameters=_WRITE_PARAMETERS),
                "patch": _operation("patch", kind, f"patch{prefix}", patch_body,
                                    parameters=_WRITE_PARAMETERS),
                "delete": _operation("delete", kind, f"delete{prefix}",
                                     parameters=_WRITE_PARAMETERS[:1]),
                "parameters": [dict(_PATH_PARAMETER, name="name",
                                    description=f"name of the {kind}")]}

        def collection(prefix, kind, extra=()):
            item = {"get": _operation("list", kind, f"list{prefix}", response=kind + "List",
                                      parameters=_LIST_PARAMETERS),
                    "post": _operation("post", kind, f"create{prefix}", "*/*",
                                       parameters=_WRITE_PARAMETERS, response_code="201")}
            if extra:
                item["delete"] = _operation("deletecollection", kind,
                                            f"deletecollection{prefix}",
                                            parameters=_LIST_PARAMETERS)
            return item

        namespace = dict(_PATH_PARAMETER, name="namespace",
                         description="object name and auth scope, such as for teams and "
                                     "projects")
        secret_item = named("CoreV1NamespacedSecret", "Secret", "secrets")
        secret_item["parameters"].append(namespace)
        secret_collection = collection("CoreV1NamespacedSecret", "Secret", extra=True)
        secret_collection["parameters"] = [namespace]
        paths = {
            "/api/v1/namespaces": collection("CoreV1Namespace", "Namespace"),
            "/api/v1/namespaces/{name}": named("CoreV1Namespace", "Namespace", "namespaces"),
            "/api/v1/namespaces/{namespace}/secrets": secret_collection,
            "/api/v1/namespaces/{namespace}/secrets/{name}": secret_item,
            "/api/v1/secrets": {"get": _operation("list", "Secret",
                                                  "listCoreV1SecretForAllNamespaces",
                                                  response="SecretList",
                                                  parameters=_LIST_PARAMETERS)}}
        schemas = ("Secret", "SecretList", "Namespace", "NamespaceList")
    elif group_version == "apis/authentication.k8s.io/v1":
        paths = {
            "/apis/authentication.k8s.io/v1/tokenreviews": {"post": _operation(
                "post", "TokenReview", "createAuthenticationV1TokenReview", "*/*",
                parameters=_WRITE_PARAMETERS, response_code="201")},
            "/apis/authentication.k8s.io/v1/selfsubjectreviews": {"post": _operation(
                "post", "SelfSubjectReview", "createAuthenticationV1SelfSubjectReview", "*/*",
                parameters=_WRITE_PARAMETERS, response_code="201")}}
        schemas = ("TokenReview", "SelfSubjectReview")
    else:
        return None
    components = {_SCHEMA_NAMES[k]: _SCHEMAS[_SCHEMA_NAMES[k]] for k in schemas}
    components["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] = _OBJECT_META_SCHEMA
    components["io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"] = \
        _SCHEMAS["io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"]
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes",
                                         "version": VERSION_INFO["gitVersion"]},
            "paths": paths, "components": {"schemas": components}}


OPENAPI_V3_GROUP_VERSIONS = ("api/v1", "apis/authentication.k8s.io/v1")


def _openapi_v3_hash(group_version):
    """The ?hash= of the index: upper-case hex SHA-512 of the document, as kube-apiserver."""
    import hashlib
    document = json.dumps(_openapi_v3_document(group_version), sort_keys=True)
    return hashlib.sha512(document.encode()).hexdigest().upper()


def _openapi_v3_index():
    return {"paths": {gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash="
                                                f"{_openapi_v3_hash(gv)}"}
                      for gv in OPENAPI_V3_GROUP_VERSIONS}}


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
            obj = SECRETS.decode(body)
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


class KubeApiServer:
    """The server in a background thread; see the module docstring for what it serves."""

    def __init__(self, cert, key, token=(), port=0, *, log=None):
        """cert, key: PEM files of the serving certificate (it must name 127.0.0.1);
        token: the admin bearer token, or several; port 0 picks a free one; log: a callable
        given one line per answered request."""
        self._cert, self._key, self._requested_port = cert, key, port
        self._tokens = {token} if isinstance(token, str) else set(token)
        self._review_tokens = {}
        self._faults = []  # [kind, remaining, method, path, value]
        self._faults_lock = threading.Lock()
        self._log = log
        self._httpd = None
        self._thread = None
        self.store = _Store()
        self.secrets = SecretsView(self.store)
        self.request_log = []
        self.reviews = []  # (token, requested audiences, authenticated) per TokenReview
        self.port = None

    # lifecycle

    def start(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self._cert, self._key)
        context.set_alpn_protocols(["http/1.1"])  # no h2: http.server speaks HTTP/1.1 only
        self._httpd = _HttpsServer(self._requested_port, context, self)
        self.port = self._httpd.server_address[1]
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

    def _authenticate(self, header):
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or token not in self._tokens:
            return None
        return copy.deepcopy(ADMIN_USER)

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
    parser.add_argument("--port-file", help="where to write the port once listening")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)

    log = None if args.quiet else (lambda line: print(line, flush=True))
    server = KubeApiServer(args.cert, args.key, args.token, args.port, log=log)
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
