/*
** faultlib.h — what the fault-injection programs share: file copies, the
** state of a database as one comparable string, and pass/fail accounting.
**
**     fl_db_state("work.db", &st);      // default VFS, hot journal rolled back
**     if (strcmp(st.zSig, zRefSig) != 0) fl_fail(...);
**
** A database's "signature" is its schema (SELECT type, name, tbl_name, sql
** FROM sqlite_schema ORDER BY 1, 2) followed by every table's row count and
** rows; migrate_log contributes only its deterministic columns (not
** started_at and duration_ms).  Two databases with the same signature have
** the same schema, the same data and the same version bookkeeping.
*/
#ifndef FAULTLIB_H
#define FAULTLIB_H

#include <sqlite3.h>

/* What a database file holds, read through the default VFS. */
typedef struct FlState {
  char *zIntegrity; /* PRAGMA integrity_check, rows joined by '\n' */
  char *zVersion;   /* migrate_version rows sorted and joined by ',';
                    ** "base" when empty or absent */
  char *zSig;       /* the signature (see above) */
  char *zJournal;   /* PRAGMA journal_mode */
} FlState;

/* Open zPath with the default VFS (a hot journal is rolled back then),
** fill *p; every string is sqlite3_malloc'd (fl_state_free).  Returns 0, or
** -1 with *p->zIntegrity set to the reason. */
int fl_db_state(const char *zPath, FlState *p);
void fl_state_free(FlState *p);

/* The signature of an open connection's main database; caller frees with
** sqlite3_free().  NULL on error. */
char *fl_signature(sqlite3 *db);
/* migrate_version as in FlState.zVersion; caller frees. */
char *fl_version(sqlite3 *db);

/* Which commits of a run happened.  A commit hook that is not followed,
** before the next statement starts, by the rollback hook (SQLite calls it
** when the commit itself fails) is a commit that happened; so is one still
** pending when the run returns.  The first commit of an upgrade to head
** from below 4e92a7c0b6d1 is the one the engine makes before the
** "Transaction: none" head revision (README.md, "The SQL interface"). */
typedef struct FlCommits {
  int bPending;   /* commit hook called, outcome not yet seen */
  int nCommitted; /* commits that happened */
  int nAttempted; /* commit hook calls: commits tried, failed or not (one
                  ** that fails after its commit point, e.g. the fsync
                  ** after truncating a TRUNCATE-mode journal, is durable
                  ** although it reports an error) */
} FlCommits;
/* Install the hooks (commit, rollback, SQLITE_TRACE_STMT) on db. */
void fl_watch_commits(sqlite3 *db, FlCommits *p);
/* Commits that happened so far (resolves a pending one: nothing failed it). */
int fl_commits(FlCommits *p);

/* Copy a file; 0 or -1.  A missing source removes the destination. */
int fl_copy_file(const char *zFrom, const char *zTo);
/* Copy a database with its -journal and -wal files (not -shm: SQLite
** rebuilds it), as a crash would leave them. */
int fl_copy_db(const char *zFrom, const char *zTo);
/* Remove a database and its -journal, -wal and -shm files. */
void fl_remove_db(const char *zPath);

/* A fresh scratch directory (mkdtemp under $TMPDIR or /tmp); removed with
** everything in it by fl_rmdir(). */
const char *fl_tmpdir(void);
void fl_rmdir(const char *zDir);

/* Accounting: one line per test, "ok NAME: detail" or "FAIL NAME: detail";
** fl_summary() prints "N passed, N failed" and returns the exit status. */
void fl_pass(const char *zName, const char *zFmt, ...);
void fl_fail(const char *zName, const char *zFmt, ...);
int fl_summary(void);
/* Seconds since an arbitrary start (monotonic). */
double fl_now(void);

#endif /* FAULTLIB_H */
