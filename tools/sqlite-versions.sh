#!/usr/bin/env bash
# tools/sqlite-versions.sh — build this project against every supported SQLite
# and run its SQL, Python and shell suites there (make test-sqlite-versions).
#
#     make test-sqlite-versions                 all versions below
#     make test-sqlite-versions VERSIONS=3.34.0 one of them
#     tools/sqlite-versions.sh fetch            only download (then offline)
#     VERSIONS=3.34.0 tools/sqlite-versions.sh src   print V/src (amalgamation)
#
# The amalgamations come from npm package tarballs (the only place this
# project's CI can reach): better-sqlite3 ships sqlite3.c/.h/ext.h, the sqlite3
# package ships SQLite's autoconf tarball, which also holds shell.c.  Each
# tarball is pinned to an exact version and its sha256 is checked; downloads
# are cached in build/sqlite-versions/dl, so a second run is offline.
#
# For each version V, under build/sqlite-versions/V/:
#   src/    sqlite3.c sqlite3.h sqlite3ext.h shell.c
#   lib/    libsqlite3.so.0 (and libsqlite3.so) built from the amalgamation
#   bin/    sqlite3, the shell linked against lib/
#   tree/   a copy of the sources, built against src/'s headers and lib/
#           (migrate.so, libsqlitemigrate.a, sqlite-migrate, test_unit)
# then tests/run_all.py runs in tree/ with bin/ first on PATH and lib/ on
# LD_LIBRARY_PATH (Debian's python3 links libsqlite3.so.0 dynamically);
# each step first checks that the programs really run on version V.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${SQLITE_VERSIONS_DIR:-$ROOT/build/sqlite-versions}
DL=$OUT/dl
CC=${CC:-cc}
PY=${PYTHON:-/usr/bin/python3}

# version  amalgamation-package  shell.c-package (a shell.c at most as new;
# the newest uses 3.44.2's: from 3.52 the shell draws .mode box with round
# corners and right-aligned numbers and writes "Error near line N:", which
# the SQL tests' expected output does not know)
TABLE="
3.34.0 sqlite3@5.0.2          sqlite3@5.0.2
3.37.0 better-sqlite3@7.4.6   sqlite3@5.0.2
3.40.0 sqlite3@5.1.4          sqlite3@5.1.4
3.45.1 better-sqlite3@9.4.0   sqlite3@5.1.7
3.54.1 better-sqlite3@13.2.0  sqlite3@5.1.7
"
# below the range: the module and the program must refuse it at load
OLD="3.31.1 sqlite3@5.0.0 sqlite3@5.0.0"
# sha256 of each npm tarball
sha_of() {
  case $1 in
    sqlite3@5.0.0)         echo cbf31ecd3c4bf580b49d3bc9a08c9ffd7398ea9debb23ec6a0a00d61ea17431f ;;
    sqlite3@5.0.2)         echo c2d364341eff7c6ae1c57ad62cfea3bb3e2cd7a3ae1eddbdde701e9ed52f2f39 ;;
    sqlite3@5.1.4)         echo b1c70efd09f5fff170c54129d1440b2009cdac5e41611215e7da4baab26c02fe ;;
    sqlite3@5.1.7)         echo 44cc9bdee02705a7b636f76968d745e21c1d0b2f1c62810c678bc3b0ececab1b ;;
    better-sqlite3@7.4.6)  echo e893c1608ce81fab1e067c958c2c60531d63188b8baa0c2e16a241355480d7d8 ;;
    better-sqlite3@9.4.0)  echo b9d63aa3ff1d85b5c110ba3f23e5989920c8c27a41841569c82906b274f8cb13 ;;
    better-sqlite3@13.2.0) echo 40487589df3496f2ee0079d22b73c63fccebe7db0e8ee9a2c42421861e321e0b ;;
    *) echo "sqlite-versions: no checksum pinned for $1" >&2; return 1 ;;
  esac
}

# The compile options Debian and RHEL build their libsqlite3 with (JSON1 is
# built in by default only from 3.38; Python needs deserialize; without
# HAVE_USLEEP a busy timeout below one second gives up at once).
SQLITE_OPTS="-DSQLITE_ENABLE_JSON1 -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS4
 -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE
 -DSQLITE_ENABLE_COLUMN_METADATA -DSQLITE_ENABLE_DBSTAT_VTAB
 -DSQLITE_ENABLE_DESERIALIZE -DSQLITE_ENABLE_MATH_FUNCTIONS
 -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_THREADSAFE=1 -DHAVE_USLEEP=1"

