#!/usr/bin/env bash
# Forms of the reference CLI's command line and configs that brisk reads
# with the same meaning: `--config= FILE` (tutorials put a space after =),
# "debug": true (writes the network graph as a .dot file), and keys brisk
# cannot honour get a clear error instead of being ignored.
. "$(dirname "$0")/lib.sh"
D=$(fresh_dir reference_forms)
make_quadrants "$D" 64
small_net "$D"
cd "$D"

cat > c.json <<'JSON'
{"neural_network": {"outfile": "run.txt", "num_epochs": 1, "layers": "net.json", "debug": true,
  "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy", "batch_size": 16},
  "optimizer": {"type": "Adam", "learning_rate": 0.001}, "loss": {"function": "NLL"}}}
JSON
if "$BIN" --config= ./c.json --no-progress > run.log 2>&1; then
  ok "--config= FILE (space after =) runs"
else
  fail "--config= FILE: $(tail -3 run.log)"
fi

# the graph: every layer of net.json, edges in order, the fused ReLU dashed
if [ -f run_graph.dot ] && grep -q "Wrote the network graph to .*run_graph.dot" run.log; then
  "$PY" - <<'PY' && ok "debug: run_graph.dot names every layer with its shape" || fail "debug graph content: $(cat run_graph.dot)"
import re
g = open("run_graph.dot").read()
assert g.startswith('digraph "small"'), g[:40]
for name, shape in [("conv1", "[12, 12, 8]"), ("bn1", "[12, 12, 8]"), ("pool1", "[6, 6, 8]"),
                    ("flat", "[288]"), ("fc1", "[32]"), ("fc2", "[4]")]:
    assert re.search(r'label="%s\\n[A-Za-z0-9]+\\n%s' % (name, re.escape(shape)), g), name
assert "80 params" in g and "style=dashed" in g   # conv1: 3*3*1*8+8 weights; fused activations
assert len(re.findall(r"->", g)) >= 8
PY
else
  fail "debug: no run_graph.dot ($(tail -2 run.log))"
fi

sed 's/"type": "Adam", "learning_rate": 0.001/"type": "Hessian", "max_iterations": 100/' c.json > hessian.json
expect_error "Hessian optimizer" hessian.json "neural_network.optimizer.type" "not supported" "SGD, Adam"
finish
