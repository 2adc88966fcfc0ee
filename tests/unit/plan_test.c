/*
** plan_test.c — plans (migPlan): the exact steps, in order, and the heads
** the database holds afterwards, for MIGRATE_UPGRADE, MIGRATE_DOWNGRADE,
** MIGRATE_AUTO and MIGRATE_STAMP on linear, branched, merged, labelled and
** depends_on graphs.  Orders between independent branches are Alembic
** 1.8.1's (tests/parity/expected.json, recorded from the real Alembic).
**
**   P(cur, target, mode, "up a1, up b2 => b2")
*/
#include "unit.h"

#define UP    MIGRATE_UPGRADE
#define DOWN  MIGRATE_DOWNGRADE
#define AUTO  MIGRATE_AUTO
#define STAMP MIGRATE_STAMP
#define P(cur, target, mode, want) \
  CHECK_TAKE(ut_plan(b, cur, target, mode), want)

static migrate_bundle *graph(const char *zSpec) {
  char *zErr = 0;
  migrate_bundle *b = ut_graph(&zErr, zSpec);
  ut_check(b != 0, __FILE__, __LINE__, "graph %s: %s", zSpec, zErr);
  sqlite3_free(zErr);
  return b;
}

static void testLinear(void) {
  migrate_bundle *b = graph("a1; b2<a1; c3<b2; d4<c3");
  if (b == 0) return;
  TEST("plans: linear, explicit direction");
  P("", "head", UP, "up a1, up b2, up c3, up d4 => d4");
  P("", "heads", UP, "up a1, up b2, up c3, up d4 => d4");
  P("d4", "base", DOWN, "down d4, down c3, down b2, down a1 => base");
  P("b2", "d4", UP, "up c3, up d4 => d4");
  P("b2", "b2", UP, "=> b2");
  P("c3", "b2", UP, "=> c3");
  P("b2", "base", UP, "=> b2");
  P("d4", "b2", DOWN, "down d4, down c3 => b2");
  P("d4", "d4", DOWN, "=> d4");
  P("b2", "c3", DOWN,
    "error: Destination c3 is not a valid downgrade target from current "
    "head(s)");
  P("b2", "head", DOWN,
    "error: Destination head is not a valid downgrade target from current "
    "head(s)");
  P("b2", "+1", DOWN,
    "error: Relative revision +1 didn't produce 1 migrations");
  P("b2", "-1", UP, "error: Relative revision -1 didn't produce 1 migrations");
  P("", "+1", UP, "up a1 => a1");
  P("a1", "+2", UP, "up b2, up c3 => c3");
  P("d4", "-1", DOWN, "down d4 => c3");
  P("c3", "-2", DOWN, "down c3, down b2 => a1");
  P("a1", "-1", DOWN, "down a1 => base");
  P("", "-1", DOWN,
    "error: Relative revision -1 didn't produce 1 migrations (the database "
    "is at base)");
  P("a1", "-5", DOWN,
    "error: Relative revision -5 didn't produce 5 migrations");
  P("", "+5", UP, "error: Relative revision +5 didn't produce 5 migrations");
  P("d4", "+1", UP, "error: Relative revision +1 didn't produce 1 migrations");
  P("", "a1+2", UP, "up a1, up b2, up c3 => c3");
  P("c3", "c3-2", DOWN, "down c3, down b2 => a1");
  P("a1", "b2+1", UP, "up b2, up c3 => c3");
  P("c3", "d4-1", DOWN, "=> c3");
  P("c3", "d4-1", UP, "=> c3");
  P("c3", "c3-5", DOWN, "error: Walked too far: c3-5 goes past the base");
  P("c3", "a1-1", DOWN, "down c3, down b2, down a1 => base");
  P("c3", "a1-1", UP,
    "error: a1-1 walks down to base, which is not an upgrade target; "
    "downgrade to it instead");
  P("d4", "c3-0", DOWN, "down d4 => c3");

  TEST("plans: linear, direction inferred (migrate_to)");
  P("c3", "b2", AUTO, "down c3 => b2");
  P("b2", "d4", AUTO, "up c3, up d4 => d4");
  P("c3", "c3", AUTO, "=> c3");
  P("d4", "head", AUTO, "=> d4");
  P("d4", "heads", AUTO, "=> d4");
  P("", "base", AUTO, "=> base");
  P("c3", "base", AUTO, "down c3, down b2, down a1 => base");
  P("d4", "-2", AUTO, "down d4, down c3 => b2");
  P("a1", "+2", AUTO, "up b2, up c3 => c3");
  P("d4", "c3-0", AUTO, "down d4 => c3");
  P("", "a1+2", AUTO, "up a1, up b2, up c3 => c3");
  P("c3", "a1-1", AUTO, "down c3, down b2, down a1 => base");
  P("c3", "d4-1", AUTO, "=> c3");
  P("a1", "d4-1", AUTO, "up b2, up c3 => c3");
  P("c3", "a1+5", AUTO, "error: Walked too far: a1+5 goes past the heads");
  P("c3", "c3-5", AUTO, "error: Walked too far: c3-5 goes past the base");
  P("", "zz9", AUTO,
    "error: No such revision or branch 'zz9'; please ensure at least four "
    "characters are present for partial revision identifier matches");

  TEST("plans: linear stamps");
  P("", "c3", STAMP, "stamp => c3");
  P("c3", "base", STAMP, "stamp => base");
  P("c3", "+1", STAMP, "stamp => d4");
  P("d4", "b2", STAMP, "stamp => b2");
  P("", "heads", STAMP, "stamp => d4");
  P("", "head", STAMP, "stamp => d4");
  P("b2", "b2", STAMP, "stamp => b2");
  migrate_bundle_free(b);
}

