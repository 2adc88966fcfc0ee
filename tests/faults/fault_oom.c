/*
** fault_oom.c — out-of-memory at every allocation (issue #5, item 2).
**
**     build/faults/fault_oom             every scenario (make test-faults)
**     build/faults/fault_oom --short     decode, graph, one upgrade (:memory:,
**                                        transient, migrate_run() and SQL)
**     build/faults/fault_oom --only upgrade-memory:transient:run
**
** An allocator installed with SQLITE_CONFIG_MALLOC (before
** sqlite3_initialize) forwards to SQLite's default one
** (SQLITE_CONFIG_GETMALLOC) and, once armed, fails the k-th xMalloc or
** xRealloc: only that one ("transient") or it and every later one
** ("persistent").  It also counts live allocations, so each run can check
** that everything it allocated was freed (LeakSanitizer checks again at
** exit: the programs are built with -fsanitize=address,undefined).
**
** Scenarios, each for k = 1, 2, ... until a run completes without the fault
** firing (cap 20,000):
**
**   decode          migrate_bundle_open_blob() of the embedded bundle's bytes
**   folder          migrate_bundle_open_path() of migrations/ (read, parse,
**                   graph)
**   graph           parse + graph of a generated 43-revision history with
**                   branch points, merges, a second base, branch labels and a
**                   Depends On (migBundleFromFiles), then plans and target
**                   resolutions on it (migPlan, migrate_bundle_resolve)
**   upgrade-memory  migrate_to('head') from base of a :memory: database
**   upgrade-file    the same on a file (rollback journal)
**   adopt-file-to-4e92  the same from a database Alembic migrated to
**                   1f0c2a7d44e0 (alembic_version, no migrate_version): the
**                   adoption and the steps, all or nothing
**   upgrade-file-to-4e92  base -> 4e92a7c0b6d1 on a file: no Transaction:
**                   none revision on the way, so strictly all or nothing
**   scan-migrations    SELECT * FROM migrations        (file db at head)
**   scan-history       SELECT * FROM migration_history (file db at head)
**
** The upgrades and scans run through migrate_run() / sqlite3_prepare ("run")
** or through SELECT migrate_to('head') ("sql", upgrades only).
**
** Every run must end in success with exactly the result of a run without
** faults (the same bundle, plans, rows, or database signature), or in
** SQLITE_NOMEM or an error whose message says "out of memory" — never
** another error, a crash, or a leak.  After a failed upgrade the database
** (a file reopened by a fresh connection with the allocator disarmed; the
** same connection for :memory:) must be at base with an empty schema — or,
** if the commit before the "Transaction: none" head revision happened (seen
** by the commit and rollback hooks, fl_watch_commits()), at
** 4e92a7c0b6d1 with exactly that version's schema (ext/README.md, "Atomicity": the documented
** exception) — and the connection must not be left inside a transaction.
*/
#include "faultlib.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MID_REV     "4e92a7c0b6d1"
#define ALEMBIC_REV "1f0c2a7d44e0" /* where the "Alembic" database is */
#define HEAD_REV    "f05c3b8d2e76"
#define K_CAP       20000

/* ======================================================================
** The allocator
*/
static sqlite3_mem_methods dflt;
static struct {
  int bArmed;
  int k, bPersist;
  int n; /* allocations since arming */
  int nFired;
  long nLive; /* live allocations (armed or not) */
} m;

static int oomFail(void) {
  if (!m.bArmed) return 0;
  m.n++;
  if (m.n == m.k || (m.bPersist && m.n > m.k)) {
    m.nFired++;
    return 1;
  }
  return 0;
}
static void *oomMalloc(int n) {
  void *p = oomFail() ? 0 : dflt.xMalloc(n);
  if (p) m.nLive++;
  return p;
}
static void oomFree(void *p) {
  if (p) m.nLive--;
  dflt.xFree(p);
}
static void *oomRealloc(void *p, int n) {
  if (oomFail()) return 0;
  return dflt.xRealloc(p, n);
}
static int oomSize(void *p) {
  return dflt.xSize(p);
}
static int oomRoundup(int n) {
  return dflt.xRoundup(n);
}
static int oomInit(void *p) {
  return dflt.xInit(p);
}
static void oomShutdown(void *p) {
  dflt.xShutdown(p);
}