say() { echo "sqlite-versions: $*"; }
die() { echo "sqlite-versions: $*" >&2; exit 1; }

# fetch NAME@VER: the verified tarball's path on stdout (downloads once).
fetch() {
  local spec=$1 name=${1%@*} ver=${1#*@} f want got
  f=$DL/$name-$ver.tgz
  want=$(sha_of "$spec")
  if [ ! -f "$f" ]; then
    mkdir -p "$DL"
    if command -v npm >/dev/null 2>&1; then
      (cd "$DL" && npm pack --silent "$spec" >/dev/null) ||
        die "npm pack $spec failed (is registry.npmjs.org reachable?)"
    elif command -v curl >/dev/null 2>&1; then
      curl -fsSL -o "$f.part" \
        "https://registry.npmjs.org/$name/-/$name-$ver.tgz" &&
        mv "$f.part" "$f" || die "download of $spec failed"
    else
      die "need npm or curl to download $spec"
    fi
  fi
  got=$(sha256sum "$f" | cut -d' ' -f1)
  [ "$got" = "$want" ] ||
    die "$f: sha256 $got, expected $want; delete it and run again"
  echo "$f"
}

# extract NAME@VER DIR FILE...: the amalgamation files out of any of the
# package layouts (better-sqlite3: deps/sqlite3/ from 8, deps/sqlite3.tar.gz
# before; sqlite3: an autoconf tarball, which also has shell.c)
extract() {
  local spec=$1 dir=$2 tgz tmp inner f
  shift 2
  tgz=$(fetch "$spec")
  tmp=$(mktemp -d)
  tar xzf "$tgz" -C "$tmp" package/deps
  inner=$(ls "$tmp"/package/deps/sqlite-autoconf-*.tar.gz 2>/dev/null || true)
  if [ -n "$inner" ]; then
    tar xzf "$inner" -C "$tmp"
    for f in "$@"; do cp "$tmp"/sqlite-autoconf-*/"$f" "$dir/"; done
  elif [ -f "$tmp/package/deps/sqlite3.tar.gz" ]; then
    # better-sqlite3 before 8: the three files in deps/sqlite3.tar.gz
    tar xzf "$tmp/package/deps/sqlite3.tar.gz" -C "$dir" "$@"
  else
    for f in "$@"; do cp "$tmp/package/deps/sqlite3/$f" "$dir/"; done
  fi
  rm -rf "$tmp"
}

# src V AMALG SHELL: V/src holds version V's amalgamation and shell.c.
src() {
  local v=$1 amalg=$2 shellpkg=$3 d=$OUT/$1 got
  [ -f "$d/src/shell.c" ] && return 0
  rm -rf "$d/src"
  mkdir -p "$d/src"
  extract "$amalg" "$d/src" sqlite3.c sqlite3.h sqlite3ext.h
  got=$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' "$d/src/sqlite3.h")
  [ "$got" = "$v" ] || die "$amalg carries SQLite $got, not $v"
  extract "$shellpkg" "$d/src" shell.c
}

# build V AMALG SHELL: src/, lib/, bin/ of version V (skipped when done).
build_sqlite() {
  local v=$1 amalg=$2 shellpkg=$3 d=$OUT/$1
  [ -x "$d/bin/sqlite3" ] && [ -f "$d/lib/libsqlite3.so.0" ] && return 0
  src "$@"
  rm -rf "$d/lib" "$d/bin"
  mkdir -p "$d/lib" "$d/bin"
  say "$v: compiling libsqlite3.so.0 and the sqlite3 shell"
  # shellcheck disable=SC2086
  $CC -O1 -fPIC -shared -w $SQLITE_OPTS -Wl,-soname,libsqlite3.so.0 \
    "$d/src/sqlite3.c" -o "$d/lib/libsqlite3.so.0" -lm -lpthread -ldl
  ln -sf libsqlite3.so.0 "$d/lib/libsqlite3.so"
  # shellcheck disable=SC2086
  $CC -O1 -w $SQLITE_OPTS -I"$d/src" "$d/src/shell.c" -o "$d/bin/sqlite3" \
    -L"$d/lib" -Wl,-rpath,"$d/lib" -lsqlite3 -lm -lpthread -ldl
}

# copy_tree V: the project's sources (not build/, not .git) into V/tree.
copy_tree() {
  local t=$OUT/$1/tree
  rm -rf "$t"
  mkdir -p "$t"
  tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude=./demo.db \
    -cf - . | tar -C "$t" -xf -
}

# check V: the shell, Python and the program all run on SQLite V.
check_versions() {
  local v=$1 d=$OUT/$1 s p m
  s=$("$d/bin/sqlite3" :memory: 'SELECT sqlite_version()')
  p=$(LD_LIBRARY_PATH=$d/lib "$PY" -c \
    'import sqlite3; print(sqlite3.sqlite_version)')
  m=$("$d/tree/build/sqlite-migrate" --version)
  say "$v: sqlite3 shell $s; $PY sqlite3 $p; $m"
  [ "$s" = "$v" ] || die "$v: the shell runs SQLite $s"
  [ "$p" = "$v" ] || die "$v: $PY loads SQLite $p (LD_LIBRARY_PATH ignored?)"
  case $m in *"(SQLite $v)"*) ;; *) die "$v: sqlite-migrate runs $m" ;; esac
}

