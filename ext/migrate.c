/*
** migrate.c — sqlite3_migrate_init: registers the functions and the virtual
** tables, nothing else.
**
**     sqlite> .load ./migrate
**     sqlite> SELECT migrate_to('head');
**
**     # Python
**     conn.enable_load_extension(True)
**     conn.load_extension("./migrate")
**
**     // static: libsqlitemigrate.a
**     sqlite3_auto_extension((void (*)(void))sqlite3_migrate_init);
**
** Compiled without SQLITE_CORE this is a loadable extension; with
** -DSQLITE_CORE the SQLITE_EXTENSION_INIT macros vanish and the same file
** links into the shell and the static library.
*/
#include "internal.h"
SQLITE_EXTENSION_INIT1

/* The oldest supported SQLite (README.md, "Supported SQLite versions"). */
#define MIGRATE_MIN_SQLITE 3034000

#ifdef _WIN32
__declspec(dllexport)
#elif defined(__GNUC__)
__attribute__((visibility("default")))
#endif
    int sqlite3_migrate_init(sqlite3 *db, char **pzErrMsg,
                             const sqlite3_api_routines *pApi) {
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);
  if (sqlite3_libversion_number() < MIGRATE_MIN_SQLITE) {
    /* the oldest SQLite every guard and every revision runs on */
    if (pzErrMsg) {
      *pzErrMsg = sqlite3_mprintf(
          "migrate needs SQLite 3.34.0 or newer, "
          "this is SQLite %s: use a newer "
          "libsqlite3 (or link one in)",
          sqlite3_libversion());
    }
    return SQLITE_ERROR;
  }
  /* each sets *pzErrMsg naming what it could not register */
  rc = migRegisterFunctions(db, pzErrMsg);
  if (rc == SQLITE_OK) rc = migRegisterVtabMigrations(db, pzErrMsg);
  if (rc == SQLITE_OK) rc = migRegisterVtabHistory(db, pzErrMsg);
  if (rc == SQLITE_OK) rc = migRegisterChecks(db, pzErrMsg);
  if (rc == SQLITE_OK) rc = migRegisterRebuild(db, pzErrMsg);
  return rc;
}
