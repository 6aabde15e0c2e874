"""apps/v1 and batch/v1 workloads as kube-apiserver 1.32 defaults and validates them, for the
Kubernetes API test server (kube_api_server.py): Deployments, ReplicaSets, DaemonSets,
StatefulSets, Jobs and CronJobs, whose pod templates go through kube_pod_validation.

The rules are pkg/apis/apps/validation and pkg/apis/batch/validation with the strategies'
update checks (selectors fixed once created, a Job's template too), in their order and with
their messages. Values Go prints with %#v come out the same way where the type is plain
(v1.LabelSelector, intstr.IntOrString, maps); a struct holding pointers (a Job's template, an
unknown update strategy) prints as "<type>{...}", since its addresses are not reproducible.

Two 1.32 behaviours that surprise: a StatefulSet's pod template is not validated beyond its
labels and annotations (kubernetes#131790 added that in 1.34; a bad one fails when the
controller makes pods), and a StatefulSet's name must be a DNS label. A Job's selector and
its template's labels are generated on create (batch.kubernetes.io/controller-uid and
job-name, and their legacy forms) from the uid the server gives it.

stdlib-only, like the rest of the test server.
"""
import re
import zoneinfo

import kube_pod_validation as pods
from kube_pod_validation import FieldProblem, GoText, go_value

_q = go_value


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _text(value):
    return value if isinstance(value, str) else ""


def _int(value, default=0):
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _invalid(field, value, detail):
    return FieldProblem("Invalid", field, value, detail)


def _required(field, detail=""):
    return FieldProblem("Required", field, None, detail)


def _forbidden(field, detail):
    return FieldProblem("Forbidden", field, None, detail)


def _not_supported(field, value, allowed):
    return FieldProblem("NotSupported", field, value,
                        "supported values: " + ", ".join(_q(v) for v in allowed))


def _non_negative(value, field):
    if value is not None and _int(value) < 0:
        return [_invalid(field, value, "must be greater than or equal to 0")]
    return []


# --- label selectors (k8s.io/apimachinery/pkg/apis/meta/v1) -----------------------------------

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def selector_dump(selector):
    """%#v of a v1.LabelSelector: nil and empty collections differ, as in Go."""
    selector = _dict(selector)
    labels = selector.get("matchLabels")
    labels_text = "map[string]string(nil)" if labels is None else go_value(_dict(labels))
    expressions = selector.get("matchExpressions")
    if expressions is None:
        expressions_text = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = []
        for requirement in _list(expressions):
            requirement = _dict(requirement)
            values = requirement.get("values")
            values_text = "[]string(nil)" if values is None else go_value(_list(values))
            items.append(f"v1.LabelSelectorRequirement{{Key:{_q(_text(requirement.get('key')))}"
                         f", Operator:{_q(_text(requirement.get('operator')))}, "
                         f"Values:{values_text}}}")
        expressions_text = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return GoText(f"v1.LabelSelector{{MatchLabels:{labels_text}, "
                  f"MatchExpressions:{expressions_text}}}")


def _labels_dump(labels):
    return GoText("map[string]string(nil)") if labels is None else _dict(labels)


def validate_label_selector(selector, field):
    """ValidateLabelSelector (values checked strictly, as for new workloads)."""
    if selector is None:
        return []
    selector = _dict(selector)
    problems = pods.validate_labels(selector.get("matchLabels"), f"{field}.matchLabels")
    for index, requirement in enumerate(_list(selector.get("matchExpressions"))):
        requirement, where = _dict(requirement), f"{field}.matchExpressions[{index}]"
        operator, values = _text(requirement.get("operator")), _list(requirement.get("values"))
        if operator in ("In", "NotIn"):
            if not values:
                problems.append(_required(f"{where}.values", "must be specified when `operator` "
                                                             "is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                problems.append(_forbidden(f"{where}.values", "may not be specified when "
                                                              "`operator` is 'Exists' or "
                                                              "'DoesNotExist'"))
        else:
            problems.append(_invalid(f"{where}.operator", operator,
                                     "not a valid selector operator"))
        key = _text(requirement.get("key"))
        problems += [_invalid(f"{where}.key", key, p) for p in pods.qualified_name_problems(key)]
        for number, value in enumerate(values):
            problems += [_invalid(f"{where}.values[{number}]", value, p)
                         for p in pods.label_value_problems(_text(value))]
    return problems


