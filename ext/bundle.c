/*
** bundle.c — the bundle: a migrations folder's scripts in zlib-compressed
** form, compiled into the module or written to a file.
**
**     migrate_bundle_open_path("migrations", &b, &zErr);   folder or file
**     migrate_bundle_encode(b, &aData, &nData, &zErr);       -> bytes
**     migrate_bundle_open_blob(aData, nData, &b, &zErr);     <- bytes
**     migBundleLoad(b, i, &zErr);        script i's sections, when needed
**
** Format 2 (written; all integers little-endian):
**
**     offset size
**      0      8   magic "SQLMIGR\x1a"
**      8      4   format version (2)
**     12      4   number of scripts N (<= 1,000,000)
**     16      4   index size U, uncompressed (<= 256 MiB)
**     20      4   index size C, compressed
**     24      4   CRC-32 of the index as stored (compressed)
**     28      4   CRC-32 of bytes 0..27
**     32      C   the index, raw deflate
**     32+C    ... the text chunks, K raw deflate streams back to back
**
**     index: u32 K, u32 total size of the chunks as stored,
**            K times { u32 stored size, u32 inflated size, u32 CRC-32 of
**                      the chunk as stored },
**            N times { u32 position in name order, u32 name length, name,
**                      u32 header length, header, u32 chunk, u32 offset in
**                      the inflated chunk, u32 body length, u32 checksum of
**                      the upgrade section }
**
** Index entries and chunk texts come in history order (parents first), so
** a revision's "Revises:" id and text sit next to its parent's and deflate
** finds them: the index inflates about 40 % faster than in name order.
**
** Each script (line endings normalized) is split where its header ends
** (migScriptHeaderLen): the header goes into the index, the rest into a
** chunk of about 128 KiB of scripts compressed together.  Opening a bundle
** inflates the index only and parses the headers with script.c, which is
** all the graph, the planner and a no-op need; a chunk is inflated the
** first time one of its scripts is about to run or be shown
** (migBundleLoad), and the script is then parsed whole, by the same parser,
** and must agree with its header and its checksum.
**
** Format 1 (still read): the same 32-byte header with version 1, the
** payload size, its compressed size and its CRC-32 at offsets 16, 20 and
** 24; then one zlib stream of N times { u32 name length, name, u32 text
** length, text }, parsed whole when opened.
**
** Every size is checked against the limits and against what remains before
** anything is allocated from it; an inflated size may not exceed what
** deflate can produce from its stored size (1032:1), so a bomb is refused
** before inflating.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <zlib.h>

#define BUNDLE_MAGIC   "SQLMIGR\x1a"
#define BUNDLE_HDR     32
#define BUNDLE_VERSION 2
#define BUNDLE_CHUNK   (128 * 1024) /* inflated bytes of scripts per chunk */

static void put32(unsigned char *p, unsigned int v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}
static unsigned int get32(const unsigned char *p) {
  return (unsigned int)p[0] | ((unsigned int)p[1] << 8) |
         ((unsigned int)p[2] << 16) | ((unsigned int)p[3] << 24);
}

/* ======================================================================
** Lazy texts (format 2)
*/

typedef struct MigLazyChunk {
  unsigned int nStored; /* bytes of raw deflate in aStored */
  unsigned int nRaw;    /* inflated size */
  unsigned int crc;     /* CRC-32 of the stored (deflated) bytes */
  size_t iStored;       /* offset in the chunk area */
  char *zRaw;           /* inflated, once needed (sqlite3_malloc) */
} MigLazyChunk;

typedef struct MigLazyRev {
  const char *zHead; /* the header, in aIdx */
  unsigned int nHead;
  unsigned int iChunk, iOff, nBody;
  int bLoaded;
} MigLazyRev;

struct MigLazy {
  pthread_mutex_t mutex;      /* guards every field below and the loading of
                            ** the revisions' text fields */
  const unsigned char *aArea; /* the chunk area (owned unless bBorrowed) */
  int bBorrowed;
  unsigned char *aIdx; /* the inflated index (headers point into it) */
  int nChunk;
  MigLazyChunk *aChunk;
  MigLazyRev *aRev; /* per revision, same order as aRev */
};
typedef struct MigLazy MigLazy;

static void lazyFree(MigLazy *p) {
  int i;
  if (p == 0) return;
  for (i = 0; i < p->nChunk; i++) sqlite3_free(p->aChunk[i].zRaw);
  sqlite3_free(p->aChunk);
  sqlite3_free(p->aRev);
  sqlite3_free(p->aIdx);
  if (!p->bBorrowed) sqlite3_free((void *)p->aArea);
  pthread_mutex_destroy(&p->mutex);
  sqlite3_free(p);
}

void migrate_bundle_free(migrate_bundle *b) {
  if (b == 0 || b->nRef > 0) return;
  lazyFree(b->pLazy);
  migArenaFree(&b->arena);
  sqlite3_free(b);
}

/* Inflate aIn[0..nIn) into exactly nOut bytes at aOut: raw deflate
** (windowBits -15, format 2) or a zlib stream (15, format 1).  inflate()
** rather than uncompress(), to tell a truncated stream from one that holds
** more than declared.  NULL on success, else why not (zBuf may hold the
** words; *pbNoMem set when zlib ran out of memory). */
static const char *inflateStream(const unsigned char *aIn, size_t nIn,
                                 unsigned char *aOut, size_t nOut,
                                 int windowBits, int *pbNoMem, char *zBuf,
                                 size_t nBuf) {
  z_stream zs;
  int zrc;
  const char *zWhy = 0;
  *pbNoMem = 0;
  memset(&zs, 0, sizeof(zs));
  zs.next_in = (Bytef *)aIn;
  zs.avail_in = (uInt)nIn;
  zs.next_out = aOut;
  zs.avail_out = (uInt)nOut;
  zrc = inflateInit2(&zs, windowBits);
  if (zrc != Z_OK) {
    *pbNoMem = zrc == Z_MEM_ERROR;
    return zrc == Z_MEM_ERROR ? "out of memory" : "zlib inflateInit2 failed";
  }
  zrc = inflate(&zs, Z_FINISH);
  if (zrc == Z_STREAM_END && zs.avail_out == 0 && zs.avail_in == 0) {
    /* exactly the declared size */
  } else if (zrc == Z_STREAM_END && zs.avail_out > 0) {
    snprintf(zBuf, nBuf, "the stream ends after %u bytes",
             (unsigned)(nOut - zs.avail_out));
    zWhy = zBuf;
  } else if (zrc == Z_STREAM_END) {
    snprintf(zBuf, nBuf, "%u bytes follow the end of the stream", zs.avail_in);
    zWhy = zBuf;
  } else if (zrc == Z_BUF_ERROR || zrc == Z_OK) {
    zWhy = zs.avail_in == 0 ? "the stream is truncated"
                            : "more data than declared";
  } else if (zrc == Z_MEM_ERROR) {
    *pbNoMem = 1;
    zWhy = "out of memory";
  } else {
    zWhy = "bad data";
  }
  inflateEnd(&zs);
  return zWhy;
}

