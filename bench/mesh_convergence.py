#!/usr/bin/python3
"""How fast a manifest edit reaches real traffic, in the namespace mesh that `weftctl demo`
builds (scripts/demo): the time from replacing route-catalog.yaml (all traffic to catalog v1
-> all to v2) to the first request from the frontend pod that catalog v2 answers, and to the
point after which no request reaches v1 any more.

A poller inside the frontend pod sends requests back to back through its sidecar (each about
a millisecond) and timestamps every answer, so the figures include the control plane noticing
the file, translating, pushing over xDS and the sidecar applying it. Needs root.

    bench/mesh_convergence.py [--rounds 10] [--bin-dir build/bin]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                                "demo"))
import mesh_demo  # noqa: E402

POLLER = """
import http.client, json, sys, time
connection = http.client.HTTPConnection("catalog", 9080, timeout=5)
while True:
    try:
        connection.request("GET", "/items/1")
        response = connection.getresponse()
        body = response.read()
        pod = json.loads(body).get("pod", "") if response.status == 200 else str(response.status)
    except (OSError, http.client.HTTPException, ValueError) as error:
        pod = type(error).__name__
        connection = http.client.HTTPConnection("catalog", 9080, timeout=5)
    print(f"{time.time():.6f} {pod}", flush=True)
"""


def answers_after(path, since):
    """(time, pod) of every answer logged at or after `since`."""
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and float(parts[0]) >= since:
                out.append((float(parts[0]), parts[1]))
    return out


def wait_for(path, since, predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = answers_after(path, since)
        result = predicate(answers)
        if result is not None:
            return result
        time.sleep(0.05)
    raise RuntimeError(f"no convergence within {timeout} s")


def settled_on(version):
    """The time from which 50 answers in a row came from `version`, or None."""
    def check(answers):
        run = 0
        for index, (_, pod) in enumerate(answers):
            run = run + 1 if pod.startswith(f"catalog-{version}") else 0
            if run == 50:
                return answers[index - 49][0]
        return None
    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--bin-dir", default="build/bin")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("network namespaces need root")
    workdir = mesh_demo.netns_mesh.make_workdir("weft-bench")
    shop = mesh_demo.Shop(args.bin_dir, workdir, prefix="weft-bench")
    first, settled = [], []
    try:
        shop.start(weights=(100, 0), load_rate=0)
        log = os.path.join(workdir, "poller.log")
        with open(log, "w") as out:
            poller = subprocess.Popen(
                ["ip", "netns", "exec", shop.pods["frontend"].netns, "/usr/bin/python3", "-c",
                 POLLER], stdout=out)
        try:
            wait_for(log, 0, settled_on("v1"))
            for round_ in range(args.rounds):
                for v1, v2, target in ((0, 100, "v2"), (100, 0, "v1")):
                    edited = time.time()
                    shop.mesh.write_manifest("route-catalog.yaml", mesh_demo.catalog_route(v1, v2))
                    seen = wait_for(log, edited, lambda answers: next(
                        (t for t, pod in answers if pod.startswith(f"catalog-{target}")), None))
                    # The last answer from the other version, once 50 in a row came from this one.
                    done = wait_for(log, edited, settled_on(target))
                    before = [t for t, pod in answers_after(log, edited)
                              if t < done and not pod.startswith(f"catalog-{target}")]
                    last_old = max(before) if before else seen
                    first.append(seen - edited)
                    settled.append(max(last_old, seen) - edited)
                    time.sleep(0.3)
                print(f"round {round_ + 1}: first {first[-2] * 1000:.0f} / {first[-1] * 1000:.0f} ms, "
                      f"all {settled[-2] * 1000:.0f} / {settled[-1] * 1000:.0f} ms", flush=True)
        finally:
            poller.kill()
            poller.wait()
    finally:
        shop.stop()
        subprocess.run(["rm", "-rf", workdir])
    quantile = lambda values, q: sorted(values)[min(len(values) - 1, int(q * len(values)))]
    print(json.dumps({
        "edits": len(first),
        "first_answer_ms": {"median": round(statistics.median(first) * 1000, 1),
                            "p90": round(quantile(first, 0.9) * 1000, 1),
                            "max": round(max(first) * 1000, 1)},
        "all_answers_ms": {"median": round(statistics.median(settled) * 1000, 1),
                           "p90": round(quantile(settled, 0.9) * 1000, 1),
                           "max": round(max(settled) * 1000, 1)},
    }, indent=1))


if __name__ == "__main__":
    main()