def _selector_convertible(selector):
    """Whether LabelSelectorAsSelector accepts it (its requirements are well formed)."""
    for key in _dict(_dict(selector).get("matchLabels")):
        if pods.qualified_name_problems(key):
            return False
    for requirement in _list(_dict(selector).get("matchExpressions")):
        requirement = _dict(requirement)
        operator, values = _text(requirement.get("operator")), _list(requirement.get("values"))
        if operator not in _OPERATORS or pods.qualified_name_problems(
                _text(requirement.get("key"))):
            return False
        if (operator in ("In", "NotIn")) != bool(values):
            return False
        if any(pods.label_value_problems(_text(v)) for v in values):
            return False
    for value in _dict(_dict(selector).get("matchLabels")).values():
        if pods.label_value_problems(_text(value)):
            return False
    return True


def _selector_empty(selector):
    """labels.Selector.Empty() of LabelSelectorAsSelector: nil selects nothing (not empty),
    {} selects everything (empty)."""
    selector = _dict(selector) if selector is not None else None
    return selector is not None and not selector.get("matchLabels") and \
        not selector.get("matchExpressions")


def selector_matches(selector, labels):
    """Whether a LabelSelector selects an object with these labels (nil selects nothing)."""
    if selector is None:
        return False
    labels = _dict(labels)
    for key, value in _dict(_dict(selector).get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for requirement in _list(_dict(selector).get("matchExpressions")):
        requirement = _dict(requirement)
        key, operator = _text(requirement.get("key")), _text(requirement.get("operator"))
        values = _list(requirement.get("values"))
        if operator == "In" and (key not in labels or labels[key] not in values):
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def format_selector(selector):
    """metav1.FormatLabelSelector, as kubectl prints a selector column."""
    if selector is None:
        return "<none>"
    if not _selector_convertible(selector):
        return "<error>"
    parts = []
    for key, value in _dict(_dict(selector).get("matchLabels")).items():
        parts.append((key, f"{key}={value}"))
    for requirement in _list(_dict(selector).get("matchExpressions")):
        requirement = _dict(requirement)
        key, operator = _text(requirement.get("key")), _text(requirement.get("operator"))
        values = ",".join(sorted(_list(requirement.get("values"))))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}[operator]
        parts.append((key, text))
    return ",".join(text for _, text in sorted(parts, key=lambda p: p[0])) or "<none>"


def _semantic(value):
    """apiequality.Semantic treats a nil and an empty map or list alike."""
    if isinstance(value, dict):
        return {k: _semantic(v) for k, v in value.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


# --- int-or-percent (apps validation) ---------------------------------------------------------

def _intstr_dump(value):
    """%#v of an intstr.IntOrString."""
    if isinstance(value, str):
        return GoText(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{_q(value)}}}")
    return GoText(f"intstr.IntOrString{{Type:0, IntVal:{_int(value)}, StrVal:\"\"}}")


