#!/usr/bin/env bash
# Inference to HDF5, transfer learning (load by name, frozen layers),
# HDF5 training data read lazily, and `brisk summary`'s counts.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir infer)
make_quadrants "$D" 512
small_net "$D"
cd "$D"
cat > train.json <<'JSON'
{"neural_network": {"outfile": "out.txt", "num_epochs": 3, "seed": 5, "layers": "net.json",
  "checkpoints": {"save": "ckpt", "interval": 1},
  "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 32, "test_split": 0.25},
  "optimizer": {"type": "SGD", "learning_rate": 0.05, "momentum": 0.9,
                "lr_scheduler": {"type": "Step", "step_size": 2, "gamma": 0.5}},
  "loss": {"function": "NLL"}}}
JSON
"$BIN" --config=train.json --no-progress > train.log 2>&1 && ok "training" || fail "training: $(tail -3 train.log)"
grep -q "Eval Epoch \[  3/  3\]" train.log && ok "evaluates every epoch" || fail "no eval lines: $(tail -3 train.log)"
head -1 out_train.txt | grep -q "epoch.loss.accuracy" && ok "train log table header" || fail "train log header: $(head -1 out_train.txt)"
head -1 out_test.txt | grep -q "epoch.loss.accuracy" && ok "test log table header" || fail "test log header: $(head -1 out_test.txt)"
[ -s ckpt/config.json ] && ok "resolved config saved" || fail "no ckpt/config.json"
awk 'NR==4 {exit !($7 == 0.025)}' out_train.txt && ok "Step schedule halves the rate at epoch 3" || fail "lr column: $(cat out_train.txt)"

cat > infer.json <<'JSON'
{"neural_network": {"layers": "net.json", "checkpoints": {"load": "ckpt/model_final.safetensors"},
  "data": {"type": "numpy", "test_input_path": "x.npy", "test_target_path": "y.npy", "test_output_path": "pred.h5", "test_batch_size": 100},
  "loss": {"function": "NLL"}}}
JSON
"$BIN" --config=infer.json --no-progress > infer.log 2>&1 && ok "inference" || fail "inference: $(tail -3 infer.log)"
grep -q "Accuracy" infer.log && ok "inference reports accuracy" || fail "no accuracy: $(cat infer.log)"
"$PY" - <<'PY' && ok "predictions in HDF5: [512, 4] log-probabilities, accurate" || fail "predictions file wrong"
import h5py, numpy as np
with h5py.File("pred.h5") as f:
    p = f["output"][:]
y = np.load("y.npy")
assert p.shape == (512, 4), p.shape
assert np.allclose(np.exp(p).sum(1), 1, atol=1e-4)
acc = (p.argmax(1) == y).mean(); print("accuracy", acc)
assert acc > 0.9, acc
PY

# transfer: a new head (different name and size) and a frozen first conv
sed 's/"name": "fc2", "units": 4/"name": "head", "units": 4/; s/"name": "conv1", /"name": "conv1", "trainable": false, /' net.json > net2.json
sed 's/"net.json"/"net2.json"/; s/"save": "ckpt", "interval": 1/"save": "ckpt2", "load": "ckpt\/model_final.safetensors"/; s/"num_epochs": 3/"num_epochs": 1/' train.json > transfer.json
"$BIN" --config=transfer.json --no-progress > transfer.log 2>&1 && ok "transfer training" || fail "transfer: $(tail -3 transfer.log)"
grep -q 'warning: .*"head"' transfer.log && ok "unmatched layer named in a warning" || fail "no warning: $(cat transfer.log)"
"$PY" - <<'PY' && ok "frozen conv1 unchanged, fc1 trained" || fail "freezing"
import json, struct, numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n])
    return {k: np.frombuffer(b[8+n+v["data_offsets"][0]:8+n+v["data_offsets"][1]], np.float32) for k, v in h.items() if k != "__metadata__"}
a, b = load("ckpt/model_final.safetensors"), load("ckpt2/model_final.safetensors")
assert np.array_equal(a["conv1.weight"], b["conv1.weight"]) and np.array_equal(a["conv1.bias"], b["conv1.bias"])
assert not np.array_equal(a["fc1.weight"], b["fc1.weight"])
PY

# HDF5 data, read lazily
"$PY" -c "
import h5py, numpy as np
with h5py.File('data.h5', 'w') as f:
    f['images'] = np.load('x.npy'); f['labels'] = np.load('y.npy')"
sed 's/"type": "numpy", "input_path": "x.npy", "target_path": "y.npy"/"type": "hdf5", "input_path": "data.h5", "input_key": "images", "target_key": "labels", "preload": false/; s/"save": "ckpt"/"save": "ckpt_h5"/' train.json > h5.json
"$BIN" --config=h5.json --no-progress > h5.log 2>&1 && ok "training from HDF5" || fail "hdf5: $(tail -3 h5.log)"
grep -Eq "Eval Epoch \[  3/  3\] : .*Accuracy: (0\.9|1\.0)" h5.log && ok "hdf5 run learns" || fail "hdf5 accuracy: $(tail -2 h5.log)"

# summary counts as Keras does: BN moving statistics are non-trainable
"$BIN" summary --config=train.json > summary.txt 2>&1
grep -q "Total params: 9492" summary.txt && grep -q "Trainable params: 9476" summary.txt && grep -q "Non-trainable params: 16" summary.txt \
  && ok "summary counts" || fail "summary: $(cat summary.txt)"
"$BIN" summary --config=transfer.json > summary2.txt 2>&1
grep -q "Trainable params: 9396" summary2.txt && ok "summary counts a frozen layer as non-trainable" || fail "summary2: $(cat summary2.txt)"
finish
