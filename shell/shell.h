/*
** shell.h — what the files of the sqlite-migrate program share.
**
**     sqlite-migrate [-d DATABASE] [--dir FOLDER | --bundle FILE] COMMAND [ARGS]
**
** main.c      global options, the command table, dispatch, --help, --version
** args.c      the small argument parser every command uses
** open.c      where the database and the revisions come from; backups
** out.c       output: Alembic's revision formats, errors, usage lines
** commands.c  upgrade, downgrade, stamp, current, check, test, bundle
** inspect.c   history, heads, branches, show
** range.c     revision lists for display (history ranges, current), asked
**             of the engine
** write.c     init, revision, merge (the files they write)
** autogen.c   diff; the declared schema for revision --autogenerate, check
** graph.c     graph (Graphviz DOT)
** config.c    -c FILE / ./sqlite-migrate.ini / alembic.ini
** import.c    import-alembic (Alembic .py revisions to .sql)
**
** The program links the engine (libsqlitemigrate.a) through migrate.h only;
** it never parses scripts, plans or applies revisions itself.
**
** Exit codes: 0 done, 1 failure or a "no" answer, 2 usage error.
*/
#ifndef SQLITE_MIGRATE_SHELL_H
#define SQLITE_MIGRATE_SHELL_H

#include <stdio.h>

#include "migrate.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

#define SHELL_BUSY_TIMEOUT_MS 5000

/* ------------------------------------------------------------------------
** args.c: options and positional arguments of one command
*/

#define ARGS_MAX_OPT 16

/* One option: a long name ("message", the key it is looked up by) and an
** optional short letter; bValue says it takes a value ("-m MSG", "-mMSG",
** "--message MSG", "--message=MSG"). */
typedef struct OptDef {
  const char *zLong; /* "message" */
  char cShort;       /* 'm', or 0 */
  int bValue;
} OptDef;

/* The parsed command line.  Every string points into argv. */
typedef struct Args {
  const OptDef *aDef;
  int nDef;
  int nPos;
  char **azPos;                /* positional arguments */
  int anSeen[ARGS_MAX_OPT];    /* times each option was given */
  char **aazVal[ARGS_MAX_OPT]; /* its values, in order */
} Args;

/* Parse argv[0..argc) against aDef[0..nDef).  An argument that starts with
** '-' and a digit ("-1", "-2:head") is positional, so relative targets need
** no "--"; "--" ends the options.  Returns EXIT_OK, or EXIT_USAGE with
** *pzErr (sqlite3_free) saying what is wrong.  Free with argsFree() either
** way. */
int argsParse(const OptDef *aDef, int nDef, int argc, char **argv, Args *p,
              char **pzErr);
/* The same for the options before the first positional argument (the
** global options before the command): *piStop is that argument's index, or
** argc when there is none. */
int argsParseLeading(const OptDef *aDef, int nDef, int argc, char **argv,
                     Args *p, int *piStop, char **pzErr);
void argsFree(Args *p);
/* How often option zLong was given (0 when not). */
int argsHas(const Args *p, const char *zLong);
/* Its last value, or NULL. */
const char *argsValue(const Args *p, const char *zLong);
/* All its values (*pn of them, in order), or NULL. */
char **argsValues(const Args *p, const char *zLong, int *pn);

/* ------------------------------------------------------------------------
** open.c: the database and the revisions
*/

/* Where the revisions come from; SRC_NONE: nowhere (shellBundle says so). */
enum { SRC_DIR, SRC_FILE, SRC_EMBEDDED, SRC_NONE };

