/*
** txn.c — the write frame both writers use: migrate_to()/migrate_stamp()
** (apply.c) and migrate_rebuild() (rebuild.c).
**
**     MigTxn t;
**     migTxnInit(&t, db, "migrate");
**     rc = migCheckIdle(db, 1, "migrate_to('head')", &zErr); // alone?
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
**     work, compared with the rows after it by count per (child, parent)
**     pair, through the tables the scripts renamed.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <pthread.h>
#include <stdlib.h>
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
int migCheckIdle(sqlite3 *db, int nCallerStmt, const char *zWho, char **pzErr) {
  sqlite3_stmt *s = 0;
  int nBusy = 0, nWrite = 0;
  const char *zParen = strchr(zWho, '(');
  int nFunc = zParen ? (int)(zParen - zWho) : (int)strlen(zWho);
  const char *zEmpty = zParen ? "" : "()";
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
                       "%s%s: must run as a statement of its own, e.g. "
                       "SELECT %.*s(...); another statement on this "
                       "connection is still active (an unfinished SELECT, or "
                       "a call inside INSERT ... SELECT, a trigger or a "
                       "CHECK); finish or reset it first. Nothing was "
                       "changed",
                       zWho, zEmpty, nFunc, zWho);
  }
  if (nCallerStmt && sqlite3_get_autocommit(db) && migTxnOpen(db)) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "%s%s: must run as a statement of its own, e.g. "
                       "SELECT %.*s(...); it was called from a statement "
                       "that reads tables (SELECT ... FROM), which keeps "
                       "them locked. Nothing was changed",
                       zWho, zEmpty, nFunc, zWho);
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

/* Switch foreign keys to bOn, in or out of a transaction: with
** sqlite3_db_config(), which allocates nothing (the PRAGMA is a no-op
** inside a transaction, and after the final commit of SELECT migrate_to()
** a PRAGMA that ran out of memory would fail the finished call). */
static void fkSet(sqlite3 *db, int bOn) {
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
**
** A snapshot is PRAGMA foreign_key_check's rows as text, one line each:
** child table, rowid ("NULL" for a WITHOUT ROWID table) and parent table,
** separated by FK_SEP.  Two snapshots are compared by the number of rows
** per (child, parent) pair, the names of the earlier one followed through
** the tables the scripts renamed (ALTER TABLE ... RENAME TO, noted by
** migFkNoteRename()), so a violation that was there before the call is not
** blamed on it when the migration renames the table or changes the row's
** rowid (a rebuild, INSERT ... SELECT into a new table); only a pair with
** more rows than before is a new violation.
*/
#define FK_SEP '\x1f'

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
    migStrAppendf(pOut, "%s%c%s%c%s\n", sqlite3_column_text(st, 0), FK_SEP,
                  sqlite3_column_type(st, 1) == SQLITE_NULL
                      ? "NULL"
                      : (const char *)sqlite3_column_text(st, 1),
                  FK_SEP, zP);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return rc;
  return pOut->rc;
}

/* The word at z[0..n) is zWord (any case)? */
static int fkIsWord(const char *z, size_t n, int eType, const char *zWord) {
  return eType == MIG_TK_WORD && n == strlen(zWord) &&
         sqlite3_strnicmp(z, zWord, (int)n) == 0;
}

/* The next token of *pz that is not space or a comment: its length, type
** in *pe; *pz moves past it. */
static size_t fkNextToken(const char **pz, const char **pzTok, int *pe) {
  size_t n;
  *pz += migSqlSkipSpace(*pz, 0);
  *pzTok = *pz;
  n = migSqlToken(*pz, pe);
  *pz += n;
  return n;
}

/* A table name token (bare or quoted)? */
static int fkIsName(int eType) {
  return eType == MIG_TK_WORD || eType == MIG_TK_QUOTED ||
         eType == MIG_TK_STRING;
}

