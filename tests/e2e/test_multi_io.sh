#!/usr/bin/env bash
# Models with several inputs and outputs from a run config (docs/multi-io.md):
# train a 2-input / 2-output Functional model on hdf5 data (loss falls, per-
# output columns in the logs), evaluate, run inference (one dataset per
# output), the npz and .npy-list variants, resume after Ctrl-C gives the same
# weights and logs, and each bad input gives its placed error.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir multi_io)

"$PY" - "$D" <<'PY'
import json, sys, numpy as np, h5py
d = sys.argv[1]
def make(n, seed):
    rng = np.random.default_rng(seed)
    img = rng.normal(0, 0.2, (n, 8, 8, 1)).astype(np.float32)
    pos = rng.integers(0, 7, (n, 2))
    for i, (r, c) in enumerate(pos):
        img[i, r:r + 2, c:c + 2, 0] += 1.5
    meta = rng.normal(0, 1, (n, 5)).astype(np.float32)
    label = np.argmax(meta[:, :3], 1).astype(np.int64)       # the class: from the metadata
    box = (pos / 6.0).astype(np.float32)                      # the box: from the image
    return img, meta, label, box
for name, n, seed in (("train", 2000, 1), ("test", 300, 2)):
    img, meta, label, box = make(n, seed)
    with h5py.File(f"{d}/{name}.h5", "w") as f:
        f["image"], f["metadata"], f["label"], f["box"] = img, meta, label, box
    np.savez(f"{d}/{name}.npz", image=img, metadata=meta, label=label, box=box)
    onehot = np.eye(3, dtype=np.float32)[label]
    for k, v in (("image", img), ("metadata", meta), ("label", label), ("box", box), ("onehot", onehot)):
        np.save(f"{d}/{name}_{k}.npy", v)
with h5py.File(f"{d}/short.h5", "w") as f:      # metadata one row short
    img, meta, label, box = make(100, 3)
    f["image"], f["metadata"], f["label"], f["box"] = img, meta[:99], label, box
def layer(cls, name, inbound, **cfg):
    return {"class_name": cls, "name": name, "config": {"name": name, **cfg},
            "inbound_nodes": [[[s, 0, 0, {}] for s in inbound]] if inbound else []}
net = {"class_name": "Functional", "config": {"name": "two_heads", "layers": [
    layer("InputLayer", "img", [], batch_input_shape=[None, 8, 8, 1]),
    layer("InputLayer", "meta", [], batch_input_shape=[None, 5]),
    layer("Conv2D", "conv", ["img"], filters=8, kernel_size=3, padding="same", activation="relu"),
    layer("Flatten", "flat", ["conv"]),
    layer("Dense", "dm", ["meta"], units=16, activation="relu"),
    layer("Concatenate", "cat", ["flat", "dm"], axis=-1),
    layer("Dense", "hid", ["cat"], units=32, activation="relu"),
    layer("Dense", "cls", ["hid"], units=3, activation="log_softmax"),
    layer("Dense", "box", ["hid"], units=2)],
    "input_layers": [["img", 0, 0], ["meta", 0, 0]], "output_layers": [["cls", 0, 0], ["box", 0, 0]]}}
json.dump(net, open(f"{d}/net.json", "w"))
PY

# cfg NAME DATA [LOSS] [EXTRA]: a config from a "data" body
LOSS_OK='{"outputs": {"cls": {"function": "NLL"}, "box": {"function": "MSE"}}, "weights": {"box": 0.5}}'
cfg() {
  cat > "$D/$1.json" <<JSON
{"neural_network": {"outfile": "$1_out.txt", "num_epochs": ${EPOCHS:-8}, "seed": 3, "layers": "net.json",
  "data": {$2, "batch_size": 32},
  "loss": ${3:-$LOSS_OK},
  "optimizer": {"type": "Adam", "learning_rate": 0.003}, "metrics": ["accuracy"]${4:-}}}
JSON
  echo "$D/$1.json"
}
H5='"type": "hdf5", "input_path": "train.h5", "test_input_path": "test.h5", "input_key": {"img": "image", "meta": "metadata"}, "target_key": ["label", "box"]'

# 1. train on hdf5 (inputs mapped by layer name, targets listed in output order)
"$BIN" --config="$(cfg h5 "$H5" "" ', "checkpoints": {"save": "h5_ckpt"}')" --no-progress > "$D/h5.log" 2>&1 \
  && ok "trains 2 inputs / 2 outputs from hdf5" || fail "hdf5 training failed: $(tail -5 "$D/h5.log")"
head -1 "$D/h5_out_train.txt" | grep -q $'^epoch\tloss\tcls_loss\tcls_accuracy\tbox_loss\tbox_mse\tbox_mae\t' \
  && ok "log header names each output's columns" || fail "log header: $(head -1 "$D/h5_out_train.txt")"
