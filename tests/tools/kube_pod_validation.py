"""Pod specs as kube-apiserver 1.32 defaults and validates them, for the Kubernetes API test
server (kube_api_server.py): pods, and the pod templates of workloads (kube_workload_validation.py).

A sidecar injector rewrites pod specs, and a real API server refuses what it gets wrong with a
422 naming the field. This module reproduces that refusal: the rules of
pkg/apis/core/validation (ValidatePodCreate, ValidatePodUpdate, ValidatePodTemplateSpec and
what they call), in their order, with their field paths and their messages, and the v1
defaulting that runs before them (a probe's periodSeconds, an httpGet's scheme, ...), since
what is validated is the defaulted object.

It is stdlib-only and imports nothing from the server, so that it can be tested alone; the
server turns its FieldProblems into the 422 Status (they have FieldError's interface: kind,
field, text(), cause()). Input is the JSON form after the server's typed decoding (a value of
the wrong JSON type was already a 400), but every accessor tolerates a wrong shape anyway: a
malformed object yields a field error, never an exception.

What 1.32 checks and this module does too:
- containers, initContainers, ephemeralContainers: name (required, DNS-1123 label, unique
  across the three lists), image, terminationMessagePolicy, imagePullPolicy, ports (number,
  IANA_SVC_NAME names unique within the container, protocol, host port conflicts), env (the
  relaxed name rule of 1.32: printable ASCII but '='; valueFrom with exactly one source;
  fieldRef paths and subscripts; resourceFieldRef; configMap and secret key refs), envFrom,
  volumeMounts (the volume exists, mountPath set and unique, subPath, mountPropagation,
  recursiveReadOnly), resources (names, quantities not negative, requests <= limits,
  extended resources whole and equal), resizePolicy, securityContext (user and group ids,
  procMount, seccomp and AppArmor profiles), probes (one handler; ports a number or an
  IANA_SVC_NAME; scheme; thresholds not negative; successThreshold 1 for liveness and
  startup), lifecycle handlers;
- initContainers: restartPolicy only Always; probes and lifecycle only with it; regular
  containers may not set restartPolicy;
- volumes: names (label, unique), exactly one source; emptyDir, hostPath, secret,
  configMap, persistentVolumeClaim, downwardAPI and projected checked in depth (a projected
  serviceAccountToken's expirationSeconds and path, duplicate paths, one source each);
- the pod: terminationGracePeriodSeconds, restartPolicy, dnsPolicy (and dnsConfig for None),
  nodeSelector, securityContext, hostNetwork ports, hostUsers, serviceAccountName, nodeName,
  activeDeadlineSeconds, hostname, subdomain, priorityClassName, runtimeClassName,
  preemptionPolicy, overhead; pod annotations (mirror, deletion cost, seccomp, AppArmor) and
  their agreement with the fields; on create, no ephemeral containers and no nodeName while
  scheduling gates remain; image whitespace (pods only).

Not reproduced (the fields are accepted as they come): affinity, tolerations, topology spread
constraints, hostAliases, imagePullSecrets, readinessGates, schedulingGates' names,
resourceClaims, sysctls, Windows options, os, volumeDevices, the per-type checks of volume
sources other than the seven above (their presence still counts), hugepages, and the two
securityContext rules whose message prints a Go struct with pointers (allowPrivilegeEscalation
false with privileged or CAP_SYS_ADMIN): those are refused with "core.SecurityContext{...}"
as the value. Privileged containers are allowed (kube-apiserver --allow-privileged=true, as
kubeadm and kind run it).

The real rules differ from what one might guess in three places that matter to an injector,
and this module follows the real ones: a volumeMount's mountPath need not be absolute; a
probe's port name need not name a port of the container; port names need only be unique
within a container (the same name in two containers is accepted).
"""
import fractions
import math
import re

__all__ = ["FieldProblem", "Quantity", "QuantityError", "parse_quantity", "default_pod_spec",
           "default_pod", "validate_pod", "validate_pod_template", "validate_labels",
           "validate_annotations", "go_value", "GoText"]

# --- field errors (k8s.io/apimachinery/pkg/util/validation/field) -----------------------------

_TYPES = {"Invalid": ("Invalid value", "FieldValueInvalid"),
          "Required": ("Required value", "FieldValueRequired"),
          "Forbidden": ("Forbidden", "FieldValueForbidden"),
          "TooLong": ("Too long", "FieldValueTooLong"),
          "TooMany": ("Too many", "FieldValueTooMany"),
          "NotSupported": ("Unsupported value", "FieldValueNotSupported"),
          "Duplicate": ("Duplicate value", "FieldValueDuplicate"),
          "NotFound": ("Not found", "FieldValueNotFound")}


class GoText(str):
    """A value already printed the way Go prints it (a struct's %#v, a Stringer)."""


def _go_quote(text):
    """strconv.Quote, which %q uses: printable characters as they are, the rest escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(char)])
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def go_value(value):
    """How field.Error prints a bad value: %v for numbers and booleans, %q for strings, %#v
    for a map[string]string (keys sorted) or a []string; GoText as it is."""
    if isinstance(value, GoText):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, dict):
        return "map[string]string{" + ", ".join(
            f"{_go_quote(str(k))}:{_go_quote(str(value[k]))}" for k in sorted(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[]string{" + ", ".join(_go_quote(str(v)) for v in value) + "}"
    return str(value)


class FieldProblem:
    """One field.Error: its type ("Invalid", "Required", ...), the field path as Go prints it
    ("spec.containers[0].name"), the bad value and the detail. text() is ErrorBody(): the
    value is left out for Required, Forbidden and TooLong."""

    __slots__ = ("kind", "field", "value", "detail")

    def __init__(self, kind, field, value=None, detail=""):
        self.kind, self.field, self.value, self.detail = kind, field, value, detail

    def text(self):
        text = _TYPES[self.kind][0]
        if self.kind not in ("Required", "Forbidden", "TooLong"):
            text += ": " + go_value(self.value)
        return f"{text}: {self.detail}" if self.detail else text

    def cause(self):
        return {"reason": _TYPES[self.kind][1], "message": self.text(), "field": self.field}

    def __str__(self):
        return f"{self.field}: {self.text()}"

    __repr__ = __str__


def _invalid(field, value, detail):
    return FieldProblem("Invalid", field, value, detail)


def _required(field, detail=""):
    return FieldProblem("Required", field, None, detail)


def _forbidden(field, detail):
    return FieldProblem("Forbidden", field, None, detail)


def _not_supported(field, value, allowed):
    return FieldProblem("NotSupported", field, value,
                        "supported values: " + ", ".join(_go_quote(v) for v in allowed))


def _non_negative(value, field):
    """ValidateNonnegativeField."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [_invalid(field, value, "must be greater than or equal to 0")]
    return []


# --- shapes: the decoded JSON, read without trusting it ---------------------------------------

def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _text(value):
    return value if isinstance(value, str) else ""


def _int(value, default=0):
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _set(value):
    """A pointer field: present (even {} or false) is set, absent or null is nil."""
    return value is not None


# --- names (k8s.io/apimachinery/pkg/util/validation) ------------------------------------------

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_HTTP_HEADER = re.compile(r"[-A-Za-z0-9]+")


def _regex_error(message, pattern, *examples):
    """RegexError, with its double space after a comma when there are several examples."""
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    text = message + " (e.g. "
    for index, example in enumerate(examples):
        text += (" or " if index else "") + f"'{example}', "
    return text + f"regex used for validation is '{pattern}')"


def _max_len(limit):
    return f"must be no more than {limit} characters"


def _range(low, high):
    return f"must be between {low} and {high}, inclusive"


