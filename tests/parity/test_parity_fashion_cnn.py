"""Parity with PyTorch: the Fashion-MNIST CNN example, trained 20 steps with
each optimizer.

Network: examples/fashion-mnist/fashion_cnn.json with the Dropout rate set to
0 (dropout masks cannot match across libraries): Conv2D 32 3x3 same relu,
MaxPool 2, Conv2D 64 3x3 same relu, MaxPool 2, Flatten, Dense 128 relu,
Dense 10 log_softmax, NLL loss. brisk's Flatten follows Keras' element order
(H, W, C), so the torch model permutes to channels_last before flattening.

For every optimizer configuration, every step is checked against a float64
PyTorch reference from brisk's own state of that step (see parity_common):
the loss, the output, every parameter's gradient and the update the
optimizer makes to every parameter. Negative controls (a Flatten in the
wrong order, a slightly different momentum, one wrong initial weight) must be
detected, so the comparisons are known to be able to fail.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

STEPS, BATCH, SAMPLES = 20, 16, 320

OPTIMIZERS = [
    ("sgd", {"type": "SGD", "lr": 0.05}),
    ("sgd_nesterov_wd", {"type": "SGD", "lr": 0.02, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-3}),
    ("sgd_momentum_dampening", {"type": "SGD", "lr": 0.02, "momentum": 0.8, "dampening": 0.3}),
    ("adam", {"type": "Adam", "lr": 1e-3}),
    ("adam_amsgrad_wd", {"type": "Adam", "lr": 1e-3, "beta1": 0.8, "beta2": 0.99, "amsgrad": True,
                         "weight_decay": 1e-2}),
    ("adamw", {"type": "AdamW", "lr": 1e-3, "weight_decay": 0.1}),
    ("adamw_amsgrad", {"type": "AdamW", "lr": 1e-3, "weight_decay": 0.1, "amsgrad": True, "eps": 1e-6}),
    ("rmsprop", {"type": "RMSprop", "lr": 5e-4, "alpha": 0.9}),
    ("rmsprop_centered_momentum", {"type": "RMSprop", "lr": 2e-4, "alpha": 0.95, "momentum": 0.9, "centered": True,
                                   "weight_decay": 1e-3}),
]
LOSS = {"function": "NLL"}


def forward(p, b, x, training, ties, keras_flatten=True):
    """The network in torch; ReLU and max pooling go through `ties` (see
    parity_common.Ties), which computes them as F.relu and F.max_pool2d do."""
    h = ties.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"], padding=1), "conv1/relu")
    h = ties.max_pool2d(h, 2, "pool1")
    h = ties.relu(F.conv2d(h, p["conv2.weight"], p["conv2.bias"], padding=1), "conv2/relu")
    h = ties.max_pool2d(h, 2, "pool2")
    if keras_flatten:
        h = h.permute(0, 2, 3, 1)  # Keras' Flatten order: H, W, C
    h = ties.relu(F.linear(h.flatten(1), p["fc1.weight"], p["fc1.bias"]), "fc1/relu")
    return F.log_softmax(F.linear(h, p["fc2.weight"], p["fc2.bias"]), dim=1)


def init_params():
    """Glorot-uniform weights and small random biases (so bias gradients
    and updates are exercised from the first step)."""
    shapes = {"conv1": ((32, 1, 3, 3), 9, 32 * 9), "conv2": ((64, 32, 3, 3), 32 * 9, 64 * 9),
              "fc1": ((128, 3136), 3136, 128), "fc2": ((10, 128), 128, 10)}
    p = {}
    for name, (shape, fan_in, fan_out) in shapes.items():
        lim = (6.0 / (fan_in + fan_out)) ** 0.5
        p[name + ".weight"] = (torch.rand(shape, dtype=torch.float64) * 2 - 1).mul(lim).float().numpy()
        p[name + ".bias"] = (torch.rand(shape[0], dtype=torch.float64) * 0.1 - 0.05).float().numpy()
    return p


def main():
    runner, work, src = pc.setup("parity_fashion_cnn")
    with open(os.path.join(src, "examples", "fashion-mnist", "fashion_cnn.json")) as f:
        net = json.load(f)
    n_dropout = 0
    for layer in net["config"]["layers"]:
        if layer["class_name"] == "Dropout":
            layer["config"]["rate"] = 0.0
            n_dropout += 1
    assert n_dropout == 1, "the example network changed: expected one Dropout layer"
    net_path = os.path.join(work, "fashion_cnn_nodropout.json")
    with open(net_path, "w") as f:
        json.dump(net, f)

    params = init_params()
    w_path = os.path.join(work, "init.safetensors")
    pc.write_safetensors(w_path, params)
    x = torch.rand(SAMPLES, 1, 28, 28, dtype=torch.float64).float().numpy()   # channel-first samples
    y = torch.randint(0, 10, (SAMPLES,)).float().numpy()
    x_path, y_path = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    pc.save_npy(x_path, x)
    pc.save_npy(y_path, y)

    chk = pc.Checker(f"fashion_cnn parity: {STEPS} steps of batch {BATCH}, NLL loss, every step checked")
    results = {}
    for tag, opt in OPTIMIZERS:
        results[tag] = pc.run_case(chk, runner, work, tag, forward, net_path, w_path, x_path, y_path, x, y, opt, LOSS,
                                   STEPS, BATCH, params, {})

    # Negative controls: the same comparisons must notice a model or an
    # optimizer that differs slightly from brisk's.
    b = results.get("sgd_nesterov_wd")
    if b is not None:
        def forward_channel_first_flatten(p, bufs, x, training, ties):
            return forward(p, bufs, x, training, ties, keras_flatten=False)

        opt = dict(OPTIMIZERS)["sgd_nesterov_wd"]
        res = pc.check_trace(forward_channel_first_flatten, b, x, y, opt, LOSS, 2, BATCH, params, {})[0]
        chk.expect_failure("control", "a Flatten in channel-first order", res)
        res = pc.check_trace(forward, b, x, y, dict(opt, momentum=0.89), LOSS, 3, BATCH, params, {})[0]
        chk.expect_failure("control", "momentum 0.89 instead of 0.9", res)
        bad = {k: v.copy() for k, v in params.items()}
        bad["conv2.weight"][5, 3, 1, 1] += 1e-3
        res = pc.check_trace(forward, b, x, y, opt, LOSS, 1, BATCH, bad, {})[0]
        chk.expect_failure("control", "one initial weight off by 1e-3", res)
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
