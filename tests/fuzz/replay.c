/*
** replay.c — runs saved fuzz inputs through the fuzz targets without
** libFuzzer, so every crash the fuzzers ever found stays a test of the
** normal suite (built with gcc and AddressSanitizer + UBSan by fuzz.mk).
**
**     make test-fuzz-regressions
**     build/fuzz/replay tests/fuzz          every input under the folder
**     build/fuzz/replay tests/fuzz/regressions/bundle/crash-1a2b...
**
** A folder argument is searched for regressions/<target>/ and
** corpus/<target>/ (target = script, target, bundle); a file argument is
** replayed through the target named by its parent folder.  Each input runs
** in a child process, so one crash does not hide the others; it passes
** when the child exits 0 (a sanitizer report, an abort from a violated
** invariant or a leak makes it fail).  The last line is
** "N passed, N failed"; the exit status is 1 on any failure.
**
** The three targets are compiled with LLVMFuzzerTestOneInput renamed to
** fuzzScriptOne, fuzzTargetOne and fuzzBundleOne (-D in fuzz.mk).
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int fuzzScriptOne(const uint8_t *, size_t);
int fuzzTargetOne(const uint8_t *, size_t);
int fuzzBundleOne(const uint8_t *, size_t);

static const struct {
  const char *zName;
  int (*x)(const uint8_t *, size_t);
} aTarget[] = {
    {"script", fuzzScriptOne},
    {"target", fuzzTargetOne},
    {"bundle", fuzzBundleOne},
};
#define N_TARGET ((int)(sizeof(aTarget) / sizeof(aTarget[0])))

static int nPass = 0, nFail = 0;

/* Read a whole file into a malloc'd buffer of exactly its size. */
static uint8_t *readAll(const char *zPath, size_t *pn) {
  FILE *f = fopen(zPath, "rb");
  uint8_t *a = 0;
  long n;
  if (f == 0) return 0;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0) {
    a = malloc(n > 0 ? (size_t)n : 1);
    if (a && n > 0 && fread(a, 1, (size_t)n, f) != (size_t)n) {
      free(a);
      a = 0;
    }
    *pn = (size_t)n;
  }
  fclose(f);
  return a;
}

/* Replay one file through target t in a child process; count the result. */
static void replayFile(int t, const char *zPath) {
  pid_t pid;
  int status = 0;
  fflush(stdout);
  pid = fork();
  if (pid < 0) {
    perror("fork");
    nFail++;
    return;
  }
  if (pid == 0) {
    size_t n = 0;
    uint8_t *a = readAll(zPath, &n);
    if (a == 0) {
      fprintf(stderr, "cannot read %s\n", zPath);
      exit(3);
    }
    aTarget[t].x(a, n);
    free(a);
    exit(0); /* LeakSanitizer runs at exit */
  }
  if (waitpid(pid, &status, 0) < 0) status = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    nPass++;
  } else {
    nFail++;
    if (WIFSIGNALED(status)) {
      printf("FAIL fuzz/%s %s (signal %d)\n", aTarget[t].zName, zPath,
             WTERMSIG(status));
    } else {
      printf("FAIL fuzz/%s %s (exit %d)\n", aTarget[t].zName, zPath,
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
  }
}

static int cmpStr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Replay every regular file of folder zDir (sorted) through target t. */
static void replayDir(int t, const char *zDir) {
  DIR *d = opendir(zDir);
  struct dirent *e;
  char **az = 0;
  int n = 0, nAlloc = 0, i;
  if (d == 0) return; /* a target may have no regressions yet */
  while ((e = readdir(d)) != 0) {
    char *zPath;
    struct stat st;
    if (e->d_name[0] == '.') continue;
    zPath = malloc(strlen(zDir) + strlen(e->d_name) + 2);
    if (zPath == 0) break;
    sprintf(zPath, "%s/%s", zDir, e->d_name);
    if (stat(zPath, &st) != 0 || !S_ISREG(st.st_mode)) {
      free(zPath);
      continue;
    }
    if (n >= nAlloc) {
      char **azNew;
      nAlloc = nAlloc ? 2 * nAlloc : 64;
      azNew = realloc(az, sizeof(char *) * (size_t)nAlloc);
      if (azNew == 0) {
        free(zPath);
        break;
      }
      az = azNew;
    }
    az[n++] = zPath;
  }
  closedir(d);
  if (n) qsort(az, (size_t)n, sizeof(char *), cmpStr);
  for (i = 0; i < n; i++) {
    replayFile(t, az[i]);
    free(az[i]);
  }
  free(az);
}

/* The target named by the last folder of zPath ("regressions/bundle/x"). */
static int targetOfFile(const char *zPath) {
  const char *zEnd = strrchr(zPath, '/');
  const char *zStart;
  int t;
  if (zEnd == 0) return -1;
  for (zStart = zEnd; zStart > zPath && zStart[-1] != '/'; zStart--) {
  }
  for (t = 0; t < N_TARGET; t++) {
    size_t n = strlen(aTarget[t].zName);
    if ((size_t)(zEnd - zStart) == n &&
        memcmp(zStart, aTarget[t].zName, n) == 0) {
      return t;
    }
  }
  return -1;
}

int main(int argc, char **argv) {
  int i, t;
  if (argc < 2) {
    fprintf(stderr, "usage: %s tests/fuzz | FILE...\n", argv[0]);
    return 2;
  }
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      printf("FAIL cannot open %s\n", argv[i]);
      nFail++;
    } else if (S_ISDIR(st.st_mode)) {
      for (t = 0; t < N_TARGET; t++) {
        static const char *azSub[] = {"regressions", "corpus"};
        size_t k;
        for (k = 0; k < 2; k++) {
          char zDir[4096];
          snprintf(zDir, sizeof(zDir), "%s/%s/%s", argv[i], azSub[k],
                   aTarget[t].zName);
          replayDir(t, zDir);
        }
      }
    } else if ((t = targetOfFile(argv[i])) >= 0) {
      replayFile(t, argv[i]);
    } else {
      printf("FAIL %s: put it in a folder named script, target or bundle\n",
             argv[i]);
      nFail++;
    }
  }
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}
