#!/usr/bin/env python3
"""Run the fault-injection tests (issue #5) and print one total.

    python3 tests/faults/run_faults.py --build build/faults short
    python3 tests/faults/run_faults.py --build build/faults full
    python3 tests/faults/run_faults.py --build build/faults crash [--trials N]

  short  fault_io --short (each fault kind once, every k), fault_oom
         --short (decode, graph, one upgrade), crash.py --trials 20
         (what `make test-faults-short`, and so `make test`, runs)
  full   fault_io and fault_oom over every scenario and every k
  crash  crash.py --trials 200 (rollback journal and WAL alternating)

Each program prints "N passed, N failed" last; a program that exits non-zero
without a failed test (a sanitizer report, a crash, LeakSanitizer's exit
status 23 at exit) counts as one failure.  The last line is the total,
"N passed, N failed"; the exit status is 1 on any failure.
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(label, argv):
    t0 = time.monotonic()
    print("# %s: %s" % (label, " ".join(argv)))
    sys.stdout.flush()
    p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    last = None
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        m = re.match(r"^(\d+) passed, (\d+) failed$", line.strip())
        if m:
            last = (int(m.group(1)), int(m.group(2)))
    rc = p.wait()
    passed, failed = last if last else (0, 0)
    if rc != 0 and failed == 0:
        print("FAIL %s: exit status %d (sanitizer report or crash above?)"
              % (label, rc))
        failed = 1
    print("# %s: %d passed, %d failed in %.0f s" % (
        label, passed, failed, time.monotonic() - t0))
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "faults"))
    ap.add_argument("--trials", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("mode", choices=["short", "full", "crash"])
    args = ap.parse_args()
    b = os.path.abspath(args.build)
    python = sys.executable
    crash = [python, os.path.join(HERE, "crash.py"), "--build", b]
    if args.seed is not None:
        crash += ["--seed", str(args.seed)]
    if args.mode == "short":
        steps = [("io", [os.path.join(b, "fault_io"), "--short"]),
                 ("oom", [os.path.join(b, "fault_oom"), "--short"]),
                 ("crash", crash + ["--trials", str(args.trials or 20)])]
    elif args.mode == "full":
        steps = [("io", [os.path.join(b, "fault_io")]),
                 ("oom", [os.path.join(b, "fault_oom")])]
    else:
        steps = [("crash", crash + ["--trials", str(args.trials or 200)])]
    t0 = time.monotonic()
    total_p = total_f = 0
    for label, argv in steps:
        p, f = run(label, argv)
        total_p += p
        total_f += f
    print("# faults %s: %.0f s" % (args.mode, time.monotonic() - t0))
    print("%d passed, %d failed" % (total_p, total_f))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
