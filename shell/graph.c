/*
** graph.c — "graph": the revision graph as Graphviz DOT.
**
**     sqlite-migrate graph | dot -Tpng -o graph.png
**     sqlite-migrate -d app.db graph | dot -Tsvg -o graph.svg   current marked
**
** One node per revision, labelled with its id, Alembic's markers and its
** message; an edge from each parent to its child (the upgrade direction,
** drawn bottom to top, so bases are at the bottom and heads at the top, as
** in "history" read backwards); a dashed edge for each Depends On; each
** branch label as a tag beside the revision that declares it.  Markers:
**
**     (head)        double border          (base)     grey
**     (mergepoint)  bold border            (branchpoint)  in the label only
**     (current)     green, with -d / a database configured
**
** Nodes and edges come out in history order (parents first), so the output
** is stable and diffs well.
*/
#include <string.h>

#include "shell.h"

/* Print z as the inside of a DOT double-quoted string. */
static void dotEscape(FILE *f, const char *z) {
  for (; *z; z++) {
    if (*z == '"' || *z == '\\') fputc('\\', f);
    if (*z == '\n' || *z == '\r') {
      fputc(' ', f);
      continue;
    }
    fputc(*z, f);
  }
}

static int inList(const int *a, int n, int k) {
  int i;
  for (i = 0; i < n; i++) {
    if (a[i] == k) return 1;
  }
  return 0;
}

int cmdGraph(Shell *s, Args *a) {
  migrate_bundle *b;
  int *aDb = 0, nDb = 0, n, i, k, rc;
  int bDb = s->zDbPath != 0;
  (void)a;
  rc = shellBundle(s, &b);
  if (rc) return rc;
  if (bDb) {
    sqlite3 *db = 0;
    rc = shellOpenDb(s, DB_READ, &db, 0);
    if (rc) return rc;
    rc = shellCurrent(s, db, b, &aDb, &nDb);
    rc = shellCloseDb(s, db, rc);
    if (rc) {
      sqlite3_free(aDb);
      return rc;
    }
  }
  n = migrate_bundle_count(b);
  printf(
      "// sqlite-migrate graph: %d revision%s%s%s\n"
      "// render: sqlite-migrate graph | dot -Tpng -o graph.png\n"
      "digraph migrations {\n"
      "  rankdir=BT;\n"
      "  node [shape=box, style=\"rounded,filled\", fillcolor=\"white\", "
      "fontname=\"Helvetica\", fontsize=10];\n"
      "  edge [color=\"#555555\", arrowsize=0.7];\n",
      n, n == 1 ? "" : "s", bDb ? ", current revisions of " : "",
      bDb ? "the database" : "");

  /* nodes */
  for (i = 0; i < n; i++) {
    int iRev = migrate_bundle_order(b, i);
    const migrate_revision *r = migrate_bundle_revision(b, iRev);
    int bCur = inList(aDb, nDb, iRev);
    int bRealHead = r->nchild == 0 && r->ndependent == 0;
    printf("  \"");
    dotEscape(stdout, r->id);
    printf("\" [label=\"");
    dotEscape(stdout, r->id);
    printf("%s%s%s%s%s%s\\n", r->is_base ? " (base)" : "",
           bRealHead ? " (head)" : "",
           r->is_head && !bRealHead ? " (effective head)" : "",
           r->is_branchpoint ? " (branchpoint)" : "",
           r->is_merge ? " (mergepoint)" : "", bCur ? " (current)" : "");
    dotEscape(stdout, r->message);
    printf("\"");
    if (r->is_head) printf(", peripheries=2");
    if (r->is_merge) printf(", penwidth=2");
    if (bCur) {
      printf(", fillcolor=\"#b7e1cd\"");
    } else if (r->is_base) {
      printf(", fillcolor=\"#e6e6e6\"");
    }
    printf("];\n");
  }

  /* parent -> child, dependency -> dependent */
  for (i = 0; i < n; i++) {
    const migrate_revision *r =
        migrate_bundle_revision(b, migrate_bundle_order(b, i));
    for (k = 0; k < r->nparent; k++) {
      printf("  \"");
      dotEscape(stdout, r->parents[k]);
      printf("\" -> \"");
      dotEscape(stdout, r->id);
      printf("\";\n");
    }
    for (k = 0; k < r->ndepend; k++) {
      const migrate_revision *d = migrate_bundle_revision(b, r->depend_idx[k]);
      printf("  \"");
      dotEscape(stdout, d->id);
      printf("\" -> \"");
      dotEscape(stdout, r->id);
      printf("\" [style=dashed, label=\"depends on\", fontsize=8];\n");
    }
  }

  /* branch labels, beside the revision that declares them */
  for (i = 0; i < n; i++) {
    const migrate_revision *r =
        migrate_bundle_revision(b, migrate_bundle_order(b, i));
    for (k = 0; k < r->nlabel; k++) {
      printf("  \"label:");
      dotEscape(stdout, r->labels[k]);
      printf("\" [label=\"");
      dotEscape(stdout, r->labels[k]);
      printf(
          "\", shape=cds, style=filled, fillcolor=\"#fff2cc\", "
          "fontsize=9];\n  \"label:");
      dotEscape(stdout, r->labels[k]);
      printf("\" -> \"");
      dotEscape(stdout, r->id);
      printf("\" [style=dotted, arrowhead=none];\n  {rank=same; \"label:");
      dotEscape(stdout, r->labels[k]);
      printf("\"; \"");
      dotEscape(stdout, r->id);
      printf("\";}\n");
    }
  }
  printf("}\n");
  sqlite3_free(aDb);
  return EXIT_OK;
}
