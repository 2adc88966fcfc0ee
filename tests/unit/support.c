/*
** support.c — helpers shared by the unit tests: build scripts and bundles
** from short specs, and render plans, target resolutions and graph lists as
** strings so a test can compare them exactly.  See unit.h for the contract
** of each; every string returned is sqlite3_malloc'd (caller frees).
*/
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* ======================================================================
** Scripts and bundles
*/

char *ut_script(const char *zId, const char *zRevises, const char *zLabels,
                const char *zDepends, const char *zUp, const char *zDown) {
  MigStr s = {0};
  migStrAppendf(&s, "-- rev %s\n--\n-- Revision ID: %s\n", zId, zId);
  if (zRevises) {
    migStrAppendf(&s, "-- Revises:%s%s\n", zRevises[0] ? " " : "", zRevises);
  }
  if (zLabels && zLabels[0])
    migStrAppendf(&s, "-- Branch Labels: %s\n", zLabels);
  if (zDepends && zDepends[0])
    migStrAppendf(&s, "-- Depends On: %s\n", zDepends);
  migStrAppendf(&s, "\n-- migrate:upgrade\n%s", zUp ? zUp : "");
  if (zDown) migStrAppendf(&s, "-- migrate:downgrade\n%s", zDown);
  return migStrFinish(&s);
}

typedef struct UtNamed {
  const char *zName;
  const char *zText;
} UtNamed;

static int cmpNamed(const void *a, const void *b) {
  return strcmp(((const UtNamed *)a)->zName, ((const UtNamed *)b)->zName);
}

int ut_bundle_texts(int n, const char **azName, const char **azText,
                    migrate_bundle **ppOut, char **pzErr) {
  UtNamed *a = sqlite3_malloc64(sizeof(UtNamed) * (size_t)(n + 1));
  const char **azN = sqlite3_malloc64(sizeof(char *) * (size_t)(n + 1));
  const char **azT = sqlite3_malloc64(sizeof(char *) * (size_t)(n + 1));
  size_t *anT = sqlite3_malloc64(sizeof(size_t) * (size_t)(n + 1));
  int i, rc;
  if (!a || !azN || !azT || !anT) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (i = 0; i < n; i++) {
    a[i].zName = azName[i];
    a[i].zText = azText[i];
  }
  qsort(a, (size_t)n, sizeof(UtNamed), cmpNamed);
  for (i = 0; i < n; i++) {
    azN[i] = a[i].zName;
    azT[i] = a[i].zText;
    anT[i] = strlen(a[i].zText);
  }
  rc = migBundleFromFiles(n, azN, azT, anT, ppOut, pzErr);
  sqlite3_free(a);
  sqlite3_free(azN);
  sqlite3_free(azT);
  sqlite3_free(anT);
  return rc;
}

/* Copy [z, zEnd) into a new string. */
static char *dupRange(const char *z, const char *zEnd) {
  return sqlite3_mprintf("%.*s", (int)(zEnd - z), z);
}

migrate_bundle *ut_graph(char **pzErr, const char *zSpec) {
  char *azName[128], *azText[128];
  int n = 0, i, rc;
  migrate_bundle *b = 0;
  const char *z = zSpec;
  while (*z) {
    const char *zEnd = strchr(z, ';');
    char *zEntry, *zId, *zPar = 0, *zLab = 0, *zDep = 0, *p, *zUp, *zDown;
    if (zEnd == 0) zEnd = z + strlen(z);
    zEntry = dupRange(z, zEnd);
    z = *zEnd ? zEnd + 1 : zEnd;
    /* tokens: "id[<parents]" then "@labels" / "&depends" */
    p = zEntry;
    while (*p == ' ') p++;
    if (*p == 0) {
      sqlite3_free(zEntry);
      continue;
    }
    zId = p;
    while (*p && *p != ' ' && *p != '<') p++;
    if (*p == '<') {
      *p++ = 0;
      zPar = p;
      while (*p && *p != ' ') p++;
    }
    while (*p == ' ') *p++ = 0;
    while (*p) {
      char c = *p;
      char *zTok = ++p;
      while (*p && *p != ' ') p++;
      while (*p == ' ') *p++ = 0;
      if (c == '@') zLab = zTok;
      if (c == '&') zDep = zTok;
    }
    {
      char *zUpBody = sqlite3_mprintf("SELECT 'up %s';\n", zId);
      char *zDownBody = sqlite3_mprintf("SELECT 'down %s';\n", zId);
      char *zP = zPar ? sqlite3_mprintf("%s", zPar) : sqlite3_mprintf("%s", "");
      /* "a,b" -> "a, b" as people write it */
      char *zPretty = 0;
      {
        MigStr s = {0};
        const char *q;
        for (q = zP; *q; q++) {
          migStrAppend(&s, q, 1);
          if (*q == ',') migStrAppendZ(&s, " ");
        }
        zPretty = s.z ? migStrFinish(&s) : sqlite3_mprintf("%s", "");
      }
      zUp = zUpBody;
      zDown = zDownBody;
      azName[n] = sqlite3_mprintf("%s_rev.sql", zId);
      azText[n] = ut_script(zId, zPretty, zLab, zDep, zUp, zDown);
      n++;
      sqlite3_free(zUpBody);
      sqlite3_free(zDownBody);
      sqlite3_free(zP);
      sqlite3_free(zPretty);
    }
    sqlite3_free(zEntry);
  }
  rc = ut_bundle_texts(n, (const char **)azName, (const char **)azText, &b,
                       pzErr);
  for (i = 0; i < n; i++) {
    sqlite3_free(azName[i]);
    sqlite3_free(azText[i]);
  }
  return rc == SQLITE_OK ? b : 0;
}

