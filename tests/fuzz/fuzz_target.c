/*
** fuzz_target.c — libFuzzer target for the target grammar and the planner
** (ext/graph.c): the input, up to its first NUL, is a target string
** ("head", "search@+1", "ae10-2", ...) planned against a fixed bundle in
** every mode from several sets of current heads, and resolved the way the
** shell resolves it (migrate_bundle_resolve).
**
**     make fuzz FUZZ_SECONDS=60            (tests/fuzz/fuzz.mk)
**     build/fuzz/fuzz_target build/fuzz/corpus/target tests/fuzz/corpus/target
**
** The bundle, built once from the scripts below, has what targets can name:
** two bases, a branch point with three children, a merge, branch labels
** (trunk, search, audit, other), Depends On by id and by label, ids of 2
** and 4+ characters (prefix rules) and one starting with "ae1":
**
**     aaaa1111 (trunk) - bbbb2222 -+- cccc3333 (search) - eeee5555 -+- ffff6666 - gggg7777
**                                  +- dddd4444 (audit) -------------+
**                                  +- hhhh8888
**     x1 (other) - x2 (depends on dddd4444) - ae10 (depends on search)
**     ae1b0000 (base, head)
**
** Every plan is checked against the invariants in fuzz_common.h.
*/
#include "fuzz_common.h"

static const char *azFile[] = {
    "aaaa1111_a.sql", "ae10_z.sql",     "ae1b0000_b.sql", "bbbb2222_b.sql",
    "cccc3333_c.sql", "dddd4444_d.sql", "eeee5555_e.sql", "ffff6666_f.sql",
    "gggg7777_g.sql", "hhhh8888_h.sql", "x1_x.sql",       "x2_x.sql",
};
static const char *azText[] = {
    "-- a\n-- Revision ID: aaaa1111\n-- Revises:\n-- Branch Labels: trunk\n"
    "\n-- migrate:upgrade\nCREATE TABLE a(x);\n"
    "-- migrate:downgrade\nDROP TABLE a;\n",
    "-- ae10\n-- Revision ID: ae10\n-- Revises: x2\n-- Depends On: search\n"
    "\n-- migrate:upgrade\nCREATE TABLE ae(x);\n"
    "-- migrate:downgrade\nDROP TABLE ae;\n",
    "-- other base\n-- Revision ID: ae1b0000\n-- Revises: None\n"
    "\n-- migrate:upgrade\nCREATE TABLE ae1b(x);\n",
    "-- b\n-- Revision ID: bbbb2222\n-- Revises: aaaa1111\n"
    "\n-- migrate:upgrade\nCREATE TABLE b(x);\n"
    "-- migrate:downgrade\nDROP TABLE b;\n",
    "-- c\n-- Revision ID: cccc3333\n-- Revises: bbbb2222\n"
    "-- Branch Labels: search\n"
    "\n-- migrate:upgrade\nCREATE TABLE c(x);\n"
    "-- migrate:downgrade\nDROP TABLE c;\n",
    "-- d\n-- Revision ID: dddd4444\n-- Revises: bbbb2222\n"
    "-- Branch Labels: audit\n"
    "\n-- migrate:upgrade\nCREATE TABLE d(x);\n"
    "-- migrate:downgrade\nDROP TABLE d;\n",
    "-- e\n-- Revision ID: eeee5555\n-- Revises: cccc3333\n"
    "\n-- migrate:upgrade\nCREATE TABLE e(x);\n"
    "-- migrate:downgrade\nDROP TABLE e;\n",
    "-- merge\n-- Revision ID: ffff6666\n-- Revises: eeee5555, dddd4444\n"
    "\n-- migrate:upgrade\nCREATE TABLE f(x);\n"
    "-- migrate:downgrade\nDROP TABLE f;\n",
    "-- g\n-- Revision ID: gggg7777\n-- Revises: ffff6666\n"
    "\n-- migrate:upgrade\nCREATE TABLE g(x);\n"
    "-- migrate:downgrade\nDROP TABLE g;\n",
    "-- h\n-- Revision ID: hhhh8888\n-- Revises: bbbb2222\n"
    "\n-- migrate:upgrade\nCREATE TABLE h(x);\n"
    "-- migrate:downgrade\nDROP TABLE h;\n",
    "-- x1\n-- Revision ID: x1\n-- Revises:\n-- Branch Labels: other\n"
    "\n-- migrate:upgrade\nCREATE TABLE x1(x);\n"
    "-- migrate:downgrade\nDROP TABLE x1;\n",
    "-- x2\n-- Revision ID: x2\n-- Revises: x1\n-- Depends On: dddd4444\n"
    "\n-- migrate:upgrade\nCREATE TABLE x2(x);\n"
    "-- migrate:downgrade\nDROP TABLE x2;\n",
};
#define N_FILE ((int)(sizeof(azFile) / sizeof(azFile[0])))

/* Current-head sets, by id; each is a set a database can hold. */
static const char *azHeadSet[] = {
    "",                                /* base */
    "aaaa1111",                        /* one base applied */
    "bbbb2222",                        /* at the branch point */
    "cccc3333,dddd4444",               /* two branches */
    "eeee5555,x2",                     /* x2 pulls in dddd4444 */
    "gggg7777",                        /* one line at its head */
    "ae10,ae1b0000,gggg7777,hhhh8888", /* every head */
    "x1",
};
#define N_SET ((int)(sizeof(azHeadSet) / sizeof(azHeadSet[0])))

static migrate_bundle *pBundle = 0;
static int aaSet[N_SET][8];
static int anSet[N_SET];

/* Build the bundle and the head sets once; abort if the fixture is bad. */
static void setUp(void) {
  size_t anText[N_FILE];
  char *zErr = 0;
  int i, rc;
  for (i = 0; i < N_FILE; i++) anText[i] = strlen(azText[i]);
  rc = migBundleFromFiles(N_FILE, azFile, azText, anText, &pBundle, &zErr);
  if (rc) fuzzFail("fixture bundle: %s", zErr ? zErr : "out of memory");
  for (i = 0; i < N_SET; i++) {
    const char *z = azHeadSet[i];
    while (*z) {
      char zId[MIG_MAX_ID + 1];
      size_t n = strcspn(z, ",");
      memcpy(zId, z, n);
      zId[n] = 0;
      aaSet[i][anSet[i]] = migrate_bundle_find(pBundle, zId);
      if (aaSet[i][anSet[i]] < 0) fuzzFail("fixture: no revision %s", zId);
      anSet[i]++;
      z += n;
      if (*z == ',') z++;
    }
    if (!fuzzIsHeadSet(pBundle, aaSet[i], anSet[i])) {
      fuzzFail("fixture: head set '%s' overlaps", azHeadSet[i]);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData) {
  char *zTarget;
  int i;
  if (pBundle == 0) setUp();
  /* an exact-size copy, so a read past the NUL is caught */
  zTarget = malloc(nData + 1);
  if (zTarget == 0) return 0;
  memcpy(zTarget, aData, nData);
  zTarget[nData] = 0;
  for (i = 0; i < N_SET; i++) {
    fuzzPlanAllModes(pBundle, aaSet[i], anSet[i], zTarget);
  }
  free(zTarget);
  return 0;
}
