/*
** graph_test.c — the revision graph (migGraphBuild through
** migBundleFromFiles): every refusal with the file it names, heads, real
** heads, bases, flags, child/dependent lists, label propagation, the history
** order (migrate_bundle_order) and migHeadsOf.
*/
#include "unit.h"

/* The error a graph spec is refused with (NULL when it is accepted). */
static char *graphErr(const char *zSpec) {
  char *zErr = 0;
  migrate_bundle *b = ut_graph(&zErr, zSpec);
  if (b) {
    migrate_bundle_free(b);
    sqlite3_free(zErr);
    return 0;
  }
  return zErr ? zErr : sqlite3_mprintf("refused without a message");
}

/* The error for named texts. */
static char *textsErr(int n, const char **azName, const char **azText) {
  char *zErr = 0;
  migrate_bundle *b = 0;
  int rc = ut_bundle_texts(n, azName, azText, &b, &zErr);
  if (rc == SQLITE_OK) {
    CHECK(b != 0);
    migrate_bundle_free(b);
    sqlite3_free(zErr);
    return 0;
  }
  CHECK(b == 0);
  CHECK_INT(rc, SQLITE_ERROR);
  return zErr ? zErr : sqlite3_mprintf("refused without a message");
}

static void testRefusals(void) {
  TEST("graph: duplicate id");
  {
    char *z1 = ut_script("x", "", 0, 0, "SELECT 1;\n", 0);
    char *z2 = ut_script("x", "", 0, 0, "SELECT 2;\n", 0);
    const char *azName[] = {"b_second.sql", "a_first.sql"};
    const char *azText[] = {z1, z2};
    CHECK_TAKE(textsErr(2, azName, azText),
               "b_second.sql: duplicate Revision ID 'x' (also in "
               "a_first.sql); give one of them a new id");
    sqlite3_free(z1);
    sqlite3_free(z2);
  }
  TEST("graph: a parse error names the file");
  {
    const char *azName[] = {"a1_ok.sql", "b2_bad.sql"};
    char *z1 = ut_script("a1", "", 0, 0, "SELECT 1;\n", 0);
    const char *azText[] = {z1, "-- m\n-- Revision ID: b2\n\n"};
    CHECK_TAKE(textsErr(2, azName, azText),
               "b2_bad.sql: header has no 'Revises:' line (write '-- "
               "Revises:' with nothing after it for a base revision)");
    sqlite3_free(z1);
  }
  TEST("graph: unknown parent / dependency");
  CHECK_TAKE(graphErr("a1; b1<zz"),
             "b1_rev.sql: Revises names unknown revision 'zz'; is its file "
             "missing from the folder?");
  CHECK_TAKE(graphErr("a1; b1<a1,a2"),
             "b1_rev.sql: Revises names unknown revision 'a2'; is its file "
             "missing from the folder?");
  CHECK_TAKE(graphErr("a1; b1<a1 &zz"),
             "b1_rev.sql: Depends On names unknown revision or branch label "
             "'zz'");
  /* a prefix is not enough in a header */
  CHECK_TAKE(graphErr("abcdef; b1<abcd"),
             "b1_rev.sql: Revises names unknown revision 'abcd'; is its file "
             "missing from the folder?");
  TEST("graph: branch labels used twice");
  CHECK_TAKE(graphErr("a1 @lab; b1 @lab"),
             "b1_rev.sql: Branch name 'lab' in revision b1 already used by "
             "revision a1 (a1_rev.sql); choose another label");
  CHECK_TAKE(graphErr("a1 @b1; b1"),
             "a1_rev.sql: Branch name 'b1' in revision a1 is also the id of "
             "revision b1 (b1_rev.sql); choose another label");
  CHECK_TAKE(graphErr("a1 @x1,a1"),
             "a1_rev.sql: Branch name 'a1' in revision a1 is also the id of "
             "revision a1 (a1_rev.sql); choose another label");
  TEST("graph: cycles");
  CHECK_TAKE(graphErr("a1<b1; b1<a1"),
             "Cycle is detected in revisions a1 (a1_rev.sql), b1 "
             "(b1_rev.sql); fix their 'Revises:' lines");
  /* with a base, and a revision behind the cycle */
  CHECK_TAKE(graphErr("r1; a1<r1,c1; b1<a1; c1<b1; d1<c1; e1<r1"),
             "Cycle is detected in revisions a1 (a1_rev.sql), b1 "
             "(b1_rev.sql), c1 (c1_rev.sql), d1 (d1_rev.sql); fix their "
             "'Revises:' lines");
  CHECK_TAKE(graphErr("r1; a1<r1 &b1; b1<r1 &a1"),
             "Dependency cycle is detected in revisions a1 (a1_rev.sql), b1 "
             "(b1_rev.sql); fix their 'Revises:' or 'Depends On:' lines");
  /* depending on one's own descendant */
  CHECK_TAKE(graphErr("r1; a1<r1 &b1; b1<a1"),
             "Dependency cycle is detected in revisions a1 (a1_rev.sql), b1 "
             "(b1_rev.sql); fix their 'Revises:' or 'Depends On:' lines");
  CHECK_TAKE(graphErr("r1 @core; a1<r1 &core"), 0);
  CHECK_TAKE(graphErr("r1; a1<r1 @mine &mine"),
             "a1_rev.sql: revision a1 depends on itself (through label "
             "'mine')");
  TEST("graph: empty is fine");
  {
    migrate_bundle *b = 0;
    char *zErr = 0;
    CHECK_INT(migBundleFromFiles(0, 0, 0, 0, &b, &zErr), SQLITE_OK);
    CHECK(b != 0);
    if (b) {
      CHECK_INT(migrate_bundle_count(b), 0);
      CHECK_INT(migrate_bundle_nhead(b), 0);
      CHECK_INT(migrate_bundle_order(b, 0), -1);
      CHECK(migrate_bundle_revision(b, 0) == 0);
      CHECK_INT(migrate_bundle_find(b, "a1"), -1);
      CHECK_TAKE(ut_plan(b, "", "heads", MIGRATE_UPGRADE), "=> base");
      CHECK_TAKE(ut_plan(b, "", "base", MIGRATE_DOWNGRADE), "=> base");
      CHECK_TAKE(ut_plan(b, "", "head", MIGRATE_UPGRADE), "=> base");
      migrate_bundle_free(b);
    }
    sqlite3_free(zErr);
  }
}