static void testBranch(void) {
  migrate_bundle *b = graph("r1; b1<r1; b2<b1; c1<r1; c2<c1");
  if (b == 0) return;
  TEST("plans: two branches");
  P("", "heads", UP, "up r1, up c1, up c2, up b1, up b2 => b2,c2");
  P("b2,c2", "base", DOWN,
    "down b2, down b1, down c2, down c1, down r1 => base");
  P("b2,c2", "b1", DOWN, "down b2 => b1,c2");
  P("b1,c2", "c2", DOWN, "=> b1,c2");
  P("b1,c2", "r1", DOWN, "down b1, down c2, down c1 => r1");
  P("r1", "base", DOWN, "down r1 => base");
  P("", "b2", UP, "up r1, up b1, up b2 => b2");
  P("b2", "c1", UP, "up c1 => b2,c1");
  P("b2,c1", "base", DOWN, "down b2, down b1, down c1, down r1 => base");
  P("b2,c2", "c2-1", DOWN, "down c2 => b2,c1");
  P("b2,c1", "b2-2", DOWN, "down b2, down b1, down c1 => r1");
  P("r1", "b1+1", UP, "up b1, up b2 => b2");
  P("b2", "c1+1", UP, "up c1, up c2 => b2,c2");
  P("b1", "heads", UP, "up c1, up c2, up b2 => b2,c2");
  P("b1", "heads", AUTO, "up c1, up c2, up b2 => b2,c2");
  P("", "+1", UP, "up r1 => r1");
  P("r1", "+1", UP,
    "error: Ambiguous walk: revision r1 is a branch point with children (b1, "
    "c1); name a revision or a branch ('<branchname>@+1')");
  P("r1", "b1", UP, "up b1 => b1");
  P("b1", "+1", UP, "up b2 => b2");
  P("b2,c1", "+1", UP,
    "error: Ambiguous upgrade from multiple current revisions (b2, c1); use "
    "'<branchname>@+1' or '<revision>+1'");
  P("b1,c2", "-1", DOWN,
    "error: Relative revision -1 is ambiguous: the database has several "
    "heads (b1, c2); use '<revision>-1' or '<branchname>@-1'");
  P("c2", "-1", DOWN, "down c2 => c1");
  P("c1", "-1", AUTO, "down c1 => r1");
  P("b2,c2", "b1", AUTO, "down b2 => b1,c2");
  P("b1,c2", "r1", AUTO, "down b1, down c2, down c1 => r1");

  TEST("plans: branch stamps");
  P("b2,c2", "b1", STAMP, "stamp => b1,c2");
  P("b2,c2", "r1", STAMP, "stamp => r1");
  P("", "heads", STAMP, "stamp => b2,c2");
  P("b2", "c1", STAMP, "stamp => b2,c1");
  P("b2,c2", "base", STAMP, "stamp => base");
  migrate_bundle_free(b);
}

