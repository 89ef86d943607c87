"""Parity with PyTorch: the three scientific example networks, whole-model,
20 training steps each, every step checked (parity_common.check_trace).

    braggnn      examples/braggnn/braggnn.json (11x11x1, non-local attention
                 block: Conv2D 1x1, Reshape, Dot, Softmax(axis=-1), Dot, Add;
                 LeakyReLU 0.01; Flatten; Dense), MSE
    cookienetae  examples/cookienetae/cookienetae.json with its input reduced
                 to 32x32x1 (fully convolutional: the same layers and weights;
                 Conv2D, MaxPooling2D, Conv2DTranspose 2x2/2 and 3x3 same), MSE
    unet         examples/unet/unet.json with its input reduced to 32x32x1
                 (Conv2D, BatchNormalization in training mode, MaxPooling2D,
                 UpSampling2D, Conv2DTranspose, Concatenate, per-pixel
                 log_softmax), per-pixel NLL

The PyTorch references are tests/parity/models_science.py (the BraggNN one
checked there against the published module). Weights: Glorot-uniform, small
random biases (so bias gradients are exercised), batch-norm gamma/beta near
1/0.

A network that uses a layer class this brisk build does not have is a
failure that names the class ("FAIL braggnn: brisk has no layer class Dot").
`--torch-only` checks this harness without brisk: the trace is produced
by the float32 PyTorch reference itself (as parity_runner would write it),
so every case must pass and every control must be detected.
Negative controls (the attention softmax over the wrong axis, a transposed
Conv2DTranspose kernel, bilinear instead of nearest upsampling) must be
detected for every network that ran.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402
import models_science as ms  # noqa: E402

STEPS = 20

# model -> (input side used here, samples, batch, loss, [(case, optimizer)])
CASES = {
    "braggnn": (11, 160, 16, {"function": "MSE"},
                [("adam", {"type": "Adam", "lr": 3e-4}),
                 ("sgd_momentum", {"type": "SGD", "lr": 0.05, "momentum": 0.9})]),
    "cookienetae": (32, 40, 4, {"function": "MSE"},
                    [("adam", {"type": "Adam", "lr": 1e-3})]),
    "unet": (32, 64, 8, {"function": "NLL"},
             [("sgd_nesterov", {"type": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True})]),
}


def network(src, work, model, side):
    """The example's JSON with its input side set; returns (path, classes)."""
    with open(os.path.join(src, "examples", ms.JSON[model])) as f:
        net = json.load(f)
    first = net["config"]["layers"][0]["config"]
    assert first["batch_input_shape"][1:] in ([11, 11, 1], [128, 128, 1], [64, 64, 1]), \
        f"{model}: the example network's input changed"
    first["batch_input_shape"] = [None, side, side, 1]
    path = os.path.join(work, f"{model}_{side}.json")
    with open(path, "w") as f:
        json.dump(net, f)
    return path, sorted({l["class_name"] for l in net["config"]["layers"]})


def missing_classes(runner, work, net_path, classes):
    """The layer classes of the network that this brisk build lacks, from
    the builder's own list of known classes; [] when it builds."""
    spec = os.path.join(work, "probe.json")
    with open(spec, "w") as f:
        json.dump({"net": net_path, "weights": os.path.join(work, "absent.safetensors"),
                   "x": os.path.join(work, "absent.npy"), "y": os.path.join(work, "absent.npy"),
                   "optimizer": {"type": "SGD"}, "loss": {"function": "MSE"}, "steps": 1, "batch": 1,
                   "out": os.path.join(work, "probe.safetensors")}, f)
    p = subprocess.run([runner, spec], capture_output=True, text=True)
    m = re.search(r"unknown \(or unsupported\) layer class \"[^\"]*\" \(known: ([^)]*)\)", p.stderr)
    if not m:
        return []
    known = {c.strip() for c in m.group(1).split(",")}
    return [c for c in classes if c not in known]


def softmax_wrong_axis(p, b, x, training, ties):
    """BraggNN with the attention normalised over the queries (dim 1)."""
    orig = torch.softmax
    torch.softmax = lambda t, dim: orig(t, dim=1)
    try:
        return ms.braggnn(p, b, x, training, ties)
    finally:
        torch.softmax = orig


def conv_t_transposed_kernel(p, b, x, training, ties):
    """CookieNetAE reading dec1's (in, out) kernel as (out, in)."""
    q = dict(p)
    q["dec1.weight"] = p["dec1.weight"].transpose(0, 1)
    return ms.cookienetae(q, b, x, training, ties)


def upsample_bilinear(p, b, x, training, ties):
    orig = F.interpolate
    F.interpolate = lambda t, scale_factor, mode: orig(t, scale_factor=scale_factor, mode="bilinear",
                                                      align_corners=False)
    try:
        return ms.unet(p, b, x, training, ties)
    finally:
        F.interpolate = orig


CONTROLS = {"braggnn": ("attention softmax over the wrong axis", softmax_wrong_axis),
            "cookienetae": ("a Conv2DTranspose kernel read as (out, in)", conv_t_transposed_kernel),
            "unet": ("bilinear instead of nearest UpSampling2D", upsample_bilinear)}