/* Check heads, real heads, bases and order of a spec. */
static void shape(const char *zSpec, const char *zHeads, const char *zReal,
                  const char *zBases, const char *zOrder) {
  char *zErr = 0;
  migrate_bundle *b = ut_graph(&zErr, zSpec);
  ut_check(b != 0, __FILE__, __LINE__, "graph %s: %s", zSpec, zErr);
  sqlite3_free(zErr);
  if (b == 0) return;
  CHECK_TAKE(ut_heads(b), zHeads);
  CHECK_TAKE(ut_real_heads(b), zReal);
  CHECK_TAKE(ut_bases(b), zBases);
  CHECK_TAKE(ut_order(b), zOrder);
  migrate_bundle_free(b);
}

static void testShapes(void) {
  TEST("graph shapes: heads, real heads, bases, history order");
  shape("a1; b2<a1; c3<b2; d4<c3", "d4", "d4", "a1", "a1 b2 c3 d4");
  /* the order follows Alembic's walk, not the file names */
  shape("r1; b1<r1; b2<b1; c1<r1; c2<c1", "b2,c2", "b2,c2", "r1",
        "r1 c1 c2 b1 b2");
  shape("r1; b1<r1; c1<r1; m1<b1,c1; n1<m1", "n1", "n1", "r1",
        "r1 c1 b1 m1 n1");
  shape("r1; b1<r1; c1<r1; d1<r1; m1<b1,c1; m2<m1,d1; t1<m2", "t1", "t1", "r1",
        "r1 c1 d1 b1 m1 m2 t1");
  shape("r1; b1<r1; c1<r1; d1<r1; m1<b1,c1,d1", "m1", "m1", "r1",
        "r1 d1 c1 b1 m1");
  shape("a1; a2<a1; x1; x2<x1", "a2,x2", "a2,x2", "a1,x1", "x1 x2 a1 a2");
  shape("a1; a2<a1; a3<a2; x1; x2<x1 &a2", "a3,x2", "a3,x2", "a1,x1",
        "a1 a2 x1 x2 a3");
  shape("p1 @core; p2<p1; s1 &core; s2<s1", "p2,s2", "p2,s2", "p1,s1",
        "p1 s1 s2 p2");
  shape("r1; b1<r1; b2<b1; c1<r1; c2<c1 &b1", "b2,c2", "b2,c2", "r1",
        "r1 b1 c1 c2 b2");
  shape("a1; a2<a1; k1 @kit; k2<k1; z1 &a2,kit; z2<z1", "a2,k2,z2", "k2,z2",
        "a1,k1,z1", "k1 a1 a2 z1 z2 k2");
  shape("a1; m1<a1,x1; x1; y1; y2<y1", "m1,y2", "m1,y2", "a1,x1,y1",
        "x1 y1 y2 a1 m1");
  shape("r1; a1<r1; a2<a1 &r1", "a2", "a2", "r1", "r1 a1 a2");
  /* a head that another head depends on is a head, not a real head */
  shape("r1; b1<r1; c1<r1 &b1", "b1,c1", "c1", "r1", "r1 b1 c1");
  shape("solo", "solo", "solo", "solo", "solo");
}

