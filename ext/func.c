/*
** func.c — the SQL functions of the extension (README.md, "The SQL interface").
**
**     SELECT migrate_to('head');                      -> '4e92a7c0b6d1'
**     SELECT migrate_to('head', migrate_bundle('migrations'));
**     SELECT migrate_sql('head');                     -> the offline script
**     SELECT migrate_current();                       -> heads or NULL
**     SELECT migrate_stamp('1f0c2a7d44e0');
**     SELECT migrate_fixture('head');                 -> as migrate_to, copied
**     SELECT migrate_check();                         -> NULL when up to date
**     SELECT migrate_bundle('migrations');            -> bundle BLOB
**     SELECT migrate_version();                       -> '0.1.0'
**
** Flags: everything that changes the database or reads files is
** SQLITE_DIRECTONLY (a trigger or view stored in a database file must not be
** able to migrate it or read the file system); the pure readers are
** SQLITE_INNOCUOUS.  None is DETERMINISTIC except migrate_version().
**
** A bundle argument is the BLOB migrate_bundle() returns.  Each connection
** keeps the last one it decoded (bytes compared in full), so
** migrate_to(t, migrate_bundle('dir')) parses the folder once, not twice.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <string.h>
#include <zlib.h>

/* Per-connection state shared by the functions and virtual tables. */
typedef struct MigConn {
  int nRef;
  int nBusy;            /* calls using pBundle right now: do not replace it */
  unsigned char *aBlob; /* last decoded bundle's bytes */
  size_t nBlob;
  migrate_bundle *pBundle;
} MigConn;

static void connUnref(void *p) {
  MigConn *c = p;
  if (c && --c->nRef == 0) {
    migrate_bundle_free(c->pBundle);
    sqlite3_free(c->aBlob);
    sqlite3_free(c);
  }
}

/* Remember (aBlob, b) as the connection's cached bundle.  Takes ownership
** of b; copies aBlob.  On OOM the cache is just left empty. */
static void cachePut(MigConn *c, const unsigned char *aBlob, size_t nBlob,
                     migrate_bundle *b) {
  unsigned char *aCopy;
  if (c->nBusy > 0) {
    /* a call higher up the stack (migrate_to running a revision that calls
    ** migrate_bundle) still uses the cached bundle: keep it */
    migrate_bundle_free(b);
    return;
  }
  aCopy = sqlite3_malloc64(nBlob ? nBlob : 1);
  migrate_bundle_free(c->pBundle);
  sqlite3_free(c->aBlob);
  c->pBundle = 0;
  c->aBlob = 0;
  c->nBlob = 0;
  if (aCopy == 0) {
    migrate_bundle_free(b);
    return;
  }
  memcpy(aCopy, aBlob, nBlob);
  c->aBlob = aCopy;
  c->nBlob = nBlob;
  c->pBundle = b;
}

/* The bundle for an optional argument.  NULL/absent -> the embedded one.
** *ppOut stays owned by the cache (or is the embedded bundle): the caller
** must not free it and must not keep it past the next call. */
static int bundleArg(MigConn *c, sqlite3_value *pVal, const char *zFunc,
                     migrate_bundle **ppOut, int *pbOwned, char **pzErr) {
  const unsigned char *a;
  int n, rc;
  migrate_bundle *b;
  *pbOwned = 0;
  if (pVal == 0 || sqlite3_value_type(pVal) == SQLITE_NULL) {
    rc = migrate_bundle_embedded(ppOut, pzErr);
    if (rc) migErrPrefix(pzErr, "%s(): ", zFunc);
    return rc;
  }
  if (sqlite3_value_type(pVal) != SQLITE_BLOB) {
    int bTarget = strcmp(zFunc, "migrate_check") != 0;
    return migSetError(
        pzErr, SQLITE_MISMATCH,
        "%s(): the bundle argument must be the BLOB that "
        "migrate_bundle() returns, e.g. %s(%s"
        "migrate_bundle('migrations')); got %s",
        zFunc, zFunc, bTarget ? "'head', " : "",
        sqlite3_value_type(pVal) == SQLITE_TEXT ? "text" : "a number");
  }
  a = sqlite3_value_blob(pVal);
  n = sqlite3_value_bytes(pVal);
  if (c->pBundle && (size_t)n == c->nBlob &&
      memcmp(a, c->aBlob, c->nBlob) == 0) {
    *ppOut = c->pBundle;
    return SQLITE_OK;
  }
  rc = migrate_bundle_open_blob(a, (size_t)n, &b, pzErr);
  if (rc) {
    migErrPrefix(pzErr, "%s(): ", zFunc);
    return rc;
  }
  if (c->nBusy > 0) {
    /* the cache is in use further up the stack: this call owns its copy */
    *ppOut = b;
    *pbOwned = 1;
    return SQLITE_OK;
  }
  cachePut(c, a, (size_t)n, b);
  if (c->pBundle == 0) return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  *ppOut = c->pBundle;
  return SQLITE_OK;
}

