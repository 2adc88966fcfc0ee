/*
** internal.h — what the engine's files share and nothing else links against.
**
** Data flows one way: files -> script.c (parse) -> graph.c (validate, resolve
** targets, plan) -> apply.c (run a plan) -> func.c / vtab_*.c (SQL faces).
** bundle.c serializes and decodes the parsed scripts.
*/
#ifndef MIGRATE_INTERNAL_H
#define MIGRATE_INTERNAL_H

/* With -DSQLITE_CORE the SQLITE_EXTENSION_INIT macros become no-ops. */
#include "sqlite3ext.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "migrate.h"

/* Limits checked wherever a size is read from a file or a bundle. */
#define MIG_MAX_ID          64        /* Revision ID and branch label length */
#define MIG_MAX_SCRIPT      (64u << 20) /* one script file */
#define MIG_MAX_PAYLOAD     (256u << 20) /* a whole decoded bundle */
#define MIG_MAX_REVISIONS   1000000
#define MIG_MAX_FILENAME    255

/* ------------------------------------------------------------------------
** util.c: arena, growable string, error helper
*/

/* An arena: many small allocations freed at once.  Owned by a bundle. */
typedef struct MigArenaChunk MigArenaChunk;
typedef struct MigArena {
  MigArenaChunk *pChunk;
} MigArena;
void *migArenaAlloc(MigArena *, size_t n);             /* zeroed; NULL on OOM */
char *migArenaStrndup(MigArena *, const char *z, size_t n); /* NULL on OOM */
void migArenaFree(MigArena *);

/* A growable string.  On OOM it sets rc and ignores further appends. */
typedef struct MigStr {
  char *z;
  size_t n;
  size_t nAlloc;
  int rc;
} MigStr;
void migStrAppend(MigStr *, const char *z, size_t n);
void migStrAppendZ(MigStr *, const char *z);
void migStrAppendf(MigStr *, const char *zFmt, ...);
/* Returns the string (caller frees with sqlite3_free) or NULL on OOM, and
** resets p. */
char *migStrFinish(MigStr *);
void migStrReset(MigStr *);

/* Replace *pzErr with a new printf-formatted message (old one freed).
** Returns SQLITE_NOMEM if the message could not be allocated, else rc. */
int migSetError(char **pzErr, int rc, const char *zFmt, ...);

/* The first foreign_key_check row ("table|rowid|parent" lines) of zNow
** that zBefore does not hold, as "table T, row R references P"; NULL when
** none (or on OOM, *pRc = SQLITE_NOMEM).  Caller frees. */
char *migFkFirstNew(const char *zBefore, const char *zNow, int *pRc);

/* Bitset over revision indices. */
typedef uint64_t MigBits;
#define MIG_BITS_WORDS(n) (((size_t)(n) + 63) / 64)
#define MIG_BIT_TEST(a, i) (((a)[(i) >> 6] >> ((i)&63)) & 1)
#define MIG_BIT_SET(a, i) ((a)[(i) >> 6] |= (MigBits)1 << ((i)&63))
#define MIG_BIT_CLEAR(a, i) ((a)[(i) >> 6] &= ~((MigBits)1 << ((i)&63)))

/* ------------------------------------------------------------------------
** script.c: one revision script
*/

/* Parse one script.  zText (nText bytes, need not be NUL-terminated) is the
** file's content; the revision's strings are allocated from pArena.
** Returns SQLITE_OK, SQLITE_NOMEM, or SQLITE_ERROR with *pzErr set to
** "file:line: message". */
int migScriptParse(MigArena *, const char *zFile, const char *zText,
                   size_t nText, migrate_revision *pRev, char **pzErr);
/* The same, with flags:
**   MIG_PARSE_CHECK   check each section's statements (transaction control,
**                     statements that need "Transaction: none"); without
**                     it a decoded bundle leaves that to
**                     migScriptCheckStatements() at apply time, so loading
**                     a large bundle does not split every script;
**   MIG_PARSE_HEADER  zText is a header alone (migScriptHeaderLen() bytes
**                     of a normalized script): the header fields are set,
**                     the sections, source and checksum are left empty. */
#define MIG_PARSE_CHECK  1
#define MIG_PARSE_HEADER 2
int migScriptParseEx(MigArena *, const char *zFile, const char *zText,
                     size_t nText, migrate_revision *pRev, int flags,
                     char **pzErr);
/* How many bytes of normalized script z[0..n) its header takes: the run of
** "--" lines at the top that are not "-- migrate:" directives. */
size_t migScriptHeaderLen(const char *z, size_t n);
/* Check both sections' statements of r ("file:line: ..." on error). */
int migScriptCheckStatements(const migrate_revision *r, char **pzErr);

