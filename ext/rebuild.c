/*
** rebuild.c — migrate_rebuild(): SQLite's 12-step table rebuild
** (sqlite.org/lang_altertable.html §7) for the changes ALTER TABLE cannot
** make: a column's type, NOT NULL, CHECK, DEFAULT, the PRIMARY KEY, a
** FOREIGN KEY, dropping a column that ALTER TABLE DROP COLUMN refuses.
**
**     SELECT migrate_rebuild('users',
**         'CREATE TABLE users (id INTEGER PRIMARY KEY,
**                              email TEXT NOT NULL UNIQUE,
**                              age INTEGER CHECK (age >= 0))');   -> 3
**
**     -- rename and convert with a column map {"new": "old or expression"}
**     SELECT migrate_rebuild('users',
**         'CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL,
**                              age_months INTEGER)',
**         '{"mail": "email", "age_months": "age * 12"}');
**
** Returns the number of rows copied.  Registered SQLITE_DIRECTONLY: it
** changes the database, so a trigger or view stored in a database file must
** not be able to call it.
**
** How it works.  Only tables of the main database are rebuilt.
**
**   1. Arguments are checked, then, before anything changes, the call
**      refuses if another statement on the connection is active
**      (migCheckIdle; the statements of migrate_to()'s applier are allowed).
**      create_sql must be exactly one CREATE TABLE for the table's own name.
**   2. Foreign-key enforcement is switched off: in autocommit mode with
**      PRAGMA foreign_keys=OFF before BEGIN IMMEDIATE; inside a transaction
**      (the caller's, or migrate_to()'s) with sqlite3_db_config(
**      SQLITE_DBCONFIG_ENABLE_FKEY), since the PRAGMA is a no-op there.
**      PRAGMA defer_foreign_keys is not enough: DROP TABLE would cascade.
**      Everything below runs in BEGIN IMMEDIATE ... COMMIT (autocommit) or
**      SAVEPOINT migrate_rebuild ... RELEASE, and any failure rolls back to
**      where the call started.
**   3. The table's indexes and triggers (sqlite_schema rows with SQL; the
**      autoindexes belong to the definition) are saved, together with what
**      is needed to notice breakage later: which views compile, which
**      INSERT/UPDATE/DELETE statements on the table and on tables whose
**      triggers mention it compile, the sqlite_sequence value, and (when the
**      connection enforces foreign keys) the foreign_key_check rows of the
**      table and of the tables that reference it.
**   4. CREATE TABLE under a temporary name (create_sql with only the name
**      replaced), INSERT INTO tmp(cols) SELECT exprs FROM table: the columns
**      both definitions have, by name, plus the column map's entries, plus
**      the rowid when both are rowid tables (an INTEGER PRIMARY KEY keeps
**      its values, and takes the old rowid when nothing else fills it).
**   5. DROP TABLE, then ALTER TABLE tmp RENAME TO table with
**      legacy_alter_table=ON for that one statement, so that views naming
**      the table do not make the rename fail and no REFERENCES clause is
**      rewritten.  SQLite stores the new definition with the name in double
**      quotes, as after any ALTER TABLE ... RENAME TO.
**   6. The saved indexes and triggers are created again, in their original
**      order; one that names a column the new definition lacks is refused,
**      by name.  A trigger's body is only compiled when a statement that
**      fires it is prepared, so each recreated trigger is checked by
**      preparing (never running) INSERT, UPDATE and DELETE on the table.
**   7. sqlite_sequence keeps the old high-water mark for an AUTOINCREMENT
**      table; views and other tables' triggers that compiled before must
**      still compile; foreign_key_check must report no new row.
**   8. foreign_keys and legacy_alter_table are restored on every path.
**
** Refused: views, virtual tables and their shadow tables, sqlite_ tables,
** tables of temp or attached schemas, a main table shadowed by a temp table
** of the same name.  Rowids are kept when both definitions are rowid tables;
** a WITHOUT ROWID table has none to keep, so converting either way is
** allowed and the rows keep their column values only.  DROP TABLE takes the
** table's ANALYZE statistics (sqlite_stat1 rows) with it: run ANALYZE again.
** Without foreign-key enforcement no foreign_key_check runs (as SQLite
** itself would not complain); a view or another table's trigger that was
** already broken before the call is not checked.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* Register migrate_rebuild() with 2 and 3 arguments on db (declared in
** internal.h).  Returns an SQLite code; on failure *pzErr (when pzErr)
** names the function. */

#define RB_SAVEPOINT "migrate_rebuild"
#define RB_PROBE     "migrate_rebuild_probe"

/* Bits of a DML probe: which statements on a table prepare cleanly. */
#define PROBE_INSERT 1
#define PROBE_UPDATE 2
#define PROBE_DELETE 4

/* ======================================================================
** Tokens (sqltok.c) as this file needs them: to find the table name in
** create_sql, its table options, and a trigger's UPDATE OF columns.
*/
enum { TK_EOF, TK_SPACE, TK_ID, TK_QUOTED, TK_STRING, TK_PUNCT };

typedef struct Tok {
  int e;         /* TK_* */
  const char *z; /* first byte */
  size_t n;      /* length in bytes */
} Tok;

/* The token at z (sqltok.c), spaces and comments included; returns the end
** of it. */
static const char *tokRaw(const char *z, Tok *t) {
  int e;
  t->z = z;
  t->n = migSqlToken(z, &e);
  switch (e) {
    case MIG_TK_EOF:
      t->e = TK_EOF;
      break;
    case MIG_TK_SPACE:
    case MIG_TK_COMMENT:
      t->e = TK_SPACE;
      break;
    case MIG_TK_WORD:
      t->e = TK_ID;
      break;
    case MIG_TK_QUOTED:
      t->e = TK_QUOTED;
      break;
    case MIG_TK_STRING:
      t->e = TK_STRING;
      break;
    default:
      t->e = TK_PUNCT;
      break;
  }
  return z + t->n;
}

/* The next token that is not a space or a comment. */
static const char *tokNext(const char *z, Tok *t) {
  do {
    z = tokRaw(z, t);
  } while (t->e == TK_SPACE);
  return z;
}

/* Is t the keyword zKw (any case)? */
static int tokIs(const Tok *t, const char *zKw) {
  size_t n = strlen(zKw);
  return t->e == TK_ID && t->n == n && sqlite3_strnicmp(t->z, zKw, (int)n) == 0;
}

static int tokIsChar(const Tok *t, char c) {
  return t->e == TK_PUNCT && t->n == 1 && t->z[0] == c;
}

/* Can t be a name (bare, "quoted", [bracketed], `backticked`, 'string')? */
static int tokIsName(const Tok *t) {
  return t->e == TK_ID || t->e == TK_QUOTED || t->e == TK_STRING;
}

/* The name t spells, quotes removed.  Caller frees; NULL on OOM. */
static char *tokName(const Tok *t) {
  return migSqlUnquote(t->z, t->n);
}

/* From just after a CREATE TABLE's "(": note AUTOINCREMENT inside the
** column list and WITHOUT ROWID after it; return the end of the statement
** (just past its ';', or the end of the text). */
static const char *tableBody(const char *z, int *pbAutoinc,
                             int *pbWithoutRowid) {
  Tok t;
  int depth = 1, bWithout = 0;
  *pbAutoinc = 0;
  *pbWithoutRowid = 0;
  for (;;) {
    z = tokNext(z, &t);
    if (t.e == TK_EOF) return z;
    if (tokIsChar(&t, ';')) return z;
    if (tokIsChar(&t, '(')) {
      depth++;
    } else if (tokIsChar(&t, ')')) {
      depth--;
    } else if (depth > 0 && tokIs(&t, "AUTOINCREMENT")) {
      *pbAutoinc = 1;
    } else if (depth == 0 && tokIs(&t, "WITHOUT")) {
      bWithout = 1;
      continue;
    } else if (depth == 0 && bWithout && tokIs(&t, "ROWID")) {
      *pbWithoutRowid = 1;
    }
    bWithout = 0;
  }
}

/* What create_sql says, found by its tokens. */
typedef struct NewDef {
  const char *zSpan; /* "[schema.]name" as written ... */
  size_t nSpan;      /* ... and its length */
  char *zSchema;     /* the schema written, or NULL (owned) */
  char *zName;       /* the table name, dequoted (owned) */
  int bAutoinc;      /* AUTOINCREMENT appears */
  int bWithoutRowid; /* WITHOUT ROWID */
} NewDef;

/* Why create_sql was not accepted. */
enum {
  DEF_OK,
  DEF_NOMEM,
  DEF_NOT_CREATE, /* not CREATE TABLE */
  DEF_TEMP,       /* CREATE TEMP TABLE */
  DEF_VIRTUAL,    /* CREATE VIRTUAL TABLE */
  DEF_AS,         /* CREATE TABLE ... AS SELECT */
  DEF_SYNTAX,     /* no "(" after the name */
  DEF_MULTI       /* more than one statement */
};

