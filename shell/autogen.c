/*
** autogen.c — the declared schema in the shell: diff, and the parts of
** revision --autogenerate and check that read it.
**
**     sqlite-migrate revision --autogenerate -m "add email" [--schema FILE]
**     sqlite-migrate revision --autogenerate --from-db legacy.db -m baseline
**     sqlite-migrate diff [--schema FILE] [-d DB]
**     sqlite-migrate check            (also: schema.sql against the head)
**
** The declared schema is a SQL file, by default schema.sql in the folder
** that holds the migrations folder (migrations/../schema.sql), else
** migrations/schema.sql (which the bundler skips).  The schema
** "the history gives at its head" is built by upgrading a scratch
** in-memory database to the head; a database's schema is read with
** migrate_schema_sql().  The engine's migrate_diff() writes the SQL.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shell.h"

#define SCHEMA_MAX (64u << 20) /* a declared schema file */

/* The declared schema's path: --schema, else schema.sql beside the
** migrations folder, else schema.sql inside it (the bundler skips that
** name), else the first (for the error message).  Caller frees. */
static char *autogenSchemaPath(Shell *s, Args *a) {
  const char *zOpt = argsValue(a, "schema");
  const char *zDir = s->eSrc == SRC_DIR ? s->zSrc : "migrations";
  char *zBeside, *zInside;
  struct stat st;
  size_t n, k;
  if (zOpt) return sqlite3_mprintf("%s", zOpt);
  n = strlen(zDir);
  while (n > 1 && zDir[n - 1] == '/') n--;
  k = n;
  while (k > 0 && zDir[k - 1] != '/') k--;
  zBeside = sqlite3_mprintf("%.*sschema.sql", (int)k, zDir);
  if (zBeside == 0 || stat(zBeside, &st) == 0) return zBeside;
  zInside = sqlite3_mprintf("%.*s/schema.sql", (int)n, zDir);
  if (zInside && stat(zInside, &st) == 0) {
    sqlite3_free(zBeside);
    return zInside;
  }
  sqlite3_free(zInside);
  return zBeside;
}

/* Read file zPath into *pzText (caller frees).  EXIT_OK, or EXIT_FAIL
** (printed) naming the file. */
static int autogenReadFile(const char *zPath, char **pzText) {
  FILE *f = fopen(zPath, "rb");
  struct stat st;
  char *z;
  size_t n;
  *pzText = 0;
  if (f == 0) {
    return outFail(
        "cannot read the declared schema %s: %s (write the "
        "schema there, or give --schema FILE)",
        zPath, strerror(errno));
  }
  if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
      (unsigned long long)st.st_size > SCHEMA_MAX) {
    fclose(f);
    return outFail(
        "cannot read the declared schema %s: not a file of at "
        "most 64 MiB",
        zPath);
  }
  z = sqlite3_malloc64((sqlite3_uint64)st.st_size + 1);
  if (z == 0) {
    fclose(f);
    return outFail("out of memory");
  }
  n = fread(z, 1, (size_t)st.st_size, f);
  if (ferror(f)) {
    fclose(f);
    sqlite3_free(z);
    return outFail("cannot read the declared schema %s: %s", zPath,
                   strerror(errno));
  }
  fclose(f);
  z[n] = 0;
  if (strlen(z) != n) {
    sqlite3_free(z);
    return outFail("cannot read the declared schema %s: it holds a NUL byte",
                   zPath);
  }
  *pzText = z;
  return EXIT_OK;
}

/* The schema the history gives at zTarget ("heads", a revision), as SQL
** (*pzSql, caller frees; "" for an empty schema).  EXIT_OK or EXIT_FAIL
** (printed). */
static int autogenHeadSql(migrate_bundle *b, const char *zTarget,
                          char **pzSql) {
  sqlite3 *db = 0;
  char *zErr = 0;
  migrate_options opt;
  int rc;
  *pzSql = 0;
  rc = sqlite3_open(":memory:", &db);
  if (rc == SQLITE_OK) rc = sqlite3_migrate_init(db, &zErr, 0);
  memset(&opt, 0, sizeof(opt));
  opt.mode = MIGRATE_UPGRADE;
  opt.zFunc = "autogenerate";
  if (rc == SQLITE_OK) rc = migrate_run(db, b, zTarget, &opt, 0, &zErr);
  if (rc == SQLITE_OK) rc = migrate_schema_sql(db, pzSql, &zErr);
  if (rc == SQLITE_OK && *pzSql == 0) {
    *pzSql = sqlite3_mprintf("%s", "");
    if (*pzSql == 0) rc = SQLITE_NOMEM;
  }
  if (rc) {
    rc = outFail("cannot build the schema the history gives at %s: %s", zTarget,
                 zErr ? zErr
                 : db ? sqlite3_errmsg(db)
                      : sqlite3_errstr(rc));
  }
  sqlite3_free(zErr);
  sqlite3_close(db);
  return rc ? EXIT_FAIL : EXIT_OK;
}

/* The schema of database file zPath as SQL (*pzSql, caller frees; "" when
** empty).  EXIT_OK or EXIT_FAIL (printed). */
static int autogenDbSql(const char *zPath, char **pzSql) {
  sqlite3 *db = 0;
  char *zErr = 0;
  struct stat st;
  int rc;
  *pzSql = 0;
  if (stat(zPath, &st) != 0) {
    return outFail("cannot open database %s: %s", zPath, strerror(errno));
  }
  rc = sqlite3_open_v2(zPath, &db, SQLITE_OPEN_READONLY, 0);
  if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(db, SHELL_BUSY_TIMEOUT_MS);
  if (rc == SQLITE_OK) rc = migrate_schema_sql(db, pzSql, &zErr);
  if (rc == SQLITE_OK && *pzSql == 0) {
    *pzSql = sqlite3_mprintf("%s", "");
    if (*pzSql == 0) rc = SQLITE_NOMEM;
  }
  if (rc) {
    rc = outFail("cannot read the schema of %s: %s", zPath,
                 zErr ? zErr
                 : db ? sqlite3_errmsg(db)
                      : sqlite3_errstr(rc));
  }
  sqlite3_free(zErr);
  sqlite3_close(db);
  return rc ? EXIT_FAIL : EXIT_OK;
}

