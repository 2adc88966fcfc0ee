/*
** script_test.c — the revision-script parser (migScriptParse; README.md, "Revision scripts"):
** header keys, message, lists, sections and their line numbers, line-ending
** normalization and the checksum, and every refusal with its exact text.
*/
#include "unit.h"

/* The script most tests start from (line numbers in the comments). */
static const char *zBase =
    "-- Add users\n"                        /* 1 */
    "--\n"                                  /* 2 */
    "-- Revision ID: a1\n"                  /* 3 */
    "-- Revises:\n"                         /* 4 */
    "-- Create Date: 2026-01-02 03:04:05\n" /* 5 */
    "\n"                                    /* 6 */
    "-- migrate:upgrade\n"                  /* 7 */
    "CREATE TABLE t(x);\n"                  /* 8 */
    "\n"                                    /* 9 */
    "-- migrate:downgrade\n"                /* 10 */
    "DROP TABLE t;\n";                      /* 11 */

/* Parse zText as "f.sql" into *r (arena pA); returns rc, message freed. */
static int parse(MigArena *pA, const char *zText, size_t nText,
                 migrate_revision *r) {
  char *zErr = 0;
  int rc = migScriptParse(pA, "f.sql", zText, nText, r, &zErr);
  if (rc) printf("      (parse error: %s)\n", zErr ? zErr : "?");
  sqlite3_free(zErr);
  return rc;
}

/* Join a string list with "|" for comparisons. */
static char *joinList(const char **az, int n) {
  MigStr s = {0};
  int i;
  for (i = 0; i < n; i++) {
    if (i) migStrAppendZ(&s, "|");
    migStrAppendZ(&s, az[i]);
  }
  return migStrFinish(&s);
}

/* A script with the given header extra lines and sections:
**   1 "-- m", 2 "-- Revision ID: a1", 3 "-- Revises:", then zExtra lines,
**   a blank line, "-- migrate:upgrade", zUp, and "-- migrate:downgrade" +
**   zDown when zDown is not NULL. */
static char *scriptWith(const char *zExtra, const char *zUp,
                        const char *zDown) {
  return sqlite3_mprintf(
      "-- m\n-- Revision ID: a1\n-- Revises:\n%s\n-- migrate:upgrade\n%s%s%s",
      zExtra, zUp, zDown ? "-- migrate:downgrade\n" : "", zDown ? zDown : "");
}

/* ---------------------------------------------------------------------- */

static void testFields(void) {
  MigArena a = {0};
  migrate_revision r;
  char z[16];
  TEST("script fields");
  CHECK_INT(parse(&a, zBase, strlen(zBase), &r), SQLITE_OK);
  CHECK_STR(r.id, "a1");
  CHECK_STR(r.file, "f.sql");
  CHECK_STR(r.message, "Add users");
  CHECK_STR(r.create_date, "2026-01-02 03:04:05");
  CHECK_INT(r.nparent, 0);
  CHECK_INT(r.nlabel, 0);
  CHECK_INT(r.ndepend, 0);
  CHECK_INT(r.no_transaction, 0);
  CHECK_STR(r.upgrade, "CREATE TABLE t(x);\n\n");
  CHECK_STR(r.downgrade, "DROP TABLE t;\n");
  CHECK_INT(r.upgrade_line, 8);
  CHECK_INT(r.downgrade_line, 11);
  CHECK_INT(r.checksum, 0xc3fdd725u);
  snprintf(z, sizeof(z), "%08x", r.checksum);
  CHECK_STR(z, "c3fdd725");
  CHECK_INT(r.checksum, migCrc32(r.upgrade, strlen(r.upgrade)));
  CHECK_STR(r.source, zBase);
  CHECK_INT(r.nsource, strlen(zBase));
  migArenaFree(&a);
}

