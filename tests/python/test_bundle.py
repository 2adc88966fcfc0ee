"""migrate_bundle(path) and the optional bundle argument.

    SELECT migrate_to('head', migrate_bundle('/path/to/migrations'));
    SELECT * FROM migrations(migrate_bundle('/path/to/migrations'));

Small histories are written into temporary folders; a bundle can also be a
file holding the BLOB migrate_bundle() returns.  Bad input (a missing path, a
folder with a broken script, text or garbage where the BLOB belongs) must
give the exact message and change nothing.

Calls that hand the engine a damaged BLOB run in a child process
(helpers.run_python): if one crashes, that test fails and says so, instead
of the whole suite dying with it.
"""

import json
import os
import re
import sqlite3
import struct
import unittest
import zlib

from helpers import (MIGRATIONS, TempDir, close_connections, connect,
                     describe_exit, log_rows, parse_script, parse_text,
                     read_folder,
                     run_python, schema_rows, snapshot, table_exists,
                     versions,
                     write_revision)


def linear_history(folder):
    """a1 -> b2 -> c3: a table, some rows, a column."""
    write_revision(folder, "a1", "", "CREATE TABLE items(id INTEGER PRIMARY "
                   "KEY, name TEXT NOT NULL);", "DROP TABLE items;",
                   message="Create items", slug="create_items")
    write_revision(folder, "b2", "a1", "INSERT INTO items(name) VALUES "
                   "('one'), ('two');", "DELETE FROM items;",
                   message="Seed items", slug="seed_items")
    write_revision(folder, "c3", "b2", "ALTER TABLE items ADD COLUMN "
                   "price REAL;", "SELECT migrate_rebuild('items', 'CREATE TABLE "
                   "items(id INTEGER PRIMARY KEY, name TEXT NOT NULL)');",
                   message="Add price", slug="add_price")


# ---------------------------------------------------------------------------
# Bundles written and read here, independently of the engine (the format is
# the top comment of ext/bundle.c)

MAGIC = b"SQLMIGR\x1a"
CHUNK_SIZE = 128 * 1024  # inflated bytes of scripts per chunk (bundle.c)
LIMIT = 256 << 20  # MIG_MAX_PAYLOAD


def crc(data):
    return zlib.crc32(data) & 0xffffffff


def raw_deflate(data, level=1):
    """Raw deflate (no zlib header) as the encoder writes it: level 1 is
    what migrate_bundle() uses, and gives the engine's bytes exactly."""
    z = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    return z.compress(data) + z.flush()


def raw_inflate(data):
    z = zlib.decompressobj(-15)
    out = z.decompress(data)
    if not z.eof or z.unused_data:
        raise ValueError("not one whole raw deflate stream")
    return out


def header_len(text):
    """Bytes of a script's header: its leading '--' lines that are not
    '-- migrate:' directives (bundle.c splits each script there)."""
    pos = 0
    while pos < len(text):
        eol = text.find(b"\n", pos)
        end = len(text) if eol < 0 else eol
        line = text[pos:end]
        if not line.startswith(b"--") or re.match(
                rb"--[ \t]*migrate:", line, re.I):
            break
        pos = len(text) if eol < 0 else eol + 1
    return pos


def read_scripts(folder):
    """{file name: text as bytes} of the *.sql files of a folder (LF line
    endings, as the test folders are written), but schema.sql (a declared
    schema, which the bundler skips)."""
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".sql") and not name.startswith(".") and \
                name != "schema.sql":
            with open(os.path.join(folder, name), "rb") as f:
                out[name] = f.read()
    return out


def v1_blob(scripts, version=1, size=None, crc_=None, comp=None):
    """A format-1 bundle of {name: text}: one zlib stream of N times {u32
    name length, name, u32 text length, text} in name order.  size, crc_ and
    comp override the header's payload size, payload CRC and the stream."""
    pay = b""
    for name in sorted(scripts):
        pay += struct.pack("<I", len(name)) + name.encode()
        pay += struct.pack("<I", len(scripts[name])) + scripts[name]
    if comp is None:
        comp = zlib.compress(pay, 9)
    head = MAGIC + struct.pack(
        "<IIIII", version, len(scripts), len(pay) if size is None else size,
        len(comp), crc(pay) if crc_ is None else crc_)
    return head + struct.pack("<I", crc(head)) + comp


def reseal(blob):
    """Recompute the header checksum (bytes 28..31) of a bundle."""
    b = bytearray(blob)
    b[28:32] = struct.pack("<I", crc(bytes(b[:28])))
    return bytes(b)


def with_u32(blob, offset, value):
    """blob with the u32 at offset replaced, the header checksum resealed."""
    b = bytearray(blob)
    b[offset:offset + 4] = struct.pack("<I", value)
    return reseal(b)


class V2:
    """A format-2 bundle taken apart, to change any part and pack() again.

    entries: in the index's order (history order), each a dict with pos
    (place in name order), name, head (the header text), chunk, body (the
    text after the header) and checksum (of the upgrade section); an entry
    may also carry off and nbody, which then replace the computed ones.
    Chunk texts are the bodies of their entries in entry order.  The dicts
    chunk_stored, chunk_raw and chunk_crc replace a chunk's stored bytes,
    inflated size or checksum in the bundle."""

    def __init__(self, entries, nchunk):
        self.entries = entries
        self.nchunk = nchunk
        self.chunk_stored, self.chunk_raw, self.chunk_crc = {}, {}, {}

    @classmethod
    def from_scripts(cls, scripts, order=None, chunk_size=CHUNK_SIZE):
        """From {name: text}; order: the names in the order the entries go
        (default name order).  Chunks close as the encoder closes them:
        before a script once they hold chunk_size bytes or more."""
        order = list(order or sorted(scripts))
        rank = {name: i for i, name in enumerate(sorted(scripts))}
        entries, chunk, size = [], 0, 0
        for name in order:
            text = scripts[name]
            n = header_len(text)
            if size >= chunk_size:
                chunk, size = chunk + 1, 0
            entries.append(dict(
                pos=rank[name], name=name.encode(), head=text[:n],
                chunk=chunk, body=text[n:], checksum=int(
                    parse_text(text, name)["checksum"], 16)))
            size += len(text) - n
        return cls(entries, chunk + 1 if entries else 0)

    @classmethod
    def parse(cls, blob):
        """Take a well-formed bundle apart (checking every size and CRC)."""
        magic, version, n, u, c, crc_idx, crc_head = struct.unpack_from(
            "<8sIIIIII", blob)
        assert (magic, version) == (MAGIC, 2), (magic, version)
        assert crc(blob[:28]) == crc_head and crc(blob[32:32 + c]) == crc_idx
        idx = raw_inflate(blob[32:32 + c])
        assert len(idx) == u
        nchunk, area = struct.unpack_from("<II", idx)
        assert area == len(blob) - 32 - c
        off, start, texts = 8, 32 + c, []
        for _ in range(nchunk):
            stored, raw, crc_chunk = struct.unpack_from("<III", idx, off)
            off += 12
            data = blob[start:start + stored]
            start += stored
            assert crc(data) == crc_chunk
            texts.append(raw_inflate(data))
            assert len(texts[-1]) == raw
        assert start == len(blob)
        entries = []
        for _ in range(n):
            pos, nname = struct.unpack_from("<II", idx, off)
            name = idx[off + 8:off + 8 + nname]
            off += 8 + nname
            (nhead,) = struct.unpack_from("<I", idx, off)
            head = idx[off + 4:off + 4 + nhead]
            off += 4 + nhead
            chunk, at, nbody, checksum = struct.unpack_from("<IIII", idx, off)
            off += 16
            entries.append(dict(pos=pos, name=name, head=head, chunk=chunk,
                                body=texts[chunk][at:at + nbody],
                                checksum=checksum))
        assert off == len(idx)
        return cls(entries, nchunk)

    def copy(self):
        v = V2([dict(e) for e in self.entries], self.nchunk)
        v.chunk_stored = dict(self.chunk_stored)
        v.chunk_raw = dict(self.chunk_raw)
        v.chunk_crc = dict(self.chunk_crc)
        return v

    def entry(self, name):
        """The entry of the script so named."""
        for e in self.entries:
            if e["name"] == name.encode():
                return e
        raise KeyError(name)

    def chunks(self):
        """[(inflated text, stored bytes)] and sets each entry's offset."""
        texts = [b""] * self.nchunk
        for e in self.entries:
            if e["chunk"] < self.nchunk:
                e["_off"] = len(texts[e["chunk"]])
                texts[e["chunk"]] += e["body"]
        return [(t, self.chunk_stored.get(k, raw_deflate(t)))
                for k, t in enumerate(texts)]

    def index(self, chunks, area=None, nchunk=None):
        """The index (uncompressed) for these chunks; area and nchunk
        replace its chunk-area size and chunk count."""
        out = struct.pack("<II", self.nchunk if nchunk is None else nchunk,
                          sum(len(s) for _, s in chunks)
                          if area is None else area)
        for k, (text, stored) in enumerate(chunks):
            out += struct.pack("<III", len(stored),
                               self.chunk_raw.get(k, len(text)),
                               self.chunk_crc.get(k, crc(stored)))
        for e in self.entries:
            out += struct.pack("<II", e["pos"], len(e["name"])) + e["name"]
            out += struct.pack("<I", len(e["head"])) + e["head"]
            out += struct.pack("<IIII", e["chunk"], e.get("off", e.get("_off",
                               0)), e.get("nbody", len(e["body"])),
                               e["checksum"])
        return out

    def pack(self, version=2, nscript=None, index=None, index_size=None,
             index_stored=None, index_crc=None, area=None, nchunk=None,
             tail=b""):
        """The bundle's bytes.  Each argument replaces a part: index (the
        uncompressed index), index_size (U), index_stored (the stored
        index), index_crc, area (the index's chunk-area size), nchunk, tail
        (bytes after the chunks)."""
        chunks = self.chunks()
        if index is None:
            index = self.index(chunks, area, nchunk)
        if index_stored is None:
            index_stored = raw_deflate(index)
        head = MAGIC + struct.pack(
            "<IIIII", version,
            len(self.entries) if nscript is None else nscript,
            len(index) if index_size is None else index_size,
            len(index_stored),
            crc(index_stored) if index_crc is None else index_crc)
        head += struct.pack("<I", crc(head))
        return (head + index_stored + b"".join(s for _, s in chunks) + tail)


