# Shared helpers for the end-to-end tests (sourced).
set -u
PY=/usr/bin/python3
BIN=${BRISK_BIN:?BRISK_BIN must name the brisk binary}
SRC=${BRISK_SOURCE_DIR:?}
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
finish() { echo "$(basename "$0" .sh): $passed passed, $failed failed"; [ "$failed" -eq 0 ]; }

# fresh_dir NAME: an empty scratch folder
fresh_dir() {
  local d="${BRISK_TMP:-/tmp}/e2e_$1"
  rm -rf "$d" && mkdir -p "$d" && echo "$d"
}

# make_quadrants DIR N: 4-class images [N,1,12,12] (a bright square in quadrant k) as x.npy / y.npy
make_quadrants() {
  "$PY" - "$1" "$2" <<'PY'
import sys, numpy as np
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
y = rng.integers(0, 4, n)
x = rng.normal(0, 0.3, (n, 1, 12, 12)).astype(np.float32)
for i, k in enumerate(y):
    r, c = divmod(int(k), 2)
    x[i, 0, r*6+1:r*6+5, c*6+1:c*6+5] += 1.0
np.save(f"{d}/x.npy", x); np.save(f"{d}/y.npy", y.astype(np.int64))
PY
}

# small_net DIR: a Keras Sequential CNN for [12,12,1] -> 4 classes (log_softmax)
small_net() {
  cat > "$1/net.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "small", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 12, 12, 1], "name": "in"}},
 {"class_name": "Conv2D", "config": {"name": "conv1", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}},
 {"class_name": "BatchNormalization", "config": {"name": "bn1"}},
 {"class_name": "MaxPooling2D", "config": {"name": "pool1", "pool_size": 2}},
 {"class_name": "Flatten", "config": {"name": "flat"}},
 {"class_name": "Dense", "config": {"name": "fc1", "units": 32, "activation": "relu"}},
 {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.3}},
 {"class_name": "Dense", "config": {"name": "fc2", "units": 4, "activation": "log_softmax"}}]}}
JSON
}

# expect_error NAME CONFIG PATTERN...: brisk exits 1 (not a crash) and stderr matches every pattern
expect_error() {
  local name=$1 cfg=$2; shift 2
  local err rc
  err=$("$BIN" --config="$cfg" --no-progress 2>&1 >/dev/null); rc=$?
  if [ "$rc" -ne 1 ]; then fail "$name: exit status $rc, expected 1; output: $err"; return; fi
  for pat in "$@"; do
    if ! grep -qF -- "$pat" <<<"$err"; then fail "$name: message lacks '$pat': $err"; return; fi
  done
  ok "$name ($err)"
}

# mpirun for the data-parallel tests: as root (CI), more processes than
# cores. LeakSanitizer is off in the processes it starts: Open MPI's runtime
# keeps allocations until exit, some in plugins that show as unknown
# modules, which no suppression can name. brisk's own leaks are still
# caught by the same code paths run as one process.
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS=detect_leaks=0"
