#!/usr/bin/env bash
# The images loader's speed (BENCHMARKS.md, "Images loader"):
#  1. decoding: images/s per core for JPEG and PNG at 224x224 RGB and 28x28
#     gray (bench/image_bench.c), and through a dataset's thread pool;
#  2. training from image folders: the [Data: ..%] share (time the trainer
#     waits for batches) and samples/s of a small CNN at batch 64 on 28x28
#     gray JPEGs and of a ResNet-18 at batch 64 on 64x64 RGB JPEGs, next to
#     the same pixels from a .npy file (no decoding at all).
#
#   cmake --build build --target image_bench brisk_cli && bench/images_bench.sh [OUTDIR]
# Needs python3 with numpy, PIL and torch (bench/models.py). Reports; never asserts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=${1:-/tmp/brisk_images_bench}
PY=/usr/bin/python3
mkdir -p "$OUT"
cd "$OUT"

echo "== $(date -u +%Y-%m-%d), commit $(git -C "$ROOT" rev-parse --short HEAD)"
lscpu | grep -E "^Model name|^CPU\(s\)|^Thread|^Core" | sed 's/  */ /g'
echo "OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset} BRISK_DATA_THREADS=${BRISK_DATA_THREADS:-unset}; load: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - <<'PY'
# Photo-like test images: smooth colour fields, a few shapes, mild noise
# (pure noise would make JPEG and PNG files, and their decoding, unrealistically heavy).
import os, numpy as np
from PIL import Image, ImageDraw
rng = np.random.default_rng(0)
def picture(size, k=None):
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([np.sin(3 * xx + rng.uniform(0, 6)) , np.cos(2 * yy + rng.uniform(0, 6)), xx * yy], -1)
    a = (base * 0.5 + 0.5) * rng.uniform(80, 200, 3)
    im = Image.fromarray(np.clip(a + rng.normal(0, 6, a.shape), 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(4):
        x0, y0 = rng.integers(0, size, 2)
        s = rng.integers(size // 8, size // 3)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x0 + s, y0 + s], fill=fill)
    if k is not None:  # a class mark: a bar whose direction is the class
        c = size // 2
        d.line([(c - size // 3, c), (c + size // 3, c)] if k == 0 else [(c, c - size // 3), (c, c + size // 3)],
               fill=(255, 255, 255), width=max(2, size // 10))
    return im
def folder(name, n, size, fmt, gray):
    if os.path.isdir(name): return
    os.makedirs(name)
    for i in range(n):
        im = picture(size)
        (im.convert("L") if gray else im).save(f"{name}/{i:04d}.{fmt}", **({"quality": 90} if fmt == "jpg" else {}))
folder("jpg224", 200, 224, "jpg", False); folder("png224", 200, 224, "png", False)
folder("jpg28", 1000, 28, "jpg", True); folder("png28", 1000, 28, "png", True)
# training sets: class folders
for name, n, size, gray in (("train28", 6000, 28, True), ("train64", 1280, 64, False)):
    if os.path.isdir(name): continue
    xs, ys = [], []
    for i in range(n):
        k = i % 2
        im = picture(size, k)
        im = im.convert("L") if gray else im
        os.makedirs(f"{name}/c{k}", exist_ok=True)
        im.save(f"{name}/c{k}/{i:05d}.jpg", quality=90)
    # the same pixels as .npy, in the loader's order (sorted paths) and layout ([C,H,W], BGR)
    files = sorted(f"c{k}/{f}" for k in (0, 1) for f in os.listdir(f"{name}/c{k}"))
    x = []
    for f in files:
        a = np.asarray(Image.open(f"{name}/{f}"), dtype=np.float32) / 255
        x.append(a[None] if gray else a[:, :, ::-1].transpose(2, 0, 1))
    np.save(f"{name}_x.npy", np.stack(x)); np.save(f"{name}_y.npy", np.array([int(f[1]) for f in files]))
PY

echo "-- decoding (file read + decode + float [C,H,W])"
for d in jpg224 png224; do "$BUILD/bench/image_bench" "$d" --seconds 3; done
for d in jpg28 png28; do "$BUILD/bench/image_bench" "$d" --gray --seconds 3; done

"$PY" - "$ROOT" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1] + "/bench")
import models
json.dump(models.fashion_cnn()[0], open("cnn28.json", "w"))
net = models.resnet18(64)[0]
for l in net["config"]["layers"]:  # 2 classes, not 1000
    if l["class_name"] == "Dense" and l["config"].get("units", 0) > 2: l["config"]["units"] = 2
json.dump(net, open("resnet64.json", "w"))
PY

# run NAME NET EPOCHS 'DATA KEYS': trains, prints the last [Data: ..%] and the last epoch's samples/s
run() {
  cat > "$1.json" <<JSON
{"neural_network": {"outfile": "out_$1.txt", "num_epochs": $3, "seed": 1, "layers": "$2", "log_interval": 10,
  "data": {$4, "batch_size": 64},
  "optimizer": {"type": "Adam", "learning_rate": 0.001}, "loss": {"function": "CrossEntropy"}}}
JSON
  "$BUILD/brisk" --config="$1.json" --no-progress > "$1.log" 2>&1 || { tail -3 "$1.log"; return 1; }
  local data sps
  data=$(grep -o "Data: *[0-9]*%" "$1.log" | tail -1 | tr -s ' ')
  sps=$(tail -n 1 "out_$1_train.txt" | awk -F'\t' 'NR==1 {print $0}' | cut -f5)
  printf "%-32s %s, %s samples/s (last epoch)\n" "$1" "$data" "$sps"
}
echo "-- training, batch 64 (OMP threads: ${OMP_NUM_THREADS:-all})"
run cnn28_jpeg cnn28.json 2 '"input_type": "images", "target_type": "labels", "input_path": "train28", "grayscale": true'
run cnn28_jpeg_preload cnn28.json 2 '"input_type": "images", "target_type": "labels", "input_path": "train28", "grayscale": true, "preload": true'
run cnn28_npy cnn28.json 2 '"type": "numpy", "input_path": "train28_x.npy", "target_path": "train28_y.npy"'
run resnet64_jpeg resnet64.json 1 '"input_type": "images", "target_type": "labels", "input_path": "train64"'
run resnet64_npy resnet64.json 1 '"type": "numpy", "input_path": "train64_x.npy", "target_path": "train64_y.npy"'
