/*
** fuzz_bundle.c — libFuzzer target for the bundle decoder (ext/bundle.c)
** and, through it, the parser and graph builder on whole histories.
**
**     make fuzz FUZZ_SECONDS=60            (tests/fuzz/fuzz.mk)
**     build/fuzz/fuzz_bundle build/fuzz/corpus/bundle tests/fuzz/corpus/bundle
**
** Three kinds of input:
**  - one that starts with the bundle magic "SQLMIGR\x1a" is a bundle file
**    and goes to migrate_bundle_open_blob() as it is (header checks, sizes,
**    zlib, CRCs);
**  - one that starts with "V2" is the inside of a format-2 bundle: u32
**    index length U, U bytes of UNCOMPRESSED index, then the chunk area as
**    stored.  It is wrapped into a format-2 bundle with a correct header,
**    a deflated index, its CRC, and the chunk CRCs in the index table
**    rewritten to match the area (where the table's sizes fit it), so the
**    fuzzer reaches the index walk, the header parser, the graph, and on
**    loading the texts the chunk inflation and the whole-script checks;
**  - anything else is taken as an uncompressed payload (N times { u32 name
**    length, name, u32 text length, text }, N counted by walking it) and
**    wrapped into a valid bundle first: correct header, compression and
**    CRCs.  Random bytes rarely survive the two CRC-32 checks, so this is
**    how the fuzzer reaches the payload walk, the parser and the graph
**    (cycles, labels, dependencies, duplicates) at speed.
** When decoding succeeds the bundle is encoded again, the result decoded,
** and the two compared (same revisions, same bytes when encoded a third
** time); then a few targets are planned on the decoded graph in every mode
** from base and from its heads, with the plan invariants of
** fuzz_common.h.
*/
#include <zlib.h>

#include "fuzz_common.h"

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

/* Wrap a payload into a bundle with a correct header.  The script count is
** what a walk of the payload finds (at least 1, so a payload too short for
** one entry still reaches the entry checks).  Caller frees *paOut. */
static int wrapPayload(const uint8_t *aPay, size_t nPay, unsigned char **paOut,
                       size_t *pnOut) {
  unsigned int nScript = 0;
  size_t off = 0;
  uLongf nComp = compressBound((uLong)nPay);
  unsigned char *aOut = malloc(32 + (size_t)nComp);
  if (aOut == 0) return 1;
  while (nPay - off >= 4) {
    size_t n = get32(aPay + off);
    off += 4;
    if (n > nPay - off) break;
    off += n;
    if (nPay - off < 4) break;
    n = get32(aPay + off);
    off += 4;
    if (n > nPay - off) break;
    off += n;
    nScript++;
  }
  if (nScript == 0) nScript = 1;
  if (compress2(aOut + 32, &nComp, aPay, (uLong)nPay, 6) != Z_OK) {
    free(aOut);
    return 1;
  }
  memcpy(aOut, "SQLMIGR\x1a", 8);
  put32(aOut + 8, 1);
  put32(aOut + 12, nScript);
  put32(aOut + 16, (unsigned int)nPay);
  put32(aOut + 20, (unsigned int)nComp);
  put32(aOut + 24, migCrc32((const char *)aPay, nPay));
  put32(aOut + 28, migCrc32((const char *)aOut, 28));
  *paOut = aOut;
  *pnOut = 32 + (size_t)nComp;
  return 0;
}

