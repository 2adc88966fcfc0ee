/*
** apply.c — running a plan: migrate_to(), migrate_stamp() and
** migrate_sql(), through the C API migrate_run() and migrate_sql_script().
**
**     migrate_run(db, bundle, "head", &opts, &zVersion, &zErr);
**     migrate_sql_script(db, bundle, 0, "head", MIGRATE_AUTO, &zSql, &zErr);
**
** It writes the bookkeeping tables bookkeeping.c defines and reads
** (migrate_version, migrate_log, migrate_scripts) inside the write frame of
** txn.c.
**
** How it works.  Before anything changes, the call refuses if another
** statement on the connection is active (sqlite3_next_stmt/stmt_busy; the
** caller's own SELECT is allowed) or, in autocommit mode, if the calling
** statement holds a read transaction (SELECT migrate_to(...) FROM t), since
** DROP TABLE would then fail half-way.  In autocommit mode it takes the
** write lock with BEGIN IMMEDIATE (so the busy timeout applies) and reads
** the version only then, so two processes never apply a revision twice;
** inside the caller's transaction it works in SAVEPOINT migrate.  Then it
** plans the move and checks every step (scripts loaded, downgrades present,
** applied checksums unchanged), runs the steps, writes the bookkeeping,
** checks foreign keys and commits.  Any failure rolls back to where the
** call started; if SQLite itself rolled back the caller's whole transaction
** (RAISE(ROLLBACK), SQLITE_FULL, ...) the error says so.  A revision marked
** "Transaction: none" commits the steps before it and runs outside a
** transaction.
**
** Online and offline (migrate_sql) share one run: each action goes through
** an Emitter that either executes it, binding values, or renders it as SQL
** text with quoted literals; the emit* functions hold every difference.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bookkeeping statements; values are bound online, rendered offline.  The
** %s is the schema: "main." online, so that a TEMP table of the same name
** cannot take the write; "" in an offline script (see bkSchema). */
enum { BK_DEL_VER, BK_INS_VER, BK_LOG, BK_SAVE_SCRIPT, BK_DEL_SCRIPT, BK_N };
static const char *azBkSql[BK_N] = {
    "DELETE FROM %smigrate_version WHERE version_num = ?",
    "INSERT INTO %smigrate_version(version_num) VALUES (?)",
    "INSERT INTO %smigrate_log(revision, direction, version_before, "
    "version_after, checksum, started_at, duration_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "INSERT OR REPLACE INTO %smigrate_scripts(revision, file, parents, "
    "depends_on, message, checksum, downgrade_sql, transaction_none) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "DELETE FROM %smigrate_scripts WHERE revision = ?",
};

/* The schema prefix of the engine's own statements: online every one names
** main (TEMP objects shadow unqualified names); an offline script keeps the
** plain names its readers know. */
static const char *bkSchema(int bOffline) {
  return bOffline ? "" : "main.";
}

/* A value for a bookkeeping statement. */
typedef struct BkArg {
  enum { A_NULL, A_TEXT, A_INT, A_REAL, A_NOW } e;
  const char *z;
  double r;
  long long i;
} BkArg;

#define T(x) \
  { A_TEXT, (x), 0, 0 }
#define TN(x) \
  { (x) ? A_TEXT : A_NULL, (x), 0, 0 }

/* ======================================================================
** Emitter
*/
typedef struct Emitter {
  sqlite3 *db;
  int bOffline;
  MigStr out;                /* offline script */
  sqlite3_stmt *aStmt[BK_N]; /* online, prepared lazily */
  char zNow[80];             /* online: start time of the current step */
  MigTxn txn;                /* online: the write frame */
  int bSavepoint;            /* online: inside SAVEPOINT migrate */
  char *zFkBefore;           /* online: foreign_key_check rows before */
  MigStr renames;            /* online, zFkBefore set: the tables the
                             ** scripts renamed (migFkNoteRename) */
  const char *zBkFailed;     /* online: the bookkeeping table whose write
                             ** failed, for the message */
} Emitter;

static void emitterClose(Emitter *e) {
  int i;
  for (i = 0; i < BK_N; i++) sqlite3_finalize(e->aStmt[i]);
  memset(e->aStmt, 0, sizeof(e->aStmt));
  migStrReset(&e->out);
}

/* Run a bookkeeping statement (online) or append it as text (offline). */
static int emitBk(Emitter *e, int eStmt, const BkArg *aArg, int nArg,
                  char **pzErr) {
  int i, rc;
  if (e->bOffline) {
    char *zSql = sqlite3_mprintf(azBkSql[eStmt], bkSchema(1));
    const char *z = zSql;
    int k = 0;
    if (zSql == 0) return SQLITE_NOMEM;
    for (; *z; z++) {
      if (*z != '?') {
        migStrAppend(&e->out, z, 1);
        continue;
      }
      switch (aArg[k].e) {
        case A_NULL:
          migStrAppendZ(&e->out, "NULL");
          break;
        case A_TEXT:
          migStrAppendf(&e->out, "%Q", aArg[k].z);
          break;
        case A_INT:
          migStrAppendf(&e->out, "%lld", aArg[k].i);
          break;
        case A_REAL:
          migStrAppendf(&e->out, "%.3f", aArg[k].r);
          break;
        default:
          migStrAppendZ(&e->out, "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
          break;
      }
      k++;
    }
    sqlite3_free(zSql);
    migStrAppendZ(&e->out, ";\n");
    return e->out.rc;
  }
  if (e->aStmt[eStmt] == 0) {
    char *zSql = sqlite3_mprintf(azBkSql[eStmt], bkSchema(0));
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v2(e->db, zSql, -1, &e->aStmt[eStmt], 0);
    sqlite3_free(zSql);
    if (rc) {
      return migSetError(pzErr, rc, "cannot prepare bookkeeping statement: %s",
                         sqlite3_errmsg(e->db));
    }
  }
  {
    sqlite3_stmt *st = e->aStmt[eStmt];
    rc = SQLITE_OK;
    for (i = 0; i < nArg && rc == SQLITE_OK; i++) {
      switch (aArg[i].e) {
        case A_NULL:
          rc = sqlite3_bind_null(st, i + 1);
          break;
        case A_TEXT:
          /* static: the value outlives the step; every parameter is bound
          ** again before the next one */
          rc = sqlite3_bind_text(st, i + 1, aArg[i].z, -1, SQLITE_STATIC);
          break;
        case A_INT:
          rc = sqlite3_bind_int64(st, i + 1, aArg[i].i);
          break;
        case A_REAL:
          rc = sqlite3_bind_double(st, i + 1, aArg[i].r);
          break;
        default:
          rc = sqlite3_bind_text(st, i + 1, e->zNow, -1, SQLITE_STATIC);
          break;
      }
    }
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(st);
      rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    if (rc || (eStmt != BK_DEL_VER && eStmt != BK_DEL_SCRIPT &&
               sqlite3_changes(e->db) == 0)) {
      e->zBkFailed = eStmt == BK_LOG       ? "migrate_log"
                     : eStmt <= BK_INS_VER ? "migrate_version"
                                           : "migrate_scripts";
    }
    if (rc) {
      migSetError(pzErr, rc, "cannot update %s: %s", e->zBkFailed,
                  sqlite3_errmsg(e->db));
    } else if (e->zBkFailed) {
      /* an INSERT that wrote no row: a trigger's RAISE(IGNORE) */
      rc = migSetError(pzErr, SQLITE_CONSTRAINT,
                       "cannot update %s: a trigger skipped the engine's "
                       "write (RAISE(IGNORE))",
                       e->zBkFailed);
    }
    sqlite3_reset(st);
    return rc;
  }
}

/* Execute (or append) plain SQL owned by the engine: BEGIN, COMMIT, DDL. */
static int emitExec(Emitter *e, const char *zSql, char **pzErr) {
  int rc;
  char *zMsg = 0;
  if (e->bOffline) {
    migStrAppendZ(&e->out, zSql);
    if (zSql[0] && zSql[strlen(zSql) - 1] != '\n')
      migStrAppendZ(&e->out, ";\n");
    return e->out.rc;
  }
  rc = sqlite3_exec(e->db, zSql, 0, 0, &zMsg);
  if (rc) {
    migSetError(pzErr, rc, "%s", zMsg ? zMsg : sqlite3_errstr(rc));
  }
  sqlite3_free(zMsg);
  return rc;
}

/* A one-line excerpt of the statement at z for error messages. */
static char *stmtExcerpt(const char *z) {
  MigStr s = {0};
  int bSpace = 0;
  size_t n = 0;
  while (*z == ' ' || *z == '\t' || *z == '\n') z++;
  for (; *z && n < 120; z++) {
    if (*z == ' ' || *z == '\t' || *z == '\n') {
      bSpace = 1;
      continue;
    }
    if (bSpace && n) {
      migStrAppend(&s, " ", 1);
      n++;
    }
    bSpace = 0;
    migStrAppend(&s, z, 1);
    n++;
    if (*z == ';') break;
  }
  if (n >= 120) migStrAppendZ(&s, "...");
  return migStrFinish(&s);
}

/* Does the statement at z (blanks and comments first) start with PRAGMA? */
static int isPragma(const char *z) {
  z += migSqlSkipSpace(z, 0);
  return sqlite3_strnicmp(z, "PRAGMA", 6) == 0;
}

/* Run one section of a revision.  On failure *pzErr says which statement
** (file:line) and SQLite's message; the caller adds the revision. */
static int emitSection(Emitter *e, const migrate_revision *r, int bUp,
                       char **pzErr) {
  const char *zBody = bUp ? r->upgrade : r->downgrade;
  int iLine0 = bUp ? r->upgrade_line : r->downgrade_line;
  const char *z = zBody;
  int rc = SQLITE_OK;
  if (e->bOffline) {
    migStrAppendZ(&e->out, zBody);
    if (zBody[0] && zBody[strlen(zBody) - 1] != '\n') {
      migStrAppendZ(&e->out, "\n");
    }
    return e->out.rc;
  }
  while (*z) {
    sqlite3_stmt *st = 0;
    const char *zTail = 0;
    rc = sqlite3_prepare_v2(e->db, z, -1, &st, &zTail);
    if (rc == SQLITE_OK && st && isPragma(z) &&
        (sqlite3_strlike("%recursive_triggers%", sqlite3_sql(st), 0) == 0 ||
         sqlite3_strlike("%defer_foreign_keys%", sqlite3_sql(st), 0) == 0)) {
      e->txn.bPragma = 1; /* settings to check when the call ends */
    }
    if (rc == SQLITE_OK && st) {
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      }
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
      if (rc == SQLITE_OK && e->zFkBefore) {
        migFkNoteRename(&e->renames, sqlite3_sql(st));
      }
    }
    if (rc) {
      /* the statement's first line: after blanks and comments */
      const char *p = z + migSqlSkipSpace(z, 0);
      int iLine = iLine0 + migSqlLines(zBody, (size_t)(p - zBody));
      char *zEx;
      zEx = stmtExcerpt(p);
      migSetError(pzErr, rc, "%s:%d: %s [statement: %s]", r->file, iLine,
                  sqlite3_errmsg(e->db), zEx ? zEx : "?");
      sqlite3_free(zEx);
      sqlite3_finalize(st);
      return rc;
    }
    sqlite3_finalize(st);
    if (zTail == 0 || zTail == z) break;
    z = zTail;
  }
  return SQLITE_OK;
}

/* ======================================================================
** The run
*/

/* A bookkeeping row waiting for the next commit point.  Queuing them keeps
** per-step overhead off the hot path: after every DDL statement SQLite
** would re-prepare each bookkeeping statement, so they are written in one
** batch before COMMIT/RELEASE, inside the same transaction. */
typedef struct BkOp {
  int eStmt;        /* BK_LOG, BK_SAVE_SCRIPT or BK_DEL_SCRIPT */
  int iRev;         /* the revision, or -1 (stamp to base) */
  const char *zDir; /* BK_LOG: direction */
  char *zBefore;    /* BK_LOG: owned */
  char *zAfter;     /* BK_LOG: owned */
  int bSum;         /* BK_LOG: record the revision's checksum */
  double ms;        /* BK_LOG: duration, < 0 for NULL */
  char zNow[32];    /* BK_LOG: start time */
} BkOp;

typedef struct Run {
  /* the call */
  migrate_bundle *b; /* the bundle, or pAug */
  const char *zFrom; /* offline: the starting heads (NULL: read db) */
  const char *zTarget;
  const migrate_options *opt;
  char **pzOut; /* the new version, or the offline script */
  char **pzErr;
  Emitter e;
  /* where from, where to */
  int *aCur, nCur;      /* starting heads */
  migrate_bundle *pAug; /* b plus the revisions the database stores */
  char *zUnknownBefore; /* stamp over heads nobody knows: the old rows */
  MigAdopt adopt;       /* alembic_version: adopt it, keep it in step */
  int bSyncAlembic;     /* flush makes alembic_version follow (adopt.c) */
  MigPlan plan;
  /* heads and the bookkeeping queue */
  MigBits *aApplied;
  MigBits *aHead;
  MigBits *aHeadFlushed; /* heads as migrate_version holds them */
  BkOp *aOp;             /* queued bookkeeping */
  int nOp, nOpAlloc;
  int bClearVersion; /* flush empties migrate_version first */
  char *zBefore;     /* heads before the current step */
  /* progress */
  int bCommitted; /* steps were committed (Transaction: none) */
  int iStep;      /* the plan step under way */
  int nKept;      /* plan steps [0, nKept) are committed */
  char *zKeptVer; /* the version committed with them (NULL: base) */
  int iOutside;   /* a Transaction: none revision ran outside a
                         ** transaction and is not recorded yet, or -1 */
  int bToldKept;  /* *pzErr says what stays (keptNote) */
  int bLocked;    /* this run holds migrate_lock */
  unsigned mBk;   /* the engine's tables main holds (MIG_BK_*) */
  int bDone;      /* the last step committed the run */
  time_t tSec;    /* nowIso(): the second zSec holds */
  char zSec[24];  /* nowIso(): "YYYY-MM-DDTHH:MM:SS" of tSec */
} Run;

static int cmpStr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The heads as "a,b" sorted by id; NULL at base. *pRc on OOM. */
static char *headString(Run *p, int *pRc) {
  migrate_bundle *b = p->b;
  const char **az = 0;
  int n = 0, i;
  MigStr s = {0};
  size_t w;
  for (w = 0; w < MIG_BITS_WORDS(b->nRev); w++) {
    MigBits x = p->aHead[w];
    while (x) {
      n++;
      x &= x - 1;
    }
  }
  if (n == 0) return 0;
  az = sqlite3_malloc64(sizeof(char *) * (size_t)n);
  if (az == 0) {
    *pRc = SQLITE_NOMEM;
    return 0;
  }
  n = 0;
  for (i = 0; i < b->nRev; i++) {
    if (MIG_BIT_TEST(p->aHead, i)) az[n++] = b->aRev[i].id;
  }
  if (n > 1) qsort(az, (size_t)n, sizeof(char *), cmpStr);
  migStrJoin(&s, az, n, ",");
  sqlite3_free(az);
  {
    char *z = migStrFinish(&s);
    if (z == 0) *pRc = SQLITE_NOMEM;
    return z;
  }
}

/* Current UTC time as ISO-8601 with milliseconds into z (32 bytes or
** more).  *pSec/zSec remember the last second formatted, so steps within
** one second format only the milliseconds. */
static void nowIso(char *z, size_t n, time_t *pSec, char *zSec) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (zSec[0] == 0 || ts.tv_sec != *pSec) {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    if (strftime(zSec, 24, "%Y-%m-%dT%H:%M:%S", &tm) == 0) zSec[0] = 0;
    *pSec = ts.tv_sec;
  }
  snprintf(z, n, "%s.%03dZ", zSec, (int)(ts.tv_nsec / 1000000));
}

