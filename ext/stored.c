/*
** stored.c — revisions the database knows but the bundle does not (ext/README.md, "What the database holds").
**
** For every applied revision the applier keeps a row in migrate_scripts:
** its file name, parents, dependencies, message, checksum and downgrade
** script.  When newer firmware applied revisions that the running build's
** bundle lacks, migrate_to('<older rev>') still has to downgrade past them:
**
**     migrate_bundle *pAug = 0;
**     migBundleWithStored(db, b, &pAug, &zErr);   // b + stored revisions
**
** How it works: the stored rows the bundle does not know are turned into
** revisions (no upgrade section: they are applied already) and merged with
** copies of the bundle's revisions in file-name order, and the graph is
** built again over the union, so planning, ordering and head maintenance
** are the same code as always.  The augmented bundle borrows the original
** bundle's strings: free it before the original.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Split "a,b" into an arena array of identifiers; 0 entries for "". */
static int splitIds(MigArena *pA, const char *z, const char ***paz, int *pn) {
  int n = 0, k = 0;
  const char *p;
  const char **az;
  *paz = 0;
  *pn = 0;
  if (z == 0 || z[0] == 0) return SQLITE_OK;
  for (p = z; *p; p++) n += *p == ',';
  n++;
  az = migArenaAlloc(pA, sizeof(char *) * (size_t)n);
  if (az == 0) return SQLITE_NOMEM;
  while (k < n) {
    const char *e = strchr(z, ',');
    size_t len = e ? (size_t)(e - z) : strlen(z);
    size_t i;
    if (len == 0 || len > MIG_MAX_ID) return SQLITE_CORRUPT;
    for (i = 0; i < len; i++) {
      if (!isalnum((unsigned char)z[i]) && z[i] != '_') return SQLITE_CORRUPT;
    }
    az[k] = migArenaStrndup(pA, z, len);
    if (az[k] == 0) return SQLITE_NOMEM;
    k++;
    z = e ? e + 1 : z + len;
  }
  *paz = az;
  *pn = n;
  return SQLITE_OK;
}

static int cmpRevFile(const void *a, const void *b) {
  return strcmp(((const migrate_revision *)a)->file,
                ((const migrate_revision *)b)->file);
}

/* See internal.h. */
int migBundleWithStored(sqlite3 *db, migrate_bundle *b, migrate_bundle **ppOut,
                        char **pzErr) {
  sqlite3_stmt *st = 0;
  migrate_bundle *p = 0;
  migrate_revision *aStored = 0;
  int nStored = 0, nAlloc = 0, bExists, rc, i;

  *ppOut = 0;
  rc = migTableExists(db, "migrate_scripts", &bExists);
  if (rc || !bExists) return rc;
  rc = sqlite3_prepare_v2(
      db,
      "SELECT revision, file, parents, depends_on, message, checksum, "
      "downgrade_sql, transaction_none FROM main.migrate_scripts ORDER BY "
      "file",
      -1, &st, 0);
  if (rc) {
    return migSetError(pzErr, rc, "cannot read migrate_scripts: %s",
                       sqlite3_errmsg(db));
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p == 0) {
    sqlite3_finalize(st);
    return SQLITE_NOMEM;
  }
  memset(p, 0, sizeof(*p));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zId = (const char *)sqlite3_column_text(st, 0);
    migrate_revision *r;
    const char *zSum;
    if (zId == 0 || migrate_bundle_find(b, zId) >= 0) continue;
    if (nStored >= nAlloc) {
      int nNew = nAlloc ? nAlloc * 2 : 8;
      migrate_revision *aNew =
          sqlite3_realloc64(aStored, sizeof(*aNew) * (size_t)nNew);
      if (aNew == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
      aStored = aNew;
      nAlloc = nNew;
    }
    r = &aStored[nStored++];
    memset(r, 0, sizeof(*r));
    r->id = migArenaStrndup(&p->arena, zId, strlen(zId));
    r->file =
        migArenaStrndup(&p->arena, (const char *)sqlite3_column_text(st, 1),
                        (size_t)sqlite3_column_bytes(st, 1));
    r->message =
        migArenaStrndup(&p->arena, (const char *)sqlite3_column_text(st, 4),
                        (size_t)sqlite3_column_bytes(st, 4));
    r->create_date = "";
    r->upgrade = "";
    r->source = "";
    if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
      r->downgrade =
          migArenaStrndup(&p->arena, (const char *)sqlite3_column_text(st, 6),
                          (size_t)sqlite3_column_bytes(st, 6));
      if (r->downgrade == 0) rc = SQLITE_NOMEM;
    }
    r->no_transaction = sqlite3_column_int(st, 7) != 0;
    zSum = (const char *)sqlite3_column_text(st, 5);
    r->checksum = zSum ? (unsigned int)strtoul(zSum, 0, 16) : 0;
    if (r->id == 0 || r->file == 0 || r->message == 0 || rc == SQLITE_NOMEM) {
      rc = SQLITE_NOMEM;
      break;
    }
    rc = splitIds(&p->arena, (const char *)sqlite3_column_text(st, 2),
                  &r->parents, &r->nparent);
    if (rc == SQLITE_OK) {
      rc = splitIds(&p->arena, (const char *)sqlite3_column_text(st, 3),
                    &r->depends, &r->ndepend);
    }
    if (rc == SQLITE_CORRUPT) {
      rc = migSetError(pzErr, SQLITE_CORRUPT,
                       "migrate_scripts row for revision '%s' has a bad "
                       "parent or dependency list",
                       zId);
    }
    if (rc) break;
    rc = SQLITE_ROW;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    if (rc == SQLITE_ROW || rc == SQLITE_OK) rc = SQLITE_ERROR;
    if (rc != SQLITE_CORRUPT && rc != SQLITE_NOMEM) {
      migSetError(pzErr, rc, "cannot read migrate_scripts: %s",
                  sqlite3_errmsg(db));
    }
    goto fail;
  }
  rc = SQLITE_OK;
  if (nStored == 0) goto fail; /* nothing to add: *ppOut stays NULL */

  /* the union, in file-name order; graph fields start empty.  The copies
  ** carry b's texts, so b inflates them all first (a rare path: the
  ** database holds revisions the bundle lacks) */
  rc = migBundleLoad(b, -1, pzErr);
  if (rc) goto fail;
  p->nRev = b->nRev + nStored;
  p->aRev =
      migArenaAlloc(&p->arena, sizeof(migrate_revision) * (size_t)p->nRev);
  if (p->aRev == 0) {
    rc = SQLITE_NOMEM;
    goto fail;
  }
  for (i = 0; i < b->nRev; i++) p->aRev[i] = b->aRev[i];
  for (i = 0; i < nStored; i++) p->aRev[b->nRev + i] = aStored[i];
  for (i = 0; i < p->nRev; i++) {
    migrate_revision *r = &p->aRev[i];
    r->parent_idx = r->depend_idx = r->child_idx = r->dependent_idx = 0;
    r->nchild = r->ndependent = r->nall_label = 0;
    r->all_labels = 0;
  }
  qsort(p->aRev, (size_t)p->nRev, sizeof(migrate_revision), cmpRevFile);
  rc = migGraphBuild(p, pzErr);
  if (rc) {
    if (rc != SQLITE_NOMEM) {
      migErrPrefix(pzErr,
                   "the bundle together with the revisions stored "
                   "in migrate_scripts: ");
    }
    goto fail;
  }
  sqlite3_free(aStored);
  *ppOut = p;
  return SQLITE_OK;

fail:
  sqlite3_free(aStored);
  migrate_bundle_free(p);
  return rc;
}
