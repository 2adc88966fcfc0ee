/*
** sqltok.c — the engine's one SQL tokenizer, with SQLite's own rules.  The
** statement splitter and checks (script.c), the normalizer of snapshots
** (schema.c), migrate_rebuild()'s reading of create_sql (rebuild.c) and the
** applier's error positions (apply.c) all scan SQL with it.
**
**     int e;
**     size_t n = migSqlToken("\"a\"\"b\" = 'it''s'", &e);
**     // n == 6, e == MIG_TK_QUOTED: the identifier a"b
**
** The rules (SQLite's tokenizer): '...' is a string, a doubled '' inside
** it is a quote; "...", `...` are identifiers, a doubled quote inside is a
** quote; [...] is an identifier that ends at the first ]; x'...' is a blob;
** -- runs to the end of the line and a block comment to its end (or the end of the
** text); an unterminated string, identifier or comment runs to the end of
** the text.  Numbers: decimal, 0x hex, exponents, _ separators.  Variables:
** ?NNN, :name, @name, $name.  Everything else is punctuation, the
** two- and three-character operators as one token.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

static int isSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}
int migSqlIsSpace(int c) {
  return isSpace((unsigned char)c);
}
static int isIdStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c >= 0x80;
}
static int isIdChar(unsigned char c) {
  return isIdStart(c) || (c >= '0' && c <= '9') || c == '$';
}

/* Length of a quoted token at z opening with z[0]; cEnd closes it, and a
** doubled cEnd is a quote inside when bDouble. */
static size_t quotedLen(const unsigned char *z, unsigned char cEnd,
                        int bDouble) {
  size_t i = 1;
  while (z[i]) {
    if (z[i] == cEnd) {
      if (bDouble && z[i + 1] == cEnd) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return i;
}

/* Length of the number at z. */
static size_t numberLen(const unsigned char *z) {
  int bHex = z[0] == '0' && (z[1] == 'x' || z[1] == 'X');
  size_t j;
  for (j = 0; z[j]; j++) {
    unsigned char d = z[j];
    if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') ||
        (d >= 'A' && d <= 'Z') || d == '.' || d == '_') {
      continue;
    }
    if ((d == '+' || d == '-') && !bHex && j > 0 &&
        (z[j - 1] == 'e' || z[j - 1] == 'E')) {
      continue;
    }
    break;
  }
  return j;
}

/* Length of the punctuation at z: an operator of two or three characters
** (->> -> || << >> <= >= <> == !=), else one. */
static size_t punctLen(const unsigned char *z) {
  switch (z[0]) {
    case '-':
      return z[1] == '>' ? (z[2] == '>' ? 3 : 2) : 1;
    case '|':
      return z[1] == '|' ? 2 : 1;
    case '<':
      return z[1] == '<' || z[1] == '=' || z[1] == '>' ? 2 : 1;
    case '>':
      return z[1] == '>' || z[1] == '=' ? 2 : 1;
    case '=':
    case '!':
      return z[1] == '=' ? 2 : 1;
    default:
      return 1;
  }
}

size_t migSqlToken(const char *zSql, int *peType) {
  const unsigned char *z = (const unsigned char *)zSql;
  unsigned char c = z[0];
  size_t n;
  if (c == 0) {
    *peType = MIG_TK_EOF;
    return 0;
  }
  if (isSpace(c)) {
    for (n = 1; isSpace(z[n]); n++) {
    }
    *peType = MIG_TK_SPACE;
    return n;
  }
  if (c == '-' && z[1] == '-') {
    for (n = 2; z[n] && z[n] != '\n'; n++) {
    }
    *peType = MIG_TK_COMMENT;
    return n;
  }
  if (c == '/' && z[1] == '*') {
    for (n = 2; z[n] && !(z[n] == '*' && z[n + 1] == '/'); n++) {
    }
    *peType = MIG_TK_COMMENT;
    return z[n] ? n + 2 : n;
  }
  if (c == '\'') {
    *peType = MIG_TK_STRING;
    return quotedLen(z, '\'', 1);
  }
  if (c == '"' || c == '`') {
    *peType = MIG_TK_QUOTED;
    return quotedLen(z, c, 1);
  }
  if (c == '[') {
    *peType = MIG_TK_QUOTED;
    return quotedLen(z, ']', 0);
  }
  if ((c == 'x' || c == 'X') && z[1] == '\'') {
    *peType = MIG_TK_BLOB;
    return 1 + quotedLen(z + 1, '\'', 0);
  }
  if ((c >= '0' && c <= '9') || (c == '.' && z[1] >= '0' && z[1] <= '9')) {
    *peType = MIG_TK_NUMBER;
    return numberLen(z);
  }
  if (c == '?' || ((c == ':' || c == '@' || c == '$') && isIdChar(z[1]))) {
    for (n = 1; isIdChar(z[n]); n++) {
    }
    *peType = MIG_TK_VAR;
    return n;
  }
  if (isIdStart(c)) {
    for (n = 1; isIdChar(z[n]); n++) {
    }
    *peType = MIG_TK_WORD;
    return n;
  }
  *peType = MIG_TK_PUNCT;
  return punctLen(z);
}

size_t migSqlSkipSpace(const char *z, int *pnLine) {
  size_t i = 0;
  for (;;) {
    int e;
    size_t n = migSqlToken(z + i, &e);
    if (e != MIG_TK_SPACE && e != MIG_TK_COMMENT) return i;
    if (pnLine) *pnLine += migSqlLines(z + i, n);
    i += n;
  }
}

int migSqlLines(const char *z, size_t n) {
  int nLine = 0;
  const char *zEnd = z + n;
  while ((z = memchr(z, '\n', (size_t)(zEnd - z))) != 0) {
    nLine++;
    z++;
  }
  return nLine;
}

char *migSqlUnquote(const char *z, size_t n) {
  char q = n ? z[0] : 0;
  char *zOut;
  size_t i, j = 0;
  if (q != '"' && q != '`' && q != '[' && q != '\'') {
    return sqlite3_mprintf("%.*s", (int)n, z);
  }
  zOut = sqlite3_malloc64(n + 1);
  if (zOut == 0) return 0;
  if (q == '[') {
    /* no escapes: up to the closing ] (absent when unterminated) */
    size_t nIn = n >= 2 && z[n - 1] == ']' ? n - 2 : n - 1;
    memcpy(zOut, z + 1, nIn);
    zOut[nIn] = 0;
    return zOut;
  }
  if (n >= 2 && z[n - 1] == q) n--;
  for (i = 1; i < n; i++) {
    zOut[j++] = z[i];
    if (z[i] == q && i + 1 < n && z[i + 1] == q) i++;
  }
  zOut[j] = 0;
  return zOut;
}
