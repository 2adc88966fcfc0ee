/*
** decode.c — in-process benchmark of bundle decoding (issue #6).
**
**     decode [-t SECONDS] [-n MIN_ITER] BUNDLE_FILE
**
** Times, over many iterations of the same bundle file (written by
** `mkbundle -o`):
**
**     inflate   zlib uncompress of the payload alone
**     decode    migrate_bundle_open_blob(): inflate + CRC + parse every
**               script + build the graph (what a process pays once before
**               it can plan anything), then migrate_bundle_free() (untimed)
**     graph     migGraphBuild() alone, on scripts parsed beforehand
**
** and prints one line of key=value pairs: the best and the median of each
** (milliseconds), the number of iterations, the bundle's sizes, and peak RSS
** (getrusage ru_maxrss, KiB) before the first decode and at the end.  Run one
** process per bundle so each peak belongs to one size.  Links against
** build/libsqlitemigrate.a; graph uses the engine's internal API
** (ext/internal.h) to separate the graph from the parser.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include "internal.h"

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long maxRssKb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static unsigned int get32(const unsigned char *p) {
  return (unsigned int)p[0] | ((unsigned int)p[1] << 8) |
         ((unsigned int)p[2] << 16) | ((unsigned int)p[3] << 24);
}

static int cmpDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Timings of one kind: best and median. */
typedef struct Series {
  double *a;
  int n;
} Series;

static void seriesAdd(Series *s, double v) { s->a[s->n++] = v; }
static double seriesBest(Series *s) {
  qsort(s->a, (size_t)s->n, sizeof(double), cmpDouble);
  return s->n ? s->a[0] : 0.0;
}
static double seriesMedian(Series *s) {
  qsort(s->a, (size_t)s->n, sizeof(double), cmpDouble);
  if (s->n == 0) return 0.0;
  return s->n % 2 ? s->a[s->n / 2] : (s->a[s->n / 2 - 1] + s->a[s->n / 2]) / 2;
}

static void die(const char *zWhat, const char *zErr) {
  fprintf(stderr, "decode: %s: %s\n", zWhat, zErr ? zErr : "failed");
  exit(1);
}

/* Parse every script of the inflated payload into a fresh bundle (no graph
** yet), as migBundleFromFiles() does. */
static migrate_bundle *parseOnly(const unsigned char *aPay, size_t nPay,
                                 int nScript) {
  migrate_bundle *b = sqlite3_malloc64(sizeof(*b));
  size_t off = 0;
  int i;
  char *zErr = 0;
  char zName[MIG_MAX_FILENAME + 1];
  if (b == 0) die("parse", "out of memory");
  memset(b, 0, sizeof(*b));
  b->aRev = migArenaAlloc(&b->arena,
                          sizeof(migrate_revision) * (size_t)(nScript + 1));
  if (b->aRev == 0) die("parse", "out of memory");
  for (i = 0; i < nScript; i++) {
    unsigned int nName, nText;
    if (nPay - off < 4) die("parse", "truncated payload");
    nName = get32(aPay + off);
    off += 4;
    if (nName > MIG_MAX_FILENAME || nName > nPay - off) die("parse", "name");
    memcpy(zName, aPay + off, nName);
    zName[nName] = 0;
    off += nName;
    nText = get32(aPay + off);
    off += 4;
    if (nText > nPay - off) die("parse", "truncated payload");
    if (migScriptParse(&b->arena, zName, (const char *)aPay + off, nText,
                       &b->aRev[i], &zErr)) {
      die("parse", zErr);
    }
    b->nRev = i + 1;
    off += nText;
  }
  return b;
}

