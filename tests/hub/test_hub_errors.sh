#!/usr/bin/env bash
# Auth failures and bad input: each gets the fitting HTTP status and a JSON
# error naming the problem, and nothing is stored.
. "$(dirname "$0")/hub_lib.sh"
start_server --max-file-bytes 100000
ALICE=$(token_for alice)
BOB=$(token_for bob)
dataset_meta meta.json
head -c 1000 /dev/urandom > good.bin

# manifest OUT NAME SIZE SHA [METAFILE] [TYPE]: the "meta" part of a publish
manifest() {
  printf '{"type": "%s", "metadata": %s, "files": [{"name": "%s", "size": %s, "sha256": "%s"}]}' \
    "${6:-dataset}" "$(cat "${5:-meta.json}")" "$2" "$3" "$4" > "$1"
}
# pub TOKEN ID META_FILE FILE [PART_NAME]: POST a version with curl
pub() {
  local auth=()
  [ -n "$1" ] && auth=(-H "Authorization: Bearer $1")
  status POST "/api/v1/records/$2/versions" "${auth[@]}" -F "meta=@$3;type=application/json" -F "file=@$4;filename=${5:-$(basename "$4")}"
}
manifest good.json good.bin 1000 "$(sha good.bin)"
expect "publish with a valid request" 201 "$(pub "$ALICE" alice/ok good.json good.bin)" '"alice/ok@1"'

# Auth
expect "publish without token" 401 "$(pub "" alice/x good.json good.bin)" "needs a token"
expect "publish with a wrong token" 401 "$(pub "bkt_wrong" alice/x good.json good.bin)" "not valid"
expect "read with a wrong token" 401 "$(status GET /api/v1/records/alice/ok -H 'Authorization: Bearer nope')" "not valid"
expect "publish under another owner" 403 "$(pub "$BOB" alice/x good.json good.bin)" "may not publish under owner alice"
expect "delete another owner's version" 403 "$(status DELETE /api/v1/records/alice/ok/versions/1 -H "Authorization: Bearer $BOB")" "only alice"
expect "move another owner's alias" 403 "$(status PUT /api/v1/records/alice/ok/aliases/prod -H "Authorization: Bearer $BOB" -d '{"version": 1}')" "only alice"
expect "delete without token" 401 "$(status DELETE /api/v1/records/alice/ok/versions/1)"
expect "non-admin creates a token" 403 "$(status POST /api/v1/tokens -H "Authorization: Bearer $ALICE" -d '{"user": "mallory"}')" "only the admin"
expect "reading a public record needs no token" 200 "$(status GET /api/v1/records/alice/ok)"
mkdir -p sec && cp good.bin sec/
BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/secret --dir sec --meta meta.json --private >/dev/null \
  && ok "publish a private record" || fail "private publish"
expect "private record hidden from anonymous" 404 "$(status GET /api/v1/records/alice/secret)" "not found"
expect "private record hidden from another user" 404 "$(status GET /api/v1/records/alice/secret/versions/1/files/good.bin -H "Authorization: Bearer $BOB")"
expect "private record readable by its owner" 200 "$(status GET /api/v1/records/alice/secret -H "Authorization: Bearer $ALICE")"
expect "private record readable by the admin" 200 "$(status GET /api/v1/records/alice/secret -H "Authorization: Bearer $ADMIN")"
expect "private record absent from anonymous search" 200 "$(status GET '/api/v1/search?owner=alice')" '"total": 1'
expect "private record in its owner's search" 200 "$(status GET '/api/v1/search?owner=alice' -H "Authorization: Bearer $ALICE")" '"total": 2'

