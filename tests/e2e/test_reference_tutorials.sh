#!/usr/bin/env bash
# The reference CLI's nine tutorials (17 configs), each written with the
# tutorial's keys and run on data made here in its format, scaled down;
# see tests/e2e/reference_tutorials.py for what each run must produce.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir reference_tutorials)
"$PY" -c "import h5py, PIL" 2>/dev/null || { echo "h5py and PIL are needed (scripts/install-deps.sh --test)"; exit 77; }
exec "$PY" "$(dirname "$0")/reference_tutorials.py" "$BIN" "$D"