/* Parse the head of create_sql into *pDef.  Returns DEF_*. */
static int parseCreate(const char *zSql, NewDef *pDef) {
  Tok t, t2;
  const char *z = zSql, *zAfter;
  memset(pDef, 0, sizeof(*pDef));
  z = tokNext(z, &t);
  if (!tokIs(&t, "CREATE")) return DEF_NOT_CREATE;
  z = tokNext(z, &t);
  if (tokIs(&t, "TEMP") || tokIs(&t, "TEMPORARY")) return DEF_TEMP;
  if (tokIs(&t, "VIRTUAL")) return DEF_VIRTUAL;
  if (!tokIs(&t, "TABLE")) return DEF_NOT_CREATE;
  z = tokNext(z, &t);
  if (tokIs(&t, "IF")) {
    z = tokNext(z, &t);
    if (!tokIs(&t, "NOT")) return DEF_SYNTAX;
    z = tokNext(z, &t);
    if (!tokIs(&t, "EXISTS")) return DEF_SYNTAX;
    z = tokNext(z, &t);
  }
  if (!tokIsName(&t)) return DEF_SYNTAX;
  pDef->zSpan = t.z;
  zAfter = tokNext(z, &t2);
  if (tokIsChar(&t2, '.')) {
    pDef->zSchema = tokName(&t);
    if (pDef->zSchema == 0) return DEF_NOMEM;
    z = tokNext(zAfter, &t);
    if (!tokIsName(&t)) return DEF_SYNTAX;
    zAfter = tokNext(z, &t2);
  }
  pDef->nSpan = (size_t)(t.z + t.n - pDef->zSpan);
  pDef->zName = tokName(&t);
  if (pDef->zName == 0) return DEF_NOMEM;
  if (tokIs(&t2, "AS")) return DEF_AS;
  if (!tokIsChar(&t2, '(')) return DEF_SYNTAX;
  z = tableBody(zAfter, &pDef->bAutoinc, &pDef->bWithoutRowid);
  for (;;) {
    z = tokNext(z, &t);
    if (t.e == TK_EOF) return DEF_OK;
    if (!tokIsChar(&t, ';')) return DEF_MULTI;
  }
}

/* The columns listed after UPDATE OF in a CREATE TRIGGER statement, each
** dequoted, appended to *pazCol / *pnCol (caller frees each and the array).
** Returns SQLITE_OK or SQLITE_NOMEM. */
static int triggerUpdateOf(const char *zSql, char ***pazCol, int *pnCol) {
  Tok t;
  const char *z = zSql;
  int bOf = 0, bUpdate = 0;
  *pazCol = 0;
  *pnCol = 0;
  /* CREATE [TEMP] TRIGGER [IF NOT EXISTS] [schema.]name */
  z = tokNext(z, &t);
  z = tokNext(z, &t);
  if (tokIs(&t, "TEMP") || tokIs(&t, "TEMPORARY")) z = tokNext(z, &t);
  z = tokNext(z, &t);
  if (tokIs(&t, "IF")) {
    z = tokNext(z, &t);
    z = tokNext(z, &t);
    z = tokNext(z, &t);
  }
  {
    Tok t2;
    const char *zAfter = tokNext(z, &t2);
    if (tokIsChar(&t2, '.')) z = tokNext(zAfter, &t);
  }
  for (;;) {
    z = tokNext(z, &t);
    if (t.e == TK_EOF || tokIs(&t, "ON")) break;
    if (bOf) {
      if (tokIsName(&t)) {
        char **azNew =
            sqlite3_realloc64(*pazCol, sizeof(char *) * (size_t)(*pnCol + 1));
        char *zCol;
        if (azNew == 0) return SQLITE_NOMEM;
        *pazCol = azNew;
        zCol = tokName(&t);
        if (zCol == 0) return SQLITE_NOMEM;
        azNew[(*pnCol)++] = zCol;
      }
      continue;
    }
    if (bUpdate && tokIs(&t, "OF")) bOf = 1;
    bUpdate = tokIs(&t, "UPDATE");
  }
  return SQLITE_OK;
}

/* ======================================================================
** The state of one call
*/

/* A sqlite_schema row saved before the old table is dropped. */
typedef struct Saved {
  char *zType; /* "index" or "trigger" */
  char *zName;
  char *zSql;
  int bTemp; /* a TEMP trigger on the main table */
} Saved;

/* A view, or a table whose triggers mention the rebuilt table. */
typedef struct Dep {
  char *zSchema;   /* "main", "temp", or NULL: resolve as SQLite does */
  char *zName;     /* view, or table the triggers are on */
  char *zTriggers; /* trigger names, for messages (table deps only) */
  int mask;        /* what prepared cleanly before (PROBE_* or 1 for a view) */
} Dep;

/* One table's columns and rowid. */
typedef struct Shape {
  int nCol;
  char **azCol;        /* names */
  unsigned char *aGen; /* generated column */
  int bWithoutRowid;
  int iIpk;           /* INTEGER PRIMARY KEY (rowid alias) or -1 */
  const char *zRowid; /* a name that reaches the rowid, or NULL */
} Shape;

typedef struct Rebuild {
  sqlite3 *db;
  const char *zArg; /* table argument as given (messages) */
  char *zTab;       /* its name as sqlite_schema stores it */
  char *zTmp;       /* the new table's temporary name */
  char *zErr;       /* message body (without prefix) */
  char *zFinal;     /* a complete message that needs no prefix */
  Shape old, nw;
  int bOldAutoinc;
  int nSaved;
  Saved *aSaved;
  int nDep;
  Dep *aDep;
  int oldMask; /* PROBE_* of the old table with its triggers */
  int bFk;     /* the connection enforces foreign keys */
  int nChild;
  char **azChild;     /* tables whose foreign keys reference the table */
  char *zFkBefore;    /* foreign_key_check rows before (bFk) */
  int bSeq;           /* sqlite_sequence had a row for the table */
  sqlite3_int64 iSeq; /* ... with this value */
  sqlite3_int64 nRow; /* rows copied */
} Rebuild;

/* Set the message body; returns rc (SQLITE_NOMEM if out of memory). */
static int rbErr(Rebuild *p, int rc, const char *zFmt, ...) {
  va_list ap;
  char *z;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  sqlite3_free(p->zErr);
  p->zErr = z;
  return z ? rc : SQLITE_NOMEM;
}

/* An internal query failed: the body names it and SQLite's message. */
static int rbErrDb(Rebuild *p, int rc, const char *zWhat) {
  if (rc == SQLITE_NOMEM) return rc;
  return rbErr(p, rc, "%s failed: %s", zWhat, sqlite3_errmsg(p->db));
}

/* SQLite's message with the temporary name replaced by the table's.
** Caller frees; NULL on OOM. */
static char *fixMsg(Rebuild *p, const char *zMsg) {
  MigStr s = {0};
  const char *z = zMsg;
  size_t nTmp = p->zTmp ? strlen(p->zTmp) : 0;
  while (*z) {
    const char *zHit = nTmp ? strstr(z, p->zTmp) : 0;
    if (zHit == 0) {
      migStrAppendZ(&s, z);
      break;
    }
    migStrAppend(&s, z, (size_t)(zHit - z));
    migStrAppendZ(&s, p->zTab);
    z = zHit + nTmp;
  }
  return migStrFinish(&s); /* "" when empty, NULL on OOM */
}

static void shapeFree(Shape *s) {
  int i;
  for (i = 0; i < s->nCol; i++) sqlite3_free(s->azCol[i]);
  sqlite3_free(s->azCol);
  sqlite3_free(s->aGen);
  memset(s, 0, sizeof(*s));
}

static void rbFree(Rebuild *p) {
  int i;
  for (i = 0; i < p->nSaved; i++) {
    sqlite3_free(p->aSaved[i].zType);
    sqlite3_free(p->aSaved[i].zName);
    sqlite3_free(p->aSaved[i].zSql);
  }
  sqlite3_free(p->aSaved);
  for (i = 0; i < p->nDep; i++) {
    sqlite3_free(p->aDep[i].zSchema);
    sqlite3_free(p->aDep[i].zName);
    sqlite3_free(p->aDep[i].zTriggers);
  }
  sqlite3_free(p->aDep);
  for (i = 0; i < p->nChild; i++) sqlite3_free(p->azChild[i]);
  sqlite3_free(p->azChild);
  shapeFree(&p->old);
  shapeFree(&p->nw);
  sqlite3_free(p->zTab);
  sqlite3_free(p->zTmp);
  sqlite3_free(p->zFkBefore);
  sqlite3_free(p->zErr);
  sqlite3_free(p->zFinal);
}

