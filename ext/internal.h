/*
** internal.h — what the engine's files share and nothing else links against.
**
** The layers, bottom to top.  A file calls only files of its own layer or
** below (tools/layers.sh checks it on the objects' symbols):
**
**   1. util.c sqltok.c compat.c    arena, strings, the error vocabulary; the
**                                  SQL tokenizer; routines newer than 3.34
**   2. script.c graph.c            one script parsed; the graph, targets, plans
**   3. bundle.c                    bundles: folders, encode, decode
**   4. embedded.c                  the bundle built in; a bundle from an SQL value
**   5. bookkeeping.c stored.c      the engine's tables and reading them;
**      adopt.c                     alembic_version: read, adopt, kept in step
**      txn.c schema.c              the write frame; snapshots and their diff
**   6. apply.c rebuild.c           the writers: migrate_run(), migrate_rebuild();
**      vtab_migrations.c           the virtual tables (read-only)
**      vtab_history.c
**   7. check.c                     scratch databases; migrate_check, drift,
**                                  round trip
**   8. autogen.c template.c        the differ (migrate_diff); fixtures
**                                  (migrate_fixture)
**   9. func.c                      the SQL functions
**  10. migrate.c                   sqlite3_migrate_init()
**
**   make lint runs tools/layers.sh over build/core with these layers.
**
** mkbundle links layers 1-3 only.
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
#define MIG_MAX_ID        64           /* Revision ID and branch label length */
#define MIG_MAX_SCRIPT    (64u << 20)  /* one script file */
#define MIG_MAX_PAYLOAD   (256u << 20) /* a whole decoded bundle */
#define MIG_MAX_REVISIONS 1000000
#define MIG_MAX_FILENAME  255

/* ------------------------------------------------------------------------
** util.c: arena, growable string, error helper
*/

/* An arena: many small allocations freed at once.  Owned by a bundle. */
typedef struct MigArenaChunk MigArenaChunk;
typedef struct MigArena {
  MigArenaChunk *pChunk;
} MigArena;
void *migArenaAlloc(MigArena *, size_t n); /* zeroed; NULL on OOM */
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
void migStrAppendv(MigStr *, const char *zFmt, va_list);
/* Returns the string (caller frees with sqlite3_free) or NULL on OOM, and
** resets p. */
char *migStrFinish(MigStr *);
void migStrReset(MigStr *);

/* Replace *pzErr with a new printf-formatted message (old one freed).
** Returns SQLITE_NOMEM if the message could not be allocated, else rc. */
int migSetError(char **pzErr, int rc, const char *zFmt, ...);
/* Put printf-formatted text before *pzErr ("migrate_to('head'): " + the
** message).  Nothing happens when there is no message (or on OOM: the
** message stays as it was). */
void migErrPrefix(char **pzErr, const char *zFmt, ...);
/* Append zSuffix to *pzErr, likewise. */
void migErrSuffix(char **pzErr, const char *zSuffix);

/* An argument (z[0..n), n < 0: up to the NUL) as an error message may
** echo it: control characters and bytes that are not valid UTF-8 written as
** \xHH, everything else as it is.  Every message that echoes a caller's
** argument echoes this; NULL on OOM, caller frees. */
char *migShowArg(const char *z, int n);

/* How an engine error becomes an SQL error, for every SQL function: out of
** memory as such; otherwise the message (zErr, or SQLite's text for rc)
** with the code kept when it tells the caller what to do about the
** database (BUSY, LOCKED, READONLY, CONSTRAINT, FULL, IOERR, extended
** codes included) and SQLITE_ERROR for everything else: a bad argument, a
** refusal, a damaged bundle (SQLITE_CORRUPT is about the database file).
** Bytes of the message that are not valid UTF-8 are written as \xHH. */
void migResultError(sqlite3_context *, int rc, const char *zErr);
/* Replace a virtual table's error message with a printf-formatted one;
** returns rc. */
int migVtabError(sqlite3_vtab *, int rc, const char *zFmt, ...);

/* Joining: migStrSep() appends zSep before every item but the first (*pn
** counts them); migStrJoin() appends az[0..n) with zSep between; migJoin()
** returns that as a new string ("" when n == 0, NULL on OOM; caller
** frees). */
void migStrSep(MigStr *, int *pn, const char *zSep);
void migStrJoin(MigStr *, const char *const *az, int n, const char *zSep);
char *migJoin(const char *const *az, int n, const char *zSep);

