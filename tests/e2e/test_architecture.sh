#!/usr/bin/env bash
# The architecture holds (docs/ARCHITECTURE.md): includes point down the
# layers, the core library needs none of the hub's libraries (the unit
# tests link the core alone), and reading a config never touches the
# network: `brisk summary` of a config with hub: references succeeds with
# no hub running, while a run of it names the hub it could not reach.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir architecture)
BUILD=$(dirname "$BIN")
out=$("$SRC/scripts/check-layers.sh" "$BUILD" 2>&1) && ok "layering: $out" || fail "layering: $out"

small_net "$D"
cd "$D"
cat > hubref.json <<'JSON'
{"neural_network": {"num_epochs": 1, "layers": "net.json",
  "checkpoints": {"load": "hub:alice/cnn@3"},
  "data": {"type": "numpy", "input_path": "hub:alice/quads@1/x.npy", "target_path": "hub:alice/quads@1/y.npy"},
  "optimizer": {"type": "Adam"}, "loss": {"function": "NLL"}}}
JSON
# a port nothing listens on: any request would fail
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BRISK_HUB_URL=http://127.0.0.1:$port BRISK_HUB_CACHE=$D/cache
if out=$("$BIN" summary --config=hubref.json 2>&1) && grep -q "Total params" <<<"$out" && [ ! -e "$D/cache" ]; then
  ok "summary of a config with hub: references needs no hub"
else
  fail "summary with hub: references: $out"
fi
expect_error "a run resolves hub: references when it starts" hubref.json \
  "neural_network.data.input_path" "hub:alice/quads@1/x.npy" "127.0.0.1:$port"
finish
