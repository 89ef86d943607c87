#!/usr/bin/env bash
# Transforms on numpy data through the CLI: a run with random flips, crops,
# rotations and normalize learns (well above chance), Ctrl-C and --resume
# end with the weights of the uninterrupted run (the augmentations repeat),
# the transforms change what is trained on, and bad entries are located.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir transforms)

# 4 classes that survive flips: a horizontal bar, a vertical bar, a filled
# square and a hollow square, each at a random place in a noisy 12x12 image
"$PY" - "$D" 6000 <<'PY'
import sys, numpy as np
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(3)
y = rng.integers(0, 4, n)
x = rng.normal(0, 0.2, (n, 1, 12, 12)).astype(np.float32)
for i, k in enumerate(y):
    r, c = rng.integers(1, 7, 2)
    if k == 0: x[i, 0, r+2, c:c+5] += 1
    elif k == 1: x[i, 0, r:r+5, c+2] += 1
    elif k == 2: x[i, 0, r+1:r+4, c+1:c+4] += 1
    else:
        x[i, 0, r:r+5, c] += 1; x[i, 0, r:r+5, c+4] += 1; x[i, 0, r, c:c+5] += 1; x[i, 0, r+4, c:c+5] += 1
np.save(f"{d}/x.npy", x); np.save(f"{d}/y.npy", y.astype(np.int64))
np.save(f"{d}/x_test.npy", x[:500]); np.save(f"{d}/y_test.npy", y[:500].astype(np.int64))
PY
small_net "$D"
AUG='[{"random_horizontal_flip": 0.5}, {"random_vertical_flip": 0.5}, {"jitter_crop": 0.15},
      {"random_rotate": 10}, {"resize": [12, 12]}, {"normalize": {"mean": 0.1, "std": 0.5}}]'
write_cfg() { # name save_dir epochs transforms
  cat > "$D/$1.json" <<JSON
{"neural_network": {"outfile": "$1_out.txt", "num_epochs": $3, "seed": 11, "layers": "net.json",
  "checkpoints": {"save": "$2", "interval": 1},
  "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 32, "test_split": 0.2,
           "transforms": $4},
  "optimizer": {"type": "Adam", "learning_rate": 0.003},
  "loss": {"function": "NLL"}}}
JSON
}
write_cfg full full_ckpt 10 "$AUG"
write_cfg stopped stopped_ckpt 10 "$AUG"
write_cfg plain plain_ckpt 10 "[]"

"$BIN" --config="$D/full.json" --no-progress > "$D/full.log" 2>&1 || fail "run with transforms failed: $(tail -3 "$D/full.log")"
acc=$(tail -n 1 "$D/full_out_test.txt" | cut -f3)
"$PY" -c "import sys; sys.exit(0 if float('$acc') > 0.8 else 1)" 2>/dev/null \
  && ok "trains with augmentations: test accuracy $acc (chance 0.25)" || fail "test accuracy '$acc' is not above 0.8"

# Ctrl-C mid-run, then --resume
wait_for() { for _ in $(seq 1 2400); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
"$BIN" --config="$D/stopped.json" --no-progress > "$D/stopped.log" 2>&1 &
pid=$!
wait_for "$D/stopped_ckpt/model_epoch_3.safetensors" || fail "no epoch-3 checkpoint appeared"
sleep 0.1
kill -INT $pid; wait $pid; rc=$?
[ "$rc" -eq 130 ] && ok "Ctrl-C exits 130" || fail "Ctrl-C exit status $rc (the run may have ended first): $(tail -3 "$D/stopped.log")"
"$BIN" --config="$D/stopped.json" --no-progress --resume "$D/stopped_ckpt" >> "$D/stopped.log" 2>&1 \
  && ok "resume after Ctrl-C" || fail "resume after Ctrl-C: $(tail -3 "$D/stopped.log")"
"$BIN" --config="$D/plain.json" --no-progress > "$D/plain.log" 2>&1 || fail "run without transforms failed: $(tail -3 "$D/plain.log")"

cat > "$D/cmp.py" <<'PY'
import json, struct, sys, numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n])
    return {k: np.frombuffer(b[8+n+v["data_offsets"][0]:8+n+v["data_offsets"][1]], np.float32)
            for k, v in h.items() if k != "__metadata__"}