/* A script checksum as the database stores it: 8 lower-case hex digits in
** zBuf (MIG_CHECKSUM_BUF bytes); returns zBuf. */
#define MIG_CHECKSUM_BUF 9
char *migChecksumText(unsigned int sum, char *zBuf);

/* Bitset over revision indices. */
typedef uint64_t MigBits;
#define MIG_BITS_WORDS(n)   (((size_t)(n) + 63) / 64)
#define MIG_BIT_TEST(a, i)  (((a)[(i) >> 6] >> ((i)&63)) & 1)
#define MIG_BIT_SET(a, i)   ((a)[(i) >> 6] |= (MigBits)1 << ((i)&63))
#define MIG_BIT_CLEAR(a, i) ((a)[(i) >> 6] &= ~((MigBits)1 << ((i)&63)))

/* ------------------------------------------------------------------------
** sqltok.c: the SQL tokenizer (SQLite's rules)
*/
enum {
  MIG_TK_EOF,     /* the terminating NUL (length 0) */
  MIG_TK_SPACE,   /* white space */
  MIG_TK_COMMENT, /* -- to the end of the line, or a block comment */
  MIG_TK_WORD,    /* keyword or bare identifier */
  MIG_TK_QUOTED,  /* "identifier", `identifier`, [identifier] */
  MIG_TK_STRING,  /* 'string' */
  MIG_TK_BLOB,    /* x'hex' */
  MIG_TK_NUMBER,
  MIG_TK_VAR,  /* ?1 :a @a $a */
  MIG_TK_PUNCT /* operators (->>, ||, <=, ... as one), ( ) , ; . */
};
/* The token at z (NUL-terminated): its length, and *peType a MIG_TK_*. */
size_t migSqlToken(const char *z, int *peType);
/* Length of the spaces and comments at z; *pnLine (if not NULL) grows by
** the newlines in them. */
size_t migSqlSkipSpace(const char *z, int *pnLine);
/* Is c a character SQLite's tokenizer reads as white space? */
int migSqlIsSpace(int c);
/* The newlines in z[0..n). */
int migSqlLines(const char *z, size_t n);
/* The name a WORD, QUOTED or STRING token z[0..n) spells, quotes removed
** and doubled quotes undone.  Caller frees; NULL on OOM. */
char *migSqlUnquote(const char *z, size_t n);

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
/* The first statement of r's upgrade (bUp) or downgrade section that SQLite
** refuses while another statement of the connection is active, as a SQL
** function's own call always is (VACUUM and VACUUM INTO: "SQL statements in
** progress"): its keyword, *piLine its line in the file; NULL when none. */
const char *migScriptNeedsIdleConn(const migrate_revision *r, int bUp,
                                   int *piLine);

/* Statement iterator over a section body, splitting the way SQLite does
** (sqlite3_complete).  Returns 1 and sets *pzStmt, *pnStmt and *piLine (line
** offset within the body, 0-based) for each statement, 0 at the end, and
** 0 with rc = SQLITE_NOMEM when it ran out of memory (rc is only ever set,
** never read).  Whitespace- and comment-only tails are skipped. */
typedef struct MigSplit {
  char *z;  /* body (read only: it may be shared between threads) */
  size_t i; /* current offset */
  int iLine;
  int rc; /* SQLITE_NOMEM after an allocation failed */
} MigSplit;
int migSplitNext(MigSplit *, const char **pzStmt, size_t *pnStmt, int *piLine);

/* CRC-32 (zlib) of z[0..n). */
unsigned int migCrc32(const char *z, size_t n);

/* ------------------------------------------------------------------------
** bundle.c + graph.c: the bundle
*/
struct migrate_bundle {
  MigArena arena; /* owns every string and array below */
  int nRev;
  migrate_revision *aRev; /* in file-name order (Alembic's map order) */
  int nHash;              /* power of two */
  int *aHash;             /* id -> index+1, open addressing */
  int nLabel;
  const char **azLabel; /* declared branch labels ... */
  int *aLabelRev;       /* ... and the revision that declares each */
  int nHead;
  int *aHead; /* no versioned child, map order */
  int nRealHead;
  int *aRealHead; /* no child and no dependent, map order */
  int nBase;
  int *aBase;   /* no parent, map order */
  int *aOrder;  /* history order: parents before children */
  int **aaDown; /* per revision: parents + normalized deps */
  int *anDown;
  int nRef;              /* >0: shared (embedded bundle), never freed */
  struct MigLazy *pLazy; /* format 2: script texts not yet inflated */
};

