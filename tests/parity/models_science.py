"""PyTorch references of the scientific example networks (examples/braggnn,
examples/cookienetae, examples/unet), for whole-model parity tests.

Each model is a function forward(p, b, x, training, ties) over dicts of
tensors named as brisk names them ("<layer>.weight", "<layer>.bias",
"<bn>.running_mean", ...), in PyTorch layouts (Conv2D (out, in, kh, kw),
Conv2DTranspose (in, out, kh, kw), Dense (out, in)), with ReLUs and max
pooling routed through parity_common.Ties. They follow the Keras semantics
of the JSON files: Reshape and Flatten in channels_last element order.
x holds one-channel samples, (N, 1, H, W) = (N, H, W, 1) in memory.

`python3 models_science.py` checks the references themselves: BraggNN
against a transcription of the published PyTorch module (same weights, same
output; 33,172 parameters), and the parameter shapes of all three against
the JSON files.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")

# ---- parameter shapes (PyTorch layout) ------------------------------------------


def _conv(cin, cout, k):
    return {"weight": (cout, cin, k, k), "bias": (cout,)}


def _conv_t(cin, cout, k):
    return {"weight": (cin, cout, k, k), "bias": (cout,)}


def _dense(cin, cout):
    return {"weight": (cout, cin), "bias": (cout,)}


BRAGGNN = {"conv1": _conv(1, 64, 3), "nlb_theta": _conv(64, 32, 1), "nlb_phi": _conv(64, 32, 1),
           "nlb_g": _conv(64, 32, 1), "nlb_w": _conv(32, 64, 1), "conv2": _conv(64, 32, 3),
           "conv3": _conv(32, 8, 3), "fc1": _dense(200, 16), "fc2": _dense(16, 8), "fc3": _dense(8, 4),
           "fc4": _dense(4, 2), "fc_out": _dense(2, 2)}

COOKIE = {"enc1": _conv(1, 16, 3), "enc2": _conv(16, 32, 3), "enc3": _conv(32, 64, 3), "enc4": _conv(64, 128, 3),
          "dec1": _conv_t(128, 128, 2), "dec2": _conv_t(128, 64, 2), "dec3": _conv_t(64, 32, 2),
          "dec4": _conv_t(32, 16, 3), "out": _conv(16, 1, 3)}

UNET_BLOCKS = [("enc1", 1, 16), ("enc2", 16, 32), ("mid", 32, 64), ("dec2", 96, 32), ("dec1", 32, 16)]
UNET_CLASSES = 4


def _unet_shapes():
    s = {}
    for name, cin, f in UNET_BLOCKS:
        s[name + "_conv1"] = {"weight": (f, cin, 3, 3)}
        s[name + "_bn1"] = {"weight": (f,), "bias": (f,)}
        s[name + "_conv2"] = {"weight": (f, f, 3, 3)}
        s[name + "_bn2"] = {"weight": (f,), "bias": (f,)}
    s["up1"] = _conv_t(32, 16, 2)
    s["head"] = _conv(16, UNET_CLASSES, 1)
    return s


UNET = _unet_shapes()
UNET_BN = [n for n in UNET if "_bn" in n]


def param_shapes(model):
    """name -> shape of every trainable tensor, in brisk's names."""
    layers = {"braggnn": BRAGGNN, "cookienetae": COOKIE, "unet": UNET}[model]
    return {f"{l}.{k}": v for l, d in layers.items() for k, v in d.items()}


