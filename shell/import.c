/*
** import.c — sqlite-migrate import-alembic: an Alembic project's .py
** revisions written as .sql revision scripts.
**
**     sqlite-migrate import-alembic alembic/versions -o migrations
**     SQLITE_MIGRATE_PYTHON=/usr/bin/python3 sqlite-migrate import-alembic v
**
** Each "<name>.py" with a "revision = ..." assignment becomes
** "<name>.sql" with the same Revision ID, Revises, Branch Labels, Depends
** On, message (the docstring's first line) and Create Date.  The metadata is
** read from the file's text, never by running Python: the module docstring
** and the top-level assignments "revision", "down_revision",
** "branch_labels" and "depends_on" (optionally annotated, "revision: str =
** ..."), whose values are a string in single or double quotes, None, or a
** tuple or list of strings (which may span lines).  Anything else there is
** an error naming the file and line, and nothing is written.
**
** The SQL: when Alembic is importable by the Python the program runs
** ($SQLITE_MIGRATE_PYTHON, default "python3", run through /bin/sh so it may
** carry options), a renderer script loads each revision with Alembic's own
** module loader and calls its upgrade() and downgrade() under Alembic's
** offline mode for SQLite (MigrationContext with as_sql and literal binds,
** the machinery behind "alembic upgrade A:B --sql"), one revision at a time
** so a merge renders its own step only.  A revision whose upgrade or
** downgrade Alembic cannot render (Python logic on query results, batch
** operations that need reflection, an import of the application) keeps its
** Python source as a comment and gets no "migrate:upgrade" marker, so the
** bundler refuses it by name until a person writes the SQL.  Without
** Alembic every revision is written that way.  The command ends with how
** many were converted and the list of those that need a person.
**
** The output folder must be new or empty; nothing is written when a file's
** metadata cannot be read.  Given an Alembic environment folder (env.py
** beside versions/), its versions/ is read.
*/
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shell.h"

#define PY_MAX_BYTES            (16u << 20)
#define RENDERER_NOT_IMPORTABLE 3

/* One Alembic revision file, as read. */
typedef struct PyRev {
  char *zFile;   /* "a1b2_add_users.py" */
  char *zSrc;    /* its text */
  int iBody;     /* offset of the text after the docstring */
  char *zId;     /* revision */
  char *zDown;   /* down_revision, ", "-joined ("" for a base) */
  char *zLabels; /* branch_labels, ", "-joined */
  char *zDeps;   /* depends_on, ", "-joined */
  char *zMsg;    /* the docstring's first line */
  char *zDate;   /* its "Create Date:" value */
  char *zUp;     /* rendered SQL, or NULL */
  char *zDownSql;
  char *zWhy; /* why it was not rendered, or NULL */
} PyRev;

typedef struct PyList {
  PyRev *a;
  int n;
} PyList;

static void pyListFree(PyList *p) {
  int i;
  for (i = 0; i < p->n; i++) {
    PyRev *r = &p->a[i];
    sqlite3_free(r->zFile);
    sqlite3_free(r->zSrc);
    sqlite3_free(r->zId);
    sqlite3_free(r->zDown);
    sqlite3_free(r->zLabels);
    sqlite3_free(r->zDeps);
    sqlite3_free(r->zMsg);
    sqlite3_free(r->zDate);
    sqlite3_free(r->zUp);
    sqlite3_free(r->zDownSql);
    sqlite3_free(r->zWhy);
  }
  sqlite3_free(p->a);
  memset(p, 0, sizeof(*p));
}

/* Read file zPath (at most nMax bytes) or NULL; *pbMissing set when it
** does not exist. */
static char *slurp(const char *zPath, size_t nMax, int *pbMissing) {
  FILE *f = fopen(zPath, "rb");
  char *z;
  long n;
  if (pbMissing) *pbMissing = f == 0 && errno == ENOENT;
  if (f == 0) return 0;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0 || (size_t)n > nMax) {
    fclose(f);
    return 0;
  }
  z = sqlite3_malloc64((size_t)n + 1);
  if (z && n > 0 && fread(z, 1, (size_t)n, f) != (size_t)n) {
    sqlite3_free(z);
    z = 0;
  }
  fclose(f);
  if (z) z[n] = 0;
  return z;
}

