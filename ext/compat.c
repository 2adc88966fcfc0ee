/*
** compat.c — the SQLite routines that are newer than the oldest supported
** SQLite (3.34), each behind one function that works on every version.
**
**     sqlite3_int64 n = migChanges(db);   // rows changed by the last step
**     if (migTxnOpen(db)) ...             // a read or write txn is open
**
** Serves no SQL of its own; the engine calls these instead of the routines.
**
** How it works: a routine added after 3.34 may be missing twice over.  At
** compile time the header may not declare it (built against 3.34's
** sqlite3.h), so the call is compiled only when SQLITE_VERSION_NUMBER says
** the header has it.  At run time the library may be older than the header:
** the loadable extension reaches routines through the sqlite3_api_routines
** table of the SQLite that loaded it, where a newer routine's slot lies past
** the end of an older table, and the static library links the symbol
** directly, so an older libsqlite3.so would refuse to start the program.
** Hence sqlite3_libversion_number() is checked before each call, and in the
** static build the symbol is a weak reference (NULL when the library lacks
** it, never called then).
**
** What the range needs (3.34 is the floor sqlite3_migrate_init enforces):
**   sqlite3_changes64     3.37   migChanges()
**   sqlite3_txn_state     3.34   migTxnOpen()
**   sqlite_schema         3.33   used by name (always present)
**   PRAGMA table_list     3.37   migOtherSchemaOf(), migIsShadowTable()
**   sqlite3_serialize,    3.39   migCanSerialize(), migSerialize(),
**   sqlite3_deserialize          migDeserialize() (3.36 in the static build)
*/
#include <string.h>

#include "internal.h"
SQLITE_EXTENSION_INIT3

#if defined(SQLITE_CORE) && defined(__GNUC__) && \
    SQLITE_VERSION_NUMBER >= 3037000
#pragma weak sqlite3_changes64
#endif
#if defined(SQLITE_CORE) && defined(__GNUC__)
#pragma weak sqlite3_txn_state
#endif

/* Rows changed by the most recent INSERT, UPDATE or DELETE on db: the 64-bit
** count where the library has it (3.37), else the 32-bit one. */
sqlite3_int64 migChanges(sqlite3 *db) {
#if SQLITE_VERSION_NUMBER >= 3037000
  if (sqlite3_libversion_number() >= 3037000) return sqlite3_changes64(db);
#endif
  return sqlite3_changes(db);
}

/* 1 when db holds a read or write transaction on any schema (the caller's
** SELECT ... FROM in autocommit mode), else 0.  sqlite3_txn_state exists in
** every supported SQLite (3.34 added it); the checks keep an older library
** from crashing before sqlite3_migrate_init refuses it. */
int migTxnOpen(sqlite3 *db) {
#if SQLITE_VERSION_NUMBER >= 3034000
  if (sqlite3_libversion_number() >= 3034000)
    return sqlite3_txn_state(db, 0) != SQLITE_TXN_NONE;
#endif
  (void)db;
  return 0;
}

/* sqlite3_serialize()/sqlite3_deserialize(): a loadable module reaches them
** through the API table from 3.39 (an older library's table has no such
** slot); the static library links them directly (declared from 3.36, weak
** so that an older library still links). */
#if defined(SQLITE_CORE)
#if SQLITE_VERSION_NUMBER >= 3036000 && defined(__GNUC__)
#pragma weak sqlite3_serialize
#pragma weak sqlite3_deserialize
#define MIG_SERIALIZE_MIN 3036000
#endif
#elif SQLITE_VERSION_NUMBER >= 3039000
#define MIG_SERIALIZE_MIN 3039000
#endif

int migCanSerialize(void) {
#ifdef MIG_SERIALIZE_MIN
  if (sqlite3_libversion_number() < MIG_SERIALIZE_MIN) return 0;
#ifdef SQLITE_CORE
  return &sqlite3_serialize != 0 && &sqlite3_deserialize != 0;
#else
  return sqlite3_api->serialize != 0 && sqlite3_api->deserialize != 0;
#endif
#else
  return 0;
#endif
}

unsigned char *migSerialize(sqlite3 *db, const char *zSchema,
                            sqlite3_int64 *piSize, unsigned int mFlags) {
#ifdef MIG_SERIALIZE_MIN
  if (migCanSerialize()) return sqlite3_serialize(db, zSchema, piSize, mFlags);
#endif
  (void)db;
  (void)zSchema;
  (void)mFlags;
  if (piSize) *piSize = -1;
  return 0;
}