static void oomInstall(void) {
  static sqlite3_mem_methods mine = {oomMalloc,  oomFree, oomRealloc,  oomSize,
                                     oomRoundup, oomInit, oomShutdown, 0};
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &dflt) != SQLITE_OK ||
      sqlite3_config(SQLITE_CONFIG_MALLOC, &mine) != SQLITE_OK ||
      sqlite3_initialize() != SQLITE_OK) {
    fprintf(stderr, "cannot install the allocator\n");
    exit(2);
  }
}

static void arm(int k, int bPersist) {
  m.k = k;
  m.bPersist = bPersist;
  m.n = 0;
  m.nFired = 0;
  m.bArmed = 1;
}

/* ======================================================================
** Results: a run either matches the fault-free result or failed cleanly
*/
typedef struct Run {
  char *zResult;  /* description of what the run produced (sqlite3_malloc) */
  int rc;         /* first error, SQLITE_OK if none */
  char *zErr;     /* its message */
  int bCommitted; /* upgrades: the mid-run COMMIT happened */
  int bLeftOpen;  /* persistent OOM: the engine's transaction stayed open */
  char *zProblem; /* a check that failed (sqlite3_malloc) */
} Run;

static void runReset(Run *r) {
  sqlite3_free(r->zResult);
  sqlite3_free(r->zErr);
  sqlite3_free(r->zProblem);
  memset(r, 0, sizeof(*r));
}

/* Record a failed call (first one wins); takes zErr. */
static void runError(Run *r, int rc, char *zErr) {
  if (r->rc == SQLITE_OK) {
    r->rc = rc;
    r->zErr = zErr;
  } else {
    sqlite3_free(zErr);
  }
}

static void problem(Run *r, const char *zFmt, ...) {
  va_list ap;
  if (r->zProblem) return;
  va_start(ap, zFmt);
  r->zProblem = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
}

/* Is this error what running out of memory may produce? */
static int cleanOom(int rc, const char *zErr) {
  if ((rc & 0xff) == SQLITE_NOMEM) return 1;
  return zErr && strstr(zErr, "out of memory") != 0;
}

/* ======================================================================
** Scenarios.  Each fills r->zResult (allocated with the allocator
** disarmed) or r->rc; the driver compares.
*/
static char zMigrations[4096] = "migrations";
static char zDir[4096], zFileDb[4200], zHeadDb[4200], zRefMid[4200];
static char *zSigBase, *zSigMid, *zSigHead;
static char *zSigAlembic, *zSigAdopted; /* adopt-file-to-4e92: before, after */
static int bAdopting;                   /* the upgrade starts from Alembic's */

/* A comparable description of a bundle. */
static char *describeBundle(migrate_bundle *b) {
  sqlite3_str *s = sqlite3_str_new(0);
  int i, j;
  for (i = 0; i < migrate_bundle_count(b); i++) {
    const migrate_revision *r =
        migrate_bundle_revision(b, migrate_bundle_order(b, i));
    sqlite3_str_appendf(s, "%s %08x head=%d base=%d merge=%d parents=", r->id,
                        r->checksum, r->is_head, r->is_base, r->is_merge);
    for (j = 0; j < r->nparent; j++) {
      sqlite3_str_appendf(s, "%s%s", j ? "," : "", r->parents[j]);
    }
    sqlite3_str_appendall(s, " labels=");
    for (j = 0; j < r->nall_label; j++) {
      sqlite3_str_appendf(s, "%s%s", j ? "," : "", r->all_labels[j]);
    }
    sqlite3_str_appendf(s, " children=%d dependents=%d\n", r->nchild,
                        r->ndependent);
  }
  for (i = 0; i < migrate_bundle_nhead(b); i++) {
    sqlite3_str_appendf(
        s, "head %s\n",
        migrate_bundle_revision(b, migrate_bundle_head(b, i))->id);
  }
  return sqlite3_str_finish(s);
}

static void scDecode(Run *r) {
  migrate_bundle *b = 0;
  char *zErr = 0;
  int rc = migrate_bundle_open_blob(migrate_embedded_data,
                                    migrate_embedded_size, &b, &zErr);
  m.bArmed = 0;
  if (rc) {
    runError(r, rc, zErr);
  } else {
    sqlite3_free(zErr);
    r->zResult = describeBundle(b);
  }
  migrate_bundle_free(b);
}

static void scFolder(Run *r) {
  migrate_bundle *b = 0;
  char *zErr = 0;
  int rc = migrate_bundle_open_path(zMigrations, &b, &zErr);
  m.bArmed = 0;
  if (rc) {
    runError(r, rc, zErr);
  } else {
    sqlite3_free(zErr);
    r->zResult = describeBundle(b);
  }
  migrate_bundle_free(b);
}

