#!/usr/bin/env bash
# Publish, search, show, pull, alias, cite and delete against the real
# server, through the brisk client and plain curl.
. "$(dirname "$0")/hub_lib.sh"
start_server
ALICE=$(token_for alice)
[ -n "$ALICE" ] && ok "admin creates a token for alice" || fail "token create"
[ "$(stat -c %a root/admin_token)" = 600 ] && ok "admin_token is mode 0600" || fail "admin_token mode"
grep -q "$ADMIN" root/registry.db && fail "admin token stored in plain text" || ok "token stored only hashed"

mkdir -p ds && head -c 20000 /dev/urandom > ds/x.bin && echo "0 1 2 3" > ds/labels.txt
dataset_meta meta.json
out=$(BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/quads --dir ds --meta meta.json) \
  && grep -q '"id": "alice/quads@1"' <<<"$out" && ok "publish dataset -> alice/quads@1" || fail "publish: $out"
out=$(BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/quads --dir ds --meta meta.json) \
  && grep -q '"id": "alice/quads@2"' <<<"$out" && ok "publishing again makes version 2" || fail "publish 2: $out"
D1=$(curl -s "$URL/api/v1/records/alice/quads/versions/1" | sed -n 's/.*"digest": "\(.*\)".*/\1/p')
D2=$(curl -s "$URL/api/v1/records/alice/quads/versions/2" | sed -n 's/.*"digest": "\(.*\)".*/\1/p')
[ -n "$D1" ] && [ "$D1" = "$D2" ] && ok "same content, same manifest digest" || fail "digests $D1 $D2"

# A brisk run directory: provenance comes from its config and checkpoint.
mkdir -p run && echo '{"neural_network": {"data": {"input_path": "hub:alice/quads@1", "target_path": "y.npy"}}}' > run/config.json
head -c 3000 /dev/urandom > run/model_final.safetensors && echo "epoch 1" > run/metrics.txt
model_meta mmeta.json
out=$(BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/cnn --dir run --meta mmeta.json) \
  && grep -q '"type": "model"' <<<"$out" && grep -q '"brisk_version"' <<<"$out" \
  && grep -q 'hub:alice/quads@1' <<<"$out" && grep -q "$(sha run/model_final.safetensors)" <<<"$out" \
  && ok "publish run directory: model with provenance filled in" || fail "publish model: $out"

out=$("$BIN" hub search quadrant) && grep -q '"total": 2' <<<"$out" && ok "full-text search finds both" || fail "search: $out"
out=$("$BIN" hub search quadrant --type model) && grep -q '"total": 1' <<<"$out" && grep -q alice/cnn <<<"$out" \
  && ok "search filter type=model" || fail "search type: $out"
out=$("$BIN" hub search --licence cc-by-4.0) && grep -q '"total": 1' <<<"$out" && ok "search filter licence" || fail "licence: $out"
out=$("$BIN" hub search --subject vision --owner alice --per-page 1 --page 2) && grep -q '"total": 2' <<<"$out" \
  && [ "$(grep -c '"id"' <<<"$out")" = 1 ] && ok "search filters subject+owner, paginated" || fail "page: $out"
out=$("$BIN" hub search --creator "doe, j") && grep -q '"total": 1' <<<"$out" && grep -q alice/quads <<<"$out" \
  && ok "search filter creator (substring, any case)" || fail "creator: $out"
out=$("$BIN" hub search 'convolutional') && grep -q alice/cnn <<<"$out" && ok "search covers model cards" || fail "card: $out"
out=$("$BIN" hub search 'nothing"matches(this') && grep -q '"total": 0' <<<"$out" && ok "odd query text is safe" || fail "odd: $out"

out=$("$BIN" hub show alice/quads) && grep -q '"latest": 2' <<<"$out" && ok "show record: latest alias automatic" || fail "show: $out"
out=$("$BIN" hub pull alice/quads@1 --cache cache --out got1) && cmp -s got1/x.bin ds/x.bin && cmp -s got1/labels.txt ds/labels.txt \
  && ok "pull verifies and writes the files" || fail "pull: $out"
blob=cache/blobs/$(sha ds/x.bin | cut -c1-2)/$(sha ds/x.bin | cut -c3-)
echo tampered > "$blob"
out=$("$BIN" hub pull alice/quads --cache cache --out got2) && cmp -s got2/x.bin ds/x.bin && ok "a tampered cache entry is fetched again" || fail "repull: $out"

out=$(BRISK_HUB_TOKEN=$ALICE "$BIN" hub alias alice/quads production 1) && grep -q '"previous": null' <<<"$out" && ok "alias production -> 1" || fail "alias: $out"
out=$(BRISK_HUB_TOKEN=$ALICE "$BIN" hub alias alice/quads production 2) && grep -q '"previous": 1' <<<"$out" && ok "alias moves 1 -> 2" || fail "alias2: $out"
out=$("$BIN" hub show alice/quads --audit) && [ "$(grep -c '"alias": "production"' <<<"$out")" = 2 ] && ok "alias moves audited" || fail "audit: $out"
out=$("$BIN" hub show alice/quads@production) && grep -q '"version": 2' <<<"$out" && ok "resolve alias" || fail "resolve: $out"

out=$("$BIN" hub cite alice/quads@1) && grep -q '@misc{alice_quads_1' <<<"$out" && grep -q 'author = {Doe, Jane}' <<<"$out" \
  && grep -q "$D1" <<<"$out" && ok "cite BibTeX" || fail "bibtex: $out"
out=$("$BIN" hub cite alice/quads@1 --format datacite) && grep -q '"identifier": "alice/quads@1"' <<<"$out" \
  && grep -q '"publicationYear": 2024' <<<"$out" && ok "cite DataCite JSON" || fail "datacite: $out"

out=$(BRISK_HUB_TOKEN=$ALICE "$BIN" hub delete alice/quads@2 --reason "mislabelled") && grep -q '"reason": "mislabelled"' <<<"$out" && ok "delete -> tombstone" || fail "delete: $out"
expect "tombstone metadata stays readable" 200 "$(status GET /api/v1/records/alice/quads/versions/2)" '"deleted"'
expect "tombstone files are 410 Gone" 410 "$(status GET /api/v1/records/alice/quads/versions/2/files/x.bin)" "mislabelled"
out=$("$BIN" hub show alice/quads) && grep -q '"latest": 1' <<<"$out" && ok "latest falls back to version 1" || fail "latest: $out"
"$BIN" hub pull alice/quads@2 --cache cache >/dev/null 2>err.txt; [ $? -eq 1 ] && grep -q deleted err.txt && ok "pull of a deleted version fails clearly" || fail "pull deleted: $(cat err.txt)"
expect "files of live versions still served" 200 "$(status GET /api/v1/records/alice/quads/versions/1/files/x.bin)"

stop_server
out=$("$BIN" hub check --root root) && ok "hub check clean: $(tail -1 <<<"$out")" || fail "check: $out"
finish
