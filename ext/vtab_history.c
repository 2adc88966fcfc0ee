/*
** vtab_history.c — the eponymous virtual table "migration_history": the
** rows of migrate_log in order, with the bundle's message for each revision
** and whether the applied script still matches the bundle.
**
**     SELECT revision, direction, message, checksum_ok
**       FROM migration_history;
**     SELECT * FROM migration_history(migrate_bundle('migrations'));
**
** Declared schema:
**
**     CREATE TABLE x(id, revision, direction, version_before, version_after,
**                    checksum, started_at, duration_ms, message,
**                    checksum_ok, bundle HIDDEN)
**
** message is NULL and checksum_ok is NULL for a revision the bundle does not
** know (or a stamp to base); checksum_ok is 1 when the logged checksum
** equals the bundle's, else 0.  Read-only, SQLITE_VTAB_DIRECTONLY.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <string.h>

enum {
  HISTORY_COLUMN_ID,
  HISTORY_COLUMN_REVISION,
  HISTORY_COLUMN_DIRECTION,
  HISTORY_COLUMN_VERSION_BEFORE,
  HISTORY_COLUMN_VERSION_AFTER,
  HISTORY_COLUMN_CHECKSUM,
  HISTORY_COLUMN_STARTED_AT,
  HISTORY_COLUMN_DURATION_MS,
  HISTORY_COLUMN_MESSAGE,
  HISTORY_COLUMN_CHECKSUM_OK,
  HISTORY_COLUMN_BUNDLE /* HIDDEN */
};

typedef struct HistoryVtab {
  sqlite3_vtab base;
  sqlite3 *db;
} HistoryVtab;

typedef struct HistoryCursor {
  sqlite3_vtab_cursor base;
  migrate_bundle *b;
  int bOwned;
  sqlite3_stmt *pStmt; /* over migrate_log; NULL when there is none */
  int bEof;
} HistoryCursor;