/* ======================================================================
** Reading the metadata from the Python text
*/

/* 1-based line of offset i in z. */
static int lineOf(const char *z, int i) {
  int n = 1, k;
  for (k = 0; k < i; k++) n += z[k] == '\n';
  return n;
}

/* Skip blanks, comments and (when bNl) newlines from z[i]. */
static int skipWs(const char *z, int i, int bNl) {
  for (;;) {
    if (z[i] == ' ' || z[i] == '\t' || z[i] == '\r' || z[i] == '\f' ||
        (bNl && z[i] == '\n')) {
      i++;
    } else if (z[i] == '\\' && z[i + 1] == '\n') {
      i += 2;
    } else if (z[i] == '#') {
      while (z[i] && z[i] != '\n') i++;
      if (!bNl) return i;
    } else {
      return i;
    }
  }
}

/* A string literal at z[*pi] (r/u prefixes, single, double or triple
** quotes).  Returns it (sqlite3_free) and moves *pi past it, or NULL. */
static char *pyString(const char *z, int *pi) {
  int i = *pi, bTriple, j;
  char q;
  char *zOut;
  while (z[i] == 'r' || z[i] == 'R' || z[i] == 'u' || z[i] == 'U') i++;
  q = z[i];
  if (q != '\'' && q != '"') return 0;
  bTriple = z[i + 1] == q && z[i + 2] == q;
  i += bTriple ? 3 : 1;
  for (j = i; z[j]; j++) {
    if (z[j] == '\\' && z[j + 1]) {
      j++;
      continue;
    }
    if (!bTriple && z[j] == '\n') return 0;
    if (z[j] == q && (!bTriple || (z[j + 1] == q && z[j + 2] == q))) break;
  }
  if (z[j] == 0) return 0;
  zOut = sqlite3_mprintf("%.*s", j - i, z + i);
  *pi = j + (bTriple ? 3 : 1);
  return zOut;
}

/* The value at z[*pi]: None, a string, or a tuple/list of strings, as
** ", "-joined text (sqlite3_free); "" for None.  NULL when it is none of
** these. */
static char *pyValue(const char *z, int *pi) {
  int i = skipWs(z, *pi, 0);
  char *zOut;
  if (strncmp(z + i, "None", 4) == 0 && !isalnum((unsigned char)z[i + 4]) &&
      z[i + 4] != '_') {
    *pi = i + 4;
    return sqlite3_mprintf("");
  }
  if (z[i] == '(' || z[i] == '[') {
    char cClose = z[i] == '(' ? ')' : ']';
    zOut = sqlite3_mprintf("");
    i++;
    while (zOut) {
      char *zItem;
      i = skipWs(z, i, 1);
      if (z[i] == cClose) {
        *pi = i + 1;
        return zOut;
      }
      zItem = pyString(z, &i);
      if (zItem == 0) break;
      /* one %z only: SQLite reuses an empty first %z buffer for the next */
      zOut = sqlite3_mprintf("%z%s%s", zOut, zOut[0] ? ", " : "", zItem);
      sqlite3_free(zItem);
      i = skipWs(z, i, 1);
      if (z[i] == ',') {
        i++;
      } else if (z[i] != cClose) {
        break;
      }
    }
    sqlite3_free(zOut);
    return 0;
  }
  zOut = pyString(z, &i);
  if (zOut) *pi = i;
  return zOut;
}

