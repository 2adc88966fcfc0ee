/*
** bundle.c — the bundle: a migrations folder's scripts in one zlib-compressed
** block, compiled into the module or written to a file.
**
**     migrate_bundle_open_path("migrations", &b, &zErr);   folder or file
**     migrate_bundle_encode(b, &aData, &nData, &zErr);       -> bytes
**     migrate_bundle_open_blob(aData, nData, &b, &zErr);     <- bytes
**
** Format (all integers little-endian):
**
**     offset size
**      0      8   magic "SQLMIGR\x1a"
**      8      4   format version (1)
**     12      4   number of scripts N (<= 1,000,000)
**     16      4   payload size U, uncompressed (<= 256 MiB)
**     20      4   compressed size C (== total size - 32)
**     24      4   CRC-32 of the uncompressed payload
**     28      4   CRC-32 of bytes 0..27
**     32      C   zlib stream of the payload
**
**     payload: N times { u32 name length, name, u32 text length, text }
**
** The payload holds the scripts' text (line endings normalized) and their
** file names, sorted by name; decoding parses them again with script.c, so
** the bundler, a folder and a bundle go through one parser and one graph
** check.  Every size is checked against the limits and against what
** remains before anything is allocated from it; U may not exceed what
** deflate can produce from C bytes (1032:1), so a bomb is refused before
** inflating.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define BUNDLE_MAGIC "SQLMIGR\x1a"
#define BUNDLE_HDR 32
#define BUNDLE_VERSION 1

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

void migrate_bundle_free(migrate_bundle *b) {
  if (b == 0 || b->nRef > 0) return;
  migArenaFree(&b->arena);
  sqlite3_free(b);
}

/* ======================================================================
** From parsed files
*/

/* Parse each script and build the graph.  The arrays are in name order.
** See internal.h. */
int migBundleFromFiles(int nFile, const char **azName, const char **azText,
                       const size_t *anText, migrate_bundle **ppOut,
                       char **pzErr) {
  return migBundleFromFilesEx(nFile, azName, azText, anText, 1, ppOut, pzErr);
}

