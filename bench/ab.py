#!/usr/bin/env python3
"""Two weft-proxy binaries side by side: did a change cost CPU?

Runs binary A and binary B with the same config, same topology and same
backend as bench/compare.py (proxy on core 0, wrk or h2load and the backend on
core 1), and alternates saturated rounds between them, so that the machine's
drift hits both alike. Prints each round's CPU per request for A and B, their
medians, and the median of the per-round ratios B/A. On these noisy 2-core
machines a ratio within a few per cent of 1.00 is "no measurable change"; use
9 rounds or more for a verdict.

Usage: bench/ab.py OLD_BINARY NEW_BINARY [--rounds 9] [--duration 3] [--h2c]
Build the old binary from a worktree (git worktree add /tmp/old <commit>).
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--h2c", action="store_true", help="h2c, 4 connections x 10 streams")
    args = parser.parse_args()
    processes = []
    try:
        backend_port, backend = compare.start_backend(tempfile.mkdtemp(prefix="weft-ab-"))
        processes.append(backend)
        targets = []
        for binary in (args.old, args.new):
            compare.WEFT = os.path.abspath(binary)
            http1, h2c = compare.start_weft(tempfile.mkdtemp(prefix="weft-ab-"), backend_port)
            processes.append(http1.proc)
            targets.append(h2c if args.h2c else http1)

        def saturate(target, duration):
            if args.h2c:
                return compare.run_h2load(target.port, duration, 4)
            return compare.run_wrk(target.port, duration, 32)

        for target in targets:
            saturate(target, 1)  # warm-up: pools, caches, page faults
        cpu = [[], []]
        for _ in range(args.rounds):
            for index, target in enumerate(targets):
                requests, seconds = compare.measure(
                    target, lambda: saturate(target, args.duration))
                cpu[index].append(seconds / requests * 1e6)
        for name, values in zip(("A", "B"), cpu):
            print(f"{name} us/req: " + " ".join(f"{v:.1f}" for v in values) +
                  f"  median {statistics.median(values):.2f}")
        ratios = [b / a for a, b in zip(*cpu)]
        print("B/A: " + " ".join(f"{r:.2f}" for r in ratios) +
              f"  median {statistics.median(ratios):.3f}")
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:  # an old binary may drain slowly
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


if __name__ == "__main__":
    main()
