#!/usr/bin/env bash
# Several publishers and readers at once: every publish gets its own version
# number, nothing is lost, no request fails.
. "$(dirname "$0")/hub_lib.sh"
start_server --threads 4
ALICE=$(token_for alice)
BOB=$(token_for bob)
dataset_meta meta.json
P=6; N=4
for p in $(seq $P); do
  mkdir -p "d$p" && head -c 50000 /dev/urandom > "d$p/data.bin" && echo "$p" > "d$p/id.txt"
done
pids=()
for p in $(seq $P); do
  tok=$ALICE; [ $((p % 2)) = 0 ] && tok=$BOB
  owner=alice; [ $((p % 2)) = 0 ] && owner=bob
  ( for i in $(seq $N); do
      BRISK_HUB_TOKEN=$tok "$BIN" hub publish "$owner/shared" --dir "d$p" --meta meta.json >/dev/null 2>>"pub$p.err" || echo x >> "pub$p.fail"
    done ) &
  pids+=($!)
done
for r in 1 2 3 4; do
  ( for i in $(seq 15); do
      c=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/search?q=quadrant")
      [ "$c" = 200 ] || echo "$c" >> "read$r.fail"
    done ) &
  pids+=($!)
done
wait "${pids[@]}" # not a bare wait: the server is a child too
[ -z "$(ls ./*.fail 2>/dev/null)" ] && ok "no request failed" || fail "failures: $(cat ./*.fail ./*.err 2>/dev/null | head -5)"
for owner in alice bob; do
  out=$(curl -s "$URL/api/v1/records/$owner/shared")
  n=$(grep -c '"digest"' <<<"$out")
  want=$((P / 2 * N))
  [ "$n" = "$want" ] && ok "$owner/shared has $want versions" || fail "$owner/shared has $n versions, want $want"
  grep -q "\"latest\": $want" <<<"$out" && ok "$owner latest is $want" || fail "latest: $out"
done
out=$("$BIN" hub pull alice/shared@3 --cache cache --out v3) && [ -f v3/data.bin ] && ok "a concurrent version pulls intact" || fail "pull: $out"
stop_server
out=$("$BIN" hub check --root root) && grep -q " 0 problems, 0 unreferenced" <<<"$out" && ok "hub check clean" || fail "check: $out"
finish
