/*
** inspect.c — the commands that describe the history: history, heads,
** branches, show.
**
**     sqlite-migrate history                  newest first, one line each
**     sqlite-migrate history -v -r 7b5e:      verbose blocks of a range
**     sqlite-migrate -d app.db history -i     "(current)" marked
**     sqlite-migrate heads
**     sqlite-migrate branches
**     sqlite-migrate show 1f0c                a revision (prefix) in full
**     sqlite-migrate -d app.db show current
**     sqlite-migrate --dir migrations edit head   $VISUAL or $EDITOR on it
**
** Output formats are Alembic 1.8's (alembic/command.py with
** Script.cmd_format and Script.log_entry, see out.c), byte for byte.  Only
** history -i, "current" in a range and "show current" read the database;
** they open it read-only.  edit runs the editor through /bin/sh (so
** EDITOR="code -w" works) with the file as "$1", never pasted into the
** command.
*/
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shell.h"

/* The database's current heads when the command needs them (read-only).
** EXIT_OK with *paDb (sqlite3_free) set, or an error (printed). */
static int readCurrent(Shell *s, migrate_bundle *b, int **paDb, int *pnDb) {
  sqlite3 *db = 0;
  int rc = shellOpenDb(s, DB_READ, &db, 0);
  if (rc) return rc;
  rc = shellCurrent(s, db, b, paDb, pnDb);
  return shellCloseDb(s, db, rc);
}

static int inList(const int *a, int n, int k) {
  int i;
  for (i = 0; i < n; i++) {
    if (a[i] == k) return 1;
  }
  return 0;
}

/* ======================================================================
** history
*/

int cmdHistory(Shell *s, Args *a) {
  migrate_bundle *b;
  const char *zRange = argsValue(a, "rev-range");
  int bVerbose = argsHas(a, "verbose");
  int bIndicate = argsHas(a, "indicate-current");
  int *aDb = 0, nDb = 0, *aList = 0, nList = 0, i, rc;
  char *zLower = 0, *zUpper = 0;

  if (zRange) {
    const char *zColon = strchr(zRange, ':');
    if (zColon == 0 || strchr(zColon + 1, ':')) {
      return outUsage(s,
                      "History range requires [start]:[end], [start]:, "
                      "or :[end]");
    }
    zLower = sqlite3_mprintf("%.*s", (int)(zColon - zRange), zRange);
    zUpper = sqlite3_mprintf("%s", zColon + 1);
    if (zLower == 0 || zUpper == 0) {
      rc = outFail("out of memory");
      goto done;
    }
  }
  rc = shellBundle(s, &b);
  if (rc) goto done;
  if (bIndicate || (zLower && strcmp(zLower, "current") == 0) ||
      (zUpper && strcmp(zUpper, "current") == 0)) {
    rc = readCurrent(s, b, &aDb, &nDb);
    if (rc) goto done;
  }
  if (zRange) {
    char *zErr = 0;
    int src = rangeCollect(b, zLower, zUpper, aDb, nDb, &aList, &nList, &zErr);
    if (src != SQLITE_OK) {
      rc = shellEngineFail(zErr, src);
      sqlite3_free(zErr);
      goto done;
    }
  } else {
    nList = migrate_bundle_count(b);
    aList = sqlite3_malloc64(sizeof(int) * ((size_t)nList + 1));
    if (aList == 0) {
      rc = outFail("out of memory");
      goto done;
    }
    for (i = 0; i < nList; i++) {
      aList[i] = migrate_bundle_order(b, nList - 1 - i);
    }
  }
  for (i = 0; i < nList; i++) {
    int bCur = bIndicate && inList(aDb, nDb, aList[i]);
    if (bVerbose) {
      outLogEntry(stdout, s, b, aList[i], bCur);
      fputs("\n", stdout);
    } else {
      outHeadOnly(stdout, b, aList[i],
                  FMT_PARENTS | FMT_BRANCHES | FMT_DOC | FMT_TREE | FMT_HEAD,
                  bCur);
    }
  }
done:
  sqlite3_free(aList);
  sqlite3_free(aDb);
  sqlite3_free(zLower);
  sqlite3_free(zUpper);
  return rc;
}

/* ======================================================================
** heads, branches, show
*/

int cmdHeads(Shell *s, Args *a) {
  migrate_bundle *b;
  int *aList = 0, nList = 0, i, rc;
  int bVerbose = argsHas(a, "verbose");
  rc = shellBundle(s, &b);
  if (rc) return rc;
  if (argsHas(a, "resolve-dependencies")) {
    char *zErr = 0;
    int src = migrate_bundle_resolve(b, "heads", 0, 0, &aList, &nList, &zErr);
    if (src != SQLITE_OK) {
      rc = shellEngineFail(zErr, src);
      sqlite3_free(zErr);
      return rc;
    }
  } else {
    nList = migrate_bundle_nhead(b);
    aList = sqlite3_malloc64(sizeof(int) * ((size_t)nList + 1));
    if (aList == 0) return outFail("out of memory");
    for (i = 0; i < nList; i++) aList[i] = migrate_bundle_head(b, i);
  }
  for (i = 0; i < nList; i++) {
    if (bVerbose) {
      outLogEntry(stdout, s, b, aList[i], 0);
      fputs("\n", stdout);
    } else {
      outHeadOnly(stdout, b, aList[i], FMT_BRANCHES | FMT_HEAD, 0);
    }
  }
  sqlite3_free(aList);
  return EXIT_OK;
}

