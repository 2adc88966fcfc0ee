/*
** graph.c — the revision DAG: validation, heads and bases, branch labels,
** target resolution (README.md, "Targets") and plans.
**
**     migGraphBuild(b)                      after the scripts are parsed
**     migPlan(b, cur, n, "ae10@+1", mode)   which scripts, in which order
**
** How it works: every revision is an index into b->aRev, which is sorted by
** file name; that is the order in which Alembic loads its scripts, and
** Alembic's traversals break ties by it.  The resolution and planning
** functions below follow Alembic 1.8's RevisionMap step by step
** (_revision_for_ident, _walk, _parse_upgrade_target,
** _parse_downgrade_target, _collect_upgrade_revisions,
** _collect_downgrade_revisions, _topological_sort), so the same graph and
** target give the same scripts in the same order and the same heads.  Sets
** of revisions are bitsets; an ancestor or descendant walk is one DFS.
** Where Alembic fails with a bare assertion or only warns (-1 from several
** heads), we refuse with a message that says what to do.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sentinels for "no revision": Alembic's None (before the bases) and the
** string "base" that a downward walk yields past a base. */
#define R_NONE (-1)
#define R_BASE (-2)

/* ======================================================================
** Small helpers
*/

static unsigned int hashId(const char *z) {
  unsigned int h = 2166136261u;
  while (*z) {
    h ^= (unsigned char)*z++;
    h *= 16777619u;
  }
  return h;
}

/* Index of the revision with id zId, or -1. */
int migrate_bundle_find(const migrate_bundle *b, const char *zId) {
  unsigned int h;
  if (b->nHash == 0) return -1;
  h = hashId(zId) & (unsigned)(b->nHash - 1);
  while (b->aHash[h]) {
    int i = b->aHash[h] - 1;
    if (strcmp(b->aRev[i].id, zId) == 0) return i;
    h = (h + 1) & (unsigned)(b->nHash - 1);
  }
  return -1;
}

/* Index of the revision declaring label zLabel, or -1. */
static int findLabel(const migrate_bundle *b, const char *zLabel) {
  int i;
  for (i = 0; i < b->nLabel; i++) {
    if (strcmp(b->azLabel[i], zLabel) == 0) return b->aLabelRev[i];
  }
  return -1;
}

/* Alembic's map lookup: a revision id or a branch label. */
static int mapLookup(const migrate_bundle *b, const char *z) {
  int i = migrate_bundle_find(b, z);
  return i >= 0 ? i : findLabel(b, z);
}

static MigBits *bitsNew(const migrate_bundle *b) {
  size_t n = MIG_BITS_WORDS(b->nRev ? b->nRev : 1);
  MigBits *a = sqlite3_malloc64(n * sizeof(MigBits));
  if (a) memset(a, 0, n * sizeof(MigBits));
  return a;
}

/* An int list that grows. */
typedef struct IntList {
  int n, nAlloc;
  int *a;
  int rc;
} IntList;

static void listAdd(IntList *p, int v) {
  if (p->rc) return;
  if (p->n >= p->nAlloc) {
    int nNew = p->nAlloc ? p->nAlloc * 2 : 16;
    int *aNew = sqlite3_realloc64(p->a, sizeof(int) * (size_t)nNew);
    if (aNew == 0) {
      p->rc = SQLITE_NOMEM;
      return;
    }
    p->a = aNew;
    p->nAlloc = nNew;
  }
  p->a[p->n++] = v;
}

/* Comma-separated ids (", " between) for messages. Caller frees. */
static char *idList(const migrate_bundle *b, const int *a, int n,
                    const char *zSep, int bQuote) {
  MigStr s = {0};
  int i;
  for (i = 0; i < n; i++) {
    if (i) migStrAppendZ(&s, zSep);
    if (bQuote) migStrAppendZ(&s, "'");
    migStrAppendZ(&s, a[i] >= 0 ? b->aRev[a[i]].id : "base");
    if (bQuote) migStrAppendZ(&s, "'");
  }
  return migStrFinish(&s);
}

/* Comma-separated ids of aIdx, NULL when n==0 (or on OOM). */
char *migJoinIds(migrate_bundle *b, const int *aIdx, int n) {
  if (n == 0) return 0;
  return idList(b, aIdx, n, ",", 0);
}

/* ======================================================================
** Walks
*/

/* Which edges a walk follows. */
enum {
  W_ANC,       /* parents + normalized dependencies (Alembic default) */
  W_ANC_PAR,   /* parents only */
  W_DESC,      /* children + dependents */
  W_DESC_CHILD /* children only */
};

/* Mark in aOut every revision reachable from aSeed[0..nSeed) (inclusive)
** along edges of kind eWalk.  aOut must be zeroed or hold a prior result.
** Returns SQLITE_OK or SQLITE_NOMEM. */
static int walkFrom(const migrate_bundle *b, const int *aSeed, int nSeed,
                    int eWalk, MigBits *aOut) {
  int *aStack;
  int nStack = 0, i;
  size_t nAlloc = (size_t)b->nRev + 1;
  aStack = sqlite3_malloc64(sizeof(int) * nAlloc);
  if (aStack == 0) return SQLITE_NOMEM;
  for (i = 0; i < nSeed; i++) {
    if (aSeed[i] < 0 || MIG_BIT_TEST(aOut, aSeed[i])) continue;
    MIG_BIT_SET(aOut, aSeed[i]);
    aStack[nStack++] = aSeed[i];
    while (nStack > 0) {
      const migrate_revision *r = &b->aRev[aStack[--nStack]];
      int k, n = 0;
      const int *aNext = 0, *aNext2 = 0;
      int n2 = 0;
      switch (eWalk) {
        case W_ANC:
          aNext = b->aaDown[r - b->aRev];
          n = b->anDown[r - b->aRev];
          break;
        case W_ANC_PAR:
          aNext = r->parent_idx;
          n = r->nparent;
          break;
        case W_DESC:
          aNext = r->child_idx;
          n = r->nchild;
          aNext2 = r->dependent_idx;
          n2 = r->ndependent;
          break;
        default:
          aNext = r->child_idx;
          n = r->nchild;
          break;
      }
      for (k = 0; k < n + n2; k++) {
        int j = k < n ? aNext[k] : aNext2[k - n];
        if (!MIG_BIT_TEST(aOut, j)) {
          MIG_BIT_SET(aOut, j);
          aStack[nStack++] = j; /* each index pushed at most once */
        }
      }
    }
  }
  sqlite3_free(aStack);
  return SQLITE_OK;
}

/* New bitset of the revisions reachable from aSeed (inclusive). */
static MigBits *reach(const migrate_bundle *b, const int *aSeed, int nSeed,
                      int eWalk) {
  MigBits *a = bitsNew(b);
  if (a && walkFrom(b, aSeed, nSeed, eWalk, a) != SQLITE_OK) {
    sqlite3_free(a);
    a = 0;
  }
  return a;
}

/* Applied closure of aCur: see internal.h. */
int migAppliedOf(migrate_bundle *b, const int *aCur, int nCur,
                 MigBits **paApplied) {
  *paApplied = reach(b, aCur, nCur, W_ANC);
  return *paApplied ? SQLITE_OK : SQLITE_NOMEM;
}

/* Heads of an applied set: see internal.h. */
int migHeadsOf(migrate_bundle *b, const MigBits *aApplied, int **paOut,
               int *pnOut) {
  IntList l = {0};
  int i, k;
  for (i = 0; i < b->nRev; i++) {
    const migrate_revision *r = &b->aRev[i];
    int bCovered = 0;
    if (!MIG_BIT_TEST(aApplied, i)) continue;
    for (k = 0; k < r->nchild && !bCovered; k++) {
      bCovered = MIG_BIT_TEST(aApplied, r->child_idx[k]);
    }
    for (k = 0; k < r->ndependent && !bCovered; k++) {
      bCovered = MIG_BIT_TEST(aApplied, r->dependent_idx[k]);
    }
    if (!bCovered) listAdd(&l, i);
  }
  if (l.rc) {
    sqlite3_free(l.a);
    return l.rc;
  }
  *paOut = l.a;
  *pnOut = l.n;
  return SQLITE_OK;
}

/* ======================================================================
** Version rows (Alembic's HeadMaintainer)
*/

/* Among aDown[0..nDown), keep those that are not ancestors (dependencies
** included) of the rows of aHead other than iSkip (Alembic's
** _unmerge_to_revisions / merge_branch_idents filter).  aOut gets them;
** *pnOut their count.  SQLITE_OK or SQLITE_NOMEM. */
static int notUnderOtherRows(const migrate_bundle *b, const MigBits *aHead,
                             int iSkip, const int *aDown, int nDown, int *aOut,
                             int *pnOut) {
  IntList other = {0};
  MigBits *aAnc;
  int i, n = 0;
  for (i = 0; i < b->nRev; i++) {
    int k, bDown = 0;
    if (i == iSkip || !MIG_BIT_TEST(aHead, i)) continue;
    for (k = 0; k < nDown && iSkip < 0; k++) bDown |= aDown[k] == i;
    if (!bDown) listAdd(&other, i);
  }
  if (other.rc) return other.rc;
  aAnc = reach(b, other.a, other.n, W_ANC);
  sqlite3_free(other.a);
  if (aAnc == 0) return SQLITE_NOMEM;
  for (i = 0; i < nDown; i++) {
    if (!MIG_BIT_TEST(aAnc, aDown[i])) aOut[n++] = aDown[i];
  }
  sqlite3_free(aAnc);
  *pnOut = n;
  return SQLITE_OK;
}

/* The message for a step Alembic's bookkeeping cannot record. */
static int rowsError(const migrate_bundle *b, const MigBits *aHead, int i,
                     int bUp, char **pzErr) {
  MigStr s = {0};
  int k, n = 0;
  char *zRows;
  for (k = 0; k < b->nRev; k++) {
    if (!MIG_BIT_TEST(aHead, k)) continue;
    if (n++) migStrAppendZ(&s, ", ");
    migStrAppendZ(&s, b->aRev[k].id);
  }
  zRows = migStrFinish(&s);
  if (n && zRows == 0) return SQLITE_NOMEM;
  k = migSetError(pzErr, SQLITE_ERROR,
                  "cannot record the %s of %s in the version table, which "
                  "holds %s: Alembic fails here too (its version rows do "
                  "not show where %s stands); stamp the database to the "
                  "revisions that are applied first",
                  bUp ? "upgrade" : "downgrade", b->aRev[i].id,
                  n ? zRows : "nothing", b->aRev[i].id);
  sqlite3_free(zRows);
  return k;
}

