/*
** config.c — sqlite-migrate's configuration file: its own sqlite-migrate.ini
** or an Alembic project's alembic.ini.
**
**     sqlite-migrate -c alembic.ini upgrade head        [alembic] section
**     sqlite-migrate -c alembic.ini -n reports current  [reports] section
**     sqlite-migrate current           ./sqlite-migrate.ini when present
**
**     [sqlite-migrate]
**     script_location = %(here)s/migrations
**     database = sqlite:///app.db          ; or a plain path: app.db
**
**     [alembic]
**     script_location = alembic
**     sqlalchemy.url = sqlite:///app.db
**
** Which section: -n NAME, else [sqlite-migrate] when the file has one, else
** [alembic].  Keys: script_location (the migrations folder; in an Alembic
** section the Alembic script folder, whose versions/ is then read) and
** database or sqlalchemy.url (a file name or a SQLite URL; another kind of
** URL is refused when the database is opened).  [sqlite-migrate] takes no
** other key (a typo must not pass); Alembic's sections keep their other
** keys, which sqlite-migrate ignores.  When [sqlite-migrate] gives no
** database, an [alembic] section's sqlalchemy.url is used, so a project can
** add a [sqlite-migrate] section to its alembic.ini and keep its URL.
**
** Syntax as Python's configparser reads these files: "key = value" or
** "key: value", keys case-insensitive, whole-line comments with '#' or ';',
** indented lines continue a value, "%(here)s" is the file's folder and
** "%%" a percent sign.  Relative paths are relative to the working folder,
** as in Alembic.  Precedence (open.c): options, then MIGRATE_DATABASE and
** DATABASE_URL, then this file.
*/
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_DEFAULT   "sqlite-migrate.ini"
#define CONFIG_OWN       "sqlite-migrate"

/* One "key = value" of one section. */
typedef struct IniEntry {
  char *zSection;
  char *zKey; /* lower case */
  char *zValue;
  int iLine;
} IniEntry;

typedef struct Ini {
  const char *zFile;
  IniEntry *a;
  int n, nAlloc;
} Ini;

static void iniFree(Ini *p) {
  int i;
  for (i = 0; i < p->n; i++) {
    sqlite3_free(p->a[i].zSection);
    sqlite3_free(p->a[i].zKey);
    sqlite3_free(p->a[i].zValue);
  }
  sqlite3_free(p->a);
  memset(p, 0, sizeof(*p));
}

/* Read the whole file (sqlite3_free) or NULL with *pzErr set. */
static char *readText(const char *zFile, char **pzErr) {
  FILE *f = fopen(zFile, "rb");
  char *z;
  long n = -1;
  if (f == 0) {
    *pzErr = sqlite3_mprintf("cannot read configuration file %s: %s", zFile,
                             strerror(errno));
    return 0;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0 || (size_t)n > CONFIG_MAX_BYTES) {
    fclose(f);
    *pzErr = sqlite3_mprintf("cannot read configuration file %s: %s", zFile,
                             n > 0 ? "larger than 1 MiB" : strerror(errno));
    return 0;
  }
  z = sqlite3_malloc64((size_t)n + 1);
  if (z == 0 || (n > 0 && fread(z, 1, (size_t)n, f) != (size_t)n)) {
    sqlite3_free(z);
    fclose(f);
    *pzErr = sqlite3_mprintf("cannot read configuration file %s", zFile);
    return 0;
  }
  fclose(f);
  z[n] = 0;
  return z;
}

/* z[0..n) without surrounding blanks, as a new string (NULL: no memory). */
static char *strip(const char *z, size_t n) {
  while (n > 0 && isspace((unsigned char)z[0])) z++, n--;
  while (n > 0 && isspace((unsigned char)z[n - 1])) n--;
  return sqlite3_mprintf("%.*s", (int)n, z);
}