/* The two sections of an autogenerated revision: from the history's head
** (zHead; or, with zFromDb, from an empty schema to that database's) to
** the declared schema.  *pzUp NULL when there is nothing to do. */
int autogenSections(Shell *s, Args *a, migrate_bundle *b, const char *zHead,
                    char **pzUp, char **pzDown) {
  const char *zFromDb = argsValue(a, "from-db");
  char *zPath = 0, *zTo = 0, *zFrom = 0, *zErr = 0, *zLabel = 0;
  int rc;
  *pzUp = *pzDown = 0;
  if (zFromDb) {
    rc = autogenDbSql(zFromDb, &zTo);
    zLabel = sqlite3_mprintf("%s", zFromDb);
    zFrom = sqlite3_mprintf("%s", "");
  } else {
    zPath = autogenSchemaPath(s, a);
    if (zPath == 0) return outFail("out of memory");
    rc = autogenReadFile(zPath, &zTo);
    if (rc == EXIT_OK) rc = autogenHeadSql(b, zHead, &zFrom);
    zLabel = sqlite3_mprintf("%s", zPath);
  }
  if (rc == EXIT_OK && (zLabel == 0 || zFrom == 0))
    rc = outFail("out of memory");
  if (rc == EXIT_OK &&
      migrate_diff(zFrom, zFromDb ? "an empty schema" : "the history's head",
                   zTo, zLabel, pzUp, pzDown, &zErr) != SQLITE_OK) {
    rc = outFail("%s", zErr ? zErr : "out of memory");
  }
  sqlite3_free(zErr);
  sqlite3_free(zPath);
  sqlite3_free(zTo);
  sqlite3_free(zFrom);
  sqlite3_free(zLabel);
  return rc;
}

/* check's part: the declared schema (when there is one) against the
** history's heads (all of them applied).  *pnFound gets the number of
** differences printed. */
int autogenCheck(Shell *s, Args *a, migrate_bundle *b, int *pnFound) {
  char *zPath = autogenSchemaPath(s, a), *zTo = 0, *zFrom = 0, *zErr = 0;
  char *zReport = 0, *zLabel = 0;
  struct stat st;
  int rc = EXIT_OK;
  *pnFound = 0;
  if (zPath == 0) return outFail("out of memory");
  if (!argsValue(a, "schema") && stat(zPath, &st) != 0) {
    sqlite3_free(zPath); /* no declared schema: nothing to compare */
    return EXIT_OK;
  }
  rc = autogenReadFile(zPath, &zTo);
  if (rc == EXIT_OK) rc = autogenHeadSql(b, "heads", &zFrom);
  if (rc == EXIT_OK) {
    zLabel = sqlite3_mprintf("%s", zPath);
    if (zLabel == 0 ||
        migrate_diff_report(zFrom, "the history's head", zTo, zLabel, &zReport,
                            &zErr) != SQLITE_OK) {
      rc = outFail("%s", zErr ? zErr : "out of memory");
    }
  }
  if (rc == EXIT_OK && zReport) {
    const char *z = zReport;
    while (*z) {
      const char *e = strchr(z, '\n');
      size_t n = e ? (size_t)(e - z) : strlen(z);
      printf("schema: %.*s\n", (int)n, z);
      (*pnFound)++;
      z += n + (e ? 1 : 0);
    }
    printf(
        "%s differs from the history's head: run 'sqlite-migrate "
        "revision --autogenerate -m MESSAGE' to write the revision.\n",
        zPath);
  }
  sqlite3_free(zReport);
  sqlite3_free(zErr);
  sqlite3_free(zPath);
  sqlite3_free(zTo);
  sqlite3_free(zFrom);
  sqlite3_free(zLabel);
  return rc;
}

/* diff [--schema FILE] [-d DB]: the upgrade SQL from the database (no -d:
** the history's head) to the declared schema. */
int cmdDiff(Shell *s, Args *a) {
  migrate_bundle *b = 0;
  char *zPath = autogenSchemaPath(s, a), *zTo = 0, *zFrom = 0, *zErr = 0;
  char *zUp = 0;
  int rc;
  if (zPath == 0) return outFail("out of memory");
  rc = autogenReadFile(zPath, &zTo);
  if (rc == EXIT_OK && s->zDbArg) {
    rc = autogenDbSql(s->zDbPath ? s->zDbPath : s->zDbArg, &zFrom);
  } else if (rc == EXIT_OK) {
    rc = shellBundle(s, &b);
    if (rc == EXIT_OK) rc = autogenHeadSql(b, "heads", &zFrom);
  }
  if (rc == EXIT_OK &&
      migrate_diff(zFrom, s->zDbArg ? "the database" : "the history's head",
                   zTo, zPath, &zUp, 0, &zErr) != SQLITE_OK) {
    rc = outFail("%s", zErr ? zErr : "out of memory");
  }
  if (rc == EXIT_OK) {
    if (zUp) {
      fputs(zUp, stdout);
    } else {
      fprintf(stderr, "No changes in schema detected.\n");
    }
  }
  sqlite3_free(zUp);
  sqlite3_free(zErr);
  sqlite3_free(zPath);
  sqlite3_free(zTo);
  sqlite3_free(zFrom);
  return outFinish(rc);
}
