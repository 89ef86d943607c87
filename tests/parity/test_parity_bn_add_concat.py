"""Parity with PyTorch: a Functional (Keras 2) network with batch
normalization in training mode, residual Add, channel Concatenate, strided
and asymmetric "same" padding, average pooling and several heads/losses.

    input 12x12x3 (channels_last samples, as Keras data is stored)
    conv_a  Conv2D 8 3x3 same, no bias -> bn_a (Keras defaults: momentum
            0.99, epsilon 1e-3) -> relu_a (Activation relu)
    conv_b  Conv2D 8 3x3 same -> bn_b (momentum 0.9, epsilon 1e-5)
    add_1   Add [relu_a, bn_b] -> relu_b (ReLU layer)
    conv_c  Conv2D 4 2x2 same (even kernel: the extra pad pixel goes at the
            end, as in Keras/TF) on relu_a -> leaky_c (LeakyReLU alpha 0.1)
    cat_1   Concatenate axis -1 [relu_b, leaky_c] -> 12 channels
    conv_d  Conv2D 8 3x3 stride 2 same, relu (12 -> 6, padding 0 before /
            1 after) -> bn_d -> pool_d AveragePooling2D 2 -> gap_d
    conv_e  Conv2D 6 3x3 stride 2 valid (12 -> 5) -> pool_e
            AveragePooling2D 2 same (5 -> 3; the padded cell is not counted)
            -> gap_e
    cat_2   Concatenate [gap_d, gap_e] -> fc Dense 16 relu -> bn_f
            (BatchNormalization of 16 features) -> head Dense
conv_b's bias feeds a batch norm, so its gradient is zero in exact
arithmetic (as in Keras' ResNets); so are fc's, conv_e's and bn_d's in steps
where every fc unit is active. Such gradients are checked to be zero to
float32 noise (parity_common.TOL_ZERO_GRAD).

Heads and losses: Dense 10 + CrossEntropy (on logits), Dense 4 + MSE,
Dense 4 + L1, Dense 3 sigmoid + BCE, Dense 3 + BCE on logits (soft targets).
Two more cases use several batch sizes in turn and a frozen stem
("trainable": false on conv_a and bn_a). Each case trains 20 steps; every step is checked against float64 PyTorch
from brisk's own state of that step (parity_common): loss, gradients of
every parameter, the optimizer's update of every parameter, and the update
of every running mean/variance (brisk uses the unbiased batch variance, as
PyTorch does); after training, the inference-mode output (running
statistics) must match too. Negative controls must be detected.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

STEPS, BATCH, SAMPLES, HW, CIN = 20, 16, 320, 12, 3

# name -> (units, Keras activation, loss)
HEADS = {
    "ce": (10, "linear", {"function": "CrossEntropy"}),
    "mse": (4, "linear", {"function": "MSE"}),
    "l1": (4, "linear", {"function": "L1"}),
    "bce": (3, "sigmoid", {"function": "BCE"}),
    "bce_logits": (3, "linear", {"function": "BCE", "from_logits": True}),
}

# (head, name, optimizer[, batch sizes used in turn[, frozen layers]])
CASES = [
    ("ce", "sgd_momentum", {"type": "SGD", "lr": 0.05, "momentum": 0.9}),
    ("ce", "sgd_nesterov_wd", {"type": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("ce", "adam", {"type": "Adam", "lr": 3e-3}),
    ("ce", "adam_amsgrad_wd", {"type": "Adam", "lr": 3e-3, "amsgrad": True, "weight_decay": 1e-2}),
    ("ce", "adamw", {"type": "AdamW", "lr": 3e-3, "weight_decay": 0.1}),
    ("ce", "rmsprop", {"type": "RMSprop", "lr": 1e-3}),
    ("ce", "rmsprop_centered_momentum", {"type": "RMSprop", "lr": 5e-4, "momentum": 0.9, "centered": True}),
    ("mse", "adam", {"type": "Adam", "lr": 3e-3, "beta1": 0.85, "beta2": 0.995}),
    ("mse", "sgd_momentum_dampening", {"type": "SGD", "lr": 0.02, "momentum": 0.9, "dampening": 0.5}),
    ("l1", "sgd", {"type": "SGD", "lr": 0.05}),
    ("bce", "rmsprop", {"type": "RMSprop", "lr": 1e-3, "alpha": 0.9, "weight_decay": 1e-3}),
    ("bce_logits", "adamw_amsgrad", {"type": "AdamW", "lr": 3e-3, "weight_decay": 0.05, "amsgrad": True}),
    # several batch sizes in turn (a smaller last batch, the activation
    # memory growing after the first step, more sizes than plans cached)
    ("ce", "rmsprop_batches_7_16_5_16_9", {"type": "RMSprop", "lr": 1e-3}, [7, 16, 5, 16, 9]),
    # transfer learning: a frozen stem ("trainable": false). Keras runs a
    # frozen BatchNormalization in inference mode: running statistics, no
    # statistics update; frozen weights get no update either.
    ("ce", "adam_frozen_stem", {"type": "Adam", "lr": 3e-3, "weight_decay": 1e-3}, [16, 11], ("conv_a", "bn_a")),
]

# Batch-norm layers: name -> (Keras momentum, epsilon)
BN = {"bn_a": (0.99, 1e-3), "bn_b": (0.9, 1e-5), "bn_d": (0.99, 1e-3), "bn_f": (0.99, 1e-3)}


# ---- the Keras network ---------------------------------------------------------

def _layer(cls, name, inbound, **cfg):
    config = {"name": name, "trainable": name not in _FROZEN, "dtype": "float32", **cfg}
    return {"class_name": cls, "config": config, "name": name,
            "inbound_nodes": [[[src, 0, 0, {}] for src in inbound]] if inbound else []}


def _conv(name, inbound, filters, k, strides=1, padding="same", activation="linear", use_bias=True):
    return _layer("Conv2D", name, inbound, filters=filters, kernel_size=[k, k], strides=[strides, strides],
                  padding=padding, data_format="channels_last", dilation_rate=[1, 1], groups=1,
                  activation=activation, use_bias=use_bias,
                  kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}},
                  bias_initializer={"class_name": "Zeros", "config": {}}, kernel_regularizer=None,
                  bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None)


def _dense(name, inbound, units, activation):
    return _layer("Dense", name, inbound, units=units, activation=activation, use_bias=True,
                  kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}},
                  bias_initializer={"class_name": "Zeros", "config": {}}, kernel_regularizer=None,
                  bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None)


def _bn(name, inbound):
    momentum, eps = BN[name]
    return _layer("BatchNormalization", name, inbound, axis=[3] if name != "bn_f" else [1], momentum=momentum,
                  epsilon=eps, center=True, scale=True,
                  beta_initializer={"class_name": "Zeros", "config": {}},
                  gamma_initializer={"class_name": "Ones", "config": {}},
                  moving_mean_initializer={"class_name": "Zeros", "config": {}},
                  moving_variance_initializer={"class_name": "Ones", "config": {}},
                  beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None)


_FROZEN = set()


def keras_net(units, head_activation, frozen=()):
    _FROZEN.clear()
    _FROZEN.update(frozen)
    layers = [
        _layer("InputLayer", "input_1", [], batch_input_shape=[None, HW, HW, CIN], sparse=False, ragged=False),
        _conv("conv_a", ["input_1"], 8, 3, use_bias=False),
        _bn("bn_a", ["conv_a"]),
        _layer("Activation", "relu_a", ["bn_a"], activation="relu"),
        _conv("conv_b", ["relu_a"], 8, 3),
        _bn("bn_b", ["conv_b"]),
        _layer("Add", "add_1", ["relu_a", "bn_b"]),
        _layer("ReLU", "relu_b", ["add_1"], max_value=None, negative_slope=0.0, threshold=0.0),
        _conv("conv_c", ["relu_a"], 4, 2),
        _layer("LeakyReLU", "leaky_c", ["conv_c"], alpha=0.1),
        _layer("Concatenate", "cat_1", ["relu_b", "leaky_c"], axis=-1),
        _conv("conv_d", ["cat_1"], 8, 3, strides=2, activation="relu"),
        _bn("bn_d", ["conv_d"]),
        _layer("AveragePooling2D", "pool_d", ["bn_d"], pool_size=[2, 2], padding="valid", strides=[2, 2],
               data_format="channels_last"),
        _layer("GlobalAveragePooling2D", "gap_d", ["pool_d"], data_format="channels_last", keepdims=False),
        _conv("conv_e", ["cat_1"], 6, 3, strides=2, padding="valid"),
        _layer("AveragePooling2D", "pool_e", ["conv_e"], pool_size=[2, 2], padding="same", strides=[2, 2],
               data_format="channels_last"),
        _layer("GlobalAveragePooling2D", "gap_e", ["pool_e"], data_format="channels_last", keepdims=False),
        _layer("Concatenate", "cat_2", ["gap_d", "gap_e"], axis=-1),
        _dense("fc", ["cat_2"], 16, "relu"),
        _bn("bn_f", ["fc"]),
        _dense("head", ["bn_f"], units, head_activation),
    ]
    return {"class_name": "Functional",
            "config": {"name": "bn_add_concat", "layers": layers, "input_layers": [["input_1", 0, 0]],
                       "output_layers": [["head", 0, 0]]},
            "keras_version": "2.13.1", "backend": "tensorflow"}


# ---- the same network in torch ------------------------------------------------

def pad_same(x, k, s):
    """Keras/TF "same" padding of the two spatial axes: the odd pixel goes
    at the end (right/bottom)."""
    def amounts(n):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        return total // 2, total - total // 2
    top, bottom = amounts(x.shape[2])
    left, right = amounts(x.shape[3])
    return F.pad(x, (left, right, top, bottom))


def avg_pool_same(x, k, s):
    """Average pooling with "same" padding; padded cells are not counted."""
    ones = torch.ones_like(x[:1, :1])
    return F.avg_pool2d(pad_same(x, k, s), k, s) / F.avg_pool2d(pad_same(ones, k, s), k, s)


def forward(p, b, x, training, ties, head_activation="linear", bn_momentum=None, cat_order=(0, 1), frozen=()):
    """The torch model; frozen layers' weights come in b (not trained)."""
    p = {**b, **p}

    def bn(h, name):
        momentum, eps = BN[name]
        if bn_momentum and name in bn_momentum:
            momentum = bn_momentum[name]
        return F.batch_norm(h, b[name + ".running_mean"], b[name + ".running_var"], p[name + ".weight"],
                            p[name + ".bias"], training=training and name not in frozen, momentum=1 - momentum,
                            eps=eps)

    def conv(h, name, k, s=1, same=True, bias=True):
        if same:
            h = pad_same(h, k, s)
        return F.conv2d(h, p[name + ".weight"], p[name + ".bias"] if bias else None, stride=s)

    x = x.permute(0, 3, 1, 2)                      # samples are stored channels_last
    ra = ties.relu(bn(conv(x, "conv_a", 3, bias=False), "bn_a"), "relu_a")
    rb = ties.relu(ra + bn(conv(ra, "conv_b", 3), "bn_b"), "relu_b")
    c = ties.relu(conv(ra, "conv_c", 2), "leaky_c", negative_slope=0.1)
    parts = [rb, c]
    cat = torch.cat([parts[i] for i in cat_order], 1)
    d = bn(ties.relu(conv(cat, "conv_d", 3, s=2), "conv_d/relu"), "bn_d")
    gd = F.avg_pool2d(d, 2).mean((2, 3))
    e = avg_pool_same(conv(cat, "conv_e", 3, s=2, same=False), 2, 2)
    ge = e.mean((2, 3))
    f = ties.relu(F.linear(torch.cat([gd, ge], 1), p["fc.weight"], p["fc.bias"]), "fc/relu")
    f = bn(f, "bn_f")
    out = F.linear(f, p["head.weight"], p["head.bias"])
    return torch.sigmoid(out) if head_activation == "sigmoid" else out


