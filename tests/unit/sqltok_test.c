/*
** sqltok_test.c — the SQL tokenizer (migSqlToken, migSqlSkipSpace,
** migSqlUnquote) with SQLite's quoting rules, including the cases on which
** the engine's four scanners used to disagree: a doubled quote inside
** "..." or `...` is a quote (one token), not the end of the identifier;
** inside [...] it is not an escape.
*/
#include "unit.h"

static const char *const azType[] = {"eof",    "space",  "comment", "word",
                                     "quoted", "string", "blob",    "number",
                                     "var",    "punct"};

/* "type:text" of every token of z, joined by " ". */
static char *toks(const char *z) {
  MigStr s = {0};
  int n = 0;
  migStrAppendZ(&s, "");
  for (;;) {
    int e;
    size_t k = migSqlToken(z, &e);
    if (e == MIG_TK_EOF) break;
    migStrSep(&s, &n, " ");
    migStrAppendf(&s, "%s:%.*s", azType[e], (int)k, z);
    z += k;
  }
  return migStrFinish(&s);
}

/* The renames migFkNoteRename() notes for each statement of az[0..n),
** one "old>new" per rename, joined by " ". */
static char *renames(const char *const *az, int n) {
  MigStr s = {0}, out = {0};
  int i;
  char *z;
  for (i = 0; i < n; i++) migFkNoteRename(&s, az[i]);
  migStrAppendZ(&out, "");
  for (z = s.z; z && *z; z++) {
    if (*z == '\n') {
      if (z[1]) migStrAppendZ(&out, " ");
    } else {
      migStrAppend(&out, *z == '\x1f' ? ">" : z, 1);
    }
  }
  migStrReset(&s);
  return migStrFinish(&out);
}

void ut_sqltok_tests(void) {
  TEST("sqltok: words, punctuation, spaces");
  CHECK_TAKE(toks("SELECT a,b"), "word:SELECT space:  word:a punct:, word:b");
  CHECK_TAKE(toks("a->>'$.x' || b <> c == d"),
             "word:a punct:->> string:'$.x' space:  punct:|| space:  word:b "
             "space:  punct:<> space:  word:c space:  punct:== space:  word:d");
  CHECK_TAKE(toks("x$1 _y \xc3\xa9t\xc3\xa9"),
             "word:x$1 space:  word:_y space:  word:\xc3\xa9t\xc3\xa9");

  TEST("sqltok: strings and identifiers, doubled quotes");
  CHECK_TAKE(toks("'it''s'"), "string:'it''s'");
  CHECK_TAKE(toks("\"a\"\"b\""), "quoted:\"a\"\"b\"");
  CHECK_TAKE(toks("`a``b`"), "quoted:`a``b`");
  /* a ';' inside a quoted identifier is part of it */
  CHECK_TAKE(toks("\"a\"\";b\";"), "quoted:\"a\"\";b\" punct:;");
  /* [...] ends at the first ']': no escape */
  CHECK_TAKE(toks("[a]]b]"), "quoted:[a] punct:] word:b punct:]");
  CHECK_TAKE(toks("[a\"b]"), "quoted:[a\"b]");
  /* unterminated: to the end of the text */
  CHECK_TAKE(toks("'abc"), "string:'abc");
  CHECK_TAKE(toks("\"ab"), "quoted:\"ab");

  TEST("sqltok: comments, blobs, numbers, variables");
  CHECK_TAKE(toks("a -- x; y\nb"),
             "word:a space:  comment:-- x; y space:\n word:b");
  CHECK_TAKE(toks("/* ; */a/* open"),
             "comment:/* ; */ word:a "
             "comment:/* open");
  CHECK_TAKE(toks("x'0aFF' X'' xy"),
             "blob:x'0aFF' space:  blob:X'' space:  word:xy");
  CHECK_TAKE(toks("1 2.5e-3 0x1F .5 1_000"),
             "number:1 space:  number:2.5e-3 space:  number:0x1F space:  "
             "number:.5 space:  number:1_000");
  CHECK_TAKE(toks("?1 ? :a @b $c"),
             "var:?1 space:  var:? space:  var::a space:  var:@b space:  "
             "var:$c");

  TEST("sqltok: skipping spaces and comments counts lines");
  {
    int nLine = 0;
    const char *z = " -- one\n/* two\nthree */\n  SELECT";
    size_t n = migSqlSkipSpace(z, &nLine);
    CHECK_STR(z + n, "SELECT");
    CHECK_INT(nLine, 3);
    CHECK_INT(migSqlSkipSpace("SELECT", 0), 0);
    CHECK_INT(migSqlLines("a\nb\n", 4), 2);
  }

  TEST("sqltok: the splitter and the statement checks use it");
  {
    /* a ';' after a doubled quote inside "..." does not end the statement */
    char z[] = "SELECT \"a\"\";b\" FROM t; SELECT 2;";
    MigSplit sp = {z, 0, 0, 0};
    const char *zStmt;
    size_t nStmt;
    int iLine;
    CHECK(migSplitNext(&sp, &zStmt, &nStmt, &iLine));
    CHECK_INT(nStmt, strlen("SELECT \"a\"\";b\" FROM t;"));
    CHECK(migSplitNext(&sp, &zStmt, &nStmt, &iLine));
    CHECK_INT(nStmt, strlen("SELECT 2;"));
    CHECK(!migSplitNext(&sp, &zStmt, &nStmt, &iLine));
  }

  TEST("sqltok: unquoting");
  CHECK_TAKE(migSqlUnquote("\"a\"\"b\"", 6), "a\"b");
  CHECK_TAKE(migSqlUnquote("`a``b`", 6), "a`b");
  CHECK_TAKE(migSqlUnquote("'it''s'", 7), "it's");
  CHECK_TAKE(migSqlUnquote("[a\"\"b]", 6), "a\"\"b");
  CHECK_TAKE(migSqlUnquote("plain", 5), "plain");
  CHECK_TAKE(migSqlUnquote("\"open", 5), "open");
  CHECK_TAKE(migSqlUnquote("[open", 5), "open");
  CHECK_TAKE(migSqlUnquote("\"\"", 2), "");

  TEST("sqltok: the table renames the foreign-key check follows");
  {
    static const char *const azYes[] = {
        "ALTER TABLE c RENAME TO kids;",
        "alter table main.\"k i\" rename to [x]",
        "ALTER /* c */ TABLE `a``b` -- x\n RENAME TO 'y';"};
    static const char *const azNo[] = {
        "ALTER TABLE temp.c RENAME TO d;", "ALTER TABLE c RENAME COLUMN a TO b",
        "ALTER TABLE c RENAME a TO b",     "ALTER TABLE c RENAME to TO b",
        "ALTER TABLE c ADD COLUMN x",      "SELECT 'ALTER TABLE c RENAME TO d'",
        "ALTER TABLE c RENAME TO"};
    CHECK_TAKE(renames(azYes, 3), "c>kids k i>x a`b>y");
    CHECK_TAKE(renames(azNo, 7), "");
  }

  TEST("sqltok: white space as the tokenizer reads it");
  CHECK(migSqlIsSpace(' ') && migSqlIsSpace('\t') && migSqlIsSpace('\n'));
  CHECK(migSqlIsSpace('\r') && migSqlIsSpace('\f') && migSqlIsSpace('\v'));
  CHECK(!migSqlIsSpace('a') && !migSqlIsSpace(0) && !migSqlIsSpace(0xa0));
}
