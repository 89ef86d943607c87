#!/usr/bin/env bash
# The Lovasz loss in a run config: the name in any case, "did you mean" for
# a misspelling, settings of other losses refused with their place, and a
# well-formed config trains (Lovasz-Softmax on the 4-class log_softmax net).
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir lovasz_config)
make_quadrants "$D" 64
small_net "$D"
cd "$D"
cfg() {
  cat > "$1.json" <<JSON
{"neural_network": {"num_epochs": 2, "layers": "net.json", ${3:-}
  "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 16},
  "optimizer": {"type": "Adam", "learning_rate": 0.003}, "loss": $2}}
JSON
}
cfg typo '{"function": "Lovaz"}'
expect_error "misspelt Lovasz" typo.json "neural_network.loss.function" 'did you mean "Lovasz"'
cfg weight '{"function": "Lovasz", "weight": [1, 2, 3, 4]}'
expect_error "weight on Lovasz" weight.json "neural_network.loss.weight" 'no effect on loss "Lovasz"'
cfg gamma '{"function": "lovasz", "gamma": 2}'
expect_error "gamma on Lovasz" gamma.json "neural_network.loss.gamma" "Focal"
cfg ok '{"function": "LOVASZ", "source": "log_softmax"}' '"metrics": ["accuracy", "miou"],'
if out=$("$BIN" --config=ok.json --no-progress 2>&1) && grep -q "mIoU: " <<<"$out"; then
  ok "Lovasz trains and reports mIoU"
else
  fail "Lovasz run: $out"
fi
finish
