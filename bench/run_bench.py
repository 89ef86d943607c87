#!/usr/bin/python3
"""brisk against PyTorch on the same networks, batches, optimizer (Adam) and
random data, in one run, A B A B interleaved, threads fixed and equal.
Prints a Markdown table for BENCHMARKS.md. Never asserts.
    bench/run_bench.py [--threads 2,1] [--reps 5] [--steps 10] [models...]"""
import argparse, datetime, json, os, platform, statistics, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402


def run(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bench", "brisk_bench"))
    ap.add_argument("models", nargs="*", default=list(models.MODELS))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="brisk_bench_")
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    print(f"Machine: {cpu}, {os.cpu_count()} cores; date {datetime.date.today()}; commit {commit}\n")
    print("| model | threads | brisk train samples/s | PyTorch train samples/s | ratio | brisk infer samples/s | PyTorch infer samples/s | "
          "brisk latency b=1 ms | PyTorch latency b=1 ms | brisk peak MB | PyTorch peak MB | brisk GFLOP/s | "
          "SGEMM GFLOP/s OpenBLAS / oneDNN | % of the faster SGEMM |")
    print("|" + "---|" * 14)
    for name in a.models:
        build, batch, ibatch, loss = models.MODELS[name]
        net_json, _, _ = build()
        path = os.path.join(tmp, name + ".json")
        json.dump(net_json, open(path, "w"))
        for threads in [int(t) for t in a.threads.split(",")]:
            b_runs, t_runs = [], []
            for _ in range(a.reps):  # A B A B
                b_runs.append(run([a.bin, path, str(batch), str(ibatch), str(a.steps), loss], threads))
                t_runs.append(run(["/usr/bin/python3", os.path.join(HERE, "torch_side.py"), name, str(threads), str(a.steps)], threads))
            med = lambda runs, k: statistics.median(r[k] for r in runs)
            bt, tt = med(b_runs, "train_samples_per_s"), med(t_runs, "train_samples_per_s")
            g, sg, dg = med(b_runs, "train_gflops"), med(b_runs, "sgemm_gflops"), med(b_runs, "dnnl_sgemm_gflops")
            print(f"| {name} | {threads} | {bt:.0f} | {tt:.0f} | {bt / tt:.2f} | {med(b_runs, 'infer_samples_per_s'):.0f} | "
                  f"{med(t_runs, 'infer_samples_per_s'):.0f} | {med(b_runs, 'latency_ms'):.3f} | {med(t_runs, 'latency_ms'):.3f} | "
                  f"{max(r['peak_rss_mb'] for r in b_runs):.0f} | {max(r['peak_rss_mb'] for r in t_runs):.0f} | {g:.1f} | {sg:.0f} / {dg:.0f} | {100 * g / max(sg, dg):.0f}% |",
                  flush=True)


if __name__ == "__main__":
    main()
