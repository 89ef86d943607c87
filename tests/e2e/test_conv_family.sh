#!/usr/bin/env bash
# The convolution family from the command line: `brisk summary` gives
# Keras' parameter counts and output shapes for grouped, depthwise,
# separable and transposed convolutions (1D/2D/3D; numbers worked out by
# hand below), CookieNetAE's full-size network counts as its PyTorch
# original does and a reduced one trains, and bad configs get placed errors.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir conv_family)
cd "$D"

# run_cfg NAME NET X_SHAPE Y_SHAPE: a run config over zero data of those per-sample shapes
run_cfg() {
  "$PY" -c "
import numpy as np, sys
np.save('$1_x.npy', np.zeros((4,) + $3, np.float32)); np.save('$1_y.npy', np.zeros((4,) + $4, np.float32))"
  cat > "$1.json" <<JSON
{"neural_network": {"num_epochs": 1, "layers": "$2",
  "data": {"type": "numpy", "input_path": "$1_x.npy", "target_path": "$1_y.npy", "batch_size": 2},
  "optimizer": {"type": "Adam", "learning_rate": 0.001}, "loss": {"function": "MSE"}}}
JSON
}

# seq NAME KERAS_INPUT_SHAPE LAYERS...: a Sequential network file NAME.json
seq() {
  local name=$1 shape=$2; shift 2
  local IFS=,
  printf '{"class_name": "Sequential", "config": {"name": "%s", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, %s], "name": "in"}}, %s]}}\n' \
    "$name" "$shape" "$*" > "$name.json"
}

# expect_row SUMMARY LAYER CLASS SHAPE PARAMS: the summary has that row
expect_row() {
  if grep -Eq "^ $2 \($3\) +\(None, $4\) +$5\$" "$1"; then ok "summary: $2 ($3) $4 has $5 parameters"
  else fail "summary: no row '$2 ($3) (None, $4) $5' in $(cat "$1")"; fi
}

# 2D: groups 3 (6*1*9 + 6 = 60); depthwise dm 2 (12*1*9 + 12 = 120);
# separable dm 2 (depthwise 9*12*2 = 216, pointwise 12*2*8 = 192, bias 8: 416);
# transposed 2x2 stride 2 (8*4*4 + 4 = 132); transposed 3x3 stride 2 "same",
# output_padding 1, no bias (4*2*9 = 72; (28-1)*2 + 3 - 2*1 + 1 = 56)
seq net2d "16, 16, 3" \
  '{"class_name": "Conv2D", "config": {"name": "g", "filters": 6, "kernel_size": [3, 3], "groups": 3, "padding": "same"}}' \
  '{"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": 3, "depth_multiplier": 2, "padding": "same"}}' \
  '{"class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 8, "kernel_size": 3, "depth_multiplier": 2}}' \
  '{"class_name": "Conv2DTranspose", "config": {"name": "up", "filters": 4, "kernel_size": 2, "strides": 2, "output_padding": null}}' \
  '{"class_name": "Conv2DTranspose", "config": {"name": "up2", "filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1, "use_bias": false}}'
run_cfg s2d net2d.json "(16, 16, 3)" "(56, 56, 2)"
"$BIN" summary --config=s2d.json > s2d.txt 2>&1 || fail "summary 2D: $(cat s2d.txt)"
expect_row s2d.txt g Conv2D "16, 16, 6" 60
expect_row s2d.txt dw DepthwiseConv2D "16, 16, 12" 120
expect_row s2d.txt sep SeparableConv2D "14, 14, 8" 416
expect_row s2d.txt up Conv2DTranspose "28, 28, 4" 132
expect_row s2d.txt up2 Conv2DTranspose "56, 56, 2" 72
grep -q "Total params: 800" s2d.txt && ok "2D total 800" || fail "2D total: $(cat s2d.txt)"