/* ======================================================================
** Lookups and rendering
*/

int ut_idx(const migrate_bundle *b, const char *zId) {
  int i = migrate_bundle_find(b, zId);
  ut_check(i >= 0, __FILE__, __LINE__, "revision '%s' not in the bundle", zId);
  return i;
}

int ut_cur(const migrate_bundle *b, const char *zList, int *aOut, int nMax) {
  int n = 0;
  const char *z = zList;
  if (z == 0 || strcmp(z, "base") == 0) return 0;
  while (*z) {
    const char *zE = strchr(z, ',');
    char *zId;
    if (zE == 0) zE = z + strlen(z);
    zId = dupRange(z, zE);
    if (n < nMax) aOut[n++] = ut_idx(b, zId);
    sqlite3_free(zId);
    z = *zE ? zE + 1 : zE;
  }
  return n;
}

char *ut_ids(const migrate_bundle *b, const int *a, int n, const char *zSep) {
  MigStr s = {0};
  int i;
  migStrAppendZ(&s, "");
  for (i = 0; i < n; i++) {
    const migrate_revision *r = migrate_bundle_revision(b, a[i]);
    if (i) migStrAppendZ(&s, zSep);
    migStrAppendZ(&s, r ? r->id : "base");
  }
  return s.z ? migStrFinish(&s) : sqlite3_mprintf("%s", "");
}

char *ut_order(const migrate_bundle *b) {
  int n = migrate_bundle_count(b), i;
  int *a = sqlite3_malloc64(sizeof(int) * (size_t)(n + 1));
  char *z;
  for (i = 0; i < n; i++) a[i] = migrate_bundle_order(b, i);
  z = ut_ids(b, a, n, " ");
  sqlite3_free(a);
  return z;
}

char *ut_heads(const migrate_bundle *b) {
  int n = migrate_bundle_nhead(b), i;
  int *a = sqlite3_malloc64(sizeof(int) * (size_t)(n + 1));
  char *z;
  for (i = 0; i < n; i++) a[i] = migrate_bundle_head(b, i);
  z = ut_ids(b, a, n, ",");
  sqlite3_free(a);
  return z;
}

char *ut_real_heads(const migrate_bundle *b) {
  return ut_ids(b, b->aRealHead, b->nRealHead, ",");
}

char *ut_bases(const migrate_bundle *b) {
  return ut_ids(b, b->aBase, b->nBase, ",");
}

char *ut_children(const migrate_bundle *b, const char *zId) {
  const migrate_revision *r = migrate_bundle_revision(b, ut_idx(b, zId));
  return r ? ut_ids(b, r->child_idx, r->nchild, ",") : 0;
}

char *ut_dependents(const migrate_bundle *b, const char *zId) {
  const migrate_revision *r = migrate_bundle_revision(b, ut_idx(b, zId));
  return r ? ut_ids(b, r->dependent_idx, r->ndependent, ",") : 0;
}

char *ut_labels(const migrate_bundle *b, const char *zId) {
  const migrate_revision *r = migrate_bundle_revision(b, ut_idx(b, zId));
  MigStr s = {0};
  int i;
  if (r == 0) return 0;
  migStrAppendZ(&s, "");
  for (i = 0; i < r->nall_label; i++) {
    if (i) migStrAppendZ(&s, ",");
    migStrAppendZ(&s, r->all_labels[i]);
  }
  return migStrFinish(&s);
}

/* The version rows after a plan (migHeadsAfterPlan: Alembic's
** HeadMaintainer), "base" when none. */
static char *headsAfter(migrate_bundle *b, const int *aCur, int nCur,
                        const MigPlan *p) {
  int *aHead = 0, nHead = 0;
  char *z, *zErr = 0;
  if (migHeadsAfterPlan(b, aCur, nCur, p, &aHead, &nHead, &zErr)) {
    z = sqlite3_mprintf("error: %s", zErr ? zErr : "(no message)");
    sqlite3_free(zErr);
    return z;
  }
  z = nHead ? ut_ids(b, aHead, nHead, ",") : sqlite3_mprintf("base");
  sqlite3_free(aHead);
  return z;
}