/* Load revision i of b (caller holds the mutex). */
static int lazyLoadOne(migrate_bundle *b, int i, char **pzErr) {
  MigLazy *p = b->pLazy;
  MigLazyRev *l = &p->aRev[i];
  MigLazyChunk *c = &p->aChunk[l->iChunk];
  migrate_revision *r = &b->aRev[i];
  migrate_revision t;
  char *zText;
  int rc;
  if (c->zRaw == 0) {
    char zBuf[64];
    int bNoMem;
    const char *zWhy;
    char *z;
    if (migCrc32((const char *)p->aArea + c->iStored, c->nStored) != c->crc) {
      return migSetError(pzErr, SQLITE_CORRUPT,
                         "corrupt bundle: chunk %u (holding %s) fails its "
                         "checksum",
                         l->iChunk + 1, r->file);
    }
    z = sqlite3_malloc64((size_t)c->nRaw + 1);
    if (z == 0) return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
    zWhy = inflateStream(p->aArea + c->iStored, c->nStored, (unsigned char *)z,
                         c->nRaw, -15, &bNoMem, zBuf, sizeof(zBuf));
    if (zWhy) {
      sqlite3_free(z);
      if (bNoMem) return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
      return migSetError(pzErr, SQLITE_CORRUPT,
                         "corrupt bundle: chunk %u (holding %s) does not "
                         "inflate to %u bytes (%s)",
                         l->iChunk + 1, r->file, c->nRaw, zWhy);
    }
    z[c->nRaw] = 0;
    c->zRaw = z;
  }
  zText = sqlite3_malloc64((size_t)l->nHead + l->nBody + 1);
  if (zText == 0) return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  memcpy(zText, l->zHead, l->nHead);
  memcpy(zText + l->nHead, c->zRaw + l->iOff, l->nBody);
  rc = migScriptParseEx(&b->arena, r->file, zText, (size_t)l->nHead + l->nBody,
                        &t, 0, pzErr);
  sqlite3_free(zText);
  if (rc == SQLITE_NOMEM) {
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  if (rc) {
    migErrPrefix(pzErr, "in bundle: ");
    return SQLITE_CORRUPT;
  }
  /* the whole script must have the header the index gave (same bytes, and
  ** no more header lines at the start of the body) and the checksum */
  if (t.nsource < l->nHead || memcmp(t.source, l->zHead, l->nHead) != 0 ||
      migScriptHeaderLen(t.source, t.nsource) != l->nHead) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: the text of %s does not continue "
                       "its header",
                       r->file);
  }
  if (t.checksum != r->checksum) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: %s has upgrade checksum %08x, its "
                       "index entry says %08x",
                       r->file, t.checksum, r->checksum);
  }
  r->upgrade = t.upgrade;
  r->downgrade = t.downgrade;
  r->upgrade_line = t.upgrade_line;
  r->downgrade_line = t.downgrade_line;
  r->source = t.source;
  r->nsource = t.nsource;
  l->bLoaded = 1;
  return SQLITE_OK;
}