static double monoMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Mark revision i as a head or not; migrate_version follows at the next
** flush. */
static int setHead(Run *p, int i, int bOn) {
  if (bOn) {
    MIG_BIT_SET(p->aHead, i);
  } else {
    MIG_BIT_CLEAR(p->aHead, i);
  }
  return SQLITE_OK;
}

/* Append an operation to the queue; returns it (zeroed) or NULL on OOM. */
static BkOp *queueOp(Run *p, int eStmt, int iRev) {
  BkOp *op;
  if (p->nOp >= p->nOpAlloc) {
    int nNew = p->nOpAlloc ? p->nOpAlloc * 2 : 64;
    BkOp *aNew = sqlite3_realloc64(p->aOp, sizeof(BkOp) * (size_t)nNew);
    if (aNew == 0) return 0;
    p->aOp = aNew;
    p->nOpAlloc = nNew;
  }
  op = &p->aOp[p->nOp++];
  memset(op, 0, sizeof(*op));
  op->eStmt = eStmt;
  op->iRev = iRev;
  return op;
}

static void freeOps(Run *p) {
  int i;
  for (i = 0; i < p->nOp; i++) {
    sqlite3_free(p->aOp[i].zBefore);
    sqlite3_free(p->aOp[i].zAfter);
  }
  p->nOp = 0;
}

/* Write revision i's stored copy (parents, downgrade) to migrate_scripts. */
static int emitSaveScript(Run *p, int i) {
  const migrate_revision *r = &p->b->aRev[i];
  char zSum[MIG_CHECKSUM_BUF];
  char *zPar = migJoin(r->parents, r->nparent, ",");
  char *zDep = migJoin(r->depends, r->ndepend, ",");
  int rc;
  migChecksumText(r->checksum, zSum);
  if (zPar == 0 || zDep == 0) {
    rc = SQLITE_NOMEM;
  } else {
    BkArg a[8] = {T(r->id),         T(r->file),
                  T(zPar),          T(zDep),
                  T(r->message),    T(zSum),
                  TN(r->downgrade), {A_INT, 0, 0, r->no_transaction}};
    rc = emitBk(&p->e, BK_SAVE_SCRIPT, a, 8, p->pzErr);
  }
  sqlite3_free(zPar);
  sqlite3_free(zDep);
  return rc;
}

static int saveScript(Run *p, int i) {
  return queueOp(p, BK_SAVE_SCRIPT, i) ? SQLITE_OK : SQLITE_NOMEM;
}

/* Run (or append) adopt.c's statements: MIG_ADOPT_COPY or _SYNC. */
static int emitAdoptSql(Run *p, int eWhich) {
  char *zSql = migAdoptSql(eWhich, p->e.bOffline);
  int rc = zSql ? emitExec(&p->e, zSql, p->pzErr) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  return rc;
}