def torch_trace(forward, x, y, optimizer, loss, steps, batch, params, bufs):
    """A parity_runner-style trace computed by the float32 torch reference."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    b = {k: torch.tensor(v) for k, v in bufs.items()}
    opt = pc.torch_optimizer(optimizer, list(p.values()))
    xs, ys = torch.tensor(x), torch.tensor(y)
    out = {"losses": np.zeros(steps, np.float32), "_seconds": 0.0}
    for s in range(steps):
        idx = [(s * batch + i) % len(xs) for i in range(batch)]
        for k in list(p) + list(b):
            out[f"w{s}.{k}"] = (p[k] if k in p else b[k]).detach().numpy().copy()
        opt.zero_grad()
        o = forward(p, b, xs[idx], True, pc.Ties())
        lt = pc.torch_loss(loss, o, ys[idx])
        lt.backward()
        out["losses"][s] = lt.item()
        if s == 0:
            out["output0"] = o.detach().numpy()
        for k in p:
            out[f"g{s}.{k}"] = p[k].grad.numpy().copy()
            if s == 0:
                out[f"grad.{k}"] = out[f"g0.{k}"]
        opt.step()
    for k in list(p) + list(b):
        out[f"final.{k}"] = (p[k] if k in p else b[k]).detach().numpy().copy()
    with torch.no_grad():
        out["eval.output"] = forward(p, b, xs[[i % len(xs) for i in range(batch)]], False, pc.Ties()).numpy()
    return out


def alive(model, params, bufs, x, y, loss, chk):
    """Every parameter must get a nonzero gradient on the first batch, or
    the comparisons would pass vacuously (a dead ReLU layer)."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    b = {k: torch.tensor(v, dtype=torch.float64) for k, v in bufs.items()}
    pc.torch_loss(loss, ms.FORWARD[model](p, b, torch.tensor(x, dtype=torch.float64), True, pc.Ties()),
                  torch.tensor(y, dtype=torch.float64)).backward()
    dead = [k for k, v in p.items() if float(v.grad.abs().max()) == 0]
    return chk.check(model, f"parameters without gradient at the start: {', '.join(dead)}", len(dead), 1)


def data(model, side, n, gen):
    x = torch.rand((n, 1, side, side), generator=gen, dtype=torch.float64).float().numpy()
    if model == "braggnn":
        y = (0.3 + 0.3 * torch.rand((n, 2), generator=gen, dtype=torch.float64)).float().numpy()
    elif model == "cookienetae":
        y = torch.rand((n, 1, side, side), generator=gen, dtype=torch.float64).float().numpy()
    else:
        y = torch.randint(0, ms.UNET_CLASSES, (n, side, side), generator=gen).float().numpy()
    return x, y


def main():
    runner, work, src = pc.setup("parity_science_models")
    chk = pc.Checker(f"scientific example networks: {STEPS} steps each, every step checked")
    torch_only = "--torch-only" in sys.argv[1:]
    missing = []
    gen = torch.Generator().manual_seed(pc.SEED)
    for model, (side, n, batch, loss, opts) in CASES.items():
        net_path, classes = network(src, work, model, side)
        lacking = [] if torch_only else missing_classes(runner, work, net_path, classes)
        if lacking:
            msg = f"FAIL {model}: brisk has no layer class {', '.join(lacking)} ({ms.JSON[model]} needs it)"
            print(msg, flush=True)
            missing.append(msg)
            continue
        params = ms.init_params(model, gen)
        bufs = ms.init_buffers(model)
        if model == "cookienetae":
            # the output ReLU of a freshly initialised 9-layer ReLU stack is
            # often dead for most pixels; a positive bias keeps it alive
            params["out.bias"][:] = 0.1
        w_path = os.path.join(work, f"{model}_init.safetensors")
        pc.write_safetensors(w_path, {**params, **bufs})
        x, y = data(model, side, n, gen)
        if not alive(model, params, bufs, x[:batch], y[:batch], loss, chk):
            continue
        x_path, y_path = os.path.join(work, f"{model}_x.npy"), os.path.join(work, f"{model}_y.npy")
        pc.save_npy(x_path, x)
        pc.save_npy(y_path, y)
        first = None
        for case, opt in opts:
            if torch_only:
                b = torch_trace(ms.FORWARD[model], x, y, opt, loss, STEPS, batch, params, bufs)
                res, grad0, ties = pc.check_trace(ms.FORWARD[model], b, x, y, opt, loss, STEPS, batch, params, bufs)
                chk.record(f"{model}_{case} (torch-only)", res, grad0=grad0, ties=len(ties))
            else:
                b = pc.run_case(chk, runner, work, f"{model}_{case}", ms.FORWARD[model], net_path, w_path, x_path,
                                y_path, x, y, opt, loss, STEPS, batch, params, bufs)
            first = first if first is not None else (b, opt)
        if first and first[0] is not None:
            what, fwd = CONTROLS[model]
            res = pc.check_trace(fwd, first[0], x, y, first[1], loss, 2, batch, params, bufs)[0]
            chk.expect_failure(f"{model} control", what, res)
    rc = chk.finish()
    if missing:
        print("\n" + "\n".join(missing))
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
