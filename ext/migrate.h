/*
** migrate.h — the C API of sqlite-migrate.
**
** The same engine serves three faces: the loadable extension (migrate.so,
** entry point sqlite3_migrate_init), the sqlite-migrate shell, and programs
** that link libsqlitemigrate.a into a SQLite they build themselves:
**
**     #include "migrate.h"
**     sqlite3_auto_extension((void (*)(void))sqlite3_migrate_init);
**     sqlite3_open("device.db", &db);
**     sqlite3_exec(db, "SELECT migrate_to('head')", 0, 0, &zErr);
**
** or, without SQL, through migrate_run() below.
**
** Memory: every char* this API hands out through an out-parameter is owned by
** the caller and freed with sqlite3_free().  Structures reached through a
** migrate_bundle are owned by the bundle and live as long as it does.
*/
#ifndef SQLITE_MIGRATE_H
#define SQLITE_MIGRATE_H

#include <stddef.h>
#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MIGRATE_VERSION
#define MIGRATE_VERSION "0.1.0"
#endif

/* One revision script, parsed.  Every string is NUL-terminated. */
typedef struct migrate_revision {
  const char *id;          /* Revision ID */
  const char *file;        /* file name inside the migrations folder */
  const char *message;     /* first header line ("" when absent) */
  const char *create_date; /* "Create Date" value, "" when absent */
  const char **parents;    /* "Revises", in the order written */
  int nparent;
  const char **labels; /* "Branch Labels" as declared on this revision */
  int nlabel;
  const char **depends; /* "Depends On" as written (ids or labels) */
  int ndepend;
  int no_transaction;    /* "Transaction: none" */
  const char *upgrade;   /* upgrade section body (LF line endings) */
  const char *downgrade; /* downgrade body, NULL when the section is absent */
  int upgrade_line;      /* 1-based line of the first body line */
  int downgrade_line;
  unsigned int checksum; /* CRC-32 of the upgrade body */
  const char *source;    /* the whole script, BOM dropped, LF endings */
  size_t nsource;
  /* Filled in by the graph (indices into the bundle's revision array). */
  int *parent_idx; /* nparent entries */
  int *depend_idx; /* ndepend entries, labels resolved */
  int *child_idx;  /* revisions whose Revises names this one */
  int nchild;
  int *dependent_idx; /* revisions whose Depends On names this one */
  int ndependent;
  const char **all_labels; /* labels after Alembic's propagation */
  int nall_label;
  int is_head;            /* no revision revises it */
  int is_base;            /* Revises is empty */
  int is_merge;           /* more than one parent */
  int is_branchpoint;     /* more than one child */
  int is_real_head;       /* no child and nothing depends on it (a head
                           ** that is not is Alembic's "effective head") */
  int statements_checked; /* sections' statements checked at parse time */
} migrate_revision;

typedef struct migrate_bundle migrate_bundle;

/* Bundles ---------------------------------------------------------------- */

/* Read a migrations folder (every *.sql file) or a bundle file written by
** migrate_bundle_encode(); validate the scripts and the graph.  On success
** *ppOut is a new bundle (free with migrate_bundle_free) and SQLITE_OK is
** returned; on failure an error code and *pzErr names the file and problem. */
int migrate_bundle_open_path(const char *zPath, migrate_bundle **ppOut,
                             char **pzErr);

/* Decode a bundle from memory (the bytes of a bundle file).  Copies what it
** keeps; aData may be freed afterwards. */
int migrate_bundle_open_blob(const void *aData, size_t nData,
                             migrate_bundle **ppOut, char **pzErr);

/* The bundle compiled into this program, decoded on first use and shared for
** the life of the process.  Never free it. */
int migrate_bundle_embedded(migrate_bundle **ppOut, char **pzErr);

void migrate_bundle_free(migrate_bundle *);

/* Serialize: *paOut (caller frees with sqlite3_free) holds *pnOut bytes. */
int migrate_bundle_encode(migrate_bundle *, unsigned char **paOut,
                          size_t *pnOut, char **pzErr);

