/*
** txn.c — the write frame both writers use: migrate_to()/migrate_stamp()
** (apply.c) and migrate_rebuild() (rebuild.c).
**
**     MigTxn t;
**     migTxnInit(&t, db, "migrate");
**     rc = migCheckIdle(db, 1, "migrate_to", &zErr);  // nothing else running
**     if (rc == SQLITE_OK) rc = migTxnFkOff(&t);      // remembered, restored
**     if (rc == SQLITE_OK) rc = migTxnBegin(&t);      // BEGIN IMMEDIATE or
**     ... the work ...                                //   SAVEPOINT migrate
**     rc ? migTxnRollback(&t) : migTxnCommit(&t);
**     migTxnEnd(&t);                                  // settings back
**
** What it holds:
**   - the idle check: a writer refuses to start while another statement on
**     the connection is active, and knows the statements of its own applier
**     (a migrate_rebuild() inside a revision) from the caller's;
**   - the frame: in autocommit mode BEGIN IMMEDIATE (so the busy timeout
**     applies), inside the caller's transaction a named SAVEPOINT; foreign-key
**     enforcement off for the work; the connection settings a script may
**     change (foreign_keys, legacy_alter_table, recursive_triggers,
**     defer_foreign_keys) put back as the caller had them (outside a
**     transaction PRAGMA foreign_keys works, inside one only
**     sqlite3_db_config does); a rollback that tells "undone" from "SQLite
**     already rolled back the caller's whole transaction" from "stuck";
**   - the commit-hook guard for a transaction that cannot be rolled back;
**   - the foreign-key snapshot: PRAGMA foreign_key_check rows before the
**     work, compared with the rows after it.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <pthread.h>
#include <string.h>

/* ======================================================================
** The applier's connection and the idle check
*/

/* The connection this thread is applying revisions on (see internal.h).
** Set around each section so a migrate_rebuild() called from a revision
** knows the busy statements above it are the applier's own. */
static _Thread_local sqlite3 *applyingDb = 0;

sqlite3 *migApplyingDb(void) {
  return applyingDb;
}

sqlite3 *migApplyingSet(sqlite3 *db) {
  sqlite3 *pPrev = applyingDb;
  applyingDb = db;
  return pPrev;
}

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
** The frame
*/

/* The per-connection settings a script may change and the call puts back
** (the README's Safety section lists them).  op: the sqlite3_db_config
** verb, or 0 for a setting only its PRAGMA reads and writes. */
static const struct {
  const char *zName;
  int op;
} aSetting[MIG_TXN_NSET] = {
    {"foreign_keys", SQLITE_DBCONFIG_ENABLE_FKEY},
    {"legacy_alter_table", SQLITE_DBCONFIG_LEGACY_ALTER_TABLE},
    {"recursive_triggers", 0},
    {"defer_foreign_keys", 0},
};

/* Setting k of db: 0, 1, or -1 when it cannot be read. */
static int settingGet(sqlite3 *db, int k) {
  int v = -1;
  if (aSetting[k].op) {
    if (sqlite3_db_config(db, aSetting[k].op, -1, &v) != SQLITE_OK) v = -1;
  } else {
    sqlite3_stmt *st = 0;
    char *z = sqlite3_mprintf("PRAGMA %s", aSetting[k].zName);
    if (z && sqlite3_prepare_v2(db, z, -1, &st, 0) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int(st, 0) != 0;
    }
    sqlite3_finalize(st);
    sqlite3_free(z);
  }
  return v;
}

/* Switch foreign keys to bOn, in or out of a transaction. */
static void fkSet(sqlite3 *db, int bOn) {
  if (sqlite3_get_autocommit(db)) {
    sqlite3_exec(db, bOn ? "PRAGMA foreign_keys=ON" : "PRAGMA foreign_keys=OFF",
                 0, 0, 0);
  }
  /* the PRAGMA is a no-op inside a transaction; db_config is not */
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, bOn, 0);
}

