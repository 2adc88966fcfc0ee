/*
** main.c — sqlite-migrate: Alembic's commands for SQLite databases.
**
**     sqlite-migrate [-d DATABASE] [--dir FOLDER | --bundle FILE] COMMAND [ARGS]
**
**     sqlite-migrate -d app.db upgrade            # to head
**     sqlite-migrate -d app.db downgrade -1
**     sqlite-migrate history -v
**     sqlite-migrate --help | COMMAND --help | --version
**
** This file holds the global options, the command table (name, options,
** usage line, help text) and the dispatch; each command is one function in
** commands.c, inspect.c, write.c or graph.c.  Global options may come
** before or after the command.  Exit codes: 0 done, 1 failure or a "no"
** answer, 2 usage error (with a usage line on stderr).
*/
#include <stdlib.h>
#include <string.h>

#include "shell.h"

#define PROG "sqlite-migrate"

/* Global options; also accepted after the command. */
static const OptDef aGlobal[] = {
    {"database", 'd', 1},
    {"dir", 0, 1},
    {"bundle", 0, 1},
    {"help", 'h', 0},
    /* Alembic's: the configuration file and section, --raiseerr */
    {"config", 'c', 1},
    {"name", 'n', 1},
    {"raiseerr", 0, 0},
};
#define N_GLOBAL ((int)(sizeof(aGlobal) / sizeof(aGlobal[0])))

/* Per-command options (the global ones are added when parsing). */
static const OptDef aOptNone[] = {{0, 0, 0}};
static const OptDef aOptRevision[] = {
    {"message", 'm', 1},    {"head", 0, 1},       {"splice", 0, 0},
    {"branch-label", 0, 1}, {"depends-on", 0, 1}, {"rev-id", 0, 1},
    {"autogenerate", 0, 0}, {"schema", 0, 1},     {"from-db", 0, 1},
};
static const OptDef aOptSchema[] = {{"schema", 0, 1}};
static const OptDef aOptMerge[] = {
    {"message", 'm', 1}, {"branch-label", 0, 1}, {"rev-id", 0, 1}};
static const OptDef aOptMigrate[] = {{"sql", 0, 0}, {"backup", 0, 1}};
static const OptDef aOptStamp[] = {{"sql", 0, 0}, {"purge", 0, 0}};
static const OptDef aOptVerbose[] = {{"verbose", 'v', 0}};
static const OptDef aOptHistory[] = {
    {"rev-range", 'r', 1}, {"verbose", 'v', 0}, {"indicate-current", 'i', 0}};
static const OptDef aOptHeads[] = {{"verbose", 'v', 0},
                                   {"resolve-dependencies", 0, 0}};
static const OptDef aOptBundle[] = {{"output", 'o', 1}};
static const OptDef aOptImport[] = {{"output", 'o', 1}};

#define OPTS(a) a, (int)(sizeof(a) / sizeof(a[0]))

typedef struct Command {
  const char *zName;
  int (*xRun)(Shell *, Args *);
  const OptDef *aOpt;
  int nOpt;
  int nPosMin, nPosMax;
  const char *zPosName; /* the positional argument(s), for messages */
  const char *zUsage;   /* after "sqlite-migrate " */
  const char *zSummary; /* one line for --help */
  const char *zHelp;    /* the options, for COMMAND --help */
} Command;