/* Version rows after a step: see internal.h. */
int migHeadsStep(const migrate_bundle *b, MigBits *aHead, int i, int bUp,
                 char **pzErr) {
  const int *aDown = b->aaDown[i];
  int nDown = b->anDown[i], nIn = 0, iIn = -1, k, n, rc;
  int aBuf[16];
  int *aTo = nDown <= 16 ? aBuf : sqlite3_malloc64(sizeof(int) * (size_t)nDown);
  if (aTo == 0) return SQLITE_NOMEM;
  for (k = 0; k < nDown; k++) {
    if (MIG_BIT_TEST(aHead, aDown[k])) {
      nIn++;
      iIn = aDown[k];
    }
  }
  rc = SQLITE_OK;
  if (bUp) {
    if (MIG_BIT_TEST(aHead, i)) {
      rc = rowsError(b, aHead, i, bUp, pzErr);
    } else if (nIn == 0) {
      /* should_create_branch: a base, or none of its down revisions */
    } else if (nDown > 1 && nIn > 1) {
      /* should_merge_branches: the down revisions that no other row
      ** needs are replaced by this one */
      rc = notUnderOtherRows(b, aHead, -1, aDown, nDown, aTo, &n);
      for (k = 0; rc == SQLITE_OK && k < n; k++) {
        if (!MIG_BIT_TEST(aHead, aTo[k])) rc = rowsError(b, aHead, i, 1, pzErr);
      }
      if (rc == SQLITE_OK && n == 0) rc = rowsError(b, aHead, i, 1, pzErr);
      for (k = 0; rc == SQLITE_OK && k < n; k++) MIG_BIT_CLEAR(aHead, aTo[k]);
    } else {
      /* update_version_num: the one down revision among the rows */
      MIG_BIT_CLEAR(aHead, iIn);
    }
    if (rc == SQLITE_OK) MIG_BIT_SET(aHead, i);
  } else if (!MIG_BIT_TEST(aHead, i)) {
    /* Alembic updates a row that is not there and fails */
    rc = rowsError(b, aHead, i, 0, pzErr);
  } else {
    /* should_delete_branch / should_unmerge_branches / update: the down
    ** revisions that no other row needs replace this one */
    rc = notUnderOtherRows(b, aHead, i, aDown, nDown, aTo, &n);
    if (rc == SQLITE_OK) {
      MIG_BIT_CLEAR(aHead, i);
      for (k = 0; k < n; k++) MIG_BIT_SET(aHead, aTo[k]);
    }
  }
  if (aTo != aBuf) sqlite3_free(aTo);
  return rc;
}

/* Simulate the version rows through a plan: see internal.h. */
int migHeadsAfterPlan(const migrate_bundle *b, const int *aCur, int nCur,
                      const MigPlan *p, int **paOut, int *pnOut, char **pzErr) {
  MigBits *aHead = bitsNew(b);
  IntList l = {0};
  int i, rc = SQLITE_OK;
  if (aHead == 0) return SQLITE_NOMEM;
  for (i = 0; i < nCur; i++) MIG_BIT_SET(aHead, aCur[i]);
  for (i = 0; i < p->nStep && rc == SQLITE_OK; i++) {
    rc = migHeadsStep(b, aHead, p->aStep[i].iRev, p->aStep[i].isUpgrade, pzErr);
  }
  for (i = 0; rc == SQLITE_OK && paOut && i < b->nRev; i++) {
    if (MIG_BIT_TEST(aHead, i)) listAdd(&l, i);
  }
  sqlite3_free(aHead);
  if (rc == SQLITE_OK) rc = l.rc;
  if (rc == SQLITE_OK && paOut) {
    *paOut = l.a;
    *pnOut = l.n;
    l.a = 0;
  }
  sqlite3_free(l.a);
  return rc;
}

/* ======================================================================
** Graph construction
*/

/* Topologically sort the revisions set in aTodo, from the given heads
** downwards, exactly as Alembic's RevisionMap._topological_sort does.
** aOut receives the order (children before parents); *pnOut its length.
** Consumes nothing; returns SQLITE_OK/NOMEM. */
static int topoSort(const migrate_bundle *b, const MigBits *aTodoIn,
                    const int *aHeadIn, int nHeadIn, int *aOut, int *pnOut) {
  size_t nW = MIG_BITS_WORDS(b->nRev ? b->nRev : 1);
  MigBits *aTodo = 0;
  int *aCurHead = 0;   /* current_heads */
  MigBits **aaAnc = 0; /* ancestors_by_idx */
  int nCur = 0, nCurAlloc = 0, idx = 0, nOut = 0, i;
  int rc = SQLITE_NOMEM;

  aTodo = sqlite3_malloc64(nW * sizeof(MigBits));
  if (aTodo == 0) goto done;
  memcpy(aTodo, aTodoIn, nW * sizeof(MigBits));

  nCurAlloc = nHeadIn + 8;
  aCurHead = sqlite3_malloc64(sizeof(int) * (size_t)nCurAlloc);
  aaAnc = sqlite3_malloc64(sizeof(MigBits *) * (size_t)nCurAlloc);
  if (aCurHead == 0 || aaAnc == 0) goto done;

  /* current_heads: the given heads that are to do, in map order. */
  for (i = 0; i < b->nRev; i++) {
    int k;
    if (!MIG_BIT_TEST(aTodo, i)) continue;
    for (k = 0; k < nHeadIn; k++) {
      if (aHeadIn[k] == i) break;
    }
    if (k < nHeadIn) {
      aaAnc[nCur] = reach(b, &i, 1, W_ANC);
      if (aaAnc[nCur] == 0) goto done;
      aCurHead[nCur++] = i;
    }
  }

  while (nCur > 0) {
    int cand = aCurHead[idx];
    int j;
    for (j = 0; j < nCur; j++) {
      if (j != idx && MIG_BIT_TEST(aaAnc[j], cand)) break;
    }
    if (j < nCur) {
      /* another head depends on the candidate: traverse that one first */
      idx = j;
      continue;
    }
    if (MIG_BIT_TEST(aTodo, cand)) {
      aOut[nOut++] = cand;
      MIG_BIT_CLEAR(aTodo, cand);
    }
    {
      const int *aDown = b->aaDown[cand];
      int nDown = b->anDown[cand];
      int aAdd[64];
      int *pAdd = aAdd;
      int nAdd = 0, k;
      if (nDown > 64) {
        pAdd = sqlite3_malloc64(sizeof(int) * (size_t)nDown);
        if (pAdd == 0) goto done;
      }
      for (k = 0; k < nDown; k++) {
        int r = aDown[k], m;
        if (!MIG_BIT_TEST(aTodo, r)) continue;
        for (m = 0; m < nCur && aCurHead[m] != r; m++) {
        }
        if (m == nCur) pAdd[nAdd++] = r;
      }
      if (nAdd == 0) {
        sqlite3_free(aaAnc[idx]);
        memmove(&aCurHead[idx], &aCurHead[idx + 1],
                sizeof(int) * (size_t)(nCur - idx - 1));
        memmove(&aaAnc[idx], &aaAnc[idx + 1],
                sizeof(MigBits *) * (size_t)(nCur - idx - 1));
        nCur--;
        idx = idx > 0 ? idx - 1 : 0;
      } else {
        const migrate_revision *r = &b->aRev[cand];
        int bPlain = r->nparent == 1 && b->anDown[cand] == 1;
        aCurHead[idx] = pAdd[0];
        if (bPlain) {
          MIG_BIT_CLEAR(aaAnc[idx], cand);
        } else {
          if (nCur + nAdd > nCurAlloc) {
            int nNew = (nCur + nAdd) * 2;
            int *a1 = sqlite3_realloc64(aCurHead, sizeof(int) * (size_t)nNew);
            MigBits **a2;
            if (a1 == 0) {
              if (pAdd != aAdd) sqlite3_free(pAdd);
              goto done;
            }
            aCurHead = a1;
            a2 = sqlite3_realloc64(aaAnc, sizeof(MigBits *) * (size_t)nNew);
            if (a2 == 0) {
              if (pAdd != aAdd) sqlite3_free(pAdd);
              goto done;
            }
            aaAnc = a2;
            nCurAlloc = nNew;
          }
          sqlite3_free(aaAnc[idx]);
          aaAnc[idx] = reach(b, &pAdd[0], 1, W_ANC);
          if (aaAnc[idx] == 0) {
            /* keep the arrays consistent for cleanup */
            aaAnc[idx] = bitsNew(b);
            if (pAdd != aAdd) sqlite3_free(pAdd);
            goto done;
          }
          for (k = 1; k < nAdd; k++) {
            aaAnc[nCur] = reach(b, &pAdd[k], 1, W_ANC);
            if (aaAnc[nCur] == 0) {
              if (pAdd != aAdd) sqlite3_free(pAdd);
              goto done;
            }
            aCurHead[nCur++] = pAdd[k];
          }
        }
      }
      if (pAdd != aAdd) sqlite3_free(pAdd);
    }
  }
  *pnOut = nOut;
  rc = SQLITE_OK;

done:
  for (i = 0; i < nCur; i++) sqlite3_free(aaAnc[i]);
  sqlite3_free(aaAnc);
  sqlite3_free(aCurHead);
  sqlite3_free(aTodo);
  return rc;
}

/* Name a set of revisions with their files, for graph errors. */
static char *filesOf(const migrate_bundle *b, const MigBits *aSet) {
  MigStr s = {0};
  int i, n = 0;
  for (i = 0; i < b->nRev; i++) {
    if (!MIG_BIT_TEST(aSet, i)) continue;
    if (n++) migStrAppendZ(&s, ", ");
    migStrAppendf(&s, "%s (%s)", b->aRev[i].id, b->aRev[i].file);
  }
  return migStrFinish(&s);
}