/* Set setting k of db to bOn (best effort: the caller's call is over). */
static void settingSet(sqlite3 *db, int k, int bOn) {
  if (aSetting[k].op == SQLITE_DBCONFIG_ENABLE_FKEY) {
    fkSet(db, bOn);
  } else if (aSetting[k].op) {
    sqlite3_db_config(db, aSetting[k].op, bOn, 0);
  } else {
    char *z =
        sqlite3_mprintf("PRAGMA %s=%s", aSetting[k].zName, bOn ? "ON" : "OFF");
    if (z) sqlite3_exec(db, z, 0, 0, 0);
    sqlite3_free(z);
  }
}

void migTxnInit(MigTxn *t, sqlite3 *db, const char *zSavepoint) {
  int k;
  memset(t, 0, sizeof(*t));
  t->db = db;
  t->zSavepoint = zSavepoint;
  t->bAuto = sqlite3_get_autocommit(db);
  for (k = 0; k < MIG_TXN_NSET; k++) t->aWas[k] = settingGet(db, k);
  t->bSaved = 1;
}

int migTxnFkOff(MigTxn *t) {
  int bFk = 0;
  int rc = sqlite3_db_config(t->db, SQLITE_DBCONFIG_ENABLE_FKEY, -1, &bFk);
  if (rc || !bFk) return rc;
  rc = t->bAuto ? sqlite3_exec(t->db, "PRAGMA foreign_keys=OFF", 0, 0, 0)
                : sqlite3_db_config(t->db, SQLITE_DBCONFIG_ENABLE_FKEY, 0, 0);
  t->bFk = 1; /* restored by migTxnEnd() even when switching failed */
  return rc;
}