int cmdBranches(Shell *s, Args *a) {
  migrate_bundle *b;
  int n, i, k, rc;
  int bVerbose = argsHas(a, "verbose");
  rc = shellBundle(s, &b);
  if (rc) return rc;
  n = migrate_bundle_count(b);
  for (i = n - 1; i >= 0; i--) {
    int iRev = migrate_bundle_order(b, i);
    const migrate_revision *r = migrate_bundle_revision(b, iRev);
    if (!r->is_branchpoint) continue;
    if (bVerbose) {
      outLogEntry(stdout, s, b, iRev, 0);
      fputs("\n", stdout); /* Alembic: "%s\n%s\n" with a block ending in \n */
    } else {
      outHeadOnly(stdout, b, iRev, FMT_BRANCHES | FMT_TREE, 0);
    }
    for (k = 0; k < r->nchild; k++) {
      printf("%*s -> ", (int)strlen(r->id), "");
      outHeadOnly(stdout, b, r->child_idx[k],
                  FMT_BRANCHES | FMT_TREE | (bVerbose ? FMT_DOC : 0), 0);
    }
    fputs("\n", stdout);
  }
  return EXIT_OK;
}

/* The revisions zRev names for show and edit: "current" (the version
** rows) or a target the engine resolves.  EXIT_OK, or EXIT_FAIL (printed);
** caller frees *paList. */
static int resolveShown(Shell *s, migrate_bundle *b, const char *zRev,
                        int **paList, int *pnList) {
  char *zErr = 0;
  int rc;
  if (strcmp(zRev, "current") == 0) return readCurrent(s, b, paList, pnList);
  rc = migrate_bundle_resolve(b, zRev, 0, 0, paList, pnList, &zErr);
  if (rc != SQLITE_OK) {
    rc = shellEngineFail(zErr, rc);
    sqlite3_free(zErr);
  }
  return rc;
}

int cmdShow(Shell *s, Args *a) {
  migrate_bundle *b;
  const char *zRev = a->azPos[0];
  int *aList = 0, nList = 0, i, rc;
  rc = shellBundle(s, &b);
  if (rc) return rc;
  rc = resolveShown(s, b, zRev, &aList, &nList);
  if (rc) return rc;
  for (i = 0; i < nList; i++) {
    outLogEntry(stdout, s, b, aList[i], 0);
    fputs("\n", stdout);
  }
  sqlite3_free(aList);
  return EXIT_OK;
}

/* ======================================================================
** edit
*/

/* The editor to run: $VISUAL, else $EDITOR (non-empty), else NULL. */
static const char *findEditor(void) {
  const char *z = getenv("VISUAL");
  if (z && z[0]) return z;
  z = getenv("EDITOR");
  return z && z[0] ? z : 0;
}

/* Run editor zEditor on zPath and wait.  EXIT_OK or EXIT_FAIL (printed). */
static int runEditor(const char *zEditor, const char *zPath) {
  char *zCmd = sqlite3_mprintf("%s \"$1\"", zEditor);
  pid_t pid;
  int status = 0;
  if (zCmd == 0) return outFail("out of memory");
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", zCmd, "sh", zPath, (char *)0);
    _exit(127);
  }
  sqlite3_free(zCmd);
  if (pid < 0) return outFail("cannot start the editor: fork failed");
  if (waitpid(pid, &status, 0) < 0) {
    return outFail("cannot wait for the editor '%s'", zEditor);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return outFail("the editor '%s' failed on %s (exit status %d)", zEditor,
                   zPath, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return EXIT_OK;
}

int cmdEdit(Shell *s, Args *a) {
  migrate_bundle *b;
  const char *zRev = a->azPos[0];
  const char *zEditor = findEditor();
  int *aList = 0, nList = 0, i, rc;
  rc = shellBundle(s, &b);
  if (rc) return rc;
  if (s->eSrc != SRC_DIR) {
    return outFail(
        "edit needs the revisions' files: give their folder with "
        "--dir (these revisions come from %s%s)",
        s->eSrc == SRC_FILE ? "bundle file " : "the built-in bundle",
        s->eSrc == SRC_FILE ? s->zSrc : "");
  }
  rc = resolveShown(s, b, zRev, &aList, &nList);
  if (rc) return rc;
  if (nList == 0) {
    rc = outFail("No revision files indicated by symbol '%s'", zRev);
  } else if (zEditor == 0) {
    rc = outFail(
        "edit: set $VISUAL or $EDITOR to the editor to open %s/%s "
        "with",
        s->zSrc, migrate_bundle_revision(b, aList[0])->file);
  }
  for (i = 0; rc == EXIT_OK && i < nList; i++) {
    char *zPath = sqlite3_mprintf("%s/%s", s->zSrc,
                                  migrate_bundle_revision(b, aList[i])->file);
    rc = zPath ? runEditor(zEditor, zPath) : outFail("out of memory");
    sqlite3_free(zPath);
  }
  sqlite3_free(aList);
  return rc;
}
