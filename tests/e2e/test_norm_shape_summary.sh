#!/usr/bin/env bash
# `brisk summary` of the normalization and shape layers: output shapes and
# parameter counts equal Keras' (computed by hand below), and bad configs
# fail with a message naming the layer, the key and the fix.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir norm_shape_summary)
cd "$D"
cat > net.json <<'JSON'
{"class_name": "Sequential", "config": {"name": "norms", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 8, 6, 4], "name": "in"}},
 {"class_name": "BatchNormalization", "config": {"name": "bn_h", "axis": 1}},
 {"class_name": "BatchNormalization", "config": {"name": "bn_hw", "axis": [1, 2]}},
 {"class_name": "LayerNormalization", "config": {"name": "ln", "axis": -1}},
 {"class_name": "LayerNormalization", "config": {"name": "ln_all", "axis": [1, 2, 3]}},
 {"class_name": "GroupNormalization", "config": {"name": "gn", "groups": 2}},
 {"class_name": "InstanceNormalization", "config": {"name": "in_tfa", "groups": -1, "axis": -1}},
 {"class_name": "InstanceNormalization", "config": {"name": "in_contrib", "axis": null}},
 {"class_name": "InstanceNormalization", "config": {"name": "in_contrib_c", "axis": -1, "center": false}},
 {"class_name": "ZeroPadding2D", "config": {"name": "zp", "padding": [[1, 0], [2, 1]]}},
 {"class_name": "Cropping2D", "config": {"name": "cr", "cropping": [[0, 1], [2, 1]]}},
 {"class_name": "UpSampling2D", "config": {"name": "up", "size": [2, 2], "interpolation": "bilinear"}},
 {"class_name": "SpatialDropout2D", "config": {"name": "sd", "rate": 0.2}},
 {"class_name": "Permute", "config": {"name": "perm", "dims": [3, 1, 2]}},
 {"class_name": "Flatten", "config": {"name": "flat"}},
 {"class_name": "Dense", "config": {"name": "fc", "units": 3}},
 {"class_name": "RepeatVector", "config": {"name": "rep", "n": 2}}]}}
JSON
cat > s.json <<'JSON'
{"neural_network": {"layers": "net.json", "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy"},
  "loss": {"function": "MSE"}}}
JSON
"$BIN" summary --config=s.json > summary.txt 2>&1 || fail "summary: $(cat summary.txt)"
# Keras: BatchNormalization axis=1 on (8, 6, 4): 4 x 8 (gamma, beta, moving mean and variance);
# axis=[1, 2]: 4 x 48; LayerNormalization axis=-1: 2 x 4, axis=[1, 2, 3]: 2 x 192;
# GroupNormalization and tfa InstanceNormalization: 2 x 4 (per channel); keras-contrib
# InstanceNormalization axis=None: 2 x 1, axis=-1 without center: 4; Dense 768 -> 3: 2307.
row() { # name class shape params
  grep -qE "^ $1 \($2\) +\(None, $3\) +$4\$" summary.txt && ok "$1: $3, $4 params" || fail "$1: expected ($3) and $4 params: $(grep " $1 " summary.txt)"
}
row bn_h BatchNormalization "8, 6, 4" 32
row bn_hw BatchNormalization "8, 6, 4" 192
row ln LayerNormalization "8, 6, 4" 8
row ln_all LayerNormalization "8, 6, 4" 384
row gn GroupNormalization "8, 6, 4" 8
row in_tfa InstanceNormalization "8, 6, 4" 8
row in_contrib InstanceNormalization "8, 6, 4" 2
row in_contrib_c InstanceNormalization "8, 6, 4" 4
row zp ZeroPadding2D "9, 9, 4" 0
row cr Cropping2D "8, 6, 4" 0
row up UpSampling2D "16, 12, 4" 0
row sd SpatialDropout2D "16, 12, 4" 0
row perm Permute "4, 16, 12" 0
row fc Dense 3 2307
row rep RepeatVector "2, 3" 0
grep -q "Total params: 2945" summary.txt && grep -q "Trainable params: 2833" summary.txt &&
  grep -q "Non-trainable params: 112" summary.txt && ok "totals (BN moving statistics non-trainable)" ||
  fail "totals: $(tail -5 summary.txt)"

# bad configs: exit 1 with the layer, the key and the fix in the message
bad() { # name layer-json pattern...
  local name=$1 layer=$2 err rc
  shift 2
  printf '{"class_name": "Sequential", "config": {"name": "bad", "layers": [\n {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 8, 6, 4], "name": "in"}},\n %s]}}\n' "$layer" > net.json
  err=$("$BIN" summary --config=s.json 2>&1 >/dev/null); rc=$?
  if [ "$rc" -ne 1 ]; then fail "$name: exit status $rc, expected 1: $err"; return; fi
  for pat in "$@"; do
    grep -qF -- "$pat" <<<"$err" || { fail "$name: message lacks '$pat': $err"; return; }
  done
  ok "$name ($err)"
}
bad "groups not dividing the channels" '{"class_name": "GroupNormalization", "config": {"name": "gn", "groups": 3}}' \
  '"gn"' 'groups 3' 'choose a divisor of 4'
bad "Permute dims not a permutation" '{"class_name": "Permute", "config": {"name": "perm", "dims": [1, 1, 2]}}' \
  '"perm"' 'net.json:3:' 'config.dims' 'permutation of 1..3'
bad "Permute of the wrong rank" '{"class_name": "Permute", "config": {"name": "perm", "dims": [2, 1]}}' \
  '"perm"' 'dims has 2 axes' 'list every axis'
bad "unsupported interpolation" '{"class_name": "UpSampling2D", "config": {"name": "up", "interpolation": "bicubic"}}' \
  '"up"' 'config.interpolation' 'use "nearest" or "bilinear"'
bad "cropping everything" '{"class_name": "Cropping2D", "config": {"name": "cr", "cropping": [[4, 4], [0, 0]]}}' \
  '"cr"' 'axis 1 of size 8' 'reduce "cropping"'
bad "axis out of range" '{"class_name": "LayerNormalization", "config": {"name": "ln", "axis": 5}}' \
  '"ln"' 'axis 5 is out of range' 'use axes 1..3'
bad "malformed padding" '{"class_name": "ZeroPadding2D", "config": {"name": "zp", "padding": [[1], [2]]}}' \
  '"zp"' 'config.padding' '[[top, bottom], [left, right]]'
bad "an axis twice" '{"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [1, 1]}}' \
  '"bn"' 'axis 1 is listed twice'
bad "RepeatVector of a feature map" '{"class_name": "RepeatVector", "config": {"name": "rep", "n": 2}}' \
  '"rep"' 'Flatten'
bad "UpSampling1D of an image" '{"class_name": "UpSampling1D", "config": {"name": "up1", "size": 2}}' \
  '"up1"' 'rank-2 input' '1D/2D/3D layer matching its 2 spatial axes'
bad "rms_scaling" '{"class_name": "LayerNormalization", "config": {"name": "ln", "rms_scaling": true}}' \
  '"ln"' 'config.rms_scaling' 'set it to false'
bad "channels_first" '{"class_name": "ZeroPadding2D", "config": {"name": "zp", "data_format": "channels_first"}}' \
  '"zp"' 'config.data_format' 'channels_last'
finish