/* Write the queued bookkeeping and bring migrate_version up to date. */
static int flushBkRun(Run *p) {
  migrate_bundle *b = p->b;
  int i, rc = SQLITE_OK;
  for (i = 0; i < p->nOp && rc == SQLITE_OK; i++) {
    BkOp *op = &p->aOp[i];
    if (op->eStmt == BK_SAVE_SCRIPT) {
      rc = emitSaveScript(p, op->iRev);
    } else if (op->eStmt == BK_DEL_SCRIPT) {
      BkArg a[1] = {T(b->aRev[op->iRev].id)};
      rc = emitBk(&p->e, BK_DEL_SCRIPT, a, 1, p->pzErr);
    } else {
      const migrate_revision *r = op->iRev >= 0 ? &b->aRev[op->iRev] : 0;
      char zSum[MIG_CHECKSUM_BUF];
      BkArg a[7] = {TN(r ? r->id : 0),     T(op->zDir),       TN(op->zBefore),
                    TN(op->zAfter),        {A_NULL, 0, 0, 0}, {A_NOW, 0, 0, 0},
                    {A_REAL, 0, op->ms, 0}};
      if (r && op->bSum) {
        migChecksumText(r->checksum, zSum);
        a[4].e = A_TEXT;
        a[4].z = zSum;
      }
      if (op->ms < 0) a[6].e = A_NULL;
      memcpy(p->e.zNow, op->zNow, sizeof(op->zNow));
      rc = emitBk(&p->e, BK_LOG, a, 7, p->pzErr);
    }
  }
  freeOps(p);
  if (rc == SQLITE_OK && p->bClearVersion) {
    rc = emitExec(&p->e,
                  p->e.bOffline ? "DELETE FROM migrate_version;\n"
                                : "DELETE FROM main.migrate_version",
                  p->pzErr);
    if (rc) {
      p->e.zBkFailed = "migrate_version";
      migErrPrefix(p->pzErr, "cannot update migrate_version: ");
    }
    p->bClearVersion = 0;
  }
  /* migrate_version: rows that are no longer heads, then new heads */
  for (i = 0; i < b->nRev && rc == SQLITE_OK; i++) {
    if (MIG_BIT_TEST(p->aHeadFlushed, i) && !MIG_BIT_TEST(p->aHead, i)) {
      BkArg a[1] = {T(b->aRev[i].id)};
      rc = emitBk(&p->e, BK_DEL_VER, a, 1, p->pzErr);
    }
  }
  for (i = 0; i < b->nRev && rc == SQLITE_OK; i++) {
    if (!MIG_BIT_TEST(p->aHeadFlushed, i) && MIG_BIT_TEST(p->aHead, i)) {
      BkArg a[1] = {T(b->aRev[i].id)};
      rc = emitBk(&p->e, BK_INS_VER, a, 1, p->pzErr);
    }
  }
  if (rc == SQLITE_OK) {
    memcpy(p->aHeadFlushed, p->aHead,
           MIG_BITS_WORDS(b->nRev ? b->nRev : 1) * sizeof(MigBits));
  }
  if (rc == SQLITE_OK && p->bSyncAlembic) rc = emitAdoptSql(p, MIG_ADOPT_SYNC);
  return rc;
}

static char *keptNote(Run *p, int bHere, int bTodo);

/* A bookkeeping write failed: the message starts with the call, says what
** stays (nothing, or the steps a Transaction: none revision committed) and
** ends with what to do.  A trigger or constraint of the user's on the
** engine's table is the usual cause (RAISE(ABORT) in a trigger). */
static void bkFail(Run *p, int rc) {
  const char *zTab = p->e.zBkFailed ? p->e.zBkFailed : "migrate_version";
  char *zKept =
      p->bCommitted ? keptNote(p, 0, (rc & 0xff) != SQLITE_CONSTRAINT) : 0;
  migErrPrefix(p->pzErr, "%s('%s'): ", p->opt->zFunc, p->zTarget);
  if (p->e.bSavepoint && migTxnLost(&p->e.txn)) {
    /* RAISE(ROLLBACK): nothing left to roll back */
    p->e.bSavepoint = 0;
    p->e.txn.bOpen = 0;
    migErrSuffix(p->pzErr,
                 "; SQLite rolled back the caller's whole transaction, so "
                 "everything since its BEGIN is undone");
  } else if (p->bCommitted) {
    migErrSuffix(p->pzErr, "; ");
    migErrSuffix(p->pzErr, zKept ? zKept : "?");
  } else {
    migErrSuffix(p->pzErr, ". Nothing was changed");
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    char *z = sqlite3_mprintf(
        "; a trigger or constraint on %s refused the engine's write: drop "
        "or change it (SELECT name, sql FROM sqlite_master WHERE tbl_name = "
        "'%s' lists them) and call again",
        zTab, zTab);
    migErrSuffix(p->pzErr, z ? z : "");
    sqlite3_free(z);
  } else {
    migErrSuffix(p->pzErr, "; fix what SQLite names and call again");
  }
  sqlite3_free(zKept);
}

/* flushBkRun(), and online a failure's message made whole (bkFail). */
static int flushBk(Run *p) {
  int rc = flushBkRun(p);
  if (rc && rc != SQLITE_NOMEM && !p->e.bOffline) bkFail(p, rc);
  return rc;
}

/* Bookkeeping after revision i was upgraded (bUp) or downgraded.  The
** version rows follow Alembic's HeadMaintainer (migHeadsStep in graph.c). */
static int recordStep(Run *p, int i, int bUp) {
  int rc;
  if (bUp) {
    MIG_BIT_SET(p->aApplied, i);
  } else {
    MIG_BIT_CLEAR(p->aApplied, i);
  }
  rc = migHeadsStep(p->b, p->aHead, i, bUp, p->pzErr);
  if (rc == SQLITE_OK) {
    rc = bUp ? saveScript(p, i)
             : (queueOp(p, BK_DEL_SCRIPT, i) ? SQLITE_OK : SQLITE_NOMEM);
  }
  return rc;
}

/* Queue the log row for a step (revision iRev, -1 for a stamp to base).
** Copies zBefore and zAfter. */
static int logStep(Run *p, int iRev, const char *zDir, const char *zBefore,
                   const char *zAfter, int bSum, double ms) {
  BkOp *op = queueOp(p, BK_LOG, iRev);
  if (op == 0) return SQLITE_NOMEM;
  op->zDir = zDir;
  op->bSum = bSum;
  op->ms = p->e.bOffline ? -1.0 : ms;
  memcpy(op->zNow, p->e.zNow, sizeof(op->zNow));
  op->zBefore = zBefore ? sqlite3_mprintf("%s", zBefore) : 0;
  op->zAfter = zAfter ? sqlite3_mprintf("%s", zAfter) : 0;
  if ((zBefore && !op->zBefore) || (zAfter && !op->zAfter)) return SQLITE_NOMEM;
  return SQLITE_OK;
}

/* "a, b" of a revision's parents (Alembic's progress wording). */
static char *parentsText(const migrate_revision *r) {
  return migJoin(r->parents, r->nparent, ", ");
}

/* Prefix *pzErr with the function, target, revision and direction. */
static void blameStep(Run *p, const migrate_revision *r, int bUp,
                      const char *zTail) {
  if (*p->pzErr == 0) migSetError(p->pzErr, SQLITE_ERROR, "?");
  migErrPrefix(p->pzErr, "%s('%s'): %s of %s (%s) failed at ", p->opt->zFunc,
               p->zTarget, bUp ? "upgrade" : "downgrade", r->id, r->message);
  migErrSuffix(p->pzErr, zTail);
}

/* Append the committed plan steps [0, nKept): "upgrade a1, upgrade b2". */
static void keptList(Run *p, MigStr *pOut) {
  int i, n = 0;
  for (i = 0; i < p->nKept; i++) {
    const MigStep *st = &p->plan.aStep[i];
    migStrSep(pOut, &n, ", ");
    migStrAppendf(pOut, "%s %s", st->isUpgrade ? "upgrade" : "downgrade",
                  p->b->aRev[st->iRev].id);
  }
}

/* After a partial commit (Transaction: none), what a failure leaves, for
** the end of its message: the steps committed, the version, and what a
** Transaction: none revision that ran outside a transaction left (bHere:
** the message names its failing statement; bTodo: end with what to do when
** the caller's message does not).  NULL on OOM; caller frees. */
static char *keptNote(Run *p, int bHere, int bTodo) {
  MigStr s = {0};
  p->bToldKept = 1;
  if (p->nKept == 0) {
    migStrAppendZ(&s, "no step was committed before the failure");
  } else {
    migStrAppendZ(&s, "the steps committed before the failure stay done: ");
    keptList(p, &s);
  }
  migStrAppendf(&s, "; the database is at version %s",
                p->zKeptVer ? p->zKeptVer : "base");
  if (p->iOutside >= 0) {
    const char *zId = p->b->aRev[p->iOutside].id;
    migStrAppendf(&s,
                  "; %s ran outside a transaction (Transaction: none) and %s: "
                  "what it did up to there stays done although the version "
                  "says %s did not run; undo that (or make %s idempotent) "
                  "before calling again",
                  zId, bHere ? "stopped at this statement" : "was not recorded",
                  zId, zId);
  } else if (bTodo) {
    migStrAppendf(&s,
                  "; the rest was rolled back; fix what failed and call again: "
                  "it continues from version %s",
                  p->zKeptVer ? p->zKeptVer : "base");
  } else {
    migStrAppendZ(&s, "; the rest was rolled back");
  }
  return migStrFinish(&s);
}

/* The version and the steps now committed: plan steps [0, nKept). */
static void keptAt(Run *p, int nKept) {
  int rc = SQLITE_OK;
  char *z = headString(p, &rc);
  if (rc) return; /* out of memory: the note keeps the last one */
  sqlite3_free(p->zKeptVer);
  p->zKeptVer = z;
  p->nKept = nKept;
}

/* ======================================================================
** The run lock for Transaction: none revisions
**
** Such a revision runs outside a transaction, so the write lock is given up
** while it runs.  To keep another process from reading the old version and
** running the same revision, a row in migrate_lock is committed with the
** steps before it and deleted with its bookkeeping.  A run that finds the
** row waits (within the connection's busy timeout) while the owner lives;
** a row whose owner is gone is a crash left over and is taken over.  The
** table exists only while the lock is held.
**
** Who owns it: beside the pid, the row keeps where the owner runs (column
** boot_id: the machine's boot id from /proc/sys/kernel/random/boot_id, the
** pid namespace from /proc/self/ns/pid and the host name, space-separated)
** and the owner's start time (field 22 of /proc/PID/stat, clock ticks since
** boot).  A lock is stale when the same host has restarted since (another
** boot id), or, in the same boot and pid namespace, when the pid has ended
** or now belongs to another process (another start time).  An owner on
** another host or in another pid namespace (a container) cannot be
** checked, so its lock counts as held.  Where /proc gives nothing (not
** Linux), or in a row written before these columns existed, the pid alone
** decides.  A take-over is reported through sqlite3_log() (SQLITE_WARNING).
**
** The lock is taken before a run's first Transaction: none revision and
** kept until the run ends (dropped in its last commit, or after a failure
** by releaseRunLock), so no other run can slip in between two of its
** transactions.
*/
static const char zLockSchemaSql[] =
    "CREATE TABLE IF NOT EXISTS main.migrate_lock(\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  pid INTEGER NOT NULL,\n"
    "  revision TEXT NOT NULL,\n"
    "  since TEXT NOT NULL,\n"
    "  boot_id TEXT,\n"
    "  started INTEGER\n"
    ")";