a, b = load(sys.argv[1]), load(sys.argv[2])
diff = max(float(np.max(np.abs(a[k] - b[k]))) if a[k].size else 0.0 for k in a)
print(diff)
PY
d_resume=$("$PY" "$D/cmp.py" "$D/full_ckpt/model_final.safetensors" "$D/stopped_ckpt/model_final.safetensors")
"$PY" -c "import sys; sys.exit(0 if float('$d_resume') <= 1e-6 else 1)" 2>/dev/null \
  && ok "resumed run ends with the uninterrupted run's weights (max diff $d_resume)" \
  || fail "resumed run's weights differ by '$d_resume'"
d_plain=$("$PY" "$D/cmp.py" "$D/full_ckpt/model_final.safetensors" "$D/plain_ckpt/model_final.safetensors")
"$PY" -c "import sys; sys.exit(0 if float('$d_plain') > 1e-3 else 1)" 2>/dev/null \
  && ok "the transforms change training (max diff to a plain run $d_plain)" \
  || fail "a run without transforms ends with the same weights (diff '$d_plain'): were they applied?"

# evaluation of a saved model: the test set reads without random geometry,
# so two evaluations agree to the last digit
cat > "$D/eval.json" <<JSON
{"neural_network": {"outfile": "eval_out.txt", "layers": "net.json", "checkpoints": {"load": "full_ckpt/model_final.safetensors"},
  "data": {"type": "numpy", "test_input_path": "x_test.npy", "test_target_path": "y_test.npy", "test_batch_size": 100,
           "transforms": $AUG},
  "loss": {"function": "NLL"}}}
JSON
e1=$("$BIN" --config="$D/eval.json" --no-progress 2>&1 | grep -i 'accuracy' | tail -1)
e2=$("$BIN" --config="$D/eval.json" --no-progress 2>&1 | grep -i 'accuracy' | tail -1)
[ -n "$e1" ] && [ "$e1" = "$e2" ] && ok "evaluation with transforms repeats exactly ($e1)" || fail "evaluations differ: '$e1' vs '$e2'"

# hdf5: a mask through the pets tutorial's recipe (inputs and masks stored
# /255 as the images loader hands them over; normalize by 1/255 in the
# shared list; target_is_mask), rotated and flipped, trains with NLL, which
# takes only integral class ids; without target_is_mask the rotation blends
# labels and NLL refuses them. Then inpainting: random_patches in the shared
# list, the target the same array as the input.
"$PY" - "$D" <<'PY'
import sys, numpy as np, h5py
rng = np.random.default_rng(5)
n = 400
x = rng.normal(0, 0.1, (n, 1, 16, 16)).astype(np.float32)
m = np.zeros((n, 16, 16), np.float32)
for i in range(n):
    r, c = rng.integers(2, 10, 2)
    m[i, r:r+5, c:c+5] = 1 + i % 2
    x[i, 0, r:r+5, c:c+5] += 0.5 * (1 + i % 2)
with h5py.File(f"{sys.argv[1]}/seg.h5", "w") as f:
    f["input"] = x / 255.0
    f["target"] = m / 255.0
PY
cat > "$D/seg_net.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "seg", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 16, 16, 1], "name": "in"}},
 {"class_name": "Conv2D", "config": {"name": "c1", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}},
 {"class_name": "Conv2D", "config": {"name": "c2", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "log_softmax"}}]}}
JSON
cat > "$D/ae_net.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "ae", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 16, 16, 1], "name": "in"}},
 {"class_name": "Conv2D", "config": {"name": "c1", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}},
 {"class_name": "Conv2D", "config": {"name": "c2", "filters": 1, "kernel_size": 3, "padding": "same"}}]}}
