#!/usr/bin/env bash
# Segmentation end to end, and the state of Adagrad, LAMB and LARS across
# --resume. Data: HDF5 images [N,12,12,1] with per-pixel class ids
# [N,12,12] (training) and [N,12,12,1] (test) for 3 classes; a fully
# convolutional Keras net ending in log_softmax over channels.
#  1. For each optimizer (with NLL + class weights, Focal, Dice): 4 epochs
#     in one run equal 2 epochs, then --resume to 4 (final weights within
#     1e-6); resuming from a state whose optimizer tensors were zeroed
#     gives different weights (the state is really used).
#  2. Dice and mIoU are reported on the console and in both log tables.
#  3. Ctrl-C mid-epoch and --resume: the interrupted epoch's Dice/mIoU
#     (summed over the batches before and after the interruption) equal
#     the uninterrupted run's.
. "$(dirname "$0")/lib.sh"
# one thread: these tiny nets gain nothing from two, and on a busy machine
# every parallel region waits for a descheduled thread (10x slower)
export OMP_NUM_THREADS=1
D=$(fresh_dir resume_optim)
"$PY" - "$D" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
def make(n, seed, path, hw1):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, (n, 12, 12, 1)).astype(np.float32)
    y = np.zeros((n, 12, 12), np.int64)
    for i in range(n):
        r, c = rng.integers(1, 7, 2)
        y[i, r:r + 5, c:c + 5] = 1 + (i % 2)   # a square of class 1 or 2
        x[i, r:r + 5, c:c + 5, 0] += 1.0 if i % 2 == 0 else -1.0
    with h5py.File(path, "w") as f:
        f["input"] = x
        f["target"] = y[..., None] if hw1 else y
make(128, 1, f"{d}/train.h5", False)
make(32, 2, f"{d}/test.h5", True)
make(1200, 3, f"{d}/big.h5", False)
PY
cat > "$D/net.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "seg", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 12, 12, 1], "name": "in"}},
 {"class_name": "Conv2D", "config": {"name": "c1", "filters": 6, "kernel_size": 3, "padding": "same", "activation": "relu"}},
 {"class_name": "Conv2D", "config": {"name": "c2", "filters": 6, "kernel_size": 3, "padding": "same", "activation": "relu"}},
 {"class_name": "Conv2D", "config": {"name": "out", "filters": 3, "kernel_size": 1}},
 {"class_name": "Activation", "config": {"name": "lsm", "activation": "log_softmax"}}]}}
JSON
# write_cfg NAME EPOCHS SAVE OPTIMIZER LOSS [TRAIN_FILE]
write_cfg() {
  cat > "$D/$1.json" <<JSON
{"neural_network": {"outfile": "$1_out.txt", "num_epochs": $2, "seed": 5, "layers": "net.json",
  "metrics": ["dice", "mIoU"], "checkpoints": {"save": "$3", "interval": 1},
  "data": {"type": "hdf5", "input_path": "${6:-train.h5}", "test_input_path": "test.h5", "batch_size": 16},
  "optimizer": $4, "loss": $5}}
JSON
}
# same_weights A B: exit 0 when every tensor is within 1e-6
same_weights() {
  "$PY" - "$1" "$2" <<'PY'
import json, struct, sys, numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n])
    return {k: np.frombuffer(b[8+n+v["data_offsets"][0]:8+n+v["data_offsets"][1]], np.float32)
            for k, v in h.items() if k != "__metadata__"}
a, b = load(sys.argv[1]), load(sys.argv[2])
worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
print(f"max abs difference {worst:.3g}")
sys.exit(0 if worst <= 1e-6 else 1)
PY
}
run() { "$BIN" --config="$D/$1.json" --no-progress "${@:2}" >> "$D/$1.log" 2>&1; }

OPTS=(
  'adagrad|{"type": "Adagrad", "learning_rate": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1}|{"function": "NLL", "weight": [0.2, 1.0, 1.0]}'
  'lamb|{"type": "LAMB", "learning_rate": 0.01, "weight_decay": 0.01}|{"function": "Focal", "source": "log_softmax", "gamma": 2}'
  'lars|{"type": "LARS", "learning_rate": 2.0, "momentum": 0.9, "weight_decay": 1e-4, "eta": 0.01}|{"function": "Dice", "source": "log_softmax"}'
)
for spec in "${OPTS[@]}"; do
  IFS='|' read -r name opt loss <<<"$spec"
  write_cfg "${name}_full" 4 "${name}_full_ckpt" "$opt" "$loss"
  write_cfg "${name}_half" 2 "${name}_ckpt" "$opt" "$loss"
  write_cfg "${name}_rest" 4 "${name}_ckpt" "$opt" "$loss"
  write_cfg "${name}_zeroed" 4 "${name}_zeroed_ckpt" "$opt" "$loss"
  run "${name}_full" || { fail "$name: uninterrupted run: $(tail -3 "$D/${name}_full.log")"; continue; }
  run "${name}_half" || { fail "$name: 2-epoch run: $(tail -3 "$D/${name}_half.log")"; continue; }
  rm -rf "$D/${name}_zeroed_ckpt" && cp -r "$D/${name}_ckpt" "$D/${name}_zeroed_ckpt"
  run "${name}_rest" --resume "$D/${name}_ckpt" || { fail "$name: resume: $(tail -3 "$D/${name}_rest.log")"; continue; }
  grep -q "Resuming from" "$D/${name}_rest.log" || fail "$name: the resumed run did not say it resumed"
  same_weights "$D/${name}_full_ckpt/model_final.safetensors" "$D/${name}_ckpt/model_final.safetensors" \
    && ok "$name: 2 epochs + --resume to 4 equals 4 epochs" || fail "$name: resumed weights differ"
  # negative control: the same resume with the optimizer's state zeroed must differ
  "$PY" - "$D/${name}_zeroed_ckpt/train_state.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); names = [k for k in h if k.startswith("optimizer.")]
