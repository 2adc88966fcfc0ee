/*
** bundle_test.c — the bundle format (ext/bundle.c): encode -> open_blob round
** trips, and every refusal of migrate_bundle_open_blob() with its exact
** message.  Corrupt bundles are made by patching a valid one (recomputing
** the header CRC where the test wants to get past it) or by compressing a
** hand-made payload:
**
**     header: magic[8] version N U C crc(payload) crc(header[0..28))
**     payload: N times { u32 name length, name, u32 text length, text }
*/
#include "unit.h"

#include <pthread.h>
#include <unistd.h>
#include <zlib.h>

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
static void fixHeaderCrc(unsigned char *a) {
  put32(a + 28, migCrc32((const char *)a, 28));
}

/* A bundle around an arbitrary payload, with a correct header.  Caller
** frees with free(). */
static unsigned char *wrap(const void *aPay, size_t nPay, unsigned nScript,
                           size_t *pn) {
  uLongf nComp = compressBound((uLong)nPay);
  unsigned char *a = malloc(32 + nComp);
  if (a == 0 || compress2(a + 32, &nComp, aPay, (uLong)nPay, 9) != Z_OK) {
    fprintf(stderr, "compress2 failed\n");
    exit(2);
  }
  memcpy(a, "SQLMIGR\x1a", 8);
  put32(a + 8, 1);
  put32(a + 12, nScript);
  put32(a + 16, (unsigned)nPay);
  put32(a + 20, (unsigned)nComp);
  put32(a + 24, migCrc32(aPay, nPay));
  fixHeaderCrc(a);
  *pn = 32 + nComp;
  return a;
}

/* Append one payload entry. */
static void entry(MigStr *s, const char *zName, unsigned nName,
                  const char *zText, unsigned nText) {
  unsigned char aLen[4];
  put32(aLen, nName);
  migStrAppend(s, (const char *)aLen, 4);
  migStrAppend(s, zName, strlen(zName));
  put32(aLen, nText);
  migStrAppend(s, (const char *)aLen, 4);
  migStrAppend(s, zText, strlen(zText));
}

/* Open a blob: "" when it opens (bundle freed), else "rc <n>: <message>".
** Run through ut_guarded(): a crash is a failed check, not the end. */
typedef struct Blob {
  const void *a;
  size_t n;
} Blob;
static char *openErrDirect(void *pArg) {
  const void *a = ((Blob *)pArg)->a;
  size_t n = ((Blob *)pArg)->n;
  migrate_bundle *b = (migrate_bundle *)&n; /* must be reset to NULL */
  char *zErr = 0, *z;
  int rc = migrate_bundle_open_blob(a, n, &b, &zErr);
  if (rc == SQLITE_OK) {
    ut_check(b != 0 && zErr == 0, __FILE__, __LINE__, "ok without bundle");
    migrate_bundle_free(b);
    sqlite3_free(zErr);
    return sqlite3_mprintf("%s", "");
  }
  ut_check(b == 0, __FILE__, __LINE__, "*ppOut not NULL on failure");
  z = sqlite3_mprintf("rc %d: %s", rc, zErr ? zErr : "(no message)");
  sqlite3_free(zErr);
  return z;
}
static char *openErr(const void *a, size_t n) {
  Blob x;
  x.a = a;
  x.n = n;
  return ut_guarded(openErrDirect, &x);
}

/* A payload with one well-formed script. */
static void validEntry(MigStr *s, const char *zId) {
  char *zName = sqlite3_mprintf("%s_rev.sql", zId);
  char *zText = ut_script(zId, "", 0, 0, "SELECT 1;\n", "SELECT 2;\n");
  entry(s, zName, (unsigned)strlen(zName), zText, (unsigned)strlen(zText));
  sqlite3_free(zName);
  sqlite3_free(zText);
}

static void sameRevision(const migrate_revision *a, const migrate_revision *b) {
  int k;
  CHECK_STR(b->id, a->id);
  CHECK_STR(b->file, a->file);
  CHECK_STR(b->message, a->message);
  CHECK_STR(b->create_date, a->create_date);
  CHECK_INT(b->nparent, a->nparent);
  for (k = 0; k < a->nparent && k < b->nparent; k++) {
    CHECK_STR(b->parents[k], a->parents[k]);
    CHECK_INT(b->parent_idx[k], a->parent_idx[k]);
  }
  CHECK_INT(b->nlabel, a->nlabel);
  for (k = 0; k < a->nlabel && k < b->nlabel; k++) {
    CHECK_STR(b->labels[k], a->labels[k]);
  }
  CHECK_INT(b->ndepend, a->ndepend);
  for (k = 0; k < a->ndepend && k < b->ndepend; k++) {
    CHECK_STR(b->depends[k], a->depends[k]);
    CHECK_INT(b->depend_idx[k], a->depend_idx[k]);
  }
  CHECK_INT(b->nchild, a->nchild);
  CHECK_INT(b->ndependent, a->ndependent);
  CHECK_INT(b->no_transaction, a->no_transaction);
  CHECK_STR(b->upgrade, a->upgrade);
  CHECK_STR(b->downgrade, a->downgrade);
  CHECK_INT(b->upgrade_line, a->upgrade_line);
  CHECK_INT(b->downgrade_line, a->downgrade_line);
  CHECK_INT(b->checksum, a->checksum);
  CHECK_INT(b->nsource, a->nsource);
  CHECK(memcmp(b->source, a->source, a->nsource) == 0);
  CHECK_INT(b->is_head, a->is_head);
  CHECK_INT(b->is_base, a->is_base);
  CHECK_INT(b->is_merge, a->is_merge);
  CHECK_INT(b->is_branchpoint, a->is_branchpoint);
}