def init_weights(units):
    """Random weights and statistics (not the Keras defaults, so that every
    term of batch norm and every running-statistics update is exercised)."""
    g = torch.Generator().manual_seed(1234 + pc.SEED)

    def uni(shape, lo, hi):
        return (torch.rand(shape, generator=g, dtype=torch.float64) * (hi - lo) + lo).float().numpy()

    params, buffers = {}, {}
    convs = {"conv_a": (8, CIN, 3, False), "conv_b": (8, 8, 3, True), "conv_c": (4, 8, 2, True),
             "conv_d": (8, 12, 3, True), "conv_e": (6, 12, 3, True)}
    for name, (cout, cin, k, bias) in convs.items():
        lim = (6.0 / ((cin + cout) * k * k)) ** 0.5
        params[name + ".weight"] = uni((cout, cin, k, k), -lim, lim)
        if bias:
            params[name + ".bias"] = uni((cout,), -0.1, 0.1)
    params["fc.weight"] = uni((16, 14), -(6.0 / 30) ** 0.5, (6.0 / 30) ** 0.5)
    params["fc.bias"] = uni((16,), -0.1, 0.1)
    for name, c in (("bn_a", 8), ("bn_b", 8), ("bn_d", 8), ("bn_f", 16)):
        params[name + ".weight"] = uni((c,), 0.5, 1.5)
        params[name + ".bias"] = uni((c,), -0.2, 0.2)
        buffers[name + ".running_mean"] = uni((c,), -0.1, 0.1)
        buffers[name + ".running_var"] = uni((c,), 0.5, 1.5)
    lim = (6.0 / (16 + units)) ** 0.5
    params["head.weight"] = uni((units, 16), -lim, lim)
    params["head.bias"] = uni((units,), -0.1, 0.1)
    return params, buffers


