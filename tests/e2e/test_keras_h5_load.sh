#!/usr/bin/env bash
# checkpoints.load through the CLI: Keras .h5 weights (converted from a brisk
# run, loaded back: the same predictions), transfer learning from .h5 (the
# reference CLI's "Skipping layer" lines and a warning), shape mismatches
# and corrupt files as clear errors, the reference CLI's checkpoint names
# (model_checkpoint_N.pt -> model_epoch_N.safetensors), and a real PyTorch
# .pt: a clear error whose conversion command works.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir keras_h5_load)
make_quadrants "$D" 256
small_net "$D"
cd "$D"
"$PY" -c "import h5py, torch" 2>/dev/null || { echo "skipped: h5py and torch are needed"; exit 77; }

cat > train.json <<'JSON'
{"neural_network": {"outfile": "out.txt", "num_epochs": 2, "seed": 3, "layers": "net.json",
  "checkpoints": {"save": "ckpt", "interval": 1},
  "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 32},
  "optimizer": {"type": "Adam", "learning_rate": 0.003},
  "loss": {"function": "NLL"}}}
JSON
"$BIN" --config=train.json --no-progress > train.log 2>&1 && ok "training" || fail "training: $(tail -3 train.log)"

# infer LOAD OUT [NET]: inference with checkpoints.load = LOAD into OUT.h5; log in OUT.log
infer() {
  cat > "$2.json" <<JSON
{"neural_network": {"layers": "${3:-net.json}", "checkpoints": {"load": "$1"},
  "data": {"type": "numpy", "test_input_path": "x.npy", "test_output_path": "$2.h5", "test_batch_size": 64}}}
JSON
  "$BIN" --config="$2.json" --no-progress > "$2.log" 2>&1
}
# same A B TOL: the predictions in A.h5 and B.h5 agree within TOL
same() {
  "$PY" - "$1.h5" "$2.h5" "$3" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p)["output"][:] for p in sys.argv[1:3])
d = float(np.abs(a - b).max()); print("max abs diff", d)
sys.exit(0 if a.shape == b.shape and d <= float(sys.argv[3]) else 1)
PY
}

infer ckpt/model_epoch_2.safetensors ref && ok "inference from brisk's checkpoint" || fail "reference inference: $(cat ref.log)"

# the reference CLI's name for the same file
infer ckpt/model_checkpoint_2.pt pt_name && ok "model_checkpoint_2.pt loads" || fail "model_checkpoint_2.pt: $(cat pt_name.log)"
grep -q "^./ckpt/model_checkpoint_2.pt is not there; brisk saved that epoch as ./ckpt/model_epoch_2.safetensors" pt_name.log \
  && ok "the fallback is said on the console" || fail "no fallback line: $(cat pt_name.log)"
same ref pt_name 0 >/dev/null && ok "model_checkpoint_2.pt gives model_epoch_2's predictions" || fail "fallback predictions differ"
infer ckpt/model_checkpoint_7.pt pt7
grep -q "model_checkpoint_7.pt: no such file, nor ./ckpt/model_epoch_7.safetensors" pt7.log \
  && ok "a missing epoch names both files" || fail "missing epoch: $(cat pt7.log)"

