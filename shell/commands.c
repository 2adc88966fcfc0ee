/*
** commands.c — the commands that run the engine: upgrade, downgrade,
** stamp, current, check on a database; test on scratch databases; bundle
** (write the revisions out).
**
**     sqlite-migrate -d app.db upgrade                  to head
**     sqlite-migrate -d app.db upgrade +1 --backup app.db.bak
**     sqlite-migrate -d app.db downgrade base
**     sqlite-migrate upgrade head --sql                 the offline script
**     sqlite-migrate upgrade 1f0c2a7d44e0:head --sql    ... from a revision
**     sqlite-migrate -d app.db stamp head
**     sqlite-migrate -d app.db stamp --purge head       version table emptied first
**     sqlite-migrate -d app.db current -v
**     sqlite-migrate -d app.db check                    exit 0 when at head
**     sqlite-migrate test                               round trip, scratch dbs
**     sqlite-migrate bundle -o history.bundle
**
** upgrade and downgrade are Alembic's: the direction is explicit
** (MIGRATE_UPGRADE / MIGRATE_DOWNGRADE), so "upgrade X" to an applied X does
** nothing and "downgrade X" to a revision that is not applied is an error.
** Each applied revision prints "Running upgrade a1 -> b2, message (12 ms)"
** on stderr once it is committed (the engine's progress callback); after a
** failure the steps that were rolled back print "Rolled back ...".  --sql prints
** what migrate_sql_script() returns, the same text as SQL's migrate_sql().
** A failing revision leaves the database as it was (the engine rolls back);
** the message names the revision, the statement and SQLite's error.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell.h"

/* ======================================================================
** upgrade, downgrade, stamp
*/

/* Progress lines wait for their transaction: a step's "Running upgrade
** a1 -> b2, message (12 ms)" line is printed once it is committed, that is
** when a "Transaction: none" step (which commits itself and every step
** before it) or the whole run ends; when the run fails, the steps still
** waiting were rolled back and are printed as "Rolled back upgrade ...". */
typedef struct Progress {
  char **azStep; /* "upgrade a1 -> b2, message" (sqlite3_free each) */
  double *aMs;   /* each step's duration */
  int nStep, nAlloc;
} Progress;

/* Print the waiting steps as "Running ... (N ms)" when bRan, else as
** "Rolled back ...", and forget them. */
static void progressFlush(Progress *p, int bRan) {
  int i;
  for (i = 0; i < p->nStep; i++) {
    if (bRan) {
      fprintf(stderr, "Running %s (%.0f ms)\n", p->azStep[i], p->aMs[i]);
    } else {
      fprintf(stderr, "Rolled back %s\n", p->azStep[i]);
    }
    sqlite3_free(p->azStep[i]);
  }
  sqlite3_free(p->azStep);
  sqlite3_free(p->aMs);
  memset(p, 0, sizeof(*p));
}

/* Keep z (takes ownership) as a waiting step; 0, or 1 when out of memory. */
static int progressKeep(Progress *p, char *z, double ms) {
  if (z && p->nStep == p->nAlloc) {
    int n = p->nAlloc ? p->nAlloc * 2 : 16;
    char **az = sqlite3_realloc64(p->azStep, n * sizeof(char *));
    double *a = az ? sqlite3_realloc64(p->aMs, n * sizeof(double)) : 0;
    if (az) p->azStep = az;
    if (a) p->aMs = a;
    if (a) p->nAlloc = n;
  }
  if (z == 0 || p->nStep == p->nAlloc) {
    sqlite3_free(z);
    return 1;
  }
  p->azStep[p->nStep] = z;
  p->aMs[p->nStep++] = ms;
  return 0;
}

