#!/usr/bin/env bash
# Bad input gets one clear error (file, place, fix) and exit status 1,
# never a crash or a silent wrong result.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir bad_input)
make_quadrants "$D" 64
small_net "$D"
cd "$D"

# cfg NAME DATA_JSON [EXTRA]: a config with the given data object
cfg() {
  cat > "$1.json" <<JSON
{"neural_network": {"num_epochs": 1, "layers": "net.json", ${3:-}
  "data": $2,
  "optimizer": {"type": "Adam", "learning_rate": 0.001},
  "loss": {"function": "NLL"}}}
JSON
}
GOOD='{"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 16}'

printf '{"neural_network": {\n  "num_epochs": 1\n  "layers": "net.json"}}\n' > syntax.json
expect_error "malformed JSON" syntax.json "syntax.json:3:3" "JSON syntax error"

cfg unknown_key '{"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_sizee": 16}'
expect_error "unknown key" unknown_key.json "unknown_key.json:2:" "neural_network.data.batch_sizee" 'did you mean "batch_size"'

cfg wrong_type '{"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": "big"}'
expect_error "wrong type" wrong_type.json "wrong_type.json:2:" "neural_network.data.batch_size" "integer"

cfg missing_file '{"type": "numpy", "input_path": "nothere.npy", "target_path": "y.npy"}'
expect_error "missing data file" missing_file.json "nothere.npy"

head -c 1000 x.npy > trunc.npy
cfg truncated '{"type": "numpy", "input_path": "trunc.npy", "target_path": "y.npy"}'
expect_error "truncated data file" truncated.json "trunc.npy"

"$PY" -c "import numpy as np; np.save('y_short.npy', np.zeros(10, np.int64))"
cfg mismatched '{"type": "numpy", "input_path": "x.npy", "target_path": "y_short.npy"}'
expect_error "mismatched sample counts" mismatched.json "y_short.npy" "64"

# Other spatial sizes than declared run (the reference CLI runs convolutional
# nets at any size), with a note naming both sizes and the Dense layer whose
# weights change; another channel count is an error naming both.
"$PY" -c "import numpy as np; np.save('x10.npy', np.zeros((64,1,10,10), np.float32))"
cfg shapes '{"type": "numpy", "input_path": "x10.npy", "target_path": "y.npy"}'
out=$("$BIN" --config=shapes.json --no-progress 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "^note: the training data are 10x10x1 where the network declares 12x12x1 (input \"in\").*layer \"fc1\" (Dense).*\[32, 200\], not \[32, 288\]" <<<"$out"; then
  ok "other spatial size: runs with a note naming both sizes and fc1"
else
  fail "other spatial size: status $rc, output: $out"
fi
"$PY" -c "import numpy as np; np.save('x3c.npy', np.zeros((64,12,12,3), np.float32))"
cfg channels '{"type": "numpy", "input_path": "x3c.npy", "target_path": "y.npy"}'
expect_error "channel count does not fit the model" channels.json "have shape [12, 12, 3]" 'input "in" takes 1 channel(s)' "declared 12x12x1"

sed 's/"Conv2D"/"Conv2d"/' net.json > net_badclass.json
cfg tmp "$GOOD"
sed 's/net.json/net_badclass.json/' tmp.json > badclass.json
expect_error "unknown layer class" badclass.json "net_badclass.json:" 'did you mean "Conv2D"'

sed 's/"units": 32/"units": -5/' net.json > net_badunits.json
sed 's/net.json/net_badunits.json/' tmp.json > badunits.json
expect_error "bad layer value" badunits.json "net_badunits.json:" "units" "fc1"

cat > net_badshape.json <<'JSON'
{"class_name": "Functional", "config": {"name": "f", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 12, 12, 1], "name": "in"}, "name": "in", "inbound_nodes": []},
 {"class_name": "Conv2D", "config": {"name": "a", "filters": 4, "kernel_size": 3, "padding": "same"}, "name": "a", "inbound_nodes": [[["in", 0, 0, {}]]]},
 {"class_name": "Conv2D", "config": {"name": "b", "filters": 4, "kernel_size": 3}, "name": "b", "inbound_nodes": [[["in", 0, 0, {}]]]},
 {"class_name": "Add", "config": {"name": "sum"}, "name": "sum", "inbound_nodes": [[["a", 0, 0, {}], ["b", 0, 0, {}]]]}],
 "input_layers": [["in", 0, 0]], "output_layers": [["sum", 0, 0]]}}
JSON
sed 's/net.json/net_badshape.json/' tmp.json > badshape.json
expect_error "merge shapes that do not fit" badshape.json '"sum"' "[12, 12, 4]" "[10, 10, 4]"

cfg bad_loss "$GOOD"
sed -i 's/"NLL"/"NLLL"/' bad_loss.json
expect_error "unknown loss" bad_loss.json "neural_network.loss.function" 'did you mean "NLL"'

cfg bad_optim "$GOOD"
sed -i 's/"Adam"/"Adamm"/' bad_optim.json
expect_error "unknown optimizer" bad_optim.json "neural_network.optimizer.type" 'did you mean "Adam"'

"$PY" -c "import numpy as np; np.save('y_big.npy', np.full(64, 7, np.int64))"
cfg bad_labels '{"type": "numpy", "input_path": "x.npy", "target_path": "y_big.npy", "batch_size": 16}'
expect_error "class index out of range" bad_labels.json "y_big.npy" "target class 7" "4 outputs"

# a loss that becomes NaN stops the run and keeps the last checkpoint
"$PY" -c "
import numpy as np
x = np.load('x.npy'); x[40:] = np.nan; np.save('x_nan.npy', x)"
cfg nan '{"type": "numpy", "input_path": "x_nan.npy", "target_path": "y.npy", "batch_size": 16, "shuffle": false}' '"checkpoints": {"save": "nan_ckpt"},'
expect_error "NaN stops the run" nan.json "became nan" "last good checkpoint is kept"

cfg no_load '{"type": "numpy", "test_input_path": "x.npy", "test_output_path": "pred.h5"}'
expect_error "inference without weights" no_load.json "checkpoints.load"

"$BIN" --config=/nonexistent/c.json >/dev/null 2>err.txt; rc=$?
{ [ $rc -eq 1 ] && grep -q "/nonexistent/c.json" err.txt; } && ok "missing config file" || fail "missing config file: rc $rc $(cat err.txt)"
finish