class FolderBundleTest(unittest.TestCase):

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.folder = self.tmp.path("migrations")
        linear_history(self.folder)
        self.conn = connect(self.tmp.path("app.db"))

    def to(self, target, folder=None):
        return self.conn.execute("SELECT migrate_to(?, migrate_bundle(?))",
                                 (target, folder or self.folder)).fetchone()[0]

    def test_upgrade_and_downgrade_with_a_folder(self):
        self.assertEqual(self.to("head"), "c3")
        self.assertEqual(
            self.conn.execute("SELECT * FROM items ORDER BY id").fetchall(),
            [(1, "one", None), (2, "two", None)])
        self.assertEqual(versions(self.conn), ["c3"])
        revs = read_folder(self.folder)
        self.assertEqual(log_rows(self.conn), [
            (1, "a1", "upgrade", None, "a1", revs["a1"]["checksum"]),
            (2, "b2", "upgrade", "a1", "b2", revs["b2"]["checksum"]),
            (3, "c3", "upgrade", "b2", "c3", revs["c3"]["checksum"]),
        ])
        self.assertEqual(self.to("a1"), "a1")
        self.assertEqual(self.conn.execute("SELECT * FROM items").fetchall(),
                         [])
        self.assertEqual(
            [r[1] for r in self.conn.execute("PRAGMA table_info(items)")],
            ["id", "name"])
        self.assertEqual(self.to("base"), None)
        self.assertFalse(table_exists(self.conn, "items"))
        self.assertEqual(versions(self.conn), [])
        self.assertEqual([r[1:5] for r in log_rows(self.conn)[3:]], [
            ("c3", "downgrade", "c3", "b2"),
            ("b2", "downgrade", "b2", "a1"),
            ("a1", "downgrade", "a1", None),
        ])
        # the embedded bundle does not know a1..c3, but at base that is fine
        self.assertEqual(self.conn.execute("SELECT migrate_current()")
                         .fetchone(), (None,))

    def test_migrations_table_of_a_folder(self):
        rows = self.conn.execute(
            "SELECT * FROM migrations(migrate_bundle(?))",
            (self.folder,)).fetchall()
        revs = read_folder(self.folder)
        self.assertEqual(rows, [
            ("a1", None, "Create items", None, None, None, 0, 1, 0, 0, 0,
             revs["a1"]["checksum"],
             "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT "
             "NULL);\n\n", "DROP TABLE items;\n"),
            ("b2", "a1", "Seed items", None, None, None, 0, 0, 0, 0, 0,
             revs["b2"]["checksum"],
             "INSERT INTO items(name) VALUES ('one'), ('two');\n\n",
             "DELETE FROM items;\n"),
            ("c3", "b2", "Add price", None, None, None, 1, 0, 0, 0, 0,
             revs["c3"]["checksum"],
             "ALTER TABLE items ADD COLUMN price REAL;\n\n",
             "SELECT migrate_rebuild('items', 'CREATE TABLE items(id INTEGER "
             "PRIMARY KEY, name TEXT NOT NULL)');\n"),
        ])
        self.to("b2")
        self.assertEqual(self.conn.execute(
            "SELECT revision, is_current, is_applied FROM "
            "migrations(migrate_bundle(?))", (self.folder,)).fetchall(),
            [("a1", 0, 1), ("b2", 1, 1), ("c3", 0, 0)])
        # the same with the bundle as a named hidden column
        self.assertEqual(self.conn.execute(
            "SELECT revision FROM migrations WHERE bundle = "
            "migrate_bundle(?)", (self.folder,)).fetchall(),
            [("a1",), ("b2",), ("c3",)])
        self.assertEqual(self.conn.execute(
            "SELECT revision, direction, message, checksum_ok FROM "
            "migration_history(migrate_bundle(?))", (self.folder,))
            .fetchall(),
            [("a1", "upgrade", "Create items", 1),
             ("b2", "upgrade", "Seed items", 1)])
        # against the embedded bundle the same log rows have no message
        self.assertEqual(self.conn.execute(
            "SELECT revision, message, checksum_ok FROM migration_history")
            .fetchall(), [("a1", None, None), ("b2", None, None)])

    def test_labels_depends_and_merge_columns(self):
        folder = self.tmp.path("branches")
        write_revision(folder, "base1", "", "CREATE TABLE t(x);",
                       "DROP TABLE t;")
        write_revision(folder, "left1", "base1", "INSERT INTO t VALUES "
                       "('left');", "DELETE FROM t WHERE x = 'left';",
                       headers=["Branch Labels: lefty, l2"])
        write_revision(folder, "right1", "base1", "INSERT INTO t VALUES "
                       "('right');", "DELETE FROM t WHERE x = 'right';",
                       headers=["Create Date: 2026-01-02 03:04:05"])
        write_revision(folder, "other1", "", "CREATE TABLE o(x);",
                       "DROP TABLE o;", headers=["Branch Labels: other"])
        write_revision(folder, "merge1", "left1, right1", "SELECT 1;",
                       "SELECT 1;", headers=["Depends On: other"])
        rows = self.conn.execute(
            "SELECT revision, down_revision, create_date, branch_labels, "
            "depends_on, is_head, is_base, is_merge FROM "
            "migrations(migrate_bundle(?))", (folder,)).fetchall()
        by_id = {r[0]: r[1:] for r in rows}
        self.assertEqual(by_id, {
            "base1": (None, None, None, None, 0, 1, 0),
            "left1": ("base1", None, "lefty,l2", None, 0, 0, 0),
            "right1": ("base1", "2026-01-02 03:04:05", None, None, 0, 0, 0),
            "other1": (None, None, "other", None, 1, 1, 0),  # as Alembic: a
            # revision only depended on has no child, so it is a head
            "merge1": ("left1,right1", None, None, "other", 1, 0, 1),
        })
        order = [r[0] for r in rows]
        for child, parents in (("left1", ["base1"]), ("right1", ["base1"]),
                               ("merge1", ["left1", "right1"])):
            for p in parents:
                self.assertLess(order.index(p), order.index(child))
        # Depends On is applied first, not a parent
        self.assertEqual(self.to("merge1", folder), "merge1")
        self.assertEqual(sorted(r[0] for r in self.conn.execute(
            "SELECT x FROM t")), ["left", "right"])
        self.assertTrue(table_exists(self.conn, "o"))
        self.assertEqual(versions(self.conn), ["merge1"])

    def test_crlf_and_bom_do_not_change_the_checksum(self):
        lf, crlf = self.tmp.path("lf"), self.tmp.path("crlf")
        up = "CREATE TABLE t(\n  x TEXT\n);\nINSERT INTO t VALUES ('a;b');"
        write_revision(lf, "r1", "", up, "DROP TABLE t;")
        name = write_revision(crlf, "r1", "", up, "DROP TABLE t;",
                              newline="\r\n")
        path = os.path.join(crlf, name)
        with open(path, "rb") as f:
            data = f.read()
        self.assertIn(b"\r\n", data)
        with open(path, "wb") as f:
            f.write(b"\xef\xbb\xbf" + data)
        want = parse_script(os.path.join(lf, name))
        self.assertEqual(parse_script(path)["checksum"], want["checksum"])
        self.assertEqual(want["checksum"], "%08x" % zlib.crc32(
            (up + "\n\n").encode()))
        for folder in (lf, crlf):
            with self.subTest(folder=os.path.basename(folder)):
                self.assertEqual(self.conn.execute(
                    "SELECT checksum, upgrade_sql, downgrade_sql FROM "
                    "migrations(migrate_bundle(?))", (folder,)).fetchall(),
                    [(want["checksum"], up + "\n\n", "DROP TABLE t;\n")])

    def test_bundle_file_round_trip(self):
        blob = self.conn.execute("SELECT migrate_bundle(?)",
                                 (self.folder,)).fetchone()[0]
        self.assertIsInstance(blob, bytes)
        self.assertEqual(blob[:8], b"SQLMIGR\x1a")
        path = self.tmp.path("history.bundle")
        with open(path, "wb") as f:
            f.write(blob)
        from_file = self.conn.execute(
            "SELECT * FROM migrations(migrate_bundle(?))", (path,)).fetchall()
        from_folder = self.conn.execute(
            "SELECT * FROM migrations(migrate_bundle(?))",
            (self.folder,)).fetchall()
        self.assertEqual(from_file, from_folder)
        self.assertEqual(self.to("head", path), "c3")
        # a BLOB kept by the application works as well
        self.assertEqual(self.conn.execute("SELECT migrate_to('a1', ?)",
                                           (blob,)).fetchone(), ("a1",))
        self.assertEqual(versions(self.conn), ["a1"])

    def test_bundle_of_the_example_folder_equals_the_embedded_one(self):
        self.assertEqual(
            self.conn.execute("SELECT * FROM migrations(migrate_bundle(?))",
                              (MIGRATIONS,)).fetchall(),
            self.conn.execute("SELECT * FROM migrations").fetchall())

    def test_only_sql_files_are_read(self):
        with open(os.path.join(self.folder, "README.md"), "w") as f:
            f.write("not a script")
        with open(os.path.join(self.folder, ".draft.sql"), "w") as f:
            f.write("not a script either")
        with open(os.path.join(self.folder, "notes.sql.bak"), "w") as f:
            f.write("nor this")
        os.mkdir(os.path.join(self.folder, "old.sql"))
        self.assertEqual(self.conn.execute(
            "SELECT group_concat(revision) FROM migrations(migrate_bundle(?))",
            (self.folder,)).fetchone(), ("a1,b2,c3",))

    def test_empty_folder(self):
        """In a child process: an empty folder hands qsort() a NULL array
        (bundle.c fromNamed), undefined behaviour that stops the process
        under UBSan (make SANITIZE=1 test)."""
        empty = self.tmp.path("empty")
        os.mkdir(empty)
        code = (
            "import json, sys\n"
            "from helpers import connect, snapshot\n"
            "conn = connect(sys.argv[1])\n"
            "before = snapshot(conn)\n"
            "n = conn.execute('SELECT count(*) FROM migrations("
            "migrate_bundle(?))', (sys.argv[2],)).fetchone()[0]\n"
            "to = conn.execute('SELECT migrate_to(\\'head\\', "
            "migrate_bundle(?))', (sys.argv[2],)).fetchone()[0]\n"
            "print(json.dumps([n, to, snapshot(conn) == before]))\n")
        p = run_python(code, self.tmp.path("app.db"), empty)
        if p.returncode != 0:
            self.fail("an empty migrations folder: the process was %s\n%s"
                      % (describe_exit(p), p.stderr[-2000:]))
        self.assertEqual(json.loads(p.stdout), [0, None, True])