/* The engine's progress callback: Alembic's "Running upgrade" line, kept
** until the step's transaction commits (printed at once when memory is
** short). */
static void progressLine(void *pArg, const migrate_revision *r, int isUp,
                         const char *zFrom, const char *zTo, double ms) {
  Progress *p = pArg;
  char *z =
      r->message[0]
          ? sqlite3_mprintf("%s %s -> %s, %s", isUp ? "upgrade" : "downgrade",
                            zFrom, zTo, r->message)
          : sqlite3_mprintf("%s %s -> %s", isUp ? "upgrade" : "downgrade",
                            zFrom, zTo);
  if (progressKeep(p, z, ms)) {
    progressFlush(p, 1);
    fprintf(stderr, "Running %s %s -> %s (%.0f ms)\n",
            isUp ? "upgrade" : "downgrade", zFrom, zTo, ms);
  }
  /* it ran outside a transaction: it and the steps before it are committed */
  if (r->no_transaction) progressFlush(p, 1);
}

/* "a,b" -> "a, b" (Alembic's format_as_comma); "" for NULL. Caller frees. */
static char *commaSpace(const char *z) {
  size_t n = z ? strlen(z) : 0, i, j = 0, nComma = 0;
  char *zOut;
  for (i = 0; i < n; i++) nComma += z[i] == ',';
  zOut = sqlite3_malloc64(n + nComma + 1);
  if (zOut == 0) return 0;
  for (i = 0; i < n; i++) {
    zOut[j++] = z[i];
    if (z[i] == ',') zOut[j++] = ' ';
  }
  zOut[j] = 0;
  return zOut;
}

/* A starting version for --sql FROM:TO: "base" or resolved ids joined by
** commas (sqlite3_free).  NULL on error (printed, *pRc set). */
static char *resolveFrom(Shell *s, migrate_bundle *b, const char *zFrom,
                         int *pRc) {
  int *a = 0, n = 0, i, rc;
  char *zErr = 0, *zOut = 0;
  if (zFrom[0] == 0) {
    *pRc = outUsage(s, "empty starting revision in FROM:TO");
    return 0;
  }
  rc = migrate_bundle_resolve(b, zFrom, 0, 0, &a, &n, &zErr);
  if (rc != SQLITE_OK) {
    *pRc = shellEngineFail(zErr, rc);
    sqlite3_free(zErr);
    return 0;
  }
  if (n == 0) {
    zOut = sqlite3_mprintf("base");
  } else {
    for (i = 0; i < n; i++) {
      char *z = sqlite3_mprintf("%z%s%s", zOut, i ? "," : "",
                                migrate_bundle_revision(b, a[i])->id);
      if (z == 0) break;
      zOut = z;
    }
    if (i < n) {
      sqlite3_free(zOut);
      zOut = 0;
    }
  }
  sqlite3_free(a);
  if (zOut == 0) *pRc = outFail("out of memory");
  return zOut;
}

/* --sql: print the offline script for zArg ("TARGET" or "FROM:TO"). */
static int printSql(Shell *s, Args *a, const char *zArg, int mode) {
  migrate_bundle *b;
  sqlite3 *db = 0;
  char *zFrom = 0, *zSql = 0, *zErr = 0, *zTo = 0;
  const char *zColon = strchr(zArg, ':');
  int rc;
  if (argsHas(a, "backup")) {
    return outUsage(s,
                    "--backup and --sql do not go together (--sql "
                    "changes nothing)");
  }
  rc = shellBundle(s, &b);
  if (rc) return rc;
  if (zColon) {
    zTo = sqlite3_mprintf("%s", zColon + 1);
    if (zTo == 0) return outFail("out of memory");
    if (zTo[0] == 0) {
      sqlite3_free(zTo);
      return outUsage(s, "empty target in FROM:TO");
    }
    {
      char *zF = sqlite3_mprintf("%.*s", (int)(zColon - zArg), zArg);
      if (zF == 0) {
        sqlite3_free(zTo);
        return outFail("out of memory");
      }
      zFrom = resolveFrom(s, b, zF, &rc);
      sqlite3_free(zF);
    }
    if (zFrom == 0) {
      sqlite3_free(zTo);
      return rc;
    }
  } else if (s->zDbPath && shellDbExists(s)) {
    rc = shellOpenDb(s, DB_READ, &db, 0);
    if (rc) return rc;
  } else if (mode == MIGRATE_DOWNGRADE) {
    return outUsage(s,
                    "downgrade with --sql needs <fromrev>:<torev>, or "
                    "an existing database (-d) to start from");
  } else {
    zFrom = sqlite3_mprintf("base");
    if (zFrom == 0) return outFail("out of memory");
  }
  rc = migrate_sql_script(db, b, zFrom, zTo ? zTo : zArg, mode, &zSql, &zErr);
  if (rc != SQLITE_OK) {
    rc = shellEngineFail(zErr, rc);
  } else {
    fputs(zSql, stdout);
    rc = EXIT_OK;
  }
  sqlite3_free(zSql);
  sqlite3_free(zErr);
  sqlite3_free(zFrom);
  sqlite3_free(zTo);
  return shellCloseDb(s, db, rc);
}

