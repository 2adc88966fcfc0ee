/*
** target_test.c — target resolution (ext/README.md, "Targets and Alembic parity") through
** migrate_bundle_resolve() and migPlan(): every form of target, unique and
** ambiguous prefixes, relative steps, branch labels, and each refusal with
** Alembic's wording (clearer where Alembic only asserts or warns).
*/
#include "unit.h"

#define LINEAR       "a1; b2<a1; c3<b2; d4<c3"
#define LONGIDS      "ae10; ae1f27<ae10; bc3d9e<ae1f27; bc3d9f<bc3d9e; c7d2e1<bc3d9f"
#define BRANCH       "r1; b1<r1; b2<b1; c1<r1; c2<c1"
#define MERGE        "r1; b1<r1; c1<r1; m1<b1,c1; n1<m1"
#define TWOROOTS     "a1; a2<a1; x1; x2<x1"
#define LABELS2ROOTS "p1 @app; p2<p1; p3<p2; q1 @lib; q2<q1; q3<q2"
#define LABELBRANCH  "r1; f1<r1 @feat; f2<f1; g1<r1 @fix; g2<g1"

static const char *zHint =
    "; please ensure at least four characters are present for partial "
    "revision identifier matches";

static migrate_bundle *graph(const char *zSpec) {
  char *zErr = 0;
  migrate_bundle *b = ut_graph(&zErr, zSpec);
  ut_check(b != 0, __FILE__, __LINE__, "graph %s: %s", zSpec, zErr);
  sqlite3_free(zErr);
  return b;
}

/* "error: No such revision or branch 'x'" plus the hint for short input. */
static char *noSuch(const char *zId, int bHint) {
  return sqlite3_mprintf("error: No such revision or branch '%s'%s", zId,
                         bHint ? zHint : "");
}