/* Kahn's algorithm; revisions left over are on or behind a cycle. */
static int checkCycles(migrate_bundle *b, int bWithDeps, char **pzErr) {
  int n = b->nRev, i, nDone = 0, nQ = 0;
  int *aIn = sqlite3_malloc64(sizeof(int) * (size_t)(n + 1));
  int *aQ = sqlite3_malloc64(sizeof(int) * (size_t)(n + 1));
  int rc = SQLITE_OK;
  if (aIn == 0 || aQ == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (i = 0; i < n; i++) {
    aIn[i] = b->aRev[i].nparent + (bWithDeps ? b->aRev[i].ndepend : 0);
    if (aIn[i] == 0) aQ[nQ++] = i;
  }
  while (nQ > 0) {
    const migrate_revision *r = &b->aRev[aQ[--nQ]];
    int k;
    nDone++;
    for (k = 0; k < r->nchild; k++) {
      if (--aIn[r->child_idx[k]] == 0) aQ[nQ++] = r->child_idx[k];
    }
    if (bWithDeps) {
      for (k = 0; k < r->ndependent; k++) {
        if (--aIn[r->dependent_idx[k]] == 0) aQ[nQ++] = r->dependent_idx[k];
      }
    }
  }
  if (nDone < n) {
    MigBits *aLeft = bitsNew(b);
    char *zFiles;
    if (aLeft == 0) {
      rc = SQLITE_NOMEM;
      goto done;
    }
    for (i = 0; i < n; i++) {
      if (aIn[i] > 0) MIG_BIT_SET(aLeft, i);
    }
    zFiles = filesOf(b, aLeft);
    sqlite3_free(aLeft);
    if (zFiles == 0) {
      rc = SQLITE_NOMEM;
      goto done;
    }
    rc = migSetError(pzErr, SQLITE_ERROR,
                     "%s is detected in revisions %s; fix their %s lines",
                     bWithDeps ? "Dependency cycle" : "Cycle", zFiles,
                     bWithDeps ? "'Revises:' or 'Depends On:'" : "'Revises:'");
    sqlite3_free(zFiles);
  }
done:
  sqlite3_free(aIn);
  sqlite3_free(aQ);
  return rc;
}

/* Add label z to revision r's propagated label set if absent. */
static int addLabel(migrate_bundle *b, migrate_revision *r, const char *z,
                    int *anAlloc, int iRev) {
  int k;
  for (k = 0; k < r->nall_label; k++) {
    if (strcmp(r->all_labels[k], z) == 0) return SQLITE_OK;
  }
  if (r->nall_label >= anAlloc[iRev]) {
    int nNew = anAlloc[iRev] ? anAlloc[iRev] * 2 : 4;
    const char **aNew = migArenaAlloc(&b->arena, sizeof(char *) * (size_t)nNew);
    if (aNew == 0) return SQLITE_NOMEM;
    if (r->nall_label) {
      memcpy(aNew, r->all_labels, sizeof(char *) * (size_t)r->nall_label);
    }
    r->all_labels = aNew;
    anAlloc[iRev] = nNew;
  }
  r->all_labels[r->nall_label++] = z;
  return SQLITE_OK;
}

/* Alembic's _add_branches: a declared label spreads to the revision's
** descendants (children only), then down from the last revision that walk
** visited, through single parents, until a revision that is a branch point
** (children and dependents counted) or a merge point.  So it reaches the
** labelled revision's ancestors only when nothing above it branches or
** merges.  The walk is Alembic's stack-based one, children pushed in file
** order. */
static int propagateLabels(migrate_bundle *b) {
  int *anAlloc = sqlite3_malloc64(sizeof(int) * (size_t)(b->nRev + 1));
  int *aStack = 0;
  MigBits *aSeen = bitsNew(b);
  int i, rc = SQLITE_OK;
  size_t nEdge = 1;
  /* a revision is pushed once per parent that reaches it, at most */
  for (i = 0; i < b->nRev; i++) nEdge += (size_t)b->aRev[i].nchild;
  aStack = sqlite3_malloc64(sizeof(int) * nEdge);
  if (anAlloc == 0 || aStack == 0 || aSeen == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  memset(anAlloc, 0, sizeof(int) * (size_t)(b->nRev + 1));
  for (i = 0; i < b->nRev && rc == SQLITE_OK; i++) {
    migrate_revision *r = &b->aRev[i];
    int nStack = 0, iLast = i, j, k;
    if (r->nlabel == 0) continue;
    memset(aSeen, 0, MIG_BITS_WORDS(b->nRev) * sizeof(MigBits));
    aStack[nStack++] = i;
    while (nStack > 0 && rc == SQLITE_OK) {
      int x = aStack[--nStack];
      migrate_revision *q = &b->aRev[x];
      if (MIG_BIT_TEST(aSeen, x)) continue;
      MIG_BIT_SET(aSeen, x);
      for (k = 0; k < q->nchild; k++) {
        if (!MIG_BIT_TEST(aSeen, q->child_idx[k])) {
          aStack[nStack++] = q->child_idx[k];
        }
      }
      for (k = 0; k < r->nlabel && rc == SQLITE_OK; k++) {
        rc = addLabel(b, q, r->labels[k], anAlloc, x);
      }
      iLast = x;
    }
    j = iLast;
    while (j >= 0 && rc == SQLITE_OK) {
      migrate_revision *p = &b->aRev[j];
      if (p->nchild + p->ndependent > 1 || p->nparent > 1) break;
      for (k = 0; k < r->nlabel && rc == SQLITE_OK; k++) {
        rc = addLabel(b, p, r->labels[k], anAlloc, j);
      }
      j = p->nparent == 1 ? p->parent_idx[0] : -1;
    }
  }
done:
  sqlite3_free(anAlloc);
  sqlite3_free(aStack);
  sqlite3_free(aSeen);
  return rc;
}

/* The id index (open addressing over b->aHash); a duplicate id is an
** error naming both files. */
static int graphIndexIds(migrate_bundle *b, char **pzErr) {
  int n = b->nRev, i;
  b->nHash = 16;
  while (b->nHash < 2 * n) b->nHash *= 2;
  b->aHash = migArenaAlloc(&b->arena, sizeof(int) * (size_t)b->nHash);
  if (b->aHash == 0) return SQLITE_NOMEM;
  for (i = 0; i < n; i++) {
    int j = migrate_bundle_find(b, b->aRev[i].id);
    unsigned int h;
    if (j >= 0) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "%s: duplicate Revision ID '%s' (also in %s); give "
                         "one of them a new id",
                         b->aRev[i].file, b->aRev[i].id, b->aRev[j].file);
    }
    h = hashId(b->aRev[i].id) & (unsigned)(b->nHash - 1);
    while (b->aHash[h]) h = (h + 1) & (unsigned)(b->nHash - 1);
    b->aHash[h] = i + 1;
  }
  return SQLITE_OK;
}

/* The branch labels; a label that is also an id, or used twice, is an
** error naming the files. */
static int graphLabels(migrate_bundle *b, char **pzErr) {
  int n = b->nRev, i, k;
  for (i = 0; i < n; i++) b->nLabel += b->aRev[i].nlabel;
  b->azLabel =
      migArenaAlloc(&b->arena, sizeof(char *) * (size_t)(b->nLabel + 1));
  b->aLabelRev =
      migArenaAlloc(&b->arena, sizeof(int) * (size_t)(b->nLabel + 1));
  if (b->azLabel == 0 || b->aLabelRev == 0) return SQLITE_NOMEM;
  b->nLabel = 0;
  for (i = 0; i < n; i++) {
    const migrate_revision *r = &b->aRev[i];
    for (k = 0; k < r->nlabel; k++) {
      int j = migrate_bundle_find(b, r->labels[k]);
      if (j >= 0) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s: Branch name '%s' in revision %s is also the "
                           "id of revision %s (%s); choose another label",
                           r->file, r->labels[k], r->id, b->aRev[j].id,
                           b->aRev[j].file);
      }
      j = findLabel(b, r->labels[k]);
      if (j >= 0) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s: Branch name '%s' in revision %s already used "
                           "by revision %s (%s); choose another label",
                           r->file, r->labels[k], r->id, b->aRev[j].id,
                           b->aRev[j].file);
      }
      b->azLabel[b->nLabel] = r->labels[k];
      b->aLabelRev[b->nLabel++] = i;
    }
  }
  return SQLITE_OK;
}

/* Resolve revision i's parents and dependencies to indices, counting each
** target's children (aCnt[2j]) and dependents (aCnt[2j+1]). */
static int graphResolveEdges(migrate_bundle *b, int i, int *aCnt,
                             char **pzErr) {
  migrate_revision *r = &b->aRev[i];
  int k;
  r->parent_idx =
      migArenaAlloc(&b->arena, sizeof(int) * (size_t)(r->nparent + 1));
  r->depend_idx =
      migArenaAlloc(&b->arena, sizeof(int) * (size_t)(r->ndepend + 1));
  if (r->parent_idx == 0 || r->depend_idx == 0) return SQLITE_NOMEM;
  for (k = 0; k < r->nparent; k++) {
    int j = migrate_bundle_find(b, r->parents[k]);
    if (j < 0) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "%s: Revises names unknown revision '%s'; is its "
                         "file missing from the folder?",
                         r->file, r->parents[k]);
    }
    r->parent_idx[k] = j;
    aCnt[2 * j]++;
  }
  for (k = 0; k < r->ndepend; k++) {
    int j = mapLookup(b, r->depends[k]);
    if (j < 0) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "%s: Depends On names unknown revision or branch "
                         "label '%s'",
                         r->file, r->depends[k]);
    }
    if (j == i) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "%s: revision %s depends on itself (through label "
                         "'%s')",
                         r->file, r->id, r->depends[k]);
    }
    r->depend_idx[k] = j;
    aCnt[2 * j + 1]++;
  }
  return SQLITE_OK;
}

/* Parents and dependencies as indices, and the reverse lists (children,
** dependents). */
static int graphEdges(migrate_bundle *b, char **pzErr) {
  int n = b->nRev, i, k, rc = SQLITE_OK;
  int *aCnt = sqlite3_malloc64(sizeof(int) * 2 * (size_t)(n + 1));
  if (aCnt == 0) return SQLITE_NOMEM;
  memset(aCnt, 0, sizeof(int) * 2 * (size_t)(n + 1));
  for (i = 0; i < n && rc == SQLITE_OK; i++) {
    rc = graphResolveEdges(b, i, aCnt, pzErr);
  }
  for (i = 0; i < n && rc == SQLITE_OK; i++) {
    migrate_revision *r = &b->aRev[i];
    r->child_idx =
        migArenaAlloc(&b->arena, sizeof(int) * (size_t)(aCnt[2 * i] + 1));
    r->dependent_idx =
        migArenaAlloc(&b->arena, sizeof(int) * (size_t)(aCnt[2 * i + 1] + 1));
    if (r->child_idx == 0 || r->dependent_idx == 0) rc = SQLITE_NOMEM;
  }
  sqlite3_free(aCnt);
  if (rc) return rc;
  for (i = 0; i < n; i++) {
    migrate_revision *r = &b->aRev[i];
    for (k = 0; k < r->nparent; k++) {
      migrate_revision *p = &b->aRev[r->parent_idx[k]];
      p->child_idx[p->nchild++] = i;
    }
    for (k = 0; k < r->ndepend; k++) {
      migrate_revision *p = &b->aRev[r->depend_idx[k]];
      p->dependent_idx[p->ndependent++] = i;
    }
  }
  return SQLITE_OK;
}

/* Down edges for walks: each revision's parents (its normalized
** dependencies are added by graphNormalizeDeps once there are no cycles). */
static int graphDownEdges(migrate_bundle *b) {
  int n = b->nRev, i, k;
  b->aaDown = migArenaAlloc(&b->arena, sizeof(int *) * (size_t)(n + 1));
  b->anDown = migArenaAlloc(&b->arena, sizeof(int) * (size_t)(n + 1));
  if (b->aaDown == 0 || b->anDown == 0) return SQLITE_NOMEM;
  for (i = 0; i < n; i++) {
    migrate_revision *r = &b->aRev[i];
    b->aaDown[i] = migArenaAlloc(
        &b->arena, sizeof(int) * (size_t)(r->nparent + r->ndepend + 1));
    if (b->aaDown[i] == 0) return SQLITE_NOMEM;
    for (k = 0; k < r->nparent; k++)
      b->aaDown[i][b->anDown[i]++] = r->parent_idx[k];
  }
  return SQLITE_OK;
}

