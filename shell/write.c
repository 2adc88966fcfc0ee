/*
** write.c — the commands that write files into a migrations folder: init,
** revision, merge.
**
**     sqlite-migrate init                                  ./migrations
**       (and ./sqlite-migrate.ini beside it, naming it as script_location)
**     sqlite-migrate revision -m "add users table"
**       -> migrations/3f2a9c1e8b7d_add_users_table.sql
**     sqlite-migrate revision -m "audit" --head base --branch-label audit
**     sqlite-migrate merge -m "merge branches" heads
**
** A new script (README.md, "Revision scripts"):
**
**     -- add users table
**     --
**     -- Revision ID: 3f2a9c1e8b7d
**     -- Revises: 1f0c2a7d44e0
**     -- Create Date: 2026-11-21 10:30:00
**
**     -- migrate:upgrade
**
**
**     -- migrate:downgrade
**
** The id is 12 random lowercase hex digits unless --rev-id gives one; the
** file name is "<id>_<slug>.sql", the slug made as Alembic makes it (the
** message's runs of letters, digits and '_', joined by '_', lower-cased, cut
** at 40 characters on a '_'; only ASCII letters count here).  Revises is
** the current head; with several heads Alembic's error asks for --head or a
** merge.  The parents come from the engine's target resolution, so --head
** and merge accept what upgrade does (prefixes, label@head, heads).  After
** writing, the folder is read again with the engine: if the new script
** breaks it (a label already used, a message the parser refuses), the file
** is removed and the engine's message shown.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shell.h"

#define SLUG_MAX 40 /* Alembic's truncate_slug_length */

/* ======================================================================
** Small helpers
*/

/* A growable list of strings (each sqlite3_malloc'd). */
typedef struct StrList {
  int n, nAlloc;
  char **az;
} StrList;

static int listAdd(StrList *p, const char *z, size_t n) {
  if (p->n >= p->nAlloc) {
    int nNew = p->nAlloc ? p->nAlloc * 2 : 8;
    char **azNew = sqlite3_realloc64(p->az, sizeof(char *) * (size_t)nNew);
    if (azNew == 0) return SQLITE_NOMEM;
    p->az = azNew;
    p->nAlloc = nNew;
  }
  p->az[p->n] = sqlite3_mprintf("%.*s", (int)n, z);
  if (p->az[p->n] == 0) return SQLITE_NOMEM;
  p->n++;
  return SQLITE_OK;
}

static void listFree(StrList *p) {
  int i;
  for (i = 0; i < p->n; i++) sqlite3_free(p->az[i]);
  sqlite3_free(p->az);
  memset(p, 0, sizeof(*p));
}

/* Add the comma-separated, trimmed items of each value. */
static int listAddSplit(StrList *p, char **azVal, int nVal) {
  int i;
  for (i = 0; i < nVal; i++) {
    const char *z = azVal[i];
    while (*z) {
      const char *zEnd = strchr(z, ',');
      const char *e = zEnd ? zEnd : z + strlen(z);
      const char *a = z;
      while (a < e && (*a == ' ' || *a == '\t')) a++;
      while (e > a && (e[-1] == ' ' || e[-1] == '\t')) e--;
      if (e > a && listAdd(p, a, (size_t)(e - a))) return SQLITE_NOMEM;
      z = zEnd ? zEnd + 1 : z + strlen(z);
    }
  }
  return SQLITE_OK;
}

static int isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

/* Alembic's slug: "_".join(re.findall(r"\w+", message)).lower(), cut at
** SLUG_MAX on a '_' with a '_' appended.  zOut has SLUG_MAX + 2 bytes. */
static void makeSlug(const char *zMsg, char *zOut) {
  char z[SLUG_MAX + 2];
  size_t n = 0;
  int bSep = 0, bLong = 0;
  for (; zMsg && *zMsg; zMsg++) {
    if (!isWordChar(*zMsg)) {
      bSep = n > 0;
      continue;
    }
    if (bSep) {
      if (n >= SLUG_MAX) {
        bLong = 1;
        break;
      }
      z[n++] = '_';
      bSep = 0;
    }
    if (n >= SLUG_MAX) {
      bLong = 1;
      break;
    }
    z[n++] = (char)(*zMsg >= 'A' && *zMsg <= 'Z' ? *zMsg + 32 : *zMsg);
  }
  z[n] = 0;
  if (bLong) {
    char *zUnder = strrchr(z, '_');
    if (zUnder) *zUnder = 0;
    snprintf(zOut, SLUG_MAX + 2, "%s_", z);
  } else {
    memcpy(zOut, z, n + 1);
  }
}