int migBundleFromFilesEx(int nFile, const char **azName, const char **azText,
                         const size_t *anText, int bCheckStatements,
                         migrate_bundle **ppOut, char **pzErr) {
  migrate_bundle *b;
  int i, rc = SQLITE_OK;
  *ppOut = 0;
  b = sqlite3_malloc64(sizeof(*b));
  if (b == 0) return SQLITE_NOMEM;
  memset(b, 0, sizeof(*b));
  b->aRev = migArenaAlloc(&b->arena, sizeof(migrate_revision) * (size_t)(nFile + 1));
  if (b->aRev == 0) rc = SQLITE_NOMEM;
  for (i = 0; rc == SQLITE_OK && i < nFile; i++) {
    rc = migScriptParseEx(&b->arena, azName[i], azText[i], anText[i],
                          &b->aRev[i], bCheckStatements, pzErr);
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

/* Serialize: see migrate.h.  Each script's normalized source is stored, so
** decoding re-parses exactly what the folder held. */
int migrate_bundle_encode(migrate_bundle *b, unsigned char **paOut,
                          size_t *pnOut, char **pzErr) {
  return migBundleEncodeLevel(b, 9, paOut, pnOut, pzErr);
}

/* Serialize with zlib compression level (1 fast .. 9 small). */
int migBundleEncodeLevel(migrate_bundle *b, int level, unsigned char **paOut,
                         size_t *pnOut, char **pzErr) {
  MigStr s = {0};
  int i;
  unsigned char aLen[4];
  unsigned char *aOut = 0;
  uLongf nComp;
  int zrc;
  *paOut = 0;
  *pnOut = 0;
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
  put32(aOut + 8, BUNDLE_VERSION);
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
static int fromNamed(NamedText *a, int n, int bCheckStatements,
                     migrate_bundle **ppOut, char **pzErr) {
  const char **azName, **azText;
  size_t *anText;
  int i, rc;
  if (n > 1) qsort(a, (size_t)n, sizeof(NamedText), cmpNamed);
  for (i = 1; i < n; i++) {
    if (strcmp(a[i].zName, a[i - 1].zName) == 0) {
      return migSetError(pzErr, SQLITE_CORRUPT,
                         "two scripts are named %s", a[i].zName);
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
    rc = migBundleFromFilesEx(n, azName, azText, anText, bCheckStatements,
                              ppOut, pzErr);
  }
  sqlite3_free(azName);
  sqlite3_free(azText);
  sqlite3_free(anText);
  return rc;
}

/* Decode a bundle from memory: see migrate.h. */
int migrate_bundle_open_blob(const void *aData, size_t nData,
                             migrate_bundle **ppOut, char **pzErr) {
  const unsigned char *p = aData;
  unsigned int nScript, nPay, nComp, crcPay, crcHdr;
  unsigned char *aPay = 0;
  NamedText *a = 0;
  char *zNames = 0;
  int zrc, rc = SQLITE_OK;
  unsigned int i;
  size_t off = 0, nNameUsed = 0;

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
  crcHdr = get32(p + 28);
  if (migCrc32((const char *)p, 28) != crcHdr) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: header checksum mismatch");
  }
  if (get32(p + 8) != BUNDLE_VERSION) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "bundle format version %u is not supported (this "
                       "build reads version %d); rebuild the bundle",
                       get32(p + 8), BUNDLE_VERSION);
  }
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
  if (nPay > MIG_MAX_PAYLOAD) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: payload size %u exceeds the limit "
                       "of %u bytes",
                       nPay, MIG_MAX_PAYLOAD);
  }
  if ((unsigned long long)nPay > (unsigned long long)nComp * 1032 + 64) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: payload size %u is impossible for "
                       "%u compressed bytes",
                       nPay, nComp);
  }
  if (nScript > MIG_MAX_REVISIONS || (unsigned long long)nScript * 8 > nPay) {
    return migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: %u scripts cannot fit in %u bytes",
                       nScript, nPay);
  }
  aPay = sqlite3_malloc64((size_t)nPay + 1);
  if (aPay == 0) return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  {
    /* inflate() rather than uncompress(), to tell a truncated stream from
    ** one that holds more than the header declares */
    z_stream zs;
    const char *zWhy = 0;
    char zBuf[64];
    memset(&zs, 0, sizeof(zs));
    zs.next_in = (Bytef *)(p + BUNDLE_HDR);
    zs.avail_in = (uInt)nComp;
    zs.next_out = aPay;
    zs.avail_out = (uInt)nPay;
    zrc = inflateInit(&zs);
    if (zrc != Z_OK) {
      rc = migSetError(pzErr, zrc == Z_MEM_ERROR ? SQLITE_NOMEM : SQLITE_ERROR,
                       "zlib inflateInit failed (%d)", zrc);
      goto done;
    }
    zrc = inflate(&zs, Z_FINISH);
    if (zrc == Z_STREAM_END && zs.avail_out == 0 && zs.avail_in == 0) {
      /* exactly the declared payload */
    } else if (zrc == Z_STREAM_END && zs.avail_out > 0) {
      snprintf(zBuf, sizeof(zBuf), "the stream ends after %u bytes",
               nPay - zs.avail_out);
      zWhy = zBuf;
    } else if (zrc == Z_STREAM_END) {
      snprintf(zBuf, sizeof(zBuf), "%u bytes follow the end of the stream",
               zs.avail_in);
      zWhy = zBuf;
    } else if (zrc == Z_BUF_ERROR || zrc == Z_OK) {
      zWhy = zs.avail_in == 0 ? "the stream is truncated"
                              : "more data than declared";
    } else if (zrc == Z_MEM_ERROR) {
      zWhy = "out of memory";
    } else {
      zWhy = "bad data";
    }
    inflateEnd(&zs);
    if (zWhy) {
      rc = migSetError(pzErr, zrc == Z_MEM_ERROR ? SQLITE_NOMEM : SQLITE_CORRUPT,
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
    unsigned int nName, nText;
    char *zName = zNames + nNameUsed;
    if (nPay - off < 4) goto truncated;
    nName = get32(aPay + off);
    off += 4;
    if (nName == 0 || nName > MIG_MAX_FILENAME || nName > nPay - off) {
      rc = migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: script %u has a name of %u bytes "
                       "(1 to %d bytes, within the %llu bytes left)",
                       i + 1, nName, MIG_MAX_FILENAME,
                       (unsigned long long)(nPay - off));
      goto done;
    }
    memcpy(zName, aPay + off, nName);
    zName[nName] = 0;
    nNameUsed += nName + 1;
    if (strlen(zName) != nName || strchr(zName, '/')) {
      rc = migSetError(pzErr, SQLITE_CORRUPT,
                       "corrupt bundle: script %u has an invalid name", i + 1);
      goto done;
    }
    off += nName;
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
  if (rc && rc != SQLITE_NOMEM && pzErr && *pzErr) {
    /* name the source of a bad graph: it came from a bundle */
    char *z = sqlite3_mprintf("in bundle: %s", *pzErr);
    if (z) {
      sqlite3_free(*pzErr);
      *pzErr = z;
    }
  }
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

/* Read every *.sql file of folder zDir. */
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
  if (rc == SQLITE_OK) rc = fromNamed(a, n, 1, ppOut, pzErr);
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
  if (S_ISDIR(st.st_mode)) return openFolder(zPath, ppOut, pzErr);
  {
    char *z;
    size_t n;
    int rc = readFile(zPath, (size_t)MIG_MAX_PAYLOAD + BUNDLE_HDR, &z, &n,
                      pzErr);
    if (rc) return rc;
    rc = migrate_bundle_open_blob(z, n, ppOut, pzErr);
    sqlite3_free(z);
    if (rc && pzErr && *pzErr) {
      char *zE = sqlite3_mprintf("%s: %s", zPath, *pzErr);
      if (zE) {
        sqlite3_free(*pzErr);
        *pzErr = zE;
      }
    }
    return rc;
  }
}
