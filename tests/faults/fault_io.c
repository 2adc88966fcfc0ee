/*
** fault_io.c — I/O errors during an upgrade (issue #5, item 1).
**
**     build/faults/fault_io            every scenario (make test-faults)
**     build/faults/fault_io --short    the short form (make test-faults-short)
**     build/faults/fault_io --only write:IOERR_WRITE:persistent:run:delete
**
** A VFS shim ("faultvfs") wraps the default VFS and forwards every method.
** It counts xRead, xWrite, xSync and xTruncate on every file it opened and,
** once armed, makes the k-th call of the chosen kind fail with the chosen
** code (SQLITE_IOERR_WRITE, SQLITE_FULL, SQLITE_IOERR_FSYNC,
** SQLITE_IOERR_READ, SQLITE_IOERR_TRUNCATE) without touching the file.
** "transient": only that call fails; "persistent": it and every later call
** of that kind fail, as when a disk goes away (then SQLite's own rollback
** fails too and leaves a hot journal behind).
**
** For each scenario and each k = 1, 2, ... until a run completes without
** the fault firing: copy a template database (rollback journal, at
** 1f0c2a7d44e0 = 3 revisions applied, with rows in its tables), open it
** through the shim, run migrate_to('head') — through migrate_run() ("run")
** or through the SQL function registered by sqlite3_auto_extension
** ("sql") — and then check two pictures of the file, each reopened with the
** default VFS so that a hot journal is rolled back or a WAL recovered:
**
**   crash image  the -journal/-wal files copied while the failed connection
**                is still open (what a power cut right after the error
**                would leave, minus unsynced data);
**   closed       the file after sqlite3_close() of the failed connection.
**
** Each must pass PRAGMA integrity_check, hold a version in the allowed set,
** and have exactly the schema and data (signature, faultlib.h) of a
** reference database at that version.  References: the template copied and
** migrated without faults to each version.
**
** The allowed set.  ext/README.md, "Atomicity": one migrate_to() call is all or nothing, with
** one documented exception: a revision marked "Transaction: none" (the head,
** f05c3b8d2e76, PRAGMA journal_mode=WAL) commits the steps before it first.
** So a failure after that commit may legitimately leave the database at the
** revision before it, 4e92a7c0b6d1.  Whether that commit happened is seen
** from outside, by the commit and rollback hooks (fl_watch_commits): the
** first commit of the run is that one.  Allowed:
**   {1f0c2a7d44e0, f05c3b8d2e76}          the engine never reached that COMMIT
**   {1f0c2a7d44e0, 4e92a7c0b6d1, f05c3b8d2e76}
**                                         it ran that COMMIT and SQLite
**                                         reported an error: a fault after
**                                         the commit point (TRUNCATE mode:
**                                         the journal truncated, then the
**                                         fsync fails) leaves it durable
**   {4e92a7c0b6d1, f05c3b8d2e76}          that COMMIT succeeded
** The journal mode must match: "delete" at the old version, "wal" at head;
** at 4e92a7c0b6d1 either (the PRAGMA is not transactional: it may have run
** and the bookkeeping after it failed).
**
** Besides: a run whose fault fired must not report success unless the
** database is at head; an error must carry a message; sqlite3_close() must
** succeed (no statement left unfinalized); the connection must not be left
** inside a transaction; migrate_run() must return SQLITE_IOERR or the
** injected code, and the message must carry SQLite's text for it ("disk I/O
** error", "database or disk is full").  The separate "io sql error code"
** test (full form) asks the same code of SELECT migrate_to().
*/
#include "faultlib.h"
#include "migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OLD_REV  "1f0c2a7d44e0"
#define MID_REV  "4e92a7c0b6d1"
#define HEAD_REV "f05c3b8d2e76"
#define K_CAP    20000

/* ======================================================================
** The shim
*/
enum { OP_READ, OP_WRITE, OP_SYNC, OP_TRUNC, OP_N };
static const char *azOp[OP_N] = {"read", "write", "sync", "trunc"};

