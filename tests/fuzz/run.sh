#!/bin/sh
# tests/fuzz/run.sh SECONDS NAME... — run each fuzzer for SECONDS and say
# what it did.  Called by `make fuzz` (tests/fuzz/fuzz.mk), which builds
# $FUZZ_OUT/fuzz_NAME first.
#
# For each target: the seeds in tests/fuzz/corpus/NAME/ are read, new
# inputs are written to $FUZZ_OUT/corpus/NAME/ (kept between runs), a crash
# is saved in $FUZZ_OUT/artifacts/NAME/ and the whole log in
# $FUZZ_OUT/NAME.log.  One line per target:
#
#   fuzz_script: 1234567 executions in 60 s, corpus 412 inputs, no crash
#
# Exit status 1 if any target crashed (the others still run).
set -u
secs=$1
shift
out=${FUZZ_OUT:-build/fuzz}
status=0
for name in "$@"; do
  exe=$out/fuzz_$name
  corpus=$out/corpus/$name
  art=$out/artifacts/$name
  log=$out/$name.log
  mkdir -p "$corpus" "$art"
  set -- -max_total_time="$secs" -print_final_stats=1 -timeout=25 \
         -rss_limit_mb=2048 -artifact_prefix="$art/"
  [ -f "tests/fuzz/$name.dict" ] && set -- "$@" -dict="tests/fuzz/$name.dict"
  [ "$name" = target ] && set -- "$@" -max_len=512
  "$exe" "$@" "$corpus" "tests/fuzz/corpus/$name" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corp=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | sed 's/corp: //')
  if [ $rc -eq 0 ]; then
    echo "fuzz_$name: ${runs:-?} executions in $secs s, corpus ${corp:-?} inputs, no crash"
  else
    status=1
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "fuzz_$name: CRASH after ${runs:-?} executions (exit $rc); input: ${crash:-see $log}"
    echo "  log: $log"
    echo "  keep it: cp ${crash:-INPUT} tests/fuzz/regressions/$name/"
  fi
done
exit $status