/* The module docstring: sets r->zMsg, r->zDate and r->iBody. */
static int readDocstring(PyRev *r) {
  const char *z = r->zSrc;
  int i = skipWs(z, 0, 1), iEnd;
  char *zDoc;
  const char *zLine, *zDate;
  r->iBody = 0;
  iEnd = i;
  zDoc = pyString(z, &iEnd);
  if (zDoc == 0) {
    r->zMsg = sqlite3_mprintf("");
    r->zDate = sqlite3_mprintf("");
    return r->zMsg && r->zDate ? SQLITE_OK : SQLITE_NOMEM;
  }
  r->iBody = iEnd;
  for (zLine = zDoc; *zLine && isspace((unsigned char)*zLine); zLine++) {
  }
  r->zMsg = sqlite3_mprintf("%.*s", (int)strcspn(zLine, "\n"), zLine);
  zDate = strstr(zDoc, "Create Date:");
  if (zDate) {
    zDate += 12;
    while (*zDate == ' ' || *zDate == '\t') zDate++;
    r->zDate = sqlite3_mprintf("%.*s", (int)strcspn(zDate, "\r\n"), zDate);
  } else {
    r->zDate = sqlite3_mprintf("");
  }
  sqlite3_free(zDoc);
  if (r->zMsg) {
    size_t n = strlen(r->zMsg);
    while (n > 0 && isspace((unsigned char)r->zMsg[n - 1])) r->zMsg[--n] = 0;
  }
  return r->zMsg && r->zDate ? SQLITE_OK : SQLITE_NOMEM;
}

/* Is every character of z one sqlite-migrate allows in an id? */
static int isIdText(const char *z, int bList) {
  if (*z == 0) return !bList ? 0 : 1;
  for (; *z; z++) {
    if (!(isalnum((unsigned char)*z) || *z == '_' ||
          (bList && (*z == ',' || *z == ' ')))) {
      return 0;
    }
  }
  return 1;
}

