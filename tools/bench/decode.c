/*
** decode.c — in-process benchmark of bundle decoding (issue #6).
**
**     decode [-t SECONDS] [-n MIN_ITER] BUNDLE_FILE
**
** Times, over many iterations of the same bundle file (written by
** `mkbundle -o`):
**
**     decode    migrate_bundle_open_blob(): everything a process pays before
**               it can plan (checks, inflate, parse, graph), then
**               migrate_bundle_free() (untimed)
**     full      decode + migrate_bundle_load(b, 0): the first script's text
**               (format 2 inflates its chunk then; format 1 has it already)
**     inflate   zlib uncompress of the payload alone (format 1 only)
**     graph     migGraphBuild() alone, on a copy of the parsed revisions
**
** and prints one line of key=value pairs: the best and the median of each
** (milliseconds), the number of iterations, the bundle's size, and peak RSS
** (getrusage ru_maxrss, KiB) before the first decode and at the end.  Run one
** process per bundle, through tools/bench/run, so each peak belongs to one
** size.  Links against build/libsqlitemigrate.a; graph uses the engine's
** internal API (ext/internal.h) to separate the graph from the parser.
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

static void seriesAdd(Series *s, double v) {
  s->a[s->n++] = v;
}
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

/* A copy of b's revisions with the graph fields cleared (strings borrowed
** from b), ready for migGraphBuild(): the graph is timed alone, whatever
** the bundle format. */
static migrate_bundle *cloneForGraph(const migrate_bundle *b) {
  migrate_bundle *p = sqlite3_malloc64(sizeof(*p));
  int i, n = migrate_bundle_count(b);
  if (p == 0) die("graph", "out of memory");
  memset(p, 0, sizeof(*p));
  p->aRev =
      migArenaAlloc(&p->arena, sizeof(migrate_revision) * (size_t)(n + 1));
  if (p->aRev == 0) die("graph", "out of memory");
  for (i = 0; i < n; i++) {
    migrate_revision *r = &p->aRev[i];
    *r = b->aRev[i];
    r->parent_idx = r->depend_idx = r->child_idx = r->dependent_idx = 0;
    r->nchild = r->ndependent = r->nall_label = 0;
    r->all_labels = 0;
    r->is_head = r->is_base = r->is_merge = r->is_branchpoint = 0;
  }
  p->nRev = n;
  return p;
}

int main(int argc, char **argv) {
  const char *zFile = 0;
  double tBudget = 1.5; /* seconds per kind */
  int nMin = 20, nMax = 2000, i;
  FILE *f;
  long n;
  unsigned char *aData, *aPay;
  unsigned int version, nPay, nComp;
  char zInf[80];
  long rss0, rss1;
  char *zErr = 0;
  migrate_bundle *b;
  Series sInf = {0}, sDec = {0}, sFull = {0}, sGraph = {0};
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
  if (n < 32 || memcmp(aData, "SQLMIGR\x1a", 8) != 0)
    die(zFile, "not a bundle");
  version = get32(aData + 8);
  nPay = get32(aData + 16);
  nComp = get32(aData + 20);
  aPay = malloc((size_t)nPay + 1);
  if (aPay == 0) die("inflate", "out of memory");
  sInf.a = malloc(sizeof(double) * (size_t)nMax);
  sDec.a = malloc(sizeof(double) * (size_t)nMax);
  sFull.a = malloc(sizeof(double) * (size_t)nMax);
  sGraph.a = malloc(sizeof(double) * (size_t)nMax);
  if (!sInf.a || !sDec.a || !sFull.a || !sGraph.a)
    die("timing", "out of memory");

  rss0 = maxRssKb();

  /* one untimed decode: the result is checked, caches are warm */
  if (migrate_bundle_open_blob(aData, (size_t)n, &b, &zErr)) die(zFile, zErr);
  nRev = migrate_bundle_count(b);
  migrate_bundle_free(b);

  /* inflate alone (format 1: the payload is one zlib stream) */
  tStart = nowMs();
  for (i = 0; version == 1 && i < nMax &&
              (i < nMin || nowMs() - tStart < tBudget * 1e3);
       i++) {
    uLongf nOut = nPay;
    t0 = nowMs();
    if (uncompress(aPay, &nOut, aData + 32, nComp) != Z_OK || nOut != nPay) {
      die("inflate", "zlib error");
    }
    seriesAdd(&sInf, nowMs() - t0);
  }

  /* the decode: what a process pays before it can plan */
  tStart = nowMs();
  for (i = 0; i < nMax && (i < nMin || nowMs() - tStart < tBudget * 1e3); i++) {
    t0 = nowMs();
    if (migrate_bundle_open_blob(aData, (size_t)n, &b, &zErr)) {
      die(zFile, zErr);
    }
    seriesAdd(&sDec, nowMs() - t0);
    migrate_bundle_free(b);
  }

  /* decode + the first access to a script's text (the same as decode
  ** unless the format lets the text be inflated later) */
  tStart = nowMs();
  for (i = 0; i < nMax && (i < nMin || nowMs() - tStart < tBudget * 1e3); i++) {
    t0 = nowMs();
    if (migrate_bundle_open_blob(aData, (size_t)n, &b, &zErr)) {
      die(zFile, zErr);
    }
    if (nRev > 0 && (migrate_bundle_load(b, 0, &zErr) != SQLITE_OK ||
                     migrate_bundle_revision(b, 0)->upgrade == 0)) {
      die(zFile, zErr ? zErr : "no script text");
    }
    seriesAdd(&sFull, nowMs() - t0);
    migrate_bundle_free(b);
  }

  /* the graph alone */
  if (migrate_bundle_open_blob(aData, (size_t)n, &b, &zErr)) die(zFile, zErr);
  tStart = nowMs();
  for (i = 0; i < nMax && (i < nMin || nowMs() - tStart < tBudget * 1e3); i++) {
    migrate_bundle *g = cloneForGraph(b);
    t0 = nowMs();
    if (migGraphBuild(g, &zErr)) die("graph", zErr);
    seriesAdd(&sGraph, nowMs() - t0);
    migrate_bundle_free(g);
  }
  migrate_bundle_free(b);
  rss1 = maxRssKb();

  if (version == 1) {
    snprintf(zInf, sizeof(zInf), "inflate_best=%.3f inflate_median=%.3f",
             seriesBest(&sInf), seriesMedian(&sInf));
  } else {
    snprintf(zInf, sizeof(zInf), "inflate_best=n/a inflate_median=n/a");
  }
  printf(
      "format=%u revisions=%d compressed=%ld iterations=%d/%d/%d/%d %s "
      "decode_best=%.3f decode_median=%.3f "
      "full_best=%.3f full_median=%.3f "
      "graph_best=%.3f graph_median=%.3f "
      "rss_before_kb=%ld rss_peak_kb=%ld\n",
      version, nRev, n, sInf.n, sDec.n, sFull.n, sGraph.n, zInf,
      seriesBest(&sDec), seriesMedian(&sDec), seriesBest(&sFull),
      seriesMedian(&sFull), seriesBest(&sGraph), seriesMedian(&sGraph), rss0,
      rss1);
  free(aData);
  free(aPay);
  free(sInf.a);
  free(sDec.a);
  free(sFull.a);
  free(sGraph.a);
  return 0;
}