static atomic_int nLockHeld = 0; /* runs in this process holding the lock */

/* The lock row as read by lockCheck. */
typedef struct LockRow {
  long long pid;
  char zRev[MIG_MAX_ID + 1];
  char zSince[40];
  char zBoot[192];    /* boot id, pid namespace, host; "" when not recorded */
  long long iStarted; /* -1 when not recorded */
  const char *zStale; /* why the owner is gone, or NULL: it lives */
} LockRow;

/* Where this process runs, into z: "BOOT_ID PID_NAMESPACE HOST" (Linux);
** "" where the boot id is not known. */
static void bootId(char *z, size_t n) {
  char zBoot[64], zNs[64], zHost[72];
  ssize_t nNs;
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
  z[0] = 0;
  if (f == 0) return;
  if (fgets(zBoot, (int)sizeof(zBoot), f) == 0) zBoot[0] = 0;
  fclose(f);
  zBoot[strcspn(zBoot, "\n")] = 0;
  if (zBoot[0] == 0) return;
  nNs = readlink("/proc/self/ns/pid", zNs, sizeof(zNs) - 1);
  zNs[nNs > 0 ? nNs : 0] = 0;
  if (gethostname(zHost, sizeof(zHost) - 1) != 0) zHost[0] = 0;
  zHost[sizeof(zHost) - 1] = 0;
  zHost[strcspn(zHost, " ")] = 0;
  snprintf(z, n, "%s %s %s", zBoot, zNs[0] ? zNs : "-", zHost[0] ? zHost : "-");
}

/* Field i (0: boot id, 1: pid namespace, 2: host) of a bootId() text, as
** its length and start. */
static const char *bootField(const char *z, int i, size_t *pn) {
  while (i-- > 0 && z) {
    z = strchr(z, ' ');
    if (z) z++;
  }
  if (z == 0) z = "";
  *pn = strcspn(z, " ");
  return z;
}

/* Do field i of a and b agree? */
static int bootSame(const char *a, const char *b, int i) {
  size_t na, nb;
  const char *za = bootField(a, i, &na);
  const char *zb = bootField(b, i, &nb);
  return na == nb && memcmp(za, zb, na) == 0;
}

/* Start time of process pid in clock ticks since boot (field 22 of
** /proc/PID/stat, counted after the ")" that ends field 2); -1 unknown. */
static long long procStarted(long long pid) {
  char zPath[64], zBuf[1024];
  const char *z;
  size_t n;
  int iField;
  FILE *f;
  snprintf(zPath, sizeof(zPath), "/proc/%lld/stat", pid);
  f = fopen(zPath, "r");
  if (f == 0) return -1;
  n = fread(zBuf, 1, sizeof(zBuf) - 1, f);
  fclose(f);
  zBuf[n] = 0;
  z = strrchr(zBuf, ')');
  if (z == 0) return -1;
  for (iField = 2; iField < 22 && z; iField++) {
    z = strchr(z + 1, ' ');
  }
  return z ? strtoll(z + 1, 0, 10) : -1;
}

/* Is the owner of row r gone?  Sets r->zStale to why, or NULL. */
static void lockOwnerGone(LockRow *r) {
  char zBoot[192];
  long long iStarted = -1;
  r->zStale = 0;
  bootId(zBoot, sizeof(zBoot));
  if (r->zBoot[0] && zBoot[0] && !bootSame(r->zBoot, zBoot, 0)) {
    /* another boot: this host restarted, or the owner runs elsewhere */
    if (bootSame(r->zBoot, zBoot, 2)) {
      r->zStale = "the machine has restarted since";
    }
    return;
  }
  if (r->zBoot[0] && zBoot[0] && !bootSame(r->zBoot, zBoot, 1)) {
    return; /* another pid namespace (a container): its pids are not ours */
  }
  if (r->pid <= 0 || r->pid > 2147483647) {
    r->zStale = "no process can have that pid";
    return;
  }
  if ((r->pid != (long long)getpid() && kill((pid_t)r->pid, 0) != 0 &&
       errno != EPERM)) {
    r->zStale = "that process has ended";
    return;
  }
  if (r->iStarted >= 0) iStarted = procStarted(r->pid);
  if (iStarted >= 0 && iStarted != r->iStarted) {
    r->zStale = "that pid now belongs to another process";
    return;
  }
  if (r->pid == (long long)getpid() && atomic_load(&nLockHeld) == 0) {
    r->zStale = "this process holds no lock";
  }
}

/* In the current transaction, migrate_lock being the engine's (checked by
** migBookkeepingCheck): is a Transaction: none revision of another run
** still under way?  *pbHeld 1 when so, r says whose; a row whose owner is
** gone is deleted (taken over) and zWho's take-over is logged. */
static int lockCheck(sqlite3 *db, const char *zWho, int *pbHeld, LockRow *r) {
  sqlite3_stmt *st;
  int rc;
  *pbHeld = 0;
  memset(r, 0, sizeof(*r));
  r->iStarted = -1;
  /* SELECT *: a lock written before boot_id and started has 4 columns */
  rc = sqlite3_prepare_v2(db, "SELECT * FROM main.migrate_lock WHERE id = 1",
                          -1, &st, 0);
  if (rc) return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    r->pid = sqlite3_column_int64(st, 1);
    snprintf(r->zRev, sizeof(r->zRev), "%s",
             (const char *)sqlite3_column_text(st, 2));
    snprintf(r->zSince, sizeof(r->zSince), "%s",
             (const char *)sqlite3_column_text(st, 3));
    if (sqlite3_column_count(st) >= 6) {
      const char *zB = (const char *)sqlite3_column_text(st, 4);
      snprintf(r->zBoot, sizeof(r->zBoot), "%s", zB ? zB : "");
      if (sqlite3_column_type(st, 5) == SQLITE_INTEGER) {
        r->iStarted = sqlite3_column_int64(st, 5);
      }
    }
    lockOwnerGone(r);
    *pbHeld = r->zStale == 0;
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && !*pbHeld) {
    /* a crash left it: take it over */
    rc = sqlite3_exec(db, "DROP TABLE main.migrate_lock", 0, 0, 0);
    if (rc == SQLITE_OK) {
      sqlite3_log(SQLITE_WARNING,
                  "%s: took over migrate_lock left by process %lld (revision "
                  "%s, since %s): %s; that revision may have run partly",
                  zWho, r->pid, r->zRev, r->zSince, r->zStale);
    }
  }
  return rc;
}

/* Bind this process as a lock's owner: ?1 its pid, ?2 where it runs
** (bootId(), NULL when unknown), ?3 its start time (NULL when unknown). */
static int bindOwner(sqlite3_stmt *st) {
  char zBoot[192];
  long long iStarted = procStarted((long long)getpid());
  int rc = sqlite3_bind_int64(st, 1, (long long)getpid());
  bootId(zBoot, sizeof(zBoot));
  if (rc == SQLITE_OK) {
    rc = zBoot[0] ? sqlite3_bind_text(st, 2, zBoot, -1, SQLITE_TRANSIENT)
                  : sqlite3_bind_null(st, 2);
  }
  if (rc == SQLITE_OK) {
    rc = iStarted >= 0 ? sqlite3_bind_int64(st, 3, iStarted)
                       : sqlite3_bind_null(st, 3);
  }
  return rc;
}

/* Take the lock for revision zRev (inside the transaction about to be
** committed): this process's pid, where it runs and its start time.
** bHeld: this run holds it already (the row then names zRev instead). */
static int lockTake(sqlite3 *db, const char *zRev, const char *zNow, int bHeld,
                    char **pzErr) {
  sqlite3_stmt *st = 0;
  int rc = sqlite3_exec(db, zLockSchemaSql, 0, 0, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db,
                            "INSERT OR REPLACE INTO main.migrate_lock(id, "
                            "pid, boot_id, started, revision, since) "
                            "VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                            -1, &st, 0);
  }
  if (rc == SQLITE_OK) {
    rc = bindOwner(st);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 4, zRev, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 5, zNow, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    }
  }
  sqlite3_finalize(st);
  if (rc) {
    return migSetError(pzErr, rc, "cannot write migrate_lock: %s",
                       sqlite3_errmsg(db));
  }
  if (!bHeld) atomic_fetch_add(&nLockHeld, 1);
  return SQLITE_OK;
}

/* Does a Transaction: none revision on db need the run lock?  Not when
** main has no file (":memory:", a temp database): no other connection can
** see it, so nobody else can run the revision (a shared-cache in-memory
** database is the exception this leaves open: see README.md, Safety). */
static int lockNeeded(sqlite3 *db) {
  const char *zFile = sqlite3_db_filename(db, "main");
  return zFile && zFile[0];
}

/* Give the lock back (inside a transaction): the table exists only while
** a lock is held, so the database keeps no trace of it. */
static int lockDrop(sqlite3 *db, char **pzErr) {
  int rc = sqlite3_exec(db, "DROP TABLE main.migrate_lock", 0, 0, 0);
  if (rc) {
    return migSetError(pzErr, rc, "cannot clear migrate_lock: %s",
                       sqlite3_errmsg(db));
  }
  return SQLITE_OK;
}

/* ======================================================================
** The run: one call of migrate_run() or migrate_sql_script()
**
** Every piece of state lives in Run; each function below does one stage of
** the "How it works" paragraph at the top and returns an SQLite code with
** *pzErr set.  Where online and offline differ, the emit* functions decide.
*/

