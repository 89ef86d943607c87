#!/usr/bin/env bash
# "hub:" references in run configs: train from a published dataset, load a
# published checkpoint to fine-tune, and find the exact versions and
# manifest digests in the run's resolved config and in the published
# model's provenance; unknown records, versions and files fail clearly.
. "$(dirname "$0")/hub_lib.sh"
PY=/usr/bin/python3
"$PY" -c 'import numpy' 2>/dev/null || { echo "numpy missing (scripts/install-deps.sh --test)"; exit 77; }
start_server
ALICE=$(token_for alice)
export BRISK_HUB_CACHE=$W/cache

mkdir -p ds
"$PY" - ds <<'PY'
import sys, numpy as np
d = sys.argv[1]; rng = np.random.default_rng(7); n = 256
y = rng.integers(0, 4, n)
x = rng.normal(0, 0.3, (n, 1, 12, 12)).astype(np.float32)
for i, k in enumerate(y):
    r, c = divmod(int(k), 2)
    x[i, 0, r*6+1:r*6+5, c*6+1:c*6+5] += 1.0
np.save(f"{d}/x.npy", x); np.save(f"{d}/y.npy", y.astype(np.int64))
PY
echo "quadrant images" > ds/README.txt
dataset_meta meta.json
BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/quads --dir ds --meta meta.json >/dev/null || fail "publish dataset"
DIGEST=$(curl -s "$URL/api/v1/records/alice/quads/versions/1" | sed -n 's/.*"digest": "\(.*\)".*/\1/p')

cat > net.json <<'JSON'
{"class_name": "Sequential", "config": {"name": "small", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 12, 12, 1], "name": "in"}},
 {"class_name": "Conv2D", "config": {"name": "conv1", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}},
 {"class_name": "Flatten", "config": {"name": "flat"}},
 {"class_name": "Dense", "config": {"name": "fc", "units": 4, "activation": "log_softmax"}}]}}
JSON
# config FILE INPUT TARGET SAVE [LOAD]
config() {
  local load=""
  [ -n "${5:-}" ] && load=", \"load\": \"$5\""
  cat > "$1" <<JSON
{"neural_network": {"num_epochs": 1, "seed": 3, "layers": "net.json", "outfile": "$4.txt",
  "checkpoints": {"save": "$4"$load},
  "data": {"type": "numpy", "input_path": "$2", "target_path": "$3", "batch_size": 32},
  "optimizer": {"type": "SGD", "learning_rate": 0.05}, "loss": {"function": "NLL"}}}
JSON
}
train() { "$BIN" --config="$1" --no-progress > "$1.log" 2>&1; }
# json_get FILE PYEXPR: evaluates PYEXPR on the parsed file d
json_get() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>&1; }

config t1.json "hub:alice/quads@1/x.npy" "hub:alice/quads@latest/y.npy" run1
train t1.json && ok "trains from hub: data paths" || fail "train: $(tail -3 t1.json.log)"
[ "$(json_get run1/config.json 'len(d["brisk_resolved"]["hub"])')" = 2 ] && ok "both references in the resolved config" \
  || fail "resolved hub refs: $(json_get run1/config.json 'd["brisk_resolved"].get("hub")')"
[ "$(json_get run1/config.json 'd["brisk_resolved"]["hub"][1]["id"]')" = "alice/quads@1" ] \
  && ok "@latest recorded as the exact version alice/quads@1" || fail "latest id: $(json_get run1/config.json 'd["brisk_resolved"]["hub"][1]')"
[ "$(json_get run1/config.json 'd["brisk_resolved"]["hub"][0]["digest"]')" = "$DIGEST" ] \
  && ok "manifest digest recorded" || fail "digest: $(json_get run1/config.json 'd["brisk_resolved"]["hub"][0]')"