/* The top-level assignments of r.  SQLITE_OK, or an error in *pzErr. */
static int readAssignments(PyRev *r, char **pzErr) {
  static const char *azName[] = {"revision", "down_revision", "branch_labels",
                                 "depends_on"};
  char **apOut[] = {&r->zId, &r->zDown, &r->zLabels, &r->zDeps};
  const char *z = r->zSrc;
  int i = r->iBody, k;
  while (z[i]) {
    int iLine = i, n = 0;
    while (isalnum((unsigned char)z[i + n]) || z[i + n] == '_') n++;
    for (k = 0; k < 4; k++) {
      if ((int)strlen(azName[k]) == n && strncmp(z + i, azName[k], n) == 0) {
        break;
      }
    }
    if (k < 4) {
      int j = skipWs(z, i + n, 0);
      if (z[j] == ':') { /* an annotation: up to the '=' */
        while (z[j] && z[j] != '\n' && !(z[j] == '=' && z[j + 1] != '=')) j++;
      }
      if (z[j] == '=' && z[j + 1] != '=') {
        char *zVal;
        j++;
        zVal = pyValue(z, &j);
        if (zVal == 0 ||
            (z[skipWs(z, j, 0)] != '\n' && z[skipWs(z, j, 0)] != 0)) {
          sqlite3_free(zVal);
          *pzErr = sqlite3_mprintf(
              "%s line %d: %s is not a string, None, or a tuple or list of "
              "strings; import-alembic reads the metadata without running "
              "Python: write the value literally",
              r->zFile, lineOf(z, iLine), azName[k]);
          return SQLITE_ERROR;
        }
        sqlite3_free(*apOut[k]);
        *apOut[k] = zVal;
        i = j;
      }
    }
    /* next line (a string may hide a newline: good enough for metadata) */
    while (z[i] && z[i] != '\n') i++;
    if (z[i]) i++;
  }
  if (r->zId == 0) {
    *pzErr = sqlite3_mprintf(
        "%s: no top-level `revision = '...'`; not an "
        "Alembic revision script",
        r->zFile);
    return SQLITE_ERROR;
  }
  if (!isIdText(r->zId, 0) || (r->zDown && !isIdText(r->zDown, 1)) ||
      (r->zDeps && !isIdText(r->zDeps, 1)) ||
      (r->zLabels && !isIdText(r->zLabels, 1))) {
    *pzErr = sqlite3_mprintf(
        "%s: revision '%s' (or a revision or label it "
        "names) has characters other than letters, "
        "digits and '_', which sqlite-migrate ids cannot "
        "hold",
        r->zFile, r->zId);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

static int cmpRev(const void *a, const void *b) {
  return strcmp(((const PyRev *)a)->zFile, ((const PyRev *)b)->zFile);
}

/* Read every revision .py of zDir into *p (sorted by file name).
** EXIT_OK or EXIT_FAIL (printed). */
static int readFolder(const char *zDir, PyList *p) {
  DIR *d = opendir(zDir);
  struct dirent *e;
  int nAlloc = 0, rc = EXIT_OK;
  char *zErr = 0;
  if (d == 0) {
    return outFail("cannot open Alembic versions folder %s: %s", zDir,
                   strerror(errno));
  }
  while (rc == EXIT_OK && (e = readdir(d)) != 0) {
    size_t nName = strlen(e->d_name);
    PyRev *r;
    char *zPath;
    if (nName < 4 || strcmp(e->d_name + nName - 3, ".py") != 0) continue;
    if (e->d_name[0] == '.' || strcmp(e->d_name, "__init__.py") == 0) continue;
    if (p->n >= nAlloc) {
      int nNew = nAlloc ? nAlloc * 2 : 32;
      PyRev *aNew = sqlite3_realloc64(p->a, sizeof(PyRev) * (size_t)nNew);
      if (aNew == 0) {
        rc = outFail("out of memory");
        break;
      }
      p->a = aNew;
      nAlloc = nNew;
    }
    r = &p->a[p->n++];
    memset(r, 0, sizeof(*r));
    r->zFile = sqlite3_mprintf("%s", e->d_name);
    zPath = sqlite3_mprintf("%s/%s", zDir, e->d_name);
    if (r->zFile == 0 || zPath == 0) {
      sqlite3_free(zPath);
      rc = outFail("out of memory");
      break;
    }
    r->zSrc = slurp(zPath, PY_MAX_BYTES, 0);
    if (r->zSrc == 0) {
      rc = outFail("cannot read %s (or it is larger than 16 MiB)", zPath);
    } else if (readDocstring(r) != SQLITE_OK) {
      rc = outFail("out of memory");
    } else if (readAssignments(r, &zErr) != SQLITE_OK) {
      rc = outFail("%s/%s (nothing was written)", zDir, zErr);
      sqlite3_free(zErr);
    }
    sqlite3_free(zPath);
  }
  closedir(d);
  if (rc == EXIT_OK && p->n == 0) {
    rc = outFail("%s holds no Alembic revision (*.py) files", zDir);
  }
  if (rc == EXIT_OK) qsort(p->a, (size_t)p->n, sizeof(PyRev), cmpRev);
  return rc;
}

/* ======================================================================
** Rendering the SQL with Alembic (optional)
*/

/* Runs in the temporary folder: argv[1] the versions folder, argv[2] the
** folder to write <file>.upgrade.sql / .downgrade.sql / .error into. */
static const char zRenderer[] =
    "import io, os, sys\n"
    "try:\n"
    "    from alembic.operations import Operations\n"
    "    from alembic.runtime.migration import MigrationContext\n"
    "    from alembic.util.pyfiles import load_module_py\n"
    "except Exception:\n"
    "    sys.exit(3)\n"
    "versions, out = sys.argv[1], sys.argv[2]\n"
    "sys.path.insert(0, os.getcwd())  # as alembic.ini's prepend_sys_path = "
    ".\n"
    "def put(name, text):\n"
    "    with open(os.path.join(out, name), 'w') as f:\n"
    "        f.write(text)\n"
    "for n, fn in enumerate(sorted(os.listdir(versions))):\n"
    "    if not fn.endswith('.py') or fn.startswith('.') or fn == "
    "'__init__.py':\n"
    "        continue\n"
    "    try:\n"
    "        mod = load_module_py('_smig_rev_%d' % n, "
    "os.path.join(versions, fn))\n"
    "    except BaseException as e:\n"
    "        put(fn + '.error', 'loading it: %s: %s' % (type(e).__name__, "
    "e))\n"
    "        continue\n"
    "    for step in ('upgrade', 'downgrade'):\n"
    "        buf = io.StringIO()\n"
    "        try:\n"
    "            ctx = MigrationContext.configure(dialect_name='sqlite', "
    "opts={'as_sql': True, 'output_buffer': buf, 'literal_binds': True})\n"
    "            with Operations.context(ctx):\n"
    "                getattr(mod, step)()\n"
    "        except BaseException as e:\n"
    "            put(fn + '.error', '%s(): %s: %s' % (step, "
    "type(e).__name__, ' '.join(str(e).split())))\n"
    "            break\n"
    "        put('%s.%s.sql' % (fn, step), buf.getvalue())\n";

/* Remove the renderer's folder and the files in it. */
static void removeTree(const char *zDir) {
  DIR *d = opendir(zDir);
  struct dirent *e;
  if (d) {
    while ((e = readdir(d)) != 0) {
      char *z;
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
        continue;
      }
      z = sqlite3_mprintf("%s/%s", zDir, e->d_name);
      if (z) unlink(z);
      sqlite3_free(z);
    }
    closedir(d);
  }
  rmdir(zDir);
}

/* Run the renderer with python command zPy.  Returns its exit status (0
** rendered, RENDERER_NOT_IMPORTABLE, other: failed), -1 when it could not be
** started. */
static int runRenderer(const char *zPy, const char *zTmp,
                       const char *zVersions) {
  char *zCmd = sqlite3_mprintf("%s \"$1\" \"$2\" \"$3\"", zPy);
  char *zScript = sqlite3_mprintf("%s/renderer.py", zTmp);
  char *zLog = sqlite3_mprintf("%s/renderer.log", zTmp);
  FILE *f;
  pid_t pid;
  int status = 0, rc = -1;
  if (zCmd == 0 || zScript == 0 || zLog == 0) goto done;
  f = fopen(zScript, "w");
  if (f == 0) goto done;
  if ((fputs(zRenderer, f) < 0) | (fclose(f) != 0)) goto done;
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid == 0) {
    FILE *g = freopen(zLog, "w", stderr);
    if (g == 0 || freopen("/dev/null", "w", stdout) == 0) _exit(126);
    execl("/bin/sh", "sh", "-c", zCmd, "sh", zScript, zVersions, zTmp,
          (char *)0);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &status, 0) < 0) goto done;
  rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
