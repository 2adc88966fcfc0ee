/*
** fixture.c — in-process benchmark of test fixtures (issue #16).
**
**     fixture [-r ROUNDS] [-k LATER] [-m MODE -c COUNT] BUNDLE_FILE
**
** The cost of "a fresh :memory: database at head", per call, four ways:
**
**     raw     sqlite3_exec() of every upgrade section in history order, in
**             one transaction (a "Transaction: none" revision outside it):
**             the limit for running the scripts
**     to      migrate_bundle_open_blob() + migrate_run(db, b, "head"): what
**             SELECT migrate_to('head', <bundle>) costs on a new connection
**     held    migrate_run(db, b, "head") with one bundle opened once for the
**             process: what SELECT migrate_to('head') costs with the
**             embedded bundle (decoded once per process) on a new
**             connection
**     first   migrate_fixture() with an empty cache: builds the template
**     later   migrate_fixture() with the template cached (K calls a round)
**
** Each call gets a new ":memory:" connection (opened and closed untimed).
** Prints one line of key=value pairs: best and median of each (ms), the
** rounds, and the template's size.  With -m MODE -c COUNT it runs only
** MODE (raw, to, held, first, later) COUNT times and prints nothing: for
** instruction counts, run it under callgrind with two counts and take the
** difference.  Links against build/libsqlitemigrate.a.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *zWhat, const char *zMsg) {
  fprintf(stderr, "fixture: %s: %s\n", zWhat, zMsg ? zMsg : "?");
  exit(2);
}

static unsigned char *readFile(const char *zPath, size_t *pn) {
  FILE *f = fopen(zPath, "rb");
  unsigned char *a;
  long n;
  if (f == 0 || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    die(zPath, "cannot read");
  }
  a = malloc((size_t)n + 1);
  if (a == 0 || fread(a, 1, (size_t)n, f) != (size_t)n) die(zPath, "read");
  fclose(f);
  *pn = (size_t)n;
  return a;
}

/* The raw script: every upgrade section in history order. */
static char *rawScript(migrate_bundle *b) {
  MigStr s = {0};
  char *zErr = 0;
  int i;
  if (migrate_bundle_load(b, -1, &zErr)) die("load", zErr);
  migStrAppendZ(&s, "BEGIN;\n");
  for (i = 0; i < migrate_bundle_count(b); i++) {
    const migrate_revision *r =
        migrate_bundle_revision(b, migrate_bundle_order(b, i));
    if (r->no_transaction) migStrAppendZ(&s, "COMMIT;\n");
    migStrAppendZ(&s, r->upgrade);
    migStrAppendZ(&s, "\n");
    if (r->no_transaction) migStrAppendZ(&s, "BEGIN;\n");
  }
  migStrAppendZ(&s, "COMMIT;\n");
  return migStrFinish(&s);
}

static const unsigned char *aBundle;
static size_t nBundle;
static char *zRaw;

static sqlite3 *openMem(void) {
  sqlite3 *db = 0;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) die("open", ":memory:");
  return db;
}

/* One call of MODE on a new :memory: database; returns its ms. */
static double once(const char *zMode) {
  sqlite3 *db = openMem();
  char *zErr = 0;
  double t0 = nowMs(), t;
  int rc;
  if (strcmp(zMode, "raw") == 0) {
    rc = sqlite3_exec(db, zRaw, 0, 0, &zErr);
  } else if (strcmp(zMode, "held") == 0) {
    static migrate_bundle *pHeld = 0;
    rc = pHeld ? SQLITE_OK
               : migrate_bundle_open_blob(aBundle, nBundle, &pHeld, &zErr);
    if (rc == SQLITE_OK) rc = migrate_run(db, pHeld, "head", 0, 0, &zErr);
  } else if (strcmp(zMode, "to") == 0) {
    migrate_bundle *b = 0;
    rc = migrate_bundle_open_blob(aBundle, nBundle, &b, &zErr);
    if (rc == SQLITE_OK) rc = migrate_run(db, b, "head", 0, 0, &zErr);
    migrate_bundle_free(b);
  } else {
    if (strcmp(zMode, "first") == 0) {
      migrate_fixture_clear();
      t0 = nowMs();
    }
    rc = migrate_fixture(db, aBundle, nBundle, "head", 0, &zErr);
  }
  t = nowMs() - t0;
  if (rc) die(zMode, zErr);
  sqlite3_close(db);
  return t;
}

static int cmpDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  static const char *azMode[5] = {"raw", "to", "first", "later", "held"};
  int nRound = 5, nLater = 10, nCount = 0, i, j, k;
  const char *zOnly = 0;
  double *aT[5];
  migrate_bundle *b = 0;
  char *zErr = 0;
  for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (strcmp(argv[i], "-r") == 0)
      nRound = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "-k") == 0)
      nLater = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "-m") == 0)
      zOnly = argv[i + 1];
    else if (strcmp(argv[i], "-c") == 0)
      nCount = atoi(argv[i + 1]);
    else
      break;
  }
  if (i != argc - 1 || nRound < 1 || nLater < 1) {
    fprintf(stderr,
            "usage: fixture [-r ROUNDS] [-k LATER] [-m MODE -c "
            "COUNT] BUNDLE_FILE\n");
    return 2;
  }
  aBundle = readFile(argv[i], &nBundle);
  if (migrate_bundle_open_blob(aBundle, nBundle, &b, &zErr)) {
    die(argv[i], zErr);
  }
  zRaw = rawScript(b);
  migrate_bundle_free(b);
  if (zRaw == 0) die("raw script", "out of memory");
  if (zOnly) {
    if (strcmp(zOnly, "later") == 0) once("first");
    for (k = 0; k < nCount; k++) once(zOnly);
    return 0;
  }
  for (j = 0; j < 5; j++) {
    aT[j] = malloc(sizeof(double) * (size_t)nRound * (size_t)nLater);
    if (aT[j] == 0) die("malloc", "out of memory");
  }
  once("held"); /* opens the held bundle: later "held" calls reuse it */
  for (i = 0; i < nRound; i++) {
    aT[0][i] = once("raw");
    aT[1][i] = once("to");
    aT[2][i] = once("first");
    for (k = 0; k < nLater; k++) aT[3][i * nLater + k] = once("later");
    aT[4][i] = once("held");
  }
  for (j = 0; j < 5; j++) {
    int n = j == 3 ? nRound * nLater : nRound;
    qsort(aT[j], (size_t)n, sizeof(double), cmpDouble);
    printf("%s%s_best=%.3f %s_median=%.3f", j ? " " : "", azMode[j], aT[j][0],
           azMode[j], aT[j][n / 2]);
  }
  printf(" rounds=%d later_calls=%d\n", nRound, nRound * nLater);
  return 0;
}
