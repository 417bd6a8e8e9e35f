#!/usr/bin/env python3
"""Exact instruction profile of a guest-kernel path, by single-stepping it.

lde's gdb stub (`lde run --gdb`) single-steps kernel-mode instructions with
KVM_GUESTDBG_SINGLESTEP, so gdb can record every instruction the kernel runs
on a path, with its function. On PVM hosts the sum agrees with KVM's
`insn_emulation` counter (every guest kernel-mode instruction is emulated
there, and counted once); on VMX/SVM it is the same instruction stream.

Two modes:

  path   (default) stop at SYMBOL (a hardware breakpoint), then step until
         the `iretq` that leaves the kernel; repeat --count times. Prints the
         length of each occurrence and a per-function breakdown of the last
         one. SYMBOL is typically a trap stub: `trap_stub_32` (timer tick),
         `trap_stub_6` (a system call on PVM, where `int 0x80` arrives as
         #UD), `trap_stub_128` (the system call gate on VMX/SVM),
         `trap_stub_3` (int3).
  --whole step the whole run from the first instruction to the end of the
         VM, and print the per-function total. User mode is not stepped: at
         each `iretq` to user mode gdb lets the guest run, and a hardware
         breakpoint on `trap_common` brings the stepping back at the next
         trap, whose stub (2-3 instructions) is added from its vector. (Were
         user mode stepped on PVM, each step would be a #DB through the
         guest's own IDT; such round trips are recognised and left out.)
         Use it without a timer (`--sched coop`, or `-- exit=0`): while gdb
         steps, wall time passes and every step would find a tick due.

Each step is a round trip through gdb and KVM (a few ms): a path of a few
hundred instructions takes seconds, a whole `-p hello` run under a minute.

Usage: scripts/kprof.py [--symbol SYM] [--count N] [--whole] [--listing FILE]
                        [--lde PATH] -- LDE_RUN_ARGS...
Example: scripts/kprof.py --symbol trap_stub_32 --count 3 -- --quantum 10ms -p hog:20
         scripts/kprof.py --whole -- --sched coop -p hello
"""

import argparse
import collections
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_BASE = 0xFFFF800000000000
# Stub lengths (trap_entry.rs): `push 0; push N; jmp` or `push N; jmp`.
ERR_VECTORS = {8, 10, 11, 12, 13, 14, 17, 21, 29, 30}
DB_VECTOR = 1

# Runs inside gdb (gdb's own Python). Writes one line per kernel
# instruction, "pc function", and "USER vector" where a trap from user mode
# re-enters the kernel; "END" at the end.
GDB_SCRIPT = r'''
import gdb, os
mode, symbol, count, out = os.environ["KPROF_MODE"], os.environ["KPROF_SYMBOL"], int(os.environ["KPROF_COUNT"]), os.environ["KPROF_OUT"]
BASE = 0xFFFF800000000000
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("set language c")
names = {}
def name(pc):
    if pc not in names:
        s = gdb.execute(f"info symbol {pc:#x}", to_string=True)
        names[pc] = s.split(" in section")[0].strip() if "No symbol" not in s else "?"
    return names[pc]
def pc():
    return int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF
def is_iretq(at):
    return bytes(gdb.selected_inferior().read_memory(at, 2)) == b"\x48\xcf"
f = open(out, "w")
try:
    if mode == "path":
        gdb.execute(f"hbreak *{symbol}", to_string=True)
        for i in range(count):
            gdb.execute("continue", to_string=True)
            f.write(f"OCCURRENCE {i}\n")
            while True:
                at = pc()
                f.write(f"{at:#x} {name(at)}\n")
                if is_iretq(at) or at < BASE:
                    break
                gdb.execute("stepi", to_string=True)
    else:
        gdb.execute("hbreak *trap_common", to_string=True)
        # The XCR0 probe's user-mode code comes back with an int3 through a
        # gate of its own, straight to `upcall_return` (upcall.rs), not
        # through trap_common: without a breakpoint there the kernel after
        # it would run unstepped. (On the second instruction, `mov rcx`:
        # one on the first, where the exception lands, is not reported.)
        try:
            upcall_return = int(gdb.parse_and_eval("(unsigned long)&upcall_return")) + 7
            gdb.execute(f"hbreak *{upcall_return:#x}", to_string=True)
        except gdb.error:
            upcall_return = None
        from_user = False
        while True:
            at = pc()
            if at < BASE:
                from_user = True
            else:
                if from_user and at == upcall_return:
                    f.write("UPCALL\n")
                    from_user = False
                elif from_user:
                    vec = int(gdb.parse_and_eval("*(unsigned long *)$rsp"))
                    f.write(f"USER {vec}\n")
                    from_user = False
                f.write(f"{at:#x} {name(at)}\n")
            # Leaving for user mode: run it at full speed until the next trap
            # (stepping it would only add #DB round trips).
            if at >= BASE and is_iretq(at):
                from_user = True
                gdb.execute("continue", to_string=True)
            else:
                gdb.execute("stepi", to_string=True)
except gdb.error as e:
    f.write(f"END {e}\n")
f.close()
try:
    gdb.execute("kill")
except gdb.error:
    pass
'''