/* See internal.h. */
int migBundleLoad(migrate_bundle *b, int i, char **pzErr) {
  MigLazy *p = b ? b->pLazy : 0;
  int rc = SQLITE_OK, k;
  if (p == 0) return SQLITE_OK;
  if (i >= b->nRev) {
    return migSetError(pzErr, SQLITE_RANGE, "no revision %d in the bundle", i);
  }
  if (pthread_mutex_lock(&p->mutex) != 0) {
    return migSetError(pzErr, SQLITE_ERROR, "cannot lock the bundle mutex");
  }
  if (i >= 0) {
    if (!p->aRev[i].bLoaded) rc = lazyLoadOne(b, i, pzErr);
  } else {
    for (k = 0; k < b->nRev && rc == SQLITE_OK; k++) {
      if (!p->aRev[k].bLoaded) rc = lazyLoadOne(b, k, pzErr);
    }
  }
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

/* See internal.h. */
int migBundleCheckStatements(migrate_bundle *b, int i, char **pzErr) {
  MigLazy *p = b->pLazy;
  migrate_revision *r = &b->aRev[i];
  int rc;
  if (p == 0) {
    /* parsed from files: checked then, unless parsed without the check */
    return r->statements_checked ? SQLITE_OK
                                 : migScriptCheckStatements(r, pzErr);
  }
  if (pthread_mutex_lock(&p->mutex) != 0) {
    return migSetError(pzErr, SQLITE_ERROR, "cannot lock the bundle mutex");
  }
  rc = r->statements_checked ? SQLITE_OK : migScriptCheckStatements(r, pzErr);
  if (rc == SQLITE_OK) r->statements_checked = 1;
  pthread_mutex_unlock(&p->mutex);
  return rc;
}

/* Public face of migBundleLoad(): loading fills a cache, the bundle's
** content does not change, hence const. */
int migrate_bundle_load(const migrate_bundle *b, int i, char **pzErr) {
  return migBundleLoad((migrate_bundle *)b, i, pzErr);
}

/* ======================================================================
** From parsed files
*/

/* Parse each script and build the graph.  The arrays are in name order.
** See internal.h. */
int migBundleFromFiles(int nFile, const char **azName, const char **azText,
                       const size_t *anText, migrate_bundle **ppOut,
                       char **pzErr) {
  return migBundleFromFilesEx(nFile, azName, azText, anText, MIG_PARSE_CHECK,
                              ppOut, pzErr);
}

int migBundleFromFilesEx(int nFile, const char **azName, const char **azText,
                         const size_t *anText, int flags,
                         migrate_bundle **ppOut, char **pzErr) {
  migrate_bundle *b;
  int i, rc = SQLITE_OK;
  *ppOut = 0;
  b = sqlite3_malloc64(sizeof(*b));
  if (b == 0) return SQLITE_NOMEM;
  memset(b, 0, sizeof(*b));
  b->aRev =
      migArenaAlloc(&b->arena, sizeof(migrate_revision) * (size_t)(nFile + 1));
  if (b->aRev == 0) rc = SQLITE_NOMEM;
  for (i = 0; rc == SQLITE_OK && i < nFile; i++) {
    rc = migScriptParseEx(&b->arena, azName[i], azText[i], anText[i],
                          &b->aRev[i], flags, pzErr);
    b->nRev = i + 1;
  }
  if (rc == SQLITE_OK) rc = migGraphBuild(b, pzErr);
  if (rc) {
    if (rc == SQLITE_NOMEM) migSetError(pzErr, SQLITE_NOMEM, "out of memory");
    migrate_bundle_free(b);
    return rc;
  }
  *ppOut = b;
  return SQLITE_OK;
}

/* ======================================================================
** Encode
*/

/* Serialize: see migrate.h. */
int migrate_bundle_encode(migrate_bundle *b, unsigned char **paOut,
                          size_t *pnOut, char **pzErr) {
  return migBundleEncodeLevel(b, 9, paOut, pnOut, pzErr);
}

/* Append raw deflate of a[0..n) to *pOut.  Z_OK or a zlib code. */
static int deflateRawTo(const char *a, size_t n, int level, MigStr *pOut) {
  z_stream zs;
  uLong nBound;
  int zrc;
  memset(&zs, 0, sizeof(zs));
  zrc = deflateInit2(&zs, level, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  if (zrc != Z_OK) return zrc;
  nBound = deflateBound(&zs, (uLong)n);
  if (pOut->rc) {
    deflateEnd(&zs);
    return Z_MEM_ERROR;
  }
  if (pOut->nAlloc - pOut->n < (size_t)nBound + 1) {
    size_t nNew = pOut->n + (size_t)nBound + pOut->nAlloc / 2 + 64;
    char *z = sqlite3_realloc64(pOut->z, nNew);
    if (z == 0) {
      deflateEnd(&zs);
      return Z_MEM_ERROR;
    }
    pOut->z = z;
    pOut->nAlloc = nNew;
  }
  zs.next_in = (Bytef *)(a ? a : "");
  zs.avail_in = (uInt)n;
  zs.next_out = (Bytef *)pOut->z + pOut->n;
  zs.avail_out = (uInt)nBound;
  zrc = deflate(&zs, Z_FINISH);
  if (zrc == Z_STREAM_END) {
    pOut->n += (size_t)nBound - zs.avail_out;
    pOut->z[pOut->n] = 0;
    zrc = Z_OK;
  } else if (zrc == Z_OK) {
    zrc = Z_BUF_ERROR;
  }
  deflateEnd(&zs);
  return zrc;
}

static void strPut32(MigStr *s, unsigned int v) {
  unsigned char a[4];
  put32(a, v);
  migStrAppend(s, (const char *)a, 4);
}

/* Serialize (format 2) with zlib compression level (1 fast .. 9 small). */
int migBundleEncodeLevel(migrate_bundle *b, int level, unsigned char **paOut,
                         size_t *pnOut, char **pzErr) {
  MigStr area = {0}, chunk = {0}, idx = {0}, out = {0};
  MigStr table = {0};     /* K times { stored, raw, crc } */
  unsigned int *aLoc = 0; /* per revision: chunk, offset, head length */
  int i, j, nChunk = 0, zrc = Z_OK, rc = SQLITE_OK;
  size_t nText = 0;
  *paOut = 0;
  *pnOut = 0;
  rc = migBundleLoad(b, -1, pzErr);
  if (rc) return rc;
  for (i = 0; i < b->nRev; i++) nText += b->aRev[i].nsource + 64;
  if (nText > MIG_MAX_PAYLOAD) {
    return migSetError(pzErr, SQLITE_TOOBIG,
                       "the scripts hold more than %u bytes; a bundle holds "
                       "at most that",
                       MIG_MAX_PAYLOAD);
  }
  aLoc = sqlite3_malloc64(sizeof(unsigned int) * 3 * ((size_t)b->nRev + 1));
  if (aLoc == 0) return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  /* the chunks: each script's text after its header, about BUNDLE_CHUNK
  ** inflated bytes to a chunk */
  for (j = 0; j <= b->nRev && zrc == Z_OK && chunk.rc == 0; j++) {
    i = j < b->nRev ? b->aOrder[j] : b->nRev;
    if (chunk.n > 0 && (j == b->nRev || chunk.n >= BUNDLE_CHUNK)) {
      size_t n0 = area.n;
      zrc = deflateRawTo(chunk.z, chunk.n, level, &area);
      strPut32(&table, (unsigned int)(area.n - n0));
      strPut32(&table, (unsigned int)chunk.n);
      strPut32(&table, migCrc32(area.z + n0, area.n - n0));
      nChunk++;
      chunk.n = 0;
    }
    if (i < b->nRev) {
      const migrate_revision *r = &b->aRev[i];
      size_t nHead = migScriptHeaderLen(r->source, r->nsource);
      aLoc[3 * i] = (unsigned int)nChunk;
      aLoc[3 * i + 1] = (unsigned int)chunk.n;
      aLoc[3 * i + 2] = (unsigned int)nHead;
      migStrAppend(&chunk, r->source + nHead, r->nsource - nHead);
    }
  }
  /* the index */
  strPut32(&idx, (unsigned int)nChunk);
  strPut32(&idx, (unsigned int)area.n);
  migStrAppend(&idx, table.z, table.n);
  for (j = 0; j < b->nRev; j++) {
    const migrate_revision *r;
    size_t nName, nHead;
    i = b->aOrder[j];
    r = &b->aRev[i];
    nName = strlen(r->file);
    nHead = aLoc[3 * i + 2];
    strPut32(&idx, (unsigned int)i);
    strPut32(&idx, (unsigned int)nName);
    migStrAppend(&idx, r->file, nName);
    strPut32(&idx, (unsigned int)nHead);
    migStrAppend(&idx, r->source, nHead);
    strPut32(&idx, aLoc[3 * i]);
    strPut32(&idx, aLoc[3 * i + 1]);
    strPut32(&idx, (unsigned int)(r->nsource - nHead));
    strPut32(&idx, r->checksum);
  }
  if (zrc == Z_OK && idx.rc == 0 && idx.n > MIG_MAX_PAYLOAD) {
    rc = migSetError(pzErr, SQLITE_TOOBIG,
                     "the bundle's index would hold more than %u bytes",
                     MIG_MAX_PAYLOAD);
    goto done;
  }
  /* header, index, chunks */
  migStrAppend(&out, BUNDLE_MAGIC, 8);
  strPut32(&out, BUNDLE_VERSION);
  strPut32(&out, (unsigned int)b->nRev);
  strPut32(&out, (unsigned int)idx.n);
  strPut32(&out, 0); /* the index's stored size, set below */
  strPut32(&out, 0); /* the stored index's CRC, set below */
  strPut32(&out, 0); /* the header's CRC, set below */
  if (zrc == Z_OK && out.rc == 0) zrc = deflateRawTo(idx.z, idx.n, level, &out);
  if (zrc == Z_OK && out.rc == 0) {
    put32((unsigned char *)out.z + 20, (unsigned int)(out.n - BUNDLE_HDR));
    put32((unsigned char *)out.z + 24,
          migCrc32(out.z + BUNDLE_HDR, out.n - BUNDLE_HDR));
    put32((unsigned char *)out.z + 28, migCrc32(out.z, 28));
    migStrAppend(&out, area.z, area.n);
  }
  if (zrc == Z_MEM_ERROR || area.rc || chunk.rc || idx.rc || table.rc ||
      out.rc) {
    rc = migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  } else if (zrc != Z_OK) {
    rc = migSetError(pzErr, SQLITE_ERROR, "zlib deflate failed (%d)", zrc);
  }
done:
  sqlite3_free(aLoc);
  migStrReset(&area);
  migStrReset(&chunk);
  migStrReset(&idx);
  migStrReset(&table);
  if (rc) {
    migStrReset(&out);
    return rc;
  }
  *pnOut = out.n;
  *paOut = (unsigned char *)out.z;
  return SQLITE_OK;
}

/* Format 1 (see the top): kept so tests can write old bundles. */
int migBundleEncodeV1(migrate_bundle *b, int level, unsigned char **paOut,
                      size_t *pnOut, char **pzErr) {
  MigStr s = {0};
  int i;
  unsigned char aLen[4];
  unsigned char *aOut = 0;
  uLongf nComp;
  int zrc;
  *paOut = 0;
  *pnOut = 0;
  if (migBundleLoad(b, -1, pzErr)) return SQLITE_CORRUPT;
  for (i = 0; i < b->nRev; i++) {
    const migrate_revision *r = &b->aRev[i];
    size_t nName = strlen(r->file);
    put32(aLen, (unsigned int)nName);
    migStrAppend(&s, (const char *)aLen, 4);
    migStrAppend(&s, r->file, nName);
    put32(aLen, (unsigned int)r->nsource);
    migStrAppend(&s, (const char *)aLen, 4);
    migStrAppend(&s, r->source, r->nsource);
  }
  if (s.rc) {
    migStrReset(&s);
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  if (s.n > MIG_MAX_PAYLOAD) {
    migStrReset(&s);
    return migSetError(pzErr, SQLITE_TOOBIG,
                       "the scripts hold more than %u bytes; a bundle holds "
                       "at most that",
                       MIG_MAX_PAYLOAD);
  }
  nComp = compressBound((uLong)s.n);
  aOut = sqlite3_malloc64(BUNDLE_HDR + (size_t)nComp);
  if (aOut == 0) {
    migStrReset(&s);
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  zrc = compress2(aOut + BUNDLE_HDR, &nComp, (const Bytef *)(s.z ? s.z : ""),
                  (uLong)s.n, level);
  if (zrc != Z_OK) {
    sqlite3_free(aOut);
    migStrReset(&s);
    return migSetError(pzErr, SQLITE_ERROR, "zlib compress2 failed (%d)", zrc);
  }
  memcpy(aOut, BUNDLE_MAGIC, 8);
  put32(aOut + 8, 1);
  put32(aOut + 12, (unsigned int)b->nRev);
  put32(aOut + 16, (unsigned int)s.n);
  put32(aOut + 20, (unsigned int)nComp);
  put32(aOut + 24, migCrc32(s.z ? s.z : "", s.n));
  put32(aOut + 28, migCrc32((const char *)aOut, 28));
  migStrReset(&s);
  *paOut = aOut;
  *pnOut = BUNDLE_HDR + (size_t)nComp;
  return SQLITE_OK;
}

/* ======================================================================
** Decode
*/

/* Sort helper: indices by name. */
typedef struct NamedText {
  const char *zName;
  const char *zText;
  size_t nText;
} NamedText;
static int cmpNamed(const void *a, const void *b) {
  return strcmp(((const NamedText *)a)->zName, ((const NamedText *)b)->zName);
}

/* Build from an array of named texts (sorted here). */
static int fromNamed(NamedText *a, int n, int flags, migrate_bundle **ppOut,
                     char **pzErr) {
  const char **azName, **azText;
  size_t *anText;
  int i, rc;
  if (n > 1) qsort(a, (size_t)n, sizeof(NamedText), cmpNamed);
  for (i = 1; i < n; i++) {
    if (strcmp(a[i].zName, a[i - 1].zName) == 0) {
      return migSetError(pzErr, SQLITE_CORRUPT, "two scripts are named %s",
                         a[i].zName);
    }
  }
  azName = sqlite3_malloc64(sizeof(char *) * (size_t)(n + 1));
  azText = sqlite3_malloc64(sizeof(char *) * (size_t)(n + 1));
  anText = sqlite3_malloc64(sizeof(size_t) * (size_t)(n + 1));
  if (azName == 0 || azText == 0 || anText == 0) {
    rc = migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  } else {
    for (i = 0; i < n; i++) {
      azName[i] = a[i].zName;
      azText[i] = a[i].zText;
      anText[i] = a[i].nText;
    }
    rc = migBundleFromFilesEx(n, azName, azText, anText, flags, ppOut, pzErr);
  }
  sqlite3_free(azName);
  sqlite3_free(azText);
  sqlite3_free(anText);
  return rc;
}

/* Decode a bundle from memory: see migrate.h. */
int migrate_bundle_open_blob(const void *aData, size_t nData,
                             migrate_bundle **ppOut, char **pzErr) {
  return migBundleOpenBlobEx(aData, nData, 0, ppOut, pzErr);
}

static int decodeV1(const unsigned char *p, size_t nData,
                    migrate_bundle **ppOut, char **pzErr);
static int decodeV2(const unsigned char *p, size_t nData, int bBorrow,
                    migrate_bundle **ppOut, char **pzErr);

/* See internal.h. */
int migBundleOpenBlobEx(const void *aData, size_t nData, int bBorrow,
                        migrate_bundle **ppOut, char **pzErr) {
  const unsigned char *p = aData;
  unsigned int version;
  *ppOut = 0;
  if (aData == 0 || nData < BUNDLE_HDR) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "not a bundle: %llu bytes is shorter than the %d-byte "
                       "header",
                       (unsigned long long)(aData ? nData : 0), BUNDLE_HDR);
  }
  if (memcmp(p, BUNDLE_MAGIC, 8) != 0) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "not a bundle: bad magic (expected a file written by "
                       "'mkbundle' or 'sqlite-migrate bundle')");
  }
  if (migCrc32((const char *)p, 28) != get32(p + 28)) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: header checksum mismatch");
  }
  version = get32(p + 8);
  if (version == 1) return decodeV1(p, nData, ppOut, pzErr);
  if (version == 2) return decodeV2(p, nData, bBorrow, ppOut, pzErr);
  return migSetError(pzErr, SQLITE_CORRUPT,
                     "bundle format version %u is not supported (this "
                     "build reads versions 1 and 2); rebuild the bundle",
                     version);
}

