#!/usr/bin/env python3
"""Execution benchmarks: trap path, direct-execution efficiency, tracing cost.

Three questions, each answered against a baseline measured in the same run
(all cases alternate, in a rotating order, so drift on a noisy host hits
them alike; figures are medians with the min-max spread over the runs):

A. Trap path (issue 3). `lde run -p trapbench:N` (events on, as by default):
   the program's own cycles/call for `getpid` (a system call, int 0x80) and
   for `int3` (a bare trap the kernel returns from at once), measured with
   RDTSC in user mode (median of 10 batches per run). Their difference is
   the kernel's own share of the system call. Which path the calls took
   comes from the kernel's "system calls arrive ..." line and from the
   `path` of the syscall events of one extra traced run.

B. Direct-execution efficiency (issue 4). Three CPU-bound `crunch:C`
   processes (C million steps of lde-abi `work::busy` each, no system call
   until the end) under `--sched rr --quantum 10ms`, guest events on and
   `--no-guest-events`, against `vmm/examples/crunch_native C 3`, the same
   loop (same machine code) run three times in a row on the host. Useful
   work per second = 3C / (last end_tsc - first start_tsc) in the guest,
   3C / TSC cycles of the three runs natively; the ratio guest/native is
   taken per repetition (adjacent runs) and its median reported. One
   `crunch` alone (timer ticks but no switches) gives the tick's share and
   the kernel's timer-tick cost line; the three give the context-switch one.

C. Tracing cost (issue 5).
   1. `trapbench:N` with guest events on vs `--no-guest-events`: slowdown of
      getpid and int3 per call. PVM emulates every kernel-mode instruction,
      so the extra instructions per event are counted too (KVM's
      insn_emulation counter, on minus off, over the events recorded).
   2. `lde run -- exitbench=E` (E `out`s to the null port, timed by the
      kernel) with `--trace FILE` vs without: the guest-measured cycles per
      exit in both (the difference is what recording an exit costs the VMM,
      as the guest sees it) and the VMM's own mean handling time per io_out
      exit from its summary, and `vmm/examples/trace_write_cost` times the
      VMM's trace writer alone (one io_out exit record, on the host).

D. Wall-clock lifecycle of a trivial program (issue 11): `lde run -p hello`
   against `vmm/examples/min_vm` (create a VM, run to its first exit, tear
   down), each started as a process after a 50 ms pause (KVM finishes tearing
   a VM down after its process exits), alternating; goal lde/min <= 1.5.

0. Kernel instruction budget (issue 11), printed first. On PVM hosts every
   guest kernel-mode instruction is emulated and KVM's `insn_emulation`
   counter grows by exactly one per instruction, so the kernel's cost of a
   mechanism is a count, not a noisy time. Each row is a difference of that
   counter between two runs that differ only by the mechanism, over how many
   times it happened (every count is the median of --budget-reps runs):
     getpid / int3 round trip  `trapbench getpid|int3 2N` vs `... N`, under
                               `--sched coop` (no timer ticks among them)
     one guest event record    the getpid row, events on minus events off
                               (one syscall event per call)
     tick, no switch           `hog:2T` vs `hog:T` (one process, its CPU
                               budget ends it at its T-th tick), per tick
     tick that switches        two `hog:2T` vs two `hog:T` under rr: every
                               tick switches, per tick
     boot, no program          `lde run -- exit=0`, the whole count
     trivial run               `lde run -p hello`, the whole count, and its
                               VM exits (the VMM's own count)
   each with guest events on and --no-guest-events, beside the issue's
   budget. Where the header of a traced run says the KVM is not PVM
   (VMX/SVM), the counter does not count kernel instructions: the table says
   so and gives cycles instead (trapbench, the kernel's costs line).

Everything was designed for, and its interpretation lines speak of, hosts
whose KVM is PVM (kvm_pvm, nested): there every guest kernel-mode
instruction is emulated, user mode runs natively. The header says which KVM
ran the benchmark.

Usage: scripts/bench_exec.py [-n RUNS] [--no-build] [--trap-n N]
                             [--crunch C] [--exits E] [--budget-only]
                             [--budget-reps R]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import LDE, build_release, example  # noqa: E402

NATIVE = example("crunch_native")
WRITE_COST = example("trace_write_cost")
MIN_VM = example("min_vm")

# Single-process runs stay short (250 M steps is about 0.3 s, 30 ticks of
# 10 ms); a process run alone is never ended by the kernel's hog rule.
SINGLE_MAX_MILLIONS = 250

TRAPBENCH = re.compile(
    r"trapbench: getpid (\d+) cycles/call, int3 (\d+) cycles/call, syscall work (-?\d+) cycles "
    r"\(N=(\d+), tsc_khz=(\d+)\)"
)
ARRIVE = re.compile(r"lde kernel: system calls arrive (.*)")
COSTS = re.compile(
    r"costs: timer tick (\d+) cycles \(mean of (\d+)\), context switch (\d+) cycles \(mean of (\d+)\)"
)
ENDED = re.compile(r"all (\d+) processes have ended \((\d+) killed\); (\d+) context switches, (\d+) ticks")
CRUNCH = re.compile(r"crunch: steps=(\d+) start_tsc=(\d+) end_tsc=(\d+) cycles=(\d+)")
NATIVE_RUN = re.compile(r"crunch_native: run \d+ steps=(\d+) cycles=(\d+) ns=(\d+)")
NATIVE_TOTAL = re.compile(r"crunch_native: total steps=(\d+) cycles=(\d+) ns=(\d+)")
WRITE = re.compile(r"trace_write_cost: records=(\d+) ns_per_record=([0-9.]+)")
EXITBENCH = re.compile(r"exitbench: (\d+) exits, (\d+) cycles/exit \((\d+) ns/exit at (\d+) kHz\)")
INSN = re.compile(r"insn_emulation (\d+)")
VMM_EXITS = re.compile(r"exits reaching the VMM: (\d+)")
KVM_EXITS = re.compile(r"KVM counters \(in-kernel exits included\): exits (\d+)")
GUEST_WALL = re.compile(r"\(([0-9.]+) (s|ms|us|ns) wall\) ==")
EVENTS = re.compile(r"guest events: (\d+) recorded, (\d+) dropped")
REASON = re.compile(r"^\s+(io_out|io_in)\s+(\d+)\s+([0-9.]+) (s|ms|us|ns)\s+([0-9.]+) (s|ms|us|ns)$", re.M)
UNIT = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}


def die(msg):
    sys.exit(f"bench_exec: {msg}")


LAST_WALL = [0.0]  # wall seconds of the last run()


def run(argv, settle=0.0):
    """stdout + stderr of one run of argv (status 0 required); its wall time
    (fork to exit) is left in LAST_WALL[0]. `settle`: pause first, so that
    KVM's deferred teardown of the previous VM is not billed to this run."""
    if settle:
        time.sleep(settle)
    started = time.perf_counter()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace")
    LAST_WALL[0] = time.perf_counter() - started
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        die(f"{' '.join(argv)} exited with status {proc.returncode}\n{out}")
    return out


