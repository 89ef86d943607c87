#!/usr/bin/env bash
# The images loader end to end: the reference CLI's smoke-test form (JPEG
# class folders under training/ and testing/, training_tag/test_tag,
# grayscale, batch 16, its network) trains to well above chance; a
# segmentation form (PNG images + PNG masks) trains too; inference over a
# folder; and the config and data errors.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir images)
cd "$D"

# Three classes of 28x28 colour JPEGs, told apart by shape only (a
# horizontal bar, a vertical bar, a diagonal), each at a random place and
# colour on noise, saved as JPEG by PIL.
"$PY" - <<'PY'
import os, numpy as np
from PIL import Image
rng = np.random.default_rng(3)
def draw(k):
    a = rng.normal(60, 25, (28, 28, 3))
    c = rng.uniform(150, 255, 3)
    p = rng.integers(4, 20)
    if k == 0: a[p:p + 4, 3:25] = c
    elif k == 1: a[3:25, p:p + 4] = c
    else:
        for i in range(22): a[3 + i, max(0, 3 + i - 2):3 + i + 2] = c
    return np.clip(a, 0, 255).astype(np.uint8)
for split, n in (("training", 120), ("testing", 40)):
    for k in range(3):
        d = f"data/mnist_jpg/{split}/{k}"
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            Image.fromarray(draw(k)).save(f"{d}/{k}_{i:03d}.jpg", quality=90)
open("data/mnist_jpg/training/README.txt", "w").write("synthetic classes\n")
PY
[ "$(find data/mnist_jpg/training -name '*.jpg' | wc -l)" -eq 360 ] && ok "data written" || fail "data generation"

# the smoke test's network (its inline layer list, here in a file), with 3 outputs
cat > net.json <<'JSON'
{"class_name": "Sequential", "config": {"name": "smoke", "layers": [
 {"class_name": "Conv2D", "config": {"name": "conv1", "batch_input_shape": [null, 28, 28, 1], "filters": 10,
   "kernel_size": [5, 5], "activation": "linear", "use_bias": true}},
 {"class_name": "MaxPooling2D", "config": {"name": "max_pool_1", "pool_size": [2, 2]}},
 {"class_name": "Activation", "config": {"name": "relu_1", "activation": "relu"}},
 {"class_name": "Conv2D", "config": {"name": "conv2", "filters": 20, "kernel_size": [5, 5], "activation": "linear"}},
 {"class_name": "SpatialDropout2D", "config": {"name": "spat_drop", "rate": 0}},
 {"class_name": "MaxPooling2D", "config": {"name": "max_pool_2", "pool_size": [2, 2]}},
 {"class_name": "Activation", "config": {"name": "relu_2", "activation": "relu"}},
 {"class_name": "Flatten", "config": {"name": "flatten_1", "data_format": "channels_last"}},
 {"class_name": "Dense", "config": {"name": "fc1", "units": 50, "activation": "linear", "use_bias": true}},
 {"class_name": "Activation", "config": {"name": "relu_3", "activation": "relu"}},
 {"class_name": "Dropout", "config": {"name": "dropout", "rate": 0}},
 {"class_name": "Dense", "config": {"name": "fc2", "units": 3, "activation": "linear", "use_bias": true}},
 {"class_name": "Activation", "config": {"name": "softmax", "activation": "log_softmax", "axis": 1}}]}}
JSON
# smoke_cfg NAME 'DATA KEYS': the smoke test's config with its data section's keys replaced
smoke_cfg() {
  cat > "$1.json" <<JSON
{"neural_network": {"outfile": "out_$1.txt", "num_epochs": 8, "seed": 1, "layers": "net.json",
  "checkpoints": {"save": "ckpt_$1"},
  "data": {$2},
  "optimizer": {"type": "SGD", "learning_rate": 0.01, "momentum": 0.5},
  "loss": {"function": "NLL"}}}
JSON
}
SMOKE='"input_type": "images", "input_path": "./data/mnist_jpg/training/", "test_input_path": "./data/mnist_jpg/testing/",
       "target_type": "labels", "batch_size": 16, "training_tag": "training", "test_tag": "testing", "grayscale": true'
smoke_cfg smoke "$SMOKE"
"$BIN" --config=smoke.json --no-progress > smoke.log 2>&1 && ok "smoke-test form trains" || fail "smoke: $(tail -3 smoke.log)"
grep -q "Training images: 360 in .*training/ (3 classes)" smoke.log && ok "360 images, 3 classes found" \
  || fail "discovery line: $(head -3 smoke.log)"
