#!/usr/bin/env bash
# The PDE application (docs/pde.md): config errors and --app; Burgers on the
# pde loader (the residual falls, the prediction approaches the implicit
# scheme's solution, runs repeat); Poisson2D on numpy diffusivity maps with
# a small UNet (the loss falls, brisk's loss equals an independent FEM
# energy of its predictions, u approaches 1 - x for constant nu and the
# FEM solution otherwise); a Poisson3D run.
. "$(dirname "$0")/lib.sh"
"$PY" -c "import numpy, h5py" 2>/dev/null || { echo "numpy/h5py missing: skipped"; exit 77; }
D=$(fresh_dir pde)
TOOLS="$SRC/tests/e2e/pde_tools.py"
cd "$D"

# ---- Burgers: a 1-D conv net mapping b(x) [1, 32] to 16 time steps [16, 32] ----
cat > burgers_net.json <<'JSON'
{"class_name": "Sequential", "config": {"name": "burgers", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 32, 1], "name": "b"}},
 {"class_name": "Conv1D", "config": {"name": "c1", "filters": 32, "kernel_size": 5, "padding": "same", "activation": "tanh"}},
 {"class_name": "Conv1D", "config": {"name": "c2", "filters": 32, "kernel_size": 5, "padding": "same", "activation": "tanh"}},
 {"class_name": "Conv1D", "config": {"name": "u", "filters": 16, "kernel_size": 5, "padding": "same"}}]}}
JSON
burgers_cfg() { # name epochs extra-data-keys
  cat > "$1.json" <<JSON
{"neural_network": {"outfile": "$1_out.txt", "num_epochs": $2, "seed": 3, "layers": "burgers_net.json",
  "checkpoints": {"save": "$1_ckpt", "interval": 100},
  "data": {"type": "pde", "domain_size": 32, "num_examples": 512, "num_test_examples": 32, "batch_size": 16,
           "test_batch_size": 32, "bc_frequency": [1, 2]$3},
  "optimizer": {"type": "Adam", "learning_rate": 0.001},
  "loss": {"function": "Burgers_PDE", "diffusion_coeff": 0.02, "boundary_factor": 64}}}
JSON
}

# config errors: each names the key and says what to do
burgers_cfg base 1 ""
sed 's/"domain_size": 32, //' base.json > e1.json
expect_error "pde needs domain_size" e1.json 'neural_network.data' 'needs "domain_size"'
sed 's/"type": "pde",/"type": "pde", "input_path": "x.npy",/' base.json > e2.json
expect_error "pde refuses file keys" e2.json 'neural_network.data.input_path' 'reads no files'
sed 's/"bc_frequency": \[1, 2\]/"bc_frequency": [1, 2], "bc_type": "gaussian"/' base.json > e3.json
expect_error "unknown bc_type" e3.json 'neural_network.data.bc_type' 'gaussian' 'random_uniform'
sed 's/\[1, 2\]/[2, 1]/' base.json > e4.json
expect_error "bc_frequency range" e4.json 'neural_network.data.bc_frequency' 'cmin <= cmax'
sed 's/\[1, 2\]/[1, 2], "bc_type": "fixed_uniform", "bc_terms": 3/' base.json > e5.json
expect_error "bc_terms is for random_uniform" e5.json 'neural_network.data.bc_terms' 'random_uniform'
sed 's/"type": "pde"/"type": "numpy", "input_path": "x.npy"/' base.json > e6.json
expect_error "pde keys with another type" e6.json 'neural_network.data.domain_size' '"type": "pde"'
sed 's/"num_examples": 512, "num_test_examples": 32, //' base.json > e7.json
expect_error "pde without example counts" e7.json 'num_examples (training) nor num_test_examples'
sed 's/"diffusion_coeff": 0.02/"diffusion_coeff": -0.5/' base.json > e8.json
expect_error "negative diffusion_coeff" e8.json 'neural_network.loss.diffusion_coeff' 'not negative'
sed 's/"Burgers_PDE", "diffusion_coeff": 0.02/"Poisson2D_PDE", "diffusion_coeff": 0.02/' base.json > e9.json
expect_error "diffusion_coeff on Poisson" e9.json 'neural_network.loss.diffusion_coeff' 'Burgers_PDE'
sed 's/"filters": 16/"filters": 1/' burgers_net.json > one_step.json
sed 's/burgers_net.json/one_step.json/' base.json > e10.json
expect_error "Burgers output with one time step" e10.json 'Burgers_PDE' 'at least 2'
sed 's/"Burgers_PDE", "diffusion_coeff": 0.02, "boundary_factor": 64/"Wasserstein"/' base.json > e11.json
expect_error "Wasserstein is not supported" e11.json 'neural_network.loss.function' 'not supported'

# --app: pde is accepted (both spellings) and checked; obj, gan and others are refused
app_status() { "$BIN" "$@" --no-progress > app.log 2>&1; echo $?; }
[ "$(app_status --app=obj --config=base.json)" = 2 ] && grep -q "not supported" app.log && ok "--app=obj refused" \
  || fail "--app=obj: $(cat app.log)"