/* After a failed command that created the database file: when the file is
** still empty, say that it stays.  It is never unlinked: another process
** may have opened it meanwhile and be writing to it. */
static void noteLeftEmpty(const Shell *s) {
  struct stat st;
  if (stat(s->zDbPath, &st) == 0 && st.st_size == 0) {
    fprintf(stderr,
            "note: %s did not exist and this command created it; it is left "
            "empty (another process may already have it open, so it is not "
            "deleted): delete it if nothing uses it, or run the command "
            "again once the cause is fixed\n",
            s->zDbPath);
  }
}

/* stamp --purge: empty the version table inside the transaction that
** begins here (the caller ends it), as Alembic's purge.  EXIT_OK or
** EXIT_FAIL (printed). */
static int purgeVersions(Shell *s, sqlite3 *db) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0), bTable = 0;
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db,
                            "SELECT 1 FROM main.sqlite_master WHERE "
                            "type='table' AND name='migrate_version'",
                            -1, &pStmt, 0);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(pStmt);
    bTable = rc == SQLITE_ROW;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  sqlite3_finalize(pStmt);
  if (rc == SQLITE_OK && bTable) {
    rc = sqlite3_exec(db, "DELETE FROM main.migrate_version", 0, 0, 0);
  }
  if (rc != SQLITE_OK) {
    return outFail("stamp --purge: cannot empty the version table of %s: %s",
                   s->zDbPath, sqlite3_errmsg(db));
  }
  return EXIT_OK;
}

