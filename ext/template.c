/*
** template.c — test fixtures at a target in the time it takes to copy pages:
** migrate_fixture(), the template path.
**
**     SELECT migrate_fixture('head');                  -- the embedded bundle
**     SELECT migrate_fixture('head', migrate_bundle('migrations'));
**
**     // C: aBundle/nBundle are a bundle file's bytes, NULL/0 = embedded
**     rc = migrate_fixture(db, 0, 0, "head", &zVersion, &zErr);
**
** It leaves a new, empty database exactly as migrate_to(target) would, and
** returns what migrate_to() returns.  Test suites call it once per test.
**
** How it works.  The first call for a (bundle, target, destination format)
** builds the state once: a private ":memory:" connection gets the
** destination's page size, encoding, auto_vacuum, limits and the settings
** that change what SQL does (foreign_keys, triggers, views, defensive,
** double-quoted strings, trusted_schema, legacy_alter_table,
** legacy_file_format, writable_schema, recursive_triggers,
** reverse_unordered_selects, automatic_index), the engine is registered on
** it and migrate_run() runs the scripts exactly as migrate_to() does.  That
** call's own copy goes straight from the private database into the
** destination (backup API, one transaction: never half-written).  Then the
** log's started_at texts are set to a marker, the pages are kept
** (sqlite3_serialize) in a process-wide cache with the marker's offsets.
** A later call copies the pages, overwrites the marker with the time of
** the copy, loads them into a scratch connection (sqlite3_deserialize) and
** copies that into the destination with the backup API: no SQL runs on
** the template, so its schema is never parsed.
**
** What would make the copy differ from migrate_to(), and what happens:
**   - a scripted call that reads the clock (date/time functions with 'now'
**     or no argument, CURRENT_TIMESTAMP, ...) or random()/randomblob():
**     the private connection runs on a VFS that counts clock reads, and
**     random() and randomblob() are replaced there by counting copies; a
**     revision after which a count moved is named in a refusal (kept in the
**     cache, so later calls refuse at once).  Functions whose result
**     depends on the connection (changes(), total_changes(),
**     last_insert_rowid()) are not detected: the copy has the values a
**     connection that made no change before the call gives;
**   - TEMP objects or attached databases left by a script, or a script
**     that changes a connection setting: refused (they live in the
**     connection, which is not copied);
**   - a "Transaction: none" revision (PRAGMA journal_mode=WAL changes the
**     file) into a database file: refused; into ":memory:" or "" (where
**     SQLite ignores WAL) it is copied;
**   - a destination that is not empty (a schema object, user_version or
**     application_id set), a caller's open transaction, another active
**     statement: refused, nothing changed;
**   - page size, encoding and the settings above: mirrored, and part of
**     the cache key, so each combination has its own template;
**   - functions, collations or modules the application registered on its
**     connection: the private connection does not have them, so the build
**     fails with SQLite's "no such function" (use migrate_to()).
** The destination must be a database no other connection writes while the
** fixture is copied in: the emptiness check and the copy are two steps.
**
** Cache.  Entries are keyed by the bundle bytes (compared in full; the
** embedded bundle by identity), the target text and the format.  A mutex
** guards the list; a build runs outside it, and calls for the same key
** wait on a condition variable meanwhile.  Memory is bounded: images,
** keys and messages together stay under migrate_fixture_limit() bytes
** (MIG_FIXTURE_DEFAULT_LIMIT) and at most MIG_FIXTURE_MAX_ENTRIES entries;
** past that the least recently used entries are dropped, and an image
** larger than the whole limit is used for its call and not kept (every
** call then builds, at migrate_to()'s cost).  The cache is freed by
** migrate_fixture_clear(), and by a destructor when the module is unloaded
** (SQLite dlcloses migrate.so when the last connection that loaded it
** closes) or the process exits; a loadable extension has no other unload
** hook, and sqlite3_auto_extension() only adds an init call.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MIG_FIXTURE_DEFAULT_LIMIT ((sqlite3_int64)256 << 20)
#define MIG_FIXTURE_MAX_ENTRIES   64

/* ======================================================================
** The destination's format and settings
*/

/* sqlite3_db_config() options mirrored on the private connection. */
static const int aCfgOp[] = {
    SQLITE_DBCONFIG_ENABLE_FKEY,
    SQLITE_DBCONFIG_ENABLE_TRIGGER,
    SQLITE_DBCONFIG_ENABLE_VIEW,
    SQLITE_DBCONFIG_DEFENSIVE,
    SQLITE_DBCONFIG_DQS_DML,
    SQLITE_DBCONFIG_DQS_DDL,
    SQLITE_DBCONFIG_TRUSTED_SCHEMA,
    SQLITE_DBCONFIG_LEGACY_ALTER_TABLE,
    SQLITE_DBCONFIG_LEGACY_FILE_FORMAT,
    SQLITE_DBCONFIG_WRITABLE_SCHEMA,
};
#define N_CFG   ((int)(sizeof(aCfgOp) / sizeof(aCfgOp[0])))
#define N_LIMIT (SQLITE_LIMIT_WORKER_THREADS + 1)
/* Flag pragmas mirrored: recursive_triggers, reverse_unordered_selects,
** automatic_index (in this order in destRead() and fmtApply()). */
#define N_FLAG 3