/* Make sure revision i's text fields (upgrade, downgrade, source, the
** lines) are set: a bundle decoded from format 2 inflates a script when it
** is first needed.  Thread-safe; a no-op for parsed folders and for
** revisions already loaded.  i < 0 loads every revision.  SQLITE_CORRUPT
** with a message naming the script when the bundle's text is damaged. */
int migBundleLoad(migrate_bundle *, int i, char **pzErr);
/* Check revision i's statements (migScriptCheckStatements) once per bundle:
** a decoded bundle remembers the success under its mutex, so later runs
** with the same bundle (the embedded one, a connection's cached one) skip
** it.  Revision i must be loaded. */
int migBundleCheckStatements(migrate_bundle *, int i, char **pzErr);

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
  MigStep *aStep; /* sqlite3_malloc'd */
  int isStamp;    /* stamp: aStamp holds the new heads */
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

/* The version rows aHead (a bitset) after revision i was upgraded (bUp) or
** downgraded, kept as Alembic's HeadMaintainer keeps alembic_version: an
** upgrade replaces the rows among its down revisions (parents and
** normalized dependencies) by itself; a downgrade replaces its own row by
** those of its down revisions that no other row needs, so a dependency that
** a still-applied revision needs may stay as a row of its own.  SQLITE_ERROR
** with a message where Alembic's bookkeeping fails (it would update a row
** that is not there). */
int migHeadsStep(const migrate_bundle *, MigBits *aHead, int i, int bUp,
                 char **pzErr);
/* Run migHeadsStep() over plan p from the rows aCur[0..nCur): SQLITE_OK
** when every step can be recorded (so a plan is refused before it runs),
** and then, when paOut is not NULL, the rows afterwards in *paOut
** (sqlite3_malloc'd, map order) and *pnOut. */
int migHeadsAfterPlan(const migrate_bundle *, const int *aCur, int nCur,
                      const MigPlan *p, int **paOut, int *pnOut, char **pzErr);

/* Applied closure (ancestors with dependencies) of aCur. */
int migAppliedOf(migrate_bundle *, const int *aCur, int nCur,
                 MigBits **paApplied);

/* ------------------------------------------------------------------------
** txn.c: the write frame of migrate_to()/migrate_stamp() and
** migrate_rebuild()
*/

/* Refuse (SQLITE_MISUSE + message) when another statement on db is active:
** nCallerStmt busy read-only statements are the caller's own (1 for a SQL
** function, 0 for the C API).  In autocommit mode a caller that holds a read
** transaction (SELECT f() FROM t) is refused too.  Statements the applier
** itself is running (a migrate_rebuild() inside a revision) are allowed.
** zWho opens the message: the call with its argument, "migrate_to('head')"
** (or a bare function name, then shown as "migrate_to()"). */
int migCheckIdle(sqlite3 *db, int nCallerStmt, const char *zWho, char **pzErr);

/* The connection migrate_run() is applying revisions on in this thread (or
** NULL): functions called from a revision's statements see it. */
sqlite3 *migApplyingDb(void);
/* Set it; returns the previous one (to put back: runs nest on scratch
** databases). */
sqlite3 *migApplyingSet(sqlite3 *db);