# 1D: transposed k3 s2 (4*3*3 + 3 = 39; 20*2 + 1 = 41); depthwise k4 dm3
# (9*1*4 + 9 = 45); separable k3 s2 "same" (3*9 + 9*5 + 5 = 77); groups 5
# (10*1*2 + 10 = 30)
seq net1d "20, 4" \
  '{"class_name": "Conv1DTranspose", "config": {"name": "t1", "filters": 3, "kernel_size": 3, "strides": 2}}' \
  '{"class_name": "DepthwiseConv1D", "config": {"name": "d1", "kernel_size": 4, "depth_multiplier": 3}}' \
  '{"class_name": "SeparableConv1D", "config": {"name": "s1", "filters": 5, "kernel_size": 3, "strides": 2, "padding": "same"}}' \
  '{"class_name": "Conv1D", "config": {"name": "g1", "filters": 10, "kernel_size": 2, "groups": 5}}'
run_cfg s1d net1d.json "(20, 4)" "(18, 10)"
"$BIN" summary --config=s1d.json > s1d.txt 2>&1 || fail "summary 1D: $(cat s1d.txt)"
expect_row s1d.txt t1 Conv1DTranspose "41, 3" 39
expect_row s1d.txt d1 DepthwiseConv1D "38, 9" 45
expect_row s1d.txt s1 SeparableConv1D "19, 5" 77
expect_row s1d.txt g1 Conv1D "18, 10" 30
grep -q "Total params: 191" s1d.txt && ok "1D total 191" || fail "1D total: $(cat s1d.txt)"

# 3D: transposed k2 s2 (2*3*8 + 3 = 51); depthwise k3 dm2 (6*1*27 + 6 = 168)
seq net3d "4, 4, 4, 2" \
  '{"class_name": "Conv3DTranspose", "config": {"name": "t3", "filters": 3, "kernel_size": 2, "strides": 2}}' \
  '{"class_name": "DepthwiseConv3D", "config": {"name": "d3", "kernel_size": 3, "depth_multiplier": 2}}'
run_cfg s3d net3d.json "(4, 4, 4, 2)" "(6, 6, 6, 6)"
"$BIN" summary --config=s3d.json > s3d.txt 2>&1 || fail "summary 3D: $(cat s3d.txt)"
expect_row s3d.txt t3 Conv3DTranspose "8, 8, 8, 3" 51
expect_row s3d.txt d3 DepthwiseConv3D "6, 6, 6, 6" 168
grep -q "Total params: 219" s3d.txt && ok "3D total 219" || fail "3D total: $(cat s3d.txt)"

# CookieNetAE (models-and-data.md). Full size: 160 + 4640 + 18496 + 73856
# (encoder) + 65664 + 32832 + 8224 (2x2 stride-2 transposed) + 4624 (3x3
# "same", PyTorch's padding 1) + 145 = 208641, as the PyTorch model has.
cookie() {  # cookie NAME SIZE
  seq "$1" "$2, $2, 1" \
    '{"class_name": "Conv2D", "config": {"name": "enc1", "filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"}}' \
    '{"class_name": "MaxPooling2D", "config": {"name": "pool1", "pool_size": 2}}' \
    '{"class_name": "Conv2D", "config": {"name": "enc2", "filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}}' \
    '{"class_name": "MaxPooling2D", "config": {"name": "pool2", "pool_size": 2}}' \
    '{"class_name": "Conv2D", "config": {"name": "enc3", "filters": 64, "kernel_size": 3, "padding": "same", "activation": "relu"}}' \
    '{"class_name": "MaxPooling2D", "config": {"name": "pool3", "pool_size": 2}}' \
    '{"class_name": "Conv2D", "config": {"name": "enc4", "filters": 128, "kernel_size": 3, "padding": "same", "activation": "relu"}}' \
    '{"class_name": "Conv2DTranspose", "config": {"name": "dec1", "filters": 128, "kernel_size": 2, "strides": 2, "activation": "relu"}}' \
    '{"class_name": "Conv2DTranspose", "config": {"name": "dec2", "filters": 64, "kernel_size": 2, "strides": 2, "activation": "relu"}}' \
    '{"class_name": "Conv2DTranspose", "config": {"name": "dec3", "filters": 32, "kernel_size": 2, "strides": 2, "activation": "relu"}}' \
    '{"class_name": "Conv2DTranspose", "config": {"name": "dec4", "filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"}}' \
    '{"class_name": "Conv2D", "config": {"name": "out", "filters": 1, "kernel_size": 3, "padding": "same", "activation": "relu"}}'
}
cookie cookie128 128
run_cfg sc cookie128.json "(128, 128, 1)" "(128, 128, 1)"
"$BIN" summary --config=sc.json > sc.txt 2>&1 || fail "summary CookieNetAE: $(cat sc.txt)"
expect_row sc.txt dec1 Conv2DTranspose "32, 32, 128" 65664
expect_row sc.txt dec3 Conv2DTranspose "128, 128, 32" 8224
expect_row sc.txt dec4 Conv2DTranspose "128, 128, 16" 4624
expect_row sc.txt out Conv2D "128, 128, 1" 145
grep -q "Total params: 208641" sc.txt && ok "CookieNetAE total 208641" || fail "CookieNetAE total: $(cat sc.txt)"