static int iniAdd(Ini *p, const char *zSection, char *zKey, char *zValue,
                  int iLine) {
  if (p->n >= p->nAlloc) {
    int nNew = p->nAlloc ? p->nAlloc * 2 : 16;
    IniEntry *aNew = sqlite3_realloc64(p->a, sizeof(IniEntry) * (size_t)nNew);
    if (aNew == 0) return SQLITE_NOMEM;
    p->a = aNew;
    p->nAlloc = nNew;
  }
  p->a[p->n].zSection = sqlite3_mprintf("%s", zSection);
  p->a[p->n].zKey = zKey;
  p->a[p->n].zValue = zValue;
  p->a[p->n].iLine = iLine;
  p->n++;
  return p->a[p->n - 1].zSection ? SQLITE_OK : SQLITE_NOMEM;
}

/* Parse text z of file p->zFile.  SQLITE_OK, or an error in *pzErr. */
static int iniParse(Ini *p, const char *z, char **pzErr) {
  char *zSection = 0;
  int iLine = 0, rc = SQLITE_OK;
  while (*z && rc == SQLITE_OK) {
    const char *zEnd = strchr(z, '\n');
    size_t n = zEnd ? (size_t)(zEnd - z) : strlen(z);
    const char *zSep;
    size_t k = 0;
    iLine++;
    while (k < n && isspace((unsigned char)z[k])) k++;
    if (k == n || z[k] == '#' || z[k] == ';') {
      /* blank line or comment */
    } else if (k > 0 && p->n > 0 && zSection && p->a[p->n - 1].iLine > 0 &&
               strcmp(p->a[p->n - 1].zSection, zSection) == 0) {
      /* an indented line continues the previous value */
      char *zMore = strip(z, n);
      IniEntry *e = &p->a[p->n - 1];
      /* one %z only: SQLite reuses an empty first %z buffer for the next */
      e->zValue = zMore ? sqlite3_mprintf("%z\n%s", e->zValue, zMore) : 0;
      sqlite3_free(zMore);
      if (e->zValue == 0) rc = SQLITE_NOMEM;
    } else if (z[k] == '[') {
      const char *zClose = memchr(z + k, ']', n - k);
      if (zClose == 0) {
        *pzErr = sqlite3_mprintf("%s line %d: a section header needs ']'",
                                 p->zFile, iLine);
        rc = SQLITE_ERROR;
      } else {
        sqlite3_free(zSection);
        zSection = strip(z + k + 1, (size_t)(zClose - (z + k + 1)));
        if (zSection == 0) rc = SQLITE_NOMEM;
      }
    } else if (zSection == 0) {
      *pzErr = sqlite3_mprintf(
          "%s line %d: a setting before the first "
          "[section]",
          p->zFile, iLine);
      rc = SQLITE_ERROR;
    } else {
      const char *zEq = memchr(z, '=', n), *zCol = memchr(z, ':', n);
      zSep = zEq && (!zCol || zEq < zCol) ? zEq : zCol;
      if (zSep == 0) {
        *pzErr = sqlite3_mprintf("%s line %d: expected 'key = value'", p->zFile,
                                 iLine);
        rc = SQLITE_ERROR;
      } else {
        char *zKey = strip(z, (size_t)(zSep - z));
        char *zVal = strip(zSep + 1, n - (size_t)(zSep + 1 - z));
        char *c;
        if (zKey == 0 || zVal == 0) {
          sqlite3_free(zKey);
          sqlite3_free(zVal);
          rc = SQLITE_NOMEM;
        } else {
          for (c = zKey; *c; c++) *c = (char)tolower((unsigned char)*c);
          rc = iniAdd(p, zSection, zKey, zVal, iLine);
        }
      }
    }
    z += n;
    if (*z == '\n') z++;
  }
  sqlite3_free(zSection);
  if (rc == SQLITE_NOMEM) *pzErr = sqlite3_mprintf("out of memory");
  return rc;
}

static int iniHasSection(const Ini *p, const char *zSection) {
  int i;
  for (i = 0; i < p->n; i++) {
    if (strcmp(p->a[i].zSection, zSection) == 0) return 1;
  }
  return 0;
}

