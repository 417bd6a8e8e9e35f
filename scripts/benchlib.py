"""What the benchmark scripts share: where the release binaries are, and
building them (or checking they are there, with --no-build)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LDE = os.path.join(ROOT, "target", "release", "lde")


def example(name):
    """The path of a release build of vmm/examples/NAME.rs."""
    return os.path.join(ROOT, "target", "release", "examples", name)


def build_release(tool, examples, no_build, need):
    """Build lde and `examples` in release mode (unless `no_build`), then
    check that every path in `need` is an executable; if one is not, exit
    with a message that names `tool`."""
    if not no_build:
        argv = ["cargo", "build", "--release", "--quiet", "--bin", "lde"]
        for name in examples:
            argv += ["--example", name]
        print("building: " + " ".join(a for a in argv if a != "--quiet"), file=sys.stderr)
        subprocess.run(argv, cwd=ROOT, check=True)
    for path in need:
        if not os.access(path, os.X_OK):
            sys.exit(f"{tool}: {path} is missing; run without --no-build")
