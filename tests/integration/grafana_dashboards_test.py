#!/usr/bin/env python3
"""The Grafana dashboards in deploy/grafana: valid dashboard JSON on a templated Prometheus
data source; every PromQL expression (panels and template variables) accepted by promtool
and by a real Prometheus server; every metric they name exported by a real weft-proxy or
weft-controlplane; and the golden-signal panels showing data for real traffic."""
import glob
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DASHBOARD_DIR = os.path.join(harness.SOURCE_DIR, "deploy", "grafana")
FAULT_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "fault_backend.py")
EXPECTED = {"mesh-overview.json", "service.json", "workload.json", "control-plane.json"}

# What the template variables stand for in the checks: the mesh the live test runs.
VALUES = {"namespace": "shop", "service": "reviews.shop.svc.cluster.local",
          "workload": "productpage-v1"}
# Grafana's own variables.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}

# Families a proxy or the control plane exports only once something happens (a workload
# certificate, a rejected configuration), so the live scrapes here cannot show them. Each
# must still be written by the named source file.
EVENT_ONLY = {
    "weft_proxy_certificate_state": "proxy/admin/prometheus_stats.cc",
    "weft_proxy_certificate_expiry_timestamp_seconds": "proxy/admin/prometheus_stats.cc",
    "weft_cp_xds_nacks_total": "controlplane/xds/xds_metrics.cc",
}

# The service dashboard's golden-signal panels must show the live test's traffic.
MUST_HAVE_DATA = {("service.json", title) for title in
                  ("Request rate", "Success rate", "p50 latency", "p99 latency", "Latency",
                   "Request rate by caller", "Success rate by caller")}

PROMQL_KEYWORDS = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk",
                   "quantile", "count_values", "group", "by", "without", "on", "ignoring",
                   "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf",
                   "nan"}

VARIABLE_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?::\w+)?\}|([A-Za-z_]\w*))")


def load_dashboards():
    boards = {}
    for path in sorted(glob.glob(os.path.join(DASHBOARD_DIR, "*.json"))):
        with open(path) as f:
            boards[os.path.basename(path)] = json.load(f)
    return boards


def panels(board):
    """Every panel, those inside collapsed rows included."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def substitute(text, defined):
    """`text` with every $variable replaced by its test value; AssertionError for a variable
    the dashboard does not define."""
    def value(match):
        name = match.group(1) or match.group(2)
        if name in BUILTINS:
            return BUILTINS[name]
        if name not in defined:
            raise AssertionError(f"${name} is not a template variable of the dashboard: {text}")
        return VALUES[name]
    return VARIABLE_REFERENCE.sub(value, text)


def variable_expression(query):
    """The PromQL in a variable's query: label_values(<selector>, label) is, in PromQL terms,
    group by (label) (<selector>); query_result(<expr>) is <expr>."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query, re.S)
    if match:
        return f"group by ({match.group(2)}) ({match.group(1)})", match.group(2)
    match = re.fullmatch(r"\s*query_result\((.*)\)\s*", query, re.S)
    if match:
        return match.group(1), None
    raise AssertionError(f"a variable query neither label_values() nor query_result(): {query}")


def expressions(boards):
    """[(dashboard, where, PromQL with variables substituted)] of panels and variables."""
    found = []
    for name, board in boards.items():
        variables = board["templating"]["list"]
        defined = {v["name"] for v in variables}
        for panel in panels(board):
            for target in panel.get("targets", []):
                found.append((name, panel["title"], substitute(target["expr"], defined)))
        for variable in variables:
            if variable["type"] == "query":
                expression, _ = variable_expression(variable["query"]["query"])
                found.append((name, f"${variable['name']}", substitute(expression, defined)))
    return found


def metric_names(expression):
    """The metric names a PromQL expression reads: its identifiers that are not functions,
    keywords, label names, strings or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\boffset\s+-?[0-9a-z]+", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        if text[match.end():].lstrip().startswith("(") or match.group(0).lower() in PROMQL_KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def exported_names(text):
    """Sample names in a Prometheus text exposition, with the series names of every family a
    # TYPE line declares (a family may have no sample yet)."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split()[:4]
            names.add(family)
            if kind == "histogram":
                names.update({family + "_bucket", family + "_sum", family + "_count"})
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def promtool_check(expressions_to_check, directory):
    """Runs promtool check rules on a file with one recording rule per expression."""
    path = os.path.join(directory, "dashboard-rules.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboards\n    rules:\n")
        for i, expression in enumerate(expressions_to_check):
            f.write(f"      - record: weft:dashboard_expression_{i}\n")
            f.write(f"        expr: {json.dumps(expression)}\n")
    return subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True,
                          timeout=60)