# brisk's checkpoint written as Keras 2 model.save would write it
"$PY" - <<'PY'
import json, struct, h5py, numpy as np
b = open("ckpt/model_epoch_2.safetensors", "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n])
w = {k: np.frombuffer(b[8+n+v["data_offsets"][0]:8+n+v["data_offsets"][1]], np.float32).reshape(v["shape"])
     for k, v in h.items() if k != "__metadata__"}
keras = {"conv1": [("kernel", w["conv1.weight"].transpose(2, 3, 1, 0)), ("bias", w["conv1.bias"])],
         "bn1": [("gamma", w["bn1.weight"]), ("beta", w["bn1.bias"]), ("moving_mean", w["bn1.running_mean"]),
                 ("moving_variance", w["bn1.running_var"])],
         "fc1": [("kernel", w["fc1.weight"].T), ("bias", w["fc1.bias"])],
         "fc2": [("kernel", w["fc2.weight"].T), ("bias", w["fc2.bias"])]}
names = ["in", "conv1", "bn1", "pool1", "flat", "fc1", "drop", "fc2"]
with h5py.File("model.h5", "w") as f:
    f.attrs["keras_version"] = b"2.13.1"; f.attrs["backend"] = b"tensorflow"
    g = f.create_group("model_weights")
    g.attrs["layer_names"] = np.array([s.encode() for s in names])
    for name in sorted(names):
        lg = g.create_group(name)
        ws = keras.get(name, [])
        lg.attrs["weight_names"] = np.array([f"{name}/{v}:0".encode() for v, _ in ws]) if ws else np.asarray([])
        for v, a in ws:
            lg.create_dataset(f"{name}/{v}:0", data=a)
PY
infer model.h5 from_h5 && ok "inference from a Keras .h5" || fail "h5 inference: $(cat from_h5.log)"
grep -q "^Loading model checkpoint from HDF5 file: ./model.h5 (Keras model.save, keras_version 2.13.1)" from_h5.log \
  && ok "HDF5 load line" || fail "no HDF5 line: $(cat from_h5.log)"
same ref from_h5 1e-6 >/dev/null && ok "the .h5 gives the checkpoint's predictions (Flatten -> Dense rows in Keras order)" \
  || fail ".h5 predictions differ: $(same ref from_h5 1e-6)"

# transfer learning from the .h5: a renamed head
sed 's/"name": "fc2", "units": 4/"name": "head", "units": 4/' net.json > net2.json
sed 's/"net.json"/"net2.json"/; s/"save": "ckpt", "interval": 1/"save": "ckpt2", "load": "model.h5"/; s/"num_epochs": 2/"num_epochs": 1/' \
  train.json > transfer.json
"$BIN" --config=transfer.json --no-progress > transfer.log 2>&1 && ok "transfer training from .h5" || fail "transfer: $(tail -3 transfer.log)"
grep -q "^   Skipping layer fc2: not found in model" transfer.log && ok "file layer the model lacks is listed" \
  || fail "no Skipping line: $(head -5 transfer.log)"
grep -q 'warning: ./model.h5 has no weights for layer(s) "head"; they keep their initial values' transfer.log \
  && ok "model layer the file lacks is warned about" || fail "no warning: $(head -5 transfer.log)"

# the same from brisk's own checkpoint: the reference CLI's lines for a .pt
sed 's/"load": "model.h5"/"load": "ckpt\/model_epoch_2.safetensors"/; s/"save": "ckpt2"/"save": "ckpt3"/' transfer.json > transfer_st.json
"$BIN" --config=transfer_st.json --no-progress > transfer_st.log 2>&1 \
  && grep -q "^   Skipping layer fc2: not found in model" transfer_st.log \
  && grep -q "^   Skipping parameter fc2.weight: not found in model" transfer_st.log \
  && grep -q "^   Skipping parameter fc2.bias: not found in model" transfer_st.log \
  && grep -q 'warning: ./ckpt/model_epoch_2.safetensors has no weights for layer(s) "head"' transfer_st.log \
  && ok "transfer from safetensors lists the skipped layer and parameters" || fail "safetensors transfer: $(head -8 transfer_st.log)"

# a layer whose config differs: a clear error, not a crash
sed 's/"name": "fc1", "units": 32/"name": "fc1", "units": 16/' net.json > net3.json
infer model.h5 mismatch net3.json; rc=$?
[ $rc -eq 1 ] && grep -q 'layer "fc1": Keras weight "fc1/kernel:0" has shape \[288, 32\] (\[32, 288\] in brisk.s layout) but the model.s fc1.weight is \[16, 288\]' mismatch.log \
  && ok "shape mismatch names layer, weight and shapes" || fail "mismatch (rc $rc): $(cat mismatch.log)"

# a NaN among the weights (a diverged model, or a corrupt file)
"$PY" -c "
import h5py, shutil, numpy as np
shutil.copy('model.h5', 'nan.h5')
with h5py.File('nan.h5', 'r+') as f:
    d = f['model_weights/fc1/fc1/kernel:0']; a = d[:]; a[5, 7] = np.nan; d[...] = a"
infer nan.h5 nan; rc=$?
[ $rc -eq 1 ] && grep -q 'layer "fc1": Keras weight "fc1/kernel:0" holds nan at index 167' nan.log \
  && ok "a NaN weight is an error naming it" || fail "nan (rc $rc): $(cat nan.log)"

# a truncated .h5
head -c 3000 model.h5 > cut.h5
infer cut.h5 cut; rc=$?
[ $rc -eq 1 ] && grep -q "cut.h5: cannot open as HDF5 .*truncated or corrupt" cut.log && ok "truncated .h5" || fail "cut (rc $rc): $(cat cut.log)"

# a real PyTorch .pt (zip, as torch.save and libtorch write) and a legacy pickle
"$PY" - <<'PY'
import json, struct, torch, numpy as np
b = open("ckpt/model_epoch_2.safetensors", "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n])
sd = {k: torch.from_numpy(np.frombuffer(b[8+n+v["data_offsets"][0]:8+n+v["data_offsets"][1]], np.float32).reshape(v["shape"]).copy())
      for k, v in h.items() if k != "__metadata__"}
sd["bn1.num_batches_tracked"] = torch.tensor(16)
torch.save(sd, "torch.pt")
torch.save(sd, "legacy.pt", _use_new_zipfile_serialization=False)
PY
infer torch.pt torch_pt; rc=$?
[ $rc -eq 1 ] && grep -q "torch.pt: a PyTorch/libtorch file (a zip archive without a Keras model.weights.h5)" torch_pt.log \
  && ok "a zip .pt is a clear error" || fail "torch.pt (rc $rc): $(cat torch_pt.log)"
infer legacy.pt legacy_pt; rc=$?
[ $rc -eq 1 ] && grep -q "legacy.pt: a PyTorch/libtorch file (a pickle" legacy_pt.log \
  && ok "a pickle .pt is a clear error" || fail "legacy.pt (rc $rc): $(cat legacy_pt.log)"
# run the command the message gives, as a user would paste it
for f in torch legacy; do
  sed -n '/^python3 -c /,$p' ${f}_pt.log | sed "s/OUT\.safetensors/converted_$f.safetensors/" > convert_$f.sh
  PATH=/usr/bin:$PATH bash convert_$f.sh && infer converted_$f.safetensors conv_$f \
    && same ref conv_$f 0 >/dev/null && ok "the suggested conversion of $f.pt works" || fail "conversion of $f.pt: $(cat convert_$f.sh; cat conv_$f.log)"
done

printf 'not weights at all\n' > notes.pt
infer notes.pt notes; rc=$?
[ $rc -eq 1 ] && grep -q "notes.pt: not a weights file brisk knows .*safetensors checkpoints .*Keras HDF5 weights" notes.log \
  && ok "an unknown format names what brisk reads" || fail "notes.pt (rc $rc): $(cat notes.log)"
finish