/* One write: BEGIN IMMEDIATE in autocommit mode (the busy timeout applies),
** else SAVEPOINT zSavepoint inside the caller's transaction; foreign-key
** enforcement off while it runs.  The functions return SQLite codes and
** leave the message in the connection (sqlite3_errmsg). */
#define MIG_TXN_NSET 4 /* settings the frame restores (txn.c aSetting) */
typedef struct MigTxn {
  sqlite3 *db;
  const char *zSavepoint;
  int bAuto;   /* autocommit when the call started: BEGIN IMMEDIATE */
  int bFk;     /* the caller enforces foreign keys: switched off until End */
  int bOpen;   /* our transaction or savepoint is open */
  int bSaved;  /* aWas holds the caller's settings */
  int bPragma; /* a script named one: End reads the settings
                         ** only PRAGMA reads (a statement, which could run
                         ** out of memory after the commit) */
  int aWas[MIG_TXN_NSET]; /* each setting at Init: 0, 1, or -1 unknown */
} MigTxn;
/* Start a frame on db and remember the connection settings a script may
** change (foreign_keys, legacy_alter_table, recursive_triggers,
** defer_foreign_keys): migTxnEnd() puts each back. */
void migTxnInit(MigTxn *, sqlite3 *db, const char *zSavepoint);
/* Switch foreign keys off if they are on (t->bFk says they were). */
int migTxnFkOff(MigTxn *);
/* BEGIN IMMEDIATE or SAVEPOINT. */
int migTxnBegin(MigTxn *);
/* COMMIT or RELEASE. */
int migTxnCommit(MigTxn *);
/* Has SQLite rolled back the caller's whole transaction under our open
** savepoint (RAISE(ROLLBACK), SQLITE_FULL, ...)? */
int migTxnLost(const MigTxn *);
/* Undo the work: MIG_TXN_UNDONE (or nothing was open), MIG_TXN_LOST (the
** caller's whole transaction was already rolled back by SQLite) or
** MIG_TXN_STUCK (the rollback failed: the transaction is still open). */
#define MIG_TXN_UNDONE 0
#define MIG_TXN_LOST   1
#define MIG_TXN_STUCK  2
int migTxnRollback(MigTxn *);
/* The settings migTxnInit() saw (foreign keys included) back as the
** caller had them, whatever happened; only those that changed are written. */
void migTxnEnd(MigTxn *);
/* A transaction that cannot be rolled back inside the call: veto every
** COMMIT on db until it ends.  Returns 1 when armed (a slot was free). */
int migTxnGuard(sqlite3 *db);

/* Append PRAGMA foreign_key_check's rows to *pOut, one line each (child
** table, rowid -- NULL for WITHOUT ROWID tables -- and parent, separated by
** 0x1f): of the whole main database (zTab NULL) or of table zTab, and then
** only the rows whose parent is zParent (when not NULL).  SQLITE_ERROR
** (message in db) for a foreign key mismatch. */
int migFkRows(sqlite3 *db, const char *zTab, const char *zParent, MigStr *pOut);
/* If zSql is ALTER TABLE [main.]old RENAME TO new, append the rename to
** *pRenames for migFkFirstNew() (OOM sets pRenames->rc). */
void migFkNoteRename(MigStr *pRenames, const char *zSql);
/* A new violation in zNow (migFkRows() text) that zBefore did not hold:
** a (child, parent) pair with more rows than before, the names of zBefore
** followed through zRenames (migFkNoteRename() lines, may be NULL).  Its
** text, "table T, row R references P" (with the counts when the pair had
** rows before), or NULL when there is none (on OOM, *pRc = SQLITE_NOMEM).
** Caller frees. */
char *migFkFirstNew(const char *zBefore, const char *zNow, const char *zRenames,
                    int *pRc);

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
/* How the two sides of a comparison are named in report lines. */
typedef struct MigDiffWords {
  const char *zA;     /* "in the history" */
  const char *zB;     /* "in the database" */
  const char *zOnlyA; /* "missing in the database" */
  const char *zOnlyB; /* "in the database, not in the history" */
} MigDiffWords;
/* The words of migSchemaDiff(): A is the history, B the database. */
extern const MigDiffWords migHistoryWords;
/* Append the differences of A and B to *pOut, one line each starting with
** zPrefix, "\n" between lines; *pnLine counts the lines already in *pOut
** (so the first new one is separated from them) and grows.  On OOM
** pOut->rc is set. */
void migSchemaDiffAppend(MigStr *pOut, int *pnLine, const char *zPrefix,
                         const MigDiffWords *w, const MigSchema *pA,
                         const MigSchema *pB);
/* migSchemaDiff() with the sides named by w (e.g. "in the history's head",
** "in schema.sql").  *pzReport NULL when equal (caller frees). */
int migSchemaDiffWorded(const MigSchema *pA, const MigSchema *pB,
                        const MigDiffWords *w, char **pzReport, char **pzErr);
/* Whether object zNameA of A equals object zNameB of B by the comparison
** migSchemaDiff() makes (eType 0 table, 1 virtual table, 2 index, 3 view,
** 4 trigger); 1 equal, 0 different or missing. */
int migSchemaSameObject(const MigSchema *pA, const char *zNameA,
                        const MigSchema *pB, const char *zNameB, int eType);

