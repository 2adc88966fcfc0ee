/*
** args.c — the small argument parser of sqlite-migrate.
**
**     static const OptDef aOpt[] = {{"message", 'm', 1}, {"verbose", 'v', 0}};
**     Args a;
**     if (argsParse(aOpt, 2, argc, argv, &a, &zErr)) ... usage error
**     argsValue(&a, "message");     argsHas(&a, "verbose");
**     argsFree(&a);
**
** Accepted forms: "-m MSG", "-mMSG", "--message MSG", "--message=MSG",
** "-v", "--verbose"; "--" ends the options.  argsParseLeading() reads the
** options before the first positional argument only: the program's global
** options, before the command.  An argument made of '-' and a
** digit ("-1", "-2:current") is a positional argument, as Alembic's
** "downgrade -1" needs.  A value is always taken from the next argument,
** whatever it looks like ("-r -3:current").
*/
#include <stdlib.h>
#include <string.h>

#include "shell.h"

/* Index of the option named by z (after the dashes), or -1. */
static int findLong(const Args *p, const char *z, size_t n) {
  int i;
  for (i = 0; i < p->nDef; i++) {
    if (strlen(p->aDef[i].zLong) == n && memcmp(p->aDef[i].zLong, z, n) == 0) {
      return i;
    }
  }
  return -1;
}

static int findShort(const Args *p, char c) {
  int i;
  for (i = 0; i < p->nDef; i++) {
    if (p->aDef[i].cShort == c) return i;
  }
  return -1;
}

/* Record one occurrence of option i with value zVal (may be NULL). */
static int addValue(Args *p, int i, int nMax, char *zVal) {
  if (p->aazVal[i] == 0) {
    p->aazVal[i] = sqlite3_malloc64(sizeof(char *) * (size_t)(nMax + 1));
    if (p->aazVal[i] == 0) return SQLITE_NOMEM;
  }
  if (zVal) p->aazVal[i][p->anSeen[i]] = zVal;
  p->anSeen[i]++;
  return SQLITE_OK;
}

static int isPositional(const char *z) {
  return z[0] != '-' || z[1] == 0 || (z[1] >= '0' && z[1] <= '9');
}

/* argsParse(), stopping at the first positional argument when piStop is
** not NULL (*piStop = its index, argc when there is none). */
static int parseArgs(const OptDef *aDef, int nDef, int argc, char **argv,
                     Args *p, int *piStop, char **pzErr) {
  int i, bEndOpts = 0;
  memset(p, 0, sizeof(*p));
  p->aDef = aDef;
  p->nDef = nDef;
  *pzErr = 0;
  if (nDef > ARGS_MAX_OPT) {
    *pzErr = sqlite3_mprintf("internal error: too many options");
    return EXIT_USAGE;
  }
  p->azPos = sqlite3_malloc64(sizeof(char *) * (size_t)(argc + 1));
  if (p->azPos == 0) goto nomem;
  for (i = 0; i < argc; i++) {
    char *z = argv[i];
    int k;
    char *zVal = 0;
    if (bEndOpts || isPositional(z)) {
      if (piStop) {
        *piStop = i;
        return EXIT_OK;
      }
      p->azPos[p->nPos++] = z;
      continue;
    }
    if (strcmp(z, "--") == 0) {
      bEndOpts = 1;
      continue;
    }
    if (z[1] == '-') {
      const char *zEq = strchr(z + 2, '=');
      size_t n = zEq ? (size_t)(zEq - (z + 2)) : strlen(z + 2);
      k = findLong(p, z + 2, n);
      if (k < 0) {
        *pzErr = sqlite3_mprintf("unrecognized option '%.*s'", (int)n + 2, z);
        return EXIT_USAGE;
      }
      if (zEq && !aDef[k].bValue) {
        *pzErr = sqlite3_mprintf("option --%s takes no value", aDef[k].zLong);
        return EXIT_USAGE;
      }
      if (zEq) zVal = (char *)zEq + 1;
    } else {
      k = findShort(p, z[1]);
      if (k < 0) {
        *pzErr = sqlite3_mprintf("unrecognized option '-%c'", z[1]);
        return EXIT_USAGE;
      }
      if (z[2] != 0) {
        if (!aDef[k].bValue) {
          *pzErr =
              sqlite3_mprintf("option -%c takes no value (got '%s')", z[1], z);
          return EXIT_USAGE;
        }
        zVal = z + 2;
      }
    }
    if (aDef[k].bValue && zVal == 0) {
      if (i + 1 >= argc) {
        *pzErr = sqlite3_mprintf("option %s expects a value", z);
        return EXIT_USAGE;
      }
      zVal = argv[++i];
    }
    if (addValue(p, k, argc, zVal)) goto nomem;
  }
  if (piStop) *piStop = argc;
  return EXIT_OK;

nomem:
  *pzErr = sqlite3_mprintf("out of memory");
  return EXIT_USAGE;
}

/* See shell.h. */
int argsParse(const OptDef *aDef, int nDef, int argc, char **argv, Args *p,
              char **pzErr) {
  return parseArgs(aDef, nDef, argc, argv, p, 0, pzErr);
}

/* See shell.h. */
int argsParseLeading(const OptDef *aDef, int nDef, int argc, char **argv,
                     Args *p, int *piStop, char **pzErr) {
  return parseArgs(aDef, nDef, argc, argv, p, piStop, pzErr);
}

void argsFree(Args *p) {
  int i;
  for (i = 0; i < ARGS_MAX_OPT; i++) sqlite3_free(p->aazVal[i]);
  sqlite3_free(p->azPos);
  memset(p, 0, sizeof(*p));
}

static int optIndex(const Args *p, const char *zLong) {
  return findLong(p, zLong, strlen(zLong));
}

int argsHas(const Args *p, const char *zLong) {
  int i = optIndex(p, zLong);
  return i < 0 ? 0 : p->anSeen[i];
}

const char *argsValue(const Args *p, const char *zLong) {
  int i = optIndex(p, zLong);
  if (i < 0 || p->anSeen[i] == 0 || !p->aDef[i].bValue) return 0;
  return p->aazVal[i][p->anSeen[i] - 1];
}

char **argsValues(const Args *p, const char *zLong, int *pn) {
  int i = optIndex(p, zLong);
  if (i < 0 || p->anSeen[i] == 0 || !p->aDef[i].bValue) {
    *pn = 0;
    return 0;
  }
  *pn = p->anSeen[i];
  return p->aazVal[i];
}
