/*
** parity_test.c — every step of tests/parity/expected.json (what Alembic
** 1.8.1 did, recorded by tools/alembic_oracle.py) replayed through the
** planner alone: migPlan() with the step's explicit direction
** (MIGRATE_UPGRADE for Alembic's "upgrade", MIGRATE_DOWNGRADE for its
** "downgrade"), and also MIGRATE_AUTO (migrate_to) where the step is
** meaningful for it (auto_ok).  tests/python/test_parity.py does the same
** through the SQL function on a real database; this one needs no database
** and also covers the explicit-direction steps migrate_to cannot express.
**
** Rules, as in the Python test: a step Alembic refused must be refused; a
** step Alembic only warned about passes when the plan is one of Alembic's
** recorded alternatives or is refused; an order_free step must run the same
** revisions in a valid order; otherwise the steps and the resulting heads
** must be exactly Alembic's.  Each step starts from Alembic's heads.
**
** The JSON is read with SQLite's json_each(); the files are found relative
** to the working directory (the repository root under tests/run_all.py).
*/
#include "unit.h"

static const char *azDir[] = {"tests/parity", "../tests/parity",
                              "../../tests/parity"};

static char *readParity(const char *zName) {
  size_t k;
  for (k = 0; k < sizeof(azDir) / sizeof(azDir[0]); k++) {
    char *zPath = sqlite3_mprintf("%s/%s", azDir[k], zName);
    char *z = ut_read_file(zPath, 0);
    sqlite3_free(zPath);
    if (z) return z;
  }
  return 0;
}

static int cmpStr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Plan one step; *pzOut = "up a1, up b2 => b2,c2" (heads sorted, "base"
** when none) or "error: ...".  *pbOrderOk says whether every step comes
** after (upgrade) / before (downgrade) the plan's steps it needs. */
static char *runStep(migrate_bundle *b, const char *zCur, const char *zTarget,
                     int mode, int *pbOrderOk, char **pzSortedSteps) {
  int aCur[64], nCur = ut_cur(b, zCur, aCur, 64), rc, i, j, k;
  MigPlan p;
  char *zErr = 0;
  MigStr s = {0};
  int *aHead = 0, nHead = 0;
  const char **az;
  *pbOrderOk = 1;
  *pzSortedSteps = 0;
  rc = migPlan(b, aCur, nCur, zTarget, mode, &p, &zErr);
  if (rc) {
    char *z = sqlite3_mprintf("error: %s", zErr ? zErr : "?");
    sqlite3_free(zErr);
    migPlanFree(&p);
    return z;
  }
  sqlite3_free(zErr);
  az = sqlite3_malloc64(sizeof(char *) * (size_t)(p.nStep + b->nRev + 1));
  for (i = 0; i < p.nStep; i++) {
    const migrate_revision *r = &b->aRev[p.aStep[i].iRev];
    migStrAppendf(&s, "%s%s %s", i ? ", " : "",
                  p.aStep[i].isUpgrade ? "up" : "down", r->id);
    az[i] =
        sqlite3_mprintf("%s %s", p.aStep[i].isUpgrade ? "up" : "down", r->id);
    /* order: what r needs must come first on the way up, last on the way
    ** down */
    for (k = 0; k < r->nparent + r->ndepend; k++) {
      int d = k < r->nparent ? r->parent_idx[k] : r->depend_idx[k - r->nparent];
      for (j = 0; j < p.nStep; j++) {
        if (p.aStep[j].iRev != d) continue;
        if (p.aStep[i].isUpgrade ? j > i : j < i) *pbOrderOk = 0;
      }
    }
  }
  {
    MigStr t = {0};
    qsort(az, (size_t)p.nStep, sizeof(char *), cmpStr);
    for (i = 0; i < p.nStep; i++) {
      migStrAppendf(&t, "%s%s", i ? ", " : "", az[i]);
      sqlite3_free((char *)az[i]);
    }
    *pzSortedSteps = migStrFinish(&t);
  }
  /* the version rows afterwards */
  migHeadsAfterPlan(b, aCur, nCur, &p, &aHead, &nHead, 0);
  for (i = 0; i < nHead; i++) az[i] = b->aRev[aHead[i]].id;
  qsort(az, (size_t)nHead, sizeof(char *), cmpStr);
  migStrAppendZ(&s, p.nStep ? " => " : "=> ");
  for (i = 0; i < nHead; i++) migStrAppendf(&s, "%s%s", i ? "," : "", az[i]);
  if (nHead == 0) migStrAppendZ(&s, "base");
  sqlite3_free(az);
  sqlite3_free(aHead);
  migPlanFree(&p);
  return migStrFinish(&s);
}

