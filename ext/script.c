/*
** script.c — the revision-script parser (README.md, "Revision scripts"), shared by mkbundle, the
** extension (migrate_bundle(), bundle decoding) and the shell.
**
**     -- Add user preferences table          <- message (first header line)
**     --
**     -- Revision ID: 9a39eb7fd78f            <- keys, case-insensitive
**     -- Revises: 1f0c2a7d44e0
**     -- Create Date: 2026-11-21 10:30:00
**
**     -- migrate:upgrade
**     CREATE TABLE user_preferences (...);
**
**     -- migrate:downgrade
**     DROP TABLE user_preferences;
**
** How it works: the text is first normalized (a leading UTF-8 BOM dropped,
** CRLF and CR turned into LF) into an arena copy, so line numbers, the
** checksum and the stored sections agree on every platform.  The header is
** the run of "--" lines at the top.  After it only comments and blank lines
** may appear until "-- migrate:upgrade"; the sections run to the next
** directive or the end of the file.  Each section is then split into
** statements with sqlite3_complete() (so trigger bodies and semicolons in
** strings need no markers) and each statement's leading keywords are checked:
** transaction control is refused everywhere, and statements SQLite will not
** run inside a transaction are refused unless the header says
** "Transaction: none".
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <ctype.h>
#include <string.h>
#include <zlib.h>

/* CRC-32 of z[0..n), as zlib computes it (n may exceed uInt). */
unsigned int migCrc32(const char *z, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
    crc = crc32(crc, (const Bytef *)z, k);
    z += k;
    n -= k;
  }
  return (unsigned int)crc;
}

/* ======================================================================
** Statement splitting
*/

/* Skip whitespace and SQL comments starting at z[i]; return the new offset
** and add the newlines passed to *pnLine. */
static size_t skipSpace(const char *z, size_t i, int *pnLine) {
  return i + migSqlSkipSpace(z + i, pnLine);
}

/* Next statement of the body in p.  See internal.h. */
int migSplitNext(MigSplit *p, const char **pzStmt, size_t *pnStmt,
                 int *piLine) {
  char *z = p->z;
  size_t i = skipSpace(z, p->i, &p->iLine);
  size_t iStart = i;
  int iLine = p->iLine;
  if (z[i] == 0) {
    p->i = i;
    return 0;
  }
  /* Walk the tokens to each ';' and ask SQLite whether the text so far is
  ** complete (sqlite3_complete() handles CREATE TRIGGER ... END); a ';'
  ** inside a string, identifier or comment is not even tried. */
  while (z[i]) {
    int e;
    size_t n = migSqlToken(z + i, &e);
    if (e == MIG_TK_PUNCT && z[i] == ';') {
      /* a copy: the body may be a shared bundle's text that other threads
      ** are reading (it was NUL-terminated in place once, which made a
      ** concurrent run see "incomplete input") */
      char aBuf[512];
      size_t nPart = i + 1 - iStart;
      char *zPart = nPart < sizeof(aBuf) ? aBuf : sqlite3_malloc64(nPart + 1);
      int bComplete;
      if (zPart == 0) {
        p->rc = SQLITE_NOMEM;
        return 0;
      }
      memcpy(zPart, z + iStart, nPart);
      zPart[nPart] = 0;
      bComplete = sqlite3_complete(zPart);
      if (zPart != aBuf) sqlite3_free(zPart);
      i++;
      if (bComplete) break;
    } else {
      /* only these can span lines */
      if (e == MIG_TK_SPACE || e == MIG_TK_COMMENT || e == MIG_TK_STRING ||
          e == MIG_TK_QUOTED || e == MIG_TK_BLOB) {
        p->iLine += migSqlLines(z + i, n);
      }
      i += n;
    }
  }
  *pzStmt = z + iStart;
  *pnStmt = i - iStart;
  *piLine = iLine;
  p->i = i;
  return 1;
}

/* ======================================================================
** Statement checks
*/

