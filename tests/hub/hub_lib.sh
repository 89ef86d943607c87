# Shared helpers for the hub's black-box tests (sourced): start the real
# server on a free loopback port, talk to it with curl and the brisk client.
set -u
BIN=${BRISK_BIN:?BRISK_BIN must name the brisk binary}
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
# finish: stops the server (so a sanitizer build reports leaks), fails on any
# sanitizer report in the server log, prints the tally.
finish() {
  stop_server
  if grep -qE "Sanitizer|runtime error" "$W/server.log" 2>/dev/null; then
    fail "sanitizer report in the server log: $(grep -m1 -E 'Sanitizer|runtime error' "$W/server.log")"
  fi
  echo "$(basename "$0" .sh): $passed passed, $failed failed"; [ "$failed" -eq 0 ]
}
command -v curl >/dev/null || { echo "curl missing (scripts/install-deps.sh --test)"; exit 77; }

W="${BRISK_TMP:-/tmp}/hub_$(basename "$0" .sh)"
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
SERVER_PID=""
: >"$W/server.log"
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
trap stop_server EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server [extra args]: serves $W/root on 127.0.0.1:$PORT, waits until healthy
start_server() {
  PORT=$(free_port)
  "$BIN" hub serve --root "$W/root" --listen "127.0.0.1:$PORT" "$@" >>"$W/server.log" 2>&1 &
  SERVER_PID=$!
  URL="http://127.0.0.1:$PORT"
  for _ in $(seq 100); do
    curl -sf "$URL/api/v1/health" >/dev/null 2>&1 && break
    sleep 0.05
  done
  export BRISK_HUB_URL=$URL
  ADMIN=$(cat "$W/root/admin_token")
}

# token_for USER: a new API token for USER (made with the admin token)
token_for() {
  "$BIN" hub token create --user "$1" --token "$ADMIN" | sed -n 's/.*"token": "\(.*\)".*/\1/p'
}

# status METHOD PATH [curl args...]: prints the HTTP status; body in $W/body
status() {
  local m=$1 p=$2; shift 2
  curl -s -o "$W/body" -w '%{http_code}' -X "$m" "$@" "$URL$p"
}

# expect NAME WANT GOT [PATTERN]: status matches and the JSON error body has PATTERN
expect() {
  if [ "$3" != "$2" ]; then fail "$1: HTTP $3, expected $2: $(head -c 300 "$W/body")"; return; fi
  if [ -n "${4:-}" ] && ! grep -qF -- "$4" "$W/body"; then fail "$1: body lacks '$4': $(head -c 300 "$W/body")"; return; fi
  ok "$1 ($3)"
}

# dataset_meta FILE [TITLE]: valid DataCite metadata for a dataset
dataset_meta() {
  cat > "$1" <<JSON
{"titles": [{"title": "${2:-Toy quadrant images}"}],
 "creators": [{"name": "Doe, Jane", "orcid": "0000-0002-1825-0097", "affiliation": "Example Lab"}],
 "publisher": "brisk tests", "publicationYear": 2024,
 "resourceType": {"resourceTypeGeneral": "Dataset"},
 "rightsList": [{"rightsIdentifier": "CC-BY-4.0"}],
 "subjects": [{"subject": "vision"}],
 "descriptions": [{"description": "bright squares in one of four quadrants", "descriptionType": "Abstract"}]}
JSON
}

# model_meta FILE: valid metadata for a model
model_meta() {
  cat > "$1" <<'JSON'
{"titles": [{"title": "Quadrant classifier CNN"}],
 "creators": [{"name": "Roe, Rich"}],
 "publisher": "brisk tests", "publicationYear": "2024",
 "resourceType": {"resourceTypeGeneral": "Model"},
 "rightsList": [{"rightsIdentifier": "MIT"}],
 "subjects": [{"subject": "vision"}],
 "modelCard": "# Quadrant classifier\nA small convolutional network.",
 "signature": {"inputs": [{"name": "image", "dtype": "float32", "shape": [-1, 1, 12, 12]}],
               "outputs": [{"name": "logp", "dtype": "float32", "shape": [-1, 4]}]},
 "provenance": {}}
JSON
}

# sha FILE: hex SHA-256
sha() { sha256sum "$1" | cut -d' ' -f1; }
