/*
** check.c — the checks: migrate_check()'s report (pending revisions,
** changed checksums, drift), drift, the round trip, the scratch databases
** they build histories on, and their SQL entry points.  It sits above the
** applier (apply.c) and the schema code (schema.c) and uses both.
**
**     migrate_check_report(db, bundle, &zReport, &zErr);
**     migrate_check_drift(db, bundle, &zReport, &zErr);
**     migrate_roundtrip(bundle, &zReport, &zErr);
**
**     -- SQL, registered by migRegisterChecks():
**     SELECT migrate_schema_diff('CREATE TABLE t(a)', 'CREATE TABLE t(b)');
**     SELECT migrate_drift();                    -- or migrate_drift(bundle)
**     SELECT migrate_roundtrip();                -- or migrate_roundtrip(bundle)
**
** Every report is NULL when there is nothing to say, else one line per
** finding (caller frees with sqlite3_free()).
**
** Drift builds the schema the bundle's scripts give at the database's
** version on a scratch ":memory:" connection and compares.  The round trip
** tests each revision on its own fresh scratch database: upgrade to its
** prerequisites (the heads of its parents' and dependencies' closure),
** snapshot, upgrade it, snapshot, downgrade to those heads (which un-applies
** exactly this revision, merge points included), compare with the first
** snapshot, upgrade again and compare with the second.  Then the whole
** history goes up to heads and down to base and must leave an empty schema.
** A scratch database has what a revision may use (migrate_rebuild(), the
** virtual table modules), not the whole extension.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* ======================================================================
** migrate_check()
*/

/* Pending revisions, changed checksums and drift: see migrate.h. */
int migrate_check_report(sqlite3 *db, migrate_bundle *b, char **pzReport,
                         char **pzErr) {
  int *aCur = 0, nCur = 0, rc, i, nPending = 0;
  MigBits *aApplied = 0;
  MigStr s = {0};
  *pzReport = 0;
  rc = migReadVersion(db, b, "migrate_check", &aCur, &nCur, 0, pzErr);
  if (rc) return rc;
  rc = migAppliedOf(b, aCur, nCur, &aApplied);
  if (rc) goto done;
  rc = migVerifyChecksums(db, b, aApplied, aCur, nCur, &s, &nPending,
                          "migrate_check", "", pzErr);
  if (rc) goto done;
  for (i = 0; i < b->nRev; i++) {
    int k = b->aOrder[i];
    if (MIG_BIT_TEST(aApplied, k)) continue;
    nPending++;
    migStrAppendf(&s, "%spending: %s (%s) is not applied", s.n ? "\n" : "",
                  b->aRev[k].id, b->aRev[k].message);
  }
  {
    /* alembic_version moved by Alembic after the adoption (adopt.c) */
    char *zOurs = 0, *zTheirs = 0;
    rc = migAdoptDisagree(db, &zOurs, &zTheirs);
    if (rc) {
      if (rc != SQLITE_NOMEM) {
        migSetError(pzErr, rc,
                    "migrate_check: cannot read the version "
                    "tables: %s",
                    sqlite3_errmsg(db));
      }
      goto done;
    }
    if (zOurs) {
      migStrAppendf(&s,
                    "%sversion: migrate_version (%s) and alembic_version (%s) "
                    "disagree; stamp the true version, which writes both",
                    s.n ? "\n" : "", zOurs, zTheirs);
      nPending++;
    }
    sqlite3_free(zOurs);
    sqlite3_free(zTheirs);
  }
  {
    /* schema drift at the database's version */
    char *zDrift = 0;
    rc = migrate_check_drift(db, b, &zDrift, pzErr);
    if (rc) goto done;
    if (zDrift) {
      migStrAppendf(&s, "%s%s", s.n ? "\n" : "", zDrift);
      nPending++;
      sqlite3_free(zDrift);
    }
  }
  if (s.rc) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  *pzReport = nPending ? migStrFinish(&s) : 0;
done:
  migStrReset(&s);
  sqlite3_free(aCur);
  sqlite3_free(aApplied);
  return rc;
}

/* ======================================================================
** Scratch databases
*/