/* Wrap the inside of a format-2 bundle (see the top).  Caller frees. */
static int wrapV2(const uint8_t *aIn, size_t nIn, unsigned char **paOut,
                  size_t *pnOut) {
  size_t nIdx, nArea;
  unsigned char *aIdx, *aOut;
  uLongf nComp;
  z_stream zs;
  if (nIn < 6) return 1;
  nIdx = get32(aIn + 2);
  if (nIdx > nIn - 6) nIdx = nIn - 6;
  nArea = nIn - 6 - nIdx;
  aIdx = malloc(nIdx + 1);
  if (aIdx == 0) return 1;
  memcpy(aIdx, aIn + 6, nIdx);
  /* chunk CRCs over the stored bytes, where the table fits the area */
  if (nIdx >= 8) {
    unsigned int k, nChunk = get32(aIdx);
    size_t off = 8, at = 0;
    for (k = 0; k < nChunk && nIdx - off >= 12; k++, off += 12) {
      size_t nStored = get32(aIdx + off);
      if (nStored > nArea - at) break;
      put32(aIdx + off + 8,
            migCrc32((const char *)aIn + 6 + nIdx + at, nStored));
      at += nStored;
    }
  }
  nComp = compressBound((uLong)nIdx) + 64;
  aOut = malloc(32 + (size_t)nComp + nArea);
  if (aOut == 0) {
    free(aIdx);
    return 1;
  }
  memset(&zs, 0, sizeof(zs));
  if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    free(aIdx);
    free(aOut);
    return 1;
  }
  zs.next_in = aIdx;
  zs.avail_in = (uInt)nIdx;
  zs.next_out = aOut + 32;
  zs.avail_out = (uInt)nComp;
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
    deflateEnd(&zs);
    free(aIdx);
    free(aOut);
    return 1;
  }
  nComp = nComp - zs.avail_out;
  deflateEnd(&zs);
  memcpy(aOut + 32 + nComp, aIn + 6 + nIdx, nArea);
  memcpy(aOut, "SQLMIGR\x1a", 8);
  put32(aOut + 8, 2);
  /* the script count: what the index could hold, from a guess in the
  ** index itself is not possible, so count entries by walking it */
  {
    unsigned int nScript = 0, nChunk = nIdx >= 8 ? get32(aIdx) : 0;
    size_t off = 8 + (size_t)nChunk * 12;
    while (nIdx >= off && nIdx - off >= 8) {
      size_t n = get32(aIdx + off + 4);
      off += 8;
      if (n > nIdx - off) break;
      off += n;
      if (nIdx - off < 4) break;
      n = get32(aIdx + off);
      off += 4;
      if (n > nIdx - off || nIdx - off - n < 16) break;
      off += n + 16;
      nScript++;
    }
    put32(aOut + 12, nScript);
  }
  put32(aOut + 16, (unsigned int)nIdx);
  put32(aOut + 20, (unsigned int)nComp);
  put32(aOut + 24, migCrc32((const char *)aOut + 32, nComp));
  put32(aOut + 28, migCrc32((const char *)aOut, 28));
  free(aIdx);
  *paOut = aOut;
  *pnOut = 32 + (size_t)nComp + nArea;
  return 0;
}

/* Two decodings of the same history must agree revision by revision. */
static void compareBundles(const migrate_bundle *a, const migrate_bundle *b) {
  int i;
  if (a->nRev != b->nRev) {
    fuzzFail("re-decoded bundle has %d revisions, not %d", b->nRev, a->nRev);
  }
  for (i = 0; i < a->nRev; i++) {
    const migrate_revision *x = &a->aRev[i], *y = &b->aRev[i];
    if (strcmp(x->id, y->id) || strcmp(x->file, y->file) ||
        x->nsource != y->nsource || memcmp(x->source, y->source, x->nsource) ||
        x->checksum != y->checksum || x->nparent != y->nparent ||
        x->ndepend != y->ndepend || x->is_head != y->is_head ||
        a->aOrder[i] != b->aOrder[i]) {
      fuzzFail("revision %d (%s) differs after encode + decode", i, x->id);
    }
  }
}

/* Targets tried on every decoded graph. */
static const char *azTarget[] = {"heads", "head", "base", "+1",
                                 "-1",    "+2",   "-2"};

