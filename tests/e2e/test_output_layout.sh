#!/usr/bin/env bash
# The reference CLI's inference output (test_output_path as a folder):
# <dir>/output_1.h5 with one dataset per input sample, named by the sample
# (its file's path relative to the data folder: sub-folders become groups;
# an .npz array; an HDF5 dataset; a one-sample file's own name; else the
# sample's index), raw channel-first output without a batch axis, float32 or
# float16 (hdf5_precision). A 1x1 convolution with known weights makes every
# expected value exact. An .h5 file path keeps brisk's [N, ...] form.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir output_layout)
cd "$D"

"$PY" - <<'PY'
import json, struct, os, numpy as np, h5py
rng = np.random.default_rng(3)
def st(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, np.float32).tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(hdr).encode()
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
# a 1x1 conv: channel 0 = 2x + 0.5, channel 1 = -x + 1
st("w.safetensors", {"conv.weight": np.array([2.0, -1.0]).reshape(2, 1, 1, 1), "conv.bias": np.array([0.5, 1.0])})
def layer(cls, name, inbound, **cfg):
    return {"class_name": cls, "name": name, "config": {"name": name, **cfg},
            "inbound_nodes": [[[s, 0, 0, {}] for s in inbound]] if inbound else []}
json.dump({"class_name": "Sequential", "config": {"name": "lin", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6, 5, 1], "name": "in"}},
    {"class_name": "Conv2D", "config": {"name": "conv", "filters": 2, "kernel_size": 1}}]}}, open("net.json", "w"))
# two outputs: the conv and a 1-channel head on it
st("w2.safetensors", {"conv.weight": np.array([2.0, -1.0]).reshape(2, 1, 1, 1), "conv.bias": np.array([0.5, 1.0]),
                      "head.weight": np.array([1.0, 1.0]).reshape(1, 2, 1, 1), "head.bias": np.array([0.0])})
json.dump({"class_name": "Functional", "config": {"name": "two", "layers": [
    layer("InputLayer", "in", [], batch_input_shape=[None, 6, 5, 1]),
    layer("Conv2D", "conv", ["in"], filters=2, kernel_size=1),
    layer("Conv2D", "head", ["conv"], filters=1, kernel_size=1)],
    "input_layers": [["in", 0, 0]], "output_layers": [["conv", 0, 0], ["head", 0, 0]]}}, open("net2.json", "w"))
os.makedirs("maps/sub", exist_ok=True)
samples = {}
for name in ["b.npy", "a.npy", "sub/c.npy"]:
    x = rng.normal(0, 3, (1, 6, 5)).astype(np.float32)
    np.save(f"maps/{name}", x); samples[name] = x
z = [rng.normal(0, 3, (1, 6, 5)).astype(np.float32) for _ in range(2)]
np.savez("maps/sub/d.npz", *z)
samples["sub/d.npz/arr_0"], samples["sub/d.npz/arr_1"] = z
np.savez("maps.npz", samples=np.stack(list(samples.values())))
np.save("nu.npy", rng.normal(0, 1, (1, 1, 6, 5)).astype(np.float32))     # the Poisson tutorial's one-sample file
np.save("many.npy", rng.normal(0, 1, (3, 1, 6, 5)).astype(np.float32))   # samples along axis 0, no names
with h5py.File("per.h5", "w") as f:
    for k in ["s1", "s0", "grp/s2"]:
        f[k] = rng.normal(0, 1, (1, 6, 5))
np.save("expect_names.npy", np.array(sorted(samples)))
PY

# cfg NAME NET WEIGHTS INPUT OUTPUT [EXTRA]
cfg() {
  cat > "$1.json" <<JSON
{"neural_network": {"layers": "$2", "checkpoints": {"load": "$3"},
  "data": {"type": "${TYPE:-numpy}", "test_input_path": "$4", "test_output_path": "$5", "test_batch_size": 2${6:-}}}}
JSON
  echo "$1.json"
}
run() { "$BIN" --config="$1" --no-progress > "${1%.json}.log" 2>&1 || fail "$1: $(tail -3 "${1%.json}.log")"; }

run "$(cfg folder net.json w.safetensors maps/ pred/)"
grep -q "Wrote 5 predictions to .*pred/output_1.h5" folder.log && ok "reports the file it wrote" || fail "log: $(cat folder.log)"
"$PY" - <<'PY' && ok "folder of samples: one dataset per sample, named by relative path, groups for sub-folders, exact values" || fail "folder layout"
import h5py, numpy as np, os
names = list(np.load("expect_names.npy"))
with h5py.File("pred/output_1.h5", "r") as f:
    seen = []
    f.visititems(lambda k, v: seen.append(k) if isinstance(v, h5py.Dataset) else None)
    print(sorted(seen))
    assert sorted(seen) == sorted(names), seen
    assert isinstance(f["sub"], h5py.Group) and isinstance(f["sub/d.npz"], h5py.Group)
    for n in names:
        x = np.load("maps/" + n) if n.endswith(".npy") else np.load("maps/sub/d.npz")[n.split("/")[-1]]
        want = np.concatenate([2 * x + 0.5, -x + 1])
        got = f[n][()]
        assert got.dtype == np.float32 and got.shape == (2, 6, 5), (n, got.dtype, got.shape)
        assert np.allclose(got, want, atol=1e-5), n
assert not [p for p in os.listdir("pred") if ".tmp" in p]
PY

