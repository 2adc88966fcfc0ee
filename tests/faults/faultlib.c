/*
** faultlib.c — helpers shared by the fault-injection programs (faultlib.h).
*/
#include "faultlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- files -------------------------------------------------------------- */

int fl_copy_file(const char *zFrom, const char *zTo) {
  char buf[65536];
  int fdIn, fdOut;
  ssize_t n;
  fdIn = open(zFrom, O_RDONLY);
  if (fdIn < 0) {
    if (errno == ENOENT) {
      unlink(zTo);
      return 0;
    }
    return -1;
  }
  fdOut = open(zTo, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fdOut < 0) {
    close(fdIn);
    return -1;
  }
  while ((n = read(fdIn, buf, sizeof(buf))) > 0) {
    if (write(fdOut, buf, (size_t)n) != n) {
      n = -1;
      break;
    }
  }
  close(fdIn);
  if (close(fdOut) != 0) n = -1;
  return n < 0 ? -1 : 0;
}

int fl_copy_db(const char *zFrom, const char *zTo) {
  static const char *azSuffix[] = {"", "-journal", "-wal"};
  char zA[4096], zB[4096];
  size_t i;
  int rc = 0;
  for (i = 0; i < sizeof(azSuffix) / sizeof(azSuffix[0]); i++) {
    snprintf(zA, sizeof(zA), "%s%s", zFrom, azSuffix[i]);
    snprintf(zB, sizeof(zB), "%s%s", zTo, azSuffix[i]);
    if (fl_copy_file(zA, zB)) rc = -1;
  }
  snprintf(zB, sizeof(zB), "%s-shm", zTo);
  unlink(zB);
  return rc;
}

void fl_remove_db(const char *zPath) {
  static const char *azSuffix[] = {"", "-journal", "-wal", "-shm"};
  char z[4096];
  size_t i;
  for (i = 0; i < sizeof(azSuffix) / sizeof(azSuffix[0]); i++) {
    snprintf(z, sizeof(z), "%s%s", zPath, azSuffix[i]);
    unlink(z);
  }
}

const char *fl_tmpdir(void) {
  static char zDir[4096];
  const char *zBase = getenv("TMPDIR");
  snprintf(zDir, sizeof(zDir), "%s/migrate-faults-XXXXXX",
           zBase && zBase[0] ? zBase : "/tmp");
  if (mkdtemp(zDir) == 0) {
    perror("mkdtemp");
    exit(2);
  }
  return zDir;
}

void fl_rmdir(const char *zDir) {
  DIR *d = opendir(zDir);
  struct dirent *e;
  char z[4096];
  if (d == 0) return;
  while ((e = readdir(d)) != 0) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(z, sizeof(z), "%s/%s", zDir, e->d_name);
    unlink(z);
  }
  closedir(d);
  rmdir(zDir);
}

/* ---- database state ----------------------------------------------------- */

/* Append the rows of zSql (every column, quoted) to s. */
static int appendRows(sqlite3 *db, sqlite3_str *s, const char *zSql) {
  sqlite3_stmt *st = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  int i, n;
  if (rc) return rc;
  n = sqlite3_column_count(st);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (i = 0; i < n; i++) {
      const char *z = (const char *)sqlite3_column_text(st, i);
      switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL:
          sqlite3_str_appendall(s, "NULL");
          break;
        case SQLITE_TEXT:
          sqlite3_str_appendf(s, "%Q", z);
          break;
        case SQLITE_BLOB:
          sqlite3_str_appendf(s, "blob:%d", sqlite3_column_bytes(st, i));
          break;
        default:
          sqlite3_str_appendall(s, z ? z : "?");
          break;
      }
      sqlite3_str_appendchar(s, 1, i + 1 < n ? '|' : '\n');
    }
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

char *fl_signature(sqlite3 *db) {
  sqlite3_str *s = sqlite3_str_new(db);
  sqlite3_stmt *st = 0;
  int rc;
  sqlite3_str_appendall(s, "-- schema\n");
  /* migrate_lock exists while a Transaction: none revision runs (and in
  ** a crash image taken then): it is not part of any version's schema */
  rc = appendRows(db, s,
                  "SELECT type, name, tbl_name, sql FROM main.sqlite_schema "
                  "WHERE tbl_name <> 'migrate_lock' ORDER BY 1, 2");
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db,
                            "SELECT name FROM main.sqlite_schema WHERE "
                            "type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                            "ESCAPE '\\' AND name <> 'migrate_lock' "
                            "ORDER BY name",
                            -1, &st, 0);
  }
  while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    const char *zTab = (const char *)sqlite3_column_text(st, 0);
    char *zSql;
    sqlite3_str_appendf(s, "-- table %s\n", zTab);
    zSql = sqlite3_mprintf("SELECT count(*) FROM main.\"%w\"", zTab);
    rc = appendRows(db, s, zSql);
    sqlite3_free(zSql);
    if (rc) break;
    if (strcmp(zTab, "migrate_log") == 0) {
      zSql = sqlite3_mprintf(
          "SELECT id, revision, direction, version_before, version_after, "
          "checksum FROM main.migrate_log ORDER BY id");
    } else {
      zSql = sqlite3_mprintf("SELECT * FROM main.\"%w\"", zTab);
    }
    rc = appendRows(db, s, zSql);
    sqlite3_free(zSql);
  }
  sqlite3_finalize(st);
  if (rc) {
    sqlite3_free(sqlite3_str_finish(s));
    return 0;
  }
  return sqlite3_str_finish(s);
}