static void testMerge(void) {
  migrate_bundle *b = graph("r1; b1<r1; c1<r1; m1<b1,c1; n1<m1");
  if (b == 0) return;
  TEST("plans: merge");
  P("", "head", UP, "up r1, up c1, up b1, up m1, up n1 => n1");
  P("n1", "-1", DOWN, "down n1 => m1");
  P("m1", "-1", DOWN,
    "error: Ambiguous walk: revision m1 is a merge point of (b1, c1); name a "
    "revision or a branch ('<branchname>@-1')");
  P("m1", "b1", DOWN, "down m1 => b1,c1");
  P("b1,c1", "head", UP, "up m1, up n1 => n1");
  P("n1", "base", DOWN, "down n1, down m1, down b1, down c1, down r1 => base");
  P("", "b1", UP, "up r1, up b1 => b1");
  P("b1", "m1", UP, "up c1, up m1 => m1");
  P("m1", "c1", DOWN, "down m1 => b1,c1");
  P("b1,c1", "heads", UP, "up m1, up n1 => n1");
  P("n1", "r1", DOWN, "down n1, down m1, down b1, down c1 => r1");
  P("r1", "n1-1", UP, "up c1, up b1, up m1 => m1");
  P("b1,c1", "c1", DOWN, "=> b1,c1");
  P("b1,c1", "+1", UP,
    "error: Ambiguous upgrade from multiple current revisions (b1, c1); use "
    "'<branchname>@+1' or '<revision>+1'");
  P("b1", "c1", AUTO, "up c1 => b1,c1");
  P("b1,c1", "m1", AUTO, "up m1 => m1");
  P("n1", "b1", AUTO, "down n1, down m1 => b1,c1");
  P("b1,c1", "m1", STAMP, "stamp => m1");
  P("n1", "b1", STAMP, "stamp => b1");
  migrate_bundle_free(b);

  b = graph("r1; b1<r1; c1<r1; d1<r1; m1<b1,c1,d1");
  if (b == 0) return;
  TEST("plans: three-way merge");
  P("", "m1", UP, "up r1, up d1, up c1, up b1, up m1 => m1");
  P("m1", "b1", DOWN, "down m1 => b1,c1,d1");
  P("b1,c1,d1", "head", UP, "up m1 => m1");
  P("m1", "r1", DOWN, "down m1, down b1, down c1, down d1 => r1");
  migrate_bundle_free(b);

  b = graph("r1; b1<r1; c1<r1; d1<r1; m1<b1,c1; m2<m1,d1; t1<m2");
  if (b == 0) return;
  TEST("plans: merge of a merge");
  P("", "heads", UP, "up r1, up c1, up d1, up b1, up m1, up m2, up t1 => t1");
  P("t1", "c1", DOWN, "down t1, down m2, down m1 => b1,c1,d1");
  P("b1,c1,d1", "m2", UP, "up m1, up m2 => m2");
  P("m2", "base", DOWN,
    "down m2, down m1, down b1, down d1, down c1, down r1 => base");
  P("m1", "+1", UP, "up d1, up m2 => m2");
  P("c1,d1", "t1-1", UP, "up b1, up m1, up m2 => m2");
  migrate_bundle_free(b);

  b = graph("a1; m1<a1,x1; x1; y1; y2<y1");
  if (b == 0) return;
  TEST("plans: a merge of two roots beside a third root");
  P("", "heads", UP, "up x1, up y1, up y2, up a1, up m1 => m1,y2");
  P("m1,y2", "a1", DOWN, "down m1 => a1,x1,y2");
  P("a1,x1,y2", "base", DOWN, "down a1, down x1, down y2, down y1 => base");
  P("", "m1", UP, "up x1, up a1, up m1 => m1");
  P("m1,y2", "y1", DOWN, "down y2 => m1,y1");
  P("m1,y1", "base", DOWN, "down m1, down a1, down y1, down x1 => base");
  migrate_bundle_free(b);
}

