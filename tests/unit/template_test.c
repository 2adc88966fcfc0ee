/*
** template_test.c — migrate_fixture()'s cache (ext/template.c) under
** threads: several threads copy fixtures of two bundle keys (the embedded
** bundle, and the same bundle's bytes) at two targets into their own
** ":memory:" databases while another thread keeps shrinking the cache,
** clearing it and restoring its bound, so templates are built, waited for,
** evicted and rebuilt concurrently.  Every fixture must equal what
** migrate_run() gives on a fresh database (schema, version, log without
** times, stored scripts, seeded rows); migrate_run() from threads on the
** shared embedded bundle gives it too.  Also: an image larger than the
** bound is used and not kept, and the C API's refusal of a non-empty
** database with its exact message.
*/
#include "unit.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define N_THREAD 6
#define N_ITER   25

/* Everything the two paths must agree on, as one string (caller frees). */
static char *fingerprint(sqlite3 *db) {
  static const char zSql[] =
      "SELECT (SELECT group_concat(x, '|') FROM (SELECT type || ':' || name "
      "|| ':' || ifnull(sql, '') AS x FROM sqlite_master ORDER BY name))"
      " || '#' || (SELECT group_concat(version_num) FROM migrate_version)"
      " || '#' || (SELECT group_concat(x, '|') FROM (SELECT revision || "
      "direction || ifnull(version_before, '') || ifnull(version_after, '') "
      "|| ifnull(checksum, '') AS x FROM migrate_log ORDER BY id))"
      " || '#' || (SELECT group_concat(x, '|') FROM (SELECT revision || file "
      "|| parents || depends_on || message || checksum || "
      "ifnull(downgrade_sql, '') || transaction_none AS x FROM "
      "migrate_scripts ORDER BY revision))"
      " || '#' || (SELECT count(*) FROM migrate_log WHERE started_at "
      "GLOB '2[0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T*Z')"
      " || '#' || (SELECT ifnull(group_concat(x, '|'), '') FROM (SELECT "
      "user_id || preference_key || preference_value AS x FROM "
      "user_preferences ORDER BY 1))";
  sqlite3_stmt *st = 0;
  char *z = 0;
  if (sqlite3_prepare_v2(db, zSql, -1, &st, 0) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    z = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return z;
}

static sqlite3 *openMem(void) {
  sqlite3 *db = 0;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
    fprintf(stderr, "cannot open :memory:\n");
    exit(2);
  }
  return db;
}

/* migrate_run() on a fresh database: the fingerprint to match. */
static char *slowPath(const char *zTarget) {
  sqlite3 *db = openMem();
  migrate_bundle *b = 0;
  char *zErr = 0, *z = 0;
  if (migrate_bundle_embedded(&b, &zErr) == SQLITE_OK &&
      migrate_run(db, b, zTarget, 0, 0, &zErr) == SQLITE_OK) {
    z = fingerprint(db);
  }
  if (zErr) printf("slow path: %s\n", zErr);
  sqlite3_free(zErr);
  sqlite3_close(db);
  return z;
}

static const char *azTarget[2] = {"head", "4e92a7c0b6d1"};
static const char *azVersion[2] = {"f05c3b8d2e76", "4e92a7c0b6d1"};
static char *azWant[2];

typedef struct Worker {
  int iThread;
  int nBad;
  char *zFirstBad; /* first mismatch or error (sqlite3_malloc'd) */
} Worker;

static void *worker(void *pArg) {
  Worker *w = pArg;
  int i;
  for (i = 0; i < N_ITER; i++) {
    int t = (i + w->iThread) % 2;
    int bBytes = (i / 2 + w->iThread) % 2;
    sqlite3 *db = openMem();
    char *zErr = 0, *zVer = 0, *zGot = 0;
    int rc = migrate_fixture(db, bBytes ? migrate_embedded_data : 0,
                             bBytes ? migrate_embedded_size : 0, azTarget[t],
                             &zVer, &zErr);
    if (rc == SQLITE_OK) zGot = fingerprint(db);
    if (rc != SQLITE_OK || zGot == 0 || strcmp(zGot, azWant[t]) != 0 ||
        zVer == 0 || strcmp(zVer, azVersion[t]) != 0) {
      w->nBad++;
      if (w->zFirstBad == 0) {
        w->zFirstBad = sqlite3_mprintf("rc %d %s: %s", rc, zErr ? zErr : "",
                                       zGot ? zGot : "(none)");
      }
    }
    sqlite3_free(zGot);
    sqlite3_free(zVer);
    sqlite3_free(zErr);
    sqlite3_close(db);
  }
  return 0;
}

/* migrate_run() itself from several threads on the shared embedded
** bundle: its statement check once NUL-terminated the shared script text
** in place, so a concurrent run saw "incomplete input". */
static void *slowWorker(void *pArg) {
  Worker *w = pArg;
  int i;
  for (i = 0; i < N_ITER; i++) {
    sqlite3 *db = openMem();
    migrate_bundle *b = 0;
    char *zErr = 0, *zGot = 0;
    int rc = migrate_bundle_embedded(&b, &zErr);
    if (rc == SQLITE_OK) rc = migrate_run(db, b, "head", 0, 0, &zErr);
    if (rc == SQLITE_OK) zGot = fingerprint(db);
    if (rc != SQLITE_OK || zGot == 0 || strcmp(zGot, azWant[0]) != 0) {
      w->nBad++;
      if (w->zFirstBad == 0) {
        w->zFirstBad = sqlite3_mprintf("rc %d %s", rc, zErr ? zErr : "");
      }
    }
    sqlite3_free(zGot);
    sqlite3_free(zErr);
    sqlite3_close(db);
  }
  return 0;
}