/* Prefix a graph or parse error of a decoded bundle with "in bundle: ". */
static void inBundle(int rc, char **pzErr) {
  if (rc && rc != SQLITE_NOMEM) migErrPrefix(pzErr, "in bundle: ");
}

/* The checks of an inflated size nRaw against the limit and against what
** deflate can make of nStored bytes (1032:1): a bomb is refused before
** inflating.  zWhat names it ("payload", "index"). */
static int checkInflatedSize(const char *zWhat, unsigned int nRaw,
                             unsigned int nStored, char **pzErr) {
  if (nRaw > MIG_MAX_PAYLOAD) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: %s size %u exceeds the limit of %u "
                       "bytes",
                       zWhat, nRaw, MIG_MAX_PAYLOAD);
  }
  if ((unsigned long long)nRaw > (unsigned long long)nStored * 1032 + 64) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: %s size %u is impossible for %u "
                       "compressed bytes",
                       zWhat, nRaw, nStored);
  }
  return SQLITE_OK;
}

/* Read script i's name (u32 length, bytes) at a[*pOff..n) into zName (room
** for MIG_MAX_FILENAME + 1 bytes) and move *pOff past it; the caller has
** checked that the length word is there.  SQLITE_CORRUPT with a message
** for a bad length or name. */
static int readName(const unsigned char *a, size_t n, size_t *pOff,
                    unsigned int i, char *zName, char **pzErr) {
  size_t off = *pOff;
  unsigned int nName = get32(a + off);
  off += 4;
  if (nName == 0 || nName > MIG_MAX_FILENAME || nName > n - off) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: script %u has a name of %u bytes "
                       "(1 to %d bytes, within the %llu bytes left)",
                       i + 1, nName, MIG_MAX_FILENAME,
                       (unsigned long long)(n - off));
  }
  memcpy(zName, a + off, nName);
  zName[nName] = 0;
  if (strlen(zName) != nName || strchr(zName, '/')) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: script %u has an invalid name", i + 1);
  }
  *pOff = off + nName;
  return SQLITE_OK;
}

