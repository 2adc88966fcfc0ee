/*
** unit.h — a tiny test framework and the helpers the unit tests share.
**
**     CHECK(x != 0);                          a condition
**     CHECK_INT(rev->nparent, 2);             two integers
**     CHECK_STR(rev->message, "Add users");   two strings (NULL-safe)
**     CHECK_TAKE(ut_plan(b, "", "head", MIGRATE_UPGRADE),
**                "up a1, up b2 => b2");       frees the first string after
**
** A failing CHECK prints "file:line: [test] what" and the run goes on; main.c
** prints "N passed, N failed" at the end and exits 1 on any failure.  Each
** test file has one entry (ut_script_tests() ...), called by main.c.
**
** The helpers (support.c) build what the tests look at from small texts:
**
**     ut_script("b2", "a1", "", "", "SELECT 1;\n", "SELECT 2;\n")
**         one revision script (README.md, "Revision scripts"), NULL fields leave a line out
**     ut_graph(&zErr, "r1; b1<r1; c1<r1 &b1; m1<b1,c1 @lab")
**         a bundle with one script per entry "id[<parents][ @labels][ &deps]",
**         in files "<id>_rev.sql", via migBundleFromFiles()
**     ut_plan(b, "b1,c1", "m1", MIGRATE_UPGRADE)
**         "up m1 => m1": the steps of migPlan(), then the heads the database
**         would hold afterwards (migHeadsOf); "error: <message>" on failure
**     ut_resolve(b, "b1", "+1")  "b2" (migrate_bundle_resolve), "" for base
**
** Every string a helper returns is sqlite3_malloc'd; CHECK_TAKE frees it.
*/
#ifndef MIGRATE_UNIT_H
#define MIGRATE_UNIT_H

#include "internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the framework (main.c) --------------------------------------------- */

extern int ut_nPass;
extern int ut_nFail;
extern const char *ut_zTest; /* name of the running test, for messages */
extern int ut_bQuiet;        /* set in a guard's child: print nothing */

/* Record one check; on failure print file:line and the printf message. */
void ut_check(int bOk, const char *zFile, int iLine, const char *zFmt, ...);
/* Compare two strings (either may be NULL). */
void ut_check_str(const char *zGot, const char *zWant, const char *zFile,
                  int iLine, const char *zExpr);

#define TEST(name) (ut_zTest = (name))
#define CHECK(c)   ut_check((c) != 0, __FILE__, __LINE__, "%s", #c)
#define CHECK_INT(a, b)                                                       \
  do {                                                                        \
    long long a_ = (long long)(a), b_ = (long long)(b);                       \
    ut_check(a_ == b_, __FILE__, __LINE__, "%s: got %lld, expected %lld", #a, \
             a_, b_);                                                         \
  } while (0)
#define CHECK_STR(a, b) ut_check_str((a), (b), __FILE__, __LINE__, #a)
#define CHECK_TAKE(a, b)                           \
  do {                                             \
    char *z_ = (a);                                \
    ut_check_str(z_, (b), __FILE__, __LINE__, #a); \
    sqlite3_free(z_);                              \
  } while (0)

/* ---- helpers (support.c) ------------------------------------------------ */

/* A revision script.  zRevises NULL leaves the Revises line out; zLabels,
** zDepends NULL or "" leave theirs out; zDown NULL leaves the downgrade
** section out.  Caller frees. */
char *ut_script(const char *zId, const char *zRevises, const char *zLabels,
                const char *zDepends, const char *zUp, const char *zDown);

/* migBundleFromFiles() over n named texts, passed in name order as the
** folder reader does (sorted here).  Returns the rc; *ppOut / *pzErr. */
int ut_bundle_texts(int n, const char **azName, const char **azText,
                    migrate_bundle **ppOut, char **pzErr);

/* A bundle from a graph spec (see above); NULL with *pzErr on failure.
** Upgrade bodies are "SELECT 'up <id>';", downgrades "SELECT 'down <id>';". */
migrate_bundle *ut_graph(char **pzErr, const char *zSpec);

/* Index of revision zId; a failed CHECK and -1 when it is missing. */
int ut_idx(const migrate_bundle *, const char *zId);

/* Parse "a,b" (or "" / "base") into indices; returns the count. */
int ut_cur(const migrate_bundle *, const char *zList, int *aOut, int nMax);

/* Ids of a[0..n) joined with zSep (-1 written as "base").  Caller frees. */
char *ut_ids(const migrate_bundle *, const int *a, int n, const char *zSep);

/* The history order (migrate_bundle_order), ids joined by " ". */
char *ut_order(const migrate_bundle *);

/* Heads / real heads / bases of the bundle, ids joined by ",". */
char *ut_heads(const migrate_bundle *);
char *ut_real_heads(const migrate_bundle *);
char *ut_bases(const migrate_bundle *);

/* A revision's child / dependent / all_labels lists, joined by ",". */
char *ut_children(const migrate_bundle *, const char *zId);
char *ut_dependents(const migrate_bundle *, const char *zId);
char *ut_labels(const migrate_bundle *, const char *zId);

/* Plan a move from heads zCur to zTarget: "up a1, up b2 => b2", "=> b2"
** for an empty plan, "stamp => a1,b2" for a stamp ("base" when no head
** remains), "error: <message>" on failure. */
char *ut_plan(migrate_bundle *, const char *zCur, const char *zTarget,
              int mode);

/* migrate_bundle_resolve(): "b2,c2", "" for base, "error: ..." */
char *ut_resolve(migrate_bundle *, const char *zCur, const char *zTarget);

/* migHeadsOf() of the applied closure of zApplied's revisions. */
char *ut_heads_of(migrate_bundle *, const char *zApplied);

/* Parse one script as file "f.sql": NULL when accepted, else the error
** (caller frees). */
char *ut_parse_err(const char *zText);
char *ut_parse_err_n(const char *zText, size_t nText);

/* Run xFn(pArg) in a child process first.  If the child crashes, return
** "crashed (signal N)" (caller frees) and do not run it here; else run it
** again in this process (so the sanitizers see it) and return its result.
** For calls that may crash on bad input: the crash becomes one failed
** check instead of the end of the run. */
char *ut_guarded(char *(*xFn)(void *), void *pArg);

/* Read a whole file (caller frees with sqlite3_free); NULL if unreadable. */
char *ut_read_file(const char *zPath, size_t *pn);

/* ---- the test files' entries -------------------------------------------- */
void ut_script_tests(void);
void ut_sqltok_tests(void);
void ut_split_tests(void);
void ut_graph_tests(void);
void ut_target_tests(void);
void ut_plan_tests(void);
void ut_bundle_tests(void);
void ut_parity_tests(void);
void ut_template_tests(void);

#endif /* MIGRATE_UNIT_H */