/* Append one zeroed element to array a of n elements: on success n grows
** by one and ok is 1; on OOM a and n are unchanged and ok is 0. */
#define GROW(a, n, ok)                                                      \
  do {                                                                      \
    void *pNew_ = sqlite3_realloc64((a), sizeof(*(a)) * (size_t)((n) + 1)); \
    (ok) = pNew_ != 0;                                                      \
    if (pNew_) {                                                            \
      (a) = pNew_;                                                          \
      memset(&(a)[n], 0, sizeof(*(a)));                                     \
      (n)++;                                                                \
    }                                                                       \
  } while (0)

/* Prepare printf-formatted SQL.  Returns an SQLite code; *pp is NULL on
** error (the connection's message says why). */
static int prepf(sqlite3 *db, sqlite3_stmt **pp, const char *zFmt, ...) {
  va_list ap;
  char *z;
  int rc;
  *pp = 0;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if (z == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, z, -1, pp, 0);
  sqlite3_free(z);
  return rc;
}

/* Does printf-formatted SQL prepare?  *pbOk 1/0; on 0 and pzMsg, *pzMsg is
** SQLite's message (caller frees).  Returns SQLITE_NOMEM or SQLITE_OK. */
static int compiles(sqlite3 *db, int *pbOk, char **pzMsg, const char *zFmt,
                    ...) {
  va_list ap;
  char *z;
  sqlite3_stmt *st = 0;
  int rc;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if (z == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, z, -1, &st, 0);
  sqlite3_free(z);
  sqlite3_finalize(st);
  if (rc == SQLITE_NOMEM) return rc;
  *pbOk = rc == SQLITE_OK;
  if (rc && pzMsg) {
    *pzMsg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    if (*pzMsg == 0) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* ======================================================================
** Reading the schema
*/

/* Columns and rowid of main.zTab; bWithoutRowid must be set by the
** caller (it comes from the CREATE statement's options). */
static int shapeLoad(Rebuild *p, const char *zTab, Shape *s) {
  static const char *azAlias[] = {"rowid", "_rowid_", "oid"};
  sqlite3_stmt *st = 0;
  int rc, nPk = 0, iPk = -1, nPkIdx = 0, i, k;
  rc = sqlite3_prepare_v2(p->db,
                          "SELECT name, hidden, pk FROM "
                          "pragma_table_xinfo(?1, 'main')",
                          -1, &st, 0);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, zTab, -1, SQLITE_STATIC);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zName = (const char *)sqlite3_column_text(st, 0);
    int hidden = sqlite3_column_int(st, 1);
    unsigned char *aGen = sqlite3_realloc64(s->aGen, (size_t)s->nCol + 1);
    int bOk;
    rc = SQLITE_NOMEM;
    if (aGen == 0) break;
    s->aGen = aGen;
    aGen[s->nCol] = hidden >= 2; /* 2, 3: generated; 1: virtual-table hidden */
    GROW(s->azCol, s->nCol, bOk);
    if (!bOk) break;
    s->azCol[s->nCol - 1] = sqlite3_mprintf("%s", zName ? zName : "");
    if (s->azCol[s->nCol - 1] == 0) break;
    if (sqlite3_column_int(st, 2) > 0) {
      nPk++;
      iPk = s->nCol - 1;
    }
    rc = SQLITE_OK;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc) {
    rc = rbErrDb(p, rc, "reading the columns");
    sqlite3_finalize(st);
    return rc;
  }
  sqlite3_finalize(st);
  rc = sqlite3_prepare_v2(p->db,
                          "SELECT count(*) FROM pragma_index_list(?1, 'main') "
                          "WHERE origin = 'pk'",
                          -1, &st, 0);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, zTab, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      nPkIdx = sqlite3_column_int(st, 0);
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(st);
  if (rc) return rbErrDb(p, rc, "reading the indexes");
  /* a rowid table's single-column PRIMARY KEY without an index of its own
  ** is an INTEGER PRIMARY KEY, the rowid's alias */
  s->iIpk = (!s->bWithoutRowid && nPk == 1 && nPkIdx == 0) ? iPk : -1;
  s->zRowid = 0;
  if (s->bWithoutRowid) return SQLITE_OK;
  if (s->iIpk >= 0) {
    s->zRowid = s->azCol[s->iIpk];
    return SQLITE_OK;
  }
  for (k = 0; k < 3 && s->zRowid == 0; k++) {
    int bTaken = 0;
    for (i = 0; i < s->nCol; i++) {
      bTaken |= sqlite3_stricmp(s->azCol[i], azAlias[k]) == 0;
    }
    if (!bTaken) s->zRowid = azAlias[k];
  }
  return SQLITE_OK;
}

/* Index of column zName in s (any case), or -1. */
static int shapeFind(const Shape *s, const char *zName) {
  int i;
  for (i = 0; i < s->nCol; i++) {
    if (sqlite3_stricmp(s->azCol[i], zName) == 0) return i;
  }
  return -1;
}

/* Find the table: it must be an ordinary table of main, not shadowed by a
** temp table.  Sets p->zTab and p->old.bWithoutRowid, p->bOldAutoinc. */
static int findTable(Rebuild *p) {
  sqlite3_stmt *st = 0;
  int rc, bFound = 0;
  char *zSql = 0, *zType = 0;
  rc = sqlite3_prepare_v2(p->db,
                          "SELECT name, type, sql FROM main.sqlite_schema "
                          "WHERE name = ?1 COLLATE NOCASE AND type IN "
                          "('table', 'view')",
                          -1, &st, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, p->zArg, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      bFound = 1;
      p->zTab = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
      zType = sqlite3_mprintf("%s", sqlite3_column_text(st, 1));
      zSql = sqlite3_mprintf("%s", sqlite3_column_text(st, 2));
      rc = (p->zTab && zType && zSql) ? SQLITE_OK : SQLITE_NOMEM;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(st);
  if (rc) {
    rc = rbErrDb(p, rc, "reading sqlite_schema");
    goto done;
  }
  if (!bFound) {
    /* say where it is, if it is anywhere */
    char *zIn = 0;
    rc = migOtherSchemaOf(p->db, p->zArg, &zIn);
    if (rc || zIn) {
      rc = rc ? rbErrDb(p, rc, "reading the attached schemas")
              : rbErr(p, SQLITE_ERROR,
                      "table %s is in schema %s; only tables of the main "
                      "database can be rebuilt",
                      p->zArg, zIn);
      sqlite3_free(zIn);
      goto done;
    }
    rc = rbErr(p, SQLITE_ERROR,
               "no table named %s in the main database; check the name "
               "(SELECT name FROM sqlite_schema WHERE type = 'table')",
               p->zArg);
    goto done;
  }
  if (strcmp(zType, "view") == 0) {
    rc = rbErr(p, SQLITE_ERROR,
               "%s is a view; rebuild the tables it reads, or DROP VIEW and "
               "CREATE VIEW it again",
               p->zTab);
    goto done;
  }
  if (sqlite3_strnicmp(p->zTab, "sqlite_", 7) == 0) {
    rc = rbErr(p, SQLITE_ERROR,
               "%s is an internal table of SQLite and cannot be rebuilt",
               p->zTab);
    goto done;
  }
  {
    Tok t;
    const char *z = tokNext(zSql, &t);
    z = tokNext(z, &t);
    if (tokIs(&t, "VIRTUAL")) {
      rc = rbErr(p, SQLITE_ERROR,
                 "%s is a virtual table; its module owns its storage, so "
                 "drop and create it again instead",
                 p->zTab);
      goto done;
    }
  }
  {
    int bShadow = 0;
    rc = migIsShadowTable(p->db, p->zTab, &bShadow);
    if (rc) {
      rc = rbErrDb(p, rc, "looking for shadow tables");
      goto done;
    }
    if (bShadow) {
      rc = rbErr(p, SQLITE_ERROR,
                 "%s is a shadow table that a virtual table keeps its data "
                 "in; it cannot be rebuilt",
                 p->zTab);
      goto done;
    }
  }
  {
    int bTemp = 0;
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT 1 FROM temp.sqlite_schema WHERE name = ?1 "
                            "COLLATE NOCASE AND type IN ('table', 'view')",
                            -1, &st, 0);
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_text(st, 1, p->zTab, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(st);
      bTemp = rc == SQLITE_ROW;
      rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    if (rc) {
      rc = rbErrDb(p, rc, "reading temp.sqlite_schema");
      goto done;
    }
    if (bTemp) {
      rc = rbErr(p, SQLITE_ERROR,
                 "a TEMP table or view is also named %s and hides the main "
                 "table; drop it first (DROP TABLE temp.%s)",
                 p->zTab, p->zTab);
      goto done;
    }
  }
  {
    Tok t;
    const char *z = zSql;
    /* CREATE TABLE [IF NOT EXISTS] name ( */
    do {
      z = tokNext(z, &t);
    } while (t.e != TK_EOF && !tokIsChar(&t, '('));
    tableBody(z, &p->bOldAutoinc, &p->old.bWithoutRowid);
  }
done:
  sqlite3_free(zSql);
  sqlite3_free(zType);
  return rc;
}

/* Save the table's index and trigger rows (main, and TEMP triggers on it). */
static int saveSchema(Rebuild *p) {
  sqlite3_stmt *st = 0;
  int rc = sqlite3_prepare_v2(
      p->db,
      "SELECT type, name, sql, 0 FROM main.sqlite_schema WHERE tbl_name = ?1 "
      "COLLATE NOCASE AND type IN ('index', 'trigger') AND sql IS NOT NULL "
      "UNION ALL "
      "SELECT type, name, sql, 1 FROM temp.sqlite_schema WHERE tbl_name = ?1 "
      "COLLATE NOCASE AND type = 'trigger'",
      -1, &st, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, p->zTab, -1, SQLITE_STATIC);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    Saved *s;
    int bOk;
    GROW(p->aSaved, p->nSaved, bOk);
    if (!bOk) {
      rc = SQLITE_NOMEM;
      break;
    }
    s = &p->aSaved[p->nSaved - 1];
    s->zType = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
    s->zName = sqlite3_mprintf("%s", sqlite3_column_text(st, 1));
    s->zSql = sqlite3_mprintf("%s", sqlite3_column_text(st, 2));
    s->bTemp = sqlite3_column_int(st, 3);
    rc = s->zType && s->zName && s->zSql ? SQLITE_OK : SQLITE_NOMEM;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  if (rc) return rbErrDb(p, rc, "reading the table's indexes and triggers");
  return SQLITE_OK;
}

/* Which of INSERT, UPDATE, DELETE on [zSchema.]zTab prepare cleanly
** (PROBE_* bits).  Nothing is run.  *pzMsg (when given) gets the first
** failure's message (caller frees). */
static int probeDml(Rebuild *p, const char *zSchema, const char *zTab,
                    int *pMask, char **pzMsg) {
  sqlite3_stmt *st = 0;
  MigStr set = {0};
  char *zQual;
  int rc, bOk, i;
  char *zMsg = 0;
  *pMask = 0;
  zQual = zSchema ? sqlite3_mprintf("\"%w\".\"%w\"", zSchema, zTab)
                  : sqlite3_mprintf("\"%w\"", zTab);
  if (zQual == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db,
                          "SELECT name FROM pragma_table_xinfo(?1, ?2) "
                          "WHERE hidden = 0",
                          -1, &st, 0);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, zTab, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 2, zSchema, -1, SQLITE_STATIC);
  i = 0;
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zCol = (const char *)sqlite3_column_text(st, 0);
    migStrSep(&set, &i, ", ");
    migStrAppendf(&set, "\"%w\" = \"%w\"", zCol, zCol);
    rc = SQLITE_OK;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && set.rc) rc = SQLITE_NOMEM;
  if (rc) {
    migStrReset(&set);
    sqlite3_free(zQual);
    return rbErrDb(p, rc, "reading the columns");
  }
  rc = compiles(p->db, &bOk, &zMsg, "INSERT INTO %s DEFAULT VALUES", zQual);
  if (rc == SQLITE_OK && bOk) *pMask |= PROBE_INSERT;
  if (rc == SQLITE_OK && i > 0) {
    rc = compiles(p->db, &bOk, zMsg ? 0 : &zMsg, "UPDATE %s SET %s", zQual,
                  set.z);
    if (rc == SQLITE_OK && bOk) *pMask |= PROBE_UPDATE;
  }
  if (rc == SQLITE_OK) {
    rc = compiles(p->db, &bOk, zMsg ? 0 : &zMsg, "DELETE FROM %s", zQual);
    if (rc == SQLITE_OK && bOk) *pMask |= PROBE_DELETE;
  }
  migStrReset(&set);
  sqlite3_free(zQual);
  if (pzMsg) {
    *pzMsg = zMsg;
  } else {
    sqlite3_free(zMsg);
  }
  return rc;
}