/* The generated history (see the header comment); built once, unarmed. */
#define NGEN 40
static char *azGenName[NGEN + 3], *azGenText[NGEN + 3];
static size_t anGenText[NGEN + 3];
static int nGen = 0;

static void genHistory(void) {
  int i;
  for (i = 0; i < NGEN + 3; i++) {
    char zRev[16], zRevises[64], zExtra[128] = "";
    if (i < NGEN) {
      snprintf(zRev, sizeof(zRev), "g%02d", i);
      if (i == 0) {
        snprintf(zRevises, sizeof(zRevises), "None");
      } else if (i % 10 == 3) { /* a second child of i-3: branch point */
        snprintf(zRevises, sizeof(zRevises), "g%02d", i - 3);
      } else if (i % 10 == 6) { /* merge the two lines */
        snprintf(zRevises, sizeof(zRevises), "g%02d, g%02d", i - 1, i - 4);
      } else {
        snprintf(zRevises, sizeof(zRevises), "g%02d", i - 1);
      }
      if (i == 1) snprintf(zExtra, sizeof(zExtra), "-- Branch Labels: main\n");
      if (i == 28) snprintf(zExtra, sizeof(zExtra), "-- Depends On: extra\n");
    } else { /* a second base line h00 <- h01 <- h02, label "extra" */
      snprintf(zRev, sizeof(zRev), "h%02d", i - NGEN);
      if (i == NGEN) {
        snprintf(zRevises, sizeof(zRevises), "None");
        snprintf(zExtra, sizeof(zExtra), "-- Branch Labels: extra\n");
      } else {
        snprintf(zRevises, sizeof(zRevises), "h%02d", i - NGEN - 1);
      }
    }
    azGenName[i] = sqlite3_mprintf("%s_step.sql", zRev);
    azGenText[i] = sqlite3_mprintf(
        "-- Step %s\n--\n-- Revision ID: %s\n-- Revises: %s\n%s\n"
        "-- migrate:upgrade\nCREATE TABLE t_%s(x);\n"
        "INSERT INTO t_%s VALUES ('a;b');\n\n"
        "-- migrate:downgrade\nDROP TABLE t_%s;\n",
        zRev, zRev, zRevises, zExtra, zRev, zRev, zRev);
    anGenText[i] = strlen(azGenText[i]);
  }
  nGen = NGEN + 3;
}

