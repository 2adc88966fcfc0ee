/*
** range.c — the revision lists of "history -r LOWER:UPPER" and "current",
** asked of the engine.
**
**     sqlite-migrate history -r 1f0c2a7d44e0:        from a revision up
**     sqlite-migrate history -r :search@head          up to a branch's head
**     sqlite-migrate history -r -3:                   the last four
**     sqlite-migrate -d app.db current                the version rows
**
** The walk is the engine's (migrate_bundle_range: Alembic's
** walk_revisions, in its order); "current" lists the database's version
** rows, the same revisions "history -i" marks and "show current" shows.
*/
#include <stdlib.h>
#include <string.h>

#include "shell.h"

/* See shell.h. */
int rangeCollect(migrate_bundle *b, const char *zLower, const char *zUpper,
                 const int *aDb, int nDb, int **paOut, int *pnOut,
                 char **pzErr) {
  int rc =
      migrate_bundle_range(b, zLower, zUpper, aDb, nDb, paOut, pnOut, pzErr);
  if (rc == SQLITE_NOMEM) {
    sqlite3_free(*pzErr);
    *pzErr = sqlite3_mprintf("out of memory");
  }
  return rc;
}

static int cmpInt(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

/* See shell.h. */
int rangeCurrentHeads(migrate_bundle *b, const int *aDb, int nDb, int **paOut,
                      int *pnOut) {
  int *aOut = sqlite3_malloc64(sizeof(int) * ((size_t)nDb + 1));
  (void)b;
  *paOut = 0;
  *pnOut = 0;
  if (aOut == 0) return SQLITE_NOMEM;
  if (nDb) memcpy(aOut, aDb, sizeof(int) * (size_t)nDb);
  qsort(aOut, (size_t)nDb, sizeof(int), cmpInt);
  *paOut = aOut;
  *pnOut = nDb;
  return SQLITE_OK;
}