static void testKeysCaseInsensitive(void) {
  MigArena a = {0};
  migrate_revision r;
  char *z;
  const char *zText;
  TEST("header keys are case-insensitive");
  zText =
      "--   Spaces around the message   \n"
      "-- revision id: b_2\n"
      "-- REVISES: a1 ,  x9\n"
      "-- create DATE: yesterday\n"
      "-- branch labels: lab1,Lab_2\n"
      "-- DEPENDS ON: q1, lab9\n"
      "-- TRANSACTION: NONE\n"
      "\n"
      "-- MIGRATE:UPGRADE\n"
      "VACUUM;\n"
      "--migrate:Downgrade  \n"
      "PRAGMA journal_mode = WAL;\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_STR(r.message, "Spaces around the message");
  CHECK_STR(r.id, "b_2");
  CHECK_INT(r.nparent, 2);
  z = joinList(r.parents, r.nparent);
  CHECK_TAKE(z, "a1|x9");
  CHECK_STR(r.create_date, "yesterday");
  CHECK_INT(r.nlabel, 2);
  CHECK_TAKE(joinList(r.labels, r.nlabel), "lab1|Lab_2");
  CHECK_INT(r.ndepend, 2);
  CHECK_TAKE(joinList(r.depends, r.ndepend), "q1|lab9");
  CHECK_INT(r.no_transaction, 1);
  CHECK_STR(r.upgrade, "VACUUM;\n");
  CHECK_STR(r.downgrade, "PRAGMA journal_mode = WAL;\n");
  CHECK_INT(r.upgrade_line, 10);
  CHECK_INT(r.downgrade_line, 12);
  migArenaFree(&a);

  /* a key with blanks before its colon */
  TEST("key with blanks before the colon");
  zText = "-- m\n-- Revision ID :  c3  \n-- Revises :\n\n-- migrate:upgrade\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_STR(r.id, "c3");
  CHECK_STR(r.upgrade, "");
  CHECK_INT(r.upgrade_line, 6);
  migArenaFree(&a);
}

static void testMessage(void) {
  MigArena a = {0};
  migrate_revision r;
  const char *zText;
  TEST("message line");
  /* an empty first comment line: no message */
  zText = "--\n-- Revision ID: a1\n-- Revises:\n\n-- migrate:upgrade\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_STR(r.message, "");
  CHECK_STR(r.create_date, "");
  migArenaFree(&a);
  /* the message may contain a colon: the first line is never a key */
  zText =
      "-- Fix: users table\n-- Revision ID: a1\n-- Revises:\n\n"
      "-- migrate:upgrade\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_STR(r.message, "Fix: users table");
  migArenaFree(&a);
  /* no space after "--" */
  zText = "--Tight\n--Revision ID:a1\n--Revises:None\n\n-- migrate:upgrade\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_STR(r.message, "Tight");
  CHECK_STR(r.id, "a1");
  CHECK_INT(r.nparent, 0);
  migArenaFree(&a);
}