/* Report an error from a function (migResultError()) and free zErr. */
static void resultError(sqlite3_context *ctx, int rc, char *zErr) {
  migResultError(ctx, rc, zErr);
  sqlite3_free(zErr);
}

/* Text of argument i, or NULL. */
static const char *argText(sqlite3_value *v) {
  return sqlite3_value_type(v) == SQLITE_NULL
             ? 0
             : (const char *)sqlite3_value_text(v);
}

/* Target argument v as the engine looks it up and echoes it: *pz NULL for
** NULL; a text with control characters or bytes that are not UTF-8 (which
** no revision or branch name has) becomes its migShowArg() form, so every
** message echoes it printably and it still names nothing.  The caller frees
** *pzOwned. */
static int targetArg(sqlite3_value *v, const char **pz, char **pzOwned) {
  const char *z = argText(v);
  int n;
  char *zShown;
  *pz = z;
  *pzOwned = 0;
  if (z == 0) return SQLITE_OK;
  n = sqlite3_value_bytes(v);
  zShown = migShowArg(z, n);
  if (zShown == 0) return SQLITE_NOMEM;
  if ((size_t)n == strlen(z) && strcmp(zShown, z) == 0) {
    sqlite3_free(zShown);
  } else {
    *pz = *pzOwned = zShown;
  }
  return SQLITE_OK;
}

/* migrate_to(target [, bundle]) and migrate_stamp(target [, bundle]) */
static void runFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                    int mode, const char *zFunc) {
  MigConn *c = sqlite3_user_data(ctx);
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  migrate_bundle *b;
  char *zErr = 0, *zVer = 0;
  migrate_options o = {mode, zFunc, 1, 0, 0};
  const char *zTarget;
  char *zOwned = 0;
  int bOwned;
  int rc = targetArg(argv[0], &zTarget, &zOwned);
  if (rc == SQLITE_OK) {
    rc = bundleArg(c, argc > 1 ? argv[1] : 0, zFunc, &b, &bOwned, &zErr);
  }
  if (rc == SQLITE_OK) {
    c->nBusy++;
    rc = migrate_run(db, b, zTarget, &o, &zVer, &zErr);
    c->nBusy--;
    if (bOwned) migrate_bundle_free(b);
  }
  sqlite3_free(zOwned);
  if (rc) {
    resultError(ctx, rc, zErr);
    return;
  }
  if (zVer) {
    sqlite3_result_text(ctx, zVer, -1, sqlite3_free);
  } else {
    sqlite3_result_null(ctx);
  }
}

static void fnTo(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  runFunc(ctx, argc, argv, MIGRATE_AUTO, "migrate_to");
}

static void fnStamp(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  runFunc(ctx, argc, argv, MIGRATE_STAMP, "migrate_stamp");
}

/* migrate_sql(target [, bundle]) */
static void fnSql(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MigConn *c = sqlite3_user_data(ctx);
  migrate_bundle *b;
  char *zErr = 0, *zSql = 0, *zOwned = 0;
  const char *zTarget;
  int bOwned;
  int rc = targetArg(argv[0], &zTarget, &zOwned);
  if (rc == SQLITE_OK) {
    rc =
        bundleArg(c, argc > 1 ? argv[1] : 0, "migrate_sql", &b, &bOwned, &zErr);
  }
  if (rc == SQLITE_OK) {
    c->nBusy++;
    rc = migrate_sql_script(sqlite3_context_db_handle(ctx), b, 0, zTarget,
                            MIGRATE_AUTO, &zSql, &zErr);
    c->nBusy--;
    if (bOwned) migrate_bundle_free(b);
  }
  sqlite3_free(zOwned);
  if (rc) {
    resultError(ctx, rc, zErr);
    return;
  }
  sqlite3_result_text(ctx, zSql, -1, sqlite3_free);
}

