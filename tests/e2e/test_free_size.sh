#!/usr/bin/env bash
# Networks with free input sizes (batch_input_shape [null, null, null, 3]),
# as segmentation_models exports them, and one model run at several sizes:
#  1. Unet and FPN on VGG16 and ResNet18 backbones (gen_keras_apps.py) have
#     Keras' parameter counts, by tally_params.py and by `brisk summary` of
#     the bare network file (shapes None) and of a config with only layers;
#  2. each trains at 32x32 with its test set at 96x64 (evaluated through a
#     variant of the model: same weights, another size), and trains at 96x64;
#  3. the variant shares the weights: its evaluation after each epoch equals
#     an evaluation-only run of a model built fresh at the test size from
#     that epoch's checkpoint (and the two epochs differ);
#  4. a net whose Dense follows Flatten refuses a test set of another size,
#     naming the layer and both sizes; its summary without sizes says it
#     needs one; a declared size other than the data's gives a note.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir free_size)
KA="$SRC/tests/keras_apps"
cd "$D" || exit 1
"$PY" "$KA/gen_keras_apps.py" "$D" >/dev/null || { fail "gen_keras_apps.py failed"; finish; exit; }

# Keras' counts (total trainable): model.summary() of segmentation_models 1.0
# Unet / FPN (backbone, classes=3, encoder_weights=None), as in the network
# files the reference CLI publishes for them (exported by Keras 2.8).
declare -A REF=(
  [sm_unet_vgg16]="23752563 23748531"
  [sm_unet_resnet18]="14340860 14330934"
  [sm_fpn_vgg16]="17574851 17572547"
  [sm_fpn_resnet18]="13817676 13807430"
)
NETS="sm_unet_vgg16 sm_unet_resnet18 sm_fpn_vgg16 sm_fpn_resnet18"

# Inputs: 32x32 channels_last and 96x64 channel-first, 2 samples each;
# sigmoid heads get 0/1 masks (BCE), softmax heads class-index masks (Dice).
"$PY" - "$D" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(11)
for tag, h, w in (("s", 32, 32), ("l", 96, 64)):
    x = rng.normal(0, 1, (2, h, w, 3)).astype(np.float32)
    np.save(f"{d}/x_{tag}.npy", x if tag == "s" else np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    np.save(f"{d}/m_{tag}.npy", (rng.random((2, h, w, 3)) > 0.5).astype(np.float32))
    np.save(f"{d}/c_{tag}.npy", rng.integers(0, 3, (2, h, w)).astype(np.int64))
PY

# cfg NAME NET LOSS X Y [TEST_X TEST_Y [EPOCHS [SAVE]]]
cfg() {
  local test="" save=""
  [ -n "${6:-}" ] && test=", \"test_input_path\": \"$6\", \"test_target_path\": \"$7\", \"test_batch_size\": 2"
  [ -n "${9:-}" ] && save="\"checkpoints\": {\"save\": \"$9\", \"interval\": 1},"
  cat > "$D/$1.json" <<JSON
{"neural_network": {"outfile": "$1_out.txt", "num_epochs": ${8:-1}, "seed": 3, "layers": "$2.json", $save
  "data": {"type": "numpy", "input_path": "$4", "target_path": "$5", "batch_size": 2$test},
  "optimizer": {"type": "Adam", "learning_rate": 0.001},
  "loss": $3}}
JSON
}

# finite_rows LOG_TXT N: the table has N rows with a finite loss
finite_rows() {
  "$PY" - "$1" "$2" <<'PY'
import sys, numpy as np
t = np.genfromtxt(sys.argv[1], names=True, delimiter="\t", ndmin=1)
sys.exit(0 if len(t) == int(sys.argv[2]) and np.all(np.isfinite(t["loss"])) else 1)
PY
}

for n in $NETS; do
  ref=${REF[$n]}
  got=$("$PY" "$KA/tally_params.py" "$D/$n.json" 2>&1)
  [ "$got" = "$ref" ] && ok "$n: JSON has Keras' counts ($ref)" || fail "$n: tally '$got', Keras '$ref'"
  out=$("$BIN" summary "$D/$n.json" 2>&1)
  sum="$(sed -n 's/^Total params: //p' <<<"$out") $(sed -n 's/^Trainable params: //p' <<<"$out")"
  layers=$(grep -c '^ .*(None, None, None, [0-9]*) ' <<<"$out")
  rows=$(grep -v 'Layer (type)' <<<"$out" | grep -c '^ .*([^)]*) ')
  [ "$sum" = "$ref" ] && [ "$layers" -gt 60 ] && [ "$layers" = "$rows" ] \
    && ok "$n: brisk summary NETWORK.json: $sum, all $layers layers (None, None, None, C)" \
    || fail "$n: brisk summary says '$sum' with $layers of $rows rows free: $(tail -3 <<<"$out")"
  echo "{\"neural_network\": {\"layers\": \"$n.json\"}}" > "$D/only_$n.json"
  out=$("$BIN" summary --config="$D/only_$n.json" 2>&1)
  [ "$(sed -n 's/^Total params: //p' <<<"$out")" = "${ref% *}" ] && ok "$n: summary of a config with only layers" \
    || fail "$n: summary --config (only layers): $(tail -3 <<<"$out")"

  case $n in *unet*) loss='{"function": "BCE"}' y=m ;; *) loss='{"function": "Dice", "source": "softmax"}' y=c ;; esac
  cfg "a_$n" "$n" "$loss" x_s.npy "${y}_s.npy" x_l.npy "${y}_l.npy"
  if "$BIN" --config="$D/a_$n.json" --no-progress > "$D/a_$n.log" 2>&1 && finite_rows "$D/a_${n}_out_train.txt" 1 \
     && finite_rows "$D/a_${n}_out_test.txt" 1 && grep -q "^note: the test data are 96x64x3, the training data 32x32x3" "$D/a_$n.log"; then
    ok "$n: trains at 32x32, evaluates at 96x64 (a variant)"
  else
    fail "$n: 32x32 training with a 96x64 test set: $(tail -3 "$D/a_$n.log")"
  fi
  cfg "b_$n" "$n" "$loss" x_l.npy "${y}_l.npy"
  "$BIN" --config="$D/b_$n.json" --no-progress > "$D/b_$n.log" 2>&1 && finite_rows "$D/b_${n}_out_train.txt" 1 \
    && ok "$n: trains at 96x64" || fail "$n: 96x64 training: $(tail -3 "$D/b_$n.log")"
