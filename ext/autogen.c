/*
** autogen.c — the schema differ: the SQL script that turns one schema into
** another (sqlite-migrate revision --autogenerate, diff, check; the SQL
** function migrate_diff()).
**
**     SELECT migrate_diff('CREATE TABLE t(a)',
**                         'CREATE TABLE t(a, b INTEGER DEFAULT 0)');
**       -> 'ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 0;\n'
**     SELECT migrate_diff('CREATE TABLE t(a)',
**                         'CREATE TABLE t(a, b INTEGER DEFAULT 0)',
**                         'downgrade');
**       -> '-- destructive: drops column t.b and its values\n'
**          'ALTER TABLE t DROP COLUMN b;\n'
**
**     char *zUp, *zDown, *zErr;
**     migrate_diff(zHeadSql, "the history's head", zDeclared, "schema.sql",
**                  &zUp, &zDown, &zErr);
**
** Both schemas are SQL text run on scratch ":memory:" databases (a live
** database is first written out with migrate_schema_sql()).  The second
** one is a declared schema: only CREATE TABLE, INDEX, VIEW, TRIGGER and
** VIRTUAL TABLE statements and comments; anything else is refused naming
** the line.  A rename is declared, never guessed:
**
**     -- migrate:renamed-from old_table
**     CREATE TABLE new_table (
**         id INTEGER PRIMARY KEY,
**         -- migrate:renamed-from old_column
**         new_column TEXT
**     );
**
** The comment renames a table when it stands on its own line in the
** comments above CREATE TABLE, and a column when it stands on its own line
** inside CREATE TABLE directly above the column's definition (only blank
** lines and other comments between).  Anywhere else it is an error.
**
** How it works.  Objects are matched by kind and name (declared renames
** first).  A matched object the schema comparison of migrate_check
** (schema.c) finds equal gets no statement.  Everything else is written in
** this order, each statement's effect also made on a work copy of the
** first schema (see below):
**
**   1. DROP TRIGGER / DROP VIEW for those that changed, went away, or
**      mention a table, virtual table or view that changes or goes (the
**      closure over views), and DROP INDEX for indexes that changed or went;
**   2. DROP TABLE for virtual tables that changed or went;
**   3. ALTER TABLE ... RENAME TO for declared table renames;
**   4. CREATE TABLE for new tables, referenced tables first; DROP TABLE
**      for tables that went and that no remaining table references
**      (referencing tables first), so no change of a table they reference
**      breaks their foreign keys;
**   5. each changed table, referenced tables first: first tried with ALTER
**      TABLE (RENAME COLUMN for declared renames, DROP COLUMN on SQLite
**      3.35+, ADD COLUMN for new columns after all kept ones, where the
**      column's default fits rows already there: agCanAdd()) on a scratch
**      copy of that one table (agTry()); SQLite itself says whether it
**      allows them, and the comparison says whether the result is the
**      declared table.  Otherwise SELECT migrate_rebuild(table, create_sql,
**      column_map) with the declared renames in the column map;
**   6. DROP TABLE for the other tables that went, each as soon as the
**      tables that referenced it have changed (and lost those references)
**      and before a changed table it references (agNextChangeOrDrop());
**   7. CREATE VIRTUAL TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER for
**      what is new or was dropped in step 1 and 2, in declared order.
**
** Statements that lose data carry "-- destructive: ..." above them.  At the
** end the work copy is compared with the second schema; a difference is an
** error (the differ never hands out a script that does not do its job).
** The downgrade is the same run the other way round, renames inverted.
**
** The work copy.  CREATE, DROP and RENAME statements run on it as written.
** A changed table's statements do not: in SQLite every ALTER TABLE re-reads
** the whole schema and migrate_rebuild() checks every view and trigger, so
** running them costs (changed tables) x (all tables).  The table is
** replaced instead (agWorkReplace()): after ALTER TABLE statements by the
** table they gave on the scratch copy (SQLite's own result), after a
** rebuild by the declared CREATE TABLE and the table's indexes (what
** migrate_rebuild() leaves; the views and triggers that mention the table
** were dropped in step 1).  ALTER TABLE with RENAME COLUMN still runs on the
** work copy: SQLite rewrites other tables' references to the column too.
**
** The text scanning here (statement kind, renamed-from comments, column
** definitions, which names a view or trigger mentions) reads tokens with
** the engine's one tokenizer (sqltok.c); statements are split by
** script.c's migSplitNext().
*/
#include "internal.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* Object kinds, in the order schema.c numbers them. */
enum { AG_TABLE, AG_VTAB, AG_INDEX, AG_VIEW, AG_TRIGGER };
static const char *const azAgKind[] = {"TABLE", "TABLE", "INDEX", "VIEW",
                                       "TRIGGER"};

/* What a column is, as far as ADD COLUMN cares. */
#define AGC_NOTNULL 1 /* NOT NULL */
#define AGC_FKEY    2 /* in a foreign key */
#define AGC_GEN     4 /* generated (VIRTUAL or STORED) */
#define AGC_STORED  8 /* generated STORED */

/* What happens to an object in one run. */
enum { FATE_SAME, FATE_CHANGED, FATE_NEW, FATE_GONE };

#define AG_NOTE "migrate:renamed-from"

/* ======================================================================
** Scanning, with the engine's one tokenizer (sqltok.c)
*/

/* The token at z: its kind (MIG_TK_*) in *pe; returns where it ends. */
static const char *agTok(const char *z, int *pe) {
  return z + migSqlToken(z, pe);
}

/* The next token at or after z that is not space or a comment: *pzStart,
** kind *pe; returns its end. */
static const char *agNext(const char *z, const char **pzStart, int *pe) {
  z += migSqlSkipSpace(z, 0);
  *pzStart = z;
  return agTok(z, pe);
}

/* Is z[0..n) the word zWord (any case)? */
static int agIsWord(const char *z, size_t n, const char *zWord) {
  return strlen(zWord) == n && sqlite3_strnicmp(z, zWord, (int)n) == 0;
}

/* If the comment z[0..n) is "-- migrate:renamed-from NAME", the NAME
** (caller frees; "" when it names nothing), else NULL with *pbNote 0. */
static char *agNoteName(const char *z, size_t n, int *pbNote) {
  size_t i = 2, nNote = strlen(AG_NOTE), j;
  *pbNote = 0;
  if (n < 2 || z[0] != '-' || z[1] != '-') return 0;
  while (i < n && migSqlIsSpace(z[i])) i++;
  if (n - i < nNote || memcmp(z + i, AG_NOTE, nNote) != 0) return 0;
  i += nNote;
  if (i < n && !migSqlIsSpace(z[i])) return 0;
  *pbNote = 1;
  while (i < n && migSqlIsSpace(z[i])) i++;
  j = n;
  while (j > i && migSqlIsSpace(z[j - 1])) j--;
  return migSqlUnquote(z + i, j - i);
}

/* Does the line of z[0..iAt) hold only spaces before offset iAt? */
static int agOwnLine(const char *z, size_t iAt) {
  while (iAt > 0 && z[iAt - 1] != '\n') {
    if (!migSqlIsSpace(z[iAt - 1])) return 0;
    iAt--;
  }
  return 1;
}

/* zSql without its renamed-from comment lines (caller frees). */
static char *agStripNotes(const char *zSql) {
  MigStr s = {0};
  const char *z = zSql, *zCopied = zSql;
  int e;
  while (1) {
    const char *zEnd = agTok(z, &e);
    if (e == MIG_TK_EOF) break;
    if (e == MIG_TK_COMMENT) {
      int bNote;
      char *zName = agNoteName(z, (size_t)(zEnd - z), &bNote);
      sqlite3_free(zName);
      if (bNote && agOwnLine(zSql, (size_t)(z - zSql))) {
        const char *zLine = z;
        while (zLine > zSql && zLine[-1] != '\n') zLine--;
        migStrAppend(&s, zCopied, (size_t)(zLine - zCopied));
        zCopied = *zEnd == '\n' ? zEnd + 1 : zEnd;
      }
    }
    z = zEnd;
  }
  migStrAppendZ(&s, zCopied);
  return migStrFinish(&s);
}

/* The CREATE statement z's kind (AG_*), or -1 for anything else; *pzWord
** gets its first word(s) for messages (caller frees); *pbTemp says TEMP;
** *pzName the object's name (caller frees; NULL when -1). */
static int agCreateKind(const char *z, char **pzWord, int *pbTemp,
                        char **pzName) {
  const char *zS, *zE;
  int e, eKind = -1;
  *pbTemp = 0;
  *pzName = 0;
  zE = agNext(z, &zS, &e);
  if (e != MIG_TK_WORD || !agIsWord(zS, (size_t)(zE - zS), "CREATE")) {
    *pzWord = sqlite3_mprintf("%.*s", (int)(zE - zS), zS);
    if (*pzWord) {
      char *q;
      for (q = *pzWord; *q; q++) {
        if (*q >= 'a' && *q <= 'z') *q = (char)(*q - 32);
      }
    }
    return -1;
  }
  zE = agNext(zE, &zS, &e);
  if (e == MIG_TK_WORD && (agIsWord(zS, (size_t)(zE - zS), "TEMP") ||
                           agIsWord(zS, (size_t)(zE - zS), "TEMPORARY"))) {
    *pbTemp = 1;
    zE = agNext(zE, &zS, &e);
  }
  if (e == MIG_TK_WORD && agIsWord(zS, (size_t)(zE - zS), "UNIQUE")) {
    zE = agNext(zE, &zS, &e);
    if (e == MIG_TK_WORD && agIsWord(zS, (size_t)(zE - zS), "INDEX")) {
      eKind = AG_INDEX;
    }
  } else if (e == MIG_TK_WORD && agIsWord(zS, (size_t)(zE - zS), "VIRTUAL")) {
    zE = agNext(zE, &zS, &e);
    if (e == MIG_TK_WORD && agIsWord(zS, (size_t)(zE - zS), "TABLE")) {
      eKind = AG_VTAB;
    }
  } else if (e == MIG_TK_WORD) {
    int k;
    for (k = 0; k < 5; k++) {
      if (k != AG_VTAB && agIsWord(zS, (size_t)(zE - zS), azAgKind[k])) {
        eKind = k;
      }
    }
  }
  *pzWord = sqlite3_mprintf("CREATE %s%.*s", *pbTemp ? "TEMP " : "",
                            (int)(zE - zS), zS);
  if (eKind < 0) return -1;
  /* [IF NOT EXISTS] [schema.]name */
  zE = agNext(zE, &zS, &e);
  if (e == MIG_TK_WORD && agIsWord(zS, (size_t)(zE - zS), "IF")) {
    zE = agNext(zE, &zS, &e); /* NOT */
    zE = agNext(zE, &zS, &e); /* EXISTS */
    zE = agNext(zE, &zS, &e);
  }
  {
    const char *zS2, *zE2;
    int e2;
    zE2 = agNext(zE, &zS2, &e2);
    if (e2 == MIG_TK_PUNCT && *zS2 == '.') {
      zE = agNext(zE2, &zS, &e);
    }
  }
  *pzName = migSqlUnquote(zS, (size_t)(zE - zS));
  return eKind;
}