grep -q "Batch \[   23/   23\]" smoke.log && ok "batch 16: 23 batches of 360" || fail "batches: $(grep Batch smoke.log | head -2)"
acc=$(tail -n 1 out_smoke_test.txt | cut -f3)
awk -v a="$acc" 'BEGIN {exit !(a >= 0.95)}' && ok "test accuracy $acc (chance 0.33)" || fail "test accuracy $acc: $(cat out_smoke_test.txt)"
data=$(grep -o "Data: *[0-9]*%" smoke.log | tail -1)
echo "data wait share: $data"

# preload, and the same again with one data thread: the same run, to the bit
smoke_cfg preload "$SMOKE, \"preload\": true"
BRISK_DATA_THREADS=1 "$BIN" --config=preload.json --no-progress > preload.log 2>&1 && ok "preload trains" \
  || fail "preload: $(tail -3 preload.log)"
cmp -s ckpt_smoke/model_final.safetensors ckpt_preload/model_final.safetensors \
  && ok "preload and 1 thread give the same weights as decoding per batch on all threads" || fail "weights differ with preload"

# inference over a folder of images without classes
mkdir -p unlabelled && cp data/mnist_jpg/testing/1/1_00[0-4].jpg unlabelled/
cat > infer.json <<'JSON'
{"neural_network": {"layers": "net.json", "checkpoints": {"load": "ckpt_smoke/model_final.safetensors"},
  "data": {"input_type": "images", "test_input_path": "unlabelled", "test_output_path": "pred.h5", "grayscale": true}}}
JSON
"$BIN" --config=infer.json --no-progress > infer.log 2>&1 && ok "inference over a folder" || fail "inference: $(tail -3 infer.log)"
"$PY" -c "
import h5py, numpy as np
p = h5py.File('pred.h5')['output'][:]
assert p.shape == (5, 3), p.shape
assert (p.argmax(1) == 1).sum() >= 4, p
" && ok "predictions: the vertical bars are class 1" || fail "predictions: $(ls)"

# segmentation: RGB PNG images, gray PNG masks (0/255 -> 0/1), paired by name, BCE on a sigmoid
"$PY" - <<'PY'
import os, numpy as np
from PIL import Image
rng = np.random.default_rng(4)
for split, n in (("train", 160), ("test", 40)):
    os.makedirs(f"seg/{split}/img", exist_ok=True); os.makedirs(f"seg/{split}/mask", exist_ok=True)
    for i in range(n):
        a = rng.normal(90, 30, (24, 24, 3)); m = np.zeros((24, 24), np.uint8)
        y, x, s = rng.integers(2, 12), rng.integers(2, 12), rng.integers(6, 11)
        a[y:y + s, x:x + s] += rng.uniform(60, 120, 3); m[y:y + s, x:x + s] = 255
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(f"seg/{split}/img/s{i:03d}.png")
        Image.fromarray(m).save(f"seg/{split}/mask/s{i:03d}.png")
PY
cat > segnet.json <<'JSON'
{"class_name": "Sequential", "config": {"name": "seg", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 24, 24, 3], "name": "in"}},
 {"class_name": "Conv2D", "config": {"name": "c1", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}},
 {"class_name": "Conv2D", "config": {"name": "c2", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}},
 {"class_name": "Conv2D", "config": {"name": "c3", "filters": 1, "kernel_size": 1, "activation": "sigmoid"}}]}}
JSON
cat > seg.json <<'JSON'
{"neural_network": {"outfile": "out_seg.txt", "num_epochs": 8, "seed": 2, "layers": "segnet.json",
  "data": {"type": "images", "input_path": "seg/train/img/", "target_path": "seg/train/mask/",
           "test_input_path": "seg/test/img/", "test_target_path": "seg/test/mask/",
           "batch_size": 16, "preload": true, "target_grayscale": true, "target_is_mask": true},
  "optimizer": {"type": "Adam", "learning_rate": 0.03},
  "loss": {"function": "BCE"}}}
JSON
"$BIN" --config=seg.json --no-progress > seg.log 2>&1 && ok "segmentation form trains" || fail "segmentation: $(tail -3 seg.log)"
"$PY" - <<'PY' && ok "segmentation: test loss falls, pixel accuracy above the all-background rate" || fail "segmentation: $(cat out_seg_test.txt)"
rows = [l.split("\t") for l in open("out_seg_test.txt").read().split("\n")[1:] if l]
first, last = float(rows[0][1]), float(rows[-1][1])
acc = float(rows[-1][2])
print("test BCE", first, "->", last, "accuracy", acc)
assert last < 0.6 * first and acc > 0.95, (first, last, acc)
PY

