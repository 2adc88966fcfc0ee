"""Hostile input (issue #5 item 5): malformed scripts, graphs, bundles,
targets, SQL function arguments and database contents, each refused with
its exact message, and the database left exactly as it was.

    /usr/bin/python3 -m unittest tests/python/test_hostile.py
    MIGRATE_SO=/path/to/migrate /usr/bin/python3 -m unittest tests/python/test_hostile.py
    # under the sanitizers (after `make SANITIZE=1`):
    LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so) \\
      ASAN_OPTIONS=detect_leaks=0 /usr/bin/python3 -m unittest tests/python/test_hostile.py

How it works.  setUpClass writes a good history (GOOD below: two bases, a
branch point with three children, a merge, labels, Depends On) to a temp
folder and migrates a database file to two heads with it, with a user table
beside the bookkeeping.  Each case copies that database, optionally prepares
it (SQL, folders, bundle files), snapshots it (sqlite_schema and every
table's rows, so migrate_version, migrate_log and migrate_scripts
included), runs one SQL statement in a forked child process, and checks:

  - the statement failed with exactly the expected message (a crash of the
    child -- a segfault or a sanitizer abort -- is reported as such instead
    of killing the whole test run);
  - the snapshot afterwards equals the one before.

Cases are rows of CASES: (name, sql, params, expected message).  In sql and
params, {good} is the good folder, {dir} a fresh folder for the case and
{db} the database; a callable param is called with the case folder, so a
case can write the files it needs (a folder of scripts, a bundle file) and
pass what it returns.  Expected messages are the engine's own wording; see
the report of issue #5 for the ones that should be clearer.
"""
import os
import shutil
import signal
import sqlite3
import struct
import tempfile
import unittest
import zlib
import json

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SO = os.environ.get("MIGRATE_SO", os.path.join(ROOT, "build", "migrate"))


# ---------------------------------------------------------------------------
# The good history and helpers that build hostile ones from it

def script(rid, revises="", message=None, labels=None, depends=None,
           up="SELECT 1;", down="SELECT 1;", extra=""):
    """One revision script in the format of README.md, "Revision scripts"."""
    lines = ["-- %s" % (message or "rev " + rid), "--",
             "-- Revision ID: %s" % rid, "-- Revises: %s" % revises]
    if labels:
        lines.append("-- Branch Labels: %s" % labels)
    if depends:
        lines.append("-- Depends On: %s" % depends)
    text = "\n".join(lines) + "\n" + extra
    text += "\n-- migrate:upgrade\n" + up + "\n"
    if down is not None:
        text += "\n-- migrate:downgrade\n" + down + "\n"
    return text


#   aaaa1111 (trunk) - bbbb2222 -+- cccc3333 (search) -+- eeee5555 (merge)
#                                +- cccd4444 (audit) --+
#                                +- ffff6666
#   x1 (other) - x2 (depends on audit)
GOOD = {
    "aaaa1111_base.sql": script(
        "aaaa1111", labels="trunk",
        up="CREATE TABLE a(x);", down="DROP TABLE a;"),
    "bbbb2222_b.sql": script(
        "bbbb2222", "aaaa1111",
        up="CREATE TABLE b(x);", down="DROP TABLE b;"),
    "cccc3333_search.sql": script(
        "cccc3333", "bbbb2222", labels="search",
        up="CREATE TABLE c(x);", down="DROP TABLE c;"),
    "cccd4444_audit.sql": script(
        "cccd4444", "bbbb2222", labels="audit",
        up="CREATE TABLE d(x);", down="DROP TABLE d;"),
    "eeee5555_merge.sql": script(
        "eeee5555", "cccc3333, cccd4444",
        up="CREATE TABLE e(x);", down="DROP TABLE e;"),
    "ffff6666_f.sql": script(
        "ffff6666", "bbbb2222",
        up="CREATE TABLE f(x);", down="DROP TABLE f;"),
    "x1_other.sql": script(
        "x1", labels="other", up="CREATE TABLE x1(x);", down="DROP TABLE x1;"),
    "x2_other.sql": script(
        "x2", "x1", depends="audit",
        up="CREATE TABLE x2(x);", down="DROP TABLE x2;"),
}