assert names, "no optimizer state saved"
for k in names:
    s, e = h[k]["data_offsets"]; b[8 + n + s:8 + n + e] = bytes(e - s)
open(p, "wb").write(b)
PY
  run "${name}_zeroed" --resume "$D/${name}_zeroed_ckpt" || { fail "$name: zeroed resume: $(tail -3 "$D/${name}_zeroed.log")"; continue; }
  same_weights "$D/${name}_full_ckpt/model_final.safetensors" "$D/${name}_zeroed_ckpt/model_final.safetensors" >/dev/null \
    && fail "$name: a zeroed optimizer state gives the same weights: the state is not used" \
    || ok "$name: zeroing the saved optimizer state changes the result"
done

# 2. the metrics are reported
grep -q "Eval Epoch \[  4/  4\].*Accuracy: .*| Dice: 0\.[0-9]* | mIoU: 0\.[0-9]*" "$D/adagrad_full.log" \
  && ok "console shows accuracy, Dice and mIoU" || fail "console lacks Dice/mIoU: $(grep Eval "$D/adagrad_full.log" | tail -1)"
head -1 "$D/lars_full_out_test.txt" | grep -q "accuracy.dice.miou" && head -1 "$D/lars_full_out_train.txt" | grep -q "dice.miou" \
  && ok "log tables have dice and miou columns" || fail "log table header: $(head -1 "$D/lars_full_out_test.txt")"
"$PY" - "$D/adagrad_full_out_test.txt" <<'PY' && ok "segmentation learns (test mIoU rises above 0.5)" || fail "no learning"
import sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n")[1:] if l]
miou = [float(r[4]) for r in rows]
print("test mIoU by epoch", miou)
sys.exit(0 if miou[-1] > 0.5 and miou[-1] > miou[0] else 1)
PY

# 3. Ctrl-C mid-epoch keeps the epoch's segmentation counts
# four epochs, and the signal as soon as the first is saved: the run must
# still be going when it arrives, however fast the machine
write_cfg big_full 4 big_full_ckpt '{"type": "LAMB", "learning_rate": 0.01}' '{"function": "NLL"}' big.h5
write_cfg big_stop 4 big_stop_ckpt '{"type": "LAMB", "learning_rate": 0.01}' '{"function": "NLL"}' big.h5
run big_full || fail "big run: $(tail -3 "$D/big_full.log")"
wait_for() { for _ in $(seq 1 2400); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
"$BIN" --config="$D/big_stop.json" --no-progress > "$D/big_stop.log" 2>&1 &
pid=$!
wait_for "$D/big_stop_ckpt/model_epoch_1.safetensors" || fail "no epoch-1 checkpoint appeared"
kill -INT $pid; wait $pid; rc=$?
if [ "$rc" -eq 130 ]; then
  run big_stop --resume "$D/big_stop_ckpt" || fail "resume after Ctrl-C: $(tail -3 "$D/big_stop.log")"
  "$PY" - "$D/big_full_out_train.txt" "$D/big_stop_out_train.txt" <<'PY' \
    && ok "Ctrl-C + resume: every epoch's Dice/mIoU equal the uninterrupted run's" || fail "Dice/mIoU differ after Ctrl-C + resume"
import sys
a, b = ([l.split("\t") for l in open(p).read().split("\n")[1:] if l] for p in sys.argv[1:])
cols = open(sys.argv[1]).readline().split("\t")
i, j = cols.index("dice"), cols.index("miou")
print([(r[i], r[j]) for r in a], [(r[i], r[j]) for r in b])
sys.exit(0 if len(a) == len(b) == 4 and all(abs(float(x[i]) - float(y[i])) < 1e-5 and abs(float(x[j]) - float(y[j])) < 1e-5
                                           for x, y in zip(a, b)) else 1)
PY
else
  fail "Ctrl-C exit status $rc (the run may have finished first): $(tail -2 "$D/big_stop.log")"
fi
finish