/* The definition of column zCol in CREATE TABLE zSql, as written (caller
** frees), or NULL when not found. */
static char *agColumnDef(const char *zSql, const char *zCol) {
  const char *z = zSql, *zS, *zE, *zItem = 0, *zLast = 0;
  int e, nDepth = 0, bStart = 0;
  /* to the body's "(" */
  for (;;) {
    z = agNext(z, &zS, &e);
    if (e == MIG_TK_EOF) return 0;
    if (e == MIG_TK_PUNCT && *zS == '(') break;
  }
  nDepth = 1;
  bStart = 1;
  for (;;) {
    zE = agNext(z, &zS, &e);
    if (e == MIG_TK_EOF) return 0;
    if (bStart) {
      char *zName = migSqlUnquote(zS, (size_t)(zE - zS));
      int bHit = zName && sqlite3_stricmp(zName, zCol) == 0;
      sqlite3_free(zName);
      zItem = bHit ? zS : 0;
      bStart = 0;
    }
    if (e == MIG_TK_PUNCT && *zS == '(') nDepth++;
    if (e == MIG_TK_PUNCT && (*zS == ')' || *zS == ',') && nDepth == 1) {
      /* the item ends with its last token: no space or comment after */
      if (zItem) return sqlite3_mprintf("%.*s", (int)(zLast - zItem), zItem);
      if (*zS == ')') return 0;
      bStart = 1;
    } else if (e == MIG_TK_PUNCT && *zS == ')') {
      nDepth--;
    }
    zLast = zE;
    z = zE;
  }
}

/* ======================================================================
** One schema: scratch database, objects, snapshot, declared renames
*/

typedef struct AgObj {
  int eType;
  const char *zName, *zTbl, *zSql; /* zSql without renamed-from lines */
  int nCol;
  const char **azCol, **azType; /* tables: columns in declared order */
  const char **azDflt;          /* default as PRAGMA table_info shows it */
  int *aColFlags;               /* AGC_* per column */
  const char **azColFrom;       /* declared "renamed-from" per column */
  int *aiColLine;
  int nParent;
  const char **azParent; /* tables a table's foreign keys reference */
  const char *zFrom;     /* declared "renamed-from" of a table */
  int iFromLine;
  /* one run's state */
  int iPeer;     /* index of the matching object on the other side, or -1 */
  int *aColPeer; /* tables: per column, the other side's column, or -1 */
  int eFate;
  int bTouched; /* view/trigger dropped and created again */
  int bDone;
} AgObj;

typedef struct AgNote {
  char *zTable, *zCol, *zFrom;
  int iLine;
} AgNote;

typedef struct AgSide {
  MigArena arena;
  const char *zLabel; /* "schema.sql", "to_sql", ... */
  sqlite3 *db;
  MigSchema *pSnap;
  int nObj;
  AgObj *aObj;
  int nNote, nNoteAlloc;
  AgNote *aNote;
} AgSide;

static void agSideFree(AgSide *s) {
  int i;
  for (i = 0; i < s->nNote; i++) {
    sqlite3_free(s->aNote[i].zTable);
    sqlite3_free(s->aNote[i].zCol);
    sqlite3_free(s->aNote[i].zFrom);
  }
  sqlite3_free(s->aNote);
  migSchemaFree(s->pSnap);
  if (s->db) sqlite3_close(s->db);
  migArenaFree(&s->arena);
  memset(s, 0, sizeof(*s));
}

/* Copy of z into the side's arena ("" for NULL); NULL on OOM. */
static const char *agDup(AgSide *s, const char *z) {
  if (z == 0) z = "";
  return migArenaStrndup(&s->arena, z, strlen(z));
}

/* Record a declared rename (takes ownership of the strings). */
static int agAddNote(AgSide *s, char *zTable, char *zCol, char *zFrom,
                     int iLine) {
  if (s->nNote >= s->nNoteAlloc) {
    int nNew = s->nNoteAlloc ? s->nNoteAlloc * 2 : 8;
    AgNote *aNew = sqlite3_realloc64(s->aNote, sizeof(AgNote) * (size_t)nNew);
    if (aNew == 0) {
      sqlite3_free(zTable);
      sqlite3_free(zCol);
      sqlite3_free(zFrom);
      return SQLITE_NOMEM;
    }
    s->aNote = aNew;
    s->nNoteAlloc = nNew;
  }
  s->aNote[s->nNote].zTable = zTable;
  s->aNote[s->nNote].zCol = zCol;
  s->aNote[s->nNote].zFrom = zFrom;
  s->aNote[s->nNote].iLine = iLine;
  s->nNote++;
  return SQLITE_OK;
}

static const char zNoteHelp[] =
    "it renames a table on its own line above CREATE TABLE, or a column on "
    "its own line inside CREATE TABLE above the column's definition";

/* The renamed-from comments inside CREATE TABLE zStmt (table zTable,
** starting on line iLine): each must stand above a column definition. */
static int agColumnNotes(AgSide *s, const char *zStmt, int iLine,
                         const char *zTable, char **pzErr) {
  const char *z = zStmt, *zE;
  int e, nDepth = 0, bStart = 0, rc = SQLITE_OK;
  char *zPending = 0;
  int iPending = 0;
  while (rc == SQLITE_OK) {
    zE = agTok(z, &e);
    if (e == MIG_TK_EOF) break;
    if (e == MIG_TK_COMMENT) {
      int bNote;
      char *zName = agNoteName(z, (size_t)(zE - z), &bNote);
      int iAt = iLine + migSqlLines(zStmt, (size_t)(z - zStmt));
      if (bNote && zName == 0) return SQLITE_NOMEM;
      if (bNote && (!bStart || zPending ||
                    !agOwnLine(zStmt, (size_t)(z - zStmt)) || zName[0] == 0)) {
        rc = migSetError(pzErr, SQLITE_ERROR,
                         "%s:%d: '-- " AG_NOTE
                         " %s' in CREATE TABLE %s does "
                         "not stand on its own line directly above a column "
                         "definition%s; %s",
                         s->zLabel, iAt, zName, zTable,
                         zName[0] ? "" : " (and names no column)", zNoteHelp);
        sqlite3_free(zName);
        break;
      }
      if (bNote) {
        zPending = zName;
        iPending = iAt;
      }
    } else if (e != MIG_TK_SPACE) {
      if (zPending) {
        static const char *azCons[] = {"CONSTRAINT", "PRIMARY", "UNIQUE",
                                       "CHECK", "FOREIGN"};
        size_t k;
        int bCons = e != MIG_TK_WORD && e != MIG_TK_QUOTED;
        for (k = 0; k < sizeof(azCons) / sizeof(azCons[0]); k++) {
          if (e == MIG_TK_WORD && agIsWord(z, (size_t)(zE - z), azCons[k])) {
            bCons = 1;
          }
        }
        if (bCons) {
          rc = migSetError(pzErr, SQLITE_ERROR,
                           "%s:%d: '-- " AG_NOTE
                           " %s' in CREATE TABLE %s "
                           "stands above a table constraint, not a column "
                           "definition; %s",
                           s->zLabel, iPending, zPending, zTable, zNoteHelp);
          break;
        }
        {
          char *zCol = migSqlUnquote(z, (size_t)(zE - z));
          char *zTab = sqlite3_mprintf("%s", zTable);
          if (zCol == 0 || zTab == 0) {
            sqlite3_free(zCol);
            sqlite3_free(zTab);
            rc = SQLITE_NOMEM;
            break;
          }
          rc = agAddNote(s, zTab, zCol, zPending, iPending);
          zPending = 0;
        }
      }
      bStart = 0;
      if (e == MIG_TK_PUNCT && *z == '(') {
        if (++nDepth == 1) bStart = 1;
      } else if (e == MIG_TK_PUNCT && *z == ')') {
        nDepth--;
      } else if (e == MIG_TK_PUNCT && *z == ',' && nDepth == 1) {
        bStart = 1;
      }
    }
    z = zE;
  }
  if (rc == SQLITE_OK && zPending) {
    rc = migSetError(pzErr, SQLITE_ERROR,
                     "%s:%d: '-- " AG_NOTE
                     " %s' in CREATE TABLE %s is not "
                     "followed by a column definition; %s",
                     s->zLabel, iPending, zPending, zTable, zNoteHelp);
  }
  sqlite3_free(zPending);
  return rc;
}

/* The renamed-from comments in z[0..n) (text between statements, starting
** on line iLine): at most one, returned in *pzFrom / *piLine. */
static int agGapNotes(AgSide *s, const char *z, size_t n, int iLine,
                      const char *zAll, char **pzFrom, int *piLine,
                      char **pzErr) {
  size_t i = 0;
  while (i < n) {
    int e;
    const char *zE = agTok(z + i, &e);
    size_t iEnd = (size_t)(zE - z);
    if (iEnd > n) iEnd = n;
    if (e == MIG_TK_COMMENT) {
      int bNote;
      char *zName = agNoteName(z + i, iEnd - i, &bNote);
      int iAt = iLine + migSqlLines(z, i);
      if (bNote && zName == 0) return SQLITE_NOMEM;
      if (bNote && (*pzFrom || zName[0] == 0 ||
                    !agOwnLine(zAll, (size_t)(z + i - zAll)))) {
        int rc = migSetError(
            pzErr, SQLITE_ERROR, "%s:%d: '-- " AG_NOTE "%s%s' %s; %s",
            s->zLabel, iAt, zName[0] ? " " : "", zName,
            zName[0] == 0 ? "names no table"
            : *pzFrom     ? "is the second one above the same statement"
                          : "does not stand on its own line",
            zNoteHelp);
        sqlite3_free(zName);
        return rc;
      }
      if (bNote) {
        *pzFrom = zName;
        *piLine = iAt;
      }
    }
    if (e == MIG_TK_EOF) break;
    i = iEnd;
  }
  return SQLITE_OK;
}

/* Run one statement of a schema text (line iLine, 1-based), refusing what
** a declared schema may not hold; a pending renamed-from (zFrom) applies
** to it. */
static int agRunStatement(AgSide *s, const char *zStmt, int iLine, int bNotes,
                          char **pzFrom, int iFromLine, char **pzErr) {
  char *zWord = 0, *zName = 0;
  int bTemp, rc = SQLITE_OK;
  int eKind = agCreateKind(zStmt, &zWord, &bTemp, &zName);
  sqlite3_stmt *st = 0;
  if (zWord == 0) {
    sqlite3_free(zName);
    return SQLITE_NOMEM;
  }
  if (eKind < 0 || bTemp) {
    rc = migSetError(pzErr, SQLITE_ERROR,
                     "%s:%d: %s does not belong in a schema: it holds CREATE "
                     "TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER and "
                     "CREATE VIRTUAL TABLE statements for the main database, "
                     "and comments",
                     s->zLabel, iLine, zWord);
    goto done;
  }
  if (*pzFrom && eKind != AG_TABLE) {
    rc = migSetError(
        pzErr, SQLITE_ERROR, "%s:%d: '-- " AG_NOTE " %s' stands above %s; %s%s",
        s->zLabel, iFromLine, *pzFrom, zWord, zNoteHelp,
        eKind == AG_VTAB ? " (a virtual table is created and dropped, never "
                           "renamed)"
                         : "");
    goto done;
  }
  rc = sqlite3_prepare_v2(s->db, zStmt, -1, &st, 0);
  if (rc == SQLITE_OK && st) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  if (rc) {
    rc = migSetError(pzErr, rc == SQLITE_NOMEM ? rc : SQLITE_ERROR, "%s:%d: %s",
                     s->zLabel, iLine, sqlite3_errmsg(s->db));
    goto done;
  }
  if (bNotes && *pzFrom) {
    char *zTab = sqlite3_mprintf("%s", zName);
    if (zTab == 0) {
      rc = SQLITE_NOMEM;
      goto done;
    }
    rc = agAddNote(s, zTab, 0, *pzFrom, iFromLine);
    *pzFrom = 0;
    if (rc) goto done;
  }
  if (bNotes && eKind == AG_TABLE) {
    rc = agColumnNotes(s, zStmt, iLine, zName, pzErr);
  }
done:
  sqlite3_finalize(st);
  sqlite3_free(zWord);
  sqlite3_free(zName);
  return rc;
}

