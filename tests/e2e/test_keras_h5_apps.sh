#!/usr/bin/env bash
# Keras .h5 weights at the scale of Keras' applications (what the reference
# CLI's tutorials load: model_resnet50_imagenet.h5): MobileNetV2 and ResNet50
# (tests/keras_apps/gen_keras_apps.py, 64x64) are trained one step by brisk,
# their weights written back in Keras' layouts (transposed here, in Python,
# independently of brisk's C conversion) as Keras 2 model.save .h5 and as a
# Keras 3 .weights.h5 (layers keyed by class and count over 150+ layers:
# conv2d_34, batch_normalization_51, depthwise_conv2d_16, ...), and loaded
# back: the predictions must equal those from brisk's own checkpoint,
# bit for bit.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir keras_h5_apps)
"$PY" -c "import h5py" 2>/dev/null || { echo "skipped: h5py is needed"; exit 77; }
"$PY" "$SRC/tests/keras_apps/gen_keras_apps.py" "$D" >/dev/null || { fail "gen_keras_apps.py failed"; finish; exit; }
cd "$D"
"$PY" - <<'PY'
import numpy as np
rng = np.random.default_rng(4)
np.save("x.npy", rng.normal(0, 1, (2, 64, 64, 3)).astype(np.float32))
np.save("y.npy", np.eye(10, dtype=np.float32)[[2, 5]])
PY

for n in mobilenet_v2 resnet50; do
  cat > "train_$n.json" <<JSON
{"neural_network": {"outfile": "out_$n.txt", "num_epochs": 1, "seed": 2, "layers": "${n}_small.json",
  "checkpoints": {"save": "ckpt_$n", "interval": 1},
  "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 2},
  "optimizer": {"type": "Adam", "learning_rate": 0.001}, "loss": {"function": "MSE"}}}
JSON
  "$BIN" --config="train_$n.json" --no-progress > "train_$n.log" 2>&1 || { fail "$n: training: $(tail -3 "train_$n.log")"; continue; }
  "$PY" - "$n" <<'PY' || { fail "$n: writing the Keras files"; continue; }
import json, re, struct, sys, h5py, numpy as np
n = sys.argv[1]
b = open(f"ckpt_{n}/model_epoch_1.safetensors", "rb").read(); k = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+k])
w = {key: np.frombuffer(b[8+k+v["data_offsets"][0]:8+k+v["data_offsets"][1]], np.float32).reshape(v["shape"])
     for key, v in h.items() if key != "__metadata__"}
layers = json.load(open(f"{n}_small.json"))["config"]["layers"]
def keras(L):
    """The layer's weights in Keras' layout and order, from brisk's (PyTorch's)."""
    c, name, cls = L["config"], L["config"]["name"], L["class_name"]
    g = lambda s: w[f"{name}.{s}"]
    if cls == "Conv2D":
        out = [("kernel", g("weight").transpose(2, 3, 1, 0))]
    elif cls == "DepthwiseConv2D":
        cm, _, kh, kw = g("weight").shape; m = c.get("depth_multiplier", 1)
        out = [("depthwise_kernel", g("weight").reshape(cm // m, m, kh, kw).transpose(2, 3, 0, 1))]
    elif cls == "Dense":
        out = [("kernel", g("weight").T)]
    elif cls == "BatchNormalization":
        out = ([("gamma", g("weight"))] if c.get("scale", True) else []) + ([("beta", g("bias"))] if c.get("center", True) else []) \
              + [("moving_mean", g("running_mean")), ("moving_variance", g("running_var"))]
        return out
    else:
        return []
    return out + ([("bias", g("bias"))] if f"{name}.bias" in w else [])
def snake(s):
    s = re.sub(r"\W+", "", s); s = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", s); return re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()
names = [L["config"]["name"] for L in layers]
used = sum(len(keras(L)) for L in layers)
assert used == len(w), f"{used} Keras weights for {len(w)} brisk tensors"
with h5py.File(f"{n}.h5", "w") as f:
    f.attrs["keras_version"] = b"2.11.0"; f.attrs["backend"] = b"tensorflow"
    g = f.create_group("model_weights"); g.attrs["layer_names"] = np.array([s.encode() for s in names])
    for L in sorted(layers, key=lambda L: L["config"]["name"]):
        name = L["config"]["name"]; lg = g.create_group(name); ws = keras(L)
        lg.attrs["weight_names"] = np.array([f"{name}/{v}:0".encode() for v, _ in ws]) if ws else np.asarray([])
        for v, a in ws:
            lg.create_dataset(f"{name}/{v}:0", data=a)
count = {}
with h5py.File(f"{n}.weights.h5", "w") as f:
    f.create_group("vars")
    for L in layers:
        key = snake(L["class_name"]); i = count[key] = count.get(key, -1) + 1
        v = f.create_group(f"layers/{key}_{i}/vars" if i else f"layers/{key}/vars")
        for j, (_, a) in enumerate(keras(L)):
            v.create_dataset(str(j), data=a)
print(n, len(layers), "layers,", len(w), "tensors")
PY
  for src in "ckpt_$n/model_epoch_1.safetensors" "$n.h5" "$n.weights.h5"; do
    tag=$(basename "$src" | tr . _)
    cat > "infer_$tag.json" <<JSON
{"neural_network": {"layers": "${n}_small.json", "checkpoints": {"load": "$src"},
  "data": {"type": "numpy", "test_input_path": "x.npy", "test_output_path": "pred_$tag.h5", "test_batch_size": 2}}}
JSON
    "$BIN" --config="infer_$tag.json" --no-progress > "infer_$tag.log" 2>&1 || fail "$n: inference from $src: $(tail -3 "infer_$tag.log")"
    ! grep -q "Skipping\|warning" "infer_$tag.log" || fail "$n: $src left something out: $(grep "Skipping\|warning" "infer_$tag.log" | head -3)"
  done
  ref=pred_model_epoch_1_safetensors.h5
  for tag in "${n}_h5" "${n}_weights_h5"; do
    "$PY" - "$ref" "pred_$tag.h5" <<'PY' && ok "$n: $tag gives brisk's own predictions" || fail "$n: $tag predictions differ"
import sys, h5py, numpy as np
a, b = (h5py.File(p)["output"][:] for p in sys.argv[1:3])
print(sys.argv[2], "max abs diff", float(np.abs(a - b).max()))
sys.exit(0 if a.shape == b.shape and np.array_equal(a, b) else 1)
PY
  done
done
finish