/* "a, b" of a list. Caller frees; NULL on OOM. */
static char *joinList(char **az, int n) {
  char *z = sqlite3_mprintf("");
  int i;
  for (i = 0; z && i < n; i++)
    z = sqlite3_mprintf("%z%s%s", z, i ? ", " : "", az[i]);
  return z;
}

/* ======================================================================
** Writing a revision
*/

typedef struct NewRev {
  const char *zMsg; /* message, "empty message" when -m was not given */
  int bNoSlug;      /* -m absent: Alembic's slug is then empty */
  const char *zId;  /* --rev-id, or NULL for a random one */
  StrList parents;  /* revision ids */
  StrList labels;
  StrList depends;   /* ids or labels, as they go into the header */
  char *zUp, *zDown; /* --autogenerate: the sections' SQL (sqlite3_free) */
} NewRev;

/* Add the revisions zTarget names to the parents (heads only unless
** bSplice).  EXIT_OK or EXIT_FAIL (printed). */
static int addParents(migrate_bundle *b, const char *zTarget, int bSplice,
                      int bMerge, NewRev *p) {
  int *a = 0, n = 0, i, k, rc;
  char *zErr = 0;
  rc = migrate_bundle_resolve(b, zTarget, 0, 0, &a, &n, &zErr);
  if (rc != SQLITE_OK) {
    rc = shellEngineFail(zErr, rc); /* Alembic's words for an unknown one */
    sqlite3_free(zErr);
    return rc;
  }
  for (i = 0; i < n; i++) {
    const migrate_revision *r = migrate_bundle_revision(b, a[i]);
    if (!r->is_head && !bSplice) {
      sqlite3_free(a);
      return outFail("Revision %s is not a head revision; %s", r->id,
                     bMerge ? "merge heads only"
                            : "please specify --splice to create a new "
                              "branch from this revision");
    }
    for (k = 0; k < p->parents.n; k++) {
      if (strcmp(p->parents.az[k], r->id) == 0) {
        sqlite3_free(a);
        return outFail("Duplicate head revisions specified");
      }
    }
    if (listAdd(&p->parents, r->id, strlen(r->id))) {
      sqlite3_free(a);
      return outFail("out of memory");
    }
  }
  sqlite3_free(a);
  return EXIT_OK;
}

/* Resolve --depends-on values: labels stay, revisions become full ids. */
static int resolveDepends(migrate_bundle *b, char **azVal, int nVal,
                          NewRev *p) {
  StrList raw = {0, 0, 0};
  int i, rc = EXIT_OK;
  if (listAddSplit(&raw, azVal, nVal)) {
    listFree(&raw);
    return outFail("out of memory");
  }
  for (i = 0; i < raw.n && rc == EXIT_OK; i++) {
    int *a = 0, n = 0, src;
    char *zErr = 0;
    if (migrate_bundle_label(b, raw.az[i]) >= 0) {
      if (listAdd(&p->depends, raw.az[i], strlen(raw.az[i]))) {
        rc = outFail("out of memory");
      }
      continue;
    }
    src = migrate_bundle_resolve(b, raw.az[i], 0, 0, &a, &n, &zErr);
    if (src != SQLITE_OK) {
      rc = outFail("--depends-on %s: %s", raw.az[i],
                   zErr ? zErr : sqlite3_errstr(src));
    } else if (n != 1) {
      rc = outFail(
          "--depends-on %s names %d revisions; give one revision "
          "or branch label",
          raw.az[i], n);
    } else {
      const char *zId = migrate_bundle_revision(b, a[0])->id;
      if (listAdd(&p->depends, zId, strlen(zId))) rc = outFail("out of memory");
    }
    sqlite3_free(zErr);
    sqlite3_free(a);
  }
  listFree(&raw);
  return rc;
}