/* Run schema text zSql on the side's new scratch database; with bNotes
** its renamed-from comments are recorded. */
static int agRunText(AgSide *s, const char *zSql, int bNotes, char **pzErr) {
  size_t n = strlen(zSql);
  char *zBuf = sqlite3_malloc64(n + 1);
  MigSplit sp;
  const char *zStmt, *zPrev;
  size_t nStmt;
  int iLine, iPrevLine = 0, rc = SQLITE_OK, iFromLine = 0;
  char *zFrom = 0;
  if (zBuf == 0) return SQLITE_NOMEM;
  memcpy(zBuf, zSql, n + 1);
  memset(&sp, 0, sizeof(sp));
  sp.z = zBuf;
  zPrev = zBuf;
  while (rc == SQLITE_OK && migSplitNext(&sp, &zStmt, &nStmt, &iLine)) {
    char cSave;
    if (bNotes) {
      rc = agGapNotes(s, zPrev, (size_t)(zStmt - zPrev), iPrevLine + 1, zBuf,
                      &zFrom, &iFromLine, pzErr);
      if (rc) break;
    }
    cSave = zBuf[(zStmt - zBuf) + (ptrdiff_t)nStmt];
    zBuf[(zStmt - zBuf) + (ptrdiff_t)nStmt] = 0;
    rc = agRunStatement(s, zStmt, iLine + 1, bNotes, &zFrom, iFromLine, pzErr);
    zBuf[(zStmt - zBuf) + (ptrdiff_t)nStmt] = cSave;
    iPrevLine = iLine + migSqlLines(zStmt, nStmt);
    zPrev = zStmt + nStmt;
  }
  if (rc == SQLITE_OK && sp.rc) rc = sp.rc; /* the splitter ran out of memory */
  if (rc == SQLITE_OK && bNotes) {
    rc = agGapNotes(s, zPrev, strlen(zPrev), iPrevLine + 1, zBuf, &zFrom,
                    &iFromLine, pzErr);
    if (rc == SQLITE_OK && zFrom) {
      rc = migSetError(pzErr, SQLITE_ERROR,
                       "%s:%d: '-- " AG_NOTE
                       " %s' is not followed by a "
                       "CREATE TABLE statement; %s",
                       s->zLabel, iFromLine, zFrom, zNoteHelp);
    }
  }
  sqlite3_free(zFrom);
  sqlite3_free(zBuf);
  return rc;
}

/* Prepare zSql on db; SQLITE_OK or an error naming zWhat. */
static int agPrepare(sqlite3 *db, const char *zSql, sqlite3_stmt **pSt,
                     const char *zWhat, char **pzErr) {
  int rc = sqlite3_prepare_v2(db, zSql, -1, pSt, 0);
  if (rc) {
    rc =
        migSetError(pzErr, rc, "cannot read %s: %s", zWhat, sqlite3_errmsg(db));
  }
  return rc;
}

/* Index of column zName of table o, or -1. */
static int agFindCol(const AgObj *o, const char *zName) {
  int i;
  for (i = 0; i < o->nCol; i++) {
    if (sqlite3_stricmp(o->azCol[i], zName) == 0) return i;
  }
  return -1;
}

/* The statements agTableInfo() runs, prepared once per side. */
static const char zAgColsSql[] =
    "SELECT name, type, \"notnull\", dflt_value, hidden "
    "FROM pragma_table_xinfo(?1) ORDER BY cid";
static const char zAgParentsSql[] =
    "SELECT \"table\", \"from\" FROM pragma_foreign_key_list(?1)";

/* Make room for entry i of o's column arrays (capacity *pnCap, doubled in
** the side's arena when full). */
static int agColRoom(AgSide *s, AgObj *o, int i, int *pnCap) {
  int nNew = *pnCap ? *pnCap * 2 : 8;
  const char **azCol, **azType, **azFrom, **azDflt;
  int *aiLine, *aFlags;
  if (i < *pnCap) return SQLITE_OK;
  azCol = migArenaAlloc(&s->arena, sizeof(char *) * (size_t)nNew);
  azType = migArenaAlloc(&s->arena, sizeof(char *) * (size_t)nNew);
  azFrom = migArenaAlloc(&s->arena, sizeof(char *) * (size_t)nNew);
  azDflt = migArenaAlloc(&s->arena, sizeof(char *) * (size_t)nNew);
  aiLine = migArenaAlloc(&s->arena, sizeof(int) * (size_t)nNew);
  aFlags = migArenaAlloc(&s->arena, sizeof(int) * (size_t)nNew);
  if (!azCol || !azType || !azFrom || !azDflt || !aiLine || !aFlags) {
    return SQLITE_NOMEM;
  }
  memset(azFrom, 0, sizeof(char *) * (size_t)nNew);
  memset(azDflt, 0, sizeof(char *) * (size_t)nNew);
  memset(aiLine, 0, sizeof(int) * (size_t)nNew);
  memset(aFlags, 0, sizeof(int) * (size_t)nNew);
  if (i > 0) {
    memcpy(azCol, o->azCol, sizeof(char *) * (size_t)i);
    memcpy(azType, o->azType, sizeof(char *) * (size_t)i);
    memcpy(azDflt, o->azDflt, sizeof(char *) * (size_t)i);
    memcpy(aFlags, o->aColFlags, sizeof(int) * (size_t)i);
  }
  o->azCol = azCol;
  o->azType = azType;
  o->azColFrom = azFrom;
  o->azDflt = azDflt;
  o->aiColLine = aiLine;
  o->aColFlags = aFlags;
  *pnCap = nNew;
  return SQLITE_OK;
}

/* Add zParent to o's referenced tables unless it is there (capacity
** *pnCap, doubled in the side's arena when full). */
static int agAddParent(AgSide *s, AgObj *o, const char *zParent, int *pnCap) {
  int k;
  for (k = 0; k < o->nParent; k++) {
    if (sqlite3_stricmp(o->azParent[k], zParent) == 0) return SQLITE_OK;
  }
  if (o->nParent >= *pnCap) {
    int nNew = *pnCap ? *pnCap * 2 : 4;
    const char **az = migArenaAlloc(&s->arena, sizeof(char *) * (size_t)nNew);
    if (az == 0) return SQLITE_NOMEM;
    if (o->nParent) {
      memcpy(az, o->azParent, sizeof(char *) * (size_t)o->nParent);
    }
    o->azParent = az;
    *pnCap = nNew;
  }
  o->azParent[o->nParent] = agDup(s, zParent);
  if (o->azParent[o->nParent] == 0) return SQLITE_NOMEM;
  o->nParent++;
  return SQLITE_OK;
}

/* Columns and referenced tables of table o, read with stCols (zAgColsSql)
** and stFk (zAgParentsSql), each run once; both are left reset. */
static int agTableInfo(AgSide *s, AgObj *o, sqlite3_stmt *stCols,
                       sqlite3_stmt *stFk) {
  sqlite3_stmt *st = stCols;
  int rc, nCap = 0, i = 0;
  rc = agColRoom(s, o, 0, &nCap); /* a table without rows still has arrays */
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, o->zName, -1, 0);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    int eHidden = sqlite3_column_int(st, 4);
    rc = agColRoom(s, o, i, &nCap);
    if (rc) break;
    o->azCol[i] = agDup(s, (const char *)sqlite3_column_text(st, 0));
    o->azType[i] = agDup(s, (const char *)sqlite3_column_text(st, 1));
    if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
      o->azDflt[i] = agDup(s, (const char *)sqlite3_column_text(st, 3));
      if (o->azDflt[i] == 0) rc = SQLITE_NOMEM;
    }
    o->aColFlags[i] = (sqlite3_column_int(st, 2) ? AGC_NOTNULL : 0) |
                      (eHidden >= 2 ? AGC_GEN : 0) |
                      (eHidden == 3 ? AGC_STORED : 0);
    if (o->azCol[i] == 0 || o->azType[i] == 0) rc = SQLITE_NOMEM;
    o->nCol = ++i;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_reset(st);
  if (rc) return rc;
  /* the foreign keys: which columns are in one, which tables they name */
  st = stFk;
  nCap = 0;
  rc = sqlite3_bind_text(st, 1, o->zName, -1, 0);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zParent = (const char *)sqlite3_column_text(st, 0);
    const char *zFrom = (const char *)sqlite3_column_text(st, 1);
    if (zParent == 0 || zFrom == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    i = agFindCol(o, zFrom);
    if (i >= 0) o->aColFlags[i] |= AGC_FKEY;
    rc = agAddParent(s, o, zParent, &nCap);
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_reset(st);
  return rc;
}

/* Is table zName a shadow table of one of the virtual tables?  azShadow
** is PRAGMA table_list's list (SQLite 3.37+), NULL before. */
static int agIsShadow(AgSide *s, char **azShadow, int nShadow,
                      const char *zName) {
  int i;
  if (sqlite3_libversion_number() >= 3037000) {
    for (i = 0; i < nShadow; i++) {
      if (sqlite3_stricmp(azShadow[i], zName) == 0) return 1;
    }
    return 0;
  }
  /* older SQLite: "<vtab>_<suffix>", as the built-in modules name them */
  for (i = 0; i < s->nObj; i++) {
    size_t n = strlen(s->aObj[i].zName);
    if (s->aObj[i].eType == AG_VTAB &&
        sqlite3_strnicmp(zName, s->aObj[i].zName, (int)n) == 0 &&
        zName[n] == '_') {
      return 1;
    }
  }
  return 0;
}

/* The shadow tables PRAGMA table_list names (SQLite 3.37+): *pazOut
** (sqlite3_free, strings in the side's arena), *pn of them. */
static int agShadowList(AgSide *s, char ***pazOut, int *pn) {
  sqlite3_stmt *st = 0;
  char **az = 0;
  int n = 0, nAlloc = 0, rc;
  *pazOut = 0;
  *pn = 0;
  if (sqlite3_libversion_number() < 3037000) return SQLITE_OK;
  rc = sqlite3_prepare_v2(s->db,
                          "SELECT name FROM pragma_table_list "
                          "WHERE schema = 'main' AND type = 'shadow'",
                          -1, &st, 0);
  while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    if (n >= nAlloc) {
      int nNew = nAlloc ? nAlloc * 2 : 8;
      char **azNew = sqlite3_realloc64(az, sizeof(char *) * (size_t)nNew);
      if (azNew == 0) {
        rc = SQLITE_NOMEM;
        break;
      }
      az = azNew;
      nAlloc = nNew;
    }
    az[n] = (char *)agDup(s, (const char *)sqlite3_column_text(st, 0));
    if (az[n] == 0) rc = SQLITE_NOMEM;
    n++;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_NOMEM) {
    sqlite3_free(az);
    return rc;
  }
  *pazOut = az;
  *pn = n;
  return SQLITE_OK; /* a pragma that fails: no shadow tables known */
}