/* Statement iterator over a section body, splitting the way SQLite does
** (sqlite3_complete).  Returns 1 and sets *pzStmt, *pnStmt and *piLine (line
** offset within the body, 0-based) for each statement, 0 at the end, and
** 0 with rc = SQLITE_NOMEM when it ran out of memory (rc is only ever set,
** never read).  Whitespace- and comment-only tails are skipped. */
typedef struct MigSplit {
  char *z;  /* body (read only: it may be shared between threads) */
  size_t i; /* current offset */
  int iLine;
  int rc;   /* SQLITE_NOMEM after an allocation failed */
} MigSplit;
int migSplitNext(MigSplit *, const char **pzStmt, size_t *pnStmt, int *piLine);

/* CRC-32 (zlib) of z[0..n). */
unsigned int migCrc32(const char *z, size_t n);

/* ------------------------------------------------------------------------
** bundle.c + graph.c: the bundle
*/
struct migrate_bundle {
  MigArena arena;        /* owns every string and array below */
  int nRev;
  migrate_revision *aRev; /* in file-name order (Alembic's map order) */
  int nHash;              /* power of two */
  int *aHash;             /* id -> index+1, open addressing */
  int nLabel;
  const char **azLabel;   /* declared branch labels ... */
  int *aLabelRev;         /* ... and the revision that declares each */
  int nHead;
  int *aHead;             /* no versioned child, map order */
  int nRealHead;
  int *aRealHead;         /* no child and no dependent, map order */
  int nBase;
  int *aBase;             /* no parent, map order */
  int *aOrder;            /* history order: parents before children */
  int **aaDown;           /* per revision: parents + normalized deps */
  int *anDown;
  int nRef;               /* >0: shared (embedded bundle), never freed */
  struct MigLazy *pLazy;  /* format 2: script texts not yet inflated */
};

/* Make sure revision i's text fields (upgrade, downgrade, source, the
** lines) are set: a bundle decoded from format 2 inflates a script when it
** is first needed.  Thread-safe; a no-op for parsed folders and for
** revisions already loaded.  i < 0 loads every revision.  SQLITE_CORRUPT
** with a message naming the script when the bundle's text is damaged. */
int migBundleLoad(migrate_bundle *, int i, char **pzErr);

/* migrate_bundle_encode() with a zlib level (1 fast .. 9 small). */
int migBundleEncodeLevel(migrate_bundle *, int level, unsigned char **paOut,
                         size_t *pnOut, char **pzErr);

/* Build the graph over pBundle->aRev (already parsed): index, validate,
** derive heads/bases/children/labels/order.  SQLITE_ERROR + message naming
** the file(s) when the graph is invalid. */
int migGraphBuild(migrate_bundle *, char **pzErr);

/* Bundle built from parsed revisions (used by bundle.c after parsing). */
int migBundleFromFiles(int nFile, const char **azName, const char **azText,
                       const size_t *anText, migrate_bundle **ppOut,
                       char **pzErr);
/* The same; bCheckStatements as for migScriptParseEx(). */
int migBundleFromFilesEx(int nFile, const char **azName, const char **azText,
                         const size_t *anText, int flags,
                         migrate_bundle **ppOut, char **pzErr);
/* Decode a bundle; with bBorrow the compressed bytes are used in place
** (they must outlive the bundle: the embedded bundle). */
int migBundleOpenBlobEx(const void *aData, size_t nData, int bBorrow,
                        migrate_bundle **ppOut, char **pzErr);
/* migrate_bundle_encode() writing format 1 (for tests of old bundles). */
int migBundleEncodeV1(migrate_bundle *, int level, unsigned char **paOut,
                      size_t *pnOut, char **pzErr);

/* ------------------------------------------------------------------------
** graph.c: targets and plans
*/

/* One step of a plan. */
typedef struct MigStep {
  int iRev;      /* index into aRev */
  int isUpgrade; /* 1 upgrade, 0 downgrade */
} MigStep;

typedef struct MigPlan {
  int nStep;
  MigStep *aStep;     /* sqlite3_malloc'd */
  int isStamp;        /* stamp: aStamp holds the new heads */
  int nStamp;
  int *aStamp;
} MigPlan;
void migPlanFree(MigPlan *);

/* Plan a move of a database whose heads are aCur[0..nCur) to zTarget.
** mode is MIGRATE_AUTO/UPGRADE/DOWNGRADE/STAMP.  On error *pzErr holds
** Alembic's wording for the problem (without the function prefix). */
int migPlan(migrate_bundle *, const int *aCur, int nCur, const char *zTarget,
            int mode, MigPlan *pPlan, char **pzErr);

/* Given an applied set (bitset over revisions), the heads it reduces to:
** applied revisions no other applied revision builds on (parent or
** dependency).  *paOut is sqlite3_malloc'd, in map order. */
int migHeadsOf(migrate_bundle *, const MigBits *aApplied, int **paOut,
               int *pnOut);

/* Applied closure (ancestors with dependencies) of aCur. */
int migAppliedOf(migrate_bundle *, const int *aCur, int nCur,
                 MigBits **paApplied);