static struct {
  sqlite3_vfs *pReal;
  int nCount[OP_N]; /* calls since arming */
  int bArmed;
  int eOp;      /* which kind fails */
  int k;        /* the k-th call of that kind fails ... */
  int bPersist; /* ... and, if set, every later one */
  int errCode;
  int nFired; /* calls that failed */
} g;

typedef struct ShimFile {
  sqlite3_file base;
  sqlite3_file *pReal; /* follows this struct in the same allocation */
} ShimFile;

/* Count a call of kind eOp; returns the error to inject or SQLITE_OK. */
static int shimFault(int eOp) {
  int n;
  if (!g.bArmed || eOp != g.eOp) return SQLITE_OK;
  n = ++g.nCount[eOp];
  if (n == g.k || (g.bPersist && n > g.k)) {
    g.nFired++;
    return g.errCode;
  }
  return SQLITE_OK;
}

#define REAL(f) (((ShimFile *)(f))->pReal)

static int shimClose(sqlite3_file *f) {
  int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
  return rc;
}
static int shimRead(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
  int rc = shimFault(OP_READ);
  return rc ? rc : REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int shimWrite(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
  int rc = shimFault(OP_WRITE);
  return rc ? rc : REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int shimTruncate(sqlite3_file *f, sqlite3_int64 size) {
  int rc = shimFault(OP_TRUNC);
  return rc ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int shimSync(sqlite3_file *f, int flags) {
  int rc = shimFault(OP_SYNC);
  return rc ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int shimFileSize(sqlite3_file *f, sqlite3_int64 *p) {
  return REAL(f)->pMethods->xFileSize(REAL(f), p);
}
static int shimLock(sqlite3_file *f, int e) {
  return REAL(f)->pMethods->xLock(REAL(f), e);
}
static int shimUnlock(sqlite3_file *f, int e) {
  return REAL(f)->pMethods->xUnlock(REAL(f), e);
}
static int shimCheckReservedLock(sqlite3_file *f, int *p) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), p);
}
static int shimFileControl(sqlite3_file *f, int op, void *p) {
  return REAL(f)->pMethods->xFileControl(REAL(f), op, p);
}
static int shimSectorSize(sqlite3_file *f) {
  return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int shimDeviceCharacteristics(sqlite3_file *f) {
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int shimShmMap(sqlite3_file *f, int i, int sz, int b,
                      void volatile **pp) {
  return REAL(f)->pMethods->xShmMap(REAL(f), i, sz, b, pp);
}
static int shimShmLock(sqlite3_file *f, int off, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void shimShmBarrier(sqlite3_file *f) {
  REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int shimShmUnmap(sqlite3_file *f, int del) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int shimFetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
  return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}
static int shimUnfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
  return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/* One method table per iVersion of the real file (1..3). */
static sqlite3_io_methods aShimIo[3];

static int shimOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *f,
                    int flags, int *pOut) {
  ShimFile *p = (ShimFile *)f;
  int rc;
  (void)pVfs;
  p->pReal = (sqlite3_file *)&p[1];
  rc = g.pReal->xOpen(g.pReal, zName, p->pReal, flags, pOut);
  if (p->pReal->pMethods) {
    int v = p->pReal->pMethods->iVersion;
    p->base.pMethods = &aShimIo[(v < 1 ? 1 : v > 3 ? 3 : v) - 1];
  } else {
    p->base.pMethods = 0;
  }
  return rc;
}
static int shimDelete(sqlite3_vfs *v, const char *z, int s) {
  (void)v;
  return g.pReal->xDelete(g.pReal, z, s);
}
static int shimAccess(sqlite3_vfs *v, const char *z, int f, int *p) {
  (void)v;
  return g.pReal->xAccess(g.pReal, z, f, p);
}
static int shimFullPathname(sqlite3_vfs *v, const char *z, int n, char *o) {
  (void)v;
  return g.pReal->xFullPathname(g.pReal, z, n, o);
}
static void *shimDlOpen(sqlite3_vfs *v, const char *z) {
  (void)v;
  return g.pReal->xDlOpen(g.pReal, z);
}
static void shimDlError(sqlite3_vfs *v, int n, char *z) {
  (void)v;
  g.pReal->xDlError(g.pReal, n, z);
}
static void (*shimDlSym(sqlite3_vfs *v, void *p, const char *z))(void) {
  (void)v;
  return g.pReal->xDlSym(g.pReal, p, z);
}
static void shimDlClose(sqlite3_vfs *v, void *p) {
  (void)v;
  g.pReal->xDlClose(g.pReal, p);
}
static int shimRandomness(sqlite3_vfs *v, int n, char *z) {
  (void)v;
  return g.pReal->xRandomness(g.pReal, n, z);
}
static int shimSleep(sqlite3_vfs *v, int n) {
  (void)v;
  return g.pReal->xSleep(g.pReal, n);
}
static int shimCurrentTime(sqlite3_vfs *v, double *p) {
  (void)v;
  return g.pReal->xCurrentTime(g.pReal, p);
}
static int shimGetLastError(sqlite3_vfs *v, int n, char *z) {
  (void)v;
  return g.pReal->xGetLastError ? g.pReal->xGetLastError(g.pReal, n, z) : 0;
}
static int shimCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *p) {
  (void)v;
  return g.pReal->xCurrentTimeInt64(g.pReal, p);
}

static sqlite3_vfs shimVfs;

static void shimRegister(void) {
  int i;
  g.pReal = sqlite3_vfs_find(0);
  for (i = 0; i < 3; i++) {
    sqlite3_io_methods *m = &aShimIo[i];
    m->iVersion = i + 1;
    m->xClose = shimClose;
    m->xRead = shimRead;
    m->xWrite = shimWrite;
    m->xTruncate = shimTruncate;
    m->xSync = shimSync;
    m->xFileSize = shimFileSize;
    m->xLock = shimLock;
    m->xUnlock = shimUnlock;
    m->xCheckReservedLock = shimCheckReservedLock;
    m->xFileControl = shimFileControl;
    m->xSectorSize = shimSectorSize;
    m->xDeviceCharacteristics = shimDeviceCharacteristics;
    if (i >= 1) {
      m->xShmMap = shimShmMap;
      m->xShmLock = shimShmLock;
      m->xShmBarrier = shimShmBarrier;
      m->xShmUnmap = shimShmUnmap;
    }
    if (i >= 2) {
      m->xFetch = shimFetch;
      m->xUnfetch = shimUnfetch;
    }
  }
  shimVfs.iVersion = 2;
  shimVfs.szOsFile = (int)sizeof(ShimFile) + g.pReal->szOsFile;
  shimVfs.mxPathname = g.pReal->mxPathname;
  shimVfs.zName = "faultvfs";
  shimVfs.xOpen = shimOpen;
  shimVfs.xDelete = shimDelete;
  shimVfs.xAccess = shimAccess;
  shimVfs.xFullPathname = shimFullPathname;
  shimVfs.xDlOpen = shimDlOpen;
  shimVfs.xDlError = shimDlError;
  shimVfs.xDlSym = shimDlSym;
  shimVfs.xDlClose = shimDlClose;
  shimVfs.xRandomness = shimRandomness;
  shimVfs.xSleep = shimSleep;
  shimVfs.xCurrentTime = shimCurrentTime;
  shimVfs.xGetLastError = shimGetLastError;
  shimVfs.xCurrentTimeInt64 = shimCurrentTimeInt64;
  if (sqlite3_vfs_register(&shimVfs, 0) != SQLITE_OK) {
    fprintf(stderr, "cannot register the shim VFS\n");
    exit(2);
  }
}

static void arm(int eOp, int k, int bPersist, int errCode) {
  memset(g.nCount, 0, sizeof(g.nCount));
  g.eOp = eOp;
  g.k = k;
  g.bPersist = bPersist;
  g.errCode = errCode;
  g.nFired = 0;
  g.bArmed = 1;
}

/* ======================================================================
** Setup: template and references
*/
static char zDir[4096];
static char zTemplate[4200], zWork[4200], zImage[4200];
static char *zRefSig[3]; /* OLD, MID, HEAD */
static const char *azRefRev[3] = {OLD_REV, MID_REV, HEAD_REV};

static void die(const char *zWhat, sqlite3 *db, char *zErr) {
  fprintf(stderr, "setup: %s: %s\n", zWhat,
          zErr ? zErr
          : db ? sqlite3_errmsg(db)
               : "?");
  exit(2);
}

static void execOrDie(sqlite3 *db, const char *zSql) {
  char *zErr = 0;
  if (sqlite3_exec(db, zSql, 0, 0, &zErr) != SQLITE_OK) die(zSql, db, zErr);
}

static void migrateOrDie(const char *zPath, const char *zTarget) {
  sqlite3 *db = 0;
  migrate_bundle *b = 0;
  char *zErr = 0;
  if (sqlite3_open(zPath, &db)) die("open", db, 0);
  if (migrate_bundle_embedded(&b, &zErr)) die("bundle", 0, zErr);
  if (migrate_run(db, b, zTarget, 0, 0, &zErr)) die(zTarget, 0, zErr);
  if (sqlite3_close(db)) die("close", db, 0);
}

static void setup(void) {
  sqlite3 *db = 0;
  int i;
  snprintf(zDir, sizeof(zDir), "%s", fl_tmpdir());
  snprintf(zTemplate, sizeof(zTemplate), "%s/template.db", zDir);
  snprintf(zWork, sizeof(zWork), "%s/work.db", zDir);
  snprintf(zImage, sizeof(zImage), "%s/image.db", zDir);
  migrateOrDie(zTemplate, OLD_REV);
  /* rows for the data migrations ahead (prompt_search copies prompts) */
  if (sqlite3_open(zTemplate, &db)) die("open", db, 0);
  execOrDie(db,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n "
            "WHERE i < 40) "
            "INSERT INTO contexts(id, name, created_at) "
            "SELECT 'ctx' || i, 'Context ' || i, '2026-01-01' FROM n;"
            "INSERT INTO conversations(id, context_id, title, created_at) "
            "SELECT 'conv' || rowid, id, 'Title', '2026-01-02' FROM contexts;"
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n "
            "WHERE i < 10) "
            "INSERT INTO prompts(id, conversation_id, role, content, tokens, "
            "created_at) SELECT c.id || '-p' || n.i, c.id, 'user', "
            "'Prompt ' || n.i || ' ' || hex(zeroblob(100)), n.i, '2026-01-03' "
            "FROM conversations c, n;");
  if (sqlite3_close(db)) die("close", db, 0);
  for (i = 0; i < 3; i++) {
    FlState st;
    char zRef[4300];
    snprintf(zRef, sizeof(zRef), "%s/ref-%s.db", zDir, azRefRev[i]);
    fl_copy_db(zTemplate, zRef);
    if (i > 0) migrateOrDie(zRef, azRefRev[i]);
    if (fl_db_state(zRef, &st) || strcmp(st.zIntegrity, "ok") != 0 ||
        strcmp(st.zVersion, azRefRev[i]) != 0) {
      die("reference", 0, st.zIntegrity);
    }
    zRefSig[i] = sqlite3_mprintf("%s", st.zSig);
    fl_state_free(&st);
  }
}

/* ======================================================================
** One run
*/
typedef struct Scenario {
  int eOp;
  int errCode;
  const char *zErr; /* name of errCode */
  int bPersist;
  int bSql;      /* through SELECT migrate_to('head') */
  int bTruncate; /* PRAGMA journal_mode=TRUNCATE on the connection (the
                    ** commit truncates the journal; DELETE mode never
                    ** calls xTruncate here) */
} Scenario;

typedef struct Tally {
  int nRun;      /* runs */
  int nFired;    /* runs where the fault fired */
  int nOkAnyway; /* fired, but the call reported success */
  int aState[3]; /* closed file at OLD / MID / HEAD */
  int aImage[3]; /* crash image at OLD / MID / HEAD */
  int nBad;      /* check failures */
  char zFirstBad[2000];
} Tally;

static void bad(Tally *t, const char *zFmt, ...) {
  va_list ap;
  t->nBad++;
  if (t->zFirstBad[0]) return;
  va_start(ap, zFmt);
  vsnprintf(t->zFirstBad, sizeof(t->zFirstBad), zFmt, ap);
  va_end(ap);
}

/* Check one picture of the database; returns the state index or -1. */
static int checkFile(Tally *t, const char *zPath, const char *zWhat, int k,
                     int bCommitted, int bTried, int rcRun) {
  FlState st;
  int i, iState = -1;
  if (fl_db_state(zPath, &st)) {
    bad(t, "k=%d %s: %s", k, zWhat, st.zIntegrity);
    fl_state_free(&st);
    return -1;
  }
  if (strcmp(st.zIntegrity, "ok") != 0) {
    bad(t, "k=%d %s: integrity_check: %s", k, zWhat, st.zIntegrity);
  }
  for (i = 0; i < 3; i++) {
    if (strcmp(st.zVersion, azRefRev[i]) == 0) iState = i;
  }
  if (iState < 0) {
    bad(t, "k=%d %s: version is '%s', not %s, %s or %s", k, zWhat, st.zVersion,
        OLD_REV, MID_REV, HEAD_REV);
  } else {
    if (iState == 1 && !bTried) {
      bad(t,
          "k=%d %s: at %s although the engine never ran the commit "
          "before the Transaction: none revision",
          k, zWhat, MID_REV);
    }
    if (iState == 0 && bCommitted) {
      bad(t,
          "k=%d %s: back at %s although the steps up to %s were "
          "committed",
          k, zWhat, OLD_REV, MID_REV);
    }
    if (rcRun == SQLITE_OK && iState != 2) {
      bad(t,
          "k=%d %s: migrate_to('head') reported success but the "
          "database is at %s",
          k, zWhat, st.zVersion);
    }
    /* An error for a database that ends up at head: the caller is told
    ** the upgrade failed when it happened.  The crash image may show it:
    ** a WAL commit whose frames were written but whose xSync failed is
    ** recovered from the -wal file (SQLite's, not the engine's, doing);
    ** the closed file may not (the connection discards those frames). */
    if (rcRun != SQLITE_OK && iState == 2 && strcmp(zWhat, "closed") == 0) {
      bad(t,
          "k=%d %s: migrate_to('head') reported an error but the "
          "database is at head",
          k, zWhat);
    }
    if (strcmp(st.zSig, zRefSig[iState]) != 0) {
      bad(t,
          "k=%d %s: at %s but the schema/data differ from the reference "
          "database at that version",
          k, zWhat, st.zVersion);
    }
    if ((iState == 0 && strcmp(st.zJournal, "delete") != 0) ||
        (iState == 2 && strcmp(st.zJournal, "wal") != 0)) {
      bad(t, "k=%d %s: at %s with journal_mode=%s", k, zWhat, st.zVersion,
          st.zJournal);
    }
  }
  fl_state_free(&st);
  return iState;
}

/* Run scenario s with the fault at k; returns 1 when the fault did not fire
** (the k-loop is over). */
static int runOnce(const Scenario *s, int k, Tally *t) {
  sqlite3 *db = 0;
  char *zErr = 0;
  int rc, rcClose, nFired, iState, bCommitted, bTried;
  migrate_bundle *b = 0;
  FlCommits commits;

  fl_remove_db(zWork);
  if (fl_copy_db(zTemplate, zWork)) die("copy", 0, 0);
  if (sqlite3_open_v2(zWork, &db, SQLITE_OPEN_READWRITE, "faultvfs")) {
    die("open through the shim", db, 0);
  }
  if (migrate_bundle_embedded(&b, &zErr)) die("bundle", 0, zErr);
  if (s->bTruncate) execOrDie(db, "PRAGMA journal_mode=TRUNCATE");
  fl_watch_commits(db, &commits);
  arm(s->eOp, k, s->bPersist, s->errCode);
  if (s->bSql) {
    rc = sqlite3_exec(db, "SELECT migrate_to('head')", 0, 0, &zErr);
  } else {
    rc = migrate_run(db, b, "head", 0, 0, &zErr);
  }
  g.bArmed = 0;
  nFired = g.nFired;
  bCommitted = fl_commits(&commits) > 0;
  bTried = commits.nAttempted > 0;
  t->nRun++;
  if (nFired) t->nFired++;
  if (rc == SQLITE_OK && nFired) t->nOkAnyway++;
  if (rc != SQLITE_OK) {
    int ePrim = rc & 0xff;
    /* The SQL function reports SQLITE_ERROR with SQLite's message for an
    ** I/O error (func.c passes only some codes on; see the separate
    ** "io sql error code" test), so the code is checked on the C path and
    ** the message on both. */
    if (nFired == 0) {
      bad(t, "k=%d: failed without a fault: rc=%d %s", k, rc,
          zErr ? zErr : "(no message)");
    } else if (!s->bSql && ePrim != (s->errCode & 0xff) &&
               ePrim != SQLITE_IOERR) {
      bad(t, "k=%d: injected %s but got rc=%d (%s): %s", k, s->zErr, rc,
          sqlite3_errstr(rc), zErr ? zErr : "(no message)");
    } else if (zErr == 0 || (strstr(zErr, sqlite3_errstr(s->errCode)) == 0 &&
                             strstr(zErr, "disk I/O error") == 0)) {
      bad(t, "k=%d: injected %s but the message does not say so: %s", k,
          s->zErr, zErr ? zErr : "(no message)");
    }
  }
  sqlite3_free(zErr);
  if (!sqlite3_get_autocommit(db)) {
    bad(t, "k=%d: the connection was left inside a transaction", k);
  }
  /* what a crash now would leave */
  if (nFired) {
    if (fl_copy_db(zWork, zImage)) die("copy", 0, 0);
    iState = checkFile(t, zImage, "crash image", k, bCommitted, bTried, rc);
    if (iState >= 0) t->aImage[iState]++;
  }
  rcClose = sqlite3_close(db);
  if (rcClose != SQLITE_OK) {
    bad(t,
        "k=%d: sqlite3_close() = %d (%s): a statement was left "
        "unfinalized",
        k, rcClose, sqlite3_errmsg(db));
    sqlite3_close_v2(db);
  }
  iState = checkFile(t, zWork, "closed", k, bCommitted, bTried, rc);
  if (iState >= 0) t->aState[iState]++;
  return nFired == 0;
}

static const char *scenarioName(const Scenario *s) {
  static char z[200];
  snprintf(z, sizeof(z), "%s:%s:%s:%s:%s", azOp[s->eOp], s->zErr,
           s->bPersist ? "persistent" : "transient", s->bSql ? "sql" : "run",
           s->bTruncate ? "truncate" : "delete");
  return z;
}

/* The SQL function's error code for an injected SQLITE_FULL / IOERR: it
** should be the injected one (as migrate_run() returns), not SQLITE_ERROR.
** A caller of sqlite3_exec() or sqlite3_step() cannot tell "disk full"
** from a bad target otherwise. */
static void sqlErrorCodeTest(void) {
  static const int aCode[] = {SQLITE_FULL, SQLITE_IOERR_WRITE};
  char zGot[400] = "";
  int i, nBad = 0;
  for (i = 0; i < 2; i++) {
    sqlite3 *db = 0;
    char *zErr = 0;
    int rc;
    fl_remove_db(zWork);
    if (fl_copy_db(zTemplate, zWork)) die("copy", 0, 0);
    if (sqlite3_open_v2(zWork, &db, SQLITE_OPEN_READWRITE, "faultvfs")) {
      die("open through the shim", db, 0);
    }
    arm(OP_WRITE, 1, 1, aCode[i]);
    rc = sqlite3_exec(db, "SELECT migrate_to('head')", 0, 0, &zErr);
    g.bArmed = 0;
    if ((rc & 0xff) != (aCode[i] & 0xff)) {
      nBad++;
      snprintf(zGot + strlen(zGot), sizeof(zGot) - strlen(zGot),
               "%sinjected %s, sqlite3_exec() returned %d (%s)",
               nBad > 1 ? "; " : "", sqlite3_errstr(aCode[i]), rc,
               sqlite3_errstr(rc));
    }
    sqlite3_free(zErr);
    sqlite3_close(db);
  }
  if (nBad) {
    fl_fail("io sql error code", "%s", zGot);
  } else {
    fl_pass("io sql error code",
            "SQLITE_FULL and SQLITE_IOERR reach the "
            "caller of SELECT migrate_to()");
  }
}

static void runScenario(const Scenario *s) {
  char zName[200];
  Tally t;
  int k, bDone = 0;
  double t0 = fl_now();
  memset(&t, 0, sizeof(t));
  snprintf(zName, sizeof(zName), "io %s", scenarioName(s));
  for (k = 1; k <= K_CAP && !bDone; k++) bDone = runOnce(s, k, &t);
  if (!bDone) bad(&t, "the upgrade never got past the fault (cap %d)", K_CAP);
  if (t.nBad) {
    fl_fail(zName,
            "%d problems over k=1..%d (%d faults fired); first: %s "
            "[%.1fs]",
            t.nBad, k - 1, t.nFired, t.zFirstBad, fl_now() - t0);
  } else {
    fl_pass(zName,
            "k=1..%d, %d faults fired (%d still reported success); closed: "
            "old %d, %s %d, head %d; crash image: old %d, %s %d, head %d; "
            "%.1fs",
            k - 1, t.nFired, t.nOkAnyway, t.aState[0], MID_REV, t.aState[1],
            t.aState[2], t.aImage[0], MID_REV, t.aImage[1], t.aImage[2],
            fl_now() - t0);
  }
}

int main(int argc, char **argv) {
  static const struct {
    int eOp, errCode;
    const char *zErr;
  } aKind[] = {
      {OP_WRITE, SQLITE_IOERR_WRITE, "IOERR_WRITE"},
      {OP_WRITE, SQLITE_FULL, "FULL"},
      {OP_SYNC, SQLITE_IOERR_FSYNC, "IOERR_FSYNC"},
      {OP_READ, SQLITE_IOERR_READ, "IOERR_READ"},
      {OP_TRUNC, SQLITE_IOERR_TRUNCATE, "IOERR_TRUNCATE"},
  };
  int bShort = 0, i, j, p, q, rc;
  const char *zOnly = 0;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--short") == 0) {
      bShort = 1;
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      zOnly = argv[++i];
    } else {
      fprintf(stderr,
              "usage: %s [--short] [--only op:ERR:mode:entry:journal]\n",
              argv[0]);
      return 2;
    }
  }
  sqlite3_auto_extension((void (*)(void))sqlite3_migrate_init);
  shimRegister();
  setup();
  printf(
      "# fault_io: template at %s (rollback journal), target head %s; "
      "scratch %s\n",
      OLD_REV, HEAD_REV, zDir);
  for (i = 0; i < (int)(sizeof(aKind) / sizeof(aKind[0])); i++) {
    for (p = 1; p >= 0; p--) {     /* persistent, transient */
      for (q = 0; q <= 1; q++) {   /* migrate_run, SQL function */
        for (j = 0; j <= 1; j++) { /* DELETE, TRUNCATE journal */
          Scenario s = {aKind[i].eOp, aKind[i].errCode, aKind[i].zErr, p, q, j};
          if (zOnly && strcmp(zOnly, scenarioName(&s)) != 0) continue;
          /* the short form: each kind once, persistent, migrate_run, in
          ** the journal mode where it happens; plus one through SQL */
          if (!zOnly && bShort &&
              !(p && !q && j == (aKind[i].eOp == OP_TRUNC)) &&
              !(i == 0 && !p && q && !j)) {
            continue;
          }
          runScenario(&s);
        }
      }
    }
  }
  if (!zOnly && !bShort) sqlErrorCodeTest();
  for (i = 0; i < 3; i++) sqlite3_free(zRefSig[i]);
  rc = fl_summary();
  sqlite3_shutdown();
  fl_rmdir(zDir);
  return rc;
}