/* Write the script into the folder, check the folder with the engine, and
** print the new file's path.  EXIT_OK or EXIT_FAIL (printed). */
static int writeRevision(Shell *s, migrate_bundle *b, NewRev *p) {
  char zId[80], zSlug[SLUG_MAX + 2], zDate[64];
  char *zPath = 0, *zText = 0, *zPar = 0, *zLab = 0, *zDep = 0, *zMsg = 0;
  migrate_bundle *pCheck = 0;
  char *zErr = 0;
  time_t now = time(0);
  struct tm tm;
  int fd, rc = EXIT_OK, i;
  size_t n;

  if (p->zId) {
    const char *zWhy = migrate_check_ident(p->zId);
    if (zWhy) return outFail("Revision ID '%s' %s", p->zId, zWhy);
    snprintf(zId, sizeof(zId), "%s", p->zId);
  } else {
    unsigned char aRand[6];
    sqlite3_randomness((int)sizeof(aRand), aRand);
    for (i = 0; i < 6; i++) snprintf(zId + 2 * i, 3, "%02x", aRand[i]);
  }
  if (migrate_bundle_find(b, zId) >= 0) {
    return outFail(
        "Revision ID %s is already used by %s", zId,
        migrate_bundle_revision(b, migrate_bundle_find(b, zId))->file);
  }
  makeSlug(p->bNoSlug ? "" : p->zMsg, zSlug);
  if (localtime_r(&now, &tm) == 0 ||
      strftime(zDate, sizeof(zDate), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
    return outFail("cannot format the current date");
  }
  /* the message is one header line */
  zMsg = sqlite3_mprintf("%s", p->zMsg);
  if (zMsg == 0) return outFail("out of memory");
  for (i = 0; zMsg[i]; i++) {
    if (zMsg[i] == '\n' || zMsg[i] == '\r') zMsg[i] = ' ';
  }
  n = strlen(s->zSrc);
  zPath = sqlite3_mprintf("%s%s%s_%s.sql", s->zSrc,
                          n && s->zSrc[n - 1] == '/' ? "" : "/", zId, zSlug);
  zPar = joinList(p->parents.az, p->parents.n);
  zLab = joinList(p->labels.az, p->labels.n);
  zDep = joinList(p->depends.az, p->depends.n);
  if (zPath && zPar && zLab && zDep) {
    zText = sqlite3_mprintf(
        "--%s%s\n"
        "--\n"
        "-- Revision ID: %s\n"
        "-- Revises:%s%s\n"
        "-- Create Date: %s\n"
        "%s%s%s"
        "%s%s%s"
        "\n"
        "-- migrate:upgrade\n"
        "%s"
        "\n"
        "-- migrate:downgrade\n"
        "%s",
        zMsg[0] ? " " : "", zMsg, zId, zPar[0] ? " " : "", zPar, zDate,
        zLab[0] ? "-- Branch Labels: " : "", zLab, zLab[0] ? "\n" : "",
        zDep[0] ? "-- Depends On: " : "", zDep, zDep[0] ? "\n" : "",
        p->zUp ? p->zUp : "\n", p->zDown ? p->zDown : "\n");
  }
  if (zText == 0) {
    rc = outFail("out of memory");
    goto done;
  }

  fd = open(zPath, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    rc = outFail("cannot create %s: %s", zPath, strerror(errno));
    goto done;
  }
  {
    size_t nText = strlen(zText), nDone = 0;
    while (nDone < nText) {
      ssize_t k = write(fd, zText + nDone, nText - nDone);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      nDone += (size_t)k;
    }
    if (close(fd) != 0 || nDone < nText) {
      rc = outFail("cannot write %s: %s", zPath, strerror(errno));
      unlink(zPath);
      goto done;
    }
  }

  /* the folder must still be a valid history */
  if (migrate_bundle_open_path(s->zSrc, &pCheck, &zErr) != SQLITE_OK) {
    unlink(zPath);
    rc = outFail("%s (the new script was not kept)",
                 zErr ? zErr : "out of memory");
    goto done;
  }
  printf("%s\n", zPath);

done:
  migrate_bundle_free(pCheck);
  sqlite3_free(zErr);
  sqlite3_free(zPath);
  sqlite3_free(zText);
  sqlite3_free(zPar);
  sqlite3_free(zLab);
  sqlite3_free(zDep);
  sqlite3_free(zMsg);
  return rc;
}

/* The folder a new script goes into; EXIT_FAIL (printed) without one. */
static int needFolder(Shell *s, migrate_bundle **pb) {
  if (s->eSrc != SRC_DIR) {
    return outFail(
        "%s writes a script into a migrations folder; give "
        "--dir FOLDER (there is no ./migrations; 'sqlite-migrate "
        "init' creates one)",
        s->zCmd);
  }
  return shellBundle(s, pb);
}

static void newRevFree(NewRev *p) {
  sqlite3_free(p->zUp);
  sqlite3_free(p->zDown);
  listFree(&p->parents);
  listFree(&p->labels);
  listFree(&p->depends);
}

/* ======================================================================
** The commands
*/

int cmdRevision(Shell *s, Args *a) {
  migrate_bundle *b;
  NewRev nr;
  const char *zHead = argsValue(a, "head");
  char **azVal;
  int nVal, rc;
  memset(&nr, 0, sizeof(nr));
  rc = needFolder(s, &b);
  if (rc) return rc;
  nr.zMsg = argsValue(a, "message");
  nr.bNoSlug = nr.zMsg == 0;
  if (nr.zMsg == 0) nr.zMsg = "empty message";
  nr.zId = argsValue(a, "rev-id");
  if (!argsHas(a, "autogenerate") &&
      (argsHas(a, "schema") || argsHas(a, "from-db"))) {
    return outUsage(s, "--schema and --from-db go with --autogenerate");
  }
  if (argsHas(a, "schema") && argsHas(a, "from-db")) {
    return outUsage(s, "--schema and --from-db exclude each other");
  }
  if (argsHas(a, "from-db") && zHead == 0) zHead = "base"; /* a baseline */
  if (zHead == 0 && migrate_bundle_nhead(b) > 1) {
    return outFail(
        "Multiple heads are present; please specify the head "
        "revision on which the new revision should be based, or "
        "perform a merge.");
  }
  if (argsHas(a, "autogenerate")) {
    rc = autogenSections(s, a, b, zHead ? zHead : "head", &nr.zUp, &nr.zDown);
    if (rc) return rc;
    if (nr.zUp == 0) {
      printf("No changes in schema detected.\n");
      return EXIT_OK;
    }
  }
  rc = addParents(b, zHead ? zHead : "head", argsHas(a, "splice"), 0, &nr);
  azVal = argsValues(a, "branch-label", &nVal);
  if (rc == EXIT_OK && listAddSplit(&nr.labels, azVal, nVal)) {
    rc = outFail("out of memory");
  }
  azVal = argsValues(a, "depends-on", &nVal);
  if (rc == EXIT_OK) rc = resolveDepends(b, azVal, nVal, &nr);
  if (rc == EXIT_OK) rc = writeRevision(s, b, &nr);
  newRevFree(&nr);
  return rc;
}

int cmdMerge(Shell *s, Args *a) {
  migrate_bundle *b;
  NewRev nr;
  char **azVal;
  int nVal, rc, i;
  memset(&nr, 0, sizeof(nr));
  rc = needFolder(s, &b);
  if (rc) return rc;
  nr.zMsg = argsValue(a, "message");
  nr.bNoSlug = nr.zMsg == 0;
  if (nr.zMsg == 0) nr.zMsg = "empty message";
  nr.zId = argsValue(a, "rev-id");
  for (i = 0; i < a->nPos && rc == EXIT_OK; i++) {
    rc = addParents(b, a->azPos[i], 0, 1, &nr);
  }
  if (rc == EXIT_OK && nr.parents.n < 2) {
    rc = outFail(
        "nothing to merge: %s name%s %d revision%s; a merge needs "
        "two heads or more",
        a->nPos == 1 ? a->azPos[0] : "the arguments", a->nPos == 1 ? "s" : "",
        nr.parents.n, nr.parents.n == 1 ? "" : "s");
  }
  azVal = argsValues(a, "branch-label", &nVal);
  if (rc == EXIT_OK && listAddSplit(&nr.labels, azVal, nVal)) {
    rc = outFail("out of memory");
  }
  if (rc == EXIT_OK) rc = writeRevision(s, b, &nr);
  newRevFree(&nr);
  return rc;
}

/* ======================================================================
** init
*/

static const char zReadme[] =
    "Revision scripts for sqlite-migrate, one file per revision.\n"
    "\n"
    "    sqlite-migrate revision -m \"create users table\"\n"
    "\n"
    "writes <revision>_<slug>.sql here, revising the current head:\n"
    "\n"
    "    -- create users table\n"
    "    --\n"
    "    -- Revision ID: 3f2a9c1e8b7d\n"
    "    -- Revises: 1f0c2a7d44e0\n"
    "    -- Create Date: 2026-11-21 10:30:00\n"
    "\n"
    "    -- migrate:upgrade\n"
    "    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "\n"
    "    -- migrate:downgrade\n"
    "    DROP TABLE users;\n"
    "\n"
    "Then: sqlite-migrate -d app.db upgrade.  Only *.sql files are read.\n";

/* init: write sqlite-migrate.ini beside the folder zAbs (absolute), naming
** it as script_location; an existing file is left alone (said so).
** EXIT_OK or EXIT_FAIL (printed). */
static int writeIni(const char *zAbs) {
  const char *zSlash = strrchr(zAbs, '/');
  char *zIni;
  FILE *f;
  int rc = EXIT_OK;
  if (zSlash == 0) return EXIT_OK;
  zIni = sqlite3_mprintf("%.*s/sqlite-migrate.ini",
                         zSlash == zAbs ? 0 : (int)(zSlash - zAbs), zAbs);
  if (zIni == 0) return outFail("out of memory");
  f = fopen(zIni, "wx");
  if (f == 0 && errno == EEXIST) {
    printf("Leaving %s as it is (it exists already)\n", zIni);
  } else if (f == 0) {
    rc = outFail("cannot create %s: %s", zIni, strerror(errno));
  } else {
    int bBad = fprintf(f,
                       "# sqlite-migrate's configuration: read from the "
                       "working folder, or with -c FILE.\n"
                       "# Options and $MIGRATE_DATABASE / $DATABASE_URL "
                       "take precedence.\n"
                       "[sqlite-migrate]\n"
                       "script_location = %%(here)s/%s\n"
                       "# database = sqlite:///app.db\n",
                       zSlash + 1) < 0;
    if ((fclose(f) != 0) | bBad) {
      rc = outFail("cannot write %s", zIni);
    } else {
      printf("Generating %s ...  done\n", zIni);
    }
  }
  sqlite3_free(zIni);
  return rc;
}

/* mkdir -p: create zDir and its missing parents. */
static int makeDirs(const char *zDir) {
  char z[PATH_MAX];
  size_t i, n = strlen(zDir);
  if (n == 0 || n >= sizeof(z)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(z, zDir, n + 1);
  for (i = 1; i <= n; i++) {
    if (z[i] == '/' || z[i] == 0) {
      char c = z[i];
      z[i] = 0;
      if (mkdir(z, 0755) != 0 && errno != EEXIST) return -1;
      z[i] = c;
    }
  }
  return 0;
}

static int isEmptyDir(const char *zDir) {
  int bEmpty = 1;
  DIR *d = opendir(zDir);
  struct dirent *e;
  if (d == 0) return 0;
  while ((e = readdir(d)) != 0) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      bEmpty = 0;
      break;
    }
  }
  closedir(d);
  return bEmpty;
}