/* Run one statement of the frame, zArg appended to zVerb. */
static int txnExec(MigTxn *t, const char *zVerb, const char *zArg) {
  char *z = sqlite3_mprintf("%s%s", zVerb, zArg ? zArg : "");
  int rc;
  if (z == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(t->db, z, 0, 0, 0);
  sqlite3_free(z);
  return rc;
}

int migTxnBegin(MigTxn *t) {
  int rc = t->bAuto ? txnExec(t, "BEGIN IMMEDIATE", 0)
                    : txnExec(t, "SAVEPOINT ", t->zSavepoint);
  t->bOpen = rc == SQLITE_OK;
  return rc;
}

int migTxnCommit(MigTxn *t) {
  int rc = t->bAuto ? txnExec(t, "COMMIT", 0)
                    : txnExec(t, "RELEASE ", t->zSavepoint);
  if (rc == SQLITE_OK) t->bOpen = 0;
  return rc;
}

int migTxnLost(const MigTxn *t) {
  return t->bOpen && !t->bAuto && sqlite3_get_autocommit(t->db);
}

int migTxnRollback(MigTxn *t) {
  int rc = SQLITE_OK;
  if (!t->bOpen) return MIG_TXN_UNDONE;
  t->bOpen = 0;
  if (t->bAuto) {
    if (sqlite3_get_autocommit(t->db)) return MIG_TXN_UNDONE;
    rc = sqlite3_exec(t->db, "ROLLBACK", 0, 0, 0);
    return rc || !sqlite3_get_autocommit(t->db) ? MIG_TXN_STUCK
                                                : MIG_TXN_UNDONE;
  }
  if (sqlite3_get_autocommit(t->db)) return MIG_TXN_LOST;
  {
    char *z = sqlite3_mprintf("ROLLBACK TO %s; RELEASE %s", t->zSavepoint,
                              t->zSavepoint);
    rc = z ? sqlite3_exec(t->db, z, 0, 0, 0) : SQLITE_NOMEM;
    sqlite3_free(z);
  }
  return rc ? MIG_TXN_STUCK : MIG_TXN_UNDONE;
}

void migTxnEnd(MigTxn *t) {
  int k;
  for (k = 0; t->bSaved && k < MIG_TXN_NSET; k++) {
    int bWas = t->aWas[k];
    if (k == 0 && bWas < 0 && t->bFk) bWas = 1;
    if (aSetting[k].op == 0 && !t->bPragma) continue;
    if (bWas >= 0 && settingGet(t->db, k) != bWas) {
      settingSet(t->db, k, bWas);
    }
  }
  if (!t->bSaved && t->bFk) fkSet(t->db, 1);
  t->bFk = 0;
  t->bSaved = 0;
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
static struct { sqlite3 *db; } aGuard[MIG_GUARDS];
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

int migTxnGuard(sqlite3 *db) {
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
** The foreign-key snapshot
*/

int migFkRows(sqlite3 *db, const char *zTab, const char *zParent,
              MigStr *pOut) {
  sqlite3_stmt *st = 0;
  int rc;
  if (zTab) {
    rc = sqlite3_prepare_v2(db,
                            "SELECT \"table\", rowid, parent FROM "
                            "pragma_foreign_key_check(?1, 'main')",
                            -1, &st, 0);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, zTab, -1, SQLITE_STATIC);
  } else {
    rc = sqlite3_prepare_v2(db, "PRAGMA main.foreign_key_check", -1, &st, 0);
  }
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zP = (const char *)sqlite3_column_text(st, 2);
    rc = SQLITE_OK;
    if (zParent && sqlite3_stricmp(zP ? zP : "", zParent) != 0) continue;
    migStrAppendf(pOut, "%s|%s|%s\n", sqlite3_column_text(st, 0),
                  sqlite3_column_type(st, 1) == SQLITE_NULL
                      ? "NULL"
                      : (const char *)sqlite3_column_text(st, 1),
                  zP);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return rc;
  return pOut->rc;
}

/* The first line of zNow that zBefore does not hold, or NULL.  Lines end
** in '\n'; *pn gets the line's length without it. */
static const char *migFirstNewLine(const char *zBefore, const char *zNow,
                                   size_t *pn) {
  const char *z = zNow;
  while (z && *z) {
    const char *e = strchr(z, '\n');
    size_t n = e ? (size_t)(e - z) : strlen(z);
    const char *q = zBefore;
    int bOld = 0;
    while (q && *q && !bOld) {
      bOld = strncmp(q, z, n) == 0 && (q[n] == '\n' || q[n] == 0);
      q = strchr(q, '\n');
      if (q) q++;
    }
    if (!bOld) {
      *pn = n;
      return z;
    }
    z = e ? e + 1 : z + n;
  }
  return 0;
}

/* Field k (0-based) of the '|'-separated line z[0..n): *pz and *pnField
** (0 and "" when the line has fewer fields). */
static void migLineField(const char *z, size_t n, int k, const char **pz,
                         int *pnField) {
  const char *zEnd = z + n;
  while (k > 0 && z < zEnd) {
    const char *p = memchr(z, '|', (size_t)(zEnd - z));
    if (p == 0) {
      z = zEnd;
      break;
    }
    z = p + 1;
    k--;
  }
  if (k > 0 || z >= zEnd) {
    *pz = "";
    *pnField = 0;
    return;
  }
  {
    const char *p = memchr(z, '|', (size_t)(zEnd - z));
    *pz = z;
    *pnField = (int)((p ? p : zEnd) - z);
  }
}

/* The first foreign_key_check row ("table|rowid|parent" lines) of zNow
** that zBefore does not hold, as "table T, row R references P"; NULL when
** there is none, or on OOM with *pRc = SQLITE_NOMEM.  Caller frees. */
char *migFkFirstNew(const char *zBefore, const char *zNow, int *pRc) {
  size_t n;
  const char *z = migFirstNewLine(zBefore, zNow, &n);
  const char *zT, *zR, *zP;
  int nT, nR, nP;
  char *zOut;
  if (z == 0) return 0;
  migLineField(z, n, 0, &zT, &nT);
  migLineField(z, n, 1, &zR, &nR);
  migLineField(z, n, 2, &zP, &nP);
  zOut = sqlite3_mprintf("table %.*s, row %.*s references %.*s", nT, zT, nR, zR,
                         nP, zP);
  if (zOut == 0) *pRc = SQLITE_NOMEM;
  return zOut;
}
