/*
** main.c — runs every unit test file and prints the summary line that
** tests/run_all.py reads:
**
**     build/test_unit          (from the repository root: parity_test.c
**                               reads tests/parity/ JSON files)
**     ...
**     412 passed, 0 failed
**
** Exit status 0 when nothing failed, else 1.
*/
#include "unit.h"

#include <stdarg.h>

int ut_nPass = 0;
int ut_nFail = 0;
const char *ut_zTest = "";
int ut_bQuiet = 0;

void ut_check(int bOk, const char *zFile, int iLine, const char *zFmt, ...) {
  va_list ap;
  if (bOk) {
    ut_nPass++;
    return;
  }
  ut_nFail++;
  if (ut_bQuiet) return;
  printf("FAIL %s:%d: [%s] ", zFile, iLine, ut_zTest);
  va_start(ap, zFmt);
  vprintf(zFmt, ap);
  va_end(ap);
  printf("\n");
}

void ut_check_str(const char *zGot, const char *zWant, const char *zFile,
                  int iLine, const char *zExpr) {
  int bOk = (zGot == 0 && zWant == 0) ||
            (zGot != 0 && zWant != 0 && strcmp(zGot, zWant) == 0);
  if (bOk) {
    ut_check(1, zFile, iLine, "");
    return;
  }
  ut_check(0, zFile, iLine,
           "%s\n      got:      %s%s%s\n      expected: %s%s%s", zExpr,
           zGot ? "\"" : "", zGot ? zGot : "NULL", zGot ? "\"" : "",
           zWant ? "\"" : "", zWant ? zWant : "NULL", zWant ? "\"" : "");
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  ut_script_tests();
  ut_sqltok_tests();
  ut_split_tests();
  ut_graph_tests();
  ut_target_tests();
  ut_plan_tests();
  ut_bundle_tests();
  ut_parity_tests();
  ut_template_tests();
  printf("%d passed, %d failed\n", ut_nPass, ut_nFail);
  return ut_nFail ? 1 : 0;
}