static void testRevisesForms(void) {
  MigArena a = {0};
  migrate_revision r;
  char *z;
  TEST("Revises: empty, None, one, list");
  z = scriptWith("", "SELECT 1;\n", 0);
  /* scriptWith writes "-- Revises:" (empty) */
  CHECK_INT(parse(&a, z, strlen(z), &r), SQLITE_OK);
  CHECK_INT(r.nparent, 0);
  CHECK(r.downgrade == 0);
  CHECK_INT(r.downgrade_line, 0);
  sqlite3_free(z);
  migArenaFree(&a);

  z = sqlite3_mprintf(
      "-- m\n-- Revision ID: a1\n-- Revises: None\n\n"
      "-- migrate:upgrade\n");
  CHECK_INT(parse(&a, z, strlen(z), &r), SQLITE_OK);
  CHECK_INT(r.nparent, 0);
  sqlite3_free(z);
  migArenaFree(&a);

  z = sqlite3_mprintf(
      "-- m\n-- Revision ID: a1\n-- Revises:   \t\n\n"
      "-- migrate:upgrade\n");
  CHECK_INT(parse(&a, z, strlen(z), &r), SQLITE_OK);
  CHECK_INT(r.nparent, 0);
  sqlite3_free(z);
  migArenaFree(&a);

  z = sqlite3_mprintf(
      "-- m\n-- Revision ID: m1\n-- Revises: c1, b1,a0\n\n"
      "-- migrate:upgrade\n");
  CHECK_INT(parse(&a, z, strlen(z), &r), SQLITE_OK);
  CHECK_INT(r.nparent, 3);
  CHECK_TAKE(joinList(r.parents, r.nparent), "c1|b1|a0");
  sqlite3_free(z);
  migArenaFree(&a);

  TEST("Depends On: None and labels");
  z = sqlite3_mprintf(
      "-- m\n-- Revision ID: m1\n-- Revises: a0\n"
      "-- Depends On: None\n-- Branch Labels: x\n\n"
      "-- migrate:upgrade\n");
  CHECK_INT(parse(&a, z, strlen(z), &r), SQLITE_OK);
  CHECK_INT(r.ndepend, 0);
  CHECK_INT(r.nlabel, 1);
  CHECK_TAKE(joinList(r.labels, r.nlabel), "x");
  sqlite3_free(z);
  migArenaFree(&a);

  TEST("Transaction: none");
  z = scriptWith("-- Transaction: none\n", "SELECT 1;\n", 0);
  CHECK_INT(parse(&a, z, strlen(z), &r), SQLITE_OK);
  CHECK_INT(r.no_transaction, 1);
  sqlite3_free(z);
  migArenaFree(&a);
}

static void testLineEndings(void) {
  MigArena a = {0};
  migrate_revision r0, r1, r2, r3;
  MigStr crlf = {0}, cr = {0}, bom = {0};
  const char *p;
  char *zCrlf, *zCr, *zBom;
  TEST("CRLF, CR and BOM give the LF checksum");
  for (p = zBase; *p; p++) {
    if (*p == '\n') {
      migStrAppendZ(&crlf, "\r\n");
      migStrAppendZ(&cr, "\r");
    } else {
      migStrAppend(&crlf, p, 1);
      migStrAppend(&cr, p, 1);
    }
  }
  migStrAppendZ(&bom, "\xEF\xBB\xBF");
  migStrAppendZ(&bom, crlf.z);
  zCrlf = migStrFinish(&crlf);
  zCr = migStrFinish(&cr);
  zBom = migStrFinish(&bom);
  CHECK_INT(parse(&a, zBase, strlen(zBase), &r0), SQLITE_OK);
  CHECK_INT(parse(&a, zCrlf, strlen(zCrlf), &r1), SQLITE_OK);
  CHECK_INT(parse(&a, zCr, strlen(zCr), &r2), SQLITE_OK);
  CHECK_INT(parse(&a, zBom, strlen(zBom), &r3), SQLITE_OK);
  CHECK_INT(r1.checksum, r0.checksum);
  CHECK_INT(r2.checksum, r0.checksum);
  CHECK_INT(r3.checksum, r0.checksum);
  CHECK_STR(r1.upgrade, r0.upgrade);
  CHECK_STR(r2.upgrade, r0.upgrade);
  CHECK_STR(r3.upgrade, r0.upgrade);
  CHECK_STR(r1.downgrade, r0.downgrade);
  CHECK_STR(r2.downgrade, r0.downgrade);
  CHECK_STR(r3.downgrade, r0.downgrade);
  CHECK_STR(r1.source, zBase);
  CHECK_STR(r2.source, zBase);
  CHECK_STR(r3.source, zBase);
  CHECK_INT(r3.nsource, strlen(zBase));
  CHECK_STR(r3.message, "Add users");
  CHECK_INT(r1.upgrade_line, 8);
  CHECK_INT(r2.upgrade_line, 8);
  CHECK_INT(r3.upgrade_line, 8);
  CHECK_INT(r2.downgrade_line, 11);
  CHECK_INT(r3.downgrade_line, 11);
  /* a BOM with LF endings, and a lone BOM-prefixed CR file */
  sqlite3_free(zBom);
  zBom = sqlite3_mprintf("\xEF\xBB\xBF%s", zBase);
  CHECK_INT(parse(&a, zBom, strlen(zBom), &r3), SQLITE_OK);
  CHECK_INT(r3.checksum, 0xc3fdd725u);
  sqlite3_free(zBom);
  zBom = sqlite3_mprintf("\xEF\xBB\xBF%s", zCr);
  CHECK_INT(parse(&a, zBom, strlen(zBom), &r3), SQLITE_OK);
  CHECK_INT(r3.checksum, 0xc3fdd725u);
  sqlite3_free(zCrlf);
  sqlite3_free(zCr);
  sqlite3_free(zBom);
  migArenaFree(&a);

  /* the text need not be NUL-terminated: only nText bytes are read */
  TEST("text is read up to nText only");
  {
    size_t n = strlen(zBase);
    char *zCopy = sqlite3_malloc64(n + 8);
    memcpy(zCopy, zBase, n);
    memcpy(zCopy + n, "XYZ;\n", 5); /* past nText: must be ignored */
    CHECK_INT(parse(&a, zCopy, n, &r0), SQLITE_OK);
    CHECK_STR(r0.downgrade, "DROP TABLE t;\n");
    sqlite3_free(zCopy);
    migArenaFree(&a);
  }
}