/* migrate_current() */
static void fnCurrent(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  char *zErr = 0, *zVer = 0;
  int rc = migrate_current(sqlite3_context_db_handle(ctx), &zVer, &zErr);
  (void)argc;
  (void)argv;
  if (rc) {
    resultError(ctx, rc, zErr);
  } else if (zVer) {
    sqlite3_result_text(ctx, zVer, -1, sqlite3_free);
  } else {
    sqlite3_result_null(ctx);
  }
}

/* migrate_check([bundle]) */
static void fnCheck(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MigConn *c = sqlite3_user_data(ctx);
  migrate_bundle *b;
  char *zErr = 0, *zRep = 0;
  int bOwned;
  int rc =
      bundleArg(c, argc > 0 ? argv[0] : 0, "migrate_check", &b, &bOwned, &zErr);
  if (rc == SQLITE_OK) {
    c->nBusy++;
    rc = migrate_check_report(sqlite3_context_db_handle(ctx), b, &zRep, &zErr);
    c->nBusy--;
    if (bOwned) migrate_bundle_free(b);
  }
  if (rc) {
    resultError(ctx, rc, zErr);
  } else if (zRep) {
    sqlite3_result_text(ctx, zRep, -1, sqlite3_free);
  } else {
    sqlite3_result_null(ctx);
  }
}

/* migrate_bundle(path) */
static void fnBundle(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MigConn *c = sqlite3_user_data(ctx);
  const char *zPath = argText(argv[0]);
  migrate_bundle *b = 0;
  unsigned char *a = 0;
  size_t n = 0;
  char *zErr = 0;
  int rc;
  (void)argc;
  if (zPath == 0) {
    resultError(ctx, SQLITE_MISUSE,
                sqlite3_mprintf("migrate_bundle(): path is NULL; give a "
                                "migrations folder or a bundle file"));
    return;
  }
  rc = migrate_bundle_open_path(zPath, &b, &zErr);
  if (rc == SQLITE_OK) rc = migBundleEncodeLevel(b, 1, &a, &n, &zErr);
  if (rc) {
    /* open_path names the file already when it is the path itself */
    size_t nPath = strlen(zPath);
    const char *zMsg = zErr ? zErr : "";
    char *z, *zShown;
    if (strncmp(zMsg, zPath, nPath) == 0 &&
        strncmp(zMsg + nPath, ": ", 2) == 0) {
      zMsg += nPath + 2;
    }
    zShown = migShowArg(zPath, -1);
    z = zErr && zShown
            ? sqlite3_mprintf("migrate_bundle('%s'): %s", zShown, zMsg)
            : 0;
    sqlite3_free(zShown);
    sqlite3_free(zErr);
    migrate_bundle_free(b);
    resultError(ctx, rc, z);
    return;
  }
  if (n > 0x7fffffff) {
    migrate_bundle_free(b);
    sqlite3_free(a);
    char *zShown = migShowArg(zPath, -1);
    resultError(ctx, SQLITE_TOOBIG,
                zShown ? sqlite3_mprintf("migrate_bundle('%s'): bundle too "
                                         "large",
                                         zShown)
                       : 0);
    sqlite3_free(zShown);
    return;
  }
  /* the next bundle argument with these bytes needs no decoding */
  cachePut(c, a, n, b);
  sqlite3_result_blob64(ctx, a, n, sqlite3_free);
}

