#!/usr/bin/env bash
# Slicers through the CLI: (1) every sample an identity network sees equals
# a numpy reference implementation (numpy.pad "reflect", transposition,
# dropped axes, remainders, several sets) for .npy and HDF5 arrays, with and
# without a channel axis, read whole or slice by slice; (2) hdf5_outfile
# puts a 1x1 convolution's outputs back together into exactly the expected
# volume, in single and half precision, NaN where no slice reached;
# (3) bad slicer configs give located errors.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir slicers)
cd "$D"
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' > none.safetensors

"$PY" - <<'PY'
import numpy as np, h5py
rng = np.random.default_rng(11)
np.save("v2.npy", rng.normal(0, 1, (2, 11, 9, 13)).astype(np.float32))       # channel-first, 2 channels
with h5py.File("v1.h5", "w") as f:                                           # no channel axis, chunked
    f.create_dataset("input", data=rng.normal(0, 1, (10, 12, 7)).astype(np.float32), chunks=(3, 4, 7))
np.save("line.npy", rng.normal(0, 1, (3, 50)).astype(np.float32))            # 1-D, 3 channels
PY

# the numpy reference: python3 ref.py ARRAY(.npy|.h5) SLICERS_JSON OUT.npy -> the samples, stacked
cat > ref.py <<'PY'
import json, sys, numpy as np, h5py
path, sets, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
vol = h5py.File(path)["input"][()] if path.endswith(".h5") else np.load(path)
n = len(sets[0]["sizes"])
if vol.ndim == n: vol = vol[None]          # no channel axis: one channel
def count(N, S, T, discard):
    c = (N - S) // T + 1
    last = (c - 1) * T
    return c + (not discard and last + S < N and last + T < N)
samples = []
for s in sets:
    S = s["sizes"]; T = s.get("strides", S); disc = s.get("discard_remainders", False)
    if "padding" in s: lo = hi = s["padding"]
    elif "padded_sizes" in s:
        lo = [(p - q) // 2 for p, q in zip(s["padded_sizes"], S)]; hi = [p - q - l for p, q, l in zip(s["padded_sizes"], S, lo)]
    else: lo = hi = [0] * n
    N = vol.shape[1:]
    for idx in np.ndindex(*[count(N[a], S[a], T[a], disc) for a in range(n)]):
        o = [i * T[a] for a, i in enumerate(idx)]
        box = vol[(slice(None),) + tuple(slice(o[a], min(o[a] + S[a], N[a])) for a in range(n))]
        p = np.pad(box, [(0, 0)] + [(lo[a], S[a] - box.shape[1 + a] + hi[a]) for a in range(n)], mode="reflect")
        p = p.reshape((p.shape[0],) + tuple(p.shape[1 + a] for a in range(n) if S[a] > 1))
        if s.get("transpose"): p = p.transpose(0, 2, 1)
        samples.append(p)
np.save(out, np.stack(samples))
PY

# check_case NAME TYPE ARRAY SLICERS [PRELOAD]: brisk's samples (identity network) against the reference
check_case() {
  local name=$1 type=$2 arr=$3 sl=$4 pre=${5:-false}
  "$PY" ref.py "$arr" "$sl" "ref_$name.npy" || { fail "$name: reference"; return; }
  "$PY" - "$name" <<'PY'
import json, sys, numpy as np
r = np.load(f"ref_{sys.argv[1]}.npy")
keras = list(r.shape[2:]) + [r.shape[1]]     # channels_last, as Keras writes it
json.dump({"class_name": "Sequential", "config": {"name": "id", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None] + keras, "name": "in"}},
    {"class_name": "Activation", "config": {"name": "lin", "activation": "linear"}}]}}, open(f"id_{sys.argv[1]}.json", "w"))
PY
  cat > "c_$name.json" <<JSON
{"neural_network": {"layers": "id_$name.json", "checkpoints": {"load": "none.safetensors"},
  "data": {"type": "$type", "test_input_path": "$arr", "test_output_path": "s_$name.h5", "test_batch_size": 7,
           "preload": $pre, "slicers": $sl}}}
JSON
  "$BIN" --config="c_$name.json" --no-progress > "c_$name.log" 2>&1 || { fail "$name: $(tail -3 "c_$name.log")"; return; }
  "$PY" - "$name" <<'PY' && ok "$name: samples equal numpy's" || fail "$name: samples differ"
import sys, numpy as np, h5py
n = sys.argv[1]
r, s = np.load(f"ref_{n}.npy"), h5py.File(f"s_{n}.h5")["output"][()]
print(n, r.shape, s.shape)
assert r.shape == s.shape and np.array_equal(r, s), np.abs(r - s).max() if r.shape == s.shape else None
PY
}

