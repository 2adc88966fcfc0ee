/*
** out.c — what sqlite-migrate prints: Alembic's revision formats, errors
** and usage lines.
**
**     outHeadOnly(stdout, b, i, FMT_PARENTS|FMT_BRANCHES|FMT_DOC|FMT_TREE|
**                 FMT_HEAD, 0);
**       -> "7b5e0d3f8c21 -> 2a6f9c4e1b87 (search), Add prompt search index"
**     outLogEntry(stdout, s, b, i, 0);
**       -> "Rev: 2a6f9c4e1b87\nParent: 7b5e0d3f8c21\n...\n\n    <header>\n"
**     outFail("...");  -> "FAILED: ..." on stderr, returns 1
**     outUsage(s, "..."); -> usage line + "sqlite-migrate CMD: error: ..." on
**                            stderr, returns 2
**
** The formats follow Alembic 1.8 (alembic/script/base.py): Script._head_only
** for the one-line forms of history, heads, branches and current, and
** Script.log_entry for the verbose blocks.  Where Alembic prints a Python
** set (branch labels, "Branches into"), the order here is the bundle's
** (file-name order), so the output is stable.  A revision's "docstring" is
** its header: the leading "--" lines with the dashes and surrounding blanks
** removed, as Alembic's generated docstring holds message, Revision ID,
** Revises and Create Date.
*/
#include <stdarg.h>
#include <string.h>

#include "shell.h"

/* ======================================================================
** Errors and usage
*/

int outFail(const char *zFmt, ...) {
  va_list ap;
  char *z;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  fprintf(stderr, "FAILED: %s\n", z ? z : "out of memory");
  sqlite3_free(z);
  return EXIT_FAIL;
}

int outUsage(const Shell *s, const char *zFmt, ...) {
  va_list ap;
  char *z;
  const char *zUsage = s->zCmdUsage;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if (zUsage) {
    fprintf(stderr, "usage: sqlite-migrate %s\n", zUsage);
    fprintf(stderr, "sqlite-migrate %s: error: %s\n", s->zCmd,
            z ? z : "out of memory");
  } else {
    fprintf(stderr,
            "usage: sqlite-migrate [-d DATABASE] [--dir FOLDER | --bundle "
            "FILE] COMMAND [ARGS]\n");
    fprintf(stderr, "sqlite-migrate: error: %s\n", z ? z : "out of memory");
  }
  sqlite3_free(z);
  return EXIT_USAGE;
}

int outFinish(int rc) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "FAILED: cannot write to standard output\n");
    return EXIT_FAIL;
  }
  return rc;
}

/* ======================================================================
** Revisions
*/

void outIds(FILE *f, const migrate_bundle *b, const int *a, int n) {
  int i;
  for (i = 0; i < n; i++) {
    const migrate_revision *r = migrate_bundle_revision(b, a[i]);
    fprintf(f, "%s%s", i ? ", " : "", r ? r->id : "?");
  }
}

static void outList(FILE *f, const char *const *az, int n) {
  int i;
  for (i = 0; i < n; i++) fprintf(f, "%s%s", i ? ", " : "", az[i]);
}

/* Alembic's _format_down_revision: "<base>" or the parents. */
static void outDown(FILE *f, const migrate_revision *r) {
  if (r->nparent == 0) {
    fputs("<base>", f);
  } else {
    outList(f, r->parents, r->nparent);
  }
}

/* See shell.h (Alembic's Script._head_only). */
void outHeadOnly(FILE *f, const migrate_bundle *b, int i, int flags,
                 int bCurrent) {
  const migrate_revision *r = migrate_bundle_revision(b, i);
  if (r == 0) return;
  if (flags & FMT_PARENTS) {
    outDown(f, r);
    if (r->ndepend > 0) {
      fputs(" (", f);
      outList(f, r->depends, r->ndepend);
      fputs(")", f);
    }
    fputs(" -> ", f);
  }
  fputs(r->id, f);
  if ((flags & FMT_BRANCHES) && r->nall_label > 0) {
    fputs(" (", f);
    outList(f, r->all_labels, r->nall_label);
    fputs(")", f);
  }
  if (flags & (FMT_HEAD | FMT_TREE)) {
    if (r->is_real_head) fputs(" (head)", f);
    if (r->is_head && !r->is_real_head) fputs(" (effective head)", f);
    if (bCurrent) fputs(" (current)", f);
  }
  if (flags & FMT_TREE) {
    if (r->is_branchpoint) fputs(" (branchpoint)", f);
    if (r->is_merge) fputs(" (mergepoint)", f);
  }
  if (flags & FMT_DOC) fprintf(f, ", %s", r->message);
  fputs("\n", f);
}

