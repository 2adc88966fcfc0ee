/*
** schema.c — schema snapshots and their comparison, used by the checks
** (check.c: drift, the round trip, migrate_schema_diff()).  It calls nothing
** above util.c.
**
**     MigSchema *pHist, *pDb;
**     migSchemaSnapshot(db, "main", &pDb, &zErr);
**     migSchemaDiff(pHist, pDb, &zReport, &zErr);   // NULL when equal
**
** A report is NULL when there is nothing to say, else one line per
** difference (caller frees with sqlite3_free()).
**
** How it works.  A snapshot reads sqlite_master of one schema, leaving out
** sqlite_% objects and the engine's own tables (migrate_version,
** migrate_log, migrate_scripts, migrate_lock; alembic_version, which it keeps
** in step) and whatever is built on them.  Every
** object becomes a list of attributes; a table also gets items: its
** columns (PRAGMA table_xinfo: declared type, NOT NULL, default, primary-key
** position, plus COLLATE and GENERATED read from the CREATE text), its CHECK
** constraints, UNIQUE constraints (PRAGMA index_list/index_info) and
** foreign keys (PRAGMA foreign_key_list).  An index has its table, UNIQUE,
** key columns (PRAGMA index_xinfo; expressions from the CREATE text) and
** partial WHERE; a view, trigger or virtual table its definition.  All SQL
** text goes through one normalizer first: tokens, comments dropped, words
** upper case when SQLite calls them keywords and lower case otherwise,
** quotes dropped from identifiers that need none, one canonical spacing;
** string literals stay exact.  So whitespace, keyword case and quoting never
** count as a difference.  A diff walks both sorted object lists and says,
** per difference, "<kind> <name>: [<item>: ]<what>".
**
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>
#include <string.h>

/* ======================================================================
** The normalizer: SQL text -> canonical tokens
*/

enum {
  TK_WORD,   /* keyword or identifier that needs no quotes */
  TK_QIDENT, /* identifier that needs quotes: "..." */
  TK_STRING, /* '...' exactly as written */
  TK_NUMBER, /* lower case */
  TK_BLOB,   /* x'..', lower case */
  TK_VAR,    /* ?1 :a @a $a */
  TK_PUNCT   /* operators, ( ) , ; . */
};

typedef struct SchTok {
  int e;       /* TK_* */
  int bKw;     /* a word SQLite knows as a keyword (shown upper case) */
  int bQuoted; /* a word that was written quoted: never a keyword */
  char *z;     /* canonical text */
  char *zId;   /* words and identifiers: lower-case name, else NULL */
} SchTok;

typedef struct SchLex {
  MigArena *pArena; /* owns every z and zId */
  SchTok *a;        /* sqlite3_malloc'd */
  int n, nAlloc;
  int rc;
} SchLex;

static char schLowerC(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}
static char schUpperC(char c) {
  return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
}

/* Is z[0..n) a word that could be written without quotes (ASCII)? */
static int schIsPlainWord(const char *z, size_t n) {
  size_t i;
  if (n == 0) return 0;
  if (!((z[0] >= 'a' && z[0] <= 'z') || (z[0] >= 'A' && z[0] <= 'Z') ||
        z[0] == '_')) {
    return 0;
  }
  for (i = 1; i < n; i++) {
    char c = z[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '$')) {
      return 0;
    }
  }
  return 1;
}

/* Append one token; z[0..n) is copied (case-mapped by eCase: 0 as is,
** 1 lower, 2 upper). */
static SchTok *schPush(SchLex *p, int e, const char *z, size_t n, int eCase) {
  SchTok *t;
  char *zc;
  size_t i;
  if (p->rc) return 0;
  if (p->n >= p->nAlloc) {
    int nNew = p->nAlloc ? p->nAlloc * 2 : 64;
    SchTok *aNew = sqlite3_realloc64(p->a, sizeof(SchTok) * (size_t)nNew);
    if (aNew == 0) {
      p->rc = SQLITE_NOMEM;
      return 0;
    }
    p->a = aNew;
    p->nAlloc = nNew;
  }
  zc = migArenaStrndup(p->pArena, z, n);
  if (zc == 0) {
    p->rc = SQLITE_NOMEM;
    return 0;
  }
  for (i = 0; i < n; i++) {
    if (eCase == 1) zc[i] = schLowerC(zc[i]);
    if (eCase == 2) zc[i] = schUpperC(zc[i]);
  }
  t = &p->a[p->n++];
  memset(t, 0, sizeof(*t));
  t->e = e;
  t->z = zc;
  return t;
}

/* A word or an identifier whose unquoted name is z[0..n). */
static void schPushName(SchLex *p, const char *z, size_t n, int bQuoted) {
  SchTok *t;
  if (schIsPlainWord(z, n)) {
    char zUp[64];
    int bKw = 0;
    if (n < sizeof(zUp)) {
      size_t i;
      for (i = 0; i < n; i++) zUp[i] = schUpperC(z[i]);
      zUp[n] = 0;
      bKw = sqlite3_keyword_check(zUp, (int)n) != 0;
    }
    t = schPush(p, TK_WORD, z, n, bKw ? 2 : 1);
    if (t == 0) return;
    t->bKw = bKw;
    t->bQuoted = bQuoted;
  } else if (!bQuoted) {
    /* non-ASCII unquoted identifier */
    t = schPush(p, TK_WORD, z, n, 1);
    if (t == 0) return;
  } else {
    MigStr s = {0};
    size_t i;
    migStrAppend(&s, "\"", 1);
    for (i = 0; i < n; i++) {
      char c = schLowerC(z[i]);
      migStrAppend(&s, &c, 1);
      if (c == '"') migStrAppend(&s, "\"", 1);
    }
    migStrAppend(&s, "\"", 1);
    if (s.rc) {
      p->rc = SQLITE_NOMEM;
      migStrReset(&s);
      return;
    }
    t = schPush(p, TK_QIDENT, s.z, s.n, 0);
    migStrReset(&s);
    if (t == 0) return;
    t->bQuoted = 1;
  }
  t->zId = migArenaStrndup(p->pArena, z, n);
  if (t->zId == 0) {
    p->rc = SQLITE_NOMEM;
    return;
  }
  {
    char *q;
    for (q = t->zId; *q; q++) *q = schLowerC(*q);
  }
}

/* Push the quoted identifier z[0..n) as the name it spells. */
static void schPushQuoted(SchLex *p, const char *z, size_t n) {
  char *zName = migSqlUnquote(z, n);
  if (zName == 0) {
    p->rc = SQLITE_NOMEM;
    return;
  }
  schPushName(p, zName, strlen(zName), 1);
  sqlite3_free(zName);
}

/* Push the punctuation z[0..n), one spelling per operator. */
static void schPushPunct(SchLex *p, const char *z, size_t n) {
  if (n == 2 && strncmp(z, "==", 2) == 0) {
    schPush(p, TK_PUNCT, "=", 1, 0);
  } else if (n == 2 && strncmp(z, "<>", 2) == 0) {
    schPush(p, TK_PUNCT, "!=", 2, 0);
  } else {
    schPush(p, TK_PUNCT, z, n, 0);
  }
}

