"""Parity with PyTorch: a Functional model with two inputs and two outputs
trained with per-output losses and loss weights (docs/multi-io.md).

Model "two_heads" (Keras 2 Functional form):
    img   InputLayer 8x8x1 (channels_last)   meta  InputLayer 5
    conv  Conv2D 4 3x3 same, tanh -> flat Flatten (256)
    dm    Dense 6 tanh on meta
    cat   Concatenate [flat, dm] (262) -> hid Dense 16 tanh
    cls   Dense 3 log_softmax on hid   (NLL, weight 1)
    box   Dense 2 linear on hid        (MSE, weight 0.5)
Smooth activations only, so that no ReLU or pooling near-tie can route a
gradient differently in float32.

Every one of 20 steps is checked from brisk's state of that step against
float64 PyTorch: each output's loss, the weighted total, both outputs,
every parameter gradient, and the optimizer update; then the inference
outputs of the final weights. Negative controls: the weight of "box" taken
as 1, and the two targets swapped between the heads' losses, must be
detected.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

STEPS, BATCH, SAMPLES, HW, META, CLASSES, BOX = 20, 8, 64, 8, 5, 3, 2
WEIGHTS = [1.0, 0.5]


def layer(cls, name, inbound, **cfg):
    return {"class_name": cls, "name": name, "config": {"name": name, **cfg},
            "inbound_nodes": [[[src, 0, 0, {}] for src in inbound]] if inbound else []}


def net():
    layers = [
        layer("InputLayer", "img", [], batch_input_shape=[None, HW, HW, 1]),
        layer("InputLayer", "meta", [], batch_input_shape=[None, META]),
        layer("Conv2D", "conv", ["img"], filters=4, kernel_size=[3, 3], padding="same", activation="tanh"),
        layer("Flatten", "flat", ["conv"]),
        layer("Dense", "dm", ["meta"], units=6, activation="tanh"),
        layer("Concatenate", "cat", ["flat", "dm"], axis=-1),
        layer("Dense", "hid", ["cat"], units=16, activation="tanh"),
        layer("Dense", "cls", ["hid"], units=CLASSES, activation="log_softmax"),
        layer("Dense", "box", ["hid"], units=BOX, activation="linear"),
    ]
    return {"class_name": "Functional", "config": {
        "name": "two_heads", "layers": layers,
        "input_layers": [["img", 0, 0], ["meta", 0, 0]],
        "output_layers": [["cls", 0, 0], ["box", 0, 0]]}}


def forward(p, x_img, x_meta):
    """Both outputs, computed the Keras way on channels_last tensors."""
    h = F.conv2d(x_img.permute(0, 3, 1, 2), p["conv.weight"], p["conv.bias"], padding=1).permute(0, 2, 3, 1)
    flat = torch.tanh(h).reshape(x_img.shape[0], -1)
    dm = torch.tanh(F.linear(x_meta, p["dm.weight"], p["dm.bias"]))
    hid = torch.tanh(F.linear(torch.cat([flat, dm], 1), p["hid.weight"], p["hid.bias"]))
    cls = torch.log_softmax(F.linear(hid, p["cls.weight"], p["cls.bias"]), 1)
    return cls, F.linear(hid, p["box.weight"], p["box.bias"])


def losses(outs, y_cls, y_box, weights, swap=False):
    l_cls = F.nll_loss(outs[0], y_cls.long())
    l_box = F.mse_loss(outs[1], y_box if not swap else y_box.flip(1))
    return l_cls, l_box, weights[0] * l_cls + weights[1] * l_box


def uniform(g, shape, lim):
    return ((torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * lim).float().numpy()


def init_weights():
    g = torch.Generator().manual_seed(99 + pc.SEED)
    return {"conv.weight": uniform(g, (4, 1, 3, 3), 0.5), "conv.bias": uniform(g, (4,), 0.1),
            "dm.weight": uniform(g, (6, META), 0.5), "dm.bias": uniform(g, (6,), 0.1),
            "hid.weight": uniform(g, (16, HW * HW * 4 + 6), 0.12), "hid.bias": uniform(g, (16,), 0.1),
            "cls.weight": uniform(g, (CLASSES, 16), 0.5), "cls.bias": uniform(g, (CLASSES,), 0.1),
            "box.weight": uniform(g, (BOX, 16), 0.5), "box.bias": uniform(g, (BOX,), 0.1)}


def check(b, data, optimizer, weights, steps, swap=False):
    """Checks brisk's trace b step by step; returns what -> (error, tolerance)."""
    x_img, x_meta, y_cls, y_box = (pc.f32(a) for a in data)
    names = list(init_weights())
    res = {}

    def note(what, err, tol):
        if what not in res or err / tol > res[what][0] / res[what][1]:
            res[what] = (err, tol)

    q = {n: pc._t(b["w0." + n], requires_grad=True) for n in names}
    opt = pc.torch_optimizer(optimizer, list(q.values()))
    for s in range(steps):
        idx = [(s * BATCH + i) % SAMPLES for i in range(BATCH)]
        w = {n: b[f"w{s}.{n}"] for n in names}
        p = {n: pc._t(w[n], requires_grad=True) for n in names}
        outs = forward(p, pc._t(x_img[idx]), pc._t(x_meta[idx]))
        l_cls, l_box, total = losses(outs, pc._t(y_cls[idx]), pc._t(y_box[idx]), weights, swap)
        total.backward()
        for k, lk in enumerate((l_cls, l_box)):
            note(f"loss of output {k}", abs(float(b[f"losses.{k}"][s]) - lk.item()) / abs(lk.item()), pc.TOL_LOSS)
        note("loss", abs(float(b["losses"][s]) - total.item()) / abs(total.item()), pc.TOL_LOSS)  # the total
        if s == 0:
            for k in range(2):
                note(f"output {k}", pc.rel_err(b[f"output0.{k}"], outs[k].detach().numpy()), pc.TOL_GRAD)
                note("output", pc.rel_err(b[f"output0.{k}"], outs[k].detach().numpy()), pc.TOL_GRAD)
        gmax = max(float(p[n].grad.abs().max()) for n in names)
        for n in names:
            err = pc.rel_err(b[f"g{s}.{n}"], p[n].grad.numpy(), floor=pc.GRAD_FLOOR * gmax)
            note(f"gradient of {n}", err, pc.TOL_GRAD)
            if s == 0:
                note(f"step-0 gradient of {n}", err, pc.TOL_GRAD)
        with torch.no_grad():
            for n in names:
                q[n].copy_(pc._t(w[n]))
                q[n].grad = pc._t(b[f"g{s}.{n}"])
        opt.step()
        nxt = {n: b[f"w{s + 1}.{n}"] if s + 1 < steps else b[f"final.{n}"] for n in names}
        if s + 1 < steps or steps == STEPS:
            for n in names:
                note(f"update of {n}", pc.rel_err(nxt[n] - w[n], q[n].detach().numpy() - w[n],
                                                  floor=pc.UPDATE_FLOOR * float(np.abs(w[n]).max())), pc.TOL_UPDATE)
    if steps == STEPS:
        with torch.no_grad():
            p = {n: pc._t(b["final." + n]) for n in names}
            idx = list(range(BATCH))
            outs = forward(p, pc._t(x_img[idx]), pc._t(x_meta[idx]))
            for k in range(2):
                note(f"inference output {k}", pc.rel_err(b[f"eval.output.{k}"], outs[k].numpy()), pc.TOL_GRAD)
    return res


