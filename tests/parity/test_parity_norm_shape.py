"""Parity with PyTorch: the normalization and shape layers, in three small
networks (Keras 2 Sequential JSON, channels_last samples), trained 20 steps.
The torch side keeps every tensor in Keras' channels_last layout and writes
each layer as Keras defines it, with PyTorch's own ops where one exists:

  img2d  (6, 5, 3): Conv2D 4 3x3 same -> BatchNormalization axis=1 (the
         height axis: F.batch_norm on the permuted tensor) -> ZeroPadding2D
         ((1, 2), (0, 1)) (F.pad) -> Cropping2D ((1, 0), (2, 1)) (slicing)
         -> UpSampling2D (2, 3) bilinear (F.interpolate, align_corners=False)
         -> GroupNormalization 2 groups (F.group_norm) -> tanh -> Conv2D 6
         3x3 stride 2 -> UpSampling2D (1, 2) nearest (F.interpolate) ->
         LayerNormalization (F.layer_norm) -> tanh -> InstanceNormalization,
         tfa form (F.instance_norm) -> Permute (3, 1, 2) (permute) -> Conv2D 3 2x2 ->
         BatchNormalization axis=[2, 3] -> Flatten -> Dense 5, cross-entropy
  seq1d  (10, 4): Conv1D 6 3 -> InstanceNormalization keras-contrib, axis
         None (over the whole sample) -> tanh -> LayerNormalization axis=[1, 2] ->
         ZeroPadding1D (1, 2) -> Cropping1D (2, 0) -> UpSampling1D 2 ->
         BatchNormalization axis=1 (time) -> Permute (2, 1) -> Conv1D 4 3 ->
         InstanceNormalization, keras-contrib form ((x - mean) / (std + eps))
         -> tanh -> GroupNormalization 2 -> Flatten -> Dense 8 tanh ->
         RepeatVector 3 -> Conv1D 2 2 -> Flatten -> Dense 3, MSE
  vol3d  (4, 4, 3, 2): Conv3D 3 2 -> ZeroPadding3D ((1, 0), (0, 1), (1, 1))
         -> InstanceNormalization in the PyTorch-argument form of the
         reference CLI's files (affine false: F.instance_norm, eps 1e-5)
         -> Cropping3D ((0, 1), (1, 0), (1, 2)) -> UpSampling3D (2, 1, 2) ->
         BatchNormalization axis=[1, 2] -> GroupNormalization -1 (one group
         per channel) -> LayerNormalization axis=[2, 4] -> Flatten -> Dense 4,
         cross-entropy
A tanh sits between two normalizations where the second would otherwise
cancel the first one's parameters (whose gradients would then be ~0).
Every step is checked against float64 PyTorch from brisk's state of that
step (parity_common): loss, output, gradients, optimizer updates and the
running statistics of the batch norms; then the inference-mode output.
Negative controls (bilinear with align_corners=True, a Permute in another
order, LayerNormalization's PyTorch epsilon instead of Keras') must fail.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

STEPS, BATCH, SAMPLES = 20, 8, 160


# ---- Keras JSON -----------------------------------------------------------------

def L(cls, name, **cfg):
    return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **cfg}}


def conv(cls, name, filters, k, strides=1, padding="valid", activation="linear"):
    nd = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3}[cls]
    return L(cls, name, filters=filters, kernel_size=[k] * nd, strides=[strides] * nd, padding=padding,
             data_format="channels_last", dilation_rate=[1] * nd, groups=1, activation=activation, use_bias=True)


def bn(name, axis, momentum=0.99, eps=1e-3):
    return L("BatchNormalization", name, axis=axis, momentum=momentum, epsilon=eps, center=True, scale=True)


def norm(cls, name, **cfg):
    return L(cls, name, epsilon=1e-3, center=True, scale=True, **cfg)


def sequential(name, shape, layers):
    inp = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, *shape], "dtype": "float32",
                                                  "sparse": False, "ragged": False, "name": "input_1"}}
    return {"class_name": "Sequential", "config": {"name": name, "layers": [inp] + layers},
            "keras_version": "2.13.1", "backend": "tensorflow"}


NETS = {
    "img2d": ((6, 5, 3), [
        conv("Conv2D", "conv_a", 4, 3, padding="same"),
        bn("bn_h", 1, momentum=0.9),
        L("ZeroPadding2D", "zp", padding=[[1, 2], [0, 1]], data_format="channels_last"),
        L("Cropping2D", "cr", cropping=[[1, 0], [2, 1]], data_format="channels_last"),
        L("UpSampling2D", "up_b", size=[2, 3], interpolation="bilinear", data_format="channels_last"),
        norm("GroupNormalization", "gn", groups=2, axis=-1),
        L("Activation", "act", activation="tanh"),
        conv("Conv2D", "conv_b", 6, 3, strides=2),
        L("UpSampling2D", "up_n", size=[1, 2], interpolation="nearest", data_format="channels_last"),
        norm("LayerNormalization", "ln", axis=-1),
        L("Activation", "act_ln", activation="tanh"),
        norm("InstanceNormalization", "inorm", groups=-1, axis=-1),
        L("Permute", "perm", dims=[3, 1, 2]),
        conv("Conv2D", "conv_c", 3, 2),
        bn("bn_wc", [2, 3]),
        L("Flatten", "flat", data_format="channels_last"),
        L("Dense", "head", units=5, activation="linear", use_bias=True),
    ]),
    "seq1d": ((10, 4), [
        conv("Conv1D", "conv1", 6, 3),
        L("InstanceNormalization", "in_none", epsilon=1e-3, center=True, scale=True),
        L("Activation", "act_none", activation="tanh"),
        norm("LayerNormalization", "ln_all", axis=[1, 2]),
        L("ZeroPadding1D", "zp1", padding=[1, 2]),
        L("Cropping1D", "cr1", cropping=[2, 0]),
        L("UpSampling1D", "up1", size=2),
        bn("bn_t", 1),
        L("Permute", "perm", dims=[2, 1]),
        conv("Conv1D", "conv2", 4, 3),
        norm("InstanceNormalization", "in_c", axis=-1),
        L("Activation", "act_in", activation="tanh"),
        norm("GroupNormalization", "gn1", groups=2, axis=-1),
        L("Flatten", "flat"),
        L("Dense", "fc", units=8, activation="tanh", use_bias=True),
        L("RepeatVector", "rep", n=3),
        conv("Conv1D", "conv3", 2, 2),
        L("Flatten", "flat2"),
        L("Dense", "head", units=3, activation="linear", use_bias=True),
    ]),
    "vol3d": ((4, 4, 3, 2), [
        conv("Conv3D", "conv3d", 3, 2),
        L("ZeroPadding3D", "zp3", padding=[[1, 0], [0, 1], [1, 1]], data_format="channels_last"),
        {"class_name": "InstanceNormalization",
         "config": {"name": "in_t", "affine": False, "track_running_stats": False, "momentum": 0.1, "epsilon": 1e-5}},
        L("Cropping3D", "cr3", cropping=[[0, 1], [1, 0], [1, 2]], data_format="channels_last"),
        L("UpSampling3D", "up3", size=[2, 1, 2], data_format="channels_last"),
        bn("bn_dh", [1, 2], momentum=0.95),
        norm("GroupNormalization", "gn3", groups=-1, axis=-1),
        norm("LayerNormalization", "ln3", axis=[2, 4]),
        L("Flatten", "flat"),
        L("Dense", "head", units=4, activation="linear", use_bias=True),
    ]),
}
LOSSES = {"img2d": {"function": "CrossEntropy"}, "seq1d": {"function": "MSE"}, "vol3d": {"function": "CrossEntropy"}}
UNITS = {"img2d": 5, "seq1d": 3, "vol3d": 4}
CASES = [
    ("img2d", "adam", {"type": "Adam", "lr": 3e-3}),
    ("img2d", "sgd_momentum", {"type": "SGD", "lr": 0.05, "momentum": 0.9}),
    ("seq1d", "adam", {"type": "Adam", "lr": 3e-3}),
    ("vol3d", "rmsprop", {"type": "RMSprop", "lr": 1e-3}),
]


# ---- the same layers in torch (tensors channels_last, as Keras) -----------------

def cl_to_cf(h):
    return h.permute(0, h.dim() - 1, *range(1, h.dim() - 1))


def cf_to_cl(h):
    return h.permute(0, *range(2, h.dim()), 1)


def t_conv(h, p, name, stride=1, same=False):
    w = p[name + ".weight"]
    x = cl_to_cf(h)
    if same:  # odd kernels, stride 1: symmetric
        k = w.shape[-1]
        x = F.pad(x, [k // 2, k // 2] * (x.dim() - 2))
    f = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}[x.dim()]
    return cf_to_cl(f(x, w, p[name + ".bias"], stride=stride))


def t_bn(h, p, b, name, axes, training, momentum, eps=1e-3):
    """Keras BatchNormalization over 1-based axes `axes`: statistics over the
    batch and every other axis (F.batch_norm on the kept axes moved to dim 1)."""
    others = [a for a in range(1, h.dim()) if a not in axes]
    x = h.permute(0, *axes, *others)
    kept = x.shape[1:1 + len(axes)]
    y = F.batch_norm(x.reshape(x.shape[0], -1, *x.shape[1 + len(axes):]) if len(axes) > 1 else x,
                     b[name + ".running_mean"].reshape(-1), b[name + ".running_var"].reshape(-1),
                     p[name + ".weight"].reshape(-1), p[name + ".bias"].reshape(-1), training=training,
                     momentum=1 - momentum, eps=eps)
    y = y.reshape(x.shape[0], *kept, *x.shape[1 + len(axes):])
    order = list(axes) + others
    inv = [0] + [1 + order.index(a) for a in range(1, h.dim())]
    return y.permute(*inv)


def t_ln(h, p, name, axes, eps=1e-3):
    others = [a for a in range(1, h.dim()) if a not in axes]
    x = h.permute(0, *others, *axes)
    y = F.layer_norm(x, x.shape[1 + len(others):], p[name + ".weight"], p[name + ".bias"], eps)
    order = others + list(axes)
    return y.permute(0, *[1 + order.index(a) for a in range(1, h.dim())])


def t_gn(h, p, name, groups, eps=1e-3):
    x = cl_to_cf(h)
    return cf_to_cl(F.group_norm(x, groups if groups > 0 else x.shape[1], p[name + ".weight"], p[name + ".bias"], eps))


def t_in_contrib(h, p, name, axis_none=False, eps=1e-3):
    """keras-contrib InstanceNormalization: (x - mean) / (std + eps) per
    sample over every axis but the channels (or every axis: axis None)."""
    red = list(range(1, h.dim())) if axis_none else list(range(1, h.dim() - 1))
    mean = h.mean(red, keepdim=True)
    std = ((h - mean) ** 2).mean(red, keepdim=True).sqrt()
    return (h - mean) / (std + eps) * p[name + ".weight"] + p[name + ".bias"]


def t_interp(h, size, mode, align_corners=None):
    x = cl_to_cf(h)
    out = [s * f for s, f in zip(x.shape[2:], size)]
    return cf_to_cl(F.interpolate(x, size=out, mode=mode, align_corners=align_corners))


def fwd_img2d(p, b, x, training, ties, align_corners=False, ln_eps=1e-3):
    h = t_conv(x, p, "conv_a", same=True)
    h = t_bn(h, p, b, "bn_h", [1], training, 0.9)
    h = cl_to_cf(h)
    h = F.pad(h, (0, 1, 1, 2))                         # (left, right, top, bottom)
    h = cf_to_cl(h[:, :, 1:, 2:-1])                    # Cropping2D ((1, 0), (2, 1))
    h = t_interp(h, (2, 3), "bilinear", align_corners)
    h = torch.tanh(t_gn(h, p, "gn", 2))
    h = t_conv(h, p, "conv_b", stride=2)
    h = t_interp(h, (1, 2), "nearest")
    h = torch.tanh(t_ln(h, p, "ln", [3], eps=ln_eps))
    h = cf_to_cl(F.instance_norm(cl_to_cf(h), weight=p["inorm.weight"], bias=p["inorm.bias"], eps=1e-3))
    h = h.permute(0, 3, 1, 2)                          # Permute (3, 1, 2): (H, W, C) -> (C, H, W)
    h = t_conv(h, p, "conv_c")
    h = t_bn(h, p, b, "bn_wc", [2, 3], training, 0.99)
    return F.linear(h.flatten(1), p["head.weight"], p["head.bias"])


def fwd_seq1d(p, b, x, training, ties, permute=lambda h: h.permute(0, 2, 1)):
    h = t_conv(x, p, "conv1")
    h = torch.tanh(t_in_contrib(h, p, "in_none", axis_none=True))
    h = t_ln(h, p, "ln_all", [1, 2])
    h = cf_to_cl(F.pad(cl_to_cf(h), (1, 2)))
    h = h[:, 2:]                                       # Cropping1D (2, 0)
    h = t_interp(h, (2,), "nearest")
    h = t_bn(h, p, b, "bn_t", [1], training, 0.99)
    h = permute(h)                                     # Permute (2, 1)
    h = t_conv(h, p, "conv2")
    h = torch.tanh(t_in_contrib(h, p, "in_c"))
    h = t_gn(h, p, "gn1", 2)
    h = torch.tanh(F.linear(h.flatten(1), p["fc.weight"], p["fc.bias"]))
    h = h.unsqueeze(1).repeat(1, 3, 1)                 # RepeatVector 3
    h = t_conv(h, p, "conv3")
    return F.linear(h.flatten(1), p["head.weight"], p["head.bias"])


def fwd_vol3d(p, b, x, training, ties):
    h = t_conv(x, p, "conv3d")
    h = cf_to_cl(F.pad(cl_to_cf(h), (1, 1, 0, 1, 1, 0)))   # last axis first: W, H, D
    h = cf_to_cl(F.instance_norm(cl_to_cf(h), eps=1e-5))
    h = h[:, 0:-1, 1:, 1:-2]
    h = t_interp(h, (2, 1, 2), "nearest")
    h = t_bn(h, p, b, "bn_dh", [1, 2], training, 0.95)
    h = t_gn(h, p, "gn3", -1)
    h = t_ln(h, p, "ln3", [2, 4])
    return F.linear(h.flatten(1), p["head.weight"], p["head.bias"])


FORWARDS = {"img2d": fwd_img2d, "seq1d": fwd_seq1d, "vol3d": fwd_vol3d}


def init_weights(tag):
    """Random weights and statistics (not Keras' ones and zeros, so every term
    is exercised), shaped as Keras declares them (PyTorch layout for kernels)."""
    g = torch.Generator().manual_seed(1234 + pc.SEED)

    def uni(shape, lo, hi):
        return (torch.rand(shape, generator=g, dtype=torch.float64) * (hi - lo) + lo).float().numpy()

    shapes = {
        "img2d": {"conv_a": (4, 3, 3, 3), "conv_b": (6, 4, 3, 3), "conv_c": (3, 8, 2, 2), "head": (5, 5 * 6 * 3),
                  "bn_h": (6,), "gn": (4,), "ln": (6,), "inorm": (6,), "bn_wc": (6, 3)},
        "seq1d": {"conv1": (6, 4, 3), "conv2": (4, 18, 3), "fc": (8, 16), "conv3": (2, 8, 2), "head": (3, 4),
                  "ln_all": (8, 6), "bn_t": (18,), "in_c": (4,), "gn1": (4,), "in_none": (1,)},
        "vol3d": {"conv3d": (3, 2, 2, 2, 2), "head": (4, 6 * 3 * 2 * 3), "bn_dh": (6, 3), "gn3": (3,),
                  "ln3": (3, 3)},
    }[tag]
    params, buffers = {}, {}
    for name, shape in shapes.items():
        if len(shape) >= 2 and name not in ("bn_wc", "ln_all", "bn_dh", "ln3"):
            fan = int(np.prod(shape[1:]))
            lim = (6.0 / (fan + shape[0])) ** 0.5
            params[name + ".weight"] = uni(shape, -lim, lim)
            params[name + ".bias"] = uni((shape[0],), -0.1, 0.1)
        else:
            params[name + ".weight"] = uni(shape, 0.5, 1.5)
            params[name + ".bias"] = uni(shape, -0.2, 0.2)
            if name.startswith("bn"):
                buffers[name + ".running_mean"] = uni(shape, -0.1, 0.1)
                buffers[name + ".running_var"] = uni(shape, 0.5, 1.5)
    return params, buffers


def main():
    runner, work, _ = pc.setup("parity_norm_shape")
    chk = pc.Checker(f"norm_shape parity: {STEPS} steps of batch {BATCH}, every step checked")
    setup, results = {}, {}
    for tag, (shape, layers) in NETS.items():
        g = torch.Generator().manual_seed(7 + pc.SEED)
        x = torch.randn((SAMPLES, *shape), generator=g, dtype=torch.float64).float().numpy()
        if LOSSES[tag]["function"] == "MSE":
            y = torch.randn((SAMPLES, UNITS[tag]), generator=g, dtype=torch.float64).float().numpy()
        else:
            y = torch.randint(0, UNITS[tag], (SAMPLES,), generator=g).float().numpy()
        paths = [os.path.join(work, f"{k}_{tag}.{e}") for k, e in (("net", "json"), ("init", "safetensors"),
                                                                   ("x", "npy"), ("y", "npy"))]
        with open(paths[0], "w") as f:
            json.dump(sequential(tag, shape, layers), f, indent=1)
        params, buffers = init_weights(tag)
        pc.write_safetensors(paths[1], {**params, **buffers})
        pc.save_npy(paths[2], x)
        pc.save_npy(paths[3], y)
        setup[tag] = (paths, x, y, params, buffers)
    for tag, name, opt in CASES:
        (net, w, xp, yp), x, y, params, buffers = setup[tag]
        results[(tag, name)] = pc.run_case(chk, runner, work, f"{tag}/{name}", FORWARDS[tag], net, w, xp, yp, x, y,
                                           opt, LOSSES[tag], STEPS, BATCH, params, buffers)

    # negative controls: each must be detected
    controls = [
        ("img2d", "adam", "bilinear with align_corners=True",
         lambda p, b, x, t, ti: fwd_img2d(p, b, x, t, ti, align_corners=True)),
        ("img2d", "adam", "LayerNormalization epsilon 1e-5 (PyTorch's default) instead of Keras' 1e-3",
         lambda p, b, x, t, ti: fwd_img2d(p, b, x, t, ti, ln_eps=1e-5)),
        ("seq1d", "adam", "Permute (2, 1) as a reshape instead of a transpose",
         lambda p, b, x, t, ti: fwd_seq1d(p, b, x, t, ti, permute=lambda h: h.reshape(h.shape[0], h.shape[2],
                                                                                      h.shape[1]))),
    ]
    for tag, name, what, fwd in controls:
        r = results.get((tag, name))
        if r is None:
            continue
        _, x, y, params, buffers = setup[tag]
        opt = [c[2] for c in CASES if c[0] == tag and c[1] == name][0]
        res = pc.check_trace(fwd, r, x, y, opt, LOSSES[tag], 1, BATCH, params, buffers)[0]
        chk.expect_failure("control", what, res)
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