grep -q "cls: Loss = .* Accuracy: .*box: Loss = .* MSE: " "$D/h5.log" \
  && ok "console reports each output" || fail "console lines: $(grep Eval "$D/h5.log" | tail -1)"
"$PY" - "$D/h5_out_train.txt" "$D/h5_out_test.txt" <<'PY' && ok "loss falls clearly, both heads learn, total = cls + 0.5 box" || fail "training did not learn"
import sys, numpy as np
tr = np.genfromtxt(sys.argv[1], names=True, delimiter="\t")
te = np.genfromtxt(sys.argv[2], names=True, delimiter="\t")
print("train loss", tr["loss"][0], "->", tr["loss"][-1], "test acc", te["cls_accuracy"][-1], "test box mse", te["box_mse"][-1])
assert tr["loss"][-1] < 0.4 * tr["loss"][0]
assert te["cls_accuracy"][-1] > 0.85 and te["box_mse"][-1] < 0.02
assert np.allclose(te["loss"], te["cls_loss"] + 0.5 * te["box_loss"], rtol=1e-4)
PY

# 2. evaluate and 3. inference from the trained weights
EV='"type": "hdf5", "test_input_path": "test.h5", "input_key": {"img": "image", "meta": "metadata"}, "target_key": ["label", "box"]'
LOAD=', "checkpoints": {"load": "h5_ckpt/model_final.safetensors"}'
out=$("$BIN" --config="$(cfg eval "$EV" "" "$LOAD")" --no-progress 2>&1) && grep -q "^Eval : Loss = .*cls: .*box: " <<<"$out" \
  && ok "evaluates both outputs" || fail "evaluation: $out"
INF='"type": "hdf5", "test_input_path": "test.h5", "test_output_path": "pred.h5", "input_key": ["image", "metadata"]'
out=$("$BIN" --config="$(cfg infer "$INF" "" "$LOAD")" --no-progress 2>&1) || fail "inference: $out"
"$PY" - "$D/pred.h5" <<'PY' && ok "inference writes one dataset per output (cls [300,3], box [300,2])" || fail "predictions file"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
print({k: f[k].shape for k in f})
assert sorted(f) == ["box", "cls"] and f["cls"].shape == (300, 3) and f["box"].shape == (300, 2)
PY

# 4. npz (targets mapped by name, out of order) and a list of .npy files
EPOCHS=2
NPZ='"type": "numpy", "input_path": "train.npz", "test_input_path": "test.npz", "input_key": ["image", "metadata"], "target_key": {"box": "box", "cls": "label"}'
"$BIN" --config="$(cfg npz "$NPZ")" --no-progress > "$D/npz.log" 2>&1 && grep -q "cls: Loss" "$D/npz.log" \
  && ok "trains from npz" || fail "npz: $(tail -5 "$D/npz.log")"
NPY='"type": "numpy", "input_path": ["train_image.npy", "train_metadata.npy"], "target_path": {"cls": "train_label.npy", "box": "train_box.npy"}, "test_split": 0.1'
"$BIN" --config="$(cfg npy "$NPY")" --no-progress > "$D/npy.log" 2>&1 && grep -q "^Eval Epoch .*box: Loss" "$D/npy.log" \
  && ok "trains from a list of .npy files (with test_split)" || fail "npy: $(tail -5 "$D/npy.log")"

# one plain loss for a multi-output model applies to every output (Keras' single-loss form), weights 1
ONE='"type": "numpy", "input_path": ["train_image.npy", "train_metadata.npy"], "target_path": ["train_onehot.npy", "train_box.npy"]'
cfg plain "$ONE" '{"function": "MSE"}' > /dev/null
sed -i 's/, "metrics": \["accuracy"\]//' "$D/plain.json"
"$BIN" --config="$D/plain.json" --no-progress > "$D/plain.log" 2>&1 || fail "plain loss: $(tail -3 "$D/plain.log")"
"$PY" - "$D/plain_out_train.txt" <<'PY' && ok "a plain loss scores every output (total = cls + box)" || fail "plain loss run"
import sys, numpy as np
t = np.genfromtxt(sys.argv[1], names=True, delimiter="\t")
print(t.dtype.names)
assert "cls_mse" in t.dtype.names and "box_mse" in t.dtype.names
assert np.allclose(t["loss"], t["cls_loss"] + t["box_loss"], rtol=1e-4)
PY

