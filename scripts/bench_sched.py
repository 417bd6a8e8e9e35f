#!/usr/bin/env python3
"""Scheduler benchmarks: pick-next cost, and direct execution under each policy.

Two questions, each answered in one run of this script (cases alternate in
a rotating order, so drift on a noisy host hits them alike; figures are
medians with the min-max spread over the rounds):

A. Pick-next cost against the number of runnable processes (issue 12).
   `lde run --sched P --jobs L,L,...` with N equal jobs of L ticks,
   `--slice 1` (rr, lottery, stride, and every MLFQ level), guest events
   off. The kernel times every call of its policy's pick-next with RDTSC
   and prints the mean over the calls that chose anew (a `decision`) and
   over those that kept the running process, at the end of the run
   ("lde kernel: costs: pick-next ..."). With slice 1 the time-sharing
   policies decide at every tick with all N jobs runnable until the last
   round; fifo, sjf and stcf decide only when a job ends (N, N-1, ..., 1
   runnable). On PVM every kernel instruction is emulated, so a pick's
   cycles are mostly emulation: they grow with the instructions the pick
   runs, at about a microsecond each.

B. Direct-execution efficiency under `mlfq` and `stride` against `rr`:
   bench_exec.py's case B (three CPU-bound `crunch:C` under --quantum
   10ms, guest events on) with `--sched rr`, `mlfq` and `stride`, against
   `vmm/examples/crunch_native C 3` (the same loop natively, three times in
   a row), useful work per second guest/native, per round.

Usage: scripts/bench_sched.py [-n RUNS] [--no-build] [--sizes 16,64,256]
                              [--length L] [--crunch C]
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import build_release  # noqa: E402
from bench_exec import LDE, NATIVE, grab, med, parse_crunch, parse_kernel_end, parse_native, run, spread  # noqa: E402

POLICIES = ["fifo", "rr", "sjf", "stcf", "mlfq", "lottery", "stride"]
SLICED = {"rr", "lottery", "stride", "mlfq"}
PICK = re.compile(
    r"costs: pick-next (\d+) cycles \(mean of (\d+) decisions\), (\d+) cycles \(mean of (\d+) that kept"
)


def die(msg):
    sys.exit(f"bench_sched: {msg}")


def parse_pick(text, n):
    r = parse_kernel_end(text, n)
    p = grab(PICK, text, "pick-next costs line")
    r.update(decide=int(p.group(1)), decisions=int(p.group(2)), keep=int(p.group(3)), kept=int(p.group(4)))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=3, help="repetitions of every case (default 3)")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    ap.add_argument("--sizes", default="16,64,256", help="numbers of processes (default 16,64,256)")
    ap.add_argument("--length", type=int, default=4, help="ticks of each job (default 4)")
    # The last crunch alive must end within the 50 ticks alone after which
    # the kernel's hog rule ends it (MLFQ's 10-tick quantum can leave it
    # alone for a while): 40 M steps is about 13 ticks of 10 ms unloaded,
    # 30 on this loaded host.
    ap.add_argument("--crunch", type=int, default=40, help="million steps per crunch process (default 40)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.runs < 1 or args.length < 1 or args.crunch < 1 or not all(s >= 1 for s in sizes):
        die("bad arguments")
    build_release("bench_sched", ["crunch_native"], args.no_build, (LDE, NATIVE))

    def pick_case(policy, n):
        # Each simulator's job syntax: mlfq.py's start,run,iofreq (no I/O
        # here), lottery.py's length:tickets (equal tickets).
        job = {"mlfq": f"0,{args.length},0", "lottery": f"{args.length}:100", "stride": f"{args.length}:100"}
        sep = ":" if policy == "mlfq" else ","
        jobs = sep.join([job.get(policy, str(args.length))] * n)
        argv = [LDE, "run", "--sched", policy, "--quantum", "2ms", "--no-guest-events", "--timeout", "600s",
                "--jobs", jobs]
        if policy in SLICED:
            argv += ["--slice", "1"]
        return (f"{policy}/{n}", argv, lambda t: parse_pick(t, n))

    def crunch3(text):
        try:
            return parse_crunch(text, 3)
        except SystemExit:
            # Two processes' result lines can interleave on the console (a
            # write preempted mid-line); such a run is run again.
            return None

    three = ["-p", f"crunch:{args.crunch}"] * 3
    direct = [(s, [LDE, "run", "--sched", s, "--quantum", "10ms", *three], crunch3)
              for s in ("rr", "mlfq", "stride")]
    groups = [[pick_case(p, n) for p in POLICIES] for n in sizes]
    groups.append(direct + [("native3", [NATIVE, str(args.crunch), "3"], parse_native)])

    started = time.monotonic()
    res = {name: [] for group in groups for name, _, _ in group}
    for i in range(args.runs):
        k = i % len(groups)
        for group in groups[k:] + groups[:k]:
            for name, argv, parse in group if i % 2 == 0 else reversed(group):
                for _ in range(5):
                    r = parse(run(argv))
                    if r is not None:
                        break
                else:
                    die(f"{name}: garbled output five times")
                res[name].append(r)
        print(f"  round {i + 1}/{args.runs} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)

    print(f"bench_sched: {args.runs} rounds, alternating (rotating order); median [min-max]. The host is noisy: "
          f"read ratios and spreads, not last digits.")
    print(f"\nA. Pick-next, TSC cycles per call (the kernel's RDTSC around the policy's pick), "
          f"N jobs of {args.length} ticks, --slice 1, events off")
    print(f"  {'policy':8} {'N':>4} {'decision':>22} {'kept running':>20} {'decisions':>9} "
          f"{'vs N=' + str(sizes[0]):>8}")
    for policy in POLICIES:
        base = None
        for n in sizes:
            rs = res[f"{policy}/{n}"]
            dec = [r["decide"] for r in rs]
            base = base or med(dec)
            keep = [r["keep"] for r in rs] if rs[0]["kept"] else None
            print(f"  {policy:8} {n:>4} {spread(dec):>22} "
                  f"{spread(keep) if keep else '-':>20} {med([r['decisions'] for r in rs]):>9.0f} "
                  f"{med(dec) / base:>7.2f}x")

    print(f"\nB. Direct execution: 3 x crunch:{args.crunch}, --quantum 10ms, events on, guest/native useful "
          f"work per second (per round)")
    nat = res["native3"]
    ratios = {}
    for s, _, _ in direct:
        g = res[s]
        ratios[s] = [(r["steps"] / r["span"]) / (x["steps"] / x["span"]) for r, x in zip(g, nat)]
        rel = [a / b for a, b in zip(ratios[s], ratios["rr"])]
        print(f"  {s:8} guest/native {spread(ratios[s], '{:.4f}'):>26}   vs rr (per round) "
              f"{spread(rel, '{:.4f}'):>26}   switches {med([r['switches'] for r in g]):.0f}, "
              f"ticks {med([r['ticks'] for r in g]):.0f}")
    print(f"  ({time.monotonic() - started:.0f} s of measurement)")


if __name__ == "__main__":
    main()