static void testDepends(void) {
  migrate_bundle *b = graph("a1; a2<a1; a3<a2; x1; x2<x1 &a2");
  if (b == 0) return;
  TEST("plans: depends_on a revision of another root");
  P("", "x2", UP, "up a1, up a2, up x1, up x2 => x2");
  P("x2", "heads", UP, "up a3 => a3,x2");
  P("a3,x2", "base", DOWN,
    "down a3, down x2, down x1, down a2, down a1 => base");
  P("a3,x2", "a1", DOWN, "down a3, down x2, down a2 => a1,x1");
  P("a1,x1", "heads", UP, "up a2, up x2, up a3 => a3,x2");
  P("a3,x2", "a2", DOWN, "down a3 => x2");
  P("x2", "base", DOWN, "down x2, down x1, down a2, down a1 => base");
  P("", "x1", UP, "up x1 => x1");
  P("x1", "x2", UP, "up a1, up a2, up x2 => x2");
  P("x2", "x1", DOWN, "down x2 => a2,x1");
  P("a2,x1", "a1", DOWN, "down a2 => a1,x1");
  P("a1,x1", "a3", UP, "up a2, up a3 => a3,x1");
  P("a3,x2", "x1", DOWN, "down x2 => a3,x1");
  P("x2", "-1", DOWN, "down x2 => a2,x1");
  P("a2,x1", "+1", UP,
    "error: Ambiguous upgrade from multiple current revisions (a2, x1); use "
    "'<branchname>@+1' or '<revision>+1'");
  P("x2", "-2", DOWN, "down x2, down x1 => a2");
  P("x2", "-3", DOWN,
    "error: Relative revision -3 didn't produce 3 migrations");
  P("", "head", UP,
    "error: Multiple head revisions are present for given argument 'head'; "
    "please specify a specific target revision, '<branchname>@head' to "
    "narrow to a specific head, or 'heads' for all heads (heads: a3, x2)");
  P("a3,x1", "x1", DOWN, "=> a3,x1");
  P("", "x2", STAMP, "stamp => x2");
  migrate_bundle_free(b);

  b = graph("r1; b1<r1; b2<b1; c1<r1; c2<c1 &b1");
  if (b == 0) return;
  TEST("plans: depends_on a revision of another branch");
  P("", "c2", UP, "up r1, up b1, up c1, up c2 => c2");
  P("c2", "b1", DOWN,
    "error: Destination b1 is not a valid downgrade target from current "
    "head(s)");
  /* b1 is applied only as c2's dependency: Alembic's downgrade refuses it,
  ** its upgrade does nothing, and so does migrate_to() */
  P("c2", "b1", AUTO, "=> c2");
  P("c2", "b1", UP, "=> c2");
  P("c2", "c1", DOWN, "down c2 => b1,c1");
  P("b1,c1", "heads", UP, "up c2, up b2 => b2,c2");
  P("b2,c2", "b1", DOWN, "down b2 => c2");
  P("c2", "r1", DOWN, "down c2, down c1, down b1 => r1");
  P("", "heads", UP, "up r1, up b1, up c1, up c2, up b2 => b2,c2");
  P("b2,c2", "r1", DOWN, "down b2, down c2, down c1, down b1 => r1");
  P("r1", "c2", UP, "up b1, up c1, up c2 => c2");
  P("b1,c1", "b2", UP, "up b2 => b2,c1");
  P("b2,c1", "base", DOWN, "down b2, down b1, down c1, down r1 => base");
  P("c2", "c2", DOWN, "=> c2");
  migrate_bundle_free(b);

  b = graph("p1 @core; p2<p1; s1 &core; s2<s1");
  if (b == 0) return;
  TEST("plans: depends_on a branch label");
  P("", "s2", UP, "up p1, up s1, up s2 => s2");
  P("s2", "heads", UP, "up p2 => p2,s2");
  P("p2,s2", "base", DOWN, "down p2, down s2, down s1, down p1 => base");
  P("", "heads", UP, "up p1, up s1, up s2, up p2 => p2,s2");
  P("p2,s2", "p1", DOWN, "down p2 => s2");
  P("s2", "core@base", DOWN, "down s2, down s1, down p1 => base");
  P("", "core@head", UP, "up p1, up p2 => p2");
  P("p2", "s2", UP, "up s1, up s2 => p2,s2");
  P("p2,s2", "s1", DOWN, "down s2 => p2,s1");
  migrate_bundle_free(b);

  b = graph("r1; a1<r1; a2<a1 &r1");
  if (b == 0) return;
  TEST("plans: a redundant dependency on an ancestor");
  P("", "heads", UP, "up r1, up a1, up a2 => a2");
  P("a2", "r1", DOWN, "down a2, down a1 => r1");
  P("r1", "a2", UP, "up a1, up a2 => a2");
  P("a2", "base", DOWN, "down a2, down a1, down r1 => base");
  P("a1", "+1", UP, "up a2 => a2");
  P("a2", "-2", DOWN, "down a2, down a1 => r1");
  migrate_bundle_free(b);

  b = graph("a1; a2<a1; k1 @kit; k2<k1; z1 &a2,kit; z2<z1");
  if (b == 0) return;
  TEST("plans: two dependencies");
  P("", "heads", UP, "up k1, up a1, up a2, up z1, up z2, up k2 => k2,z2");
  P("k2,z2", "z1", DOWN, "down z2 => k2,z1");
  P("k2,z1", "base", DOWN,
    "down k2, down z1, down a2, down a1, down k1 => base");
  P("z2", "a1", DOWN, "down z2, down z1, down a2 => a1,k1");
  P("a1,k1", "z1", UP, "up a2, up z1 => z1");
  P("z1", "k1", DOWN,
    "error: Destination k1 is not a valid downgrade target from current "
    "head(s)");
  P("z1", "heads", UP, "up z2, up k2 => k2,z2");
  P("k2,z2", "kit@base", DOWN, "down k2, down z2, down z1, down k1 => a2");
  P("a2", "base", DOWN, "down a2, down a1 => base");
  P("z1", "-1", DOWN, "down z1 => a2,k1");
  migrate_bundle_free(b);
}