def short(fn):
    """`lde_kernel::timer::on_tick::h0123… + 12` -> `lde_kernel::timer::on_tick`."""
    fn = fn.split(" + ")[0]
    return re.sub(r"::h[0-9a-f]{16}$", "", fn)


def table(counter, total, top):
    for fn, n in counter.most_common(top):
        print(f"  {n:7}  {100 * n / max(total, 1):5.1f} %  {fn}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbol", default="trap_stub_32", help="where a path starts (path mode)")
    ap.add_argument("--count", type=int, default=3, help="occurrences to step (path mode)")
    ap.add_argument("--whole", action="store_true", help="step the whole run")
    ap.add_argument("--listing", help="also write every stepped instruction to this file")
    ap.add_argument("--top", type=int, default=40, help="functions in the breakdown")
    ap.add_argument("--lde", default=os.path.join(ROOT, "target", "release", "lde"))
    ap.add_argument("lde_args", nargs=argparse.REMAINDER, help="after --: arguments of `lde run`")
    args = ap.parse_args()
    run_args = args.lde_args[1:] if args.lde_args[:1] == ["--"] else args.lde_args
    if args.count < 1:
        sys.exit("kprof: --count must be at least 1")
    if not os.access(args.lde, os.X_OK):
        sys.exit(f"kprof: no lde at {args.lde} (cargo build --release, or --lde PATH)")
    if not shutil.which("gdb"):
        sys.exit("kprof: gdb is not installed")

    tmp = tempfile.mkdtemp(prefix="kprof-")
    kernel = os.path.join(tmp, "kernel.elf")
    kernel_args = ["--kernel", run_args[run_args.index("--kernel") + 1]] if "--kernel" in run_args else []
    if kernel_args:
        shutil.copy(kernel_args[1], kernel)
    else:
        subprocess.run([args.lde, "kernel", "--extract", kernel], check=True, capture_output=True)
    with socket.socket() as s:  # a free loopback port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = os.path.join(tmp, "kprof_gdb.py")
    with open(script, "w") as f:
        f.write(GDB_SCRIPT)
    out = os.path.join(tmp, "steps.txt")
    env = dict(os.environ, KPROF_MODE="whole" if args.whole else "path", KPROF_SYMBOL=args.symbol,
               KPROF_COUNT=str(args.count), KPROF_OUT=out)
    lde = subprocess.Popen([args.lde, "run", "--timeout", "3600s", "--gdb", str(port), *run_args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    first = lde.stdout.readline()  # the stub says where it listens once it does
    gdb = subprocess.run(["gdb", "-q", "-batch", "-nx", "-ex", f"target remote 127.0.0.1:{port}",
                          "-ex", f"source {script}", kernel], env=env, capture_output=True, text=True)
    rest = lde.communicate()[0]
    lde_out = first + rest
    if not os.path.exists(out):
        sys.exit(f"kprof: gdb produced no steps:\n{gdb.stdout}{gdb.stderr}\n{lde_out}")
    lines = open(out).read().splitlines()
    if args.listing:
        shutil.copy(out, args.listing)
    shutil.rmtree(tmp, ignore_errors=True)

    if not args.whole:
        occ = []
        for line in lines:
            if line.startswith("OCCURRENCE"):
                occ.append([])
            elif occ and not line.startswith("END"):
                occ[-1].append(short(line.split(" ", 1)[1]))
        if not occ:
            sys.exit(f"kprof: {args.symbol} was never reached\n{lde_out}")
        print(f"kprof: from {args.symbol} to the iretq that leaves the kernel: "
              f"{', '.join(str(len(o)) for o in occ)} instructions ({len(occ)} occurrences)")
        print(f"last occurrence by function ({len(occ[-1])} instructions):")
        table(collections.Counter(occ[-1]), len(occ[-1]), args.top)
        return

    # Whole run: drop the kernel's handling of the #DB traps that gdb's
    # single-step caused in user mode; add each real trap's stub.
    counter, total, traps, dropped, skip = collections.Counter(), 0, 0, 0, False
    for line in lines:
        if line.startswith("END"):
            continue
        if line.startswith("UPCALL"):
            # Back from the probe's user-mode code through its own gate: no
            # stub, and upcall_return's first instruction was not stepped.
            skip = False
            counter["upcall_return"] += 1
            total += 1
            continue
        if line.startswith("USER"):
            vec = int(line.split()[1])
            skip = vec == DB_VECTOR
            if skip:
                continue
            traps += 1
            stub = 2 if vec in ERR_VECTORS else 3
            counter["(trap stubs)"] += stub
            total += stub
            continue
        if skip:
            dropped += 1
            continue
        counter[short(line.split(" ", 1)[1])] += 1
        total += 1
    m = re.search(r"insn_emulation (\d+)", lde_out)
    kvm = f"; KVM's insn_emulation for the run: {m.group(1)}" if m else ""
    dropped_s = f" ({dropped} instructions of single-step #DB handling left out)" if dropped else ""
    print(f"kprof: whole run: {total} kernel instructions, {traps} traps from user mode{dropped_s}{kvm}")
    table(counter, total, args.top)


if __name__ == "__main__":
    main()