int migDeserialize(sqlite3 *db, const char *zSchema, unsigned char *aData,
                   sqlite3_int64 szDb, sqlite3_int64 szBuf,
                   unsigned int mFlags) {
#ifdef MIG_SERIALIZE_MIN
  if (migCanSerialize()) {
    return sqlite3_deserialize(db, zSchema, aData, szDb, szBuf, mFlags);
  }
#endif
  (void)db;
  (void)zSchema;
  (void)szDb;
  (void)szBuf;
  if (aData && (mFlags & SQLITE_DESERIALIZE_FREEONCLOSE)) sqlite3_free(aData);
  return SQLITE_ERROR;
}

/* Step st to its end: SQLITE_OK with *pbRow = whether it gave a row (or an
** error code); st is finalized. */
static int compatAny(sqlite3_stmt *st, int *pbRow) {
  int rc = sqlite3_step(st);
  *pbRow = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  return rc;
}

/* *pzSchema = the first attached schema other than main (temp included)
** with a table or view named zName, any case (caller frees with
** sqlite3_free), or NULL.  The same query on every version: each schema's
** sqlite_schema (pragma_table_list exists only from 3.37). */
int migOtherSchemaOf(sqlite3 *db, const char *zName, char **pzSchema) {
  sqlite3_stmt *pDb = 0;
  int rc, bRow = 0;
  *pzSchema = 0;
  rc = sqlite3_prepare_v2(db,
                          "SELECT name FROM pragma_database_list "
                          "WHERE name <> 'main' ORDER BY seq",
                          -1, &pDb, 0);
  while (rc == SQLITE_OK && !bRow && sqlite3_step(pDb) == SQLITE_ROW) {
    const char *zDb = (const char *)sqlite3_column_text(pDb, 0);
    char *zSql = sqlite3_mprintf(
        "SELECT 1 FROM \"%w\".sqlite_schema WHERE "
        "name = ?1 COLLATE NOCASE AND type IN "
        "('table', 'view')",
        zDb ? zDb : "");
    sqlite3_stmt *st = 0;
    rc = zSql ? sqlite3_prepare_v2(db, zSql, -1, &st, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_text(st, 1, zName, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
      rc = compatAny(st, &bRow);
    } else {
      sqlite3_finalize(st);
    }
    if (rc == SQLITE_OK && bRow) {
      *pzSchema = sqlite3_mprintf("%s", zDb ? zDb : "");
      if (*pzSchema == 0) rc = SQLITE_NOMEM;
    }
  }
  if (rc == SQLITE_OK) rc = sqlite3_reset(pDb);
  sqlite3_finalize(pDb);
  return rc;
}

/* *pbShadow = whether main table zTab is a shadow table a virtual table
** keeps its data in.  3.37+: PRAGMA table_list says so.  Older: SQLite's
** own rule without asking the module, i.e. the name before the last '_'
** is a virtual table of main (docs_data for docs). */
int migIsShadowTable(sqlite3 *db, const char *zTab, int *pbShadow) {
  sqlite3_stmt *st = 0;
  int rc;
  const char *zCut = strrchr(zTab, '_');
  *pbShadow = 0;
  if (sqlite3_libversion_number() >= 3037000) {
    rc = sqlite3_prepare_v2(db,
                            "SELECT 1 FROM pragma_table_list(?1) WHERE "
                            "schema = 'main' AND type = 'shadow'",
                            -1, &st, 0);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, zTab, -1, SQLITE_STATIC);
  } else {
    if (zCut == 0 || zCut == zTab) return SQLITE_OK;
    rc = sqlite3_prepare_v2(db,
                            "SELECT 1 FROM main.sqlite_schema WHERE type = "
                            "'table' AND name = ?1 COLLATE NOCASE AND sql "
                            "LIKE 'CREATE VIRTUAL TABLE%'",
                            -1, &st, 0);
    if (rc == SQLITE_OK) {
      rc = sqlite3_bind_text(st, 1, zTab, (int)(zCut - zTab), SQLITE_STATIC);
    }
  }
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return rc;
  }
  return compatAny(st, pbShadow);
}