/* What the private connection copies from the destination.  Compared
** with memcmp(): always zeroed before it is filled. */
typedef struct FixFormat {
  int pageSize;
  int autoVacuum;
  int enc;         /* 1 UTF-8, 2 UTF-16le, 3 UTF-16be */
  int aCfg[N_CFG]; /* connection part from here on */
  int aFlag[N_FLAG];
  int aLimit[N_LIMIT];
} FixFormat;
#define FMT_CONN_OFFSET offsetof(FixFormat, aCfg)

static const char *const azEnc[] = {"", "UTF-8", "UTF-16le", "UTF-16be"};

/* What a destination is: its format, and whether it is empty. */
typedef struct FixDest {
  FixFormat fmt;
  int nPage;   /* PRAGMA page_count: 0 for a new database */
  int nObject; /* rows in main.sqlite_master */
  int userVersion;
  int applicationId;
  int nAttached; /* attached databases */
  int nTemp;     /* rows in temp.sqlite_master */
} FixDest;

/* One integer from the first row of zSql, and (zText not NULL) its text
** in a buffer of 32 bytes.  SQLITE_OK or SQLite's error code. */
static int queryOne(sqlite3 *db, const char *zSql, int *piOut, char *zText) {
  sqlite3_stmt *st = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  if (rc == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      *piOut = sqlite3_column_int(st, 0);
      if (zText) {
        const char *z = (const char *)sqlite3_column_text(st, 0);
        snprintf(zText, 32, "%s", z ? z : "");
      }
    }
    rc = sqlite3_finalize(st);
  }
  return rc;
}