/* upgrade / downgrade / stamp, online or --sql. */
static int runMigrate(Shell *s, Args *a, const char *zTarget, int mode) {
  migrate_bundle *b;
  sqlite3 *db = 0;
  migrate_options o;
  Progress progress = {0, 0, 0, 0};
  char *zVersion = 0, *zErr = 0, *zBefore = 0;
  int rc, bCreated = 0, bPurge = argsHas(a, "purge");
  static const char *azFunc[] = {"migrate", "upgrade", "downgrade", "stamp"};

  if (bPurge && argsHas(a, "sql")) {
    return outUsage(s,
                    "--purge and --sql do not go together (--sql "
                    "changes nothing)");
  }
  if (argsHas(a, "sql")) return printSql(s, a, zTarget, mode);
  if (strchr(zTarget, ':')) {
    return outUsage(s, "a range FROM:TO is only allowed with --sql");
  }
  rc = shellBundle(s, &b);
  if (rc) return rc;
  rc = shellOpenDb(s, mode == MIGRATE_DOWNGRADE ? DB_WRITE_EXISTING : DB_WRITE,
                   &db, &bCreated);
  if (rc) return rc;
  if (argsValue(a, "backup")) {
    rc = shellBackup(db, argsValue(a, "backup"));
    if (rc) goto done;
  }
  if (bPurge) {
    rc = purgeVersions(s, db);
    if (rc) goto done;
  }
  if (mode == MIGRATE_STAMP) {
    rc = migrate_current(db, &zBefore, &zErr);
    if (rc != SQLITE_OK) {
      rc = outFail("%s", zErr ? zErr : sqlite3_errstr(rc));
      goto done;
    }
  }
  memset(&o, 0, sizeof(o));
  o.mode = mode;
  o.zFunc = azFunc[mode];
  o.nCallerStmt = 0;
  o.xProgress = mode == MIGRATE_STAMP ? 0 : progressLine;
  o.pProgressArg = &progress;
  rc = migrate_run(db, b, zTarget, &o, &zVersion, &zErr);
  if (rc == SQLITE_OK && bPurge &&
      sqlite3_exec(db, "COMMIT", 0, 0, 0) != SQLITE_OK) {
    rc = outFail("stamp --purge: cannot commit: %s", sqlite3_errmsg(db));
    goto done;
  }
  progressFlush(&progress, rc == SQLITE_OK);
  if (rc != SQLITE_OK) {
    rc = shellEngineFail(zErr, rc);
    goto done;
  }
  if (mode == MIGRATE_STAMP) {
    char *z1 = commaSpace(zBefore), *z2 = commaSpace(zVersion);
    if (z1 && z2) fprintf(stderr, "Running stamp_revision %s -> %s\n", z1, z2);
    sqlite3_free(z1);
    sqlite3_free(z2);
  }
  rc = EXIT_OK;
done:
  if (bPurge && db && !sqlite3_get_autocommit(db)) {
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0); /* nothing changed */
  }
  sqlite3_free(zVersion);
  sqlite3_free(zErr);
  sqlite3_free(zBefore);
  rc = shellCloseDb(s, db, rc);
  if (rc != EXIT_OK && bCreated) noteLeftEmpty(s);
  return rc;
}

int cmdUpgrade(Shell *s, Args *a) {
  return runMigrate(s, a, a->nPos ? a->azPos[0] : "head", MIGRATE_UPGRADE);
}

int cmdDowngrade(Shell *s, Args *a) {
  return runMigrate(s, a, a->azPos[0], MIGRATE_DOWNGRADE);
}

int cmdStamp(Shell *s, Args *a) {
  return runMigrate(s, a, a->azPos[0], MIGRATE_STAMP);
}

/* ======================================================================
** current, check
*/

int cmdCurrent(Shell *s, Args *a) {
  migrate_bundle *b;
  sqlite3 *db = 0;
  int *aCur = 0, nCur = 0, i, rc;
  int bVerbose = argsHas(a, "verbose");
  rc = shellBundle(s, &b);
  if (rc) return rc;
  rc = shellOpenDb(s, DB_READ, &db, 0);
  if (rc) return rc;
  rc = shellVersionNote(s, db);
  if (rc == EXIT_OK) rc = shellCurrent(s, db, b, &aCur, &nCur);
  if (rc == EXIT_OK) {
    int *aRows = aCur;
    int src = rangeCurrentHeads(b, aRows, nCur, &aCur, &nCur);
    sqlite3_free(aRows);
    if (src != SQLITE_OK) rc = outFail("out of memory");
  }
  if (rc == EXIT_OK) {
    if (bVerbose) {
      char *zUrl = shellDbUrl(s);
      printf("Current revision(s) for %s:\n", zUrl ? zUrl : s->zDbPath);
      sqlite3_free(zUrl);
    }
    for (i = 0; i < nCur; i++) {
      if (bVerbose) {
        outLogEntry(stdout, s, b, aCur[i], 0);
        fputs("\n", stdout);
      } else {
        outHeadOnly(stdout, b, aCur[i], FMT_TREE, 0);
      }
    }
  }
  sqlite3_free(aCur);
  return shellCloseDb(s, db, rc);
}