/* Tokenize zSql (sqltok.c) into p (appending).  Never fails on odd input:
** an unterminated quote runs to the end. */
static int schLex(SchLex *p, const char *zSql) {
  size_t i = 0;
  while (zSql[i] && p->rc == SQLITE_OK) {
    int e;
    const char *z = zSql + i;
    size_t n = migSqlToken(z, &e);
    switch (e) {
      case MIG_TK_SPACE:
      case MIG_TK_COMMENT:
        break;
      case MIG_TK_STRING:
        schPush(p, TK_STRING, z, n, 0);
        break;
      case MIG_TK_QUOTED:
        schPushQuoted(p, z, n);
        break;
      case MIG_TK_BLOB:
        schPush(p, TK_BLOB, z, n, 1);
        break;
      case MIG_TK_NUMBER:
        schPush(p, TK_NUMBER, z, n, 1);
        break;
      case MIG_TK_VAR:
        schPush(p, TK_VAR, z, n, 0);
        break;
      case MIG_TK_WORD:
        schPushName(p, z, n, 0);
        break;
      default:
        schPushPunct(p, z, n);
        break;
    }
    i += n;
  }
  return p->rc;
}

static void schLexReset(SchLex *p) {
  sqlite3_free(p->a);
  p->a = 0;
  p->n = p->nAlloc = 0;
  p->rc = SQLITE_OK;
}

/* Is t the (unquoted) word zWord, any case? */
static int schIsKw(const SchTok *t, const char *zWord) {
  return t->e == TK_WORD && !t->bQuoted && sqlite3_stricmp(t->z, zWord) == 0;
}

/* Is t the punctuation z? */
static int schIsP(const SchTok *t, const char *z) {
  return t->e == TK_PUNCT && strcmp(t->z, z) == 0;
}

/* Index of the ")" matching the "(" at a[i], or n when unbalanced. */
static int schMatch(const SchTok *a, int n, int i) {
  int nDepth = 0;
  for (; i < n; i++) {
    if (schIsP(&a[i], "(")) nDepth++;
    if (schIsP(&a[i], ")") && --nDepth == 0) return i;
  }
  return n;
}

/* Append a[i0..i1) in canonical spacing.  bUpper: every word in upper
** case (declared types). */
static void schRender(MigStr *s, const SchTok *a, int i0, int i1, int bUpper) {
  int i;
  for (i = i0; i < i1; i++) {
    const SchTok *t = &a[i];
    if (i > i0) {
      const SchTok *p = &a[i - 1];
      int bSpace = 1;
      if (t->e == TK_PUNCT && (schIsP(t, ",") || schIsP(t, ")") ||
                               schIsP(t, ".") || schIsP(t, ";"))) {
        bSpace = 0;
      } else if (schIsP(p, "(") || schIsP(p, ".")) {
        bSpace = 0;
      } else if (schIsP(t, "(") &&
                 (p->e == TK_QIDENT || (p->e == TK_WORD && !p->bKw))) {
        bSpace = 0; /* f(x), t(a, b), VARCHAR(10) */
      } else if ((schIsP(p, "-") || schIsP(p, "+") || schIsP(p, "~")) &&
                 (i - 1 == i0 ||
                  (a[i - 2].e == TK_PUNCT && !schIsP(&a[i - 2], ")")) ||
                  (a[i - 2].e == TK_WORD && a[i - 2].bKw))) {
        bSpace = 0; /* unary */
      }
      if (bSpace) migStrAppend(s, " ", 1);
    }
    if (bUpper && t->e == TK_WORD) {
      const char *q;
      for (q = t->z; *q; q++) {
        char c = schUpperC(*q);
        migStrAppend(s, &c, 1);
      }
    } else {
      migStrAppendZ(s, t->z);
    }
  }
}

/* Index of the first token after the object name of a CREATE statement. */
static int schAfterName(const SchTok *a, int n) {
  int i = 0;
  if (i < n && schIsKw(&a[i], "CREATE")) i++;
  while (i < n && (schIsKw(&a[i], "TEMP") || schIsKw(&a[i], "TEMPORARY") ||
                   schIsKw(&a[i], "UNIQUE") || schIsKw(&a[i], "VIRTUAL"))) {
    i++;
  }
  if (i < n && (schIsKw(&a[i], "TABLE") || schIsKw(&a[i], "INDEX") ||
                schIsKw(&a[i], "VIEW") || schIsKw(&a[i], "TRIGGER"))) {
    i++;
  }
  if (i + 2 < n && schIsKw(&a[i], "IF") && schIsKw(&a[i + 1], "NOT") &&
      schIsKw(&a[i + 2], "EXISTS")) {
    i += 3;
  }
  if (i < n) i++;                              /* name */
  if (i + 1 < n && schIsP(&a[i], ".")) i += 2; /* schema.name */
  return i;
}

/* ======================================================================
** Snapshots
*/

#define SCH_MAX_ATTR 6

/* One comparable property.  Objects of one kind (and items of one kind)
** have the same attributes in the same slots. */
typedef struct SchAttr {
  const char *zName;   /* "type", "default", ...; NULL: the value says it */
  const char *zValue;  /* NULL when absent */
  const char *zAbsent; /* how an absent value reads: "no default" */
  int bText;           /* normalized SQL: report a window around the change */
} SchAttr;

enum { SI_COLUMN, SI_CHECK, SI_UNIQUE, SI_FKEY };
typedef struct SchItem {
  int eKind;          /* SI_* */
  const char *zKey;   /* compared (lower case) */
  const char *zLabel; /* shown: "column body", "CHECK (x > 0)" */
  int iPk;            /* columns: position in the primary key, 0 if none */
  int nAttr;
  SchAttr aAttr[SCH_MAX_ATTR];
} SchItem;

enum { SO_TABLE, SO_VTABLE, SO_INDEX, SO_VIEW, SO_TRIGGER };
static const char *const azSchType[] = {"table", "virtual table", "index",
                                        "view", "trigger"};

typedef struct SchObj {
  int eType;         /* SO_* */
  const char *zName; /* as stored */
  const char *zKey;  /* lower case */
  int nAttr;
  SchAttr aAttr[SCH_MAX_ATTR];
  int nItem, nItemAlloc;
  SchItem *aItem; /* sqlite3_malloc'd */
} SchObj;

struct MigSchema {
  MigArena arena; /* every string */
  int nObj, nObjAlloc;
  SchObj *aObj; /* sqlite3_malloc'd, sorted by (eType, zKey) */
};

void migSchemaFree(MigSchema *p) {
  int i;
  if (p == 0) return;
  for (i = 0; i < p->nObj; i++) sqlite3_free(p->aObj[i].aItem);
  sqlite3_free(p->aObj);
  migArenaFree(&p->arena);
  sqlite3_free(p);
}

/* What a snapshot is being built with. */
#define SCH_NCACHE 8 /* statements kept prepared, more than schPrepare's */

typedef struct SchBuild {
  MigSchema *p;
  sqlite3 *db;
  const char *zDb;
  char **pzErr;
  int rc;
  /* schPrepare()'s statements, by the address of their SQL text: each is
  ** prepared once per snapshot, not once per table */
  const char *azCacheSql[SCH_NCACHE];
  sqlite3_stmt *aCache[SCH_NCACHE];
} SchBuild;

/* Copy of z in the snapshot's arena (lower case if bLower); NULL on OOM
** (sets rc). */
static const char *schDup(SchBuild *b, const char *z, int bLower) {
  size_t n = strlen(z);
  char *zOut = migArenaStrndup(&b->p->arena, z, n);
  if (zOut == 0) {
    if (b->rc == SQLITE_OK) b->rc = SQLITE_NOMEM;
    return 0;
  }
  if (bLower) {
    char *q;
    for (q = zOut; *q; q++) *q = schLowerC(*q);
  }
  return zOut;
}

