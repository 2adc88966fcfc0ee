/*
** apply.c — running a plan: locks, savepoints, the version table, the log.
**
**     migrate_run(db, bundle, "head", &opts, &zVersion, &zErr);
**     migrate_sql_script(db, bundle, 0, "head", MIGRATE_AUTO, &zSql, &zErr);
**
** Tables it keeps in the database (created on first change):
**
**     migrate_version(version_num TEXT PRIMARY KEY)   the current heads
**     migrate_log(id, revision, direction, version_before, version_after,
**                 checksum, started_at, duration_ms)  one row per step
**     migrate_scripts(revision PRIMARY KEY, file, parents, depends_on,
**                 message, checksum, downgrade_sql, transaction_none)
**                                                     per applied revision
**
** How it works.  Before anything changes, the call refuses if another
** statement on the connection is active (sqlite3_next_stmt/stmt_busy; the
** caller's own SELECT is allowed) or, in autocommit mode, if the calling
** statement holds a read transaction (SELECT migrate_to(...) FROM t), since
** DROP TABLE would then fail half-way.  In autocommit mode it takes the
** write lock with BEGIN IMMEDIATE (so the busy timeout applies) and reads
** the version only then, so two processes never apply a revision twice;
** inside the caller's transaction it works in SAVEPOINT migrate.  Any
** failure rolls back to where the call started; if SQLite itself rolled
** back the caller's whole transaction (RAISE(ROLLBACK), SQLITE_FULL, ...)
** the error says so.  A revision marked "Transaction: none" commits the
** steps before it and runs outside a transaction.
**
** Online and offline (migrate_sql) share one loop: each action goes through
** an Emitter that either executes it, binding values, or renders it as SQL
** text with quoted literals.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char zSchemaSql[] =
    "CREATE TABLE IF NOT EXISTS migrate_version(\n"
    "  version_num TEXT NOT NULL PRIMARY KEY\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS migrate_log(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  revision TEXT,\n"
    "  direction TEXT NOT NULL,\n"
    "  version_before TEXT,\n"
    "  version_after TEXT,\n"
    "  checksum TEXT,\n"
    "  started_at TEXT NOT NULL,\n"
    "  duration_ms REAL\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS migrate_scripts(\n"
    "  revision TEXT NOT NULL PRIMARY KEY,\n"
    "  file TEXT NOT NULL,\n"
    "  parents TEXT NOT NULL,\n"
    "  depends_on TEXT NOT NULL,\n"
    "  message TEXT NOT NULL,\n"
    "  checksum TEXT NOT NULL,\n"
    "  downgrade_sql TEXT,\n"
    "  transaction_none INTEGER NOT NULL\n"
    ");\n";

/* Bookkeeping statements; values are bound online, rendered offline. */
enum { BK_DEL_VER, BK_INS_VER, BK_LOG, BK_SAVE_SCRIPT, BK_DEL_SCRIPT, BK_N };
static const char *azBkSql[BK_N] = {
    "DELETE FROM migrate_version WHERE version_num = ?",
    "INSERT INTO migrate_version(version_num) VALUES (?)",
    "INSERT INTO migrate_log(revision, direction, version_before, "
    "version_after, checksum, started_at, duration_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "INSERT OR REPLACE INTO migrate_scripts(revision, file, parents, "
    "depends_on, message, checksum, downgrade_sql, transaction_none) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "DELETE FROM migrate_scripts WHERE revision = ?",
};

/* A value for a bookkeeping statement. */
typedef struct BkArg {
  enum { A_NULL, A_TEXT, A_INT, A_REAL, A_NOW } e;
  const char *z;
  double r;
  long long i;
} BkArg;

#define T(x) {A_TEXT, (x), 0, 0}
#define TN(x) {(x) ? A_TEXT : A_NULL, (x), 0, 0}

/* ======================================================================
** Emitter
*/
typedef struct Emitter {
  sqlite3 *db;
  int bOffline;
  MigStr out;                 /* offline script */
  sqlite3_stmt *aStmt[BK_N];  /* online, prepared lazily */
  char zNow[80];              /* online: start time of the current step */
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
    const char *z = azBkSql[eStmt];
    int k = 0;
    for (; *z; z++) {
      if (*z != '?') {
        migStrAppend(&e->out, z, 1);
        continue;
      }
      switch (aArg[k].e) {
        case A_NULL: migStrAppendZ(&e->out, "NULL"); break;
        case A_TEXT: migStrAppendf(&e->out, "%Q", aArg[k].z); break;
        case A_INT: migStrAppendf(&e->out, "%lld", aArg[k].i); break;
        case A_REAL: migStrAppendf(&e->out, "%.3f", aArg[k].r); break;
        default:
          migStrAppendZ(&e->out, "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
          break;
      }
      k++;
    }
    migStrAppendZ(&e->out, ";\n");
    return e->out.rc;
  }
  if (e->aStmt[eStmt] == 0) {
    rc = sqlite3_prepare_v2(e->db, azBkSql[eStmt], -1, &e->aStmt[eStmt], 0);
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
        case A_NULL: rc = sqlite3_bind_null(st, i + 1); break;
        case A_TEXT:
          rc = sqlite3_bind_text(st, i + 1, aArg[i].z, -1, SQLITE_TRANSIENT);
          break;
        case A_INT: rc = sqlite3_bind_int64(st, i + 1, aArg[i].i); break;
        case A_REAL: rc = sqlite3_bind_double(st, i + 1, aArg[i].r); break;
        default:
          rc = sqlite3_bind_text(st, i + 1, e->zNow, -1, SQLITE_TRANSIENT);
          break;
      }
    }
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(st);
      rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    if (rc) {
      migSetError(pzErr, rc, "cannot update %s: %s",
                  eStmt == BK_LOG         ? "migrate_log"
                  : eStmt <= BK_INS_VER   ? "migrate_version"
                                          : "migrate_scripts",
                  sqlite3_errmsg(e->db));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
  }
}