# 5. Ctrl-C mid-epoch and resume: same final weights and log rows as the uninterrupted run
EPOCHS=6
for r in full stopped; do cfg "$r" "$H5" "" ", \"checkpoints\": {\"save\": \"${r}_ckpt\"}" > /dev/null; done
"$BIN" --config="$D/full.json" --no-progress > "$D/full.log" 2>&1 || fail "uninterrupted run: $(tail -3 "$D/full.log")"
wait_for() { for _ in $(seq 1 2400); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
"$BIN" --config="$D/stopped.json" --no-progress > "$D/stopped.log" 2>&1 &
pid=$!
wait_for "$D/stopped_ckpt/model_epoch_2.safetensors" || fail "no epoch-2 checkpoint appeared"
sleep 0.05
kill -INT $pid; wait $pid; rc=$?
[ "$rc" -eq 130 ] && ok "Ctrl-C saves and exits 130" || fail "Ctrl-C exit status $rc: $(tail -3 "$D/stopped.log")"
"$BIN" --config="$D/stopped.json" --no-progress --resume "$D/stopped_ckpt" >> "$D/stopped.log" 2>&1 \
  && ok "resumes" || fail "resume: $(tail -3 "$D/stopped.log")"
"$PY" - "$D" <<'PY' && ok "resumed run: same final weights and per-output log values" || fail "resumed run differs"
import json, struct, sys, numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n])
    return {k: np.frombuffer(b[8+n+v["data_offsets"][0]:8+n+v["data_offsets"][1]], np.float32)
            for k, v in h.items() if k != "__metadata__"}
d = sys.argv[1]
a, b = load(f"{d}/full_ckpt/model_final.safetensors"), load(f"{d}/stopped_ckpt/model_final.safetensors")
bad = [k for k in a if a[k].size and float(np.max(np.abs(a[k] - b[k]))) > 1e-6]
ta = np.genfromtxt(f"{d}/full_out_train.txt", names=True, delimiter="\t")
tb = np.genfromtxt(f"{d}/stopped_out_train.txt", names=True, delimiter="\t")
cols = ["loss", "cls_loss", "cls_accuracy", "box_loss", "box_mse", "box_mae"]
rows = [c for c in cols if not np.allclose(ta[c], tb[c], rtol=1e-5, atol=0)]
print("weights differ:", bad, "log columns differ:", rows)
sys.exit(1 if bad or rows or len(tb) != 6 else 0)
PY

# 6. bad inputs: placed errors, exit 1
EPOCHS=1
expect_error "one input array for two inputs" "$(cfg e1 '"type": "hdf5", "input_path": "train.h5", "input_key": ["image"], "target_key": ["label", "box"]')" \
  "gives 1 input array(s)" "train.h5:image" "the model has 2 input(s)" '"img", "meta"'
expect_error "one target array for two outputs" "$(cfg e2 '"type": "hdf5", "input_path": "train.h5", "input_key": ["image", "metadata"], "target_key": ["label"]')" \
  "gives 1 target array(s)" "the model has 2 output(s)" '"cls", "box"'
expect_error "shape mismatch names the layer and both shapes" "$(cfg e3 '"type": "hdf5", "input_path": "train.h5", "input_key": {"img": "metadata", "meta": "image"}, "target_key": ["label", "box"]')" \
  'train.h5:metadata have shape [5]' "model's input \"img\" is [8, 8, 1]"
expect_error "unknown input layer in a mapping" "$(cfg e4 '"type": "hdf5", "input_path": "train.h5", "input_key": {"imgg": "image", "meta": "metadata"}, "target_key": ["label", "box"]')" \
  "neural_network.data.input_key.imgg" 'unknown model input "imgg"; did you mean "img"?'
expect_error "unknown output in the loss" "$(cfg e5 "$H5" '{"outputs": {"clss": {"function": "NLL"}, "box": {"function": "MSE"}}}')" \
  "neural_network.loss.outputs.clss" 'unknown model output "clss"; did you mean "cls"? (known: cls, box)'
expect_error "an output without a loss" "$(cfg e5b "$H5" '{"outputs": {"cls": {"function": "NLL"}}}')" \
  "neural_network.loss.outputs" '"box" has no loss' '"cls", "box"'
expect_error "unknown output in the loss weights" "$(cfg e6 "$H5" '{"outputs": {"cls": {"function": "NLL"}, "box": {"function": "MSE"}}, "weights": {"boxx": 2}}')" \
  "neural_network.loss.weights.boxx" 'did you mean "box"?'
expect_error "arrays with different sample counts" "$(cfg e7 '"type": "hdf5", "input_path": "short.h5", "input_key": ["image", "metadata"], "target_key": ["label", "box"]')" \
  "short.h5:image has 100 samples but " "short.h5:metadata has 99"
expect_error "unknown dataset in a list" "$(cfg e8 '"type": "hdf5", "input_path": "train.h5", "input_key": ["image", "meta"], "target_key": ["label", "box"]')" \
  'no dataset "meta"' "metadata"
finish