/* Hand a MigStr's text to the arena (and reset it). */
static const char *schKeep(SchBuild *b, MigStr *s) {
  const char *z = 0;
  if (s->rc) {
    if (b->rc == SQLITE_OK) b->rc = SQLITE_NOMEM;
  } else {
    z = schDup(b, s->z ? s->z : "", 0);
  }
  migStrReset(s);
  return z;
}

/* A name as it appears in canonical SQL: lower case, quoted if needed. */
static void schAppendName(MigStr *s, const char *z) {
  size_t n = strlen(z), i;
  int bPlain = schIsPlainWord(z, n);
  if (!bPlain) migStrAppend(s, "\"", 1);
  for (i = 0; i < n; i++) {
    char c = schLowerC(z[i]);
    migStrAppend(s, &c, 1);
    if (c == '"' && !bPlain) migStrAppend(s, "\"", 1);
  }
  if (!bPlain) migStrAppend(s, "\"", 1);
}

/* Canonical form of a SQL fragment (a declared type when bUpper, a
** default value otherwise; outer parentheses dropped).  NULL for NULL. */
static const char *schCanon(SchBuild *b, const char *zSql, int bUpper) {
  MigArena tmp = {0};
  SchLex lx = {0};
  MigStr s = {0};
  int i0 = 0, i1;
  const char *zOut = 0;
  if (zSql == 0 || b->rc) return 0;
  lx.pArena = &tmp;
  if (schLex(&lx, zSql) != SQLITE_OK) {
    b->rc = lx.rc;
    goto done;
  }
  i1 = lx.n;
  while (i1 - i0 >= 2 && schIsP(&lx.a[i0], "(") &&
         schMatch(lx.a, i1, i0) == i1 - 1) {
    i0++;
    i1--;
  }
  schRender(&s, lx.a, i0, i1, bUpper);
  zOut = schKeep(b, &s);
done:
  migStrReset(&s);
  schLexReset(&lx);
  migArenaFree(&tmp);
  return zOut;
}

static void schSetAttr(SchAttr *a, const char *zName, const char *zValue,
                       const char *zAbsent, int bText) {
  a->zName = zName;
  a->zValue = zValue;
  a->zAbsent = zAbsent;
  a->bText = bText;
}

/* Append an item to o; NULL on OOM. */
static SchItem *schAddItem(SchBuild *b, SchObj *o, int eKind, const char *zKey,
                           const char *zLabel) {
  SchItem *it;
  if (b->rc || zKey == 0 || zLabel == 0) return 0;
  if (o->nItem >= o->nItemAlloc) {
    int nNew = o->nItemAlloc ? o->nItemAlloc * 2 : 8;
    SchItem *aNew = sqlite3_realloc64(o->aItem, sizeof(SchItem) * (size_t)nNew);
    if (aNew == 0) {
      b->rc = SQLITE_NOMEM;
      return 0;
    }
    o->aItem = aNew;
    o->nItemAlloc = nNew;
  }
  it = &o->aItem[o->nItem++];
  memset(it, 0, sizeof(*it));
  it->eKind = eKind;
  it->zKey = zKey;
  it->zLabel = zLabel;
  return it;
}

/* Index of the column item whose key is zId, or -1.  (An index, not a
** pointer: adding items moves them.) */
static int schFindColumn(const SchObj *o, const char *zId) {
  int i;
  for (i = 0; i < o->nItem; i++) {
    if (o->aItem[i].eKind == SI_COLUMN && strcmp(o->aItem[i].zKey, zId) == 0) {
      return i;
    }
  }
  return -1;
}

/* Record a SQLite error while reading zWhat. */
static int schErr(SchBuild *b, int rc, const char *zWhat, const char *zName) {
  b->rc = migSetError(b->pzErr, rc, "cannot read the schema of %s (%s %s): %s",
                      b->zDb, zWhat, zName, sqlite3_errmsg(b->db));
  return b->rc;
}

/* Prepare zSql (a string constant: the cache knows it by its address) with
** ?1 = zArg, ?2 = the schema name.  Not nested with the same zSql. */
static sqlite3_stmt *schPrepare(SchBuild *b, const char *zSql, const char *zArg,
                                const char *zWhat) {
  sqlite3_stmt *st = 0;
  int rc = SQLITE_OK, k;
  if (b->rc) return 0;
  for (k = 0; k < SCH_NCACHE && b->azCacheSql[k]; k++) {
    if (b->azCacheSql[k] == zSql) break;
  }
  if (k < SCH_NCACHE && b->azCacheSql[k]) {
    st = b->aCache[k];
  } else {
    rc = sqlite3_prepare_v2(b->db, zSql, -1, &st, 0);
    if (rc == SQLITE_OK && k < SCH_NCACHE) {
      b->azCacheSql[k] = zSql;
      b->aCache[k] = st;
    }
  }
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, zArg, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    rc = sqlite3_bind_text(st, 2, b->zDb, -1, SQLITE_STATIC);
  }
  if (rc) {
    schErr(b, rc, zWhat, zArg);
    if (k >= SCH_NCACHE) sqlite3_finalize(st);
    return 0;
  }
  return st;
}

/* Finish a statement stepped to its end (rc is the last step's result):
** reset when cached, else finalized. */
static void schDone(SchBuild *b, sqlite3_stmt *st, int rc, const char *zWhat,
                    const char *zArg) {
  int k;
  if (rc != SQLITE_DONE && b->rc == SQLITE_OK) schErr(b, rc, zWhat, zArg);
  for (k = 0; k < SCH_NCACHE; k++) {
    if (b->aCache[k] == st) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return;
    }
  }
  sqlite3_finalize(st);
}

/* Finalize the cached statements. */
static void schCacheFree(SchBuild *b) {
  int k;
  for (k = 0; k < SCH_NCACHE; k++) sqlite3_finalize(b->aCache[k]);
  memset(b->aCache, 0, sizeof(b->aCache));
  memset(b->azCacheSql, 0, sizeof(b->azCacheSql));
}

/* Columns from PRAGMA table_xinfo. */
static void schColumns(SchBuild *b, SchObj *o) {
  sqlite3_stmt *st =
      schPrepare(b,
                 "SELECT name, type, \"notnull\", dflt_value, pk, hidden "
                 "FROM pragma_table_xinfo(?1, ?2) ORDER BY cid",
                 o->zName, "table");
  int rc, nPk = 0, i;
  if (st == 0) return;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && b->rc == SQLITE_OK) {
    const char *zName = (const char *)sqlite3_column_text(st, 0);
    const char *zType = (const char *)sqlite3_column_text(st, 1);
    const char *zDflt = (const char *)sqlite3_column_text(st, 3);
    int bNotNull = sqlite3_column_int(st, 2);
    int iPk = sqlite3_column_int(st, 4);
    int eHidden = sqlite3_column_int(st, 5);
    MigStr s = {0};
    const char *zKey, *zLabel;
    SchItem *it;
    if (zName == 0) zName = "";
    zKey = schDup(b, zName, 1);
    migStrAppendf(&s, "column %s", zName);
    zLabel = schKeep(b, &s);
    it = schAddItem(b, o, SI_COLUMN, zKey, zLabel);
    if (it == 0) break;
    it->iPk = iPk;
    if (iPk > 0) nPk++;
    it->nAttr = 6;
    schSetAttr(&it->aAttr[0], "type",
               zType && zType[0] ? schCanon(b, zType, 1) : 0, "no type", 0);
    schSetAttr(&it->aAttr[1], 0, bNotNull ? "NOT NULL" : 0, "nullable", 0);
    schSetAttr(&it->aAttr[2], "default", schCanon(b, zDflt, 0), "no default",
               0);
    schSetAttr(&it->aAttr[3], 0, 0, "not in the PRIMARY KEY", 0);
    schSetAttr(&it->aAttr[4], "COLLATE", 0, "no COLLATE", 0);
    /* filled in from the CREATE text; the pragma only says which kind */
    schSetAttr(&it->aAttr[5], "generated as",
               eHidden == 2   ? "VIRTUAL"
               : eHidden == 3 ? "STORED"
                              : 0,
               "not generated", 0);
  }
  schDone(b, st, rc, "table", o->zName);
  for (i = 0; i < o->nItem && b->rc == SQLITE_OK; i++) {
    SchItem *it = &o->aItem[i];
    if (it->iPk <= 0) continue;
    if (nPk == 1) {
      it->aAttr[3].zValue = "PRIMARY KEY";
    } else {
      MigStr s = {0};
      migStrAppendf(&s, "PRIMARY KEY column %d of %d", it->iPk, nPk);
      it->aAttr[3].zValue = schKeep(b, &s);
    }
  }
}