def _percent(value):
    """getPercentValue: the number of a valid "N%", or None."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]+%", value):
        return int(value[:-1])
    return None


def _int_or_percent_value(value):
    percent = _percent(value)
    if percent is not None:
        return percent
    if isinstance(value, str):
        return int(value) if re.fullmatch(r"[-+]?[0-9]+", value) else 0
    return _int(value)


def _positive_int_or_percent(value, field):
    if isinstance(value, str):
        if _percent(value) is None:
            return [_invalid(field, _intstr_dump(value), (
                "a valid percent string must be a numeric string followed by an ending '%' "
                "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"))]
        return []
    return _non_negative(_int(value), field)


def _not_over_100_percent(value, field):
    percent = _percent(value)
    if percent is not None and percent > 100:
        return [_invalid(field, _intstr_dump(value), "must not be greater than 100%")]
    return []


# --- templates and selectors shared by the controllers ----------------------------------------

def _spec_selector(spec, field, kind, required=True):
    """The selector's checks of Deployments, ReplicaSets and StatefulSets (a DaemonSet does
    not require one): (problems, the selector if LabelSelectorAsSelector accepts it)."""
    selector = spec.get("selector")
    problems = []
    if selector is None:
        if required:
            problems.append(_required(f"{field}.selector"))
    else:
        problems += validate_label_selector(selector, f"{field}.selector")
        if _selector_empty(selector):
            problems.append(_invalid(f"{field}.selector", selector_dump(selector),
                                     f"empty selector is invalid for {kind}"))
    return problems, _selector_convertible(selector)


def _template_for_replicas(template, selector, field, kind):
    """ValidatePodTemplateSpecForReplicaSet (Deployments and ReplicaSets)."""
    if template is None:
        return [_required(field)]
    template = _dict(template)
    labels = _dict(template.get("metadata")).get("labels")
    problems = []
    if not _selector_empty(selector) and not selector_matches(selector, labels):
        problems.append(_invalid(f"{field}.metadata.labels", _labels_dump(labels),
                                 "`selector` does not match template `labels`"))
    problems += pods.validate_pod_template(template, field)
    problems += _always_restarts(template, field, kind)
    return problems


def _always_restarts(template, field, kind):
    spec = _dict(_dict(template).get("spec"))
    problems = []
    if spec.get("restartPolicy") != "Always":
        problems.append(_not_supported(f"{field}.spec.restartPolicy",
                                       _text(spec.get("restartPolicy")), ("Always",)))
    if spec.get("activeDeadlineSeconds") is not None:
        problems.append(_forbidden(f"{field}.spec.activeDeadlineSeconds",
                                   f"activeDeadlineSeconds in {kind} is not Supported"))
    return problems


def _immutable(new, old, field, dump):
    if _semantic(new) != _semantic(old):
        return [_invalid(field, dump(new), "field is immutable")]
    return []


def _strategy_dump(go_type, rolling_type, strategy):
    """%#v of an update strategy struct; its RollingUpdate pointer prints as nil or, being an
    address, as "..."."""
    strategy = _dict(strategy)
    rolling = "..." if strategy.get("rollingUpdate") is not None else f"(*{rolling_type})(nil)"
    return GoText(f"{go_type}{{Type:{_q(_text(strategy.get('type')))}, RollingUpdate:{rolling}}}")


def _template_dump(kind):
    return lambda _: GoText(f"{kind}{{...}}")


# --- defaults ---------------------------------------------------------------------------------

def _default_template(template):
    pods.default_pod_spec(_dict(template).setdefault("spec", {}))


def default_deployment(obj):
    """SetDefaults_Deployment of apps/v1."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _default_template(spec.setdefault("template", {}))


def default_replica_set(obj):
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _default_template(spec.setdefault("template", {}))


def default_daemon_set(obj):
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _default_template(spec.setdefault("template", {}))


def default_stateful_set(obj):
    spec = obj.setdefault("spec", {})
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = spec.setdefault("updateStrategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    for key in ("whenDeleted", "whenScaled"):
        if not retention.get(key):
            retention[key] = "Retain"
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    _default_template(spec.setdefault("template", {}))


def default_job(obj):
    """SetDefaults_Job of batch/v1 (the Job's labels default to its template's)."""
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2 ** 31 - 1 if spec.get("backoffLimitPerIndex") is not None
                    else 6)
    template = spec.setdefault("template", {})
    labels = _dict(_dict(template).get("metadata")).get("labels")
    meta = obj.setdefault("metadata", {})
    if isinstance(labels, dict) and not meta.get("labels"):
        meta["labels"] = dict(labels)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy",
                    "Failed" if spec.get("podFailurePolicy") is not None else
                    "TerminatingOrFailed")
    _default_template(template)


def default_cron_job(obj):
    spec = obj.setdefault("spec", {})
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = _dict(spec.setdefault("jobTemplate", {})).setdefault("spec", {})
    _default_template(_dict(job_spec).setdefault("template", {}))


# Labels a Job's pods carry and its generated selector picks them by.
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"


def generate_job_selector(job):
    """The Job strategy's PrepareForCreate: unless manualSelector, label the template with
    the Job's name and uid and select by the uid."""
    spec = job.setdefault("spec", {})
    if spec.get("manualSelector") is True:
        return
    meta = job["metadata"]
    template = spec.setdefault("template", {})
    labels = _dict(template).setdefault("metadata", {}).setdefault("labels", {})
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, meta.get("name", ""))
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, meta.get("uid", ""))
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        selector = spec["selector"] = {}
    match = selector.setdefault("matchLabels", {})
    match.setdefault(CONTROLLER_UID_LABEL, meta.get("uid", ""))