static int historyConnect(sqlite3 *db, void *pAux, int argc,
                          const char *const *argv, sqlite3_vtab **ppVtab,
                          char **pzErr) {
  HistoryVtab *p;
  int rc;
  (void)pAux;
  (void)argv;
  if (argc > 3) {
    *pzErr = sqlite3_mprintf("migration_history takes no arguments");
    return SQLITE_ERROR;
  }
  rc = sqlite3_declare_vtab(
      db,
      "CREATE TABLE x(id, revision, direction, version_before, "
      "version_after, checksum, started_at, duration_ms, message, "
      "checksum_ok, bundle HIDDEN)");
  if (rc == SQLITE_OK) rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int historyDisconnect(sqlite3_vtab *p) {
  sqlite3_free(p);
  return SQLITE_OK;
}

static int historyOpen(sqlite3_vtab *p, sqlite3_vtab_cursor **ppCur) {
  HistoryCursor *c = sqlite3_malloc64(sizeof(*c));
  (void)p;
  if (c == 0) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  *ppCur = &c->base;
  return SQLITE_OK;
}

static void historyReset(HistoryCursor *c) {
  sqlite3_finalize(c->pStmt);
  c->pStmt = 0;
  if (c->bOwned) migrate_bundle_free(c->b);
  c->b = 0;
  c->bOwned = 0;
}

static int historyClose(sqlite3_vtab_cursor *cur) {
  historyReset((HistoryCursor *)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

static int historyNext(sqlite3_vtab_cursor *cur) {
  HistoryCursor *c = (HistoryCursor *)cur;
  int rc;
  if (c->pStmt == 0) {
    c->bEof = 1;
    return SQLITE_OK;
  }
  rc = sqlite3_step(c->pStmt);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  c->bEof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return migVtabError(cur->pVtab, rc, "migration_history: %s",
                      sqlite3_errmsg(((HistoryVtab *)cur->pVtab)->db));
}

/* idxNum bit 1: argv[0] is the bundle. */
static int historyFilter(sqlite3_vtab_cursor *cur, int idxNum,
                         const char *idxStr, int argc, sqlite3_value **argv) {
  HistoryCursor *c = (HistoryCursor *)cur;
  sqlite3 *db = ((HistoryVtab *)cur->pVtab)->db;
  char *zErr = 0;
  unsigned mHas = 0;
  int rc;
  (void)idxStr;
  (void)argc;
  historyReset(c);
  c->bEof = 0;
  rc = migBundleFromValue(
      (idxNum & 1) ? argv[0] : 0,
      "SELECT * FROM migration_history(migrate_bundle('migrations'))", &c->b,
      &c->bOwned, &zErr);
  if (rc) {
    c->b = 0;
    /* a damaged bundle is not a damaged database */
    rc = migVtabError(cur->pVtab, rc == SQLITE_CORRUPT ? SQLITE_ERROR : rc,
                      "migration_history: %s", zErr ? zErr : "");
    sqlite3_free(zErr);
    return rc;
  }
  /* a migrate_log the engine did not create is refused, by name */
  rc = migBookkeepingCheck(db, "migration_history", &mHas, &zErr);
  if (rc) {
    rc = migVtabError(cur->pVtab, rc, "%s", zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_free(zErr);
    return rc;
  }
  if (mHas & MIG_BK_LOG) {
    rc = sqlite3_prepare_v2(
        db,
        "SELECT id, revision, direction, version_before, version_after, "
        "checksum, started_at, duration_ms FROM main.migrate_log ORDER BY id",
        -1, &c->pStmt, 0);
  }
  if (rc) {
    return migVtabError(cur->pVtab, rc,
                        "migration_history: cannot read migrate_log: %s",
                        sqlite3_errmsg(db));
  }
  return historyNext(cur);
}

static int historyEof(sqlite3_vtab_cursor *cur) {
  return ((HistoryCursor *)cur)->bEof;
}

static int historyColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                         int iCol) {
  HistoryCursor *c = (HistoryCursor *)cur;
  if (iCol <= HISTORY_COLUMN_DURATION_MS) {
    sqlite3_result_value(ctx, sqlite3_column_value(c->pStmt, iCol));
  } else if (iCol == HISTORY_COLUMN_MESSAGE ||
             iCol == HISTORY_COLUMN_CHECKSUM_OK) {
    const char *zRev = (const char *)sqlite3_column_text(c->pStmt, 1);
    int i = zRev ? migrate_bundle_find(c->b, zRev) : -1;
    if (i < 0) {
      sqlite3_result_null(ctx);
    } else if (iCol == HISTORY_COLUMN_MESSAGE) {
      sqlite3_result_text(ctx, c->b->aRev[i].message, -1, SQLITE_TRANSIENT);
    } else {
      const char *zSum = (const char *)sqlite3_column_text(c->pStmt, 5);
      char z[MIG_CHECKSUM_BUF];
      migChecksumText(c->b->aRev[i].checksum, z);
      if (zSum == 0) {
        sqlite3_result_null(ctx);
      } else {
        sqlite3_result_int(ctx, strcmp(z, zSum) == 0);
      }
    }
  } else {
    sqlite3_result_null(ctx);
  }
  return SQLITE_OK;
}

static int historyRowid(sqlite3_vtab_cursor *cur, sqlite_int64 *pRowid) {
  *pRowid = sqlite3_column_int64(((HistoryCursor *)cur)->pStmt, 0);
  return SQLITE_OK;
}

/* idxNum bit 1: the bundle argument (see migBestIndexBundle); rows come
** in id order, so ORDER BY id needs no sort. */
static int historyBestIndex(sqlite3_vtab *tab, sqlite3_index_info *p) {
  int rc = migBestIndexBundle(p, HISTORY_COLUMN_BUNDLE);
  (void)tab;
  if (rc == SQLITE_OK && p->nOrderBy == 1 &&
      p->aOrderBy[0].iColumn == HISTORY_COLUMN_ID && !p->aOrderBy[0].desc) {
    p->orderByConsumed = 1;
  }
  return rc;
}

static sqlite3_module historyModule = {
    0,                 /* iVersion */
    historyConnect,    /* xCreate: = xConnect, for CREATE VIRTUAL TABLE */
    historyConnect,    /* xConnect */
    historyBestIndex,  /* xBestIndex */
    historyDisconnect, /* xDisconnect */
    historyDisconnect, /* xDestroy */
    historyOpen,       /* xOpen */
    historyClose,      /* xClose */
    historyFilter,     /* xFilter */
    historyNext,       /* xNext */
    historyEof,        /* xEof */
    historyColumn,     /* xColumn */
    historyRowid,      /* xRowid */
    0,                 /* xUpdate: read-only */
    0,                 /* xBegin */
    0,                 /* xSync */
    0,                 /* xCommit */
    0,                 /* xRollback */
    0,                 /* xFindFunction */
    0,                 /* xRename */
    0,                 /* xSavepoint */
    0,                 /* xRelease */
    0,                 /* xRollbackTo */
    0,                 /* xShadowName */
#if SQLITE_VERSION_NUMBER >= 3044000
    0 /* xIntegrity (3.44; iVersion 0 never reads it) */
#endif
};

int migRegisterVtabHistory(sqlite3 *db, char **pzErr) {
  int rc = sqlite3_create_module(db, "migration_history", &historyModule, 0);
  if (rc) {
    migSetError(pzErr, rc, "cannot register module migration_history: %s",
                sqlite3_errmsg(db));
  }
  return rc;
}
