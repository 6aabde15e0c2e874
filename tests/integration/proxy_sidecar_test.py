#!/usr/bin/python3
"""What the injected sidecar needs from weft-proxy, run as the injector runs it: the bootstrap
from an environment variable (--config-env), its errors and where /server_info and /config_dump
say it came from."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

PROXY = os.path.join(harness.BIN_DIR, "weft-proxy")

# The bootstrap as the kubelet hands it over once it has expanded $(POD_NAME), $(POD_IPS), ...:
# a flow sequence of addresses without quotes or spaces.
EXPANDED = """
node:
  id: "web-7d9f8-abcde.shop"
  workload_name: "web-7d9f8-abcde"
  namespace: "shop"
  service_account: "web"
  ip_addresses: [10.244.0.5,fd00:10:244::5]
admin: {{address: {{address: 127.0.0.1, port: {admin}}}}}
concurrency: 1
drain_timeout: 5s
"""


class SidecarTest(harness.IntegrationTest):
    def run_proxy(self, args, env_value=None, timeout=30):
        """Runs weft-proxy to its end with WEFT_BOOTSTRAP set to env_value (None: unset)."""
        env = {k: v for k, v in os.environ.items() if k != "WEFT_BOOTSTRAP"}
        if env_value is not None:
            env["WEFT_BOOTSTRAP"] = env_value
        return subprocess.run([PROXY, *args], env=env, capture_output=True, text=True,
                              timeout=timeout)

    def start_env_proxy(self, text, *extra):
        """Starts weft-proxy --config-env WEFT_BOOTSTRAP with `text` in the variable."""
        env = dict(os.environ, WEFT_BOOTSTRAP=text)
        process = harness.Process([PROXY, "--config-env", "WEFT_BOOTSTRAP", *extra], "weft-proxy",
                                  env=env)
        self.processes.append(process)
        process.wait_for(r"weft-proxy ready")
        return process

    def admin_json(self, admin_port, path):
        status, _, body = self.curl(f"http://127.0.0.1:{admin_port}{path}")
        self.assertEqual(status, 200, body)
        return json.loads(body)


class ConfigEnvTest(SidecarTest):
    def test_the_bootstrap_comes_from_the_variable(self):
        admin = harness.free_port()
        proxy = self.start_env_proxy(EXPANDED.format(admin=admin), "--log-format", "json")
        dump = self.admin_json(admin, "/config_dump")
        self.assertEqual(dump["config_source"], "$WEFT_BOOTSTRAP")
        self.assertEqual(dump["bootstrap"]["node"]["id"], "web-7d9f8-abcde.shop")
        # The expanded flow sequence is two addresses, each whole.
        self.assertEqual(dump["bootstrap"]["node"]["ip_addresses"],
                         ["10.244.0.5", "fd00:10:244::5"])
        self.assertEqual(self.admin_json(admin, "/server_info")["config_source"],
                         "$WEFT_BOOTSTRAP")
        # No file, so no watcher: nothing says it could not watch one.
        self.assertNotIn("not watching", proxy.output())
        self.assertIn("bootstrap from the environment variable WEFT_BOOTSTRAP", proxy.output())
        # The JSON log lines the sidecar writes parse as JSON.
        lines = [line for line in proxy.output().splitlines() if line.startswith("{")]
        self.assertTrue(lines)
        for line in lines:
            json.loads(line)

    def test_validate_names_the_variable(self):
        result = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP", "--validate"],
                                EXPANDED.format(admin=harness.free_port()))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("$WEFT_BOOTSTRAP: OK", result.stdout)

    def test_errors_name_the_variable_and_the_line(self):
        text = EXPANDED.format(admin=harness.free_port()) + "stats: {disable_request_metric: true}\n"
        result = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP"], text)
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"\$WEFT_BOOTSTRAP:11:9: stats: unknown field "
                                        r"'disable_request_metric'")

    def test_an_unset_or_empty_variable_is_an_error(self):
        unset = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP"])
        self.assertEqual(unset.returncode, 1)
        self.assertIn("the environment variable WEFT_BOOTSTRAP (--config-env) is not set",
                      unset.stderr)
        for value in ("", "  \n"):
            empty = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP"], value)
            self.assertEqual(empty.returncode, 1)
            self.assertIn("the environment variable WEFT_BOOTSTRAP (--config-env) is empty",
                          empty.stderr)

    def test_exactly_one_source_is_given(self):
        both = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP", "--config", "/dev/null"],
                              EXPANDED.format(admin=harness.free_port()))
        self.assertEqual(both.returncode, 2)
        self.assertIn("give --config or --config-env, not both", both.stderr)
        neither = self.run_proxy([])
        self.assertEqual(neither.returncode, 2)
        self.assertIn("--config (a bootstrap YAML file) or --config-env", neither.stderr)


if __name__ == "__main__":
    harness.main()
