#!/usr/bin/env bash
# Data parallelism under mpirun, continued:
#  - a run interrupted (Ctrl-C to mpirun) at 2 processes saves once and
#    resumes at 1 and at 4 processes, ending with the weights of the
#    uninterrupted run (within 1e-5);
#  - faults: kill -9 of one process, and a data file corrupt in rows only
#    one process reads: every process exits non-zero within 30 s, and the
#    message names the rank.
. "$(dirname "$0")/lib.sh"
command -v mpirun >/dev/null || { echo "mpirun not installed (openmpi-bin)"; exit 77; }
D=$(fresh_dir mpi_resume_faults)
cd "$D"
make_quadrants "$D" 96
small_net "$D"

NUMPY='{"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 12}'
cfg() { # NAME EPOCHS DATA_JSON
  cat > "$1.json" <<JSON
{"neural_network": {"outfile": "$1.txt", "num_epochs": $2, "seed": 5, "layers": "net.json", "sync_batchnorm": true,
  "checkpoints": {"save": "$1_ckpt", "interval": 1},
  "data": $3,
  "optimizer": {"type": "SGD", "learning_rate": 0.02, "momentum": 0.5,
                "lr_scheduler": {"type": "Step", "gamma": 0.5, "step_size": 20}}, "loss": {"function": "NLL"}}}
JSON
}

# ---- resume at another process count
# long enough that the interrupt lands mid-run on a loaded machine; the
# learning rate decays so 200 epochs stay well-conditioned
cfg full 200 "$NUMPY"; cfg run 200 "$NUMPY"
$MPIRUN -np 2 "$BIN" --config=full.json --no-progress > full.log 2>&1 || fail "uninterrupted run: $(tail -3 full.log)"
$MPIRUN -np 2 "$BIN" --config=run.json --no-progress > run.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  grep -q "Train Epoch \[  3/" run.log 2>/dev/null && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"; rc=$?
saved=$(grep -c "state saved in" run.log)
if [ "$rc" -ne 0 ] && [ "$saved" -eq 1 ] && [ -f run_ckpt/train_state.safetensors ]; then
  ok "Ctrl-C to mpirun: one save, every rank stopped (exit $rc)"
else
  fail "Ctrl-C: exit $rc, $saved save message(s): $(tail -3 run.log)"
fi
cp -r run_ckpt run_ckpt4
sed 's/run_ckpt/run_ckpt4/; s/"run.txt"/"run4.txt"/' run.json > run4.json
OMP_NUM_THREADS=1 "$BIN" --config=run.json --resume run_ckpt --no-progress > resume1.log 2>&1 \
  && ok "resumed at 1 process" || fail "resume at 1: $(tail -3 resume1.log)"
$MPIRUN -np 4 "$BIN" --config=run4.json --resume run_ckpt4 --no-progress > resume4.log 2>&1 \
  && ok "resumed at 4 processes" || fail "resume at 4: $(tail -3 resume4.log)"
"$PY" - <<'PY' && ok "both resumed runs end with the uninterrupted run's weights" || fail "resumed weights differ"
import json, struct, numpy as np
def load(p):
    b = open(p, "rb").read(); k = struct.unpack("<Q", b[:8])[0]; hd = json.loads(b[8:8 + k])
    return {n: np.frombuffer(b[8 + k + v["data_offsets"][0]:8 + k + v["data_offsets"][1]], np.float32)
            for n, v in hd.items() if n != "__metadata__"}
ref = load("full_ckpt/model_final.safetensors")
for d in ("run_ckpt", "run_ckpt4"):
    got = load(f"{d}/model_final.safetensors")
    worst = max(float(np.max(np.abs(ref[k] - got[k]))) for k in ref)
    print(d, "max abs weight difference", worst)
    assert worst <= 1e-5, d
PY

# ---- kill -9 of one process
cfg long 100000 "$NUMPY"
$MPIRUN -np 2 "$BIN" --config=long.json --no-progress > kill.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ -f long_train.txt ] && break; sleep 0.1; done
victim=$(pgrep -f "brisk --config=long.json" | tail -1)
[ -n "$victim" ] || { fail "kill -9: the job did not start: $(tail -3 kill.log)"; finish; exit; }
start=$(date +%s)
kill -9 "$victim"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"; rc=$?
took=$(( $(date +%s) - start ))
left=$(pgrep -fc "brisk --config=long.json")
if [ "$rc" -ne 0 ] && [ "$took" -le 30 ] && [ "$left" -eq 0 ] && grep -q "rank [01]" kill.log && grep -q "signal 9" kill.log; then
  ok "kill -9 of one rank: the job ends in ${took}s, exit $rc, naming the rank"
else
  fail "kill -9: exit $rc after ${took}s, $left brisk left: $(tail -5 kill.log)"
  pkill -9 -f "brisk --config=long.json"
fi

# ---- a corrupt chunk that only rank 1 reads (rows 6..11 of each batch of 12, no shuffle)
"$PY" - <<'PY'
import h5py, numpy as np
x = np.load("x.npy"); y = np.load("y.npy")
with h5py.File("bad.h5", "w") as f:
    f.create_dataset("input", data=x, chunks=(1,) + x.shape[1:], compression="gzip")
    f.create_dataset("target", data=y)
with h5py.File("bad.h5", "r") as f:
    off, size = None, None
    info = f["input"].id.get_chunk_info_by_coord((11, 0, 0, 0))
    off, size = info.byte_offset, info.size
with open("bad.h5", "r+b") as fh:
    fh.seek(off); fh.write(b"\x00garbage" * (size // 8))
PY
cfg bad 2 '{"type": "hdf5", "input_path": "bad.h5", "batch_size": 12, "shuffle": false}'
start=$(date +%s)
timeout 60 $MPIRUN -np 2 "$BIN" --config=bad.json --no-progress > bad.log 2>&1; rc=$?
took=$(( $(date +%s) - start ))
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$took" -le 30 ] && grep -q "rank 1 of 2" bad.log && grep -q "bad.h5" bad.log; then
  ok "corrupt rows read by rank 1 only: exit $rc in ${took}s: $(grep -m1 'rank 1 of 2' bad.log)"
else
  fail "corrupt data on one rank: exit $rc after ${took}s: $(tail -5 bad.log)"
fi
finish