int migrate_bundle_count(const migrate_bundle *);
/* Revision i.  Its header fields and graph fields are always set.  Its
** text fields (upgrade, downgrade, source and the line numbers) are set
** for a bundle read from a folder; a bundle decoded from bundle bytes
** inflates a script only when it is needed, so call migrate_bundle_load()
** before reading them (until then they are NULL). */
const migrate_revision *migrate_bundle_revision(const migrate_bundle *, int i);
/* Make sure revision i's text fields are set (every revision's when i < 0).
** Thread-safe.  SQLITE_CORRUPT with *pzErr naming the script when the
** bundle's text is damaged. */
int migrate_bundle_load(const migrate_bundle *, int i, char **pzErr);
/* Index of revision zId (exact id), or -1. */
int migrate_bundle_find(const migrate_bundle *, const char *zId);
/* Revisions in history order: parents before children (Alembic's order,
** reversed from its "history" listing).  i in [0, count). */
int migrate_bundle_order(const migrate_bundle *, int i);
/* Heads (no child, Alembic's "heads") in the bundle's order. */
int migrate_bundle_nhead(const migrate_bundle *);
int migrate_bundle_head(const migrate_bundle *, int i);

/* Resolve a target (README.md, "Targets") against a database whose heads are
** aCur[0..nCur) (indices): *paOut (caller frees with sqlite3_free) gets the
** revisions it names, *pnOut may be 0 for base.  Errors in Alembic's
** words. */
int migrate_bundle_resolve(migrate_bundle *, const char *zTarget,
                           const int *aCur, int nCur, int **paOut, int *pnOut,
                           char **pzErr);

/* The applied set of a database whose version rows are aCur[0..nCur): those
** revisions and everything they need (parents and Depends On,
** transitively), in the bundle's order.  *paOut: caller frees with
** sqlite3_free().  SQLITE_OK or SQLITE_NOMEM. */
int migrate_bundle_applied(migrate_bundle *, const int *aCur, int nCur,
                           int **paOut, int *pnOut);

/* The revisions of Alembic's "history -r LOWER:UPPER", newest first (the
** order Alembic's walk_revisions gives).  NULL or "" means base (lower) or
** heads (upper); "current" stands for the version rows aDb[0..nDb); a bare
** "-N" or "label@-N" as the lower end walks N steps down from each head (of
** that branch); the upper end is resolved relative to the lower ("+2").
** Lower must be among upper's ancestors, else Alembic's "Requested range
** ... does not refer to ancestor/descendant revisions along the same
** branch".  *paOut: caller frees with sqlite3_free(). */
int migrate_bundle_range(migrate_bundle *, const char *zLower,
                         const char *zUpper, const int *aDb, int nDb,
                         int **paOut, int *pnOut, char **pzErr);

/* Index of the revision that declares branch label zLabel, or -1. */
int migrate_bundle_label(const migrate_bundle *, const char *zLabel);

/* NULL when z is a valid revision id or branch label (1 to 64 of A-Z a-z
** 0-9 _, not head, heads or base), else why not ("is empty", ...): the
** script parser's own check. */
const char *migrate_check_ident(const char *z);

/* The engine --------------------------------------------------------------- */

/* What migrate_run() does with the target. */
#define MIGRATE_AUTO      0 /* migrate_to(): upgrade, or downgrade if applied */
#define MIGRATE_UPGRADE   1 /* Alembic's "upgrade" */
#define MIGRATE_DOWNGRADE 2 /* Alembic's "downgrade" */
#define MIGRATE_STAMP     3 /* set the version, run no script */

/* Called after each applied step (for progress output). */
typedef void (*migrate_progress)(void *pArg, const migrate_revision *pRev,
                                 int isUpgrade, const char *zFrom,
                                 const char *zTo, double ms);

typedef struct migrate_options {
  int mode;          /* MIGRATE_AUTO ... MIGRATE_STAMP */
  const char *zFunc; /* name used in messages, e.g. "migrate_to" */
  int nCallerStmt;   /* busy statements that are the caller's own */
  migrate_progress xProgress;
  void *pProgressArg;
} migrate_options;

/* Migrate database "main" of db to zTarget (README.md, "Targets").  On success returns
** SQLITE_OK and, if pzVersion is not NULL, *pzVersion is the resulting
** version (heads, comma-separated) or NULL at base.  On failure the database
** is as it was and *pzErr says why. */
int migrate_run(sqlite3 *db, migrate_bundle *, const char *zTarget,
                const migrate_options *, char **pzVersion, char **pzErr);

/* Offline mode: the SQL script migrate_run() would execute, bookkeeping
** included.  zFrom is the starting version ("base", a revision, or a
** comma-separated list of heads); NULL reads it from db. */
int migrate_sql_script(sqlite3 *db, migrate_bundle *, const char *zFrom,
                       const char *zTarget, int mode, char **pzSql,
                       char **pzErr);