static const Command aCmd[] = {
    {"init", cmdInit, aOptNone, 0, 0, 1, "FOLDER", "init [FOLDER]",
     "Create a migrations folder (default: migrations).",
     "  FOLDER               the folder to create; it must not exist or be "
     "empty\n"},
    {"revision", cmdRevision, OPTS(aOptRevision), 0, 0, "",
     "revision -m MSG [--head REV] [--splice] [--branch-label LABEL] "
     "[--depends-on REV] [--rev-id ID] [--autogenerate [--schema FILE | "
     "--from-db DB]]",
     "Write a new revision script into the migrations folder.",
     "  -m, --message MSG    the revision's message (first header line)\n"
     "  --head REV           the revision(s) it revises (default: head; "
     "'base'\n"
     "                       starts a new base)\n"
     "  --splice             allow a --head that is not a head (a new "
     "branch)\n"
     "  --branch-label LABEL a branch label for the revision (repeatable)\n"
     "  --depends-on REV     a revision or label it depends on "
     "(repeatable)\n"
     "  --rev-id ID          the revision id (default: 12 random hex "
     "digits)\n"
     "  --autogenerate       fill the revision with the SQL that turns the "
     "head's\n"
     "                       schema into the declared schema\n"
     "  --schema FILE        the declared schema (default: schema.sql "
     "beside the\n"
     "                       migrations folder)\n"
     "  --from-db DB         with --autogenerate: a base revision creating "
     "DB's schema\n"},
    {"merge", cmdMerge, OPTS(aOptMerge), 1, -1, "REV",
     "merge -m MSG [--branch-label LABEL] [--rev-id ID] REV... | heads",
     "Write a revision that merges heads.",
     "  REV...               revisions to merge; 'heads' for every head\n"
     "  -m, --message MSG    the revision's message\n"
     "  --branch-label LABEL a branch label for the merge revision\n"
     "  --rev-id ID          the revision id (default: 12 random hex "
     "digits)\n"},
    {"upgrade", cmdUpgrade, OPTS(aOptMigrate), 0, 1, "TARGET",
     "upgrade [TARGET] [--sql] [--backup FILE]",
     "Upgrade the database to TARGET (default: head).",
     "  TARGET               head, heads, a revision, +N, REV+N, "
     "LABEL@head, ...;\n"
     "                       with --sql also FROM:TO\n"
     "  --sql                print the SQL script instead of running it\n"
     "  --backup FILE        first copy the database to FILE (a new file)\n"},
    {"downgrade", cmdDowngrade, OPTS(aOptMigrate), 1, 1, "TARGET",
     "downgrade TARGET [--sql] [--backup FILE]",
     "Revert the database to TARGET.",
     "  TARGET               base, a revision, -N, REV-N, LABEL@-N, ...; "
     "with\n"
     "                       --sql also FROM:TO\n"
     "  --sql                print the SQL script instead of running it\n"
     "  --backup FILE        first copy the database to FILE (a new file)\n"},
    {"stamp", cmdStamp, OPTS(aOptStamp), 1, 1, "TARGET",
     "stamp TARGET [--sql] [--purge]",
     "Set the database's version to TARGET, running no script.",
     "  TARGET               a revision, head, heads or base\n"
     "  --sql                print the SQL script instead of running it\n"
     "  --purge              first empty the version table (it may hold\n"
     "                       revisions these revisions do not know)\n"},
    {"current", cmdCurrent, OPTS(aOptVerbose), 0, 0, "", "current [-v]",
     "Show the database's current revision(s).",
     "  -v, --verbose        the database URL and each revision in full\n"},
    {"history", cmdHistory, OPTS(aOptHistory), 0, 0, "",
     "history [-r FROM:TO] [-v] [-i]", "List revisions, newest first.",
     "  -r, --rev-range FROM:TO  only this range; FROM and TO may be base, "
     "head,\n"
     "                       heads, current, a revision or a relative form "
     "(-3:)\n"
     "  -v, --verbose        each revision in full\n"
     "  -i, --indicate-current  mark the database's current revisions\n"},
    {"heads", cmdHeads, OPTS(aOptHeads), 0, 0, "",
     "heads [-v] [--resolve-dependencies]",
     "Show the head revisions of the history.",
     "  -v, --verbose        each revision in full\n"
     "  --resolve-dependencies  count a dependency like a parent\n"},
    {"branches", cmdBranches, OPTS(aOptVerbose), 0, 0, "", "branches [-v]",
     "Show the branch points of the history.",
     "  -v, --verbose        each revision in full\n"},
    {"show", cmdShow, aOptNone, 0, 1, 1, "REV", "show REV",
     "Show a revision in full (a prefix, head, heads, current, ...).",
     "  REV                  the revision(s) to show\n"},
    {"check", cmdCheck, OPTS(aOptSchema), 0, 0, "", "check [--schema FILE]",
     "Exit 0 when the database is at head and undrifted, else say why.",
     "  --schema FILE        the declared schema, compared with the head "
     "(default:\n"
     "                       schema.sql beside the migrations folder, when "
     "there)\n"},
    {"diff", cmdDiff, OPTS(aOptSchema), 0, 0, "", "diff [--schema FILE]",
     "Print the SQL that turns the head's (or -d DB's) schema into the "
     "declared one.",
     "  --schema FILE        the declared schema (default: schema.sql "
     "beside the\n"
     "                       migrations folder)\n"},
    {"test", cmdTest, aOptNone, 0, 0, 0, "", "test",
     "Round-trip every revision on scratch databases, schemas compared.", ""},
    {"bundle", cmdBundle, OPTS(aOptBundle), 0, 0, "", "bundle -o FILE",
     "Write the revisions as one bundle file (for --bundle).",
     "  -o, --output FILE    the bundle file to write\n"},
    {"graph", cmdGraph, aOptNone, 0, 0, 0, "", "graph",
     "Print the revision graph as Graphviz DOT (-d: current marked).", ""},
    {"edit", cmdEdit, aOptNone, 0, 1, 1, "REV", "edit REV",
     "Open a revision's file in $VISUAL or $EDITOR.",
     "  REV                  the revision(s): a prefix, head, current, ...\n"},
    {"import-alembic", cmdImportAlembic, OPTS(aOptImport), 1, 1, "VERSIONS_DIR",
     "import-alembic VERSIONS_DIR [-o FOLDER]",
     "Write .sql revisions from an Alembic versions folder.",
     "  VERSIONS_DIR         the Alembic project's versions folder\n"
     "  -o, --output FOLDER  where to write (default: migrations)\n"},
};
#define N_CMD ((int)(sizeof(aCmd) / sizeof(aCmd[0])))