static void scGraph(Run *r) {
  static const struct {
    const char *zFrom; /* comma-separated current heads, "" = base */
    const char *zTarget;
    int mode;
  } aPlan[] = {
      {"", "heads", MIGRATE_UPGRADE},
      {"", "g27", MIGRATE_AUTO},
      {"g16", "g39", MIGRATE_AUTO},
      {"g39,h02", "base", MIGRATE_DOWNGRADE},
      {"g25", "-2", MIGRATE_AUTO},
      {"g12", "main@+3", MIGRATE_AUTO},
      {"g30", "extra@head", MIGRATE_AUTO},
      {"", "head", MIGRATE_AUTO},
      {"g10", "g2", MIGRATE_AUTO},
      {"g39,h02", "g05", MIGRATE_STAMP},
  };
  migrate_bundle *b = 0;
  char *zErr = 0;
  sqlite3_str *s = 0;
  int rc, i;
  rc = migBundleFromFiles(nGen, (const char **)azGenName,
                          (const char **)azGenText, anGenText, &b, &zErr);
  if (rc) {
    m.bArmed = 0;
    runError(r, rc, zErr);
    return;
  }
  sqlite3_free(zErr);
  zErr = 0;
  /* plans: the text of each result (or of its error, unarmed) */
  {
    char *azOut[sizeof(aPlan) / sizeof(aPlan[0])][2];
    memset(azOut, 0, sizeof(azOut));
    for (i = 0; i < (int)(sizeof(aPlan) / sizeof(aPlan[0])); i++) {
      int aCur[4], nCur = 0, j, rcP;
      const char *z = aPlan[i].zFrom;
      MigPlan plan;
      int *aRes = 0, nRes = 0;
      while (*z) {
        char zId[16];
        size_t n = strcspn(z, ",");
        snprintf(zId, sizeof(zId), "%.*s", (int)n, z);
        aCur[nCur++] = migrate_bundle_find(b, zId);
        z += n + (z[n] == ',');
      }
      memset(&plan, 0, sizeof(plan));
      rcP =
          migPlan(b, aCur, nCur, aPlan[i].zTarget, aPlan[i].mode, &plan, &zErr);
      if (rcP == SQLITE_OK || !cleanOom(rcP, zErr)) {
        /* an answer: steps, or Alembic's refusal */
        int armed = m.bArmed;
        m.bArmed = 0;
        if (rcP) {
          azOut[i][0] = sqlite3_mprintf("error %d: %s", rcP, zErr);
        } else {
          sqlite3_str *p = sqlite3_str_new(0);
          for (j = 0; j < plan.nStep; j++) {
            sqlite3_str_appendf(p, "%s%s%s", j ? " " : "",
                                plan.aStep[j].isUpgrade ? "+" : "-",
                                b->aRev[plan.aStep[j].iRev].id);
          }
          for (j = 0; j < plan.nStamp; j++) {
            sqlite3_str_appendf(p, " =%s", b->aRev[plan.aStamp[j]].id);
          }
          azOut[i][0] = sqlite3_str_finish(p);
        }
        m.bArmed = armed;
      } else {
        runError(r, rcP, zErr);
        zErr = 0;
      }
      sqlite3_free(zErr);
      zErr = 0;
      migPlanFree(&plan);
      if (r->rc) break;
      rcP = migrate_bundle_resolve(b, aPlan[i].zTarget, aCur, nCur, &aRes,
                                   &nRes, &zErr);
      if (rcP == SQLITE_OK || !cleanOom(rcP, zErr)) {
        int armed = m.bArmed;
        m.bArmed = 0;
        if (rcP) {
          azOut[i][1] = sqlite3_mprintf("error %d: %s", rcP, zErr);
        } else {
          sqlite3_str *p = sqlite3_str_new(0);
          for (j = 0; j < nRes; j++) {
            sqlite3_str_appendf(p, " %s", b->aRev[aRes[j]].id);
          }
          azOut[i][1] = sqlite3_str_finish(p);
        }
        m.bArmed = armed;
      } else {
        runError(r, rcP, zErr);
        zErr = 0;
      }
      sqlite3_free(zErr);
      zErr = 0;
      sqlite3_free(aRes);
      if (r->rc) break;
    }
    m.bArmed = 0;
    if (r->rc == SQLITE_OK) {
      char *zDesc = describeBundle(b);
      s = sqlite3_str_new(0);
      sqlite3_str_appendall(s, zDesc);
      sqlite3_free(zDesc);
      for (i = 0; i < (int)(sizeof(aPlan) / sizeof(aPlan[0])); i++) {
        sqlite3_str_appendf(s, "plan %s -> %s (%d): %s | resolve: %s\n",
                            aPlan[i].zFrom, aPlan[i].zTarget, aPlan[i].mode,
                            azOut[i][0], azOut[i][1]);
      }
      r->zResult = sqlite3_str_finish(s);
    }
    for (i = 0; i < (int)(sizeof(aPlan) / sizeof(aPlan[0])); i++) {
      sqlite3_free(azOut[i][0]);
      sqlite3_free(azOut[i][1]);
    }
  }
  migrate_bundle_free(b);
}

/* Compare the state of db (disarmed) with what the run allows: success at
** zTarget; failure at base, or at 4e92a7c0b6d1 when the target is head and
** the commit before the Transaction: none head happened.  An error reported
** for a database that is at the target is a problem too: the caller is told
** nothing changed when everything did. */
static void checkUpgraded(Run *r, sqlite3 *db, const char *zWhat,
                          const char *zTarget) {
  char *zVer = fl_version(db);
  char *zSig = fl_signature(db);
  const char *zWant = 0;
  int bHead = strcmp(zTarget, HEAD_REV) == 0;
  if (zVer == 0 || zSig == 0) {
    problem(r, "%s: cannot read the database afterwards: %s", zWhat,
            sqlite3_errmsg(db));
  } else if (r->rc == SQLITE_OK) {
    if (strcmp(zVer, zTarget) != 0) {
      problem(r, "%s: migrate_to('%s') succeeded but the version is %s", zWhat,
              zTarget, zVer);
    }
    zWant = bHead ? zSigHead : bAdopting ? zSigAdopted : zSigMid;
  } else if (bAdopting && strcmp(zVer, "base") == 0) {
    zWant = zSigAlembic; /* not adopted: as Alembic left it */
  } else if (strcmp(zVer, "base") == 0) {
    if (r->bCommitted && bHead) {
      problem(r,
              "%s: back at base although the steps before %s were "
              "committed",
              zWhat, HEAD_REV);
    }
    zWant = zSigBase;
  } else if (bHead && r->bCommitted && strcmp(zVer, MID_REV) == 0) {
    /* ext/README.md, "Atomicity": the steps before a Transaction: none revision are
    ** committed first; the head's own step may then fail */
    zWant = zSigMid;
  } else {
    problem(r,
            "%s: migrate_to('%s') returned %d (%s) but the database is "
            "at %s (a commit %s)",
            zWhat, zTarget, r->rc, r->zErr ? r->zErr : "no message", zVer,
            r->bCommitted ? "happened" : "was not seen");
  }
  if (zWant && zSig && strcmp(zSig, zWant) != 0) {
    problem(r,
            "%s: at %s but the schema/data differ from a reference "
            "database at that version",
            zWhat, zVer ? zVer : "?");
  }
  sqlite3_free(zVer);
  sqlite3_free(zSig);
}