/* Alembic walks "normalized" dependencies (those not already a dependency
** of an ancestor); the closure is the same, and so is the sort.  Adds them
** to the down edges. */
static int graphNormalizeDeps(migrate_bundle *b) {
  int n = b->nRev, i, k;
  for (i = 0; i < n; i++) {
    migrate_revision *r = &b->aRev[i];
    MigBits *aAnc, *aAncDeps;
    int j;
    if (r->ndepend == 0) continue;
    aAnc = reach(b, &i, 1, W_ANC_PAR);
    aAncDeps = bitsNew(b);
    if (aAnc == 0 || aAncDeps == 0) {
      sqlite3_free(aAnc);
      sqlite3_free(aAncDeps);
      return SQLITE_NOMEM;
    }
    for (j = 0; j < n; j++) {
      int m;
      if (j == i || !MIG_BIT_TEST(aAnc, j)) continue;
      for (m = 0; m < b->aRev[j].ndepend; m++) {
        MIG_BIT_SET(aAncDeps, b->aRev[j].depend_idx[m]);
      }
    }
    for (k = 0; k < r->ndepend; k++) {
      int d = r->depend_idx[k], m, bDup = 0;
      if (MIG_BIT_TEST(aAncDeps, d)) continue;
      for (m = 0; m < b->anDown[i]; m++) bDup |= b->aaDown[i][m] == d;
      if (!bDup) b->aaDown[i][b->anDown[i]++] = d;
    }
    sqlite3_free(aAnc);
    sqlite3_free(aAncDeps);
  }
  return SQLITE_OK;
}

/* Heads, real heads (nothing builds on them), bases and each revision's
** flags. */
static int graphFlags(migrate_bundle *b) {
  int n = b->nRev, i;
  MigArena *pA = &b->arena;
  b->aHead = migArenaAlloc(pA, sizeof(int) * (size_t)(n + 1));
  b->aRealHead = migArenaAlloc(pA, sizeof(int) * (size_t)(n + 1));
  b->aBase = migArenaAlloc(pA, sizeof(int) * (size_t)(n + 1));
  b->aOrder = migArenaAlloc(pA, sizeof(int) * (size_t)(n + 1));
  if (!b->aHead || !b->aRealHead || !b->aBase || !b->aOrder) {
    return SQLITE_NOMEM;
  }
  for (i = 0; i < n; i++) {
    migrate_revision *r = &b->aRev[i];
    r->is_head = r->nchild == 0;
    r->is_base = r->nparent == 0;
    r->is_merge = r->nparent > 1;
    r->is_branchpoint = r->nchild > 1;
    r->is_real_head = r->nchild == 0 && r->ndependent == 0;
    if (r->is_head) b->aHead[b->nHead++] = i;
    if (r->nchild == 0 && r->ndependent == 0) b->aRealHead[b->nRealHead++] = i;
    if (r->is_base) b->aBase[b->nBase++] = i;
  }
  return SQLITE_OK;
}

/* History order: Alembic's walk from the heads, reversed. */
static int graphOrder(migrate_bundle *b) {
  int n = b->nRev, i, rc, nOut = 0;
  MigBits *aAll;
  if (n == 0) return SQLITE_OK;
  aAll = bitsNew(b);
  if (aAll == 0) return SQLITE_NOMEM;
  for (i = 0; i < n; i++) MIG_BIT_SET(aAll, i);
  rc = topoSort(b, aAll, b->aRealHead, b->nRealHead, b->aOrder, &nOut);
  sqlite3_free(aAll);
  if (rc) return rc;
  for (i = 0; i < nOut / 2; i++) {
    int t = b->aOrder[i];
    b->aOrder[i] = b->aOrder[nOut - 1 - i];
    b->aOrder[nOut - 1 - i] = t;
  }
  return SQLITE_OK;
}

/* Build the graph: see internal.h. */
int migGraphBuild(migrate_bundle *b, char **pzErr) {
  int rc = graphIndexIds(b, pzErr);
  if (rc == SQLITE_OK) rc = graphLabels(b, pzErr);
  if (rc == SQLITE_OK) rc = graphEdges(b, pzErr);
  if (rc == SQLITE_OK) rc = graphDownEdges(b);
  if (rc == SQLITE_OK) rc = checkCycles(b, 0, pzErr);
  if (rc == SQLITE_OK) rc = checkCycles(b, 1, pzErr);
  if (rc == SQLITE_OK) rc = graphNormalizeDeps(b);
  if (rc == SQLITE_OK) rc = graphFlags(b);
  if (rc == SQLITE_OK) rc = propagateLabels(b);
  if (rc == SQLITE_OK) rc = graphOrder(b);
  return rc;
}

/* ======================================================================
** Resolution (Alembic's RevisionMap, one function each)
*/

/* Does revision a share lineage (ancestor or descendant, parents only)
** with revision c?  Returns 1/0, or -1 on OOM. */
static int sharesLineage(const migrate_bundle *b, int a, int c) {
  MigBits *x;
  int r;
  if (a < 0 || c < 0) return 0;
  x = reach(b, &a, 1, W_DESC_CHILD);
  if (x == 0) return -1;
  r = MIG_BIT_TEST(x, c);
  if (!r) {
    memset(x, 0, MIG_BITS_WORDS(b->nRev) * sizeof(MigBits));
    if (walkFrom(b, &a, 1, W_ANC_PAR, x)) {
      sqlite3_free(x);
      return -1;
    }
    r = MIG_BIT_TEST(x, c);
  }
  sqlite3_free(x);
  return r;
}

static int revForIdent(const migrate_bundle *b, const char *zId,
                       const char *zLabel, int *piRev, char **pzErr);

/* Alembic's _resolve_branch: a label, a revision id, or a prefix. */
static int resolveBranch(const migrate_bundle *b, const char *zLabel,
                         int *piRev, char **pzErr) {
  int i = mapLookup(b, zLabel);
  if (i >= 0) {
    *piRev = i;
    return SQLITE_OK;
  }
  if (revForIdent(b, zLabel, 0, piRev, pzErr) == SQLITE_OK) return SQLITE_OK;
  return migSetError(pzErr, SQLITE_ERROR, "No such branch: '%s'", zLabel);
}

/* Keep those of a[0..*pn) that share lineage with branch zLabel (Alembic's
** filter_for_lineage).  Entries < 0 are dropped. */
static int filterLineage(const migrate_bundle *b, int *a, int *pn,
                         const char *zLabel, char **pzErr) {
  int iBr, i, n = 0, rc;
  rc = resolveBranch(b, zLabel, &iBr, pzErr);
  if (rc) return rc;
  for (i = 0; i < *pn; i++) {
    int s = sharesLineage(b, a[i], iBr);
    if (s < 0) return SQLITE_NOMEM;
    if (s) a[n++] = a[i];
  }
  *pn = n;
  return SQLITE_OK;
}

/* Alembic's _revision_for_ident: exact id or label, else a unique prefix of
** more than 3 characters; with zLabel, the revision must be on that
** branch. */
static int revForIdent(const migrate_bundle *b, const char *zId,
                       const char *zLabel, int *piRev, char **pzErr) {
  int iBr = -1, i, rc;
  if (zLabel) {
    rc = resolveBranch(b, zLabel, &iBr, pzErr);
    if (rc) return rc;
  }
  i = mapLookup(b, zId);
  if (i < 0) {
    /* partial match over ids, then labels (the map's key order) */
    size_t n = strlen(zId);
    IntList m = {0};
    IntList keyIsLabel = {0};
    int j;
    /* as Alembic: any prefix of an id (or label) longer than 3 chars */
    for (j = 0; j < b->nRev; j++) {
      const char *z = b->aRev[j].id;
      if (strlen(z) > 3 && strncmp(z, zId, n) == 0) {
        listAdd(&m, j);
        listAdd(&keyIsLabel, -1);
      }
    }
    for (j = 0; j < b->nLabel; j++) {
      const char *z = b->azLabel[j];
      if (strlen(z) > 3 && strncmp(z, zId, n) == 0) {
        listAdd(&m, b->aLabelRev[j]);
        listAdd(&keyIsLabel, j);
      }
    }
    if (m.rc || keyIsLabel.rc) {
      sqlite3_free(m.a);
      sqlite3_free(keyIsLabel.a);
      return SQLITE_NOMEM;
    }
    if (zLabel && m.n > 0) {
      int k, nKeep = 0;
      for (k = 0; k < m.n; k++) {
        int s = sharesLineage(b, m.a[k], iBr);
        if (s < 0) {
          sqlite3_free(m.a);
          sqlite3_free(keyIsLabel.a);
          return SQLITE_NOMEM;
        }
        if (s) {
          m.a[nKeep] = m.a[k];
          keyIsLabel.a[nKeep++] = keyIsLabel.a[k];
        }
      }
      m.n = keyIsLabel.n = nKeep;
    }
    if (m.n == 0) {
      rc = migSetError(pzErr, SQLITE_ERROR, "No such revision or branch '%s'%s",
                       zId,
                       n < 4 ? "; please ensure at least four characters are "
                               "present for partial revision identifier "
                               "matches"
                             : "");
    } else if (m.n > 1) {
      MigStr s = {0};
      int k;
      for (k = 0; k < m.n && k < 3; k++) {
        if (k) migStrAppendZ(&s, ", ");
        migStrAppendf(&s, "'%s'",
                      keyIsLabel.a[k] >= 0 ? b->azLabel[keyIsLabel.a[k]]
                                           : b->aRev[m.a[k]].id);
      }
      {
        char *zList = migStrFinish(&s);
        rc = zList ? migSetError(pzErr, SQLITE_ERROR,
                                 "Multiple revisions start with '%s': %s...",
                                 zId, zList)
                   : SQLITE_NOMEM;
        sqlite3_free(zList);
      }
    } else {
      i = m.a[0];
      rc = SQLITE_OK;
    }
    sqlite3_free(m.a);
    sqlite3_free(keyIsLabel.a);
    if (rc) return rc;
  }
  if (zLabel) {
    int s = sharesLineage(b, i, iBr);
    if (s < 0) return SQLITE_NOMEM;
    if (!s) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "Revision %s is not a member of branch '%s'",
                         b->aRev[i].id, zLabel);
    }
  }
  *piRev = i;
  return SQLITE_OK;
}

/* The message Alembic's command layer gives for several heads. */
static int multipleHeads(const migrate_bundle *b, const int *a, int n,
                         const char *zArg, char **pzErr) {
  char *zHeads = idList(b, a, n, ", ", 0);
  int rc;
  if (zHeads == 0) return SQLITE_NOMEM;
  rc = migSetError(pzErr, SQLITE_ERROR,
                   "Multiple head revisions are present for given argument "
                   "'%s'; please specify a specific target revision, "
                   "'<branchname>@%s' to narrow to a specific head, or "
                   "'heads' for all heads (heads: %s)",
                   zArg, strstr(zArg, "@") ? strstr(zArg, "@") + 1 : zArg,
                   zHeads);
  sqlite3_free(zHeads);
  return rc;
}

