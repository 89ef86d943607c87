#!/usr/bin/env bash
# The layering of docs/ARCHITECTURE.md, checked: no file in src/ includes a
# module above its own, and the core library needs none of the hub's
# libraries (HTTP, SQLite, OpenSSL, libcurl). Exit 1 with the offending
# lines otherwise.
#   scripts/check-layers.sh [BUILD_DIR]   (the library check needs a build)
set -u
cd "$(dirname "$0")/.."
# module: the modules its files may include ("brisk/" public headers are
# checked apart: only the hub and the programs include brisk/hub.h)
declare -A MAY=(
  [core]="core"
  [io]="core io"
  [backend]="core backend"
  [nn]="core io backend nn"
  [data]="core io data"
  [optim]="core nn optim"
  [dist]="core nn dist"
  [train]="core io backend nn data optim dist train"
  [hub]="core io hub"
)
bad=0
for mod in "${!MAY[@]}"; do
  [ -d "src/$mod" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -n 's/.*#include "\([a-z_]*\)\/.*/\1/p' <<<"$line")
    [ -n "$inc" ] || continue
    [ "$inc" = brisk ] && continue
    if ! grep -qw "$inc" <<<"${MAY[$mod]}"; then
      echo "layering: $line  ($mod may include: ${MAY[$mod]})"
      bad=1
    fi
  done < <(grep -rn '#include "[a-z_]*/' "src/$mod")
done
for mod in "${!MAY[@]}"; do
  [ "$mod" = hub ] && continue
  hits=$(grep -rn '#include "brisk/hub.h"' "src/$mod" 2>/dev/null)
  [ -n "$hits" ] && { echo "layering: $hits  (only the hub and the programs use brisk/hub.h)"; bad=1; }
done
# modules the table does not know (a new folder must be placed in it)
for d in src/*/; do
  d=$(basename "$d")
  [ -n "${MAY[$d]+x}" ] || { echo "layering: src/$d is not in scripts/check-layers.sh (add it, and to docs/ARCHITECTURE.md)"; bad=1; }
done
lib="${1:-build}/libbrisk_core.a"
if [ -f "$lib" ]; then
  hub_syms=$(nm -u "$lib" 2>/dev/null | grep -E ' (curl_|sqlite3_|MHD_|SSL_|EVP_|bk_hub_)' | sort -u)
  [ -n "$hub_syms" ] && { echo "layering: $lib needs the hub's libraries:"; echo "$hub_syms" | head; bad=1; }
fi
[ $bad -eq 0 ] && echo "check-layers: every include points down; $lib needs no hub library"
exit $bad