/* Plan on a decoded graph from base, from its heads and from its first
** revision in history order. */
static void planOn(migrate_bundle *b) {
  MigBits *aAll;
  int *aHead = 0, nHead = 0, aOne[1], i;
  size_t t;
  char zTgt[MIG_MAX_ID + 8];
  if (b->nRev == 0) {
    for (t = 0; t < sizeof(azTarget) / sizeof(azTarget[0]); t++) {
      fuzzPlanAllModes(b, 0, 0, azTarget[t]);
    }
    return;
  }
  aAll = calloc(MIG_BITS_WORDS(b->nRev), sizeof(MigBits));
  if (aAll == 0) return;
  for (i = 0; i < b->nRev; i++) MIG_BIT_SET(aAll, i);
  if (migHeadsOf(b, aAll, &aHead, &nHead) != SQLITE_OK) {
    free(aAll);
    return;
  }
  if (!fuzzIsHeadSet(b, aHead, nHead))
    fuzzFail("migHeadsOf gave overlapping heads");
  aOne[0] = b->aOrder[0];
  for (t = 0; t < sizeof(azTarget) / sizeof(azTarget[0]); t++) {
    fuzzPlanAllModes(b, 0, 0, azTarget[t]);
    fuzzPlanAllModes(b, aHead, nHead, azTarget[t]);
    fuzzPlanAllModes(b, aOne, 1, azTarget[t]);
  }
  /* the last revision in history order, by id and with a relative step */
  snprintf(zTgt, sizeof(zTgt), "%s", b->aRev[b->aOrder[b->nRev - 1]].id);
  fuzzPlanAllModes(b, 0, 0, zTgt);
  fuzzPlanAllModes(b, aHead, nHead, zTgt);
  snprintf(zTgt, sizeof(zTgt), "%s-1", b->aRev[b->aOrder[b->nRev - 1]].id);
  fuzzPlanAllModes(b, aHead, nHead, zTgt);
  sqlite3_free(aHead);
  free(aAll);
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData) {
  migrate_bundle *b = 0, *b2 = 0;
  unsigned char *aWrapped = 0, *aEnc = 0, *aEnc2 = 0;
  size_t nWrapped = 0, nEnc = 0, nEnc2 = 0;
  const unsigned char *aIn = aData;
  size_t nIn = nData;
  char *zErr = 0;
  int rc;

  if (nData >= 2 && aData[0] == 'V' && aData[1] == '2') {
    if (wrapV2(aData, nData, &aWrapped, &nWrapped)) return 0;
    aIn = aWrapped;
    nIn = nWrapped;
  } else if (nData < 8 || memcmp(aData, "SQLMIGR\x1a", 8) != 0) {
    if (wrapPayload(aData, nData, &aWrapped, &nWrapped)) return 0;
    aIn = aWrapped;
    nIn = nWrapped;
  }
  rc = migrate_bundle_open_blob(aIn, nIn, &b, &zErr);
  if (rc != SQLITE_OK) {
    fuzzCheckError("migrate_bundle_open_blob", rc, zErr);
    if (b) fuzzFail("failed decode left a bundle");
    goto done;
  }
  /* format 2: inflate and check every script now */
  rc = migBundleLoad(b, -1, &zErr);
  if (rc != SQLITE_OK) {
    fuzzCheckError("migBundleLoad", rc, zErr);
    goto done;
  }
  rc = migrate_bundle_encode(b, &aEnc, &nEnc, &zErr);
  if (rc != SQLITE_OK) {
    fuzzCheckError("migrate_bundle_encode", rc, zErr);
    goto done;
  }
  rc = migrate_bundle_open_blob(aEnc, nEnc, &b2, &zErr);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_NOMEM) goto done;
    fuzzFail("a bundle the engine encoded does not decode: %s",
             zErr ? zErr : "(no message)");
  }
  rc = migBundleLoad(b2, -1, &zErr);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_NOMEM) goto done;
    fuzzFail("a bundle the engine encoded does not load: %s",
             zErr ? zErr : "(no message)");
  }
  compareBundles(b, b2);
  rc = migrate_bundle_encode(b2, &aEnc2, &nEnc2, &zErr);
  if (rc == SQLITE_OK && (nEnc2 != nEnc || memcmp(aEnc, aEnc2, nEnc) != 0)) {
    fuzzFail("encoding is not deterministic (%zu vs %zu bytes)", nEnc, nEnc2);
  }
  planOn(b2);

done:
  sqlite3_free(zErr);
  sqlite3_free(aEnc);
  sqlite3_free(aEnc2);
  migrate_bundle_free(b);
  migrate_bundle_free(b2);
  free(aWrapped);
  return 0;
}