static void testSections(void) {
  MigArena a = {0};
  migrate_revision r;
  const char *zText;
  TEST("downgrade absent vs empty");
  zText =
      "-- m\n-- Revision ID: a1\n-- Revises:\n\n-- migrate:upgrade\n"
      "SELECT 1;\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK(r.downgrade == 0);
  CHECK_INT(r.downgrade_line, 0);
  CHECK_INT(r.checksum, 0x500ea97fu);
  migArenaFree(&a);

  zText =
      "-- m\n-- Revision ID: a1\n-- Revises:\n\n-- migrate:upgrade\n"
      "SELECT 1;\n-- migrate:downgrade\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK(r.downgrade != 0);
  CHECK_STR(r.downgrade, "");
  CHECK_INT(r.downgrade_line, 8);
  CHECK_STR(r.upgrade, "SELECT 1;\n");
  migArenaFree(&a);

  /* directive on the last line without a newline */
  zText =
      "-- m\n-- Revision ID: a1\n-- Revises:\n\n-- migrate:upgrade\n"
      "SELECT 1;\n-- migrate:downgrade";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_STR(r.downgrade, "");
  CHECK_INT(r.downgrade_line, 8);
  migArenaFree(&a);

  TEST("downgrade written before upgrade");
  zText =
      "-- m\n-- Revision ID: a1\n-- Revises:\n\n-- migrate:downgrade\n"
      "DROP TABLE t;\n-- migrate:upgrade\nCREATE TABLE t(x);\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_STR(r.downgrade, "DROP TABLE t;\n");
  CHECK_STR(r.upgrade, "CREATE TABLE t(x);\n");
  CHECK_INT(r.downgrade_line, 6);
  CHECK_INT(r.upgrade_line, 8);
  migArenaFree(&a);

  TEST("comments between header and upgrade");
  zText =
      "-- m\n-- Revision ID: a1\n-- Revises:\n\n-- a free comment\n"
      "   -- indented comment\n\n-- migrate:upgrade\nSELECT 1;\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_INT(r.upgrade_line, 9);
  migArenaFree(&a);

  TEST("header directly followed by the upgrade directive");
  zText =
      "-- m\n-- Revision ID: a1\n-- Revises:\n-- migrate:upgrade\n"
      "SELECT 1;\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  CHECK_STR(r.upgrade, "SELECT 1;\n");
  CHECK_INT(r.upgrade_line, 5);
  migArenaFree(&a);

  TEST("a trigger, strings and dangerous words in strings are accepted");
  zText =
      "-- m\n-- Revision ID: a1\n-- Revises:\n\n-- migrate:upgrade\n"
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
      "  UPDATE t SET x = 'COMMIT;';\n"
      "END;\n"
      "SELECT 'BEGIN; VACUUM;';\n"
      "INSERT INTO t VALUES ('ROLLBACK');\n"
      "PRAGMA user_version = 2;\n"
      "PRAGMA table_info(t);\n"
      "-- VACUUM;\n"
      "/* COMMIT; */\n"
      "-- migrate:downgrade\n"
      "DROP TRIGGER tr;\n";
  CHECK_INT(parse(&a, zText, strlen(zText), &r), SQLITE_OK);
  migArenaFree(&a);
}

