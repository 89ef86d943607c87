#!/usr/bin/python3
"""Data-parallel scaling on one machine, end to end through the CLI:
samples/s of `mpirun -np 2` x 1 thread against 1 process x 2 threads on
the same two cores, for the four benchmark networks (random data, Adam,
the benchmark batch as the global batch), A B C interleaved, medians.
C is -np 2 without the gradient exchange (BRISK_NO_GRAD_SYNC=1): compute
alone, the ceiling the exchange is measured against. Then the MPI
allreduce micro-benchmark, and an alpha-beta projection of ring-allreduce
efficiency at 8, 64 and 512 ranks. Prints Markdown for BENCHMARKS.md;
never asserts.
    bench/mpi_bench.py [--reps 3] [--steps 12] [--bucket-mb 4] [models...]"""
import argparse, datetime, json, os, platform, re, statistics, subprocess, sys, tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402

ROOT = os.path.join(HERE, "..")
BIN = os.path.join(ROOT, "build", "brisk")
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


def make_run(tmp, name, steps):
    build, batch, _, loss = models.MODELS[name]
    import torch
    net, torch_net, in_shape = build()
    with torch.no_grad():
        out_shape = tuple(torch_net(torch.zeros((1,) + tuple(in_shape))).shape[1:])
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    json.dump(net, open(os.path.join(d, "net.json"), "w"))
    n = batch * steps
    rng = np.random.default_rng(1)
    np.save(os.path.join(d, "x.npy"), rng.random((n,) + tuple(in_shape), dtype=np.float32))
    if loss == "nll":
        np.save(os.path.join(d, "y.npy"), rng.integers(0, out_shape[0], n).astype(np.int64))
    else:
        np.save(os.path.join(d, "y.npy"), rng.random((n,) + tuple(out_shape), dtype=np.float32))
    cfg = {"neural_network": {"outfile": "out.txt", "num_epochs": 2, "seed": 1, "layers": "net.json",
                              "log_interval": 1000000,
                              "data": {"type": "numpy", "input_path": "x.npy", "target_path": "y.npy",
                                       "batch_size": batch, "shuffle": False},
                              "optimizer": {"type": "Adam", "learning_rate": 1e-4},
                              "loss": {"function": "NLL" if loss == "nll" else "MSE"}}}
    json.dump(cfg, open(os.path.join(d, "c.json"), "w"))
    return d, batch


def run(d, mode, bucket_mb):
    """Samples/s of the second epoch (the first builds the plans) and the
    share of its time blocked on the exchange."""
    env = dict(os.environ, BRISK_BUCKET_MB=str(bucket_mb))
    if mode == "1x2":
        cmd, env["OMP_NUM_THREADS"] = [BIN, "--config=c.json", "--no-progress"], "2"
    else:
        cmd = MPIRUN + ["--bind-to", "core", "-x", "OMP_NUM_THREADS=1", "-x", "BRISK_BUCKET_MB"]
        if mode == "2x1 no exchange":
            env["BRISK_NO_GRAD_SYNC"] = "1"
            cmd += ["-x", "BRISK_NO_GRAD_SYNC"]
        cmd += ["-np", "2", BIN, "--config=c.json", "--no-progress"]
    out = subprocess.run(cmd, cwd=d, env=env, check=True, capture_output=True, text=True).stdout
    rows = [l.split("\t") for l in open(os.path.join(d, "out_train.txt")).read().split("\n") if l]
    rate = float(rows[2][rows[0].index("samples_per_s")])
    comm = [float(m) for m in re.findall(r"Grad/Comm: +(\d+)%", out)]
    return rate, (comm[-1] if comm else 0.0)


def allreduce_table():
    exe = os.path.join(ROOT, "build", "bench", "mpi_allreduce")
    out = subprocess.run(MPIRUN + ["--bind-to", "core", "-np", "2", exe], check=True, capture_output=True, text=True).stdout
    rows = [l.strip("|").split("|") for l in out.splitlines() if re.match(r"\| \d", l)]
    return out, [(int(r[0]), float(r[1]), float(r[2])) for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--bucket-mb", type=float, default=4)
    ap.add_argument("models", nargs="*", default=list(models.MODELS))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="brisk_mpi_bench_")
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    print(f"Machine: {cpu}, {os.cpu_count()} cores; date {datetime.date.today()}; commit {commit}; "
          f"bucket {a.bucket_mb} MB; {a.reps} interleaved repetitions, medians\n")
    print("| model | global batch | params (MB of gradients) | 1 x 2 threads samples/s | 2 x 1 thread samples/s | "
          "ratio | 2 x 1, no exchange samples/s | share of the step blocked on the exchange |")
    print("|---|---|---|---|---|---|---|---|")
    per_sample = {}
    for name in a.models:
        d, batch = make_run(tmp, name, a.steps)
        res = {m: [] for m in ("1x2", "2x1", "2x1 no exchange")}
        for _ in range(a.reps):
            for m in res:
                res[m].append(run(d, m, a.bucket_mb))
        med = {m: statistics.median(r[0] for r in v) for m, v in res.items()}
        comm = statistics.median(r[1] for r in res["2x1"])
        summ = subprocess.run([BIN, "summary", "--config=c.json"], cwd=d, capture_output=True, text=True).stdout
        params = int(re.search(r"Trainable params: (\d+)", summ).group(1))
        per_sample[name] = (batch, params, 1.0 / med["2x1 no exchange"] * 2)  # seconds per sample per process
        print(f"| {name} | {batch} | {params:,} ({params * 4 / 1e6:.1f}) | {med['1x2']:.0f} | {med['2x1']:.0f} | "
              f"{med['2x1'] / med['1x2']:.2f} | {med['2x1 no exchange']:.0f} | {comm:.0f}% |", flush=True)
    out, rows = allreduce_table()
    print("\nMPI_Allreduce, 2 processes on this machine (shared memory):\n")
    print(out)
    # alpha-beta model of a ring allreduce: 2 (p-1) alpha + 2 (p-1)/p n / beta
    alpha, beta = 5e-6, 12.5e9  # assumed: 5 us per message, 100 Gb/s links
    print(f"\nProjection (ring allreduce, alpha = {alpha * 1e6:.0f} us, beta = {beta / 1e9:.1f} GB/s = 100 Gb/s; each rank keeps "
          "the benchmark's per-rank batch and this machine's measured compute time per sample; 'no overlap' adds the "
          "whole exchange to each step, 'overlap' hides it behind the backward pass, about 2/3 of a step):\n")
    print("| model | per-rank step ms | gradient MB | efficiency at 8 ranks (no overlap / overlap) | 64 | 512 |")
    print("|---|---|---|---|---|---|")
    for name, (batch, params, s_per_sample) in per_sample.items():
        step = batch / 2 * s_per_sample  # per-rank batch of the 2-process run
        cells = []
        for p in (8, 64, 512):
            t = 2 * (p - 1) * alpha + 2 * (p - 1) / p * params * 4 / beta
            no = step / (step + t)
            ov = step / (step + max(0.0, t - step * 2 / 3))
            cells.append(f"{100 * no:.0f}% / {100 * ov:.0f}%")
        print(f"| {name} | {step * 1e3:.1f} | {params * 4 / 1e6:.1f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