/* Copy the k-th keyword (0-based) of statement z into zOut (uppercased,
** at most nOut-1 chars); "" when there is none.  Dots separate words, so
** "PRAGMA main.journal_mode" gives PRAGMA, MAIN, JOURNAL_MODE. */
static void stmtWord(const char *z, int k, char *zOut, size_t nOut) {
  size_t i = 0;
  int w;
  zOut[0] = 0;
  for (w = 0; w <= k; w++) {
    int e;
    size_t n, m = 0, j;
    char *zName;
    i += migSqlSkipSpace(z + i, 0);
    if (z[i] == '.') i += 1 + migSqlSkipSpace(z + i + 1, 0);
    n = migSqlToken(z + i, &e);
    if (e != MIG_TK_WORD && e != MIG_TK_QUOTED && e != MIG_TK_NUMBER) {
      return; /* punctuation or the end: no more words */
    }
    if (w == k) {
      zName = e == MIG_TK_QUOTED ? migSqlUnquote(z + i, n) : 0;
      if (e == MIG_TK_QUOTED && zName == 0) return; /* OOM: no word */
      for (j = 0; (zName ? zName[j] != 0 : j < n) && m + 1 < nOut; j++) {
        zOut[m++] = (char)toupper((unsigned char)(zName ? zName[j] : z[i + j]));
      }
      zOut[m] = 0;
      sqlite3_free(zName);
    }
    i += n;
  }
}

/* Is the statement one the engine refuses outright (transaction control)?
** Returns the keyword or NULL. */
static const char *txnControlWord(const char *z, char *zBuf, size_t nBuf) {
  static const char *azCtl[] = {"BEGIN",    "COMMIT",    "END",
                                "ROLLBACK", "SAVEPOINT", "RELEASE"};
  size_t k;
  stmtWord(z, 0, zBuf, nBuf);
  for (k = 0; k < sizeof(azCtl) / sizeof(azCtl[0]); k++) {
    if (strcmp(zBuf, azCtl[k]) == 0) return azCtl[k];
  }
  return 0;
}

/* Does the statement need to run outside a transaction?  Returns a short
** description ("VACUUM", "PRAGMA journal_mode") or NULL. */
static const char *needsNoTxn(const char *z) {
  char zW[32], zW2[32], zW3[32];
  stmtWord(z, 0, zW, sizeof(zW));
  if (strcmp(zW, "VACUUM") == 0) return "VACUUM";
  if (strcmp(zW, "ATTACH") == 0) return "ATTACH";
  if (strcmp(zW, "DETACH") == 0) return "DETACH";
  if (strcmp(zW, "PRAGMA") == 0) {
    stmtWord(z, 1, zW2, sizeof(zW2));
    stmtWord(z, 2, zW3, sizeof(zW3));
    if (strcmp(zW2, "JOURNAL_MODE") == 0 || strcmp(zW3, "JOURNAL_MODE") == 0) {
      return "PRAGMA journal_mode";
    }
    if (strcmp(zW2, "FOREIGN_KEYS") == 0 || strcmp(zW3, "FOREIGN_KEYS") == 0) {
      return "PRAGMA foreign_keys";
    }
  }
  return 0;
}

/* Check every statement of a section.  zBody is an arena copy. */
static int checkSection(const char *zFile, char *zBody, int iFirstLine,
                        const char *zSection, int noTxn, char **pzErr) {
  MigSplit s = {zBody, 0, 0, SQLITE_OK};
  const char *zStmt;
  size_t nStmt;
  int iLine;
  char zBuf[32];
  while (migSplitNext(&s, &zStmt, &nStmt, &iLine)) {
    const char *zCtl = txnControlWord(zStmt, zBuf, sizeof(zBuf));
    const char *zNo;
    if (zCtl) {
      return migSetError(
          pzErr, SQLITE_ERROR,
          "%s:%d: %s in the %s section: scripts must not contain BEGIN, "
          "COMMIT, END, ROLLBACK, SAVEPOINT or RELEASE (the engine runs "
          "each revision in a transaction); remove it",
          zFile, iFirstLine + iLine, zCtl, zSection);
    }
    zNo = needsNoTxn(zStmt);
    if (zNo && !noTxn) {
      return migSetError(
          pzErr, SQLITE_ERROR,
          "%s:%d: %s cannot run inside a transaction; add "
          "'-- Transaction: none' to the header to run this revision "
          "outside one",
          zFile, iFirstLine + iLine, zNo);
    }
  }
  return s.rc;
}

