"""The PyTorch side of one benchmark: same network, batch, optimizer and
random data as brisk_bench; prints the same JSON fields."""
import json, resource, sys, time
import torch
import models


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def main():
    name, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    build, batch, ibatch, loss_name = models.MODELS[name]
    _, net, shape = build()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(max(batch, ibatch), *shape)
    xb = x[:batch]
    if loss_name == "mse":
        with torch.no_grad():
            y = torch.rand_like(net(xb[:1])).expand(batch, *net(xb[:1]).shape[1:]).contiguous()
        loss_fn = torch.nn.MSELoss()
    else:
        y = torch.randint(0, 10, (batch,))
        loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    net.train()
    for s in range(steps + 2):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), y)
        loss.backward()
        opt.step()
        if s >= 2:
            times.append(time.perf_counter() - t)
    train = median(times)
    net.eval()
    with torch.no_grad():
        times = []
        for s in range(steps + 1):
            t = time.perf_counter()
            net(x[:ibatch])
            if s >= 1:
                times.append(time.perf_counter() - t)
        infer = median(times)
        times = []
        for s in range(steps + 1):
            t = time.perf_counter()
            net(x[:1])
            if s >= 1:
                times.append(time.perf_counter() - t)
        lat = median(times)
    print(json.dumps({"train_samples_per_s": batch / train, "infer_samples_per_s": ibatch / infer,
                      "latency_ms": lat * 1e3,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