int cmdCheck(Shell *s, Args *a) {
  migrate_bundle *b;
  sqlite3 *db = 0;
  char *zReport = 0, *zErr = 0, *zVer = 0;
  int rc, nSchema = 0;
  rc = shellBundle(s, &b);
  if (rc) return rc;
  rc = shellOpenDb(s, DB_READ, &db, 0);
  if (rc) return rc;
  rc = migrate_check_report(db, b, &zReport, &zErr);
  if (rc == SQLITE_OK && zReport == 0) rc = migrate_current(db, &zVer, &zErr);
  if (rc != SQLITE_OK) {
    rc = outFail("%s", zErr ? zErr : sqlite3_errstr(rc));
  } else if (zReport) {
    printf("%s\n", zReport);
    rc = EXIT_FAIL;
    if (autogenCheck(s, a, b, &nSchema)) rc = EXIT_FAIL;
  } else if ((rc = autogenCheck(s, a, b, &nSchema)) != EXIT_OK || nSchema) {
    rc = EXIT_FAIL;
  } else {
    char *z = commaSpace(zVer);
    printf("No pending revisions; the database is at head (%s).\n",
           z && z[0] ? z : "base");
    sqlite3_free(z);
    rc = EXIT_OK;
  }
  sqlite3_free(zReport);
  sqlite3_free(zErr);
  sqlite3_free(zVer);
  return shellCloseDb(s, db, rc);
}

/* ======================================================================
** test
*/

/* Every revision upgraded, downgraded and upgraded again on scratch
** in-memory databases, schemas compared (migrate_roundtrip()). */
int cmdTest(Shell *s, Args *a) {
  migrate_bundle *b;
  char *zReport = 0, *zErr = 0;
  int rc, n;
  (void)a;
  rc = shellBundle(s, &b);
  if (rc) return rc;
  n = migrate_bundle_count(b);
  rc = migrate_roundtrip(b, &zReport, &zErr);
  if (rc != SQLITE_OK) {
    rc = outFail("%s", zErr ? zErr : sqlite3_errstr(rc));
  } else if (zReport) {
    printf("%s\n", zReport);
    rc = EXIT_FAIL;
  } else {
    printf(
        "%d revision%s passed the round trip (upgrade, downgrade, "
        "upgrade; schemas compared).\n",
        n, n == 1 ? "" : "s");
    rc = EXIT_OK;
  }
  sqlite3_free(zReport);
  sqlite3_free(zErr);
  return rc;
}

/* ======================================================================
** bundle
*/

int cmdBundle(Shell *s, Args *a) {
  migrate_bundle *b;
  const char *zOut = argsValue(a, "output");
  unsigned char *aData = 0;
  size_t nData = 0;
  char *zErr = 0, *zTmp = 0;
  FILE *f;
  int rc;
  if (zOut == 0)
    return outUsage(s, "the following arguments are required: -o FILE");
  if (zOut[0] == 0) return outUsage(s, "-o: empty file name");
  rc = shellBundle(s, &b);
  if (rc) return rc;
  rc = migrate_bundle_encode(b, &aData, &nData, &zErr);
  if (rc != SQLITE_OK) {
    rc = outFail("cannot encode the bundle: %s",
                 zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_free(zErr);
    return rc;
  }
  /* write a temporary file next to the target, then rename it over */
  zTmp = sqlite3_mprintf("%s.tmp-%d", zOut, (int)getpid());
  if (zTmp == 0) {
    sqlite3_free(aData);
    return outFail("out of memory");
  }
  f = fopen(zTmp, "wb");
  if (f == 0) {
    rc = outFail("cannot write %s: %s", zOut, strerror(errno));
  } else {
    int bBad = fwrite(aData, 1, nData, f) != nData;
    if (fclose(f) != 0) bBad = 1;
    if (bBad) {
      rc = outFail("cannot write %s: %s", zOut, strerror(errno));
      unlink(zTmp);
    } else if (rename(zTmp, zOut) != 0) {
      rc = outFail("cannot write %s: %s", zOut, strerror(errno));
      unlink(zTmp);
    } else {
      printf("%s: %d revisions, %zu bytes\n", zOut, migrate_bundle_count(b),
             nData);
      rc = EXIT_OK;
    }
  }
  sqlite3_free(zTmp);
  sqlite3_free(aData);
  return rc;
}