/* ---------------------------------------------------------------------- */

static void testRefusalsHeader(void) {
  char *z;
  char zLong[80];
  TEST("no header");
  CHECK_TAKE(ut_parse_err("CREATE TABLE t(x);\n"),
             "f.sql:1: no header: a script starts with '-- <message>' and "
             "'-- Revision ID: <id>' lines");
  CHECK_TAKE(ut_parse_err(""),
             "f.sql:1: no header: a script starts with '-- <message>' and "
             "'-- Revision ID: <id>' lines");
  CHECK_TAKE(ut_parse_err("\n-- m\n-- Revision ID: a1\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:1: no header: a script starts with '-- <message>' and "
             "'-- Revision ID: <id>' lines");
  CHECK_TAKE(ut_parse_err("-- migrate:upgrade\nSELECT 1;\n"),
             "f.sql:1: no header before '-- migrate:upgrade'; a script starts "
             "with '-- <message>' and '-- Revision ID: <id>' lines");
  CHECK_TAKE(ut_parse_err("-- migrate:downgrade\nSELECT 1;\n"),
             "f.sql:1: no header before '-- migrate:downgrade'; a script "
             "starts with '-- <message>' and '-- Revision ID: <id>' lines");

  TEST("missing Revision ID / Revises");
  CHECK_TAKE(ut_parse_err("-- m\n-- Revises:\n\n-- migrate:upgrade\n"),
             "f.sql: header has no 'Revision ID:' line");
  CHECK_TAKE(ut_parse_err("-- m\n-- Revision ID: a1\n\n-- migrate:upgrade\n"),
             "f.sql: header has no 'Revises:' line (write '-- Revises:' with "
             "nothing after it for a base revision)");
  /* the first line is the message even when it looks like a key */
  CHECK_TAKE(ut_parse_err("-- Revision ID: a1\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql: header has no 'Revision ID:' line");

  TEST("bad revision ids");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a-1\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:3: Revision ID 'a-1' may only hold the characters A-Z "
             "a-z 0-9 _");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a 1\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:3: Revision ID 'a 1' may only hold the characters A-Z "
             "a-z 0-9 _");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: caf\xC3\xA9\n"
                          "-- Revises:\n\n-- migrate:upgrade\n"),
             "f.sql:3: Revision ID 'caf\xC3\xA9' may only hold the characters "
             "A-Z a-z 0-9 _");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID:\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:3: Revision ID '' is empty");
  memset(zLong, 'x', 65);
  zLong[65] = 0;
  z = sqlite3_mprintf(
      "-- m\n--\n-- Revision ID: %s\n-- Revises:\n\n"
      "-- migrate:upgrade\n",
      zLong);
  {
    char *zWant = sqlite3_mprintf(
        "f.sql:3: Revision ID '%s' is longer than 64 characters", zLong);
    CHECK_TAKE(ut_parse_err(z), zWant);
    sqlite3_free(zWant);
  }
  sqlite3_free(z);
  zLong[64] = 0; /* 64 characters are fine */
  z = sqlite3_mprintf(
      "-- m\n--\n-- Revision ID: %s\n-- Revises:\n\n"
      "-- migrate:upgrade\n",
      zLong);
  CHECK_TAKE(ut_parse_err(z), 0);
  sqlite3_free(z);

  TEST("reserved ids");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: head\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:3: Revision ID 'head' is a reserved word (head, heads, "
             "base)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: heads\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:3: Revision ID 'heads' is a reserved word (head, heads, "
             "base)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: base\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:3: Revision ID 'base' is a reserved word (head, heads, "
             "base)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: BASE\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:3: Revision ID 'BASE' is a reserved word (head, heads, "
             "base)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: header\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             0);
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises: head\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:4: Revises: 'head' is a reserved word (head, heads, base)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Branch Labels: heads\n\n-- migrate:upgrade\n"),
             "f.sql:5: Branch Labels: 'heads' is a reserved word (head, heads, "
             "base)");

  TEST("bad lists");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises: a0,,b0\n"
                          "\n-- migrate:upgrade\n"),
             "f.sql:4: Revises: '' is empty");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises: a0,\n"
                          "\n-- migrate:upgrade\n"),
             "f.sql:4: Revises: '' is empty");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises: a0 b0\n"
                          "\n-- migrate:upgrade\n"),
             "f.sql:4: Revises: 'a0 b0' may only hold the characters A-Z a-z "
             "0-9 _");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises: a0, a0\n"
                          "\n-- migrate:upgrade\n"),
             "f.sql:4: Revises names 'a0' twice");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Depends On: x, y, x\n\n-- migrate:upgrade\n"),
             "f.sql:5: Depends On names 'x' twice");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Depends On: x.y\n\n-- migrate:upgrade\n"),
             "f.sql:5: Depends On: 'x.y' may only hold the characters A-Z a-z "
             "0-9 _");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Branch Labels: l1, l1\n\n-- migrate:upgrade\n"),
             "f.sql:5: Branch Labels names 'l1' twice");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Branch Labels: my-label\n\n-- migrate:upgrade\n"),
             "f.sql:5: Branch Labels: 'my-label' may only hold the characters "
             "A-Z a-z 0-9 _");

  TEST("unknown key, line without colon, key twice");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revison ID: a1\n-- Revises:\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:3: unknown header key 'Revison ID' (keys: Revision ID, "
             "Revises, Create Date, Branch Labels, Depends On, Transaction)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Author: me\n\n-- migrate:upgrade\n"),
             "f.sql:5: unknown header key 'Author' (keys: Revision ID, "
             "Revises, Create Date, Branch Labels, Depends On, Transaction)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- this adds users\n\n-- migrate:upgrade\n"),
             "f.sql:5: header line is not 'Key: value' (keys: Revision ID, "
             "Revises, Create Date, Branch Labels, Depends On, Transaction); "
             "end the header with a blank line to write comments");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- revision id: a2\n\n-- migrate:upgrade\n"),
             "f.sql:5: header key 'Revision ID' given twice");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Revises: a0\n\n-- migrate:upgrade\n"),
             "f.sql:5: header key 'Revises' given twice");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Create Date: x\n-- CREATE DATE: y\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:6: header key 'Create Date' given twice");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Transaction: yes\n\n-- migrate:upgrade\n"),
             "f.sql:5: Transaction: 'yes' is not understood; the only value is "
             "'none'");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Transaction:\n\n-- migrate:upgrade\n"),
             "f.sql:5: Transaction: '' is not understood; the only value is "
             "'none'");
}

