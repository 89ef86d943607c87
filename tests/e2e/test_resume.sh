#!/usr/bin/env bash
# Interrupting a run (kill -9, and Ctrl-C mid-epoch) and resuming it gives
# the same final weights as the uninterrupted run.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir resume)
make_quadrants "$D" 6000
small_net "$D"
write_cfg() { # name save_dir
  cat > "$D/$1.json" <<JSON
{"neural_network": {"outfile": "$1_out.txt", "num_epochs": 12, "seed": 11, "layers": "net.json",
  "checkpoints": {"save": "$2", "interval": 1},
  "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 32, "test_split": 0.2},
  "optimizer": {"type": "Adam", "learning_rate": 0.002},
  "loss": {"function": "NLL"}}}
JSON
}
for r in full killed stopped; do write_cfg $r "${r}_ckpt"; done

"$BIN" --config="$D/full.json" --no-progress > "$D/full.log" 2>&1 || fail "uninterrupted run failed: $(tail -3 "$D/full.log")"

# wait_for FILE: poll up to 120 s
wait_for() { for _ in $(seq 1 2400); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }

# 1. kill -9 after the second epoch's checkpoint
"$BIN" --config="$D/killed.json" --no-progress > "$D/killed.log" 2>&1 &
pid=$!
wait_for "$D/killed_ckpt/model_epoch_2.safetensors" || fail "no epoch-2 checkpoint appeared"
kill -9 $pid; wait $pid 2>/dev/null
if [ -e "$D/killed_ckpt/model_final.safetensors" ]; then fail "the run finished before it could be killed"; fi
"$BIN" --config="$D/killed.json" --no-progress --resume "$D/killed_ckpt" >> "$D/killed.log" 2>&1 \
  && ok "resume after kill -9" || fail "resume after kill -9: $(tail -3 "$D/killed.log")"

# 2. SIGINT mid-epoch: the state is saved at the current batch
"$BIN" --config="$D/stopped.json" --no-progress > "$D/stopped.log" 2>&1 &
pid=$!
wait_for "$D/stopped_ckpt/model_epoch_3.safetensors" || fail "no epoch-3 checkpoint appeared"
sleep 0.1
kill -INT $pid; wait $pid; rc=$?
[ "$rc" -eq 130 ] && ok "Ctrl-C exits 130 after saving" || fail "Ctrl-C exit status $rc: $(tail -3 "$D/stopped.log")"
grep -q "resume" "$D/stopped.log" && ok "Ctrl-C says how to resume" || fail "no resume hint: $(tail -3 "$D/stopped.log")"
"$BIN" --config="$D/stopped.json" --no-progress --resume "$D/stopped_ckpt" >> "$D/stopped.log" 2>&1 \
  && ok "resume after Ctrl-C" || fail "resume after Ctrl-C: $(tail -3 "$D/stopped.log")"

# the final weights must equal the uninterrupted run's
"$PY" - "$D" <<'PY' && ok "final weights match the uninterrupted run" || fail "final weights differ"
import json, struct, sys, numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n])
    return {k: np.frombuffer(b[8+n+v["data_offsets"][0]:8+n+v["data_offsets"][1]], np.float32)
            for k, v in h.items() if k != "__metadata__"}
d = sys.argv[1]
a = load(f"{d}/full_ckpt/model_final.safetensors")
bad = 0
for run in ("killed", "stopped"):
    b = load(f"{d}/{run}_ckpt/model_final.safetensors")
    for k in a:
        err = float(np.max(np.abs(a[k] - b[k]))) if a[k].size else 0.0
        if err > 1e-6: print(run, k, "max abs diff", err); bad += 1
sys.exit(1 if bad else 0)
PY
# the resumed run's log table has every epoch once
n=$(tail -n +2 "$D/killed_out_train.txt" | wc -l)
[ "$n" -eq 12 ] && ok "train log has 12 rows after resume" || fail "train log has $n rows, expected 12"
finish