int cmdInit(Shell *s, Args *a) {
  const char *zDir = a->nPos ? a->azPos[0] : "migrations";
  char zAbs[PATH_MAX];
  struct stat st;
  char *zReadmePath;
  FILE *f;
  int rc = EXIT_OK, bCreated = 0;
  (void)s;
  if (stat(zDir, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return outFail("%s already exists and is not a folder", zDir);
    }
    if (!isEmptyDir(zDir)) {
      return outFail("Directory %s already exists and is not empty", zDir);
    }
  } else {
    if (makeDirs(zDir) != 0) {
      return outFail("cannot create directory %s: %s", zDir, strerror(errno));
    }
    bCreated = 1;
  }
  if (zDir[0] == '/') {
    snprintf(zAbs, sizeof(zAbs), "%s", zDir);
  } else {
    /* os.path.abspath: the working directory joined with the name */
    const char *z = zDir;
    size_t n;
    if (getcwd(zAbs, sizeof(zAbs) - 1) == 0) {
      return outFail("cannot resolve %s: %s", zDir, strerror(errno));
    }
    while (z[0] == '.' && z[1] == '/') z += 2;
    n = strlen(zAbs);
    snprintf(zAbs + n, sizeof(zAbs) - n, "%s%s", zAbs[n - 1] == '/' ? "" : "/",
             strcmp(z, ".") == 0 ? "" : z);
  }
  {
    size_t n = strlen(zAbs);
    while (n > 1 && zAbs[n - 1] == '/') zAbs[--n] = 0;
  }
  if (bCreated) printf("Creating directory %s ...  done\n", zAbs);
  zReadmePath = sqlite3_mprintf("%s/README", zAbs);
  if (zReadmePath == 0) return outFail("out of memory");
  f = fopen(zReadmePath, "wx");
  if (f == 0) {
    rc = outFail("cannot create %s: %s", zReadmePath, strerror(errno));
  } else {
    int bBad = fputs(zReadme, f) < 0;
    if (fclose(f) != 0 || bBad) {
      rc = outFail("cannot write %s", zReadmePath);
    } else {
      printf("Generating %s ...  done\n", zReadmePath);
    }
  }
  sqlite3_free(zReadmePath);
  if (rc == EXIT_OK) rc = writeIni(zAbs);
  return rc;
}
