#!/usr/bin/env python3
"""Runs every Keras network file under a folder (the reference CLI's
published networks: resources/ and tutorials/) through brisk:

  1. `brisk summary NET.json` against tally_params.py's independent count;
  2. training at two input sizes the architecture takes (the declared
     channel count; spatial sizes from a list of small ones, kept where
     tally_params.py's shape rules accept them: every merge agrees, no
     output is empty): one epoch of one batch of 2 random samples, MSE to
     random targets of the output's shape. The first run also evaluates a
     test set of the second size (a variant of the model, same weights)
     unless the weights depend on the size (Dense after Flatten).

Usage: run_reference_nets.py FOLDER BRISK WORKDIR
Prints one line per network and a tally; exits 1 when any check failed.
The networks are not part of brisk (they cannot be committed), so the
folder is an argument.
"""
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tally_params import tally  # noqa: E402

SIZES = {  # tried in this order; the first two a network takes are used
    2: [(32, 32), (64, 96), (96, 96), (128, 96), (128, 128), (224, 224), (384, 384), (768, 768)],
    3: [(32, 32, 32), (32, 32, 64), (64, 32, 32), (64, 64, 64)],
}


def declared_input(net):
    cfg = net["config"]
    for layer in cfg if isinstance(cfg, list) else cfg["layers"]:
        c = layer["config"]
        s = c.get("batch_input_shape") or c.get("batch_shape")
        if s:
            return s[1:]
    raise ValueError("no batch_input_shape")


def summary_counts(brisk, path):
    r = subprocess.run([brisk, "summary", path], capture_output=True, text=True)
    if r.returncode:
        return None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "exit %d" % r.returncode
    got = {}
    for line in r.stdout.splitlines():
        for key in ("Total params: ", "Trainable params: "):
            if line.startswith(key):
                got[key] = line[len(key):]
    return (got.get("Total params: "), got.get("Trainable params: ")), None


def train(brisk, work, tag, net_path, channels, size, out_shape, test=None):
    """One epoch of one batch at `size`; test = (size, out_shape) of a test set."""
    rng = np.random.default_rng(5)

    def arrays(sz, osh, prefix):
        np.save(f"{work}/{prefix}_x.npy", rng.normal(0, 1, (2, *sz, channels)).astype(np.float32))
        np.save(f"{work}/{prefix}_y.npy", rng.random((2, *osh)).astype(np.float32))

    arrays(size, out_shape, tag)
    data = {"type": "numpy", "input_path": f"{tag}_x.npy", "target_path": f"{tag}_y.npy", "batch_size": 2}
    if test:
        arrays(test[0], test[1], tag + "_t")
        data.update({"test_input_path": f"{tag}_t_x.npy", "test_target_path": f"{tag}_t_y.npy", "test_batch_size": 2})
    cfg = {"neural_network": {"outfile": f"{tag}_out.txt", "num_epochs": 1, "seed": 1, "layers": net_path,
                              "data": data, "optimizer": {"type": "Adam", "learning_rate": 1e-3},
                              "loss": {"function": "MSE"}}}
    with open(f"{work}/{tag}.json", "w") as f:
        json.dump(cfg, f)
    t0 = time.time()
    try:
        r = subprocess.run([brisk, f"--config={work}/{tag}.json", "--no-progress"], capture_output=True, text=True,
                           timeout=900)
    except subprocess.TimeoutExpired:
        return False, "timed out", 900.0
    secs = time.time() - t0
    if r.returncode:
        return False, (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1][:300], secs
    tables = [f"{work}/{tag}_out_train.txt"] + ([f"{work}/{tag}_out_test.txt"] if test else [])
    for t in tables:
        rows = np.genfromtxt(t, names=True, delimiter="\t", ndmin=1)
        if len(rows) != 1 or not np.all(np.isfinite(rows["loss"])):
            return False, "%s: no finite loss" % os.path.basename(t), secs
    notes = [l[6:] for l in r.stdout.splitlines() if l.startswith("note: ")]
    return True, " | ".join(notes), secs


def fmt(size):
    return "x".join(str(v) for v in size)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    folder, brisk, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    files = sorted(glob.glob(os.path.join(folder, "**", "*.json"), recursive=True))
    nets = []
    for p in files:
        try:
            with open(p) as f:
                net = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(net, dict) and "class_name" in net and "config" in net:
            nets.append((p, net))
    counts_ok = runs_ok = runs = 0
    failures = []
    for i, (path, net) in enumerate(nets):
        name = os.path.relpath(path, folder)
        line = [name]
        try:
            t_total, t_train, _ = tally(net)
            ref = (str(t_total), str(t_train))
        except (AssertionError, SystemExit, KeyError) as e:
            ref = None
            line.append("tally: %s" % e)
        got, err = summary_counts(brisk, path)
        if ref and got == ref:
            counts_ok += 1
            line.append("params %s/%s = tally" % ref)
        else:
            failures.append(name + ": summary")
            line.append("params brisk %s vs tally %s %s" % (got, ref, err or ""))
        shape = declared_input(net)
        channels, nd = shape[-1], len(shape) - 1
        fits = []
        for size in SIZES.get(nd, []):
            try:
                total, _, out = tally(net, size)
            except (AssertionError, SystemExit):
                continue
            fits.append((size, out, total))
            if len(fits) == 2:
                break
        if not fits:
            line.append("no size fits")
            failures.append(name + ": no size")
        for k, (size, out, total) in enumerate(fits):
            test = None
            if k == 0 and len(fits) == 2 and fits[1][2] == total:  # weights independent of the size
                test = (fits[1][0], fits[1][1])
            runs += 1
            ok, msg, secs = train(brisk, work, "n%02d_%d" % (i, k), path, channels, size, out, test)
            runs_ok += ok
            what = "train %s%s" % (fmt(size), " + test %s" % fmt(test[0]) if test else "")
            line.append("%s: %s (%.0f s)%s" % (what, "ok" if ok else "FAIL", secs, (" [" + msg + "]") if msg else ""))
            if not ok:
                failures.append("%s: %s" % (name, what))
        if len(fits) == 1:
            line.append("(one size fits of %s)" % ", ".join(fmt(s) for s in SIZES[nd]))
        print("  ".join(line), flush=True)
    print("\n%d networks: parameter counts equal tally_params.py for %d; training runs %d of %d passed"
          % (len(nets), counts_ok, runs_ok, runs))
    for f in failures:
        print("FAILED:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