static void die(const char *z);

/* zPath as Alembic would leave it at ALEMBIC_REV: the engine's run there,
** with migrate_version renamed alembic_version and its other tables
** dropped. */
static void alembicDb(const char *zPath) {
  sqlite3 *db = 0;
  migrate_bundle *b = 0;
  char *zErr = 0;
  fl_remove_db(zPath);
  if (sqlite3_open(zPath, &db) || migrate_bundle_embedded(&b, &zErr) ||
      migrate_run(db, b, ALEMBIC_REV, 0, 0, &zErr) ||
      sqlite3_exec(db,
                   "DROP TABLE migrate_log; DROP TABLE migrate_scripts; "
                   "ALTER TABLE migrate_version RENAME TO alembic_version",
                   0, 0, &zErr) ||
      sqlite3_close(db)) {
    die(zErr ? zErr : "cannot make the Alembic database");
  }
}

static void upgradeFk(Run *r, const char *zPath, const char *zTarget, int bSql,
                      int bFk) {
  sqlite3 *db = 0;
  migrate_bundle *b = 0;
  char *zErr = 0, *zSql;
  int rc;
  FlCommits commits;
  if (zPath[0] != ':') fl_remove_db(zPath);
  if (bAdopting) alembicDb(zPath);
  if (sqlite3_open(zPath, &db) != SQLITE_OK ||
      migrate_bundle_embedded(&b, &zErr) != SQLITE_OK) {
    fprintf(stderr, "setup: open %s\n", zPath);
    exit(2);
  }
  if (bFk && sqlite3_exec(db, "PRAGMA foreign_keys=ON", 0, 0, 0)) {
    fprintf(stderr, "setup: foreign keys on %s\n", zPath);
    exit(2);
  }
  zSql = sqlite3_mprintf("SELECT migrate_to('%s')", zTarget);
  fl_watch_commits(db, &commits);
  arm(m.k, m.bPersist);
  if (bSql) {
    rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  } else {
    rc = migrate_run(db, b, zTarget, 0, 0, &zErr);
  }
  m.bArmed = 0;
  sqlite3_free(zSql);
  r->bCommitted = fl_commits(&commits) > 0;
  if (rc) {
    runError(r, rc, zErr);
  } else {
    sqlite3_free(zErr);
  }
  if (!sqlite3_get_autocommit(db)) {
    if (m.bPersist) {
      /* With every allocation failing the engine cannot even prepare its
      ** ROLLBACK; the file is still as it was (checked below through a
      ** fresh connection after close, which rolls back).  Noted, and
      ** rolled back here, as a caller would once memory is back. */
      r->bLeftOpen = 1;
      sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    } else if (bSql && r->rc == SQLITE_NOMEM) {
      /* Inside SELECT migrate_to() SQLite keeps its out-of-memory flag
      ** until the outer statement ends, so the engine cannot prepare its
      ** ROLLBACK there (and SQLite reports a plain "out of memory" as the
      ** statement ends).  A COMMIT must then be refused (rolled back), so
      ** half an upgrade can never be committed. */
      if (sqlite3_exec(db, "COMMIT", 0, 0, 0) == SQLITE_OK) {
        problem(r,
                "the connection was left inside the engine's "
                "transaction and a COMMIT went through");
      } else if (!sqlite3_get_autocommit(db)) {
        sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
      }
    } else {
      /* Memory is back after one failure: nothing excuses an open
      ** transaction (a later COMMIT by the caller would commit half an
      ** upgrade). */
      problem(r,
              "the connection was left inside the engine's transaction "
              "(autocommit off after the call returned)");
    }
  }
  if (zPath[0] == ':') {
    checkUpgraded(r, db, "the same connection", zTarget);
  }
  rc = sqlite3_close(db);
  if (rc != SQLITE_OK) {
    problem(r, "sqlite3_close() = %d: a statement was left unfinalized", rc);
    sqlite3_close_v2(db);
  }
  if (zPath[0] != ':') {
    if (sqlite3_open(zPath, &db) != SQLITE_OK) {
      problem(r, "cannot reopen %s", zPath);
    } else {
      checkUpgraded(r, db, "a fresh connection", zTarget);
    }
    sqlite3_close(db);
  }
  if (r->rc == SQLITE_OK) r->zResult = sqlite3_mprintf("at %s", zTarget);
}