char *fl_version(sqlite3 *db) {
  sqlite3_stmt *st = 0;
  char *z = 0;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT 1 FROM main.sqlite_schema WHERE "
                              "name = 'migrate_version'",
                              -1, &st, 0);
  if (rc) return 0;
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE) return sqlite3_mprintf("base"); /* never migrated */
  if (rc != SQLITE_ROW) return 0;
  rc = sqlite3_prepare_v2(db,
                          "SELECT group_concat(version_num, ',') FROM "
                          "(SELECT version_num FROM main.migrate_version "
                          "ORDER BY 1)",
                          -1, &st, 0);
  if (rc) return 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *zV = (const char *)sqlite3_column_text(st, 0);
    z = sqlite3_mprintf("%s", zV ? zV : "base");
  }
  sqlite3_finalize(st);
  return z;
}

/* The rows of a one-column query joined by '\n'; caller frees. */
static char *queryText(sqlite3 *db, const char *zSql) {
  sqlite3_str *s = sqlite3_str_new(db);
  sqlite3_stmt *st = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0), n = 0;
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (n++) sqlite3_str_appendchar(s, 1, '\n');
      sqlite3_str_appendall(s, (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  if (rc != SQLITE_DONE) {
    sqlite3_str_reset(s);
    sqlite3_str_appendf(s, "error: %s", sqlite3_errmsg(db));
  }
  return sqlite3_str_finish(s);
}

int fl_db_state(const char *zPath, FlState *p) {
  sqlite3 *db = 0;
  int rc;
  memset(p, 0, sizeof(*p));
  rc = sqlite3_open_v2(zPath, &db, SQLITE_OPEN_READWRITE, 0);
  if (rc) {
    p->zIntegrity =
        sqlite3_mprintf("cannot open %s: %s", zPath, sqlite3_errmsg(db));
    sqlite3_close(db);
    return -1;
  }
  p->zIntegrity = queryText(db, "PRAGMA integrity_check");
  p->zJournal = queryText(db, "PRAGMA journal_mode");
  p->zVersion = fl_version(db);
  p->zSig = fl_signature(db);
  rc = sqlite3_close(db);
  if (p->zSig == 0 || p->zVersion == 0 || rc != SQLITE_OK) {
    sqlite3_free(p->zIntegrity);
    p->zIntegrity = sqlite3_mprintf("cannot read %s (close rc=%d)", zPath, rc);
    return -1;
  }
  return 0;
}

void fl_state_free(FlState *p) {
  sqlite3_free(p->zIntegrity);
  sqlite3_free(p->zVersion);
  sqlite3_free(p->zSig);
  sqlite3_free(p->zJournal);
  memset(p, 0, sizeof(*p));
}

/* ---- commits ------------------------------------------------------------ */

static int commitHook(void *p) {
  ((FlCommits *)p)->bPending = 1;
  ((FlCommits *)p)->nAttempted++;
  return 0;
}
static void rollbackHook(void *p) {
  ((FlCommits *)p)->bPending = 0; /* the pending commit failed, if any */
}
static int traceHook(unsigned eType, void *p, void *pStmt, void *pX) {
  FlCommits *c = p;
  (void)pStmt;
  (void)pX;
  if (eType == SQLITE_TRACE_STMT && c->bPending) {
    c->bPending = 0;
    c->nCommitted++;
  }
  return 0;
}

void fl_watch_commits(sqlite3 *db, FlCommits *p) {
  memset(p, 0, sizeof(*p));
  sqlite3_commit_hook(db, commitHook, p);
  sqlite3_rollback_hook(db, rollbackHook, p);
  sqlite3_trace_v2(db, SQLITE_TRACE_STMT, traceHook, p);
}

int fl_commits(FlCommits *p) {
  if (p->bPending) {
    p->bPending = 0;
    p->nCommitted++;
  }
  return p->nCommitted;
}

/* ---- accounting ---------------------------------------------------------- */

static int nPass = 0, nFail = 0;

void fl_pass(const char *zName, const char *zFmt, ...) {
  va_list ap;
  printf("ok %s: ", zName);
  va_start(ap, zFmt);
  vprintf(zFmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  nPass++;
}

void fl_fail(const char *zName, const char *zFmt, ...) {
  va_list ap;
  printf("FAIL %s: ", zName);
  va_start(ap, zFmt);
  vprintf(zFmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  nFail++;
}

int fl_summary(void) {
  printf("%d passed, %d failed\n", nPass, nFail);
  fflush(stdout);
  return nFail ? 1 : 0;
}

double fl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
