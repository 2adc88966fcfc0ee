/*
** vtab_migrations.c — the eponymous virtual table "migrations": one row per
** revision of a bundle, parents before children.
**
**     SELECT revision, message, is_current FROM migrations;
**     SELECT * FROM migrations(migrate_bundle('migrations'));  -- another
**     CREATE VIRTUAL TABLE temp.m USING migrations;  -- when a real table
**                                                    -- named migrations
**                                                    -- shadows it
** Declared schema:
**
**     CREATE TABLE x(revision, down_revision, message, create_date,
**                    branch_labels, depends_on, is_head, is_base, is_merge,
**                    is_current, is_applied, checksum, upgrade_sql,
**                    downgrade_sql, bundle HIDDEN)
**
** down_revision, branch_labels and depends_on are comma-separated as
** written in the script (NULL when empty); checksum is 8 hex digits;
** is_current says the revision is a row of migrate_version, is_applied that
** it or a revision building on it is.
**
** Read-only and SQLITE_VTAB_DIRECTONLY: a view or trigger stored in a
** database file cannot read it.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <string.h>

enum {
  MIGRATIONS_COLUMN_REVISION,
  MIGRATIONS_COLUMN_DOWN_REVISION,
  MIGRATIONS_COLUMN_MESSAGE,
  MIGRATIONS_COLUMN_CREATE_DATE,
  MIGRATIONS_COLUMN_BRANCH_LABELS,
  MIGRATIONS_COLUMN_DEPENDS_ON,
  MIGRATIONS_COLUMN_IS_HEAD,
  MIGRATIONS_COLUMN_IS_BASE,
  MIGRATIONS_COLUMN_IS_MERGE,
  MIGRATIONS_COLUMN_IS_CURRENT,
  MIGRATIONS_COLUMN_IS_APPLIED,
  MIGRATIONS_COLUMN_CHECKSUM,
  MIGRATIONS_COLUMN_UPGRADE_SQL,
  MIGRATIONS_COLUMN_DOWNGRADE_SQL,
  MIGRATIONS_COLUMN_BUNDLE /* HIDDEN: table-valued function argument */
};

typedef struct MigrationsVtab {
  sqlite3_vtab base;
  sqlite3 *db; /* to read migrate_version */
} MigrationsVtab;

typedef struct MigrationsCursor {
  sqlite3_vtab_cursor base;
  migrate_bundle *b;
  int bOwned;        /* b was decoded for this cursor */
  int i;             /* position in b->aOrder */
  MigBits *aCurrent; /* rows of migrate_version */
  MigBits *aApplied;
} MigrationsCursor;