static void testRoundTrip(void) {
  const char *azName[] = {"m1_merge.sql", "a1_init.sql", "b1_b.sql", "c1_c.sql",
                          "t1_txn.sql"};
  const char *azText[5];
  char *z0, *z1, *z2, *z3, *z4;
  migrate_bundle *b = 0, *b2 = 0;
  unsigned char *a = 0, *a2 = 0;
  size_t n = 0, n2 = 0;
  char *zErr = 0;
  int i;
  TEST("bundle round trip");
  z0 = ut_script("m1", "b1, c1", "", "", "SELECT 'm';\n", 0);
  z1 = sqlite3_mprintf(
      "\xEF\xBB\xBF-- Initial\r\n--\r\n-- Revision ID: a1\r\n"
      "-- Revises:\r\n-- Create Date: 2026-01-01\r\n\r\n"
      "-- migrate:upgrade\r\nCREATE TABLE t(x);\r\n"
      "-- migrate:downgrade\r\nDROP TABLE t;\r\n");
  z2 = ut_script("b1", "a1", "blab", "", "SELECT 'b';\n", "\n");
  z3 = ut_script("c1", "a1", "", "blab", "SELECT 'c';\n", "SELECT 'c-';\n");
  z4 = sqlite3_mprintf(
      "-- t\n-- Revision ID: t1\n-- Revises: m1\n"
      "-- Transaction: none\n\n-- migrate:upgrade\n"
      "VACUUM;\n");
  azText[0] = z0;
  azText[1] = z1;
  azText[2] = z2;
  azText[3] = z3;
  azText[4] = z4;
  CHECK_INT(ut_bundle_texts(5, azName, azText, &b, &zErr), SQLITE_OK);
  CHECK_STR(zErr, 0);
  sqlite3_free(zErr);
  zErr = 0;
  if (b == 0) goto done;
  CHECK_INT(migrate_bundle_encode(b, &a, &n, &zErr), SQLITE_OK);
  CHECK(n > 32);
  CHECK(memcmp(a, "SQLMIGR\x1a", 8) == 0);
  CHECK_INT(get32(a + 8), 2);
  CHECK_INT(get32(a + 12), 5);
  CHECK(get32(a + 20) > 0 && get32(a + 20) < n - 32);
  CHECK_INT(get32(a + 24), migCrc32((const char *)a + 32, get32(a + 20)));
  CHECK_INT(get32(a + 28), migCrc32((const char *)a, 28));
  CHECK_INT(migrate_bundle_open_blob(a, n, &b2, &zErr), SQLITE_OK);
  CHECK_STR(zErr, 0);
  if (b2 == 0) goto done;
  CHECK_INT(migrate_bundle_count(b2), migrate_bundle_count(b));
  /* format 2: the headers are parsed, the texts wait for a load */
  {
    const migrate_revision *r1 = migrate_bundle_revision(b2, ut_idx(b2, "b1"));
    const migrate_revision *r2 = migrate_bundle_revision(b2, ut_idx(b2, "c1"));
    CHECK_STR(r1->id, "b1");
    CHECK_INT(r1->checksum,
              migrate_bundle_revision(b, ut_idx(b, "b1"))->checksum);
    CHECK(r1->upgrade == 0 && r1->source == 0 && r1->upgrade_line == 0);
    CHECK_INT(migrate_bundle_load(b2, ut_idx(b2, "b1"), &zErr), SQLITE_OK);
    CHECK_STR(zErr, 0);
    CHECK_STR(r1->upgrade, "SELECT 'b';\n");
    CHECK(r2->upgrade == 0); /* only the one asked for */
    CHECK_INT(migrate_bundle_load(b2, ut_idx(b2, "b1"), &zErr), SQLITE_OK);
    CHECK_INT(migrate_bundle_load(b2, 5, &zErr), SQLITE_RANGE);
    CHECK_STR(zErr, "no revision 5 in the bundle");
    sqlite3_free(zErr);
    zErr = 0;
    CHECK_INT(migrate_bundle_load(b2, -1, &zErr), SQLITE_OK);
    CHECK_STR(r2->upgrade, "SELECT 'c';\n");
  }
  for (i = 0; i < migrate_bundle_count(b) && i < migrate_bundle_count(b2);
       i++) {
    sameRevision(migrate_bundle_revision(b, i), migrate_bundle_revision(b2, i));
    CHECK_INT(migrate_bundle_order(b2, i), migrate_bundle_order(b, i));
  }
  CHECK_TAKE(ut_heads(b2), "t1");
  CHECK_TAKE(ut_order(b2), "a1 b1 c1 m1 t1");
  /* the stored source is normalized: no BOM, LF endings */
  {
    const migrate_revision *r = migrate_bundle_revision(b2, ut_idx(b2, "a1"));
    CHECK_STR(r->source,
              "-- Initial\n--\n-- Revision ID: a1\n-- Revises:\n"
              "-- Create Date: 2026-01-01\n\n-- migrate:upgrade\n"
              "CREATE TABLE t(x);\n-- migrate:downgrade\nDROP TABLE t;\n");
    CHECK_STR(r->message, "Initial");
    r = migrate_bundle_revision(b2, ut_idx(b2, "t1"));
    CHECK_INT(r->no_transaction, 1);
    CHECK(r->downgrade == 0);
    r = migrate_bundle_revision(b2, ut_idx(b2, "c1"));
    CHECK_INT(r->depend_idx[0], ut_idx(b2, "b1"));
  }
  /* encoding the decoded bundle gives the same bytes */
  CHECK_INT(migrate_bundle_encode(b2, &a2, &n2, &zErr), SQLITE_OK);
  CHECK_INT(n2, n);
  CHECK(a2 != 0 && n2 == n && memcmp(a, a2, n) == 0);
  /* the blob is copied: it may be freed while the bundle lives */
  {
    unsigned char *aCopy = malloc(n);
    migrate_bundle *b3 = 0;
    memcpy(aCopy, a, n);
    CHECK_INT(migrate_bundle_open_blob(aCopy, n, &b3, &zErr), SQLITE_OK);
    memset(aCopy, 0, n);
    free(aCopy);
    if (b3) {
      CHECK_INT(migrate_bundle_load(b3, ut_idx(b3, "m1"), &zErr), SQLITE_OK);
      CHECK_STR(migrate_bundle_revision(b3, ut_idx(b3, "m1"))->upgrade,
                "SELECT 'm';\n");
      migrate_bundle_free(b3);
    }
  }
  /* format 1 is still read: every text parsed at once */
  {
    unsigned char *a1 = 0;
    size_t n1 = 0;
    migrate_bundle *b4 = 0;
    CHECK_INT(migBundleEncodeV1(b, 9, &a1, &n1, &zErr), SQLITE_OK);
    if (a1) {
      CHECK_INT(get32(a1 + 8), 1);
      CHECK_INT(migrate_bundle_open_blob(a1, n1, &b4, &zErr), SQLITE_OK);
      CHECK_STR(zErr, 0);
    }
    if (b4) {
      CHECK_INT(migrate_bundle_count(b4), migrate_bundle_count(b));
      for (i = 0; i < migrate_bundle_count(b) && i < migrate_bundle_count(b4);
           i++) {
        sameRevision(migrate_bundle_revision(b, i),
                     migrate_bundle_revision(b4, i));
      }
      migrate_bundle_free(b4);
    }
    sqlite3_free(a1);
  }

done:
  sqlite3_free(zErr);
  sqlite3_free(a);
  sqlite3_free(a2);
  migrate_bundle_free(b);
  migrate_bundle_free(b2);
  sqlite3_free(z0);
  sqlite3_free(z1);
  sqlite3_free(z2);
  sqlite3_free(z3);
  sqlite3_free(z4);

  TEST("bundle round trip: empty bundle");
  {
    migrate_bundle *e = 0, *e2 = 0;
    CHECK_INT(migBundleFromFiles(0, 0, 0, 0, &e, &zErr), SQLITE_OK);
    a = 0;
    if (e) CHECK_INT(migrate_bundle_encode(e, &a, &n, &zErr), SQLITE_OK);
    CHECK_STR(zErr, 0);
    if (a) {
      CHECK_INT(get32(a + 12), 0);
      CHECK_INT(get32(a + 16), 8); /* the index: no chunks, 0 bytes */
      CHECK_INT(migrate_bundle_open_blob(a, n, &e2, &zErr), SQLITE_OK);
      CHECK_STR(zErr, 0);
      if (e2) CHECK_INT(migrate_bundle_count(e2), 0);
    }
    sqlite3_free(zErr);
    zErr = 0;
    sqlite3_free(a);
    migrate_bundle_free(e);
    migrate_bundle_free(e2);
  }
}

