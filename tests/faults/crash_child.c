/*
** crash_child.c — the process crash.py kills (issue #5, item 3).
**
**     build/faults/crash_child DB MIGRATIONS_DIR TARGET [CACHE_PAGES]
**
** Reads the migrations folder, opens DB (with PRAGMA cache_size=CACHE_PAGES
** when given: a small cache makes SQLite spill modified pages of the old
** database to the file mid-transaction), writes "go" on standard output
** (the parent starts its kill timer then), runs migrate_run(DB, TARGET) and
** writes "done <milliseconds of migrate_run> <version>".  Exit status 0 on
** success, 1 with the engine's message on standard error on failure, 2 on a
** usage or setup error.
*/
#include "faultlib.h"
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  migrate_bundle *b = 0;
  sqlite3 *db = 0;
  char *zErr = 0, *zVersion = 0;
  double t0;
  int rc;
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s DB MIGRATIONS_DIR TARGET [CACHE_PAGES]\n",
            argv[0]);
    return 2;
  }
  if (migrate_bundle_open_path(argv[2], &b, &zErr) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", argv[2], zErr ? zErr : "cannot read");
    return 2;
  }
  if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", argv[1], sqlite3_errmsg(db));
    return 2;
  }
  if (argc == 5) {
    char *zSql = sqlite3_mprintf("PRAGMA cache_size=%d", atoi(argv[4]));
    rc = sqlite3_exec(db, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    if (rc != SQLITE_OK) {
      fprintf(stderr, "cache_size: %s\n", sqlite3_errmsg(db));
      return 2;
    }
  }
  printf("go\n");
  fflush(stdout);
  t0 = fl_now();
  rc = migrate_run(db, b, argv[3], 0, &zVersion, &zErr);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "migrate_run: rc=%d %s\n", rc, zErr ? zErr : "");
  } else {
    printf("done %.1f %s\n", (fl_now() - t0) * 1000.0,
           zVersion ? zVersion : "base");
  }
  sqlite3_free(zErr);
  sqlite3_free(zVersion);
  if (sqlite3_close(db) != SQLITE_OK) {
    fprintf(stderr, "sqlite3_close: a statement was left unfinalized\n");
    rc = 1;
  }
  migrate_bundle_free(b);
  return rc == SQLITE_OK ? 0 : 1;
}