[ "$(app_status --app=gan --config=base.json)" = 2 ] && grep -q "not supported" app.log && ok "--app=gan refused" \
  || fail "--app=gan: $(cat app.log)"
[ "$(app_status --app=pdes --config=base.json)" = 2 ] && grep -q 'unknown --app "pdes"' app.log \
  && ok "unknown --app refused" || fail "--app=pdes: $(cat app.log)"
sed 's/"Burgers_PDE", "diffusion_coeff": 0.02, "boundary_factor": 64/"MSE"/' base.json > mse.json
[ "$(app_status --app=pde --config=mse.json)" = 1 ] && grep -q "not one of them" app.log \
  && ok "--app=pde with a non-PDE loss is an error" || fail "--app=pde with MSE: $(cat app.log)"
[ "$(app_status --app pde --config=base.json)" = 0 ] && ok "--app pde (two arguments) runs" \
  || fail "--app pde: $(cat app.log)"
cp app.log once.log
[ "$(app_status --config=base.json)" = 0 ] && ok "a PDE loss runs without --app" || fail "no --app: $(cat app.log)"
diff <(grep -o "Loss = [0-9.]*" once.log) <(grep -o "Loss = [0-9.]*" app.log) > /dev/null \
  && ok "the pde loader's runs repeat (seeded)" \
  || fail "two runs of one config differ: $(grep Eval once.log app.log)"
head -1 base_out_test.txt | grep -qP '^epoch\tloss\tseconds' && ok "PDE log tables hold the loss only" \
  || fail "test table header: $(head -1 base_out_test.txt)"
grep -q "MSE\|Accuracy" once.log && fail "console shows MSE/accuracy for a PDE loss: $(grep Eval once.log)" \
  || ok "console shows the loss only"

# training: the residual falls and the solution approaches the implicit scheme's
burgers_cfg burgers 40 ""
"$BIN" --app=pde --config=burgers.json --no-progress > burgers.log 2>&1 && ok "Burgers training" \
  || fail "Burgers training: $(tail -3 burgers.log)"
"$PY" -c "
import json; r = json.load(open('burgers_ckpt/config.json'))['brisk_resolved']
assert r['pde_data'] == {'domain_size': 32, 'num_examples': 512, 'num_test_examples': 32, 'bc_frequency': [1.0, 2.0],
                         'bc_type': 'random_uniform', 'bc_terms': 2}, r
assert r['pde_loss'] == {'diffusion_coeff': 0.02, 'boundary_factor': 64.0}, r" \
  && ok "the run's config.json records the pde settings in force (defaults included)" || fail "pde settings not recorded"
first=$(grep -m1 "Eval Epoch" burgers.log | sed 's/.*Loss = //'); last=$(grep "Eval Epoch" burgers.log | tail -1 | sed 's/.*Loss = //')
echo "Burgers eval loss: epoch 1 $first, epoch 40 $last"
awk -v a="$first" -v b="$last" 'BEGIN {exit !(b < a / 5)}' && ok "Burgers loss falls 5x ($first -> $last)" \
  || fail "Burgers loss $first -> $last"
cat > burgers_infer.json <<'JSON'
{"neural_network": {"layers": "burgers_net.json", "seed": 3, "checkpoints": {"load": "burgers_ckpt/model_final.safetensors"},
  "data": {"type": "pde", "domain_size": 32, "num_test_examples": 8, "test_batch_size": 8, "bc_frequency": [1, 2],
           "bc_type": "fixed_uniform", "test_output_path": "burgers_pred.h5"},
  "loss": {"function": "Burgers_PDE", "diffusion_coeff": 0.02, "boundary_factor": 64}}}
JSON
"$BIN" --app=pde --config=burgers_infer.json --no-progress > burgers_infer.log 2>&1 && ok "Burgers inference" \
  || fail "Burgers inference: $(tail -3 burgers_infer.log)"
"$PY" "$TOOLS" burgers_eval burgers_pred.h5 0.02 1 2 && ok "Burgers: residual < 1/10 and error < 1/2 of u held at b" \
  || fail "Burgers predictions do not solve the equation"

# ---- Poisson2D: numpy diffusivity maps (one .npy, samples on axis 0), a small UNet ----
"$PY" "$TOOLS" diffusivity nu_train.npy 256 16 2 1 0.25 1.0 && "$PY" "$TOOLS" diffusivity nu_test.npy 24 16 2 2 0.25 1.0 \
  && "$PY" "$TOOLS" unet unet2d.json 16 2 || fail "generating the Poisson data"
cat > poisson.json <<'JSON'
{"neural_network": {"outfile": "poisson_out.txt", "num_epochs": 30, "seed": 1, "layers": "unet2d.json",
  "checkpoints": {"save": "poisson_ckpt", "interval": 100},
  "data": {"type": "numpy", "input_path": "nu_train.npy", "target_path": "nu_train.npy",
           "test_input_path": "nu_test.npy", "test_target_path": "nu_test.npy", "batch_size": 16, "test_batch_size": 24},
  "optimizer": {"type": "Adam", "learning_rate": 0.002},
  "loss": {"function": "Poisson2D_PDE", "boundary_factor": 10}}}
