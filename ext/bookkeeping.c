/*
** bookkeeping.c — the tables the engine keeps in a database, and reading
** them: the current heads (migrate_version), the checksums each revision
** was applied with (migrate_log), migrate_current().  migrate_scripts is
** read by stored.c; apply.c writes all three.
**
**     char *zVersion;
**     migrate_current(db, &zVersion, &zErr);   // "4e92a7c0b6d1" or NULL
**     migReadVersion(db, b, "migrate_to('head')", &aCur, &nCur, &pAug, &zErr);
**     migBookkeepingCheck(db, "migrate_to('head')", &mHas, &zErr);
**                              // refuses look-alike tables it did not create
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
  unsigned mHas = 0;
  int rc, n = 0, k;
  int *a = 0;
  char **azId = 0;
  migrate_bundle *pAug = 0;
  const char *zTable = 0; /* migrate_version, or alembic_version (adopt.c) */
  char *zSql;
  *paCur = 0;
  *pnCur = 0;
  if (ppAug) *ppAug = 0;
  /* tables of the engine's names it did not create are refused here */
  rc = migBookkeepingCheck(db, zFunc, &mHas, pzErr);
  if (rc) return rc;
  if (mHas & MIG_BK_VERSION) {
    zTable = "migrate_version";
  } else {
    rc = migVersionTable(db, zFunc, &zTable, pzErr);
    if (rc || zTable == 0) return rc;
  }
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
  unsigned mHas = 0;
  const char *zTable = 0; /* migrate_version, or alembic_version (adopt.c) */
  int rc;
  *pzVersion = 0;
  rc = migBookkeepingCheck(db, "migrate_current()", &mHas, pzErr);
  if (rc) return rc;
  if (mHas & MIG_BK_VERSION) {
    zTable = "migrate_version";
  } else {
    rc = migVersionTable(db, "migrate_current()", &zTable, pzErr);
    if (rc || zTable == 0) return rc;
  }
  rc = migVersionJoin(db, zTable, ",", 0, pzVersion);
  if (rc && rc != SQLITE_NOMEM) {
    return migSetError(pzErr, rc, "%s", sqlite3_errmsg(db));
  }
  return rc;
}

/* ======================================================================
** Tables of the engine's names that the engine did not create
**
** The rule: a table in main named (in any case) migrate_version,
** migrate_log, migrate_scripts or migrate_lock is the engine's when
** PRAGMA table_xinfo shows exactly the engine's columns, in order, each
** with the declared type, NOT NULL and PRIMARY KEY the engine gives it (no
** hidden columns).  migrate_lock must also hold exactly one row that looks
** like a lock the engine wrote (id 1, an integer pid > 0, text revision and
** since): the engine creates that table with its row and drops it with its
** row, so an empty one or one with other rows is somebody else's data.
** Indexes and triggers a user adds to the engine's tables do not count.
** A view of one of these names is never the engine's.
*/

/* The engine's columns as colDesc() renders table_xinfo rows. */
static const char *const azVersionCols[] = {
    "version_num TEXT NOT NULL PRIMARY KEY", 0};
static const char *const azLogCols[] = {
    "id INTEGER PRIMARY KEY",   "revision TEXT",      "direction TEXT NOT NULL",
    "version_before TEXT",      "version_after TEXT", "checksum TEXT",
    "started_at TEXT NOT NULL", "duration_ms REAL",   0};
static const char *const azScriptsCols[] = {
    "revision TEXT NOT NULL PRIMARY KEY",
    "file TEXT NOT NULL",
    "parents TEXT NOT NULL",
    "depends_on TEXT NOT NULL",
    "message TEXT NOT NULL",
    "checksum TEXT NOT NULL",
    "downgrade_sql TEXT",
    "transaction_none INTEGER NOT NULL",
    0};
static const char *const azLockCols[] = {"id INTEGER PRIMARY KEY",
                                         "pid INTEGER NOT NULL",
                                         "revision TEXT NOT NULL",
                                         "since TEXT NOT NULL",
                                         "boot_id TEXT",
                                         "started INTEGER",
                                         0};

/* nOld: a table with only the first nOld columns is the engine's too (a
** migrate_lock written before boot_id and started were kept). */
static const struct {
  const char *zName;
  const char *const *azCol;
  int nOld;
  unsigned m;
} aBkTable[] = {
    {"migrate_version", azVersionCols, 0, MIG_BK_VERSION},
    {"migrate_log", azLogCols, 0, MIG_BK_LOG},
    {"migrate_scripts", azScriptsCols, 0, MIG_BK_SCRIPTS},
    {"migrate_lock", azLockCols, 4, MIG_BK_LOCK},
};
#define BK_NTABLE ((int)(sizeof(aBkTable) / sizeof(aBkTable[0])))

/* One PRAGMA table_xinfo row (cid, name, type, notnull, dflt_value, pk,
** hidden) as "name TYPE NOT NULL PRIMARY KEY". */
static char *colDesc(sqlite3_stmt *st) {
  const char *zName = (const char *)sqlite3_column_text(st, 1);
  const char *zType = (const char *)sqlite3_column_text(st, 2);
  return sqlite3_mprintf("%s%s%s%s%s%s", zName ? zName : "",
                         zType && zType[0] ? " " : "", zType ? zType : "",
                         sqlite3_column_int(st, 3) ? " NOT NULL" : "",
                         sqlite3_column_int(st, 5) ? " PRIMARY KEY" : "",
                         sqlite3_column_int(st, 6) ? " HIDDEN" : "");
}

