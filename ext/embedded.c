/*
** embedded.c — the bundle compiled into this build: decoded on first use,
** once per process, and shared by every connection; and the bundle an
** optional SQL argument names (NULL: this one).
**
**     migrate_bundle *b;
**     migrate_bundle_embedded(&b, &zErr);   // never free b
**     migBundleFromValue(argv[0], "migrate_drift(migrate_bundle('m'))",
**                        &b, &bOwned, &zErr);
**
** The bytes come from build/embedded_bundle.c, which mkbundle generates
** from the migrations folder; this file is left out of mkbundle itself.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <pthread.h>

static pthread_mutex_t embeddedMutex = PTHREAD_MUTEX_INITIALIZER;
static migrate_bundle *pEmbedded = 0;

int migrate_bundle_embedded(migrate_bundle **ppOut, char **pzErr) {
  int rc = SQLITE_OK;
  if (pthread_mutex_lock(&embeddedMutex) != 0) {
    return migSetError(pzErr, SQLITE_ERROR, "cannot lock the bundle mutex");
  }
  if (pEmbedded == 0) {
    /* A failure (e.g. out of memory) is not remembered: the next call
    ** tries again. */
    /* the bytes live as long as the module: used in place */
    rc = migBundleOpenBlobEx(migrate_embedded_data, migrate_embedded_size, 1,
                             &pEmbedded, pzErr);
    if (rc == SQLITE_OK) {
      pEmbedded->nRef = 1; /* shared: migrate_bundle_free() leaves it */
    } else {
      migErrPrefix(pzErr, "embedded bundle: ");
    }
  }
  *ppOut = pEmbedded;
  pthread_mutex_unlock(&embeddedMutex);
  return rc;
}

/* A bundle from an optional SQL argument, without the connection cache of
** func.c (the virtual tables, check.c): see internal.h. */
int migBundleFromValue(sqlite3_value *pVal, const char *zExample,
                       migrate_bundle **pp, int *pbOwned, char **pzErr) {
  /* Without a connection cache: decode privately (caller frees). */
  *pbOwned = 0;
  if (pVal == 0 || sqlite3_value_type(pVal) == SQLITE_NULL) {
    return migrate_bundle_embedded(pp, pzErr);
  }
  if (sqlite3_value_type(pVal) != SQLITE_BLOB) {
    return migSetError(pzErr, SQLITE_MISMATCH,
                       "the bundle argument must be the BLOB that "
                       "migrate_bundle() returns, e.g. %s",
                       zExample);
  }
  *pbOwned = 1;
  return migrate_bundle_open_blob(sqlite3_value_blob(pVal),
                                  (size_t)sqlite3_value_bytes(pVal), pp, pzErr);
}

#if defined(__GNUC__) || defined(__clang__)
/* When the module is unloaded (sqlite3_close of the last connection that
** loaded it dlcloses the .so) or the process exits, free the shared bundle
** so LeakSanitizer and valgrind see no leak. */
__attribute__((destructor)) static void freeEmbedded(void) {
  if (pEmbedded) {
    pEmbedded->nRef = 0;
    migrate_bundle_free(pEmbedded);
    pEmbedded = 0;
  }
}
#endif
