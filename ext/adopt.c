/*
** adopt.c — a database that Alembic migrated: reading its version from
** alembic_version, adopting it into migrate_version on the first change,
** and keeping alembic_version equal to migrate_version afterwards.
**
**     const char *zTable;
**     migVersionTable(db, "migrate_to('head')", &zTable, &zErr);
**         // "migrate_version", "alembic_version" or NULL (base)
**     migAdoptPrepare(db, "migrate_to('head')", bStamp, &adopt, &zErr);
**     zSql = migAdoptSql(MIG_ADOPT_COPY, bOffline);   // in the write frame
**     zSql = migAdoptSql(MIG_ADOPT_SYNC, bOffline);   // before each commit
**
** It serves every reader of the version (migrate_current(), the migrations
** table, `sqlite-migrate current`) through migReadVersion() and
** migrate_current(), and every writer (migrate_to(), migrate_stamp(),
** migrate_sql(), upgrade/downgrade/stamp) through apply.c.
**
** How it works.  While migrate_version does not exist, the version is read
** from alembic_version (Alembic's table: version_num, one row per head; no
** rows is base).  The first change runs the COPY statements in its write
** transaction: the rows go into migrate_version and one migrate_log row per
** revision records the adoption (direction 'adopt', version before and
** after both the adopted heads; one row with a NULL revision when
** alembic_version was empty).  From then on, whenever a run writes
** migrate_version, the SYNC statements make alembic_version hold the same
** rows in the same transaction, so Alembic and this engine always read the
** same version.  Both statements copy between the tables in SQL: no
** revision id is pasted into SQL text.
**
** Refusals (nothing is changed): an alembic_version without a version_num
** column is not Alembic's table; when both tables exist and disagree (an
** Alembic run after the adoption, say), every change but a stamp is refused
** until a stamp says which version is true — the stamp then writes both.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* Does main.alembic_version have a version_num column?  *pbOk 1 or 0. */
static int alembicShapeOk(sqlite3 *db, int *pbOk) {
  sqlite3_stmt *st = 0;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT 1 FROM pragma_table_info("
                              "'alembic_version', 'main') "
                              "WHERE name = 'version_num' COLLATE NOCASE",
                              -1, &st, 0);
  *pbOk = 0;
  if (rc) return rc;
  rc = sqlite3_step(st);
  *pbOk = rc == SQLITE_ROW;
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  sqlite3_finalize(st);
  return rc;
}

/* Is there an alembic_version this engine can use?  *pbHas 1 or 0; an
** alembic_version of another shape is an error naming the table. */
static int alembicPresent(sqlite3 *db, const char *zFunc, int *pbHas,
                          char **pzErr) {
  int bExists = 0, bOk = 0;
  int rc = migTableExists(db, "alembic_version", &bExists);
  *pbHas = 0;
  if (rc == SQLITE_OK && bExists) rc = alembicShapeOk(db, &bOk);
  if (rc) {
    return migSetError(pzErr, rc, "%s: cannot read alembic_version: %s", zFunc,
                       sqlite3_errmsg(db));
  }
  if (bExists && !bOk) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s: the table alembic_version has no version_num "
                       "column, so it is not Alembic's version table and "
                       "cannot be read or kept in step; rename or drop it",
                       zFunc);
  }
  *pbHas = bExists;
  return SQLITE_OK;
}

/* See internal.h. */
int migVersionTable(sqlite3 *db, const char *zFunc, const char **pzTable,
                    char **pzErr) {
  int bOurs = 0, bAlembic = 0;
  int rc = migTableExists(db, "migrate_version", &bOurs);
  *pzTable = 0;
  if (rc) {
    return migSetError(pzErr, rc, "%s: cannot read the schema: %s", zFunc,
                       sqlite3_errmsg(db));
  }
  if (bOurs) {
    *pzTable = "migrate_version";
    return SQLITE_OK;
  }
  rc = alembicPresent(db, zFunc, &bAlembic, pzErr);
  if (rc == SQLITE_OK && bAlembic) *pzTable = "alembic_version";
  return rc;
}

/* See internal.h. */
int migVersionJoin(sqlite3 *db, const char *zTable, const char *zSep,
                   const char *zNone, char **pz) {
  sqlite3_stmt *st = 0;
  MigStr s = {0};
  int n = 0, rc;
  char *zSql = sqlite3_mprintf(
      "SELECT DISTINCT version_num FROM main.%s ORDER BY 1", zTable);
  *pz = 0;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  sqlite3_free(zSql);
  if (rc) return rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(st, 0);
    migStrSep(&s, &n, zSep);
    migStrAppendZ(&s, z ? z : "NULL");
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    migStrReset(&s);
    return rc;
  }
  if (n == 0 && zNone == 0) return SQLITE_OK;
  if (n == 0) migStrAppendZ(&s, zNone);
  *pz = migStrFinish(&s);
  return *pz ? SQLITE_OK : SQLITE_NOMEM;
}