typedef struct Shell {
  const char *zDbArg;      /* -d value, NULL when not given */
  char *zDbPath;           /* the database file (sqlite3_free), NULL if none */
  const char *zDbFrom;     /* "-d", "MIGRATE_DATABASE" or "DATABASE_URL" */
  const char *zDirArg;     /* --dir */
  const char *zBundleArg;  /* --bundle */
  int eSrc;                /* SRC_DIR, SRC_FILE, SRC_EMBEDDED */
  const char *zSrc;        /* folder or bundle file, NULL when embedded */
  migrate_bundle *pBundle; /* loaded on first use */
  const char *zCmd;        /* the command being run, for messages */
  const char *zCmdUsage;   /* its usage line (main.c's table), or NULL */
  /* configuration: options (main.c) and the ini file read (config.c) */
  const char *zConfigArg; /* -c FILE */
  const char *zNameArg;   /* -n NAME */
  int bRaiseErr;          /* --raiseerr (Alembic's; accepted) */
  char *zCfgFile;         /* the ini file read, NULL when none */
  char *zCfgSection;      /* its section */
  char *zCfgScripts;      /* script_location as a folder, or NULL */
  char *zCfgDb;           /* database / sqlalchemy.url, or NULL */
  char *zCfgDbKey;        /* "FILE [SECTION] KEY", for messages */
  const char *zSrcFrom;   /* where zSrc came from, for messages */
  char *zSrcOwned;        /* zSrc when open.c made it (an Alembic versions/) */
} Shell;

/* config.c: read -c FILE (or ./sqlite-migrate.ini when present) into the
** zCfg* fields.  EXIT_OK (also when there is no file) or EXIT_USAGE
** (printed).  configFree() releases the fields. */
int configRead(Shell *);
void configFree(Shell *);

/* Resolve the database (-d, MIGRATE_DATABASE, DATABASE_URL, the
** configuration) and the revision source (--dir, --bundle, the
** configuration's script_location, ./migrations, the built-in bundle unless
** it is the example).  EXIT_OK, or EXIT_USAGE with a message printed. */
int shellConfigure(Shell *);
void shellClose(Shell *);

/* The revisions, loaded once.  EXIT_OK or EXIT_FAIL (message printed). */
int shellBundle(Shell *, migrate_bundle **ppOut);

/* How a command opens the database. */
enum {
  DB_READ,          /* read-only; a missing file is an error */
  DB_WRITE,         /* read-write, created when missing */
  DB_WRITE_EXISTING /* read-write; a missing file is an error */
};

/* Open the database with a busy timeout and the engine's SQL functions
** registered.  EXIT_OK, EXIT_USAGE when no database is configured, or
** EXIT_FAIL (message printed). *pbCreated (may be NULL) says whether the
** file did not exist before. */
int shellOpenDb(Shell *, int eMode, sqlite3 **pDb, int *pbCreated);

/* Close a database shellOpenDb() opened (NULL is fine).  Returns rc, or
** EXIT_FAIL (printed) when rc was EXIT_OK and the close failed. */
int shellCloseDb(Shell *, sqlite3 *db, int rc);

/* Does the configured database file exist?  (":memory:" counts as no.) */
int shellDbExists(const Shell *);

/* The database as a SQLAlchemy-style URL ("sqlite:///x.db"). Caller frees. */
char *shellDbUrl(const Shell *);

/* Copy db to the new file zPath with the online backup API; refuses an
** existing file.  EXIT_OK or EXIT_FAIL (message printed). */
int shellBackup(sqlite3 *db, const char *zPath);

/* For `current`: when the version is read from alembic_version (a database
** Alembic migrated, not adopted yet), say so on stderr.  EXIT_OK or
** EXIT_FAIL (printed). */
int shellVersionNote(Shell *, sqlite3 *db);

/* Current heads of db as bundle indices (caller frees *paCur).  A head the
** bundle does not know is an error.  EXIT_OK or EXIT_FAIL (printed). */
int shellCurrent(Shell *, sqlite3 *db, migrate_bundle *, int **paCur,
                 int *pnCur);

/* Print an engine error (zErr may be NULL: sqlite3_errstr(rc)) as
** "FAILED: ..."; an unknown revision in Alembic's CLI words, "Can't locate
** revision identified by 'x'".  Returns EXIT_FAIL. */
int shellEngineFail(const char *zErr, int rc);

/* ------------------------------------------------------------------------
** out.c: output
*/