/* A CHECK constraint: a[i] is "(" of its expression. */
static void schAddCheck(SchBuild *b, SchObj *o, const SchTok *a, int n, int i) {
  int j = schMatch(a, n, i);
  MigStr s = {0};
  const char *zLabel;
  migStrAppendZ(&s, "CHECK (");
  schRender(&s, a, i + 1, j, 0);
  migStrAppendZ(&s, ")");
  zLabel = schKeep(b, &s);
  schAddItem(b, o, SI_CHECK, zLabel, zLabel);
}

/* What PRAGMAs do not say, from the CREATE TABLE text: CHECK constraints,
** COLLATE, GENERATED expressions, AUTOINCREMENT, WITHOUT ROWID, STRICT.
** Sets table attributes 0..2. */
static void schTableText(SchBuild *b, SchObj *o, const SchTok *a, int n) {
  int i = schAfterName(a, n), j, k;
  int bAutoinc = 0, bNoRowid = 0, bStrict = 0;
  if (i < n && schIsP(&a[i], "(")) {
    j = schMatch(a, n, i);
    /* items between i and j, split at depth-0 commas */
    k = i + 1;
    while (k < j && b->rc == SQLITE_OK) {
      int e = k, nDepth = 0;
      while (e < j && !(nDepth == 0 && schIsP(&a[e], ","))) {
        if (schIsP(&a[e], "(")) nDepth++;
        if (schIsP(&a[e], ")")) nDepth--;
        e++;
      }
      /* item a[k..e) */
      {
        int s = k;
        if (s < e && schIsKw(&a[s], "CONSTRAINT")) s += 2;
        if (s + 1 < e && schIsKw(&a[s], "CHECK") && schIsP(&a[s + 1], "(")) {
          schAddCheck(b, o, a, e, s + 1);
        } else if (s < e && !schIsKw(&a[s], "PRIMARY") &&
                   !schIsKw(&a[s], "UNIQUE") && !schIsKw(&a[s], "FOREIGN") &&
                   !schIsKw(&a[s], "CHECK") && a[s].zId) {
          /* a column definition */
          int iCol = schFindColumn(o, a[s].zId);
          int q;
          for (q = s + 1; q < e && b->rc == SQLITE_OK; q++) {
            if (schIsKw(&a[q], "CHECK") && q + 1 < e &&
                schIsP(&a[q + 1], "(")) {
              schAddCheck(b, o, a, e, q + 1);
              q = schMatch(a, e, q + 1);
            } else if (schIsKw(&a[q], "COLLATE") && q + 1 < e && a[q + 1].zId) {
              MigStr c = {0};
              const char *zc;
              for (zc = a[q + 1].zId; *zc; zc++) {
                char ch = schUpperC(*zc);
                migStrAppend(&c, &ch, 1);
              }
              if (iCol >= 0) {
                o->aItem[iCol].aAttr[4].zValue = schKeep(b, &c);
              } else {
                migStrReset(&c);
              }
              q++;
            } else if (schIsKw(&a[q], "AS") && q + 1 < e &&
                       schIsP(&a[q + 1], "(")) {
              int r = schMatch(a, e, q + 1);
              MigStr g = {0};
              int bStored = r + 1 < e && schIsKw(&a[r + 1], "STORED");
              migStrAppendZ(&g, "(");
              schRender(&g, a, q + 2, r, 0);
              migStrAppendZ(&g, bStored ? ") STORED" : ") VIRTUAL");
              if (iCol >= 0) {
                o->aItem[iCol].aAttr[5].zValue = schKeep(b, &g);
              } else {
                migStrReset(&g);
              }
              q = r;
            } else if (schIsKw(&a[q], "AUTOINCREMENT")) {
              bAutoinc = 1;
            } else if (schIsP(&a[q], "(")) {
              q = schMatch(a, e, q);
            }
          }
        }
      }
      k = e + 1;
    }
    for (k = j + 1; k < n; k++) {
      if (schIsKw(&a[k], "WITHOUT") && k + 1 < n &&
          schIsKw(&a[k + 1], "ROWID")) {
        bNoRowid = 1;
      }
      if (schIsKw(&a[k], "STRICT")) bStrict = 1;
    }
  }
  o->nAttr = 3;
  schSetAttr(&o->aAttr[0], 0, bNoRowid ? "WITHOUT ROWID" : 0, "a rowid table",
             0);
  schSetAttr(&o->aAttr[1], 0, bStrict ? "STRICT" : 0, "not STRICT", 0);
  schSetAttr(&o->aAttr[2], 0, bAutoinc ? "AUTOINCREMENT" : 0,
             "no AUTOINCREMENT", 0);
}

static const char zSchPkIndexSql[] =
    "SELECT 1 FROM pragma_index_list(?1, ?2) WHERE origin = 'pk'";

/* Which column is the rowid's alias (table attribute 3, by name; none in
** a WITHOUT ROWID table): SQLite's own rule, read from SQLite itself -- the
** only PRIMARY KEY column of a rowid table is the alias exactly when SQLite
** made no index for the key (declared INTEGER, not "PRIMARY KEY DESC").
** Then INT and INTEGER are one declared type to the comparison (read as
** INTEGER): both have INTEGER affinity and are one STRICT type, and what
** INTEGER alone gives a key is kept in attribute 3.  Columns are o's first
** nCol items; table attribute 0 is read. */
static void schFoldIntTypes(SchBuild *b, SchObj *o, int nCol) {
  int i, nPk = 0, iPk = -1, bRowid = o->aAttr[0].zValue == 0;
  const char *zAlias = 0;
  for (i = 0; i < nCol; i++) {
    if (o->aItem[i].iPk > 0) {
      nPk++;
      iPk = i;
    }
  }
  if (bRowid && nPk == 1) {
    sqlite3_stmt *st =
        schPrepare(b, zSchPkIndexSql, o->zName, "the key index of table");
    int rc;
    if (st == 0) return;
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) zAlias = o->aItem[iPk].zLabel;
    if (rc == SQLITE_ROW) rc = SQLITE_DONE;
    schDone(b, st, rc, "the key index of table", o->zName);
  }
  o->nAttr = 4;
  schSetAttr(&o->aAttr[3], "the rowid alias", zAlias, "no rowid alias", 0);
  for (i = 0; i < nCol; i++) {
    SchItem *it = &o->aItem[i];
    const char *zType = it->aAttr[0].zValue;
    if (it->eKind != SI_COLUMN || zType == 0) continue;
    if (strcmp(zType, "INT") == 0) {
      it->aAttr[0].zValue = "INTEGER";
    } else if (strncmp(zType, "INT(", 4) == 0) { /* INT(11): INTEGER(11) */
      MigStr t = {0};
      migStrAppendf(&t, "INTEGER%s", zType + 3);
      it->aAttr[0].zValue = schKeep(b, &t);
    }
  }
}