/* How many databases db has attached (other than main and temp): plain
** PRAGMA database_list, whose rows are counted here. */
static int countAttached(sqlite3 *db, int *pn) {
  sqlite3_stmt *st = 0;
  int rc = sqlite3_prepare_v2(db, "PRAGMA database_list", -1, &st, 0);
  *pn = 0;
  if (rc) return rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(st, 1);
    if (z && strcmp(z, "main") != 0 && strcmp(z, "temp") != 0) (*pn)++;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Read db's format and settings, and (bFull, or when it has pages) what
** makes it non-empty; bFull also counts TEMP objects and attached
** databases.  Plain PRAGMA statements: the pragma_* table-valued
** functions cost ten times more to prepare.  SQLITE_OK or an error code
** with *pzErr set. */
static int destRead(sqlite3 *db, FixDest *p, int bFull, char **pzErr) {
  static const char *const azFlag[N_FLAG] = {"PRAGMA recursive_triggers",
                                             "PRAGMA reverse_unordered_selects",
                                             "PRAGMA automatic_index"};
  char zEnc[32] = "";
  int rc, i;
  memset(p, 0, sizeof(*p));
  rc = queryOne(db, "PRAGMA main.page_count", &p->nPage, 0);
  if (rc == SQLITE_OK) {
    rc = queryOne(db, "PRAGMA main.page_size", &p->fmt.pageSize, 0);
  }
  if (rc == SQLITE_OK) {
    rc = queryOne(db, "PRAGMA main.auto_vacuum", &p->fmt.autoVacuum, 0);
  }
  if (rc == SQLITE_OK) rc = queryOne(db, "PRAGMA main.encoding", &i, zEnc);
  for (i = 0; rc == SQLITE_OK && i < N_FLAG; i++) {
    rc = queryOne(db, azFlag[i], &p->fmt.aFlag[i], 0);
  }
  if (rc == SQLITE_OK && (bFull || p->nPage > 0)) {
    rc =
        queryOne(db, "SELECT count(*) FROM main.sqlite_master", &p->nObject, 0);
    if (rc == SQLITE_OK) {
      rc = queryOne(db, "PRAGMA main.user_version", &p->userVersion, 0);
    }
    if (rc == SQLITE_OK) {
      rc = queryOne(db, "PRAGMA main.application_id", &p->applicationId, 0);
    }
  }
  if (rc == SQLITE_OK && bFull) {
    rc = queryOne(db, "SELECT count(*) FROM temp.sqlite_master", &p->nTemp, 0);
    if (rc == SQLITE_OK) rc = countAttached(db, &p->nAttached);
  }
  for (i = 0; rc == SQLITE_OK && i < N_CFG; i++) {
    rc = sqlite3_db_config(db, aCfgOp[i], -1, &p->fmt.aCfg[i]);
  }
  for (i = 0; i < N_LIMIT; i++) p->fmt.aLimit[i] = sqlite3_limit(db, i, -1);
  for (i = 1; i < 4; i++) {
    if (sqlite3_stricmp(zEnc, azEnc[i]) == 0) p->fmt.enc = i;
  }
  if (rc == SQLITE_OK && p->fmt.enc == 0) rc = SQLITE_ERROR;
  if (rc) {
    return migSetError(pzErr, rc, "cannot read the database's settings: %s",
                       sqlite3_errmsg(db));
  }
  return SQLITE_OK;
}

/* Give the private connection db the format f (before anything is
** written to it). */
static int fmtApply(sqlite3 *db, const FixFormat *f, char **pzErr) {
  char *zSql;
  int rc, i;
  zSql = sqlite3_mprintf(
      "PRAGMA page_size=%d; PRAGMA auto_vacuum=%d; "
      "PRAGMA encoding='%s'; PRAGMA recursive_triggers=%d; "
      "PRAGMA reverse_unordered_selects=%d; "
      "PRAGMA automatic_index=%d",
      f->pageSize, f->autoVacuum, azEnc[f->enc], f->aFlag[0], f->aFlag[1],
      f->aFlag[2]);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  for (i = 0; rc == SQLITE_OK && i < N_CFG; i++) {
    rc = sqlite3_db_config(db, aCfgOp[i], f->aCfg[i], (int *)0);
  }
  for (i = 0; i < N_LIMIT; i++) sqlite3_limit(db, i, f->aLimit[i]);
  if (rc) {
    return migSetError(pzErr, rc,
                       "cannot configure the private database: "
                       "%s",
                       sqlite3_errmsg(db));
  }
  return SQLITE_OK;
}

/* ======================================================================
** Watching the build: clock reads and random numbers
**
** The private connection is opened on a VFS that forwards everything to
** the default VFS but counts, per thread, how often the current time is
** read: SQLite's date and time functions read it for 'now' only.  It is
** registered while a build runs (a module that can be unloaded must not
** leave a VFS behind), under a name unique to this copy of the module.
*/
static _Thread_local int tlClock = 0;  /* clock reads on this thread */
static _Thread_local int tlRandom = 0; /* random()/randomblob() calls */

static pthread_mutex_t vfsMutex = PTHREAD_MUTEX_INITIALIZER;
static int nVfsUser = 0;
static sqlite3_vfs shimVfs;
static sqlite3_vfs *pRealVfs = 0;
static char zShimName[64];

static int shimTime(sqlite3_vfs *p, double *pOut) {
  (void)p;
  tlClock++;
  return pRealVfs->xCurrentTime(pRealVfs, pOut);
}

static int shimTime64(sqlite3_vfs *p, sqlite3_int64 *pOut) {
  (void)p;
  tlClock++;
  if (pRealVfs->iVersion >= 2 && pRealVfs->xCurrentTimeInt64) {
    return pRealVfs->xCurrentTimeInt64(pRealVfs, pOut);
  }
  {
    double r = 0;
    int rc = pRealVfs->xCurrentTime(pRealVfs, &r);
    *pOut = (sqlite3_int64)(r * 86400000.0);
    return rc;
  }
}

/* Register the counting VFS (reference counted).  Its name in *pzName. */
static int shimAcquire(const char **pzName, char **pzErr) {
  int rc = SQLITE_OK;
  pthread_mutex_lock(&vfsMutex);
  if (nVfsUser == 0) {
    sqlite3_vfs *pReal = sqlite3_vfs_find(0);
    if (pReal == 0) {
      rc = SQLITE_ERROR;
    } else {
      pRealVfs = pReal;
      shimVfs = *pReal; /* xOpen and friends use pAppData, copied too */
      snprintf(zShimName, sizeof(zShimName), "migrate-fixture-%p",
               (void *)&shimVfs);
      shimVfs.zName = zShimName;
      shimVfs.pNext = 0;
      shimVfs.xCurrentTime = shimTime;
      if (shimVfs.iVersion >= 2) shimVfs.xCurrentTimeInt64 = shimTime64;
      rc = sqlite3_vfs_register(&shimVfs, 0);
    }
  }
  if (rc == SQLITE_OK) nVfsUser++;
  pthread_mutex_unlock(&vfsMutex);
  *pzName = zShimName;
  if (rc) {
    return migSetError(pzErr, rc, "cannot register the fixture's VFS: %s",
                       sqlite3_errstr(rc));
  }
  return SQLITE_OK;
}

static void shimRelease(void) {
  pthread_mutex_lock(&vfsMutex);
  if (--nVfsUser == 0) sqlite3_vfs_unregister(&shimVfs);
  pthread_mutex_unlock(&vfsMutex);
}

/* random(): counted, then as SQLite's. */
static void fnRandom(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_int64 r;
  (void)argc;
  (void)argv;
  tlRandom++;
  sqlite3_randomness(sizeof(r), &r);
  if (r < 0) r = -(r & (sqlite3_int64)0x7fffffffffffffffLL);
  sqlite3_result_int64(ctx, r);
}

/* randomblob(N): counted, then as SQLite's. */
static void fnRandomBlob(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_int64 n = sqlite3_value_int64(argv[0]);
  unsigned char *a;
  (void)argc;
  tlRandom++;
  if (n < 1) n = 1;
  if (n >
      sqlite3_limit(sqlite3_context_db_handle(ctx), SQLITE_LIMIT_LENGTH, -1)) {
    sqlite3_result_error_toobig(ctx);
    return;
  }
  a = sqlite3_malloc64((sqlite3_uint64)n);
  if (a == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_randomness((int)n, a);
  sqlite3_result_blob64(ctx, a, (sqlite3_uint64)n, sqlite3_free);
}

/* What the build saw, step by step (migrate_run's progress callback). */
typedef struct FixWatch {
  char *zClock;  /* first revision after which the clock had been read */
  char *zRandom; /* ... random()/randomblob() had been called */
  char *zNoTxn;  /* first "Transaction: none" revision run */
  int rc;        /* SQLITE_NOMEM when a name could not be kept */
} FixWatch;

/* "id (file)" of r, or the old value when already set. */
static void watchName(FixWatch *w, char **pz, const migrate_revision *r) {
  if (*pz) return;
  *pz = sqlite3_mprintf("%s (%s)", r->id, r->file);
  if (*pz == 0) w->rc = SQLITE_NOMEM;
}

static void watchStep(void *pArg, const migrate_revision *r, int isUpgrade,
                      const char *zFrom, const char *zTo, double ms) {
  FixWatch *w = pArg;
  (void)isUpgrade;
  (void)zFrom;
  (void)zTo;
  (void)ms;
  if (tlClock) watchName(w, &w->zClock, r);
  if (tlRandom) watchName(w, &w->zRandom, r);
  if (r->no_transaction) watchName(w, &w->zNoTxn, r);
}

/* ======================================================================
** The cache
*/
enum { FIX_BUILDING, FIX_READY, FIX_REFUSED };

typedef struct FixEntry FixEntry;
struct FixEntry {
  FixEntry *pNext;
  int bEmbedded;       /* key: the embedded bundle ... */
  unsigned char *aKey; /* ... or these bundle bytes (owned) */
  size_t nKey;
  char *zTarget;         /* key: the target as given (owned) */
  FixFormat fmt;         /* key: the destination's format */
  int eState;            /* FIX_* */
  unsigned char *aImage; /* READY: the database's pages (owned) */
  size_t nImage;         /* 0: the empty database (target base) */
  size_t *aStamp;        /* READY: offsets of the log's started_at texts */
  int nStamp;
  int bStampSql;        /* READY: stamp them with UPDATE instead */
  int bNoKeep;          /* READY but without an image: do not cache */
  char *zVersion;       /* READY: migrate_to()'s result, NULL at base */
  char *zNoTxn;         /* READY: a Transaction: none revision ran */
  char *zRefusal;       /* REFUSED: why, worded after the call prefix */
  sqlite3_uint64 iUsed; /* last use, for least-recently-used eviction */
  size_t nBytes;        /* what the entry counts against the limit */
};

static pthread_mutex_t fixMutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fixCond = PTHREAD_COND_INITIALIZER;
static FixEntry *pFixFirst = 0;
static sqlite3_int64 nFixLimit = MIG_FIXTURE_DEFAULT_LIMIT;
static sqlite3_int64 nFixUsed = 0; /* sum of nBytes of linked entries */
static int nFixEntry = 0;
static sqlite3_uint64 iFixTick = 0;

static void entryFree(FixEntry *p) {
  if (p == 0) return;
  sqlite3_free(p->aKey);
  sqlite3_free(p->zTarget);
  sqlite3_free(p->aImage);
  sqlite3_free(p->aStamp);
  sqlite3_free(p->zVersion);
  sqlite3_free(p->zNoTxn);
  sqlite3_free(p->zRefusal);
  sqlite3_free(p);
}

/* Does entry p hold key (a, n, zTarget, f)?  a NULL: the embedded bundle. */
static int entryMatch(const FixEntry *p, const unsigned char *a, size_t n,
                      const char *zTarget, const FixFormat *f) {
  if (p->bEmbedded != (a == 0)) return 0;
  if (a && (p->nKey != n || memcmp(p->aKey, a, n) != 0)) return 0;
  return strcmp(p->zTarget, zTarget) == 0 &&
         memcmp(&p->fmt, f, sizeof(*f)) == 0;
}

/* Unlink p (mutex held); the caller frees it. */
static void entryUnlink(FixEntry *p) {
  FixEntry **pp;
  for (pp = &pFixFirst; *pp; pp = &(*pp)->pNext) {
    if (*pp == p) {
      *pp = p->pNext;
      nFixUsed -= (sqlite3_int64)p->nBytes;
      nFixEntry--;
      return;
    }
  }
}

/* Drop least recently used finished entries until nMore bytes and one
** more entry fit (mutex held).  Entries being built are never dropped. */
static void cacheMakeRoom(sqlite3_int64 nMore) {
  while (nFixUsed + nMore > nFixLimit || nFixEntry >= MIG_FIXTURE_MAX_ENTRIES) {
    FixEntry *p, *pOld = 0;
    for (p = pFixFirst; p; p = p->pNext) {
      if (p->eState == FIX_BUILDING) continue;
      if (pOld == 0 || p->iUsed < pOld->iUsed) pOld = p;
    }
    if (pOld == 0) return;
    entryUnlink(pOld);
    entryFree(pOld);
  }
}

/* Copy database main of pSrc over database main of pDest in one
** transaction (the backup API; an unfinished copy is rolled back).
** SQLITE_OK or the error code, with pDest's message. */
static int backupInto(sqlite3 *pDest, sqlite3 *pSrc) {
  sqlite3_backup *pB = sqlite3_backup_init(pDest, "main", pSrc, "main");
  int rc, rc2;
  if (pB == 0) return sqlite3_errcode(pDest);
  rc = sqlite3_backup_step(pB, -1);
  rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  rc2 = sqlite3_backup_finish(pB);
  return rc ? rc : rc2;
}

/* ======================================================================
** Stamping the log's times
**
** A template's migrate_log rows all hold zMarker as started_at: text of
** the length of "YYYY-MM-DDTHH:MM:SS.mmmZ".  Its byte offsets in the image
** are found once; each copy overwrites them with the time of the copy, so
** no SQL (and no parse of the template's schema) is needed.  When the
** marker is not found exactly once per row (a row spilled to an overflow
** page, or the text occurs elsewhere), the copy stamps with UPDATE.
*/
static const char zMarker[] = "@@migrate_fixture_time@@";
#define STAMP_LEN 24

/* ASCII z[0..STAMP_LEN) as a database of encoding enc stores it, into
** aOut (2*STAMP_LEN bytes); returns the byte length. */
static int stampEncode(const char *z, int enc, unsigned char *aOut) {
  int i;
  if (enc == 1) {
    memcpy(aOut, z, STAMP_LEN);
    return STAMP_LEN;
  }
  for (i = 0; i < STAMP_LEN; i++) {
    aOut[2 * i + (enc == 2 ? 0 : 1)] = (unsigned char)z[i];
    aOut[2 * i + (enc == 2 ? 1 : 0)] = 0;
  }
  return 2 * STAMP_LEN;
}

/* Find the marker's nLog offsets in p's image; sets p->aStamp/nStamp, or
** p->bStampSql when they are not exactly nLog.  SQLITE_NOMEM or OK. */
static int stampFind(FixEntry *p, int nLog) {
  unsigned char aPat[2 * STAMP_LEN];
  int nPat = stampEncode(zMarker, p->fmt.enc, aPat), n = 0;
  int k = aPat[0] ? 0 : 1; /* a byte of the pattern that is not 0 */
  size_t i;
  p->aStamp = sqlite3_malloc64(sizeof(size_t) * (size_t)(nLog ? nLog : 1));
  if (p->aStamp == 0) return SQLITE_NOMEM;
  for (i = 0; i + (size_t)nPat <= p->nImage; i++) {
    /* memchr for that byte: the image is mostly other bytes */
    const unsigned char *pHit =
        memchr(p->aImage + i + k, aPat[k], p->nImage - i - (size_t)nPat + 1);
    if (pHit == 0) break;
    i = (size_t)(pHit - p->aImage) - (size_t)k;
    if (memcmp(p->aImage + i, aPat, (size_t)nPat) != 0) continue;
    if (n == nLog) {
      n = -1;
      break;
    }
    p->aStamp[n++] = i;
    i += (size_t)nPat - 1;
  }
  if (n != nLog) {
    sqlite3_free(p->aStamp);
    p->aStamp = 0;
    p->bStampSql = 1;
    return SQLITE_OK;
  }
  p->nStamp = nLog;
  return SQLITE_OK;
}

/* ======================================================================
** Building a template
*/

/* Build zTarget of bundle (a, n) (a NULL: embedded) for format p->fmt on
** a private connection and fill p's image, version and messages; *peState
** says READY or REFUSED (p->eState is the cache's, set under its mutex).
** When pDest is not NULL and the template is READY and may go there
** (bFileDest: pDest is a database file), the private database is also
** copied straight into pDest, with the times the build logged, and
** *pbCopied set.  An error code with *pzErr set when the scripts fail
** (nothing is cached then). */
static int buildTemplate(FixEntry *p, const unsigned char *a, size_t n,
                         const char *zTarget, sqlite3 *pDest, int bFileDest,
                         int *pbCopied, int *peState, char **pzErr) {
  migrate_bundle *b = 0;
  int bOwned = 0;
  sqlite3 *pDb = 0;
  const char *zVfs = 0;
  FixWatch w;
  FixDest after;
  char *zMsg = 0;
  int rc;
  int clock0 = tlClock, random0 = tlRandom;
  memset(&w, 0, sizeof(w));

  if (a) {
    rc = migrate_bundle_open_blob(a, n, &b, pzErr);
    bOwned = rc == SQLITE_OK;
  } else {
    rc = migrate_bundle_embedded(&b, pzErr);
  }
  if (rc) return rc;
  rc = shimAcquire(&zVfs, pzErr);
  if (rc) goto done_novfs;
  rc = sqlite3_open_v2(":memory:", &pDb,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, zVfs);
  if (rc) {
    migSetError(pzErr, rc, "cannot open the private in-memory database: %s",
                pDb ? sqlite3_errmsg(pDb) : sqlite3_errstr(rc));
    goto done;
  }
  rc = fmtApply(pDb, &p->fmt, pzErr);
  if (rc) goto done;
  /* what a revision may call (migrate_rebuild()), as on every scratch
  ** database */
  rc = migScratchRegister(pDb, &zMsg);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function(pDb, "random", 0, SQLITE_UTF8, 0, fnRandom, 0,
                                 0);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function(pDb, "randomblob", 1, SQLITE_UTF8, 0,
                                 fnRandomBlob, 0, 0);
  }
  if (rc) {
    migSetError(pzErr, rc,
                "cannot register the engine on the private "
                "database: %s",
                zMsg ? zMsg : sqlite3_errmsg(pDb));
    goto done;
  }
  {
    migrate_options o;
    memset(&o, 0, sizeof(o));
    o.mode = MIGRATE_AUTO;
    o.zFunc = "migrate_fixture";
    o.xProgress = watchStep;
    o.pProgressArg = &w;
    tlClock = 0;
    tlRandom = 0;
    rc = migrate_run(pDb, b, zTarget, &o, &p->zVersion, pzErr);
  }
  if (rc == SQLITE_OK) rc = w.rc;
  if (rc) goto done;
  rc = destRead(pDb, &after, 1, pzErr);
  if (rc) goto done;

  /* -- what a copy could not carry ----------------------------------- */
  if (w.zClock || w.zRandom) {
    p->zRefusal = sqlite3_mprintf(
        "revision %s %s, so a copy would not be the database migrate_to() "
        "builds. Use migrate_to('%s'). Nothing was changed",
        w.zClock ? w.zClock : w.zRandom,
        w.zClock ? "reads the clock (a date or time function with 'now', "
                   "or CURRENT_TIMESTAMP)"
                 : "calls random() or randomblob()",
        zTarget);
  } else if (after.nTemp > 0 || after.nAttached > 0) {
    p->zRefusal = sqlite3_mprintf(
        "the revisions leave %s on the connection, which a copy of the "
        "database does not carry. Use migrate_to('%s'). Nothing was changed",
        after.nTemp > 0 ? "TEMP objects" : "an attached database", zTarget);
  } else if (memcmp((char *)&after.fmt + FMT_CONN_OFFSET,
                    (char *)&p->fmt + FMT_CONN_OFFSET,
                    sizeof(FixFormat) - FMT_CONN_OFFSET) != 0) {
    p->zRefusal = sqlite3_mprintf(
        "the revisions change a setting of the connection (a PRAGMA such as "
        "reverse_unordered_selects), which a copy of the database does not "
        "carry. "
        "Use migrate_to('%s'). Nothing was changed",
        zTarget);
  }
  if (p->zRefusal) {
    *peState = FIX_REFUSED;
    goto done;
  }
  if (pDest && !(w.zNoTxn && bFileDest)) {
    /* this call's copy: straight from the private database */
    rc = backupInto(pDest, pDb);
    if (rc) {
      migSetError(pzErr, rc,
                  "cannot copy the template into the database: "
                  "%s",
                  sqlite3_errmsg(pDest));
      goto done;
    }
    *pbCopied = 1;
  }
  if (after.nObject > 0 || after.userVersion || after.applicationId ||
      p->zVersion) {
    sqlite3_int64 nSer = 0;
    unsigned char *aSer;
    int bLog = 0, nLog = 0;
    char *zSql = 0;
    rc = migTableExists(pDb, "migrate_log", &bLog);
    if (rc == SQLITE_OK && bLog) {
      zSql = sqlite3_mprintf("UPDATE main.migrate_log SET started_at = '%s'",
                             zMarker);
      rc = zSql ? sqlite3_exec(pDb, zSql, 0, 0, 0) : SQLITE_NOMEM;
      sqlite3_free(zSql);
      if (rc == SQLITE_OK) nLog = sqlite3_changes(pDb); /* every row */
    }
    if (rc) {
      migSetError(pzErr, rc, "cannot mark the template's log: %s",
                  sqlite3_errmsg(pDb));
      goto done;
    }
    aSer = migSerialize(pDb, "main", &nSer, 0);
    if (aSer == 0) {
      rc = SQLITE_NOMEM;
      goto done;
    }
    p->aImage = aSer;
    p->nImage = (size_t)nSer;
    if (bLog) rc = stampFind(p, nLog);
    if (rc) goto done;
  }
keep:
  p->zNoTxn = w.zNoTxn;
  w.zNoTxn = 0;
  *peState = FIX_READY;

done:
  if (rc && *pbCopied && *peState == FIX_BUILDING) {
    /* the destination has its copy already: this call succeeds, and the
    ** template that could not be kept is not cached */
    sqlite3_free(p->aImage);
    sqlite3_free(p->aStamp);
    p->aImage = 0;
    p->aStamp = 0;
    p->nImage = 0;
    p->nStamp = 0;
    p->bNoKeep = 1;
    sqlite3_free(*pzErr);
    *pzErr = 0;
    rc = SQLITE_OK;
    goto keep;
  }
  if (pDb && sqlite3_close(pDb) != SQLITE_OK && rc == SQLITE_OK) {
    rc = migSetError(pzErr, SQLITE_ERROR, "cannot close the private database");
  }
  shimRelease();
done_novfs:
  if (rc == SQLITE_NOMEM) migSetError(pzErr, rc, "out of memory");
  if (bOwned) migrate_bundle_free(b);
  sqlite3_free(zMsg);
  sqlite3_free(w.zClock);
  sqlite3_free(w.zRandom);
  sqlite3_free(w.zNoTxn);
  tlClock = clock0;
  tlRandom = random0;
  return rc;
}

/* ======================================================================
** Copying a template in
*/

/* Copy image a[0..n) (a copy of p's, sqlite3_malloc'd; ownership taken)
** into database main of db, with migrate_log's started_at stamped now, in
** one transaction.  On failure *pzErr says which step failed. */
static int copyIn(sqlite3 *db, const FixEntry *p, unsigned char *a, size_t n,
                  char **pzErr) {
  sqlite3 *pTmp = 0;
  sqlite3 *pErrDb = 0; /* whose message explains a failure */
  const char *zWhat = "open a scratch database";
  char zNow[32] = "";
  int rc, i, iDummy;
  rc = sqlite3_open_v2(":memory:", &pTmp,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
  pErrDb = pTmp;
  if (rc == SQLITE_OK && p->nStamp) {
    /* the format migrate_to() writes (and migrate_sql() renders) */
    zWhat = "read the clock";
    rc = queryOne(pTmp, "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", &iDummy,
                  zNow);
    if (rc == SQLITE_OK && strlen(zNow) != STAMP_LEN) rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && p->nStamp) {
    unsigned char aNow[2 * STAMP_LEN];
    int nNow = stampEncode(zNow, p->fmt.enc, aNow);
    for (i = 0; i < p->nStamp; i++) memcpy(a + p->aStamp[i], aNow, nNow);
  }
  if (rc == SQLITE_OK) {
    zWhat = "load the template";
    /* SQLite frees a from here on, even when this fails */
    rc = migDeserialize(
        pTmp, "main", a, (sqlite3_int64)n, (sqlite3_int64)n,
        SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    a = 0;
  }
  if (rc == SQLITE_OK && p->bStampSql) {
    zWhat = "stamp the log's times";
    rc = sqlite3_exec(pTmp,
                      "UPDATE main.migrate_log SET started_at = "
                      "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                      0, 0, 0);
  }
  if (rc == SQLITE_OK) {
    zWhat = "copy the template into the database";
    pErrDb = db;
    rc = backupInto(db, pTmp);
  }
  if (rc) {
    migSetError(pzErr, rc, "cannot %s: %s", zWhat,
                pErrDb ? sqlite3_errmsg(pErrDb) : sqlite3_errstr(rc));
  }
  sqlite3_free(a);
  sqlite3_close(pTmp);
  return rc;
}

/* ======================================================================
** The call
*/

/* The template path: see internal.h. */
int migFixture(sqlite3 *db, const void *aBundle, size_t nBundle,
               const char *zTarget, int nCallerStmt, char **pzVersion,
               char **pzErr) {
  const unsigned char *aKey = aBundle;
  FixDest d;
  FixEntry *p = 0, *pMine = 0;
  unsigned char *aCopy = 0;
  size_t nCopy = 0;
  FixEntry stamp; /* what copyIn() needs of the entry, copied */
  int rc, eBuilt = FIX_BUILDING;
  int bCopied = 0; /* the build copied its database in already */
  const char *zFile = sqlite3_db_filename(db, "main");
  int bFileDest = zFile && zFile[0];
  memset(&stamp, 0, sizeof(stamp));
  *pzVersion = 0;
  if (zTarget == 0) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "migrate_fixture(): target is NULL; give head, heads, "
                       "base, a revision, +N or -N");
  }
  if (aKey && nBundle == 0) aKey = (const unsigned char *)"";
  if (!migCanSerialize()) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "migrate_fixture('%s'): this SQLite (%s) does not "
                       "offer sqlite3_serialize() to this build (a loadable "
                       "module needs SQLite 3.39 or newer); use "
                       "migrate_to('%s'). Nothing was changed",
                       zTarget, sqlite3_libversion(), zTarget);
  }
  {
    char *zWho = sqlite3_mprintf("migrate_fixture('%s')", zTarget);
    rc = zWho ? migCheckIdle(db, nCallerStmt, zWho, pzErr) : SQLITE_NOMEM;
    sqlite3_free(zWho);
  }
  if (rc) return rc;
  if (!sqlite3_get_autocommit(db)) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "migrate_fixture('%s'): called inside a transaction; "
                       "a fixture replaces the whole database, which cannot "
                       "be done inside one. COMMIT first, or use "
                       "migrate_to('%s'). Nothing was changed",
                       zTarget, zTarget);
  }
  rc = destRead(db, &d, 0, pzErr);
  if (rc) {
    char *z = sqlite3_mprintf("migrate_fixture('%s'): %s", zTarget, *pzErr);
    if (z) {
      sqlite3_free(*pzErr);
      *pzErr = z;
    }
    return rc;
  }
  if (d.nObject || d.userVersion || d.applicationId) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "migrate_fixture('%s'): the database is not empty (%d "
                       "schema objects, user_version %d, application_id %d); "
                       "a fixture is copied only into a new, empty database. "
                       "Use migrate_to('%s') to migrate this one. Nothing "
                       "was changed",
                       zTarget, d.nObject, d.userVersion, d.applicationId,
                       zTarget);
  }

  /* -- find or build the template ------------------------------------- */
  pthread_mutex_lock(&fixMutex);
  for (;;) {
    for (p = pFixFirst; p; p = p->pNext) {
      if (entryMatch(p, aKey, nBundle, zTarget, &d.fmt)) break;
    }
    if (p == 0 || p->eState != FIX_BUILDING) break;
    pthread_cond_wait(&fixCond, &fixMutex);
  }
  if (p == 0) {
    /* this call builds it; others with the same key wait */
    pMine = sqlite3_malloc64(sizeof(*pMine));
    if (pMine) {
      memset(pMine, 0, sizeof(*pMine));
      pMine->bEmbedded = aKey == 0;
      pMine->fmt = d.fmt;
      pMine->zTarget = sqlite3_mprintf("%s", zTarget);
      if (aKey) {
        pMine->nKey = nBundle;
        pMine->aKey = sqlite3_malloc64(nBundle ? nBundle : 1);
        if (pMine->aKey) memcpy(pMine->aKey, aKey, nBundle);
      }
    }
    if (pMine == 0 || pMine->zTarget == 0 || (aKey && pMine->aKey == 0)) {
      pthread_mutex_unlock(&fixMutex);
      entryFree(pMine);
      return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
    }
    pMine->eState = FIX_BUILDING;
    pMine->pNext = pFixFirst;
    pFixFirst = pMine;
    nFixEntry++;
    pthread_mutex_unlock(&fixMutex);

    rc = buildTemplate(pMine, aKey, nBundle, zTarget, db, bFileDest, &bCopied,
                       &eBuilt, pzErr);

    pthread_mutex_lock(&fixMutex);
    entryUnlink(pMine);
    if (rc == SQLITE_OK) {
      pMine->eState = eBuilt;
      pMine->nBytes = sizeof(*pMine) + pMine->nKey + pMine->nImage +
                      sizeof(size_t) * (size_t)pMine->nStamp +
                      strlen(pMine->zTarget) +
                      (pMine->zRefusal ? strlen(pMine->zRefusal) : 0);
      if ((sqlite3_int64)pMine->nBytes <= nFixLimit && !pMine->bNoKeep) {
        cacheMakeRoom((sqlite3_int64)pMine->nBytes);
        pMine->pNext = pFixFirst;
        pFixFirst = pMine;
        nFixUsed += (sqlite3_int64)pMine->nBytes;
        nFixEntry++;
        p = pMine;
        pMine = 0; /* the cache owns it */
      } else {
        p = pMine; /* too large to keep: used for this call only */
      }
    }
    pthread_cond_broadcast(&fixCond);
    if (rc) {
      pthread_mutex_unlock(&fixMutex);
      entryFree(pMine);
      if (rc == SQLITE_NOMEM) {
        migSetError(pzErr, rc, "migrate_fixture('%s'): out of memory", zTarget);
      } else if (*pzErr && strncmp(*pzErr, "migrate_fixture(", 16) != 0) {
        char *z = sqlite3_mprintf("migrate_fixture('%s'): %s", zTarget, *pzErr);
        if (z) {
          sqlite3_free(*pzErr);
          *pzErr = z;
        }
      }
      return rc;
    }
  }

  /* -- under the mutex: what this call needs from the entry ------------ */
  p->iUsed = ++iFixTick;
  if (p->eState == FIX_REFUSED) {
    rc = migSetError(pzErr, SQLITE_ERROR, "migrate_fixture('%s'): %s", zTarget,
                     p->zRefusal);
  } else {
    if (p->zNoTxn && bFileDest) {
      rc = migSetError(pzErr, SQLITE_ERROR,
                       "migrate_fixture('%s'): revision %s is marked "
                       "'Transaction: none': it may change the database file "
                       "itself (PRAGMA journal_mode), which a copy does not "
                       "carry, so its fixture is copied only into an "
                       "in-memory or temporary database (':memory:' or ''). "
                       "Use migrate_to('%s') on this file. Nothing was "
                       "changed",
                       zTarget, p->zNoTxn, zTarget);
    } else {
      nCopy = bCopied ? 0 : p->nImage;
      stamp.fmt = p->fmt;
      stamp.bStampSql = p->bStampSql;
      stamp.nStamp = p->nStamp;
      if (nCopy) {
        aCopy = sqlite3_malloc64(nCopy);
        if (aCopy) memcpy(aCopy, p->aImage, nCopy);
      }
      if (nCopy && p->nStamp) {
        stamp.aStamp = sqlite3_malloc64(sizeof(size_t) * (size_t)p->nStamp);
        if (stamp.aStamp) {
          memcpy(stamp.aStamp, p->aStamp, sizeof(size_t) * (size_t)p->nStamp);
        } else {
          rc = SQLITE_NOMEM;
        }
      }
      *pzVersion = p->zVersion ? sqlite3_mprintf("%s", p->zVersion) : 0;
      if ((nCopy && aCopy == 0) || (p->zVersion && *pzVersion == 0)) {
        rc = SQLITE_NOMEM;
      }
    }
  }
  pthread_mutex_unlock(&fixMutex);
  entryFree(pMine);

  /* -- the copy, outside the mutex -------------------------------------- */
  if (rc == SQLITE_OK && nCopy) {
    rc = copyIn(db, &stamp, aCopy, nCopy, pzErr);
    aCopy = 0;
    if (rc && rc != SQLITE_NOMEM) {
      char *z = sqlite3_mprintf(
          "migrate_fixture('%s'): %s. Nothing was "
          "changed",
          zTarget, *pzErr ? *pzErr : "?");
      if (z) {
        sqlite3_free(*pzErr);
        *pzErr = z;
      }
    }
  }
  sqlite3_free(aCopy);
  sqlite3_free(stamp.aStamp);
  if (rc) {
    sqlite3_free(*pzVersion);
    *pzVersion = 0;
    if (rc == SQLITE_NOMEM) {
      migSetError(pzErr, rc, "migrate_fixture('%s'): out of memory", zTarget);
    }
  }
  return rc;
}

