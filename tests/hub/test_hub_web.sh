#!/usr/bin/env bash
# The hub's web pages in headless Chromium (no JavaScript needed): search
# and record pages show what they should, private records stay hidden from
# anonymous readers, and text from records is HTML-escaped. Set
# BRISK_HUB_SHOTS=DIR to also keep the screenshots (docs/hub-*.png).
. "$(dirname "$0")/hub_lib.sh"
CHROME=$(command -v chromium || command -v chromium-browser) || { echo "chromium missing (scripts/install-deps.sh --test)"; exit 77; }
# Root (as in CI containers) cannot use Chromium's sandbox.
browser() {
  timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$W/chrome" --hide-scrollbars "$@" 2>>"$W/chrome.log"
}
dom() { browser --dump-dom "$1" > "$2"; }
# has NAME FILE TEXT / lacks NAME FILE TEXT: fixed-string checks on a page
has() { grep -qF -- "$3" "$2" && ok "$1" || fail "$1: '$3' not in $2"; }
lacks() { grep -qF -- "$3" "$2" && fail "$1: '$3' found in $2" || ok "$1"; }

start_server
ALICE=$(token_for alice)
pub() { BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish "$@" >/dev/null || fail "publish $*"; }

mkdir -p ds && head -c 20000 /dev/urandom > ds/x.bin && echo "0 1 2 3" > ds/labels.txt
dataset_meta meta.json
pub alice/quads --dir ds --meta meta.json
echo "more" >> ds/labels.txt
pub alice/quads --dir ds --meta meta.json
BRISK_HUB_TOKEN=$ALICE "$BIN" hub delete alice/quads@2 --reason "mislabelled" >/dev/null
mkdir -p run && echo '{"neural_network": {"data": {"input_path": "hub:alice/quads@1"}}}' > run/config.json
head -c 3000 /dev/urandom > run/model_final.safetensors
cat > card.json <<'JSON'
{"titles": [{"title": "Quadrant classifier CNN"}],
 "creators": [{"name": "Roe, Rich", "orcid": "0000-0002-1825-0097", "affiliation": "Example Lab"}],
 "publisher": "brisk tests", "publicationYear": 2024,
 "resourceType": {"resourceTypeGeneral": "Model"}, "rightsList": [{"rightsIdentifier": "MIT"}],
 "subjects": [{"subject": "vision"}],
 "relatedIdentifiers": [{"relatedIdentifier": "10.1000/xyz123", "relatedIdentifierType": "DOI", "relationType": "IsDescribedBy"}],
 "modelCard": "# Quadrant classifier\nA small **convolutional** network.\n\n## Use\n- input `image`\n- see [the paper](https://example.org/paper)\n- [bad](javascript:alert(1)) <img src=x onerror=alert(2)>\n\n```\nbrisk run config.json\n```",
 "signature": {"inputs": [{"name": "image", "dtype": "float32", "shape": [-1, 1, 12, 12]}],
               "outputs": [{"name": "logp", "dtype": "float32", "shape": [-1, 4]}]},
 "metrics": {"test_accuracy": 0.97}, "provenance": {"parent": "alice/base@1"}}
JSON
pub alice/cnn --dir run --meta card.json
dataset_meta evil.json 'Evil <script>alert(\"pwned\")</script> & co'
pub alice/evil --dir ds --meta evil.json
dataset_meta secret.json "Hidden private thing"
pub alice/secret --dir ds --meta secret.json --private

# Search page, anonymous
dom "$URL/" home.html
has "search page title" home.html "<title>Search · brisk hub</title>"
has "search box" home.html 'name="q"'
has "public dataset listed" home.html "Toy quadrant images"
has "model listed" home.html "Quadrant classifier CNN"
has "record count (private not counted)" home.html "3 records"
lacks "private record absent for anonymous" home.html "Hidden private thing"
lacks "no script element from a title" home.html "<script>"
has "title with <script> shown escaped" home.html "Evil &lt;script&gt;alert(\"pwned\")&lt;/script&gt; &amp; co"
dom "$URL/?q=quadrant&type=model" q.html
has "full-text search + type filter" q.html "1 record, best matches first"
has "ranked result shown" q.html "alice/cnn@1"
lacks "type filter drops datasets" q.html "alice/quads@1"
dom "$URL/?creator=roe" cr.html
has "creator filter" cr.html "1 record"
dom "$URL/?domain=vision&licence=cc-by-4.0&per_page=1" pg.html
has "domain+licence filters, paginated" pg.html "page 1 of 2"
has "next page link keeps the filters" pg.html "domain=vision&amp;licence=cc-by-4.0&amp;page=2&amp;per_page=1"
dom "$URL/?per_page=0" bad.html
has "bad parameter explained on the page" bad.html "per_page: must be an integer from 1 to 100"