/* ======================================================================
** Header
*/

static int isIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

/* Validate an identifier (revision id or branch label). NULL if ok, else a
** reason. */
static const char *badIdent(const char *z, size_t n) {
  size_t i;
  if (n == 0) return "is empty";
  if (n > MIG_MAX_ID) return "is longer than 64 characters";
  for (i = 0; i < n; i++) {
    if (!isIdChar(z[i])) return "may only hold the characters A-Z a-z 0-9 _";
  }
  if ((n == 4 && sqlite3_strnicmp(z, "head", 4) == 0) ||
      (n == 5 && sqlite3_strnicmp(z, "heads", 5) == 0) ||
      (n == 4 && sqlite3_strnicmp(z, "base", 4) == 0)) {
    return "is a reserved word (head, heads, base)";
  }
  return 0;
}

/* See migrate.h. */
const char *migrate_check_ident(const char *z) {
  return badIdent(z, strlen(z));
}

static const char *trimLeft(const char *z, const char *zEnd) {
  while (z < zEnd && (*z == ' ' || *z == '\t')) z++;
  return z;
}
static const char *trimRight(const char *z, const char *zEnd) {
  while (zEnd > z && (zEnd[-1] == ' ' || zEnd[-1] == '\t')) zEnd--;
  return zEnd;
}

/* Split a comma-separated value into identifiers.  "None" or "" -> none.
** bNoneOk: "None" allowed (Revises). */
static int parseList(MigArena *pA, const char *zFile, int iLine,
                     const char *zKey, const char *z, const char *zEnd,
                     int bNoneOk, const char ***pazOut, int *pnOut,
                     char **pzErr) {
  int n = 0, k;
  const char *p;
  const char **az;
  z = trimLeft(z, zEnd);
  zEnd = trimRight(z, zEnd);
  *pazOut = 0;
  *pnOut = 0;
  if (z == zEnd) return SQLITE_OK;
  if (bNoneOk && zEnd - z == 4 && memcmp(z, "None", 4) == 0) return SQLITE_OK;
  for (p = z; p < zEnd; p++) {
    if (*p == ',') n++;
  }
  n++;
  az = migArenaAlloc(pA, sizeof(char *) * (size_t)n);
  if (az == 0) return SQLITE_NOMEM;
  for (k = 0; k < n; k++) {
    const char *zE = z;
    const char *zWhy;
    int j;
    while (zE < zEnd && *zE != ',') zE++;
    {
      const char *a = trimLeft(z, zE), *b = trimRight(a, zE);
      zWhy = badIdent(a, (size_t)(b - a));
      if (zWhy) {
        return migSetError(pzErr, SQLITE_ERROR, "%s:%d: %s: '%.*s' %s", zFile,
                           iLine, zKey, (int)(b - a), a, zWhy);
      }
      az[k] = migArenaStrndup(pA, a, (size_t)(b - a));
      if (az[k] == 0) return SQLITE_NOMEM;
      for (j = 0; j < k; j++) {
        if (strcmp(az[j], az[k]) == 0) {
          return migSetError(pzErr, SQLITE_ERROR, "%s:%d: %s names '%s' twice",
                             zFile, iLine, zKey, az[k]);
        }
      }
    }
    z = zE + 1;
  }
  *pazOut = az;
  *pnOut = n;
  return SQLITE_OK;
}

/* Header keys, in the order the error message lists them. */
enum { K_ID, K_REVISES, K_DATE, K_LABELS, K_DEPENDS, K_TXN, K_COUNT };
static const char *azKey[K_COUNT] = {"Revision ID", "Revises",
                                     "Create Date", "Branch Labels",
                                     "Depends On",  "Transaction"};
