#!/bin/sh
# tools/deps.sh — the Debian/Ubuntu packages this project needs, in one list,
# and the one step that brings the missing ones (make demo, make test and
# .ci/run all call it).
#
#     tools/deps.sh ensure demo     what make demo needs
#     tools/deps.sh ensure test     ... and make test
#     tools/deps.sh ensure ci       ... and the CI extras (valgrind, clang, curl)
#     tools/deps.sh list ci         print the packages of a level
#     make demo NO_INSTALL=1        skip this step (packagers)
#
# Missing packages are installed with apt-get when that can happen without
# a prompt (root, or sudo without a password); otherwise it stops at once and
# prints the one command to run.  On a system without dpkg it only says what
# to provide and carries on.
set -eu

# package                 level  why
PACKAGES="
build-essential           demo   cc, make
libsqlite3-dev            demo   sqlite3.h, libsqlite3
zlib1g-dev                demo   zlib.h, libz
sqlite3                   demo   the sqlite3 shell
python3                   test   tests/run_all.py and the Python suites
python3-pytest            test   the pytest fixture example (tools/python)
pkg-config                test   make test-install (sqlite-migrate.pc)
valgrind                  ci     make test-valgrind
clang-format              ci     make lint
clang                     ci     make fuzz
libclang-rt-14-dev        ci     make fuzz (libFuzzer runtime)
ca-certificates           ci     make test-sqlite-versions downloads
curl                      ci     make test-sqlite-versions downloads
"

# packages LEVEL: the names needed at LEVEL (demo < test < ci)
packages() {
  case $1 in
    demo) want="demo" ;;
    test) want="demo test" ;;
    ci) want="demo test ci" ;;
    *) echo "tools/deps.sh: unknown level '$1' (demo, test, ci)" >&2; exit 2 ;;
  esac
  echo "$PACKAGES" | while read -r name level _; do
    [ -n "$name" ] || continue
    for w in $want; do [ "$w" = "$level" ] && echo "$name"; done
  done
}

# missing LEVEL: the names not installed (dpkg's view)
missing() {
  for p in $(packages "$1"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
      echo "$p"
  done
}

ensure() {
  level=$1
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "tools/deps.sh: not a Debian/Ubuntu system; make sure the" \
      "equivalents of these are installed:" $(packages "$level")
    return 0
  fi
  need=$(missing "$level" | tr '\n' ' ' | sed 's/ *$//')
  [ -n "$need" ] || return 0
  cmd="apt-get install -y --no-install-recommends $need"
  if [ "$(id -u)" -eq 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "tools/deps.sh: missing packages: $need" >&2
    echo "run this once, then make again (or make NO_INSTALL=1 to skip" \
      "the check):" >&2
    echo "    sudo apt-get update && sudo $cmd" >&2
    exit 1
  fi
  echo "tools/deps.sh: installing $need"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive $cmd -qq
}

case ${1:-} in
  list) packages "${2:-ci}" ;;
  missing) missing "${2:-ci}" ;;
  ensure)
    if [ "${NO_INSTALL:-}" = 1 ]; then exit 0; fi
    ensure "${2:-ci}"
    ;;
  *)
    echo "usage: tools/deps.sh list|missing|ensure demo|test|ci" >&2
    exit 2
    ;;
esac