static void testFlagsAndLists(void) {
  char *zErr = 0;
  migrate_bundle *b;
  const migrate_revision *r;
  TEST("graph flags and lists (merge)");
  b = ut_graph(&zErr, "r1; b1<r1; c1<r1; m1<c1,b1; n1<m1");
  CHECK(b != 0);
  sqlite3_free(zErr);
  zErr = 0;
  if (b) {
    r = migrate_bundle_revision(b, ut_idx(b, "r1"));
    CHECK_INT(r->is_base, 1);
    CHECK_INT(r->is_head, 0);
    CHECK_INT(r->is_branchpoint, 1);
    CHECK_INT(r->is_merge, 0);
    CHECK_TAKE(ut_children(b, "r1"), "b1,c1");
    r = migrate_bundle_revision(b, ut_idx(b, "m1"));
    CHECK_INT(r->is_merge, 1);
    CHECK_INT(r->is_branchpoint, 0);
    CHECK_INT(r->is_base, 0);
    CHECK_INT(r->nparent, 2);
    CHECK_STR(r->parents[0], "c1");
    CHECK_STR(r->parents[1], "b1");
    CHECK_INT(r->parent_idx[0], ut_idx(b, "c1"));
    CHECK_INT(r->parent_idx[1], ut_idx(b, "b1"));
    CHECK_STR(r->file, "m1_rev.sql");
    CHECK_STR(r->message, "rev m1");
    CHECK_TAKE(ut_children(b, "b1"), "m1");
    CHECK_TAKE(ut_children(b, "c1"), "m1");
    CHECK_TAKE(ut_children(b, "n1"), "");
    r = migrate_bundle_revision(b, ut_idx(b, "n1"));
    CHECK_INT(r->is_head, 1);
    CHECK_INT(r->is_merge, 0);
    /* the revisions are in file-name order */
    CHECK_INT(ut_idx(b, "b1"), 0);
    CHECK_INT(ut_idx(b, "c1"), 1);
    CHECK_INT(ut_idx(b, "m1"), 2);
    CHECK_INT(ut_idx(b, "n1"), 3);
    CHECK_INT(ut_idx(b, "r1"), 4);
    CHECK_INT(migrate_bundle_find(b, "m"), -1);
    CHECK_INT(migrate_bundle_find(b, "M1"), -1);
    CHECK_INT(migrate_bundle_head(b, 1), -1);
    CHECK_INT(migrate_bundle_head(b, -1), -1);
    CHECK(migrate_bundle_revision(b, 5) == 0);
    CHECK(migrate_bundle_revision(b, -1) == 0);
    CHECK_INT(migrate_bundle_order(b, 5), -1);
    migrate_bundle_free(b);
  }

  TEST("graph dependents (depends_on)");
  b = ut_graph(&zErr, "a1; a2<a1; k1 @kit; k2<k1; z1 &a2,kit; z2<z1");
  CHECK(b != 0);
  sqlite3_free(zErr);
  zErr = 0;
  if (b) {
    CHECK_TAKE(ut_dependents(b, "a2"), "z1");
    CHECK_TAKE(ut_dependents(b, "k1"), "z1");
    CHECK_TAKE(ut_dependents(b, "z1"), "");
    CHECK_TAKE(ut_children(b, "a2"), "");
    r = migrate_bundle_revision(b, ut_idx(b, "z1"));
    CHECK_INT(r->ndepend, 2);
    CHECK_STR(r->depends[0], "a2");
    CHECK_STR(r->depends[1], "kit");
    CHECK_INT(r->depend_idx[0], ut_idx(b, "a2"));
    CHECK_INT(r->depend_idx[1], ut_idx(b, "k1"));
    CHECK_INT(r->is_base, 1);
    CHECK_INT(r->is_head, 0);
    /* a2 has a dependent but no child: a head, not a real head */
    r = migrate_bundle_revision(b, ut_idx(b, "a2"));
    CHECK_INT(r->is_head, 1);
    migrate_bundle_free(b);
  }

  TEST("graph: label propagation");
  b = ut_graph(&zErr, "r1; f1<r1 @feat; f2<f1; g1<r1 @fix; g2<g1");
  sqlite3_free(zErr);
  zErr = 0;
  if (b) {
    CHECK_TAKE(ut_labels(b, "r1"), "");
    CHECK_TAKE(ut_labels(b, "f1"), "feat");
    CHECK_TAKE(ut_labels(b, "f2"), "feat");
    CHECK_TAKE(ut_labels(b, "g1"), "fix");
    CHECK_TAKE(ut_labels(b, "g2"), "fix");
    r = migrate_bundle_revision(b, ut_idx(b, "f2"));
    CHECK_INT(r->nlabel, 0);
    migrate_bundle_free(b);
  }
  /* down a plain line to the base */
  b = ut_graph(&zErr, "a1; b2<a1 @x; c3<b2 @y");
  sqlite3_free(zErr);
  zErr = 0;
  if (b) {
    CHECK_TAKE(ut_labels(b, "a1"), "x,y");
    CHECK_TAKE(ut_labels(b, "b2"), "x,y");
    CHECK_TAKE(ut_labels(b, "c3"), "x,y");
    migrate_bundle_free(b);
  }
  /* not past a branch point or a merge */
  b = ut_graph(&zErr, "r1; a1<r1; b1<a1 @x; c1<r1; q1; m1<q1,c1; n1<m1 @y");
  sqlite3_free(zErr);
  zErr = 0;
  if (b) {
    CHECK_TAKE(ut_labels(b, "b1"), "x");
    CHECK_TAKE(ut_labels(b, "a1"), "x");
    CHECK_TAKE(ut_labels(b, "r1"), "");
    CHECK_TAKE(ut_labels(b, "n1"), "y");
    CHECK_TAKE(ut_labels(b, "m1"), "");
    CHECK_TAKE(ut_labels(b, "q1"), "");
    migrate_bundle_free(b);
  }
}