static const size_t anKey[K_COUNT] = {11, 7, 11, 13, 10, 11};

/* Normalize line endings and drop a BOM: returns an arena copy. */
static char *normalizeText(MigArena *pA, const char *z, size_t n, size_t *pn) {
  char *zOut;
  size_t i, j = 0;
  if (n >= 3 && (unsigned char)z[0] == 0xEF && (unsigned char)z[1] == 0xBB &&
      (unsigned char)z[2] == 0xBF) {
    z += 3;
    n -= 3;
  }
  if (memchr(z, '\r', n) == 0) {
    /* already LF only: the common case */
    *pn = n;
    return migArenaStrndup(pA, z, n);
  }
  zOut = migArenaAlloc(pA, n + 1);
  if (zOut == 0) return 0;
  for (i = 0; i < n; i++) {
    if (z[i] == '\r') {
      zOut[j++] = '\n';
      if (i + 1 < n && z[i + 1] == '\n') i++;
    } else {
      zOut[j++] = z[i];
    }
  }
  zOut[j] = 0;
  *pn = j;
  return zOut;
}

/* If line [z,zEnd) is a "-- migrate:<name>" directive, return 1 and set
** *pzName and *pnName; else 0. */
static int isDirective(const char *z, const char *zEnd, const char **pzName,
                       size_t *pnName) {
  if (zEnd - z < 2 || z[0] != '-' || z[1] != '-') return 0;
  z = trimLeft(z + 2, zEnd);
  if (zEnd - z < 8 || (z[0] != 'm' && z[0] != 'M') ||
      sqlite3_strnicmp(z, "migrate:", 8) != 0) {
    return 0;
  }
  z += 8;
  zEnd = trimRight(z, zEnd);
  *pzName = z;
  *pnName = (size_t)(zEnd - z);
  return 1;
}

/* Parse one script, checking its statements.  See internal.h. */
int migScriptParse(MigArena *pA, const char *zFile, const char *zText,
                   size_t nText, migrate_revision *pRev, char **pzErr) {
  return migScriptParseEx(pA, zFile, zText, nText, pRev, MIG_PARSE_CHECK,
                          pzErr);
}

/* Check both sections of an already parsed revision.  The bodies are
** arena copies the splitter may modify for a moment (and restores). */
int migScriptCheckStatements(const migrate_revision *r, char **pzErr) {
  int rc = checkSection(r->file, (char *)r->upgrade, r->upgrade_line, "upgrade",
                        r->no_transaction, pzErr);
  if (rc == SQLITE_OK && r->downgrade) {
    rc = checkSection(r->file, (char *)r->downgrade, r->downgrade_line,
                      "downgrade", r->no_transaction, pzErr);
  }
  return rc;
}

/* First statement needing the connection to itself: see internal.h. */
const char *migScriptNeedsIdleConn(const migrate_revision *r, int bUp,
                                   int *piLine) {
  MigSplit s = {(char *)(bUp ? r->upgrade : r->downgrade), 0, 0, SQLITE_OK};
  const char *zStmt;
  size_t nStmt;
  int iLine;
  char zW[32];
  *piLine = 0;
  if (s.z == 0) return 0;
  while (migSplitNext(&s, &zStmt, &nStmt, &iLine)) {
    stmtWord(zStmt, 0, zW, sizeof(zW));
    if (strcmp(zW, "VACUUM") == 0) {
      *piLine = (bUp ? r->upgrade_line : r->downgrade_line) + iLine;
      return "VACUUM";
    }
  }
  return 0;
}

/* Length of the header of normalized text z[0..n): the run of "--" lines
** at the top, up to the first "-- migrate:" directive or other line.  See
** internal.h. */
size_t migScriptHeaderLen(const char *z, size_t n) {
  const char *p = z, *zEnd = z + n;
  while (p < zEnd) {
    const char *zEol = memchr(p, '\n', (size_t)(zEnd - p));
    const char *zLineEnd = zEol ? zEol : zEnd;
    const char *zName;
    size_t nName;
    if (zLineEnd - p < 2 || p[0] != '-' || p[1] != '-') break;
    if (isDirective(p, zLineEnd, &zName, &nName)) break;
    p = zEol ? zEol + 1 : zEnd;
  }
  return (size_t)(p - z);
}