/* Format 1: one zlib stream, every script parsed now. */
static int decodeV1(const unsigned char *p, size_t nData,
                    migrate_bundle **ppOut, char **pzErr) {
  unsigned int nScript, nPay, nComp, crcPay;
  unsigned char *aPay = 0;
  NamedText *a = 0;
  char *zNames = 0;
  int rc = SQLITE_OK;
  unsigned int i;
  size_t off = 0, nNameUsed = 0;

  nScript = get32(p + 12);
  nPay = get32(p + 16);
  nComp = get32(p + 20);
  crcPay = get32(p + 24);
  if ((size_t)nComp != nData - BUNDLE_HDR) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: header says %u compressed bytes, "
                       "file holds %llu (truncated or padded?)",
                       nComp, (unsigned long long)(nData - BUNDLE_HDR));
  }
  rc = checkInflatedSize("payload", nPay, nComp, pzErr);
  if (rc) return rc;
  if (nScript > MIG_MAX_REVISIONS || (unsigned long long)nScript * 8 > nPay) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: %u scripts cannot fit in %u bytes",
                       nScript, nPay);
  }
  aPay = sqlite3_malloc64((size_t)nPay + 1);
  if (aPay == 0) return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  {
    char zBuf[64];
    int bNoMem;
    const char *zWhy = inflateStream(p + BUNDLE_HDR, nComp, aPay, nPay, 15,
                                     &bNoMem, zBuf, sizeof(zBuf));
    if (zWhy) {
      rc = migSetError(pzErr, bNoMem ? SQLITE_NOMEM : SQLITE_CORRUPT,
                       "corrupt bundle: zlib stream does not inflate to %u "
                       "bytes (%s)",
                       nPay, zWhy);
      goto done;
    }
  }
  if (migCrc32((const char *)aPay, nPay) != crcPay) {
    rc = migSetError(pzErr, SQLITE_CORRUPT,
                     "corrupt bundle: payload checksum mismatch");
    goto done;
  }
  a = sqlite3_malloc64(sizeof(NamedText) * ((size_t)nScript + 1));
  /* names are copied NUL-terminated: at most the payload plus one byte a
  ** script, whatever the header claims */
  zNames = sqlite3_malloc64((size_t)nPay + nScript + 1);
  if (a == 0 || zNames == 0) {
    rc = migSetError(pzErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  for (i = 0; i < nScript; i++) {
    unsigned int nText;
    char *zName = zNames + nNameUsed;
    if (nPay - off < 4) goto truncated;
    rc = readName(aPay, nPay, &off, i, zName, pzErr);
    if (rc) goto done;
    nNameUsed += strlen(zName) + 1;
    if (nPay - off < 4) goto truncated;
    nText = get32(aPay + off);
    off += 4;
    if (nText > nPay - off) goto truncated;
    a[i].zName = zName;
    a[i].zText = (const char *)aPay + off;
    a[i].nText = nText;
    off += nText;
  }
  if (off != nPay) {
    rc = migSetError(pzErr, SQLITE_CORRUPT,
                     "corrupt bundle: %llu bytes left after the last script",
                     (unsigned long long)((size_t)nPay - off));
    goto done;
  }
  /* statements are checked when a revision is about to run (the bundler
  ** checked them when it built the bundle) */
  rc = fromNamed(a, (int)nScript, 0, ppOut, pzErr);
  inBundle(rc, pzErr);
  goto done;

truncated:
  rc = migSetError(pzErr, SQLITE_CORRUPT,
                   "corrupt bundle: script %u runs past the end of the "
                   "payload",
                   i + 1);
done:
  sqlite3_free(a);
  sqlite3_free(zNames);
  sqlite3_free(aPay);
  return rc;
}

/* Format 2's index: the header's sizes checked, the index inflated into
** *paIdx (caller frees). */
static int v2ReadIndex(const unsigned char *p, size_t nData,
                       unsigned char **paIdx, char **pzErr) {
  unsigned int nScript = get32(p + 12), nIdx = get32(p + 16);
  unsigned int nIdxStored = get32(p + 20), crcIdx = get32(p + 24);
  unsigned char *aIdx;
  char zBuf[64];
  int bNoMem, rc;
  const char *zWhy;
  if ((size_t)nIdxStored > nData - BUNDLE_HDR) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: header says the index takes %u "
                       "bytes, file holds %llu after the header (truncated?)",
                       nIdxStored, (unsigned long long)(nData - BUNDLE_HDR));
  }
  rc = checkInflatedSize("index", nIdx, nIdxStored, pzErr);
  if (rc) return rc;
  /* an entry takes at least 25 bytes: position, lengths, a 1-byte name,
  ** locations */
  if (nScript > MIG_MAX_REVISIONS ||
      (unsigned long long)nScript * 25 + 8 > nIdx) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: %u scripts cannot fit in an index "
                       "of %u bytes",
                       nScript, nIdx);
  }
  if (migCrc32((const char *)p + BUNDLE_HDR, nIdxStored) != crcIdx) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: index checksum mismatch");
  }
  aIdx = sqlite3_malloc64((size_t)nIdx + 1);
  if (aIdx == 0) return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  zWhy = inflateStream(p + BUNDLE_HDR, nIdxStored, aIdx, nIdx, -15, &bNoMem,
                       zBuf, sizeof(zBuf));
  if (zWhy) {
    sqlite3_free(aIdx);
    return migSetError(pzErr, bNoMem ? SQLITE_NOMEM : SQLITE_CORRUPT,
                       bNoMem ? "out of memory"
                              : "corrupt bundle: the index does not inflate "
                                "to %u bytes (%s)",
                       nIdx, zWhy);
  }
  *paIdx = aIdx;
  return SQLITE_OK;
}

