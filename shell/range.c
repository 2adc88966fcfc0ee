/*
** range.c — sets of revisions for display: the revisions of "history -r
** LOWER:UPPER" (newest first) and the branch heads "current" shows.
**
**     sqlite-migrate history -r 1f0c2a7d44e0:        from a revision up
**     sqlite-migrate history -r :search@head          up to a branch's head
**     sqlite-migrate history -r -3:                   the last four
**
** A helper kept apart from the engine on purpose: it uses only the public
** API (migrate_bundle_resolve for the two ends, the revisions' parent,
** dependency and child indices for the walks, migrate_bundle_order for the
** order), and it plans nothing.  It follows Alembic 1.8's
** ScriptDirectory.walk_revisions -> RevisionMap.iterate_revisions(upper,
** lower, inclusive=True, assert_relative_length=False):
**
**   lower  resolved on its own; a bare "-N" or "label@-N" walks N steps
**          down from each head (of that branch), as Alembic's
**          get_revisions does, so "-3:" is the last four revisions;
**   upper  resolved like an upgrade target, relative to lower ("+2");
**   range  = (upper and its ancestors, dependencies included)
**            minus the ancestors of lower, plus lower itself,
**            then (when lower is not base) only lower's descendants
**            along child edges;
**   lower must be among upper's ancestors, else Alembic's "Requested range
**   ... does not refer to ancestor/descendant revisions along the same
**   branch".
**
** A lower end "label@..." also keeps only the upper revisions on that
** branch (Alembic: "branch@... -> heads should only produce targets on the
** given branch").
**
** "current" shows Alembic's get_all_current(): the applied revisions
** (the version rows and everything they need, dependencies included) that
** no applied revision revises, so a dependency of a head shows up as a head
** of its own branch even though the version table does not list it.
**
** Order: Alembic sorts the range topologically from upper; this helper lists
** it in the bundle's history order (the same sort from the real heads),
** which is the same whenever upper is the heads or the range has no
** parallel branches.  An engine function with Alembic's exact walk would
** remove the difference (see the report of issue #3).
*/
#include <string.h>

#include "shell.h"

typedef struct Bits {
  int n;
  unsigned char *a; /* one byte per revision: simple and small enough */
} Bits;

static int bitsInit(Bits *p, int n) {
  p->n = n;
  p->a = sqlite3_malloc64((size_t)n + 1);
  if (p->a == 0) return SQLITE_NOMEM;
  memset(p->a, 0, (size_t)n + 1);
  return SQLITE_OK;
}

/* Mark aSeed and everything reachable from it: parents and dependencies
** (bUp == 0) or children (bUp == 1). */
static int bitsWalk(Bits *p, const migrate_bundle *b, const int *aSeed,
                    int nSeed, int bUp) {
  int *aStack = sqlite3_malloc64(sizeof(int) * ((size_t)p->n + 1));
  int nStack = 0, i;
  if (aStack == 0) return SQLITE_NOMEM;
  for (i = 0; i < nSeed; i++) {
    if (p->a[aSeed[i]]) continue;
    p->a[aSeed[i]] = 1;
    aStack[nStack++] = aSeed[i];
  }
  while (nStack > 0) {
    const migrate_revision *r = migrate_bundle_revision(b, aStack[--nStack]);
    int k;
    int n1 = bUp ? r->nchild : r->nparent;
    int n2 = bUp ? 0 : r->ndepend;
    const int *a1 = bUp ? r->child_idx : r->parent_idx;
    for (k = 0; k < n1 + n2; k++) {
      int j = k < n1 ? a1[k] : r->depend_idx[k - n1];
      if (!p->a[j]) {
        p->a[j] = 1;
        aStack[nStack++] = j;
      }
    }
  }
  sqlite3_free(aStack);
  return SQLITE_OK;
}

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

/* Does revision r carry branch label z[0..n)? */
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
** names; a revision id there stands for its (single) branch label. */
static void onBranch(const migrate_bundle *b, const char *zLower, int *a,
                     int *pn) {
  const char *zAt = strchr(zLower, '@');
  const char *z = zLower;
  size_t n = (size_t)(zAt - zLower);
  int i, j = 0;
  char zId[80];
  if (n < sizeof(zId)) {
    int iRev;
    memcpy(zId, zLower, n);
    zId[n] = 0;
    iRev = migrate_bundle_find(b, zId);
    if (iRev >= 0 && migrate_bundle_revision(b, iRev)->nall_label == 1) {
      z = migrate_bundle_revision(b, iRev)->all_labels[0];
      n = strlen(z);
    }
  }
  for (i = 0; i < *pn; i++) {
    if (hasLabel(migrate_bundle_revision(b, a[i]), z, n)) a[j++] = a[i];
  }
  *pn = j;
}

/* Alembic's get_revisions("[label@]-N"): N steps down from every real
** head (every head of the label's branch), one result per head. */
static int resolveFromHeads(migrate_bundle *b, const char *z, int **pa,
                            int *pn, char **pzErr) {
  const char *zAt = strchr(z, '@');
  int *aHead = 0, nHead = 0, *aOut = 0, nOut = 0, i, rc;
  rc = migrate_bundle_resolve(b, "heads", 0, 0, &aHead, &nHead, pzErr);
  if (rc) return rc;
  aOut = sqlite3_malloc64(sizeof(int) * ((size_t)nHead + 1));
  if (aOut == 0) rc = SQLITE_NOMEM;
  for (i = 0; rc == SQLITE_OK && i < nHead; i++) {
    const migrate_revision *r = migrate_bundle_revision(b, aHead[i]);
    int *a = 0, n = 0;
    if (zAt && !hasLabel(r, z, (size_t)(zAt - z))) continue;
    rc = migrate_bundle_resolve(b, zAt ? zAt + 1 : z, &aHead[i], 1, &a, &n,
                                pzErr);
    if (rc == SQLITE_OK && n > 0) aOut[nOut++] = a[0];
    sqlite3_free(a);
  }
  sqlite3_free(aHead);
  if (rc) {
    sqlite3_free(aOut);
    return rc;
  }
  *pa = aOut;
  *pn = nOut;
  return SQLITE_OK;
}