check_case pad3d numpy v2.npy '[{"sizes": [4, 5, 6], "strides": [3, 2, 4], "padded_sizes": [7, 5, 9]}]'
check_case pad3d_discard numpy v2.npy '[{"sizes": [4, 5, 6], "strides": [3, 2, 4], "padding": [1, 2, 0], "discard_remainders": true}]'
check_case yz_transposed hdf5 v1.h5 '[{"sizes": [1, 5, 4], "strides": [2, 3, 2], "padding": [0, 1, 3], "transpose": true}]'
check_case two_sets hdf5 v1.h5 '[{"name": "xy", "sizes": [6, 5, 1], "padded_sizes": [8, 8, 1]}, {"name": "xz", "sizes": [4, 1, 7], "strides": [3, 5, 7], "padded_sizes": [8, 1, 8]}]' true
check_case line numpy line.npy '[{"sizes": [8], "strides": [5], "padding": [3]}]'
check_case edge_of_one hdf5 v1.h5 '[{"sizes": [3, 5, 7], "strides": [3, 5, 7], "padding": [4, 6, 2]}]' true
grep -q "Slicing dataset 'input' from HDF5 file: ./v1.h5" c_two_sets.log && grep -q "Full size: \[10, 12, 7\]" c_two_sets.log \
  && grep -q "Slicer: xz" c_two_sets.log && grep -q "Padding     : \[(2,2)(0,0)(0,1)\]" c_two_sets.log \
  && ok "console: the array, its full size and each set's settings" || fail "console: $(head -30 c_two_sets.log)"

# 2. reassembly: 1x1 convolutions (2x + 0.5, -x + 1) over the slices, put back together
"$PY" - <<'PY'
import json, struct, numpy as np
def st(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, np.float32).tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(hdr).encode()
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
st("conv3.safetensors", {"conv.weight": np.array([2.0, -1.0]).reshape(2, 1, 1, 1, 1), "conv.bias": np.array([0.5, 1.0])})
st("conv2.safetensors", {"conv.weight": np.array([2.0, -1.0]).reshape(2, 1, 1, 1), "conv.bias": np.array([0.5, 1.0])})
st("shrink.safetensors", {"conv.weight": np.ones((2, 1, 3, 3, 3)), "conv.bias": np.zeros(2)})
for name, shape in (("net3", [None, 6, 8, 5, 1]), ("net2", [None, 8, 6, 1])):
    cls = "Conv3D" if len(shape) == 5 else "Conv2D"
    json.dump({"class_name": "Sequential", "config": {"name": name, "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": shape, "name": "in"}},
        {"class_name": cls, "config": {"name": "conv", "filters": 2, "kernel_size": 1}}]}}, open(f"{name}.json", "w"))
json.dump({"class_name": "Sequential", "config": {"name": "shrink", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6, 8, 5, 1], "name": "in"}},
    {"class_name": "Conv3D", "config": {"name": "conv", "filters": 2, "kernel_size": 3}}]}}, open("shrink.json", "w"))
PY
asm() { # NAME NET WEIGHTS SLICERS PRECISION
  cat > "a_$1.json" <<JSON
{"neural_network": {"layers": "$2", "checkpoints": {"load": "$3"},
  "data": {"type": "hdf5", "test_input_path": "v1.h5", "hdf5_outfile": "vol_$1.h5", "hdf5_precision": "$5",
           "test_batch_size": 5, "slicers": $4}}}
JSON
  "$BIN" --config="a_$1.json" --no-progress > "a_$1.log" 2>&1 || fail "$1: $(tail -3 "a_$1.log")"
}
BRICKS='[{"name": "bricks", "sizes": [4, 6, 5], "strides": [3, 4, 2], "padding": [1, 1, 0]}]'
asm single net3.json conv3.safetensors "$BRICKS" single
asm half net3.json conv3.safetensors "$BRICKS" half
asm gaps net3.json conv3.safetensors '[{"name": "gaps", "sizes": [6, 8, 5], "strides": [7, 9, 5], "discard_remainders": true}]' single
asm planes net2.json conv2.safetensors '[{"name": "yz", "sizes": [1, 5, 6], "strides": [1, 3, 4], "padded_sizes": [1, 6, 8], "transpose": true}, {"name": "xz", "sizes": [5, 1, 6], "padded_sizes": [6, 1, 8], "transpose": true}]' single
grep -q "Wrote the predictions on .* slices, put back together (half precision), to ./vol_half.h5: bricks" a_half.log \
  && ok "reports the volume file" || fail "log: $(cat a_half.log)"