/* See internal.h. */
int migAdoptDisagree(sqlite3 *db, char **pzOurs, char **pzTheirs) {
  int bOurs = 0, bAlembic = 0, bOk = 0;
  int rc = migTableExists(db, "migrate_version", &bOurs);
  *pzOurs = *pzTheirs = 0;
  if (rc == SQLITE_OK && bOurs) {
    rc = migTableExists(db, "alembic_version", &bAlembic);
  }
  if (rc == SQLITE_OK && bAlembic) rc = alembicShapeOk(db, &bOk);
  if (rc || !bOk) return rc;
  rc = migVersionJoin(db, "migrate_version", ", ", "base", pzOurs);
  if (rc == SQLITE_OK) {
    rc = migVersionJoin(db, "alembic_version", ", ", "base", pzTheirs);
  }
  if (rc == SQLITE_OK && strcmp(*pzOurs, *pzTheirs) == 0) rc = SQLITE_DONE;
  if (rc) {
    sqlite3_free(*pzOurs);
    sqlite3_free(*pzTheirs);
    *pzOurs = *pzTheirs = 0;
  }
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Both tables exist: refuse a change unless they hold the same rows. */
static int checkAgree(sqlite3 *db, const char *zFunc, char **pzErr) {
  char *zOurs = 0, *zTheirs = 0;
  int rc = migAdoptDisagree(db, &zOurs, &zTheirs);
  if (rc) {
    if (rc != SQLITE_NOMEM) {
      migSetError(pzErr, rc, "%s: cannot read the version tables: %s", zFunc,
                  sqlite3_errmsg(db));
    }
  } else if (zOurs) {
    rc = migSetError(pzErr, SQLITE_ERROR,
                     "%s: migrate_version (%s) and alembic_version (%s) "
                     "disagree, so the database's version is unknown (did "
                     "Alembic migrate it after sqlite-migrate did?). Nothing "
                     "was changed. Stamp the true version (SELECT "
                     "migrate_stamp('REV') or sqlite-migrate stamp REV): a "
                     "stamp writes both tables",
                     zFunc, zOurs, zTheirs);
  }
  sqlite3_free(zOurs);
  sqlite3_free(zTheirs);
  return rc;
}

/* See internal.h. */
int migAdoptPrepare(sqlite3 *db, const char *zFunc, int bStamp, MigAdopt *pA,
                    char **pzErr) {
  int bOurs = 0, bAlembic = 0;
  int rc = migTableExists(db, "migrate_version", &bOurs);
  memset(pA, 0, sizeof(*pA));
  if (rc) {
    return migSetError(pzErr, rc, "%s: cannot read the schema: %s", zFunc,
                       sqlite3_errmsg(db));
  }
  rc = alembicPresent(db, zFunc, &bAlembic, pzErr);
  if (rc || !bAlembic) return rc;
  if (bOurs && !bStamp) rc = checkAgree(db, zFunc, pzErr);
  if (rc) return rc;
  pA->bSync = 1;
  pA->bAdopt = !bOurs;
  return SQLITE_OK;
}

/* The statements, with %s for the schema prefix ("main." or ""). */
static const char zCopySql[] =
    "INSERT INTO %smigrate_version(version_num)\n"
    "  SELECT DISTINCT version_num FROM %salembic_version;\n"
    "INSERT INTO %smigrate_log(revision, direction, version_before,\n"
    "    version_after, checksum, started_at, duration_ms)\n"
    "  SELECT r.version_num, 'adopt', h.ids, h.ids, NULL,\n"
    "      strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now'), 0\n"
    "  FROM (SELECT DISTINCT version_num FROM %salembic_version\n"
    "        UNION ALL SELECT NULL\n"
    "        WHERE NOT EXISTS (SELECT 1 FROM %salembic_version)) AS r,\n"
    "       (SELECT group_concat(version_num, ',') AS ids\n"
    "        FROM (SELECT DISTINCT version_num FROM %salembic_version\n"
    "              ORDER BY 1)) AS h\n"
    "  ORDER BY r.version_num;\n";

static const char zSyncSql[] =
    "DELETE FROM %salembic_version WHERE version_num IS NULL\n"
    "  OR version_num NOT IN (SELECT version_num FROM %smigrate_version);\n"
    "INSERT INTO %salembic_version(version_num)\n"
    "  SELECT version_num FROM %smigrate_version WHERE version_num NOT IN\n"
    "    (SELECT version_num FROM %salembic_version) ORDER BY 1;\n";

/* See internal.h. */
char *migAdoptSql(int eWhich, int bOffline) {
  const char *z = bOffline ? "" : "main.";
  if (eWhich == MIG_ADOPT_COPY) {
    return sqlite3_mprintf(zCopySql, z, z, z, z, z, z);
  }
  return sqlite3_mprintf(zSyncSql, z, z, z, z, z);
}

/* Which table holds the version: see migrate.h. */
int migrate_version_source(sqlite3 *db, const char **pzTable, char **pzErr) {
  return migVersionTable(db, "migrate_version_source", pzTable, pzErr);
}
