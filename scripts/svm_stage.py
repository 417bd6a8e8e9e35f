#!/usr/bin/env python3
"""The hardware route on a machine without it: lde's tests under real KVM-SVM,
nested in QEMU.

Hosts that serve /dev/kvm with PVM (nested KVM without VMX/SVM) deliver
`int 0x80` as #UD and never exercise the IDT gate route that VMX/SVM hosts
take. QEMU's TCG emulates AMD SVM with nested paging, so a Linux booted in
`qemu-system-x86_64 -accel tcg -cpu ...,+svm,+npt` loads kvm_amd and has a
/dev/kvm run by KVM's real SVM code, with IDT delivery done by the emulated
CPU. This script:

  1. installs what it needs from Debian's packages when it is missing:
     QEMU >= 8 from bookworm-backports (Debian 12's QEMU 7.2 reports the #GP
     error code of an IDT gate wrongly and sometimes stops taking
     interrupts), busybox-static, kmod; and downloads (does not install) the
     Debian kernel package, from which it keeps vmlinuz and kvm-amd.ko with
     its module dependencies (cached in ~/.cache/lde/svm-stage);
  2. builds the tests (`cargo test --no-run`, a no-op on a built tree) and
     packs an initramfs: busybox, the modules, `lde` at the absolute path the
     test binaries have compiled in, the test binaries, their shared
     libraries, and an /init that runs everything;
  3. boots it under QEMU TCG; the guest runs every test binary and a short
     battery of `lde run` commands, and writes all their output to its second
     serial port (ttyS1), which QEMU writes to a file;
  4. checks what came back: every test binary passed, every `lde run` ended
     with the status and output expected on SVM, the trace says kvm "svm"
     and every system call took the gate.

The guest prints a heartbeat on its console every 5 s. No output at all
for --stall seconds (the guest's CPU stopped: Debian 12's QEMU 7.2 sometimes
stops delivering interrupts to it), or no result for --progress seconds (a
test hangs), is a stall: the attempt is killed and the stage retried once,
and the report says so. Exit status 0 only if everything passed; 1 if a test
or check failed or the guest stalled twice; 2 if the setup failed. The last
line is "svm: N passed, M failed".

Usage: scripts/svm_stage.py [-v] [--stall S] [--progress S] [--cpu MODEL] [--smp N]
       scripts/svm_stage.py --tests gdb[,NAME...]   (only those test binaries, no battery)
       scripts/svm_stage.py --stress RUNS [--smp 1]   (traced VMs in a row, no tests)
"""

import argparse
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "svm-stage")
CACHE = os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lde", "svm-stage"
)
# The modules /dev/kvm needs on an AMD CPU; their dependencies are added.
MODULES = ["kvm-amd"]
# Debian's backports suite for bookworm: QEMU 10 (same package registry).
BACKPORTS = "bookworm-backports"
QEMU_MIN = (8, 0)
# Marker for the guest's report lines on the results port.
MARK = "@@lde-svm"
PREFIX = "svm-stage:"


def say(msg):
    print(f"{PREFIX} {msg}", flush=True)


def die(msg, status=2):
    print(f"{PREFIX} error: {msg}", file=sys.stderr, flush=True)
    sys.exit(status)


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


# ---------------------------------------------------------------------------
# 1. What the stage needs from Debian
# ---------------------------------------------------------------------------


def qemu_version():
    exe = shutil.which("qemu-system-x86_64")
    if not exe:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def debian_codename():
    try:
        with open("/etc/os-release") as f:
            m = re.search(r"^VERSION_CODENAME=(\w+)", f.read(), re.M)
            return m.group(1) if m else None
    except OSError:
        return None


def apt(*args):
    # Other apt users on the machine: wait for the lock rather than fail.
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "-q", *args], env=env, stdout=subprocess.DEVNULL)