# Record pages
dom "$URL/records/alice/cnn" cnn.html
has "record page title" cnn.html "<title>Quadrant classifier CNN · brisk hub</title>"
has "persistent identifier" cnn.html "alice/cnn@1"
has "model card heading rendered" cnn.html "<h3>Quadrant classifier</h3>"
has "model card list + inline code" cnn.html "<li>input <code>image</code></li>"
has "model card http link" cnn.html '<a rel="nofollow" href="https://example.org/paper">the paper</a>'
lacks "no javascript: link from the card" cnn.html 'href="javascript:'
lacks "no raw tag from the card" cnn.html "<img"
has "card code block" cnn.html "brisk run config.json"
has "creator with ORCID link" cnn.html 'href="https://orcid.org/0000-0002-1825-0097"'
has "DOI related identifier linked" cnn.html 'href="https://doi.org/10.1000/xyz123"'
has "signature" cnn.html "[-1,1,12,12]"
has "metrics" cnn.html "test_accuracy"
has "provenance: parent model linked" cnn.html 'href="/records/alice/base?v=1"'
has "provenance: dataset linked" cnn.html 'href="/records/alice/quads?v=1"'
has "citation BibTeX" cnn.html "@misc{alice_cnn_1"
has "citation DataCite" cnn.html "sha256-manifest"
has "file digest" cnn.html "$(sha run/model_final.safetensors)"
dom "$URL/records/alice/quads" quads.html
has "dataset shows the latest live version" quads.html "alice/quads@1"
has "versions list: tombstone" quads.html "deleted"
has "versions list links each version" quads.html 'href="/records/alice/quads?v=2"'
has "file size shown" quads.html "19.5 KiB"
href=$(grep -o 'href="/api/v1/records/alice/quads/versions/1/files/x.bin"' quads.html | head -1 | cut -d'"' -f2)
curl -sf "$URL$href" -o dl.bin && cmp -s dl.bin ds/x.bin && ok "download link serves the file" || fail "download link '$href'"
dom "$URL/records/alice/quads?v=2" q2.html
has "deleted version: tombstone with reason" q2.html "mislabelled"
lacks "deleted version: no download links" q2.html "/versions/2/files/"
dom "$URL/records/alice/evil" evil.html
lacks "record page: no script element from the title" evil.html "<script>"
has "record page: title escaped" evil.html "Evil &lt;script&gt;"
expect "raw HTML escapes the title too" 200 "$(status GET /records/alice/evil)" "<h1>Evil &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; co</h1>"
expect "private record page is 404 for anonymous" 404 "$(status GET /records/alice/secret)" "not found"
expect "private record page for its owner" 200 "$(status GET /records/alice/secret -H "Authorization: Bearer $ALICE")" "Hidden private thing"
expect "unknown version page" 404 "$(status GET '/records/alice/quads?v=9')" "alice/quads@9 not found"
expect "pages are HTML" 200 "$(status GET / -D headers.txt)"
grep -qi "content-type: text/html; charset=utf-8" headers.txt && ok "content type text/html" || fail "content type"

# Screenshots: PNGs that render (kept under docs/ when asked)
browser --screenshot="$W/record.png" --window-size=1100,1900 "$URL/records/alice/cnn" >/dev/null
browser --screenshot="$W/search.png" --window-size=1100,900 "$URL/" >/dev/null
for p in record search; do
  [ "$(head -c 4 "$W/$p.png" | tail -c 3)" = PNG ] && [ "$(stat -c %s "$W/$p.png")" -gt 20000 ] \
    && ok "screenshot of the $p page" || fail "screenshot $p"
  [ -n "${BRISK_HUB_SHOTS:-}" ] && cp "$W/$p.png" "$BRISK_HUB_SHOTS/hub-$p-page.png"
done
finish