/* UNIQUE constraints (automatic indexes of origin 'u'). */
static void schUniques(SchBuild *b, SchObj *o) {
  sqlite3_stmt *st = schPrepare(
      b,
      "SELECT il.name, ii.name FROM pragma_index_list(?1, ?2) AS il, "
      "pragma_index_info(il.name, ?2) AS ii WHERE il.origin = 'u' "
      "ORDER BY il.name, ii.seqno",
      o->zName, "UNIQUE constraints of table");
  MigStr s = {0};
  char *zCur = 0;
  int rc;
  if (st == 0) return;
  for (;;) {
    const char *zIdx = 0, *zCol;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      zIdx = (const char *)sqlite3_column_text(st, 0);
      if (zIdx == 0) zIdx = "";
    }
    if (zCur && (zIdx == 0 || strcmp(zIdx, zCur) != 0)) {
      const char *zLabel;
      migStrAppendZ(&s, ")");
      zLabel = schKeep(b, &s);
      schAddItem(b, o, SI_UNIQUE, zLabel, zLabel);
      sqlite3_free(zCur);
      zCur = 0;
    }
    if (rc != SQLITE_ROW || b->rc) break;
    if (zCur == 0) {
      zCur = sqlite3_mprintf("%s", zIdx);
      if (zCur == 0) {
        b->rc = SQLITE_NOMEM;
        break;
      }
      migStrAppendZ(&s, "UNIQUE (");
    } else {
      migStrAppendZ(&s, ", ");
    }
    zCol = (const char *)sqlite3_column_text(st, 1);
    schAppendName(&s, zCol ? zCol : "");
  }
  sqlite3_free(zCur);
  migStrReset(&s);
  schDone(b, st, rc == SQLITE_ROW ? SQLITE_DONE : rc,
          "UNIQUE constraints of table", o->zName);
}

/* The primary-key columns of table zParent, ", "-separated, appended to s
** (nothing when the table does not exist or has no declared key). */
static void schParentKey(SchBuild *b, MigStr *s, const char *zParent) {
  sqlite3_stmt *st = schPrepare(
      b, "SELECT name FROM pragma_table_info(?1, ?2) WHERE pk > 0 ORDER BY pk",
      zParent, "table");
  int rc, n = 0;
  if (st == 0) return;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(st, 0);
    migStrAppendZ(s, n++ ? ", " : "(");
    schAppendName(s, z ? z : "");
  }
  if (n) migStrAppendZ(s, ")");
  schDone(b, st, rc, "table", zParent);
}

/* Foreign keys: "foreign key (a)" -> "REFERENCES p(id) ON DELETE CASCADE". */
static void schForeignKeys(SchBuild *b, SchObj *o) {
  sqlite3_stmt *st = schPrepare(
      b,
      "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete, match "
      "FROM pragma_foreign_key_list(?1, ?2) ORDER BY id, seq",
      o->zName, "foreign keys of table");
  MigStr from = {0}, to = {0};
  char *zParent = 0, *zTail = 0;
  int rc, iCur = -1, bToNull = 0;
  if (st == 0) return;
  for (;;) {
    int id = -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) id = sqlite3_column_int(st, 0);
    if (iCur >= 0 && id != iCur && b->rc == SQLITE_OK) {
      /* finish foreign key iCur */
      MigStr v = {0};
      const char *zLabel, *zValue, *zKey;
      SchItem *it;
      migStrAppendZ(&from, ")");
      zLabel = schKeep(b, &from);
      migStrAppendZ(&v, "REFERENCES ");
      schAppendName(&v, zParent ? zParent : "");
      if (bToNull) {
        schParentKey(b, &v, zParent ? zParent : "");
      } else {
        migStrAppendZ(&to, ")");
        migStrAppend(&v, to.z ? to.z : "", to.n);
      }
      migStrAppendZ(&v, zTail ? zTail : "");
      zValue = schKeep(b, &v);
      zKey = zLabel;
      /* a second key on the same columns */
      if (zLabel) {
        int k, nSame = 0;
        for (k = 0; k < o->nItem; k++) {
          if (o->aItem[k].eKind == SI_FKEY &&
              strncmp(o->aItem[k].zLabel, zLabel, strlen(zLabel)) == 0) {
            nSame++;
          }
        }
        if (nSame) {
          MigStr l = {0};
          migStrAppendf(&l, "%s #%d", zLabel, nSame + 1);
          zLabel = zKey = schKeep(b, &l);
        }
      }
      it = schAddItem(b, o, SI_FKEY, zKey, zLabel);
      if (it) {
        it->nAttr = 1;
        schSetAttr(&it->aAttr[0], 0, zValue, "no foreign key", 0);
      }
      migStrReset(&to);
      sqlite3_free(zParent);
      sqlite3_free(zTail);
      zParent = zTail = 0;
      iCur = -1;
    }
    if (rc != SQLITE_ROW || b->rc) break;
    {
      const char *zFrom = (const char *)sqlite3_column_text(st, 2);
      const char *zTo = (const char *)sqlite3_column_text(st, 3);
      if (iCur < 0) {
        const char *zUpd = (const char *)sqlite3_column_text(st, 4);
        const char *zDel = (const char *)sqlite3_column_text(st, 5);
        const char *zMatch = (const char *)sqlite3_column_text(st, 6);
        const char *zPar = (const char *)sqlite3_column_text(st, 1);
        iCur = id;
        bToNull = zTo == 0;
        zParent = sqlite3_mprintf("%s", zPar ? zPar : "");
        zTail = sqlite3_mprintf(
            "%s%s%s%s%s%s",
            zUpd && sqlite3_stricmp(zUpd, "NO ACTION") ? " ON UPDATE " : "",
            zUpd && sqlite3_stricmp(zUpd, "NO ACTION") ? zUpd : "",
            zDel && sqlite3_stricmp(zDel, "NO ACTION") ? " ON DELETE " : "",
            zDel && sqlite3_stricmp(zDel, "NO ACTION") ? zDel : "",
            zMatch && sqlite3_stricmp(zMatch, "NONE") ? " MATCH " : "",
            zMatch && sqlite3_stricmp(zMatch, "NONE") ? zMatch : "");
        if (zParent == 0 || zTail == 0) {
          b->rc = SQLITE_NOMEM;
          break;
        }
        migStrAppendZ(&from, "foreign key (");
        migStrAppendZ(&to, "(");
      } else {
        migStrAppendZ(&from, ", ");
        migStrAppendZ(&to, ", ");
      }
      schAppendName(&from, zFrom ? zFrom : "");
      schAppendName(&to, zTo ? zTo : "");
    }
  }
  migStrReset(&from);
  migStrReset(&to);
  sqlite3_free(zParent);
  sqlite3_free(zTail);
  schDone(b, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, "foreign keys of table",
          o->zName);
}