static const char zMainUsage[] =
    "usage: " PROG
    " [-d DATABASE] [--dir FOLDER | --bundle FILE] COMMAND "
    "[ARGS]\n";

static const Command *findCommand(const char *z) {
  int i;
  for (i = 0; i < N_CMD; i++) {
    if (strcmp(aCmd[i].zName, z) == 0) return &aCmd[i];
  }
  return 0;
}

/* For out.c: the usage line of a command. */
static void printMainHelp(void) {
  int i;
  printf(
      "%s\n"
      "Schema migrations for SQLite, the way Alembic does them.\n\n"
      "Commands:\n",
      zMainUsage);
  for (i = 0; i < N_CMD; i++) {
    printf("  %-10s %s\n", aCmd[i].zName, aCmd[i].zSummary);
  }
  printf(
      "\nOptions:\n"
      "  -d DATABASE          the SQLite database file (or "
      "sqlite:///path);\n"
      "                       default $MIGRATE_DATABASE, then "
      "$DATABASE_URL\n"
      "  --dir FOLDER         read revisions from this migrations folder\n"
      "                       (default ./migrations when it exists)\n"
      "  --bundle FILE        read revisions from a bundle file\n"
      "                       (default: the bundle built into the "
      "program,\n"
      "                       unless it is the example history)\n"
      "  -c, --config FILE    an ini file: [sqlite-migrate] or "
      "alembic.ini's\n"
      "                       [alembic] (default ./sqlite-migrate.ini)\n"
      "  -n, --name NAME      the ini file's section [NAME]\n"
      "  --raiseerr           accepted, as Alembic's (errors are always "
      "shown\n"
      "                       in full)\n"
      "  -h, --help           this help; COMMAND --help for a command's\n"
      "  --version            the program's and SQLite's versions\n\n"
      "Exit status: 0 done, 1 failure or a \"no\" answer, 2 usage "
      "error.\n"
      "See sqlite-migrate(1).\n");
}

static void printCommandHelp(const Command *c) {
  printf("usage: " PROG " %s\n\n%s\n", c->zUsage, c->zSummary);
  if (c->zHelp[0]) printf("\n%s", c->zHelp);
}