done:
  sqlite3_free(zCmd);
  sqlite3_free(zScript);
  sqlite3_free(zLog);
  return rc;
}

/* Take what the renderer wrote for each revision into p. */
static int collectRendered(PyList *p, const char *zTmp) {
  int i;
  for (i = 0; i < p->n; i++) {
    PyRev *r = &p->a[i];
    char *zE = sqlite3_mprintf("%s/%s.error", zTmp, r->zFile);
    char *zU = sqlite3_mprintf("%s/%s.upgrade.sql", zTmp, r->zFile);
    char *zD = sqlite3_mprintf("%s/%s.downgrade.sql", zTmp, r->zFile);
    if (zE == 0 || zU == 0 || zD == 0) {
      sqlite3_free(zE);
      sqlite3_free(zU);
      sqlite3_free(zD);
      return SQLITE_NOMEM;
    }
    r->zWhy = slurp(zE, PY_MAX_BYTES, 0);
    if (r->zWhy == 0) {
      r->zUp = slurp(zU, PY_MAX_BYTES, 0);
      r->zDownSql = slurp(zD, PY_MAX_BYTES, 0);
      if (r->zUp == 0 || r->zDownSql == 0) {
        r->zWhy = sqlite3_mprintf("Alembic wrote no SQL for it");
      }
    }
    sqlite3_free(zE);
    sqlite3_free(zU);
    sqlite3_free(zD);
  }
  return SQLITE_OK;
}

