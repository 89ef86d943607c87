#!/usr/bin/env bash
# Hub benchmark (not a test: it reports, it never asserts).
#  1. requests/s and p99 latency of search, record reads and web pages under
#     wrk on loopback, with a registry of a few hundred records;
#  2. download throughput of one ~200 MB blob from the hub next to nginx
#     serving the same file from a temporary loopback config.
# Needs wrk, nginx and curl: scripts/install-deps.sh --bench.
# Usage: bench/hub_bench.sh [--records N] [--duration S] [--connections C]
#        [--threads T] [--blob-mb M]   (BRISK_BIN defaults to build/brisk)
set -u
RECORDS=300 DURATION=10 CONNS=16 THREADS=4 BLOB_MB=200
while [ $# -gt 0 ]; do
  case "$1" in
    --records) RECORDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --blob-mb) BLOB_MB=$2; shift 2 ;;
    *) echo "usage: $0 [--records N] [--duration S] [--connections C] [--threads T] [--blob-mb M]" >&2; exit 2 ;;
  esac
done
BIN=${BRISK_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/brisk}
for t in wrk nginx curl; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "$t missing: scripts/install-deps.sh --bench" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "no brisk binary at $BIN (make build)" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

T=$(mktemp -d /tmp/hub_bench.XXXXXX)
chmod 755 "$T" # nginx workers run as an unprivileged user
HUB_PID="" NGINX_PID=""
cleanup() {
  [ -n "$HUB_PID" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PORT=$(free_port)
"$BIN" hub serve --root "$T/root" --listen "127.0.0.1:$PORT" --threads "$THREADS" >"$T/hub.log" 2>&1 &
HUB_PID=$!
URL=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -sf "$URL/api/v1/health" >/dev/null && break; sleep 0.05; done
ADMIN=$(cat "$T/root/admin_token")
TOKEN=$("$BIN" hub token create --user alice --token "$ADMIN" --url "$URL" | sed -n 's/.*"token": "\(.*\)".*/\1/p')

# A few hundred records with varied titles/subjects so search has work to do.
echo "publishing $RECORDS records..." >&2
words=(quadrant galaxy protein spectra turbulence lattice crystal seismic climate genome neuron plasma)
subjects=(vision physics biology chemistry geoscience astronomy)
t0=$(date +%s.%N)
for i in $(seq 1 "$RECORDS"); do
  d="$T/pub/$i"; mkdir -p "$d"
  head -c 4096 /dev/urandom > "$d/data.bin"
  w1=${words[$((i % 12))]} w2=${words[$(((i / 12) % 12))]} s=${subjects[$((i % 6))]}
  cat > "$T/meta.json" <<JSON
{"titles": [{"title": "The $w1 $w2 dataset number $i"}], "creators": [{"name": "Doe, Jane"}],
 "publisher": "brisk bench", "publicationYear": 2024, "resourceType": {"resourceTypeGeneral": "Dataset"},
 "rightsList": [{"rightsIdentifier": "CC-BY-4.0"}], "subjects": [{"subject": "$s"}],
 "descriptions": [{"description": "Synthetic $w1 measurements for $w2 studies, record $i of the benchmark."}]}
JSON
  "$BIN" hub publish "alice/rec$i" --dir "$d" --meta "$T/meta.json" --url "$URL" --token "$TOKEN" >/dev/null \
    || { echo "publish $i failed" >&2; exit 1; }
done
t1=$(date +%s.%N)
PUB_RATE=$(awk -v n="$RECORDS" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", n / (b - a)}')

# wrk_row NAME PATH: one table row from wrk --latency
wrk_row() {
  local out rps p99 p50 errs
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$URL$2" 2>&1)
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  printf '| %s | `%s` | %s | %s | %s | %s |\n' "$1" "$2" "$rps" "$p50" "$p99" "${errs:-none}"
}

echo
echo "### Hub request rates (wrk -t2 -c$CONNS -d${DURATION}s, hub --threads $THREADS, $RECORDS records)"
echo
echo "| route | path | requests/s | p50 | p99 | errors |"
echo "|---|---|---|---|---|---|"
MID=$((RECORDS / 2))
wrk_row "search, full text" "/api/v1/search?q=quadrant+galaxy"
wrk_row "search, filters only" "/api/v1/search?subject=physics&page=2"
wrk_row "record read" "/api/v1/records/alice/rec$MID"
wrk_row "version read" "/api/v1/records/alice/rec$MID/versions/1"
wrk_row "web search page" "/?q=protein"
wrk_row "web record page" "/records/alice/rec$MID"
echo
echo "(publishing: $PUB_RATE versions/s, one brisk client process per publish, sequential)"

# Blob throughput: the same file from the hub and from nginx.
echo "writing a ${BLOB_MB} MB blob..." >&2
mkdir -p "$T/blob" "$T/www"
head -c $((BLOB_MB * 1024 * 1024)) /dev/urandom > "$T/blob/big.bin"
cat > "$T/meta.json" <<'JSON'
{"titles": [{"title": "Big blob"}], "creators": [{"name": "Doe, Jane"}], "publisher": "brisk bench",
 "publicationYear": 2024, "resourceType": {"resourceTypeGeneral": "Dataset"}, "rightsList": [{"rightsIdentifier": "MIT"}]}
JSON
"$BIN" hub publish alice/big --dir "$T/blob" --meta "$T/meta.json" --url "$URL" --token "$TOKEN" >/dev/null || exit 1
mv "$T/blob/big.bin" "$T/www/big.bin"
chmod -R a+rX "$T/www"
NPORT=$(free_port)
cat > "$T/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  server { listen 127.0.0.1:$NPORT; root $T/www; }
}
CONF
"$NGINX" -c "$T/nginx.conf" -p "$T" &
NGINX_PID=$!
for _ in $(seq 100); do curl -sfI "http://127.0.0.1:$NPORT/big.bin" >/dev/null && break; sleep 0.05; done

# best_of URL: best of 3 single-stream downloads, MB/s
best_of() {
  local best=0 s
  for _ in 1 2 3; do
    s=$(curl -s -o /dev/null -w '%{speed_download}' "$1")
    best=$(awk -v a="$best" -v b="$s" 'BEGIN {print (b > a ? b : a)}')
  done
  awk -v b="$best" 'BEGIN {printf "%.0f", b / 1e6}'
}
# wrk_mb URL: aggregate transfer rate with 4 connections, MB/s
wrk_mb() {
  wrk -t2 -c4 -d"${DURATION}s" "$1" 2>&1 | awk '/^Transfer\/sec/ {
    v = $2; u = substr(v, length(v) - 1); n = v + 0
    if (u == "GB") n *= 1024; else if (u == "KB") n /= 1024
    printf "%.0f", n * 1.048576 }'
}
HUB_FILE="$URL/api/v1/records/alice/big/versions/1/files/big.bin"
NGX_FILE="http://127.0.0.1:$NPORT/big.bin"
echo
echo "### Blob download, ${BLOB_MB} MB file, loopback"
echo
echo "| server | curl, 1 stream, best of 3 (MB/s) | wrk -c4 aggregate (MB/s) |"
echo "|---|---|---|"
echo "| brisk hub | $(best_of "$HUB_FILE") | $(wrk_mb "$HUB_FILE") |"
echo "| nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') | $(best_of "$NGX_FILE") | $(wrk_mb "$NGX_FILE") |"
echo
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