/* Usage error before a command is known. */
static int mainUsage(const char *zFmt, const char *zArg) {
  fputs(zMainUsage, stderr);
  fprintf(stderr, PROG ": error: ");
  fprintf(stderr, zFmt, zArg);
  fprintf(stderr, "\n");
  return EXIT_USAGE;
}

/* Apply the global options found in a (before or after the command). */
static void takeGlobals(Shell *s, const Args *a) {
  if (argsValue(a, "database")) s->zDbArg = argsValue(a, "database");
  if (argsValue(a, "dir")) s->zDirArg = argsValue(a, "dir");
  if (argsValue(a, "bundle")) s->zBundleArg = argsValue(a, "bundle");
  if (argsValue(a, "config")) s->zConfigArg = argsValue(a, "config");
  if (argsValue(a, "name")) s->zNameArg = argsValue(a, "name");
  if (argsHas(a, "raiseerr")) s->bRaiseErr = 1;
}

static int runCommand(Shell *s, const Command *c, int argc, char **argv) {
  OptDef aDef[ARGS_MAX_OPT];
  Args a;
  char *zErr = 0;
  int rc, i, n = 0;
  for (i = 0; i < c->nOpt; i++) aDef[n++] = c->aOpt[i];
  for (i = 0; i < N_GLOBAL; i++) aDef[n++] = aGlobal[i];
  s->zCmd = c->zName;
  s->zCmdUsage = c->zUsage;
  rc = argsParse(aDef, n, argc, argv, &a, &zErr);
  if (rc) {
    rc = outUsage(s, "%s", zErr ? zErr : "out of memory");
    sqlite3_free(zErr);
    argsFree(&a);
    return rc;
  }
  if (argsHas(&a, "help")) {
    printCommandHelp(c);
    argsFree(&a);
    return EXIT_OK;
  }
  if (a.nPos < c->nPosMin) {
    rc = outUsage(s, "the following arguments are required: %s", c->zPosName);
  } else if (c->nPosMax >= 0 && a.nPos > c->nPosMax) {
    rc = outUsage(s, "unrecognized arguments: %s", a.azPos[c->nPosMax]);
  } else {
    takeGlobals(s, &a);
    if (s->zDirArg && s->zBundleArg) {
      rc = outUsage(s, "give --dir or --bundle, not both");
    } else {
      rc = shellConfigure(s);
      if (rc == EXIT_OK) rc = c->xRun(s, &a);
    }
  }
  argsFree(&a);
  return rc;
}

int main(int argc, char **argv) {
  Shell s;
  int i, rc;
  memset(&s, 0, sizeof(s));

  /* global options before the command */
  {
    static const OptDef aLead[] = {
        {"database", 'd', 1}, {"dir", 0, 1},     {"bundle", 0, 1},
        {"config", 'c', 1},   {"name", 'n', 1},  {"raiseerr", 0, 0},
        {"help", 'h', 0},     {"version", 0, 0},
    };
    Args a;
    char *zErr = 0;
    rc = argsParseLeading(aLead, (int)(sizeof(aLead) / sizeof(aLead[0])),
                          argc - 1, argv + 1, &a, &i, &zErr);
    if (rc) {
      rc = mainUsage("%s", zErr ? zErr : "out of memory");
      sqlite3_free(zErr);
      argsFree(&a);
      return rc;
    }
    i++; /* index into argv */
    if (argsHas(&a, "version")) {
      argsFree(&a);
      printf(PROG " %s (SQLite %s)\n", MIGRATE_VERSION, sqlite3_libversion());
      return outFinish(EXIT_OK);
    }
    if (argsHas(&a, "help")) {
      argsFree(&a);
      printMainHelp();
      return outFinish(EXIT_OK);
    }
    takeGlobals(&s, &a);
    argsFree(&a);
  }
  if (i >= argc) {
    return mainUsage("a command is required (%s--help lists them)", PROG " ");
  }
  {
    const Command *c = findCommand(argv[i]);
    if (c == 0) {
      return mainUsage(
          "unknown command '%s' (sqlite-migrate --help lists "
          "them)",
          argv[i]);
    }
    rc = runCommand(&s, c, argc - i - 1, argv + i + 1);
  }
  shellClose(&s);
  return outFinish(rc);
}