/* Record what depends on the table by name and compiles now: every view
** (main and temp), and every other table with a trigger whose SQL mentions
** the table.  Also the old table's own DML probe. */
static int saveDependents(Rebuild *p) {
  sqlite3_stmt *st = 0;
  int rc, i;
  rc = probeDml(p, "main", p->zTab, &p->oldMask, 0);
  if (rc) return rc;
  rc = sqlite3_prepare_v2(
      p->db,
      "SELECT 'main', name, NULL FROM main.sqlite_schema WHERE type = 'view' "
      "UNION ALL "
      "SELECT 'temp', name, NULL FROM temp.sqlite_schema WHERE type = 'view' "
      "UNION ALL "
      "SELECT 'main', tbl_name, group_concat(name, ', ') FROM "
      "main.sqlite_schema WHERE type = 'trigger' AND tbl_name <> ?1 COLLATE "
      "NOCASE AND instr(lower(sql), lower(?1)) > 0 GROUP BY lower(tbl_name) "
      "UNION ALL "
      "SELECT NULL, tbl_name, group_concat(name, ', ') FROM "
      "temp.sqlite_schema WHERE type = 'trigger' AND tbl_name <> ?1 COLLATE "
      "NOCASE AND instr(lower(sql), lower(?1)) > 0 GROUP BY lower(tbl_name)",
      -1, &st, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, p->zTab, -1, SQLITE_STATIC);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zS = (const char *)sqlite3_column_text(st, 0);
    const char *zT = (const char *)sqlite3_column_text(st, 2);
    Dep *d;
    int bOk;
    GROW(p->aDep, p->nDep, bOk);
    rc = SQLITE_NOMEM;
    if (!bOk) break;
    d = &p->aDep[p->nDep - 1];
    d->zName = sqlite3_mprintf("%s", sqlite3_column_text(st, 1));
    if (d->zName == 0) break;
    if (zS && (d->zSchema = sqlite3_mprintf("%s", zS)) == 0) break;
    if (zT && (d->zTriggers = sqlite3_mprintf("%s", zT)) == 0) break;
    rc = SQLITE_OK;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  if (rc) return rbErrDb(p, rc, "reading the views and triggers");
  for (i = 0; i < p->nDep && rc == SQLITE_OK; i++) {
    Dep *d = &p->aDep[i];
    if (d->zTriggers) {
      rc = probeDml(p, d->zSchema, d->zName, &d->mask, 0);
    } else {
      rc = compiles(p->db, &d->mask, 0, "SELECT * FROM \"%w\".\"%w\"",
                    d->zSchema, d->zName);
    }
  }
  return rc;
}

/* After the rebuild: whatever compiled before must compile now. */
static int checkDependents(Rebuild *p) {
  int i, rc = SQLITE_OK;
  for (i = 0; i < p->nDep && rc == SQLITE_OK; i++) {
    Dep *d = &p->aDep[i];
    char *zMsg = 0;
    int mask = 0;
    if (d->mask == 0) continue; /* broken before: not ours to judge */
    if (d->zTriggers) {
      rc = probeDml(p, d->zSchema, d->zName, &mask, &zMsg);
      if (rc == SQLITE_OK && (d->mask & ~mask) != 0) {
        rc = rbErr(p, SQLITE_ERROR,
                   "trigger %s on %s would no longer work with the new "
                   "definition of %s: %s; change or drop it in the same "
                   "revision first",
                   d->zTriggers, d->zName, p->zTab, zMsg ? zMsg : "?");
      }
    } else {
      rc = compiles(p->db, &mask, &zMsg, "SELECT * FROM \"%w\".\"%w\"",
                    d->zSchema, d->zName);
      if (rc == SQLITE_OK && !mask) {
        rc = rbErr(p, SQLITE_ERROR,
                   "view %s would no longer work with the new definition of "
                   "%s: %s; DROP VIEW it first and CREATE VIEW it again after "
                   "the rebuild",
                   d->zName, p->zTab, zMsg ? zMsg : "?");
      }
    }
    sqlite3_free(zMsg);
  }
  return rc;
}

/* ======================================================================
** Foreign keys and sqlite_sequence
*/

/* The tables whose foreign keys reference the table (itself excluded). */
static int findChildren(Rebuild *p) {
  sqlite3_stmt *st = 0;
  int rc = sqlite3_prepare_v2(
      p->db,
      "SELECT DISTINCT m.name FROM main.sqlite_schema AS m, "
      "pragma_foreign_key_list(m.name, 'main') AS f WHERE m.type = 'table' "
      "AND f.\"table\" = ?1 COLLATE NOCASE AND m.name <> ?1 COLLATE NOCASE",
      -1, &st, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, p->zTab, -1, SQLITE_STATIC);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    int bOk;
    GROW(p->azChild, p->nChild, bOk);
    rc = SQLITE_NOMEM;
    if (!bOk) break;
    p->azChild[p->nChild - 1] =
        sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
    if (p->azChild[p->nChild - 1]) rc = SQLITE_OK;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  if (rc) return rbErrDb(p, rc, "reading the foreign keys");
  return SQLITE_OK;
}

