#!/usr/bin/env bash
# The reference CLI's published network files (its resources/ and
# tutorials/ folders: 73 Keras exports) through `brisk summary` against
# tally_params.py and a training step at two input sizes each
# (tests/keras_apps/run_reference_nets.py). They cannot be committed, so
# the folder is an argument:
#   BRISK_BIN=build/brisk BRISK_SOURCE_DIR=. bash tests/e2e/test_reference_nets.sh /tmp/rml
# or BRISK_REFERENCE_NETS=/tmp/rml for ctest; without it the test SKIPs (77).
DIR=${1:-${BRISK_REFERENCE_NETS:-}}
if [ -z "$DIR" ] || [ ! -d "$DIR" ]; then
  echo "SKIP: no folder of reference networks (give it as the argument or in BRISK_REFERENCE_NETS)"
  exit 77
fi
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir reference_nets)
"$PY" "$SRC/tests/keras_apps/run_reference_nets.py" "$DIR" "$BIN" "$D"