/* With foreign keys enforced by the caller: *pzNew (caller frees) names a
** foreign_key_check violation that was not there before the call, or is
** NULL.  An error only when the check itself fails. */
static int fkFindNew(Run *p, char **pzNew) {
  MigStr now = {0};
  int rc = migFkRows(p->e.db, 0, 0, &now);
  *pzNew = 0;
  if (rc == SQLITE_OK) rc = p->e.renames.rc;
  if (rc) {
    migStrReset(&now);
    return migSetError(p->pzErr, rc,
                       "%s('%s'): PRAGMA foreign_key_check "
                       "failed: %s",
                       p->opt->zFunc, p->zTarget, sqlite3_errmsg(p->e.db));
  }
  *pzNew = migFkFirstNew(p->e.zFkBefore, now.z, p->e.renames.z, &rc);
  migStrReset(&now);
  return rc;
}

/* With foreign keys enforced by the caller: fail if foreign_key_check finds
** a violation that was not there before the call (the work since the last
** commit is then rolled back). */
static int fkCheckNew(Run *p) {
  char *z = 0;
  int rc = fkFindNew(p, &z);
  if (z) {
    char *zKept = p->bCommitted ? keptNote(p, 0, 0) : 0;
    rc = migSetError(p->pzErr, SQLITE_CONSTRAINT,
                     "%s('%s'): FOREIGN KEY constraint failed after the "
                     "migration: %s, which has no matching row (PRAGMA "
                     "foreign_key_check)%s%s; fix the data in the "
                     "revision that removed or changed the parent rows",
                     p->opt->zFunc, p->zTarget, z,
                     p->bCommitted ? "; " : ". Nothing was changed",
                     p->bCommitted ? (zKept ? zKept : "?") : "");
    sqlite3_free(zKept);
    sqlite3_free(z);
  }
  return rc;
}

/* After Transaction: none revision rv (plan step iStep, committed with its
** bookkeeping: plan steps [0, nKept) stay) left the violation zNew: the
** error, saying what stays and what to do.  Frees zNew. */
static int fkFailAfterNone(Run *p, const migrate_revision *rv, int bUp,
                           char *zNew) {
  MigStr s = {0};
  char *zKept;
  int rc;
  p->bToldKept = 1;
  keptList(p, &s);
  zKept = migStrFinish(&s);
  rc = migSetError(
      p->pzErr, SQLITE_CONSTRAINT,
      "%s('%s'): FOREIGN KEY constraint failed after %s of %s (%s): %s, "
      "which has no matching row (PRAGMA foreign_key_check); %s ran outside "
      "a transaction (Transaction: none), so it cannot be rolled back: the "
      "steps committed stay done: %s; the database is at version %s%s; "
      "delete or fix the rows that PRAGMA foreign_key_check lists (or "
      "restore their parent rows), and change %s so that it leaves none, "
      "before calling again",
      p->opt->zFunc, p->zTarget, bUp ? "upgrade" : "downgrade", rv->id,
      rv->message, zNew, rv->id, zKept ? zKept : "?",
      p->zKeptVer ? p->zKeptVer : "base",
      p->nKept < p->plan.nStep ? "; the steps after it did not run" : "",
      rv->id);
  sqlite3_free(zKept);
  sqlite3_free(zNew);
  return rc;
}

/* Prefix *pzErr with "zFunc('zTarget'): " (not for out of memory). */
static int prefixCall(Run *p, int rc) {
  if (rc != SQLITE_NOMEM) {
    migErrPrefix(p->pzErr, "%s('%s'): ", p->opt->zFunc, p->zTarget);
  }
  return rc;
}

/* Online: refuse a nested or busy call, switch foreign keys off and take
** the write lock (BEGIN IMMEDIATE) or open SAVEPOINT migrate.  A failure
** here leaves nothing to roll back. */
static int emitOpen(Run *p) {
  Emitter *e = &p->e;
  int rc;
  if (e->bOffline) return SQLITE_OK;
  if (migApplyingDb() == e->db) {
    return migSetError(p->pzErr, SQLITE_MISUSE,
                       "%s() cannot be called from a revision script while "
                       "the database is being migrated; write the revision's "
                       "SQL directly",
                       p->opt->zFunc);
  }
  {
    char *zWho = sqlite3_mprintf("%s('%s')", p->opt->zFunc, p->zTarget);
    if (zWho == 0) return SQLITE_NOMEM;
    rc = migCheckIdle(e->db, p->opt->nCallerStmt, zWho, p->pzErr);
    sqlite3_free(zWho);
  }
  if (rc) return rc;
  /* Scripts run with foreign-key enforcement off, so rebuilding a parent
  ** table never cascades into its children; foreign_key_check runs before
  ** the commit instead. */
  migTxnInit(&e->txn, e->db, "migrate");
  rc = migTxnFkOff(&e->txn);
  if (rc) {
    migSetError(p->pzErr, rc, "cannot switch foreign keys off: %s",
                sqlite3_errmsg(e->db));
  } else {
    rc = migTxnBegin(&e->txn);
    if (rc) migSetError(p->pzErr, rc, "%s", sqlite3_errmsg(e->db));
  }
  if (rc) {
    migErrPrefix(p->pzErr, "%s('%s'): cannot %s: ", p->opt->zFunc, p->zTarget,
                 e->txn.bAuto ? "take the write lock" : "open a savepoint");
    if (rc == SQLITE_BUSY) {
      migErrSuffix(p->pzErr,
                   " (another connection is writing and the busy "
                   "timeout expired or is not set; PRAGMA busy_timeout sets "
                   "it)");
    }
    return rc;
  }
  e->bSavepoint = !e->txn.bAuto;
  return SQLITE_OK;
}

/* Reading the database: refuse tables of the engine's names that it did
** not create, and note which of its tables main holds (p->mBk). */
static int checkTables(Run *p) {
  char *zWho;
  int rc;
  if (p->zFrom || p->e.db == 0) return SQLITE_OK;
  zWho = sqlite3_mprintf("%s('%s')", p->opt->zFunc, p->zTarget);
  if (zWho == 0) return SQLITE_NOMEM;
  rc = migBookkeepingCheck(p->e.db, zWho, &p->mBk, p->pzErr);
  sqlite3_free(zWho);
  return rc;
}

/* The refusal while a live owner holds migrate_lock r: who, and how to
** clear a lock the user knows is stale (the SQL, and the shell command for
** a file whose name needs no quoting beyond '...'). */
static int lockBusy(Run *p, const LockRow *r) {
  const char *zFile = sqlite3_db_filename(p->e.db, "main");
  char *zShell = zFile && zFile[0] && strchr(zFile, '\'') == 0
                     ? sqlite3_mprintf(
                           " (in a shell: sqlite3 '%s' "
                           "'DROP TABLE main.migrate_lock;')",
                           zFile)
                     : sqlite3_mprintf("%s", "");
  int rc;
  if (zShell == 0) return SQLITE_NOMEM;
  rc = migSetError(p->pzErr, SQLITE_BUSY,
                   "%s('%s'): another migration (process %lld) holds "
                   "migrate_lock: its run took it at %s for revision %s, "
                   "which runs outside a transaction (Transaction: none), "
                   "and has not ended. Try again when "
                   "it has finished%s; if you know no migration is running "
                   "(process %lld is not one), the lock is stale: remove it "
                   "with DROP TABLE main.migrate_lock;%s",
                   p->opt->zFunc, p->zTarget, r->pid, r->zSince, r->zRev,
                   p->e.txn.bAuto ? " or set a longer busy timeout" : "",
                   r->pid, zShell);
  sqlite3_free(zShell);
  return rc;
}

/* Online: wait while another run is in the middle of a Transaction: none
** revision (within the busy timeout, in autocommit mode only). */
static int waitRunLock(Run *p) {
  sqlite3 *db = p->e.db;
  int nWaited = 0, nTimeout = 0, rc = SQLITE_OK;
  sqlite3_stmt *st;
  char *zWho;
  if (p->e.bOffline || !(p->mBk & MIG_BK_LOCK)) return SQLITE_OK;
  if (sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &st, 0) == 0) {
    if (sqlite3_step(st) == SQLITE_ROW) nTimeout = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
  }
  zWho = sqlite3_mprintf("%s('%s')", p->opt->zFunc, p->zTarget);
  if (zWho == 0) return SQLITE_NOMEM;
  for (;;) {
    int bHeld;
    LockRow r;
    if (!(p->mBk & MIG_BK_LOCK)) break;
    rc = lockCheck(db, zWho, &bHeld, &r);
    if (rc) {
      migSetError(p->pzErr, rc, "%s: cannot read migrate_lock: %s", zWho,
                  sqlite3_errmsg(db));
      break;
    }
    if (!bHeld) break;
    if (!p->e.txn.bAuto || nWaited >= nTimeout) {
      rc = lockBusy(p, &r);
      break;
    }
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    sqlite3_sleep(20);
    nWaited += 20;
    rc = migTxnBegin(&p->e.txn);
    if (rc) {
      migSetError(p->pzErr, rc, "%s", sqlite3_errmsg(db));
      break;
    }
    rc = checkTables(p);
    if (rc) break;
  }
  sqlite3_free(zWho);
  return rc;
}

/* The starting heads from a comma-separated list of revisions (prefixes
** resolved): migrate_sql_script()'s zFrom. */
static int startFromList(Run *p, const char *zFrom) {
  const char *z = zFrom;
  int nAlloc = 0;
  if (strcmp(zFrom, "base") == 0) return SQLITE_OK;
  while (*z) {
    const char *zE = strchr(z, ',');
    size_t n = zE ? (size_t)(zE - z) : strlen(z);
    char zId[MIG_MAX_ID + 1];
    int idx;
    if (n == 0 || n > MIG_MAX_ID) {
      return migSetError(p->pzErr, SQLITE_ERROR,
                         "%s('%s'): bad starting revision list '%s'; give "
                         "revision ids separated by commas, or base",
                         p->opt->zFunc, p->zTarget, zFrom);
    }
    memcpy(zId, z, n);
    zId[n] = 0;
    idx = migrate_bundle_find(p->b, zId);
    if (idx < 0) {
      return migSetError(p->pzErr, SQLITE_ERROR,
                         "%s('%s'): No such revision or branch '%s' "
                         "(starting revision); give one the bundle has",
                         p->opt->zFunc, p->zTarget, zId);
    }
    if (p->nCur >= nAlloc) {
      int *aNew;
      nAlloc = nAlloc ? nAlloc * 2 : 4;
      aNew = sqlite3_realloc64(p->aCur, sizeof(int) * (size_t)nAlloc);
      if (aNew == 0) return SQLITE_NOMEM;
      p->aCur = aNew;
    }
    p->aCur[p->nCur++] = idx;
    z += n;
    if (*z == ',') z++;
  }
  return SQLITE_OK;
}