/* Resolve "id" with an optional label into a list of revisions (Alembic's
** get_revisions): heads, head, base, or one revision.  zArg is the whole
** target, for messages.  *pn may be 0 (base). */
static int getRevisions(const migrate_bundle *b, const char *zLabel,
                        const char *zId, const char *zArg, IntList *pOut,
                        char **pzErr) {
  int rc, i;
  if (strcmp(zId, "heads") == 0) {
    if (zLabel) {
      int *a = sqlite3_malloc64(sizeof(int) * (size_t)(b->nHead + 1));
      int n = b->nHead;
      if (a == 0) return SQLITE_NOMEM;
      memcpy(a, b->aHead, sizeof(int) * (size_t)n);
      rc = filterLineage(b, a, &n, zLabel, pzErr);
      for (i = 0; rc == SQLITE_OK && i < n; i++) listAdd(pOut, a[i]);
      sqlite3_free(a);
      return rc ? rc : pOut->rc;
    }
    for (i = 0; i < b->nRealHead; i++) listAdd(pOut, b->aRealHead[i]);
    return pOut->rc;
  }
  if (strcmp(zId, "head") == 0) {
    int *a = sqlite3_malloc64(sizeof(int) * (size_t)(b->nHead + 1));
    int n = b->nHead;
    if (a == 0) return SQLITE_NOMEM;
    memcpy(a, b->aHead, sizeof(int) * (size_t)n);
    rc = zLabel ? filterLineage(b, a, &n, zLabel, pzErr) : SQLITE_OK;
    if (rc == SQLITE_OK && n > 1) rc = multipleHeads(b, a, n, zArg, pzErr);
    if (rc == SQLITE_OK && n == 1) listAdd(pOut, a[0]);
    sqlite3_free(a);
    return rc ? rc : pOut->rc;
  }
  if (strcmp(zId, "base") == 0 || zId[0] == 0) return SQLITE_OK;
  rc = revForIdent(b, zId, zLabel, &i, pzErr);
  if (rc == SQLITE_OK) listAdd(pOut, i);
  return rc ? rc : pOut->rc;
}

/* Alembic's get_revision: one revision, R_NONE for base. */
static int getRevision(const migrate_bundle *b, const char *zLabel,
                       const char *zId, const char *zArg, int *piRev,
                       char **pzErr) {
  IntList l = {0};
  int rc;
  if (strcmp(zId, "heads") == 0) {
    /* get_revision("heads") raises MultipleHeads when there are several */
    rc = getRevisions(b, zLabel, zId, zArg, &l, pzErr);
    if (rc == SQLITE_OK && l.n > 1)
      rc = multipleHeads(b, l.a, l.n, zArg, pzErr);
  } else {
    rc = getRevisions(b, zLabel, zId, zArg, &l, pzErr);
  }
  if (rc == SQLITE_OK) *piRev = l.n ? l.a[0] : R_NONE;
  sqlite3_free(l.a);
  return rc;
}

/* Describe a revision's parents or children for "Ambiguous walk". */
static int ambiguousWalk(const migrate_bundle *b, int iFrom, const int *a,
                         int n, int bUp, char **pzErr) {
  char *zList = idList(b, a, n, ", ", 0);
  int rc;
  if (zList == 0) return SQLITE_NOMEM;
  if (iFrom < 0) {
    rc = migSetError(pzErr, SQLITE_ERROR,
                     "Ambiguous walk: there are several %s (%s); name a "
                     "revision or a branch ('<branchname>@%s1')",
                     bUp ? "bases" : "heads", zList, bUp ? "+" : "-");
  } else {
    rc = migSetError(
        pzErr, SQLITE_ERROR,
        "Ambiguous walk: revision %s %s (%s); name a revision "
        "or a branch ('<branchname>@%s1')",
        b->aRev[iFrom].id,
        bUp ? "is a branch point with children" : "is a merge point of", zList,
        bUp ? "+" : "-");
  }
  sqlite3_free(zList);
  return rc;
}

/* Alembic's _walk.  iStart is a revision, R_NONE or R_BASE.  *piOut gets a
** revision, R_BASE, or R_NONE when the walk went past the end (overwalk). */
static int walkSteps(const migrate_bundle *b, int iStart, int nSteps,
                     const char *zLabel, int *piOut, char **pzErr) {
  int cur = iStart, s;
  int nAbs = nSteps < 0 ? -nSteps : nSteps;
  for (s = 0; s < nAbs; s++) {
    int *a = 0, n = 0, rc = SQLITE_OK;
    if (nSteps > 0) {
      const int *aSrc;
      int nSrc;
      if (cur == R_BASE) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "cannot walk up from base in this target");
      }
      if (cur == R_NONE) {
        aSrc = b->aBase;
        nSrc = b->nBase;
      } else {
        aSrc = b->aRev[cur].child_idx;
        nSrc = b->aRev[cur].nchild;
      }
      a = sqlite3_malloc64(sizeof(int) * (size_t)(nSrc + 1));
      if (a == 0) return SQLITE_NOMEM;
      if (nSrc) memcpy(a, aSrc, sizeof(int) * (size_t)nSrc);
      n = nSrc;
      if (zLabel) rc = filterLineage(b, a, &n, zLabel, pzErr);
    } else if (cur != R_BASE) {
      const int *aSrc;
      int nSrc;
      if (cur == R_NONE) {
        aSrc = b->aHead;
        nSrc = b->nHead;
      } else {
        aSrc = b->aRev[cur].parent_idx;
        nSrc = b->aRev[cur].nparent;
      }
      a = sqlite3_malloc64(sizeof(int) * (size_t)(nSrc + 1));
      if (a == 0) return SQLITE_NOMEM;
      if (nSrc) memcpy(a, aSrc, sizeof(int) * (size_t)nSrc);
      n = nSrc;
      if (n == 0) {
        a[0] = R_BASE;
        n = 1;
      }
    }
    if (rc == SQLITE_OK && n == 0) {
      sqlite3_free(a);
      *piOut = R_NONE;
      return SQLITE_OK;
    }
    if (rc == SQLITE_OK && n > 1)
      rc = ambiguousWalk(b, cur, a, n, nSteps > 0, pzErr);
    if (rc) {
      sqlite3_free(a);
      return rc;
    }
    cur = a[0];
    sqlite3_free(a);
  }
  *piOut = cur;
  return SQLITE_OK;
}

/* A parsed target: [label@](symbol)?([+-]N)? */
typedef struct Target {
  char zLabel[MIG_MAX_ID * 4 + 8]; /* "" when none */
  char zSym[MIG_MAX_ID * 4 + 8];   /* "" when none */
  int bRel;                        /* a relative step is present */
  int nRel;                        /* signed step count */
  const char *zArg;                /* the whole target */
} Target;

/* Split a target string.  Returns SQLITE_OK or an error for malformed
** input (too long, empty parts, huge steps). */
static int parseTarget(const char *zTarget, Target *t, char **pzErr) {
  const char *zAt = strchr(zTarget, '@');
  const char *zRest = zTarget;
  size_t n = strlen(zTarget), i, j;
  memset(t, 0, sizeof(*t));
  t->zArg = zTarget;
  if (n == 0) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "empty target; give head, heads, base, a revision, "
                       "+N or -N");
  }
  if (n > MIG_MAX_ID * 3) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "target is %d characters long; revision ids have at "
                       "most %d",
                       (int)(n > 100000 ? 100000 : n), MIG_MAX_ID);
  }
  if (zAt) {
    if (zAt == zTarget) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "No such revision or branch '%s'; a branch label "
                         "must come before '@'",
                         zTarget);
    }
    if (zAt[1] == 0) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "No such revision or branch '%s'; a revision, head, "
                         "heads, base or a relative step must come after '@'",
                         zTarget);
    }
    memcpy(t->zLabel, zTarget, (size_t)(zAt - zTarget));
    zRest = zAt + 1;
  }
  /* relative part: \w*[+-]\d+ at the end */
  i = strlen(zRest);
  j = i;
  while (j > 0 && isdigit((unsigned char)zRest[j - 1])) j--;
  if (j < i && j > 0 && (zRest[j - 1] == '+' || zRest[j - 1] == '-')) {
    size_t k;
    int bWord = 1;
    for (k = 0; k + 1 < j; k++) {
      if (!(isalnum((unsigned char)zRest[k]) || zRest[k] == '_')) bWord = 0;
    }
    if (bWord) {
      long long v = 0;
      size_t d;
      if (i - j > 9) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "relative step '%s' is too large", zRest + j - 1);
      }
      for (d = j; d < i; d++) v = v * 10 + (zRest[d] - '0');
      t->bRel = 1;
      t->nRel = (int)(zRest[j - 1] == '-' ? -v : v);
      memcpy(t->zSym, zRest, j - 1);
      return SQLITE_OK;
    }
  }
  memcpy(t->zSym, zRest, i);
  return SQLITE_OK;
}