run "$(cfg poisson net.json w.safetensors nu.npy prediction/)"
"$PY" - <<'PY' && ok "one-sample .npy: dataset named by the file (h5py.File('prediction/output_1.h5')['nu.npy'])" || fail "nu.npy layout"
import h5py, numpy as np
x = np.load("nu.npy")[0]
with h5py.File("./prediction/output_1.h5") as f:
    print(list(f))
    assert list(f) == ["nu.npy"] and f["nu.npy"].shape == (2, 6, 5)
    assert np.allclose(f["nu.npy"][()], np.concatenate([2 * x + 0.5, -x + 1]), atol=1e-5)
PY

run "$(cfg many net.json w.safetensors many.npy out_many)"
"$PY" - <<'PY' && ok "unnamed samples of one array: datasets named by index; a path without extension is a folder" || fail "index layout"
import h5py, numpy as np
x = np.load("many.npy")
with h5py.File("out_many/output_1.h5") as f:
    assert sorted(f) == ["0", "1", "2"], list(f)
    for i in range(3):
        assert np.allclose(f[str(i)][()], np.concatenate([2 * x[i] + 0.5, -x[i] + 1]), atol=1e-5)
PY

TYPE=hdf5
run "$(cfg per net.json w.safetensors per.h5 out_per/)"
TYPE=numpy
"$PY" - <<'PY' && ok "per-sample HDF5 input: datasets named by the input datasets' paths" || fail "hdf5 names"
import h5py, numpy as np
with h5py.File("per.h5") as src, h5py.File("out_per/output_1.h5") as f:
    for k in ["s0", "s1", "grp/s2"]:
        x = src[k][()].astype(np.float32)
        assert np.allclose(f[k][()], np.concatenate([2 * x + 0.5, -x + 1]), atol=1e-5), k
PY

run "$(cfg half net.json w.safetensors maps/ half/ ', "hdf5_precision": "half"')"
"$PY" - <<'PY' && ok "hdf5_precision half: float16 datasets equal to the float32 values rounded" || fail "half precision"
import h5py, numpy as np
with h5py.File("half/output_1.h5") as h, h5py.File("pred/output_1.h5") as s:
    for n in ["a.npy", "sub/c.npy", "sub/d.npz/arr_1"]:
        assert h[n].dtype == np.float16, h[n].dtype
        assert np.array_equal(h[n][()], s[n][()].astype(np.float16)), n
PY

run "$(cfg two net2.json w2.safetensors maps/ two/)"
"$PY" - <<'PY' && ok "several outputs: a group per sample, a dataset per output layer" || fail "multi-output layout"
import h5py, numpy as np
x = np.load("maps/a.npy")
with h5py.File("two/output_1.h5") as f:
    assert sorted(f["a.npy"]) == ["conv", "head"], list(f["a.npy"])
    c = np.concatenate([2 * x + 0.5, -x + 1])
    assert np.allclose(f["a.npy/conv"][()], c, atol=1e-5)
    assert f["a.npy/head"].shape == (1, 6, 5) and np.allclose(f["a.npy/head"][()], c.sum(0, keepdims=True), atol=1e-5)
PY

run "$(cfg rows net.json w.safetensors maps/ rows.h5)"
"$PY" - <<'PY' && ok "an .h5 file path keeps brisk's form: dataset output [N, ...] in sample order" || fail "file layout"
import h5py, numpy as np
with h5py.File("rows.h5") as f, h5py.File("pred/output_1.h5") as g:
    names = list(np.load("expect_names.npy"))
    assert list(f) == ["output"] and f["output"].shape == (5, 2, 6, 5)
    for i, n in enumerate(names):
        assert np.array_equal(f["output"][i], g[n][()]), n
PY

# the Poisson tutorial's training form: a folder of per-sample .npy files, targets = inputs
"$PY" -c "
import json
json.dump({'class_name': 'Sequential', 'config': {'name': 'one', 'layers': [
    {'class_name': 'InputLayer', 'config': {'batch_input_shape': [None, 6, 5, 1], 'name': 'in'}},
    {'class_name': 'Conv2D', 'config': {'name': 'conv', 'filters': 1, 'kernel_size': 3, 'padding': 'same'}}]}}, open('net1.json', 'w'))"
cat > folder_train.json <<'JSON'
{"neural_network": {"outfile": "ft.txt", "num_epochs": 30, "seed": 2, "layers": "net1.json",
  "data": {"type": "numpy", "input_path": "maps/", "target_path": "maps/", "batch_size": 2, "preload": true},
  "optimizer": {"type": "Adam", "learning_rate": 0.03}, "loss": {"function": "MSE"}}}
JSON
"$BIN" --config=folder_train.json --no-progress > folder_train.log 2>&1 || fail "folder training: $(tail -3 folder_train.log)"
"$PY" - <<'PY' && ok "trains on a folder of per-sample files with target_path = input_path (loss falls)" || fail "folder training"
import numpy as np
t = np.genfromtxt("ft_train.txt", names=True, delimiter="\t")
print("loss", t["loss"][0], "->", t["loss"][-1], "samples/epoch", t["samples_per_s"][-1] * t["seconds"][-1])
assert t["loss"][-1] < 0.2 * t["loss"][0]
PY

expect_error "unknown precision" "$(cfg bad net.json w.safetensors maps/ pred/ ', "hdf5_precision": "double"')" \
  "neural_network.data.hdf5_precision" '"double"' '"half"'
finish