/* Execute (or append) plain SQL owned by the engine: BEGIN, COMMIT, DDL. */
static int emitExec(Emitter *e, const char *zSql, char **pzErr) {
  int rc;
  char *zMsg = 0;
  if (e->bOffline) {
    migStrAppendZ(&e->out, zSql);
    if (zSql[0] && zSql[strlen(zSql) - 1] != '\n') migStrAppendZ(&e->out, ";\n");
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
    if (rc == SQLITE_OK && st) {
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      }
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    if (rc) {
      /* find the statement's first line: skip blanks and comments */
      const char *p = z;
      int iLine = iLine0;
      const char *q;
      char *zEx;
      for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        if (p[0] == '-' && p[1] == '-') {
          while (*p && *p != '\n') p++;
        } else if (p[0] == '/' && p[1] == '*') {
          const char *zEnd = strstr(p + 2, "*/");
          p = zEnd ? zEnd + 2 : p + strlen(p);
        } else {
          break;
        }
      }
      for (q = zBody; q < p; q++) iLine += *q == '\n';
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
** Reading the database
*/

/* Does table zName exist in schema main? */
int migTableExists(sqlite3 *db, const char *zName, int *pExists) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(
      db, "SELECT 1 FROM main.sqlite_master WHERE type='table' AND name=?",
      -1, &st, 0);
  *pExists = 0;
  if (rc) return rc;
  sqlite3_bind_text(st, 1, zName, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *pExists = 1;
  rc = sqlite3_finalize(st);
  return rc;
}

/* Read the heads: see internal.h. */
int migReadVersion(sqlite3 *db, migrate_bundle *b, const char *zFunc,
                   int **paCur, int *pnCur, migrate_bundle **ppAug,
                   char **pzErr) {
  sqlite3_stmt *st = 0;
  int bExists, rc, n = 0, k;
  int *a = 0;
  char **azId = 0;
  migrate_bundle *pAug = 0;
  *paCur = 0;
  *pnCur = 0;
  if (ppAug) *ppAug = 0;
  rc = migTableExists(db, "migrate_version", &bExists);
  if (rc) {
    return migSetError(pzErr, rc, "%s: cannot read the schema: %s", zFunc,
                       sqlite3_errmsg(db));
  }
  if (!bExists) return SQLITE_OK;
  rc = sqlite3_prepare_v2(db, "SELECT version_num FROM main.migrate_version",
                          -1, &st, 0);
  if (rc) {
    return migSetError(pzErr, rc, "%s: cannot read migrate_version: %s",
                       zFunc, sqlite3_errmsg(db));
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(st, 0);
    char **azNew;
    if ((n & (n - 1)) == 0) {
      azNew = sqlite3_realloc64(azId, sizeof(char *) * (size_t)(n ? 2 * n : 1));
      if (azNew == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
      azId = azNew;
    }
    azId[n] = sqlite3_mprintf("%s", z ? z : "NULL");
    if (azId[n] == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    n++;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    if (rc != SQLITE_NOMEM) {
      migSetError(pzErr, rc, "%s: cannot read migrate_version: %s", zFunc,
                  sqlite3_errmsg(db));
    }
    goto done;
  }
  rc = SQLITE_OK;
  a = sqlite3_malloc64(sizeof(int) * (size_t)(n + 1));
  if (a == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (k = 0; k < n; k++) {
    migrate_bundle *pB = pAug ? pAug : b;
    a[k] = migrate_bundle_find(pB, azId[k]);
    if (a[k] < 0 && ppAug && pAug == 0) {
      /* a newer build applied it: look among the stored revisions */
      rc = migBundleWithStored(db, b, &pAug, pzErr);
      if (rc) goto done;
      if (pAug) {
        k = -1; /* resolve every head again against the union */
        continue;
      }
    }
    if (a[k] < 0) {
      rc = migSetError(pzErr, MIG_UNKNOWN_HEAD,
                       "%s: the database is at revision '%s', which the "
                       "bundle does not know%s; use the bundle that applied "
                       "it (or migrate_stamp() to a revision this bundle has)",
                       zFunc, azId[k],
                       ppAug ? " and migrate_scripts does not hold" : "");
      goto done;
    }
  }
  /* heads in id order, whatever the row order: messages and plans do not
  ** depend on how the table was written */
  if (rc == SQLITE_OK) {
    migrate_bundle *pB = pAug ? pAug : b;
    int x, y;
    for (x = 1; x < n; x++) {
      int v = a[x];
      for (y = x; y > 0 && strcmp(pB->aRev[a[y - 1]].id, pB->aRev[v].id) > 0;
           y--) {
        a[y] = a[y - 1];
      }
      a[y] = v;
    }
  }
done:
  for (k = 0; k < n; k++) sqlite3_free(azId[k]);
  sqlite3_free(azId);
  if (rc) {
    sqlite3_free(a);
    migrate_bundle_free(pAug);
    return rc;
  }
  *paCur = a;
  *pnCur = n;
  if (ppAug) *ppAug = pAug;
  return SQLITE_OK;
}

/* Checksum findings: see internal.h. */
int migVerifyChecksums(sqlite3 *db, migrate_bundle *b, const MigBits *aApplied,
                       const int *aCur, int nCur, MigStr *pOut, int *pnBad,
                       const char *zFunc, const char *zTarget, char **pzErr) {
  sqlite3_stmt *st = 0;
  char *aSum = 0; /* 9 bytes per revision: last recorded checksum, or "" */
  int bExists, rc, i;
  rc = migTableExists(db, "migrate_log", &bExists);
  if (rc || !bExists) return rc;
  aSum = sqlite3_malloc64((size_t)b->nRev * 9 + 1);
  if (aSum == 0) return SQLITE_NOMEM;
  memset(aSum, 0, (size_t)b->nRev * 9 + 1);
  rc = sqlite3_prepare_v2(
      db,
      "SELECT revision, checksum FROM main.migrate_log WHERE direction IN "
      "('upgrade', 'stamp') AND checksum IS NOT NULL ORDER BY id",
      -1, &st, 0);
  if (rc) {
    sqlite3_free(aSum);
    return migSetError(pzErr, rc, "%s: cannot read migrate_log: %s", zFunc,
                       sqlite3_errmsg(db));
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zRev = (const char *)sqlite3_column_text(st, 0);
    const char *zSum = (const char *)sqlite3_column_text(st, 1);
    int k = zRev ? migrate_bundle_find(b, zRev) : -1;
    if (k >= 0 && zSum) snprintf(&aSum[9 * k], 9, "%s", zSum);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    sqlite3_free(aSum);
    return migSetError(pzErr, rc, "%s: cannot read migrate_log: %s", zFunc,
                       sqlite3_errmsg(db));
  }
  rc = SQLITE_OK;
  for (i = 0; i < b->nRev && rc == SQLITE_OK; i++) {
    int k = b->aOrder[i];
    const migrate_revision *r = &b->aRev[k];
    char zNow[16];
    if (!MIG_BIT_TEST(aApplied, k) || aSum[9 * k] == 0) continue;
    /* a stored revision (source "") has no script to compare; a script not
    ** yet inflated (source NULL) has its checksum from the bundle's index */
    if (r->source && r->source[0] == 0) continue;
    snprintf(zNow, sizeof(zNow), "%08x", r->checksum);
    if (strcmp(zNow, &aSum[9 * k]) == 0) continue;
    if (pnBad) (*pnBad)++;
    if (pOut) {
      migStrAppendf(pOut,
                    "%schecksum: %s (%s) was applied with checksum %s, the "
                    "bundle's script has %s",
                    pOut->n ? "\n" : "", r->id, r->file, &aSum[9 * k], zNow);
      continue;
    }
    {
      int bHead = 0, j;
      char *zCur = migJoinIds(b, aCur, nCur);
      char *zHow;
      for (j = 0; j < nCur; j++) bHead |= aCur[j] == k;
      if (bHead) {
        zHow = sqlite3_mprintf("SELECT migrate_stamp('%s')", r->id);
      } else if (nCur == 1) {
        zHow = sqlite3_mprintf("SELECT migrate_stamp('%s') and then "
                               "SELECT migrate_stamp('%s') to return to "
                               "the current version",
                               r->id, zCur);
      } else {
        zHow = sqlite3_mprintf("SELECT migrate_stamp('%s'), then stamp "
                               "each current head (%s) again",
                               r->id, zCur ? zCur : "");
      }
      rc = zHow ? migSetError(pzErr, SQLITE_ERROR,
                              "%s('%s'): revision %s (%s) was applied with "
                              "checksum %s but the bundle's script now has "
                              "checksum %s: its upgrade section was edited "
                              "after it ran. Nothing was changed. Restore the "
                              "script, or accept the edit with %s",
                              zFunc, zTarget, r->id, r->file, &aSum[9 * k],
                              zNow, zHow)
                : SQLITE_NOMEM;
      sqlite3_free(zHow);
      sqlite3_free(zCur);
    }
  }
  sqlite3_free(aSum);
  return rc;
}

/* Current heads, comma-separated and sorted: see migrate.h. */
int migrate_current(sqlite3 *db, char **pzVersion, char **pzErr) {
  sqlite3_stmt *st = 0;
  int bExists, rc;
  MigStr s = {0};
  int n = 0;
  *pzVersion = 0;
  rc = migTableExists(db, "migrate_version", &bExists);
  if (rc || !bExists) {
    if (rc) migSetError(pzErr, rc, "%s", sqlite3_errmsg(db));
    return rc;
  }
  rc = sqlite3_prepare_v2(
      db, "SELECT version_num FROM main.migrate_version ORDER BY 1", -1, &st,
      0);
  if (rc) return migSetError(pzErr, rc, "%s", sqlite3_errmsg(db));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n++) migStrAppendZ(&s, ",");
    migStrAppendZ(&s, (const char *)sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    migStrReset(&s);
    return migSetError(pzErr, rc, "%s", sqlite3_errmsg(db));
  }
  if (s.rc) {
    migStrReset(&s);
    return SQLITE_NOMEM;
  }
  *pzVersion = n ? migStrFinish(&s) : 0;
  migStrReset(&s);
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
  int eStmt;           /* BK_LOG, BK_SAVE_SCRIPT or BK_DEL_SCRIPT */
  int iRev;            /* the revision, or -1 (stamp to base) */
  const char *zDir;    /* BK_LOG: direction */
  char *zBefore;       /* BK_LOG: owned */
  char *zAfter;        /* BK_LOG: owned */
  int bSum;            /* BK_LOG: record the revision's checksum */
  double ms;           /* BK_LOG: duration, < 0 for NULL */
  char zNow[32];       /* BK_LOG: start time */
} BkOp;

typedef struct Run {
  migrate_bundle *b;
  Emitter e;
  MigBits *aApplied;
  MigBits *aHead;
  MigBits *aHeadFlushed; /* heads as migrate_version holds them */
  BkOp *aOp;             /* queued bookkeeping */
  int nOp, nOpAlloc;
  int bClearVersion;     /* flush empties migrate_version first */
  const migrate_options *opt;
  const char *zTarget;
  char **pzErr;
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
  for (i = 0; i < n; i++) {
    if (i) migStrAppendZ(&s, ",");
    migStrAppendZ(&s, az[i]);
  }
  sqlite3_free(az);
  {
    char *z = migStrFinish(&s);
    if (z == 0) *pRc = SQLITE_NOMEM;
    return z;
  }
}

/* Sorted, comma-separated ids for messages and the version result. */
char *migJoinIds(migrate_bundle *b, const int *aIdx, int n);

/* Join a string list with sep ("" when empty). Caller frees; NULL on OOM. */
static char *joinList(const char *const *az, int n, const char *zSep) {
  MigStr s = {0};
  int i;
  for (i = 0; i < n; i++) {
    if (i) migStrAppendZ(&s, zSep);
    migStrAppendZ(&s, az[i]);
  }
  return migStrFinish(&s);
}

/* Current UTC time as ISO-8601 with milliseconds. */
static void nowIso(char *z, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(z, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)(ts.tv_nsec / 1000000));
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

/* Is any child or dependent of revision i applied? */
static int isBuiltOn(Run *p, int i) {
  const migrate_revision *r = &p->b->aRev[i];
  int k;
  for (k = 0; k < r->nchild; k++) {
    if (MIG_BIT_TEST(p->aApplied, r->child_idx[k])) return 1;
  }
  for (k = 0; k < r->ndependent; k++) {
    if (MIG_BIT_TEST(p->aApplied, r->dependent_idx[k])) return 1;
  }
  return 0;
}

/* Write revision i's stored copy (parents, downgrade) to migrate_scripts. */
static int emitSaveScript(Run *p, int i) {
  const migrate_revision *r = &p->b->aRev[i];
  char zSum[16];
  char *zPar = joinList(r->parents, r->nparent, ",");
  char *zDep = joinList(r->depends, r->ndepend, ",");
  int rc;
  snprintf(zSum, sizeof(zSum), "%08x", r->checksum);
  if (zPar == 0 || zDep == 0) {
    rc = SQLITE_NOMEM;
  } else {
    BkArg a[8] = {T(r->id),      T(r->file),       T(zPar),
                  T(zDep),       T(r->message),    T(zSum),
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

/* Write the queued bookkeeping and bring migrate_version up to date. */
static int flushBk(Run *p) {
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
      char zSum[16];
      BkArg a[7] = {TN(r ? r->id : 0), T(op->zDir), TN(op->zBefore),
                    TN(op->zAfter), {A_NULL, 0, 0, 0}, {A_NOW, 0, 0, 0},
                    {A_REAL, 0, op->ms, 0}};
      if (r && op->bSum) {
        snprintf(zSum, sizeof(zSum), "%08x", r->checksum);
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
    rc = emitExec(&p->e, p->e.bOffline ? "DELETE FROM migrate_version;\n"
                                       : "DELETE FROM migrate_version",
                  p->pzErr);
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
  return rc;
}

/* Bookkeeping after revision i was upgraded (bUp) or downgraded. */
static int recordStep(Run *p, int i, int bUp) {
  const migrate_revision *r = &p->b->aRev[i];
  int k, rc = SQLITE_OK;
  int nEdge = r->nparent + r->ndepend;
  if (bUp) {
    MIG_BIT_SET(p->aApplied, i);
    for (k = 0; k < nEdge && rc == SQLITE_OK; k++) {
      int j = k < r->nparent ? r->parent_idx[k] : r->depend_idx[k - r->nparent];
      if (MIG_BIT_TEST(p->aHead, j)) rc = setHead(p, j, 0);
    }
    if (rc == SQLITE_OK && !MIG_BIT_TEST(p->aHead, i)) rc = setHead(p, i, 1);
    if (rc == SQLITE_OK) rc = saveScript(p, i);
  } else {
    MIG_BIT_CLEAR(p->aApplied, i);
    if (MIG_BIT_TEST(p->aHead, i)) rc = setHead(p, i, 0);
    for (k = 0; k < nEdge && rc == SQLITE_OK; k++) {
      int j = k < r->nparent ? r->parent_idx[k] : r->depend_idx[k - r->nparent];
      if (MIG_BIT_TEST(p->aApplied, j) && !MIG_BIT_TEST(p->aHead, j) &&
          !isBuiltOn(p, j)) {
        rc = setHead(p, j, 1);
      }
    }
    if (rc == SQLITE_OK && !queueOp(p, BK_DEL_SCRIPT, i)) rc = SQLITE_NOMEM;
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
  return joinList(r->parents, r->nparent, ", ");
}

/* Prefix *pzErr with the function, target, revision and direction. */
static void blameStep(Run *p, const migrate_revision *r, int bUp,
                      const char *zTail) {
  char *zOld = p->pzErr ? *p->pzErr : 0;
  char *z = sqlite3_mprintf("%s('%s'): %s of %s (%s) failed at %s%s",
                            p->opt->zFunc, p->zTarget,
                            bUp ? "upgrade" : "downgrade", r->id, r->message,
                            zOld ? zOld : "?", zTail);
  if (z && p->pzErr) {
    sqlite3_free(*p->pzErr);
    *p->pzErr = z;
  } else {
    sqlite3_free(z);
  }
}

/* The connection this thread is applying revisions on (see internal.h).
** Set around each section so a migrate_rebuild() called from a revision
** knows the busy statements above it are the applier's own. */
static _Thread_local sqlite3 *applyingDb = 0;

sqlite3 *migApplyingDb(void) { return applyingDb; }

/* Refuse when another statement on db is active: see internal.h. */
int migCheckIdle(sqlite3 *db, int nCallerStmt, const char *zFunc,
                 char **pzErr) {
  sqlite3_stmt *s = 0;
  int nBusy = 0, nWrite = 0;
  if (applyingDb == db) {
    /* nested in our own applier: the outer statements are ours */
    return SQLITE_OK;
  }
  while ((s = sqlite3_next_stmt(db, s)) != 0) {
    if (sqlite3_stmt_busy(s)) {
      nBusy++;
      if (!sqlite3_stmt_readonly(s)) nWrite++;
    }
  }
  if (nBusy > nCallerStmt || (nCallerStmt && nWrite > 0)) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "%s() must run as a statement of its own, e.g. "
                       "SELECT %s(...); another statement on this "
                       "connection is still active (an unfinished SELECT, or "
                       "a call inside INSERT ... SELECT, a trigger or a "
                       "CHECK); finish or reset it first. Nothing was "
                       "changed",
                       zFunc, zFunc);
  }
  if (nCallerStmt && sqlite3_get_autocommit(db) && migTxnOpen(db)) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "%s() must run as a statement of its own, e.g. "
                       "SELECT %s(...); it was called from a statement "
                       "that reads tables (SELECT ... FROM), which keeps "
                       "them locked. Nothing was changed",
                       zFunc, zFunc);
  }
  return SQLITE_OK;
}

/* ======================================================================
** When a failed call cannot roll back
**
** Inside SELECT migrate_to(...), an out-of-memory error leaves SQLite's
** malloc-failed flag set until the outer statement ends, so no statement,
** not even ROLLBACK, can be prepared: the engine's transaction stays open
** with part of the migration in it.  The call then fails saying so, and a
** commit hook vetoes every COMMIT on that connection (turning it into a
** rollback) until the transaction ends, so the partial migration can never
** be committed.  The hooks replace any the application had installed.
*/
#define MIG_GUARDS 16
static struct {
  sqlite3 *db;
} aGuard[MIG_GUARDS];
static pthread_mutex_t guardMutex = PTHREAD_MUTEX_INITIALIZER;

static int guardFind(sqlite3 *db) {
  int i;
  for (i = 0; i < MIG_GUARDS; i++) {
    if (aGuard[i].db == db) return i;
  }
  return -1;
}

/* Commit hook: veto while the connection is guarded. */
static int guardCommit(void *pArg) {
  int i, bVeto;
  pthread_mutex_lock(&guardMutex);
  i = guardFind((sqlite3 *)pArg);
  bVeto = i >= 0;
  if (bVeto) aGuard[i].db = 0; /* the veto rolls the transaction back */
  pthread_mutex_unlock(&guardMutex);
  return bVeto;
}

/* Rollback hook: the transaction is gone, so is the guard. */
static void guardRollback(void *pArg) {
  int i;
  pthread_mutex_lock(&guardMutex);
  i = guardFind((sqlite3 *)pArg);
  if (i >= 0) aGuard[i].db = 0;
  pthread_mutex_unlock(&guardMutex);
}

/* Guard db; returns 1 when a slot was free. */
static int guardArm(sqlite3 *db) {
  int i;
  pthread_mutex_lock(&guardMutex);
  i = guardFind(db);
  if (i < 0) i = guardFind(0);
  if (i >= 0) aGuard[i].db = db;
  pthread_mutex_unlock(&guardMutex);
  if (i < 0) return 0;
  sqlite3_commit_hook(db, guardCommit, db);
  sqlite3_rollback_hook(db, guardRollback, db);
  return 1;
}

/* ======================================================================
** The run lock for Transaction: none revisions
**
** Such a revision runs outside a transaction, so the write lock is given up
** while it runs.  To keep another process from reading the old version and
** running the same revision, a row in migrate_lock is committed with the
** steps before it and deleted with its bookkeeping.  A run that finds the
** row waits (within the connection's busy timeout) while the owner lives;
** a row whose process is gone is a crash left over and is taken over.  The
** table exists only while the lock is held.
*/
static const char zLockSchemaSql[] =
    "CREATE TABLE IF NOT EXISTS migrate_lock(\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  pid INTEGER NOT NULL,\n"
    "  revision TEXT NOT NULL,\n"
    "  since TEXT NOT NULL\n"
    ")";

static atomic_int nLockHeld = 0; /* runs in this process holding the lock */

/* In the current transaction: is a Transaction: none revision of another
** run still under way?  *pbHeld 1 with its pid/revision/start when so; a
** row left by a process that is gone is deleted (taken over). */
static int lockCheck(sqlite3 *db, int *pbHeld, long long *pPid, char *zRev,
                     size_t nRev, char *zSince, size_t nSince) {
  sqlite3_stmt *st;
  int bExists, rc;
  *pbHeld = 0;
  rc = migTableExists(db, "migrate_lock", &bExists);
  if (rc || !bExists) return rc;
  rc = sqlite3_prepare_v2(
      db, "SELECT pid, revision, since FROM main.migrate_lock WHERE id = 1",
      -1, &st, 0);
  if (rc) return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    long long pid = sqlite3_column_int64(st, 0);
    int bAlive;
    snprintf(zRev, nRev, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(zSince, nSince, "%s", (const char *)sqlite3_column_text(st, 2));
    if (pid == (long long)getpid()) {
      bAlive = atomic_load(&nLockHeld) > 0;
    } else {
      bAlive = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
    }
    *pPid = pid;
    rc = SQLITE_OK;
    if (bAlive) {
      *pbHeld = 1;
    }
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && !*pbHeld) {
    /* a crash left it (or it is empty): take it over */
    rc = sqlite3_exec(db, "DROP TABLE main.migrate_lock", 0, 0, 0);
  }
  return rc;
}

/* Take the lock for revision zRev (inside the transaction about to be
** committed). */
static int lockTake(sqlite3 *db, const char *zRev, const char *zNow,
                    char **pzErr) {
  sqlite3_stmt *st = 0;
  int rc = sqlite3_exec(db, zLockSchemaSql, 0, 0, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db,
                            "INSERT OR REPLACE INTO main.migrate_lock(id, "
                            "pid, revision, since) VALUES (1, ?, ?, ?)",
                            -1, &st, 0);
  }
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, (long long)getpid());
    sqlite3_bind_text(st, 2, zRev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, zNow, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
  }
  sqlite3_finalize(st);
  if (rc) {
    return migSetError(pzErr, rc, "cannot write migrate_lock: %s",
                       sqlite3_errmsg(db));
  }
  atomic_fetch_add(&nLockHeld, 1);
  return SQLITE_OK;
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

/* Append PRAGMA foreign_key_check's rows to *pOut, one
** "table|rowid|parent" line each (rowid NULL for WITHOUT ROWID tables). */
static int fkViolations(sqlite3 *db, MigStr *pOut) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "PRAGMA main.foreign_key_check", -1, &st, 0);
  if (rc) return rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    migStrAppendf(pOut, "%s|%s|%s\n", sqlite3_column_text(st, 0),
                  sqlite3_column_type(st, 1) == SQLITE_NULL
                      ? "NULL"
                      : (const char *)sqlite3_column_text(st, 1),
                  sqlite3_column_text(st, 2));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return rc;
  return pOut->rc;
}

/* With foreign keys enforced by the caller: fail if foreign_key_check finds
** a violation that was not there before the call (zBefore). */
static int fkCheckNew(sqlite3 *db, const char *zBefore, const char *zFunc,
                      const char *zTarget, char **pzErr) {
  MigStr now = {0};
  int rc = fkViolations(db, &now);
  char *z;
  if (rc) {
    migStrReset(&now);
    return migSetError(pzErr, rc, "%s('%s'): PRAGMA foreign_key_check "
                       "failed: %s", zFunc, zTarget, sqlite3_errmsg(db));
  }
  z = migFkFirstNew(zBefore, now.z, &rc);
  if (z) {
    rc = migSetError(pzErr, SQLITE_CONSTRAINT,
                     "%s('%s'): FOREIGN KEY constraint failed after the "
                     "migration: %s, which has no matching row (PRAGMA "
                     "foreign_key_check). Nothing was changed; fix the data "
                     "in the revision that removed or changed the parent "
                     "rows",
                     zFunc, zTarget, z);
    sqlite3_free(z);
  }
  migStrReset(&now);
  return rc;
}

/* Prefix *pzErr with "zFunc('zTarget'): " (not for out of memory). */
static void prefixCall(int rc, const char *zFunc, const char *zTarget,
                       char **pzErr) {
  if (rc != SQLITE_NOMEM && pzErr && *pzErr) {
    char *z = sqlite3_mprintf("%s('%s'): %s", zFunc, zTarget, *pzErr);
    if (z) {
      sqlite3_free(*pzErr);
      *pzErr = z;
    }
  }
}

/* The heart: see migrate.h.  pDb NULL means offline (zFrom given). */
static int runPlan(sqlite3 *db, migrate_bundle *b, const char *zFrom,
                   const char *zTarget, const migrate_options *o,
                   int bOffline, char **pzOut, char **pzErr) {
  Run r;
  MigPlan plan;
  int *aCur = 0, nCur = 0, rc, i;
  int bAuto = 0, bSavepoint = 0;
  int bFk = 0;          /* the caller enforces foreign keys */
  int bCommitted = 0;   /* steps were committed (Transaction: none) */
  int bLocked = 0;      /* this run holds migrate_lock */
  char *zBefore = 0;
  char *zFkBefore = 0;  /* foreign_key_check rows before the call */
  char *zUnknownBefore = 0; /* stamp over heads nobody knows: the old rows */
  migrate_bundle *pAug = 0;

  memset(&r, 0, sizeof(r));
  memset(&plan, 0, sizeof(plan));
  r.b = b;
  r.opt = o;
  r.zTarget = zTarget;
  r.pzErr = pzErr;
  r.e.db = db;
  r.e.bOffline = bOffline;
  *pzOut = 0;

  if (zTarget == 0) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "%s(): target is NULL; give head, heads, base, a "
                       "revision, +N or -N",
                       o->zFunc);
  }

  if (!bOffline && applyingDb == db) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "%s() cannot be called from a revision script while "
                       "the database is being migrated; write the revision's "
                       "SQL directly",
                       o->zFunc);
  }
  if (!bOffline) {
    rc = migCheckIdle(db, o->nCallerStmt, o->zFunc, pzErr);
    if (rc) return rc;
    bAuto = sqlite3_get_autocommit(db);
    /* Scripts run with foreign-key enforcement off, so rebuilding a parent
    ** table never cascades into its children; foreign_key_check runs before
    ** the commit instead.  Outside a transaction the PRAGMA works; inside
    ** one only sqlite3_db_config does (SQLITE-NOTES). */
    rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, -1, &bFk);
    if (rc == SQLITE_OK && bFk) {
      rc = bAuto ? sqlite3_exec(db, "PRAGMA foreign_keys=OFF", 0, 0, 0)
                 : sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 0, 0);
    }
    if (rc == SQLITE_OK) {
      rc = emitExec(&r.e, bAuto ? "BEGIN IMMEDIATE" : "SAVEPOINT migrate",
                    pzErr);
    } else {
      migSetError(pzErr, rc, "cannot switch foreign keys off: %s",
                  sqlite3_errmsg(db));
    }
    if (rc) {
      if (bFk) {
        if (bAuto) {
          sqlite3_exec(db, "PRAGMA foreign_keys=ON", 0, 0, 0);
        } else {
          sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, 0);
        }
      }
      char *z = sqlite3_mprintf("%s('%s'): cannot %s: %s%s", o->zFunc, zTarget,
                                bAuto ? "take the write lock"
                                      : "open a savepoint",
                                *pzErr,
                                rc == SQLITE_BUSY
                                    ? " (another connection is writing and "
                                      "the busy timeout expired or is not "
                                      "set; PRAGMA busy_timeout sets it)"
                                    : "");
      if (z) {
        sqlite3_free(*pzErr);
        *pzErr = z;
      }
      return rc;
    }
    bSavepoint = !bAuto;
    /* another run in the middle of a Transaction: none revision? */
    {
      int nWaited = 0, nTimeout = 0;
      sqlite3_stmt *st;
      if (sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &st, 0) == 0) {
        if (sqlite3_step(st) == SQLITE_ROW) nTimeout = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
      }
      for (;;) {
        int bHeld;
        long long pid = 0;
        char zRev[MIG_MAX_ID + 1], zSince[40];
        rc = lockCheck(db, &bHeld, &pid, zRev, sizeof(zRev), zSince,
                       sizeof(zSince));
        if (rc) {
          migSetError(pzErr, rc, "%s('%s'): cannot read migrate_lock: %s",
                      o->zFunc, zTarget, sqlite3_errmsg(db));
          goto fail;
        }
        if (!bHeld) break;
        if (!bAuto || nWaited >= nTimeout) {
          rc = migSetError(pzErr, SQLITE_BUSY,
                           "%s('%s'): another migration (process %lld) is "
                           "running revision %s outside a transaction "
                           "(Transaction: none) since %s; try again when it "
                           "has finished%s",
                           o->zFunc, zTarget, pid, zRev, zSince,
                           bAuto ? " or set a longer busy timeout" : "");
          goto fail;
        }
        sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
        sqlite3_sleep(20);
        nWaited += 20;
        rc = emitExec(&r.e, "BEGIN IMMEDIATE", pzErr);
        if (rc) goto fail;
      }
    }
  }

  /* -- where are we, where do we go ------------------------------------ */
  if (zFrom) {
    if (strcmp(zFrom, "base") != 0 && zFrom[0]) {
      /* a comma-separated list of revisions (prefixes resolved) */
      const char *z = zFrom;
      int nAlloc = 0;
      while (*z) {
        const char *zE = strchr(z, ',');
        size_t n = zE ? (size_t)(zE - z) : strlen(z);
        char zId[MIG_MAX_ID + 1];
        int idx;
        if (n == 0 || n > MIG_MAX_ID) {
          rc = migSetError(pzErr, SQLITE_ERROR,
                           "%s: bad starting revision list '%s'", o->zFunc,
                           zFrom);
          goto fail;
        }
        memcpy(zId, z, n);
        zId[n] = 0;
        idx = migrate_bundle_find(b, zId);
        if (idx < 0) {
          rc = migSetError(pzErr, SQLITE_ERROR,
                           "%s: No such revision or branch '%s' (starting "
                           "revision)",
                           o->zFunc, zId);
          goto fail;
        }
        if (nCur >= nAlloc) {
          int *aNew;
          nAlloc = nAlloc ? nAlloc * 2 : 4;
          aNew = sqlite3_realloc64(aCur, sizeof(int) * (size_t)nAlloc);
          if (aNew == 0) {
            rc = SQLITE_NOMEM;
            goto fail;
          }
          aCur = aNew;
        }
        aCur[nCur++] = idx;
        z += n;
        if (*z == ',') z++;
      }
    }
  } else {
    char *zWho = sqlite3_mprintf("%s('%s')", o->zFunc, zTarget);
    if (zWho == 0) {
      rc = SQLITE_NOMEM;
      goto fail;
    }
    rc = migReadVersion(db, b, zWho, &aCur, &nCur, &pAug, pzErr);
    sqlite3_free(zWho);
    if (rc == MIG_UNKNOWN_HEAD && o->mode == MIGRATE_STAMP && !bOffline) {
      /* stamping replaces a version nobody knows: start from base and
      ** clear the table when the new version is written */
      rc = migrate_current(db, &zUnknownBefore, pzErr);
      if (rc) goto fail;
      r.bClearVersion = 1;
    }
    if (rc) goto fail;
    if (pAug) {
      b = pAug; /* the bundle plus the revisions the database stores */
      r.b = b;
    }
  }

  rc = migPlan(b, aCur, nCur, zTarget, o->mode, &plan, pzErr);
  if (rc) {
    prefixCall(rc, o->zFunc, zTarget, pzErr);
    goto fail;
  }
  for (i = 0; i < plan.nStep; i++) {
    const migrate_revision *rv = &b->aRev[plan.aStep[i].iRev];
    /* a decoded bundle inflates the scripts the plan runs, and checks their
    ** statements, before anything changes */
    rc = migBundleLoad(b, plan.aStep[i].iRev, pzErr);
    if (rc == SQLITE_OK && !rv->statements_checked) {
      rc = migScriptCheckStatements(rv, pzErr);
    }
    if (rc) {
      prefixCall(rc, o->zFunc, zTarget, pzErr);
      goto fail;
    }
    if (!plan.aStep[i].isUpgrade && rv->downgrade == 0) {
      rc = migSetError(pzErr, SQLITE_ERROR,
                       "%s('%s'): revision %s (%s) has no '-- migrate:"
                       "downgrade' section, so it cannot be downgraded; "
                       "nothing was changed",
                       o->zFunc, zTarget, rv->id, rv->file);
      goto fail;
    }
    if (rv->no_transaction && bSavepoint) {
      rc = migSetError(pzErr, SQLITE_ERROR,
                       "%s('%s'): revision %s (%s) is marked 'Transaction: "
                       "none' and cannot run inside the transaction this "
                       "call was made in; COMMIT first and call %s() in "
                       "autocommit mode. Nothing was changed",
                       o->zFunc, zTarget, rv->id, rv->file, o->zFunc);
      goto fail;
    }
  }

  /* -- state for head maintenance -------------------------------------- */
  rc = migAppliedOf(b, aCur, nCur, &r.aApplied);
  if (rc) goto fail;
  r.aHead = sqlite3_malloc64(MIG_BITS_WORDS(b->nRev ? b->nRev : 1) *
                             sizeof(MigBits));
  if (r.aHead == 0) {
    rc = SQLITE_NOMEM;
    goto fail;
  }
  memset(r.aHead, 0, MIG_BITS_WORDS(b->nRev ? b->nRev : 1) * sizeof(MigBits));
  for (i = 0; i < nCur; i++) MIG_BIT_SET(r.aHead, aCur[i]);
  r.aHeadFlushed = sqlite3_malloc64(MIG_BITS_WORDS(b->nRev ? b->nRev : 1) *
                                    sizeof(MigBits));
  if (r.aHeadFlushed == 0) {
    rc = SQLITE_NOMEM;
    goto fail;
  }
  memcpy(r.aHeadFlushed, r.aHead,
         MIG_BITS_WORDS(b->nRev ? b->nRev : 1) * sizeof(MigBits));
  if (!zFrom && plan.nStep > 0) {
    /* the version came from the database: its scripts must match */
    rc = migVerifyChecksums(db, b, r.aApplied, aCur, nCur, 0, 0, o->zFunc,
                            zTarget, pzErr);
    if (rc) goto fail;
  }
  if (!bOffline && plan.nStep > 0) {
    if (bFk) {
      MigStr fk = {0};
      rc = fkViolations(db, &fk);
      zFkBefore = migStrFinish(&fk);
      if (rc == SQLITE_OK && zFkBefore == 0) rc = SQLITE_NOMEM;
      if (rc) goto fail;
    }
  }

  if (bOffline) {
    char *zNow = headString(&r, &rc);
    if (rc) goto fail;
    migStrAppendf(&r.e.out, "-- sqlite-migrate %s: %s -> %s\n\n",
                  MIGRATE_VERSION, zNow ? zNow : "base", zTarget);
    sqlite3_free(zNow);
    emitExec(&r.e, "BEGIN;\n", pzErr);
  }
  if (plan.nStep > 0 || plan.isStamp) {
    rc = emitExec(&r.e, zSchemaSql, pzErr);
    if (rc) goto fail;
    if (bOffline) migStrAppendZ(&r.e.out, "\n");
  }

  zBefore = zUnknownBefore ? sqlite3_mprintf("%s", zUnknownBefore)
                           : headString(&r, &rc);
  if (zUnknownBefore && zBefore == 0) rc = SQLITE_NOMEM;
  if (rc) goto fail;

  /* -- stamp ------------------------------------------------------------ */
  if (plan.isStamp) {
    MigBits *aNew = 0;
    char *zAfter;
    /* rows: clear the old heads, set the new ones */
    for (i = 0; i < b->nRev && rc == SQLITE_OK; i++) {
      if (MIG_BIT_TEST(r.aHead, i)) rc = setHead(&r, i, 0);
    }
    for (i = 0; i < plan.nStamp && rc == SQLITE_OK; i++) {
      rc = setHead(&r, plan.aStamp[i], 1);
    }
    if (rc == SQLITE_OK) rc = migAppliedOf(b, plan.aStamp, plan.nStamp, &aNew);
    /* stored scripts follow the applied set (their downgrades are stored,
    ** so a decoded bundle inflates them; a damaged one fails the stamp,
    ** whose transaction then rolls back) */
    for (i = 0; i < b->nRev && rc == SQLITE_OK; i++) {
      int bWas = MIG_BIT_TEST(r.aApplied, i), bIs = MIG_BIT_TEST(aNew, i);
      if (bIs && !bWas) {
        rc = migBundleLoad(b, i, pzErr);
        if (rc) {
          prefixCall(rc, o->zFunc, zTarget, pzErr);
        } else {
          rc = saveScript(&r, i);
        }
      }
      if (!bIs && bWas) {
        if (!queueOp(&r, BK_DEL_SCRIPT, i)) rc = SQLITE_NOMEM;
      }
    }
    sqlite3_free(aNew);
    if (rc) goto fail;
    nowIso(r.e.zNow, sizeof(r.e.zNow));
    zAfter = headString(&r, &rc);
    if (rc) goto fail;
    if (plan.nStamp == 0) {
      rc = logStep(&r, -1, "stamp", zBefore, zAfter, 0, 0.0);
    }
    for (i = 0; i < plan.nStamp && rc == SQLITE_OK; i++) {
      rc = logStep(&r, plan.aStamp[i], "stamp", zBefore, zAfter, 1, 0.0);
    }
    sqlite3_free(zAfter);
    if (rc) goto fail;
  }

  /* -- the steps -------------------------------------------------------- */
  for (i = 0; i < plan.nStep; i++) {
    int iRev = plan.aStep[i].iRev;
    int bUp = plan.aStep[i].isUpgrade;
    const migrate_revision *rv = &b->aRev[iRev];
    double t0 = monoMs(), ms;
    char *zAfter;
    char *zPar = parentsText(rv);
    if (zPar == 0) {
      rc = SQLITE_NOMEM;
      goto fail;
    }
    nowIso(r.e.zNow, sizeof(r.e.zNow));
    if (rv->no_transaction) {
      /* commit what came before, with the run lock; run this revision
      ** outside a transaction */
      rc = flushBk(&r);
      if (rc == SQLITE_OK && bFk && !bOffline) {
        rc = fkCheckNew(db, zFkBefore, o->zFunc, zTarget, pzErr);
      }
      if (rc == SQLITE_OK && !bOffline) {
        rc = lockTake(db, rv->id, r.e.zNow, pzErr);
        bLocked = rc == SQLITE_OK;
      }
      if (rc == SQLITE_OK) {
        rc = emitExec(&r.e, bOffline ? "COMMIT;\n\n" : "COMMIT", pzErr);
      }
      if (rc) {
        sqlite3_free(zPar);
        goto fail;
      }
      bCommitted = !bOffline;
    }
    if (bOffline) {
      migStrAppendf(&r.e.out, "-- Running %s %s -> %s, %s\n",
                    bUp ? "upgrade" : "downgrade", bUp ? zPar : rv->id,
                    bUp ? rv->id : zPar, rv->message);
    }
    {
      /* a nested run on another connection (drift's scratch database)
      ** must give the marker back */
      sqlite3 *pPrev = applyingDb;
      if (!bOffline) applyingDb = db;
      rc = emitSection(&r.e, rv, bUp, pzErr);
      applyingDb = pPrev;
    }
    if (rc) {
      sqlite3_free(zPar);
      if (!bOffline && bSavepoint && sqlite3_get_autocommit(db)) {
        bSavepoint = 0;
        blameStep(&r, rv, bUp,
                  "; SQLite rolled back the caller's whole transaction, so "
                  "everything since its BEGIN is undone");
      } else {
        blameStep(&r, rv, bUp,
                  bCommitted ? "; the revisions before it stay applied"
                             : "; nothing was changed");
      }
      goto fail;
    }
    if (rv->no_transaction) {
      rc = emitExec(&r.e, bOffline ? "BEGIN;\n" : "BEGIN IMMEDIATE", pzErr);
      if (rc) {
        sqlite3_free(zPar);
        goto fail;
      }
    }
    rc = recordStep(&r, iRev, bUp);
    ms = monoMs() - t0;
    zAfter = rc ? 0 : headString(&r, &rc);
    if (rc == SQLITE_OK) {
      rc = logStep(&r, iRev, bUp ? "upgrade" : "downgrade", zBefore, zAfter,
                   1, ms);
    }
    if (rc == SQLITE_OK && rv->no_transaction) {
      /* it ran outside a transaction: record it durably now, give the
      ** lock back, and go on in a new transaction */
      int bLast = i == plan.nStep - 1;
      rc = flushBk(&r);
      if (rc == SQLITE_OK && bLocked) rc = lockDrop(db, pzErr);
      if (rc == SQLITE_OK && bLast && !bOffline) {
        /* the last step: the result now, nothing may fail after this
        ** commit */
        *pzOut = headString(&r, &rc);
      }
      if (rc == SQLITE_OK) {
        rc = emitExec(&r.e, bOffline ? "COMMIT;\n" : "COMMIT", pzErr);
      }
      if (rc == SQLITE_OK && bLocked) {
        bLocked = 0;
        atomic_fetch_sub(&nLockHeld, 1);
      }
      if (rc == SQLITE_OK && bLast && !bOffline) {
        if (o->xProgress) {
          o->xProgress(o->pProgressArg, rv, bUp, bUp ? zPar : rv->id,
                       bUp ? rv->id : zPar, ms);
        }
        sqlite3_free(zPar);
        sqlite3_free(zAfter);
        bSavepoint = 0;
        goto done; /* committed: the run is complete */
      }
      if (rc == SQLITE_OK) {
        rc = emitExec(&r.e, bOffline ? "BEGIN;\n" : "BEGIN IMMEDIATE", pzErr);
      }
    }
    if (rc == SQLITE_OK && bOffline) migStrAppendZ(&r.e.out, "\n");
    if (rc == SQLITE_OK && o->xProgress && !bOffline) {
      o->xProgress(o->pProgressArg, rv, bUp, bUp ? zPar : rv->id,
                   bUp ? rv->id : zPar, ms);
    }
    sqlite3_free(zPar);
    sqlite3_free(zBefore);
    zBefore = zAfter;
    if (rc) goto fail;
  }

  /* -- finish ----------------------------------------------------------- */
  rc = flushBk(&r);
  if (rc) goto fail;
  if (bOffline) {
    rc = emitExec(&r.e, "COMMIT;\n", pzErr);
    if (rc) goto fail;
    *pzOut = migStrFinish(&r.e.out);
    if (*pzOut == 0) rc = SQLITE_NOMEM;
  } else {
    int k;
    for (k = 0; k < BK_N; k++) {
      sqlite3_finalize(r.e.aStmt[k]);
      r.e.aStmt[k] = 0;
    }
    if (bFk && (plan.nStep > 0 || plan.isStamp)) {
      rc = fkCheckNew(db, zFkBefore, o->zFunc, zTarget, pzErr);
      if (rc) goto fail;
    }
    /* the result first: nothing may fail after the commit */
    *pzOut = headString(&r, &rc);
    if (rc) goto fail;
    rc = emitExec(&r.e, bSavepoint ? "RELEASE migrate" : "COMMIT", pzErr);
    if (rc) {
      char *z = sqlite3_mprintf("%s('%s'): cannot commit: %s", o->zFunc,
                                zTarget, *pzErr);
      if (z) {
        sqlite3_free(*pzErr);
        *pzErr = z;
      }
      goto fail;
    }
    bSavepoint = 0;
  }
  goto done;