/* The starting heads as the database records them (the stored revisions
** join the bundle when a head is one of them). */
static int startFromDb(Run *p) {
  int rc;
  char *zWho;
  /* checkTables() saw main's tables: no version table of either tool, no
  ** heads */
  if (p->e.db && !(p->mBk & (MIG_BK_VERSION | MIG_BK_ALEMBIC))) {
    return SQLITE_OK;
  }
  zWho = sqlite3_mprintf("%s('%s')", p->opt->zFunc, p->zTarget);
  if (zWho == 0) return SQLITE_NOMEM;
  rc = migAdoptPrepare(p->e.db, zWho, p->opt->mode == MIGRATE_STAMP, &p->adopt,
                       p->pzErr);
  if (rc == SQLITE_OK) {
    rc = migReadVersion(p->e.db, p->b, zWho, &p->aCur, &p->nCur, &p->pAug,
                        p->pzErr);
  }
  sqlite3_free(zWho);
  if (rc == MIG_UNKNOWN_HEAD && p->opt->mode == MIGRATE_STAMP &&
      !p->e.bOffline) {
    /* stamping replaces a version nobody knows: start from base and
    ** clear the table when the new version is written */
    rc = migrate_current(p->e.db, &p->zUnknownBefore, p->pzErr);
    if (rc) return rc;
    p->bClearVersion = 1;
  }
  if (rc) return rc;
  if (p->pAug) p->b = p->pAug; /* the bundle plus the stored revisions */
  return SQLITE_OK;
}

/* Plan the move, and check every step can run before anything changes: a
** decoded bundle inflates the scripts the plan runs and checks their
** statements. */
static int makePlan(Run *p) {
  migrate_bundle *b = p->b;
  int i, rc = migPlan(b, p->aCur, p->nCur, p->zTarget, p->opt->mode, &p->plan,
                      p->pzErr);
  if (rc) return prefixCall(p, rc);
  for (i = 0; i < p->plan.nStep; i++) {
    const migrate_revision *rv = &b->aRev[p->plan.aStep[i].iRev];
    rc = migBundleLoad(b, p->plan.aStep[i].iRev, p->pzErr);
    if (rc == SQLITE_OK) {
      rc = migBundleCheckStatements(b, p->plan.aStep[i].iRev, p->pzErr);
    }
    if (rc) return prefixCall(p, rc);
    if (!p->plan.aStep[i].isUpgrade && rv->downgrade == 0) {
      return migSetError(p->pzErr, SQLITE_ERROR,
                         "%s('%s'): revision %s (%s) has no '-- migrate:"
                         "downgrade' section, so it cannot be downgraded; "
                         "nothing was changed",
                         p->opt->zFunc, p->zTarget, rv->id, rv->file);
    }
    if (p->opt->nCallerStmt > 0 && !p->e.bOffline) {
      int iLine;
      const char *zW =
          migScriptNeedsIdleConn(rv, p->plan.aStep[i].isUpgrade, &iLine);
      if (zW) {
        return migSetError(
            p->pzErr, SQLITE_ERROR,
            "%s('%s'): revision %s (%s) runs %s (line %d), which SQLite "
            "refuses while another statement on the connection is active, "
            "as the SELECT calling %s() always is; run this migration with "
            "the command line (sqlite-migrate) or migrate_run() from C. "
            "Nothing was changed",
            p->opt->zFunc, p->zTarget, rv->id, rv->file, zW, iLine,
            p->opt->zFunc);
      }
    }
    if (rv->no_transaction && p->e.bSavepoint) {
      return migSetError(p->pzErr, SQLITE_ERROR,
                         "%s('%s'): revision %s (%s) is marked 'Transaction: "
                         "none' and cannot run inside the transaction this "
                         "call was made in; COMMIT first and call %s() in "
                         "autocommit mode. Nothing was changed",
                         p->opt->zFunc, p->zTarget, rv->id, rv->file,
                         p->opt->zFunc);
    }
  }
  return SQLITE_OK;
}

/* Online, when the plan writes anything: refuse a read-only database
** before the first write, rather than failing at it. */
static int checkWritable(Run *p) {
  if (p->e.bOffline || (p->plan.nStep == 0 && !p->plan.isStamp)) {
    return SQLITE_OK;
  }
  if (sqlite3_db_readonly(p->e.db, "main") != 1) return SQLITE_OK;
  return migSetError(p->pzErr, SQLITE_READONLY,
                     "%s('%s'): the database is read-only on this connection "
                     "(opened with mode=ro or SQLITE_OPEN_READONLY, or a file "
                     "this process may not write). Nothing was changed; open "
                     "it read-write and call again",
                     p->opt->zFunc, p->zTarget);
}

/* The applied set and the heads, as the database holds them now. */
static int initHeads(Run *p) {
  size_t nByte = MIG_BITS_WORDS(p->b->nRev ? p->b->nRev : 1) * sizeof(MigBits);
  int i, rc = migAppliedOf(p->b, p->aCur, p->nCur, &p->aApplied);
  if (rc) return rc;
  p->aHead = sqlite3_malloc64(nByte);
  p->aHeadFlushed = sqlite3_malloc64(nByte);
  if (p->aHead == 0 || p->aHeadFlushed == 0) return SQLITE_NOMEM;
  memset(p->aHead, 0, nByte);
  for (i = 0; i < p->nCur; i++) MIG_BIT_SET(p->aHead, p->aCur[i]);
  memcpy(p->aHeadFlushed, p->aHead, nByte);
  return SQLITE_OK;
}

/* Before anything changes: the applied scripts must match the bundle's
** (when the version came from the database), and, online with foreign keys
** enforced, the violations already there are remembered. */
static int checkBefore(Run *p) {
  int rc = SQLITE_OK;
  if (p->plan.nStep == 0) return SQLITE_OK;
  if (!p->zFrom && (p->mBk & MIG_BK_LOG)) {
    rc = migVerifyChecksums(p->e.db, p->b, p->aApplied, p->aCur, p->nCur, 0, 0,
                            p->opt->zFunc, p->zTarget, p->pzErr);
  }
  if (rc == SQLITE_OK && !p->e.bOffline && p->e.txn.bFk) {
    MigStr fk = {0};
    rc = migFkRows(p->e.db, 0, 0, &fk);
    if (rc && rc != SQLITE_NOMEM) {
      migStrReset(&fk);
      return migSetError(p->pzErr, rc,
                         "%s('%s'): PRAGMA foreign_key_check failed before "
                         "the migration: %s. Nothing was changed. Fix the "
                         "foreign key it names (a REFERENCES clause whose "
                         "parent columns are not a PRIMARY KEY or UNIQUE), "
                         "or call with PRAGMA foreign_keys off",
                         p->opt->zFunc, p->zTarget, sqlite3_errmsg(p->e.db));
    }
    p->e.zFkBefore = migStrFinish(&fk);
    if (rc == SQLITE_OK && p->e.zFkBefore == 0) rc = SQLITE_NOMEM;
  }
  return rc;
}

/* A database Alembic migrated, at its first change: its alembic_version
** rows become migrate_version rows (logged as 'adopt'), and the applied
** revisions' scripts are stored as a stamp would store them. */
static int adoptVersion(Run *p) {
  int i, rc = emitAdoptSql(p, MIG_ADOPT_COPY);
  for (i = 0; i < p->b->nRev && rc == SQLITE_OK; i++) {
    if (!MIG_BIT_TEST(p->aApplied, i)) continue;
    rc = migBundleLoad(p->b, i, p->pzErr);
    if (rc) {
      prefixCall(p, rc);
    } else {
      rc = saveScript(p, i);
    }
  }
  return rc;
}

/* Offline: the script's header and BEGIN; then (both) the bookkeeping
** tables when anything is written; then the heads before the first step. */
static int emitStart(Run *p) {
  int rc = SQLITE_OK;
  if (p->e.bOffline) {
    char *zNow = headString(p, &rc);
    if (rc) return rc;
    migStrAppendf(&p->e.out, "-- sqlite-migrate %s: %s -> %s\n\n",
                  MIGRATE_VERSION, zNow ? zNow : "base", p->zTarget);
    sqlite3_free(zNow);
    emitExec(&p->e, "BEGIN;\n", p->pzErr);
  }
  if (p->plan.nStep > 0 || p->plan.isStamp) {
    const char *zS = bkSchema(p->e.bOffline);
    char *zSql = sqlite3_mprintf(migBookkeepingSql, zS, zS, zS);
    if (zSql == 0) return SQLITE_NOMEM;
    rc = emitExec(&p->e, zSql, p->pzErr);
    sqlite3_free(zSql);
    if (rc == SQLITE_OK && p->adopt.bAdopt) rc = adoptVersion(p);
    if (rc) return rc;
    p->bSyncAlembic = p->adopt.bSync;
    if (p->e.bOffline) migStrAppendZ(&p->e.out, "\n");
  }
  if (p->zUnknownBefore) {
    p->zBefore = sqlite3_mprintf("%s", p->zUnknownBefore);
    return p->zBefore ? SQLITE_OK : SQLITE_NOMEM;
  }
  p->zBefore = headString(p, &rc);
  return rc;
}