/* Read the side's objects (sqlite_master order), columns and snapshot. */
static int agReadObjects(AgSide *s, char **pzErr) {
  sqlite3_stmt *st = 0;
  int rc, n = 0, i;
  char **azShadow = 0;
  int nShadow = 0;
  rc = agShadowList(s, &azShadow, &nShadow);
  if (rc) return rc;
  rc = agPrepare(s->db,
                 "SELECT type, name, tbl_name, sql, "
                 "sql LIKE 'CREATE VIRTUAL%' FROM main.sqlite_master "
                 "WHERE sql IS NOT NULL "
                 "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                 "AND lower(name) NOT IN ('migrate_version', 'migrate_log', "
                 "'migrate_scripts', 'migrate_lock', 'alembic_version') "
                 "AND lower(tbl_name) NOT IN ('migrate_version', "
                 "'migrate_log', 'migrate_scripts', 'migrate_lock', "
                 "'alembic_version') "
                 "ORDER BY (type <> 'table' OR sql NOT LIKE 'CREATE "
                 "VIRTUAL%'), rowid",
                 &st, "the schema", pzErr);
  if (rc) {
    sqlite3_free(azShadow);
    return rc;
  }
  while (sqlite3_step(st) == SQLITE_ROW) n++;
  sqlite3_reset(st);
  s->aObj = migArenaAlloc(&s->arena, sizeof(AgObj) * (size_t)(n + 1));
  if (s->aObj == 0) {
    sqlite3_finalize(st);
    sqlite3_free(azShadow);
    return SQLITE_NOMEM;
  }
  while (rc == SQLITE_OK && s->nObj < n &&
         (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *zType = (const char *)sqlite3_column_text(st, 0);
    const char *zName = (const char *)sqlite3_column_text(st, 1);
    AgObj *o = &s->aObj[s->nObj];
    char *zStrip;
    int bShadow = 0;
    rc = SQLITE_OK;
    if (zType == 0 || zName == 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    if (strcmp(zType, "table") == 0) {
      o->eType = sqlite3_column_int(st, 4) ? AG_VTAB : AG_TABLE;
      if (o->eType == AG_TABLE)
        bShadow = agIsShadow(s, azShadow, nShadow, zName);
      if (bShadow) continue;
    } else if (strcmp(zType, "index") == 0) {
      o->eType = AG_INDEX;
    } else if (strcmp(zType, "view") == 0) {
      o->eType = AG_VIEW;
    } else {
      o->eType = AG_TRIGGER;
    }
    zStrip = agStripNotes((const char *)sqlite3_column_text(st, 3));
    o->zName = agDup(s, zName);
    o->zTbl = agDup(s, (const char *)sqlite3_column_text(st, 2));
    o->zSql = agDup(s, zStrip);
    sqlite3_free(zStrip);
    if (zStrip == 0 || !o->zName || !o->zTbl || !o->zSql) {
      rc = SQLITE_NOMEM;
      break;
    }
    o->iPeer = -1;
    s->nObj++;
  }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  sqlite3_free(azShadow);
  if (rc == SQLITE_OK) {
    sqlite3_stmt *stCols = 0, *stFk = 0;
    rc = agPrepare(s->db, zAgColsSql, &stCols, "a table's columns", pzErr);
    if (rc == SQLITE_OK) {
      rc = agPrepare(s->db, zAgParentsSql, &stFk, "a table's foreign keys",
                     pzErr);
    }
    for (i = 0; rc == SQLITE_OK && i < s->nObj; i++) {
      if (s->aObj[i].eType == AG_TABLE) {
        rc = agTableInfo(s, &s->aObj[i], stCols, stFk);
        if (rc && rc != SQLITE_NOMEM) {
          rc = migSetError(pzErr, rc, "cannot read table %s: %s",
                           s->aObj[i].zName, sqlite3_errmsg(s->db));
        }
      }
    }
    sqlite3_finalize(stCols);
    sqlite3_finalize(stFk);
  }
  if (rc == SQLITE_OK) rc = migSchemaSnapshot(s->db, "main", &s->pSnap, pzErr);
  if (rc == SQLITE_NOMEM) migSetError(pzErr, rc, "out of memory");
  return rc;
}

/* Index of the object of kind eType named zName, or -1. */
static int agFind(const AgSide *s, int eType, const char *zName) {
  int i;
  for (i = 0; i < s->nObj; i++) {
    if (s->aObj[i].eType == eType &&
        sqlite3_stricmp(s->aObj[i].zName, zName) == 0) {
      return i;
    }
  }
  return -1;
}

/* Attach the recorded renames to the tables and columns they name. */
static int agAttachNotes(AgSide *s, char **pzErr) {
  int i;
  for (i = 0; i < s->nNote; i++) {
    const AgNote *n = &s->aNote[i];
    int iTab = agFind(s, AG_TABLE, n->zTable), iCol;
    AgObj *o;
    if (iTab < 0) continue; /* not possible: the statement ran */
    o = &s->aObj[iTab];
    if (n->zCol == 0) {
      o->zFrom = agDup(s, n->zFrom);
      o->iFromLine = n->iLine;
      if (o->zFrom == 0) return SQLITE_NOMEM;
      continue;
    }
    iCol = agFindCol(o, n->zCol);
    if (iCol < 0) {
      return migSetError(pzErr, SQLITE_ERROR,
                         "%s:%d: '-- " AG_NOTE
                         " %s' stands above %s, which "
                         "is not a column of table %s",
                         s->zLabel, n->iLine, n->zFrom, n->zCol, o->zName);
    }
    o->azColFrom[iCol] = agDup(s, n->zFrom);
    o->aiColLine[iCol] = n->iLine;
    if (o->azColFrom[iCol] == 0) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* Build a side from schema text. */
static int agLoad(AgSide *s, const char *zSql, const char *zLabel, int bNotes,
                  char **pzErr) {
  int rc;
  memset(s, 0, sizeof(*s));
  s->zLabel = zLabel;
  rc = migScratchOpen(&s->db, pzErr);
  if (rc == SQLITE_OK) rc = agRunText(s, zSql, bNotes, pzErr);
  if (rc == SQLITE_OK) rc = agReadObjects(s, pzErr);
  if (rc == SQLITE_OK) rc = agAttachNotes(s, pzErr);
  if (rc == SQLITE_NOMEM) migSetError(pzErr, rc, "out of memory");
  return rc;
}

/* ======================================================================
** One run: the script from one side to the other
*/

typedef struct AgRun {
  AgSide *pA;     /* from */
  AgSide *pB;     /* to: its renamed-from fields count */
  sqlite3 *dbW;   /* work copy of A; every statement runs here too */
  MigArena arena; /* this run's arrays */
  MigStr out;
  int nStmt;
  char **pzErr;
} AgRun;

/* A name as SQL: bare when it can be (one ASCII word, no '$', not a
** keyword), else in double quotes. */
static char *agQuote(const char *zName) {
  int e;
  size_t n = strlen(zName), k;
  int bPlain = migSqlToken(zName, &e) == n && e == MIG_TK_WORD &&
               sqlite3_keyword_check(zName, (int)n) == 0;
  for (k = 0; bPlain && k < n; k++) {
    if ((unsigned char)zName[k] >= 0x80 || zName[k] == '$') bPlain = 0;
  }
  return bPlain ? sqlite3_mprintf("%s", zName)
                : sqlite3_mprintf("\"%w\"", zName);
}

/* Run zSql on the work copy; an error says the differ went wrong. */
static int agWork(AgRun *r, const char *zSql) {
  char *zMsg = 0;
  int rc = sqlite3_exec(r->dbW, zSql, 0, 0, &zMsg);
  if (rc) {
    rc = migSetError(r->pzErr, rc == SQLITE_NOMEM ? rc : SQLITE_ERROR,
                     "cannot generate the script from %s to %s: this "
                     "statement fails on a copy of %s: %s: %s",
                     r->pA->zLabel, r->pB->zLabel, r->pA->zLabel, zSql,
                     zMsg ? zMsg : sqlite3_errstr(rc));
  }
  sqlite3_free(zMsg);
  return rc;
}

/* Append one statement (after its comment line, without "-- ") to the
** script, and with bRun run it on the work copy.  Takes ownership of zSql. */
static int agEmitRun(AgRun *r, const char *zComment, char *zSql, int bRun) {
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  if (zComment) migStrAppendf(&r->out, "-- %s\n", zComment);
  migStrAppendf(&r->out, "%s;\n", zSql);
  r->nStmt++;
  rc = r->out.rc ? SQLITE_NOMEM : bRun ? agWork(r, zSql) : SQLITE_OK;
  sqlite3_free(zSql);
  return rc;
}

/* Append one statement to the script and run it on the work copy. */
static int agEmit(AgRun *r, const char *zComment, char *zSql) {
  return agEmitRun(r, zComment, zSql, 1);
}

/* A comment line only. */
static void agComment(AgRun *r, const char *zFmt, ...) {
  va_list ap;
  migStrAppendZ(&r->out, "-- ");
  va_start(ap, zFmt);
  migStrAppendv(&r->out, zFmt, ap);
  va_end(ap);
  migStrAppendZ(&r->out, "\n");
}

/* Match B's objects with A's: declared renames first, then by kind and
** name; columns of matched tables likewise.  Fates set. */
static int agMatch(AgRun *r) {
  AgSide *a = r->pA, *b = r->pB;
  int i, j, pass;
  for (i = 0; i < a->nObj; i++) {
    a->aObj[i].iPeer = -1;
    a->aObj[i].aColPeer = 0; /* the last run's arena is gone */
  }
  for (j = 0; j < b->nObj; j++) {
    b->aObj[j].iPeer = -1;
    b->aObj[j].aColPeer = 0;
  }
  for (pass = 0; pass < 2; pass++) {
    for (j = 0; j < b->nObj; j++) {
      AgObj *y = &b->aObj[j];
      int bNote = y->eType == AG_TABLE && y->zFrom != 0 &&
                  sqlite3_stricmp(y->zFrom, y->zName) != 0;
      if (bNote && agFind(a, AG_TABLE, y->zFrom) < 0) {
        /* a rename the first schema already has is done */
        if (agFind(a, AG_TABLE, y->zName) >= 0) {
          bNote = 0;
        } else {
          return migSetError(r->pzErr, SQLITE_ERROR,
                             "%s:%d: '-- " AG_NOTE
                             " %s': %s has no table "
                             "%s (nor %s)",
                             b->zLabel, y->iFromLine, y->zFrom, a->zLabel,
                             y->zFrom, y->zName);
        }
      }
      if (bNote != (pass == 0)) continue;
      i = agFind(a, y->eType, bNote ? y->zFrom : y->zName);
      if (bNote && agFind(a, AG_TABLE, y->zName) >= 0) {
        return migSetError(r->pzErr, SQLITE_ERROR,
                           "%s:%d: '-- " AG_NOTE
                           " %s': table %s is declared "
                           "as renamed from %s, but %s has a table %s already",
                           b->zLabel, y->iFromLine, y->zFrom, y->zName,
                           y->zFrom, a->zLabel, y->zName);
      }
      if (bNote && a->aObj[i].iPeer >= 0) {
        return migSetError(r->pzErr, SQLITE_ERROR,
                           "%s:%d: '-- " AG_NOTE
                           " %s': table %s is renamed "
                           "twice",
                           b->zLabel, y->iFromLine, y->zFrom, y->zFrom);
      }
      if (i >= 0 && a->aObj[i].iPeer < 0) {
        y->iPeer = i;
        a->aObj[i].iPeer = j;
      }
    }
  }
  for (j = 0; j < b->nObj; j++) {
    AgObj *y = &b->aObj[j];
    y->bTouched = y->bDone = 0;
    if (y->iPeer < 0) {
      y->eFate = FATE_NEW;
      continue;
    }
    if (y->eType == AG_TABLE) {
      AgObj *x = &a->aObj[y->iPeer];
      int bRename = sqlite3_stricmp(x->zName, y->zName) != 0, c;
      y->aColPeer =
          migArenaAlloc(&r->arena, sizeof(int) * (size_t)(y->nCol + 1));
      x->aColPeer =
          migArenaAlloc(&r->arena, sizeof(int) * (size_t)(x->nCol + 1));
      if (y->aColPeer == 0 || x->aColPeer == 0) return SQLITE_NOMEM;
      for (c = 0; c < x->nCol; c++) x->aColPeer[c] = -1;
      for (pass = 0; pass < 2; pass++) {
        for (c = 0; c < y->nCol; c++) {
          const char *zFrom = y->azColFrom[c];
          int k;
          if (zFrom &&
              (sqlite3_stricmp(zFrom, y->azCol[c]) == 0 ||
               (agFindCol(x, zFrom) < 0 && agFindCol(x, y->azCol[c]) >= 0))) {
            zFrom = 0; /* a rename the first schema already has */
          }
          if ((zFrom != 0) != (pass == 0)) continue;
          y->aColPeer[c] = -1;
          k = agFindCol(x, zFrom ? zFrom : y->azCol[c]);
          if (zFrom && k < 0) {
            return migSetError(r->pzErr, SQLITE_ERROR,
                               "%s:%d: '-- " AG_NOTE
                               " %s': table %s in %s "
                               "has no column %s (nor %s)",
                               b->zLabel, y->aiColLine[c], zFrom, x->zName,
                               a->zLabel, zFrom, y->azCol[c]);
          }
          if (zFrom && x->aColPeer[k] >= 0) {
            return migSetError(r->pzErr, SQLITE_ERROR,
                               "%s:%d: '-- " AG_NOTE
                               " %s': column %s of "
                               "table %s is renamed twice",
                               b->zLabel, y->aiColLine[c], zFrom, zFrom,
                               x->zName);
          }
          if (k >= 0 && x->aColPeer[k] < 0) {
            y->aColPeer[c] = k;
            x->aColPeer[k] = c;
            if (sqlite3_stricmp(x->azCol[k], y->azCol[c]) != 0) bRename = 1;
          }
        }
      }
      y->eFate = !bRename && migSchemaSameObject(a->pSnap, x->zName, b->pSnap,
                                                 y->zName, AG_TABLE)
                     ? FATE_SAME
                     : FATE_CHANGED;
    } else {
      y->eFate = migSchemaSameObject(a->pSnap, a->aObj[y->iPeer].zName,
                                     b->pSnap, y->zName, y->eType)
                     ? FATE_SAME
                     : FATE_CHANGED;
    }
  }
  for (i = 0; i < a->nObj; i++) {
    AgObj *x = &a->aObj[i];
    x->bTouched = x->bDone = 0;
    x->eFate = x->iPeer < 0 ? FATE_GONE : b->aObj[x->iPeer].eFate;
  }
  return SQLITE_OK;
}

/* Does zSql mention (as a name) one of az[0..n)? */
static int agMentions(const char *zSql, const char **az, int n) {
  const char *z = zSql;
  int e, k;
  for (;;) {
    const char *zE = agTok(z, &e);
    if (e == MIG_TK_EOF) return 0;
    if (e == MIG_TK_WORD || e == MIG_TK_QUOTED) {
      size_t m = (size_t)(zE - z);
      for (k = 0; k < n; k++) {
        size_t nk = strlen(az[k]);
        if (e == MIG_TK_WORD
                ? (m == nk && sqlite3_strnicmp(z, az[k], (int)m) == 0)
                : (m == nk + 2 &&
                   sqlite3_strnicmp(z + 1, az[k], (int)nk) == 0)) {
          return 1;
        }
      }
    }
    z = zE;
  }
}

/* Mark A's views and triggers that must be dropped and created again:
** changed or gone, or mentioning a changed or gone table or touched view. */
static int agTouch(AgRun *r) {
  AgSide *a = r->pA;
  const char **az =
      migArenaAlloc(&r->arena, sizeof(char *) * (size_t)(a->nObj + 1));
  int n = 0, i, bMore = 1;
  if (az == 0) return SQLITE_NOMEM;
  for (i = 0; i < a->nObj; i++) {
    const AgObj *x = &a->aObj[i];
    if ((x->eType == AG_TABLE || x->eType == AG_VTAB) &&
        x->eFate != FATE_SAME) {
      az[n++] = x->zName;
    }
  }
  while (bMore) {
    bMore = 0;
    for (i = 0; i < a->nObj; i++) {
      AgObj *x = &a->aObj[i];
      if ((x->eType != AG_VIEW && x->eType != AG_TRIGGER) || x->bTouched) {
        continue;
      }
      if (x->eFate != FATE_SAME || agMentions(x->zSql, az, n)) {
        x->bTouched = 1;
        if (x->eType == AG_VIEW) {
          az[n++] = x->zName;
          bMore = 1;
        }
      }
    }
  }
  for (i = 0; i < a->nObj; i++) {
    AgObj *x = &a->aObj[i];
    if (x->bTouched && x->iPeer >= 0) r->pB->aObj[x->iPeer].bTouched = 1;
  }
  return SQLITE_OK;
}

/* Has every table o references (among those of side s still to be done
** in this step) been done? */
static int agParentsDone(const AgSide *s, const AgObj *o, int eFate) {
  int k, i;
  for (k = 0; k < o->nParent; k++) {
    if (sqlite3_stricmp(o->azParent[k], o->zName) == 0) continue;
    i = agFind(s, AG_TABLE, o->azParent[k]);
    if (i >= 0 && s->aObj[i].eFate == eFate && !s->aObj[i].bDone) return 0;
  }
  return 1;
}

/* Has every table of s that references o (and is still to be dropped) been
** dropped? */
static int agChildrenDone(const AgSide *s, const AgObj *o) {
  int i, k;
  for (i = 0; i < s->nObj; i++) {
    const AgObj *c = &s->aObj[i];
    if (c == o || c->eType != AG_TABLE || c->eFate != FATE_GONE || c->bDone) {
      continue;
    }
    for (k = 0; k < c->nParent; k++) {
      if (sqlite3_stricmp(c->azParent[k], o->zName) == 0) return 0;
    }
  }
  return 1;
}

/* Does a table of s that stays reference table o? */
static int agReferencedByKept(const AgSide *s, const AgObj *o) {
  int i, k;
  for (i = 0; i < s->nObj; i++) {
    const AgObj *c = &s->aObj[i];
    if (c == o || c->eType != AG_TABLE || c->eFate == FATE_GONE) continue;
    for (k = 0; k < c->nParent; k++) {
      if (sqlite3_stricmp(c->azParent[k], o->zName) == 0) return 1;
    }
  }
  return 0;
}

/* Does table o reference table zName? */
static int agReferences(const AgObj *o, const char *zName) {
  int k;
  for (k = 0; k < o->nParent; k++) {
    if (sqlite3_stricmp(o->azParent[k], zName) == 0) return 1;
  }
  return 0;
}

/* May B's changed table y be changed now?  Not before a changed table it
** references, nor before a changed table that references it in A and no
** longer does in B (its foreign key would break on the new definition). */
static int agChangeReady(const AgRun *r, const AgObj *y) {
  const AgSide *a = r->pA, *b = r->pB;
  const AgObj *x = &a->aObj[y->iPeer];
  int j;
  if (!agParentsDone(b, y, FATE_CHANGED)) return 0;
  for (j = 0; j < b->nObj; j++) {
    const AgObj *z = &b->aObj[j];
    if (z == y || z->eType != AG_TABLE || z->eFate != FATE_CHANGED ||
        z->bDone) {
      continue;
    }
    if (agReferences(&a->aObj[z->iPeer], x->zName) &&
        !agReferences(z, y->zName)) {
      return 0;
    }
  }
  return 1;
}

/* The next table of s with fate eFate to handle: referenced tables first
** (bChildrenFirst: referencing tables first; r: changed tables, see
** agChangeReady()); a cycle takes the first left.  -1 when none is left. */
static int agNextTable(const AgRun *r, const AgSide *s, int eFate,
                       int bChildrenFirst) {
  int i, iFirst = -1;
  for (i = 0; i < s->nObj; i++) {
    const AgObj *o = &s->aObj[i];
    int bReady;
    if (o->eType != AG_TABLE || o->eFate != eFate || o->bDone) continue;
    if (iFirst < 0) iFirst = i;
    if (bChildrenFirst) {
      bReady = agChildrenDone(s, o);
    } else if (eFate == FATE_CHANGED) {
      bReady = agChangeReady(r, o);
    } else {
      bReady = agParentsDone(s, o, eFate);
    }
    if (bReady) return i;
  }
  return iFirst;
}

/* JSON string of z appended to s. */
static void agJson(MigStr *s, const char *z) {
  migStrAppend(s, "\"", 1);
  for (; *z; z++) {
    unsigned char c = (unsigned char)*z;
    if (c == '"' || c == '\\') {
      migStrAppendf(s, "\\%c", c);
    } else if (c < 0x20) {
      migStrAppendf(s, "\\u%04x", c);
    } else {
      migStrAppend(s, z, 1);
    }
  }
  migStrAppend(s, "\"", 1);
}

static int agCreatesOf(sqlite3 *db, const char *zWhere, const char *zName,
                       MigStr *ps);

/* Copy into db the CREATE statements of the work copy's objects that
** zWhere selects (?1 = zName), in the order they were made. */
static int agCopyFromWork(AgRun *r, sqlite3 *db, const char *zWhere,
                          const char *zName) {
  MigStr s = {0};
  int rc = agCreatesOf(r->dbW, zWhere, zName, &s);
  if (rc == SQLITE_OK && s.n) rc = sqlite3_exec(db, s.z, 0, 0, 0);
  migStrReset(&s);
  return rc;
}

/* Run az[0..n) on a scratch database holding table y as the work copy has
** it now (with its indexes, and the tables it references, whose primary
** keys a foreign key without columns means); *pbSame: they run and the
** table is then what B declares.  (Only this table is built and compared,
** so trying every changed table costs what the table costs.)  With pDb,
** the scratch database is handed over there when *pbSame (caller closes). */
static int agTry(AgRun *r, const AgObj *y, char **az, int n, int *pbSame,
                 sqlite3 **pDb) {
  sqlite3 *db = 0;
  MigSchema *p = 0;
  int rc, k, bRan = 1;
  *pbSame = 0;
  if (pDb) *pDb = 0;
  rc = sqlite3_open_v2(":memory:", &db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
  for (k = 0; rc == SQLITE_OK && k < y->nParent; k++) {
    if (sqlite3_stricmp(y->azParent[k], y->zName) == 0) continue;
    rc = agCopyFromWork(r, db, "type = 'table' AND name = ?1", y->azParent[k]);
  }
  if (rc == SQLITE_OK) {
    rc = agCopyFromWork(r, db,
                        "(type = 'table' AND name = ?1) OR "
                        "(type = 'index' AND tbl_name = ?1)",
                        y->zName);
  }
  if (rc) {
    rc = migSetError(r->pzErr, rc == SQLITE_NOMEM ? rc : SQLITE_ERROR,
                     "cannot copy table %s to a scratch database: %s", y->zName,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  }
  for (k = 0; rc == SQLITE_OK && k < n && bRan; k++) {
    int rc2 = sqlite3_exec(db, az[k], 0, 0, 0);
    if (rc2 == SQLITE_NOMEM) rc = rc2;
    if (rc2) bRan = 0; /* SQLite does not allow it */
  }
  if (rc == SQLITE_OK && bRan) {
    rc = migSchemaSnapshot(db, "main", &p, r->pzErr);
    if (rc == SQLITE_OK) {
      *pbSame =
          migSchemaSameObject(p, y->zName, r->pB->pSnap, y->zName, AG_TABLE);
    }
  }
  migSchemaFree(p);
  if (pDb && rc == SQLITE_OK && *pbSame) {
    *pDb = db;
  } else {
    sqlite3_close(db);
  }
  return rc;
}

/* The CREATE statements of db's objects that zWhere selects (?1 = zName),
** in the order they were made, each followed by ";\n", into *ps. */
static int agCreatesOf(sqlite3 *db, const char *zWhere, const char *zName,
                       MigStr *ps) {
  sqlite3_stmt *st = 0;
  char *zSql = sqlite3_mprintf(
      "SELECT sql FROM main.sqlite_master WHERE sql IS NOT NULL AND (%s) "
      "ORDER BY rowid",
      zWhere);
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(db, zSql, -1, &st, 0);
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, zName, -1, 0);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    migStrAppendf(ps, "%s;\n", (const char *)sqlite3_column_text(st, 0));
    rc = SQLITE_OK;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && ps->rc) rc = SQLITE_NOMEM;
  return rc;
}

/* Give the work copy table zName as zCreates (its CREATE TABLE and CREATE
** INDEX statements) says, in place of what it has: what a rebuild or an
** ALTER TABLE tried on a scratch copy does to the table, without SQLite
** re-reading the whole schema for each statement. */
static int agWorkReplace(AgRun *r, const char *zName, const char *zCreates) {
  char *zQ = agQuote(zName);
  char *zSql = zQ ? sqlite3_mprintf(
                        "PRAGMA foreign_keys = OFF;\n"
                        "DROP TABLE %s;\n%s"
                        "PRAGMA foreign_keys = ON",
                        zQ, zCreates)
                  : 0;
  int rc = zSql ? agWork(r, zSql) : SQLITE_NOMEM;
  sqlite3_free(zQ);
  sqlite3_free(zSql);
  return rc;
}

/* PRAGMA foreign_key_check of table zChild on the work copy, if it has
** that table: a foreign key whose parent key is no longer a PRIMARY KEY or
** UNIQUE fails here (as migrate_rebuild() refuses it).  zStmt is the
** statement the error names. */
static int agWorkFkCheck(AgRun *r, const char *zChild, const char *zStmt) {
  sqlite3_stmt *st = 0;
  char *zSql;
  int rc;
  if (sqlite3_table_column_metadata(r->dbW, "main", zChild, 0, 0, 0, 0, 0, 0) !=
      SQLITE_OK) {
    return SQLITE_OK; /* not there (yet, or any more) */
  }
  zSql = sqlite3_mprintf("PRAGMA main.foreign_key_check(%Q)", zChild);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(r->dbW, zSql, -1, &st, 0);
  sqlite3_free(zSql);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    rc = SQLITE_OK; /* the work copy has no rows to violate anything */
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc) {
    rc = migSetError(r->pzErr, rc == SQLITE_NOMEM ? rc : SQLITE_ERROR,
                     "cannot generate the script from %s to %s: this "
                     "statement fails on a copy of %s: %s: %s",
                     r->pA->zLabel, r->pB->zLabel, r->pA->zLabel, zStmt,
                     sqlite3_errmsg(r->dbW));
  }
  sqlite3_finalize(st);
  return rc;
}

/* The foreign keys that reference the rebuilt table (A's table x, B's y)
** still find a PRIMARY KEY or UNIQUE parent key on the work copy: those of
** A's tables (by their names now) and of B's. */
static int agWorkFkChildren(AgRun *r, const AgObj *x, const AgObj *y,
                            const char *zStmt) {
  const AgSide *a = r->pA, *b = r->pB;
  int i, rc = SQLITE_OK;
  for (i = 0; rc == SQLITE_OK && i < a->nObj; i++) {
    const AgObj *c = &a->aObj[i];
    if (c->eType != AG_TABLE || !agReferences(c, x->zName)) continue;
    rc = agWorkFkCheck(r, c->zName, zStmt);
    if (rc == SQLITE_OK && c->iPeer >= 0 &&
        sqlite3_stricmp(c->zName, b->aObj[c->iPeer].zName) != 0) {
      rc = agWorkFkCheck(r, b->aObj[c->iPeer].zName, zStmt);
    }
  }
  for (i = 0; rc == SQLITE_OK && i < b->nObj; i++) {
    const AgObj *c = &b->aObj[i];
    if (c->eType == AG_TABLE && agReferences(c, y->zName)) {
      rc = agWorkFkCheck(r, c->zName, zStmt);
    }
  }
  return rc;
}

/* The work copy's table y (A's x) rebuilt as B declares it, its indexes
** kept, by statement zStmt; the foreign keys referencing it checked. */
static int agWorkRebuild(AgRun *r, const AgObj *x, const AgObj *y,
                         const char *zStmt) {
  MigStr s = {0};
  int rc;
  migStrAppendf(&s, "%s;\n", y->zSql);
  rc = agCreatesOf(r->dbW, "type = 'index' AND tbl_name = ?1", y->zName, &s);
  if (rc == SQLITE_OK) rc = agWorkReplace(r, y->zName, s.z);
  migStrReset(&s);
  if (rc == SQLITE_OK) rc = agWorkFkChildren(r, x, y, zStmt);
  return rc;
}

/* The work copy's table y as the scratch database db has it. */
static int agWorkFromTry(AgRun *r, const AgObj *y, sqlite3 *db) {
  MigStr s = {0};
  int rc = agCreatesOf(db,
                       "(type = 'table' AND name = ?1) OR "
                       "(type = 'index' AND tbl_name = ?1)",
                       y->zName, &s);
  if (rc == SQLITE_OK) rc = agWorkReplace(r, y->zName, s.z);
  migStrReset(&s);
  return rc;
}

/* Was table x, or a table it references, renamed in this run (so that the
** RENAME alone may have made it what B declares)? */
static int agRenamedNear(const AgRun *r, const AgObj *x) {
  const AgSide *a = r->pA;
  int k;
  for (k = -1; k < x->nParent; k++) {
    int i = k < 0 ? (int)(x - a->aObj) : agFind(a, AG_TABLE, x->azParent[k]);
    const AgObj *o = i >= 0 ? &a->aObj[i] : 0;
    if (o && o->iPeer >= 0 &&
        sqlite3_stricmp(o->zName, r->pB->aObj[o->iPeer].zName) != 0) {
      return 1;
    }
  }
  return 0;
}

/* Is default z (as PRAGMA table_info shows it) one literal: a number
** (signed or not), a string, a blob, TRUE or FALSE? */
static int agIsLiteral(const char *z) {
  const char *zS, *zE;
  int e;
  if (*z == '+' || *z == '-') z++;
  zE = agNext(z, &zS, &e);
  if (zS != z) return 0;
  if (e == MIG_TK_WORD) {
    if (!agIsWord(zS, (size_t)(zE - zS), "TRUE") &&
        !agIsWord(zS, (size_t)(zE - zS), "FALSE")) {
      return 0;
    }
  } else if (e != MIG_TK_NUMBER && e != MIG_TK_STRING && e != MIG_TK_BLOB) {
    return 0;
  }
  zE = agNext(zE, &zS, &e);
  return e == MIG_TK_EOF;
}

/* Does SQLite's ADD COLUMN allow column c of y on a table with rows, as
** far as the default is concerned?  (On an empty table it allows more, so
** the trial on the empty work copy cannot tell.)  A constant default (a
** literal, not CURRENT_* or an expression in parentheses); NOT NULL only
** with a non-NULL default; a foreign key only with a NULL default; not
** generated STORED.  The rest (PRIMARY KEY, UNIQUE) SQLite refuses on any
** table. */
static int agCanAdd(const AgObj *y, int c) {
  const char *z = y->azDflt[c];
  int bNull = z == 0 || sqlite3_stricmp(z, "NULL") == 0;
  if (z && !bNull && !agIsLiteral(z)) return 0;
  if ((y->aColFlags[c] & AGC_NOTNULL) && bNull) return 0;
  if ((y->aColFlags[c] & AGC_FKEY) && !bNull) return 0;
  if (y->aColFlags[c] & AGC_STORED) return 0;
  return 1;
}

/* ALTER TABLE statements that may turn A's table x (already renamed to
** y's name) into B's table y: into az[0..*pn) (caller frees each), with
** their comments in azNote.  0 when ALTER TABLE cannot do it. */
static int agAlterPlan(const AgObj *x, const AgObj *y, char **az, char **azNote,
                       int *pn) {
  char *zT = agQuote(y->zName);
  int c, n = 0, iLastKept = -1, iPrev = -1, bOk = 1;
  if (zT == 0) return -1;
  /* kept columns in the same order, new ones after them */
  for (c = 0; c < y->nCol; c++) {
    if (y->aColPeer[c] >= 0) {
      if (y->aColPeer[c] < iPrev) bOk = 0;
      iPrev = y->aColPeer[c];
      iLastKept = c;
    }
  }
  for (c = 0; c < y->nCol && bOk; c++) {
    if (y->aColPeer[c] < 0 && c < iLastKept) bOk = 0;
  }
  for (c = 0; c < x->nCol && bOk; c++) {
    if (x->aColPeer[c] < 0 && sqlite3_libversion_number() < 3035000) bOk = 0;
  }
  for (c = 0; c < y->nCol && bOk; c++) {
    int k = y->aColPeer[c];
    if (k >= 0 && sqlite3_stricmp(x->azCol[k], y->azCol[c]) != 0) {
      char *zOld = agQuote(x->azCol[k]), *zNew = agQuote(y->azCol[c]);
      azNote[n] = 0;
      az[n++] = zOld && zNew ? sqlite3_mprintf(
                                   "ALTER TABLE %s RENAME COLUMN "
                                   "%s TO %s",
                                   zT, zOld, zNew)
                             : 0;
      sqlite3_free(zOld);
      sqlite3_free(zNew);
    }
  }
  for (c = 0; c < x->nCol && bOk; c++) {
    if (x->aColPeer[c] < 0) {
      char *zCol = agQuote(x->azCol[c]);
      azNote[n] = sqlite3_mprintf(
          "destructive: drops column %s.%s and its "
          "values",
          y->zName, x->azCol[c]);
      az[n++] =
          zCol ? sqlite3_mprintf("ALTER TABLE %s DROP COLUMN %s", zT, zCol) : 0;
      sqlite3_free(zCol);
    }
  }
  for (c = 0; c < y->nCol && bOk; c++) {
    if (y->aColPeer[c] < 0 && !agCanAdd(y, c)) bOk = 0;
  }
  for (c = 0; c < y->nCol && bOk; c++) {
    if (y->aColPeer[c] < 0) {
      char *zDef = agColumnDef(y->zSql, y->azCol[c]);
      if (zDef == 0) {
        bOk = 0;
        break;
      }
      azNote[n] = 0;
      az[n++] = sqlite3_mprintf("ALTER TABLE %s ADD COLUMN %s", zT, zDef);
      sqlite3_free(zDef);
    }
  }
  sqlite3_free(zT);
  *pn = n;
  for (c = 0; c < n; c++) {
    if (az[c] == 0) return -1;
  }
  return bOk;
}

/* Do declared types zA and zB convert no value: equal but for case, or
** INT and INTEGER (one affinity; see schFoldIntTypes() in schema.c)? */
static int agAlikeTypes(const char *zA, const char *zB) {
  int bIntA =
      sqlite3_stricmp(zA, "INT") == 0 || sqlite3_stricmp(zA, "INTEGER") == 0;
  int bIntB =
      sqlite3_stricmp(zB, "INT") == 0 || sqlite3_stricmp(zB, "INTEGER") == 0;
  return sqlite3_stricmp(zA, zB) == 0 || (bIntA && bIntB);
}

/* Emit what turns A's table x into B's table y (renamed already). */
static int agChangeTable(AgRun *r, const AgObj *x, const AgObj *y) {
  int rc = SQLITE_OK, bSame = 0, n = 0, c, bOk, bColRename = 0;
  sqlite3 *dbTry = 0;
  char **az, **azNote;
  if (agRenamedNear(r, x)) {
    rc = agTry(r, y, 0, 0, &bSame, 0);
    if (rc || bSame) return rc; /* a rename did it */
  }
  az = sqlite3_malloc64(sizeof(char *) * (size_t)(x->nCol + y->nCol + 1) * 2);
  if (az == 0) return SQLITE_NOMEM;
  azNote = az + x->nCol + y->nCol + 1;
  bOk = agAlterPlan(x, y, az, azNote, &n);
  if (bOk < 0) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK && bOk == 1 && n > 0) {
    /* SQLite decides whether it allows them; the comparison whether they
    ** are enough */
    for (c = 0; c < y->nCol; c++) {
      int k = y->aColPeer[c];
      if (k >= 0 && sqlite3_stricmp(x->azCol[k], y->azCol[c]) != 0) {
        bColRename = 1; /* SQLite rewrites other tables' references too */
      }
    }
    rc = agTry(r, y, az, n, &bSame, bColRename ? 0 : &dbTry);
    if (rc) goto done;
    bOk = bSame;
    if (bOk) {
      int bAdd = 0, bDrop = 0;
      for (c = 0; c < x->nCol; c++) bDrop |= x->aColPeer[c] < 0;
      for (c = 0; c < y->nCol; c++) bAdd |= y->aColPeer[c] < 0;
      if (bAdd && bDrop) {
        agComment(r,
                  "table %s: columns dropped and added; a renamed column is "
                  "declared with '-- " AG_NOTE " OLD' above its definition",
                  y->zName);
      }
      for (c = 0; rc == SQLITE_OK && c < n; c++) {
        rc = agEmitRun(r, azNote[c], az[c], dbTry == 0);
        az[c] = 0; /* agEmitRun took it */
      }
      /* without column renames the statements touch this table only: the
      ** work copy gets the table they gave on the scratch copy */
      if (rc == SQLITE_OK && dbTry) rc = agWorkFromTry(r, y, dbTry);
      goto done;
    }
  }
  if (rc == SQLITE_OK) {
    /* the 12-step rebuild */
    MigStr map = {0}, note = {0};
    char *zSql;
    int nMap = 0;
    for (c = 0; c < y->nCol; c++) {
      int k = y->aColPeer[c];
      if (y->aColFlags[c] & AGC_GEN) continue; /* computed, not copied */
      if (k >= 0 && sqlite3_stricmp(x->azCol[k], y->azCol[c]) != 0) {
        migStrAppendZ(&map, nMap++ ? ", " : "{");
        agJson(&map, y->azCol[c]);
        migStrAppendZ(&map, ": ");
        agJson(&map, x->azCol[k]);
      }
      if (k >= 0 && !agAlikeTypes(x->azType[k], y->azType[c])) {
        migStrAppendf(&note,
                      "-- destructive: column %s.%s changes type from %s to "
                      "%s; its values are converted\n",
                      y->zName, y->azCol[c],
                      x->azType[k][0] ? x->azType[k] : "(none)",
                      y->azType[c][0] ? y->azType[c] : "(none)");
      }
    }
    if (nMap) migStrAppendZ(&map, "}");
    for (c = 0; c < x->nCol; c++) {
      if (x->aColPeer[c] < 0) {
        migStrAppendf(&note,
                      "-- destructive: drops column %s.%s and its values\n",
                      y->zName, x->azCol[c]);
      }
    }
    if (map.rc || note.rc) {
      rc = SQLITE_NOMEM;
    } else {
      migStrAppend(&r->out, note.z ? note.z : "", note.n);
      zSql = nMap ? sqlite3_mprintf("SELECT migrate_rebuild(%Q, %Q, %Q)",
                                    y->zName, y->zSql, map.z)
                  : sqlite3_mprintf("SELECT migrate_rebuild(%Q, %Q)", y->zName,
                                    y->zSql);
      /* the work copy gets the declared table, its indexes kept, as
      ** migrate_rebuild() leaves it */
      char *zMsg = zSql ? sqlite3_mprintf("%s", zSql) : 0;
      rc = zMsg ? agEmitRun(r, 0, zSql, 0) : SQLITE_NOMEM;
      if (zMsg == 0) sqlite3_free(zSql);
      if (rc == SQLITE_OK) rc = agWorkRebuild(r, x, y, zMsg);
      sqlite3_free(zMsg);
    }
    migStrReset(&map);
    migStrReset(&note);
  }
done:
  for (c = 0; c < n; c++) {
    sqlite3_free(az[c]);
    sqlite3_free(azNote[c]);
  }
  sqlite3_free(az);
  sqlite3_close(dbTry);
  return rc;
}

/* DROP <kind> name, with a comment when it loses data. */
static int agDrop(AgRun *r, const AgObj *x) {
  char *zName = agQuote(x->zName), *zNote = 0;
  int rc;
  if (zName == 0) return SQLITE_NOMEM;
  if (x->eType == AG_TABLE || x->eType == AG_VTAB) {
    zNote = sqlite3_mprintf("destructive: drops %stable %s and its rows",
                            x->eType == AG_VTAB ? "virtual " : "", x->zName);
    if (zNote == 0) {
      sqlite3_free(zName);
      return SQLITE_NOMEM;
    }
  }
  rc = agEmit(r, zNote,
              sqlite3_mprintf("DROP %s %s", azAgKind[x->eType], zName));
  sqlite3_free(zName);
  sqlite3_free(zNote);
  return rc;
}

/* The CREATE statement of B's object y. */
static int agCreate(AgRun *r, const AgObj *y) {
  return agEmit(r, 0, sqlite3_mprintf("%s", y->zSql));
}

/* Steps 1-2 of the top of the file: drops before the tables change. */
static int agDropsBefore(AgRun *r) {
  AgSide *a = r->pA;
  int i, rc = SQLITE_OK;
  for (i = 0; rc == SQLITE_OK && i < a->nObj; i++) {
    const AgObj *x = &a->aObj[i];
    if (x->eType == AG_TRIGGER && x->bTouched) rc = agDrop(r, x);
  }
  for (i = a->nObj - 1; rc == SQLITE_OK && i >= 0; i--) {
    const AgObj *x = &a->aObj[i];
    if (x->eType == AG_VIEW && x->bTouched) rc = agDrop(r, x);
  }
  for (i = 0; rc == SQLITE_OK && i < a->nObj; i++) {
    const AgObj *x = &a->aObj[i];
    int iTab;
    if (x->eType != AG_INDEX || x->eFate == FATE_SAME) continue;
    iTab = agFind(a, AG_TABLE, x->zTbl);
    if (iTab >= 0 && a->aObj[iTab].eFate == FATE_GONE) continue;
    rc = agDrop(r, x);
  }
  for (i = 0; rc == SQLITE_OK && i < a->nObj; i++) {
    const AgObj *x = &a->aObj[i];
    if (x->eType == AG_VTAB && x->eFate != FATE_SAME) rc = agDrop(r, x);
  }
  return rc;
}

/* May A's table g, which goes, be dropped now?  Its children that go are
** dropped, and every kept table that references it has been changed (so
** no longer does). */
static int agGoneReady(const AgRun *r, const AgObj *g) {
  const AgSide *a = r->pA;
  int i;
  if (!agChildrenDone(a, g)) return 0;
  for (i = 0; i < a->nObj; i++) {
    const AgObj *k = &a->aObj[i];
    if (k == g || k->eType != AG_TABLE || k->eFate == FATE_GONE) continue;
    if (!agReferences(k, g->zName)) continue;
    if (k->eFate != FATE_CHANGED || !r->pB->aObj[k->iPeer].bDone) return 0;
  }
  return 1;
}

/* Does a table of A that goes and is not dropped yet reference x? */
static int agGoneReferences(const AgSide *a, const AgObj *x) {
  int i;
  for (i = 0; i < a->nObj; i++) {
    const AgObj *g = &a->aObj[i];
    if (g != x && g->eType == AG_TABLE && g->eFate == FATE_GONE && !g->bDone &&
        agReferences(g, x->zName)) {
      return 1;
    }
  }
  return 0;
}

/* The next of step 5-6: a table of A that goes and may be dropped now
** (*pbGone 1, index in A), else a changed table of B that may change now
** and that no table still to go references (*pbGone 0, index in B), else
** (a cycle) the first changed table left, else the first table left to
** go.  -1 when none is left. */
static int agNextChangeOrDrop(const AgRun *r, int *pbGone) {
  const AgSide *a = r->pA, *b = r->pB;
  int i, iChanged = -1, iGone = -1;
  *pbGone = 1;
  for (i = 0; i < a->nObj; i++) {
    const AgObj *g = &a->aObj[i];
    if (g->eType != AG_TABLE || g->eFate != FATE_GONE || g->bDone) continue;
    if (iGone < 0) iGone = i;
    if (agGoneReady(r, g)) return i;
  }
  *pbGone = 0;
  for (i = 0; i < b->nObj; i++) {
    const AgObj *y = &b->aObj[i];
    if (y->eType != AG_TABLE || y->eFate != FATE_CHANGED || y->bDone) continue;
    if (iChanged < 0) iChanged = i;
    if (agChangeReady(r, y) && !agGoneReferences(a, &a->aObj[y->iPeer])) {
      return i;
    }
  }
  if (iChanged >= 0) return iChanged;
  *pbGone = 1;
  return iGone;
}

/* Steps 3-6: the tables. */
static int agTables(AgRun *r) {
  AgSide *a = r->pA, *b = r->pB;
  int i, j, rc = SQLITE_OK, nGone = 0, nNew = 0;
  for (j = 0; rc == SQLITE_OK && j < b->nObj; j++) {
    const AgObj *y = &b->aObj[j];
    const AgObj *x = y->iPeer >= 0 ? &a->aObj[y->iPeer] : 0;
    if (y->eType == AG_TABLE && x && sqlite3_stricmp(x->zName, y->zName)) {
      char *zOld = agQuote(x->zName), *zNew = agQuote(y->zName);
      rc = zOld && zNew ? agEmit(r, 0,
                                 sqlite3_mprintf("ALTER TABLE %s RENAME TO %s",
                                                 zOld, zNew))
                        : SQLITE_NOMEM;
      sqlite3_free(zOld);
      sqlite3_free(zNew);
    }
  }
  for (i = 0; i < a->nObj; i++) {
    nGone += a->aObj[i].eType == AG_TABLE && a->aObj[i].eFate == FATE_GONE;
  }
  for (j = 0; j < b->nObj; j++) {
    nNew += b->aObj[j].eType == AG_TABLE && b->aObj[j].eFate == FATE_NEW;
  }
  if (nGone && nNew) {
    agComment(r,
              "tables dropped and created: a renamed table is declared with "
              "'-- " AG_NOTE " OLD' above its CREATE TABLE");
  }
  while (rc == SQLITE_OK && (j = agNextTable(r, b, FATE_NEW, 0)) >= 0) {
    b->aObj[j].bDone = 1;
    rc = agCreate(r, &b->aObj[j]);
  }
  /* tables that go and that no remaining table references go first: a
  ** change of a table they reference could break their foreign keys */
  for (i = 0; i < a->nObj; i++) {
    a->aObj[i].bDone =
        a->aObj[i].eFate == FATE_GONE && agReferencedByKept(a, &a->aObj[i]);
  }
  while (rc == SQLITE_OK && (i = agNextTable(r, a, FATE_GONE, 1)) >= 0) {
    a->aObj[i].bDone = 1;
    rc = agDrop(r, &a->aObj[i]);
  }
  for (i = 0; i < a->nObj; i++) {
    if (a->aObj[i].eFate == FATE_GONE && a->aObj[i].bDone) {
      a->aObj[i].bDone = agReferencedByKept(a, &a->aObj[i]) ? 0 : 1;
    }
  }
  /* the changed tables, and the other tables that go as soon as the tables
  ** that referenced them have changed (before a table they reference
  ** changes its key) */
  while (rc == SQLITE_OK) {
    int bGone;
    i = agNextChangeOrDrop(r, &bGone);
    if (i < 0) break;
    if (bGone) {
      a->aObj[i].bDone = 1;
      rc = agDrop(r, &a->aObj[i]);
    } else {
      b->aObj[i].bDone = 1;
      rc = agChangeTable(r, &a->aObj[b->aObj[i].iPeer], &b->aObj[i]);
    }
  }
  return rc;
}

/* Step 7: what B has that is new or was dropped. */
static int agCreatesAfter(AgRun *r) {
  AgSide *b = r->pB;
  static const int aKind[] = {AG_VTAB, AG_INDEX, AG_VIEW, AG_TRIGGER};
  int i, j, rc = SQLITE_OK;
  for (i = 0; i < 4; i++) {
    for (j = 0; rc == SQLITE_OK && j < b->nObj; j++) {
      const AgObj *y = &b->aObj[j];
      if (y->eType != aKind[i]) continue;
      if (y->eFate != FATE_SAME || y->bTouched) rc = agCreate(r, y);
    }
  }
  return rc;
}

/* The script from r->pA to r->pB into *pzOut (NULL when equal). */
static int agRun(AgRun *r, char **pzOut) {
  char *zRep = 0;
  int rc;
  sqlite3_backup *bk;
  MigSchema *pW = 0;
  *pzOut = 0;
  rc = migScratchOpen(&r->dbW, r->pzErr);
  if (rc) return rc;
  bk = sqlite3_backup_init(r->dbW, "main", r->pA->db, "main");
  if (bk == 0) {
    rc = migSetError(r->pzErr, sqlite3_errcode(r->dbW),
                     "cannot copy a scratch database: %s",
                     sqlite3_errmsg(r->dbW));
  } else {
    sqlite3_backup_step(bk, -1);
    rc = sqlite3_backup_finish(bk);
    if (rc) {
      rc = migSetError(r->pzErr, rc, "cannot copy a scratch database: %s",
                       sqlite3_errmsg(r->dbW));
    }
  }
  if (rc == SQLITE_OK) rc = agWork(r, "PRAGMA foreign_keys = ON");
  if (rc == SQLITE_OK) rc = agMatch(r);
  if (rc == SQLITE_OK) rc = agTouch(r);
  if (rc == SQLITE_OK) rc = agDropsBefore(r);
  if (rc == SQLITE_OK) rc = agTables(r);
  if (rc == SQLITE_OK) rc = agCreatesAfter(r);
  if (rc == SQLITE_OK && r->out.rc) rc = SQLITE_NOMEM;
  /* the work copy must now be B (with no statement it is A, and every
  ** object matched equal) */
  if (rc == SQLITE_OK && r->nStmt) {
    rc = migSchemaSnapshot(r->dbW, "main", &pW, r->pzErr);
    if (rc == SQLITE_OK) rc = migSchemaDiff(pW, r->pB->pSnap, &zRep, r->pzErr);
  }
  if (rc == SQLITE_OK && zRep) {
    rc = migSetError(r->pzErr, SQLITE_ERROR,
                     "cannot generate the script from %s to %s: the "
                     "statements found do not give %s (please report "
                     "this with both schemas): %s",
                     r->pA->zLabel, r->pB->zLabel, r->pB->zLabel, zRep);
  }
  if (rc == SQLITE_OK && r->nStmt) {
    *pzOut = migStrFinish(&r->out);
    if (*pzOut == 0) rc = SQLITE_NOMEM;
  }
  sqlite3_free(zRep);
  migSchemaFree(pW);
  migStrReset(&r->out);
  sqlite3_close(r->dbW);
  r->dbW = 0;
  migArenaFree(&r->arena);
  if (rc == SQLITE_NOMEM) migSetError(r->pzErr, rc, "out of memory");
  return rc;
}

/* Give A the renames B declares, the other way round (for the downgrade). */
static int agInvertNotes(AgSide *a, AgSide *b) {
  int j, c;
  for (j = 0; j < b->nObj; j++) {
    AgObj *y = &b->aObj[j], *x;
    if (y->eType != AG_TABLE || y->iPeer < 0) continue;
    x = &a->aObj[y->iPeer];
    if (y->zFrom) {
      x->zFrom = y->zName;
      x->iFromLine = y->iFromLine;
    }
    for (c = 0; c < y->nCol; c++) {
      int k = y->azColFrom[c] ? agFindCol(x, y->azColFrom[c]) : -1;
      if (k >= 0) {
        x->azColFrom[k] = y->azCol[c];
        x->aiColLine[k] = y->aiColLine[c];
      }
    }
  }
  return SQLITE_OK;
}

/* ======================================================================
** The C API and the SQL function
*/

int migrate_diff(const char *zFrom, const char *zFromName, const char *zTo,
                 const char *zToName, char **pzUp, char **pzDown,
                 char **pzErr) {
  AgSide a, b;
  AgRun r;
  int rc;
  *pzUp = 0;
  if (pzDown) *pzDown = 0;
  rc = agLoad(&a, zFrom, zFromName, 0, pzErr);
  if (rc == SQLITE_OK) {
    rc = agLoad(&b, zTo, zToName, 1, pzErr);
  } else {
    memset(&b, 0, sizeof(b));
  }
  if (rc == SQLITE_OK) {
    memset(&r, 0, sizeof(r));
    r.pA = &a;
    r.pB = &b;
    r.pzErr = pzErr;
    rc = agRun(&r, pzUp);
  }
  if (rc == SQLITE_OK && pzDown && *pzUp) {
    /* peers (still set by the first run) carry the renames over */
    rc = agInvertNotes(&a, &b);
    memset(&r, 0, sizeof(r));
    r.pA = &b;
    r.pB = &a;
    r.pzErr = pzErr;
    if (rc == SQLITE_OK) rc = agRun(&r, pzDown);
  }
  if (rc) {
    sqlite3_free(*pzUp);
    *pzUp = 0;
    if (pzDown) {
      sqlite3_free(*pzDown);
      *pzDown = 0;
    }
  }
  agSideFree(&a);
  agSideFree(&b);
  return rc;
}

int migrate_diff_report(const char *zFrom, const char *zFromName,
                        const char *zTo, const char *zToName, char **pzReport,
                        char **pzErr) {
  AgSide a, b;
  int rc;
  char *zA = sqlite3_mprintf("in %s", zFromName);
  char *zB = sqlite3_mprintf("in %s", zToName);
  char *zOnlyA = sqlite3_mprintf("only in %s", zFromName);
  char *zOnlyB = sqlite3_mprintf("only in %s", zToName);
  *pzReport = 0;
  memset(&b, 0, sizeof(b));
  rc = zA && zB && zOnlyA && zOnlyB ? SQLITE_OK : SQLITE_NOMEM;
  if (rc == SQLITE_OK)
    rc = agLoad(&a, zFrom, zFromName, 0, pzErr);
  else
    memset(&a, 0, sizeof(a));
  if (rc == SQLITE_OK) rc = agLoad(&b, zTo, zToName, 1, pzErr);
  if (rc == SQLITE_OK) {
    MigDiffWords w;
    w.zA = zA;
    w.zB = zB;
    w.zOnlyA = zOnlyA;
    w.zOnlyB = zOnlyB;
    rc = migSchemaDiffWorded(a.pSnap, b.pSnap, &w, pzReport, pzErr);
  }
  if (rc == SQLITE_NOMEM) migSetError(pzErr, rc, "out of memory");
  agSideFree(&a);
  agSideFree(&b);
  sqlite3_free(zA);
  sqlite3_free(zB);
  sqlite3_free(zOnlyA);
  sqlite3_free(zOnlyB);
  return rc;
}

int migrate_schema_sql(sqlite3 *db, char **pzSql, char **pzErr) {
  AgSide s;
  MigStr out = {0};
  int rc, i, k;
  *pzSql = 0;
  memset(&s, 0, sizeof(s));
  s.db = db;
  rc = agReadObjects(&s, pzErr);
  /* tables and virtual tables first (agReadObjects's order), then the
  ** rest as created */
  for (k = 0; rc == SQLITE_OK && k < 2; k++) {
    for (i = 0; i < s.nObj; i++) {
      int bTable = s.aObj[i].eType == AG_TABLE || s.aObj[i].eType == AG_VTAB;
      if (bTable == (k == 0)) migStrAppendf(&out, "%s;\n", s.aObj[i].zSql);
    }
  }
  if (rc == SQLITE_OK && out.rc) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK && out.n) {
    *pzSql = migStrFinish(&out);
    if (*pzSql == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_NOMEM) migSetError(pzErr, rc, "out of memory");
  migStrReset(&out);
  s.db = 0; /* the caller's */
  agSideFree(&s);
  return rc;
}

/* migrate_diff(from_sql, to_sql [, direction]): the upgrade script (or
** with direction 'downgrade' the script back from to_sql to from_sql, its
** declared renames inverted), NULL when the schemas are equal. */
void migFnDiff(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *zFrom = (const char *)sqlite3_value_text(argv[0]);
  const char *zTo = (const char *)sqlite3_value_text(argv[1]);
  const char *zDir = argc > 2 ? (const char *)sqlite3_value_text(argv[2]) : 0;
  char *zUp = 0, *zDown = 0, *zErr = 0, *zFromCopy, *zToCopy;
  int rc, bDown = 0;
  if (zFrom == 0 || zTo == 0) {
    sqlite3_result_error(ctx,
                         "migrate_diff(from_sql, to_sql): both arguments must "
                         "be SQL text (CREATE statements)",
                         -1);
    return;
  }
  if (argc > 2) {
    bDown = zDir && sqlite3_stricmp(zDir, "downgrade") == 0;
    if (!bDown && (zDir == 0 || sqlite3_stricmp(zDir, "upgrade") != 0)) {
      char *zMsg = sqlite3_mprintf(
          "migrate_diff(from_sql, to_sql, direction): direction is "
          "'upgrade' or 'downgrade', not %s%s%s",
          zDir ? "'" : "", zDir ? zDir : "NULL", zDir ? "'" : "");
      sqlite3_result_error(ctx, zMsg ? zMsg : "out of memory", -1);
      sqlite3_free(zMsg);
      return;
    }
  }
  /* the differ runs SQL on other connections: work on copies */
  zFromCopy = sqlite3_mprintf("%s", zFrom);
  zToCopy = sqlite3_mprintf("%s", zTo);
  if (zFromCopy == 0 || zToCopy == 0) {
    sqlite3_free(zFromCopy);
    sqlite3_free(zToCopy);
    sqlite3_result_error_nomem(ctx);
    return;
  }
  rc = migrate_diff(zFromCopy, "from_sql", zToCopy, "to_sql", &zUp,
                    bDown ? &zDown : 0, &zErr);
  sqlite3_free(zFromCopy);
  sqlite3_free(zToCopy);
  if (bDown) {
    sqlite3_free(zUp);
    zUp = zDown; /* the one to return */
  }
  if (rc == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(ctx);
  } else if (rc) {
    char *zMsg =
        sqlite3_mprintf("migrate_diff(): %s", zErr ? zErr : sqlite3_errstr(rc));
    sqlite3_result_error(ctx, zMsg ? zMsg : "migrate_diff(): out of memory",
                         -1);
    sqlite3_free(zMsg);
  } else if (zUp) {
    sqlite3_result_text(ctx, zUp, -1, sqlite3_free);
    zUp = 0;
  } else {
    sqlite3_result_null(ctx);
  }
  sqlite3_free(zUp);
  sqlite3_free(zErr);
}