/* The last entry zKey of zSection, or NULL. */
static const IniEntry *iniFind(const Ini *p, const char *zSection,
                               const char *zKey) {
  int i;
  for (i = p->n - 1; i >= 0; i--) {
    if (strcmp(p->a[i].zSection, zSection) == 0 &&
        strcmp(p->a[i].zKey, zKey) == 0) {
      return &p->a[i];
    }
  }
  return 0;
}

/* configparser's interpolation: "%(here)s" is zHere, "%%" is "%".  The
** result is sqlite3_free'd by the caller; NULL with *pzErr on error. */
static char *interpolate(const Ini *p, const IniEntry *e, const char *zHere,
                         char **pzErr) {
  const char *z = e->zValue;
  char *zOut = sqlite3_mprintf("");
  while (zOut && *z) {
    const char *zPct = strchr(z, '%');
    if (zPct == 0) {
      zOut = sqlite3_mprintf("%z%s", zOut, z);
      break;
    }
    zOut = sqlite3_mprintf("%z%.*s", zOut, (int)(zPct - z), z);
    if (zOut == 0) break;
    if (zPct[1] == '%') {
      zOut = sqlite3_mprintf("%z%%", zOut);
      z = zPct + 2;
    } else if (strncmp(zPct, "%(here)s", 8) == 0) {
      zOut = sqlite3_mprintf("%z%s", zOut, zHere);
      z = zPct + 8;
    } else {
      *pzErr = sqlite3_mprintf(
          "%s line %d: %s: only %%(here)s and %%%% may "
          "follow '%%' (got '%.10s')",
          p->zFile, e->iLine, e->zKey, zPct);
      sqlite3_free(zOut);
      return 0;
    }
  }
  if (zOut == 0) *pzErr = sqlite3_mprintf("out of memory");
  return zOut;
}

/* The folder of zFile, absolute (sqlite3_free), for %(here)s. */
static char *folderOf(const char *zFile) {
  char zCwd[PATH_MAX];
  const char *zSlash = strrchr(zFile, '/');
  if (zFile[0] == '/') {
    return sqlite3_mprintf("%.*s", zSlash == zFile ? 1 : (int)(zSlash - zFile),
                           zFile);
  }
  if (getcwd(zCwd, sizeof(zCwd)) == 0) return 0;
  if (zSlash == 0) return sqlite3_mprintf("%s", zCwd);
  return sqlite3_mprintf("%s/%.*s", zCwd, (int)(zSlash - zFile), zFile);
}