/* The script's header as Alembic's longdoc: each leading "--" line without
** its dashes, trimmed; blank lines at either end dropped; every line
** indented by four spaces (a blank line becomes four spaces). */
static void outLongdoc(FILE *f, const migrate_revision *r) {
  const char *z = r->source, *zEnd;
  const char *azLine[512];
  size_t anLine[512];
  int n = 0, iFirst = 0, k;
  if (z == 0) return; /* not loaded (migrate_bundle_load failed) */
  zEnd = z + r->nsource;
  while (z < zEnd && n < 512) {
    const char *zEol = memchr(z, '\n', (size_t)(zEnd - z));
    const char *e = zEol ? zEol : zEnd;
    const char *a = z;
    if (e - a < 2 || a[0] != '-' || a[1] != '-') break;
    a += 2;
    while (a < e && (*a == ' ' || *a == '\t')) a++;
    while (e > a && (e[-1] == ' ' || e[-1] == '\t')) e--;
    azLine[n] = a;
    anLine[n] = (size_t)(e - a);
    n++;
    z = zEol ? zEol + 1 : zEnd;
  }
  while (n > 0 && anLine[n - 1] == 0) n--;
  while (iFirst < n && anLine[iFirst] == 0) iFirst++;
  if (iFirst == n) fputs("\n", f); /* Alembic: "\n" + "" + "\n" */
  for (k = iFirst; k < n; k++) {
    fprintf(f, "    %.*s\n", (int)anLine[k], azLine[k]);
  }
}

/* Where revision r's script is, for "Path:". */
static void outPath(FILE *f, const Shell *s, const migrate_revision *r) {
  switch (s->eSrc) {
    case SRC_DIR: {
      size_t n = strlen(s->zSrc);
      int bSlash = n > 0 && s->zSrc[n - 1] == '/';
      fprintf(f, "%s%s%s", s->zSrc, bSlash ? "" : "/", r->file);
      break;
    }
    case SRC_FILE:
      fprintf(f, "%s (in bundle %s)", r->file, s->zSrc);
      break;
    default:
      fprintf(f, "%s (built-in bundle)", r->file);
      break;
  }
}

/* See shell.h (Alembic's Script.log_entry). */
void outLogEntry(FILE *f, const Shell *s, const migrate_bundle *b, int i,
                 int bCurrent) {
  const migrate_revision *r = migrate_bundle_revision(b, i);
  char *zErr = 0;
  if (r == 0) return;
  if (migrate_bundle_load(b, i, &zErr) != SQLITE_OK) {
    /* the entry goes out without its longdoc */
    fprintf(stderr, "sqlite-migrate: %s\n", zErr ? zErr : "out of memory");
    sqlite3_free(zErr);
  }
  fprintf(f, "Rev: %s%s%s%s%s\n", r->id, r->is_head ? " (head)" : "",
          r->is_branchpoint ? " (branchpoint)" : "",
          r->is_merge ? " (mergepoint)" : "", bCurrent ? " (current)" : "");
  fputs(r->is_merge ? "Merges: " : "Parent: ", f);
  outDown(f, r);
  fputs("\n", f);
  if (r->ndepend > 0) {
    fputs("Also depends on: ", f);
    outList(f, r->depends, r->ndepend);
    fputs("\n", f);
  }
  if (r->is_branchpoint) {
    fputs("Branches into: ", f);
    outIds(f, b, r->child_idx, r->nchild);
    fputs("\n", f);
  }
  if (r->nall_label > 0) {
    fputs("Branch names: ", f);
    outList(f, r->all_labels, r->nall_label);
    fputs("\n", f);
  }
  fputs("Path: ", f);
  outPath(f, s, r);
  fputs("\n\n", f);
  outLongdoc(f, r);
}