static void testHeadsOf(void) {
  char *zErr = 0;
  migrate_bundle *b;
  TEST("migHeadsOf");
  b = ut_graph(&zErr, "r1; b1<r1; b2<b1; c1<r1; c2<c1 &b1");
  sqlite3_free(zErr);
  if (b == 0) return;
  CHECK_TAKE(ut_heads_of(b, ""), "");
  CHECK_TAKE(ut_heads_of(b, "r1"), "r1");
  CHECK_TAKE(ut_heads_of(b, "b2"), "b2");
  CHECK_TAKE(ut_heads_of(b, "b2,c1"), "b2,c1");
  /* c2 depends on b1: applying c2 applies b1, and b1 is covered */
  CHECK_TAKE(ut_heads_of(b, "c2"), "c2");
  CHECK_TAKE(ut_heads_of(b, "c2,b2"), "b2,c2");
  CHECK_TAKE(ut_heads_of(b, "c2,b1,r1"), "c2");
  {
    /* an arbitrary (not closed) set: each member not built on */
    MigBits *a = calloc(1, sizeof(MigBits) * MIG_BITS_WORDS(5));
    int *aOut = 0, nOut = 0;
    MIG_BIT_SET(a, ut_idx(b, "r1"));
    MIG_BIT_SET(a, ut_idx(b, "b2"));
    CHECK_INT(migHeadsOf(b, a, &aOut, &nOut), SQLITE_OK);
    CHECK_TAKE(ut_ids(b, aOut, nOut, ","), "b2,r1");
    sqlite3_free(aOut);
    free(a);
  }
  migrate_bundle_free(b);
}

