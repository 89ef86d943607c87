#!/usr/bin/env bash
# The seismic facies tutorial's workflow in miniature: a 3-D volume without a
# channel axis (HDF5 dataset "input") and its facies labels ("target"), a
# small 3-D UNet trained on bricks cut by slicers with overlapping strides,
# then inference over the whole test volume with overlapping slices and
# padded remainders put back together in hdf5_outfile: the facies are
# learned far above chance, in the volume as in the per-slice evaluation.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir seismic_slicers)
cd "$D"

"$PY" - <<'PY'
import json, numpy as np, h5py
def volume(shape, seed):
    rng = np.random.default_rng(seed)
    X, Y, Z = shape
    x = np.arange(X)[:, None, None]; y = np.arange(Y)[None, :, None]; z = np.arange(Z)[None, None, :]
    # three sinuous horizons split the depth axis into 4 facies
    ph = rng.uniform(0, 6.28, 3)
    depth = z + 3 * np.sin(x / 5 + ph[0]) * np.cos(y / 6 + ph[1])
    lab = (depth[..., None] > np.array([0.25, 0.5, 0.75]) * Z).sum(-1).astype(np.int8)
    # each facies its own amplitude and texture, under noise
    amp = np.array([-1.0, -0.3, 0.3, 1.0])[lab] + 0.3 * np.sin(np.array([0.4, 1.3, 0.7, 1.9])[lab] * z + ph[2])
    return (amp + rng.normal(0, 0.5, lab.shape)).astype(np.float32), lab
for name, shape, seed in (("train", (16, 16, 48), 1), ("test", (12, 21, 43), 2)):
    a, l = volume(shape, seed)
    with h5py.File(f"input3D_{name}.h5", "w") as f: f["input"] = a
    with h5py.File(f"target3D_{name}.h5", "w") as f: f["target"] = l
def layer(cls, name, inbound, **cfg):
    return {"class_name": cls, "name": name, "config": {"name": name, **cfg},
            "inbound_nodes": [[[s, 0, 0, {}] for s in inbound]] if inbound else []}
json.dump({"class_name": "Model", "config": {"name": "Unet-3D-small", "layers": [
    layer("InputLayer", "input", [], batch_input_shape=[None, 8, 8, 16, 1]),
    layer("Conv3D", "c1", ["input"], filters=4, kernel_size=3, padding="same", activation="relu"),
    layer("MaxPooling3D", "p1", ["c1"], pool_size=2),
    layer("Conv3D", "c2", ["p1"], filters=8, kernel_size=3, padding="same", activation="relu"),
    layer("UpSampling3D", "u1", ["c2"], size=2),
    layer("Concatenate", "cat", ["u1", "c1"], axis=-1),
    layer("Conv3D", "c3", ["cat"], filters=8, kernel_size=3, padding="same", activation="relu"),
    layer("Conv3D", "out", ["c3"], filters=4, kernel_size=1, activation="log_softmax")],
    "input_layers": [["input", 0, 0]], "output_layers": [["out", 0, 0]]}}, open("unet3d.json", "w"))
PY

cat > train.json <<'JSON'
{"neural_network": {"outfile": "out_seismic3d.txt", "num_epochs": 10, "seed": 4, "layers": "./unet3d.json",
  "checkpoints": {"save": "./model_seismic3d/", "interval": 5},
  "data": {"type": "hdf5", "input_path": "input3D_train.h5", "target_path": "target3D_train.h5",
           "test_input_path": "input3D_test.h5", "test_target_path": "target3D_test.h5",
           "batch_size": 4, "test_batch_size": 8, "preload": true,
           "slicers": [{"name": "samples", "sizes": [8, 8, 16], "strides": [8, 8, 4], "discard_remainders": true}]},
  "optimizer": {"type": "Adam", "learning_rate": 0.005}, "loss": {"function": "NLL"}}}
JSON
"$BIN" --config=train.json --no-progress > train.log 2>&1 && ok "trains on slices" || fail "training: $(tail -5 train.log)"
grep -q "Slicing dataset 'input' from HDF5 file: ./input3D_train.h5" train.log && grep -q "Full size: \[16, 16, 48\]" train.log \
  && grep -q "Remainders  : discarded" train.log && grep -q "Num samples : 36" train.log \
  && grep -q "Slicing dataset 'target' from HDF5 file: ./target3D_train.h5" train.log \
  && ok "console: 2 x 2 x 9 = 36 training bricks" || fail "console: $(head -20 train.log)"
"$PY" - <<'PY' && ok "loss falls and the per-brick test accuracy is far above chance" || fail "did not learn"
import numpy as np
tr = np.genfromtxt("out_seismic3d_train.txt", names=True, delimiter="\t")
te = np.genfromtxt("out_seismic3d_test.txt", names=True, delimiter="\t")
print("train loss", tr["loss"][0], "->", tr["loss"][-1], "test accuracy", te["accuracy"][-1])
assert tr["loss"][-1] < 0.5 * tr["loss"][0] and te["accuracy"][-1] > 0.75
PY

# whole-volume inference: overlapping slices (strides below sizes) and padded remainders (y and z)
for prec in single half; do
cat > infer_$prec.json <<JSON
{"neural_network": {"layers": "./unet3d.json", "checkpoints": {"load": "./model_seismic3d/model_final.safetensors"},
  "data": {"type": "hdf5", "test_input_path": "input3D_test.h5", "test_target_path": "target3D_test.h5",
           "hdf5_outfile": "./prediction_$prec.h5", "hdf5_precision": "$prec", "test_batch_size": 8,
           "slicers": [{"name": "pred", "sizes": [8, 8, 16], "strides": [4, 6, 12]}]},
  "loss": {"function": "NLL"}}}
JSON
"$BIN" --config=infer_$prec.json --no-progress > infer_$prec.log 2>&1 || fail "inference ($prec): $(tail -5 infer_$prec.log)"
done
grep -q "Num samples : 32" infer_single.log && grep -q "Inference : Loss = .* | Accuracy: " infer_single.log \
  && ok "inference: 2 x 4 x 4 slices with remainders, scored per slice" || fail "inference log: $(cat infer_single.log)"
"$PY" - <<'PY' && ok "the volume put back together: [4, 12, 21, 43], every voxel predicted, facies far above chance" || fail "volume"
import numpy as np, h5py
p = h5py.File("prediction_single.h5")["pred"][()]
h = h5py.File("prediction_half.h5")["pred"][()]
t = h5py.File("target3D_test.h5")["target"][()]
print(p.shape, p.dtype, h.dtype)
assert p.shape == (4, 12, 21, 43) and p.dtype == np.float32 and np.isfinite(p).all()
# overlaps average log-probabilities: a geometric mean of distributions, summing to at most 1
s = np.exp(p).sum(0)
assert (s <= 1 + 1e-4).all() and (s > 0).all()
acc = (p.argmax(0) == t).mean()
per = [((p.argmax(0) == k) & (t == k)).sum() / (t == k).sum() for k in range(4)]
print("voxel accuracy", acc, "per facies", per)
assert acc > 0.75 and min(per) > 0.5
assert h.dtype == np.float16 and np.array_equal(h, p.astype(np.float16))
PY
finish
