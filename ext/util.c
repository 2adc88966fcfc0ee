/*
** util.c — small helpers every layer of the engine uses: an arena for the
** parsed bundle, a growable string for messages and generated SQL, and the
** one error helper (migSetError) that frees the old message before setting a
** new one.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <string.h>

/* ======================================================================
** Arena
*/
struct MigArenaChunk {
  MigArenaChunk *pNext;
  size_t nUsed;
  size_t nSize;
  /* data follows, 16-byte aligned */
};
#define MIG_CHUNK_HDR ((sizeof(MigArenaChunk) + 15) & ~(size_t)15)
#define MIG_CHUNK_MIN (64 * 1024)

/* Allocate n bytes from the arena, not zeroed; NULL on OOM. */
static void *arenaAllocRaw(MigArena *p, size_t n) {
  MigArenaChunk *c = p->pChunk;
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  if (c == 0 || c->nSize - c->nUsed < n) {
    size_t nSize = n > MIG_CHUNK_MIN ? n : MIG_CHUNK_MIN;
    c = sqlite3_malloc64(MIG_CHUNK_HDR + nSize);
    if (c == 0) return 0;
    c->nSize = nSize;
    c->nUsed = 0;
    if (p->pChunk && n > MIG_CHUNK_MIN) {
      /* A big block gets a chunk of its own behind the current one, so the
      ** space left in the current chunk is not wasted. */
      c->pNext = p->pChunk->pNext;
      p->pChunk->pNext = c;
    } else {
      c->pNext = p->pChunk;
      p->pChunk = c;
    }
  }
  {
    char *pRet = (char *)c + MIG_CHUNK_HDR + c->nUsed;
    c->nUsed += n;
    return pRet;
  }
}

/* Allocate n zeroed bytes from the arena; NULL on OOM. */
void *migArenaAlloc(MigArena *p, size_t n) {
  void *pRet = arenaAllocRaw(p, n);
  if (pRet) memset(pRet, 0, n);
  return pRet;
}

/* Copy z[0..n) into the arena with a NUL terminator; NULL on OOM. */
char *migArenaStrndup(MigArena *p, const char *z, size_t n) {
  char *zOut = arenaAllocRaw(p, n + 1);
  if (zOut) {
    if (n) memcpy(zOut, z, n);
    zOut[n] = 0;
  }
  return zOut;
}

void migArenaFree(MigArena *p) {
  MigArenaChunk *c = p->pChunk;
  while (c) {
    MigArenaChunk *pNext = c->pNext;
    sqlite3_free(c);
    c = pNext;
  }
  p->pChunk = 0;
}

/* ======================================================================
** Growable string
*/
static int migStrGrow(MigStr *p, size_t n) {
  size_t nNew;
  char *zNew;
  if (p->rc) return 0;
  if (p->n + n + 1 <= p->nAlloc) return 1;
  nNew = p->nAlloc ? p->nAlloc * 2 : 256;
  while (nNew < p->n + n + 1) nNew *= 2;
  zNew = sqlite3_realloc64(p->z, nNew);
  if (zNew == 0) {
    p->rc = SQLITE_NOMEM;
    return 0;
  }
  p->z = zNew;
  p->nAlloc = nNew;
  return 1;
}

void migStrAppend(MigStr *p, const char *z, size_t n) {
  if (!migStrGrow(p, n)) return;
  if (n) memcpy(p->z + p->n, z, n);
  p->n += n;
  p->z[p->n] = 0;
}

void migStrAppendZ(MigStr *p, const char *z) {
  migStrAppend(p, z, strlen(z));
}

void migStrAppendv(MigStr *p, const char *zFmt, va_list ap) {
  char *z;
  if (p->rc) return;
  z = sqlite3_vmprintf(zFmt, ap);
  if (z == 0) {
    p->rc = SQLITE_NOMEM;
    return;
  }
  migStrAppendZ(p, z);
  sqlite3_free(z);
}

void migStrAppendf(MigStr *p, const char *zFmt, ...) {
  va_list ap;
  va_start(ap, zFmt);
  migStrAppendv(p, zFmt, ap);
  va_end(ap);
}

/* Hand over the built string (caller frees); NULL if anything failed. */
char *migStrFinish(MigStr *p) {
  char *z = p->z;
  if (p->rc) {
    sqlite3_free(z);
    z = 0;
  } else if (z == 0) {
    z = sqlite3_malloc64(1);
    if (z) z[0] = 0;
  }
  p->z = 0;
  p->n = p->nAlloc = 0;
  p->rc = 0;
  return z;
}

void migStrReset(MigStr *p) {
  sqlite3_free(p->z);
  p->z = 0;
  p->n = p->nAlloc = 0;
  p->rc = 0;
}

/* ======================================================================
** Errors
*/

/* Replace *pzErr with a formatted message; returns rc, or SQLITE_NOMEM when
** the message itself could not be allocated. */
int migSetError(char **pzErr, int rc, const char *zFmt, ...) {
  va_list ap;
  char *z;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if (pzErr) {
    sqlite3_free(*pzErr);
    *pzErr = z;
  } else {
    sqlite3_free(z);
  }
  return z ? rc : SQLITE_NOMEM;
}