fail:
  sqlite3_free(*pzOut);
  *pzOut = 0;
  if (bLocked) {
    /* the Transaction: none revision failed: give the lock back */
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE; DROP TABLE main.migrate_lock; "
                         "COMMIT",
                     0, 0, 0) != SQLITE_OK &&
        !sqlite3_get_autocommit(db)) {
      sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    }
    atomic_fetch_sub(&nLockHeld, 1);
    bLocked = 0;
  }
  if (rc == SQLITE_NOMEM) {
    migSetError(pzErr, SQLITE_NOMEM, "%s('%s'): out of memory", o->zFunc,
                zTarget);
  }
  emitterClose(&r.e);
  if (!bOffline) {
    int bStuck = 0;
    if (bSavepoint) {
      if (sqlite3_get_autocommit(db)) {
        char *z = sqlite3_mprintf(
            "%s; SQLite rolled back the caller's whole transaction",
            *pzErr ? *pzErr : "error");
        if (z) {
          sqlite3_free(*pzErr);
          *pzErr = z;
        }
      } else if (sqlite3_exec(db, "ROLLBACK TO migrate; RELEASE migrate", 0,
                              0, 0) != SQLITE_OK) {
        bStuck = 1;
      }
    } else if (!sqlite3_get_autocommit(db) && bAuto) {
      sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
      bStuck = !sqlite3_get_autocommit(db);
    }
    if (bStuck) {
      /* see "When a failed call cannot roll back" above */
      int bGuarded = guardArm(db);
      char *z = sqlite3_mprintf(
          "%s; the partial migration could not be rolled back inside the "
          "call: run ROLLBACK%s",
          *pzErr ? *pzErr : sqlite3_errstr(rc),
          bGuarded ? " (a COMMIT on this connection is refused until then)"
                   : "");
      if (z) {
        sqlite3_free(*pzErr);
        *pzErr = z;
      }
    }
  }
done:
  if (bFk) {
    /* restore the caller's setting, whatever happened */
    if (bAuto) {
      if (sqlite3_get_autocommit(db)) {
        sqlite3_exec(db, "PRAGMA foreign_keys=ON", 0, 0, 0);
      }
    } else {
      sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, 0);
    }
  }
  emitterClose(&r.e);
  migPlanFree(&plan);
  sqlite3_free(zFkBefore);
  sqlite3_free(zUnknownBefore);
  migrate_bundle_free(pAug);
  sqlite3_free(aCur);
  sqlite3_free(r.aApplied);
  sqlite3_free(r.aHead);
  sqlite3_free(r.aHeadFlushed);
  freeOps(&r);
  sqlite3_free(r.aOp);
  sqlite3_free(zBefore);
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