# bad configs and data: one clear error each
cfg() { smoke_cfg "$1" "$2"; }
cfg tag_no_labels '"input_type": "images", "input_path": "data/mnist_jpg/training", "training_tag": "training"'
expect_error "tag without labels" tag_no_labels.json "neural_network.data.training_tag" "needs target_type \"labels\""
cfg labels_and_masks '"input_type": "images", "target_type": "labels", "input_path": "seg/train/img", "target_path": "seg/train/mask"'
expect_error "labels and target_path" labels_and_masks.json "neural_network.data.target_path" "folder name"
cfg gray_numpy '"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "grayscale": true'
expect_error "grayscale on numpy" gray_numpy.json "neural_network.data.grayscale" "only the \"images\" loader"
cfg two_tags '"input_type": "images", "target_type": "labels", "input_path": "data/mnist_jpg/training", "test_tag": "a", "testing_tag": "a"'
expect_error "test_tag and testing_tag" two_tags.json "testing_tag" "keep one"
cfg labels_input '"type": "labels", "input_path": "data"'
expect_error "labels as an input type" labels_input.json "neural_network.data.type" "input_type \"images\""
cfg no_targets '"type": "images", "input_path": "seg/train/img"'
expect_error "training images without targets" no_targets.json "has no targets" "target_type \"labels\""
cfg missing '"input_type": "images", "target_type": "labels", "input_path": "nowhere"'
expect_error "missing folder" missing.json "neural_network.data.input_path" "nowhere: no such folder"
mkdir -p flat && cp data/mnist_jpg/training/0/0_00[0-2].jpg flat/
cfg flat '"input_type": "images", "target_type": "labels", "input_path": "flat", "grayscale": true'
expect_error "no class folders" flat.json "flat: no class folders"
# a test class the training set lacks
mkdir -p extra/training/0 extra/training/1 extra/testing/5
cp data/mnist_jpg/training/0/0_000.jpg extra/training/0/; cp data/mnist_jpg/training/1/1_000.jpg extra/training/1/
cp data/mnist_jpg/testing/2/2_000.jpg extra/testing/5/
cfg extra '"input_type": "images", "target_type": "labels", "input_path": "extra/training", "test_input_path": "extra/testing", "grayscale": true, "training_tag": "training", "testing_tag": "testing"'
expect_error "test class not in training" extra.json "neural_network.data.test_input_path" "class \"5\" is not one of the 2 classes"
# a truncated JPEG mid-training: the file named
mkdir -p trunc/0 trunc/1 && cp data/mnist_jpg/training/0/0_00[0-9].jpg trunc/0/ && cp data/mnist_jpg/training/1/1_00[0-9].jpg trunc/1/
f=data/mnist_jpg/training/1/1_010.jpg
head -c $(( $(stat -c %s $f) * 2 / 3 )) $f > trunc/1/1_bad.jpg
cfg trunc '"input_type": "images", "target_type": "labels", "input_path": "trunc", "grayscale": true'
expect_error "truncated JPEG" trunc.json "trunc/1/1_bad.jpg" "truncated JPEG"
# a mask of the wrong size
mkdir -p badseg/img badseg/mask && cp seg/train/img/s00[0-3].png badseg/img/ && cp seg/train/mask/s00[0-3].png badseg/mask/
"$PY" -c "from PIL import Image; Image.new('L', (20, 24)).save('badseg/mask/s002.png')"
sed 's#seg/train/img/#badseg/img/#; s#seg/train/mask/#badseg/mask/#; s#"test_input_path": "seg/test/img/", "test_target_path": "seg/test/mask/",##' seg.json > badseg.json
expect_error "mask of the wrong size" badseg.json "badseg/mask/s002.png: target of 20x24 pixels, but its input" "badseg/img/s002.png is 24x24"
# mixed sizes without a resize
mkdir -p mixed/0 mixed/1 && cp data/mnist_jpg/training/0/0_00[0-3].jpg mixed/0/ && cp data/mnist_jpg/training/1/1_00[0-3].jpg mixed/1/
"$PY" -c "from PIL import Image; Image.new('RGB', (32, 28)).save('mixed/1/big.jpg')"
cfg mixed '"input_type": "images", "target_type": "labels", "input_path": "mixed", "grayscale": true, "preload": true'
expect_error "mixed sizes" mixed.json "mixed/1/big.jpg: image of 32x28 pixels" "add a \"resize\" transform"
finish