static void testLabels(void) {
  migrate_bundle *b = graph("p1 @app; p2<p1; p3<p2; q1 @lib; q2<q1; q3<q2");
  if (b == 0) return;
  TEST("plans: labels on two roots");
  P("", "app@head", UP, "up p1, up p2, up p3 => p3");
  P("p3", "lib@+1", UP, "up q1 => p3,q1");
  P("p3,q1", "lib@+1", UP, "up q2 => p3,q2");
  P("p3,q2", "app@-1", DOWN, "down p3 => p2,q2");
  P("p2,q2", "lib@-1", DOWN, "down q2 => p2,q1");
  P("p2,q1", "app@base", DOWN, "down p2, down p1 => q1");
  P("q1", "lib@base", DOWN, "down q1 => base");
  P("", "app@p2", UP, "up p1, up p2 => p2");
  P("p2", "lib@q3", UP, "up q1, up q2, up q3 => p2,q3");
  P("p2,q3", "lib@q1", DOWN, "down q3, down q2 => p2,q1");
  P("p2,q1", "app@q2", UP,
    "error: Revision q2 is not a member of branch 'app'");
  P("p2,q1", "lib", UP, "=> p2,q1");
  P("p2,q1", "app@p1", DOWN, "down p2 => p1,q1");
  P("p1,q1", "lib@-1", DOWN, "down q1 => p1");
  P("", "heads", UP, "up q1, up q2, up q3, up p1, up p2, up p3 => p3,q3");
  P("p3,q3", "app@-2", DOWN, "down p3, down p2 => p1,q3");
  P("p1,q2", "app@+1", UP, "up p2 => p2,q2");
  P("p2,q2", "lib@heads", UP, "up q3 => p2,q3");
  P("p3", "app@+1", DOWN,
    "error: Relative revision +1 didn't produce 1 migrations");
  P("", "app@p1+2", UP, "up p1, up p2, up p3 => p3");
  P("p3,q2", "app@p3-2", DOWN, "down p3, down p2 => p1,q2");
  P("p1,q2", "app@-5", DOWN,
    "error: Relative revision -5 didn't produce 5 migrations");
  migrate_bundle_free(b);

  b = graph("r1; f1<r1 @feat; f2<f1; g1<r1 @fix; g2<g1");
  if (b == 0) return;
  TEST("plans: labels on two branches of one root");
  P("", "feat@head", UP, "up r1, up f1, up f2 => f2");
  P("f2", "fix@+1", UP, "up g1 => f2,g1");
  P("f2,g1", "feat@-1", DOWN, "down f2 => f1,g1");
  P("f1,g1", "fix@-1", DOWN, "down g1 => f1");
  P("f1", "feat@base", DOWN, "down f1, down r1 => base");
  P("", "fix@head", UP, "up r1, up g1, up g2 => g2");
  P("", "feat@+2", UP, "up r1, up f1 => f1");
  P("f1", "fix@+1", UP, "up g1 => f1,g1");
  P("f2,g1", "fix@+2", UP,
    "error: Relative revision +2 didn't produce 2 migrations");
  P("f2,g1", "feat@-2", DOWN, "down f2, down f1 => g1");
  P("g1", "fix@-1", DOWN, "down g1 => r1");
  P("r1", "fix@-1", DOWN, "down r1 => base");
  P("", "feat@f2", UP, "up r1, up f1, up f2 => f2");
  P("f2", "feat@r1", DOWN, "down f2, down f1 => r1");
  P("r1", "fix@f2", UP, "error: Revision f2 is not a member of branch 'fix'");
  P("r1", "feat@f1", DOWN,
    "error: Destination feat@f1 is not a valid downgrade target from current "
    "head(s)");
  P("", "feat", AUTO, "up r1, up f1 => f1");
  P("f1", "fix", AUTO, "up g1 => f1,g1");
  P("f1,g1", "fix@head", AUTO, "up g2 => f1,g2");
  P("f1,g2", "feat", AUTO, "=> f1,g2");
  P("f1,g2", "r1", AUTO, "down f1, down g2, down g1 => r1");
  migrate_bundle_free(b);
}