def targets(head, n):
    g = torch.Generator().manual_seed(99 + pc.SEED)
    units = HEADS[head][0]
    if head == "ce":
        return torch.randint(0, units, (n,), generator=g).float().numpy()
    if head in ("mse", "l1"):
        return torch.randn((n, units), generator=g, dtype=torch.float64).float().numpy()
    if head == "bce":
        return torch.randint(0, 2, (n, units), generator=g).float().numpy()
    return torch.rand((n, units), generator=g, dtype=torch.float64).float().numpy()  # soft targets


def main():
    runner, work, _ = pc.setup("parity_bn_add_concat")
    g = torch.Generator().manual_seed(7 + pc.SEED)
    x = torch.randn((SAMPLES, HW, HW, CIN), generator=g, dtype=torch.float64).float().numpy()
    x_path = os.path.join(work, "x.npy")
    pc.save_npy(x_path, x)
    setup = {}
    for head, (units, act, _) in HEADS.items():
        net_path = os.path.join(work, f"net_{head}.json")
        with open(net_path, "w") as f:
            json.dump(keras_net(units, act), f, indent=1)
        params, buffers = init_weights(units)
        w_path = os.path.join(work, f"init_{head}.safetensors")
        pc.write_safetensors(w_path, {**params, **buffers})
        y = targets(head, SAMPLES)
        y_path = os.path.join(work, f"y_{head}.npy")
        pc.save_npy(y_path, y)
        setup[head] = (net_path, w_path, y_path, y, params, buffers)

    chk = pc.Checker(f"bn_add_concat parity: {STEPS} steps of batch {BATCH}, every step checked")
    results = {}
    for head, tag, opt, *more in CASES:
        batch = more[0] if more else BATCH
        frozen = more[1] if len(more) > 1 else ()
        net_path, w_path, y_path, y, params, buffers = setup[head]
        units, act, loss = HEADS[head]
        if frozen:
            net_path = os.path.join(work, f"net_{head}_frozen.json")
            with open(net_path, "w") as f:
                json.dump(keras_net(units, act, frozen), f, indent=1)
            # frozen weights are constants on the torch side
            buffers = {**buffers, **{k: v for k, v in params.items() if k.split(".")[0] in frozen}}
            params = {k: v for k, v in params.items() if k.split(".")[0] not in frozen}

        def fwd(p, b, xx, training, ties, act=act, frozen=frozen):
            return forward(p, b, xx, training, ties, head_activation=act, frozen=frozen)
        results[(head, tag)] = pc.run_case(chk, runner, work, f"{head}/{tag}", fwd, net_path, w_path, x_path, y_path,
                                           x, y, opt, loss, STEPS, batch, params, buffers)

    # Negative controls on one trace: a different batch-norm momentum (the
    # running-statistics check), the concatenation in the other order (the
    # forward/backward checks), a slightly different Adam beta2 (updates).
    b = results.get(("ce", "adam"))
    if b is not None:
        _, _, _, y, params, buffers = setup["ce"]
        opt = dict((c[1], c[2]) for c in CASES if c[0] == "ce")["adam"]
        loss = HEADS["ce"][2]
        res = pc.check_trace(lambda p, bb, xx, tr, ti: forward(p, bb, xx, tr, ti, bn_momentum={"bn_b": 0.99}),
                             b, x, y, opt, loss, 2, BATCH, params, buffers)[0]
        chk.expect_failure("control", "bn_b momentum 0.99 instead of 0.9", res)
        res = pc.check_trace(lambda p, bb, xx, tr, ti: forward(p, bb, xx, tr, ti, cat_order=(1, 0)),
                             b, x, y, opt, loss, 1, BATCH, params, buffers)[0]
        chk.expect_failure("control", "Concatenate inputs swapped", res)
        res = pc.check_trace(forward, b, x, y, dict(opt, beta2=0.998), loss, 3, BATCH, params, buffers)[0]
        chk.expect_failure("control", "Adam beta2 0.998 instead of 0.999", res)
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