def grab(regex, text, what):
    m = regex.search(text)
    if not m:
        die(f"no {what} in the output:\n{text}")
    return m


def summary(text):
    """The VMM's figures: emulated instructions, guest events, io exits."""
    s = {"insn": int(grab(INSN, text, "KVM insn_emulation counter").group(1))}
    m = EVENTS.search(text)
    s["events"] = int(m.group(1)) if m else 0
    for m in REASON.finditer(text):
        count = int(m.group(2))
        total_ns = float(m.group(3)) * UNIT[m.group(4)]
        s[m.group(1)] = (count, total_ns / count)
    return s


def parse_trap(text):
    m = grab(TRAPBENCH, text, "trapbench result")
    r = {"getpid": int(m.group(1)), "int3": int(m.group(2)), "work": int(m.group(3)), "tsc_khz": int(m.group(5))}
    a = ARRIVE.search(text)
    r["arrive"] = a.group(1).strip() if a else "(no system-call path line)"
    r.update(summary(text))
    return r


def parse_kernel_end(text, expect):
    m = grab(ENDED, text, "end-of-run line")
    if int(m.group(1)) != expect or int(m.group(2)) != 0:
        die(f"expected {expect} processes ending normally:\n{m.group(0)}\n(the kernel's hog rule ends a lone "
            f"process after 50 ticks without a system call: try a smaller --crunch)")
    c = grab(COSTS, text, "kernel costs line")
    return {
        "switches": int(m.group(3)),
        "ticks": int(m.group(4)),
        "tick_cycles": int(c.group(1)),
        "ticks_measured": int(c.group(2)),
        "switch_cycles": int(c.group(3)),
        "switches_measured": int(c.group(4)),
    }


