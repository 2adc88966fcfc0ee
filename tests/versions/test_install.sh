#!/usr/bin/env bash
# tests/versions/test_install.sh — make install into a scratch prefix, then
# use only the installed files: the README's static example (README.md,
# "Installing") built with pkg-config against the system libsqlite3, and
# built again with SQLite amalgamations compiled in (3.34.0 and the newest,
# from tools/sqlite-versions.sh); the installed Python helper finds the
# installed module; make uninstall removes every file.  make test-install.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PYTHON:-/usr/bin/python3}
HEAD=f05c3b8d2e76
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fails=0

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# expect WHAT GOT WANT
expect() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }

make -s --no-print-directory install PREFIX="$prefix" >/dev/null
pydir=lib/$(cd "$prefix/lib" && ls -d python3.*/dist-packages)
for f in lib/migrate.so lib/libsqlitemigrate.a include/migrate.h \
  bin/sqlite-migrate bin/mkbundle share/man/man1/sqlite-migrate.1 \
  lib/pkgconfig/sqlite-migrate.pc "$pydir/sqlite_migrate.py"; do
  if [ -f "$prefix/$f" ]; then ok "installed $f"; else bad "missing $f"; fi
done

# the README's example, verbatim: the ```c block that starts with app.c
awk '/^\/\* app.c: /{on=1} on&&/^```$/{exit} on{print}' README.md >"$tmp/app.c"
[ -s "$tmp/app.c" ] || bad "no app.c example in README.md"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
mkdir -p "$tmp/run"
# run NAME: ./NAME in a fresh directory; its one line of output
run() { rm -f "$tmp/run/device.db"; (cd "$tmp/run" && "$tmp/$1"); }

# 1. against the system's libsqlite3, flags from pkg-config only
cc -std=c11 -Wall -Wextra -Werror "$tmp/app.c" \
  $(pkg-config --cflags --libs sqlite-migrate) -o "$tmp/app"
sys=$(sqlite3 :memory: 'SELECT sqlite_version()' 2>/dev/null ||
  "$PY" -c 'import sqlite3; print(sqlite3.sqlite_version)')
expect "pkg-config build runs" "$(run app)" \
  "device.db is at $HEAD (SQLite $sys)"

# 2. amalgamations compiled in: no shared libsqlite3 at all
for v in 3.34.0 3.54.1; do
  amalg=$(VERSIONS=$v bash tools/sqlite-versions.sh src | tail -n 1)
  cc -O0 -w -I"$amalg" -c "$amalg/sqlite3.c" -o "$tmp/sqlite3-$v.o" \
    -DSQLITE_ENABLE_JSON1 -DHAVE_USLEEP=1
  cc -std=c11 -Wall -Wextra -Werror -I"$amalg" "$tmp/app.c" \
    "$tmp/sqlite3-$v.o" $(pkg-config --cflags sqlite-migrate) \
    "$(pkg-config --variable=libdir sqlite-migrate)/libsqlitemigrate.a" \
    -lz -lpthread -lm -ldl -o "$tmp/app-$v"
  if ldd "$tmp/app-$v" | grep -q libsqlite3; then
    bad "app-$v links libsqlite3.so"
  fi
  expect "SQLite $v compiled in" "$(run "app-$v")" \
    "device.db is at $HEAD (SQLite $v)"
done

# 3. the installed helper finds the installed module
got=$(cd "$tmp" && PYTHONPATH=$prefix/$pydir "$PY" -c \
  'import sqlite_migrate as m; print(m.find_module()); print(m.connect().execute("SELECT migrate_current()").fetchone()[0])') \
  || true
expect "installed Python helper" "$got" "$prefix/lib/migrate.so
$HEAD"

# 4. the installed program and man page
expect "installed sqlite-migrate" \
  "$(cd "$tmp" && "$prefix/bin/sqlite-migrate" --dir "$ROOT/migrations" -d "$tmp/p.db" upgrade head >/dev/null 2>&1 && "$prefix/bin/sqlite-migrate" --dir "$ROOT/migrations" -d "$tmp/p.db" current)" \
  "$HEAD (head)"
# ... and, with no folder given or found, never the example built into it
expect "installed sqlite-migrate refuses without a history" \
  "$(cd "$tmp" && "$prefix/bin/sqlite-migrate" -d "$tmp/q.db" upgrade head 2>&1 >/dev/null | cut -c1-28; echo "exit ${PIPESTATUS[0]}"; [ -e "$tmp/q.db" ] && echo "q.db made")" \
  "FAILED: no revisions to work
exit 1"
if command -v man >/dev/null 2>&1; then
  expect "man page found under the prefix" \
    "$(MANPATH=$prefix/share/man man -w sqlite-migrate)" \
    "$prefix/share/man/man1/sqlite-migrate.1"
fi

# 5. uninstall leaves no file behind
make -s --no-print-directory uninstall PREFIX="$prefix" >/dev/null
expect "make uninstall" "$(find "$prefix" -type f | wc -l)" 0

# 6. DESTDIR stages under the given root
make -s --no-print-directory install PREFIX=/usr/local DESTDIR="$tmp/stage" >/dev/null
expect "DESTDIR" "$(grep '^prefix=' "$tmp/stage/usr/local/lib/pkgconfig/sqlite-migrate.pc")" \
  "prefix=/usr/local"

echo "test-install: $fails failed"
[ "$fails" -eq 0 ]
