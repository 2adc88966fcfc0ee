/*
** fuzz_common.h — what the fuzz targets share: a failure helper and the
** invariants every plan must satisfy, whatever the input was.
**
** Included by tests/fuzz/fuzz_*.c only (each defines its own
** LLVMFuzzerTestOneInput).  Everything here is static, so the replay
** runner (replay.c) can link the three targets into one program.
**
** How a finding is reported: fuzzFail() prints what was violated and
** calls abort(), which libFuzzer reports as a crash and saves the input;
** the replay runner counts the input as failed.
*/
#ifndef MIGRATE_FUZZ_COMMON_H
#define MIGRATE_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Not every target uses every helper. */
#define FUZZ_HELPER static __attribute__((unused))

/* Print a violated invariant and abort (a crash for libFuzzer). */
FUZZ_HELPER __attribute__((noreturn, format(printf, 1, 2))) void fuzzFail(
    const char *zFmt, ...) {
  va_list ap;
  va_start(ap, zFmt);
  fprintf(stderr, "fuzz invariant violated: ");
  vfprintf(stderr, zFmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

/* An engine call failed: rc must be a code the API documents, and every
** failure except out-of-memory must carry a non-empty message. */
FUZZ_HELPER void fuzzCheckError(const char *zCall, int rc, const char *zErr) {
  switch (rc) {
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_CORRUPT:
    case SQLITE_TOOBIG:
      if (zErr == 0 || zErr[0] == 0) {
        fuzzFail("%s failed with rc=%d and no message", zCall, rc);
      }
      break;
    case SQLITE_NOMEM:
      break;
    default:
      fuzzFail("%s returned unexpected rc=%d (%s)", zCall, rc,
               zErr ? zErr : "no message");
  }
}

/* Is revision j reachable from revision i along parent and Depends On
** edges (j an ancestor of i, or i itself)? */
FUZZ_HELPER int fuzzIsAncestor(const migrate_bundle *b, int i, int j) {
  int *aStack, nStack = 0, bFound = 0;
  unsigned char *aSeen;
  if (i == j) return 1;
  aStack = malloc(sizeof(int) * ((size_t)b->nRev + 1));
  aSeen = calloc((size_t)b->nRev + 1, 1);
  if (aStack == 0 || aSeen == 0) fuzzFail("out of memory in the harness");
  aStack[nStack++] = i;
  aSeen[i] = 1;
  while (nStack > 0 && !bFound) {
    const migrate_revision *r = &b->aRev[aStack[--nStack]];
    int k;
    for (k = 0; k < r->nparent + r->ndepend; k++) {
      int x = k < r->nparent ? r->parent_idx[k] : r->depend_idx[k - r->nparent];
      if (x == j) bFound = 1;
      if (!aSeen[x]) {
        aSeen[x] = 1;
        aStack[nStack++] = x;
      }
    }
  }
  free(aStack);
  free(aSeen);
  return bFound;
}

/* A set of current heads the way a database holds them: valid indices,
** no duplicates, none an ancestor of another.  Used to pick the head sets
** a plan is checked from. */
FUZZ_HELPER int fuzzIsHeadSet(const migrate_bundle *b, const int *aCur,
                              int nCur) {
  int i, j;
  for (i = 0; i < nCur; i++) {
    if (aCur[i] < 0 || aCur[i] >= b->nRev) return 0;
    for (j = 0; j < nCur; j++) {
      if (i != j && fuzzIsAncestor(b, aCur[j], aCur[i])) return 0;
    }
  }
  return 1;
}

/* The invariants of a plan made from heads aCur[0..nCur) in mode:
**  - every step names a revision of the bundle;
**  - an upgrade step applies a revision that is not applied yet and whose
**    parents and dependencies are applied (by the database or an earlier
**    step); a downgrade step un-applies an applied revision none of whose
**    children or dependents is still applied;
**  - MIGRATE_UPGRADE plans only upgrade, MIGRATE_DOWNGRADE only downgrade,
**    MIGRATE_AUTO one of the two;
**  - a stamp names distinct revisions, none an ancestor of another. */
FUZZ_HELPER void fuzzCheckPlan(const migrate_bundle *b, const int *aCur,
                               int nCur, int mode, const MigPlan *p,
                               const char *zTarget) {
  unsigned char *aApplied = calloc((size_t)b->nRev + 1, 1);
  int i, k, nUp = 0, nDown = 0;
  if (aApplied == 0) fuzzFail("out of memory in the harness");
  for (i = 0; i < b->nRev; i++) {
    for (k = 0; k < nCur; k++) {
      if (fuzzIsAncestor(b, aCur[k], i)) aApplied[i] = 1;
    }
  }
  if (p->isStamp != (mode == MIGRATE_STAMP)) {
    fuzzFail("target '%s' mode %d: isStamp=%d", zTarget, mode, p->isStamp);
  }
  if (p->nStep < 0 || p->nStamp < 0) {
    fuzzFail("target '%s': negative plan size", zTarget);
  }
  for (i = 0; i < p->nStep; i++) {
    int r = p->aStep[i].iRev;
    const migrate_revision *pr;
    if (r < 0 || r >= b->nRev) {
      fuzzFail("target '%s' mode %d: step %d names revision index %d of %d",
               zTarget, mode, i, r, b->nRev);
    }
    pr = &b->aRev[r];
    if (p->aStep[i].isUpgrade) {
      nUp++;
      if (aApplied[r]) {
        fuzzFail("target '%s' mode %d: step %d upgrades %s, already applied",
                 zTarget, mode, i, pr->id);
      }
      for (k = 0; k < pr->nparent + pr->ndepend; k++) {
        int x = k < pr->nparent ? pr->parent_idx[k]
                                : pr->depend_idx[k - pr->nparent];
        if (!aApplied[x]) {
          fuzzFail("target '%s' mode %d: step %d upgrades %s before %s",
                   zTarget, mode, i, pr->id, b->aRev[x].id);
        }
      }
      aApplied[r] = 1;
    } else {
      nDown++;
      if (!aApplied[r]) {
        fuzzFail("target '%s' mode %d: step %d downgrades %s, not applied",
                 zTarget, mode, i, pr->id);
      }
      for (k = 0; k < pr->nchild + pr->ndependent; k++) {
        int x = k < pr->nchild ? pr->child_idx[k]
                               : pr->dependent_idx[k - pr->nchild];
        if (aApplied[x]) {
          fuzzFail(
              "target '%s' mode %d: step %d downgrades %s while %s, "
              "which builds on it, stays applied",
              zTarget, mode, i, pr->id, b->aRev[x].id);
        }
      }
      aApplied[r] = 0;
    }
  }
  if ((mode == MIGRATE_UPGRADE && nDown) ||
      (mode == MIGRATE_DOWNGRADE && nUp) ||
      (mode == MIGRATE_AUTO && nUp && nDown) ||
      (mode == MIGRATE_STAMP && (nUp || nDown))) {
    fuzzFail("target '%s' mode %d: %d upgrade and %d downgrade steps", zTarget,
             mode, nUp, nDown);
  }
  if (p->isStamp) {
    for (i = 0; i < p->nStamp; i++) {
      if (p->aStamp[i] < 0 || p->aStamp[i] >= b->nRev) {
        fuzzFail("target '%s': stamp names revision index %d of %d", zTarget,
                 p->aStamp[i], b->nRev);
      }
    }
    if (!fuzzIsHeadSet(b, p->aStamp, p->nStamp)) {
      fuzzFail("target '%s': stamped heads overlap or repeat", zTarget);
    }
  }
  free(aApplied);
}

/* Plan zTarget from aCur in every mode and check each plan; also resolve it
** as the shell does.  The engine may refuse; it must not crash, leak, or
** produce a plan that breaks the invariants above. */
FUZZ_HELPER void fuzzPlanAllModes(migrate_bundle *b, const int *aCur, int nCur,
                                  const char *zTarget) {
  static const int aMode[] = {MIGRATE_UPGRADE, MIGRATE_DOWNGRADE, MIGRATE_AUTO,
                              MIGRATE_STAMP};
  size_t m;
  int *aOut = 0, nOut = 0, rc, i;
  char *zErr = 0;
  for (m = 0; m < sizeof(aMode) / sizeof(aMode[0]); m++) {
    MigPlan plan;
    rc = migPlan(b, aCur, nCur, zTarget, aMode[m], &plan, &zErr);
    if (rc == SQLITE_OK) {
      fuzzCheckPlan(b, aCur, nCur, aMode[m], &plan, zTarget);
    } else {
      fuzzCheckError("migPlan", rc, zErr);
    }
    migPlanFree(&plan);
    sqlite3_free(zErr);
    zErr = 0;
  }
  rc = migrate_bundle_resolve(b, zTarget, aCur, nCur, &aOut, &nOut, &zErr);
  if (rc == SQLITE_OK) {
    for (i = 0; i < nOut; i++) {
      if (aOut[i] < 0 || aOut[i] >= b->nRev) {
        fuzzFail("resolve('%s') gave revision index %d of %d", zTarget, aOut[i],
                 b->nRev);
      }
    }
  } else {
    fuzzCheckError("migrate_bundle_resolve", rc, zErr);
  }
  sqlite3_free(aOut);
  sqlite3_free(zErr);
}

#endif /* MIGRATE_FUZZ_COMMON_H */