static void testErrorsLeaveNoPlan(void) {
  migrate_bundle *b = graph("a1; b2<a1");
  MigPlan p;
  char *zErr = 0;
  int aCur[1];
  if (b == 0) return;
  TEST("plans: a refused plan is empty and the message is replaced");
  zErr = sqlite3_mprintf("stale message");
  aCur[0] = ut_idx(b, "b2");
  CHECK_INT(migPlan(b, aCur, 1, "zz9", MIGRATE_UPGRADE, &p, &zErr),
            SQLITE_ERROR);
  CHECK_INT(p.nStep, 0);
  CHECK(p.aStep == 0);
  CHECK_INT(p.isStamp, 0);
  CHECK_STR(zErr,
            "No such revision or branch 'zz9'; please ensure at least four "
            "characters are present for partial revision identifier matches");
  migPlanFree(&p);
  sqlite3_free(zErr);
  zErr = 0;
  /* a NULL pzErr is allowed */
  CHECK_INT(migPlan(b, aCur, 1, "zz9", MIGRATE_UPGRADE, &p, 0), SQLITE_ERROR);
  migPlanFree(&p);
  CHECK_INT(migPlan(b, aCur, 1, "a1", MIGRATE_DOWNGRADE, &p, 0), SQLITE_OK);
  CHECK_INT(p.nStep, 1);
  CHECK_INT(p.aStep[0].iRev, aCur[0]);
  CHECK_INT(p.aStep[0].isUpgrade, 0);
  migPlanFree(&p);
  migrate_bundle_free(b);
}

/* Do the steps of plan zPlan ("up a, up b => ...") name each of
** <zPrefix>00 .. <zPrefix><n-1> exactly once, in direction zDir? */
static int listsEach(const char *zPlan, const char *zDir, int n,
                     const char *zPrefix) {
  int i;
  const char *zArrow = strstr(zPlan, " =>");
  int nSteps = zArrow ? (int)(zArrow - zPlan) : (int)strlen(zPlan);
  for (i = 0; i < n; i++) {
    char *zStep = sqlite3_mprintf("%s %s%02d,", zDir, zPrefix, i);
    char *zHay = sqlite3_mprintf(" %.*s,", nSteps, zPlan);
    const char *p = strstr(zHay, zStep);
    int bOnce = p != 0 && strstr(p + 1, zStep) == 0;
    sqlite3_free(zStep);
    sqlite3_free(zHay);
    if (!bOnce) return 0;
  }
  return 1;
}