static void testBasicForms(void) {
  migrate_bundle *b = graph(LINEAR);
  char *z;
  if (b == 0) return;
  TEST("targets: head, heads, base, ids");
  CHECK_TAKE(ut_resolve(b, "", "head"), "d4");
  CHECK_TAKE(ut_resolve(b, "b2", "head"), "d4");
  CHECK_TAKE(ut_resolve(b, "", "heads"), "d4");
  CHECK_TAKE(ut_resolve(b, "c3", "base"), "");
  CHECK_TAKE(ut_resolve(b, "", "c3"), "c3");
  CHECK_TAKE(ut_resolve(b, "", "a1"), "a1");

  TEST("targets: ids of 3 characters or fewer are given whole");
  z = noSuch("a", 1);
  CHECK_TAKE(ut_resolve(b, "", "a"), z);
  sqlite3_free(z);
  z = noSuch("c", 1);
  CHECK_TAKE(ut_resolve(b, "", "c"), z);
  sqlite3_free(z);
  z = noSuch("zz9", 1);
  CHECK_TAKE(ut_resolve(b, "", "zz9"), z);
  sqlite3_free(z);
  z = noSuch("nope", 0);
  CHECK_TAKE(ut_resolve(b, "", "nope"), z);
  sqlite3_free(z);
  z = noSuch("A1", 1);
  CHECK_TAKE(ut_resolve(b, "", "A1"), z);
  sqlite3_free(z);
  z = noSuch("HEAD", 0);
  CHECK_TAKE(ut_resolve(b, "", "HEAD"), z);
  sqlite3_free(z);
  z = noSuch("1", 1);
  CHECK_TAKE(ut_resolve(b, "", "1"), z);
  sqlite3_free(z);
  z = noSuch("a1+x", 0);
  CHECK_TAKE(ut_resolve(b, "", "a1+x"), z);
  sqlite3_free(z);
  z = noSuch("zz9", 1);
  CHECK_TAKE(ut_resolve(b, "", "zz9+1"), z);
  sqlite3_free(z);

  TEST("targets: relative steps");
  CHECK_TAKE(ut_resolve(b, "", "+1"), "a1");
  CHECK_TAKE(ut_resolve(b, "", "+4"), "d4");
  CHECK_TAKE(ut_resolve(b, "b2", "+1"), "c3");
  CHECK_TAKE(ut_resolve(b, "b2", "+2"), "d4");
  CHECK_TAKE(ut_resolve(b, "c3", "-1"), "b2");
  CHECK_TAKE(ut_resolve(b, "c3", "-2"), "a1");
  CHECK_TAKE(ut_resolve(b, "c3", "-3"), "");
  CHECK_TAKE(ut_resolve(b, "", "a1+2"), "c3");
  CHECK_TAKE(ut_resolve(b, "", "a1+3"), "d4");
  CHECK_TAKE(ut_resolve(b, "", "d4-1"), "c3");
  CHECK_TAKE(ut_resolve(b, "", "d4-4"), "");
  CHECK_TAKE(ut_resolve(b, "", "c3+0"), "c3");
  CHECK_TAKE(ut_resolve(b, "", "c3-0"), "c3");
  CHECK_TAKE(ut_resolve(b, "", "base+2"), "b2");
  CHECK_TAKE(ut_resolve(b, "b2", "+0"), "b2");

  TEST("targets: relative overwalk");
  CHECK_TAKE(ut_resolve(b, "", "+5"),
             "error: Relative revision +5 didn't produce 5 migrations");
  CHECK_TAKE(ut_resolve(b, "d4", "+1"),
             "error: Relative revision +1 didn't produce 1 migrations");
  CHECK_TAKE(ut_resolve(b, "c3", "-4"),
             "error: Relative revision -4 didn't produce 4 migrations");
  CHECK_TAKE(ut_resolve(b, "a1", "-5"),
             "error: Relative revision -5 didn't produce 5 migrations");
  CHECK_TAKE(ut_resolve(b, "", "-1"),
             "error: Relative revision -1 didn't produce 1 migrations (the "
             "database is at base)");
  CHECK_TAKE(ut_resolve(b, "", "a1+4"),
             "error: Walked too far: a1+4 goes past the heads");
  CHECK_TAKE(ut_resolve(b, "", "c3-4"),
             "error: Walked too far: c3-4 goes past the base");

  TEST("targets: NULL, empty, overlong, huge steps, stray '@'");
  {
    int *a = (int *)1, n = 7;
    char *zErr = 0;
    CHECK_INT(migrate_bundle_resolve(b, 0, 0, 0, &a, &n, &zErr), SQLITE_MISUSE);
    CHECK_STR(zErr, "target is NULL");
    CHECK(a == 0);
    CHECK_INT(n, 0);
    sqlite3_free(zErr);
  }
  {
    /* migPlan takes no NULL; migrate_run checks before planning */
    sqlite3 *db = 0;
    char *zErr = 0, *zVersion = (char *)1;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    CHECK_INT(migrate_run(db, b, 0, 0, &zVersion, &zErr), SQLITE_MISUSE);
    CHECK_STR(zErr,
              "migrate_to(): target is NULL; give head, heads, base, a "
              "revision, +N or -N");
    CHECK(zVersion == 0);
    sqlite3_free(zErr);
    sqlite3_close(db);
  }
  CHECK_TAKE(ut_resolve(b, "", ""),
             "error: empty target; give head, heads, base, a revision, +N or "
             "-N");
  CHECK_TAKE(ut_plan(b, "", "", MIGRATE_AUTO),
             "error: empty target; give head, heads, base, a revision, +N or "
             "-N");
  {
    char zLong[300];
    memset(zLong, 'a', sizeof(zLong) - 1);
    zLong[299] = 0;
    CHECK_TAKE(ut_resolve(b, "", zLong),
               "error: target is 299 characters long; revision ids have at "
               "most 64");
    CHECK_TAKE(ut_plan(b, "", zLong, MIGRATE_UPGRADE),
               "error: target is 299 characters long; revision ids have at "
               "most 64");
    zLong[192] = 0; /* the longest accepted: label@id+N room */
    z = noSuch(zLong, 0);
    CHECK_TAKE(ut_resolve(b, "", zLong), z);
    sqlite3_free(z);
    zLong[193] = 'a';
    zLong[193 + 1] = 0;
    zLong[192] = 'a';
    CHECK_TAKE(ut_resolve(b, "", zLong),
               "error: target is 194 characters long; revision ids have at "
               "most 64");
    /* a long label before '@' */
    memset(zLong, 'l', 150);
    strcpy(zLong + 150, "@head");
    z = sqlite3_mprintf("error: No such branch: '%.150s'", zLong);
    CHECK_TAKE(ut_resolve(b, "", zLong), z);
    sqlite3_free(z);
  }
  CHECK_TAKE(ut_resolve(b, "", "+1234567890"),
             "error: relative step '+1234567890' is too large");
  CHECK_TAKE(ut_resolve(b, "", "a1-99999999999999999999"),
             "error: relative step '-99999999999999999999' is too large");
  CHECK_TAKE(ut_resolve(b, "", "+999999999"),
             "error: Relative revision +999999999 didn't produce 999999999 "
             "migrations");
  CHECK_TAKE(ut_resolve(b, "d4", "-999999999"),
             "error: Relative revision -999999999 didn't produce 999999999 "
             "migrations");
  CHECK_TAKE(ut_resolve(b, "", "a1+999999999"),
             "error: Walked too far: a1+999999999 goes past the heads");
  CHECK_TAKE(ut_plan(b, "d4", "-999999999", MIGRATE_DOWNGRADE),
             "error: Relative revision -999999999 didn't produce 999999999 "
             "migrations");
  CHECK_TAKE(ut_resolve(b, "", "@head"),
             "error: No such revision or branch '@head'; a branch label must "
             "come before '@'");
  CHECK_TAKE(ut_resolve(b, "", "x@y@z"), "error: No such branch: 'x'");
  migrate_bundle_free(b);
}