/* Upgrade a fresh database at zPath to zTarget and check it. */
static void upgrade(Run *r, const char *zPath, const char *zTarget, int bSql) {
  upgradeFk(r, zPath, zTarget, bSql, 0);
}

static void scUpgradeMemory(Run *r, int bSql) {
  upgrade(r, ":memory:", HEAD_REV, bSql);
}
/* With foreign keys enforced: the foreign-key snapshot, the renames noted
** and the check after the Transaction: none head. */
static void scUpgradeMemoryFk(Run *r, int bSql) {
  upgradeFk(r, ":memory:", HEAD_REV, bSql, 1);
}
static void scUpgradeFile(Run *r, int bSql) {
  upgrade(r, zFileDb, HEAD_REV, bSql);
}
/* From a database Alembic migrated: adopted with the steps, or untouched. */
static void scAdoptFileMid(Run *r, int bSql) {
  bAdopting = 1;
  upgrade(r, zFileDb, MID_REV, bSql);
  bAdopting = 0;
}
/* No Transaction: none revision on the way: strictly all or nothing. */
static void scUpgradeFileMid(Run *r, int bSql) {
  upgrade(r, zFileDb, MID_REV, bSql);
}

/* Every row of zSql on a connection to the database at head. */
static void scan(Run *r, const char *zSql) {
  sqlite3 *db = 0;
  sqlite3_stmt *st = 0;
  sqlite3_str *s;
  int rc, i;
  if (sqlite3_open(zHeadDb, &db) != SQLITE_OK) {
    fprintf(stderr, "setup: open %s\n", zHeadDb);
    exit(2);
  }
  s = sqlite3_str_new(0);
  arm(m.k, m.bPersist);
  rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  if (rc == SQLITE_OK) rc = SQLITE_ROW;
  while (rc == SQLITE_ROW && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    int armed = m.bArmed;
    m.bArmed = 0; /* the copy is the test's, not the engine's */
    for (i = 0; i < sqlite3_column_count(st); i++) {
      const char *z = (const char *)sqlite3_column_text(st, i);
      sqlite3_str_appendf(s, "%s%s", i ? "|" : "", z ? z : "NULL");
    }
    sqlite3_str_appendchar(s, 1, '\n');
    m.bArmed = armed;
  }
  m.bArmed = 0;
  if (rc == SQLITE_DONE) {
    r->zResult = sqlite3_str_finish(s);
  } else {
    runError(r, rc, sqlite3_mprintf("%s", sqlite3_errmsg(db)));
    sqlite3_free(sqlite3_str_finish(s));
  }
  sqlite3_finalize(st);
  if (sqlite3_close(db) != SQLITE_OK) {
    problem(r, "sqlite3_close() failed: a statement was left unfinalized");
    sqlite3_close_v2(db);
  }
}
static void scScanMigrations(Run *r, int bSql) {
  (void)bSql;
  scan(r, "SELECT * FROM migrations");
}
static void scScanHistory(Run *r, int bSql) {
  (void)bSql;
  scan(r, "SELECT * FROM migration_history");
}
static void scDecode2(Run *r, int bSql) {
  (void)bSql;
  arm(m.k, m.bPersist);
  scDecode(r);
}
static void scFolder2(Run *r, int bSql) {
  (void)bSql;
  arm(m.k, m.bPersist);
  scFolder(r);
}
static void scGraph2(Run *r, int bSql) {
  (void)bSql;
  arm(m.k, m.bPersist);
  scGraph(r);
}

/* ======================================================================
** The driver
*/
typedef struct Scenario {
  const char *zName;
  void (*x)(Run *, int bSql);
  int bSqlToo; /* also through the SQL function */
  int eShort;  /* in the short form (transient only there): 0 no, 1 through
               ** migrate_run(), 2 through the SQL function too */
} Scenario;