def parse_crunch(text, expect):
    runs = [tuple(int(g) for g in m.groups()) for m in CRUNCH.finditer(text)]
    if len(runs) != expect:
        die(f"expected {expect} crunch lines, got {len(runs)}:\n{text}")
    r = parse_kernel_end(text, expect)
    r["steps"] = sum(s for s, _, _, _ in runs)
    r["span"] = max(e for _, _, e, _ in runs) - min(s for _, s, _, _ in runs)
    r["proc_cycles"] = [c for _, _, _, c in runs]
    r.update(summary(text))
    return r


def parse_native(text):
    m = grab(NATIVE_TOTAL, text, "crunch_native total")
    runs = [(int(s), int(c)) for s, c, _ in NATIVE_RUN.findall(text)]
    return {"steps": int(m.group(1)), "span": int(m.group(2)), "ns": int(m.group(3)), "runs": runs}


def parse_exit(text):
    m = grab(EXITBENCH, text, "exitbench result")
    r = {"exits": int(m.group(1)), "cycles": int(m.group(2)), "ns": int(m.group(3)), "tsc_khz": int(m.group(4))}
    r.update(summary(text))
    return r


def med(xs):
    return statistics.median(xs)


def spread(xs, fmt="{:.0f}"):
    """'median [min-max]' of xs."""
    return f"{fmt.format(med(xs))} [{fmt.format(min(xs))}-{fmt.format(max(xs))}]"


# The issue's budget per row (kernel instructions; exits for the last row),
# and which measurement it is held to: "off" = --no-guest-events (the trap
# rows, as the issue states them), "on" = guest events on (lde's default).
BUDGET = [
    # key, label, budget, column
    ("getpid", "getpid round trip", 80, "off"),
    ("int3", "int3 round trip (bare trap)", 50, "off"),
    ("pair", "getpid + int3 pair", 130, "off"),
    ("event", "one guest event record", 12, "on"),
    ("tick", "timer tick, no switch", 60, "on"),
    ("switch", "timer tick that switches", 150, "on"),
    ("boot", "boot, no program (-- exit=0)", 1000, "on"),
    ("hello", "-p hello, whole run", 3000, "on"),
    ("exits", "VM exits of -p hello", 100, "on"),
]


def budget_counts(reps, trap_n, ticks):
    """{key: {"on": x, "off": y}} of the budget rows, from insn_emulation
    differences (medians of `reps` runs of each configuration); plus the
    KVM type from a traced run's header and the cycle figures used where the
    counter does not count kernel instructions."""
    def counts(argv):
        outs = [run(argv) for _ in range(reps)]
        insn = med([summary(t)["insn"] for t in outs])
        return insn, outs

    def ticks_of(text):
        return int(grab(ENDED, text, "end-of-run line").group(4))

    rows = {key: {} for key, _, _, _ in BUDGET}
    cycles = {}
    for col, flags in (("on", []), ("off", ["--no-guest-events"])):
        base = [LDE, "run", *flags]
        for key in ("getpid", "int3"):
            # Under coop there is no timer, so no tick lands among the calls.
            hi, _ = counts([*base, "--sched", "coop", "-p", f"trapbench:{key},{2 * trap_n}"])
            lo, _ = counts([*base, "--sched", "coop", "-p", f"trapbench:{key},{trap_n}"])
            rows[key][col] = (hi - lo) / trap_n
        rows["pair"][col] = rows["getpid"][col] + rows["int3"][col]
        for key, count in (("tick", 1), ("switch", 2)):
            hi, hi_out = counts([*base, "--sched", "rr", "--quantum", "10ms", *["-p", f"hog:{2 * ticks}"] * count])
            lo, lo_out = counts([*base, "--sched", "rr", "--quantum", "10ms", *["-p", f"hog:{ticks}"] * count])
            dt = med([ticks_of(t) for t in hi_out]) - med([ticks_of(t) for t in lo_out])
            rows[key][col] = (hi - lo) / dt if dt else float("nan")
            c = grab(COSTS, hi_out[0], "kernel costs line")
            cycles[(key, col)] = int(c.group(1)) if key == "tick" else int(c.group(3))
        rows["boot"][col], _ = counts([*base, "--", "exit=0"])
        rows["hello"][col], outs = counts([*base, "-p", "hello"])
        rows["exits"][col] = med([int(grab(VMM_EXITS, t, "exit count").group(1)) for t in outs])
        cycles[("kvm_exits", col)] = med([int(grab(KVM_EXITS, t, "KVM exits").group(1)) for t in outs])
        for key in ("boot", "hello"):
            argv = [*base, "--", "exit=0"] if key == "boot" else [*base, "-p", "hello"]
            m = grab(GUEST_WALL, run(argv), "guest wall time")
            cycles[(key, col)] = float(m.group(1)) * {"s": 1e3, "ms": 1.0, "us": 1e-3, "ns": 1e-6}[m.group(2)]
    rows["event"]["on"] = rows["getpid"]["on"] - rows["getpid"]["off"]
    rows["event"]["off"] = rows["int3"]["on"] - rows["int3"]["off"]  # the int3 estimate, shown beside
    return rows, cycles