static void testPrefixes(void) {
  migrate_bundle *b = graph(LONGIDS);
  char *z;
  if (b == 0) return;
  TEST("targets: unique prefixes of ids longer than 3 characters");
  CHECK_TAKE(ut_resolve(b, "", "ae1f"), "ae1f27");
  CHECK_TAKE(ut_resolve(b, "", "ae1f2"), "ae1f27");
  CHECK_TAKE(ut_resolve(b, "", "bc3d9e"), "bc3d9e");
  CHECK_TAKE(ut_resolve(b, "", "c7"), "c7d2e1");
  CHECK_TAKE(ut_resolve(b, "", "c"), "c7d2e1");
  CHECK_TAKE(ut_resolve(b, "", "ae10"), "ae10");
  CHECK_TAKE(ut_resolve(b, "", "ae1f+2"), "bc3d9f");
  CHECK_TAKE(ut_resolve(b, "", "c7d2-2"), "bc3d9e");
  CHECK_TAKE(ut_resolve(b, "", "c7d2e1-1"), "bc3d9f");

  TEST("targets: ambiguous and unknown prefixes");
  CHECK_TAKE(ut_resolve(b, "", "bc3d9"),
             "error: Multiple revisions start with 'bc3d9': 'bc3d9e', "
             "'bc3d9f'...");
  CHECK_TAKE(ut_resolve(b, "", "ae1"),
             "error: Multiple revisions start with 'ae1': 'ae10', "
             "'ae1f27'...");
  CHECK_TAKE(ut_resolve(b, "", "bc3d-1"),
             "error: Multiple revisions start with 'bc3d': 'bc3d9e', "
             "'bc3d9f'...");
  CHECK_TAKE(ut_plan(b, "", "ae1", MIGRATE_UPGRADE),
             "error: Multiple revisions start with 'ae1': 'ae10', "
             "'ae1f27'...");
  CHECK_TAKE(ut_plan(b, "ae1f27", "bc3d9", MIGRATE_DOWNGRADE),
             "error: Multiple revisions start with 'bc3d9': 'bc3d9e', "
             "'bc3d9f'...");
  z = noSuch("ae11", 0);
  CHECK_TAKE(ut_resolve(b, "", "ae11"), z);
  sqlite3_free(z);
  z = noSuch("zz", 1);
  CHECK_TAKE(ut_resolve(b, "", "zz"), z);
  sqlite3_free(z);
  z = noSuch("ae1f27x", 0);
  CHECK_TAKE(ut_resolve(b, "", "ae1f27x"), z);
  sqlite3_free(z);
  migrate_bundle_free(b);

  TEST("targets: more than three candidates list the first three");
  b = graph("abcd1; abcd2<abcd1; abcd3<abcd2; abcd4<abcd3");
  if (b == 0) return;
  CHECK_TAKE(ut_resolve(b, "", "a"),
             "error: Multiple revisions start with 'a': 'abcd1', 'abcd2', "
             "'abcd3'...");
  CHECK_TAKE(ut_resolve(b, "", "abcd4"), "abcd4");
  migrate_bundle_free(b);

  TEST("targets: short ids are never prefix-matched, long ones are");
  b = graph("abc; abcdef<abc");
  if (b == 0) return;
  CHECK_TAKE(ut_resolve(b, "", "abc"), "abc");
  CHECK_TAKE(ut_resolve(b, "", "ab"), "abcdef");
  CHECK_TAKE(ut_resolve(b, "", "abcd"), "abcdef");
  migrate_bundle_free(b);

  TEST("targets: labels longer than 3 characters are prefix-matched");
  b = graph(LABELBRANCH);
  if (b == 0) return;
  CHECK_TAKE(ut_resolve(b, "", "feat"), "f1");
  CHECK_TAKE(ut_resolve(b, "", "fea"), "f1");
  CHECK_TAKE(ut_resolve(b, "", "fix"), "g1");
  CHECK_TAKE(ut_resolve(b, "", "f"), "f1");
  CHECK_TAKE(ut_resolve(b, "", "fi"),
             "error: No such revision or branch 'fi'; please ensure at least "
             "four characters are present for partial revision identifier "
             "matches");
  migrate_bundle_free(b);
}