/* A stamp: the new heads, the stored scripts following the applied set,
** one log row per new head (or one for base). */
static int stampHeads(Run *p) {
  migrate_bundle *b = p->b;
  MigBits *aNew = 0;
  char *zAfter;
  int i, rc = SQLITE_OK;
  for (i = 0; i < b->nRev; i++) {
    if (MIG_BIT_TEST(p->aHead, i)) setHead(p, i, 0);
  }
  for (i = 0; i < p->plan.nStamp; i++) setHead(p, p->plan.aStamp[i], 1);
  rc = migAppliedOf(b, p->plan.aStamp, p->plan.nStamp, &aNew);
  /* stored scripts follow the applied set (their downgrades are stored,
  ** so a decoded bundle inflates them; a damaged one fails the stamp,
  ** whose transaction then rolls back) */
  for (i = 0; i < b->nRev && rc == SQLITE_OK; i++) {
    int bWas = MIG_BIT_TEST(p->aApplied, i), bIs = MIG_BIT_TEST(aNew, i);
    if (bIs && !bWas) {
      rc = migBundleLoad(b, i, p->pzErr);
      if (rc) {
        prefixCall(p, rc);
      } else {
        rc = saveScript(p, i);
      }
    }
    if (!bIs && bWas && !queueOp(p, BK_DEL_SCRIPT, i)) rc = SQLITE_NOMEM;
  }
  sqlite3_free(aNew);
  if (rc) return rc;
  nowIso(p->e.zNow, sizeof(p->e.zNow), &p->tSec, p->zSec);
  zAfter = headString(p, &rc);
  if (rc) return rc;
  if (p->plan.nStamp == 0) {
    rc = logStep(p, -1, "stamp", p->zBefore, zAfter, 0, 0.0);
  }
  for (i = 0; i < p->plan.nStamp && rc == SQLITE_OK; i++) {
    rc = logStep(p, p->plan.aStamp[i], "stamp", p->zBefore, zAfter, 1, 0.0);
  }
  sqlite3_free(zAfter);
  return rc;
}

/* Before a Transaction: none revision: commit the steps before it (online
** with the run lock taken for it), so it runs outside a transaction. */
static int emitCommitBefore(Run *p, const migrate_revision *rv) {
  int rc = flushBk(p);
  if (p->e.bOffline) {
    return rc ? rc : emitExec(&p->e, "COMMIT;\n\n", p->pzErr);
  }
  if (rc == SQLITE_OK && p->e.txn.bFk) rc = fkCheckNew(p);
  if (rc == SQLITE_OK && lockNeeded(p->e.db)) {
    rc = lockTake(p->e.db, rv->id, p->e.zNow, p->bLocked, p->pzErr);
    if (rc == SQLITE_OK) p->bLocked = 1;
  }
  if (rc == SQLITE_OK) rc = emitExec(&p->e, "COMMIT", p->pzErr);
  if (rc == SQLITE_OK) {
    p->bCommitted = 1;
    keptAt(p, p->iStep);
    p->iOutside = p->plan.aStep[p->iStep].iRev;
  }
  return rc;
}

/* A new transaction after a Transaction: none revision. */
static int emitReopen(Run *p) {
  int rc =
      emitExec(&p->e, p->e.bOffline ? "BEGIN;\n" : "BEGIN IMMEDIATE", p->pzErr);
  if (rc == SQLITE_BUSY) {
    migErrPrefix(p->pzErr,
                 "%s('%s'): cannot take the write lock again: ", p->opt->zFunc,
                 p->zTarget);
    migErrSuffix(p->pzErr,
                 " (another connection is writing and the busy timeout "
                 "expired or is not set; PRAGMA busy_timeout sets it)");
  }
  return rc;
}

/* Run one section (online with the applier's marker set, so a
** migrate_rebuild() in it knows its callers) or append it (offline, after
** a comment naming the step). */
static int emitStep(Run *p, const migrate_revision *rv, int bUp,
                    const char *zPar) {
  sqlite3 *pPrev;
  int rc;
  if (p->e.bOffline) {
    migStrAppendf(&p->e.out, "-- Running %s %s -> %s, %s\n",
                  bUp ? "upgrade" : "downgrade", bUp ? zPar : rv->id,
                  bUp ? rv->id : zPar, rv->message);
    return emitSection(&p->e, rv, bUp, p->pzErr);
  }
  /* a nested run on another connection (drift's scratch database) must
  ** give the marker back */
  pPrev = migApplyingSet(p->e.db);
  rc = emitSection(&p->e, rv, bUp, p->pzErr);
  migApplyingSet(pPrev);
  if (rc == SQLITE_OK) return SQLITE_OK;
  if (p->e.bSavepoint && migTxnLost(&p->e.txn)) {
    p->e.bSavepoint = 0;
    p->e.txn.bOpen = 0; /* nothing left to roll back */
    blameStep(p, rv, bUp,
              "; SQLite rolled back the caller's whole transaction, so "
              "everything since its BEGIN is undone");
  } else if (p->bCommitted) {
    char *zKept = keptNote(p, 1, 1);
    char *zTail = zKept ? sqlite3_mprintf("; %s", zKept) : 0;
    blameStep(p, rv, bUp, zTail ? zTail : "; ?");
    sqlite3_free(zTail);
    sqlite3_free(zKept);
  } else {
    blameStep(p, rv, bUp, "; nothing was changed");
  }
  return rc;
}

/* Tell the caller's progress callback (online) that a step is done. */
static void emitProgress(Run *p, const migrate_revision *rv, int bUp,
                         const char *zPar, double ms) {
  const migrate_options *o = p->opt;
  if (o->xProgress && !p->e.bOffline) {
    o->xProgress(o->pProgressArg, rv, bUp, bUp ? zPar : rv->id,
                 bUp ? rv->id : zPar, ms);
  }
}

/* After Transaction: none revision rv (upgraded when bUp): record it
** durably now and go on in a new transaction; the run lock is kept until
** the run's last commit (given back here when rv was the last step).  With
** foreign keys enforced by the caller, a violation it left fails the call
** after its bookkeeping is committed (it cannot be undone), and so does a
** foreign_key_check that cannot run.  Online, when it was the last step,
** the result is set and p->bDone. */
static int emitCommitAfter(Run *p, const migrate_revision *rv, int bUp,
                           int bLast) {
  int rc = flushBk(p);
  int bFinal = bLast && !p->e.bOffline;
  int rcFk = SQLITE_OK;
  int bDrop = bFinal && p->bLocked;
  char *zNew = 0;
  if (rc == SQLITE_OK && bDrop) rc = lockDrop(p->e.db, p->pzErr);
  if (rc == SQLITE_OK && !p->e.bOffline && p->e.txn.bFk) {
    rcFk = fkFindNew(p, &zNew); /* its message is set; committed anyway */
  }
  if (rc == SQLITE_OK && bFinal && !zNew && !rcFk) {
    *p->pzOut = headString(p, &rc);
  }
  if (rc == SQLITE_OK) {
    rc = emitExec(&p->e, p->e.bOffline ? "COMMIT;\n" : "COMMIT", p->pzErr);
  }
  if (rc == SQLITE_OK && bDrop) {
    p->bLocked = 0;
    atomic_fetch_sub(&nLockHeld, 1);
  }
  if (rc == SQLITE_OK && !p->e.bOffline) {
    p->iOutside = -1;
    keptAt(p, p->iStep + 1);
  }
  if (zNew) {
    if (rc == SQLITE_OK) return fkFailAfterNone(p, rv, bUp, zNew);
    sqlite3_free(zNew);
  }
  if (rc == SQLITE_OK && rcFk) {
    sqlite3_free(*p->pzOut);
    *p->pzOut = 0;
    return rcFk;
  }
  if (rc == SQLITE_OK && bFinal) {
    p->bDone = 1;
    return SQLITE_OK;
  }
  return rc ? rc : emitReopen(p);
}

/* Step i of the plan: run the section, update the heads, queue the log
** row.  A Transaction: none revision commits before and after itself. */
static int runStep(Run *p, int i) {
  int iRev = p->plan.aStep[i].iRev;
  int bUp = p->plan.aStep[i].isUpgrade;
  const migrate_revision *rv = &p->b->aRev[iRev];
  double t0 = monoMs(), ms;
  char *zAfter = 0;
  char *zPar = parentsText(rv);
  int rc = zPar ? SQLITE_OK : SQLITE_NOMEM;
  p->iStep = i;
  nowIso(p->e.zNow, sizeof(p->e.zNow), &p->tSec, p->zSec);
  if (rc == SQLITE_OK && rv->no_transaction) rc = emitCommitBefore(p, rv);
  if (rc == SQLITE_OK) rc = emitStep(p, rv, bUp, zPar);
  if (rc == SQLITE_OK && rv->no_transaction) rc = emitReopen(p);
  if (rc == SQLITE_OK) rc = recordStep(p, iRev, bUp);
  ms = monoMs() - t0;
  if (rc == SQLITE_OK) zAfter = headString(p, &rc);
  if (rc == SQLITE_OK) {
    rc = logStep(p, iRev, bUp ? "upgrade" : "downgrade", p->zBefore, zAfter, 1,
                 ms);
  }
  if (rc == SQLITE_OK && rv->no_transaction) {
    rc = emitCommitAfter(p, rv, bUp, i == p->plan.nStep - 1);
  }
  if (rc == SQLITE_OK && p->e.bOffline) migStrAppendZ(&p->e.out, "\n");
  if (rc == SQLITE_OK) emitProgress(p, rv, bUp, zPar, ms);
  sqlite3_free(zPar);
  sqlite3_free(p->zBefore);
  p->zBefore = zAfter;
  return rc;
}