def dns_label_problems(value):
    problems = [_max_len(63)] if len(value) > 63 else []
    if not _DNS_LABEL.fullmatch(value):
        problems.append(_regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character",
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?", "my-name", "123-abc"))
    return problems


def dns_subdomain_problems(value):
    problems = [_max_len(253)] if len(value) > 253 else []
    if not _DNS_SUBDOMAIN.fullmatch(value):
        problems.append(_regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character",
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", "example.com"))
    return problems


def qualified_name_problems(value):
    prefix, slash, name = value.rpartition("/")
    problems = []
    if slash:
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems += ["prefix part " + p for p in dns_subdomain_problems(prefix)]
    if not name:
        problems.append("name part must be non-empty")
    else:
        if len(name) > 63:
            problems.append("name part " + _max_len(63))
        if not _QUALIFIED.fullmatch(name):
            problems.append("name part " + _regex_error(
                "must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                "end with an alphanumeric character", "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]",
                "MyName", "my.name", "123-abc"))
    return problems


def label_value_problems(value):
    problems = [_max_len(63)] if len(value) > 63 else []
    if not _LABEL_VALUE.fullmatch(value):
        problems.append(_regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", "MyValue", "my_value", "12345"))
    return problems


def port_name_problems(value):
    """IsValidPortName: an IANA_SVC_NAME."""
    problems = [_max_len(15)] if len(value) > 15 else []
    if not re.fullmatch(r"[-a-z0-9]+", value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", value):
        problems.append("must contain at least one letter (a-z)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def _port_number_problems(value):
    return [] if 1 <= value <= 65535 else [_range(1, 65535)]


def _env_name_problems(value):
    """IsRelaxedEnvVarName: RelaxedEnvironmentVariableValidation is on by default since 1.32
    (beta), so any printable ASCII but '=' is a valid name."""
    problems = [] if value else ["environment variable name must be non-empty"]
    if any(ord(c) > 126 or ord(c) < 32 or c == "=" for c in value):
        problems.append("a valid environment variable name must consist only of printable "
                        "ASCII characters other than '='")
    return problems


def _dot_prefix_problems(value):
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    return ["must not start with '..'"] if value.startswith("..") else []


def _config_key_problems(value):
    problems = [_max_len(253)] if len(value) > 253 else []
    if not _CONFIG_KEY.fullmatch(value):
        problems.append(_regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name"))
    return problems + _dot_prefix_problems(value)


def _id_problems(value):
    """IsValidUserID / IsValidGroupID of 1.32: 0 to MaxInt32."""
    return [] if 0 <= value <= 2 ** 31 - 1 else [_range(0, 2 ** 31 - 1)]


def validate_labels(labels, field):
    """ValidateLabels: qualified-name keys, label values."""
    problems = []
    for key, value in _dict(labels).items():
        problems += [_invalid(field, key, p) for p in qualified_name_problems(key)]
        problems += [_invalid(field, value, p) for p in label_value_problems(_text(value))]
    return problems


def validate_annotations(annotations, field):
    """ValidateAnnotations: keys are qualified names in any case; keys and values together at
    most 256 KiB, counted in bytes (UTF-8), as Go's len() counts them."""
    annotations = _dict(annotations)
    problems = []
    for key in annotations:
        problems += [_invalid(field, key, p) for p in qualified_name_problems(key.lower())]
    size = sum(len(k.encode()) + len(_text(v).encode()) for k, v in annotations.items())
    if size > 256 * 1024:
        problems.append(FieldProblem("TooLong", field, None,
                                     f"may not be more than {256 * 1024} bytes"))
    return problems


# --- quantities (k8s.io/apimachinery/pkg/api/resource) ----------------------------------------

QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                     "P": 15, "E": 18}
_DECIMAL_NAMES = {exponent: suffix for suffix, exponent in _DECIMAL_SUFFIXES.items()}
_BINARY_NAMES = {exponent: suffix for suffix, exponent in _BINARY_SUFFIXES.items()}


class QuantityError(ValueError):
    """ParseQuantity's errors; the message is what the API server answers (a 400)."""


class Quantity:
    """A resource.Quantity: an exact value and the format its suffix chose (DecimalSI,
    BinarySI, DecimalExponent), printed canonically as the API server stores it
    ("2000m" -> "2", "1024Mi" -> "1Gi", "0.5" -> "500m")."""

    def __init__(self, value, fmt):
        self.value, self.format = value, fmt

    def __str__(self):
        value, fmt = self.value, self.format
        if fmt == "BinarySI" and (-1024 < value < 1024 or value.denominator != 1):
            fmt = "DecimalSI"
        if fmt == "BinarySI":
            amount, exponent = int(value), 0
            while amount and amount % 1024 == 0 and exponent < 60:
                amount, exponent = amount // 1024, exponent + 10
            return f"{amount}{_BINARY_NAMES[exponent]}"
        # AsCanonicalBytes: an integer mantissa and an exponent that is a multiple of 3.
        mantissa, exponent = value, 0
        while mantissa.denominator != 1:
            mantissa, exponent = mantissa * 10, exponent - 1
        mantissa = int(mantissa)
        while mantissa and mantissa % 10 == 0:
            mantissa, exponent = mantissa // 10, exponent + 1
        shift = exponent % 3
        mantissa, exponent = mantissa * 10 ** shift, exponent - shift
        if mantissa == 0:
            return "0"
        if fmt == "DecimalExponent":
            return f"{mantissa}e{exponent}" if exponent else str(mantissa)
        if exponent > 18:  # beyond "E": print the digits
            return str(mantissa * 10 ** (exponent - 18)) + "E"
        return f"{mantissa}{_DECIMAL_NAMES[exponent]}"

    def __eq__(self, other):
        return isinstance(other, Quantity) and self.value == other.value

    def __lt__(self, other):
        return self.value < other.value

    __hash__ = None


def parse_quantity(text):
    """resource.ParseQuantity: a Quantity, or QuantityError with the API server's message."""
    text = text.strip() if isinstance(text, str) else ""
    # A sign, digits with at most one '.', then suffix letters and an optional signed integer
    # (which is where parseQuantityString stops: anything else is the format error).
    match = re.fullmatch(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)", text)
    if not match or not re.match(r"[+-]?[0-9.]", text):
        raise QuantityError(
            f"quantities must match the regular expression '{QUANTITY_PATTERN}'")
    sign, whole, fraction, suffix = match.groups()
    if not whole and not fraction:
        raise QuantityError("unable to parse quantity's numeric part")
    number = fractions.Fraction(int(whole or "0"))
    if fraction:
        number += fractions.Fraction(int(fraction), 10 ** len(fraction))
    if suffix in _DECIMAL_SUFFIXES:
        value, fmt = number * fractions.Fraction(10) ** _DECIMAL_SUFFIXES[suffix], "DecimalSI"
    elif suffix in _BINARY_SUFFIXES:
        value, fmt = number * 2 ** _BINARY_SUFFIXES[suffix], "BinarySI"
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[-+]?[0-9]+", suffix[1:]):
        value = number * fractions.Fraction(10) ** int(suffix[1:])
        fmt = "DecimalExponent"
    else:
        raise QuantityError("unable to parse quantity's suffix")
    # Below a nanounit, a value is rounded up: asking for some gives some.
    if (value * 10 ** 9).denominator != 1:
        value = fractions.Fraction(math.ceil(value * 10 ** 9), 10 ** 9)
    if fmt == "BinarySI" and 0 < value < 1:
        fmt = "DecimalSI"
    return Quantity(-value if sign == "-" else value, fmt)


def _quantity(text):
    try:
        return parse_quantity(text)
    except QuantityError:
        return None


# --- defaults (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go) --------------------------------

def _default(obj, key, value):
    """Sets a field the Go defaulting treats as unset: absent, null or the empty string."""
    if obj.get(key) in (None, ""):
        obj[key] = value


def _default_probe(probe):
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    for key in ("timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        if probe[key] == 0:  # v1 defaulting treats 0 as unset for these int32 fields
            probe[key] = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                          "failureThreshold": 3}[key]
    _default_handler(probe)


def _default_handler(handler):
    get = _dict(handler).get("httpGet")
    if isinstance(get, dict):
        _default(get, "path", "/")
        _default(get, "scheme", "HTTP")


def _default_field_ref(source):
    ref = _dict(source).get("fieldRef")
    if isinstance(ref, dict):
        _default(ref, "apiVersion", "v1")


def _default_container(container):
    image = _text(container.get("image"))
    tag = image.rpartition("/")[2]
    latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
    container.setdefault("resources", {})
    _default(container, "terminationMessagePath", "/dev/termination-log")
    _default(container, "terminationMessagePolicy", "File")
    _default(container, "imagePullPolicy", "Always" if latest else "IfNotPresent")
    for port in _list(container.get("ports")):
        if isinstance(port, dict):
            _default(port, "protocol", "TCP")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(container.get(key))
    for key in ("postStart", "preStop"):
        _default_handler(_dict(container.get("lifecycle")).get(key))
    for env in _list(container.get("env")):
        _default_field_ref(_dict(env).get("valueFrom"))
    resize = _list(container.get("resizePolicy"))
    for policy in resize:
        if isinstance(policy, dict):
            _default(policy, "restartPolicy", "NotRequired")


def _default_volume(volume):
    """SetDefaults_{Secret,ConfigMap,DownwardAPI,Projected}VolumeSource and friends."""
    if not isinstance(volume, dict):
        return
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(volume.get(key), dict):
            volume[key].setdefault("defaultMode", 0o644)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    for item in _list(_dict(volume.get("downwardAPI")).get("items")):
        _default_field_ref(item)
    for source in _list(_dict(volume.get("projected")).get("sources")):
        token = _dict(source).get("serviceAccountToken")
        if isinstance(token, dict):
            token.setdefault("expirationSeconds", 3600)
        for item in _list(_dict(_dict(source).get("downwardAPI")).get("items")):
            _default_field_ref(item)


def default_pod_spec(spec):
    """SetDefaults_PodSpec and the defaults of what it holds, as they apply to a pod and to a
    pod template alike."""
    _default(spec, "restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    _default(spec, "dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    _default(spec, "schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]  # the deprecated field's alias
    for field in ("containers", "initContainers", "ephemeralContainers"):
        for container in _list(spec.get(field)):
            if isinstance(container, dict):
                _default_container(container)
    for volume in _list(spec.get("volumes")):
        _default_volume(volume)


def default_pod(pod):
    """SetDefaults_Pod on top of the pod spec's: requests default to the limits a container
    sets (a template does not get this: its pods will), and with hostNetwork a port's
    hostPort to its containerPort."""
    spec = pod.setdefault("spec", {})
    default_pod_spec(spec)
    for field in ("containers", "initContainers"):
        for container in _list(spec.get(field)):
            resources = _dict(_dict(container).get("resources"))
            limits = resources.get("limits")
            if isinstance(limits, dict):
                requests = resources.setdefault("requests", {})
                if isinstance(requests, dict):
                    for name, value in limits.items():
                        requests.setdefault(name, value)
            if spec.get("hostNetwork"):
                for port in _list(_dict(container).get("ports")):
                    if isinstance(port, dict) and not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort", 0)


# --- volumes ----------------------------------------------------------------------------------

# VolumeSource's fields in Go order, with the name its "more than 1 volume type" error uses
# (which has a typo for downwardAPI and differs in case for cephfs).
_VOLUME_SOURCES = (("emptyDir", "emptyDir"), ("hostPath", "hostPath"), ("gitRepo", "gitRepo"),
                   ("gcePersistentDisk", "gcePersistentDisk"),
                   ("awsElasticBlockStore", "awsElasticBlockStore"), ("secret", "secret"),
                   ("nfs", "nfs"), ("iscsi", "iscsi"), ("glusterfs", "glusterfs"),
                   ("flocker", "flocker"), ("persistentVolumeClaim", "persistentVolumeClaim"),
                   ("rbd", "rbd"), ("cinder", "cinder"), ("cephfs", "cephFS"),
                   ("quobyte", "quobyte"), ("downwardAPI", "downwarAPI"), ("fc", "fc"),
                   ("flexVolume", "flexVolume"), ("configMap", "configMap"),
                   ("azureFile", "azureFile"), ("vsphereVolume", "vsphereVolume"),
                   ("photonPersistentDisk", "photonPersistentDisk"),
                   ("portworxVolume", "portworxVolume"), ("azureDisk", "azureDisk"),
                   ("storageos", "storageos"), ("projected", "projected"),
                   ("scaleIO", "scaleIO"), ("csi", "csi"), ("ephemeral", "ephemeral"),
                   ("image", "image"))
_HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                    "FileOrCreate", "Socket")
_FILE_MODE = "must be a number between 0 and 0777 (octal), both inclusive"
_VOLUME_FIELD_PATHS = ("metadata.annotations", "metadata.labels", "metadata.name",
                       "metadata.namespace", "metadata.uid")
_ENV_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                    "spec.serviceAccountName", "status.hostIP", "status.hostIPs",
                    "status.podIP", "status.podIPs")
# What ConvertDownwardAPIFieldLabel knows for v1 pods.
_POD_FIELD_LABELS = ("metadata.annotations", "metadata.labels", "metadata.name",
                     "metadata.namespace", "metadata.uid", "spec.nodeName",
                     "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
                     "status.phase", "status.hostIP", "status.hostIPs", "status.podIP",
                     "status.podIPs")
_RESOURCE_FIELD_PATHS = ("limits.cpu", "limits.ephemeral-storage", "limits.memory",
                         "requests.cpu", "requests.ephemeral-storage", "requests.memory")


def _mode_problems(mode, field):
    if mode is not None and not 0 <= _int(mode) <= 0o777:
        return [_invalid(field, mode, _FILE_MODE)]
    return []


def _no_backsteps(path, field):
    if ".." in path.replace("\\", "/").split("/"):
        return [_invalid(field, path, "must not contain '..'")]
    return []


def _local_descending(path, field):
    problems = [_invalid(field, path, "must be a relative path")] if path.startswith("/") else []
    return problems + _no_backsteps(path, field)


def _local_non_reserved(path, field):
    problems = _local_descending(path, field)
    if path.startswith("..") and not path.startswith("../"):
        problems.append(_invalid(field, path, "must not start with '..'"))
    return problems


def _key_to_path(item, field):
    item = _dict(item)
    problems = [] if item.get("key") else [_required(f"{field}.key")]
    path = _text(item.get("path"))
    if not path:
        problems.append(_required(f"{field}.path"))
    problems += _local_non_reserved(path, f"{field}.path")
    return problems + _mode_problems(item.get("mode"), f"{field}.mode")


def _field_selector(ref, expressions, field):
    """validateObjectFieldSelector."""
    ref = _dict(ref)
    version, path = _text(ref.get("apiVersion")), _text(ref.get("fieldPath"))
    if not version:
        return [_required(f"{field}.apiVersion")]
    if not path:
        return [_required(f"{field}.fieldPath")]
    base, subscript = path, None
    if path.endswith("']") and "['" in path[:-2] and not path.startswith("['"):
        base, _, subscript = path[:-2].partition("['")
    if version != "v1":
        return [_invalid(f"{field}.fieldPath", path,
                         f"error converting fieldPath: unsupported pod version: {version}")]
    if subscript is not None and base not in ("metadata.annotations", "metadata.labels"):
        return [_invalid(f"{field}.fieldPath", path, "error converting fieldPath: field label "
                                                     f"does not support subscript: {path}")]
    if subscript is None and base not in _POD_FIELD_LABELS and base != "spec.host":
        return [_invalid(f"{field}.fieldPath", path,
                         f"error converting fieldPath: field label not supported: {path}")]
    if base == "spec.host":
        base = "spec.nodeName"
    if subscript is not None:
        key = subscript.lower() if base == "metadata.annotations" else subscript
        return [_invalid(field, key, p) for p in qualified_name_problems(key)]
    if base not in expressions:
        return [_not_supported(f"{field}.fieldPath", base, sorted(expressions))]
    return []


def _resource_field_selector(ref, field, volume):
    """validateContainerResourceFieldSelector (the divisor's unit checks included)."""
    ref = _dict(ref)
    resource = _text(ref.get("resource"))
    problems = []
    if volume and not ref.get("containerName"):
        problems.append(_required(f"{field}.containerName"))
    elif not resource:
        problems.append(_required(f"{field}.resource"))
    elif resource not in _RESOURCE_FIELD_PATHS and not resource.startswith(
            ("requests.hugepages-", "limits.hugepages-")):
        problems.append(_not_supported(f"{field}.resource", resource, _RESOURCE_FIELD_PATHS))
    divisor = _quantity(ref.get("divisor")) if ref.get("divisor") is not None else None
    if divisor is not None and divisor.value != 0:
        if resource in ("limits.cpu", "requests.cpu") and str(divisor) not in ("1m", "1"):
            problems.append(_invalid(f"{field}.divisor", resource,
                                     "only divisor's values 1m and 1 are supported with the "
                                     "cpu resource"))
        units = ("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi",
                 "1Ei")
        for names, what in ((("limits.memory", "requests.memory"), "memory"),
                            (("limits.ephemeral-storage", "requests.ephemeral-storage"),
                             "local ephemeral storage")):
            if resource in names and str(divisor) not in units:
                problems.append(_invalid(f"{field}.divisor", resource,
                                         "only divisor's values " + ", ".join(units) +
                                         f" are supported with the {what} resource"))
    return problems


def _downward_file(item, field):
    """validateDownwardAPIVolumeFile; `field` is the source's path, as in Go (not the item's)."""
    item = _dict(item)
    path = _text(item.get("path"))
    problems = [] if path else [_required(f"{field}.path")]
    problems += _local_non_reserved(path, f"{field}.path")
    if _set(item.get("fieldRef")):
        problems += _field_selector(item["fieldRef"], _VOLUME_FIELD_PATHS, f"{field}.fieldRef")
        if _set(item.get("resourceFieldRef")):
            problems.append(_invalid(field, "resource", "fieldRef and resourceFieldRef can not "
                                                        "be specified simultaneously"))
    elif _set(item.get("resourceFieldRef")):
        problems += _resource_field_selector(item["resourceFieldRef"],
                                             f"{field}.resourceFieldRef", True)
    else:
        problems.append(_required(field, "one of fieldRef and resourceFieldRef is required"))
    return problems + _mode_problems(item.get("mode"), f"{field}.mode")


def _projected(source, field):
    """validateProjectedVolumeSource and validateProjectionSources."""
    problems = _mode_problems(source.get("defaultMode"), f"{field}.defaultMode")
    paths = set()

    def claim(path, value):
        if path in paths:
            problems.append(_invalid(field, value, "conflicting duplicate paths"))
        paths.add(path)

    for index, projection in enumerate(_list(source.get("sources"))):
        projection, where, count = _dict(projection), f"{field}.sources[{index}]", 0
        for kind in ("secret", "configMap"):
            if not _set(projection.get(kind)):
                continue
            count += 1
            entry = _dict(projection[kind])
            if not entry.get("name"):
                problems.append(_required(f"{where}.{kind}.name"))
            for number, item in enumerate(_list(entry.get("items"))):
                problems += _key_to_path(item, f"{where}.{kind}.items[{number}]")
                if _text(_dict(item).get("path")):
                    claim(item["path"], _text(entry.get("name")))
        if _set(projection.get("downwardAPI")):
            count += 1
            for item in _list(_dict(projection["downwardAPI"]).get("items")):
                problems += _downward_file(item, f"{where}.downwardAPI")
                if _text(_dict(item).get("path")):
                    claim(item["path"], item["path"])
        if _set(projection.get("serviceAccountToken")):
            count += 1
            token = _dict(projection["serviceAccountToken"])
            expiration = _int(token.get("expirationSeconds"))
            if expiration < 600:
                problems.append(_invalid(f"{where}.serviceAccountToken.expirationSeconds",
                                         expiration,
                                         "may not specify a duration less than 10 minutes"))
            if expiration > 1 << 32:
                problems.append(_invalid(f"{where}.serviceAccountToken.expirationSeconds",
                                         expiration,
                                         "may not specify a duration larger than 2^32 seconds"))
            # Go reports both on the projected source's path, not the token's.
            if not token.get("path"):
                problems.append(_required(f"{field}.path"))
            else:
                problems += _local_non_reserved(_text(token["path"]), f"{field}.path")
        if _set(projection.get("clusterTrustBundle")):
            count += 1
        if count > 1:
            problems.append(_forbidden(where, "may not specify more than 1 volume type per "
                                              "source"))
    return problems


def _volume_source(volume, field):
    """validateVolumeSource: exactly one source, and that source's own checks."""
    problems, count = [], 0
    for key, forbidden_name in _VOLUME_SOURCES:
        if not _set(volume.get(key)):
            continue
        if count:
            problems.append(_forbidden(f"{field}.{forbidden_name}",
                                       "may not specify more than 1 volume type"))
            continue
        count += 1
        source, where = _dict(volume[key]), f"{field}.{key}"
        if key == "emptyDir" and source.get("sizeLimit") is not None:
            limit = _quantity(source["sizeLimit"])
            if limit is None or limit.value < 0:
                problems.append(_forbidden(f"{where}.sizeLimit",
                                           "SizeLimit field must be a valid resource quantity"))
        elif key == "hostPath":
            path = _text(source.get("path"))
            if not path:
                problems.append(_required(f"{where}.path"))
                continue
            problems += _no_backsteps(path, f"{where}.path")
            if source.get("type") is not None and source["type"] not in _HOST_PATH_TYPES:
                problems.append(_not_supported(f"{where}.type", source["type"],
                                               _HOST_PATH_TYPES))
        elif key in ("secret", "configMap"):
            name_key = "secretName" if key == "secret" else "name"
            if not source.get(name_key):
                problems.append(_required(f"{where}.{name_key}"))
            problems += _mode_problems(source.get("defaultMode"), f"{where}.defaultMode")
            for index, item in enumerate(_list(source.get("items"))):
                problems += _key_to_path(item, f"{where}.items[{index}]")
        elif key == "persistentVolumeClaim" and not source.get("claimName"):
            problems.append(_required(f"{where}.claimName"))
        elif key == "downwardAPI":
            problems += _mode_problems(source.get("defaultMode"), f"{where}.defaultMode")
            for item in _list(source.get("items")):
                problems += _downward_file(item, where)
        elif key == "projected":
            problems += _projected(source, where)
    if not count:
        problems.append(_required(field, "must specify a volume type"))
    return problems


def _volumes(volumes, field):
    """ValidateVolumes: (the names of the valid volumes -> their source key, problems). A
    volume with any problem is left out, so mounts of it are "not found" too, as in Go."""
    valid, problems = {}, []
    for index, volume in enumerate(_list(volumes)):
        volume, where = _dict(volume), f"{field}[{index}]"
        name = _text(volume.get("name"))
        found = _volume_source(volume, where)
        if not name:
            found.append(_required(f"{where}.name"))
        else:
            found += [_invalid(f"{where}.name", name, p) for p in dns_label_problems(name)]
        if name in valid:
            found.append(FieldProblem("Duplicate", f"{where}.name", name))
        if found:
            problems += found
        else:
            valid[name] = next((k for k, _ in _VOLUME_SOURCES if _set(volume.get(k))), "")
    return valid, problems


# --- containers -------------------------------------------------------------------------------

_PROTOCOLS = ("SCTP", "TCP", "UDP")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
                       "requests.ephemeral-storage", "limits.cpu", "limits.memory",
                       "limits.ephemeral-storage", "pods", "services",
                       "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
                       "persistentvolumeclaims", "storage", "requests.storage",
                       "services.nodeports", "services.loadbalancers")


def _ports(ports, field):
    """validateContainerPorts."""
    problems, names = [], set()
    for index, port in enumerate(_list(ports)):
        port, where = _dict(port), f"{field}[{index}]"
        name = _text(port.get("name"))
        if name:
            found = port_name_problems(name)
            problems += [_invalid(f"{where}.name", name, p) for p in found]
            if not found:
                if name in names:
                    problems.append(FieldProblem("Duplicate", f"{where}.name", name))
                names.add(name)
        number = _int(port.get("containerPort"))
        if number == 0:
            problems.append(_required(f"{where}.containerPort"))
        else:
            problems += [_invalid(f"{where}.containerPort", number, p)
                         for p in _port_number_problems(number)]
        host = _int(port.get("hostPort"))
        if host:
            problems += [_invalid(f"{where}.hostPort", host, p)
                         for p in _port_number_problems(host)]
        protocol = _text(port.get("protocol"))
        if not protocol:
            problems.append(_required(f"{where}.protocol"))
        elif protocol not in _PROTOCOLS:
            problems.append(_not_supported(f"{where}.protocol", protocol, _PROTOCOLS))
    return problems


def _host_port_conflicts(containers, field, seen=None):
    """AccumulateUniqueHostPorts: protocol/hostIP/hostPort once per pod (init containers are
    checked one at a time, with index 0, as in Go)."""
    seen = set() if seen is None else seen
    problems = []
    for index, container in enumerate(containers):
        for number, port in enumerate(_list(_dict(container).get("ports"))):
            port = _dict(port)
            host = _int(port.get("hostPort"))
            if not host:
                continue
            key = f"{_text(port.get('protocol'))}/{_text(port.get('hostIP'))}/{host}"
            if key in seen:
                problems.append(FieldProblem(
                    "Duplicate", f"{field}[{index}].ports[{number}].hostPort", key))
            seen.add(key)
    return problems


def _env(env, field):
    """ValidateEnv and validateEnvVarValueFrom."""
    problems = []
    for index, var in enumerate(_list(env)):
        var, where = _dict(var), f"{field}[{index}]"
        name = _text(var.get("name"))
        if not name:
            problems.append(_required(f"{where}.name"))
        else:
            problems += [_invalid(f"{where}.name", name, p) for p in _env_name_problems(name)]
        if not _set(var.get("valueFrom")):
            continue
        source, at, count = _dict(var["valueFrom"]), f"{where}.valueFrom", 0
        if _set(source.get("fieldRef")):
            count += 1
            problems += _field_selector(source["fieldRef"], _ENV_FIELD_PATHS, f"{at}.fieldRef")
        if _set(source.get("resourceFieldRef")):
            count += 1
            problems += _resource_field_selector(source["resourceFieldRef"],
                                                 f"{at}.resourceFieldRef", False)
        for kind in ("configMapKeyRef", "secretKeyRef"):
            if not _set(source.get(kind)):
                continue
            count += 1
            ref = _dict(source[kind])
            problems += [_invalid(f"{at}.{kind}.name", _text(ref.get("name")), p)
                         for p in dns_subdomain_problems(_text(ref.get("name")))]
            key = _text(ref.get("key"))
            if not key:
                problems.append(_required(f"{at}.{kind}.key"))
            else:
                problems += [_invalid(f"{at}.{kind}.key", key, p)
                             for p in _config_key_problems(key)]
        if count == 0:
            problems.append(_invalid(at, "", "must specify one of: `fieldRef`, "
                                             "`resourceFieldRef`, `configMapKeyRef` or "
                                             "`secretKeyRef`"))
        elif var.get("value"):
            problems.append(_invalid(at, "", "may not be specified when `value` is not empty"))
        elif count > 1:
            problems.append(_invalid(at, "", "may not have more than one field specified at a "
                                             "time"))
    return problems


def _env_from(sources, field):
    problems = []
    for index, source in enumerate(_list(sources)):
        source, where, count = _dict(source), f"{field}[{index}]", 0
        prefix = _text(source.get("prefix"))
        if prefix:
            problems += [_invalid(f"{where}.prefix", prefix, p)
                         for p in _env_name_problems(prefix)]
        for kind in ("configMapRef", "secretRef"):
            if not _set(source.get(kind)):
                continue
            count += 1
            name = _text(_dict(source[kind]).get("name"))
            if not name:
                problems.append(_required(f"{where}.{kind}.name"))
            else:
                # NameIsDNSSubdomain with prefix=true: a trailing '-' is allowed.
                checked = name[:-1] + "a" if name.endswith("-") else name
                problems += [_invalid(f"{where}.{kind}.name", name, p)
                             for p in dns_subdomain_problems(checked)]
        if count == 0:
            problems.append(_invalid(field, "", "must specify one of: `configMapRef` or "
                                                "`secretRef`"))
        elif count > 1:
            problems.append(_invalid(field, "", "may not have more than one field specified "
                                                "at a time"))
    return problems


def _volume_mounts(mounts, volumes, container, field):
    """ValidateVolumeMounts (subPath errors carry the list's path, as in Go)."""
    problems, paths = [], set()
    privileged = _dict(container.get("securityContext")).get("privileged") is True
    for index, mount in enumerate(_list(mounts)):
        mount, where = _dict(mount), f"{field}[{index}]"
        name, path = _text(mount.get("name")), _text(mount.get("mountPath"))
        if not name:
            problems.append(_required(f"{where}.name"))
        if name not in volumes:
            problems.append(FieldProblem("NotFound", f"{where}.name", name))
        if not path:
            problems.append(_required(f"{where}.mountPath"))
        if path in paths:
            problems.append(_invalid(f"{where}.mountPath", path, "must be unique"))
        paths.add(path)
        if volumes.get(name) == "image":
            for key in ("subPath", "subPathExpr"):
                if mount.get(key):
                    problems.append(_invalid(f"{where}.{key}", mount[key],
                                             "not allowed in image volume sources"))
        if mount.get("subPath"):
            problems += _local_descending(_text(mount["subPath"]), f"{field}.subPath")
        if mount.get("subPathExpr"):
            if mount.get("subPath"):
                problems.append(_invalid(f"{where}.subPathExpr", mount["subPathExpr"],
                                         "subPathExpr and subPath are mutually exclusive"))
            problems += _local_descending(_text(mount["subPathExpr"]), f"{field}.subPathExpr")
        propagation = mount.get("mountPropagation")
        if propagation is not None:
            allowed = ("Bidirectional", "HostToContainer", "None")
            if propagation not in allowed:
                problems.append(_not_supported(f"{field}.mountPropagation", propagation,
                                               allowed))
            if propagation == "Bidirectional" and not privileged:
                problems.append(_forbidden(f"{field}.mountPropagation", "Bidirectional mount "
                                           "propagation is available only to privileged "
                                           "containers"))
        recursive = mount.get("recursiveReadOnly")
        if recursive is not None and recursive != "Disabled":
            if recursive in ("Enabled", "IfPossible"):
                if not mount.get("readOnly"):
                    problems.append(_forbidden(f"{field}.recursiveReadOnly",
                                               "may only be specified when readOnly is true"))
                if propagation not in (None, "None"):
                    problems.append(_forbidden(f"{field}.recursiveReadOnly", "may only be "
                                               "specified when mountPropagation is None or not "
                                               "specified"))
            else:
                problems.append(_not_supported(f"{field}.recursiveReadOnly", recursive,
                                               ("Disabled", "Enabled", "IfPossible")))
    return problems


def _resource_name_problems(name, field):
    """validateContainerResourceName."""
    problems = [_invalid(field, name, p) for p in qualified_name_problems(name)]
    if problems:
        return problems
    if "/" not in name:
        if name not in _STANDARD_RESOURCES and not name.startswith("hugepages-"):
            problems.append(_invalid(field, name, "must be a standard resource type or fully "
                                                  "qualified"))
        if name not in ("cpu", "memory", "ephemeral-storage") and \
                not name.startswith("hugepages-"):
            problems.append(_invalid(field, name, "must be a standard resource for containers"))
    elif "kubernetes.io/" not in name:
        if name.startswith("requests.") or qualified_name_problems("requests." + name):
            problems.append(_invalid(field, name, "doesn't follow extended resource name "
                                                  "standard"))
    return problems


def _overcommit_allowed(name):
    """IsOvercommitAllowed: native resources (no domain, or kubernetes.io) but hugepages."""
    native = "/" not in name or "kubernetes.io/" in name
    return native and not name.startswith("hugepages-")


def _resources(resources, field):
    """ValidateContainerResourceRequirements."""
    resources = _dict(resources)
    limits, requests = _dict(resources.get("limits")), _dict(resources.get("requests"))
    problems = []
    parsed = {}
    for kind, entries in (("limits", limits), ("requests", requests)):
        for name, value in entries.items():
            where = f"{field}.{kind}[{name}]"
            problems += _resource_name_problems(name, where)
            quantity = _quantity(value)
            if quantity is None:
                continue  # decoding refused it already; here only for direct callers
            parsed[(kind, name)] = quantity
            if quantity.value < 0:
                problems.append(_invalid(where, str(quantity),
                                         "must be greater than or equal to 0"))
            if not _overcommit_allowed(name) and not name.startswith("hugepages-") and \
                    quantity.value.denominator != 1:
                problems.append(_invalid(where, GoText(str(quantity)), "must be an integer"))
            if kind == "requests":
                limit = parsed.get(("limits", name))
                if limit is not None:
                    if quantity.value != limit.value and not _overcommit_allowed(name):
                        problems.append(_invalid(f"{field}.requests", str(quantity),
                                                 f"must be equal to {name} limit of {limit}"))
                    elif quantity.value > limit.value:
                        problems.append(_invalid(f"{field}.requests", str(quantity),
                                                 f"must be less than or equal to {name} limit "
                                                 f"of {limit}"))
                elif not _overcommit_allowed(name):
                    problems.append(_required(f"{field}.limits", "Limit must be set for non "
                                                                 "overcommitable resources"))
    return problems


def _seccomp(profile, field):
    if profile is None:
        return []
    profile = _dict(profile)
    kind = _text(profile.get("type"))
    problems = []
    if not kind:
        problems.append(_required(f"{field}.type", "type is required when seccompProfile is "
                                                   "set"))
    elif kind not in ("Localhost", "RuntimeDefault", "Unconfined"):
        problems.append(_not_supported(f"{field}.type", kind,
                                       ("Localhost", "RuntimeDefault", "Unconfined")))
    if kind == "Localhost":
        if profile.get("localhostProfile") is None:
            problems.append(_required(f"{field}.localhostProfile",
                                      "must be set when seccomp type is Localhost"))
        else:
            problems += _local_descending(_text(profile["localhostProfile"]),
                                          f"{field}.localhostProfile")
    elif profile.get("localhostProfile") is not None:
        problems.append(_invalid(f"{field}.localhostProfile", GoText(
            f"core.SeccompProfile{{Type:{_go_quote(kind)}, LocalhostProfile:(*string)(...)}}"),
            "can only be set when seccomp type is Localhost"))
    return problems


def _apparmor(profile, field):
    if profile is None:
        return []
    profile = _dict(profile)
    kind, local = _text(profile.get("type")), profile.get("localhostProfile")
    if kind == "Localhost":
        if local is None:
            return [_required(f"{field}.localhostProfile",
                              "must be set when AppArmor type is Localhost")]
        local = _text(local)
        if local.strip() != local:
            return [_invalid(f"{field}.localhostProfile", local,
                             "must not be padded with whitespace")]
        if not local:
            return [_required(f"{field}.localhostProfile",
                              "must be set when AppArmor type is Localhost")]
        return []
    if kind in ("RuntimeDefault", "Unconfined"):
        if local is not None:
            return [_invalid(f"{field}.localhostProfile", _text(local),
                             "can only be set when AppArmor type is Localhost")]
        return []
    if not kind:
        return [_required(f"{field}.type", "type is required when appArmorProfile is set")]
    return [_not_supported(f"{field}.type", kind, ("Localhost", "RuntimeDefault", "Unconfined"))]


def _security_context(context, field, host_users):
    """ValidateSecurityContext."""
    if context is None:
        return []
    context = _dict(context)
    problems = []
    for key in ("runAsUser", "runAsGroup"):
        if context.get(key) is not None:
            problems += [_invalid(f"{field}.{key}", context[key], p)
                         for p in _id_problems(_int(context[key]))]
    mount = context.get("procMount")
    if mount is not None:
        if mount not in ("Default", "Unmasked"):
            problems.append(_not_supported(f"{field}.procMount", mount, ("Default", "Unmasked")))
        if host_users and mount == "Unmasked":
            problems.append(_invalid(f"{field}.procMount", mount,
                                     "`hostUsers` must be false to use `Unmasked`"))
    problems += _seccomp(context.get("seccompProfile"), f"{field}.seccompProfile")
    if context.get("allowPrivilegeEscalation") is False:
        # The value Go prints is the struct with its pointers' addresses: not reproducible.
        dump = GoText("core.SecurityContext{...}")
        if context.get("privileged") is True:
            problems.append(_invalid(field, dump, "cannot set `allowPrivilegeEscalation` to "
                                                  "false and `privileged` to true"))
        if "CAP_SYS_ADMIN" in _list(_dict(context.get("capabilities")).get("add")):
            problems.append(_invalid(field, dump, "cannot set `allowPrivilegeEscalation` to "
                                                  "false and `capabilities.Add` CAP_SYS_ADMIN"))
    return problems + _apparmor(context.get("appArmorProfile"), f"{field}.appArmorProfile")


def _resize_policies(policies, field, restart_policy):
    problems, seen = [], set()
    for index, policy in enumerate(_list(policies)):
        policy = _dict(policy)
        name, restart = _text(policy.get("resourceName")), _text(policy.get("restartPolicy"))
        if name in seen:
            problems.append(FieldProblem("Duplicate", f"{field}[{index}]", name))
        seen.add(name)
        if not name:
            problems.append(_required(field))
        elif name not in ("cpu", "memory"):
            problems.append(_not_supported(field, name, ("cpu", "memory")))
        if not restart:
            problems.append(_required(field))
        elif restart not in ("NotRequired", "RestartContainer"):
            problems.append(_not_supported(field, restart, ("NotRequired", "RestartContainer")))
        if restart_policy == "Never" and restart != "NotRequired":
            problems.append(_invalid(field, restart, "must be 'NotRequired' when "
                                                     "`restartPolicy` is 'Never'"))
    return problems


def _resize_dump(policies):
    """%#v of a []core.ContainerResizePolicy."""
    items = ", ".join(f"core.ContainerResizePolicy{{ResourceName:"
                      f"{_go_quote(_text(_dict(p).get('resourceName')))}, RestartPolicy:"
                      f"{_go_quote(_text(_dict(p).get('restartPolicy')))}}}" for p in policies)
    return GoText("[]core.ContainerResizePolicy{" + items + "}")


def _container_common(container, volumes, field, restart_policy, host_users):
    """validateContainerCommon."""
    problems = []
    name = _text(container.get("name"))
    if not name:
        problems.append(_required(f"{field}.name"))
    else:
        problems += [_invalid(f"{field}.name", name, p) for p in dns_label_problems(name)]
    if not container.get("image"):
        problems.append(_required(f"{field}.image"))
    policy = _text(container.get("terminationMessagePolicy"))
    if not policy:
        problems.append(_required(f"{field}.terminationMessagePolicy"))
    elif policy not in ("File", "FallbackToLogsOnError"):
        problems.append(_not_supported(f"{field}.terminationMessagePolicy", policy,
                                       ("File", "FallbackToLogsOnError")))
    problems += _ports(container.get("ports"), f"{field}.ports")
    problems += _env(container.get("env"), f"{field}.env")
    problems += _env_from(container.get("envFrom"), f"{field}.envFrom")
    problems += _volume_mounts(container.get("volumeMounts"), volumes, container,
                               f"{field}.volumeMounts")
    pull = _text(container.get("imagePullPolicy"))
    if not pull:
        problems.append(_required(f"{field}.imagePullPolicy"))
    elif pull not in _PULL_POLICIES:
        problems.append(_not_supported(f"{field}.imagePullPolicy", pull, _PULL_POLICIES))
    problems += _resources(container.get("resources"), f"{field}.resources")
    problems += _resize_policies(container.get("resizePolicy"), f"{field}.resizePolicy",
                                 restart_policy)
    return problems + _security_context(container.get("securityContext"),
                                        f"{field}.securityContext", host_users)


def _handler(handler, field, grace, allowed):
    """validateHandler: exactly one of the handler types `allowed` (probes: exec, httpGet,
    tcpSocket, grpc; lifecycle hooks: exec, httpGet, tcpSocket, sleep)."""
    handler = _dict(handler)
    problems, count = [], 0
    for kind in ("exec", "httpGet", "tcpSocket", "grpc", "sleep"):
        if kind not in allowed or not _set(handler.get(kind)):
            continue
        if count:
            problems.append(_forbidden(f"{field}.{kind}", "may not specify more than 1 handler "
                                                          "type"))
            continue
        count += 1
        action, where = _dict(handler[kind]), f"{field}.{kind}"
        if kind == "exec" and not _list(action.get("command")):
            problems.append(_required(f"{where}.command"))
        elif kind == "httpGet":
            if not action.get("path"):
                problems.append(_required(f"{where}.path"))
            problems += _port_number_or_name(action.get("port"), f"{where}.port")
            scheme = _text(action.get("scheme"))
            if scheme not in ("HTTP", "HTTPS"):
                problems.append(_not_supported(f"{where}.scheme", scheme, ("HTTP", "HTTPS")))
            for header in _list(action.get("httpHeaders")):
                header_name = _text(_dict(header).get("name"))
                if not _HTTP_HEADER.fullmatch(header_name):
                    problems.append(_invalid(f"{where}.httpHeaders", header_name, _regex_error(
                        "a valid HTTP header must consist of alphanumeric characters or '-'",
                        "[-A-Za-z0-9]+", "X-Header-Name")))
        elif kind == "tcpSocket":
            problems += _port_number_or_name(action.get("port"), f"{where}.port")
        elif kind == "grpc":
            problems += _port_number_or_name(_int(action.get("port")), f"{where}.port")
        elif kind == "sleep":
            seconds = _int(action.get("seconds"))
            if grace is not None and (seconds <= 0 or seconds > grace):
                problems.append(_invalid(where, seconds, "must be greater than 0 and less than "
                                                         f"terminationGracePeriodSeconds "
                                                         f"({grace}). Enable "
                                                         "AllowPodLifecycleSleepActionZeroValue "
                                                         "feature gate for zero sleep."))
    if not count:
        problems.append(_required(field, "must specify a handler type"))
    return problems


def _port_number_or_name(port, field):
    """ValidatePortNumOrName: an int-or-string."""
    if isinstance(port, str):
        return [_invalid(field, port, p) for p in port_name_problems(port)]
    number = _int(port)
    return [_invalid(field, number, p) for p in _port_number_problems(number)]


_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")


def _probe(probe, field, grace, kind):
    """validateLivenessProbe / validateReadinessProbe / validateStartupProbe."""
    if probe is None:
        return []
    probe = _dict(probe)
    problems = _handler(probe, field, grace, _PROBE_HANDLERS)
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                "failureThreshold"):
        problems += _non_negative(_int(probe.get(key)), f"{field}.{key}")
    grace_override = probe.get("terminationGracePeriodSeconds")
    if grace_override is not None and _int(grace_override) <= 0:
        problems.append(_invalid(f"{field}.terminationGracePeriodSeconds", grace_override,
                                 "must be greater than 0"))
    if kind == "readiness" and grace_override is not None:
        problems.append(_invalid(f"{field}.terminationGracePeriodSeconds", grace_override,
                                 "must not be set for readinessProbes"))
    if kind in ("liveness", "startup") and _int(probe.get("successThreshold")) != 1:
        problems.append(_invalid(f"{field}.successThreshold",
                                 _int(probe.get("successThreshold")), "must be 1"))
    return problems


def _lifecycle(lifecycle, field, grace):
    lifecycle = _dict(lifecycle)
    problems = []
    for hook in ("postStart", "preStop"):
        if _set(lifecycle.get(hook)):
            problems += _handler(lifecycle[hook], f"{field}.{hook}", grace, _LIFECYCLE_HANDLERS)
    return problems


def _probes_and_lifecycle(container, field, grace):
    problems = []
    if _set(container.get("lifecycle")):
        problems += _lifecycle(container["lifecycle"], f"{field}.lifecycle", grace)
    for key, kind in (("livenessProbe", "liveness"), ("readinessProbe", "readiness"),
                      ("startupProbe", "startup")):
        problems += _probe(container.get(key), f"{field}.{key}", grace, kind)
    return problems


def _containers(containers, volumes, grace, field, restart_policy, host_users):
    """validateContainers."""
    if not containers:
        return [_required(field)]
    problems, names = [], set()
    for index, container in enumerate(containers):
        container, where = _dict(container), f"{field}[{index}]"
        problems += _container_common(container, volumes, where, restart_policy, host_users)
        name = _text(container.get("name"))
        if name in names:
            problems.append(FieldProblem("Duplicate", f"{where}.name", name))
        names.add(name)
        problems += _probes_and_lifecycle(container, where, grace)
        if container.get("restartPolicy") is not None:
            problems.append(_forbidden(f"{where}.restartPolicy",
                                       "may not be set for non-init containers"))
    return problems + _host_port_conflicts(containers, field)


def _init_containers(containers, regular, volumes, grace, field, restart_policy, host_users):
    """validateInitContainers: native sidecars are init containers with restartPolicy
    Always; only they may have probes and lifecycle hooks."""
    problems = []
    names = {_text(_dict(c).get("name")) for c in regular}
    for index, container in enumerate(containers):
        container, where = _dict(container), f"{field}[{index}]"
        problems += _container_common(container, volumes, where, restart_policy, host_users)
        restart = container.get("restartPolicy")
        if restart is not None and restart != "Always":
            problems.append(_not_supported(f"{where}.restartPolicy", restart, ("Always",)))
        name = _text(container.get("name"))
        if name in names:
            problems.append(FieldProblem("Duplicate", f"{where}.name", name))
        elif name:
            names.add(name)
        problems += _host_port_conflicts([container], field)
        if restart == "Always":
            problems += _probes_and_lifecycle(container, where, grace)
        else:
            for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if _set(container.get(key)):
                    problems.append(_forbidden(f"{where}.{key}", "may not be set for init "
                                                                 "containers without "
                                                                 "restartPolicy=Always"))
        if _list(container.get("resizePolicy")):
            problems.append(_invalid(f"{where}.resizePolicy",
                                     _resize_dump(container["resizePolicy"]),
                                     "must not be set for init containers"))
    return problems


# The fields of EphemeralContainerCommon in Go order, and whether an ephemeral container may
# set them.
_EPHEMERAL_FIELDS = (("ports", False), ("resources", False), ("resizePolicy", False),
                     ("restartPolicy", False), ("livenessProbe", False),
                     ("readinessProbe", False), ("startupProbe", False), ("lifecycle", False))


def _ephemeral_containers(containers, regular, init, volumes, field, restart_policy,
                          host_users):
    """validateEphemeralContainers."""
    problems = []
    others = {_text(_dict(c).get("name")) for c in list(regular) + list(init)}
    names = set(others)
    for index, container in enumerate(containers):
        container, where = _dict(container), f"{field}[{index}]"
        problems += _container_common(container, volumes, where, restart_policy, host_users)
        problems += _image_whitespace(container, where)
        name = _text(container.get("name"))
        if name in names:
            problems.append(FieldProblem("Duplicate", f"{where}.name", name))
        names.add(name)
        target = _text(container.get("targetContainerName"))
        if target and target not in others:
            problems.append(FieldProblem("NotFound", f"{where}.targetContainerName", target))
        for key, allowed in _EPHEMERAL_FIELDS:
            value = container.get(key)
            unset = value is None or value == {} or value == [] or (
                key == "resources" and not any(_dict(value).values()))
            if not allowed and not unset:
                problems.append(_forbidden(f"{where}.{key}",
                                           "cannot be set for an Ephemeral Container"))
        for number, mount in enumerate(_list(container.get("volumeMounts"))):
            for key in ("subPath", "subPathExpr"):
                if _dict(mount).get(key):
                    problems.append(_forbidden(f"{where}.volumeMounts[{number}].{key}",
                                               "cannot be set for an Ephemeral Container"))
    return problems


def _image_whitespace(container, field):
    image = _text(container.get("image"))
    if image != image.strip():
        return [_invalid(f"{field}.image", image, "must not have leading or trailing "
                                                  "whitespace")]
    return []


# --- the pod spec -----------------------------------------------------------------------------

def _pod_security_context(spec, field):
    """validatePodSpecSecurityContext (shareProcessNamespace lives in the internal
    PodSecurityContext, hence its path)."""
    context = _dict(spec.get("securityContext"))
    problems = []
    for key in ("fsGroup", "runAsUser", "runAsGroup"):
        if context.get(key) is not None:
            problems += [_invalid(f"{field}.{key}", context[key], p)
                         for p in _id_problems(_int(context[key]))]
    for index, group in enumerate(_list(context.get("supplementalGroups"))):
        problems += [_invalid(f"{field}.supplementalGroups[{index}]", group, p)
                     for p in _id_problems(_int(group))]
    if spec.get("shareProcessNamespace") is True and spec.get("hostPID") is True:
        problems.append(_invalid(f"{field}.shareProcessNamespace", True,
                                 "ShareProcessNamespace and HostPID cannot both be enabled"))
    change = context.get("fsGroupChangePolicy")
    if change is not None and change not in ("Always", "OnRootMismatch"):
        problems.append(_not_supported(f"{field}.fsGroupChangePolicy", change,
                                       ("Always", "OnRootMismatch")))
    problems += _seccomp(context.get("seccompProfile"), f"{field}.seccompProfile")
    problems += _apparmor(context.get("appArmorProfile"), f"{field}.appArmorProfile")
    groups = context.get("supplementalGroupsPolicy")
    if groups is not None and groups not in ("Merge", "Strict"):
        problems.append(_not_supported(f"{field}.supplementalGroupsPolicy", groups,
                                       ("Merge", "Strict")))
    selinux = context.get("seLinuxChangePolicy")
    if selinux is not None and selinux not in ("MountOption", "Recursive"):
        problems.append(_not_supported(f"{field}.seLinuxChangePolicy", selinux,
                                       ("MountOption", "Recursive")))
    return problems


def _named(value, field, checks):
    return [_invalid(field, value, p) for p in checks(value)] if value else []


def validate_pod_spec(spec, field, resource_is_pod):
    """ValidatePodSpec, in its order."""
    spec = _dict(spec)
    problems = []
    if spec.get("terminationGracePeriodSeconds") is None:
        problems.append(_required(f"{field}.terminationGracePeriodSeconds"))
    grace = spec.get("terminationGracePeriodSeconds")
    host_users = spec.get("hostUsers") is not False
    restart_policy = _text(spec.get("restartPolicy"))
    volumes, found = _volumes(spec.get("volumes"), f"{field}.volumes")
    problems += found
    containers = _list(spec.get("containers"))
    init = _list(spec.get("initContainers"))
    problems += _containers(containers, volumes, grace, f"{field}.containers", restart_policy,
                            host_users)
    problems += _init_containers(init, containers, volumes, grace, f"{field}.initContainers",
                                 restart_policy, host_users)
    problems += _ephemeral_containers(_list(spec.get("ephemeralContainers")), containers, init,
                                      volumes, f"{field}.ephemeralContainers", restart_policy,
                                      host_users)
    if spec.get("hostNetwork") is True:
        for index, container in enumerate(containers):
            for number, port in enumerate(_list(_dict(container).get("ports"))):
                port = _dict(port)
                host, target = _int(port.get("hostPort")), _int(port.get("containerPort"))
                if (resource_is_pod or host != 0) and host != target:
                    problems.append(_invalid(
                        f"{field}.containers[{index}].ports[{number}].hostPort", host,
                        "must match `containerPort` when `hostNetwork` is true"))
    if not restart_policy:
        problems.append(_required(f"{field}.restartPolicy"))
    elif restart_policy not in ("Always", "OnFailure", "Never"):
        problems.append(_not_supported(f"{field}.restartPolicy", restart_policy,
                                       ("Always", "OnFailure", "Never")))
    dns = _text(spec.get("dnsPolicy"))
    dns_policies = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
    if not dns:
        problems.append(_required(f"{field}.dnsPolicy"))
    elif dns not in dns_policies:
        problems.append(_not_supported(f"{field}.dnsPolicy", dns, dns_policies))
    problems += validate_labels(spec.get("nodeSelector"), f"{field}.nodeSelector")
    problems += _pod_security_context(spec, f"{field}.securityContext")
    if dns == "None":
        config = spec.get("dnsConfig")
        if config is None:
            problems.append(_required(f"{field}.dnsConfig",
                                      "must provide `dnsConfig` when `dnsPolicy` is None"))
        elif not _list(_dict(config).get("nameservers")):
            problems.append(_required(f"{field}.dnsConfig.nameservers", "must provide at least "
                                      "one DNS nameserver when `dnsPolicy` is None"))
    if spec.get("hostUsers") is False:
        for key, path in (("hostNetwork", "hostNetwork"), ("hostPID", "HostPID"),
                          ("hostIPC", "HostIPC")):
            if spec.get(key) is True:
                problems.append(_forbidden(f"{field}.{path}", "when `pod.Spec.HostUsers` is "
                                                              "false"))
    problems += _named(_text(spec.get("serviceAccountName")), f"{field}.serviceAccountName",
                       dns_subdomain_problems)
    problems += _named(_text(spec.get("nodeName")), f"{field}.nodeName", dns_subdomain_problems)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= _int(deadline) <= 2 ** 31 - 1:
        problems.append(_invalid(f"{field}.activeDeadlineSeconds", deadline,
                                 _range(1, 2 ** 31 - 1)))
    problems += _named(_text(spec.get("hostname")), f"{field}.hostname", dns_label_problems)
    problems += _named(_text(spec.get("subdomain")), f"{field}.subdomain", dns_label_problems)
    problems += _named(_text(spec.get("priorityClassName")), f"{field}.priorityClassName",
                       dns_subdomain_problems)
    if spec.get("runtimeClassName") is not None:
        name = _text(spec["runtimeClassName"])
        problems += [_invalid(f"{field}.runtimeClassName", name, p)
                     for p in dns_subdomain_problems(name)]
    preemption = spec.get("preemptionPolicy")
    if preemption is not None:
        if not preemption:
            problems.append(_required(f"{field}.preemptionPolicy"))
        elif preemption not in ("PreemptLowerPriority", "Never"):
            problems.append(_not_supported(f"{field}.preemptionPolicy", preemption,
                                           ("PreemptLowerPriority", "Never")))
    if spec.get("overhead") is not None:
        problems += _resources({"limits": spec["overhead"]}, f"{field}.overhead")
    return problems


# --- pod annotations --------------------------------------------------------------------------

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_CONTAINER_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _all_containers(spec):
    """(container, its path) of containers, initContainers and ephemeralContainers (the order
    of VisitContainersWithPath)."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(_list(spec.get(field))):
            yield _dict(container), f"spec.{field}[{index}]"


def _seccomp_profile_problems(profile, field):
    if profile in ("runtime/default", "docker/default", "unconfined"):
        return []
    if profile.startswith("localhost/"):
        return _local_descending(profile[len("localhost/"):], field)
    return [_invalid(field, profile, "must be a valid seccomp profile")]


def _pod_annotations(annotations, spec, field):
    """ValidatePodSpecificAnnotations."""
    annotations, problems = _dict(annotations), []
    if MIRROR_ANNOTATION in annotations and not spec.get("nodeName"):
        problems.append(_invalid(f"{field}[{MIRROR_ANNOTATION}]", annotations[MIRROR_ANNOTATION],
                                 "must set spec.nodeName if mirror pod annotation is set"))
    if DELETION_COST_ANNOTATION in annotations:
        cost = _text(annotations[DELETION_COST_ANNOTATION])
        first_digit = cost == "0" or cost[:1] == "-" or cost[:1] in tuple("123456789")
        if not first_digit or not re.fullmatch(r"-?[0-9]+", cost) or \
                not -2 ** 31 <= int(cost) < 2 ** 31:
            problems.append(_invalid(f"{field}[{DELETION_COST_ANNOTATION}]", cost,
                                     "must be a 32bit integer"))
    if SECCOMP_POD_ANNOTATION in annotations:
        problems += _seccomp_profile_problems(_text(annotations[SECCOMP_POD_ANNOTATION]),
                                              f"{field}.{SECCOMP_POD_ANNOTATION}")
    for key in sorted(annotations):
        if key.startswith(SECCOMP_CONTAINER_PREFIX):
            problems += _seccomp_profile_problems(_text(annotations[key]), f"{field}.{key}")
    names = {_text(c.get("name")) for c, _ in _all_containers(spec)}
    for key in sorted(annotations):
        if not key.startswith(APPARMOR_CONTAINER_PREFIX):
            continue
        container, profile = key[len(APPARMOR_CONTAINER_PREFIX):], _text(annotations[key])
        if container not in names:
            problems.append(_invalid(f"{field}[{key}]", container, "container not found"))
        if profile not in ("", "runtime/default", "unconfined") and \
                not profile.startswith("localhost/"):
            problems.append(_invalid(f"{field}[{key}]", profile,
                                     f"invalid AppArmor profile name: {_go_quote(profile)}"))
    return problems


def _profile_matches(annotation, profile, localhost_prefix, values):
    """Whether an annotation and a seccompProfile/appArmorProfile field say the same: the
    problem as (field suffix, detail) or None."""
    kind = _text(profile.get("type"))
    if kind in values and annotation not in values[kind]:
        return "type"
    if kind == "Localhost":
        if not annotation.startswith(localhost_prefix):
            return "type"
        if _text(profile.get("localhostProfile")) != annotation[len(localhost_prefix):] or \
                profile.get("localhostProfile") is None:
            return "localhostProfile"
    return None


def _annotations_match_fields(annotations, spec, spec_field):
    """validateSeccompAnnotationsAndFields and validateAppArmorAnnotationsAndFieldsMatchOnCreate:
    where both an annotation and a field give a profile, they must agree."""
    annotations, problems = _dict(annotations), []
    seccomp_values = {"Unconfined": ("unconfined",),
                      "RuntimeDefault": ("runtime/default", "docker/default")}
    context = _dict(spec.get("securityContext"))
    pod_seccomp = context.get("seccompProfile")
    if isinstance(pod_seccomp, dict) and SECCOMP_POD_ANNOTATION in annotations:
        which = _profile_matches(_text(annotations[SECCOMP_POD_ANNOTATION]), pod_seccomp,
                                 "localhost/", seccomp_values)
        if which:
            problems.append(_forbidden(f"{spec_field}.securityContext.seccompProfile.{which}",
                                       f"seccomp {'type' if which == 'type' else 'profile'} in "
                                       "annotation and field must match"))
    for container, path in _all_containers(spec):
        path = spec_field + path[len("spec"):]
        profile = _dict(container.get("securityContext")).get("seccompProfile")
        key = SECCOMP_CONTAINER_PREFIX + _text(container.get("name"))
        if isinstance(profile, dict) and key in annotations:
            which = _profile_matches(_text(annotations[key]), profile, "localhost/",
                                     seccomp_values)
            if which:
                problems.append(_forbidden(f"{path}.securityContext.seccompProfile.{which}",
                                           f"seccomp {'type' if which == 'type' else 'profile'}"
                                           " in annotation and field must match"))
    apparmor_values = {"Unconfined": ("unconfined",), "RuntimeDefault": ("runtime/default",)}
    pod_apparmor = context.get("appArmorProfile")
    for container, path in _all_containers(spec):
        path = spec_field + path[len("spec"):]
        profile = _dict(container.get("securityContext")).get("appArmorProfile")
        if profile is None:
            profile = pod_apparmor
        key = APPARMOR_CONTAINER_PREFIX + _text(container.get("name"))
        if isinstance(profile, dict) and key in annotations:
            which = _profile_matches(_text(annotations[key]), profile, "localhost/",
                                     apparmor_values)
            if which:
                problems.append(_forbidden(f"{path}.securityContext.appArmorProfile.{which}",
                                           f"apparmor {'type' if which == 'type' else 'profile'}"
                                           " in annotation and field must match"))
    return problems


def _annotation_updates(new, old):
    """ValidatePodSpecificAnnotationUpdates: AppArmor and mirror annotations are fixed at
    create."""
    problems = []
    for key in sorted(old):
        if key in new and new[key] == old[key]:
            continue
        if key.startswith(APPARMOR_CONTAINER_PREFIX):
            problems.append(_forbidden(f"metadata.annotations[{key}]",
                                       "may not remove or update AppArmor annotations"))
        if key == MIRROR_ANNOTATION:
            problems.append(_forbidden(f"metadata.annotations[{key}]",
                                       "may not remove or update mirror pod annotation"))
    for key in sorted(new):
        if key in old:
            continue
        if key.startswith(APPARMOR_CONTAINER_PREFIX):
            problems.append(_forbidden(f"metadata.annotations[{key}]",
                                       "may not add AppArmor annotations"))
        if key == MIRROR_ANNOTATION:
            problems.append(_forbidden(f"metadata.annotations[{key}]",
                                       "may not add mirror pod annotation"))
    return problems


# --- entry points -----------------------------------------------------------------------------

def validate_pod(pod, old=None):
    """What ValidatePodCreate (or, with `old`, the spec part of ValidatePodUpdate) adds to
    the object metadata's checks, which the server makes for every kind."""
    pod = _dict(pod)
    meta, spec = _dict(pod.get("metadata")), _dict(pod.get("spec"))
    annotations = meta.get("annotations")
    problems = _pod_annotations(annotations, spec, "metadata.annotations")
    problems += validate_pod_spec(spec, "spec", resource_is_pod=True)
    if not spec.get("serviceAccountName"):
        for index, volume in enumerate(_list(spec.get("volumes"))):
            for number, source in enumerate(_list(_dict(_dict(volume).get("projected")).get(
                    "sources"))):
                if _set(_dict(source).get("serviceAccountToken")):
                    problems.append(_forbidden(
                        f"spec.volumes[{index}].projected.sources[{number}].serviceAccountToken",
                        "must not be specified when serviceAccountName is not set"))
    for field in ("containers", "initContainers"):
        for index, container in enumerate(_list(spec.get(field))):
            problems += _image_whitespace(_dict(container), f"spec.{field}[{index}]")
    if old is None:
        if _list(spec.get("ephemeralContainers")):
            problems.append(_forbidden("spec.ephemeralContainers", "cannot be set on create"))
        if spec.get("nodeName") and _list(spec.get("schedulingGates")):
            problems.append(_forbidden("spec.nodeName", "cannot be set until all "
                                                        "schedulingGates have been cleared"))
        problems += _annotations_match_fields(annotations, spec, "spec")
    else:
        problems += _annotation_updates(_dict(annotations),
                                        _dict(_dict(_dict(old).get("metadata")).get(
                                            "annotations")))
        old_spec = _dict(_dict(old).get("spec"))
        for field in ("containers", "initContainers"):
            if len(_list(spec.get(field))) != len(_list(old_spec.get(field))):
                problems.append(_forbidden(f"spec.{field}",
                                           "pod updates may not add or remove containers"))
                return problems
            for index, container in enumerate(_list(spec.get(field))):
                if not _dict(container).get("image"):
                    problems.append(_required(f"spec.{field}[{index}].image"))
    return problems


def validate_pod_template(template, field):
    """ValidatePodTemplateSpec: the template's labels and annotations (at <field>.labels and
    <field>.annotations, as Go names them), the pod annotations, the spec as a template's
    (hostPort 0 allowed with hostNetwork), the annotation/field agreement, and no ephemeral
    containers."""
    template = _dict(template)
    meta, spec = _dict(template.get("metadata")), _dict(template.get("spec"))
    problems = validate_labels(meta.get("labels"), f"{field}.labels")
    problems += validate_annotations(meta.get("annotations"), f"{field}.annotations")
    problems += _pod_annotations(meta.get("annotations"), spec, f"{field}.annotations")
    problems += validate_pod_spec(spec, f"{field}.spec", resource_is_pod=False)
    problems += _annotations_match_fields(meta.get("annotations"), spec, f"{field}.spec")
    if _list(spec.get("ephemeralContainers")):
        problems.append(_forbidden(f"{field}.spec.ephemeralContainers",
                                   "ephemeral containers not allowed in pod template"))
    return problems


def validate_template_metadata(template, field):
    """What a StatefulSet's template gets in 1.32 (ValidatePodTemplateSpecForStatefulSet):
    labels and annotations only; its pod spec is not validated until its pods are made."""
    template = _dict(template)
    meta, spec = _dict(template.get("metadata")), _dict(template.get("spec"))
    problems = validate_labels(meta.get("labels"), f"{field}.labels")
    problems += validate_annotations(meta.get("annotations"), f"{field}.annotations")
    return problems + _pod_annotations(meta.get("annotations"), spec, f"{field}.annotations")