/* Order of a table's non-column items: kind, then label. */
static int schCmpItem(const void *pA, const void *pB) {
  const SchItem *a = pA, *b = pB;
  if (a->eKind != b->eKind) return a->eKind - b->eKind;
  return strcmp(a->zLabel, b->zLabel);
}

/* An index: table, UNIQUE, key columns (expressions from the text), WHERE. */
static void schIndex(SchBuild *b, SchObj *o, const char *zTbl, const SchTok *a,
                     int n) {
  int i = schAfterName(a, n), j = n, rc, k = 0;
  int bUnique = n > 1 && schIsKw(&a[1], "UNIQUE");
  MigStr cols = {0}, w = {0};
  sqlite3_stmt *st;
  /* ON tbl ( ... ) [WHERE ...] */
  if (i < n && schIsKw(&a[i], "ON")) i += 2;
  if (i + 1 < n && schIsP(&a[i], ".")) i += 2;
  if (i < n && schIsP(&a[i], "(")) j = schMatch(a, n, i);
  st = schPrepare(b,
                  "SELECT cid, name, \"desc\", coll FROM "
                  "pragma_index_xinfo(?1, ?2) WHERE key ORDER BY seqno",
                  o->zName, "index");
  if (st == 0) return;
  migStrAppendZ(&cols, "(");
  /* walk the text's items alongside the pragma's rows */
  k = i + 1;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int cid = sqlite3_column_int(st, 0);
    const char *zName = (const char *)sqlite3_column_text(st, 1);
    int bDesc = sqlite3_column_int(st, 2);
    const char *zColl = (const char *)sqlite3_column_text(st, 3);
    int e = k, nDepth = 0;
    while (e < j && !(nDepth == 0 && schIsP(&a[e], ","))) {
      if (schIsP(&a[e], "(")) nDepth++;
      if (schIsP(&a[e], ")")) nDepth--;
      e++;
    }
    if (cols.n > 1) migStrAppendZ(&cols, ", ");
    if (cid == -2) {
      /* an expression: its text without ASC/DESC and COLLATE */
      int t = e;
      for (;;) {
        if (t > k &&
            (schIsKw(&a[t - 1], "ASC") || schIsKw(&a[t - 1], "DESC"))) {
          t--;
        } else if (t - 1 > k && schIsKw(&a[t - 2], "COLLATE")) {
          t -= 2;
        } else {
          break;
        }
      }
      schRender(&cols, a, k, t, 0);
    } else if (cid == -1) {
      migStrAppendZ(&cols, "rowid");
    } else {
      schAppendName(&cols, zName ? zName : "");
    }
    if (zColl && sqlite3_stricmp(zColl, "BINARY") != 0) {
      const char *q;
      migStrAppendZ(&cols, " COLLATE ");
      for (q = zColl; *q; q++) {
        char c = schUpperC(*q);
        migStrAppend(&cols, &c, 1);
      }
    }
    if (bDesc) migStrAppendZ(&cols, " DESC");
    k = e < j ? e + 1 : j;
  }
  schDone(b, st, rc, "index", o->zName);
  migStrAppendZ(&cols, ")");
  o->nAttr = 4;
  {
    MigStr t = {0};
    schAppendName(&t, zTbl);
    schSetAttr(&o->aAttr[0], "on table", schKeep(b, &t), "no table", 0);
  }
  schSetAttr(&o->aAttr[1], 0, bUnique ? "UNIQUE" : 0, "not UNIQUE", 0);
  schSetAttr(&o->aAttr[2], "columns", schKeep(b, &cols), "no columns", 0);
  if (j + 1 < n && schIsKw(&a[j + 1], "WHERE")) {
    schRender(&w, a, j + 2, n, 0);
    schSetAttr(&o->aAttr[3], "WHERE", schKeep(b, &w), "no WHERE", 0);
  } else {
    schSetAttr(&o->aAttr[3], "WHERE", 0, "no WHERE", 0);
  }
  migStrReset(&cols);
  migStrReset(&w);
}

/* One sqlite_master row. */
static void schObject(SchBuild *b, const char *zType, const char *zName,
                      const char *zTbl, const char *zSql) {
  MigSchema *p = b->p;
  MigArena tmp = {0};
  SchLex lx = {0};
  SchObj *o;
  lx.pArena = &tmp;
  if (p->nObj >= p->nObjAlloc) {
    int nNew = p->nObjAlloc ? p->nObjAlloc * 2 : 16;
    SchObj *aNew = sqlite3_realloc64(p->aObj, sizeof(SchObj) * (size_t)nNew);
    if (aNew == 0) {
      b->rc = SQLITE_NOMEM;
      return;
    }
    p->aObj = aNew;
    p->nObjAlloc = nNew;
  }
  if (schLex(&lx, zSql) != SQLITE_OK) {
    b->rc = lx.rc;
    goto done;
  }
  o = &p->aObj[p->nObj++];
  memset(o, 0, sizeof(*o));
  o->zName = schDup(b, zName, 0);
  o->zKey = schDup(b, zName, 1);
  if (strcmp(zType, "table") == 0) {
    o->eType = lx.n > 1 && schIsKw(&lx.a[1], "VIRTUAL") ? SO_VTABLE : SO_TABLE;
  } else if (strcmp(zType, "index") == 0) {
    o->eType = SO_INDEX;
  } else if (strcmp(zType, "view") == 0) {
    o->eType = SO_VIEW;
  } else {
    o->eType = SO_TRIGGER;
  }
  if (b->rc) goto done;
  if (o->eType == SO_TABLE) {
    int nCol;
    schColumns(b, o);
    nCol = o->nItem;
    schTableText(b, o, lx.a, lx.n);
    if (b->rc == SQLITE_OK) schFoldIntTypes(b, o, nCol);
    schUniques(b, o);
    schForeignKeys(b, o);
    if (b->rc == SQLITE_OK && o->nItem > nCol) {
      qsort(o->aItem + nCol, (size_t)(o->nItem - nCol), sizeof(SchItem),
            schCmpItem);
    }
  } else if (o->eType == SO_INDEX) {
    schIndex(b, o, zTbl, lx.a, lx.n);
  } else {
    /* view, trigger, virtual table: the definition after the name */
    MigStr s = {0};
    schRender(&s, lx.a, schAfterName(lx.a, lx.n), lx.n, 0);
    o->nAttr = 1;
    schSetAttr(&o->aAttr[0], 0, schKeep(b, &s), "", 1);
  }
done:
  schLexReset(&lx);
  migArenaFree(&tmp);
}

/* Shadow tables of virtual tables (PRAGMA table_list, SQLite 3.37+): their
** virtual table's definition stands for them.  Best effort: on an older
** SQLite, or when the pragma fails (a view it cannot resolve), none are
** known and they are compared as tables.  Returns a NULL-terminated array
** of arena strings (caller frees the array), or NULL. */
static const char **schShadowTables(SchBuild *b) {
  sqlite3_stmt *st = 0;
  const char **az = 0;
  int n = 0, nAlloc = 0;
  if (sqlite3_libversion_number() < 3037000) return 0;
  if (sqlite3_prepare_v2(b->db,
                         "SELECT name FROM pragma_table_list "
                         "WHERE schema = ?1 AND type = 'shadow'",
                         -1, &st, 0) != SQLITE_OK ||
      sqlite3_bind_text(st, 1, b->zDb, -1, SQLITE_STATIC) != SQLITE_OK) {
    sqlite3_finalize(st);
    return 0;
  }
  while (sqlite3_step(st) == SQLITE_ROW && b->rc == SQLITE_OK) {
    const char *z = (const char *)sqlite3_column_text(st, 0);
    if (z == 0) continue;
    if (n + 1 >= nAlloc) {
      int nNew = nAlloc ? nAlloc * 2 : 8;
      const char **azNew = sqlite3_realloc64(az, sizeof(char *) * (size_t)nNew);
      if (azNew == 0) {
        b->rc = SQLITE_NOMEM;
        break;
      }
      az = azNew;
      nAlloc = nNew;
    }
    az[n] = schDup(b, z, 0);
    if (az[n]) n++;
  }
  sqlite3_finalize(st);
  if (az) az[n] = 0;
  return az;
}