/* Alembic's _parse_upgrade_target: the revisions to upgrade to. */
static int parseUpgradeTarget(const migrate_bundle *b, const int *aCur,
                              int nCur, const Target *t, IntList *pOut,
                              char **pzErr) {
  const char *zLabel = t->zLabel[0] ? t->zLabel : 0;
  int rc = SQLITE_OK, iRev = R_NONE;
  if (!t->bRel) return getRevisions(b, zLabel, t->zSym, t->zArg, pOut, pzErr);
  if (t->nRel > 0 || (t->nRel == 0 && strchr(t->zArg, '+'))) {
    if (t->zSym[0] == 0) {
      int *aStart =
          sqlite3_malloc64(sizeof(int) * (size_t)(b->nRev + nCur + 1));
      int nStart = 0, i;
      if (aStart == 0) return SQLITE_NOMEM;
      for (i = 0; i < nCur; i++) aStart[nStart++] = aCur[i];
      if (zLabel) {
        rc = filterLineage(b, aStart, &nStart, zLabel, pzErr);
        if (rc == SQLITE_OK && nStart == 0 && nCur > 0) {
          /* the branch is not at a head: find its tips among the applied */
          MigBits *aAct = reach(b, aCur, nCur, W_ANC);
          int *aAll;
          int nAll = 0, iBr;
          if (aAct == 0) {
            sqlite3_free(aStart);
            return SQLITE_NOMEM;
          }
          aAll = sqlite3_malloc64(sizeof(int) * (size_t)(b->nRev + 1));
          if (aAll == 0) {
            sqlite3_free(aAct);
            sqlite3_free(aStart);
            return SQLITE_NOMEM;
          }
          for (i = 0; i < b->nRev; i++) {
            if (MIG_BIT_TEST(aAct, i)) aAll[nAll++] = i;
          }
          rc = resolveBranch(b, zLabel, &iBr, pzErr);
          if (rc == SQLITE_OK)
            rc = filterLineage(b, aAll, &nAll, zLabel, pzErr);
          if (rc == SQLITE_OK) {
            /* tips: not a down revision of another member */
            MigBits *aIn = bitsNew(b);
            if (aIn == 0) {
              rc = SQLITE_NOMEM;
            } else {
              int k, m;
              for (k = 0; k < nAll; k++) MIG_BIT_SET(aIn, aAll[k]);
              for (k = 0; k < nAll; k++) {
                for (m = 0; m < b->anDown[aAll[k]]; m++) {
                  MIG_BIT_CLEAR(aIn, b->aaDown[aAll[k]][m]);
                }
              }
              for (k = 0; k < nAll; k++) {
                if (MIG_BIT_TEST(aIn, aAll[k])) aStart[nStart++] = aAll[k];
              }
              sqlite3_free(aIn);
            }
          }
          sqlite3_free(aAll);
          sqlite3_free(aAct);
        }
        if (rc == SQLITE_OK && nStart == 0) aStart[nStart++] = R_NONE;
      } else if (nStart == 0) {
        aStart[nStart++] = R_NONE;
      }
      if (rc == SQLITE_OK && nStart > 1) {
        char *zList = idList(b, aStart, nStart, ", ", 0);
        rc = zList ? migSetError(pzErr, SQLITE_ERROR,
                                 "Ambiguous upgrade from multiple current "
                                 "revisions (%s); use '<branchname>@+%d' or "
                                 "'<revision>+%d'",
                                 zList, t->nRel, t->nRel)
                   : SQLITE_NOMEM;
        sqlite3_free(zList);
      }
      if (rc == SQLITE_OK) {
        rc = walkSteps(b, aStart[0], t->nRel, zLabel, &iRev, pzErr);
      }
      sqlite3_free(aStart);
      if (rc) return rc;
      if (iRev == R_NONE) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "Relative revision %s didn't produce %d "
                           "migrations",
                           strrchr(t->zArg, '+'), t->nRel);
      }
    } else {
      int iStart;
      rc = getRevision(b, 0, t->zSym, t->zArg, &iStart, pzErr);
      if (rc == SQLITE_OK)
        rc = walkSteps(b, iStart, t->nRel, zLabel, &iRev, pzErr);
      if (rc) return rc;
      if (iRev == R_NONE) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "Walked too far: %s goes past the heads", t->zArg);
      }
    }
  } else {
    int iStart;
    if (t->zSym[0] == 0) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "Relative revision %d didn't produce %d migrations",
                         t->nRel, -t->nRel);
    }
    rc = getRevision(b, zLabel, t->zSym, t->zArg, &iStart, pzErr);
    if (rc == SQLITE_OK) rc = walkSteps(b, iStart, t->nRel, 0, &iRev, pzErr);
    if (rc) return rc;
    if (iRev == R_NONE) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "Walked too far: %s goes past the base", t->zArg);
    }
  }
  if (iRev >= 0) listAdd(pOut, iRev);
  return pOut->rc;
}

/* The revisions among a[0..n) that have no other member as a descendant
** (Alembic's _filter_into_branch_heads). */
static int branchTips(const migrate_bundle *b, const MigBits *aSet,
                      IntList *pOut) {
  int i;
  for (i = 0; i < b->nRev; i++) {
    MigBits *aD;
    int j, bTip = 1;
    if (!MIG_BIT_TEST(aSet, i)) continue;
    aD = reach(b, &i, 1, W_DESC_CHILD);
    if (aD == 0) return SQLITE_NOMEM;
    for (j = 0; j < b->nRev && bTip; j++) {
      if (j != i && MIG_BIT_TEST(aSet, j) && MIG_BIT_TEST(aD, j)) bTip = 0;
    }
    sqlite3_free(aD);
    if (bTip) listAdd(pOut, i);
  }
  return pOut->rc;
}

/* Alembic's _parse_downgrade_target: *pzLabel (static buffer in t or
** NULL) and the target revision (R_NONE for base). */
static int parseDowngradeTarget(const migrate_bundle *b, const int *aCur,
                                int nCur, Target *t, const char **pzLabel,
                                int *piRev, char **pzErr) {
  const char *zLabel = t->zLabel[0] ? t->zLabel : 0;
  int rc = SQLITE_OK, iRev = R_NONE;
  *pzLabel = zLabel;
  if (!t->bRel) return getRevision(b, 0, t->zSym, t->zArg, piRev, pzErr);
  if (t->nRel > 0 || (t->nRel == 0 && !strchr(t->zArg, '-'))) {
    int iStart;
    if (t->zSym[0] == 0) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "Relative revision +%d didn't produce %d migrations",
                         t->nRel, t->nRel);
    }
    rc = getRevision(b, 0, t->zSym, t->zArg, &iStart, pzErr);
    if (rc == SQLITE_OK)
      rc = walkSteps(b, iStart, t->nRel, zLabel, &iRev, pzErr);
    if (rc) return rc;
    if (iRev == R_NONE) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "Walked too far: %s goes past the heads", t->zArg);
    }
  } else {
    int bRelRev = t->zSym[0] == 0;
    int iStart;
    if (bRelRev) {
      if (zLabel) {
        int *a = sqlite3_malloc64(sizeof(int) * (size_t)(nCur + 1));
        int n = nCur;
        if (a == 0) return SQLITE_NOMEM;
        if (nCur) memcpy(a, aCur, sizeof(int) * (size_t)nCur);
        rc = filterLineage(b, a, &n, zLabel, pzErr);
        if (rc == SQLITE_OK && n == 0) {
          /* every branch head depends on the current one: look at all the
          ** applied revisions' tips */
          MigBits *aAll = reach(b, aCur, nCur, W_ANC);
          IntList l = {0};
          if (aAll == 0) {
            rc = SQLITE_NOMEM;
          } else {
            rc = branchTips(b, aAll, &l);
            sqlite3_free(aAll);
          }
          if (rc == SQLITE_OK) {
            sqlite3_free(a);
            a = l.a;
            n = l.n;
            l.a = 0;
            rc = filterLineage(b, a, &n, zLabel, pzErr);
          }
          sqlite3_free(l.a);
        }
        if (rc == SQLITE_OK && n != 1) {
          rc = migSetError(pzErr, SQLITE_ERROR,
                           n == 0 ? "Relative revision %s: the database has "
                                    "no applied revision on branch '%s'"
                                  : "Relative revision %s: the database has "
                                    "several applied heads on branch '%s'",
                           t->zArg, zLabel);
        }
        if (rc == SQLITE_OK) {
          snprintf(t->zSym, sizeof(t->zSym), "%s", b->aRev[a[0]].id);
        }
        sqlite3_free(a);
        if (rc) return rc;
      } else {
        if (nCur == 0) {
          return migSetError(pzErr, SQLITE_ERROR,
                             "Relative revision %d didn't produce %d "
                             "migrations (the database is at base)",
                             t->nRel, -t->nRel);
        }
        if (nCur > 1) {
          /* Alembic warns and picks one arbitrarily; we refuse. */
          char *zList = idList(b, aCur, nCur, ", ", 0);
          rc = zList ? migSetError(pzErr, SQLITE_ERROR,
                                   "Relative revision %d is ambiguous: the "
                                   "database has several heads (%s); use "
                                   "'<revision>%d' or '<branchname>@%d'",
                                   t->nRel, zList, t->nRel, t->nRel)
                     : SQLITE_NOMEM;
          sqlite3_free(zList);
          return rc;
        }
        snprintf(t->zSym, sizeof(t->zSym), "%s", b->aRev[aCur[0]].id);
        snprintf(t->zLabel, sizeof(t->zLabel), "%s", b->aRev[aCur[0]].id);
        zLabel = t->zLabel;
        *pzLabel = zLabel;
      }
    }
    rc = getRevision(b, zLabel, t->zSym, t->zArg, &iStart, pzErr);
    if (rc == SQLITE_OK) rc = walkSteps(b, iStart, t->nRel, 0, &iRev, pzErr);
    if (rc) return rc;
    if (iRev == R_NONE) {
      if (bRelRev) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "Relative revision %d didn't produce %d migrations",
                           t->nRel, -t->nRel);
      }
      return migSetError(pzErr, SQLITE_ERROR,
                         "Walked too far: %s goes past the base", t->zArg);
    }
  }
  *piRev = iRev == R_BASE ? R_NONE : iRev;
  return SQLITE_OK;
}

/* Alembic's check=True: no target may be an ancestor of another.  bRows:
** a[] are the version rows, and the message says how to get out. */
static int checkOverlap(const migrate_bundle *b, const int *a, int n, int bRows,
                        char **pzErr) {
  int i, j;
  if (n < 2) return SQLITE_OK;
  for (i = 0; i < n; i++) {
    MigBits *aAnc = reach(b, &a[i], 1, W_ANC);
    IntList l = {0};
    if (aAnc == 0) return SQLITE_NOMEM;
    for (j = 0; j < n; j++) {
      if (j != i && a[j] != a[i] && MIG_BIT_TEST(aAnc, a[j])) listAdd(&l, a[j]);
    }
    sqlite3_free(aAnc);
    if (l.rc) return l.rc;
    if (l.n) {
      char *zList = idList(b, l.a, l.n, ", ", 0);
      int rc = zList ? migSetError(pzErr, SQLITE_ERROR,
                                   "Requested revision %s overlaps with other "
                                   "requested revisions %s%s%s%s",
                                   b->aRev[a[i]].id, zList,
                                   bRows ? "; the version table holds both "
                                           "(after a downgrade to a revision "
                                           "that another applied revision "
                                           "depends on, Alembic keeps it as "
                                           "a row, and then refuses to "
                                           "upgrade too): stamp "
                                         : "",
                                   bRows ? b->aRev[a[i]].id : "",
                                   bRows ? " to keep one row" : "")
                     : SQLITE_NOMEM;
      sqlite3_free(zList);
      sqlite3_free(l.a);
      return rc;
    }
  }
  return SQLITE_OK;
}

/* ======================================================================
** Plans
*/

void migPlanFree(MigPlan *p) {
  sqlite3_free(p->aStep);
  sqlite3_free(p->aStamp);
  memset(p, 0, sizeof(*p));
}

/* Fill p->aStep from aOrder[0..n). */
static int planSteps(MigPlan *p, const int *aOrder, int n, int bUp, int bRev) {
  int i;
  p->aStep = sqlite3_malloc64(sizeof(MigStep) * (size_t)(n + 1));
  if (p->aStep == 0) return SQLITE_NOMEM;
  for (i = 0; i < n; i++) {
    p->aStep[i].iRev = bRev ? aOrder[n - 1 - i] : aOrder[i];
    p->aStep[i].isUpgrade = bUp;
  }
  p->nStep = n;
  return SQLITE_OK;
}