/* Scratch databases get what a revision may use: migrate_rebuild() and the
** modules migrations and migration_history (see internal.h). */
int migScratchRegister(sqlite3 *db, char **pzErr) {
  /* migrate_rebuild() and the engine's virtual table modules */
  int rc = migRegisterRebuild(db, pzErr);
  if (rc == SQLITE_OK) rc = migRegisterVtabMigrations(db, pzErr);
  if (rc == SQLITE_OK) rc = migRegisterVtabHistory(db, pzErr);
  return rc;
}

int migScratchOpen(sqlite3 **pDb, char **pzErr) {
  char *zMsg = 0;
  int rc = sqlite3_open_v2(":memory:", pDb,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
  if (rc) {
    migSetError(pzErr, rc, "cannot open a scratch in-memory database: %s",
                *pDb ? sqlite3_errmsg(*pDb) : sqlite3_errstr(rc));
    sqlite3_close(*pDb);
    *pDb = 0;
    return rc;
  }
  rc = migScratchRegister(*pDb, &zMsg);
  if (rc) {
    migSetError(pzErr, rc,
                "cannot register the engine on a scratch database: %s",
                zMsg ? zMsg : sqlite3_errstr(rc));
    sqlite3_free(zMsg);
    sqlite3_close(*pDb);
    *pDb = 0;
    return rc;
  }
  return SQLITE_OK;
}

/* Close a scratch database; an error only if rc was OK so far. */
static int schScratchClose(sqlite3 *db, int rc, char **pzErr) {
  int rc2;
  if (db == 0) return rc;
  rc2 = sqlite3_close(db);
  if (rc2 && rc == SQLITE_OK) {
    rc = migSetError(pzErr, rc2, "cannot close a scratch database: %s",
                     sqlite3_errstr(rc2));
  }
  return rc;
}

/* Upgrade or downgrade the scratch database to zTarget.  SQLITE_OK, or
** the engine's error code with *pzMsg set (a finding, not a failure of
** the caller, except SQLITE_NOMEM). */
static int schMove(sqlite3 *db, migrate_bundle *b, const char *zTarget,
                   int mode, const char *zFunc, char **pzMsg) {
  migrate_options opt;
  memset(&opt, 0, sizeof(opt));
  opt.mode = mode;
  opt.zFunc = zFunc;
  return migrate_run(db, b, zTarget, &opt, 0, pzMsg);
}

/* ======================================================================
** Drift
*/

/* Compare database main of db with the schema the bundle's scripts give
** at its version.  Lines start "drift: ".  *pzReport NULL when equal. */
int migrate_check_drift(sqlite3 *db, migrate_bundle *b, char **pzReport,
                        char **pzErr) {
  int *aCur = 0, nCur = 0, rc, i;
  sqlite3 *pScratch = 0;
  MigSchema *pHist = 0, *pDb = 0;
  char *zMsg = 0;
  MigStr s = {0};
  int nLine = 0;
  *pzReport = 0;
  rc = migReadVersion(db, b, "migrate_check", &aCur, &nCur, 0, pzErr);
  if (rc) return rc;
  rc = migScratchOpen(&pScratch, pzErr);
  if (rc) goto done;
  for (i = 0; i < nCur; i++) {
    rc = schMove(pScratch, b, b->aRev[aCur[i]].id, MIGRATE_UPGRADE,
                 "migrate_check", &zMsg);
    if (rc == SQLITE_NOMEM) goto done;
    if (rc) {
      char *zVer = migJoinIds(b, aCur, nCur);
      nLine++;
      migStrAppendf(&s,
                    "drift: cannot compare; the history's scripts fail on "
                    "an empty database at version %s: %s",
                    zVer ? zVer : "?", zMsg ? zMsg : sqlite3_errstr(rc));
      sqlite3_free(zVer);
      rc = SQLITE_OK;
      goto finish;
    }
  }
  rc = migSchemaSnapshot(pScratch, "main", &pHist, pzErr);
  if (rc == SQLITE_OK) rc = migSchemaSnapshot(db, "main", &pDb, pzErr);
  if (rc) goto done;
  migSchemaDiffAppend(&s, &nLine, "drift: ", &migHistoryWords, pHist, pDb);
finish:
  if (s.rc) {
    rc = migSetError(pzErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  if (nLine) {
    *pzReport = migStrFinish(&s);
    if (*pzReport == 0) rc = migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
done:
  if (rc == SQLITE_NOMEM && pzErr && *pzErr == 0) {
    migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  migStrReset(&s);
  sqlite3_free(zMsg);
  sqlite3_free(aCur);
  migSchemaFree(pHist);
  migSchemaFree(pDb);
  return schScratchClose(pScratch, rc, pzErr);
}

/* ======================================================================
** Round trip
*/

static const MigDiffWords schDownWords = {
    "before the upgrade", "after the downgrade", "missing after the downgrade",
    "left after the downgrade"};
static const MigDiffWords schAgainWords = {
    "after the first upgrade", "after upgrading again",
    "missing after upgrading again", "only after upgrading again"};
static const MigDiffWords schBaseWords = {
    "on an empty database", "after the downgrade to base",
    "missing after the downgrade to base", "left after the downgrade to base"};

typedef struct RoundTrip {
  migrate_bundle *b;
  MigStr s; /* the report */
  int nLine;
  char **pzErr;
} RoundTrip;

/* Add one finding line (printf-style). */
static void rtLine(RoundTrip *t, const char *zFmt, ...) {
  va_list ap;
  if (t->nLine++) migStrAppend(&t->s, "\n", 1);
  va_start(ap, zFmt);
  migStrAppendv(&t->s, zFmt, ap);
  va_end(ap);
}

/* Append the differences of A and B, each line prefixed. */
static void rtDiff(RoundTrip *t, const MigSchema *pA, const MigSchema *pB,
                   const MigDiffWords *w, const char *zPrefix) {
  migSchemaDiffAppend(&t->s, &t->nLine, zPrefix, w, pA, pB);
}

/* Test one revision on a fresh database.  Returns SQLITE_OK (findings are
** lines) or a hard error; *pbFailed says its upgrade could not be done. */
static int rtRevision(RoundTrip *t, int iRev, int *pbFailed) {
  migrate_bundle *b = t->b;
  const migrate_revision *r = &b->aRev[iRev];
  sqlite3 *db = 0;
  MigSchema *aSnap[4] = {0, 0, 0, 0};
  MigBits *aPre = 0;
  int *aHead = 0, nHead = 0, rc, i;
  char *zMsg = 0, *zPrefix = 0;
  const char *zDown;

  *pbFailed = 0;
  /* the state before it: its parents and dependencies, applied */
  rc = migAppliedOf(b, b->aaDown[iRev], b->anDown[iRev], &aPre);
  if (rc == SQLITE_OK) rc = migHeadsOf(b, aPre, &aHead, &nHead);
  if (rc) goto done;
  rc = migScratchOpen(&db, t->pzErr);
  if (rc) goto done;
  for (i = 0; i < nHead; i++) {
    rc = schMove(db, b, b->aRev[aHead[i]].id, MIGRATE_UPGRADE, "test", &zMsg);
    if (rc == SQLITE_NOMEM) goto done;
    if (rc) {
      rtLine(t, "revision %s (%s): cannot reach the state before it: %s", r->id,
             r->file, zMsg ? zMsg : sqlite3_errstr(rc));
      *pbFailed = 1;
      rc = SQLITE_OK;
      goto done;
    }
  }
  if (r->downgrade == 0) {
    rtLine(t,
           "revision %s (%s): irreversible: it has no '-- migrate:downgrade' "
           "section",
           r->id, r->file);
  }
  rc = migSchemaSnapshot(db, "main", &aSnap[0], t->pzErr);
  if (rc) goto done;
  rc = schMove(db, b, r->id, MIGRATE_UPGRADE, "test", &zMsg);
  if (rc == SQLITE_NOMEM) goto done;
  if (rc) {
    rtLine(t, "revision %s (%s): upgrade fails: %s", r->id, r->file,
           zMsg ? zMsg : sqlite3_errstr(rc));
    *pbFailed = 1;
    rc = SQLITE_OK;
    goto done;
  }
  if (r->downgrade == 0) goto done;
  rc = migSchemaSnapshot(db, "main", &aSnap[1], t->pzErr);
  if (rc) goto done;

  /* downgrading to the heads before it un-applies exactly this revision */
  zDown = nHead ? b->aRev[aHead[0]].id : "base";
  rc = schMove(db, b, zDown, MIGRATE_DOWNGRADE, "test", &zMsg);
  if (rc == SQLITE_NOMEM) goto done;
  if (rc) {
    rtLine(t, "revision %s (%s): downgrade fails: %s", r->id, r->file,
           zMsg ? zMsg : sqlite3_errstr(rc));
    rc = SQLITE_OK;
    goto done;
  }
  rc = migSchemaSnapshot(db, "main", &aSnap[2], t->pzErr);
  if (rc) goto done;
  zPrefix = sqlite3_mprintf(
      "revision %s (%s): downgrade does not undo the upgrade: ", r->id,
      r->file);
  if (zPrefix == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  rtDiff(t, aSnap[0], aSnap[2], &schDownWords, zPrefix);

  /* Alembic's bookkeeping may have kept a dependency of zDown as a version
  ** row of its own, which blocks the next upgrade ("overlaps"): one row for
  ** zDown's lineage again, as a user would stamp it */
  if (nHead > 0) {
    rc = schMove(db, b, zDown, MIGRATE_STAMP, "test", &zMsg);
    if (rc == SQLITE_NOMEM) goto done;
    if (rc) {
      rtLine(t, "revision %s (%s): cannot stamp %s after its downgrade: %s",
             r->id, r->file, zDown, zMsg ? zMsg : sqlite3_errstr(rc));
      rc = SQLITE_OK;
      goto done;
    }
  }

  rc = schMove(db, b, r->id, MIGRATE_UPGRADE, "test", &zMsg);
  if (rc == SQLITE_NOMEM) goto done;
  if (rc) {
    rtLine(t, "revision %s (%s): upgrade after its downgrade fails: %s", r->id,
           r->file, zMsg ? zMsg : sqlite3_errstr(rc));
    rc = SQLITE_OK;
    goto done;
  }
  rc = migSchemaSnapshot(db, "main", &aSnap[3], t->pzErr);
  if (rc) goto done;
  sqlite3_free(zPrefix);
  zPrefix = sqlite3_mprintf(
      "revision %s (%s): upgrade after its downgrade gives another schema: ",
      r->id, r->file);
  if (zPrefix == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  rtDiff(t, aSnap[1], aSnap[3], &schAgainWords, zPrefix);

done:
  for (i = 0; i < 4; i++) migSchemaFree(aSnap[i]);
  sqlite3_free(aPre);
  sqlite3_free(aHead);
  sqlite3_free(zMsg);
  sqlite3_free(zPrefix);
  return schScratchClose(db, rc, t->pzErr);
}

/* The whole history: base -> heads -> base must leave an empty schema. */
static int rtWhole(RoundTrip *t, int bDown) {
  sqlite3 *db = 0;
  MigSchema *pEmpty = 0, *pAfter = 0;
  char *zMsg = 0;
  int rc = migScratchOpen(&db, t->pzErr);
  if (rc) return rc;
  rc = migSchemaSnapshot(db, "main", &pEmpty, t->pzErr);
  if (rc) goto done;
  rc = schMove(db, t->b, "heads", MIGRATE_UPGRADE, "test", &zMsg);
  if (rc == SQLITE_NOMEM) goto done;
  if (rc) {
    rtLine(t, "upgrade from base to heads fails: %s",
           zMsg ? zMsg : sqlite3_errstr(rc));
    rc = SQLITE_OK;
    goto done;
  }
  if (!bDown) goto done;
  rc = schMove(db, t->b, "base", MIGRATE_DOWNGRADE, "test", &zMsg);
  if (rc == SQLITE_NOMEM) goto done;
  if (rc) {
    rtLine(t, "downgrade from heads to base fails: %s",
           zMsg ? zMsg : sqlite3_errstr(rc));
    rc = SQLITE_OK;
    goto done;
  }
  rc = migSchemaSnapshot(db, "main", &pAfter, t->pzErr);
  if (rc) goto done;
  rtDiff(t, pEmpty, pAfter, &schBaseWords,
         "downgrade from heads to base does not restore an empty schema: ");
done:
  migSchemaFree(pEmpty);
  migSchemaFree(pAfter);
  sqlite3_free(zMsg);
  return schScratchClose(db, rc, t->pzErr);
}

/* Round-trip every revision: see the top of the file.  *pzReport NULL when
** all is well. */
int migrate_roundtrip(migrate_bundle *b, char **pzReport, char **pzErr) {
  RoundTrip t;
  MigBits *aFailed = 0;
  int rc = SQLITE_OK, i, k, nFailed = 0, nIrreversible = 0, nHeadLine;
  *pzReport = 0;
  memset(&t, 0, sizeof(t));
  t.b = b;
  t.pzErr = pzErr;
  if (b->nRev == 0) return SQLITE_OK;
  rc = migBundleLoad(b, -1, pzErr); /* every script runs */
  if (rc) return rc;

  if (b->nHead > 1) {
    MigStr h = {0};
    int n = 0;
    for (i = 0; i < b->nHead; i++) {
      migStrSep(&h, &n, ", ");
      migStrAppendZ(&h, b->aRev[b->aHead[i]].id);
    }
    if (h.rc) {
      migStrReset(&h);
      return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
    }
    rtLine(&t,
           "multiple heads: %s; merge them (sqlite-migrate merge -m MESSAGE "
           "heads)",
           h.z);
    migStrReset(&h);
  }

  aFailed = sqlite3_malloc64(MIG_BITS_WORDS(b->nRev) * sizeof(MigBits));
  if (aFailed == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  memset(aFailed, 0, MIG_BITS_WORDS(b->nRev) * sizeof(MigBits));

  nHeadLine = t.nLine;
  for (i = 0; i < b->nRev && rc == SQLITE_OK; i++) {
    int iRev = migrate_bundle_order(b, i), bFailed = 0, bSkip = 0;
    const migrate_revision *r = &b->aRev[iRev];
    if (r->downgrade == 0) nIrreversible++;
    /* a revision built on one that failed to upgrade cannot be tested */
    for (k = 0; k < b->anDown[iRev]; k++) {
      if (MIG_BIT_TEST(aFailed, b->aaDown[iRev][k])) bSkip = 1;
    }
    if (bSkip) {
      MIG_BIT_SET(aFailed, iRev);
      continue;
    }
    rc = rtRevision(&t, iRev, &bFailed);
    if (bFailed) {
      MIG_BIT_SET(aFailed, iRev);
      nFailed++;
    }
  }
  /* the whole history, up and (when every revision passed) down again */
  if (rc == SQLITE_OK && nFailed == 0) {
    rc = rtWhole(&t, nIrreversible == 0 && t.nLine == nHeadLine);
  }

done:
  sqlite3_free(aFailed);
  if (rc == SQLITE_OK && t.s.rc) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK && t.nLine) {
    *pzReport = migStrFinish(&t.s);
    if (*pzReport == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_NOMEM) migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  migStrReset(&t.s);
  return rc;
}

/* ======================================================================
** SQL entry points (for tests and the SQL face)
**
**     migrate_schema_diff(history_sql, database_sql)
**         run each script on its own scratch database and compare;
**         NULL when equal, else the report
**     migrate_drift([bundle])       migrate_check_drift() on this database
**     migrate_roundtrip([bundle])   migrate_roundtrip()
**
** All three are SQLITE_DIRECTONLY: they run SQL (scripts or arguments) on
** scratch connections, where ATTACH or VACUUM INTO could reach files.
*/

static void schResult(sqlite3_context *ctx, int rc, char *zErr, char *zReport) {
  if (rc) {
    migResultError(ctx, rc, zErr);
  } else if (zReport) {
    sqlite3_result_text(ctx, zReport, -1, sqlite3_free);
    zReport = 0;
  } else {
    sqlite3_result_null(ctx);
  }
  sqlite3_free(zErr);
  sqlite3_free(zReport);
}

/* Snapshot of what zSql creates on a new scratch database. */
static int schSnapshotOfSql(const char *zSql, const char *zWhich,
                            MigSchema **pp, char **pzErr) {
  sqlite3 *db = 0;
  char *zMsg = 0;
  int rc = migScratchOpen(&db, pzErr);
  if (rc) return rc;
  rc = sqlite3_exec(db, zSql, 0, 0, &zMsg);
  if (rc) {
    migSetError(pzErr, rc, "migrate_schema_diff(): the %s SQL fails: %s",
                zWhich, zMsg ? zMsg : sqlite3_errstr(rc));
  } else {
    rc = migSchemaSnapshot(db, "main", pp, pzErr);
  }
  sqlite3_free(zMsg);
  return schScratchClose(db, rc, pzErr);
}

static void fnSchemaDiff(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *zA = (const char *)sqlite3_value_text(argv[0]);
  const char *zB = (const char *)sqlite3_value_text(argv[1]);
  MigSchema *pA = 0, *pB = 0;
  char *zErr = 0, *zRep = 0;
  int rc;
  (void)argc;
  if (zA == 0 || zB == 0) {
    schResult(ctx, SQLITE_MISUSE,
              sqlite3_mprintf("migrate_schema_diff(history_sql, "
                              "database_sql): both arguments must be SQL "
                              "text"),
              0);
    return;
  }
  rc = schSnapshotOfSql(zA, "history", &pA, &zErr);
  /* zB may point into argv[1]'s value: it stays valid for this call */
  if (rc == SQLITE_OK) rc = schSnapshotOfSql(zB, "database", &pB, &zErr);
  if (rc == SQLITE_OK) rc = migSchemaDiff(pA, pB, &zRep, &zErr);
  migSchemaFree(pA);
  migSchemaFree(pB);
  schResult(ctx, rc, zErr, zRep);
}

/* Resolve the optional bundle argument, run x, report. */
static void schWithBundle(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                          const char *zFunc, int bDrift) {
  migrate_bundle *b = 0;
  int bOwned = 0, rc;
  char *zErr = 0, *zRep = 0;
  char *zEx = sqlite3_mprintf("%s(migrate_bundle('migrations'))", zFunc);
  if (zEx == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  rc = migBundleFromValue(argc > 0 ? argv[0] : 0, zEx, &b, &bOwned, &zErr);
  sqlite3_free(zEx);
  if (rc == SQLITE_OK) {
    if (bDrift) {
      rc = migrate_check_drift(sqlite3_context_db_handle(ctx), b, &zRep, &zErr);
    } else {
      rc = migrate_roundtrip(b, &zRep, &zErr);
    }
  }
  if (rc && rc != SQLITE_NOMEM) {
    if (zErr == 0) migSetError(&zErr, rc, "%s", sqlite3_errstr(rc));
    migErrPrefix(&zErr, "%s(): ", zFunc);
  }
  if (bOwned) migrate_bundle_free(b);
  schResult(ctx, rc, zErr, zRep);
}

static void fnDrift(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  schWithBundle(ctx, argc, argv, "migrate_drift", 1);
}

static void fnRoundtrip(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  schWithBundle(ctx, argc, argv, "migrate_roundtrip", 0);
}

/* Register the SQL entry points; on failure *pzErr names the one. */
int migRegisterChecks(sqlite3 *db, char **pzErr) {
  static const struct {
    const char *zName;
    int nArg;
    void (*x)(sqlite3_context *, int, sqlite3_value **);
  } aFunc[] = {
      {"migrate_schema_diff", 2, fnSchemaDiff},
      {"migrate_drift", 0, fnDrift},
      {"migrate_drift", 1, fnDrift},
      {"migrate_roundtrip", 0, fnRoundtrip},
      {"migrate_roundtrip", 1, fnRoundtrip},
  };
  size_t i;
  int rc = SQLITE_OK;
  for (i = 0; rc == SQLITE_OK && i < sizeof(aFunc) / sizeof(aFunc[0]); i++) {
    /* they run SQL on scratch connections: DIRECTONLY */
    rc = sqlite3_create_function_v2(db, aFunc[i].zName, aFunc[i].nArg,
                                    SQLITE_UTF8 | SQLITE_DIRECTONLY, 0,
                                    aFunc[i].x, 0, 0, 0);
    if (rc && pzErr) {
      *pzErr = sqlite3_mprintf("cannot register %s(): %s", aFunc[i].zName,
                               sqlite3_errmsg(db));
    }
  }
  return rc;
}