/* Render every revision with Alembic when it is importable.  Returns 1
** when it ran (each revision then has zUp/zDownSql or zWhy), 0 when
** Alembic is not there (*pzNote says so, sqlite3_free). */
static int renderWithAlembic(PyList *p, const char *zVersions, char **pzNote) {
  const char *zPy = getenv("SQLITE_MIGRATE_PYTHON");
  const char *zTmpRoot = getenv("TMPDIR");
  char *zTmp;
  int rc;
  if (zPy == 0 || zPy[0] == 0) zPy = "python3";
  if (zTmpRoot == 0 || zTmpRoot[0] == 0) zTmpRoot = "/tmp";
  zTmp = sqlite3_mprintf("%s/sqlite-migrate-import-XXXXXX", zTmpRoot);
  if (zTmp == 0 || mkdtemp(zTmp) == 0) {
    *pzNote = sqlite3_mprintf("cannot create a temporary folder in %s: %s",
                              zTmpRoot, strerror(errno));
    sqlite3_free(zTmp);
    return 0;
  }
  rc = runRenderer(zPy, zTmp, zVersions);
  if (rc == 0) {
    rc = collectRendered(p, zTmp) == SQLITE_OK;
    if (!rc) *pzNote = sqlite3_mprintf("out of memory");
  } else {
    *pzNote = rc == RENDERER_NOT_IMPORTABLE
                  ? sqlite3_mprintf(
                        "Alembic is not importable by %s (set "
                        "SQLITE_MIGRATE_PYTHON to a Python that has "
                        "it)",
                        zPy)
                  : sqlite3_mprintf(
                        "%s could not run the Alembic renderer (exit "
                        "status %d)",
                        zPy, rc);
    rc = 0;
  }
  removeTree(zTmp);
  sqlite3_free(zTmp);
  return rc;
}

/* ======================================================================
** Writing the .sql files
*/

/* The text of r's .sql file (sqlite3_free). */
static char *scriptText(const PyRev *r) {
  char *z = sqlite3_mprintf("-- %s\n--\n-- Revision ID: %s\n-- Revises: %s\n",
                            r->zMsg[0] ? r->zMsg : r->zId, r->zId,
                            r->zDown ? r->zDown : "");
  if (z && r->zDate[0])
    z = sqlite3_mprintf("%z-- Create Date: %s\n", z, r->zDate);
  if (z && r->zLabels && r->zLabels[0]) {
    z = sqlite3_mprintf("%z-- Branch Labels: %s\n", z, r->zLabels);
  }
  if (z && r->zDeps && r->zDeps[0]) {
    z = sqlite3_mprintf("%z-- Depends On: %s\n", z, r->zDeps);
  }
  if (z == 0) return 0;
  if (r->zWhy == 0) {
    return sqlite3_mprintf(
        "%z\n-- Imported from %s (SQL rendered by Alembic "
        "for SQLite, offline).\n\n-- migrate:upgrade\n%s"
        "\n-- migrate:downgrade\n%s",
        z, r->zFile, r->zUp, r->zDownSql);
  }
  {
    const char *zLine = r->zSrc + r->iBody;
    z = sqlite3_mprintf(
        "%z\n-- NEEDS A PERSON: imported from %s, whose SQL could not be "
        "rendered\n-- (%s).\n-- Write this revision's SQL in an upgrade and "
        "a downgrade section\n-- (marker lines 'migrate:upgrade' and "
        "'migrate:downgrade' after '-- '),\n-- then delete the Python "
        "below.  Until then the bundler refuses this file.\n--\n",
        z, r->zFile, r->zWhy);
    while (z && *zLine) {
      size_t n = strcspn(zLine, "\n");
      z = sqlite3_mprintf("%z-- | %.*s\n", z, (int)n, zLine);
      zLine += n;
      if (*zLine) zLine++;
    }
  }
  return z;
}

/* Write r as zDir/<name>.sql (a new file).  EXIT_OK or EXIT_FAIL. */
static int writeScript(const char *zDir, const PyRev *r) {
  char *zText = scriptText(r);
  char *zPath =
      sqlite3_mprintf("%s/%.*s.sql", zDir, (int)strlen(r->zFile) - 3, r->zFile);
  FILE *f;
  int rc = EXIT_OK;
  if (zText == 0 || zPath == 0) {
    rc = outFail("out of memory");
  } else if ((f = fopen(zPath, "wx")) == 0) {
    rc = outFail("cannot create %s: %s", zPath, strerror(errno));
  } else {
    int bBad = fputs(zText, f) < 0;
    if ((fclose(f) != 0) | bBad) rc = outFail("cannot write %s", zPath);
  }
  sqlite3_free(zText);
  sqlite3_free(zPath);
  return rc;
}