class BadBundleTest(unittest.TestCase):
    """Each refusal: the exact message, and the database unchanged."""

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.db = self.tmp.path("app.db")
        self.conn = connect(self.db)
        self.conn.execute("SELECT migrate_to('7b5e0d3f8c21')")

    def assertRefused(self, sql, args, message):
        before = snapshot(self.conn)
        with self.assertRaises(sqlite3.Error) as cm:
            self.conn.execute(sql, args).fetchall()
        self.assertEqual(str(cm.exception), message)
        self.assertEqual(snapshot(self.conn), before)
        return cm.exception

    def test_null_target(self):
        for f in ("migrate_to", "migrate_stamp"):
            with self.subTest(function=f):
                self.assertRefused(
                    "SELECT %s(NULL)" % f, (),
                    "%s(): target is NULL; give head, heads, base, a "
                    "revision, +N or -N" % f)
        self.assertRefused(
            "SELECT migrate_sql(NULL)", (),
            "migrate_sql(): target is NULL; give head, heads, base, a "
            "revision, +N or -N")

    def test_text_or_number_instead_of_a_bundle(self):
        for f in ("migrate_to", "migrate_stamp", "migrate_sql"):
            for arg, kind in (("migrations", "text"), (42, "a number"),
                              (4.5, "a number")):
                with self.subTest(function=f, arg=arg):
                    self.assertRefused(
                        "SELECT %s('head', ?)" % f, (arg,),
                        "%s(): the bundle argument must be the BLOB that "
                        "migrate_bundle() returns, e.g. %s('head', "
                        "migrate_bundle('migrations')); got %s"
                        % (f, f, kind))
        for table in ("migrations", "migration_history"):
            with self.subTest(table=table):
                self.assertRefused(
                    "SELECT * FROM %s(?)" % table, ("migrations",),
                    "%s: the bundle argument must be the BLOB that "
                    "migrate_bundle() returns, e.g. SELECT * FROM "
                    "%s(migrate_bundle('migrations'))" % (table, table))

    def test_text_instead_of_a_bundle_for_migrate_check(self):
        # migrate_check takes only the bundle: its example must not show a
        # target (migrate_check('head', ...) is a wrong-argument-count error)
        self.assertRefused(
            "SELECT migrate_check(?)", ("migrations",),
            "migrate_check(): the bundle argument must be the BLOB that "
            "migrate_bundle() returns, e.g. migrate_check("
            "migrate_bundle('migrations')); got text")

    def test_missing_path(self):
        missing = self.tmp.path("no", "such")
        self.assertRefused(
            "SELECT migrate_to('head', migrate_bundle(?))", (missing,),
            "migrate_bundle('%s'): cannot open %s: No such file or directory"
            % (missing, missing))
        self.assertRefused(
            "SELECT migrate_bundle(NULL)", (),
            "migrate_bundle(): path is NULL; give a migrations folder or a "
            "bundle file")
        self.assertRefused(
            "SELECT migrate_bundle('')", (),
            "migrate_bundle(''): empty path; give a migrations folder or a "
            "bundle file")

    def test_file_that_is_not_a_bundle(self):
        path = self.tmp.path("notes.txt")
        with open(path, "w") as f:
            f.write("hello, this file is longer than a bundle header\n")
        self.assertRefused(
            "SELECT migrate_bundle(?)", (path,),
            "migrate_bundle('%s'): not a bundle: bad magic (expected a "
            "file written by 'mkbundle' or 'sqlite-migrate bundle')"
            % (path,))

    def bad_folder(self, name, files):
        folder = self.tmp.path(name)
        os.makedirs(folder)
        for fname, text in files.items():
            with open(os.path.join(folder, fname), "w") as f:
                f.write(text)
        return folder

    def test_bad_folders_name_the_file(self):
        ok = ("-- ok\n-- Revision ID: a1\n-- Revises:\n\n"
              "-- migrate:upgrade\nSELECT 1;\n")
        cases = [
            ("noheader", {"x.sql": "CREATE TABLE a(x);\n"},
             "x.sql:1: no header: a script starts with '-- <message>' and "
             "'-- Revision ID: <id>' lines"),
            ("duplicate", {"a1_x.sql": ok, "a1_y.sql": ok},
             "a1_y.sql: duplicate Revision ID 'a1' (also in a1_x.sql); give "
             "one of them a new id"),
            ("unknownparent", {"a1_x.sql": ok.replace("Revises:",
                                                      "Revises: zz")},
             "a1_x.sql: Revises names unknown revision 'zz'; is its file "
             "missing from the folder?"),
            ("cycle", {
                "a1_x.sql": ok.replace("Revises:", "Revises: b2"),
                "b2_x.sql": ok.replace("a1", "b2").replace("Revises:",
                                                           "Revises: a1")},
             "Cycle is detected in revisions a1 (a1_x.sql), b2 (b2_x.sql); "
             "fix their 'Revises:' lines"),
            ("typo", {"a1_x.sql": ok.replace("-- Revises:\n",
                                             "-- Revises:\n-- Revison: x\n")},
             "a1_x.sql:4: unknown header key 'Revison' (keys: Revision ID, "
             "Revises, Create Date, Branch Labels, Depends On, Transaction)"),
            ("begin", {"a1_x.sql": ok.replace("SELECT 1;",
                                              "BEGIN;\nSELECT 1;")},
             "a1_x.sql:6: BEGIN in the upgrade section: scripts must not "
             "contain BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or RELEASE (the "
             "engine runs each revision in a transaction); remove it"),
            ("vacuum", {"a1_x.sql": ok.replace("SELECT 1;", "VACUUM;")},
             "a1_x.sql:6: VACUUM cannot run inside a transaction; add "
             "'-- Transaction: none' to the header to run this revision "
             "outside one"),
            ("noupgrade", {"a1_x.sql": ok.replace("-- migrate:upgrade\n"
                                                  "SELECT 1;\n", "")},
             "a1_x.sql: no '-- migrate:upgrade' section"),
        ]
        for name, files, message in cases:
            with self.subTest(case=name):
                folder = self.bad_folder(name, files)
                self.assertRefused(
                    "SELECT migrate_to('head', migrate_bundle(?))", (folder,),
                    "migrate_bundle('%s'): %s" % (folder, message))