# Bad input
printf '{"type": "dataset", "metadata": {"titles": [}' > bad.json
expect "malformed JSON" 400 "$(pub "$ALICE" alice/x bad.json good.bin)" "malformed JSON"
sed 's/"creators": \[[^]]*\],//' meta.json > nocreators.json
manifest m.json good.bin 1000 "$(sha good.bin)" nocreators.json
expect "missing required field" 422 "$(pub "$ALICE" alice/x m.json good.bin)" "metadata.creators: required"
sed 's/0000-0002-1825-0097/0000-0002-1825-0098/' meta.json > badorcid.json
manifest m.json good.bin 1000 "$(sha good.bin)" badorcid.json
expect "invalid ORCID" 422 "$(pub "$ALICE" alice/x m.json good.bin)" "metadata.creators[0].orcid"
manifest m.json good.bin 1000 "$(sha good.bin)" meta.json model
expect "model without signature" 422 "$(pub "$ALICE" alice/x m.json good.bin)" "metadata.signature"
manifest m.json good.bin 1000 "$(sha meta.json)"
expect "wrong digest" 422 "$(pub "$ALICE" alice/x m.json good.bin)" "SHA-256 of the received bytes"
manifest m.json good.bin 999 "$(sha good.bin)"
expect "more bytes than declared" 422 "$(pub "$ALICE" alice/x m.json good.bin)" "more bytes than"
head -c 200000 /dev/urandom > big.bin
manifest m.json big.bin 200000 "$(sha big.bin)"
expect "oversized upload" 413 "$(pub "$ALICE" alice/x m.json big.bin)" "at most 100000 bytes"
manifest m.json ../evil 1000 "$(sha good.bin)"
expect "path traversal in the manifest" 422 "$(pub "$ALICE" alice/x m.json good.bin ../evil)" "files[0].name"
expect "path traversal in the part" 400 "$(pub "$ALICE" alice/x good.json good.bin ../good.bin)" "are not allowed"
manifest m.json .hidden 1000 "$(sha good.bin)"
expect "hidden file name" 422 "$(pub "$ALICE" alice/x m.json good.bin .hidden)" "starts with '.'"
expect "file not in the manifest" 400 "$(pub "$ALICE" alice/x good.json good.bin other.bin)" "not in the manifest"
model_meta mmeta.json
manifest m.json good.bin 1000 "$(sha good.bin)" mmeta.json model
expect "type conflict (dataset record, model version)" 409 "$(pub "$ALICE" alice/ok m.json good.bin)" "is a dataset"
expect "bad owner name" 400 "$(pub "$ADMIN" '..%2Fx/y' good.json good.bin)"
expect "unknown route" 404 "$(status GET /api/v1/nothing)" "no such route"
expect "unknown route outside the API" 404 "$(status GET /index.php)" "no such route"
expect "unknown record" 404 "$(status GET /api/v1/records/alice/none)" "not found"
expect "unknown version" 404 "$(status GET /api/v1/records/alice/ok/versions/9)" "not found"
expect "wrong method" 405 "$(status POST /api/v1/search)"
expect "alias body malformed" 400 "$(status PUT /api/v1/records/alice/ok/aliases/prod -H "Authorization: Bearer $ALICE" -d '{nope')" "malformed JSON"
expect "alias to a missing version" 404 "$(status PUT /api/v1/records/alice/ok/aliases/prod -H "Authorization: Bearer $ALICE" -d '{"version": 7}')"
expect "alias latest is reserved" 409 "$(status PUT /api/v1/records/alice/ok/aliases/latest -H "Authorization: Bearer $ALICE" -d '{"version": 1}')"
expect "bad search parameter" 400 "$(status GET '/api/v1/search?per_page=1000')" "per_page"
expect "error bodies are JSON" 404 "$(status GET /api/v1/nothing)" '"error":'

# Nothing stored by any of the refused requests.
expect "only the two good records exist" 200 "$(status GET '/api/v1/search' -H "Authorization: Bearer $ADMIN")" '"total": 2'
expect "alice/x does not exist" 404 "$(status GET /api/v1/records/alice/x -H "Authorization: Bearer $ADMIN")"
[ -z "$(ls root/tmp)" ] && ok "no temp files left" || fail "temp files left: $(ls root/tmp)"
nblobs=$(find root/blobs -type f | wc -l)
[ "$nblobs" = 1 ] && ok "one blob in the store (good.bin, deduplicated)" || fail "$nblobs blobs in the store"
out=$("$BIN" hub check --root root) && grep -q "0 problems, 0 unreferenced" <<<"$out" && ok "hub check clean" || fail "check: $out"
finish