static void testHeadsAndWalks(void) {
  migrate_bundle *b = graph(BRANCH);
  if (b == 0) return;
  TEST("targets: several heads");
  CHECK_TAKE(ut_resolve(b, "", "heads"), "b2,c2");
  CHECK_TAKE(ut_resolve(b, "", "head"),
             "error: Multiple head revisions are present for given argument "
             "'head'; please specify a specific target revision, "
             "'<branchname>@head' to narrow to a specific head, or 'heads' "
             "for all heads (heads: b2, c2)");
  CHECK_TAKE(ut_plan(b, "b2,c2", "head", MIGRATE_DOWNGRADE),
             "error: Multiple head revisions are present for given argument "
             "'head'; please specify a specific target revision, "
             "'<branchname>@head' to narrow to a specific head, or 'heads' "
             "for all heads (heads: b2, c2)");
  CHECK_TAKE(ut_plan(b, "b2", "head", MIGRATE_AUTO),
             "error: Multiple head revisions are present for given argument "
             "'head'; please specify a specific target revision, "
             "'<branchname>@head' to narrow to a specific head, or 'heads' "
             "for all heads (heads: b2, c2)");
  CHECK_TAKE(ut_plan(b, "", "head", MIGRATE_STAMP),
             "error: Multiple head revisions are present for given argument "
             "'head'; please specify a specific target revision, "
             "'<branchname>@head' to narrow to a specific head, or 'heads' "
             "for all heads (heads: b2, c2)");

  TEST("targets: ambiguous walks");
  CHECK_TAKE(ut_resolve(b, "r1", "+1"),
             "error: Ambiguous walk: revision r1 is a branch point with "
             "children (b1, c1); name a revision or a branch "
             "('<branchname>@+1')");
  CHECK_TAKE(ut_resolve(b, "", "r1+1"),
             "error: Ambiguous walk: revision r1 is a branch point with "
             "children (b1, c1); name a revision or a branch "
             "('<branchname>@+1')");
  CHECK_TAKE(ut_resolve(b, "", "+2"),
             "error: Ambiguous walk: revision r1 is a branch point with "
             "children (b1, c1); name a revision or a branch "
             "('<branchname>@+1')");
  CHECK_TAKE(ut_resolve(b, "b1", "+1"), "b2");
  CHECK_TAKE(ut_resolve(b, "", "b1+1"), "b2");
  CHECK_TAKE(ut_resolve(b, "", "c2-2"), "r1");
  CHECK_TAKE(ut_resolve(b, "b2,c1", "+1"),
             "error: Ambiguous upgrade from multiple current revisions (b2, "
             "c1); use '<branchname>@+1' or '<revision>+1'");
  CHECK_TAKE(ut_resolve(b, "b1,c2", "-1"),
             "error: Relative revision -1 is ambiguous: the database has "
             "several heads (b1, c2); use '<revision>-1' or "
             "'<branchname>@-1'");
  CHECK_TAKE(ut_plan(b, "b1,c2", "-1", MIGRATE_DOWNGRADE),
             "error: Relative revision -1 is ambiguous: the database has "
             "several heads (b1, c2); use '<revision>-1' or "
             "'<branchname>@-1'");
  CHECK_TAKE(ut_plan(b, "b1,c2", "-2", MIGRATE_AUTO),
             "error: Relative revision -2 is ambiguous: the database has "
             "several heads (b1, c2); use '<revision>-2' or "
             "'<branchname>@-2'");
  /* naming the branch resolves it */
  CHECK_TAKE(ut_resolve(b, "b1,c2", "c2-1"), "c1");
  CHECK_TAKE(ut_resolve(b, "b1,c2", "b1@-1"), "r1");
  CHECK_TAKE(ut_resolve(b, "b1,c2", "c2@-1"), "c1");
  CHECK_TAKE(ut_resolve(b, "b1,c2", "b1@+1"), "b2");
  migrate_bundle_free(b);

  b = graph(MERGE);
  if (b == 0) return;
  TEST("targets: ambiguous walk at a merge point");
  CHECK_TAKE(ut_resolve(b, "m1", "-1"),
             "error: Ambiguous walk: revision m1 is a merge point of (b1, "
             "c1); name a revision or a branch ('<branchname>@-1')");
  CHECK_TAKE(ut_resolve(b, "n1", "-2"),
             "error: Ambiguous walk: revision m1 is a merge point of (b1, "
             "c1); name a revision or a branch ('<branchname>@-1')");
  CHECK_TAKE(ut_resolve(b, "n1", "m1-1"),
             "error: Ambiguous walk: revision m1 is a merge point of (b1, "
             "c1); name a revision or a branch ('<branchname>@-1')");
  CHECK_TAKE(ut_resolve(b, "n1", "-1"), "m1");
  CHECK_TAKE(ut_resolve(b, "", "b1+1"), "m1");
  CHECK_TAKE(ut_resolve(b, "", "b1+2"), "n1");
  CHECK_TAKE(ut_resolve(b, "", "n1-1"), "m1");
  CHECK_TAKE(ut_plan(b, "m1", "-1", MIGRATE_DOWNGRADE),
             "error: Ambiguous walk: revision m1 is a merge point of (b1, "
             "c1); name a revision or a branch ('<branchname>@-1')");
  migrate_bundle_free(b);

  b = graph(TWOROOTS);
  if (b == 0) return;
  TEST("targets: several bases");
  CHECK_TAKE(ut_resolve(b, "", "+1"),
             "error: Ambiguous walk: there are several bases (a1, x1); name a "
             "revision or a branch ('<branchname>@+1')");
  CHECK_TAKE(ut_resolve(b, "", "base+1"),
             "error: Ambiguous walk: there are several bases (a1, x1); name a "
             "revision or a branch ('<branchname>@+1')");
  CHECK_TAKE(ut_resolve(b, "", "a1+1"), "a2");
  CHECK_TAKE(ut_resolve(b, "a1", "+1"), "a2");
  CHECK_TAKE(ut_resolve(b, "", "heads"), "a2,x2");
  CHECK_TAKE(ut_resolve(b, "", "x2@head"), "x2");
  CHECK_TAKE(ut_resolve(b, "", "x1@head"), "x2");
  CHECK_TAKE(ut_resolve(b, "", "a2@base"), "");
  migrate_bundle_free(b);

  TEST("targets: a head another head depends on");
  b = graph("r1; b1<r1; c1<r1 &b1");
  if (b == 0) return;
  CHECK_TAKE(ut_resolve(b, "", "heads"), "c1");
  CHECK_TAKE(ut_resolve(b, "", "head"),
             "error: Multiple head revisions are present for given argument "
             "'head'; please specify a specific target revision, "
             "'<branchname>@head' to narrow to a specific head, or 'heads' "
             "for all heads (heads: b1, c1)");
  migrate_bundle_free(b);
}