static void testLarge(void) {
  MigStr s = {0};
  migrate_bundle *b;
  char *z;
  int i;
  TEST("plans: a merge of 70 parents");
  for (i = 0; i < 70; i++) migStrAppendf(&s, "p%02d; ", i);
  migStrAppendZ(&s, "zm<");
  for (i = 0; i < 70; i++) migStrAppendf(&s, "%sp%02d", i ? "," : "", i);
  z = migStrFinish(&s);
  b = graph(z);
  sqlite3_free(z);
  if (b == 0) return;
  z = ut_plan(b, "", "head", UP);
  CHECK(strncmp(z, "up p", 4) == 0);
  CHECK(strstr(z, ", up zm => zm") != 0 &&
        strstr(z, "up zm") == strstr(z, ", up zm") + 2);
  CHECK(listsEach(z, "up", 70, "p"));
  sqlite3_free(z);
  z = ut_plan(b, "zm", "base", DOWN);
  CHECK(strncmp(z, "down zm, down p", 15) == 0);
  CHECK(listsEach(z, "down", 70, "p"));
  CHECK(strstr(z, " => base") != 0);
  sqlite3_free(z);
  z = ut_order(b);
  CHECK(strlen(z) > 3 && strcmp(z + strlen(z) - 3, " zm") == 0);
  sqlite3_free(z);
  P("zm", "p05", DOWN,
    "down zm => p00,p01,p02,p03,p04,p05,p06,p07,p08,p09,p10,p11,p12,p13,p14,"
    "p15,p16,p17,p18,p19,p20,p21,p22,p23,p24,p25,p26,p27,p28,p29,p30,p31,p32,"
    "p33,p34,p35,p36,p37,p38,p39,p40,p41,p42,p43,p44,p45,p46,p47,p48,p49,p50,"
    "p51,p52,p53,p54,p55,p56,p57,p58,p59,p60,p61,p62,p63,p64,p65,p66,p67,p68,"
    "p69");
  P("zm", "-1", DOWN,
    "error: Ambiguous walk: revision zm is a merge point of (p00, p01, p02, "
    "p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15, p16, "
    "p17, p18, p19, p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p30, "
    "p31, p32, p33, p34, p35, p36, p37, p38, p39, p40, p41, p42, p43, p44, "
    "p45, p46, p47, p48, p49, p50, p51, p52, p53, p54, p55, p56, p57, p58, "
    "p59, p60, p61, p62, p63, p64, p65, p66, p67, p68, p69); name a revision "
    "or a branch ('<branchname>@-1')");
  migrate_bundle_free(b);

  TEST("plans: a chain of 100");
  migStrAppendZ(&s, "c00");
  for (i = 1; i < 100; i++) migStrAppendf(&s, "; c%02d<c%02d", i, i - 1);
  z = migStrFinish(&s);
  b = graph(z);
  sqlite3_free(z);
  if (b == 0) return;
  CHECK_TAKE(ut_resolve(b, "", "+100"), "c99");
  CHECK_TAKE(ut_resolve(b, "c99", "-99"), "c00");
  CHECK_TAKE(ut_resolve(b, "c99", "-100"), "");
  CHECK_TAKE(ut_resolve(b, "c99", "-101"),
             "error: Relative revision -101 didn't produce 101 migrations");
  CHECK_TAKE(ut_resolve(b, "", "c10+50"), "c60");
  P("c97", "+2", UP, "up c98, up c99 => c99");
  z = ut_plan(b, "", "heads", UP);
  CHECK(strncmp(z, "up c00, up c01, up c02", 22) == 0);
  CHECK(listsEach(z, "up", 100, "c"));
  sqlite3_free(z);
  z = ut_plan(b, "c99", "base", DOWN);
  CHECK(strncmp(z, "down c99, down c98, down c97", 28) == 0);
  CHECK(listsEach(z, "down", 100, "c"));
  sqlite3_free(z);
  migrate_bundle_free(b);
}