void migErrPrefix(char **pzErr, const char *zFmt, ...) {
  va_list ap;
  char *z;
  if (pzErr == 0 || *pzErr == 0) return;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if (z) {
    char *zNew = sqlite3_mprintf("%s%s", z, *pzErr);
    if (zNew) {
      sqlite3_free(*pzErr);
      *pzErr = zNew;
    }
    sqlite3_free(z);
  }
}

void migErrSuffix(char **pzErr, const char *zSuffix) {
  char *z;
  if (pzErr == 0 || *pzErr == 0) return;
  z = sqlite3_mprintf("%s%s", *pzErr, zSuffix);
  if (z) {
    sqlite3_free(*pzErr);
    *pzErr = z;
  }
}

/* ======================================================================
** Joining and checksums
*/

void migStrSep(MigStr *p, int *pn, const char *zSep) {
  if ((*pn)++ > 0) migStrAppendZ(p, zSep);
}

void migStrJoin(MigStr *p, const char *const *az, int n, const char *zSep) {
  int i, k = 0;
  for (i = 0; i < n; i++) {
    migStrSep(p, &k, zSep);
    migStrAppendZ(p, az[i]);
  }
}

char *migJoin(const char *const *az, int n, const char *zSep) {
  MigStr s = {0};
  migStrJoin(&s, az, n, zSep);
  return migStrFinish(&s);
}

char *migChecksumText(unsigned int sum, char *zBuf) {
  snprintf(zBuf, MIG_CHECKSUM_BUF, "%08x", sum);
  return zBuf;
}

/* Length of the valid UTF-8 sequence at z[0..n), 0 when it is not one
** (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8Len(const unsigned char *z, size_t n) {
  unsigned c = z[0];
  int len, i;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
  } else {
    return 0;
  }
  if (n < (size_t)len) return 0;
  for (i = 1; i < len; i++) {
    if ((z[i] & 0xc0) != 0x80) return 0;
  }
  if ((c == 0xe0 && z[1] < 0xa0) || (c == 0xed && z[1] >= 0xa0) ||
      (c == 0xf0 && z[1] < 0x90) || (c == 0xf4 && z[1] >= 0x90)) {
    return 0;
  }
  return len;
}

/* z[0..n) with every byte that is not valid UTF-8 (and, with bControl,
** every control character, C0, DEL and C1) written as \xHH. */
static char *showBytes(const char *z, size_t n, int bControl) {
  const unsigned char *a = (const unsigned char *)z;
  MigStr s = {0};
  size_t i = 0;
  while (i < n) {
    int len = utf8Len(&a[i], n - i);
    if (bControl && len == 2 && a[i] == 0xc2 && a[i + 1] < 0xa0) {
      /* U+0080..U+009F: C1 control characters */
      migStrAppendf(&s, "\\x%02x\\x%02x", a[i], a[i + 1]);
      i += 2;
    } else if (len == 0 ||
               (bControl && len == 1 && (a[i] < 0x20 || a[i] == 0x7f))) {
      migStrAppendf(&s, "\\x%02x", a[i]);
      i++;
    } else {
      migStrAppend(&s, (const char *)&a[i], (size_t)len);
      i += (size_t)len;
    }
  }
  return migStrFinish(&s);
}

/* An argument as a message echoes it: see internal.h. */
char *migShowArg(const char *z, int n) {
  return showBytes(z, n < 0 ? strlen(z) : (size_t)n, 1);
}

/* ======================================================================
** Errors as SQL sees them
*/

void migResultError(sqlite3_context *ctx, int rc, const char *zErr) {
  int prim = rc & 0xff;
  if (rc == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (zErr) {
    /* SQL text is UTF-8: bytes a message took from a file name or a
    ** script that are not (an argument is quoted already) become \xHH */
    char *zShown = showBytes(zErr, strlen(zErr), 0);
    if (zShown == 0) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    sqlite3_result_error(ctx, zShown, -1);
    sqlite3_free(zShown);
  } else {
    sqlite3_result_error(ctx, sqlite3_errstr(rc), -1);
  }
  /* a damaged bundle is not a damaged database: SQLITE_CORRUPT (and every
  ** other code) stays SQLITE_ERROR */
  if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED || prim == SQLITE_READONLY ||
      prim == SQLITE_CONSTRAINT || prim == SQLITE_FULL ||
      prim == SQLITE_IOERR) {
    sqlite3_result_error_code(ctx, rc);
  }
}

int migVtabError(sqlite3_vtab *p, int rc, const char *zFmt, ...) {
  va_list ap;
  sqlite3_free(p->zErrMsg);
  va_start(ap, zFmt);
  p->zErrMsg = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  return rc;
}

/* Does main hold a table named zName (in any letter case, as SQLite
** resolves names)?  *pExists 1 or 0; SQLite's result
** code.  (A plain SQLite helper: the engine's tables, stored revisions,
** the rebuild and the templates all ask it.) */
int migTableExists(sqlite3 *db, const char *zName, int *pExists) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(
      db,
      "SELECT 1 FROM main.sqlite_master WHERE type='table' AND name=? "
      "COLLATE NOCASE",
      -1, &st, 0);
  *pExists = 0;
  if (rc) return rc;
  rc = sqlite3_bind_text(st, 1, zName, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *pExists = 1;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  if (rc == SQLITE_OK) return sqlite3_finalize(st);
  sqlite3_finalize(st);
  return rc;
}