/* foreign_key_check rows of the table and (those that reference it) of its
** children, one "table|rowid|parent\n" line each, appended to *pOut.  A
** check that fails (foreign key mismatch) sets *pzFail (caller frees) to
** SQLite's message. */
static int fkRows(Rebuild *p, MigStr *pOut, char **pzFail) {
  int i, rc = SQLITE_OK;
  *pzFail = 0;
  for (i = -1; i < p->nChild && rc == SQLITE_OK && *pzFail == 0; i++) {
    /* a child's other foreign keys are not ours */
    rc = migFkRows(p->db, i < 0 ? p->zTab : p->azChild[i], i < 0 ? 0 : p->zTab,
                   pOut);
    if (rc == SQLITE_ERROR) {
      *pzFail = sqlite3_mprintf("%s", sqlite3_errmsg(p->db));
      rc = *pzFail ? SQLITE_OK : SQLITE_NOMEM;
    }
  }
  if (rc) return rbErrDb(p, rc, "PRAGMA foreign_key_check");
  return pOut->rc;
}

/* Before the change, with foreign keys enforced: remember the rows. */
static int fkBefore(Rebuild *p) {
  MigStr s = {0};
  char *zFail = 0;
  int rc = findChildren(p);
  if (rc == SQLITE_OK) rc = fkRows(p, &s, &zFail);
  if (rc == SQLITE_OK) {
    migStrAppendZ(&s, zFail ? "(mismatch before)\n" : "");
    p->zFkBefore = migStrFinish(&s);
    if (p->zFkBefore == 0) rc = SQLITE_NOMEM;
  }
  migStrReset(&s);
  sqlite3_free(zFail);
  return rc;
}

/* After the change: a row foreign_key_check did not report before is an
** error naming the table, the row and the parent. */
static int fkAfter(Rebuild *p) {
  MigStr s = {0};
  char *zFail = 0;
  char *z;
  int rc = fkRows(p, &s, &zFail);
  if (rc) {
    migStrReset(&s);
    return rc;
  }
  if (zFail) {
    if (strstr(p->zFkBefore, "(mismatch before)\n") == 0) {
      rc = rbErr(p, SQLITE_ERROR,
                 "the new definition breaks a foreign key that references "
                 "it: %s (a referenced column must keep a PRIMARY KEY or "
                 "UNIQUE constraint)",
                 zFail);
    }
    sqlite3_free(zFail);
    migStrReset(&s);
    return rc;
  }
  z = migFkFirstNew(p->zFkBefore, s.z, 0, &rc);
  if (z) {
    rc = rbErr(p, SQLITE_CONSTRAINT,
               "FOREIGN KEY constraint failed after the rebuild: %s, which "
               "has no matching row (PRAGMA foreign_key_check); fix the data "
               "or the new definition first",
               z);
    sqlite3_free(z);
  }
  migStrReset(&s);
  return rc;
}

/* Remember the table's sqlite_sequence value, if it has one. */
static int seqBefore(Rebuild *p) {
  sqlite3_stmt *st = 0;
  int bExists, rc = migTableExists(p->db, "sqlite_sequence", &bExists);
  if (rc || !bExists) return rc ? rbErrDb(p, rc, "reading sqlite_schema") : 0;
  rc = sqlite3_prepare_v2(p->db,
                          "SELECT seq FROM main.sqlite_sequence WHERE name = "
                          "?1 COLLATE NOCASE",
                          -1, &st, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, p->zTab, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      p->bSeq = 1;
      p->iSeq = sqlite3_column_int64(st, 0);
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  sqlite3_finalize(st);
  if (rc) return rbErrDb(p, rc, "reading sqlite_sequence");
  return SQLITE_OK;
}

/* Keep the old AUTOINCREMENT high-water mark (rowids of deleted rows are
** never reused) when the new definition is AUTOINCREMENT too. */
static int seqAfter(Rebuild *p, int bNewAutoinc) {
  sqlite3_stmt *st = 0;
  int rc;
  if (!p->bSeq || !bNewAutoinc) return SQLITE_OK;
  rc = sqlite3_prepare_v2(p->db,
                          "UPDATE main.sqlite_sequence SET seq = max(seq, ?2) "
                          "WHERE name = ?1",
                          -1, &st, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, p->zTab, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, p->iSeq);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return rbErrDb(p, rc, "updating sqlite_sequence");
  if (sqlite3_changes(p->db) > 0) return SQLITE_OK;
  rc = sqlite3_prepare_v2(p->db,
                          "INSERT INTO main.sqlite_sequence(name, seq) "
                          "VALUES (?1, ?2)",
                          -1, &st, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, p->zTab, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, p->iSeq);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return rbErrDb(p, rc, "updating sqlite_sequence");
  return SQLITE_OK;
}

/* ======================================================================
** The new table and the copy
*/

/* A name for the new table that nothing in main or temp uses. */
static int pickTmpName(Rebuild *p) {
  int k, rc = SQLITE_OK;
  for (k = 1; rc == SQLITE_OK; k++) {
    sqlite3_stmt *st = 0;
    int bTaken = 0;
    sqlite3_free(p->zTmp);
    p->zTmp = k == 1 ? sqlite3_mprintf("migrate_rebuild_new_%s", p->zTab)
                     : sqlite3_mprintf("migrate_rebuild_new_%s_%d", p->zTab, k);
    if (p->zTmp == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT 1 FROM main.sqlite_schema WHERE name = ?1 "
                            "COLLATE NOCASE UNION ALL SELECT 1 FROM "
                            "temp.sqlite_schema WHERE name = ?1 COLLATE NOCASE",
                            -1, &st, 0);
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_text(st, 1, p->zTmp, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(st);
      bTaken = rc == SQLITE_ROW;
      rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK && !bTaken) return SQLITE_OK;
  }
  return rbErrDb(p, rc, "reading sqlite_schema");
}

/* CREATE TABLE tmp: create_sql with only its [schema.]name replaced. */
static int createNew(Rebuild *p, const char *zSql, const NewDef *pDef) {
  char *z = sqlite3_mprintf("%.*s\"%w\"%s", (int)(pDef->zSpan - zSql), zSql,
                            p->zTmp, pDef->zSpan + pDef->nSpan);
  char *zMsg = 0;
  int rc;
  if (z == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(p->db, z, 0, 0, &zMsg);
  sqlite3_free(z);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    /* inside a deferred BEGIN this is the first write */
    rc = rbErr(p, rc,
               "cannot take the write lock: %s (another connection is "
               "writing; set a busy timeout to wait for it)",
               zMsg ? zMsg : sqlite3_errstr(rc));
    sqlite3_free(zMsg);
    return rc;
  }
  if (rc) {
    char *zFix = fixMsg(p, zMsg ? zMsg : sqlite3_errstr(rc));
    sqlite3_free(zMsg);
    if (zFix == 0 || rc == SQLITE_NOMEM) {
      sqlite3_free(zFix);
      return SQLITE_NOMEM;
    }
    rc = rbErr(p, rc, "create_sql does not create a table: %s", zFix);
    sqlite3_free(zFix);
    return rc;
  }
  p->nw.bWithoutRowid = pDef->bWithoutRowid;
  return shapeLoad(p, p->zTmp, &p->nw);
}

/* Read column_map into azMap (one expression per new column, NULL where
** the map says nothing; caller frees each).  Errors name the entry. */
static int readMap(Rebuild *p, const char *zMap, char **azMap) {
  sqlite3_stmt *st = 0;
  int rc;
  rc = sqlite3_prepare_v2(p->db,
                          "SELECT json_type(?1), key, value, type FROM "
                          "json_each(?1)",
                          -1, &st, 0);
  if (rc) {
    if (rc == SQLITE_NOMEM) return rc;
    return rbErr(p, rc,
                 "column_map needs SQLite's JSON functions (built in from "
                 "SQLite 3.38, JSON1 before), which this SQLite lacks: %s",
                 sqlite3_errmsg(p->db));
  }
  rc = sqlite3_bind_text(st, 1, zMap, -1, SQLITE_STATIC);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zJType = (const char *)sqlite3_column_text(st, 0);
    const char *zKey = (const char *)sqlite3_column_text(st, 1);
    const char *zVal = (const char *)sqlite3_column_text(st, 2);
    const char *zType = (const char *)sqlite3_column_text(st, 3);
    int iCol;
    rc = SQLITE_ERROR;
    if (zJType == 0 || strcmp(zJType, "object") != 0) {
      rbErr(p, rc,
            "column_map must be a JSON object {\"new column\": \"old column "
            "or expression\"}; got a JSON %s",
            zJType ? zJType : "null");
      break;
    }
    iCol = zKey ? shapeFind(&p->nw, zKey) : -1;
    if (iCol < 0) {
      rbErr(p, rc,
            "column_map names column %s, which the new definition does not "
            "have; its keys are the new table's column names",
            zKey ? zKey : "?");
      break;
    }
    if (p->nw.aGen[iCol]) {
      rbErr(p, rc,
            "column_map fills column %s, which the new definition generates; "
            "leave it out of the map",
            p->nw.azCol[iCol]);
      break;
    }
    if (azMap[iCol]) {
      rbErr(p, rc, "column_map names column %s twice", p->nw.azCol[iCol]);
      break;
    }
    if (zType == 0 || strcmp(zType, "text") != 0 || zVal == 0 || !zVal[0]) {
      rbErr(p, rc,
            "column_map entry %s must be a string: an old column's name or a "
            "SQL expression over the old columns",
            p->nw.azCol[iCol]);
      break;
    }
    azMap[iCol] = shapeFind(&p->old, zVal) >= 0
                      ? sqlite3_mprintf("\"%w\"", zVal)
                      : sqlite3_mprintf("(%s)", zVal);
    rc = azMap[iCol] ? SQLITE_OK : SQLITE_NOMEM;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc && rc != SQLITE_NOMEM && p->zErr == 0) {
    rc =
        rbErr(p, rc, "column_map is not valid JSON: %s", sqlite3_errmsg(p->db));
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK) {
    /* an empty object, and anything json_each does not iterate */
    rc = sqlite3_prepare_v2(p->db, "SELECT json_type(?1)", -1, &st, 0);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, zMap, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const char *zJType = (const char *)sqlite3_column_text(st, 0);
      rc = SQLITE_OK;
      if (zJType == 0 || strcmp(zJType, "object") != 0) {
        rc = rbErr(p, SQLITE_ERROR,
                   "column_map must be a JSON object {\"new column\": \"old "
                   "column or expression\"}; got a JSON %s",
                   zJType ? zJType : "null");
      }
    } else if (rc != SQLITE_NOMEM) {
      rc = rbErr(p, rc, "column_map is not valid JSON: %s",
                 sqlite3_errmsg(p->db));
    }
    sqlite3_finalize(st);
  }
  return rc;
}