/* Is zName one of az (case-insensitive)? */
static int schInList(const char **az, const char *zName) {
  for (; az && *az; az++) {
    if (sqlite3_stricmp(*az, zName) == 0) return 1;
  }
  return 0;
}

static int schCmpObj(const void *pA, const void *pB) {
  const SchObj *a = pA, *b = pB;
  if (a->eType != b->eType) return a->eType - b->eType;
  return strcmp(a->zKey, b->zKey);
}

/* Snapshot of schema zDb ("main" when NULL): see the top of the file.
** *pp is freed with migSchemaFree(). */
int migSchemaSnapshot(sqlite3 *db, const char *zDb, MigSchema **pp,
                      char **pzErr) {
  SchBuild b;
  sqlite3_stmt *st = 0;
  const char **azShadow = 0;
  char *zSql;
  int rc;
  *pp = 0;
  memset(&b, 0, sizeof(b));
  b.db = db;
  b.zDb = zDb ? zDb : "main";
  b.pzErr = pzErr;
  b.p = sqlite3_malloc64(sizeof(MigSchema));
  if (b.p == 0) return SQLITE_NOMEM;
  memset(b.p, 0, sizeof(MigSchema));
  zSql = sqlite3_mprintf(
      "SELECT type, name, tbl_name, sql FROM \"%w\".sqlite_master "
      "WHERE type IN ('table', 'index', 'view', 'trigger') "
      "AND sql IS NOT NULL "
      "AND name NOT LIKE 'sqlite\\_%%' ESCAPE '\\' "
      "AND lower(name) NOT IN ('migrate_version', 'migrate_log', "
      "'migrate_scripts', 'migrate_lock', 'alembic_version') "
      "AND lower(tbl_name) NOT IN ('migrate_version', 'migrate_log', "
      "'migrate_scripts', 'migrate_lock', 'alembic_version') "
      "ORDER BY name",
      b.zDb);
  if (zSql == 0) {
    migSchemaFree(b.p);
    return SQLITE_NOMEM;
  }
  azShadow = schShadowTables(&b);
  rc = b.rc ? b.rc : sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  sqlite3_free(zSql);
  if (rc) {
    migSetError(pzErr, rc, "cannot read the schema of %s: %s", b.zDb,
                rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
    sqlite3_free(azShadow);
    schCacheFree(&b);
    migSchemaFree(b.p);
    return rc;
  }
  while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zType = (const char *)sqlite3_column_text(st, 0);
    const char *zName = (const char *)sqlite3_column_text(st, 1);
    const char *zTbl = (const char *)sqlite3_column_text(st, 2);
    const char *zText = (const char *)sqlite3_column_text(st, 3);
    if (zType == 0 || zName == 0 || zTbl == 0 || zText == 0) {
      /* sqlite3_column_text() returns NULL only on OOM here */
      b.rc = SQLITE_NOMEM;
      break;
    }
    if (schInList(azShadow, zTbl)) continue;
    schObject(&b, zType, zName, zTbl, zText);
  }
  sqlite3_free(azShadow);
  schCacheFree(&b);
  if (b.rc == SQLITE_OK && rc != SQLITE_DONE) {
    migSetError(pzErr, rc, "cannot read the schema of %s: %s", b.zDb,
                sqlite3_errmsg(db));
    b.rc = rc;
  }
  sqlite3_finalize(st);
  if (b.rc) {
    if (b.rc == SQLITE_NOMEM) migSetError(pzErr, SQLITE_NOMEM, "out of memory");
    migSchemaFree(b.p);
    return b.rc;
  }
  if (b.p->nObj > 1) {
    qsort(b.p->aObj, (size_t)b.p->nObj, sizeof(SchObj), schCmpObj);
  }
  *pp = b.p;
  return SQLITE_OK;
}

/* ======================================================================
** Comparison
*/

const MigDiffWords migHistoryWords = {"in the history", "in the database",
                                      "missing in the database",
                                      "in the database, not in the history"};

typedef struct SchOut {
  MigStr *s;
  const char *zPrefix; /* before every line */
  const MigDiffWords *w;
  int nLine;
} SchOut;

/* Start a line: "<prefix><kind> <name>: [<label>: ]". */
static void schLine(SchOut *o, const SchObj *pObj, const char *zLabel) {
  if (o->nLine++) migStrAppend(o->s, "\n", 1);
  migStrAppendZ(o->s, o->zPrefix);
  migStrAppendf(o->s, "%s %s: ", azSchType[pObj->eType], pObj->zName);
  if (zLabel) migStrAppendf(o->s, "%s: ", zLabel);
}

/* How one side of an attribute reads. */
static void schPhrase(MigStr *s, const SchAttr *a) {
  if (a->zValue == 0) {
    migStrAppendZ(s, a->zAbsent);
  } else if (a->zName) {
    migStrAppendf(s, "%s %s", a->zName, a->zValue);
  } else {
    migStrAppendZ(s, a->zValue);
  }
}

/* A few words of normalized SQL around offset iDiff, quoted. */
static void schWindow(MigStr *s, const char *z, size_t iDiff) {
  size_t n = strlen(z), iStart = iDiff, iEnd = iDiff;
  int nSpace = 0;
  if (iDiff > n) iDiff = iStart = iEnd = n;
  while (iStart > 0) {
    if (z[iStart - 1] == ' ' && ++nSpace == 4) break;
    iStart--;
  }
  nSpace = 0;
  while (iEnd < n) {
    if (z[iEnd] == ' ' && ++nSpace == 6) break;
    iEnd++;
  }
  migStrAppendf(s, "\"%s%.*s%s\"", iStart > 0 ? "..." : "",
                (int)(iEnd - iStart), z + iStart, iEnd < n ? "..." : "");
}

/* Compare attribute lists (same layout). */
static void schDiffAttrs(SchOut *o, const SchObj *pObj, const char *zLabel,
                         const SchAttr *a, const SchAttr *b, int n) {
  int k;
  for (k = 0; k < n; k++) {
    const char *vA = a[k].zValue, *vB = b[k].zValue;
    if (vA == 0 && vB == 0) continue;
    if (vA && vB && strcmp(vA, vB) == 0) continue;
    schLine(o, pObj, zLabel);
    if (a[k].bText) {
      size_t i = 0;
      if (vA == 0) vA = "";
      if (vB == 0) vB = "";
      while (vA[i] && vA[i] == vB[i]) i++;
      migStrAppendZ(o->s, "differs: ");
      schWindow(o->s, vA, i);
      migStrAppendf(o->s, " %s, ", o->w->zA);
      schWindow(o->s, vB, i);
      migStrAppendf(o->s, " %s", o->w->zB);
    } else if (vA && vB && a[k].zName) {
      migStrAppendf(o->s, "%s %s %s, %s %s", a[k].zName, vA, o->w->zA, vB,
                    o->w->zB);
    } else {
      schPhrase(o->s, &a[k]);
      migStrAppendf(o->s, " %s, ", o->w->zA);
      schPhrase(o->s, &b[k]);
      migStrAppendf(o->s, " %s", o->w->zB);
    }
  }
}

