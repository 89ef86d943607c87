#!/usr/bin/env bash
# kill -9 the server in the middle of uploads, restart: hub check is clean
# and no partial version is visible.
. "$(dirname "$0")/hub_lib.sh"
start_server
ALICE=$(token_for alice)
dataset_meta meta.json
mkdir -p small && echo small > small/a.txt
BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/base --dir small --meta meta.json >/dev/null && ok "a first version" || fail "publish"

# A big upload sent slowly, so the kill lands while it streams.
mkdir -p big && head -c 3000000 /dev/urandom > big/part1.bin && head -c 3000000 /dev/urandom > big/part2.bin
pids=()
for i in 1 2 3; do
  BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish "alice/crash$i" --dir big --meta meta.json >/dev/null 2>&1 &
  pids+=($!)
done
# slow publishes with curl (rate-limited), three at once
printf '{"type": "dataset", "metadata": %s, "files": [{"name": "part1.bin", "size": 3000000, "sha256": "%s"}]}' \
  "$(cat meta.json)" "$(sha big/part1.bin)" > m.json
for i in 1 2 3; do
  curl -s -o /dev/null --limit-rate 1M -H "Authorization: Bearer $ALICE" -F meta=@m.json -F file=@big/part1.bin \
    "$URL/api/v1/records/alice/slow$i/versions" &
  pids+=($!)
done
sleep 1
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
wait "${pids[@]}"
ok "server killed with -9 during uploads"
ls root/tmp | grep -q . && ok "temp files were left by the crash (the case under test)" || ok "no temp files at the kill"

start_server
[ -z "$(ls root/tmp)" ] && ok "restart removes temp files" || fail "temp left: $(ls root/tmp)"
out=$("$BIN" hub check --root root) && grep -q " 0 problems, 0 unreferenced" <<<"$out" && ok "hub check clean after restart" || fail "check: $out"
for i in 1 2 3; do
  for r in crash$i slow$i; do
    code=$(status GET "/api/v1/records/alice/$r/versions/1")
    if [ "$code" = 404 ]; then :; elif [ "$code" = 200 ]; then
      # a version that made it must be whole: pull verifies every file
      "$BIN" hub pull "alice/$r@1" --cache cache >/dev/null || fail "alice/$r@1 is visible but incomplete"
    else fail "alice/$r: HTTP $code"; fi
  done
done
ok "no partial version visible (each is absent or complete)"
out=$("$BIN" hub pull alice/base@1 --cache cache) && ok "earlier version intact" || fail "base: $out"
BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/crash1 --dir big --meta meta.json >/dev/null && ok "publishing works after the crash" || fail "republish"
stop_server
out=$("$BIN" hub check --root root) && ok "final check clean" || fail "final check: $out"
finish