/* Current heads of db, comma-separated, or *pzVersion = NULL at base. */
int migrate_current(sqlite3 *db, char **pzVersion, char **pzErr);

/* Where migrate_current() reads the version: *pzTable = "migrate_version",
** or "alembic_version" for a database Alembic migrated that no change has
** adopted yet (the first change copies it into migrate_version and keeps
** it in step from then on), or NULL when there is neither (base).  A static
** string. */
int migrate_version_source(sqlite3 *db, const char **pzTable, char **pzErr);

/* migrate_check(): *pzReport is NULL when the database is at the bundle's
** heads, its applied scripts match the bundle's checksums and its schema
** matches the history's; else one line per finding. */
int migrate_check_report(sqlite3 *db, migrate_bundle *, char **pzReport,
                         char **pzErr);

/* Schema drift: compare db's schema with the schema the bundle's scripts
** give at db's current version (built in a scratch in-memory database).
** *pzReport NULL when they match, else one line per difference. */
int migrate_check_drift(sqlite3 *db, migrate_bundle *, char **pzReport,
                        char **pzErr);

/* Round trip every revision on scratch databases: upgrade, downgrade,
** upgrade, comparing schemas.  *pzReport NULL when all is well, else one
** line per finding (bad downgrades, irreversible revisions, several
** heads). */
int migrate_roundtrip(migrate_bundle *, char **pzReport, char **pzErr);

/* Autogenerate ------------------------------------------------------------ */

/* The scripts that turn a database whose schema is zFrom (SQL text) into one
** whose schema is zTo, and back.  zTo is a declared schema: CREATE TABLE,
** INDEX, VIEW, TRIGGER and VIRTUAL TABLE statements and comments, where a
** line "-- migrate:renamed-from OLD" declares a rename.  zFromName and
** zToName name the two texts in messages ("schema.sql:3: ...").  *pzUp and
** *pzDown are NULL when the schemas are equal (caller frees). */
int migrate_diff(const char *zFrom, const char *zFromName, const char *zTo,
                 const char *zToName, char **pzUp, char **pzDown, char **pzErr);

/* The differences between the schemas of zFrom and zTo, one line each, as
** migrate_check() compares schemas, worded with the two names; NULL when
** equal (caller frees). */
int migrate_diff_report(const char *zFrom, const char *zFromName,
                        const char *zTo, const char *zToName, char **pzReport,
                        char **pzErr);

/* The CREATE statements of db's main schema (its own objects, not the
** engine's tables), in an order that runs on an empty database; NULL when
** it has none (caller frees). */
int migrate_schema_sql(sqlite3 *db, char **pzSql, char **pzErr);

/* Fixtures (the template path) ------------------------------------------ */

/* Leave the new, empty database main of db exactly as migrate_run() to
** zTarget would (version table, log, stored scripts, schema, data,
** user_version, application_id), by copying a template built once per
** process: the first call for a bundle, target and database format runs
** the scripts on a private in-memory database; every call copies its
** pages in with the backup API and stamps migrate_log's started_at.
** aBundle/nBundle are a bundle file's bytes (what migrate_bundle_encode()
** writes and the SQL function migrate_bundle() returns); aBundle NULL
** means the embedded bundle.  *pzVersion as for migrate_run().  Refuses
** (SQLITE_MISUSE or SQLITE_ERROR, *pzErr says why and that nothing was
** changed) where a copy could differ from migrate_run(): a database that
** is not empty, a caller's transaction, scripts that read the clock or
** call random(), and the cases README.md lists.  Thread-safe. */
int migrate_fixture(sqlite3 *db, const void *aBundle, size_t nBundle,
                    const char *zTarget, char **pzVersion, char **pzErr);

/* The cache's memory bound in bytes (images, keys, messages); nBytes < 0
** only reads it.  Returns the previous bound.  Lowering it drops least
** recently used templates at once. */
sqlite3_int64 migrate_fixture_limit(sqlite3_int64 nBytes);

/* Free every cached template (also done when the module is unloaded or
** the process exits). */
void migrate_fixture_clear(void);

/* Entry point of the extension; also usable with sqlite3_auto_extension().
** The only symbol the loadable module exports. */
#ifdef _WIN32
__declspec(dllexport)
#elif defined(__GNUC__)
__attribute__((visibility("default")))
#endif
    int sqlite3_migrate_init(sqlite3 *db, char **pzErrMsg,
                             const struct sqlite3_api_routines *pApi);

#ifdef __cplusplus
}
#endif
#endif /* SQLITE_MIGRATE_H */