/* "ran => heads" of an expected object (JSON text). */
static char *expectedOf(sqlite3 *db, const char *zJson) {
  sqlite3_stmt *st = 0;
  char *z = 0;
  sqlite3_prepare_v2(
      db,
      "SELECT coalesce((SELECT group_concat(value, ', ') FROM "
      "json_each(?1, '$.ran')) || ' => ', '=> ') || coalesce((SELECT "
      "group_concat(value, ',') FROM (SELECT value FROM json_each(?1, "
      "'$.heads') ORDER BY value)), 'base'), (SELECT group_concat(value, ', ') "
      "FROM (SELECT value FROM json_each(?1, '$.ran') ORDER BY value))",
      -1, &st, 0);
  sqlite3_bind_text(st, 1, zJson, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) {
    z = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return z;
}

/* Same steps as a set: "down a1, up b2" (sorted) from an expected object. */
static char *expectedSorted(sqlite3 *db, const char *zJson) {
  sqlite3_stmt *st = 0;
  char *z = 0;
  sqlite3_prepare_v2(db,
                     "SELECT coalesce((SELECT group_concat(value, ', ') FROM "
                     "(SELECT value FROM json_each(?1, '$.ran') ORDER BY "
                     "value)), '')",
                     -1, &st, 0);
  sqlite3_bind_text(st, 1, zJson, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) {
    z = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return z;
}

/* The graph of a case as a ut_graph spec. */
static char *graphSpec(sqlite3 *db, const char *zCases, const char *zGraph) {
  sqlite3_stmt *st = 0;
  MigStr s = {0};
  sqlite3_prepare_v2(
      db,
      "SELECT json_extract(value, '$.id'), (SELECT group_concat(value, ',') "
      "FROM json_each(n.value, '$.revises')), (SELECT group_concat(value, "
      "',') FROM json_each(n.value, '$.labels')), (SELECT "
      "group_concat(value, ',') FROM json_each(n.value, '$.depends')) FROM "
      "json_each(?1, '$.graphs.\"' || ?2 || '\"') n",
      -1, &st, 0);
  sqlite3_bind_text(st, 1, zCases, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, zGraph, -1, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *zPar = (const char *)sqlite3_column_text(st, 1);
    const char *zLab = (const char *)sqlite3_column_text(st, 2);
    const char *zDep = (const char *)sqlite3_column_text(st, 3);
    migStrAppendf(&s, "%s%s%s%s%s%s%s%s; ", sqlite3_column_text(st, 0),
                  zPar ? "<" : "", zPar ? zPar : "", zLab ? " @" : "",
                  zLab ? zLab : "", zDep ? " &" : "", zDep ? zDep : "", "");
  }
  sqlite3_finalize(st);
  return migStrFinish(&s);
}

void ut_parity_tests(void) {
  char *zCases = readParity("cases.json");
  char *zExpected = readParity("expected.json");
  sqlite3 *db = 0;
  sqlite3_stmt *pCase = 0, *pStep = 0, *pAlt = 0;
  int nCase = 0, nStep = 0, nPlan = 0;
  TEST("parity with Alembic (planner)");
  ut_check(zCases && zExpected, __FILE__, __LINE__,
           "tests/parity/cases.json and expected.json not found; run from "
           "the repository root");
  if (!zCases || !zExpected) goto done;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) goto done;
  sqlite3_prepare_v2(
      db,
      "SELECT json_extract(value, '$.name'), json_extract(value, "
      "'$.graph') FROM json_each(?1, '$.cases')",
      -1, &pCase, 0);
  sqlite3_prepare_v2(
      db,
      "SELECT json_extract(value, '$.cmd'), json_extract(value, '$.target'), "
      "json_type(value, '$.error') <> 'null', json_extract(value, "
      "'$.auto_ok'), json_extract(value, '$.order_free'), "
      "json_array_length(value, '$.warnings'), value, json_extract(value, "
      "'$.alternatives'), (SELECT group_concat(value, ',') FROM (SELECT value "
      "FROM json_each(s.value, '$.heads') ORDER BY value)) "
      "FROM json_each(?1, '$.\"' || ?2 || '\"') s",
      -1, &pStep, 0);
  sqlite3_prepare_v2(db, "SELECT value FROM json_each(?1)", -1, &pAlt, 0);
  ut_check(pCase && pStep && pAlt, __FILE__, __LINE__, "prepare: %s",
           sqlite3_errmsg(db));
  if (!pCase || !pStep || !pAlt) goto done;
  sqlite3_bind_text(pCase, 1, zCases, -1, SQLITE_STATIC);
  while (sqlite3_step(pCase) == SQLITE_ROW) {
    const char *zName = (const char *)sqlite3_column_text(pCase, 0);
    const char *zGraph = (const char *)sqlite3_column_text(pCase, 1);
    char *zSpec = graphSpec(db, zCases, zGraph);
    char *zErr = 0;
    char *zCur = sqlite3_mprintf("%s", "");
    migrate_bundle *b = ut_graph(&zErr, zSpec);
    int iStep = 0;
    nCase++;
    ut_check(b != 0, __FILE__, __LINE__, "case %s: graph %s: %s", zName, zSpec,
             zErr);
    sqlite3_free(zErr);
    sqlite3_reset(pStep);
    sqlite3_bind_text(pStep, 1, zExpected, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStep, 2, zName, -1, SQLITE_TRANSIENT);
    while (b && sqlite3_step(pStep) == SQLITE_ROW) {
      const char *zCmd = (const char *)sqlite3_column_text(pStep, 0);
      const char *zTarget = (const char *)sqlite3_column_text(pStep, 1);
      int bError = sqlite3_column_int(pStep, 2);
      int bAuto = sqlite3_column_int(pStep, 3);
      int bFree = sqlite3_column_int(pStep, 4);
      int nWarn = sqlite3_column_int(pStep, 5);
      const char *zObj = (const char *)sqlite3_column_text(pStep, 6);
      const char *zAlts = (const char *)sqlite3_column_text(pStep, 7);
      const char *zHeads = (const char *)sqlite3_column_text(pStep, 8);
      char *zWant = expectedOf(db, zObj);
      char *zWantSorted = expectedSorted(db, zObj);
      int m;
      iStep++;
      nStep++;
      for (m = 0; m < 2; m++) {
        int mode = m == 0 ? (strcmp(zCmd, "upgrade") == 0 ? MIGRATE_UPGRADE
                                                          : MIGRATE_DOWNGRADE)
                          : MIGRATE_AUTO;
        const char *zMode = m == 0 ? zCmd : "auto";
        int bOrderOk = 1, bOk;
        char *zSorted = 0;
        char *zGot;
        if (m == 1 && !bAuto) continue;
        zGot = runStep(b, zCur, zTarget, mode, &bOrderOk, &zSorted);
        nPlan++;
        if (bError) {
          bOk = strncmp(zGot, "error: ", 7) == 0;
        } else if (nWarn > 0) {
          bOk = strncmp(zGot, "error: ", 7) == 0;
          sqlite3_reset(pAlt);
          sqlite3_bind_text(pAlt, 1, zAlts, -1, SQLITE_STATIC);
          while (!bOk && sqlite3_step(pAlt) == SQLITE_ROW) {
            char *zAlt =
                expectedOf(db, (const char *)sqlite3_column_text(pAlt, 0));
            bOk = zAlt && strcmp(zAlt, zGot) == 0;
            sqlite3_free(zAlt);
          }
        } else if (bFree) {
          const char *zArrow = strstr(zGot, "=> ");
          const char *zWantArrow = strstr(zWant, "=> ");
          bOk = zSorted && zWantSorted && strcmp(zSorted, zWantSorted) == 0 &&
                bOrderOk && zArrow && zWantArrow &&
                strcmp(zArrow, zWantArrow) == 0;
        } else {
          bOk = zWant && strcmp(zGot, zWant) == 0;
        }
        ut_check(bOk, __FILE__, __LINE__,
                 "case %s step %d: %s '%s' from [%s]\n      got:      %s\n"
                 "      expected: %s%s",
                 zName, iStep, zMode, zTarget, zCur, zGot,
                 bError ? "a refusal" : zWant,
                 nWarn   ? " (or one of Alembic's alternatives, or a refusal)"
                 : bFree ? " (in any valid order)"
                         : "");
        sqlite3_free(zGot);
        sqlite3_free(zSorted);
      }
      /* the next step starts where Alembic was */
      sqlite3_free(zCur);
      zCur = sqlite3_mprintf("%s", zHeads ? zHeads : "");
      sqlite3_free(zWant);
      sqlite3_free(zWantSorted);
    }
    sqlite3_free(zCur);
    sqlite3_free(zSpec);
    migrate_bundle_free(b);
  }
  ut_check(nCase >= 50 && nStep >= 300, __FILE__, __LINE__,
           "only %d cases, %d steps read", nCase, nStep);
  printf("parity: %d cases, %d steps, %d plans checked against Alembic\n",
         nCase, nStep, nPlan);
done:
  sqlite3_finalize(pCase);
  sqlite3_finalize(pStep);
  sqlite3_finalize(pAlt);
  sqlite3_close(db);
  sqlite3_free(zCases);
  sqlite3_free(zExpected);
}