# run V: build the project against V and run its suites; 0 when all pass.
run_version() {
  local v=$1 d=$OUT/$1 start
  start=$(date +%s)
  copy_tree "$v"
  say "$v: building the extension, static library and program"
  make -C "$d/tree" --no-print-directory -s -j2 all build/test_unit \
    build/fw1/migrate.so build/fw2/migrate.so \
    CFLAGS="-I$d/src" \
    LIBS="-L$d/lib -Wl,-rpath,$d/lib -lsqlite3 -lz -lpthread" >/dev/null || {
    say "$v: FAILED to build against SQLite $v's headers"
    return 1
  }
  check_versions "$v" || return 1
  say "$v: tests/run_all.py"
  (cd "$d/tree" && PATH=$d/bin:$PATH LD_LIBRARY_PATH=$d/lib PYTHON=$PY \
    NODE_CACHE=${NODE_CACHE:-$ROOT/build/node} \
    "$PY" tests/run_all.py) >"$d/run.log" 2>&1 || {
    tail -n 60 "$d/run.log"
    say "$v: FAILED after $(($(date +%s) - start)) s (log: $d/run.log)"
    return 1
  }
  say "$v: $(tail -n 1 "$d/run.log") in $(($(date +%s) - start)) s"
}

# refuse_old: the oldest supported version's module and program, run on
# the SQLite below the range, refuse it naming both versions.
refuse_old() {
  local v amalg shellpkg first
  read -r v amalg shellpkg <<<"$OLD"
  first=$(echo "$TABLE" | awk 'NF { print $1; exit }')
  if [ ! -x "$OUT/$first/tree/build/sqlite-migrate" ]; then
    say "$v: refusal not checked (SQLite $first was not built in this run)"
    return 0
  fi
  build_sqlite "$v" "$amalg" "$shellpkg"
  say "$v: the $first build refuses SQLite $v"
  OLD_SQLITE=$OUT/$v BUILT_TREE=$OUT/$first/tree \
    "$PY" tests/versions/test_old_sqlite.py
}

main() {
  local want=${VERSIONS:-} v amalg shellpkg failed=()
  [ "${1:-}" = fetch ] && TABLE="$TABLE
$OLD"
  while read -r v amalg shellpkg; do
    [ -n "$v" ] || continue
    if [ -n "$want" ] && ! [[ " $want " == *" $v "* ]]; then continue; fi
    if [ "${1:-}" = fetch ]; then
      fetch "$amalg" >/dev/null
      fetch "$shellpkg" >/dev/null
      continue
    fi
    if [ "${1:-}" = src ]; then
      src "$v" "$amalg" "$shellpkg"
      echo "$OUT/$v/src"
      continue
    fi
    build_sqlite "$v" "$amalg" "$shellpkg"
    run_version "$v" || failed+=("$v")
  done <<<"$TABLE"
  [ "${1:-}" = fetch ] && { say "downloads cached in $DL"; return 0; }
  [ "${1:-}" = src ] && return 0
  refuse_old || failed+=("${OLD%% *} (refusal)")
  if [ ${#failed[@]} -gt 0 ]; then
    say "FAILED on SQLite ${failed[*]}"
    return 1
  fi
  say "all versions passed"
}

main "$@"