def print_budget(rows, cycles, kvm, trap, trap_n, ticks, reps):
    pvm = kvm == "pvm"
    print(f"\n0. Kernel instruction budget (issue 11): KVM insn_emulation deltas, median of {reps} runs each "
          f"(trapbench getpid|int3 {2 * trap_n} vs {trap_n}; hog {2 * ticks} vs {ticks} ticks)")
    if not pvm:
        print(f"  This host's KVM is {kvm}, not PVM: insn_emulation counts only the instructions KVM had to "
              f"emulate, not every kernel instruction, so the counts below are NOT kernel instruction counts. "
              f"The last column gives cycles instead (trapbench in user mode; the kernel's costs line; guest "
              f"run time from the summary).")
    print(f"  {'mechanism':32} {'events on':>10} {'events off':>11} {'budget':>8}  {'within':>7}  "
          f"{'cycles (any host)' if not pvm else ''}")
    worst = []
    for key, label, budget, col in BUDGET:
        on, off = rows[key].get("on"), rows[key].get("off")
        held = rows[key][col]
        ok = held <= budget
        if not ok:
            worst.append(label)
        fmt = (lambda x: f"{x:.0f}") if key in ("boot", "hello", "exits") else (lambda x: f"{x:.1f}")
        if key == "event":
            on_s, off_s = fmt(on), "-"
        else:
            on_s, off_s = fmt(on), fmt(off)
        extra = ""
        if not pvm:
            extra = {
                "getpid": f"{trap['getpid']} cycles/call (events on)",
                "int3": f"{trap['int3']} cycles/call (events on)",
                "pair": f"{trap['getpid'] + trap['int3']} cycles",
                "tick": f"{cycles[('tick', 'on')]} cycles (kernel's costs line)",
                "switch": f"{cycles[('switch', 'on')]} cycles per switch (kernel's costs line)",
                "boot": f"{cycles[('boot', 'on')]:.2f} ms guest run",
                "hello": f"{cycles[('hello', 'on')]:.2f} ms guest run",
                "exits": f"(KVM's own exit count: {cycles[('kvm_exits', 'on')]:.0f})",
            }.get(key, "")
        mark = ("yes" if ok else "NO") + (" " if col == "on" else "*")
        print(f"  {label:32} {on_s:>10} {off_s:>11} {budget:>8}  {mark:>7}  {extra}")
    print("  within: held to the events-on column, or * to the events-off one (the trap rows, as the issue "
          "states them). The event row is getpid with events on minus off (one syscall event per call); the "
          f"same from int3 (one trap event per call) is {rows['event']['off']:.1f}.")
    if pvm:
        print(f"  VM exits of -p hello as KVM counts them (in-kernel ones included): "
              f"{cycles[('kvm_exits', 'on')]:.0f} on, {cycles[('kvm_exits', 'off')]:.0f} off")
    print(f"  rows over budget: {', '.join(worst) if worst else 'none'}")