static int runScenario(const Scenario *sc, int bPersist, int bSql) {
  char zName[160];
  char *zExpect;
  Run r;
  int k, nFired = 0, nNomem = 0, nOk = 0, nMid = 0, bDone = 0, nBad = 0;
  int nOpen = 0;
  char *zFirstBad = 0;
  long nLive0;
  double t0 = fl_now();
  snprintf(zName, sizeof(zName), "oom %s:%s:%s", sc->zName,
           bPersist ? "persistent" : "transient", bSql ? "sql" : "run");
  /* the fault-free result (this also warms up SQLite's one-time state) */
  memset(&r, 0, sizeof(r));
  m.k = 0;
  m.bPersist = 0;
  sc->x(&r, bSql);
  if (r.rc || r.zProblem || r.zResult == 0) {
    fl_fail(zName, "fails without a fault: rc=%d %s %s", r.rc,
            r.zErr ? r.zErr : "", r.zProblem ? r.zProblem : "");
    runReset(&r);
    return 1;
  }
  zExpect = r.zResult;
  r.zResult = 0;
  runReset(&r);
  for (k = 1; k <= K_CAP && !bDone; k++) {
    const char *zBad = 0;
    char *zTmp = 0;
    nLive0 = m.nLive;
    memset(&r, 0, sizeof(r));
    m.k = k;
    m.bPersist = bPersist;
    m.nFired = 0;
    sc->x(&r, bSql);
    m.bArmed = 0;
    if (m.nFired == 0) bDone = 1;
    if (m.nFired) nFired++;
    if (r.zProblem) {
      zBad = r.zProblem;
    } else if (r.rc == SQLITE_OK) {
      nOk++;
      if (r.zResult == 0 || strcmp(r.zResult, zExpect) != 0) {
        zBad = "succeeded with another result than the fault-free run";
      }
    } else if (!cleanOom(r.rc, r.zErr)) {
      zTmp = sqlite3_mprintf("failed with rc=%d (%s), not out of memory: %s",
                             r.rc, sqlite3_errstr(r.rc),
                             r.zErr ? r.zErr : "(no message)");
      zBad = zTmp;
    } else {
      nNomem++;
      if (r.bCommitted) nMid++;
      if (r.bLeftOpen) nOpen++;
    }
    if (zBad == 0) {
      runReset(&r);
      if (m.nLive != nLive0) {
        zTmp = sqlite3_mprintf("%ld allocations not freed", m.nLive - nLive0);
        zBad = zTmp;
      }
    }
    if (zBad) {
      nBad++;
      if (getenv("FAULT_VERBOSE")) {
        printf("# %s k=%d: %s [rc=%d: %s]\n", zName, k, zBad, r.rc,
               r.zErr ? r.zErr : "");
      }
      if (zFirstBad == 0) zFirstBad = sqlite3_mprintf("k=%d: %s", k, zBad);
    }
    sqlite3_free(zTmp);
    runReset(&r);
  }
  if (!bDone) {
    nBad++;
    if (zFirstBad == 0) {
      zFirstBad = sqlite3_mprintf("still failing at k=%d (cap)", K_CAP);
    }
  }
  if (nBad) {
    fl_fail(zName,
            "%d problems over k=1..%d (%d faults fired); first: %s "
            "[%.1fs]",
            nBad, k - 1, nFired, zFirstBad, fl_now() - t0);
  } else {
    char zMid[120] = "", zOpen[160] = "";
    if (nMid) {
      snprintf(zMid, sizeof(zMid),
               " (%d after the commit before the "
               "Transaction: none head)",
               nMid);
    }
    if (nOpen) {
      snprintf(zOpen, sizeof(zOpen),
               "; %d left the engine's transaction "
               "open (its ROLLBACK could not be prepared)",
               nOpen);
    }
    fl_pass(zName,
            "k=1..%d, %d faults fired: %d clean out-of-memory errors%s, %d "
            "runs succeeded with the right result%s; %.1fs",
            k - 1, nFired, nNomem, zMid, nOk, zOpen, fl_now() - t0);
  }
  sqlite3_free(zFirstBad);
  sqlite3_free(zExpect);
  return nBad != 0;
}

static void die(const char *z) {
  fprintf(stderr, "setup: %s\n", z);
  exit(2);
}