def write_folder(folder, files):
    os.makedirs(folder, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return folder


def folder(files):
    """A param: the case folder holding these scripts (path returned)."""
    return lambda d: write_folder(os.path.join(d, "m"), files)


def good_with(**changes):
    """GOOD with files replaced (name=text) or removed (name=None)."""
    files = dict(GOOD)
    for name, text in changes.items():
        name = name.replace("__", ".")
        if text is None:
            files.pop(name, None)
        else:
            files[name] = text
    return folder(files)


def payload(entries):
    """Bundle payload: N times {u32 name length, name, u32 text length,
    text}."""
    out = b""
    for name, text in entries:
        name = name if isinstance(name, bytes) else name.encode()
        text = text if isinstance(text, bytes) else text.encode()
        out += struct.pack("<I", len(name)) + name
        out += struct.pack("<I", len(text)) + text
    return out


def bundle(pay, version=1, size=None, comp=None, crc=None,
           hcrc=None, magic=b"SQLMIGR\x1a", tail=b"", nscript=None):
    """A format-1 bundle file with any field overridden.  (Format 1 is
    still read, see the top of ext/bundle.c; the encoder writes format 2,
    whose damage test_bundle.py's Format2Test covers.)  nscript = script
    count (default: the entries of pay), size = declared payload size, comp
    = the compressed bytes, crc = payload CRC, hcrc = header CRC, tail =
    bytes after the zlib stream that the header counts as compressed
    bytes."""
    if comp is None:
        comp = zlib.compress(pay, 9)
    comp += tail
    if nscript is None:
        nscript = len(good_entries_of(pay))
    head = magic + struct.pack(
        "<IIIII", version, nscript, len(pay) if size is None else size,
        len(comp), zlib.crc32(pay) if crc is None else crc)
    head += struct.pack("<I", zlib.crc32(head) if hcrc is None else hcrc)
    return head + comp


def good_entries_of(pay):
    """The entries of a well-formed payload (for the default script count)."""
    out, off = [], 0
    while off + 4 <= len(pay):
        (n,) = struct.unpack_from("<I", pay, off)
        off += 4 + n
        if off + 4 > len(pay):
            break
        (m,) = struct.unpack_from("<I", pay, off)
        off += 4 + m
        out.append(n)
    return out


GOOD_PAYLOAD = payload(sorted(GOOD.items()))
GOOD_BUNDLE = bundle(GOOD_PAYLOAD)
GOOD_C = len(GOOD_BUNDLE) - 32  # its compressed size
_LAST = sorted(GOOD.items())[-1]
LAST_ENTRY_BYTES = 8 + len(_LAST[0]) + len(_LAST[1].encode())


def bundle_file(data):
    """A param: the case folder's file h.bundle holding these bytes."""
    def make(d):
        path = os.path.join(d, "h.bundle")
        with open(path, "wb") as f:
            f.write(data)
        return path
    return make


MB = "x" * (1 << 20)
LONG_TARGET_MSG = ("migrate_to('%s'): target is 100000 characters long; "
                   "revision ids have at most 64" % MB)
TRUNCATED_OR_PADDED = ("%scorrupt bundle: header says %d compressed bytes, "
                       "file holds %d (truncated or padded?)")
LONG_PATH_MSG = ("migrate_bundle('%s'): cannot open %s: File name too long"
                 % (MB, MB))


# ---------------------------------------------------------------------------
# The cases: (name, sql, params, expected error message)

CASES = [
    # -- scripts: a folder read with migrate_bundle(folder) ----------------
    ("script_no_header",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": "SELECT 1;\n-- migrate:upgrade\nSELECT 2;\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql:1: no header: a script starts with "
     "'-- <message>' and '-- Revision ID: <id>' lines"),
    ("script_no_revision_id",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": "-- msg\n-- Revises:\n\n-- migrate:upgrade\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql: header has no 'Revision ID:' line"),
    ("script_no_revises",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql":
              "-- msg\n-- Revision ID: a1\n\n-- migrate:upgrade\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql: header has no 'Revises:' line "
     "(write '-- Revises:' with nothing after it for a base revision)"),
    ("script_no_upgrade_section",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": "-- msg\n-- Revision ID: a1\n-- Revises:\n\n"
              "-- migrate:downgrade\nDROP TABLE t;\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql: no '-- migrate:upgrade' section"),
    ("script_sql_without_section",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql":
              "-- msg\n-- Revision ID: a1\n-- Revises:\n\nSELECT 1;\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql:5: SQL before '-- "
     "migrate:upgrade'; put statements inside a section"),
    ("script_unknown_key",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", extra="-- Revize: a0\n")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:5: unknown header key 'Revize' "
     "(keys: Revision ID, Revises, Create Date, Branch Labels, Depends On, "
     "Transaction)"),
    ("script_key_twice",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": "-- m\n-- Revision ID: a1\n-- Revises:\n"
              "-- Revision ID: a2\n\n-- migrate:upgrade\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql:4: header key 'Revision ID' given "
     "twice"),
    ("script_id_bad_chars",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("ab-cd")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:3: Revision ID 'ab-cd' may only "
     "hold the characters A-Z a-z 0-9 _"),
    ("script_id_65_chars",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a" * 65)})],
     "migrate_bundle('{dir}/m'): a1_x.sql:3: Revision ID "
     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is "
     "longer than 64 characters"),
    ("script_id_reserved",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("Heads")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:3: Revision ID 'Heads' is a "
     "reserved word (head, heads, base)"),
    ("script_id_sql_injection",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("x'); DROP TABLE t;--")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:3: Revision ID 'x'); DROP TABLE "
     "t;--' may only hold the characters A-Z a-z 0-9 _"),
    ("script_revises_itself",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", "a1")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:4: revision a1 revises itself"),
    ("script_revises_twice",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a0_x.sql": script("a0"), "a1_x.sql": script("a1", "a0, a0")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:4: Revises names 'a0' twice"),
    ("script_unknown_directive",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1") + "-- migrate:sideways\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql:11: unknown directive '-- "
     "migrate:sideways' (expected migrate:upgrade or migrate:downgrade)"),
    ("script_two_upgrade_sections",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", down=None) + "-- migrate:upgrade\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql:8: second '-- migrate:upgrade' "
     "section; each section may occur once"),
    ("script_directive_first",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": "-- migrate:upgrade\nSELECT 1;\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql:1: no header before '-- "
     "migrate:upgrade'; a script starts with '-- <message>' and '-- Revision "
     "ID: <id>' lines"),
    ("script_sql_before_upgrade",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": "-- m\n-- Revision ID: a1\n-- Revises:\n\n"
              "DROP TABLE t;\n-- migrate:upgrade\nSELECT 1;\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql:5: SQL before '-- "
     "migrate:upgrade'; put statements inside a section"),
    ("script_header_line_not_key_value",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", extra="-- just a comment\n")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:5: header line is not 'Key: value' "
     "(keys: Revision ID, Revises, Create Date, Branch Labels, Depends On, "
     "Transaction); end the header with a blank line to write comments"),
    ("script_begin",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", up="BEGIN;\nDROP TABLE t;\nCOMMIT;")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:7: BEGIN in the upgrade section: "
     "scripts must not contain BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or "
     "RELEASE (the engine runs each revision in a transaction); remove it"),
    ("script_rollback_in_downgrade",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", down="SELECT 1;\n  rollback ;")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:11: ROLLBACK in the downgrade "
     "section: scripts must not contain BEGIN, COMMIT, END, ROLLBACK, "
     "SAVEPOINT or RELEASE (the engine runs each revision in a transaction); "
     "remove it"),
    ("script_vacuum_in_transaction",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", up="DELETE FROM t;\nVACUUM;")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:8: VACUUM cannot run inside a "
     "transaction; add '-- Transaction: none' to the header to run this "
     "revision outside one"),
    ("script_pragma_journal_mode",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql":
              script("a1", up="PRAGMA main.journal_mode = WAL;")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:7: PRAGMA journal_mode cannot run "
     "inside a transaction; add '-- Transaction: none' to the header to run "
     "this revision outside one"),
    ("script_pragma_foreign_keys",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", up="PRAGMA foreign_keys = OFF;")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:7: PRAGMA foreign_keys cannot run "
     "inside a transaction; add '-- Transaction: none' to the header to run "
     "this revision outside one"),
    ("script_transaction_value",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1", extra="-- Transaction: maybe\n")})],
     "migrate_bundle('{dir}/m'): a1_x.sql:5: Transaction: 'maybe' is not "
     "understood; the only value is 'none'"),
    ("script_nul_byte",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": script("a1").encode() + b"\0DROP TABLE t;\n"})],
     "migrate_bundle('{dir}/m'): a1_x.sql: file contains a NUL byte; is it a "
     "text file?"),
    ("script_binary_file",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a1_x.sql": bytes(range(256)) * 4})],
     "migrate_bundle('{dir}/m'): a1_x.sql: file contains a NUL byte; is it a "
     "text file?"),
    # -- graphs ----------------------------------------------------------
    ("graph_duplicate_id",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [good_with(zz_copy__sql=script("bbbb2222", "aaaa1111"))],
     "migrate_bundle('{dir}/m'): zz_copy.sql: duplicate Revision ID "
     "'bbbb2222' (also in bbbb2222_b.sql); give one of them a new id"),
    ("graph_unknown_parent",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [good_with(aaaa1111_base__sql=None)],
     "migrate_bundle('{dir}/m'): bbbb2222_b.sql: Revises names unknown "
     "revision 'aaaa1111'; is its file missing from the folder?"),
    ("graph_cycle",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a_x.sql": script("a1", "b1"), "b_x.sql": script("b1", "a1")})],
     "migrate_bundle('{dir}/m'): Cycle is detected in revisions a1 "
     "(a_x.sql), b1 (b_x.sql); fix their 'Revises:' lines"),
    ("graph_dependency_cycle",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a_x.sql": script("a1", depends="b1"),
              "b_x.sql": script("b1", depends="a1")})],
     "migrate_bundle('{dir}/m'): Dependency cycle is detected in revisions "
     "a1 (a_x.sql), b1 (b_x.sql); fix their 'Revises:' or 'Depends On:' "
     "lines"),
    ("graph_depends_on_itself_by_label",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [folder({"a_x.sql": script("a1", labels="mine", depends="mine")})],
     "migrate_bundle('{dir}/m'): a_x.sql: revision a1 depends on itself "
     "(through label 'mine')"),
    ("graph_duplicate_label",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [good_with(ffff6666_f__sql=script("ffff6666", "bbbb2222",
                                       labels="search"))],
     "migrate_bundle('{dir}/m'): ffff6666_f.sql: Branch name 'search' in "
     "revision ffff6666 already used by revision cccc3333 "
     "(cccc3333_search.sql); choose another label"),
    ("graph_label_is_a_revision_id",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [good_with(ffff6666_f__sql=script("ffff6666", "bbbb2222",
                                       labels="aaaa1111"))],
     "migrate_bundle('{dir}/m'): ffff6666_f.sql: Branch name 'aaaa1111' in "
     "revision ffff6666 is also the id of revision aaaa1111 "
     "(aaaa1111_base.sql); choose another label"),
    ("graph_unknown_dependency",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [good_with(x2_other__sql=script("x2", "x1", depends="nosuchlabel"))],
     "migrate_bundle('{dir}/m'): x2_other.sql: Depends On names unknown "
     "revision or branch label 'nosuchlabel'"),
    ("graph_folder_missing",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [lambda d: os.path.join(d, "nothing-here")],
     "migrate_bundle('{dir}/nothing-here'): cannot open {dir}/nothing-here: "
     "No such file or directory"),
    ("graph_path_empty",
     "SELECT migrate_to('head', migrate_bundle(?))", [""],
     "migrate_bundle(''): empty path; give a migrations folder or a bundle "
     "file"),
    ("graph_path_text_file",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [bundle_file(b"-- not a bundle\n")],
     "migrate_bundle('{dir}/h.bundle'): not a bundle: 16 "
     "bytes is shorter than the 32-byte header"),
    # -- bundles: bytes given as the bundle argument or as a file ----------
    ("bundle_empty_blob",
     "SELECT migrate_to('head', ?)", [b""],
     "migrate_to(): not a bundle: 0 bytes is shorter than the 32-byte header"),
    ("bundle_one_byte",
     "SELECT migrate_to('head', ?)", [b"\0"],
     "migrate_to(): not a bundle: 1 bytes is shorter than the 32-byte header"),
    ("bundle_header_only_31_bytes",
     "SELECT migrate_to('head', ?)", [GOOD_BUNDLE[:31]],
     "migrate_to(): not a bundle: 31 bytes is shorter than the 32-byte "
     "header"),
    ("bundle_truncated",
     "SELECT migrate_to('head', ?)", [GOOD_BUNDLE[:-1]],
     TRUNCATED_OR_PADDED % ("migrate_to(): ", GOOD_C, GOOD_C - 1)),
    ("bundle_trailing_byte",
     "SELECT migrate_to('head', ?)", [GOOD_BUNDLE + b"\0"],
     TRUNCATED_OR_PADDED % ("migrate_to(): ", GOOD_C, GOOD_C + 1)),
    ("bundle_file_trailing_bytes",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [bundle_file(GOOD_BUNDLE + b"garbage")],
     TRUNCATED_OR_PADDED % (
         "migrate_bundle('{dir}/h.bundle'): ",
         GOOD_C, GOOD_C + 7)),
    ("bundle_bad_magic",
     "SELECT migrate_to('head', ?)", [b"SQLMIGR\x1b" + GOOD_BUNDLE[8:]],
     "migrate_to(): not a bundle: bad magic (expected a file written by "
     "'mkbundle' or 'sqlite-migrate bundle')"),
    ("bundle_bad_header_crc",
     "SELECT migrate_to('head', ?)", [bundle(GOOD_PAYLOAD, hcrc=1234)],
     "migrate_to(): corrupt bundle: header checksum mismatch"),
    ("bundle_wrong_version",
     "SELECT migrate_to('head', ?)", [bundle(GOOD_PAYLOAD, version=3)],
     "migrate_to(): bundle format version 3 is not supported (this build "
     "reads versions 1 and 2); rebuild the bundle"),
    ("bundle_version_0",
     "SELECT migrate_to('head', ?)", [bundle(GOOD_PAYLOAD, version=0)],
     "migrate_to(): bundle format version 0 is not supported (this build "
     "reads versions 1 and 2); rebuild the bundle"),
    # a format-1 layout labelled 2 is read as format 2: the CRC at offset
    # 24 is the inflated payload's, not the stored index's
    ("bundle_v1_labelled_version_2",
     "SELECT migrate_to('head', ?)", [bundle(GOOD_PAYLOAD, version=2)],
     "migrate_to(): corrupt bundle: index checksum mismatch"),
    ("bundle_bad_payload_crc",
     "SELECT migrate_to('head', ?)", [bundle(GOOD_PAYLOAD, crc=1234)],
     "migrate_to(): corrupt bundle: payload checksum mismatch"),
    ("bundle_size_larger_than_data",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, size=len(GOOD_PAYLOAD) + 1)],
     "migrate_to(): corrupt bundle: zlib stream does not inflate to %d "
     "bytes (the stream ends after %d bytes)"
     % (len(GOOD_PAYLOAD) + 1, len(GOOD_PAYLOAD))),
    ("bundle_size_smaller_than_data",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, size=len(GOOD_PAYLOAD) - 1)],
     "migrate_to(): corrupt bundle: zlib stream does not inflate to %d "
     "bytes (more data than declared)" % (len(GOOD_PAYLOAD) - 1)),
    ("bundle_bomb_ratio",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, size=200 << 20)],
     "migrate_to(): corrupt bundle: payload size 209715200 is impossible for "
     "%d compressed bytes" % GOOD_C),
    ("bundle_over_limit",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, size=(256 << 20) + 1)],
     "migrate_to(): corrupt bundle: payload size 268435457 exceeds the limit "
     "of 268435456 bytes"),
    ("bundle_real_bomb",
     "SELECT migrate_to('head', ?)",
     [bundle(b"", comp=zlib.compress(b"\0" * (8 << 20), 9), size=1000,
             crc=0, nscript=1)],
     "migrate_to(): corrupt bundle: zlib stream does not inflate to 1000 "
     "bytes (more data than declared)"),
    ("bundle_junk_after_zlib_stream",
     "SELECT count(*) FROM migrations(?)",
     [bundle(GOOD_PAYLOAD, tail=b"junk")],
     "migrations: corrupt bundle: zlib stream does not inflate to %d bytes "
     "(4 bytes follow the end of the stream)" % len(GOOD_PAYLOAD)),
    ("bundle_million_scripts",
     "SELECT migrate_to('head', ?)",
     [bundle(b"\0" * 8000000, nscript=1000000)],
     "migrate_to(): corrupt bundle: script 1 has a name of 0 bytes (1 to 255 "
     "bytes, within the 7999996 bytes left)"),
    ("bundle_not_zlib",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, comp=b"\xff" * 64)],
     "migrate_to(): corrupt bundle: zlib stream does not inflate to %d "
     "bytes (bad data)" % len(GOOD_PAYLOAD)),
    ("bundle_too_many_scripts",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, nscript=1000001)],
     "migrate_to(): corrupt bundle: 1000001 scripts cannot fit in %d bytes"
     % len(GOOD_PAYLOAD)),
    ("bundle_scripts_do_not_fit",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, nscript=len(GOOD_PAYLOAD) // 8 + 1)],
     "migrate_to(): corrupt bundle: %d scripts cannot fit in %d bytes"
     % (len(GOOD_PAYLOAD) // 8 + 1, len(GOOD_PAYLOAD))),
    ("bundle_fewer_scripts_than_declared",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, nscript=len(GOOD) + 1)],
     "migrate_to(): corrupt bundle: script %d runs past the end of the "
     "payload" % (len(GOOD) + 1)),
    ("bundle_more_scripts_than_declared",
     "SELECT migrate_to('head', ?)",
     [bundle(GOOD_PAYLOAD, nscript=len(GOOD) - 1)],
     "migrate_to(): corrupt bundle: %d bytes left after the last script"
     % LAST_ENTRY_BYTES),
    ("bundle_name_with_slash",
     "SELECT migrate_to('head', ?)",
     [bundle(payload([("../a1_x.sql", script("a1"))]))],
     "migrate_to(): corrupt bundle: script 1 has an invalid name"),
    ("bundle_name_with_nul",
     "SELECT migrate_to('head', ?)",
     [bundle(payload([(b"a1\0x.sql", script("a1"))]))],
     "migrate_to(): corrupt bundle: script 1 has an invalid name"),
    ("bundle_name_empty",
     "SELECT migrate_to('head', ?)",
     [bundle(payload([("", script("a1"))]))],
     "migrate_to(): corrupt bundle: script 1 has a name of 0 bytes (1 to 255 "
     "bytes, within the 111 bytes left)"),
    ("bundle_name_256_bytes",
     "SELECT migrate_to('head', ?)",
     [bundle(payload([("a" * 252 + ".sql", script("a1"))]))],
     "migrate_to(): corrupt bundle: script 1 has a name of 256 bytes (1 to "
     "255 bytes, within the 367 bytes left)"),
    ("bundle_text_past_end",
     "SELECT migrate_to('head', ?)",
     [bundle(payload([("a1_x.sql", script("a1"))])[:-1], nscript=1)],
     "migrate_to(): corrupt bundle: script 1 runs past the end of the "
     "payload"),
    ("bundle_same_name_twice",
     "SELECT migrate_to('head', ?)",
     [bundle(payload([("a1_x.sql", script("a1")),
                      ("a1_x.sql", script("a2"))]))],
     "migrate_to(): in bundle: two scripts are named a1_x.sql"),
    ("bundle_bad_script_inside",
     "SELECT migrate_to('head', ?)",
     [bundle(payload([("a1_x.sql", "SELECT 1;\n")]))],
     "migrate_to(): in bundle: a1_x.sql:1: no header: a script starts with "
     "'-- <message>' and '-- Revision ID: <id>' lines"),
    # a bundle is not re-split when it is loaded: a crafted one that carries
    # transaction control is refused when the revision is about to run
    ("bundle_commit_inside",
     "SELECT migrate_to('a1', ?)",
     [bundle(payload([("a1_x.sql", script("a1", up="CREATE TABLE t1(x);\n"
                                          "COMMIT;"))]))],
     "migrate_to('a1'): a1_x.sql:8: COMMIT in the upgrade section: "
     "scripts must not contain BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or "
     "RELEASE (the engine runs each revision in a transaction); remove it"),
    ("bundle_vacuum_inside",
     "SELECT migrate_to('a1', ?)",
     [bundle(payload([("a1_x.sql", script("a1", up="VACUUM;"))]))],
     "migrate_to('a1'): a1_x.sql:7: VACUUM cannot run inside a "
     "transaction; add '-- Transaction: none' to the header to run this "
     "revision outside one"),
    ("bundle_bad_graph_inside",
     "SELECT migrate_to('head', ?)",
     [bundle(payload([("a1_x.sql", script("a1", "nope"))]))],
     "migrate_to(): in bundle: a1_x.sql: Revises names unknown revision "
     "'nope'; is its file missing from the folder?"),
    ("bundle_file_bad_magic",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [bundle_file(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)],
     "migrate_bundle('{dir}/h.bundle'): not a bundle: bad "
     "magic (expected a file written by 'mkbundle' or 'sqlite-migrate "
     "bundle')"),
    ("bundle_as_text",
     "SELECT migrate_to('head', ?)", ["{good}"],
     "migrate_to(): the bundle argument must be the BLOB that "
     "migrate_bundle() returns, e.g. migrate_to('head', "
     "migrate_bundle('migrations')); got text"),
    ("bundle_as_integer",
     "SELECT migrate_to('head', ?)", [42],
     "migrate_to(): the bundle argument must be the BLOB that "
     "migrate_bundle() returns, e.g. migrate_to('head', "
     "migrate_bundle('migrations')); got a number"),
    ("bundle_as_real",
     "SELECT migrate_stamp('head', ?)", [1.5],
     "migrate_stamp(): the bundle argument must be the BLOB that "
     "migrate_bundle() returns, e.g. migrate_stamp('head', "
     "migrate_bundle('migrations')); got a number"),
    ("bundle_check_short_blob",
     "SELECT migrate_check(?)", [b"\1\2"],
     "migrate_check(): not a bundle: 2 bytes is shorter than the 32-byte "
     "header"),
    ("bundle_sql_garbage_blob",
     "SELECT migrate_sql('head', ?)", [b"garbage" * 10],
     "migrate_sql(): not a bundle: bad magic (expected a file written by "
     "'mkbundle' or 'sqlite-migrate bundle')"),
    ("bundle_vtab_short_blob",
     "SELECT count(*) FROM migrations(?)", [b"\1\2\3"],
     "migrations: not a bundle: 3 bytes is shorter than the 32-byte header"),
    ("bundle_vtab_text",
     "SELECT count(*) FROM migrations(?)", ["migrations"],
     "migrations: the bundle argument must be the BLOB that migrate_bundle() "
     "returns, e.g. SELECT * FROM migrations(migrate_bundle('migrations'))"),
    # -- targets (the good bundle; the database has heads cccc3333, ffff6666)
    ("target_empty",
     "SELECT migrate_to(?, migrate_bundle(?))", ["", "{good}"],
     "migrate_to(''): empty target; give head, heads, base, a revision, +N "
     "or -N"),
    ("target_null",
     "SELECT migrate_to(?, migrate_bundle(?))", [None, "{good}"],
     "migrate_to(): target is NULL; give head, heads, base, a revision, +N "
     "or -N"),
    ("target_1mb",
     "SELECT migrate_to(?, migrate_bundle(?))", [MB, "{good}"],
     LONG_TARGET_MSG),
    ("target_193_chars",
     "SELECT migrate_to(?, migrate_bundle(?))", ["a" * 193, "{good}"],
     "migrate_to('%s'): target is 193 characters long; revision ids have "
     "at most 64" % ("a" * 193)),
    ("target_unicode",
     "SELECT migrate_to(?, migrate_bundle(?))",
     ["r\u00e9vision\u2603", "{good}"],
     "migrate_to('révision☃'): No such revision or branch 'révision☃'"),
    ("target_at",
     "SELECT migrate_to(?, migrate_bundle(?))", ["@", "{good}"],
     "migrate_to('@'): No such revision or branch '@'; a branch label must "
     "come before '@'"),
    ("target_at_at",
     "SELECT migrate_to(?, migrate_bundle(?))", ["@@", "{good}"],
     "migrate_to('@@'): No such revision or branch '@@'; a branch label must "
     "come before '@'"),
    ("target_plus",
     "SELECT migrate_to(?, migrate_bundle(?))", ["+", "{good}"],
     "migrate_to('+'): No such revision or branch '+'; please ensure at "
     "least four characters are present for partial revision identifier "
     "matches"),
    ("target_minus",
     "SELECT migrate_to(?, migrate_bundle(?))", ["-", "{good}"],
     "migrate_to('-'): No such revision or branch '-'; please ensure at "
     "least four characters are present for partial revision identifier "
     "matches"),
    ("target_huge_step",
     "SELECT migrate_to(?, migrate_bundle(?))", ["+99999999999", "{good}"],
     "migrate_to('+99999999999'): relative step '+99999999999' is too large"),
    ("target_huge_step_down",
     "SELECT migrate_to(?, migrate_bundle(?))",
     ["cccc3333-999999999", "{good}"],
     "migrate_to('cccc3333-999999999'): Walked too far: cccc3333-999999999 "
     "goes past the base"),
    ("target_label_at_nothing",
     "SELECT migrate_to(?, migrate_bundle(?))", ["search@", "{good}"],
     "migrate_to('search@'): No such revision or branch 'search@'; a "
     "revision, head, heads, base or a relative step must come after '@'"),
    ("target_unknown_label_at_nothing",
     "SELECT migrate_to(?, migrate_bundle(?))", ["a@", "{good}"],
     "migrate_to('a@'): No such revision or branch 'a@'; a revision, head, "
     "heads, base or a relative step must come after '@'"),
    ("target_stamp_label_at_nothing",
     "SELECT migrate_stamp(?, migrate_bundle(?))", ["search@", "{good}"],
     "migrate_stamp('search@'): No such revision or branch 'search@'; a "
     "revision, head, heads, base or a relative step must come after '@'"),
    ("target_sql_injection",
     "SELECT migrate_to(?, migrate_bundle(?))",
     ["x'); DROP TABLE t;--", "{good}"],
     "migrate_to('x'); DROP TABLE t;--'): No such revision or branch 'x'); "
     "DROP TABLE t;--'"),
    ("target_sql_injection_stamp",
     "SELECT migrate_stamp(?, migrate_bundle(?))",
     ["'; DELETE FROM migrate_version; --", "{good}"],
     "migrate_stamp(''; DELETE FROM migrate_version; --'): No such revision "
     "or branch ''; DELETE FROM migrate_version; --'"),
    ("target_unknown_revision",
     "SELECT migrate_to(?, migrate_bundle(?))", ["zzzz9999", "{good}"],
     "migrate_to('zzzz9999'): No such revision or branch 'zzzz9999'"),
    ("target_short_unknown",
     "SELECT migrate_to(?, migrate_bundle(?))", ["zz", "{good}"],
     "migrate_to('zz'): No such revision or branch 'zz'; please ensure at "
     "least four characters are present for partial revision identifier "
     "matches"),
    ("target_ambiguous_prefix",
     "SELECT migrate_to(?, migrate_bundle(?))", ["ccc", "{good}"],
     "migrate_to('ccc'): Multiple revisions start with 'ccc': 'cccc3333', "
     "'cccd4444'..."),
    ("target_head_with_several_heads",
     "SELECT migrate_to(?, migrate_bundle(?))", ["head", "{good}"],
     "migrate_to('head'): Multiple head revisions are present for given "
     "argument 'head'; please specify a specific target revision, "
     "'<branchname>@head' to narrow to a specific head, or 'heads' for all "
     "heads (heads: eeee5555, ffff6666, x2)"),
    ("target_minus_one_several_heads",
     "SELECT migrate_to(?, migrate_bundle(?))", ["-1", "{good}"],
     "migrate_to('-1'): Relative revision -1 is ambiguous: the database has "
     "several heads (cccc3333, ffff6666); use '<revision>-1' or "
     "'<branchname>@-1'"),
    ("target_plus_one_several_heads",
     "SELECT migrate_to(?, migrate_bundle(?))", ["+1", "{good}"],
     "migrate_to('+1'): Ambiguous upgrade from multiple current revisions "
     "(cccc3333, ffff6666); use '<branchname>@+1' or '<revision>+1'"),
    ("target_walk_from_branch_point",
     "SELECT migrate_to(?, migrate_bundle(?))", ["bbbb2222+1", "{good}"],
     "migrate_to('bbbb2222+1'): Ambiguous walk: revision bbbb2222 is a "
     "branch point with children (cccc3333, cccd4444, ffff6666); name a "
     "revision or a branch ('<branchname>@+1')"),
    ("target_unknown_branch",
     "SELECT migrate_to(?, migrate_bundle(?))", ["nosuch@head", "{good}"],
     "migrate_to('nosuch@head'): No such branch: 'nosuch'"),
    # (an applied revision off the branch, "audit@cccc3333", is Alembic's
    # downgrade target, which ignores the label: a no-op, not a refusal)
    ("target_revision_not_on_branch",
     "SELECT migrate_to(?, migrate_bundle(?))", ["search@cccd4444", "{good}"],
     "migrate_to('search@cccd4444'): Revision cccd4444 is not a member of "
     "branch 'search'"),
    # the whole argument is echoed, the NUL quoted (it names nothing)
    ("target_embedded_nul",
     "SELECT migrate_to(?, migrate_bundle(?))", ["zz\0head", "{good}"],
     "migrate_to('zz\\x00head'): No such revision or branch "
     "'zz\\x00head'"),
    ("target_integer",
     "SELECT migrate_to(?, migrate_bundle(?))", [2 ** 63 - 1, "{good}"],
     "migrate_to('9223372036854775807'): No such revision or branch "
     "'9223372036854775807'"),
    ("target_real",
     "SELECT migrate_to(?, migrate_bundle(?))", [1e308, "{good}"],
     "migrate_to('1.0e+308'): No such revision or branch '1.0e+308'"),
    ("target_sql_offline_unknown",
     "SELECT migrate_sql(?, migrate_bundle(?))", ["zzzz9999", "{good}"],
     "migrate_sql('zzzz9999'): No such revision or branch 'zzzz9999'"),
    # -- SQL functions: argument counts and types --------------------------
    ("func_to_no_args", "SELECT migrate_to()", [],
     "wrong number of arguments to function migrate_to()"),
    ("func_to_three_args", "SELECT migrate_to('head', NULL, 3)", [],
     "wrong number of arguments to function migrate_to()"),
    ("func_stamp_no_args", "SELECT migrate_stamp()", [],
     "wrong number of arguments to function migrate_stamp()"),
    ("func_sql_three_args", "SELECT migrate_sql(1, 2, 3)", [],
     "wrong number of arguments to function migrate_sql()"),
    ("func_current_one_arg", "SELECT migrate_current(1)", [],
     "wrong number of arguments to function migrate_current()"),
    ("func_check_two_args", "SELECT migrate_check(NULL, NULL)", [],
     "wrong number of arguments to function migrate_check()"),
    ("func_bundle_no_args", "SELECT migrate_bundle()", [],
     "wrong number of arguments to function migrate_bundle()"),
    ("func_bundle_two_args", "SELECT migrate_bundle('a', 'b')", [],
     "wrong number of arguments to function migrate_bundle()"),
    ("func_version_one_arg", "SELECT migrate_version(1)", [],
     "wrong number of arguments to function migrate_version()"),
    ("func_to_null", "SELECT migrate_to(NULL)", [],
     "migrate_to(): target is NULL; give head, heads, base, a revision, +N "
     "or -N"),
    ("func_stamp_null", "SELECT migrate_stamp(NULL)", [],
     "migrate_stamp(): target is NULL; give head, heads, base, a revision, "
     "+N or -N"),
    ("func_sql_null", "SELECT migrate_sql(NULL, migrate_bundle(?))",
     ["{good}"],
     "migrate_sql(): target is NULL; give head, heads, base, a revision, +N "
     "or -N"),
    ("func_bundle_null", "SELECT migrate_bundle(NULL)", [],
     "migrate_bundle(): path is NULL; give a migrations folder or a bundle "
     "file"),
    ("func_bundle_blob_path", "SELECT migrate_bundle(x'00')", [],
     "migrate_bundle(''): empty path; give a migrations folder or a bundle "
     "file"),
    ("func_bundle_integer_path",
     "SELECT migrate_bundle(9223372036854775807)", [],
     "migrate_bundle('9223372036854775807'): cannot open "
     "9223372036854775807: No such file or directory"),
    ("func_bundle_1mb_path", "SELECT migrate_bundle(?)", [MB], LONG_PATH_MSG),
    ("func_check_text", "SELECT migrate_check('migrations')", [],
     "migrate_check(): the bundle argument must be the BLOB that "
     "migrate_bundle() returns, e.g. migrate_check("
     "migrate_bundle('migrations')); got text"),
    ("func_check_negative", "SELECT migrate_check(-1)", [],
     "migrate_check(): the bundle argument must be the BLOB that "
     "migrate_bundle() returns, e.g. migrate_check("
     "migrate_bundle('migrations')); got a number"),
    ("func_to_in_trigger_context",
     "SELECT migrate_to('base', migrate_bundle(?)) FROM t", ["{good}"],
     "migrate_to('base'): must run as a statement of its own, e.g. SELECT "
     "migrate_to(...); it was called from a statement that reads tables "
     "(SELECT ... FROM), which keeps them locked. Nothing was changed"),
    # -- hostile database contents -----------------------------------------
    ("db_stored_bad_parent_list",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [lambda d: prepare(d, """
        UPDATE migrate_version SET version_num = 'zzzz9999'
         WHERE version_num = 'ffff6666';
        INSERT INTO migrate_scripts VALUES
          ('zzzz9999', 'zzzz9999_z.sql', 'ffff6666,''); DROP TABLE t;--',
           '', 'hostile', '00000000', 'DROP TABLE t;', 0);""")],
     "migrate_to('head'): "
     "migrate_scripts row for revision 'zzzz9999' has a bad parent or "
     "dependency list"),
    ("db_stored_cycle",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [lambda d: prepare(d, """
        UPDATE migrate_version SET version_num = 'zzzz9999'
         WHERE version_num = 'ffff6666';
        INSERT INTO migrate_scripts VALUES
          ('zzzz9999', 'zzzz9999_z.sql', 'yyyy8888', '', 'z', '0', NULL, 0),
          ('yyyy8888', 'yyyy8888_y.sql', 'zzzz9999', '', 'y', '0', NULL, 0);
        """)],
     "migrate_to('head'): "
     "the bundle together with the revisions stored in migrate_scripts: "
     "Cycle is detected in revisions yyyy8888 (yyyy8888_y.sql), zzzz9999 "
     "(zzzz9999_z.sql); fix their 'Revises:' lines"),
    ("db_stored_null_file",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [lambda d: prepare(d, """
        UPDATE migrate_version SET version_num = 'zzzz9999'
         WHERE version_num = 'ffff6666';
        INSERT INTO migrate_scripts VALUES
          ('zzzz9999', '', 'nosuch', '', '', 'zz', NULL, 0);""")],
     "migrate_to('head'): "
     "the bundle together with the revisions stored in migrate_scripts: : "
     "Revises names unknown revision 'nosuch'; is its file missing from the "
     "folder?"),
    # a migrate_version of another shape is not the engine's table
    ("db_version_table_hostile",
     "SELECT migrate_to('base', migrate_bundle(?))",
     [lambda d: prepare(d, """
        DROP TABLE migrate_version;
        CREATE TABLE migrate_version(version_num);
        INSERT INTO migrate_version VALUES (NULL), (x'00ff'), (3.5);""")],
     "migrate_to('base'): the table main.migrate_version was not created by "
     "sqlite-migrate (column 1 is 'version_num' where the engine's is "
     "'version_num TEXT NOT NULL PRIMARY KEY'), and the engine keeps its "
     "own records under that name. Nothing was changed. Rename your table "
     "(ALTER TABLE main.migrate_version RENAME TO another name) and call "
     "again"),
    # the engine's table with rows nobody wrote: a blob (read up to its
    # first NUL byte) and a number
    ("db_version_rows_hostile",
     "SELECT migrate_to('base', migrate_bundle(?))",
     [lambda d: prepare(d, """
        DELETE FROM migrate_version;
        INSERT INTO migrate_version VALUES (x'00ff'), (3.5);""")],
     "migrate_to('base'): the database is at revision '', which the bundle does "
     "not know and migrate_scripts does not hold; use the bundle that "
     "applied it (or migrate_stamp() to a revision this bundle has)"),
    ("db_unknown_version",
     "SELECT migrate_to('head', migrate_bundle(?))",
     [lambda d: prepare(d, "UPDATE migrate_version SET version_num = "
                           "'zzzz9999' WHERE version_num = 'ffff6666'")],
     "migrate_to('head'): the database is at revision 'zzzz9999', which the bundle "
     "does not know and migrate_scripts does not hold; use the bundle that "
     "applied it (or migrate_stamp() to a revision this bundle has)"),
]