/* xConnect and xCreate: declare the schema, forbid use from the schema. */
static int migrationsConnect(sqlite3 *db, void *pAux, int argc,
                             const char *const *argv, sqlite3_vtab **ppVtab,
                             char **pzErr) {
  MigrationsVtab *p;
  int rc;
  (void)pAux;
  (void)argv;
  if (argc > 3) {
    *pzErr = sqlite3_mprintf("migrations takes no arguments");
    return SQLITE_ERROR;
  }
  rc = sqlite3_declare_vtab(
      db,
      "CREATE TABLE x(revision, down_revision, message, create_date, "
      "branch_labels, depends_on, is_head, is_base, is_merge, is_current, "
      "is_applied, checksum, upgrade_sql, downgrade_sql, bundle HIDDEN)");
  if (rc == SQLITE_OK) rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int migrationsDisconnect(sqlite3_vtab *p) {
  sqlite3_free(p);
  return SQLITE_OK;
}

static int migrationsOpen(sqlite3_vtab *p, sqlite3_vtab_cursor **ppCur) {
  MigrationsCursor *c = sqlite3_malloc64(sizeof(*c));
  (void)p;
  if (c == 0) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  *ppCur = &c->base;
  return SQLITE_OK;
}

static void migrationsReset(MigrationsCursor *c) {
  if (c->bOwned) migrate_bundle_free(c->b);
  c->b = 0;
  c->bOwned = 0;
  sqlite3_free(c->aCurrent);
  sqlite3_free(c->aApplied);
  c->aCurrent = c->aApplied = 0;
}

static int migrationsClose(sqlite3_vtab_cursor *cur) {
  MigrationsCursor *c = (MigrationsCursor *)cur;
  migrationsReset(c);
  sqlite3_free(c);
  return SQLITE_OK;
}

/* Fill aCurrent (rows of migrate_version) and aApplied for the cursor's
** bundle.  Heads the bundle does not know count through the revisions the
** database stores (migrate_scripts), as they do for migrate_to(); a head
** known to neither is ignored here (migrate_to() reports it).  *pzErr:
** the message of another failure (caller frees). */
static int readCurrent(sqlite3 *db, MigrationsCursor *c, char **pzErr) {
  migrate_bundle *b = c->b, *pAug = 0;
  int *aCur = 0, nCur = 0, rc, i;
  char *zErr = 0;
  size_t nW = MIG_BITS_WORDS(b->nRev ? b->nRev : 1);
  c->aCurrent = sqlite3_malloc64(nW * sizeof(MigBits));
  c->aApplied = sqlite3_malloc64(nW * sizeof(MigBits));
  if (c->aCurrent == 0 || c->aApplied == 0) return SQLITE_NOMEM;
  memset(c->aCurrent, 0, nW * sizeof(MigBits));
  memset(c->aApplied, 0, nW * sizeof(MigBits));
  rc = migReadVersion(db, b, "migrations", &aCur, &nCur, &pAug, &zErr);
  if (rc != MIG_UNKNOWN_HEAD && rc != SQLITE_OK) {
    *pzErr = zErr;
    return rc;
  }
  sqlite3_free(zErr);
  if (rc == MIG_UNKNOWN_HEAD) {
    /* an unknown head: show what the bundle alone can tell */
    return SQLITE_OK;
  }
  if (rc == SQLITE_OK) {
    migrate_bundle *pB = pAug ? pAug : b;
    MigBits *aAll = 0;
    rc = migAppliedOf(pB, aCur, nCur, &aAll);
    for (i = 0; rc == SQLITE_OK && i < nCur; i++) {
      int k = migrate_bundle_find(b, pB->aRev[aCur[i]].id);
      if (k >= 0) MIG_BIT_SET(c->aCurrent, k);
    }
    for (i = 0; rc == SQLITE_OK && i < pB->nRev; i++) {
      int k;
      if (!MIG_BIT_TEST(aAll, i)) continue;
      k = pAug ? migrate_bundle_find(b, pB->aRev[i].id) : i;
      if (k >= 0) MIG_BIT_SET(c->aApplied, k);
    }
    sqlite3_free(aAll);
  }
  sqlite3_free(aCur);
  migrate_bundle_free(pAug);
  return rc;
}

/* idxNum bit 1: argv[0] is the bundle (equality on the hidden column). */
static int migrationsFilter(sqlite3_vtab_cursor *cur, int idxNum,
                            const char *idxStr, int argc,
                            sqlite3_value **argv) {
  MigrationsCursor *c = (MigrationsCursor *)cur;
  char *zErr = 0;
  int rc;
  (void)idxStr;
  (void)argc;
  migrationsReset(c);
  rc = migBundleFromValue(
      (idxNum & 1) ? argv[0] : 0,
      "SELECT * FROM migrations(migrate_bundle('migrations'))", &c->b,
      &c->bOwned, &zErr);
  if (rc) {
    c->b = 0;
    /* a damaged bundle is not a damaged database */
    rc = migVtabError(cur->pVtab, rc == SQLITE_CORRUPT ? SQLITE_ERROR : rc,
                      "migrations: %s", zErr ? zErr : "");
    sqlite3_free(zErr);
    return rc;
  }
  rc = readCurrent(((MigrationsVtab *)cur->pVtab)->db, c, &zErr);
  if (rc) {
    /* migReadVersion's messages start with "migrations: " */
    rc = migVtabError(cur->pVtab, rc, "%s",
                      zErr ? zErr
                           : "migrations: cannot read migrate_version: out "
                             "of memory");
    sqlite3_free(zErr);
    return rc;
  }
  c->i = 0;
  return SQLITE_OK;
}

static int migrationsNext(sqlite3_vtab_cursor *cur) {
  ((MigrationsCursor *)cur)->i++;
  return SQLITE_OK;
}

static int migrationsEof(sqlite3_vtab_cursor *cur) {
  MigrationsCursor *c = (MigrationsCursor *)cur;
  return c->b == 0 || c->i >= c->b->nRev;
}

/* Comma-joined list as a TEXT result, NULL when empty. */
static void resultList(sqlite3_context *ctx, const char **az, int n) {
  MigStr s = {0};
  if (n == 0) {
    sqlite3_result_null(ctx);
    return;
  }
  migStrJoin(&s, az, n, ",");
  if (s.rc) {
    migStrReset(&s);
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, migStrFinish(&s), -1, sqlite3_free);
}

static int migrationsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                            int iCol) {
  MigrationsCursor *c = (MigrationsCursor *)cur;
  int i = c->b->aOrder[c->i];
  const migrate_revision *r = &c->b->aRev[i];
  switch (iCol) {
    case MIGRATIONS_COLUMN_REVISION:
      sqlite3_result_text(ctx, r->id, -1, SQLITE_TRANSIENT);
      break;
    case MIGRATIONS_COLUMN_DOWN_REVISION:
      resultList(ctx, r->parents, r->nparent);
      break;
    case MIGRATIONS_COLUMN_MESSAGE:
      sqlite3_result_text(ctx, r->message, -1, SQLITE_TRANSIENT);
      break;
    case MIGRATIONS_COLUMN_CREATE_DATE:
      if (r->create_date[0]) {
        sqlite3_result_text(ctx, r->create_date, -1, SQLITE_TRANSIENT);
      } else {
        sqlite3_result_null(ctx);
      }
      break;
    case MIGRATIONS_COLUMN_BRANCH_LABELS:
      resultList(ctx, r->labels, r->nlabel);
      break;
    case MIGRATIONS_COLUMN_DEPENDS_ON:
      resultList(ctx, r->depends, r->ndepend);
      break;
    case MIGRATIONS_COLUMN_IS_HEAD:
      sqlite3_result_int(ctx, r->is_head);
      break;
    case MIGRATIONS_COLUMN_IS_BASE:
      sqlite3_result_int(ctx, r->is_base);
      break;
    case MIGRATIONS_COLUMN_IS_MERGE:
      sqlite3_result_int(ctx, r->is_merge);
      break;
    case MIGRATIONS_COLUMN_IS_CURRENT:
      sqlite3_result_int(ctx, (int)MIG_BIT_TEST(c->aCurrent, i));
      break;
    case MIGRATIONS_COLUMN_IS_APPLIED:
      sqlite3_result_int(ctx, (int)MIG_BIT_TEST(c->aApplied, i));
      break;
    case MIGRATIONS_COLUMN_CHECKSUM: {
      char z[MIG_CHECKSUM_BUF];
      migChecksumText(r->checksum, z);
      sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
      break;
    }
    case MIGRATIONS_COLUMN_UPGRADE_SQL:
    case MIGRATIONS_COLUMN_DOWNGRADE_SQL: {
      /* the script's text: a decoded bundle inflates it now */
      char *zErr = 0;
      int rc = migBundleLoad(c->b, i, &zErr);
      if (rc) {
        rc = migVtabError(cur->pVtab, rc == SQLITE_CORRUPT ? SQLITE_ERROR : rc,
                          "migrations: %s", zErr ? zErr : "");
        sqlite3_free(zErr);
        return rc;
      }
      if (iCol == MIGRATIONS_COLUMN_UPGRADE_SQL) {
        sqlite3_result_text(ctx, r->upgrade, -1, SQLITE_TRANSIENT);
      } else if (r->downgrade) {
        sqlite3_result_text(ctx, r->downgrade, -1, SQLITE_TRANSIENT);
      } else {
        sqlite3_result_null(ctx);
      }
      break;
    }
    default: /* MIGRATIONS_COLUMN_BUNDLE */
      sqlite3_result_null(ctx);
      break;
  }
  return SQLITE_OK;
}