class DashboardFilesTest(harness.IntegrationTest):
    def test_the_four_dashboards_are_grafana_json_on_a_templated_prometheus(self):
        boards = load_dashboards()
        self.assertEqual(set(boards), EXPECTED)
        uids = set()
        for name, board in boards.items():
            with self.subTest(dashboard=name):
                self.assertTrue(board["title"].startswith("Weft / "), board["title"])
                self.assertNotIn(board["uid"], uids)
                uids.add(board["uid"])
                self.assertIsInstance(board["schemaVersion"], int)
                variables = board["templating"]["list"]
                self.assertEqual([(v["name"], v["type"], v["query"]) for v in variables
                                  if v["type"] == "datasource"],
                                 [("datasource", "datasource", "prometheus")])
                for variable in variables:
                    if variable["type"] == "query":
                        self.assertEqual(variable["datasource"],
                                         {"type": "prometheus", "uid": "${datasource}"})
                ids = [panel["id"] for panel in panels(board)]
                self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")
                graphs = [panel for panel in panels(board) if panel["type"] != "row"]
                self.assertGreaterEqual(len(graphs), 8)
                for panel in graphs:
                    self.assertIn(panel["type"], {"timeseries", "stat", "table", "gauge"})
                    self.assertEqual(panel["datasource"],
                                     {"type": "prometheus", "uid": "${datasource}"},
                                     panel["title"])
                    self.assertTrue(panel["targets"], f"{panel['title']} has no query")
                    position = panel["gridPos"]
                    self.assertLessEqual(position["x"] + position["w"], 24, panel["title"])
                    for target in panel["targets"]:
                        self.assertTrue(target["expr"].strip(), panel["title"])
                        self.assertEqual(target["datasource"], panel["datasource"])
                    self.assertEqual(len({t["refId"] for t in panel["targets"]}),
                                     len(panel["targets"]))

    def test_promtool_accepts_every_expression(self):
        found = expressions(load_dashboards())
        self.assertGreater(len(found), 80)
        harness.require_tool("promtool")
        result = promtool_check([expression for _, _, expression in found], self.tempdir)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f"SUCCESS: {len(found)} rules found", result.stdout)
        # The check is not vacuous: one broken expression fails it.
        result = promtool_check([found[0][2], "sum(rate(weft_requests_total[1m])"],
                                self.tempdir)
        self.assertNotEqual(result.returncode, 0, result.stdout)

    def test_metric_names_are_read_out_of_expressions(self):
        self.assertEqual(metric_names(
            'histogram_quantile(0.99, sum by (destination_service, le) (rate('
            'weft_request_duration_seconds_bucket{direction!="inbound",response_code!~"5..|0"}'
            '[1m]))) / on (x) group_left (y) weft_b and ignoring (z) weft_c offset 5m'),
            {"weft_request_duration_seconds_bucket", "weft_b", "weft_c"})
        self.assertEqual(metric_names("count by (state) (weft_d == 1) - time()"), {"weft_d"})


PROXY_CONFIG = """
node: {{id: productpage-1.shop, workload_name: productpage-v1, namespace: shop}}
status_server: {{address: {{address: 127.0.0.1, port: {status_port}}}}}
static_resources:
  listeners:
    - name: outbound
      direction: OUTBOUND
      address: {{address: 127.0.0.1, port: {outbound_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: outbound
            route_config:
              name: outbound
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes: [{{match: {{prefix: /}}, route: {{cluster: reviews}}}}]
    - name: inbound
      direction: INBOUND
      address: {{address: 127.0.0.1, port: {inbound_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: inbound
            route_config:
              name: inbound
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes: [{{match: {{prefix: /}}, route: {{cluster: reviews}}}}]
  clusters:
    - name: reviews
      destination_service: reviews.shop.svc.cluster.local
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend}}}}}
                metadata: {{workload: reviews-v1, namespace: shop}}
"""

MESH_CONFIG = """
apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: {name: default, namespace: weft-system}
spec: {trustDomain: example.org}
"""

PROMETHEUS_CONFIG = """
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: weft-proxy
    static_configs: [{{targets: ["127.0.0.1:{proxy}"]}}]
  - job_name: weft-controlplane
    static_configs: [{{targets: ["127.0.0.1:{control_plane}"]}}]
"""