void migFkNoteRename(MigStr *pRenames, const char *zSql) {
  const char *z = zSql, *azTok[8];
  size_t an[8];
  int ae[8], k = 0, iName = 2;
  char *zOld, *zNew;
  while (k < 8) {
    an[k] = fkNextToken(&z, &azTok[k], &ae[k]);
    if (ae[k] == MIG_TK_EOF || (ae[k] == MIG_TK_PUNCT && azTok[k][0] == ';')) {
      break;
    }
    k++;
  }
  /* ALTER TABLE [schema .] name RENAME TO name */
  if (k < 6 || !fkIsWord(azTok[0], an[0], ae[0], "ALTER") ||
      !fkIsWord(azTok[1], an[1], ae[1], "TABLE")) {
    return;
  }
  if (k == 8 && ae[3] == MIG_TK_PUNCT && an[3] == 1 && azTok[3][0] == '.') {
    char *zSchema = migSqlUnquote(azTok[2], an[2]);
    int bMain = zSchema && sqlite3_stricmp(zSchema, "main") == 0;
    sqlite3_free(zSchema);
    if (!bMain) return; /* temp (or an attached database) is not checked */
    iName = 4;
  }
  if (k != iName + 4 || !fkIsName(ae[iName]) ||
      !fkIsWord(azTok[iName + 1], an[iName + 1], ae[iName + 1], "RENAME") ||
      !fkIsWord(azTok[iName + 2], an[iName + 2], ae[iName + 2], "TO") ||
      !fkIsName(ae[iName + 3])) {
    return;
  }
  zOld = migSqlUnquote(azTok[iName], an[iName]);
  zNew = migSqlUnquote(azTok[iName + 3], an[iName + 3]);
  if (zOld && zNew) {
    migStrAppendf(pRenames, "%s%c%s\n", zOld, FK_SEP, zNew);
  } else if (pRenames->rc == SQLITE_OK) {
    pRenames->rc = SQLITE_NOMEM;
  }
  sqlite3_free(zOld);
  sqlite3_free(zNew);
}

/* One snapshot row: pieces of the snapshot's (or a rename's) text. */
typedef struct FkRow {
  const char *zChild, *zParent, *zRowid;
  int nChild, nParent, nRowid;
  int bNull;        /* rowid NULL (WITHOUT ROWID) */
  long long iRowid; /* when not bNull */
} FkRow;

/* Case-insensitive order of two names (SQLite's ASCII folding). */
static int fkCmpName(const char *a, int na, const char *b, int nb) {
  int c = sqlite3_strnicmp(a, b, na < nb ? na : nb);
  return c ? c : na - nb;
}

/* The order of (child, parent) pairs. */
static int fkCmpPair(const FkRow *a, const FkRow *b) {
  int c = fkCmpName(a->zChild, a->nChild, b->zChild, b->nChild);
  return c ? c : fkCmpName(a->zParent, a->nParent, b->zParent, b->nParent);
}

/* The order of rowids (NULL first). */
static int fkCmpRowid(const FkRow *a, const FkRow *b) {
  if (a->bNull || b->bNull) return b->bNull - a->bNull;
  return a->iRowid < b->iRowid ? -1 : a->iRowid > b->iRowid;
}

/* qsort: by pair, then rowid. */
static int fkCmpRow(const void *pa, const void *pb) {
  int c = fkCmpPair(pa, pb);
  return c ? c : fkCmpRowid(pa, pb);
}

/* The name z[0..n) after the renames (FK_SEP-separated "old new" lines,
** in the order they ran). */
static void fkRenamed(const char *zRenames, const char **pz, int *pn) {
  const char *r = zRenames;
  while (r && *r) {
    const char *zSep = strchr(r, FK_SEP);
    const char *zEnd = zSep ? strchr(zSep, '\n') : 0;
    if (zEnd == 0) break;
    if (fkCmpName(r, (int)(zSep - r), *pz, *pn) == 0) {
      *pz = zSep + 1;
      *pn = (int)(zEnd - zSep - 1);
    }
    r = zEnd + 1;
  }
}