static int migrationsRowid(sqlite3_vtab_cursor *cur, sqlite_int64 *pRowid) {
  *pRowid = ((MigrationsCursor *)cur)->i + 1;
  return SQLITE_OK;
}

/* The xBestIndex of both virtual tables (declared in internal.h).
** idxNum bit 1: an equality constraint on the hidden bundle column
** (iBundleCol) is passed as argv[0].  A bundle constraint that is not
** usable (e.g. the argument comes from a later table in a join) gives
** SQLITE_CONSTRAINT so the planner picks another order. */
int migBestIndexBundle(sqlite3_index_info *p, int iBundleCol) {
  int i, iBundle = -1, bUnusable = 0;
  for (i = 0; i < p->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &p->aConstraint[i];
    if (c->iColumn != iBundleCol) continue;
    if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) {
      bUnusable = 1;
      continue;
    }
    iBundle = i;
  }
  if (iBundle < 0 && bUnusable) return SQLITE_CONSTRAINT;
  if (iBundle >= 0) {
    p->aConstraintUsage[iBundle].argvIndex = 1;
    p->aConstraintUsage[iBundle].omit = 1;
    p->idxNum = 1;
  }
  p->estimatedCost = 1000;
  p->estimatedRows = 1000;
  return SQLITE_OK;
}