/* The INSERT ... SELECT that copies the rows (zVerb "INSERT" or
** "INSERT OR IGNORE"), into *pzSql (caller frees).  *pbKeep: the new rowid
** is the old rowid. */
static int buildCopy(Rebuild *p, char **azMap, const char *zVerb, char **pzSql,
                     int *pbKeep) {
  MigStr cols = {0}, vals = {0};
  int i, nShared = 0, bIpkFilled = 0;
  const Shape *o = &p->old, *n = &p->nw;
  *pzSql = 0;
  *pbKeep = 0;
  for (i = 0; i < n->nCol; i++) {
    int iOld;
    const char *zSep = cols.n ? ", " : "";
    if (n->aGen[i]) continue;
    if (azMap[i]) {
      migStrAppendf(&cols, "%s\"%w\"", zSep, n->azCol[i]);
      migStrAppendf(&vals, "%s%s", zSep, azMap[i]);
      nShared++;
      bIpkFilled |= i == n->iIpk;
      continue;
    }
    iOld = shapeFind(o, n->azCol[i]);
    if (iOld < 0) continue;
    migStrAppendf(&cols, "%s\"%w\"", zSep, n->azCol[i]);
    migStrAppendf(&vals, "%s\"%w\"", zSep, o->azCol[iOld]);
    nShared++;
    if (i == n->iIpk) {
      bIpkFilled = 1;
      *pbKeep = iOld == o->iIpk; /* the old rowid alias, by name */
    }
  }
  if (nShared == 0) {
    migStrReset(&cols);
    migStrReset(&vals);
    return rbErr(p, SQLITE_ERROR,
                 "the new definition shares no column with the old one, so "
                 "no data would be kept; name the sources in column_map "
                 "{\"new column\": \"old column or expression\"}");
  }
  if (!o->bWithoutRowid && !n->bWithoutRowid && !bIpkFilled) {
    /* keep the rowid: into the new INTEGER PRIMARY KEY, or the rowid */
    const char *zTo = n->iIpk >= 0 ? n->azCol[n->iIpk] : n->zRowid;
    if (o->zRowid == 0 || zTo == 0) {
      migStrReset(&cols);
      migStrReset(&vals);
      return rbErr(p, SQLITE_ERROR,
                   "cannot keep the rowids: columns named rowid, _rowid_ and "
                   "oid hide them; declare an INTEGER PRIMARY KEY");
    }
    migStrAppendf(&cols, ", \"%w\"", zTo);
    migStrAppendf(&vals, ", \"%w\"", o->zRowid);
    *pbKeep = 1;
  }
  if (cols.rc || vals.rc) {
    migStrReset(&cols);
    migStrReset(&vals);
    return SQLITE_NOMEM;
  }
  *pzSql = sqlite3_mprintf(
      "%s INTO main.\"%w\"(%s) SELECT %s FROM "
      "main.\"%w\"",
      zVerb, p->zTmp, cols.z, vals.z, p->zTab);
  migStrReset(&cols);
  migStrReset(&vals);
  return *pzSql ? SQLITE_OK : SQLITE_NOMEM;
}

/* After a constraint failure of the copy: the first old rowid that
** INSERT OR IGNORE leaves out, or 0 (*pbFound) — found in a savepoint that
** is rolled back. */
static int firstBadRow(Rebuild *p, char **azMap, sqlite3_int64 *piRow,
                       int *pbFound) {
  char *zSql = 0;
  int bKeep, rc;
  sqlite3_stmt *st = 0;
  const char *zNewRowid =
      p->nw.iIpk >= 0 ? p->nw.azCol[p->nw.iIpk] : p->nw.zRowid;
  *pbFound = 0;
  if (p->old.zRowid == 0 || zNewRowid == 0) return SQLITE_OK;
  rc = buildCopy(p, azMap, "INSERT OR IGNORE", &zSql, &bKeep);
  if (rc || !bKeep) {
    sqlite3_free(zSql);
    return rc;
  }
  rc = sqlite3_exec(p->db, "SAVEPOINT " RB_PROBE, 0, 0, 0);
  if (rc) {
    sqlite3_free(zSql);
    return SQLITE_OK; /* only a better message is lost */
  }
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) {
    rc = prepf(p->db, &st,
               "SELECT o.\"%w\" FROM main.\"%w\" AS o WHERE NOT EXISTS "
               "(SELECT 1 FROM main.\"%w\" AS n WHERE n.\"%w\" = o.\"%w\") "
               "ORDER BY 1 LIMIT 1",
               p->old.zRowid, p->zTab, p->zTmp, zNewRowid, p->old.zRowid);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      *piRow = sqlite3_column_int64(st, 0);
      *pbFound = 1;
    }
    sqlite3_finalize(st);
  }
  /* a failure here is caught by the outer rollback, which undoes all */
  if (sqlite3_exec(p->db, "ROLLBACK TO " RB_PROBE "; RELEASE " RB_PROBE, 0, 0,
                   0) != SQLITE_OK) {
    return rbErrDb(p, SQLITE_ERROR, "rolling back the row probe");
  }
  return rc == SQLITE_NOMEM ? rc : SQLITE_OK;
}

/* Copy the rows into the new table; p->nRow is how many. */
static int copyRows(Rebuild *p, const char *zMap) {
  char **azMap;
  char *zSql = 0;
  int rc, i, bKeep;
  sqlite3_stmt *st = 0;
  const char *zTail = 0;
  azMap = sqlite3_malloc64(sizeof(char *) * (size_t)(p->nw.nCol + 1));
  if (azMap == 0) return SQLITE_NOMEM;
  memset(azMap, 0, sizeof(char *) * (size_t)(p->nw.nCol + 1));
  rc = zMap ? readMap(p, zMap, azMap) : SQLITE_OK;
  if (rc == SQLITE_OK) rc = buildCopy(p, azMap, "INSERT", &zSql, &bKeep);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(p->db, zSql, -1, &st, &zTail);
    if (rc == SQLITE_OK && zTail && *zTail) {
      rc = rbErr(p, SQLITE_ERROR,
                 "a column_map expression ends the statement early; give "
                 "one expression per column");
    } else if (rc && rc != SQLITE_NOMEM) {
      char *zFix = fixMsg(p, sqlite3_errmsg(p->db));
      rc = zFix ? rbErr(p, rc, "%s the rows: %s",
                        zMap ? "column_map does not compile; cannot copy"
                             : "cannot copy",
                        zFix)
                : SQLITE_NOMEM;
      sqlite3_free(zFix);
    }
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
      p->nRow = migChanges(p->db);
    } else {
      char *zFix;
      sqlite3_int64 iRow = 0;
      int bFound = 0, rc2 = SQLITE_OK;
      rc = sqlite3_reset(st);
      zFix = fixMsg(p, sqlite3_errmsg(p->db));
      if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        sqlite3_finalize(st);
        st = 0;
        rc2 = firstBadRow(p, azMap, &iRow, &bFound);
      }
      if (zFix == 0 || rc == SQLITE_NOMEM || rc2 == SQLITE_NOMEM) {
        rc = SQLITE_NOMEM;
      } else if (bFound) {
        rc = rbErr(p, rc,
                   "the row with rowid %lld does not fit the new definition "
                   "(%s); fix or delete that row first, or convert its value "
                   "with column_map",
                   iRow, zFix);
      } else {
        rc = rbErr(p, rc, "cannot copy the rows into the new definition: %s",
                   zFix);
      }
      sqlite3_free(zFix);
    }
  }
  sqlite3_finalize(st);
  sqlite3_free(zSql);
  for (i = 0; i < p->nw.nCol; i++) sqlite3_free(azMap[i]);
  sqlite3_free(azMap);
  return rc;
}