"$PY" - <<'PY' && ok "hdf5_outfile: overlapping padded slices give back exactly the expected volume, single and half" || fail "reassembly"
import numpy as np, h5py
x = h5py.File("v1.h5")["input"][()]
want = np.stack([2 * x + np.float32(0.5), -x + np.float32(1)]).astype(np.float32)
s = h5py.File("vol_single.h5")["bricks"]
h = h5py.File("vol_half.h5")["bricks"]
print(s.shape, s.dtype, h.dtype)
assert s.shape == (2, 10, 12, 7) and s.dtype == np.float32 and np.array_equal(s[()], want)
assert h.dtype == np.float16 and np.array_equal(h[()], want.astype(np.float16))
PY
"$PY" - <<'PY' && ok "hdf5_outfile: voxels no slice covers are NaN, the rest exact" || fail "gaps"
import numpy as np, h5py
x = h5py.File("v1.h5")["input"][()]
want = np.stack([2 * x + np.float32(0.5), -x + np.float32(1)]).astype(np.float32)
g = h5py.File("vol_gaps.h5")["gaps"][()]
covered = np.zeros(x.shape, bool); covered[:6, :8, :5] = True   # one brick: the next origins fall outside
assert np.array_equal(g[:, covered], want[:, covered]) and np.isnan(g[:, ~covered]).all()
PY
"$PY" - <<'PY' && ok "hdf5_outfile: two transposed 2-D sets, one dataset each named by the set" || fail "planes"
import numpy as np, h5py
x = h5py.File("v1.h5")["input"][()]
want = np.stack([2 * x + np.float32(0.5), -x + np.float32(1)]).astype(np.float32)
f = h5py.File("vol_planes.h5")
assert sorted(f) == ["xz", "yz"], list(f)
for k in f: assert np.array_equal(f[k][()], want), k
PY

# 3. bad configs: located errors
bad() { # NAME SLICERS [NET] [EXTRA] PATTERN...
  local name=$1 sl=$2 net=$3 extra=$4; shift 4
  cat > "bad_$name.json" <<JSON
{"neural_network": {"layers": "$net", "checkpoints": {"load": "$(sed 's/net/conv/; s/json$/safetensors/' <<<"$net")"},
  "data": {"type": "hdf5", "test_input_path": "v1.h5", "hdf5_outfile": "bad.h5",
           "slicers": $sl$extra}}}
JSON
  expect_error "$name" "bad_$name.json" "$@"
}
bad "padding and padded_sizes both" '[{"sizes": [6, 8, 5], "padding": [1, 1, 1], "padded_sizes": [8, 10, 7]}]' net3.json "" \
  "bad_padding and padded_sizes both.json:" "neural_network.data.slicers[0].padded_sizes" "both set"
bad "wrong number of entries" '[{"sizes": [6, 8, 5], "strides": [1, 1]}]' net3.json "" \
  "neural_network.data.slicers[0].strides" "2 entries, but sizes has 3"
bad "sizes larger than the array" '[{"name": "big", "sizes": [6, 8, 5]}, {"name": "huge", "sizes": [6, 13, 5]}]' net3.json "" \
  "neural_network.data.slicers[1].sizes" "entry 1 (13) is larger than the array's extent 12" "[10, 12, 7]"
bad "a network that changes geometry" '[{"sizes": [6, 8, 5]}]' shrink.json "" \
  "neural_network.data.hdf5_outfile" "keeps their geometry" "[2, 4, 6, 3]"
bad "transpose of 3-D slices" '[{"sizes": [6, 8, 5], "transpose": true}]' net3.json "" \
  "neural_network.data.slicers[0].transpose" "2-D samples only"
bad "padding on a dropped axis" '[{"sizes": [1, 8, 5], "padding": [1, 0, 0]}]' net2.json "" \
  "neural_network.data.slicers[0].padding" "size 1"
bad "duplicate set names" '[{"name": "a", "sizes": [6, 8, 5]}, {"name": "a", "sizes": [6, 8, 5]}]' net3.json "" \
  "neural_network.data.slicers[1].name" "also the name of slicers[0]"
bad "sets of two ranks" '[{"sizes": [6, 8, 5]}, {"sizes": [6, 8]}]' net3.json "" \
  "neural_network.data.slicers[1].sizes" "every set slices the same array"
bad "unknown slicer key" '[{"sizes": [6, 8, 5], "stride": [1, 1, 1]}]' net3.json "" \
  "neural_network.data.slicers[0].stride" 'did you mean "strides"'
cat > nosl.json <<'JSON'
{"neural_network": {"layers": "net3.json", "checkpoints": {"load": "conv3.safetensors"},
  "data": {"type": "hdf5", "test_input_path": "v1.h5", "hdf5_outfile": "bad.h5"}}}
JSON
expect_error "hdf5_outfile without slicers" nosl.json "neural_network.data.hdf5_outfile" "needs \"slicers\""
finish