/* "FAILED: <message>" on stderr (Alembic's wording); returns EXIT_FAIL. */
int outFail(const char *zFmt, ...);
/* The usage line of the current command and "<prog> <cmd>: error: ..." on
** stderr; returns EXIT_USAGE. */
int outUsage(const Shell *, const char *zFmt, ...);

/* Flags of outHeadOnly (Alembic's Script._head_only arguments). */
#define FMT_BRANCHES 0x01 /* "(label, ...)" */
#define FMT_DOC      0x02 /* ", message" */
#define FMT_PARENTS  0x04 /* "parents -> " */
#define FMT_TREE     0x08 /* "(branchpoint)", "(mergepoint)" */
#define FMT_HEAD     0x10 /* "(head)", "(effective head)", "(current)" */

/* One-line form of revision i (Alembic's cmd_format(verbose=False)). */
void outHeadOnly(FILE *, const migrate_bundle *, int i, int flags,
                 int bCurrent);
/* Verbose block of revision i (Alembic's Script.log_entry), ending with a
** newline; callers add the blank line Alembic prints after it. */
void outLogEntry(FILE *, const Shell *, const migrate_bundle *, int i,
                 int bCurrent);

/* Comma-separated ids of a[0..n) with ", " (Alembic's format_as_comma). */
void outIds(FILE *, const migrate_bundle *, const int *a, int n);

/* Flush stdout; EXIT_FAIL (printed) if anything could not be written. */
int outFinish(int rc);

/* ------------------------------------------------------------------------
** range.c: revision lists for display, asked of the engine
*/

/* The revisions of Alembic's "history -r LOWER:UPPER", newest first, in
** *paOut (sqlite3_free): migrate_bundle_range().  "" means base (lower) or
** heads (upper); "current" stands for aDb[0..nDb).  SQLITE_OK, or an error
** with *pzErr. */
int rangeCollect(migrate_bundle *, const char *zLower, const char *zUpper,
                 const int *aDb, int nDb, int **paOut, int *pnOut,
                 char **pzErr);

/* What "current" lists: the version rows aDb[0..nDb), in the bundle's
** order (so current, history -i and show current agree with the version
** table).  *paOut is sqlite3_free'd by the caller.  SQLITE_OK or
** SQLITE_NOMEM. */
int rangeCurrentHeads(migrate_bundle *, const int *aDb, int nDb, int **paOut,
                      int *pnOut);

/* ------------------------------------------------------------------------
** The commands: one function each.  Args were parsed against the option
** table main.c keeps for the command.
*/
int cmdInit(Shell *, Args *);
int cmdRevision(Shell *, Args *);
int cmdMerge(Shell *, Args *);
int cmdUpgrade(Shell *, Args *);
int cmdDowngrade(Shell *, Args *);
int cmdStamp(Shell *, Args *);
int cmdCurrent(Shell *, Args *);
int cmdHistory(Shell *, Args *);
int cmdHeads(Shell *, Args *);
int cmdBranches(Shell *, Args *);
int cmdShow(Shell *, Args *);
int cmdCheck(Shell *, Args *);
int cmdTest(Shell *, Args *);
int cmdBundle(Shell *, Args *);
int cmdGraph(Shell *, Args *);
int cmdEdit(Shell *, Args *);
int cmdImportAlembic(Shell *, Args *);
int cmdDiff(Shell *, Args *);

/* ------------------------------------------------------------------------
** autogen.c: the declared schema (default: schema.sql beside the
** migrations folder, or --schema FILE)
*/

/* The two sections of revision --autogenerate: from the history at zHead
** (or, with --from-db DB, from nothing to DB's schema) to the declared
** schema; *pzUp NULL when equal.  EXIT_OK or EXIT_FAIL (printed). */
int autogenSections(Shell *, Args *, migrate_bundle *, const char *zHead,
                    char **pzUp, char **pzDown);
/* check's comparison of the declared schema (when there is one) with the
** history's head: one "schema: ..." line per difference (*pnFound). */
int autogenCheck(Shell *, Args *, migrate_bundle *, int *pnFound);

#endif /* SQLITE_MIGRATE_SHELL_H */
