/*
** open.c — where sqlite-migrate's database and revisions come from.
**
**     sqlite-migrate -d app.db ...                      a file name
**     sqlite-migrate -d sqlite:///app.db ...            the same, as a URL
**     MIGRATE_DATABASE=app.db sqlite-migrate ...
**     DATABASE_URL=sqlite:////var/lib/app.db sqlite-migrate ...
**
**     sqlite-migrate --dir migrations ...               a migrations folder
**     sqlite-migrate --bundle history.bundle ...        a bundle file
**     sqlite-migrate -c alembic.ini ...                 script_location
**     (none: ./migrations when it exists, else the built-in bundle -- but
**     only when the program was built from a project's own folder with
**     `make MIGRATIONS=...`; the example history of a plain `make` is never
**     used unasked, and the error says where it looked)
**
** The database comes from -d, else $MIGRATE_DATABASE, else $DATABASE_URL,
** else the configuration file's database or sqlalchemy.url (config.c).
** URLs are SQLAlchemy's SQLite form: "sqlite:///relative/path",
** "sqlite:////absolute/path", "sqlite://" or "sqlite:///:memory:" for an
** in-memory database; another scheme is an error.
**
** Read-only commands open the file with SQLITE_OPEN_READONLY, so a missing
** file is an error and nothing is created; downgrade needs an existing file
** too.  Every connection gets a busy timeout and the engine's SQL functions
** (a revision may call migrate_rebuild()).  shellBackup() copies a database
** with SQLite's online backup API into a file it creates itself (O_EXCL),
** so an existing file is never overwritten.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell.h"

/* ======================================================================
** The database
*/

static int hexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parse a SQLite URL into a file name (sqlite3_free).  zWhat names the
** setting for messages.  Returns NULL with *pzErr set on error. */
static char *urlToPath(const char *zUrl, const char *zWhat, char **pzErr) {
  const char *zColon = strchr(zUrl, ':');
  const char *z;
  char *zOut;
  size_t i, j;
  if (zColon == 0 ||
      !(strncmp(zUrl, "sqlite:", 7) == 0 || strncmp(zUrl, "sqlite+", 7) == 0)) {
    /* do not echo the URL: it may hold a password */
    *pzErr = sqlite3_mprintf(
        "%s is a '%.*s' URL; sqlite-migrate needs a SQLite one: "
        "sqlite:///relative/path or sqlite:////absolute/path",
        zWhat, zColon ? (int)(zColon - zUrl) : 0, zUrl);
    return 0;
  }
  if (strncmp(zColon, "://", 3) != 0) {
    *pzErr = sqlite3_mprintf(
        "%s '%s' is not a URL of the form "
        "sqlite:///relative/path or "
        "sqlite:////absolute/path",
        zWhat, zUrl);
    return 0;
  }
  z = zColon + 3;
  if (strchr(z, '?')) {
    *pzErr = sqlite3_mprintf("%s '%s': query parameters are not supported",
                             zWhat, zUrl);
    return 0;
  }
  if (*z == 0) return sqlite3_mprintf(":memory:");
  if (*z != '/') {
    *pzErr = sqlite3_mprintf(
        "%s '%s' names a host; a SQLite URL has none "
        "(sqlite:///relative/path or "
        "sqlite:////absolute/path)",
        zWhat, zUrl);
    return 0;
  }
  z++;
  if (*z == 0) return sqlite3_mprintf(":memory:");
  zOut = sqlite3_malloc64(strlen(z) + 1);
  if (zOut == 0) {
    *pzErr = sqlite3_mprintf("out of memory");
    return 0;
  }
  for (i = j = 0; z[i]; i++) {
    if (z[i] == '%' && hexVal(z[i + 1]) >= 0 && hexVal(z[i + 2]) >= 0) {
      zOut[j++] = (char)(hexVal(z[i + 1]) * 16 + hexVal(z[i + 2]));
      i += 2;
    } else {
      zOut[j++] = z[i];
    }
  }
  zOut[j] = 0;
  return zOut;
}