static void testRefusals(void) {
  migrate_bundle *b;
  unsigned char *aValid = 0, *a;
  size_t nValid = 0, n;
  unsigned nComp, nPay;
  char *zErr = 0, *zWant;
  MigStr s = {0};

  b = ut_graph(&zErr, "a1; b2<a1; c3<b2 @lab");
  sqlite3_free(zErr);
  zErr = 0;
  if (b == 0) return;
  /* these refusals are of format 1, which is still read */
  CHECK_INT(migBundleEncodeV1(b, 9, &aValid, &nValid, &zErr), SQLITE_OK);
  migrate_bundle_free(b);
  if (aValid == 0) return;
  nComp = get32(aValid + 20);
  nPay = get32(aValid + 16);
  a = malloc(nValid + 64);

  TEST("bundle refusal: NULL and short data");
  CHECK_TAKE(openErr(0, 0),
             "rc 11: not a bundle: 0 bytes is shorter than the 32-byte header");
  CHECK_TAKE(openErr(aValid, 31),
             "rc 11: not a bundle: 31 bytes is shorter than the 32-byte "
             "header");
  CHECK_TAKE(openErr(aValid, 0),
             "rc 11: not a bundle: 0 bytes is shorter than the 32-byte header");
  CHECK_TAKE(openErr(aValid, nValid), "");

  TEST("bundle refusal: magic");
  memcpy(a, aValid, nValid);
  a[7] = 0x1b;
  CHECK_TAKE(openErr(a, nValid),
             "rc 11: not a bundle: bad magic (expected a file written by "
             "'mkbundle' or 'sqlite-migrate bundle')");
  memcpy(a, "-- m\n-- Revision ID: a1\n-- Revises:\n\n", 37);
  CHECK_TAKE(openErr(a, 37),
             "rc 11: not a bundle: bad magic (expected a file written by "
             "'mkbundle' or 'sqlite-migrate bundle')");

  TEST("bundle refusal: header checksum");
  memcpy(a, aValid, nValid);
  a[12] ^= 1;
  CHECK_TAKE(openErr(a, nValid),
             "rc 11: corrupt bundle: header checksum mismatch");
  memcpy(a, aValid, nValid);
  a[30] ^= 0x80;
  CHECK_TAKE(openErr(a, nValid),
             "rc 11: corrupt bundle: header checksum mismatch");

  TEST("bundle refusal: version");
  memcpy(a, aValid, nValid);
  put32(a + 8, 3);
  fixHeaderCrc(a);
  CHECK_TAKE(openErr(a, nValid),
             "rc 11: bundle format version 3 is not supported (this build "
             "reads versions 1 and 2); rebuild the bundle");
  put32(a + 8, 0);
  fixHeaderCrc(a);
  CHECK_TAKE(openErr(a, nValid),
             "rc 11: bundle format version 0 is not supported (this build "
             "reads versions 1 and 2); rebuild the bundle");

  TEST("bundle refusal: compressed size (truncated, padded)");
  memcpy(a, aValid, nValid);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: header says %u compressed "
      "bytes, file holds %u (truncated or padded?)",
      nComp, nComp - 1);
  CHECK_TAKE(openErr(a, nValid - 1), zWant);
  sqlite3_free(zWant);
  a[nValid] = 0;
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: header says %u compressed "
      "bytes, file holds %u (truncated or padded?)",
      nComp, nComp + 1);
  CHECK_TAKE(openErr(a, nValid + 1), zWant);
  sqlite3_free(zWant);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: header says %u compressed "
      "bytes, file holds 0 (truncated or padded?)",
      nComp);
  CHECK_TAKE(openErr(a, 32), zWant);
  sqlite3_free(zWant);

  TEST("bundle refusal: payload size over the limit");
  memcpy(a, aValid, nValid);
  put32(a + 16, MIG_MAX_PAYLOAD + 1);
  fixHeaderCrc(a);
  CHECK_TAKE(openErr(a, nValid),
             "rc 11: corrupt bundle: payload size 268435457 exceeds the limit "
             "of 268435456 bytes");
  put32(a + 16, 0xFFFFFFFFu);
  fixHeaderCrc(a);
  CHECK_TAKE(openErr(a, nValid),
             "rc 11: corrupt bundle: payload size 4294967295 exceeds the limit "
             "of 268435456 bytes");

  TEST("bundle refusal: impossible ratio (zip bomb)");
  memcpy(a, aValid, nValid);
  put32(a + 16, nComp * 1032 + 65);
  fixHeaderCrc(a);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: payload size %u is "
      "impossible for %u compressed bytes",
      nComp * 1032 + 65, nComp);
  CHECK_TAKE(openErr(a, nValid), zWant);
  sqlite3_free(zWant);
  /* right at the limit the ratio passes and inflating decides */
  put32(a + 16, nComp * 1032 + 64);
  fixHeaderCrc(a);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: zlib stream does not "
      "inflate to %u bytes (the stream ends after %u "
      "bytes)",
      nComp * 1032 + 64, nPay);
  CHECK_TAKE(openErr(a, nValid), zWant);
  sqlite3_free(zWant);
  {
    /* a real bomb: 16 MiB of zeros compress to ~16 KiB, declared as such */
    size_t nBig = 16u << 20, nBomb;
    char *zBig = calloc(1, nBig);
    unsigned char *aBomb = wrap(zBig, nBig, 1, &nBomb);
    put32(aBomb + 16, get32(aBomb + 20) * 2000);
    fixHeaderCrc(aBomb);
    zWant = sqlite3_mprintf(
        "rc 11: corrupt bundle: payload size %u is "
        "impossible for %u compressed bytes",
        get32(aBomb + 20) * 2000, get32(aBomb + 20));
    CHECK_TAKE(openErr(aBomb, nBomb), zWant);
    sqlite3_free(zWant);
    free(aBomb);
    free(zBig);
  }

  TEST("bundle refusal: script count");
  memcpy(a, aValid, nValid);
  put32(a + 12, nPay / 8 + 1);
  fixHeaderCrc(a);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: %u scripts cannot fit in "
      "%u bytes",
      nPay / 8 + 1, nPay);
  CHECK_TAKE(openErr(a, nValid), zWant);
  sqlite3_free(zWant);
  put32(a + 12, 0xFFFFFFFFu);
  fixHeaderCrc(a);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: 4294967295 scripts cannot "
      "fit in %u bytes",
      nPay);
  CHECK_TAKE(openErr(a, nValid), zWant);
  sqlite3_free(zWant);

  TEST("bundle refusal: inflate");
  memcpy(a, aValid, nValid);
  a[32] = 0; /* zlib header byte */
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: zlib stream does not "
      "inflate to %u bytes (bad data)",
      nPay);
  CHECK_TAKE(openErr(a, nValid), zWant);
  sqlite3_free(zWant);
  /* the stream cut short (sizes made consistent) */
  memcpy(a, aValid, nValid);
  put32(a + 20, nComp - 6);
  fixHeaderCrc(a);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: zlib stream does not "
      "inflate to %u bytes (the stream is truncated)",
      nPay);
  CHECK_TAKE(openErr(a, nValid - 6), zWant);
  sqlite3_free(zWant);
  /* only the stream's trailing Adler-32 cut off: the data is all there but
  ** the stream is incomplete: truncated, not "more data" */
  memcpy(a, aValid, nValid);
  put32(a + 20, nComp - 4);
  fixHeaderCrc(a);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: zlib stream does not "
      "inflate to %u bytes (the stream is truncated)",
      nPay);
  CHECK_TAKE(openErr(a, nValid - 4), zWant);
  sqlite3_free(zWant);
  /* declared smaller / larger than what inflates */
  memcpy(a, aValid, nValid);
  put32(a + 16, nPay - 1);
  fixHeaderCrc(a);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: zlib stream does not "
      "inflate to %u bytes (more data than declared)",
      nPay - 1);
  CHECK_TAKE(openErr(a, nValid), zWant);
  sqlite3_free(zWant);
  put32(a + 16, nPay + 1);
  fixHeaderCrc(a);
  zWant = sqlite3_mprintf(
      "rc 11: corrupt bundle: zlib stream does not "
      "inflate to %u bytes (the stream ends after %u "
      "bytes)",
      nPay + 1, nPay);
  CHECK_TAKE(openErr(a, nValid), zWant);
  sqlite3_free(zWant);

  TEST("bundle refusal: payload checksum");
  memcpy(a, aValid, nValid);
  put32(a + 24, get32(a + 24) ^ 1);
  fixHeaderCrc(a);
  CHECK_TAKE(openErr(a, nValid),
             "rc 11: corrupt bundle: payload checksum mismatch");

  TEST("bundle refusal: script names");
  {
    unsigned char *w;
    /* length 0 */
    entry(&s, "", 0, "", 0);
    w = wrap(s.z, s.n, 1, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: corrupt bundle: script 1 has a name of 0 bytes (1 to "
               "255 bytes, within the 4 bytes left)");
    free(w);
    migStrReset(&s);
    /* longer than a file name may be */
    {
      char zName[300];
      memset(zName, 'n', 256);
      zName[256] = 0;
      entry(&s, zName, 256, "", 0);
      w = wrap(s.z, s.n, 1, &n);
      CHECK_TAKE(openErr(w, n),
                 "rc 11: corrupt bundle: script 1 has a name of 256 bytes (1 "
                 "to 255 bytes, within the 260 bytes left)");
      free(w);
      migStrReset(&s);
    }
    /* running past the end of the payload */
    validEntry(&s, "a1");
    entry(&s, "x.sql", 100, "", 0);
    w = wrap(s.z, s.n, 2, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: corrupt bundle: script 2 has a name of 100 bytes (1 to "
               "255 bytes, within the 9 bytes left)");
    free(w);
    migStrReset(&s);
    /* a NUL or a slash inside */
    {
      unsigned char aLen[4];
      put32(aLen, 7);
      migStrAppend(&s, (const char *)aLen, 4);
      migStrAppend(&s, "a\0b.sql", 7);
      put32(aLen, 0);
      migStrAppend(&s, (const char *)aLen, 4);
    }
    w = wrap(s.z, s.n, 1, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: corrupt bundle: script 1 has an invalid name");
    free(w);
    migStrReset(&s);
    entry(&s, "../a1.sql", 9, "", 0);
    w = wrap(s.z, s.n, 1, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: corrupt bundle: script 1 has an invalid name");
    free(w);
    migStrReset(&s);
    /* no room for the second script's name length */
    entry(&s, "a.sql", 5, "", 0);
    migStrAppend(&s, "xyz", 3);
    w = wrap(s.z, s.n, 2, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: corrupt bundle: script 2 runs past the end of the "
               "payload");
    free(w);
    migStrReset(&s);
    /* no room for the text length */
    {
      unsigned char aLen[4];
      put32(aLen, 5);
      migStrAppend(&s, (const char *)aLen, 4);
      migStrAppend(&s, "a.sql", 5);
      migStrAppend(&s, "xy", 2);
    }
    w = wrap(s.z, s.n, 1, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: corrupt bundle: script 1 runs past the end of the "
               "payload");
    free(w);
    migStrReset(&s);
  }

  TEST("bundle refusal: text past the end, trailing bytes");
  {
    unsigned char *w;
    entry(&s, "a.sql", 5, "-- m\n", 1000);
    w = wrap(s.z, s.n, 1, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: corrupt bundle: script 1 runs past the end of the "
               "payload");
    free(w);
    migStrReset(&s);
    validEntry(&s, "a1");
    migStrAppend(&s, "1234567", 7);
    w = wrap(s.z, s.n, 1, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: corrupt bundle: 7 bytes left after the last script");
    free(w);
    migStrReset(&s);
    /* one script declared, two present */
    validEntry(&s, "a1");
    validEntry(&s, "b1");
    w = wrap(s.z, s.n, 1, &n);
    zWant = sqlite3_mprintf(
        "rc 11: corrupt bundle: %u bytes left after the "
        "last script",
        (unsigned)(s.n / 2));
    CHECK_TAKE(openErr(w, n), zWant);
    sqlite3_free(zWant);
    free(w);
    migStrReset(&s);
  }

  TEST("bundle refusal: a bad script or graph inside a bundle");
  {
    unsigned char *w;
    char *zText = ut_script("b1", "zz", 0, 0, "SELECT 1;\n", 0);
    validEntry(&s, "a1");
    entry(&s, "b1_rev.sql", 10, zText, (unsigned)strlen(zText));
    sqlite3_free(zText);
    w = wrap(s.z, s.n, 2, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 1: in bundle: b1_rev.sql: Revises names unknown revision "
               "'zz'; is its file missing from the folder?");
    free(w);
    migStrReset(&s);
    entry(&s, "x.sql", 5, "SELECT 1;\n", 10);
    w = wrap(s.z, s.n, 1, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 1: in bundle: x.sql:1: no header: a script starts with "
               "'-- <message>' and '-- Revision ID: <id>' lines");
    free(w);
    migStrReset(&s);
    validEntry(&s, "a1");
    validEntry(&s, "a1");
    w = wrap(s.z, s.n, 2, &n);
    CHECK_TAKE(openErr(w, n),
               "rc 11: in bundle: two scripts are named a1_rev.sql");
    free(w);
    migStrReset(&s);
    /* scripts are sorted by name when decoded */
    validEntry(&s, "b1");
    validEntry(&s, "a1");
    w = wrap(s.z, s.n, 2, &n);
    {
      migrate_bundle *bb = 0;
      CHECK_INT(migrate_bundle_open_blob(w, n, &bb, &zErr), SQLITE_OK);
      if (bb) {
        CHECK_STR(migrate_bundle_revision(bb, 0)->id, "a1");
        CHECK_STR(migrate_bundle_revision(bb, 1)->id, "b1");
        migrate_bundle_free(bb);
      }
    }
    free(w);
    migStrReset(&s);
  }

  TEST("bundle refusal: pzErr may be NULL");
  {
    migrate_bundle *bb = 0;
    memcpy(a, aValid, nValid);
    a[0] = 'X';
    CHECK_INT(migrate_bundle_open_blob(a, nValid, &bb, 0), SQLITE_CORRUPT);
    CHECK(bb == 0);
  }

  free(a);
  sqlite3_free(aValid);
  sqlite3_free(zErr);
}

/* migrate_bundle_open_path(): "" or "rc <n>: <message>" (guarded). */
static char *openPathErr(void *pArg) {
  migrate_bundle *b = 0;
  char *zErr = 0, *z;
  int rc = migrate_bundle_open_path((const char *)pArg, &b, &zErr);
  if (rc == SQLITE_OK) {
    migrate_bundle_free(b);
    z = sqlite3_mprintf("%s", "");
  } else {
    ut_check(b == 0, __FILE__, __LINE__, "*ppOut not NULL on failure");
    z = sqlite3_mprintf("rc %d: %s", rc, zErr ? zErr : "(no message)");
  }
  sqlite3_free(zErr);
  return z;
}

static void testFiles(void) {
  char zDir[] = "/tmp/migrate-unit-XXXXXX";
  char *zPath, *zErr = 0;
  migrate_bundle *b = 0, *b2 = 0;
  unsigned char *a = 0;
  size_t n = 0;
  FILE *f;
  TEST("bundle files and folders");
  if (mkdtemp(zDir) == 0) {
    CHECK(0);
    return;
  }
  b = ut_graph(&zErr, "a1; b2<a1");
  if (b) CHECK_INT(migrate_bundle_encode(b, &a, &n, &zErr), SQLITE_OK);
  zPath = sqlite3_mprintf("%s/h.bundle", zDir);
  f = fopen(zPath, "wb");
  if (f && a) {
    fwrite(a, 1, n, f);
    fclose(f);
    CHECK_INT(migrate_bundle_open_path(zPath, &b2, &zErr), SQLITE_OK);
    if (b2) CHECK_TAKE(ut_order(b2), "a1 b2");
    migrate_bundle_free(b2);
    b2 = 0;
    /* a corrupt file: the message names it */
    f = fopen(zPath, "wb");
    fwrite(a, 1, n - 1, f);
    fclose(f);
    {
      unsigned nArea = (unsigned)(n - 32 - get32(a + 20));
      char *zWant = sqlite3_mprintf(
          "rc 11: %s: corrupt bundle: the index says the chunks take %u "
          "bytes, file holds %u (truncated or padded?)",
          zPath, nArea, nArea - 1);
      CHECK_TAKE(ut_guarded(openPathErr, zPath), zWant);
      sqlite3_free(zWant);
    }
  }
  unlink(zPath);
  sqlite3_free(zPath);
  /* a folder of scripts */
  {
    char *z1 = ut_script("b2", "a1", 0, 0, "SELECT 2;\n", 0);
    char *z2 = ut_script("a1", "", 0, 0, "SELECT 1;\n", 0);
    char *zP1 = sqlite3_mprintf("%s/b2_second.sql", zDir);
    char *zP2 = sqlite3_mprintf("%s/a1_first.sql", zDir);
    char *zP3 = sqlite3_mprintf("%s/notes.txt", zDir);
    f = fopen(zP1, "wb");
    fputs(z1, f);
    fclose(f);
    f = fopen(zP2, "wb");
    fputs(z2, f);
    fclose(f);
    f = fopen(zP3, "wb");
    fputs("not a script", f);
    fclose(f);
    CHECK_INT(migrate_bundle_open_path(zDir, &b2, &zErr), SQLITE_OK);
    if (b2) {
      CHECK_INT(migrate_bundle_count(b2), 2);
      CHECK_STR(migrate_bundle_revision(b2, 0)->file, "a1_first.sql");
      CHECK_TAKE(ut_order(b2), "a1 b2");
      migrate_bundle_free(b2);
      b2 = 0;
    }
    unlink(zP1);
    unlink(zP2);
    unlink(zP3);
    sqlite3_free(z1);
    sqlite3_free(z2);
    sqlite3_free(zP1);
    sqlite3_free(zP2);
    sqlite3_free(zP3);
  }
  /* a script over the size limit (a sparse file) */
  {
    char *zBig = sqlite3_mprintf("%s/big.sql", zDir);
    char *zWant =
        sqlite3_mprintf("rc 18: %s: file is larger than 67108864 bytes", zBig);
    f = fopen(zBig, "wb");
    if (f) fclose(f);
    if (truncate(zBig, (off_t)MIG_MAX_SCRIPT + 1) == 0) {
      CHECK_TAKE(ut_guarded(openPathErr, zDir), zWant);
    }
    unlink(zBig);
    sqlite3_free(zBig);
    sqlite3_free(zWant);
  }
  CHECK_INT(migrate_bundle_open_path("", &b2, &zErr), SQLITE_MISUSE);
  CHECK_STR(zErr, "empty path; give a migrations folder or a bundle file");
  rmdir(zDir);
  sqlite3_free(zErr);
  sqlite3_free(a);
  migrate_bundle_free(b);
}

/* Lazy loading (format 2) from several threads at once: every thread
** loads every revision, in its own order; the chunks are inflated once and
** every thread sees the same, complete texts. */
#define LZ_REVS    300
#define LZ_THREADS 4
typedef struct LazyArg {
  migrate_bundle *b;
  int iThread;
  int nFail; /* loads that failed or gave a wrong text */
} LazyArg;
static void *lazyThread(void *p) {
  LazyArg *a = p;
  int k;
  for (k = 0; k < LZ_REVS; k++) {
    /* thread t walks from a different start, alternating directions */
    int i = a->iThread % 2 ? (LZ_REVS - 1 - (k + 37 * a->iThread) % LZ_REVS)
                           : (k + 37 * a->iThread) % LZ_REVS;
    char *zErr = 0;
    const migrate_revision *r = migrate_bundle_revision(a->b, i);
    char zWant[64];
    if (migrate_bundle_load(a->b, i, &zErr) != SQLITE_OK) a->nFail++;
    sqlite3_free(zErr);
    snprintf(zWant, sizeof(zWant), "SELECT '%s';", r->id);
    if (r->upgrade == 0 || strncmp(r->upgrade, zWant, strlen(zWant)) != 0) {
      a->nFail++;
    }
  }
  return 0;
}

static void testLazyThreads(void) {
  char *azName[LZ_REVS], *azText[LZ_REVS];
  migrate_bundle *b = 0, *b2 = 0;
  unsigned char *a = 0;
  size_t n = 0;
  char *zErr = 0;
  pthread_t aT[LZ_THREADS];
  LazyArg aArg[LZ_THREADS];
  int i, nChunk;
  TEST("bundle: format-2 texts loaded from several threads");
  for (i = 0; i < LZ_REVS; i++) {
    char zId[16], zPrev[16], zUp[1200];
    snprintf(zId, sizeof(zId), "r%04d", i);
    snprintf(zPrev, sizeof(zPrev), "r%04d", i - 1);
    /* about 1 KiB a script: several 128 KiB chunks */
    snprintf(zUp, sizeof(zUp), "SELECT '%s';\n-- %0900d\n", zId, i);
    azName[i] = sqlite3_mprintf("%s_x.sql", zId);
    azText[i] = ut_script(zId, i ? zPrev : "", "", "", zUp, "SELECT 1;\n");
  }
  CHECK_INT(ut_bundle_texts(LZ_REVS, (const char **)azName,
                            (const char **)azText, &b, &zErr),
            SQLITE_OK);
  CHECK_STR(zErr, 0);
  if (b) CHECK_INT(migrate_bundle_encode(b, &a, &n, &zErr), SQLITE_OK);
  if (a) CHECK_INT(migrate_bundle_open_blob(a, n, &b2, &zErr), SQLITE_OK);
  CHECK_STR(zErr, 0);
  if (a) {
    /* the index's first word: the number of chunks */
    unsigned char aIdx[4];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    inflateInit2(&zs, -15);
    zs.next_in = a + 32;
    zs.avail_in = get32(a + 20);
    zs.next_out = aIdx;
    zs.avail_out = 4;
    inflate(&zs, Z_SYNC_FLUSH);
    inflateEnd(&zs);
    nChunk = (int)get32(aIdx);
    CHECK(nChunk >= 3);
  }
  if (b2) {
    for (i = 0; i < LZ_THREADS; i++) {
      aArg[i].b = b2;
      aArg[i].iThread = i;
      aArg[i].nFail = 0;
      CHECK_INT(pthread_create(&aT[i], 0, lazyThread, &aArg[i]), 0);
    }
    for (i = 0; i < LZ_THREADS; i++) {
      pthread_join(aT[i], 0);
      CHECK_INT(aArg[i].nFail, 0);
    }
    for (i = 0; i < LZ_REVS; i++) {
      const migrate_revision *x = migrate_bundle_revision(b, i);
      const migrate_revision *y = migrate_bundle_revision(b2, i);
      if (strcmp(x->source, y->source) != 0) {
        CHECK_STR(y->source, x->source);
        break;
      }
    }
  }
  for (i = 0; i < LZ_REVS; i++) {
    sqlite3_free(azName[i]);
    sqlite3_free(azText[i]);
  }
  sqlite3_free(zErr);
  sqlite3_free(a);
  migrate_bundle_free(b);
  migrate_bundle_free(b2);
}

void ut_bundle_tests(void) {
  testRoundTrip();
  testLazyThreads();
  testRefusals();
  testFiles();
}