def prepare(d, sql):
    """A param: run sql on the case database first, return the good folder."""
    conn = sqlite3.connect(os.path.join(d, "case.db"))
    conn.executescript(sql)
    conn.commit()
    conn.close()
    return os.path.join(os.path.dirname(d), "good")


# ---------------------------------------------------------------------------
# Running a case

def extension_problem():
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        return ("this Python's sqlite3 module cannot load extensions; "
                "use /usr/bin/python3")
    if not any(os.path.isfile(SO + s) for s in ("", ".so")):
        return "no extension at %s(.so): run make or set MIGRATE_SO" % SO
    return None


def connect(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.enable_load_extension(True)
    conn.load_extension(SO)
    return conn


def snapshot(path):
    """Everything a call could change: the schema and every table's rows."""
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema "
            "ORDER BY type, name").fetchall()
        rows = {}
        for (name,) in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' "
                "ORDER BY name"):
            data = conn.execute('SELECT * FROM "%s"' % name.replace('"', '""'))
            rows[name] = sorted(data.fetchall(), key=repr)
        return schema, rows
    finally:
        conn.close()


def run_isolated(db, sql, params):
    """Run sql on db in a forked child.  Returns ("error", message),
    ("ok", rows as repr) or ("crash", how)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into unittest
        code = 0
        try:
            os.close(r)
            try:
                conn = connect(db)
                rows = conn.execute(sql, params).fetchall()
                out = ["ok", repr(rows)[:2000]]
            except sqlite3.Error as e:
                out = ["error", str(e)]
            with os.fdopen(w, "w") as f:
                json.dump(out, f)
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ("crash", "killed by signal %d (%s)"
                % (sig, signal.Signals(sig).name))
    if os.WEXITSTATUS(status) != 0 or not text:
        return ("crash", "exit status %d (a sanitizer report is on stderr)"
                % os.WEXITSTATUS(status))
    return tuple(json.loads(text))


class HostileInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        problem = extension_problem()
        if problem:
            raise unittest.SkipTest(problem)
        cls.tmp = tempfile.mkdtemp(prefix="hostile-")
        cls.good = write_folder(os.path.join(cls.tmp, "good"), GOOD)
        cls.db0 = os.path.join(cls.tmp, "pristine.db")
        conn = connect(cls.db0)
        conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t(v) VALUES ('keep me'), ('and me')")
        for target in ("cccc3333", "ffff6666"):
            conn.execute("SELECT migrate_to(?, migrate_bundle(?))",
                         (target, cls.good))
        heads = conn.execute(
            "SELECT version_num FROM migrate_version ORDER BY 1").fetchall()
        conn.close()
        assert heads == [("cccc3333",), ("ffff6666",)], heads

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_at_least_50_cases(self):
        self.assertGreaterEqual(len(CASES), 50)
        names = [c[0] for c in CASES]
        self.assertEqual(len(names), len(set(names)), "case names repeat")

    def run_case(self, name, sql, params, expected):
        """Prepare the case's database and params, run sql in a child.
        Returns (outcome, snapshot before, snapshot after, expected)."""
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        db = os.path.join(d, "case.db")
        shutil.copyfile(self.db0, db)
        names = {"{good}": self.good, "{dir}": d, "{db}": db}

        def subst(x):
            for k, v in names.items():
                x = x.replace(k, v)
            return x
        args = []
        for p in params:
            if callable(p):
                p = p(d)
            elif isinstance(p, str) and p in names:
                p = names[p]
            args.append(p)
        before = snapshot(db)
        got = run_isolated(db, subst(sql), tuple(args))
        after = snapshot(db)
        return got, before, after, subst(expected)

    def check_case(self, name, sql, params, expected):
        got, before, after, want = self.run_case(name, sql, params, expected)
        problems = []
        if got != ("error", want):
            problems.append("expected the error\n  %s\ngot %s\n  %s"
                            % (short(want), got[0], short(got[1])))
        if after != before:
            problems.append("the database changed: "
                            + what_changed(before, after))
        if problems:
            self.fail("\n".join(problems))


def what_changed(before, after):
    """Name the parts of two snapshots that differ."""
    parts = []
    if before[0] != after[0]:
        parts.append("sqlite_schema (%d -> %d objects)"
                     % (len(before[0]), len(after[0])))
    for name in sorted(set(before[1]) | set(after[1])):
        b, a = before[1].get(name), after[1].get(name)
        if b != a:
            parts.append("%s (%s -> %s rows)" % (
                name, "no table" if b is None else len(b),
                "no table" if a is None else len(a)))
    return ", ".join(parts)


def short(text, n=600):
    """Long values (1 MB targets) cut down for failure messages."""
    return text if len(text) <= n else "%s...<%d chars>...%s" % (
        text[:n // 2], len(text), text[-n // 2:])


def _make_test(case):
    return lambda self: self.check_case(*case)


# one test per case, so the suite's counts show each
for _case in CASES:
    setattr(HostileInput, "test_" + _case[0], _make_test(_case))

if __name__ == "__main__":
    unittest.main()