inp=$(json_get run1/config.json 'd["brisk_resolved"]["input_path"]')
case "$inp" in "$BRISK_HUB_CACHE"/blobs/*) cmp -s "$inp" ds/x.npy && ok "input path is the verified cached file" || fail "cached file differs";;
  *) fail "input_path not in the cache: $inp";; esac

model_meta mmeta.json
BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/cnn --dir run1 --meta mmeta.json > pub1.json || fail "publish model"
[ "$(json_get pub1.json '[x["id"]+" "+x["digest"] for x in d["metadata"]["provenance"]["datasets"]][0]')" = "alice/quads@1 $DIGEST" ] \
  && ok "published model's provenance names the dataset version and digest" || fail "provenance: $(json_get pub1.json 'd["metadata"]["provenance"]["datasets"]')"

# Fine-tune from the published checkpoint (the version has several files:
# the .safetensors one is picked for "load").
config t2.json "hub:alice/quads@1/x.npy" "hub:alice/quads@1/y.npy" run2 "hub:alice/cnn@latest"
train t2.json && grep -q "Loaded weights from $BRISK_HUB_CACHE" t2.json.log && ok "loads a checkpoint from hub:" \
  || fail "fine-tune: $(tail -3 t2.json.log)"
[ "$(json_get run2/config.json '[x["id"] for x in d["brisk_resolved"]["hub"] if x["key"].endswith(".load")][0]')" = "alice/cnn@1" ] \
  && ok "checkpoint reference recorded" || fail "load ref: $(json_get run2/config.json 'd["brisk_resolved"].get("hub")')"
BRISK_HUB_TOKEN=$ALICE "$BIN" hub publish alice/cnn-ft --dir run2 --meta mmeta.json > pub2.json || fail "publish fine-tuned"
P1=$(json_get pub1.json 'd["digest"]')
[ "$(json_get pub2.json 'd["metadata"]["provenance"]["parent"]+" "+d["metadata"]["provenance"]["parent_digest"]')" = "alice/cnn@1 $P1" ] \
  && ok "fine-tuned model's parent is alice/cnn@1 with its digest" \
  || fail "parent: $(json_get pub2.json 'd["metadata"]["provenance"].get("parent")')"
expect "record page links the parent model" 200 "$(status GET /records/alice/cnn-ft)" 'href="/records/alice/cnn?v=1"'

# Clear errors, exit status 1, naming the config key
expect_error() {
  local name=$1 cfg=$2; shift 2
  local err rc
  err=$("$BIN" --config="$cfg" --no-progress 2>&1 >/dev/null); rc=$?
  [ "$rc" -ne 1 ] && { fail "$name: exit $rc: $err"; return; }
  for pat in "$@"; do grep -qF -- "$pat" <<<"$err" || { fail "$name: lacks '$pat': $err"; return; }; done
  ok "$name ($err)"
}
config e1.json "hub:alice/nope@1/x.npy" y.npy e1
expect_error "unknown record" e1.json "neural_network.data.input_path" "record alice/nope not found"
config e2.json "hub:alice/quads@9/x.npy" y.npy e2
expect_error "unknown version" e2.json "alice/quads@9 not found"
config e3.json "hub:alice/quads@1" y.npy e3
expect_error "several files, none named" e3.json "several files" "README.txt, x.npy, y.npy"
config e4.json "hub:alice/quads@1/z.npy" y.npy e4
expect_error "unknown file" e4.json "no file \"z.npy\""
config e5.json "hub:alice" y.npy e5
expect_error "malformed reference" e5.json "expected hub:OWNER/NAME"
BRISK_HUB_URL= expect_error "no hub address" t1.json "set BRISK_HUB_URL"

# under mpirun: rank 0 pulls into a fresh cache, the other rank reads it
if command -v mpirun >/dev/null; then
  config t3.json "hub:alice/quads@1/x.npy" "hub:alice/quads@1/y.npy" run3
  if BRISK_HUB_CACHE=$W/cache_mpi mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 \
       -x BRISK_HUB_URL -x BRISK_HUB_CACHE -x ASAN_OPTIONS=detect_leaks=0 -np 2 "$BIN" --config=t3.json --no-progress \
       > t3.log 2>&1 && grep -q "2 processes" t3.log &&
     [ "$(json_get run3/config.json 'd["brisk_resolved"]["hub"][0]["id"]')" = "alice/quads@1" ]; then
    ok "hub: references under mpirun -np 2"
  else
    fail "hub under mpirun: $(tail -3 t3.log)"
  fi
fi
finish