/* A new MigLazy that owns aIdx (also on failure) with room for nChunk
** chunks and nScript revisions. */
static int v2NewLazy(unsigned char *aIdx, unsigned int nChunk,
                     unsigned int nScript, MigLazy **ppLazy, char **pzErr) {
  MigLazy *pLazy = sqlite3_malloc64(sizeof(*pLazy));
  if (pLazy == 0) {
    sqlite3_free(aIdx);
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  memset(pLazy, 0, sizeof(*pLazy));
  if (pthread_mutex_init(&pLazy->mutex, 0) != 0) {
    sqlite3_free(pLazy);
    sqlite3_free(aIdx);
    return migSetError(pzErr, SQLITE_ERROR, "cannot create the bundle mutex");
  }
  pLazy->bBorrowed = 1; /* until a copy of the area is made */
  pLazy->aIdx = aIdx;
  *ppLazy = pLazy;
  pLazy->aChunk = sqlite3_malloc64(sizeof(MigLazyChunk) * ((size_t)nChunk + 1));
  pLazy->aRev = sqlite3_malloc64(sizeof(MigLazyRev) * ((size_t)nScript + 1));
  if (pLazy->aChunk == 0 || pLazy->aRev == 0) {
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  memset(pLazy->aChunk, 0, sizeof(MigLazyChunk) * ((size_t)nChunk + 1));
  memset(pLazy->aRev, 0, sizeof(MigLazyRev) * ((size_t)nScript + 1));
  pLazy->nChunk = (int)nChunk;
  return SQLITE_OK;
}

/* The chunk table after the index's two counts: pLazy->aChunk filled and
** checked against nArea, the bytes the file holds after the index.  *pOff
** moves past it. */
static int v2ReadChunks(MigLazy *pLazy, unsigned int nArea, size_t *pOff,
                        char **pzErr) {
  unsigned long long nRawAll = 0, nStoredAll = 0;
  size_t off = *pOff;
  int i;
  for (i = 0; i < pLazy->nChunk; i++) {
    MigLazyChunk *c = &pLazy->aChunk[i];
    c->nStored = get32(pLazy->aIdx + off);
    c->nRaw = get32(pLazy->aIdx + off + 4);
    c->crc = get32(pLazy->aIdx + off + 8);
    off += 12;
    c->iStored = (size_t)nStoredAll;
    nStoredAll += c->nStored;
    nRawAll += c->nRaw;
    if (nStoredAll > nArea || nRawAll > MIG_MAX_PAYLOAD ||
        (unsigned long long)c->nRaw >
            (unsigned long long)c->nStored * 1032 + 64) {
      return migSetError(pzErr, SQLITE_CORRUPT,
                         "corrupt bundle: chunk %u (%u bytes stored, %u "
                         "inflated) does not fit the bundle or the limit of "
                         "%u bytes",
                         (unsigned int)i + 1, c->nStored, c->nRaw,
                         MIG_MAX_PAYLOAD);
    }
  }
  if (nStoredAll != nArea) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: the chunks take %llu bytes, the "
                       "index says %u",
                       nStoredAll, nArea);
  }
  *pOff = off;
  return SQLITE_OK;
}

/* Index entry i (0-based) at pLazy->aIdx + *pOff: its position, name,
** header (parsed now) and where its text lies.  *pOff moves past it. */
static int v2ReadEntry(migrate_bundle *b, MigLazy *pLazy, unsigned int nIdx,
                       unsigned int nScript, unsigned int i, size_t *pOff,
                       char **pzErr) {
  const unsigned char *a = pLazy->aIdx;
  size_t off = *pOff;
  MigLazyRev *l;
  migrate_revision *r;
  unsigned int nHead, iPos;
  int rc;
  char zName[MIG_MAX_FILENAME + 1]; /* the parser keeps a copy */
  if (nIdx - off < 8) goto truncated;
  iPos = get32(a + off);
  off += 4;
  if (iPos >= nScript || b->aRev[iPos].file != 0) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: index entry %u claims position %u "
                       "(positions run from 0 to %u, once each)",
                       i + 1, iPos, nScript - 1);
  }
  l = &pLazy->aRev[iPos];
  r = &b->aRev[iPos];
  rc = readName(a, nIdx, &off, i, zName, pzErr);
  if (rc) return rc;
  if (nIdx - off < 4) goto truncated;
  nHead = get32(a + off);
  off += 4;
  if (nHead > nIdx - off || nIdx - off - nHead < 16) goto truncated;
  l->zHead = (const char *)a + off;
  l->nHead = nHead;
  off += nHead;
  l->iChunk = get32(a + off);
  l->iOff = get32(a + off + 4);
  l->nBody = get32(a + off + 8);
  off += 16;
  if (l->iChunk >= (unsigned int)pLazy->nChunk ||
      l->iOff > pLazy->aChunk[l->iChunk].nRaw ||
      l->nBody > pLazy->aChunk[l->iChunk].nRaw - l->iOff ||
      (unsigned long long)nHead + l->nBody > MIG_MAX_SCRIPT) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: the text of %s lies outside its "
                       "chunk",
                       zName);
  }
  rc = migScriptParseEx(&b->arena, zName, l->zHead, nHead, r, MIG_PARSE_HEADER,
                        pzErr);
  if (rc == SQLITE_NOMEM) {
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  if (rc) {
    r->file = 0; /* the parser may have set it */
    return rc;
  }
  r->checksum = get32(a + off - 4); /* the parser cleared it */
  *pOff = off;
  return SQLITE_OK;

truncated:
  return migSetError(pzErr, SQLITE_CORRUPT,
                     "corrupt bundle: index entry %u runs past the end of "
                     "the index",
                     i + 1);
}