/* Alembic's _collect_upgrade_revisions + _topological_sort, reversed. */
static int planUpgrade(migrate_bundle *b, const int *aCur, int nCur,
                       const int *aTgt, int nTgt, MigPlan *p, char **pzErr) {
  MigBits *aReq = 0, *aHave = 0;
  int *aOrder = 0, nOrder = 0, rc;
  size_t w;
  rc = checkOverlap(b, aTgt, nTgt, 0, pzErr);
  if (rc == SQLITE_OK) rc = checkOverlap(b, aCur, nCur, 1, pzErr);
  if (rc) return rc;
  aReq = reach(b, aTgt, nTgt, W_ANC);
  aHave = reach(b, aCur, nCur, W_ANC);
  aOrder = sqlite3_malloc64(sizeof(int) * (size_t)(b->nRev + 1));
  if (aReq == 0 || aHave == 0 || aOrder == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (w = 0; w < MIG_BITS_WORDS(b->nRev); w++) aReq[w] &= ~aHave[w];
  rc = topoSort(b, aReq, aTgt, nTgt, aOrder, &nOrder);
  if (rc == SQLITE_OK) rc = planSteps(p, aOrder, nOrder, 1, 1);
done:
  sqlite3_free(aReq);
  sqlite3_free(aHave);
  sqlite3_free(aOrder);
  return rc;
}

/* Alembic's _collect_downgrade_revisions + _topological_sort. */
static int planDowngrade(migrate_bundle *b, const int *aCur, int nCur,
                         const char *zLabel, int iTarget, const char *zArg,
                         MigPlan *p, char **pzErr) {
  IntList roots = {0};
  MigBits *aDown = 0, *aAct = 0;
  int *aOrder = 0, nOrder = 0, rc = SQLITE_OK, i;
  size_t w;
  int bAny = 0;

  if (iTarget < 0) {
    for (i = 0; i < b->nRev; i++) {
      if (b->aRev[i].nparent == 0) listAdd(&roots, i);
    }
  } else {
    for (i = 0; i < b->aRev[iTarget].nchild; i++) {
      listAdd(&roots, b->aRev[iTarget].child_idx[i]);
    }
  }
  if (roots.rc) return roots.rc;
  if (zLabel && roots.n > 1) {
    int iBr, n = 0;
    MigBits *aAnc;
    rc = resolveBranch(b, zLabel, &iBr, pzErr);
    if (rc) goto done;
    aAnc = reach(b, &iBr, 1, W_ANC_PAR);
    if (aAnc == 0) {
      rc = SQLITE_NOMEM;
      goto done;
    }
    for (i = 0; i < roots.n; i++) {
      if (MIG_BIT_TEST(aAnc, roots.a[i])) roots.a[n++] = roots.a[i];
    }
    roots.n = n;
    sqlite3_free(aAnc);
    if (n == 0) {
      rc = migSetError(pzErr, SQLITE_ERROR,
                       "Not a valid downgrade target from current heads");
      goto done;
    }
  }
  aDown = reach(b, roots.a, roots.n, W_DESC);
  aAct = reach(b, aCur, nCur, W_ANC);
  aOrder = sqlite3_malloc64(sizeof(int) * (size_t)(b->nRev + 1));
  if (aDown == 0 || aAct == 0 || aOrder == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (w = 0; w < MIG_BITS_WORDS(b->nRev); w++) {
    aDown[w] &= aAct[w];
    bAny |= aDown[w] != 0;
  }
  if (iTarget >= 0 && !bAny) {
    int bInHeads = 0;
    for (i = 0; i < nCur; i++) bInHeads |= aCur[i] == iTarget;
    if (!bInHeads) {
      rc = migSetError(pzErr, SQLITE_ERROR,
                       "Destination %s is not a valid downgrade target from "
                       "current head(s)",
                       zArg);
      goto done;
    }
  }
  rc = topoSort(b, aDown, aCur, nCur, aOrder, &nOrder);
  if (rc == SQLITE_OK) rc = planSteps(p, aOrder, nOrder, 0, 0);
done:
  sqlite3_free(roots.a);
  sqlite3_free(aDown);
  sqlite3_free(aAct);
  sqlite3_free(aOrder);
  return rc;
}

/* Stamp: the new heads replace the current heads that share lineage
** (dependencies included) with each destination; others stay. */
static int planStamp(migrate_bundle *b, const int *aCur, int nCur,
                     const int *aDest, int nDest, MigPlan *p) {
  MigBits *aKeep = bitsNew(b);
  MigBits *aApplied = 0;
  int i, k, rc = SQLITE_OK;
  if (aKeep == 0) return SQLITE_NOMEM;
  for (i = 0; i < nCur; i++) MIG_BIT_SET(aKeep, aCur[i]);
  if (nDest == 0) {
    memset(aKeep, 0, MIG_BITS_WORDS(b->nRev) * sizeof(MigBits));
  }
  for (k = 0; k < nDest; k++) {
    MigBits *aUp = reach(b, &aDest[k], 1, W_DESC);
    MigBits *aDn = reach(b, &aDest[k], 1, W_ANC);
    if (aUp == 0 || aDn == 0) {
      sqlite3_free(aUp);
      sqlite3_free(aDn);
      rc = SQLITE_NOMEM;
      goto done;
    }
    for (i = 0; i < nCur; i++) {
      if (MIG_BIT_TEST(aUp, aCur[i]) || MIG_BIT_TEST(aDn, aCur[i])) {
        MIG_BIT_CLEAR(aKeep, aCur[i]);
      }
    }
    sqlite3_free(aUp);
    sqlite3_free(aDn);
  }
  for (k = 0; k < nDest; k++) MIG_BIT_SET(aKeep, aDest[k]);
  /* reduce to heads: the applied closure's heads */
  {
    IntList l = {0};
    for (i = 0; i < b->nRev; i++) {
      if (MIG_BIT_TEST(aKeep, i)) listAdd(&l, i);
    }
    if (l.rc) {
      rc = l.rc;
      goto done;
    }
    rc = migAppliedOf(b, l.a, l.n, &aApplied);
    sqlite3_free(l.a);
    if (rc) goto done;
    rc = migHeadsOf(b, aApplied, &p->aStamp, &p->nStamp);
  }
  p->isStamp = 1;
done:
  sqlite3_free(aKeep);
  sqlite3_free(aApplied);
  return rc;
}

/* An explicit upgrade or downgrade to t, checked against the version
** rows' bookkeeping (migHeadsAfterPlan). */
static int planExplicit(migrate_bundle *b, const int *aCur, int nCur, Target *t,
                        int bUp, MigPlan *p, char **pzErr) {
  int rc;
  memset(p, 0, sizeof(*p));
  if (bUp) {
    IntList tg = {0};
    rc = parseUpgradeTarget(b, aCur, nCur, t, &tg, pzErr);
    if (rc == SQLITE_OK && tg.n == 0 && t->bRel && t->nRel < 0) {
      /* "<rev>-N" walked down to base: Alembic's upgrade fails with a bare
      ** assertion there */
      rc = migSetError(pzErr, SQLITE_ERROR,
                       "%s walks down to base, which is not an upgrade "
                       "target; downgrade to it instead",
                       t->zArg);
    }
    if (rc == SQLITE_OK) rc = planUpgrade(b, aCur, nCur, tg.a, tg.n, p, pzErr);
    sqlite3_free(tg.a);
  } else {
    const char *zLabel;
    int iTarget;
    rc = parseDowngradeTarget(b, aCur, nCur, t, &zLabel, &iTarget, pzErr);
    if (rc == SQLITE_OK) {
      rc = planDowngrade(b, aCur, nCur, zLabel, iTarget, t->zArg, p, pzErr);
    }
  }
  if (rc == SQLITE_OK) rc = migHeadsAfterPlan(b, aCur, nCur, p, 0, 0, pzErr);
  if (rc) migPlanFree(p);
  return rc;
}

/* migrate_to()'s direction for t: 1 upgrade, 0 downgrade (*pbUp).  Relative
** steps say it; base downgrades, head and heads upgrade; otherwise a target
** that is applied (read as an upgrade target, or, when that fails, as a
** downgrade target, which ignores the label of "label@rev") is a downgrade
** target.  A target neither reading resolves gets the upgrade's error. */
static int autoDirection(migrate_bundle *b, const int *aCur, int nCur,
                         const Target *t, int *pbUp, char **pzErr) {
  IntList tg = {0};
  MigBits *aApplied = 0;
  Target t2;
  int rc, iRev = R_NONE;
  *pbUp = 1;
  if (t->bRel && t->zSym[0] == 0) {
    *pbUp = !(t->nRel < 0 || strchr(t->zArg, '-'));
    return SQLITE_OK;
  }
  if (!t->bRel && strcmp(t->zSym, "base") == 0) {
    *pbUp = 0;
    return SQLITE_OK;
  }
  if (!t->bRel &&
      (strcmp(t->zSym, "heads") == 0 || strcmp(t->zSym, "head") == 0)) {
    return SQLITE_OK;
  }
  rc = parseUpgradeTarget(b, aCur, nCur, t, &tg, pzErr);
  if (rc == SQLITE_OK) {
    if (tg.n > 1) {
      sqlite3_free(tg.a);
      return SQLITE_OK;
    }
    iRev = tg.n ? tg.a[0] : R_NONE;
  } else if (rc != SQLITE_NOMEM) {
    const char *zLabel;
    char *zErr2 = 0;
    t2 = *t;
    if (parseDowngradeTarget(b, aCur, nCur, &t2, &zLabel, &iRev, &zErr2) ==
        SQLITE_OK) {
      rc = SQLITE_OK;
      sqlite3_free(*pzErr);
      *pzErr = 0;
    }
    sqlite3_free(zErr2);
  }
  sqlite3_free(tg.a);
  if (rc) return rc;
  if (iRev < 0) {
    *pbUp = 0;
    return SQLITE_OK;
  }
  rc = migAppliedOf(b, aCur, nCur, &aApplied);
  if (rc == SQLITE_OK) *pbUp = !MIG_BIT_TEST(aApplied, iRev);
  sqlite3_free(aApplied);
  return rc;
}

/* Plan a move to zTarget: see internal.h. */
int migPlan(migrate_bundle *b, const int *aCur, int nCur, const char *zTarget,
            int mode, MigPlan *p, char **pzErr) {
  Target t;
  IntList tg = {0};
  int rc, bUp;
  memset(p, 0, sizeof(*p));
  if (zTarget == 0) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "target is NULL; give head, heads, base, a revision, "
                       "+N or -N");
  }
  rc = parseTarget(zTarget, &t, pzErr);
  if (rc) return rc;

  if (mode == MIGRATE_STAMP) {
    rc = parseUpgradeTarget(b, aCur, nCur, &t, &tg, pzErr);
    if (rc == SQLITE_OK) rc = checkOverlap(b, tg.a, tg.n, 0, pzErr);
    if (rc == SQLITE_OK) rc = planStamp(b, aCur, nCur, tg.a, tg.n, p);
    sqlite3_free(tg.a);
    return rc;
  }
  if (mode != MIGRATE_AUTO) {
    return planExplicit(b, aCur, nCur, &t, mode == MIGRATE_UPGRADE, p, pzErr);
  }

  rc = autoDirection(b, aCur, nCur, &t, &bUp, pzErr);
  if (rc) return rc;
  rc = planExplicit(b, aCur, nCur, &t, bUp, p, pzErr);
  if (rc == SQLITE_ERROR && !bUp && !(t.bRel && t.zSym[0] == 0)) {
    /* An applied target Alembic's downgrade refuses (applied only as a
    ** dependency; label@rev read another way) but its upgrade accepts:
    ** there is nothing to do, as Alembic's upgrade does. */
    MigPlan up;
    char *zErr2 = 0;
    Target t2;
    parseTarget(zTarget, &t2, &zErr2);
    if (planExplicit(b, aCur, nCur, &t2, 1, &up, &zErr2) == SQLITE_OK) {
      *p = up;
      rc = SQLITE_OK;
      sqlite3_free(*pzErr);
      *pzErr = 0;
    }
    sqlite3_free(zErr2);
  }
  return rc;
}