JSON
seg_cfg() { # name target_is_mask
  cat > "$D/$1.json" <<JSON
{"neural_network": {"outfile": "$1_out.txt", "num_epochs": 3, "seed": 2, "layers": "seg_net.json",
  "data": {"type": "hdf5", "input_path": "seg.h5", "test_split": 0.25, "batch_size": 16, "target_is_mask": $2,
           "transforms": [{"random_horizontal_flip": 0.5}, {"random_rotate": 15}, {"resize": [16, 16]},
                          {"normalize": {"mean": 0, "std": 0.003921568}}]},
  "optimizer": {"type": "Adam", "learning_rate": 0.01}, "loss": {"function": "NLL"}, "metrics": ["miou"]}}
JSON
}
seg_cfg seg true
seg_cfg seg_blend false
if "$BIN" --config="$D/seg.json" --no-progress > "$D/seg.log" 2>&1; then
  miou=$("$PY" - "$D/seg_out_test.txt" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print(rows[-1][rows[0].index("miou")])
PY
)
  "$PY" -c "import sys; sys.exit(0 if float('$miou') > 0.5 else 1)" 2>/dev/null \
    && ok "hdf5 masks (recipe, rotations, NLL) train: test mIoU $miou" || fail "segmentation test mIoU '$miou' is not above 0.5"
else
  fail "segmentation with target_is_mask failed: $(tail -3 "$D/seg.log")"
fi
expect_error "masks without target_is_mask" "$D/seg_blend.json" "is not an integer"
cat > "$D/inpaint.json" <<JSON
{"neural_network": {"outfile": "inpaint_out.txt", "num_epochs": 2, "seed": 2, "layers": "ae_net.json",
  "data": {"type": "hdf5", "input_path": "seg.h5", "input_key": "input", "target_key": "input", "test_split": 0.25,
           "batch_size": 16, "transforms": [{"random_patches": {"number": 3, "size": 4}}]},
  "optimizer": {"type": "Adam", "learning_rate": 0.01}, "loss": {"function": "MSE"}}}
JSON
"$BIN" --config="$D/inpaint.json" --no-progress > "$D/inpaint.log" 2>&1 && [ "$(tail -n +2 "$D/inpaint_out_test.txt" | wc -l)" -eq 2 ] \
  && ok "inpainting with random_patches on hdf5 runs" || fail "inpainting run: $(tail -3 "$D/inpaint.log")"

# mistakes: located, named
bad() { # name transforms-json patterns...
  local name=$1 tf=$2; shift 2
  write_cfg "bad_$name" bad_ckpt 1 "$tf"
  expect_error "$name" "$D/bad_$name.json" "$@"
}
bad unknown '[{"random_vertical_flips": 0.5}]' "bad_unknown.json:4:" "neural_network.data.transforms[0].random_vertical_flips" \
  'did you mean "random_vertical_flip"'
bad two_keys '[{"resize": [12, 12], "normalize": {"std": 2}}]' "neural_network.data.transforms[0]" "one key; this one has 2"
bad p_range '[{"random_horizontal_flip": 2}]' "transforms[0].random_horizontal_flip" "p must be in [0, 1]"
bad negative '[{"resize": [12, -12]}]' "transforms[0].resize" "sizes must be positive"
bad color '[{"convert_color": "BGR2GREY"}]' "transforms[0].convert_color" 'did you mean "BGR2GRAY"' "RGB2BGR"
bad channels '[{"convert_color": "BGR2GRAY"}]' "neural_network.data.transforms" "BGR2GRAY reads 3 channels, the sample has 1"
bad varies '[{"jitter_crop": 0.2}]' "neural_network.data.transforms" 'add a "resize"'
bad patches '[{"random_patches": {"number": 2, "size": 20}}]' "random_patches" "do not fit in the 12 x 12 sample"
finish