/* ------------------------------------------------------------------------
** check.c: migrate_check_report(), drift, round trip (migrate.h), and
** migrate_schema_diff(), migrate_drift(), migrate_roundtrip()
*/
int migRegisterChecks(sqlite3 *db, char **pzErr);
/* A new empty :memory: database with what a revision may call registered
** (migrate_rebuild() and the virtual tables), for drift, the round trip,
** the differ and templates.  Close with sqlite3_close().  Result code, with
** *pzErr set on failure. */
int migScratchOpen(sqlite3 **pDb, char **pzErr);
/* Register on db what a revision may call (as migScratchOpen does). */
int migScratchRegister(sqlite3 *db, char **pzErr);

/* ------------------------------------------------------------------------
** autogen.c: the schema differ (migrate_diff())
*/
void migFnDiff(sqlite3_context *, int, sqlite3_value **);

/* ------------------------------------------------------------------------
** The SQL faces' registration (each sets *pzErr naming what failed), the
** bundle argument (embedded.c) and the bookkeeping tables (bookkeeping.c,
** stored.c)
*/
/* func.c: migrate_to(), migrate_sql(), ... */
int migRegisterFunctions(sqlite3 *db, char **pzErr);
/* template.c: migrate_fixture() with nCallerStmt busy statements that are
** the caller's own (1 from the SQL function, 0 from the C API). */
int migFixture(sqlite3 *db, const void *aBundle, size_t nBundle,
               const char *zTarget, int nCallerStmt, char **pzVersion,
               char **pzErr);
/* rebuild.c: migrate_rebuild() */
int migRegisterRebuild(sqlite3 *db, char **pzErr);
/* vtab_migrations.c, vtab_history.c: the two modules */
int migRegisterVtabMigrations(sqlite3 *db, char **pzErr);
int migRegisterVtabHistory(sqlite3 *db, char **pzErr);
/* xBestIndex for a table whose hidden column iBundleCol takes a bundle:
** idxNum 1 and argv[0] when an equality on it is usable. */
int migBestIndexBundle(sqlite3_index_info *p, int iBundleCol);

/* Resolve an optional bundle argument without the connection cache (the
** virtual tables, check.c): NULL -> embedded.  zExample shows a correct
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
** message naming it.  Tables of the engine's names that it did not create
** are refused first (migBookkeepingCheck, zFunc naming the call). */
int migReadVersion(sqlite3 *db, migrate_bundle *b, const char *zFunc,
                   int **paCur, int *pnCur, migrate_bundle **ppAug,
                   char **pzErr);

/* adopt.c: the distinct version_num rows of main.zTable (one of the two
** version tables, never data) sorted and joined by zSep into *pz
** (sqlite3_malloc'd); with no rows *pz is zNone copied, or NULL when zNone
** is NULL.  SQLite result code, without a message. */
int migVersionJoin(sqlite3 *db, const char *zTable, const char *zSep,
                   const char *zNone, char **pz);
/* adopt.c: a database Alembic migrated.  *pzTable = the table the
** version is read from: "migrate_version" when it exists, else
** "alembic_version" when that exists, else NULL (base).  An alembic_version
** without a version_num column is an error. */
int migVersionTable(sqlite3 *db, const char *zFunc, const char **pzTable,
                    char **pzErr);

/* What a change must do about alembic_version (migAdoptPrepare). */
typedef struct MigAdopt {
  int bAdopt; /* no migrate_version yet: copy alembic_version's rows */
  int bSync;  /* alembic_version exists: keep it equal to migrate_version */
} MigAdopt;

/* Before a change, inside its write transaction: fill *pA.  When both
** tables exist and hold different rows, an error naming both (not for a
** stamp, which settles it). */
int migAdoptPrepare(sqlite3 *db, const char *zFunc, int bStamp, MigAdopt *pA,
                    char **pzErr);

/* When migrate_version and an alembic_version of Alembic's shape both exist
** and hold different rows: *pzOurs and *pzTheirs are their rows as "a, b"
** or "base" (caller frees both); else both NULL. */
int migAdoptDisagree(sqlite3 *db, char **pzOurs, char **pzTheirs);

/* The statements of a change: MIG_ADOPT_COPY adopts alembic_version's rows
** (migrate_version rows and 'adopt' log rows; after migBookkeepingSql);
** MIG_ADOPT_SYNC makes alembic_version equal to migrate_version (after each
** write of migrate_version, before the commit).  Schema "main." online, ""
** offline.  Caller frees; NULL on OOM. */
#define MIG_ADOPT_COPY 1
#define MIG_ADOPT_SYNC 2
char *migAdoptSql(int eWhich, int bOffline);

