/*
** split_test.c — statement splitting (migSplitNext): each statement's text
** and 0-based line offset, the way SQLite itself splits (sqlite3_complete),
** so triggers, strings, quoted identifiers and comments need no markers.
*/
#include "unit.h"

/* Split zBody and render "<line>:<statement>" items joined by " | ".
** Also checks that the body is restored afterwards. */
static char *split(const char *zBody) {
  char *z = sqlite3_mprintf("%s", zBody);
  MigSplit s;
  const char *zStmt;
  size_t nStmt;
  int iLine, n = 0;
  MigStr out = {0};
  s.z = z;
  s.i = 0;
  s.iLine = 0;
  migStrAppendZ(&out, "");
  while (migSplitNext(&s, &zStmt, &nStmt, &iLine)) {
    migStrAppendf(&out, "%s%d:%.*s", n++ ? " | " : "", iLine, (int)nStmt,
                  zStmt);
    if (n > 100) break;
  }
  ut_check(strcmp(z, zBody) == 0, __FILE__, __LINE__,
           "body not restored after splitting");
  /* at the end it keeps answering 0 */
  ut_check(migSplitNext(&s, &zStmt, &nStmt, &iLine) == 0, __FILE__, __LINE__,
           "migSplitNext after the end");
  sqlite3_free(z);
  return migStrFinish(&out);
}

void ut_split_tests(void) {
  TEST("split: simple statements");
  CHECK_TAKE(split(""), "");
  CHECK_TAKE(split("  \n\t\n"), "");
  CHECK_TAKE(split("SELECT 1;"), "0:SELECT 1;");
  CHECK_TAKE(split("SELECT 1; SELECT 2;"), "0:SELECT 1; | 0:SELECT 2;");
  CHECK_TAKE(split("SELECT 1;\nSELECT 2;\n\n\nSELECT 3;\n"),
             "0:SELECT 1; | 1:SELECT 2; | 4:SELECT 3;");
  CHECK_TAKE(split("\n\nCREATE TABLE t(\n  x,\n  y\n);\nSELECT 1;"),
             "2:CREATE TABLE t(\n  x,\n  y\n); | 6:SELECT 1;");

  TEST("split: no semicolon at the end");
  CHECK_TAKE(split("SELECT 1;\nSELECT 2\n"), "0:SELECT 1; | 1:SELECT 2\n");
  CHECK_TAKE(split("SELECT 1"), "0:SELECT 1");

  TEST("split: triggers with BEGIN ... END");
  CHECK_TAKE(split("CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
                   "  INSERT INTO log VALUES (1);\n"
                   "  UPDATE t SET x = x + 1;\n"
                   "END;\n"
                   "SELECT 2;\n"),
             "0:CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
             "  INSERT INTO log VALUES (1);\n"
             "  UPDATE t SET x = x + 1;\n"
             "END; | 4:SELECT 2;");
  CHECK_TAKE(split("CREATE TEMP TRIGGER tr BEFORE DELETE ON t BEGIN "
                   "SELECT CASE WHEN 1 THEN RAISE(ABORT, 'no;') END; END; "
                   "SELECT 3;"),
             "0:CREATE TEMP TRIGGER tr BEFORE DELETE ON t BEGIN "
             "SELECT CASE WHEN 1 THEN RAISE(ABORT, 'no;') END; END; | "
             "0:SELECT 3;");

  TEST("split: semicolons in strings and quoted identifiers");
  CHECK_TAKE(split("INSERT INTO t VALUES ('a;b', 'it''s; ok');SELECT 2;"),
             "0:INSERT INTO t VALUES ('a;b', 'it''s; ok'); | 0:SELECT 2;");
  CHECK_TAKE(split("SELECT \"a;b\", [c;d], `e;f` FROM t; SELECT 2;"),
             "0:SELECT \"a;b\", [c;d], `e;f` FROM t; | 0:SELECT 2;");
  CHECK_TAKE(split("SELECT 'line1;\nline2;\nline3';\nSELECT 2;"),
             "0:SELECT 'line1;\nline2;\nline3'; | 3:SELECT 2;");

  TEST("split: semicolons in comments");
  CHECK_TAKE(split("SELECT 1 -- not; the end\n, 2;\nSELECT 3;"),
             "0:SELECT 1 -- not; the end\n, 2; | 2:SELECT 3;");
  CHECK_TAKE(split("SELECT /* a;\nb; */ 1;\nSELECT 2;"),
             "0:SELECT /* a;\nb; */ 1; | 2:SELECT 2;");
  CHECK_TAKE(split("-- lead; comment\n/* block;\n */\nSELECT 1;"),
             "3:SELECT 1;");

  TEST("split: trailing comment-only text is skipped");
  CHECK_TAKE(split("SELECT 1; -- done\n/* the end; */\n\n-- really\n"),
             "0:SELECT 1;");
  CHECK_TAKE(split("SELECT 1;\n/* unterminated ; comment"), "0:SELECT 1;");
  CHECK_TAKE(split("-- only a comment\n"), "");
}