/* ------------------------------------------------------------------------
** schema.c: snapshots and comparison
*/
typedef struct MigSchema MigSchema;
/* Snapshot the schema of database zDb ("main") of db, leaving out sqlite_%
** objects and the engine's own tables. */
int migSchemaSnapshot(sqlite3 *db, const char *zDb, MigSchema **pp,
                      char **pzErr);
/* *pzReport NULL when equal, else one line per difference (caller frees). */
int migSchemaDiff(const MigSchema *pHistory, const MigSchema *pDatabase,
                  char **pzReport, char **pzErr);
void migSchemaFree(MigSchema *);
/* migrate_schema_diff(), migrate_drift(), migrate_roundtrip() */
int migRegisterSchema(sqlite3 *db, char **pzErr);

/* ------------------------------------------------------------------------
** func.c / vtabs / apply.c glue
*/
int migRegisterFunctions(sqlite3 *db, char **pzErr);
/* template.c: migrate_fixture() with nCallerStmt busy statements that are
** the caller's own (1 from the SQL function, 0 from the C API). */
int migFixture(sqlite3 *db, const void *aBundle, size_t nBundle,
               const char *zTarget, int nCallerStmt, char **pzVersion,
               char **pzErr);
/* rebuild.c: migrate_rebuild() */
int migRegisterRebuild(sqlite3 *db, char **pzErr);
int migRegisterVtabMigrations(sqlite3 *db);
int migRegisterVtabHistory(sqlite3 *db);
/* xBestIndex for a table whose hidden column iBundleCol takes a bundle:
** idxNum 1 and argv[0] when an equality on it is usable. */
int migBestIndexBundle(sqlite3_index_info *p, int iBundleCol);

/* Resolve an optional bundle argument without the connection cache (the
** virtual tables, schema.c): NULL -> embedded.  zExample shows a correct
** call in the error message.  *pbOwned says whether the caller frees it. */
int migBundleFromValue(sqlite3_value *, const char *zExample,
                       migrate_bundle **pp, int *pbOwned, char **pzErr);

/* migReadVersion()'s code for a head nobody knows (primary code
** SQLITE_ERROR), so migrate_stamp() can replace such a version. */
#define MIG_UNKNOWN_HEAD (SQLITE_ERROR | (99 << 8))

/* Read the database's heads as indices into the bundle, sorted by id.  *paCur is
** sqlite3_malloc'd.  A head the bundle does not know is looked up among the
** revisions the database stores (migrate_scripts) when ppAug is not NULL:
** then *ppAug is set to an augmented bundle (caller frees, before b) and the
** indices refer to it.  A head known to neither is MIG_UNKNOWN_HEAD with a
** message naming it. */
int migReadVersion(sqlite3 *db, migrate_bundle *b, const char *zFunc,
                   int **paCur, int *pnCur, migrate_bundle **ppAug,
                   char **pzErr);

/* stored.c: *ppOut = b plus the revisions migrate_scripts holds that b
** lacks, graph rebuilt; NULL when there are none.  Caller frees it (before
** b, whose strings it borrows). */
int migBundleWithStored(sqlite3 *db, migrate_bundle *b,
                        migrate_bundle **ppOut, char **pzErr);

/* Checksum findings: for each applied revision whose last upgrade or stamp
** in migrate_log recorded another checksum than b has, one line in *pOut
** (when pOut) and ++*pnBad; with bFail the first one is an error instead,
** worded for zFunc/zTarget. */
int migVerifyChecksums(sqlite3 *db, migrate_bundle *b, const MigBits *aApplied,
                       const int *aCur, int nCur, MigStr *pOut, int *pnBad,
                       const char *zFunc, const char *zTarget, char **pzErr);

/* Comma-separated ids of aIdx (NULL when n==0). Caller frees. */
char *migJoinIds(migrate_bundle *, const int *aIdx, int n);

/* Refuse (SQLITE_MISUSE + message) when another statement on db is active:
** nCallerStmt busy read-only statements are the caller's own (1 for a SQL
** function, 0 for the C API).  In autocommit mode a caller that holds a read
** transaction (SELECT f() FROM t) is refused too.  Statements the applier
** itself is running (a migrate_rebuild() inside a revision) are allowed. */
int migCheckIdle(sqlite3 *db, int nCallerStmt, const char *zFunc,
                 char **pzErr);

/* The connection migrate_run() is applying revisions on in this thread (or
** NULL): functions called from a revision's statements see it. */
sqlite3 *migApplyingDb(void);

/* Does table zName exist in schema main? */
int migTableExists(sqlite3 *db, const char *zName, int *pExists);

/* Embedded bundle bytes (generated by mkbundle into build/). */
extern const unsigned char migrate_embedded_data[];
extern const unsigned int migrate_embedded_size;

#endif /* MIGRATE_INTERNAL_H */