def main():
    runner, work, _ = pc.setup("parity_multi_io")
    g = torch.Generator().manual_seed(11 + pc.SEED)
    x_img = torch.randn((SAMPLES, HW, HW, 1), generator=g, dtype=torch.float64).float().numpy()
    x_meta = torch.randn((SAMPLES, META), generator=g, dtype=torch.float64).float().numpy()
    y_cls = torch.randint(0, CLASSES, (SAMPLES,), generator=g).float().numpy()
    y_box = torch.randn((SAMPLES, BOX), generator=g, dtype=torch.float64).float().numpy()
    data = (x_img, x_meta, y_cls, y_box)
    paths = {}
    for name, arr in zip(("x_img", "x_meta", "y_cls", "y_box"), data):
        paths[name] = os.path.join(work, name + ".npy")
        pc.save_npy(paths[name], arr)
    net_path, w_path = os.path.join(work, "net.json"), os.path.join(work, "init.safetensors")
    with open(net_path, "w") as f:
        json.dump(net(), f, indent=1)
    w0 = init_weights()
    pc.write_safetensors(w_path, w0)
    chk = pc.Checker(f"multi-io parity: 2 inputs, 2 outputs (NLL x {WEIGHTS[0]} + MSE x {WEIGHTS[1]}), "
                     f"{STEPS} steps of batch {BATCH}, every step checked")
    loss = [{"function": "NLL"}, {"function": "MSE"}]
    results = {}
    for tag, opt in (("sgd_momentum", {"type": "SGD", "lr": 0.05, "momentum": 0.9}),
                     ("adam", {"type": "Adam", "lr": 3e-3})):
        case = f"two_heads/{tag}"
        spec = {"net": net_path, "weights": w_path, "x": [paths["x_img"], paths["x_meta"]],
                "y": [paths["y_cls"], paths["y_box"]], "optimizer": opt, "loss": loss, "loss_weights": WEIGHTS,
                "steps": STEPS, "batch": BATCH, "eval": True, "trace": True,
                "out": os.path.join(work, f"brisk_{tag}.safetensors")}
        try:
            b = run_spec(runner, work, tag, spec)
        except RuntimeError as e:
            chk.check(case, f"brisk run: {e}", float("inf"), 1)
            continue
        for n in w0:
            chk.check(case, f"loaded {n}", pc.rel_err(b["w0." + n], pc.f32(w0[n])), pc.TOL_LOAD)
        res = check(b, data, opt, WEIGHTS, STEPS)
        chk.record(case, {k: (e, t, 0) for k, (e, t) in res.items()},
                   grad0=max(e for k, (e, t) in res.items() if k.startswith("step-0")))
        results[tag] = b
        # the loss falls: the run trains both heads
        first, last = b["losses"][:4].mean(), b["losses"][-4:].mean()
        chk.check(case, f"total loss falls ({first:.4f} -> {last:.4f})", float(last / first), 1.0)
    b = results.get("adam")
    if b is not None:
        ctl = lambda r: {k: (e, t, 0) for k, (e, t) in r.items() if not k.startswith(("update", "inference"))}
        chk.expect_failure("control", "loss weight of box taken as 1",
                           ctl(check(b, data, {"type": "Adam", "lr": 3e-3}, [1.0, 1.0], 2)))
        chk.expect_failure("control", "box targets' columns swapped",
                           ctl(check(b, data, {"type": "Adam", "lr": 3e-3}, WEIGHTS, 2, swap=True)))
    return chk.finish()


def run_spec(runner, work, tag, spec):
    import subprocess
    spec_path = os.path.join(work, f"spec_{tag}.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=1)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([runner, spec_path], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"parity_runner failed ({p.returncode}) on {spec_path}:\n{p.stdout}{p.stderr}")
    res = pc.read_safetensors(spec["out"])
    os.remove(spec["out"])
    return res


if __name__ == "__main__":
    sys.exit(main())
