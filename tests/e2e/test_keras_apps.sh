#!/usr/bin/env bash
# Networks that Keras' application builders produce (ResNet50, MobileNetV2,
# DenseNet121) and the classic UNet (Conv2DTranspose and UpSampling2D forms),
# written by tests/keras_apps/gen_keras_apps.py in the model.to_json() format:
#  1. the generator's JSON has Keras' documented parameter counts (counted
#     independently by tally_params.py);
#  2. `brisk summary` reports the same total and trainable counts;
#  3. at a small size (64x64, the UNets 32x32) with batch 2, training steps
#     run: the loss is finite and a step changes the weights.
# A layer class brisk lacks makes this test FAIL (never skip).
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir keras_apps)
KA="$SRC/tests/keras_apps"
"$PY" "$KA/gen_keras_apps.py" "$D" >/dev/null || { fail "gen_keras_apps.py failed"; finish; exit; }

# Reference counts (total trainable). Keras' documentation and
# model.summary() of keras.applications.X(weights=None):
#   ResNet50     25,636,712 total, 25,583,592 trainable: 53,120 non-trainable
#                = 2 x 26,560 BN channels (moving mean and variance).
#   MobileNetV2   3,538,984 total,  3,504,872 trainable: 34,112 = 2 x 17,056.
#   DenseNet121   8,062,504 total,  7,978,856 trainable: 83,648 = 2 x 41,824.
#   UNet (3 input channels, 1 sigmoid mask, no BN): all 31,031,745 trainable.
#     A 3x3 conv Cin->F has 9*Cin*F + F weights; Conv2DTranspose(F, 2) and
#     UpSampling2D + Conv2D(F, 2) both 4*Cin*F + F.
#     encoder  3->64: 1,792  64->64: 36,928  64->128: 73,856  128->128: 147,584
#              128->256: 295,168  256->256: 590,080  256->512: 1,180,160
#              512->512: 2,359,808  512->1024: 4,719,616  1024->1024: 9,438,208
#              = 18,843,200
#     decoder  per level: up Cin->F, conv 2F->F, conv F->F
#              F=512: 2,097,664 + 4,719,104 + 2,359,808 = 9,176,576
#              F=256:   524,544 + 1,179,904 +   590,080 = 2,294,528
#              F=128:   131,200 +   295,040 +   147,584 =   573,824
#              F=64:     32,832 +    73,792 +    36,928 =   143,552
#     mask     64->1 (1x1): 65
#     total 18,843,200 + 12,188,480 + 65 = 31,031,745
declare -A REF=(
  [resnet50]="25636712 25583592"
  [mobilenet_v2]="3538984 3504872"
  [densenet121]="8062504 7978856"
  [unet]="31031745 31031745"
  [unet_upsampling]="31031745 31031745"
)
NETS="resnet50 mobilenet_v2 densenet121 unet unet_upsampling"

# RGB inputs (channels_last, as Keras users keep them): 64x64 for the
# classifiers, 32x32 for the UNets; one-hot targets for the 10-class softmax
# heads, 0/1 masks for the UNets' sigmoid.
"$PY" - "$D" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(3)
np.save(f"{d}/x64.npy", rng.normal(0, 1, (2, 64, 64, 3)).astype(np.float32))
np.save(f"{d}/x32.npy", rng.normal(0, 1, (2, 32, 32, 3)).astype(np.float32))
np.save(f"{d}/y_cls.npy", np.eye(10, dtype=np.float32)[[1, 7]])
np.save(f"{d}/y_mask.npy", (rng.random((2, 32, 32, 1)) > 0.5).astype(np.float32))
PY

# cfg NAME NET INPUT TARGET LOSS: two epochs of one batch (2 samples, batch 2),
# a checkpoint after each. Softmax heads train on MSE to one-hot targets:
# brisk's cross-entropies take logits or log-probabilities, not probabilities.
cfg() {
  cat > "$D/$1.json" <<JSON
{"neural_network": {"outfile": "$1_out.txt", "num_epochs": 2, "seed": 5, "layers": "$2.json",
  "checkpoints": {"save": "$1_ckpt", "interval": 1},
  "data": {"type": "numpy", "input_path": "$3", "target_path": "$4", "batch_size": 2},
  "optimizer": {"type": "Adam", "learning_rate": 0.001},
  "loss": {"function": "$5"}}}
JSON
}

for n in $NETS; do
  ref=${REF[$n]}
  # 1. the generator reproduces Keras' counts
  got=$("$PY" "$KA/tally_params.py" "$D/$n.json" 2>&1)
  [ "$got" = "$ref" ] && ok "$n: JSON has Keras' counts ($ref)" || fail "$n: JSON counts '$got', Keras has '$ref'"

  # 2. brisk summary agrees
  case $n in unet*) x=x32.npy t=y_mask.npy l=BCE ;; *) x=x64.npy t=y_cls.npy l=MSE ;; esac
  cfg "sum_$n" "$n" "$x" "$t" "$l"
  out=$("$BIN" summary --config="$D/sum_$n.json" 2>&1)
  total=$(sed -n 's/^Total params: //p' <<<"$out")
  train=$(sed -n 's/^Trainable params: //p' <<<"$out")
  [ "$total $train" = "$ref" ] && ok "$n: brisk summary counts $total total, $train trainable" \
    || fail "$n: brisk summary says total '$total' trainable '$train', Keras '$ref': $(tail -3 <<<"$out")"

  # 3. training steps at the small size
  cfg "train_$n" "${n}_small" "$x" "$t" "$l"
  if "$BIN" --config="$D/train_$n.json" --no-progress > "$D/train_$n.log" 2>&1; then
    ok "$n: trains ($x)"
  else
    fail "$n: training failed: $(tail -3 "$D/train_$n.log")"
    continue
  fi
  "$PY" - "$D" "$n" <<'PY' && ok "$n: finite loss, a step changes the weights" || fail "$n: loss or weight check failed"
import json, struct, sys, numpy as np
d, n = sys.argv[1], sys.argv[2]
rows = [l.split("\t") for l in open(f"{d}/train_{n}_out_train.txt").read().split("\n") if l]
head = rows[0]
loss = [float(r[head.index("loss")]) for r in rows[1:]]
gn = [float(r[head.index("grad_norm")]) for r in rows[1:]]
print(n, "loss", loss, "grad norm", gn)
assert len(loss) == 2 and np.all(np.isfinite(loss)) and np.all(np.isfinite(gn)) and min(gn) > 0
def load(p):
    b = open(p, "rb").read(); k = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + k])
    return {key: np.frombuffer(b[8 + k + v["data_offsets"][0]:8 + k + v["data_offsets"][1]], np.float32)
            for key, v in h.items() if key != "__metadata__"}
a = load(f"{d}/train_{n}_ckpt/model_epoch_1.safetensors")
b = load(f"{d}/train_{n}_ckpt/model_epoch_2.safetensors")
assert a.keys() == b.keys() and len(a) > 0
for key in a:
    assert np.all(np.isfinite(b[key])), key + " is not finite"
# Adam moves every weight whose gradient is not exactly zero by about the
# learning rate: most trainable tensors (not the running statistics, which
# move without any update) must move
weights = [k for k in a if not k.endswith((".running_mean", ".running_var"))]
moved = [k for k in weights if np.max(np.abs(a[k] - b[k])) > 1e-5]
print(n, len(moved), "of", len(weights), "trainable tensors changed")
assert len(moved) >= len(weights) // 2
PY
done
finish
