#!/bin/sh
# layers.sh — check that no engine file calls a file above it.
#
#   tools/layers.sh build/core "util" "script graph" "bundle" ...
#
# The first argument is a folder of objects (one NAME.o per ext/NAME.c);
# the others are the layers, bottom first, each a space-separated list of
# file names.  A file may use symbols defined at its own layer or below;
# a symbol defined in a file of a higher layer is an upward call, printed
# as "file -> file (symbol)", and the script exits 1.  Symbols no listed
# object defines (SQLite, libc, zlib, the generated embedded_bundle.o) are
# not checked.  An object of the folder that no layer lists is an error
# too (except embedded_bundle.o), so a new file must be placed.
set -eu
dir=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
level=0
for layer in "$@"; do
  level=$((level + 1))
  for f in $layer; do
    [ -f "$dir/$f.o" ] || { echo "layers.sh: no $dir/$f.o" >&2; exit 2; }
    echo "$f $level" >> "$tmp/level"
    nm --defined-only -g "$dir/$f.o" | awk -v f="$f" 'NF==3{print $3, f}' \
      >> "$tmp/defs"
  done
done
bad=0
for o in "$dir"/*.o; do
  f=$(basename "$o" .o)
  [ "$f" = embedded_bundle ] && continue
  grep -q "^$f " "$tmp/level" || {
    echo "layers.sh: $f.o is in no layer" >&2
    bad=1
  }
done
while read -r f lv; do
  nm -u "$dir/$f.o" | awk '{print $NF}' | while read -r sym; do
    def=$(awk -v s="$sym" '$1==s{print $2; exit}' "$tmp/defs")
    [ -n "$def" ] || continue
    dl=$(awk -v d="$def" '$1==d{print $2}' "$tmp/level")
    if [ "$dl" -gt "$lv" ]; then
      echo "$f -> $def ($sym)"
    fi
  done
done < "$tmp/level" > "$tmp/up"
if [ -s "$tmp/up" ]; then
  echo "layers.sh: calls to a higher layer:" >&2
  sort -u "$tmp/up" >&2
  bad=1
fi
[ "$bad" -eq 0 ] && echo "layers.sh: $level layers, no upward call"
exit "$bad"