char *ut_plan(migrate_bundle *b, const char *zCur, const char *zTarget,
              int mode) {
  int aCur[64], nCur = ut_cur(b, zCur, aCur, 64), rc, i;
  MigPlan p;
  char *zErr = 0;
  MigStr s = {0};
  rc = migPlan(b, aCur, nCur, zTarget, mode, &p, &zErr);
  if (rc) {
    char *z = sqlite3_mprintf("error: %s", zErr ? zErr : "(no message)");
    migPlanFree(&p);
    sqlite3_free(zErr);
    return z;
  }
  ut_check(zErr == 0, __FILE__, __LINE__, "message on success: %s", zErr);
  sqlite3_free(zErr);
  if (p.isStamp) {
    char *zH =
        p.nStamp ? ut_ids(b, p.aStamp, p.nStamp, ",") : sqlite3_mprintf("base");
    char *z = sqlite3_mprintf("stamp => %s", zH);
    sqlite3_free(zH);
    migPlanFree(&p);
    return z;
  }
  for (i = 0; i < p.nStep; i++) {
    migStrAppendf(&s, "%s%s %s", i ? ", " : "",
                  p.aStep[i].isUpgrade ? "up" : "down",
                  b->aRev[p.aStep[i].iRev].id);
  }
  {
    char *zH = headsAfter(b, aCur, nCur, &p);
    migStrAppendf(&s, "%s=> %s", p.nStep ? " " : "", zH ? zH : "?");
    sqlite3_free(zH);
  }
  migPlanFree(&p);
  return migStrFinish(&s);
}

char *ut_resolve(migrate_bundle *b, const char *zCur, const char *zTarget) {
  int aCur[64], nCur = ut_cur(b, zCur, aCur, 64), rc, *a = 0, n = 0;
  char *zErr = 0, *z;
  rc = migrate_bundle_resolve(b, zTarget, aCur, nCur, &a, &n, &zErr);
  if (rc) {
    z = sqlite3_mprintf("error: %s", zErr ? zErr : "(no message)");
  } else {
    z = ut_ids(b, a, n, ",");
  }
  sqlite3_free(a);
  sqlite3_free(zErr);
  return z;
}

char *ut_heads_of(migrate_bundle *b, const char *zApplied) {
  int aCur[64], nCur = ut_cur(b, zApplied, aCur, 64);
  MigBits *aApplied = 0;
  int *aHead = 0, nHead = 0;
  char *z;
  if (migAppliedOf(b, aCur, nCur, &aApplied)) return 0;
  if (migHeadsOf(b, aApplied, &aHead, &nHead)) {
    sqlite3_free(aApplied);
    return 0;
  }
  z = ut_ids(b, aHead, nHead, ",");
  sqlite3_free(aHead);
  sqlite3_free(aApplied);
  return z;
}

/* ======================================================================
** Parsing and files
*/

char *ut_parse_err_n(const char *zText, size_t nText) {
  MigArena a = {0};
  migrate_revision r;
  char *zErr = 0;
  int rc = migScriptParse(&a, "f.sql", zText, nText, &r, &zErr);
  migArenaFree(&a);
  if (rc == SQLITE_OK) {
    ut_check(zErr == 0, __FILE__, __LINE__, "message on success: %s", zErr);
    sqlite3_free(zErr);
    return 0;
  }
  ut_check(rc == SQLITE_ERROR, __FILE__, __LINE__, "rc %d, expected %d", rc,
           SQLITE_ERROR);
  return zErr ? zErr : sqlite3_mprintf("rc %d without a message", rc);
}

char *ut_parse_err(const char *zText) {
  return ut_parse_err_n(zText, strlen(zText));
}

char *ut_read_file(const char *zPath, size_t *pn) {
  FILE *f = fopen(zPath, "rb");
  char *z = 0;
  long n;
  if (f == 0) return 0;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0) {
    z = sqlite3_malloc64((size_t)n + 1);
    if (z && fread(z, 1, (size_t)n, f) == (size_t)n) {
      z[n] = 0;
      if (pn) *pn = (size_t)n;
    } else {
      sqlite3_free(z);
      z = 0;
    }
  }
  fclose(f);
  return z;
}

char *ut_guarded(char *(*xFn)(void *), void *pArg) {
  pid_t pid;
  int status = 0;
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid == 0) {
    char *z;
    ut_bQuiet = 1;
    z = xFn(pArg);
    sqlite3_free(z);
    _exit(0);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    return sqlite3_mprintf("fork failed");
  }
  if (WIFSIGNALED(status)) {
    return sqlite3_mprintf("crashed (signal %d)", WTERMSIG(status));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return sqlite3_mprintf("crashed (exit status %d)", WEXITSTATUS(status));
  }
  return xFn(pArg);
}
