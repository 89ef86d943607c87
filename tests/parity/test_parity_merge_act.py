"""Parity with PyTorch: the merge, attention and activation layers of real
Keras exports (issue 3), and Keras weight regularizers in the loss.

Model "merge_act" (Functional, Keras 3 form of every layer config, with the
bookkeeping keys real exports carry: dtype policies, regularizers and
constraints set to null, build_config, module, registered_name):
    input 4x4x3 (channels_last)
    conv_a, conv_b  Conv2D 4 3x3 same
    sub  Subtract [conv_a, conv_b]     mul  Multiply [conv_a, conv_b]
    mx   Maximum [sub, mul]
    cat  Concatenate axis 1 (rows: a spatial axis) [mx, conv_a] -> 8x4x4
    prelu PReLU shared_axes [1, 2] (alpha (1, 1, 4))
    conv_c Conv2D 4 1x1 on cat -> relu6 ReLU max_value 6 (conv_c's weights
           are large, so the cap is reached)
    th   Reshape (32, 4) of relu6      ph  Reshape (32, 4) of prelu
    att  Dot axes 2 [th, ph] -> (32, 32) -> sm Softmax axis 1 (columns)
    y    Dot axes [2, 1] [sm, th] -> (32, 4) -> Reshape 8x4x4
    gmp  GlobalMaxPooling2D -> (4)
    cos  Dot axes 1 normalize [th, ph] -> (4, 4) -> Flatten (16)
    relu_t ReLU threshold 0.1, negative_slope 0.2, max_value 1.5 on Flatten
    cat2 Concatenate [gmp, relu_t] -> head Dense 3 (CrossEntropy)
The torch side computes every layer on the Keras-ordered (channels_last)
tensors with Keras' formulas, so a layout slip in brisk shows.

Model "acts": Flatten -> Dense 8 with each of selu, softplus, softsign,
hard_sigmoid (Keras 3's relu6(x + 3) / 6), exponential, relu6 in turn;
Average, Minimum and Multiply of them -> Dense 3.

Model "l2": Conv2D 4 3x3 (kernel L2 0.01, bias L1 0.001) -> Flatten ->
Dense 6 relu (kernel L1L2 l1 1e-3 l2 1e-2) -> Dense 3, CrossEntropy; the
torch loss adds sum(l1 |w| + l2 w^2) explicitly.

Each case trains 20 steps; every step is checked against float64 PyTorch
from brisk's state of that step (parity_common). Negative controls (Softmax
over the other axis, Dot without normalize, the penalty left out) must be
detected.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

STEPS, BATCH, SAMPLES, HW, CIN, CLASSES = 20, 8, 96, 4, 3, 3

DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
NULLS = {"kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
         "kernel_constraint": None, "bias_constraint": None}


def _init(cls, **cfg):
    return {"module": "keras.initializers", "class_name": cls, "config": cfg, "registered_name": None}


def _reg(cls, **cfg):
    return {"module": "keras.regularizers", "class_name": cls, "config": cfg, "registered_name": None}


def _layer(cls, name, inbound, **cfg):
    """A Keras 3 layer: inbound tensors as keras_history, extra keys as exported."""
    args = [{"class_name": "__keras_tensor__", "config": {"shape": [None], "dtype": "float32",
                                                          "keras_history": [src, 0, 0]}} for src in inbound]
    return {"module": "keras.layers", "class_name": cls, "registered_name": None, "name": name,
            "config": {"name": name, "trainable": True, "dtype": DTYPE, **cfg},
            "build_config": {"input_shape": [None, 1]},
            "inbound_nodes": [{"args": [args] if len(args) > 1 else args, "kwargs": {}}] if inbound else []}


def _conv(name, inbound, filters, k, **extra):
    cfg = dict(filters=filters, kernel_size=[k, k], strides=[1, 1], padding="same", data_format="channels_last",
               dilation_rate=[1, 1], groups=1, activation="linear", use_bias=True,
               kernel_initializer=_init("GlorotUniform", seed=None), bias_initializer=_init("Zeros"), **NULLS)
    cfg.update(extra)
    return _layer("Conv2D", name, inbound, **cfg)


def _dense(name, inbound, units, activation="linear", **extra):
    cfg = dict(units=units, activation=activation, use_bias=True, kernel_initializer=_init("GlorotUniform", seed=None),
               bias_initializer=_init("Zeros"), **NULLS)
    cfg.update(extra)
    return _layer("Dense", name, inbound, **cfg)


def _model(name, layers, output):
    inp = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None, "name": "input",
           "config": {"batch_shape": [None, HW, HW, CIN], "dtype": "float32", "sparse": False, "ragged": False,
                      "name": "input"}, "inbound_nodes": []}
    return {"module": "keras", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": name, "trainable": True, "layers": [inp] + layers,
                       "input_layers": [["input", 0, 0]], "output_layers": [[output, 0, 0]]},
            "build_config": {"input_shape": None}, "keras_version": "3.3.3", "backend": "tensorflow"}


def merge_act_net():
    L = _layer
    layers = [
        _conv("conv_a", ["input"], 4, 3), _conv("conv_b", ["input"], 4, 3),
        L("Subtract", "sub", ["conv_a", "conv_b"]), L("Multiply", "mul", ["conv_a", "conv_b"]),
        L("Maximum", "mx", ["sub", "mul"]),
        L("Concatenate", "cat", ["mx", "conv_a"], axis=1),
        L("PReLU", "prelu", ["cat"], alpha_initializer=_init("Constant", value=0.25), alpha_regularizer=None,
          alpha_constraint=None, shared_axes=[1, 2]),
        _conv("conv_c", ["cat"], 4, 1),
        L("ReLU", "relu6", ["conv_c"], max_value=6.0, negative_slope=0.0, threshold=0.0),
        L("Reshape", "th", ["relu6"], target_shape=[32, 4]),
        L("Reshape", "ph", ["prelu"], target_shape=[32, 4]),
        L("Dot", "att", ["th", "ph"], axes=2, normalize=False),
        L("Softmax", "sm", ["att"], axis=1),
        L("Dot", "y", ["sm", "th"], axes=[2, 1], normalize=False),
        L("Reshape", "yr", ["y"], target_shape=[8, 4, 4]),
        L("GlobalMaxPooling2D", "gmp", ["yr"], data_format="channels_last", keepdims=False),
        L("Dot", "cos", ["th", "ph"], axes=1, normalize=True),
        L("Flatten", "flat", ["cos"], data_format="channels_last"),
        L("ReLU", "relu_t", ["flat"], max_value=1.5, negative_slope=0.2, threshold=0.1),
        L("Concatenate", "cat2", ["gmp", "relu_t"], axis=-1),
        _dense("head", ["cat2"], CLASSES),
    ]
    return _model("merge_act", layers, "head")


ACTS = ("selu", "softplus", "softsign", "hard_sigmoid", "exponential", "relu6")


def acts_net():
    """Dense layers with the activations added for Keras exports, joined by
    Average, Minimum and Multiply."""
    layers = [_layer("Flatten", "flat", ["input"], data_format="channels_last")]
    prev = "flat"
    for a in ACTS:
        layers.append(_dense(a, [prev], 8, a))
        prev = a
    L = _layer
    layers += [L("Average", "avg", ["softplus", "softsign", "hard_sigmoid"]),
               L("Minimum", "mn", ["avg", "selu"]),
               L("Multiply", "mul", ["mn", "exponential", "relu6"]),
               _dense("head", ["mul"], CLASSES)]
    return _model("acts", layers, "head")


TORCH_ACTS = {"selu": F.selu, "softplus": F.softplus, "softsign": F.softsign,
              "hard_sigmoid": F.hardsigmoid,          # Keras 3: relu6(x + 3) / 6
              "exponential": torch.exp, "relu6": lambda v: F.hardtanh(v, 0.0, 6.0)}


def acts_forward(p, b, x, training, ties, swap_min=False):
    h, out = x.reshape(x.shape[0], -1), {}
    for a in ACTS:
        h = TORCH_ACTS[a](F.linear(h, p[a + ".weight"], p[a + ".bias"]))
        out[a] = h
    avg = (out["softplus"] + out["softsign"] + out["hard_sigmoid"]) / 3
    mn = torch.maximum(avg, out["selu"]) if swap_min else torch.minimum(avg, out["selu"])
    return F.linear(mn * out["exponential"] * out["relu6"], p["head.weight"], p["head.bias"])


SCALE = {"hard_sigmoid": 3.0, "relu6": 6.0}


def acts_weights():
    g = torch.Generator().manual_seed(999 + pc.SEED)
    w, fan = {}, HW * HW * CIN
    for a in ACTS:
        # wide enough that hard_sigmoid's and relu6's flat parts are reached
        w[a + ".weight"] = uniform(g, (8, fan), SCALE.get(a, 1.0) * 3.0 / fan ** 0.5)
        w[a + ".bias"] = uniform(g, (8,), 0.5)
        fan = 8
    w["head.weight"] = uniform(g, (CLASSES, 8), 0.6)
    w["head.bias"] = uniform(g, (CLASSES,), 0.1)
    return w


L2 = {"conv.weight": (0.0, 0.01), "conv.bias": (0.001, 0.0), "fc.weight": (1e-3, 1e-2)}


def l2_net():
    layers = [
        _conv("conv", ["input"], 4, 3, kernel_regularizer=_reg("L2", l2=0.01), bias_regularizer=_reg("L1", l1=0.001)),
        _layer("Flatten", "flat", ["conv"], data_format="channels_last"),
        _dense("fc", ["flat"], 6, "relu", kernel_regularizer=_reg("L1L2", l1=1e-3, l2=1e-2)),
        _dense("head", ["fc"], CLASSES),
    ]
    return _model("l2", layers, "head")


# ---- torch, on Keras-ordered (channels_last) tensors ---------------------------

def conv_same(h, w, b):
    """Conv2D "same" with odd kernels (symmetric padding) on NHWC tensors."""
    k = w.shape[-1]
    out = F.conv2d(h.permute(0, 3, 1, 2), w, b, padding=k // 2)
    return out.permute(0, 2, 3, 1)


def l2_normalize(x, dim):
    """tf.nn.l2_normalize: x * rsqrt(max(sum x^2, 1e-12))."""
    return x * torch.rsqrt(torch.clamp((x * x).sum(dim, keepdim=True), min=1e-12))


def keras_relu(x, ties, name, negative_slope=0.0, threshold=0.0, max_value=None):
    """keras.activations.relu term by term (a threshold of 0 through ties)."""
    pos = ties.relu(x, name) if threshold == 0 else x * (x > threshold).to(x.dtype)
    if max_value is not None:
        pos = F.hardtanh(pos, 0.0, max_value)
    return pos - negative_slope * F.relu(threshold - x)


def merge_act_forward(p, b, x, training, ties, softmax_dim=1, normalize=True):
    a = conv_same(x, p["conv_a.weight"], p["conv_a.bias"])
    bb = conv_same(x, p["conv_b.weight"], p["conv_b.bias"])
    # max(u, v) = v + relu(u - v): the choice goes through ties, so a
    # near-tie that float32 brisk decides the other way is recognised
    mx = a * bb + ties.relu(a - bb - a * bb, "mx")
    cat = torch.cat([mx, a], 1)                                   # Keras axis 1: rows
    alpha = p["prelu.weight"].permute(1, 2, 0)                    # stored (C, 1, 1) -> Keras (1, 1, C)
    prelu = torch.where(cat >= 0, cat, alpha * cat)
    relu6 = keras_relu(conv_same(cat, p["conv_c.weight"], p["conv_c.bias"]), ties, "relu6", max_value=6.0)
    n = x.shape[0]
    th, ph = relu6.reshape(n, 32, 4), prelu.reshape(n, 32, 4)
    att = torch.bmm(th, ph.transpose(1, 2))                       # Dot axes 2
    sm = torch.softmax(att, dim=softmax_dim)
    y = torch.bmm(sm, th).reshape(n, 8, 4, 4)                     # Dot axes [2, 1]
    gmp = y.amax(dim=(1, 2))
    if normalize:
        cos = torch.bmm(l2_normalize(th, 1).transpose(1, 2), l2_normalize(ph, 1))   # Dot axes 1
    else:
        cos = torch.bmm(th.transpose(1, 2), ph)
    rt = keras_relu(cos.reshape(n, 16), ties, "relu_t", negative_slope=0.2, threshold=0.1, max_value=1.5)
    return F.linear(torch.cat([gmp, rt], 1), p["head.weight"], p["head.bias"])


def l2_forward(p, b, x, training, ties):
    c = conv_same(x, p["conv.weight"], p["conv.bias"])
    h = ties.relu(F.linear(c.reshape(x.shape[0], -1), p["fc.weight"], p["fc.bias"]), "fc/relu")
    return F.linear(h, p["head.weight"], p["head.bias"])


def l2_penalty(p):
    return sum(l1 * p[n].abs().sum() + l2 * (p[n] * p[n]).sum() for n, (l1, l2) in L2.items())


def uniform(g, shape, lim):
    return ((torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * lim).float().numpy()


def merge_act_weights():
    g = torch.Generator().manual_seed(1234 + pc.SEED)
    w = {}
    for name, cin, k, lim in (("conv_a", CIN, 3, 0.5), ("conv_b", CIN, 3, 0.5), ("conv_c", 4, 1, 2.0)):
        w[name + ".weight"] = uniform(g, (4, cin, k, k), lim)
        w[name + ".bias"] = uniform(g, (4,), 0.1)
    w["prelu.weight"] = (0.25 + uniform(g, (4, 1, 1), 0.1)).astype(np.float32)
    w["head.weight"] = uniform(g, (CLASSES, 20), 0.5)
    w["head.bias"] = uniform(g, (CLASSES,), 0.1)
    return w


def l2_weights():
    g = torch.Generator().manual_seed(4321 + pc.SEED)
    return {"conv.weight": uniform(g, (4, CIN, 3, 3), 0.4), "conv.bias": uniform(g, (4,), 0.1),
            "fc.weight": uniform(g, (6, HW * HW * 4), 0.15), "fc.bias": uniform(g, (6,), 0.1),
            "head.weight": uniform(g, (CLASSES, 6), 0.6), "head.bias": uniform(g, (CLASSES,), 0.1)}


def main():
    runner, work, _ = pc.setup("parity_merge_act")
    g = torch.Generator().manual_seed(7 + pc.SEED)
    x = torch.randn((SAMPLES, HW, HW, CIN), generator=g, dtype=torch.float64).float().numpy()
    y = torch.randint(0, CLASSES, (SAMPLES,), generator=g).float().numpy()
    x_path, y_path = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    pc.save_npy(x_path, x)
    pc.save_npy(y_path, y)
    loss = {"function": "CrossEntropy"}
    chk = pc.Checker(f"merge_act parity: {STEPS} steps of batch {BATCH}, every step checked")

    nets = {"merge_act": (merge_act_net(), merge_act_weights(), merge_act_forward, None),
            "l2": (l2_net(), l2_weights(), l2_forward, l2_penalty),
            "acts": (acts_net(), acts_weights(), acts_forward, None)}
    paths = {}
    for name, (net, w, _, _) in nets.items():
        paths[name] = (os.path.join(work, f"net_{name}.json"), os.path.join(work, f"init_{name}.safetensors"))
        with open(paths[name][0], "w") as f:
            json.dump(net, f, indent=1)
        pc.write_safetensors(paths[name][1], w)

    cases = [("merge_act", "sgd_momentum", {"type": "SGD", "lr": 0.005, "momentum": 0.9}),
             ("merge_act", "adam", {"type": "Adam", "lr": 2e-3}),
             ("l2", "sgd", {"type": "SGD", "lr": 0.05}),
             ("l2", "adam", {"type": "Adam", "lr": 3e-3}),
             ("acts", "adam", {"type": "Adam", "lr": 3e-3})]
    results = {}
    for net, tag, opt in cases:
        _, w, fwd, pen = nets[net]
        results[(net, tag)] = pc.run_case(chk, runner, work, f"{net}/{tag}", fwd, paths[net][0], paths[net][1],
                                          x_path, y_path, x, y, opt, loss, STEPS, BATCH, w, {}, penalty=pen)

    def fwd_bwd_only(res):
        """The forward/backward comparisons only: with fewer steps checked
        than traced, the last step's update is compared with the final
        weights, a mismatch that would pass any control."""
        return {k: v for k, v in res.items() if not k.startswith("update of")}

    b = results.get(("merge_act", "adam"))
    if b is not None:
        opt, w = cases[1][2], nets["merge_act"][1]
        res = pc.check_trace(lambda p, bb, xx, tr, ti: merge_act_forward(p, bb, xx, tr, ti, softmax_dim=2),
                             b, x, y, opt, loss, 1, BATCH, w, {})[0]
        chk.expect_failure("control", "Softmax over axis 2 instead of 1", fwd_bwd_only(res))
        res = pc.check_trace(lambda p, bb, xx, tr, ti: merge_act_forward(p, bb, xx, tr, ti, normalize=False),
                             b, x, y, opt, loss, 1, BATCH, w, {})[0]
        chk.expect_failure("control", "Dot without normalize", fwd_bwd_only(res))
    b = results.get(("l2", "sgd"))
    if b is not None:
        res = pc.check_trace(l2_forward, b, x, y, cases[2][2], loss, 2, BATCH, nets["l2"][1], {})[0]
        chk.expect_failure("control", "the regularization penalty left out", fwd_bwd_only(res))
    b = results.get(("acts", "adam"))
    if b is not None:
        res = pc.check_trace(lambda p, bb, xx, tr, ti: acts_forward(p, bb, xx, tr, ti, swap_min=True),
                             b, x, y, cases[4][2], loss, 1, BATCH, nets["acts"][1], {})[0]
        chk.expect_failure("control", "Maximum in place of Minimum", fwd_bwd_only(res))
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