# --- apps/v1 ----------------------------------------------------------------------------------

def _rolling_update_deployment(rolling, field):
    problems = _positive_int_or_percent(rolling.get("maxUnavailable"), f"{field}.maxUnavailable")
    problems += _positive_int_or_percent(rolling.get("maxSurge"), f"{field}.maxSurge")
    if _int_or_percent_value(rolling.get("maxUnavailable")) == 0 and \
            _int_or_percent_value(rolling.get("maxSurge")) == 0:
        problems.append(_invalid(f"{field}.maxUnavailable",
                                 _intstr_dump(rolling.get("maxUnavailable")),
                                 "may not be 0 when `maxSurge` is 0"))
    return problems + _not_over_100_percent(rolling.get("maxUnavailable"),
                                            f"{field}.maxUnavailable")


def validate_deployment(obj, old=None):
    """ValidateDeploymentSpec, and on update the apps/v1 rule that the selector is fixed."""
    spec = _dict(obj.get("spec"))
    problems = _non_negative(spec.get("replicas"), "spec.replicas")
    found, convertible = _spec_selector(spec, "spec", "deployment")
    problems += found
    selector = spec.get("selector")
    if not convertible:
        problems.append(_invalid("spec.selector", selector_dump(selector),
                                 "invalid label selector"))
    else:
        problems += _template_for_replicas(spec.get("template"), selector, "spec.template",
                                           "ReplicaSet")
    strategy = _dict(spec.get("strategy"))
    kind = _text(strategy.get("type"))
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            problems.append(_forbidden("spec.strategy.rollingUpdate", "may not be specified when "
                                                                      "strategy `type` is "
                                                                      "'Recreate'"))
    elif kind == "RollingUpdate":
        if strategy.get("rollingUpdate") is None:
            problems.append(_required("spec.strategy.rollingUpdate",
                                      "this should be defaulted and never be nil"))
        else:
            problems += _rolling_update_deployment(_dict(strategy["rollingUpdate"]),
                                                   "spec.strategy.rollingUpdate")
    else:
        problems.append(_not_supported("spec.strategy", _strategy_dump(
            "apps.DeploymentStrategy", "apps.RollingUpdateDeployment", strategy),
            ("Recreate", "RollingUpdate")))
    problems += _non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    problems += _non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None:
        problems += _non_negative(deadline, "spec.progressDeadlineSeconds")
        if _int(deadline) <= _int(spec.get("minReadySeconds")):
            problems.append(_invalid("spec.progressDeadlineSeconds", deadline,
                                     "must be greater than minReadySeconds"))
    if old is not None:
        problems += _immutable(selector, _dict(old.get("spec")).get("selector"), "spec.selector",
                               selector_dump)
    return problems


def validate_replica_set(obj, old=None):
    spec = _dict(obj.get("spec"))
    problems = _non_negative(spec.get("replicas"), "spec.replicas")
    problems += _non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    # ReplicaSets share the Deployment's selector message, word for word.
    found, convertible = _spec_selector(spec, "spec", "deployment")
    problems += found
    selector = spec.get("selector")
    if not convertible:
        problems.append(_invalid("spec.selector", selector_dump(selector),
                                 "invalid label selector"))
    else:
        problems += _template_for_replicas(spec.get("template"), selector, "spec.template",
                                           "ReplicaSet")
    if old is not None:
        problems += _immutable(selector, _dict(old.get("spec")).get("selector"), "spec.selector",
                               selector_dump)
    return problems


