/*
** run.c — time one process for the benchmark (issue #6).
**
**     run [-i STDIN_FILE] [-o STDOUT_FILE] [-e STDERR_FILE] -- PROGRAM ARGS...
**
** Forks, execs PROGRAM and waits for it; prints one line
**
**     wall_ms=... user_ms=... sys_ms=... maxrss_kb=... status=...
**
** wall_ms is CLOCK_MONOTONIC from just before fork() to just after wait4()
** returns: the whole process, start-up and exit included.  maxrss_kb is the
** child's peak resident set (wait4 rusage).  The fork happens here, in a
** small process, because Linux carries a process's peak RSS across exec():
** a child forked straight from the Python driver would report Python's
** ~10 MB as its own peak.  Standard streams default to /dev/null.
** Exit status: 0 when the line was printed (status= says how the child
** ended), 2 on a usage or system error.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double tvMs(struct timeval tv) {
  return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static void redirect(const char *zPath, int fd, int flags) {
  int f = open(zPath ? zPath : "/dev/null", flags, 0644);
  if (f < 0 || dup2(f, fd) < 0) {
    fprintf(stderr, "run: %s: %s\n", zPath, strerror(errno));
    _exit(127);
  }
  close(f);
}

int main(int argc, char **argv) {
  const char *zIn = 0, *zOut = 0, *zErr = 0;
  int i, status;
  pid_t pid;
  struct rusage ru;
  double t0, t1;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
      zIn = argv[++i];
    } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
      zOut = argv[++i];
    } else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
      zErr = argv[++i];
    } else {
      break;
    }
  }
  if (i >= argc) {
    fprintf(stderr,
            "usage: run [-i IN] [-o OUT] [-e ERR] -- PROGRAM ARGS...\n");
    return 2;
  }
  fflush(stdout);
  t0 = nowMs();
  pid = fork();
  if (pid < 0) {
    fprintf(stderr, "run: fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    redirect(zIn, 0, O_RDONLY);
    redirect(zOut, 1, O_WRONLY | O_CREAT | O_TRUNC);
    redirect(zErr, 2, O_WRONLY | O_CREAT | O_TRUNC);
    execvp(argv[i], &argv[i]);
    fprintf(stderr, "run: %s: %s\n", argv[i], strerror(errno));
    _exit(127);
  }
  if (wait4(pid, &status, 0, &ru) < 0) {
    fprintf(stderr, "run: wait4: %s\n", strerror(errno));
    return 2;
  }
  t1 = nowMs();
  printf("wall_ms=%.3f user_ms=%.3f sys_ms=%.3f maxrss_kb=%ld status=%d\n",
         t1 - t0, tvMs(ru.ru_utime), tvMs(ru.ru_stime), ru.ru_maxrss,
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}