/* Is zDir missing (then create it) or an empty folder?  EXIT_OK or
** EXIT_FAIL (printed). */
static int prepareOutput(const char *zDir) {
  struct stat st;
  DIR *d;
  struct dirent *e;
  if (stat(zDir, &st) != 0) {
    if (mkdir(zDir, 0755) != 0) {
      return outFail("cannot create folder %s: %s", zDir, strerror(errno));
    }
    return EXIT_OK;
  }
  if (!S_ISDIR(st.st_mode)) {
    return outFail("%s exists and is not a folder; give -o a new folder", zDir);
  }
  d = opendir(zDir);
  if (d == 0) return outFail("cannot open %s: %s", zDir, strerror(errno));
  while ((e = readdir(d)) != 0) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      closedir(d);
      return outFail(
          "%s is not empty; give -o a new or empty folder "
          "(nothing was written)",
          zDir);
    }
  }
  closedir(d);
  return EXIT_OK;
}

int cmdImportAlembic(Shell *s, Args *a) {
  const char *zIn = a->azPos[0];
  const char *zOut = argsValue(a, "output");
  PyList list;
  char *zNote = 0, *zVersions = 0;
  int rc, i, nDone = 0;
  struct stat st;
  memset(&list, 0, sizeof(list));
  if (zOut == 0) zOut = "migrations";
  if (zOut[0] == 0) return outUsage(s, "-o: empty folder name");
  if (stat(zIn, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return outFail(
        "%s is not a folder (give an Alembic project's versions "
        "folder, e.g. alembic/versions)",
        zIn);
  }
  {
    /* an Alembic environment (env.py beside versions/): its versions/ */
    char *zEnv = sqlite3_mprintf("%s/env.py", zIn);
    zVersions = sqlite3_mprintf("%s/versions", zIn);
    if (zEnv == 0 || zVersions == 0) {
      sqlite3_free(zEnv);
      sqlite3_free(zVersions);
      return outFail("out of memory");
    }
    if (stat(zEnv, &st) == 0 && stat(zVersions, &st) == 0 &&
        S_ISDIR(st.st_mode)) {
      zIn = zVersions;
    }
    sqlite3_free(zEnv);
  }
  rc = readFolder(zIn, &list);
  if (rc == EXIT_OK) rc = prepareOutput(zOut);
  if (rc == EXIT_OK && !renderWithAlembic(&list, zIn, &zNote)) {
    for (i = 0; i < list.n; i++) {
      list.a[i].zWhy = sqlite3_mprintf("%s", zNote ? zNote : "no Alembic");
      if (list.a[i].zWhy == 0) rc = outFail("out of memory");
    }
  }
  for (i = 0; rc == EXIT_OK && i < list.n; i++) {
    rc = writeScript(zOut, &list.a[i]);
    if (list.a[i].zWhy == 0) nDone++;
  }
  if (rc == EXIT_OK) {
    if (zNote) printf("%s: the SQL of every revision needs a person.\n", zNote);
    printf("Converted %d of %d revision%s into %s.\n", nDone, list.n,
           list.n == 1 ? "" : "s", zOut);
    if (nDone < list.n) {
      printf(
          "These need a person (the bundler refuses them until their SQL "
          "is written):\n");
      for (i = 0; i < list.n; i++) {
        const PyRev *r = &list.a[i];
        if (r->zWhy == 0) continue;
        printf("  %.*s.sql (%s)%s%s\n", (int)strlen(r->zFile) - 3, r->zFile,
               r->zId, zNote ? "" : ": ", zNote ? "" : r->zWhy);
      }
    }
  }
  sqlite3_free(zNote);
  sqlite3_free(zVersions);
  pyListFree(&list);
  return rc;
}