def validate_daemon_set(obj, old=None):
    spec = _dict(obj.get("spec"))
    selector = spec.get("selector")
    problems = validate_label_selector(selector, "spec.selector")
    template = _dict(spec.get("template"))
    labels = _dict(template.get("metadata")).get("labels")
    if _selector_convertible(selector) and not _selector_empty(selector) and \
            not selector_matches(selector, labels):
        problems.append(_invalid("spec.template.metadata.labels", _labels_dump(labels),
                                 "`selector` does not match template `labels`"))
    if _selector_empty(selector):
        problems.append(_invalid("spec.selector", selector_dump(selector),
                                 "empty selector is invalid for daemonset"))
    problems += pods.validate_pod_template(template, "spec.template")
    problems += _always_restarts(template, "spec.template", "DaemonSet")
    problems += _non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    strategy = _dict(spec.get("updateStrategy"))
    kind = _text(strategy.get("type"))
    if kind == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if rolling is None:
            problems.append(_required("spec.updateStrategy.rollingUpdate"))
        else:
            rolling, where = _dict(rolling), "spec.updateStrategy.rollingUpdate"
            for key in ("maxUnavailable", "maxSurge"):
                problems += _positive_int_or_percent(rolling.get(key), f"{where}.{key}")
            for key in ("maxUnavailable", "maxSurge"):
                problems += _not_over_100_percent(rolling.get(key), f"{where}.{key}")
            unavailable = _int_or_percent_value(rolling.get("maxUnavailable")) != 0
            surge = _int_or_percent_value(rolling.get("maxSurge")) != 0
            if unavailable and surge:
                problems.append(_invalid(f"{where}.maxSurge", _intstr_dump(rolling.get(
                    "maxSurge")), "may not be set when maxUnavailable is non-zero"))
            elif not unavailable and not surge:
                problems.append(_required(f"{where}.maxUnavailable",
                                          "cannot be 0 when maxSurge is 0"))
    elif kind != "OnDelete":
        problems.append(_not_supported("spec.updateStrategy", _strategy_dump(
            "apps.DaemonSetUpdateStrategy", "apps.RollingUpdateDaemonSet", strategy),
            ("RollingUpdate", "OnDelete")))
    problems += _non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    if old is not None:
        problems += _immutable(selector, _dict(old.get("spec")).get("selector"), "spec.selector",
                               selector_dump)
    return problems