# A child process: run one SQL call with a BLOB argument, print the outcome
# as JSON.  argv: sql, hex of the blob.
CHILD = r"""
import json, sys
from helpers import connect
conn = connect()
try:
    out = {"rows": conn.execute(sys.argv[1],
                                (bytes.fromhex(sys.argv[2]),)).fetchall()}
except Exception as e:
    out = {"error": str(e), "type": type(e).__name__}
print(json.dumps(out))
"""


class DamagedBlobTest(unittest.TestCase):
    """Garbage where the bundle BLOB belongs: a clear 'not a bundle' or
    'corrupt bundle' error, never a crash.

    self.blob is format 2, as migrate_bundle() writes it; self.v1 holds the
    same scripts in format 1 (built here: the encoder writes format 2 only,
    and format 1 must still be read).  Format 2's other refusals are in
    Format2Test."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.blob = connect().execute("SELECT migrate_bundle(?)",
                                     (MIGRATIONS,)).fetchone()[0]
        cls.v1 = v1_blob(read_scripts(MIGRATIONS))
        cls.u, cls.c = struct.unpack_from("<II", cls.blob, 16)  # index sizes
        cls.area = len(cls.blob) - 32 - cls.c  # the chunks' size
        cls.pay = struct.unpack_from("<I", cls.v1, 16)[0]  # format 1 sizes
        cls.comp = len(cls.v1) - 32

    def call(self, sql, blob):
        p = run_python(CHILD, sql, bytes(blob).hex())
        if p.returncode != 0 or not p.stdout.strip():
            self.fail("%s with a %d-byte BLOB: the process was %s\n%s"
                      % (sql, len(blob), describe_exit(p), p.stderr[-2000:]))
        return json.loads(p.stdout)

    def assertCallError(self, blob, message, functions=None):
        calls = functions or [
            ("SELECT migrate_to('head', ?)", "migrate_to(): "),
            ("SELECT migrate_sql('head', ?)", "migrate_sql(): "),
            ("SELECT migrate_check(?)", "migrate_check(): "),
            ("SELECT count(*) FROM migrations(?)", "migrations: "),
        ]
        for sql, prefix in calls:
            with self.subTest(sql=sql):
                self.assertEqual(self.call(sql, blob).get("error"),
                                 prefix + message)

    def test_good_blob_in_a_child(self):
        self.assertEqual(self.blob[8:12], struct.pack("<I", 2))
        for name, blob in (("format 2", self.blob), ("format 1", self.v1)):
            with self.subTest(format=name):
                self.assertEqual(
                    self.call("SELECT migrate_to('head', ?)", blob),
                    {"rows": [["f05c3b8d2e76"]]})

    def test_empty_blob(self):
        self.assertCallError(b"", "not a bundle: 0 bytes is shorter than "
                             "the 32-byte header")

    def test_one_byte_blob(self):
        self.assertCallError(b"\x00", "not a bundle: 1 bytes is shorter "
                             "than the 32-byte header")

    def test_bad_magic(self):
        self.assertCallError(bytes(40), "not a bundle: bad magic (expected a "
                             "file written by 'mkbundle' or 'sqlite-migrate "
                             "bundle')")

    def test_header_checksum(self):
        for name, blob in (("format 2", self.blob), ("format 1", self.v1)):
            with self.subTest(format=name):
                b = bytearray(blob)
                b[12] ^= 1
                self.assertCallError(
                    b, "corrupt bundle: header checksum mismatch")

    def test_format_version(self):
        for name, blob in (("format 2", self.blob), ("format 1", self.v1)):
            with self.subTest(format=name):
                self.assertCallError(
                    with_u32(blob, 8, 3), "bundle format version 3 is not "
                    "supported (this build reads versions 1 and 2); rebuild "
                    "the bundle")

    def test_format_version_that_does_not_match_the_layout(self):
        # format 1 labelled 2: its CRC at 24 is of the inflated payload
        self.assertCallError(with_u32(self.v1, 8, 2),
                             "corrupt bundle: index checksum mismatch")
        # format 2 labelled 1: the stream at 32 is the index only
        self.assertCallError(
            with_u32(self.blob, 8, 1), "corrupt bundle: header says %d "
            "compressed bytes, file holds %d (truncated or padded?)"
            % (self.c, len(self.blob) - 32))

    def test_truncated(self):
        self.assertCallError(
            self.blob[:-1], "corrupt bundle: the index says the chunks take "
            "%d bytes, file holds %d (truncated or padded?)"
            % (self.area, self.area - 1))
        self.assertCallError(
            self.v1[:-1], "corrupt bundle: header says %d compressed bytes, "
            "file holds %d (truncated or padded?)"
            % (self.comp, self.comp - 1))

    def test_damaged_zlib_stream(self):
        b = bytearray(self.v1)
        b[-1] ^= 0xff  # the zlib stream's Adler-32
        self.assertCallError(b, "corrupt bundle: zlib stream does not "
                             "inflate to %d bytes (bad data)" % self.pay)
        # format 2's raw deflate has no check of its own: its CRC is in the
        # header, so a damaged index with a matching CRC fails to inflate
        garbage = b"\xff" * self.c
        b = self.blob[:32] + garbage + self.blob[32 + self.c:]
        self.assertCallError(with_u32(b, 24, crc(garbage)),
                             "corrupt bundle: the index does not inflate to "
                             "%d bytes (bad data)" % self.u)

    def test_payload_checksum(self):
        b = bytearray(self.v1)
        b[24] ^= 1
        self.assertCallError(reseal(b), "corrupt bundle: payload checksum "
                             "mismatch")
        b = bytearray(self.blob)
        b[24] ^= 1
        self.assertCallError(reseal(b), "corrupt bundle: index checksum "
                             "mismatch")

    def test_size_bomb_is_refused_before_inflating(self):
        self.assertCallError(
            with_u32(self.v1, 16, 200 << 20), "corrupt bundle: payload size "
            "%d is impossible for %d compressed bytes"
            % (200 << 20, self.comp))
        self.assertCallError(
            with_u32(self.blob, 16, 200 << 20), "corrupt bundle: index size "
            "%d is impossible for %d compressed bytes" % (200 << 20, self.c))

    def test_truncated_bundle_file(self):
        tmp = TempDir()
        self.addCleanup(tmp.cleanup)
        code = ("import json, sys\nfrom helpers import connect\n"
                "try:\n    connect().execute('SELECT migrate_bundle(?)', "
                "(sys.argv[1],)).fetchall(); print(json.dumps({}))\n"
                "except Exception as e:\n"
                "    print(json.dumps({'error': str(e)}))\n")
        for name, blob, message in (
                ("format 2", self.blob, "the index says the chunks take %d "
                 "bytes, file holds %d (truncated or padded?)"
                 % (self.area, self.area - 10)),
                ("format 1", self.v1, "header says %d compressed bytes, "
                 "file holds %d (truncated or padded?)"
                 % (self.comp, self.comp - 10))):
            with self.subTest(format=name):
                path = tmp.path("cut%s.bundle" % name[-1])
                with open(path, "wb") as f:
                    f.write(blob[:-10])
                p = run_python(code, path)
                if p.returncode != 0:
                    self.fail("migrate_bundle() of a truncated bundle file: "
                              "the process was %s\n%s"
                              % (describe_exit(p), p.stderr[-2000:]))
                self.assertEqual(json.loads(p.stdout).get("error"),
                                 "migrate_bundle('%s'): corrupt bundle: %s"
                                 % (path, message))


# A child process: open the database argv[1], run each SQL call of the JSON
# list argv[3] with the bundle file argv[2] as its argument (its bytes, or
# its path for migrate_bundle(?)), print the outcomes as JSON.
CHILD_CALLS = r"""
import json, sys
from helpers import connect
db, path, calls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(path, "rb") as f:
    blob = f.read()