/* ======================================================================
** Swapping and recreating
*/

/* DROP the old table, RENAME the new one to its name. */
static int swapTables(Rebuild *p) {
  char *z;
  int rc, rc2, bLegacy = 0;
  z = sqlite3_mprintf("DROP TABLE main.\"%w\"", p->zTab);
  if (z == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(p->db, z, 0, 0, 0);
  sqlite3_free(z);
  if (rc) {
    if (rc == SQLITE_LOCKED) {
      return rbErr(p, rc,
                   "cannot drop the old table: %s (a statement is reading "
                   "it); call migrate_rebuild() as a statement of its own",
                   sqlite3_errmsg(p->db));
    }
    return rbErrDb(p, rc, "DROP TABLE");
  }
  /* legacy_alter_table=ON for the rename alone: views that name the table
  ** would otherwise make it fail, and REFERENCES clauses stay as written */
  rc = sqlite3_db_config(p->db, SQLITE_DBCONFIG_LEGACY_ALTER_TABLE, -1,
                         &bLegacy);
  if (rc == SQLITE_OK) {
    rc = sqlite3_db_config(p->db, SQLITE_DBCONFIG_LEGACY_ALTER_TABLE, 1, 0);
  }
  if (rc) return rbErrDb(p, rc, "setting legacy_alter_table");
  z = sqlite3_mprintf("ALTER TABLE main.\"%w\" RENAME TO \"%w\"", p->zTmp,
                      p->zTab);
  rc = z ? sqlite3_exec(p->db, z, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(z);
  if (rc) rc = rbErrDb(p, rc, "ALTER TABLE ... RENAME TO");
  rc2 =
      sqlite3_db_config(p->db, SQLITE_DBCONFIG_LEGACY_ALTER_TABLE, bLegacy, 0);
  if (rc == SQLITE_OK && rc2)
    rc = rbErrDb(p, rc2, "restoring legacy_alter_table");
  return rc;
}

/* Recreate the saved indexes, in their original order. */
static int recreateIndexes(Rebuild *p) {
  int i, rc = SQLITE_OK;
  for (i = 0; i < p->nSaved && rc == SQLITE_OK; i++) {
    Saved *s = &p->aSaved[i];
    if (strcmp(s->zType, "index") != 0) continue;
    rc = sqlite3_exec(p->db, s->zSql, 0, 0, 0);
    if (rc && rc != SQLITE_NOMEM) {
      const char *zMsg = sqlite3_errmsg(p->db);
      if (strncmp(zMsg, "no such column", 14) == 0) {
        rc = rbErr(p, rc,
                   "index %s uses a column the new definition does not have "
                   "(%s); drop the index before migrate_rebuild() and create "
                   "it again after, or keep the column [%s]",
                   s->zName, zMsg, s->zSql);
      } else {
        rc = rbErr(p, rc, "cannot recreate index %s: %s [%s]", s->zName, zMsg,
                   s->zSql);
      }
    }
  }
  return rc;
}

/* Recreate the saved triggers one at a time, each checked against the new
** definition by preparing INSERT, UPDATE and DELETE on the table.  Runs
** after checkDependents(), so a trigger of another table that one of these
** fires is already known to compile and is not blamed on this one. */
static int recreateTriggers(Rebuild *p) {
  int i, rc, base = 0;
  rc = probeDml(p, "main", p->zTab, &base, 0);
  base &= p->oldMask; /* what worked before and works bare */
  for (i = 0; i < p->nSaved && rc == SQLITE_OK; i++) {
    Saved *s = &p->aSaved[i];
    char **azOf = 0;
    int nOf = 0, k, mask = 0;
    char *zMsg = 0;
    if (strcmp(s->zType, "trigger") != 0) continue;
    if (s->bTemp && sqlite3_strnicmp(s->zSql, "CREATE ", 7) == 0) {
      /* stored as "CREATE TRIGGER ..." in temp.sqlite_schema */
      char *z = sqlite3_mprintf("CREATE TEMP %s", s->zSql + 7);
      rc = z ? sqlite3_exec(p->db, z, 0, 0, 0) : SQLITE_NOMEM;
      sqlite3_free(z);
    } else {
      rc = sqlite3_exec(p->db, s->zSql, 0, 0, 0);
    }
    if (rc) {
      if (rc != SQLITE_NOMEM) {
        rc = rbErr(p, rc, "cannot recreate trigger %s: %s [%s]", s->zName,
                   sqlite3_errmsg(p->db), s->zSql);
      }
      break;
    }
    rc = triggerUpdateOf(s->zSql, &azOf, &nOf);
    for (k = 0; k < nOf && rc == SQLITE_OK; k++) {
      if (shapeFind(&p->nw, azOf[k]) < 0) {
        rc = rbErr(p, SQLITE_ERROR,
                   "trigger %s fires on UPDATE OF %s, a column the new "
                   "definition does not have; drop the trigger before "
                   "migrate_rebuild() and create it again after, or keep the "
                   "column [%s]",
                   s->zName, azOf[k], s->zSql);
      }
    }
    for (k = 0; k < nOf; k++) sqlite3_free(azOf[k]);
    sqlite3_free(azOf);
    if (rc == SQLITE_OK) rc = probeDml(p, "main", p->zTab, &mask, &zMsg);
    if (rc == SQLITE_OK && (base & ~mask) != 0) {
      rc = rbErr(p, SQLITE_ERROR,
                 "trigger %s no longer compiles against the new definition "
                 "(%s); drop the trigger before migrate_rebuild() and create "
                 "it again after, or keep the column [%s]",
                 s->zName, zMsg ? zMsg : "?", s->zSql);
    }
    sqlite3_free(zMsg);
  }
  return rc;
}

/* ======================================================================
** The call
*/

/* Everything between BEGIN/SAVEPOINT and COMMIT/RELEASE. */
static int rebuildBody(Rebuild *p, const char *zCreate, const NewDef *pDef,
                       const char *zMap) {
  int rc = findTable(p);
  if (rc == SQLITE_OK) rc = shapeLoad(p, p->zTab, &p->old);
  if (rc == SQLITE_OK) rc = saveSchema(p);
  if (rc == SQLITE_OK) rc = saveDependents(p);
  if (rc == SQLITE_OK && p->bFk) rc = fkBefore(p);
  if (rc == SQLITE_OK) rc = seqBefore(p);
  if (rc == SQLITE_OK) rc = pickTmpName(p);
  if (rc == SQLITE_OK) rc = createNew(p, zCreate, pDef);
  if (rc == SQLITE_OK) rc = copyRows(p, zMap);
  if (rc == SQLITE_OK) rc = swapTables(p);
  if (rc == SQLITE_OK) rc = recreateIndexes(p);
  if (rc == SQLITE_OK) rc = checkDependents(p);
  if (rc == SQLITE_OK) rc = recreateTriggers(p);
  if (rc == SQLITE_OK) rc = seqAfter(p, pDef->bAutoinc);
  if (rc == SQLITE_OK && p->bFk) rc = fkAfter(p);
  return rc;
}

/* A short excerpt of z for messages.  Caller frees. */
static char *excerpt(const char *z) {
  size_t n = strlen(z);
  while (*z == ' ' || *z == '\n' || *z == '\t') z++, n--;
  if (n > 40) return sqlite3_mprintf("%.40s...", z);
  return sqlite3_mprintf("%s", z);
}

/* Check create_sql; on a problem the body says what. */
static int checkCreate(Rebuild *p, const char *zCreate, NewDef *pDef) {
  int e = parseCreate(zCreate, pDef);
  char *zEx;
  int rc = SQLITE_OK;
  if (e == DEF_NOMEM) return SQLITE_NOMEM;
  zEx = excerpt(zCreate);
  if (zEx == 0) return SQLITE_NOMEM;
  switch (e) {
    case DEF_NOT_CREATE:
    case DEF_SYNTAX:
      rc = rbErr(p, SQLITE_ERROR,
                 "create_sql must be one CREATE TABLE statement, the new "
                 "definition of %s under its own name; got: %s",
                 p->zArg, zEx);
      break;
    case DEF_TEMP:
      rc = rbErr(p, SQLITE_ERROR,
                 "create_sql creates a TEMP table; the rebuilt table stays in "
                 "the main database, so write CREATE TABLE %s (...)",
                 p->zArg);
      break;
    case DEF_VIRTUAL:
      rc = rbErr(p, SQLITE_ERROR,
                 "create_sql creates a virtual table; migrate_rebuild() "
                 "rebuilds ordinary tables only");
      break;
    case DEF_AS:
      rc = rbErr(p, SQLITE_ERROR,
                 "create_sql is CREATE TABLE ... AS SELECT, which declares no "
                 "constraints; write the column definitions");
      break;
    case DEF_MULTI:
      rc = rbErr(p, SQLITE_ERROR,
                 "create_sql holds more than one statement; give exactly one "
                 "CREATE TABLE statement");
      break;
    default:
      if (pDef->zSchema && sqlite3_stricmp(pDef->zSchema, "main") != 0) {
        rc = rbErr(p, SQLITE_ERROR,
                   "create_sql names schema %s; only tables of the main "
                   "database can be rebuilt",
                   pDef->zSchema);
      } else if (sqlite3_stricmp(pDef->zName, p->zArg) != 0) {
        rc = rbErr(p, SQLITE_ERROR,
                   "create_sql defines table %s, not %s; write the new "
                   "definition under the table's own name (rename it "
                   "afterwards with ALTER TABLE ... RENAME TO)",
                   pDef->zName, p->zArg);
      }
      break;
  }
  sqlite3_free(zEx);
  return rc;
}

/* The arguments: table, create_sql, column_map (NULL or JSON text).  On a
** problem the body says what (or *pzErr is complete: a NULL table). */
static int readArgs(Rebuild *p, sqlite3_value **argv, int argc,
                    const char **pzCreate, const char **pzMap, char **pzErr) {
  p->zArg = sqlite3_value_type(argv[0]) == SQLITE_NULL
                ? 0
                : (const char *)sqlite3_value_text(argv[0]);
  if (p->zArg == 0) {
    return migSetError(pzErr, SQLITE_MISUSE,
                       "migrate_rebuild(): table is NULL; give the name of "
                       "the table to rebuild");
  }
  *pzCreate = sqlite3_value_type(argv[1]) == SQLITE_NULL
                  ? 0
                  : (const char *)sqlite3_value_text(argv[1]);
  if (*pzCreate == 0) {
    return rbErr(p, SQLITE_MISUSE,
                 "create_sql is NULL; give the table's new definition, "
                 "CREATE TABLE %s (...)",
                 p->zArg);
  }
  if (argc > 2 && sqlite3_value_type(argv[2]) != SQLITE_NULL) {
    if (sqlite3_value_type(argv[2]) != SQLITE_TEXT) {
      return rbErr(p, SQLITE_MISMATCH,
                   "column_map must be JSON text such as '{\"new column\": "
                   "\"old column or expression\"}', or NULL");
    }
    *pzMap = (const char *)sqlite3_value_text(argv[2]);
    if (*pzMap == 0) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* Foreign keys off, BEGIN IMMEDIATE or SAVEPOINT migrate_rebuild; on a
** problem the body says what. */
static int openFrame(Rebuild *p, MigTxn *t) {
  int rc = migTxnFkOff(t);
  p->bFk = t->bFk;
  if (rc) return rbErrDb(p, rc, "switching foreign keys off");
  rc = migTxnBegin(t);
  if (rc == SQLITE_BUSY) {
    return rbErr(p, rc,
                 "cannot take the write lock: %s (another connection is "
                 "writing; set a busy timeout to wait for it)",
                 sqlite3_errmsg(p->db));
  }
  if (rc) return rbErrDb(p, rc, t->bAuto ? "BEGIN IMMEDIATE" : "SAVEPOINT");
  return SQLITE_OK;
}

/* COMMIT or RELEASE; on a problem the body says what. */
static int commitFrame(Rebuild *p, MigTxn *t) {
  int rc = migTxnCommit(t);
  if (rc) {
    rc = rbErr(p, rc, "cannot commit: %s%s", sqlite3_errmsg(p->db),
               rc == SQLITE_BUSY ? " (other connections are reading; set "
                                   "a busy timeout to wait for them)"
                                 : "");
  }
  return rc;
}

/* After a failure inside the frame: roll back; when SQLite had already
** rolled back the caller's whole transaction, or the rollback failed, the
** complete message (p->zFinal) says so. */
static void rollbackFrame(Rebuild *p, MigTxn *t, int rc) {
  const char *zBody = p->zErr ? p->zErr : sqlite3_errstr(rc);
  int eUndo = migTxnRollback(t);
  if (eUndo == MIG_TXN_LOST) {
    p->zFinal = sqlite3_mprintf(
        "migrate_rebuild('%s'): %s; SQLite rolled back the caller's "
        "whole transaction, so everything since its BEGIN is undone",
        p->zArg, zBody);
  } else if (eUndo == MIG_TXN_STUCK) {
    /* never claim "nothing was changed" when the undo itself failed */
    p->zFinal = sqlite3_mprintf(
        "migrate_rebuild('%s'): %s; then rolling back failed too (%s), so "
        "%s",
        p->zArg, zBody, sqlite3_errmsg(p->db),
        t->bAuto ? "the connection may still be inside the transaction: "
                   "ROLLBACK it"
                 : "ROLLBACK the whole transaction");
  }
}

/* migrate_rebuild(): returns an SQLite code; *pzErr a complete message. */
static int rebuildRun(Rebuild *p, sqlite3_value **argv, int argc,
                      char **pzErr) {
  const char *zCreate = 0, *zMap = 0;
  NewDef def;
  MigTxn t;
  int rc, bLegacy = 0;
  memset(&def, 0, sizeof(def));
  migTxnInit(&t, p->db, RB_SAVEPOINT);
  *pzErr = 0;
  rc = readArgs(p, argv, argc, &zCreate, &zMap, pzErr);
  if (rc && p->zArg == 0) return rc;
  if (rc == SQLITE_OK) {
    char *zWho = sqlite3_mprintf("migrate_rebuild('%s')", p->zArg);
    rc = zWho ? migCheckIdle(p->db, 1, zWho, pzErr) : SQLITE_NOMEM;
    sqlite3_free(zWho);
    if (rc) return rc;
    if (sqlite3_db_readonly(p->db, "main") == 1) {
      rc = rbErr(p, SQLITE_READONLY,
                 "the database is read-only on this connection (opened with "
                 "mode=ro or SQLITE_OPEN_READONLY, or a file this process "
                 "may not write); open it read-write and call again");
    }
  }
  if (rc == SQLITE_OK) {
    rc = checkCreate(p, zCreate, &def);
  }
  if (rc == SQLITE_OK) {
    /* cannot fail: the option exists in every supported SQLite */
    sqlite3_db_config(p->db, SQLITE_DBCONFIG_LEGACY_ALTER_TABLE, -1, &bLegacy);
    rc = openFrame(p, &t);
    if (rc == SQLITE_OK) {
      rc = rebuildBody(p, zCreate, &def, zMap);
      if (rc == SQLITE_OK) rc = commitFrame(p, &t);
    }
    if (rc) rollbackFrame(p, &t, rc);
    migTxnEnd(&t);
    sqlite3_db_config(p->db, SQLITE_DBCONFIG_LEGACY_ALTER_TABLE, bLegacy, 0);
  }
  sqlite3_free(def.zSchema);
  sqlite3_free(def.zName);
  if (rc && rc != SQLITE_NOMEM) {
    if (p->zFinal) {
      *pzErr = p->zFinal;
      p->zFinal = 0;
    } else {
      *pzErr = sqlite3_mprintf(
          "migrate_rebuild('%s'): %s. Nothing was "
          "changed",
          p->zArg, p->zErr ? p->zErr : sqlite3_errstr(rc));
    }
    if (*pzErr == 0) rc = SQLITE_NOMEM;
  }
  return rc;
}

/* migrate_rebuild(table, create_sql [, column_map]) */
static void fnRebuild(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Rebuild r;
  char *zErr = 0;
  int rc;
  memset(&r, 0, sizeof(r));
  r.db = sqlite3_context_db_handle(ctx);
  r.old.iIpk = r.nw.iIpk = -1;
  rc = rebuildRun(&r, argv, argc, &zErr);
  if (rc == SQLITE_OK) {
    sqlite3_result_int64(ctx, r.nRow);
  } else {
    migResultError(ctx, rc, zErr);
  }
  sqlite3_free(zErr);
  rbFree(&r);
}

/* Register migrate_rebuild(): see the declaration at the top. */
int migRegisterRebuild(sqlite3 *db, char **pzErr) {
  /* changes the database: DIRECTONLY */
  int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
  int rc = sqlite3_create_function_v2(db, "migrate_rebuild", 2, flags, 0,
                                      fnRebuild, 0, 0, 0);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "migrate_rebuild", 3, flags, 0,
                                    fnRebuild, 0, 0, 0);
  }
  if (rc && pzErr) {
    *pzErr = sqlite3_mprintf("cannot register migrate_rebuild(): %s",
                             sqlite3_errmsg(db));
  }
  return rc;
}