/* The positions put the names in order, each name once. */
static int v2CheckOrder(const migrate_bundle *b, unsigned int nScript,
                        char **pzErr) {
  unsigned int i;
  for (i = 1; i < nScript; i++) {
    int c = strcmp(b->aRev[i - 1].file, b->aRev[i].file);
    if (c >= 0) {
      return migSetError(pzErr, SQLITE_CORRUPT,
                         c == 0 ? "in bundle: two scripts are named %s"
                                : "corrupt bundle: script %s is out of name "
                                  "order",
                         b->aRev[i].file);
    }
  }
  return SQLITE_OK;
}

/* Format 2: the index now, the texts when needed (see the top). */
static int decodeV2(const unsigned char *p, size_t nData, int bBorrow,
                    migrate_bundle **ppOut, char **pzErr) {
  unsigned int nScript = get32(p + 12), nIdx = get32(p + 16);
  unsigned int nIdxStored = get32(p + 20);
  unsigned int nChunk, nArea, i;
  unsigned char *aIdx = 0;
  MigLazy *pLazy = 0;
  migrate_bundle *b = 0;
  size_t off = 8;
  int rc = v2ReadIndex(p, nData, &aIdx, pzErr);
  if (rc) return rc;
  nChunk = get32(aIdx);
  nArea = get32(aIdx + 4);
  if ((unsigned long long)nChunk * 12 > nIdx - off ||
      nChunk > (nScript ? nScript : 0)) {
    sqlite3_free(aIdx);
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: %u chunks for %u scripts in an index "
                       "of %u bytes",
                       nChunk, nScript, nIdx);
  }
  if ((size_t)nArea != nData - BUNDLE_HDR - nIdxStored) {
    sqlite3_free(aIdx);
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: the index says the chunks take %u "
                       "bytes, file holds %llu (truncated or padded?)",
                       nArea,
                       (unsigned long long)(nData - BUNDLE_HDR - nIdxStored));
  }
  rc = v2NewLazy(aIdx, nChunk, nScript, &pLazy, pzErr);
  if (rc == SQLITE_OK) rc = v2ReadChunks(pLazy, nArea, &off, pzErr);
  if (rc == SQLITE_OK) {
    b = sqlite3_malloc64(sizeof(*b));
    if (b) memset(b, 0, sizeof(*b));
    if (b) {
      b->aRev = migArenaAlloc(&b->arena,
                              sizeof(migrate_revision) * ((size_t)nScript + 1));
    }
    if (b == 0 || b->aRev == 0) {
      rc = migSetError(pzErr, SQLITE_NOMEM, "out of memory");
    }
  }
  for (i = 0; i < nScript && rc == SQLITE_OK; i++) {
    rc = v2ReadEntry(b, pLazy, nIdx, nScript, i, &off, pzErr);
  }
  if (rc == SQLITE_OK) rc = v2CheckOrder(b, nScript, pzErr);
  if (rc == SQLITE_OK && off != nIdx) {
    rc = migSetError(pzErr, SQLITE_CORRUPT,
                     "corrupt bundle: %llu bytes left after the last index "
                     "entry",
                     (unsigned long long)((size_t)nIdx - off));
  }
  if (rc == SQLITE_OK) {
    b->nRev = (int)nScript;
    if (bBorrow) {
      pLazy->aArea = p + BUNDLE_HDR + nIdxStored;
    } else {
      unsigned char *aCopy = sqlite3_malloc64((size_t)nArea + 1);
      if (aCopy == 0) {
        rc = migSetError(pzErr, SQLITE_NOMEM, "out of memory");
      } else {
        memcpy(aCopy, p + BUNDLE_HDR + nIdxStored, nArea);
        pLazy->aArea = aCopy;
        pLazy->bBorrowed = 0;
      }
    }
  }
  if (rc == SQLITE_OK) {
    b->pLazy = pLazy;
    pLazy = 0;
    rc = migGraphBuild(b, pzErr);
  }
  if (rc == SQLITE_OK) {
    *ppOut = b;
    return SQLITE_OK;
  }
  if (rc != SQLITE_NOMEM) inBundle(rc == SQLITE_CORRUPT ? 0 : rc, pzErr);
  lazyFree(pLazy);
  migrate_bundle_free(b);
  return rc;
}

/* ======================================================================
** Files and folders
*/

/* Read a whole file into *pz (caller frees), at most nMax bytes. */
static int readFile(const char *zPath, size_t nMax, char **pz, size_t *pn,
                    char **pzErr) {
  FILE *f = fopen(zPath, "rb");
  char *z;
  long n;
  *pz = 0;
  *pn = 0;
  if (f == 0) {
    return migSetError(pzErr, SQLITE_CANTOPEN, "cannot open %s: %s", zPath,
                       strerror(errno));
  }
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return migSetError(pzErr, SQLITE_IOERR, "cannot read %s: %s", zPath,
                       strerror(errno));
  }
  if ((size_t)n > nMax) {
    fclose(f);
    return migSetError(pzErr, SQLITE_TOOBIG,
                       "%s: file is larger than %llu bytes", zPath,
                       (unsigned long long)nMax);
  }
  z = sqlite3_malloc64((size_t)n + 1);
  if (z == 0) {
    fclose(f);
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  if (n > 0 && fread(z, 1, (size_t)n, f) != (size_t)n) {
    sqlite3_free(z);
    fclose(f);
    return migSetError(pzErr, SQLITE_IOERR, "cannot read %s", zPath);
  }
  fclose(f);
  z[n] = 0;
  *pz = z;
  *pn = (size_t)n;
  return SQLITE_OK;
}

/* ----------------------------------------------------------------------
** Alembic's .py revisions in a folder: refused, never read as an empty
** history.  A file counts when its name ends in ".py" and its text names
** "down_revision", which every Alembic revision script assigns (utility
** modules and env.py do not).
*/

