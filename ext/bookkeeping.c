/*
** bookkeeping.c — the tables the engine keeps in a database, and reading
** them: the current heads (migrate_version), the checksums each revision
** was applied with (migrate_log), migrate_current().  migrate_scripts is
** read by stored.c; apply.c writes all three.
**
**     char *zVersion;
**     migrate_current(db, &zVersion, &zErr);   // "4e92a7c0b6d1" or NULL
**     migReadVersion(db, b, "migrate_to('head')", &aCur, &nCur, &pAug, &zErr);
**
** A database Alembic migrated has no migrate_version until its first
** change: the version is then read from alembic_version (adopt.c).
**
** The tables (created on the first change, by migBookkeepingSql):
**
**     migrate_version(version_num TEXT PRIMARY KEY)   the current heads
**     migrate_log(id, revision, direction, version_before, version_after,
**                 checksum, started_at, duration_ms)  one row per step
**     migrate_scripts(revision PRIMARY KEY, file, parents, depends_on,
**                 message, checksum, downgrade_sql, transaction_none)
**                                                     per applied revision
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <string.h>

/* %s is the schema prefix: "main." online, "" in an offline script. */
const char migBookkeepingSql[] =
    "CREATE TABLE IF NOT EXISTS %smigrate_version(\n"
    "  version_num TEXT NOT NULL PRIMARY KEY\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS %smigrate_log(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  revision TEXT,\n"
    "  direction TEXT NOT NULL,\n"
    "  version_before TEXT,\n"
    "  version_after TEXT,\n"
    "  checksum TEXT,\n"
    "  started_at TEXT NOT NULL,\n"
    "  duration_ms REAL\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS %smigrate_scripts(\n"
    "  revision TEXT NOT NULL PRIMARY KEY,\n"
    "  file TEXT NOT NULL,\n"
    "  parents TEXT NOT NULL,\n"
    "  depends_on TEXT NOT NULL,\n"
    "  message TEXT NOT NULL,\n"
    "  checksum TEXT NOT NULL,\n"
    "  downgrade_sql TEXT,\n"
    "  transaction_none INTEGER NOT NULL\n"
    ");\n";

/* Read the heads: see internal.h. */
int migReadVersion(sqlite3 *db, migrate_bundle *b, const char *zFunc,
                   int **paCur, int *pnCur, migrate_bundle **ppAug,
                   char **pzErr) {
  sqlite3_stmt *st = 0;
  int rc, n = 0, k;
  int *a = 0;
  char **azId = 0;
  migrate_bundle *pAug = 0;
  const char *zTable = 0; /* migrate_version, or alembic_version (adopt.c) */
  char *zSql;
  *paCur = 0;
  *pnCur = 0;
  if (ppAug) *ppAug = 0;
  rc = migVersionTable(db, zFunc, &zTable, pzErr);
  if (rc || zTable == 0) return rc;
  zSql = sqlite3_mprintf("SELECT DISTINCT version_num FROM main.%s", zTable);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  sqlite3_free(zSql);
  if (rc) {
    return migSetError(pzErr, rc, "%s: cannot read %s: %s", zFunc, zTable,
                       sqlite3_errmsg(db));
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
      migSetError(pzErr, rc, "%s: cannot read %s: %s", zFunc, zTable,
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
    if (a[k] < 0 && strcmp(zTable, "alembic_version") == 0) {
      rc = migSetError(pzErr, MIG_UNKNOWN_HEAD,
                       "%s: alembic_version holds revision '%s', which the "
                       "bundle does not know; add its script to the "
                       "migrations (sqlite-migrate import-alembic converts "
                       "Alembic's revisions), or stamp a revision the bundle "
                       "has (migrate_stamp(), sqlite-migrate stamp)",
                       zFunc, azId[k]);
      goto done;
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
    char zNow[MIG_CHECKSUM_BUF];
    if (!MIG_BIT_TEST(aApplied, k) || aSum[9 * k] == 0) continue;
    /* a stored revision (source "") has no script to compare; a script not
    ** yet inflated (source NULL) has its checksum from the bundle's index */
    if (r->source && r->source[0] == 0) continue;
    migChecksumText(r->checksum, zNow);
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
        zHow = sqlite3_mprintf(
            "SELECT migrate_stamp('%s') and then "
            "SELECT migrate_stamp('%s') to return to "
            "the current version",
            r->id, zCur);
      } else {
        zHow = sqlite3_mprintf(
            "SELECT migrate_stamp('%s'), then stamp "
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
  int rc;
  MigStr s = {0};
  int n = 0;
  const char *zTable = 0; /* migrate_version, or alembic_version (adopt.c) */
  char *zSql;
  *pzVersion = 0;
  rc = migVersionTable(db, "migrate_current()", &zTable, pzErr);
  if (rc || zTable == 0) return rc;
  zSql = sqlite3_mprintf("SELECT DISTINCT version_num FROM main.%s ORDER BY 1",
                         zTable);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  sqlite3_free(zSql);
  if (rc) return migSetError(pzErr, rc, "%s", sqlite3_errmsg(db));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(st, 0);
    migStrSep(&s, &n, ",");
    migStrAppendZ(&s, z ? z : "NULL");
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