/* The four kinds of disagreement with Alembic 1.8.1 found on random
** graphs, each on the graph it was found on. */
static void testAlembicKinds(void) {
  migrate_bundle *b;

  TEST("plans: label@head where a dependency is not on the label's branch");
  b = graph(
      "r01rk; r02cb<r01rk; r03ex<r02cb; r04db<r02cb @ui; "
      "r05jv<r04db &r03ex; r06yf<r05jv");
  if (b == 0) return;
  P("r06yf", "ui@head", AUTO, "=> r06yf");
  P("r06yf", "ui@head", UP, "=> r06yf");
  P("r02cb", "ui@head", AUTO,
    "up r03ex, up r04db, up r05jv, up r06yf => r06yf");
  migrate_bundle_free(b);

  TEST("plans: label@rev with rev on another branch");
  b = graph(
      "r010m; r02wt<r010m; r03qc<r010m @cache; r04m4<r03qc; "
      "r0529<r04m4");
  if (b == 0) return;
  P("r02wt,r0529", "cache@r02wt", AUTO, "=> r02wt,r0529");
  P("r02wt,r0529", "cache@r02wt", DOWN, "=> r02wt,r0529");
  P("r02wt,r0529", "cache@r02wt", UP,
    "error: Revision r02wt is not a member of branch 'cache'");
  migrate_bundle_free(b);
  b = graph(
      "r01s5; r02vt<r01s5; r03g8<r02vt; r04n6<r02vt @auth; "
      "r05je<r03g8,r04n6; r060m<r05je");
  if (b == 0) return;
  P("r060m", "auth@r03g8", AUTO, "down r060m, down r05je => r03g8,r04n6");
  P("r060m", "auth@r03g8", DOWN, "down r060m, down r05je => r03g8,r04n6");
  migrate_bundle_free(b);

  TEST("plans: a target applied only as a dependency");
  b = graph(
      "r01w7; r0281<r01w7; r03r5<r0281; r04y1<r01w7; "
      "r05qp<r04y1 &r03r5");
  if (b == 0) return;
  P("r05qp", "r03r5", AUTO, "=> r05qp");
  P("r05qp", "r03r5", UP, "=> r05qp");
  P("r05qp", "r03r5", DOWN,
    "error: Destination r03r5 is not a valid downgrade target from current "
    "head(s)");
  /* r0281 is r03r5's parent: its child r03r5 and r05qp go */
  P("r05qp", "r0281", AUTO, "down r05qp, down r03r5 => r0281,r04y1");
  migrate_bundle_free(b);

  TEST("plans: version rows after a downgrade to a dependency");
  b = graph("1; 2<1; 3c<2 @search; 3d<2 @audit; 4e<3c &3d; 5f<4e,3d; 6<5f");
  if (b == 0) return;
  P("6", "3d", DOWN, "down 6, down 5f => 3d,4e");
  P("6", "3d", AUTO, "down 6, down 5f => 3d,4e");
  P("3d,4e", "2", DOWN, "down 4e, down 3c, down 3d => 2");
  /* Alembic refuses any upgrade from these rows; the message says why and
  ** what to do, and the stamp it names works */
  P("3d,4e", "heads", UP,
    "error: Requested revision 4e overlaps with other requested revisions "
    "3d; the version table holds both (after a downgrade to a revision that "
    "another applied revision depends on, Alembic keeps it as a row, and "
    "then refuses to upgrade too): stamp 4e to keep one row");
  P("3d,4e", "4e", STAMP, "stamp => 4e");
  P("4e", "heads", UP, "up 5f, up 6 => 6");
  {
    /* a downgrade of a revision that is not a row: Alembic's bookkeeping
    ** fails (it updates a row that is not there); ours refuses first */
    MigBits aHead[1] = {0};
    char *zErr = 0;
    int i4e = migrate_bundle_find(b, "4e"), i3d = migrate_bundle_find(b, "3d");
    MIG_BIT_SET(aHead, i4e);
    CHECK_INT(migHeadsStep(b, aHead, i3d, 0, &zErr), SQLITE_ERROR);
    CHECK_STR(zErr,
              "cannot record the downgrade of 3d in the version table, which "
              "holds 4e: Alembic fails here too (its version rows do not "
              "show where 3d stands); stamp the database to the revisions "
              "that are applied first");
    sqlite3_free(zErr);
  }
  migrate_bundle_free(b);
}

/* migrate_sql_script() from a starting list (no database): a bad list is
** refused naming the call, its target and what to give. */
static void testOfflineStart(void) {
  char *zErr = 0, *zSql = 0;
  migrate_bundle *b = ut_graph(&zErr, "a1; b2<a1");
  TEST("plan: offline start list");
  CHECK(b != 0);
  if (b == 0) {
    sqlite3_free(zErr);
    return;
  }
  CHECK_INT(
      migrate_sql_script(0, b, "a1,,b2", "head", MIGRATE_AUTO, &zSql, &zErr),
      SQLITE_ERROR);
  CHECK_STR(zErr,
            "migrate_sql('head'): bad starting revision list 'a1,,b2'; give "
            "revision ids separated by commas, or base");
  CHECK(zSql == 0);
  sqlite3_free(zErr);
  zErr = 0;
  CHECK_INT(migrate_sql_script(0, b, "zz", "head", MIGRATE_AUTO, &zSql, &zErr),
            SQLITE_ERROR);
  CHECK_STR(zErr,
            "migrate_sql('head'): No such revision or branch 'zz' (starting "
            "revision); give one the bundle has");
  sqlite3_free(zErr);
  migrate_bundle_free(b);
}

void ut_plan_tests(void) {
  testOfflineStart();
  testLarge();
  testLinear();
  testBranch();
  testMerge();
  testDepends();
  testLabels();
  testErrorsLeaveNoPlan();
  testAlembicKinds();
}