/* A -d value or environment setting: a URL or a plain file name. */
static char *settingToPath(const char *z, const char *zWhat, char **pzErr) {
  if (strncmp(z, "sqlite:", 7) == 0 || strncmp(z, "sqlite+", 7) == 0 ||
      strstr(z, "://")) {
    return urlToPath(z, zWhat, pzErr);
  }
  {
    char *zOut = sqlite3_mprintf("%s", z);
    if (zOut == 0) *pzErr = sqlite3_mprintf("out of memory");
    return zOut;
  }
}

static int isDir(const char *z) {
  struct stat st;
  return stat(z, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The bundle built into the program is the example history of a plain
** `make` (1) or a project's own folder, `make MIGRATIONS=...` (0). */
#ifndef MIGRATE_EMBEDDED_EXAMPLE
#define MIGRATE_EMBEDDED_EXAMPLE 1
#endif

/* The database: -d, MIGRATE_DATABASE, DATABASE_URL, the configuration. */
static int configureDb(Shell *s) {
  const char *zVal = 0;
  char *zErr = 0;
  if (s->zDbArg) {
    zVal = s->zDbArg;
    s->zDbFrom = "-d";
  } else if (getenv("MIGRATE_DATABASE") && getenv("MIGRATE_DATABASE")[0]) {
    zVal = getenv("MIGRATE_DATABASE");
    s->zDbFrom = "MIGRATE_DATABASE";
  } else if (getenv("DATABASE_URL") && getenv("DATABASE_URL")[0]) {
    zVal = getenv("DATABASE_URL");
    s->zDbFrom = "DATABASE_URL";
  } else if (s->zCfgDb) {
    zVal = s->zCfgDb;
    s->zDbFrom = s->zCfgDbKey;
  }
  if (zVal) {
    if (zVal[0] == 0) return outUsage(s, "-d: the database name is empty");
    s->zDbPath = settingToPath(zVal, s->zDbFrom, &zErr);
    if (s->zDbPath == 0) {
      int rc = outUsage(s, "%s", zErr ? zErr : "out of memory");
      sqlite3_free(zErr);
      return rc;
    }
  }
  return EXIT_OK;
}

/* An Alembic environment folder (env.py beside versions/, as Alembic's and
** Flask-Migrate's "migrations"): its revisions are in versions/, so that is
** the folder read (and refused, naming its .py files).  Returns the folder
** to read: zDir itself, or "<zDir>/versions" in *pzOwned (sqlite3_free). */
static const char *alembicVersions(const char *zDir, char **pzOwned) {
  char *zEnv = sqlite3_mprintf("%s/env.py", zDir);
  char *zVer = sqlite3_mprintf("%s/versions", zDir);
  struct stat st;
  int bEnv = zEnv && stat(zEnv, &st) == 0 && S_ISREG(st.st_mode);
  sqlite3_free(zEnv);
  if (zVer && bEnv && isDir(zVer)) {
    *pzOwned = zVer;
    return zVer;
  }
  sqlite3_free(zVer);
  return zDir;
}

/* See shell.h. */
int shellConfigure(Shell *s) {
  int rc = configRead(s);
  if (rc == EXIT_OK) rc = configureDb(s);
  if (rc) return rc;
  s->eSrc = SRC_DIR;
  if (s->zDirArg) {
    s->zSrc = s->zDirArg;
    s->zSrcFrom = "--dir";
  } else if (s->zBundleArg) {
    s->eSrc = SRC_FILE;
    s->zSrc = s->zBundleArg;
    s->zSrcFrom = "--bundle";
  } else if (s->zCfgScripts) {
    s->zSrc = s->zCfgScripts;
    s->zSrcFrom = "script_location";
  } else if (isDir("migrations")) {
    s->zSrc = "migrations";
    s->zSrcFrom = "./migrations";
  } else {
    s->eSrc = MIGRATE_EMBEDDED_EXAMPLE ? SRC_NONE : SRC_EMBEDDED;
    s->zSrc = 0;
    s->zSrcFrom = 0;
  }
  if (s->eSrc == SRC_DIR) s->zSrc = alembicVersions(s->zSrc, &s->zSrcOwned);
  return EXIT_OK;
}

void shellClose(Shell *s) {
  if (s->pBundle && s->eSrc != SRC_EMBEDDED) migrate_bundle_free(s->pBundle);
  s->pBundle = 0;
  sqlite3_free(s->zDbPath);
  s->zDbPath = 0;
  sqlite3_free(s->zSrcOwned);
  s->zSrcOwned = 0;
  configFree(s);
}

int shellDbExists(const Shell *s) {
  struct stat st;
  if (s->zDbPath == 0 || strcmp(s->zDbPath, ":memory:") == 0) return 0;
  return stat(s->zDbPath, &st) == 0;
}

char *shellDbUrl(const Shell *s) {
  return sqlite3_mprintf("sqlite:///%s", s->zDbPath ? s->zDbPath : "");
}

/* See shell.h. */
int shellOpenDb(Shell *s, int eMode, sqlite3 **pDb, int *pbCreated) {
  sqlite3 *db = 0;
  int flags, rc, bMem, bExists;
  char *zErr = 0;
  *pDb = 0;
  if (pbCreated) *pbCreated = 0;
  if (s->zDbPath == 0) {
    return outUsage(s,
                    "no database: give -d DATABASE, or set "
                    "MIGRATE_DATABASE or DATABASE_URL");
  }
  bMem = strcmp(s->zDbPath, ":memory:") == 0;
  bExists = bMem || shellDbExists(s);
  if (!bExists && eMode != DB_WRITE) {
    return outFail("database %s does not exist%s", s->zDbPath,
                   eMode == DB_READ ? " (nothing to read; this command "
                                      "never creates it)"
                                    : "");
  }
  if (pbCreated) *pbCreated = !bExists;
  flags = eMode == DB_READ    ? SQLITE_OPEN_READONLY
          : eMode == DB_WRITE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                              : SQLITE_OPEN_READWRITE;
  rc = sqlite3_open_v2(s->zDbPath, &db, flags, 0);
  if (rc != SQLITE_OK) {
    rc = outFail("cannot open database %s: %s", s->zDbPath,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return rc;
  }
  rc = sqlite3_busy_timeout(db, SHELL_BUSY_TIMEOUT_MS);
  if (rc == SQLITE_OK) rc = sqlite3_migrate_init(db, &zErr, 0);
  if (rc == SQLITE_OK) {
    /* fail early, with the file's name, on something that is no database */
    rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", 0, 0, &zErr);
  }
  if (rc != SQLITE_OK) {
    rc = outFail("cannot use database %s: %s", s->zDbPath,
                 zErr ? zErr : sqlite3_errmsg(db));
    sqlite3_free(zErr);
    sqlite3_close(db);
    return rc;
  }
  *pDb = db;
  return EXIT_OK;
}

/* See shell.h. */
int shellCloseDb(Shell *s, sqlite3 *db, int rc) {
  if (sqlite3_close(db) != SQLITE_OK) {
    /* only an unfinalized statement keeps it open: a bug here, not there */
    if (rc == EXIT_OK) {
      rc = outFail("cannot close database %s: %s", s->zDbPath,
                   sqlite3_errmsg(db));
    }
  }
  return rc;
}

/* See shell.h. */
int shellVersionNote(Shell *s, sqlite3 *db) {
  const char *zTable = 0;
  char *zErr = 0;
  int rc = migrate_version_source(db, &zTable, &zErr);
  if (rc != SQLITE_OK) {
    rc = outFail("cannot read the version of %s: %s", s->zDbPath,
                 zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_free(zErr);
    return rc;
  }
  if (zTable && strcmp(zTable, "alembic_version") == 0) {
    fprintf(stderr,
            "sqlite-migrate: read from alembic_version (Alembic migrated %s); "
            "the first upgrade, downgrade or stamp adopts it into "
            "migrate_version and keeps alembic_version in step\n",
            s->zDbPath);
  }
  return EXIT_OK;
}

/* See shell.h. */
int shellCurrent(Shell *s, sqlite3 *db, migrate_bundle *b, int **paCur,
                 int *pnCur) {
  char *zVer = 0, *zErr = 0;
  int rc, n = 0;
  int *a = 0;
  const char *z;
  *paCur = 0;
  *pnCur = 0;
  rc = migrate_current(db, &zVer, &zErr);
  if (rc != SQLITE_OK) {
    rc = outFail("cannot read the version of %s: %s", s->zDbPath,
                 zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_free(zErr);
    return rc;
  }
  if (zVer == 0) return EXIT_OK;
  a = sqlite3_malloc64(sizeof(int) * (strlen(zVer) + 1));
  if (a == 0) {
    sqlite3_free(zVer);
    return outFail("out of memory");
  }
  for (z = zVer; *z;) {
    const char *zEnd = strchr(z, ',');
    size_t k = zEnd ? (size_t)(zEnd - z) : strlen(z);
    char *zId = sqlite3_mprintf("%.*s", (int)k, z);
    int i = zId ? migrate_bundle_find(b, zId) : -1;
    if (zId == 0 || i < 0) {
      const char *zTable = 0; /* which table said so (NULL if unreadable) */
      char *zE2 = 0;
      int bAlembic;
      migrate_version_source(db, &zTable, &zE2);
      sqlite3_free(zE2);
      bAlembic = zTable && strcmp(zTable, "alembic_version") == 0;
      rc = zId ? outFail(
                     "Can't locate revision identified by '%s': the "
                     "database%s is at a revision these revisions do not "
                     "include; use the migrations that applied it",
                     zId, bAlembic ? " (its alembic_version)" : "")
               : outFail("out of memory");
      sqlite3_free(zId);
      sqlite3_free(a);
      sqlite3_free(zVer);
      return rc;
    }
    sqlite3_free(zId);
    a[n++] = i;
    z += k;
    if (*z == ',') z++;
  }
  sqlite3_free(zVer);
  *paCur = a;
  *pnCur = n;
  return EXIT_OK;
}

/* See shell.h. */
int shellBackup(sqlite3 *db, const char *zPath) {
  sqlite3 *pDest = 0;
  sqlite3_backup *p;
  int fd, rc, nTry = 0;
  fd = open(zPath, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    if (errno == EEXIST) {
      return outFail(
          "backup file %s already exists; refusing to overwrite "
          "it (nothing was changed)",
          zPath);
    }
    return outFail("cannot create backup file %s: %s (nothing was changed)",
                   zPath, strerror(errno));
  }
  if (close(fd) != 0) {
    rc = outFail("cannot create backup file %s: %s (nothing was changed)",
                 zPath, strerror(errno));
    unlink(zPath);
    return rc;
  }
  rc = sqlite3_open_v2(zPath, &pDest, SQLITE_OPEN_READWRITE, 0);
  if (rc == SQLITE_OK) {
    p = sqlite3_backup_init(pDest, "main", db, "main");
    if (p == 0) {
      rc = sqlite3_errcode(pDest);
    } else {
      do {
        rc = sqlite3_backup_step(p, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(100);
      } while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++nTry < 50);
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
      if (sqlite3_backup_finish(p) != SQLITE_OK && rc == SQLITE_OK) {
        rc = sqlite3_errcode(pDest);
      }
    }
  }
  if (rc != SQLITE_OK) {
    rc = outFail(
        "cannot back up the database to %s: %s (nothing was "
        "changed)",
        zPath, pDest ? sqlite3_errmsg(pDest) : sqlite3_errstr(rc));
    sqlite3_close(pDest);
    unlink(zPath);
    return rc;
  }
  if (sqlite3_close(pDest) != SQLITE_OK) {
    unlink(zPath);
    return outFail("cannot close backup file %s (nothing was changed)", zPath);
  }
  return EXIT_OK;
}

/* ======================================================================
** The revisions
*/

/* No source of revisions: say where we looked and what to give. */
static int noRevisions(Shell *s) {
  char *zCfg = s->zCfgFile ? sqlite3_mprintf(
                                 "%s has no script_location in "
                                 "[%s]",
                                 s->zCfgFile, s->zCfgSection)
                           : sqlite3_mprintf("no ./sqlite-migrate.ini");
  int rc;
  if (zCfg == 0) return outFail("out of memory");
  rc = outFail(
      "no revisions to work with: no --dir or --bundle given, %s, and no "
      "./migrations folder here; the history built into this program is the "
      "example of a plain `make`, which is never used unasked. Give --dir "
      "FOLDER, --bundle FILE or -c alembic.ini, create a folder with "
      "`sqlite-migrate init`, or build the program with `make "
      "MIGRATIONS=FOLDER`",
      zCfg);
  sqlite3_free(zCfg);
  return rc;
}

/* See shell.h. */
int shellEngineFail(const char *zErr, int rc) {
  static const char zNoSuch[] = "No such revision or branch '";
  const char *zE = zErr ? zErr : sqlite3_errstr(rc);
  const char *zAt = strstr(zE, zNoSuch);
  if (zAt) {
    const char *zId = zAt + sizeof(zNoSuch) - 1;
    const char *zEnd = strchr(zId, '\'');
    if (zEnd) {
      /* Alembic's CLI words; the engine's hint, if any, stays after them */
      return outFail("Can't locate revision identified by '%.*s'%s",
                     (int)(zEnd - zId), zId, zEnd + 1);
    }
  }
  return outFail("%s", zE);
}

/* See shell.h. */
int shellBundle(Shell *s, migrate_bundle **ppOut) {
  char *zErr = 0;
  int rc;
  *ppOut = 0;
  if (s->pBundle) {
    *ppOut = s->pBundle;
    return EXIT_OK;
  }
  if (s->eSrc == SRC_NONE) return noRevisions(s);
  if (s->eSrc == SRC_EMBEDDED) {
    rc = migrate_bundle_embedded(&s->pBundle, &zErr);
  } else {
    struct stat st;
    if (stat(s->zSrc, &st) != 0) {
      if (s->zCfgScripts && strcmp(s->zSrcFrom, "script_location") == 0) {
        return outFail(
            "cannot read migrations folder %s (script_location "
            "in %s [%s]): %s",
            s->zSrc, s->zCfgFile, s->zCfgSection, strerror(errno));
      }
      return outFail("cannot read %s %s: %s",
                     s->eSrc == SRC_DIR ? "migrations folder" : "bundle file",
                     s->zSrc, strerror(errno));
    }
    if (s->eSrc == SRC_DIR && !S_ISDIR(st.st_mode)) {
      return outFail(
          "--dir %s is not a folder (give a bundle file with "
          "--bundle)",
          s->zSrc);
    }
    if (s->eSrc == SRC_FILE && S_ISDIR(st.st_mode)) {
      return outFail(
          "--bundle %s is a folder (give a migrations folder with "
          "--dir)",
          s->zSrc);
    }
    rc = migrate_bundle_open_path(s->zSrc, &s->pBundle, &zErr);
  }
  if (rc != SQLITE_OK) {
    const char *zE = zErr ? zErr : sqlite3_errstr(rc);
    const char *zSql = strstr(zE, ".sql");
    const char *zSp = strchr(zE, ' ');
    s->pBundle = 0;
    if (s->eSrc == SRC_DIR && zSql && (!zSp || zSql < zSp)) {
      /* parse errors start with the file name: show it with its folder */
      rc = outFail("%s%s%s", s->zSrc,
                   s->zSrc[strlen(s->zSrc) - 1] == '/' ? "" : "/", zE);
    } else if (s->eSrc == SRC_DIR && strncmp(zE, "holds ", 6) == 0) {
      /* a folder-wide refusal (Alembic's .py scripts): name the folder */
      rc = outFail("%s %s", s->zSrc, zE);
    } else {
      rc = outFail("%s", zE);
    }
    sqlite3_free(zErr);
    return rc;
  }
  *ppOut = s->pBundle;
  return EXIT_OK;
}
