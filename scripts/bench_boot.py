#!/usr/bin/env python3
"""Boot-time benchmark: `lde run -- exit=0` against a minimal VM lifecycle.

What it measures, the same way for both:
  wall time and CPU time (user + system, from wait4) of one whole process,
  from fork/exec to exit, started from this script, output discarded.

  lde      target/release/lde run -- exit=0
           (64 MiB guest, boot tables, the Rust kernel boots, prints its
           banner on the serial console, writes the exit device; the VMM logs
           every exit and prints its summary)
  minimal  target/release/examples/min_vm (vmm/examples/min_vm.rs)
           (create VM, 4 MiB RAM, in-kernel irqchip, 1 vCPU in long mode,
           run to the first exit, tear down)

The two are run alternately, each after a 50 ms pause (KVM finishes tearing a
VM down after its process exits; the pause keeps that off the next run), and
after warm-up runs, so that drift on a noisy
host hits both alike. It prints medians and quartiles and the ratio of the
medians lde/minimal; the goal is a ratio below 1.5.

Usage: scripts/bench_boot.py [-n RUNS] [--warmup W] [--no-build]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import LDE, build_release, example  # noqa: E402

MIN_VM = example("min_vm")


# lde's summary line: "== lde: guest exited with status 0 (4.78 ms wall) ==".
GUEST_WALL = re.compile(r"\(([0-9.]+) (s|ms|us|ns) wall\) ==")
UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


SETTLE = 0.05


def run_once(argv):
    """Wall seconds and CPU seconds (user + sys) of one run of argv, and the
    guest's run time as lde reports it (None for other programs).

    Each run starts after a short pause: KVM finishes tearing a VM down after
    its process has exited, and without the pause that work lands on the
    next run (measured here: the same binaries gave ratios from 1.0 to 1.9
    depending on the order of the runs; with a 50 ms pause, 1.36 twice)."""
    time.sleep(SETTLE)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench_boot: {' '.join(argv)} exited with status {proc.returncode}\n{err}")
    m = GUEST_WALL.search(err)
    guest = float(m.group(1)) * UNIT[m.group(2)] if m else None
    return wall, usage.ru_utime + usage.ru_stime, guest


def quartiles(xs):
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def ms(x):
    return f"{x * 1e3:7.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=21, help="measured runs of each (default 21)")
    ap.add_argument("--warmup", type=int, default=3, help="unmeasured runs of each first (default 3)")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    ap.add_argument("--settle-ms", type=float, default=50, help="pause before each run (default 50)")
    args = ap.parse_args()
    global SETTLE
    SETTLE = args.settle_ms / 1000

    build_release("bench_boot", ["min_vm"], args.no_build, (LDE, MIN_VM))

    cases = {
        "lde": [LDE, "run", "--", "exit=0"],
        "minimal": [MIN_VM],
    }
    for _ in range(args.warmup):
        for argv in cases.values():
            run_once(argv)
    results = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, argv in cases.items():
            results[name].append(run_once(argv))

    print(
        f"{args.runs} runs each, alternating, {args.settle_ms:g} ms pause before each, "
        f"after {args.warmup} warm-up runs; times in ms"
    )
    print(f"{'':10} {'wall p25':>8} {'median':>7} {'p75':>7}   {'CPU p25':>8} {'median':>7} {'p75':>7}")
    medians = {}
    for name, samples in results.items():
        wall = quartiles([w for w, _, _ in samples])
        cpu = quartiles([c for _, c, _ in samples])
        medians[name] = (wall[1], cpu[1])
        print(f"{name:10} {ms(wall[0]):>8} {ms(wall[1])} {ms(wall[2])}   {ms(cpu[0]):>8} {ms(cpu[1])} {ms(cpu[2])}")
    guest = quartiles([g for _, _, g in results["lde"]])
    print(f"{'lde guest':10} {ms(guest[0]):>8} {ms(guest[1])} {ms(guest[2])}   (the vCPU thread's run, from lde's summary)")
    wall_ratio = medians["lde"][0] / medians["minimal"][0]
    cpu_ratio = medians["lde"][1] / medians["minimal"][1] if medians["minimal"][1] > 0 else float("nan")
    print(f"ratio lde/minimal (medians): wall {wall_ratio:.2f}, CPU {cpu_ratio:.2f} (goal: wall < 1.5)")


if __name__ == "__main__":
    main()