/* One "Key: value" line of the header (zC..zCEnd, after "--"), line iLine:
** set the field of pRev; seen[k] records the line of each key. */
static int headerField(MigArena *pA, const char *zFile, int iLine,
                       const char *zC, const char *zCEnd, int *seen,
                       migrate_revision *pRev, char **pzErr) {
  int rc;
  const char *zColon = memchr(zC, ':', (size_t)(zCEnd - zC));
  const char *zK = zC, *zKEnd;
  int k;
  if (zColon == 0) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s:%d: header line is not 'Key: value' "
                       "(keys: Revision ID, Revises, Create Date, "
                       "Branch Labels, Depends On, Transaction); end "
                       "the header with a blank line to write comments",
                       zFile, iLine);
  }
  zKEnd = trimRight(zK, zColon);
  for (k = 0; k < K_COUNT; k++) {
    if ((size_t)(zKEnd - zK) == anKey[k] &&
        sqlite3_strnicmp(zK, azKey[k], (int)(zKEnd - zK)) == 0) {
      break;
    }
  }
  if (k == K_COUNT) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s:%d: unknown header key '%.*s' (keys: "
                       "Revision ID, Revises, Create Date, Branch "
                       "Labels, Depends On, Transaction)",
                       zFile, iLine, (int)(zKEnd - zK), zK);
  }
  if (seen[k]) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s:%d: header key '%s' given twice", zFile, iLine,
                       azKey[k]);
  }
  seen[k] = iLine;
  {
    const char *zV = trimLeft(zColon + 1, zCEnd);
    size_t nV = (size_t)(zCEnd - zV);
    const char *zWhy;
    switch (k) {
      case K_ID:
        zWhy = badIdent(zV, nV);
        if (zWhy) {
          return migSetError(pzErr, SQLITE_ERROR,
                             "%s:%d: Revision ID '%.*s' %s", zFile, iLine,
                             (int)nV, zV, zWhy);
        }
        pRev->id = migArenaStrndup(pA, zV, nV);
        if (pRev->id == 0) return SQLITE_NOMEM;
        break;
      case K_REVISES:
        rc = parseList(pA, zFile, iLine, "Revises", zV, zCEnd, 1,
                       &pRev->parents, &pRev->nparent, pzErr);
        if (rc) return rc;
        break;
      case K_DATE:
        pRev->create_date = migArenaStrndup(pA, zV, nV);
        if (pRev->create_date == 0) return SQLITE_NOMEM;
        break;
      case K_LABELS:
        rc = parseList(pA, zFile, iLine, "Branch Labels", zV, zCEnd, 1,
                       &pRev->labels, &pRev->nlabel, pzErr);
        if (rc) return rc;
        break;
      case K_DEPENDS:
        rc = parseList(pA, zFile, iLine, "Depends On", zV, zCEnd, 1,
                       &pRev->depends, &pRev->ndepend, pzErr);
        if (rc) return rc;
        break;
      default: /* K_TXN */
        if (nV == 4 && sqlite3_strnicmp(zV, "none", 4) == 0) {
          pRev->no_transaction = 1;
        } else {
          return migSetError(pzErr, SQLITE_ERROR,
                             "%s:%d: Transaction: '%.*s' is not "
                             "understood; the only value is 'none'",
                             zFile, iLine, (int)nV, zV);
        }
        break;
    }
  }
  return SQLITE_OK;
}

