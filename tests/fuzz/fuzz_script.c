/*
** fuzz_script.c — libFuzzer target for the revision-script parser
** (ext/script.c): migScriptParse() on the input bytes, then migSplitNext()
** over both sections of a parsed script, and over the raw input as if it
** were a section body.
**
**     make fuzz FUZZ_SECONDS=60            (tests/fuzz/fuzz.mk)
**     build/fuzz/fuzz_script build/fuzz/corpus/script tests/fuzz/corpus/script
**
** Seeds: tests/fuzz/corpus/script/ (the example migrations/ scripts and
** small edge cases).  Besides the sanitizers, it checks:
**  - a failure has a message starting with the file name;
**  - a parsed script has an id, an upgrade section, and the checksum of
**    that section;
**  - the splitter yields non-empty statements inside the body, in order,
**    always advancing, and leaves the body as it found it.
** Each section is copied into a buffer of its exact size first, so
** AddressSanitizer sees any read past the terminating NUL.
*/
#include "fuzz_common.h"

/* Split z[0..n) (NUL-free) into statements and check the iterator. */
static void splitAll(const char *z, size_t n) {
  char *zBody = malloc(n + 1);
  MigSplit s;
  const char *zStmt;
  size_t nStmt, iPrevEnd = 0, nCount = 0, nLines = 0, i;
  int iLine, iPrevLine = -1;
  if (zBody == 0) return;
  memcpy(zBody, z, n);
  zBody[n] = 0;
  for (i = 0; i < n; i++) nLines += zBody[i] == '\n';
  s.z = zBody;
  s.i = 0;
  s.iLine = 0;
  while (migSplitNext(&s, &zStmt, &nStmt, &iLine)) {
    size_t iStart = (size_t)(zStmt - zBody);
    if (zStmt < zBody || iStart + nStmt > n) {
      fuzzFail("statement [%zu, +%zu) outside the body of %zu bytes", iStart,
               nStmt, n);
    }
    if (nStmt == 0) fuzzFail("empty statement at offset %zu", iStart);
    if (iStart < iPrevEnd) {
      fuzzFail("statement at %zu overlaps the previous one ending at %zu",
               iStart, iPrevEnd);
    }
    if (iLine < iPrevLine || iLine < 0 || (size_t)iLine > nLines) {
      fuzzFail("statement line %d after line %d (body has %zu newlines)", iLine,
               iPrevLine, nLines);
    }
    {
      int nBefore = 0;
      for (i = 0; i < iStart; i++) nBefore += zBody[i] == '\n';
      if (nBefore != iLine) {
        fuzzFail("statement at offset %zu is on line %d, reported %d", iStart,
                 nBefore, iLine);
      }
    }
    if (s.i != iStart + nStmt) {
      fuzzFail("iterator at %zu, statement ends at %zu", s.i, iStart + nStmt);
    }
    iPrevEnd = iStart + nStmt;
    iPrevLine = iLine;
    if (++nCount > n) fuzzFail("more statements than bytes");
  }
  if (memcmp(zBody, z, n) != 0 || zBody[n] != 0) {
    fuzzFail("the splitter left the body modified");
  }
  free(zBody);
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData) {
  MigArena arena = {0};
  migrate_revision rev;
  char *zErr = 0;
  const char *zNul;
  int rc;

  rc = migScriptParse(&arena, "fuzz.sql", (const char *)aData, nData, &rev,
                      &zErr);
  if (rc == SQLITE_OK) {
    if (rev.id == 0 || rev.id[0] == 0 || rev.upgrade == 0 || rev.message == 0 ||
        rev.source == 0) {
      fuzzFail("parsed script lacks id, message, source or upgrade section");
    }
    if (rev.checksum != migCrc32(rev.upgrade, strlen(rev.upgrade))) {
      fuzzFail("checksum %08x is not the CRC-32 of the upgrade section",
               rev.checksum);
    }
    splitAll(rev.upgrade, strlen(rev.upgrade));
    if (rev.downgrade) splitAll(rev.downgrade, strlen(rev.downgrade));
  } else {
    fuzzCheckError("migScriptParse", rc, zErr);
    if (rc != SQLITE_NOMEM && strncmp(zErr, "fuzz.sql", 8) != 0) {
      fuzzFail("parse error does not name the file: %s", zErr);
    }
  }
  sqlite3_free(zErr);
  migArenaFree(&arena);

  /* the splitter on its own: any text up to the first NUL is a body */
  zNul = memchr(aData, 0, nData);
  splitAll((const char *)aData,
           zNul ? (size_t)(zNul - (const char *)aData) : nData);
  return 0;
}
