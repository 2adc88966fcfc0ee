#!/usr/bin/env python3
"""Run every test suite of sqlite-migrate and print one total.

    make test            (builds first, then runs this)
    SANITIZE=1 ...       the .so is ASan-instrumented: preload the runtime
                         into the sqlite3 shell and Python that load it
    VALGRIND=1 ...       run the sql suite's sqlite3 shells under valgrind
                         (memcheck, definite leaks and errors fail a test)

Suites:
  unit    build/test_unit: C tests of the parser, graph, targets and bundle
  sql     tests/sql/*.sql run by the real sqlite3 shell, compared with
          tests/sql/*.expected
  python  tests/python/test_*.py, tests/shell/test_*.py and
          tests/node/test_*.py (stdlib unittest)

The last line is "N passed, N failed"; the exit status is 1 on any failure.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")  # tests find build/ next to them


def sanitizer_env():
    env = dict(os.environ)
    if env.get("SANITIZE") == "1":
        libs = []
        for name in ("libasan.so", "libubsan.so"):
            out = subprocess.run(["gcc", "-print-file-name=" + name],
                                 capture_output=True, text=True).stdout.strip()
            if out and os.path.isabs(out):
                libs.append(out)
        env["LD_PRELOAD"] = ":".join(libs)
        # the host programs (python, sqlite3) are not instrumented and keep
        # memory until exit; leaks are checked in the C suites instead
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


def run_unit(env):
    exe = os.path.join(BUILD, "test_unit")
    p = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True,
                       env=dict(env, LD_PRELOAD=""))
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    m = re.search(r"^(\d+) passed, (\d+) failed$", p.stdout, re.M)
    if not m:
        print("unit: no summary line (exit %d)" % p.returncode)
        return 0, 1
    passed, failed = int(m.group(1)), int(m.group(2))
    if p.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed


def shell_framing(text, shell_version):
    """The shell's error lines as sqlite3 shells before 3.40 print them
    ("Error: near line N: msg", no caret lines under the failing SQL, and
    -echo does not echo a statement that fails to prepare) when the shell
    that ran is older (make test-sqlite-versions runs 3.34's); else text.
    A statement whose preparation fails is one line in the SQL suite."""
    if shell_version >= (3, 40):
        return text
    out, skip = [], 0
    for line in text.split("\n"):
        if skip and line.startswith("  "):
            skip -= 1
            continue
        skip = 0
        m = re.match(r"(Parse|Runtime) error near line (\d+): ", line)
        if m:
            line = "Error: near line %s: %s" % (m.group(2), line[m.end():])
            skip = 2 if m.group(1) == "Parse" else 0
            if m.group(1) == "Parse" and out:
                out.pop()  # its echo
        out.append(line)
    return "\n".join(out)


def sqlite3_shell_version(env):
    """(major, minor) of the sqlite3 shell on PATH."""
    out = subprocess.run(["sqlite3", "-version"], capture_output=True,
                         text=True, env=dict(env, LD_PRELOAD="")).stdout
    m = re.match(r"(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def run_sql(env):
    """Each tests/sql/NAME.sql through the sqlite3 shell with -echo, its
    output and errors in one stream (stdout line-buffered by stdbuf, so each
    error stands under the statement that raised it); the transcript must
    equal NAME.expected.  UPDATE_EXPECTED=1 rewrites the .expected files."""
    d = os.path.join(ROOT, "tests", "sql")
    passed = failed = 0
    shell = sqlite3_shell_version(env)
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not name.endswith(".sql"):
            continue
        script = os.path.join(d, name)
        expected_path = script[:-4] + ".expected"
        cmd = ["sqlite3", "-batch", "-echo", ":memory:"]
        vg_log = None
        if os.environ.get("VALGRIND") == "1":
            vg_log = os.path.join(BUILD, "valgrind-%s.log" % name[:-4])
            cmd = ["valgrind", "-q", "--error-exitcode=99",
                   "--leak-check=full", "--errors-for-leak-kinds=definite",
                   "--log-file=" + vg_log] + cmd
        with open(script, "rb") as f:
            p = subprocess.run(["stdbuf", "-oL"] + cmd, stdin=f, cwd=ROOT,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env)
        got = p.stdout.decode("utf-8", "replace")
        if vg_log and p.returncode == 99:
            with open(vg_log) as f:
                got += "\nvalgrind:\n" + f.read()
        if os.environ.get("UPDATE_EXPECTED") == "1":
            with open(expected_path, "w", encoding="utf-8") as f:
                f.write(got)
        try:
            with open(expected_path, encoding="utf-8") as f:
                want = f.read()
        except FileNotFoundError:
            want = None
        if want is not None:
            want = shell_framing(want, shell)
        if got == want:
            passed += 1
        else:
            failed += 1
            print("FAIL sql/%s" % name)
            if want is None:
                print("  missing %s; output was:\n%s" % (expected_path, got))
            else:
                import difflib
                for line in difflib.unified_diff(
                        want.splitlines(), got.splitlines(), "expected",
                        "got", lineterm=""):
                    print("  " + line)
    print("sql: %d passed, %d failed" % (passed, failed))
    return passed, failed


def run_python(env):
    code = r"""
import sys, unittest
loader = unittest.TestLoader()
suite = unittest.TestSuite()
for d in sys.argv[1:]:
    suite.addTests(loader.discover(d, pattern="test_*.py", top_level_dir=d))
r = unittest.TextTestRunner(verbosity=1).run(suite)
bad = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
print("PYRESULT %d %d %d" % (r.testsRun - bad - len(r.skipped), bad,
                             len(r.skipped)))
"""
    dirs = [os.path.join(ROOT, "tests", x) for x in ("python", "shell", "node")]
    dirs = [d for d in dirs if os.path.isdir(d)]
    python = os.environ.get("PYTHON", "/usr/bin/python3")
    p = subprocess.run([python, "-c", code] + dirs, cwd=ROOT,
                       capture_output=True, text=True, env=env)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    m = re.search(r"^PYRESULT (\d+) (\d+) (\d+)$", p.stdout, re.M)
    if not m:
        print("python: no result (exit %d)" % p.returncode)
        return 0, 1
    passed, failed, skipped = map(int, m.groups())
    if skipped:
        # a skipped test is a test that did not run: count it as a failure
        print("python: %d skipped tests count as failures" % skipped)
        failed += skipped
    print("python: %d passed, %d failed" % (passed, failed))
    return passed, failed


def main():
    env = sanitizer_env()
    total_p = total_f = 0
    suites = (run_unit, run_sql, run_python)
    if "--sql-only" in sys.argv:
        suites = (run_sql,)
    for suite in suites:
        p, f = suite(env)
        total_p += p
        total_f += f
    print("%d passed, %d failed" % (total_p, total_f))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