int migrate_fixture(sqlite3 *db, const void *aBundle, size_t nBundle,
                    const char *zTarget, char **pzVersion, char **pzErr) {
  char *zVer = 0;
  int rc = migFixture(db, aBundle, nBundle, zTarget, 0, &zVer, pzErr);
  if (pzVersion) {
    *pzVersion = zVer;
  } else {
    sqlite3_free(zVer);
  }
  return rc;
}

sqlite3_int64 migrate_fixture_limit(sqlite3_int64 nBytes) {
  sqlite3_int64 nOld;
  pthread_mutex_lock(&fixMutex);
  nOld = nFixLimit;
  if (nBytes >= 0) {
    nFixLimit = nBytes;
    cacheMakeRoom(0);
  }
  pthread_mutex_unlock(&fixMutex);
  return nOld;
}

/* Free every finished entry (mutex held or at unload). */
static void cacheClear(void) {
  FixEntry **pp = &pFixFirst;
  while (*pp) {
    FixEntry *p = *pp;
    if (p->eState == FIX_BUILDING) {
      pp = &p->pNext;
      continue;
    }
    *pp = p->pNext;
    nFixUsed -= (sqlite3_int64)p->nBytes;
    nFixEntry--;
    entryFree(p);
  }
}

void migrate_fixture_clear(void) {
  pthread_mutex_lock(&fixMutex);
  cacheClear();
  pthread_mutex_unlock(&fixMutex);
}

#if defined(__GNUC__) || defined(__clang__)
/* When the module is unloaded or the process exits (see above). */
__attribute__((destructor)) static void fixtureUnload(void) {
  cacheClear();
}
#endif