/* idxNum bit 1: the bundle argument (see migBestIndexBundle). */
static int migrationsBestIndex(sqlite3_vtab *tab, sqlite3_index_info *p) {
  (void)tab;
  return migBestIndexBundle(p, MIGRATIONS_COLUMN_BUNDLE);
}

static sqlite3_module migrationsModule = {
    0,                    /* iVersion */
    migrationsConnect,    /* xCreate: = xConnect, for CREATE VIRTUAL TABLE */
    migrationsConnect,    /* xConnect */
    migrationsBestIndex,  /* xBestIndex */
    migrationsDisconnect, /* xDisconnect */
    migrationsDisconnect, /* xDestroy */
    migrationsOpen,       /* xOpen */
    migrationsClose,      /* xClose */
    migrationsFilter,     /* xFilter */
    migrationsNext,       /* xNext */
    migrationsEof,        /* xEof */
    migrationsColumn,     /* xColumn */
    migrationsRowid,      /* xRowid */
    0,                    /* xUpdate: read-only */
    0,                    /* xBegin */
    0,                    /* xSync */
    0,                    /* xCommit */
    0,                    /* xRollback */
    0,                    /* xFindFunction */
    0,                    /* xRename */
    0,                    /* xSavepoint */
    0,                    /* xRelease */
    0,                    /* xRollbackTo */
    0,                    /* xShadowName */
#if SQLITE_VERSION_NUMBER >= 3044000
    0 /* xIntegrity (3.44; iVersion 0 never reads it) */
#endif
};

int migRegisterVtabMigrations(sqlite3 *db, char **pzErr) {
  int rc = sqlite3_create_module(db, "migrations", &migrationsModule, 0);
  if (rc) {
    migSetError(pzErr, rc, "cannot register module migrations: %s",
                sqlite3_errmsg(db));
  }
  return rc;
}