def init_params(model, gen=None, bias_scale=0.05):
    """Glorot-uniform weights (Keras' fan-in + fan-out, the same for a
    transposed convolution's kernel), biases uniform in +-bias_scale (zero
    in the examples; nonzero here so that bias gradients are exercised),
    batch-norm gamma near 1 and beta near 0. float32 numpy arrays."""
    gen = gen or torch.Generator().manual_seed(0)
    p = {}
    for name, shape in param_shapes(model).items():
        layer = name.split(".")[0]
        if "_bn" in layer:
            base = 1.0 if name.endswith(".weight") else 0.0
            p[name] = (base + (torch.rand(shape, generator=gen, dtype=torch.float64) - 0.5) * 0.2).float().numpy()
        elif name.endswith(".bias"):
            p[name] = ((torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bias_scale).float().numpy()
        else:
            rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
            fan = (shape[0] + shape[1]) * rf
            lim = (6.0 / fan) ** 0.5
            p[name] = ((torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * lim).float().numpy()
    return p


def init_buffers(model):
    if model != "unet":
        return {}
    b = {}
    for layer in UNET_BN:
        f = UNET[layer]["weight"][0]
        b[layer + ".running_mean"] = np.zeros(f, np.float32)
        b[layer + ".running_var"] = np.ones(f, np.float32)
    return b


# ---- forward passes ---------------------------------------------------------------


def _keras_rows(h):
    """(B, C, H, W) -> (B, H*W, C): Keras' Reshape of (H, W, C) to (H*W, C)."""
    return h.permute(0, 2, 3, 1).reshape(h.shape[0], -1, h.shape[1])


def braggnn(p, b, x, training, ties, slope=0.01):
    del b, training
    c1 = F.conv2d(x, p["conv1.weight"], p["conv1.bias"])
    theta = _keras_rows(F.conv2d(c1, p["nlb_theta.weight"], p["nlb_theta.bias"]))
    phi = _keras_rows(F.conv2d(c1, p["nlb_phi.weight"], p["nlb_phi.bias"]))
    g = _keras_rows(F.conv2d(c1, p["nlb_g.weight"], p["nlb_g.bias"]))
    attn = torch.softmax(theta @ phi.transpose(1, 2), dim=-1)          # Dot(axes=2), Softmax(axis=-1)
    y = attn @ g                                                        # Dot(axes=(2, 1))
    y = y.reshape(x.shape[0], 9, 9, 32).permute(0, 3, 1, 2)            # Reshape to (9, 9, 32)
    h = ties.relu(F.conv2d(y, p["nlb_w.weight"], p["nlb_w.bias"]) + c1, "nlb_act", slope)
    h = ties.relu(F.conv2d(h, p["conv2.weight"], p["conv2.bias"]), "conv2_act", slope)
    h = ties.relu(F.conv2d(h, p["conv3.weight"], p["conv3.bias"]), "conv3_act", slope)
    h = h.permute(0, 2, 3, 1).flatten(1)                               # Keras Flatten: H, W, C
    for name in ("fc1", "fc2", "fc3", "fc4"):
        h = ties.relu(F.linear(h, p[name + ".weight"], p[name + ".bias"]), name + "_act", slope)
    return F.linear(h, p["fc_out.weight"], p["fc_out.bias"])


def cookienetae(p, b, x, training, ties):
    del b, training
    h = x
    for i, name in enumerate(("enc1", "enc2", "enc3", "enc4")):
        h = ties.relu(F.conv2d(h, p[name + ".weight"], p[name + ".bias"], padding=1), name)
        if i < 3:
            h = ties.max_pool2d(h, 2, f"pool{i + 1}")
    for name in ("dec1", "dec2", "dec3"):
        h = ties.relu(F.conv_transpose2d(h, p[name + ".weight"], p[name + ".bias"], stride=2), name)
    h = ties.relu(F.conv_transpose2d(h, p["dec4.weight"], p["dec4.bias"], padding=1), "dec4")
    return ties.relu(F.conv2d(h, p["out.weight"], p["out.bias"], padding=1), "out")


def unet(p, b, x, training, ties):
    def bn(h, name):
        # Keras momentum 0.99 (running = 0.99 running + 0.01 batch), eps 1e-3
        return F.batch_norm(h, b[name + ".running_mean"], b[name + ".running_var"], p[name + ".weight"],
                            p[name + ".bias"], training=training, momentum=0.01, eps=1e-3)

    def block(h, name):
        for i in (1, 2):
            h = F.conv2d(h, p[f"{name}_conv{i}.weight"], None, padding=1)
            h = ties.relu(bn(h, f"{name}_bn{i}"), f"{name}_relu{i}")
        return h

    d1 = block(x, "enc1")
    d2 = block(ties.max_pool2d(d1, 2, "pool1"), "enc2")
    m = block(ties.max_pool2d(d2, 2, "pool2"), "mid")
    u2 = F.interpolate(m, scale_factor=2, mode="nearest")                      # UpSampling2D
    h = block(torch.cat([u2, d2], 1), "dec2")
    u1 = F.conv_transpose2d(h, p["up1.weight"], p["up1.bias"], stride=2)
    h = block(torch.cat([u1, d1], 1), "dec1")
    return F.log_softmax(F.conv2d(h, p["head.weight"], p["head.bias"]), dim=1)


FORWARD = {"braggnn": braggnn, "cookienetae": cookienetae, "unet": unet}
JSON = {"braggnn": "braggnn/braggnn.json", "cookienetae": "cookienetae/cookienetae.json", "unet": "unet/unet.json"}


# ---- self-checks ---------------------------------------------------------------------


class PublishedBraggNN(torch.nn.Module):
    """A transcription of the published BraggNN module (lzhengchun/BraggNN,
    model.py: NLB + conv/dense stack), kept as independent as possible from
    braggnn() above: channel-first views, nn layers, nn.Flatten."""

    class NLB(torch.nn.Module):
        def __init__(self, c):
            super().__init__()
            self.inter = c // 2
            self.theta = torch.nn.Conv2d(c, self.inter, 1)
            self.phi = torch.nn.Conv2d(c, self.inter, 1)
            self.g = torch.nn.Conv2d(c, self.inter, 1)
            self.W = torch.nn.Conv2d(self.inter, c, 1)

        def forward(self, x):
            bs = x.size(0)
            g_x = self.g(x).view(bs, self.inter, -1).permute(0, 2, 1)
            theta_x = self.theta(x).view(bs, self.inter, -1).permute(0, 2, 1)
            phi_x = self.phi(x).view(bs, self.inter, -1)
            f = torch.softmax(torch.matmul(theta_x, phi_x), dim=-1)
            y = torch.matmul(f, g_x).permute(0, 2, 1).contiguous().view(bs, self.inter, *x.size()[2:])
            return self.W(y) + x

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 64, 3)
        self.nlb = self.NLB(64)
        self.cnn = torch.nn.Sequential(torch.nn.LeakyReLU(0.01), torch.nn.Conv2d(64, 32, 3), torch.nn.LeakyReLU(0.01),
                                       torch.nn.Conv2d(32, 8, 3), torch.nn.LeakyReLU(0.01))
        layers = []
        for cin, cout in ((200, 16), (16, 8), (8, 4), (4, 2)):
            layers += [torch.nn.Linear(cin, cout), torch.nn.LeakyReLU(0.01)]
        self.dense = torch.nn.Sequential(*layers, torch.nn.Linear(2, 2))

    def forward(self, x):
        return self.dense(torch.flatten(self.cnn(self.nlb(self.conv1(x))), 1))

    def brisk_names(self):
        """Published module parameter -> brisk name."""
        m = {"conv1": "conv1", "nlb.theta": "nlb_theta", "nlb.phi": "nlb_phi", "nlb.g": "nlb_g", "nlb.W": "nlb_w",
             "cnn.1": "conv2", "cnn.3": "conv3", "dense.0": "fc1", "dense.2": "fc2", "dense.4": "fc3",
             "dense.6": "fc4", "dense.8": "fc_out"}
        return {f"{k}.{t}": f"{v}.{t}" for k, v in m.items() for t in ("weight", "bias")}


class _NoTies:
    @staticmethod
    def relu(a, name, negative_slope=0.0):
        return F.leaky_relu(a, negative_slope) if negative_slope else F.relu(a)

    @staticmethod
    def max_pool2d(x, k, name):
        return F.max_pool2d(x, k)


def _json_param_count(path):
    """Conv2D/Conv2DTranspose/Dense/BatchNormalization trainable parameters
    of a Keras JSON, from the layer configs and a shape walk."""
    with open(path) as f:
        layers = json.load(f)["config"]["layers"]
    shape, total = {}, 0
    for l in layers:
        c, n, cls = l["config"], l["name"], l["class_name"]
        ins = [i[0] for i in l["inbound_nodes"][0]] if l["inbound_nodes"] else []
        s = shape[ins[0]] if ins else None
        if cls == "InputLayer":
            shape[n] = list(c["batch_input_shape"][1:])
        elif cls in ("Conv2D", "Conv2DTranspose"):
            k, st = c["kernel_size"], c["strides"][0]
            total += s[-1] * c["filters"] * k[0] * k[1] + (c["filters"] if c["use_bias"] else 0)
            if cls == "Conv2D":
                hw = s[:2] if c["padding"] == "same" else [d - k[0] + 1 for d in s[:2]]
            else:
                hw = [d * st for d in s[:2]] if c["padding"] == "same" else [(d - 1) * st + k[0] for d in s[:2]]
            shape[n] = hw + [c["filters"]]
        elif cls == "Dense":
            total += s[-1] * c["units"] + c["units"]
            shape[n] = [c["units"]]
        elif cls == "BatchNormalization":
            total += 2 * s[-1]
            shape[n] = s
        elif cls == "MaxPooling2D":
            shape[n] = [d // 2 for d in s[:2]] + [s[2]]
        elif cls == "UpSampling2D":
            shape[n] = [d * 2 for d in s[:2]] + [s[2]]
        elif cls == "Concatenate":
            shape[n] = s[:-1] + [sum(shape[i][-1] for i in ins)]
        elif cls == "Reshape":
            shape[n] = c["target_shape"]
        elif cls == "Flatten":
            shape[n] = [int(np.prod(s))]
        elif cls == "Dot":
            shape[n] = [s[0], shape[ins[1]][0] if c["axes"] == 2 else shape[ins[1]][-1]]
        else:
            shape[n] = s
    return total


def self_check():
    torch.manual_seed(0)
    ok = True
    for model in FORWARD:
        n_ref = sum(int(np.prod(s)) for s in param_shapes(model).values())
        n_json = _json_param_count(os.path.join(EXAMPLES, JSON[model]))
        print(f"{model}: {n_ref} parameters in the torch reference, {n_json} in the JSON")
        ok &= n_ref == n_json
    pub = PublishedBraggNN().double()
    n_pub = sum(t.numel() for t in pub.parameters())
    print(f"braggnn: published module has {n_pub} parameters (paper: 33172)")
    ok &= n_pub == 33172
    names = pub.brisk_names()
    p = {names[k]: v.detach() for k, v in pub.named_parameters()}
    # the published nn.Flatten reads (C, H, W); Keras' Flatten (H, W, C)
    p["fc1.weight"] = p["fc1.weight"].reshape(16, 8, 5, 5).permute(0, 2, 3, 1).reshape(16, 200)
    x = torch.rand(5, 1, 11, 11, dtype=torch.float64)
    err = (pub(x) - braggnn(p, {}, x, True, _NoTies())).abs().max().item()
    print(f"braggnn: published module vs Keras-order reference, max |diff| = {err:.1e}")
    ok &= err < 1e-12
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(self_check())