/* Resolve one end: "current" is aDb; "" or "base" is nothing. */
static int resolveEnd(migrate_bundle *b, const char *z, const int *aRel,
                      int nRel, const int *aDb, int nDb, int **pa, int *pn,
                      char **pzErr) {
  *pa = 0;
  *pn = 0;
  if (strcmp(z, "current") == 0) {
    *pa = sqlite3_malloc64(sizeof(int) * ((size_t)nDb + 1));
    if (*pa == 0) return SQLITE_NOMEM;
    if (nDb) memcpy(*pa, aDb, sizeof(int) * (size_t)nDb);
    *pn = nDb;
    return SQLITE_OK;
  }
  return migrate_bundle_resolve(b, z, aRel, nRel, pa, pn, pzErr);
}

/* See shell.h. */
int rangeCollect(migrate_bundle *b, const char *zLower, const char *zUpper,
                 const int *aDb, int nDb, int **paOut, int *pnOut,
                 char **pzErr) {
  int nRev = migrate_bundle_count(b);
  int *aLow = 0, *aUp = 0, *aOut = 0;
  int nLow = 0, nUp = 0, nOut = 0, i, rc;
  Bits need = {0, 0}, have = {0, 0}, desc = {0, 0};

  *paOut = 0;
  *pnOut = 0;
  if (zUpper[0] == 0) zUpper = "heads";
  if (zLower[0] == 0) zLower = "base";

  if (isRelativeDown(zLower)) {
    rc = resolveFromHeads(b, zLower, &aLow, &nLow, pzErr);
  } else {
    rc = resolveEnd(b, zLower, aDb, nDb, aDb, nDb, &aLow, &nLow, pzErr);
  }
  if (rc == SQLITE_OK) {
    rc = resolveEnd(b, zUpper, aLow, nLow, aDb, nDb, &aUp, &nUp, pzErr);
  }
  if (rc) goto done;
  if (strchr(zLower, '@')) onBranch(b, zLower, aUp, &nUp);

  rc = bitsInit(&need, nRev);
  if (rc == SQLITE_OK) rc = bitsInit(&have, nRev);
  if (rc == SQLITE_OK) rc = bitsInit(&desc, nRev);
  if (rc == SQLITE_OK) rc = bitsWalk(&need, b, aUp, nUp, 0);
  if (rc) goto done;
  for (i = 0; i < nLow; i++) {
    if (!need.a[aLow[i]]) {
      char *z = sqlite3_mprintf("Requested range %s:%s does not refer to "
                                "ancestor/descendant revisions along the "
                                "same branch",
                                zLower, zUpper);
      sqlite3_free(*pzErr);
      *pzErr = z;
      rc = z ? SQLITE_ERROR : SQLITE_NOMEM;
      goto done;
    }
  }
  rc = bitsWalk(&have, b, aLow, nLow, 0);
  if (rc == SQLITE_OK && nLow > 0) rc = bitsWalk(&desc, b, aLow, nLow, 1);
  if (rc) goto done;
  for (i = 0; i < nLow; i++) have.a[aLow[i]] = 0; /* inclusive */

  aOut = sqlite3_malloc64(sizeof(int) * ((size_t)nRev + 1));
  if (aOut == 0) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (i = nRev - 1; i >= 0; i--) {
    int k = migrate_bundle_order(b, i);
    if (need.a[k] && !have.a[k] && (nLow == 0 || desc.a[k])) aOut[nOut++] = k;
  }
  *paOut = aOut;
  *pnOut = nOut;
  aOut = 0;

done:
  if (rc == SQLITE_NOMEM) {
    sqlite3_free(*pzErr);
    *pzErr = sqlite3_mprintf("out of memory");
  }
  sqlite3_free(aOut);
  sqlite3_free(aLow);
  sqlite3_free(aUp);
  sqlite3_free(need.a);
  sqlite3_free(have.a);
  sqlite3_free(desc.a);
  return rc;
}

/* See shell.h. */
int rangeCurrentHeads(migrate_bundle *b, const int *aDb, int nDb,
                      int **paOut, int *pnOut) {
  int nRev = migrate_bundle_count(b), i, k, n = 0, rc;
  Bits applied = {0, 0};
  int *aOut;
  *paOut = 0;
  *pnOut = 0;
  rc = bitsInit(&applied, nRev);
  if (rc == SQLITE_OK) rc = bitsWalk(&applied, b, aDb, nDb, 0);
  aOut = rc ? 0 : sqlite3_malloc64(sizeof(int) * ((size_t)nRev + 1));
  if (aOut == 0) {
    sqlite3_free(applied.a);
    return SQLITE_NOMEM;
  }
  for (i = 0; i < nRev; i++) {
    const migrate_revision *r = migrate_bundle_revision(b, i);
    int bTip = applied.a[i];
    for (k = 0; bTip && k < r->nchild; k++) bTip = !applied.a[r->child_idx[k]];
    if (bTip) aOut[n++] = i;
  }
  sqlite3_free(applied.a);
  *paOut = aOut;
  *pnOut = n;
  return SQLITE_OK;
}