static const SchItem *schFindItem(const SchObj *o, const SchItem *pLike) {
  int i;
  for (i = 0; i < o->nItem; i++) {
    const SchItem *it = &o->aItem[i];
    if (it->eKind == pLike->eKind && strcmp(it->zKey, pLike->zKey) == 0) {
      return it;
    }
  }
  return 0;
}

/* Column names of o as "(a, b)": the keys of those the other object x
** also has (bShow 0), or every name as declared (bShow 1). */
static void schColumnList(MigStr *s, const SchObj *o, const SchObj *x,
                          int bShow) {
  int i, n = 0;
  migStrAppendZ(s, "(");
  for (i = 0; i < o->nItem; i++) {
    const SchItem *it = &o->aItem[i];
    if (it->eKind != SI_COLUMN) continue;
    if (!bShow && schFindItem(x, it) == 0) continue;
    migStrSep(s, &n, ", ");
    migStrAppendZ(s, bShow ? it->zLabel + 7 /* after "column " */ : it->zKey);
  }
  migStrAppendZ(s, ")");
}

/* One object present on both sides. */
static void schDiffObj(SchOut *o, const SchObj *a, const SchObj *b) {
  int i;
  schDiffAttrs(o, a, 0, a->aAttr, b->aAttr, a->nAttr);
  for (i = 0; i < a->nItem; i++) {
    const SchItem *x = &a->aItem[i];
    const SchItem *y = schFindItem(b, x);
    if (y == 0) {
      schLine(o, a, x->zLabel);
      migStrAppendZ(o->s, o->w->zOnlyA);
    } else {
      schDiffAttrs(o, a, x->zLabel, x->aAttr, y->aAttr, x->nAttr);
    }
  }
  for (i = 0; i < b->nItem; i++) {
    const SchItem *y = &b->aItem[i];
    if (schFindItem(a, y) == 0) {
      schLine(o, a, y->zLabel);
      migStrAppendZ(o->s, o->w->zOnlyB);
    }
  }
  if (a->eType == SO_TABLE) {
    /* the columns both have, in a different order? */
    MigStr ca = {0}, cb = {0};
    schColumnList(&ca, a, b, 0);
    schColumnList(&cb, b, a, 0);
    if (ca.rc || cb.rc) {
      o->s->rc = SQLITE_NOMEM;
    } else if (strcmp(ca.z, cb.z) != 0) {
      MigStr fa = {0}, fb = {0};
      schColumnList(&fa, a, 0, 1);
      schColumnList(&fb, b, 0, 1);
      schLine(o, a, 0);
      migStrAppendf(o->s, "column order %s %s, %s %s", fa.z ? fa.z : "",
                    o->w->zA, fb.z ? fb.z : "", o->w->zB);
      if (fa.rc || fb.rc) o->s->rc = SQLITE_NOMEM;
      migStrReset(&fa);
      migStrReset(&fb);
    }
    migStrReset(&ca);
    migStrReset(&cb);
  }
}

/* Append the differences between A and B to o. */
static void schDiffInto(SchOut *o, const MigSchema *pA, const MigSchema *pB) {
  int i = 0, j = 0;
  while (i < pA->nObj || j < pB->nObj) {
    int c;
    if (i >= pA->nObj) {
      c = 1;
    } else if (j >= pB->nObj) {
      c = -1;
    } else {
      c = schCmpObj(&pA->aObj[i], &pB->aObj[j]);
    }
    if (c < 0) {
      schLine(o, &pA->aObj[i++], 0);
      migStrAppendZ(o->s, o->w->zOnlyA);
    } else if (c > 0) {
      schLine(o, &pB->aObj[j++], 0);
      migStrAppendZ(o->s, o->w->zOnlyB);
    } else {
      schDiffObj(o, &pA->aObj[i++], &pB->aObj[j++]);
    }
  }
}

/* Append the differences of A and B to *pOut: see internal.h. */
void migSchemaDiffAppend(MigStr *pOut, int *pnLine, const char *zPrefix,
                         const MigDiffWords *w, const MigSchema *pA,
                         const MigSchema *pB) {
  SchOut o;
  o.s = pOut;
  o.zPrefix = zPrefix;
  o.w = w;
  o.nLine = *pnLine; /* so its first line is separated from the caller's */
  schDiffInto(&o, pA, pB);
  *pnLine = o.nLine;
}

/* Compare: see the top of the file.  *pzReport NULL when equal. */
int migSchemaDiff(const MigSchema *pHistory, const MigSchema *pDatabase,
                  char **pzReport, char **pzErr) {
  return migSchemaDiffWorded(pHistory, pDatabase, &migHistoryWords, pzReport,
                             pzErr);
}

/* migSchemaDiff() with the sides named by w: see internal.h. */
int migSchemaDiffWorded(const MigSchema *pA, const MigSchema *pB,
                        const MigDiffWords *w, char **pzReport, char **pzErr) {
  MigStr s = {0};
  SchOut o;
  *pzReport = 0;
  o.s = &s;
  o.zPrefix = "";
  o.w = w;
  o.nLine = 0;
  schDiffInto(&o, pA, pB);
  if (s.rc) {
    migStrReset(&s);
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  *pzReport = o.nLine ? migStrFinish(&s) : 0;
  migStrReset(&s);
  if (o.nLine && *pzReport == 0) {
    return migSetError(pzErr, SQLITE_NOMEM, "out of memory");
  }
  return SQLITE_OK;
}

/* ======================================================================
** One object compared (for the differ, autogen.c)
*/

/* The object of kind eType named zName (any case) in p, or NULL: a binary
** search, the objects being sorted by (eType, lower-case name). */
static const SchObj *schFindObj(const MigSchema *p, const char *zName,
                                int eType) {
  SchObj key;
  char zBuf[128], *zKey = zBuf, *q;
  size_t n = strlen(zName);
  const SchObj *o = 0;
  if (n >= sizeof(zBuf)) zKey = sqlite3_malloc64(n + 1);
  if (zKey == 0) return 0;
  memcpy(zKey, zName, n + 1);
  for (q = zKey; *q; q++) *q = schLowerC(*q);
  memset(&key, 0, sizeof(key));
  key.eType = eType;
  key.zKey = zKey;
  if (p->nObj > 0) {
    o = bsearch(&key, p->aObj, (size_t)p->nObj, sizeof(SchObj), schCmpObj);
  }
  if (zKey != zBuf) sqlite3_free(zKey);
  return o;
}

/* Is object zNameA of A equal to object zNameB of B: see internal.h. */
int migSchemaSameObject(const MigSchema *pA, const char *zNameA,
                        const MigSchema *pB, const char *zNameB, int eType) {
  const SchObj *a = schFindObj(pA, zNameA, eType);
  const SchObj *b = schFindObj(pB, zNameB, eType);
  MigStr s = {0};
  SchOut o;
  int bSame;
  if (a == 0 || b == 0) return 0;
  o.s = &s;
  o.zPrefix = "";
  o.w = &migHistoryWords;
  o.nLine = 0;
  schDiffObj(&o, a, b);
  bSame = o.nLine == 0;
  migStrReset(&s);
  return bSame;
}