/* stored.c: *ppOut = b plus the revisions migrate_scripts holds that b
** lacks, graph rebuilt; NULL when there are none.  Caller frees it (before
** b, whose strings it borrows). */
int migBundleWithStored(sqlite3 *db, migrate_bundle *b, migrate_bundle **ppOut,
                        char **pzErr);

/* Checksum findings: for each applied revision whose last upgrade or stamp
** in migrate_log recorded another checksum than b has, one line in *pOut
** (when pOut) and ++*pnBad; without pOut the first one is an error instead,
** worded for zFunc/zTarget. */
int migVerifyChecksums(sqlite3 *db, migrate_bundle *b, const MigBits *aApplied,
                       const int *aCur, int nCur, MigStr *pOut, int *pnBad,
                       const char *zFunc, const char *zTarget, char **pzErr);

/* Comma-separated ids of aIdx (NULL when n==0). Caller frees. */
char *migJoinIds(migrate_bundle *, const int *aIdx, int n);

/* util.c: does table zName exist in schema main?  SQLite result code. */
int migTableExists(sqlite3 *db, const char *zName, int *pExists);
/* bookkeeping.c: the engine's tables main holds, as a mask of MIG_BK_*.
** A table (or view) of one of those names that the engine did not create
** (its columns, as PRAGMA table_xinfo shows them, are not exactly the
** engine's; for migrate_lock also its rows: see bookkeeping.c) is an error
** "zWho: the table main.X was not created by sqlite-migrate (...)", before
** anything changes. */
#define MIG_BK_VERSION 0x01u
#define MIG_BK_LOG     0x02u
#define MIG_BK_SCRIPTS 0x04u
#define MIG_BK_LOCK    0x08u
/* main holds a table alembic_version (Alembic's: adopt.c reads and checks it) */
#define MIG_BK_ALEMBIC 0x10u
int migBookkeepingCheck(sqlite3 *db, const char *zWho, unsigned *pmHas,
                        char **pzErr);

/* bookkeeping.c: CREATE TABLE IF NOT EXISTS of migrate_version,
** migrate_log and migrate_scripts (one script, statements end in ";\n");
** a printf format taking the schema prefix ("main." or "") three times. */
extern const char migBookkeepingSql[];

/* Embedded bundle bytes (generated by mkbundle into build/). */
extern const unsigned char migrate_embedded_data[];
extern const unsigned int migrate_embedded_size;

/* ---- compat.c: routines newer than SQLite 3.34, safe on every version */

/* Rows changed by the last INSERT/UPDATE/DELETE (sqlite3_changes64 when the
** library has it, else sqlite3_changes). */
sqlite3_int64 migChanges(sqlite3 *db);

/* 1 when db holds a read or write transaction (sqlite3_txn_state), else 0. */
int migTxnOpen(sqlite3 *db);

/* *pzSchema = the first schema other than main holding a table or view
** named zName (caller frees), or NULL.  SQLite's result code. */
int migOtherSchemaOf(sqlite3 *db, const char *zName, char **pzSchema);

/* *pbShadow = whether main table zTab is a virtual table's shadow table
** (PRAGMA table_list from 3.37, SQLite's naming rule before).  Result code. */
int migIsShadowTable(sqlite3 *db, const char *zTab, int *pbShadow);

#ifndef SQLITE_DESERIALIZE_FREEONCLOSE /* headers before 3.36 */
#define SQLITE_SERIALIZE_NOCOPY        0x001
#define SQLITE_DESERIALIZE_FREEONCLOSE 1
#define SQLITE_DESERIALIZE_RESIZEABLE  2
#define SQLITE_DESERIALIZE_READONLY    4
#endif
/* 1 when sqlite3_serialize() and sqlite3_deserialize() can be called here
** (a loadable module: SQLite 3.39 or newer; the static library: 3.36),
** else 0; migSerialize()/migDeserialize() call them, or fail as they would
** (NULL; SQLITE_ERROR, freeing aData when asked to). */
int migCanSerialize(void);
unsigned char *migSerialize(sqlite3 *db, const char *zSchema,
                            sqlite3_int64 *piSize, unsigned int mFlags);
int migDeserialize(sqlite3 *db, const char *zSchema, unsigned char *aData,
                   sqlite3_int64 szDb, sqlite3_int64 szBuf,
                   unsigned int mFlags);

#endif /* MIGRATE_INTERNAL_H */
