"""Parity with PyTorch: Keras size-1 broadcasting in the merge layers, in a
squeeze-and-excitation network, and hard_sigmoid by Keras version.

Model (Functional, Keras 2 form):
    input 6x6x3 (channels_last)
    conv_a Conv2D 4 3x3 same                        -> (6, 6, 4)
    gap    GlobalAveragePooling2D                   -> (4)
    fc1    Dense 3 relu;  fc2 Dense 4 hard_sigmoid  -> (4)
    gate   Reshape (1, 1, 4)
    se     Multiply [conv_a, gate]                  (6, 6, 4) * (1, 1, 4)
    one    Conv2D 1 1x1 on the input                -> (6, 6, 1)
    add    Add [se, one]                            (6, 6, 4) + (6, 6, 1)
    sub    Subtract [fc2, add]                      (4) - (6, 6, 4): rank 1
    flat   Flatten -> head Dense 3 (CrossEntropy)
written out in PyTorch with NumPy broadcasting on the Keras-ordered
(channels_last) tensors. hard_sigmoid is clip(0.2 x + 0.5, 0, 1) for
"keras_version" "2.13.1" and F.hardsigmoid (relu6(x + 3) / 6) for "3.3.3"
and for a network without a version; fc2's weights are large, so both the
slope and the flat parts are used.

Each case trains 20 steps; every step is checked against float64 PyTorch
from brisk's state of that step (parity_common). Negative controls (the
Keras 2 network checked with Keras 3's hard_sigmoid; the gate broadcast
over the wrong axis, i.e. the channels taken as rows) must be detected.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

STEPS, BATCH, SAMPLES, HW, CIN, CLASSES = 20, 8, 64, 6, 3, 3


def layer(cls, name, inbound, **cfg):
    return {"class_name": cls, "name": name, "config": dict(name=name, **cfg),
            "inbound_nodes": [[[src, 0, 0, {}] for src in inbound]] if inbound else []}


def se_net(version):
    layers = [
        {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [None, HW, HW, CIN], "name": "in"},
         "inbound_nodes": []},
        layer("Conv2D", "conv_a", ["in"], filters=4, kernel_size=[3, 3], padding="same"),
        layer("GlobalAveragePooling2D", "gap", ["conv_a"]),
        layer("Dense", "fc1", ["gap"], units=3, activation="relu"),
        layer("Dense", "fc2", ["fc1"], units=4, activation="hard_sigmoid"),
        layer("Reshape", "gate", ["fc2"], target_shape=[1, 1, 4]),
        layer("Multiply", "se", ["conv_a", "gate"]),
        layer("Conv2D", "one", ["in"], filters=1, kernel_size=[1, 1]),
        layer("Add", "add", ["se", "one"]),
        layer("Subtract", "sub", ["fc2", "add"]),
        layer("Flatten", "flat", ["sub"]),
        layer("Dense", "head", ["flat"], units=CLASSES),
    ]
    net = {"class_name": "Functional", "config": {"name": "se", "layers": layers, "input_layers": [["in", 0, 0]],
                                                  "output_layers": [["head", 0, 0]]}}
    if version:
        net["keras_version"] = version
    return net


def keras2_hard_sigmoid(v):
    return torch.clamp(0.2 * v + 0.5, 0.0, 1.0)


def se_forward(hsig, wrong_axis=False):
    def fwd(p, b, x, training, ties):
        n = x.shape[0]
        a = F.conv2d(x.permute(0, 3, 1, 2), p["conv_a.weight"], p["conv_a.bias"], padding=1).permute(0, 2, 3, 1)
        f1 = ties.relu(F.linear(a.mean((1, 2)), p["fc1.weight"], p["fc1.bias"]), "fc1/relu")
        f2 = hsig(F.linear(f1, p["fc2.weight"], p["fc2.bias"]))
        # (1, 1, 4) against (6, 6, 4); the control repeats the gate along
        # the rows instead (its first 4 of 6 rows; the others pass through)
        if wrong_axis:
            gate = torch.ones(n, HW, 1, 1, dtype=a.dtype)
            gate = torch.cat([f2.reshape(n, 4, 1, 1), gate[:, 4:]], 1)
        else:
            gate = f2.reshape(n, 1, 1, 4)
        one = F.conv2d(x.permute(0, 3, 1, 2), p["one.weight"], p["one.bias"]).permute(0, 2, 3, 1)
        add = a * gate + one
        sub = f2.reshape(n, 1, 1, 4) - add    # Keras: rank 1 (4) -> (1, 1, 4)
        return F.linear(sub.reshape(n, -1), p["head.weight"], p["head.bias"])
    return fwd


def se_weights(seed):
    g = torch.Generator().manual_seed(seed + pc.SEED)

    def u(shape, lim):
        return ((torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * lim).float().numpy()
    return {"conv_a.weight": u((4, CIN, 3, 3), 0.5), "conv_a.bias": u((4,), 0.3),
            "fc1.weight": u((3, 4), 1.5), "fc1.bias": u((3,), 0.5),
            # pre-activations over about [-5, 5]: hard_sigmoid's corners are
            # at +-2.5 (Keras 2) and +-3 (Keras 3)
            "fc2.weight": u((4, 3), 4.0), "fc2.bias": u((4,), 2.0),
            "one.weight": u((1, CIN, 1, 1), 0.8), "one.bias": u((1,), 0.1),
            "head.weight": u((CLASSES, HW * HW * 4), 0.15), "head.bias": u((CLASSES,), 0.1)}


def main():
    runner, work, _ = pc.setup("parity_broadcast")
    g = torch.Generator().manual_seed(5 + pc.SEED)
    x = torch.randn((SAMPLES, HW, HW, CIN), generator=g, dtype=torch.float64).float().numpy()
    y = torch.randint(0, CLASSES, (SAMPLES,), generator=g).float().numpy()
    x_path, y_path = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    pc.save_npy(x_path, x)
    pc.save_npy(y_path, y)
    loss = {"function": "CrossEntropy"}
    chk = pc.Checker(f"broadcasting merges + hard_sigmoid by Keras version: {STEPS} steps of batch {BATCH}")
    cases = [("keras2", "2.13.1", keras2_hard_sigmoid, {"type": "SGD", "lr": 0.05, "momentum": 0.9}),
             ("keras3", "3.3.3", F.hardsigmoid, {"type": "Adam", "lr": 5e-3}),
             ("no_version", None, F.hardsigmoid, {"type": "SGD", "lr": 0.05})]
    results = {}
    for i, (name, version, hsig, opt) in enumerate(cases):
        w = se_weights(40 + i)
        npath, wpath = os.path.join(work, f"net_{name}.json"), os.path.join(work, f"w_{name}.safetensors")
        with open(npath, "w") as f:
            json.dump(se_net(version), f, indent=1)
        pc.write_safetensors(wpath, w)
        results[name] = (pc.run_case(chk, runner, work, f"se_{name}", se_forward(hsig), npath, wpath, x_path, y_path,
                                     x, y, opt, loss, STEPS, BATCH, w, {}), opt, w)

    def fwd_bwd_only(res):
        return {k: v for k, v in res.items() if not k.startswith("update of")}

    b, opt, w = results["keras2"]
    if b is not None:
        res = pc.check_trace(se_forward(F.hardsigmoid), b, x, y, opt, loss, 1, BATCH, w, {})[0]
        chk.expect_failure("control", "Keras 3's hard_sigmoid for a Keras 2 network", fwd_bwd_only(res))
        res = pc.check_trace(se_forward(keras2_hard_sigmoid, wrong_axis=True), b, x, y, opt, loss, 1, BATCH, w, {})[0]
        chk.expect_failure("control", "the gate broadcast along the rows", fwd_bwd_only(res))
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