def ensure_backports_source():
    """Add bookworm-backports as an apt source (Debian's own registry) once."""
    listed = subprocess.run(
        ["grep", "-rqs", BACKPORTS, "/etc/apt/sources.list", "/etc/apt/sources.list.d"]
    ).returncode == 0
    if listed:
        return False
    say(f"adding {BACKPORTS} to apt's sources (QEMU >= {QEMU_MIN[0]})")
    with open(f"/etc/apt/sources.list.d/{BACKPORTS}.sources", "w") as f:
        f.write(
            "Types: deb\nURIs: http://deb.debian.org/debian\n"
            f"Suites: {BACKPORTS}\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
    return True


def ensure_packages():
    """Install QEMU (backports), busybox-static and kmod when missing."""
    missing = []
    if (qemu_version() or (0, 0)) < QEMU_MIN:
        missing.append("qemu-system-x86")
    if not os.path.exists("/bin/busybox") or not is_static("/bin/busybox"):
        missing.append("busybox-static")
    if not shutil.which("modinfo") and not os.path.exists("/sbin/modinfo"):
        missing.append("kmod")
    if not shutil.which("strip"):
        missing.append("binutils")
    if not missing:
        return
    if not shutil.which("apt-get") or debian_codename() != "bookworm":
        die(
            f"missing {', '.join(missing)} (QEMU >= {QEMU_MIN[0]}.{QEMU_MIN[1]}): this script "
            "installs them on Debian 12 (bookworm) only; install them yourself elsewhere"
        )
    if os.geteuid() != 0:
        die(f"missing {', '.join(missing)}: run as root to install them with apt-get")
    ensure_backports_source()
    say(f"installing {' '.join(missing)} from Debian's packages")
    apt("update")
    apt("install", "-y", "--no-install-recommends", "-t", BACKPORTS, *missing)
    if (qemu_version() or (0, 0)) < QEMU_MIN:
        die(f"QEMU {qemu_version()} after installing; need {QEMU_MIN}")


def is_static(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True)
    return out.returncode != 0 or "not a dynamic" in out.stdout + out.stderr


def modinfo():
    return shutil.which("modinfo") or "/sbin/modinfo"


def kernel_package():
    """The package linux-image-amd64 stands for now (apt's lists are
    refreshed once if they do not say)."""
    for refresh in (False, True):
        if refresh:
            apt("update")
        deps = subprocess.run(
            ["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True
        ).stdout
        m = re.search(r"Depends: (linux-image-[\w.\-]+-amd64)", deps)
        if m:
            return m.group(1)
    die("apt-cache finds no linux-image-amd64 package")


def debian_kernel():
    """vmlinuz and the modules for /dev/kvm, from Debian's current kernel
    package (downloaded, not installed), cached by version. Returns
    (vmlinuz, [module paths in load order], version)."""
    package = kernel_package()
    version = package[len("linux-image-"):]
    cache = os.path.join(CACHE, version)
    order_file = os.path.join(cache, "modules.load")
    if not os.path.exists(order_file):
        say(f"downloading {package} (kernel and kvm modules, not installed)")
        with tempfile.TemporaryDirectory(dir=os.path.dirname(WORK)) as tmp:
            run(["apt-get", "download", "-q", package], cwd=tmp, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            deb = next(f for f in os.listdir(tmp) if f.endswith(".deb"))
            root = os.path.join(tmp, "root")
            run(["dpkg-deb", "-x", os.path.join(tmp, deb), root])
            kdir = os.path.join(root, "lib", "modules", version)
            by_name = {}
            for d, _, files in os.walk(kdir):
                for f in files:
                    if ".ko" in f:
                        by_name[f.split(".ko")[0].replace("-", "_")] = os.path.join(d, f)
            order = []

            def add(name):
                name = name.replace("-", "_")
                if name in order:
                    return
                path = by_name[name]
                needs = subprocess.run(
                    [modinfo(), "-F", "depends", path], capture_output=True, text=True, check=True
                ).stdout.strip()
                for dep in filter(None, needs.split(",")):
                    add(dep)
                order.append(name)

            for mod in MODULES:
                add(mod)
            os.makedirs(cache, exist_ok=True)
            for name in order:
                src = by_name[name]
                dst = os.path.join(cache, name + ".ko")
                # busybox insmod loads plain .ko files: unpack compressed ones.
                if src.endswith(".xz"):
                    run(["xz", "-dc", src], stdout=open(dst, "wb"))
                elif src.endswith(".zst"):
                    run(["zstd", "-dcq", src], stdout=open(dst, "wb"))
                else:
                    shutil.copyfile(src, dst)
            shutil.copyfile(
                os.path.join(root, "boot", f"vmlinuz-{version}"), os.path.join(cache, "vmlinuz")
            )
            with open(order_file, "w") as f:
                f.write("\n".join(order) + "\n")
    with open(order_file) as f:
        order = f.read().split()
    return os.path.join(cache, "vmlinuz"), [os.path.join(cache, n + ".ko") for n in order], version


# ---------------------------------------------------------------------------
# 2. The initramfs
# ---------------------------------------------------------------------------


def test_binaries():
    """Build (a no-op on a built tree) and list the test executables and lde."""
    out = subprocess.run(
        ["cargo", "test", "--no-run", "--message-format=json", "--quiet"],
        cwd=ROOT, capture_output=True, text=True,
    )
    if out.returncode != 0:
        die(f"cargo test --no-run failed:\n{out.stderr}")
    tests, lde = {}, None
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        exe = msg.get("executable")
        if not exe:
            continue
        target = msg["target"]
        # The integration tests (tests/*.rs) boot VMs; the unit tests touch
        # no KVM and take minutes under TCG, so they stay with `cargo test`.
        if target["kind"] == ["test"]:
            tests[target["name"]] = exe
        elif target["kind"] == ["bin"] and target["name"] == "lde" and not msg["profile"]["test"]:
            lde = exe
    if not lde or not tests:
        die("cargo did not report the lde binary and the test executables")
    return lde, tests


def release_lde():
    """lde built with the release profile (`cargo build --release --bin lde`,
    a no-op on a built tree). Under TCG every VM exit runs the VMM's exit
    path on an emulated CPU: a debug build spends about 500 us there, which
    made the suite take over 5 minutes. The test binaries run lde by the
    debug path compiled into them, so the initramfs holds this build at that
    path; `cargo test` on the host still runs the debug build."""
    out = subprocess.run(
        ["cargo", "build", "--release", "--bin", "lde", "--message-format=json", "--quiet"],
        cwd=ROOT, capture_output=True, text=True,
    )
    if out.returncode != 0:
        die(f"cargo build --release --bin lde failed:\n{out.stderr}")
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("executable") and msg["target"]["name"] == "lde":
            return msg["executable"]
    die("cargo did not report the release lde binary")


class Cpio:
    """A newc cpio archive, the format the Linux kernel unpacks as initramfs."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.ino = 1
        self.dirs = set()

    def _entry(self, name, mode, data=b""):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
        self.ino += 1
        self.f.write(b"070701" + b"".join(b"%08x" % v for v in fields) + name_b)
        self.f.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.f.write(data)
        self.f.write(b"\0" * (-len(data) % 4))

    def dir(self, path):
        path = path.strip("/")
        if not path or path in self.dirs:
            return
        self.dir(os.path.dirname(path))
        self.dirs.add(path)
        self._entry(path, stat.S_IFDIR | 0o755)

    def file(self, path, data, mode=0o755):
        path = path.strip("/")
        self.dir(os.path.dirname(path))
        self._entry(path, stat.S_IFREG | mode, data)

    def close(self):
        self._entry("TRAILER!!!", 0)
        self.f.close()


def shared_libraries(exes):
    """The shared libraries (and the dynamic loader) the executables load."""
    libs = set()
    for exe in exes:
        out = subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
        for m in re.finditer(r"(/\S+) \(0x", out):
            libs.add(m.group(1))
    return sorted(libs)


def stripped(path, work):
    """The executable without its debug info (a quarter of the size): less
    for QEMU to load and the guest kernel to unpack."""
    out = os.path.join(work, "stripped")
    run(["strip", "--strip-debug", "-o", out, path])
    with open(out, "rb") as f:
        data = f.read()
    os.remove(out)
    return data


# The `lde run` battery: (name, kernel/lde arguments, expected status,
# strings its output must contain). Output is stdout and stderr together.
BATTERY = [
    ("demo", ["run"], 0, ["all 5 processes have ended (2 killed)",
                          "lde kernel: system calls arrive through the int 0x80 gate",
                          "trapped into the kernel (through the int 0x80 gate of the trap table)"]),
    ("hello-traced", ["run", "-p", "hello", "--trace", "/tmp/hello.jsonl"], 0,
     ["hello from user mode (pid 1, CS 0x33, privilege level 3)"]),
    ("restricted", ["run", "-p", "bad-gate", "-p", "syscall-insn", "-p", "sysenter",
                    "-p", "priv-cli", "-p", "hello"], 0,
     ["pid 1 (bad-gate) killed: #GP general protection at rip",
      "error 0x40a",
      "pid 2 (syscall-insn) killed: #UD invalid opcode",
      "pid 3 (sysenter) killed: #UD invalid opcode",
      "pid 4 (priv-cli) killed: #GP general protection",
      "hello from user mode"]),
    ("triple-fault", ["run", "--", "crash=triple"], 100,
     ["guest triple-faulted", "the faulting registers cannot be had",
      "registers (the vCPU's reset state, not the fault's):"]),
    ("rr-3-5-2", ["run", "-p", "spin:3", "-p", "spin:5", "-p", "spin:2", "--quantum", "20ms"], 0,
     ["all 3 processes have ended"]),
    ("watchdog", ["run", "-p", "hog", "-p", "hello", "--sched", "coop", "--timeout", "3s"], 124,
     ["watchdog"]),
    ("trapbench", ["run", "-p", "trapbench:1000"], 0, ["cycles/call"]),
    ("exitbench", ["run", "--", "exitbench=2000"], 0, ["exitbench: 2000 exits", "cycles/exit"]),
]


def stress_lines(lde, runs):
    """Instead of the suite: RUNS traced VMs one after another (a guest whose
    CPU stops taking interrupts shows as a stall), reporting every 10th."""
    return [
        "i=0; fails=0",
        f"while [ $i -lt {runs} ]; do",
        f"  {lde} run -p hello --trace /tmp/stress.jsonl > /tmp/stress.out 2>&1"
        " || { fails=$((fails+1)); say stress-fail run=$i status=$?; }",
        "  i=$((i+1))",
        "  [ $((i % 10)) = 0 ] && say progress runs=$i fails=$fails uptime=$(cut -d' ' -f1 /proc/uptime)",
        "done",
        "say stress runs=$i fails=$fails",
    ]


def init_script(lde, tests, modules, test_threads, stress, battery):
    """The guest's /init: mount, load kvm-amd, run the tests and the
    battery (or the stress loop), report on ttyS1, power off."""
    lines = [
        "#!/bin/busybox sh",
        "/bin/busybox --install -s /bin",
        "export PATH=/bin",
        "mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev",
        # No tmpfs over /tmp: the initramfs is already in RAM and writable,
        # and lde may sit under /tmp (a checkout there keeps lde at the path
        # compiled into the test binaries), which a mount would hide.
        "chmod 1777 /tmp",
        # The gdb tests talk to lde's stub on 127.0.0.1.
        "ifconfig lo 127.0.0.1 up",
        "R=/dev/ttyS1",
        "stty -F $R raw -echo",
        f"say() {{ echo \"{MARK} $*\" > $R; }}",
        "say boot uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)",
        "(while sleep 5; do echo \"heartbeat $(cut -d' ' -f1 /proc/uptime)\" > /dev/ttyS0; done) &",
        "say cpu $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2)"
        " svm=$(grep -c -w svm /proc/cpuinfo) npt=$(grep -c -w npt /proc/cpuinfo)",
    ]
    for m in modules:
        lines.append(f"insmod /modules/{os.path.basename(m)} || say insmod-failed {os.path.basename(m)}")
    lines += [
        "say kvm_amd nested=$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null)"
        " npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null) dev=$(ls /dev/kvm)",
        "say ready uptime=$(cut -d' ' -f1 /proc/uptime)",
        "cd /tmp",
    ]
    if stress:
        return "\n".join(lines + stress_lines(lde, stress) + ["say done", "poweroff -f"]) + "\n"
    # One test binary after another (each runs its tests on `test_threads`
    # threads), then the battery, each reporting when it finishes; the
    # outputs follow, whole, in order. Running the binaries at once was
    # tried: with a debug lde under TCG the VMs starved each other (exits of
    # 33 ms, runs past their 30 s watchdog), and it took longer.
    jobs = [("test", name, [f"/lde-tests/{name} --test-threads={test_threads}"])
            for name in tests]
    jobs += [("run", name, [f"{lde} " + " ".join(f"'{a}'" for a in args)])
             for name, args, _, _ in (BATTERY if battery else [])]
    lines.append("mkdir -p /tmp/out")
    for kind, name, (cmd,) in jobs:
        lines += [
            f"{cmd} > /tmp/out/{kind}.{name} 2>&1; echo $? > /tmp/out/{kind}.{name}.status",
            f"say finished {kind} {name} uptime=$(cut -d' ' -f1 /proc/uptime)",
        ]
    for kind, name, _ in jobs:
        lines += [
            f"say begin {kind} {name}",
            f"cat /tmp/out/{kind}.{name} > $R",
            f"say end {kind} {name} status=$(cat /tmp/out/{kind}.{name}.status)",
        ]
    lines += [
        "say begin file hello.jsonl",
        "cat /tmp/hello.jsonl > $R",
        "say end file hello.jsonl status=$?",
        "say done uptime=$(cut -d' ' -f1 /proc/uptime)",
        "poweroff -f",
    ]
    return "\n".join(lines) + "\n"


def build_initramfs(path, work, lde, lde_exe, tests, modules, test_threads, stress, battery):
    cpio = Cpio(path)
    for d in ["bin", "proc", "sys", "dev", "tmp", "modules", "lde-tests"]:
        cpio.dir(d)
    with open("/bin/busybox", "rb") as f:
        cpio.file("bin/busybox", f.read())
    for m in modules:
        with open(m, "rb") as f:
            cpio.file(f"modules/{os.path.basename(m)}", f.read(), 0o644)
    for lib in shared_libraries([lde_exe, *tests.values()]):
        with open(lib, "rb") as f:
            cpio.file(lib, f.read())
    # The tests run lde by the absolute path compiled into them: the
    # release build goes there.
    cpio.file(lde, stripped(lde_exe, work))
    for name, exe in tests.items():
        cpio.file(f"lde-tests/{name}", stripped(exe, work))
    cpio.file("init", init_script(lde, tests, modules, test_threads, stress, battery).encode())
    cpio.close()


# ---------------------------------------------------------------------------
# 3. Boot under QEMU, watch for stalls
# ---------------------------------------------------------------------------


def cpu_states(monitor):
    """Each guest CPU's state from QEMU's monitor (`info registers -a`):
    halted or not, RIP, and the interrupt flag. A CPU halted with IF=1 that
    never wakes is the emulator fault seen with QEMU 7.2."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(monitor)
            sock.sendall(b"info registers -a\n")
            time.sleep(2)
            text = b""
            sock.settimeout(0.5)
            try:
                while chunk := sock.recv(65536):
                    text += chunk
            except socket.timeout:
                pass
    except OSError as e:
        return f"(monitor: {e})"
    text = text.decode(errors="replace")
    states = []
    for cpu in re.split(r"\nCPU#", text)[1:]:
        rip = re.search(r"[RE]IP=(\w+)", cpu)
        efl = re.search(r"(?:RFL|EFL)=(\w+)", cpu)
        hlt = re.search(r"HLT=(\d)", cpu)
        if rip and efl and hlt:
            flags = int(efl.group(1), 16)
            states.append(f"CPU{cpu[:1]} {'halted' if hlt.group(1) == '1' else 'running'} "
                          f"RIP {rip.group(1)} IF={flags >> 9 & 1}")
    return "; ".join(states) or text[-500:]


def show_progress(results, offset, verbose):
    """Print what the guest reported since `offset` on the results port: all
    of it with -v, else the end of each test binary and `lde run`."""
    with open(results, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    for line in text.splitlines():
        if verbose or line.startswith((f"{MARK} finished ", f"{MARK} ready")):
            print(line, flush=True)


def boot(args, work, vmlinuz, initrd, attempt):
    """One QEMU run. Returns (results text, console text, ending, seconds)
    where ending is 'done', 'stall', 'deadline' or 'qemu-exit N'."""
    console = os.path.join(work, f"console-{attempt}.log")
    monitor = os.path.join(work, f"monitor-{attempt}.sock")
    results = os.path.join(work, f"results-{attempt}.log")
    for p in (console, results):
        open(p, "w").close()
    argv = [
        "qemu-system-x86_64", "-accel", "tcg", "-cpu", args.cpu, "-smp", str(args.smp),
        "-m", "2048", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-serial", f"file:{console}", "-serial", f"file:{results}",
        "-monitor", f"unix:{monitor},server=on,wait=off",
        "-kernel", vmlinuz, "-initrd", initrd,
        "-append", "console=ttyS0 panic=-1 mitigations=off",
    ]
    start = time.monotonic()
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    # Two clocks: any byte on either port (the guest's heartbeat goes to the
    # console every few seconds, so silence means its CPU stopped), and the
    # results port alone (a test that hangs stops the progress).
    heard = progressed = start
    sizes = (0, 0)
    ending = None
    while ending is None:
        try:
            rc = qemu.wait(timeout=0.5)
            ending = "done" if rc == 0 else f"qemu-exit {rc}"
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        new = (os.path.getsize(console), os.path.getsize(results))
        if new != sizes:
            heard = now
        if new[1] != sizes[1]:
            progressed = now
            show_progress(results, sizes[1], args.verbose)
        sizes = new
        if ending is None and now - heard > args.stall:
            ending = f"stall (no output for {args.stall:.0f} s)"
        elif ending is None and now - progressed > args.progress:
            ending = f"stall (no result for {args.progress:.0f} s)"
        elif ending is None and now - start > args.deadline:
            ending = "deadline"
    if ending.startswith("stall"):
        say(f"attempt {attempt}: the guest's CPUs when it stalled: {cpu_states(monitor)}")
    if qemu.poll() is None:
        qemu.kill()
        qemu.wait()
    qemu_out = qemu.stdout.read().decode(errors="replace")
    if qemu_out.strip():
        say(f"qemu said: {qemu_out.strip()}")
    elapsed = time.monotonic() - start
    with open(results, "rb") as f:
        res = f.read().decode(errors="replace")
    with open(console, "rb") as f:
        con = f.read().decode(errors="replace")
    return res, con, ending, elapsed


# ---------------------------------------------------------------------------
# 4. Judge what came back
# ---------------------------------------------------------------------------


def sections(text):
    """Split the results port into {('test'|'run'|'file', name): (body,
    status)} and the guest's report lines."""
    out, info = {}, {}
    cur, body = None, []
    for line in text.splitlines():
        if line.startswith(MARK + " "):
            words = line[len(MARK) + 1:].split()
            if words[0] == "begin":
                cur, body = (words[1], words[2]), []
            elif words[0] == "end":
                st = dict(w.split("=", 1) for w in words[3:] if "=" in w)
                out[(words[1], words[2])] = ("\n".join(body), int(st.get("status", -1)), st)
                cur = None
            else:
                info[words[0]] = " ".join(words[1:])
        elif cur:
            body.append(line)
    return out, info


LIBTEST = re.compile(r"test result: (\w+)\. (\d+) passed; (\d+) failed; (\d+) ignored")


def result(secs, key, missing, report):
    """(body, status) of the section `key`; None, with the failure line
    `missing` added to `report`, when the guest did not return it."""
    got = secs.get(key)
    if got is None:
        report.append(f"FAIL {missing}")
        return None
    return got[0], got[1]


def judge(text, tests, battery):
    """Check everything; return (passed, failed, report lines)."""
    secs, info = sections(text)
    passed = failed = 0
    report = []
    for name in tests:
        got = result(secs, ("test", name), f"test binary {name}: no result (the guest did not finish it)", report)
        if got is None:
            failed += 1
            continue
        body, status = got
        m = LIBTEST.search(body)
        if not m:
            failed += 1
            report.append(f"FAIL test binary {name}: status {status}, no libtest summary\n{body}")
            continue
        p, f, ign = int(m.group(2)), int(m.group(3)), int(m.group(4))
        passed += p
        failed += f
        if status != 0 or f:
            failed += 0 if f else 1
            failures = [ln for ln in body.splitlines() if ln.endswith("FAILED") or "panicked" in ln]
            report.append(f"FAIL {name}: {p} passed, {f} failed (status {status})\n"
                          + "\n".join(failures) + "\n" + body[-4000:])
        else:
            report.append(f"ok   {name}: {p} passed" + (f", {ign} ignored" if ign else ""))
    if not battery:
        return passed, failed, report, info
    for name, _, want_status, want_text in BATTERY:
        got = result(secs, ("run", name), f"lde {name}: no result", report)
        if got is None:
            failed += 1
            continue
        body, status = got
        missing = [w for w in want_text if w not in body]
        if status != want_status or missing:
            failed += 1
            report.append(f"FAIL lde {name}: status {status} (expected {want_status}), "
                          f"missing {missing}\n{body[-3000:]}")
        else:
            passed += 1
            report.append(f"ok   lde {name}: status {status}")
    passed, failed, line = check_trace(secs.get(("file", "hello.jsonl")), passed, failed)
    report.append(line)
    return passed, failed, report, info


def judge_stress(text, runs):
    _, info = sections(text)
    fails = [ln for ln in text.splitlines() if "stress-fail" in ln]
    m = re.search(r"runs=(\d+) fails=(\d+)", info.get("stress", ""))
    done = int(m.group(1)) if m else 0
    report = [f"stress: {done} of {runs} traced VMs ran, {len(fails)} failed"] + fails[:20]
    return done - len(fails), len(fails) + (runs - done), report, info


def check_trace(got, passed, failed):
    """The traced hello: header kvm "svm", every system call through the gate."""
    if got is None:
        return passed, failed + 1, "FAIL hello trace: not returned"
    recs = [json.loads(l) for l in got[0].splitlines() if l.startswith("{")]
    kvm = recs[0].get("kvm") if recs else None
    paths = [r["path"] for r in recs if r.get("type") == "event" and r.get("kind") == "syscall"]
    if kvm == "svm" and paths and all(p == "gate" for p in paths):
        return passed + 1, failed, f"ok   hello trace: kvm svm, {len(paths)} system calls, all path gate"
    return passed, failed + 1, f"FAIL hello trace: kvm {kvm}, paths {paths}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stall", type=float, default=45,
                    help="seconds without output on either serial port that count as a stall (45; "
                    "the guest prints a heartbeat every 5 s)")
    ap.add_argument("--progress", type=float, default=180,
                    help="seconds without a result line that count as a stall (180)")
    ap.add_argument("--deadline", type=float, default=600,
                    help="seconds one attempt may take at most (600)")
    ap.add_argument("--cpu", default="qemu64,+svm,+npt", help="QEMU CPU model (qemu64,+svm,+npt)")
    ap.add_argument("--smp", type=int, default=2, help="guest CPUs (2)")
    ap.add_argument("--stress", type=int, metavar="RUNS",
                    help="instead of the tests, boot RUNS traced VMs in a row (for emulator faults)")
    ap.add_argument("--tests", metavar="NAME[,NAME...]",
                    help="run only these test binaries (tests/NAME.rs), without the battery of "
                    "`lde run` commands and the trace check (default: everything)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show the guest's output as it comes")
    args = ap.parse_args()
    t0 = time.monotonic()

    ensure_packages()
    say(f"QEMU {'.'.join(map(str, qemu_version()))}")
    # A stress run has its own folder, so it can run beside the stage.
    work = os.path.join(WORK, "stress") if args.stress else WORK
    os.makedirs(work, exist_ok=True)
    vmlinuz, modules, kversion = debian_kernel()
    lde, tests = test_binaries()
    battery = not args.tests
    if args.tests:
        wanted = args.tests.split(",")
        unknown = [n for n in wanted if n not in tests]
        if unknown:
            die(f"no test binary {', '.join(unknown)} (there are: {', '.join(sorted(tests))})")
        tests = {n: tests[n] for n in wanted}
    t_build = time.monotonic()
    lde_exe = release_lde()
    say(f"release lde ready ({time.monotonic() - t_build:.1f} s)")
    initrd = os.path.join(work, "initramfs.cpio")
    build_initramfs(initrd, work, lde, lde_exe, tests, modules, args.smp, args.stress, battery)
    say(f"initramfs {os.path.getsize(initrd) >> 20} MiB: {len(tests)} test binaries, lde, "
        f"kernel {kversion} with {', '.join(os.path.basename(m) for m in modules)} "
        f"(setup {time.monotonic() - t0:.1f} s)")

    attempts = []
    for attempt in (1, 2):
        say(f"attempt {attempt}: booting (-accel tcg -cpu {args.cpu} -smp {args.smp})")
        res, con, ending, secs = boot(args, work, vmlinuz, initrd, attempt)
        attempts.append(f"attempt {attempt}: {ending} after {secs:.1f} s")
        say(attempts[-1])
        if ending == "done":
            break
        tail = "\n".join((con.strip().splitlines() or ["(nothing)"])[-15:])
        say(f"attempt {attempt}: the console's last lines:\n{tail}")
        if not ending.startswith(("stall", "deadline")) or attempt == 2:
            break
        say(f"the guest stalled: {ending}; retrying once")

    if args.stress:
        passed, failed, report, info = judge_stress(res, args.stress)
    else:
        passed, failed, report, info = judge(res, tests, battery)
    for line in report:
        print(line)
    if "ready" in info:
        say(f"guest: {info.get('boot', '')}; {info.get('cpu', '').strip()}; "
            f"kvm_amd {info.get('kvm_amd', '')}; ready at {info['ready']}, done at {info.get('done', '-')}")
    if ending != "done":
        failed += 1
        say(f"the guest did not finish: {'; '.join(attempts)}")
    elif len(attempts) > 1:
        say(f"RETRIED: {'; '.join(attempts)}")
    say(f"stage took {time.monotonic() - t0:.1f} s; logs in {os.path.relpath(work, ROOT)}/")
    print(f"svm: {passed} passed, {failed} failed", flush=True)
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