_STATEFUL_SET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                         "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def validate_stateful_set(obj, old=None):
    spec = _dict(obj.get("spec"))
    problems = []
    policy = _text(spec.get("podManagementPolicy"))
    if not policy:
        problems.append(_required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        problems.append(_invalid("spec.podManagementPolicy", policy,
                                 "must be 'OrderedReady' or 'Parallel'"))
    strategy = _dict(spec.get("updateStrategy"))
    kind = _text(strategy.get("type"))
    where = "spec.updateStrategy.rollingUpdate"
    if not kind:
        problems.append(_required("spec.updateStrategy"))
    elif kind == "OnDelete":
        if strategy.get("rollingUpdate") is not None:
            rolling = _dict(strategy["rollingUpdate"])
            unavailable = "..." if rolling.get("maxUnavailable") is not None else \
                "(*intstr.IntOrString)(nil)"
            problems.append(_invalid(where, GoText(
                f"apps.RollingUpdateStatefulSetStrategy{{Partition:"
                f"{_int(rolling.get('partition'))}, MaxUnavailable:{unavailable}}}"),
                "only allowed for updateStrategy 'RollingUpdate'"))
    elif kind == "RollingUpdate":
        rolling = _dict(strategy.get("rollingUpdate"))
        problems += _non_negative(rolling.get("partition"), f"{where}.partition")
        if rolling.get("maxUnavailable") is not None:
            unavailable = rolling["maxUnavailable"]
            problems += _positive_int_or_percent(unavailable, f"{where}.maxUnavailable")
            if _int_or_percent_value(unavailable) == 0:
                problems.append(_invalid(f"{where}.maxUnavailable", _intstr_dump(unavailable),
                                         "cannot be 0"))
            problems += _not_over_100_percent(unavailable, f"{where}.maxUnavailable")
    else:
        problems.append(_invalid("spec.updateStrategy", _strategy_dump(
            "apps.StatefulSetUpdateStrategy", "apps.RollingUpdateStatefulSetStrategy", strategy),
            "must be 'RollingUpdate' or 'OnDelete'"))
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        for key in ("whenDeleted", "whenScaled"):
            value = _text(_dict(retention).get(key))
            if value not in ("Retain", "Delete"):
                problems.append(_not_supported(
                    f"spec.persistentVolumeClaimRetentionPolicy.{key}", value,
                    ("Retain", "Delete")))
    problems += _non_negative(spec.get("replicas"), "spec.replicas")
    problems += _non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    if spec.get("ordinals") is not None:
        problems += _non_negative(_dict(spec["ordinals"]).get("start"), "spec.ordinals.start")
    found, convertible = _spec_selector(spec, "spec", "statefulset")
    problems += found
    selector = spec.get("selector")
    template = _dict(spec.get("template"))
    if not convertible:
        problems.append(_invalid("spec.selector", selector_dump(selector), ""))
    else:
        labels = _dict(template.get("metadata")).get("labels")
        if not _selector_empty(selector) and not selector_matches(selector, labels):
            problems.append(_invalid("spec.template.metadata.labels", _labels_dump(labels),
                                     "`selector` does not match template `labels`"))
        problems += pods.validate_template_metadata(template, "spec.template")
    problems += _always_restarts(template, "spec.template", "StatefulSet")
    if old is not None:
        old_spec = _dict(old.get("spec"))
        fixed = {k: v for k, v in spec.items() if k not in _STATEFUL_SET_MUTABLE}
        old_fixed = {k: v for k, v in old_spec.items() if k not in _STATEFUL_SET_MUTABLE}
        if _semantic(fixed) != _semantic(old_fixed):
            problems.append(_forbidden("spec", "updates to statefulset spec for fields other "
                                               "than 'replicas', 'ordinals', 'template', "
                                               "'updateStrategy', "
                                               "'persistentVolumeClaimRetentionPolicy' and "
                                               "'minReadySeconds' are forbidden"))
    return problems


# --- batch/v1 ---------------------------------------------------------------------------------

def _job_spec(spec, field):
    """validateJobSpec: counts, completion mode, pod replacement, the template, and a
    restartPolicy of OnFailure or Never."""
    problems = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"):
        problems += _non_negative(spec.get(key), f"{field}.{key}")
    if spec.get("maxFailedIndexes") is not None and spec.get("backoffLimitPerIndex") is None:
        problems.append(_required(f"{field}.backoffLimitPerIndex",
                                  "when maxFailedIndexes is specified"))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        problems.append(_not_supported(f"{field}.completionMode", mode,
                                       ("NonIndexed", "Indexed")))
    if mode == "Indexed" and spec.get("completions") is None:
        problems.append(_required(f"{field}.completions", "when completion mode is Indexed"))
    if mode in (None, "NonIndexed"):
        for key in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(key) is not None:
                problems.append(_invalid(f"{field}.{key}", spec[key],
                                         "requires indexed completion mode"))
    replacement = spec.get("podReplacementPolicy")
    if replacement is not None:
        if replacement not in ("TerminatingOrFailed", "Failed"):
            problems.append(_not_supported(f"{field}.podReplacementPolicy", replacement,
                                           ("Failed", "TerminatingOrFailed")))
        elif spec.get("podFailurePolicy") is not None and replacement != "Failed":
            problems.append(_not_supported(f"{field}.podReplacementPolicy", replacement,
                                           ("Failed",)))
    template = _dict(spec.get("template"))
    problems += pods.validate_pod_template(template, f"{field}.template")
    restart = _text(_dict(template.get("spec")).get("restartPolicy"))
    if restart in ("Always", ""):
        problems.append(_required(f"{field}.template.spec.restartPolicy",
                                  'valid values: "OnFailure", "Never"'))
    elif restart not in ("OnFailure", "Never"):
        problems.append(_not_supported(f"{field}.template.spec.restartPolicy", restart,
                                       ("OnFailure", "Never")))
    elif spec.get("podFailurePolicy") is not None and restart != "Never":
        problems.append(_invalid(f"{field}.template.spec.restartPolicy", restart,
                                 'only "Never" is supported when podFailurePolicy is specified'))
    return problems


def validate_job(obj, old=None):
    """ValidateJob (the generated selector and labels, the spec) and, on update, the
    fields a Job fixes: selector, template, completions (not Indexed) and completionMode."""
    meta, spec = _dict(obj.get("metadata")), _dict(obj.get("spec"))
    problems = []
    template = _dict(spec.get("template"))
    template_labels = _dict(_dict(template.get("metadata")).get("labels"))
    if spec.get("manualSelector") is not True and spec.get("selector") is not None:
        uid, name = _text(meta.get("uid")), _text(meta.get("name"))
        if not uid:
            problems.append(_required("metadata.uid"))
        expected = {}
        for key, value in ((LEGACY_CONTROLLER_UID_LABEL, uid), (LEGACY_JOB_NAME_LABEL, name),
                           (CONTROLLER_UID_LABEL, uid), (JOB_NAME_LABEL, name)):
            where = f"spec.template.metadata.labels[{key}]"
            if key not in template_labels:
                problems.append(_required(where, f"must be '{value}'"))
            elif template_labels[key] != value:
                problems.append(_invalid(where, template_labels, f"must be '{value}'"))
            expected[key] = value
        if _selector_convertible(spec["selector"]) and \
                not selector_matches(spec["selector"], expected):
            problems.append(_invalid("spec.selector", selector_dump(spec["selector"]),
                                     "`selector` not auto-generated"))
    problems += _job_spec(spec, "spec")
    if spec.get("selector") is None:
        problems.append(_required("spec.selector"))
    else:
        problems += validate_label_selector(spec["selector"], "spec.selector")
    # No Empty() guard here, unlike the apps kinds: a missing selector matches nothing.
    if _selector_convertible(spec.get("selector")) and \
            not selector_matches(spec.get("selector"), template_labels):
        problems.append(_invalid("spec.template.metadata.labels", _labels_dump(_dict(
            template.get("metadata")).get("labels")), "`selector` does not match template "
                                                       "`labels`"))
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed" and _int(completions) > 0:
        hostname = f"{_text(meta.get('name'))}-{_int(completions) - 1}"
        if pods.dns_label_problems(hostname):
            problems.append(_invalid("metadata.name", _text(meta.get("name")),
                                     "will not able to create pod with invalid DNS label: "
                                     f"{hostname}"))
    if old is not None:
        old_spec = _dict(old.get("spec"))
        problems += _immutable(spec.get("selector"), old_spec.get("selector"), "spec.selector",
                               selector_dump)
        problems += _immutable(spec.get("template"), old_spec.get("template"), "spec.template",
                               _template_dump("core.PodTemplateSpec"))
        if spec.get("completionMode") != "Indexed":
            problems += _immutable(completions, old_spec.get("completions"), "spec.completions",
                                   lambda v: v)
        problems += _immutable(spec.get("completionMode"), old_spec.get("completionMode"),
                               "spec.completionMode", lambda v: v)
    return problems


def validate_cron_job(obj, old=None):
    """ValidateCronJobCreate / ValidateCronJobUpdate."""
    meta, spec = _dict(obj.get("metadata")), _dict(obj.get("spec"))
    problems = []
    schedule = _text(spec.get("schedule"))
    if not schedule:
        problems.append(_required("spec.schedule"))
    else:
        error = cron_schedule_error(schedule)
        if error:
            problems.append(_invalid("spec.schedule", schedule, error))
        old_schedule = _text(_dict(_dict(old).get("spec")).get("schedule")) if old else ""
        allow_tz = "TZ" in old_schedule
        if allow_tz and "TZ" in schedule and spec.get("timeZone") is not None:
            problems.append(_invalid("spec.schedule", schedule, "cannot use both timeZone field "
                                                                "and TZ or CRON_TZ in schedule"))
        elif not allow_tz and "TZ" in schedule:
            problems.append(_invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in "
                                                                "schedule, use timeZone field "
                                                                "instead"))
    problems += _non_negative(spec.get("startingDeadlineSeconds"), "spec.startingDeadlineSeconds")
    old_zone = _dict(_dict(old).get("spec")).get("timeZone") if old else None
    if old is None or old_zone != spec.get("timeZone"):
        problems += _time_zone(spec.get("timeZone"), "spec.timeZone")
    policy = _text(spec.get("concurrencyPolicy"))
    if not policy:
        problems.append(_required("spec.concurrencyPolicy"))
    elif policy not in ("Allow", "Forbid", "Replace"):
        problems.append(_not_supported("spec.concurrencyPolicy", policy,
                                       ("Allow", "Forbid", "Replace")))
    job_spec = _dict(_dict(spec.get("jobTemplate")).get("spec"))
    problems += _job_spec(job_spec, "spec.jobTemplate.spec")
    if job_spec.get("selector") is not None:
        problems.append(_invalid("spec.jobTemplate.spec.selector",
                                 selector_dump(job_spec["selector"]),
                                 "`selector` will be auto-generated"))
    if job_spec.get("manualSelector") is True:
        problems.append(_not_supported("spec.jobTemplate.spec.manualSelector", True,
                                       ("nil", "false")))
    for key in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        problems += _non_negative(spec.get(key), f"spec.{key}")
    if old is None and len(_text(meta.get("name"))) > 52:
        # The controller appends an 11-character suffix to name the Jobs it makes.
        problems.append(_invalid("metadata.name", _text(meta.get("name")),
                                 "must be no more than 52 characters"))
    return problems