/* The end of a run: the last bookkeeping, then offline the script's
** COMMIT and the script as the result; online the foreign-key check, the
** result (first: nothing may fail after the commit) and COMMIT or
** RELEASE. */
static int emitFinish(Run *p) {
  int k, rc = flushBk(p);
  if (rc) return rc;
  if (p->e.bOffline) {
    rc = emitExec(&p->e, "COMMIT;\n", p->pzErr);
    if (rc) return rc;
    *p->pzOut = migStrFinish(&p->e.out);
    return *p->pzOut ? SQLITE_OK : SQLITE_NOMEM;
  }
  for (k = 0; k < BK_N; k++) {
    sqlite3_finalize(p->e.aStmt[k]);
    p->e.aStmt[k] = 0;
  }
  if (p->e.txn.bFk && (p->plan.nStep > 0 || p->plan.isStamp)) {
    rc = fkCheckNew(p);
    if (rc) return rc;
  }
  /* the run lock taken before a Transaction: none revision goes with the
  ** last commit */
  if (p->bLocked) rc = lockDrop(p->e.db, p->pzErr);
  if (rc) return rc;
  *p->pzOut = headString(p, &rc);
  if (rc) return rc;
  rc = migTxnCommit(&p->e.txn);
  if (rc) {
    migSetError(p->pzErr, rc, "%s", sqlite3_errmsg(p->e.db));
    migErrPrefix(p->pzErr, "%s('%s'): cannot commit: ", p->opt->zFunc,
                 p->zTarget);
    return rc;
  }
  if (p->bLocked) {
    p->bLocked = 0;
    atomic_fetch_sub(&nLockHeld, 1);
  }
  p->e.bSavepoint = 0;
  return SQLITE_OK;
}

/* A run that held the run lock failed: give the lock back in a
** transaction of its own, deleting only this process's row (another run may
** have taken the lock since this run's last commit) and the table when it
** is then empty. */
static void releaseRunLock(Run *p) {
  sqlite3 *db = p->e.db;
  sqlite3_stmt *st = 0;
  int rc;
  if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  rc = sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db,
                            "DELETE FROM main.migrate_lock WHERE id = 1 AND "
                            "pid = ?1 AND boot_id IS ?2 AND started IS ?3",
                            -1, &st, 0);
  }
  if (rc == SQLITE_OK) {
    rc = bindOwner(st);
    if (rc == SQLITE_OK && sqlite3_step(st) != SQLITE_DONE) {
      rc = sqlite3_errcode(db);
    }
  }
  sqlite3_finalize(st);
  st = 0;
  if (rc == SQLITE_OK) {
    int bEmpty = 0;
    rc = sqlite3_prepare_v2(db, "SELECT count(*) = 0 FROM main.migrate_lock",
                            -1, &st, 0);
    if (rc == SQLITE_OK) {
      if (sqlite3_step(st) == SQLITE_ROW) {
        bEmpty = sqlite3_column_int(st, 0);
      } else {
        rc = sqlite3_errcode(db);
      }
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK && bEmpty) {
      rc = sqlite3_exec(db, "DROP TABLE main.migrate_lock", 0, 0, 0);
    }
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  if (rc != SQLITE_OK && !sqlite3_get_autocommit(db)) {
    sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  }
  atomic_fetch_sub(&nLockHeld, 1);
  p->bLocked = 0;
}

/* After a failure: no result, the run lock back, everything since the call
** started rolled back; the message says when SQLite had already rolled
** back the caller's whole transaction, or when the rollback itself failed
** (then COMMIT is refused until the transaction ends). */
static void emitFail(Run *p, int rc) {
  int eUndo;
  sqlite3_free(*p->pzOut);
  *p->pzOut = 0;
  if (p->bLocked) releaseRunLock(p);
  if (rc == SQLITE_NOMEM) {
    migSetError(p->pzErr, SQLITE_NOMEM, "%s('%s'): out of memory",
                p->opt->zFunc, p->zTarget);
  }
  if (p->bCommitted && !p->bToldKept && !p->e.bOffline) {
    char *zKept = keptNote(p, 0, 1);
    char *zTail = zKept ? sqlite3_mprintf("; %s", zKept) : 0;
    if (*p->pzErr == 0) migSetError(p->pzErr, rc, "%s", sqlite3_errstr(rc));
    if (zTail) migErrSuffix(p->pzErr, zTail);
    sqlite3_free(zTail);
    sqlite3_free(zKept);
  }
  emitterClose(&p->e);
  if (p->e.bOffline) return;
  eUndo = migTxnRollback(&p->e.txn);
  if (eUndo != MIG_TXN_UNDONE && *p->pzErr == 0) {
    migSetError(p->pzErr, rc, "%s",
                eUndo == MIG_TXN_LOST ? "error" : sqlite3_errstr(rc));
  }
  if (eUndo == MIG_TXN_LOST) {
    migErrSuffix(p->pzErr,
                 "; SQLite rolled back the caller's whole "
                 "transaction");
  } else if (eUndo == MIG_TXN_STUCK) {
    /* see "When a failed call cannot roll back" in txn.c */
    int bGuarded = migTxnGuard(p->e.db);
    migErrSuffix(p->pzErr, bGuarded
                               ? "; the partial migration could not be rolled "
                                 "back inside the call: run ROLLBACK (a "
                                 "COMMIT on this connection is refused until "
                                 "then)"
                               : "; the partial migration could not be rolled "
                                 "back inside the call: run ROLLBACK");
  }
}

/* A failed call's message starts with the call and its argument: SQLite's
** own message from a frame statement (COMMIT, BEGIN after a Transaction:
** none revision, the run lock's writes) gets them in front. */
static void namesTheCall(Run *p) {
  size_t n = strlen(p->opt->zFunc);
  if (*p->pzErr &&
      (strncmp(*p->pzErr, p->opt->zFunc, n) != 0 || (*p->pzErr)[n] != '(')) {
    migErrPrefix(p->pzErr, "%s('%s'): ", p->opt->zFunc, p->zTarget);
  }
}

/* Free everything the run holds; foreign keys back as the caller had
** them, whatever happened. */
static void runFree(Run *p) {
  if (!p->e.bOffline) migTxnEnd(&p->e.txn);
  emitterClose(&p->e);
  migPlanFree(&p->plan);
  sqlite3_free(p->e.zFkBefore);
  migStrReset(&p->e.renames);
  sqlite3_free(p->zKeptVer);
  sqlite3_free(p->zUnknownBefore);
  migrate_bundle_free(p->pAug);
  sqlite3_free(p->aCur);
  sqlite3_free(p->aApplied);
  sqlite3_free(p->aHead);
  sqlite3_free(p->aHeadFlushed);
  freeOps(p);
  sqlite3_free(p->aOp);
  sqlite3_free(p->zBefore);
}

/* Everything after the write lock: where the database is, the plan and its
** checks, the steps, the commit.  On error the caller rolls back. */
static int runBody(Run *p) {
  int i, rc = checkTables(p);
  if (rc == SQLITE_OK) rc = waitRunLock(p);
  if (rc == SQLITE_OK)
    rc = p->zFrom ? startFromList(p, p->zFrom) : startFromDb(p);
  if (rc == SQLITE_OK) rc = makePlan(p);
  if (rc == SQLITE_OK) rc = checkWritable(p);
  if (rc == SQLITE_OK) rc = initHeads(p);
  if (rc == SQLITE_OK) rc = checkBefore(p);
  if (rc == SQLITE_OK) rc = emitStart(p);
  if (rc == SQLITE_OK && p->plan.isStamp) rc = stampHeads(p);
  for (i = 0; i < p->plan.nStep && rc == SQLITE_OK && !p->bDone; i++) {
    rc = runStep(p, i);
  }
  if (rc == SQLITE_OK && !p->bDone) rc = emitFinish(p);
  return rc;
}

/* Move db from its version (or, offline, from zFrom: a comma-separated
** list of revisions, "base" or "") to zTarget, as o->mode says.  bOffline
** renders the SQL instead of running it: *pzOut is then the script, else
** the new version ("a,b" sorted, NULL at base).  db may be NULL offline
** when zFrom is given. */
static int runPlan(sqlite3 *db, migrate_bundle *b, const char *zFrom,
                   const char *zTarget, const migrate_options *o, int bOffline,
                   char **pzOut, char **pzErr) {
  Run r;
  char *zIgnored = 0; /* the message when the caller wants none */
  char *zShown = 0;   /* zTarget as messages echo it */
  int rc;
  if (pzErr == 0) pzErr = &zIgnored;
  memset(&r, 0, sizeof(r));
  r.b = b;
  r.opt = o;
  r.zFrom = zFrom;
  r.zTarget = zTarget;
  r.pzErr = pzErr;
  r.pzOut = pzOut;
  r.e.db = db;
  r.e.bOffline = bOffline;
  r.iOutside = -1;
  *pzOut = 0;
  if (zTarget == 0) {
    rc = migSetError(pzErr, SQLITE_MISUSE,
                     "%s(): target is NULL; give head, heads, base, a "
                     "revision, +N or -N",
                     o->zFunc);
  } else if ((zShown = migShowArg(zTarget, -1)) == 0) {
    rc = SQLITE_NOMEM;
  } else {
    /* no revision or branch name holds a byte that needs quoting: a target
    ** that does is looked up (and echoed) in its quoted form */
    r.zTarget = zShown;
    rc = emitOpen(&r);
  }
  if (rc == SQLITE_OK) {
    rc = runBody(&r);
    if (rc) emitFail(&r, rc);
    if (rc) namesTheCall(&r);
  }
  runFree(&r);
  sqlite3_free(zShown);
  sqlite3_free(zIgnored);
  return rc;
}

/* ======================================================================
** Public entry points
*/
int migrate_run(sqlite3 *db, migrate_bundle *b, const char *zTarget,
                const migrate_options *o, char **pzVersion, char **pzErr) {
  static const migrate_options dflt = {MIGRATE_AUTO, "migrate_to", 0, 0, 0};
  char *zOut = 0;
  int rc = runPlan(db, b, 0, zTarget, o ? o : &dflt, 0, &zOut, pzErr);
  if (pzVersion) {
    *pzVersion = zOut;
  } else {
    sqlite3_free(zOut);
  }
  return rc;
}

int migrate_sql_script(sqlite3 *db, migrate_bundle *b, const char *zFrom,
                       const char *zTarget, int mode, char **pzSql,
                       char **pzErr) {
  /* Without zFrom the version is read from db exactly as migrate_to() reads
  ** it (stored revisions, checksums), so the script is the one it runs. */
  migrate_options o = {mode, "migrate_sql", 0, 0, 0};
  if (zFrom == 0 && db == 0) zFrom = "base";
  return runPlan(db, b, zFrom, zTarget, &o, 1, pzSql, pzErr);
}