def trace_paths(trace_file):
    paths, kvm = {}, "unknown"
    with open(trace_file) as f:
        for line in f:
            if '"syscall"' in line:
                rec = json.loads(line)
                if rec.get("kind") == "syscall":
                    paths[rec["path"]] = paths.get(rec["path"], 0) + 1
            elif line.startswith('{"type":"header"'):
                kvm = json.loads(line).get("kvm")
    return paths, kvm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=7, help="repetitions of every case (default 7)")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    ap.add_argument("--trap-n", type=int, default=1000, help="trapbench round trips of each kind (default 1000)")
    ap.add_argument("--crunch", type=int, default=250, help="million steps per crunch process (default 250)")
    ap.add_argument("--exits", type=int, default=20000, help="exitbench exits (default 20000)")
    ap.add_argument("--budget-only", action="store_true", help="only the instruction budget table (0.)")
    ap.add_argument("--budget-reps", type=int, default=3, help="runs per configuration of table 0 (default 3)")
    ap.add_argument("--budget-ticks", type=int, default=10, help="T of the tick rows: hog 2T vs T (default 10)")
    args = ap.parse_args()
    if (args.runs < 1 or args.trap_n < 10 or args.crunch < 1 or args.exits < 8 or args.budget_reps < 1
            or not 1 <= args.budget_ticks <= 20):
        die("bad arguments")

    build_release("bench_exec", ["crunch_native", "trace_write_cost", "min_vm"], args.no_build,
                  (LDE,) if args.budget_only else (LDE, NATIVE, WRITE_COST, MIN_VM))

    tmp = tempfile.mkdtemp(prefix="bench_exec.")
    trace_file = os.path.join(tmp, "trace.jsonl")
    n, c, e = args.trap_n, args.crunch, args.exits
    c1 = min(c, SINGLE_MAX_MILLIONS)
    rr = ["--sched", "rr", "--quantum", "10ms"]
    three = ["-p", f"crunch:{c}"] * 3
    trap_on = ("trap_on", [LDE, "run", "-p", f"trapbench:{n}"], parse_trap)
    trap_off = ("trap_off", [LDE, "run", "--no-guest-events", "-p", f"trapbench:{n}"], parse_trap)
    exit_plain = ("exit_plain", [LDE, "run", "--", f"exitbench={e}"], parse_exit)
    exit_trace = ("exit_trace", [LDE, "run", "--trace", trace_file, "--", f"exitbench={e}"], parse_exit)
    crunch3_on = ("crunch3_on", [LDE, "run", *rr, *three], lambda t: parse_crunch(t, 3))
    crunch3_off = ("crunch3_off", [LDE, "run", *rr, "--no-guest-events", *three], lambda t: parse_crunch(t, 3))
    native3 = ("native3", [NATIVE, str(c), "3"], parse_native)
    write_cost = ("write_cost", [WRITE_COST, "200000"], lambda t: float(grab(WRITE, t, "result").group(2)))
    crunch1_on = ("crunch1_on", [LDE, "run", *rr, "-p", f"crunch:{c1}"], lambda t: parse_crunch(t, 1))
    # Whole processes timed from fork to exit, after a pause (see run()).
    hello_wall = ("hello_wall", [LDE, "run", "-p", "hello"], lambda t: LAST_WALL[0])
    min_vm_wall = ("min_vm_wall", [MIN_VM], lambda t: LAST_WALL[0])
    settled = {"hello_wall", "min_vm_wall"}
    # Groups of cases compared with each other; the groups run in a rotating
    # order, and each group's order is reversed every other round. The exit
    # runs are short and noisy: three pairs a round.
    groups = [
        [trap_on, trap_off],
        [exit_plain, exit_trace] * 3 + [write_cost],
        [crunch3_on, native3, crunch3_off],
        [crunch1_on],
        [hello_wall, min_vm_wall] * 3,
    ]

    started = time.monotonic()
    # Once: which path system calls take (a traced run), and emulated kernel
    # instructions (KVM's insn_emulation) per unit of work, from two sizes of
    # the same run so that boot and loading cancel out.
    run([LDE, "run", "--trace", trace_file, "-p", f"trapbench:{n}"])
    paths, kvm = trace_paths(trace_file)
    budget = budget_counts(args.budget_reps, n, args.budget_ticks)
    if args.budget_only:
        trap = parse_trap(run([LDE, "run", "-p", f"trapbench:{n}"]))
        print(f"bench_exec: KVM {kvm}, TSC {trap['tsc_khz']} kHz")
        print_budget(*budget, kvm, trap, n, args.budget_ticks, args.budget_reps)
        print(f"  ({time.monotonic() - started:.0f} s of measurement)")
        os.remove(trace_file)
        os.rmdir(tmp)
        return

    def insn_and(argv, key):
        text = run(argv)
        return summary(text)["insn"], (parse_kernel_end(text, key)["ticks"] if key else 0)

    pair_insn = (
        insn_and([LDE, "run", "--no-guest-events", "-p", f"trapbench:{2 * n}"], 0)[0]
        - insn_and([LDE, "run", "--no-guest-events", "-p", f"trapbench:{n}"], 0)[0]
    ) / n
    per_tick = {}
    for label, millions, count in (("tick", c1, 1), ("tick+switch", c, 3)):
        i1, t1 = insn_and([LDE, "run", *rr, *["-p", f"crunch:{millions}"] * count], count)
        i0, t0 = insn_and([LDE, "run", *rr, *["-p", f"crunch:{max(millions // 2, 1)}"] * count], count)
        per_tick[label] = (i1 - i0) / (t1 - t0) if t1 != t0 else float("nan")
    # Warm-up: one unmeasured round.
    for group in groups:
        for _, argv, _ in group:
            run(argv)
    res = {name: [] for group in groups for name, _, _ in group}
    for i in range(args.runs):
        k = i % len(groups)
        for group in groups[k:] + groups[:k]:
            for name, argv, parse in group if i % 2 == 0 else reversed(group):
                res[name].append(parse(run(argv, 0.05 if name in settled else 0.0)))
        print(f"  round {i + 1}/{args.runs} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    os.remove(trace_file)
    os.rmdir(tmp)

    khz = res["trap_on"][0]["tsc_khz"]
    ns = lambda cyc: cyc * 1e6 / khz  # noqa: E731
    print(f"bench_exec: KVM {kvm}, TSC {khz} kHz; {args.runs} rounds, alternating (rotating order), after one "
          f"warm-up round "
          f"(exitbench: 3 pairs a round); median [min-max]")
    print("The host is noisy (2 vCPUs, shared): read ratios and spreads, not last digits.")
    print_budget(*budget, kvm, res["trap_on"][0], n, args.budget_ticks, args.budget_reps)

    # A. Trap path.
    on, off = res["trap_on"], res["trap_off"]
    print(f"\nA. Trap path: trapbench:{n} (events on), cycles/call (median of 10 batches each run)")
    print(f"  {'':22} {'cycles/call':>26} {'ns/call':>10}")
    for label, key in (("getpid (int 0x80)", "getpid"), ("int3 (bare trap)", "int3"), ("difference (syscall work)", "work")):
        xs = [r[key] for r in on]
        print(f"  {label:25} {spread(xs):>23} {ns(med(xs)):>10.0f}")
    print(f"  system calls arrive: {on[0]['arrive']}")
    print(f"  syscall events by path (one traced run): {paths}")
    print(f"  emulated kernel instructions per getpid+int3 pair (events off, {n} vs {2 * n} pairs): {pair_insn:.0f}")

    # B. Direct execution.
    print(f"\nB. Direct execution: 3 x crunch:{c} under --sched rr --quantum 10ms vs the same loop natively x3")
    nat = res["native3"]
    print(f"  {'':28} {'span (M cycles)':>22} {'M steps/s':>10} {'guest/native (per round)':>26}")
    nat_rate = [r["steps"] / r["span"] for r in nat]
    print(f"  {'native x3 (host)':28} {spread([r['span'] / 1e6 for r in nat]):>22} "
          f"{med(nat_rate) * khz / 1e3:>10.0f}")
    for name, label in (("crunch3_on", "guest, events on"), ("crunch3_off", "guest, --no-guest-events")):
        g = res[name]
        ratios = [(r["steps"] / r["span"]) / (x["steps"] / x["span"]) for r, x in zip(g, nat)]
        rate = med([r["steps"] / r["span"] for r in g]) * khz / 1e3
        print(f"  {label:28} {spread([r['span'] / 1e6 for r in g]):>22} {rate:>10.0f} "
              f"{spread(ratios, '{:.4f}'):>26}")
    g1 = res["crunch1_on"]
    nat_run = [med([cyc / s for s, cyc in x["runs"]]) for x in nat]  # native cycles per step, one run
    r1 = [(nc * r["steps"]) / r["span"] for r, nc in zip(g1, nat_run)]
    print(f"  {'guest, 1 x crunch:' + str(c1) + ' alone':28} {spread([r['span'] / 1e6 for r in g1]):>22} "
          f"{med([r['steps'] / r['span'] for r in g1]) * khz / 1e3:>10.0f} {spread(r1, '{:.4f}'):>26}"
          f"  (vs one native run)")
    print("  goal: guest/native >= 0.97")
    print("  kernel's own costs line (means over a run; default quantum 10 ms):")
    print(f"    timer tick, no switch (1 x crunch, events on): {spread([r['tick_cycles'] for r in g1])} cycles "
          f"= {ns(med([r['tick_cycles'] for r in g1])) / 1e3:.0f} us, "
          f"{med([r['ticks_measured'] for r in g1]):.0f} ticks measured per run")
    for name, label in (("crunch3_on", "events on"), ("crunch3_off", "events off")):
        sw = [r["switch_cycles"] for r in res[name]]
        print(f"    context switch (3 x crunch, {label}): {spread(sw)} cycles = {ns(med(sw)) / 1e3:.0f} us, "
              f"{med([r['switches_measured'] for r in res[name]]):.0f} switches per run, "
              f"{med([r['ticks'] for r in res[name]]):.0f} ticks")
    lost = [(r["span"] - x["span"]) / r["switches"] for r, x in zip(res["crunch3_on"], nat)]
    print(f"    guest span minus native span, per switch (3 x crunch, events on): {spread(lost)} cycles "
          f"(every switch here is also a tick)")
    print(f"    emulated kernel instructions per 10 ms quantum (from two run lengths, events on): "
          f"{per_tick['tick']:.0f} for a tick alone (1 x crunch), {per_tick['tick+switch']:.0f} for a tick "
          f"that switches (3 x crunch)")

    # C. Tracing cost.
    print(f"\nC1. Tracing cost, system-call heavy: trapbench:{n}, guest events on vs --no-guest-events")
    print(f"  {'':10} {'events on':>24} {'events off':>24} {'slowdown (per round)':>22}")
    for key in ("getpid", "int3"):
        slow = [100 * (a[key] / b[key] - 1) for a, b in zip(on, off)]
        print(f"  {key:10} {spread([r[key] for r in on]):>24} {spread([r[key] for r in off]):>24} "
              f"{spread(slow, '{:+.1f}'):>20} %")
    added = {key: [a[key] - b[key] for a, b in zip(on, off)] for key in ("getpid", "int3")}
    print(f"  cycles added per call (one event each; per round): getpid {spread(added['getpid'], '{:+.0f}')}, "
          f"int3 {spread(added['int3'], '{:+.0f}')}")
    per_event = [(a["insn"] - b["insn"]) / a["events"] for a, b in zip(on, off) if a["events"]]
    print(f"  events recorded per run: {med([r['events'] for r in on]):.0f}; emulated kernel instructions "
          f"added per event (on - off): {spread(per_event, '{:.1f}')}")
    print("  (where an event's instructions go: scripts/kprof.py on a traced and an untraced run)")
    print("  goal: <= 5 % slowdown")

    pl, tr = res["exit_plain"], res["exit_trace"]
    print(f"\nC2. Exit round trip: exitbench={e} ({pl[0]['exits']} outs to the null port), with and without --trace")
    print(f"  {'':22} {'guest cycles/exit':>24} {'ns/exit':>8} {'VMM io_out mean (ns)':>24} {'io_out exits':>13}")
    for label, rs in (("without --trace", pl), ("with --trace FILE", tr)):
        cyc = [r["cycles"] for r in rs]
        vmm = [r["io_out"][1] for r in rs]
        print(f"  {label:22} {spread(cyc):>24} {ns(med(cyc)):>8.0f} {spread(vmm):>24} {rs[0]['io_out'][0]:>13}")
    diff = [b["cycles"] - a["cycles"] for a, b in zip(pl, tr)]
    print(f"  with minus without (per pair): {spread(diff, '{:+.0f}')} cycles/exit "
          f"= {ns(med(diff)):+.0f} ns: the VMM's cost of recording an exit, seen by the guest")
    print(f"  host alone, TraceWriter::write of one io_out exit record (vmm/examples/trace_write_cost): "
          f"{spread(res['write_cost'])} ns")
    insn_exit = [(r["insn"]) / r["exits"] for r in pl]
    print(f"  emulated kernel instructions per exit (boot included): {spread(insn_exit, '{:.2f}')}")

    # D. Whole-process lifecycle of a trivial program.
    hw, mw = res["hello_wall"], res["min_vm_wall"]
    ratios = [a / b for a, b in zip(hw, mw)]
    print("\nD. Trivial program, whole process (fork to exit, 50 ms pause before each, 3 pairs a round): "
          "lde run -p hello vs vmm/examples/min_vm")
    print(f"  lde run -p hello   {spread([x * 1e3 for x in hw], '{:.2f}')} ms")
    print(f"  minimal VM         {spread([x * 1e3 for x in mw], '{:.2f}')} ms")
    print(f"  ratio (per pair)   {spread(ratios, '{:.2f}')}   (ratio of medians {med(hw) / med(mw):.2f}; goal <= 1.5)")

    # Interpretation.
    print("\nInterpretation:")
    pvm = kvm == "pvm"
    ratio = lambda g: med([(r["steps"] / r["span"]) / (x["steps"] / x["span"]) for r, x in zip(g, nat)])  # noqa: E731
    us_per_insn = ns(med(lost)) / 1e3 / per_tick["tick+switch"]
    print(f"  - B: with 3 processes under rr the guest does {ratio(res['crunch3_on']):.3f} (events on) / "
          f"{ratio(res['crunch3_off']):.3f} (off) of the host's useful work per second, {med(r1):.3f} with one "
          f"process (ticks, no switches); goal 0.97. User mode runs natively; what is lost is the kernel's share "
          f"of each 10 ms quantum: about {per_tick['tick+switch']:.0f} kernel instructions per tick that switches"
          + (f", each emulated on PVM at about {us_per_insn:.1f} us (the span lost per switch over the "
             f"instructions per switch), i.e. {ns(med(lost)) / 1e6:.2f} ms of every 10 ms. At hardware speed "
             f"those instructions take well under a microsecond (< 0.01 % of a quantum), so on VMX/SVM the "
             f"ratio should be within noise of 1; here a longer --quantum is what raises it."
             if pvm else "."))
    slow = lambda key: med([100 * (a[key] / b[key] - 1) for a, b in zip(on, off)])  # noqa: E731
    # Split the pair's instructions between getpid and int3 in proportion to
    # their cycles with events off (the same cost per emulated instruction).
    gp_off, i3_off = med([r["getpid"] for r in off]), med([r["int3"] for r in off])
    gp_insn = pair_insn * gp_off / (gp_off + i3_off)
    ev = med(per_event)
    lo, hi = 100 * 40 / (300 + gp_insn), 100 * 70 / (150 + gp_insn)
    print(f"  - C1: guest events make a getpid round trip {slow('getpid'):.0f} % slower and an int3 "
          f"{slow('int3'):.0f} % slower here (one event each). "
          + (f"On PVM the cost follows the kernel's instruction count: an event adds about {ev:.0f} emulated "
             f"instructions to about {gp_insn:.0f} of a getpid (int3 and getpid split by "
             f"cycles). Estimate for VMX/SVM hosts, not measured: {ev:.0f} instructions with one rdtsc and a "
             f"64-byte slot of stores are about 40-70 cycles, on a getpid round trip of the hardware trap and "
             f"return (int + iretq, 150-300 cycles) plus ~{gp_insn:.0f} kernel instructions: roughly "
             f"{lo:.0f}-{hi:.0f} %, so a bare getpid loop would likely still be above the 5 % goal, and "
             f"calls doing real work well below it." if pvm else ""))
    print(f"  - C2: one exit round trip costs the guest {ns(med([r['cycles'] for r in pl])):.0f} ns "
          f"(median); writing it to a trace file adds {ns(med(diff)):.0f} ns (median of per-pair differences"
          f"{', within the noise: see the spread' if min(diff) < 0 < max(diff) else ''}), against {med(res['write_cost']):.0f} ns measured on the host "
          f"alone for one record; the VMM's own handling time is {med([r['io_out'][1] for r in pl]):.0f} ns without "
          f"--trace and {med([r['io_out'][1] for r in tr]):.0f} ns with it (it does not include writing "
          f"the exit's own record, which comes after the timed part; it does include draining guest events).")
    print(f"  ({time.monotonic() - started:.0f} s of measurement)")


if __name__ == "__main__":
    main()