static int isFolder(const char *z) {
  struct stat st;
  return stat(z, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Take the settings of section zSec (and [alembic]'s URL as a fallback)
** into s.  EXIT_OK or EXIT_USAGE (printed). */
static int takeSection(Shell *s, const Ini *p, const char *zSec) {
  int bOwn = strcmp(zSec, CONFIG_OWN) == 0, i, rc = EXIT_OK;
  const IniEntry *eLoc = iniFind(p, zSec, "script_location");
  const IniEntry *eDb = iniFind(p, zSec, "database");
  char *zHere = folderOf(p->zFile), *zErr = 0;
  if (zHere == 0) return outFail("out of memory");
  if (eDb == 0) eDb = iniFind(p, zSec, "sqlalchemy.url");
  if (eDb == 0 && bOwn) eDb = iniFind(p, "alembic", "sqlalchemy.url");
  for (i = 0; bOwn && i < p->n; i++) {
    const IniEntry *e = &p->a[i];
    if (strcmp(e->zSection, zSec) == 0 &&
        strcmp(e->zKey, "script_location") != 0 &&
        strcmp(e->zKey, "database") != 0) {
      rc = outUsage(s,
                    "%s line %d: unknown setting '%s' in [%s] (known: "
                    "script_location, database)",
                    p->zFile, e->iLine, e->zKey, zSec);
      goto done;
    }
  }
  if (eLoc && eLoc->zValue[0]) {
    s->zCfgScripts = interpolate(p, eLoc, zHere, &zErr);
    if (s->zCfgScripts == 0) goto fail;
    if (!bOwn) {
      /* Alembic's script_location is the environment; revisions: versions/ */
      char *zVersions = sqlite3_mprintf("%s/versions", s->zCfgScripts);
      if (zVersions == 0) goto nomem;
      if (isFolder(zVersions)) {
        sqlite3_free(s->zCfgScripts);
        s->zCfgScripts = zVersions;
      } else {
        sqlite3_free(zVersions);
      }
    }
  }
  if (eDb && eDb->zValue[0]) {
    s->zCfgDb = interpolate(p, eDb, zHere, &zErr);
    if (s->zCfgDb == 0) goto fail;
    s->zCfgDbKey =
        sqlite3_mprintf("%s [%s] %s", p->zFile, eDb->zSection, eDb->zKey);
    if (s->zCfgDbKey == 0) goto nomem;
  }
  goto done;
nomem:
  zErr = sqlite3_mprintf("out of memory");
fail:
  rc = outUsage(s, "%s", zErr ? zErr : "out of memory");
  sqlite3_free(zErr);
done:
  sqlite3_free(zHere);
  return rc;
}

/* See shell.h. */
int configRead(Shell *s) {
  Ini ini;
  char *zText, *zErr = 0;
  const char *zFile = s->zConfigArg;
  const char *zSec;
  int rc;
  memset(&ini, 0, sizeof(ini));
  if (zFile == 0) {
    struct stat st;
    if (stat(CONFIG_DEFAULT, &st) != 0) {
      if (s->zNameArg == 0) return EXIT_OK;
      return outUsage(s,
                      "-n %s: no configuration file (give -c FILE, or "
                      "create ./" CONFIG_DEFAULT ")",
                      s->zNameArg);
    }
    zFile = CONFIG_DEFAULT;
  }
  if (zFile[0] == 0) return outUsage(s, "-c: the file name is empty");
  s->zCfgFile = sqlite3_mprintf("%s", zFile);
  if (s->zCfgFile == 0) return outFail("out of memory");
  ini.zFile = s->zCfgFile;
  zText = readText(zFile, &zErr);
  if (zText == 0) {
    rc = outUsage(s, "%s", zErr ? zErr : "out of memory");
    sqlite3_free(zErr);
    return rc;
  }
  rc = iniParse(&ini, zText, &zErr);
  sqlite3_free(zText);
  if (rc != SQLITE_OK) {
    rc = outUsage(s, "%s", zErr ? zErr : "out of memory");
    sqlite3_free(zErr);
    iniFree(&ini);
    return rc;
  }
  if (s->zNameArg) {
    zSec = s->zNameArg;
    if (!iniHasSection(&ini, zSec)) {
      rc = outUsage(s, "%s has no section [%s] (-n %s)", zFile, zSec, zSec);
      iniFree(&ini);
      return rc;
    }
  } else if (iniHasSection(&ini, CONFIG_OWN)) {
    zSec = CONFIG_OWN;
  } else if (iniHasSection(&ini, "alembic")) {
    zSec = "alembic";
  } else {
    rc = outUsage(s,
                  "%s has neither a [" CONFIG_OWN
                  "] nor an [alembic] "
                  "section (or give -n NAME)",
                  zFile);
    iniFree(&ini);
    return rc;
  }
  s->zCfgSection = sqlite3_mprintf("%s", zSec);
  rc = s->zCfgSection ? takeSection(s, &ini, zSec) : outFail("out of memory");
  iniFree(&ini);
  return rc;
}

/* See shell.h. */
void configFree(Shell *s) {
  sqlite3_free(s->zCfgFile);
  sqlite3_free(s->zCfgSection);
  sqlite3_free(s->zCfgScripts);
  sqlite3_free(s->zCfgDb);
  sqlite3_free(s->zCfgDbKey);
  s->zCfgFile = s->zCfgSection = s->zCfgScripts = s->zCfgDb = 0;
  s->zCfgDbKey = 0;
}