static atomic_int bStop = 0;

/* Keeps the cache moving: tiny bound (nothing kept), cleared, restored. */
static void *churner(void *pArg) {
  sqlite3_int64 nOrig = *(sqlite3_int64 *)pArg;
  int i = 0;
  while (!atomic_load(&bStop)) {
    switch (i++ % 3) {
      case 0:
        migrate_fixture_limit(1);
        break;
      case 1:
        migrate_fixture_clear();
        break;
      default:
        migrate_fixture_limit(nOrig);
        break;
    }
    sched_yield();
  }
  migrate_fixture_limit(nOrig);
  return 0;
}

void ut_template_tests(void) {
  pthread_t aT[N_THREAD], churn;
  Worker aW[N_THREAD];
  sqlite3_int64 nOrig;
  int i, nBad = 0;

  if (!migCanSerialize()) {
    /* a static build against SQLite before 3.36: refused, nothing changed */
    sqlite3 *db = openMem();
    char *zVer = 0, *zErr = 0, *zWant;
    TEST("fixture: refused without sqlite3_serialize()");
    CHECK_INT(migrate_fixture(db, 0, 0, "head", &zVer, &zErr), SQLITE_ERROR);
    zWant = sqlite3_mprintf(
        "migrate_fixture('head'): this SQLite (%s) does not offer "
        "sqlite3_serialize() to this build (a loadable module needs SQLite "
        "3.39 or newer); use migrate_to('head'). Nothing was changed",
        sqlite3_libversion());
    CHECK_STR(zErr, zWant);
    sqlite3_free(zWant);
    sqlite3_free(zErr);
    sqlite3_free(zVer);
    sqlite3_close(db);
    return;
  }

  TEST("fixture: the slow path's fingerprints");
  azWant[0] = slowPath(azTarget[0]);
  azWant[1] = slowPath(azTarget[1]);
  CHECK(azWant[0] != 0 && azWant[1] != 0);
  if (azWant[0] == 0 || azWant[1] == 0) return;
  CHECK(strcmp(azWant[0], azWant[1]) != 0);
  /* 12 log rows at head, each with a time stamp */
  CHECK(strstr(azWant[0], "#12#__system__") != 0);

  TEST("fixture: migrate_run() from threads on the embedded bundle");
  memset(aW, 0, sizeof(aW));
  for (i = 0; i < N_THREAD; i++) {
    aW[i].iThread = i;
    pthread_create(&aT[i], 0, slowWorker, &aW[i]);
  }
  for (i = 0; i < N_THREAD; i++) {
    pthread_join(aT[i], 0);
    nBad += aW[i].nBad;
    if (aW[i].zFirstBad) printf("thread %d: %s\n", i, aW[i].zFirstBad);
    sqlite3_free(aW[i].zFirstBad);
  }
  CHECK_INT(nBad, 0);
  nBad = 0;

  TEST("fixture: threads, with evictions and rebuilds");
  nOrig = migrate_fixture_limit(-1);
  CHECK(nOrig == ((sqlite3_int64)256 << 20));
  memset(aW, 0, sizeof(aW));
  atomic_store(&bStop, 0);
  pthread_create(&churn, 0, churner, &nOrig);
  for (i = 0; i < N_THREAD; i++) {
    aW[i].iThread = i;
    pthread_create(&aT[i], 0, worker, &aW[i]);
  }
  for (i = 0; i < N_THREAD; i++) {
    pthread_join(aT[i], 0);
    nBad += aW[i].nBad;
    if (aW[i].zFirstBad) printf("thread %d: %s\n", i, aW[i].zFirstBad);
    sqlite3_free(aW[i].zFirstBad);
  }
  atomic_store(&bStop, 1);
  pthread_join(churn, 0);
  CHECK_INT(nBad, 0);
  CHECK_INT(migrate_fixture_limit(-1), nOrig);

  TEST("fixture: an image larger than the bound is used, not kept");
  {
    sqlite3 *db = openMem();
    char *zErr = 0, *zVer = 0, *z;
    migrate_fixture_clear();
    migrate_fixture_limit(1000);
    CHECK_INT(migrate_fixture(db, 0, 0, "head", &zVer, &zErr), SQLITE_OK);
    CHECK_STR(zVer, "f05c3b8d2e76");
    z = fingerprint(db);
    CHECK_STR(z, azWant[0]);
    sqlite3_free(z);
    sqlite3_free(zVer);
    sqlite3_free(zErr);
    migrate_fixture_limit(nOrig);

    TEST("fixture: the C API refuses a database that is not empty");
    zErr = 0;
    zVer = 0;
    CHECK_INT(migrate_fixture(db, 0, 0, "head", &zVer, &zErr), SQLITE_MISUSE);
    CHECK_STR(zErr,
              "migrate_fixture('head'): the database is not empty (31 schema "
              "objects, user_version 0, application_id 0); a fixture is "
              "copied only into a new, empty database. Use "
              "migrate_to('head') to migrate this one. Nothing was changed");
    CHECK(zVer == 0);
    sqlite3_free(zErr);
    sqlite3_close(db);
  }
  migrate_fixture_clear();
  sqlite3_free(azWant[0]);
  sqlite3_free(azWant[1]);
}