JSON
"$BIN" --app=pde --config=poisson.json --no-progress > poisson.log 2>&1 && ok "Poisson2D training" \
  || fail "Poisson2D training: $(tail -3 poisson.log)"
first=$(grep -m1 "Eval Epoch" poisson.log | sed 's/.*Loss = //'); last=$(grep "Eval Epoch" poisson.log | tail -1 | sed 's/.*Loss = //')
echo "Poisson2D eval loss: epoch 1 $first, epoch 30 $last"
awk -v a="$first" -v b="$last" 'BEGIN {exit !(b < a / 2)}' && ok "Poisson2D loss falls ($first -> $last)" \
  || fail "Poisson2D loss $first -> $last"
cat > poisson_infer.json <<'JSON'
{"neural_network": {"layers": "unet2d.json", "checkpoints": {"load": "poisson_ckpt/model_final.safetensors"},
  "data": {"type": "numpy", "test_input_path": "nu_test.npy", "test_target_path": "nu_test.npy",
           "test_output_path": "poisson_pred.h5", "test_batch_size": 24},
  "loss": {"function": "Poisson2D_PDE", "boundary_factor": 10}}}
JSON
"$BIN" --app=pde --config=poisson_infer.json --no-progress > poisson_infer.log 2>&1 && ok "Poisson2D inference" \
  || fail "Poisson2D inference: $(tail -3 poisson_infer.log)"
loss=$(grep "Inference : Loss" poisson_infer.log | sed 's/.*Loss = //')
"$PY" "$TOOLS" poisson_eval poisson_pred.h5 nu_test.npy "$loss" 10 0.05 0.06 \
  && ok "Poisson2D: brisk's loss = the independent FEM energy; u near 1 - x (constant nu) and the FEM solution" \
  || fail "Poisson2D predictions (loss $loss)"
"$PY" - <<'PY' && ok "a negative diffusivity is an error naming the sample" || fail "negative nu accepted"
import numpy as np, subprocess, os, json
nu = np.load("nu_test.npy"); nu[3, 0, 5, 7] = -1; np.save("nu_bad.npy", nu)
cfg = json.load(open("poisson_infer.json"))
cfg["neural_network"]["data"].update(test_input_path="nu_bad.npy", test_target_path="nu_bad.npy")
del cfg["neural_network"]["data"]["test_output_path"]
json.dump(cfg, open("bad_nu.json", "w"))
p = subprocess.run([os.environ["BRISK_BIN"], "--config=bad_nu.json", "--no-progress"], capture_output=True, text=True)
print(p.stderr.strip())
assert p.returncode == 1 and "[5, 7] of sample 3" in p.stderr and "positive" in p.stderr
PY

# ---- Poisson3D: 8^3 fields, a 3-D UNet; the loss falls and equals the FEM energy of the predictions ----
"$PY" "$TOOLS" diffusivity nu3.npy 48 8 3 5 0.25 1.0 && "$PY" "$TOOLS" unet unet3d.json 8 3 \
  || fail "generating the 3-D data"
cat > poisson3d.json <<'JSON'
{"neural_network": {"num_epochs": 8, "seed": 2, "layers": "unet3d.json",
  "checkpoints": {"save": "p3_ckpt", "interval": 100},
  "data": {"type": "numpy", "input_path": "nu3.npy", "target_path": "nu3.npy", "batch_size": 8, "test_split": 0.25},
  "optimizer": {"type": "Adam", "learning_rate": 0.003},
  "loss": {"function": "Poisson3D_PDE"}}}
JSON
"$BIN" --config=poisson3d.json --no-progress > p3.log 2>&1 && ok "Poisson3D training" || fail "Poisson3D: $(tail -3 p3.log)"
first=$(grep -m1 "Eval Epoch" p3.log | sed 's/.*Loss = //'); last=$(grep "Eval Epoch" p3.log | tail -1 | sed 's/.*Loss = //')
awk -v a="$first" -v b="$last" 'BEGIN {exit !(b < a)}' && ok "Poisson3D loss falls ($first -> $last)" \
  || fail "Poisson3D loss $first -> $last"
sed 's/"num_epochs": 8, //; s/"save": "p3_ckpt", "interval": 100/"load": "p3_ckpt\/model_final.safetensors"/;
     s/"input_path": "nu3.npy", "target_path": "nu3.npy", "batch_size": 8, "test_split": 0.25/"test_input_path": "nu3.npy", "test_target_path": "nu3.npy", "test_output_path": "p3_pred.h5"/' \
  poisson3d.json > p3_infer.json
"$BIN" --config=p3_infer.json --no-progress > p3_infer.log 2>&1 || fail "Poisson3D inference: $(tail -3 p3_infer.log)"
loss=$(grep "Inference : Loss" p3_infer.log | sed 's/.*Loss = //')
"$PY" "$TOOLS" poisson_eval p3_pred.h5 nu3.npy "$loss" 1 && ok "Poisson3D: brisk's loss = the independent FEM energy" \
  || fail "Poisson3D loss $loss differs from the FEM energy of its predictions"
finish