/* After the last line: the header has what it must (Revision ID, Revises,
** an upgrade section unless bUpgrade says it is not needed) and no
** revision names itself as parent or dependency. */
static int checkHeader(const char *zFile, const int *seen, int bUpgrade,
                       const migrate_revision *pRev, char **pzErr) {
  if (!seen[K_ID]) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s: header has no 'Revision ID:' line", zFile);
  }
  if (!seen[K_REVISES]) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s: header has no 'Revises:' line (write "
                       "'-- Revises:' with nothing after it for a base "
                       "revision)",
                       zFile);
  }
  if (!bUpgrade) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s: no '-- migrate:upgrade' section", zFile);
  }
  {
    int k;
    for (k = 0; k < pRev->nparent; k++) {
      if (strcmp(pRev->parents[k], pRev->id) == 0) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s:%d: revision %s revises itself", zFile,
                           seen[K_REVISES], pRev->id);
      }
    }
    for (k = 0; k < pRev->ndepend; k++) {
      if (strcmp(pRev->depends[k], pRev->id) == 0) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s:%d: revision %s depends on itself", zFile,
                           seen[K_DEPENDS], pRev->id);
      }
    }
  }
  return SQLITE_OK;
}

/* Copy the sections zUp..zUpEnd and (if any) zDown..zDownEnd into pRev,
** with the upgrade's checksum; with bCheck their statements are checked. */
static int setSections(MigArena *pA, migrate_revision *pRev, const char *zUp,
                       const char *zUpEnd, const char *zDown,
                       const char *zDownEnd, int bCheck, char **pzErr) {
  char *zU = migArenaStrndup(pA, zUp, (size_t)(zUpEnd - zUp));
  char *zD = zDown ? migArenaStrndup(pA, zDown, (size_t)(zDownEnd - zDown)) : 0;
  int rc = SQLITE_OK;
  if (zU == 0 || (zDown && zD == 0)) return SQLITE_NOMEM;
  pRev->upgrade = zU;
  pRev->downgrade = zD;
  pRev->checksum = migCrc32(zU, strlen(zU));
  if (bCheck) {
    rc = migScriptCheckStatements(pRev, pzErr);
    pRev->statements_checked = rc == SQLITE_OK;
  }
  return rc;
}

