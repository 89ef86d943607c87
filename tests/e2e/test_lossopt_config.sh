#!/usr/bin/env bash
# The loss, optimizer and metrics sections of the new losses/optimizers:
# names are case-insensitive, misspellings get "did you mean", settings
# that do not apply to the chosen loss/optimizer or out of range values are
# placed errors (exit status 1), and well-formed ones train.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir lossopt_config)
make_quadrants "$D" 64
small_net "$D"
cd "$D"
# cfg NAME LOSS OPTIMIZER [EXTRA]
cfg() {
  cat > "$1.json" <<JSON
{"neural_network": {"num_epochs": 1, "layers": "net.json", ${4:-}
  "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 16},
  "optimizer": $3, "loss": $2}}
JSON
}
ADAM='{"type": "Adam", "learning_rate": 0.001}'
NLL='{"function": "NLL"}'

cfg loss_typo '{"function": "Dicee"}' "$ADAM"
expect_error "misspelt loss" loss_typo.json "neural_network.loss.function" 'did you mean "Dice"'
cfg focal_typo '{"function": "Focall"}' "$ADAM"
expect_error "misspelt Focal" focal_typo.json 'did you mean "Focal"'
cfg key_typo '{"function": "Focal", "gama": 2}' "$ADAM"
expect_error "misspelt loss key" key_typo.json "neural_network.loss.gama" 'did you mean "gamma"'
cfg gamma_on_dice '{"function": "Dice", "gamma": 2}' "$ADAM"
expect_error "gamma on Dice" gamma_on_dice.json "neural_network.loss.gamma" 'no effect on loss "Dice"' "Focal"
cfg weight_on_dice '{"function": "dice", "weight": [1, 2, 3, 4]}' "$ADAM"
expect_error "weight on Dice" weight_on_dice.json "neural_network.loss.weight" "no effect"
cfg beta_on_huber '{"function": "Huber", "beta": 0.5}' "$ADAM"
expect_error "beta on Huber" beta_on_huber.json "neural_network.loss.beta" 'Huber has "delta"'
cfg bad_delta '{"function": "Huber", "delta": 0}' "$ADAM"
expect_error "Huber delta 0" bad_delta.json "neural_network.loss.delta" "positive"
cfg bad_source '{"function": "Dice", "source": "softmaxx"}' "$ADAM"
expect_error "misspelt source" bad_source.json "neural_network.loss.source" 'did you mean "softmax"'
cfg huber_classes '{"function": "Huber"}' "$ADAM"
expect_error "Huber on class labels" huber_classes.json "y.npy" "needs 4 value(s) per sample"
cfg alpha_multi '{"function": "Focal", "source": "log_softmax", "alpha": 0.5}' "$ADAM"
expect_error "alpha on a 4-class Focal" alpha_multi.json "neural_network.loss.alpha" "per-class"
cfg opt_typo "$NLL" '{"type": "LAMBB"}'
expect_error "misspelt optimizer" opt_typo.json "neural_network.optimizer.type" 'did you mean "LAMB"'
cfg opt_key_typo "$NLL" '{"type": "Adagrad", "lr_decayy": 0.1}'
expect_error "misspelt optimizer key" opt_key_typo.json "neural_network.optimizer.lr_decayy" 'did you mean "lr_decay"'
cfg eta_twice "$NLL" '{"type": "LARS", "eta": 0.01, "trust_coefficient": 0.01}'
expect_error "eta and trust_coefficient" eta_twice.json "neural_network.optimizer.trust_coefficient" "keep one"
cfg eta_zero "$NLL" '{"type": "LARS", "eta": 0}'
expect_error "LARS eta 0" eta_zero.json "neural_network.optimizer.eta" "positive"
cfg lamb_amsgrad "$NLL" '{"type": "LAMB", "amsgrad": true}'
expect_error "LAMB amsgrad" lamb_amsgrad.json "neural_network.optimizer.amsgrad"
cfg metric_typo "$NLL" "$ADAM" '"metrics": ["accuracy", "dicee"],'
expect_error "misspelt metric" metric_typo.json "neural_network.metrics[1]" 'did you mean "dice"'
cfg metric_mse '{"function": "MSE"}' "$ADAM" '"metrics": "miou",'
expect_error "mIoU on a regression output" metric_mse.json "neural_network.metrics" "class-index targets"

# well-formed configs run (names in any case)
for spec in 'adagrad|{"function": "focal", "source": "LOG_SOFTMAX", "weight": [1, 1, 2, 1]}|{"type": "ADAGRAD", "learning_rate": 0.05}' \
            'lamb|{"function": "jaccard", "source": "log_softmax"}|{"type": "lamb", "learning_rate": 0.01}' \
            'lars|{"function": "nll"}|{"type": "Lars", "learning_rate": 0.5, "momentum": 0.9, "trust_coefficient": 0.02}'; do
  IFS='|' read -r name loss opt <<<"$spec"
  cfg "ok_$name" "$loss" "$opt" '"metrics": ["Accuracy", "DICE", "mean_iou"],'
  if out=$("$BIN" --config="ok_$name.json" --no-progress 2>&1) && grep -q "Dice: .*mIoU: " <<<"$out"; then
    ok "$name trains and reports Dice/mIoU"
  else
    fail "$name: $out"
  fi
done
finish