# the same network on 32x32 images learns to denoise blobs (the loss falls)
cookie cookie32 32
"$PY" - <<'PY'
import numpy as np
r = np.random.default_rng(3)
yy, xx = np.mgrid[:32, :32]
y = np.stack([np.exp(-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / 20.0) for c in r.integers(6, 26, (64, 2))])[..., None]
np.save("cy.npy", y.astype(np.float32)); np.save("cx.npy", r.poisson(3 * y).astype(np.float32))
PY
cat > ctrain.json <<'JSON'
{"neural_network": {"outfile": "out.txt", "num_epochs": 4, "seed": 1, "layers": "cookie32.json",
  "data": {"type": "numpy", "input_path": "cx.npy", "target_path": "cy.npy", "batch_size": 16},
  "optimizer": {"type": "Adam", "learning_rate": 0.001}, "loss": {"function": "MSE"}}}
JSON
"$BIN" --config=ctrain.json --no-progress > ctrain.log 2>&1 && ok "CookieNetAE (32x32) trains" || fail "CookieNetAE training: $(tail -3 ctrain.log)"
awk 'NR==2 {a=$2} NR==5 {b=$2} END {exit !(b < a)}' out_train.txt && ok "CookieNetAE loss falls" || fail "CookieNetAE loss: $(cat out_train.txt)"

# bad configs: one placed error each
bad() {  # bad NAME LAYER PATTERN...
  local name=$1 layer=$2; shift 2
  seq "net_$name" "8, 8, 4" "$layer"
  run_cfg "$name" "net_$name.json" "(8, 8, 4)" "(8, 8, 4)"
  expect_error "$name" "$name.json" "net_$name.json:" "$@"
}
bad outpad_stride '{"class_name": "Conv2DTranspose", "config": {"name": "t", "filters": 2, "kernel_size": 3, "strides": 2, "output_padding": [1, 2]}}' \
  "config.output_padding" "smaller than the stride"
bad channels_first '{"class_name": "Conv2DTranspose", "config": {"name": "t", "filters": 2, "kernel_size": 3, "data_format": "channels_first"}}' \
  "config.data_format" "channels_last" '"t"'
bad dw_channels_first '{"class_name": "DepthwiseConv2D", "config": {"name": "d", "kernel_size": 3, "data_format": "channels_first"}}' \
  "config.data_format" '"d"'
bad groups_filters '{"class_name": "Conv2D", "config": {"name": "g", "filters": 5, "kernel_size": 3, "groups": 2}}' \
  "config.groups" "does not divide filters 5"
bad groups_channels '{"class_name": "Conv2D", "config": {"name": "g", "filters": 6, "kernel_size": 3, "groups": 3}}' \
  '"g"' "4 channels" '"groups": 3'
bad convt_groups '{"class_name": "Conv2DTranspose", "config": {"name": "t", "filters": 4, "kernel_size": 3, "groups": 2}}' \
  "config.groups" "groups 1"
bad convt_int_padding '{"class_name": "Conv2DTranspose", "config": {"name": "t", "filters": 4, "kernel_size": 3, "padding": 1}}' \
  "config.padding" '"valid" or "same"'
bad depth_multiplier '{"class_name": "SeparableConv2D", "config": {"name": "s", "filters": 4, "kernel_size": 3, "depth_multiplier": 0}}' \
  "config.depth_multiplier" "positive"
bad no_filters '{"class_name": "Conv2DTranspose", "config": {"name": "t", "kernel_size": 3}}' \
  "config.filters" "required"
bad wrong_rank '{"class_name": "Conv1DTranspose", "config": {"name": "t", "filters": 2, "kernel_size": 3}}' \
  '"t"' "1D input"
finish