/* migrate_bundle_range() as "LOWER:UPPER" with version rows zDb, the ids
** newest first, or "error: ...". */
static char *range(migrate_bundle *b, const char *zLower, const char *zUpper,
                   const char *zDb) {
  int aDb[64], nDb = ut_cur(b, zDb, aDb, 64), *a = 0, n = 0, rc;
  char *zErr = 0, *z;
  rc = migrate_bundle_range(b, zLower, zUpper, aDb, nDb, &a, &n, &zErr);
  z = rc ? sqlite3_mprintf("error: %s", zErr) : ut_ids(b, a, n, ",");
  sqlite3_free(a);
  sqlite3_free(zErr);
  return z;
}

/* Expected orders and sets are Alembic 1.8.1's walk_revisions(lower, upper)
** on the same graph. */
static void testShellQueries(void) {
  char *zErr = 0;
  migrate_bundle *b;
  int *a = 0, n = 0, aCur[4];
  TEST("the queries the shell asks: range, applied, label, ident");
  b = ut_graph(&zErr, "r1; b1<r1 @bee; b2<b1; c1<r1; c2<c1 &b1; x1 @ex");
  sqlite3_free(zErr);
  if (b == 0) return;
  CHECK_TAKE(range(b, "", "", ""), "b2,c2,c1,b1,r1,x1");
  /* c2 only depends on b1: not a descendant along Revises */
  CHECK_TAKE(range(b, "b1", "", ""), "b2,b1");
  CHECK_TAKE(range(b, "", "c2", ""), "c2,c1,b1,r1");
  CHECK_TAKE(range(b, "c1", "c2", ""), "c2,c1");
  CHECK_TAKE(range(b, "current", "", "c1"), "c2,c1");
  CHECK_TAKE(range(b, "", "current", "c1"), "c1,r1");
  CHECK_TAKE(range(b, "bee@-1", "", ""), "b2,b1");
  CHECK_TAKE(range(b, "c1", "b2", ""),
             "error: Requested range c1:b2 does not refer to "
             "ancestor/descendant revisions along the same branch");
  CHECK_TAKE(range(b, "zz9", "", ""),
             "error: No such revision or branch "
             "'zz9'; please ensure at least four "
             "characters are present for partial "
             "revision identifier matches");

  aCur[0] = ut_idx(b, "c2");
  CHECK_INT(migrate_bundle_applied(b, aCur, 1, &a, &n), SQLITE_OK);
  CHECK_TAKE(ut_ids(b, a, n, ","), "b1,c1,c2,r1");
  sqlite3_free(a);
  CHECK_INT(migrate_bundle_applied(b, aCur, 0, &a, &n), SQLITE_OK);
  CHECK_INT(n, 0);
  sqlite3_free(a);

  CHECK_INT(migrate_bundle_label(b, "bee"), ut_idx(b, "b1"));
  CHECK_INT(migrate_bundle_label(b, "ex"), ut_idx(b, "x1"));
  CHECK_INT(migrate_bundle_label(b, "b1"), -1);
  CHECK_INT(migrate_bundle_revision(b, ut_idx(b, "b2"))->is_real_head, 1);
  CHECK_INT(migrate_bundle_revision(b, ut_idx(b, "c2"))->is_real_head, 1);
  CHECK_INT(migrate_bundle_revision(b, ut_idx(b, "b1"))->is_real_head, 0);
  migrate_bundle_free(b);
  b = ut_graph(&zErr, "r1; d1<r1 &x1; x1");
  sqlite3_free(zErr);
  if (b == 0) return;
  /* x1 is a head nothing revises, but d1 depends on it: an effective head */
  CHECK_INT(migrate_bundle_revision(b, ut_idx(b, "x1"))->is_head, 1);
  CHECK_INT(migrate_bundle_revision(b, ut_idx(b, "x1"))->is_real_head, 0);
  migrate_bundle_free(b);

  CHECK(migrate_check_ident("a1_B2") == 0);
  CHECK_STR(migrate_check_ident(""), "is empty");
  CHECK_STR(migrate_check_ident("bad-id"),
            "may only hold the characters A-Z a-z 0-9 _");
  CHECK_STR(migrate_check_ident("heads"),
            "is a reserved word (head, heads, base)");
  CHECK_STR(migrate_check_ident("a123456789012345678901234567890123456789012"
                                "3456789012345678901234"),
            "is longer than 64 characters");
}

void ut_graph_tests(void) {
  testRefusals();
  testShapes();
  testFlagsAndLists();
  testHeadsOf();
  testShellQueries();
}