int main(int argc, char **argv) {
  const char *zFile = 0;
  double tBudget = 1.5; /* seconds per kind */
  int nMin = 20, nMax = 2000, i;
  FILE *f;
  long n;
  unsigned char *aData, *aPay;
  unsigned int nScript, nPay, nComp;
  long rss0, rss1;
  char *zErr = 0;
  migrate_bundle *b;
  Series sInf = {0}, sDec = {0}, sGraph = {0};
  double t0, tStart;
  int nRev;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
      tBudget = atof(argv[++i]);
    } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      nMin = atoi(argv[++i]);
    } else if (zFile == 0 && argv[i][0] != '-') {
      zFile = argv[i];
    } else {
      fprintf(stderr, "usage: decode [-t SECONDS] [-n MIN_ITER] BUNDLE\n");
      return 2;
    }
  }
  if (zFile == 0) {
    fprintf(stderr, "usage: decode [-t SECONDS] [-n MIN_ITER] BUNDLE\n");
    return 2;
  }
  if (nMin < 1) nMin = 1;
  if (nMax < nMin) nMax = nMin;

  f = fopen(zFile, "rb");
  if (f == 0) die(zFile, "cannot open");
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  aData = malloc((size_t)n + 1);
  if (aData == 0 || fread(aData, 1, (size_t)n, f) != (size_t)n) {
    die(zFile, "cannot read");
  }
  fclose(f);
  if (n < 32 || memcmp(aData, "SQLMIGR\x1a", 8) != 0) die(zFile, "not a bundle");
  nScript = get32(aData + 12);
  nPay = get32(aData + 16);
  nComp = get32(aData + 20);
  aPay = malloc((size_t)nPay + 1);
  if (aPay == 0) die("inflate", "out of memory");
  sInf.a = malloc(sizeof(double) * (size_t)nMax);
  sDec.a = malloc(sizeof(double) * (size_t)nMax);
  sGraph.a = malloc(sizeof(double) * (size_t)nMax);
  if (!sInf.a || !sDec.a || !sGraph.a) die("timing", "out of memory");

  rss0 = maxRssKb();

  /* one untimed decode: the result is checked, caches are warm */
  if (migrate_bundle_open_blob(aData, (size_t)n, &b, &zErr)) die(zFile, zErr);
  nRev = migrate_bundle_count(b);
  migrate_bundle_free(b);

  /* inflate alone */
  tStart = nowMs();
  for (i = 0; i < nMax && (i < nMin || nowMs() - tStart < tBudget * 1e3);
       i++) {
    uLongf nOut = nPay;
    t0 = nowMs();
    if (uncompress(aPay, &nOut, aData + 32, nComp) != Z_OK || nOut != nPay) {
      die("inflate", "zlib error");
    }
    seriesAdd(&sInf, nowMs() - t0);
  }

  /* the whole decode */
  tStart = nowMs();
  for (i = 0; i < nMax && (i < nMin || nowMs() - tStart < tBudget * 1e3);
       i++) {
    t0 = nowMs();
    if (migrate_bundle_open_blob(aData, (size_t)n, &b, &zErr)) {
      die(zFile, zErr);
    }
    seriesAdd(&sDec, nowMs() - t0);
    migrate_bundle_free(b);
  }

  /* the graph alone */
  tStart = nowMs();
  for (i = 0; i < nMax && (i < nMin || nowMs() - tStart < tBudget * 1e3);
       i++) {
    b = parseOnly(aPay, nPay, (int)nScript);
    t0 = nowMs();
    if (migGraphBuild(b, &zErr)) die("graph", zErr);
    seriesAdd(&sGraph, nowMs() - t0);
    migrate_bundle_free(b);
  }
  rss1 = maxRssKb();

  printf("revisions=%d compressed=%ld payload=%u iterations=%d/%d/%d "
         "inflate_best=%.3f inflate_median=%.3f "
         "decode_best=%.3f decode_median=%.3f "
         "graph_best=%.3f graph_median=%.3f "
         "rss_before_kb=%ld rss_peak_kb=%ld\n",
         nRev, n, nPay, sInf.n, sDec.n, sGraph.n, seriesBest(&sInf),
         seriesMedian(&sInf), seriesBest(&sDec), seriesMedian(&sDec),
         seriesBest(&sGraph), seriesMedian(&sGraph), rss0, rss1);
  free(aData);
  free(aPay);
  free(sInf.a);
  free(sDec.a);
  free(sGraph.a);
  return 0;
}