/* Resolve a target for the shell: see migrate.h. */
int migrate_bundle_resolve(migrate_bundle *b, const char *zTarget,
                           const int *aCur, int nCur, int **paOut, int *pnOut,
                           char **pzErr) {
  Target t;
  IntList l = {0};
  int rc;
  *paOut = 0;
  *pnOut = 0;
  if (zTarget == 0) return migSetError(pzErr, SQLITE_MISUSE, "target is NULL");
  rc = parseTarget(zTarget, &t, pzErr);
  if (rc == SQLITE_OK) {
    if (t.bRel && t.zSym[0] == 0 && t.nRel < 0) {
      const char *zLabel;
      int iRev;
      rc = parseDowngradeTarget(b, aCur, nCur, &t, &zLabel, &iRev, pzErr);
      if (rc == SQLITE_OK && iRev >= 0) listAdd(&l, iRev);
    } else {
      rc = parseUpgradeTarget(b, aCur, nCur, &t, &l, pzErr);
    }
  }
  if (rc == SQLITE_OK) rc = l.rc;
  if (rc) {
    sqlite3_free(l.a);
    return rc;
  }
  *paOut = l.a;
  *pnOut = l.n;
  return SQLITE_OK;
}

/* ======================================================================
** History ranges (Alembic's walk_revisions)
*/

/* Is z a relative downward form without a revision: "-3", "label@-1"? */
static int isRelativeDown(const char *z) {
  const char *zAt = strchr(z, '@');
  if (zAt) z = zAt + 1;
  if (*z != '-' || z[1] == 0) return 0;
  for (z++; *z; z++) {
    if (*z < '0' || *z > '9') return 0;
  }
  return 1;
}

/* Does revision r carry (after propagation) branch label z[0..n)? */
static int hasLabel(const migrate_revision *r, const char *z, size_t n) {
  int k;
  for (k = 0; k < r->nall_label; k++) {
    if (strlen(r->all_labels[k]) == n && memcmp(r->all_labels[k], z, n) == 0) {
      return 1;
    }
  }
  return 0;
}

/* Keep the revisions of a[0..*pn) on the branch zLower ("branch@...")
** names; a revision id there stands for its (single) branch label
** (Alembic: "branch@... -> heads should only produce targets on the given
** branch"). */
static void keepOnBranch(const migrate_bundle *b, const char *zLower, int *a,
                         int *pn) {
  const char *zAt = strchr(zLower, '@');
  const char *z = zLower;
  size_t n = (size_t)(zAt - zLower);
  int i, j = 0;
  char zId[MIG_MAX_ID * 4 + 8];
  if (n < sizeof(zId)) {
    int iRev;
    memcpy(zId, zLower, n);
    zId[n] = 0;
    iRev = migrate_bundle_find(b, zId);
    if (iRev >= 0 && b->aRev[iRev].nall_label == 1) {
      z = b->aRev[iRev].all_labels[0];
      n = strlen(z);
    }
  }
  for (i = 0; i < *pn; i++) {
    if (hasLabel(&b->aRev[a[i]], z, n)) a[j++] = a[i];
  }
  *pn = j;
}

/* Alembic's get_revisions("[label@]-N"): N steps down from every real
** head (every one of the label's branch), one result per head. */
static int lowerFromHeads(migrate_bundle *b, const char *z, IntList *pOut,
                          char **pzErr) {
  const char *zAt = strchr(z, '@');
  int i, rc = SQLITE_OK;
  for (i = 0; rc == SQLITE_OK && i < b->nRealHead; i++) {
    int *a = 0, n = 0;
    int iHead = b->aRealHead[i];
    if (zAt && !hasLabel(&b->aRev[iHead], z, (size_t)(zAt - z))) continue;
    rc = migrate_bundle_resolve(b, zAt ? zAt + 1 : z, &iHead, 1, &a, &n, pzErr);
    if (rc == SQLITE_OK && n > 0) listAdd(pOut, a[0]);
    sqlite3_free(a);
  }
  return rc ? rc : pOut->rc;
}

/* One end of a range: "current" is aDb[0..nDb), "base" nothing, else a
** target resolved relative to aRel[0..nRel). */
static int rangeEnd(migrate_bundle *b, const char *z, const int *aRel, int nRel,
                    const int *aDb, int nDb, IntList *pOut, char **pzErr) {
  int *a = 0, n = 0, i, rc;
  if (strcmp(z, "current") == 0) {
    for (i = 0; i < nDb; i++) listAdd(pOut, aDb[i]);
    return pOut->rc;
  }
  rc = migrate_bundle_resolve(b, z, aRel, nRel, &a, &n, pzErr);
  for (i = 0; rc == SQLITE_OK && i < n; i++) listAdd(pOut, a[i]);
  sqlite3_free(a);
  return rc ? rc : pOut->rc;
}

/* The revisions of a history range: see migrate.h. */
int migrate_bundle_range(migrate_bundle *b, const char *zLower,
                         const char *zUpper, const int *aDb, int nDb,
                         int **paOut, int *pnOut, char **pzErr) {
  IntList low = {0}, up = {0};
  MigBits *aNeed = 0, *aHave = 0, *aDesc = 0;
  int *aOut = 0, nOut = 0, nSet = 0, i, rc;

  *paOut = 0;
  *pnOut = 0;
  if (zUpper == 0 || zUpper[0] == 0) zUpper = "heads";
  if (zLower == 0 || zLower[0] == 0) zLower = "base";
  if (isRelativeDown(zLower)) {
    rc = lowerFromHeads(b, zLower, &low, pzErr);
  } else {
    rc = rangeEnd(b, zLower, aDb, nDb, aDb, nDb, &low, pzErr);
  }
  if (rc == SQLITE_OK) {
    rc = rangeEnd(b, zUpper, low.a, low.n, aDb, nDb, &up, pzErr);
  }
  if (rc) goto done;
  if (strchr(zLower, '@')) keepOnBranch(b, zLower, up.a, &up.n);

  /* (upper and its ancestors) minus the ancestors of lower, lower kept;
  ** when lower is not base, only lower's descendants (child edges) */
  aNeed = reach(b, up.a, up.n, W_ANC);
  aHave = reach(b, low.a, low.n, W_ANC);
  aDesc = reach(b, low.a, low.n, W_DESC_CHILD);
  aOut = sqlite3_malloc64(sizeof(int) * (size_t)(b->nRev + 1));
  if (aNeed == 0 || aHave == 0 || aDesc == 0 || aOut == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (i = 0; i < low.n; i++) {
    if (!MIG_BIT_TEST(aNeed, low.a[i])) {
      rc = migSetError(pzErr, SQLITE_ERROR,
                       "Requested range %s:%s does not refer to "
                       "ancestor/descendant revisions along the same branch",
                       zLower, zUpper);
      goto done;
    }
  }
  for (i = 0; i < low.n; i++) MIG_BIT_CLEAR(aHave, low.a[i]);
  for (i = 0; i < b->nRev; i++) {
    if (MIG_BIT_TEST(aNeed, i) && !MIG_BIT_TEST(aHave, i) &&
        (low.n == 0 || MIG_BIT_TEST(aDesc, i))) {
      nSet++;
    } else {
      MIG_BIT_CLEAR(aNeed, i);
    }
  }
  /* newest first: Alembic's sort from the upper revisions; anything that
  ** sort does not reach follows in history order */
  rc = topoSort(b, aNeed, up.a, up.n, aOut, &nOut);
  if (rc) goto done;
  for (i = 0; i < nOut; i++) MIG_BIT_CLEAR(aNeed, aOut[i]);
  for (i = b->nRev - 1; i >= 0 && nOut < nSet; i--) {
    if (MIG_BIT_TEST(aNeed, b->aOrder[i])) aOut[nOut++] = b->aOrder[i];
  }
  *paOut = aOut;
  *pnOut = nOut;
  aOut = 0;

done:
  sqlite3_free(aOut);
  sqlite3_free(aNeed);
  sqlite3_free(aHave);
  sqlite3_free(aDesc);
  sqlite3_free(low.a);
  sqlite3_free(up.a);
  return rc;
}

/* The applied set: see migrate.h. */
int migrate_bundle_applied(migrate_bundle *b, const int *aCur, int nCur,
                           int **paOut, int *pnOut) {
  MigBits *aApplied = 0;
  IntList l = {0};
  int i, rc;
  *paOut = 0;
  *pnOut = 0;
  rc = migAppliedOf(b, aCur, nCur, &aApplied);
  if (rc) return rc;
  for (i = 0; i < b->nRev; i++) {
    if (MIG_BIT_TEST(aApplied, i)) listAdd(&l, i);
  }
  sqlite3_free(aApplied);
  if (l.rc) {
    sqlite3_free(l.a);
    return l.rc;
  }
  *paOut = l.a;
  *pnOut = l.n;
  return SQLITE_OK;
}

/* Label lookup: see migrate.h. */
int migrate_bundle_label(const migrate_bundle *b, const char *zLabel) {
  return findLabel(b, zLabel);
}

/* ======================================================================
** Accessors (migrate.h)
*/
int migrate_bundle_count(const migrate_bundle *b) {
  return b->nRev;
}
const migrate_revision *migrate_bundle_revision(const migrate_bundle *b,
                                                int i) {
  return i >= 0 && i < b->nRev ? &b->aRev[i] : 0;
}
int migrate_bundle_order(const migrate_bundle *b, int i) {
  return i >= 0 && i < b->nRev ? b->aOrder[i] : -1;
}
int migrate_bundle_nhead(const migrate_bundle *b) {
  return b->nHead;
}
int migrate_bundle_head(const migrate_bundle *b, int i) {
  return i >= 0 && i < b->nHead ? b->aHead[i] : -1;
}