class LiveDashboardTest(harness.IntegrationTest):
    """A proxy with traffic, a control plane with its CA, and Prometheus scraping both."""

    def scrape(self, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            return answer.read().decode()

    def query(self, expression):
        url = (f"http://127.0.0.1:{self.prometheus_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expression}))
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            return json.load(error)

    def test_dashboards_read_real_metrics_and_show_real_traffic(self):
        harness.require_tool("prometheus")
        backend_process = self.start([sys.executable, FAULT_BACKEND, "--name", "reviews",
                                      "--fail-fraction", "0.2"], "reviews")
        backend = int(backend_process.wait_for(r"listening on (\d+)").group(1))
        status_port, outbound_port, inbound_port = (harness.free_port() for _ in range(3))
        self.start_proxy(PROXY_CONFIG.format(status_port=status_port, outbound_port=outbound_port,
                                             inbound_port=inbound_port, backend=backend))
        mesh = os.path.join(self.tempdir, "mesh")
        os.mkdir(mesh)
        self.write("mesh/meshconfig.yaml", MESH_CONFIG)
        tokens = self.write("tokens.csv", "# token,user,uid[,groups]\nt,admin,uid-1\n")
        control_plane = self.start([os.path.join(harness.BIN_DIR, "weft-controlplane"),
                                    "--config-dir", mesh,
                                    "--xds-address", f"127.0.0.1:{harness.free_port()}",
                                    "--metrics-address", "127.0.0.1:0",
                                    "--ca-dir", os.path.join(self.tempdir, "ca"),
                                    "--bootstrap-token-file", tokens], "weft-controlplane")
        control_plane.wait_for(r"weft-controlplane \S+ ready")
        control_plane_port = int(control_plane.wait_for(
            r"metrics listening on 127\.0\.0\.1:(\d+)").group(1))
        self.prometheus_port = harness.free_port()
        config = self.write("prometheus.yml", PROMETHEUS_CONFIG.format(
            proxy=status_port, control_plane=control_plane_port))
        self.start(["prometheus", f"--config.file={config}",
                    f"--storage.tsdb.path={os.path.join(self.tempdir, 'tsdb')}",
                    f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
                    "--log.level=warn"], "prometheus")

        # Traffic in two rounds, Prometheus scraping the first before the second is sent, so
        # that rate() sees the counters move (a series' first sample is not an increase).
        for per_listener, total in ((10, 20), (20, 60)):
            for port in (outbound_port, inbound_port):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                try:
                    for i in range(per_listener):
                        connection.request("GET", f"/reviews/{i}")
                        connection.getresponse().read()
                finally:
                    connection.close()
            deadline = time.monotonic() + 60
            while True:
                try:
                    result = self.query("sum(weft_requests_total)")["data"]["result"]
                except (OSError, ValueError):
                    result = None  # not listening yet, or still starting (a non-JSON 503)
                if result and float(result[0]["value"][1]) == total:
                    break
                self.assertLess(time.monotonic(), deadline, f"Prometheus has {result}")
                time.sleep(0.25)

        # Every metric the dashboards name is one a real proxy or control plane exports.
        found = expressions(load_dashboards())
        referenced = set().union(*(metric_names(expression) for _, _, expression in found))
        self.assertGreaterEqual(len(referenced), 40, referenced)
        self.assertTrue({"weft_requests_total", "weft_request_duration_seconds_bucket",
                         "weft_cp_xds_connected_proxies", "weft_cp_xds_pushes_total"}
                        <= referenced)
        exported = (exported_names(self.scrape(status_port))
                    | exported_names(self.scrape(control_plane_port)))
        for name in sorted(referenced):
            with self.subTest(metric=name):
                self.assertTrue(name.startswith("weft_"), f"{name} is not a Weft metric")
                if name in EVENT_ONLY:
                    with open(os.path.join(harness.SOURCE_DIR, EVENT_ONLY[name])) as f:
                        self.assertIn(f'"{name}"', f.read())
                else:
                    self.assertIn(name, exported, "neither weft-proxy nor weft-controlplane "
                                                  "exports it")

        # A real Prometheus evaluates every expression, and the golden signals show data.
        empty = []
        for dashboard, where, expression in found:
            with self.subTest(dashboard=dashboard, panel=where):
                answer = self.query(expression)
                self.assertEqual(answer["status"], "success", (expression, answer))
                if not answer["data"]["result"]:
                    empty.append((dashboard, where))
                if (dashboard, where) in MUST_HAVE_DATA:
                    self.assertTrue(answer["data"]["result"], expression)
                    for sample in answer["data"]["result"]:
                        self.assertNotIn(sample["value"][1], ("NaN", "+Inf", "-Inf"), expression)
        seen = {(dashboard, where) for dashboard, where, _ in found}
        self.assertEqual(MUST_HAVE_DATA - seen, set(), "panels this test expects are gone")
        # The template variables list the mesh's names.
        for dashboard, where, expression in found:
            if where.startswith("$"):
                values = {value for sample in self.query(expression)["data"]["result"]
                          for value in sample["metric"].values()}
                self.assertIn(VALUES[where[1:]], values, (dashboard, where, expression))
        print(f"{len(found)} expressions, {len(empty)} without data in this mesh: {empty}",
              file=sys.stderr)


if __name__ == "__main__":
    harness.main()