/* Split the snapshot zSnap into rows (names followed through zRenames,
** which may be NULL), sorted by fkCmpRow.  *paRow (caller frees), *pnRow. */
static int fkParse(const char *zSnap, const char *zRenames, FkRow **paRow,
                   int *pnRow) {
  const char *z;
  size_t nLine = 0;
  FkRow *a;
  int n = 0;
  *paRow = 0;
  *pnRow = 0;
  for (z = zSnap; z && (z = strchr(z, '\n')) != 0; z++) nLine++;
  if (nLine == 0) return SQLITE_OK;
  if (nLine > 0x7fffffff / sizeof(FkRow)) return SQLITE_NOMEM;
  a = sqlite3_malloc64(nLine * sizeof(FkRow));
  if (a == 0) return SQLITE_NOMEM;
  for (z = zSnap; *z && (size_t)n < nLine;) {
    const char *zEnd = strchr(z, '\n');
    const char *s1 = memchr(z, FK_SEP, (size_t)(zEnd - z));
    const char *s2 = s1 ? memchr(s1 + 1, FK_SEP, (size_t)(zEnd - s1 - 1)) : 0;
    FkRow *r = &a[n++];
    memset(r, 0, sizeof(*r));
    r->zChild = z;
    r->nChild = (int)((s1 ? s1 : zEnd) - z);
    r->zRowid = s1 ? s1 + 1 : zEnd;
    r->nRowid = (int)((s2 ? s2 : zEnd) - r->zRowid);
    r->zParent = s2 ? s2 + 1 : zEnd;
    r->nParent = (int)(zEnd - r->zParent);
    r->bNull = r->nRowid == 4 && memcmp(r->zRowid, "NULL", 4) == 0;
    if (!r->bNull) r->iRowid = strtoll(r->zRowid, 0, 10);
    fkRenamed(zRenames, &r->zChild, &r->nChild);
    fkRenamed(zRenames, &r->zParent, &r->nParent);
    z = zEnd + 1;
  }
  qsort(a, (size_t)n, sizeof(FkRow), fkCmpRow);
  *paRow = a;
  *pnRow = n;
  return SQLITE_OK;
}

/* In the pair group aNow[0..nNow), the first row whose rowid the group
** aOld[0..nOld) of the same pair does not hold (both sorted), else the
** first row. */
static const FkRow *fkNewRow(const FkRow *aNow, int nNow, const FkRow *aOld,
                             int nOld) {
  int i, k = 0;
  for (i = 0; i < nNow; i++) {
    while (k < nOld && fkCmpRowid(&aOld[k], &aNow[i]) < 0) k++;
    if (k >= nOld || fkCmpRowid(&aOld[k], &aNow[i]) != 0) return &aNow[i];
    k++;
  }
  return &aNow[0];
}

/* The text for a pair of aNow[0..nNow) with more rows than the nOld of
** aOld before: "table T, row R references P", with the counts when nOld is
** not 0 (then the row named may be one that was there before). */
static char *fkDescribe(const FkRow *aNow, int nNow, const FkRow *aOld,
                        int nOld) {
  const FkRow *r = fkNewRow(aNow, nNow, aOld, nOld);
  if (nOld == 0) {
    return sqlite3_mprintf("table %.*s, row %.*s references %.*s", r->nChild,
                           r->zChild, r->nRowid, r->zRowid, r->nParent,
                           r->zParent);
  }
  return sqlite3_mprintf(
      "table %.*s, row %.*s (one of %d such rows of %.*s, %d before the "
      "call) references %.*s",
      r->nChild, r->zChild, r->nRowid, r->zRowid, nNow, r->nChild, r->zChild,
      nOld, r->nParent, r->zParent);
}

/* The length of the pair group that starts at a[i] of a[0..n). */
static int fkGroupLen(const FkRow *a, int n, int i) {
  int j = i + 1;
  while (j < n && fkCmpPair(&a[i], &a[j]) == 0) j++;
  return j - i;
}

char *migFkFirstNew(const char *zBefore, const char *zNow, const char *zRenames,
                    int *pRc) {
  FkRow *aOld = 0, *aNow = 0;
  int nOld = 0, nNow = 0, i = 0, k = 0;
  char *zOut = 0;
  int rc = fkParse(zBefore, zRenames, &aOld, &nOld);
  if (rc == SQLITE_OK) rc = fkParse(zNow, 0, &aNow, &nNow);
  while (rc == SQLITE_OK && zOut == 0 && i < nNow) {
    int nG = fkGroupLen(aNow, nNow, i), nOldG = 0;
    while (k < nOld && fkCmpPair(&aOld[k], &aNow[i]) < 0) k++;
    if (k < nOld && fkCmpPair(&aOld[k], &aNow[i]) == 0) {
      nOldG = fkGroupLen(aOld, nOld, k);
    }
    if (nG > nOldG) {
      zOut = fkDescribe(&aNow[i], nG, nOldG ? &aOld[k] : 0, nOldG);
      if (zOut == 0) rc = SQLITE_NOMEM;
    }
    i += nG;
  }
  sqlite3_free(aOld);
  sqlite3_free(aNow);
  if (rc) *pRc = rc;
  return zOut;
}
