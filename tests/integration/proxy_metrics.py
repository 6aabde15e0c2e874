"""Reads a weft-proxy's GET /stats/prometheus with the Prometheus project's own parser
(python3-prometheus-client, scripts/install-deps.sh), so every scrape in a test also checks
the exposition format: content type, # HELP and # TYPE on every family, well-formed samples."""
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The security counters (docs/security.md, "Counters").
SECURITY_COUNTERS = (
    "weft_proxy_tls_handshake_failures_total",
    "weft_proxy_tls_plaintext_refused_total",
    "weft_proxy_tls_unavailable_total",
    "weft_proxy_upstream_tls_failures_total",
    "weft_proxy_authz_denied_total",
    "weft_proxy_authz_audit_matches_total",
    "weft_proxy_authz_dry_run_differences_total",
)


class Scrape:
    """One scrape: samples by name and labels, families by name."""

    def __init__(self, text):
        self.text = text
        self.families = {}
        self.samples = {}
        for family in text_string_to_metric_families(text):
            # The parser names a counter family without "_total"; its samples keep it.
            if family.name in self.families:
                raise AssertionError(f"family {family.name} appears twice:\n{text}")
            if not family.documentation:
                raise AssertionError(f"family {family.name} has no # HELP:\n{text}")
            if family.type == "unknown":
                raise AssertionError(f"family {family.name} has no # TYPE:\n{text}")
            self.families[family.name] = family
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                if key in self.samples:
                    raise AssertionError(f"series {key} appears twice:\n{text}")
                self.samples[key] = sample.value

    def value(self, name, **labels):
        """The sample's value; KeyError when the proxy does not expose it."""
        return self.samples[(name, frozenset(labels.items()))]

    def has(self, name, **labels):
        return (name, frozenset(labels.items())) in self.samples

    def counters(self):
        """{name: value} of the security counters."""
        return {name: self.value(name) for name in SECURITY_COUNTERS}

    def certificate_state(self):
        """The state whose weft_proxy_certificate_state sample is 1 (exactly one is)."""
        current = [dict(labels)["state"] for (name, labels), value in self.samples.items()
                   if name == "weft_proxy_certificate_state" and value == 1]
        if len(current) != 1:
            raise AssertionError(f"not exactly one certificate state is 1:\n{self.text}")
        return current[0]


def scrape(admin_port, path="/stats/prometheus"):
    """GET `path` (/stats/prometheus on the admin port, /metrics on the status port) on
    127.0.0.1:admin_port, parsed."""
    url = f"http://127.0.0.1:{admin_port}{path}"
    with urllib.request.urlopen(url, timeout=5) as answer:
        if answer.status != 200:
            raise AssertionError(f"{url}: {answer.status}")
        content_type = answer.headers.get("Content-Type")
        if content_type != CONTENT_TYPE:
            raise AssertionError(f"{url}: Content-Type {content_type!r}, not {CONTENT_TYPE!r}")
        return Scrape(answer.read().decode("utf-8"))


def counter_deltas(before, after):
    """{name: after - before} of the security counters that changed between two scrapes."""
    old, new = before.counters(), after.counters()
    return {name: new[name] - old[name] for name in SECURITY_COUNTERS if new[name] != old[name]}
