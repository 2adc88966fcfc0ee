"""Every SQL function the module registers is called by some test.

The list of functions is read from the loaded module (pragma_function_list
of a connection with build/migrate.so loaded, minus those of a connection
without it), not written here, so a function added to the engine without a
test fails this suite.  A "call" is the function's name followed by "(" in a
test file of the sql, python or shell suites, with every arity it is
registered with exercised: a test file must hold a call with that many
arguments, found by a small SQL-aware scan of each call's argument list.

Which file calls which function is not hard-coded either: the scan runs over
whatever the suites hold.
"""
import os
import re
import sqlite3
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODULE = os.path.join(ROOT, "build", "migrate")
SUITES = [os.path.join(ROOT, "tests", d) for d in ("sql", "python", "shell")]
THIS = os.path.abspath(__file__)


def registered_functions():
    """{(name, narg)} that loading the module adds to a connection."""
    plain = sqlite3.connect(":memory:")
    base = set(plain.execute("SELECT name, narg FROM pragma_function_list"))
    plain.close()
    conn = sqlite3.connect(":memory:")
    conn.enable_load_extension(True)
    conn.load_extension(MODULE)
    got = set(conn.execute("SELECT name, narg FROM pragma_function_list"))
    conn.close()
    return got - base


def count_args(text, start):
    """Number of top-level arguments of the call whose '(' is at text[start];
    None when the parenthesis is not closed (a call split across strings).
    Quotes and nested parentheses are skipped."""
    depth = 0
    n = 0
    seen = False
    i = start
    while i < len(text):
        c = text[i]
        if c in "'\"":
            j = text.find(c, i + 1)
            if j < 0:
                return None
            seen = True
            i = j + 1
            continue
        if c == "(":
            depth += 1
            if depth > 1:
                seen = True
        elif c == ")":
            depth -= 1
            if depth == 0:
                return n + 1 if seen else 0
        elif c == "," and depth == 1:
            n += 1
        elif not c.isspace() and depth >= 1:
            seen = True
        i += 1
    return None


def calls_in_tests(names):
    """{name: {narg: [file, ...]}} for every call found in the suites,
    leaving out this file."""
    found = {name: {} for name in names}
    pattern = re.compile(r"\b(%s)\s*\(" % "|".join(
        re.escape(n) for n in sorted(names, key=len, reverse=True)))
    for suite in SUITES:
        for dirpath, _dirs, files in os.walk(suite):
            for f in files:
                if not f.endswith((".sql", ".py")):
                    continue
                path = os.path.join(dirpath, f)
                if os.path.abspath(path) == THIS:
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for m in pattern.finditer(text):
                    narg = count_args(text, m.end() - 1)
                    if narg is None:
                        continue
                    rel = os.path.relpath(path, ROOT)
                    found[m.group(1)].setdefault(narg, []).append(rel)
    return found


class CountArgsTest(unittest.TestCase):
    """The scanner itself, so a broken scan cannot pass everything."""

    def test_counts(self):
        cases = [
            ("f()", 0), ("f( )", 0), ("f('a')", 1), ("f('a,b')", 1),
            ("f('a', g(1, 2))", 2), ("f(\"x)\", 2, 3)", 3),
            ("f(a, (b, c))", 2), ("f('it''s', 1)", 2),
        ]
        for text, want in cases:
            self.assertEqual(count_args(text, 1), want, text)

    def test_unclosed(self):
        self.assertIsNone(count_args("f('a', ", 1))


class FunctionCoverageTest(unittest.TestCase):

    def test_every_registered_function_and_arity_is_called(self):
        funcs = registered_functions()
        self.assertIn(("migrate_to", 1), funcs)  # the module really loaded
        found = calls_in_tests({name for name, _ in funcs})
        missing = []
        for name, narg in sorted(funcs):
            if narg < 0:
                ok = bool(found[name])
            else:
                ok = narg in found[name]
            if not ok:
                missing.append("%s with %d argument(s)" % (name, narg))
        self.assertEqual(missing, [],
                         "registered SQL functions that no test calls; add a "
                         "test in tests/sql or tests/python")


if __name__ == "__main__":
    unittest.main()