/* A database at zTarget, and its signature. */
/* zPath (as it is) moved to zTarget (NULL: not moved), and its signature. */
static char *sigOf(const char *zPath, const char *zTarget) {
  sqlite3 *db = 0;
  migrate_bundle *b = 0;
  char *zErr = 0, *zSig;
  if (sqlite3_open(zPath, &db) || migrate_bundle_embedded(&b, &zErr) ||
      (zTarget && migrate_run(db, b, zTarget, 0, 0, &zErr))) {
    die(zErr ? zErr : sqlite3_errmsg(db));
  }
  zSig = fl_signature(db);
  if (zSig == 0 || sqlite3_close(db)) die("reference signature");
  return zSig;
}

static char *refDb(const char *zPath, const char *zTarget) {
  sqlite3 *db = 0;
  migrate_bundle *b = 0;
  char *zErr = 0, *zSig;
  fl_remove_db(zPath);
  if (sqlite3_open(zPath, &db) || migrate_bundle_embedded(&b, &zErr) ||
      (zTarget && migrate_run(db, b, zTarget, 0, 0, &zErr))) {
    die(zErr ? zErr : sqlite3_errmsg(db));
  }
  zSig = fl_signature(db);
  if (zSig == 0 || sqlite3_close(db)) die("reference signature");
  return zSig;
}

int main(int argc, char **argv) {
  static const Scenario aSc[] = {
      {"decode", scDecode2, 0, 1},
      {"folder", scFolder2, 0, 0},
      {"graph", scGraph2, 0, 1},
      {"upgrade-memory", scUpgradeMemory, 1, 2},
      {"upgrade-memory-fk", scUpgradeMemoryFk, 1, 0},
      {"upgrade-file", scUpgradeFile, 1, 0},
      {"upgrade-file-to-4e92", scUpgradeFileMid, 0, 0},
      {"adopt-file-to-4e92", scAdoptFileMid, 1, 0},
      {"scan-migrations", scScanMigrations, 0, 0},
      {"scan-history", scScanHistory, 0, 0},
  };
  int bShort = 0, i, p, q, rc;
  const char *zOnly = 0;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--short") == 0) {
      bShort = 1;
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      zOnly = argv[++i];
    } else if (strcmp(argv[i], "--migrations") == 0 && i + 1 < argc) {
      snprintf(zMigrations, sizeof(zMigrations), "%s", argv[++i]);
    } else {
      fprintf(stderr,
              "usage: %s [--short] [--only NAME:MODE:ENTRY] "
              "[--migrations DIR]\n",
              argv[0]);
      return 2;
    }
  }
  oomInstall();
  sqlite3_auto_extension((void (*)(void))sqlite3_migrate_init);
  {
    migrate_bundle *b = 0;
    char *zErr = 0;
    if (migrate_bundle_embedded(&b, &zErr)) die(zErr); /* kept for good */
  }
  snprintf(zDir, sizeof(zDir), "%s", fl_tmpdir());
  snprintf(zFileDb, sizeof(zFileDb), "%s/upgrade.db", zDir);
  snprintf(zHeadDb, sizeof(zHeadDb), "%s/head.db", zDir);
  snprintf(zRefMid, sizeof(zRefMid), "%s/mid.db", zDir);
  zSigBase = refDb(zRefMid, 0);
  zSigMid = refDb(zRefMid, MID_REV);
  zSigHead = refDb(zHeadDb, "head");
  alembicDb(zRefMid);
  zSigAlembic = sigOf(zRefMid, 0);
  zSigAdopted = sigOf(zRefMid, MID_REV);
  genHistory();
  printf(
      "# fault_oom: embedded bundle %u bytes, migrations folder %s, "
      "scratch %s\n",
      migrate_embedded_size, zMigrations, zDir);
  rc = 0;
  for (i = 0; i < (int)(sizeof(aSc) / sizeof(aSc[0])); i++) {
    for (p = 0; p <= 1; p++) {
      for (q = 0; q <= aSc[i].bSqlToo; q++) {
        char zName[160];
        snprintf(zName, sizeof(zName), "%s:%s:%s", aSc[i].zName,
                 p ? "persistent" : "transient", q ? "sql" : "run");
        if (zOnly && strcmp(zOnly, zName) != 0) continue;
        if (!zOnly && bShort && (p || aSc[i].eShort <= q)) continue;
        runScenario(&aSc[i], p, q);
      }
    }
  }
  for (i = 0; i < nGen; i++) {
    sqlite3_free(azGenName[i]);
    sqlite3_free(azGenText[i]);
  }
  sqlite3_free(zSigBase);
  sqlite3_free(zSigMid);
  sqlite3_free(zSigHead);
  sqlite3_free(zSigAlembic);
  sqlite3_free(zSigAdopted);
  rc = fl_summary();
  fl_rmdir(zDir);
  return rc;
}