static int cmpName(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does file zPath look like an Alembic revision script?  1, 0, or -1
** (error in *pzErr). */
static int isAlembicScript(const char *zPath, char **pzErr) {
  char *z;
  size_t n;
  int rc = readFile(zPath, MIG_MAX_SCRIPT, &z, &n, pzErr);
  if (rc) return -1;
  rc = strstr(z, "down_revision") != 0;
  sqlite3_free(z);
  return rc;
}

/* SQLITE_OK when folder zDir holds no Alembic revision script, else an
** error naming them (sorted, the first five) and the import command. */
static int refuseAlembicFolder(const char *zDir, char **pzErr) {
  DIR *d = opendir(zDir);
  struct dirent *e;
  char **az = 0, *zList = 0;
  int n = 0, nAlloc = 0, i, rc = SQLITE_OK;
  if (d == 0) return SQLITE_OK; /* openFolder reports it */
  while (rc == SQLITE_OK && (e = readdir(d)) != 0) {
    size_t nName = strlen(e->d_name);
    char *zPath;
    int bAlembic;
    if (nName < 4 || strcmp(e->d_name + nName - 3, ".py") != 0) continue;
    if (e->d_name[0] == '.') continue;
    zPath = sqlite3_mprintf("%s/%s", zDir, e->d_name);
    if (zPath == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    bAlembic = isAlembicScript(zPath, pzErr);
    sqlite3_free(zPath);
    if (bAlembic < 0) rc = SQLITE_ERROR;
    if (bAlembic <= 0) continue;
    if (n >= nAlloc) {
      char **azNew;
      nAlloc = nAlloc ? nAlloc * 2 : 16;
      azNew = sqlite3_realloc64(az, sizeof(char *) * (size_t)nAlloc);
      if (azNew == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
      az = azNew;
    }
    az[n] = sqlite3_mprintf("%s", e->d_name);
    if (az[n] == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    n++;
  }
  closedir(d);
  if (rc == SQLITE_OK && n > 0) {
    qsort(az, (size_t)n, sizeof(char *), cmpName);
    for (i = 0; i < n && i < 5 && rc == SQLITE_OK; i++) {
      zList = sqlite3_mprintf("%z%s%s", zList, i ? ", " : "", az[i]);
      if (zList == 0) rc = SQLITE_NOMEM;
    }
    if (rc == SQLITE_OK) {
      rc = migSetError(
          pzErr, SQLITE_ERROR,
          "holds %d Alembic revision script%s (%s%s), which sqlite-migrate "
          "does not run; convert them with `sqlite-migrate import-alembic "
          "%s -o FOLDER` and use FOLDER",
          n, n == 1 ? "" : "s", zList, n > 5 ? ", ..." : "", zDir);
    }
  }
  if (rc == SQLITE_NOMEM) migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  for (i = 0; i < n; i++) sqlite3_free(az[i]);
  sqlite3_free(az);
  sqlite3_free(zList);
  return rc;
}

/* Read every *.sql file of folder zDir but schema.sql (the declared
** schema of autogenerate, not a revision). */
static int openFolder(const char *zDir, migrate_bundle **ppOut, char **pzErr) {
  DIR *d = opendir(zDir);
  struct dirent *e;
  NamedText *a = 0;
  char **azFree = 0;
  int n = 0, nAlloc = 0, i, rc = SQLITE_OK;
  if (d == 0) {
    return migSetError(pzErr, SQLITE_CANTOPEN, "cannot open folder %s: %s",
                       zDir, strerror(errno));
  }
  while ((e = readdir(d)) != 0) {
    size_t nName = strlen(e->d_name);
    char *zPath, *zText;
    size_t nText;
    if (nName < 5 || strcmp(e->d_name + nName - 4, ".sql") != 0) continue;
    if (e->d_name[0] == '.') continue;
    if (strcmp(e->d_name, "schema.sql") == 0) continue; /* declared schema */
    if (nName > MIG_MAX_FILENAME) {
      rc = migSetError(pzErr, SQLITE_ERROR, "%s/%s: file name too long", zDir,
                       e->d_name);
      break;
    }
    if (n >= nAlloc) {
      int nNew = nAlloc ? nAlloc * 2 : 64;
      NamedText *aNew = sqlite3_realloc64(a, sizeof(NamedText) * (size_t)nNew);
      char **azNew;
      if (aNew == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
      a = aNew;
      azNew = sqlite3_realloc64(azFree, sizeof(char *) * 2 * (size_t)nNew);
      if (azNew == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
      azFree = azNew;
      nAlloc = nNew;
    }
    zPath = sqlite3_mprintf("%s/%s", zDir, e->d_name);
    if (zPath == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    {
      struct stat st;
      if (stat(zPath, &st) != 0 || !S_ISREG(st.st_mode)) {
        sqlite3_free(zPath);
        continue;
      }
    }
    rc = readFile(zPath, MIG_MAX_SCRIPT, &zText, &nText, pzErr);
    sqlite3_free(zPath);
    if (rc) break;
    azFree[2 * n] = sqlite3_mprintf("%s", e->d_name);
    azFree[2 * n + 1] = zText;
    if (azFree[2 * n] == 0) {
      sqlite3_free(zText);
      rc = SQLITE_NOMEM;
      break;
    }
    a[n].zName = azFree[2 * n];
    a[n].zText = zText;
    a[n].nText = nText;
    n++;
  }
  closedir(d);
  if (rc == SQLITE_OK) rc = fromNamed(a, n, MIG_PARSE_CHECK, ppOut, pzErr);
  if (rc == SQLITE_NOMEM) migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  for (i = 0; i < 2 * n; i++) sqlite3_free(azFree[i]);
  sqlite3_free(azFree);
  sqlite3_free(a);
  return rc;
}

/* A folder or a bundle file: see migrate.h. */
int migrate_bundle_open_path(const char *zPath, migrate_bundle **ppOut,
                             char **pzErr) {
  struct stat st;
  *ppOut = 0;
  if (zPath == 0 || zPath[0] == 0) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "empty path; give a migrations folder or a bundle "
                       "file");
  }
  if (stat(zPath, &st) != 0) {
    return migSetError(pzErr, SQLITE_CANTOPEN, "cannot open %s: %s", zPath,
                       strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    int rc = refuseAlembicFolder(zPath, pzErr);
    return rc ? rc : openFolder(zPath, ppOut, pzErr);
  }
  {
    char *z;
    size_t n;
    int rc =
        readFile(zPath, (size_t)MIG_MAX_PAYLOAD + BUNDLE_HDR, &z, &n, pzErr);
    if (rc) return rc;
    rc = migrate_bundle_open_blob(z, n, ppOut, pzErr);
    sqlite3_free(z);
    if (rc) migErrPrefix(pzErr, "%s: ", zPath);
    return rc;
  }
}