/* The refusal for table zName (as the database spells it), zWhy saying
** how it differs; always SQLITE_ERROR (or SQLITE_NOMEM). */
static int foreignTable(const char *zWho, const char *zName, int bView,
                        const char *zWhy, char **pzErr) {
  return migSetError(
      pzErr, SQLITE_ERROR,
      "%s: the %s main.%s was not created by sqlite-migrate (%s), and the "
      "engine keeps its own records under that name. Nothing was changed. "
      "Rename your %s (%s%s%s) and call again",
      zWho, bView ? "view" : "table", zName, zWhy ? zWhy : "?",
      bView ? "view" : "table",
      bView ? "create it under another name, then DROP VIEW main."
            : "ALTER TABLE main.",
      zName, bView ? "" : " RENAME TO another name");
}

/* Do migrate_lock's rows look like the one lock row the engine writes? */
static int lockRowsOurs(sqlite3 *db, const char *zName, int *pbOurs) {
  sqlite3_stmt *st = 0;
  char *zSql = sqlite3_mprintf(
      "SELECT count(*) = 1 AND min(id = 1 AND typeof(pid) = 'integer' AND "
      "pid > 0 AND typeof(revision) = 'text' AND typeof(since) = 'text') "
      "FROM main.\"%w\"",
      zName);
  int rc;
  *pbOurs = 0;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  sqlite3_free(zSql);
  if (rc) return rc;
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    *pbOurs = sqlite3_column_int(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

/* Compare the columns of table zName (PRAGMA table_xinfo) with those of
** the engine's table k; *pzWhy says the first difference (NULL: none). */
static int shapeDiff(sqlite3 *db, const char *zName, int k, char **pzWhy) {
  const char *const *az = aBkTable[k].azCol;
  sqlite3_stmt *st = 0;
  char *zSql = sqlite3_mprintf("PRAGMA main.table_xinfo(\"%w\")", zName);
  int n = 0, nWant = 0, rc;
  *pzWhy = 0;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  sqlite3_free(zSql);
  if (rc) return rc;
  while (az[nWant]) nWant++;
  while (*pzWhy == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    char *zCol = colDesc(st);
    if (zCol == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    if (n >= nWant) {
      *pzWhy = sqlite3_mprintf(
          "it has a column %d, '%s'; the engine's has %d "
          "columns",
          n + 1, zCol, nWant);
    } else if (sqlite3_stricmp(zCol, az[n]) != 0) {
      *pzWhy = sqlite3_mprintf("column %d is '%s' where the engine's is '%s'",
                               n + 1, zCol, az[n]);
    }
    sqlite3_free(zCol);
    n++;
  }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && *pzWhy == 0 && n < nWant && n != aBkTable[k].nOld) {
    *pzWhy = sqlite3_mprintf("it has %d column%s where the engine's has %d", n,
                             n == 1 ? "" : "s", nWant);
  }
  return rc;
}

/* Is main's object zName (a table or view, bView) the engine's table k?
** *pzWhy NULL when so, else how it differs. */
static int isOurs(sqlite3 *db, const char *zName, int bView, int k,
                  char **pzWhy) {
  int rc, bOurs = 0;
  if (bView) {
    *pzWhy = sqlite3_mprintf("it is a view");
    return *pzWhy ? SQLITE_OK : SQLITE_NOMEM;
  }
  rc = shapeDiff(db, zName, k, pzWhy);
  if (rc || *pzWhy || aBkTable[k].m != MIG_BK_LOCK) return rc;
  rc = lockRowsOurs(db, zName, &bOurs);
  if (rc == SQLITE_OK && !bOurs) {
    *pzWhy = sqlite3_mprintf(
        "its columns are the engine's but its rows are "
        "not the one lock row the engine writes");
    if (*pzWhy == 0) rc = SQLITE_NOMEM;
  }
  return rc;
}

/* Which of the engine's tables main holds: see internal.h. */
int migBookkeepingCheck(sqlite3 *db, const char *zWho, unsigned *pmHas,
                        char **pzErr) {
  sqlite3_stmt *st = 0;
  int rc, rcStep = SQLITE_DONE;
  *pmHas = 0;
  rc = sqlite3_prepare_v2(
      db,
      "SELECT name, type = 'view' FROM main.sqlite_master WHERE type IN "
      "('table', 'view') AND name COLLATE NOCASE IN ('migrate_version', "
      "'migrate_log', 'migrate_scripts', 'migrate_lock', 'alembic_version')",
      -1, &st, 0);
  if (rc) {
    return migSetError(pzErr, rc, "%s: cannot read the schema: %s", zWho,
                       sqlite3_errmsg(db));
  }
  while (rc == SQLITE_OK && (rcStep = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zName = (const char *)sqlite3_column_text(st, 0);
    char *zWhy = 0;
    int k = 0;
    if (zName == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    if (sqlite3_stricmp(zName, "alembic_version") == 0) {
      *pmHas |= MIG_BK_ALEMBIC; /* Alembic's: adopt.c checks its shape */
      continue;
    }
    while (k < BK_NTABLE - 1 && sqlite3_stricmp(zName, aBkTable[k].zName)) k++;
    rc = isOurs(db, zName, sqlite3_column_int(st, 1), k, &zWhy);
    if (rc == SQLITE_OK && zWhy) {
      rc = foreignTable(zWho, zName, sqlite3_column_int(st, 1), zWhy, pzErr);
    } else if (rc == SQLITE_OK) {
      *pmHas |= aBkTable[k].m;
    } else if (rc != SQLITE_NOMEM) {
      migSetError(pzErr, rc, "%s: cannot read the schema: %s", zWho,
                  sqlite3_errmsg(db));
    }
    sqlite3_free(zWhy);
  }
  if (rc == SQLITE_OK && rcStep != SQLITE_DONE) {
    rc = migSetError(pzErr, rcStep, "%s: cannot read the schema: %s", zWho,
                     sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rc;
}