def _time_zone(zone, field):
    if zone is None:
        return []
    zone = _text(zone)
    if not zone:
        return [_invalid(field, zone, "timeZone must be nil or non-empty string")]
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or \
                not re.fullmatch(r"[A-Za-z.\-_0-9+]{1,14}", part):
            return [_invalid(field, zone, f"unknown time zone {zone}")]
    if zone.lower() == "local":
        return [_invalid(field, zone, "timeZone must be an explicit time zone as defined in "
                                      "https://www.iana.org/time-zones")]
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [_invalid(field, zone, f"unknown time zone {zone}")]
    return []


# --- cron schedules (github.com/robfig/cron/v3, ParseStandard) --------------------------------

_CRON_FIELDS = (("minute", 0, 59, None), ("hour", 0, 23, None), ("dom", 1, 31, None),
                ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                  "oct", "nov", "dec")),
                ("dow", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")))
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_DURATION_UNITS = ("ns", "us", "µs", "μs", "ms", "s", "m", "h")


def _cron_int(text):
    """mustParseInt, with strconv.Atoi's error."""
    if not re.fullmatch(r"[-+]?[0-9]+", text):
        return None, f'failed to parse int from {text}: strconv.Atoi: parsing {_q(text)}: ' \
                     f'invalid syntax'
    number = int(text)
    if number < 0:
        return None, f"negative number ({number}) not allowed: {text}"
    return number, None


def _cron_value(text, names, low):
    if names and text.lower() in names:
        return names.index(text.lower()) + low, None
    return _cron_int(text)


def _cron_range(expr, low, high, names):
    """getRange: number | number "-" number [ "/" number ]."""
    range_and_step = expr.split("/")
    bounds = range_and_step[0].split("-")
    if bounds[0] in ("*", "?"):
        start, end = low, high
    else:
        start, error = _cron_value(bounds[0], names, low)
        if error:
            return error
        if len(bounds) == 1:
            end = start
        elif len(bounds) == 2:
            end, error = _cron_value(bounds[1], names, low)
            if error:
                return error
        else:
            return f"too many hyphens: {expr}"
    step = 1
    if len(range_and_step) == 2:
        step, error = _cron_int(range_and_step[1])
        if error:
            return error
        if len(bounds) == 1:
            end = high
    elif len(range_and_step) > 2:
        return f"too many slashes: {expr}"
    if start < low:
        return f"beginning of range ({start}) below minimum ({low}): {expr}"
    if end > high:
        return f"end of range ({end}) above maximum ({high}): {expr}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    if step == 0:
        return f"step of range should be a positive number: {expr}"
    return None


def _duration_error(text):
    """time.ParseDuration's errors, or None."""
    if text in ("0", "+0", "-0"):
        return None
    if not text:
        return f"time: invalid duration {_q(text)}"
    rest = text.lstrip("+-")
    if not rest:
        return f"time: invalid duration {_q(text)}"
    while rest:
        match = re.match(r"([0-9]*)(\.[0-9]*)?", rest)
        if not match.group(0) or match.group(0) == ".":
            return f"time: invalid duration {_q(text)}"
        rest = rest[match.end():]
        unit = re.match(r"[^0-9.]*", rest).group(0)
        if not unit:
            return f"time: missing unit in duration {_q(text)}"
        if unit not in _DURATION_UNITS:
            return f"time: unknown unit {_q(unit)} in duration {_q(text)}"
        rest = rest[len(unit):]
    return None


def cron_schedule_error(schedule):
    """cron.ParseStandard's error for a schedule, or None if it parses."""
    spec = schedule
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        zone = spec[spec.index("=") + 1:space if space >= 0 else len(spec)]
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return f"provided bad location {zone}: unknown time zone {zone}"
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            error = _duration_error(spec[len("@every "):])
            return f"failed to parse duration {spec}: {error}" if error else None
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for text, (_, low, high, names) in zip(fields, _CRON_FIELDS):
        for expr in [e for e in text.split(",") if e]:
            error = _cron_range(expr, low, high, names)
            if error:
                return error
    return None
