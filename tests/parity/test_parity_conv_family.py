"""Parity with PyTorch: the convolution family (transposed, grouped,
depthwise and separable convolutions, 1D/2D/3D), 20 training steps each.

Each case is a small Keras Sequential network; the torch side computes it
with F.conv*d / F.conv_transpose*d from the same weights, stored in PyTorch
layout (ConvTranspose weights [in, out, k...], depthwise [C*dm, 1, k...],
separable "<layer>.depthwise.weight" then "<layer>.pointwise.weight" 1x1 and
the bias after the pointwise). Every step is checked as parity_common
describes: loss, output, every gradient and every optimizer update.

Keras' transposed convolution is TensorFlow's conv2d_transpose: its output
size is Keras' deconv_output_length, and "same" cuts total//2 from the start
of the full result (the odd pixel at the end) where PyTorch's padding cuts
the same amount from both ends. The torch side therefore builds Keras'
output from the full F.conv_transpose*d result (the `keras_convt` below);
where the two conventions agree it uses PyTorch's own padding and
output_padding instead (CookieNetAE's 3x3 "same" is PyTorch's padding=1,
"valid" with output_padding is PyTorch's output_padding).

Negative controls (PyTorch's symmetric cut for a "same" transposed conv,
depthwise and separable weights read multiplier-major, the outputs past
the full transposed result left without the bias) must be detected.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

STEPS, BATCH, SAMPLES = 20, 8, 48
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
NAMES = {"conv": "Conv{}D", "convt": "Conv{}DTranspose", "dw": "DepthwiseConv{}D", "sep": "SeparableConv{}D"}


def tup(v, nd):
    return list(v) if isinstance(v, (list, tuple)) else [v] * nd


# ---- the Keras side: layer specs -> model.to_json() --------------------------

def L(kind, name, nd, **cfg):
    """A layer spec: kind in NAMES (or a plain Keras class), its config."""
    return {"kind": kind, "name": name, "nd": nd, **cfg}


def keras_layer(spec):
    kind, nd = spec["kind"], spec["nd"]
    cfg = {k: v for k, v in spec.items() if k not in ("kind", "nd")}
    if kind in NAMES:
        cls = NAMES[kind].format(nd)
        cfg.setdefault("padding", "valid")
        cfg.setdefault("activation", "linear")
        cfg.setdefault("data_format", "channels_last")
        cfg.setdefault("use_bias", True)
        cfg.setdefault("bias_initializer", {"class_name": "Zeros", "config": {}})
        if kind == "convt":
            cfg.setdefault("output_padding", None)
    else:
        cls = kind
    return {"class_name": cls, "config": cfg}


def keras_net(name, in_shape, layers):
    first = {"class_name": "InputLayer", "config": {"batch_input_shape": [None] + list(in_shape), "name": "in"}}
    return {"class_name": "Sequential", "config": {"name": name, "layers": [first] + [keras_layer(s) for s in layers]},
            "keras_version": "2.13.1", "backend": "tensorflow"}


# ---- shapes and weights (PyTorch layout) -------------------------------------

def deconv_length(n, k, s, d, padding, op):
    """keras.utils.conv_utils.deconv_output_length."""
    ek = k + (k - 1) * (d - 1)
    if op is None:
        return n * s if padding == "same" else n * s + max(ek - s, 0)
    pad = ek // 2 if padding == "same" else 0
    return (n - 1) * s + ek - 2 * pad + op


def conv_length(n, k, s, d, padding):
    ek = k + (k - 1) * (d - 1)
    return -(-n // s) if padding == "same" else (n - ek) // s + 1


def shapes_and_weights(name, in_shape, layers, gen):
    """Walks the layers (channel-first shapes); returns the parameters as
    brisk names them and the output shape."""
    c, sp = in_shape[-1], list(in_shape[:-1])
    params = {}

    def uni(shape, fan):
        lim = (3.0 / fan) ** 0.5
        return ((torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * lim).float().numpy()

    for s in layers:
        kind, nd, n = s["kind"], s["nd"], s["name"]
        if kind not in NAMES:
            if kind == "Flatten":
                c, sp = c * int(np.prod(sp)), []
            elif kind == "Dense":
                params[n + ".weight"] = uni((s["units"], c), c)
                params[n + ".bias"] = uni((s["units"],), c)
                c = s["units"]
            elif kind == "MaxPooling2D":
                sp = [v // s["pool_size"] for v in sp]
            continue
        k, st, dl = tup(s["kernel_size"], nd), tup(s.get("strides", 1), nd), tup(s.get("dilation_rate", 1), nd)
        pad, bias = s.get("padding", "valid"), s.get("use_bias", True)
        kk = int(np.prod(k))
        if kind == "convt":
            op = s.get("output_padding")
            op = tup(op, nd) if op is not None else [None] * nd
            params[n + ".weight"] = uni([c, s["filters"]] + k, c * kk)
            sp = [deconv_length(sp[i], k[i], st[i], dl[i], pad, op[i]) for i in range(nd)]
            cout = s["filters"]
        else:
            sp = [conv_length(sp[i], k[i], st[i], dl[i], pad) for i in range(nd)]
            if kind == "conv":
                g = s.get("groups", 1)
                cout = s["filters"]
                params[n + ".weight"] = uni([cout, c // g] + k, c // g * kk)
            elif kind == "dw":
                cout = c * s.get("depth_multiplier", 1)
                params[n + ".weight"] = uni([cout, 1] + k, kk)
            else:
                cm = c * s.get("depth_multiplier", 1)
                cout = s["filters"]
                params[n + ".depthwise.weight"] = uni([cm, 1] + k, kk)
                params[n + ".pointwise.weight"] = uni([cout, cm] + [1] * nd, cm)
        if bias:
            params[n + ".bias"] = uni((cout,), 10.0)
            if s.get("activation") == "relu":   # positive, so that the ReLUs start alive
                params[n + ".bias"] = np.abs(params[n + ".bias"]) + np.float32(0.2)
        c = cout
    return params, [c] + sp


# ---- the torch side -----------------------------------------------------------

def pad_same(x, k, s, d):
    """TensorFlow's "same" padding of a convolution input: the odd pixel at the end."""
    pads = []
    for i in reversed(range(len(k))):
        n = x.shape[2 + i]
        ek = k[i] + (k[i] - 1) * (d[i] - 1)
        total = max((-(-n // s[i]) - 1) * s[i] + ek - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def keras_convt(x, w, b, k, s, d, padding, op, control=None):
    """Keras' transposed convolution from PyTorch's. "valid": PyTorch's
    output_padding (Keras' own, or the stride minus the dilated kernel when
    the stride is larger); "same": the full result, total//2 cut from the
    start and the rest from the end (negative: zeros appended), then the
    bias. Negative controls: "torch_same" cuts PyTorch's way, "bare_tail"
    leaves the outputs past the full result without the bias."""
    nd = len(k)
    ek = [k[i] + (k[i] - 1) * (d[i] - 1) for i in range(nd)]
    if padding == "valid":
        opad = [op[i] if op[i] is not None else max(s[i] - ek[i], 0) for i in range(nd)]
        if control == "bare_tail":
            return F.pad(CONVT[nd](x, w, b, stride=s, dilation=d), [v for i in reversed(range(nd)) for v in (0, opad[i])])
        return CONVT[nd](x, w, b, stride=s, dilation=d, output_padding=opad)
    if all(s[i] == 1 and ek[i] % 2 == 1 and op[i] in (None, 0) for i in range(nd)):
        return CONVT[nd](x, w, b, padding=[e // 2 for e in ek], dilation=d)   # PyTorch's padding = Keras' same
    full = CONVT[nd](x, w, None, stride=s, dilation=d)
    pads = []
    for i in reversed(range(nd)):
        n_in, n_full = x.shape[2 + i], full.shape[2 + i]
        total = n_full - deconv_length(n_in, k[i], s[i], d[i], "same", op[i])
        left = max(total, 0) // 2
        if control == "torch_same":
            left = (total + 1) // 2
        pads += [-left, -(total - left)]
    y = F.pad(full, pads)
    return y + b.reshape([1, -1] + [1] * nd) if b is not None else y


def dw_weight(w, c, control):
    """Depthwise weights [C*dm, 1, k...]; the "dw_order" control reads them
    multiplier-major instead of TensorFlow's c*dm + j."""
    if control != "dw_order":
        return w
    dm = w.shape[0] // c
    return w.reshape([dm, c] + list(w.shape[1:])).transpose(0, 1).reshape(w.shape)


def make_forward(layers, control=None):
    def forward(p, bufs, x, training, ties):
        h = x.permute([0, x.dim() - 1] + list(range(1, x.dim() - 1)))   # samples are stored channels_last
        for s in layers:
            kind, nd, n = s["kind"], s["nd"], s["name"]
            if kind == "Flatten":
                h = h.permute([0] + list(range(2, h.dim())) + [1]).flatten(1)   # Keras order: spatial, then channels
            elif kind == "Dense":
                h = F.linear(h, p[n + ".weight"], p[n + ".bias"])
            elif kind == "MaxPooling2D":
                h = ties.max_pool2d(h, s["pool_size"], n)
            else:
                k, st, dl = tup(s["kernel_size"], nd), tup(s.get("strides", 1), nd), tup(s.get("dilation_rate", 1), nd)
                same = s.get("padding", "valid") == "same"
                b = p.get(n + ".bias")
                if kind == "convt":
                    op = s.get("output_padding")
                    op = tup(op, nd) if op is not None else [None] * nd
                    h = keras_convt(h, p[n + ".weight"], b, k, st, dl, s.get("padding", "valid"), op, control)
                else:
                    if same:
                        h = pad_same(h, k, st, dl)
                    c = h.shape[1]
                    if kind == "conv":
                        h = CONV[nd](h, p[n + ".weight"], b, stride=st, dilation=dl, groups=s.get("groups", 1))
                    elif kind == "dw":
                        h = CONV[nd](h, dw_weight(p[n + ".weight"], c, control), b, stride=st, dilation=dl, groups=c)
                    else:
                        h = CONV[nd](h, dw_weight(p[n + ".depthwise.weight"], c, control), None, stride=st,
                                     dilation=dl, groups=c)
                        h = CONV[nd](h, p[n + ".pointwise.weight"], b)
                act = s.get("activation", "linear")
                if act == "relu":
                    h = ties.relu(h, n + "/relu")
                elif act == "tanh":
                    h = torch.tanh(h)
        return h
    return forward


# ---- the cases -----------------------------------------------------------------

ADAM = {"type": "Adam", "lr": 1e-3}
SGD = {"type": "SGD", "lr": 0.02, "momentum": 0.9}
MSE = {"function": "MSE"}

CASES = [
    # CookieNetAE in small: Conv 3x3 same + ReLU, MaxPool 2, ConvTranspose 2x2
    # stride 2, ConvTranspose 3x3 same (PyTorch padding 1), Conv 3x3 to one
    # channel, ReLU on the output too
    ("cookienet_small", (8, 8, 1), [
        L("conv", "enc1", 2, filters=4, kernel_size=3, padding="same", activation="relu"),
        L("MaxPooling2D", "pool1", 2, pool_size=2),
        L("conv", "enc2", 2, filters=6, kernel_size=3, padding="same", activation="relu"),
        L("convt", "dec1", 2, filters=6, kernel_size=2, strides=2, activation="relu"),
        L("convt", "dec2", 2, filters=3, kernel_size=3, padding="same", activation="relu"),
        L("conv", "out", 2, filters=1, kernel_size=3, padding="same", activation="relu")], ADAM),
    ("convt2d_same_outpad", (3, 3, 2), [
        L("convt", "t1", 2, filters=4, kernel_size=3, strides=2, padding="same", activation="tanh"),
        L("convt", "t2", 2, filters=2, kernel_size=[2, 3], strides=[3, 2], output_padding=[1, 1]),
        L("convt", "t3", 2, filters=2, kernel_size=[4, 3], strides=2, padding="same", output_padding=[1, 0],
          use_bias=False),
        L("Flatten", "flat", 2), L("Dense", "head", 0, units=3)], ADAM),
    ("convt2d_dil_k1s2", (3, 4, 2), [
        L("convt", "t1", 2, filters=3, kernel_size=[2, 3], dilation_rate=2, activation="tanh"),
        L("convt", "t2", 2, filters=2, kernel_size=1, strides=2),
        L("convt", "t3", 2, filters=2, kernel_size=3, dilation_rate=[1, 2], padding="same"),
        L("Flatten", "flat", 2), L("Dense", "head", 0, units=3)], SGD),
    ("convt1d_3d", (6, 2), [
        L("convt", "t1", 1, filters=3, kernel_size=3, strides=2, padding="same", activation="tanh"),
        L("convt", "t2", 1, filters=2, kernel_size=2, strides=3, padding="same", output_padding=2),
        L("convt", "t3", 1, filters=2, kernel_size=2, dilation_rate=2),
        L("Flatten", "flat", 1), L("Dense", "head", 0, units=2)], ADAM),
    ("convt3d", (2, 3, 2, 2), [
        L("convt", "t1", 3, filters=2, kernel_size=2, strides=2, output_padding=[1, 0, 1], activation="tanh"),
        L("convt", "t2", 3, filters=2, kernel_size=3, strides=[1, 2, 1], padding="same"),
        L("Flatten", "flat", 3), L("Dense", "head", 0, units=2)], ADAM),
    ("groups_depthwise2d", (6, 6, 2), [
        L("dw", "dw1", 2, kernel_size=3, strides=2, padding="same", depth_multiplier=2, activation="tanh"),
        L("conv", "g1", 2, filters=6, kernel_size=2, groups=2, padding="same"),
        L("dw", "dw2", 2, kernel_size=2, dilation_rate=2, depth_multiplier=1, use_bias=False),
        L("Flatten", "flat", 2), L("Dense", "head", 0, units=3)], ADAM),
    ("separable2d", (6, 5, 3), [
        L("sep", "s1", 2, filters=4, kernel_size=3, depth_multiplier=2, padding="same", activation="tanh"),
        L("sep", "s2", 2, filters=3, kernel_size=2, strides=2, use_bias=False),
        L("sep", "s3", 2, filters=2, kernel_size=2, dilation_rate=2, padding="same"),
        L("Flatten", "flat", 2), L("Dense", "head", 0, units=3)], SGD),
    ("family1d", (9, 2), [
        L("dw", "dw1", 1, kernel_size=3, depth_multiplier=3, padding="same", activation="tanh"),
        L("sep", "s1", 1, filters=3, kernel_size=2, strides=2, depth_multiplier=2),
        L("conv", "g1", 1, filters=6, kernel_size=2, groups=3, dilation_rate=2),
        L("Flatten", "flat", 1), L("Dense", "head", 0, units=2)], ADAM),
    ("depthwise3d", (3, 4, 3, 2), [
        L("dw", "dw1", 3, kernel_size=2, depth_multiplier=2, activation="tanh"),
        L("conv", "g1", 3, filters=2, kernel_size=[1, 2, 1], groups=2, padding="same"),
        L("Flatten", "flat", 3), L("Dense", "head", 0, units=2)], ADAM),
]
CONTROLS = [("convt2d_same_outpad", "torch_same", "PyTorch's symmetric cut for a \"same\" transposed convolution"),
            ("groups_depthwise2d", "dw_order", "depthwise weights read multiplier-major"),
            ("separable2d", "dw_order", "separable depthwise weights read multiplier-major"),
            ("convt2d_dil_k1s2", "bare_tail", "no bias past the full transposed result (stride > kernel)")]


def main():
    runner, work, _ = pc.setup("parity_conv_family")
    chk = pc.Checker(f"convolution family parity: {STEPS} steps of batch {BATCH}, every step checked")
    done = {}
    for i, (name, in_shape, layers, opt) in enumerate(CASES):
        gen = torch.Generator().manual_seed(100 + i + pc.SEED)
        params, out_shape = shapes_and_weights(name, in_shape, layers, gen)
        x = torch.randn((SAMPLES,) + tuple(in_shape), generator=gen, dtype=torch.float64).float().numpy()
        y = torch.randn((SAMPLES,) + tuple(out_shape), generator=gen, dtype=torch.float64).float().numpy()
        if name.startswith("cookienet"):
            y = np.abs(y)   # the ReLU output's targets are non-negative, as CookieNetAE's densities are
        paths = {k: os.path.join(work, f"{name}_{k}") for k in ("net.json", "w.safetensors", "x.npy", "y.npy")}
        with open(paths["net.json"], "w") as f:
            json.dump(keras_net(name, in_shape, layers), f, indent=1)
        pc.write_safetensors(paths["w.safetensors"], params)
        pc.save_npy(paths["x.npy"], x)
        pc.save_npy(paths["y.npy"], y)
        b = pc.run_case(chk, runner, work, name, make_forward(layers), paths["net.json"], paths["w.safetensors"],
                        paths["x.npy"], paths["y.npy"], x, y, opt, MSE, STEPS, BATCH, params, {})
        done[name] = (b, x, y, layers, opt, params)
        for n in params:   # a dead network (every ReLU off) would match trivially
            if b is not None and not np.abs(b["grad." + n]).max() > 0:
                chk.check(name, f"step-0 gradient of {n} is all zero: the case checks nothing", 1, 1)
    for name, control, what in CONTROLS:
        b, x, y, layers, opt, params = done[name]
        if b is None:
            continue
        res = pc.check_trace(make_forward(layers, control), b, x, y, opt, MSE, 1, BATCH, params, {})[0]
        chk.expect_failure(name, what, res)
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
