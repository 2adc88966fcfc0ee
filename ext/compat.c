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
*/
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