static void testRefusalsBody(void) {
  char *z;
  TEST("SQL before the upgrade section");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n\n"
                          "CREATE TABLE t(x);\n-- migrate:upgrade\n"),
             "f.sql:6: SQL before '-- migrate:upgrade'; put statements inside "
             "a section");
  /* no blank line: the header ends at the SQL line itself */
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "CREATE TABLE t(x);\n\n-- migrate:upgrade\n"),
             "f.sql:5: SQL before '-- migrate:upgrade'; put statements inside "
             "a section");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n\n"
                          "-- ok\n\n  SELECT 1; -- no\n-- migrate:upgrade\n"),
             "f.sql:8: SQL before '-- migrate:upgrade'; put statements inside "
             "a section");

  TEST("directives");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n\n"
                          "-- migrate:upgrade\nSELECT 1;\n-- migrate:xyz\n"),
             "f.sql:8: unknown directive '-- migrate:xyz' (expected "
             "migrate:upgrade or migrate:downgrade)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n\n"
                          "-- migrate:up\nSELECT 1;\n"),
             "f.sql:6: unknown directive '-- migrate:up' (expected "
             "migrate:upgrade or migrate:downgrade)");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n\n"
                          "-- migrate:upgrade\nSELECT 1;\n"
                          "-- migrate:upgrade\nSELECT 2;\n"),
             "f.sql:8: second '-- migrate:upgrade' section; each section may "
             "occur once");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n\n"
                          "-- migrate:upgrade\nSELECT 1;\n"
                          "-- migrate:downgrade\nSELECT 2;\n"
                          "-- MIGRATE:DOWNGRADE\n"),
             "f.sql:10: second '-- migrate:downgrade' section; each section "
             "may occur once");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n\n"
                          "SELECT 1;\n"),
             "f.sql:6: SQL before '-- migrate:upgrade'; put statements inside "
             "a section");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"),
             "f.sql: no '-- migrate:upgrade' section");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n\n"
                          "-- migrate:downgrade\nDROP TABLE t;\n"),
             "f.sql: no '-- migrate:upgrade' section");

  TEST("revises / depends on itself");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises: a0, a1\n"
                          "\n-- migrate:upgrade\n"),
             "f.sql:4: revision a1 revises itself");
  CHECK_TAKE(ut_parse_err("-- m\n--\n-- Revision ID: a1\n-- Revises:\n"
                          "-- Create Date: now\n-- Depends On: a1\n\n"
                          "-- migrate:upgrade\n"),
             "f.sql:6: revision a1 depends on itself");

  TEST("NUL byte and size limit");
  {
    static const char zNul[] =
        "-- m\n-- Revision ID: a1\n-- Revises:\n\n"
        "-- migrate:upgrade\nSELECT 1;\0\n";
    CHECK_TAKE(ut_parse_err_n(zNul, sizeof(zNul) - 1),
               "f.sql: file contains a NUL byte; is it a text file?");
  }
  {
    size_t n = (size_t)MIG_MAX_SCRIPT + 1;
    char *zBig = malloc(n);
    if (zBig) {
      memset(zBig, ' ', n);
      memcpy(zBig, "-- m\n", 5);
      CHECK_TAKE(ut_parse_err_n(zBig, n),
                 "f.sql: file is larger than 67108864 bytes");
      free(zBig);
    }
  }

  TEST("transaction control is refused in either section");
  {
    static const char *azStmt[] = {"BEGIN",
                                   "BEGIN;",
                                   "begin immediate transaction;",
                                   "COMMIT;",
                                   "commit transaction;",
                                   "END;",
                                   "END TRANSACTION;",
                                   "ROLLBACK;",
                                   "rollback to sp;",
                                   "SAVEPOINT sp;",
                                   "RELEASE sp;",
                                   "release savepoint sp;",
                                   "/* lead */ COMMIT;",
                                   "-- lead\nROLLBACK;"};
    static const char *azWord[] = {
        "BEGIN",   "BEGIN",   "BEGIN",    "COMMIT",   "COMMIT",
        "END",     "END",     "ROLLBACK", "ROLLBACK", "SAVEPOINT",
        "RELEASE", "RELEASE", "COMMIT",   "ROLLBACK"};
    static const int aExtraLine[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    size_t k;
    for (k = 0; k < sizeof(azStmt) / sizeof(azStmt[0]); k++) {
      char *zUp = sqlite3_mprintf("SELECT 1;\n%s\n", azStmt[k]);
      char *zWant;
      /* upgrade: body starts on line 6, the statement is on line 7 */
      z = scriptWith("", zUp, 0);
      zWant = sqlite3_mprintf(
          "f.sql:%d: %s in the upgrade section: scripts must not contain "
          "BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or RELEASE (the engine "
          "runs each revision in a transaction); remove it",
          7 + aExtraLine[k], azWord[k]);
      CHECK_TAKE(ut_parse_err(z), zWant);
      sqlite3_free(z);
      sqlite3_free(zWant);
      /* also with Transaction: none (one more header line) */
      z = scriptWith("-- Transaction: none\n", zUp, 0);
      zWant = sqlite3_mprintf(
          "f.sql:%d: %s in the upgrade section: scripts must not contain "
          "BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or RELEASE (the engine "
          "runs each revision in a transaction); remove it",
          8 + aExtraLine[k], azWord[k]);
      CHECK_TAKE(ut_parse_err(z), zWant);
      sqlite3_free(z);
      sqlite3_free(zWant);
      /* downgrade: directive on line 7, the statement on line 9 */
      z = scriptWith("", "SELECT 1;\n", zUp);
      zWant = sqlite3_mprintf(
          "f.sql:%d: %s in the downgrade section: scripts must not contain "
          "BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or RELEASE (the engine "
          "runs each revision in a transaction); remove it",
          9 + aExtraLine[k], azWord[k]);
      CHECK_TAKE(ut_parse_err(z), zWant);
      sqlite3_free(z);
      sqlite3_free(zWant);
      sqlite3_free(zUp);
    }
  }

  TEST("statements that need Transaction: none");
  {
    static const char *azStmt[] = {"VACUUM;",
                                   "vacuum main;",
                                   "ATTACH 'x.db' AS x;",
                                   "attach database 'x.db' as x;",
                                   "DETACH x;",
                                   "PRAGMA journal_mode = WAL;",
                                   "PRAGMA main.journal_mode = WAL;",
                                   "pragma Main . Journal_Mode=delete;",
                                   "PRAGMA \"journal_mode\" = WAL;",
                                   "PRAGMA foreign_keys = OFF;",
                                   "PRAGMA main.foreign_keys=ON;",
                                   "PRAGMA [foreign_keys];",
                                   "/* c */ VACUUM"};
    static const char *azWhat[] = {"VACUUM",
                                   "VACUUM",
                                   "ATTACH",
                                   "ATTACH",
                                   "DETACH",
                                   "PRAGMA journal_mode",
                                   "PRAGMA journal_mode",
                                   "PRAGMA journal_mode",
                                   "PRAGMA journal_mode",
                                   "PRAGMA foreign_keys",
                                   "PRAGMA foreign_keys",
                                   "PRAGMA foreign_keys",
                                   "VACUUM"};
    size_t k;
    for (k = 0; k < sizeof(azStmt) / sizeof(azStmt[0]); k++) {
      char *zUp = sqlite3_mprintf("SELECT 1;\n%s\n", azStmt[k]);
      char *zWant = sqlite3_mprintf(
          "f.sql:7: %s cannot run inside a transaction; add '-- Transaction: "
          "none' to the header to run this revision outside one",
          azWhat[k]);
      z = scriptWith("", zUp, 0);
      CHECK_TAKE(ut_parse_err(z), zWant);
      sqlite3_free(z);
      sqlite3_free(zWant);
      /* in the downgrade section */
      zWant = sqlite3_mprintf(
          "f.sql:9: %s cannot run inside a transaction; add '-- Transaction: "
          "none' to the header to run this revision outside one",
          azWhat[k]);
      z = scriptWith("", "SELECT 1;\n", zUp);
      CHECK_TAKE(ut_parse_err(z), zWant);
      sqlite3_free(z);
      sqlite3_free(zWant);
      /* accepted with Transaction: none, in both sections */
      z = scriptWith("-- Transaction: none\n", zUp, zUp);
      CHECK_TAKE(ut_parse_err(z), 0);
      sqlite3_free(z);
      sqlite3_free(zUp);
    }
  }
  TEST("pragmas that are fine inside a transaction");
  z = scriptWith("",
                 "PRAGMA user_version = 3;\nPRAGMA defer_foreign_keys = 1;\n"
                 "PRAGMA foreign_key_check;\nPRAGMA main.table_info(t);\n",
                 0);
  CHECK_TAKE(ut_parse_err(z), 0);
  sqlite3_free(z);
}

void ut_script_tests(void) {
  testFields();
  testKeysCaseInsensitive();
  testMessage();
  testRevisesForms();
  testLineEndings();
  testSections();
  testRefusalsHeader();
  testRefusalsBody();
}