/* Parse one script.  See internal.h. */
int migScriptParseEx(MigArena *pA, const char *zFile, const char *zText,
                     size_t nText, migrate_revision *pRev, int flags,
                     char **pzErr) {
  int bHeaderOnly = (flags & MIG_PARSE_HEADER) != 0;
  size_t n;
  char *z;
  const char *p, *zEnd;
  int iLine = 0;
  int seen[K_COUNT] = {0};
  int bHeader = 1, bFirst = 1;
  const char *zUp = 0, *zDown = 0; /* section starts in z */
  const char *zUpEnd = 0, *zDownEnd = 0;
  int upLine = 0, downLine = 0;
  int rc;

  memset(pRev, 0, sizeof(*pRev));
  if (nText > MIG_MAX_SCRIPT) {
    return migSetError(pzErr, SQLITE_ERROR, "%s: file is larger than %u bytes",
                       zFile, MIG_MAX_SCRIPT);
  }
  if (memchr(zText, 0, nText)) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s: file contains a NUL byte; is it a text file?",
                       zFile);
  }
  pRev->file = migArenaStrndup(pA, zFile, strlen(zFile));
  z = normalizeText(pA, zText, nText, &n);
  if (z == 0 || pRev->file == 0) return SQLITE_NOMEM;
  pRev->message = "";
  pRev->create_date = "";
  if (!bHeaderOnly) {
    pRev->source = z;
    pRev->nsource = n;
  }

  p = z;
  zEnd = z + n;
  while (p < zEnd) {
    const char *zEol = memchr(p, '\n', (size_t)(zEnd - p));
    const char *zLineEnd = zEol ? zEol : zEnd;
    const char *zName;
    size_t nName;
    iLine++;

    if (isDirective(p, zLineEnd, &zName, &nName)) {
      int bUp = nName == 7 && sqlite3_strnicmp(zName, "upgrade", 7) == 0;
      int bDown = nName == 9 && sqlite3_strnicmp(zName, "downgrade", 9) == 0;
      if (!bUp && !bDown) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s:%d: unknown directive '-- migrate:%.*s' "
                           "(expected migrate:upgrade or migrate:downgrade)",
                           zFile, iLine, (int)nName, zName);
      }
      if ((bUp && zUp) || (bDown && zDown)) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s:%d: second '-- migrate:%s' section; each "
                           "section may occur once",
                           zFile, iLine, bUp ? "upgrade" : "downgrade");
      }
      if (bFirst) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s:%d: no header before '-- migrate:%s'; a "
                           "script starts with '-- <message>' and "
                           "'-- Revision ID: <id>' lines",
                           zFile, iLine, bUp ? "upgrade" : "downgrade");
      }
      bHeader = 0;
      /* close the open section */
      if (zUp && !zUpEnd) zUpEnd = p;
      if (zDown && !zDownEnd) zDownEnd = p;
      if (bUp) {
        zUp = zEol ? zEol + 1 : zEnd;
        upLine = iLine + 1;
      } else {
        zDown = zEol ? zEol + 1 : zEnd;
        downLine = iLine + 1;
      }
    } else if (bHeader && zLineEnd - p >= 2 && p[0] == '-' && p[1] == '-') {
      const char *zC = trimLeft(p + 2, zLineEnd);
      const char *zCEnd = trimRight(zC, zLineEnd);
      if (bFirst) {
        bFirst = 0;
        pRev->message = migArenaStrndup(pA, zC, (size_t)(zCEnd - zC));
        if (pRev->message == 0) return SQLITE_NOMEM;
      } else if (zC < zCEnd) {
        rc = headerField(pA, zFile, iLine, zC, zCEnd, seen, pRev, pzErr);
        if (rc) return rc;
      }
    } else if (bHeader) {
      /* The header ends at the first line that is not a "--" comment. */
      bHeader = 0;
      if (bFirst) {
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s:1: no header: a script starts with "
                           "'-- <message>' and '-- Revision ID: <id>' lines",
                           zFile);
      }
      /* This line belongs to the gap before the first section. */
      {
        int nl = 0;
        size_t j = skipSpace(p, 0, &nl);
        if (p + j < zLineEnd) {
          return migSetError(pzErr, SQLITE_ERROR,
                             "%s:%d: SQL before '-- migrate:upgrade'; put "
                             "statements inside a section",
                             zFile, iLine);
        }
      }
    } else if (!zUp && !zDown) {
      /* Between header and first section: comments and blanks only. */
      int nl = 0;
      size_t j = 0;
      while (p + j < zLineEnd && isspace((unsigned char)p[j])) j++;
      if (p + j < zLineEnd &&
          !(p[j] == '-' && p + j + 1 < zLineEnd && p[j + 1] == '-')) {
        (void)nl;
        return migSetError(pzErr, SQLITE_ERROR,
                           "%s:%d: SQL before '-- migrate:upgrade'; put "
                           "statements inside a section",
                           zFile, iLine);
      }
    }
    p = zEol ? zEol + 1 : zEnd;
  }
  if (zUp && !zUpEnd) zUpEnd = zEnd;
  if (zDown && !zDownEnd) zDownEnd = zEnd;

  if (bFirst) {
    return migSetError(pzErr, SQLITE_ERROR,
                       "%s:1: no header: a script starts with "
                       "'-- <message>' and '-- Revision ID: <id>' lines",
                       zFile);
  }
  rc = checkHeader(zFile, seen, zUp != 0 || bHeaderOnly, pRev, pzErr);
  if (rc) return rc;

  if (bHeaderOnly) {
    /* the sections come later (migBundleLoad): a header has none */
    if (zUp || zDown) {
      return migSetError(pzErr, SQLITE_ERROR, "%s: the header holds a section",
                         zFile);
    }
    return SQLITE_OK;
  }
  pRev->upgrade_line = upLine;
  pRev->downgrade_line = zDown ? downLine : 0;
  return setSections(pA, pRev, zUp, zUpEnd, zDown, zDownEnd,
                     (flags & MIG_PARSE_CHECK) != 0, pzErr);
}