/* migrate_fixture(target [, bundle]): the template path (template.c).
** The bundle's bytes are the cache key, so they are not decoded here. */
static void fnFixture(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  MigConn *c = sqlite3_user_data(ctx);
  sqlite3_value *pB = argc > 1 ? argv[1] : 0;
  char *zErr = 0, *zVer = 0, *zOwned = 0;
  const char *zTarget;
  int rc = targetArg(argv[0], &zTarget, &zOwned);
  if (rc) {
    resultError(ctx, rc, 0);
    return;
  }
  if (pB && sqlite3_value_type(pB) != SQLITE_NULL &&
      sqlite3_value_type(pB) != SQLITE_BLOB) {
    migrate_bundle *b;
    int bOwned;
    /* the same message as every other bundle argument */
    rc = bundleArg(c, pB, "migrate_fixture", &b, &bOwned, &zErr);
  } else {
    int bBlob = pB && sqlite3_value_type(pB) == SQLITE_BLOB;
    const void *a = bBlob ? sqlite3_value_blob(pB) : 0;
    size_t n = bBlob ? (size_t)sqlite3_value_bytes(pB) : 0;
    if (bBlob && a == 0) a = ""; /* an empty BLOB is a bundle, a bad one */
    rc = migFixture(sqlite3_context_db_handle(ctx), a, n, zTarget, 1, &zVer,
                    &zErr);
  }
  sqlite3_free(zOwned);
  if (rc) {
    resultError(ctx, rc, zErr);
  } else if (zVer) {
    sqlite3_result_text(ctx, zVer, -1, sqlite3_free);
  } else {
    sqlite3_result_null(ctx);
  }
}

/* migrate_version() */
static void fnVersion(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, MIGRATE_VERSION, -1, SQLITE_STATIC);
}

/* ======================================================================
** Registration
*/
#define F_DIRECT (SQLITE_UTF8 | SQLITE_DIRECTONLY)
#define F_READER (SQLITE_UTF8 | SQLITE_INNOCUOUS)

static const struct {
  const char *zName;
  int nArg;
  int flags;
  void (*x)(sqlite3_context *, int, sqlite3_value **);
} aFunc[] = {
    /* change the database: DIRECTONLY */
    {"migrate_to", 1, F_DIRECT, fnTo},
    {"migrate_to", 2, F_DIRECT, fnTo},
    {"migrate_stamp", 1, F_DIRECT, fnStamp},
    {"migrate_stamp", 2, F_DIRECT, fnStamp},
    {"migrate_fixture", 1, F_DIRECT, fnFixture},
    {"migrate_fixture", 2, F_DIRECT, fnFixture},
    /* reads files: DIRECTONLY */
    {"migrate_bundle", 1, F_DIRECT, fnBundle},
    /* runs the bundle's scripts on a scratch database (drift), which could
    ** ATTACH or VACUUM INTO files: DIRECTONLY */
    {"migrate_check", 0, F_DIRECT, fnCheck},
    {"migrate_check", 1, F_DIRECT, fnCheck},
    /* runs its arguments' SQL on scratch databases: DIRECTONLY */
    {"migrate_diff", 2, F_DIRECT, migFnDiff},
    {"migrate_diff", 3, F_DIRECT, migFnDiff},
    /* readers */
    {"migrate_sql", 1, F_READER, fnSql},
    {"migrate_sql", 2, F_READER, fnSql},
    {"migrate_current", 0, F_READER, fnCurrent},
    {"migrate_version", 0, F_READER | SQLITE_DETERMINISTIC, fnVersion},
};

/* Register every function; on failure *pzErr names the one that failed. */
int migRegisterFunctions(sqlite3 *db, char **pzErr) {
  MigConn *c = sqlite3_malloc64(sizeof(MigConn));
  size_t i;
  int rc = SQLITE_OK;
  if (c == 0) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->nRef = 1; /* held by this function until the end */
  for (i = 0; rc == SQLITE_OK && i < sizeof(aFunc) / sizeof(aFunc[0]); i++) {
    c->nRef++; /* released by xDestroy, which SQLite also calls on failure */
    rc = sqlite3_create_function_v2(db, aFunc[i].zName, aFunc[i].nArg,
                                    aFunc[i].flags, c, aFunc[i].x, 0, 0,
                                    connUnref);
    if (rc && pzErr) {
      *pzErr = sqlite3_mprintf("cannot register %s(): %s", aFunc[i].zName,
                               sqlite3_errmsg(db));
    }
  }
  connUnref(c);
  return rc;
}