conn = connect(db)
out = []
for sql in calls:
    arg = path if "migrate_bundle(?)" in sql else blob
    try:
        out.append({"rows": conn.execute(sql, (arg,)).fetchall()})
    except Exception as e:
        out.append({"error": str(e)})
print(json.dumps(out))
"""

# The calls that open a bundle, with the prefix each puts before a refusal
# (bundleArg() in func.c, the virtual tables' xFilter, fnBundle()).
OPENING_CALLS = [
    ("SELECT migrate_to('head', ?)", "migrate_to(): "),
    ("SELECT migrate_stamp('head', ?)", "migrate_stamp(): "),
    ("SELECT migrate_sql('head', ?)", "migrate_sql(): "),
    ("SELECT migrate_check(?)", "migrate_check(): "),
    ("SELECT count(*) FROM migrations(?)", "migrations: "),
    ("SELECT count(*) FROM migration_history(?)", "migration_history: "),
    ("SELECT migrate_bundle(?)", "migrate_bundle('{path}'): "),
]

MIGRATIONS_MID = "7b5e0d3f8c21"  # the example history, half applied


def big_history(folder, n=6, rows=1000):
    """r1 -> r2 -> ... -> rn, each creating table t<k> and filling it with
    about 80 KB of INSERTs: the encoder puts two scripts in a chunk."""
    prev = ""
    for k in range(1, n + 1):
        up = "CREATE TABLE t%d(x TEXT);\n" % k + "".join(
            "INSERT INTO t%d VALUES ('%d.%d %s');\n"
            % (k, k, i, ("%08x" % crc(b"%d %d" % (k, i))) * 6)
            for i in range(rows))
        write_revision(folder, "r%d" % k, prev, up, "DROP TABLE t%d;" % k,
                       slug="big")
        prev = "r%d" % k


class Format2Test(unittest.TestCase):
    """Format 2 as the encoder writes it and as it is read: each damaged
    bundle refused with the exact message, the database unchanged.

    Damage to the header or the index is found when the bundle is opened;
    damage to a chunk only when a script of that chunk is needed (run, shown
    or re-encoded), so a bundle with a damaged chunk still serves what needs
    no text."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmpc = TempDir()
        conn = connect()
        cls.blob = conn.execute("SELECT migrate_bundle(?)",
                                (MIGRATIONS,)).fetchone()[0]
        cls.v2 = V2.parse(cls.blob)
        cls.big = cls.tmpc.path("big")
        big_history(cls.big)
        cls.big_blob = conn.execute("SELECT migrate_bundle(?)",
                                    (cls.big,)).fetchone()[0]
        cls.big_v2 = V2.parse(cls.big_blob)
        conn.close()

    @classmethod
    def tearDownClass(cls):
        cls.tmpc.cleanup()

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.n = 0

    def db(self, target=None, blob=None):
        """A new database file, migrated to target with blob (the example
        history by default) when target is given."""
        self.n += 1
        path = self.tmp.path("app%d.db" % self.n)
        conn = connect(path)
        if target:
            conn.execute("SELECT migrate_to(?, ?)",
                         (target, blob or self.blob))
        conn.close()
        return path

    def calls(self, db, blob, sqls):
        """Run each SQL call on db in a child process with blob as its
        argument: [{"rows": ...} or {"error": message}]."""
        self.n += 1
        path = self.tmp.path("b%d.bundle" % self.n)
        with open(path, "wb") as f:
            f.write(blob)
        p = run_python(CHILD_CALLS, db, path, json.dumps(sqls))
        if p.returncode != 0 or not p.stdout.strip():
            self.fail("%s with a %d-byte bundle: the process was %s\n%s"
                      % (sqls, len(blob), describe_exit(p), p.stderr[-2000:]))
        return json.loads(p.stdout), path

    def state(self, db):
        conn = sqlite3.connect(db)
        try:
            return (list(conn.iterdump()),
                    conn.execute("PRAGMA schema_version").fetchone()[0])
        finally:
            conn.close()

    def assertRefused(self, blob, message, calls=OPENING_CALLS, db=None):
        """Each call refuses blob with its prefix + message; db (by default
        one half migrated) is the same afterwards."""
        db = db or self.db(MIGRATIONS_MID)
        before = self.state(db)
        got, path = self.calls(db, blob, [sql for sql, _ in calls])
        for (sql, prefix), out in zip(calls, got):
            with self.subTest(sql=sql):
                self.assertEqual(out, {"error": prefix.replace(
                    "{path}", path) + message})
        self.assertEqual(self.state(db), before, "the database changed")

    def assertServed(self, blob, sql, rows, db):
        got, _ = self.calls(db, blob, [sql])
        self.assertEqual(got, [{"rows": rows}])

    # -- the builder here and the encoder agree ---------------------------

    def test_python_builder_writes_the_encoders_bytes(self):
        order = [e["name"].decode() for e in self.v2.entries]
        self.assertEqual(
            V2.from_scripts(read_scripts(MIGRATIONS), order).pack(),
            self.blob)
        self.assertEqual(self.v2.nchunk, 1)
        self.assertEqual(V2.from_scripts(read_scripts(self.big)).pack(),
                         self.big_blob)
        self.assertEqual(self.big_v2.nchunk, 3)
        self.assertEqual([e["chunk"] for e in self.big_v2.entries],
                         [0, 0, 1, 1, 2, 2])
        # entries in history order, positions in name order
        names = [e["name"] for e in self.v2.entries]
        self.assertNotEqual(names, sorted(names))
        self.assertEqual([names[i] for i in sorted(
            range(len(names)), key=lambda i: self.v2.entries[i]["pos"])],
            sorted(names))

    # -- found when the bundle is opened ----------------------------------

    def test_version_3_and_0(self):
        for version in (3, 0, 0xffffffff):
            with self.subTest(version=version):
                self.assertRefused(
                    with_u32(self.blob, 8, version),
                    "bundle format version %d is not supported (this build "
                    "reads versions 1 and 2); rebuild the bundle" % version)

    def test_index_checksum(self):
        c = struct.unpack_from("<I", self.blob, 20)[0]
        for name, blob in (
                ("crc field", with_u32(self.blob, 24, crc(
                    self.blob[32:32 + c]) ^ 1)),
                ("index byte", self.blob[:40] + bytes([self.blob[40] ^ 1])
                 + self.blob[41:])):
            with self.subTest(damage=name):
                self.assertRefused(blob,
                                   "corrupt bundle: index checksum mismatch")

    def test_index_size_bomb_is_refused_before_inflating(self):
        c = struct.unpack_from("<I", self.blob, 20)[0]
        self.assertRefused(
            with_u32(self.blob, 16, 200 << 20),
            "corrupt bundle: index size 209715200 is impossible for %d "
            "compressed bytes" % c)
        self.assertRefused(
            with_u32(self.blob, 16, LIMIT + 1),
            "corrupt bundle: index size %d exceeds the limit of %d bytes"
            % (LIMIT + 1, LIMIT))
        # a real bomb: 8 MB of zeros declared as 1000 bytes
        bomb = raw_deflate(b"\0" * (8 << 20), 9)
        self.assertRefused(
            self.v2.pack(index=b"\0" * 1000, index_stored=bomb),
            "corrupt bundle: the index does not inflate to 1000 bytes (more "
            "data than declared)")

    def test_index_does_not_inflate_to_its_size(self):
        u = struct.unpack_from("<I", self.blob, 16)[0]
        index = self.v2.index(self.v2.chunks())
        stored = raw_deflate(index)
        cases = [
            ("declared one byte more", self.v2.pack(index_size=u + 1),
             "the stream ends after %d bytes" % u, u + 1),
            ("declared one byte less", self.v2.pack(index_size=u - 1),
             "more data than declared", u - 1),
            ("stream cut short", self.v2.pack(index_stored=stored[:-8]),
             "the stream is truncated", u),
            ("bytes after the stream", self.v2.pack(
                index_stored=stored + b"junk"),
             "4 bytes follow the end of the stream", u),
            ("not deflate", self.v2.pack(index_stored=b"\xff" * 64),
             "bad data", u),
        ]
        for name, blob, why, size in cases:
            with self.subTest(case=name):
                self.assertRefused(
                    blob, "corrupt bundle: the index does not inflate to %d "
                    "bytes (%s)" % (size, why))

    def test_index_longer_than_the_file(self):
        c = struct.unpack_from("<I", self.blob, 20)[0]
        for name, blob, held in (
                ("cut inside the index", self.blob[:32 + c - 1], c - 1),
                ("header only", self.blob[:32], 0),
                ("stored size too large", with_u32(
                    self.blob, 20, len(self.blob) - 31), len(self.blob) - 32)):
            with self.subTest(case=name):
                self.assertRefused(
                    blob, "corrupt bundle: header says the index takes %d "
                    "bytes, file holds %d after the header (truncated?)"
                    % (struct.unpack_from("<I", blob, 20)[0], held))

    def test_chunk_area_of_the_wrong_size(self):
        c = struct.unpack_from("<I", self.blob, 20)[0]
        area = len(self.blob) - 32 - c
        for name, blob, held in (
                ("truncated by one byte", self.blob[:-1], area - 1),
                ("truncated by 100 bytes", self.blob[:-100], area - 100),
                ("cut after the index", self.blob[:32 + c], 0),
                ("padded with one byte", self.blob + b"\0", area + 1),
                ("padded with a bundle", self.blob + self.blob,
                 area + len(self.blob))):
            with self.subTest(case=name):
                self.assertRefused(
                    blob, "corrupt bundle: the index says the chunks take %d "
                    "bytes, file holds %d (truncated or padded?)"
                    % (area, held))
        # the index's own area size wrong, the file as written
        self.assertRefused(
            self.v2.pack(area=area + 1),
            "corrupt bundle: the index says the chunks take %d bytes, file "
            "holds %d (truncated or padded?)" % (area + 1, area))

    def test_chunk_table_that_does_not_fit(self):
        v = self.big_v2.copy()
        v.chunk_raw[1] = 0x7fffffff  # a bomb, refused before inflating
        stored = len(v.chunks()[1][1])
        self.assertRefused(
            v.pack(), "corrupt bundle: chunk 2 (%d bytes stored, %d "
            "inflated) does not fit the bundle or the limit of %d bytes"
            % (stored, 0x7fffffff, LIMIT),
            db=self.db())
        self.assertRefused(
            self.v2.pack(nchunk=13),
            "corrupt bundle: 13 chunks for 12 scripts in an index of %d "
            "bytes" % (struct.unpack_from("<I", self.blob, 16)[0] + 0))

    def test_position_out_of_range(self):
        v = self.v2.copy()
        v.entries[3]["pos"] = 12
        self.assertRefused(
            v.pack(), "corrupt bundle: index entry 4 claims position 12 "
            "(positions run from 0 to 11, once each)")
        v.entries[3]["pos"] = 0xffffffff
        self.assertRefused(
            v.pack(), "corrupt bundle: index entry 4 claims position "
            "4294967295 (positions run from 0 to 11, once each)")

    def test_position_twice(self):
        v = self.v2.copy()
        v.entries[5]["pos"] = v.entries[2]["pos"]
        self.assertRefused(
            v.pack(), "corrupt bundle: index entry 6 claims position %d "
            "(positions run from 0 to 11, once each)" % v.entries[2]["pos"])

    def test_names_out_of_order(self):
        v = self.v2.copy()
        by_pos = sorted(v.entries, key=lambda e: e["pos"])
        a, b = by_pos[4], by_pos[5]  # adjacent in name order
        a["pos"], b["pos"] = b["pos"], a["pos"]
        self.assertRefused(
            v.pack(), "corrupt bundle: script %s is out of name order"
            % a["name"].decode())

    def test_two_scripts_with_one_name(self):
        v = self.v2.copy()
        by_pos = sorted(v.entries, key=lambda e: e["pos"])
        by_pos[5]["name"] = by_pos[4]["name"]
        # worded as format 1 words it
        self.assertRefused(
            v.pack(),
            "in bundle: two scripts are named %s" % by_pos[4]["name"].decode())

    def test_text_outside_its_chunk(self):
        raw = len(self.v2.chunks()[0][0])
        for name, change in (
                ("offset past the chunk", dict(off=raw + 1, nbody=0)),
                ("body past the chunk", dict(off=raw - 10, nbody=11)),
                ("huge body", dict(nbody=0xffffffff)),
                ("no such chunk", dict(chunk=1))):
            with self.subTest(case=name):
                v = self.v2.copy()
                e = v.entries[7]
                e.update(change)
                self.assertRefused(
                    v.pack(), "corrupt bundle: the text of %s lies outside "
                    "its chunk" % e["name"].decode())

    def test_index_entries_and_script_count_disagree(self):
        u = struct.unpack_from("<I", self.blob, 16)[0]
        last = self.v2.entries[-1]
        self.assertRefused(
            self.v2.pack(nscript=11),
            "corrupt bundle: %d bytes left after the last index entry"
            % (4 * 7 + len(last["name"]) + len(last["head"])))
        self.assertRefused(
            self.v2.pack(nscript=13),
            "corrupt bundle: index entry 13 runs past the end of the index")
        self.assertRefused(
            self.v2.pack(nscript=u),
            "corrupt bundle: %d scripts cannot fit in an index of %d bytes"
            % (u, u))

    # -- found when a script's text is needed -----------------------------

    def assertNeededRefused(self, blob, message, first, db=None,
                            name_order_first=None):
        """blob opens and lists its revisions, but each call that needs the
        text of first (the first script the call loads) refuses with
        message % first; db (by default an empty one) is unchanged."""
        db = db or self.db()
        before = self.state(db)
        ids = [[e["head"].split(b"Revision ID: ")[1].split(b"\n")[0]
                .decode()] for e in self.v2.entries]
        calls = [
            ("SELECT revision FROM migrations(?)", {"rows": ids}),
            ("SELECT migrate_to('head', ?)",
             {"error": "migrate_to('head'): " + message % first}),
            ("SELECT migrate_sql('head', ?)",
             {"error": "migrate_sql('head'): " + message % first}),
            ("SELECT revision, upgrade_sql FROM migrations(?)",
             {"error": "migrations: " + message % first}),
            ("SELECT downgrade_sql FROM migrations(?)",
             {"error": "migrations: " + message % first}),
            ("SELECT migrate_bundle(?)",  # re-encoding needs every text
             {"error": "migrate_bundle('{path}'): " + message % (
                 name_order_first or first)}),
            # stamping stores the downgrades: it needs every text it stamps,
            # in name order, and its transaction rolls back
            ("SELECT migrate_stamp('head', ?)",
             {"error": "migrate_stamp('head'): " + message % (
                 name_order_first or first)}),
            ("SELECT revision FROM migrations(?)", {"rows": ids}),
        ]
        got, path = self.calls(db, blob, [sql for sql, _ in calls])
        self.assertEqual(len(got), len(calls))
        for (sql, want), out in zip(calls, got):
            with self.subTest(sql=sql):
                if "error" in want:
                    want = {"error": want["error"].replace("{path}", path)}
                self.assertEqual(out, want)
        self.assertEqual(self.state(db), before, "the database changed")

    def first_names(self, v=None):
        """(first script in history order, first in name order)."""
        v = v or self.v2
        return (v.entries[0]["name"].decode(),
                min(e["name"] for e in v.entries).decode())

    def test_chunk_checksum_is_checked_when_a_script_is_needed(self):
        first, by_name = self.first_names()
        msg = "corrupt bundle: chunk 1 (holding %s) fails its checksum"
        damaged = self.blob[:-1] + bytes([self.blob[-1] ^ 1])
        with self.subTest(damage="last byte of the chunk"):
            self.assertNeededRefused(damaged, msg, first,
                                     name_order_first=by_name)
        v = self.v2.copy()
        v.chunk_crc[0] = crc(v.chunks()[0][1]) ^ 0x80000000
        with self.subTest(damage="the chunk's CRC in the index"):
            self.assertNeededRefused(v.pack(), msg, first,
                                     name_order_first=by_name)
        with self.subTest(db="half migrated"):
            # from 7b5e0d3f8c21 the first step to head is another script
            db = self.db(MIGRATIONS_MID)
            before = self.state(db)
            got, _ = self.calls(db, damaged, ["SELECT migrate_to('head', ?)"])
            self.assertEqual(got, [{"error": "migrate_to('head'): " + msg
                                    % "c6a04f2d9e13_add_audit_log_for_"
                                    "prompts.sql"}])
            self.assertEqual(self.state(db), before)

    def test_chunk_that_does_not_inflate_to_its_size(self):
        first, by_name = self.first_names()
        text, stored = self.v2.chunks()[0]
        msg = ("corrupt bundle: chunk 1 (holding %%s) does not inflate to "
               "%d bytes (%s)")
        cases = []
        v = self.v2.copy()
        v.chunk_raw[0] = len(text) + 1
        cases.append(("declared one byte more", v, len(text) + 1,
                      "the stream ends after %d bytes" % len(text)))
        v = self.v2.copy()
        v.chunk_raw[0] = len(text) - 1
        v.entries[-1]["nbody"] = len(v.entries[-1]["body"]) - 1
        cases.append(("declared one byte less", v, len(text) - 1,
                      "more data than declared"))
        v = self.v2.copy()
        v.chunk_stored[0] = stored[:-8]
        cases.append(("stream cut short", v, len(text),
                      "the stream is truncated"))
        v = self.v2.copy()
        v.chunk_stored[0] = stored + b"junk"
        cases.append(("bytes after the stream", v, len(text),
                      "4 bytes follow the end of the stream"))
        v = self.v2.copy()
        v.chunk_stored[0] = b"\xff" * 64
        cases.append(("not deflate", v, len(text), "bad data"))
        for name, v, size, why in cases:
            with self.subTest(case=name):
                # every CRC is right: the damage is in what they cover
                self.assertNeededRefused(v.pack(), msg % (size, why), first,
                                         name_order_first=by_name)

    def test_text_that_does_not_continue_its_header(self):
        msg = "corrupt bundle: the text of %s does not continue its header"
        # one more header line at the start of the body: the index's header
        # says the script runs in a transaction, the text that it does not
        v = self.v2.copy()
        e = v.entry("9a39eb7fd78f_add_user_preferences_table.sql")
        self.assertNotIn(b"Transaction", e["head"])
        e["body"] = b"-- Transaction: none\n" + e["body"]
        with self.subTest(case="header line in the body"):
            self.assertNeededRefused(v.pack(), msg, e["name"].decode(),
                                     db=self.db("5d21b7e0c9a3"))
        # the index holds the header less its last line, the chunk that line
        v = self.v2.copy()
        e = v.entry("9a39eb7fd78f_add_user_preferences_table.sql")
        lines = e["head"].splitlines(True)
        e["head"], e["body"] = (b"".join(lines[:-1]),
                                lines[-1] + e["body"])
        with self.subTest(case="header cut short"):
            self.assertNeededRefused(v.pack(), msg, e["name"].decode(),
                                     db=self.db("5d21b7e0c9a3"))

    def test_upgrade_checksum_that_differs_from_the_index(self):
        name = "9a39eb7fd78f_add_user_preferences_table.sql"
        msg = ("corrupt bundle: %%s has upgrade checksum %08x, its index "
               "entry says %08x")
        v = self.v2.copy()
        e = v.entry(name)
        real = e["checksum"]
        e["checksum"] ^= 1
        with self.subTest(case="checksum in the index"):
            self.assertNeededRefused(v.pack(), msg % (real, real ^ 1), name,
                                     db=self.db("5d21b7e0c9a3"))
        v = self.v2.copy()
        e = v.entry(name)
        e["body"] = e["body"].replace(
            b"-- migrate:upgrade\n", b"-- migrate:upgrade\nDROP TABLE "
            b"prompts;\n", 1)
        changed = int(parse_text(e["head"] + e["body"], name)["checksum"], 16)
        self.assertNotEqual(changed, real)
        with self.subTest(case="statement added to the upgrade"):
            self.assertNeededRefused(v.pack(), msg % (changed, real), name,
                                     db=self.db("5d21b7e0c9a3"))

    def test_damaged_chunk_of_several(self):
        """Big history: chunk 3 (r5, r6) damaged.  What needs chunks 1 and
        2 only works; what needs chunk 3 is refused and changes nothing,
        though the steps before r5 could have run."""
        v = self.big_v2.copy()
        v.chunk_stored[2] = bytearray(v.chunks()[2][1])
        v.chunk_stored[2][-1] ^= 1
        v.chunk_stored[2] = bytes(v.chunk_stored[2])
        v.chunk_crc[2] = crc(self.big_v2.chunks()[2][1])
        blob = v.pack()
        db = self.db("r2", self.big_blob)
        before = self.state(db)
        got, _ = self.calls(db, blob, [
            "SELECT migrate_to('head', ?)",
            "SELECT migrate_to('r6', ?)",
            "SELECT migrate_sql('r5', ?)",
            "SELECT revision FROM migrations(?)",
            "SELECT count(*) FROM migrate_version WHERE ? IS NOT NULL"])
        msg = "corrupt bundle: chunk 3 (holding r5_big.sql) fails its checksum"
        self.assertEqual(got, [
            {"error": "migrate_to('head'): " + msg},
            {"error": "migrate_to('r6'): " + msg},
            {"error": "migrate_sql('r5'): " + msg},
            {"rows": [["r%d" % k] for k in range(1, 7)]},
            {"rows": [[1]]}])
        self.assertEqual(self.state(db), before)
        got, _ = self.calls(db, blob, [
            "SELECT migrate_to('r4', ?)", "SELECT migrate_to('r1', ?)",
            "SELECT migrate_to('r4', ?)"])
        self.assertEqual(got, [{"rows": [["r4"]]}, {"rows": [["r1"]]},
                               {"rows": [["r4"]]}])
        conn = connect(db)
        self.assertEqual(versions(conn), ["r4"])
        self.assertEqual(conn.execute("SELECT count(*) FROM t4").fetchone(),
                         (1000,))
        self.assertFalse(table_exists(conn, "t5"))
        conn.close()

    # -- what a bundle serves ---------------------------------------------

    def test_damaged_chunks_still_serve_what_needs_no_text(self):
        """A database at head: with every chunk damaged the bundle still
        lists, plans a no-op and checks the log's checksums."""
        db = self.db("head")
        v = self.v2.copy()
        v.chunk_stored[0] = b"\xff" * 64
        damaged = v.pack()
        sqls = [
            "SELECT migrate_to('head', ?)",
            "SELECT migrate_to('f05c3b8d2e76', ?)",
            "SELECT revision, down_revision, message, is_head, is_current, "
            "is_applied, checksum FROM migrations(?)",
            "SELECT revision, direction, message, checksum_ok FROM "
            "migration_history(?)",
            "SELECT migrate_current() WHERE ? IS NOT NULL",
        ]
        before = self.state(db)
        good, _ = self.calls(db, self.blob, sqls)
        self.assertEqual(self.state(db), before)
        got, _ = self.calls(db, damaged, sqls)
        self.assertEqual(self.state(db), before)
        self.assertEqual(got, good)
        self.assertEqual(got[0], {"rows": [["f05c3b8d2e76"]]})
        self.assertEqual(len(got[2]["rows"]), 12)
        self.assertEqual({r[3] for r in got[3]["rows"]}, {1})

    def test_good_bundles_list_what_the_folder_does(self):
        conn = connect()
        want = conn.execute("SELECT * FROM migrations(migrate_bundle(?))",
                            (MIGRATIONS,)).fetchall()
        db = connect()
        db.execute("SELECT migrate_to('head', migrate_bundle(?))",
                   (MIGRATIONS,))
        want_log = log_rows(db)
        want_schema = schema_rows(db)
        scripts = read_scripts(MIGRATIONS)
        built = [
            ("the encoder's", self.blob),
            ("entries in reverse name order, a chunk each", V2.from_scripts(
                scripts, sorted(scripts, reverse=True), chunk_size=1).pack()),
            ("chunks of about 3000 bytes", V2.from_scripts(
                scripts, chunk_size=3000).pack()),
            ("format 1", v1_blob(scripts)),
        ]
        for name, blob in built:
            with self.subTest(bundle=name):
                self.assertEqual(conn.execute(
                    "SELECT * FROM migrations(?)", (blob,)).fetchall(), want)
                db = connect()
                self.assertEqual(db.execute("SELECT migrate_to('head', ?)",
                                            (blob,)).fetchone(),
                                 ("f05c3b8d2e76",))
                self.assertEqual(log_rows(db), want_log)
                self.assertEqual(schema_rows(db), want_schema)

    def test_stamp_stores_the_downgrade_texts(self):
        """migrate_stamp() keeps each stamped revision's downgrade script in
        migrate_scripts; from a format-2 bundle it inflates them for that
        (it once stored NULL)."""
        sql = ("SELECT revision, downgrade_sql FROM migrate_scripts "
               "ORDER BY revision")
        want = connect()
        want.execute("SELECT migrate_stamp(?, migrate_bundle(?))",
                     (MIGRATIONS_MID, MIGRATIONS))
        got = connect()
        got.execute("SELECT migrate_stamp(?, ?)", (MIGRATIONS_MID, self.blob))
        self.assertEqual(got.execute(sql).fetchall(),
                         want.execute(sql).fetchall())

    def test_stamp_with_the_embedded_bundle_stores_the_downgrade_texts(self):
        """The same with the embedded bundle, in a fresh process (the
        embedded bundle is shared by the process: once anything has read
        its texts they are there)."""
        sql = ("SELECT revision, downgrade_sql FROM migrate_scripts "
               "ORDER BY revision")
        code = ("import json, sys\nfrom helpers import connect\n"
                "conn = connect()\n"
                "conn.execute('SELECT migrate_stamp(?)', (sys.argv[1],))\n"
                "print(json.dumps(conn.execute(sys.argv[2]).fetchall()))\n")
        p = run_python(code, MIGRATIONS_MID, sql)
        if p.returncode != 0:
            self.fail("the process was %s\n%s" % (describe_exit(p),
                                                  p.stderr[-2000:]))
        want = connect()
        want.execute("SELECT migrate_stamp(?, migrate_bundle(?))",
                     (MIGRATIONS_MID, MIGRATIONS))
        self.assertEqual([tuple(r) for r in json.loads(p.stdout)],
                         want.execute(sql).fetchall())


def tearDownModule():
    close_connections()


if __name__ == "__main__":
    unittest.main()