done

# 3. shared weights: two epochs at 32x32 evaluated at 96x64 through the
# variant, against evaluation-only runs (a model built at 96x64) of each
# epoch's checkpoint. MSE on the masks, so the test table has mse and mae.
n=sm_unet_resnet18
cfg share "$n" '{"function": "MSE"}' x_s.npy m_s.npy x_l.npy m_l.npy 2 share_ckpt
sed -i 's/"learning_rate": 0.001/"learning_rate": 0.01/' share.json
if "$BIN" --config=share.json --no-progress > share.log 2>&1; then
  for e in 1 2; do
    cat > "eval_$e.json" <<JSON
{"neural_network": {"layers": "$n.json", "checkpoints": {"load": "share_ckpt/model_epoch_$e.safetensors"},
  "data": {"type": "numpy", "test_input_path": "x_l.npy", "test_target_path": "m_l.npy", "test_batch_size": 2},
  "loss": {"function": "MSE"}}}
JSON
    "$BIN" --config="eval_$e.json" --no-progress > "eval_$e.log" 2>&1 || fail "evaluation of epoch $e: $(tail -2 "eval_$e.log")"
  done
  "$PY" - <<'PY' && ok "the variant's evaluations equal fresh 96x64 models from each epoch's weights" \
    || fail "variant evaluation differs from a fresh model's (stale or copied weights?)"
import re, numpy as np
t = np.genfromtxt("share_out_test.txt", names=True, delimiter="\t", ndmin=1)
fresh = []
for e in (1, 2):
    line = [l for l in open(f"eval_{e}.log") if l.startswith("Eval")][0]
    fresh.append([float(re.search(k + r": ([0-9.eE+-]+)", line).group(1)) for k in ("MSE", "MAE")])
fresh = np.array(fresh)
var = np.stack([t["mse"], t["mae"]], 1)
print("variant (mse, mae) per epoch:", var.tolist(), "fresh models:", fresh.tolist())
assert var.shape == (2, 2)
assert np.allclose(var, fresh, rtol=2e-5, atol=0), "the variant's evaluation differs"
assert np.all(np.abs(var[0] - var[1]) > 1e-4 * np.abs(var[0])), "the two epochs evaluate the same: weights did not move"
PY
else
  fail "shared-weights run failed: $(tail -3 share.log)"
fi

# 4. Dense after Flatten: the test set must have the training size
small_net "$D"
"$PY" -c "
import numpy as np
r = np.random.default_rng(2)
np.save('q12.npy', r.normal(size=(4, 12, 12, 1)).astype(np.float32)); np.save('q10.npy', r.normal(size=(4, 10, 10, 1)).astype(np.float32))
np.save('qy.npy', np.arange(4) % 4)"
cfg flat_test net '{"function": "NLL"}' q12.npy qy.npy q10.npy qy.npy
expect_error "Dense after Flatten refuses another test size" flat_test.json 'layer "fc1" (Dense)' "10x10x1" "12x12x1" \
  "the test data are 10x10x1, the training data 12x12x1"
sed 's/\[null, 12, 12, 1\]/[null, null, null, 1]/' net.json > net_free.json
out=$("$BIN" summary net_free.json 2>&1)
grep -q '^Total params: unknown without an input size: layer "fc1" (Dense)' <<<"$out" \
  && grep -q '^ fc1 (Dense) .* ?$' <<<"$out" && ok "summary of a free-size Flatten net asks for a size" \
  || fail "free-size Flatten summary: $out"

# a declared fixed size the data do not have: built for the data, one note
"$PY" -c "import numpy as np; r = np.random.default_rng(4); np.save('u64.npy', r.normal(size=(2, 64, 64, 3)).astype(np.float32)); np.save('um64.npy', (r.random((2, 64, 64, 1)) > 0.5).astype(np.float32))"
cfg declared unet_small '{"function": "BCE"}' u64.npy um64.npy
out=$("$BIN" --config=declared.json --no-progress 2>&1)
[ "$(grep -c '^note: ' <<<"$out")" = 1 ] \
  && grep -q '^note: the training data are 64x64x3 where the network declares 32x32x3 (input "input_1"): the model is built for the data.s size' <<<"$out" \
  && ! grep -q "weights of another shape" <<<"$out" && finite_rows declared_out_train.txt 1 \
  && ok "a 32x32-declared UNet trains at 64x64 with one note" || fail "declared-size note: $out"
finish