static void testLabels(void) {
  migrate_bundle *b = graph(LABELS2ROOTS);
  if (b == 0) return;
  TEST("targets: label@head, @heads, @base, @rev");
  CHECK_TAKE(ut_resolve(b, "", "app@head"), "p3");
  CHECK_TAKE(ut_resolve(b, "", "lib@head"), "q3");
  CHECK_TAKE(ut_resolve(b, "", "lib@heads"), "q3");
  CHECK_TAKE(ut_resolve(b, "p3,q3", "app@base"), "");
  CHECK_TAKE(ut_resolve(b, "", "app@p2"), "p2");
  CHECK_TAKE(ut_resolve(b, "", "app"), "p1");
  CHECK_TAKE(ut_resolve(b, "", "lib"), "q1");
  CHECK_TAKE(ut_resolve(b, "", "app@q2"),
             "error: Revision q2 is not a member of branch 'app'");
  CHECK_TAKE(ut_resolve(b, "", "nope@head"), "error: No such branch: 'nope'");
  CHECK_TAKE(ut_resolve(b, "", "nope@+1"), "error: No such branch: 'nope'");
  CHECK_TAKE(ut_resolve(b, "p3", "nope@-1"), "error: No such branch: 'nope'");
  CHECK_TAKE(ut_resolve(b, "", "app@zz9"),
             "error: No such revision or branch 'zz9'; please ensure at least "
             "four characters are present for partial revision identifier "
             "matches");
  /* a revision id (or unique prefix) can stand for a branch */
  CHECK_TAKE(ut_resolve(b, "", "p2@head"), "p3");
  CHECK_TAKE(ut_resolve(b, "", "q1@q3"), "q3");

  TEST("targets: label@+N, label@-N, label@rev+N");
  CHECK_TAKE(ut_resolve(b, "", "app@+1"), "p1");
  CHECK_TAKE(ut_resolve(b, "", "lib@+2"), "q2");
  CHECK_TAKE(ut_resolve(b, "p3", "lib@+1"), "q1");
  CHECK_TAKE(ut_resolve(b, "p3,q1", "lib@+1"), "q2");
  CHECK_TAKE(ut_resolve(b, "p3,q2", "app@-1"), "p2");
  CHECK_TAKE(ut_resolve(b, "p3,q2", "lib@-1"), "q1");
  CHECK_TAKE(ut_resolve(b, "p3,q2", "app@-3"), "");
  CHECK_TAKE(ut_resolve(b, "p3,q2", "app@+1"),
             "error: Relative revision +1 didn't produce 1 migrations");
  CHECK_TAKE(ut_resolve(b, "", "app@p1+2"), "p3");
  CHECK_TAKE(ut_resolve(b, "", "app@p3-2"), "p1");
  CHECK_TAKE(ut_resolve(b, "", "lib@q1+1"), "q2");
  CHECK_TAKE(ut_resolve(b, "", "app@p1+3"),
             "error: Walked too far: app@p1+3 goes past the heads");
  CHECK_TAKE(ut_resolve(b, "p1,q2", "app@-5"),
             "error: Relative revision -5 didn't produce 5 migrations");
  migrate_bundle_free(b);

  b = graph(LABELBRANCH);
  if (b == 0) return;
  TEST("targets: labels on branches of one root");
  CHECK_TAKE(ut_resolve(b, "", "feat@head"), "f2");
  CHECK_TAKE(ut_resolve(b, "", "fix@heads"), "g2");
  CHECK_TAKE(ut_resolve(b, "", "feat@heads"), "f2");
  CHECK_TAKE(ut_resolve(b, "", "feat@+2"), "f1");
  CHECK_TAKE(ut_resolve(b, "", "fix@+1"), "r1");
  CHECK_TAKE(ut_resolve(b, "f1", "fix@+1"), "g1");
  CHECK_TAKE(ut_resolve(b, "f2,g1", "fix@+2"),
             "error: Relative revision +2 didn't produce 2 migrations");
  CHECK_TAKE(ut_resolve(b, "f2,g1", "feat@-2"), "r1");
  CHECK_TAKE(ut_resolve(b, "f2,g1", "fix@-1"), "r1");
  CHECK_TAKE(ut_resolve(b, "", "feat@f2"), "f2");
  CHECK_TAKE(ut_resolve(b, "", "feat@r1"), "r1");
  CHECK_TAKE(ut_resolve(b, "", "fix@f2"),
             "error: Revision f2 is not a member of branch 'fix'");
  CHECK_TAKE(ut_resolve(b, "", "head"),
             "error: Multiple head revisions are present for given argument "
             "'head'; please specify a specific target revision, "
             "'<branchname>@head' to narrow to a specific head, or 'heads' "
             "for all heads (heads: f2, g2)");
  /* downward on a branch the database has nothing of */
  CHECK_TAKE(ut_resolve(b, "g2", "feat@-1"),
             "error: Relative revision feat@-1: the database has no applied "
             "revision on branch 'feat'");
  CHECK_TAKE(ut_plan(b, "g2", "feat@-1", MIGRATE_DOWNGRADE),
             "error: Relative revision feat@-1: the database has no applied "
             "revision on branch 'feat'");
  migrate_bundle_free(b);

  TEST("targets: a label whose branch has several heads");
  b = graph("r1 @core; b1<r1; c1<r1");
  if (b == 0) return;
  CHECK_TAKE(ut_resolve(b, "", "core@head"),
             "error: Multiple head revisions are present for given argument "
             "'core@head'; please specify a specific target revision, "
             "'<branchname>@head' to narrow to a specific head, or 'heads' "
             "for all heads (heads: b1, c1)");
  CHECK_TAKE(ut_resolve(b, "", "core@heads"), "b1,c1");
  CHECK_TAKE(ut_resolve(b, "b1,c1", "core@-1"),
             "error: Relative revision core@-1: the database has several "
             "applied heads on branch 'core'");
  CHECK_TAKE(ut_resolve(b, "b1,c1", "b1@-1"), "r1");
  migrate_bundle_free(b);
}

void ut_target_tests(void) {
  testBasicForms();
  testPrefixes();
  testHeadsAndWalks();
  testLabels();
}
